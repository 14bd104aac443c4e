//! DB002 check-then-create-race: in one function, an existence test on a queryset
//! (`if M.objects.filter(f=x).exists():`, `.first()`, `.count() == 0`, or a name assigned from one
//! and tested later) followed by `M.objects.create(f=x, ...)` or `M(f=x)` on the same manager and
//! field, with no row lock (`select_for_update()` inside `transaction.atomic`) and no
//! `IntegrityError` handler around the create. Two concurrent requests both pass the test and both
//! create.

use std::collections::HashSet;
use std::sync::LazyLock;

use regex::Regex;
use tree_sitter::Node;

use crate::analysis::{Diagnostic, File, PythonFile, Rule, Severity};
use crate::checks::err::enclosing_function;
use crate::checks::one_line;
use crate::syntax::python::{self, last_segment, word_occurrences};
use crate::syntax::FileKind;

pub struct CheckThenCreateRace;

/// The terminal call of an existence test.
static EXISTENCE_TEST: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\.(exists|first|count)\(\s*\)").expect("valid regex"));

/// A queryset existence test found in the function.
struct Check<'t> {
    call: Node<'t>,
    /// The manager the queryset starts from, as written: `Host.objects`, `user.hosts`.
    manager: String,
    /// Field names of the filter, lookups stripped (`hostname__iexact` -> `hostname`).
    fields: Vec<String>,
}

impl Rule for CheckThenCreateRace {
    fn id(&self) -> &'static str {
        "DB002"
    }

    fn applies_to(&self, kind: FileKind) -> bool {
        kind == FileKind::Python
    }

    fn may_apply(&self, text: &str) -> bool {
        text.contains(".filter(") && (text.contains(".create(") || text.contains(".save("))
    }

    fn check(&self, file: &File, out: &mut Vec<Diagnostic>) {
        // Tests run one request at a time; data migrations run once, alone.
        if file.role.development || file.role.migration {
            return;
        }
        let Some(py) = file.python else { return };
        let source = file.text;
        let mut reported: HashSet<usize> = HashSet::new();
        for m in EXISTENCE_TEST.captures_iter(source) {
            let method = m.get(1).expect("group 1 always matches");
            let Some(check) = existence_check(py, source, method.start(), method.end()) else {
                continue;
            };
            let Some(function) = enclosing_function(py, check.call) else {
                continue;
            };
            if is_locked(py, function, source) {
                continue;
            }
            for create in creates_after(py, source, function, &check) {
                if exclusive_branches(py, check.call, create, function)
                    || catches_integrity_error(py, create, function, source)
                    || !reported.insert(create.id())
                {
                    continue;
                }
                let line = source[..check.call.start_byte()].matches('\n').count() + 1;
                let fields = check.fields.join("`, `");
                let message = format!(
                    "`{}` creates a row after a separate existence check on `{fields}` (line {line}): two concurrent requests can both pass the check and create duplicates; use `get_or_create` backed by a unique constraint, or catch IntegrityError",
                    one_line(python::text(create, source), 60, "...)")
                );
                let mut diagnostic = Diagnostic::new(self.id(), create.byte_range(), message);
                // Management commands usually run alone.
                if file.role.management_command {
                    diagnostic = diagnostic.with_severity(Severity::Info);
                }
                out.push(diagnostic);
            }
        }
    }
}

/// The existence test whose method name spans `start..end`, when it is one: a queryset chain
/// with a keyword `filter(...)`, used as (or assigned to a name later used as) a condition.
fn existence_check<'t>(
    py: &PythonFile<'t>,
    source: &str,
    start: usize,
    end: usize,
) -> Option<Check<'t>> {
    let fields = python::fields();
    let name = py.ancestry.node_at(start, end)?;
    let attribute = py
        .ancestry
        .parent(name)
        .filter(|a| a.kind() == "attribute")?;
    let call = py.ancestry.called(attribute)?;
    let method = python::text(name, source);
    // Walk down the chain: `M.objects.filter(a=x).exclude(...).exists()`.
    let mut receiver = attribute.child_by_field_id(fields.object)?;
    let mut filter_fields = Vec::new();
    let mut filtered = false;
    let mut manager = None;
    while receiver.kind() == "call" {
        let function = receiver.child_by_field_id(fields.function)?;
        if function.kind() != "attribute" {
            return None;
        }
        let step = python::text(function.child_by_field_id(fields.attribute)?, source);
        let object = function.child_by_field_id(fields.object)?;
        if step == "filter" {
            filtered = true;
            let args = python::arguments(receiver, source)?; // `**lookups`: fields unknown
            for (keyword, _, _) in &args.keywords {
                // `state__in=...`, `created__gte=...`: a query over a set of rows, not a test
                // for one identity.
                if is_range_lookup(keyword) {
                    return None;
                }
                filter_fields.push(field_of(keyword));
            }
        }
        if object.kind() != "call" {
            manager = Some(python::text(object, source).to_string());
        }
        receiver = object;
    }
    let manager = manager?;
    if !filtered || filter_fields.is_empty() || !manager.contains('.') {
        return None;
    }
    let is_test = match method {
        "count" => counted_against_zero(py, call, source),
        _ => is_condition(py, call) || assigned_and_tested(py, call, source),
    };
    is_test.then_some(Check {
        call,
        manager,
        fields: filter_fields,
    })
}

