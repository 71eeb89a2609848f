-- Ledger import (seed 000 section 2.3): bank and card CSV exports in UTF-8
-- and CP949, comma and tab separated, quoted fields; column mapping from
-- names and sample values with confidences; preview with row errors; an
-- all-or-nothing commit with an optional mapping override; a file imported
-- twice adds nothing the second time.  Fixtures: regress/data/ledger.
\getenv abs_srcdir PG_ABS_SRCDIR
\set data :abs_srcdir '/data/ledger/'
CREATE FUNCTION public.ledger_try(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN regexp_replace(SQLSTATE || ': ' || SQLERRM, 'import [0-9]+', 'import N', 'g');
END
$$;
CREATE FUNCTION public.ledger_try_detail(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    d text;
BEGIN
    EXECUTE q;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL;
    RETURN SQLSTATE || ': ' || SQLERRM || ' / ' || d;
END
$$;
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'regress_ledger') THEN
        CREATE ROLE regress_ledger LOGIN IN ROLE stockking_api;
    END IF;
END
$$;
-- a trusted SQL client: it states the caller in request.user_id (the proxy's
-- role proves it with a token instead: regress/sql/identity.sql)
DO $$ BEGIN
    IF NOT pg_has_role('regress_ledger', 'stockking_service', 'MEMBER') THEN
        GRANT stockking_service TO regress_ledger;
    END IF;
END $$;
CREATE FUNCTION public.ledger_as(email text) RETURNS void LANGUAGE sql SECURITY DEFINER AS $$
    SELECT set_config('request.user_id', (SELECT id::text FROM stockking.users u WHERE u.email = ledger_as.email), false),
           set_config('request.role', (SELECT role FROM stockking.users u WHERE u.email = ledger_as.email), false);
$$;
-- the fixtures, read by the superuser and handed to the API as the proxy would
CREATE TABLE public.ledger_file (name text PRIMARY KEY, body bytea);
INSERT INTO ledger_file
SELECT f, pg_read_binary_file(:'data' || f)
  FROM unnest(ARRAY['bank_utf8.csv', 'card_cp949.csv', 'bad_rows.tsv', 'mapping_override.csv', 'no_header.csv']) f;
INSERT INTO ledger_file VALUES ('empty', ''), ('binary', '\x00ff00fe0102'::bytea);
GRANT SELECT ON ledger_file TO PUBLIC;
CREATE FUNCTION public.upload(f text) RETURNS jsonb LANGUAGE sql AS $$
    SELECT api.ledger_import_create('{"content_type": "text/csv"}', (SELECT body FROM public.ledger_file WHERE name = f)) $$;
-- a preview without what changes from run to run
CREATE FUNCTION public.preview(r jsonb) RETURNS jsonb LANGUAGE sql AS $$
    SELECT r - 'id' - 'created_at' - 'same_file_as' - 'sample' || jsonb_build_object('same_file', r ->> 'same_file_as' IS NOT NULL) $$;
GRANT EXECUTE ON FUNCTION public.ledger_try(text), public.ledger_try_detail(text), public.ledger_as(text), public.upload(text),
    public.preview(jsonb) TO PUBLIC;

SELECT octet_length(body) AS bytes, name FROM ledger_file ORDER BY name;
-- the CP949 fixture is not UTF-8, and says 이용일자 in CP949
SELECT name, convert_from(body, 'UTF8') IS NOT NULL FROM ledger_file WHERE name = 'bank_utf8.csv';
SELECT ledger_try($$SELECT convert_from(body, 'UTF8') FROM ledger_file WHERE name = 'card_cp949.csv'$$) AS not_utf8;
SELECT split_part(convert_from(body, 'UHC'), ',', 1) AS first_name FROM ledger_file WHERE name = 'card_cp949.csv';

SELECT stockking.create_user('import-kid@example.com', 'correct horse', 'CHILD', '민준') IS NOT NULL AS kid,
       stockking.create_user('import-other@example.com', 'correct horse', 'CHILD', '서연') IS NOT NULL AS other_kid;
SET SESSION AUTHORIZATION regress_ledger;
SELECT ledger_try($$SELECT upload('bank_utf8.csv')$$) AS anonymous;
SELECT ledger_as('import-kid@example.com');

-- a bank export in UTF-8: account details above the header, withdrawal and deposit columns,
-- quoted amounts with commas, a memo with a comma and a line break, CRLF lines
SELECT upload('bank_utf8.csv') AS r \gset bank_
SELECT jsonb_pretty(preview(:'bank_r'));
SELECT jsonb_pretty(:'bank_r'::jsonb -> 'sample');
SELECT (:'bank_r'::jsonb ->> 'id')::bigint AS bank_id \gset
SELECT r - 'id' AS committed FROM api.ledger_import_commit(jsonb_build_object('id', :bank_id)) r;
SELECT ledger_try(format('SELECT api.ledger_import_commit(''{"id": %s}'')', :bank_id)) AS commit_twice;
SELECT e ->> 'date' AS date, e ->> 'kind' AS kind, e ->> 'amount' AS amount, e ->> 'merchant' AS merchant,
       e ->> 'category' AS category, e ->> 'memo' AS memo, e ->> 'source' AS source
  FROM jsonb_array_elements(api.ledger_entries('{"limit": 100}') -> 'items') e;

-- the same file again: every row is a duplicate, and the commit adds nothing
SELECT upload('bank_utf8.csv') AS r \gset again_
SELECT r -> 'rows' AS rows, r -> 'duplicates' AS duplicates, r -> 'same_file_as' IS NOT NULL AS same_file,
       r -> 'sample' -> 0 -> 'duplicate' AS first_is_duplicate
  FROM (SELECT :'again_r'::jsonb AS r) x;
SELECT r - 'id' AS committed FROM api.ledger_import_commit(jsonb_build_object('id', (:'again_r'::jsonb ->> 'id')::bigint)) r;
SELECT jsonb_array_length(api.ledger_entries('{"limit": 100}') -> 'items') AS entries;

-- a card export in CP949 (EUC-KR): detected, converted; a negative amount is a refund (INCOME)
SELECT upload('card_cp949.csv') AS r \gset card_
SELECT jsonb_pretty(preview(:'card_r'));
SELECT r -> 'inserted' AS inserted
  FROM api.ledger_import_commit(jsonb_build_object('id', (:'card_r'::jsonb ->> 'id')::bigint)) r;
SELECT e ->> 'date' AS date, e ->> 'kind' AS kind, e ->> 'amount' AS amount, e ->> 'merchant' AS merchant,
       e ->> 'category' AS category, e ->> 'memo' AS memo
  FROM jsonb_array_elements(api.ledger_entries('{"from": "2025-05-03", "to": "2025-05-15", "limit": 100}') -> 'items') e
 WHERE e ->> 'import_id' = :'card_r'::jsonb ->> 'id';

-- bad rows, tab separated: each error with its line; the commit is all or nothing
SELECT upload('bad_rows.tsv') AS r \gset bad_
SELECT r -> 'delimiter' AS delimiter, r -> 'mapping' AS mapping, r -> 'rows' AS rows, r -> 'valid' AS valid,
       r -> 'errors' AS errors FROM (SELECT :'bad_r'::jsonb AS r) x;
SELECT e ->> 'line' AS line, e ->> 'error' AS error FROM jsonb_array_elements(:'bad_r'::jsonb -> 'row_errors') e;
SELECT ledger_try_detail(format('SELECT api.ledger_import_commit(''{"id": %s}'')', :'bad_r'::jsonb ->> 'id')) AS refused;
SELECT jsonb_array_length(api.ledger_entries('{"limit": 100}') -> 'items') AS entries_unchanged;
SELECT r - 'id' - 'mapping' AS committed
  FROM api.ledger_import_commit(jsonb_build_object('id', (:'bad_r'::jsonb ->> 'id')::bigint, 'skip_invalid', true)) r;

-- a mapping override: the detected amount column is the cost price; the sale price is meant
SELECT upload('mapping_override.csv') AS r \gset ovr_
SELECT r -> 'columns' AS columns, r -> 'mapping' AS mapping FROM (SELECT :'ovr_r'::jsonb AS r) x;
SELECT (:'ovr_r'::jsonb ->> 'id')::bigint AS ovr_id \gset
SELECT ledger_try(format('SELECT api.ledger_import_commit(%L)', jsonb_build_object('id', :ovr_id, 'mapping', jsonb_build_object('amount', 9)))) AS no_such_column;
SELECT ledger_try(format('SELECT api.ledger_import_commit(%L)', jsonb_build_object('id', :ovr_id, 'mapping', jsonb_build_object('date', '없는열')))) AS no_such_name;
SELECT ledger_try(format('SELECT api.ledger_import_commit(%L)', jsonb_build_object('id', :ovr_id, 'mapping', jsonb_build_object('bogus', 1)))) AS unknown_role;
SELECT ledger_try(format('SELECT api.ledger_import_commit(%L)', jsonb_build_object('id', :ovr_id, 'mapping', jsonb_build_object('date', null)))) AS no_date;
SELECT ledger_try(format('SELECT api.ledger_import_commit(%L)', jsonb_build_object('id', :ovr_id, 'mapping', jsonb_build_object('negative', 'maybe')))) AS bad_negative;
SELECT ledger_try(format('SELECT api.ledger_import_commit(%L)', jsonb_build_object('id', :ovr_id, 'mapping', 'x'))) AS not_an_object;
SELECT r -> 'inserted' AS inserted, r -> 'mapping' AS mapping
  FROM api.ledger_import_commit(jsonb_build_object('id', :ovr_id, 'mapping', jsonb_build_object('amount', '판매가'))) r;
SELECT e ->> 'amount' AS amount, e ->> 'merchant' AS merchant, e ->> 'category' AS category
  FROM jsonb_array_elements(api.ledger_entries('{"from": "2025-05-01", "to": "2025-05-02", "limit": 100}') -> 'items') e
 WHERE e ->> 'import_id' = :'ovr_id';

-- no recognisable column: the preview says what is missing; the commit needs an override
SELECT preview(upload('no_header.csv')) - 'columns' AS preview;
SELECT ledger_try(format('SELECT api.ledger_import_commit(''{"id": %s}'')',
                         (SELECT max(id) FROM jsonb_to_record(upload('no_header.csv')) AS r (id bigint)))) AS missing_mapping;
-- files that are not CSV text
SELECT ledger_try($$SELECT upload('empty')$$) AS empty;
SELECT ledger_try($$SELECT api.ledger_import_create('{}', NULL)$$) AS no_body;
SELECT ledger_try($$SELECT upload('binary')$$) AS binary_file;
SELECT ledger_try($$SELECT api.ledger_import_create('{}', convert_to(E'\n\n\n', 'UTF8'))$$) AS blank_lines;

-- another child neither reads nor commits the kid's import
SELECT ledger_as('import-other@example.com');
SELECT ledger_try(format('SELECT api.ledger_import_get(''{"id": %s}'')', :bank_id)) AS other_reads;
SELECT ledger_try(format('SELECT api.ledger_import_commit(''{"id": %s}'')', :ovr_id)) AS other_commits;
SELECT ledger_as('import-kid@example.com');
SELECT r -> 'status' AS status, r -> 'inserted' AS inserted, r -> 'duplicates' AS duplicates
  FROM api.ledger_import_get(jsonb_build_object('id', :bank_id)) r;

-- quoting follows PostgreSQL's CSV parser (COPY, issue 8): text after a closing quote is kept ("떡볶"이 is
-- 떡볶이), "" inside quotes is a quote, a quoted line break (CRLF here) is kept as LF, spaces around a field
-- are dropped; an unterminated quote is SK108 naming its line
SELECT s ->> 'line' AS line, s ->> 'merchant' AS merchant, s ->> 'amount' AS amount
  FROM jsonb_array_elements(api.ledger_import_create('{}', convert_to(
           E'날짜,내용,금액\r\n2025-05-01,"떡볶"이,3000\r\n2025-05-02,"김밥 ""천국""",4000\r\n2025-05-03,"줄\r\n바꿈",1000\r\n2025-05-04, "  순대 " ,2000\r\n',
           'UTF8')) -> 'sample') s;
