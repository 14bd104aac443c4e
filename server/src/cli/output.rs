//! Output formats of `preflight check`: text with source excerpts, JSON, SARIF 2.1.0 and GitHub
//! Actions annotations. Byte ranges become 1-based lines and character columns here.

use std::io::{self, Write};

use serde_json::{json, Value};

use super::FileResult;
use crate::analysis::registry;
use crate::analysis::{Applicability, Diagnostic, Severity};
use crate::text::LineIndex;

/// Bytes of a long line shown before and after a finding's start in the text output.
const EXCERPT_BEFORE: usize = 160;
const EXCERPT_AFTER: usize = 320;

struct Located {
    start: (usize, usize),
    end: (usize, usize),
}

fn locate(index: &LineIndex, text: &str, d: &Diagnostic) -> Located {
    Located {
        start: index.line_column(text, d.range.start),
        end: index.line_column(text, d.range.end),
    }
}

fn rule_name(id: &str) -> &str {
    registry::meta(id).map(|m| m.name.as_str()).unwrap_or("")
}

fn applicability(a: Applicability) -> &'static str {
    match a {
        Applicability::Safe => "safe",
        Applicability::Unsafe => "unsafe",
    }
}

pub fn text(out: &mut dyn Write, results: &[FileResult], fixing: bool) -> io::Result<()> {
    let mut counts = [0usize; 4];
    let mut fixable = 0;
    let mut files_with = 0;
    let fixed: usize = results.iter().map(|r| r.fixed).sum();
    for r in results {
        if r.diagnostics.is_empty() {
            continue;
        }
        files_with += 1;
        let index = LineIndex::new(&r.text);
        for d in &r.diagnostics {
            counts[d.severity as usize] += 1;
            let at = locate(&index, &r.text, d);
            writeln!(
                out,
                "{}:{}:{}: {} {} [{}] {}",
                r.display,
                at.start.0,
                at.start.1,
                d.severity.as_str(),
                d.rule,
                rule_name(d.rule),
                d.message
            )?;
            // Source excerpt with the finding underlined on its first line; a long line is cut
            // to a window around the finding (minified or generated code would otherwise print
            // the whole line once per finding).
            let line = at.start.0 - 1;
            let range = index.line_range(&r.text, line);
            let start = d.range.start.clamp(range.start, range.end);
            let end = d.range.end.clamp(start, range.end);
            let window_start = if start - range.start > EXCERPT_BEFORE {
                crate::text::floor_char_boundary(&r.text, start - EXCERPT_BEFORE)
            } else {
                range.start
            };
            let window_end = if range.end - start > EXCERPT_AFTER {
                crate::text::floor_char_boundary(&r.text, start + EXCERPT_AFTER)
            } else {
                range.end
            };
            let (lead, trail) = (
                if window_start > range.start {
                    "…"
                } else {
                    ""
                },
                if window_end < range.end { "…" } else { "" },
            );
            let source_line = format!("{lead}{}{trail}", &r.text[window_start..window_end]);
            let gutter = at.start.0.to_string().len();
            let underline_start =
                r.text[window_start..start].chars().count() + lead.chars().count();
            let underline_len = r.text[start..end.min(window_end).max(start)]
                .chars()
                .count()
                .max(1);
            writeln!(out, "{:gutter$} |", "")?;
            writeln!(out, "{} | {}", at.start.0, source_line.replace('\t', " "))?;
            writeln!(
                out,
                "{:gutter$} | {}{}",
                "",
                " ".repeat(underline_start),
                "^".repeat(underline_len)
            )?;
            if let Some(fix) = &d.fix {
                fixable += 1;
                writeln!(
                    out,
                    "{:gutter$} = fix ({}): {}",
                    "",
                    applicability(fix.applicability),
                    fix.title
                )?;
            }
            writeln!(out)?;
        }
    }
    let total: usize = counts.iter().sum();
    if total == 0 {
        if fixed > 0 {
            writeln!(out, "Fixed {fixed} problem(s); no problems left.")?;
        } else {
            writeln!(out, "No problems found.")?;
        }
    } else {
        writeln!(
            out,
            "Found {total} problem(s) in {files_with} file(s): {} error(s), {} warning(s), {} info, {} hint(s).",
            counts[Severity::Error as usize],
            counts[Severity::Warning as usize],
            counts[Severity::Info as usize],
            counts[Severity::Hint as usize]
        )?;
        if fixed > 0 {
            writeln!(out, "Fixed {fixed} problem(s).")?;
        }
        if fixable > 0 && !fixing {
            writeln!(out, "{fixable} can be fixed with `preflight check --fix`.")?;
        }
    }
    Ok(())
}

