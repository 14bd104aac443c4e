//! Every rule's examples from rules/*.toml run as tests: bad -> finding, good -> none, and every
//! fix removes its finding and leaves code that still parses.

use std::collections::BTreeSet;
use std::path::Path;

use preflight::analysis::fix::{apply_edits, fix_is_valid, still_parses};
use preflight::analysis::registry::{self, Example, ExampleFile, ExampleKind, FixAvailability};
use preflight::analysis::{analyse, AllRules, Applicability, Input};
use preflight::checks;
use preflight::syntax::FileKind;

#[test]
fn every_rule_has_a_catalog_entry_and_every_entry_a_rule() {
    let implemented: BTreeSet<&str> = checks::all().iter().map(|r| r.id()).collect();
    let documented: BTreeSet<&str> = registry::all().iter().map(|m| m.id.as_str()).collect();
    assert_eq!(implemented, documented);
    for meta in registry::all() {
        assert!(
            meta.examples.iter().any(|e| e.kind == ExampleKind::Bad),
            "{} has no bad example",
            meta.id
        );
        assert!(
            meta.examples.iter().any(|e| e.kind == ExampleKind::Good),
            "{} has no good example",
            meta.id
        );
        for text in [
            &meta.docs.what,
            &meta.docs.why,
            &meta.docs.example,
            &meta.docs.fix,
            &meta.summary,
        ] {
            assert!(!text.trim().is_empty(), "{} has empty docs", meta.id);
        }
    }
}