fn is_range_lookup(keyword: &str) -> bool {
    const LOOKUPS: &[&str] = &[
        "in",
        "gt",
        "gte",
        "lt",
        "lte",
        "range",
        "isnull",
        "contains",
        "icontains",
        "startswith",
        "istartswith",
        "endswith",
        "iendswith",
        "regex",
        "iregex",
        "year",
        "month",
        "day",
        "date",
        "week_day",
        "search",
        "overlap",
        "has_key",
        "has_any_keys",
    ];
    keyword
        .rsplit_once("__")
        .is_some_and(|(_, lookup)| LOOKUPS.contains(&lookup))
}

/// `hostname__iexact` -> `hostname`; `host__name` stays a relation path.
fn field_of(keyword: &str) -> String {
    const LOOKUPS: &[&str] = &["exact", "iexact"];
    match keyword.rsplit_once("__") {
        Some((field, lookup)) if LOOKUPS.contains(&lookup) => field.to_string(),
        _ => keyword.to_string(),
    }
}

/// Whether `node` is (part of) the condition of an `if` / `elif`.
fn is_condition<'t>(py: &PythonFile<'t>, node: Node<'t>) -> bool {
    let mut current = node;
    while let Some(parent) = py.ancestry.parent(current) {
        match parent.kind() {
            "not_operator"
            | "boolean_operator"
            | "parenthesized_expression"
            | "comparison_operator" => {
                current = parent;
            }
            "if_statement" | "elif_clause" => {
                return parent
                    .child_by_field_name("condition")
                    .is_some_and(|c| c.id() == current.id());
            }
            _ => return false,
        }
    }
    false
}

/// `.count()` compared with 0 or 1 (or tested for truth): an existence test, not a quota.
fn counted_against_zero<'t>(py: &PythonFile<'t>, call: Node<'t>, source: &str) -> bool {
    match py.ancestry.parent(call) {
        Some(parent) if parent.kind() == "comparison_operator" => {
            let mut cursor = parent.walk();
            let against_zero_or_one = parent.named_children(&mut cursor).any(|operand| {
                matches!(
                    python::literal(operand, source),
                    Some(python::Literal::Int(0 | 1))
                )
            });
            against_zero_or_one && is_condition(py, call)
        }
        _ => is_condition(py, call),
    }
}

/// `host = M.objects.filter(...).first()` followed by `if host:` / `if not host:` /
/// `if host is None:` in the same function.
fn assigned_and_tested<'t>(py: &PythonFile<'t>, call: Node<'t>, source: &str) -> bool {
    let fields = python::fields();
    let Some(assignment) = py.ancestry.parent(call).filter(|a| {
        a.kind() == "assignment"
            && a.child_by_field_id(fields.right)
                .is_some_and(|r| r.id() == call.id())
    }) else {
        return false;
    };
    let Some(target) = assignment
        .child_by_field_id(fields.left)
        .filter(|t| t.kind() == "identifier")
    else {
        return false;
    };
    let Some(function) = enclosing_function(py, call) else {
        return false;
    };
    let name = python::text(target, source);
    let scope = &source[assignment.end_byte()..function.end_byte()];
    let offset = assignment.end_byte();
    let tested = word_occurrences(scope, name).any(|at| {
        py.ancestry
            .node_at(offset + at, offset + at + name.len())
            .is_some_and(|id| id.kind() == "identifier" && is_condition(py, id))
    });
    tested
}

