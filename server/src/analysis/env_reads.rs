//! Environment reads, found by meaning rather than by text: `os.getenv`, `os.environ.get`,
//! `os.environ.setdefault`, `os.environ[...]`, `getenv(K) or D`, django-environ (`env(...)`,
//! `env.str(...)`, `environ.Env(DEBUG=(bool, True))`), python-decouple `config(...)` and pydantic
//! `BaseSettings` fields, under whatever names the module imported them.

use std::collections::HashSet;
use std::ops::Range;

use tree_sitter::Node;

use super::concern::{self, Concern};
use super::context::{Names, PythonFile};
use super::{Applicability, Edit, Fix};
use crate::syntax::python::{self, Literal};
use crate::text::line_ending;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EnvApi {
    /// `os.getenv(K, D)`
    Getenv,
    /// `os.environ.get(K, D)`
    EnvironGet,
    /// `os.environ.setdefault(K, D)`
    EnvironSetdefault,
    /// `os.environ[K]`
    EnvironSubscript,
    /// `os.getenv(K) or D`
    GetenvOr,
    /// django-environ `env(K, default=D)` / `env.str(K, D)`
    DjangoEnviron,
    /// django-environ scheme `environ.Env(K=(cast, D))`
    DjangoEnvironScheme,
    /// python-decouple `config(K, default=D)`
    Decouple,
    /// pydantic `BaseSettings` field `k: str = D`
    PydanticField,
    /// A project-local helper that forwards its argument to a reader:
    /// `get_bool_from_env("DEBUG", True)` where `def get_bool_from_env(name, default)` reads
    /// `os.environ.get(name, ...)`.
    Wrapper,
}

#[derive(Clone, Debug, PartialEq)]
pub struct EnvDefault {
    /// The default's value when it is a constant.
    pub value: Option<Literal>,
    /// The default expression itself.
    pub range: Range<usize>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct EnvRead {
    pub api: EnvApi,
    /// The variable name, when it is a string literal.
    pub key: Option<String>,
    /// The key expression (`"JWT_SECRET"`, `name`, `f"{P}_KEY"`).
    pub key_range: Option<Range<usize>>,
    pub default: Option<EnvDefault>,
    /// The whole read: the call, the `or` expression, or the field's statement.
    pub range: Range<usize>,
    /// What the value is stored under: assignment target, keyword argument, dict key or field.
    pub target: Option<String>,
    /// The value is parsed as a boolean by the library (`env.bool`, `cast=bool`, a
    /// `(bool, D)` scheme) rather than used as a raw string.
    pub parsed_bool: bool,
    /// The raw string is passed to `bool(...)`: any non-empty value is true. Range of that call.
    pub bool_wrapper: Option<Range<usize>>,
    /// `read == "True"`, `read.lower() in ("1", "true")`: the operator and the right operand.
    pub comparison: Option<(String, Literal)>,
    /// String methods applied before the comparison (`lower`, `strip`).
    pub transforms: Vec<String>,
    /// `os.environ` as written (`os.environ`, `_os.environ`, `environ`) for `.get`/`.setdefault`.
    pub environ_range: Option<Range<usize>>,
    /// Bytes to delete to drop the default (with its comma or annotation gap).
    pub default_removal: Option<Range<usize>>,
    /// The code itself says the value is a secret (a pydantic `SecretStr` field).
    pub declared_secret: bool,
    /// The value (after `bool()`/`str()`, string methods and a comparison) is stored in
    /// `target` as is, not passed through some other function first.
    pub direct: bool,
    /// What the read configures (set once all reads of the file are known).
    pub concern: Concern,
}

impl EnvRead {
    /// A read of `api` spanning `range`, with nothing else known yet.
    fn new(api: EnvApi, range: Range<usize>) -> EnvRead {
        EnvRead {
            api,
            key: None,
            key_range: None,
            default: None,
            range,
            target: None,
            parsed_bool: false,
            bool_wrapper: None,
            comparison: None,
            transforms: Vec::new(),
            environ_range: None,
            default_removal: None,
            declared_secret: false,
            direct: false,
            concern: Concern::Other,
        }
    }

    /// Names that describe what is read: the key and the target it is stored in.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.key
            .as_deref()
            .into_iter()
            .chain(self.target.as_deref())
    }

    pub fn default_value(&self) -> Option<&Literal> {
        self.default.as_ref().and_then(|d| d.value.as_ref())
    }
}

const DJANGO_ENVIRON_METHODS: &[&str] = &[
    "str",
    "bool",
    "int",
    "float",
    "list",
    "tuple",
    "dict",
    "url",
    "db",
    "db_url",
    "cache",
    "cache_url",
    "email",
    "email_url",
    "search_url",
    "json",
    "path",
    "bytes",
    "parse_value",
    "get_value",
    "channels",
    "channels_url",
];

/// Modules whose names lead to environment reads.
const READER_MODULES: &[&str] = &["os", "environ", "decouple", "pydantic", "pydantic_settings"];

