#!/usr/bin/env bash
# Build, once per machine, a Debian 13 "Trixie" root holding the guide's Trixie packages
# (Postfix 3.10, Dovecot 2.4, MariaDB 11.8) so the suite can run its private servers from them.
# Usage: scripts/trixie-root.sh [build|path]   (root needed to build; reused when present)
# The root is at $MAILADMIN_TRIXIE_ROOT (default /var/cache/mailadmin-trixie-root); a finished root
# holds .mailadmin-ready, so a build interrupted half way is started again rather than trusted.
set -euo pipefail

ROOT="${MAILADMIN_TRIXIE_ROOT:-/var/cache/mailadmin-trixie-root}"
PACKAGES=(postfix postfix-mysql dovecot-core dovecot-mysql mariadb-server mariadb-client)
READY="$ROOT/.mailadmin-ready"

case "${1:-build}" in
  path) echo "$ROOT"; exit 0 ;;
  build) ;;
  *) echo "usage: $0 build|path" >&2; exit 2 ;;
esac

[ -f "$READY" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "The Trixie root needs root to build. Run: sudo $0" >&2
  exit 1
fi

# Debian's archive, the same mirror apt uses on this machine.
mirror="$(grep -hsE '^(URIs:|deb )' /etc/apt/sources.list /etc/apt/sources.list.d/*.sources \
  /etc/apt/sources.list.d/*.list | grep -oE 'https?://[^ ]+/debian/?' | grep -v security | head -n1 || true)"
mirror="${mirror:-http://deb.debian.org/debian}"

command -v debootstrap >/dev/null || apt-get install -y -qq --no-install-recommends debootstrap

building="$ROOT.building"
rm -rf "$building"
echo "Building the Trixie root from $mirror into $ROOT"
debootstrap --variant=minbase trixie "$building" "$mirror"

# Packages are installed, never started: no service runs from this root except the private
# instances the tests start themselves.
printf '#!/bin/sh\nexit 101\n' >"$building/usr/sbin/policy-rc.d"
chmod +x "$building/usr/sbin/policy-rc.d"
echo "postfix postfix/main_mailer_type select No configuration" |
  chroot "$building" debconf-set-selections
chroot "$building" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
  --no-install-recommends "${PACKAGES[@]}"
chroot "$building" apt-get clean

rm -rf "$ROOT"
mv "$building" "$ROOT"
chroot "$ROOT" dpkg-query -W "${PACKAGES[@]}" >"$READY"
cat "$READY"
