//! Text positions. Inside the engine every location is a byte range into the file's text; this
//! module is the one place that converts between bytes and the coordinates the edges speak: LSP
//! positions in the negotiated encoding, and 1-based line/column for the command line.

pub mod document;

use std::borrow::Cow;

use ropey::Rope;

/// The unit of `Position.character` agreed with the LSP client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PositionEncoding {
    Utf8,
    Utf16,
    Utf32,
}

/// A zero-based LSP-style position (`character` counted in some [`PositionEncoding`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct LinePosition {
    pub line: u32,
    pub character: u32,
}

/// Byte offset where `line` starts, and the byte offset of its end excluding the line break.
fn line_bounds(rope: &Rope, line: usize) -> (usize, usize) {
    let start = rope.line_to_byte(line);
    let end_with_break = if line + 1 < rope.len_lines() {
        rope.line_to_byte(line + 1)
    } else {
        rope.len_bytes()
    };
    let mut end = end_with_break;
    // LSP line breaks are \n, \r\n and \r (ropey is built with cr_lines only).
    if end > start && rope.byte(end - 1) == b'\n' {
        end -= 1;
    }
    if end > start && rope.byte(end - 1) == b'\r' {
        end -= 1;
    }
    (start, end)
}

/// Converts an LSP position to a byte offset in `rope`. Never fails: a line past the end maps to
/// the end of the text and a character past the end of its line clamps to the line's end (before
/// its line break), as the LSP specification asks. An offset inside a multi-unit character
/// rounds down to the character's start.
pub fn position_to_byte(rope: &Rope, pos: LinePosition, encoding: PositionEncoding) -> usize {
    let line = pos.line as usize;
    if line >= rope.len_lines() {
        return rope.len_bytes();
    }
    let (start, end) = line_bounds(rope, line);
    let character = pos.character as usize;
    match encoding {
        PositionEncoding::Utf8 => {
            let mut byte = (start + character).min(end);
            let char_idx = rope.byte_to_char(byte);
            byte = rope.char_to_byte(char_idx);
            byte
        }
        PositionEncoding::Utf16 => {
            let start_char = rope.byte_to_char(start);
            let end_char = rope.byte_to_char(end);
            let start_cu = rope.char_to_utf16_cu(start_char);
            let end_cu = rope.char_to_utf16_cu(end_char);
            let cu = (start_cu + character).min(end_cu);
            rope.char_to_byte(rope.utf16_cu_to_char(cu))
        }
        PositionEncoding::Utf32 => {
            let start_char = rope.byte_to_char(start);
            let end_char = rope.byte_to_char(end);
            rope.char_to_byte((start_char + character).min(end_char))
        }
    }
}

/// Converts a byte offset (clamped to the text, rounded down to a char boundary) to an LSP
/// position in `encoding`.
pub fn byte_to_position(rope: &Rope, byte: usize, encoding: PositionEncoding) -> LinePosition {
    let byte = byte.min(rope.len_bytes());
    let char_idx = rope.byte_to_char(byte);
    let line = rope.char_to_line(char_idx);
    let line_start_char = rope.line_to_char(line);
    let character = match encoding {
        PositionEncoding::Utf8 => rope.char_to_byte(char_idx) - rope.line_to_byte(line),
        PositionEncoding::Utf16 => {
            rope.char_to_utf16_cu(char_idx) - rope.char_to_utf16_cu(line_start_char)
        }
        PositionEncoding::Utf32 => char_idx - line_start_char,
    };
    LinePosition {
        line: line as u32,
        character: character as u32,
    }
}

/// Line starts of a plain string, for the command line's 1-based line/column output (columns in
/// characters, as editors and SARIF viewers show them).
pub struct LineIndex {
    starts: Vec<usize>,
    /// Characters before every `CHARS_EVERY`-th byte (rounded down to a character boundary),
    /// so a column in a line of megabytes is counted from the nearest checkpoint, not from the
    /// line's start: thousands of findings in one long line stay linear.
    chars_before: Vec<usize>,
}

const CHARS_EVERY: usize = 4096;

