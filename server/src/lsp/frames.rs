//! The bytes between the client and tower-lsp-server.
//!
//! tower-lsp-server stops reading for good at the first frame it cannot decode (its framed
//! reader ends after an error), and it rejects messages any real client may send: a lone
//! surrogate escape in a document's text (what `JSON.stringify` writes for half an emoji), a
//! lower-case `content-length`, a float id. So every frame passes through this decoder first.
//! It frames by `Content-Length` (any case), recovers from a wrong length by finding where the
//! JSON value really ends, replaces lone surrogates and invalid UTF-8 with U+FFFD (one UTF-16
//! unit for one, so positions stay right), and checks the JSON-RPC shape. What tower-lsp-server
//! can take goes on to it, re-framed; for anything else the client gets the JSON-RPC error the
//! specification asks for, and the reason is logged. Nothing here ends the session.
//!
//! The decoder is a plain state machine over bytes (`push`, `next`), so it can be fuzzed
//! without a process; `relay_stdin` and `relay_stdout` wire it to the real streams.

use serde_json::{json, Value};

/// JSON-RPC's "Parse error".
const PARSE_ERROR: i64 = -32700;
/// JSON-RPC's "Invalid Request".
const INVALID_REQUEST: i64 = -32600;

/// What one step of decoding produced.
#[derive(Debug, PartialEq)]
pub struct Decoded {
    /// A message to hand to the language server, valid for it.
    pub message: Option<Value>,
    /// An error response to send back to the client.
    pub response: Option<Value>,
    /// Why something was repaired or refused, for the log.
    pub notes: Vec<String>,
}

impl Decoded {
    fn message(message: Value, notes: Vec<String>) -> Decoded {
        Decoded {
            message: Some(message),
            response: None,
            notes,
        }
    }

    fn refused(id: Value, code: i64, reason: String, mut notes: Vec<String>) -> Decoded {
        let text = match code {
            PARSE_ERROR => "Parse error",
            _ => "Invalid Request",
        };
        notes.push(reason.clone());
        Decoded {
            message: None,
            response: Some(json!({
                "jsonrpc": "2.0",
                "id": id,
                "error": { "code": code, "message": format!("{text}: {reason}") },
            })),
            notes,
        }
    }

    fn note(note: String) -> Decoded {
        Decoded {
            message: None,
            response: None,
            notes: vec![note],
        }
    }
}

/// Frames bytes into messages. `push` what arrives; `next` until it answers `None`.
#[derive(Default)]
pub struct Decoder {
    buffer: Vec<u8>,
    /// How far `length_header_after` has looked.
    searched: usize,
}

/// Where a frame's headers end and what they said.
struct Headers {
    body_start: usize,
    length: Option<usize>,
    notes: Vec<String>,
}

impl Decoder {
    pub fn push(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
    }

    /// Bytes received and not decoded yet.
    pub fn pending(&self) -> usize {
        self.buffer.len()
    }

