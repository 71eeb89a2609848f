#!/bin/sh
# The project's own PostgreSQL cluster and proxy, under a project-local
# directory.  Used by the Makefile (run, test, stop, psql, bench) and by the
# Dockerfile.
#
#   cluster.sh start      init (once) and start PostgreSQL, create or update
#                         the database, the extension and the roles, load the
#                         market data, (re)start the proxy
#   cluster.sh start-pg   init (once) and start PostgreSQL alone (no database made)
#   cluster.sh restart-proxy   restart the proxy alone (new binary or configuration)
#   cluster.sh restart-pg      restart PostgreSQL alone (the proxy reconnects by itself)
#   cluster.sh rotate-secret   a new token secret: the current one becomes the
#                         previous (still verifying), the proxy reloads (SIGHUP)
#   cluster.sh backup [FILE]   pg_dump the database (default: .run/<instance>/backups/)
#   cluster.sh restore FILE    init (once) and start PostgreSQL, restore a backup
#                         into a new database, upgrade it, start the proxy
#   cluster.sh stop       stop the proxy and PostgreSQL (both cleanly)
#   cluster.sh psql [...] psql on the database as its owner
#   cluster.sh env        print the connection settings (PGHOST ...) as shell
#
# Environment: STOCKKING_INSTANCE (main), STOCKKING_RUN_DIR (<repo>/.run),
# STOCKKING_PGPORT (55432), STOCKKING_HTTP_PORT (8080), STOCKKING_FRESH_DB
# (1: drop and recreate the database on start; tests use it).
#
# PostgreSQL refuses to run as root: when run by root, the servers run as the
# unprivileged system user "stockking" (created if missing).
set -eu

TOP=$(cd "$(dirname "$0")/.." && pwd)
INSTANCE=${STOCKKING_INSTANCE:-main}
PGPORT=${STOCKKING_PGPORT:-55432}
HTTP_PORT=${STOCKKING_HTTP_PORT:-8080}
DB=stockking
PGBIN=$(pg_config --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)

if [ "$(id -u)" -eq 0 ]; then
    SERVER_USER=stockking
    if ! id "$SERVER_USER" >/dev/null 2>&1; then
        useradd --system --user-group --home-dir /nonexistent --shell /usr/sbin/nologin "$SERVER_USER"
    fi
    as_server() { runuser -u "$SERVER_USER" -- "$@"; }
else
    SERVER_USER=$(id -un)
    as_server() { "$@"; }
fi

# The run directory lives in the project unless the server user cannot reach
# it (a clone under a private home directory): then under /var/tmp.
RUN=${STOCKKING_RUN_DIR:-$TOP/.run}
if [ -z "${STOCKKING_RUN_DIR:-}" ] && [ "$(id -u)" -eq 0 ] && ! as_server test -x "$TOP"; then
    RUN=/var/tmp/stockking-$(printf '%s' "$TOP" | cksum | cut -d' ' -f1)
fi
DIR=$RUN/$INSTANCE
PGDATA=$DIR/pg

psql_owner() {
    "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$DIR" -p "$PGPORT" -U stockking "$@"
}

pg_running() {
    [ -f "$PGDATA/postmaster.pid" ] && as_server "$PGBIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1
}

init_cluster() {
    mkdir -p "$DIR"
    chown "$SERVER_USER" "$RUN" "$DIR" 2>/dev/null || true
    chmod 0700 "$DIR"
    if [ ! -f "$PGDATA/PG_VERSION" ]; then
        echo "cluster: initdb $PGDATA"
        as_server "$PGBIN/initdb" -D "$PGDATA" -U stockking -E UTF8 --locale=C \
            --auth-local=trust --auth-host=scram-sha-256 >"$DIR/initdb.log"
    fi
    # the project's settings live in stockking.conf (written on every start);
    # included last, so they win over anything above
    if ! grep -q "^include = 'stockking.conf'" "$PGDATA/postgresql.conf"; then
        as_server sh -c "echo \"include = 'stockking.conf'\" >> '$PGDATA/postgresql.conf'"
    fi
}

