//! What the rule tests share: analyse a Python snippet as if it stood at a path, with every rule
//! on, and keep the findings of the one rule under test.

use std::path::Path;

use super::{analyse, AllRules, Diagnostic, Input};
use crate::project::Project;
use crate::syntax::FileKind;

/// The findings of `rule` in `source`, analysed as the Python file at `path` (a project of that
/// file alone).
pub fn diagnostics_of(rule: &str, path: &str, source: &str) -> Vec<Diagnostic> {
    let path = Path::new(path);
    let project = Project::of_files(None, [(path, FileKind::Python, source)]);
    analyse(
        &Input::alone(path, source, FileKind::Python, &project),
        &AllRules,
    )
    .diagnostics
    .into_iter()
    .filter(|d| d.rule == rule)
    .collect()
}

/// The source text of each finding of `rule` in `source`, analysed as the Python file at `path`.
pub fn findings_of(rule: &str, path: &str, source: &str) -> Vec<String> {
    diagnostics_of(rule, path, source)
        .into_iter()
        .map(|d| source[d.range].to_string())
        .collect()
}
