//! Where a string literal stands, for the rules of this folder that start from text matches
//! (a token prefix, a `user:password@` URL, a hash, a secret-like name): the literal node, what
//! it is stored under (a name, an attribute, a subscript, a keyword argument, a dict key), and
//! the `os.environ["NAME"]` fix that moves it out of the code.

use tree_sitter::Node;

use crate::analysis::{secrets, Applicability, Edit, Fix, PythonFile};
use crate::checks::cfg::shared;
use crate::syntax::python;

/// How a literal is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetKind {
    /// `NAME = "..."`, `NAME: str = "..."`
    Name,
    /// `app.secret_key = "..."`
    Attribute,
    /// `app.config["SECRET_KEY"] = "..."`
    Subscript,
    /// `connect(password="...")`
    Keyword,
    /// `{"PASSWORD": "..."}`
    DictKey,
}

/// Where the statement holding the literal lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Module level, also inside module-level `if`/`try`/`with` blocks.
    Module,
    /// A class body (a Flask `class Config:` or a pydantic model).
    Class,
    /// Inside a function: locals and instance attributes.
    Function,
}

/// What a literal value is stored under.
pub struct Target<'t> {
    pub kind: TargetKind,
    /// The name as written (`SECRET_KEY`, `secret_key`, `PASSWORD`).
    pub name: String,
    /// The whole value expression (the literal, a concatenation, or parentheses around them).
    pub value: Node<'t>,
    pub scope: Scope,
    /// For attributes, the object when it is an imported module (`stripe` in `stripe.api_key`);
    /// for dict keys, the name the dict is assigned to (`DATABASES`).
    pub owner: Option<String>,
}

impl Target<'_> {
    /// The environment variable a fix reads instead: the target in upper snake case, qualified
    /// by its owner where the name alone says too little (`stripe.api_key` -> STRIPE_API_KEY,
    /// `DATABASES = {"default": {"PASSWORD": ...}}` -> DATABASE_PASSWORD).
    pub fn env_var(&self) -> String {
        let own = secrets::name_words(&self.name);
        let mut words: Vec<String> = match &self.owner {
            Some(owner) if self.kind == TargetKind::Attribute || own.len() == 1 => {
                let mut owner_words = secrets::name_words(owner);
                if let Some(last) = owner_words.last_mut() {
                    if self.kind == TargetKind::DictKey && last.len() > 3 && last.ends_with('S') {
                        last.pop();
                    }
                }
                owner_words.into_iter().chain(own).collect()
            }
            _ => own,
        };
        words.dedup();
        words.join("_")
    }
}

/// The string literal (`string` node) that contains byte `at`, if `at` is inside one and not in
/// a comment. Interpolations of f-strings are not part of the literal.
pub fn string_at<'t>(py: &PythonFile<'t>, at: usize) -> Option<Node<'t>> {
    let mut node = py.ancestry.node_at(at, at)?;
    loop {
        match node.kind() {
            "string" => return Some(node),
            "string_start" | "string_content" | "string_end" | "escape_sequence" => {}
            _ => return None,
        }
        node = py.ancestry.parent(node)?;
    }
}

/// The expression a string literal is the value of: the literal itself, the implicit
/// concatenation it is part of, or parentheses around either.
pub fn value_expression<'t>(py: &PythonFile<'t>, string: Node<'t>) -> Node<'t> {
    let mut value = string;
    while let Some(parent) = py.ancestry.parent(value) {
        if matches!(
            parent.kind(),
            "concatenated_string" | "parenthesized_expression"
        ) {
            value = parent;
        } else {
            break;
        }
    }
    value
}

/// A docstring or another string standing alone as a statement: documentation, not a value.
pub fn is_documentation<'t>(py: &PythonFile<'t>, value: Node<'t>) -> bool {
    py.ancestry
        .parent(value)
        .is_some_and(|p| p.kind() == "expression_statement" && p.named_child_count() == 1)
}

/// Is the literal at `at` the default of an environment read (reported by SEC001)?
pub fn is_env_default(py: &PythonFile, at: usize) -> bool {
    py.env_reads.iter().any(|read| {
        read.default
            .as_ref()
            .is_some_and(|d| d.range.start <= at && at < d.range.end)
    })
}

