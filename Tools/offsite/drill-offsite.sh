#!/usr/bin/env bash
# The monthly restore drill (Tools/offsite/RUNBOOK.md, "Monthly drill"):
# fetches the newest archive from offsite storage and runs
# `sealed-archive drill` on it with the keyring, which restores it into a
# scratch directory, checks MANIFEST.sha256, times the restore and removes
# it again. Appends the drill's JSON to drill-history.jsonl.
set -Eeuo pipefail
umask 077

SA=${SEALED_ARCHIVE:-sealed-archive}
METHOD=${OFFSITE_BACKUP_METHOD:-}
TARGET=${OFFSITE_BACKUP_TARGET:-}
STATE_DIR=${OFFSITE_STATE_DIR:-/var/lib/sealed-archive-drill}
PREFIX=${OFFSITE_ARCHIVE_PREFIX:-offsite}
KEYRING=${SEALED_ARCHIVE_KEYRING:-}
SIGNERS_FILE=${OFFSITE_SIGNERS_FILE:-}
MAX_AGE=${OFFSITE_MAX_AGE:-26h}
RTO=${OFFSITE_RTO:-4h}

log() { printf 'offsite-drill: %s\n' "$*" >&2; }
config_error() { log "configuration: $*"; exit 64; }

case "$METHOD" in rclone | rsync | copy) ;; *) config_error "OFFSITE_BACKUP_METHOD must be rclone, rsync or copy" ;; esac
[ -n "$TARGET" ] || config_error "OFFSITE_BACKUP_TARGET is not set"
[ -n "$KEYRING" ] || config_error "SEALED_ARCHIVE_KEYRING (the keyring that opens the archives) is not set"
[ -n "$SIGNERS_FILE" ] || config_error "OFFSITE_SIGNERS_FILE (the trusted signers, 'keys export-signers') is not set"
mkdir -p -- "$STATE_DIR"
work=$(mktemp -d "$STATE_DIR/.drill.XXXXXX")
trap 'rm -rf -- "$work"' EXIT

list() {
    case "$METHOD" in
    copy) find "$TARGET" -mindepth 1 -maxdepth 1 -type f -printf '%f\n' ;;
    rclone) rclone lsf --files-only "$TARGET" ;;
    rsync) rsync --list-only -- "$TARGET/" | awk '{print $NF}' ;;
    esac
}
newest=$(list | grep -E "^${PREFIX}-[0-9]{8}T[0-9]{6}Z\\.sarc$" | LC_ALL=C sort | tail -n 1)
[ -n "$newest" ] || { log "no archive of prefix '$PREFIX' in $TARGET"; exit 74; }
case "$METHOD" in
copy) cp -- "$TARGET/$newest" "$work/" ;;
rclone) rclone copyto --quiet "$TARGET/$newest" "$work/$newest" ;;
rsync) rsync --quiet -- "$TARGET/$newest" "$work/" ;;
esac
log "drilling $newest"
status=0
"$SA" drill --keyring "$KEYRING" --signers "$SIGNERS_FILE" --max-age "$MAX_AGE" --rto "$RTO" --work-dir "$work" --json "$work/$newest" \
    > "$work/drill.json" || status=$?
cat -- "$work/drill.json" >> "$STATE_DIR/drill-history.jsonl"
log "$(cat -- "$work/drill.json")"
exit "$status"
