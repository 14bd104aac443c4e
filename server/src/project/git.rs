//! What git knows about the project's files without running git: the paths tracked in the
//! index (`.git/index`, versions 2 to 4), and whether `.gitignore` rules (read from the files
//! themselves, with or without a work tree) ignore a path.
//!
//! The index reader is a few dozen lines over a stable, documented format
//! (`gitformat-index(5)`) and needs only the path of each entry; the gitoxide crate that reads it
//! (gix-index) brings some thirty crates and a newer minimum Rust than this project's.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use ignore::gitignore::{Gitignore, GitignoreBuilder};
use ignore::Match;

/// The git directory of the work tree containing `start`: `.git` as a folder, or the folder a
/// `.git` file's `gitdir:` line names (worktrees, submodules). Returns (work tree, git dir).
pub fn find_repository(start: &Path) -> Option<(PathBuf, PathBuf)> {
    let start = std::path::absolute(start).ok()?;
    let mut dir = if start.is_dir() {
        Some(start.as_path())
    } else {
        start.parent()
    };
    while let Some(d) = dir {
        let dot_git = d.join(".git");
        if dot_git.is_dir() {
            return Some((d.to_path_buf(), dot_git));
        }
        if dot_git.is_file() {
            let text = std::fs::read_to_string(&dot_git).ok()?;
            let target = text.trim().strip_prefix("gitdir:")?.trim();
            let git_dir = d.join(target);
            return Some((d.to_path_buf(), git_dir));
        }
        dir = d.parent();
    }
    None
}

/// Paths tracked in the index, absolute (joined to the work tree). `None` when the index cannot
/// be read or is not one this reader understands (then nothing is claimed about tracking).
pub fn tracked_paths(work_tree: &Path, git_dir: &Path) -> Option<HashSet<PathBuf>> {
    let bytes = std::fs::read(git_dir.join("index")).ok()?;
    // SHA-256 repositories (`extensions.objectformat = sha256`) store 32-byte object ids.
    let config = std::fs::read_to_string(git_dir.join("config")).unwrap_or_default();
    let sha256 = config.lines().any(|l| {
        l.replace(' ', "")
            .eq_ignore_ascii_case("objectformat=sha256")
    });
    let names = index_paths(&bytes, if sha256 { 32 } else { 20 })?;
    Some(names.into_iter().map(|n| work_tree.join(n)).collect())
}

