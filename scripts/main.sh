#!/usr/bin/env bash
# The main job: set up, build in release mode, run the default suite (reports/default.md, its charts and results) and,
# beside it, write the lab's report (reports/lab.md: the formats' conformance against MPFR and the reduction fixtures).
# Neither times anything, so they share the two cores; the reductions benchmark is a timing and runs on its own:
# `precision-lab bench reductions`, or `precision-lab report` with its default --bench-size (a 64M-element benchmark).
# Arguments go to `precision-lab report` (not --bench-size: the benchmark would be timed beside the suite).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
swift build -c release --product precision-lab
mkdir -p reports
.build/release/precision-lab report --out reports/lab.md --bench-size 0 "$@" &
report=$!
trap 'kill "$report" 2>/dev/null || true' EXIT
.build/release/precision-lab suite run default --fresh
wait "$report"
trap - EXIT
