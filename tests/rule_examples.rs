//! Every rule's examples from rules/*.toml run as tests: bad -> finding, good -> none, and every
//! fix removes its finding and leaves code that still parses.

use std::collections::BTreeSet;
use std::path::Path;

use preflight::analysis::fix::{apply_edits, fix_is_valid, still_parses};
use preflight::analysis::registry::{self, ExampleKind, FixAvailability};
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
