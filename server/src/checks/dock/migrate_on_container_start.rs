//! DOCK005 migrate-on-container-start: schema migrations (or `manage.py flush`) run by the
//! command that starts the application, so every container start, every replica and every
//! restart migrates.

use crate::analysis::{Diagnostic, File, Rule, Severity};
use crate::checks::deploy;
use crate::syntax::shell::{Script, SimpleCommand};
use crate::syntax::FileKind;

use super::{schema_command, starts_server, SchemaCommand};

pub struct MigrateOnContainerStart;

impl Rule for MigrateOnContainerStart {
    fn id(&self) -> &'static str {
        "DOCK005"
    }

    fn applies_to(&self, kind: FileKind) -> bool {
        matches!(
            kind,
            FileKind::Compose | FileKind::Dockerfile | FileKind::Shell | FileKind::Procfile
        )
    }

    fn may_apply(&self, text: &str) -> bool {
        text.contains("migrate") || text.contains("flush") || text.contains("upgrade")
    }

    fn check(&self, file: &File, out: &mut Vec<Diagnostic>) {
        let Some(rule_severity) = deploy::catalog_severity(self.id()) else {
            return;
        };
        let role = &file.role;
        if role.development || role.example || role.test {
            return;
        }
        let id = self.id();
        if let Some(compose) = file.compose {
            let Some(severity) = deploy::severity_in(role, rule_severity) else {
                return;
            };
            for service in &compose.services {
                if one_shot_job(&service.name) {
                    continue;
                }
                let mut script = Script::default();
                for command in [&service.entrypoint, &service.command]
                    .into_iter()
                    .flatten()
                {
                    script.commands.extend(command.script(file.text).commands);
                }
                let place = format!("service `{}` runs", service.name);
                report_start_command(id, &script.commands, &place, severity, out);
            }
        }
        if let Some(dockerfile) = file.dockerfile {
            let Some(last) = dockerfile.final_stage() else {
                return;
            };
            let mut commands = Vec::new();
            for instruction in dockerfile.stage_instructions(last) {
                if matches!(instruction.keyword.as_str(), "CMD" | "ENTRYPOINT") {
                    commands.extend(instruction.commands().commands);
                }
            }
            report_start_command(
                id,
                &commands,
                "the image's start command runs",
                rule_severity,
                out,
            );
        }
        if let Some(procfile) = file.procfile {
            for process in procfile.processes.iter().filter(|p| !p.is_release()) {
                report_every_run(
                    id,
                    &process.script.commands,
                    &format!("the `{}` process runs", process.name),
                    "move it to a `release:` process, which runs once per deploy",
                    rule_severity,
                    out,
                );
            }
        }
        let script_name = crate::project::roles::lowercase_stem(file.path);
        if let (Some(script), true) = (file.shell, role.entrypoint && !one_shot_job(&script_name)) {
            report_every_run(
                id,
                &script.commands,
                "this entrypoint runs",
                "run migrations once per deploy instead (a release step, a one-off job or an init container) and keep the entrypoint to starting the server",
                rule_severity,
                out,
            );
        }
    }
}

/// Commands that run on every start (an entrypoint's, a Procfile process's): each schema
/// command among them is a finding.
fn report_every_run(
    id: &'static str,
    commands: &[SimpleCommand],
    place: &str,
    advice: &str,
    severity: Severity,
    out: &mut Vec<Diagnostic>,
) {
    for command in commands {
        if let Some((what, word)) = schema_command(command.program()) {
            out.push(finding(
                id,
                command,
                word.range.clone(),
                what,
                place,
                advice,
                severity,
            ));
        }
    }
}

/// Services and scripts that exist to run migrations once (`migrate:`, `init:`, `setup:`,
/// `docker-entrypoint-migrator.sh`) are the recommended pattern, not the problem.
fn one_shot_job(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    ["migrat", "init", "setup", "bootstrap", "release", "upgrade"]
        .iter()
        .any(|w| lower.contains(w))
}

/// A start command (compose `command:`, Dockerfile `CMD`) that migrates and then starts the
/// server. One that only migrates is a one-off job; one that starts a development server is a
/// development setup.
fn report_start_command(
    id: &'static str,
    commands: &[SimpleCommand],
    place: &str,
    severity: Severity,
    out: &mut Vec<Diagnostic>,
) {
    let dev_server = commands.iter().any(|c| {
        c.program()
            .iter()
            .any(|w| matches!(w.text.as_str(), "runserver" | "runserver_plus" | "--reload"))
    });
    let server = commands.iter().any(|c| starts_server(c.program()));
    if dev_server {
        return;
    }
    for command in commands {
        let Some((what, word)) = schema_command(command.program()) else {
            continue;
        };
        if what == SchemaCommand::Migrate && !server {
            continue;
        }
        out.push(finding(
            id,
            command,
            word.range.clone(),
            what,
            place,
            "run migrations once per deploy instead (a release step, a one-off `migrate` service or job) and let the container only start the server",
            severity,
        ));
    }
}

fn finding(
    id: &'static str,
    command: &SimpleCommand,
    word: std::ops::Range<usize>,
    what: SchemaCommand,
    place: &str,
    advice: &str,
    severity: Severity,
) -> Diagnostic {
    let quoted = crate::checks::one_line(
        &command
            .program()
            .iter()
            .map(|w| w.text.as_str())
            .collect::<Vec<_>>()
            .join(" "),
        60,
        "…",
    );
    let range = if word.is_empty() {
        command.range.clone()
    } else {
        word
    };
    match what {
        SchemaCommand::Migrate => Diagnostic::new(
            id,
            range,
            format!(
                "{place} `{quoted}` on every start: each replica and each restart migrates, concurrently when several start together, and a failed migration becomes a crash loop; {advice}"
            ),
        )
        .with_severity(severity),
        SchemaCommand::Flush => Diagnostic::new(
            id,
            range,
            format!(
                "{place} `{quoted}` on every start: it deletes every row of the database each time a container starts; remove it"
            ),
        )
        .with_severity(Severity::Error),
    }
}
