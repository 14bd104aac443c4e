//! The result cache of `preflight check`: one JSON file holding each checked file's findings, read
//! once at the start of a run and replaced once at its end, so a second run over unchanged files
//! does not parse them again. (One file for the run: creating thousands of small files cost more
//! than the parsing it saved.)
//!
//! An entry is used only when the file's path, the hash of its exact bytes and the fingerprint of
//! everything else that decides the result (this binary, the rule catalog, the resolved rule
//! filter of the file) all match. Anything unreadable, foreign or inconsistent is a miss; a
//! directory that cannot be written is reported once and the run goes on without the cache.

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::analysis::registry;
use crate::analysis::{Applicability, Diagnostic, Edit, Fix, Severity};
use crate::project::FileFacts;

/// Bumped whenever the entry format or its meaning changes.
const FORMAT: u32 = 2;

/// The default location, relative to the current directory (like ruff's `.ruff_cache`).
pub const DEFAULT_DIR: &str = ".preflight_cache";

/// The file inside the cache directory that holds the results.
pub const RESULTS_FILE: &str = "results.json";

const CACHEDIR_TAG: &str = "Signature: 8a477f597d28d172789f06886806bc55\n\
# This file is a cache directory tag created by preflight.\n\
# For information about cache directory tags see https://bford.info/cachedir/\n";

pub struct Cache {
    dir: PathBuf,
    /// This binary and its rule catalog.
    build: String,
    disabled: AtomicBool,
    /// The results of the previous runs, by absolute path.
    entries: Mutex<HashMap<String, Entry>>,
    /// Paths this run looked up or stored (kept even if the file is gone by the end).
    touched: Mutex<HashSet<String>>,
    changed: AtomicBool,
}

/// Two independent 64-bit SipHash values (`DefaultHasher` with fixed keys). Its output may differ
/// between builds of the compiler, which is why the results file also carries the build
/// fingerprint.
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
struct Stored {
    build: String,
    entries: HashMap<String, Entry>,
}

#[derive(Serialize, Deserialize)]
struct Entry {
    content: String,
    /// The file's facts for the project model (they depend on its content alone).
    #[serde(default)]
    facts: Option<FileFacts>,
    /// What the diagnostics were computed under (the configuration and the project), when they
    /// were.
    #[serde(default)]
    config: Option<String>,
    #[serde(default)]
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
    config: String,
}

impl Key {
    /// `config` describes everything else the analysis of the file depends on (the path as
    /// spelled, its resolved rule filter, the project's facts).
    pub fn with_config(&self, config: &str) -> Key {
        Key {
            path: self.path.clone(),
            content: self.content.clone(),
            config: hash128(&[config.as_bytes()]),
        }
    }
}

impl Cache {
    /// `None` when the build cannot be fingerprinted.
    pub fn new(dir: PathBuf) -> Option<Cache> {
        Some(Cache {
            dir,
            build: build_fingerprint()?,
            disabled: AtomicBool::new(false),
            entries: Mutex::new(HashMap::new()),
            touched: Mutex::new(HashSet::new()),
            changed: AtomicBool::new(false),
        })
    }

    /// The key of a file's content; [`Key::with_config`] adds what its diagnostics depend on.
    pub fn key(&self, path: &Path, text: &str) -> Option<Key> {
        let path = std::path::absolute(path).ok()?.to_str()?.to_string();
        Some(Key {
            content: hash128(&[text.as_bytes()]),
            config: String::new(),
            path,
        })
    }

    /// Remembers that this run saw the file (its entry is kept even if the file is gone by the
    /// end).
    fn touch(&self, key: &Key) {
        if let Ok(mut touched) = self.touched.lock() {
            touched.insert(key.path.clone());
        }
    }

    /// The file's facts stored for the same content.
    pub fn facts(&self, key: &Key) -> Option<FileFacts> {
        if self.disabled.load(Ordering::Relaxed) {
            return None;
        }
        self.touch(key);
        let entries = self.entries.lock().ok()?;
        let entry = entries.get(&key.path)?;
        (entry.content == key.content)
            .then(|| entry.facts.clone())
            .flatten()
    }

    /// Records the file's facts (keeping its diagnostics when the content is the same).
    pub fn put_facts(&self, key: &Key, facts: &FileFacts) {
        if self.disabled.load(Ordering::Relaxed) {
            return;
        }
        self.touch(key);
        if let Ok(mut entries) = self.entries.lock() {
            let entry = entries.entry(key.path.clone()).or_insert_with(|| Entry {
                content: key.content.clone(),
                facts: None,
                config: None,
                diagnostics: Vec::new(),
            });
            if entry.content != key.content {
                *entry = Entry {
                    content: key.content.clone(),
                    facts: None,
                    config: None,
                    diagnostics: Vec::new(),
                };
            }
            entry.facts = Some(facts.clone());
            self.changed.store(true, Ordering::Relaxed);
        }
    }

