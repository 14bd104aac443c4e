//! SEC001 secret-env-default: a secret read from the environment with a hard-coded fallback.

use crate::analysis::env_reads::fail_fast_fix;
use crate::analysis::{secrets, Diagnostic, File, Rule, Severity};
use crate::checks::{display_name, Concern};
use crate::syntax::python::Literal;
use crate::syntax::FileKind;

pub struct SecretEnvDefault;

impl Rule for SecretEnvDefault {
    fn id(&self) -> &'static str {
        "SEC001"
    }

    fn applies_to(&self, kind: FileKind) -> bool {
        kind == FileKind::Python
    }

    fn may_apply(&self, text: &str) -> bool {
        crate::analysis::env_reads::may_read_env(text)
    }

    fn check(&self, file: &File, out: &mut Vec<Diagnostic>) {
        let Some(py) = file.python else { return };
        for read in &py.env_reads {
            // `""` and `None` make start-up fail or the feature stay off: not a usable secret.
            let Some(Literal::Str(value)) = read.default_value() else {
                continue;
            };
            if value.is_empty() || read.concern != Concern::Secret {
                continue;
            }
            // `ENABLE_X = os.getenv(..., "false") == "true"` is a switch, not a secret.
            if read.comparison.is_some() || read.parsed_bool || secrets::is_switch_or_number(value)
            {
                continue;
            }
            let name = display_name(read);
            let what = if let Some(token) = secrets::known_token(value) {
                format!(" (the fallback is {token})")
            } else if secrets::url_password(value).is_some() {
                " (the fallback URL carries a password)".to_string()
            } else {
                String::new()
            };
            let message = format!(
                "`{name}` falls back to a hard-coded secret{what}: when the variable is unset, production runs with a value that is in the source code"
            );
            let mut diagnostic = Diagnostic::new(self.id(), read.range.clone(), message)
                .with_fix(fail_fast_fix(read, py, file.text));
            if file.role.development {
                // Test and development settings use throwaway secrets on purpose.
                diagnostic = diagnostic.with_severity(Severity::Hint);
            }
            out.push(diagnostic);
        }
    }
}
