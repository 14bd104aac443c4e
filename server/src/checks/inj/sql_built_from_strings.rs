//! INJ001 sql-built-from-strings: SQL text built at run time with an f-string, `%`, `.format`
//! or `+` from values that are not constants, and passed to something that runs it
//! (`cursor.execute`, SQLAlchemy `text`, Django `raw` / `RawSQL` / `extra(where=...)`, asyncpg
//! and `databases` fetches). Literals, UPPER_CASE constants, quoted identifiers, numbers and
//! placeholder lists are safe parts; psycopg's `sql.SQL(...).format(...)` composes safely.

use std::collections::HashSet;
use std::sync::LazyLock;

use regex::Regex;
use tree_sitter::Node;

use super::{
    callee_text, first_and_latest_bindings_before, request_data, unsafe_constructions, Binding,
    Built,
};
use crate::analysis::{Diagnostic, File, PythonFile, Rule, Severity};
use crate::syntax::{python, FileKind};

pub struct SqlBuiltFromStrings;

/// Methods that run their first argument as SQL on a cursor, connection or session: the receiver
/// is not known, so the built text must read as SQL.
const RUNNING_METHODS: &[&str] = &[
    "execute",
    "executemany",
    "executescript",
    "exec_driver_sql",
    "fetch",
    "fetchrow",
    "fetchval",
    "fetch_all",
    "fetch_one",
    "fetch_val",
    "iterate",
    "raw",
    // Prisma Client Python
    "query_raw",
    "query_first",
    "execute_raw",
];

/// Sinks that are not query-running methods: SQLAlchemy `text`, Django `RawSQL` and `.extra`,
/// psycopg `sql.SQL`.
const OTHER_SINKS: &[&str] = &["text", "RawSQL", "SQL", "extra"];

/// A sink's name followed by a call's parenthesis; the name is group 1.
static SINK_CALL: LazyLock<Regex> = LazyLock::new(|| {
    let names: Vec<&str> = RUNNING_METHODS.iter().chain(OTHER_SINKS).copied().collect();
    Regex::new(&format!(r"\b({})\s*\(", names.join("|"))).expect("valid SQL sink regex")
});

/// Words that make a text SQL.
static SQL_WORDS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(select|insert\s+into|update|delete\s+from|from|where|join|order\s+by|group\s+by|values|create\s+(table|index|view|schema|database|extension|function|trigger|role|user)|drop|alter\s+table|truncate|pragma|vacuum|analyze|grant|revoke|copy|set\s+\w+\s*=|having|limit|savepoint|release\s+savepoint|rollback\s+to|comment\s+on|refresh\s+materialized|reindex|explain|returning)\b",
    )
    .expect("valid SQL regex")
});

impl Rule for SqlBuiltFromStrings {
    fn id(&self) -> &'static str {
        "INJ001"
    }

    fn applies_to(&self, kind: FileKind) -> bool {
        kind == FileKind::Python
    }

    fn may_apply(&self, text: &str) -> bool {
        SINK_CALL.is_match(text)
    }

    fn check(&self, file: &File, out: &mut Vec<Diagnostic>) {
        let Some(py) = file.python else { return };
        let source = file.text;
        let mut reported: HashSet<usize> = HashSet::new();
        for (call, sql, needs_sql_words) in sinks(py, source) {
            let found = unsafe_constructions(py, source, sql, 0);
            if found.is_empty() {
                continue;
            }
            if needs_sql_words && !reads_as_sql(py, source, sql, &found) {
                continue;
            }
            let sink = callee_text(call, source);
            for built in found {
                if !reported.insert(built.node.id()) {
                    continue;
                }
                out.push(diagnostic(self.id(), file, py, source, &built, &sink));
            }
        }
    }
}

fn diagnostic<'t>(
    id: &'static str,
    file: &File,
    py: &PythonFile<'t>,
    source: &str,
    built: &Built<'t>,
    sink: &str,
) -> Diagnostic {
    let part = python::text(built.parts[0], source);
    let part = if part.len() > 40 || part.contains('\n') {
        "a run-time value".to_string()
    } else {
        format!("`{part}`")
    };
    let from_request = built
        .parts
        .iter()
        .find_map(|p| request_data(py, source, *p, 0));
    let message = match &from_request {
        Some(what) => format!(
            "SQL run by `{sink}` is built with {} from request data ({what}): the client can rewrite the query; pass values as query parameters",
            built.how.describe()
        ),
        None => format!(
            "SQL run by `{sink}` is built with {} from {part}: a value that reaches it from outside can rewrite the query; pass values as query parameters",
            built.how.describe()
        ),
    };
    let mut diagnostic = Diagnostic::new(id, built.node.byte_range(), message);
    if from_request.is_some() {
        diagnostic = diagnostic.with_severity(Severity::Error);
    }
    if file.role.development || file.role.migration {
        // Tests build throwaway SQL against fixtures; migrations interpolate the names of the
        // tables and indexes they change, and run once, with no outside input.
        diagnostic = diagnostic.with_severity(Severity::Hint);
    }
    diagnostic
}

