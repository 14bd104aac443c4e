//! CFG002 allowed-hosts-wildcard: ALLOWED_HOSTS read from the environment with `*` as fallback.

use crate::analysis::env_reads::fail_fast_fix;
use crate::analysis::{Diagnostic, File, Rule};
use crate::checks::{default_entries, display_name, Concern};
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
    }

    fn check(&self, file: &File, out: &mut Vec<Diagnostic>) {
        let Some(py) = file.python else { return };
        if file.module.development {
            return;
        }
        for read in &py.env_reads {
            let Some(value) = read.default_value() else {
                continue;
            };
            if read.concern != Concern::AllowedHosts
                || !default_entries(value).iter().any(|e| e == "*")
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
    }
}
