//! `preflight check`, `preflight rules`, `preflight explain`.

pub(crate) mod cache;
mod output;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use rayon::prelude::*;

use crate::analysis::fix::fix_all;
use crate::analysis::registry;
use crate::analysis::{analyse, Applicability, Diagnostic, Input, Severity};
use crate::config::{Config, ConfigCache, ConfigError, Options};
use crate::project::{normalize, scan, FileFacts, Project, ProjectBuilder};
use crate::syntax::FileKind;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
    Sarif,
    Github,
}

pub struct CheckArgs {
    pub paths: Vec<PathBuf>,
    pub format: OutputFormat,
    pub fix: bool,
    pub no_unsafe_fixes: bool,
    pub select: Option<Vec<String>>,
    pub ignore: Option<Vec<String>>,
    pub min_severity: Severity,
    pub config: Option<PathBuf>,
    /// Do not read or write the result cache.
    pub no_cache: bool,
    /// Where the result cache lives (default: `.preflight_cache` in the current directory).
    pub cache_dir: Option<PathBuf>,
}

pub use crate::project::scan::MAX_FILE_BYTES;

pub struct FileResult {
    pub path: PathBuf,
    /// The path as printed: relative to the current directory where possible.
    pub display: String,
    pub text: String,
    pub diagnostics: Vec<Diagnostic>,
    pub fixed: usize,
}

enum Outcome {
    Checked(FileResult),
    Failed(String),
}

/// A file the walk found, read and ready for the project model.
struct Loaded {
    path: PathBuf,
    display: String,
    kind: FileKind,
    text: String,
    /// `None` for a file to be analysed at once, whose analysis gives its facts.
    facts: Option<Arc<FileFacts>>,
    key: Option<cache::Key>,
}

enum Read {
    Loaded(Box<Loaded>),
    /// Analysed while read (see `check`): the facts its analysis gave, for the project.
    Analysed(Option<(PathBuf, FileKind, Arc<FileFacts>)>),
    Skipped(String),
    /// Listed by the walk, gone when read (see [`scan::Unreadable::Vanished`]).
    Vanished,
    Failed(String),
}

/// The one note for the files deleted or renamed between the walk and their reading.
fn vanished_note(count: usize) -> Option<String> {
    match count {
        0 => None,
        1 => Some("1 file disappeared while being checked; skipped".to_string()),
        n => Some(format!(
            "{n} files disappeared while being checked; skipped"
        )),
    }
}

