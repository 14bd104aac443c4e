//! The engine: diagnostics, fixes, the rule registry and the one pure analysis function that the
//! language server and the command line share.

pub mod concern;
pub mod context;
pub mod env_reads;
pub mod fix;
pub mod registry;
pub mod secrets;
pub mod suppression;
#[cfg(test)]
pub mod testing;

use std::borrow::Cow;
use std::ops::Range;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use serde::{Deserialize, Serialize};
use tree_sitter::Tree;

use crate::checks;
use crate::project::{facts, FileFacts, Project};
use crate::syntax::{
    compose, dockerfile, dotenv, procfile, pyproject, python, requirements, shell, FileKind,
};
use crate::text::restore_line_breaks;
pub use context::{EnvFileRole, File, Parsed, PythonFile};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Hint,
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Hint => "hint",
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// Whether applying a fix keeps the program's meaning (`safe`) or changes behaviour on purpose
/// (`unsafe`: `os.getenv("JWT_SECRET", "dev")` -> `os.environ["JWT_SECRET"]` now raises when the
/// variable is unset, which is the point).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Applicability {
    Safe,
    Unsafe,
}

/// Replace `range` (bytes of the original text) with `content`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edit {
    pub range: Range<usize>,
    pub content: String,
}

impl Edit {
    pub fn replace(range: Range<usize>, content: impl Into<String>) -> Edit {
        Edit {
            range,
            content: content.into(),
        }
    }
    pub fn delete(range: Range<usize>) -> Edit {
        Edit {
            range,
            content: String::new(),
        }
    }
    pub fn insert(at: usize, content: impl Into<String>) -> Edit {
        Edit {
            range: at..at,
            content: content.into(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fix {
    pub title: String,
    pub applicability: Applicability,
    /// Non-overlapping, sorted by start.
    pub edits: Vec<Edit>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub rule: &'static str,
    pub severity: Severity,
    pub message: String,
    pub range: Range<usize>,
    pub fix: Option<Fix>,
}

impl Diagnostic {
    /// A finding of `rule` with the severity its catalog entry gives.
    pub fn new(rule: &'static str, range: Range<usize>, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            rule,
            severity: registry::meta(rule)
                .map(|m| m.severity)
                .unwrap_or(Severity::Warning),
            message: message.into(),
            range,
            fix: None,
        }
    }

    pub fn with_fix(mut self, fix: Option<Fix>) -> Diagnostic {
        self.fix = fix;
        self
    }

    pub fn with_severity(mut self, severity: Severity) -> Diagnostic {
        self.severity = severity;
        self
    }
}

/// A rule: one per file under `checks/`, documented by `rules/<ID>.toml`.
pub trait Rule: Send + Sync {
    fn id(&self) -> &'static str;
    fn applies_to(&self, kind: FileKind) -> bool;
    fn check(&self, file: &File, out: &mut Vec<Diagnostic>);
    /// A cheap test on the raw text: `false` when the rule cannot find anything in it, so a file
    /// no rule wants is not even parsed (most files of a project have no environment reads).
    fn may_apply(&self, _text: &str) -> bool {
        true
    }
}

/// Which rules run and how their severities read, resolved for one file from the configuration.
pub trait RuleFilter {
    fn enabled(&self, rule: &str) -> bool;
    fn severity(&self, rule: &str, default: Severity) -> Severity;
}

/// Every rule on, catalog severities.
pub struct AllRules;

impl RuleFilter for AllRules {
    fn enabled(&self, _rule: &str) -> bool {
        true
    }
    fn severity(&self, _rule: &str, default: Severity) -> Severity {
        default
    }
}

pub struct Input<'a> {
    pub path: &'a Path,
    pub text: &'a str,
    pub kind: FileKind,
    /// An up-to-date parse of `text` when the caller keeps one (the language server does).
    pub tree: Option<&'a Tree>,
    /// The project the file belongs to.
    pub project: &'a Project,
    /// The facts of `text` when the caller already has them (the command line extracts them
    /// before it builds the project); computed here otherwise.
    pub facts: Option<&'a FileFacts>,
}

impl<'a> Input<'a> {
    /// A file analysed on its own: the project holds just this file.
    pub fn alone(path: &'a Path, text: &'a str, kind: FileKind, project: &'a Project) -> Input<'a> {
        Input {
            path,
            text,
            kind,
            tree: None,
            project,
            facts: None,
        }
    }
}

#[derive(Debug, Default)]
pub struct Analysis {
    pub diagnostics: Vec<Diagnostic>,
    /// Problems analysing the file that the user should hear about (a rule that failed).
    pub notes: Vec<String>,
    /// Why parts of the file were not checked (it does not parse there), without the path: for
    /// logs and the command line's notes, not pop-ups.
    pub parse_notes: Vec<String>,
    /// The facts of the text, when they were not given.
    pub facts: Option<FileFacts>,
}

/// Analyses one file. Pure: the same input always gives the same diagnostics, sorted by position.
pub fn analyse(input: &Input, filter: &dyn RuleFilter) -> Analysis {
    // Rules read a file with lone `\r` line breaks as its readers do, with `\n` there (the
    // given tree is a parse of that copy already); offsets are the same in both texts, and what
    // the fixes insert breaks its lines as the file does.
    let read = input.kind.lines_as_read(input.text);
    let mut analysis = analyse_as_read(
        &Input {
            text: &read,
            ..*input
        },
        filter,
    );
    if matches!(read, Cow::Owned(_)) {
        for edit in analysis
            .diagnostics
            .iter_mut()
            .filter_map(|d| d.fix.as_mut())
            .flat_map(|fix| fix.edits.iter_mut())
        {
            edit.content = restore_line_breaks(input.text, std::mem::take(&mut edit.content));
        }
    }
    analysis
}

/// [`analyse`] of a text whose line breaks are as its readers see them.
fn analyse_as_read(input: &Input, filter: &dyn RuleFilter) -> Analysis {
    // The rules that may find something here, decided once from the text: when there are none,
    // a Python file is not even parsed (most files of a project have nothing for most rules).
    let rules: Vec<&dyn Rule> = checks::all()
        .iter()
        .copied()
        .filter(|r| r.applies_to(input.kind) && filter.enabled(r.id()) && r.may_apply(input.text))
        .collect();
    let mut analysis = Analysis::default();
    let wants_facts = input.facts.is_none();
    let parse_python = input.kind == FileKind::Python
        && (!rules.is_empty()
            || (wants_facts && facts::python_needs_parse(input.path, input.text)));
    if input.kind == FileKind::Python && !parse_python {
        if wants_facts {
            analysis.facts = Some(FileFacts::default());
        }
        return analysis;
    }
    // Reading the file is outside the rules' own guard: a reader bug must not take the run or
    // the server down either.
    let read = catch_unwind(AssertUnwindSafe(|| {
        with_parsed(input, wants_facts, |file, parse_notes| {
            let ran = if !file.role.tooling && !rules.is_empty() {
                run_rules(file, &rules, filter)
            } else {
                Analysis::default()
            };
            (ran.diagnostics, ran.notes, parse_notes)
        })
    }));
    let ((diagnostics, notes, parse_notes), computed) = match read {
        Ok(read) => read,
        Err(panic) => {
            analysis.notes.push(format!(
                "reading {} failed: {}; it was not checked",
                input.path.display(),
                panic_text(&*panic)
            ));
            if wants_facts {
                analysis.facts = Some(FileFacts::default());
            }
            return analysis;
        }
    };
    analysis.diagnostics = diagnostics;
    analysis.notes = notes;
    analysis.parse_notes = parse_notes;
    analysis.facts = computed;
    analysis
}

static NO_FACTS: FileFacts = FileFacts {
    env_reads: Vec::new(),
    env_sets: Vec::new(),
    python: None,
    services: Vec::new(),
    dockerfile: None,
    commands: Vec::new(),
    includes: Vec::new(),
    requirements: Vec::new(),
    requirements_locked: false,
    dependency_groups: Vec::new(),
    ignore_patterns: Vec::new(),
    settings_modules: Vec::new(),
};

/// The edit that silences `rule` for the finding starting at `at` (a code action's), made from
/// the file as the rules read it.
pub fn suppression_edit_of(input: &Input, at: usize, rule: &str) -> Edit {
    let read = input.kind.lines_as_read(input.text);
    let as_read = Input {
        text: &read,
        ..*input
    };
    let edit = with_parsed(&as_read, input.facts.is_none(), |file, _| {
        suppression::suppression_edit(file, at, rule)
    })
    .0;
    Edit {
        content: restore_line_breaks(input.text, edit.content),
        ..edit
    }
}

/// Hands `f` the file as rules see it, with its parse and its facts (the given ones, or those
/// computed here when `wants_facts`), and the notes on what did not parse.
fn on_file<'a, R>(
    input: &Input<'a>,
    parsed: Parsed<'a>,
    computed: Option<&'a FileFacts>,
    parse_notes: Vec<String>,
    f: impl FnOnce(&File, Vec<String>) -> R,
) -> R {
    let own = input.facts.or(computed).unwrap_or(&NO_FACTS);
    let file = File::new(
        input.path,
        input.text,
        input.kind,
        parsed,
        input.project,
        own,
    );
    f(&file, parse_notes)
}

/// Parses the input by its kind and runs `f` on the file (see [`on_file`]).
fn with_parsed<R>(
    input: &Input,
    wants_facts: bool,
    f: impl FnOnce(&File, Vec<String>) -> R,
) -> (R, Option<FileFacts>) {
    let mut parse_notes = Vec::new();
    match input.kind {
        FileKind::Python => {
            let owned_tree;
            let tree = match input.tree {
                Some(tree) => tree,
                None => {
                    owned_tree = python::parse(input.text, None);
                    &owned_tree
                }
            };
            let python_file = PythonFile::new(tree, input.text);
            let computed = wants_facts.then(|| {
                if facts::python_needs_parse(input.path, input.text) {
                    facts::python(input.path, input.text, Some(&python_file))
                } else {
                    FileFacts::default()
                }
            });
            (
                on_file(
                    input,
                    Parsed::Python(&python_file),
                    computed.as_ref(),
                    parse_notes,
                    f,
                ),
                computed,
            )
        }
        FileKind::DotEnv => {
            let parsed = dotenv::parse(input.text);
            let computed = wants_facts.then(|| facts::dotenv(&parsed));
            (
                on_file(
                    input,
                    Parsed::DotEnv(&parsed),
                    computed.as_ref(),
                    parse_notes,
                    f,
                ),
                computed,
            )
        }
        FileKind::Compose => {
            let yaml = match input.tree {
                Some(tree) => crate::syntax::yaml::from_tree(tree, input.text),
                None => crate::syntax::yaml::parse(input.text),
            };
            let parsed = compose::from_yaml(yaml, input.text);
            note_yaml_problems(&parsed.yaml, &mut parse_notes);
            let computed = wants_facts.then(|| facts::compose(&parsed, input.text));
            (
                on_file(
                    input,
                    Parsed::Compose(&parsed),
                    computed.as_ref(),
                    parse_notes,
                    f,
                ),
                computed,
            )
        }
        FileKind::Dockerfile => {
            let parsed = dockerfile::parse(input.text);
            if let Some(error) = parsed.errors.first() {
                parse_notes.push(format!(
                    "line {} is not a Dockerfile instruction; it was not checked",
                    line_of(input.text, error.start)
                ));
            }
            let computed = wants_facts.then(|| facts::dockerfile(&parsed));
            (
                on_file(
                    input,
                    Parsed::Dockerfile(&parsed),
                    computed.as_ref(),
                    parse_notes,
                    f,
                ),
                computed,
            )
        }
        FileKind::Shell => {
            let parsed = match input.tree {
                Some(tree) => shell::read(tree, input.text),
                None => shell::parse(input.text),
            };
            let computed = wants_facts.then(|| facts::shell(&parsed));
            (
                on_file(
                    input,
                    Parsed::Shell(&parsed),
                    computed.as_ref(),
                    parse_notes,
                    f,
                ),
                computed,
            )
        }
        FileKind::Requirements => {
            let parsed = requirements::parse(input.text);
            let computed = wants_facts.then(|| facts::requirements(&parsed));
            (
                on_file(
                    input,
                    Parsed::Requirements(&parsed),
                    computed.as_ref(),
                    parse_notes,
                    f,
                ),
                computed,
            )
        }
        FileKind::PyProject => {
            let parsed = pyproject::parse(input.text);
            let computed = wants_facts.then(|| facts::pyproject(&parsed));
            (
                on_file(
                    input,
                    Parsed::PyProject(&parsed),
                    computed.as_ref(),
                    parse_notes,
                    f,
                ),
                computed,
            )
        }
        FileKind::Procfile => {
            let parsed = procfile::parse(input.text);
            let computed = wants_facts.then(|| facts::procfile(&parsed));
            (
                on_file(
                    input,
                    Parsed::Procfile(&parsed),
                    computed.as_ref(),
                    parse_notes,
                    f,
                ),
                computed,
            )
        }
        FileKind::GitIgnore | FileKind::DockerIgnore | FileKind::LockFile => {
            let computed = wants_facts.then(|| facts::extract(input.path, input.kind, input.text));
            (
                on_file(input, Parsed::None, computed.as_ref(), parse_notes, f),
                computed,
            )
        }
    }
}

fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_string())
}

