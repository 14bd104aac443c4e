//! CFG006 localhost-in-production-env: a production env file points an origin, URL or host
//! setting at localhost.

use crate::analysis::{Diagnostic, EnvFileRole, File, Rule};
use crate::checks::{is_local_address, name_words};
use crate::syntax::FileKind;

pub struct LocalhostInProductionEnv;

const ADDRESS_WORDS: &[&str] = &[
    "CORS", "ORIGIN", "ORIGINS", "HOSTS", "HOST", "URL", "URLS", "URI", "REDIRECT", "DOMAIN",
    "DOMAINS", "ENDPOINT", "TRUSTED", "CALLBACK", "WEBHOOK", "BASE",
];

impl Rule for LocalhostInProductionEnv {
    fn id(&self) -> &'static str {
        "CFG006"
    }

    fn applies_to(&self, kind: FileKind) -> bool {
        kind == FileKind::DotEnv
    }

    fn check(&self, file: &File, out: &mut Vec<Diagnostic>) {
        if file.role.env != EnvFileRole::Production {
            return;
        }
        let Some(env) = file.dotenv else { return };
        for entry in &env.entries {
            let words = name_words(&entry.key);
            if !words.iter().any(|w| ADDRESS_WORDS.contains(&w.as_str()))
                || !is_local_address(&entry.value)
            {
                continue;
            }
            let message = format!(
                "`{}` points at a local address in a production env file; production clients cannot reach it",
                entry.key
            );
            out.push(Diagnostic::new(
                self.id(),
                entry.value_range.clone(),
                message,
            ));
        }
    }
}
