//! CFG016 deploy-check-setting-weakened: the part of Django's `check --deploy` security set that
//! can be decided from one production settings module's literals: `SECURE_SSL_REDIRECT = False`
//! (security.W008), `SECURE_HSTS_SECONDS = 0` (W004), `SECURE_CONTENT_TYPE_NOSNIFF = False`
//! (W006), `X_FRAME_OPTIONS` other than "DENY" (W019), `SECURE_REFERRER_POLICY = None` or an
//! invalid policy (W022/E023), an invalid `SECURE_CROSS_ORIGIN_OPENER_POLICY` (E024), HSTS without
//! subdomains or preload (W005/W021, information), and a literal `MIDDLEWARE` list without
//! SecurityMiddleware, XFrameOptionsMiddleware or CsrfViewMiddleware (W001/W002/W003). The checks
//! follow django/core/checks/security/base.py and csrf.py of Django 5.2.

use tree_sitter::Node;

use super::shared::{self, Assignment};
use crate::analysis::{Applicability, Diagnostic, Edit, File, Fix, Rule, Severity};
use crate::syntax::python::{self, word_occurrences, Literal};
use crate::syntax::FileKind;

pub struct DeployCheckSettingWeakened;

const SETTINGS: &[&str] = &[
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SECURE_CONTENT_TYPE_NOSNIFF",
    "SECURE_REFERRER_POLICY",
    "SECURE_CROSS_ORIGIN_OPENER_POLICY",
    "X_FRAME_OPTIONS",
    "MIDDLEWARE",
];

/// Django's REFERRER_POLICY_VALUES.
const REFERRER_POLICIES: &[&str] = &[
    "no-referrer",
    "no-referrer-when-downgrade",
    "origin",
    "origin-when-cross-origin",
    "same-origin",
    "strict-origin",
    "strict-origin-when-cross-origin",
    "unsafe-url",
];

/// Django's CROSS_ORIGIN_OPENER_POLICY_VALUES.
const OPENER_POLICIES: &[&str] = &["same-origin", "same-origin-allow-popups", "unsafe-none"];

const SECURITY_MIDDLEWARE: &str = "django.middleware.security.SecurityMiddleware";
const XFRAME_MIDDLEWARE: &str = "django.middleware.clickjacking.XFrameOptionsMiddleware";
const CSRF_MIDDLEWARE: &str = "django.middleware.csrf.CsrfViewMiddleware";

