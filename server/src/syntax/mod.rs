//! File kinds and their parsers.

pub mod compose;
pub mod dockerfile;
pub mod dotenv;
pub mod procfile;
pub mod pyproject;
pub mod python;
pub mod requirements;
pub mod shell;
pub mod yaml;

use std::cell::RefCell;
use std::path::Path;

use tree_sitter::{Language, Parser, Tree};

thread_local! {
    /// One parser per grammar and thread (a parser is reusable but not shareable).
    static PARSERS: RefCell<Vec<(&'static str, Parser)>> = const { RefCell::new(Vec::new()) };
}

/// Parses `text` with the grammar `name` (from `language`), reusing `old` (already `edit`ed) for
/// an incremental reparse.
pub(crate) fn parse_with(
    name: &'static str,
    language: impl FnOnce() -> Language,
    text: &str,
    old: Option<&Tree>,
) -> Tree {
    PARSERS.with(|parsers| {
        let mut parsers = parsers.borrow_mut();
        let index = match parsers.iter().position(|(n, _)| *n == name) {
            Some(i) => i,
            None => {
                let mut parser = Parser::new();
                parser
                    .set_language(&language())
                    .unwrap_or_else(|e| panic!("the {name} grammar does not fit tree-sitter: {e}"));
                parsers.push((name, parser));
                parsers.len() - 1
            }
        };
        // The grammars (Python, YAML, bash) end a line only at `\n`: a file with lone `\r` line
        // breaks is parsed as the same-length copy that has `\n` there.
        let text = crate::text::universal_newlines(text);
        parsers[index]
            .1
            .parse(text.as_bytes(), old)
            .expect("parsing without a timeout or cancellation flag always yields a tree")
    })
}

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum FileKind {
    Python,
    DotEnv,
    /// `compose.yaml`, `docker-compose*.yml` and their kin (only these YAML files).
    Compose,
    /// `Dockerfile`, `*.Dockerfile`, `Dockerfile.*`, `Containerfile`.
    Dockerfile,
    /// `*.sh`, `docker-entrypoint*`, and scripts with a sh/bash shebang.
    Shell,
    /// `requirements*.txt`, `*requirements.txt`, `requirements/*.txt`.
    Requirements,
    PyProject,
    Procfile,
    /// `.gitignore`: read by the project model, not checked.
    GitIgnore,
    /// `.dockerignore` and `<Dockerfile>.dockerignore`: read by the project model, not checked.
    DockerIgnore,
    /// `uv.lock`, `poetry.lock`, `pdm.lock`, `Pipfile.lock`: only their presence matters.
    LockFile,
}

impl FileKind {
    /// The kind of a file from its path alone (the command line, config reloads).
    pub fn from_path(path: &Path) -> Option<FileKind> {
        let name = path.file_name()?.to_str()?;
        let lower = name.to_ascii_lowercase();
        if lower.ends_with(".py") || lower.ends_with(".pyi") {
            return Some(FileKind::Python);
        }
        if is_dotenv_name(name) {
            return Some(FileKind::DotEnv);
        }
        if lower == ".gitignore" {
            return Some(FileKind::GitIgnore);
        }
        if lower.ends_with(".dockerignore") {
            return Some(FileKind::DockerIgnore);
        }
        if is_compose_name(&lower) {
            return Some(FileKind::Compose);
        }
        if is_dockerfile_name(&lower) {
            return Some(FileKind::Dockerfile);
        }
        if lower.ends_with(".sh")
            || lower.ends_with(".bash")
            || lower.starts_with("docker-entrypoint")
        {
            return Some(FileKind::Shell);
        }
        if matches!(
            lower.as_str(),
            "uv.lock" | "poetry.lock" | "pdm.lock" | "pipfile.lock" | "pylock.toml"
        ) {
            return Some(FileKind::LockFile);
        }
        if lower == "pyproject.toml" {
            return Some(FileKind::PyProject);
        }
        if lower == "procfile" || lower.starts_with("procfile.") {
            return Some(FileKind::Procfile);
        }
        if is_requirements_path(path, &lower) {
            return Some(FileKind::Requirements);
        }
        None
    }

    /// The kind of a file that has no telling name, from its first line: a `#!/bin/sh` or
    /// `#!/usr/bin/env bash` script is a shell script.
    pub fn from_path_and_head(path: &Path, head: &[u8]) -> Option<FileKind> {
        if let Some(kind) = FileKind::from_path(path) {
            return Some(kind);
        }
        let name = path.file_name()?.to_str()?;
        if name.contains('.') {
            return None;
        }
        let first = head.split(|b| *b == b'\n').next()?;
        let first = std::str::from_utf8(first).ok()?;
        is_shell_shebang(first).then_some(FileKind::Shell)
    }

    /// The kind of an open editor document: the path decides when it is known (a `.env.production`
    /// buffer may arrive as `sh`, `properties` or `dotenv`), otherwise the LSP languageId.
    pub fn from_path_or_language(path: Option<&Path>, language_id: &str) -> Option<FileKind> {
        if let Some(kind) = path.and_then(FileKind::from_path) {
            return Some(kind);
        }
        match language_id {
            "python" => Some(FileKind::Python),
            "dotenv" | "env" => Some(FileKind::DotEnv),
            "dockerfile" | "containerfile" => Some(FileKind::Dockerfile),
            // A YAML file is a compose file only by its name, which the path already decided.
            "dockercompose" | "yaml.docker-compose" => Some(FileKind::Compose),
            "shellscript" | "sh" | "bash" => Some(FileKind::Shell),
            "pip-requirements" | "requirements" => Some(FileKind::Requirements),
            "procfile" => Some(FileKind::Procfile),
            _ => None,
        }
    }

    /// Whether a lone `\r` (classic Mac OS) ends a line, as it does for the programs that read
    /// the file: CPython reads source with universal newlines, pip and python-dotenv read their
    /// files as Python text (where a `\r` ends a line), and YAML counts `\r` as a line break.
    /// Dockerfiles, shell scripts and Procfiles are read the same way so that a file saved with
    /// old Mac line endings is still checked line by line, although `docker build` and `sh`
    /// would see one long line. Not `pyproject.toml` (TOML forbids a lone `\r`, so the parse
    /// error is reported) nor the ignore files (git and Docker split them at `\n` only).
    pub fn has_universal_newlines(self) -> bool {
        !matches!(
            self,
            FileKind::PyProject | FileKind::GitIgnore | FileKind::DockerIgnore | FileKind::LockFile
        )
    }

    /// The text as this kind's readers break its lines: with every lone `\r` made `\n` (see
    /// [`crate::text::universal_newlines`]) when [`FileKind::has_universal_newlines`].
    pub fn lines_as_read(self, text: &str) -> std::borrow::Cow<'_, str> {
        if self.has_universal_newlines() {
            crate::text::universal_newlines(text)
        } else {
            std::borrow::Cow::Borrowed(text)
        }
    }

    /// Files whose rules run (the ignore files only feed the project model).
    pub fn is_checked(self) -> bool {
        !matches!(
            self,
            FileKind::GitIgnore | FileKind::DockerIgnore | FileKind::LockFile
        )
    }
}