    /// Creates the directory (with its `.gitignore` and `CACHEDIR.TAG`) if needed and reads the
    /// previous results; a damaged or foreign results file counts as empty. If the directory
    /// cannot be made the cache is off for this run, with one note.
    pub fn load(&self) {
        if let Err(e) = self.create_dir() {
            self.disabled.store(true, Ordering::Relaxed);
            eprintln!(
                "preflight: note: cannot use the cache directory {}: {e}; continuing without it",
                self.dir.display()
            );
            return;
        }
        let stored = std::fs::read(self.dir.join(RESULTS_FILE))
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Stored>(&bytes).ok())
            .filter(|stored| stored.build == self.build);
        if let (Some(stored), Ok(mut entries)) = (stored, self.entries.lock()) {
            *entries = stored.entries;
        }
    }

    /// The cached diagnostics of the file, or `None` on any mismatch or damage.
    pub fn get(&self, key: &Key, text: &str) -> Option<Vec<Diagnostic>> {
        if self.disabled.load(Ordering::Relaxed) {
            return None;
        }
        self.touch(key);
        let entries = self.entries.lock().ok()?;
        let entry = entries.get(&key.path)?;
        if entry.content != key.content || entry.config.as_deref() != Some(key.config.as_str()) {
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
            .iter()
            .map(|d| {
                let rule = registry::meta(&d.rule)?.id.as_str();
                if !in_text(d.start, d.end) {
                    return None;
                }
                let fix = match &d.fix {
                    None => None,
                    Some(f) => {
                        let mut edits = Vec::with_capacity(f.edits.len());
                        for (start, end, content) in &f.edits {
                            if !in_text(*start, *end) {
                                return None;
                            }
                            edits.push(Edit::replace(*start..*end, content.clone()));
                        }
                        Some(Fix {
                            title: f.title.clone(),
                            applicability: f.applicability,
                            edits,
                        })
                    }
                };
                Some(Diagnostic {
                    rule,
                    severity: d.severity,
                    message: d.message.clone(),
                    range: d.start..d.end,
                    fix,
                })
            })
            .collect()
    }

    /// Records the file's diagnostics; [`Cache::save`] writes them out.
    pub fn put(&self, key: Key, diagnostics: &[Diagnostic]) {
        if self.disabled.load(Ordering::Relaxed) {
            return;
        }
        let facts = self.entries.lock().ok().and_then(|e| {
            e.get(&key.path)
                .filter(|e| e.content == key.content)
                .and_then(|e| e.facts.clone())
        });
        let entry = Entry {
            facts,
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
            content: key.content.clone(),
            config: Some(key.config.clone()),
        };
        self.touch(&key);
        if let Ok(mut entries) = self.entries.lock() {
            entries.insert(key.path, entry);
            self.changed.store(true, Ordering::Relaxed);
        }
    }

    /// Writes the results back if this run changed them, dropping entries of files that no
    /// longer exist. A failure is one note; the run's output is not affected.
    pub fn save(self) {
        if self.disabled.load(Ordering::Relaxed) || !self.changed.load(Ordering::Relaxed) {
            return;
        }
        let (Ok(mut entries), Ok(touched)) = (self.entries.into_inner(), self.touched.into_inner())
        else {
            return;
        };
        entries.retain(|path, _| touched.contains(path) || Path::new(path).exists());
        let stored = Stored {
            build: self.build,
            entries,
        };
        let Ok(json) = serde_json::to_vec(&stored) else {
            return;
        };
        let dir = self.dir;
        if let Err(e) = write_atomically(&dir, &dir.join(RESULTS_FILE), &json) {
            eprintln!(
                "preflight: note: cannot write the cache in {}: {e}; continuing without it",
                dir.display()
            );
        }
    }

    fn create_dir(&self) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        for (name, content) in [(".gitignore", "*\n"), ("CACHEDIR.TAG", CACHEDIR_TAG)] {
            let path = self.dir.join(name);
            if !path.exists() {
                write_atomically(&self.dir, &path, content.as_bytes())?;
            }
        }
        Ok(())
    }
}

/// Writes to a temporary file, then renames it over `path`, so readers never see half a file.
pub(crate) fn write_atomically(dir: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let written = std::fs::File::create(&tmp).and_then(|mut f| f.write_all(bytes));
    let renamed = written.and_then(|()| std::fs::rename(&tmp, path));
    if renamed.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    renamed
}
