//! INJ: untrusted data reaching an interpreter (SQL, the shell, a deserializer). The shared part
//! answers the questions these rules ask about one expression: is it a string built at run time
//! (f-string, `%`, `.format`, `+`) and from what parts; is each part safe (a literal, an
//! UPPER_CASE constant, a quoted identifier, a placeholder list); what was a local variable
//! assigned in the enclosing function; does the expression carry request data. Everything starts
//! from the node a rule found through the text and looks only at that function.

pub mod shell_command_interpolation;
pub mod sql_built_from_strings;
pub mod untrusted_deserialization;

use tree_sitter::Node;

use crate::analysis::PythonFile;
use crate::syntax::python;

/// How far a value is followed through local assignments (`q = base + where`, `where = ...`).
const MAX_DEPTH: usize = 8;
/// How many of a local's assignments before a use are followed (the latest ones).
const MAX_BINDINGS: usize = 32;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Construction {
    FString,
    Percent,
    Format,
    Concat,
}

impl Construction {
    pub fn describe(self) -> &'static str {
        match self {
            Construction::FString => "an f-string",
            Construction::Percent => "`%` formatting",
            Construction::Format => "`.format(...)`",
            Construction::Concat => "string concatenation",
        }
    }
}

/// A string built at run time: the expression, how, its literal text and its inserted parts.
#[derive(Clone, Debug)]
pub struct Built<'t> {
    pub node: Node<'t>,
    pub how: Construction,
    pub literal_text: String,
    pub parts: Vec<Node<'t>>,
}

fn is_string(node: Node) -> bool {
    matches!(node.kind(), "string" | "concatenated_string")
}

/// The literal text of a string or concatenated string (interpolations left out) and the
/// expressions it interpolates.
fn string_pieces<'t>(node: Node<'t>, source: &str, text: &mut String, parts: &mut Vec<Node<'t>>) {
    if node.kind() == "concatenated_string" {
        let mut cursor = node.walk();
        for child in node.named_children(&mut cursor) {
            string_pieces(child, source, text, parts);
        }
        return;
    }
    let mut cursor = node.walk();
    for child in node.children(&mut cursor) {
        match child.kind() {
            "string_content" => text.push_str(python::text(child, source)),
            "interpolation" => {
                // `= :{name}`, `:tag_{i}`, `${n}` name a bind parameter; the value is passed
                // separately.
                let name_start =
                    text.trim_end_matches(|c: char| c.is_ascii_alphanumeric() || c == '_');
                let names_parameter = (name_start.ends_with(':') && !name_start.ends_with("::"))
                    || text.ends_with('$');
                if let Some(expr) = child.named_child(0).filter(|_| !names_parameter) {
                    parts.push(expr);
                }
                text.push(' ');
            }
            _ => {}
        }
    }
}

/// The operands of a `+` chain, left to right. Iterative: a chain of thousands of terms is one
/// left-leaning tree that deep.
fn flatten_concat<'t>(node: Node<'t>, source: &str, out: &mut Vec<Node<'t>>) {
    let f = python::fields();
    let mut pending = vec![node];
    while let Some(node) = pending.pop() {
        let node = unparenthesize(node);
        if node.kind() == "binary_operator"
            && node
                .child_by_field_id(f.operator)
                .is_some_and(|o| python::text(o, source) == "+")
        {
            if let (Some(l), Some(r)) = (
                node.child_by_field_id(f.left),
                node.child_by_field_id(f.right),
            ) {
                // Right first, so the left operand comes off the stack first.
                pending.push(r);
                pending.push(l);
                continue;
            }
        }
        out.push(node);
    }
}

pub fn unparenthesize(mut node: Node) -> Node {
    while node.kind() == "parenthesized_expression" {
        match node.named_child(0) {
            Some(inner) => node = inner,
            None => break,
        }
    }
    node
}

