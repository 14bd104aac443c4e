//! CEL001 unbounded-task-retry: Celery tasks that retry forever (`max_retries=None` on the task,
//! in `retry_kwargs` or in `self.retry(...)`), a `self.retry(countdown=...)` that grows
//! exponentially with `self.request.retries` without a cap (`2 ** self.request.retries`,
//! `pow(2, n)`, `1 << n`) and can exceed an hour within the task's retries, and
//! `retry_backoff_max=None`, which Celery cannot take at all.

use std::collections::HashSet;

use tree_sitter::Node;

use crate::analysis::{Applicability, Diagnostic, Edit, File, Fix, PythonFile, Rule, Severity};
use crate::checks::cfg::shared::module_assignments;
use crate::checks::one_line;
use crate::syntax::python::{self, Literal};
use crate::syntax::FileKind;

pub struct UnboundedTaskRetry;

/// Celery's default `max_retries`.
const DEFAULT_MAX_RETRIES: i64 = 3;

/// Retry delays above this are reported: past an hour a countdown outlives the visibility
/// timeout of the Redis and SQS transports (one hour by default), so the broker hands the
/// waiting task to a second worker and it runs twice.
const LONGEST_REASONABLE_DELAY: f64 = 3600.0;

/// The cap the fix puts on an exponential countdown (Celery's own `retry_backoff_max` default).
const COUNTDOWN_CAP: &str = "600";

/// The finite retry count the fix sets.
const FINITE_RETRIES: &str = "5";

impl Rule for UnboundedTaskRetry {
    fn id(&self) -> &'static str {
        "CEL001"
    }

    fn applies_to(&self, kind: FileKind) -> bool {
        kind == FileKind::Python
    }

    fn may_apply(&self, text: &str) -> bool {
        let retries = text.contains("max_retries")
            || text.contains("retry_backoff")
            || text.contains(".retry(");
        // A task is declared through `celery`, `shared_task` or an app's `.task` / `.Task`.
        retries
            && (text.contains("celery")
                || text.contains("shared_task")
                || text.contains(".task")
                || text.contains("Task"))
    }

    fn check(&self, file: &File, out: &mut Vec<Diagnostic>) {
        let Some(py) = file.python else { return };
        let source = file.text;
        let mut found = Vec::new();
        for task in tasks(py, source) {
            check_task(py, source, &task, &mut found);
        }
        for mut diagnostic in found {
            if file.role.development {
                diagnostic = diagnostic.with_severity(Severity::Hint);
            }
            out.push(diagnostic);
        }
    }
}

/// A Celery task: a decorated function, or a `Task` subclass and its `run` method.
struct Task<'t> {
    name: String,
    /// Options by name: keyword arguments of the decorator, or class attributes.
    options: Vec<(String, Node<'t>)>,
    /// The code that runs (and may call `self.retry`).
    function: Option<Node<'t>>,
    /// The task sets a `base=` class, whose attributes (`max_retries`) are not visible here.
    custom_base: bool,
}

impl<'t> Task<'t> {
    fn option(&self, name: &str) -> Option<Node<'t>> {
        self.options
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| *v)
    }
}

