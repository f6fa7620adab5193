# Shared by scripts/run and scripts/test: install what is missing, then build. Idempotent: a second
# call finds everything in place and only lets ninja rebuild what changed.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=$ROOT/build/release
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi

# Debian 12 packages the build needs.
BUILD_PACKAGES=(g++ cmake ninja-build ccache pkg-config libboost1.81-dev libboost-json1.81-dev
  libboost-url1.81-dev libsqlite3-dev libssl-dev libgtest-dev libgmock-dev libcli11-dev curl)
BUILD_PACKAGES+=(libpugixml-dev)  # XML parser of the ISO 20022 reader (src/banks/iso20022)
BUILD_PACKAGES+=(libsodium-dev)  # sealing personal data and argon2id password hashes (src/crypto)

apt_updated=0
ensure_apt() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "==> installing ${missing[*]}"
  if [ $apt_updated -eq 0 ]; then $SUDO apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
}

ensure_build_deps() { ensure_apt "${BUILD_PACKAGES[@]}"; }

# Node.js runs the tools a merchant would use (OpenAPI lint, webhook verifier) and the end-to-end
# tests. Any node >= 18.17 will do; Debian 12's own package is enough.
ensure_node_deps() {
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then ensure_apt nodejs npm; fi
  if [ ! -f "$ROOT/node_modules/.package-lock.json" ] || \
     [ "$ROOT/package-lock.json" -nt "$ROOT/node_modules/.package-lock.json" ]; then
    echo "==> installing Node tools (npm ci)"
    (cd "$ROOT" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  fi
}

build() {
  if [ ! -f "$BUILD/build.ninja" ]; then
    echo "==> configuring (CMake, Ninja, release with debug info)"
    (cd "$ROOT" && cmake --preset release >/dev/null)
  fi
  echo "==> building"
  cmake --build "$BUILD" -- --quiet -j"$(nproc)"
}

# ---- The web pages (web/, Vite) and their browser tests (tests/browser/) ----
# Debian's chromium, driven by playwright-core (from npm, pinned), runs the browser tests; a
# Korean font lets the Korean pages render as text, in the screenshots too.
WEB_PACKAGES=(chromium fonts-nanum)
ensure_web_deps() { ensure_apt "${WEB_PACKAGES[@]}"; }

# Type-checks web/ (against the types of docs/openapi.yaml) and builds it into web/dist (what
# varelayd serves by default, --web-root) when a source, the contract or the lock file is newer.
build_web() {
  local built=$ROOT/web/dist/pay/index.html
  if [ -f "$built" ] && [ "$ROOT/package-lock.json" -ot "$built" ] && [ "$ROOT/docs/openapi.yaml" -ot "$built" ] &&
     [ -z "$(find "$ROOT/web" \( -path "$ROOT/web/dist" -o -path "$ROOT/web/src/generated" \) -prune -o -type f -newer "$built" -print -quit)" ]; then
    return 0
  fi
  echo "==> building the web pages (types from docs/openapi.yaml, tsc, vite: web/ into web/dist)"
  (cd "$ROOT" && npm run -s build:web)
}
