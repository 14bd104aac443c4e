//! Applying fixes. A fix is offered only when the fixed text still parses (no more syntax errors
//! than before) and the finding it addresses is gone.

use std::ops::Range;
use std::path::Path;

use super::{analyse, Diagnostic, Edit, Input, RuleFilter};
use crate::project::Project;
use crate::syntax::{
    compose, dockerfile, dotenv, procfile, pyproject, python, requirements, shell, FileKind,
};

/// Applies non-overlapping edits (original-text coordinates) to `text`. Edits that overlap an
/// earlier one are skipped; returns the new text and how many edits were applied.
pub fn apply_edits(text: &str, edits: &[&Edit]) -> (String, usize) {
    let mut sorted: Vec<&Edit> = edits.to_vec();
    sorted.sort_by_key(|e| (e.range.start, e.range.end));
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    let mut applied = 0;
    for edit in sorted {
        if edit.range.start < last
            || edit.range.end > text.len()
            || edit.range.start > edit.range.end
        {
            continue;
        }
        out.push_str(&text[last..edit.range.start]);
        out.push_str(&edit.content);
        last = edit.range.end;
        applied += 1;
    }
    out.push_str(&text[last..]);
    (out, applied)
}

/// Does the new text parse at least as well as the old one?
pub fn still_parses(kind: FileKind, before: &str, after: &str) -> bool {
    syntax_errors(kind, after) <= syntax_errors(kind, before)
}

/// How many places of `text` do not parse as `kind`.
pub fn syntax_errors(kind: FileKind, text: &str) -> usize {
    let text = &*kind.lines_as_read(text);
    match kind {
        FileKind::Python => python::error_count(&python::parse(text, None)),
        FileKind::DotEnv => dotenv::parse(text).errors.len(),
        FileKind::Compose => {
            let yaml = compose::parse(text).yaml;
            yaml.errors.len() + usize::from(yaml.truncated)
        }
        FileKind::Dockerfile => dockerfile::parse(text).errors.len(),
        FileKind::Shell => shell::parse(text).errors,
        FileKind::Requirements => requirements::parse(text).errors.len(),
        FileKind::PyProject => usize::from(pyproject::parse(text).error.is_some()),
        FileKind::Procfile => procfile::parse(text).errors.len(),
        FileKind::GitIgnore | FileKind::DockerIgnore | FileKind::LockFile => 0,
    }
}

/// Maps a byte offset of the original text through the edits.
pub fn map_offset(offset: usize, edits: &[&Edit]) -> usize {
    let mut delta: isize = 0;
    for edit in edits {
        if edit.range.end <= offset {
            delta += edit.content.len() as isize - (edit.range.end - edit.range.start) as isize;
        }
    }
    (offset as isize + delta).max(0) as usize
}

/// Checks that `diagnostic`'s fix keeps the file parsing and removes the finding.
pub fn fix_is_valid(
    path: &Path,
    kind: FileKind,
    text: &str,
    project: &Project,
    diagnostic: &Diagnostic,
    filter: &dyn RuleFilter,
) -> bool {
    diagnostic.fix.is_some()
        && fixes_valid_together(path, kind, text, project, filter, &[diagnostic])
}

/// Adds to `accepted` the fixes of `candidates` (non-overlapping, apart from shared insertions)
/// that keep the file parsing and remove their findings: all of them at once when that holds,
/// else each half on its own, down to single fixes.
fn validate_in_halves<'d>(
    path: &Path,
    kind: FileKind,
    text: &str,
    project: &Project,
    filter: &dyn RuleFilter,
    candidates: &[&'d Diagnostic],
    accepted: &mut Vec<&'d Diagnostic>,
) {
    match candidates {
        [] => {}
        [single] => {
            if fix_is_valid(path, kind, text, project, single, filter) {
                accepted.push(single);
            }
        }
        _ => {
            if fixes_valid_together(path, kind, text, project, filter, candidates) {
                accepted.extend_from_slice(candidates);
                return;
            }
            let (first, second) = candidates.split_at(candidates.len() / 2);
            validate_in_halves(path, kind, text, project, filter, first, accepted);
            validate_in_halves(path, kind, text, project, filter, second, accepted);
        }
    }
}

