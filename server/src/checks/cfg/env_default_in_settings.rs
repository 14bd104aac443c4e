//! CFG015 env-default-in-settings: any other environment read with a fallback in a settings
//! module. Information, not a warning: `LOG_LEVEL` defaulting to `INFO` is normal; the hint
//! exists so the fail-fast rewrite is one keystroke away where a value must come from the
//! deployment.

use crate::analysis::env_reads::{fail_fast_fix, EnvApi};
use crate::analysis::{Diagnostic, File, Rule};
use crate::checks::{display_name, has_default, Concern};
use crate::syntax::python::Literal;
use crate::syntax::FileKind;

pub struct EnvDefaultInSettings;

impl Rule for EnvDefaultInSettings {
    fn id(&self) -> &'static str {
        "CFG015"
    }

    fn applies_to(&self, kind: FileKind) -> bool {
        kind == FileKind::Python
    }

    fn may_apply(&self, text: &str) -> bool {
        crate::analysis::env_reads::may_read_env(text)
    }

    fn check(&self, file: &File, out: &mut Vec<Diagnostic>) {
        let Some(py) = file.python else { return };
        if !file.role.settings || file.role.development {
            return;
        }
        for read in &py.env_reads {
            // Pydantic fields and django-environ schemes declare their defaults on purpose.
            if !has_default(read)
                || matches!(
                    read.api,
                    EnvApi::PydanticField | EnvApi::DjangoEnvironScheme
                )
            {
                continue;
            }
            if matches!(read.default_value(), Some(Literal::None)) || read.concern != Concern::Other
            {
                continue;
            }
            let default = read
                .default
                .as_ref()
                .map(|d| short(&file.text[d.range.clone()]))
                .unwrap_or_default();
            let message = format!(
                "`{}` falls back to {default} when unset; if the deployment must provide it, read it fail-fast",
                display_name(read)
            );
            out.push(
                Diagnostic::new(self.id(), read.range.clone(), message)
                    .with_fix(fail_fast_fix(read, py, file.text)),
            );
        }
    }
}

/// The default as written, shortened to one line for the message.
fn short(source: &str) -> String {
    let first = source.lines().next().unwrap_or("");
    if first.len() < source.len() || first.chars().count() > 40 {
        format!("{}…", first.chars().take(40).collect::<String>())
    } else {
        first.to_string()
    }
}
