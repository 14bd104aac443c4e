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

use std::ops::Range;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use serde::{Deserialize, Serialize};
use tree_sitter::Tree;

use crate::checks;
use crate::syntax::{dotenv, python, FileKind};
pub use context::{EnvFileRole, File, ModuleRole, PythonFile};

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
}

#[derive(Debug, Default)]
pub struct Analysis {
    pub diagnostics: Vec<Diagnostic>,
    /// Problems analysing the file that the user should hear about (a rule that failed).
    pub notes: Vec<String>,
}

/// Analyses one file. Pure: the same input always gives the same diagnostics, sorted by position.
pub fn analyse(input: &Input, filter: &dyn RuleFilter) -> Analysis {
    let owned_tree;
    let python_file;
    let dotenv_file;
    // The rules that may find something here, decided once from the text: when there are none,
    // the file is not even parsed (most files of a project have nothing for most rules).
    let rules: Vec<&dyn Rule> = checks::all()
        .iter()
        .copied()
        .filter(|r| r.applies_to(input.kind) && filter.enabled(r.id()) && r.may_apply(input.text))
        .collect();
    if rules.is_empty() {
        return Analysis::default();
    }
    let file = match input.kind {
        FileKind::Python => {
            let tree = match input.tree {
                Some(tree) => tree,
                None => {
                    owned_tree = python::parse(input.text, None);
                    &owned_tree
                }
            };
            python_file = PythonFile::new(tree, input.text);
            File::python(input.path, input.text, &python_file)
        }
        FileKind::DotEnv => {
            dotenv_file = dotenv::parse(input.text);
            File::dotenv(input.path, input.text, &dotenv_file)
        }
    };
    run_rules(&file, &rules, filter)
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
                let why = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".to_string());
                analysis.notes.push(format!(
                    "rule {} failed on {}: {why}; its findings are missing",
                    rule.id(),
                    file.path.display()
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
