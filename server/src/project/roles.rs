//! File roles, decided here and only here: is a file production code or configuration, a
//! development or test one, test code, an example or template, a tooling folder's fixture, a
//! migration, a management command, an entrypoint script? Path words give the first answer; the
//! file's contents (a `TestCase` subclass, `import pytest`) and the project (which settings
//! module a deployment names, which script a Dockerfile runs) refine it. Rules ask the role and
//! never read the path for it themselves.

use std::path::{Component, Path};

/// Where a configuration file belongs, by its name, its contents or what names it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Deployment {
    /// Nothing says: a plain `docker-compose.yml`, `.env`, `requirements.txt`.
    #[default]
    Unknown,
    Production,
    Development,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum EnvFileRole {
    /// `.env`, `.env.staging`, ...
    #[default]
    Plain,
    /// `.env.production`, `.env.prod`, `prod.env`, ...
    Production,
    /// `.env.local`, `.env.development`, `.env.test`, ...
    Development,
    /// `.env.example`, `.env.sample`, `.env.template`, `.env.dist`: committed on purpose, holds
    /// placeholders.
    Example,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct FileRole {
    pub deployment: Deployment,
    /// A Django-style settings module: `settings.py`, `settings_*.py`, `*_settings.py`, anything
    /// in a `settings/` package, or a module that defines INSTALLED_APPS / ROOT_URLCONF /
    /// MIDDLEWARE at top level.
    pub settings: bool,
    /// Development or test configuration or code (dev settings, tests, fixtures, examples,
    /// local scripts): insecure defaults are expected there.
    pub development: bool,
    /// Test code, by path (`tests/`, `unittests/`, `test_*.py`, `*_test_case.py`, conftest) or by
    /// content (a `TestCase` subclass, `import pytest`).
    pub test: bool,
    /// Examples and templates meant to be copied and edited (`settings_example.py`,
    /// `project_template/`, `docs/`): their literal values are placeholders.
    pub example: bool,
    /// Inside a hidden tooling folder (`.semgrep/`, `.claude/`, `.devcontainer/`) that was not
    /// named on the command line: not checked.
    pub tooling: bool,
    pub migration: bool,
    pub management_command: bool,
    /// An application configuration module (`config.py`, `conf.py`, `*_config.py`, `config/`).
    pub config_module: bool,
    /// A base settings module other modules build on (`base.py`, `common.py`, `defaults.py`).
    pub base_settings: bool,
    /// A development server launcher (`run_dev.py`, `devserver.py`, `runserver.py`, `manage.py`).
    pub dev_launcher: bool,
    /// A shell script that starts the application (run by a Dockerfile, compose or Procfile, or
    /// named like an entrypoint).
    pub entrypoint: bool,
    pub env: EnvFileRole,
}

impl FileRole {
    /// A settings module checked for production values: settings, not development, test or
    /// example.
    pub fn production_settings(&self) -> bool {
        self.settings && !self.development && !self.example
    }
}

const DEV_WORDS: &[&str] = &[
    "dev",
    "development",
    "local",
    "test",
    "tests",
    "testing",
    "ci",
    "conftest",
    "pytest",
];

const TEST_DIRS: &[&str] = &[
    "tests",
    "test",
    "testing",
    "unittests",
    "unit_tests",
    "integration_tests",
    "functional_tests",
    "testutils",
    "test_utils",
    "fixtures",
    "e2e",
];

pub const PRODUCTION_WORDS: &[&str] = &[
    "prod",
    "production",
    "prd",
    "live",
    "deploy",
    "deployment",
    "release",
];

/// The file name without its extension, lower-cased (`Settings_Prod.py` -> `settings_prod`).
pub fn lowercase_stem(path: &Path) -> String {
    path.file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("")
        .to_ascii_lowercase()
}

fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(['_', '-', '.']).filter(|w| !w.is_empty())
}

fn dirs(path: &Path) -> Vec<String> {
    path.parent()
        .map(|p| {
            p.components()
                .filter_map(|c| c.as_os_str().to_str())
                .map(|s| s.to_ascii_lowercase())
                .collect()
        })
        .unwrap_or_default()
}

