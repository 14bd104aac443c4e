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

/// What a walk found: the files, with whether each was named itself, and what it could not
/// check, for the caller to say (or not: the walk for context files is quiet).
#[derive(Default)]
pub struct Walked {
    pub files: Vec<(PathBuf, bool)>,
    /// What was skipped, for notes (each names its path): a device, FIFO or socket, a symlink
    /// loop, a broken symlink in a folder.
    pub notes: Vec<String>,
    /// Named paths that do not exist or cannot be looked at: errors.
    pub errors: Vec<String>,
}

/// Every file under `paths` of a kind Preflight reads, with whether it was named itself.
/// Directories are walked honouring `.gitignore` (with or without a git work tree); hidden
/// folders below a named directory are tooling (`.semgrep/`, `.devcontainer/`) and skipped.
/// Env files git tracks are included even when a `.gitignore` rule also matches them (tracking
/// them is the problem). Symlinks are followed (see [`without_duplicates`] for a file reached
/// twice).
pub fn walk(paths: &[PathBuf], root: &Path, also_skipped: &[&str]) -> Walked {
    let mut walked = Walked::default();
    let tracked = super::git::find_repository(root)
        .and_then(|(tree, git_dir)| super::git::tracked_paths(&tree, &git_dir));
    for path in paths {
        let shown = path.display();
        match named_path(path) {
            NamedPath::File => walked.files.push((path.clone(), true)),
            NamedPath::Directory => {
                let found = walk_directory(path, also_skipped, &mut walked.notes);
                let seen: HashSet<PathBuf> = found.iter().map(|p| normalize(p)).collect();
                walked.files.extend(found.into_iter().map(|p| (p, false)));
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
                    walked
                        .files
                        .extend(extra.into_iter().map(|t| (t.clone(), false)));
                }
            }
            NamedPath::Special => walked
                .notes
                .push(format!("{shown}: not a regular file; skipped")),
            NamedPath::SymlinkLoop => walked.notes.push(format!("{shown}: symlink loop; skipped")),
            NamedPath::BrokenSymlink => walked.errors.push(format!(
                "{shown}: broken symlink: no such file or directory at its target"
            )),
            NamedPath::Missing => walked
                .errors
                .push(format!("{shown}: no such file or directory")),
            NamedPath::Unreadable(e) => walked.errors.push(format!("{shown}: cannot read: {e}")),
        }
    }
    walked
}

/// What a path given to the walk is, told without opening it (opening a FIFO waits for a
/// writer).
enum NamedPath {
    File,
    Directory,
    /// A device (`/dev/null`), FIFO or socket: nothing to read as a file.
    Special,
    SymlinkLoop,
    BrokenSymlink,
    Missing,
    Unreadable(std::io::Error),
}

fn named_path(path: &Path) -> NamedPath {
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() => NamedPath::File,
        Ok(m) if m.is_dir() => NamedPath::Directory,
        Ok(_) => NamedPath::Special,
        Err(_) if is_symlink_loop(path) => NamedPath::SymlinkLoop,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
                NamedPath::BrokenSymlink
            } else {
                NamedPath::Missing
            }
        }
        Err(e) => NamedPath::Unreadable(e),
    }
}

/// Whether `path` is a symlink whose chain of targets never ends: followed link by link, it
/// comes back to a link already passed, or it goes on past the 40 links Linux follows before it
/// gives up (ELOOP, which the standard library does not name on stable Rust).
fn is_symlink_loop(path: &Path) -> bool {
    let mut passed: HashSet<PathBuf> = HashSet::new();
    let mut current = path.to_path_buf();
    while passed.len() < 40 {
        let Ok(target) = std::fs::read_link(&current) else {
            return false;
        };
        if !passed.insert(current.clone()) {
            return true;
        }
        // A relative target is relative to the link's folder; an absolute one replaces it.
        current = match current.parent() {
            Some(folder) => folder.join(target),
            None => target,
        };
    }
    true
}

