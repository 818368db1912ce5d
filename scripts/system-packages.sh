#!/usr/bin/env bash
# Install the Debian packages a target needs, or print the exact command when not root.
# Usage: scripts/system-packages.sh run|test
set -euo pipefail

RUN_PACKAGES=(python3 python3-venv python3-dev build-essential pkg-config default-libmysqlclient-dev)
# What the test suite asks as real parts: MariaDB, Dovecot (doveadm and a private dovecot),
# Postfix with its MySQL maps, Chromium for the browser tests, openssl for the private TLS cert;
# Apache with ssl-cert's make-ssl-cert and systemd-analyze for the deployment tests; debootstrap
# for the Trixie root (scripts/trixie-root.sh) the second edition's proofs run from; fail2ban
# (its fail2ban-regex judges contrib/fail2ban/mailadmin.conf).
TEST_PACKAGES=("${RUN_PACKAGES[@]}" mariadb-server mariadb-client postfix postfix-mysql
  dovecot-core dovecot-mysql swaks chromium chromium-driver openssl apache2 ssl-cert systemd debootstrap fail2ban)

case "${1:-run}" in
  run) wanted=("${RUN_PACKAGES[@]}") ;;
  test) wanted=("${TEST_PACKAGES[@]}") ;;
  *) echo "usage: $0 run|test" >&2; exit 2 ;;
esac

missing=()
for package in "${wanted[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

command="apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "Missing Debian packages. Run as root:" >&2
  echo "  apt-get update && $command" >&2
  exit 1
fi
echo "Installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Postfix asks how to configure the machine's own mail system; the tests never use it.
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
