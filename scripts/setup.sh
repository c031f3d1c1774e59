#!/usr/bin/env bash
# Installs what Keel's demo and tests need, when it is missing:
#   system packages (Debian): etcd-server etcd-client (the DCS), postgresql (server binaries),
#   patroni (only for its patronictl: the compatibility test drives it against a Keel cluster),
#   haproxy and prometheus (deploy/test: HAProxy routing and promtool/Prometheus on deploy/'s
#   configs; prometheus is ~19 MB, ~8 s to install),
#   openssl and curl (the TLS tests make their certificates and call the REST API with them);
#   zookeeper and python3-kazoo (the ZooKeeper DCS and patronictl pointed at it),
#   pgbackrest and barman (backup-based replica creation, bootstrap and standby clusters);
#   npm packages: npm ci (from the committed package-lock.json).
# As root it runs apt-get itself; otherwise it prints the exact command to run and stops.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v etcd >/dev/null 2>&1 || missing+=(etcd-server)
command -v etcdctl >/dev/null 2>&1 || missing+=(etcd-client)
if ! command -v pg_config >/dev/null 2>&1 || [ ! -x "$(pg_config --bindir 2>/dev/null)/initdb" ]; then
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql postgresql-contrib)
fi
command -v patronictl >/dev/null 2>&1 || missing+=(patroni)
[ -x /usr/sbin/haproxy ] || command -v haproxy >/dev/null 2>&1 || missing+=(haproxy)
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v curl >/dev/null 2>&1 || missing+=(curl)
[ -x /usr/share/zookeeper/bin/zkServer.sh ] || missing+=(zookeeper)
python3 -c 'import kazoo' >/dev/null 2>&1 || missing+=(python3-kazoo)
command -v pgbackrest >/dev/null 2>&1 || missing+=(pgbackrest)
command -v barman >/dev/null 2>&1 || missing+=(barman barman-cli)
if [ "${KEEL_NEED_CHROMIUM:-0}" = 1 ] && ! command -v chromium >/dev/null 2>&1; then missing+=(chromium); fi

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "keel setup: installing ${missing[*]} (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    # Debian starts services it installs where it can; Keel starts its own etcd/PostgreSQL.
    systemctl disable --now etcd patroni haproxy prometheus zookeeper barman >/dev/null 2>&1 || true
  else
    echo "keel setup: missing system packages: ${missing[*]}" >&2
    echo "run:  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi

if ! id postgres >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "keel setup: there is no 'postgres' OS user to run PostgreSQL as (install the postgresql package)" >&2
  exit 1
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "keel setup: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi

# The control plane's Prisma client is generated (offline, Wasm engines), not committed.
[ apps/control-plane/generated/prisma/client.ts -nt prisma/schema.prisma ] || npm run -s db:generate -w @keel/control-plane