/// A cheap textual test: can `source` contain an environment read at all? Every reader is
/// reached through `environ` (`os.environ`, `from os import environ`, django-environ), `getenv`,
/// `decouple`, or a class deriving from `BaseSettings` — words, not parts of `environment`.
pub fn may_read_env(source: &str) -> bool {
    source.contains("getenv")
        || source.contains("decouple")
        || source.contains("BaseSettings")
        || word_occurrences(source, "environ").next().is_some()
}

/// Does a line of `source` import `module` (`import requests`, `import os, requests as r`,
/// `from requests.adapters import HTTPAdapter`)? A cheap test for rules about one library.
pub fn imports_module(source: &str, module: &str) -> bool {
    // Occurrences come in order: the line start is searched for only in the text since the
    // previous one, so a long line full of the name is read once, not once per occurrence.
    let (mut line_start, mut searched_to) = (0, 0);
    word_occurrences(source, module).any(|at| {
        if let Some(i) = source[searched_to..at].rfind(['\n', '\r']) {
            line_start = searched_to + i + 1;
        }
        searched_to = at;
        let line = source[line_start..at].trim_start();
        line.starts_with("import ") || line.starts_with("from ")
    })
}

pub use crate::syntax::python::word_occurrences;

/// Finds the reads. Rather than visiting every node of the tree (most of a module has nothing
/// to do with the environment), it searches the text for the local names that lead to a reader
/// (`os`, an alias, `getenv`, `env = environ.Env()`, a settings class) and looks only at the
/// expressions around those identifiers: the cost follows the number of reads, not the size of
/// the file, which keeps per-keystroke analysis of large modules cheap.
pub fn collect<'t>(
    ancestry: &python::Ancestry<'t>,
    source: &str,
    names: &mut Names,
) -> Vec<EnvRead> {
    let mut out = Vec::new();
    let mut visited: HashSet<usize> = HashSet::new();
    let mut settings_classes: HashSet<String> = HashSet::new();
    let mut searched: HashSet<String> = HashSet::new();
    let mut queue: Vec<String> = names.locals_under(READER_MODULES);
    while let Some(name) = queue.pop() {
        if !searched.insert(name.clone()) {
            continue;
        }
        for identifier in ancestry.identifiers(source, &name) {
            // `os` -> `os.environ` -> `os.environ.get`: the expression the name starts.
            let expr = ancestry.attribute_chain(identifier);
            let Some(parent) = ancestry.parent(expr) else {
                continue;
            };
            match parent.kind() {
                "call"
                    if parent
                        .child_by_field_id(python::fields().function)
                        .is_some_and(|f| f.id() == expr.id()) =>
                {
                    if !visited.insert(parent.id()) {
                        continue;
                    }
                    if let Some(bound) = bind_instances(parent, source, names, ancestry) {
                        queue.push(bound);
                    }
                    let or_read = parent
                        .parent()
                        .filter(|p| {
                            p.kind() == "boolean_operator"
                                && p.child_by_field_id(python::fields().left)
                                    .is_some_and(|l| l.id() == parent.id())
                        })
                        .and_then(|p| visit_or(p, source, names, ancestry));
                    match or_read {
                        Some(read) => out.push(read),
                        None => visit_call(parent, source, names, ancestry, &mut out),
                    }
                }
                "subscript"
                    if parent
                        .child_by_field_id(python::fields().value)
                        .is_some_and(|v| v.id() == expr.id()) =>
                {
                    let read = visited
                        .insert(parent.id())
                        .then(|| visit_subscript(parent, source, names, ancestry))
                        .flatten();
                    out.extend(read);
                }
                "argument_list" => {
                    let class = ancestry.parent(parent).filter(|c| {
                        c.kind() == "class_definition"
                            && c.child_by_field_id(python::fields().superclasses)
                                .is_some_and(|s| s.id() == parent.id())
                    });
                    if let Some(class) = class {
                        if visited.insert(class.id()) {
                            if let Some(class_name) = visit_settings_class(
                                class,
                                source,
                                names,
                                &mut settings_classes,
                                &mut out,
                            ) {
                                // Subclasses name it: search for them too.
                                queue.push(class_name);
                            }
                        }
                    }
                }
                _ => {}
            }
        }
    }
    collect_wrapper_reads(ancestry, source, &mut out);
    out.sort_by_key(|r| (r.range.start, r.range.end));
    for read in &mut out {
        read.concern = concern::classify(read);
    }
    out
}