/// Rows created from the same manager (or model) with one of the checked fields, after the check.
fn creates_after<'t>(
    py: &PythonFile<'t>,
    source: &str,
    function: Node<'t>,
    check: &Check,
) -> Vec<Node<'t>> {
    let from = check.call.end_byte();
    let scope = &source[from..function.end_byte()];
    // `M.objects.create(...)`, or `M(...)` (saved later) when the manager is `M.objects`.
    let model = check.manager.strip_suffix(".objects");
    let mut found = Vec::new();
    let mut candidates: Vec<(usize, String)> = scope
        .match_indices(&format!("{}.create(", check.manager))
        .map(|(at, _)| (at, format!("{}.create", check.manager)))
        .collect();
    if let Some(model) = model {
        if scope.contains(".save(") {
            candidates.extend(
                scope
                    .match_indices(&format!("{model}("))
                    .map(|(at, _)| (at, model.to_string())),
            );
        }
    }
    for (at, callee_text) in candidates {
        let at = from + at;
        let starts_word = source[..at]
            .chars()
            .next_back()
            .is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == '.'));
        if !starts_word {
            continue;
        }
        let Some(callee) = py.ancestry.node_at(at, at + callee_text.len()) else {
            continue;
        };
        if python::text(callee, source) != callee_text {
            continue;
        }
        let Some(call) = py.ancestry.called(callee) else {
            continue;
        };
        let Some(args) = python::arguments(call, source) else {
            continue;
        };
        let same_field = args
            .keywords
            .iter()
            .any(|(keyword, _, _)| check.fields.contains(keyword));
        if same_field {
            found.push(call);
        }
    }
    found
}

/// `select_for_update()` inside `transaction.atomic` (a `with` block or the decorator): the
/// check holds a row lock until the create commits.
fn is_locked<'t>(py: &PythonFile<'t>, function: Node<'t>, source: &str) -> bool {
    let body = python::text(function, source);
    if !body.contains("select_for_update") {
        return false;
    }
    body.contains("atomic")
        || py
            .ancestry
            .decorators(function)
            .iter()
            .any(|d| python::text(*d, source).contains("atomic"))
}

/// A `try` around `create` (inside the function) whose handlers catch IntegrityError (or its
/// base, DatabaseError).
fn catches_integrity_error<'t>(
    py: &PythonFile<'t>,
    create: Node<'t>,
    function: Node<'t>,
    source: &str,
) -> bool {
    let mut current = create;
    while let Some(parent) = py.ancestry.parent(current) {
        if parent.id() == function.id() {
            return false;
        }
        let in_try_body = parent.kind() == "try_statement"
            && parent
                .child_by_field_id(python::fields().body)
                .is_some_and(|b| b.id() == current.id());
        if in_try_body && handles_integrity_error(parent, source) {
            return true;
        }
        current = parent;
    }
    false
}

fn handles_integrity_error(try_statement: Node, source: &str) -> bool {
    let mut cursor = try_statement.walk();
    let clauses: Vec<Node> = try_statement
        .named_children(&mut cursor)
        .filter(|c| c.kind() == "except_clause")
        .collect();
    clauses.iter().any(|clause| {
        let mut inner = clause.walk();
        let types: Vec<Node> = clause
            .named_children(&mut inner)
            .filter(|c| c.kind() != "block" && c.kind() != "comment")
            .collect();
        types.iter().any(|t| {
            let caught = match t.kind() {
                "as_pattern" => t.named_child(0).map_or("", |v| python::text(v, source)),
                _ => python::text(*t, source),
            };
            caught
                .split([',', '(', ')', ' ', '\n'])
                .map(last_segment)
                .any(|name| matches!(name, "IntegrityError" | "DatabaseError"))
        })
    })
}

/// `check` and `create` sit in different branches of one `if` (the check in the `if` body, the
/// create under `else:`): no run reaches both. A check in a condition reaches every branch.
fn exclusive_branches<'t>(
    py: &PythonFile<'t>,
    check: Node<'t>,
    create: Node<'t>,
    function: Node<'t>,
) -> bool {
    let contains = |outer: Node, inner: Node| {
        outer.start_byte() <= inner.start_byte() && inner.end_byte() <= outer.end_byte()
    };
    let mut branch = create;
    while let Some(parent) = py.ancestry.parent(branch) {
        if parent.id() == function.id() {
            return false;
        }
        if parent.kind() == "if_statement" && contains(parent, check) && !contains(branch, check) {
            let mut cursor = parent.walk();
            let bodies: Vec<Node> = parent
                .named_children(&mut cursor)
                .filter_map(|c| match c.kind() {
                    "block" => Some(c),
                    "elif_clause" => c.child_by_field_name("consequence"),
                    "else_clause" => c.child_by_field_id(python::fields().body),
                    _ => None,
                })
                .collect();
            return bodies.iter().any(|b| contains(*b, check));
        }
        branch = parent;
    }
    false
}
