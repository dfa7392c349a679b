#!/usr/bin/env bash
# The daily offsite step (Tools/offsite/RUNBOOK.md): takes the newest local
# backup directory, checks its MANIFEST.sha256, seals it (encrypted to the
# recipients, signed by this host, chained), uploads archive and checksum,
# reads the uploaded copy back and verifies it, applies remote retention,
# and writes a status JSON and a Prometheus textfile metric. One log line
# per step on standard error (journald adds the time). Configured by the
# environment (RUNBOOK.md, "Configuration"); installed as is.
#
# Exit status: 0 done; 64 configuration; 75 another run holds the lock;
# otherwise the status of the step that failed (sealed-archive's codes:
# 65 a bad backup or archive, 74 I/O, 77 keys; 1 a transport failed).
set -Eeuo pipefail
umask 077
# shellcheck source-path=SCRIPTDIR
# shellcheck source=transport.sh
. "$(dirname -- "$(realpath -- "$0")")/transport.sh"

RECIPIENT=${OFFSITE_BACKUP_AGE_RECIPIENT:-}
RECIPIENTS_FILE=${OFFSITE_RECIPIENTS_FILE:-}
ALLOW_UNENCRYPTED=${ALLOW_UNENCRYPTED_OFFSITE:-false}
SIGNING_KEY=${OFFSITE_SIGNING_KEY:-}
BACKUP_ROOT=${OFFSITE_BACKUP_ROOT:-}
BACKUP_COMMAND=${OFFSITE_BACKUP_COMMAND:-}
STATE_DIR=${OFFSITE_STATE_DIR:-/var/lib/sealed-archive-offsite}
CHAIN=${OFFSITE_CHAIN_STATE:-$STATE_DIR/chain.json}
KEEP_REMOTE=${OFFSITE_KEEP_REMOTE:-30}
REQUIRE_MANIFEST=${OFFSITE_REQUIRE_MANIFEST:-true}
STATUS_FILE=${OFFSITE_STATUS_FILE:-$STATE_DIR/status.json}
METRICS_FILE=${OFFSITE_METRICS_FILE:-}
HEALTHCHECK_URL=${OFFSITE_HEALTHCHECK_URL:-}

step=start
archive=""
seal_json="{}"
deleted=()
# Timestamps follow SEALED_ARCHIVE_NOW when it is set (as sealed-archive's
# do: a test or a replay); durations always use the real clock.
timestamp() { date -u -d "${SEALED_ARCHIVE_NOW:-now}" +%s; }
started_epoch=$(timestamp)
started_real=$(date -u +%s)

log() { printf 'offsite: %s\n' "$*" >&2; }

# Usage errors: one line, 64, before anything is touched.
config_error() { log "configuration: $*"; exit 64; }

