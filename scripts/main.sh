#!/usr/bin/env bash
# The main job: set up, build in release mode, run the default suite (reports/default.md, its charts and results) and
# write the lab's report (reports/lab.md: formats, reduction fixtures, reductions benchmark).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
swift build -c release --product precision-lab
mkdir -p reports
.build/release/precision-lab report --out reports/lab.md "$@"
.build/release/precision-lab suite run default --fresh