    /// The next message, error or note, or `None` when more bytes are needed. `idle` says no
    /// more bytes are coming soon (the client is waiting for an answer, or the stream ended):
    /// then a frame whose `Content-Length` overstates its body is taken as far as its JSON
    /// goes, and one that is not JSON is answered with a parse error instead of waited on.
    pub fn next(&mut self, idle: bool) -> Option<Decoded> {
        let skipped = self
            .buffer
            .iter()
            .take_while(|b| b.is_ascii_whitespace())
            .count();
        self.drain(skipped);
        if self.buffer.is_empty() {
            return None;
        }
        if matches!(self.buffer[0], b'{' | b'[') {
            // No headers at all: some hand-written clients send bare JSON.
            return self.take_json_at(
                0,
                idle,
                vec![
                    "a message came without a Content-Length header; taken as it stands"
                        .to_string(),
                ],
            );
        }
        let headers = match self.headers()? {
            Ok(headers) => headers,
            Err(garbage) => return Some(garbage),
        };
        let Some(length) = headers.length else {
            return self.take_json_at(headers.body_start, idle, headers.notes);
        };
        let body_end = headers.body_start.saturating_add(length);
        if self.buffer.len() >= body_end {
            let body = &self.buffer[headers.body_start..body_end];
            let error = match parse_body(body) {
                Ok((value, mut notes)) => {
                    self.drain(body_end);
                    notes.splice(0..0, headers.notes);
                    return Some(classify(value, notes));
                }
                Err(error) => error,
            };
            // The length may be wrong: the value may end later (too short a length) or earlier
            // (too long) with the next frame's headers right after it.
            match json_end(&self.buffer[headers.body_start..]) {
                JsonEnd::Complete(end) => {
                    let after = trim_start(&self.buffer[headers.body_start + end..]);
                    if end != length && (after.is_empty() || starts_like_headers(after)) {
                        let mut notes = headers.notes;
                        notes.push(format!(
                            "Content-Length said {length} bytes but the message is {end}; read as {end}"
                        ));
                        return Some(self.take_value(headers.body_start, end, notes));
                    }
                }
                JsonEnd::Incomplete
                    if !idle && !starts_like_headers(trim_start(&self.buffer[body_end..])) =>
                {
                    return None; // the rest of a longer value may still be on its way
                }
                _ => {}
            }
            self.drain(body_end);
            return Some(Decoded::refused(
                Value::Null,
                PARSE_ERROR,
                format!("the body of a {length}-byte message is not JSON ({error})"),
                headers.notes,
            ));
        }
        // Fewer bytes than announced. Usually the rest is on its way; but a complete value
        // followed by the next frame's headers, or by silence, means the length overstated it.
        if idle || self.length_header_after(headers.body_start) {
            if let JsonEnd::Complete(end) = json_end(&self.buffer[headers.body_start..]) {
                let after = trim_start(&self.buffer[headers.body_start + end..]);
                if (idle && after.is_empty()) || starts_like_headers(after) {
                    let mut notes = headers.notes;
                    notes.push(format!(
                        "Content-Length said {length} bytes but the message ended after {end}; read as {end}"
                    ));
                    return Some(self.take_value(headers.body_start, end, notes));
                }
            }
        }
        None
    }

    /// Whether a `Content-Length` header appears in the buffer after `from`. Remembers how far
    /// it looked, so waiting for a large body costs one pass over it, not one per chunk.
    fn length_header_after(&mut self, from: usize) -> bool {
        let start = from.max(self.searched.saturating_sub(14));
        let found = self.buffer[start..].windows(15).any(is_length_header);
        self.searched = self.buffer.len();
        found
    }

    /// Drops the first `n` bytes (decoded).
    fn drain(&mut self, n: usize) {
        self.buffer.drain(..n);
        self.searched = 0;
    }