/// `node` as a string built at run time, when it is one with at least one inserted part.
pub fn construction<'t>(node: Node<'t>, source: &str) -> Option<Built<'t>> {
    let node = unparenthesize(node);
    let f = python::fields();
    let mut literal_text = String::new();
    let mut parts = Vec::new();
    let how = match node.kind() {
        "string" | "concatenated_string" => {
            string_pieces(node, source, &mut literal_text, &mut parts);
            Construction::FString
        }
        "binary_operator" => {
            let operator = python::text(node.child_by_field_id(f.operator)?, source);
            match operator {
                "%" => {
                    let left = unparenthesize(node.child_by_field_id(f.left)?);
                    if !is_string(left) {
                        return None;
                    }
                    string_pieces(left, source, &mut literal_text, &mut parts);
                    let right = unparenthesize(node.child_by_field_id(f.right)?);
                    match right.kind() {
                        "tuple" => {
                            let mut cursor = right.walk();
                            parts.extend(
                                right
                                    .named_children(&mut cursor)
                                    .filter(|c| c.kind() != "comment"),
                            );
                        }
                        "dictionary" => {
                            let mut cursor = right.walk();
                            for pair in right.named_children(&mut cursor) {
                                match pair.child_by_field_id(f.value) {
                                    Some(value) => parts.push(value),
                                    None if pair.kind() != "comment" => parts.push(pair),
                                    None => {}
                                }
                            }
                        }
                        _ => parts.push(right),
                    }
                    Construction::Percent
                }
                "+" => {
                    let mut operands = Vec::new();
                    flatten_concat(node, source, &mut operands);
                    if !operands.iter().any(|o| is_string(*o)) {
                        return None; // numbers, lists, or strings we cannot see
                    }
                    for operand in operands {
                        if is_string(operand) {
                            string_pieces(operand, source, &mut literal_text, &mut parts);
                        } else if let Some(inner) = construction(operand, source) {
                            literal_text.push_str(&inner.literal_text);
                            parts.extend(inner.parts);
                        } else {
                            literal_text.push(' ');
                            parts.push(operand);
                        }
                    }
                    Construction::Concat
                }
                _ => return None,
            }
        }
        "call" => {
            let function = node.child_by_field_id(f.function)?;
            if function.kind() != "attribute"
                || python::text(function.child_by_field_id(f.attribute)?, source) != "format"
            {
                return None;
            }
            let object = unparenthesize(function.child_by_field_id(f.object)?);
            if !is_string(object) {
                return None; // `sql.SQL("...").format(...)` composes safely
            }
            string_pieces(object, source, &mut literal_text, &mut parts);
            let args = python::arguments(node, source)?;
            parts.extend(args.positional.iter().copied());
            parts.extend(args.keywords.iter().map(|(_, value, _)| *value));
            Construction::Format
        }
        _ => return None,
    };
    (!parts.is_empty()).then_some(Built {
        node,
        how,
        literal_text,
        parts,
    })
}

/// An UPPER_CASE name: a module constant by convention.
pub fn is_constant_name(name: &str) -> bool {
    name.chars().any(|c| c.is_ascii_uppercase())
        && name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// The function (or lambda) whose body holds `node`; `None` at module level.
pub fn enclosing_function<'t>(py: &PythonFile<'t>, node: Node<'t>) -> Option<Node<'t>> {
    py.ancestry.nearest_ancestor(node, |n| {
        matches!(n.kind(), "function_definition" | "lambda")
    })
}

/// A binding of a local name before its use.
pub enum Binding<'t> {
    /// `name = value`
    Assign(Node<'t>),
    /// `name += value`
    Extend(Node<'t>, Node<'t>),
    /// A loop counter: `for i in range(n)`, the index of `for i, x in enumerate(xs)`.
    Counter,
    /// A parameter, loop target, `with ... as name`, unpacking: value unknown.
    Unknown(Node<'t>),
}

/// Whether the loop target `identifier` (directly under `for_statement` / `for_in_clause`, or
/// first in a `pattern_list` there) counts: `range(...)` or the index of `enumerate(...)`.
fn is_counter<'t>(py: &PythonFile<'t>, source: &str, identifier: Node<'t>) -> bool {
    let f = python::fields();
    let Some(parent) = py.ancestry.parent(identifier) else {
        return false;
    };
    let (loop_node, first_of_pair) = match parent.kind() {
        "for_statement" | "for_in_clause" => (parent, false),
        "pattern_list" | "tuple_pattern" => {
            if parent
                .named_child(0)
                .is_none_or(|c| c.id() != identifier.id())
            {
                return false;
            }
            match py.ancestry.parent(parent) {
                Some(l) if matches!(l.kind(), "for_statement" | "for_in_clause") => (l, true),
                _ => return false,
            }
        }
        _ => return false,
    };
    let Some(iterable) = loop_node.child_by_field_id(f.right) else {
        return false;
    };
    let callee = iterable
        .child_by_field_id(f.function)
        .map(|c| python::text(c, source))
        .unwrap_or("");
    iterable.kind() == "call"
        && (callee == "range" && !first_of_pair || callee == "enumerate" && first_of_pair)
}

/// Bindings of the identifier `name` in the scope of `user` (the enclosing function, else the
/// module) that come before `user`, the latest MAX_BINDINGS of them: a query rebuilt thousands
/// of times is judged by its latest assignments, in bounded time. Found from the text of the
/// name; bindings in nested functions do not count.
pub fn bindings_before<'t>(py: &PythonFile<'t>, source: &str, user: Node<'t>) -> Vec<Binding<'t>> {
    let (sites, scope) = binding_sites_before(py, source, user);
    let latest = sites.len().saturating_sub(MAX_BINDINGS);
    bindings_at(py, source, user, &sites[latest..], scope)
}

/// The earliest and the latest MAX_BINDINGS bindings before `user`, in order: enough to see the
/// literal a query starts from (`q = "SELECT ..."`, usually the first) and what it was last
/// extended with, in bounded time however often it is rebuilt (`q = q + x` line after line).
pub fn first_and_latest_bindings_before<'t>(
    py: &PythonFile<'t>,
    source: &str,
    user: Node<'t>,
) -> Vec<Binding<'t>> {
    let (sites, scope) = binding_sites_before(py, source, user);
    let first = sites.len().min(MAX_BINDINGS);
    let latest = sites.len().saturating_sub(MAX_BINDINGS).max(first);
    let mut out = bindings_at(py, source, user, &sites[..first], scope);
    out.extend(bindings_at(py, source, user, &sites[latest..], scope));
    out
}

