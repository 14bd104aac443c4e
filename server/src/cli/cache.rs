//! The result cache of `preflight check`: one small JSON file per checked source file, so a second
//! run over unchanged files does not parse them again.
//!
//! An entry is used only when the file's path, the hash of its exact bytes and the fingerprint of
//! everything else that decides the result (this binary, the rule catalog, the resolved rule
//! filter of the file) all match. Anything unreadable, foreign or inconsistent is a miss; a
//! directory that cannot be written is reported once and the run goes on without the cache.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use serde::{Deserialize, Serialize};

use crate::analysis::registry;
use crate::analysis::{Applicability, Diagnostic, Edit, Fix, Severity};

/// Bumped whenever the entry format or its meaning changes.
const FORMAT: u32 = 1;

/// The default location, relative to the current directory (like ruff's `.ruff_cache`).
pub const DEFAULT_DIR: &str = ".preflight_cache";

const CACHEDIR_TAG: &str = "Signature: 8a477f597d28d172789f06886806bc55\n\
# This file is a cache directory tag created by preflight.\n\
# For information about cache directory tags see https://bford.info/cachedir/\n";

pub struct Cache {
    dir: PathBuf,
    /// This binary and its rule catalog.
    build: String,
    disabled: AtomicBool,
    counter: AtomicUsize,
}

/// Two independent 64-bit SipHash values (`DefaultHasher` with fixed keys). Its output may differ
/// between builds of the compiler, which is why every key also carries the build fingerprint.
fn hash128(parts: &[&[u8]]) -> String {
    let mut a = DefaultHasher::new();
    let mut b = DefaultHasher::new();
    0xa5u8.hash(&mut b);
    for part in parts {
        part.hash(&mut a);
        part.hash(&mut b);
    }
    format!("{:016x}{:016x}", a.finish(), b.finish())
}

/// The version, the running executable (size and modification time, so a rebuild with different
/// rule code invalidates the cache even at the same version) and the embedded rule catalog.
/// `None` when the executable cannot be identified: then nothing is cached.
fn build_fingerprint() -> Option<String> {
    let exe = std::env::current_exe().ok()?;
    let meta = std::fs::metadata(exe).ok()?;
    let modified = meta
        .modified()
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?;
    let mut catalog: Vec<&[u8]> = Vec::new();
    for (name, text) in registry::rule_files() {
        catalog.push(name.as_bytes());
        catalog.push(text.as_bytes());
    }
    Some(format!(
        "{}-{}-{}.{}-{}-{}",
        FORMAT,
        env!("CARGO_PKG_VERSION"),
        meta.len(),
        modified.as_secs(),
        modified.subsec_nanos(),
        hash128(&catalog)
    ))
}

#[derive(Serialize, Deserialize)]
struct Entry {
    path: String,
    content: String,
    fingerprint: String,
    diagnostics: Vec<StoredDiagnostic>,
}

#[derive(Serialize, Deserialize)]
struct StoredDiagnostic {
    rule: String,
    severity: Severity,
    message: String,
    start: usize,
    end: usize,
    fix: Option<StoredFix>,
}

#[derive(Serialize, Deserialize)]
struct StoredFix {
    title: String,
    applicability: Applicability,
    edits: Vec<(usize, usize, String)>,
}

/// What identifies one file's result: its path, its bytes, and the configuration that applies.
pub struct Key {
    path: String,
    content: String,
    fingerprint: String,
}

impl Cache {
    /// `None` when the build cannot be fingerprinted.
    pub fn new(dir: PathBuf) -> Option<Cache> {
        Some(Cache {
            dir,
            build: build_fingerprint()?,
            disabled: AtomicBool::new(false),
            counter: AtomicUsize::new(0),
        })
    }

    /// `config` is a complete description of the resolved settings the analysis of the file
    /// depends on (its rule filter).
    pub fn key(&self, path: &Path, text: &str, config: &str) -> Option<Key> {
        let path = std::path::absolute(path).ok()?.to_str()?.to_string();
        Some(Key {
            content: hash128(&[text.as_bytes()]),
            fingerprint: format!("{}-{}", self.build, hash128(&[config.as_bytes()])),
            path,
        })
    }

