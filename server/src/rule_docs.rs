//! Where a rule's documentation lives, for a diagnostic's `codeDescription.href` and SARIF's
//! `helpUri`.
//!
//! A build made for publishing names its documentation site at compile time with
//! `PREFLIGHT_DOCS_URL`: a URL template with `{id}` (`https://docs.example/rules/{id}.html`) or a
//! base that the id is appended to. Without one, the documentation the binary carries (the same
//! Markdown `preflight explain` prints) is written once into the user's cache directory and linked
//! as a `file:` URL, so every link works offline and describes exactly the running version.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::analysis::registry;

/// The published documentation of `rule`, when this build names a site.
pub fn web_url(rule: &str) -> Option<String> {
    expand(option_env!("PREFLIGHT_DOCS_URL")?, rule)
}

fn expand(template: &str, rule: &str) -> Option<String> {
    let template = template.trim();
    if template.is_empty() {
        return None;
    }
    Some(if template.contains("{id}") {
        template.replace("{id}", rule)
    } else {
        format!("{template}{rule}")
    })
}

/// A link to `rule`'s documentation: the published page, else the local copy. `None` when neither
/// exists (no site and no writable cache directory).
pub fn url(rule: &str) -> Option<String> {
    if let Some(web) = web_url(rule) {
        return Some(web);
    }
    registry::lookup(rule)?;
    let dir = local_docs()?;
    file_url(&dir.join(format!("{rule}.md")))
}

/// The directory holding one Markdown file per rule, written on first use. The directory name
/// carries the version and a hash of the catalog, so a new build never links to stale text.
fn local_docs() -> Option<&'static PathBuf> {
    static DIR: OnceLock<Option<PathBuf>> = OnceLock::new();
    DIR.get_or_init(|| {
        // `dirs` knows each platform's per-user cache directory (XDG on Linux, Library/Caches on
        // macOS, LOCALAPPDATA on Windows).
        let base = dirs::cache_dir()?;
        let dir = base.join("preflight").join("rule-docs").join(format!(
            "{}-{:016x}",
            env!("CARGO_PKG_VERSION"),
            catalog_hash()
        ));
        match write_docs(&dir) {
            Ok(()) => Some(dir),
            Err(e) => {
                eprintln!(
                    "preflight: rule documentation not written to {}: {e}; diagnostics carry no documentation link",
                    dir.display()
                );
                None
            }
        }
    })
    .as_ref()
}

fn write_docs(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for meta in registry::all() {
        let path = dir.join(format!("{}.md", meta.id));
        let text = registry::explain(meta);
        // Another server of the same build may have written it already; the text is the same.
        if std::fs::read_to_string(&path).is_ok_and(|old| old == text) {
            continue;
        }
        crate::cli::cache::write_atomically(dir, &path, text.as_bytes())?;
    }
    Ok(())
}

fn catalog_hash() -> u64 {
    // FNV-1a over the embedded catalog: stable across runs and platforms (std's hasher is not).
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for (name, text) in registry::rule_files() {
        for byte in name.bytes().chain(text.bytes()) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    hash
}

/// `file:///abs/path` with the path's bytes percent-encoded where a URL needs it.
fn file_url(path: &Path) -> Option<String> {
    let path = path.to_str()?;
    let mut out = String::from("file://");
    if cfg!(windows) {
        out.push('/');
    }
    for byte in path.bytes() {
        let c = byte as char;
        match c {
            'A'..='Z' | 'a'..='z' | '0'..='9' | '-' | '.' | '_' | '~' | '/' | ':' => out.push(c),
            '\\' => out.push('/'),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_documentation_is_the_explain_text() {
        let Some(link) = url("SEC001") else {
            panic!("no documentation link (cache directory not writable?)");
        };
        if web_url("SEC001").is_some() {
            return;
        }
        let path = link.strip_prefix("file://").unwrap();
        let text = std::fs::read_to_string(path).unwrap();
        assert_eq!(text, registry::explain(registry::lookup("SEC001").unwrap()));
        assert!(url("NOPE999").is_none());
    }

    #[test]
    fn site_templates_take_the_id_in_place_or_at_the_end() {
        assert_eq!(
            expand("https://docs.example/rules/{id}.html", "SEC001").as_deref(),
            Some("https://docs.example/rules/SEC001.html")
        );
        assert_eq!(
            expand("https://docs.example/rules/", "DOCK001").as_deref(),
            Some("https://docs.example/rules/DOCK001")
        );
        assert_eq!(expand("  ", "SEC001"), None);
    }

    #[test]
    fn file_urls_escape_what_urls_cannot_hold() {
        assert_eq!(
            file_url(Path::new("/home/a b/docs/#1.md")).unwrap(),
            "file:///home/a%20b/docs/%231.md"
        );
    }
}
