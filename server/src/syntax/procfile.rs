//! Procfiles (Heroku, Dokku, foreman, honcho): one `name: command` per line, each command run by
//! a shell.

use std::ops::Range;

use super::shell::{self, Script};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Process {
    pub name: String,
    pub name_range: Range<usize>,
    pub command: String,
    pub command_range: Range<usize>,
    pub script: Script,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Procfile {
    pub processes: Vec<Process>,
    pub errors: Vec<Range<usize>>,
}

impl Process {
    /// `release:` runs once per deploy, before the new processes start.
    pub fn is_release(&self) -> bool {
        self.name == "release"
    }
}

pub fn parse(text: &str) -> Procfile {
    let mut out = Procfile::default();
    let mut offset = 0;
    for raw in text.split_inclusive('\n') {
        let start = offset;
        offset += raw.len();
        let line = raw.trim_end_matches(['\n', '\r']);
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let lead = line.len() - trimmed.len();
        let Some(colon) = trimmed.find(':') else {
            out.errors.push(start..start + line.len());
            continue;
        };
        let name = &trimmed[..colon];
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            out.errors.push(start..start + line.len());
            continue;
        }
        let after = &trimmed[colon + 1..];
        let command = after.trim();
        let command_start = start + lead + colon + 1 + (after.len() - after.trim_start().len());
        let script =
            shell::read_embedded(command, &|r| command_start + r.start..command_start + r.end);
        out.processes.push(Process {
            name: name.to_string(),
            name_range: start + lead..start + lead + colon,
            command: command.to_string(),
            command_range: command_start..command_start + command.len(),
            script,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn processes_and_their_commands() {
        let text = "release: python manage.py migrate\nweb: gunicorn app.wsgi --log-file -\n# comment\nbroken line\n";
        let procfile = parse(text);
        assert_eq!(procfile.processes.len(), 2);
        assert!(procfile.processes[0].is_release());
        let web = &procfile.processes[1];
        assert_eq!(
            &text[web.command_range.clone()],
            "gunicorn app.wsgi --log-file -"
        );
        let word = &web.script.commands[0].words[1];
        assert_eq!(&text[word.range.clone()], "app.wsgi");
        assert_eq!(procfile.errors.len(), 1);
    }
}