/// Reads through project-local helpers: a module-level function whose parameter is the key of a
/// read inside it (`def get_bool_from_env(name, default=False): return os.environ.get(name,
/// ...)`) reads the environment wherever it is called with a literal key
/// (`DEBUG = get_bool_from_env("DEBUG", True)`), with the call's default, or the helper's own.
fn collect_wrapper_reads<'t>(
    ancestry: &python::Ancestry<'t>,
    source: &str,
    out: &mut Vec<EnvRead>,
) {
    struct Helper<'t> {
        name: String,
        key_index: usize,
        key_param: String,
        /// (index, name, the parameter's own default) of the parameter passed as the default.
        default: Option<(usize, String, Option<Node<'t>>)>,
        parsed_bool: bool,
    }
    let fields = python::fields();
    let mut helpers: Vec<Helper> = Vec::new();
    for read in out.iter() {
        if read.key.is_some() {
            continue;
        }
        let Some(key_range) = read.key_range.clone() else {
            continue;
        };
        let Some(key) = ancestry
            .node_at(key_range.start, key_range.end)
            .filter(|k| k.kind() == "identifier")
        else {
            continue;
        };
        // The enclosing function, defined at module level.
        let mut node = key;
        let function = loop {
            let Some(parent) = ancestry.parent(node) else {
                break None;
            };
            if parent.kind() == "function_definition" {
                break Some(parent);
            }
            node = parent;
        };
        let Some(function) = function else { continue };
        let at_module_level = ancestry.parent(function).is_some_and(|p| {
            p.kind() == "module"
                || (p.kind() == "decorated_definition"
                    && ancestry.parent(p).is_some_and(|g| g.kind() == "module"))
        });
        let Some(parameters) = function.child_by_field_id(fields.parameters) else {
            continue;
        };
        if !at_module_level {
            continue;
        }
        let mut cursor = parameters.walk();
        let params: Vec<(String, Option<Node>)> = parameters
            .named_children(&mut cursor)
            .filter_map(|p| match p.kind() {
                "identifier" => Some((python::text(p, source).to_string(), None)),
                "default_parameter" | "typed_default_parameter" => Some((
                    python::text(p.child_by_field_id(fields.name)?, source).to_string(),
                    p.child_by_field_id(fields.value),
                )),
                "typed_parameter" => p
                    .named_child(0)
                    .filter(|n| n.kind() == "identifier")
                    .map(|n| (python::text(n, source).to_string(), None)),
                _ => None,
            })
            .collect();
        let key_name = python::text(key, source);
        let Some(key_index) = params.iter().position(|(n, _)| n == key_name) else {
            continue;
        };
        let default = read.default.as_ref().and_then(|d| {
            let text = source[d.range.clone()].trim();
            // `str(default)`, `default`: the parameter the helper passes on as the default.
            params
                .iter()
                .position(|(n, _)| {
                    text == n
                        || text.strip_prefix("str(").and_then(|t| t.strip_suffix(')')) == Some(n)
                })
                .map(|i| (i, params[i].0.clone(), params[i].1))
        });
        let name = python::definition_name(function, source).to_string();
        if name.is_empty() || helpers.iter().any(|h| h.name == name) {
            continue;
        }
        helpers.push(Helper {
            parsed_bool: read.parsed_bool
                || read.comparison.is_some()
                || name.to_ascii_lowercase().contains("bool"),
            name,
            key_index,
            key_param: key_name.to_string(),
            default,
        });
    }
    for helper in helpers {
        for identifier in ancestry.identifiers(source, &helper.name) {
            let Some((_, call)) = ancestry.call_named(identifier) else {
                continue;
            };
            let Some(args) = plain_arguments(call, source) else {
                continue;
            };
            let key = args
                .positional
                .get(helper.key_index)
                .copied()
                .or_else(|| args.keyword(&helper.key_param).map(|k| k.0));
            let Some(key_value) = key.and_then(|k| python::string_value(k, source)) else {
                continue;
            };
            let default = helper.default.as_ref().and_then(|(index, name, own)| {
                args.positional
                    .get(*index)
                    .copied()
                    .or_else(|| args.keyword(name).map(|k| k.0))
                    .or(*own)
            });
            let mut read = EnvRead {
                key: Some(key_value),
                key_range: key.map(|k| k.byte_range()),
                default: default.map(|d| EnvDefault {
                    value: python::literal(d, source),
                    range: d.byte_range(),
                }),
                parsed_bool: helper.parsed_bool,
                ..EnvRead::new(EnvApi::Wrapper, call.byte_range())
            };
            describe_use(call, source, ancestry, &mut read);
            out.push(read);
        }
    }
}

/// `env = environ.Env(...)`, `config = AutoConfig(...)`: the instance is a reader too. Returns the
/// name it is bound to.
fn bind_instances<'t>(
    call: Node<'t>,
    source: &str,
    names: &mut Names,
    ancestry: &python::Ancestry<'t>,
) -> Option<String> {
    let assign = ancestry.parent(call).filter(|p| p.kind() == "assignment")?;
    if assign.child_by_field_id(python::fields().right)?.id() != call.id() {
        return None;
    }
    let left = assign
        .child_by_field_id(python::fields().left)
        .filter(|l| l.kind() == "identifier")?;
    let q = names.qualify(call, source)?;
    if q.starts_with("environ.") || q.starts_with("decouple.") {
        let local = python::text(left, source).to_string();
        names.bind(&local, q);
        return Some(local);
    }
    None
}

/// The call's arguments when every position is known (no `*args` or `**kwargs` splat).
fn plain_arguments<'t>(call: Node<'t>, source: &str) -> Option<python::Arguments<'t>> {
    python::arguments(call, source).filter(|args| !args.star_args)
}

