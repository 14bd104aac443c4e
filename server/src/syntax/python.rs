//! Python parsing with tree-sitter-python, and the small amount of literal evaluation rules need.

use std::ops::Range;
use tree_sitter::{Node, Tree};

/// Parses `text`, reusing `old` (already `edit`ed) for an incremental reparse.
pub fn parse(text: &str, old: Option<&Tree>) -> Tree {
    super::parse_with("python", || tree_sitter_python::LANGUAGE.into(), text, old)
}

/// Number of syntax errors (ERROR and MISSING nodes): a fix must not increase it.
pub fn error_count(tree: &Tree) -> usize {
    super::error_spans(tree.root_node()).len()
}

/// Field ids of the grammar, looked up once: `child_by_field_name` compares the name against
/// every field of the language on each call.
pub struct Fields {
    pub alias: u16,
    pub arguments: u16,
    pub attribute: u16,
    pub body: u16,
    pub function: u16,
    pub key: u16,
    pub left: u16,
    pub module_name: u16,
    pub name: u16,
    pub object: u16,
    pub operator: u16,
    pub parameters: u16,
    pub right: u16,
    pub subscript: u16,
    pub superclasses: u16,
    pub r#type: u16,
    pub value: u16,
    pub argument: u16,
}

impl Fields {
    /// The `name` field as `children_by_field_id` takes it.
    pub fn name_id(&self) -> std::num::NonZeroU16 {
        std::num::NonZeroU16::new(self.name).expect("tree-sitter field ids start at 1")
    }
}

pub fn fields() -> &'static Fields {
    static FIELDS: std::sync::OnceLock<Fields> = std::sync::OnceLock::new();
    FIELDS.get_or_init(|| {
        let language: tree_sitter::Language = tree_sitter_python::LANGUAGE.into();
        let id = |name: &str| {
            language
                .field_id_for_name(name)
                .map(|f| f.get())
                .unwrap_or_else(|| panic!("tree-sitter-python has a `{name}` field"))
        };
        Fields {
            alias: id("alias"),
            arguments: id("arguments"),
            attribute: id("attribute"),
            body: id("body"),
            function: id("function"),
            key: id("key"),
            left: id("left"),
            module_name: id("module_name"),
            name: id("name"),
            object: id("object"),
            operator: id("operator"),
            parameters: id("parameters"),
            right: id("right"),
            subscript: id("subscript"),
            superclasses: id("superclasses"),
            r#type: id("type"),
            value: id("value"),
            argument: id("argument"),
        }
    })
}

/// Parent links and fast lookups for a module. Tree-sitter nodes do not store their parent:
/// `Node::parent` searches down from the root, scanning its children one by one, which costs
/// thousands of steps in a module with thousands of top-level statements. Here a lookup finds
/// the top-level statement by binary search, descends from it with a cursor, and remembers the
/// path, so the parents of everything on the way are known afterwards.
pub struct Ancestry<'t> {
    root: Node<'t>,
    statements: Vec<Node<'t>>,
    parents: std::cell::RefCell<std::collections::HashMap<usize, Node<'t>>>,
    /// `node_at` answers: rules ask again for the same spans (every binding site of a name, for
    /// each use of it), and a lookup costs the depth times the width of the statements passed.
    located: std::cell::RefCell<std::collections::HashMap<(usize, usize), Option<Node<'t>>>>,
    /// The roots `record_subtree` has walked.
    recorded: std::cell::RefCell<std::collections::HashSet<usize>>,
    /// `word_sites` answers, by (filter, range, word).
    #[allow(clippy::type_complexity)]
    word_sites: std::cell::RefCell<
        std::collections::HashMap<(usize, usize, usize, String), std::rc::Rc<[usize]>>,
    >,
    /// `nearest_ancestor` answers for the nodes passed on the way up, per question.
    nearest: std::cell::RefCell<std::collections::HashMap<(usize, usize), Option<Node<'t>>>>,
    /// Lookups per top-level statement, and the statements asked about often enough to be
    /// indexed: every node by its exact span. One long statement (calls nested thousands deep,
    /// a huge literal) would otherwise cost its depth per lookup, the square of its size in all.
    lookups: std::cell::RefCell<std::collections::HashMap<usize, usize>>,
    #[allow(clippy::type_complexity)]
    indexed: std::cell::RefCell<
        std::collections::HashMap<usize, std::collections::HashMap<(usize, usize), Node<'t>>>,
    >,
}

