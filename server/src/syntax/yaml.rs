//! YAML with tree-sitter-yaml, read into a small value tree that keeps the byte span of every key
//! and value. Anchors and aliases are resolved (an alias is a copy of its anchor's node, marked
//! `aliased`), merge keys (`<<: *defaults`, `<<: [*a, *b]`) add the merged pairs that the mapping
//! does not set itself, and tags (`!reset`, `!!str`) are read through.
//!
//! Hostile input is bounded: nesting deeper than [`MAX_DEPTH`] and alias expansion beyond
//! [`MAX_NODES`] nodes are cut off (and `truncated` says so), so a "billion laughs" document or a
//! 5 MB file costs time linear in its size.

use std::collections::HashMap;
use std::ops::Range;

use tree_sitter::{Node as TsNode, Tree};

/// Parses `text`, reusing `old` (already `edit`ed) for an incremental reparse.
pub fn parse_tree(text: &str, old: Option<&Tree>) -> Tree {
    super::parse_with("yaml", || tree_sitter_yaml::LANGUAGE.into(), text, old)
}

/// tree-sitter-yaml's scanner keeps line numbers in 16 bits: it cannot read past this line.
pub const MAX_LINES: usize = 32_767;

/// Nesting deeper than this is not read (compose files nest four or five levels).
pub const MAX_DEPTH: usize = 64;
/// At most this many nodes are built, aliases included.
pub const MAX_NODES: usize = 200_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    Plain,
    Single,
    Double,
    /// `|` or `>` block scalars.
    Block,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scalar {
    /// The value as a YAML loader reads it (quotes removed, escapes decoded, lines folded).
    pub text: String,
    pub style: Style,
}