# The project's own settings; postgresql.conf keeps its defaults.  Written on
# every start, so a changed setting reaches an existing cluster too.
write_settings() {
    as_server sh -c "cat > '$PGDATA/stockking.conf.new'" <<EOF
# StockKing Kids (docker/cluster.sh writes this file on every start)
listen_addresses = '127.0.0.1'
port = $PGPORT
unix_socket_directories = '$DIR'
max_connections = 200
shared_buffers = 512MB
synchronous_commit = on
shared_preload_libraries = 'pg_cron'
cron.database_name = '$DB'
cron.timezone = 'Asia/Seoul'
# jobs run in background workers: no connection, so no password to keep
cron.use_background_workers = on
max_worker_processes = 16
timezone = 'Asia/Seoul'
# the proxy's token secrets (current, previous): the database verifies every
# caller's token itself; a missing previous file is skipped
stockking.jwt_secret_files = '$DIR/secrets/jwt_secret, $DIR/secrets/jwt_secret.previous'
logging_collector = off
log_min_messages = warning
EOF
    if cmp -s "$PGDATA/stockking.conf.new" "$PGDATA/stockking.conf"; then
        rm -f "$PGDATA/stockking.conf.new"
        return 1
    fi
    mv "$PGDATA/stockking.conf.new" "$PGDATA/stockking.conf"
    return 0
}

start_pg() {
    if write_settings && pg_running; then
        echo "cluster: settings changed, restarting PostgreSQL"
        as_server "$PGBIN/pg_ctl" -D "$PGDATA" -m fast -w restart -l "$DIR/postgresql.log" >/dev/null
    fi
    if pg_running; then
        return 0
    fi
    echo "cluster: starting PostgreSQL on port $PGPORT (socket in $DIR)"
    as_server "$PGBIN/pg_ctl" -D "$PGDATA" -l "$DIR/postgresql.log" -w -t 60 start >/dev/null
}

db_exists() {
    psql_owner -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1
}

drop_db() {
    psql_owner -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)"
    # pg_cron's scheduler stops when its database is dropped: restart so
    # that it starts again on the new one
    as_server "$PGBIN/pg_ctl" -D "$PGDATA" -m fast -w restart -l "$DIR/postgresql.log" >/dev/null
}

ext_version() {
    psql_owner -d "$DB" -tAc "SELECT extversion FROM pg_extension WHERE extname = 'stockking'"
}

setup_db() {
    if [ "${STOCKKING_FRESH_DB:-0}" = 1 ]; then
        drop_db
    fi
    if ! db_exists; then
        psql_owner -d postgres -c "CREATE DATABASE $DB"
    fi
    configure_db
}

