#!/bin/sh
# Runs once, when the official postgres image initialises the primary's data
# directory (/docker-entrypoint-initdb.d): the standby's replication role and
# its pg_hba line, a least-privilege monitoring role for vigil-exporter
# (pg_monitor reads every statistics view), and the demo app's database.
set -eu

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres <<SQL
CREATE ROLE replicator WITH REPLICATION LOGIN PASSWORD '$REPLICATION_PASSWORD';
CREATE ROLE vigil WITH LOGIN PASSWORD '$VIGIL_PG_PASSWORD';
GRANT pg_monitor TO vigil;
CREATE DATABASE app;
SQL

echo "host replication replicator all scram-sha-256" >>"$PGDATA/pg_hba.conf"
