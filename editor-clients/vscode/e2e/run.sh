#!/usr/bin/env bash
# `make e2e`: the extension in a real VS Code (code-server 4.100.3 = VS Code 1.100.3) driven by
# headless Chromium through playwright-core, against the real `o1coder serve`.
#
#   run.sh install   code-server, Chromium, playwright-core and the .vsix (cached, idempotent)
#   run.sh test      a fresh profile with the .vsix, code-server started, e2e.mjs, code-server stopped
#   run.sh           both
#
# Environment: O1CODER (the `o1coder` executable the extension starts; default: the repository's
# .venv), E2E_CACHE (installs and the run's profile; default .e2e/ at the repository root),
# E2E_ARTIFACTS (screenshots and logs; default artifacts/e2e/), E2E_PORT (default: a free one).
# The README's "A real VS Code: make e2e" says what it checks.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
VSCODE_DIR="$(dirname "$HERE")"
REPO="$(cd "$VSCODE_DIR/../.." && pwd)"
CODE_SERVER_VERSION=4.100.3
# @vscode/ripgrep's postinstall downloads this file unless it is in its cache folder
RIPGREP_PKG_VERSION=1.15.11
RIPGREP_ASSET=ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz
APT_PACKAGES=(chromium ripgrep libkrb5-dev)
CHROMIUM="${CHROMIUM:-/usr/lib/chromium/chromium}"

CACHE="${E2E_CACHE:-$REPO/.e2e}"
ARTIFACTS="${E2E_ARTIFACTS:-$REPO/artifacts/e2e}"
O1CODER="${O1CODER:-$REPO/.venv/bin/o1coder}"
CS_DIR="$CACHE/code-server-$CODE_SERVER_VERSION"
CODE_SERVER="$CS_DIR/node_modules/.bin/code-server"
VSIX="$CACHE/o1coder.vsix"