fn template_word(w: &str) -> bool {
    matches!(
        w,
        "example" | "examples" | "sample" | "samples" | "template" | "tmpl" | "skeleton"
    )
}

/// `settings.py`, `settings_*.py`, `*_settings.py` or a module of a `settings/` package.
pub fn is_settings_path(path: &Path) -> bool {
    let stem = lowercase_stem(path);
    stem == "settings"
        || stem.starts_with("settings_")
        || stem.ends_with("_settings")
        || dirs(path).last().is_some_and(|d| d == "settings")
}

/// Examples and templates, by path: a template word in the name, or a folder of examples,
/// templates or documentation.
pub fn is_example_path(path: &Path) -> bool {
    let stem = lowercase_stem(path);
    words(&stem).any(template_word)
        || dirs(path).iter().any(|d| {
            template_word(d)
                || matches!(
                    d.as_str(),
                    "project_template" | "app_template" | "templates" | "docs" | "docs_src"
                )
        })
}

/// A hidden folder (`.semgrep/`, `.devcontainer/`) between the project root and the file, not
/// itself holding a path named on the command line.
pub fn in_tooling_folder(path: &Path, root: Option<&Path>, named: &[std::path::PathBuf]) -> bool {
    // Outside the project (or with no root) the folders above say nothing about the file.
    let Some(relative) = root.and_then(|r| path.strip_prefix(r).ok()) else {
        return false;
    };
    let mut prefix = root.map(Path::to_path_buf).unwrap_or_default();
    let components: Vec<Component> = relative.components().collect();
    for (i, component) in components.iter().enumerate() {
        prefix.push(component.as_os_str());
        if i + 1 == components.len() {
            break; // the file itself (`.env`, `.gitignore`) is not a folder
        }
        let Component::Normal(name) = component else {
            continue;
        };
        let hidden = name
            .to_str()
            .is_some_and(|n| n.starts_with('.') && n.len() > 1);
        if hidden && !named.iter().any(|n| n.starts_with(&prefix)) {
            return true;
        }
    }
    false
}

/// Test code by content: a unittest/Django/DRF test case class, or pytest imported.
pub fn is_test_by_content(text: &str) -> bool {
    const IMPORTS: &[&str] = &[
        "import pytest",
        "from pytest",
        "from django.test",
        "from rest_framework.test",
        "import unittest",
        "from unittest import",
    ];
    // One pass over the starts of lines: imports and class statements are at column 0.
    line_starts(text).any(|line| match line.as_bytes().first() {
        Some(b'i' | b'f') => IMPORTS.iter().any(|i| line.starts_with(i)),
        Some(b'c') => {
            line.starts_with("class ") && {
                let first = line.split('\n').next().unwrap_or(line);
                first.contains("TestCase") && first.contains('(')
            }
        }
        _ => false,
    })
}

/// The text from the start of each line (to the end of the text).
pub fn line_starts(text: &str) -> impl Iterator<Item = &str> {
    std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .filter(move |&at| at < text.len())
        .map(move |at| &text[at..])
}

/// The role of a Python module from its path and text; the project adds what only it knows.
pub fn python_role(path: &Path, text: &str, defines_settings: bool) -> FileRole {
    let stem = lowercase_stem(path);
    let dirs = dirs(path);
    let stem_words: Vec<&str> = stem.split('_').collect();
    let dev_name = DEV_WORDS.contains(&stem.as_str())
        || stem_words.first().is_some_and(|w| DEV_WORDS.contains(w))
        || stem_words.last().is_some_and(|w| DEV_WORDS.contains(w));
    let test_path = dirs.iter().any(|d| TEST_DIRS.contains(&d.as_str()))
        || stem.starts_with("test_")
        || stem.ends_with("_test")
        || stem.ends_with("_tests")
        || stem.ends_with("_test_case")
        || stem.ends_with("testcase")
        || matches!(
            stem.as_str(),
            "conftest" | "test" | "tests" | "testing" | "ci"
        );
    let test = test_path || is_test_by_content(text);
    let example = is_example_path(path);
    let base_settings = words(stem.trim_start_matches('_'))
        .any(|w| matches!(w, "base" | "common" | "defaults" | "shared"));
    let dev_launcher = words(&stem).any(|w| {
        matches!(
            w,
            "dev"
                | "develop"
                | "development"
                | "debug"
                | "local"
                | "devserver"
                | "runserver"
                | "manage"
                | "reload"
                | "autoreload"
                | "watch"
        )
    });
    FileRole {
        settings: is_settings_path(path) || defines_settings,
        development: dev_name || test,
        test,
        example,
        migration: dirs
            .iter()
            .any(|d| d == "migrations" || d == "_migrations" || d == "alembic"),
        management_command: dirs.iter().any(|d| d == "management"),
        config_module: stem == "config"
            || stem == "conf"
            || stem == "configuration"
            || stem.ends_with("_config")
            || stem.starts_with("config_")
            || dirs.last().is_some_and(|d| d == "config"),
        base_settings,
        dev_launcher,
        ..FileRole::default()
    }
}

