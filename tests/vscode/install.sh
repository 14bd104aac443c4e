#!/usr/bin/env bash
# Installs what the VS Code end-to-end test needs, once, into DEST (target/vscode-e2e):
#   DEST/code-server  code-server (VS Code in the browser) from npm, pinned
#   DEST/driver       playwright-core, which drives the Debian `chromium` package
# Only package registries are needed (npm, Debian). Safe to re-run: finished steps are skipped.
set -euo pipefail
DEST="${1:?usage: install.sh DEST}"
CODE_SERVER_VERSION=4.100.3  # the newest 4.x whose engines allow Node 20 (VS Code 1.100.3)
PLAYWRIGHT_VERSION=1.65.1
mkdir -p "$DEST"
DEST="$(cd "$DEST" && pwd)"

missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v rg >/dev/null || missing+=(ripgrep)
# Native modules of code-server are built with node-gyp.
dpkg -s libkrb5-dev >/dev/null 2>&1 || missing+=(libkrb5-dev)
dpkg -s pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
command -v g++ >/dev/null || missing+=(build-essential)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q >/dev/null || true
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

# code-server: installed without its postinstall script, which refuses to run as root and then
# downloads ripgrep from GitHub. Its steps are done here by hand, with Debian's ripgrep.
CS="$DEST/code-server"
if [ ! -x "$CS/node_modules/.bin/code-server" ] || [ ! -f "$CS/.complete" ]; then
  rm -rf "$CS" && mkdir -p "$CS" && cd "$CS"
  npm init -y >/dev/null
  npm install --no-audit --no-fund --ignore-scripts "code-server@$CODE_SERVER_VERSION" >/dev/null
  npm rebuild argon2 >/dev/null
  cd node_modules/code-server/lib/vscode
  npm install --no-audit --no-fund --omit=dev --ignore-scripts >/dev/null
  mkdir -p node_modules/@vscode/ripgrep/bin
  cp "$(command -v rg)" node_modules/@vscode/ripgrep/bin/rg
  # node-pty's install script runs `npx node-gyp`: allow npx to proceed without a prompt.
  npm_config_yes=true npm rebuild >/dev/null
  ln -sfn node_modules node_modules.asar
  (cd bin/remote-cli && ln -sfn code-linux.sh code-server)
  (cd bin/helpers && ln -sfn browser-linux.sh browser.sh)
  (cd extensions && npm install --no-audit --no-fund --omit=dev >/dev/null)
  touch "$CS/.complete"
fi

DRIVER="$DEST/driver"
if [ ! -f "$DRIVER/node_modules/playwright-core/package.json" ]; then
  mkdir -p "$DRIVER" && cd "$DRIVER"
  [ -f package.json ] || npm init -y >/dev/null
  npm install --no-audit --no-fund "playwright-core@$PLAYWRIGHT_VERSION" >/dev/null
fi
echo "installed into $DEST" >&2
