//! `# preflight: ignore[ID, ...]` comments. A comment at the end of a line silences findings that
//! start on that line; a comment alone on its line silences the line below. Without `[...]` it
//! silences every rule there.

use std::collections::HashMap;

use super::{Diagnostic, Edit, File};
use crate::syntax::FileKind;
use crate::text::{line_ending, LineIndex};

const MARKER: &str = "preflight: ignore";

/// Other linters' names for the same check as a rule, by tool. A line that already silences one
/// of them (`# noqa: S105`, `# nosec B608`, `# pylint: disable=bare-except`, detect-secrets'
/// `# pragma: allowlist secret`) has been reviewed by the project; reporting it again under
/// another name would only be noise.
struct Peers {
    rule: &'static str,
    /// ruff / flake8 codes, silenced by `# noqa` (bare or listing them).
    ruff: &'static [&'static str],
    /// bandit test ids, silenced by `# nosec` (bare or listing them).
    bandit: &'static [&'static str],
    /// pylint message names and ids, silenced by `# pylint: disable=...`.
    pylint: &'static [&'static str],
    /// detect-secrets' `# pragma: allowlist secret` applies.
    allowlist_secret: bool,
}

const NO_PEERS: Peers = Peers {
    rule: "",
    ruff: &[],
    bandit: &[],
    pylint: &[],
    allowlist_secret: false,
};

const PEERS: &[Peers] = &[
    Peers {
        rule: "CFG001",
        ruff: &["S201"],
        bandit: &["B201"],
        ..NO_PEERS
    },
    Peers {
        rule: "ERR001",
        ruff: &["E722", "B001"],
        pylint: &["bare-except", "W0702"],
        ..NO_PEERS
    },
    Peers {
        rule: "INJ001",
        ruff: &["S608"],
        bandit: &["B608"],
        ..NO_PEERS
    },
    Peers {
        rule: "INJ002",
        ruff: &["S602", "S604", "S605"],
        bandit: &["B602", "B604", "B605"],
        ..NO_PEERS
    },
    Peers {
        rule: "INJ003",
        ruff: &["S301", "S506"],
        bandit: &["B301", "B506"],
        ..NO_PEERS
    },
    Peers {
        rule: "NET001",
        ruff: &["S501", "S323"],
        bandit: &["B501", "B323"],
        ..NO_PEERS
    },
    Peers {
        rule: "NET002",
        ruff: &["S113"],
        bandit: &["B113"],
        ..NO_PEERS
    },
    Peers {
        rule: "SEC004",
        allowlist_secret: true,
        ..NO_PEERS
    },
    Peers {
        rule: "SEC007",
        allowlist_secret: true,
        ..NO_PEERS
    },
    Peers {
        rule: "SEC009",
        ruff: &["S105", "S106", "S107"],
        bandit: &["B105", "B106", "B107"],
        allowlist_secret: true,
        ..NO_PEERS
    },
];

/// detect-secrets' inline allowlist comment.
const ALLOWLIST_SECRET: &str = "pragma: allowlist secret";

fn peers(rule: &str) -> Option<&'static Peers> {
    PEERS.iter().find(|p| p.rule == rule)
}

/// The other linters' suppressions a rule honours on its line (empty for most rules).
pub fn peer_codes(rule: &str) -> Vec<&'static str> {
    let Some(p) = peers(rule) else {
        return Vec::new();
    };
    let mut codes: Vec<&str> = [p.ruff, p.bandit, p.pylint].concat();
    if p.allowlist_secret {
        codes.push(ALLOWLIST_SECRET);
    }
    codes
}

