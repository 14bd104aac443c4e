//! AUTH002 webhook-without-signature-verification: Django views exempted from CSRF
//! (`@csrf_exempt`, `@method_decorator(csrf_exempt, ...)`, `csrf_exempt(view)` in urlpatterns)
//! that write to the database, enqueue a task or (for webhook-like views) parse the request body
//! without first verifying who sent the request: no signature check (`hmac.compare_digest`,
//! `stripe.Webhook.construct_event`, `*verify*`), no token comparison. A verification that runs on
//! one branch only (`if settings.LOCAL: event = json.loads(body) else: construct_event(...)`) does
//! not protect what comes after the branch; the unverified branch is reported. Django REST
//! framework views named like webhooks and open to anyone (`permission_classes = [AllowAny]`) are
//! CSRF-exempt by construction and checked the same way. A CSRF-exempt view that authenticates
//! with the session (`@login_required`, `request.user`) and writes is reported as cross-site
//! request forgery instead.

use std::collections::HashSet;

use tree_sitter::Node;

use crate::analysis::{Diagnostic, File, PythonFile, Rule, Severity};
use crate::checks::name_words;
use crate::syntax::python::{self, Literal};
use crate::syntax::FileKind;

pub struct WebhookWithoutSignatureVerification;

const CSRF_MODULE: &str = "django.views.decorators.csrf";
const CSRF_EXEMPT: &str = "django.views.decorators.csrf.csrf_exempt";

/// Methods of a class-based view that a CSRF exemption on `dispatch` opens up (GET is never
/// CSRF-checked, so exempting it changes nothing).
const UNSAFE_HANDLERS: &[&str] = &["dispatch", "post", "put", "patch", "delete"];

/// Words in a view's name, class, route or module that mark it as called by another server.
const WEBHOOK_WORDS: &[&str] = &[
    "WEBHOOK",
    "WEBHOOKS",
    "HOOK",
    "HOOKS",
    "CALLBACK",
    "CALLBACKS",
    "IPN",
    "NOTIFY",
    "NOTIFICATION",
    "NOTIFICATIONS",
];

/// Decorators and mixins that authenticate with the session cookie: the browser sends it with a
/// cross-site form post, which is exactly what the CSRF check was there to stop.
const SESSION_GUARDS: &[&str] = &[
    "login_required",
    "permission_required",
    "user_passes_test",
    "staff_member_required",
    "superuser_required",
    "LoginRequiredMixin",
    "PermissionRequiredMixin",
    "UserPassesTestMixin",
];

/// Model and queryset methods that write.
const WRITES: &[&str] = &[
    "save",
    "create",
    "update",
    "delete",
    "bulk_create",
    "bulk_update",
    "get_or_create",
    "update_or_create",
];

/// Celery calls that enqueue work.
const ENQUEUES: &[&str] = &["delay", "apply_async", "send_task"];

/// Names of request fields that carry a credential the server checks by looking it up or
/// comparing it (a signature header is different: reading it proves nothing until it is
/// verified).
const CREDENTIAL_FIELDS: &[&str] = &[
    "token",
    "secret",
    "api_key",
    "apikey",
    "api-key",
    "authorization",
    "password",
];

/// Attributes of the request that hold what the caller sent.
const BODY_ATTRIBUTES: &[&str] = &["body", "POST", "data", "stream"];

/// Words that make a comparison or a header read a check of the caller's credentials.
const CREDENTIAL_WORDS: &[&str] = &[
    "secret",
    "token",
    "signature",
    "digest",
    "hmac",
    "api_key",
    "apikey",
    "api-key",
    "authorization",
    "password",
    // Providers without signatures (M-Pesa) are verified by the sender's address.
    "whitelist",
    "allowlist",
    "allowed_ips",
    "trusted_ips",
];

impl Rule for WebhookWithoutSignatureVerification {
    fn id(&self) -> &'static str {
        "AUTH002"
    }

    fn applies_to(&self, kind: FileKind) -> bool {
        kind == FileKind::Python
    }

    fn may_apply(&self, text: &str) -> bool {
        text.contains("csrf_exempt") || text.contains("permission_classes")
    }

    fn check(&self, file: &File, out: &mut Vec<Diagnostic>) {
        let Some(py) = file.python else { return };
        let source = file.text;
        let module_words = file
            .path
            .file_stem()
            .and_then(|s| s.to_str())
            .map(name_words)
            .unwrap_or_default();
        let mut seen: HashSet<usize> = HashSet::new();
        let mut views = exempt_views(py, source);
        views.extend(open_api_views(py, source));
        for view in views {
            for handler in &view.handlers {
                if !seen.insert(handler.id()) {
                    continue;
                }
                let names = [
                    Some(view.name.as_str()),
                    Some(python::definition_name(*handler, source)),
                    view.route.as_deref(),
                ];
                let webhook_like = names
                    .into_iter()
                    .flatten()
                    .any(|n| is_webhook_word(&name_words(n)))
                    || is_webhook_word(&module_words);
                if view.open_api && !webhook_like {
                    continue;
                }
                if let Some(mut diagnostic) = judge(py, source, &view, *handler, webhook_like) {
                    if file.role.development {
                        diagnostic = diagnostic.with_severity(Severity::Hint);
                    }
                    out.push(diagnostic);
                }
            }
        }
    }
}

