//! Shell with tree-sitter-bash: the simple commands a script runs (with their words unquoted),
//! its variable assignments (`export X=...`, `X=...`) and parameter expansions with defaults
//! (`${X:-default}`). The same reading serves every command line Preflight sees: entrypoint
//! scripts, Dockerfile `RUN`/`CMD`, compose `command:` and Procfile lines; `sh -c "..."` is read
//! into as well.

use std::ops::Range;

use tree_sitter::{Node, Tree};

/// Parses `text`, reusing `old` (already `edit`ed) for an incremental reparse.
pub fn parse_tree(text: &str, old: Option<&Tree>) -> Tree {
    super::parse_with("bash", || tree_sitter_bash::LANGUAGE.into(), text, old)
}

/// One word of a command line, as the program receives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Word {
    pub text: String,
    pub range: Range<usize>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimpleCommand {
    /// The command name first, then its arguments.
    pub words: Vec<Word>,
    pub range: Range<usize>,
    /// `NAME=value` prefixes (`DJANGO_SETTINGS_MODULE=x gunicorn ...`).
    pub env: Vec<Assignment>,
}

impl SimpleCommand {
    pub fn name(&self) -> &str {
        self.words.first().map(|w| w.text.as_str()).unwrap_or("")
    }

    /// The program and its arguments with wrappers looked through: `exec`, `env X=1`, `nohup`,
    /// `gosu user`, `su-exec user`, `poetry run`, `uv run`, `pipenv run`, `python -m`.
    pub fn program(&self) -> &[Word] {
        let mut words = &self.words[..];
        loop {
            let Some(first) = words.first() else {
                return words;
            };
            let base = first.text.rsplit('/').next().unwrap_or(&first.text);
            let skip = match base {
                "exec" | "nohup" | "time" | "command" | "sudo" | "dumb-init" | "tini" => 1,
                "env" => {
                    1 + words[1..]
                        .iter()
                        .take_while(|w| w.text.contains('=') || w.text.starts_with('-'))
                        .count()
                }
                "gosu" | "su-exec" => 2,
                "poetry" | "uv" | "pipenv" | "pdm" | "rye" | "hatch"
                    if words.get(1).is_some_and(|w| w.text == "run") =>
                {
                    2
                }
                "--" => 1,
                _ => 0,
            };
            if skip == 0 || skip > words.len() {
                return words;
            }
            words = &words[skip..];
            if words.first().is_some_and(|w| w.text == "--") {
                words = &words[1..];
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assignment {
    pub name: String,
    pub name_range: Range<usize>,
    pub value: Option<Word>,
    /// `export NAME=value` (or `declare -x`).
    pub exported: bool,
    pub range: Range<usize>,
}

/// `${NAME:-default}` and its kin: `-`, `:-`, `=`, `:=` give a default; `?`, `:?` fail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expansion {
    pub name: String,
    pub name_range: Range<usize>,
    pub operator: String,
    pub default: Option<Word>,
    pub range: Range<usize>,
}

impl Expansion {
    pub fn gives_default(&self) -> bool {
        matches!(self.operator.as_str(), "-" | ":-" | "=" | ":=")
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Script {
    pub commands: Vec<SimpleCommand>,
    pub assignments: Vec<Assignment>,
    pub expansions: Vec<Expansion>,
    pub errors: usize,
}

/// Scripts inside scripts (`sh -c "sh -c '...'"`) are read this deep.
const MAX_NESTING: usize = 3;

pub fn parse(text: &str) -> Script {
    let tree = parse_tree(text, None);
    read(&tree, text)
}

/// Reads a parse of a whole script file.
pub fn read(tree: &Tree, text: &str) -> Script {
    let mut script = Script {
        errors: super::python::error_count(tree),
        ..Script::default()
    };
    collect(tree.root_node(), text, &|r| r, 0, &mut script);
    script
}

/// The commands of a command line embedded in another file (a compose `command:` string, a
/// Dockerfile `RUN`). `locate` maps a byte range of `text` to the file's bytes.
pub fn read_embedded(text: &str, locate: &dyn Fn(Range<usize>) -> Range<usize>) -> Script {
    let tree = parse_tree(text, None);
    let mut script = Script::default();
    collect(tree.root_node(), text, locate, 0, &mut script);
    script
}

fn collect(
    root: Node,
    source: &str,
    locate: &dyn Fn(Range<usize>) -> Range<usize>,
    nesting: usize,
    out: &mut Script,
) {
    // An explicit stack: a script of 100,000 nested `(` must not overflow ours.
    let mut stack: Vec<(Node, bool)> = vec![(root, false)];
    while let Some((node, in_declaration)) = stack.pop() {
        match node.kind() {
            "command" => {
                if let Some(command) = simple_command(node, source, locate) {
                    let inner = inline_script(&command, node, source);
                    out.commands.push(command);
                    if let (Some((script_node, offset)), true) = (inner, nesting < MAX_NESTING) {
                        let text = &source[script_node.clone()];
                        let nested = |r: Range<usize>| match offset {
                            Some(start) => locate(start + r.start..start + r.end),
                            None => locate(script_node.clone()),
                        };
                        let tree = parse_tree(text, None);
                        collect(tree.root_node(), text, &nested, nesting + 1, out);
                    }
                }
            }
            "variable_assignment" => {
                if let Some(assignment) = assignment(node, source, locate, in_declaration) {
                    out.assignments.push(assignment);
                }
            }
            "expansion" => {
                if let Some(expansion) = expansion(node, source, locate) {
                    out.expansions.push(expansion);
                }
            }
            _ => {}
        }
        let exported = node.kind() == "declaration_command"
            && node
                .child(0)
                .is_some_and(|k| matches!(&source[k.byte_range()], "export"));
        let mut cursor = node.walk();
        let children: Vec<Node> = node.children(&mut cursor).collect();
        for child in children.into_iter().rev() {
            stack.push((
                child,
                exported || (in_declaration && node.kind() != "command"),
            ));
        }
    }
}

/// For `sh -c 'script'` / `bash -c "script"`: the script argument's content span, and whether
/// offsets inside it are offsets in the source (`Some(start)`) or not (escapes, expansions).
fn inline_script(
    command: &SimpleCommand,
    node: Node,
    source: &str,
) -> Option<(Range<usize>, Option<usize>)> {
    let program = command.program();
    let shell = program.first()?.text.rsplit('/').next()?.to_string();
    if !matches!(shell.as_str(), "sh" | "bash" | "ash" | "dash" | "zsh") {
        return None;
    }
    let flag = program
        .iter()
        .position(|w| w.text == "-c" || w.text == "-ec")?;
    let script = program.get(flag + 1)?;
    // Find the argument node whose text is the script, to know its span in this source.
    let mut cursor = node.walk();
    let argument = node
        .children(&mut cursor)
        .filter(|c| node_text(*c, source).0 == script.text)
        .last()?;
    let (text, _) = node_text(argument, source);
    let raw = &source[argument.byte_range()];
    // Inside the quotes, when both are there (an unterminated string has only the first).
    let quoted = matches!(argument.kind(), "string" | "raw_string")
        && raw.len() >= 2
        && raw.starts_with(['"', '\''])
        && raw.ends_with(&raw[..1]);
    let content = if quoted {
        argument.start_byte() + 1..argument.end_byte() - 1
    } else {
        argument.byte_range()
    };
    let verbatim = source[content.clone()] == text || raw == text;
    Some((content.clone(), verbatim.then_some(content.start)))
}

fn simple_command(
    node: Node,
    source: &str,
    locate: &dyn Fn(Range<usize>) -> Range<usize>,
) -> Option<SimpleCommand> {
    let mut words = Vec::new();
    let mut env = Vec::new();
    let mut cursor = node.walk();
    for (i, child) in node.children(&mut cursor).enumerate() {
        let field = node.field_name_for_child(i as u32);
        match (field, child.kind()) {
            (Some("name"), _) => {
                let word = child.named_child(0).unwrap_or(child);
                words.insert(0, make_word(word, source, locate));
            }
            (Some("argument"), _) => words.push(make_word(child, source, locate)),
            (_, "variable_assignment") => {
                if let Some(a) = assignment(child, source, locate, false) {
                    env.push(a);
                }
            }
            _ => {}
        }
    }
    if words.is_empty() {
        return None;
    }
    Some(SimpleCommand {
        words,
        range: locate(node.byte_range()),
        env,
    })
}

fn make_word(node: Node, source: &str, locate: &dyn Fn(Range<usize>) -> Range<usize>) -> Word {
    Word {
        text: node_text(node, source).0,
        range: locate(node.byte_range()),
    }
}

/// A word's value after quote removal, and whether that is exactly its source text.
fn node_text(node: Node, source: &str) -> (String, bool) {
    let raw = &source[node.byte_range()];
    let text = match node.kind() {
        "word" => unescape(raw),
        "raw_string" => raw
            .strip_prefix('\'')
            .and_then(|r| r.strip_suffix('\''))
            .unwrap_or(raw)
            .to_string(),
        "string" => {
            let inner = raw
                .strip_prefix('"')
                .and_then(|r| r.strip_suffix('"'))
                .unwrap_or(raw);
            unescape_double(inner)
        }
        "concatenation" => {
            let mut cursor = node.walk();
            let parts: Vec<Node> = node.children(&mut cursor).collect();
            parts.iter().map(|p| node_text(*p, source).0).collect()
        }
        _ => raw.to_string(),
    };
    let same = text == raw;
    (text, same)
}

fn unescape(raw: &str) -> String {
    if !raw.contains('\\') {
        return raw.to_string();
    }
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('\n') | None => {}
                Some(other) => out.push(other),
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn unescape_double(raw: &str) -> String {
    if !raw.contains('\\') {
        return raw.to_string();
    }
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' && matches!(chars.peek(), Some('"' | '\\' | '$' | '`' | '\n')) {
            match chars.next() {
                Some('\n') => {}
                Some(other) => out.push(other),
                None => {}
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn assignment(
    node: Node,
    source: &str,
    locate: &dyn Fn(Range<usize>) -> Range<usize>,
    exported: bool,
) -> Option<Assignment> {
    let name = node.child_by_field_name("name")?;
    let value = node.child_by_field_name("value");
    Some(Assignment {
        name: source[name.byte_range()].to_string(),
        name_range: locate(name.byte_range()),
        value: value.map(|v| make_word(v, source, locate)),
        exported,
        range: locate(node.byte_range()),
    })
}

fn expansion(
    node: Node,
    source: &str,
    locate: &dyn Fn(Range<usize>) -> Range<usize>,
) -> Option<Expansion> {
    let mut name = None;
    let mut operator = None;
    let mut default = None;
    let mut cursor = node.walk();
    for (i, child) in node.children(&mut cursor).enumerate() {
        if node.field_name_for_child(i as u32) == Some("operator") {
            operator = Some(source[child.byte_range()].to_string());
            continue;
        }
        match child.kind() {
            "variable_name" if name.is_none() => name = Some(child),
            "${" | "}" => {}
            _ if operator.is_some() && default.is_none() => {
                default = Some(make_word(child, source, locate))
            }
            _ => {}
        }
    }
    let name = name?;
    Some(Expansion {
        name: source[name.byte_range()].to_string(),
        name_range: locate(name.byte_range()),
        operator: operator.unwrap_or_default(),
        default,
        range: locate(node.byte_range()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_assignments_and_defaults() {
        let text = "#!/bin/sh\nexport SECRET_KEY=abc DB=${DB_PASSWORD:-postgres}\npython manage.py migrate --noinput && exec gunicorn \"a.wsgi:application\" --bind 0.0.0.0:${PORT-8000}\nX=1 y='q'\n";
        let script = parse(text);
        let names: Vec<&str> = script.commands.iter().map(|c| c.name()).collect();
        assert_eq!(names, ["python", "exec"]);
        let gunicorn = &script.commands[1];
        let program: Vec<&str> = gunicorn.program().iter().map(|w| w.text.as_str()).collect();
        assert_eq!(program[..2], ["gunicorn", "a.wsgi:application"]);
        let exported: Vec<(&str, bool)> = script
            .assignments
            .iter()
            .map(|a| (a.name.as_str(), a.exported))
            .collect();
        assert_eq!(
            exported,
            [
                ("SECRET_KEY", true),
                ("DB", true),
                ("X", false),
                ("y", false)
            ]
        );
        let db = &script.expansions[0];
        assert_eq!(
            (db.name.as_str(), db.operator.as_str()),
            ("DB_PASSWORD", ":-")
        );
        assert_eq!(db.default.as_ref().unwrap().text, "postgres");
        assert_eq!(
            &text[db.default.as_ref().unwrap().range.clone()],
            "postgres"
        );
        assert_eq!(script.expansions[1].operator, "-");
    }

    #[test]
    fn reads_into_sh_c() {
        let text = "sh -c 'python manage.py migrate && gunicorn app.wsgi'";
        let script = parse(text);
        let inner = script
            .commands
            .iter()
            .find(|c| c.words.iter().any(|w| w.text == "migrate"))
            .expect("nested command");
        assert_eq!(&text[inner.range.clone()], "python manage.py migrate");
    }

    #[test]
    fn embedded_command_lines_map_their_offsets() {
        let script = read_embedded("python manage.py migrate", &|r| r.start + 10..r.end + 10);
        assert_eq!(script.commands[0].words[2].range, 27..34);
    }
}