/// Every task of the module, found from the text of `task` / `shared_task` / `Task`.
fn tasks<'t>(py: &PythonFile<'t>, source: &str) -> Vec<Task<'t>> {
    let ancestry = &py.ancestry;
    let fields = python::fields();
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for word in ["task", "shared_task"] {
        for identifier in ancestry.identifiers(source, word) {
            // `app.task` is an attribute whose last part is the identifier found.
            let expr = ancestry.callee_of(identifier);
            let Some(parent) = ancestry.parent(expr) else {
                continue;
            };
            let (decorator, call) = match parent.kind() {
                "decorator" => (parent, None),
                "call"
                    if parent
                        .child_by_field_id(fields.function)
                        .is_some_and(|f| f.id() == expr.id()) =>
                {
                    match ancestry.parent(parent) {
                        Some(d) if d.kind() == "decorator" => (d, Some(parent)),
                        _ => continue,
                    }
                }
                _ => continue,
            };
            if !is_task_decorator(py, source, expr) {
                continue;
            }
            let Some(function) = ancestry
                .parent(decorator)
                .and_then(python::definition)
                .filter(|d| d.kind() == "function_definition")
            else {
                continue;
            };
            if !seen.insert(function.id()) {
                continue;
            }
            let options: Vec<(String, Node<'t>)> = call
                .and_then(|c| python::arguments(c, source))
                .map(|args| {
                    args.keywords
                        .iter()
                        .map(|(name, value, _)| (name.clone(), *value))
                        .collect()
                })
                .unwrap_or_default();
            let custom_base = options.iter().any(|(n, _)| n == "base");
            out.push(Task {
                name: python::definition_name(function, source).to_string(),
                options,
                function: Some(function),
                custom_base,
            });
        }
    }
    for identifier in ancestry.identifiers(source, "Task") {
        let Some(class) = task_class(py, source, identifier) else {
            continue;
        };
        if !seen.insert(class.id()) {
            continue;
        }
        out.push(Task {
            name: python::definition_name(class, source).to_string(),
            options: class_attributes(class, source),
            function: class_method(class, source, "run"),
            custom_base: false,
        });
    }
    out
}

/// `shared_task`, `celery.shared_task`, `app.task`, `celery_app.task`, or `.task` of a module
/// level `Celery(...)` instance.
fn is_task_decorator(py: &PythonFile, source: &str, expr: Node) -> bool {
    if let Some(qualified) = py.names.qualify(expr, source) {
        if qualified == "celery.task" || qualified.ends_with("shared_task") {
            return true;
        }
    }
    if expr.kind() != "attribute" {
        return false;
    }
    let Some(object) = expr.child_by_field_id(python::fields().object) else {
        return false;
    };
    is_celery_app(py, source, object)
}

/// An expression naming a Celery application: bound to `Celery(...)` at module level, or named
/// like one (`app`, `celery`, `celery_app`), which is how apps imported from the project's
/// `celery.py` are spelled.
fn is_celery_app(py: &PythonFile, source: &str, object: Node) -> bool {
    let name = python::short_name(object, source).to_ascii_lowercase();
    if name == "app" || name.contains("celery") || name.ends_with("_app") {
        return true;
    }
    object.kind() == "identifier"
        && module_assignments(py, source, &[python::text(object, source)])
            .iter()
            .any(|a| {
                a.value.kind() == "call"
                    && a.value
                        .child_by_field_id(python::fields().function)
                        .and_then(|f| py.names.qualify(f, source))
                        .is_some_and(|q| q == "celery.Celery")
            })
}

/// The class whose bases include the `Task` identifier found: `class Sync(Task)`,
/// `class Sync(celery.Task)`, `class Sync(app.Task)`.
fn task_class<'t>(py: &PythonFile<'t>, source: &str, identifier: Node<'t>) -> Option<Node<'t>> {
    let ancestry = &py.ancestry;
    let mut base = identifier;
    if let Some(p) = ancestry
        .parent(identifier)
        .filter(|p| p.kind() == "attribute")
    {
        base = p;
    }
    let list = ancestry
        .parent(base)
        .filter(|p| p.kind() == "argument_list")?;
    let class = ancestry
        .parent(list)
        .filter(|c| c.kind() == "class_definition")?;
    let celery = match base.kind() {
        "identifier" => py
            .names
            .qualify(base, source)
            .is_some_and(|q| q.starts_with("celery.")),
        _ => {
            py.names
                .qualify(base, source)
                .is_some_and(|q| q.starts_with("celery."))
                || base
                    .child_by_field_id(python::fields().object)
                    .is_some_and(|o| is_celery_app(py, source, o))
        }
    };
    celery.then_some(class)
}

