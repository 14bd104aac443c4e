//! The Compose file model (compose.yaml, docker-compose*.yml): services with their image, build,
//! environment (map and list forms), env files, command, entrypoint, healthcheck, ports and user,
//! each with the byte spans a finding or a fix needs. Read from the YAML value tree, so anchors
//! and merge keys are already resolved.

use std::ops::Range;

use super::shell::{Script, SimpleCommand};
use super::yaml::{self, Node, Style, Value, Yaml};

#[derive(Debug, Default)]
pub struct Compose {
    pub yaml: Yaml,
    pub services: Vec<Service>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Text {
    pub text: String,
    pub range: Range<usize>,
}

/// One variable of a service's `environment:`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvVar {
    pub name: String,
    pub name_range: Range<usize>,
    /// `None` when the variable is passed through from the host (`KEY:` or `- KEY`).
    pub value: Option<String>,
    /// Where the value is written (for a list item `- KEY=value`: the part after `=` when the item
    /// is written verbatim, else the whole item).
    pub value_range: Range<usize>,
    /// The whole `KEY: value` pair or `- KEY=value` item value.
    pub range: Range<usize>,
    /// Written as a list item (`- KEY=value`) rather than a mapping pair.
    pub list_form: bool,
    /// Reached through an alias or a merge key: the text is written elsewhere.
    pub shared: bool,
    pub quoted: bool,
}

/// A command as compose takes it: a string (split into words by compose, not run by a shell) or
/// a list of words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    String(Text),
    List(Vec<Text>),
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Service {
    pub name: String,
    pub name_range: Range<usize>,
    pub range: Range<usize>,
    pub image: Option<Text>,
    /// `build:` as a string, or its `context:`.
    pub build_context: Option<Text>,
    pub build_dockerfile: Option<Text>,
    pub build_target: Option<Text>,
    pub environment: Vec<EnvVar>,
    pub env_files: Vec<Text>,
    pub command: Option<Command>,
    pub entrypoint: Option<Command>,
    /// `Some(true)` when a healthcheck is configured, `Some(false)` when it is disabled
    /// (`disable: true` or `test: ["NONE"]`), `None` when there is no `healthcheck:`.
    pub healthcheck: Option<bool>,
    pub ports: Vec<Text>,
    /// `expose:`: ports other services reach (a server behind a proxy).
    pub expose: Vec<Text>,
    pub user: Option<Text>,
    pub profiles: Vec<String>,
    pub depends_on: Vec<String>,
}

pub fn parse(text: &str) -> Compose {
    from_yaml(yaml::parse(text), text)
}

pub fn from_yaml(yaml: Yaml, text: &str) -> Compose {
    let mut services = Vec::new();
    if let Some(root) = yaml.documents.first() {
        if let Some(list) = root.get("services") {
            for pair in list.pairs() {
                services.push(service(
                    &pair.key,
                    pair.key_range.clone(),
                    &pair.value,
                    text,
                ));
            }
        }
    }
    Compose { yaml, services }
}

fn text_of(node: &Node) -> Option<Text> {
    node.as_str().map(|s| Text {
        text: s.to_string(),
        range: node.range.clone(),
    })
}

fn command(node: &Node) -> Option<Command> {
    match &node.value {
        Value::Scalar(_) => text_of(node).map(Command::String),
        Value::Seq(items) => Some(Command::List(items.iter().filter_map(text_of).collect())),
        _ => None,
    }
}

