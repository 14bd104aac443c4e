//! Finding a project's files on disk and reading them: the walk the command line and the
//! language server's start-up scan share, and the checks every file passes before it is read
//! (size, binary content, UTF-8).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::normalize;
use crate::syntax::FileKind;

/// Files larger than this are not analysed (generated or vendored data, not code).
pub const MAX_FILE_BYTES: u64 = 5 * 1024 * 1024;

/// Directories never worth walking into, ignored or not.
const SKIPPED_DIRS: &[&str] = &[
    ".git",
    ".hg",
    ".svn",
    ".venv",
    "venv",
    ".tox",
    ".nox",
    "node_modules",
    "__pycache__",
    "site-packages",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
];

/// Every file under `paths` of a kind Preflight reads, with whether it was named itself.
/// Directories are walked honouring `.gitignore` (with or without a git work tree); hidden
/// folders below a named directory are tooling (`.semgrep/`, `.devcontainer/`) and skipped.
/// Env files git tracks are included even when a `.gitignore` rule also matches them (tracking
/// them is the problem).
pub fn walk(
    paths: &[PathBuf],
    root: &Path,
    also_skipped: &[&str],
) -> (Vec<(PathBuf, bool)>, usize) {
    let mut files: Vec<(PathBuf, bool)> = Vec::new();
    let mut errors = 0;
    let tracked = super::git::find_repository(root)
        .and_then(|(tree, git_dir)| super::git::tracked_paths(&tree, &git_dir));
    for path in paths {
        if path.is_file() {
            files.push((path.clone(), true));
        } else if path.is_dir() {
            let also_skipped: Vec<String> = also_skipped.iter().map(|s| s.to_string()).collect();
            let walker = ignore::WalkBuilder::new(path)
                .hidden(false)
                .require_git(false)
                .filter_entry(move |entry| {
                    let is_dir = entry.file_type().is_some_and(|t| t.is_dir());
                    let name = entry.file_name().to_str().unwrap_or("");
                    !(is_dir
                        && (SKIPPED_DIRS.contains(&name)
                            || also_skipped.iter().any(|s| s == name)
                            || (entry.depth() > 0 && name.starts_with('.') && name.len() > 1)))
                })
                .build();
            let mut seen: HashSet<PathBuf> = HashSet::new();
            for entry in walker {
                match entry {
                    Ok(entry) if entry.file_type().is_some_and(|t| t.is_file()) => {
                        if kind_of(entry.path()).is_some() {
                            seen.insert(normalize(entry.path()));
                            files.push((entry.into_path(), false));
                        }
                    }
                    Ok(_) => {}
                    Err(e) => eprintln!("preflight: note: {e}"),
                }
            }
            if let Some(tracked) = &tracked {
                let base = normalize(path);
                let mut extra: Vec<&PathBuf> = tracked
                    .iter()
                    .filter(|t| {
                        t.starts_with(&base)
                            && !seen.contains(*t)
                            && FileKind::from_path(t) == Some(FileKind::DotEnv)
                            && t.is_file()
                    })
                    .collect();
                extra.sort();
                files.extend(extra.into_iter().map(|t| (t.clone(), false)));
            }
        } else {
            eprintln!("preflight: {}: no such file or directory", path.display());
            errors += 1;
        }
    }
    (files, errors)
}

/// The kind of a file on disk: by its name, or by its first line when the name says nothing.
pub fn kind_of(path: &Path) -> Option<FileKind> {
    if let Some(kind) = FileKind::from_path(path) {
        return Some(kind);
    }
    let name = path.file_name()?.to_str()?;
    if name.contains('.') {
        return None;
    }
    let mut head = [0u8; 128];
    let mut file = std::fs::File::open(path).ok()?;
    let read = std::io::Read::read(&mut file, &mut head).ok()?;
    FileKind::from_path_and_head(path, &head[..read])
}

/// The files around `paths` that their findings depend on, when `paths` do not cover the whole
/// project at `root`: every deployment and configuration file (compose, Dockerfiles, scripts,
/// requirements, `pyproject.toml`, Procfiles, env files, ignore and lock files) and the Python
/// modules that configure Django (settings modules, `manage.py`, `wsgi.py`, `asgi.py`,
/// `celery.py`). `walked` are the files already found.
pub fn context_files(root: &Path, paths: &[PathBuf], walked: &[(PathBuf, bool)]) -> Vec<PathBuf> {
    let root = normalize(root);
    if paths.iter().any(|p| normalize(p) == root) {
        return Vec::new();
    }
    let known: HashSet<PathBuf> = walked.iter().map(|(p, _)| normalize(p)).collect();
    let (all, _) = walk(std::slice::from_ref(&root), &root, &[]);
    all.into_iter()
        .map(|(p, _)| p)
        .filter(|p| !known.contains(&normalize(p)))
        .filter(|p| match kind_of(p) {
            Some(FileKind::Python) => {
                let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
                super::roles::is_settings_path(p)
                    || matches!(name, "manage.py" | "wsgi.py" | "asgi.py" | "celery.py")
            }
            Some(_) => true,
            None => false,
        })
        .collect()
}

/// Why a file was not read.
pub enum Unreadable {
    /// Not a text file worth reading (too large, binary, not UTF-8): a note.
    Skipped(String),
    /// It could not be read at all: an error.
    Failed(String),
}

/// The file's text, when it is UTF-8 text of at most [`MAX_FILE_BYTES`].
pub fn read_text(path: &Path) -> Result<String, Unreadable> {
    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    if size > MAX_FILE_BYTES {
        return Err(Unreadable::Skipped(format!(
            "skipped, {size} bytes is over the {MAX_FILE_BYTES}-byte limit"
        )));
    }
    let bytes = std::fs::read(path).map_err(|e| Unreadable::Failed(format!("cannot read: {e}")))?;
    if bytes.iter().take(8192).any(|b| *b == 0) {
        return Err(Unreadable::Skipped("skipped, binary file".to_string()));
    }
    String::from_utf8(bytes).map_err(|e| {
        Unreadable::Skipped(format!(
            "skipped, not valid UTF-8 (byte {})",
            e.utf8_error().valid_up_to()
        ))
    })
}

/// Builds the project of `folders` from disk: walks them, reads every file and extracts its
/// facts, one file at a time (the language server runs this in the background and leaves the
/// other cores to the analyses of open documents). `progress` hears (files done, files in all).
pub fn scan_project(folders: &[PathBuf], progress: &dyn Fn(usize, usize)) -> super::Project {
    let root = folders.first().cloned();
    let mut builder = super::ProjectBuilder::new(root.as_deref()).named(folders);
    builder.read_repository();
    let Some(root) = root else {
        return builder.build();
    };
    let (files, _) = walk(folders, &root, &[]);
    let total = files.len();
    for (done, (path, _)) in files.iter().enumerate() {
        if done % 200 == 0 {
            progress(done, total);
        }
        if let Some(facts) = read_facts(path) {
            builder.file(path, facts.0, std::sync::Arc::new(facts.1));
        }
    }
    progress(total, total);
    builder.build()
}

/// The kind and facts of a file on disk, when it is one Preflight reads.
pub fn read_facts(path: &Path) -> Option<(FileKind, super::FileFacts)> {
    let kind = kind_of(path)?;
    let text = read_text(path).ok()?;
    Some((kind, super::facts::extract(path, kind, &text)))
}
