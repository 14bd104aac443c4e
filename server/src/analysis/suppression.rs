//! `# preflight: ignore[ID, ...]` comments. A comment at the end of a line silences findings that
//! start on that line; a comment alone on its line silences the line below. Without `[...]` it
//! silences every rule there.

use std::collections::HashMap;

use super::{Diagnostic, Edit, File};
use crate::syntax::FileKind;
use crate::text::{line_ending, LineIndex};

const MARKER: &str = "preflight: ignore";

/// Other linters' codes for the same check as a rule. A line that already silences one of them
/// (`# noqa: S105`, `# nosec B608`, `# pylint: disable=bare-except`, detect-secrets'
/// `# pragma: allowlist secret`) has been reviewed by the project; reporting it again under
/// another name would only be noise.
const PEER_CODES: &[(&str, &[&str])] = &[
    ("CFG001", &["S201", "B201"]),
    ("ERR001", &["E722", "B001", "bare-except", "W0702"]),
    ("INJ001", &["S608", "B608"]),
    ("INJ002", &["S602", "S604", "S605", "B602", "B604", "B605"]),
    ("INJ003", &["S301", "S506", "B301", "B506"]),
    ("NET001", &["S501", "S323", "B501", "B323"]),
    ("NET002", &["S113", "B113"]),
    ("SEC004", &[ALLOWLIST_SECRET]),
    ("SEC007", &[ALLOWLIST_SECRET]),
    (
        "SEC009",
        &[
            "S105",
            "S106",
            "S107",
            "B105",
            "B106",
            "B107",
            ALLOWLIST_SECRET,
        ],
    ),
];

/// The other linters' codes a rule honours on its line (empty for most rules).
pub fn peer_codes(rule: &str) -> &'static [&'static str] {
    PEER_CODES
        .iter()
        .find(|(id, _)| *id == rule)
        .map_or(&[], |(_, codes)| codes)
}

/// detect-secrets' inline allowlist comment.
const ALLOWLIST_SECRET: &str = "pragma: allowlist secret";

/// Whether the line where `diagnostic` starts carries another linter's suppression of the same
/// check. A bare `# noqa` silences every ruff/flake8 code and a bare `# nosec` every bandit
/// code, as they do for those tools.
pub fn acknowledged_by_peer(file: &File, diagnostic: &Diagnostic) -> bool {
    let Some((_, codes)) = PEER_CODES.iter().find(|(rule, _)| *rule == diagnostic.rule) else {
        return false;
    };
    let text = file.text;
    let start = diagnostic.range.start.min(text.len());
    let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
    let line = &text[start..line_end];
    line.match_indices('#')
        .map(|(i, _)| start + i)
        .find(|&hash| is_comment_at(file, hash))
        .is_some_and(|hash| peer_comment_silences(&text[hash..line_end], codes))
}

fn is_comment_at(file: &File, hash: usize) -> bool {
    match file.python {
        Some(py) => py
            .tree
            .root_node()
            .descendant_for_byte_range(hash, hash + 1)
            .is_some_and(|n| n.kind() == "comment"),
        None => true,
    }
}

/// Whether `comment` (from its `#` to the end of the line) silences one of `codes`.
fn peer_comment_silences(comment: &str, codes: &[&str]) -> bool {
    let listed = |after: &str| -> Vec<String> {
        after
            .split(|c: char| c == ',' || c == ':' || c.is_whitespace())
            .take_while(|w| !w.starts_with('#'))
            .filter(|w| !w.is_empty())
            .map(str::to_string)
            .collect()
    };
    let lower = comment.to_ascii_lowercase();
    if codes.contains(&ALLOWLIST_SECRET) && lower.contains(ALLOWLIST_SECRET) {
        return true;
    }
    if let Some(at) = lower.find("pylint:") {
        if let Some(eq) = lower[at..].find("disable=") {
            let names = listed(&comment[at + eq + "disable=".len()..]);
            if names.iter().any(|n| codes.contains(&n.as_str())) {
                return true;
            }
        }
    }
    if let Some(at) = lower.find("noqa") {
        let after = &comment[at + "noqa".len()..];
        match after.trim_start().strip_prefix(':') {
            Some(list) => {
                if listed(list).iter().any(|c| codes.contains(&c.as_str())) {
                    return true;
                }
            }
            // A bare `# noqa` silences whatever ruff / flake8 report on the line.
            None => {
                if codes.iter().any(|c| is_flake8_code(c)) {
                    return true;
                }
            }
        }
    }
    if let Some(at) = lower.find("nosec") {
        let tests = listed(&comment[at + "nosec".len()..]);
        let bandit_codes: Vec<&str> = codes
            .iter()
            .copied()
            .filter(|c| is_bandit_code(c))
            .collect();
        let listed_codes: Vec<&String> = tests.iter().filter(|t| is_bandit_code(t)).collect();
        if !bandit_codes.is_empty()
            && (listed_codes.is_empty()
                || listed_codes
                    .iter()
                    .any(|t| bandit_codes.contains(&t.as_str())))
        {
            return true;
        }
    }
    false
}

/// Bandit's test ids: `B` and three digits (`B105`). Bugbear's `B001` is also four characters,
/// which is why the tables list it for flake8 only where it means the same check.
fn is_bandit_code(code: &str) -> bool {
    code.len() == 4
        && code.starts_with('B')
        && code[1..].chars().all(|d| d.is_ascii_digit())
        && code != "B001"
}

/// ruff / flake8 codes (`S105`, `E722`, `B001`): what a bare `# noqa` silences.
fn is_flake8_code(code: &str) -> bool {
    code.len() >= 2
        && code.starts_with(char::is_uppercase)
        && code.chars().any(|c| c.is_ascii_digit())
        && !is_bandit_code(code)
}

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

#[cfg(test)]
mod tests {
    use super::peer_comment_silences;

    #[test]
    fn other_linters_suppressions_of_the_same_check() {
        let secret: &[&str] = &["S105", "B105", "pragma: allowlist secret"];
        assert!(peer_comment_silences("# noqa: S105", secret));
        assert!(peer_comment_silences("# noqa:E501,S105 # why", secret));
        assert!(peer_comment_silences("# noqa", secret));
        assert!(!peer_comment_silences("# noqa: E501", secret));
        assert!(peer_comment_silences("# nosec", secret));
        assert!(peer_comment_silences("# nosec B105", secret));
        assert!(!peer_comment_silences("# nosec B608", secret));
        assert!(peer_comment_silences("# pragma: allowlist secret", secret));
        assert!(!peer_comment_silences("# a secret, see the docs", secret));
        let bare: &[&str] = &["E722", "B001", "bare-except"];
        assert!(peer_comment_silences("# pylint: disable=bare-except", bare));
        assert!(peer_comment_silences(
            "# pylint: disable=broad-except,bare-except",
            bare
        ));
        assert!(!peer_comment_silences(
            "# pylint: disable=broad-except",
            bare
        ));
        let allowlist_only: &[&str] = &["pragma: allowlist secret"];
        assert!(!peer_comment_silences("# noqa", allowlist_only));
        assert!(!peer_comment_silences("# nosec", allowlist_only));
    }
}
