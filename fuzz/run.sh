#!/usr/bin/env bash
# Runs the libFuzzer targets (build them first: fuzz/build.sh).
#   fuzz/run.sh --replay [TARGET...]        run each target once over its committed corpus (fuzz/corpus/TARGET): CI
#   fuzz/run.sh --time SECONDS [TARGET...]  fuzz each target for SECONDS (new inputs go to .build-fuzz/corpus/TARGET,
#                                           crashes to .build-fuzz/crashes/TARGET/; add --runs N to stop after N executions)
# Exit status is nonzero if any target crashed, leaked or failed a check.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
mode="" seconds=0 runs=-1
while [ $# -gt 0 ]; do
    case "$1" in
        --replay) mode=replay; shift ;;
        --time) mode=fuzz; seconds="${2:?--time needs a number of seconds}"; shift 2 ;;
        --runs) runs="${2:?--runs needs a number of executions}"; shift 2 ;;
        *) break ;;
    esac
done
[ -n "$mode" ] || { echo "usage: fuzz/run.sh --replay | --time SECONDS [--runs N] [TARGET...]" >&2; exit 2; }
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then for d in fuzz/corpus/*/; do targets+=("$(basename "$d")"); done; fi
status=0
for t in "${targets[@]}"; do
    bin=".build-fuzz/bin/fuzz-$t"
    [ -x "$bin" ] || { echo "fuzz: $bin is missing (run fuzz/build.sh)" >&2; exit 2; }
    dict=()
    case "$t" in safetensors|npy|suite|scaler_trace|expected_values|results) dict=(-dict=fuzz/json.dict) ;; esac
    if [ "$mode" = replay ]; then
        # Every committed input, once; -runs=0 stops after the corpus has been read and executed.
        if ! "$bin" -runs=0 "fuzz/corpus/$t" 2>".build-fuzz/replay-$t.log"; then
            echo "fuzz: $t FAILED on its committed corpus (see .build-fuzz/replay-$t.log)" >&2; tail -30 ".build-fuzz/replay-$t.log" >&2; status=1
        else
            echo "fuzz: $t replayed $(ls "fuzz/corpus/$t" | wc -l) committed inputs: no crash" >&2
        fi
    else
        mkdir -p ".build-fuzz/corpus/$t" ".build-fuzz/crashes/$t"
        if ! "$bin" "${dict[@]}" -max_len=16384 -max_total_time="$seconds" -runs="$runs" -print_final_stats=1 \
            -artifact_prefix=".build-fuzz/crashes/$t/" ".build-fuzz/corpus/$t" "fuzz/corpus/$t" 2>".build-fuzz/fuzz-$t.log"; then
            echo "fuzz: $t CRASHED (see .build-fuzz/fuzz-$t.log and .build-fuzz/crashes/$t/)" >&2; status=1
        fi
        grep -E "stat::number_of_executed_units|cov:" ".build-fuzz/fuzz-$t.log" | tail -2 | sed "s/^/fuzz: $t: /" >&2
    fi
done
exit $status
