//! What a rule knows about the file in front of it: its kind and role (a Django settings module?
//! a development-only module? a production env file? an example env file?), the parse, the
//! imports with their aliases, and the environment reads found in it. Framework awareness lives
//! here, not scattered through the rules.

use std::collections::HashMap;
use std::path::Path;

use tree_sitter::{Node, Tree};

use super::env_reads::{self, EnvRead};
use crate::syntax::{dotenv::DotEnv, python, FileKind};

/// The role of a Python module, from its path and contents.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ModuleRole {
    /// A Django-style settings module: `settings.py`, `settings_*.py`, `*_settings.py`, anything
    /// in a `settings/` package, or a module that defines INSTALLED_APPS / ROOT_URLCONF /
    /// MIDDLEWARE at top level.
    pub settings: bool,
    /// Development or test configuration (`dev.py`, `local.py`, `settings/test.py`, tests/,
    /// `conftest.py`): insecure defaults are expected there.
    pub development: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EnvFileRole {
    /// `.env`, `.env.staging`, ...
    Plain,
    /// `.env.production`, `.env.prod`, `prod.env`, ...
    Production,
    /// `.env.local`, `.env.development`, `.env.test`, ...
    Development,
    /// `.env.example`, `.env.sample`, `.env.template`, `.env.dist`: committed on purpose, holds
    /// placeholders.
    Example,
}

pub fn env_file_role(path: &Path) -> EnvFileRole {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let parts: Vec<&str> = name
        .split(['.', '-', '_'])
        .filter(|p| !p.is_empty())
        .collect();
    let has = |words: &[&str]| parts.iter().any(|p| words.contains(p));
    if has(&[
        "example", "sample", "template", "dist", "tmpl", "tpl", "defaults", "skel",
    ]) {
        EnvFileRole::Example
    } else if has(&["production", "prod", "live", "prd"]) {
        EnvFileRole::Production
    } else if has(&["local", "development", "dev", "test", "testing", "ci"]) {
        EnvFileRole::Development
    } else {
        EnvFileRole::Plain
    }
}

const DEV_STEMS: &[&str] = &[
    "dev",
    "development",
    "local",
    "test",
    "tests",
    "testing",
    "ci",
    "conftest",
    "pytest",
];
const TEST_DIRS: &[&str] = &[
    "tests",
    "test",
    "testing",
    "testutils",
    "test_utils",
    "fixtures",
    "e2e",
];

/// The file name without its extension, lower-cased (`Settings_Prod.py` -> `settings_prod`).
pub fn lowercase_stem(path: &Path) -> String {
    path.file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("")
        .to_ascii_lowercase()
}

fn module_role_from_path(path: &Path) -> ModuleRole {
    let stem = lowercase_stem(path);
    let dirs: Vec<String> = path
        .parent()
        .map(|p| {
            p.components()
                .filter_map(|c| c.as_os_str().to_str())
                .map(|s| s.to_ascii_lowercase())
                .collect()
        })
        .unwrap_or_default();
    let settings = stem == "settings"
        || stem.starts_with("settings_")
        || stem.ends_with("_settings")
        || dirs.last().is_some_and(|d| d == "settings");
    let stem_words: Vec<&str> = stem.split('_').collect();
    let development = DEV_STEMS.contains(&stem.as_str())
        || stem_words.first().is_some_and(|w| DEV_STEMS.contains(w))
        || stem_words.last().is_some_and(|w| DEV_STEMS.contains(w))
        || dirs.iter().any(|d| TEST_DIRS.contains(&d.as_str()));
    ModuleRole {
        settings,
        development,
    }
}

/// Local names bound by imports (and a few well-known instances), mapped to what they mean:
/// `import os as _os` binds `_os` -> `os`; `from os import getenv as ge` binds `ge` ->
/// `os.getenv`; `env = environ.Env()` binds `env` -> `environ.Env()`.
#[derive(Debug, Default)]
pub struct Names {
    bound: HashMap<String, String>,
}

impl Names {
    pub fn bind(&mut self, local: &str, qualified: String) {
        self.bound.insert(local.to_string(), qualified);
    }

    pub fn get(&self, local: &str) -> Option<&str> {
        self.bound.get(local).map(String::as_str)
    }

