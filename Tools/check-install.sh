#!/usr/bin/env bash
# CI's check of Tools/install.sh, as the runbook uses it: installs into a
# temporary prefix and configuration directory (a debug build, already
# made by the tests), then checks what an operator gets: every file in its
# place with its mode, the binary runs, the man page renders and documents
# the commands, the completions parse, the units name the installed paths
# and pass `systemd-analyze verify`, and a second install keeps the
# operator's configuration.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
prefix="$root/prefix" etc="$root/etc"
fail() { echo "check-install: FAILED: $*" >&2; exit 1; }

SYSCONFDIR="$etc" CONFIGURATION=debug bash Tools/install.sh "$prefix" >"$root/install.log" 2>&1 \
    || { cat "$root/install.log"; fail "install.sh exited non-zero"; }

mode() { stat -c %a "$1"; }
expect_file() {  # PATH MODE
    [ -f "$1" ] || fail "$1 is missing"
    [ "$(mode "$1")" = "$2" ] || fail "$1 has mode $(mode "$1"), not $2"
}
expect_file "$prefix/bin/sealed-archive" 755
expect_file "$prefix/share/man/man1/sealed-archive.1" 644
expect_file "$prefix/share/bash-completion/completions/sealed-archive" 644
expect_file "$prefix/share/zsh/site-functions/_sealed-archive" 644
expect_file "$prefix/share/fish/vendor_completions.d/sealed-archive.fish" 644
for script in backup-offsite.sh verify-offsite.sh drill-offsite.sh restore-offsite.sh; do expect_file "$prefix/lib/sealed-archive/$script" 755; done
expect_file "$prefix/lib/sealed-archive/transport.sh" 644
expect_file "$prefix/share/doc/sealed-archive/RUNBOOK.md" 644
expect_file "$etc/sealed-archive/offsite.env" 600
[ "$(mode "$etc/sealed-archive")" = 700 ] || fail "$etc/sealed-archive is not 0700"

"$prefix/bin/sealed-archive" --version >/dev/null || fail "the installed binary does not run"

# The man page: valid roff that renders, naming every command and option
# an operator looks up there.
page="$prefix/share/man/man1/sealed-archive.1"
rendered=$(MANWIDTH=120 man -l "$page" 2>"$root/man.err") || fail "man cannot render the page: $(cat "$root/man.err")"
for word in SEALED-ARCHIVE seal open verify drill resume-chain export-signing-key --progress --require-manifest --max-gap --rto; do
    grep -qF -- "$word" <<<"$rendered" || fail "the man page does not mention $word"
done

bash -n "$prefix/share/bash-completion/completions/sealed-archive" || fail "the bash completion does not parse"
# shellcheck disable=SC1091
(source "$prefix/share/bash-completion/completions/sealed-archive" && complete -p sealed-archive >/dev/null) \
    || fail "the bash completion does not register for sealed-archive"
if command -v zsh >/dev/null; then zsh -n "$prefix/share/zsh/site-functions/_sealed-archive" || fail "the zsh completion does not parse"; fi
if command -v fish >/dev/null; then fish -n "$prefix/share/fish/vendor_completions.d/sealed-archive.fish" || fail "the fish completion does not parse"; fi

units=("$etc"/systemd/system/*)
[ "${#units[@]}" -eq 6 ] || fail "expected 6 units, found ${#units[@]}"
for unit in "${units[@]}"; do
    [ "$(mode "$unit")" = 644 ] || fail "$unit is not 0644"
    if grep -qE '(=|:)(/usr/local/|/etc/sealed-archive/)' "$unit"; then fail "$unit still names /usr/local or /etc/sealed-archive"; fi
done
grep -qF "ExecStart=$prefix/lib/sealed-archive/backup-offsite.sh" "$etc/systemd/system/sealed-archive-offsite.service" \
    || fail "the offsite unit does not run the installed script"
if grep -qE '(=|# )(/usr/local/|/etc/sealed-archive/)' "$etc/sealed-archive/offsite.env"; then fail "offsite.env still names /usr/local or /etc/sealed-archive"; fi
touch "$etc/sealed-archive/drill.env"
if command -v systemd-analyze >/dev/null; then
    systemd-analyze verify --man=no "${units[@]}" 2>"$root/analyze.err" || fail "systemd-analyze verify: $(cat "$root/analyze.err")"
    [ ! -s "$root/analyze.err" ] || fail "systemd-analyze verify warns: $(cat "$root/analyze.err")"
fi

# A second install (an upgrade) keeps the operator's configuration.
echo "OFFSITE_BACKUP_TARGET=/srv/kept" > "$etc/sealed-archive/offsite.env"
SYSCONFDIR="$etc" CONFIGURATION=debug bash Tools/install.sh "$prefix" >"$root/install.log" 2>&1 \
    || { cat "$root/install.log"; fail "the second install.sh exited non-zero"; }
grep -qx "OFFSITE_BACKUP_TARGET=/srv/kept" "$etc/sealed-archive/offsite.env" || fail "a second install replaced offsite.env"

echo "check-install: install.sh into a temporary prefix: files, modes, man page, completions and units OK"