fn is_webhook_word(words: &[String]) -> bool {
    words.iter().any(|w| WEBHOOK_WORDS.contains(&w.as_str()))
}

/// A view whose CSRF check is off, and the functions that handle its unsafe requests.
struct ExemptView<'t> {
    /// The function or class name.
    name: String,
    /// The class of a class-based view.
    class: Option<Node<'t>>,
    handlers: Vec<Node<'t>>,
    /// The URL pattern, when the exemption is applied in urlpatterns.
    route: Option<String>,
    /// How the exemption was applied, for the message.
    how: String,
    /// A Django REST framework view open to anyone rather than an explicit exemption: reported
    /// only when it is named like a webhook (public DRF endpoints are common and fine).
    open_api: bool,
}

/// Every view the module exempts from CSRF, found from the text of the names bound to
/// `csrf_exempt` (through imports) rather than by walking the module.
fn exempt_views<'t>(py: &PythonFile<'t>, source: &str) -> Vec<ExemptView<'t>> {
    let mut views = Vec::new();
    for local in py.names.locals_under(&[CSRF_MODULE]) {
        for identifier in py.ancestry.identifiers(source, &local) {
            let expr = py.ancestry.attribute_chain(identifier);
            if py.names.qualify(expr, source).as_deref() != Some(CSRF_EXEMPT) {
                continue;
            }
            if let Some(view) = exempted_by(py, source, expr) {
                views.push(view);
            }
        }
    }
    views
}

/// Django REST framework views open to anyone: a class with `permission_classes` holding
/// `AllowAny` or empty, or a function with `@permission_classes([AllowAny])`. DRF exempts its
/// views from Django's CSRF check, so these take unauthenticated POSTs like a `csrf_exempt` view.
fn open_api_views<'t>(py: &PythonFile<'t>, source: &str) -> Vec<ExemptView<'t>> {
    let fields = python::fields();
    let mut views = Vec::new();
    for identifier in py.ancestry.identifiers(source, "permission_classes") {
        let Some(parent) = py.ancestry.parent(identifier) else {
            continue;
        };
        let (value, target, how) = match parent.kind() {
            // `permission_classes = [AllowAny]` in a class body.
            "assignment"
                if parent
                    .child_by_field_id(fields.left)
                    .is_some_and(|l| l.id() == identifier.id()) =>
            {
                let Some(value) = parent.child_by_field_id(fields.right) else {
                    continue;
                };
                let class = py
                    .ancestry
                    .parent(parent)
                    .and_then(|statement| py.ancestry.parent(statement))
                    .and_then(|block| py.ancestry.parent(block))
                    .filter(|c| c.kind() == "class_definition");
                let Some(class) = class else { continue };
                let how = format!(
                    "DRF view with `permission_classes = {}`",
                    python::text(value, source)
                );
                (value, class, how)
            }
            // `@permission_classes([AllowAny])` on an `@api_view` function.
            "call" => {
                let Some(value) = python::arguments(parent, source)
                    .and_then(|args| args.positional.first().copied())
                else {
                    continue;
                };
                let function = py
                    .ancestry
                    .parent(parent)
                    .filter(|d| d.kind() == "decorator")
                    .and_then(|d| py.ancestry.parent(d))
                    .and_then(python::definition)
                    .filter(|f| f.kind() == "function_definition");
                let Some(function) = function else { continue };
                let how = format!(
                    "DRF view with `@permission_classes({})`",
                    python::text(value, source)
                );
                (value, function, how)
            }
            _ => continue,
        };
        let open = python::text(value, source).contains("AllowAny")
            || matches!(value.kind(), "list" | "tuple") && value.named_child_count() == 0;
        if !open {
            continue;
        }
        let mut view = if target.kind() == "class_definition" {
            let mut handlers = UNSAFE_HANDLERS.to_vec();
            handlers.push("create");
            class_view(target, source, &handlers, &how)
        } else {
            ExemptView {
                name: python::definition_name(target, source).to_string(),
                class: None,
                handlers: vec![target],
                route: None,
                how,
                open_api: true,
            }
        };
        view.open_api = true;
        views.push(view);
    }
    views
}

