# shellcheck shell=bash
# The settings the offsite scripts share and the three ways to reach
# offsite storage (sourced,
# not run): OFFSITE_BACKUP_METHOD rclone, rsync or copy, and the target
# OFFSITE_BACKUP_TARGET (rclone remote, rsync host:path, or a directory).
# One place knows each transport's commands.

# The settings every offsite script reads (RUNBOOK.md, "Configuration");
# each script reads its own besides.
# shellcheck disable=SC2034
{
    SA=${SEALED_ARCHIVE:-sealed-archive}
    METHOD=${OFFSITE_BACKUP_METHOD:-}
    TARGET=${OFFSITE_BACKUP_TARGET:-}
    PREFIX=${OFFSITE_ARCHIVE_PREFIX:-offsite}
    SIGNERS_FILE=${OFFSITE_SIGNERS_FILE:-}
}

# Refuses an unknown method (64) with the scripts' configuration error.
transport_check() {
    case "$METHOD" in
    rclone | rsync | copy) ;;
    *) config_error "OFFSITE_BACKUP_METHOD must be rclone, rsync or copy (got '${METHOD}')" ;;
    esac
    [ -n "$TARGET" ] || config_error "OFFSITE_BACKUP_TARGET is not set"
}

# The file names directly in the target.
remote_list() {
    case "$METHOD" in
    copy) find "$TARGET" -mindepth 1 -maxdepth 1 -type f -printf '%f\n' ;;
    rclone) rclone lsf --files-only "$TARGET" ;;
    rsync) rsync --list-only -- "$TARGET/" | awk '{print $NF}' ;;
    esac
}

# remote_fetch NAME DIR: copies the target's NAME into DIR.
remote_fetch() {
    case "$METHOD" in
    copy) cp -- "$TARGET/$1" "$2/" ;;
    rclone) rclone copyto --quiet "$TARGET/$1" "$2/$1" ;;
    rsync) rsync --quiet -- "$TARGET/$1" "$2/" ;;
    esac
}

# remote_cat NAME SCRATCH: the target's NAME on standard output (rsync has
# no cat: it fetches into SCRATCH first).
remote_cat() {
    case "$METHOD" in
    copy) cat -- "$TARGET/$1" ;;
    rclone) rclone cat "$TARGET/$1" ;;
    rsync) rsync --quiet -- "$TARGET/$1" "$2/" && cat -- "$2/$1" && rm -f -- "$2/$1" ;;
    esac
}

# remote_put FILE: uploads FILE under its name, under a temporary name
# first and renamed into place where the transport allows (rsync does so
# itself).
remote_put() {
    local name
    name=$(basename -- "$1")
    case "$METHOD" in
    copy)
        mkdir -p -- "$TARGET"
        cp -- "$1" "$TARGET/.$name.partial"
        sync -- "$TARGET/.$name.partial"
        mv -f -- "$TARGET/.$name.partial" "$TARGET/$name"
        ;;
    rclone)
        rclone copyto --quiet "$1" "$TARGET/.$name.partial"
        rclone moveto --quiet "$TARGET/.$name.partial" "$TARGET/$name"
        ;;
    rsync) rsync --quiet --times -- "$1" "$TARGET/" ;;
    esac
}

# remote_delete NAME SCRATCH: removes the target's NAME.
remote_delete() {
    case "$METHOD" in
    copy) rm -f -- "$TARGET/$1" ;;
    rclone) rclone deletefile "$TARGET/$1" ;;
    rsync)
        # An empty directory synced with --delete, filtered to that one
        # name: rsync's way to remove one remote file.
        mkdir -p -- "$2/empty"
        rsync --quiet --recursive --delete --include="/$1" --exclude='*' -- "$2/empty/" "$TARGET/"
        ;;
    esac
}