pub fn check(args: CheckArgs) -> ExitCode {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let overrides = Options {
        select: args.select.clone(),
        ignore: args.ignore.clone(),
        ..Options::default()
    };
    if let Err(e) = overrides.validate(None) {
        eprintln!("preflight: {}", e.message);
        return ExitCode::from(2);
    }
    let fixed_config = match &args.config {
        Some(path) => match Config::load(path) {
            Ok(Some(config)) => Some(Arc::new(config)),
            Ok(None) => {
                eprintln!(
                    "preflight: {} has no [tool.preflight] section",
                    path.display()
                );
                return ExitCode::from(2);
            }
            Err(e) => {
                eprintln!("preflight: {e}");
                return ExitCode::from(2);
            }
        },
        None => None,
    };
    let cache = ConfigCache::default();
    let config_for = |path: &Path| -> Result<Config, ConfigError> {
        let base = match &fixed_config {
            Some(c) => Some(c.clone()),
            None => cache.for_file(path)?,
        };
        let base = base
            .map(|c| (*c).clone())
            .unwrap_or_else(|| Config::new(cwd.clone(), None, Options::default()));
        Ok(base.with_overrides(&overrides))
    };

    let mut errors = 0usize;
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths.clone()
    };
    let root = project_root(&paths, &cwd);
    let mut builder = ProjectBuilder::new(Some(&root)).named(&paths);
    builder.read_repository();
    let walked = scan::walk(&paths, &root, &[cache::DEFAULT_DIR]);
    for note in &walked.notes {
        eprintln!("preflight: note: {note}");
    }
    for error in &walked.errors {
        eprintln!("preflight: {error}");
    }
    errors += walked.errors.len();
    let files = walked.files;

    // `--fix` rewrites files and always analyses them afresh: it neither reads nor writes the cache.
    let result_cache = if args.fix || args.no_cache {
        None
    } else {
        let dir = args
            .cache_dir
            .clone()
            .unwrap_or_else(|| cwd.join(cache::DEFAULT_DIR));
        cache::Cache::new(dir)
    };
    let result_cache = result_cache.filter(|_| !files.is_empty());
    if let Some(c) = &result_cache {
        c.load();
    }
    // Every file is read first (in parallel). A Python module that is not a settings module is
    // judged by itself, so it is analysed right away from its one parse, which also gives its
    // facts; the other files give their facts now and are analysed once the project is built.
    // (`--fix` waits for the project for every file: a fix must follow the findings shown.)
    let skeleton = ProjectBuilder::new(Some(&root)).named(&paths).build();
    let reads: Vec<(Read, Option<Outcome>)> = files
        .par_iter()
        .map(|(path, explicit)| {
            let read = read_file(
                path,
                *explicit,
                &cwd,
                &config_for,
                result_cache.as_ref(),
                !args.fix,
            );
            match read {
                Read::Loaded(file) if file.facts.is_none() => {
                    let (outcome, facts) = check_file(
                        *file,
                        &config_for,
                        &args,
                        &skeleton,
                        None,
                        result_cache.as_ref(),
                    );
                    (Read::Analysed(facts), Some(outcome))
                }
                other => (other, None),
            }
        })
        .collect();
    let mut pending = Vec::new();
    let mut outcomes: Vec<Outcome> = Vec::new();
    let mut vanished = 0;
    for (read, outcome) in reads {
        match read {
            Read::Loaded(file) => {
                if let Some(facts) = &file.facts {
                    builder.file(&file.path, file.kind, facts.clone());
                }
                pending.push(*file);
            }
            Read::Analysed(Some((path, kind, facts))) => builder.file(&path, kind, facts),
            Read::Analysed(None) => {}
            Read::Skipped(note) => eprintln!("preflight: note: {note}"),
            Read::Vanished => vanished += 1,
            Read::Failed(message) => {
                eprintln!("preflight: {message}");
                errors += 1;
            }
        }
        outcomes.extend(outcome);
    }
    // Named files are judged inside their project: the `.dockerignore`, lock file or production
    // settings module beside them decides some of their findings. Those neighbours are read for
    // their facts only, and quietly.
    let context = scan::context_files(&root, &paths, &files);
    let context_reads: Vec<Read> = context
        .par_iter()
        .map(|path| read_file(path, false, &cwd, &config_for, result_cache.as_ref(), false))
        .collect();
    for read in context_reads {
        if let Read::Loaded(file) = read {
            if let Some(facts) = &file.facts {
                builder.file(&file.path, file.kind, facts.clone());
            }
        }
    }
    let project = builder.build();
    let digest = project.digest();
    // A module analysed on its own turns out to be loaded by a settings chain (star-imported by
    // a settings module): it is judged again inside the project.
    let mut again = Vec::new();
    outcomes.retain(|outcome| match outcome {
        Outcome::Checked(r) if project.in_settings_chain(&r.path) => {
            again.push(r.path.clone());
            false
        }
        _ => true,
    });
    for path in again {
        match read_file(&path, true, &cwd, &config_for, result_cache.as_ref(), false) {
            Read::Loaded(file) => pending.push(*file),
            Read::Analysed(_) => {}
            Read::Skipped(note) => eprintln!("preflight: note: {note}"),
            Read::Vanished => vanished += 1,
            Read::Failed(message) => {
                eprintln!("preflight: {message}");
                errors += 1;
            }
        }
    }
    if let Some(note) = vanished_note(vanished) {
        eprintln!("preflight: note: {note}");
    }
    let later: Vec<Outcome> = pending
        .into_par_iter()
        .filter(|file| file.kind.is_checked())
        .map(|file| {
            check_file(
                file,
                &config_for,
                &args,
                &project,
                Some(&digest),
                result_cache.as_ref(),
            )
            .0
        })
        .collect();
    outcomes.extend(later);
    if let Some(c) = result_cache {
        c.save();
    }

    let mut results = Vec::new();
    for outcome in outcomes {
        match outcome {
            Outcome::Checked(r) => results.push(r),
            Outcome::Failed(message) => {
                eprintln!("preflight: {message}");
                errors += 1;
            }
        }
    }
    results.sort_by(|a, b| a.display.cmp(&b.display));
    for r in &mut results {
        r.diagnostics.retain(|d| d.severity >= args.min_severity);
    }
    // The outputs only speak about files with findings or fixes (and index each file's lines).
    results.retain(|r| !r.diagnostics.is_empty() || r.fixed > 0);
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let written = match args.format {
        OutputFormat::Text => output::text(&mut out, &results, args.fix),
        OutputFormat::Json => output::json(&mut out, &results),
        OutputFormat::Sarif => output::sarif(&mut out, &results),
        OutputFormat::Github => output::github(&mut out, &results),
    };
    if let Err(e) = written {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            eprintln!("preflight: cannot write output: {e}");
            return ExitCode::from(2);
        }
    }
    if errors > 0 {
        ExitCode::from(2)
    } else if results.iter().any(|r| !r.diagnostics.is_empty()) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// The project the paths belong to: the git work tree around the current directory (or the