fn visit_call<'t>(
    call: Node<'t>,
    source: &str,
    names: &Names,
    ancestry: &python::Ancestry<'t>,
    out: &mut Vec<EnvRead>,
) {
    let Some(function) = call.child_by_field_id(python::fields().function) else {
        return;
    };
    let Some(callee) = names.qualify(function, source) else {
        return;
    };
    // django-environ's FileAwareEnv reads `X_FILE` files too, with Env's API.
    let callee = callee.replacen("environ.FileAwareEnv", "environ.Env", 1);
    let api = match callee.as_str() {
        "os.getenv" => EnvApi::Getenv,
        "os.environ.get" => EnvApi::EnvironGet,
        "os.environ.setdefault" => EnvApi::EnvironSetdefault,
        "environ.Env" => {
            visit_environ_scheme(call, source, out);
            return;
        }
        "decouple.config" => EnvApi::Decouple,
        c if c.starts_with("decouple.") && c.ends_with(')') && !c.ends_with(".Csv()") => {
            EnvApi::Decouple
        }
        "environ.Env()" => EnvApi::DjangoEnviron,
        c => match c.strip_prefix("environ.Env().") {
            Some(method) if DJANGO_ENVIRON_METHODS.contains(&method) => EnvApi::DjangoEnviron,
            _ => return,
        },
    };
    let Some(args) = plain_arguments(call, source) else {
        return;
    };
    let key_node = args
        .positional
        .first()
        .copied()
        .or_else(|| args.keyword("key").map(|k| k.0))
        .or_else(|| args.keyword("option").map(|k| k.0))
        .or_else(|| args.keyword("var").map(|k| k.0));
    let method = callee.strip_prefix("environ.Env().");
    let (default_node, removal) = match api {
        EnvApi::Getenv | EnvApi::EnvironGet => {
            match (args.positional.get(1), args.keyword("default")) {
                (Some(d), _) => (Some(*d), None),
                (None, Some((v, _))) => (Some(v), None),
                _ => (None, None),
            }
        }
        EnvApi::EnvironSetdefault => match (args.positional.get(1), args.keyword("value")) {
            (Some(d), _) => (Some(*d), None),
            (None, Some((v, _))) => (Some(v), None),
            _ => (None, None),
        },
        EnvApi::DjangoEnviron | EnvApi::Decouple => {
            // `env(K, cast, default)`: for the instance call the second positional is the cast;
            // for `env.str(K, default)` and `config(K, default)` it is the default.
            let positional_default = if api == EnvApi::DjangoEnviron && method.is_none() {
                args.positional.get(2)
            } else {
                args.positional.get(1)
            };
            match (args.keyword("default"), positional_default) {
                (Some((v, whole)), _) => (Some(v), args.removal(whole)),
                (None, Some(d)) => (Some(*d), args.removal(*d)),
                _ => (None, None),
            }
        }
        _ => (None, None),
    };
    let parsed_bool = method == Some("bool")
        || args
            .keyword("cast")
            .is_some_and(|(v, _)| python::text(v, source) == "bool");
    let environ_range = match api {
        EnvApi::EnvironGet | EnvApi::EnvironSetdefault => function
            .child_by_field_id(python::fields().object)
            .map(|o| o.byte_range()),
        _ => None,
    };
    let mut read = EnvRead {
        key: key_node.and_then(|k| python::string_value(k, source)),
        key_range: key_node.map(|k| k.byte_range()),
        default: default_node.map(|d| EnvDefault {
            value: python::literal(d, source),
            range: d.byte_range(),
        }),
        parsed_bool,
        environ_range,
        default_removal: removal,
        ..EnvRead::new(api, call.byte_range())
    };
    describe_use(call, source, ancestry, &mut read);
    out.push(read);
}

/// `environ.Env(DEBUG=(bool, True), ALLOWED_HOSTS=(list, ["*"]))`
fn visit_environ_scheme(call: Node, source: &str, out: &mut Vec<EnvRead>) {
    let Some(args) = plain_arguments(call, source) else {
        return;
    };
    for (name, value, whole) in &args.keywords {
        if value.kind() != "tuple" {
            continue;
        }
        let mut cursor = value.walk();
        let items: Vec<Node> = value
            .named_children(&mut cursor)
            .filter(|n| n.kind() != "comment")
            .collect();
        if items.len() != 2 {
            continue;
        }
        out.push(EnvRead {
            key: Some(name.clone()),
            key_range: whole
                .child_by_field_id(python::fields().name)
                .map(|n| n.byte_range()),
            default: Some(EnvDefault {
                value: python::literal(items[1], source),
                range: items[1].byte_range(),
            }),
            parsed_bool: python::text(items[0], source) == "bool",
            direct: true,
            ..EnvRead::new(EnvApi::DjangoEnvironScheme, whole.byte_range())
        });
    }
}

/// `os.getenv(K) or D`, `os.environ.get(K) or D`
fn visit_or<'t>(
    node: Node<'t>,
    source: &str,
    names: &Names,
    ancestry: &python::Ancestry<'t>,
) -> Option<EnvRead> {
    let operator = node.child_by_field_id(python::fields().operator)?;
    if operator.kind() != "or" {
        return None;
    }
    let left = node.child_by_field_id(python::fields().left)?;
    let right = node.child_by_field_id(python::fields().right)?;
    if left.kind() != "call" {
        return None;
    }
    let function = left.child_by_field_id(python::fields().function)?;
    let callee = names.qualify(function, source)?;
    if callee != "os.getenv" && callee != "os.environ.get" {
        return None;
    }
    let args = plain_arguments(left, source)?;
    if args.all.len() != 1 || args.positional.len() != 1 {
        return None;
    }
    let key = args.positional[0];
    let mut read = EnvRead {
        key: python::string_value(key, source),
        key_range: Some(key.byte_range()),
        default: Some(EnvDefault {
            value: python::literal(right, source),
            range: right.byte_range(),
        }),
        ..EnvRead::new(EnvApi::GetenvOr, node.byte_range())
    };
    describe_use(node, source, ancestry, &mut read);
    Some(read)
}

