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
    let path = Path::new("proj/settings.py");
    analyse(
        &Input {
            path,
            text,
            kind: FileKind::Python,
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
