//! Random edit sequences applied the way the language server applies them (LSP positions in
//! UTF-16 -> rope edits -> `Tree::edit` -> incremental reparse) give the same text, the same tree
//! and the same diagnostics as parsing the final text from scratch, which is what
//! `preflight check` does.

use std::path::Path;

use preflight::analysis::{analyse, AllRules, Input};
use preflight::syntax::{python, FileKind};
use preflight::text::document::{Change, Document};
use preflight::text::{byte_to_position, floor_char_boundary, LinePosition, PositionEncoding};
use proptest::prelude::*;
use ropey::Rope;

const SEED: &str = "\"\"\"Settings — ünïcode 😀.\"\"\"\r\nimport os\nfrom os import getenv as ge\n\nJWT_SECRET = os.getenv(\"JWT_SECRET\", \"dev\")\nDEBUG = os.getenv(\"DEBUG\", \"True\") == \"True\"\n\nclass Config:\n    token = ge(\"API_TOKEN\") or \"abc\"  # 😀 comment\n    def f(self):\n        return {\"PASSWORD\": os.environ.get(\"DB_PASSWORD\", \"pw\")}\n";

const COMPOSE_SEED: &str = "x-env: &env\n  SECRET_KEY: \"k9#fT2!qLz8@wX4mN7^pR1\"\nservices:\n  web:\n    build: .\n    command: sh -c \"python manage.py migrate && gunicorn app.wsgi\"\n    ports: [\"8000:8000\"]\n    environment:\n      <<: *env\n      DB_PASSWORD: ${DB_PASSWORD:-postgres} # 😀\n  worker:\n    environment:\n      - API_TOKEN=ghp_0123456789abcdefghijABCDEFGHIJ012345\n";

const SHELL_SEED: &str = "#!/bin/sh\nset -e\nexport SECRET_KEY=k9fT2qLz8wX4mN7pR1vB5cY3e # ünïcode\npsql \"postgres://app:${DB_PASSWORD:-postgres}@db/app\" -c 'select 1'\npython manage.py migrate --noinput\nexec gunicorn app.wsgi:application\n";

const KINDS: &[(&str, FileKind)] = &[
    ("compose.yaml", FileKind::Compose),
    ("Dockerfile", FileKind::Dockerfile),
    ("entrypoint.sh", FileKind::Shell),
    ("requirements.txt", FileKind::Requirements),
    ("pyproject.toml", FileKind::PyProject),
    ("Procfile", FileKind::Procfile),
    (".env.production", FileKind::DotEnv),
];

/// Pieces of every language's syntax, to be shuffled.
const SOUP: &[&str] = &[
    "services:\n",
    "  web:\n",
    "    environment:\n",
    "      - ",
    "KEY=",
    "SECRET_KEY: ",
    "\"",
    "'",
    "${",
    "}",
    ":-",
    ":?",
    "&a ",
    "*a",
    "<<: ",
    "[",
    "]",
    "{",
    "}",
    "|\n",
    ">-\n",
    "  ",
    "\n",
    "\r\n",
    "FROM python:3.12 AS b\n",
    "COPY . .\n",
    "RUN ",
    "\\\n",
    "<<EOF\n",
    "EOF\n",
    "ENV A=1 B=\"x y\"\n",
    "USER root\n",
    "CMD [\"gunicorn\"",
    "sh -c ",
    "python manage.py migrate",
    " && ",
    "export ",
    "$(",
    ")",
    "`",
    "#",
    "-r ",
    "==1.0",
    ">=",
    "; python_version<'3'",
    "@ git+https://x/y@v1",
    "[project]\n",
    "dependencies = [",
    "]\n",
    "web: ",
    "release: ",
    "😀",
    "é",
    "\t",
    "=",
    "PASSWORD",
];