fn class_attributes<'t>(class: Node<'t>, source: &str) -> Vec<(String, Node<'t>)> {
    let fields = python::fields();
    let Some(body) = class.child_by_field_id(fields.body) else {
        return Vec::new();
    };
    let mut cursor = body.walk();
    let found = body
        .named_children(&mut cursor)
        .filter(|s| s.kind() == "expression_statement")
        .filter_map(|s| s.named_child(0))
        .filter(|a| a.kind() == "assignment")
        .filter_map(|a| {
            let left = a.child_by_field_id(fields.left)?;
            let right = a.child_by_field_id(fields.right)?;
            (left.kind() == "identifier").then(|| (python::text(left, source).to_string(), right))
        })
        .collect();
    found
}

fn class_method<'t>(class: Node<'t>, source: &str, name: &str) -> Option<Node<'t>> {
    let body = class.child_by_field_id(python::fields().body)?;
    let mut cursor = body.walk();
    let found = body
        .named_children(&mut cursor)
        .filter_map(|s| match s.kind() {
            "function_definition" => Some(s),
            "decorated_definition" => python::definition(s),
            _ => None,
        })
        .find(|f| python::definition_name(*f, source) == name);
    found
}

/// How many times a task may retry.
#[derive(Clone, Copy, PartialEq)]
enum Limit {
    Count(i64),
    Forever,
    Unknown,
}

fn limit_of(value: Option<Node>, source: &str, fallback: Limit) -> Limit {
    match value.map(|v| python::literal(v, source)) {
        None => fallback,
        Some(Some(Literal::None)) => Limit::Forever,
        Some(Some(Literal::Int(n))) => Limit::Count(n),
        Some(_) => Limit::Unknown,
    }
}

fn is_none(node: Node, source: &str) -> bool {
    python::literal(node, source) == Some(Literal::None)
}

fn replace_fix(node: Node, title: &str, content: String) -> Option<Fix> {
    Some(Fix {
        title: title.to_string(),
        applicability: Applicability::Unsafe,
        edits: vec![Edit::replace(node.byte_range(), content)],
    })
}

