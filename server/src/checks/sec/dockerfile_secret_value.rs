//! SEC011 dockerfile-secret-value: a secret baked into an image by `ENV` or given a default by
//! `ARG`.

use crate::analysis::{Diagnostic, File, Rule, Severity};
use crate::checks::deploy;
use crate::project::Deployment;
use crate::syntax::compose;
use crate::syntax::FileKind;

pub struct DockerfileSecretValue;

impl Rule for DockerfileSecretValue {
    fn id(&self) -> &'static str {
        "SEC011"
    }

    fn applies_to(&self, kind: FileKind) -> bool {
        kind == FileKind::Dockerfile
    }

    fn may_apply(&self, text: &str) -> bool {
        text.contains("ENV") || text.contains("ARG") || text.contains("env") || text.contains("arg")
    }

    fn check(&self, file: &File, out: &mut Vec<Diagnostic>) {
        let Some(dockerfile) = file.dockerfile else {
            return;
        };
        // Every Dockerfile builds an image someone runs, unless it says it is for development.
        if file.role.deployment == Deployment::Development || file.role.example {
            return;
        }
        for instruction in &dockerfile.instructions {
            let keyword = instruction.keyword.as_str();
            if keyword != "ENV" && keyword != "ARG" {
                continue;
            }
            for kv in instruction.key_values() {
                let (Some(value), Some(range)) = (&kv.value, &kv.value_range) else {
                    continue;
                };
                // `ENV SECRET_KEY=$SECRET_KEY` passes a build argument on; `${X:-default}` has a
                // default of its own.
                let interpolations = compose::interpolations(value);
                let literal = if interpolations.is_empty() {
                    Some(value.clone())
                } else {
                    interpolations
                        .iter()
                        .find_map(|i| i.default_value().map(str::to_string))
                };
                let Some(literal) = literal else { continue };
                let Some(what) = deploy::literal_secret(&kv.key, &literal) else {
                    continue;
                };
                let placeholder = crate::analysis::secrets::is_placeholder(&literal)
                    && crate::analysis::secrets::known_token(&literal).is_none();
                let message = if keyword == "ENV" {
                    format!(
                        "`{}` {what} in `ENV`: it is stored in the image, so everyone who can pull the image (or run `docker inspect` on a container) reads it; pass it at run time instead",
                        kv.key
                    )
                } else {
                    format!(
                        "`{}` {what} as the default of a build argument: build arguments are kept in the image history (`docker history`); use a build secret (`RUN --mount=type=secret`) or pass it at run time",
                        kv.key
                    )
                };
                let mut diagnostic = Diagnostic::new(self.id(), range.clone(), message);
                if placeholder {
                    // A placeholder is no leak, but containers run with it unless overridden.
                    diagnostic = diagnostic.with_severity(Severity::Warning);
                }
                out.push(diagnostic);
            }
        }
    }
}