impl LineIndex {
    pub fn new(text: &str) -> Self {
        let bytes = text.as_bytes();
        let mut starts = vec![0];
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'\n' => starts.push(i + 1),
                b'\r' if bytes.get(i + 1) != Some(&b'\n') => starts.push(i + 1),
                _ => {}
            }
            i += 1;
        }
        let mut chars_before = Vec::with_capacity(text.len() / CHARS_EVERY + 1);
        let mut counted = 0;
        let mut at = 0;
        while at <= text.len() {
            let checkpoint = floor_char_boundary(text, at);
            counted += text[floor_char_boundary(text, at.saturating_sub(CHARS_EVERY))..checkpoint]
                .chars()
                .count();
            chars_before.push(counted);
            at += CHARS_EVERY;
        }
        LineIndex {
            starts,
            chars_before,
        }
    }

    /// The number of characters in `text[..byte]` (`byte` on a character boundary).
    fn chars_to(&self, text: &str, byte: usize) -> usize {
        let checkpoint = byte / CHARS_EVERY;
        let from = floor_char_boundary(text, checkpoint * CHARS_EVERY);
        self.chars_before[checkpoint] + text[from..byte].chars().count()
    }

    /// Zero-based line of `byte`.
    pub fn line_of(&self, byte: usize) -> usize {
        match self.starts.binary_search(&byte) {
            Ok(line) => line,
            Err(next) => next - 1,
        }
    }

    pub fn line_start(&self, line: usize) -> usize {
        self.starts[line.min(self.starts.len() - 1)]
    }

    pub fn line_count(&self) -> usize {
        self.starts.len()
    }

    /// 1-based line and 1-based column counted in characters.
    pub fn line_column(&self, text: &str, byte: usize) -> (usize, usize) {
        let byte = floor_char_boundary(text, byte.min(text.len()));
        let line = self.line_of(byte);
        let start = self.starts[line];
        let column = if byte - start < CHARS_EVERY {
            text[start..byte].chars().count()
        } else {
            self.chars_to(text, byte) - self.chars_to(text, start)
        };
        (line + 1, column + 1)
    }

    /// Byte range of `line` (zero-based) without its line break.
    pub fn line_range(&self, text: &str, line: usize) -> std::ops::Range<usize> {
        let start = self.line_start(line);
        let mut end = if line + 1 < self.starts.len() {
            self.starts[line + 1]
        } else {
            text.len()
        };
        let bytes = text.as_bytes();
        if end > start && bytes[end - 1] == b'\n' {
            end -= 1;
        }
        if end > start && bytes[end - 1] == b'\r' {
            end -= 1;
        }
        start..end
    }
}

pub fn floor_char_boundary(text: &str, mut byte: usize) -> usize {
    while byte > 0 && !text.is_char_boundary(byte) {
        byte -= 1;
    }
    byte
}

/// The line ending a file mostly uses, so inserted lines match it.
pub fn line_ending(text: &str) -> &'static str {
    match text.find('\n') {
        Some(i) if i > 0 && text.as_bytes()[i - 1] == b'\r' => "\r\n",
        Some(_) => "\n",
        None if text.contains('\r') => "\r",
        None => "\n",
    }
}

/// `text` with every lone `\r` (a classic Mac OS line break, not the start of a `\r\n`) made
/// `\n`, as Python's universal newlines read it. The grammars and the line-based readers only
/// break lines at `\n` (a comment would run to the end of the file); the copy has the same
/// length and the same line breaks as the text, so every byte offset and every line/column
/// found in it is right for the text itself. Borrowed when there is no lone `\r`.
pub fn universal_newlines(text: &str) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    let is_lone_cr = |i: usize| bytes[i] == b'\r' && bytes.get(i + 1) != Some(&b'\n');
    let Some(first) = (0..bytes.len()).find(|&i| is_lone_cr(i)) else {
        return Cow::Borrowed(text);
    };
    let mut copy = bytes.to_vec();
    for (i, byte) in copy.iter_mut().enumerate().skip(first) {
        if is_lone_cr(i) {
            *byte = b'\n';
        }
    }
    // Only ASCII bytes changed, for ASCII bytes: still UTF-8.
    Cow::Owned(String::from_utf8(copy).expect("replacing one ASCII byte by another keeps UTF-8"))
}

