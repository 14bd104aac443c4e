//! What a rule knows about the file in front of it: its kind, its role in the project (a Django
//! settings module? production or development? test code? an entrypoint script?), the project
//! itself, the parse, the imports with their aliases, and the environment reads found in it.
//! Framework awareness lives here and in the project model, not scattered through the rules.

use std::collections::HashMap;
use std::path::Path;

use tree_sitter::{Node, Tree};

use super::env_reads::{self, EnvRead};
pub use crate::project::roles::{is_settings_path, lowercase_stem, EnvFileRole};
use crate::project::{FileFacts, FileRole, Project};
use crate::syntax::compose::Compose;
use crate::syntax::dockerfile::Dockerfile;
use crate::syntax::procfile::Procfile;
use crate::syntax::pyproject::PyProject;
use crate::syntax::requirements::Requirements;
use crate::syntax::shell::Script;
use crate::syntax::{dotenv::DotEnv, python, FileKind};

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

    /// Every local name an import binds.
    pub fn bound_names(&self) -> impl Iterator<Item = &str> {
        self.bound.keys().map(String::as_str)
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
            ancestry,
        }
    }
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

/// A file's parse, by kind.
pub enum Parsed<'a> {
    Python(&'a PythonFile<'a>),
    DotEnv(&'a DotEnv),
    Compose(&'a Compose),
    Dockerfile(&'a Dockerfile),
    Shell(&'a Script),
    Requirements(&'a Requirements),
    PyProject(&'a PyProject),
    Procfile(&'a Procfile),
    /// Ignore and lock files: nothing to check.
    None,
}

/// One file as a rule sees it.
pub struct File<'a> {
    pub path: &'a Path,
    pub text: &'a str,
    pub kind: FileKind,
    pub role: FileRole,
    /// The project the file belongs to (a project of this file alone when nothing more is known).
    pub project: &'a Project,
    /// The facts of this file's current text (the project may hold an older version of them).
    pub facts: &'a FileFacts,
    pub python: Option<&'a PythonFile<'a>>,
    pub dotenv: Option<&'a DotEnv>,
    pub compose: Option<&'a Compose>,
    pub dockerfile: Option<&'a Dockerfile>,
    pub shell: Option<&'a Script>,
    pub requirements: Option<&'a Requirements>,
    pub pyproject: Option<&'a PyProject>,
    pub procfile: Option<&'a Procfile>,
}

impl<'a> File<'a> {
    pub fn new(
        path: &'a Path,
        text: &'a str,
        kind: FileKind,
        parsed: Parsed<'a>,
        project: &'a Project,
        facts: &'a FileFacts,
    ) -> File<'a> {
        let mut file = File {
            path,
            text,
            kind,
            role: project.role(path, kind, text, facts),
            project,
            facts,
            python: None,
            dotenv: None,
            compose: None,
            dockerfile: None,
            shell: None,
            requirements: None,
            pyproject: None,
            procfile: None,
        };
        match parsed {
            Parsed::Python(p) => file.python = Some(p),
            Parsed::DotEnv(p) => file.dotenv = Some(p),
            Parsed::Compose(p) => file.compose = Some(p),
            Parsed::Dockerfile(p) => file.dockerfile = Some(p),
            Parsed::Shell(p) => file.shell = Some(p),
            Parsed::Requirements(p) => file.requirements = Some(p),
            Parsed::PyProject(p) => file.pyproject = Some(p),
            Parsed::Procfile(p) => file.procfile = Some(p),
            Parsed::None => {}
        }
        file
    }

    /// Is the module-level assignment of `name` whose statement starts at `start` replaced later
    /// in every production settings chain that loads this module (so what it sets never reaches
    /// production)?
    pub fn overridden_in_production(&self, name: &str, start: usize) -> bool {
        self.project
            .overridden_in_production(self.path, self.facts, name, start)
    }

    /// Does the value read at byte `at` go into a module-level setting (`NAME = <read>` starting
    /// its line) that production settings replace later? (`DEBUG = env.bool("DEBUG",
    /// default=True)` in a base module that `production.py` sets to `False`.)
    pub fn read_overridden_in_production(&self, name: Option<&str>, at: usize) -> bool {
        let Some(name) = name else { return false };
        let at = at.min(self.text.len());
        let line_start = self.text[..at].rfind('\n').map_or(0, |i| i + 1);
        let line = &self.text[line_start..];
        let assigns = line.strip_prefix(name).is_some_and(|rest| {
            let rest = rest.trim_start_matches([' ', '\t']);
            (rest.starts_with('=') && !rest.starts_with("==")) || rest.starts_with(':')
        });
        assigns && self.overridden_in_production(name, line_start)
    }
}
