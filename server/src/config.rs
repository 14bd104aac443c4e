//! Configuration: `preflight.toml`, or `[tool.preflight]` in `pyproject.toml`, found by walking up
//! from the analysed file; editor settings (initializationOptions / didChangeConfiguration) use
//! the same keys, in kebab-case or camelCase, and override the file.
//!
//! ```toml
//! select = ["ALL"]                 # rule ids, id prefixes (SEC, CFG0) or names
//! ignore = ["CFG015"]
//! fix-on-save = true               # fix-all (editor on save) applies fixes at all
//! unsafe-fixes = true              # include behaviour-changing fixes such as the fail-fast rewrite
//! exclude = ["legacy/**"]          # paths `preflight check` skips when walking
//! [per-file-ignores]
//! "tests/**" = ["SEC"]
//! [severity]
//! CFG004 = "error"
//! ```

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use globset::{Glob, GlobSet, GlobSetBuilder};
use serde::Deserialize;

use crate::analysis::registry::{self, FixAvailability};
use crate::analysis::{Applicability, Diagnostic, RuleFilter, Severity};

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "kebab-case")]
pub struct Options {
    pub select: Option<Vec<String>>,
    pub ignore: Option<Vec<String>>,
    #[serde(alias = "perFileIgnores")]
    pub per_file_ignores: Option<BTreeMap<String, Vec<String>>>,
    pub severity: Option<BTreeMap<String, Severity>>,
    #[serde(alias = "fixOnSave")]
    pub fix_on_save: Option<bool>,
    #[serde(alias = "unsafeFixes")]
    pub unsafe_fixes: Option<bool>,
    pub exclude: Option<Vec<String>>,
}

const KNOWN_KEYS: &[&str] = &[
    "select",
    "ignore",
    "per-file-ignores",
    "perFileIgnores",
    "severity",
    "fix-on-save",
    "fixOnSave",
    "unsafe-fixes",
    "unsafeFixes",
    "exclude",
];

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub path: Option<PathBuf>,
    pub message: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.path {
            Some(p) => write!(
                f,
                "invalid configuration in {}: {}",
                p.display(),
                self.message
            ),
            None => write!(f, "invalid configuration: {}", self.message),
        }
    }
}

impl Options {
    /// Editor settings: `{"select": [...]}`, or the same wrapped as `{"settings": {...}}` or
    /// `{"preflight": {...}}`.
    pub fn from_json(value: &serde_json::Value) -> Result<Options, ConfigError> {
        let mut value = value;
        for wrapper in ["settings", "preflight"] {
            if let Some(inner) = value.get(wrapper).filter(|v| v.is_object()) {
                value = inner;
            }
        }
        if value.is_null() {
            return Ok(Options::default());
        }
        if let Some(map) = value.as_object() {
            if let Some(unknown) = map.keys().find(|k| !KNOWN_KEYS.contains(&k.as_str())) {
                return Err(ConfigError {
                    path: None,
                    message: format!("unknown setting `{unknown}`"),
                });
            }
        }
        let options: Options = serde_json::from_value(value.clone()).map_err(|e| ConfigError {
            path: None,
            message: e.to_string(),
        })?;
        options.validate(None)?;
        Ok(options)
    }

    fn from_toml_table(table: &toml::Table, path: &Path) -> Result<Options, ConfigError> {
        if let Some(unknown) = table.keys().find(|k| !KNOWN_KEYS.contains(&k.as_str())) {
            return Err(ConfigError {
                path: Some(path.to_path_buf()),
                message: format!("unknown key `{unknown}`"),
            });
        }
        let options: Options =
            toml::Value::Table(table.clone())
                .try_into()
                .map_err(|e: toml::de::Error| ConfigError {
                    path: Some(path.to_path_buf()),
                    message: e.message().to_string(),
                })?;
        options.validate(Some(path))?;
        Ok(options)
    }

    pub fn validate(&self, path: Option<&Path>) -> Result<(), ConfigError> {
        let err = |message: String| ConfigError {
            path: path.map(Path::to_path_buf),
            message,
        };
        let selectors = self
            .select
            .iter()
            .flatten()
            .chain(self.ignore.iter().flatten())
            .chain(
                self.per_file_ignores
                    .iter()
                    .flat_map(|m| m.values().flatten()),
            );
        for selector in selectors {
            if !registry::all()
                .iter()
                .any(|m| selector_matches(selector, &m.id, &m.name))
            {
                return Err(err(format!(
                    "`{selector}` names no rule (see `preflight rules`)"
                )));
            }
        }
        for rule in self.severity.iter().flat_map(|m| m.keys()) {
            if registry::lookup(rule).is_none() {
                return Err(err(format!("severity override for unknown rule `{rule}`")));
            }
        }
        for pattern in self
            .per_file_ignores
            .iter()
            .flat_map(|m| m.keys())
            .chain(self.exclude.iter().flatten())
        {
            Glob::new(pattern).map_err(|e| err(format!("bad glob `{pattern}`: {e}")))?;
        }
        Ok(())
    }