fn visit_subscript<'t>(
    node: Node<'t>,
    source: &str,
    names: &Names,
    ancestry: &python::Ancestry<'t>,
) -> Option<EnvRead> {
    let value = node.child_by_field_id(python::fields().value)?;
    if names.qualify(value, source)? != "os.environ" {
        return None;
    }
    // `os.environ["K"] = v` writes, it does not read.
    if let Some(parent) = ancestry.parent(node) {
        if parent.kind() == "assignment"
            && parent
                .child_by_field_id(python::fields().left)
                .is_some_and(|l| l.id() == node.id())
        {
            return None;
        }
    }
    let key = node.child_by_field_id(python::fields().subscript)?;
    let mut read = EnvRead {
        key: python::string_value(key, source),
        key_range: Some(key.byte_range()),
        environ_range: Some(value.byte_range()),
        ..EnvRead::new(EnvApi::EnvironSubscript, node.byte_range())
    };
    describe_use(node, source, ancestry, &mut read);
    Some(read)
}

/// Fields with literal defaults of classes deriving from pydantic's `BaseSettings` (directly or
/// through a settings class defined earlier in the module).
fn visit_settings_class(
    class: Node,
    source: &str,
    names: &Names,
    settings_classes: &mut HashSet<String>,
    out: &mut Vec<EnvRead>,
) -> Option<String> {
    let is_settings = class
        .child_by_field_id(python::fields().superclasses)
        .is_some_and(|bases| {
            let mut cursor = bases.walk();
            let found = bases.named_children(&mut cursor).any(|base| {
                let q = names.qualify(base, source);
                matches!(
                    q.as_deref(),
                    Some("pydantic.BaseSettings" | "pydantic_settings.BaseSettings")
                ) || (base.kind() == "identifier"
                    && settings_classes.contains(python::text(base, source)))
            });
            found
        });
    if !is_settings {
        return None;
    }
    let name = python::text(class.child_by_field_id(python::fields().name)?, source).to_string();
    settings_classes.insert(name.clone());
    let body = class.child_by_field_id(python::fields().body)?;
    let prefix = env_prefix(body, source).unwrap_or_default();
    let mut cursor = body.walk();
    for stmt in body.named_children(&mut cursor) {
        if stmt.kind() != "expression_statement" {
            continue;
        }
        let Some(assign) = stmt.named_child(0).filter(|n| n.kind() == "assignment") else {
            continue;
        };
        let (Some(left), Some(ty), Some(right)) = (
            assign.child_by_field_id(python::fields().left),
            assign.child_by_field_id(python::fields().r#type),
            assign.child_by_field_id(python::fields().right),
        ) else {
            continue;
        };
        if left.kind() != "identifier" {
            continue;
        }
        let field = python::text(left, source);
        if field == "model_config" || field.starts_with('_') {
            continue;
        }
        let annotation = python::text(ty, source);
        let parsed_bool = annotation == "bool";
        // `x: str = Field("dev", validation_alias="X")`: the default is Field's, and an alias is
        // the variable's whole name (the prefix does not apply to it).
        let (default, alias, removal) = match field_call(right, source) {
            Some(args) => {
                let (default, removal) = match (args.positional.first(), args.keyword("default")) {
                    (Some(d), _) => (Some(*d), args.removal(*d)),
                    (None, Some((d, whole))) => (Some(d), args.removal(whole)),
                    _ => (None, None),
                };
                let alias = ["validation_alias", "alias"]
                    .iter()
                    .find_map(|k| args.keyword(k).map(|a| a.0))
                    .and_then(|a| alias_name(a, source));
                (default.filter(|d| d.kind() != "ellipsis"), alias, removal)
            }
            None => (Some(right), None, Some(ty.end_byte()..right.end_byte())),
        };
        // Required (`Field(...)`, `Field(alias=...)`): no default to judge.
        let Some(default) = default else { continue };
        let key = alias.unwrap_or_else(|| format!("{prefix}{field}"));
        out.push(EnvRead {
            key: Some(key),
            key_range: Some(left.byte_range()),
            default: Some(EnvDefault {
                value: python::literal(default, source),
                range: default.byte_range(),
            }),
            target: Some(field.to_string()),
            parsed_bool,
            // Dropping the default makes the field required (inside `Field(...)`: the argument).
            default_removal: removal,
            // A SecretStr/SecretBytes annotation declares the field a secret whatever its name.
            declared_secret: annotation.contains("SecretStr") || annotation.contains("SecretBytes"),
            direct: true,
            ..EnvRead::new(EnvApi::PydanticField, assign.byte_range())
        });
    }
    Some(name)
}

/// The arguments of `Field(...)` when `node` is that call.
fn field_call<'t>(node: Node<'t>, source: &str) -> Option<python::Arguments<'t>> {
    if node.kind() != "call" {
        return None;
    }
    let function = node.child_by_field_id(python::fields().function)?;
    (python::short_name(function, source) == "Field")
        .then(|| plain_arguments(node, source))
        .flatten()
}

