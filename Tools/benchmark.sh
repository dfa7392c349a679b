#!/usr/bin/env bash
# Benchmark, each step run RUNS times; prints the median wall time,
# throughput and peak memory.
#
#     bash Tools/benchmark.sh [SIZE_MB=512] [RUNS=5]            # a random file
#     bash Tools/benchmark.sh --directory [SIZE_MB=800] [RUNS=5] # a backup directory
#     bash Tools/benchmark.sh --recipients [SIZE_MB=1024] [RUNS=5] # X25519 vs post-quantum
#
# File mode: seal, keyless and deep verify, open, against `age` and
# sha256sum. Directory mode (Tools/make-backup-dir.py: 75% SQL dumps, 25%
# incompressible): `seal DIR` (format 2, zstd level 3) against the
# operator's pipeline `tar | zstd -3 -T0 | age` plus `sha256sum`, `open -C`
# against `age -d | zstd -d | tar -x`, and what format 2 reads without the
# whole archive: `verify --quick`, `open --list`, `open --only env.backup`,
# with the bytes each read. Recipients mode: the header size per stanza, and
# seal and open of a 1 KB and a SIZE_MB file to 1 and 3 X25519 recipients
# against 1 and 3 post-quantum ones (the payload path must not differ).
# Uses a release build and a temporary directory on the same disk as the
# outputs.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=file
case "${1:-}" in
--directory) mode=directory; shift ;;
--recipients) mode=recipients; shift ;;
esac
case $mode in
directory) default_size=800 ;;
recipients) default_size=1024 ;;
*) default_size=512 ;;
esac
size_mb=${1:-$default_size}
runs=${2:-5}
export PATH="/opt/swift/usr/bin:$PATH"
swift build -c release >/dev/null
bin="$(swift build -c release --show-bin-path)/sealed-archive"
work=$(mktemp -d "${TMPDIR:-/tmp}/sealed-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

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
        rm -rf "$work/out" "$work/out.sarc" "$work/restored"
        /usr/bin/time -f "%e %M" -o "$work/time" "$@" >/dev/null 2>"$work/err" || { cat "$work/err"; exit 1; }
        read -r seconds kb < "$work/time"
        times+=("$seconds")
        ((kb > rss)) && rss=$kb
    done
    local median
    median=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}')
    awk -v n="$name" -v t="$median" -v mb="$size_mb" -v r="$rss" 'BEGIN {printf "%-28s median %6.2f s  %7.0f MB/s  peak %5.1f MiB\n", n, t, mb / t, r / 1024}'
}

if [ $mode = directory ]; then
    command -v age >/dev/null || { echo "the directory benchmark compares with age: apt-get install age"; exit 1; }
    python3 "$(dirname "$0")/make-backup-dir.py" "$work/backup" "$size_mb"
    echo "input: backup directory of $size_mb MB (75% SQL, 25% random), $runs runs each, $(nproc) cores"
    measure "seal DIR (signed, zstd:3)" "$bin" seal -r "$recipient" --sign-key "$work/sig" -o "$work/out.sarc" "$work/backup"
    measure "tar|zstd -3 -T0|age + sha256sum" sh -c "tar -C '$work/backup' -c . | zstd -q -3 -T0 | age -r '$recipient' > '$work/out' && sha256sum '$work/out' >/dev/null"
    "$bin" seal -r "$recipient" --sign-key "$work/sig" -o "$work/bench.sarc" "$work/backup"
    tar -C "$work/backup" -c . | zstd -q -3 -T0 | age -r "$recipient" > "$work/bench.age"
    ls -l "$work/bench.sarc" "$work/bench.age" | awk '{printf "  %s bytes  %s\n", $5, $NF}'
    measure "verify --quick --signer" "$bin" verify --quick --signer "$signer" "$work/bench.sarc"
    measure "verify --signer (keyless)" "$bin" verify --signer "$signer" "$work/bench.sarc"
    measure "verify -i (deep, manifest)" "$bin" verify --signer "$signer" -i "$work/id" "$work/bench.sarc"
    measure "open -C (manifest, flushed)" "$bin" open -i "$work/id" --signer "$signer" -C "$work/restored" "$work/bench.sarc"
    measure "age -d|zstd -d|tar -x" sh -c "mkdir '$work/restored' && age -d -i '$work/id' '$work/bench.age' | zstd -q -d | tar -C '$work/restored' -x"
    measure "open --list (index)" "$bin" open -i "$work/id" --signer "$signer" --list "$work/bench.sarc"
    measure "open --only env.backup" "$bin" open -i "$work/id" --signer "$signer" --only env.backup -C "$work/restored" "$work/bench.sarc"
    # What the three read, as they report it.
    "$bin" verify --quick --signer "$signer" "$work/bench.sarc" | grep -o 'read [0-9]* bytes of [0-9]*' | sed 's/^/  verify --quick: /'
    "$bin" open -i "$work/id" --signer "$signer" --list "$work/bench.sarc" 2>&1 >/dev/null | grep -o 'read [0-9]* bytes of [0-9]*' | sed 's/^/  open --list: /'
    rm -rf "$work/restored"
    "$bin" open -i "$work/id" --signer "$signer" --only env.backup -C "$work/restored" "$work/bench.sarc" 2>&1 | grep -o 'read [0-9]* bytes of [0-9]*' | sed 's/^/  open --only env.backup: /'
    cmp "$work/restored/env.backup" "$work/backup/env.backup" && echo "  env.backup restored byte-identical"
    exit 0
fi

if [ $mode = recipients ]; then
    # Three identities of each kind; the first of each opens.
    for kind in x pq; do
        for k in 1 2 3; do
            if [ $kind = pq ]; then "$bin" keygen --pq -o "$work/$kind$k" 2>/dev/null; else "$bin" keygen -o "$work/$kind$k" 2>/dev/null; fi
        done
    done
    r() { "$bin" recipient "$work/$1"; }
    head -c 1000 /dev/urandom > "$work/small"
    head -c $((size_mb * 1000000)) /dev/urandom > "$work/plain"
    echo "inputs: 1 KB and $size_mb MB random, $runs runs each, $(nproc) cores"
    for kind in x pq; do
        one=(-r "$(r ${kind}1)")
        three=(-r "$(r ${kind}1)" -r "$(r ${kind}2)" -r "$(r ${kind}3)")
        name=$([ $kind = pq ] && echo "post-quantum" || echo "X25519")
        for count in 1 3; do
            if [ $count = 1 ]; then set -- "${one[@]}"; else set -- "${three[@]}"; fi
            "$bin" seal "$@" -o "$work/h.sarc" "$work/small" 2>/dev/null
            "$bin" inspect --json "$work/h.sarc" | python3 -c 'import json,sys; print("  header: %d bytes" % json.load(sys.stdin)["header_length"])'
            measure "seal 1 KB, $count $name" "$bin" seal "$@" -o "$work/out.sarc" "$work/small"
            measure "open 1 KB, $count $name" "$bin" open -i "$work/${kind}1" -o "$work/out" "$work/h.sarc"
            measure "seal $size_mb MB, $count $name" "$bin" seal "$@" -o "$work/out.sarc" "$work/plain"
            "$bin" seal "$@" -o "$work/big.sarc" "$work/plain" 2>/dev/null
            measure "open $size_mb MB, $count $name" "$bin" open -i "$work/${kind}1" -o "$work/out" "$work/big.sarc"
            rm -f "$work/big.sarc" "$work/h.sarc"
        done
    done
    exit 0
fi

head -c $((size_mb * 1000000)) /dev/urandom > "$work/plain"
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