impl Rule for DeployCheckSettingWeakened {
    fn id(&self) -> &'static str {
        "CFG016"
    }

    fn applies_to(&self, kind: FileKind) -> bool {
        kind == FileKind::Python
    }

    fn may_apply(&self, text: &str) -> bool {
        ["SECURE_", "X_FRAME_OPTIONS", "MIDDLEWARE"]
            .iter()
            .any(|w| shared::line_starts_with(text, w))
    }

    fn check(&self, file: &File, out: &mut Vec<Diagnostic>) {
        let Some(py) = file.python else { return };
        if !file.role.production_settings() {
            return;
        }
        let source = file.text;
        let assignments = shared::module_assignments(py, source, SETTINGS);
        // The value in effect at the end of the module: the last module-level assignment, unless
        // something else (an `if`, `MIDDLEWARE +=`) assigns the name after it.
        let in_effect = |name: &str| -> Option<&Assignment> {
            let last = assignments.iter().rev().find(|a| a.name == name)?;
            (last.operator == "="
                && !assigned_after(source, name, last.statement.end_byte())
                && !file.overridden_in_production(name, last.statement.start_byte()))
            .then_some(last)
        };
        let middleware = in_effect("MIDDLEWARE").and_then(|a| Middleware::read(a, source));
        let security_installed = middleware
            .as_ref()
            .is_none_or(|m| m.has(source, SECURITY_MIDDLEWARE));
        let xframe_installed = middleware
            .as_ref()
            .is_none_or(|m| m.has(source, XFRAME_MIDDLEWARE));
        let id = self.id();
        // A base module (`settings/base.py`, `common.py`) is extended by the production one, which
        // usually turns these values back on: only information there. MIDDLEWARE, by contrast, is
        // normally defined once in the base module, so its findings stay warnings.
        let base_module = file.role.base_settings;

        if let Some(m) = &middleware {
            m.report_missing(id, source, out);
        }
        if xframe_installed {
            if let Some(a) = in_effect("X_FRAME_OPTIONS") {
                frame_options(id, a, source, base_module, out);
            }
        }
        // Without SecurityMiddleware the SECURE_* settings do nothing (W001 says so) and Django
        // skips their checks.
        if !security_installed {
            return;
        }
        let hsts_off = in_effect("SECURE_HSTS_SECONDS")
            .is_some_and(|a| python::literal(a.value, source).is_some_and(|l| !l.is_truthy()));
        for name in SETTINGS {
            let Some(a) = in_effect(name) else { continue };
            let Some(value) = python::literal(a.value, source) else {
                continue;
            };
            let finding = match *name {
                "SECURE_SSL_REDIRECT" if !value.is_truthy() => Some((
                    "security.W008",
                    "plain-http requests are answered instead of redirected to https (unless a proxy in front redirects them)",
                    Severity::Warning,
                    "True",
                )),
                "SECURE_HSTS_SECONDS" if !value.is_truthy() => Some((
                    "security.W004",
                    "no Strict-Transport-Security header, so browsers keep trying plain http first, where the connection can be intercepted",
                    Severity::Warning,
                    // Django's documentation: test with a small value first; a long max-age that
                    // turns out wrong locks visitors out for that long.
                    "3600",
                )),
                "SECURE_CONTENT_TYPE_NOSNIFF" if !value.is_truthy() => Some((
                    "security.W006",
                    "no `X-Content-Type-Options: nosniff`, so browsers may run an uploaded file as a script or page",
                    Severity::Warning,
                    "True",
                )),
                "SECURE_HSTS_INCLUDE_SUBDOMAINS" if !value.is_truthy() && !hsts_off => Some((
                    "security.W005",
                    "HSTS does not cover subdomains, which stay reachable over plain http",
                    Severity::Info,
                    "True",
                )),
                "SECURE_HSTS_PRELOAD" if !value.is_truthy() && !hsts_off => Some((
                    "security.W021",
                    "the site cannot join the browsers' HSTS preload list, so a first visit may still go over plain http",
                    Severity::Info,
                    "True",
                )),
                "SECURE_REFERRER_POLICY" if value == Literal::None => Some((
                    "security.W022",
                    "no Referrer-Policy header, so full URLs (with tokens or ids in them) leak to other sites in the Referer header",
                    Severity::Warning,
                    "\"same-origin\"",
                )),
                "SECURE_REFERRER_POLICY" if !valid_policy(&value, REFERRER_POLICIES) => Some((
                    "security.E023",
                    "not a valid Referrer-Policy, so browsers ignore the header",
                    Severity::Warning,
                    "\"same-origin\"",
                )),
                "SECURE_CROSS_ORIGIN_OPENER_POLICY"
                    if value != Literal::None && !valid_policy(&value, OPENER_POLICIES) =>
                {
                    Some((
                        "security.E024",
                        "not a valid Cross-Origin-Opener-Policy, so browsers ignore the header",
                        Severity::Warning,
                        "\"same-origin\"",
                    ))
                }
                _ => None,
            };
            let Some((check, why, severity, secure)) = finding else {
                continue;
            };
            let shown = python::text(a.value, source);
            out.push(
                Diagnostic::new(
                    id,
                    a.statement.byte_range(),
                    format!("`{name} = {shown}`: {why} (Django check --deploy {check})"),
                )
                .with_severity(if base_module {
                    Severity::Info
                } else {
                    severity
                })
                .with_fix(Some(Fix {
                    title: format!("Set {name} to {secure}"),
                    applicability: Applicability::Unsafe,
                    edits: vec![Edit::replace(a.value.byte_range(), secure)],
                })),
            );
        }
    }
}

/// Something (an `if` branch, `MIDDLEWARE += [...]`, another module-level line) assigns `name`
/// after byte `from`, so the value seen is not necessarily the one in effect.
fn assigned_after(source: &str, name: &str, from: usize) -> bool {
    word_occurrences(&source[from..], name).any(|at| {
        let rest = source[from + at + name.len()..].trim_start_matches([' ', '\t']);
        (rest.starts_with('=') && !rest.starts_with("==")) || rest.starts_with("+=")
    })
}

