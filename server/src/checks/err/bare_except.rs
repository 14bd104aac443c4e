//! ERR001 bare-except: `except:` with no exception type. It also catches `KeyboardInterrupt`,
//! `SystemExit` and `GeneratorExit`, so a worker cannot be stopped cleanly and real bugs vanish.

use std::sync::LazyLock;

use regex::Regex;

use super::{handlers, last_statement};
use crate::analysis::{Applicability, Diagnostic, Edit, File, Fix, Rule, Severity};
use crate::syntax::FileKind;

pub struct BareExcept;

/// `except:` (with any spacing before the colon): the only spelling of a bare handler.
static BARE_EXCEPT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\bexcept[ \t]*:").expect("valid regex"));

impl Rule for BareExcept {
    fn id(&self) -> &'static str {
        "ERR001"
    }

    fn applies_to(&self, kind: FileKind) -> bool {
        kind == FileKind::Python
    }

    fn may_apply(&self, text: &str) -> bool {
        BARE_EXCEPT.is_match(text)
    }

    fn check(&self, file: &File, out: &mut Vec<Diagnostic>) {
        let Some(py) = file.python else { return };
        let source = file.text;
        for handler in handlers(py, source) {
            if !handler.is_bare() {
                continue;
            }
            // `except: cleanup(); raise` lets the interrupt through after cleaning up: still
            // better written `except BaseException:`, but not a swallowed exit.
            let reraises = last_statement(handler.body)
                .is_some_and(|s| s.kind() == "raise_statement" && s.named_child_count() == 0);
            let message = if reraises {
                "Bare `except:` re-raises, but spells out nothing: `except BaseException:` says the same thing explicitly"
            } else {
                "Bare `except:` also catches KeyboardInterrupt and SystemExit, so shutdowns and real bugs are swallowed; catch `Exception` or a narrower type"
            };
            let severity = if reraises || file.role.development {
                Severity::Info
            } else {
                Severity::Warning
            };
            let (title, caught) = if reraises {
                ("Catch `BaseException` explicitly", " BaseException")
            } else {
                ("Catch `Exception` instead", " Exception")
            };
            let keyword_end = handler.keyword.end_byte();
            let fix = Fix {
                title: title.to_string(),
                // `except Exception:` lets KeyboardInterrupt and SystemExit through: that is the
                // point, but it changes behaviour.
                applicability: Applicability::Unsafe,
                edits: vec![Edit::insert(keyword_end, caught)],
            };
            let end = source[keyword_end..]
                .find(':')
                .map_or(keyword_end, |i| keyword_end + i + 1);
            out.push(
                Diagnostic::new(self.id(), handler.keyword.start_byte()..end, message)
                    .with_severity(severity)
                    .with_fix(Some(fix)),
            );
        }
    }
}