json_string() {
    local s=$1
    s=${s//\\/\\\\}; s=${s//\"/\\\"}; s=${s//$'\n'/ }; s=${s//$'\r'/ }; s=${s//$'\t'/ }
    printf '"%s"' "$s"
}

# A file replaced in one rename, so a reader never sees half of it.
write_atomically() {
    local path=$1 tmp
    tmp=$(mktemp "${path}.XXXXXX")
    cat > "$tmp"
    chmod 0644 "$tmp"
    mv -f -- "$tmp" "$path"
}

healthcheck() {
    [ -n "$HEALTHCHECK_URL" ] || return 0
    curl -fsS -m 10 --retry 3 -o /dev/null "${HEALTHCHECK_URL}${1:+/$1}" || log "health check ping '${1:-success}' failed (ignored)"
}

json_number() { sed -n "s/.*\"$1\":\\([0-9.]*\\).*/\\1/p" <<<"$seal_json"; }

report() {
    local ok=$1 message=${2:-} now duration last_success_file last_success
    now=$(timestamp)
    duration=$(( $(date -u +%s) - started_real ))
    last_success_file="$STATE_DIR/last-success"
    if [ "$ok" = true ]; then printf '%s\n' "$now" > "$last_success_file"; fi
    last_success=$(cat "$last_success_file" 2>/dev/null || echo 0)
    {
        printf '{"schema":1,"kind":"offsite","ok":%s,"step":%s,"method":%s,"archive":%s,' \
            "$ok" "$(json_string "$step")" "$(json_string "$METHOD")" "$(json_string "$archive")"
        printf '"started_unix":%s,"finished_unix":%s,"duration_seconds":%s,"last_success_unix":%s,' \
            "$started_epoch" "$now" "$duration" "$last_success"
        printf '"remote_deleted":['
        local first=true name
        for name in "${deleted[@]+"${deleted[@]}"}"; do
            $first || printf ','
            first=false
            json_string "$name"
        done
        printf '],"seal":%s' "$seal_json"
        [ -z "$message" ] || printf ',"error":%s' "$(json_string "$message")"
        printf '}\n'
    } | write_atomically "$STATUS_FILE"
    if [ -n "$METRICS_FILE" ]; then
        local bytes sequence
        bytes=$(json_number archive_bytes); sequence=$(json_number sequence)
        {
            echo "# HELP sealed_archive_offsite_last_run_ok Whether the last offsite run succeeded (1) or failed (0)."
            echo "# TYPE sealed_archive_offsite_last_run_ok gauge"
            echo "sealed_archive_offsite_last_run_ok $([ "$ok" = true ] && echo 1 || echo 0)"
            echo "# HELP sealed_archive_offsite_last_run_timestamp_seconds When the last offsite run ended."
            echo "# TYPE sealed_archive_offsite_last_run_timestamp_seconds gauge"
            echo "sealed_archive_offsite_last_run_timestamp_seconds $now"
            echo "# HELP sealed_archive_offsite_last_success_timestamp_seconds When an offsite run last succeeded (0: never)."
            echo "# TYPE sealed_archive_offsite_last_success_timestamp_seconds gauge"
            echo "sealed_archive_offsite_last_success_timestamp_seconds $last_success"
            echo "# HELP sealed_archive_offsite_last_duration_seconds How long the last offsite run took."
            echo "# TYPE sealed_archive_offsite_last_duration_seconds gauge"
            echo "sealed_archive_offsite_last_duration_seconds $duration"
            if [ -n "$bytes" ]; then
                echo "# HELP sealed_archive_offsite_last_archive_bytes Size of the last archive sealed."
                echo "# TYPE sealed_archive_offsite_last_archive_bytes gauge"
                echo "sealed_archive_offsite_last_archive_bytes $bytes"
            fi
            if [ -n "$sequence" ]; then
                echo "# HELP sealed_archive_offsite_last_sequence Chain sequence number of the last archive sealed."
                echo "# TYPE sealed_archive_offsite_last_sequence gauge"
                echo "sealed_archive_offsite_last_sequence $sequence"
            fi
        } | write_atomically "$METRICS_FILE"
    fi
}

on_exit() {
    local status=$?
    trap - EXIT
    [ -n "${work:-}" ] && rm -rf -- "$work"
    # Configuration errors and a held lock exit before the status is ours.
    if [ "$step" = start ] || [ "$step" = lock ]; then exit "$status"; fi
    if [ "$status" -eq 0 ]; then
        report true
        healthcheck ""
        log "done: $archive"
    else
        report false "step '$step' failed with exit status $status"
        healthcheck fail
        log "FAILED at step '$step' (exit status $status)"
    fi
    exit "$status"
}
trap on_exit EXIT

# --- configuration ---------------------------------------------------------
transport_check
[ -n "$BACKUP_ROOT" ] || config_error "OFFSITE_BACKUP_ROOT (the local backup directories) is not set"
[[ "$KEEP_REMOTE" =~ ^[1-9][0-9]*$ ]] || config_error "OFFSITE_KEEP_REMOTE must be a whole number of archives, at least 1 (got '$KEEP_REMOTE')"
encrypted=true
if [ -z "$RECIPIENT" ] && [ -z "$RECIPIENTS_FILE" ]; then
    if [ "$ALLOW_UNENCRYPTED" != true ]; then
        config_error "no recipient (OFFSITE_BACKUP_AGE_RECIPIENT or OFFSITE_RECIPIENTS_FILE): refusing to upload backups unencrypted; set ALLOW_UNENCRYPTED_OFFSITE=true only if the target is as private as this host"
    fi
    encrypted=false
else
    [ -n "$SIGNING_KEY" ] || config_error "OFFSITE_SIGNING_KEY is not set: archives are signed so that their origin can be checked when they come back"
fi
mkdir -p -- "$STATE_DIR"

# --- lock ------------------------------------------------------------------
step=lock
exec 9>"$STATE_DIR/offsite.lock"
if ! flock -n 9; then
    log "another offsite run holds $STATE_DIR/offsite.lock: not starting a second one"
    exit 75
fi
healthcheck start
work=$(mktemp -d "$STATE_DIR/.work.XXXXXX")

# --- the local backup ------------------------------------------------------
if [ -n "$BACKUP_COMMAND" ]; then
    step=backup
    log "running the local backup: $BACKUP_COMMAND"
    bash -c "$BACKUP_COMMAND"
fi
step=choose
newest=$(find "$BACKUP_ROOT" -mindepth 1 -maxdepth 1 -type d ! -name '.*' -printf '%f\n' | LC_ALL=C sort | tail -n 1)
[ -n "$newest" ] || { log "no backup directory in $BACKUP_ROOT"; exit 66; }
source_dir="$BACKUP_ROOT/$newest"
stamp=$(date -u -d "${SEALED_ARCHIVE_NOW:-now}" +%Y%m%dT%H%M%SZ)
log "newest local backup: $source_dir"

# --- seal --------------------------------------------------------------------
if $encrypted; then
    step=seal
    archive="$PREFIX-$stamp.sarc"
    recipients=()
    [ -z "$RECIPIENT" ] || recipients+=(-r "$RECIPIENT")
    [ -z "$RECIPIENTS_FILE" ] || recipients+=(-R "$RECIPIENTS_FILE")
    manifest=()
    [ "$REQUIRE_MANIFEST" = true ] && manifest=(--require-manifest)
    # Into a variable of its own: a failed seal leaves the status's "seal"
    # object as it was ({}), not empty.
    sealed=$("$SA" seal "${recipients[@]}" --sign-key "$SIGNING_KEY" --chain "$CHAIN" "${manifest[@]}" \
        --checksum --json -o "$work/$archive" "$source_dir")
    seal_json=$sealed
    log "sealed $archive: $(json_number archive_bytes) bytes, sequence $(json_number sequence)"
else
    step=pack
    archive="$PREFIX-$stamp.tar.zst"
    log "WARNING: ALLOW_UNENCRYPTED_OFFSITE=true and no recipient: uploading $archive UNENCRYPTED to $TARGET; whoever can read the target reads every secret in the backup"
    "$SA" pack --compression zstd -o "$work/$archive" "$source_dir"
    (cd "$work" && sha256sum -- "$archive" > "$archive.sha256")
fi

# --- upload (temporary name, then rename, where the transport allows) ------
step=upload
# The checksum first: an archive is never offsite without it.
remote_put "$work/$archive.sha256"
remote_put "$work/$archive"
log "uploaded $archive and $archive.sha256 to $TARGET"

# --- read the uploaded copy back and verify it ------------------------------
step=verify
back="$work/readback"
mkdir -p -- "$back"
remote_fetch "$archive.sha256" "$back"
trust=()
if [ -n "$SIGNERS_FILE" ]; then trust=(--signers "$SIGNERS_FILE"); elif $encrypted; then trust=(--signer "$("$SA" recipient "$SIGNING_KEY")"); fi
if $encrypted; then
    remote_cat "$archive" "$back" | "$SA" verify "${trust[@]}" --checksum-file "$back/$archive.sha256" --stdin-name "$archive" - >&2
else
    remote_cat "$archive" "$back" > "$back/fetched"
    mv -f -- "$back/fetched" "$back/$archive"
    (cd "$back" && sha256sum --quiet -c -- "$archive.sha256")
fi
log "read back and verified $archive from $TARGET"

# --- remote retention ----------------------------------------------------------
step=retention
mapfile -t ours < <(remote_list | grep -E "^${PREFIX}-[0-9]{8}T[0-9]{6}Z\\.(sarc|tar\\.zst)$" | LC_ALL=C sort)
excess=$(( ${#ours[@]} - KEEP_REMOTE ))
for (( i = 0; i < excess; i++ )); do
    old=${ours[$i]}
    # Never the one just uploaded; never anything not verified as ours.
    [ "$old" != "$archive" ] || continue
    if [[ "$old" == *.sarc ]] && ! remote_cat "$old" "$back" | "$SA" verify "${trust[@]}" - >/dev/null 2>&1; then
        log "not deleting $old: it does not verify as an archive this host signed"
        continue
    fi
    if remote_delete "$old" "$work"; then
        remote_delete "$old.sha256" "$work" || log "could not delete $old.sha256"
        deleted+=("$old")
        log "deleted $old (keeping the newest $KEEP_REMOTE)"
    else
        log "could not delete $old"
    fi
done
step=finished