/// The spans of a tree's syntax errors (ERROR and MISSING nodes; an error inside an error counts
/// once).
pub fn error_spans(root: tree_sitter::Node) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    if !root.has_error() {
        return out;
    }
    let mut cursor = root.walk();
    let mut descend = true;
    loop {
        let node = cursor.node();
        if descend {
            if node.is_error() || node.is_missing() {
                out.push(node.byte_range());
            } else if node.has_error() && cursor.goto_first_child() {
                continue;
            }
        }
        if cursor.goto_next_sibling() {
            descend = true;
            continue;
        }
        if !cursor.goto_parent() {
            break;
        }
        descend = false;
    }
    out
}

/// A tree-sitter parse of `text` for the kinds that have a grammar (Python, compose YAML, shell),
/// reusing `old` (already `edit`ed) for an incremental reparse.
pub fn parse_tree(
    kind: FileKind,
    text: &str,
    old: Option<&tree_sitter::Tree>,
) -> Option<tree_sitter::Tree> {
    match kind {
        FileKind::Python => Some(python::parse(text, old)),
        FileKind::Compose => Some(yaml::parse_tree(text, old)),
        FileKind::Shell => Some(shell::parse_tree(text, old)),
        _ => None,
    }
}

/// `.env`, `.env.*` and `*.env`.
pub fn is_dotenv_name(name: &str) -> bool {
    name == ".env" || name.starts_with(".env.") || (name.ends_with(".env") && name.len() > 4)
}

/// `compose.yaml`, `compose.prod.yml`, `docker-compose.yml`, `docker-compose-dev.yaml`, ...
fn is_compose_name(lower: &str) -> bool {
    (lower.starts_with("compose") || lower.starts_with("docker-compose"))
        && (lower.ends_with(".yml") || lower.ends_with(".yaml"))
}