    /// The header block at the start of the buffer: `None` while incomplete, `Err` when the
    /// bytes are not headers (skipped up to the next frame that may be).
    fn headers(&mut self) -> Option<Result<Headers, Decoded>> {
        let block_end = find(&self.buffer, b"\r\n\r\n")
            .map(|at| at + 4)
            .or_else(|| find(&self.buffer, b"\n\n").map(|at| at + 2));
        let Some(body_start) = block_end else {
            // A header block still arriving is short printable text; anything else is noise.
            if looks_like_header_text(&self.buffer) && self.buffer.len() < 64 * 1024 {
                return None;
            }
            return Some(Err(self.skip_garbage("bytes that are not a message header")));
        };
        let block = String::from_utf8_lossy(&self.buffer[..body_start]).into_owned();
        let mut length = None;
        let mut notes = Vec::new();
        for line in block.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let Some((name, value)) = line.split_once(':') else {
                return Some(Err(self.skip_garbage("a header line without a colon")));
            };
            let (name, value) = (name.trim(), value.trim());
            // Header names are case-insensitive, as in HTTP, whose framing the specification
            // follows.
            if name.eq_ignore_ascii_case("content-length") {
                match value.parse::<usize>() {
                    Ok(n) => length = Some(n),
                    Err(_) => notes.push(format!(
                        "Content-Length {value:?} is not a number; the message is read as far as its JSON goes"
                    )),
                }
            } else if name.eq_ignore_ascii_case("content-type") {
                let charset = value
                    .split(';')
                    .skip(1)
                    .filter_map(|p| p.trim().strip_prefix("charset="))
                    .next()
                    .map(|c| c.trim_matches('"').to_ascii_lowercase());
                if charset
                    .as_deref()
                    .is_some_and(|c| c != "utf-8" && c != "utf8")
                {
                    notes.push(format!(
                        "Content-Type {value:?}: only UTF-8 is supported; read as UTF-8"
                    ));
                }
            }
        }
        if length.is_none() && notes.is_empty() {
            notes.push(
                "a message came without a Content-Length header; read as far as its JSON goes"
                    .to_string(),
            );
        }
        Some(Ok(Headers {
            body_start,
            length,
            notes,
        }))
    }

    /// Drops bytes up to the next `Content-Length` header (or all of them), with a note.
    fn skip_garbage(&mut self, what: &str) -> Decoded {
        let next = self
            .buffer
            .windows(15)
            .skip(1)
            .position(is_length_header)
            .map_or(self.buffer.len(), |at| at + 1);
        self.drain(next);
        Decoded::note(format!("skipped {next} bytes of {what}"))
    }

    /// A frame with no usable length: the JSON value starting at `start`.
    fn take_json_at(&mut self, start: usize, idle: bool, notes: Vec<String>) -> Option<Decoded> {
        let body = trim_start(&self.buffer[start..]);
        if body.is_empty() && !idle {
            return None;
        }
        if !matches!(body.first(), Some(b'{' | b'[')) {
            // Headers without a length and no JSON after them: noise. What follows may be the
            // next frame's headers, so only up to them goes.
            let mut skipped = self.skip_garbage("headers without a message");
            skipped.notes.splice(0..0, notes);
            return Some(skipped);
        }
        match json_end(&self.buffer[start..]) {
            JsonEnd::Complete(end) => Some(self.take_value(start, end, notes)),
            JsonEnd::Incomplete if !idle => None,
            JsonEnd::Incomplete | JsonEnd::Invalid => {
                let skipped = self.skip_garbage("a message that is not JSON");
                let mut notes = notes;
                notes.extend(skipped.notes);
                Some(Decoded::refused(
                    Value::Null,
                    PARSE_ERROR,
                    "a message that is not JSON".to_string(),
                    notes,
                ))
            }
        }
    }

    /// Takes `buffer[start..start + len]` (known to be one JSON value) and what precedes it.
    fn take_value(&mut self, start: usize, len: usize, notes: Vec<String>) -> Decoded {
        let parsed = parse_body(&self.buffer[start..start + len]);
        self.drain(start + len);
        match parsed {
            Ok((value, more)) => {
                let mut notes = notes;
                notes.extend(more);
                classify(value, notes)
            }
            Err(e) => Decoded::refused(Value::Null, PARSE_ERROR, e, notes),
        }
    }
}

fn is_length_header(window: &[u8]) -> bool {
    window.eq_ignore_ascii_case(b"content-length:")
}

fn starts_like_headers(bytes: &[u8]) -> bool {
    bytes.len() >= 15 && is_length_header(&bytes[..15])
        || bytes.len() >= 13 && bytes[..13].eq_ignore_ascii_case(b"content-type:")
}

fn trim_start(bytes: &[u8]) -> &[u8] {
    let n = bytes.iter().take_while(|b| b.is_ascii_whitespace()).count();
    &bytes[n..]
}

