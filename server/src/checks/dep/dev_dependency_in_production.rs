//! DEP002 dev-dependency-in-production: development tools (the debug toolbar, pytest, a
//! debugger) listed in a production requirements file, or installed into a production image.

use std::path::Path;

use crate::analysis::{Diagnostic, File, Rule};
use crate::project::{roles, Deployment};
use crate::syntax::requirements::normalize;
use crate::syntax::shell::Word;
use crate::syntax::FileKind;

use super::development_only;

pub struct DevDependencyInProduction;

impl Rule for DevDependencyInProduction {
    fn id(&self) -> &'static str {
        "DEP002"
    }

    fn applies_to(&self, kind: FileKind) -> bool {
        matches!(kind, FileKind::Requirements | FileKind::Dockerfile)
    }

    fn check(&self, file: &File, out: &mut Vec<Diagnostic>) {
        if file.role.deployment == Deployment::Development
            || file.role.development
            || file.role.example
        {
            return;
        }
        if let Some(requirements) = file.requirements {
            if !file.project.is_application() {
                return;
            }
            for requirement in &requirements.requirements {
                let name = normalize(&requirement.name);
                if !development_only(&name) {
                    continue;
                }
                out.push(Diagnostic::new(
                    self.id(),
                    requirement.name_range.clone(),
                    format!(
                        "`{}` is a development tool in a production requirements file: every production install carries it; move it to a development file (`requirements-dev.txt` or a `dev` group)",
                        requirement.name
                    ),
                ));
            }
        }
        if let Some(dockerfile) = file.dockerfile {
            let reaching = stages_installing_into_image(dockerfile);
            for (index, stage) in dockerfile.stages.iter().enumerate() {
                if !reaching.contains(&index) {
                    continue;
                }
                for instruction in dockerfile.stage_instructions(stage) {
                    if instruction.keyword != "RUN" {
                        continue;
                    }
                    for command in instruction.commands().commands {
                        for (range, message) in installs(file, command.program()) {
                            out.push(Diagnostic::new(self.id(), range, message));
                        }
                    }
                }
            }
        }
    }
}

/// The stages whose installed packages end up in the image: the final stage and those it is built
/// `FROM`, and builder stages the final chain copies an environment out of (`COPY --from=build
/// /venv /venv`, `.../site-packages`, `/usr/local`, `/root/.local`). A builder stage that only
/// hands over wheels or static files keeps its tools.
fn stages_installing_into_image(dockerfile: &crate::syntax::dockerfile::Dockerfile) -> Vec<usize> {
    let mut stages = dockerfile.stages_under_final_image();
    let chain = stages.clone();
    for index in chain {
        for instruction in dockerfile.stage_instructions(&dockerfile.stages[index]) {
            if !matches!(instruction.keyword.as_str(), "COPY" | "ADD") {
                continue;
            }
            let (Some(from), Some((sources, _))) =
                (instruction.copy_from(), instruction.copy_operands())
            else {
                continue;
            };
            let from = from.as_str();
            let environment = sources.iter().any(|s| {
                [
                    "venv",
                    "site-packages",
                    "/usr/local",
                    ".local",
                    "/install",
                    "/opt/",
                ]
                .iter()
                .any(|marker| s.text.contains(marker))
            });
            let found = dockerfile.stages.iter().position(|s| {
                s.name
                    .as_deref()
                    .is_some_and(|n| n.eq_ignore_ascii_case(from))
            });
            if let (true, Some(found)) = (environment, found) {
                if !stages.contains(&found) {
                    stages.push(found);
                }
            }
        }
    }
    stages
}

/// What an install command puts into the image that belongs to development.
fn installs(file: &File, words: &[Word]) -> Vec<(std::ops::Range<usize>, String)> {
    let mut out = Vec::new();
    let texts: Vec<&str> = words.iter().map(|w| w.text.as_str()).collect();
    let Some(first) = texts.first() else {
        return out;
    };
    let program = first.rsplit('/').next().unwrap_or(first);
    let pip_at = if program.starts_with("pip") {
        Some(0)
    } else if program.starts_with("python") {
        texts
            .windows(2)
            .position(|w| w[0] == "-m" && w[1].starts_with("pip"))
            .map(|i| i + 1)
    } else if program == "uv" && texts.get(1) == Some(&"pip") {
        Some(1)
    } else {
        None
    };
    if let Some(at) = pip_at {
        if texts.get(at + 1) != Some(&"install") {
            return out;
        }
        let mut i = at + 2;
        while i < words.len() {
            let word = &words[i];
            let text = word.text.as_str();
            let file_arg = if text == "-r" || text == "--requirement" {
                i += 1;
                words.get(i)
            } else if let Some(rest) = text.strip_prefix("--requirement=") {
                let _ = rest;
                Some(word)
            } else if text.starts_with("-r") && text.len() > 2 {
                Some(word)
            } else {
                None
            };
            if let Some(arg) = file_arg {
                let path = arg
                    .text
                    .trim_start_matches("--requirement=")
                    .trim_start_matches("-r");
                if roles::deployment_by_name(Path::new(path)) == Deployment::Development {
                    out.push((
                        arg.range.clone(),
                        format!("the production image installs `{path}`, a development requirements file: debuggers, test runners and the debug toolbar ship with it; install only the production requirements"),
                    ));
                }
            } else if !text.starts_with('-') {
                let name = text
                    .split(['=', '<', '>', '~', '!', '[', ';', ' '])
                    .next()
                    .unwrap_or(text);
                if development_only(&normalize(name)) {
                    out.push((
                        word.range.clone(),
                        format!("the production image installs `{name}`, a development tool: install it in a development image or stage only"),
                    ));
                }
            }
            i += 1;
        }
        return out;
    }
    let groups: Vec<String> = file
        .project
        .files_of_kind(FileKind::PyProject)
        .flat_map(|(_, facts)| facts.dependency_groups.iter().cloned())
        .collect();
    let has = |flag: &str| {
        texts
            .iter()
            .any(|t| t == &flag || t.starts_with(&format!("{flag}=")))
    };
    // Flags from a variable (`uv sync $UV_OPTIONS`) may say anything.
    if texts.iter().any(|t| t.contains('$')) {
        return out;
    }
    match (program, texts.get(1).copied()) {
        ("poetry", Some("install")) => {
            let production_only = has("--only") && texts.iter().any(|t| t.contains("main"))
                || has("--without")
                || has("--no-dev")
                || has("--only-root");
            if !production_only && !groups.is_empty() {
                out.push((
                    words[1].range.clone(),
                    format!("`poetry install` installs every dependency group ({}) into the production image; use `poetry install --only main` (or `--without {}`)", groups.join(", "), groups.join(",")),
                ));
            }
        }
        ("uv", Some("sync")) => {
            let production_only = has("--no-dev")
                || has("--only-group")
                || has("--no-default-groups")
                || has("--no-group")
                || has("--only-dev");
            if !production_only && groups.iter().any(|g| g == "dev") {
                out.push((
                    words[1].range.clone(),
                    "`uv sync` installs the `dev` dependency group into the production image; use `uv sync --no-dev`".to_string(),
                ));
            }
        }
        ("pipenv", Some("install" | "sync")) if has("--dev") || has("-d") => {
            out.push((
                words[1].range.clone(),
                "`pipenv` with `--dev` installs the development packages into the production image; drop `--dev`".to_string(),
            ));
        }
        _ => {}
    }
    out
}