fn check_task<'t>(py: &PythonFile<'t>, source: &str, task: &Task<'t>, out: &mut Vec<Diagnostic>) {
    let name = &task.name;
    let autoretry = task.option("autoretry_for");
    let retry_calls = task
        .function
        .map(|f| retry_calls(py, source, f))
        .unwrap_or_default();
    let max_retries = task.option("max_retries");
    let fallback = if task.custom_base {
        Limit::Unknown
    } else {
        Limit::Count(DEFAULT_MAX_RETRIES)
    };
    let task_limit = limit_of(max_retries, source, fallback);

    // `max_retries=None` matters only when something retries: `autoretry_for`, a
    // `self.retry(...)`, or a task class whose `run` is not visible here.
    if let Some(value) = max_retries.filter(|v| is_none(*v, source)) {
        let retries = autoretry.is_some() || !retry_calls.is_empty() || task.function.is_none();
        if retries {
            let how = match autoretry {
                Some(exceptions) => format!(
                    "retries on `{}` forever",
                    one_line(python::text(exceptions, source), 60, "...")
                ),
                None => "retries forever".to_string(),
            };
            out.push(
                Diagnostic::new(
                    "CEL001",
                    value.byte_range(),
                    format!(
                        "Task `{name}` {how} (`max_retries=None`): a permanent failure keeps a worker slot busy and the queue growing until someone purges it"
                    ),
                )
                .with_fix(replace_fix(value, "Set `max_retries=5`", FINITE_RETRIES.to_string())),
            );
        }
    }

    // `retry_kwargs={"max_retries": None}` with `autoretry_for`.
    if let (Some(_), Some(kwargs)) = (autoretry, task.option("retry_kwargs")) {
        if let Some(value) =
            dict_entry(kwargs, "max_retries", source).filter(|v| is_none(*v, source))
        {
            out.push(
                Diagnostic::new(
                    "CEL001",
                    value.byte_range(),
                    format!(
                        "Task `{name}` retries forever (`retry_kwargs` sets `max_retries` to None): a permanent failure keeps a worker slot busy and the queue growing"
                    ),
                )
                .with_fix(replace_fix(value, "Set `max_retries` to 5", FINITE_RETRIES.to_string())),
            );
        }
    }

    // Celery reads `retry_backoff_max` with `int(...)`: None is not "no cap", it is a TypeError
    // when the task is registered.
    if let Some(value) = task
        .option("retry_backoff_max")
        .filter(|v| is_none(*v, source))
    {
        out.push(
            Diagnostic::new(
                "CEL001",
                value.byte_range(),
                format!(
                    "Task `{name}` sets `retry_backoff_max=None`: Celery has no uncapped backoff and converts the value with `int()`, so registering the task fails with a TypeError"
                ),
            )
            .with_fix(replace_fix(
                value,
                "Set `retry_backoff_max=600`",
                COUNTDOWN_CAP.to_string(),
            )),
        );
    }

    for call in retry_calls {
        let Some(args) = python::arguments(call, source) else {
            continue;
        };
        // `self.retry(max_retries=max_retries)` after `max_retries = 5`: follow the local name.
        let call_max_retries = args.keyword("max_retries").map(|(value, _)| {
            let resolver = Resolver {
                function: task
                    .function
                    .expect("retry calls come from the task function"),
                before: call.start_byte(),
                source,
                parameter: None,
            };
            resolver.resolve(value, 0)
        });
        let call_limit = limit_of(call_max_retries, source, task_limit);
        if let Some((value, _)) = args
            .keyword("max_retries")
            .filter(|(v, _)| is_none(*v, source))
        {
            out.push(
                Diagnostic::new(
                    "CEL001",
                    value.byte_range(),
                    format!(
                        "`self.retry(max_retries=None)` in task `{name}` retries forever: a permanent failure keeps a worker slot busy and the queue growing"
                    ),
                )
                .with_fix(replace_fix(value, "Set `max_retries=5`", FINITE_RETRIES.to_string())),
            );
        }
        if let Some((value, _)) = args.keyword("countdown") {
            check_countdown(py, source, task, call, value, call_limit, out);
        }
    }
}

/// `<self>.retry(...)` calls in a task function, where `<self>` is its first parameter.
fn retry_calls<'t>(py: &PythonFile<'t>, source: &str, function: Node<'t>) -> Vec<Node<'t>> {
    let Some(receiver) = first_parameter(function, source) else {
        return Vec::new();
    };
    let fields = python::fields();
    let range = function.byte_range();
    python::word_occurrences(source, "retry")
        .filter(|at| range.contains(at))
        .filter_map(|at| py.ancestry.node_at(at, at + "retry".len()))
        .filter_map(|identifier| py.ancestry.parent(identifier))
        .filter(|attribute| {
            attribute.kind() == "attribute"
                && attribute
                    .child_by_field_id(fields.object)
                    .is_some_and(|o| python::text(o, source) == receiver)
        })
        .filter_map(|attribute| py.ancestry.called(attribute))
        .collect()
}

fn first_parameter(function: Node, source: &str) -> Option<String> {
    let params = function.child_by_field_name("parameters")?;
    let first = params.named_child(0)?;
    let name = match first.kind() {
        "identifier" => first,
        "typed_parameter" => first.named_child(0)?,
        _ => return None,
    };
    Some(python::text(name, source).to_string())
}

/// The value of `"key": value` in a dict literal.
fn dict_entry<'t>(dict: Node<'t>, key: &str, source: &str) -> Option<Node<'t>> {
    if dict.kind() != "dictionary" {
        // `dict(max_retries=None)`
        if dict.kind() == "call" && python::short_name(dict, source) == "dict" {
            return python::arguments(dict, source)?
                .keyword(key)
                .map(|(value, _)| value);
        }
        return None;
    }
    let fields = python::fields();
    let mut cursor = dict.walk();
    let found = dict
        .named_children(&mut cursor)
        .filter(|p| p.kind() == "pair")
        .find(|p| {
            p.child_by_field_id(fields.key)
                .and_then(|k| python::string_value(k, source))
                .is_some_and(|k| k == key)
        })
        .and_then(|p| p.child_by_field_id(fields.value));
    found
}

