#!/usr/bin/env bash
# Install mailadmin for production on Debian 12, next to the ISPmail guide's Apache (README, "Deploying").
# Run as root from a checkout; every command can be run again.
#
#   scripts/install.sh install   [options]  user, release, virtualenv, env file, migrate, service, proxy sites
#   scripts/install.sh upgrade   [options]  the same for this checkout as a new release; the previous one is kept
#   scripts/install.sh rollback  [options]  back to the previous release (one command, no rebuild)
#   scripts/install.sh uninstall [options]  service, code, proxy sites; --purge also the env file and the user
#
# Options:
#   --root DIR                 install into DIR instead of / (tests): no apt-get, no systemctl
#   --server-name NAME         the panel's host name (default: hostname -f)
#   --certificate FILE         TLS certificate (default: certbot's /etc/letsencrypt/live/NAME/fullchain.pem)
#   --certificate-key FILE     its key (default: /etc/letsencrypt/live/NAME/privkey.pem)
#   --enable-proxy apache|nginx  also enable the proxy site (it is always written, never enabled unasked)
#   --release NAME             name the new release (default: git describe of this checkout)
#   --purge                    uninstall: also remove /etc/mailadmin and the user (the database stays)
#
# DATABASE_URL (mysql://mailadmin:PASSWORD@127.0.0.1:3306/mailserver) comes from the environment,
# else from the existing env file, else it is asked for; it never goes on a command line.
set -euo pipefail

SOURCE="$(cd "$(dirname "$0")/.." && pwd)"
ROOT=/
SERVER_NAME=""
CERTIFICATE=""
CERTIFICATE_KEY=""
ENABLE_PROXY=""
RELEASE=""
PURGE=0
KEEP_RELEASES=3
# Debian's Python, whatever virtualenv the caller's PATH has active.
PYTHON=/usr/bin/python3

APP_DIR=/opt/mailadmin
ENV_DIR=/etc/mailadmin
ENV_FILE=$ENV_DIR/mailadmin.env
STATE_DIR=/var/lib/mailadmin
SOCKET=/run/mailadmin.sock
UNIT_DIR=/etc/systemd/system
COMMAND=/usr/local/sbin/mailadmin
USER_NAME=mailadmin

say() { echo "mailadmin: $*"; }
die() { echo "mailadmin: $*" >&2; exit 1; }

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 2; }

[ $# -ge 1 ] || usage
ACTION=$1
shift
while [ $# -gt 0 ]; do
  case "$1" in
    --root) ROOT=$2; shift 2 ;;
    --server-name) SERVER_NAME=$2; shift 2 ;;
    --certificate) CERTIFICATE=$2; shift 2 ;;
    --certificate-key) CERTIFICATE_KEY=$2; shift 2 ;;
    --enable-proxy) ENABLE_PROXY=$2; shift 2 ;;
    --release) RELEASE=$2; shift 2 ;;
    --purge) PURGE=1; shift ;;
    -h|--help) usage ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done
case "$ENABLE_PROXY" in ""|apache|nginx) ;; *) die "--enable-proxy takes apache or nginx" ;; esac
[ "$(id -u)" -eq 0 ] || die "run as root (sudo make install)"
ROOT="$(cd "$ROOT" && pwd)"
real_root() { [ "$ROOT" = / ]; }
# A path inside the target root.
at() { if real_root; then echo "$1"; else echo "$ROOT$1"; fi; }

systemctl_() { if real_root; then systemctl "$@"; else say "(--root) would run: systemctl $*"; fi; }

group_id() { awk -F: -v name="$1" '$1 == name { print $3 }' "$(at /etc/group)"; }

ensure_user() {
  if ! awk -F: -v name=$USER_NAME '$1 == name { found = 1 } END { exit !found }' "$(at /etc/passwd)"; then
    local prefix=()
    real_root || prefix=(--prefix "$ROOT")
    useradd "${prefix[@]}" --system --user-group --home-dir $STATE_DIR --no-create-home \
      --shell /usr/sbin/nologin --comment "mailadmin web panel" $USER_NAME
    say "created the system user $USER_NAME"
  fi
  MAILADMIN_GID=$(group_id $USER_NAME)
}