/// The bindings of `user`'s name at `sites` (offsets `binding_sites_before` found).
fn bindings_at<'t>(
    py: &PythonFile<'t>,
    source: &str,
    user: Node<'t>,
    sites: &[usize],
    scope: Option<Node<'t>>,
) -> Vec<Binding<'t>> {
    let name = python::text(user, source);
    sites
        .iter()
        .filter_map(|&at| binding_at(py, source, at, name, scope))
        .collect()
}

/// The offsets before `user` where its name is bound in its scope (the enclosing function, else
/// the module), and that scope.
fn binding_sites_before<'t>(
    py: &PythonFile<'t>,
    source: &str,
    user: Node<'t>,
) -> (BindingSites, Option<Node<'t>>) {
    let name = python::text(user, source);
    let scope = enclosing_function(py, user);
    let range = scope.map_or(0..source.len(), |s| s.byte_range());
    // Found once per scope and name: the thousands of uses of a name in one function do not each
    // look at every occurrence before them. Most occurrences are ruled out by the text after
    // them without a tree lookup.
    let question = binding_sites_before as fn(&PythonFile<'t>, &str, Node<'t>) -> _ as usize;
    let sites = py
        .ancestry
        .remembered_sites(question, range.clone(), name, || {
            py.ancestry
                .word_sites(source, range.clone(), name, may_bind)
                .iter()
                .copied()
                .filter(|&at| binding_at(py, source, at, name, scope).is_some())
                .collect()
        });
    let end = sites.partition_point(|&at| at < user.start_byte());
    (BindingSites { sites, end }, scope)
}

/// The first `end` of `sites`.
struct BindingSites {
    sites: std::rc::Rc<[usize]>,
    end: usize,
}

impl std::ops::Deref for BindingSites {
    type Target = [usize];
    fn deref(&self) -> &[usize] {
        &self.sites[..self.end]
    }
}

/// The binding of `name` at offset `at`, if it is one and in `scope`.
fn binding_at<'t>(
    py: &PythonFile<'t>,
    source: &str,
    at: usize,
    name: &str,
    scope: Option<Node<'t>>,
) -> Option<Binding<'t>> {
    let f = python::fields();
    let identifier = py.ancestry.node_at(at, at + name.len())?;
    if identifier.kind() != "identifier" || identifier.byte_range().len() != name.len() {
        return None;
    }
    let parent = py.ancestry.parent(identifier)?;
    let is_left = |p: Node| {
        p.child_by_field_id(f.left)
            .is_some_and(|l| l.id() == identifier.id())
    };
    let binding = match parent.kind() {
        "assignment" if is_left(parent) => match parent.child_by_field_id(f.right) {
            Some(value) => Binding::Assign(value),
            None => return None, // a bare annotation `name: str`
        },
        "augmented_assignment" if is_left(parent) => match parent.child_by_field_id(f.right) {
            Some(value) => Binding::Extend(parent, value),
            None => return None,
        },
        "parameters" | "typed_parameter" | "lambda_parameters" => Binding::Unknown(identifier),
        "default_parameter" | "typed_default_parameter"
            if parent
                .child_by_field_id(f.name)
                .is_some_and(|n| n.id() == identifier.id()) =>
        {
            Binding::Unknown(identifier)
        }
        // `where.append(clause)`: the list a query is later joined from grows.
        "attribute"
            if parent
                .child_by_field_id(f.object)
                .is_some_and(|o| o.id() == identifier.id()) =>
        {
            match list_growth(py, source, parent) {
                Some((call, value)) => Binding::Extend(call, value),
                None => return None,
            }
        }
        "for_statement" | "for_in_clause" | "pattern_list" | "tuple_pattern"
            if is_counter(py, source, identifier) =>
        {
            Binding::Counter
        }
        "for_statement" | "for_in_clause" if is_left(parent) => Binding::Unknown(identifier),
        "pattern_list" | "tuple_pattern" | "list_pattern" | "as_pattern_target" => {
            Binding::Unknown(identifier)
        }
        _ => return None,
    };
    let binding_scope = enclosing_function(py, identifier);
    let same_scope = match (scope, binding_scope) {
        (Some(a), Some(b)) => a.id() == b.id(),
        (None, None) => true,
        _ => false,
    };
    same_scope.then_some(binding)
}

