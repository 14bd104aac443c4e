//! `# preflight: ignore[ID, ...]` comments. A comment at the end of a line silences findings that
//! start on that line; a comment alone on its line silences the line below. Without `[...]` it
//! silences every rule there.

use std::collections::HashMap;

use super::{Diagnostic, Edit, File};
use crate::syntax::FileKind;
use crate::text::{line_ending, LineIndex};

const MARKER: &str = "preflight: ignore";

pub struct Suppressions {
    /// line -> rules (None: all rules)
    lines: HashMap<usize, Option<Vec<String>>>,
    index: Option<LineIndex>,
}

struct Comment {
    line: usize,
    /// Byte of `#`.
    hash: usize,
    rules: Option<Vec<String>>,
    /// The rule list's brackets, when there is one.
    list_range: Option<std::ops::Range<usize>>,
    alone: bool,
}

fn comments(file: &File, index: &LineIndex) -> Vec<Comment> {
    let text = file.text;
    let mut out = Vec::new();
    for (at, _) in text.match_indices(MARKER) {
        let line = index.line_of(at);
        let line_range = index.line_range(text, line);
        let Some(hash) = text[line_range.start..at]
            .rfind('#')
            .map(|i| line_range.start + i)
        else {
            continue;
        };
        if !text[hash + 1..at].trim().is_empty() {
            continue;
        }
        // In Python the `#` must start a real comment, not sit inside a string.
        if let Some(py) = file.python {
            let node = py
                .tree
                .root_node()
                .descendant_for_byte_range(hash, hash + 1);
            if node.is_none_or(|n| n.kind() != "comment") {
                continue;
            }
        }
        let after = &text[at + MARKER.len()..line_range.end];
        let (rules, list_range) = match after.strip_prefix('[') {
            Some(rest) => match rest.find(']') {
                Some(close) => {
                    let start = at + MARKER.len();
                    let rules = rest[..close]
                        .split(',')
                        .map(|r| r.trim().to_string())
                        .filter(|r| !r.is_empty())
                        .collect();
                    (Some(rules), Some(start..start + close + 2))
                }
                None => continue,
            },
            None if after.is_empty() || after.starts_with(char::is_whitespace) => (None, None),
            None => continue,
        };
        let alone = text[line_range.start..hash].trim().is_empty();
        out.push(Comment {
            line,
            hash,
            rules,
            list_range,
            alone,
        });
    }
    out
}

impl Suppressions {
    pub fn scan(file: &File) -> Suppressions {
        if !file.text.contains(MARKER) {
            return Suppressions {
                lines: HashMap::new(),
                index: None,
            };
        }
        let index = LineIndex::new(file.text);
        let mut lines = HashMap::new();
        for comment in comments(file, &index) {
            let line = if comment.alone {
                comment.line + 1
            } else {
                comment.line
            };
            lines.insert(line, comment.rules);
        }
        Suppressions {
            lines,
            index: Some(index),
        }
    }

    pub fn suppresses(&self, diagnostic: &Diagnostic) -> bool {
        let Some(index) = &self.index else {
            return false;
        };
        match self.lines.get(&index.line_of(diagnostic.range.start)) {
            Some(None) => true,
            Some(Some(rules)) => rules.iter().any(|r| r == diagnostic.rule),
            None => false,
        }
    }
}

/// The edit that silences `rule` for the finding starting at `at`: extends an existing comment's
/// list, appends a trailing comment in Python, or puts a comment line above (env files, and a
/// Python line that ends inside a multi-line string).
pub fn suppression_edit(file: &File, at: usize, rule: &str) -> Edit {
    let text = file.text;
    let index = LineIndex::new(text);
    let line = index.line_of(at);
    for comment in comments(file, &index) {
        let applies = if comment.alone {
            comment.line + 1 == line
        } else {
            comment.line == line
        };
        if !applies {
            continue;
        }
        if let (Some(_), Some(list)) = (&comment.rules, &comment.list_range) {
            return Edit::insert(list.end - 1, format!(", {rule}"));
        }
        let _ = comment.hash;
    }
    let line_range = index.line_range(text, line);
    let line_text = &text[line_range.clone()];
    let indent: String = line_text
        .chars()
        .take_while(|c| *c == ' ' || *c == '\t')
        .collect();
    let comment = format!("# {MARKER}[{rule}]");
    let above = Edit::insert(
        line_range.start,
        format!("{indent}{comment}{}", line_ending(text)),
    );
    match (file.kind, file.python) {
        (FileKind::Python, Some(py)) => {
            let end = line_range.end;
            let inside_string = end > 0
                && py
                    .tree
                    .root_node()
                    .descendant_for_byte_range(end - 1, end)
                    .is_some_and(|n| {
                        let mut node = Some(n);
                        while let Some(x) = node {
                            if x.kind() == "string" && x.end_byte() > end {
                                return true;
                            }
                            node = x.parent();
                        }
                        false
                    });
            if inside_string {
                above
            } else {
                Edit::insert(end, format!("  {comment}"))
            }
        }
        _ => above,
    }
}