/// What `value` (a whole value expression) is stored under, if anything.
pub fn target_of<'t>(py: &PythonFile<'t>, source: &str, value: Node<'t>) -> Option<Target<'t>> {
    let f = python::fields();
    let parent = py.ancestry.parent(value)?;
    let is_field = |field: u16| {
        parent
            .child_by_field_id(field)
            .is_some_and(|n| n.id() == value.id())
    };
    let (kind, name, owner) = match parent.kind() {
        "assignment" if is_field(f.right) => {
            let left = parent.child_by_field_id(f.left)?;
            match left.kind() {
                "identifier" => (TargetKind::Name, python::text(left, source).to_string(), None),
                "attribute" => {
                    let attribute = left.child_by_field_id(f.attribute)?;
                    let object = left.child_by_field_id(f.object)?;
                    let owner = (object.kind() == "identifier")
                        .then(|| python::text(object, source))
                        .filter(|o| py.names.get(o).is_some())
                        .map(str::to_string);
                    (
                        TargetKind::Attribute,
                        python::text(attribute, source).to_string(),
                        owner,
                    )
                }
                "subscript" => {
                    let key = left.child_by_field_id(f.subscript)?;
                    (
                        TargetKind::Subscript,
                        python::string_value(key, source)?,
                        None,
                    )
                }
                _ => return None,
            }
        }
        "keyword_argument" if is_field(f.value) => {
            let call = py
                .ancestry
                .parent(parent)
                .filter(|l| l.kind() == "argument_list")?;
            py.ancestry.parent(call).filter(|c| c.kind() == "call")?;
            let key = parent.child_by_field_id(f.name)?;
            (TargetKind::Keyword, python::text(key, source).to_string(), None)
        }
        "pair" if is_field(f.value) => {
            let key = parent.child_by_field_id(f.key)?;
            let owner = dict_owner(py, source, parent);
            (TargetKind::DictKey, python::string_value(key, source)?, owner)
        }
        _ => return None,
    };
    Some(Target {
        kind,
        name,
        value,
        scope: scope_of(py, parent),
        owner,
    })
}

/// The name a (possibly nested) dict literal is assigned to: `DATABASES` for the `PASSWORD`
/// pair of `DATABASES = {"default": {"PASSWORD": ...}}`.
fn dict_owner<'t>(py: &PythonFile<'t>, source: &str, pair: Node<'t>) -> Option<String> {
    let mut node = pair;
    loop {
        let parent = py.ancestry.parent(node)?;
        match parent.kind() {
            "dictionary" | "pair" => node = parent,
            "assignment" => {
                let left = parent.child_by_field_id(python::fields().left)?;
                return (left.kind() == "identifier")
                    .then(|| python::text(left, source).to_string());
            }
            _ => return None,
        }
    }
}

fn scope_of<'t>(py: &PythonFile<'t>, node: Node<'t>) -> Scope {
    let mut node = node;
    while let Some(parent) = py.ancestry.parent(node) {
        match parent.kind() {
            "module" => return Scope::Module,
            "class_definition" => return Scope::Class,
            "function_definition" | "lambda" => return Scope::Function,
            _ => node = parent,
        }
    }
    Scope::Module
}

/// Replaces `value` with `<os.environ>[<var>]` (or `.get(<var>)` when `optional`), adding
/// `import os` when the module lacks it.
pub fn environ_fix(
    py: &PythonFile,
    source: &str,
    value: Node,
    var: &str,
    optional: bool,
) -> Fix {
    let (environ, import) = shared::os_environ(py, source);
    let read = if optional {
        format!("{environ}.get(\"{var}\")")
    } else {
        format!("{environ}[\"{var}\"]")
    };
    let title = format!("Read `{var}` from the environment");
    let mut edits: Vec<Edit> = import.into_iter().collect();
    edits.push(Edit::replace(value.byte_range(), read));
    Fix {
        title,
        applicability: Applicability::Unsafe,
        edits,
    }
}

/// Is the literal's whole value a credential that a more specific rule reports (a provider
/// token, a password hash, a URL with a password, a Sentry DSN)? The name-based rule leaves
/// those to them so one literal gives one finding.
pub fn claimed_by_format_rule(value: &str) -> bool {
    secrets::provider_token(value).is_some()
        || secrets::password_hash(value).is_some()
        || secrets::url_password(value).is_some()
        || secrets::is_sentry_dsn(value)
}
