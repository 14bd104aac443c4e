//! A Dockerfile reader. The format is line based, so this is a small parser of its own rather
//! than a grammar (the tree-sitter Dockerfile grammar on crates.io builds against an old
//! tree-sitter): instructions with line continuations (`\`, or the character a `# escape=`
//! directive names), comments inside continued lines, heredocs (`RUN <<EOF ... EOF`), exec
//! (`["a", "b"]`) and shell forms, `ENV`/`ARG` pairs, and build stages. Every piece keeps the
//! byte spans of the file; a continued line's pieces map back through [`Args::file_range`].

use std::ops::Range;

use super::shell::{self, Script, SimpleCommand, Word};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Args {
    /// The instruction's arguments with continuations removed and the pieces joined.
    pub text: String,
    /// (offset in `text`, offset in the file, length) of each joined piece.
    pieces: Vec<(usize, usize, usize)>,
}

impl Args {
    /// The file span of a span of `text`.
    pub fn file_range(&self, range: Range<usize>) -> Range<usize> {
        let start = self.file_offset(range.start, false);
        start
            ..self
                .file_offset(range.end.max(range.start), true)
                .max(start)
    }

    /// An offset at a piece boundary is the end of the earlier piece when it ends a span, the
    /// start of the later one when it starts a span.
    fn file_offset(&self, at: usize, is_end: bool) -> usize {
        let mut last = 0;
        for &(text_start, file_start, len) in &self.pieces {
            let inside = if is_end {
                at <= text_start + len
            } else {
                at < text_start + len
            };
            if inside {
                return file_start + at.saturating_sub(text_start).min(len);
            }
            last = file_start + len;
        }
        last
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Heredoc {
    pub delimiter: String,
    pub body: String,
    pub body_range: Range<usize>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Instruction {
    /// Upper-cased (`RUN`, `COPY`, ...).
    pub keyword: String,
    pub keyword_range: Range<usize>,
    pub args: Args,
    /// From the keyword to the end of its last line (line break excluded), heredocs included.
    pub range: Range<usize>,
    pub heredocs: Vec<Heredoc>,
}

/// A word of an instruction's arguments (`--from=builder`, `.`, `/app`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArgWord {
    pub text: String,
    pub range: Range<usize>,
}

/// One `KEY=value` of `ENV` or `ARG`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyValue {
    pub key: String,
    pub key_range: Range<usize>,
    pub value: Option<String>,
    pub value_range: Option<Range<usize>>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stage {
    /// The `FROM` instruction's index.
    pub from: usize,
    pub base: String,
    pub name: Option<String>,
    /// Indices of the stage's instructions, `FROM` included.
    pub instructions: Range<usize>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Dockerfile {
    pub instructions: Vec<Instruction>,
    pub stages: Vec<Stage>,
    /// Lines that are not an instruction.
    pub errors: Vec<Range<usize>>,
}

const KEYWORDS: &[&str] = &[
    "ADD",
    "ARG",
    "CMD",
    "COPY",
    "ENTRYPOINT",
    "ENV",
    "EXPOSE",
    "FROM",
    "HEALTHCHECK",
    "LABEL",
    "MAINTAINER",
    "ONBUILD",
    "RUN",
    "SHELL",
    "STOPSIGNAL",
    "USER",
    "VOLUME",
    "WORKDIR",
];

struct Line {
    start: usize,
    /// End of the content (line break excluded).
    end: usize,
    /// Start of the next line.
    next: usize,
}

fn lines(text: &str) -> Vec<Line> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    while start < bytes.len() {
        let mut end = start;
        while end < bytes.len() && bytes[end] != b'\n' && bytes[end] != b'\r' {
            end += 1;
        }
        let next = match bytes.get(end) {
            Some(b'\r') if bytes.get(end + 1) == Some(&b'\n') => end + 2,
            Some(_) => end + 1,
            None => end,
        };
        out.push(Line { start, end, next });
        start = next;
    }
    out
}

pub fn parse(text: &str) -> Dockerfile {
    let lines = lines(text);
    let mut escape = '\\';
    let mut out = Dockerfile::default();
    let mut i = 0;
    let mut directives_allowed = true;
    while i < lines.len() {
        let line = &lines[i];
        let content = &text[line.start..line.end];
        let trimmed = content.trim_start();
        if trimmed.is_empty() {
            i += 1;
            continue;
        }
        if let Some(comment) = trimmed.strip_prefix('#') {
            // Parser directives come before anything else: `# escape=`` ` (Windows images).
            if directives_allowed {
                if let Some((key, value)) = comment.split_once('=') {
                    if key.trim().eq_ignore_ascii_case("escape") {
                        if let Some(c) = value.trim().chars().next() {
                            escape = c;
                        }
                    }
                }
            }
            i += 1;
            continue;
        }
        directives_allowed = false;
        let keyword_start = line.start + (content.len() - trimmed.len());
        let keyword_len = trimmed
            .find(|c: char| c.is_whitespace())
            .unwrap_or(trimmed.len());
        let keyword = trimmed[..keyword_len].to_ascii_uppercase();
        if !KEYWORDS.contains(&keyword.as_str()) {
            out.errors.push(line.start..line.end);
            // Skip the continuation lines of the broken instruction as well.
            while i < lines.len() && ends_with_escape(&text[lines[i].start..lines[i].end], escape) {
                i += 1;
            }
            i += 1;
            continue;
        }
        let keyword_range = keyword_start..keyword_start + keyword_len;
        let mut pieces = Vec::new();
        let mut joined = String::new();
        let mut piece_start = keyword_range.end;
        let mut piece_end = line.end;
        let mut last_end = line.end;
        loop {
            let piece = &text[piece_start..piece_end];
            let continued = ends_with_escape(piece, escape);
            let kept = if continued {
                piece.trim_end().strip_suffix(escape).unwrap_or(piece)
            } else {
                piece
            };
            pieces.push((joined.len(), piece_start, kept.len()));
            joined.push_str(kept);
            if !continued {
                break;
            }
            // Continuation: the next line that is not empty and not a comment.
            i += 1;
            while i < lines.len() {
                let next = &text[lines[i].start..lines[i].end];
                let t = next.trim_start();
                if t.is_empty() || t.starts_with('#') {
                    i += 1;
                    continue;
                }
                break;
            }
            if i >= lines.len() {
                break;
            }
            piece_start = lines[i].start;
            piece_end = lines[i].end;
            last_end = lines[i].end;
        }
        let args = Args {
            text: joined,
            pieces,
        };
        // Heredocs: `<<EOF` / `<<-EOF` / `<<"EOF"` open bodies that follow the instruction.
        let mut heredocs = Vec::new();
        for delimiter in heredoc_delimiters(&args.text) {
            let body_start = lines.get(i + 1).map(|l| l.start).unwrap_or(text.len());
            let mut body_end = body_start;
            let mut found = false;
            while i + 1 < lines.len() {
                i += 1;
                let l = &lines[i];
                if text[l.start..l.end].trim() == delimiter {
                    last_end = l.end;
                    found = true;
                    break;
                }
                body_end = l.next;
                last_end = l.end;
            }
            if !found {
                out.errors.push(body_start..text.len());
            }
            heredocs.push(Heredoc {
                delimiter,
                body: text[body_start..body_end.max(body_start)].to_string(),
                body_range: body_start..body_end.max(body_start),
            });
        }
        out.instructions.push(Instruction {
            keyword,
            keyword_range: keyword_range.clone(),
            args,
            range: keyword_range.start..last_end,
            heredocs,
        });
        i += 1;
    }
    out.stages = stages(&out.instructions);
    out
}

fn ends_with_escape(piece: &str, escape: char) -> bool {
    piece.trim_end().ends_with(escape)
}

fn heredoc_delimiters(args: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = args;
    while let Some(at) = rest.find("<<") {
        let after = rest[at + 2..].trim_start_matches('-');
        let quoted = after.starts_with(['"', '\'']);
        let name: String = after
            .trim_start_matches(['"', '\''])
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() && (quoted || after.starts_with(|c: char| c.is_ascii_alphabetic())) {
            out.push(name);
        }
        rest = &rest[at + 2..];
    }
    out
}

fn stages(instructions: &[Instruction]) -> Vec<Stage> {
    let mut stages: Vec<Stage> = Vec::new();
    for (i, instruction) in instructions.iter().enumerate() {
        if instruction.keyword != "FROM" {
            continue;
        }
        if let Some(last) = stages.last_mut() {
            last.instructions.end = i;
        }
        let words: Vec<ArgWord> = instruction
            .words()
            .into_iter()
            .filter(|w| !w.text.starts_with("--"))
            .collect();
        let base = words.first().map(|w| w.text.clone()).unwrap_or_default();
        let name = match words.get(1) {
            Some(w) if w.text.eq_ignore_ascii_case("as") => words.get(2).map(|n| n.text.clone()),
            _ => None,
        };
        stages.push(Stage {
            from: i,
            base,
            name,
            instructions: i..instructions.len(),
        });
    }
    stages
}

impl Instruction {
    /// The arguments split at white space, with their file spans.
    pub fn words(&self) -> Vec<ArgWord> {
        let mut out = Vec::new();
        let text = &self.args.text;
        let mut start = None;
        for (at, c) in text.char_indices() {
            match (c.is_whitespace(), start) {
                (false, None) => start = Some(at),
                (true, Some(s)) => {
                    out.push(ArgWord {
                        text: text[s..at].to_string(),
                        range: self.args.file_range(s..at),
                    });
                    start = None;
                }
                _ => {}
            }
        }
        if let Some(s) = start {
            out.push(ArgWord {
                text: text[s..].to_string(),
                range: self.args.file_range(s..text.len()),
            });
        }
        out
    }

    /// A `COPY`/`ADD`'s sources and destination, its `--flags` left out.
    pub fn copy_operands(&self) -> Option<(Vec<ArgWord>, ArgWord)> {
        if !matches!(self.keyword.as_str(), "COPY" | "ADD") {
            return None;
        }
        let mut words: Vec<ArgWord> = self
            .words()
            .into_iter()
            .filter(|w| !w.text.starts_with("--"))
            .collect();
        let destination = words.pop()?;
        (!words.is_empty()).then_some((words, destination))
    }

    /// The stage or image a `COPY --from=...` copies out of.
    pub fn copy_from(&self) -> Option<String> {
        self.words()
            .into_iter()
            .find_map(|w| w.text.strip_prefix("--from=").map(str::to_string))
    }

    /// Exec form (`["gunicorn", "app.wsgi"]`): the words, each spanning its JSON string.
    pub fn exec_form(&self) -> Option<Vec<Word>> {
        let trimmed = self.args.text.trim();
        if !trimmed.starts_with('[') {
            return None;
        }
        let words: Vec<String> = serde_json::from_str(trimmed).ok()?;
        let lead = self.args.text.len() - self.args.text.trim_start().len();
        let mut search = lead;
        let mut out = Vec::new();
        for word in words {
            // Each element is a JSON string: find its quoted text after the previous one.
            let quoted = serde_json::to_string(&word).ok()?;
            let range = match self.args.text[search..].find(&quoted) {
                Some(at) => {
                    let start = search + at;
                    search = start + quoted.len();
                    self.args.file_range(start..start + quoted.len())
                }
                None => self.args.file_range(lead..self.args.text.len()),
            };
            out.push(Word { text: word, range });
        }
        Some(out)
    }

    /// The commands the instruction runs (`RUN`, `CMD`, `ENTRYPOINT`, `HEALTHCHECK CMD`):
    /// exec form as one command, shell form and heredoc bodies read as shell.
    pub fn commands(&self) -> Script {
        if let Some(words) = self.exec_form() {
            let range = self.args.file_range(0..self.args.text.len());
            let mut script = Script::default();
            if !words.is_empty() {
                script.commands.push(SimpleCommand {
                    words,
                    range,
                    env: Vec::new(),
                });
            }
            return script;
        }
        let mut script = shell::read_embedded(&self.args.text, &|r| self.args.file_range(r));
        for heredoc in &self.heredocs {
            let base = heredoc.body_range.start;
            let body = shell::read_embedded(&heredoc.body, &|r| base + r.start..base + r.end);
            script.commands.extend(body.commands);
            script.assignments.extend(body.assignments);
            script.expansions.extend(body.expansions);
        }
        script
    }

    /// `ENV K=V K2="v 2"`, the legacy `ENV K value with spaces`, and `ARG K[=default]`.
    pub fn key_values(&self) -> Vec<KeyValue> {
        let text = &self.args.text;
        let bytes = text.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        let skip_blank = |mut i: usize| {
            while i < bytes.len() && (bytes[i] as char).is_whitespace() {
                i += 1;
            }
            i
        };
        i = skip_blank(i);
        // The legacy form: the first word has no `=`.
        let first_end = text[i..]
            .find(char::is_whitespace)
            .map_or(text.len(), |e| i + e);
        if self.keyword == "ENV" && !text[i..first_end].contains('=') && first_end < text.len() {
            let value_start = skip_blank(first_end);
            let value = text[value_start..].trim_end();
            out.push(KeyValue {
                key: text[i..first_end].to_string(),
                key_range: self.args.file_range(i..first_end),
                value: Some(value.to_string()),
                value_range: Some(self.args.file_range(value_start..value_start + value.len())),
            });
            return out;
        }
        while i < bytes.len() {
            let key_start = i;
            while i < bytes.len() && bytes[i] != b'=' && !(bytes[i] as char).is_whitespace() {
                i += 1;
            }
            let key_end = i;
            if key_end == key_start {
                i += 1;
                continue;
            }
            let mut kv = KeyValue {
                key: text[key_start..key_end].to_string(),
                key_range: self.args.file_range(key_start..key_end),
                value: None,
                value_range: None,
            };
            if i < bytes.len() && bytes[i] == b'=' {
                i += 1;
                let value_start = i;
                let mut value = String::new();
                let mut quote: Option<u8> = None;
                while i < bytes.len() {
                    let b = bytes[i];
                    match quote {
                        Some(q) if b == q => quote = None,
                        Some(b'"') if b == b'\\' && i + 1 < bytes.len() => {
                            i += 1;
                            value.push(bytes[i] as char);
                        }
                        Some(_) => value.push_str(&text[i..i + utf8_len(b)]),
                        None if b == b'"' || b == b'\'' => quote = Some(b),
                        None if (b as char).is_whitespace() => break,
                        None if b == b'\\' && i + 1 < bytes.len() => {
                            i += 1;
                            value.push(bytes[i] as char);
                        }
                        None => value.push_str(&text[i..i + utf8_len(b)]),
                    }
                    i += utf8_len(bytes[i]);
                }
                kv.value = Some(value);
                kv.value_range = Some(self.args.file_range(value_start..i));
            }
            out.push(kv);
            i = skip_blank(i);
        }
        out
    }
}

fn utf8_len(first: u8) -> usize {
    match first {
        0x00..=0x7f => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xff => 4,
        _ => 1,
    }
}

impl Dockerfile {
    pub fn final_stage(&self) -> Option<&Stage> {
        self.stages.last()
    }

    pub fn stage_instructions(&self, stage: &Stage) -> &[Instruction] {
        &self.instructions[stage.instructions.clone()]
    }

    /// The final stage and the stages it is built `FROM`, transitively: their layers are the
    /// image's layers.
    pub fn stages_under_final_image(&self) -> Vec<usize> {
        let Some(mut current) = self.stages.len().checked_sub(1) else {
            return Vec::new();
        };
        let mut chain = vec![current];
        while let Some(parent) = self.stages.iter().position(|s| {
            s.name
                .as_deref()
                .is_some_and(|n| n.eq_ignore_ascii_case(&self.stages[current].base))
        }) {
            if chain.contains(&parent) {
                break;
            }
            chain.push(parent);
            current = parent;
        }
        chain
    }

    /// The stages whose files reach the final image: the final stage, the stages it is built
    /// `FROM`, and those it copies from (`COPY --from=builder`), followed transitively.
    pub fn stages_in_final_image(&self) -> Vec<usize> {
        let Some(last) = self.stages.len().checked_sub(1) else {
            return Vec::new();
        };
        let mut reached = vec![last];
        let mut i = 0;
        while i < reached.len() {
            let stage = &self.stages[reached[i]];
            let mut sources = vec![stage.base.clone()];
            for instruction in self.stage_instructions(stage) {
                if matches!(instruction.keyword.as_str(), "COPY" | "ADD") {
                    sources.extend(instruction.copy_from());
                }
            }
            for source in sources {
                let found = self
                    .stages
                    .iter()
                    .position(|s| {
                        s.name
                            .as_deref()
                            .is_some_and(|n| n.eq_ignore_ascii_case(&source))
                    })
                    .or_else(|| {
                        source
                            .parse::<usize>()
                            .ok()
                            .filter(|n| *n < self.stages.len())
                    });
                if let Some(found) = found {
                    if !reached.contains(&found) {
                        reached.push(found);
                    }
                }
            }
            i += 1;
        }
        reached
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instructions_continuations_and_stages() {
        let text = "# syntax=docker/dockerfile:1\nFROM python:3.12 AS build\nRUN pip install \\\n    # a comment\n    -r requirements.txt\nFROM python:3.12-slim\nCOPY --from=build /venv /venv\nENV A=1 B=\"two words\"\nENV LEGACY some value\nUSER app\nCMD [\"gunicorn\", \"app.wsgi\"]\n";
        let file = parse(text);
        assert!(file.errors.is_empty(), "{:?}", file.errors);
        let keywords: Vec<&str> = file
            .instructions
            .iter()
            .map(|i| i.keyword.as_str())
            .collect();
        assert_eq!(
            keywords,
            ["FROM", "RUN", "FROM", "COPY", "ENV", "ENV", "USER", "CMD"]
        );
        assert_eq!(file.stages.len(), 2);
        assert_eq!(file.stages[0].name.as_deref(), Some("build"));
        assert_eq!(file.stages_in_final_image(), [1, 0]);
        let run = &file.instructions[1];
        let words = run.words();
        assert_eq!(words[words.len() - 2].text, "-r");
        let commands = run.commands();
        let last = commands.commands[0].words.last().unwrap();
        assert_eq!(last.text, "requirements.txt");
        assert_eq!(&text[last.range.clone()], "requirements.txt");
        let env = file.instructions[4].key_values();
        assert_eq!(env[1].key, "B");
        assert_eq!(env[1].value.as_deref(), Some("two words"));
        assert_eq!(&text[env[1].value_range.clone().unwrap()], "\"two words\"");
        let legacy = file.instructions[5].key_values();
        assert_eq!(legacy[0].value.as_deref(), Some("some value"));
        let cmd = file.instructions[7].exec_form().unwrap();
        assert_eq!(cmd[1].text, "app.wsgi");
        assert_eq!(&text[cmd[1].range.clone()], "\"app.wsgi\"");
    }

    #[test]
    fn heredocs_and_broken_lines() {
        let text =
            "FROM alpine\nRUN <<EOF\npython manage.py migrate\nEOF\nNOTAKEYWORD x\nUSER 1000\n";
        let file = parse(text);
        assert_eq!(file.errors.len(), 1);
        let run = &file.instructions[1];
        let commands = run.commands();
        assert!(commands
            .commands
            .iter()
            .any(|c| &text[c.range.clone()] == "python manage.py migrate"));
        assert_eq!(file.instructions.last().unwrap().keyword, "USER");
    }
}
