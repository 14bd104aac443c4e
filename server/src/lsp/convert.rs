//! Engine byte ranges <-> LSP positions in the negotiated encoding, and engine diagnostics ->
//! LSP diagnostics.

use std::ops::Range;

use ropey::Rope;
use tower_lsp_server::ls_types::{self as lsp, NumberOrString, Position};

use crate::analysis::{Diagnostic, Severity};
use crate::rule_docs;
use crate::text::{byte_to_position, position_to_byte, LinePosition, PositionEncoding};

pub fn to_line_position(p: Position) -> LinePosition {
    LinePosition {
        line: p.line,
        character: p.character,
    }
}

pub fn to_byte(rope: &Rope, p: Position, encoding: PositionEncoding) -> usize {
    position_to_byte(rope, to_line_position(p), encoding)
}

pub fn to_position(rope: &Rope, byte: usize, encoding: PositionEncoding) -> Position {
    let p = byte_to_position(rope, byte, encoding);
    Position {
        line: p.line,
        character: p.character,
    }
}

pub fn to_range(rope: &Rope, range: &Range<usize>, encoding: PositionEncoding) -> lsp::Range {
    lsp::Range {
        start: to_position(rope, range.start, encoding),
        end: to_position(rope, range.end, encoding),
    }
}

pub fn severity(s: Severity) -> lsp::DiagnosticSeverity {
    match s {
        Severity::Error => lsp::DiagnosticSeverity::ERROR,
        Severity::Warning => lsp::DiagnosticSeverity::WARNING,
        Severity::Info => lsp::DiagnosticSeverity::INFORMATION,
        Severity::Hint => lsp::DiagnosticSeverity::HINT,
    }
}

pub fn to_lsp_diagnostic(
    d: &Diagnostic,
    rope: &Rope,
    encoding: PositionEncoding,
) -> lsp::Diagnostic {
    lsp::Diagnostic {
        range: to_range(rope, &d.range, encoding),
        severity: Some(severity(d.severity)),
        code: Some(NumberOrString::String(d.rule.to_string())),
        code_description: rule_docs::url(d.rule)
            .and_then(|href| href.parse::<lsp::Uri>().ok())
            .map(|href| lsp::CodeDescription { href }),
        source: Some("preflight".to_string()),
        message: d.message.clone(),
        ..Default::default()
    }
}

/// The single replacement that turns `old` into `new`: common prefix and suffix kept.
pub fn minimal_edit(old: &str, new: &str) -> (Range<usize>, String) {
    let mut prefix = old
        .bytes()
        .zip(new.bytes())
        .take_while(|(a, b)| a == b)
        .count();
    while !old.is_char_boundary(prefix) || !new.is_char_boundary(prefix) {
        prefix -= 1;
    }
    let max_suffix = old.len().min(new.len()) - prefix;
    let mut suffix = old
        .bytes()
        .rev()
        .zip(new.bytes().rev())
        .take(max_suffix)
        .take_while(|(a, b)| a == b)
        .count();
    while !old.is_char_boundary(old.len() - suffix) || !new.is_char_boundary(new.len() - suffix) {
        suffix -= 1;
    }
    (
        prefix..old.len() - suffix,
        new[prefix..new.len() - suffix].to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimal_edit_keeps_common_ends() {
        assert_eq!(
            minimal_edit("a = getenv('X', 'd')\n", "a = environ['X']\n"),
            (4..20, "environ['X']".to_string())
        );
        assert_eq!(minimal_edit("héé", "hé"), (3..5, String::new()));
        assert_eq!(minimal_edit("same", "same"), (4..4, String::new()));
    }
}