fn be32(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

/// The entry paths of an index file (relative, `/`-separated).
pub fn index_paths(bytes: &[u8], hash_len: usize) -> Option<Vec<String>> {
    if bytes.get(0..4)? != b"DIRC" {
        return None;
    }
    let version = be32(bytes, 4)?;
    if !(2..=4).contains(&version) {
        return None;
    }
    let count = be32(bytes, 8)? as usize;
    let mut at = 12;
    let mut out: Vec<String> = Vec::with_capacity(count.min(1 << 20));
    let mut previous: Vec<u8> = Vec::new();
    for _ in 0..count {
        let entry_start = at;
        // ctime, mtime (8 each), dev, ino, mode, uid, gid, size (4 each), object id, flags (2).
        let fixed = 40;
        let flags_at = entry_start + fixed + hash_len;
        let flags = u16::from_be_bytes(bytes.get(flags_at..flags_at + 2)?.try_into().ok()?);
        let mut name_at = flags_at + 2;
        if version >= 3 && flags & 0x4000 != 0 {
            name_at += 2; // extended flags
        }
        if version == 4 {
            // The name is the previous one with N bytes cut from its end, then this suffix.
            let (strip, used) = varint(bytes.get(name_at..)?)?;
            name_at += used;
            let end = name_at + bytes.get(name_at..)?.iter().position(|b| *b == 0)?;
            let keep = previous.len().checked_sub(strip)?;
            previous.truncate(keep);
            previous.extend_from_slice(&bytes[name_at..end]);
            at = end + 1;
        } else {
            let end = name_at + bytes.get(name_at..)?.iter().position(|b| *b == 0)?;
            previous = bytes[name_at..end].to_vec();
            // Entries are padded with NULs to a multiple of 8 bytes.
            let len = end - entry_start;
            at = entry_start + (len + 8) / 8 * 8;
        }
        out.push(String::from_utf8_lossy(&previous).into_owned());
    }
    Some(out)
}

/// Git's offset varint (`gitformat-index`, version 4 path compression).
fn varint(bytes: &[u8]) -> Option<(usize, usize)> {
    let mut i = 0;
    let mut byte = *bytes.first()?;
    let mut value = (byte & 0x7f) as usize;
    while byte & 0x80 != 0 {
        i += 1;
        byte = *bytes.get(i)?;
        value = ((value + 1) << 7) | (byte & 0x7f) as usize;
    }
    Some((value, i + 1))
}

/// The ignore rules of a tree: one matcher per `.gitignore` (and `.git/info/exclude`), by folder.
#[derive(Default)]
pub struct IgnoreRules {
    /// (folder, matcher), shallowest first.
    matchers: Vec<(PathBuf, Gitignore)>,
}

impl IgnoreRules {
    /// `files`: (path of a `.gitignore`, its lines).
    pub fn new<'a>(files: impl IntoIterator<Item = (&'a Path, &'a [String])>) -> IgnoreRules {
        let mut matchers = Vec::new();
        for (path, lines) in files {
            let Some(dir) = path.parent() else { continue };
            let mut builder = GitignoreBuilder::new(dir);
            for line in lines {
                let _ = builder.add_line(Some(path.to_path_buf()), line);
            }
            if let Ok(matcher) = builder.build() {
                matchers.push((dir.to_path_buf(), matcher));
            }
        }
        matchers.sort_by_key(|(dir, _)| dir.components().count());
        IgnoreRules { matchers }
    }

    /// Is there any rule at all?
    pub fn is_empty(&self) -> bool {
        self.matchers.is_empty()
    }

    /// Does some `.gitignore` above `path` ignore it (the deepest rule that matches decides, as
    /// in git)?
    pub fn ignores(&self, path: &Path) -> bool {
        let mut ignored = false;
        for (dir, matcher) in &self.matchers {
            if !path.starts_with(dir) {
                continue;
            }
            match matcher.matched_path_or_any_parents(path, false) {
                Match::Ignore(_) => ignored = true,
                Match::Whitelist(_) => ignored = false,
                Match::None => {}
            }
        }
        ignored
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An index as git writes it (version 2): header, entries padded to 8 bytes.
    fn index_v2(names: &[&str]) -> Vec<u8> {
        let mut out = b"DIRC".to_vec();
        out.extend_from_slice(&2u32.to_be_bytes());
        out.extend_from_slice(&(names.len() as u32).to_be_bytes());
        for name in names {
            let start = out.len();
            out.extend_from_slice(&[0u8; 40]);
            out.extend_from_slice(&[0xab; 20]);
            out.extend_from_slice(&(name.len() as u16).to_be_bytes());
            out.extend_from_slice(name.as_bytes());
            let len = out.len() - start;
            let padded = (len + 8) / 8 * 8;
            out.resize(start + padded, 0);
        }
        out
    }

    #[test]
    fn reads_index_paths() {
        let bytes = index_v2(&[".env", "app/settings.py", "compose.yaml"]);
        assert_eq!(
            index_paths(&bytes, 20).unwrap(),
            [".env", "app/settings.py", "compose.yaml"]
        );
        assert!(index_paths(b"not an index", 20).is_none());
        assert!(index_paths(&bytes[..30], 20).is_none());
    }

    #[test]
    fn reads_a_real_index_when_git_is_here() {
        let dir = std::env::temp_dir().join(format!("preflight-git-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("app")).unwrap();
        std::fs::write(dir.join(".env"), "A=1\n").unwrap();
        std::fs::write(dir.join("app/x.py"), "x = 1\n").unwrap();
        let git = |args: &[&str]| {
            std::process::Command::new("git")
                .args(args)
                .current_dir(&dir)
                .output()
                .ok()
                .filter(|o| o.status.success())
        };
        if git(&["init", "-q"]).is_none() {
            return; // no git on this machine: the synthetic index test above stands
        }
        git(&["add", ".env", "app/x.py"]).unwrap();
        let (tree, git_dir) = find_repository(&dir.join("app")).unwrap();
        let tracked = tracked_paths(&tree, &git_dir).unwrap();
        assert!(tracked.contains(&tree.join(".env")));
        assert!(tracked.contains(&tree.join("app/x.py")));
        // Version 4 (path compression).
        git(&["update-index", "--index-version", "4"]).unwrap();
        let tracked = tracked_paths(&tree, &git_dir).unwrap();
        assert!(tracked.contains(&tree.join("app/x.py")));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn gitignore_rules_by_folder() {
        let root_lines = vec![".env*".to_string(), "!.env.example".to_string()];
        let nested_lines = vec!["!.env.local".to_string()];
        let rules = IgnoreRules::new([
            (Path::new("/p/.gitignore"), root_lines.as_slice()),
            (Path::new("/p/app/.gitignore"), nested_lines.as_slice()),
        ]);
        assert!(rules.ignores(Path::new("/p/.env")));
        assert!(!rules.ignores(Path::new("/p/.env.example")));
        assert!(rules.ignores(Path::new("/p/app/.env")));
        assert!(!rules.ignores(Path::new("/p/app/.env.local")));
        assert!(!rules.ignores(Path::new("/p/settings.py")));
    }
}
