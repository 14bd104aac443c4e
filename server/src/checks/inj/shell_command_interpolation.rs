//! INJ002 shell-command-interpolation: a shell command line built at run time (f-string, `%`,
//! `.format`, `+`) from values that are not constants or `shlex.quote`d, and run through a shell:
//! `subprocess.run/call/check_call/check_output/Popen(..., shell=True)`, `os.system`,
//! `os.popen`, `subprocess.getoutput`, `asyncio.create_subprocess_shell`. `shell=True` with a
//! constant command is fine.

use std::collections::HashSet;

use tree_sitter::Node;

use super::{callee_text, request_data, unsafe_constructions};
use crate::analysis::{Diagnostic, File, Rule, Severity};
use crate::syntax::{python, FileKind};

pub struct ShellCommandInterpolation;

/// Functions that run their command through `/bin/sh` whatever their arguments.
const SHELL_FUNCTIONS: &[&str] = &[
    "os.system",
    "os.popen",
    "subprocess.getoutput",
    "subprocess.getstatusoutput",
    "asyncio.create_subprocess_shell",
    "commands.getoutput",
    "commands.getstatusoutput",
];

/// Functions that run it through the shell with `shell=True`.
const SUBPROCESS_FUNCTIONS: &[&str] = &[
    "subprocess.run",
    "subprocess.call",
    "subprocess.check_call",
    "subprocess.check_output",
    "subprocess.Popen",
];

impl Rule for ShellCommandInterpolation {
    fn id(&self) -> &'static str {
        "INJ002"
    }

    fn applies_to(&self, kind: FileKind) -> bool {
        kind == FileKind::Python
    }

    fn may_apply(&self, text: &str) -> bool {
        text.contains("shell")
            || text.contains("getoutput")
            || text.contains("\"-c\"")
            || text.contains("'-c'")
            || python::word_occurrences(text, "system").next().is_some()
            || python::word_occurrences(text, "popen").next().is_some()
    }

    fn check(&self, file: &File, out: &mut Vec<Diagnostic>) {
        let Some(py) = file.python else { return };
        let source = file.text;
        let mut reported: HashSet<usize> = HashSet::new();
        let mut commands: Vec<(Node, Node)> = shell_calls(py, source)
            .into_iter()
            .filter_map(|call| {
                let args = python::arguments(call, source)?;
                let command = args.positional.first().copied().or_else(|| {
                    ["args", "cmd", "command"]
                        .iter()
                        .find_map(|k| args.keyword(k).map(|(v, _)| v))
                })?;
                Some((call, command))
            })
            .collect();
        commands.extend(shell_dash_c(py, source));
        for (call, command) in commands {
            let sink = callee_text(call, source);
            for built in unsafe_constructions(py, source, command, 0) {
                if !reported.insert(built.node.id()) {
                    continue;
                }
                let part = python::text(built.parts[0], source);
                let part = if part.len() > 40 || part.contains('\n') {
                    "a run-time value".to_string()
                } else {
                    format!("`{part}`")
                };
                let origin = built
                    .parts
                    .iter()
                    .find_map(|p| request_data(py, source, *p, 0))
                    .map(|what| format!(" (request data: {what})"))
                    .unwrap_or_default();
                let message = format!(
                    "The shell command run by `{sink}` is built with {} from {part}{origin}: shell metacharacters in the value run other commands; pass an argument list without `shell=True`, or `shlex.quote` the value",
                    built.how.describe()
                );
                let mut diagnostic = Diagnostic::new(self.id(), built.node.byte_range(), message);
                if file.role.development {
                    diagnostic = diagnostic.with_severity(Severity::Hint);
                }
                out.push(diagnostic);
            }
        }
    }
}

