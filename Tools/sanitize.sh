#!/usr/bin/env bash
# Builds and runs the tests under sanitizers; exits non-zero on any sanitizer
# report or test failure.
#
#     bash Tools/sanitize.sh [address|thread|all]     (default: all)
#
# address: every suite (library, key rotation, CLI end to end) built with
#   AddressSanitizer and LeakSanitizer, so the CLI tests run the sanitized
#   `sealed-archive` (CLIHarness finds it beside the test executable).
#   Leaks inside the toolchain's XCTest and Foundation are suppressed in
#   Tools/sanitizers/lsan.supp, each entry with its reason.
# thread: the tests that run our threads (parallel chunk sealing/opening,
#   ArchiveReader's plaintext producer thread, parallel verification of
#   several archives, the sigwait cleanup thread), built with
#   ThreadSanitizer. TSan cannot see Synchronization.Mutex hand over a
#   contended lock; shared state is in SealedArchive's `Locked`, which
#   annotates its critical sections for TSan. Tools/sanitizers/README.md has
#   the why and a standalone reproducer, which this pass checks first.
#
# UndefinedBehaviorSanitizer is not run: swiftc rejects -sanitize=undefined
# on Linux ("unsupported option ... for target x86_64-unknown-linux-gnu"),
# and every target here is Swift. What UBSan adds to C (overflow, bounds,
# misaligned-load checks) is built into Swift: it traps in these debug
# builds, and handle_sigill=1 below turns such a trap into a sanitizer
# report. libsodium, libarchive and OpenSSL are Debian's uninstrumented
# binaries under every sanitizer; swift-crypto's BoringSSL (X-Wing) is
# built from source, so it is instrumented with the rest.
#
# Reports go to files (log_path) in a fresh directory: a report in any
# process, the test runner or a CLI child, fails the run even when the test
# that started the child did not notice. abort_on_error=1 also makes a
# reporting child die of SIGABRT, an exit status no CLI test expects.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

# The full tier of the tests (README, "Testing"): every size and round
# count, and tests needing a missing tool fail rather than skip.
export SEALED_ARCHIVE_FULL_TESTS=1

mode=${1:-all}
case "$mode" in
    address|thread|all) ;;
    *) echo "usage: $0 [address|thread|all]" >&2; exit 2 ;;
esac

. Tools/lib/install-packages.sh
# What the CLI tests run besides sealed-archive (python3 for the hostile tar
# fixtures, zstd, age, rclone).
install_packages libsodium-dev libarchive-dev libzstd-dev libssl-dev pkg-config age python3 time zstd rclone

