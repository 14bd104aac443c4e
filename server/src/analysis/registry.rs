//! The rule catalog: one TOML file per rule in `rules/` (id, name, category, severity, summary,
//! docs and bad/good examples), embedded at build time.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use serde::Deserialize;

use super::Severity;
use crate::project::{facts, Project, ProjectBuilder};
use crate::syntax::FileKind;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/rule_files.rs"));
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FixAvailability {
    None,
    Safe,
    Unsafe,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Docs {
    pub what: String,
    pub why: String,
    pub example: String,
    pub fix: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExampleKind {
    Bad,
    Good,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Example {
    pub kind: ExampleKind,
    /// The file name the example is analysed under (its kind and role come from it).
    pub path: String,
    pub code: String,
    /// For bad examples: how many findings of the rule (default 1).
    pub findings: Option<usize>,
    /// For bad examples: text the message must contain.
    pub message: Option<String>,
    /// For bad examples: the severity the findings must have (default: the rule's).
    pub severity: Option<Severity>,
    /// The other files of the example's project (a multi-file example): the analysed file is
    /// judged with them as its neighbours.
    #[serde(default)]
    pub files: Vec<ExampleFile>,
    /// Paths of the example's project that git tracks.
    #[serde(default)]
    pub tracked: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExampleFile {
    pub path: String,
    pub code: String,
}

impl Example {
    /// The example's project: its file, its other files and what git tracks, rooted at the
    /// current directory.
    pub fn project(&self) -> Project {
        let root = Path::new(".");
        let mut builder = ProjectBuilder::new(Some(root));
        let all = std::iter::once((self.path.as_str(), self.code.as_str())).chain(
            self.files
                .iter()
                .map(|f| (f.path.as_str(), f.code.as_str())),
        );
        for (path, code) in all {
            let path = Path::new(path);
            if let Some(kind) = FileKind::from_path_and_head(path, code.as_bytes()) {
                builder.file(path, kind, Arc::new(facts::extract(path, kind, code)));
            }
        }
        if !self.tracked.is_empty() {
            builder.tracked(Some(
                self.tracked
                    .iter()
                    .map(|p| crate::project::normalize(Path::new(p)))
                    .collect(),
            ));
        }
        builder.build()
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RuleMeta {
    pub id: String,
    pub name: String,
    pub category: String,
    pub severity: Severity,
    pub summary: String,
    pub fix: FixAvailability,
    /// Fix-all (on save, `check --fix`) applies this rule's behaviour-changing fix unless the
    /// configuration excludes unsafe fixes.
    #[serde(default)]
    pub fix_on_save: bool,
    pub docs: Docs,
    #[serde(default)]
    pub examples: Vec<Example>,
}

/// The catalog's files as embedded: (file name, text), sorted by name.
pub fn rule_files() -> &'static [(&'static str, &'static str)] {
    embedded::RULE_FILES
}

/// Every rule of the catalog, sorted by id.
pub fn all() -> &'static [RuleMeta] {
    static ALL: OnceLock<Vec<RuleMeta>> = OnceLock::new();
    ALL.get_or_init(|| {
        let mut rules: Vec<RuleMeta> = embedded::RULE_FILES
            .iter()
            .map(|(name, text)| {
                // The catalog is compiled in and checked by the test suite; a malformed entry is
                // a build defect, not user input.
                toml::from_str(text)
                    .unwrap_or_else(|e| panic!("rules/{name} is not a valid rule file: {e}"))
            })
            .collect();
        rules.sort_by(|a, b| a.id.cmp(&b.id));
        rules
    })
}

pub fn meta(id: &str) -> Option<&'static RuleMeta> {
    all().iter().find(|m| m.id == id)
}

/// Finds a rule by id or name (`SEC001` or `secret-env-default`), case-insensitively.
pub fn lookup(key: &str) -> Option<&'static RuleMeta> {
    all()
        .iter()
        .find(|m| m.id.eq_ignore_ascii_case(key) || m.name.eq_ignore_ascii_case(key))
}

/// Markdown documentation of a rule, for `preflight explain` and hovers.
pub fn explain(meta: &RuleMeta) -> String {
    let fix = match meta.fix {
        FixAvailability::None => "no automatic fix",
        FixAvailability::Safe => "safe fix available",
        FixAvailability::Unsafe if meta.fix_on_save => "fix available (changes behaviour on purpose; applied by fix-all on save unless unsafe fixes are excluded)",
        FixAvailability::Unsafe => "fix available (changes behaviour; offered as a quick fix, not applied on save)",
    };
    let peers = super::suppression::peer_codes(&meta.id);
    let peers = if peers.is_empty() {
        String::new()
    } else {
        let list: Vec<String> = peers.iter().map(|c| format!("`{c}`")).collect();
        format!(
            "\n\nA line that already silences the same check for another linter is not reported: {}.",
            list.join(", ")
        )
    };
    format!(
        "# {} `{}` ({})\n\n{}\n\nSeverity: {} · {}\n\n## What it does\n{}\n\n## Why is this bad?\n{}\n\n## Example\n{}\n\n## How to fix\n{}{}\n",
        meta.id,
        meta.name,
        meta.category,
        meta.summary,
        meta.severity.as_str(),
        fix,
        meta.docs.what.trim(),
        meta.docs.why.trim(),
        meta.docs.example.trim(),
        meta.docs.fix.trim(),
        peers,
    )
}