release_version() {
  local version
  if [ -n "$RELEASE" ]; then
    case "$RELEASE" in */*|.*) die "--release takes a plain name" ;; esac
    echo "$RELEASE"
    return
  fi
  if version=$(git -C "$SOURCE" describe --tags --always 2>/dev/null); then
    # Uncommitted changes: a release of their own each time, never reused.
    if [ -n "$(git -C "$SOURCE" status --porcelain 2>/dev/null)" ]; then
      version="$version-dirty-$(date -u +%Y%m%d%H%M%S)"
    fi
  else
    version="$(date -u +%Y%m%d%H%M%S)"
  fi
  echo "$version"
}

copy_code() {  # SOURCE -> $1: the files git knows (tracked and new), or everything but local state
  local target=$1
  mkdir -p "$target"
  if git -C "$SOURCE" rev-parse --git-dir >/dev/null 2>&1; then
    # Never a checkout's own state: .venv may be a symlink that .gitignore's `.venv/` misses.
    git -C "$SOURCE" ls-files -z --cached --others --exclude-standard |
      grep -zvE '^(\.venv|staticfiles|test-artifacts)(/|$)|^\.secret_key$|\.sqlite3$' |
      tar -C "$SOURCE" --null -T - --ignore-failed-read -cf - | tar -C "$target" -xf -
  else
    tar -C "$SOURCE" --exclude=.venv --exclude=.git --exclude=staticfiles --exclude=.secret_key \
      --exclude='*.sqlite3' --exclude=test-artifacts -cf - . | tar -C "$target" -xf -
  fi
}

build_release() {  # the release directory for this checkout, with its virtualenv
  local version release
  version=$(release_version)
  release="$(at $APP_DIR)/releases/$version"
  if [ -e "$release/.complete" ]; then
    say "release $version is built already" >&2
  else
    # Built where it will live (a virtualenv's scripts name their interpreter by path); only a
    # release with .complete is ever used, so an interrupted build is simply built again.
    rm -rf "$release"
    say "building release $version" >&2
    copy_code "$release"
    "$PYTHON" -m venv "$release/.venv"
    "$release/.venv/bin/pip" install --quiet --disable-pip-version-check -r "$release/requirements.txt" >&2
    chmod -R go-w "$release"
    touch "$release/.complete"
  fi
  echo "$release"
}

# --- the env file ------------------------------------------------------------------------

env_has() { grep -q "^$1=" "$(at $ENV_FILE)"; }

env_set() {  # NAME VALUE: single-quoted, as both systemd and the shell read it
  local file tmp
  file=$(at $ENV_FILE)
  case "$2" in *"'"*|*$'\n'*) die "$1 cannot contain a quote or a line break (URL-encode it: %27)" ;; esac
  tmp=$(mktemp "$file.XXXXXX")
  grep -v "^$1=" "$file" >"$tmp" || true
  printf "%s='%s'\n" "$1" "$2" >>"$tmp"
  chown 0:"$MAILADMIN_GID" "$tmp"
  chmod 0640 "$tmp"
  mv -f "$tmp" "$file"
}

env_default() { env_has "$1" || env_set "$1" "$2"; }

ask_database_url() {
  [ -t 0 ] || die "DATABASE_URL is not set: export DATABASE_URL=mysql://mailadmin:PASSWORD@127.0.0.1:3306/mailserver and run again"
  local url
  read -r -s -p "DATABASE_URL (mysql://mailadmin:PASSWORD@127.0.0.1:3306/mailserver): " url
  echo
  [ -n "$url" ] || die "no DATABASE_URL given"
  printf '%s' "$url"
}

write_env_file() {
  local dir file
  dir=$(at $ENV_DIR)
  file=$(at $ENV_FILE)
  install -d -m 0750 -o 0 -g "$MAILADMIN_GID" "$dir"
  if [ ! -e "$file" ]; then
    (umask 0137 && printf '# mailadmin settings (README, "Settings"); read by mailadmin.service and %s.\n' $COMMAND >"$file")
  fi
  chown 0:"$MAILADMIN_GID" "$file"
  chmod 0640 "$file"
  # Generated once: a new key would log every admin out and void every reset link.
  env_has SECRET_KEY || env_set SECRET_KEY "$("$PYTHON" -c 'import secrets; print(secrets.token_urlsafe(50))')"
  if [ -n "${DATABASE_URL:-}" ]; then
    env_set DATABASE_URL "$DATABASE_URL"
  elif ! env_has DATABASE_URL; then
    env_set DATABASE_URL "$(ask_database_url)"
  fi
  env_default ALLOWED_HOSTS "$SERVER_NAME"
  env_default CSRF_TRUSTED_ORIGINS "https://$SERVER_NAME"
  env_default MAILADMIN_BEHIND_PROXY 1
  env_default MAILADMIN_SERVE_STATIC 1
}

# --- manage.py, as the service runs it --------------------------------------------------

write_command() {  # /usr/local/sbin/mailadmin: manage.py of the current release with the env file
  local file
  file=$(at $COMMAND)
  mkdir -p "$(dirname "$file")"
  cat >"$file" <<EOF
#!/bin/sh
# manage.py of the current mailadmin release with its settings, e.g. \`mailadmin doctor\` (as root).
set -a
. "$(at $ENV_FILE)"
set +a
exec "$(at $APP_DIR)/current/.venv/bin/python" "$(at $APP_DIR)/current/manage.py" "\$@"
EOF
  chmod 0755 "$file"
}

manage() {  # RELEASE ARGS…: manage.py of one release with the env file's settings
  local release=$1
  shift
  (set -a && . "$(at $ENV_FILE)" && set +a && cd "$release" && .venv/bin/python manage.py "$@")
}

# --- releases ------------------------------------------------------------------------------

current_release() { readlink -e "$(at $APP_DIR)/current" 2>/dev/null || true; }

point() {  # LINK TARGET: replace a symlink in one rename
  local link tmp
  link="$(at $APP_DIR)/$1"
  tmp="$link.new"
  ln -sfn "releases/$(basename "$2")" "$tmp"
  mv -Tf "$tmp" "$link"
}

switch_to() {
  local release=$1 old
  old=$(current_release)
  if [ -n "$old" ] && [ "$old" != "$release" ]; then
    point previous "$old"
  fi
  point current "$release"
  say "current release: $(basename "$release")"
}

prune_releases() {  # keep the newest few besides current and previous
  local current previous count=0 release
  current=$(current_release)
  previous=$(readlink -e "$(at $APP_DIR)/previous" 2>/dev/null || true)
  for release in $(ls -1dt "$(at $APP_DIR)"/releases/*/ 2>/dev/null); do
    release=${release%/}
    [ "$release" = "$current" ] || [ "$release" = "$previous" ] && continue
    count=$((count + 1))
    [ $count -gt $KEEP_RELEASES ] && rm -rf "$release"
  done
  return 0
}