/// Whether the line where `diagnostic` starts carries another linter's suppression of the same
/// check. A bare `# noqa` silences every ruff/flake8 code and a bare `# nosec` every bandit
/// test, as they do for those tools.
pub fn acknowledged_by_peer(file: &File, diagnostic: &Diagnostic) -> bool {
    let Some(peers) = peers(diagnostic.rule) else {
        return false;
    };
    let text = file.text;
    let start = diagnostic.range.start.min(text.len());
    let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
    let line = &text[start..line_end];
    line.match_indices('#')
        .map(|(i, _)| start + i)
        .find(|&hash| is_comment_at(file, hash))
        .is_some_and(|hash| peer_comment_silences(&text[hash..line_end], peers))
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

/// Whether `comment` (from its `#` to the end of the line) silences the check of `peers`.
fn peer_comment_silences(comment: &str, peers: &Peers) -> bool {
    let listed = |after: &str| -> Vec<String> {
        after
            .split(|c: char| c == ',' || c == ':' || c.is_whitespace())
            .take_while(|w| !w.starts_with('#'))
            .filter(|w| !w.is_empty())
            .map(str::to_string)
            .collect()
    };
    let names_one_of =
        |words: &[String], codes: &[&str]| words.iter().any(|w| codes.contains(&w.as_str()));
    let lower = comment.to_ascii_lowercase();
    if peers.allowlist_secret && lower.contains(ALLOWLIST_SECRET) {
        return true;
    }
    if let Some(at) = lower.find("pylint:") {
        if let Some(eq) = lower[at..].find("disable=") {
            if names_one_of(
                &listed(&comment[at + eq + "disable=".len()..]),
                peers.pylint,
            ) {
                return true;
            }
        }
    }
    if !peers.ruff.is_empty() {
        if let Some(at) = lower.find("noqa") {
            let after = &comment[at + "noqa".len()..];
            match after.trim_start().strip_prefix(':') {
                Some(list) if names_one_of(&listed(list), peers.ruff) => return true,
                Some(_) => {}
                None => return true,
            }
        }
    }
    if !peers.bandit.is_empty() {
        if let Some(at) = lower.find("nosec") {
            // Words after `nosec` that are bandit test ids (`B608`); none means every test.
            let tests: Vec<String> = listed(&comment[at + "nosec".len()..])
                .into_iter()
                .filter(|w| {
                    w.len() == 4 && w.starts_with('B') && w[1..].chars().all(|d| d.is_ascii_digit())
                })
                .collect();
            if tests.is_empty() || names_one_of(&tests, peers.bandit) {
                return true;
            }
        }
    }
    false
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
    use super::{peer_comment_silences, Peers, NO_PEERS};

    #[test]
    fn other_linters_suppressions_of_the_same_check() {
        let secret = &Peers {
            ruff: &["S105"],
            bandit: &["B105"],
            allowlist_secret: true,
            ..NO_PEERS
        };
        assert!(peer_comment_silences("# noqa: S105", secret));
        assert!(peer_comment_silences("# noqa:E501,S105 # why", secret));
        assert!(peer_comment_silences("# noqa", secret));
        assert!(!peer_comment_silences("# noqa: E501", secret));
        assert!(peer_comment_silences("# nosec", secret));
        assert!(peer_comment_silences("# nosec B105", secret));
        assert!(!peer_comment_silences("# nosec B608", secret));
        assert!(peer_comment_silences("# pragma: allowlist secret", secret));
        assert!(!peer_comment_silences("# a secret, see the docs", secret));
        let bare = &Peers {
            ruff: &["E722", "B001"],
            pylint: &["bare-except"],
            ..NO_PEERS
        };
        assert!(peer_comment_silences("# pylint: disable=bare-except", bare));
        assert!(peer_comment_silences(
            "# pylint: disable=broad-except,bare-except",
            bare
        ));
        assert!(!peer_comment_silences(
            "# pylint: disable=broad-except",
            bare
        ));
        let allowlist_only = &Peers {
            allowlist_secret: true,
            ..NO_PEERS
        };
        assert!(!peer_comment_silences("# noqa", allowlist_only));
        assert!(!peer_comment_silences("# nosec", allowlist_only));
    }
}