/// Calls that run a command line through the shell, found from the text of `shell=` keywords and
/// of the shell functions' names.
fn shell_calls<'t>(py: &crate::analysis::PythonFile<'t>, source: &str) -> Vec<Node<'t>> {
    let f = python::fields();
    let mut out: Vec<Node<'t>> = Vec::new();
    let qualified = |call: Node<'t>| {
        call.child_by_field_id(f.function)
            .and_then(|callee| py.names.qualify(callee, source))
            .unwrap_or_default()
    };
    for keyword in py.ancestry.identifiers(source, "shell") {
        let Some(python::KeywordArgument {
            value,
            call: Some(call),
            ..
        }) = py.ancestry.keyword_argument_named(keyword)
        else {
            continue;
        };
        let shell_on = python::literal(value, source).is_some_and(|l| l.is_truthy());
        if !shell_on {
            continue;
        }
        let callee = qualified(call);
        if SUBPROCESS_FUNCTIONS.contains(&callee.as_str())
            || callee.starts_with("asyncio.create_subprocess")
        {
            out.push(call);
        }
    }
    for name in [
        "system",
        "popen",
        "getoutput",
        "getstatusoutput",
        "create_subprocess_shell",
    ] {
        for identifier in py.ancestry.identifiers(source, name) {
            let Some((_, call)) = py.ancestry.call_named(identifier) else {
                continue;
            };
            if SHELL_FUNCTIONS.contains(&qualified(call).as_str())
                && !out.iter().any(|c| c.id() == call.id())
            {
                out.push(call);
            }
        }
    }
    out.sort_by_key(|c| c.start_byte());
    out
}

/// Shells that run the argument after `-c` as a command line.
const SHELLS: &[&str] = &[
    "sh",
    "bash",
    "zsh",
    "dash",
    "ash",
    "ksh",
    "/bin/sh",
    "/bin/bash",
    "/usr/bin/bash",
    "/bin/zsh",
];

/// `subprocess.run(["sh", "-c", command])`, `asyncio.create_subprocess_exec("bash", "-c",
/// command)`: the call and the command line the shell gets, found from the text of `-c`.
fn shell_dash_c<'t>(
    py: &crate::analysis::PythonFile<'t>,
    source: &str,
) -> Vec<(Node<'t>, Node<'t>)> {
    let f = python::fields();
    let mut out = Vec::new();
    for quoted in ["\"-c\"", "'-c'"] {
        for (at, _) in source.match_indices(quoted) {
            let Some(flag) = py
                .ancestry
                .node_at(at, at + quoted.len())
                .filter(|n| n.kind() == "string")
            else {
                continue;
            };
            let Some(sequence) = py.ancestry.parent(flag) else {
                continue;
            };
            let call = match sequence.kind() {
                "list" | "tuple" => py
                    .ancestry
                    .parent(sequence)
                    .filter(|l| l.kind() == "argument_list")
                    .and_then(|l| py.ancestry.parent(l)),
                "argument_list" => py.ancestry.parent(sequence),
                _ => None,
            };
            let Some(call) = call.filter(|c| c.kind() == "call") else {
                continue;
            };
            let callee = call
                .child_by_field_id(f.function)
                .and_then(|callee| py.names.qualify(callee, source))
                .unwrap_or_default();
            if !SUBPROCESS_FUNCTIONS.contains(&callee.as_str())
                && !callee.starts_with("asyncio.create_subprocess")
            {
                continue;
            }
            let mut cursor = sequence.walk();
            let items: Vec<Node> = sequence
                .named_children(&mut cursor)
                .filter(|c| c.kind() != "comment")
                .collect();
            let Some(index) = items.iter().position(|i| i.id() == flag.id()) else {
                continue;
            };
            let runs_shell = index > 0
                && python::string_value(items[index - 1], source)
                    .is_some_and(|program| SHELLS.contains(&program.as_str()));
            if let (true, Some(command)) = (runs_shell, items.get(index + 1)) {
                out.push((call, *command));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::analysis::testing::findings_of;

    fn findings(source: &str) -> Vec<String> {
        findings_of("INJ002", "app/tasks.py", source)
    }

    #[test]
    fn aliases_and_quoting() {
        let src = "import subprocess as sp\nimport shlex\nfrom os import system\ndef f(path):\n    sp.run(f'ls {path}', shell=True)\n    sp.run(f'ls {shlex.quote(path)}', shell=True)\n    sp.run(f'ls {path}', shell=False)\n    system('rm -rf ' + path)\n";
        assert_eq!(findings(src), ["f'ls {path}'", "'rm -rf ' + path"]);
    }

    #[test]
    fn shell_dash_c_runs_a_command_line() {
        let src = "import subprocess, asyncio\nasync def f(name):\n    subprocess.run(['bash', '-c', f'echo {name}'])\n    await asyncio.create_subprocess_exec('sh', '-c', 'tar xf ' + name)\n    subprocess.run(['grep', '-c', name])\n    subprocess.run(['sh', '-c', 'echo ok'])\n";
        assert_eq!(findings(src), ["f'echo {name}'", "'tar xf ' + name"]);
    }
}
