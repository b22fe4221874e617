#!/usr/bin/env bash
# Installs what PrecisionLab needs on a fresh Debian machine (MPFR and GMP headers) and builds it in release mode.
# Sourced by scripts/main.sh and scripts/test.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! command -v swift >/dev/null 2>&1 && [ -x /opt/swift/usr/bin/swift ]; then
    export PATH="/opt/swift/usr/bin:$PATH"
fi
command -v swift >/dev/null 2>&1 || { echo "setup: Swift 6 is required (swift not found on PATH)" >&2; exit 2; }

have_headers() {
    command -v pkg-config >/dev/null 2>&1 && pkg-config --exists mpfr &&
        printf '#include <gmp.h>\n#include <mpfr.h>\n' | cc -E -x c - >/dev/null 2>&1
}
if ! have_headers; then
    echo "setup: installing libmpfr-dev and libgmp-dev" >&2
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq libmpfr-dev libgmp-dev pkg-config >/dev/null
fi