pub fn env_file_role(path: &Path) -> EnvFileRole {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let parts: Vec<&str> = name
        .split(['.', '-', '_'])
        .filter(|p| !p.is_empty())
        .collect();
    let has = |words: &[&str]| parts.iter().any(|p| words.contains(p));
    if has(&[
        "example", "sample", "template", "dist", "tmpl", "tpl", "defaults", "skel",
    ]) {
        EnvFileRole::Example
    } else if has(&["production", "prod", "live", "prd"]) {
        EnvFileRole::Production
    } else if has(&["local", "development", "dev", "test", "testing", "ci"]) {
        EnvFileRole::Development
    } else {
        EnvFileRole::Plain
    }
}

/// Where a deployment file (compose, Dockerfile, requirements, script) belongs by the words of
/// its name and folders: `docker-compose.prod.yml`, `compose/production/Dockerfile`,
/// `requirements/dev.txt`, `Dockerfile.test`.
pub fn deployment_by_name(path: &Path) -> Deployment {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let mut name_words: Vec<String> = words(&name).map(str::to_string).collect();
    // `docker-compose.yml` itself says nothing; only the words besides the kind's own name do.
    name_words.retain(|w| {
        !matches!(
            w.as_str(),
            "docker" | "compose" | "yml" | "yaml" | "dockerfile" | "txt" | "sh" | "requirements"
        )
    });
    let dev_words: &[&str] = &[
        "dev",
        "development",
        "develop",
        "local",
        "test",
        "tests",
        "testing",
        "ci",
        "e2e",
        "override",
        "debug",
        "lint",
        "docs",
        "doc",
        "typing",
        "mypy",
        "tox",
        "qa",
        "devcontainer",
        "sandbox",
        "demo",
        "devel",
        "playwright",
        "cypress",
        "selenium",
    ];
    let is = |w: &String, list: &[&str]| list.contains(&w.as_str());
    if name_words.iter().any(|w| is(w, dev_words)) {
        return Deployment::Development;
    }
    if name_words.iter().any(|w| is(w, PRODUCTION_WORDS)) {
        return Deployment::Production;
    }
    let folder_dev: &[&str] = &[
        "dev",
        "development",
        "local",
        "test",
        "tests",
        "ci",
        "e2e",
        "demo",
        "example",
        "examples",
        "sandbox",
    ];
    let folders = dirs(path);
    if folders.iter().any(|d| folder_dev.contains(&d.as_str())) {
        return Deployment::Development;
    }
    if folders
        .iter()
        .any(|d| PRODUCTION_WORDS.contains(&d.as_str()))
    {
        return Deployment::Production;
    }
    Deployment::Unknown
}

/// Distributions that belong to development and testing only (normalised names): a production
/// image that installs them is larger, slower to build, and runs tools such as the Django debug
/// toolbar or a debugger that must never face the Internet.
pub fn development_only(name: &str) -> bool {
    const TOOLS: &[&str] = &[
        "django-debug-toolbar",
        "django-silk",
        "pytest",
        "coverage",
        "black",
        "ruff",
        "flake8",
        "mypy",
        "pylint",
        "isort",
        "ipython",
        "ipdb",
        "pdbpp",
        "debugpy",
        "factory-boy",
        "model-bakery",
        "pre-commit",
        "tox",
        "nox",
        "responses",
        "bandit",
        "django-stubs",
        "sphinx",
        "werkzeug-debugger",
    ];
    TOOLS.contains(&name) || name.starts_with("pytest-") || name.starts_with("flake8-")
}

