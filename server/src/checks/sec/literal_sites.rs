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
    /// A member of an `Enum` / `TextChoices` class: a name for a value, never a secret.
    pub enum_member: bool,
}

impl Target<'_> {
    /// The environment variable a fix reads instead: the target in upper snake case, qualified
    /// by its owner where the name alone says too little (`stripe.api_key` -> STRIPE_API_KEY,
    /// `DATABASES = {"default": {"PASSWORD": ...}}` -> DATABASE_PASSWORD).
    pub fn env_var(&self) -> String {
        let own = secrets::name_words(&self.name);
        let mut words: Vec<String> = match &self.owner {
            // `stripe.api_key` -> STRIPE_API_KEY, but `settings.SENTRY_DSN` -> SENTRY_DSN.
            Some(owner)
                if (self.kind == TargetKind::Attribute
                    && self.name.chars().any(|c| c.is_ascii_lowercase()))
                    || (self.kind == TargetKind::DictKey && own.len() == 1) =>
            {
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
                "identifier" => (
                    TargetKind::Name,
                    python::text(left, source).to_string(),
                    None,
                ),
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
            (
                TargetKind::Keyword,
                python::text(key, source).to_string(),
                None,
            )
        }
        "pair" if is_field(f.value) => {
            let key = parent.child_by_field_id(f.key)?;
            let owner = dict_owner(py, source, parent);
            (
                TargetKind::DictKey,
                python::string_value(key, source)?,
                owner,
            )
        }
        _ => return None,
    };
    let (scope, class) = scope_of(py, parent);
    let enum_member = class
        .and_then(|c| c.child_by_field_id(f.superclasses))
        .is_some_and(|bases| {
            let bases = python::text(bases, source);
            bases.contains("Enum") || bases.contains("Choices") || bases.contains("Flag")
        });
    Some(Target {
        kind,
        name,
        value,
        scope,
        owner,
        enum_member,
    })
}

/// Is `node` part of sample data: under a keyword argument, dict key or assignment whose name
/// says example, sample, demo, mock or fake (`Field(examples=[...])`, `json_schema_extra`)?
pub fn in_example<'t>(py: &PythonFile<'t>, source: &str, node: Node<'t>) -> bool {
    let f = python::fields();
    let says_example = |name: &str| {
        let lower = name.to_ascii_lowercase();
        [
            "example",
            "sample",
            "demo",
            "mock",
            "fake",
            "schema_extra",
            "dummy",
        ]
        .iter()
        .any(|w| lower.contains(w))
    };
    let mut node = node;
    while let Some(parent) = py.ancestry.parent(node) {
        let name = match parent.kind() {
            "keyword_argument" => parent.child_by_field_id(f.name),
            "pair" => parent.child_by_field_id(f.key),
            "assignment" => parent.child_by_field_id(f.left),
            "function_definition" | "class_definition" => parent.child_by_field_id(f.name),
            "module" => return false,
            _ => None,
        };
        if name.is_some_and(|n| says_example(python::text(n, source))) {
            return true;
        }
        node = parent;
    }
    false
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

/// The scope of `node`, with the class when it is a class body.
fn scope_of<'t>(py: &PythonFile<'t>, node: Node<'t>) -> (Scope, Option<Node<'t>>) {
    let mut node = node;
    while let Some(parent) = py.ancestry.parent(node) {
        match parent.kind() {
            "module" => return (Scope::Module, None),
            "class_definition" => return (Scope::Class, Some(parent)),
            "function_definition" | "lambda" => return (Scope::Function, None),
            _ => node = parent,
        }
    }
    (Scope::Module, None)
}