# --- systemd and the proxy -----------------------------------------------------------------

install_units() {
  install -d "$(at $UNIT_DIR)"
  install -m 0644 "$SOURCE/contrib/systemd/mailadmin.service" "$SOURCE/contrib/systemd/mailadmin.socket" "$(at $UNIT_DIR)/"
  systemctl_ daemon-reload
  systemctl_ enable --now mailadmin.socket
}

restart_service() {
  # The socket keeps accepting while gunicorn restarts: no request is refused.
  systemctl_ try-restart mailadmin.service
  systemctl_ start mailadmin.socket
}

render() {  # TEMPLATE: the snippet with this server's names
  sed -e "s|@SERVER_NAME@|$SERVER_NAME|g" -e "s|@SOCKET@|$SOCKET|g" \
    -e "s|@CERTIFICATE@|$CERTIFICATE|g" -e "s|@CERTIFICATE_KEY@|$CERTIFICATE_KEY|g" "$1"
}

write_proxy_sites() {
  local wrote=0
  if [ -d "$(at /etc/apache2)" ]; then
    install -d "$(at /etc/apache2/sites-available)"
    render "$SOURCE/contrib/apache/mailadmin.conf" >"$(at /etc/apache2/sites-available/mailadmin.conf)"
    say "wrote /etc/apache2/sites-available/mailadmin.conf (not enabled)"
    wrote=1
  fi
  if [ -d "$(at /etc/nginx)" ]; then
    install -d "$(at /etc/nginx/sites-available)"
    render "$SOURCE/contrib/nginx/mailadmin" >"$(at /etc/nginx/sites-available/mailadmin)"
    say "wrote /etc/nginx/sites-available/mailadmin (not enabled)"
    wrote=1
  fi
  [ $wrote -eq 1 ] || say "neither Apache nor nginx is installed: the snippets are in $APP_DIR/current/contrib/"
}

