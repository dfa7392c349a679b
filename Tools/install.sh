#!/usr/bin/env bash
# Installs sealed-archive and its offsite kit (Tools/offsite/RUNBOOK.md):
#
#     sudo bash Tools/install.sh [PREFIX=/usr/local]
#
# the binary (release build), the offsite scripts, the systemd units (not
# enabled), bash/zsh/fish completions, the runbook, and an example
# configuration at /etc/sealed-archive/offsite.env when there is none.
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=${1:-/usr/local}
export PATH="/opt/swift/usr/bin:$PATH"

swift build -c release >/dev/null
bin="$(swift build -c release --show-bin-path)/sealed-archive"
install -D -m 0755 "$bin" "$prefix/bin/sealed-archive"
for script in backup-offsite.sh verify-offsite.sh drill-offsite.sh; do
    install -D -m 0755 "Tools/offsite/$script" "$prefix/lib/sealed-archive/$script"
done
install -D -m 0644 Tools/offsite/transport.sh "$prefix/lib/sealed-archive/transport.sh"
install -D -m 0644 Tools/offsite/RUNBOOK.md "$prefix/share/doc/sealed-archive/RUNBOOK.md"
for unit in Tools/offsite/systemd/*; do
    # The units name /usr/local; another prefix is written into them.
    sed "s|/usr/local/|$prefix/|g" "$unit" > "/etc/systemd/system/$(basename "$unit")"
    chmod 0644 "/etc/systemd/system/$(basename "$unit")"
done
"$prefix/bin/sealed-archive" --generate-completion-script bash > /tmp/sealed-archive.bash
install -D -m 0644 /tmp/sealed-archive.bash "$prefix/share/bash-completion/completions/sealed-archive"
"$prefix/bin/sealed-archive" --generate-completion-script zsh > /tmp/_sealed-archive
install -D -m 0644 /tmp/_sealed-archive "$prefix/share/zsh/site-functions/_sealed-archive"
"$prefix/bin/sealed-archive" --generate-completion-script fish > /tmp/sealed-archive.fish
install -D -m 0644 /tmp/sealed-archive.fish "$prefix/share/fish/vendor_completions.d/sealed-archive.fish"
rm -f /tmp/sealed-archive.bash /tmp/_sealed-archive /tmp/sealed-archive.fish
install -d -m 0700 /etc/sealed-archive
if [ ! -e /etc/sealed-archive/offsite.env ]; then
    install -m 0600 Tools/offsite/offsite.env.example /etc/sealed-archive/offsite.env
fi
if command -v systemctl >/dev/null; then systemctl daemon-reload || true; fi
echo "installed into $prefix; edit /etc/sealed-archive/offsite.env, then: systemctl enable --now sealed-archive-offsite.timer sealed-archive-offsite-verify.timer"
