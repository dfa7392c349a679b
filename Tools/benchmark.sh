#!/usr/bin/env bash
# Benchmark: seal, keyless verify, deep verify and open of a file, each run
# RUNS times; prints the median wall time, throughput and peak memory, and
# the same for `age` (the operator's current tool) when it is installed.
#
#     bash Tools/benchmark.sh [SIZE_MB=512] [RUNS=5]
#
# Uses a release build. The input is random (incompressible) bytes, in a
# temporary directory on the same disk as the output.
set -euo pipefail
cd "$(dirname "$0")/.."
size_mb=${1:-512}
runs=${2:-5}
export PATH="/opt/swift/usr/bin:$PATH"
swift build -c release >/dev/null
bin="$(swift build -c release --show-bin-path)/sealed-archive"
work=$(mktemp -d "${TMPDIR:-/tmp}/sealed-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

head -c $((size_mb * 1000000)) /dev/urandom > "$work/plain"
"$bin" keygen -o "$work/id" 2>/dev/null
"$bin" keygen --signing -o "$work/sig" 2>/dev/null
recipient=$("$bin" recipient "$work/id")
signer=$("$bin" recipient "$work/sig")

# measure NAME COMMAND...: runs COMMAND $runs times, prints median seconds,
# MB/s of the input size and the largest peak RSS.
measure() {
    local name=$1; shift
    local times=() rss=0
    for _ in $(seq "$runs"); do
        rm -f "$work/out" "$work/out.sarc"
        /usr/bin/time -f "%e %M" -o "$work/time" "$@" >/dev/null 2>"$work/err" || { cat "$work/err"; exit 1; }
        read -r seconds kb < "$work/time"
        times+=("$seconds")
        ((kb > rss)) && rss=$kb
    done
    local median
    median=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}')
    awk -v n="$name" -v t="$median" -v mb="$size_mb" -v r="$rss" 'BEGIN {printf "%-28s median %6.2f s  %7.0f MB/s  peak %5.1f MiB\n", n, t, mb / t, r / 1024}'
}

echo "input: $size_mb MB random, $runs runs each, $(nproc) cores"
measure "seal (signed)" "$bin" seal -r "$recipient" --sign-key "$work/sig" -o "$work/out.sarc" "$work/plain"
"$bin" seal -r "$recipient" --sign-key "$work/sig" -o "$work/bench.sarc" "$work/plain"
measure "verify keyless --signer" "$bin" verify --signer "$signer" "$work/bench.sarc"
measure "verify -i (deep)" "$bin" verify --signer "$signer" -i "$work/id" "$work/bench.sarc"
measure "open -o" "$bin" open -i "$work/id" -o "$work/out" "$work/bench.sarc"
if command -v age >/dev/null; then
    measure "age -r (baseline)" age -r "$recipient" -o "$work/out" "$work/plain"
    age -r "$recipient" -o "$work/bench.age" "$work/plain"
    measure "age -d (baseline)" age -d -i "$work/id" -o "$work/out" "$work/bench.age"
fi
measure "sha256sum (baseline)" sha256sum "$work/plain"