/// The view a `csrf_exempt` expression applies to.
fn exempted_by<'t>(py: &PythonFile<'t>, source: &str, expr: Node<'t>) -> Option<ExemptView<'t>> {
    let ancestry = &py.ancestry;
    let fields = python::fields();
    let parent = ancestry.parent(expr)?;
    match parent.kind() {
        // `@csrf_exempt` on a function (or, mistakenly, straight on a method).
        "decorator" => {
            let decorated = ancestry.parent(parent)?;
            let target = python::definition(decorated)?;
            match target.kind() {
                "class_definition" => {
                    Some(class_view(target, source, UNSAFE_HANDLERS, "@csrf_exempt"))
                }
                _ => function_or_method_view(py, source, target, "@csrf_exempt"),
            }
        }
        // `@method_decorator(csrf_exempt, name="dispatch")` on a class, or on a method.
        "argument_list" => {
            let call = ancestry.parent(parent)?;
            let callee = call.child_by_field_id(fields.function)?;
            if python::short_name(callee, source) != "method_decorator" {
                return None;
            }
            let decorator = ancestry.parent(call).filter(|d| d.kind() == "decorator")?;
            let target = python::definition(ancestry.parent(decorator)?)?;
            if target.kind() == "class_definition" {
                let method = python::arguments(call, source)
                    .and_then(|args| args.keyword("name"))
                    .and_then(|(value, _)| python::string_value(value, source))
                    .unwrap_or_else(|| "dispatch".to_string());
                // Django reads the exemption from `dispatch` only (`as_view` copies its
                // attributes): `name="post"` leaves the CSRF check in place.
                if method != "dispatch" {
                    return None;
                }
                Some(class_view(
                    target,
                    source,
                    UNSAFE_HANDLERS,
                    "@method_decorator(csrf_exempt)",
                ))
            } else {
                function_or_method_view(py, source, target, "@method_decorator(csrf_exempt)")
            }
        }
        // `csrf_exempt(view)` / `csrf_exempt(SomeView.as_view())`, usually in urlpatterns.
        "call"
            if parent
                .child_by_field_id(fields.function)
                .is_some_and(|f| f.id() == expr.id()) =>
        {
            let args = python::arguments(parent, source)?;
            let target = *args.positional.first()?;
            let route = route_of(py, source, parent);
            let mut view = match target.kind() {
                "identifier" => {
                    let function = py
                        .ancestry
                        .module_definition(source, python::text(target, source))?;
                    if function.kind() != "function_definition" {
                        return None;
                    }
                    function_or_method_view(py, source, function, "csrf_exempt(...)")?
                }
                "call" => {
                    let callee = target.child_by_field_id(fields.function)?;
                    if callee.kind() != "attribute"
                        || python::short_name(callee, source) != "as_view"
                    {
                        return None;
                    }
                    let object = callee.child_by_field_id(fields.object)?;
                    if object.kind() != "identifier" {
                        return None; // a view imported from another module: not looked at
                    }
                    let class = py
                        .ancestry
                        .module_definition(source, python::text(object, source))?;
                    if class.kind() != "class_definition" {
                        return None;
                    }
                    class_view(class, source, UNSAFE_HANDLERS, "csrf_exempt(...)")
                }
                _ => return None,
            };
            view.route = route;
            Some(view)
        }
        _ => None,
    }
}

/// A function view, or the class of a method the exemption was put on (`dispatch`).
fn function_or_method_view<'t>(
    py: &PythonFile<'t>,
    source: &str,
    function: Node<'t>,
    how: &str,
) -> Option<ExemptView<'t>> {
    let name = python::definition_name(function, source).to_string();
    if let Some(class) = enclosing_class(py, function) {
        // Only an exemption on `dispatch` reaches the view `as_view` builds; one on `post` has
        // no effect and the CSRF check still runs.
        if name != "dispatch" {
            return None;
        }
        return Some(class_view(class, source, UNSAFE_HANDLERS, how));
    }
    Some(ExemptView {
        name,
        class: None,
        handlers: vec![function],
        route: None,
        how: how.to_string(),
        open_api: false,
    })
}

/// The class whose body directly defines `function`.
fn enclosing_class<'t>(py: &PythonFile<'t>, function: Node<'t>) -> Option<Node<'t>> {
    let mut node = py.ancestry.parent(function)?;
    if node.kind() == "decorated_definition" {
        node = py.ancestry.parent(node)?;
    }
    let block = node;
    (block.kind() == "block")
        .then(|| py.ancestry.parent(block))
        .flatten()
        .filter(|c| c.kind() == "class_definition")
}

fn class_view<'t>(class: Node<'t>, source: &str, methods: &[&str], how: &str) -> ExemptView<'t> {
    let handlers = class_methods(class)
        .into_iter()
        .filter(|m| methods.contains(&python::definition_name(*m, source)))
        .collect();
    ExemptView {
        name: python::definition_name(class, source).to_string(),
        class: Some(class),
        handlers,
        route: None,
        how: how.to_string(),
        open_api: false,
    }
}

/// The functions defined directly in a class body.
fn class_methods(class: Node) -> Vec<Node> {
    let Some(body) = class.child_by_field_id(python::fields().body) else {
        return Vec::new();
    };
    let mut cursor = body.walk();
    let found = body
        .named_children(&mut cursor)
        .filter_map(|s| match s.kind() {
            "function_definition" => Some(s),
            "decorated_definition" => {
                python::definition(s).filter(|d| d.kind() == "function_definition")
            }
            _ => None,
        })
        .collect();
    found
}

/// The route of the `path(...)` / `re_path(...)` / `url(...)` entry a view is passed to: its
/// pattern and its `name=`.
fn route_of<'t>(py: &PythonFile<'t>, source: &str, view_call: Node<'t>) -> Option<String> {
    let list = py
        .ancestry
        .parent(view_call)
        .filter(|p| p.kind() == "argument_list")?;
    let entry = py.ancestry.parent(list)?;
    let args = python::arguments(entry, source)?;
    let mut parts: Vec<String> = args
        .positional
        .first()
        .and_then(|p| python::string_value(*p, source))
        .into_iter()
        .collect();
    if let Some(name) = args
        .keyword("name")
        .and_then(|(v, _)| python::string_value(v, source))
    {
        parts.push(name);
    }
    (!parts.is_empty()).then(|| parts.join(" "))
}