impl Command {
    /// The words of a compose `command:`/`entrypoint:`, read as shell when it is a string (and
    /// into `sh -c "..."` when it is a list). Spans point into the string when it is written
    /// verbatim, else at the whole string.
    pub fn script(&self, source: &str) -> Script {
        match self {
            Command::String(text) => {
                let raw = &source[text.range.clone()];
                let origin = if raw == text.text {
                    Some(text.range.start)
                } else if raw.len() == text.text.len() + 2 && raw[1..raw.len() - 1] == text.text {
                    Some(text.range.start + 1)
                } else {
                    None
                };
                let whole = text.range.clone();
                super::shell::read_embedded(&text.text, &|r| match origin {
                    Some(o) => o + r.start..o + r.end,
                    None => whole.clone(),
                })
            }
            Command::List(words) => {
                let mut script = Script::default();
                if let (Some(first), Some(last)) = (words.first(), words.last()) {
                    let list = SimpleCommand {
                        words: words
                            .iter()
                            .map(|w| super::shell::Word {
                                text: w.text.clone(),
                                range: w.range.clone(),
                            })
                            .collect(),
                        range: first.range.start..last.range.end,
                        env: Vec::new(),
                    };
                    // `["sh", "-c", "python manage.py migrate && ..."]`: read the script too.
                    let program = list.program();
                    if program.len() >= 3
                        && matches!(program[0].text.rsplit('/').next(), Some("sh" | "bash"))
                        && program[1].text == "-c"
                    {
                        let inner = &program[2];
                        let range = inner.range.clone();
                        let nested = super::shell::read_embedded(&inner.text, &|_| range.clone());
                        script.commands.extend(nested.commands);
                    }
                    script.commands.insert(0, list);
                }
                script
            }
        }
    }
}

fn service(name: &str, name_range: Range<usize>, node: &Node, source: &str) -> Service {
    let mut service = Service {
        name: name.to_string(),
        name_range,
        range: node.range.clone(),
        ..Service::default()
    };
    service.image = node.get("image").and_then(text_of);
    if let Some(build) = node.get("build") {
        match &build.value {
            Value::Scalar(_) => service.build_context = text_of(build),
            Value::Map(_) => {
                service.build_context = build.get("context").and_then(text_of);
                service.build_dockerfile = build.get("dockerfile").and_then(text_of);
                service.build_target = build.get("target").and_then(text_of);
                if service.build_context.is_none() {
                    service.build_context = Some(Text {
                        text: ".".to_string(),
                        range: build.range.clone(),
                    });
                }
            }
            _ => {}
        }
    }
    if let Some(environment) = node.get("environment") {
        service.environment = environment_vars(environment, source);
    }
    if let Some(env_file) = node.get("env_file") {
        let entries: Vec<&Node> = match &env_file.value {
            Value::Seq(items) => items.iter().collect(),
            _ => vec![env_file],
        };
        for entry in entries {
            // `env_file: [{path: .env, required: false}]`
            let path = entry.get("path").unwrap_or(entry);
            if let Some(text) = text_of(path) {
                service.env_files.push(text);
            }
        }
    }
    service.command = node.get("command").and_then(command);
    service.entrypoint = node.get("entrypoint").and_then(command);
    service.healthcheck = node.get("healthcheck").map(|h| {
        let disabled = h
            .get("disable")
            .and_then(|d| d.as_str())
            .is_some_and(|d| d == "true")
            || h.get("test").is_some_and(|t| match &t.value {
                Value::Seq(items) => items.first().and_then(|i| i.as_str()) == Some("NONE"),
                Value::Scalar(s) => s.text == "NONE",
                _ => false,
            });
        !disabled
    });
    if let Some(ports) = node.get("ports") {
        for port in ports.items() {
            if let Some(text) = text_of(port) {
                service.ports.push(text);
            } else if let Some(published) = port.get("published").and_then(text_of) {
                service.ports.push(published);
            } else if let Some(target) = port.get("target").and_then(text_of) {
                service.ports.push(target);
            }
        }
    }
    if let Some(expose) = node.get("expose") {
        service.expose = expose.items().iter().filter_map(text_of).collect();
    }
    service.user = node.get("user").and_then(text_of);
    if let Some(profiles) = node.get("profiles") {
        service.profiles = profiles
            .items()
            .iter()
            .filter_map(|p| p.as_str().map(str::to_string))
            .collect();
    }
    if let Some(depends_on) = node.get("depends_on") {
        service.depends_on = match &depends_on.value {
            Value::Seq(items) => items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_string))
                .collect(),
            Value::Map(pairs) => pairs.iter().map(|p| p.key.clone()).collect(),
            _ => Vec::new(),
        };
    }
    service
}