/// Printable ASCII and line breaks: what a header block in progress is made of.
fn looks_like_header_text(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .all(|&b| b == b'\r' || b == b'\n' || (b' '..=b'~').contains(&b))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

enum JsonEnd {
    /// The first value ends at this offset.
    Complete(usize),
    /// The bytes so far are the start of a value.
    Incomplete,
    Invalid,
}

/// Where the JSON value at the start of `bytes` ends, found by balancing brackets outside
/// strings: one linear pass, indifferent to what is inside strings (lone surrogates, invalid
/// UTF-8). Whether the value is valid JSON is for `parse_body` to say.
fn json_end(bytes: &[u8]) -> JsonEnd {
    let start = bytes.len() - trim_start(bytes).len();
    let Some(&first) = bytes.get(start) else {
        return JsonEnd::Incomplete;
    };
    if !matches!(first, b'{' | b'[' | b'"') {
        // A bare scalar: it ends at the first delimiter.
        if !(first == b'-' || first.is_ascii_alphanumeric()) {
            return JsonEnd::Invalid;
        }
        return match bytes[start..]
            .iter()
            .position(|b| b.is_ascii_whitespace() || matches!(b, b',' | b']' | b'}'))
        {
            Some(len) => JsonEnd::Complete(start + len),
            None => JsonEnd::Incomplete,
        };
    }
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for (i, &b) in bytes.iter().enumerate().skip(start) {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => {
                    in_string = false;
                    if depth == 0 {
                        return JsonEnd::Complete(i + 1);
                    }
                }
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                if depth == 0 {
                    return JsonEnd::Invalid;
                }
                depth -= 1;
                if depth == 0 {
                    return JsonEnd::Complete(i + 1);
                }
            }
            _ => {}
        }
    }
    JsonEnd::Incomplete
}

/// The body as JSON, repairing invalid UTF-8 and lone surrogate escapes (each noted).
fn parse_body(body: &[u8]) -> Result<(Value, Vec<String>), String> {
    let mut notes = Vec::new();
    let text = match std::str::from_utf8(body) {
        Ok(text) => std::borrow::Cow::Borrowed(text),
        Err(_) => {
            notes.push("a message held invalid UTF-8; replaced with U+FFFD".to_string());
            String::from_utf8_lossy(body)
        }
    };
    match serde_json::from_str::<Value>(&text) {
        Ok(value) => Ok((value, notes)),
        Err(first) => match replace_lone_surrogates(&text) {
            Some(repaired) => match serde_json::from_str::<Value>(&repaired) {
                Ok(value) => {
                    notes.push(
                        "a message held a lone UTF-16 surrogate escape; replaced with U+FFFD"
                            .to_string(),
                    );
                    Ok((value, notes))
                }
                Err(e) => Err(e.to_string()),
            },
            None => Err(first.to_string()),
        },
    }
}

/// `text` with every `\uD800`-`\uDFFF` escape that is not half of a pair replaced by `\uFFFD`,
/// or `None` when there is none. Escaped backslashes (`\\ud83d` is text, not an escape) are
/// stepped over.
fn replace_lone_surrogates(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let surrogate_at = |at: usize| -> Option<u16> {
        let hex = text.get(at + 2..at + 6)?;
        if bytes.get(at) != Some(&b'\\') || bytes.get(at + 1) != Some(&b'u') {
            return None;
        }
        u16::from_str_radix(hex, 16)
            .ok()
            .filter(|u| (0xD800..=0xDFFF).contains(u))
    };
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            i += 1;
            continue;
        }
        match bytes.get(i + 1) {
            Some(b'u') => {
                let Some(unit) = surrogate_at(i) else {
                    i += 2;
                    continue;
                };
                let paired = (0xD800..0xDC00).contains(&unit)
                    && surrogate_at(i + 6).is_some_and(|low| (0xDC00..=0xDFFF).contains(&low));
                if paired {
                    i += 12;
                    continue;
                }
                let out = out.get_or_insert_with(|| String::with_capacity(text.len()));
                out.push_str(&text[copied..i]);
                out.push_str("\\uFFFD");
                i += 6;
                copied = i;
            }
            Some(_) => i += 2,
            None => break,
        }
    }
    out.map(|mut out| {
        out.push_str(&text[copied..]);
        out
    })
}

/// Whether `id` is one tower-lsp-server takes: an integer in i64, a string, or null.
fn valid_id(id: &Value) -> bool {
    id.is_i64() || id.is_string() || id.is_null()
}

/// The id to answer an invalid message with: its own when it is a number or string (so the
/// client can match the error to what it sent), else null as JSON-RPC asks.
fn answer_id(message: &Value) -> Value {
    match message.get("id") {
        Some(id) if id.is_number() || id.is_string() => id.clone(),
        _ => Value::Null,
    }
}

