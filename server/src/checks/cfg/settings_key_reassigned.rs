//! CFG011 settings-key-reassigned: an UPPER_CASE setting assigned twice at module level of one
//! settings module with nothing reading it in between, so the first value is dead (`STATIC_ROOT`
//! set near the top and again further down, the second one silently winning); and a `STORAGES`
//! location that names another place than STATIC_ROOT / MEDIA_ROOT.

use std::collections::HashMap;

use tree_sitter::Node;

use super::shared::{self, Assignment};
use crate::analysis::{Applicability, Diagnostic, Edit, File, Fix, PythonFile, Rule, Severity};
use crate::syntax::python::{self, word_occurrences};
use crate::syntax::FileKind;

pub struct SettingsKeyReassigned;

impl Rule for SettingsKeyReassigned {
    fn id(&self) -> &'static str {
        "CFG011"
    }

    fn applies_to(&self, kind: FileKind) -> bool {
        kind == FileKind::Python
    }

    fn may_apply(&self, text: &str) -> bool {
        text.contains("STORAGES") || !assigned_twice(text).is_empty()
    }

    fn check(&self, file: &File, out: &mut Vec<Diagnostic>) {
        let Some(py) = file.python else { return };
        // Dead values are dead in any settings module, development ones included.
        if !file.role.settings && !file.role.config_module {
            return;
        }
        if file.text.contains("STORAGES") {
            storages_disagree(self.id(), py, file.text, out);
        }
        let names = assigned_twice(file.text);
        if names.is_empty() {
            return;
        }
        let assignments = shared::module_assignments(py, file.text, &names);
        for (i, first) in assignments.iter().enumerate() {
            let Some(later) = assignments[i + 1..].iter().find(|a| a.name == first.name) else {
                continue;
            };
            if first.operator != "=" || first.value.kind() == "assignment" {
                continue; // `A = B = 1`: deleting it would lose B as well
            }
            if !replaces(py, later, &first.name, file.text)
                || read_between(py, file.text, &first.name, first.statement, later.statement)
            {
                continue;
            }
            out.push(finding(self.id(), py, file.text, first, later));
        }
    }
}

/// The storage whose files the top-level setting also locates: Django's default
/// `FileSystemStorage` keeps uploads in MEDIA_ROOT, collectstatic writes to STATIC_ROOT.
const STORAGE_ROOTS: &[(&str, &str)] = &[("staticfiles", "STATIC_ROOT"), ("default", "MEDIA_ROOT")];

/// `STORAGES = {"staticfiles": {..., "OPTIONS": {"location": X}}}` next to a `STATIC_ROOT` that
/// says something else: collectstatic writes to X while whatever reads `settings.STATIC_ROOT` (the
/// web server configuration, WhiteNoise, a cleanup job) looks in the other place.
fn storages_disagree(id: &'static str, py: &PythonFile, source: &str, out: &mut Vec<Diagnostic>) {
    let assignments =
        shared::module_assignments(py, source, &["STORAGES", "STATIC_ROOT", "MEDIA_ROOT"]);
    let last = |name: &str| {
        assignments
            .iter()
            .rev()
            .find(|a| a.name == name)
            .filter(|a| a.operator == "=")
    };
    let Some(storages) = last("STORAGES").filter(|a| a.value.kind() == "dictionary") else {
        return;
    };
    for (alias, root_name) in STORAGE_ROOTS {
        let Some(root) = last(root_name) else {
            continue;
        };
        let Some(location) = dict_get(storages.value, alias, source)
            .and_then(|storage| dict_get(storage, "OPTIONS", source))
            .and_then(|options| dict_get(options, "location", source))
        else {
            continue;
        };
        if !different_places(py, location, root.value, source) {
            continue;
        }
        // Pointing the storage at the setting is only possible when the setting is defined first.
        let fix = (root.statement.end_byte() <= storages.statement.start_byte()).then(|| Fix {
            title: format!("Use {root_name} as the {alias} storage location"),
            applicability: Applicability::Unsafe,
            edits: vec![Edit::replace(location.byte_range(), *root_name)],
        });
        out.push(
            Diagnostic::new(
                id,
                location.byte_range(),
                format!(
                    "`STORAGES[\"{alias}\"]` keeps its files in `{}` while `{root_name}` (line {}) is `{}`: two settings name different places for the same files, and code reading {root_name} looks in the wrong one",
                    python::text(location, source),
                    root.statement.start_position().row + 1,
                    python::text(root.value, source),
                ),
            )
            .with_fix(fix),
        );
    }
}

/// The value under the string key `key` of a dict literal.
fn dict_get<'t>(dict: Node<'t>, key: &str, source: &str) -> Option<Node<'t>> {
    if dict.kind() != "dictionary" {
        return None;
    }
    let f = python::fields();
    let mut cursor = dict.walk();
    let found = dict.named_children(&mut cursor).find(|pair| {
        pair.kind() == "pair"
            && pair
                .child_by_field_id(f.key)
                .and_then(|k| python::string_value(k, source))
                .is_some_and(|k| k == key)
    })?;
    found.child_by_field_id(f.value)
}