const SNIPPETS: &[&str] = &[
    "x",
    "😀",
    "é",
    "\n",
    "\r\n",
    "\r",
    "\"",
    "'",
    "(",
    ")",
    "os.getenv(\"SECRET_KEY\", \"x\")",
    " or \"d\"",
    "ALLOWED_HOSTS = os.getenv(\"ALLOWED_HOSTS\", \"*\")\n",
    "    ",
    "#",
    "\"\"\"",
    ",",
    "",
    "def g():\n    pass\n",
    "DEBUG = True\n",
    "𝔘",
    "\t",
    "  - PASSWORD=secret\n",
    ": ",
    "${X:-y}",
    "'",
    "[",
    "- ",
];

#[derive(Clone, Debug)]
enum EditSpec {
    /// A range picked by fractions of the text, replaced by a snippet.
    Snapped { start: f64, len: f64, insert: usize },
    /// Raw positions, possibly out of range or inside a surrogate pair.
    Raw {
        line: u32,
        character: u32,
        end_line: u32,
        end_character: u32,
        insert: usize,
    },
}

fn edit_spec() -> impl Strategy<Value = EditSpec> {
    prop_oneof![
        4 => (0.0..=1.0f64, 0.0..=0.05f64, 0..SNIPPETS.len()).prop_map(|(start, len, insert)| EditSpec::Snapped { start, len, insert }),
        1 => (0u32..20, 0u32..60, 0u32..20, 0u32..60, 0..SNIPPETS.len()).prop_map(|(line, character, end_line, end_character, insert)| {
            EditSpec::Raw { line, character, end_line, end_character, insert }
        }),
    ]
}

/// The LSP range an editor would send for `spec` against `text`.
fn lsp_range(text: &str, spec: &EditSpec) -> (LinePosition, LinePosition, &'static str) {
    match spec {
        EditSpec::Snapped { start, len, insert } => {
            let rope = Rope::from_str(text);
            let mut a = floor_char_boundary(text, (start * text.len() as f64) as usize);
            let mut b = floor_char_boundary(text, a + (len * text.len() as f64) as usize);
            // Editors never address the middle of a CRLF.
            let inside_crlf = |i: usize| {
                i > 0
                    && i < text.len()
                    && text.as_bytes()[i - 1] == b'\r'
                    && text.as_bytes()[i] == b'\n'
            };
            if inside_crlf(a) {
                a -= 1;
            }
            if inside_crlf(b) {
                b += 1;
            }
            let b = b.max(a);
            (
                byte_to_position(&rope, a, PositionEncoding::Utf16),
                byte_to_position(&rope, b, PositionEncoding::Utf16),
                SNIPPETS[*insert],
            )
        }
        EditSpec::Raw {
            line,
            character,
            end_line,
            end_character,
            insert,
        } => (
            LinePosition {
                line: *line,
                character: *character,
            },
            LinePosition {
                line: *end_line,
                character: *end_character,
            },
            SNIPPETS[*insert],
        ),
    }
}

fn diagnostics_summary(
    text: &str,
    tree: Option<&tree_sitter::Tree>,
) -> Vec<(String, std::ops::Range<usize>, String)> {
    summary_of(Path::new("proj/settings.py"), FileKind::Python, text, tree)
}