/// Whether a name followed by `after` can be a binding `bindings_before` knows: `=` (not `==`),
/// an augmented assignment, `:` (annotation, typed parameter), `,` `)` `]` (parameters, unpacking
/// targets), `.` (`items.append`), ` in` (a loop target), or a line end (`with (... as name`).
fn may_bind(after: &str) -> bool {
    let rest = after.trim_start_matches([' ', '\t']);
    let Some(first) = rest.chars().next() else {
        return true;
    };
    match first {
        '=' => !rest.starts_with("=="),
        ':' | ',' | ')' | ']' | '.' | '\n' | '\r' | '\\' | '#' => true,
        'i' => {
            rest.starts_with("in")
                && !rest[2..].starts_with(|c: char| c.is_alphanumeric() || c == '_')
        }
        '+' | '-' | '*' | '/' | '%' | '&' | '|' | '^' | '@' | '<' | '>' => {
            let operator_end = rest
                .find(|c: char| {
                    !matches!(
                        c,
                        '+' | '-' | '*' | '/' | '%' | '&' | '|' | '^' | '@' | '<' | '>'
                    )
                })
                .unwrap_or(rest.len());
            rest[operator_end..].starts_with('=') && !rest[operator_end..].starts_with("==")
        }
        _ => false,
    }
}

/// `items.append(x)`, `items.extend(x)`, `items.insert(i, x)`: the call and what it adds.
fn list_growth<'t>(
    py: &PythonFile<'t>,
    source: &str,
    attribute: Node<'t>,
) -> Option<(Node<'t>, Node<'t>)> {
    let f = python::fields();
    let method = python::text(attribute.child_by_field_id(f.attribute)?, source);
    if !matches!(method, "append" | "extend" | "insert") {
        return None;
    }
    let call = py.ancestry.called(attribute)?;
    let args = python::arguments(call, source)?;
    Some((call, *args.positional.last()?))
}

/// Calls whose result is safe to put in SQL or a command whatever their argument: quoting and
/// numeric conversion.
fn is_quoting_or_numeric_call(callee: &str) -> bool {
    let last = callee.rsplit('.').next().unwrap_or(callee);
    let lower = last.to_ascii_lowercase();
    lower.contains("quote")
        || matches!(
            last,
            "qn" | "int" | "float" | "len" | "bool" | "Identifier" | "Literal" | "Placeholder"
        )
        || callee.ends_with("shlex.join")
}

thread_local! {
    /// Verdicts on identifier uses, for one search: a query rebuilt line after line
    /// (`q = q + ...` forty times) would otherwise be re-examined exponentially often.
    static SAFE_IDENTIFIERS: std::cell::RefCell<std::collections::HashMap<usize, bool>> =
        Default::default();
    /// Identifier uses already searched for request data, for one search.
    static SEARCHED_FOR_REQUEST_DATA: std::cell::RefCell<std::collections::HashSet<usize>> =
        Default::default();
}

/// Is this inserted part safe: a literal, an UPPER_CASE constant, Django model metadata
/// (`Model._meta.db_table`), a quoted identifier, a number, a placeholder list
/// (`", ".join(["%s"] * len(ids))`), or a local whose every value is one of those?
fn is_safe_part<'t>(py: &PythonFile<'t>, source: &str, part: Node<'t>, depth: usize) -> bool {
    let part = unparenthesize(part);
    if python::literal(part, source).is_some() {
        return true;
    }
    let f = python::fields();
    match part.kind() {
        "integer" | "float" | "true" | "false" | "none" => true,
        "identifier" => {
            let name = python::text(part, source);
            if is_constant_name(name) || is_comprehension_counter(py, source, part) {
                return true;
            }
            if depth >= MAX_DEPTH {
                return false;
            }
            if let Some(known) = SAFE_IDENTIFIERS.with(|m| m.borrow().get(&part.id()).copied()) {
                return known;
            }
            // Until it is known, a use that depends on itself counts as unsafe.
            SAFE_IDENTIFIERS.with(|m| m.borrow_mut().insert(part.id(), false));
            let bindings = bindings_before(py, source, part);
            let safe = !bindings.is_empty()
                && bindings.iter().all(|b| match b {
                    Binding::Assign(value) => is_safe_value(py, source, *value, depth + 1),
                    Binding::Extend(_, value) => is_safe_value(py, source, *value, depth + 1),
                    Binding::Counter => true,
                    Binding::Unknown(node) => is_numeric_parameter(py, source, *node),
                });
            SAFE_IDENTIFIERS.with(|m| m.borrow_mut().insert(part.id(), safe));
            safe
        }
        "attribute" => {
            let text = python::text(part, source);
            let last = part
                .child_by_field_id(f.attribute)
                .map(|a| python::text(a, source))
                .unwrap_or("");
            // `Status.ACTIVE.value` names an enum member.
            let enum_member =
                matches!(last, "value" | "name") && text.split('.').any(is_constant_name);
            is_constant_name(last) || enum_member || text.contains("_meta.")
        }
        "call" => {
            let Some(function) = part.child_by_field_id(f.function) else {
                return false;
            };
            let callee = py
                .names
                .qualify(function, source)
                .unwrap_or_else(|| python::text(function, source).to_string());
            if is_quoting_or_numeric_call(&callee) {
                return true;
            }
            // `", ".join(...)` of placeholders or of safe parts.
            if function.kind() == "attribute"
                && function
                    .child_by_field_id(f.attribute)
                    .is_some_and(|a| python::text(a, source) == "join")
                && function
                    .child_by_field_id(f.object)
                    .is_some_and(|o| python::literal(o, source).is_some())
            {
                let Some(args) = python::arguments(part, source) else {
                    return false;
                };
                return args.positional.len() == 1
                    && is_safe_collection(py, source, args.positional[0], depth);
            }
            // A string built safely and then formatted again.
            construction(part, source).is_some_and(|b| {
                b.parts
                    .iter()
                    .all(|p| is_safe_part(py, source, *p, depth + 1))
            })
        }
        "conditional_expression" => {
            let mut cursor = part.walk();
            let children: Vec<Node> = part.named_children(&mut cursor).collect();
            // body if condition else alternative: the condition is not inserted.
            children.len() == 3
                && is_safe_part(py, source, children[0], depth + 1)
                && is_safe_part(py, source, children[2], depth + 1)
        }
        "binary_operator" | "string" | "concatenated_string" => {
            is_safe_value(py, source, part, depth)
        }
        _ => false,
    }
}