/// Two path expressions that certainly differ: different literals, or the same names joined with
/// different strings (`BASE_DIR / "static"` and `BASE_DIR / "staticfiles"`). Spellings that may
/// mean the same path (`os.path.join(BASE_DIR, "static")` and `BASE_DIR / "static"`) do not count.
fn different_places(py: &PythonFile, a: Node, b: Node, source: &str) -> bool {
    if let (Some(x), Some(y)) = (python::literal(a, source), python::literal(b, source)) {
        return x.as_str().map(|p| p.trim_end_matches('/'))
            != y.as_str().map(|p| p.trim_end_matches('/'));
    }
    if python::text(a, source) == python::text(b, source)
        || !without_effects(py, a, source)
        || !without_effects(py, b, source)
    {
        return false;
    }
    let (names_a, strings_a) = parts(a, source);
    let (names_b, strings_b) = parts(b, source);
    let shape = |n: Node| squeeze(python::text(n, source));
    names_a == names_b
        && strings_a != strings_b
        && strings_a.len() == strings_b.len()
        && !strings_a.is_empty()
        && same_shape(&shape(a), &shape(b), &strings_a, &strings_b)
}

/// Identifiers and string literals of an expression, in order.
fn parts(node: Node, source: &str) -> (Vec<String>, Vec<String>) {
    let mut names = Vec::new();
    let mut strings = Vec::new();
    let mut stack = vec![node];
    while let Some(n) = stack.pop() {
        match n.kind() {
            "identifier" => names.push(python::text(n, source).to_string()),
            "string" => strings.push(python::string_value(n, source).unwrap_or_default()),
            _ => {
                let mut cursor = n.walk();
                let children: Vec<Node> = n.named_children(&mut cursor).collect();
                stack.extend(children.into_iter().rev());
            }
        }
    }
    (names, strings)
}

/// The two texts are the same once their string literals are blanked out.
fn same_shape(a: &str, b: &str, strings_a: &[String], strings_b: &[String]) -> bool {
    let blank = |text: &str, strings: &[String]| {
        let mut out = text.to_string();
        for s in strings {
            let squeezed = squeeze(s);
            if !squeezed.is_empty() {
                out = out.replacen(&squeezed, "", 1);
            }
        }
        out
    };
    blank(a, strings_a) == blank(b, strings_b)
}

/// UPPER_CASE names assigned (`NAME =`, `NAME: T =`) at the start of more than one line: the
/// candidates, found without parsing.
fn assigned_twice(text: &str) -> Vec<&str> {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for line in text.lines() {
        let name_len = line
            .bytes()
            .take_while(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || *b == b'_')
            .count();
        if name_len < 2 || !line.as_bytes()[0].is_ascii_uppercase() {
            continue;
        }
        let (name, rest) = line.split_at(name_len);
        let rest = rest.trim_start_matches([' ', '\t']);
        let assigns = (rest.starts_with('=') && !rest.starts_with("=="))
            || (rest.starts_with(':') && rest.contains('='));
        if assigns {
            *seen.entry(name).or_default() += 1;
        }
    }
    let mut twice: Vec<&str> = seen
        .into_iter()
        .filter(|(_, count)| *count > 1)
        .map(|(name, _)| name)
        .collect();
    twice.sort_unstable();
    twice
}

/// `later` throws the old value away: a plain `=` whose right side does not read the name
/// (`X = X + [...]` and `X = [*X, ...]` extend it).
fn replaces(py: &PythonFile, later: &Assignment, name: &str, source: &str) -> bool {
    later.operator == "=" && !reads(py, source, name, later.value.byte_range())
}

/// The name appears as an identifier (not in a string or comment) in `range`.
fn reads(py: &PythonFile, source: &str, name: &str, range: std::ops::Range<usize>) -> bool {
    word_occurrences(&source[range.clone()], name).any(|at| {
        let at = range.start + at;
        py.ancestry
            .node_at(at, at + name.len())
            .is_some_and(|n| n.kind() == "identifier")
    })
}

/// Anything between the two statements that may use the first value: the name as an identifier
/// (`LOGGING["root"] = ...`, `B = A + 1`, an `if` that reassigns it, a function that reads it), or
/// a reflective access to the module namespace.
fn read_between(py: &PythonFile, source: &str, name: &str, first: Node, later: Node) -> bool {
    let between = &source[first.end_byte()..later.start_byte()];
    if ["globals()", "locals()", "vars()", "exec("]
        .iter()
        .any(|r| between.contains(r))
    {
        return true;
    }
    // django-split-settings runs the included files in this module's namespace.
    if between.contains("include(") && source.contains("split_settings") {
        return true;
    }
    reads(py, source, name, first.end_byte()..later.start_byte())
}