fn environment_vars(node: &Node, source: &str) -> Vec<EnvVar> {
    let mut vars = Vec::new();
    match &node.value {
        Value::Map(pairs) => {
            for pair in pairs {
                let value = pair.value.scalar();
                vars.push(EnvVar {
                    name: pair.key.clone(),
                    name_range: pair.key_range.clone(),
                    value: value.map(|s| s.text.clone()),
                    value_range: pair.value.range.clone(),
                    range: pair.key_range.start..pair.value.range.end.max(pair.key_range.end),
                    list_form: false,
                    shared: pair.merged || pair.value.aliased,
                    quoted: value.is_some_and(|s| s.style != Style::Plain),
                });
            }
        }
        Value::Seq(items) => {
            for item in items {
                let Some(scalar) = item.scalar() else {
                    continue;
                };
                let raw = &source[item.range.clone()];
                let verbatim = scalar.is_verbatim(raw);
                // Where the scalar's text starts in the file, when offsets carry over.
                let origin = if verbatim {
                    item.range.start + usize::from(scalar.style != Style::Plain)
                } else {
                    item.range.start
                };
                let (name, value) = match scalar.text.split_once('=') {
                    Some((name, value)) => (name.to_string(), Some(value.to_string())),
                    None => (scalar.text.clone(), None),
                };
                let name_range = if verbatim {
                    origin..origin + name.len()
                } else {
                    item.range.clone()
                };
                let value_range = match (&value, verbatim) {
                    (Some(v), true) => {
                        let start = origin + name.len() + 1;
                        start..start + v.len()
                    }
                    _ => item.range.clone(),
                };
                vars.push(EnvVar {
                    name: name.trim().to_string(),
                    name_range,
                    value,
                    value_range,
                    range: item.range.clone(),
                    list_form: true,
                    shared: item.aliased,
                    quoted: scalar.style != Style::Plain,
                });
            }
        }
        _ => {}
    }
    vars
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_environment_forms_and_commands() {
        let text = r#"
x-common: &common
  environment:
    SHARED: "1"
services:
  web:
    <<: *common
    build: .
    command: gunicorn app.wsgi:application
    ports:
      - "8000:8000"
    env_file: .env
  worker:
    image: app
    environment:
      - SECRET_KEY=abc
      - PASSTHROUGH
      - "QUOTED=x y"
    command: ["celery", "-A", "app", "worker"]
    healthcheck:
      disable: true
"#;
        let compose = parse(text);
        assert_eq!(compose.services.len(), 2);
        let web = &compose.services[0];
        assert_eq!(web.name, "web");
        assert_eq!(web.build_context.as_ref().unwrap().text, ".");
        assert_eq!(web.environment[0].name, "SHARED");
        assert!(web.environment[0].shared);
        assert_eq!(web.env_files[0].text, ".env");
        assert!(matches!(&web.command, Some(Command::String(t)) if t.text.starts_with("gunicorn")));
        assert_eq!(web.healthcheck, None);
        let worker = &compose.services[1];
        let secret = &worker.environment[0];
        assert_eq!(secret.name, "SECRET_KEY");
        assert_eq!(&text[secret.name_range.clone()], "SECRET_KEY");
        assert_eq!(&text[secret.value_range.clone()], "abc");
        assert_eq!(worker.environment[1].value, None);
        let quoted = &worker.environment[2];
        assert_eq!(&text[quoted.value_range.clone()], "x y");
        assert_eq!(worker.healthcheck, Some(false));
        assert!(matches!(&worker.command, Some(Command::List(words)) if words.len() == 4));
    }
}