/// Whether the text run is SQL: the literal text of the built strings or of any value the local
/// was assigned.
fn reads_as_sql<'t>(py: &PythonFile<'t>, source: &str, sql: Node<'t>, found: &[Built]) -> bool {
    if found.iter().any(|b| SQL_WORDS.is_match(&b.literal_text)) {
        return true;
    }
    let sql = super::unparenthesize(sql);
    // The first assignments too, not only the latest ones followed for safety: the SQL words are
    // usually in the first (`q = "SELECT ..."`, then `q = q + ...` many times).
    sql.kind() == "identifier"
        && first_and_latest_bindings_before(py, source, sql)
            .iter()
            .any(|b| match b {
                Binding::Assign(value) | Binding::Extend(_, value) => {
                    SQL_WORDS.is_match(python::text(*value, source))
                }
                Binding::Counter | Binding::Unknown(_) => false,
            })
}

/// Calls that run SQL, with the expression holding the SQL and whether the callee alone is too
/// vague to say so (a method called `execute` on an unknown receiver).
fn sinks<'t>(py: &PythonFile<'t>, source: &str) -> Vec<(Node<'t>, Node<'t>, bool)> {
    let f = python::fields();
    let mut out = Vec::new();
    // One pass over the text for every sink name followed by a call's parenthesis.
    for found in SINK_CALL.captures_iter(source) {
        let Some(name_match) = found.get(1) else {
            continue;
        };
        let name = name_match.as_str();
        let Some(identifier) = py
            .ancestry
            .node_at(name_match.start(), name_match.end())
            .filter(|n| n.kind() == "identifier" && n.byte_range() == name_match.range())
        else {
            continue;
        };
        // `obj.name(...)` or `name(...)`
        let Some((callee, call)) = py.ancestry.call_named(identifier) else {
            continue;
        };
        let Some(args) = python::arguments(call, source) else {
            continue;
        };
        let qualified = py.names.qualify(callee, source).unwrap_or_default();
        let first = || {
            args.positional.first().copied().or_else(|| {
                ["sql", "query", "statement", "sql_query"]
                    .iter()
                    .find_map(|k| args.keyword(k).map(|(v, _)| v))
            })
        };
        match name {
            "text" => {
                let is_sqlalchemy = qualified.starts_with("sqlalchemy.")
                    || (callee.kind() == "attribute"
                        && python::text(callee, source).ends_with("sa.text"));
                if let (true, Some(sql)) = (is_sqlalchemy, first()) {
                    out.push((call, sql, false));
                }
            }
            "SQL" => {
                let is_psycopg =
                    qualified.starts_with("psycopg") || python::text(callee, source) == "sql.SQL";
                if let (true, Some(sql)) = (is_psycopg, first()) {
                    out.push((call, sql, false));
                }
            }
            "RawSQL" => {
                if let Some(sql) = first() {
                    out.push((call, sql, false));
                }
            }
            "extra" => {
                // `.extra(where=[...], select={...})` on a queryset.
                if callee.kind() != "attribute" {
                    continue;
                }
                for (keyword, value, _) in &args.keywords {
                    let items: Vec<Node> = match (keyword.as_str(), value.kind()) {
                        ("where" | "tables" | "order_by", "list" | "tuple") => {
                            let mut cursor = value.walk();
                            value.named_children(&mut cursor).collect()
                        }
                        ("select", "dictionary") => {
                            let mut cursor = value.walk();
                            value
                                .named_children(&mut cursor)
                                .filter_map(|pair| pair.child_by_field_id(f.value))
                                .collect()
                        }
                        _ => Vec::new(),
                    };
                    out.extend(items.into_iter().map(|item| (call, item, false)));
                }
            }
            _ => {
                if callee.kind() != "attribute" {
                    continue; // a function of the module named `execute`
                }
                if let Some(sql) = first() {
                    out.push((call, sql, true));
                }
            }
        }
    }
    out.sort_by_key(|(call, _, _)| call.start_byte());
    out
}

#[cfg(test)]
mod tests {
    use crate::analysis::testing::findings_of;
    use crate::analysis::{analyse, AllRules, Input};
    use crate::syntax::FileKind;
    use std::path::Path;

    fn findings(source: &str) -> Vec<String> {
        findings_of("INJ001", "app/queries.py", source)
    }