/// first path), else the current directory.
fn project_root(paths: &[PathBuf], cwd: &Path) -> PathBuf {
    let first = paths
        .first()
        .map(|p| {
            if p.is_absolute() {
                p.clone()
            } else {
                cwd.join(p)
            }
        })
        .unwrap_or_else(|| cwd.to_path_buf());
    for start in [cwd, first.as_path()] {
        if let Some((work_tree, _)) = crate::project::git::find_repository(start) {
            if paths
                .iter()
                .all(|p| normalize(&cwd.join(p)).starts_with(&work_tree))
            {
                return work_tree;
            }
        }
    }
    cwd.to_path_buf()
}

fn display_path(path: &Path, cwd: &Path) -> String {
    let relative = if path.is_absolute() {
        path.strip_prefix(cwd).unwrap_or(path)
    } else {
        path
    };
    let relative = relative.strip_prefix(".").unwrap_or(relative);
    let shown = relative.to_string_lossy().replace('\\', "/");
    if shown.is_empty() {
        ".".to_string()
    } else {
        shown
    }
}

/// Reads a file and extracts its facts (from the cache when its content is unchanged), unless
/// `defer_independent` and the file is judged by itself: then its analysis gives them.
fn read_file(
    path: &Path,
    explicit: bool,
    cwd: &Path,
    config_for: &(dyn Fn(&Path) -> Result<Config, ConfigError> + Sync),
    result_cache: Option<&cache::Cache>,
    defer_independent: bool,
) -> Read {
    let display = display_path(path, cwd);
    let Some(kind) = scan::kind_of(path) else {
        // A file without a telling name is known by its first line, which a file deleted since
        // the walk no longer has.
        if std::fs::symlink_metadata(path).is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound)
        {
            return Read::Vanished;
        }
        return Read::Skipped(format!(
            "{display}: skipped, not a file Preflight reads (Python, env, compose, Dockerfile, shell, requirements, pyproject.toml, Procfile)"
        ));
    };
    if kind.is_checked() {
        let config = match config_for(path) {
            Ok(c) => c,
            Err(e) => return Read::Failed(e.to_string()),
        };
        if !explicit && config.is_excluded(path) {
            return Read::Skipped(format!("{display}: excluded by configuration"));
        }
    }
    let text = match scan::read_text(path) {
        Ok(text) => text,
        Err(scan::Unreadable::Skipped(why)) => return Read::Skipped(format!("{display}: {why}")),
        Err(scan::Unreadable::Vanished) => return Read::Vanished,
        Err(scan::Unreadable::Failed(why)) => return Read::Failed(format!("{display}: {why}")),
    };
    let key = result_cache.and_then(|c| c.key(path, &text));
    if defer_independent && !crate::project::depends_on_other_files(path, kind, &text) {
        return Read::Loaded(Box::new(Loaded {
            path: path.to_path_buf(),
            display,
            kind,
            text,
            facts: None,
            key,
        }));
    }
    let cached = match (result_cache, &key) {
        (Some(c), Some(key)) => c.facts(key),
        _ => None,
    };
    let facts = match cached {
        Some(facts) => facts,
        None => {
            let facts = crate::project::facts::extract(path, kind, &text);
            if let (Some(c), Some(key)) = (result_cache, &key) {
                c.put_facts(key, &facts);
            }
            facts
        }
    };
    Read::Loaded(Box::new(Loaded {
        path: path.to_path_buf(),
        display,
        kind,
        text,
        facts: Some(Arc::new(facts)),
        key,
    }))
}