/// Lookups in one statement after which it is indexed.
const LOOKUPS_BEFORE_INDEX: usize = 16;

impl<'t> Ancestry<'t> {
    pub fn new(root: Node<'t>) -> Ancestry<'t> {
        let mut cursor = root.walk();
        let statements = root.children(&mut cursor).collect();
        Ancestry {
            root,
            statements,
            parents: Default::default(),
            located: Default::default(),
            recorded: Default::default(),
            word_sites: Default::default(),
            nearest: Default::default(),
            lookups: Default::default(),
            indexed: Default::default(),
        }
    }

    /// The top-level statement that contains `start..end`.
    fn statement(&self, start: usize, end: usize) -> Option<Node<'t>> {
        let after = self.statements.partition_point(|n| n.start_byte() <= start);
        let statement = self.statements[after.checked_sub(1)?];
        (end <= statement.end_byte()).then_some(statement)
    }

    /// The smallest node spanning `start..end`; its ancestors' parents are recorded on the way.
    pub fn node_at(&self, start: usize, end: usize) -> Option<Node<'t>> {
        if let Some(known) = self.located.borrow().get(&(start, end)) {
            return *known;
        }
        let found = self.locate(start, end);
        self.located.borrow_mut().insert((start, end), found);
        found
    }

    fn locate(&self, start: usize, end: usize) -> Option<Node<'t>> {
        let Some(statement) = self.statement(start, end) else {
            return self.root.descendant_for_byte_range(start, end);
        };
        if let Some(found) = self.indexed_lookup(statement, start, end) {
            return Some(found);
        }
        let mut parents = self.parents.borrow_mut();
        let mut cursor = statement.walk();
        loop {
            let node = cursor.node();
            if cursor.goto_first_child_for_byte(start).is_none() {
                break;
            }
            let child = cursor.node();
            if child.start_byte() > start || child.end_byte() < end {
                cursor.goto_parent();
                break;
            }
            parents.insert(child.id(), node);
        }
        Some(cursor.node())
    }

    /// The deepest node of `statement` spanning exactly `start..end`, from the statement's
    /// index once it is asked about often; `None` sends the caller down the tree.
    fn indexed_lookup(&self, statement: Node<'t>, start: usize, end: usize) -> Option<Node<'t>> {
        if let Some(index) = self.indexed.borrow().get(&statement.id()) {
            return index.get(&(start, end)).copied();
        }
        let count = {
            let mut lookups = self.lookups.borrow_mut();
            let count = lookups.entry(statement.id()).or_default();
            *count += 1;
            *count
        };
        if count < LOOKUPS_BEFORE_INDEX {
            return None;
        }
        // One walk records every node by span (a deeper node with the same span replaces its
        // parent: it is the smaller) and every parent.
        let mut index = std::collections::HashMap::new();
        let mut parents = self.parents.borrow_mut();
        index.insert((statement.start_byte(), statement.end_byte()), statement);
        walk_below(statement, |parent, child| {
            parents.insert(child.id(), parent);
            index.insert((child.start_byte(), child.end_byte()), child);
            true
        });
        let found = index.get(&(start, end)).copied();
        self.indexed.borrow_mut().insert(statement.id(), index);
        found
    }

    /// Identifier nodes spelling `name` (not in strings, comments or longer names), found from
    /// the text rather than by walking the tree.
    pub fn identifiers(&self, source: &str, name: &str) -> Vec<Node<'t>> {
        word_occurrences(source, name)
            .filter_map(|at| self.node_at(at, at + name.len()))
            .filter(|n| n.kind() == "identifier" && n.byte_range().len() == name.len())
            .collect()
    }

    /// The outermost attribute chain `identifier` starts: `os` -> `os.environ.get`.
    pub fn attribute_chain(&self, identifier: Node<'t>) -> Node<'t> {
        let mut expr = identifier;
        while let Some(parent) = self.parent(expr) {
            let is_object = parent.kind() == "attribute"
                && parent
                    .child_by_field_id(fields().object)
                    .is_some_and(|o| o.id() == expr.id());
            if !is_object {
                break;
            }
            expr = parent;
        }
        expr
    }

    /// The call whose callee is `callee`: `f(x)` for `f`, `obj.f(x)` for `obj.f`.
    pub fn called(&self, callee: Node<'t>) -> Option<Node<'t>> {
        self.parent(callee)
            .filter(|c| c.kind() == "call" && is_field(*c, fields().function, callee))
    }

    /// The callee an identifier found from the text names: the attribute `obj.name` when it is
    /// that attribute's last part, else the identifier itself.
    pub fn callee_of(&self, identifier: Node<'t>) -> Node<'t> {
        match self.parent(identifier) {
            Some(p) if p.kind() == "attribute" && is_field(p, fields().attribute, identifier) => p,
            _ => identifier,
        }
    }

    /// `name(...)` or `obj.name(...)` for the identifier `name`: the callee and the call.
    pub fn call_named(&self, identifier: Node<'t>) -> Option<(Node<'t>, Node<'t>)> {
        let callee = self.callee_of(identifier);
        self.called(callee).map(|call| (callee, call))
    }

    /// For the identifier naming a keyword argument (`verify` in `get(url, verify=False)`): the
    /// whole argument, its value, and the call it is passed to (`None` outside a call, e.g. a
    /// class definition's keywords).
    pub fn keyword_argument_named(&self, identifier: Node<'t>) -> Option<KeywordArgument<'t>> {
        let argument = self.parent(identifier).filter(|a| {
            a.kind() == "keyword_argument" && is_field(*a, fields().name, identifier)
        })?;
        let value = argument.child_by_field_id(fields().value)?;
        let call = self
            .parent(argument)
            .and_then(|list| self.parent(list))
            .filter(|c| c.kind() == "call");
        Some(KeywordArgument {
            argument,
            value,
            call,
        })
    }

    /// The decorator expressions of a function or class definition (`app.get("/x")`,
    /// `login_required`); empty when it has none.
    pub fn decorators(&self, definition: Node<'t>) -> Vec<Node<'t>> {
        let Some(decorated) = self
            .parent(definition)
            .filter(|p| p.kind() == "decorated_definition")
        else {
            return Vec::new();
        };
        let mut cursor = decorated.walk();
        let found = decorated
            .named_children(&mut cursor)
            .filter(|d| d.kind() == "decorator")
            .filter_map(|d| d.named_child(0))
            .collect();
        found
    }

    /// The module-level function or class called `name`.
    pub fn module_definition(&self, source: &str, name: &str) -> Option<Node<'t>> {
        self.identifiers(source, name)
            .into_iter()
            .filter_map(|id| self.parent(id))
            .filter(|d| matches!(d.kind(), "function_definition" | "class_definition"))
            .filter(|d| definition_name(*d, source) == name)
            .find(|d| {
                let mut up = self.parent(*d);
                if up.is_some_and(|p| p.kind() == "decorated_definition") {
                    up = up.and_then(|p| self.parent(p));
                }
                up.is_some_and(|p| p.kind() == "module")
            })
    }

    /// The offsets of `word` (as a whole word) in `source[range]` whose following text
    /// `keep` accepts, in order; computed once per (filter, range, word) for this tree's text.
    /// `keep` must be a plain function (its address tells the questions apart).
    pub fn word_sites(
        &self,
        source: &str,
        range: std::ops::Range<usize>,
        word: &str,
        keep: fn(&str) -> bool,
    ) -> std::rc::Rc<[usize]> {
        self.remembered_sites(keep as usize, range.clone(), word, || {
            word_occurrences(&source[range.clone()], word)
                .map(|at| range.start + at)
                .filter(|&at| keep(&source[at + word.len()..]))
                .collect()
        })
    }

    /// Offsets of `word` in `range` that a question (told apart by `question`, the address of
    /// a function that asks it) accepts, computed once per tree by `compute`.
    pub fn remembered_sites(
        &self,
        question: usize,
        range: std::ops::Range<usize>,
        word: &str,
        compute: impl FnOnce() -> std::rc::Rc<[usize]>,
    ) -> std::rc::Rc<[usize]> {
        let key = (question, range.start, range.end, word.to_string());
        if let Some(known) = self.word_sites.borrow().get(&key) {
            return known.clone();
        }
        let sites = compute();
        self.word_sites.borrow_mut().insert(key, sites.clone());
        sites
    }

    /// Records the parent of every node under `node`, in one iterative walk, so that climbing
    /// from anything inside it is a lookup per step. For an expression about to be taken apart
    /// (its operands later ask for their parents): tree-sitter's own `parent` descends from the
    /// root, a cost of the depth on every call.
    pub fn record_subtree(&self, node: Node<'t>) {
        let mut recorded = self.recorded.borrow_mut();
        if node.child_count() == 0 || !recorded.insert(node.id()) {
            return;
        }
        let mut parents = self.parents.borrow_mut();
        walk_below(node, |parent, child| {
            parents.insert(child.id(), parent);
            // A subtree recorded before (a call nested in the argument of another) is not
            // walked again: nested sinks would otherwise cost the square of their depth.
            recorded.insert(child.id())
        });
    }

    /// The nearest proper ancestor of `node` that `is_it` accepts. The answer is remembered for
    /// every node passed on the way up, so the thousands of uses inside one deep expression
    /// climb it once between them, not once each. `is_it` must be a plain function (its
    /// address tells the questions apart).
    pub fn nearest_ancestor(&self, node: Node<'t>, is_it: fn(Node) -> bool) -> Option<Node<'t>> {
        let question = is_it as usize;
        let mut passed = Vec::new();
        let mut current = self.parent(node);
        let answer = loop {
            let Some(candidate) = current else {
                break None;
            };
            if is_it(candidate) {
                break Some(candidate);
            }
            if let Some(known) = self.nearest.borrow().get(&(question, candidate.id())) {
                break *known;
            }
            passed.push(candidate.id());
            current = self.parent(candidate);
        };
        let mut nearest = self.nearest.borrow_mut();
        for id in passed {
            nearest.insert((question, id), answer);
        }
        answer
    }

    pub fn parent(&self, node: Node<'t>) -> Option<Node<'t>> {
        if node.id() == self.root.id() {
            return None;
        }
        if let Some(parent) = self.parents.borrow().get(&node.id()) {
            return Some(*parent);
        }
        match self.statement(node.start_byte(), node.end_byte()) {
            Some(statement) if statement.id() == node.id() => Some(self.root),
            // Not reached through `node_at`: ask tree-sitter.
            _ => node.parent(),
        }
    }
}

/// Whether `child` is the `field` child of `parent`.
pub fn is_field(parent: Node, field: u16, child: Node) -> bool {
    parent
        .child_by_field_id(field)
        .is_some_and(|c| c.id() == child.id())
}

/// Calls `visit(parent, child)` for every node under `node`, with an explicit stack (any depth);
/// `visit` returning false leaves out what lies under `child`.
fn walk_below<'t>(node: Node<'t>, mut visit: impl FnMut(Node<'t>, Node<'t>) -> bool) {
    let mut pending = vec![node];
    while let Some(parent) = pending.pop() {
        let mut cursor = parent.walk();
        for child in parent.children(&mut cursor) {
            if visit(parent, child) && child.child_count() > 0 {
                pending.push(child);
            }
        }
    }
}

/// Where the line holding byte `at` starts, and the text from there up to `at`.
pub fn line_prefix(source: &str, at: usize) -> (usize, &str) {
    let line_start = source[..at].rfind('\n').map_or(0, |i| i + 1);
    (line_start, &source[line_start..at])
}

/// The line break that ends the line before the one starting at `line_start` (`\n` on the
/// first line).
pub fn line_break_before(source: &str, line_start: usize) -> &'static str {
    if source[..line_start].ends_with("\r\n") {
        "\r\n"
    } else {
        "\n"
    }
}

/// The comma that follows `node` in a list or argument list, comments skipped.
pub fn comma_after(node: Node) -> Option<Node> {
    let mut sibling = node.next_sibling();
    while let Some(s) = sibling {
        match s.kind() {
            "," => return Some(s),
            "comment" => sibling = s.next_sibling(),
            _ => return None,
        }
    }
    None
}

/// Every node of `root`'s subtree, in source order (meant for one function or class, never a
/// module).
pub fn descendants<'t>(root: Node<'t>) -> Vec<Node<'t>> {
    let mut out = Vec::new();
    let mut cursor = root.walk();
    let mut descend = true;
    loop {
        let node = cursor.node();
        if descend {
            out.push(node);
            if cursor.goto_first_child() {
                continue;
            }
        }
        if node.id() == root.id() {
            break;
        }
        if cursor.goto_next_sibling() {
            descend = true;
            continue;
        }
        if !cursor.goto_parent() || cursor.node().id() == root.id() {
            break;
        }
        descend = false;
    }
    out
}

/// The function or class a `decorated_definition` wraps.
pub fn definition(decorated: Node) -> Option<Node> {
    let mut cursor = decorated.walk();
    let found = decorated
        .named_children(&mut cursor)
        .find(|c| matches!(c.kind(), "function_definition" | "class_definition"));
    found
}

/// The last segment of a callee or decorator: `stripe.Webhook.construct_event` ->
/// `construct_event`, `login_required(...)` -> `login_required`.
pub fn short_name<'s>(expr: Node, source: &'s str) -> &'s str {
    let expr = if expr.kind() == "call" {
        expr.child_by_field_id(fields().function).unwrap_or(expr)
    } else {
        expr
    };
    last_segment(text(expr, source))
}