fn finding(
    id: &'static str,
    py: &PythonFile,
    source: &str,
    first: &Assignment,
    later: &Assignment,
) -> Diagnostic {
    let line = later.statement.start_position().row + 1;
    let same = match (
        python::literal(first.value, source),
        python::literal(later.value, source),
    ) {
        (Some(a), Some(b)) => a == b,
        _ => {
            squeeze(python::text(first.value, source)) == squeeze(python::text(later.value, source))
        }
    };
    let name = &first.name;
    let (message, severity) = if same {
        (
            format!("`{name}` is assigned the same value again on line {line}: this assignment is redundant"),
            Severity::Info,
        )
    } else {
        (
            format!("`{name}` is assigned again on line {line}, so this value is never used: the later one wins, which is easy to miss when editing this one"),
            Severity::Warning,
        )
    };
    let target = first
        .statement
        .named_child(0)
        .and_then(|inner| inner.child_by_field_id(python::fields().left))
        .unwrap_or(first.statement);
    Diagnostic::new(id, target.byte_range(), message)
        .with_severity(severity)
        .with_fix(deletion(py, source, first))
}

/// The text without whitespace, to compare two spellings of the same expression.
fn squeeze(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

/// Deletes the dead statement with its line, when it has the lines to itself and evaluating its
/// value has no effect (a literal, arithmetic on names, `os.path.join`): then the module behaves
/// exactly as before. Still offered as a quick fix only (`Unsafe`), never applied on save: the
/// first assignment may be the one the user just typed, meaning to change the setting, and
/// deleting it would throw their edit away. Which value should stay is their call.
fn deletion(py: &PythonFile, source: &str, first: &Assignment) -> Option<Fix> {
    let statement = first.statement;
    let (line_start, _) = python::line_prefix(source, statement.start_byte());
    if line_start != statement.start_byte() {
        return None;
    }
    let rest = &source[statement.end_byte()..];
    let line_end = rest
        .find('\n')
        .map_or(source.len(), |i| statement.end_byte() + i + 1);
    let tail = source[statement.end_byte()..line_end].trim();
    if !(tail.is_empty() || tail.starts_with('#')) {
        return None; // `A = 1; B = 2`
    }
    if !without_effects(py, first.value, source) {
        return None;
    }
    Some(Fix {
        title: format!("Delete the unused assignment of {}", first.name),
        applicability: Applicability::Unsafe,
        edits: vec![Edit::delete(line_start..line_end)],
    })
}

/// Functions that only compute a value.
const PURE_CALLS: &[&str] = &[
    "os.path.join",
    "os.path.dirname",
    "os.path.abspath",
    "os.path.realpath",
    "os.path.expanduser",
    "os.getenv",
    "os.environ.get",
    "pathlib.Path",
    "datetime.timedelta",
];
const PURE_BUILTINS: &[&str] = &[
    "str",
    "int",
    "float",
    "bool",
    "list",
    "tuple",
    "dict",
    "set",
    "frozenset",
];

fn without_effects(py: &PythonFile, node: Node, source: &str) -> bool {
    match node.kind() {
        "string" => {
            let mut cursor = node.walk();
            let interpolated = node
                .children(&mut cursor)
                .any(|c| c.kind() == "interpolation");
            !interpolated
        }
        "integer" | "float" | "true" | "false" | "none" | "identifier" | "comment"
        | "escape_sequence" => true,
        "concatenated_string"
        | "list"
        | "tuple"
        | "set"
        | "dictionary"
        | "pair"
        | "parenthesized_expression"
        | "binary_operator"
        | "unary_operator"
        | "attribute"
        | "keyword_argument"
        | "argument_list"
        | "boolean_operator"
        | "not_operator"
        | "comparison_operator"
        | "conditional_expression" => {
            let mut cursor = node.walk();
            let children: Vec<Node> = node.named_children(&mut cursor).collect();
            children.into_iter().all(|c| without_effects(py, c, source))
        }
        "call" => {
            let f = python::fields();
            let Some(function) = node.child_by_field_id(f.function) else {
                return false;
            };
            let pure = match function.kind() {
                "identifier" => {
                    let name = python::text(function, source);
                    match py.names.qualify(function, source) {
                        Some(q) => PURE_CALLS.contains(&q.as_str()),
                        None => PURE_BUILTINS.contains(&name),
                    }
                }
                // `Path(__file__).resolve().parent`
                "attribute" => {
                    py.names
                        .qualify(function, source)
                        .is_some_and(|q| PURE_CALLS.contains(&q.as_str()))
                        || function.child_by_field_id(f.attribute).is_some_and(|a| {
                            matches!(
                                python::text(a, source),
                                "resolve" | "joinpath" | "absolute" | "split" | "strip" | "lower"
                            )
                        }) && function
                            .child_by_field_id(f.object)
                            .is_some_and(|o| without_effects(py, o, source))
                }
                _ => false,
            };
            pure && node
                .child_by_field_id(f.arguments)
                .is_some_and(|a| without_effects(py, a, source))
        }
        _ => false,
    }
}