/// A message tower-lsp-server can take, or the error answering it.
fn classify(message: Value, notes: Vec<String>) -> Decoded {
    let refuse = |reason: &str, notes: Vec<String>| {
        Decoded::refused(
            answer_id(&message),
            INVALID_REQUEST,
            reason.to_string(),
            notes,
        )
    };
    let Some(object) = message.as_object() else {
        let reason = match &message {
            Value::Array(_) => "batches are not part of the Language Server Protocol",
            _ => "a message must be a JSON object",
        };
        return refuse(reason, notes);
    };
    if object.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return refuse("\"jsonrpc\" must be \"2.0\"", notes);
    }
    if let Some(id) = object.get("id") {
        if !valid_id(id) {
            return refuse("an id must be an integer or a string", notes);
        }
    }
    if let Some(method) = object.get("method") {
        if !method.is_string() {
            return refuse("\"method\" must be a string", notes);
        }
        return Decoded::message(message, notes);
    }
    let is_response = object.contains_key("result") || object.contains_key("error");
    if !is_response {
        return refuse(
            "a message needs a \"method\", a \"result\" or an \"error\"",
            notes,
        );
    }
    let error_ok = object.get("error").is_none_or(|e| {
        e.get("code").is_some_and(Value::is_i64) && e.get("message").is_some_and(Value::is_string)
    });
    if !object.contains_key("id") || !error_ok {
        // Nothing is answered to a response; the log says why it was dropped.
        let mut notes = notes;
        notes.push(format!(
            "a response the server cannot read was dropped: {}",
            truncate(&message.to_string(), 200)
        ));
        return Decoded {
            message: None,
            response: None,
            notes,
        };
    }
    Decoded::message(message, notes)
}