/// The name of a function or class definition (empty when it has none).
pub fn definition_name<'s>(definition: Node, source: &'s str) -> &'s str {
    definition
        .child_by_field_id(fields().name)
        .map_or("", |n| text(n, source))
}

/// The last segment of a dotted name: `db.IntegrityError` -> `IntegrityError`.
pub fn last_segment(dotted: &str) -> &str {
    dotted.rsplit('.').next().unwrap_or(dotted).trim()
}

/// A keyword argument found from its name: see [`Ancestry::keyword_argument_named`].
pub struct KeywordArgument<'t> {
    pub argument: Node<'t>,
    pub value: Node<'t>,
    pub call: Option<Node<'t>>,
}

/// Byte offsets where `word` stands as a whole identifier-like word.
pub fn word_occurrences<'s>(source: &'s str, word: &'s str) -> impl Iterator<Item = usize> + 's {
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    source
        .match_indices(word)
        .map(|(at, _)| at)
        .filter(move |&at| {
            let before = source[..at].chars().next_back();
            let after = source[at + word.len()..].chars().next();
            !before.is_some_and(is_ident) && !after.is_some_and(is_ident)
        })
}

/// The arguments of a call; `None` when it has a `**kwargs` splat (any keyword may be passed).
pub struct Arguments<'t> {
    pub list: Node<'t>,
    /// Every argument, in order (comments left out).
    pub all: Vec<Node<'t>>,
    pub positional: Vec<Node<'t>>,
    /// A `*args` splat is among them: positions after it are unknown.
    pub star_args: bool,
    pub keywords: Vec<(String, Node<'t>, Node<'t>)>, // name, value, whole argument
}

