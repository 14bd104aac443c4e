//! DOCK001 container-runs-as-root: the image's final stage has no `USER`, or its last `USER` is
//! root, and nothing else drops privileges (compose `user:`, `gosu`/`su-exec` in the
//! entrypoint, a base image that runs as a non-root user).

use crate::analysis::{Applicability, Diagnostic, Edit, File, Fix, Rule};
use crate::project::Deployment;
use crate::syntax::dockerfile::Dockerfile;
use crate::syntax::FileKind;
use crate::text::line_ending;

pub struct ContainerRunsAsRoot;

/// Programs that start the server as another user.
const PRIVILEGE_DROPPERS: &[&str] = &[
    "gosu",
    "su-exec",
    "setpriv",
    "runuser",
    "chpst",
    "s6-setuidgid",
    "setuidgid",
    "su",
];

impl Rule for ContainerRunsAsRoot {
    fn id(&self) -> &'static str {
        "DOCK001"
    }

    fn applies_to(&self, kind: FileKind) -> bool {
        kind == FileKind::Dockerfile
    }

    fn check(&self, file: &File, out: &mut Vec<Diagnostic>) {
        let Some(dockerfile) = file.dockerfile else {
            return;
        };
        if file.role.deployment == Deployment::Development || file.role.example {
            return;
        }
        let Some(docker) = &file.facts.dockerfile else {
            return;
        };
        let Some(last) = dockerfile.final_stage() else {
            return;
        };
        let user = docker.final_user.as_deref().map(str::trim);
        if user.is_some_and(|u| !is_root(u)) {
            return;
        }
        // Without a `USER` of its own the image runs as its base image's user: only known for
        // the official images (root), so others are left alone.
        let base = resolve_arguments(dockerfile, &docker.final_base);
        if user.is_none() && !official_root_image(&base) {
            return;
        }
        if drops_privileges(file, dockerfile) || compose_runs_as_other_user(file) {
            return;
        }
        let instructions = dockerfile.stage_instructions(last);
        let (range, message) = match instructions.iter().rev().find(|i| i.keyword == "USER") {
            Some(root_user) => (
                root_user.range.clone(),
                "the last `USER` of the final stage is root: the application runs as root in the container, so any code execution bug owns the container and whatever it mounts".to_string(),
            ),
            None => {
                let from = &dockerfile.instructions[last.from];
                (
                    from.range.clone(),
                    format!(
                        "the final stage (`FROM {}`) never sets a `USER`: the application runs as root in the container, so any code execution bug owns the container and whatever it mounts",
                        last.base
                    ),
                )
            }
        };
        out.push(
            Diagnostic::new(self.id(), range, message).with_fix(non_root_fix(
                file.text,
                dockerfile,
                &docker.final_base,
            )),
        );
    }
}

fn is_root(user: &str) -> bool {
    let name = user.split(':').next().unwrap_or(user).trim();
    name == "root" || name == "0"
}

/// `${FROM}` / `$BASE` in a `FROM`, replaced by the default of the global `ARG` before the first
/// `FROM` (empty when it has none).
fn resolve_arguments(dockerfile: &Dockerfile, base: &str) -> String {
    let Some(name) = base
        .strip_prefix("${")
        .and_then(|b| b.strip_suffix('}'))
        .or_else(|| base.strip_prefix('$'))
    else {
        return base.to_string();
    };
    let name = name.split(":-").next().unwrap_or(name);
    dockerfile
        .instructions
        .iter()
        .take_while(|i| i.keyword != "FROM")
        .filter(|i| i.keyword == "ARG")
        .flat_map(|i| i.key_values())
        .find(|kv| kv.key == name)
        .and_then(|kv| kv.value)
        .unwrap_or_default()
}

/// A Docker Hub official image (`python:3.12-slim`, `docker.io/library/debian`), which runs as
/// root unless told otherwise; web servers that hand their workers to an unprivileged user
/// themselves (nginx, httpd) are not counted.
fn official_root_image(image: &str) -> bool {
    let lower = image.to_ascii_lowercase();
    let name = lower.split('@').next().unwrap_or(&lower);
    let repository = match name.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => repo,
        _ => name,
    };
    let repository = repository
        .strip_prefix("docker.io/")
        .or_else(|| repository.strip_prefix("index.docker.io/"))
        .unwrap_or(repository);
    let repository = repository.strip_prefix("library/").unwrap_or(repository);
    if repository.is_empty() || repository.contains('/') || repository.contains('$') {
        return false;
    }
    !matches!(repository, "nginx" | "httpd" | "scratch")
}