/// One `${NAME...}` or `$NAME` of a compose value (compose interpolates them from the shell
/// environment and `.env`; `$$` is a literal `$`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interpolation {
    pub name: String,
    /// `""` for `${NAME}` / `$NAME`, else `:-`, `-`, `:?`, `?`, `:+`, `+`.
    pub operator: String,
    /// What follows the operator (the default, the error message, the alternative).
    pub argument: String,
    /// Within the value's text.
    pub range: Range<usize>,
}

impl Interpolation {
    /// `${NAME:-x}` / `${NAME-x}`: a value used when the variable is unset (or empty).
    pub fn default_value(&self) -> Option<&str> {
        matches!(self.operator.as_str(), ":-" | "-").then_some(self.argument.as_str())
    }
}

/// The interpolations of a value, outermost only (`${A:-${B}}` is one, whose argument is `${B}`).
pub fn interpolations(value: &str) -> Vec<Interpolation> {
    let bytes = value.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'$' {
            i += 1;
            continue;
        }
        match bytes.get(i + 1) {
            Some(b'$') => i += 2,
            Some(b'{') => {
                let start = i;
                let mut depth = 0;
                let mut j = i + 1;
                let mut end = None;
                while j < bytes.len() {
                    match bytes[j] {
                        b'{' => depth += 1,
                        b'}' => {
                            depth -= 1;
                            if depth == 0 {
                                end = Some(j);
                                break;
                            }
                        }
                        _ => {}
                    }
                    j += 1;
                }
                let Some(end) = end else { break };
                let inner = &value[start + 2..end];
                let name_len = inner
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(inner.len());
                let rest = &inner[name_len..];
                let operator = [":-", ":?", ":+", "-", "?", "+"]
                    .iter()
                    .find(|op| rest.starts_with(**op))
                    .copied()
                    .unwrap_or("");
                out.push(Interpolation {
                    name: inner[..name_len].to_string(),
                    operator: operator.to_string(),
                    argument: rest[operator.len()..].to_string(),
                    range: start..end + 1,
                });
                i = end + 1;
            }
            Some(c) if c.is_ascii_alphabetic() || *c == b'_' => {
                let start = i;
                let mut j = i + 1;
                while j < bytes.len() && (bytes[j].is_ascii_alphanumeric() || bytes[j] == b'_') {
                    j += 1;
                }
                out.push(Interpolation {
                    name: value[start + 1..j].to_string(),
                    operator: String::new(),
                    argument: String::new(),
                    range: start..j,
                });
                i = j;
            }
            _ => i += 1,
        }
    }
    out
}

/// The value with every interpolation and `$$` taken out: what is written literally.
pub fn literal_part(value: &str) -> String {
    let mut out = String::new();
    let mut last = 0;
    for interpolation in interpolations(value) {
        out.push_str(&value[last..interpolation.range.start]);
        last = interpolation.range.end;
    }
    out.push_str(&value[last..]);
    out.replace("$$", "$")
}

#[cfg(test)]
mod interpolation_tests {
    use super::*;

    #[test]
    fn reads_interpolations() {
        let found =
            interpolations("postgres://u:${DB_PASSWORD:-secret}@db/$DB_NAME?x=$$1&y=${Z:?set Z}");
        let names: Vec<(&str, &str, &str)> = found
            .iter()
            .map(|i| (i.name.as_str(), i.operator.as_str(), i.argument.as_str()))
            .collect();
        assert_eq!(
            names,
            [
                ("DB_PASSWORD", ":-", "secret"),
                ("DB_NAME", "", ""),
                ("Z", ":?", "set Z")
            ]
        );
        assert_eq!(found[0].default_value(), Some("secret"));
        assert_eq!(literal_part("a${B}c$$d"), "ac$d");
        assert_eq!(interpolations("${A:-${B}}").len(), 1);
    }
}
