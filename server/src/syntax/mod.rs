//! File kinds and their parsers.

pub mod dotenv;
pub mod python;

use std::path::Path;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FileKind {
    Python,
    DotEnv,
}

impl FileKind {
    /// The kind of a file from its path alone (the command line, config reloads).
    pub fn from_path(path: &Path) -> Option<FileKind> {
        let name = path.file_name()?.to_str()?;
        if name.ends_with(".py") || name.ends_with(".pyi") {
            return Some(FileKind::Python);
        }
        if is_dotenv_name(name) {
            return Some(FileKind::DotEnv);
        }
        None
    }

    /// The kind of an open editor document: the path decides when it is known (a `.env.production`
    /// buffer may arrive as `sh` or `dotenv`), otherwise the LSP languageId.
    pub fn from_path_or_language(path: Option<&Path>, language_id: &str) -> Option<FileKind> {
        if let Some(kind) = path.and_then(FileKind::from_path) {
            return Some(kind);
        }
        match language_id {
            "python" => Some(FileKind::Python),
            "dotenv" | "env" => Some(FileKind::DotEnv),
            _ => None,
        }
    }
}

/// `.env`, `.env.*` and `*.env`.
pub fn is_dotenv_name(name: &str) -> bool {
    name == ".env" || name.starts_with(".env.") || (name.ends_with(".env") && name.len() > 4)
}
