#!/usr/bin/env bash
# Builds and runs the libFuzzer targets in Fuzz/ (fuzzer + AddressSanitizer).
#
#     bash Tools/fuzz.sh TARGET SECONDS     # e.g. fuzz-header 3600
#     bash Tools/fuzz.sh all SECONDS        # every target, one after another
#     bash Tools/fuzz.sh list
#
# Seeds are generated from Spec/vectors by each target itself (before the
# run), and each target has a dictionary in Fuzz/dict/. The growing corpus,
# logs and crash inputs stay under $SEALED_FUZZ_OUT (default
# .build-fuzz/fuzz-runs/TARGET/{corpus,crashes}); a crash, leak, timeout or
# out-of-memory makes this exit non-zero and names the saved input.
# Reproduce one with: .build-fuzz/debug/TARGET CRASH_FILE
set -uo pipefail
cd "$(dirname "$0")/.."

targets=(fuzz-header fuzz-archive fuzz-keys fuzz-lists fuzz-paper fuzz-keyring fuzz-tar-policy fuzz-payload)
scratch=${SEALED_FUZZ_SCRATCH:-.build-fuzz}
out=${SEALED_FUZZ_OUT:-$scratch/fuzz-runs}
export SEALED_ARCHIVE_FUZZ=1   # Package.swift declares the fuzz targets only then

usage() { echo "usage: $0 TARGET|all|list SECONDS (targets: ${targets[*]})" >&2; exit 2; }
[ "${1:-}" = list ] && { printf '%s\n' "${targets[@]}"; exit 0; }
[ $# -eq 2 ] || usage
what=$1 seconds=$2
[[ "$seconds" =~ ^[0-9]+$ ]] || usage
if [ "$what" = all ]; then selected=("${targets[@]}")
elif [[ " ${targets[*]} " == *" $what "* ]]; then selected=("$what")
else usage
fi

build() {
    swift build --sanitize=fuzzer -Xswiftc -sanitize=fuzzer,address \
        --scratch-path "$scratch" --product "$1" 2>&1 | grep -vE '^\[[0-9]+/[0-9]+\]|ld.gold: warning: Cannot export local symbol' || true
    [ -x "$scratch/debug/$1" ]
}

failed=()
for target in "${selected[@]}"; do
    echo "== $target: build"
    start=$SECONDS
    rm -f "$scratch/debug/$target"
    build "$target" || { echo "$target: build failed"; failed+=("$target (build)"); continue; }
    echo "$target: built in $((SECONDS - start))s"
    bin=$scratch/debug/$target
    dir=$out/$target
    mkdir -p "$dir/corpus" "$dir/crashes"
    rm -rf "$dir/seeds"
    if ! SEALED_FUZZ_WRITE_SEEDS="$dir/seeds" SEALED_FUZZ_VECTORS=Spec/vectors "$bin" 2>"$dir/seeds.log"; then
        cat "$dir/seeds.log"; failed+=("$target (seeds)"); continue
    fi
    echo "== $target: fuzz ${seconds}s ($(ls "$dir/seeds" | wc -l) seeds, dictionary Fuzz/dict/$target.dict)"
    "$bin" -max_total_time="$seconds" -dict="Fuzz/dict/$target.dict" -artifact_prefix="$dir/crashes/" \
        -print_final_stats=1 -timeout=25 -rss_limit_mb=2048 -max_len=16384 \
        "$dir/corpus" "$dir/seeds" >"$dir/fuzz.log" 2>&1
    status=$?
    final=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$dir/fuzz.log" | tail -n 1)
    [ -n "$final" ] || final=$(grep -E '^#[0-9]+[[:space:]]' "$dir/fuzz.log" | tail -n 1)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/fuzz.log")
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$dir/fuzz.log")
    cov=$(grep -oE 'cov: [0-9]+' <<<"$final" | tail -n 1)
    ft=$(grep -oE 'ft: [0-9]+' <<<"$final" | tail -n 1)
    corp=$(grep -oE 'corp: [0-9]+/[0-9]+[a-zA-Z]*' <<<"$final" | tail -n 1)
    echo "$target: execs ${execs:-?} (${rate:-?}/s), ${cov:-cov: ?}, ${ft:-ft: ?}, ${corp:-corp: ?}"
    if [ "$status" -ne 0 ]; then
        grep -E 'ERROR|fuzz invariant|Fatal error|SUMMARY|Test unit written' "$dir/fuzz.log" | head -n 12
        echo "$target: FAILED (exit $status); log $dir/fuzz.log; inputs in $dir/crashes/"
        failed+=("$target")
    fi
done

if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz: failed: ${failed[*]}"
    exit 1
fi
echo "fuzz: ${#selected[@]} target(s) clean for ${seconds}s each"