/// Reports a countdown that grows exponentially with the retry count and is not capped.
fn check_countdown<'t>(
    py: &PythonFile<'t>,
    source: &str,
    task: &Task<'t>,
    call: Node<'t>,
    value: Node<'t>,
    limit: Limit,
    out: &mut Vec<Diagnostic>,
) {
    let Some(function) = task.function else {
        return;
    };
    let name = &task.name;
    let resolver = Resolver {
        function,
        before: call.start_byte(),
        source,
        parameter: None,
    };
    // `countdown=delay` with `delay = 2 ** self.request.retries` earlier in the task.
    let expr = resolver.resolve(value, 0);
    // `countdown=backoff(self.request.retries)`: look at what the module's helper returns.
    let helper = helper_return(py, source, expr);
    let (resolver, analysed) = match &helper {
        Some((helper_resolver, returned)) => (helper_resolver, *returned),
        None => (&resolver, expr),
    };
    if !grows_exponentially(resolver, analysed, 0) {
        return;
    }
    let worst = match limit {
        Limit::Count(n) => evaluate(resolver, analysed, n as f64, 0),
        _ => None,
    };
    if worst.is_some_and(|w| w <= LONGEST_REASONABLE_DELAY) {
        return;
    }
    let growth = match (limit, worst) {
        (Limit::Forever, _) => "grows without limit because the task retries forever".to_string(),
        (Limit::Count(n), Some(w)) => format!("reaches {} by retry {n}", duration(w)),
        _ => "has no upper bound".to_string(),
    };
    let message = format!(
        "Retry countdown `{}` in task `{name}` grows exponentially with the retry count and {growth}: past an hour the broker redelivers the waiting task (Redis/SQS visibility timeout) and nothing is retried in a useful time",
        one_line(python::text(expr, source), 60, "...")
    );
    let fix = replace_fix(
        expr,
        "Cap the countdown with `min(..., 600)`",
        format!("min({}, {COUNTDOWN_CAP})", python::text(expr, source)),
    );
    out.push(Diagnostic::new("CEL001", value.byte_range(), message).with_fix(fix));
}

/// For a call to a module-level function with one `return` (`backoff(self.request.retries)`
/// with `def backoff(n): return 2 ** n`): a resolver that maps the parameter to the argument,
/// and the returned expression.
fn helper_return<'t, 's>(
    py: &PythonFile<'t>,
    source: &'s str,
    call: Node<'t>,
) -> Option<(Resolver<'t, 's>, Node<'t>)> {
    if call.kind() != "call" {
        return None;
    }
    let callee = call.child_by_field_id(python::fields().function)?;
    if callee.kind() != "identifier" {
        return None;
    }
    let helper = py
        .ancestry
        .module_definition(source, python::text(callee, source))?;
    if helper.kind() != "function_definition" {
        return None;
    }
    let argument = *python::arguments(call, source)?.positional.first()?;
    let body = helper.child_by_field_id(python::fields().body)?;
    let mut cursor = body.walk();
    let returns: Vec<Node> = body
        .named_children(&mut cursor)
        .filter(|s| s.kind() == "return_statement")
        .collect();
    let [statement] = returns.as_slice() else {
        return None;
    };
    let returned = statement.named_child(0)?;
    let parameter_node = helper
        .child_by_field_name("parameters")
        .and_then(|p| p.named_child(0))?;
    let parameter_name = python::text(
        if parameter_node.kind() == "identifier" {
            parameter_node
        } else {
            parameter_node.named_child(0)?
        },
        source,
    );
    Some((
        Resolver {
            function: helper,
            before: helper.end_byte(),
            source,
            parameter: Some((parameter_name, argument)),
        },
        returned,
    ))
}