#[test]
fn rule_examples() {
    let mut failures = Vec::new();
    let mut checked = 0;
    for meta in registry::all() {
        let mut fixes_seen = 0;
        for (n, example) in meta.examples.iter().enumerate() {
            checked += 1;
            let label = format!(
                "{} example #{} ({:?}, {})",
                meta.id,
                n + 1,
                example.kind,
                example.path
            );
            let path = Path::new(&example.path);
            let Some(kind) = FileKind::from_path_and_head(path, example.code.as_bytes()) else {
                failures.push(format!("{label}: path has no known file kind"));
                continue;
            };
            let text = example.code.as_str();
            let project = example.project();
            let analysis = analyse(&Input::alone(path, text, kind, &project), &AllRules);
            assert!(analysis.notes.is_empty(), "{label}: {:?}", analysis.notes);
            let findings: Vec<_> = analysis
                .diagnostics
                .iter()
                .filter(|d| d.rule == meta.id)
                .collect();
            match example.kind {
                ExampleKind::Good => {
                    if !findings.is_empty() {
                        failures.push(format!("{label}: expected no finding, got {findings:#?}"));
                    }
                }
                ExampleKind::Bad => {
                    let expected = example.findings.unwrap_or(1);
                    if findings.len() != expected {
                        failures.push(format!(
                            "{label}: expected {expected} finding(s), got {findings:#?}"
                        ));
                    }
                    for finding in &findings {
                        let severity = example.severity.unwrap_or(meta.severity);
                        if finding.severity != severity {
                            failures.push(format!(
                                "{label}: severity {:?}, expected {severity:?}",
                                finding.severity
                            ));
                        }
                        if let Some(needle) = &example.message {
                            if !finding.message.contains(needle.as_str()) {
                                failures.push(format!(
                                    "{label}: message {:?} lacks {needle:?}",
                                    finding.message
                                ));
                            }
                        }
                        let Some(fix) = &finding.fix else {
                            if meta.fix != FixAvailability::None {
                                failures.push(format!(
                                    "{label}: rule offers fixes but this finding has none"
                                ));
                            }
                            continue;
                        };
                        fixes_seen += 1;
                        let expected_applicability = match meta.fix {
                            FixAvailability::Safe => Applicability::Safe,
                            FixAvailability::Unsafe => Applicability::Unsafe,
                            FixAvailability::None => {
                                failures.push(format!("{label}: rule says no fix but emitted one"));
                                continue;
                            }
                        };
                        if fix.applicability != expected_applicability {
                            failures.push(format!(
                                "{label}: fix applicability {:?}",
                                fix.applicability
                            ));
                        }
                        let edits: Vec<_> = fix.edits.iter().collect();
                        let (fixed, _) = apply_edits(text, &edits);
                        if !still_parses(kind, text, &fixed) {
                            failures.push(format!("{label}: fixed code does not parse:\n{fixed}"));
                        }
                        if !fix_is_valid(path, kind, text, &project, finding, &AllRules) {
                            failures.push(format!(
                                "{label}: fix does not remove the finding:\n{fixed}"
                            ));
                        }
                    }
                }
            }
        }
        if meta.fix != FixAvailability::None && fixes_seen == 0 {
            failures.push(format!("{}: no bad example exercises the fix", meta.id));
        }
    }
    assert!(checked > 0);
    assert!(
        failures.is_empty(),
        "{} failure(s):\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// The example's text with every line ending a lone `\r` (classic Mac OS), for the kinds whose
/// readers take a lone `\r` as a line break; the other kinds keep their text (`pyproject.toml`
/// does not allow one, and git and Docker read ignore files by `\n`).
fn with_cr_line_endings(path: &str, code: &str) -> String {
    match FileKind::from_path_and_head(Path::new(path), code.as_bytes()) {
        Some(kind) if kind.has_universal_newlines() => code.replace('\n', "\r"),
        _ => code.to_string(),
    }
}

/// A file whose lines end with a lone `\r` reads as the same file with `\n` endings: every
/// example, its neighbours converted too, gives the same findings at the same byte ranges (the
/// conversion keeps every offset), and its fixes write `\r` line breaks.
#[test]
fn rule_examples_with_cr_line_endings_give_the_same_findings() {
    let mut failures = Vec::new();
    let mut compared = 0;
    for meta in registry::all() {
        for (n, example) in meta.examples.iter().enumerate() {
            let label = format!("{} example #{} ({})", meta.id, n + 1, example.path);
            let path = Path::new(&example.path);
            let Some(kind) = FileKind::from_path_and_head(path, example.code.as_bytes()) else {
                continue;
            };
            if !kind.has_universal_newlines() || !example.code.contains('\n') {
                continue;
            }
            let cr_example = Example {
                kind: example.kind,
                path: example.path.clone(),
                code: with_cr_line_endings(&example.path, &example.code),
                findings: example.findings,
                message: example.message.clone(),
                severity: example.severity,
                files: example
                    .files
                    .iter()
                    .map(|f| ExampleFile {
                        path: f.path.clone(),
                        code: with_cr_line_endings(&f.path, &f.code),
                    })
                    .collect(),
                tracked: example.tracked.clone(),
            };
            let lf_project = example.project();
            let cr_project = cr_example.project();
            let lf = analyse(
                &Input::alone(path, &example.code, kind, &lf_project),
                &AllRules,
            );
            let cr = analyse(
                &Input::alone(path, &cr_example.code, kind, &cr_project),
                &AllRules,
            );
            compared += 1;
            let summary = |d: &preflight::analysis::Diagnostic| {
                (d.rule, d.range.clone(), d.message.clone(), d.fix.is_some())
            };
            let lf_found: Vec<_> = lf.diagnostics.iter().map(summary).collect();
            let cr_found: Vec<_> = cr.diagnostics.iter().map(summary).collect();
            if lf_found != cr_found {
                failures.push(format!(
                    "{label}: findings differ\n  LF: {lf_found:?}\n  CR: {cr_found:?}"
                ));
                continue;
            }
            for (lf_d, cr_d) in lf.diagnostics.iter().zip(&cr.diagnostics) {
                let (Some(lf_fix), Some(cr_fix)) = (&lf_d.fix, &cr_d.fix) else {
                    continue;
                };
                let (lf_fixed, _) =
                    apply_edits(&example.code, &lf_fix.edits.iter().collect::<Vec<_>>());
                let (cr_fixed, _) =
                    apply_edits(&cr_example.code, &cr_fix.edits.iter().collect::<Vec<_>>());
                if cr_fixed.contains('\n') || cr_fixed != lf_fixed.replace('\n', "\r") {
                    failures.push(format!(
                        "{label}: {} fix writes other text\n  LF: {lf_fixed:?}\n  CR: {cr_fixed:?}",
                        lf_d.rule
                    ));
                }
            }
        }
    }
    assert!(compared > 50, "only {compared} examples compared");
    assert!(
        failures.is_empty(),
        "{} failure(s):\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