    #[test]
    fn follows_the_query_through_locals() {
        let src = "def f(cursor, name, order):\n    q = 'SELECT * FROM t'\n    q += f' WHERE name = {name}'\n    cursor.execute(q)\n";
        assert_eq!(findings(src), ["f' WHERE name = {name}'"]);
    }

    #[test]
    fn route_parameters_make_it_an_error() {
        let src = "@router.get('/items')\nasync def items(name: str, limit: int, db = Depends(get_db)):\n    return await db.fetch(f\"SELECT * FROM items WHERE name = '{name}' LIMIT {limit}\")\n";
        let tree = crate::syntax::python::parse(src, None);
        let found = analyse(
            &Input {
                path: Path::new("app/api.py"),
                text: src,
                kind: FileKind::Python,
                tree: Some(&tree),
                project: &crate::project::Project::default(),
                facts: None,
            },
            &AllRules,
        )
        .diagnostics;
        let finding = found.iter().find(|d| d.rule == "INJ001").unwrap();
        assert_eq!(finding.severity, crate::analysis::Severity::Error);
        assert!(finding.message.contains("route parameter `name`"));
    }

    #[test]
    fn clauses_appended_to_a_list_count() {
        let src = "def f(cur, ids, extra):\n    where = ['a = %s']\n    marks = ', '.join(['%s'] * len(ids))\n    where.append(f'id IN ({marks})')\n    sql = 'DELETE FROM t WHERE ' + ' AND '.join(where)\n    cur.execute(sql)\n    where.append(extra)\n    cur.execute('DELETE FROM t WHERE ' + ' AND '.join(where))\n";
        assert_eq!(
            findings(src),
            ["'DELETE FROM t WHERE ' + ' AND '.join(where)"]
        );
    }

    #[test]
    fn a_query_rebuilt_many_times_is_judged_by_its_latest_constructions() {
        // Each line reads the previous `q`. The latest 32 constructions are reported (each is a
        // place the query takes outside data); following every earlier one from every later one
        // would cost the square of the lines.
        let mut src = String::from("def f(cur, x):\n    q = 'SELECT 1'\n");
        for i in 0..40 {
            src.push_str(&format!("    q = q + ' AND a{i} = ' + x + q\n"));
        }
        src.push_str("    cur.execute(q)\n");
        let found = findings(&src);
        assert_eq!(found.len(), 32);
        assert!(
            found[0].contains("a8 ") && found[31].contains("a39 "),
            "{found:?}"
        );
    }

    #[test]
    fn thousands_of_rebuilds_are_still_reported() {
        // The query still reads as SQL from its first assignment, 20,000 lines up. (When every
        // use looked at every occurrence before it, this took minutes.)
        let build = |n: usize| {
            let mut src = String::from("def f(cur, x):\n    q = 'SELECT 1'\n");
            for _ in 0..n {
                src.push_str("    q = q + x\n");
            }
            src.push_str("    cur.execute(q)\n");
            src
        };
        assert_eq!(findings(&build(2_000)).len(), 32);
        assert_eq!(findings(&build(20_000)).len(), 32);
    }

    #[test]
    fn a_concatenation_of_ten_thousand_terms_is_one_finding() {
        // Deeper than any recursive walk of the tree survives on a thread's stack.
        let terms = vec!["x"; 10_000].join(" + ");
        let src = format!("def f(cursor, x):\n    cursor.execute(\"select \" + {terms})\n");
        assert_eq!(findings(&src).len(), 1);
        let holes = "{x}".repeat(5_000);
        let src = format!("def f(cursor, x):\n    cursor.execute(f\"select {holes}\")\n");
        assert_eq!(findings(&src).len(), 1);
    }

    #[test]
    fn concatenated_locals_are_followed() {
        let src = "def f(cur, where, n):\n    base = 'SELECT * FROM t WHERE '\n    cur.execute(base + where)\n    total = n + 1\n    cur.execute(total + n)\n";
        assert_eq!(findings(src), ["base + where"]);
    }

    #[test]
    fn execute_of_a_non_sql_string_is_not_reported() {
        let src = "def f(runner, name):\n    runner.execute(f'hello {name}')\n";
        assert!(findings(src).is_empty());
    }

    #[test]
    fn psycopg_composition_is_safe() {
        let src = "from psycopg import sql\ndef f(cur, table):\n    cur.execute(sql.SQL('SELECT * FROM {}').format(sql.Identifier(table)))\n    cur.execute(sql.SQL(f'SELECT * FROM {table}'))\n";
        assert_eq!(findings(src), ["f'SELECT * FROM {table}'"]);
    }
}