/// A value assigned to a local: safe when it is a safe part or a string built only from safe
/// parts.
fn is_safe_value<'t>(py: &PythonFile<'t>, source: &str, value: Node<'t>, depth: usize) -> bool {
    if depth > MAX_DEPTH {
        return false;
    }
    match construction(value, source) {
        Some(built) => built
            .parts
            .iter()
            .all(|p| is_safe_part(py, source, *p, depth + 1)),
        None => {
            let value = unparenthesize(value);
            if value.kind() == "binary_operator" {
                // Arithmetic on numbers, `["%s"] * n`.
                let (Some(l), Some(r)) = (
                    value.child_by_field_id(python::fields().left),
                    value.child_by_field_id(python::fields().right),
                ) else {
                    return false;
                };
                return is_safe_part(py, source, l, depth + 1)
                    && is_safe_part(py, source, r, depth + 1);
            }
            is_safe_part(py, source, value, depth + 1)
        }
    }
}

/// The argument of a `"sep".join(...)`: a list of safe items, `["%s"] * n`, `"?" * n`, or a
/// comprehension producing literals or safe items.
fn is_safe_collection<'t>(py: &PythonFile<'t>, source: &str, node: Node<'t>, depth: usize) -> bool {
    let node = unparenthesize(node);
    let f = python::fields();
    match node.kind() {
        "list" | "tuple" | "set" => {
            let mut cursor = node.walk();
            let items: Vec<Node> = node
                .named_children(&mut cursor)
                .filter(|c| c.kind() != "comment")
                .collect();
            items
                .iter()
                .all(|i| is_safe_part(py, source, *i, depth + 1))
        }
        "binary_operator" => {
            let is_repeat = node
                .child_by_field_id(f.operator)
                .is_some_and(|o| python::text(o, source) == "*");
            is_repeat
                && [f.left, f.right].iter().all(|&field| {
                    node.child_by_field_id(field).is_some_and(|side| {
                        is_safe_collection(py, source, side, depth + 1)
                            || is_safe_part(py, source, side, depth + 1)
                    })
                })
        }
        "list_comprehension" | "generator_expression" | "set_comprehension" => {
            let counters = comprehension_counters(py, source, node);
            node.child_by_field_id(f.body)
                .is_some_and(|body| is_safe_item(py, source, body, &counters))
        }
        "string" => python::literal(node, source).is_some(),
        "identifier" => is_safe_part(py, source, node, depth + 1),
        _ => false,
    }
}

/// An item produced by a comprehension: its loop variable is not known, so only literals,
/// quoting or numeric conversion, and strings built from those are safe.
fn is_safe_item<'t>(py: &PythonFile<'t>, source: &str, item: Node<'t>, counters: &[&str]) -> bool {
    let item = unparenthesize(item);
    if python::literal(item, source).is_some()
        || item.kind() == "identifier" && counters.contains(&python::text(item, source))
        || is_string(item) && construction(item, source).is_none()
    {
        return true;
    }
    if let Some(built) = construction(item, source) {
        return built
            .parts
            .iter()
            .all(|p| is_safe_item(py, source, *p, counters));
    }
    item.kind() == "call"
        && item
            .child_by_field_id(python::fields().function)
            .is_some_and(|function| {
                let callee = py
                    .names
                    .qualify(function, source)
                    .unwrap_or_else(|| python::text(function, source).to_string());
                is_quoting_or_numeric_call(&callee)
            })
}

/// `i` in `[f"... {i}" for i in range(n)]`: the loop clause comes after its use.
fn is_comprehension_counter<'t>(py: &PythonFile<'t>, source: &str, identifier: Node<'t>) -> bool {
    let name = python::text(identifier, source);
    let mut current = identifier;
    // From comprehension to enclosing comprehension, up to the function or module.
    while let Some(around) = py.ancestry.nearest_ancestor(current, |n| {
        matches!(
            n.kind(),
            "list_comprehension"
                | "generator_expression"
                | "set_comprehension"
                | "dictionary_comprehension"
                | "function_definition"
                | "module"
        )
    }) {
        if matches!(around.kind(), "function_definition" | "module") {
            return false;
        }
        if comprehension_counters(py, source, around).contains(&name) {
            return true;
        }
        current = around;
    }
    false
}