fn position(line_col: (usize, usize)) -> Value {
    json!({"line": line_col.0, "column": line_col.1})
}

pub fn json(out: &mut dyn Write, results: &[FileResult]) -> io::Result<()> {
    let mut items = Vec::new();
    for r in results {
        let index = LineIndex::new(&r.text);
        for d in &r.diagnostics {
            let at = locate(&index, &r.text, d);
            let fix = d.fix.as_ref().map(|f| {
                json!({
                    "title": f.title,
                    "applicability": applicability(f.applicability),
                    "edits": f.edits.iter().map(|e| json!({
                        "start": position(index.line_column(&r.text, e.range.start)),
                        "end": position(index.line_column(&r.text, e.range.end)),
                        "content": e.content,
                    })).collect::<Vec<_>>(),
                })
            });
            items.push(json!({
                "rule": d.rule,
                "name": rule_name(d.rule),
                "severity": d.severity.as_str(),
                "message": d.message,
                "path": r.display,
                "start": position(at.start),
                "end": position(at.end),
                "fix": fix,
            }));
        }
    }
    let rendered = serde_json::to_string_pretty(&items).map_err(io::Error::other)?;
    writeln!(out, "{rendered}")
}

fn sarif_level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info | Severity::Hint => "note",
    }
}

pub fn sarif(out: &mut dyn Write, results: &[FileResult]) -> io::Result<()> {
    let rules: Vec<Value> = registry::all()
        .iter()
        .map(|m| {
            let mut rule = json!({
                "id": m.id,
                "name": m.name,
                "shortDescription": {"text": m.summary},
                "fullDescription": {"text": m.docs.what.trim()},
                "help": {"text": registry::explain(m), "markdown": registry::explain(m)},
                "defaultConfiguration": {"level": sarif_level(m.severity)},
                "properties": {"category": m.category},
            });
            // A published page only: a file on the machine that ran the check means nothing to
            // whoever reads the report.
            if let Some(url) = crate::rule_docs::web_url(&m.id) {
                rule["helpUri"] = json!(url);
            }
            rule
        })
        .collect();
    let mut sarif_results = Vec::new();
    for r in results {
        let index = LineIndex::new(&r.text);
        for d in &r.diagnostics {
            let at = locate(&index, &r.text, d);
            let rule_index = registry::all().iter().position(|m| m.id == d.rule);
            let mut result = json!({
                "ruleId": d.rule,
                "level": sarif_level(d.severity),
                "message": {"text": d.message},
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": {"uri": r.display, "uriBaseId": "%SRCROOT%"},
                        "region": {
                            "startLine": at.start.0, "startColumn": at.start.1,
                            "endLine": at.end.0, "endColumn": at.end.1,
                        }
                    }
                }],
            });
            if let Some(i) = rule_index {
                result["ruleIndex"] = json!(i);
            }
            if let Some(fix) = &d.fix {
                result["fixes"] = json!([{
                    "description": {"text": fix.title},
                    "artifactChanges": [{
                        "artifactLocation": {"uri": r.display, "uriBaseId": "%SRCROOT%"},
                        "replacements": fix.edits.iter().map(|e| {
                            let s = index.line_column(&r.text, e.range.start);
                            let en = index.line_column(&r.text, e.range.end);
                            json!({
                                "deletedRegion": {"startLine": s.0, "startColumn": s.1, "endLine": en.0, "endColumn": en.1},
                                "insertedContent": {"text": e.content},
                            })
                        }).collect::<Vec<_>>(),
                    }],
                }]);
            }
            sarif_results.push(result);
        }
    }
    let doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "preflight",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "originalUriBaseIds": {"%SRCROOT%": {"uri": "./"}},
            "results": sarif_results,
        }],
    });
    let rendered = serde_json::to_string_pretty(&doc).map_err(io::Error::other)?;
    writeln!(out, "{rendered}")
}

fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

pub fn github(out: &mut dyn Write, results: &[FileResult]) -> io::Result<()> {
    for r in results {
        let index = LineIndex::new(&r.text);
        for d in &r.diagnostics {
            let at = locate(&index, &r.text, d);
            let level = match d.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
                Severity::Info | Severity::Hint => "notice",
            };
            writeln!(
                out,
                "::{level} file={},line={},col={},endLine={},endColumn={},title={}::{}",
                escape_property(&r.display),
                at.start.0,
                at.start.1,
                at.end.0,
                at.end.1,
                escape_property(&format!("preflight {} ({})", d.rule, rule_name(d.rule))),
                escape_data(&d.message)
            )?;
        }
    }
    Ok(())
}