/// Whether the fixes of `candidates`, applied together, keep the file parsing and remove every
/// one of their findings.
fn fixes_valid_together(
    path: &Path,
    kind: FileKind,
    text: &str,
    project: &Project,
    filter: &dyn RuleFilter,
    candidates: &[&Diagnostic],
) -> bool {
    let mut edits: Vec<&Edit> = Vec::new();
    for d in candidates {
        for e in d.fix.iter().flat_map(|f| &f.edits) {
            let shared = e.range.is_empty()
                && edits
                    .iter()
                    .any(|c| c.range == e.range && c.content == e.content);
            if !shared {
                edits.push(e);
            }
        }
    }
    let (fixed, applied) = apply_edits(text, &edits);
    if applied != edits.len() || !still_parses(kind, text, &fixed) {
        return false;
    }
    edits.sort_by_key(|e| (e.range.start, e.range.end));
    let after = analyse(&Input::alone(path, &fixed, kind, project), filter);
    candidates.iter().all(|d| {
        let mapped = map_offset(d.range.start, &edits)..map_offset(d.range.end, &edits);
        !after
            .diagnostics
            .iter()
            .any(|a| a.rule == d.rule && overlaps(&a.range, &mapped))
    })
}

/// Range overlap where an empty range counts as the one byte after it.
fn overlaps(a: &Range<usize>, b: &Range<usize>) -> bool {
    a.start < b.end.max(b.start + 1) && b.start < a.end.max(a.start + 1)
}

/// Applies every fix that `allowed` accepts, repeatedly, until nothing more applies (fixes of
/// one round must not overlap). Returns the new text and the number of fixes applied.
pub fn fix_all(
    path: &Path,
    kind: FileKind,
    text: &str,
    project: &Project,
    filter: &dyn RuleFilter,
    allowed: &dyn Fn(&Diagnostic) -> bool,
) -> (String, usize) {
    let mut current = text.to_string();
    let mut total = 0;
    for _round in 0..10 {
        let analysis = analyse(&Input::alone(path, &current, kind, project), filter);
        let mut chosen: Vec<&Edit> = Vec::new();
        let mut candidates: Vec<&Diagnostic> = Vec::new();
        let mut count = 0;
        let mut covered: Vec<Range<usize>> = Vec::new();
        for d in &analysis.diagnostics {
            let Some(fix) = &d.fix else { continue };
            if !allowed(d) {
                continue;
            }
            // Two fixes that add the same `import os` need it once (and do not overlap for it).
            let new_edits: Vec<&Edit> = fix
                .edits
                .iter()
                .filter(|e| {
                    !(e.range.is_empty()
                        && candidates.iter().any(|c| {
                            c.fix.as_ref().is_some_and(|f| {
                                f.edits
                                    .iter()
                                    .any(|x| x.range == e.range && x.content == e.content)
                            })
                        }))
                })
                .collect();
            if new_edits
                .iter()
                .any(|e| covered.iter().any(|c| overlaps(c, &e.range)))
            {
                continue;
            }
            for e in new_edits {
                covered.push(e.range.clone());
            }
            candidates.push(d);
        }
        // Validated together first (one analysis for the whole round), then in halves where
        // that fails: checking each fix on its own costs an analysis per fix, the square of the
        // file's size for a file with a finding on every line.
        let mut accepted = Vec::new();
        validate_in_halves(
            path,
            kind,
            &current,
            project,
            filter,
            &candidates,
            &mut accepted,
        );
        for d in &accepted {
            let Some(fix) = &d.fix else { continue };
            for e in &fix.edits {
                let already = e.range.is_empty()
                    && chosen
                        .iter()
                        .any(|c| c.range == e.range && c.content == e.content);
                if !already {
                    chosen.push(e);
                }
            }
            count += 1;
        }
        if count == 0 {
            break;
        }
        let (next, _) = apply_edits(&current, &chosen);
        if !still_parses(kind, &current, &next) {
            break;
        }
        current = next;
        total += count;
    }
    (current, total)
}