/// What a handler does that matters here, in source order.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Effect {
    /// A database write or an enqueued task.
    Write,
    /// A read of what the caller sent.
    BodyRead,
    /// A check of the caller: signature, token or shared secret.
    Verification,
}

fn effects<'t>(source: &str, handler: Node<'t>, request: &str) -> Vec<(Effect, Node<'t>)> {
    let fields = python::fields();
    let mut out = Vec::new();
    // Calls that only print or log what they get: reading the body there is not acting on it.
    let mut logging: Vec<std::ops::Range<usize>> = Vec::new();
    for node in python::descendants(handler) {
        match node.kind() {
            "call" => {
                let Some(callee) = node.child_by_field_id(fields.function) else {
                    continue;
                };
                let name = python::short_name(callee, source);
                if is_verification_call(name) || is_credential_read(node, source, request) {
                    out.push((Effect::Verification, node));
                } else if callee.kind() == "attribute" && is_write(node, callee, name, source) {
                    out.push((Effect::Write, node));
                } else if is_logging_call(callee, name, source) {
                    logging.push(node.byte_range());
                } else if hands_over_request(node, name, source, request) {
                    out.push((Effect::BodyRead, node));
                }
            }
            "attribute" => {
                let Some(object) = node.child_by_field_id(fields.object) else {
                    continue;
                };
                let attribute = node
                    .child_by_field_id(fields.attribute)
                    .map_or("", |a| python::text(a, source));
                let logged = logging.iter().any(|r| r.contains(&node.start_byte()));
                if is_request(object, source, request)
                    && BODY_ATTRIBUTES.contains(&attribute)
                    && !logged
                {
                    out.push((Effect::BodyRead, node));
                }
            }
            "comparison_operator" if compares_credentials(node, source) => {
                out.push((Effect::Verification, node));
            }
            "subscript" if is_credential_read(node, source, request) => {
                out.push((Effect::Verification, node));
            }
            _ => {}
        }
    }
    out
}

fn is_verification_call(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.contains("verify")
        || lower.contains("whitelist")
        || lower.contains("allowlist")
        || lower.contains("compare_digest")
        || lower == "constant_time_compare"
        || lower == "construct_event"
        || (lower.contains("signature") || lower.contains("webhook"))
            && (lower.contains("valid") || lower.contains("check"))
}

/// `expected_sig == received_sig`, `token != settings.HOOK_TOKEN`: a comparison of credential
/// values. A presence test (`signature is None`, `if sig == ""`) checks nothing.
fn compares_credentials(comparison: Node, source: &str) -> bool {
    let text = python::text(comparison, source).to_ascii_lowercase();
    if !CREDENTIAL_WORDS.iter().any(|w| text.contains(w)) {
        return false;
    }
    let mut cursor = comparison.walk();
    let presence_test = comparison.children(&mut cursor).any(|child| {
        matches!(child.kind(), "is" | "is not" | "none")
            || python::literal(child, source).is_some_and(|l| l == Literal::Str(String::new()))
    });
    !presence_test
}

/// A call that gets the whole request (`parse_json_request(request)`,
/// `handler.process(request)`): the body is read there. Responses and templates do not count.
fn hands_over_request(call: Node, name: &str, source: &str, request: &str) -> bool {
    const RESPONSES: &[&str] = &[
        "render",
        "render_to_response",
        "redirect",
        "HttpResponse",
        "JsonResponse",
        "Response",
        "get_client_ip",
        // `super().dispatch(request, ...)` hands over to the handler, which is checked itself.
        "dispatch",
    ];
    if RESPONSES.contains(&name) || name.starts_with("HttpResponse") {
        return false;
    }
    python::arguments(call, source).is_some_and(|args| {
        args.positional
            .iter()
            .any(|a| is_request(*a, source, request))
    })
}

/// `print(...)`, `logger.info(...)`, `logging.warning(...)`.
fn is_logging_call(callee: Node, name: &str, source: &str) -> bool {
    if name == "print" && callee.kind() == "identifier" {
        return true;
    }
    let receiver = callee
        .child_by_field_id(python::fields().object)
        .map_or("", |o| python::text(o, source))
        .to_ascii_lowercase();
    receiver.contains("log")
        && matches!(
            name,
            "debug" | "info" | "warning" | "warn" | "error" | "exception" | "critical" | "log"
        )
}

fn is_write(call: Node, callee: Node, name: &str, source: &str) -> bool {
    if ENQUEUES.contains(&name) {
        return true;
    }
    if !WRITES.contains(&name) {
        return false;
    }
    // `form.save(commit=False)` builds the object without writing it.
    let no_commit = python::arguments(call, source)
        .and_then(|args| args.keyword("commit"))
        .is_some_and(|(value, _)| python::literal(value, source) == Some(Literal::Bool(false)));
    if no_commit {
        return false;
    }
    let receiver = callee
        .child_by_field_id(python::fields().object)
        .map_or("", |o| python::text(o, source));
    let last = receiver.rsplit('.').next().unwrap_or(receiver);
    match name {
        // `dict.update(...)`, `context.update(...)`: only a queryset update writes.
        "update" => receiver.contains("objects") || receiver.ends_with(')'),
        // `cache.delete(key)`, `request.session.delete()` are not model writes.
        "delete" | "create" => !matches!(last, "cache" | "session" | "headers" | "cookies"),
        _ => true,
    }
}

