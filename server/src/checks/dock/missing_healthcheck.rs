//! DOCK004 missing-healthcheck: a compose service that serves the application has no
//! healthcheck (or has it disabled), and the image it builds defines none either.

use crate::analysis::{Diagnostic, File, Rule};
use crate::checks::deploy;
use crate::project::facts::ServiceFacts;
use crate::syntax::compose::Service;
use crate::syntax::FileKind;

use super::starts_server;

pub struct MissingHealthcheck;

impl Rule for MissingHealthcheck {
    fn id(&self) -> &'static str {
        "DOCK004"
    }

    fn applies_to(&self, kind: FileKind) -> bool {
        kind == FileKind::Compose
    }

    fn check(&self, file: &File, out: &mut Vec<Diagnostic>) {
        let Some(compose) = file.compose else { return };
        let Some(severity) = deploy::severity_of(self.id(), &file.role) else {
            return;
        };
        for service in &compose.services {
            if service.healthcheck == Some(true) || !serves_the_application(file, service) {
                continue;
            }
            let image_defines_one = service.build_context.is_some()
                && file
                    .project
                    .dockerfile_built_by(file.path, &service_facts(service))
                    .and_then(|(_, facts)| facts.dockerfile.as_ref())
                    .is_some_and(|d| d.final_healthcheck);
            if image_defines_one && service.healthcheck.is_none() {
                continue;
            }
            let message = if service.healthcheck == Some(false) {
                format!(
                    "service `{}` has its healthcheck disabled: compose, Swarm and orchestrators cannot tell a hung server from a healthy one, and `depends_on: condition: service_healthy` cannot wait for it",
                    service.name
                )
            } else {
                format!(
                    "service `{}` serves the application but has no healthcheck (and its image defines none): a hung or crash-looping server looks healthy, and dependants cannot wait for it with `condition: service_healthy`",
                    service.name
                )
            };
            out.push(
                Diagnostic::new(self.id(), service.name_range.clone(), message)
                    .with_severity(severity),
            );
        }
    }
}

/// A service that runs the project's server: it publishes or exposes ports and either builds
/// from the repository or starts a Python web server.
fn serves_the_application(file: &File, service: &Service) -> bool {
    if service.ports.is_empty() && service.expose.is_empty() {
        return false;
    }
    let runs_server = [&service.command, &service.entrypoint]
        .into_iter()
        .flatten()
        .any(|command| {
            command
                .script(file.text)
                .commands
                .iter()
                .any(|c| starts_server(c.program()))
        });
    // A server started by the image itself: the built Dockerfile's start command.
    let built_server = service.build_context.is_some()
        && file
            .project
            .dockerfile_built_by(file.path, &service_facts(service))
            .is_some_and(|(_, facts)| {
                facts.commands.iter().any(|c| {
                    matches!(c.role.as_str(), "cmd" | "entrypoint")
                        && c.program_words().first().is_some_and(|w| {
                            let program = w.rsplit('/').next().unwrap_or(w);
                            crate::project::SERVER_PROGRAMS.contains(&program)
                                || program.starts_with("python")
                                || program.ends_with(".sh")
                        })
                })
            });
    runs_server || built_server || (service.build_context.is_some() && service.command.is_none())
}

fn service_facts(service: &Service) -> ServiceFacts {
    ServiceFacts {
        name: service.name.clone(),
        build_context: service.build_context.as_ref().map(|t| t.text.clone()),
        dockerfile: service.build_dockerfile.as_ref().map(|t| t.text.clone()),
        ..ServiceFacts::default()
    }
}
