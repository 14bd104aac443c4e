//! SEC008 env-file-secret: a real credential in an env file: a known token format, a URL with a
//! password, or a random-looking value under a secret-like key. Placeholders are not findings,
//! and example files (`.env.example`) are only checked for real token formats.

use crate::analysis::{secrets, Diagnostic, EnvFileRole, File, Rule, Severity};
use crate::checks::deploy;
use crate::syntax::dotenv::DotEnv;
use crate::syntax::FileKind;

pub struct EnvFileSecret;

impl Rule for EnvFileSecret {
    fn id(&self) -> &'static str {
        "SEC008"
    }

    fn applies_to(&self, kind: FileKind) -> bool {
        kind == FileKind::DotEnv
    }

    fn check(&self, file: &File, out: &mut Vec<Diagnostic>) {
        let Some(env) = file.dotenv else { return };
        for entry in &env.entries {
            let value = entry.value.trim();
            if value.is_empty() {
                continue;
            }
            let finding = if let Some(token) = secrets::known_token(value) {
                // Vendors' documented sample keys end in EXAMPLE (AKIAIOSFODNN7EXAMPLE).
                if value.to_ascii_uppercase().contains("EXAMPLE") {
                    continue;
                }
                Some(format!("`{}` holds {token}", entry.key))
            } else if file.role.env == EnvFileRole::Example {
                None
            } else if secrets::url_password(value).is_some() {
                Some(format!("`{}` is a URL with a password in it", entry.key))
            } else if secrets::is_secret_name(&entry.key) && secrets::looks_random(value) {
                Some(format!("`{}` holds a random-looking secret", entry.key))
            } else if file.role.env == EnvFileRole::Production
                && deploy::weak_password(&entry.key, value, user_for(env, &entry.key))
            {
                Some(format!(
                    "`{}` is the guessable `{value}` in a production env file",
                    entry.key
                ))
            } else {
                None
            };
            let Some(what) = finding else { continue };
            let advice = match file.role.env {
                EnvFileRole::Example => "example files are committed: replace it with a placeholder and rotate the credential",
                _ => "keep real credentials in the deployment's secret store, make sure this file is never committed, and rotate the value if it ever was",
            };
            let mut diagnostic = Diagnostic::new(
                self.id(),
                entry.value_range.clone(),
                format!("{what}; {advice}"),
            );
            if file.role.env == EnvFileRole::Development {
                // Local development files hold the developer's own keys and are meant to be
                // git-ignored: still worth seeing, not a blocker.
                diagnostic = diagnostic.with_severity(Severity::Warning);
            }
            out.push(diagnostic);
        }
    }
}

/// The user name that goes with a password key: `POSTGRES_USER` for `POSTGRES_PASSWORD`,
/// `DB_USERNAME` for `DB_PASS`.
fn user_for<'a>(env: &'a DotEnv, key: &str) -> Option<&'a str> {
    let upper = key.to_ascii_uppercase();
    let prefix = ["_PASSWORD", "_PASSWD", "_PASS", "_PWD"]
        .iter()
        .find_map(|suffix| upper.strip_suffix(suffix))?;
    ["_USER", "_USERNAME", "_USER_NAME", "_LOGIN"]
        .iter()
        .find_map(|suffix| {
            let wanted = format!("{prefix}{suffix}");
            env.entries
                .iter()
                .find(|e| e.key.eq_ignore_ascii_case(&wanted))
                .map(|e| e.value.as_str())
        })
}