    /// Local names bound to one of `modules` or to something inside them.
    pub fn locals_under(&self, modules: &[&str]) -> Vec<String> {
        let mut found: Vec<String> = self
            .bound
            .iter()
            .filter(|(_, q)| {
                modules.iter().any(|m| {
                    q.as_str() == *m || q.strip_prefix(m).is_some_and(|rest| rest.starts_with('.'))
                })
            })
            .map(|(local, _)| local.clone())
            .collect();
        found.sort_unstable();
        found
    }

    /// The local name under which `qualified` is reachable (`os` for "os", `_os` after
    /// `import os as _os`).
    pub fn local_for(&self, qualified: &str) -> Option<&str> {
        let mut found: Vec<&str> = self
            .bound
            .iter()
            .filter(|(_, q)| q.as_str() == qualified)
            .map(|(l, _)| l.as_str())
            .collect();
        found.sort_unstable();
        found.first().copied()
    }

    /// What an expression refers to, by meaning: `_os.environ.get` -> `os.environ.get`.
    pub fn qualify(&self, node: Node, source: &str) -> Option<String> {
        match node.kind() {
            "identifier" => self.get(python::text(node, source)).map(str::to_string),
            "attribute" => {
                let object = node.child_by_field_id(python::fields().object)?;
                let attr = node.child_by_field_id(python::fields().attribute)?;
                Some(format!(
                    "{}.{}",
                    self.qualify(object, source)?,
                    python::text(attr, source)
                ))
            }
            "call" => Some(format!(
                "{}()",
                self.qualify(node.child_by_field_id(python::fields().function)?, source)?
            )),
            "parenthesized_expression" => self.qualify(node.named_child(0)?, source),
            _ => None,
        }
    }
}

/// The facts of a parsed Python module, computed once per analysis.
pub struct PythonFile<'a> {
    pub tree: &'a Tree,
    pub names: Names,
    pub env_reads: Vec<EnvRead>,
    /// Where a missing `import os` goes: before the first statement that is not the module
    /// docstring or a `from __future__` import.
    pub import_insertion: usize,
    /// Top-level assignments define INSTALLED_APPS, ROOT_URLCONF or MIDDLEWARE.
    pub defines_django_settings: bool,
    /// Fast node lookups and parent links (use it rather than `Node::parent`, which is slow in
    /// large modules).
    pub ancestry: python::Ancestry<'a>,
}