fn summary_of(
    path: &Path,
    kind: FileKind,
    text: &str,
    tree: Option<&tree_sitter::Tree>,
) -> Vec<(String, std::ops::Range<usize>, String)> {
    analyse(
        &Input {
            path,
            text,
            kind,
            tree,
            project: &preflight::project::Project::default(),
            facts: None,
        },
        &AllRules,
    )
    .diagnostics
    .into_iter()
    .map(|d| (d.rule.to_string(), d.range, d.message))
    .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn incremental_equals_fresh(batches in prop::collection::vec(prop::collection::vec(edit_spec(), 1..4), 1..12)) {
        let mut doc = Document::new(SEED, FileKind::Python, 1);
        for (i, batch) in batches.iter().enumerate() {
            // Several changes in one notification: each is relative to the text after the
            // previous one.
            for spec in batch {
                let text = doc.text();
                let (start, end, insert) = lsp_range(&text, spec);
                doc.apply(&Change { range: Some((start, end)), text: insert }, PositionEncoding::Utf16);
            }
            doc.version = i as i32 + 2;
            let text = doc.text();
            // The server reparses from the edited tree once per notification.
            doc.reparse();
            let incremental = doc.tree.as_ref().expect("python documents keep a tree");
            let fresh = python::parse(&text, None);
            prop_assert_eq!(incremental.root_node().to_sexp(), fresh.root_node().to_sexp());
            prop_assert_eq!(diagnostics_summary(&text, Some(incremental)), diagnostics_summary(&text, None));
        }
    }

    /// The settings-file languages with a grammar keep an incremental tree too: compose YAML and
    /// shell scripts.
    #[test]
    fn incremental_equals_fresh_in_compose_and_shell(
        shell in any::<bool>(),
        batches in prop::collection::vec(prop::collection::vec(edit_spec(), 1..4), 1..10),
    ) {
        let (path, kind, seed) = if shell {
            (Path::new("docker/entrypoint.sh"), FileKind::Shell, SHELL_SEED)
        } else {
            (Path::new("compose.yaml"), FileKind::Compose, COMPOSE_SEED)
        };
        let mut doc = Document::new(seed, kind, 1);
        for batch in &batches {
            for spec in batch {
                let text = doc.text();
                let (start, end, insert) = lsp_range(&text, spec);
                doc.apply(&Change { range: Some((start, end)), text: insert }, PositionEncoding::Utf16);
            }
            let text = doc.text();
            doc.reparse();
            let incremental = doc.tree.as_ref().expect("compose and shell documents keep a tree");
            let fresh = preflight::syntax::parse_tree(kind, &text, None).expect("a grammar");
            prop_assert_eq!(incremental.root_node().to_sexp(), fresh.root_node().to_sexp());
            prop_assert_eq!(summary_of(path, kind, &text, Some(incremental)), summary_of(path, kind, &text, None));
        }
    }

    /// Whatever the text, every reader and every rule of every file kind finishes without a
    /// panic (a note would say so): snippets of each language shuffled into nonsense.
    #[test]
    fn readers_survive_any_text(pieces in prop::collection::vec(0..SOUP.len(), 0..60), kind in 0..KINDS.len()) {
        let text: String = pieces.iter().map(|i| SOUP[*i]).collect();
        let (path, kind) = KINDS[kind];
        let analysis = analyse(
            &Input {
                path: Path::new(path),
                text: &text,
                kind,
                tree: None,
                project: &preflight::project::Project::default(),
                facts: None,
            },
            &AllRules,
        );
        prop_assert!(analysis.notes.is_empty(), "{:?} on {:?}", analysis.notes, text);
    }

    #[test]
    fn utf8_and_utf16_edits_agree(start in 0.0..=1.0f64, len in 0.0..=0.1f64, insert in 0..SNIPPETS.len()) {
        let rope = Rope::from_str(SEED);
        let a = floor_char_boundary(SEED, (start * SEED.len() as f64) as usize);
        let b = floor_char_boundary(SEED, a + (len * SEED.len() as f64) as usize).max(a);
        let mut results = Vec::new();
        for encoding in [PositionEncoding::Utf8, PositionEncoding::Utf16, PositionEncoding::Utf32] {
            let mut doc = Document::new(SEED, FileKind::Python, 1);
            let range = (byte_to_position(&rope, a, encoding), byte_to_position(&rope, b, encoding));
            doc.apply(&Change { range: Some(range), text: SNIPPETS[insert] }, encoding);
            results.push(doc.text());
        }
        prop_assert_eq!(&results[0], &results[1]);
        prop_assert_eq!(&results[1], &results[2]);
    }
}

#[test]
fn whole_text_replacement_resets_the_tree() {
    let mut doc = Document::new(SEED, FileKind::Python, 1);
    doc.apply(
        &Change {
            range: None,
            text: "import os\nX = os.getenv(\"API_KEY\", \"k\")\n",
        },
        PositionEncoding::Utf16,
    );
    doc.reparse();
    let text = doc.text();
    assert_eq!(diagnostics_summary(&text, doc.tree.as_ref()).len(), 1);
    assert_eq!(
        doc.tree.unwrap().root_node().to_sexp(),
        python::parse(&text, None).root_node().to_sexp()
    );
}