fn duration(seconds: f64) -> String {
    if seconds >= 86400.0 * 365.0 {
        "over a year".to_string()
    } else if seconds >= 2.0 * 86400.0 {
        format!("{:.0} days", seconds / 86400.0)
    } else {
        format!("{:.0} hours", seconds / 3600.0)
    }
}

/// Looks up what a local name holds: its last plain assignment in the task function before the
/// retry call.
struct Resolver<'t, 's> {
    function: Node<'t>,
    before: usize,
    source: &'s str,
    /// In a helper like `def backoff(n): return 2 ** n`, the parameter and the argument the task
    /// passes for it.
    parameter: Option<(&'s str, Node<'t>)>,
}

impl<'t> Resolver<'t, '_> {
    fn resolve(&self, node: Node<'t>, depth: usize) -> Node<'t> {
        if depth > 4 || node.kind() != "identifier" {
            return node;
        }
        let name = python::text(node, self.source);
        if let Some((parameter, argument)) = self.parameter {
            if name == parameter {
                return argument;
            }
        }
        let fields = python::fields();
        let assigned = python::descendants(self.function)
            .into_iter()
            .filter(|n| n.kind() == "assignment" && n.end_byte() <= self.before)
            .filter(|a| {
                a.child_by_field_id(fields.left).is_some_and(|l| {
                    l.kind() == "identifier" && python::text(l, self.source) == name
                })
            })
            .filter_map(|a| a.child_by_field_id(fields.right))
            .next_back();
        match assigned {
            Some(value) => self.resolve(value, depth + 1),
            None => node,
        }
    }
}

/// Does `expr` contain `x ** retries`, `x << retries` or `pow(x, retries)` outside a `min(...)`?
fn grows_exponentially(resolver: &Resolver, expr: Node, depth: usize) -> bool {
    let fields = python::fields();
    let source = resolver.source;
    if depth > 8 {
        return false;
    }
    match expr.kind() {
        "call" if python::short_name(expr, source) == "min" => false,
        "call" if python::short_name(expr, source) == "pow" => python::arguments(expr, source)
            .and_then(|a| a.positional.get(1).copied())
            .is_some_and(|exponent| mentions_retries(resolver, exponent, 0)),
        "binary_operator" => {
            let operator = expr
                .child_by_field_id(fields.operator)
                .map_or("", |o| python::text(o, source));
            let (Some(left), Some(right)) = (
                expr.child_by_field_id(fields.left),
                expr.child_by_field_id(fields.right),
            ) else {
                return false;
            };
            if matches!(operator, "**" | "<<") && mentions_retries(resolver, right, 0) {
                return true;
            }
            grows_exponentially(resolver, left, depth + 1)
                || grows_exponentially(resolver, right, depth + 1)
        }
        "identifier" => {
            let resolved = resolver.resolve(expr, 0);
            resolved.id() != expr.id() && grows_exponentially(resolver, resolved, depth + 1)
        }
        _ => {
            let mut cursor = expr.walk();
            let children: Vec<Node> = expr.named_children(&mut cursor).collect();
            children
                .into_iter()
                .any(|c| grows_exponentially(resolver, c, depth + 1))
        }
    }
}

/// Does `expr` depend on `<self>.request.retries` (directly or through a local name)?
fn mentions_retries(resolver: &Resolver, expr: Node, depth: usize) -> bool {
    if python::text(expr, resolver.source).contains("request.retries") {
        return true;
    }
    if depth > 4 {
        return false;
    }
    python::descendants(expr)
        .into_iter()
        .filter(|n| n.kind() == "identifier")
        .any(|identifier| {
            let resolved = resolver.resolve(identifier, 0);
            resolved.id() != identifier.id() && mentions_retries(resolver, resolved, depth + 1)
        })
}