impl Scalar {
    /// The scalar is written in the file exactly as it reads (`raw` is its source text), so a
    /// byte offset inside `text` is the same offset inside the source.
    pub fn is_verbatim(&self, raw: &str) -> bool {
        match self.style {
            Style::Plain => raw == self.text,
            Style::Single | Style::Double => {
                raw.len() == self.text.len() + 2 && raw[1..raw.len() - 1] == self.text
            }
            Style::Block => false,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    Map(Vec<Pair>),
    Seq(Vec<Node>),
    Scalar(Scalar),
    /// An empty value (`key:`), `~` or `null`.
    Null,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    /// The value's span, quotes and block-scalar header included.
    pub range: Range<usize>,
    pub value: Value,
    /// A copy made for an alias (`*name`): its spans point at the anchored original, which the
    /// file may also report on.
    pub aliased: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pair {
    pub key: String,
    pub key_range: Range<usize>,
    pub value: Node,
    /// Came in through a merge key rather than being written in this mapping.
    pub merged: bool,
}

#[derive(Debug, Default)]
pub struct Yaml {
    /// One node per document of the stream.
    pub documents: Vec<Node>,
    /// Spans the parser could not read (syntax errors): what lies there is missing above.
    pub errors: Vec<Range<usize>>,
    /// The first line (1-based) from which the text does not parse as YAML, when it does not.
    pub first_bad_line: Option<usize>,
    /// Nesting or alias expansion was cut off at the limits.
    pub truncated: bool,
}

impl Node {
    fn null(range: Range<usize>) -> Node {
        Node {
            range,
            value: Value::Null,
            aliased: false,
        }
    }

    /// The value under `key` in a mapping (what is written in the mapping wins over merged pairs).
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.pair(key).map(|p| &p.value)
    }

    pub fn pair(&self, key: &str) -> Option<&Pair> {
        match &self.value {
            Value::Map(pairs) => pairs.iter().rev().find(|p| p.key == key),
            _ => None,
        }
    }

    pub fn pairs(&self) -> &[Pair] {
        match &self.value {
            Value::Map(pairs) => pairs,
            _ => &[],
        }
    }

    pub fn items(&self) -> &[Node] {
        match &self.value {
            Value::Seq(items) => items,
            _ => &[],
        }
    }

    pub fn scalar(&self) -> Option<&Scalar> {
        match &self.value {
            Value::Scalar(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        self.scalar().map(|s| s.text.as_str())
    }

    pub fn is_null(&self) -> bool {
        self.value == Value::Null
    }
}

pub fn parse(text: &str) -> Yaml {
    let tree = parse_tree(text, None);
    from_tree(&tree, text)
}

/// Reads the value tree out of a parse of `text`. When the text does not parse, tree-sitter's
/// recovery may wrap everything in one error node: then the longest run of whole lines from the
/// start that does parse is read instead (its offsets are the file's), so a mistake on line 40
/// costs the lines after it, not the whole file.
pub fn from_tree(tree: &Tree, text: &str) -> Yaml {
    let mut yaml = read_tree(tree, text);
    if yaml.errors.is_empty() {
        return yaml;
    }
    let (good, first_bad_line) = longest_parsing_prefix(text);
    yaml.first_bad_line = Some(first_bad_line);
    if yaml.documents.iter().all(Node::is_null) && good > 0 {
        let prefix = read_tree(&parse_tree(&text[..good], None), &text[..good]);
        yaml.documents = prefix.documents;
        yaml.truncated |= prefix.truncated;
    }
    yaml
}

/// The byte length of the longest prefix of whole lines that parses without errors, and the
/// 1-based line where parsing stops working. A binary search over line starts: a few parses.
fn longest_parsing_prefix(text: &str) -> (usize, usize) {
    let mut line_ends: Vec<usize> = text.match_indices('\n').map(|(i, _)| i + 1).collect();
    if line_ends.last() != Some(&text.len()) {
        line_ends.push(text.len());
    }
    let parses = |lines: usize| -> bool {
        let end = if lines == 0 { 0 } else { line_ends[lines - 1] };
        !parse_tree(&text[..end], None).root_node().has_error()
    };
    let (mut lo, mut hi) = (0usize, line_ends.len().min(MAX_LINES));
    // A long file that is fine up to the reader's limit needs one parse to say so.
    if line_ends.len() > MAX_LINES && parses(MAX_LINES) {
        lo = MAX_LINES;
    }
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if parses(mid) {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    let good = if lo == 0 { 0 } else { line_ends[lo - 1] };
    (good, lo + 1)
}

fn read_tree(tree: &Tree, text: &str) -> Yaml {
    let mut reader = Reader {
        text,
        anchors: HashMap::new(),
        nodes: 0,
        truncated: false,
    };
    let mut yaml = Yaml::default();
    let root = tree.root_node();
    yaml.errors = super::error_spans(root);
    let mut cursor = root.walk();
    for document in root.named_children(&mut cursor) {
        if document.kind() != "document" {
            continue;
        }
        // Anchors are scoped to their document.
        reader.anchors.clear();
        let mut inner = document.walk();
        let content = document
            .named_children(&mut inner)
            .find(|n| matches!(n.kind(), "block_node" | "flow_node"));
        let node = match content {
            Some(content) => reader.node(content, 0),
            None => Node::null(document.byte_range()),
        };
        yaml.documents.push(node);
    }
    yaml.truncated = reader.truncated;
    yaml
}

struct Reader<'s> {
    text: &'s str,
    /// Each anchored node with its size, so an alias costs no walk over it.
    anchors: HashMap<String, (Node, usize)>,
    nodes: usize,
    truncated: bool,
}

impl Reader<'_> {
    fn src(&self, node: TsNode) -> &str {
        &self.text[node.byte_range()]
    }

    /// A `block_node` / `flow_node` (or anything inside one).
    fn node(&mut self, ts: TsNode, depth: usize) -> Node {
        self.nodes += 1;
        if depth > MAX_DEPTH || self.nodes > MAX_NODES {
            self.truncated = true;
            return Node::null(ts.byte_range());
        }
        match ts.kind() {
            "block_node" | "flow_node" => {
                let mut anchor = None;
                let mut content = None;
                let mut cursor = ts.walk();
                for child in ts.named_children(&mut cursor) {
                    match child.kind() {
                        "anchor" => {
                            anchor = child.named_child(0).map(|name| self.src(name).to_string())
                        }
                        "tag" | "comment" => {}
                        _ => content = Some(child),
                    }
                }
                let node = match content {
                    Some(content) => self.node(content, depth + 1),
                    None => Node::null(ts.byte_range()),
                };
                if let Some(name) = anchor {
                    let size = count_nodes(&node);
                    self.anchors.insert(name, (node.clone(), size));
                }
                node
            }
            "alias" => {
                let name = ts
                    .named_child(0)
                    .map(|n| self.src(n).to_string())
                    .unwrap_or_default();
                match self.anchors.get(&name) {
                    Some((anchored, size)) => {
                        let size = *size;
                        if self.nodes + size > MAX_NODES {
                            self.truncated = true;
                            return Node::null(ts.byte_range());
                        }
                        self.nodes += size;
                        let mut copy = anchored.clone();
                        mark_aliased(&mut copy);
                        copy
                    }
                    None => Node::null(ts.byte_range()),
                }
            }
            "block_mapping" | "flow_mapping" => self.mapping(ts, depth),
            "block_sequence" | "flow_sequence" => {
                let mut items = Vec::new();
                let mut cursor = ts.walk();
                for child in ts.named_children(&mut cursor) {
                    let item = match child.kind() {
                        "block_sequence_item" => match first_value_child(child) {
                            Some(value) => self.node(value, depth + 1),
                            None => Node::null(child.byte_range()),
                        },
                        // `[a: b]` is a sequence holding a one-pair mapping.
                        "flow_pair" => {
                            let pairs = self.pairs_of(&[child], depth + 1);
                            Node {
                                range: child.byte_range(),
                                value: Value::Map(pairs),
                                aliased: false,
                            }
                        }
                        "comment" => continue,
                        _ => self.node(child, depth + 1),
                    };
                    items.push(item);
                }
                Node {
                    range: ts.byte_range(),
                    value: Value::Seq(items),
                    aliased: false,
                }
            }
            "plain_scalar" => {
                let raw = self.src(ts);
                let is_null = ts.named_child(0).is_some_and(|c| c.kind() == "null_scalar");
                if is_null {
                    return Node::null(ts.byte_range());
                }
                Node {
                    range: ts.byte_range(),
                    value: Value::Scalar(Scalar {
                        text: fold_lines(raw),
                        style: Style::Plain,
                    }),
                    aliased: false,
                }
            }
            "single_quote_scalar" => {
                let raw = self.src(ts);
                let inner = raw
                    .strip_prefix('\'')
                    .and_then(|r| r.strip_suffix('\''))
                    .unwrap_or(raw);
                Node {
                    range: ts.byte_range(),
                    value: Value::Scalar(Scalar {
                        text: fold_lines(&inner.replace("''", "'")),
                        style: Style::Single,
                    }),
                    aliased: false,
                }
            }
            "double_quote_scalar" => {
                let raw = self.src(ts);
                let inner = raw
                    .strip_prefix('"')
                    .and_then(|r| r.strip_suffix('"'))
                    .unwrap_or(raw);
                Node {
                    range: ts.byte_range(),
                    value: Value::Scalar(Scalar {
                        text: unescape_double(inner),
                        style: Style::Double,
                    }),
                    aliased: false,
                }
            }
            "block_scalar" => Node {
                range: ts.byte_range(),
                value: Value::Scalar(Scalar {
                    text: block_scalar(self.src(ts)),
                    style: Style::Block,
                }),
                aliased: false,
            },
            _ => Node::null(ts.byte_range()),
        }
    }

    fn mapping(&mut self, ts: TsNode, depth: usize) -> Node {
        let mut cursor = ts.walk();
        let children: Vec<TsNode> = ts
            .named_children(&mut cursor)
            .filter(|c| matches!(c.kind(), "block_mapping_pair" | "flow_pair"))
            .collect();
        let pairs = self.pairs_of(&children, depth);
        Node {
            range: ts.byte_range(),
            value: Value::Map(pairs),
            aliased: false,
        }
    }

    fn pairs_of(&mut self, children: &[TsNode], depth: usize) -> Vec<Pair> {
        let mut written: Vec<Pair> = Vec::new();
        let mut merged: Vec<Pair> = Vec::new();
        for pair in children {
            let key_node = pair.child_by_field_name("key");
            let value_node = pair.child_by_field_name("value");
            let (key, key_range) = match key_node {
                Some(k) => {
                    let node = self.node(k, depth + 1);
                    let key = node.as_str().unwrap_or("").to_string();
                    (key, k.byte_range())
                }
                None => (String::new(), pair.start_byte()..pair.start_byte()),
            };
            let value = match value_node {
                Some(v) => self.node(v, depth + 1),
                None => Node::null(pair.end_byte()..pair.end_byte()),
            };
            if key == "<<" && key_node.is_some_and(|k| self.src(k) == "<<") {
                // Earlier sources of a merge list win over later ones.
                let sources: Vec<&Node> = match &value.value {
                    Value::Seq(items) => items.iter().collect(),
                    _ => vec![&value],
                };
                for source in sources {
                    for p in source.pairs() {
                        if !merged.iter().any(|m| m.key == p.key) {
                            let mut p = p.clone();
                            p.merged = true;
                            merged.push(p);
                        }
                    }
                }
                continue;
            }
            written.push(Pair {
                key,
                key_range,
                value,
                merged: false,
            });
        }
        merged.retain(|m| !written.iter().any(|w| w.key == m.key));
        merged.extend(written);
        merged
    }
}

fn first_value_child(item: TsNode) -> Option<TsNode> {
    let mut cursor = item.walk();
    let found = item
        .named_children(&mut cursor)
        .find(|c| matches!(c.kind(), "block_node" | "flow_node"));
    found
}

fn count_nodes(node: &Node) -> usize {
    // Iterative: an alias of a deep anchor must not recurse without bound.
    let mut count = 0;
    let mut stack = vec![node];
    while let Some(n) = stack.pop() {
        count += 1;
        match &n.value {
            Value::Map(pairs) => stack.extend(pairs.iter().map(|p| &p.value)),
            Value::Seq(items) => stack.extend(items.iter()),
            _ => {}
        }
    }
    count
}

fn mark_aliased(node: &mut Node) {
    let mut stack = vec![node];
    while let Some(n) = stack.pop() {
        n.aliased = true;
        match &mut n.value {
            Value::Map(pairs) => stack.extend(pairs.iter_mut().map(|p| &mut p.value)),
            Value::Seq(items) => stack.extend(items.iter_mut()),
            _ => {}
        }
    }
}

/// Line folding of flow scalars: a single line break becomes a space, an empty line a newline,
/// and the white space around each break goes.
fn fold_lines(raw: &str) -> String {
    if !raw.contains(['\n', '\r']) {
        return raw.to_string();
    }
    fold(&raw.lines().collect::<Vec<_>>())
}

/// Joins the lines of a multi-line flow scalar as YAML folds them.
fn fold(lines: &[&str]) -> String {
    let count = lines.len();
    let mut out = String::new();
    let mut pending_breaks = 0;
    for (i, line) in lines.iter().enumerate() {
        let mut piece = *line;
        if i > 0 {
            piece = piece.trim_start_matches([' ', '\t']);
        }
        if i + 1 < count {
            piece = piece.trim_end_matches([' ', '\t']);
        }
        if piece.is_empty() && i > 0 && i + 1 < count {
            pending_breaks += 1;
            continue;
        }
        if i > 0 {
            if pending_breaks > 0 {
                out.extend(std::iter::repeat_n('\n', pending_breaks));
            } else {
                out.push(' ');
            }
        }
        pending_breaks = 0;
        out.push_str(piece);
    }
    out
}

fn unescape_double(raw: &str) -> String {
    let mut chars = raw.chars().peekable();
    let mut line = String::new();
    let mut lines: Vec<String> = Vec::new();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('n') => line.push('\n'),
                Some('t') | Some('\t') => line.push('\t'),
                Some('r') => line.push('\r'),
                Some('0') => line.push('\0'),
                Some('a') => line.push('\x07'),
                Some('b') => line.push('\x08'),
                Some('e') => line.push('\x1b'),
                Some('f') => line.push('\x0c'),
                Some('v') => line.push('\x0b'),
                Some(' ') => line.push(' '),
                Some('"') => line.push('"'),
                Some('/') => line.push('/'),
                Some('\\') => line.push('\\'),
                Some('N') => line.push('\u{85}'),
                Some('_') => line.push('\u{a0}'),
                Some('L') => line.push('\u{2028}'),
                Some('P') => line.push('\u{2029}'),
                Some(kind @ ('x' | 'u' | 'U')) => {
                    let width = match kind {
                        'x' => 2,
                        'u' => 4,
                        _ => 8,
                    };
                    let hex: String = (0..width).filter_map(|_| chars.next()).collect();
                    match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                        Some(decoded) => line.push(decoded),
                        None => line.push('\u{fffd}'),
                    }
                }
                // An escaped line break joins the lines without a space.
                Some('\n') | Some('\r') => {
                    if chars.peek() == Some(&'\n') {
                        chars.next();
                    }
                    while chars.peek().is_some_and(|c| *c == ' ' || *c == '\t') {
                        chars.next();
                    }
                }
                Some(other) => {
                    line.push('\\');
                    line.push(other);
                }
                None => line.push('\\'),
            },
            '\n' => lines.push(std::mem::take(&mut line)),
            '\r' => {}
            _ => line.push(c),
        }
    }
    lines.push(line);
    if lines.len() == 1 {
        return lines.pop().unwrap_or_default();
    }
    fold(&lines.iter().map(String::as_str).collect::<Vec<_>>())
}

