//! The facts of one file that other files' analyses need: what it reads from and sets in the
//! environment, its Django settings statements (star imports and assignments, in order), its
//! Celery tasks, the commands a deployment file runs, the images it builds, the requirements it
//! lists or installs, the patterns of an ignore file. Extracted once per version of the file,
//! cheap to compare and to store in the `check` cache. Spans are byte ranges of the file.

use std::path::Path;

use serde::{Deserialize, Serialize};
use tree_sitter::Node;

use crate::analysis::context::PythonFile;
use crate::analysis::env_reads::{self, EnvApi};
use crate::syntax::compose::Compose;
use crate::syntax::dockerfile::Dockerfile;
use crate::syntax::procfile::Procfile;
use crate::syntax::pyproject::PyProject;
use crate::syntax::requirements::{IncludeKind, Requirements};
use crate::syntax::shell::{Script, SimpleCommand};
use crate::syntax::{dotenv::DotEnv, python, FileKind};

pub type Span = (usize, usize);

fn span(range: &std::ops::Range<usize>) -> Span {
    (range.start, range.end)
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FileFacts {
    pub env_reads: Vec<EnvReadFact>,
    pub env_sets: Vec<EnvSetFact>,
    pub python: Option<PythonFacts>,
    pub services: Vec<ServiceFacts>,
    pub dockerfile: Option<DockerfileFacts>,
    /// Commands the file runs (entrypoint scripts, Procfile lines, compose commands, Dockerfile
    /// `CMD`/`ENTRYPOINT`): each as its program's words.
    pub commands: Vec<CommandFact>,
    /// Requirement files this one includes (`-r`), as written.
    pub includes: Vec<String>,
    /// Distribution names listed (normalised).
    pub requirements: Vec<String>,
    /// A requirements file that pins everything it lists (written by a lock tool, or every line
    /// `==` / hashed): it is a lock file.
    pub requirements_locked: bool,
    /// `pyproject.toml` dependency groups that a plain `poetry install` / `uv sync` installs
    /// (development groups, unlike optional extras).
    pub dependency_groups: Vec<String>,
    /// Lines of an ignore file, in order.
    pub ignore_patterns: Vec<String>,
    /// `DJANGO_SETTINGS_MODULE` values the file names, with where.
    pub settings_modules: Vec<SettingsModuleRef>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EnvReadFact {
    pub name: String,
    pub span: Span,
    pub has_default: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SetOrigin {
    /// A compose service's `environment:`.
    Compose,
    DotEnv,
    DockerEnv,
    DockerArg,
    /// `export X=...` or `X=...` in a script.
    Shell,
    /// `X=value command` on a command line.
    CommandPrefix,
    /// `os.environ.setdefault("X", ...)` / `os.environ["X"] = ...` in Python.
    Python,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EnvSetFact {
    pub name: String,
    /// The literal value, when there is one.
    pub value: Option<String>,
    pub span: Span,
    pub origin: SetOrigin,
    /// The compose service it is set for.
    pub service: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SettingsModuleRef {
    pub module: String,
    pub span: Span,
}

/// A module-level statement of a Python module that the settings layering needs, in order.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TopLevel {
    /// `from <module> import *` (module as written, dots included).
    StarImport { module: String, conditional: bool },
    /// `NAME = ...` (also `NAME: T = ...`); `start` is the statement's first byte.
    Assign {
        name: String,
        start: usize,
        conditional: bool,
    },
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PythonFacts {
    pub top_level: Vec<TopLevel>,
    /// Names the module binds at top level (functions, classes, assignments, imports), so
    /// `gunicorn proj.wsgi:application` can be checked against `proj/wsgi.py`.
    pub defines: Vec<String>,
    pub tasks: Vec<TaskFact>,
    /// `app = Celery("proj")` at top level: (variable, main name).
    pub celery_apps: Vec<(String, Option<String>)>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TaskFact {
    pub function: String,
    /// The explicit `name=` of the task decorator.
    pub name: Option<String>,
    pub span: Span,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ServiceFacts {
    pub name: String,
    pub image: Option<String>,
    pub build_context: Option<String>,
    pub dockerfile: Option<String>,
    pub user: Option<String>,
    pub healthcheck: Option<bool>,
    pub env_files: Vec<String>,
    pub ports: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DockerfileFacts {
    /// The last `USER` of the final stage (or of the stage it is built from).
    pub final_user: Option<String>,
    pub final_healthcheck: bool,
    /// The image the final stage is built on (through the stages it is built `FROM`).
    pub final_base: String,
    /// Files `COPY`/`ADD` puts into stages that reach the final image (sources as written).
    pub copied: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CommandFact {
    /// Every word of the command line, wrappers (`exec`, `gosu user`) included.
    pub words: Vec<String>,
    /// Where the program itself starts in `words`, past the wrappers.
    pub program: usize,
    pub span: Span,
    /// Where it is run from: `entrypoint`/`command`/`cmd`/`run` or a Procfile process name.
    pub role: String,
}

impl CommandFact {
    /// The program and its arguments, wrappers looked through.
    pub fn program_words(&self) -> &[String] {
        &self.words[self.program.min(self.words.len())..]
    }
}

impl FileFacts {
    /// The same facts apart from where they are in the file: what other files' analyses see
    /// did not change (an edit above an env read moves it, and nothing else).
    pub fn same_shape(&self, other: &FileFacts) -> bool {
        self.without_spans() == other.without_spans()
    }

    fn without_spans(&self) -> FileFacts {
        let mut copy = self.clone();
        let zero = (0, 0);
        copy.env_reads.iter_mut().for_each(|r| r.span = zero);
        copy.env_sets.iter_mut().for_each(|s| s.span = zero);
        copy.commands.iter_mut().for_each(|c| c.span = zero);
        copy.settings_modules.iter_mut().for_each(|m| m.span = zero);
        if let Some(python) = &mut copy.python {
            python.tasks.iter_mut().for_each(|t| t.span = zero);
            for statement in &mut python.top_level {
                if let TopLevel::Assign { start, .. } = statement {
                    *start = 0;
                }
            }
        }
        copy
    }
}

/// Python modules that have facts, and so need a parse for them: settings modules, and modules
/// that read the environment, name a settings module, star-import, define Celery tasks or apps,
/// or create the application object a server command names (`get_wsgi_application()`,
/// `FastAPI()`, `Flask(__name__)`). The rest have none.
pub fn python_needs_parse(path: &Path, text: &str) -> bool {
    const MARKERS: &[&str] = &[
        "import *",
        "DJANGO_SETTINGS_MODULE",
        "@shared_task",
        "@task",
        ".task(",
        ".task\n",
        "Celery(",
        "_application()",
        "FastAPI(",
        "Flask(",
        "Starlette(",
    ];
    env_reads::may_read_env(text)
        || MARKERS.iter().any(|m| text.contains(m))
        || crate::analysis::context::is_settings_path(path)
}

pub fn python(path: &Path, text: &str, py: Option<&PythonFile>) -> FileFacts {
    let mut facts = FileFacts::default();
    let Some(py) = py else {
        return facts;
    };
    let _ = path;
    for read in &py.env_reads {
        let Some(key) = &read.key else { continue };
        match read.api {
            EnvApi::EnvironSetdefault => {
                let value = read
                    .default_value()
                    .and_then(|v| v.as_str())
                    .map(str::to_string);
                if key == "DJANGO_SETTINGS_MODULE" {
                    if let Some(module) = &value {
                        facts.settings_modules.push(SettingsModuleRef {
                            module: module.clone(),
                            span: span(&read.range),
                        });
                    }
                }
                facts.env_sets.push(EnvSetFact {
                    name: key.clone(),
                    value,
                    span: span(&read.range),
                    origin: SetOrigin::Python,
                    service: None,
                });
            }
            _ => facts.env_reads.push(EnvReadFact {
                name: key.clone(),
                span: span(&read.range),
                has_default: read.default.is_some(),
            }),
        }
    }
    environ_assignments(py, text, &mut facts);
    facts.python = Some(PythonFacts {
        top_level: top_level(py, text),
        defines: defines(py, text),
        tasks: tasks(py, text),
        celery_apps: celery_apps(py, text),
    });
    facts
}

/// `os.environ["DJANGO_SETTINGS_MODULE"] = "proj.settings"`.
fn environ_assignments(py: &PythonFile, text: &str, facts: &mut FileFacts) {
    for (at, _) in text.match_indices("DJANGO_SETTINGS_MODULE") {
        let Some(string) = py.ancestry.node_at(at, at + "DJANGO_SETTINGS_MODULE".len()) else {
            continue;
        };
        let Some(subscript) = py.ancestry.parent(string).and_then(|n| {
            if n.kind() == "string" {
                py.ancestry.parent(n)
            } else {
                Some(n)
            }
        }) else {
            continue;
        };
        if subscript.kind() != "subscript" {
            continue;
        }
        let Some(assignment) = py.ancestry.parent(subscript) else {
            continue;
        };
        if assignment.kind() != "assignment" {
            continue;
        }
        let right = assignment.child_by_field_id(python::fields().right);
        if let Some(module) = right.and_then(|r| python::string_value(r, text)) {
            facts.settings_modules.push(SettingsModuleRef {
                module,
                span: span(&assignment.byte_range()),
            });
        }
    }
}

fn top_level(py: &PythonFile, text: &str) -> Vec<TopLevel> {
    let mut out = Vec::new();
    let root = py.tree.root_node();
    let mut cursor = root.walk();
    for statement in root.named_children(&mut cursor) {
        statement_facts(statement, text, false, 0, &mut out);
    }
    out
}

fn statement_facts(
    node: Node,
    text: &str,
    conditional: bool,
    depth: usize,
    out: &mut Vec<TopLevel>,
) {
    if depth > 8 {
        return;
    }
    match node.kind() {
        "import_from_statement" => {
            let mut cursor = node.walk();
            let star = node
                .named_children(&mut cursor)
                .any(|c| c.kind() == "wildcard_import");
            if let (true, Some(module)) =
                (star, node.child_by_field_id(python::fields().module_name))
            {
                out.push(TopLevel::StarImport {
                    module: python::text(module, text).to_string(),
                    conditional,
                });
            }
        }
        "expression_statement" => {
            let Some(inner) = node.named_child(0) else {
                return;
            };
            if matches!(inner.kind(), "assignment" | "augmented_assignment") {
                let Some(left) = inner.child_by_field_id(python::fields().left) else {
                    return;
                };
                if left.kind() == "identifier" {
                    out.push(TopLevel::Assign {
                        name: python::text(left, text).to_string(),
                        start: node.start_byte(),
                        // `X += [...]` keeps what came before: it is not an override.
                        conditional: conditional || inner.kind() == "augmented_assignment",
                    });
                }
            }
        }
        // Blocks that may not run: what they assign does not override for certain.
        "if_statement" | "try_statement" | "with_statement" | "for_statement"
        | "while_statement" | "block" | "else_clause" | "elif_clause" | "except_clause"
        | "finally_clause" => {
            let mut cursor = node.walk();
            for child in node.named_children(&mut cursor) {
                statement_facts(child, text, true, depth + 1, out);
            }
        }
        _ => {}
    }
}

/// Top-level bindings: `def`, `class`, `NAME = ...`, `import x as NAME`.
fn defines(py: &PythonFile, text: &str) -> Vec<String> {
    let fields = python::fields();
    let mut out = Vec::new();
    let root = py.tree.root_node();
    let mut cursor = root.walk();
    for statement in root.named_children(&mut cursor) {
        let definition = match statement.kind() {
            "decorated_definition" => python::definition(statement),
            _ => Some(statement),
        };
        let Some(node) = definition else { continue };
        match node.kind() {
            "function_definition" | "class_definition" => {
                out.push(python::definition_name(node, text).to_string());
            }
            "expression_statement" => {
                let left = node
                    .named_child(0)
                    .filter(|n| n.kind() == "assignment")
                    .and_then(|a| a.child_by_field_id(fields.left));
                if let Some(left) = left.filter(|l| l.kind() == "identifier") {
                    out.push(python::text(left, text).to_string());
                }
            }
            _ => {}
        }
    }
    out.extend(py.names.bound_names().map(str::to_string));
    out.sort();
    out.dedup();
    out
}

/// `app = Celery("proj", broker=...)` at top level.
fn celery_apps(py: &PythonFile, text: &str) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    if !text.contains("Celery(") {
        return out;
    }
    let fields = python::fields();
    let root = py.tree.root_node();
    let mut cursor = root.walk();
    for statement in root.named_children(&mut cursor) {
        let Some(assign) = statement
            .named_child(0)
            .filter(|n| n.kind() == "assignment")
        else {
            continue;
        };
        let (Some(left), Some(right)) = (
            assign.child_by_field_id(fields.left),
            assign.child_by_field_id(fields.right),
        ) else {
            continue;
        };
        let is_celery = right.kind() == "call"
            && right
                .child_by_field_id(fields.function)
                .is_some_and(|f| python::short_name(f, text) == "Celery");
        if !is_celery || left.kind() != "identifier" {
            continue;
        }
        let main = python::arguments(right, text)
            .and_then(|a| {
                a.positional
                    .first()
                    .copied()
                    .or_else(|| a.keyword("main").map(|k| k.0))
            })
            .and_then(|m| python::string_value(m, text));
        out.push((python::text(left, text).to_string(), main));
    }
    out
}

const TASK_DECORATORS: &[&str] = &["shared_task", "task", "periodic_task"];

fn tasks(py: &PythonFile, text: &str) -> Vec<TaskFact> {
    let mut out = Vec::new();
    if !text.contains("task") {
        return out;
    }
    for (at, _) in text.match_indices("def ") {
        let Some(keyword) = py.ancestry.node_at(at, at + 3) else {
            continue;
        };
        let Some(definition) = py.ancestry.parent(keyword) else {
            continue;
        };
        if definition.kind() != "function_definition" {
            continue;
        }
        // `decorators` gives each decorator's expression: `shared_task` or `app.task(name=...)`.
        for expr in py.ancestry.decorators(definition) {
            let (callee, call) = if expr.kind() == "call" {
                (
                    expr.child_by_field_id(python::fields().function),
                    Some(expr),
                )
            } else {
                (Some(expr), None)
            };
            let Some(callee) = callee else { continue };
            if !TASK_DECORATORS.contains(&python::short_name(callee, text)) {
                continue;
            }
            let name = call
                .and_then(|c| crate::checks::cfg::shared::keyword_argument(c, "name", text))
                .and_then(|(_, value)| python::string_value(value, text));
            out.push(TaskFact {
                function: python::definition_name(definition, text).to_string(),
                name,
                span: span(&definition.byte_range()),
            });
        }
    }
    out
}

pub fn dotenv(env: &DotEnv) -> FileFacts {
    let mut facts = FileFacts::default();
    for entry in &env.entries {
        if entry.key == "DJANGO_SETTINGS_MODULE" && !entry.value.is_empty() {
            facts.settings_modules.push(SettingsModuleRef {
                module: entry.value.clone(),
                span: span(&entry.value_range),
            });
        }
        facts.env_sets.push(EnvSetFact {
            name: entry.key.clone(),
            value: Some(entry.value.clone()),
            span: span(&entry.key_range),
            origin: SetOrigin::DotEnv,
            service: None,
        });
    }
    facts
}

/// `${NAME:-default}` in a value: the default, which is what the variable is when unset.
fn interpolated_default(value: &str) -> &str {
    let trimmed = value.trim();
    if let Some(inner) = trimmed.strip_prefix("${").and_then(|v| v.strip_suffix('}')) {
        if let Some((_, default)) = inner.split_once(":-").or_else(|| inner.split_once('-')) {
            return default;
        }
    }
    trimmed
}

fn command_facts(script: &Script, role: &str, out: &mut Vec<CommandFact>) {
    for command in &script.commands {
        out.push(command_fact(command, role));
    }
}

/// `manage.py ... --settings=proj.settings.production` (or `--settings proj...`) on a command
/// line names a settings module too.
fn settings_arguments(script: &Script, out: &mut Vec<SettingsModuleRef>) {
    for command in &script.commands {
        let words = &command.words;
        for (i, word) in words.iter().enumerate() {
            let module = match word.text.strip_prefix("--settings=") {
                Some(module) => Some(module.to_string()),
                None if word.text == "--settings" => words.get(i + 1).map(|w| w.text.clone()),
                None => None,
            };
            if let Some(module) = module.filter(|m| !m.is_empty() && !m.contains('$')) {
                out.push(SettingsModuleRef {
                    module,
                    span: span(&word.range),
                });
            }
        }
    }
}

fn command_fact(command: &SimpleCommand, role: &str) -> CommandFact {
    CommandFact {
        words: command.words.iter().map(|w| w.text.clone()).collect(),
        program: command.words.len() - command.program().len(),
        span: span(&command.range),
        role: role.to_string(),
    }
}

pub fn compose(file: &Compose, source: &str) -> FileFacts {
    let mut facts = FileFacts::default();
    for service in &file.services {
        for var in &service.environment {
            if var.name == "DJANGO_SETTINGS_MODULE" {
                if let Some(value) = &var.value {
                    let module = interpolated_default(value);
                    if !module.is_empty() && !module.starts_with('$') {
                        facts.settings_modules.push(SettingsModuleRef {
                            module: module.to_string(),
                            span: span(&var.value_range),
                        });
                    }
                }
            }
            facts.env_sets.push(EnvSetFact {
                name: var.name.clone(),
                value: var.value.clone(),
                span: span(&var.name_range),
                origin: SetOrigin::Compose,
                service: Some(service.name.clone()),
            });
        }
        for (role, command) in [
            ("entrypoint", &service.entrypoint),
            ("command", &service.command),
        ] {
            if let Some(command) = command {
                let script = command.script(source);
                settings_arguments(&script, &mut facts.settings_modules);
                command_facts(&script, role, &mut facts.commands);
            }
        }
        facts.services.push(ServiceFacts {
            name: service.name.clone(),
            image: service.image.as_ref().map(|t| t.text.clone()),
            build_context: service.build_context.as_ref().map(|t| t.text.clone()),
            dockerfile: service.build_dockerfile.as_ref().map(|t| t.text.clone()),
            user: service.user.as_ref().map(|t| t.text.clone()),
            healthcheck: service.healthcheck,
            env_files: service.env_files.iter().map(|t| t.text.clone()).collect(),
            ports: service.ports.iter().map(|t| t.text.clone()).collect(),
        });
    }
    facts
}

pub fn dockerfile(file: &Dockerfile) -> FileFacts {
    let mut facts = FileFacts::default();
    let mut copied = Vec::new();
    let reaching = file.stages_in_final_image();
    for (index, stage) in file.stages.iter().enumerate() {
        let in_final = reaching.contains(&index);
        for instruction in file.stage_instructions(stage) {
            match instruction.keyword.as_str() {
                "ENV" | "ARG" => {
                    for kv in instruction.key_values() {
                        if kv.key == "DJANGO_SETTINGS_MODULE" && instruction.keyword == "ENV" {
                            if let (Some(value), Some(range)) = (&kv.value, &kv.value_range) {
                                facts.settings_modules.push(SettingsModuleRef {
                                    module: value.clone(),
                                    span: span(range),
                                });
                            }
                        }
                        facts.env_sets.push(EnvSetFact {
                            name: kv.key.clone(),
                            value: kv.value.clone(),
                            span: span(&kv.key_range),
                            origin: if instruction.keyword == "ENV" {
                                SetOrigin::DockerEnv
                            } else {
                                SetOrigin::DockerArg
                            },
                            service: None,
                        });
                    }
                }
                "COPY" | "ADD" if in_final => {
                    if let Some((sources, _)) = instruction.copy_operands() {
                        copied.extend(sources.into_iter().map(|w| w.text));
                    }
                }
                "CMD" | "ENTRYPOINT" if Some(index) == file.stages.len().checked_sub(1) => {
                    let role = instruction.keyword.to_ascii_lowercase();
                    let script = instruction.commands();
                    settings_arguments(&script, &mut facts.settings_modules);
                    command_facts(&script, &role, &mut facts.commands);
                }
                "RUN" if in_final => {
                    command_facts(&instruction.commands(), "run", &mut facts.commands);
                }
                _ => {}
            }
        }
    }
    let mut docker = DockerfileFacts::default();
    if file.final_stage().is_some() {
        // USER carries over from a stage the final one is built FROM; the image underneath is
        // the base of the first stage of that chain.
        let chain = file.stages_under_final_image();
        if let Some(first) = chain.last() {
            docker.final_base = file.stages[*first].base.clone();
        }
        for index in chain {
            let stage = &file.stages[index];
            let instructions = file.stage_instructions(stage);
            if docker.final_user.is_none() {
                docker.final_user = instructions
                    .iter()
                    .rev()
                    .find(|i| i.keyword == "USER")
                    .map(|i| i.args.text.trim().to_string());
            }
            if instructions.iter().any(|i| {
                i.keyword == "HEALTHCHECK" && !i.args.text.trim().eq_ignore_ascii_case("NONE")
            }) {
                docker.final_healthcheck = true;
            }
        }
    }
    docker.copied = copied;
    facts.dockerfile = Some(docker);
    facts
}

pub fn shell(script: &Script) -> FileFacts {
    let mut facts = FileFacts::default();
    for assignment in &script.assignments {
        let value = assignment.value.as_ref().map(|w| w.text.clone());
        if assignment.name == "DJANGO_SETTINGS_MODULE" {
            if let Some(module) = value.as_deref().map(interpolated_default) {
                if !module.is_empty() && !module.starts_with('$') {
                    facts.settings_modules.push(SettingsModuleRef {
                        module: module.to_string(),
                        span: span(&assignment.range),
                    });
                }
            }
        }
        facts.env_sets.push(EnvSetFact {
            name: assignment.name.clone(),
            value,
            span: span(&assignment.name_range),
            origin: SetOrigin::Shell,
            service: None,
        });
    }
    command_facts(script, "run", &mut facts.commands);
    settings_arguments(script, &mut facts.settings_modules);
    prefix_sets(script, &mut facts);
    facts
}

/// `NAME=value command` prefixes: set for that command (a `DJANGO_SETTINGS_MODULE` one names
/// the settings module it runs with).
fn prefix_sets(script: &Script, facts: &mut FileFacts) {
    for command in &script.commands {
        for prefix in &command.env {
            if prefix.name == "DJANGO_SETTINGS_MODULE" {
                if let Some(value) = prefix.value.as_ref().filter(|v| !v.text.contains('$')) {
                    facts.settings_modules.push(SettingsModuleRef {
                        module: value.text.clone(),
                        span: span(&prefix.range),
                    });
                }
            }
            facts.env_sets.push(EnvSetFact {
                name: prefix.name.clone(),
                value: prefix.value.as_ref().map(|w| w.text.clone()),
                span: span(&prefix.name_range),
                origin: SetOrigin::CommandPrefix,
                service: None,
            });
        }
    }
}

pub fn procfile(file: &Procfile) -> FileFacts {
    let mut facts = FileFacts::default();
    for process in &file.processes {
        command_facts(&process.script, &process.name, &mut facts.commands);
        settings_arguments(&process.script, &mut facts.settings_modules);
        prefix_sets(&process.script, &mut facts);
    }
    facts
}

pub fn requirements(file: &Requirements) -> FileFacts {
    FileFacts {
        includes: file
            .includes
            .iter()
            .filter(|i| i.kind == IncludeKind::Requirements)
            .map(|i| i.path.clone())
            .collect(),
        requirements: file
            .requirements
            .iter()
            .map(|r| crate::syntax::requirements::normalize(&r.name))
            .collect(),
        requirements_locked: file.generated
            || (!file.requirements.is_empty()
                && file.requirements.iter().all(|r| r.pinned || r.has_hashes)),
        ..FileFacts::default()
    }
}

pub fn pyproject(file: &PyProject) -> FileFacts {
    let mut facts = FileFacts {
        requirements: file
            .dependencies
            .iter()
            .filter(|d| d.group.is_none())
            .map(|d| crate::syntax::requirements::normalize(&d.name))
            .collect(),
        ..FileFacts::default()
    };
    for dependency in &file.dependencies {
        if let (Some(group), false) = (&dependency.group, dependency.extra) {
            if !facts.dependency_groups.contains(group) {
                facts.dependency_groups.push(group.clone());
            }
        }
    }
    if let Some((module, range)) = &file.pytest_settings_module {
        facts.settings_modules.push(SettingsModuleRef {
            module: module.clone(),
            span: span(range),
        });
    }
    facts
}

pub fn ignore_file(text: &str) -> FileFacts {
    FileFacts {
        ignore_patterns: text
            .lines()
            .map(|l| l.trim_end_matches('\r').to_string())
            .collect(),
        ..FileFacts::default()
    }
}

/// The kind's facts for a file whose parse is not at hand (the parser runs here). A reader bug
/// costs the file its facts, not the run.
pub fn extract(path: &Path, kind: FileKind, text: &str) -> FileFacts {
    std::panic::catch_unwind(|| extract_unguarded(path, kind, text)).unwrap_or_else(|_| {
        eprintln!(
            "preflight: reading {} failed; the project model goes on without it",
            path.display()
        );
        FileFacts::default()
    })
}

fn extract_unguarded(path: &Path, kind: FileKind, text: &str) -> FileFacts {
    // Read as the analysis reads the file (lone `\r` line breaks as `\n`; same offsets).
    let text = &*kind.lines_as_read(text);
    match kind {
        FileKind::Python => {
            if !python_needs_parse(path, text) {
                return FileFacts::default();
            }
            let tree = python::parse(text, None);
            let py = PythonFile::new(&tree, text);
            python(path, text, Some(&py))
        }
        FileKind::DotEnv => dotenv(&crate::syntax::dotenv::parse(text)),
        FileKind::Compose => compose(&crate::syntax::compose::parse(text), text),
        FileKind::Dockerfile => dockerfile(&crate::syntax::dockerfile::parse(text)),
        FileKind::Shell => shell(&crate::syntax::shell::parse(text)),
        FileKind::Requirements => requirements(&crate::syntax::requirements::parse(text)),
        FileKind::PyProject => pyproject(&crate::syntax::pyproject::parse(text)),
        FileKind::Procfile => procfile(&crate::syntax::procfile::parse(text)),
        FileKind::GitIgnore | FileKind::DockerIgnore => ignore_file(text),
        FileKind::LockFile => FileFacts::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_facts() {
        let text = "import os\nfrom celery import Celery, shared_task\nfrom .base import *\n\nos.environ.setdefault(\"DJANGO_SETTINGS_MODULE\", \"proj.settings.production\")\napp = Celery(\"proj\")\nDEBUG = os.getenv(\"DEBUG\", \"0\") == \"1\"\nif DEBUG:\n    ALLOWED_HOSTS = [\"*\"]\n\n@shared_task(name=\"billing.renew\")\ndef renew():\n    pass\n\nclass Worker:\n    pass\n";
        let f = extract(Path::new("proj/celery.py"), FileKind::Python, text);
        let py = f.python.as_ref().unwrap();
        assert_eq!(f.settings_modules[0].module, "proj.settings.production");
        assert_eq!(f.env_reads[0].name, "DEBUG");
        assert_eq!(f.env_sets[0].name, "DJANGO_SETTINGS_MODULE");
        assert_eq!(
            py.celery_apps,
            [("app".to_string(), Some("proj".to_string()))]
        );
        assert_eq!(py.tasks[0].name.as_deref(), Some("billing.renew"));
        assert!(
            py.defines.iter().any(|d| d == "renew") && py.defines.iter().any(|d| d == "Worker")
        );
        assert!(
            matches!(&py.top_level[0], TopLevel::StarImport { module, conditional: false } if module == ".base")
        );
        assert!(py.top_level.iter().any(|t| matches!(t, TopLevel::Assign { name, conditional: true, .. } if name == "ALLOWED_HOSTS")));
        // A module with none of these has no facts, and is not even parsed for them.
        assert_eq!(
            extract(
                Path::new("app/views.py"),
                FileKind::Python,
                "def view(r):\n    return 1\n"
            ),
            FileFacts::default()
        );
    }

    #[test]
    fn deployment_file_facts() {
        let compose = "services:\n  web:\n    build:\n      context: .\n      dockerfile: docker/Dockerfile\n    user: \"1000\"\n    command: python manage.py runserver --settings=proj.settings.dev\n    environment:\n      - DJANGO_SETTINGS_MODULE=${DJANGO_SETTINGS_MODULE:-proj.settings.production}\n";
        let f = extract(Path::new("compose.yaml"), FileKind::Compose, compose);
        let modules: Vec<&str> = f
            .settings_modules
            .iter()
            .map(|m| m.module.as_str())
            .collect();
        assert_eq!(modules, ["proj.settings.production", "proj.settings.dev"]);
        assert_eq!(
            f.services[0].dockerfile.as_deref(),
            Some("docker/Dockerfile")
        );
        assert_eq!(f.services[0].user.as_deref(), Some("1000"));
        assert_eq!(
            f.commands[0].program_words()[..3],
            ["python", "manage.py", "runserver"]
        );

        let docker = "FROM python:3.12 AS base\nUSER app\nFROM base\nENV DJANGO_SETTINGS_MODULE=proj.settings.production\nCOPY docker/entrypoint.sh /entrypoint.sh\nHEALTHCHECK CMD curl -f http://localhost/\nENTRYPOINT [\"/entrypoint.sh\"]\n";
        let f = extract(Path::new("Dockerfile"), FileKind::Dockerfile, docker);
        let d = f.dockerfile.as_ref().unwrap();
        assert_eq!(d.final_user.as_deref(), Some("app"));
        assert_eq!(d.final_base, "python:3.12");
        assert!(d.final_healthcheck);
        assert_eq!(d.copied, ["docker/entrypoint.sh"]);
        assert_eq!(f.settings_modules[0].module, "proj.settings.production");

        let shell = "#!/bin/sh\nexport DJANGO_SETTINGS_MODULE=proj.settings.staging\nexec gosu app gunicorn proj.wsgi\n";
        let f = extract(Path::new("entrypoint.sh"), FileKind::Shell, shell);
        assert_eq!(f.settings_modules[0].module, "proj.settings.staging");
        assert_eq!(f.commands[0].words[..2], ["exec", "gosu"]);
        assert_eq!(f.commands[0].program_words()[0], "gunicorn");
    }
}
