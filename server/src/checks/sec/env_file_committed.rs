//! SEC002 env-file-committed: an env file with real values that git tracks, or that no
//! `.gitignore` rule keeps out of the repository.

use crate::analysis::{secrets, Diagnostic, File, Rule, Severity};
use crate::checks::deploy;
use crate::project::EnvFileRole;
use crate::syntax::FileKind;

pub struct EnvFileCommitted;

impl Rule for EnvFileCommitted {
    fn id(&self) -> &'static str {
        "SEC002"
    }

    fn applies_to(&self, kind: FileKind) -> bool {
        kind == FileKind::DotEnv
    }

    fn check(&self, file: &File, out: &mut Vec<Diagnostic>) {
        let Some(env) = file.dotenv else { return };
        if file.role.env == EnvFileRole::Example || file.role.example {
            return;
        }
        // Only values that are secrets make committing the file a leak: `DEBUG=1` is not one.
        let secrets: Vec<&crate::syntax::dotenv::Entry> = env
            .entries
            .iter()
            .filter(|e| {
                deploy::literal_secret(&e.key, &e.value).is_some()
                    && !(secrets::is_placeholder(&e.value)
                        && secrets::known_token(&e.value).is_none())
            })
            .collect();
        let Some(first) = secrets.first() else { return };
        let names: Vec<String> = secrets
            .iter()
            .take(4)
            .map(|e| format!("`{}`", e.key))
            .collect();
        let more = if secrets.len() > 4 {
            format!(" and {} more", secrets.len() - 4)
        } else {
            String::new()
        };
        let held = format!("{}{more}", names.join(", "));
        let name = file
            .path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or(".env");
        let (message, severity) = match file.project.is_tracked(file.path) {
            Some(true) => (
                format!(
                    "git tracks this env file and it holds {held}: they are in the repository's history for everyone with access; `git rm --cached {name}`, add it to `.gitignore` and rotate those values"
                ),
                Severity::Error,
            ),
            _ if file.project.is_ignored(file.path) => return,
            _ => (
                format!(
                    "no `.gitignore` rule covers this env file, which holds {held}: the next `git add .` commits them; add `{}` (and `!.env.example`) to `.gitignore`",
                    if name.starts_with(".env") { ".env*" } else { name }
                ),
                Severity::Warning,
            ),
        };
        out.push(
            Diagnostic::new(self.id(), first.key_range.clone(), message).with_severity(severity),
        );
    }
}