/// Replaces `value` with `<os.environ>[<var>]` (or `.get(<var>)` when `optional`), adding
/// `import os` when the module lacks it.
pub fn environ_fix(py: &PythonFile, source: &str, value: Node, var: &str, optional: bool) -> Fix {
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

/// Calls that give an account a password, with the position of the password argument:
/// Django's `create_user(username, email, password)`, `create_superuser(...)`, `set_password(raw)`.
pub const ACCOUNT_PASSWORD_CALLS: &[(&str, usize)] = &[
    ("create_superuser", 2),
    ("create_user", 2),
    ("set_password", 0),
];

/// The password argument of an account-creating call (`create_superuser(..., password=...)`):
/// the call's method name and the argument's value.
pub fn account_password_arguments<'t>(
    py: &PythonFile<'t>,
    source: &str,
) -> Vec<(&'static str, Node<'t>)> {
    let mut out = Vec::new();
    for (method, position) in ACCOUNT_PASSWORD_CALLS {
        for identifier in py.ancestry.identifiers(source, method) {
            // `User.objects.create_user(...)` or a bare `create_user(...)`.
            let callee = py
                .ancestry
                .parent(identifier)
                .filter(|p| p.kind() == "attribute")
                .unwrap_or(identifier);
            let Some(call) = py.ancestry.called(callee) else {
                continue;
            };
            let Some(args) = python::arguments(call, source) else {
                continue;
            };
            let value = args
                .keyword("password")
                .map(|(value, _)| value)
                .or_else(|| {
                    (!args.star_args)
                        .then(|| args.positional.get(*position).copied())
                        .flatten()
                });
            if let Some(value) = value {
                out.push((*method, value));
            }
        }
    }
    out
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

#[cfg(test)]
mod tests {
    use crate::analysis::testing::diagnostics_of;
    use crate::analysis::Diagnostic;

    fn findings(path: &str, code: &str, rule: &str) -> Vec<Diagnostic> {
        diagnostics_of(rule, path, code)
    }

    fn fixed_text(code: &str, d: &Diagnostic) -> String {
        let fix = d.fix.as_ref().expect("a fix");
        let edits: Vec<_> = fix.edits.iter().collect();
        crate::analysis::fix::apply_edits(code, &edits).0
    }

    #[test]
    fn fixes_name_the_variable_after_the_target() {
        let code = "import stripe\nstripe.api_key = \"sk_live_4eC39HqLyjWDarjtT1zdp7dc\"\n";
        let found = findings("app/billing.py", code, "SEC004");
        assert_eq!(found.len(), 1);
        assert!(
            fixed_text(code, &found[0]).contains("stripe.api_key = os.environ[\"STRIPE_API_KEY\"]")
        );
        assert!(fixed_text(code, &found[0]).starts_with("import os\n"));

        let code = "import os\nDATABASES = {\"default\": {\"PASSWORD\": \"Sh0p!2024\"}}\n";
        let found = findings("shop/settings.py", code, "SEC009");
        assert_eq!(found.len(), 1);
        assert!(fixed_text(code, &found[0]).contains("os.environ[\"DATABASE_PASSWORD\"]"));

        let code = "from django.conf import settings\nsettings.SENTRY_DSN = \"https://4f2a9c0d1e8b4a7f9c3d2e1f0a9b8c7d@o1.ingest.sentry.io/2\"\n";
        let found = findings("app/boot.py", code, "SEC005");
        assert_eq!(found.len(), 1);
        assert!(fixed_text(code, &found[0]).contains("os.environ.get(\"SENTRY_DSN\")"));
    }

    #[test]
    fn literals_without_a_target_are_reported_without_a_fix() {
        // A project's own env helper is not an environment read the engine knows: the DSN in
        // its default is still committed.
        let code = "from core.utils import get_env\nSENTRY_DSN = get_env('SENTRY_DSN', 'https://68b045ab408a4d32a910d339be8591a4@o227124.ingest.sentry.io/5820521')\n";
        let found = findings("core/settings/base.py", code, "SEC005");
        assert_eq!(found.len(), 1);
        assert!(found[0].fix.is_none());

        let code = "import stripe\nclient = stripe.StripeClient(\"sk_live_4eC39HqLyjWDarjtT1zdp7dc\")\nH = {\"Authorization\": \"Bearer sk_live_4eC39HqLyjWDarjtT1zdp7dc\"}\n";
        let found = findings("app/pay.py", code, "SEC004");
        assert_eq!(found.len(), 2);
        assert!(found.iter().all(|d| d.fix.is_none()));

        let code = "from sqlalchemy import create_engine\nengine = create_engine(\"postgresql+psycopg://app:Sup3rS3cret@db/app\")\n";
        let found = findings("app/db.py", code, "SEC007");
        assert_eq!(found.len(), 1);
        assert!(found[0].fix.is_none());
    }

    #[test]
    fn one_literal_gives_one_finding() {
        let code = "PASSWORD_HASH = \"$2b$12$KIXQJ1aVv8n0yE5m3bP8Oe6H0eJt7c1mW9sQ2rT4uY6iO8pA0sD2e\"\nSTRIPE_SECRET_KEY = \"sk_live_4eC39HqLyjWDarjtT1zdp7dc\"\nDB_PASSWORD_URL = \"postgres://app:Sup3rS3cret@db/app\"\n";
        let all: Vec<&str> = ["SEC004", "SEC005", "SEC006", "SEC007", "SEC009"]
            .iter()
            .flat_map(|r| findings("app/settings.py", code, r))
            .map(|d| d.rule)
            .collect();
        assert_eq!(all, ["SEC004", "SEC006", "SEC007"]);
    }
}
