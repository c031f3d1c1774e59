#!/usr/bin/env bash
# Installs Keel's systemd units:
#   sudo deploy/systemd/install.sh [--prefix /opt/keel] [--root /] [--no-reload]
#
# --prefix  where the repository is checked out and built (npm ci && npm run build); the units run
#           <prefix>/apps/agent/bin/keel-agent.js and <prefix>/apps/control-plane/dist/server.mjs
# --root    install under another root (packaging, tests); no systemctl call then
#
# Writes <root>/etc/systemd/system/keel-agent.service and keel-control-plane.service, and creates
# <root>/etc/keel/ (0750) with empty secret files (0600) when they are missing; it never overwrites
# them: keel-agent.env, control-plane.env (the server's, with the APPLICATION role's DATABASE_URL)
# and control-plane-owner.env (the OWNER role's connection, read only by keel-cp-migrate, which
# you run as root before the first start and after every upgrade; docs/production.md). Then
# `systemctl daemon-reload`. Enabling is yours:
#   systemctl enable --now keel-agent          # on each database host, after /etc/keel/keel.yml
#   systemctl enable --now keel-control-plane  # on the control-plane host
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
prefix=/opt/keel
root=/
reload=1
die() { echo "install.sh: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) [ $# -ge 2 ] || die "--prefix needs a directory"; prefix="$2"; shift 2 ;;
    --root) [ $# -ge 2 ] || die "--root needs a directory"; root="$2"; shift 2 ;;
    --no-reload) reload=0; shift ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
done
case "$prefix" in /*) ;; *) die "--prefix must be an absolute path (got '$prefix')" ;; esac
case "$prefix" in *[!A-Za-z0-9._/-]*) die "--prefix may only hold letters, digits and . _ / - (got '$prefix')" ;; esac
[ -d "$root" ] || die "--root $root is not a directory"
[ "$root" = / ] || reload=0

units="$root/etc/systemd/system"
conf="$root/etc/keel"
install -d -m 0755 "$units"
for unit in keel-agent.service keel-control-plane.service; do
  sed "s#/opt/keel#${prefix}#g" "$here/$unit" > "$units/$unit.tmp"
  chmod 0644 "$units/$unit.tmp"
  mv "$units/$unit.tmp" "$units/$unit"
  echo "installed $units/$unit"
done

install -d -m 0750 "$conf"
if getent group postgres >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then chgrp postgres "$conf"; fi
new_secret_file() { # file, comment lines...
  local file="$1"; shift
  [ -e "$file" ] && return 0
  (umask 077; printf '%s\n' "$@" > "$file")
  echo "created $file (fill it in)"
}
new_secret_file "$conf/keel-agent.env" \
  "# keel-agent's secrets (Patroni's variable names); read by systemd as root, mode 0600." \
  "PATRONI_SUPERUSER_PASSWORD=" "PATRONI_REPLICATION_PASSWORD=" "PATRONI_REWIND_PASSWORD=" "PATRONI_RESTAPI_PASSWORD="
new_secret_file "$conf/control-plane.env" \
  "# The control plane's settings and secrets (apps/control-plane/README.md); mode 0600." \
  "# DATABASE_URL: the application role (postgresql://keel:...@host:5432/keel), never the owner." \
  "DATABASE_URL=" "KEEL_CP_SECRET=" "KEEL_CP_PORT=3000"
new_secret_file "$conf/control-plane-owner.env" \
  "# The control-plane database's OWNER role, for keel-cp-migrate only (role, migrations, grants):" \
  "#   sudo bash -c 'set -a; . /etc/keel/control-plane-owner.env; exec ${prefix}/deploy/docker/keel-cp-migrate.sh'" \
  "# Never in control-plane.env: the server connects as the application role. Mode 0600." \
  "PGHOST=" "PGPORT=5432" "PGDATABASE=keel" "PGUSER=keel_owner" "PGPASSWORD=" \
  "CP_APP_DB_ROLE=keel" "CP_APP_DB_PASSWORD=" "KEEL_CP_DIR=${prefix}/apps/control-plane"

if [ "$reload" = 1 ] && command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  echo "systemctl daemon-reload: done"
fi
