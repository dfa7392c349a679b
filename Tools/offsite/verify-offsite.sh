#!/usr/bin/env bash
# Reads every archive of this host in offsite storage back and verifies
# them as a set (Tools/offsite/RUNBOOK.md, "Alerts"): each signature and
# checksum, the chain, the newest's age (OFFSITE_MAX_AGE, default 26h) and
# the gaps between them (OFFSITE_MAX_GAP, default 26h). The archives are
# fetched into a scratch directory (rclone, rsync) or read in place (copy),
# so the scratch directory needs room for them all. Writes
# verify-status.json (verify --json's lines) beside the offsite status.
#
# Exit status: verify's (0 all good, 65 an archive is damaged or forged,
# 74 one cannot be read, 75 the set misses its targets), 64 configuration.
set -Eeuo pipefail
umask 077
# shellcheck source-path=SCRIPTDIR
# shellcheck source=transport.sh
. "$(dirname -- "$(realpath -- "$0")")/transport.sh"

STATE_DIR=${OFFSITE_STATE_DIR:-/var/lib/sealed-archive-offsite}
MAX_AGE=${OFFSITE_MAX_AGE:-26h}
MAX_GAP=${OFFSITE_MAX_GAP:-26h}
SIGNING_KEY=${OFFSITE_SIGNING_KEY:-}
CHAIN=${OFFSITE_CHAIN_STATE:-$STATE_DIR/chain.json}

log() { printf 'offsite-verify: %s\n' "$*" >&2; }
config_error() { log "configuration: $*"; exit 64; }

transport_check
trust=()
if [ -n "$SIGNERS_FILE" ]; then
    trust=(--signers "$SIGNERS_FILE")
elif [ -n "$SIGNING_KEY" ]; then
    trust=(--signer "$("$SA" recipient "$SIGNING_KEY")")
else
    config_error "OFFSITE_SIGNERS_FILE (or, on the sealing host, OFFSITE_SIGNING_KEY) is needed to check who sealed the archives"
fi
chain=()
[ ! -f "$CHAIN" ] || chain=(--chain "$(realpath -- "$CHAIN")")
[ -z "$SIGNERS_FILE" ] || trust=(--signers "$(realpath -- "$SIGNERS_FILE")")
mkdir -p -- "$STATE_DIR"
work=$(mktemp -d "$STATE_DIR/.verify.XXXXXX")
trap 'rm -rf -- "$work"' EXIT

pattern="^${PREFIX}-[0-9]{8}T[0-9]{6}Z\\.sarc$"
if [ "$METHOD" = copy ]; then
    dir=$TARGET
else
    dir=$work
    while read -r name; do remote_fetch "$name" "$dir"; done < <(remote_list | grep -E "^${PREFIX}-[0-9]{8}T[0-9]{6}Z\.sarc(\.sha256)?$")
fi
mapfile -t archives < <(find "$dir" -mindepth 1 -maxdepth 1 -type f -printf '%f\n' | grep -E "$pattern" | LC_ALL=C sort)
[ "${#archives[@]}" -gt 0 ] || { log "no archive of prefix '$PREFIX' in $TARGET"; exit 74; }
log "verifying ${#archives[@]} archives from $TARGET"
# Each archive's checksum file is checked with it (one verify each would
# lose the set check; the checksums are compared here first).
(cd "$dir" && for name in "${archives[@]}"; do
    if [ -f "$name.sha256" ]; then sha256sum --quiet -c -- "$name.sha256" || exit 65; else log "no checksum file for $name"; fi
done)
status=0
# Run where the archives are, so reports name them as they are named offsite.
(cd "$dir" && "$SA" verify "${trust[@]}" "${chain[@]}" --max-age "$MAX_AGE" --max-gap "$MAX_GAP" --json "${archives[@]}") \
    > "$work/verify.jsonl" || status=$?
tmp=$(mktemp "$STATE_DIR/verify-status.json.XXXXXX")
cp -- "$work/verify.jsonl" "$tmp"
chmod 0644 "$tmp"
mv -f -- "$tmp" "$STATE_DIR/verify-status.json"
log "$(tail -n 1 "$work/verify.jsonl")"
exit "$status"
