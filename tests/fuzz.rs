//! Fuzz targets, run for a bounded number of cases in the test command: the analysis entry point
//! (every file kind, any text, with fixes applied) and the language server's frame decoder (any
//! bytes, in any chunks). Neither may panic or hang, and the decoder must still deliver every
//! well-formed message that follows garbage.

use std::path::Path;

use preflight::analysis::fix::fix_all;
use preflight::analysis::{analyse, AllRules, Input};
use preflight::lsp::frames::Decoder;
use preflight::syntax::FileKind;
use proptest::prelude::*;
use serde_json::json;

const KINDS: &[(&str, FileKind)] = &[
    ("app/settings.py", FileKind::Python),
    ("app/views.py", FileKind::Python),
    (".env.production", FileKind::DotEnv),
    ("compose.yaml", FileKind::Compose),
    ("Dockerfile", FileKind::Dockerfile),
    ("entrypoint.sh", FileKind::Shell),
    ("requirements.txt", FileKind::Requirements),
    ("pyproject.toml", FileKind::PyProject),
    ("Procfile", FileKind::Procfile),
];

/// Pieces of every language the rules read, with the openers and closers that nest.
const PIECES: &[&str] = &[
    "import os\n",
    "os.getenv(\"SECRET_KEY\", \"dev\")",
    "os.environ.get(\"DB_PASSWORD\", \"x\")",
    "cursor.execute(",
    "\"select \" + ",
    "f\"{",
    "}\"",
    "% (",
    ".format(",
    "request.GET[\"q\"]",
    "subprocess.run(",
    ", shell=True)",
    "DEBUG = True\n",
    "ALLOWED_HOSTS = [\"*\"]\n",
    "SECRET_KEY = \"k9#fT2!qLz8@wX4mN7^pR1\"\n",
    "def f(request, x):\n",
    "    ",
    "q = q + x\n",
    "@csrf_exempt\n",
    "class V(APIView):\n",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    "lambda: ",
    "not ",
    " and ",
    " if x else ",
    "\"\"\"",
    "'",
    "\\\n",
    "\n",
    "\r\n",
    "\r",
    "\t",
    "😀",
    "\u{FFFD}",
    "services:\n",
    "  web:\n",
    "    environment:\n",
    "      - PASSWORD=secret\n",
    "${X:-y}",
    "&a ",
    "*a",
    "<<: *a\n",
    "FROM python:3.12 AS b\n",
    "USER root\n",
    "RUN ",
    "<<EOF\n",
    "EOF\n",
    "CMD [\"gunicorn\", \"app.wsgi\"]\n",
    "#!/bin/sh\n",
    "export SECRET_KEY=",
    "$(",
    "`",
    "; ",
    "python manage.py migrate && ",
    "django==4.2\n",
    "-r other.txt\n",
    "[project]\n",
    "dependencies = [",
    "web: gunicorn app.wsgi\n",
    "SECRET=",
    "# preflight: ignore\n",
];

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        // Any characters at all.
        2 => any::<String>(),
        // The languages' own pieces, shuffled; sometimes nested deep.
        5 => prop::collection::vec(0..PIECES.len(), 0..80)
            .prop_map(|picks| picks.into_iter().map(|i| PIECES[i]).collect::<String>()),
        1 => (0..PIECES.len(), 50usize..1_500)
            .prop_map(|(i, n)| format!("x = {}1{}\n", PIECES[i].repeat(n), ")".repeat(n))),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn analysis_and_fixes_never_panic(text in text(), kind in 0..KINDS.len()) {
        let (path, kind) = KINDS[kind];
        let project = preflight::project::Project::default();
        let analysis = analyse(
            &Input { path: Path::new(path), text: &text, kind, tree: None, project: &project, facts: None },
            &AllRules,
        );
        for d in &analysis.diagnostics {
            prop_assert!(d.range.start <= d.range.end && d.range.end <= text.len());
            prop_assert!(text.is_char_boundary(d.range.start) && text.is_char_boundary(d.range.end));
        }
        let (fixed, _) = fix_all(Path::new(path), kind, &text, &project, &AllRules, &|_| true);
        let _ = analyse(
            &Input { path: Path::new(path), text: &fixed, kind, tree: None, project: &project, facts: None },
            &AllRules,
        );
    }

    #[test]
    fn the_frame_decoder_survives_any_bytes_and_resynchronises(
        noise in prop::collection::vec(any::<u8>(), 0..200),
        cuts in prop::collection::vec(0.0..1.0f64, 0..8),
    ) {
        let hover = json!({"jsonrpc": "2.0", "id": 7, "method": "textDocument/hover", "params": {}}).to_string();
        let frame = format!("Content-Length: {}\r\n\r\n{hover}", hover.len()).into_bytes();
        // Noise alone, then a well-formed frame after a blank line: the frame must come out.
        let mut bytes = noise.clone();
        bytes.extend_from_slice(b"\r\n\r\n");
        bytes.extend_from_slice(&frame);
        let mut cuts: Vec<usize> = cuts.iter().map(|c| (c * bytes.len() as f64) as usize).collect();
        cuts.sort_unstable();
        cuts.push(bytes.len());
        let mut decoder = Decoder::default();
        let mut messages = Vec::new();
        let mut from = 0;
        for cut in cuts {
            decoder.push(&bytes[from..cut.max(from)]);
            from = cut.max(from);
            let mut steps = 0;
            while let Some(decoded) = decoder.next(false) {
                messages.extend(decoded.message);
                steps += 1;
                prop_assert!(steps < 10_000, "the decoder does not make progress");
            }
        }
        let mut steps = 0;
        while let Some(decoded) = decoder.next(true) {
            messages.extend(decoded.message);
            steps += 1;
            prop_assert!(steps < 10_000, "the decoder does not make progress");
        }
        prop_assert!(
            messages.iter().any(|m| m["id"] == 7),
            "the frame after the noise was lost: noise {:?}, got {:?}", String::from_utf8_lossy(&noise), messages
        );
    }
}