/// The facts a file's own analysis gave, for the project.
type AnalysedFacts = Option<(PathBuf, FileKind, Arc<FileFacts>)>;

/// Analyses one file (fixing it first with `--fix`). `digest` is the project's when the file is
/// judged inside it, `None` for a file judged by itself, whose facts the analysis then returns.
fn check_file(
    file: Loaded,
    config_for: &(dyn Fn(&Path) -> Result<Config, ConfigError> + Sync),
    args: &CheckArgs,
    project: &Project,
    digest: Option<&str>,
    result_cache: Option<&cache::Cache>,
) -> (Outcome, AnalysedFacts) {
    let Loaded {
        path,
        display,
        kind,
        text,
        facts,
        key,
    } = file;
    let config = match config_for(&path) {
        Ok(c) => c,
        Err(e) => return (Outcome::Failed(e.to_string()), None),
    };
    let filter = config.filter_for(&path);
    // Rules read the path as given (its directories and file name), so its spelling is part of
    // the key along with the file's rule filter and, when it is judged inside it, the project.
    let key = key.map(|k| {
        k.with_config(&format!(
            "{path:?}\n{filter:?}\n{}",
            digest.unwrap_or("on its own")
        ))
    });
    if let (Some(c), Some(key)) = (result_cache, &key) {
        let own_facts = match &facts {
            Some(_) => None,
            None => c.facts(key),
        };
        if facts.is_some() || own_facts.is_some() {
            if let Some(diagnostics) = c.get(key, &text) {
                let analysed = own_facts.map(|f| (path.clone(), kind, Arc::new(f)));
                return (
                    Outcome::Checked(FileResult {
                        path,
                        display,
                        text,
                        diagnostics,
                        fixed: 0,
                    }),
                    analysed,
                );
            }
        }
    }
    let mut text = text;
    let mut fixed = 0;
    let mut facts = facts;
    if args.fix {
        let allow_unsafe = !args.no_unsafe_fixes;
        let (new_text, count) = fix_all(&path, kind, &text, project, &filter, &|d| {
            config.fix_all_applies(d)
                && (allow_unsafe
                    || d.fix
                        .as_ref()
                        .is_some_and(|f| f.applicability == Applicability::Safe))
        });
        if count > 0 {
            if let Err(e) = std::fs::write(&path, &new_text) {
                return (
                    Outcome::Failed(format!("{display}: cannot write fixes: {e}")),
                    None,
                );
            }
            text = new_text;
            fixed = count;
            facts = facts.map(|_| Arc::new(crate::project::facts::extract(&path, kind, &text)));
        }
    }
    let analysis = analyse(
        &Input {
            path: &path,
            text: &text,
            kind,
            tree: None,
            project,
            facts: facts.as_deref(),
        },
        &filter,
    );
    let analysed = analysis.facts.map(Arc::new);
    // A result with notes (a rule that failed) is not kept: the next run tries again and says so.
    if analysis.notes.is_empty() {
        if let (Some(c), Some(key)) = (result_cache, key) {
            if let Some(own) = &analysed {
                c.put_facts(&key, own);
            }
            c.put(key, &analysis.diagnostics);
        }
    }
    for note in analysis.notes {
        eprintln!("preflight: {note}");
    }
    for note in analysis.parse_notes {
        eprintln!("preflight: note: {display}: {note}");
    }
    (
        Outcome::Checked(FileResult {
            path: path.clone(),
            display,
            text,
            diagnostics: analysis.diagnostics,
            fixed,
        }),
        analysed.map(|f| (path, kind, f)),
    )
}

