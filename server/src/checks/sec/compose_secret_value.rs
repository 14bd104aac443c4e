//! SEC010 compose-secret-value: a secret given a literal value, or a `${VAR:-literal}`
//! fallback, in a compose service's `environment:`.

use std::collections::HashSet;

use crate::analysis::{Applicability, Diagnostic, Edit, File, Fix, Rule};
use crate::checks::deploy;
use crate::syntax::compose::{self, EnvVar};
use crate::syntax::FileKind;

pub struct ComposeSecretValue;

impl Rule for ComposeSecretValue {
    fn id(&self) -> &'static str {
        "SEC010"
    }

    fn applies_to(&self, kind: FileKind) -> bool {
        kind == FileKind::Compose
    }

    fn may_apply(&self, text: &str) -> bool {
        text.contains("environment")
    }

    fn check(&self, file: &File, out: &mut Vec<Diagnostic>) {
        let Some(compose) = file.compose else { return };
        let Some(severity) = deploy::severity_of(self.id(), &file.role) else {
            return;
        };
        // A variable shared through an anchor is written once: one finding for it.
        let mut seen = HashSet::new();
        for service in &compose.services {
            for var in &service.environment {
                let Some(value) = &var.value else { continue };
                let Some((message, edit)) = problem(var, value, file.text) else {
                    continue;
                };
                if !seen.insert(var.value_range.clone()) {
                    continue;
                }
                let fix = edit.map(|edit| Fix {
                    title: format!("Require `{}` from the environment", var.name),
                    applicability: Applicability::Unsafe,
                    edits: vec![edit],
                });
                out.push(
                    Diagnostic::new(
                        self.id(),
                        var.value_range.clone(),
                        format!("service `{}`: {message}", service.name),
                    )
                    .with_severity(severity)
                    .with_fix(fix),
                );
            }
        }
    }
}

/// What is wrong with the variable's value, and the edit that makes compose require it instead.
fn problem(var: &EnvVar, value: &str, source: &str) -> Option<(String, Option<Edit>)> {
    let name = &var.name;
    let interpolations = compose::interpolations(value);
    let written = &source[var.value_range.clone()];
    // Offsets inside `value` are offsets in the file when the value is written as it reads.
    let verbatim = written == value
        || (written.len() == value.len() + 2 && written[1..written.len() - 1] == *value);
    let origin = var.value_range.start + usize::from(written.len() != value.len());
    for interpolation in &interpolations {
        let Some(default) = interpolation.default_value() else {
            continue;
        };
        let inner = if interpolation.name == *name || interpolations.len() == 1 {
            name.as_str()
        } else {
            interpolation.name.as_str()
        };
        let secret = deploy::literal_secret(inner, default).or_else(|| {
            deploy::literal_secret(name, default).filter(|_| interpolations.len() == 1)
        });
        let Some(what) = secret else { continue };
        let required = deploy::required(&interpolation.name);
        let edit = if verbatim {
            let range = origin + interpolation.range.start..origin + interpolation.range.end;
            Some(Edit::replace(range, required))
        } else {
            None
        };
        return Some((
            format!(
                "`{name}` falls back to a hard-coded value when `{}` is unset: the fallback {what}; require the variable with `{}`",
                interpolation.name,
                deploy::required(&interpolation.name)
            ),
            edit,
        ));
    }
    let literal = compose::literal_part(value);
    if interpolations.is_empty() {
        let what = deploy::literal_secret(name, &literal)?;
        let required = deploy::required(name);
        let replacement = if var.list_form && !verbatim {
            format!("\"{name}={required}\"")
        } else if var.list_form || var.quoted {
            required.clone()
        } else {
            format!("\"{required}\"")
        };
        let range = if var.list_form && !verbatim {
            var.range.clone()
        } else {
            var.value_range.clone()
        };
        return Some((
            format!(
                "`{name}` {what} in the compose file: everyone who can read the repository has it; pass it from the environment with `{required}`"
            ),
            Some(Edit::replace(range, replacement)),
        ));
    }
    // A password written into an interpolated URL (`postgres://app:secret@${DB_HOST}/app`).
    if crate::analysis::secrets::url_password(value).is_some() {
        return Some((
            format!("`{name}` is a URL with a password written into the compose file"),
            None,
        ));
    }
    None
}
