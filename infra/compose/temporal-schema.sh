#!/bin/sh
# One-shot before the Temporal server starts: creates its two databases (default and visibility
# stores) on the compose Postgres and applies or upgrades their schemas with the server's own SQL
# tool (temporalio/admin-tools of the server's release). Idempotent: safe on every `up`.
set -eu
: "${SQL_PASSWORD:?SQL_PASSWORD (the temporal role's password) is not set}"
sql() { temporal-sql-tool --plugin postgres12 --ep "${POSTGRES_SEEDS:-postgres}" -p "${DB_PORT:-5432}" -u "${POSTGRES_USER:-temporal}" "$@"; }
schemas=/etc/temporal/schema/postgresql/v12
for pair in "${DBNAME:-temporal}:temporal" "${VISIBILITY_DBNAME:-temporal_visibility}:visibility"; do
  db="${pair%%:*}"; schema="${pair#*:}"
  # An existing database is left as it is (the tool refuses to create it twice).
  sql --db "$db" create-database 2>/dev/null || echo "database $db exists"
  sql --db "$db" setup-schema -v 0.0
  sql --db "$db" update-schema -d "$schemas/$schema/versioned"
  echo "schema of $db is current"
done