    /// `other`'s settings win where it has them.
    pub fn overridden_by(&self, other: &Options) -> Options {
        Options {
            select: other.select.clone().or_else(|| self.select.clone()),
            ignore: other.ignore.clone().or_else(|| self.ignore.clone()),
            per_file_ignores: other
                .per_file_ignores
                .clone()
                .or_else(|| self.per_file_ignores.clone()),
            severity: match (&self.severity, &other.severity) {
                (Some(a), Some(b)) => {
                    Some(a.iter().chain(b).map(|(k, v)| (k.clone(), *v)).collect())
                }
                (a, b) => b.clone().or_else(|| a.clone()),
            },
            fix_on_save: other.fix_on_save.or(self.fix_on_save),
            unsafe_fixes: other.unsafe_fixes.or(self.unsafe_fixes),
            exclude: other.exclude.clone().or_else(|| self.exclude.clone()),
        }
    }
}

fn selector_matches(selector: &str, id: &str, name: &str) -> bool {
    selector.eq_ignore_ascii_case("ALL")
        || id.starts_with(&selector.to_ascii_uppercase())
        || name.eq_ignore_ascii_case(selector)
}

/// A loaded configuration and the directory its relative globs are anchored at.
#[derive(Clone, Debug, Default)]
pub struct Config {
    pub root: PathBuf,
    pub source: Option<PathBuf>,
    pub options: Options,
    per_file: Vec<(GlobSet, Vec<String>)>,
    exclude: Option<GlobSet>,
}

impl Config {
    pub fn new(root: PathBuf, source: Option<PathBuf>, options: Options) -> Config {
        let glob = |pattern: &str| -> Option<GlobSet> {
            let mut builder = GlobSetBuilder::new();
            builder.add(Glob::new(pattern).ok()?);
            // `tests/**` should also match `tests` itself and a bare name pattern any depth.
            if !pattern.contains('/') {
                builder.add(Glob::new(&format!("**/{pattern}")).ok()?);
            }
            builder.build().ok()
        };
        let per_file = options
            .per_file_ignores
            .iter()
            .flatten()
            .filter_map(|(pattern, rules)| Some((glob(pattern)?, rules.clone())))
            .collect();
        let exclude = options.exclude.as_ref().and_then(|patterns| {
            let mut builder = GlobSetBuilder::new();
            for p in patterns {
                builder.add(Glob::new(p).ok()?);
                if !p.contains('/') {
                    builder.add(Glob::new(&format!("**/{p}")).ok()?);
                }
            }
            builder.build().ok()
        });
        Config {
            root,
            source,
            options,
            per_file,
            exclude,
        }
    }

    /// Reads a `preflight.toml` or a `pyproject.toml` (`[tool.preflight]`). `Ok(None)` for a
    /// pyproject without the section.
    pub fn load(path: &Path) -> Result<Option<Config>, ConfigError> {
        let err = |message: String| ConfigError {
            path: Some(path.to_path_buf()),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
        let doc: toml::Table = toml::from_str(&text).map_err(|e| err(e.message().to_string()))?;
        let is_pyproject = path.file_name().is_some_and(|n| n == "pyproject.toml");
        let table = if is_pyproject {
            match doc.get("tool").and_then(|t| t.get("preflight")) {
                Some(toml::Value::Table(t)) => t.clone(),
                Some(_) => return Err(err("`[tool.preflight]` must be a table".into())),
                None => return Ok(None),
            }
        } else {
            doc
        };
        let options = Options::from_toml_table(&table, path)?;
        let root = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Ok(Some(Config::new(root, Some(path.to_path_buf()), options)))
    }

    /// The configuration that governs `dir`: the nearest `preflight.toml` or pyproject with a
    /// `[tool.preflight]` section in it or above it.
    pub fn discover(dir: &Path) -> Result<Option<Config>, ConfigError> {
        for ancestor in dir.ancestors() {
            let own = ancestor.join("preflight.toml");
            if own.is_file() {
                return Config::load(&own);
            }
            let pyproject = ancestor.join("pyproject.toml");
            if pyproject.is_file() {
                if let Some(config) = Config::load(&pyproject)? {
                    return Ok(Some(config));
                }
            }
        }
        Ok(None)
    }

    pub fn with_overrides(&self, overrides: &Options) -> Config {
        Config::new(
            self.root.clone(),
            self.source.clone(),
            self.options.overridden_by(overrides),
        )
    }

    fn relative<'p>(&self, path: &'p Path) -> &'p Path {
        path.strip_prefix(&self.root).unwrap_or(path)
    }

    pub fn is_excluded(&self, path: &Path) -> bool {
        self.exclude
            .as_ref()
            .is_some_and(|set| set.is_match(self.relative(path)))
    }

    /// The rule filter for one file.
    pub fn filter_for(&self, path: &Path) -> FileFilter {
        let relative = self.relative(path);
        let mut ignore: Vec<String> = self.options.ignore.clone().unwrap_or_default();
        for (set, rules) in &self.per_file {
            if set.is_match(relative) {
                ignore.extend(rules.iter().cloned());
            }
        }
        FileFilter {
            select: self
                .options
                .select
                .clone()
                .unwrap_or_else(|| vec!["ALL".to_string()]),
            ignore,
            severity: self.options.severity.clone().unwrap_or_default(),
        }
    }

    /// Does fix-all (on save, `check --fix`) apply this finding's fix?
    pub fn fix_all_applies(&self, diagnostic: &Diagnostic) -> bool {
        let Some(fix) = &diagnostic.fix else {
            return false;
        };
        match fix.applicability {
            Applicability::Safe => true,
            Applicability::Unsafe => {
                self.options.unsafe_fixes.unwrap_or(true)
                    && registry::meta(diagnostic.rule)
                        .is_some_and(|m| m.fix == FixAvailability::Unsafe && m.fix_on_save)
            }
        }
    }

    pub fn fix_on_save(&self) -> bool {
        self.options.fix_on_save.unwrap_or(true)
    }
}