fn is_dockerfile_name(lower: &str) -> bool {
    lower == "dockerfile"
        || lower == "containerfile"
        || lower.starts_with("dockerfile.")
        || lower.starts_with("dockerfile-")
        || lower.starts_with("dockerfile_")
        || lower.ends_with(".dockerfile")
        || lower.starts_with("containerfile.")
}

fn is_requirements_path(path: &Path, lower: &str) -> bool {
    if !lower.ends_with(".txt") {
        return false;
    }
    let stem = &lower[..lower.len() - 4];
    stem.starts_with("requirements")
        || stem.ends_with("requirements")
        || stem.ends_with("-requirements")
        || path
            .parent()
            .and_then(|p| p.file_name())
            .and_then(|n| n.to_str())
            .is_some_and(|d| d.eq_ignore_ascii_case("requirements"))
}

fn is_shell_shebang(first: &str) -> bool {
    let Some(rest) = first.strip_prefix("#!") else {
        return false;
    };
    let mut words = rest.split_whitespace();
    let Some(interpreter) = words.next() else {
        return false;
    };
    let program = match interpreter.rsplit('/').next() {
        Some("env") => words.find(|w| !w.starts_with('-')).unwrap_or(""),
        Some(p) => p,
        None => "",
    };
    matches!(program, "sh" | "bash" | "dash" | "ash" | "zsh" | "ksh")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_from_paths() {
        let kind = |p: &str| FileKind::from_path(Path::new(p));
        assert_eq!(kind("app/settings.py"), Some(FileKind::Python));
        assert_eq!(kind(".env.production"), Some(FileKind::DotEnv));
        assert_eq!(kind("compose.yaml"), Some(FileKind::Compose));
        assert_eq!(kind("docker-compose.prod.yml"), Some(FileKind::Compose));
        assert_eq!(kind("config.yaml"), None);
        assert_eq!(kind("Dockerfile"), Some(FileKind::Dockerfile));
        assert_eq!(kind("web.Dockerfile"), Some(FileKind::Dockerfile));
        assert_eq!(kind("Dockerfile.prod"), Some(FileKind::Dockerfile));
        assert_eq!(kind("Containerfile"), Some(FileKind::Dockerfile));
        assert_eq!(
            kind("Dockerfile.dockerignore"),
            Some(FileKind::DockerIgnore)
        );
        assert_eq!(kind(".dockerignore"), Some(FileKind::DockerIgnore));
        assert_eq!(kind("entrypoint.sh"), Some(FileKind::Shell));
        assert_eq!(kind("docker-entrypoint"), Some(FileKind::Shell));
        assert_eq!(kind("requirements.txt"), Some(FileKind::Requirements));
        assert_eq!(kind("requirements-dev.txt"), Some(FileKind::Requirements));
        assert_eq!(kind("dev-requirements.txt"), Some(FileKind::Requirements));
        assert_eq!(kind("requirements/base.txt"), Some(FileKind::Requirements));
        assert_eq!(kind("notes.txt"), None);
        assert_eq!(kind("pyproject.toml"), Some(FileKind::PyProject));
        assert_eq!(kind("Procfile"), Some(FileKind::Procfile));
        assert_eq!(kind(".gitignore"), Some(FileKind::GitIgnore));
    }

    #[test]
    fn shell_scripts_by_shebang() {
        let kind =
            |p: &str, head: &str| FileKind::from_path_and_head(Path::new(p), head.as_bytes());
        assert_eq!(
            kind("bin/start", "#!/bin/sh\nexec app\n"),
            Some(FileKind::Shell)
        );
        assert_eq!(
            kind("start", "#!/usr/bin/env bash\n"),
            Some(FileKind::Shell)
        );
        assert_eq!(kind("manage", "#!/usr/bin/env python\n"), None);
        assert_eq!(kind("notes.md", "#!/bin/sh"), None);
    }

    #[test]
    fn kinds_from_language_ids() {
        let kind =
            |p: Option<&str>, id: &str| FileKind::from_path_or_language(p.map(Path::new), id);
        assert_eq!(kind(Some(".env"), "properties"), Some(FileKind::DotEnv));
        assert_eq!(
            kind(Some(".env.local"), "shellscript"),
            Some(FileKind::DotEnv)
        );
        assert_eq!(kind(Some("deploy/app.yml"), "yaml"), None);
        assert_eq!(kind(None, "dockercompose"), Some(FileKind::Compose));
        assert_eq!(kind(Some("run"), "shellscript"), Some(FileKind::Shell));
        assert_eq!(kind(Some("x.properties"), "properties"), None);
    }
}
