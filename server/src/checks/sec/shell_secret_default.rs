//! SEC012 shell-secret-default: a script that sets a secret to a literal (`export
//! SECRET_KEY=...`) or gives it a default (`${DB_PASSWORD:-postgres}`).

use std::collections::HashSet;

use crate::analysis::{Applicability, Diagnostic, Edit, File, Fix, Rule};
use crate::checks::deploy;
use crate::syntax::FileKind;

pub struct ShellSecretDefault;

impl Rule for ShellSecretDefault {
    fn id(&self) -> &'static str {
        "SEC012"
    }

    fn applies_to(&self, kind: FileKind) -> bool {
        kind == FileKind::Shell
    }

    fn check(&self, file: &File, out: &mut Vec<Diagnostic>) {
        let Some(script) = file.shell else { return };
        let Some(rule_severity) = deploy::catalog_severity(self.id()) else {
            return;
        };
        let severity = if file.role.entrypoint && !file.role.development {
            Some(rule_severity)
        } else {
            deploy::severity_in(&file.role, rule_severity)
        };
        let Some(severity) = severity else { return };
        let mut reported: HashSet<usize> = HashSet::new();
        for expansion in &script.expansions {
            if !expansion.gives_default() {
                continue;
            }
            let Some(default) = &expansion.default else {
                continue;
            };
            if default.text.contains('$') {
                continue; // a default from another variable or a command
            }
            let Some(what) = deploy::literal_secret(&expansion.name, &default.text) else {
                continue;
            };
            if !reported.insert(expansion.range.start) {
                continue;
            }
            let required = deploy::required(&expansion.name);
            out.push(
                Diagnostic::new(
                    self.id(),
                    default.range.clone(),
                    format!(
                        "`{}` falls back to a hard-coded value: the fallback {what}; a deployment that forgets the variable runs with it. Require it with `{required}`",
                        expansion.name
                    ),
                )
                .with_severity(severity)
                .with_fix(Some(Fix {
                    title: format!("Require `{}` from the environment", expansion.name),
                    applicability: Applicability::Unsafe,
                    edits: vec![Edit::replace(expansion.range.clone(), required)],
                })),
            );
        }
        for assignment in &script.assignments {
            let Some(value) = &assignment.value else {
                continue;
            };
            // `X=$(cat /run/secrets/x)`, `X="$Y"`: not a literal.
            if value.text.contains('$') || value.text.contains('`') {
                continue;
            }
            let Some(what) = deploy::literal_secret(&assignment.name, &value.text) else {
                continue;
            };
            let required = deploy::required(&assignment.name);
            let verb = if assignment.exported {
                "exports"
            } else {
                "sets"
            };
            out.push(
                Diagnostic::new(
                    self.id(),
                    value.range.clone(),
                    format!(
                        "the script {verb} `{}`, which {what}: everyone who can read the repository has it; take it from the environment with `\"{required}\"`",
                        assignment.name
                    ),
                )
                .with_severity(severity)
                .with_fix(Some(Fix {
                    title: format!("Require `{}` from the environment", assignment.name),
                    applicability: Applicability::Unsafe,
                    edits: vec![Edit::replace(value.range.clone(), format!("\"{required}\""))],
                })),
            );
        }
    }
}