/// The files of a kind Preflight reads under the directory `path`; what was skipped goes to
/// `notes`.
fn walk_directory(path: &Path, also_skipped: &[&str], notes: &mut Vec<String>) -> Vec<PathBuf> {
    let also_skipped: Vec<String> = also_skipped.iter().map(|s| s.to_string()).collect();
    let walker = ignore::WalkBuilder::new(path)
        .hidden(false)
        .require_git(false)
        // A linked file is part of the tree where the link is (its name gives its kind and
        // role), and so is a linked folder. The walk recognises a link back to a folder it is
        // inside and reports that loop (once) instead of going round it.
        .follow_links(true)
        .filter_entry(move |entry| {
            let is_dir = entry.file_type().is_some_and(|t| t.is_dir());
            let name = entry.file_name().to_str().unwrap_or("");
            !(is_dir
                && (SKIPPED_DIRS.contains(&name)
                    || also_skipped.iter().any(|s| s == name)
                    || (entry.depth() > 0 && name.starts_with('.') && name.len() > 1)))
        })
        .build();
    let mut found = Vec::new();
    // What could not be checked, as (path, why), noted once the walk is done.
    let mut problems: Vec<(PathBuf, String)> = Vec::new();
    let mut through_links = false;
    for entry in walker {
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) => {
                match walk_problem(&e) {
                    Some(problem) => problems.push(problem),
                    None => notes.push(e.to_string()),
                }
                continue;
            }
        };
        through_links |= entry.path_is_symlink();
        let Some(file_type) = entry.file_type() else {
            continue;
        };
        if file_type.is_file() {
            if kind_of(entry.path()).is_some() {
                found.push(entry.into_path());
            }
        } else if !file_type.is_dir() && FileKind::from_path(entry.path()).is_some() {
            // Named like a file Preflight reads, but a FIFO or socket: never opened.
            problems.push((entry.into_path(), "not a regular file".to_string()));
        }
    }
    // Without a link on the way, nothing can be reached twice.
    if through_links {
        found = without_duplicates(path, found);
        problems = without_duplicate_problems(path, problems);
    }
    notes.extend(
        problems
            .into_iter()
            .map(|(at, why)| format!("{}: {why}; skipped", at.display())),
    );
    found
}

/// The path and the problem of a walk error that is about one entry: a symlink loop or a
/// broken symlink.
fn walk_problem(error: &ignore::Error) -> Option<(PathBuf, String)> {
    match error {
        ignore::Error::WithDepth { err, .. } => walk_problem(err),
        ignore::Error::Loop { ancestor, child } => Some((
            child.clone(),
            format!("symlink loop (it leads back to {})", ancestor.display()),
        )),
        ignore::Error::WithPath { path, .. } if is_symlink_loop(path) => {
            Some((path.clone(), "symlink loop".to_string()))
        }
        ignore::Error::WithPath { path, .. }
            if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) =>
        {
            Some((path.clone(), "broken symlink".to_string()))
        }
        _ => None,
    }
}

/// Something the walk met at `path`: a file, or a problem (`what`, for a note).
struct Met<T> {
    path: PathBuf,
    /// Where it really is, links resolved (`None` when that cannot be known: it is gone).
    real: Option<PathBuf>,
    /// Reached with no link on the way from the walked directory.
    at_own_place: bool,
    what: T,
}

impl<T> Met<T> {
    /// `path`, met under the walked directory `root` (whose real path is `real_root`), really
    /// at `real`.
    fn new(
        root: &Path,
        real_root: Option<&Path>,
        path: PathBuf,
        real: Option<PathBuf>,
        what: T,
    ) -> Met<T> {
        let at_own_place = match (real_root, &real, path.strip_prefix(root)) {
            (Some(real_root), Some(real), Ok(relative)) => real_root.join(relative) == *real,
            _ => false,
        };
        Met {
            path,
            real,
            at_own_place,
            what,
        }
    }
}

/// The walk's files with each file reached more than once through symlinks kept once: at its
/// own place in the tree when the walk found it there too, since that is the file itself (a link
/// is another name for it, and its findings would only repeat); else, reached only through
/// links, at the first of their paths in name order. `root` is the walked directory.
fn without_duplicates(root: &Path, files: Vec<PathBuf>) -> Vec<PathBuf> {
    let real_root = std::fs::canonicalize(root).ok();
    let met = files.into_iter().map(|file| {
        // A file that is gone already has no real path: it is left to the reader, which says so.
        let real = std::fs::canonicalize(&file).ok();
        Met::new(root, real_root.as_deref(), file, real, ())
    });
    keep_once(met).into_iter().map(|m| m.path).collect()
}

/// The walk's problems with each one met more than once (inside a linked folder and at its own
/// place) kept once, under the path [`without_duplicates`] would choose for a file. The entry
/// itself does not resolve (it is a loop, a broken link or a FIFO), so it is known by its real
/// folder and its name.
fn without_duplicate_problems(
    root: &Path,
    problems: Vec<(PathBuf, String)>,
) -> Vec<(PathBuf, String)> {
    let real_root = std::fs::canonicalize(root).ok();
    let met = problems.into_iter().map(|(at, why)| {
        let real = at
            .parent()
            .and_then(|folder| std::fs::canonicalize(folder).ok())
            .zip(at.file_name())
            .map(|(folder, name)| folder.join(name));
        Met::new(root, real_root.as_deref(), at, real, why)
    });
    keep_once(met)
        .into_iter()
        .map(|m| (m.path, m.what))
        .collect()
}