# The toolchain ships llvm-symbolizer (/opt/swift/usr/bin): reports get
# file:line for our code without any Debian package.
symbolizer=$(command -v llvm-symbolizer || true)
[ -n "$symbolizer" ] || { echo "llvm-symbolizer not found (it ships with the Swift toolchain)" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Some CLI tests run sealed-archive as `nobody` (setpriv): it must reach the
# report directories, or the sanitizer dies at startup ("Can't create
# directory").
chmod 711 "$work"

# A report directory anyone can write to, as /tmp.
report_directory() {
    mkdir -p "$work/$1"
    chmod 1777 "$work/$1"
    echo "$work/$1"
}
failed=()
timings=()

# Prints and counts the report files in $1; true when there are none.
no_reports() {
    local directory=$1 files
    files=$(find "$directory" -type f -size +0 | sort)
    [ -z "$files" ] && return 0
    echo "!! sanitizer reports in $(echo "$files" | wc -l) file(s):"
    while read -r file; do
        echo "---- $file"
        cat "$file"
    done <<< "$files"
    return 1
}

# The Swift runtime's backtracer would catch the SIGABRT of
# abort_on_error=1 and, under ThreadSanitizer, loop forever ("failed to
# suspend thread ... while processing a crash"): the sanitizer prints the
# stack instead. Exported, so the CLI children inherit it.
export SWIFT_BACKTRACE=enable=no

# build_pass NAME SANITIZER SCRATCH: builds everything, tests included.
build_pass() {
    local name=$1 sanitizer=$2 scratch=$3 start=$SECONDS
    echo "== $name: swift build --build-tests --sanitize=$sanitizer --scratch-path $scratch"
    if ! swift build --build-tests --sanitize="$sanitizer" --scratch-path "$scratch" > "$work/$name-build.log" 2>&1; then
        tail -n 40 "$work/$name-build.log"
        failed+=("$name (build)")
        return 1
    fi
    timings+=("$name build: $((SECONDS - start)) s")
}

# test_pass NAME SANITIZER SCRATCH SWIFT-TEST-ARGS...: runs `swift test`
# with the rest (options are in the environment already), then checks the
# exit status, the result line and the report directory $SAN_LOGS.
test_pass() {
    local name=$1 sanitizer=$2 scratch=$3
    shift 3
    local start=$SECONDS log="$work/$name.log" status=0 ok=1
    echo "== $name: swift test --sanitize=$sanitizer --scratch-path $scratch $*"
    swift test --skip-build --sanitize="$sanitizer" --scratch-path "$scratch" "$@" > "$log" 2>&1 || status=$?
    grep -E "^(✔|✘) (Suite|Test run)|recorded an issue|error:" "$log" || true
    if [ "$status" -ne 0 ] || ! grep -q "Test run with .* passed" "$log"; then
        echo "!! $name: swift test exited $status"
        tail -n 40 "$log"
        ok=0
    fi
    no_reports "$SAN_LOGS" || ok=0
    ((ok)) || failed+=("$name")
    timings+=("$name tests: $((SECONDS - start)) s")
}

if [ "$mode" = address ] || [ "$mode" = all ]; then
    SAN_LOGS=$(report_directory asan-reports)
    # handle_sigill: a Swift runtime trap (overflow, bounds, unwrap of nil)
    # in a sanitized process also leaves a report with its stack.
    export ASAN_OPTIONS="halt_on_error=1:abort_on_error=1:detect_leaks=1:handle_sigill=1:log_path=$SAN_LOGS/asan:external_symbolizer_path=$symbolizer"
    export LSAN_OPTIONS="suppressions=$root/Tools/sanitizers/lsan.supp:print_suppressions=0"
    # Skipped: gigabyteStreamRunsInBoundedMemory asserts a peak RSS under
    # 64 MiB, which ASan's shadow memory and quarantine make meaningless
    # (about 70 MiB here), and it pushes 1 GiB through two instrumented
    # processes. The normal test run keeps checking it. Likewise
    # sixteenArchivesStayUnder64MiB (the verification budget's peak RSS).
    # OffsiteKitTests drive the shell kit through a month of runs and an
    # ssh server (8 minutes under ASan, most of this pass): the binary it
    # calls is exercised by every other CLI suite here, and the kit itself
    # by the normal run.
    if build_pass address address .build-asan; then
        test_pass address address .build-asan --skip 'gigabyteStreamRunsInBoundedMemory|sixteenArchivesStayUnder64MiB|OffsiteKitTests'
    fi
    unset ASAN_OPTIONS LSAN_OPTIONS
fi

if [ "$mode" = thread ] || [ "$mode" = all ]; then
    SAN_LOGS=$(report_directory tsan-reports)
    # atexit_sleep_ms: TSan sleeps 1 s before every exit by default, which
    # costs minutes over the hundreds of CLI processes; our threads are
    # joined or parked in sigwait by then.
    export TSAN_OPTIONS="halt_on_error=1:abort_on_error=1:handle_sigill=1:atexit_sleep_ms=50:second_deadlock_stack=1:log_path=$SAN_LOGS/tsan:external_symbolizer_path=$symbolizer"
    # The suites that run our threads. Parallel.forEach (batches of chunks
    # sealed and opened on every core; errors from concurrent iterations):
    # the library's RoundTripTests, TamperTests, RewrapTests, VectorTests
    # and every CLI command. ArchiveReader's PlaintextSource producer thread
    # (tar payloads: open -C, deep verify, drill): DirectoryRoundTripTests,
    # VerificationTests. Verifier's parallel verification of several
    # archives: VerificationTests, ConcurrencyBudgetTests (WorkerPool and
    # WorkBudget; a producer left blocked on a stalled pipe), KeysCommandTests (a keyring shared by
    # parallel verifications). The sigwait thread of TerminationSignals
    # against commits and extraction (TemporaryFiles' lock): CrashSafetyTests
    # and SignalTests (signals at random moments of seal, open -C, rewrap,
    # drill, keys rotate). KeyRotation and the remaining suites start no
    # threads of ours.
    suites=(SealedArchiveTests.RoundTripTests SealedArchiveTests.TamperTests SealedArchiveTests.RewrapTests
            SealedArchiveTests.VectorTests CLITests.RoundTripTests CLITests.DirectoryRoundTripTests
            CLITests.VerificationTests CLITests.KeysCommandTests CLITests.CrashSafetyTests CLITests.SignalTests
            CLITests.ConcurrencyBudgetTests SealedArchiveTests.StreamingV2Tests SealedArchiveTests.FramedPayloadTests
            SealedArchiveTests.PartialRestoreTests CLITests.PartialRestoreCommandTests SealedArchiveTests.BackgroundStageTests)
    # Locked's annotations stand in for TSan's missing model of
    # Synchronization.Mutex (Tools/sanitizers/README.md): they must silence
    # a correctly locked program, or every Locked report below means nothing.
    echo "== thread: Tools/sanitizers/tsan-mutex.swift (Mutex seen by TSan only through annotations)"
    if ! swiftc -sanitize=thread -g Tools/sanitizers/tsan-mutex.swift -o "$work/tsan-mutex" > "$work/tsan-mutex-build.log" 2>&1; then
        tail -n 20 "$work/tsan-mutex-build.log"
        failed+=("thread (tsan-mutex build)")
    else
        plain=$(TSAN_OPTIONS=log_path=stderr "$work/tsan-mutex" plain 2>&1 | grep -c "WARNING: ThreadSanitizer" || true)
        echo "   plain Mutex: $plain TSan report(s) (expected 1 when the lock was contended)"
        if ! TSAN_OPTIONS=log_path=stderr:halt_on_error=1 "$work/tsan-mutex" annotated > "$work/tsan-mutex.log" 2>&1; then
            cat "$work/tsan-mutex.log"
            failed+=("thread (annotated Mutex reported)")
        fi
    fi
    if build_pass thread thread .build-tsan; then
        # A renamed suite must not drop out of this pass silently.
        listed=$(swift test list --skip-build --sanitize=thread --scratch-path .build-tsan 2>/dev/null || true)
        filter=""
        for suite in "${suites[@]}"; do
            grep -q "^$suite/" <<< "$listed" || { echo "!! thread: no test in $suite: update Tools/sanitize.sh"; failed+=("thread (suite list)"); }
            filter+="${filter:+|}^${suite//./\\.}/"
        done
        # Skipped as in the address pass: the RSS bound does not hold under
        # TSan's shadow memory either.
        test_pass thread thread .build-tsan --filter "$filter" --skip 'gigabyteStreamRunsInBoundedMemory|sixteenArchivesStayUnder64MiB'
    fi
    unset TSAN_OPTIONS
fi

echo "== sanitizer wall times"
printf '  %s\n' "${timings[@]}"
if ((${#failed[@]})); then
    echo "sanitizers FAILED: ${failed[*]}"
    exit 1
fi
echo "sanitizers: clean ($mode)"