/// `request` itself, or `self.request` in a class-based view.
fn is_request(node: Node, source: &str, request: &str) -> bool {
    let text = python::text(node, source);
    text == request || text == "self.request"
}

/// `request.headers["Authorization"]`, `request.META["HTTP_X_API_KEY"]`,
/// `request.GET.get("token")`: a read of a credential the caller sent.
fn is_credential_read(node: Node, source: &str, request: &str) -> bool {
    let fields = python::fields();
    let (container, key) = match node.kind() {
        "subscript" => (
            node.child_by_field_id(fields.value),
            node.child_by_field_id(fields.subscript),
        ),
        "call" => {
            let callee = node.child_by_field_id(fields.function);
            let Some(callee) = callee
                .filter(|c| c.kind() == "attribute" && python::short_name(*c, source) == "get")
            else {
                return false;
            };
            (
                callee.child_by_field_id(fields.object),
                python::arguments(node, source).and_then(|a| a.positional.first().copied()),
            )
        }
        _ => return false,
    };
    let from_request = container.is_some_and(|c| {
        c.kind() == "attribute"
            && c.child_by_field_id(fields.object)
                .is_some_and(|o| is_request(o, source, request))
            && matches!(
                python::short_name(c, source),
                "headers" | "META" | "GET" | "query_params" | "POST" | "data"
            )
    });
    from_request
        && key
            .and_then(|k| python::string_value(k, source))
            .is_some_and(|key| {
                let key = key.to_ascii_lowercase();
                CREDENTIAL_FIELDS.iter().any(|w| key.contains(w))
            })
}

/// The name the handler's request parameter has (`request`, or the first parameter after
/// `self`).
fn request_parameter(handler: Node, source: &str, is_method: bool) -> String {
    let params = handler.child_by_field_name("parameters");
    let names: Vec<String> = params
        .map(|p| {
            let mut cursor = p.walk();
            let found = p
                .named_children(&mut cursor)
                .filter_map(|param| match param.kind() {
                    "identifier" => Some(python::text(param, source).to_string()),
                    "typed_parameter" => param
                        .named_child(0)
                        .filter(|n| n.kind() == "identifier")
                        .map(|n| python::text(n, source).to_string()),
                    _ => None,
                })
                .collect();
            found
        })
        .unwrap_or_default();
    let index = usize::from(is_method);
    names
        .get(index)
        .cloned()
        .unwrap_or_else(|| "request".to_string())
}

/// Does `verification` run on every path that reaches `target`? It must come first, and every
/// block around it must also hold `target` (a `try:` or `with` body runs straight through).
fn covers<'t>(
    py: &PythonFile<'t>,
    handler: Node<'t>,
    verifications: &[Node<'t>],
    verification: Node<'t>,
    target: Node<'t>,
) -> bool {
    if verification.end_byte() > target.start_byte() {
        return false;
    }
    let mut node = verification;
    while let Some(block) = conditional_ancestor(py, handler, node) {
        if contains(block, target) {
            node = block;
            continue;
        }
        match if_statement_of(py, block) {
            Some(statement)
                if !contains(statement, target)
                    && verifies_in_every_branch(statement, verifications) =>
            {
                node = statement;
            }
            _ => return false,
        }
    }
    true
}

fn contains(outer: Node, inner: Node) -> bool {
    outer.start_byte() <= inner.start_byte() && inner.end_byte() <= outer.end_byte()
}

/// The nearest ancestor of `node` below `handler` that runs only sometimes: the block of an
/// `if`/`elif`/`else`, a loop or an `except`, or a conditional expression.
fn conditional_ancestor<'t>(
    py: &PythonFile<'t>,
    handler: Node<'t>,
    node: Node<'t>,
) -> Option<Node<'t>> {
    let mut current = py.ancestry.parent(node)?;
    while current.id() != handler.id() {
        match current.kind() {
            "conditional_expression" => return Some(current),
            "block" => {
                let owner = py.ancestry.parent(current)?;
                let runs_through = match owner.kind() {
                    "try_statement" | "with_statement" | "finally_clause" => true,
                    "else_clause" => py
                        .ancestry
                        .parent(owner)
                        .is_some_and(|o| o.kind() == "try_statement"),
                    _ => owner.id() == handler.id(),
                };
                if !runs_through {
                    return Some(current);
                }
            }
            _ => {}
        }
        current = py.ancestry.parent(current)?;
    }
    None
}

