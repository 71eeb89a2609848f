#!/bin/sh
# Ledger bench (not a test): the Korean sentence parser's sentences per
# second on one core, and the CSV import's rows per second for a generated
# 100,000-row bank export, against a running stack (docker/cluster.sh; the
# STOCKKING_INSTANCE / STOCKKING_PGPORT variables choose which).  Prints a
# table and one line per figure for scripts:
#   op=NAME n=N seconds=S per_sec=R
#
#   parse_core        stockking.ledger_bench(): the C parser in a loop over
#                     the sentences of regress/data/ledger/sentences.tsv (286),
#                     dictionaries cached: sentences per second per core
#   parse_sql_record  SELECT api.parse_ledger_text(text, date) over the same
#                     sentences: the SQL-callable record form, one backend
#   parse_sql_jsonb   SELECT api.parse_ledger_text(jsonb): the HTTP route's form
#   import_preview    api.ledger_import_create(): decode, map, parse every row,
#                     count errors and duplicates, store the file
#   import_commit     api.ledger_import_commit(): parse again and insert every
#                     row (summary triggers included), committed
#   import_again      the same file uploaded and committed again: 0 rows added
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP"
eval "export $(sh docker/cluster.sh env)"
ROWS=${LEDGER_BENCH_ROWS:-100000}
LOOPS=${LEDGER_BENCH_LOOPS:-5000}
OUT=$TOP/bench/out
mkdir -p "$OUT"
chmod 755 "$OUT" 2>/dev/null || true
FILE=$OUT/ledger_${ROWS}.csv

# a bank export: account lines, a header, withdrawals and deposits, quoted amounts with commas
python3 - "$FILE" "$ROWS" <<'PY'
import datetime, random, sys
path, n = sys.argv[1], int(sys.argv[2])
rnd = random.Random(5)
shops = ["스타벅스 강남점", "GS25 역삼점", "CU 신촌점", "세븐일레븐 홍대점", "맥도날드 종로점", "다이소 신촌점",
         "올리브영 명동점", "교보문고 광화문점", "CGV 용산", "배달의민족", "쿠팡", "김밥천국", "파리바게뜨 잠실점",
         "이디야 역삼점", "메가커피", "버스", "지하철", "카카오T", "학원비", "동네 문구점", "약국", "편의점",
         "롯데리아", "버거킹", "투썸플레이스", "배스킨라빈스", "알 수 없는 가게", "PC방", "노래방", "서점"]
start = datetime.date(2024, 1, 1)
with open(path, "w", encoding="utf-8", newline="") as f:
    f.write('"OO은행 거래내역조회"\r\n"계좌번호","123-456-789012"\r\n\r\n')
    f.write('"거래일시","적요","출금액","입금액","잔액","메모"\r\n')
    balance = 10_000_000
    for i in range(n):
        d = start + datetime.timedelta(days=i * 600 // n)
        t = f"{rnd.randrange(24):02d}:{rnd.randrange(60):02d}:{rnd.randrange(60):02d}"
        if rnd.random() < 0.1:
            amt, desc = rnd.randrange(1, 100) * 1000, "용돈" if rnd.random() < 0.7 else "이자"
            balance += amt
            f.write(f'"{d} {t}","{desc}","","{amt:,}","{balance:,}",""\r\n')
        else:
            amt, desc = rnd.randrange(5, 500) * 100, rnd.choice(shops)
            balance -= amt
            f.write(f'"{d} {t}","{desc}","{amt:,}","","{balance:,}","메모 {i % 7}"\r\n')
PY
chmod 644 "$FILE"

"$(pg_config --bindir)/psql" -X -q -v ON_ERROR_STOP=1 -v file="$FILE" -v loops="$LOOPS" -v tsv="$TOP/regress/data/ledger/sentences.tsv" <<'SQL' | tee "$OUT/ledger_results.txt"
\pset tuples_only on
\pset format unaligned
CREATE TEMP TABLE s AS
SELECT array_agg(split_part(l, E'\t', 1) ORDER BY i) AS a
  FROM regexp_split_to_table(pg_read_file(:'tsv'), E'\n') WITH ORDINALITY AS t (l, i) WHERE i > 1 AND l <> '';
-- warm the dictionaries, then the parser alone
SELECT stockking.ledger_bench(a, '2025-06-18', 10) FROM s \gset warm_
SELECT r ->> 'parsed' AS n, r ->> 'seconds' AS sec, r ->> 'per_second' AS rate FROM s,
       stockking.ledger_bench(a, '2025-06-18', :loops) r \gset core_
SELECT format('op=parse_core n=%s seconds=%s per_sec=%s', :'core_n', :'core_sec', :'core_rate');
-- through the SQL functions, one backend
CREATE TEMP TABLE many AS SELECT t FROM s, unnest(a) t, generate_series(1, 1000) g;
SELECT count(*) AS n FROM many \gset many_
SELECT clock_timestamp() AS t0 \gset
SELECT count((api.parse_ledger_text(t, '2025-06-18')).amount) FROM many \gset ignore_
SELECT extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) AS sec \gset rec_
SELECT format('op=parse_sql_record n=%s seconds=%s per_sec=%s', :many_n, round(:rec_sec, 3), round(:many_n / :rec_sec));
SELECT clock_timestamp() AS t0 \gset
SELECT count(api.parse_ledger_text(jsonb_build_object('text', t, 'reference_date', '2025-06-18')) -> 'amount') FROM many \gset ignore_
SELECT extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) AS sec \gset js_
SELECT format('op=parse_sql_jsonb n=%s seconds=%s per_sec=%s', :many_n, round(:js_sec, 3), round(:many_n / :js_sec));