/// The loop variables of a comprehension that count (`for i in range(n)`).
fn comprehension_counters<'t, 's>(
    py: &PythonFile<'t>,
    source: &'s str,
    node: Node<'t>,
) -> Vec<&'s str> {
    let f = python::fields();
    let mut out = Vec::new();
    let mut cursor = node.walk();
    for clause in node.named_children(&mut cursor) {
        if clause.kind() != "for_in_clause" {
            continue;
        }
        let Some(left) = clause.child_by_field_id(f.left) else {
            continue;
        };
        let target = match left.kind() {
            "pattern_list" | "tuple_pattern" => left.named_child(0),
            _ => Some(left),
        };
        if let Some(target) = target.filter(|t| t.kind() == "identifier") {
            // Record the parent link `is_counter` climbs.
            let _ = py.ancestry.node_at(target.start_byte(), target.end_byte());
            if is_counter(py, source, target) {
                out.push(python::text(target, source));
            }
        }
    }
    out
}

/// Strings built at run time with an unsafe part that `expr` evaluates to: `expr` itself, or
/// what the local it names was assigned (and extended with `+=`) before this point.
pub fn unsafe_constructions<'t>(
    py: &PythonFile<'t>,
    source: &str,
    expr: Node<'t>,
    depth: usize,
) -> Vec<Built<'t>> {
    let expr = unparenthesize(expr);
    if depth == 0 {
        // A new search (node ids are only unique within one tree).
        SAFE_IDENTIFIERS.with(|m| m.borrow_mut().clear());
    }
    if depth > MAX_DEPTH {
        return Vec::new();
    }
    // Its parts will ask for their parents (scope, comprehension counters).
    py.ancestry.record_subtree(expr);
    if let Some(built) = construction(expr, source) {
        let unsafe_parts: Vec<Node> = built
            .parts
            .iter()
            .copied()
            .filter(|p| !is_safe_part(py, source, *p, depth))
            .collect();
        if unsafe_parts.is_empty() {
            return Vec::new();
        }
        return vec![Built {
            parts: unsafe_parts,
            ..built
        }];
    }
    match expr.kind() {
        "identifier" => {
            let mut out = Vec::new();
            for binding in bindings_before(py, source, expr) {
                match binding {
                    Binding::Assign(value) => {
                        out.extend(unsafe_constructions(py, source, value, depth + 1))
                    }
                    Binding::Extend(statement, value) => {
                        let found = unsafe_constructions(py, source, value, depth + 1);
                        if found.is_empty()
                            && construction(value, source).is_none()
                            && !is_safe_part(py, source, value, depth + 1)
                        {
                            // `query += where_clause`: a concatenation of a non-literal.
                            out.push(Built {
                                node: statement,
                                how: Construction::Concat,
                                literal_text: String::new(),
                                parts: vec![value],
                            });
                        } else {
                            out.extend(found);
                        }
                    }
                    Binding::Counter | Binding::Unknown(_) => {}
                }
            }
            out
        }
        "conditional_expression" => {
            let mut cursor = expr.walk();
            let children: Vec<Node> = expr.named_children(&mut cursor).collect();
            let mut out = Vec::new();
            for branch in [children.first(), children.get(2)].into_iter().flatten() {
                out.extend(unsafe_constructions(py, source, *branch, depth + 1));
            }
            out
        }
        "binary_operator" => concatenation_of_locals(py, source, expr, depth),
        _ => Vec::new(),
    }
}

/// `base_sql + where` with no literal in sight: a concatenation when one of the locals holds a
/// string; its literal text is that of the strings the locals were assigned.
fn concatenation_of_locals<'t>(
    py: &PythonFile<'t>,
    source: &str,
    expr: Node<'t>,
    depth: usize,
) -> Vec<Built<'t>> {
    let mut operands = Vec::new();
    flatten_concat(expr, source, &mut operands);
    if operands.len() < 2 {
        return Vec::new();
    }
    let mut literal_text = String::new();
    for operand in operands.iter().filter(|o| o.kind() == "identifier") {
        // The literal is usually the first assignment (`q = "SELECT ..."`), before many
        // `q = q + ...`.
        for binding in first_and_latest_bindings_before(py, source, *operand) {
            if let Binding::Assign(value) | Binding::Extend(_, value) = binding {
                let value = unparenthesize(value);
                if is_string(value) || construction(value, source).is_some() {
                    literal_text.push_str(python::text(value, source));
                    literal_text.push(' ');
                }
            }
        }
    }
    if literal_text.is_empty() {
        return Vec::new(); // numbers or lists, as far as can be seen
    }
    let parts: Vec<Node> = operands
        .iter()
        .copied()
        .filter(|o| !is_safe_part(py, source, *o, depth))
        .collect();
    if parts.is_empty() {
        return Vec::new();
    }
    vec![Built {
        node: expr,
        how: Construction::Concat,
        literal_text,
        parts,
    }]
}

