//! CFG018 debug-in-deployment-env and CFG019 any-host-in-deployment-env: debug switched on, or
//! every host allowed, by the environment a production compose file or env file gives the
//! application. One reading of the variables serves both rules.

use std::ops::Range;

use crate::analysis::{Applicability, Diagnostic, Edit, File, Fix, Rule};
use crate::checks::name_words;
use crate::project::Deployment;
use crate::syntax::compose;
use crate::syntax::FileKind;

pub struct DebugInDeploymentEnv;
pub struct AnyHostInDeploymentEnv;

/// One variable as the file sets it: name, value as read, where the value is written, and
/// whether offsets in the value are offsets in the file.
struct Setting<'a> {
    name: &'a str,
    value: &'a str,
    range: Range<usize>,
    verbatim: bool,
    quoted: bool,
    /// A bare word (an env file line, a compose `- KEY=value` item): no quotes to add.
    bare: bool,
}

impl Rule for DebugInDeploymentEnv {
    fn id(&self) -> &'static str {
        "CFG018"
    }

    fn applies_to(&self, kind: FileKind) -> bool {
        matches!(kind, FileKind::Compose | FileKind::DotEnv)
    }

    fn may_apply(&self, text: &str) -> bool {
        text.contains("DEBUG")
    }

    fn check(&self, file: &File, out: &mut Vec<Diagnostic>) {
        check(file, Some(self.id()), None, out);
    }
}

impl Rule for AnyHostInDeploymentEnv {
    fn id(&self) -> &'static str {
        "CFG019"
    }

    fn applies_to(&self, kind: FileKind) -> bool {
        matches!(kind, FileKind::Compose | FileKind::DotEnv)
    }

    fn may_apply(&self, text: &str) -> bool {
        text.contains("ALLOWED_HOSTS")
    }

    fn check(&self, file: &File, out: &mut Vec<Diagnostic>) {
        check(file, None, Some(self.id()), out);
    }
}

/// The findings of the debug rule (when `debug` is its id) and of the hosts rule (`hosts`).
fn check(
    file: &File,
    debug: Option<&'static str>,
    hosts: Option<&'static str>,
    out: &mut Vec<Diagnostic>,
) {
    {
        if file.role.deployment != Deployment::Production || file.role.example {
            return;
        }
        let mut settings: Vec<(Option<&str>, Setting)> = Vec::new();
        if let Some(compose) = file.compose {
            for service in &compose.services {
                for var in &service.environment {
                    let Some(value) = &var.value else { continue };
                    let written = &file.text[var.value_range.clone()];
                    settings.push((
                        Some(service.name.as_str()),
                        Setting {
                            name: &var.name,
                            value,
                            range: var.value_range.clone(),
                            verbatim: written == value.as_str(),
                            quoted: var.quoted && !var.list_form,
                            bare: var.list_form,
                        },
                    ));
                }
            }
        }
        if let Some(env) = file.dotenv {
            // A key set again later in the file is replaced by that later value.
            for (i, entry) in env.entries.iter().enumerate() {
                if env.entries[i + 1..].iter().any(|e| e.key == entry.key) {
                    continue;
                }
                let written = &file.text[entry.value_range.clone()];
                settings.push((
                    None,
                    Setting {
                        name: &entry.key,
                        value: &entry.value,
                        range: entry.value_range.clone(),
                        verbatim: written == entry.value,
                        quoted: entry.quote.is_some(),
                        bare: true,
                    },
                ));
            }
        }
        let mut seen = std::collections::HashSet::new();
        for (service, setting) in settings {
            if !seen.insert(setting.range.clone()) {
                continue;
            }
            let place = match service {
                Some(s) => format!("service `{s}`: "),
                None => String::new(),
            };
            // What the application gets: the value, or the fallback of `${DEBUG:-True}`.
            let interpolations = compose::interpolations(setting.value);
            let effective = match interpolations.as_slice() {
                [] => setting.value.to_string(),
                [only] if only.range == (0..setting.value.len()) => match only.default_value() {
                    Some(default) => default.to_string(),
                    None => continue,
                },
                _ => continue,
            };
            let words = name_words(setting.name);
            if let (Some(id), true) = (
                debug,
                words.last().is_some_and(|w| w == "DEBUG") && truthy(&effective),
            ) {
                let off = if effective.trim() == "1" {
                    "0"
                } else {
                    "False"
                };
                let replacement = if setting.quoted || setting.bare {
                    off.to_string()
                } else {
                    format!("\"{off}\"")
                };
                // Replace the value itself (inside its quotes when it has them).
                let range = if setting.quoted && setting.range.len() >= 2 {
                    setting.range.start + 1..setting.range.end - 1
                } else {
                    setting.range.clone()
                };
                let fix = (interpolations.is_empty() && (setting.verbatim || setting.quoted)).then(
                    || Fix {
                        title: format!("Turn `{}` off", setting.name),
                        applicability: Applicability::Unsafe,
                        edits: vec![Edit::replace(range, replacement)],
                    },
                );
                out.push(
                    Diagnostic::new(
                        id,
                        setting.range.clone(),
                        format!(
                            "{place}`{}` turns debug mode on in a production deployment: errors answer with tracebacks, settings and SQL",
                            setting.name
                        ),
                    )
                    .with_fix(fix),
                );
            } else if let (Some(id), true) = (
                hosts,
                words.ends_with(&["ALLOWED".to_string(), "HOSTS".to_string()])
                    && effective
                        .split([',', ' ', ';'])
                        .map(|h| h.trim().trim_matches(['"', '\'', '[', ']']))
                        .any(|h| h == "*"),
            ) {
                out.push(Diagnostic::new(
                    id,
                    setting.range.clone(),
                    format!(
                        "{place}`{}` allows every host in a production deployment: Django accepts any Host header (poisoned password-reset links and caches); list the real host names",
                        setting.name
                    ),
                ));
            }
        }
    }
}

fn truthy(value: &str) -> bool {
    matches!(
        value.trim().to_ascii_lowercase().as_str(),
        "1" | "true" | "yes" | "on" | "t" | "y"
    )
}