-- the import, as a bench child (row-level security applies as through the proxy)
SELECT set_config('request.user_id', stockking.create_user('ledger-bench-' || md5(random()::text) || '@example.com',
                  'bench password', 'CHILD', 'bench')::text, false) AS uid \gset
SELECT set_config('request.role', 'CHILD', false) \gset ignore_
CREATE TEMP TABLE f AS SELECT pg_read_binary_file(:'file') AS body;
SELECT octet_length(body) AS bytes FROM f \gset
SELECT clock_timestamp() AS t0 \gset
SELECT r ->> 'id' AS id, r ->> 'rows' AS rows, r ->> 'errors' AS errors FROM f, api.ledger_import_create('{}', body) r \gset imp_
SELECT extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) AS sec \gset pre_
SELECT format('op=import_preview n=%s seconds=%s per_sec=%s bytes=%s errors=%s', :imp_rows, round(:pre_sec, 3),
              round(:imp_rows / :pre_sec), :bytes, :imp_errors);
SELECT clock_timestamp() AS t0 \gset
SELECT r ->> 'inserted' AS inserted FROM api.ledger_import_commit(jsonb_build_object('id', :imp_id)) r \gset com_
SELECT extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) AS sec \gset com_
SELECT format('op=import_commit n=%s seconds=%s per_sec=%s', :com_inserted, round(:com_sec, 3), round(:imp_rows / :com_sec));
SELECT format('op=import_total n=%s seconds=%s per_sec=%s', :imp_rows, round(:pre_sec + :com_sec, 3),
              round(:imp_rows / (:pre_sec + :com_sec)));
SELECT clock_timestamp() AS t0 \gset
SELECT r ->> 'id' AS id FROM f, api.ledger_import_create('{}', body) r \gset again_
SELECT r ->> 'inserted' AS inserted FROM api.ledger_import_commit(jsonb_build_object('id', :again_id)) r \gset again_
SELECT extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) AS sec \gset again_
SELECT format('op=import_again n=%s seconds=%s per_sec=%s inserted=%s', :imp_rows, round(:again_sec, 3),
              round(:imp_rows / :again_sec), :again_inserted);
SELECT format('check: summary rows %s, entries %s, summary equals entries: %s',
              (SELECT count(*) FROM stockking.ledger_monthly WHERE user_id = :'uid'),
              (SELECT count(*) FROM stockking.ledger_entry WHERE user_id = :'uid'),
              (SELECT sum(total) FROM stockking.ledger_monthly WHERE user_id = :'uid') =
              (SELECT sum(amount) FROM stockking.ledger_entry WHERE user_id = :'uid'));

-- clean up the bench child
RESET request.user_id;
RESET request.role;
DELETE FROM stockking.ledger_entry WHERE user_id = :'uid';
DELETE FROM stockking.ledger_import WHERE user_id = :'uid';
DELETE FROM stockking.users WHERE id = :'uid';
SQL
