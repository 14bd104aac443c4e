//! `pyproject.toml` as a dependency manifest: `[project]` dependencies and optional
//! dependencies, PEP 735 `[dependency-groups]`, Poetry's `[tool.poetry.*dependencies]` and
//! groups, uv's and PDM's development dependencies, and the `DJANGO_SETTINGS_MODULE` that
//! pytest-django reads. Read with toml_edit, which keeps the span of every key and value.

use std::ops::Range;

use toml_edit::{ImDocument, Item, Table, Value};

use super::requirements::{self, is_pin};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dependency {
    pub name: String,
    pub name_range: Range<usize>,
    pub specifier: String,
    pub pinned: bool,
    /// `None` for the dependencies a plain install gets; the extra or group name otherwise
    /// (`dev`, `test`, `docs`...).
    pub group: Option<String>,
    /// An optional extra (`[project.optional-dependencies]`): installed only when asked for,
    /// unlike dependency groups, which `poetry install` and `uv sync` install by default.
    pub extra: bool,
    pub range: Range<usize>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PyProject {
    pub dependencies: Vec<Dependency>,
    /// The `dependencies = [...]` (or `[tool.poetry.dependencies]`) key, where a finding about
    /// the set as a whole goes.
    pub dependencies_key: Option<Range<usize>>,
    /// `[tool.pytest.ini_options] DJANGO_SETTINGS_MODULE`.
    pub pytest_settings_module: Option<(String, Range<usize>)>,
    /// The file is not valid TOML: (span, message).
    pub error: Option<(Range<usize>, String)>,
}

pub fn parse(text: &str) -> PyProject {
    let mut out = PyProject::default();
    let document = match ImDocument::parse(text) {
        Ok(d) => d,
        Err(e) => {
            let span = e.span().unwrap_or(0..0);
            out.error = Some((span, e.message().to_string()));
            return out;
        }
    };
    let root = document.as_table();
    if let Some(project) = table(root, "project") {
        if let Some((key, item)) = project.get_key_value("dependencies") {
            out.dependencies_key = key.span();
            pep508_array(item, None, &mut out.dependencies);
        }
        if let Some(extras) = table(project, "optional-dependencies") {
            for (name, item) in extras.iter() {
                let first = out.dependencies.len();
                pep508_array(item, Some(name), &mut out.dependencies);
                out.dependencies[first..]
                    .iter_mut()
                    .for_each(|d| d.extra = true);
            }
        }
    }
    if let Some(groups) = table(root, "dependency-groups") {
        for (name, item) in groups.iter() {
            pep508_array(item, Some(name), &mut out.dependencies);
        }
    }
    let tool = table(root, "tool");
    if let Some(poetry) = tool.and_then(|t| table(t, "poetry")) {
        if let Some((key, item)) = poetry.get_key_value("dependencies") {
            if out.dependencies_key.is_none() {
                out.dependencies_key = key.span();
            }
            poetry_table(item, None, &mut out.dependencies);
        }
        if let Some(item) = poetry.get("dev-dependencies") {
            poetry_table(item, Some("dev"), &mut out.dependencies);
        }
        if let Some(groups) = table(poetry, "group") {
            for (name, group) in groups.iter() {
                if let Some(item) = group.as_table_like().and_then(|g| g.get("dependencies")) {
                    poetry_table(item, Some(name), &mut out.dependencies);
                }
            }
        }
    }
    if let Some(uv) = tool.and_then(|t| table(t, "uv")) {
        if let Some(item) = uv.get("dev-dependencies") {
            pep508_array(item, Some("dev"), &mut out.dependencies);
        }
    }
    if let Some(pdm) = tool.and_then(|t| table(t, "pdm")) {
        if let Some(groups) = table(pdm, "dev-dependencies") {
            for (name, item) in groups.iter() {
                pep508_array(item, Some(name), &mut out.dependencies);
            }
        }
    }
    if let Some(options) = tool
        .and_then(|t| table(t, "pytest"))
        .and_then(|p| table(p, "ini_options"))
    {
        if let Some(value) = options
            .get("DJANGO_SETTINGS_MODULE")
            .and_then(Item::as_value)
        {
            if let (Some(module), Some(span)) = (value.as_str(), value.span()) {
                out.pytest_settings_module = Some((module.to_string(), span));
            }
        }
    }
    out
}

fn table<'a>(parent: &'a Table, key: &str) -> Option<&'a Table> {
    parent.get(key).and_then(Item::as_table)
}

