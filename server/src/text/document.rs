//! An open document: a ropey Rope that takes incremental LSP edits, kept in step with an
//! incrementally reparsed tree-sitter tree (Python, compose YAML, shell) so each keystroke
//! reparses only what changed. The line-based formats are read afresh from the text.

use ropey::Rope;
use tree_sitter::{InputEdit, Point, Tree};

use super::{position_to_byte, LinePosition, PositionEncoding};
use crate::syntax::{self, FileKind};

#[derive(Clone)]
pub struct Document {
    pub rope: Rope,
    pub kind: FileKind,
    pub version: i32,
    /// For the kinds with a grammar: the last parse with every later edit applied through
    /// `Tree::edit`, ready for an incremental reparse of the current text. `None` after a
    /// whole-text replacement.
    pub tree: Option<Tree>,
}

/// One LSP `TextDocumentContentChangeEvent`: a range in the text as it is after the previous
/// change of the same notification, or the whole text.
pub struct Change<'a> {
    pub range: Option<(LinePosition, LinePosition)>,
    pub text: &'a str,
}

impl Document {
    pub fn new(text: &str, kind: FileKind, version: i32) -> Document {
        let tree = syntax::parse_tree(kind, text, None);
        Document {
            rope: Rope::from_str(text),
            kind,
            version,
            tree,
        }
    }

    /// A document whose first parse is left to the analysis (off the request path).
    pub fn new_unparsed(text: &str, kind: FileKind, version: i32) -> Document {
        Document {
            rope: Rope::from_str(text),
            kind,
            version,
            tree: None,
        }
    }

    pub fn text(&self) -> String {
        self.rope.to_string()
    }

    fn point_at(&self, byte: usize) -> Point {
        let line = self.rope.byte_to_line(byte);
        Point {
            row: line,
            column: byte - self.rope.line_to_byte(line),
        }
    }

    /// Applies one change. Positions out of range clamp (never panic); a start after the end
    /// collapses to the end, as editors do.
    pub fn apply(&mut self, change: &Change, encoding: PositionEncoding) {
        let Some((start, end)) = change.range else {
            self.rope = Rope::from_str(change.text);
            self.tree = None;
            return;
        };
        let mut start_byte = position_to_byte(&self.rope, start, encoding);
        let end_byte = position_to_byte(&self.rope, end, encoding);
        if start_byte > end_byte {
            start_byte = end_byte;
        }
        // The tree is a parse of the text with lone `\r` read as `\n` (see `parse_with`). Whether
        // a `\r` right before the change is lone depends on the byte after it, which the change
        // may replace: the edit the tree hears starts at that `\r`, so its token is read again.
        let edit_start = if start_byte > 0 && self.rope.byte(start_byte - 1) == b'\r' {
            start_byte - 1
        } else {
            start_byte
        };
        let start_position = self.point_at(edit_start);
        let old_end_position = self.point_at(end_byte);
        let start_char = self.rope.byte_to_char(start_byte);
        let end_char = self.rope.byte_to_char(end_byte);
        self.rope.remove(start_char..end_char);
        self.rope.insert(start_char, change.text);
        let new_end_byte = start_byte + change.text.len();
        if let Some(tree) = &mut self.tree {
            // Tree-sitter points count bytes in a row; the new end is read from the new rope.
            let new_end_position = {
                let line = self.rope.byte_to_line(new_end_byte);
                Point {
                    row: line,
                    column: new_end_byte - self.rope.line_to_byte(line),
                }
            };
            tree.edit(&InputEdit {
                start_byte: edit_start,
                old_end_byte: end_byte,
                new_end_byte,
                start_position,
                old_end_position,
                new_end_position,
            });
        }
    }

    /// An up-to-date parse of `text` (the current text) from the edited tree: incremental when
    /// there is one.
    pub fn parse(&self, text: &str) -> Option<Tree> {
        let tree = syntax::parse_tree(self.kind, text, self.tree.as_ref())?;
        // Tree-sitter's error recovery can differ between an incremental and a fresh parse of
        // the same broken text. The editor must see exactly what `preflight check` sees, so a
        // tree with syntax errors is redone from scratch (only while the file is broken).
        if self.tree.is_some() && tree.root_node().has_error() {
            return syntax::parse_tree(self.kind, text, None);
        }
        Some(tree)
    }

    /// Reparses now and keeps the result.
    pub fn reparse(&mut self) {
        let text = self.text();
        self.tree = self.parse(&text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pos(line: u32, character: u32) -> LinePosition {
        LinePosition { line, character }
    }

    #[test]
    fn sequential_changes_in_one_notification() {
        let mut doc = Document::new("héllo\nwörld\n", FileKind::Python, 1);
        for (range, text) in [
            ((pos(0, 0), pos(0, 1)), "H"),
            ((pos(1, 1), pos(1, 2)), "o"),
            ((pos(1, 5), pos(1, 5)), "!😊"),
        ] {
            doc.apply(
                &Change {
                    range: Some(range),
                    text,
                },
                PositionEncoding::Utf16,
            );
        }
        let text = doc.text();
        assert_eq!(text, "Héllo\nworld!😊\n");
        doc.reparse();
        assert_eq!(
            doc.tree.as_ref().unwrap().root_node().to_sexp(),
            syntax::python::parse(&text, None).root_node().to_sexp()
        );
    }

    /// Typing next to a lone `\r` line break changes whether it is lone: the incremental parse
    /// must match a fresh parse of the text (lone `\r` read as `\n`) after each keystroke.
    #[test]
    fn edits_beside_lone_carriage_returns_reparse_like_a_fresh_parse() {
        let mut doc = Document::new(
            "import os\r# note\rJWT_SECRET = os.getenv('JWT_SECRET', 'dev')\r",
            FileKind::Python,
            1,
        );
        for (range, text) in [
            // `\r` + `\n`: the first line break becomes a CRLF, then a lone `\r` again.
            ((pos(1, 0), pos(1, 0)), "\n"),
            ((pos(1, 0), pos(1, 0)), "x = 1\r"),
            ((pos(0, 9), pos(1, 0)), "\r"),
            // The comment's line break removed (it runs on over the assignment), then put back.
            ((pos(2, 6), pos(3, 0)), ""),
            ((pos(2, 6), pos(2, 6)), "\r"),
        ] {
            doc.apply(
                &Change {
                    range: Some(range),
                    text,
                },
                PositionEncoding::Utf16,
            );
            let text = doc.text();
            doc.reparse();
            assert_eq!(
                doc.tree.as_ref().unwrap().root_node().to_sexp(),
                syntax::python::parse(&text, None).root_node().to_sexp(),
                "{text:?}"
            );
            assert!(
                !doc.tree.as_ref().unwrap().root_node().has_error(),
                "{text:?}"
            );
        }
    }

    #[test]
    fn out_of_range_and_inverted_ranges_do_not_panic() {
        let mut doc = Document::new("ab\ncd", FileKind::Python, 1);
        doc.apply(
            &Change {
                range: Some((pos(9, 9), pos(12, 0))),
                text: "X",
            },
            PositionEncoding::Utf16,
        );
        doc.apply(
            &Change {
                range: Some((pos(1, 1), pos(0, 1))),
                text: "Y",
            },
            PositionEncoding::Utf8,
        );
        assert_eq!(doc.text(), "aYb\ncdX");
    }
}
