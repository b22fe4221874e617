#!/usr/bin/env bash
# The main job: set up, build in release mode, and write the lab's report under reports/.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
swift build -c release --product precision-lab
mkdir -p reports
.build/release/precision-lab report --out reports/lab.md "$@"
