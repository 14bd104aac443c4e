//! DEP001 unpinned-requirement: a production requirement with no version pin, so each image
//! build installs whatever was released last.

use crate::analysis::{Diagnostic, File, Rule};
use crate::project::Deployment;
use crate::syntax::requirements::IncludeKind;
use crate::syntax::FileKind;

pub struct UnpinnedRequirement;

impl Rule for UnpinnedRequirement {
    fn id(&self) -> &'static str {
        "DEP001"
    }

    fn applies_to(&self, kind: FileKind) -> bool {
        matches!(kind, FileKind::Requirements | FileKind::PyProject)
    }

    fn check(&self, file: &File, out: &mut Vec<Diagnostic>) {
        // Libraries state ranges on purpose; only an application that is deployed pins.
        if file.role.development || file.role.example || !file.project.is_application() {
            return;
        }
        if let Some(requirements) = file.requirements {
            if file.role.deployment == Deployment::Development
                || requirements.generated
                || requirements
                    .includes
                    .iter()
                    .any(|i| i.kind == IncludeKind::Constraints)
            {
                return;
            }
            for requirement in &requirements.requirements {
                let local = requirement
                    .url
                    .as_deref()
                    .is_some_and(|u| u.starts_with(['.', '/', '~']) || u.starts_with("file:"));
                if requirement.pinned
                    || requirement.has_hashes
                    || requirement.editable
                    || local
                    || bounded(&requirement.specifier)
                {
                    continue;
                }
                let how = if requirement.specifier.is_empty() {
                    "has no version".to_string()
                } else {
                    format!("allows a range (`{}`)", requirement.specifier)
                };
                out.push(Diagnostic::new(
                    self.id(),
                    requirement.name_range.clone(),
                    format!(
                        "`{}` {how}: every build installs whatever was released last, so an upstream release can break or change production without a change here; pin it (`{}==<version>`) or install from a lock file",
                        requirement.name, requirement.name
                    ),
                ));
            }
        }
        if let (Some(pyproject), Some(key)) = (
            file.pyproject,
            file.pyproject.and_then(|p| p.dependencies_key.clone()),
        ) {
            let dir = crate::project::normalize(file.path);
            let dir = dir.parent().unwrap_or(std::path::Path::new("/"));
            if file.project.has_lock_file_above(file.path)
                || file.project.has_locked_requirements_in(dir)
            {
                return;
            }
            let main: Vec<_> = pyproject
                .dependencies
                .iter()
                .filter(|d| d.group.is_none())
                .collect();
            let unpinned: Vec<&str> = main
                .iter()
                .filter(|d| !d.pinned && !bounded(&d.specifier))
                .map(|d| d.name.as_str())
                .collect();
            if unpinned.is_empty() {
                return;
            }
            let shown: Vec<String> = unpinned.iter().take(5).map(|n| format!("`{n}`")).collect();
            let more = if unpinned.len() > 5 {
                format!(" and {} more", unpinned.len() - 5)
            } else {
                String::new()
            };
            out.push(Diagnostic::new(
                self.id(),
                key,
                format!(
                    "{} of {} dependencies are not pinned ({}{more}) and no lock file (uv.lock, poetry.lock, pdm.lock, a compiled requirements file) pins them: every build of this application resolves them afresh; commit a lock file and install from it",
                    unpinned.len(),
                    main.len(),
                    shown.join(", ")
                ),
            ));
        }
    }
}

/// A range with an upper bound (`>=5.0,<5.1`, `~=5.0.3`, `^5.0` in Poetry): the project chose
/// which releases it takes. What is reported is the open-ended kind: no version, only lower
/// bounds (`>=5`), or a wildcard over a major (`==2.*`).
fn bounded(specifier: &str) -> bool {
    specifier.split(',').any(|clause| {
        let clause = clause.trim();
        clause.starts_with('<')
            || clause.starts_with("~=")
            || clause.starts_with('^')
            || clause.starts_with('~')
            || (clause.starts_with("==")
                && clause.matches('.').count() >= 2
                && clause.ends_with(".*"))
    })
}
