#!/usr/bin/env bash
# The monthly restore drill (Tools/offsite/RUNBOOK.md, "Monthly drill"):
# fetches the newest archive from offsite storage and runs
# `sealed-archive drill` on it with the keyring, which restores it into a
# scratch directory, checks MANIFEST.sha256, times the restore and removes
# it again. Appends the drill's JSON to drill-history.jsonl.
set -Eeuo pipefail
umask 077
# shellcheck source-path=SCRIPTDIR
# shellcheck source=transport.sh
. "$(dirname -- "$(realpath -- "$0")")/transport.sh"

STATE_DIR=${OFFSITE_STATE_DIR:-/var/lib/sealed-archive-drill}
KEYRING=${SEALED_ARCHIVE_KEYRING:-}
MAX_AGE=${OFFSITE_MAX_AGE:-26h}
RTO=${OFFSITE_RTO:-4h}

log() { printf 'offsite-drill: %s\n' "$*" >&2; }
config_error() { log "configuration: $*"; exit 64; }

transport_check
[ -n "$KEYRING" ] || config_error "SEALED_ARCHIVE_KEYRING (the keyring that opens the archives) is not set"
[ -n "$SIGNERS_FILE" ] || config_error "OFFSITE_SIGNERS_FILE (the trusted signers, 'keys export-signers') is not set"
mkdir -p -- "$STATE_DIR"
work=$(mktemp -d "$STATE_DIR/.drill.XXXXXX")
trap 'rm -rf -- "$work"' EXIT

listed=$(remote_list) || { log "cannot list $TARGET"; exit 74; }
newest=$(grep -E "^${PREFIX}-[0-9]{8}T[0-9]{6}Z\\.sarc$" <<<"$listed" | LC_ALL=C sort | tail -n 1 || true)
[ -n "$newest" ] || { log "no archive of prefix '$PREFIX' in $TARGET"; exit 74; }
remote_fetch "$newest" "$work"
log "drilling $newest"
status=0
"$SA" drill --keyring "$KEYRING" --signers "$SIGNERS_FILE" --max-age "$MAX_AGE" --rto "$RTO" --work-dir "$work" --json "$work/$newest" \
    > "$work/drill.json" || status=$?
cat -- "$work/drill.json" >> "$STATE_DIR/drill-history.jsonl"
log "$(cat -- "$work/drill.json")"
exit "$status"
