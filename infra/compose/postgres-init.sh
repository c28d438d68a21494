#!/bin/bash
# Runs once, on the first start of an empty Postgres volume (docker-entrypoint-initdb.d).
# Two databases on one server: `commons` (the app, owned by the commons role) and Temporal's
# (`temporal` + `temporal_visibility`, created by the temporal-schema one-shot with the temporal role).
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  --set commons_pw="$COMMONS_DB_PASSWORD" --set temporal_pw="$TEMPORAL_DB_PASSWORD" <<'SQL'
CREATE ROLE commons LOGIN PASSWORD :'commons_pw';
CREATE DATABASE commons OWNER commons;
CREATE ROLE temporal LOGIN CREATEDB PASSWORD :'temporal_pw';
SQL