/// The branches of an `if` statement as (header to point at, block), and whether it has an
/// `else` (without one, there is a path through none of them).
fn branches(statement: Node) -> (Vec<(Node, Node)>, bool) {
    let fields = python::fields();
    let mut out: Vec<(Node, Node)> = Vec::new();
    let mut has_else = false;
    if let (Some(condition), Some(block)) = (
        statement.child_by_field_name("condition"),
        statement.child_by_field_name("consequence"),
    ) {
        out.push((condition, block));
    }
    let mut cursor = statement.walk();
    for clause in statement.named_children(&mut cursor) {
        match clause.kind() {
            "elif_clause" => {
                if let (Some(c), Some(b)) = (
                    clause.child_by_field_name("condition"),
                    clause.child_by_field_name("consequence"),
                ) {
                    out.push((c, b));
                }
            }
            "else_clause" => {
                if let Some(b) = clause.child_by_field_id(fields.body) {
                    has_else = true;
                    out.push((clause.child(0).unwrap_or(clause), b));
                }
            }
            _ => {}
        }
    }
    (out, has_else)
}

/// The `if` statement a branch block belongs to.
fn if_statement_of<'t>(py: &PythonFile<'t>, block: Node<'t>) -> Option<Node<'t>> {
    let owner = py.ancestry.parent(block)?;
    match owner.kind() {
        "if_statement" => Some(owner),
        "elif_clause" | "else_clause" => py
            .ancestry
            .parent(owner)
            .filter(|p| p.kind() == "if_statement"),
        _ => None,
    }
}

/// An `if`/`else` that verifies in every branch (`if secret in request.GET: verify_secret(...)
/// else: verify(...)`) verifies as a whole.
fn verifies_in_every_branch(statement: Node, verifications: &[Node]) -> bool {
    let (branches, has_else) = branches(statement);
    has_else
        && branches
            .iter()
            .all(|(_, block)| verifications.iter().any(|v| contains(*block, *v)))
}

/// Where to point when a verification exists but only on some branch: the header of the
/// sibling branch that skips it (`if settings.USE_LOCALSTRIPE:`), or the condition of an `if`
/// without `else` that guards it.
fn unverified_branch<'t>(
    py: &PythonFile<'t>,
    handler: Node<'t>,
    verification: Node<'t>,
    source: &str,
) -> Option<(Node<'t>, String)> {
    let mut node = verification;
    while node.id() != handler.id() {
        let parent = py.ancestry.parent(node)?;
        if parent.kind() == "if_statement" {
            let (branches, has_else) = branches(parent);
            let Some((first_condition, first_block)) = branches.first().copied() else {
                node = parent;
                continue;
            };
            // A verification in the condition itself runs on every path through the `if`.
            if contains(first_condition, verification) {
                node = parent;
                continue;
            }
            let condition = python::text(first_condition, source);
            let skipping = branches
                .iter()
                .position(|(_, block)| !contains(*block, verification));
            match skipping {
                Some(0) => return Some((first_condition, format!("`{condition}` is true"))),
                Some(i) if branches.len() == 2 && contains(first_block, verification) => {
                    return Some((branches[i].0, format!("`{condition}` is false")));
                }
                Some(i) => {
                    let header = branches[i].0;
                    let when = if header.kind() == "else" {
                        "none of the conditions above holds".to_string()
                    } else {
                        format!("`{}` is true", python::text(header, source))
                    };
                    return Some((header, when));
                }
                None if !has_else => {
                    return Some((first_condition, format!("`{condition}` is false")));
                }
                None => {}
            }
        }
        node = parent;
    }
    None
}