SELECT ledger_try($$SELECT api.ledger_import_create('{}', convert_to(E'날짜,내용,금액\n2025-05-01,떡볶이,3000\n2025-05-02,"김밥,4000\n', 'UTF8'))$$)
       AS unterminated;

-- fingerprints (issue 8): the first 128 bits of SHA-256 over a canonical text of the row (date, kind,
-- amount, the description as the file has it) and its occurrence among equal rows: the same on every
-- machine.  Checked against sha256() over the same bytes; the bank file's two CGV rows are occurrences 1, 2.
RESET SESSION AUTHORIZATION;
CREATE TEMP TABLE file_row (import text, entry_date date, kind text, amount bigint, description text, occurrence integer);
INSERT INTO file_row VALUES
    ('bank', '2025-05-02', 'EXPENSE', 4500, '스타벅스 강남점', 1), ('bank', '2025-05-02', 'EXPENSE', 1700, 'GS25 역삼점', 1),
    ('bank', '2025-05-03', 'INCOME', 50000, '용돈', 1), ('bank', '2025-05-05', 'EXPENSE', 12000, 'CGV 용산', 1),
    ('bank', '2025-05-05', 'EXPENSE', 12000, 'CGV 용산', 2), ('bank', '2025-05-10', 'EXPENSE', 15000, '교보문고 광화문', 1),
    ('bank', '2025-05-12', 'EXPENSE', 1450, '버스', 1), ('bank', '2025-05-20', 'EXPENSE', 18000, '배달의민족', 1),
    ('bank', '2025-05-25', 'INCOME', 12, '예금이자', 1),
    ('card', '2025-05-03', 'EXPENSE', 5000, '다이소 신촌점', 1), ('card', '2025-05-04', 'EXPENSE', 12900, '올리브영', 1),
    ('card', '2025-05-06', 'EXPENSE', 7900, '맥도날드 신촌점', 1), ('card', '2025-05-08', 'INCOME', 12900, '쿠팡', 1),
    ('card', '2025-05-09', 'EXPENSE', 2300, '세븐일레븐', 1), ('card', '2025-05-11', 'EXPENSE', 9800, '카카오T', 1),
    ('card', '2025-05-15', 'EXPENSE', 3000, '알 수 없는 가게', 1);