pub fn arguments<'t>(call: Node<'t>, source: &str) -> Option<Arguments<'t>> {
    let list = call.child_by_field_id(fields().arguments)?;
    if list.kind() != "argument_list" {
        return None;
    }
    let mut args = Arguments {
        list,
        all: Vec::new(),
        positional: Vec::new(),
        star_args: false,
        keywords: Vec::new(),
    };
    let mut cursor = list.walk();
    for child in list.named_children(&mut cursor) {
        match child.kind() {
            "comment" => continue,
            "dictionary_splat" => return None,
            "keyword_argument" => {
                let name = child.child_by_field_id(fields().name)?;
                let value = child.child_by_field_id(fields().value)?;
                args.keywords
                    .push((text(name, source).to_string(), value, child));
            }
            "list_splat" => args.star_args = true,
            _ => args.positional.push(child),
        }
        args.all.push(child);
    }
    Some(args)
}

impl<'t> Arguments<'t> {
    pub fn keyword(&self, name: &str) -> Option<(Node<'t>, Node<'t>)> {
        self.keywords
            .iter()
            .find(|(n, _, _)| n == name)
            .map(|(_, v, whole)| (*v, *whole))
    }

    /// Bytes to delete to drop `arg` and its comma.
    pub fn removal(&self, arg: Node) -> Option<Range<usize>> {
        let index = self.all.iter().position(|a| a.id() == arg.id())?;
        match (
            index.checked_sub(1).and_then(|i| self.all.get(i)),
            self.all.get(index + 1),
        ) {
            (Some(previous), _) => Some(previous.end_byte()..arg.end_byte()),
            (None, Some(next)) => Some(arg.start_byte()..next.start_byte()),
            (None, None) => {
                // The only argument: drop a trailing comma too.
                let end = comma_after(arg).map_or(arg.end_byte(), |c| c.end_byte());
                Some(arg.start_byte()..end)
            }
        }
    }

