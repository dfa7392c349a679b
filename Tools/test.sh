#!/usr/bin/env bash
# Installs what the tests need (Debian packages), builds, and runs every
# test: the Swift test suites in their full tier (library, vectors, CLI end
# to end: every size, round count and external tool; plain `swift test` is
# the fast tier, see README "Testing"), the
# independent Python reference decoder's self-test, the reference decoder on
# every spec vector, the Swift reader on vectors the Python encoder makes,
# the reference decoder on a 100 MB archive sealed by the CLI, and the
# suites again under sanitizers (Tools/sanitize.sh).
#
#     bash Tools/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."

# The full tier (Tests/TestSupport/TestTier.swift): slow tests run, sizes and
# rounds are the full ones, and a test whose external tool is missing fails
# instead of being skipped. Exported, so Tools/sanitize.sh runs it too.
export SEALED_ARCHIVE_FULL_TESTS=1

. Tools/lib/install-packages.sh
install_packages libsodium-dev libarchive-dev libzstd-dev libssl-dev pkg-config age python3-nacl python3-zstandard python3-pip time zstd rclone rsync shellcheck systemd openssh-server openssh-client curl man-db zsh fish
PYTHON=/usr/bin/python3   # Debian's Python, which has python3-nacl and python3-zstandard
# ML-KEM-768 for the reference decoder's post-quantum (X-Wing) keys: kyber-py,
# pure Python, from PyPI into Debian's Python (installed once).
if ! "$PYTHON" -c 'import importlib.metadata as m, sys; sys.exit(m.version("kyber-py") != "1.2.0")' 2>/dev/null; then
    echo "== installing kyber-py 1.2.0 for $PYTHON"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo "$PYTHON" -m pip install --quiet --root-user-action=ignore --break-system-packages kyber-py==1.2.0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== reference decoder self-test (Python, written from Spec/ alone)"
"$PYTHON" Tools/reference/test_reference.py
"$PYTHON" Tools/reference/test_reference.py --emit-vectors "$work/python-vectors" >/dev/null
# Version 2 vectors (v2-*) are written to python-vectors/v2, post-quantum ones
# (pq-*) to python-vectors/pq, same JSON schema.
"$PYTHON" Tools/reference/sealed_ref.py vectors "$work/python-vectors/v2" | tail -n 1
"$PYTHON" Tools/reference/sealed_ref.py vectors "$work/python-vectors/pq" | tail -n 1

echo "== reference decoder on Spec/vectors (version 1, version 2, post-quantum)"
"$PYTHON" Tools/reference/sealed_ref.py vectors Spec/vectors | tail -n 1
"$PYTHON" Tools/reference/sealed_ref.py vectors Spec/vectors/v2 | tail -n 1
"$PYTHON" Tools/reference/sealed_ref.py vectors Spec/vectors/pq | tail -n 1

echo "== swift build"
swift build

echo "== swift test (with the Python encoder's vectors as extra vectors)"
SEALED_ARCHIVE_EXTRA_VECTORS="$work/python-vectors" swift test 2>&1 | tee "$work/swift-test.log" | grep -E "^(✔|✘) (Suite|Test run)|recorded an issue|error:" || true
grep -q "Test run with .* passed" "$work/swift-test.log" || { tail -n 40 "$work/swift-test.log"; echo "swift test failed"; exit 1; }

echo "== Tools/install.sh into a temporary prefix (man page, completions, units)"
bash Tools/check-install.sh

echo "== reference decoder opens a 100 MB archive sealed by the CLI"
bin=$(swift build --show-bin-path)/sealed-archive
"$bin" keygen -o "$work/id" 2>/dev/null
"$bin" keygen --signing -o "$work/sig" 2>/dev/null
head -c 100000000 /dev/urandom > "$work/plain"
"$bin" seal -r "$("$bin" recipient "$work/id")" --sign-key "$work/sig" -o "$work/big.sarc" "$work/plain"
"$PYTHON" Tools/reference/sealed_ref.py open -i "$work/id" --signer "$("$bin" recipient "$work/sig")" -o "$work/out" "$work/big.sarc"
cmp "$work/plain" "$work/out"
echo "reference decoder: 100 MB archive opened byte-identical"

echo "== sanitizers (AddressSanitizer + LeakSanitizer, ThreadSanitizer)"
bash Tools/sanitize.sh all

echo "== fuzz smoke (libFuzzer + ASan, 20 s a target; longer: Tools/fuzz.sh TARGET 3600)"
bash Tools/fuzz.sh all 20

# The suite's own closing line last, for whoever reads the end of the log.
grep -E "^✔ Test run with" "$work/swift-test.log" | tail -n 1
