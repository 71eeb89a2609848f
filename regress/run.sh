#!/bin/sh
# Every test suite, against the test instance `make test` started
# (docker/cluster.sh with STOCKKING_INSTANCE=test): pg_regress, isolation
# specs, then the proxy end-to-end tests over HTTP.  Prints one line
# "N passed, N failed" and exits non-zero on any failure.
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP"
eval "export $(sh docker/cluster.sh env)"
# pg_regress reads the market data from where the server can read it
export STOCKKING_DATA_DIR="$PGHOST/market-data"

passed=0
failed=0
count() {
    p=$(grep -cE '(^ok |\.\.\. ok)' "$1")
    f=$(grep -cE '(^not ok |\.\.\. FAILED|\.\.\. failed)' "$1")
    passed=$((passed + p))
    failed=$((failed + f))
}

mkdir -p regress/out
echo "== pg_regress and isolation specs"
make -s -C extension installcheck PGHOST="$PGHOST" PGPORT="$PGPORT" PGUSER="$PGUSER" >regress/out/installcheck.log 2>&1
status=$?
cat regress/out/installcheck.log
count regress/out/installcheck.log
if [ $status -ne 0 ] && [ -f regress/out/regression.diffs ]; then
    head -200 regress/out/regression.diffs
fi
[ $status -ne 0 ] && [ "$failed" -eq 0 ] && failed=1

echo "== proxy unit tests"
make -s -C proxy check >regress/out/proxy-unit.log 2>&1
status=$?
cat regress/out/proxy-unit.log
count regress/out/proxy-unit.log
[ $status -ne 0 ] && ! grep -q '^not ok' regress/out/proxy-unit.log && failed=$((failed + 1))

# end to end over HTTP: trading first (it uses the shipped replay season from
# its start), then every other suite (each makes its own users and seasons)
for t in regress/e2e/test_trading.py $(ls regress/e2e/test_*.py | grep -v test_trading.py); do
    name=$(basename "$t" .py)
    echo "== $name"
    python3 "$t" >"regress/out/$name.log" 2>&1
    status=$?
    cat "regress/out/$name.log"
    count "regress/out/$name.log"
    [ $status -ne 0 ] && ! grep -q '^not ok' "regress/out/$name.log" && failed=$((failed + 1))
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