say() { printf '[e2e] %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }
now() { date +%s; }

need_node() {
  command -v node >/dev/null && command -v npm >/dev/null || die "Node 20 and npm are needed (code-server $CODE_SERVER_VERSION requires Node 20 exactly)"
  local major
  major="$(node -p 'process.versions.node.split(".")[0]')"
  [ "$major" = 20 ] || die "code-server $CODE_SERVER_VERSION installs only under Node 20; this is Node $(node --version)"
}

install_apt() {
  local missing=()
  command -v rg >/dev/null || missing+=(ripgrep)
  [ -x "$CHROMIUM" ] || missing+=(chromium)
  dpkg -s libkrb5-dev >/dev/null 2>&1 || [ -e /usr/include/gssapi/gssapi.h ] || missing+=(libkrb5-dev)
  [ ${#missing[@]} -eq 0 ] && return
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    die "missing system packages: ${missing[*]} (on Debian: sudo apt-get install ${APT_PACKAGES[*]}; or set CHROMIUM to a Chromium executable)"
  fi
}

seed_ripgrep() {
  # @vscode/ripgrep (a code-server dependency) downloads rg from GitHub in its postinstall, unless
  # its cache folder already holds the release asset: give it Debian's rg under that name.
  local dir="${TMPDIR:-/tmp}/vscode-ripgrep-cache-$RIPGREP_PKG_VERSION"
  [ -s "$dir/$RIPGREP_ASSET" ] && return
  mkdir -p "$dir"
  tar -czf "$dir/$RIPGREP_ASSET.partial" -C "$(dirname "$(command -v rg)")" rg
  mv "$dir/$RIPGREP_ASSET.partial" "$dir/$RIPGREP_ASSET"
}

code_server_version() {
  # `--version` prints "4.100.3 <commit> with Code 1.100.3", after a first-run line or two
  local out
  out="$("$CODE_SERVER" --version 2>/dev/null)" || return 0
  grep -o "^$CODE_SERVER_VERSION " <<<"$out" | tr -d ' ' || true
}

install_code_server() {
  if [ -x "$CODE_SERVER" ] && [ "$(code_server_version)" = "$CODE_SERVER_VERSION" ]; then
    return
  fi
  say "installing code-server $CODE_SERVER_VERSION into $CS_DIR (about 2 minutes)"
  seed_ripgrep
  rm -rf "$CS_DIR"
  mkdir -p "$CS_DIR"
  echo '{"private": true}' >"$CS_DIR/package.json"
  # unsafe_perm: its postinstall refuses to run as root otherwise;
  # yes: node-pty's postinstall runs `npx node-gyp`, which would ask before installing it.
  (cd "$CS_DIR" && npm_config_unsafe_perm=true npm_config_yes=true \
    npm install --no-audit --no-fund --loglevel=error "code-server@$CODE_SERVER_VERSION" >"$CACHE/code-server-install.log" 2>&1) \
    || { tail -40 "$CACHE/code-server-install.log" >&2; rm -rf "$CS_DIR"; die "npm install code-server@$CODE_SERVER_VERSION failed (log: $CACHE/code-server-install.log)"; }
  [ "$(code_server_version)" = "$CODE_SERVER_VERSION" ] || die "code-server did not install (log: $CACHE/code-server-install.log)"
}

install_node_packages() {
  (cd "$VSCODE_DIR" && { [ -f node_modules/.package-lock.json ] || npm ci --no-audit --no-fund --loglevel=error >/dev/null; })
  (cd "$HERE" && { [ -f node_modules/.package-lock.json ] || npm ci --no-audit --no-fund --loglevel=error >/dev/null; })
}

build_vsix() {
  # vsce runs vscode:prepublish (type check and production bundle) before packaging
  say "packaging the extension"
  (cd "$VSCODE_DIR" && npm run --silent package -- --out "$VSIX" >"$CACHE/vsce.log" 2>&1) \
    || { cat "$CACHE/vsce.log" >&2; die "packaging the .vsix failed"; }
}

install() {
  local t0
  t0="$(now)"
  need_node
  mkdir -p "$CACHE"
  install_apt
  install_code_server
  install_node_packages
  build_vsix
  say "install done in $(($(now) - t0)) s"
}

free_port() {
  node -e 'const s = require("net").createServer(); s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
}

CS_PID=""
DRIVER_PID=""

stop_code_server() {
  # code-server's extension host and the language server (and its running search) outlive a
  # closed browser: stop the whole process group code-server leads, by its pid.
  if [ -n "$DRIVER_PID" ]; then
    kill -TERM "$DRIVER_PID" 2>/dev/null || true
    wait "$DRIVER_PID" 2>/dev/null || true
    DRIVER_PID=""
  fi
  [ -n "$CS_PID" ] || return 0
  local pid="$CS_PID"
  CS_PID=""
  if kill -0 "$pid" 2>/dev/null; then
    say "stopping code-server (pid $pid and its process group)"
    kill -TERM -- "-$pid" 2>/dev/null || true
    for _ in $(seq 50); do
      kill -0 -- "-$pid" 2>/dev/null || break
      sleep 0.2
    done
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

run_tests() {
  local t0 run port
  t0="$(now)"
  need_node
  [ -x "$CODE_SERVER" ] && [ -f "$VSIX" ] && [ -d "$HERE/node_modules/playwright-core" ] || die "not installed: run \`$0 install\` first"
  [ -x "$CHROMIUM" ] || die "no Chromium at $CHROMIUM (set CHROMIUM)"
  [ -x "$O1CODER" ] || die "no o1coder at $O1CODER (set O1CODER, or run \`make install\`)"

  # a fresh profile, extensions folder and workspace each run
  run="$CACHE/run"
  rm -rf "$run" "$ARTIFACTS"
  mkdir -p "$run/user-data/User" "$run/extensions" "$run/cache" "$ARTIFACTS"
  cp -r "$HERE/workspace" "$run/workspace"
  "$CODE_SERVER" --user-data-dir "$run/user-data" --extensions-dir "$run/extensions" \
    --install-extension "$VSIX" >"$ARTIFACTS/install-extension.log" 2>&1 \
    || { cat "$ARTIFACTS/install-extension.log" >&2; die "installing the .vsix into code-server failed"; }
  node "$HERE/settings.mjs" "$run/user-data" "$O1CODER" serve

  port="${E2E_PORT:-$(free_port)}"
  trap stop_code_server EXIT
  trap 'exit 130' INT TERM
  say "starting code-server on 127.0.0.1:$port"
  # setsid: code-server leads its own process group, so teardown reaches every process it starts.
  # XDG_CACHE_HOME: the server writes its search tree pages there (o1coder.lsp.tree_pages).
  XDG_CACHE_HOME="$run/cache" setsid "$CODE_SERVER" --bind-addr "127.0.0.1:$port" --auth none \
    --user-data-dir "$run/user-data" --extensions-dir "$run/extensions" \
    --disable-telemetry --disable-update-check --disable-workspace-trust \
    "$run/workspace" >"$ARTIFACTS/code-server.log" 2>&1 &
  CS_PID=$!

  local rc=0
  # in the background, so that a signal reaches the trap (which stops both) at once
  E2E_URL="http://127.0.0.1:$port" E2E_WORKSPACE="$run/workspace" E2E_ARTIFACTS="$ARTIFACTS" \
    E2E_SETTINGS="$run/user-data/Machine/settings.json" E2E_TREES="$run/cache/o1coder/trees" \
    E2E_O1CODER="$O1CODER" CHROMIUM="$CHROMIUM" node "$HERE/e2e.mjs" &
  DRIVER_PID=$!
  wait "$DRIVER_PID" || rc=$?
  DRIVER_PID=""
  stop_code_server
  # the extension's logs (its output channels, the extension host's) beside the screenshots
  find "$run/user-data/logs" -name '*.log' -size +0 \( -path '*o1coder*' -o -name 'remoteexthost.log' \) \
    -exec cp {} "$ARTIFACTS/" \; 2>/dev/null || true
  say "run done in $(($(now) - t0)) s; screenshots and logs: $ARTIFACTS"
  return "$rc"
}

case "${1:-all}" in
  install) install ;;
  test) run_tests ;;
  all) install && run_tests ;;
  *) die "usage: $0 [install|test]" ;;
esac