# The database's extensions at the installed version (an older one is
# upgraded in place: ALTER EXTENSION ... UPDATE keeps every row), the
# proxy's role, the scheduled jobs, the market data, the courses and the
# news feed.  Idempotent.
configure_db() {
    before=$(ext_version)
    # The market data, the courses and the news feed are copied where the
    # server user can read them (a course file removed from data/ is
    # removed here too, so the load retires it).
    mkdir -p "$DIR/market-data/education" "$DIR/market-data/news"
    cp "$TOP"/data/*.csv "$DIR/market-data/"
    rm -f "$DIR/market-data/education/"*.json "$DIR/market-data/news/"*.json
    cp "$TOP"/data/education/*.json "$DIR/market-data/education/"
    cp "$TOP"/data/news/*.json "$DIR/market-data/news/"
    chown -R "$SERVER_USER" "$DIR/market-data"
    psql_owner -d "$DB" <<EOF
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_cron;
CREATE EXTENSION IF NOT EXISTS stockking CASCADE;
ALTER EXTENSION stockking UPDATE;
DO \$\$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'stockking_web') THEN
        CREATE ROLE stockking_web LOGIN;
    END IF;
END
\$\$;
GRANT stockking_api TO stockking_web;
\\pset tuples_only on
-- the scheduled jobs (pg_cron lives in this database); each install is idempotent
DO \$\$ BEGIN PERFORM stockking.install_jobs(); END \$\$;
SELECT 'cluster: market data ' || string_agg(format('%s %s bars (%s..%s)', k, v->>'rows', v->>'first', v->>'last'), ', ' ORDER BY k)
  FROM jsonb_each(stockking.load_market_data('$DIR/market-data')) AS e(k, v);
SELECT format('cluster: education %s courses, %s lessons, %s questions (%s files)', r->'courses'->>'rows',
              r->'lessons'->>'rows', r->'questions'->>'rows', r->>'files')
  FROM stockking.load_education('$DIR/market-data/education') r;
SELECT format('cluster: news %s items from %s (%s new, %s changed)', r->>'items', r->>'file', r->>'inserted', r->>'updated')
  FROM stockking.import_news('$DIR/market-data/news/economy-news.json') r;
EOF
    after=$(ext_version)
    if [ -n "$before" ] && [ "$before" != "$after" ]; then
        echo "cluster: extension stockking upgraded in place from $before to $after"
    fi
}

# A backup: pg_dump's custom format of the whole database.  Every table of
# the extension that holds data is registered for it (sql/97_dump.sql); the
# file name carries the extension's version, which a restore installs first.
backup() {
    mkdir -p "$DIR/backups"
    file=${1:-$DIR/backups/stockking-$(ext_version)-$(date -u +%Y%m%dT%H%M%SZ).dump}
    "$PGBIN/pg_dump" -h "$DIR" -p "$PGPORT" -U stockking -d "$DB" -Fc -f "$file"
    echo "cluster: backup written to $file"
}

# Restore a backup into this instance's database, which must not exist
# (STOCKKING_FRESH_DB=1 replaces it).  The extension is created at the
# backup's version (from its file name, or STOCKKING_RESTORE_VERSION), the
# rows are restored in one transaction, then the extension is upgraded to the
# installed version and the instance configured as by `start`.
restore() {
    file=$1
    [ -f "$file" ] || { echo "cluster: no backup file $file" >&2; exit 2; }
    if db_exists; then
        if [ "${STOCKKING_FRESH_DB:-0}" != 1 ]; then
            echo "cluster: the database $DB of instance $INSTANCE exists; restore into a new instance" \
                 "(STOCKKING_INSTANCE=...) or set STOCKKING_FRESH_DB=1 to replace it" >&2
            exit 2
        fi
        drop_db
    fi
    version=${STOCKKING_RESTORE_VERSION:-$(basename "$file" | sed -n 's/^stockking-\([0-9][0-9.]*[0-9]\)-.*/\1/p')}
    psql_owner -d postgres -c "CREATE DATABASE $DB"
    # Everything but the extension and its schema, which are made first at the
    # backup's version; one transaction (the users <-> account foreign keys
    # are checked at its commit), all or nothing.
    "$PGBIN/pg_restore" -l "$file" | grep -v -e ' SCHEMA - stockking ' -e ' EXTENSION - stockking' \
        -e ' COMMENT - EXTENSION stockking' -e ' COMMENT - SCHEMA stockking ' >"$DIR/restore.list"
    psql_owner -d "$DB" -c "SET client_min_messages = warning" -c "CREATE EXTENSION pgcrypto" \
        -c "CREATE EXTENSION stockking ${version:+VERSION '$version'}"
    "$PGBIN/pg_restore" -h "$DIR" -p "$PGPORT" -U stockking -d "$DB" --single-transaction --exit-on-error \
        -L "$DIR/restore.list" "$file"
    echo "cluster: restored $file (stockking ${version:-as installed})"
    configure_db
    # the materialized leaderboard is not in a dump: rebuild it now
    psql_owner -d "$DB" -tAc "SELECT stockking.refresh_leaderboard()" >/dev/null
}

secrets() {
    mkdir -p "$DIR/secrets"
    if [ ! -s "$DIR/secrets/jwt_secret" ]; then
        (umask 077; openssl rand -hex 32 >"$DIR/secrets/jwt_secret")
    fi
    chown -R "$SERVER_USER" "$DIR/secrets"
    chmod 0700 "$DIR/secrets"
    chmod 0600 "$DIR/secrets/jwt_secret"
}

# A new secret signs from now on; the one it replaces keeps verifying (the
# proxy for its jwt_rotation_grace, PostgreSQL while the file is there) so
# that no token already issued is refused.  Rotating again drops the oldest.
rotate_secret() {
    secrets
    (umask 077; openssl rand -hex 32 >"$DIR/secrets/jwt_secret.new")
    mv "$DIR/secrets/jwt_secret" "$DIR/secrets/jwt_secret.previous"
    mv "$DIR/secrets/jwt_secret.new" "$DIR/secrets/jwt_secret"
    chown "$SERVER_USER" "$DIR/secrets/jwt_secret" "$DIR/secrets/jwt_secret.previous"
    write_proxy_conf
    if [ -f "$DIR/proxy.pid" ] && kill -HUP "$(cat "$DIR/proxy.pid")" 2>/dev/null; then
        echo "cluster: token secret rotated; the proxy reloaded"
    else
        echo "cluster: token secret rotated (the proxy is not running)"
    fi
}

