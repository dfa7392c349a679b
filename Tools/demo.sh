#!/usr/bin/env bash
# For a fresh machine: installs what is missing (Debian packages), builds
# sealed-archive in release mode, and runs the main job on a generated
# sample: keygen, seal, inspect, verify, open, compare. Prints each step.
#
#     bash Tools/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."

. Tools/lib/install-packages.sh
install_packages libsodium-dev libarchive-dev libzstd-dev libssl-dev pkg-config

echo "== building (release)"
swift build -c release
bin="$(swift build -c release --show-bin-path)/sealed-archive"
demo=$(mktemp -d)
trap 'rm -rf "$demo"' EXIT
step() { printf '\n$ %s\n' "$*"; "$@"; }

echo "== sample: about 60 MB of SQL-like text and random bytes in $demo"
{ for i in $(seq 1 400000); do echo "INSERT INTO sessions VALUES ($i, 'user$((i % 977))', now());"; done
  head -c 40000000 /dev/urandom; } > "$demo/backup.bin"

step "$bin" keygen -o "$demo/offsite.key"
step "$bin" keygen --signing -o "$demo/host.signing"
recipient=$("$bin" recipient "$demo/offsite.key")
signer=$("$bin" recipient "$demo/host.signing")
step "$bin" seal -r "$recipient" --sign-key "$demo/host.signing" --label demo -o "$demo/backup.sarc" "$demo/backup.bin"
step "$bin" inspect "$demo/backup.sarc"
step "$bin" verify --signer "$signer" "$demo/backup.sarc"
step "$bin" verify --signer "$signer" -i "$demo/offsite.key" "$demo/backup.sarc"
step "$bin" open -i "$demo/offsite.key" --signer "$signer" -o "$demo/restored.bin" "$demo/backup.sarc"
step cmp "$demo/backup.bin" "$demo/restored.bin"
echo
echo "== done: sealed, inspected, verified (keyless and with the key), opened; the restored file is identical"