/// Settings modules named for production (`production.py`, `settings_prod.py`, `live.py`).
pub fn production_settings_name(path: &Path) -> bool {
    words(&lowercase_stem(path)).any(|w| PRODUCTION_WORDS.contains(&w))
}

/// Scripts named like the thing a container runs: `entrypoint.sh`, `docker-entrypoint.sh`,
/// `start.sh`, `start-web`, `run.sh`, `boot.sh`.
pub fn entrypoint_name(path: &Path) -> bool {
    let stem = lowercase_stem(path);
    stem.contains("entrypoint")
        || words(&stem).any(|w| matches!(w, "start" | "run" | "boot" | "serve" | "server" | "web"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_file_roles() {
        let role = |p: &str| env_file_role(Path::new(p));
        assert_eq!(role(".env"), EnvFileRole::Plain);
        assert_eq!(role(".env.production"), EnvFileRole::Production);
        assert_eq!(role("prod.env"), EnvFileRole::Production);
        assert_eq!(role(".env.example"), EnvFileRole::Example);
        assert_eq!(role(".env.production.example"), EnvFileRole::Example);
        assert_eq!(role(".env.local"), EnvFileRole::Development);
    }

    #[test]
    fn python_roles_by_path_and_content() {
        let role = |p: &str, text: &str| python_role(Path::new(p), text, false);
        assert!(role("proj/settings.py", "").settings);
        assert!(role("proj/settings/production.py", "").settings);
        assert!(!role("proj/settings/production.py", "").development);
        assert!(role("proj/settings/dev.py", "").development);
        assert!(role("proj/settings/local.py", "").development);
        assert!(role("tests/test_views.py", "").test);
        assert!(role("app/unittests/helpers.py", "").test);
        assert!(role("app/api_test_case.py", "").test);
        assert!(role("app/helpers.py", "from django.test import TestCase\n").test);
        assert!(role("app/base.py", "class ApiCase(APITestCase):\n    pass\n").test);
        assert!(!role("app/views.py", "def view(request):\n    return 1\n").development);
        assert!(!role("app/latest.py", "").development);
        assert!(role("app/migrations/0001_initial.py", "").migration);
        assert!(role("docs/conf_example.py", "").example);
    }

    #[test]
    fn tooling_folders_unless_named() {
        let root = Path::new("/p");
        assert!(in_tooling_folder(
            Path::new("/p/.semgrep/rules/x.py"),
            Some(root),
            &[]
        ));
        assert!(!in_tooling_folder(Path::new("/p/.env"), Some(root), &[]));
        assert!(!in_tooling_folder(
            Path::new("/p/app/x.py"),
            Some(root),
            &[]
        ));
        assert!(!in_tooling_folder(
            Path::new("/p/.semgrep/rules/x.py"),
            Some(root),
            &[Path::new("/p/.semgrep").to_path_buf()]
        ));
    }

    #[test]
    fn deployment_roles_by_name() {
        let d = |p: &str| deployment_by_name(Path::new(p));
        assert_eq!(d("docker-compose.yml"), Deployment::Unknown);
        assert_eq!(d("docker-compose.prod.yml"), Deployment::Production);
        assert_eq!(d("compose.override.yaml"), Deployment::Development);
        assert_eq!(d("Dockerfile.dev"), Deployment::Development);
        assert_eq!(
            d("compose/production/django/Dockerfile"),
            Deployment::Production
        );
        assert_eq!(
            d("compose/local/django/Dockerfile"),
            Deployment::Development
        );
        assert_eq!(d("requirements/dev.txt"), Deployment::Development);
        assert_eq!(d("requirements.txt"), Deployment::Unknown);
        assert_eq!(d("requirements-test.txt"), Deployment::Development);
    }
}
