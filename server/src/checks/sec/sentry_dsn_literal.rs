//! SEC005 sentry-dsn-literal: a Sentry DSN written in the code: `sentry_sdk.init(dsn="https://
//! <key>@<host>/<project>")` (through any import alias), `SENTRY_DSN = "..."`, a `"dsn"` entry
//! (`RAVEN_CONFIG`, logging handlers), or any literal holding a DSN with a 32-hex key.

use std::sync::LazyLock;

use regex::Regex;
use tree_sitter::Node;

use super::literal_sites::{self, TargetKind};
use crate::analysis::{secrets, Diagnostic, File, PythonFile, Rule, Severity};
use crate::checks::cfg::shared;
use crate::syntax::python;
use crate::syntax::FileKind;

pub struct SentryDsnLiteral;

/// A DSN anywhere: the 32-hex public key makes it unmistakable.
static HEX_DSN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"https?://[0-9a-f]{32}(?::[0-9a-f]{32})?@").expect("valid regex"));

/// Literals stored under a DSN name: `SENTRY_DSN = "`, `"dsn": "`, `settings.SENTRY_DSN = "`.
static DSN_TARGET: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?:\b\w*(?:SENTRY_DSN|sentry_dsn)\s*(?::[^=\n]{1,40})?|["'](?:dsn|DSN|SENTRY_DSN)["']\s*\]?\s*)[:=]\s*[rRuU]?["']"#,
    )
    .expect("valid regex")
});

/// The shape of a DSN when the context already says it is one (the key need not be hex).
static DSN_SHAPE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^https?://([^\s:@/]+)(?::[^\s@/]+)?@[^\s/@]+/(?:[^\s/]+/)*\d+/?$")
        .expect("valid regex")
});

impl Rule for SentryDsnLiteral {
    fn id(&self) -> &'static str {
        "SEC005"
    }

    fn applies_to(&self, kind: FileKind) -> bool {
        kind == FileKind::Python
    }

    fn may_apply(&self, text: &str) -> bool {
        text.contains("sentry")
            || text.contains("SENTRY")
            || HEX_DSN.is_match(text)
            || text.contains("dsn")
    }

    fn check(&self, file: &File, out: &mut Vec<Diagnostic>) {
        let Some(py) = file.python else { return };
        self.check_python(file, py, out);
    }
}

impl SentryDsnLiteral {
    fn check_python<'t>(&self, file: &File, py: &PythonFile<'t>, out: &mut Vec<Diagnostic>) {
        if file.role.example {
            // Templates and docs show where a DSN goes; theirs are placeholders.
            return;
        }
        let mut strings: Vec<(Node, bool)> = Vec::new();
        let mut add = |node: Option<Node<'t>>, init_argument: bool| {
            if let Some(node) = node {
                if !strings.iter().any(|(n, _)| n.id() == node.id()) {
                    strings.push((node, init_argument));
                }
            }
        };
        for m in HEX_DSN.find_iter(file.text) {
            add(literal_sites::string_at(py, m.start()), false);
        }
        for m in DSN_TARGET.find_iter(file.text) {
            add(literal_sites::string_at(py, m.end() - 1), false);
        }
        for (call, _) in shared::calls_to(py, file.text, &["sentry_sdk"], |q| {
            q == "sentry_sdk.init" || q == "sentry_sdk.Client"
        }) {
            let Some(args) = python::arguments(call, file.text) else {
                continue;
            };
            let dsn = args
                .keyword("dsn")
                .map(|(value, _)| value)
                .or_else(|| args.positional.first().copied());
            add(dsn.filter(|d| d.kind() == "string"), true);
        }
        strings.sort_by_key(|(n, _)| n.start_byte());
        for (string, init_argument) in strings {
            self.check_literal(file, py, string, init_argument, out);
        }
    }

    fn check_literal<'t>(
        &self,
        file: &File,
        py: &PythonFile<'t>,
        string: Node<'t>,
        init_argument: bool,
        out: &mut Vec<Diagnostic>,
    ) {
        let Some(value) = python::string_value(string, file.text) else {
            return;
        };
        let value = value.trim();
        let value_node = literal_sites::value_expression(py, string);
        let target = literal_sites::target_of(py, file.text, value_node);
        let named_dsn = init_argument
            || target.as_ref().is_some_and(|t| {
                t.name.eq_ignore_ascii_case("dsn")
                    || t.name.to_ascii_uppercase().ends_with("SENTRY_DSN")
            });
        let is_dsn = if named_dsn {
            DSN_SHAPE
                .captures(value)
                .and_then(|c| c.get(1))
                .is_some_and(|key| !secrets::is_placeholder(key.as_str()))
        } else {
            secrets::is_sentry_dsn(value)
        };
        let placeholder = [
            "example",
            "your",
            "<",
            "{",
            "$",
            "xxx",
            "public_key",
            "publickey",
        ]
        .iter()
        .any(|p| value.to_ascii_lowercase().contains(p));
        if !is_dsn || placeholder || literal_sites::is_documentation(py, value_node) {
            return;
        }
        // `os.getenv("SENTRY_DSN", "https://...")` is SEC001's finding.
        if literal_sites::is_env_default(py, string.start_byte()) {
            return;
        }
        let name = match &target {
            Some(t) if t.kind != TargetKind::Keyword && t.kind != TargetKind::DictKey => {
                format!("`{}`", t.name)
            }
            _ => "The Sentry DSN".to_string(),
        };
        let message = format!(
            "{name} is written in the code: anyone with the source can send events to the project (spam, quota exhaustion, fake errors) and every environment reports to the same project; read it from the environment"
        );
        let env_var = match &target {
            Some(t)
                if matches!(
                    t.kind,
                    TargetKind::Name | TargetKind::Attribute | TargetKind::Subscript
                ) =>
            {
                Some((t.value, t.env_var()))
            }
            Some(t) if named_dsn => Some((t.value, "SENTRY_DSN".to_string())),
            None if init_argument => Some((value_node, "SENTRY_DSN".to_string())),
            _ => None,
        };
        let fix =
            env_var.map(|(node, var)| literal_sites::environ_fix(py, file.text, node, &var, true));
        let mut diagnostic = Diagnostic::new(self.id(), string.byte_range(), message).with_fix(fix);
        if file.role.development {
            diagnostic = diagnostic.with_severity(Severity::Info);
        }
        out.push(diagnostic);
    }
}
