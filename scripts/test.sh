#!/usr/bin/env bash
# The tests: set up, build in release mode (the exhaustive and million-case checks need optimised code), run.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
swift build -c release --build-tests
swift test -c release --skip-build "$@"
