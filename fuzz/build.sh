#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/targets/*.swift, all but the shared Fuzz*.swift) with AddressSanitizer and
# libFuzzer's coverage instrumentation into .build-fuzz/bin/fuzz-NAME. The library modules are built by SwiftPM with
# the same instrumentation (its own scratch path, so the normal build is untouched); each target links their objects.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="${SWIFT_BIN:-/opt/swift/usr/bin}:$PATH"
scratch=.build-fuzz
flags=(-sanitize=fuzzer,address)
swift build -c release --scratch-path "$scratch" --target Experiments -Xswiftc "${flags[0]}" >&2
release="$scratch/x86_64-unknown-linux-gnu/release"
[ -d "$release" ] || release="$(ls -d "$scratch"/*/release | head -1)"
modules=(Formats Base Results TensorIO Reference Reductions Tensors Autograd Training Experiments)
objects=()
for m in "${modules[@]}"; do objects+=("$release/$m.build"/*.o); done
mkdir -p "$scratch/bin"
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    for f in fuzz/targets/*.swift; do
        n="$(basename "$f" .swift)"
        case "$n" in Fuzz*) ;; *) targets+=("$n") ;; esac
    done
fi
cpu=()
[ "$(uname -m)" = x86_64 ] && cpu=(-target-cpu haswell)
for t in "${targets[@]}"; do
    shared=()
    case "$t" in safetensors|npy) shared=(fuzz/targets/FuzzTensors.swift) ;; esac
    echo "fuzz: building fuzz-$t" >&2
    swiftc -O "${cpu[@]}" "${flags[@]}" -parse-as-library -module-name "Fuzz_$t" -I "$release/Modules" -I Sources/CMPFR $(pkg-config --cflags-only-I mpfr) \
        "fuzz/targets/$t.swift" "${shared[@]}" "${objects[@]}" -lmpfr -lgmp -o "$scratch/bin/fuzz-$t" 2> >(grep -v "Cannot export local symbol" >&2)
done