    /// Where and what to insert to add `argument` as the last argument, keeping the layout:
    /// `f(a)` -> `f(a, x)`; a multi-line list with a trailing comma gets its own line.
    pub fn append(&self, argument: &str, source: &str) -> (usize, String) {
        let Some(last) = self.all.last() else {
            let open = self.list.start_byte() + 1;
            return (open, argument.to_string());
        };
        let comma = comma_after(*last);
        let (line_start, indent) = line_prefix(source, last.start_byte());
        match comma {
            Some(comma) if indent.chars().all(|c| c == ' ' || c == '\t') => {
                let newline = line_break_before(source, line_start);
                (comma.end_byte(), format!("{newline}{indent}{argument},"))
            }
            Some(comma) => (comma.end_byte(), format!(" {argument},")),
            None => (last.end_byte(), format!(", {argument}")),
        }
    }
}

pub fn text<'a>(node: Node, source: &'a str) -> &'a str {
    &source[node.byte_range()]
}

/// A constant a rule can reason about.
#[derive(Clone, Debug, PartialEq)]
pub enum Literal {
    Str(String),
    Bool(bool),
    Int(i64),
    Float(f64),
    None,
    /// A list or tuple of constants.
    Seq(Vec<Literal>),
}

impl Literal {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Literal::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Python truthiness.
    pub fn is_truthy(&self) -> bool {
        match self {
            Literal::Str(s) => !s.is_empty(),
            Literal::Bool(b) => *b,
            Literal::Int(i) => *i != 0,
            Literal::Float(f) => *f != 0.0,
            Literal::None => false,
            Literal::Seq(items) => !items.is_empty(),
        }
    }

