//! CFG002 allowed-hosts-wildcard: ALLOWED_HOSTS read from the environment with `*` as fallback,
//! or a literal `ALLOWED_HOSTS = ["*"]` / `ALLOWED_HOSTS += ["*"]` in a production settings module.

use super::shared;
use crate::analysis::env_reads::fail_fast_fix;
use crate::analysis::{Applicability, Diagnostic, Edit, File, Fix, PythonFile, Rule};
use crate::checks::{default_entries, display_name, Concern};
use crate::syntax::python;
use crate::syntax::FileKind;

pub struct AllowedHostsWildcard;

impl Rule for AllowedHostsWildcard {
    fn id(&self) -> &'static str {
        "CFG002"
    }

    fn applies_to(&self, kind: FileKind) -> bool {
        kind == FileKind::Python
    }

    fn may_apply(&self, text: &str) -> bool {
        crate::analysis::env_reads::may_read_env(text)
            || shared::line_starts_with(text, "ALLOWED_HOSTS")
    }

    fn check(&self, file: &File, out: &mut Vec<Diagnostic>) {
        let Some(py) = file.python else { return };
        if file.role.development {
            return;
        }
        for read in &py.env_reads {
            let Some(value) = read.default_value() else {
                continue;
            };
            if read.concern != Concern::AllowedHosts
                || !default_entries(value).iter().any(|e| e == "*")
                || file.read_overridden_in_production(read.target.as_deref(), read.range.start)
            {
                continue;
            }
            let message = format!(
                "`{}` falls back to `*`: when the variable is unset, Django accepts any Host header (host-header poisoning of password-reset links and caches)",
                display_name(read)
            );
            out.push(
                Diagnostic::new(self.id(), read.range.clone(), message)
                    .with_fix(fail_fast_fix(read, py, file.text)),
            );
        }
        if file.role.production_settings() && file.text.contains("ALLOWED_HOSTS") {
            literal_wildcard(self.id(), file, py, out);
        }
    }
}

/// Module-level `ALLOWED_HOSTS = ["*"]` (or a list holding `"*"`, or `+=`).
fn literal_wildcard(id: &'static str, file: &File, py: &PythonFile, out: &mut Vec<Diagnostic>) {
    let source = file.text;
    let assignments = shared::module_assignments(py, source, &["ALLOWED_HOSTS"]);
    for (i, a) in assignments.iter().enumerate() {
        if a.name != "ALLOWED_HOSTS" || !(a.operator == "=" || a.operator == "+=") {
            continue;
        }
        let Some(value) = python::literal(a.value, source) else {
            continue;
        };
        if !matches!(value, python::Literal::Seq(_)) || !value.strings().contains(&"*") {
            continue;
        }
        if a.operator == "=" && shared::overridden_later(file, &assignments, i) {
            continue;
        }
        let (environ, import) = shared::os_environ(py, source);
        let mut edits: Vec<Edit> = import.into_iter().collect();
        edits.push(Edit::replace(
            a.value.byte_range(),
            format!(r#"{environ}["DJANGO_ALLOWED_HOSTS"].split(",")"#),
        ));
        out.push(
            Diagnostic::new(
                id,
                a.statement.byte_range(),
                "`ALLOWED_HOSTS` contains `*`: Django accepts any Host header (host-header poisoning of password-reset links and caches)",
            )
            .with_fix(Some(Fix {
                title: "Read ALLOWED_HOSTS from DJANGO_ALLOWED_HOSTS".to_string(),
                applicability: Applicability::Unsafe,
                edits,
            })),
        );
    }
}