pub enum RulesFormat {
    Text,
    Json,
    Markdown,
}

pub fn rules(format: RulesFormat) -> ExitCode {
    match format {
        RulesFormat::Text => {
            for m in registry::all() {
                println!(
                    "{:<8} {:<8} {:<36} {}",
                    m.id,
                    m.severity.as_str(),
                    m.name,
                    m.summary
                );
            }
        }
        RulesFormat::Json => {
            let list: Vec<serde_json::Value> = registry::all()
                .iter()
                .map(|m| {
                    serde_json::json!({
                        "id": m.id, "name": m.name, "category": m.category, "severity": m.severity,
                        "summary": m.summary, "fix": format!("{:?}", m.fix).to_lowercase(), "fix_on_save": m.fix_on_save,
                    })
                })
                .collect();
            println!(
                "{}",
                serde_json::to_string_pretty(&list).unwrap_or_default()
            );
        }
        RulesFormat::Markdown => print!("{}", rules_markdown_table()),
    }
    ExitCode::SUCCESS
}

/// The rule table the README carries (a test keeps them equal).
pub fn rules_markdown_table() -> String {
    let mut out =
        String::from("| Rule | Name | Severity | Fix | Summary |\n|---|---|---|---|---|\n");
    for m in registry::all() {
        let fix = match m.fix {
            registry::FixAvailability::None => "—",
            registry::FixAvailability::Safe => "on save (safe)",
            registry::FixAvailability::Unsafe if m.fix_on_save => "on save (changes behaviour)",
            registry::FixAvailability::Unsafe => "quick fix only",
        };
        out.push_str(&format!(
            "| {} | `{}` | {} | {} | {} |\n",
            m.id,
            m.name,
            m.severity.as_str(),
            fix,
            m.summary
        ));
    }
    out
}

pub fn explain(rule: &str) -> ExitCode {
    match registry::lookup(rule) {
        Some(meta) => {
            print!("{}", registry::explain(meta));
            ExitCode::SUCCESS
        }
        None => {
            eprintln!("preflight: no rule `{rule}` (see `preflight rules`)");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file the walk listed and that is deleted before it is read is counted, not an error
    /// (a race on a real run is not testable without being flaky: the reader is tested alone).
    #[test]
    fn a_file_deleted_after_the_walk_is_vanished() {
        let dir = std::env::temp_dir().join(format!("preflight-read-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let config_for = |_: &Path| -> Result<Config, ConfigError> {
            Ok(Config::new(dir.clone(), None, Options::default()))
        };
        // By name, and without a telling name (its kind would come from its first line).
        for name in ["settings.py", "entrypoint"] {
            let path = dir.join(name);
            std::fs::write(&path, "#!/bin/sh\nDEBUG=1\n").unwrap();
            assert!(matches!(
                read_file(&path, false, &dir, &config_for, None, true),
                Read::Loaded(_)
            ));
            std::fs::remove_file(&path).unwrap();
            for defer_independent in [true, false] {
                assert!(
                    matches!(
                        read_file(&path, false, &dir, &config_for, None, defer_independent),
                        Read::Vanished
                    ),
                    "{name}"
                );
            }
        }
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(vanished_note(0), None);
        assert_eq!(
            vanished_note(1).as_deref(),
            Some("1 file disappeared while being checked; skipped")
        );
        assert_eq!(
            vanished_note(3).as_deref(),
            Some("3 files disappeared while being checked; skipped")
        );
    }
}
