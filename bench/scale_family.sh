#!/bin/sh
# The family scale bench (not a timed test): 100,000 children holding 10
# positions each.  On an instance of its own (docker/cluster.sh, instance
# "scale", fresh database), it writes the data (bench/scale_family_setup.sql),
# times the daily snapshot job, the leaderboard refresh, the monthly family
# summary and the leagues, and reads top 100 plus one's own rank, directly
# (bench/scale_family_run.sql) and through the proxy over HTTP.  Prints one
# line per measure, "measure=NAME ms=N", and leaves the instance stopped.
#
# Environment: SCALE_CHILDREN (100000), SCALE_POSITIONS (10),
# STOCKKING_INSTANCE (familyscale), STOCKKING_PGPORT (55491), STOCKKING_HTTP_PORT
# (18491), SCALE_KEEP=1 to leave the instance running.
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP"
export STOCKKING_INSTANCE=${STOCKKING_INSTANCE:-familyscale}
export STOCKKING_PGPORT=${STOCKKING_PGPORT:-55491}
export STOCKKING_HTTP_PORT=${STOCKKING_HTTP_PORT:-18491}
CHILDREN=${SCALE_CHILDREN:-100000}
POSITIONS=${SCALE_POSITIONS:-10}
OUT=bench/out
mkdir -p "$OUT"

# the proxy's rate limits raised for this run only
cat >"$OUT/proxy-scale.conf" <<CONF
# bench/scale_family.sh: limits raised for the run
rate_limit_login = 1000000/min
rate_limit_trading = 1000000/min
rate_limit_default = 1000000/min
CONF
STOCKKING_FRESH_DB=1 STOCKKING_PROXY_EXTRA_CONF="$TOP/$OUT/proxy-scale.conf" sh docker/cluster.sh start >/dev/null
if [ "${SCALE_KEEP:-0}" != 1 ]; then
    trap 'sh docker/cluster.sh stop >/dev/null' EXIT
fi
eval "export $(sh docker/cluster.sh env)"

echo "== scale bench: $CHILDREN children x $POSITIONS positions on $(nproc) cores"
start=$(date +%s)
psql -X -q -v ON_ERROR_STOP=1 -v children="$CHILDREN" -v positions="$POSITIONS" -f bench/scale_family_setup.sql \
    >"$OUT/scale_setup.log"
echo "setup: $(($(date +%s) - start)) s (the data written straight into the tables; log: $OUT/scale_setup.log)"

# one more child through the real sign-up, to read the leaderboard over HTTP
curl -fsS -X POST "$STOCKKING_HTTP/v1/auth/signup" \
    -d '{"email": "reader@bench.example.com", "password": "bench password", "role": "CHILD", "nickname": "reader"}' \
    >/dev/null

psql -X -q -v ON_ERROR_STOP=1 -f bench/scale_family_run.sql | grep -E '^(measure|rows)=?' | tee "$OUT/scale_family.txt"

# over HTTP: GET /v1/gamification/leaderboard?period=weekly (top 100 + own rank), 500 times, one connection
python3 - "$STOCKKING_HTTP" <<'PY' | tee -a "$OUT/scale_family.txt"
import http.client, json, sys, time, urllib.parse
base = urllib.parse.urlparse(sys.argv[1])
conn = http.client.HTTPConnection(base.hostname, base.port)
def req(method, path, body=None, token=None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = "Bearer " + token
    conn.request(method, path, json.dumps(body) if body is not None else None, headers)
    r = conn.getresponse()
    return r.status, json.loads(r.read() or b"null")
st, login = req("POST", "/v1/auth/login", {"email": "reader@bench.example.com", "password": "bench password"})
token = login["access_token"]
times = []
for i in range(500):
    t0 = time.perf_counter()
    st, body = req("GET", "/v1/gamification/leaderboard?period=weekly&limit=100", token=token)
    times.append((time.perf_counter() - t0) * 1000)
    assert st == 200 and len(body["items"]) == 100, (st, str(body)[:200])
times.sort()
print("measure=leaderboard_http_p50 ms=%.3f" % times[len(times) // 2])
print("measure=leaderboard_http_p99 ms=%.3f" % times[int(len(times) * 0.99)])
PY
