#!/usr/bin/env bash
# Restores the service from offsite storage in its priority order
# (Tools/offsite/RUNBOOK.md, "Restore"), timing each stage against the RTO:
#
#     restore-offsite.sh DEST [ARCHIVE]
#
# ARCHIVE is a file on this machine, or a name in the target; by default
# the newest archive of this prefix there. DEST must not exist or be empty.
# Stages, each into its own directory under DEST, each checked as 'open
# -C' checks (signature, every record it reads, MANIFEST.sha256 for what
# the manifest lists):
#   1-first      OFFSITE_RESTORE_FIRST (default: env.backup)
#   2-next       OFFSITE_RESTORE_THEN (default: authentik.sql silver-auth.sql)
#   3-all        everything, media included
# Stages 1 and 2 read only the records holding their entries (a format 2
# archive); an entry the archive does not hold is logged and skipped (a
# backup without it is a finding, not a reason to restore nothing).
#
# Keys: SEALED_ARCHIVE_KEYRING (the keyring) or OFFSITE_IDENTITY_FILE, and
# OFFSITE_SIGNERS_FILE (required: a restore trusts only the host's
# signature). OFFSITE_RTO (default 4h) is the recovery time objective.
#
# Prints one JSON object on standard output (kind "restore": the archive,
# each stage's entries and seconds, the total from fetch to the last stage,
# the RTO and whether it was met). Exit status: 0 restored within the RTO,
# 75 restored but the RTO missed, 64 configuration, else the failing
# step's (65 damaged or forged, 74 I/O, 77 no usable key).
set -Eeuo pipefail
umask 077
# shellcheck source-path=SCRIPTDIR
# shellcheck source=transport.sh
. "$(dirname -- "$(realpath -- "$0")")/transport.sh"

FIRST=${OFFSITE_RESTORE_FIRST-env.backup}
THEN=${OFFSITE_RESTORE_THEN-authentik.sql silver-auth.sql}
KEYRING=${SEALED_ARCHIVE_KEYRING:-}
IDENTITY=${OFFSITE_IDENTITY_FILE:-}
RTO=${OFFSITE_RTO:-4h}

