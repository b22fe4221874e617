#!/usr/bin/env bash
# The tests: set up, build in release mode (the exhaustive and million-case checks need optimised code), run.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
# The Slurm array test starts a real single-node Slurm (root, Debian's slurm-wlm and munge); without root it is skipped.
if [ "$(id -u)" -eq 0 ] && { [ ! -x /usr/sbin/slurmd ] || [ ! -x /usr/sbin/munged ] || ! command -v sbatch >/dev/null 2>&1; }; then
    echo "test: installing slurm-wlm and munge (for the Slurm array test)" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null
fi
swift build -c release --build-tests
swift test -c release --skip-build "$@"
# The libFuzzer targets (AddressSanitizer, coverage) run once over their committed corpus: every parser survives
# every input that ever found new coverage (fuzz/README.md).
bash fuzz/build.sh
bash fuzz/run.sh --replay