/// A string policy or a list of fallbacks (Django splits strings on commas).
fn valid_policy(value: &Literal, valid: &[&str]) -> bool {
    let values: Vec<&str> = match value {
        Literal::Str(s) => s.split(',').map(str::trim).collect(),
        Literal::Seq(_) => value.strings(),
        _ => return true, // not a string: another check's business
    };
    values.iter().all(|v| valid.contains(v))
}

/// `X_FRAME_OPTIONS` other than "DENY" (Django's W019). "SAMEORIGIN" still stops other sites from
/// framing the pages, so it is information; anything else ("ALLOWALL", "ALLOW-FROM ...") is ignored
/// by browsers and leaves the pages open to clickjacking.
fn frame_options(
    id: &'static str,
    a: &Assignment,
    source: &str,
    base_module: bool,
    out: &mut Vec<Diagnostic>,
) {
    let Some(value) = python::string_value(a.value, source) else {
        return;
    };
    let (why, severity) = match value.to_ascii_uppercase().as_str() {
        "DENY" => return,
        "SAMEORIGIN" => (
            "any page of the site may frame the others; \"DENY\" is safer unless the site frames itself on purpose",
            Severity::Info,
        ),
        _ => (
            "browsers ignore this value, so any site can frame the pages (clickjacking)",
            Severity::Warning,
        ),
    };
    out.push(
        Diagnostic::new(
            id,
            a.statement.byte_range(),
            format!(
                "`X_FRAME_OPTIONS = {}`: {why} (Django check --deploy security.W019)",
                python::text(a.value, source)
            ),
        )
        .with_severity(if base_module {
            Severity::Info
        } else {
            severity
        })
        .with_fix(Some(Fix {
            title: "Set X_FRAME_OPTIONS to \"DENY\"".to_string(),
            applicability: Applicability::Unsafe,
            edits: vec![Edit::replace(a.value.byte_range(), "\"DENY\"")],
        })),
    );
}

/// A literal `MIDDLEWARE = [...]` of Django middleware paths.
struct Middleware<'t> {
    assignment_name: std::ops::Range<usize>,
    list: Node<'t>,
    items: Vec<(Node<'t>, String)>,
}