/// `"X"` or `AliasChoices("X", "Y")` (the first choice).
fn alias_name(node: Node, source: &str) -> Option<String> {
    if let Some(name) = python::string_value(node, source) {
        return Some(name);
    }
    if node.kind() != "call" {
        return None;
    }
    let args = plain_arguments(node, source)?;
    args.positional
        .first()
        .and_then(|a| python::string_value(*a, source))
}

/// A settings class's `env_prefix`: `model_config = SettingsConfigDict(env_prefix="APP_")`,
/// `model_config = {"env_prefix": "APP_"}`, or `class Config: env_prefix = "APP_"` (pydantic 1).
fn env_prefix(body: Node, source: &str) -> Option<String> {
    let mut cursor = body.walk();
    for stmt in body.named_children(&mut cursor) {
        match stmt.kind() {
            "expression_statement" => {
                let Some(assign) = stmt.named_child(0).filter(|n| n.kind() == "assignment") else {
                    continue;
                };
                let left = assign.child_by_field_id(python::fields().left);
                if left.map(|l| python::text(l, source)) != Some("model_config") {
                    continue;
                }
                let Some(right) = assign.child_by_field_id(python::fields().right) else {
                    continue;
                };
                if right.kind() == "call" {
                    return plain_arguments(right, source)?
                        .keyword("env_prefix")
                        .and_then(|(v, _)| python::string_value(v, source));
                }
                if right.kind() == "dictionary" {
                    let mut pairs = right.walk();
                    let found = right.named_children(&mut pairs).find_map(|pair| {
                        let key = pair.child_by_field_id(python::fields().key)?;
                        (python::string_value(key, source).as_deref() == Some("env_prefix"))
                            .then(|| {
                                pair.child_by_field_id(python::fields().value)
                                    .and_then(|v| python::string_value(v, source))
                            })
                            .flatten()
                    });
                    return found;
                }
            }
            "class_definition" => {
                let is_config = stmt
                    .child_by_field_id(python::fields().name)
                    .is_some_and(|n| python::text(n, source) == "Config");
                let Some(inner) = stmt
                    .child_by_field_id(python::fields().body)
                    .filter(|_| is_config)
                else {
                    continue;
                };
                let mut inner_cursor = inner.walk();
                for line in inner.named_children(&mut inner_cursor) {
                    let Some(assign) = line.named_child(0).filter(|n| n.kind() == "assignment")
                    else {
                        continue;
                    };
                    let is_prefix = assign
                        .child_by_field_id(python::fields().left)
                        .is_some_and(|l| python::text(l, source) == "env_prefix");
                    if is_prefix {
                        return assign
                            .child_by_field_id(python::fields().right)
                            .and_then(|r| python::string_value(r, source));
                    }
                }
            }
            _ => {}
        }
    }
    None
}

/// Where the read's value goes: the name it is stored under, a `bool(...)` around it, string
/// methods and a comparison after it.
fn describe_use<'t>(
    read_node: Node<'t>,
    source: &str,
    ancestry: &python::Ancestry<'t>,
    read: &mut EnvRead,
) {
    // Walk outwards through `.lower()`-style calls, `bool(...)` and a comparison.
    let mut current = read_node;
    while let Some(parent) = ancestry.parent(current) {
        match parent.kind() {
            "attribute"
                if parent
                    .child_by_field_id(python::fields().object)
                    .is_some_and(|o| o.id() == current.id()) =>
            {
                let method = parent
                    .child_by_field_id(python::fields().attribute)
                    .map(|a| python::text(a, source))
                    .unwrap_or("");
                let call = ancestry.parent(parent).filter(|c| c.kind() == "call");
                match (method, call) {
                    ("lower" | "upper" | "strip" | "casefold" | "title", Some(call)) => {
                        read.transforms.push(method.to_string());
                        current = call;
                    }
                    _ => break,
                }
            }
            "argument_list" => {
                let call = ancestry.parent(parent).filter(|c| c.kind() == "call");
                let wrapper = call
                    .and_then(|c| c.child_by_field_id(python::fields().function))
                    .map(|f| python::text(f, source))
                    .filter(|_| parent.named_child_count() == 1);
                match (wrapper, call) {
                    (Some("bool"), Some(call)) => {
                        read.bool_wrapper = Some(call.byte_range());
                        current = call;
                    }
                    // `str(read)` keeps the string; look further out for `.lower() == ...`.
                    (Some("str"), Some(call)) => current = call,
                    _ => break,
                }
            }
            "comparison_operator" => {
                let mut cursor = parent.walk();
                let operands: Vec<Node> = parent.named_children(&mut cursor).collect();
                if operands.len() == 2 && operands[0].id() == current.id() {
                    let operator: String = {
                        let mut c = parent.walk();
                        let ops: Vec<String> = parent
                            .children(&mut c)
                            .filter(|n| !n.is_named())
                            .map(|n| python::text(n, source).to_string())
                            .collect();
                        ops.join(" ")
                    };
                    if let Some(value) = python::literal(operands[1], source) {
                        read.comparison = Some((operator, value));
                    }
                }
                current = parent;
                break;
            }
            "parenthesized_expression" => current = parent,
            _ => break,
        }
    }
    if let Some((target, direct)) = target_of(current, source, ancestry) {
        read.target = Some(target);
        read.direct = direct;
    }
}