/// Attributes of a request object that carry what the client sent (Django, DRF, Flask,
/// Starlette/FastAPI, aiohttp).
const REQUEST_DATA: &[&str] = &[
    "GET",
    "POST",
    "FILES",
    "COOKIES",
    "META",
    "body",
    "data",
    "args",
    "form",
    "values",
    "json",
    "files",
    "query_params",
    "path_params",
    "headers",
    "cookies",
    "stream",
    "get_data",
    "get_json",
    "query",
    "content",
    "read",
    "text",
    "post",
    "match_info",
];

/// An attribute chain like `request.body`, `self.request.data`, `flask.request.get_data`.
fn is_request_attribute(node: Node, source: &str) -> bool {
    let f = python::fields();
    let (Some(object), Some(attr)) = (
        node.child_by_field_id(f.object),
        node.child_by_field_id(f.attribute),
    ) else {
        return false;
    };
    let object = python::text(object, source);
    let receiver = object.rsplit('.').next().unwrap_or(object);
    matches!(receiver, "request" | "req") && REQUEST_DATA.contains(&python::text(attr, source))
}

/// The request data `expr` carries, directly or through locals assigned in the same function:
/// the text of the first request attribute found (`request.body`).
pub fn request_data<'t>(
    py: &PythonFile<'t>,
    source: &str,
    expr: Node<'t>,
    depth: usize,
) -> Option<String> {
    if depth == 0 {
        SEARCHED_FOR_REQUEST_DATA.with(|s| s.borrow_mut().clear());
    }
    if depth > MAX_DEPTH {
        return None;
    }
    py.ancestry.record_subtree(expr);
    let mut stack = vec![expr];
    let mut identifiers = Vec::new();
    while let Some(node) = stack.pop() {
        match node.kind() {
            "attribute" if is_request_attribute(node, source) => {
                return Some(python::text(node, source).to_string());
            }
            "identifier" => identifiers.push(node),
            "lambda" | "function_definition" => continue,
            _ => {}
        }
        let mut cursor = node.walk();
        stack.extend(node.named_children(&mut cursor));
    }
    for identifier in identifiers {
        if !SEARCHED_FOR_REQUEST_DATA.with(|s| s.borrow_mut().insert(identifier.id())) {
            continue;
        }
        for binding in bindings_before(py, source, identifier) {
            let value = match binding {
                Binding::Assign(value) | Binding::Extend(_, value) => value,
                Binding::Counter => continue,
                Binding::Unknown(node) => {
                    if let Some(what) = route_parameter(py, source, node) {
                        return Some(what);
                    }
                    continue;
                }
            };
            if let Some(found) = request_data(py, source, value, depth + 1) {
                return Some(found);
            }
        }
    }
    None
}

/// A parameter that holds what the client sent: an upload or a raw body anywhere (FastAPI
/// `file: UploadFile`, `data: bytes = Body(...)`, `= File(...)`, `= Form(...)`), or a text
/// parameter of a function decorated as a web route (`@app.get(...)`, `@router.post(...)`,
/// `@bp.route(...)`, `@api_view`): a path or query value. Returns how it reads in a message.
fn route_parameter<'t>(py: &PythonFile<'t>, source: &str, identifier: Node<'t>) -> Option<String> {
    let f = python::fields();
    let name = python::text(identifier, source);
    let parameter = py.ancestry.parent(identifier)?;
    let (annotation, default, list) = match parameter.kind() {
        "typed_parameter" | "typed_default_parameter" | "default_parameter" => (
            parameter
                .child_by_field_id(f.r#type)
                .map(|t| python::text(t, source))
                .unwrap_or(""),
            parameter
                .child_by_field_id(f.value)
                .map(|v| python::text(v, source))
                .unwrap_or(""),
            py.ancestry.parent(parameter)?,
        ),
        "parameters" => ("", "", parameter),
        _ => return None,
    };
    let upload = annotation.contains("UploadFile")
        || ["File(", "Body(", "Form("]
            .iter()
            .any(|d| default.starts_with(d) || annotation.contains(d));
    if upload {
        return Some(format!("the uploaded `{name}` parameter"));
    }
    if matches!(name, "self" | "cls" | "request" | "req") || default.contains("Depends(") {
        return None;
    }
    let text_typed = annotation.is_empty()
        || python::word_occurrences(annotation, "str").next().is_some()
        || ["Query(", "Path(", "Header(", "Cookie("]
            .iter()
            .any(|d| default.starts_with(d) || annotation.contains(d))
            && !["int", "float", "bool", "UUID"]
                .iter()
                .any(|t| python::word_occurrences(annotation, t).next().is_some());
    if !text_typed || list.kind() != "parameters" {
        return None;
    }
    let function = py.ancestry.parent(list)?;
    let decorated = py
        .ancestry
        .parent(function)
        .filter(|d| d.kind() == "decorated_definition")?;
    let mut cursor = decorated.walk();
    let is_route = decorated
        .named_children(&mut cursor)
        .filter(|d| d.kind() == "decorator")
        .any(|d| ROUTE_DECORATOR.is_match(python::text(d, source)));
    is_route.then(|| format!("the route parameter `{name}`"))
}