/// The content of a `|` (literal) or `>` (folded) block scalar, with its chomping indicator
/// (`-` strips the final line break, `+` keeps trailing ones) and indentation indicator.
fn block_scalar(raw: &str) -> String {
    let mut lines = raw.split('\n');
    let header = lines.next().unwrap_or("");
    let header = header.split(" #").next().unwrap_or(header).trim();
    let folded = header.starts_with('>');
    let strip = header.contains('-');
    let keep = header.contains('+');
    let explicit_indent = header
        .chars()
        .find(|c| c.is_ascii_digit())
        .and_then(|c| c.to_digit(10))
        .map(|d| d as usize);
    let body: Vec<&str> = lines.map(|l| l.strip_suffix('\r').unwrap_or(l)).collect();
    let indent = explicit_indent.unwrap_or_else(|| {
        body.iter()
            .filter(|l| !l.trim().is_empty())
            .map(|l| l.len() - l.trim_start_matches(' ').len())
            .min()
            .unwrap_or(0)
    });
    let content: Vec<&str> = body
        .iter()
        .map(|l| if l.len() >= indent { &l[indent..] } else { "" })
        .collect();
    let mut out = String::new();
    if folded {
        // Between two lines of text a line break folds to a space; k empty lines between them
        // keep k line breaks; more-indented lines keep theirs.
        let mut pending_breaks = 0;
        let mut started = false;
        let mut previous_indented = false;
        for line in &content {
            if line.is_empty() {
                pending_breaks += 1;
                continue;
            }
            let indented = line.starts_with([' ', '\t']);
            if started {
                if pending_breaks > 0 {
                    out.extend(std::iter::repeat_n('\n', pending_breaks));
                } else if indented || previous_indented {
                    out.push('\n');
                } else {
                    out.push(' ');
                }
            } else {
                out.extend(std::iter::repeat_n('\n', pending_breaks));
            }
            pending_breaks = 0;
            started = true;
            previous_indented = indented;
            out.push_str(line);
        }
        out.extend(std::iter::repeat_n(
            '\n',
            pending_breaks + usize::from(started),
        ));
    } else {
        out = content.join("\n");
    }
    let trimmed = out.trim_end_matches('\n').to_string();
    if strip {
        trimmed
    } else if keep {
        out
    } else if trimmed.is_empty() {
        trimmed
    } else {
        trimmed + "\n"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(text: &str) -> Node {
        let yaml = parse(text);
        assert!(yaml.errors.is_empty(), "{:?}", yaml.errors);
        yaml.documents.into_iter().next().unwrap()
    }

    #[test]
    fn maps_sequences_and_scalar_styles() {
        let text = "a: plain text\nb: 'it''s'\nc: \"tab\\there\"\nd:\ne: [1, 'two', {f: g}]\nh:\n  - x\n  - y: z\n";
        let root = doc(text);
        assert_eq!(root.get("a").unwrap().as_str(), Some("plain text"));
        assert_eq!(root.get("b").unwrap().as_str(), Some("it's"));
        assert_eq!(root.get("c").unwrap().as_str(), Some("tab\there"));
        assert!(root.get("d").unwrap().is_null());
        let e = root.get("e").unwrap().items();
        assert_eq!(e.len(), 3);
        assert_eq!(e[2].get("f").unwrap().as_str(), Some("g"));
        let h = root.get("h").unwrap().items();
        assert_eq!(h[1].get("y").unwrap().as_str(), Some("z"));
        let b = root.pair("b").unwrap();
        assert_eq!(&text[b.key_range.clone()], "b");
        assert_eq!(&text[b.value.range.clone()], "'it''s'");
    }

    #[test]
    fn anchors_aliases_and_merge_keys() {
        let root = doc(
            "x-env: &env\n  A: '1'\n  B: '2'\nsvc:\n  environment:\n    <<: *env\n    B: three\n  copy: *env\n",
        );
        let env = root.get("svc").unwrap().get("environment").unwrap();
        assert_eq!(env.get("A").unwrap().as_str(), Some("1"));
        assert!(env.pair("A").unwrap().merged);
        assert_eq!(env.get("B").unwrap().as_str(), Some("three"));
        assert!(!env.pair("B").unwrap().merged);
        let copy = root.get("svc").unwrap().get("copy").unwrap();
        assert!(copy.aliased);
        assert_eq!(copy.get("B").unwrap().as_str(), Some("2"));
    }

    #[test]
    fn block_scalars() {
        let root = doc("a: |\n  one\n  two\nb: >-\n  folded\n  line\n\n  para\nc: |+\n  keep\n\n");
        assert_eq!(root.get("a").unwrap().as_str(), Some("one\ntwo\n"));
        assert_eq!(root.get("b").unwrap().as_str(), Some("folded line\npara"));
        assert_eq!(root.get("c").unwrap().as_str(), Some("keep\n\n"));
    }

    #[test]
    fn alias_bombs_and_deep_nesting_are_cut_off() {
        let mut text = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        let mut previous = 'a';
        for name in 'b'..='k' {
            let refs = vec![format!("*{previous}"); 10].join(", ");
            text.push_str(&format!("{name}: &{name} [{refs}]\n"));
            previous = name;
        }
        let yaml = parse(&text);
        assert!(yaml.truncated);
        let deep = format!("a: {}{}\n", "[".repeat(5000), "]".repeat(5000));
        let yaml = parse(&deep);
        assert!(yaml.truncated);
    }

    #[test]
    fn broken_yaml_keeps_what_parses() {
        let yaml = parse("services:\n  web:\n    image: app\n  db: [unclosed\n");
        assert!(!yaml.errors.is_empty());
        assert_eq!(yaml.first_bad_line, Some(4));
        let web = yaml.documents[0]
            .get("services")
            .unwrap()
            .get("web")
            .unwrap();
        assert_eq!(web.get("image").unwrap().as_str(), Some("app"));
    }
}