/// The name the value of `node` is stored under, and whether it is stored as is (`X = node`)
/// rather than through other expressions (`X = parse(node)`).
fn target_of<'t>(
    node: Node<'t>,
    source: &str,
    ancestry: &python::Ancestry<'t>,
) -> Option<(String, bool)> {
    let mut current = node;
    let mut direct = true;
    while let Some(parent) = ancestry.parent(current) {
        let found = match parent.kind() {
            "assignment" | "augmented_assignment" => {
                if parent
                    .child_by_field_id(python::fields().right)
                    .is_some_and(|r| r.id() == current.id())
                {
                    parent
                        .child_by_field_id(python::fields().left)
                        .and_then(|l| name_of(l, source))
                } else {
                    None
                }
            }
            "keyword_argument" => {
                if parent
                    .child_by_field_id(python::fields().value)
                    .is_some_and(|v| v.id() == current.id())
                {
                    parent
                        .child_by_field_id(python::fields().name)
                        .map(|n| python::text(n, source).to_string())
                } else {
                    None
                }
            }
            "pair" => {
                if parent
                    .child_by_field_id(python::fields().value)
                    .is_some_and(|v| v.id() == current.id())
                {
                    parent
                        .child_by_field_id(python::fields().key)
                        .and_then(|k| python::string_value(k, source))
                } else {
                    None
                }
            }
            "expression_statement"
            | "block"
            | "module"
            | "function_definition"
            | "class_definition"
            | "lambda"
            | "return_statement"
            | "if_statement" => return None,
            "parenthesized_expression" => {
                current = parent;
                continue;
            }
            _ => {
                direct = false;
                current = parent;
                continue;
            }
        };
        return found.map(|name| (name, direct));
    }
    None
}

fn name_of(target: Node, source: &str) -> Option<String> {
    match target.kind() {
        "identifier" => Some(python::text(target, source).to_string()),
        "attribute" => target
            .child_by_field_id(python::fields().attribute)
            .map(|a| python::text(a, source).to_string()),
        "subscript" => target
            .child_by_field_id(python::fields().subscript)
            .and_then(|s| python::string_value(s, source)),
        _ => None,
    }
}