/// The image hands the server to another user: it installs `gosu`/`su-exec` (which only
/// exist to do that), runs s6-overlay's `/init` (its services drop privileges), or the start
/// command or the entrypoint script it names does it.
fn drops_privileges(file: &File, dockerfile: &Dockerfile) -> bool {
    let Some(last) = dockerfile.final_stage() else {
        return false;
    };
    let chain = dockerfile.stages_under_final_image();
    let installs_dropper = chain.iter().any(|&index| {
        dockerfile
            .stage_instructions(&dockerfile.stages[index])
            .iter()
            .filter(|i| i.keyword == "RUN")
            .flat_map(|i| i.commands().commands)
            .flat_map(|c| c.words)
            .any(|w| matches!(w.text.as_str(), "gosu" | "su-exec" | "s6-overlay"))
    });
    if installs_dropper {
        return true;
    }
    let mut scripts = Vec::new();
    for instruction in dockerfile.stage_instructions(last) {
        if !matches!(instruction.keyword.as_str(), "CMD" | "ENTRYPOINT") {
            continue;
        }
        for command in instruction.commands().commands {
            for word in &command.words {
                let name = word.text.rsplit('/').next().unwrap_or(&word.text);
                if PRIVILEGE_DROPPERS.contains(&name) || word.text == "/init" {
                    return true;
                }
                if !name.is_empty() {
                    scripts.push(name.to_string());
                    // `COPY docker/entry.sh /app/run.sh`: the script is known by its source name.
                    scripts.extend(copied_as(dockerfile, &word.text));
                }
            }
        }
    }
    // The entrypoint script the start command names (`/docker-entrypoint.sh`, `/start`).
    scripts.iter().any(|name| {
        [name.clone(), format!("{name}.sh")]
            .iter()
            .any(|candidate| {
                file.project
                    .scripts_named(candidate)
                    .iter()
                    .any(|(_, facts)| {
                        facts.commands.iter().flat_map(|c| c.words.iter()).any(|w| {
                            PRIVILEGE_DROPPERS.contains(&w.rsplit('/').next().unwrap_or(w))
                        })
                    })
            })
    })
}

/// The file names of the sources a `COPY`/`ADD` puts at `target` (a path in the image).
fn copied_as(dockerfile: &Dockerfile, target: &str) -> Vec<String> {
    let target_name = target.rsplit('/').next().unwrap_or(target);
    let mut out = Vec::new();
    for instruction in &dockerfile.instructions {
        let Some((sources, destination)) = instruction.copy_operands() else {
            continue;
        };
        let destination = destination.text;
        let to_file = destination == target || destination.ends_with(&format!("/{target_name}"));
        if to_file && sources.len() == 1 {
            if let Some(name) = sources[0].text.rsplit('/').next() {
                out.push(name.to_string());
            }
        }
    }
    out
}

/// Every compose service built from this Dockerfile runs it as a non-root `user:`.
fn compose_runs_as_other_user(file: &File) -> bool {
    let services = file.project.services_building(file.path);
    !services.is_empty()
        && services.iter().all(|(_, service, _)| {
            service
                .user
                .as_deref()
                .is_some_and(|u| !is_root(u) && !u.trim().is_empty())
        })
}

/// Creates an unprivileged `app` user and switches to it before the start command (or at the
/// end of the file). Behaviour changes: files the application writes must be writable by it.
fn non_root_fix(text: &str, dockerfile: &Dockerfile, base: &str) -> Option<Fix> {
    let last = dockerfile.final_stage()?;
    let instructions = dockerfile.stage_instructions(last);
    let at = instructions
        .iter()
        .find(|i| matches!(i.keyword.as_str(), "CMD" | "ENTRYPOINT"))
        .map(|i| i.range.start - line_start_offset(text, i.range.start))
        .unwrap_or(text.len());
    let newline = line_ending(text);
    let create = if base.to_ascii_lowercase().contains("alpine") {
        "RUN adduser -D -u 10001 app"
    } else {
        "RUN useradd --create-home --uid 10001 app"
    };
    let lead = if at == text.len() && !text.is_empty() && !text.ends_with('\n') {
        newline
    } else {
        ""
    };
    Some(Fix {
        title: "Run as an unprivileged `app` user".to_string(),
        applicability: Applicability::Unsafe,
        edits: vec![Edit::insert(
            at,
            format!("{lead}{create}{newline}USER app{newline}"),
        )],
    })
}

/// How far `at` is into its line (instructions start a line, maybe indented).
fn line_start_offset(text: &str, at: usize) -> usize {
    at - text[..at].rfind('\n').map_or(0, |i| i + 1)
}