    /// All strings inside (the value itself, or the items of a sequence).
    pub fn strings(&self) -> Vec<&str> {
        match self {
            Literal::Str(s) => vec![s.as_str()],
            Literal::Seq(items) => items.iter().filter_map(Literal::as_str).collect(),
            _ => Vec::new(),
        }
    }
}

/// Evaluates a literal expression: strings (implicit concatenation included, no f-string
/// interpolation), numbers, booleans, None, and lists/tuples of those.
pub fn literal(node: Node, source: &str) -> Option<Literal> {
    match node.kind() {
        "string" => string_value(node, source).map(Literal::Str),
        "concatenated_string" => {
            let mut out = String::new();
            let mut cursor = node.walk();
            for child in node.named_children(&mut cursor) {
                out.push_str(&string_value(child, source)?);
            }
            Some(Literal::Str(out))
        }
        "true" => Some(Literal::Bool(true)),
        "false" => Some(Literal::Bool(false)),
        "none" => Some(Literal::None),
        "integer" => {
            let t = text(node, source).replace('_', "");
            let value = if let Some(hex) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
                i64::from_str_radix(hex, 16).ok()
            } else {
                t.parse().ok()
            };
            value.map(Literal::Int)
        }
        "float" => text(node, source)
            .replace('_', "")
            .parse()
            .ok()
            .map(Literal::Float),
        "parenthesized_expression" => literal(node.named_child(0)?, source),
        "list" | "tuple" => {
            let mut items = Vec::new();
            let mut cursor = node.walk();
            for child in node.named_children(&mut cursor) {
                if child.kind() == "comment" {
                    continue;
                }
                items.push(literal(child, source)?);
            }
            Some(Literal::Seq(items))
        }
        "unary_operator" => {
            let operand = node.child_by_field_name("argument")?;
            match (
                text(node, source).starts_with('-'),
                literal(operand, source)?,
            ) {
                (true, Literal::Int(i)) => Some(Literal::Int(-i)),
                (true, Literal::Float(f)) => Some(Literal::Float(-f)),
                _ => None,
            }
        }
        _ => None,
    }
}