impl<'t> Middleware<'t> {
    fn read(a: &Assignment<'t>, source: &str) -> Option<Middleware<'t>> {
        if !matches!(a.value.kind(), "list" | "tuple") {
            return None;
        }
        let mut items = Vec::new();
        let mut cursor = a.value.walk();
        for item in a.value.named_children(&mut cursor) {
            match item.kind() {
                "comment" => {}
                // `*EXTRA_MIDDLEWARE` or a computed entry: what is installed is not known.
                _ => items.push((item, python::string_value(item, source)?)),
            }
        }
        // A list without a single Django entry is somebody else's MIDDLEWARE.
        if !items.iter().any(|(_, path)| path.starts_with("django.")) {
            return None;
        }
        let name = a
            .statement
            .named_child(0)
            .and_then(|inner| inner.child_by_field_id(python::fields().left))?;
        Some(Middleware {
            assignment_name: name.byte_range(),
            list: a.value,
            items,
        })
    }

    /// Installed, or a class of the same name from elsewhere (`myproject.middleware.
    /// CsrfViewMiddleware`, usually a subclass), or added anywhere else in the module
    /// (`MIDDLEWARE.insert(0, ...)` in an `if`).
    fn has(&self, source: &str, path: &str) -> bool {
        let class = path.rsplit('.').next().unwrap_or(path);
        word_occurrences(source, class).next().is_some()
    }

    fn report_missing(&self, id: &'static str, source: &str, out: &mut Vec<Diagnostic>) {
        let missing = [
            (
                SECURITY_MIDDLEWARE,
                "security.W001",
                "the SECURE_* settings (https redirect, HSTS, nosniff, referrer policy) have no effect",
            ),
            (
                XFRAME_MIDDLEWARE,
                "security.W002",
                "pages carry no X-Frame-Options header and any site can frame them (clickjacking)",
            ),
            (
                CSRF_MIDDLEWARE,
                "security.W003",
                "forms and session-authenticated views have no CSRF protection",
            ),
        ];
        // One finding for all of them: they share the `MIDDLEWARE` name as their place.
        let missing: Vec<_> = missing
            .into_iter()
            .filter(|(path, _, _)| !self.has(source, path))
            // A Content-Security-Policy `frame-ancestors` directive replaces X-Frame-Options.
            .filter(|(path, _, _)| {
                *path != XFRAME_MIDDLEWARE
                    || !(source.contains("frame-ancestors") || source.contains("FRAME_ANCESTORS"))
            })
            .collect();
        if missing.is_empty() {
            return;
        }
        let class = |path: &'static str| path.rsplit('.').next().unwrap_or(path);
        let classes: Vec<String> = missing
            .iter()
            .map(|(path, _, _)| format!("`{}`", class(path)))
            .collect();
        let whys: Vec<String> = missing
            .iter()
            .map(|(path, _, why)| format!("without {} {why}", class(path)))
            .collect();
        let checks: Vec<&str> = missing.iter().map(|(_, check, _)| *check).collect();
        let mut edits: Vec<Edit> = Vec::new();
        for (path, _, _) in &missing {
            let edit = self.insertion(source, path);
            match edits.iter_mut().find(|e| e.range == edit.range) {
                Some(same_place) => same_place.content.push_str(&edit.content),
                None => edits.push(edit),
            }
        }
        edits.sort_by_key(|e| e.range.start);
        out.push(
            Diagnostic::new(
                id,
                self.assignment_name.clone(),
                format!(
                    "`MIDDLEWARE` lacks {}: {} (Django check --deploy {})",
                    listed(&classes),
                    whys.join("; "),
                    checks.join(", ")
                ),
            )
            .with_fix(Some(Fix {
                title: format!("Add {} to MIDDLEWARE", listed(&classes)),
                applicability: Applicability::Unsafe,
                edits,
            })),
        );
    }

    /// Where Django's default project puts each middleware: security first, CSRF after the
    /// session and common middleware, clickjacking last.
    fn insertion(&self, source: &str, path: &str) -> Edit {
        let item = format!("\"{path}\"");
        let position = |class: &str| {
            self.items
                .iter()
                .position(|(_, p)| p.rsplit('.').next() == Some(class))
        };
        let before = match path {
            SECURITY_MIDDLEWARE => Some(0),
            CSRF_MIDDLEWARE => position("CommonMiddleware")
                .or_else(|| position("SessionMiddleware"))
                .map(|i| i + 1)
                .or_else(|| position("AuthenticationMiddleware")),
            _ => None,
        };
        match before.and_then(|i| self.items.get(i)) {
            Some((next, _)) => insert_before(*next, &item, source),
            None => append(self.list, self.items.last().map(|(n, _)| *n), &item, source),
        }
    }
}

/// "`A`", "`A` and `B`", "`A`, `B` and `C`".
fn listed(items: &[String]) -> String {
    match items.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
        None => String::new(),
    }
}

/// The whitespace before `node` when it starts its line.
fn line_indent<'s>(node: Node, source: &'s str) -> Option<&'s str> {
    let (_, indent) = python::line_prefix(source, node.start_byte());
    indent
        .chars()
        .all(|c| c == ' ' || c == '\t')
        .then_some(indent)
}

fn newline(source: &str) -> &'static str {
    if source.contains("\r\n") {
        "\r\n"
    } else {
        "\n"
    }
}

fn insert_before(next: Node, item: &str, source: &str) -> Edit {
    match line_indent(next, source) {
        Some(indent) => Edit::insert(
            next.start_byte(),
            format!("{item},{}{indent}", newline(source)),
        ),
        None => Edit::insert(next.start_byte(), format!("{item}, ")),
    }
}

fn append(list: Node, last: Option<Node>, item: &str, source: &str) -> Edit {
    let Some(last) = last else {
        return Edit::insert(list.start_byte() + 1, item.to_string());
    };
    let comma = python::comma_after(last);
    match (comma, line_indent(last, source)) {
        (Some(comma), Some(indent)) => Edit::insert(
            comma.end_byte(),
            format!("{}{indent}{item},", newline(source)),
        ),
        (None, Some(indent)) => Edit::insert(
            last.end_byte(),
            format!(",{}{indent}{item}", newline(source)),
        ),
        (Some(comma), None) => Edit::insert(comma.end_byte(), format!(" {item},")),
        (None, None) => Edit::insert(last.end_byte(), format!(", {item}")),
    }
}