/// The value of a countdown expression when the task has retried `retries` times; `None` when it
/// depends on something unknown. `random.randint(a, b)` counts as `b`, `min(...)` as its smallest
/// known argument: the result is an upper bound.
fn evaluate(resolver: &Resolver, expr: Node, retries: f64, depth: usize) -> Option<f64> {
    let fields = python::fields();
    let source = resolver.source;
    if depth > 16 {
        return None;
    }
    if expr.kind() == "attribute" && python::text(expr, source).ends_with("request.retries") {
        return Some(retries);
    }
    match expr.kind() {
        "integer" | "float" => match python::literal(expr, source)? {
            Literal::Int(i) => Some(i as f64),
            Literal::Float(f) => Some(f),
            _ => None,
        },
        "parenthesized_expression" => evaluate(resolver, expr.named_child(0)?, retries, depth + 1),
        "identifier" => {
            let resolved = resolver.resolve(expr, 0);
            (resolved.id() != expr.id())
                .then(|| evaluate(resolver, resolved, retries, depth + 1))
                .flatten()
        }
        "binary_operator" => {
            let left = evaluate(
                resolver,
                expr.child_by_field_id(fields.left)?,
                retries,
                depth + 1,
            )?;
            let right = evaluate(
                resolver,
                expr.child_by_field_id(fields.right)?,
                retries,
                depth + 1,
            )?;
            match python::text(expr.child_by_field_id(fields.operator)?, source) {
                "+" => Some(left + right),
                "-" => Some(left - right),
                "*" => Some(left * right),
                "/" | "//" if right != 0.0 => Some(left / right),
                "**" => Some(left.powf(right)),
                "<<" => Some(left * 2f64.powf(right)),
                _ => None,
            }
        }
        "call" => {
            let args = python::arguments(expr, source)?;
            let values: Vec<Option<f64>> = args
                .positional
                .iter()
                .map(|a| evaluate(resolver, *a, retries, depth + 1))
                .collect();
            match python::short_name(expr, source) {
                "min" => values.into_iter().flatten().reduce(f64::min),
                "max" => values
                    .into_iter()
                    .collect::<Option<Vec<_>>>()?
                    .into_iter()
                    .reduce(f64::max),
                "pow" if values.len() == 2 => Some(values[0]?.powf(values[1]?)),
                "int" | "float" | "round" | "abs" if values.len() == 1 => values[0],
                "randint" | "uniform" | "randrange" if values.len() == 2 => values[1],
                _ => None,
            }
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use crate::analysis::testing::findings_of;

    fn findings(source: &str) -> Vec<String> {
        findings_of("CEL001", "app/tasks.py", source)
    }

    #[test]
    fn countdown_through_a_local_name_is_followed() {
        let src = "from celery import shared_task\n@shared_task(bind=True, max_retries=20)\ndef sync(self):\n    try:\n        pull()\n    except IOError as exc:\n        delay = 30 * 2 ** self.request.retries\n        raise self.retry(exc=exc, countdown=delay)\n";
        assert_eq!(findings(src), ["delay"]);
    }

    #[test]
    fn few_retries_keep_the_delay_short() {
        // 60 * 2 ** 3 = 8 minutes at most with Celery's default of three retries.
        let src = "from celery import shared_task\n@shared_task(bind=True)\ndef sync(self):\n    raise self.retry(countdown=60 * 2 ** self.request.retries)\n";
        assert!(findings(src).is_empty());
    }

    #[test]
    fn capped_countdown_is_fine() {
        let src = "from celery import shared_task\n@shared_task(bind=True, max_retries=None)\ndef sync(self):\n    raise self.retry(countdown=min(2 ** self.request.retries, 600), max_retries=10)\n";
        assert_eq!(findings(src), ["None"]);
    }

    #[test]
    fn module_level_celery_instance_is_recognised() {
        let src = "from celery import Celery\nworker = Celery('proj')\n@worker.task(autoretry_for=(IOError,), max_retries=None)\ndef sync():\n    pull()\n";
        assert_eq!(findings(src), ["None"]);
    }
}