#[derive(Debug)]
pub struct FileFilter {
    select: Vec<String>,
    ignore: Vec<String>,
    severity: BTreeMap<String, Severity>,
}

impl RuleFilter for FileFilter {
    fn enabled(&self, rule: &str) -> bool {
        let name = registry::meta(rule).map(|m| m.name.as_str()).unwrap_or("");
        self.select.iter().any(|s| selector_matches(s, rule, name))
            && !self.ignore.iter().any(|s| selector_matches(s, rule, name))
    }

    fn severity(&self, rule: &str, default: Severity) -> Severity {
        let name = registry::meta(rule).map(|m| m.name.as_str()).unwrap_or("");
        self.severity
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(rule) || k.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
            .unwrap_or(default)
    }
}

type Discovered = Result<Option<Arc<Config>>, ConfigError>;

/// Discovery results per directory, so a tree of thousands of files reads each config once.
#[derive(Default)]
pub struct ConfigCache {
    by_dir: Mutex<HashMap<PathBuf, Discovered>>,
}

impl ConfigCache {
    pub fn for_file(&self, path: &Path) -> Discovered {
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let dir = if dir.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            dir
        };
        let dir = std::fs::canonicalize(&dir).unwrap_or(dir);
        if let Some(found) = self
            .by_dir
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&dir)
        {
            return found.clone();
        }
        let found = Config::discover(&dir).map(|c| c.map(Arc::new));
        self.by_dir
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(dir, found.clone());
        found
    }

    pub fn clear(&self) {
        self.by_dir
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selection_prefixes_names_and_per_file_ignores() {
        let options: Options = toml::from_str(
            "select = [\"SEC\", \"allowed-hosts-wildcard\"]\nignore = [\"SEC008\"]\n[per-file-ignores]\n\"tests/**\" = [\"SEC001\"]\n[severity]\nCFG002 = \"error\"\n",
        )
        .unwrap();
        options.validate(None).unwrap();
        let config = Config::new(PathBuf::from("/p"), None, options);
        let filter = config.filter_for(Path::new("/p/app/settings.py"));
        assert!(filter.enabled("SEC001"));
        assert!(filter.enabled("CFG002"));
        assert!(!filter.enabled("CFG001"));
        assert!(!filter.enabled("SEC008"));
        assert_eq!(
            filter.severity("CFG002", Severity::Warning),
            Severity::Error
        );
        assert!(!config
            .filter_for(Path::new("/p/tests/settings.py"))
            .enabled("SEC001"));
    }

    #[test]
    fn unknown_keys_and_rules_are_errors() {
        let bad: toml::Table = toml::from_str("selekt = [\"SEC\"]").unwrap();
        assert!(Options::from_toml_table(&bad, Path::new("preflight.toml"))
            .unwrap_err()
            .message
            .contains("selekt"));
        let bad: toml::Table = toml::from_str("select = [\"NOPE9\"]").unwrap();
        assert!(Options::from_toml_table(&bad, Path::new("preflight.toml")).is_err());
        assert!(
            Options::from_json(&serde_json::json!({"settings": {"unsafeFixes": false}}))
                .unwrap()
                .unsafe_fixes
                == Some(false)
        );
    }
}
