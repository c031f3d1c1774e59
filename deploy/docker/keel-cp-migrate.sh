#!/usr/bin/env bash
# keel-cp-migrate: prepares the control plane's database as its OWNER role, then exits
# (apps/control-plane/README.md, "Database roles"). docker-compose.yml's one-shot cp-migrate runs it
# before the control plane starts; run it again after every upgrade.
#   1. creates the application's login role CP_APP_DB_ROLE (default keel) when it is missing, or
#      sets its password when it exists (CP_APP_DB_PASSWORD is the one source of it);
#   2. applies the committed migrations (scripts/prisma.ts migrate deploy), as the owner;
#   3. grants the application role its rights (scripts/grant-app-role.ts --role), as the owner.
# The owner's connection: libpq's PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD (and PGSSLMODE),
# so no password is on a command line. Step 1 needs an owner that may manage roles (compose: the
# database's superuser). The application role may be neither the owner nor a superuser (the server
# refuses both). The password is never printed: psql reads it from the environment (\getenv),
# quotes it (:'...'), and a superuser owner turns statement logging off for that session.
# Exit 2: bad input, nothing changed. KEEL_CP_DIR: the control plane (default: the image's).
set -euo pipefail
die() { echo "keel-cp-migrate: $1" >&2; exit "${2:-2}"; }
role="${CP_APP_DB_ROLE:-keel}"
cp_dir="${KEEL_CP_DIR:-/opt/keel/apps/control-plane}"
[[ "$role" =~ ^[a-z_][a-z0-9_]{0,62}$ ]] || die "CP_APP_DB_ROLE must be a lower-case identifier (got '$role')"
[ -n "${CP_APP_DB_PASSWORD:-}" ] || die "CP_APP_DB_PASSWORD is not set (the application role's password)"
for v in PGHOST PGDATABASE PGUSER PGPASSWORD; do [ -n "${!v:-}" ] || die "$v is not set (the owner role's connection)"; done
[ "$role" != "$PGUSER" ] || die "the application role ($role) must not be the owner ($PGUSER): see \"Database roles\""
[ -f "$cp_dir/scripts/prisma.ts" ] || die "no control plane in $cp_dir (set KEEL_CP_DIR)"

owner_psql() { psql -X -q -v ON_ERROR_STOP=1 -v VERBOSITY=terse -v SHOW_CONTEXT=never -v app_role="$role" "$@"; }
read -r owner_super may_manage exists app_super < <(owner_psql -tA -F ' ' <<'SQL'
SELECT o.rolsuper, o.rolsuper OR o.rolcreaterole, a.oid IS NOT NULL, COALESCE(a.rolsuper, false)
FROM pg_roles o LEFT JOIN pg_roles a ON a.rolname = :'app_role' WHERE o.rolname = current_user;
SQL
) || die "cannot connect to the database as $PGUSER" 1
[ "$app_super" = f ] || die "role $role is a superuser: the control plane refuses to run as one (ALTER ROLE $role NOSUPERUSER)" 1
if [ "$may_manage" = t ]; then
  owner_psql <<'SQL'
\getenv app_password CP_APP_DB_PASSWORD
SELECT set_config('log_statement', 'none', false), set_config('log_min_error_statement', 'panic', false),
       set_config('log_min_duration_statement', '-1', false)
  FROM pg_roles WHERE rolname = current_user AND rolsuper \g /dev/null
SELECT format(CASE WHEN EXISTS (SELECT FROM pg_roles WHERE rolname = :'app_role')
    THEN 'ALTER ROLE %I WITH LOGIN PASSWORD %L'
    ELSE 'CREATE ROLE %I WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD %L' END,
  :'app_role', :'app_password') \gexec
SQL
  if [ "$exists" = t ]; then echo "keel-cp-migrate: role $role: password set from CP_APP_DB_PASSWORD"; else echo "keel-cp-migrate: role $role created"; fi
elif [ "$exists" = t ]; then
  echo "keel-cp-migrate: role $role exists; $PGUSER may not manage roles, so its password is left as it is"
else
  die "role $role does not exist and $PGUSER may not create roles: create it once as a superuser (CREATE ROLE $role LOGIN PASSWORD ...)" 1
fi
[ "$owner_super" = t ] && echo "keel-cp-migrate: note: the owner $PGUSER is a superuser (fine for migrations; the control plane connects as $role)"

# Steps 2 and 3 read the owner's URL (DATABASE_URL); they never see the application's password.
urlenc() {
  local LC_ALL=C s="$1" out="" c i
  for ((i = 0; i < ${#s}; i++)); do
    c="${s:i:1}"
    case "$c" in [A-Za-z0-9._~-]) out+="$c" ;; *) out+="$(printf '%%%02X' "'$c")" ;; esac
  done
  printf '%s' "$out"
}
DATABASE_URL="postgresql://$(urlenc "$PGUSER"):$(urlenc "$PGPASSWORD")@${PGHOST}:${PGPORT:-5432}/$(urlenc "$PGDATABASE")${PGSSLMODE:+?sslmode=$PGSSLMODE}"
export DATABASE_URL
cd "$cp_dir"
echo "keel-cp-migrate: applying the migrations as $PGUSER"
env -u CP_APP_DB_PASSWORD -u PGPASSWORD node --import tsx scripts/prisma.ts migrate deploy
env -u CP_APP_DB_PASSWORD -u PGPASSWORD node --import tsx scripts/grant-app-role.ts --role "$role"