/// The finding for one handler, if it deserves one.
fn judge<'t>(
    py: &PythonFile<'t>,
    source: &str,
    view: &ExemptView<'t>,
    handler: Node<'t>,
    webhook_like: bool,
) -> Option<Diagnostic> {
    let is_method = view.class.is_some() || {
        let params = handler
            .child_by_field_name("parameters")
            .map_or("", |p| python::text(p, source));
        params.starts_with("(self") || params.starts_with("(cls")
    };
    let request = request_parameter(handler, source, is_method);
    if authenticated_by_token(view, source)
        || verified_by_decorator(py, view, handler, source)
        || secret_in_url(handler, source)
    {
        return None;
    }
    let effects = effects(source, handler, &request);
    let verifications: Vec<Node> = effects
        .iter()
        .filter(|(e, _)| *e == Effect::Verification)
        .map(|(_, n)| *n)
        .collect();
    let first_write = effects
        .iter()
        .find(|(e, _)| *e == Effect::Write)
        .map(|(_, n)| *n);
    let body_read = effects
        .iter()
        .find(|(e, _)| *e == Effect::BodyRead)
        .map(|(_, n)| *n);
    let name_node = handler.child_by_field_id(python::fields().name)?;
    let view_name = match view.class {
        Some(_) => format!("{}.{}", view.name, python::definition_name(handler, source)),
        None => view.name.clone(),
    };

    if let Some(guard) = session_guard(py, view, handler, source) {
        // Authenticated by the session cookie: the exemption lets any site post as the user.
        let write = first_write?;
        let message = format!(
            "`{view_name}` is exempt from CSRF ({}) but authenticates with the session cookie (`{guard}`): any website can make a signed-in user's browser post to it and reach `{}`",
            view.how,
            describe(write, source)
        );
        return Some(
            Diagnostic::new("AUTH002", name_node.byte_range(), message)
                .with_severity(Severity::Error),
        );
    }

    // What the verification has to come before: the first write, or, for a webhook that hands
    // the parsed body to helpers, the end of the handler.
    let (target, what) = match (first_write, body_read) {
        (Some(write), _) => (write, format!("reaches `{}`", describe(write, source))),
        (None, Some(read)) if webhook_like => {
            let body = handler.child_by_field_id(python::fields().body)?;
            let last = body.named_child(body.named_child_count().checked_sub(1)?)?;
            let what = if read.kind() == "call" {
                format!("hands the request to `{}`", describe(read, source))
            } else {
                format!("parses `{}`", python::text(read, source))
            };
            (last, what)
        }
        _ => return None,
    };
    // Every write must be covered, not only the first.
    let unverified = effects
        .iter()
        .filter(|(e, _)| *e == Effect::Write)
        .map(|(_, n)| *n)
        .chain(std::iter::once(target))
        .find(|t| {
            !verifications
                .iter()
                .any(|v| covers(py, handler, &verifications, *v, *t))
        })?;
    let (target, what) = if unverified.id() == target.id() {
        (target, what)
    } else {
        (
            unverified,
            format!("reaches `{}`", describe(unverified, source)),
        )
    };
    let severity = if webhook_like {
        Severity::Error
    } else {
        Severity::Warning
    };
    let kind = if webhook_like { "webhook" } else { "request" };
    // A verification that precedes the target on some branch only: point at the branch.
    let partial = verifications
        .iter()
        .filter(|v| v.end_byte() <= target.start_byte())
        .find_map(|v| unverified_branch(py, handler, *v, source));
    let diagnostic = match partial {
        Some((header, when)) => Diagnostic::new(
            "AUTH002",
            header.byte_range(),
            format!(
                "`{view_name}` skips its signature check when {when} and still {what}: on this branch anyone can forge the {kind}"
            ),
        ),
        None => Diagnostic::new(
            "AUTH002",
            name_node.byte_range(),
            format!(
                "`{view_name}` is exempt from CSRF ({}) and {what} without verifying a signature or token first: anyone who can reach the URL can forge this {kind}",
                view.how
            ),
        ),
    };
    Some(diagnostic.with_severity(severity))
}

/// A short, one-line rendering of a call for messages.
fn describe(node: Node, source: &str) -> String {
    let text = match node.kind() {
        "call" => node
            .child_by_field_id(python::fields().function)
            .map_or_else(
                || python::text(node, source).to_string(),
                |f| format!("{}()", python::text(f, source)),
            ),
        _ => python::text(node, source).to_string(),
    };
    crate::checks::one_line(&text, 60, "...")
}

/// A session-based guard on the view: a decorator on the handler, a `method_decorator` on the
/// class, a mixin, or a `request.user.is_authenticated` check in the body.
fn session_guard<'t>(
    py: &PythonFile<'t>,
    view: &ExemptView<'t>,
    handler: Node<'t>,
    source: &str,
) -> Option<String> {
    let mut candidates: Vec<Node> = py.ancestry.decorators(handler);
    if let Some(class) = view.class {
        candidates.extend(py.ancestry.decorators(class));
        if let Some(bases) = class.child_by_field_id(python::fields().superclasses) {
            let mut cursor = bases.walk();
            candidates.extend(bases.named_children(&mut cursor));
        }
    }
    for candidate in candidates {
        let text = python::text(candidate, source);
        if let Some(guard) = SESSION_GUARDS.iter().find(|g| {
            text.split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .any(|word| word == **g)
        }) {
            return Some(guard.to_string());
        }
    }
    // A view that checks or acts on `request.user` relies on the session as well.
    let body = python::text(handler, source);
    [
        "user.is_authenticated",
        "user.is_staff",
        "user.is_superuser",
        "user.has_perm",
    ]
    .iter()
    .find(|check| body.contains(**check))
    .map(|check| format!("request.{check}"))
    .or_else(|| {
        python::word_occurrences(body, "request")
            .any(|at| body[at..].starts_with("request.user"))
            .then(|| "request.user".to_string())
    })
}

/// A handler that takes a secret from its URL (`def telegram_webhook(request, token)`,
/// `def hook(request, secret_hash)`): the unguessable URL is the shared secret.
fn secret_in_url(handler: Node, source: &str) -> bool {
    let Some(params) = handler.child_by_field_name("parameters") else {
        return false;
    };
    let mut cursor = params.walk();
    let found = params.named_children(&mut cursor).any(|param| {
        let name = match param.kind() {
            "identifier" => Some(param),
            "typed_parameter" | "default_parameter" | "typed_default_parameter" => param
                .child_by_field_id(python::fields().name)
                .or_else(|| param.named_child(0)),
            _ => None,
        };
        name.filter(|n| n.kind() == "identifier").is_some_and(|n| {
            name_words(python::text(n, source)).iter().any(|w| {
                matches!(
                    w.as_str(),
                    "TOKEN" | "SECRET" | "KEY" | "SIGNATURE" | "HASH"
                )
            })
        })
    });
    found
}

