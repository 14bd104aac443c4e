//! CFG007 password-validators-disabled: `AUTH_PASSWORD_VALIDATORS = []` anywhere in a settings
//! module that is not a test module, `if DEBUG:` blocks included.

use tree_sitter::Node;

use super::shared;
use crate::analysis::{Applicability, Diagnostic, Edit, File, Fix, PythonFile, Rule};
use crate::syntax::FileKind;

pub struct PasswordValidatorsDisabled;

const NAME: &str = "AUTH_PASSWORD_VALIDATORS";

impl Rule for PasswordValidatorsDisabled {
    fn id(&self) -> &'static str {
        "CFG007"
    }

    fn applies_to(&self, kind: FileKind) -> bool {
        kind == FileKind::Python
    }

    fn may_apply(&self, text: &str) -> bool {
        text.contains(NAME)
    }

    fn check(&self, file: &File, out: &mut Vec<Diagnostic>) {
        let Some(py) = file.python else { return };
        if !file.role.settings || file.role.test || file.role.example {
            return;
        }
        for identifier in py.ancestry.identifiers(file.text, NAME) {
            let Some(assignment) = py
                .ancestry
                .parent(identifier)
                .filter(|a| a.kind() == "assignment")
            else {
                continue;
            };
            let Some(statement) = py
                .ancestry
                .parent(assignment)
                .filter(|s| s.kind() == "expression_statement")
            else {
                continue;
            };
            let Some(a) = shared::assignment(assignment, statement, file.text) else {
                continue;
            };
            if a.name != NAME || a.value.kind() != "list" || a.value.named_child_count() != 0 {
                continue;
            }
            out.push(
                Diagnostic::new(
                    self.id(),
                    statement.byte_range(),
                    "`AUTH_PASSWORD_VALIDATORS = []` turns Django's password validation off: users can sign up with `123` or their own user name",
                )
                .with_fix(delete_fix(py, statement, file.text)),
            );
        }
    }
}

/// Deletes the statement's line, when it sits alone on its line inside an `if` block that keeps
/// other statements.
fn delete_fix<'t>(py: &PythonFile<'t>, statement: Node<'t>, source: &str) -> Option<Fix> {
    let block = py
        .ancestry
        .parent(statement)
        .filter(|b| b.kind() == "block")?;
    let owner = py.ancestry.parent(block)?;
    if !matches!(owner.kind(), "if_statement" | "elif_clause" | "else_clause") {
        return None;
    }
    let mut cursor = block.walk();
    let others = block
        .named_children(&mut cursor)
        .filter(|s| s.id() != statement.id() && s.kind() != "comment")
        .count();
    if others == 0 {
        return None;
    }
    let (line_start, indent) = crate::syntax::python::line_prefix(source, statement.start_byte());
    if !indent.trim().is_empty() {
        return None;
    }
    let rest = &source[statement.end_byte()..];
    let newline = rest.find('\n')?;
    if !rest[..newline].trim().is_empty() && !rest[..newline].trim_start().starts_with('#') {
        return None;
    }
    Some(Fix {
        title: "Delete the empty AUTH_PASSWORD_VALIDATORS".to_string(),
        applicability: Applicability::Unsafe,
        edits: vec![Edit::delete(line_start..statement.end_byte() + newline + 1)],
    })
}