CREATE TEMP VIEW file_entry AS
SELECT f.*, e.id, e.fingerprint, e.merchant, e.memo, e.legacy_fingerprint
  FROM file_row f
  JOIN (SELECT e.*, CASE WHEN e.import_id = :bank_id THEN 'bank' ELSE 'card' END AS import,
               row_number() OVER (PARTITION BY e.import_id, e.entry_date, e.kind, e.amount ORDER BY e.id) AS occurrence
          FROM stockking.ledger_entry e
         WHERE e.import_id IN (:bank_id, (:'card_r'::jsonb ->> 'id')::bigint)) e USING (import, entry_date, kind, amount, occurrence);
SELECT import, description, occurrence,
       fingerprint = stockking.ledger_row_fingerprint(entry_date, kind, amount, description, occurrence) AS of_the_row,
       fingerprint = encode(substring(sha256(convert_to('stockking-ledger-row-2', 'UTF8') || '\x00'::bytea
                                             || convert_to(to_char(entry_date, 'YYYY-MM-DD'), 'UTF8') || '\x00'::bytea
                                             || convert_to(kind, 'UTF8') || '\x00'::bytea || convert_to(amount::text, 'UTF8')
                                             || '\x00'::bytea || convert_to(description, 'UTF8') || '\x00'::bytea
                                             || convert_to(occurrence::text, 'UTF8')) FROM 1 FOR 16), 'hex')::uuid AS by_sha256
  FROM file_entry ORDER BY id;