/// A decorator that verifies before the handler runs (`@verify_github_signature`,
/// `@method_decorator(require_hmac)`): its code is elsewhere, its name says what it does.
fn verified_by_decorator<'t>(
    py: &PythonFile<'t>,
    view: &ExemptView<'t>,
    handler: Node<'t>,
    source: &str,
) -> bool {
    let mut candidates: Vec<Node> = py.ancestry.decorators(handler);
    if let Some(class) = view.class {
        candidates.extend(py.ancestry.decorators(class));
    }
    candidates.iter().any(|decorator| {
        let mut names = vec![python::short_name(*decorator, source)];
        // `method_decorator(verify_signature, name="dispatch")`: the wrapped decorator counts.
        if decorator.kind() == "call" {
            if let Some(args) = python::arguments(*decorator, source) {
                names.extend(
                    args.positional
                        .iter()
                        .map(|a| python::short_name(*a, source)),
                );
            }
        }
        names.iter().any(|name| {
            let lower = name.to_ascii_lowercase();
            is_verification_call(name) || lower.contains("signature") || lower.contains("hmac")
        })
    })
}

/// Django REST framework classes that authenticate every request (`authentication_classes` or
/// `permission_classes` set to something other than nothing / `AllowAny`). DRF enforces CSRF
/// itself for session authentication, and other schemes do not ride on a cookie.
fn authenticated_by_token(view: &ExemptView, source: &str) -> bool {
    let Some(class) = view.class else {
        return false;
    };
    let Some(body) = class.child_by_field_id(python::fields().body) else {
        return false;
    };
    let fields = python::fields();
    // Whether each of the two attributes is set, and to something that lets callers through.
    let mut permission: Option<bool> = None;
    let mut authentication: Option<bool> = None;
    let mut cursor = body.walk();
    for statement in body.named_children(&mut cursor) {
        let Some(assignment) = statement
            .named_child(0)
            .filter(|a| statement.kind() == "expression_statement" && a.kind() == "assignment")
        else {
            continue;
        };
        let (Some(left), Some(right)) = (
            assignment.child_by_field_id(fields.left),
            assignment.child_by_field_id(fields.right),
        ) else {
            continue;
        };
        let open = python::text(right, source).contains("AllowAny")
            || matches!(right.kind(), "list" | "tuple") && right.named_child_count() == 0;
        match python::text(left, source) {
            "permission_classes" => permission = Some(open),
            "authentication_classes" => authentication = Some(open),
            _ => {}
        }
    }
    match (permission, authentication) {
        // `AllowAny` lets unauthenticated callers in whatever the authentication classes are.
        (Some(open), _) => !open,
        // A custom authentication class (`StripeAuthentication`) rejects bad callers itself.
        (None, Some(open)) => !open,
        (None, None) => false,
    }
}

#[cfg(test)]
mod tests {
    use crate::analysis::testing::diagnostics_of;

    fn findings(path: &str, source: &str) -> Vec<(String, String)> {
        diagnostics_of("AUTH002", path, source)
            .into_iter()
            .map(|d| (source[d.range].to_string(), d.severity.as_str().to_string()))
            .collect()
    }

    #[test]
    fn verification_inside_try_protects_what_follows() {
        let src = "import stripe\nfrom django.views.decorators.csrf import csrf_exempt\n@csrf_exempt\ndef stripe_webhook(request):\n    try:\n        event = stripe.Webhook.construct_event(request.body, request.headers['Stripe-Signature'], SECRET)\n    except ValueError:\n        return HttpResponse(status=400)\n    Payment.objects.filter(ref=event.id).update(paid=True)\n";
        assert!(findings("app/views.py", src).is_empty());
    }

    #[test]
    fn verification_on_one_branch_is_reported_on_the_other() {
        let src = "import json, stripe\nfrom django.views.decorators.csrf import csrf_exempt\n@csrf_exempt\ndef stripe_webhook(request):\n    if settings.USE_LOCALSTRIPE:\n        event = json.loads(request.body)\n    else:\n        event = stripe.Webhook.construct_event(request.body, sig, SECRET)\n    Payment.objects.filter(ref=event.id).update(paid=True)\n";
        assert_eq!(
            findings("app/views.py", src),
            [("settings.USE_LOCALSTRIPE".to_string(), "error".to_string())]
        );
    }

    #[test]
    fn verification_after_the_write_does_not_count() {
        let src = "import hmac\nfrom django.views.decorators.csrf import csrf_exempt\n@csrf_exempt\ndef sync(request):\n    Item.objects.create(data=request.body)\n    hmac.compare_digest(a, b)\n";
        assert_eq!(
            findings("app/views.py", src),
            [("sync".to_string(), "warning".to_string())]
        );
    }

    #[test]
    fn exemption_in_urlpatterns_resolves_local_views_only() {
        let src = "from django.urls import path\nfrom django.views.decorators.csrf import csrf_exempt\nfrom django.views import View\nfrom .views import Other\nclass PayView(View):\n    def post(self, request):\n        Order.objects.filter(pk=request.POST['id']).update(paid=True)\nurlpatterns = [\n    path('pay/notify/', csrf_exempt(PayView.as_view())),\n    path('other/', csrf_exempt(Other.as_view())),\n]\n";
        assert_eq!(
            findings("app/urls.py", src),
            [("post".to_string(), "error".to_string())]
        );
    }
}