/// A parameter annotated as a number, boolean or UUID (`limit: int`, `ids: list[int]`): web
/// frameworks validate it, and its text cannot carry SQL or shell syntax.
fn is_numeric_parameter<'t>(py: &PythonFile<'t>, source: &str, identifier: Node<'t>) -> bool {
    let Some(parameter) = py
        .ancestry
        .parent(identifier)
        .filter(|p| matches!(p.kind(), "typed_parameter" | "typed_default_parameter"))
    else {
        return false;
    };
    let Some(annotation) = parameter.child_by_field_id(python::fields().r#type) else {
        return false;
    };
    let words: Vec<&str> = python::text(annotation, source)
        .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .filter(|w| !w.is_empty())
        .collect();
    !words.is_empty()
        && words.iter().all(|w| {
            matches!(
                *w,
                "int"
                    | "float"
                    | "bool"
                    | "UUID"
                    | "uuid"
                    | "Decimal"
                    | "None"
                    | "Optional"
                    | "list"
                    | "List"
                    | "Sequence"
                    | "tuple"
                    | "Tuple"
                    | "set"
                    | "Set"
                    | "datetime"
                    | "date"
            ) || w.chars().all(|c| c.is_ascii_digit())
        })
}

/// Decorators that make a function a web endpoint (FastAPI, Flask, Starlette, DRF, Ninja).
static ROUTE_DECORATOR: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(
        r"^@\s*[\w.]*\.(get|post|put|patch|delete|route|api_route|websocket)\s*\(|^@\s*(api_view|action)\b",
    )
    .expect("valid route decorator regex")
});

/// A schema migration (Django `migrations/`, Alembic `versions/` under a migrations folder).
pub fn is_migration(path: &std::path::Path) -> bool {
    path.components().any(|c| {
        let c = c.as_os_str().to_string_lossy();
        c == "migrations" || c == "_migrations" || c == "alembic"
    })
}

/// The local name a call result is known by in messages: `cursor.execute`.
pub fn callee_text<'t>(call: Node<'t>, source: &str) -> String {
    call.child_by_field_id(python::fields().function)
        .map(|f| {
            python::text(f, source)
                .split_whitespace()
                .collect::<String>()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::python::parse;

    /// The unsafe parts of the value of the last expression statement of `source`.
    fn unsafe_parts(source: &str) -> Vec<String> {
        let tree = parse(source, None);
        let py = PythonFile::new(&tree, source);
        let root = tree.root_node();
        let last = root.named_child(root.named_child_count() - 1).unwrap();
        let last = if last.kind() == "function_definition" {
            let body = last.child_by_field_name("body").unwrap();
            body.named_child(body.named_child_count() - 1).unwrap()
        } else {
            last
        };
        let expr = last.named_child(0).unwrap();
        unsafe_constructions(&py, source, expr, 0)
            .iter()
            .flat_map(|b| b.parts.iter().map(|p| python::text(*p, source).to_string()))
            .collect()
    }

    #[test]
    fn literal_and_constant_parts_are_safe() {
        assert!(unsafe_parts("TABLE = 't'\nf'SELECT * FROM {TABLE} WHERE a = {1}'\n").is_empty());
        assert!(unsafe_parts("'SELECT %s' % ('x',)\n").is_empty());
        assert!(unsafe_parts("def f(ids):\n    marks = ', '.join(['%s'] * len(ids))\n    f'SELECT 1 WHERE id IN ({marks})'\n").is_empty());
        assert!(
            unsafe_parts("def f(t):\n    f'SELECT * FROM {connection.ops.quote_name(t)}'\n")
                .is_empty()
        );
        assert!(unsafe_parts("def f():\n    f'SELECT * FROM {Model._meta.db_table}'\n").is_empty());
    }

    #[test]
    fn parameters_and_concatenations_are_not() {
        assert_eq!(
            unsafe_parts("def f(name):\n    f'SELECT * FROM t WHERE n = {name}'\n"),
            ["name"]
        );
        assert_eq!(
            unsafe_parts("def f(a, b):\n    q = 'SELECT 1 WHERE x = ' + a\n    q += b\n    q\n"),
            ["a", "b"]
        );
        assert_eq!(
            unsafe_parts("def f(a):\n    '... {} ...'.format(a)\n"),
            ["a"]
        );
    }

    #[test]
    fn finds_request_data_through_locals() {
        let source = "def view(request):\n    raw = request.body\n    data = base64.b64decode(raw)\n    data\n";
        let tree = parse(source, None);
        let py = PythonFile::new(&tree, source);
        let at = source.rfind("data").unwrap();
        let node = py.ancestry.node_at(at, at + 4).unwrap();
        assert_eq!(
            request_data(&py, source, node, 0).as_deref(),
            Some("request.body")
        );
    }
}
