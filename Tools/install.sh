#!/usr/bin/env bash
# Installs sealed-archive and its offsite kit (Tools/offsite/RUNBOOK.md):
#
#     sudo bash Tools/install.sh [PREFIX=/usr/local]
#
# the binary (release build), its man page, bash/zsh/fish completions, the
# offsite scripts, the systemd units (not enabled), the runbook, and an
# example configuration at /etc/sealed-archive/offsite.env when there is
# none (an existing one is never touched).
#
# Environment, for packaging and for CI's check of this script
# (Tools/check-install.sh):
#   SYSCONFDIR      where systemd/system/ and sealed-archive/ go (default /etc);
#                   the units name it for their configuration
#   CONFIGURATION   the swift build configuration (default release)
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=${1:-/usr/local}
sysconfdir=${SYSCONFDIR:-/etc}
for dir in "$prefix" "$sysconfdir"; do
    # Written into the units and configuration with sed.
    case "$dir" in
    /*) ;;
    *) echo "install: error: '$dir' is not an absolute path" >&2; exit 64 ;;
    esac
    case "$dir" in
    *[\|\&\\]* | *$'\n'*) echo "install: error: '$dir' holds '|', '&', a backslash or a newline: choose another" >&2; exit 64 ;;
    esac
done
# The installed paths, in place of the ones the kit's files name.
localize() { sed -e "s|/usr/local/|$prefix/|g" -e "s|/etc/sealed-archive/|$sysconfdir/sealed-archive/|g" "$1"; }
configuration=${CONFIGURATION:-release}
export PATH="/opt/swift/usr/bin:$PATH"
step() { echo "install: $*"; }

step "building ($configuration)"
swift build -c "$configuration" --product sealed-archive >/dev/null
bin="$(swift build -c "$configuration" --show-bin-path)/sealed-archive"
install -D -m 0755 "$bin" "$prefix/bin/sealed-archive"

step "man page"
# swift-argument-parser's plugin writes the page from the commands' own help.
find .build/plugins -path '*GenerateManual*' -name sealed-archive.1 -delete 2>/dev/null || true
swift package plugin generate-manual --configuration "$configuration" >/dev/null
manual=$(find .build/plugins -path '*GenerateManual*' -name sealed-archive.1 | head -n 1)
[ -n "$manual" ] || { echo "install: error: the man page was not generated" >&2; exit 1; }
install -D -m 0644 "$manual" "$prefix/share/man/man1/sealed-archive.1"

step "completions"
completions=$(mktemp -d)
trap 'rm -rf "$completions"' EXIT
"$prefix/bin/sealed-archive" --generate-completion-script bash > "$completions/bash"
"$prefix/bin/sealed-archive" --generate-completion-script zsh > "$completions/zsh"
"$prefix/bin/sealed-archive" --generate-completion-script fish > "$completions/fish"
install -D -m 0644 "$completions/bash" "$prefix/share/bash-completion/completions/sealed-archive"
install -D -m 0644 "$completions/zsh" "$prefix/share/zsh/site-functions/_sealed-archive"
install -D -m 0644 "$completions/fish" "$prefix/share/fish/vendor_completions.d/sealed-archive.fish"

step "offsite kit"
for script in backup-offsite.sh verify-offsite.sh drill-offsite.sh restore-offsite.sh; do
    install -D -m 0755 "Tools/offsite/$script" "$prefix/lib/sealed-archive/$script"
done
install -D -m 0644 Tools/offsite/transport.sh "$prefix/lib/sealed-archive/transport.sh"
install -D -m 0644 Tools/offsite/RUNBOOK.md "$prefix/share/doc/sealed-archive/RUNBOOK.md"
install -D -m 0644 Tools/offsite/offsite.env.example "$prefix/share/doc/sealed-archive/offsite.env.example"
install -D -m 0644 Tools/offsite/cron.example "$prefix/share/doc/sealed-archive/cron.example"

step "systemd units in $sysconfdir/systemd/system (not enabled)"
install -d -m 0755 "$sysconfdir/systemd/system"
for unit in Tools/offsite/systemd/*; do
    # The units name /usr/local and /etc; another prefix or configuration
    # directory is written into them.
    target="$sysconfdir/systemd/system/$(basename "$unit")"
    localize "$unit" > "$target"
    chmod 0644 "$target"
done
install -d -m 0700 "$sysconfdir/sealed-archive"
if [ ! -e "$sysconfdir/sealed-archive/offsite.env" ]; then
    localize Tools/offsite/offsite.env.example > "$completions/offsite.env"
    install -m 0600 "$completions/offsite.env" "$sysconfdir/sealed-archive/offsite.env"
    step "wrote $sysconfdir/sealed-archive/offsite.env (0600) from the example"
else
    step "kept the existing $sysconfdir/sealed-archive/offsite.env"
fi
if [ "$sysconfdir" = /etc ] && command -v systemctl >/dev/null; then systemctl daemon-reload || true; fi
echo "installed into $prefix; edit $sysconfdir/sealed-archive/offsite.env, then: systemctl enable --now sealed-archive-offsite.timer sealed-archive-offsite-verify.timer (the drill timer belongs where the keyring is: RUNBOOK.md)"