/// The fail-fast rewrite: read the variable so that a missing value stops the process at start-up
/// instead of running with a fallback. `os.getenv("K", "d")` -> `os.environ["K"]`;
/// `env("K", default="d")` -> `env("K")`; a pydantic field loses its default.
pub fn fail_fast_fix(read: &EnvRead, file: &PythonFile, source: &str) -> Option<Fix> {
    read.default.as_ref()?;
    let key_source = &source[read.key_range.clone()?];
    let mut edits = Vec::new();
    let title;
    match read.api {
        EnvApi::Getenv | EnvApi::GetenvOr => {
            let environ = if let Some(environ) = file.names.local_for("os.environ") {
                environ.to_string()
            } else if let Some(os) = file.names.local_for("os") {
                format!("{os}.environ")
            } else {
                edits.push(super::Edit::insert(
                    file.import_insertion,
                    format!("import os{}", line_ending(source)),
                ));
                "os.environ".to_string()
            };
            let replacement = format!("{environ}[{key_source}]");
            title = format!("Fail fast: read with `{replacement}`");
            edits.push(Edit::replace(read.range.clone(), replacement));
        }
        EnvApi::EnvironGet | EnvApi::EnvironSetdefault => {
            let environ = &source[read.environ_range.clone()?];
            let replacement = format!("{environ}[{key_source}]");
            title = format!("Fail fast: read with `{replacement}`");
            edits.push(Edit::replace(read.range.clone(), replacement));
        }
        EnvApi::DjangoEnviron | EnvApi::Decouple => {
            title = "Fail fast: remove the default".to_string();
            edits.push(Edit::delete(read.default_removal.clone()?));
        }
        EnvApi::PydanticField => {
            title = "Fail fast: make the field required (remove its default)".to_string();
            edits.push(Edit::delete(read.default_removal.clone()?));
        }
        EnvApi::EnvironSubscript | EnvApi::DjangoEnvironScheme | EnvApi::Wrapper => return None,
    }
    edits.sort_by_key(|e| e.range.start);
    Some(Fix {
        title,
        applicability: Applicability::Unsafe,
        edits,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::python::parse;

    fn reads(source: &str) -> Vec<EnvRead> {
        let tree = parse(source, None);
        PythonFile::new(&tree, source).env_reads
    }

    #[test]
    fn finds_reads_under_aliases() {
        let src = "import os as _os\nfrom os import getenv as ge, environ\nA = _os.getenv('A', 'x')\nB = ge('B', default='y')\nC = environ.get('C')\nD = environ['D']\nE = ge('E') or 'z'\n";
        let found = reads(src);
        let summary: Vec<(EnvApi, Option<&str>, Option<&str>, bool)> = found
            .iter()
            .map(|r| {
                (
                    r.api,
                    r.key.as_deref(),
                    r.target.as_deref(),
                    r.default.is_some(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                (EnvApi::Getenv, Some("A"), Some("A"), true),
                (EnvApi::Getenv, Some("B"), Some("B"), true),
                (EnvApi::EnvironGet, Some("C"), Some("C"), false),
                (EnvApi::EnvironSubscript, Some("D"), Some("D"), false),
                (EnvApi::GetenvOr, Some("E"), Some("E"), true),
            ]
        );
    }

    #[test]
    fn unrelated_getenv_is_not_a_read() {
        assert!(reads("def getenv(k, d):\n    return d\nX = getenv('X', 'y')\n").is_empty());
    }

    #[test]
    fn django_environ_decouple_and_pydantic() {
        let src = "import environ\nfrom decouple import config\nfrom pydantic_settings import BaseSettings\nenv = environ.Env(DEBUG=(bool, True))\nS = env('S', default='x')\nT = env.str('T', 'y')\nU = config('U', default='z', cast=bool)\nclass Settings(BaseSettings):\n    jwt_secret: str = 'dev'\n    model_config = {}\n";
        let found = reads(src);
        let apis: Vec<(EnvApi, Option<&str>, bool)> = found
            .iter()
            .map(|r| (r.api, r.key.as_deref(), r.parsed_bool))
            .collect();
        assert_eq!(
            apis,
            [
                (EnvApi::DjangoEnvironScheme, Some("DEBUG"), true),
                (EnvApi::DjangoEnviron, Some("S"), false),
                (EnvApi::DjangoEnviron, Some("T"), false),
                (EnvApi::Decouple, Some("U"), true),
                (EnvApi::PydanticField, Some("jwt_secret"), false),
            ]
        );
    }

    #[test]
    fn file_aware_env_pydantic_prefixes_and_aliases_and_local_helpers() {
        let keys = |src: &str| -> Vec<(EnvApi, Option<String>, bool)> {
            reads(src)
                .into_iter()
                .map(|r| (r.api, r.key, r.default.is_some()))
                .collect()
        };
        assert_eq!(
            keys("import environ\nenv = environ.FileAwareEnv()\nSECRET_KEY = env(\"SECRET_KEY\", default=\"x\")\n"),
            [(EnvApi::DjangoEnviron, Some("SECRET_KEY".into()), true)]
        );
        let pydantic = "from pydantic import Field\nfrom pydantic_settings import BaseSettings, SettingsConfigDict\n\nclass Settings(BaseSettings):\n    model_config = SettingsConfigDict(env_prefix=\"APP_\")\n    jwt_secret: str = \"dev\"\n    db: str = Field(\"sqlite://\", validation_alias=\"DATABASE_URL\")\n    token: str = Field(...)\n\nclass Old(BaseSettings):\n    debug: bool = True\n    class Config:\n        env_prefix = \"OLD_\"\n";
        assert_eq!(
            keys(pydantic),
            [
                (EnvApi::PydanticField, Some("APP_jwt_secret".into()), true),
                (EnvApi::PydanticField, Some("DATABASE_URL".into()), true),
                (EnvApi::PydanticField, Some("OLD_debug".into()), true),
            ]
        );
        let helper = "import os\n\ndef get_bool_from_env(name, default=False):\n    return os.environ.get(name, str(default)).lower() in (\"1\", \"true\")\n\nDEBUG = get_bool_from_env(\"DEBUG\", True)\nTLS = get_bool_from_env(\"USE_TLS\")\n";
        let found = reads(helper);
        let wrapped: Vec<&EnvRead> = found.iter().filter(|r| r.api == EnvApi::Wrapper).collect();
        assert_eq!(wrapped.len(), 2);
        assert_eq!(wrapped[0].key.as_deref(), Some("DEBUG"));
        assert_eq!(wrapped[0].default_value(), Some(&Literal::Bool(true)));
        assert!(wrapped[0].parsed_bool);
        assert_eq!(wrapped[0].target.as_deref(), Some("DEBUG"));
        // The helper's own default applies when the call gives none.
        assert_eq!(wrapped[1].default_value(), Some(&Literal::Bool(false)));
    }

    #[test]
    fn comparison_and_bool_wrapper() {
        let found = reads("import os\nDEBUG = os.getenv('DEBUG', 'True').lower() == 'true'\nX = bool(os.getenv('X', ''))\n");
        assert_eq!(
            found[0].comparison,
            Some(("==".to_string(), Literal::Str("true".into())))
        );
        assert_eq!(found[0].transforms, ["lower"]);
        assert_eq!(found[0].target.as_deref(), Some("DEBUG"));
        assert!(found[1].bool_wrapper.is_some());
        assert_eq!(found[1].target.as_deref(), Some("X"));
    }
}
