//! CFG004 dev-default-for-deploy-setting: CORS / CSRF trusted origins read from the environment
//! with localhost or `*` as fallback.

use crate::analysis::env_reads::fail_fast_fix;
use crate::analysis::{Diagnostic, File, Rule};
use crate::checks::{default_entries, display_name, is_local_address, Concern};
use crate::syntax::FileKind;

pub struct DevDefaultForDeploySetting;

impl Rule for DevDefaultForDeploySetting {
    fn id(&self) -> &'static str {
        "CFG004"
    }

    fn applies_to(&self, kind: FileKind) -> bool {
        kind == FileKind::Python
    }

    fn may_apply(&self, text: &str) -> bool {
        crate::analysis::env_reads::may_read_env(text)
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
            if read.concern != Concern::CorsOrigins {
                continue;
            }
            let entries = default_entries(value);
            let Some(bad) = entries.iter().find(|e| *e == "*" || is_local_address(e)) else {
                continue;
            };
            let consequence = if bad == "*" {
                "any website can call the API from a browser"
            } else {
                "production trusts a developer machine's origin and rejects the real front end"
            };
            let message = format!(
                "`{}` falls back to `{bad}`: when the variable is unset, {consequence}",
                display_name(read)
            );
            out.push(
                Diagnostic::new(self.id(), read.range.clone(), message)
                    .with_fix(fail_fast_fix(read, py, file.text)),
            );
        }
    }
}