fn truncate(text: &str, max: usize) -> &str {
    let mut end = max.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// One frame as the language server writes it.
pub fn encode(message: &Value) -> Vec<u8> {
    let body = message.to_string();
    let mut frame = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    frame.extend_from_slice(body.as_bytes());
    frame
}

/// A `window/logMessage` notification carrying `text`.
pub fn log_message(level: u8, text: &str) -> Value {
    json!({
        "jsonrpc": "2.0",
        "method": "window/logMessage",
        "params": { "type": level, "message": format!("preflight: {text}") },
    })
}

/// Splits a well-formed stream of frames (what tower-lsp-server writes) into whole frames.
#[derive(Default)]
pub struct FrameSplitter {
    buffer: Vec<u8>,
}

impl FrameSplitter {
    pub fn push(&mut self, bytes: &[u8]) -> Vec<Vec<u8>> {
        self.buffer.extend_from_slice(bytes);
        let mut frames = Vec::new();
        while let Some(header_end) = find(&self.buffer, b"\r\n\r\n") {
            let headers = String::from_utf8_lossy(&self.buffer[..header_end]);
            let length = headers
                .lines()
                .filter_map(|l| l.split_once(':'))
                .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
                .and_then(|(_, v)| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            let end = header_end + 4 + length;
            if self.buffer.len() < end {
                break;
            }
            frames.push(self.buffer.drain(..end).collect());
        }
        frames
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(body: &str) -> Vec<u8> {
        format!("Content-Length: {}\r\n\r\n{body}", body.len()).into_bytes()
    }

    fn decode_all(bytes: &[u8]) -> Vec<Decoded> {
        let mut decoder = Decoder::default();
        decoder.push(bytes);
        let mut out = Vec::new();
        while let Some(d) = decoder.next(true) {
            out.push(d);
        }
        out
    }

    const HOVER: &str = r#"{"jsonrpc":"2.0","id":1,"method":"textDocument/hover","params":{}}"#;

    #[test]
    fn a_well_formed_frame_is_one_message() {
        let out = decode_all(&frame(HOVER));
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].message.as_ref().unwrap()["id"], 1);
        assert!(out[0].notes.is_empty() && out[0].response.is_none());
    }

    #[test]
    fn a_lone_surrogate_becomes_a_replacement_character() {
        let body = r#"{"jsonrpc":"2.0","method":"m","params":{"text":"a\ud83d b \\ud83d \ud83d\ude00 \udc00"}}"#;
        let out = decode_all(&frame(body));
        let text = out[0].message.as_ref().unwrap()["params"]["text"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(text, "a\u{FFFD} b \\ud83d 😀 \u{FFFD}");
        assert!(out[0].notes[0].contains("surrogate"));
    }

    #[test]
    fn invalid_messages_are_answered_and_decoding_goes_on() {
        let mut bytes = Vec::new();
        for body in [
            "{}",
            "null",
            "[1,2]",
            r#"{"jsonrpc":"2.0","id":1.5,"method":"m"}"#,
            "{not json",
        ] {
            bytes.extend(frame(body));
        }
        bytes.extend(frame(HOVER));
        let out = decode_all(&bytes);
        let codes: Vec<i64> = out
            .iter()
            .filter_map(|d| d.response.as_ref())
            .map(|r| r["error"]["code"].as_i64().unwrap())
            .collect();
        assert_eq!(
            codes,
            [
                INVALID_REQUEST,
                INVALID_REQUEST,
                INVALID_REQUEST,
                INVALID_REQUEST,
                PARSE_ERROR
            ]
        );
        let float = out
            .iter()
            .filter_map(|d| d.response.as_ref())
            .nth(3)
            .unwrap();
        assert_eq!(float["id"], 1.5);
        assert_eq!(out.last().unwrap().message.as_ref().unwrap()["id"], 1);
    }

    #[test]
    fn header_names_are_case_insensitive_and_lengths_are_checked_against_the_json() {
        let lower = format!("content-length: {}\r\n\r\n{HOVER}", HOVER.len());
        let short = format!("Content-Length: {}\r\n\r\n{HOVER}", HOVER.len() - 10);
        let long = format!("Content-Length: {}\r\n\r\n{HOVER}", HOVER.len() + 10);
        for (what, bytes) in [
            ("lower", lower),
            ("short", short.clone()),
            ("long", long.clone()),
        ] {
            let mut stream = bytes.into_bytes();
            stream.extend(frame(HOVER));
            let messages: Vec<Value> = decode_all(&stream)
                .into_iter()
                .filter_map(|d| d.message)
                .collect();
            assert_eq!(messages.len(), 2, "{what}");
        }
        // A length too long with nothing after it: taken once the client goes quiet.
        let mut decoder = Decoder::default();
        decoder.push(long.as_bytes());
        assert!(decoder.next(false).is_none());
        assert!(decoder.next(true).unwrap().message.is_some());
    }

    #[test]
    fn a_frame_split_anywhere_decodes_the_same() {
        let bytes = [frame(HOVER), frame(HOVER)].concat();
        for cut in 0..bytes.len() {
            let mut decoder = Decoder::default();
            decoder.push(&bytes[..cut]);
            let mut messages = Vec::new();
            while let Some(d) = decoder.next(false) {
                messages.extend(d.message);
            }
            decoder.push(&bytes[cut..]);
            while let Some(d) = decoder.next(false) {
                messages.extend(d.message);
            }
            assert_eq!(messages.len(), 2, "cut at {cut}");
        }
    }

    #[test]
    fn garbage_between_frames_is_skipped_with_a_note() {
        let bytes = [b"\x00\x01garbage\r\n\r\n".to_vec(), frame(HOVER)].concat();
        let out = decode_all(&bytes);
        assert!(out[0].notes[0].starts_with("skipped"), "{out:?}");
        assert!(out.iter().any(|d| d.message.is_some()));
    }

    #[test]
    fn the_splitter_returns_whole_frames() {
        let bytes = [frame(HOVER), frame("{}")].concat();
        let mut splitter = FrameSplitter::default();
        let mut frames = splitter.push(&bytes[..10]);
        frames.extend(splitter.push(&bytes[10..]));
        assert_eq!(frames, [frame(HOVER), frame("{}")]);
    }
}