    fn entry_path(&self, key: &Key) -> PathBuf {
        self.dir
            .join(format!("{}.json", hash128(&[key.path.as_bytes()])))
    }

    /// The cached diagnostics of the file, or `None` on any mismatch or damage.
    pub fn get(&self, key: &Key, text: &str) -> Option<Vec<Diagnostic>> {
        if self.disabled.load(Ordering::Relaxed) {
            return None;
        }
        let bytes = std::fs::read(self.entry_path(key)).ok()?;
        let entry: Entry = serde_json::from_slice(&bytes).ok()?;
        if entry.path != key.path
            || entry.content != key.content
            || entry.fingerprint != key.fingerprint
        {
            return None;
        }
        let in_text = |start: usize, end: usize| {
            start <= end
                && end <= text.len()
                && text.is_char_boundary(start)
                && text.is_char_boundary(end)
        };
        entry
            .diagnostics
            .into_iter()
            .map(|d| {
                let rule = registry::meta(&d.rule)?.id.as_str();
                if !in_text(d.start, d.end) {
                    return None;
                }
                let fix = match d.fix {
                    None => None,
                    Some(f) => {
                        let mut edits = Vec::with_capacity(f.edits.len());
                        for (start, end, content) in f.edits {
                            if !in_text(start, end) {
                                return None;
                            }
                            edits.push(Edit::replace(start..end, content));
                        }
                        Some(Fix {
                            title: f.title,
                            applicability: f.applicability,
                            edits,
                        })
                    }
                };
                Some(Diagnostic {
                    rule,
                    severity: d.severity,
                    message: d.message,
                    range: d.start..d.end,
                    fix,
                })
            })
            .collect()
    }

    /// Stores the file's diagnostics (best effort: a failure disables the cache for the run, with
    /// one note).
    pub fn put(&self, key: Key, diagnostics: &[Diagnostic]) {
        if self.disabled.load(Ordering::Relaxed) {
            return;
        }
        let entry = Entry {
            diagnostics: diagnostics
                .iter()
                .map(|d| StoredDiagnostic {
                    rule: d.rule.to_string(),
                    severity: d.severity,
                    message: d.message.clone(),
                    start: d.range.start,
                    end: d.range.end,
                    fix: d.fix.as_ref().map(|f| StoredFix {
                        title: f.title.clone(),
                        applicability: f.applicability,
                        edits: f
                            .edits
                            .iter()
                            .map(|e| (e.range.start, e.range.end, e.content.clone()))
                            .collect(),
                    }),
                })
                .collect(),
            path: key.path.clone(),
            content: key.content.clone(),
            fingerprint: key.fingerprint.clone(),
        };
        let Ok(json) = serde_json::to_vec(&entry) else {
            return;
        };
        if let Err(e) = self.write_entry(&self.entry_path(&key), &json) {
            if !self.disabled.swap(true, Ordering::Relaxed) {
                eprintln!(
                    "preflight: note: cannot write the cache in {}: {e}; continuing without it",
                    self.dir.display()
                );
            }
        }
    }

    /// Creates the directory (with its `.gitignore` and `CACHEDIR.TAG`) if needed. On failure the
    /// cache is off for this run, with one note.
    pub fn prepare(&self) {
        if let Err(e) = self.create_dir() {
            self.disabled.store(true, Ordering::Relaxed);
            eprintln!(
                "preflight: note: cannot use the cache directory {}: {e}; continuing without it",
                self.dir.display()
            );
        }
    }

    fn create_dir(&self) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        for (name, content) in [(".gitignore", "*\n"), ("CACHEDIR.TAG", CACHEDIR_TAG)] {
            let path = self.dir.join(name);
            if !path.exists() {
                self.write_entry(&path, content.as_bytes())?;
            }
        }
        Ok(())
    }

    /// Writes to a temporary file, then renames it over `path`, so readers never see half an entry.
    fn write_entry(&self, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
        let tmp = self.dir.join(format!(
            ".tmp-{}-{}",
            std::process::id(),
            self.counter.fetch_add(1, Ordering::Relaxed)
        ));
        let written = std::fs::File::create(&tmp).and_then(|mut f| f.write_all(bytes));
        let renamed = written.and_then(|()| std::fs::rename(&tmp, path));
        if renamed.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        renamed
    }
}
