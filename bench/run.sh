#!/bin/sh
# `make bench`: the same operations through the proxy (wrk) and directly
# (pgbench, the same SQL the proxy sends, as the proxy's role), at the same
# concurrency, against the stack `make run` started.  Not a test: it prints
# a table and one line per operation for scripts:
#   op=NAME proxy_rps=N direct_tps=N ratio=R p99_ms=N
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP"
eval "export $(sh docker/cluster.sh env)"
CLIENTS=${BENCH_CLIENTS:-64}
THREADS=${BENCH_THREADS:-2}
DURATION=${BENCH_DURATION:-15}
OUT=bench/out
mkdir -p "$OUT"
PGBIN=$(pg_config --bindir)

curl -fsS "$STOCKKING_HTTP/ready" >/dev/null || { echo "bench: the stack is not running (make run)" >&2; exit 1; }

# the proxy with the bench's configuration: rate limits raised for the run
cat >"$OUT/proxy-bench.conf" <<CONF
# bench/run.sh: limits raised for load generation only; a pool of 4 per
# thread, which on 2 cores shared with the load generator and PostgreSQL
# keeps the database's run queue short (8 gives more throughput to none)
rate_limit_login = 1000000/min
rate_limit_trading = 1000000/min
rate_limit_default = 1000000/min
pool_size = ${BENCH_POOL_SIZE:-4}
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

run_proxy() {
    BENCH_OP=$1 BENCH_SEASON=$season BENCH_TOKENS="$TOP/$OUT/tokens.txt" BENCH_THREADS=$THREADS \
        wrk -t"$THREADS" -c"$CLIENTS" -d"$2"s --latency -s bench/wrk.lua "$STOCKKING_HTTP" | grep '^WRK'
}

run_direct() {
    rm -f "$OUT/pgb_$1".*
    "$PGBIN/pgbench" -n -M prepared -c "$CLIENTS" -j "$THREADS" -T "$2" -U stockking_web -D season="$season" \
        -f "bench/$1.sql" --log --log-prefix="$OUT/pgb_$1" stockking 2>/dev/null | awk -F'= ' '/^tps/ {print $2}' |
        awk '{print $1}'
}

: >"$OUT/results.txt"
for op in health portfolio order; do
    run_proxy "$op" 3 >/dev/null    # warm up both paths
    run_direct "$op" 3 >/dev/null
    proxy=$(run_proxy "$op" "$DURATION")
    direct_tps=$(run_direct "$op" "$DURATION")
    set -- $(pgbench_percentiles "$OUT/pgb_$op")
    direct_p50=$1
    direct_p99=$2
    proxy_rps=$(echo "$proxy" | sed 's/.*rps=\([0-9.]*\).*/\1/')
    proxy_p50=$(echo "$proxy" | sed 's/.*p50_ms=\([0-9.]*\).*/\1/')
    proxy_p99=$(echo "$proxy" | sed 's/.*p99_ms=\([0-9.]*\).*/\1/')
    errors=$(echo "$proxy" | sed 's/.*errors=\([0-9]*\).*/\1/')
    ratio=$(awk -v a="$proxy_rps" -v b="$direct_tps" 'BEGIN {printf "%.2f", a / b}')
    echo "$op $proxy_rps $proxy_p50 $proxy_p99 $direct_tps $direct_p50 $direct_p99 $ratio $errors" >>"$OUT/results.txt"
done

echo
echo "machine: $(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), $(free -g | awk '/Mem/ {print $2}') GiB;" \
    "$CLIENTS connections, $THREADS load threads, ${DURATION}s per run; synchronous_commit=$("$PGBIN/psql" -X -tA -c 'SHOW synchronous_commit')"
echo "(health: the proxy answers /health without the database; 'direct' is pgbench's SELECT 1, one database round trip)"
printf '%-10s %12s %9s %9s %12s %9s %9s %7s %7s\n' op proxy_rps p50_ms p99_ms direct_tps p50_ms p99_ms ratio errors
while read -r op a b c d e f g h; do
    printf '%-10s %12s %9s %9s %12s %9s %9s %7s %7s\n' "$op" "$a" "$b" "$c" "$d" "$e" "$f" "$g" "$h"
done <"$OUT/results.txt"
echo
while read -r op a b c d e f g h; do
    echo "op=$op proxy_rps=$a direct_tps=$d ratio=$g p99_ms=$c"
done <"$OUT/results.txt"