enable_proxy() {
  case "$ENABLE_PROXY" in
    apache)
      if real_root; then
        a2enmod -q proxy_http ssl headers
        a2ensite -q mailadmin
        apache2ctl configtest && systemctl reload apache2
      else
        ln -sfn ../sites-available/mailadmin.conf "$(at /etc/apache2/sites-enabled)/mailadmin.conf"
      fi ;;
    nginx)
      install -d "$(at /etc/nginx/sites-enabled)"
      ln -sfn ../sites-available/mailadmin "$(at /etc/nginx/sites-enabled)/mailadmin"
      if real_root; then nginx -t && systemctl reload nginx; fi ;;
    *) return 0 ;;
  esac
  say "enabled the $ENABLE_PROXY site for https://$SERVER_NAME/"
}

# --- the commands --------------------------------------------------------------------------

defaults() {
  SERVER_NAME=${SERVER_NAME:-$(hostname -f 2>/dev/null || hostname)}
  CERTIFICATE=${CERTIFICATE:-/etc/letsencrypt/live/$SERVER_NAME/fullchain.pem}
  CERTIFICATE_KEY=${CERTIFICATE_KEY:-/etc/letsencrypt/live/$SERVER_NAME/privkey.pem}
  # They go into config files as they are.
  case "$SERVER_NAME" in ""|*[!A-Za-z0-9.-]*) die "--server-name takes a host name, not '$SERVER_NAME'" ;; esac
  case "$CERTIFICATE$CERTIFICATE_KEY" in *[[:space:]\|\"]*) die "certificate paths cannot hold spaces, | or quotes" ;; esac
}

do_install() {
  defaults
  if real_root; then "$SOURCE/scripts/system-packages.sh" run; fi
  ensure_user
  install -d -m 0755 "$(at $APP_DIR)/releases"
  install -d -m 0750 -o "$(awk -F: -v n=$USER_NAME '$1 == n { print $3 }' "$(at /etc/passwd)")" \
    -g "$MAILADMIN_GID" "$(at $STATE_DIR)"
  write_env_file
  local release
  release=$(build_release)
  manage "$release" collectstatic --noinput --verbosity 0
  manage "$release" migrate --noinput
  manage "$release" initadmin
  switch_to "$release"
  write_command
  install_units
  write_proxy_sites
  enable_proxy
  restart_service
  prune_releases
  say "done. Check it with: $COMMAND doctor --url https://$SERVER_NAME/"
}

do_upgrade() {
  [ -n "$(current_release)" ] || die "not installed yet: run install first"
  do_install
}

do_rollback() {
  local previous current
  previous=$(readlink -e "$(at $APP_DIR)/previous" 2>/dev/null || true)
  [ -n "$previous" ] && [ -d "$previous" ] || die "no previous release to go back to"
  current=$(current_release)
  point current "$previous"
  point previous "$current"
  restart_service
  say "rolled back to $(basename "$previous") ($(basename "$current") is kept as previous)"
}

do_uninstall() {
  if real_root; then
    systemctl disable --now mailadmin.socket mailadmin.service 2>/dev/null || true
    [ -e /etc/apache2/sites-enabled/mailadmin.conf ] && a2dissite -q mailadmin && systemctl reload apache2
    [ -e /etc/nginx/sites-enabled/mailadmin ] && rm -f /etc/nginx/sites-enabled/mailadmin && systemctl reload nginx
  fi
  rm -f "$(at $UNIT_DIR)/mailadmin.service" "$(at $UNIT_DIR)/mailadmin.socket" "$(at $COMMAND)" \
    "$(at /etc/apache2/sites-enabled/mailadmin.conf)" "$(at /etc/apache2/sites-available/mailadmin.conf)" \
    "$(at /etc/nginx/sites-enabled/mailadmin)" "$(at /etc/nginx/sites-available/mailadmin)"
  systemctl_ daemon-reload
  rm -rf "$(at $APP_DIR)"
  if [ $PURGE -eq 1 ]; then
    rm -rf "$(at $ENV_DIR)" "$(at $STATE_DIR)"
    if real_root; then userdel $USER_NAME 2>/dev/null || true; else userdel --prefix "$ROOT" $USER_NAME 2>/dev/null || true; fi
    say "removed; the database and its tables are untouched"
  else
    say "removed; $ENV_FILE and the user $USER_NAME are kept (--purge removes them); the database is untouched"
  fi
}

case "$ACTION" in
  install) do_install ;;
  upgrade) do_upgrade ;;
  rollback) do_rollback ;;
  uninstall) do_uninstall ;;
  *) usage ;;
esac
