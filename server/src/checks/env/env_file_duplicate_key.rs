//! ENV001 env-file-duplicate-key: a key set twice in one env file. Loaders (python-dotenv,
//! docker compose) keep the last value, so the earlier line is dead and misleads readers.

use std::collections::HashMap;

use crate::analysis::{Applicability, Diagnostic, Edit, File, Fix, Rule};
use crate::syntax::FileKind;
use crate::text::LineIndex;

pub struct EnvFileDuplicateKey;

impl Rule for EnvFileDuplicateKey {
    fn id(&self) -> &'static str {
        "ENV001"
    }

    fn applies_to(&self, kind: FileKind) -> bool {
        kind == FileKind::DotEnv
    }

    fn check(&self, file: &File, out: &mut Vec<Diagnostic>) {
        let Some(env) = file.dotenv else { return };
        let mut last_index: HashMap<&str, usize> = HashMap::new();
        for (i, entry) in env.entries.iter().enumerate() {
            last_index.insert(entry.key.as_str(), i);
        }
        let index = LineIndex::new(file.text);
        for (i, entry) in env.entries.iter().enumerate() {
            let last = last_index[entry.key.as_str()];
            if last == i {
                continue;
            }
            let winner = &env.entries[last];
            let (line, _) = index.line_column(file.text, winner.key_range.start);
            let message = format!(
                "`{}` is set again on line {line}; loaders keep the last value, so this one is never used",
                entry.key
            );
            let fix = Fix {
                title: format!("Remove the unused `{}` line", entry.key),
                applicability: Applicability::Safe,
                edits: vec![Edit::delete(entry.line_range.clone())],
            };
            out.push(
                Diagnostic::new(self.id(), entry.key_range.clone(), message).with_fix(Some(fix)),
            );
        }
    }
}