log() { printf 'offsite-restore: %s\n' "$*" >&2; }
config_error() { log "configuration: $*"; exit 64; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
# A JSON string: backslash, quote and control characters escaped.
json_string() {
    printf '"%s"' "$(printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/\t/\\t/g' | tr -d '\000-\010\013-\037' | sed -e ':a;N;$!ba;s/\n/\\n/g')"
}

if [ $# -lt 1 ] || [ $# -gt 2 ]; then config_error "usage: restore-offsite.sh DEST [ARCHIVE]"; fi
dest=$1 wanted=${2:-}
[ -n "$SIGNERS_FILE" ] || config_error "OFFSITE_SIGNERS_FILE (the trusted signers, 'keys export-signers') is not set: a restore trusts only the host's signature"
keys=()
[ -z "$KEYRING" ] || keys+=(--keyring "$KEYRING")
[ -z "$IDENTITY" ] || keys+=(-i "$IDENTITY")
[ "${#keys[@]}" -gt 0 ] || config_error "set SEALED_ARCHIVE_KEYRING (the keyring) or OFFSITE_IDENTITY_FILE (an identity) to open the archive"
# The durations sealed-archive takes (90s, 45m, 4h, 1.5d, 2w).
rto_seconds=$(awk -v d="$RTO" 'BEGIN {
    if (d !~ /^[0-9]+(\.[0-9]+)?[smhdw]$/) exit 1;
    n = substr(d, 1, length(d) - 1) + 0; u = substr(d, length(d));
    printf "%d\n", n * (u == "s" ? 1 : u == "m" ? 60 : u == "h" ? 3600 : u == "d" ? 86400 : 604800) }') \
    || config_error "OFFSITE_RTO must be a duration such as 90s, 45m, 4h, 1.5d or 2w (got '$RTO')"
# DEST: new, empty, or holding only an earlier run's fetched archive
# (archive/), which is fetched again; a previous restore's stages are
# never mixed with this one's.
if [ -e "$dest" ] && [ -n "$(find "$dest" -mindepth 1 -maxdepth 1 ! -name archive -print -quit)" ]; then
    reuse=$(find "$dest/archive" -maxdepth 1 -name '*.sarc' -print -quit 2>/dev/null || true)
    log "$dest is not empty: restore into a new directory${reuse:+ (to reuse the archive fetched there: restore-offsite.sh NEW-DEST \"$reuse\")}"
    exit 64
fi
mkdir -p -- "$dest/archive"
started=$(now)

# The archive: a local file as given, or fetched from the target.
if [ -n "$wanted" ] && [ -f "$wanted" ]; then
    archive=$wanted
else
    transport_check
    name=$wanted
    if [ -z "$name" ]; then
        listed=$(remote_list) || { log "cannot list $TARGET"; exit 74; }
        name=$(grep -E "^${PREFIX}-[0-9]{8}T[0-9]{6}Z\\.sarc$" <<<"$listed" | LC_ALL=C sort | tail -n 1 || true)
        [ -n "$name" ] || { log "no archive of prefix '$PREFIX' in $TARGET"; exit 74; }
    fi
    log "fetching $name from $TARGET"
    remote_fetch "$name" "$dest/archive" || { log "cannot fetch $name from $TARGET"; exit 74; }
    archive=$dest/archive/$name
fi
fetched=$(now)
log "fetched in $(elapsed "$started" "$fetched") s"

# What the archive holds (by its index: a few KiB), to skip what is absent.
# Its signature is checked here first: nothing is restored from a forgery.
"$SA" open "${keys[@]}" --signers "$SIGNERS_FILE" --progress never --list -- "$archive" > "$dest/archive/.listing" \
    || { status=$?; log "cannot read the archive's entries (exit $status)"; exit "$status"; }
# "KIND MODE SIZE PATH", links followed by " -> TARGET".
listing=$(sed -E -e 's/^((symlink|hardlink) +[0-7]+ +[0-9]+ .*) -> .*$/\1/' -e 's/^[a-z]+ +[0-7]+ +[0-9]+ //' "$dest/archive/.listing")
rm -f -- "$dest/archive/.listing"
holds() { grep -qxF -- "$1" <<<"$listing"; }

stages_json=()
# stage NUMBER LABEL [ENTRY...]: restores ENTRY... (everything without any)
# into DEST/NUMBER-LABEL and records its time.
stage() {
    local number=$1 label=$2 entries=() only=() entry begin end
    shift 2
    for entry in "$@"; do
        if holds "$entry"; then entries+=("$entry"); only+=(--only "$entry"); else log "stage $number ($label): the archive holds no '$entry' (skipped)"; fi
    done
    if [ $# -gt 0 ] && [ "${#entries[@]}" -eq 0 ]; then return 0; fi
    begin=$(now)
    "$SA" open "${keys[@]}" --signers "$SIGNERS_FILE" --progress never "${only[@]}" -C "$dest/$number-$label" -- "$archive" \
        || { local status=$?; log "stage $number ($label) FAILED (exit $status)"; exit "$status"; }
    end=$(now)
    local names="" e
    for e in "${entries[@]}"; do names+="${names:+,}$(json_string "$e")"; done
    stages_json+=("{\"stage\":$number,\"name\":$(json_string "$label"),\"entries\":[${names}],\"seconds\":$(elapsed "$begin" "$end"),\"done_after_seconds\":$(elapsed "$started" "$end")}")
    log "stage $number ($label${entries[*]:+: ${entries[*]}}) restored in $(elapsed "$begin" "$end") s, $(elapsed "$started" "$end") s since the start"
}

read -r -a first <<<"$FIRST"
read -r -a next <<<"$THEN"
[ "${#first[@]}" -eq 0 ] || stage 1 first "${first[@]}"
[ "${#next[@]}" -eq 0 ] || stage 2 next "${next[@]}"
stage 3 all

finished=$(now)
total=$(elapsed "$started" "$finished")
met=$(awk -v t="$total" -v r="$rto_seconds" 'BEGIN { print (t <= r) ? "true" : "false" }')
stages=$(IFS=,; printf '%s' "${stages_json[*]}")
printf '{"kind":"restore","archive":%s,"fetch_seconds":%s,"stages":[%s],"total_seconds":%s,"rto_seconds":%s,"rto_met":%s}\n' \
    "$(json_string "$(basename -- "$archive")")" "$(elapsed "$started" "$fetched")" "$stages" "$total" "$rto_seconds" "$met"
if [ "$met" = true ]; then
    log "restored in $total s, within the RTO of $RTO"
else
    log "restored in $total s: RTO of $RTO MISSED"
    exit 75
fi
