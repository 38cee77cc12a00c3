#!/bin/sh
# The streaming standby: on first start, copies the primary with
# pg_basebackup (retrying until the primary accepts it) and writes
# standby.signal and primary_conninfo (-R); afterwards just starts.
# Runs as the postgres user (docker-compose.yml sets `user: postgres`).
set -eu

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  until PGPASSWORD="$REPLICATION_PASSWORD" pg_basebackup \
      --host=postgres-primary --username=replicator \
      --pgdata="$PGDATA" --write-recovery-conf --wal-method=stream \
      --checkpoint=fast --no-password; do
    echo "replica: waiting for postgres-primary"
    rm -rf "${PGDATA:?}"/*
    sleep 2
  done
  chmod 0700 "$PGDATA"
fi

exec postgres -c hot_standby=on -c listen_addresses='*'