stop_proxy() {
    [ -f "$DIR/proxy.pid" ] || return 0
    pid=$(cat "$DIR/proxy.pid")
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid"
        i=0
        while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    fi
    rm -f "$DIR/proxy.pid"
}

write_proxy_conf() {
    cat >"$DIR/proxy.conf" <<EOF
# generated by docker/cluster.sh on every start
listen = ${STOCKKING_LISTEN:-127.0.0.1}:$HTTP_PORT
conninfo = host=$DIR port=$PGPORT dbname=$DB user=stockking_web application_name=stockking-proxy
jwt_secret_file = $DIR/secrets/jwt_secret
EOF
    if [ -f "$DIR/secrets/jwt_secret.previous" ]; then
        echo "jwt_previous_secret_file = $DIR/secrets/jwt_secret.previous" >>"$DIR/proxy.conf"
    fi
    # a run may raise limits for itself (bench/run.sh), never by default
    if [ -n "${STOCKKING_PROXY_EXTRA_CONF:-}" ]; then
        cat "$STOCKKING_PROXY_EXTRA_CONF" >>"$DIR/proxy.conf"
    fi
    chown "$SERVER_USER" "$DIR/proxy.conf"
}

start_proxy() {
    stop_proxy
    mkdir -p "$DIR/bin"
    cp "$TOP/proxy/stockking-proxy" "$DIR/bin/"
    write_proxy_conf
    chown -R "$SERVER_USER" "$DIR/bin"
    as_server sh -c "nohup '$DIR/bin/stockking-proxy' -c '$DIR/proxy.conf' >>'$DIR/proxy.log' 2>&1 & echo \$! >'$DIR/proxy.pid'"
    # /ready answers for the thread that accepted the connection (SO_REUSEPORT
    # spreads new connections over the threads): ten in a row mean every
    # thread's pool and event feed are up
    i=0
    ok=0
    while [ $ok -lt 10 ]; do
        if curl -fsS "http://127.0.0.1:$HTTP_PORT/ready" >/dev/null 2>&1; then
            ok=$((ok + 1))
            continue
        fi
        ok=0
        i=$((i + 1))
        if [ $i -gt 150 ]; then
            echo "cluster: the proxy did not become ready; its log:" >&2
            tail -20 "$DIR/proxy.log" >&2
            exit 1
        fi
        sleep 0.1
    done
    echo "cluster: proxy ready on http://127.0.0.1:$HTTP_PORT (log: $DIR/proxy.log)"
}

case "${1:-}" in
start)
    init_cluster
    secrets
    start_pg
    setup_db
    start_proxy
    ;;
start-pg)
    init_cluster
    secrets
    start_pg
    ;;
restart-proxy)
    start_proxy
    ;;
rotate-secret)
    rotate_secret
    ;;
backup)
    backup "${2:-}"
    ;;
restore)
    [ -n "${2:-}" ] || { echo "usage: $0 restore FILE" >&2; exit 2; }
    init_cluster
    secrets
    start_pg
    restore "$2"
    start_proxy
    ;;
restart-pg)
    # a fast restart of PostgreSQL alone; the proxy stays up and reconnects
    as_server "$PGBIN/pg_ctl" -D "$PGDATA" -m fast -w restart -l "$DIR/postgresql.log" >/dev/null
    ;;
stop)
    stop_proxy
    if pg_running; then
        as_server "$PGBIN/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null
        echo "cluster: stopped $INSTANCE"
    fi
    ;;
psql)
    shift
    exec "$PGBIN/psql" -X -h "$DIR" -p "$PGPORT" -U stockking -d "$DB" "$@"
    ;;
env)
    echo "PGHOST=$DIR PGPORT=$PGPORT PGUSER=stockking PGDATABASE=$DB STOCKKING_HTTP=http://127.0.0.1:$HTTP_PORT"
    ;;
*)
    echo "usage: $0 start|start-pg|restart-proxy|restart-pg|rotate-secret|backup [FILE]|restore FILE|stop|psql|env" >&2
    exit 2
    ;;
esac
