//! A `.env` parser that keeps byte spans: comments, `export`, single/double/unquoted values,
//! multi-line quoted values and empty values, following python-dotenv's reading of the format
//! (which docker compose and most loaders share).

use std::ops::Range;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub key: String,
    pub key_range: Range<usize>,
    /// The value as the application sees it (quotes removed, `\n` escapes kept verbatim).
    pub value: String,
    /// The raw value in the file, including its quotes; empty at the end of `KEY=`.
    pub value_range: Range<usize>,
    /// From the start of the key (or `export`) to the end of the line's break, so deleting it
    /// removes the entry cleanly.
    pub line_range: Range<usize>,
    pub quote: Option<char>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    pub range: Range<usize>,
    pub message: String,
}

#[derive(Clone, Debug, Default)]
pub struct DotEnv {
    pub entries: Vec<Entry>,
    pub errors: Vec<ParseError>,
}

pub fn parse(text: &str) -> DotEnv {
    let bytes = text.as_bytes();
    let mut out = DotEnv::default();
    let mut pos = 0;
    while pos < bytes.len() {
        let line_start = pos;
        let line_end = find_line_end(bytes, pos);
        let next_line = skip_break(bytes, line_end);
        let mut i = skip_blanks(bytes, pos, line_end);
        if i == line_end || bytes[i] == b'#' {
            pos = next_line;
            continue;
        }
        if text[i..line_end].starts_with("export ") || text[i..line_end].starts_with("export\t") {
            i = skip_blanks(bytes, i + 6, line_end);
        }
        let key_start = i;
        while i < line_end
            && (bytes[i].is_ascii_alphanumeric() || matches!(bytes[i], b'_' | b'.' | b'-'))
        {
            i += 1;
        }
        let key_end = i;
        i = skip_blanks(bytes, i, line_end);
        if key_start == key_end || i >= line_end || bytes[i] != b'=' {
            out.errors.push(ParseError {
                range: line_start..line_end,
                message: "expected `KEY=value`".to_string(),
            });
            pos = next_line;
            continue;
        }
        i = skip_blanks(bytes, i + 1, line_end);
        let (value, value_range, quote, end) = match bytes.get(i) {
            Some(&q @ (b'"' | b'\'')) if i < line_end => {
                // A quoted value may span lines: look for the closing quote past the line end.
                let mut j = i + 1;
                let mut closed = None;
                while j < bytes.len() {
                    if bytes[j] == b'\\' && q == b'"' {
                        j += 2;
                        continue;
                    }
                    if bytes[j] == q {
                        closed = Some(j);
                        break;
                    }
                    j += 1;
                }
                match closed {
                    Some(close) => {
                        let raw = &text[i + 1..close];
                        let value = if q == b'"' {
                            unescape_double(raw)
                        } else {
                            raw.to_string()
                        };
                        let after = find_line_end(bytes, close + 1);
                        (value, i..close + 1, Some(q as char), after)
                    }
                    None => {
                        out.errors.push(ParseError {
                            range: i..line_end,
                            message: format!("unterminated {} quote", q as char),
                        });
                        let raw = text[i + 1..line_end].to_string();
                        (raw, i..line_end, Some(q as char), line_end)
                    }
                }
            }
            _ => {
                // Unquoted: a `#` preceded by whitespace starts a comment; trailing blanks trimmed.
                let mut j = i;
                let mut end = line_end;
                while j < line_end {
                    if bytes[j] == b'#' && j > i && matches!(bytes[j - 1], b' ' | b'\t') {
                        end = j;
                        break;
                    }
                    j += 1;
                }
                let mut value_end = end;
                while value_end > i && matches!(bytes[value_end - 1], b' ' | b'\t') {
                    value_end -= 1;
                }
                (text[i..value_end].to_string(), i..value_end, None, line_end)
            }
        };
        let entry_end = skip_break(bytes, end);
        out.entries.push(Entry {
            key: text[key_start..key_end].to_string(),
            key_range: key_start..key_end,
            value,
            value_range,
            line_range: line_start..entry_end,
            quote,
        });
        pos = entry_end;
    }
    out
}

fn find_line_end(bytes: &[u8], from: usize) -> usize {
    let mut i = from;
    while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
        i += 1;
    }
    i
}

fn skip_break(bytes: &[u8], at: usize) -> usize {
    match bytes.get(at) {
        Some(b'\r') if bytes.get(at + 1) == Some(&b'\n') => at + 2,
        Some(b'\r' | b'\n') => at + 1,
        _ => at,
    }
}

fn skip_blanks(bytes: &[u8], mut i: usize, end: usize) -> usize {
    while i < end && matches!(bytes[i], b' ' | b'\t') {
        i += 1;
    }
    i
}

fn unescape_double(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some('"') => out.push('"'),
                Some('\\') => out.push('\\'),
                Some(other) => {
                    out.push('\\');
                    out.push(other);
                }
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_forms_loaders_accept() {
        let text = "# comment\nexport A=1\nB = 'two words' # c\nC=\"multi\nline\"\nD=\nE=x # note\r\nF=a#b\nbroken line\n";
        let env = parse(text);
        let pairs: Vec<(&str, &str)> = env
            .entries
            .iter()
            .map(|e| (e.key.as_str(), e.value.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("A", "1"),
                ("B", "two words"),
                ("C", "multi\nline"),
                ("D", ""),
                ("E", "x"),
                ("F", "a#b")
            ]
        );
        assert_eq!(&text[env.entries[1].value_range.clone()], "'two words'");
        assert_eq!(&text[env.entries[0].line_range.clone()], "export A=1\n");
        assert_eq!(
            &text[env.entries[2].line_range.clone()],
            "C=\"multi\nline\"\n"
        );
        assert_eq!(env.errors.len(), 1);
    }

    #[test]
    fn unterminated_quote_is_an_error_not_a_panic() {
        let env = parse("A=\"open\nB=2\n");
        assert_eq!(env.errors.len(), 1);
        assert_eq!(env.entries.len(), 2);
    }
}