SELECT stockking.ledger_row_fingerprint('2025-05-05', 'EXPENSE', 12000, 'CGV 용산', 1) AS cgv_1,
       stockking.ledger_row_fingerprint('2025-05-05', 'EXPENSE', 12000, 'CGV 용산', 2) AS cgv_2;
SELECT ledger_try($$SELECT stockking.ledger_row_fingerprint('2025-05-05', 'REFUND', 1, '', 1)$$) AS bad_kind,
       ledger_try($$SELECT stockking.ledger_row_fingerprint('2025-05-05', 'EXPENSE', 1, '', 0)$$) AS bad_occurrence;

-- running stockking.ledger_refingerprint() on entries made by this release changes nothing: it reads
-- only legacy_fingerprint, so the bank file's rows, whose SHA-256 fingerprints it could not prove
-- (their description named a merchant and the file has a memo column), are not taken for 0.1.0's
SELECT stockking.ledger_refingerprint() AS on_this_release;
SELECT count(*) FILTER (WHERE legacy_fingerprint IS NULL
                          AND fingerprint = stockking.ledger_row_fingerprint(entry_date, kind, amount, description, occurrence))
       AS unchanged
  FROM file_entry;

-- the upgrade from 0.1.0: the bank and card rows as 0.1.0 fingerprinted them (hash_bytes_extended), moved to
-- legacy_fingerprint as the upgrade script moves every fingerprint 0.1.0 stored; then
-- stockking.ledger_refingerprint() proves each against a description the entry kept and gives it its SHA-256
-- fingerprint.  The bank file maps a memo column, so where its description named a known merchant
-- ("스타벅스 강남점" is now 스타벅스 with the file's memo) nothing kept it: those 5 keep only their 0.1.0
-- fingerprint (unverified).
UPDATE stockking.ledger_entry e
   SET legacy_fingerprint = stockking.ledger_row_fingerprint_v1(f.entry_date, f.kind, f.amount, f.description, f.occurrence),
       fingerprint = NULL
  FROM file_entry f WHERE e.id = f.id;
SELECT import, description, merchant, memo FROM file_entry
 WHERE legacy_fingerprint = stockking.ledger_row_fingerprint_v1(entry_date, kind, amount, description, occurrence)
   AND fingerprint IS NULL ORDER BY id;
SELECT stockking.ledger_refingerprint() AS upgrade;
SELECT import, description,
       fingerprint IS NOT DISTINCT FROM stockking.ledger_row_fingerprint(entry_date, kind, amount, description, occurrence) AS sha256,
       legacy_fingerprint IS NOT DISTINCT FROM stockking.ledger_row_fingerprint_v1(entry_date, kind, amount, description, occurrence) AS legacy
  FROM file_entry ORDER BY id;
SELECT stockking.ledger_refingerprint() AS again;
-- the import gives every row of the file its 0.1.0 fingerprint too, as 0.1.0 made it: the unverified
-- entries have those of their rows
SELECT x.line, f.description,
       x.legacy_fingerprint = stockking.ledger_row_fingerprint_v1(x.entry_date, x.kind, x.amount, f.description, f.occurrence) AS as_0_1_0,
       EXISTS (SELECT 1 FROM file_entry e WHERE e.legacy_fingerprint = x.legacy_fingerprint) AS an_unverified_entry
  FROM (SELECT x.*, row_number() OVER (PARTITION BY x.entry_date, x.kind, x.amount ORDER BY x.line)::integer AS occurrence
          FROM ledger_file b, stockking.ledger_csv_rows(b.body, (SELECT mapping FROM stockking.ledger_import WHERE id = :bank_id),
                                                        '2025-06-18') x
         WHERE b.name = 'bank_utf8.csv') x
  JOIN file_row f ON f.import = 'bank' AND (f.entry_date, f.kind, f.amount, f.occurrence) = (x.entry_date, x.kind, x.amount, x.occurrence)
 ORDER BY x.line;
-- release 0.1.0's declaration of ledger_csv_rows (nine columns), which runs against this library between
-- its installation and ALTER EXTENSION UPDATE, gets 0.1.0's fingerprints in its fingerprint column: what
-- 0.1.0 stored, and what the upgrade takes every stored fingerprint for
CREATE FUNCTION pg_temp.ledger_csv_rows_0_1_0(body bytea, mapping jsonb, reference_date date)
    RETURNS TABLE (line integer, entry_date date, kind text, amount bigint, merchant text, category text, memo text,
                   fingerprint uuid, error text)
    AS '$libdir/stockking', 'stockking_ledger_csv_rows' LANGUAGE C STABLE;
SELECT name, count(*) AS rows, count(*) FILTER (WHERE o.fingerprint = x.legacy_fingerprint) AS fingerprint_of_0_1_0
  FROM (SELECT name, body, stockking.ledger_csv_inspect(body, NULL) -> 'mapping' AS m FROM ledger_file
         WHERE name IN ('bank_utf8.csv', 'card_cp949.csv')) b,
       stockking.ledger_csv_rows(b.body, b.m, '2025-06-18') x,
       pg_temp.ledger_csv_rows_0_1_0(b.body, b.m, '2025-06-18') o
 WHERE o.line = x.line GROUP BY 1 ORDER BY 1;

-- the same files with new rows: a third CGV ticket on 5 May and a coffee on 28 May; a purchase on 16 May
INSERT INTO ledger_file
SELECT 'bank_more.csv', body || convert_to(E'"2025-05-05 10:00:00","CGV 용산","12,000","","73,362","어린이날 영화"\r\n'
                                           '"2025-05-28 08:30:00","스타벅스 강남점","4,500","","68,862",""\r\n', 'UTF8')
  FROM ledger_file WHERE name = 'bank_utf8.csv'
UNION ALL
SELECT 'card_more.csv', body || convert_to(E'2025.05.16,다이소 신촌점,3000,생활\n', 'UHC')
  FROM ledger_file WHERE name = 'card_cp949.csv';

-- importing the old files again after the upgrade: every row is in the ledger already, proven (card) or by
-- its 0.1.0 fingerprint (bank), so the preview counts them all as duplicates and the commit adds nothing
SET SESSION AUTHORIZATION regress_ledger;
SELECT ledger_as('import-kid@example.com');
SELECT jsonb_array_length(api.ledger_entries('{"limit": 100}') -> 'items') AS entries_before \gset
SELECT upload('card_cp949.csv') AS r \gset card_again_
SELECT upload('bank_utf8.csv') AS r \gset bank_again_
SELECT f AS file, r -> 'rows' AS rows, r -> 'duplicates' AS duplicates,
       (SELECT bool_and((s ->> 'duplicate')::boolean) FROM jsonb_array_elements(r -> 'sample') s) AS each_a_duplicate
  FROM (VALUES ('card', :'card_again_r'::jsonb), ('bank', :'bank_again_r'::jsonb)) v (f, r);
SELECT f AS file, c - 'id' - 'mapping' AS committed
  FROM (VALUES ('card', :'card_again_r'::jsonb), ('bank', :'bank_again_r'::jsonb)) v (f, r),
       api.ledger_import_commit(jsonb_build_object('id', (r ->> 'id')::bigint)) c;
SELECT jsonb_array_length(api.ledger_entries('{"limit": 100}') -> 'items') - :entries_before AS entries_added;
-- the files with new rows: only those are new, and only those are added
SELECT upload('bank_more.csv') AS r \gset bank_more_
SELECT upload('card_more.csv') AS r \gset card_more_
SELECT f AS file, r -> 'rows' AS rows, r -> 'duplicates' AS duplicates,
       (SELECT jsonb_agg(s - 'line' - 'duplicate' - 'kind' ORDER BY (s ->> 'line')::integer) FROM jsonb_array_elements(r -> 'sample') s
         WHERE NOT (s ->> 'duplicate')::boolean) AS new_rows
  FROM (VALUES ('bank', :'bank_more_r'::jsonb), ('card', :'card_more_r'::jsonb)) v (f, r);
SELECT f AS file, c - 'id' - 'mapping' AS committed
  FROM (VALUES ('bank', :'bank_more_r'::jsonb), ('card', :'card_more_r'::jsonb)) v (f, r),
       api.ledger_import_commit(jsonb_build_object('id', (r ->> 'id')::bigint)) c;
SELECT e ->> 'date' AS date, e ->> 'amount' AS amount, e ->> 'merchant' AS merchant, e ->> 'memo' AS memo
  FROM jsonb_array_elements(api.ledger_entries('{"limit": 100}') -> 'items') e
 WHERE (e ->> 'import_id')::bigint IN ((:'bank_more_r'::jsonb ->> 'id')::bigint, (:'card_more_r'::jsonb ->> 'id')::bigint)
 ORDER BY 1, 2;
SELECT upload('bank_more.csv') -> 'duplicates' AS bank_more_duplicates, upload('card_more.csv') -> 'duplicates' AS card_more_duplicates;

-- the monthly summary follows every import: May 2025 by category
SELECT jsonb_pretty(api.ledger_summary('{"month": "2025-05"}') - 'user_id' - 'budgets');
RESET SESSION AUTHORIZATION;
SELECT stockking.ledger_refresh_summary() AS nothing_drifted;
SELECT count(*) AS previews_left, count(*) FILTER (WHERE body IS NOT NULL) AS bodies_kept
  FROM stockking.ledger_import WHERE status = 'PREVIEW';

-- clean up
DELETE FROM stockking.ledger_entry WHERE user_id IN (SELECT id FROM stockking.users WHERE email LIKE 'import-%@example.com');
DELETE FROM stockking.ledger_import WHERE user_id IN (SELECT id FROM stockking.users WHERE email LIKE 'import-%@example.com');
WITH u AS (DELETE FROM stockking.users WHERE email LIKE 'import-%@example.com' RETURNING family_id)
DELETE FROM stockking.family WHERE id IN (SELECT family_id FROM u);
DROP FUNCTION public.ledger_try(text), public.ledger_try_detail(text), public.ledger_as(text), public.upload(text),
    public.preview(jsonb);
DROP TABLE public.ledger_file;