impl<'a> PythonFile<'a> {
    pub fn new(tree: &'a Tree, source: &str) -> PythonFile<'a> {
        let root = tree.root_node();
        let ancestry = python::Ancestry::new(root);
        let mut names = Names::default();
        collect_imports(&ancestry, source, &mut names);
        let env_reads = env_reads::collect(&ancestry, source, &mut names);
        let mut import_insertion = 0;
        let mut cursor = root.walk();
        for (i, stmt) in root.named_children(&mut cursor).enumerate() {
            let is_docstring = i == 0
                && stmt.kind() == "expression_statement"
                && stmt.named_child(0).is_some_and(|n| n.kind() == "string");
            match stmt.kind() {
                _ if is_docstring => import_insertion = line_after(source, stmt.end_byte()),
                "future_import_statement" => import_insertion = line_after(source, stmt.end_byte()),
                "comment" => {}
                _ => break,
            }
        }
        PythonFile {
            tree,
            names,
            env_reads,
            import_insertion,
            defines_django_settings: defines_django_settings(source),
            ancestry,
        }
    }
}

/// Django settings are plain top-level assignments of well-known names (at column 0).
fn defines_django_settings(source: &str) -> bool {
    ["INSTALLED_APPS", "ROOT_URLCONF", "MIDDLEWARE"]
        .iter()
        .any(|name| {
            source.match_indices(name).any(|(at, _)| {
                let at_line_start = at == 0 || matches!(source.as_bytes()[at - 1], b'\n' | b'\r');
                let rest = source[at + name.len()..].trim_start_matches([' ', '\t']);
                at_line_start
                    && (rest.starts_with('=') && !rest.starts_with("==") || rest.starts_with(':'))
            })
        })
}

fn line_after(source: &str, byte: usize) -> usize {
    match source[byte..].find('\n') {
        Some(i) => byte + i + 1,
        None => source.len(),
    }
}

/// Binds every import of the module. Like the environment-read search, it starts from the text:
/// each `import` keyword leads to its statement, so the walk costs nothing in modules without
/// imports deep in the tree.
fn collect_imports(ancestry: &python::Ancestry, source: &str, names: &mut Names) {
    for (at, _) in source.match_indices("import") {
        let Some(keyword) = ancestry.node_at(at, at + "import".len()) else {
            continue;
        };
        if keyword.kind() != "import" {
            continue; // inside a string, a comment or a longer name
        }
        let Some(statement) = ancestry.parent(keyword) else {
            continue;
        };
        match statement.kind() {
            "import_statement" | "import_from_statement" => bind_import(statement, source, names),
            _ => {}
        }
    }
}

/// `import os.path` binds `os`; `import os as _os` binds `_os` -> `os`; `from os import getenv as
/// ge` binds `ge` -> `os.getenv`.
fn bind_import(statement: Node, source: &str, names: &mut Names) {
    let fields = python::fields();
    let module = match statement.kind() {
        "import_from_statement" => match statement.child_by_field_id(fields.module_name) {
            Some(module) => Some(python::text(module, source)),
            None => return,
        },
        _ => None,
    };
    let mut cursor = statement.walk();
    for child in statement.children_by_field_id(fields.name_id(), &mut cursor) {
        let (name, alias) = match child.kind() {
            "dotted_name" => (child, None),
            "aliased_import" => match child.child_by_field_id(fields.name) {
                Some(name) => (name, child.child_by_field_id(fields.alias)),
                None => continue,
            },
            _ => continue,
        };
        let name = python::text(name, source);
        let (local, qualified) = match (module, alias) {
            (Some(module), alias) => (
                alias.map_or(name, |a| python::text(a, source)),
                format!("{module}.{name}"),
            ),
            (None, Some(alias)) => (python::text(alias, source), name.to_string()),
            (None, None) => {
                let first = name.split('.').next().unwrap_or(name);
                (first, first.to_string())
            }
        };
        names.bind(local, qualified);
    }
}

/// One file as a rule sees it.
pub struct File<'a> {
    pub path: &'a Path,
    pub text: &'a str,
    pub kind: FileKind,
    pub module: ModuleRole,
    pub env_role: EnvFileRole,
    pub python: Option<&'a PythonFile<'a>>,
    pub dotenv: Option<&'a DotEnv>,
}

impl<'a> File<'a> {
    pub fn python(path: &'a Path, text: &'a str, python: &'a PythonFile<'a>) -> File<'a> {
        let mut module = module_role_from_path(path);
        module.settings |= python.defines_django_settings;
        File {
            path,
            text,
            kind: FileKind::Python,
            module,
            env_role: EnvFileRole::Plain,
            python: Some(python),
            dotenv: None,
        }
    }

    pub fn dotenv(path: &'a Path, text: &'a str, dotenv: &'a DotEnv) -> File<'a> {
        File {
            path,
            text,
            kind: FileKind::DotEnv,
            module: ModuleRole::default(),
            env_role: env_file_role(path),
            python: None,
            dotenv: Some(dotenv),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_file_roles() {
        let role = |p: &str| env_file_role(Path::new(p));
        assert_eq!(role(".env"), EnvFileRole::Plain);
        assert_eq!(role(".env.production"), EnvFileRole::Production);
        assert_eq!(role("prod.env"), EnvFileRole::Production);
        assert_eq!(role(".env.example"), EnvFileRole::Example);
        assert_eq!(role(".env.production.example"), EnvFileRole::Example);
        assert_eq!(role(".env.local"), EnvFileRole::Development);
    }

    #[test]
    fn module_roles() {
        let role = |p: &str| module_role_from_path(Path::new(p));
        assert!(role("proj/settings.py").settings);
        assert!(role("proj/settings/production.py").settings);
        assert!(!role("proj/settings/production.py").development);
        assert!(role("proj/settings/dev.py").development);
        assert!(role("proj/settings/local.py").development);
        assert!(role("tests/test_views.py").development);
        assert!(!role("app/views.py").settings);
        assert!(!role("app/latest.py").development);
    }
}