/// What was met, each real path once (the unknown ones all kept): the one at its own place when
/// there is one, else the first by path; in the order first met.
fn keep_once<T>(met: impl Iterator<Item = Met<T>>) -> Vec<Met<T>> {
    let mut kept: Vec<Met<T>> = Vec::new();
    let mut by_real: std::collections::HashMap<PathBuf, usize> = Default::default();
    for m in met {
        let Some(real) = m.real.clone() else {
            kept.push(m);
            continue;
        };
        match by_real.get(&real) {
            None => {
                by_real.insert(real, kept.len());
                kept.push(m);
            }
            Some(&at) => {
                let earlier = &kept[at];
                if !earlier.at_own_place && (m.at_own_place || m.path < earlier.path) {
                    kept[at] = m;
                }
            }
        }
    }
    kept
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
    walk(std::slice::from_ref(&root), &root, &[])
        .files
        .into_iter()
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
#[derive(Debug, PartialEq, Eq)]
pub enum Unreadable {
    /// Not a text file worth reading (too large, binary, not UTF-8, not a regular file): a note.
    Skipped(String),
    /// It was there when the walk listed it and is gone now (deleted or renamed meanwhile): not
    /// a problem of the project; the run counts them in one note.
    Vanished,
    /// It could not be read at all: an error.
    Failed(String),
}

/// The file's text, when it is UTF-8 text of at most [`MAX_FILE_BYTES`].
pub fn read_text(path: &Path) -> Result<String, Unreadable> {
    let unreadable = |e: std::io::Error| match e.kind() {
        std::io::ErrorKind::NotFound => Unreadable::Vanished,
        _ => Unreadable::Failed(format!("cannot read: {e}")),
    };
    let metadata = std::fs::metadata(path).map_err(unreadable)?;
    // The walk only lists regular files, but the path may be something else by now: a FIFO
    // must not be opened (reading it waits for a writer).
    if !metadata.is_file() {
        return Err(Unreadable::Skipped(
            "not a regular file; skipped".to_string(),
        ));
    }
    let size = metadata.len();
    if size > MAX_FILE_BYTES {
        return Err(Unreadable::Skipped(format!(
            "skipped, {size} bytes is over the {MAX_FILE_BYTES}-byte limit"
        )));
    }
    let bytes = std::fs::read(path).map_err(unreadable)?;
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
    let walked = walk(folders, &root, &[]);
    // The server's log hears what the scan skipped.
    for note in walked.notes.iter().chain(&walked.errors) {
        eprintln!("preflight: note: {note}");
    }
    let files = walked.files;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("preflight-scan-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_file_gone_since_the_walk_is_vanished_not_a_failure() {
        let dir = temp_dir("vanished");
        let path = dir.join("settings.py");
        std::fs::write(&path, "DEBUG = True\n").unwrap();
        assert_eq!(read_text(&path), Ok("DEBUG = True\n".to_string()));
        std::fs::remove_file(&path).unwrap();
        assert_eq!(read_text(&path), Err(Unreadable::Vanished));
        // A link whose target went away is gone too.
        #[cfg(unix)]
        {
            let target = dir.join("target.py");
            let link = dir.join("link.py");
            std::fs::write(&target, "x = 1\n").unwrap();
            std::os::unix::fs::symlink(&target, &link).unwrap();
            std::fs::remove_file(&target).unwrap();
            assert_eq!(read_text(&link), Err(Unreadable::Vanished));
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn what_is_not_a_regular_file_is_never_opened() {
        let dir = temp_dir("special");
        let socket = dir.join("app.py");
        let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
        let skipped = Err(Unreadable::Skipped(
            "not a regular file; skipped".to_string(),
        ));
        assert_eq!(read_text(&socket), skipped);
        assert_eq!(read_text(Path::new("/dev/null")), skipped);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn symlink_loops_are_told_from_broken_links() {
        let dir = temp_dir("loops");
        let link = |target: &str, name: &str| {
            std::os::unix::fs::symlink(target, dir.join(name)).unwrap();
        };
        link("self.py", "self.py");
        link("b.py", "a.py");
        link("a.py", "b.py");
        link("nowhere.py", "broken.py");
        std::fs::write(dir.join("real.py"), "x = 1\n").unwrap();
        link("real.py", "alias.py");
        assert!(is_symlink_loop(&dir.join("self.py")));
        assert!(is_symlink_loop(&dir.join("a.py")));
        assert!(!is_symlink_loop(&dir.join("broken.py")));
        assert!(!is_symlink_loop(&dir.join("alias.py")));
        assert!(matches!(
            named_path(&dir.join("a.py")),
            NamedPath::SymlinkLoop
        ));
        assert!(matches!(
            named_path(&dir.join("broken.py")),
            NamedPath::BrokenSymlink
        ));
        assert!(matches!(
            named_path(&dir.join("gone.py")),
            NamedPath::Missing
        ));
        assert!(matches!(named_path(&dir.join("alias.py")), NamedPath::File));
        assert!(matches!(
            named_path(Path::new("/dev/null")),
            NamedPath::Special
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
