#!/usr/bin/env bash
# Install what the editor tests need: apt (chromium, ripgrep, neovim; g++, make, libkrb5-dev for
# code-server's native modules), the extension's npm packages (npm ci in editor-client/) and
# code-server 4.100.3 into a cache folder outside the repository.
# Idempotent: each step runs only when its result is missing or stale. Needs Python, Node 20, npm and
# apt (as root, or with sudo). Reaches only the Debian mirrors and the npm registry.
set -euo pipefail
cd "$(dirname "$0")/.."

CODE_SERVER_VERSION=4.100.3
# code-server 4.100.3's VS Code pins @vscode/ripgrep 1.15.11, whose postinstall downloads ripgrep
# v13.0.0-10 from GitHub unless <tmpdir>/vscode-ripgrep-cache-1.15.11/<asset> exists: we seed that cache
# with Debian's rg (13.0.0 as well).
RIPGREP_PACKAGE_VERSION=1.15.11
RIPGREP_RELEASE=v13.0.0-10
CACHE=${MAGICODER_EDITOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/magicoder-lsp}
CODE_SERVER_DIR="$CACHE/code-server"
log() { echo "setup-editor: $*"; }
export npm_config_update_notifier=false

# -- apt ---------------------------------------------------------------------------------------------
missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v rg >/dev/null || missing+=(ripgrep)
command -v nvim >/dev/null || missing+=(neovim)
# code-server's native modules are compiled here: a C++ toolchain and kerberos' headers.
command -v g++ >/dev/null || missing+=(g++)
command -v make >/dev/null || missing+=(make)
[ -f /usr/include/gssapi/gssapi.h ] || missing+=(libkrb5-dev)
# The headless browser renders text (screenshots) with whatever fonts are installed.
[ -d /usr/share/fonts/truetype/dejavu ] || missing+=(fonts-dejavu-core)
if [ ${#missing[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" = 0 ] || sudo=sudo
    log "apt-get install ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# -- the extension's packages ------------------------------------------------------------------------
stamp=editor-client/node_modules/.magicoder-installed
want=$(sha256sum editor-client/package-lock.json | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    log "npm ci in editor-client/"
    (cd editor-client && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
    echo "$want" > "$stamp"
fi

# -- code-server -------------------------------------------------------------------------------------
if [ ! -x "$CODE_SERVER_DIR/node_modules/.bin/code-server" ] || [ ! -f "$CODE_SERVER_DIR/.installed-$CODE_SERVER_VERSION" ]; then
    log "installing code-server $CODE_SERVER_VERSION into $CODE_SERVER_DIR (compiles native modules, about a minute)"
    rm -rf "$CODE_SERVER_DIR"
    mkdir -p "$CODE_SERVER_DIR"
    case "$(uname -m)" in
        x86_64) rg_target=x86_64-unknown-linux-musl ;;
        aarch64) rg_target=aarch64-unknown-linux-musl ;;
        *) echo "setup-editor: no ripgrep seed for $(uname -m)" >&2; exit 1 ;;
    esac
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    seed="$tmp/vscode-ripgrep-cache-$RIPGREP_PACKAGE_VERSION"
    mkdir -p "$seed/rg"
    cp "$(command -v rg)" "$seed/rg/rg"
    tar czf "$seed/ripgrep-$RIPGREP_RELEASE-$rg_target.tar.gz" -C "$seed/rg" rg
    echo '{"name": "magicoder-code-server", "private": true}' > "$CODE_SERVER_DIR/package.json"
    # npm >= 11.19 skips dependencies' install scripts unless allowed, and only from package.json or an
    # npmrc; code-server needs its own (it runs npm install in lib/vscode and lib/vscode/extensions, whose
    # package.json files we do not own) and its native modules'. A user config of our own reaches those
    # nested installs; an allow-scripts list would be passed down as a flag, which nested project
    # installs refuse, so this folder (code-server's pinned shrinkwrap only) gets npm's old behaviour.
    # (Our user config replaces ~/.npmrc, so it starts with a copy of it: registry, proxy…)
    user_npmrc=$(npm config get userconfig)
    (umask 077; { cat "$user_npmrc" 2>/dev/null || true; echo 'dangerously-allow-all-scripts=true'; } > "$CODE_SERVER_DIR/npmrc")
    (
        cd "$CODE_SERVER_DIR"
        export TMPDIR="$tmp" npm_config_yes=true npm_config_unsafe_perm=true npm_config_userconfig="$CODE_SERVER_DIR/npmrc"
        # node-gyp downloads Node's headers from nodejs.org unless pointed at installed ones.
        nodedir=$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")
        if [ -f "$nodedir/include/node/node_api.h" ]; then export npm_config_nodedir="$nodedir"; fi
        npm install --no-audit --no-fund --loglevel=error "code-server@$CODE_SERVER_VERSION"
    )
    test -x "$CODE_SERVER_DIR/node_modules/code-server/lib/vscode/node_modules/@vscode/ripgrep/bin/rg"
    touch "$CODE_SERVER_DIR/.installed-$CODE_SERVER_VERSION"
fi
log "ready (code-server: $CODE_SERVER_DIR/node_modules/.bin/code-server)"