/// The value of a plain string literal; `None` for f-strings with interpolations and bytes.
pub fn string_value(node: Node, source: &str) -> Option<String> {
    if node.kind() != "string" {
        return None;
    }
    // Fast path for the common case, a plain quoted literal with no escapes: no child nodes to
    // visit.
    let raw = text(node, source);
    for quote in ["\"\"\"", "'''", "\"", "'"] {
        if raw.len() >= 2 * quote.len() && raw.starts_with(quote) && raw.ends_with(quote) {
            let inner = &raw[quote.len()..raw.len() - quote.len()];
            if !inner.contains(['\\', '"', '\'']) || quote.len() == 3 && !inner.contains('\\') {
                return Some(inner.to_string());
            }
            break;
        }
    }
    let mut out = String::new();
    let mut raw = false;
    let mut cursor = node.walk();
    for child in node.children(&mut cursor) {
        match child.kind() {
            "string_start" => {
                let prefix = text(child, source).to_ascii_lowercase();
                if prefix.contains('b') || prefix.contains('f') && has_interpolation(node) {
                    return None;
                }
                raw = prefix.contains('r');
            }
            "string_content" => {
                // Escape sequences are children of the content node.
                let mut last = child.start_byte();
                let mut inner = child.walk();
                for esc in child.children(&mut inner) {
                    if esc.kind() != "escape_sequence" {
                        continue;
                    }
                    out.push_str(&source[last..esc.start_byte()]);
                    let raw_escape = text(esc, source);
                    out.push_str(&if raw {
                        raw_escape.to_string()
                    } else {
                        unescape(raw_escape)
                    });
                    last = esc.end_byte();
                }
                out.push_str(&source[last..child.end_byte()]);
            }
            "escape_sequence" => {
                let esc = text(child, source);
                if raw {
                    out.push_str(esc);
                } else {
                    out.push_str(&unescape(esc));
                }
            }
            "interpolation" => return None,
            _ => {}
        }
    }
    Some(out)
}

fn has_interpolation(node: Node) -> bool {
    let mut cursor = node.walk();
    let found = node
        .children(&mut cursor)
        .any(|c| c.kind() == "interpolation");
    found
}

fn unescape(esc: &str) -> String {
    match esc {
        "\\n" => "\n".into(),
        "\\t" => "\t".into(),
        "\\r" => "\r".into(),
        "\\\\" => "\\".into(),
        "\\'" => "'".into(),
        "\\\"" => "\"".into(),
        "\\0" => "\0".into(),
        other => other.into(),
    }
}

/// The byte range of a string literal's contents, without prefix and quotes.
pub fn string_content_range(node: Node) -> Option<std::ops::Range<usize>> {
    let start = node.child(0).filter(|c| c.kind() == "string_start")?;
    let end = node
        .child(node.child_count().checked_sub(1)?)
        .filter(|c| c.kind() == "string_end")?;
    Some(start.end_byte()..end.start_byte())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(expr: &str) -> Option<Literal> {
        let tree = parse(expr, None);
        let stmt = tree.root_node().named_child(0).unwrap();
        literal(stmt.named_child(0).unwrap(), expr)
    }

    #[test]
    fn evaluates_literals() {
        assert_eq!(eval("'a' \"b\""), Some(Literal::Str("ab".into())));
        assert_eq!(eval("r'\\n'"), Some(Literal::Str("\\n".into())));
        assert_eq!(eval("'\\n'"), Some(Literal::Str("\n".into())));
        assert_eq!(eval("f'{x}'"), None);
        assert_eq!(eval("f'plain'"), Some(Literal::Str("plain".into())));
        assert_eq!(eval("b'x'"), None);
        assert_eq!(
            eval("[\"*\", 'h']"),
            Some(Literal::Seq(vec![
                Literal::Str("*".into()),
                Literal::Str("h".into())
            ]))
        );
        assert_eq!(eval("-1"), Some(Literal::Int(-1)));
        assert_eq!(eval("True"), Some(Literal::Bool(true)));
        assert_eq!(eval("x"), None);
        assert_eq!(eval("'\"'"), Some(Literal::Str("\"".into())));
        assert_eq!(eval("\"\"\"a\"b\"\"\""), Some(Literal::Str("a\"b".into())));
        assert_eq!(eval("''"), Some(Literal::Str(String::new())));
        assert_eq!(eval("'it\\'s'"), Some(Literal::Str("it's".into())));
    }

    #[test]
    fn counts_syntax_errors() {
        assert_eq!(error_count(&parse("x = 1\n", None)), 0);
        assert!(error_count(&parse("x = (1,\n", None)) > 0);
    }
}
