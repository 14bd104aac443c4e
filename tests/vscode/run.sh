#!/usr/bin/env bash
# The VS Code end-to-end test: installs what it needs on first run (tests/vscode/install.sh),
# builds the extension's platform .vsix with the given server binary bundled in it, installs it
# into code-server, opens a small project in headless Chromium and runs tests/vscode/e2e.js.
#
# Usage: run.sh   with env:
#   PREFLIGHT  absolute path of the preflight binary to bundle
#   E2E_DIR    where the tools, the build and the .vsix live (target/vscode-e2e)
#   SHOTS      where screenshots go
#   PORT       a free local port for code-server
set -euo pipefail
: "${PREFLIGHT:?}" "${E2E_DIR:?}" "${SHOTS:?}" "${PORT:?}"
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
t0=$(date +%s)

"$HERE/install.sh" "$E2E_DIR"
t_installed=$(date +%s)

# Build from a copy of the extension's sources, so the checkout gets no node_modules or bundle.
BUILD="$E2E_DIR/extension"
mkdir -p "$BUILD"
for f in package.json package-lock.json tsconfig.json .vscodeignore README.md LICENSE; do
  cp "$ROOT/editors/vscode/$f" "$BUILD/$f"
done
rm -rf "$BUILD/src" "$BUILD/scripts" "$BUILD/dist" && cp -r "$ROOT/editors/vscode/src" "$ROOT/editors/vscode/scripts" "$BUILD/"
if ! cmp -s "$BUILD/package-lock.json" "$BUILD/.installed-lock.json"; then
  (cd "$BUILD" && npm ci --no-audit --no-fund >/dev/null)
  cp "$BUILD/package-lock.json" "$BUILD/.installed-lock.json"
fi
TARGET="$(node -p 'const a = process.arch === "arm" ? "armhf" : process.arch; process.platform + "-" + a')"
VSIX="$E2E_DIR/preflight-$TARGET.vsix"
(cd "$BUILD" && node scripts/bundle-server.mjs "$PREFLIGHT" "$TARGET" >/dev/null \
  && npx vsce package --target "$TARGET" --allow-missing-repository -o "$VSIX" </dev/null >/dev/null)
t_built=$(date +%s)

W="$(mktemp -d)"
CS_PID=""
# code-server runs in its own process group so that its extension hosts and the servers they
# started stop with it.
cleanup() {
  if [ -n "$CS_PID" ]; then kill -- -"$CS_PID" 2>/dev/null || true; wait "$CS_PID" 2>/dev/null || true; fi
  rm -rf "$W"
}
trap cleanup EXIT
export XDG_CONFIG_HOME="$W/xdg-config" XDG_DATA_HOME="$W/xdg-data" XDG_CACHE_HOME="$W/xdg-cache"
WS="$W/project"
mkdir -p "$WS/config" "$W/data/User" "$W/extensions" "$SHOTS"

cat > "$WS/config/settings.py" <<'PY'
import os

SECRET_KEY = os.getenv("DJANGO_SECRET_KEY", "dev-secret")
DEBUG = os.getenv("DJANGO_DEBUG", "False") == "True"
ALLOWED_HOSTS = os.environ["DJANGO_ALLOWED_HOSTS"].split(",")
PY
cat > "$WS/config/production.py" <<'PY'
import os

from .settings import *  # noqa: F403

JWT_SECRET = os.getenv("JWT_SECRET", "dev")
PY
cat > "$WS/.env.production" <<'ENV'
DJANGO_DEBUG=True
DJANGO_ALLOWED_HOSTS=*
ENV
cat > "$WS/docker-compose.yml" <<'YAML'
services:
  web:
    build: .
    command: gunicorn config.wsgi:application --bind 0.0.0.0:8000
    environment:
      DJANGO_SETTINGS_MODULE: config.production
      DATABASE_PASSWORD: hunter2-prod-7Q
    env_file: .env.production
    healthcheck:
      test: ["CMD", "curl", "-f", "http://localhost:8000/health"]
YAML
# Enough modules that reading the project takes a moment, for its status bar progress.
mkdir -p "$WS/app/handlers"
for i in $(seq 1 10000); do
  printf 'import os\n\n\ndef handler_%s(event):\n    return os.environ.get("REGION_%s", "eu")\n' "$i" "$i" > "$WS/app/handlers/h$i.py"
done
cat > "$W/data/User/settings.json" <<'JSON'
{
  "security.workspace.trust.enabled": false,
  "telemetry.telemetryLevel": "off",
  "workbench.startupEditor": "none",
  "workbench.tips.enabled": false,
  "extensions.autoCheckUpdates": false,
  "extensions.autoUpdate": false,
  "update.mode": "none",
  "files.autoSave": "off",
  "editor.hover.delay": 200,
  "editor.autoClosingBrackets": "never",
  "editor.autoClosingQuotes": "never",
  "editor.autoIndent": "none",
  "editor.formatOnType": false,
  "editor.quickSuggestions": { "other": false, "comments": false, "strings": false },
  "editor.suggestOnTriggerCharacters": false,
  "editor.codeActionsOnSave": { "source.fixAll.preflight": "explicit" }
}
JSON

# A binary older than the extension accepts, for the notification it must cause.
mkdir -p "$W/old"
printf '#!/bin/sh\necho "preflight 0.0.9"\n' > "$W/old/preflight" && chmod +x "$W/old/preflight"

CS="$E2E_DIR/code-server/node_modules/.bin/code-server"
CSARGS=(--user-data-dir "$W/data" --extensions-dir "$W/extensions")
"$CS" "${CSARGS[@]}" --install-extension "$VSIX" >/dev/null
setsid "$CS" "${CSARGS[@]}" --bind-addr "127.0.0.1:$PORT" --auth none --disable-telemetry \
  --disable-update-check --disable-workspace-trust "$WS" > "$SHOTS/code-server.log" 2>&1 &
CS_PID=$!
for _ in $(seq 150); do
  curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
  sleep 0.2
done

rc=0
OLD_SERVER="$W/old/preflight" PLAYWRIGHT="$E2E_DIR/driver/node_modules/playwright-core" timeout 360 \
  node "$HERE/e2e.js" "http://127.0.0.1:$PORT/?folder=$WS" "$WS" "$W/data/User/settings.json" "$SHOTS" || rc=$?
t_done=$(date +%s)
if [ "$rc" -ne 0 ]; then
  echo "--- the extension's output channel ---"
  find "$W/data/logs" -name '*Preflight*' -exec tail -n 40 {} \; 2>/dev/null || true
  echo "--- code-server log ---"
  tail -n 30 "$SHOTS/code-server.log" || true
fi
echo "timing: tools $((t_installed - t0)) s, extension build $((t_built - t_installed)) s, editor session $((t_done - t_built)) s"
exit "$rc"