/// 1-based line of a byte offset.
fn line_of(text: &str, at: usize) -> usize {
    text.as_bytes()[..at.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

fn note_yaml_problems(yaml: &crate::syntax::yaml::Yaml, notes: &mut Vec<String>) {
    match yaml.first_bad_line {
        Some(line) if line > crate::syntax::yaml::MAX_LINES => notes.push(format!(
            "the YAML reader stops at line {}: lines {line} and after were not checked",
            crate::syntax::yaml::MAX_LINES
        )),
        Some(line) => notes.push(format!(
            "not valid YAML from line {line}; only what parses was checked"
        )),
        None => {}
    }
    if yaml.truncated {
        notes.push(
            "nesting or alias expansion beyond the reader's limits was not checked".to_string(),
        );
    }
}

fn run_rules(file: &File, rules: &[&dyn Rule], filter: &dyn RuleFilter) -> Analysis {
    let mut analysis = Analysis::default();
    for rule in rules {
        let mut found = Vec::new();
        // A rule cannot take the server down: a panic is contained and reported, and the other
        // rules' results still count.
        let outcome = catch_unwind(AssertUnwindSafe(|| rule.check(file, &mut found)));
        match outcome {
            Ok(()) => analysis.diagnostics.extend(found),
            Err(panic) => {
                analysis.notes.push(format!(
                    "rule {} failed on {}: {}; its findings are missing",
                    rule.id(),
                    file.path.display(),
                    panic_text(&*panic)
                ));
            }
        }
    }
    let suppressions = suppression::Suppressions::scan(file);
    analysis
        .diagnostics
        .retain(|d| !suppressions.suppresses(d) && !suppression::acknowledged_by_peer(file, d));
    for d in &mut analysis.diagnostics {
        d.severity = filter.severity(d.rule, d.severity);
    }
    analysis.diagnostics.sort_by(|a, b| {
        (a.range.start, a.range.end, a.rule).cmp(&(b.range.start, b.range.end, b.rule))
    });
    analysis
}