/// `content`, made from a [`universal_newlines`] copy of `original` to be inserted into
/// `original`, with its line breaks written the way `original` writes them: `\r` in a file whose
/// lines all end with a lone `\r` (where the copy read `\n`), unchanged otherwise.
pub fn restore_line_breaks(original: &str, content: String) -> String {
    if line_ending(original) == "\r" && content.contains('\n') {
        content.replace('\n', "\r")
    } else {
        content
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(text: &str, enc: PositionEncoding) {
        let rope = Rope::from_str(text);
        for (byte, _) in text
            .char_indices()
            .chain(std::iter::once((text.len(), ' ')))
        {
            // No position sits between the \r and \n of a CRLF.
            if byte > 0
                && text.as_bytes()[byte - 1] == b'\r'
                && text.as_bytes().get(byte) == Some(&b'\n')
            {
                continue;
            }
            let pos = byte_to_position(&rope, byte, enc);
            assert_eq!(
                position_to_byte(&rope, pos, enc),
                byte,
                "{text:?} byte {byte} {enc:?}"
            );
        }
    }

    #[test]
    fn columns_in_long_lines_count_characters() {
        let text = format!("a\n{}é{}\r\nb", "😀x".repeat(5_000), "y".repeat(9_000));
        let index = LineIndex::new(&text);
        for byte in (0..text.len())
            .filter(|&b| text.is_char_boundary(b))
            .step_by(97)
        {
            let line = index.line_of(byte);
            let naive = text[index.line_start(line)..byte].chars().count() + 1;
            assert_eq!(
                index.line_column(&text, byte),
                (line + 1, naive),
                "at {byte}"
            );
        }
    }

    #[test]
    fn positions_roundtrip_in_every_encoding() {
        for text in ["a😊b\nc", "x\r\ny\rz\n", "é\u{2028}ü\n\n", "", "😊😊\r\n😊"] {
            for enc in [
                PositionEncoding::Utf8,
                PositionEncoding::Utf16,
                PositionEncoding::Utf32,
            ] {
                roundtrip(text, enc);
            }
        }
    }

    #[test]
    fn utf16_columns_are_line_relative_and_count_surrogates() {
        let rope = Rope::from_str("😊\na😊b");
        let pos = byte_to_position(&rope, "😊\na😊".len(), PositionEncoding::Utf16);
        assert_eq!(
            pos,
            LinePosition {
                line: 1,
                character: 3
            }
        );
        // character 2 splits the surrogate pair: rounds down to the emoji's start
        let b = position_to_byte(
            &rope,
            LinePosition {
                line: 1,
                character: 2,
            },
            PositionEncoding::Utf16,
        );
        assert_eq!(b, "😊\na".len());
    }

    #[test]
    fn out_of_range_positions_clamp() {
        let rope = Rope::from_str("ab\r\ncd");
        let p = |line, character| LinePosition { line, character };
        assert_eq!(
            position_to_byte(&rope, p(0, 99), PositionEncoding::Utf16),
            2
        );
        assert_eq!(position_to_byte(&rope, p(7, 0), PositionEncoding::Utf16), 6);
        assert_eq!(position_to_byte(&rope, p(1, 99), PositionEncoding::Utf8), 6);
    }

    #[test]
    fn lone_carriage_returns_read_as_line_feeds_and_are_written_back() {
        assert!(matches!(universal_newlines("a\r\nb\n"), Cow::Borrowed(_)));
        let text = "import os\rx = 1\r\ny = 'é'\r\r";
        let read = universal_newlines(text);
        assert_eq!(read, "import os\nx = 1\r\ny = 'é'\n\n");
        // The same lines, at the same offsets.
        let (ours, theirs) = (LineIndex::new(text), LineIndex::new(&read));
        assert_eq!(ours.line_count(), theirs.line_count());
        for at in 0..=text.len() {
            if text.is_char_boundary(at) {
                assert_eq!(ours.line_column(text, at), theirs.line_column(&read, at));
            }
        }
        assert_eq!(
            restore_line_breaks("a\rb\r", "import os\n".to_string()),
            "import os\r"
        );
        assert_eq!(
            restore_line_breaks("a\nb\r", "import os\n".to_string()),
            "import os\n"
        );
    }

    #[test]
    fn unicode_line_separators_are_not_lsp_line_breaks() {
        let rope = Rope::from_str("a\u{2028}b\nc");
        assert_eq!(rope.len_lines(), 2);
        let idx = LineIndex::new("a\u{2028}b\nc");
        assert_eq!(idx.line_count(), 2);
    }
}
