#!/bin/sh
# `make bench`: each operation through the proxy (wrk, BENCH_CLIENTS HTTP
# connections) beside the same SQL called directly by pgbench -- the best the
# database can do: every transaction pipelined into one round trip
# (\startpipeline ... \endpipeline, prepared statements), as a trusted client
# that states the caller, once with the proxy's own number of database
# connections (threads x pool) and once with BENCH_CLIENTS connections.
# Against the stack `make run` started.  Not a test: it prints a table and one
# line per operation for scripts:
#   op=NAME proxy_rps=N direct_tps=N ratio=R direct64_tps=N ratio64=R p99_ms=N
# and fails if wrk saw any error (a failed or non-2xx request).
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP"
eval "export $(sh docker/cluster.sh env)"
CLIENTS=${BENCH_CLIENTS:-64}
THREADS=${BENCH_THREADS:-2}
DURATION=${BENCH_DURATION:-15}
POOL=${BENCH_POOL_SIZE:-4}
DB_CONNS=$((THREADS * POOL)) # the proxy's connections to PostgreSQL: a pool per thread
OUT=bench/out
mkdir -p "$OUT"
PGBIN=$(pg_config --bindir)

curl -fsS "$STOCKKING_HTTP/ready" >/dev/null || { echo "bench: the stack is not running (make run)" >&2; exit 1; }

# the proxy with the bench's configuration: rate limits raised for the run
cat >"$OUT/proxy-bench.conf" <<CONF
# bench/run.sh: limits raised for load generation only; a pool of $POOL per
# thread, which on 2 cores shared with the load generator and PostgreSQL
# keeps the database's run queue short (8 gives more throughput to none)
rate_limit_login = 1000000/min
rate_limit_trading = 1000000/min
rate_limit_default = 1000000/min
threads = $THREADS
pool_size = $POOL
CONF
STOCKKING_PROXY_EXTRA_CONF="$TOP/$OUT/proxy-bench.conf" sh docker/cluster.sh restart-proxy >/dev/null
trap 'sh docker/cluster.sh restart-proxy >/dev/null' EXIT

season=$("$PGBIN/psql" -X -q -tA -v ON_ERROR_STOP=1 -v clients="$CLIENTS" -f bench/setup.sql | tail -1)

# a bearer token per bench child, through the real log-in route
: >"$OUT/tokens.txt"
n=0
while [ $n -lt "$CLIENTS" ]; do
    curl -fsS -X POST "$STOCKKING_HTTP/v1/auth/login" \
        -d "{\"email\": \"bench-$n@example.com\", \"password\": \"bench password\"}" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])' >>"$OUT/tokens.txt"
    n=$((n + 1))
done

# p50 and p99 (ms) of pgbench's per-transaction log (3rd field: microseconds)
pgbench_percentiles() {
    cat "$1".* | awk '{print $3}' | sort -n | awk '{v[NR] = $1} END {
        printf "%.3f %.3f\n", v[int(NR * 0.50) + 1] / 1000, v[int(NR * 0.99) + 1] / 1000 }'
}

# run_proxy OP SECONDS: "WRK rps=... p50_ms=... p99_ms=... errors=... requests=..."
run_proxy() {
    BENCH_OP=$1 BENCH_SEASON=$season BENCH_TOKENS="$TOP/$OUT/tokens.txt" BENCH_THREADS=$THREADS \
        wrk -t"$THREADS" -c"$CLIENTS" -d"$2"s --latency -s bench/wrk.lua "$STOCKKING_HTTP" | grep '^WRK'
}

# run_direct SCRIPT CONNECTIONS SECONDS [ROLE]: "tps p50_ms p99_ms"
run_direct() {
    rm -f "$OUT/pgb_$1_$2".*
    tps=$("$PGBIN/pgbench" -n -M prepared -c "$2" -j "$THREADS" -T "$3" -U "${4:-stockking_bench}" \
        -D season="$season" -D token="$(head -1 "$OUT/tokens.txt")" \
        -f "bench/$1.sql" --log --log-prefix="$OUT/pgb_$1_$2" stockking 2>/dev/null |
        awk -F'= ' '/^tps/ {print $2}' | awk '{print $1}')
    echo "$tps $(pgbench_percentiles "$OUT/pgb_$1_$2")"
}