fn pep508_array(item: &Item, group: Option<&str>, out: &mut Vec<Dependency>) {
    let Some(array) = item.as_array() else { return };
    for value in array.iter() {
        let (Some(text), Some(span)) = (value.as_str(), value.span()) else {
            continue; // `{include-group = "test"}`
        };
        let Some(spec) = requirements::pep508(text) else {
            continue;
        };
        // The string's content starts after its opening quote (a literal or basic string
        // without escapes in the name: names are ASCII words).
        let content = span.start + 1;
        out.push(Dependency {
            name: spec.name,
            name_range: content + spec.name_range.start..content + spec.name_range.end,
            specifier: spec.specifier,
            pinned: spec.pinned,
            group: group.map(str::to_string),
            extra: false,
            range: span,
        });
    }
}

/// `name = "^4.2"`, `name = {version = "4.2.1", extras = [...]}`, `name = {git = ..., rev = ...}`.
fn poetry_table(item: &Item, group: Option<&str>, out: &mut Vec<Dependency>) {
    let Some(deps) = item.as_table_like() else {
        return;
    };
    for (name, value) in deps.iter() {
        if name == "python" {
            continue;
        }
        let Some((key, _)) = deps.get_key_value(name) else {
            continue;
        };
        let name_range = key.span().unwrap_or(0..0);
        let (specifier, pinned, range) = match value {
            Item::Value(Value::String(s)) => {
                let version = s.value().trim().to_string();
                let pinned = poetry_version_is_pin(&version);
                (version, pinned, s.span().unwrap_or(name_range.clone()))
            }
            Item::Value(Value::InlineTable(t)) => {
                let version = t
                    .get("version")
                    .and_then(|v| v.as_str())
                    .unwrap_or("")
                    .to_string();
                let pinned = poetry_version_is_pin(&version)
                    || t.get("rev").is_some()
                    || t.get("tag").is_some()
                    || t.get("path").is_some();
                (version, pinned, t.span().unwrap_or(name_range.clone()))
            }
            _ => (String::new(), false, name_range.clone()),
        };
        out.push(Dependency {
            name: name.to_string(),
            name_range,
            specifier,
            pinned,
            group: group.map(str::to_string),
            extra: false,
            range,
        });
    }
}

/// Poetry reads a bare version (`"4.2.1"`) as `==4.2.1`.
fn poetry_version_is_pin(version: &str) -> bool {
    is_pin(version)
        || (!version.is_empty()
            && version.chars().all(|c| c.is_ascii_digit() || c == '.')
            && version.matches('.').count() >= 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dependencies_groups_and_pytest_settings() {
        let text = r#"
[project]
name = "app"
dependencies = ["django>=5.0", "gunicorn==23.0.0"]

[project.optional-dependencies]
test = ["pytest"]

[dependency-groups]
dev = ["ruff", {include-group = "test"}]

[tool.poetry.dependencies]
python = "^3.12"
celery = "^5.3"
stripe = "7.1.0"

[tool.pytest.ini_options]
DJANGO_SETTINGS_MODULE = "app.settings.test"
"#;
        let py = parse(text);
        assert!(py.error.is_none());
        let deps: Vec<(&str, bool, Option<&str>)> = py
            .dependencies
            .iter()
            .map(|d| (d.name.as_str(), d.pinned, d.group.as_deref()))
            .collect();
        assert_eq!(
            deps,
            [
                ("django", false, None),
                ("gunicorn", true, None),
                ("pytest", false, Some("test")),
                ("ruff", false, Some("dev")),
                ("celery", false, None),
                ("stripe", true, None),
            ]
        );
        assert_eq!(&text[py.dependencies[0].name_range.clone()], "django");
        assert_eq!(&text[py.dependencies_key.clone().unwrap()], "dependencies");
        assert_eq!(
            py.pytest_settings_module.as_ref().unwrap().0,
            "app.settings.test"
        );
    }

    #[test]
    fn invalid_toml_is_an_error_with_a_span() {
        let py = parse("[project\nname = 1\n");
        assert!(py.error.is_some());
    }
}
