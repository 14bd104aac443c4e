//! DOCK002 copy-context-without-dockerignore: `COPY . .` (or `ADD .`) of the whole build
//! context into the image when no `.dockerignore` keeps `.env` files out, and any `COPY` of an
//! env file.

use std::path::{Path, PathBuf};

use ignore::gitignore::GitignoreBuilder;

use crate::analysis::{Diagnostic, File, Rule, Severity};
use crate::project::{roles, Deployment, EnvFileRole};
use crate::syntax::{is_dotenv_name, FileKind};

pub struct CopyContextWithoutDockerignore;

impl Rule for CopyContextWithoutDockerignore {
    fn id(&self) -> &'static str {
        "DOCK002"
    }

    fn applies_to(&self, kind: FileKind) -> bool {
        kind == FileKind::Dockerfile
    }

    fn may_apply(&self, text: &str) -> bool {
        text.contains("COPY")
            || text.contains("ADD")
            || text.contains("copy")
            || text.contains("add")
    }

    fn check(&self, file: &File, out: &mut Vec<Diagnostic>) {
        let Some(dockerfile) = file.dockerfile else {
            return;
        };
        if file.role.deployment == Deployment::Development || file.role.example {
            return;
        }
        // A builder stage's context copy stays in the builder: only what `COPY --from` takes
        // out of it reaches the image.
        let under_image = dockerfile.stages_under_final_image();
        for (index, stage) in dockerfile.stages.iter().enumerate() {
            if !under_image.contains(&index) {
                continue;
            }
            for instruction in dockerfile.stage_instructions(stage) {
                // A copy from another stage or image takes nothing from the context.
                if instruction.copy_from().is_some() {
                    continue;
                }
                let Some((sources, _)) = instruction.copy_operands() else {
                    continue;
                };
                for source in &sources {
                    let name = source.text.trim_end_matches('/');
                    let file_name = name.rsplit('/').next().unwrap_or(name);
                    if is_dotenv_name(file_name)
                        && roles::env_file_role(Path::new(file_name)) != EnvFileRole::Example
                    {
                        out.push(Diagnostic::new(
                            self.id(),
                            source.range.clone(),
                            format!(
                                "`{} {}` puts an env file into the image: its secrets are in every copy of the image and its layers; give the container its environment at run time",
                                instruction.keyword, source.text
                            ),
                        ).with_severity(Severity::Error));
                    } else if matches!(name, "." | "./" | "") {
                        if let Some(message) = context_problem(file) {
                            out.push(Diagnostic::new(
                                self.id(),
                                instruction.range.clone(),
                                format!(
                                    "`{}` copies the whole build context: {message}",
                                    first_line(&instruction.args.text, &instruction.keyword)
                                ),
                            ));
                        }
                    }
                }
            }
        }
    }
}

fn first_line(args: &str, keyword: &str) -> String {
    crate::checks::one_line(&format!("{keyword}{args}"), 40, "…")
}

/// A `.dockerignore` and its lines.
type IgnoreFile = (PathBuf, Vec<String>);

/// Why copying the whole context is a problem for this Dockerfile's builds, if it is: no
/// `.dockerignore` for a context it is built with, or one that lets `.env` files through.
fn context_problem(file: &File) -> Option<String> {
    let project = file.project;
    let services = project.services_building(file.path);
    let contexts: Vec<PathBuf> = services.iter().map(|(_, _, dir)| dir.clone()).collect();
    let found: Vec<(PathBuf, Option<IgnoreFile>)> = if contexts.is_empty() {
        // Built without compose (`docker build .`): the nearest `.dockerignore` is the best
        // guess of the context.
        let dir = crate::project::normalize(file.path)
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let nearest = project
            .nearest_dockerignore(file.path)
            .map(|(p, lines)| (p, lines.to_vec()));
        vec![(dir, nearest)]
    } else {
        contexts
            .into_iter()
            .map(|dir| {
                let ignore = project
                    .dockerignore(file.path, &dir)
                    .map(|(p, lines)| (p, lines.to_vec()));
                (dir, ignore)
            })
            .collect()
    };
    for (dir, ignore) in found {
        let env_files: Vec<&Path> = project
            .env_files_in(&dir)
            .into_iter()
            .filter(|p| roles::env_file_role(p) != EnvFileRole::Example)
            .collect();
        let present = if env_files.is_empty() {
            String::new()
        } else {
            let names: Vec<String> = env_files
                .iter()
                .filter_map(|p| p.file_name().and_then(|n| n.to_str()).map(str::to_string))
                .collect();
            format!(" ({} is there now)", names.join(", "))
        };
        match ignore {
            None => {
                return Some(format!(
                    "there is no `.dockerignore`, so `.env` files{present}, `.git` and local databases go into the image; add a `.dockerignore` that excludes `.env*` (keeping `!.env.example`), `.git` and `*.sqlite3`"
                ))
            }
            Some((path, lines)) => {
                let names: Vec<&str> = env_files
                    .iter()
                    .filter_map(|p| p.file_name().and_then(|n| n.to_str()))
                    .collect();
                if !excludes_env_files(&path, &lines, &names) {
                    let shown = path
                        .file_name()
                        .and_then(|n| n.to_str())
                        .unwrap_or(".dockerignore");
                    return Some(format!(
                        "its `{shown}` does not exclude `.env` files{present}, so they go into the image; add `.env*` (and `!.env.example`)"
                    ));
                }
            }
        }
    }
    None
}

/// Does the ignore file keep `.env`, and the env files the context holds, out of it?
fn excludes_env_files(path: &Path, lines: &[String], present: &[&str]) -> bool {
    let dir = path.parent().unwrap_or(Path::new("/"));
    let mut builder = GitignoreBuilder::new(dir);
    for line in lines {
        // Docker patterns are relative to the context root: `/.env` and `.env` mean the same.
        let _ = builder.add_line(None, line);
    }
    let Ok(matcher) = builder.build() else {
        return false;
    };
    std::iter::once(".env")
        .chain(present.iter().copied())
        .all(|name| {
            matcher
                .matched_path_or_any_parents(dir.join(name), false)
                .is_ignore()
        })
}