field() {
    echo "$1" | sed "s/.*$2=\([0-9.]*\).*/\1/"
}

: >"$OUT/results.txt"
for op in health portfolio order; do
    run_proxy "$op" 3 >/dev/null # warm up both paths
    run_direct "$op" "$DB_CONNS" 3 >/dev/null
    proxy=$(run_proxy "$op" "$DURATION")
    errors=$(field "$proxy" errors)
    if [ "$errors" != 0 ]; then
        echo "bench: wrk saw $errors errors on $op ($proxy); see $STOCKKING_HTTP's log" >&2
        exit 1
    fi
    set -- $(run_direct "$op" "$DB_CONNS" "$DURATION")
    direct="$1 $2 $3"
    set -- $(run_direct "$op" "$CLIENTS" "$DURATION")
    direct64="$1 $2 $3"
    echo "$op $(field "$proxy" rps) $(field "$proxy" p50_ms) $(field "$proxy" p99_ms) $direct $direct64" >>"$OUT/results.txt"
done
# the token check the proxy's calls pay: the portfolio read as the proxy's
# role sends it (request.jwt, verified by the database) at the proxy's
# connection count
set -- $(run_direct portfolio_jwt "$DB_CONNS" "$DURATION" stockking_web)
jwt_line="$1 $2 $3"

echo
echo "machine: $(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), $(free -g | awk '/Mem/ {print $2}') GiB;" \
    "synchronous_commit=$("$PGBIN/psql" -X -tA -c 'SHOW synchronous_commit'); ${DURATION}s per run"
echo "proxy: wrk $THREADS threads x $CLIENTS HTTP connections -> proxy $THREADS threads x pool $POOL = $DB_CONNS pipelined database connections"
printf '%s\n' "direct: pgbench -M prepared, one \\startpipeline..\\endpipeline round trip per transaction, $THREADS threads, $DB_CONNS connections (the proxy's) and $CLIENTS"
echo "(health: the proxy answers /health without the database; 'direct' is pgbench's SELECT 1, one database round trip)"
printf '%-10s %10s %8s %8s | %12s %8s %8s | %12s %8s %8s | %9s %9s\n' op proxy_rps p50_ms p99_ms \
    "direct@$DB_CONNS" p50_ms p99_ms "direct@$CLIENTS" p50_ms p99_ms "ratio@$DB_CONNS" "ratio@$CLIENTS"
while read -r op a b c d e f g h i; do
    r1=$(awk -v x="$a" -v y="$d" 'BEGIN {printf "%.2f", x / y}')
    r2=$(awk -v x="$a" -v y="$g" 'BEGIN {printf "%.2f", x / y}')
    printf '%-10s %10s %8s %8s | %12s %8s %8s | %12s %8s %8s | %9s %9s\n' "$op" "$a" "$b" "$c" "$d" "$e" "$f" "$g" "$h" "$i" "$r1" "$r2"
done <"$OUT/results.txt"
set -- $jwt_line
echo "portfolio as the proxy's role (request.jwt verified), $DB_CONNS connections: $1 tps, p50 $2 ms, p99 $3 ms"
echo
while read -r op a b c d e f g h i; do
    echo "op=$op proxy_rps=$a direct_tps=$d ratio=$(awk -v x="$a" -v y="$d" 'BEGIN {printf "%.2f", x / y}')" \
        "direct64_tps=$g ratio64=$(awk -v x="$a" -v y="$g" 'BEGIN {printf "%.2f", x / y}') p99_ms=$c"
done <"$OUT/results.txt"
set -- $jwt_line
echo "op=portfolio_jwt direct_tps=$1 p99_ms=$3"
