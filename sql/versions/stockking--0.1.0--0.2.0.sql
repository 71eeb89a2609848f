-- stockking 0.1.0 -> 0.2.0, in place: ALTER EXTENSION stockking UPDATE.
-- Every row stays.  A fresh install of 0.2.0 and an upgraded 0.1.0 have the
-- same catalog (regress/e2e/test_lifecycle.py compares them object by object).

\echo Use "ALTER EXTENSION stockking UPDATE" to load this file. \quit

-- ===== Roles (sql/00_base.sql) ==============================================
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'stockking_system') THEN
        CREATE ROLE stockking_system NOLOGIN NOSUPERUSER BYPASSRLS NOCREATEDB NOCREATEROLE NOINHERIT;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'stockking_service') THEN
        CREATE ROLE stockking_service NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE;
    END IF;
END
$$;
GRANT USAGE ON SCHEMA stockking, api TO stockking_system;

-- ===== Request identity: a verified token (sql/00_base.sql) =================
COMMENT ON FUNCTION stockking.uid() IS
    'the calling user''s id (the verified token''s sub, or request.user_id in a trusted session), NULL when anonymous; 28000 for a token that does not verify';

CREATE FUNCTION stockking.request_role() RETURNS text
    AS 'MODULE_PATHNAME', 'stockking_request_role' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION stockking.request_role() IS 'the calling user''s role: CHILD, PARENT or ADMIN; NULL when anonymous';

COMMENT ON FUNCTION stockking.is_admin() IS 'true for an ADMIN caller, or a superuser session (psql, pg_cron jobs)';

CREATE FUNCTION stockking.act_as(user_id uuid, role text) RETURNS void
    AS 'MODULE_PATHNAME', 'stockking_act_as' LANGUAGE C VOLATILE;
CREATE FUNCTION stockking.act_done() RETURNS void
    AS 'MODULE_PATHNAME', 'stockking_act_done' LANGUAGE C VOLATILE;
REVOKE ALL ON FUNCTION stockking.act_as(uuid, text), stockking.act_done() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION stockking.act_as(uuid, text), stockking.act_done() TO stockking_definer;
COMMENT ON FUNCTION stockking.act_as(uuid, text) IS
    'internal: the rest of the (sub)transaction, until stockking.act_done(), runs as this user and role (CHILD, PARENT, ADMIN)';
COMMENT ON FUNCTION stockking.act_done() IS 'internal: ends the innermost stockking.act_as()';

CREATE OR REPLACE FUNCTION stockking.require_user() RETURNS uuid
    LANGUAGE plpgsql STABLE
    AS $$
DECLARE
    u uuid := stockking.uid();
BEGIN
    IF u IS NULL THEN
        RAISE EXCEPTION 'authentication required'
            USING ERRCODE = '28000', HINT = 'Send a bearer token through the proxy (request.jwt); a trusted session may set request.user_id.';
    END IF;
    RETURN u;
END
$$;

-- ===== Restores (sql/00_base.sql) ===========================================
CREATE FUNCTION stockking.restoring() RETURNS boolean
    AS 'MODULE_PATHNAME', 'stockking_restoring' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION stockking.restoring() IS
    'true while the top-level statement is a COPY (a restore from pg_dump, or a bulk load): triggers that derive rows skip, because the dump carries the derived rows too';

-- triggers that derive rows skip restored ones
DROP TRIGGER outbox_commit_order ON stockking.outbox;
CREATE CONSTRAINT TRIGGER outbox_commit_order AFTER INSERT ON stockking.outbox
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NOT stockking.restoring())
    EXECUTE FUNCTION stockking.outbox_commit_order();
DROP TRIGGER ledger_entry_summary_insert ON stockking.ledger_entry;
DROP TRIGGER ledger_entry_summary_update ON stockking.ledger_entry;
DROP TRIGGER ledger_entry_summary_delete ON stockking.ledger_entry;
CREATE TRIGGER ledger_entry_summary_insert AFTER INSERT ON stockking.ledger_entry
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    WHEN (NOT stockking.restoring()) EXECUTE FUNCTION stockking.ledger_entry_summary();
CREATE TRIGGER ledger_entry_summary_update AFTER UPDATE ON stockking.ledger_entry
    REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows FOR EACH STATEMENT
    WHEN (NOT stockking.restoring()) EXECUTE FUNCTION stockking.ledger_entry_summary();
CREATE TRIGGER ledger_entry_summary_delete AFTER DELETE ON stockking.ledger_entry
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
    WHEN (NOT stockking.restoring()) EXECUTE FUNCTION stockking.ledger_entry_summary();
DROP TRIGGER child_link_code ON stockking.users;
CREATE TRIGGER child_link_code AFTER INSERT ON stockking.users
    FOR EACH ROW WHEN (NEW.role = 'CHILD' AND NOT stockking.restoring()) EXECUTE FUNCTION stockking.child_link_code();
DROP TRIGGER fill_missions ON stockking.fill;
CREATE TRIGGER fill_missions AFTER INSERT ON stockking.fill
    FOR EACH ROW WHEN (NOT stockking.restoring()) EXECUTE FUNCTION stockking.mission_on_fill();
DROP TRIGGER order_missions ON stockking.orders;
CREATE TRIGGER order_missions AFTER INSERT ON stockking.orders
    FOR EACH ROW WHEN (NEW.order_type = 'LIMIT' AND NOT stockking.restoring()) EXECUTE FUNCTION stockking.mission_on_order();

-- ===== The append-only guard in C; family merges (sql/30, sql/60) ===========
CREATE OR REPLACE FUNCTION stockking.refuse_change() RETURNS trigger
    AS 'MODULE_PATHNAME', 'stockking_refuse_change' LANGUAGE C;
COMMENT ON FUNCTION stockking.refuse_change() IS
    'append-only guard (BEFORE UPDATE OR DELETE FOR EACH ROW): 42501, except api.link_family moving family_id and nothing else';

CREATE FUNCTION stockking.family_tables() RETURNS SETOF text
    AS 'MODULE_PATHNAME', 'stockking_family_tables' LANGUAGE C IMMUTABLE;
COMMENT ON FUNCTION stockking.family_tables() IS
    'the tables of schema stockking whose family_id a family merge (api.link_family) moves';
COMMENT ON FUNCTION api.link_family(jsonb) IS
$$POST /v1/auth/link-family {"code": a child's link code (case and dashes ignored)}: the calling PARENT joins the child's family.
The two families merge in one transaction: every row of the smaller family (fewer members; a tie keeps the child's) moves
to the other -- the family_id of every table stockking.family_tables() lists -- and the emptied family is deleted; trade
approval stays on if either family had it.  Returns {"family_id", "members": [{"id","nickname","role","joined_at","link_code"}]}.
Event FamilyLinked (FAMILY).
Errors: 22023 (400) missing or malformed code; SK201 (404) no child has this code; SK202 (409) already one family;
42501 (403) the caller is not a PARENT; 28000 (401).$$;

CREATE OR REPLACE FUNCTION stockking.read_as_child(args jsonb, fn text) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    AS $$
DECLARE
    v_child uuid := stockking.child_arg(args);
    r       jsonb;
BEGIN
    IF fn NOT IN ('get_portfolio', 'get_holdings', 'list_history') THEN
        RAISE EXCEPTION 'read_as_child: % is not a read function', fn USING ERRCODE = '42501';
    END IF;
    PERFORM stockking.act_as(v_child, 'CHILD');
    EXECUTE format('SELECT api.%I($1)', fn) INTO r USING args - 'child_id';
    PERFORM stockking.act_done();
    RETURN jsonb_build_object('child_id', v_child) || r;
END
$$;

-- ===== The pocket-money ledger: issues 8 and 10 (sql/50, 51, 52) ===========
-- The parser's record names the entry a correction or deletion means and what
-- a question asks; corrections act on the entry they name (SK113, SK114);
-- questions of top merchant, top category and count; SHA-256 row fingerprints.

ALTER TYPE stockking.ledger_parse_result
    ADD ATTRIBUTE old_amount bigint, ADD ATTRIBUTE old_date date, ADD ATTRIBUTE old_merchant text, ADD ATTRIBUTE query text;
COMMENT ON TYPE stockking.ledger_parse_result IS
    'a parsed ledger sentence (see api.parse_ledger_text); old_* name the entry a MODIFY or DELETE means, query what a QUERY asks';
COMMENT ON FUNCTION api.parse_ledger_text(jsonb) IS
$$Parse a Korean ledger sentence.  Args: {"text": text (1..500 characters), "reference_date": "YYYY-MM-DD" (default
today in Asia/Seoul)}.  Changes nothing.
Returns {"kind": "EXPENSE"|"INCOME", "intent": "ADD"|"MODIFY"|"DELETE"|"QUERY", "amount": won (integer) or null,
"date": "YYYY-MM-DD" (ADD: the reference date when none is named; others: null when none is named), "merchant":
canonical name or null, "category": one of stockking.ledger_categories() or null, "memo": what is left of the
sentence, "confidence": 0.05..1.00, "reasons": [code...] (amount_missing, amount_without_unit, amount_multiple,
amount_unclear, date_not_stated, date_vague, date_previous_year, date_multiple, merchant_unknown, category_default,
kind_assumed, nothing_to_change), "question": text to ask back or null, "period": {"from","to"} and "query":
"TOTAL"|"TOP_MERCHANT"|"TOP_CATEGORY"|"COUNT" (QUERY only), "old": {"amount","date","merchant"} (MODIFY and DELETE
that name the entry they mean, e.g. "아까 맥날 8천원 말고 7500원이야": old 8000, today, 맥도날드; amount 7500)}.
No amount is never guessed: amount null, reason amount_missing, a question, confidence 0.20.
A date without a year that would be in the future is last year's; a stated future date is refused.
Errors: 22023 (400) text missing or empty; SK103 (400) text over 500 characters; 22007 (400) bad reference_date;
SK101 (422) a future date (내일, 다음주 금요일, 2099-01-01); SK102 (422) amount outside 1..1,000,000,000 won;
22008 (400) a date that does not exist (2월 30일).$$;
DROP FUNCTION stockking.ledger_query_answer(uuid, date, date);

-- sql/50_ledger.sql: an entry imported by 0.1.0 whose SHA-256 fingerprint cannot be proven keeps
-- its 0.1.0 one apart (legacy_fingerprint, filled at the end of this script), and
-- the import matches every row's 0.1.0 fingerprint against it (ledger_csv_rows gains a last column)
ALTER TABLE stockking.ledger_entry ADD COLUMN legacy_fingerprint uuid;
CREATE UNIQUE INDEX ledger_entry_legacy_fingerprint ON stockking.ledger_entry (user_id, legacy_fingerprint)
    WHERE legacy_fingerprint IS NOT NULL;
COMMENT ON COLUMN stockking.ledger_entry.legacy_fingerprint IS
    'the fingerprint release 0.1.0 gave an imported row, where the upgrade could not prove the row''s SHA-256 one (fingerprint is then NULL; stockking.ledger_refingerprint()): an import counts a row with this 0.1.0 fingerprint as already in the ledger.  NULL for every entry made since 0.2.0';

DROP FUNCTION stockking.ledger_csv_rows(bytea, jsonb, date);
CREATE FUNCTION stockking.ledger_csv_rows(body bytea, mapping jsonb, reference_date date)
    RETURNS TABLE (line integer, entry_date date, kind text, amount bigint, merchant text, category text, memo text,
                   fingerprint uuid, error text, legacy_fingerprint uuid)
    AS 'MODULE_PATHNAME', 'stockking_ledger_csv_rows'
    LANGUAGE C STABLE;
COMMENT ON FUNCTION stockking.ledger_csv_rows(bytea, jsonb, date) IS
$$The data rows of a CSV file under a mapping ({role: column index or header name}, plus "negative": "income"
(default: a negative amount is money back) or "expense"), each normalised, or with error set.  fingerprint is the
row's SHA-256 fingerprint (stockking.ledger_row_fingerprint), legacy_fingerprint the one release 0.1.0 gave the same
row (stockking.ledger_row_fingerprint_v1), to match ledger_entry.legacy_fingerprint.
Errors: SK108 (400) undecodable file; SK111 (422) a mapping without date or amount, or naming a column that does not exist.$$;

-- the rows of an import under a mapping: counts, errors, duplicates and a sample.  The duplicate
-- check is one index probe per row (LATERAL ... LIMIT 1 is never turned into a join whose plan
-- could scan the user's entries once per row); the second probe looks a row's 0.1.0 fingerprint up
-- in the partial index of the entries that kept only that, when the user has any (asked once: most
-- users have none, and their rows then cost no second probe)
CREATE OR REPLACE FUNCTION stockking.ledger_import_rows(i stockking.ledger_import, p_mapping jsonb) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
    WITH r AS (SELECT x.*, x.error IS NULL AND (d.dup IS NOT NULL OR l.dup IS NOT NULL) AS duplicate
                 FROM stockking.ledger_csv_rows(i.body, p_mapping, stockking.ledger_today()) x
                 LEFT JOIN LATERAL (SELECT 1 AS dup FROM stockking.ledger_entry e
                                     WHERE e.user_id = i.user_id AND e.fingerprint = x.fingerprint LIMIT 1) d ON true
                 LEFT JOIN LATERAL (SELECT 1 AS dup FROM stockking.ledger_entry e
                                     WHERE EXISTS (SELECT 1 FROM stockking.ledger_entry o
                                                    WHERE o.user_id = i.user_id AND o.legacy_fingerprint IS NOT NULL)
                                       AND e.user_id = i.user_id AND e.legacy_fingerprint = x.legacy_fingerprint LIMIT 1) l ON true)
    SELECT jsonb_build_object(
        'rows', (SELECT count(*) FROM r),
        'valid', (SELECT count(*) FROM r WHERE error IS NULL),
        'errors', (SELECT count(*) FROM r WHERE error IS NOT NULL),
        'duplicates', (SELECT count(*) FROM r WHERE duplicate),
        'row_errors', coalesce((SELECT jsonb_agg(jsonb_build_object('line', line, 'error', error) ORDER BY line)
                                  FROM (SELECT line, error FROM r WHERE error IS NOT NULL ORDER BY line LIMIT 50) x), '[]'),
        'sample', coalesce((SELECT jsonb_agg(jsonb_build_object('line', line, 'date', to_char(entry_date, 'YYYY-MM-DD'),
                                                                'kind', kind, 'amount', amount, 'merchant', merchant,
                                                                'category', category, 'memo', memo,
                                                                'duplicate', duplicate) ORDER BY line)
                              FROM (SELECT * FROM r WHERE error IS NULL ORDER BY line LIMIT 20) x), '[]'))
    $$;

CREATE OR REPLACE FUNCTION api.ledger_import_commit(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, stockking
    SET work_mem = '64MB'  -- a 100,000-row file's rows stay in memory
    AS $$
DECLARE
    v_user     uuid := stockking.require_user();
    v_override jsonb := args -> 'mapping';
    v_skip     boolean := coalesce((args ->> 'skip_invalid')::boolean, false);
    v_mapping  jsonb;
    v_rows     jsonb;
    v_count    integer;
    v_errors   integer;
    v_inserted integer;
    i          stockking.ledger_import;
BEGIN
    SELECT * INTO i FROM stockking.ledger_import
     WHERE id = stockking.arg_bigint(args, 'id') AND user_id = v_user FOR UPDATE;
    IF i.id IS NULL THEN
        RAISE EXCEPTION 'import % not found', args ->> 'id' USING ERRCODE = 'P0002';
    END IF;
    IF i.status <> 'PREVIEW' THEN
        RAISE EXCEPTION 'import % was committed already', i.id USING ERRCODE = 'SK109';
    END IF;
    IF v_override IS NOT NULL AND jsonb_typeof(v_override) <> 'null' THEN
        IF jsonb_typeof(v_override) <> 'object' THEN
            RAISE EXCEPTION 'field "mapping" must be an object' USING ERRCODE = '22023';
        END IF;
        v_mapping := i.mapping || v_override;
    ELSE
        v_mapping := i.mapping;
    END IF;
    -- one pass: insert the good rows and count the bad; any bad row (unless skipped) rolls it all back.
    -- A row is in the ledger already when an entry has its fingerprint (the conflict) or, made by
    -- 0.1.0 and not proven by the upgrade, its 0.1.0 fingerprint (ledger_entry.legacy_fingerprint),
    -- looked up only when the user has such entries (asked once: most users have none)
    WITH r AS (SELECT * FROM stockking.ledger_csv_rows(i.body, v_mapping, stockking.ledger_today())),
         ins AS (INSERT INTO stockking.ledger_entry (family_id, user_id, kind, entry_date, amount, merchant, category, memo,
                                                     source, import_id, fingerprint)
                 SELECT i.family_id, i.user_id, r.kind, r.entry_date, r.amount, r.merchant, r.category, r.memo, 'IMPORT',
                        i.id, r.fingerprint
                   FROM r WHERE r.error IS NULL
                    AND NOT (EXISTS (SELECT 1 FROM stockking.ledger_entry o
                                      WHERE o.user_id = i.user_id AND o.legacy_fingerprint IS NOT NULL)
                             AND EXISTS (SELECT 1 FROM stockking.ledger_entry e
                                          WHERE e.user_id = i.user_id AND e.legacy_fingerprint = r.legacy_fingerprint))
                 ON CONFLICT (user_id, fingerprint) WHERE fingerprint IS NOT NULL DO NOTHING
                 RETURNING 1)
    SELECT (SELECT count(*) FROM r), (SELECT count(*) FROM r WHERE error IS NOT NULL), (SELECT count(*) FROM ins)
      INTO v_count, v_errors, v_inserted;
    IF v_errors > 0 AND NOT v_skip THEN
        v_rows := stockking.ledger_import_rows(i, v_mapping);
        RAISE EXCEPTION 'the import has % rows with errors', v_errors USING ERRCODE = 'SK110',
            DETAIL = (SELECT string_agg(format('line %s: %s', x ->> 'line', x ->> 'error'), '; ')
                        FROM (SELECT x FROM jsonb_array_elements(v_rows -> 'row_errors') x LIMIT 5) y),
            HINT = 'Fix the mapping, or commit with "skip_invalid": true to leave those rows out.';
    END IF;
    IF v_count = 0 THEN
        RAISE EXCEPTION 'the file has no data rows' USING ERRCODE = 'SK108';
    END IF;
    UPDATE stockking.ledger_import SET status = 'COMMITTED', mapping = v_mapping, body = NULL, inserted = v_inserted,
           duplicates = v_count - v_errors - v_inserted, skipped_invalid = v_errors, committed_at = now()
     WHERE id = i.id RETURNING * INTO i;
    RETURN jsonb_build_object('id', i.id, 'status', i.status, 'mapping', i.mapping, 'rows', v_count,
                              'inserted', i.inserted, 'duplicates', i.duplicates, 'skipped_invalid', i.skipped_invalid);
END
$$;
COMMENT ON FUNCTION api.ledger_import_commit(jsonb) IS
$$POST /v1/ledger/imports/:id/commit: add an import's rows to the caller's ledger, all or nothing.
Args: {"id", "mapping": {role: column index or header name or null, "negative": "income"|"expense"} (optional
override, merged over the detected mapping), "skip_invalid": boolean (default false: any row error refuses the commit)}.
Rows already in the ledger (same date, kind, amount, description, and occurrence within the file) are not added
again, so a file imported twice adds nothing the second time -- also when the first import was made by release 0.1.0.
Returns {"id","status":"COMMITTED","mapping","rows","inserted","duplicates","skipped_invalid"}.
Errors: P0002 (404) no such import of the caller; SK109 (409) committed already; SK110 (422) rows with errors;
SK111 (422) bad mapping; 28000 (401).$$;

-- sql/51_ledger_conversation.sql
INSERT INTO stockking.error_code VALUES
    ('SK113', 404, 'ledger_no_matching_entry', 'no entry of the caller matches the amount, day or place a correction or deletion names'),
    ('SK114', 409, 'ledger_ambiguous_entry', 'several entries of the caller match what a correction or deletion names: name the day or the place too');

-- does a ledger row (entry or pending entry) match the "old" object of a parse?
CREATE FUNCTION stockking.ledger_matches(p_old jsonb, p_amount bigint, p_merchant text, p_date date,
                                         p_created timestamptz) RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT (p_old ->> 'amount' IS NULL OR p_amount = (p_old ->> 'amount')::bigint)
       AND (p_old ->> 'merchant' IS NULL OR p_merchant = p_old ->> 'merchant')
       AND (p_old ->> 'date' IS NULL OR p_date = (p_old ->> 'date')::date
            OR (p_created AT TIME ZONE 'Asia/Seoul')::date = (p_old ->> 'date')::date)
    $$;
COMMENT ON FUNCTION stockking.ledger_matches(jsonb, bigint, text, date, timestamptz) IS
    'whether an entry (amount, merchant, date, entered at) is the one a parse''s "old" object names: every named field equal; a named day is the entry''s date or the day it was entered (Asia/Seoul)';

-- "6월 17일 맥도날드 8,000원": an entry or what a parse names, for messages
CREATE FUNCTION stockking.ledger_describe(p_date date, p_merchant text, p_amount bigint) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT concat_ws(' ', to_char(p_date, 'FMMM월 FMDD일'), p_merchant, stockking.ledger_won(p_amount))
    $$;

CREATE FUNCTION stockking.ledger_find_target(p_user uuid, p_old jsonb) RETURNS stockking.ledger_entry
    LANGUAGE plpgsql STABLE
    AS $$
DECLARE
    v_latest stockking.ledger_entry;
    v_ids    bigint[];
    v_list   text[];
    v_named  text;
BEGIN
    SELECT * INTO v_latest FROM stockking.ledger_entry WHERE user_id = p_user ORDER BY created_at DESC, id DESC LIMIT 1;
    IF v_latest.id IS NULL THEN
        RAISE EXCEPTION 'there is no ledger entry to change yet' USING ERRCODE = 'SK112';
    END IF;
    IF p_old IS NULL OR jsonb_typeof(p_old) <> 'object'
       OR stockking.ledger_matches(p_old, v_latest.amount, v_latest.merchant, v_latest.entry_date, v_latest.created_at) THEN
        RETURN v_latest;
    END IF;
    SELECT array_agg(e.id ORDER BY e.created_at DESC, e.id DESC),
           array_agg(stockking.ledger_describe(e.entry_date, e.merchant, e.amount) ORDER BY e.created_at DESC, e.id DESC)
      INTO v_ids, v_list
      FROM (SELECT * FROM stockking.ledger_entry e
             WHERE e.user_id = p_user
               AND (p_old ->> 'date' IS NOT NULL OR e.entry_date >= stockking.ledger_today() - 30
                    OR e.created_at >= now() - interval '30 days')
               AND stockking.ledger_matches(p_old, e.amount, e.merchant, e.entry_date, e.created_at)
             ORDER BY e.created_at DESC, e.id DESC LIMIT 6) e;
    v_named := stockking.ledger_describe((p_old ->> 'date')::date, p_old ->> 'merchant', (p_old ->> 'amount')::bigint);
    IF v_ids IS NULL THEN
        RAISE EXCEPTION 'no entry matches %', v_named USING ERRCODE = 'SK113',
            DETAIL = CASE WHEN p_old ->> 'date' IS NULL THEN 'Entries of the last 30 days were searched.'
                          ELSE 'Entries of that day were searched.' END,
            HINT = 'Name the amount, the day or the place as the entry has them.';
    END IF;
    IF cardinality(v_ids) > 1 THEN
        RAISE EXCEPTION '% entries match %', CASE WHEN cardinality(v_ids) > 5 THEN 'more than 5' ELSE cardinality(v_ids)::text END,
            v_named USING ERRCODE = 'SK114', DETAIL = array_to_string(v_list[1:5], '; '),
            HINT = 'Name the day or the place too, e.g. "어제 맥날 8천원 말고 7500원".';
    END IF;
    SELECT * INTO v_latest FROM stockking.ledger_entry WHERE id = v_ids[1];
    RETURN v_latest;
END
$$;
COMMENT ON FUNCTION stockking.ledger_find_target(uuid, jsonb) IS
$$The entry of p_user that a parse's "old" object ({"amount","date","merchant"}, or NULL: the latest entry) names:
the latest entry when it matches, else the only match among the entries of the last 30 days (dated or entered; a
named day searches that day).  Errors: SK112 (404) no entry at all; SK113 (404) none matches; SK114 (409) several
match (the detail lists up to five).  The caller's open pending entry is checked before, by api.ledger_chat.$$;

-- "6월 1일 ~ 6월 30일" (or one day)
CREATE FUNCTION stockking.ledger_period_text(p_from date, p_to date) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    SELECT CASE WHEN p_from = p_to THEN to_char(p_from, 'FMMM월 FMDD일')
                ELSE to_char(p_from, 'FMMM월 FMDD일') || ' ~ ' || to_char(p_to, 'FMMM월 FMDD일') END
    $$;

-- The entries a question is about: the user's in a period, of a merchant or of a category when named.
CREATE FUNCTION stockking.ledger_query_rows(p_user uuid, p_from date, p_to date, p_merchant text, p_category text)
    RETURNS SETOF stockking.ledger_entry
    LANGUAGE sql STABLE
    AS $$
    SELECT * FROM stockking.ledger_entry e
     WHERE e.user_id = p_user AND e.entry_date BETWEEN p_from AND p_to
       AND (p_merchant IS NULL OR e.merchant = p_merchant) AND (p_category IS NULL OR e.category = p_category)
    $$;

-- The answer to a QUERY parse p of the caller's entries.
CREATE FUNCTION stockking.ledger_query_answer(p_user uuid, p jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    AS $$
DECLARE
    v_from     date := (p #>> '{period,from}')::date;
    v_to       date := (p #>> '{period,to}')::date;
    v_query    text := coalesce(p ->> 'query', 'TOTAL');
    v_kind     text := coalesce(p ->> 'kind', 'EXPENSE');
    v_merchant text := p ->> 'merchant';
    -- a named merchant is the filter; its category is only what it implies
    v_category text := CASE WHEN p ->> 'merchant' IS NULL THEN p ->> 'category' END;
    v_filter   text := coalesce(p ->> 'merchant', p ->> 'category');
    v_period   text := stockking.ledger_period_text(v_from, v_to);
    v_verb     text := CASE v_kind WHEN 'INCOME' THEN '받은' ELSE '쓴' END;
    v_rank     jsonb;
    v_count    bigint;
    v_total    bigint;
    v_answer   jsonb;
BEGIN
    v_answer := jsonb_build_object('period', jsonb_build_object('from', to_char(v_from, 'YYYY-MM-DD'), 'to', to_char(v_to, 'YYYY-MM-DD')),
                                   'query', v_query, 'kind', v_kind, 'merchant', v_merchant, 'category', v_category);
    IF v_query = 'TOTAL' THEN
        WITH e AS (SELECT * FROM stockking.ledger_query_rows(p_user, v_from, v_to, v_merchant, v_category))
        SELECT v_answer || jsonb_build_object(
                   'expense', coalesce(sum(amount) FILTER (WHERE kind = 'EXPENSE'), 0),
                   'income', coalesce(sum(amount) FILTER (WHERE kind = 'INCOME'), 0), 'entries', count(*),
                   'by_category', coalesce((SELECT jsonb_agg(jsonb_build_object('kind', kind, 'category', category, 'total', s)
                                                             ORDER BY kind, s DESC, category)
                                              FROM (SELECT kind, category, sum(amount) AS s FROM e GROUP BY 1, 2) c), '[]')),
               count(*) FILTER (WHERE kind = v_kind)
          INTO v_answer, v_count FROM e;
        RETURN v_answer || jsonb_build_object('reply',
            CASE WHEN v_filter IS NULL THEN
                     format('%s: %s 썼고 %s 받았어요.', v_period, stockking.ledger_won((v_answer ->> 'expense')::bigint),
                            stockking.ledger_won((v_answer ->> 'income')::bigint))
                 ELSE format('%s %s: %s %s (%s번).', v_period, v_filter,
                             stockking.ledger_won((v_answer ->> lower(v_kind))::bigint),
                             CASE v_kind WHEN 'INCOME' THEN '받았어요' ELSE '썼어요' END, v_count) END);
    ELSIF v_query = 'COUNT' THEN
        SELECT count(*), coalesce(sum(amount), 0) INTO v_count, v_total
          FROM stockking.ledger_query_rows(p_user, v_from, v_to, v_merchant, v_category) WHERE kind = v_kind;
        RETURN v_answer || jsonb_build_object('count', v_count, 'total', v_total,
            'reply', format('%s %s: %s번, 모두 %s.', v_period, coalesce(v_filter, '기록'), v_count, stockking.ledger_won(v_total)));
    END IF;
    SELECT jsonb_agg(jsonb_build_object('name', name, 'total', total, 'entries', n) ORDER BY total DESC, n DESC, name)
      INTO v_rank
      FROM (SELECT CASE v_query WHEN 'TOP_MERCHANT' THEN merchant ELSE category END AS name, sum(amount) AS total,
                   count(*) AS n
              FROM stockking.ledger_query_rows(p_user, v_from, v_to, v_merchant, v_category)
             WHERE kind = v_kind AND (v_query <> 'TOP_MERCHANT' OR merchant IS NOT NULL)
             GROUP BY 1 ORDER BY 2 DESC, 3 DESC, 1 LIMIT 5) r;
    RETURN v_answer || jsonb_build_object('ranking', coalesce(v_rank, '[]'), 'top', v_rank -> 0,
        'reply', CASE WHEN v_rank IS NULL THEN format('%s: %s 기록이 없어요.', v_period,
                                                      CASE v_query WHEN 'TOP_MERCHANT' THEN '가게가 적힌' ELSE v_verb END)
                      ELSE format('%s 제일 많이 %s %s: %s (%s, %s번).', v_period, v_verb,
                                  CASE v_query WHEN 'TOP_MERCHANT' THEN '곳' ELSE '항목' END, v_rank #>> '{0,name}',
                                  stockking.ledger_won((v_rank #>> '{0,total}')::bigint), v_rank #>> '{0,entries}') END);
END
$$;
COMMENT ON FUNCTION stockking.ledger_query_answer(uuid, jsonb) IS
$$The answer to a QUERY parse of p_user's entries in its period, filtered by the merchant it names (else the category
it names).  query TOTAL: {"expense","income","entries","by_category"}; TOP_MERCHANT / TOP_CATEGORY: {"top","ranking":
[{"name","total","entries"}] (top 5 of the parse's kind; entries without a merchant do not rank as places)}; COUNT:
{"count","total"} of the parse's kind.  Always {"period","query","kind","merchant","category","reply"}.$$;

CREATE OR REPLACE FUNCTION api.ledger_chat(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v_user    uuid := stockking.require_user();
    v_message text := stockking.arg_text(args, 'message');
    v_family  uuid := stockking.my_family();
    v_today   date := stockking.ledger_today();
    p         jsonb;
    v_intent  text;
    v_open    stockking.ledger_pending;
    v_target  stockking.ledger_entry;
    v_new     stockking.ledger_pending;
    v_answer  jsonb;
    v_old     jsonb;
    v_stated_date boolean;
    v_stated_cat  boolean;
BEGIN
    p := api.parse_ledger_text(jsonb_build_object('text', v_message, 'reference_date', to_char(v_today, 'YYYY-MM-DD')));
    v_intent := p ->> 'intent';
    v_stated_date := p ->> 'date' IS NOT NULL AND NOT (p -> 'reasons' ? 'date_not_stated');
    v_stated_cat := p ->> 'category' IS NOT NULL AND NOT (p -> 'reasons' ? 'category_default');
    -- the entry a correction or a deletion names ("8천원 말고 ..."), NULL: the conversation's latest
    v_old := p -> 'old';

    IF v_intent = 'QUERY' THEN
        v_answer := stockking.ledger_query_answer(v_user, p);
        RETURN jsonb_build_object('intent', 'QUERY', 'parse', p, 'reply', v_answer ->> 'reply', 'answer', v_answer - 'reply');
    END IF;

    -- the latest open pending entry of the user: the conversation's context
    SELECT * INTO v_open FROM stockking.ledger_pending
     WHERE user_id = v_user AND status = 'PENDING' AND expires_at > now()
     ORDER BY id DESC LIMIT 1 FOR UPDATE;

    -- an open pending entry that the message does not name is no context for it
    IF v_open.id IS NOT NULL AND v_old IS NOT NULL
       AND NOT stockking.ledger_matches(v_old, v_open.amount, v_open.merchant, v_open.entry_date, v_open.created_at) THEN
        v_open := NULL;
    END IF;

    IF v_intent = 'DELETE' THEN
        IF v_open.id IS NOT NULL THEN
            UPDATE stockking.ledger_pending SET status = 'CANCELED', updated_at = now() WHERE id = v_open.id
                RETURNING * INTO v_open;
            RETURN jsonb_build_object('intent', 'DELETE', 'parse', p, 'reply', '입력하던 기록을 취소했어요.',
                                      'pending', stockking.ledger_pending_json(v_open));
        END IF;
        v_target := stockking.ledger_find_target(v_user, v_old);
        INSERT INTO stockking.ledger_pending (family_id, user_id, action, target_entry_id, message, parse, kind, amount,
                                              entry_date, merchant, category, memo, expires_at)
            VALUES (v_target.family_id, v_user, 'DELETE', v_target.id, v_message, p, v_target.kind, v_target.amount,
                    v_target.entry_date, v_target.merchant, v_target.category, v_target.memo, now() + interval '10 minutes')
            RETURNING * INTO v_new;
        RETURN jsonb_build_object('intent', 'DELETE', 'parse', p, 'reply', stockking.ledger_reply(v_new),
                                  'pending', stockking.ledger_pending_json(v_new), 'entry', stockking.ledger_entry_json(v_target));
    END IF;

    -- a follow-up: a correction, or the answer to "how much?", changes the open pending entry
    IF v_open.id IS NOT NULL AND v_open.action IN ('ADD', 'MODIFY')
       AND (v_intent = 'MODIFY' OR (v_open.amount IS NULL AND p ->> 'amount' IS NOT NULL AND p ->> 'merchant' IS NULL)) THEN
        IF p ->> 'amount' IS NULL AND NOT v_stated_date AND p ->> 'merchant' IS NULL AND NOT v_stated_cat THEN
            RETURN jsonb_build_object('intent', 'MODIFY', 'parse', p, 'reply', p ->> 'question',
                                      'pending', stockking.ledger_pending_json(v_open));
        END IF;
        UPDATE stockking.ledger_pending SET
            amount = coalesce((p ->> 'amount')::bigint, amount),
            entry_date = CASE WHEN v_stated_date THEN (p ->> 'date')::date ELSE entry_date END,
            merchant = coalesce(p ->> 'merchant', merchant),
            category = CASE WHEN v_stated_cat AND p ->> 'kind' = kind THEN p ->> 'category' ELSE category END,
            memo = CASE WHEN p ->> 'memo' <> '' AND v_intent = 'ADD' THEN p ->> 'memo' ELSE memo END,
            message = message || E'\n' || v_message,
            expires_at = now() + interval '10 minutes', updated_at = now()
         WHERE id = v_open.id RETURNING * INTO v_new;
        UPDATE stockking.ledger_pending SET duplicate_of = CASE WHEN action = 'ADD' AND amount IS NOT NULL THEN
                   stockking.ledger_find_duplicate(v_user, entry_date, amount, merchant) END
         WHERE id = v_new.id RETURNING * INTO v_new;
        RETURN jsonb_build_object('intent', 'MODIFY', 'parse', p, 'updated', true, 'reply', stockking.ledger_reply(v_new),
                                  'pending', stockking.ledger_pending_json(v_new));
    END IF;

    IF v_intent = 'MODIFY' THEN
        v_target := stockking.ledger_find_target(v_user, v_old);
        IF p ->> 'amount' IS NULL AND NOT v_stated_date AND p ->> 'merchant' IS NULL AND NOT v_stated_cat THEN
            RETURN jsonb_build_object('intent', 'MODIFY', 'parse', p, 'reply', p ->> 'question',
                                      'entry', stockking.ledger_entry_json(v_target));
        END IF;
        INSERT INTO stockking.ledger_pending (family_id, user_id, action, target_entry_id, message, parse, kind, amount,
                                              entry_date, merchant, category, memo, expires_at)
            VALUES (v_target.family_id, v_user, 'MODIFY', v_target.id, v_message, p,
                    -- a stated category of the other kind changes the kind too ("수정 라면 3천원" on an income)
                    CASE WHEN NOT v_stated_cat THEN v_target.kind
                         WHEN p ->> 'category' IN ('용돈', '기타수입') THEN 'INCOME' ELSE 'EXPENSE' END,
                    coalesce((p ->> 'amount')::bigint, v_target.amount),
                    CASE WHEN v_stated_date THEN (p ->> 'date')::date ELSE v_target.entry_date END,
                    coalesce(p ->> 'merchant', v_target.merchant),
                    CASE WHEN v_stated_cat THEN p ->> 'category' ELSE v_target.category END,
                    v_target.memo, now() + interval '10 minutes')
            RETURNING * INTO v_new;
        RETURN jsonb_build_object('intent', 'MODIFY', 'parse', p, 'reply', stockking.ledger_reply(v_new),
                                  'pending', stockking.ledger_pending_json(v_new), 'entry', stockking.ledger_entry_json(v_target));
    END IF;

    -- ADD: a new pending entry (without an amount it asks back)
    INSERT INTO stockking.ledger_pending (family_id, user_id, action, message, parse, kind, amount, entry_date, merchant,
                                          category, memo, duplicate_of, expires_at)
        VALUES (v_family, v_user, 'ADD', v_message, p, p ->> 'kind', (p ->> 'amount')::bigint, (p ->> 'date')::date,
                p ->> 'merchant', p ->> 'category', p ->> 'memo',
                CASE WHEN p ->> 'amount' IS NOT NULL THEN
                    stockking.ledger_find_duplicate(v_user, (p ->> 'date')::date, (p ->> 'amount')::bigint, p ->> 'merchant')
                END,
                now() + interval '10 minutes')
        RETURNING * INTO v_new;
    RETURN jsonb_build_object('intent', 'ADD', 'parse', p, 'reply', stockking.ledger_reply(v_new),
                              'pending', stockking.ledger_pending_json(v_new));
END
$$;
COMMENT ON FUNCTION api.ledger_chat(jsonb) IS
$$POST /v1/ledger/chat: one chat message.  Args: {"message": text (1..500 characters)}.
ADD: returns {"intent":"ADD","parse":{...api.parse_ledger_text...},"reply": text,"pending":{"id","action","status",
"kind","amount","date","merchant","category","memo","duplicate_of" (an entry with the same amount and merchant that
day, or null),"needs":["amount"] when the amount is missing,"expires_at"}}: confirm or cancel it within 10 minutes.
A follow-up (a correction like "아니 8천원이었어", or the amount asked for) changes the latest open pending entry
("updated": true).  With no open entry, MODIFY and DELETE ("방금 거 취소해줘") prepare a change to the caller's
latest entry as a pending action to confirm; DELETE with an open entry cancels that entry.
A correction or deletion that names the entry ("아까 맥날 8천원 말고 7500원이야", "어제 스벅 거 지워줘": the parse's
"old") acts on the open pending entry if it matches, else on the latest entry if it matches, else on the one entry
of the last 30 days that matches (see stockking.ledger_find_target).
QUERY answers at once: {"intent":"QUERY","reply","answer":{"period","query","kind","merchant","category", and for
TOTAL ("이번 달 얼마 썼어?") "expense","income","entries","by_category"; TOP_MERCHANT / TOP_CATEGORY ("제일 많이 쓴 데가
어디야?") "top","ranking"; COUNT ("맥날 몇 번 갔어?") "count","total"}}.
Errors: 22023 (400) no message; SK103 (400) too long; SK101 (422) a future date; SK102 (422) amount out of range;
SK112 (404) nothing to modify or delete; SK113 (404) no entry matches what the message names; SK114 (409) several
entries match it; 28000 (401).$$;

-- sql/52_ledger_fingerprint.sql
CREATE FUNCTION stockking.ledger_row_fingerprint(entry_date date, kind text, amount bigint, description text,
                                                 occurrence integer) RETURNS uuid
    AS 'MODULE_PATHNAME', 'stockking_ledger_row_fingerprint'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION stockking.ledger_row_fingerprint(date, text, bigint, text, integer) IS
    'the fingerprint of an imported row: the first 128 bits of SHA-256 over its date, kind, amount, description (as the file has it) and occurrence among equal rows of the file; the same on every machine';

CREATE FUNCTION stockking.ledger_row_fingerprint_v1(entry_date date, kind text, amount bigint, description text,
                                                    occurrence integer) RETURNS uuid
    AS 'MODULE_PATHNAME', 'stockking_ledger_row_fingerprint_v1'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
REVOKE ALL ON FUNCTION stockking.ledger_row_fingerprint_v1(date, text, bigint, text, integer) FROM PUBLIC;
COMMENT ON FUNCTION stockking.ledger_row_fingerprint_v1(date, text, bigint, text, integer) IS
    'release 0.1.0''s fingerprint (hash_bytes_extended, byte-order dependent): only for stockking.ledger_refingerprint()';

-- The upgrade from 0.1.0.  Its script first moves every fingerprint 0.1.0 made into
-- ledger_entry.legacy_fingerprint (at that moment every stored fingerprint is 0.1.0's), then calls
-- this function, which gives each such entry the SHA-256 fingerprint of the same row where it can
-- prove it.  The entry keeps its date, kind and amount; its description is what the import kept of
-- it (the memo, else the merchant, else empty) and its occurrence at most the number of such
-- entries: a candidate is taken only when its 0.1.0 fingerprint is the stored one, so an entry only
-- ever gets its own row's fingerprint (and loses its legacy_fingerprint).  An entry whose
-- description the import did not keep (a file with a memo column, whose description named a known
-- merchant: "스타벅스 강남점" became 스타벅스 and its memo the file's memo), or that was changed since
-- (a chat correction), cannot be proven: it keeps its 0.1.0 fingerprint in legacy_fingerprint,
-- with fingerprint NULL, and the import, which computes every row's 0.1.0 fingerprint too
-- (ledger_csv_rows.legacy_fingerprint), finds it by that: importing its file again adds nothing.
-- fingerprint is left NULL rather than keeping the 0.1.0 value so that the column holds SHA-256
-- fingerprints only; and since this function reads legacy_fingerprint alone, running it again
-- can never take a fingerprint made since 0.2.0 for a 0.1.0 one (a 0.2.0 entry of a memo-column
-- file cannot be proven either).
CREATE FUNCTION stockking.ledger_refingerprint() RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v_checked  integer;
    v_replaced integer;
BEGIN
    LOCK TABLE stockking.ledger_entry IN SHARE ROW EXCLUSIVE MODE;
    WITH cand AS (
        SELECT e.id, e.user_id, x.new_fp
          FROM stockking.ledger_entry e
          LEFT JOIN LATERAL (
              SELECT stockking.ledger_row_fingerprint(e.entry_date, e.kind, e.amount, d.d, o.o) AS new_fp
                FROM unnest(ARRAY[e.memo, coalesce(e.merchant, ''), '']) WITH ORDINALITY AS d (d, k),
                     generate_series(1, (SELECT count(*) FROM stockking.ledger_entry s
                                          WHERE s.user_id = e.user_id AND s.entry_date = e.entry_date AND s.kind = e.kind
                                            AND s.amount = e.amount
                                            AND coalesce(s.fingerprint, s.legacy_fingerprint) IS NOT NULL)::integer + 2) AS o (o)
               WHERE stockking.ledger_row_fingerprint_v1(e.entry_date, e.kind, e.amount, d.d, o.o) = e.legacy_fingerprint
               ORDER BY d.k, o.o LIMIT 1) x ON true
         WHERE e.legacy_fingerprint IS NOT NULL),
    upd AS (
        -- (an entry of the user made since with that fingerprint would be the same row: then it stays as it is)
        UPDATE stockking.ledger_entry e SET fingerprint = c.new_fp, legacy_fingerprint = NULL
          FROM cand c
         WHERE e.id = c.id AND c.new_fp IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM stockking.ledger_entry o WHERE o.user_id = c.user_id AND o.fingerprint = c.new_fp)
        RETURNING 1)
    SELECT (SELECT count(*) FROM cand), (SELECT count(*) FROM upd) INTO v_checked, v_replaced;
    RETURN jsonb_build_object('checked', v_checked, 'replaced', v_replaced, 'unverified', v_checked - v_replaced);
END
$$;
REVOKE ALL ON FUNCTION stockking.ledger_refingerprint() FROM PUBLIC;
COMMENT ON FUNCTION stockking.ledger_refingerprint() IS
$$Upgrade 0.1.0 -> 0.2.0 (and safe to run again): every entry holding a 0.1.0 fingerprint (legacy_fingerprint, where the
upgrade moved them) gets its SHA-256 one (fingerprint) where it can be proven against the old one, and loses the old.
Returns {"checked" (entries with a legacy_fingerprint), "replaced" (proven now), "unverified" (kept in
legacy_fingerprint: the import did not keep the row's description, or the entry was changed since; an import still
counts their rows as already in the ledger)}.$$;

-- every fingerprint stored now is one 0.1.0 made: moved to legacy_fingerprint, then replaced by its
-- SHA-256 one where it can be proven (see the function); the others stay in legacy_fingerprint
UPDATE stockking.ledger_entry SET legacy_fingerprint = fingerprint, fingerprint = NULL WHERE fingerprint IS NOT NULL;
SELECT stockking.ledger_refingerprint();

-- ===== Learning and news: issue 9 (sql/90_education.sql, sql/91_news.sql, new)
-- The two files as they are (every object in them is new), and their lines of
-- sql/98_system.sql, before what pg_dump saves and the system role's grants,
-- as in a fresh install: the sections below register these tables' identity
-- sequences and grant the family_id columns a family merge moves
-- (stockking.family_tables() lists them).

-- sql/90_education.sql
-- Learning: courses, lessons, quizzes, a child's progress, certificates,
-- the learning streak and the market quiz (extension/education.c), with
-- their badges and missions, read APIs and routes.
--
-- Content (course, lesson, quiz, quiz_question, course_prerequisite) is
-- loaded from data/education/*.json by stockking.load_education, as the
-- market data is: the files are checked strictly, then mirrored (rows the
-- files no longer have are retired, active = false, so the progress that
-- points at them stays).  The quiz's answers never leave the database
-- before an attempt is graded.
--
-- Project SQLSTATEs SK300..SK322 (HTTP statuses below; C names in
-- extension/education.h).

INSERT INTO stockking.error_code VALUES
    ('SK300', 400, 'bad_education_content', 'an education content file is malformed (the message gives the file and line)'),
    ('SK301', 409, 'course_locked', 'the course opens after its prerequisite courses are completed'),
    ('SK302', 409, 'lesson_locked', 'the lesson opens after the lessons before it are completed (read, quiz passed)'),
    ('SK303', 409, 'lesson_not_read', 'a quiz is taken after its lesson is read'),
    ('SK304', 409, 'quiz_attempts_used', 'the quiz was tried as many times today as it may be (Asia/Seoul day)'),
    ('SK305', 409, 'quiz_passed', 'the quiz is passed already'),
    ('SK320', 409, 'market_quiz_stale', 'the market question answered is not the season''s current one'),
    ('SK321', 409, 'market_quiz_answered', 'the market question of this date is answered already'),
    ('SK322', 422, 'market_quiz_unavailable', 'the price bars before the season''s clock cannot make a market question');

-- Content.  Codes are the files' keys; ids are stable across loads.
CREATE TABLE stockking.course (
    id              integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code            text NOT NULL UNIQUE CHECK (code ~ '^[a-z0-9][a-z0-9-]{0,63}$'),
    title           text NOT NULL CHECK (length(title) BETWEEN 1 AND 100),
    summary         text NOT NULL CHECK (length(summary) BETWEEN 1 AND 500),
    age_min         smallint NOT NULL CHECK (age_min BETWEEN 5 AND 18),
    age_max         smallint NOT NULL CHECK (age_max BETWEEN 5 AND 18),
    position        integer NOT NULL CHECK (position > 0),
    authors         text NOT NULL,
    lesson_xp       integer NOT NULL CHECK (lesson_xp >= 0),
    quiz_xp         integer NOT NULL CHECK (quiz_xp >= 0),
    quiz_reward_krw bigint NOT NULL CHECK (quiz_reward_krw >= 0),
    quiz_reward_usd bigint NOT NULL CHECK (quiz_reward_usd >= 0),
    completion_xp   integer NOT NULL CHECK (completion_xp >= 0),
    source_file     text NOT NULL,
    active          boolean NOT NULL DEFAULT true,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (age_min <= age_max)
);
SELECT pg_catalog.pg_extension_config_dump('stockking.course', '');
COMMENT ON TABLE stockking.course IS
    'a course (data/education/<file>.json): its age band, order, and rewards: lesson_xp per lesson read, quiz_xp and game money per quiz passed (quiz_reward_krw won to a KRW account, quiz_reward_usd cents to a USD one), completion_xp; active false = retired (no longer in the files)';

CREATE TABLE stockking.course_prerequisite (
    course_id   integer NOT NULL REFERENCES stockking.course (id),
    requires_id integer NOT NULL REFERENCES stockking.course (id),
    PRIMARY KEY (course_id, requires_id),
    CHECK (course_id <> requires_id)
);
SELECT pg_catalog.pg_extension_config_dump('stockking.course_prerequisite', '');
COMMENT ON TABLE stockking.course_prerequisite IS 'a course opens when the courses it requires are completed';

CREATE TABLE stockking.lesson (
    id         integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    course_id  integer NOT NULL REFERENCES stockking.course (id),
    code       text NOT NULL UNIQUE CHECK (code ~ '^[a-z0-9][a-z0-9-]{0,63}$'),
    position   smallint NOT NULL CHECK (position > 0),
    title      text NOT NULL CHECK (length(title) BETWEEN 1 AND 100),
    minutes    smallint NOT NULL CHECK (minutes BETWEEN 1 AND 60),
    body       text[] NOT NULL CHECK (cardinality(body) BETWEEN 1 AND 50),
    key_points text[] NOT NULL CHECK (cardinality(key_points) BETWEEN 1 AND 10),
    active     boolean NOT NULL DEFAULT true,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX lesson_course ON stockking.lesson (course_id, position);
SELECT pg_catalog.pg_extension_config_dump('stockking.lesson', '');
COMMENT ON TABLE stockking.lesson IS
    'a lesson of a course, in position order: body = paragraphs, key_points = what to remember, minutes = reading time';

CREATE TABLE stockking.quiz (
    id                   integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    lesson_id            integer NOT NULL UNIQUE REFERENCES stockking.lesson (id),
    pass_percent         smallint NOT NULL CHECK (pass_percent BETWEEN 1 AND 100),
    max_attempts_per_day smallint NOT NULL CHECK (max_attempts_per_day BETWEEN 1 AND 10),
    updated_at           timestamptz NOT NULL DEFAULT now()
);
SELECT pg_catalog.pg_extension_config_dump('stockking.quiz', '');
COMMENT ON TABLE stockking.quiz IS
    'a lesson''s quiz: passed when correct x 100 >= pass_percent x questions; tried at most max_attempts_per_day times an Asia/Seoul day until passed';

CREATE TABLE stockking.quiz_question (
    id            integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    quiz_id       integer NOT NULL REFERENCES stockking.quiz (id),
    code          text NOT NULL CHECK (code ~ '^[a-z0-9][a-z0-9-]{0,63}$'),
    position      smallint NOT NULL CHECK (position > 0),
    kind          text NOT NULL CHECK (kind IN ('SINGLE', 'MULTIPLE', 'NUMBER')),
    prompt        text NOT NULL CHECK (length(prompt) BETWEEN 1 AND 300),
    choices       text[] CHECK (cardinality(choices) BETWEEN 2 AND 6),
    answer        smallint[],
    answer_number bigint,
    unit          text,
    explanation   text NOT NULL,
    active        boolean NOT NULL DEFAULT true,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (quiz_id, code),
    CHECK (CASE kind WHEN 'NUMBER' THEN answer_number IS NOT NULL AND choices IS NULL AND answer IS NULL
                     WHEN 'SINGLE' THEN cardinality(answer) = 1 AND answer_number IS NULL AND unit IS NULL
                     ELSE cardinality(answer) >= 1 AND answer_number IS NULL AND unit IS NULL END),
    CHECK (answer <@ '{1,2,3,4,5,6}'::smallint[])
);
SELECT pg_catalog.pg_extension_config_dump('stockking.quiz_question', '');
COMMENT ON TABLE stockking.quiz_question IS
    'a quiz question: SINGLE (answer = the one right choice, 1-based), MULTIPLE (answer = every right choice) or NUMBER (answer_number, whole, in unit); never shown with its answer before an attempt is graded';

GRANT SELECT ON stockking.course, stockking.course_prerequisite, stockking.lesson, stockking.quiz,
    stockking.quiz_question TO stockking_definer;

-- A child's progress.  Family-owned: row-level security by family_id.
CREATE TABLE stockking.course_progress (
    user_id      uuid NOT NULL,
    course_id    integer NOT NULL REFERENCES stockking.course (id),
    family_id    uuid NOT NULL,
    started_at   timestamptz NOT NULL DEFAULT now(),
    completed_at timestamptz,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, course_id)
);
CREATE INDEX course_progress_family ON stockking.course_progress (family_id);
SELECT pg_catalog.pg_extension_config_dump('stockking.course_progress', '');
COMMENT ON TABLE stockking.course_progress IS
    'a child''s course: started with the first lesson read, completed when every lesson is; its row lock serializes the child''s work in the course';

CREATE TABLE stockking.lesson_progress (
    user_id        uuid NOT NULL,
    lesson_id      integer NOT NULL REFERENCES stockking.lesson (id),
    course_id      integer NOT NULL REFERENCES stockking.course (id),
    family_id      uuid NOT NULL,
    read_at        timestamptz NOT NULL DEFAULT now(),
    quiz_passed_at timestamptz,
    completed_at   timestamptz,
    PRIMARY KEY (user_id, lesson_id),
    CHECK ((completed_at IS NULL) = (quiz_passed_at IS NULL))
);
CREATE INDEX lesson_progress_course ON stockking.lesson_progress (user_id, course_id);
CREATE INDEX lesson_progress_family ON stockking.lesson_progress (family_id);
SELECT pg_catalog.pg_extension_config_dump('stockking.lesson_progress', '');
COMMENT ON TABLE stockking.lesson_progress IS 'a lesson a child read (read_at) and completed (its quiz passed)';

CREATE TABLE stockking.quiz_result (
    user_id           uuid NOT NULL,
    quiz_id           integer NOT NULL REFERENCES stockking.quiz (id),
    family_id         uuid NOT NULL,
    attempts          integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    best_correct      integer NOT NULL DEFAULT 0 CHECK (best_correct >= 0),
    total             integer,
    passed_at         timestamptz,
    reward_account_id bigint,
    reward_amount     bigint CHECK (reward_amount >= 0),
    reward_currency   char(3),
    reward_xp         integer,
    updated_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, quiz_id),
    CHECK (reward_account_id IS NULL OR passed_at IS NOT NULL)
);
CREATE INDEX quiz_result_family ON stockking.quiz_result (family_id);
SELECT pg_catalog.pg_extension_config_dump('stockking.quiz_result', '');
COMMENT ON TABLE stockking.quiz_result IS
    'a child''s standing in a quiz: attempts, best score, the pass and the game money it paid once (reward_amount minor units of reward_currency to reward_account_id); its row lock serializes attempts';

CREATE TABLE stockking.quiz_attempt (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id      uuid NOT NULL,
    family_id    uuid NOT NULL,
    quiz_id      integer NOT NULL REFERENCES stockking.quiz (id),
    attempt_no   integer NOT NULL CHECK (attempt_no > 0),
    seoul_day    date NOT NULL,
    answers      jsonb NOT NULL,
    correct_ids  integer[] NOT NULL,
    correct      integer NOT NULL CHECK (correct >= 0),
    total        integer NOT NULL CHECK (total > 0 AND correct <= total),
    passed       boolean NOT NULL,
    submitted_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (user_id, quiz_id, attempt_no)
);
CREATE INDEX quiz_attempt_day ON stockking.quiz_attempt (user_id, quiz_id, seoul_day);
CREATE INDEX quiz_attempt_family ON stockking.quiz_attempt (family_id);
SELECT pg_catalog.pg_extension_config_dump('stockking.quiz_attempt', '');
COMMENT ON TABLE stockking.quiz_attempt IS
    'one graded attempt: answers {"<question id>": answer} as sent, correct_ids the questions answered right, seoul_day the Asia/Seoul day it counts against';

CREATE TABLE stockking.certificate (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id         uuid NOT NULL,
    family_id       uuid NOT NULL,
    course_id       integer NOT NULL REFERENCES stockking.course (id),
    holder_nickname text NOT NULL,
    issued_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (user_id, course_id)
);
CREATE INDEX certificate_family ON stockking.certificate (family_id);
SELECT pg_catalog.pg_extension_config_dump('stockking.certificate', '');
COMMENT ON TABLE stockking.certificate IS
    'a certificate of a completed course; its id (random, 122 bits) verifies it publicly, showing only the nickname at issue, the course and the date';

CREATE TABLE stockking.learning_streak (
    user_id      uuid PRIMARY KEY,
    family_id    uuid NOT NULL,
    current_days integer NOT NULL DEFAULT 0 CHECK (current_days >= 0),
    longest_days integer NOT NULL DEFAULT 0 CHECK (longest_days >= current_days),
    last_day     date,
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX learning_streak_family ON stockking.learning_streak (family_id);
SELECT pg_catalog.pg_extension_config_dump('stockking.learning_streak', '');
COMMENT ON TABLE stockking.learning_streak IS
    'a child''s run of consecutive Asia/Seoul learning days (a lesson read the first time, a quiz submitted, a market quiz answered) up to last_day';

CREATE TABLE stockking.market_quiz_answer (
    user_id       uuid NOT NULL,
    season_id     integer NOT NULL REFERENCES stockking.season (id),
    question_date date NOT NULL,
    family_id     uuid NOT NULL,
    kind          text NOT NULL,
    question      jsonb NOT NULL,
    choice        smallint NOT NULL,
    right_choice  smallint NOT NULL,
    correct       boolean NOT NULL,
    answered_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, season_id, question_date)
);
CREATE INDEX market_quiz_answer_family ON stockking.market_quiz_answer (family_id);
SELECT pg_catalog.pg_extension_config_dump('stockking.market_quiz_answer', '');
COMMENT ON TABLE stockking.market_quiz_answer IS
    'a child''s answer to the market question of a season''s clock date (question as shown), graded from price_bar when answered';

ALTER TABLE stockking.course_progress ENABLE ROW LEVEL SECURITY;
ALTER TABLE stockking.lesson_progress ENABLE ROW LEVEL SECURITY;
ALTER TABLE stockking.quiz_result ENABLE ROW LEVEL SECURITY;
ALTER TABLE stockking.quiz_attempt ENABLE ROW LEVEL SECURITY;
ALTER TABLE stockking.certificate ENABLE ROW LEVEL SECURITY;
ALTER TABLE stockking.learning_streak ENABLE ROW LEVEL SECURITY;
ALTER TABLE stockking.market_quiz_answer ENABLE ROW LEVEL SECURITY;
CREATE POLICY course_progress_read ON stockking.course_progress FOR SELECT USING (stockking.can_read(family_id, user_id));
CREATE POLICY course_progress_write ON stockking.course_progress FOR ALL USING (stockking.can_write(user_id))
    WITH CHECK (stockking.can_write(user_id));
CREATE POLICY lesson_progress_read ON stockking.lesson_progress FOR SELECT USING (stockking.can_read(family_id, user_id));
CREATE POLICY lesson_progress_write ON stockking.lesson_progress FOR ALL USING (stockking.can_write(user_id))
    WITH CHECK (stockking.can_write(user_id));
CREATE POLICY quiz_result_read ON stockking.quiz_result FOR SELECT USING (stockking.can_read(family_id, user_id));
CREATE POLICY quiz_result_write ON stockking.quiz_result FOR ALL USING (stockking.can_write(user_id))
    WITH CHECK (stockking.can_write(user_id));
CREATE POLICY quiz_attempt_read ON stockking.quiz_attempt FOR SELECT USING (stockking.can_read(family_id, user_id));
CREATE POLICY quiz_attempt_insert ON stockking.quiz_attempt FOR INSERT WITH CHECK (stockking.can_write(user_id));
CREATE POLICY certificate_read ON stockking.certificate FOR SELECT USING (stockking.can_read(family_id, user_id));
CREATE POLICY certificate_insert ON stockking.certificate FOR INSERT WITH CHECK (stockking.can_write(user_id));
CREATE POLICY learning_streak_read ON stockking.learning_streak FOR SELECT USING (stockking.can_read(family_id, user_id));
CREATE POLICY learning_streak_write ON stockking.learning_streak FOR ALL USING (stockking.can_write(user_id))
    WITH CHECK (stockking.can_write(user_id));
CREATE POLICY market_quiz_answer_read ON stockking.market_quiz_answer FOR SELECT
    USING (stockking.can_read(family_id, user_id));
CREATE POLICY market_quiz_answer_insert ON stockking.market_quiz_answer FOR INSERT
    WITH CHECK (stockking.can_write(user_id));
GRANT SELECT, INSERT, UPDATE ON stockking.course_progress, stockking.lesson_progress, stockking.quiz_result,
    stockking.learning_streak TO stockking_definer;
GRANT SELECT, INSERT ON stockking.quiz_attempt, stockking.certificate, stockking.market_quiz_answer
    TO stockking_definer;

-- What a certificate's public check may show (read past row-level security,
-- as stockking_system owns it: sql/98_system.sql; nothing else of the child
-- is reachable through it).
CREATE VIEW stockking.certificate_public AS
    SELECT c.id, c.holder_nickname, c.issued_at, co.id AS course_id, co.code AS course_code, co.title AS course_title
      FROM stockking.certificate c JOIN stockking.course co ON co.id = c.course_id;
GRANT SELECT ON stockking.certificate_public TO stockking_definer;

-- Badges and missions of learning (granted by extension/education.c through
-- the progress functions of missions.c).
INSERT INTO stockking.badge VALUES
    ('FIRST_LESSON', '첫 수업', 'Read a lesson for the first time.', 30, 50),
    ('FIRST_QUIZ_PASSED', '첫 퀴즈 통과', 'Passed a lesson quiz for the first time.', 50, 60),
    ('PERFECT_QUIZ', '퀴즈 만점', 'Answered every question of a lesson quiz right.', 50, 70),
    ('FIRST_CERTIFICATE', '첫 수료증', 'Completed a course and earned its certificate.', 200, 80),
    ('LEARNING_STREAK_7', '7일 연속 학습', 'Learned on seven days in a row (Asia/Seoul days).', 100, 90),
    ('MARKET_WATCHER', '시장 관찰자', 'Answered a market quiz right.', 50, 100);
INSERT INTO stockking.mission VALUES
    ('DAILY_LESSON', 'DAILY', '오늘 수업 1개 듣기', 'Read a lesson you had not read before, today.', 1, 20, 3000, 300, 50, true),
    ('WEEKLY_QUIZ_THREE', 'WEEKLY', '이번 주 퀴즈 3개 통과하기', 'Pass three lesson quizzes this week.', 3, 50, 10000, 1000, 60, true);

-- The loader and the rules (extension/education.c).
CREATE FUNCTION stockking.load_education(dir text) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'stockking_load_education'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
REVOKE ALL ON FUNCTION stockking.load_education(text) FROM PUBLIC;
COMMENT ON FUNCTION stockking.load_education(text) IS
    'Load every <dir>/*.json course file (data/education: one course each, lessons in order, each with its quiz; the '
    'format is in data/README.md) into course, lesson, quiz, quiz_question and course_prerequisite.  Reads the files '
    'on the server (superuser or pg_read_server_files; dir absolute).  Every field is checked (types, lengths, codes, '
    'ages, choices and answers, prerequisites naming courses of the load without cycles, lesson and question codes '
    'unique); a malformed file raises SK300 naming the file, the line and the fault, and nothing is loaded.  The '
    'tables are made equal to the files: new or changed rows written, rows no longer in the files retired (active '
    'false); loading the same files again writes nothing.  Returns {"files", "courses", "lessons", "quizzes", '
    '"questions", "prerequisites"}, each with its "rows", "inserted", "updated" and "retired" (or "deleted") counts.';

CREATE FUNCTION stockking.learning_streak_next(last_day date, current_days integer, longest_days integer, day date,
                                               OUT current_days integer, OUT longest_days integer)
    AS 'MODULE_PATHNAME', 'stockking_learning_streak_next'
    LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION stockking.learning_streak_next(date, integer, integer, date) IS
    'the learning streak after learning on day: the last learning day again changes nothing, the next day adds one, '
    'a later day (or a first one: last_day NULL) starts at one; longest_days is the best run';

-- JSON shapes and states for the read APIs.

CREATE FUNCTION stockking.course_progress_json(p_user uuid, p_course integer) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
    SELECT jsonb_build_object(
        'started_at', cp.started_at, 'completed_at', cp.completed_at,
        'lessons_total', t.total, 'lessons_read', t.read, 'quizzes_passed', t.passed,
        'lessons_completed', t.completed,
        'percent', CASE WHEN cp.completed_at IS NOT NULL THEN 100 WHEN t.total = 0 THEN 0
                        ELSE (t.read + t.passed) * 100 / (2 * t.total) END)
      FROM (SELECT count(*) AS total, count(lp.read_at) AS read, count(lp.quiz_passed_at) AS passed,
                   count(lp.completed_at) AS completed
              FROM stockking.lesson l
              LEFT JOIN stockking.lesson_progress lp ON lp.lesson_id = l.id AND lp.user_id = p_user
             WHERE l.course_id = p_course AND l.active) t
      LEFT JOIN stockking.course_progress cp ON cp.user_id = p_user AND cp.course_id = p_course
    $$;
COMMENT ON FUNCTION stockking.course_progress_json(uuid, integer) IS
    'a child''s progress in a course: {"started_at","completed_at","lessons_total","lessons_read","quizzes_passed",'
    '"lessons_completed","percent"}; percent = floor(100 x (lessons read + quizzes passed) / (2 x lessons)), 100 once completed';

-- the prerequisite courses of a course the user has not completed
CREATE FUNCTION stockking.course_missing(p_user uuid, p_course integer) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
    SELECT coalesce(jsonb_agg(jsonb_build_object('id', r.id, 'code', r.code, 'title', r.title)
                              ORDER BY r.position, r.code), '[]')
      FROM stockking.course_prerequisite p JOIN stockking.course r ON r.id = p.requires_id
     WHERE p.course_id = p_course AND r.active
       AND NOT EXISTS (SELECT 1 FROM stockking.course_progress cp
                        WHERE cp.user_id = p_user AND cp.course_id = r.id AND cp.completed_at IS NOT NULL)
    $$;

CREATE FUNCTION stockking.streak_json(p_user uuid) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
    SELECT jsonb_build_object(
        'current_days', CASE WHEN s.last_day >= stockking.seoul_day(now()) - 1 THEN s.current_days ELSE 0 END,
        'longest_days', coalesce(s.longest_days, 0), 'last_day', s.last_day,
        'learned_today', coalesce(s.last_day = stockking.seoul_day(now()), false))
      FROM (SELECT 1) one LEFT JOIN stockking.learning_streak s ON s.user_id = p_user
    $$;
COMMENT ON FUNCTION stockking.streak_json(uuid) IS
    'a child''s learning streak now: {"current_days" (0 once a whole Asia/Seoul day passed without learning),'
    '"longest_days","last_day","learned_today"}';

CREATE FUNCTION stockking.certificate_json(c stockking.certificate) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
    SELECT jsonb_build_object('id', c.id, 'nickname', c.holder_nickname, 'issued_at', c.issued_at,
                              'issued_on', stockking.seoul_day(c.issued_at),
                              'course', jsonb_build_object('id', co.id, 'code', co.code, 'title', co.title),
                              'verify_path', '/v1/education/certificates/' || c.id)
      FROM stockking.course co WHERE co.id = c.course_id
    $$;

CREATE FUNCTION stockking.course_json(c stockking.course, p_user uuid) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
    SELECT jsonb_build_object(
        'id', c.id, 'code', c.code, 'title', c.title, 'summary', c.summary,
        'age_min', c.age_min, 'age_max', c.age_max, 'position', c.position, 'authors', c.authors,
        'lessons', (SELECT count(*) FROM stockking.lesson l WHERE l.course_id = c.id AND l.active),
        'minutes', (SELECT coalesce(sum(l.minutes), 0) FROM stockking.lesson l WHERE l.course_id = c.id AND l.active),
        'prerequisites', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                                     'id', r.id, 'code', r.code, 'title', r.title,
                                     'completed', EXISTS (SELECT 1 FROM stockking.course_progress cp
                                                           WHERE cp.user_id = p_user AND cp.course_id = r.id
                                                             AND cp.completed_at IS NOT NULL))
                                 ORDER BY r.position, r.code), '[]')
                            FROM stockking.course_prerequisite p JOIN stockking.course r ON r.id = p.requires_id
                           WHERE p.course_id = c.id AND r.active),
        'locked', jsonb_array_length(stockking.course_missing(p_user, c.id)) > 0,
        'rewards', jsonb_build_object('lesson_xp', c.lesson_xp, 'quiz_xp', c.quiz_xp,
                                      'quiz_reward', jsonb_build_object('KRW', c.quiz_reward_krw,
                                                                        'USD', round(c.quiz_reward_usd / 100.0, 2)),
                                      'course_xp', c.completion_xp),
        'progress', stockking.course_progress_json(p_user, c.id),
        'certificate_id', (SELECT ce.id FROM stockking.certificate ce WHERE ce.user_id = p_user AND ce.course_id = c.id))
    $$;

-- why a lesson is closed to the user: null when open
CREATE FUNCTION stockking.lesson_lock(p_user uuid, l stockking.lesson) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
    SELECT CASE
        WHEN jsonb_array_length(stockking.course_missing(p_user, l.course_id)) > 0
            THEN jsonb_build_object('code', 'SK301', 'reason', 'course_locked',
                                    'complete_courses', stockking.course_missing(p_user, l.course_id))
        WHEN e.id IS NOT NULL
            THEN jsonb_build_object('code', 'SK302', 'reason', 'lesson_locked', 'complete_lesson_id', e.id,
                                    'complete_lesson', e.title)
        END
      FROM (SELECT 1) one
      LEFT JOIN LATERAL (SELECT x.id, x.title FROM stockking.lesson x
                          WHERE x.course_id = l.course_id AND x.active AND x.position < l.position
                            AND NOT EXISTS (SELECT 1 FROM stockking.lesson_progress lp
                                             WHERE lp.user_id = p_user AND lp.lesson_id = x.id
                                               AND lp.completed_at IS NOT NULL)
                          ORDER BY x.position LIMIT 1) e ON true
    $$;

-- The read APIs.  They show a child's own state, or a parent's child's
-- (child_id, through row-level security: stockking.progress_user).

CREATE FUNCTION api.list_courses(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v_user  uuid := stockking.progress_user(args);
    v_age   bigint := stockking.arg_bigint(args, 'age', false);
    -- the child's age this year (Korean "연 나이": this year minus the birth year), from the profile
    v_years integer := (SELECT extract(year FROM stockking.seoul_day(now()))::integer - u.birth_year
                          FROM stockking.users u WHERE u.id = v_user);
BEGIN
    IF v_age NOT BETWEEN 5 AND 18 THEN
        RAISE EXCEPTION 'field "age" must be between 5 and 18' USING ERRCODE = '22023';
    END IF;
    RETURN jsonb_build_object(
        'user_id', v_user,
        'age', v_years,
        'items', (SELECT coalesce(jsonb_agg(stockking.course_json(c, v_user)
                                                || jsonb_build_object('suits_age', v_years BETWEEN c.age_min AND c.age_max)
                                            ORDER BY c.position, c.code), '[]')
                    FROM stockking.course c
                   WHERE c.active AND (v_age IS NULL OR v_age BETWEEN c.age_min AND c.age_max)),
        'streak', stockking.streak_json(v_user));
END
$$;
COMMENT ON FUNCTION api.list_courses(jsonb) IS
$$GET /v1/education/courses?age=&child_id= (signed in): the courses, in order, with the caller's (or, for a parent, a child's)
progress.  Args: {"age": 5..18 (optional: only courses whose age band holds it), "child_id" (optional, parents)}.
Returns {"user_id", "age" (this year minus the profile's birth_year, null when not given), "items": [{"id","code","title",
"summary","age_min","age_max","suits_age" (the age is in the band; null without a birth year),"position","authors","lessons" (count),
"minutes" (reading time),"prerequisites": [{"id","code","title","completed"}],"locked" (a prerequisite is not completed),
"rewards": {"lesson_xp","quiz_xp","quiz_reward": {"KRW": won, "USD": dollars},"course_xp"},"progress": {"started_at",
"completed_at","lessons_total","lessons_read","quizzes_passed","lessons_completed","percent" (floor of 100 x (lessons read
+ quizzes passed) / (2 x lessons))},"certificate_id"}], "streak": {"current_days","longest_days","last_day","learned_today"}}.
Errors: 22023 (400) bad age or child_id; P0002 (404) a child_id not visible to the caller; 28000 (401).
Source: seed 003 section 2.7 (courses, lessons, progress); data/education.$$;

CREATE FUNCTION api.get_course(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v_user uuid := stockking.progress_user(args);
    v_id   bigint := stockking.arg_bigint(args, 'id');
    c      stockking.course;
BEGIN
    SELECT * INTO c FROM stockking.course WHERE id = v_id AND active;
    IF c.id IS NULL THEN
        RAISE EXCEPTION 'course % not found', v_id USING ERRCODE = 'P0002';
    END IF;
    RETURN stockking.course_json(c, v_user) || jsonb_build_object(
        'user_id', v_user,
        'lessons', (SELECT jsonb_agg(jsonb_build_object(
                               'id', l.id, 'code', l.code, 'position', l.position, 'title', l.title,
                               'minutes', l.minutes, 'quiz_id', q.id,
                               'questions', (SELECT count(*) FROM stockking.quiz_question e
                                              WHERE e.quiz_id = q.id AND e.active),
                               'read', lp.read_at IS NOT NULL, 'quiz_passed', lp.quiz_passed_at IS NOT NULL,
                               'completed', lp.completed_at IS NOT NULL,
                               'locked', stockking.lesson_lock(v_user, l) IS NOT NULL)
                           ORDER BY l.position)
                      FROM stockking.lesson l
                      LEFT JOIN stockking.quiz q ON q.lesson_id = l.id
                      LEFT JOIN stockking.lesson_progress lp ON lp.lesson_id = l.id AND lp.user_id = v_user
                     WHERE l.course_id = c.id AND l.active));
END
$$;
COMMENT ON FUNCTION api.get_course(jsonb) IS
$$GET /v1/education/courses/:id?child_id= (signed in): one course as in the list, with "lessons": [{"id","code","position",
"title","minutes","quiz_id","questions" (count),"read","quiz_passed","completed","locked"}] in order.
Errors: 22023 (400) malformed id or child_id; P0002 (404) no such course, or a child_id not visible; 28000 (401).$$;

CREATE FUNCTION api.get_lesson(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v_user uuid := stockking.progress_user(args);
    v_id   bigint := stockking.arg_bigint(args, 'id');
    l      stockking.lesson;
    c      stockking.course;
    q      stockking.quiz;
    lp     stockking.lesson_progress;
    r      stockking.quiz_result;
    v_today bigint;
BEGIN
    SELECT * INTO l FROM stockking.lesson WHERE id = v_id AND active;
    SELECT * INTO c FROM stockking.course WHERE id = l.course_id AND active;
    IF c.id IS NULL THEN
        RAISE EXCEPTION 'lesson % not found', v_id USING ERRCODE = 'P0002';
    END IF;
    SELECT * INTO q FROM stockking.quiz WHERE lesson_id = l.id;
    SELECT * INTO lp FROM stockking.lesson_progress WHERE user_id = v_user AND lesson_id = l.id;
    SELECT * INTO r FROM stockking.quiz_result WHERE user_id = v_user AND quiz_id = q.id;
    SELECT count(*) INTO v_today FROM stockking.quiz_attempt a
     WHERE a.user_id = v_user AND a.quiz_id = q.id AND a.seoul_day = stockking.seoul_day(now());
    RETURN jsonb_build_object(
        'id', l.id, 'code', l.code, 'position', l.position, 'title', l.title, 'minutes', l.minutes,
        'body', to_jsonb(l.body), 'key_points', to_jsonb(l.key_points),
        'course', jsonb_build_object('id', c.id, 'code', c.code, 'title', c.title),
        'previous_lesson_id', (SELECT x.id FROM stockking.lesson x WHERE x.course_id = l.course_id AND x.active
                                  AND x.position < l.position ORDER BY x.position DESC LIMIT 1),
        'next_lesson_id', (SELECT x.id FROM stockking.lesson x WHERE x.course_id = l.course_id AND x.active
                              AND x.position > l.position ORDER BY x.position LIMIT 1),
        'user_id', v_user,
        'lock', stockking.lesson_lock(v_user, l),
        'progress', jsonb_build_object('read_at', lp.read_at, 'quiz_passed_at', lp.quiz_passed_at,
                                       'completed_at', lp.completed_at),
        'quiz', CASE WHEN q.id IS NOT NULL THEN jsonb_build_object(
            'id', q.id, 'pass_percent', q.pass_percent, 'max_attempts_per_day', q.max_attempts_per_day,
            'attempts', coalesce(r.attempts, 0), 'attempts_today', v_today,
            'attempts_left_today', CASE WHEN r.passed_at IS NOT NULL THEN 0
                                        ELSE greatest(q.max_attempts_per_day - v_today, 0) END,
            'best_correct', coalesce(r.best_correct, 0), 'passed_at', r.passed_at,
            'questions', (SELECT jsonb_agg(jsonb_build_object('id', e.id, 'position', e.position, 'kind', e.kind,
                                                              'prompt', e.prompt, 'choices', to_jsonb(e.choices),
                                                              'unit', e.unit) ORDER BY e.position)
                            FROM stockking.quiz_question e WHERE e.quiz_id = q.id AND e.active)) END);
END
$$;
COMMENT ON FUNCTION api.get_lesson(jsonb) IS
$$GET /v1/education/lessons/:id?child_id= (signed in): a lesson to read, with its quiz's questions -- never their answers.
Returns {"id","code","position","title","minutes","body": [paragraphs],"key_points": [...],"course": {"id","code","title"},
"previous_lesson_id","next_lesson_id","user_id","lock": null when open, else {"code": "SK301"|"SK302","reason",
"complete_courses"|"complete_lesson_id","complete_lesson"} (what to finish first),"progress": {"read_at","quiz_passed_at",
"completed_at"},"quiz": {"id","pass_percent","max_attempts_per_day","attempts","attempts_today","attempts_left_today"
(Asia/Seoul day),"best_correct","passed_at","questions": [{"id","position","kind" SINGLE|MULTIPLE|NUMBER,"prompt",
"choices" (numbered from 1; null for NUMBER),"unit" (NUMBER)}]}}.  Reading changes nothing: the child marks a lesson read
with POST /v1/education/lessons/:id/complete.
Errors: 22023 (400) malformed id or child_id; P0002 (404) no such lesson, or a child_id not visible; 28000 (401).$$;

CREATE FUNCTION api.complete_lesson(args jsonb) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'stockking_complete_lesson'
    LANGUAGE C VOLATILE STRICT SECURITY DEFINER SET search_path = pg_catalog, stockking;
COMMENT ON FUNCTION api.complete_lesson(jsonb) IS
$$POST /v1/education/lessons/:id/complete (CHILD): the caller has read the lesson.  The first time: the course is started,
the course's lesson_xp, badge FIRST_LESSON, daily mission DAILY_LESSON, a learning day for the streak, event LessonRead
(FAMILY); again: nothing changes.  The lesson is completed when its quiz is passed (POST /v1/education/quiz).
Returns {"lesson_id","course_id","read_at","first_read","xp_earned","quiz_id","quiz_passed_at","completed_at",
"next_lesson_id","course_progress": {...},"streak": {...}}.
Errors: 22023 (400) malformed id; P0002 (404) no such lesson; SK301 (409) the course's prerequisites are not completed;
SK302 (409) an earlier lesson of the course is not completed; SK009 (403) not a CHILD; 28000 (401).$$;

CREATE FUNCTION api.submit_quiz(args jsonb) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'stockking_submit_quiz'
    LANGUAGE C VOLATILE STRICT SECURITY DEFINER SET search_path = pg_catalog, stockking;
COMMENT ON FUNCTION api.submit_quiz(jsonb) IS
$$POST /v1/education/quiz (CHILD): grade an attempt at a lesson's quiz, in the database, from the answers stored there.
Args: {"quiz_id", "answers": [{"question_id", "answer": a choice number (SINGLE), an array of choice numbers (MULTIPLE), a
whole number (NUMBER; a string may group digits with commas)}], every question once; "season_id" (optional: the account
the reward goes to, else the default one)}.  Right: SINGLE the right choice, MULTIPLE exactly the right set, NUMBER equal.
Passed when correct x 100 >= pass_percent x questions.  The first pass completes the lesson and pays once: quiz_xp, badges
FIRST_QUIZ_PASSED (and PERFECT_QUIZ for a full score), weekly mission WEEKLY_QUIZ_THREE, and game money: the course's
quiz_reward_krw won (KRW account) or quiz_reward_usd cents (USD) as a REWARD entry of the cash ledger that is a
contribution (returns do not count it), event QuizPassed (FAMILY); when it was the course's last lesson, the course is
completed: certificate, course_xp, badge FIRST_CERTIFICATE, event CourseCompleted.  Two submissions at once run one after
the other (the child's course progress row lock): the reward is paid once.
Returns {"quiz_id","lesson_id","attempt","score": {"correct","total","percent"},"passed","pass_percent","attempts_today",
"attempts_left_today","answers_revealed","questions": [{"id","position","kind","correct","your_answer", and when
answers_revealed "right_answer","explanation"}],"xp_earned","reward": {"account_id","amount","currency"} or null,"lesson",
"course_progress","certificate" (when this attempt completed the course) or null,"streak"}.  The right answers and
explanations come with a passing attempt or with the day's last allowed attempt; before that only which answers were wrong.
Errors: 22023 (400) malformed quiz_id or answers (unknown question, answered twice or not at all, a choice out of range),
nothing recorded; P0002 (404) no such quiz; SK303 (409) the lesson is not read; SK304 (409) max_attempts_per_day attempts
today already (the detail says when the next day starts); SK305 (409) passed already; SK301/SK302 (409) as for lessons;
SK010 (404) no account for the reward; SK009 (403) not a CHILD; 28000 (401).$$;

CREATE FUNCTION api.education_progress(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v_user uuid := stockking.progress_user(args);
    u      stockking.users;
BEGIN
    SELECT * INTO u FROM stockking.users WHERE id = v_user;
    IF u.id IS NULL THEN
        RAISE EXCEPTION 'user % not found', v_user USING ERRCODE = 'P0002';
    END IF;
    RETURN jsonb_build_object(
        'user_id', u.id, 'nickname', u.nickname,
        'xp', coalesce((SELECT p.xp FROM stockking.user_progress p WHERE p.user_id = u.id), 0),
        'level', stockking.level_for_xp(coalesce((SELECT p.xp FROM stockking.user_progress p WHERE p.user_id = u.id), 0)),
        'streak', stockking.streak_json(u.id),
        'lessons_read', (SELECT count(*) FROM stockking.lesson_progress lp WHERE lp.user_id = u.id),
        'quizzes_passed', (SELECT count(*) FROM stockking.quiz_result r WHERE r.user_id = u.id AND r.passed_at IS NOT NULL),
        'quiz_attempts', (SELECT count(*) FROM stockking.quiz_attempt a WHERE a.user_id = u.id),
        'courses', (SELECT coalesce(jsonb_agg(jsonb_build_object('id', c.id, 'code', c.code, 'title', c.title)
                                              || stockking.course_progress_json(u.id, c.id)
                                              ORDER BY c.position, c.code), '[]')
                      FROM stockking.course c
                     WHERE c.active OR EXISTS (SELECT 1 FROM stockking.course_progress cp
                                                WHERE cp.user_id = u.id AND cp.course_id = c.id)),
        'certificates', (SELECT coalesce(jsonb_agg(stockking.certificate_json(ce) ORDER BY ce.issued_at), '[]')
                           FROM stockking.certificate ce WHERE ce.user_id = u.id),
        'market_quiz', (SELECT jsonb_build_object('answered', count(*), 'correct', count(*) FILTER (WHERE m.correct))
                          FROM stockking.market_quiz_answer m WHERE m.user_id = u.id));
END
$$;
COMMENT ON FUNCTION api.education_progress(jsonb) IS
$$GET /v1/education/progress?child_id= (signed in): a child's learning at a glance -- the caller's own, or for a parent
(child_id) a child of the family (row-level security: no other family's).  Returns {"user_id","nickname","xp","level",
"streak": {"current_days","longest_days","last_day","learned_today"},"lessons_read","quizzes_passed","quiz_attempts",
"courses": [{"id","code","title","started_at","completed_at","lessons_total","lessons_read","quizzes_passed",
"lessons_completed","percent"}],"certificates": [certificate],"market_quiz": {"answered","correct"}}.
Errors: 22023 (400) malformed child_id; P0002 (404) a child_id not visible to the caller; 28000 (401).$$;

CREATE FUNCTION api.list_certificates(args jsonb) RETURNS jsonb
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
    SELECT jsonb_build_object('user_id', u, 'items',
               (SELECT coalesce(jsonb_agg(stockking.certificate_json(c) ORDER BY c.issued_at), '[]')
                  FROM stockking.certificate c WHERE c.user_id = u))
      FROM stockking.progress_user(args) u
    $$;
COMMENT ON FUNCTION api.list_certificates(jsonb) IS
$$GET /v1/education/certificates?child_id= (signed in): the caller's certificates (or a parent's child's), oldest first:
{"user_id","items": [{"id","nickname","issued_at","issued_on" (Asia/Seoul date),"course": {"id","code","title"},
"verify_path"}]}.  Errors: 22023 (400), P0002 (404) a child_id not visible; 28000 (401).$$;

CREATE FUNCTION api.verify_certificate(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v_text text := stockking.arg_text(args, 'id');
    c      stockking.certificate_public;
BEGIN
    IF v_text !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN
        RAISE EXCEPTION 'field "id" must be a certificate id (uuid)' USING ERRCODE = '22023';
    END IF;
    SELECT * INTO c FROM stockking.certificate_public WHERE id = v_text::uuid;
    IF c.id IS NULL THEN
        RAISE EXCEPTION 'certificate % not found', v_text USING ERRCODE = 'P0002';
    END IF;
    RETURN jsonb_build_object('id', c.id, 'valid', true, 'nickname', c.holder_nickname,
                              'course', jsonb_build_object('code', c.course_code, 'title', c.course_title),
                              'issued_on', stockking.seoul_day(c.issued_at), 'issued_at', c.issued_at,
                              'issuer', 'StockKing Kids');
END
$$;
COMMENT ON FUNCTION api.verify_certificate(jsonb) IS
$$GET /v1/education/certificates/:id (anyone): check a certificate by its id.  Returns {"id","valid": true,"nickname" (at
issue),"course": {"code","title"},"issued_on" (Asia/Seoul date),"issued_at","issuer"} -- nothing else of the child.
Errors: 22023 (400) not a uuid; P0002 (404) no such certificate.$$;

CREATE FUNCTION api.get_market_quiz(args jsonb) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'stockking_get_market_quiz'
    LANGUAGE C STABLE STRICT SECURITY DEFINER SET search_path = pg_catalog, stockking;
COMMENT ON FUNCTION api.get_market_quiz(jsonb) IS
$$GET /v1/education/market-quiz?season_id= (CHILD): the market question of the caller's season (season_id, else the default
account's) for its clock date, drawn from real price bars at or before the clock (a replay season's future stays hidden):
WEEK_UP_DOWN (did an index fund rise over the last complete week: its last close against the week before's), MONTH_UP_DOWN
(did a stock rise over the last complete month) or MONTH_BEST (which of three stocks did best that month).  The same child,
season and date always get the same question.  Returns {"season_id","date" (send it back),"kind","question","hint",
"choices": [...] (numbered from 1),"period": {"from","to"},"symbols","answered", and once answered "your_choice",
"right_choice","correct","explanation","answered_at"}.
Errors: SK322 (422) the bars cannot make a question; SK010 (404) no account in the season; SK009 (403) not a CHILD; 28000.$$;

CREATE FUNCTION api.answer_market_quiz(args jsonb) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'stockking_answer_market_quiz'
    LANGUAGE C VOLATILE STRICT SECURITY DEFINER SET search_path = pg_catalog, stockking;
COMMENT ON FUNCTION api.answer_market_quiz(jsonb) IS
$$POST /v1/education/market-quiz (CHILD): answer the market question.  Args: {"date": the question's date, "choice": 1..n,
"season_id" (optional)}.  Graded now from price_bar; once per child, season and date.  A right answer gives 10 XP and the
badge MARKET_WATCHER; any answer is a learning day.  Returns the question with "your_choice","right_choice","correct",
"explanation" (the closes compared, with the change in percent),"answered_at","xp_earned".
Errors: 22023 (400) missing date or choice, choice out of range; SK320 (409) date is not the season's clock date now;
SK321 (409) answered already; SK322 (422); SK010 (404); SK009 (403); 28000 (401).$$;

ALTER FUNCTION api.list_courses(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.get_course(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.get_lesson(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.complete_lesson(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.submit_quiz(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.education_progress(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.list_certificates(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.verify_certificate(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.get_market_quiz(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.answer_market_quiz(jsonb) OWNER TO stockking_definer;

INSERT INTO stockking.route (method, path, fn, roles, read_only, success_status, token, summary) VALUES
    ('GET', '/v1/education/courses', 'list_courses', '{}', true, 200, 'none', 'Courses with the learner''s progress'),
    ('GET', '/v1/education/courses/:id', 'get_course', '{}', true, 200, 'none', 'A course and its lessons'),
    ('GET', '/v1/education/lessons/:id', 'get_lesson', '{}', true, 200, 'none',
     'A lesson to read, with its quiz questions (no answers)'),
    ('POST', '/v1/education/lessons/:id/complete', 'complete_lesson', '{CHILD}', false, 200, 'none',
     'Mark a lesson read'),
    ('POST', '/v1/education/quiz', 'submit_quiz', '{CHILD}', false, 200, 'none',
     'Submit a quiz attempt: graded in the database'),
    ('GET', '/v1/education/progress', 'education_progress', '{}', true, 200, 'none',
     'A child''s learning: courses, streak, certificates'),
    ('GET', '/v1/education/certificates', 'list_certificates', '{}', true, 200, 'none', 'A child''s certificates'),
    ('GET', '/v1/education/certificates/:id', 'verify_certificate', NULL, true, 200, 'none',
     'Verify a certificate by its id'),
    ('GET', '/v1/education/market-quiz', 'get_market_quiz', '{CHILD}', true, 200, 'none',
     'Today''s question on the season''s real market'),
    ('POST', '/v1/education/market-quiz', 'answer_market_quiz', '{CHILD}', false, 200, 'none',
     'Answer the market question');

-- sql/91_news.sql
-- Economy news (seed 003 section 2.4: GET /api/market/news): items imported
-- from news feeds in the JSON Feed 1.1 format by stockking.import_news
-- (extension/news.c); the shipped feed is data/news/economy-news.json, with
-- its provenance in data/README.md.  A replay season shows only the items
-- published by the end of its clock's trading day, so news never tells a
-- time traveller the future.

INSERT INTO stockking.error_code VALUES
    ('SK350', 400, 'bad_news_feed', 'a news feed file is malformed (the message gives the file and line)');

CREATE TABLE stockking.news_item (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    guid         text NOT NULL UNIQUE CHECK (length(guid) BETWEEN 1 AND 200),
    published_at timestamptz NOT NULL,
    title        text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    summary      text NOT NULL CHECK (length(summary) BETWEEN 1 AND 1000),
    source       text NOT NULL CHECK (length(source) BETWEEN 1 AND 100),
    url          text NOT NULL CHECK (url ~ '^https?://[^[:space:]]+$'),
    language     text,
    symbols      text[] NOT NULL DEFAULT '{}',
    tags         text[] NOT NULL DEFAULT '{}',
    feed         text NOT NULL,
    imported_at  timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX news_item_published ON stockking.news_item (published_at DESC, id DESC);
CREATE INDEX news_item_symbols ON stockking.news_item USING gin (symbols);
SELECT pg_catalog.pg_extension_config_dump('stockking.news_item', '');
COMMENT ON TABLE stockking.news_item IS
    'an economy news item from a feed (guid = the feed item''s id): title, summary, the publisher (source) and the link; symbols are the instruments it is about';
GRANT SELECT ON stockking.news_item TO stockking_definer;

CREATE FUNCTION stockking.import_news(path text) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'stockking_import_news'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
REVOKE ALL ON FUNCTION stockking.import_news(text) FROM PUBLIC;
COMMENT ON FUNCTION stockking.import_news(text) IS
    'Import a news feed file (absolute path; superuser or pg_read_server_files) in the JSON Feed 1.1 format into '
    'stockking.news_item.  Each item needs "id" (unique in the file), "url" (http/https), "title" (1..200), "summary" '
    '(1..1000), "date_published" (RFC 3339 with an offset, not in the future) and "_stockking": {"source": the '
    'publisher, "symbols": instruments of stockking.instrument}; "language" and "tags" are kept; other JSON Feed '
    'fields are checked for their type and not kept; fields outside JSON Feed must be extensions ("_name").  A fault '
    'raises SK350 naming the file, the line and the fault, and nothing is imported.  Items are upserted by id: new '
    'ones inserted, changed ones updated, none deleted; importing the same file again writes nothing.  Returns '
    '{"file", "items", "inserted", "updated", "unchanged", "first", "last"}.';

-- The moment up to which a season may read news: a REPLAY season's clock
-- is a trading day of its calendar instrument's market, and the news of
-- that whole day (in the market's time zone) is known; a LIVE season reads
-- up to now (not past its end_date).
CREATE FUNCTION stockking.news_cutoff(p_season integer) RETURNS timestamptz
    LANGUAGE sql STABLE
    AS $$
    SELECT CASE WHEN s.mode = 'REPLAY'
                THEN ((s.clock_date + 1)::timestamp AT TIME ZONE coalesce(m.timezone, 'Asia/Seoul'))
                     - interval '1 microsecond'
                ELSE least(now(), ((s.end_date + 1)::timestamp AT TIME ZONE 'Asia/Seoul') - interval '1 microsecond')
           END
      FROM stockking.season s
      LEFT JOIN stockking.instrument i ON i.symbol = s.calendar_symbol
      LEFT JOIN stockking.market m ON m.code = i.market
     WHERE s.id = p_season
    $$;
COMMENT ON FUNCTION stockking.news_cutoff(integer) IS
    'the last moment whose news a season may show: REPLAY the end of its clock date in its calendar market''s time zone, LIVE now (capped at the end of end_date); NULL for no such season';

CREATE FUNCTION api.list_news(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v_season bigint := stockking.arg_bigint(args, 'season_id', false);
    v_symbol text := upper(btrim(stockking.arg_text(args, 'symbol', false)));
    v_limit  bigint := coalesce(stockking.arg_bigint(args, 'limit', false), 20);
    v_before bigint := stockking.arg_bigint(args, 'before', false);
    v_cutoff timestamptz := now();
    b        stockking.news_item;
    v_items  jsonb;
    v_count  integer;
BEGIN
    IF v_limit NOT BETWEEN 1 AND 50 THEN
        RAISE EXCEPTION 'field "limit" must be between 1 and 50' USING ERRCODE = '22023';
    END IF;
    IF v_season IS NOT NULL THEN
        v_cutoff := CASE WHEN v_season BETWEEN 1 AND 2147483647 THEN stockking.news_cutoff(v_season::integer) END;
        IF v_cutoff IS NULL THEN
            RAISE EXCEPTION 'season % does not exist', v_season USING ERRCODE = 'P0002';
        END IF;
    END IF;
    IF v_symbol IS NOT NULL THEN
        IF v_symbol !~ '^[A-Z0-9.]{1,12}$' THEN
            RAISE EXCEPTION 'field "symbol" must be a symbol of 1 to 12 letters, digits or dots' USING ERRCODE = '22023';
        END IF;
        IF NOT EXISTS (SELECT 1 FROM stockking.instrument i WHERE i.symbol = v_symbol) THEN
            RAISE EXCEPTION 'instrument "%" does not exist', v_symbol USING ERRCODE = 'P0002';
        END IF;
    END IF;
    IF v_before IS NOT NULL THEN
        SELECT * INTO b FROM stockking.news_item n WHERE n.id = v_before;
        IF b.id IS NULL THEN
            RAISE EXCEPTION 'news item % not found', v_before USING ERRCODE = 'P0002';
        END IF;
    END IF;
    SELECT coalesce(jsonb_agg(jsonb_build_object(
               'id', n.id, 'title', n.title, 'summary', n.summary, 'source', n.source, 'url', n.url,
               'published_at', n.published_at, 'language', n.language, 'tags', to_jsonb(n.tags),
               'symbols', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                                      'symbol', i.symbol, 'name', i.name,
                                      'path', '/v1/market/stocks/' || i.symbol) ORDER BY i.symbol), '[]')
                             FROM stockking.instrument i WHERE i.symbol = ANY (n.symbols)))
               ORDER BY n.published_at DESC, n.id DESC), '[]'),
           count(*)
      INTO v_items, v_count
      FROM (SELECT * FROM stockking.news_item n
             WHERE n.published_at <= v_cutoff
               AND (v_symbol IS NULL OR n.symbols @> ARRAY[v_symbol])
               AND (b.id IS NULL OR (n.published_at, n.id) < (b.published_at, b.id))
             ORDER BY n.published_at DESC, n.id DESC
             LIMIT v_limit) n;
    RETURN jsonb_build_object(
        'season_id', v_season,
        'clock', CASE WHEN v_season IS NOT NULL THEN stockking.season_clock(v_season::integer) END,
        'as_of', v_cutoff,
        'items', v_items,
        'next_before', CASE WHEN v_count = v_limit THEN v_items -> (v_count - 1) -> 'id' END);
END
$$;
ALTER FUNCTION api.list_news(jsonb) OWNER TO stockking_definer;
COMMENT ON FUNCTION api.list_news(jsonb) IS
$$GET /v1/market/news?season_id=&symbol=&limit=&before= (anyone): economy news, newest first.  Args: {"season_id" (optional:
a REPLAY season shows only items published by the end of its clock date in its market's time zone -- the replay's future
stays hidden; a LIVE season, or none, up to now), "symbol" (optional: items about that instrument), "limit": 1..50
(default 20), "before": an item id (the next page: items older than it)}.  Returns {"season_id","clock","as_of" (the last
moment shown),"items": [{"id","title","summary","source","url","published_at","language","tags","symbols": [{"symbol",
"name","path"}]}],"next_before" (the cursor of the next page, null at the end)}.
Errors: 22023 (400) bad season_id, symbol, limit or before; P0002 (404) unknown season, symbol or item.
Data: stockking.news_item (data/news via stockking.import_news).$$;

INSERT INTO stockking.route (method, path, fn, roles, read_only, success_status, token, summary) VALUES
    ('GET', '/v1/market/news', 'list_news', NULL, true, 200, 'none', 'Economy news (a replay season sees none of its future)');

-- sql/98_system.sql
-- A certificate checked by its id (sql/90_education.sql): anyone sees the
-- nickname at issue, the course and the date, through a view that shows
-- those columns only.
ALTER VIEW stockking.certificate_public OWNER TO stockking_system;
GRANT SELECT (id, holder_nickname, issued_at, course_id) ON stockking.certificate TO stockking_system;
GRANT SELECT (id, code, title) ON stockking.course TO stockking_system;

-- ===== The community board: issue 9 (sql/20, 80, 92, 98) ===================
-- Posts, comments, likes, reports and moderation; the profanity filter and the
-- personal-data detector; PUT /v1/users/me (nickname, avatar, birth year).
-- Before the dump and system sections: their loops register the identity
-- sequences of the board's tables and grant the family merge their family_id,
-- as in a fresh install.

-- sql/20_users.sql: the profile's two columns (last in the table, as here),
-- shown by GET and set by PUT /v1/users/me
ALTER TABLE stockking.users
    ADD COLUMN avatar text CHECK (avatar ~ '^[a-z_]{1,32}$'),
    ADD COLUMN birth_year smallint CHECK (birth_year BETWEEN 1900 AND 2999);
COMMENT ON COLUMN stockking.users.avatar IS 'one of the app''s built-in avatars (stockking.avatar_ids()), NULL for the default one; never a URL';
COMMENT ON COLUMN stockking.users.birth_year IS 'year of birth (PUT /v1/users/me), NULL when not given';
GRANT UPDATE (avatar, birth_year) ON stockking.users TO stockking_definer;

CREATE OR REPLACE FUNCTION api.me(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    u stockking.users;
BEGIN
    SELECT * INTO u FROM stockking.users WHERE id = stockking.require_user();
    IF u.id IS NULL THEN
        RAISE EXCEPTION 'user not found' USING ERRCODE = 'P0002';
    END IF;
    RETURN stockking.user_json(u) || jsonb_build_object(
        'avatar', u.avatar, 'birth_year', u.birth_year,
        'default_account_id', u.default_account_id,
        'accounts', coalesce((
            SELECT jsonb_agg(jsonb_build_object('id', a.id, 'season_id', a.season_id, 'season', s.name,
                                                'currency', a.currency) ORDER BY a.id)
              FROM stockking.account a JOIN stockking.season s ON s.id = a.season_id
             WHERE a.user_id = u.id), '[]'));
END
$$;
COMMENT ON FUNCTION api.me(jsonb) IS
$$The calling user.  Args: {}.  Returns the user with "avatar" and "birth_year" (PUT /v1/users/me sets them) and their
accounts [{"id","season_id","season","currency"}].
Errors: 28000 (401) no identity.$$;

-- sql/80_gamification.sql: other children's avatar beside their nickname
CREATE OR REPLACE VIEW stockking.users_public AS SELECT id, nickname, avatar FROM stockking.users;

-- sql/92_community.sql
INSERT INTO stockking.error_code VALUES
    ('SK401', 422, 'text_not_allowed',
     'the text contains words the board does not allow (strong swearing, slurs, sexual or hateful words; any bad word in a nickname)'),
    ('SK410', 422, 'personal_phone', 'the text contains a phone number: personal details are not shared on the board'),
    ('SK411', 422, 'personal_email', 'the text contains an e-mail address: personal details are not shared on the board'),
    ('SK412', 422, 'personal_address', 'the text contains a street address: personal details are not shared on the board'),
    ('SK413', 422, 'personal_account',
     'the text contains a bank account or card number: personal details are not shared on the board'),
    ('SK414', 422, 'personal_rrn',
     'the text contains a resident registration number: personal details are not shared on the board'),
    ('SK420', 429, 'community_rate_limited',
     'too many posts, comments or reports in a short time (limits per user: GET /v1/admin/community/settings)'),
    ('SK430', 409, 'no_league', 'the child plays in no league this week: write to the season instead'),
    ('SK431', 409, 'already_reported', 'the user reported this post or comment already (one report per user)'),
    ('SK432', 409, 'own_content', 'a user cannot report their own post or comment'),
    ('SK433', 409, 'community_state',
     'the post or comment is not in a state that allows this (hidden, deleted, or already in the state asked for)');

-- Settings: absent rows take the defaults below.
CREATE TABLE stockking.community_setting (
    name       text PRIMARY KEY
               CHECK (name IN ('report_hide_threshold', 'posts_per_hour', 'comments_per_minute', 'reports_per_hour')),
    value      integer NOT NULL CHECK (value BETWEEN 1 AND 10000),
    updated_by uuid,
    updated_at timestamptz NOT NULL DEFAULT now()
);
SELECT pg_catalog.pg_extension_config_dump('stockking.community_setting', '');
COMMENT ON TABLE stockking.community_setting IS
    'the board''s limits as an ADMIN set them; a name without a row has its default (stockking.community_limit)';

CREATE FUNCTION stockking.community_limit(p_name text) RETURNS integer
    LANGUAGE sql STABLE
    AS $$
    SELECT coalesce((SELECT s.value FROM stockking.community_setting s WHERE s.name = p_name), d.value)
      FROM (VALUES ('report_hide_threshold', 3), ('posts_per_hour', 5), ('comments_per_minute', 3),
                   ('reports_per_hour', 10)) AS d (name, value)
     WHERE d.name = p_name
    $$;
COMMENT ON FUNCTION stockking.community_limit(text) IS
    'a board limit: report_hide_threshold (distinct reporters that hide a post or comment, default 3), posts_per_hour (5), '
    'comments_per_minute (3), reports_per_hour (10); NULL for an unknown name';

-- The word list of the profanity filter (extension/profanity.c).  Patterns:
-- Hangul syllables, consonant jamo, Latin letters and digits, [...] for any
-- one of several, ^ "starts a word", $ "ends a word"; spaces are ignored.
-- MASK words are replaced by '*', REFUSE words refuse the text, ALLOW
-- entries cancel a bad word they overlap from its start or before (false
-- positives: 시발점, 수박씨).  The shipped rows are builtin; an ADMIN adds
-- others (dumped by pg_dump).
CREATE FUNCTION stockking.profanity_pattern_ok(pattern text) RETURNS boolean
    AS 'MODULE_PATHNAME', 'stockking_profanity_pattern_ok'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION stockking.profanity_pattern_ok(text) IS
    'true for a well-formed filter pattern; raises 22023 saying what is wrong otherwise';

CREATE TABLE stockking.profanity_word (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    pattern    text NOT NULL CHECK (length(pattern) <= 100 AND stockking.profanity_pattern_ok(pattern)),
    action     text NOT NULL CHECK (action IN ('MASK', 'REFUSE', 'ALLOW')),
    category   text NOT NULL CHECK (category IN ('SWEAR', 'INSULT', 'FAMILY', 'SEXUAL', 'HATE', 'EXCEPTION')),
    builtin    boolean NOT NULL DEFAULT false,
    added_by   uuid,
    created_at timestamptz DEFAULT now(),
    UNIQUE (action, pattern),
    CHECK ((action = 'ALLOW') = (category = 'EXCEPTION')),
    CHECK (builtin = (created_at IS NULL))
);
SELECT pg_catalog.pg_extension_config_dump('stockking.profanity_word', 'WHERE NOT builtin');
COMMENT ON TABLE stockking.profanity_word IS
    'the profanity filter''s words: MASK (masked with *), REFUSE (the text is refused, SK401) or ALLOW (an exception); builtin = shipped with the extension (no created_at: the same rows in every install)';

-- Every backend keeps the compiled list; a change tells them all, at commit.
CREATE FUNCTION stockking.relcache_changed() RETURNS trigger
    AS 'MODULE_PATHNAME', 'stockking_ledger_merchant_changed'
    LANGUAGE C;
COMMENT ON FUNCTION stockking.relcache_changed() IS
    'statement trigger: a relcache invalidation of the table it is on, so every backend drops what it cached from it (the C function of the ledger''s merchant cache, which is generic)';
CREATE TRIGGER profanity_word_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON stockking.profanity_word
    FOR EACH STATEMENT EXECUTE FUNCTION stockking.relcache_changed();

ALTER TABLE stockking.profanity_word ENABLE ROW LEVEL SECURITY;
CREATE POLICY profanity_word_read ON stockking.profanity_word FOR SELECT USING (true);
CREATE POLICY profanity_word_write ON stockking.profanity_word FOR ALL USING (stockking.is_admin() AND NOT builtin)
    WITH CHECK (stockking.is_admin() AND NOT builtin);
GRANT SELECT, INSERT, DELETE ON stockking.profanity_word TO stockking_definer;

-- The shipped words.  REFUSE: strong swearing (씨발 and its spellings),
-- slurs (병신 ...), insults to a family (패드립), sexual and hateful words.
-- MASK: the milder words children use when upset (존나, 지랄, 닥쳐, 꺼져 ...):
-- the post goes through with them masked.  A plain 시 form must start a word
-- (동시발표, 도시발전 are words); 18 needs a word after it that insults.
INSERT INTO stockking.profanity_word (pattern, action, category, builtin, created_at) VALUES
    ('[씨쒸씌]발', 'REFUSE', 'SWEAR', true, NULL),
    ('[씨쒸씌]빨', 'REFUSE', 'SWEAR', true, NULL),
    ('[씨쒸씌]팔', 'REFUSE', 'SWEAR', true, NULL),
    ('[씨쒸씌]벌', 'REFUSE', 'SWEAR', true, NULL),
    ('[씨쒸씌]바$', 'REFUSE', 'SWEAR', true, NULL),
    ('[씨쒸씌]부[랄럴]', 'REFUSE', 'SWEAR', true, NULL),
    ('^시[발빨팔벌]', 'REFUSE', 'SWEAR', true, NULL),
    ('^시바$', 'REFUSE', 'SWEAR', true, NULL),
    ('아시발', 'REFUSE', 'SWEAR', true, NULL),
    ('ㅅㅂ', 'REFUSE', 'SWEAR', true, NULL),
    ('ㅆㅂ', 'REFUSE', 'SWEAR', true, NULL),
    ('씨8$', 'REFUSE', 'SWEAR', true, NULL),
    ('c8$', 'REFUSE', 'SWEAR', true, NULL),
    ('c[발바빨팔]', 'REFUSE', 'SWEAR', true, NULL),
    ('sibal', 'REFUSE', 'SWEAR', true, NULL),
    ('ssibal', 'REFUSE', 'SWEAR', true, NULL),
    ('shibal', 'REFUSE', 'SWEAR', true, NULL),
    ('sibbal', 'REFUSE', 'SWEAR', true, NULL),
    ('18[놈롬럼]', 'REFUSE', 'SWEAR', true, NULL),
    ('18새[끼기]', 'REFUSE', 'SWEAR', true, NULL),
    ('18년아', 'REFUSE', 'SWEAR', true, NULL),
    ('씹새[끼기]', 'REFUSE', 'SWEAR', true, NULL),
    ('씹[할헐년창탱]', 'REFUSE', 'SWEAR', true, NULL),
    ('좆', 'REFUSE', 'SWEAR', true, NULL),
    ('좃[같까]', 'REFUSE', 'SWEAR', true, NULL),
    ('좇같', 'REFUSE', 'SWEAR', true, NULL),
    ('^조까', 'REFUSE', 'SWEAR', true, NULL),
    ('썅', 'REFUSE', 'SWEAR', true, NULL),
    ('fuck', 'REFUSE', 'SWEAR', true, NULL),
    ('fck$', 'REFUSE', 'SWEAR', true, NULL),
    ('fuk$', 'REFUSE', 'SWEAR', true, NULL),
    ('shit', 'REFUSE', 'SWEAR', true, NULL),
    ('[병븅빙뷩]신', 'REFUSE', 'INSULT', true, NULL),
    ('병[싄쉰]', 'REFUSE', 'INSULT', true, NULL),
    ('ㅂㅅ', 'REFUSE', 'INSULT', true, NULL),
    ('개새[끼기]', 'REFUSE', 'INSULT', true, NULL),
    ('개[세섀]끼', 'REFUSE', 'INSULT', true, NULL),
    ('ㄱㅅㄲ', 'REFUSE', 'INSULT', true, NULL),
    ('^개년', 'REFUSE', 'INSULT', true, NULL),
    ('미친년', 'REFUSE', 'INSULT', true, NULL),
    ('미친새[끼기]', 'REFUSE', 'INSULT', true, NULL),
    ('[쌍썅][놈년]', 'REFUSE', 'INSULT', true, NULL),
    ('호로[새자]', 'REFUSE', 'INSULT', true, NULL),
    ('후레자식', 'REFUSE', 'INSULT', true, NULL),
    ('걸레년', 'REFUSE', 'INSULT', true, NULL),
    ('bitch', 'REFUSE', 'INSULT', true, NULL),
    ('asshole', 'REFUSE', 'INSULT', true, NULL),
    ('^cunt', 'REFUSE', 'INSULT', true, NULL),
    ('니애미', 'REFUSE', 'FAMILY', true, NULL),
    ('니[미]럴', 'REFUSE', 'FAMILY', true, NULL),
    ('느[금그]마', 'REFUSE', 'FAMILY', true, NULL),
    ('[애에]미뒤', 'REFUSE', 'FAMILY', true, NULL),
    ('애비뒤', 'REFUSE', 'FAMILY', true, NULL),
    ('니기미', 'REFUSE', 'FAMILY', true, NULL),
    ('엠창', 'REFUSE', 'FAMILY', true, NULL),
    ('ㄴㄱㅁ', 'REFUSE', 'FAMILY', true, NULL),
    ('섹스', 'REFUSE', 'SEXUAL', true, NULL),
    ('야동', 'REFUSE', 'SEXUAL', true, NULL),
    ('창녀', 'REFUSE', 'SEXUAL', true, NULL),
    ('porn', 'REFUSE', 'SEXUAL', true, NULL),
    ('whore', 'REFUSE', 'SEXUAL', true, NULL),
    ('slut', 'REFUSE', 'SEXUAL', true, NULL),
    ('한남충', 'REFUSE', 'HATE', true, NULL),
    ('김치녀', 'REFUSE', 'HATE', true, NULL),
    ('된장녀', 'REFUSE', 'HATE', true, NULL),
    ('틀딱', 'REFUSE', 'HATE', true, NULL),
    ('맘충', 'REFUSE', 'HATE', true, NULL),
    ('짱깨', 'REFUSE', 'HATE', true, NULL),
    ('쪽바리', 'REFUSE', 'HATE', true, NULL),
    ('깜둥이', 'REFUSE', 'HATE', true, NULL),
    ('nigger', 'REFUSE', 'HATE', true, NULL),
    ('존[나니]', 'MASK', 'SWEAR', true, NULL),
    ('졸라', 'MASK', 'SWEAR', true, NULL),
    ('ㅈㄴ', 'MASK', 'SWEAR', true, NULL),
    ('지랄', 'MASK', 'SWEAR', true, NULL),
    ('ㅈㄹ', 'MASK', 'SWEAR', true, NULL),
    ('^염병', 'MASK', 'SWEAR', true, NULL),
    ('wtf', 'MASK', 'SWEAR', true, NULL),
    ('stfu', 'MASK', 'SWEAR', true, NULL),
    ('닥쳐', 'MASK', 'INSULT', true, NULL),
    ('ㄷㅊ', 'MASK', 'INSULT', true, NULL),
    ('꺼져', 'MASK', 'INSULT', true, NULL),
    ('ㄲㅈ', 'MASK', 'INSULT', true, NULL),
    ('미친놈', 'MASK', 'INSULT', true, NULL),
    ('ㅁㅊ', 'MASK', 'INSULT', true, NULL),
    ('ㅅㄲ', 'MASK', 'INSULT', true, NULL),
    ('^개놈', 'MASK', 'INSULT', true, NULL),
    ('또라이', 'MASK', 'INSULT', true, NULL),
    ('찐따', 'MASK', 'INSULT', true, NULL),
    ('ㅉㄸ', 'MASK', 'INSULT', true, NULL),
    ('빡대가리', 'MASK', 'INSULT', true, NULL),
    ('급식충', 'MASK', 'INSULT', true, NULL),
    ('시발점', 'ALLOW', 'EXCEPTION', true, NULL),
    ('시발역', 'ALLOW', 'EXCEPTION', true, NULL),
    ('시발택시', 'ALLOW', 'EXCEPTION', true, NULL),
    ('시발자동차', 'ALLOW', 'EXCEPTION', true, NULL),
    ('시발버스', 'ALLOW', 'EXCEPTION', true, NULL),
    ('시벌레', 'ALLOW', 'EXCEPTION', true, NULL),
    ('시바견', 'ALLOW', 'EXCEPTION', true, NULL),
    ('시바이누', 'ALLOW', 'EXCEPTION', true, NULL),
    ('[수호]박씨', 'ALLOW', 'EXCEPTION', true, NULL),
    ('[볍꽃불날글말솜맵]씨', 'ALLOW', 'EXCEPTION', true, NULL),
    ('포도씨', 'ALLOW', 'EXCEPTION', true, NULL),
    ('참외씨', 'ALLOW', 'EXCEPTION', true, NULL),
    ('마음씨', 'ALLOW', 'EXCEPTION', true, NULL),
    ('아[저가]씨', 'ALLOW', 'EXCEPTION', true, NULL),
    ('김씨', 'ALLOW', 'EXCEPTION', true, NULL),
    ('병신년새해', 'ALLOW', 'EXCEPTION', true, NULL),
    ('졸라[매맸]', 'ALLOW', 'EXCEPTION', true, NULL),
    ('shitake', 'ALLOW', 'EXCEPTION', true, NULL);

-- The filter (extension/profanity.c).
CREATE FUNCTION stockking.profanity_filter(txt text, OUT verdict text, OUT masked text, OUT masked_words integer,
                                           OUT refused_words integer)
    AS 'MODULE_PATHNAME', 'stockking_profanity_filter'
    LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION stockking.profanity_filter(text) IS
    'the profanity filter on a text: verdict CLEAN, MASKED (MASK words replaced by one * per character: masked) or REFUSED '
    '(a REFUSE word), with the number of words masked and refusing (overlapping matches count once)';

CREATE FUNCTION stockking.personal_data(txt text) RETURNS text
    AS 'MODULE_PATHNAME', 'stockking_personal_data'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION stockking.personal_data(text) IS
    'the first kind of personal data a text holds -- PHONE, EMAIL, ADDRESS, ACCOUNT (bank account or card number) or RRN '
    '(resident registration number) -- or NULL';

CREATE FUNCTION stockking.clean_text(field text, value text, allow_mask boolean) RETURNS text
    AS 'MODULE_PATHNAME', 'stockking_clean_text'
    LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION stockking.clean_text(text, text, boolean) IS
    'a user''s text checked for the board or a profile: personal data raises SK410 (phone), SK411 (e-mail), SK412 (address), '
    'SK413 (account), SK414 (registration number); a REFUSE word -- or any bad word when allow_mask is false -- raises SK401; '
    'returns the text with MASK words masked.  Messages name the field and what was found, never the text';

CREATE FUNCTION stockking.profanity_bench(texts text[], loops integer) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'stockking_profanity_bench'
    LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION stockking.profanity_bench(text[], integer) IS
    'bench: the filter and the personal-data detector alone, each in a loop over the texts; texts per second on one core';

-- Posts, comments, likes, reports and moderation.
CREATE TABLE stockking.community_post (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    family_id         uuid NOT NULL,
    user_id           uuid NOT NULL,
    audience          text NOT NULL CHECK (audience IN ('LEAGUE', 'SEASON')),
    season_id         integer NOT NULL,
    league_week       date,
    league_tier       integer,
    league_group      integer,
    title             text CHECK (length(title) BETWEEN 1 AND 100),
    body              text NOT NULL CHECK (length(body) BETWEEN 1 AND 1000),
    masked_words      integer NOT NULL DEFAULT 0 CHECK (masked_words >= 0),
    status            text NOT NULL DEFAULT 'VISIBLE' CHECK (status IN ('VISIBLE', 'HIDDEN', 'DELETED')),
    hidden_by         text CHECK (hidden_by IN ('REPORTS', 'MODERATOR')),
    moderated_at      timestamptz,
    moderation_reason text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    CHECK ((audience = 'LEAGUE') = (league_week IS NOT NULL AND league_tier IS NOT NULL AND league_group IS NOT NULL)),
    CHECK ((status = 'HIDDEN') = (hidden_by IS NOT NULL))
);
SELECT pg_catalog.pg_extension_config_dump('stockking.community_post', '');
CREATE INDEX community_post_league ON stockking.community_post (league_week, league_tier, league_group, id)
    WHERE audience = 'LEAGUE';
CREATE INDEX community_post_season ON stockking.community_post (season_id, id) WHERE audience = 'SEASON';
CREATE INDEX community_post_user ON stockking.community_post (user_id, created_at);
CREATE INDEX community_post_family ON stockking.community_post (family_id);
COMMENT ON TABLE stockking.community_post IS
    'a child''s post: to the league the child played in that week (league_week, league_tier, league_group) or to a season; '
    'title and body as filtered (MASK words masked); status VISIBLE, HIDDEN (by reports or a moderator) or DELETED';

CREATE TABLE stockking.community_comment (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    post_id           bigint NOT NULL REFERENCES stockking.community_post (id),
    family_id         uuid NOT NULL,
    user_id           uuid NOT NULL,
    body              text NOT NULL CHECK (length(body) BETWEEN 1 AND 300),
    masked_words      integer NOT NULL DEFAULT 0 CHECK (masked_words >= 0),
    status            text NOT NULL DEFAULT 'VISIBLE' CHECK (status IN ('VISIBLE', 'HIDDEN', 'DELETED')),
    hidden_by         text CHECK (hidden_by IN ('REPORTS', 'MODERATOR')),
    moderated_at      timestamptz,
    moderation_reason text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    CHECK ((status = 'HIDDEN') = (hidden_by IS NOT NULL))
);
SELECT pg_catalog.pg_extension_config_dump('stockking.community_comment', '');
CREATE INDEX community_comment_post ON stockking.community_comment (post_id, id);
CREATE INDEX community_comment_user ON stockking.community_comment (user_id, created_at);
CREATE INDEX community_comment_family ON stockking.community_comment (family_id);
COMMENT ON TABLE stockking.community_comment IS 'a child''s comment on a post, filtered as posts are; status as a post''s';

CREATE TABLE stockking.community_like (
    post_id    bigint NOT NULL REFERENCES stockking.community_post (id),
    user_id    uuid NOT NULL,
    family_id  uuid NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (post_id, user_id)
);
SELECT pg_catalog.pg_extension_config_dump('stockking.community_like', '');
CREATE INDEX community_like_family ON stockking.community_like (family_id);
COMMENT ON TABLE stockking.community_like IS
    'a like: one per user and post (the key), so a post''s like count is the count of its rows, exact under concurrency';

CREATE TABLE stockking.community_report (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    post_id     bigint REFERENCES stockking.community_post (id),
    comment_id  bigint REFERENCES stockking.community_comment (id),
    family_id   uuid NOT NULL,
    user_id     uuid NOT NULL,
    reason      text NOT NULL CHECK (reason IN ('PROFANITY', 'BULLYING', 'PERSONAL_DATA', 'SEXUAL', 'SPAM', 'OTHER')),
    note        text CHECK (length(note) <= 200),
    status      text NOT NULL DEFAULT 'OPEN' CHECK (status IN ('OPEN', 'UPHELD', 'DISMISSED')),
    resolved_at timestamptz,
    resolved_by uuid,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CHECK ((post_id IS NULL) <> (comment_id IS NULL)),
    CHECK ((status = 'OPEN') = (resolved_at IS NULL))
);
SELECT pg_catalog.pg_extension_config_dump('stockking.community_report', '');
CREATE UNIQUE INDEX community_report_post_once ON stockking.community_report (post_id, user_id) WHERE post_id IS NOT NULL;
CREATE UNIQUE INDEX community_report_comment_once ON stockking.community_report (comment_id, user_id)
    WHERE comment_id IS NOT NULL;
CREATE INDEX community_report_user ON stockking.community_report (user_id, created_at);
CREATE INDEX community_report_family ON stockking.community_report (family_id);
CREATE INDEX community_report_open_at ON stockking.community_report (created_at) WHERE status = 'OPEN';
COMMENT ON TABLE stockking.community_report IS
    'a report of a post or a comment by a user (one per user and target); OPEN until a moderator upholds or dismisses it';

CREATE TABLE stockking.community_moderation (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    post_id      bigint REFERENCES stockking.community_post (id),
    comment_id   bigint REFERENCES stockking.community_comment (id),
    family_id    uuid NOT NULL,
    user_id      uuid NOT NULL,
    action       text NOT NULL CHECK (action IN ('AUTO_HIDE', 'HIDE', 'RESTORE', 'DELETE', 'DISMISS')),
    reason       text NOT NULL CHECK (length(reason) BETWEEN 1 AND 200),
    reports      integer NOT NULL DEFAULT 0,
    moderator_id uuid,
    created_at   timestamptz NOT NULL DEFAULT now(),
    CHECK ((post_id IS NULL) <> (comment_id IS NULL))
);
SELECT pg_catalog.pg_extension_config_dump('stockking.community_moderation', '');
CREATE INDEX community_moderation_post ON stockking.community_moderation (post_id) WHERE post_id IS NOT NULL;
CREATE INDEX community_moderation_comment ON stockking.community_moderation (comment_id) WHERE comment_id IS NOT NULL;
CREATE INDEX community_moderation_family ON stockking.community_moderation (family_id);
COMMENT ON TABLE stockking.community_moderation IS
    'what happened to a post or comment: AUTO_HIDE (reports reached the threshold), or an ADMIN''s HIDE, RESTORE, DELETE, '
    'DISMISS, with the reason and the open reports at the time; family_id and user_id are the author''s';

-- Row-level security.  A post: its author, the author's parents and ADMIN
-- (can_read), or -- when VISIBLE -- a child of its audience: an account in
-- its season, or a seat in its league in the week it was written.
ALTER TABLE stockking.community_post ENABLE ROW LEVEL SECURITY;
ALTER TABLE stockking.community_comment ENABLE ROW LEVEL SECURITY;
ALTER TABLE stockking.community_like ENABLE ROW LEVEL SECURITY;
ALTER TABLE stockking.community_report ENABLE ROW LEVEL SECURITY;
ALTER TABLE stockking.community_moderation ENABLE ROW LEVEL SECURITY;
ALTER TABLE stockking.community_setting ENABLE ROW LEVEL SECURITY;

CREATE POLICY community_post_read ON stockking.community_post FOR SELECT USING (
    stockking.can_read(family_id, user_id)
    OR (status = 'VISIBLE' AND CASE audience
        WHEN 'SEASON' THEN season_id IN (SELECT a.season_id FROM stockking.account a WHERE a.user_id = stockking.uid())
        ELSE (league_week, league_tier, league_group) IN (
            SELECT la.week_start, la.tier, la.group_no FROM stockking.league_assignment la WHERE la.user_id = stockking.uid())
        END));
CREATE POLICY community_post_insert ON stockking.community_post FOR INSERT WITH CHECK (stockking.can_write(user_id));
-- the author deletes, ADMIN moderates (hiding by reports: see the views below)
CREATE POLICY community_post_own ON stockking.community_post FOR UPDATE USING (stockking.can_write(user_id))
    WITH CHECK (status = 'DELETED' OR stockking.is_admin());

CREATE POLICY community_comment_read ON stockking.community_comment FOR SELECT USING (
    stockking.can_read(family_id, user_id)
    OR (status = 'VISIBLE' AND EXISTS (SELECT 1 FROM stockking.community_post p WHERE p.id = post_id AND p.status <> 'DELETED')));
CREATE POLICY community_comment_insert ON stockking.community_comment FOR INSERT WITH CHECK (stockking.can_write(user_id));
CREATE POLICY community_comment_own ON stockking.community_comment FOR UPDATE USING (stockking.can_write(user_id))
    WITH CHECK (status = 'DELETED' OR stockking.is_admin());

CREATE POLICY community_like_read ON stockking.community_like FOR SELECT USING (stockking.can_read(family_id, user_id));
CREATE POLICY community_like_insert ON stockking.community_like FOR INSERT WITH CHECK (stockking.can_write(user_id));
CREATE POLICY community_like_delete ON stockking.community_like FOR DELETE USING (stockking.can_write(user_id));

CREATE POLICY community_report_read ON stockking.community_report FOR SELECT USING (stockking.can_read(family_id, user_id));
CREATE POLICY community_report_insert ON stockking.community_report FOR INSERT WITH CHECK (stockking.can_write(user_id));
CREATE POLICY community_report_resolve ON stockking.community_report FOR UPDATE USING (stockking.is_admin());

CREATE POLICY community_moderation_read ON stockking.community_moderation FOR SELECT
    USING (stockking.can_read(family_id, user_id));
CREATE POLICY community_moderation_insert ON stockking.community_moderation FOR INSERT
    WITH CHECK (stockking.is_admin() OR action = 'AUTO_HIDE');

CREATE POLICY community_setting_read ON stockking.community_setting FOR SELECT USING (true);
CREATE POLICY community_setting_write ON stockking.community_setting FOR ALL USING (stockking.is_admin())
    WITH CHECK (stockking.is_admin());

-- Posts and comments are written once: only their state changes.
GRANT SELECT, INSERT ON stockking.community_post, stockking.community_comment, stockking.community_report,
    stockking.community_moderation TO stockking_definer;
GRANT UPDATE (status, hidden_by, moderated_at, moderation_reason) ON stockking.community_post, stockking.community_comment
    TO stockking_definer;
GRANT UPDATE (status, resolved_at, resolved_by) ON stockking.community_report TO stockking_definer;
GRANT SELECT, INSERT, DELETE ON stockking.community_like TO stockking_definer;
GRANT SELECT, INSERT, UPDATE ON stockking.community_setting TO stockking_definer;

-- Hiding by reports.  The report that reaches the threshold hides a post
-- or comment its reporter may no longer read once hidden, and row-level
-- security checks an updated row against the SELECT policies too, so it
-- would refuse the update.  extension/community.c hides through these
-- views, owned by stockking_system (sql/98_system.sql): they reach VISIBLE
-- rows only, and their moderation columns only.
CREATE VIEW stockking.community_post_visible AS
    SELECT id, status, hidden_by, moderated_at, moderation_reason FROM stockking.community_post WHERE status = 'VISIBLE';
CREATE VIEW stockking.community_comment_visible AS
    SELECT id, status, hidden_by, moderated_at, moderation_reason FROM stockking.community_comment WHERE status = 'VISIBLE';
GRANT SELECT (id, status), UPDATE (status, hidden_by, moderated_at, moderation_reason)
    ON stockking.community_post_visible, stockking.community_comment_visible TO stockking_definer;

-- What counts and the moderation need of other users' rows, read past
-- row-level security (views owned by stockking_system): ids, states and
-- reasons only.
CREATE VIEW stockking.community_like_count AS
    SELECT post_id FROM stockking.community_like;
CREATE VIEW stockking.community_comment_count AS
    SELECT post_id, status FROM stockking.community_comment;
CREATE VIEW stockking.community_report_open AS
    SELECT post_id, comment_id, reason, created_at FROM stockking.community_report WHERE status = 'OPEN';
GRANT SELECT ON stockking.community_like_count, stockking.community_comment_count, stockking.community_report_open
    TO stockking_definer;
COMMENT ON VIEW stockking.community_report_open IS
    'open reports of every user (past row-level security): the count that hides a post or comment at the threshold';

-- JSON shapes.  Other children show as nickname and avatar only; the
-- author's id is shown to whoever may read the author (self, parents, ADMIN).
CREATE FUNCTION stockking.community_author_json(p_user uuid, p_family uuid) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
    SELECT jsonb_build_object('id', CASE WHEN stockking.can_read(p_family, p_user) THEN p_user END,
                              'nickname', a.nickname, 'avatar', a.avatar)
      FROM stockking.users_public a WHERE a.id = p_user
    $$;

CREATE FUNCTION stockking.post_json(p stockking.community_post) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
    SELECT jsonb_build_object(
        'id', p.id, 'author', stockking.community_author_json(p.user_id, p.family_id),
        'mine', p.user_id IS NOT DISTINCT FROM stockking.uid(),
        'audience', p.audience, 'season_id', p.season_id,
        'league', CASE WHEN p.audience = 'LEAGUE' THEN jsonb_build_object(
                      'week_start', p.league_week, 'tier', p.league_tier,
                      'tier_name', stockking.league_tier_name(p.league_tier), 'group_no', p.league_group) END,
        'title', p.title, 'body', p.body, 'masked_words', p.masked_words,
        'status', p.status, 'hidden', p.status = 'HIDDEN', 'hidden_by', p.hidden_by,
        'like_count', (SELECT count(*) FROM stockking.community_like_count l WHERE l.post_id = p.id),
        'comment_count', (SELECT count(*) FROM stockking.community_comment_count c
                           WHERE c.post_id = p.id AND c.status = 'VISIBLE'),
        'liked', EXISTS (SELECT 1 FROM stockking.community_like l WHERE l.post_id = p.id AND l.user_id = stockking.uid()),
        'created_at', p.created_at)
    $$;

CREATE FUNCTION stockking.comment_json(c stockking.community_comment) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
    SELECT jsonb_build_object(
        'id', c.id, 'post_id', c.post_id, 'author', stockking.community_author_json(c.user_id, c.family_id),
        'mine', c.user_id IS NOT DISTINCT FROM stockking.uid(), 'body', c.body, 'masked_words', c.masked_words,
        'status', c.status, 'hidden', c.status = 'HIDDEN', 'hidden_by', c.hidden_by, 'created_at', c.created_at)
    $$;

-- the caller's own role is CHILD (posting, commenting and liking are for children)
CREATE FUNCTION stockking.require_child(what text) RETURNS uuid
    LANGUAGE plpgsql STABLE
    AS $$
DECLARE
    v_user uuid := stockking.require_user();
BEGIN
    IF NOT EXISTS (SELECT 1 FROM stockking.users u WHERE u.id = v_user AND u.role = 'CHILD') THEN
        RAISE EXCEPTION 'only a child may %', what USING ERRCODE = '42501';
    END IF;
    RETURN v_user;
END
$$;

CREATE FUNCTION stockking.require_admin() RETURNS void
    LANGUAGE plpgsql STABLE
    AS $$
BEGIN
    PERFORM stockking.require_user();
    IF NOT stockking.is_admin() THEN
        RAISE EXCEPTION 'only an ADMIN moderates the board' USING ERRCODE = '42501';
    END IF;
END
$$;

-- Writing (extension/community.c).
CREATE FUNCTION api.create_post(args jsonb) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'stockking_create_post'
    LANGUAGE C VOLATILE STRICT SECURITY DEFINER SET search_path = pg_catalog, stockking;
COMMENT ON FUNCTION api.create_post(jsonb) IS
$$POST /v1/community/posts (CHILD): write a post.  Args: {"body": text (1..1000 characters), "title": text (1..100, optional),
"audience": "LEAGUE" | "SEASON" (optional: the caller's league this week when there is one, else the season),
"season_id": integer (SEASON only; default: the season of the caller's default account)}.
A LEAGUE post keeps the league it was written in (week, tier, group): its readers are the children of that league that week.
Title and body go through the personal-data detector and the profanity filter: MASK words are masked with *, a REFUSE word
refuses the post.  Returns the post (201) {"id","author": {"id","nickname","avatar"},"mine","audience","season_id",
"league": {"week_start","tier","tier_name","group_no"} | null,"title","body","masked_words","status","hidden","hidden_by",
"like_count","comment_count","liked","created_at"}.
Errors: 22023 (400) missing or too long field, bad audience; 42501 (403) not a CHILD; SK401 (422) words not allowed;
SK410..SK414 (422) a phone number, e-mail address, street address, bank account or card number, registration number;
SK420 (429) more than posts_per_hour posts in the last hour (default 5; detail: seconds to wait); SK430 (409) LEAGUE asked
but the child plays in no league this week; SK010 (404) no account in the season; SK005 (409) the season is closed;
28000 (401).$$;

CREATE FUNCTION api.add_comment(args jsonb) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'stockking_add_comment'
    LANGUAGE C VOLATILE STRICT SECURITY DEFINER SET search_path = pg_catalog, stockking;
COMMENT ON FUNCTION api.add_comment(jsonb) IS
$$POST /v1/community/posts/:id/comments (CHILD): comment on a post the caller sees.  Args: {"id": post id, "body": text
(1..300 characters)}, filtered as a post's body.  Returns the comment (201) {"id","post_id","author","mine","body",
"masked_words","status","hidden","hidden_by","created_at"}.  Event CommentAdded (USER: the post's author, unless the caller).
Errors: 22023 (400); 42501 (403) not a CHILD; P0002 (404) no such post visible to the caller; SK433 (409) the post is
hidden; SK401, SK410..SK414 (422) as for posts; SK420 (429) more than comments_per_minute comments in the last minute
(default 3); 28000 (401).$$;

CREATE FUNCTION api.report_post(args jsonb) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'stockking_report_post'
    LANGUAGE C VOLATILE STRICT SECURITY DEFINER SET search_path = pg_catalog, stockking;
COMMENT ON FUNCTION api.report_post(jsonb) IS
$$POST /v1/community/posts/:id/report (CHILD, PARENT): report a post the caller sees.  Args: {"id": post id, "reason":
PROFANITY|BULLYING|PERSONAL_DATA|SEXUAL|SPAM|OTHER, "note": text (optional, up to 200 characters)}.  One report per user
and post.  When the post's open reports reach report_hide_threshold distinct reporters (default 3) it is hidden at once,
exactly once under concurrent reports (an advisory lock on the post): event PostHidden (FAMILY of the author: the author and
their parents).  Returns (201) {"id","post_id","reason","status": "OPEN","target_hidden": whether the post is hidden now,
"created_at"}.
Errors: 22023 (400) bad reason or note; 42501 (403) ADMIN (moderate instead); P0002 (404) no such post visible to the caller;
SK431 (409) reported already; SK432 (409) the caller's own post; SK433 (409) the post is deleted; SK420 (429) more than
reports_per_hour reports in the last hour (default 10); 28000 (401).$$;

CREATE FUNCTION api.report_comment(args jsonb) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'stockking_report_comment'
    LANGUAGE C VOLATILE STRICT SECURITY DEFINER SET search_path = pg_catalog, stockking;
COMMENT ON FUNCTION api.report_comment(jsonb) IS
$$POST /v1/community/comments/:id/report (CHILD, PARENT): report a comment, as api.report_post reports a post; the comment
is hidden at the threshold (event CommentHidden to the author's family).  Returns (201) {"id","comment_id","reason","status",
"target_hidden","created_at"}.  Errors as api.report_post.$$;

CREATE FUNCTION api.moderate_post(args jsonb) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'stockking_moderate_post'
    LANGUAGE C VOLATILE STRICT SECURITY DEFINER SET search_path = pg_catalog, stockking;
COMMENT ON FUNCTION api.moderate_post(jsonb) IS
$$POST /v1/admin/community/posts/:id/moderate (ADMIN): act on a post.  Args: {"id", "action": HIDE (a visible post) |
RESTORE (a hidden one) | DELETE | DISMISS (keep it visible, drop its reports), "reason": text (1..200)}.  Open reports become
UPHELD (HIDE, DELETE) or DISMISSED (RESTORE, DISMISS); the action is logged in stockking.community_moderation.  Events to
the author's family: PostHidden, PostRestored, PostDeleted {"post_id","by": "MODERATOR","reason"}.
Returns {"post": the post, "action", "reports_resolved"}.
Errors: 22023 (400) bad action or reason; 42501 (403) not ADMIN; P0002 (404) no such post; SK433 (409) the post is not in a
state the action applies to.$$;

CREATE FUNCTION api.moderate_comment(args jsonb) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'stockking_moderate_comment'
    LANGUAGE C VOLATILE STRICT SECURITY DEFINER SET search_path = pg_catalog, stockking;
COMMENT ON FUNCTION api.moderate_comment(jsonb) IS
$$POST /v1/admin/community/comments/:id/moderate (ADMIN): as api.moderate_post, for a comment (events CommentHidden,
CommentRestored, CommentDeleted).  Returns {"comment", "action", "reports_resolved"}.$$;

-- Reading.
CREATE FUNCTION stockking.caller_season(p_user uuid) RETURNS integer
    LANGUAGE sql STABLE
    AS $$
    SELECT coalesce((SELECT a.season_id FROM stockking.users u JOIN stockking.account a ON a.id = u.default_account_id
                      WHERE u.id = p_user),
                    (SELECT s.id FROM stockking.season s WHERE s.is_default))
    $$;
COMMENT ON FUNCTION stockking.caller_season(uuid) IS
    'the season of a user''s default account (the one joined last), or the default season';

CREATE FUNCTION api.list_posts(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v_user   uuid := stockking.require_user();
    v_scope  text := lower(coalesce(stockking.arg_text(args, 'scope', false), 'all'));
    v_season bigint := stockking.arg_bigint(args, 'season_id', false);
    v_before bigint := stockking.arg_bigint(args, 'before', false);
    v_limit  bigint := coalesce(stockking.arg_bigint(args, 'limit', false), 20);
    v_child  uuid;
    v_league stockking.league_assignment;
    v_items  jsonb;
    v_last   bigint;
BEGIN
    IF v_scope NOT IN ('all', 'league', 'season') THEN
        RAISE EXCEPTION 'field "scope" must be all, league or season' USING ERRCODE = '22023';
    END IF;
    IF v_limit NOT BETWEEN 1 AND 50 THEN
        RAISE EXCEPTION 'field "limit" must be between 1 and 50' USING ERRCODE = '22023';
    END IF;
    IF args ? 'child_id' THEN
        v_child := stockking.child_arg(args);
    END IF;
    IF v_scope = 'league' THEN
        SELECT * INTO v_league FROM stockking.league_assignment la
         WHERE la.user_id = coalesce(v_child, v_user) AND la.week_start = stockking.seoul_week(now());
    ELSIF v_scope = 'season' AND v_season IS NULL THEN
        v_season := stockking.caller_season(coalesce(v_child, v_user));
    END IF;
    -- row-level security decides which posts the caller sees
    SELECT coalesce(jsonb_agg(stockking.post_json(p) ORDER BY p.id DESC), '[]'), min(p.id)
      INTO v_items, v_last
      FROM (SELECT * FROM stockking.community_post p
             WHERE (p.status <> 'DELETED' OR stockking.is_admin())
               AND (v_before IS NULL OR p.id < v_before)
               AND (v_child IS NULL OR p.user_id = v_child)
               AND CASE v_scope
                   WHEN 'league' THEN p.audience = 'LEAGUE' AND p.league_week = v_league.week_start
                                      AND p.league_tier = v_league.tier AND p.league_group = v_league.group_no
                   WHEN 'season' THEN p.audience = 'SEASON' AND p.season_id = v_season
                   ELSE true END
             ORDER BY p.id DESC LIMIT v_limit) p;
    RETURN jsonb_build_object(
        'scope', v_scope,
        'league', CASE WHEN v_league.user_id IS NOT NULL THEN jsonb_build_object(
                      'week_start', v_league.week_start, 'tier', v_league.tier,
                      'tier_name', stockking.league_tier_name(v_league.tier), 'group_no', v_league.group_no) END,
        'season_id', CASE WHEN v_scope = 'season' THEN v_season END,
        'items', v_items,
        'next_before', CASE WHEN jsonb_array_length(v_items) = v_limit THEN v_last END);
END
$$;
COMMENT ON FUNCTION api.list_posts(jsonb) IS
$$GET /v1/community/posts?scope=&season_id=&child_id=&before=&limit=: posts newest first, as row-level security shows them:
a child sees the visible posts of its audiences (its leagues, week by week, and its seasons) and its own, hidden ones
marked; a parent sees their children's (child_id= picks one); ADMIN all.  Args: {"scope": all (default) | league (the
caller's, or the child's, league this week) | season ("season_id", default: the caller's season), "child_id": uuid
(a parent: that child's posts), "before": post id (the next page), "limit": 1..50 (default 20)}.
Returns {"scope","league": {"week_start","tier","tier_name","group_no"} | null,"season_id","items": [post...],
"next_before": the cursor of the next page or null}.
Errors: 22023 (400) bad scope, limit, before or child_id; P0002 (404) child_id not a child of the caller; 28000 (401).$$;

CREATE FUNCTION api.get_post(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v_id bigint := stockking.arg_bigint(args, 'id');
    p    stockking.community_post;
BEGIN
    PERFORM stockking.require_user();
    SELECT * INTO p FROM stockking.community_post WHERE id = v_id AND (status <> 'DELETED' OR stockking.is_admin());
    IF p.id IS NULL THEN
        RAISE EXCEPTION 'post % not found', v_id USING ERRCODE = 'P0002';
    END IF;
    RETURN stockking.post_json(p) || jsonb_build_object('comments', (
        SELECT coalesce(jsonb_agg(stockking.comment_json(c) ORDER BY c.id), '[]')
          FROM (SELECT * FROM stockking.community_comment c
                 WHERE c.post_id = p.id AND (c.status <> 'DELETED' OR stockking.is_admin())
                 ORDER BY c.id LIMIT 200) c));
END
$$;
COMMENT ON FUNCTION api.get_post(jsonb) IS
$$GET /v1/community/posts/:id: a post with its comments, oldest first (at most 200): the visible ones, and those the caller
may read hidden (their own, their children's).  Returns the post (see api.create_post) plus "comments": [comment...].
Errors: 22023 (400); P0002 (404) no such post visible to the caller; 28000 (401).$$;

CREATE FUNCTION api.list_comments(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v_user   uuid := stockking.require_user();
    v_before bigint := stockking.arg_bigint(args, 'before', false);
    v_limit  bigint := coalesce(stockking.arg_bigint(args, 'limit', false), 20);
    v_author uuid := v_user;
    v_items  jsonb;
    v_last   bigint;
BEGIN
    IF v_limit NOT BETWEEN 1 AND 50 THEN
        RAISE EXCEPTION 'field "limit" must be between 1 and 50' USING ERRCODE = '22023';
    END IF;
    IF args ? 'child_id' THEN
        v_author := stockking.child_arg(args);
    END IF;
    SELECT coalesce(jsonb_agg(stockking.comment_json(c) || jsonb_build_object('post',
               (SELECT jsonb_build_object('id', p.id, 'title', p.title) FROM stockking.community_post p WHERE p.id = c.post_id))
               ORDER BY c.id DESC), '[]'), min(c.id)
      INTO v_items, v_last
      FROM (SELECT * FROM stockking.community_comment c
             WHERE c.user_id = v_author AND (c.status <> 'DELETED' OR stockking.is_admin())
               AND (v_before IS NULL OR c.id < v_before)
             ORDER BY c.id DESC LIMIT v_limit) c;
    RETURN jsonb_build_object('items', v_items,
                              'next_before', CASE WHEN jsonb_array_length(v_items) = v_limit THEN v_last END);
END
$$;
COMMENT ON FUNCTION api.list_comments(jsonb) IS
$$GET /v1/community/comments?child_id=&before=&limit=: the comments of the caller -- or, for a parent, of a child (hidden
ones too) -- newest first, each with "post": {"id","title"} when the caller sees the post, else null.  Args: {"child_id",
"before", "limit": 1..50 (default 20)}.  Returns {"items": [comment...], "next_before"}.
Errors: 22023 (400); P0002 (404) child_id not a child of the caller; 28000 (401).$$;

-- the author deletes their post or comment (hidden ones too)
CREATE FUNCTION stockking.delete_own(kind text, args jsonb) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE
    AS $$
DECLARE
    v_user uuid := stockking.require_user();
    v_id   bigint := stockking.arg_bigint(args, 'id');
    v_rows bigint;
BEGIN
    EXECUTE format('UPDATE stockking.%I SET status = ''DELETED'' WHERE id = $1 AND user_id = $2 AND status <> ''DELETED''',
                   'community_' || kind)
        USING v_id, v_user;
    GET DIAGNOSTICS v_rows = ROW_COUNT;
    IF v_rows = 0 THEN
        RAISE EXCEPTION '% % not found', kind, v_id USING ERRCODE = 'P0002', HINT = 'Only the author deletes it.';
    END IF;
    RETURN jsonb_build_object('id', v_id, 'status', 'DELETED');
END
$$;

CREATE FUNCTION api.delete_post(args jsonb) RETURNS jsonb
    LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$ SELECT stockking.delete_own('post', args) $$;
COMMENT ON FUNCTION api.delete_post(jsonb) IS
$$DELETE /v1/community/posts/:id (CHILD): the author deletes their post (hidden ones too); nobody but ADMIN sees it after.
Returns {"id","status": "DELETED"}.  Errors: 22023 (400); P0002 (404) no such post of the caller; 28000 (401).$$;

CREATE FUNCTION api.delete_comment(args jsonb) RETURNS jsonb
    LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$ SELECT stockking.delete_own('comment', args) $$;
COMMENT ON FUNCTION api.delete_comment(jsonb) IS
$$DELETE /v1/community/comments/:id (CHILD): the author deletes their comment.  Returns {"id","status": "DELETED"}.
Errors: 22023 (400); P0002 (404) no such comment of the caller; 28000 (401).$$;

CREATE FUNCTION stockking.like_state(p_post bigint) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
    SELECT jsonb_build_object('post_id', p_post,
        'liked', EXISTS (SELECT 1 FROM stockking.community_like l WHERE l.post_id = p_post AND l.user_id = stockking.uid()),
        'like_count', (SELECT count(*) FROM stockking.community_like_count l WHERE l.post_id = p_post))
    $$;

-- a post the caller sees, for a like: P0002 when not, SK433 when hidden
CREATE FUNCTION stockking.likeable_post(p_post bigint) RETURNS bigint
    LANGUAGE plpgsql STABLE
    AS $$
DECLARE
    v_status text;
BEGIN
    SELECT p.status INTO v_status FROM stockking.community_post p WHERE p.id = p_post;
    IF v_status IS NULL OR v_status = 'DELETED' THEN
        RAISE EXCEPTION 'post % not found', p_post USING ERRCODE = 'P0002';
    END IF;
    IF v_status <> 'VISIBLE' THEN
        RAISE EXCEPTION 'post % is hidden', p_post USING ERRCODE = 'SK433';
    END IF;
    RETURN p_post;
END
$$;

CREATE FUNCTION api.like_post(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v_user uuid := stockking.require_child('like posts');
    v_id   bigint := stockking.likeable_post(stockking.arg_bigint(args, 'id'));
BEGIN
    -- the key (post_id, user_id): a second like, even at the same moment, adds nothing
    INSERT INTO stockking.community_like (post_id, user_id, family_id)
        VALUES (v_id, v_user, stockking.my_family())
        ON CONFLICT (post_id, user_id) DO NOTHING;
    RETURN stockking.like_state(v_id);
END
$$;
COMMENT ON FUNCTION api.like_post(jsonb) IS
$$POST /v1/community/posts/:id/like (CHILD): like a post the caller sees; liking again changes nothing.  Returns {"post_id",
"liked": true, "like_count"} (the count of likes, exact: one row per user and post).
Errors: 22023 (400); 42501 (403) not a CHILD; P0002 (404) no such post visible to the caller; SK433 (409) hidden; 28000 (401).$$;

CREATE FUNCTION api.unlike_post(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v_user uuid := stockking.require_child('like posts');
    v_id   bigint := stockking.arg_bigint(args, 'id');
BEGIN
    DELETE FROM stockking.community_like WHERE post_id = v_id AND user_id = v_user;
    RETURN stockking.like_state(v_id);
END
$$;
COMMENT ON FUNCTION api.unlike_post(jsonb) IS
$$DELETE /v1/community/posts/:id/like (CHILD): take a like back (none: nothing changes).  Returns {"post_id","liked": false,
"like_count"}.  Errors: 22023 (400); 42501 (403) not a CHILD; 28000 (401).$$;

CREATE FUNCTION api.filter_text(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v_text text := stockking.arg_text(args, 'text');
    f      record;
    v_pd   text;
BEGIN
    PERFORM stockking.require_user();
    IF length(v_text) > 2000 THEN
        RAISE EXCEPTION 'field "text" is longer than 2000 characters' USING ERRCODE = '22023';
    END IF;
    f := stockking.profanity_filter(v_text);
    v_pd := stockking.personal_data(v_text);
    RETURN jsonb_build_object(
        'verdict', f.verdict, 'text', CASE WHEN f.verdict <> 'REFUSED' THEN f.masked END,
        'masked_words', f.masked_words, 'refused_words', f.refused_words, 'personal_data', v_pd,
        'allowed', f.verdict <> 'REFUSED' AND v_pd IS NULL);
END
$$;
COMMENT ON FUNCTION api.filter_text(jsonb) IS
$$POST /v1/community/filter {"text": up to 2000 characters}: what the board would do with a text, changing nothing (an app
checks a draft before posting).  Returns {"verdict": CLEAN|MASKED|REFUSED, "text": the text as it would be stored (null when
refused), "masked_words", "refused_words", "personal_data": PHONE|EMAIL|ADDRESS|ACCOUNT|RRN|null, "allowed": whether a post
would be accepted}.  Errors: 22023 (400); 28000 (401).$$;

-- Moderation (ADMIN).
CREATE FUNCTION api.moderation_queue(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v_status text := upper(coalesce(stockking.arg_text(args, 'status', false), 'OPEN'));
    v_limit  bigint := coalesce(stockking.arg_bigint(args, 'limit', false), 50);
BEGIN
    PERFORM stockking.require_admin();
    IF v_status NOT IN ('OPEN', 'ALL') THEN
        RAISE EXCEPTION 'field "status" must be OPEN or ALL' USING ERRCODE = '22023';
    END IF;
    IF v_limit NOT BETWEEN 1 AND 200 THEN
        RAISE EXCEPTION 'field "limit" must be between 1 and 200' USING ERRCODE = '22023';
    END IF;
    RETURN jsonb_build_object('status', v_status, 'threshold', stockking.community_limit('report_hide_threshold'),
                              'items', coalesce((
        SELECT jsonb_agg(q.item ORDER BY q.auto_hidden DESC, q.open_reports DESC, q.last_at DESC)
          FROM (SELECT jsonb_build_object(
                           'kind', CASE WHEN r.post_id IS NOT NULL THEN 'POST' ELSE 'COMMENT' END,
                           'id', coalesce(r.post_id, r.comment_id), 'post_id', coalesce(r.post_id, c.post_id),
                           'author', jsonb_build_object('id', coalesce(p.user_id, c.user_id),
                                                        'nickname', u.nickname),
                           'status', coalesce(p.status, c.status), 'hidden_by', coalesce(p.hidden_by, c.hidden_by),
                           'title', p.title, 'body', coalesce(p.body, c.body),
                           'open_reports', r.open_reports, 'reports', r.reports, 'reasons', r.reasons,
                           'first_reported_at', r.first_at, 'last_reported_at', r.last_at) AS item,
                       coalesce(p.hidden_by, c.hidden_by) IS NOT DISTINCT FROM 'REPORTS' AS auto_hidden,
                       r.open_reports, r.last_at
                  FROM (SELECT x.post_id, x.comment_id, count(*) FILTER (WHERE x.status = 'OPEN') AS open_reports,
                               count(*) AS reports, min(x.created_at) AS first_at, max(x.created_at) AS last_at,
                               (SELECT jsonb_object_agg(y.reason, y.n) FROM (
                                    SELECT z.reason, count(*) AS n FROM stockking.community_report z
                                     WHERE z.post_id IS NOT DISTINCT FROM x.post_id
                                       AND z.comment_id IS NOT DISTINCT FROM x.comment_id
                                       AND (z.status = 'OPEN' OR v_status = 'ALL')
                                     GROUP BY z.reason) y) AS reasons
                          FROM stockking.community_report x
                         GROUP BY x.post_id, x.comment_id
                        HAVING v_status = 'ALL' OR count(*) FILTER (WHERE x.status = 'OPEN') > 0) r
                  LEFT JOIN stockking.community_post p ON p.id = r.post_id
                  LEFT JOIN stockking.community_comment c ON c.id = r.comment_id
                  JOIN stockking.users_public u ON u.id = coalesce(p.user_id, c.user_id)
                 WHERE v_status = 'ALL' OR coalesce(p.status, c.status) <> 'DELETED'
                 ORDER BY 2 DESC, r.open_reports DESC, r.last_at DESC
                 LIMIT v_limit) q), '[]'));
END
$$;
COMMENT ON FUNCTION api.moderation_queue(jsonb) IS
$$GET /v1/admin/community/reports?status=OPEN|ALL&limit= (ADMIN): the moderation queue -- posts and comments with open reports
(ALL: with any report, deleted ones too), those hidden by reports first, then by open reports and the latest report.
Returns {"status","threshold": report_hide_threshold,"items": [{"kind": POST|COMMENT,"id","post_id","author": {"id",
"nickname"},"status","hidden_by","title","body","open_reports","reports","reasons": {"BULLYING": 2, ...},
"first_reported_at","last_reported_at"}]}.  Act with POST /v1/admin/community/posts/:id/moderate (or comments/:id).
Errors: 22023 (400); 42501 (403) not ADMIN; 28000 (401).$$;

CREATE FUNCTION api.list_profanity_words(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v_action text := upper(stockking.arg_text(args, 'action', false));
BEGIN
    PERFORM stockking.require_admin();
    RETURN jsonb_build_object('items', (
        SELECT coalesce(jsonb_agg(jsonb_build_object('id', w.id, 'pattern', w.pattern, 'action', w.action,
                                                     'category', w.category, 'builtin', w.builtin,
                                                     'created_at', w.created_at) ORDER BY w.id), '[]')
          FROM stockking.profanity_word w WHERE v_action IS NULL OR w.action = v_action));
END
$$;
COMMENT ON FUNCTION api.list_profanity_words(jsonb) IS
$$GET /v1/admin/community/words?action=MASK|REFUSE|ALLOW (ADMIN): the filter's word list.  Returns {"items": [{"id","pattern",
"action","category","builtin","created_at"}]}.  Errors: 42501 (403) not ADMIN; 28000 (401).$$;

CREATE FUNCTION api.add_profanity_word(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v_pattern  text := lower(btrim(stockking.arg_text(args, 'pattern')));
    v_action   text := upper(stockking.arg_text(args, 'action'));
    v_category text := upper(coalesce(stockking.arg_text(args, 'category', false),
                                      CASE WHEN upper(args ->> 'action') = 'ALLOW' THEN 'EXCEPTION' ELSE 'SWEAR' END));
    w          stockking.profanity_word;
BEGIN
    PERFORM stockking.require_admin();
    IF v_action NOT IN ('MASK', 'REFUSE', 'ALLOW') THEN
        RAISE EXCEPTION 'field "action" must be MASK, REFUSE or ALLOW' USING ERRCODE = '22023';
    END IF;
    IF v_category NOT IN ('SWEAR', 'INSULT', 'FAMILY', 'SEXUAL', 'HATE', 'EXCEPTION')
       OR (v_category = 'EXCEPTION') <> (v_action = 'ALLOW') THEN
        RAISE EXCEPTION 'field "category" must be SWEAR, INSULT, FAMILY, SEXUAL or HATE (EXCEPTION for ALLOW)'
            USING ERRCODE = '22023';
    END IF;
    IF length(v_pattern) > 100 THEN
        RAISE EXCEPTION 'field "pattern" is longer than 100 characters' USING ERRCODE = '22023';
    END IF;
    PERFORM stockking.profanity_pattern_ok(v_pattern);
    IF EXISTS (SELECT 1 FROM stockking.profanity_word x WHERE x.action = v_action AND x.pattern = v_pattern) THEN
        RAISE EXCEPTION 'the word list has % % already', v_action, v_pattern USING ERRCODE = '23505';
    END IF;
    INSERT INTO stockking.profanity_word (pattern, action, category, added_by)
        VALUES (v_pattern, v_action, v_category, stockking.uid())
        RETURNING * INTO w;
    RETURN jsonb_build_object('id', w.id, 'pattern', w.pattern, 'action', w.action, 'category', w.category,
                              'builtin', w.builtin, 'created_at', w.created_at);
END
$$;
COMMENT ON FUNCTION api.add_profanity_word(jsonb) IS
$$POST /v1/admin/community/words (ADMIN): add a word (201).  Args: {"pattern": syllables, consonant jamo, letters, digits,
[...] for one of several, ^ starts a word, $ ends one (up to 100 characters), "action": MASK | REFUSE | ALLOW (an exception
for a false positive), "category": SWEAR | INSULT | FAMILY | SEXUAL | HATE (default SWEAR; EXCEPTION for ALLOW)}.  Every
backend uses it from the next statement after the commit.  Returns the word {"id","pattern","action","category","builtin"}.
Errors: 22023 (400) bad field or malformed pattern (the message says why); 23505 (409) the list has it; 42501 (403).$$;

CREATE FUNCTION api.delete_profanity_word(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v_id      bigint := stockking.arg_bigint(args, 'id');
    v_builtin boolean;
BEGIN
    PERFORM stockking.require_admin();
    SELECT w.builtin INTO v_builtin FROM stockking.profanity_word w WHERE w.id = v_id;
    IF v_builtin IS NULL THEN
        RAISE EXCEPTION 'word % not found', v_id USING ERRCODE = 'P0002';
    END IF;
    IF v_builtin THEN
        RAISE EXCEPTION 'word % is built in and stays', v_id USING ERRCODE = '42501',
            HINT = 'Add an ALLOW entry for the false positive instead.';
    END IF;
    DELETE FROM stockking.profanity_word WHERE id = v_id;
    RETURN jsonb_build_object('id', v_id, 'deleted', true);
END
$$;
COMMENT ON FUNCTION api.delete_profanity_word(jsonb) IS
$$DELETE /v1/admin/community/words/:id (ADMIN): remove a word an ADMIN added.  Returns {"id","deleted": true}.
Errors: P0002 (404) no such word; 42501 (403) a built-in word (add an ALLOW entry instead), or not ADMIN.$$;

CREATE FUNCTION stockking.community_settings_json() RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
    SELECT jsonb_object_agg(n, stockking.community_limit(n))
      FROM unnest(ARRAY['report_hide_threshold', 'posts_per_hour', 'comments_per_minute', 'reports_per_hour']) AS n
    $$;

CREATE FUNCTION api.community_settings(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
BEGIN
    PERFORM stockking.require_admin();
    RETURN stockking.community_settings_json();
END
$$;
COMMENT ON FUNCTION api.community_settings(jsonb) IS
$$GET /v1/admin/community/settings (ADMIN): the board's limits {"report_hide_threshold": distinct reporters that hide a post
or comment (default 3), "posts_per_hour" (5), "comments_per_minute" (3), "reports_per_hour" (10)}, per user.
Errors: 42501 (403); 28000 (401).$$;

CREATE FUNCTION api.update_community_settings(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v_key   text;
    v_value bigint;
BEGIN
    PERFORM stockking.require_admin();
    FOR v_key IN SELECT jsonb_object_keys(args) LOOP
        IF stockking.community_limit(v_key) IS NULL THEN
            RAISE EXCEPTION 'unknown setting "%"', v_key USING ERRCODE = '22023',
                HINT = 'report_hide_threshold, posts_per_hour, comments_per_minute, reports_per_hour';
        END IF;
        v_value := stockking.arg_bigint(args, v_key);
        IF v_value NOT BETWEEN 1 AND 10000 THEN
            RAISE EXCEPTION 'field "%" must be between 1 and 10000', v_key USING ERRCODE = '22023';
        END IF;
        INSERT INTO stockking.community_setting (name, value, updated_by) VALUES (v_key, v_value, stockking.uid())
            ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value, updated_by = EXCLUDED.updated_by, updated_at = now();
    END LOOP;
    RETURN stockking.community_settings_json();
END
$$;
COMMENT ON FUNCTION api.update_community_settings(jsonb) IS
$$PUT /v1/admin/community/settings (ADMIN): change limits, e.g. {"report_hide_threshold": 5}; each 1..10000.  A lower
threshold hides at the next report.  Returns the settings as GET does.  Errors: 22023 (400) unknown name or bad value;
42501 (403); 28000 (401).$$;

-- Profile edits (seed 003 §4.1 PUT /users/me).  Avatars are ids of the
-- pictures the app ships, never a URL: a children's app must not show
-- arbitrary images (no moderation of pictures, tracking pixels, a photo of
-- the child's face or school).
CREATE FUNCTION stockking.avatar_ids() RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT ARRAY['bear', 'cat', 'dog', 'fox', 'panda', 'penguin', 'rabbit', 'tiger', 'owl', 'dolphin', 'koala', 'lion'] $$;
COMMENT ON FUNCTION stockking.avatar_ids() IS 'the avatars a user may choose: ids of pictures shipped in the app';

CREATE FUNCTION api.update_me(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v_user   uuid := stockking.require_user();
    v_year   integer := extract(year FROM now() AT TIME ZONE 'Asia/Seoul')::integer;
    v_key    text;
    v_nick   text;
    v_avatar text;
    v_birth  bigint;
    u        stockking.users;
BEGIN
    IF jsonb_typeof(args) IS DISTINCT FROM 'object' THEN
        RAISE EXCEPTION 'arguments must be a JSON object' USING ERRCODE = '22023';
    END IF;
    IF args ? 'role' THEN
        RAISE EXCEPTION 'the role cannot be changed' USING ERRCODE = '42501',
            DETAIL = 'A role is chosen at sign-up; a parent links to a child with the child''s link code.';
    END IF;
    FOR v_key IN SELECT jsonb_object_keys(args) LOOP
        IF v_key NOT IN ('nickname', 'avatar', 'birth_year') THEN
            RAISE EXCEPTION 'field "%" cannot be changed here', v_key USING ERRCODE = '22023',
                HINT = 'PUT /v1/users/me changes nickname, avatar and birth_year.';
        END IF;
    END LOOP;
    SELECT * INTO u FROM stockking.users WHERE id = v_user FOR UPDATE;
    IF u.id IS NULL THEN
        RAISE EXCEPTION 'user not found' USING ERRCODE = 'P0002';
    END IF;
    IF args ? 'nickname' THEN
        v_nick := btrim(stockking.arg_text(args, 'nickname'));
        IF length(v_nick) NOT BETWEEN 1 AND 30 THEN
            RAISE EXCEPTION 'field "nickname" must be 1 to 30 characters long' USING ERRCODE = '22023';
        END IF;
        -- others see nicknames (boards, leaderboards): no bad word, masked or not, and no personal data
        u.nickname := stockking.clean_text('nickname', v_nick, false);
    END IF;
    IF args ? 'avatar' THEN
        v_avatar := stockking.arg_text(args, 'avatar', false);
        IF v_avatar IS NOT NULL AND NOT v_avatar = ANY (stockking.avatar_ids()) THEN
            RAISE EXCEPTION 'field "avatar" must be one of the app''s avatars' USING ERRCODE = '22023',
                DETAIL = 'One of ' || array_to_string(stockking.avatar_ids(), ', ') || ', or null.';
        END IF;
        u.avatar := v_avatar;
    END IF;
    IF args ? 'birth_year' THEN
        v_birth := stockking.arg_bigint(args, 'birth_year', false);
        -- a child is 5 to 18 this year (Korean minors are under 19); an adult 18 to 100
        IF v_birth IS NOT NULL AND u.role = 'CHILD' AND v_birth NOT BETWEEN v_year - 18 AND v_year - 5 THEN
            RAISE EXCEPTION 'field "birth_year" must be between % and % for a child', v_year - 18, v_year - 5
                USING ERRCODE = '22023';
        END IF;
        IF v_birth IS NOT NULL AND u.role <> 'CHILD' AND v_birth NOT BETWEEN v_year - 100 AND v_year - 18 THEN
            RAISE EXCEPTION 'field "birth_year" must be between % and %', v_year - 100, v_year - 18
                USING ERRCODE = '22023';
        END IF;
        u.birth_year := v_birth;
    END IF;
    UPDATE stockking.users SET nickname = u.nickname, avatar = u.avatar, birth_year = u.birth_year WHERE id = v_user;
    RETURN stockking.user_json(u) || jsonb_build_object('avatar', u.avatar, 'birth_year', u.birth_year);
END
$$;
COMMENT ON FUNCTION api.update_me(jsonb) IS
$$PUT /v1/users/me (signed in): change one's profile.  Args (each optional): {"nickname": 1..30 characters, through the
profanity filter and the personal-data detector -- any bad word refuses it, masked or not; "avatar": one of
stockking.avatar_ids() (bear, cat, dog, fox, panda, penguin, rabbit, tiger, owl, dolphin, koala, lion) or null -- never a
URL; "birth_year": a CHILD 5..18 years old this year (Asia/Seoul), others 18..100, or null}.  A "role" field is refused
(42501), any other field too (22023).  Returns the user {"id","email","role","nickname","avatar","birth_year","family_id",
"created_at"}.
Errors: 22023 (400) unknown field, bad nickname length, avatar or birth year; 42501 (403) a role field; SK401 (422) a bad
word in the nickname; SK410..SK414 (422) personal data in it; 28000 (401).$$;

ALTER FUNCTION api.create_post(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.add_comment(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.report_post(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.report_comment(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.moderate_post(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.moderate_comment(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.list_posts(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.get_post(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.list_comments(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.delete_post(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.delete_comment(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.like_post(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.unlike_post(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.filter_text(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.moderation_queue(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.list_profanity_words(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.add_profanity_word(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.delete_profanity_word(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.community_settings(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.update_community_settings(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.update_me(jsonb) OWNER TO stockking_definer;

INSERT INTO stockking.route (method, path, fn, roles, read_only, success_status, token, summary) VALUES
    ('GET', '/v1/community/posts', 'list_posts', '{}', true, 200, 'none', 'Posts of the caller''s league, season, or children'),
    ('POST', '/v1/community/posts', 'create_post', '{CHILD}', false, 201, 'none', 'Write a post (filtered)'),
    ('GET', '/v1/community/posts/:id', 'get_post', '{}', true, 200, 'none', 'A post and its comments'),
    ('DELETE', '/v1/community/posts/:id', 'delete_post', '{CHILD}', false, 200, 'none', 'Delete one''s own post'),
    ('POST', '/v1/community/posts/:id/comments', 'add_comment', '{CHILD}', false, 201, 'none', 'Comment on a post (filtered)'),
    ('POST', '/v1/community/posts/:id/like', 'like_post', '{CHILD}', false, 200, 'none', 'Like a post'),
    ('DELETE', '/v1/community/posts/:id/like', 'unlike_post', '{CHILD}', false, 200, 'none', 'Take a like back'),
    ('POST', '/v1/community/posts/:id/report', 'report_post', '{CHILD,PARENT}', false, 201, 'none', 'Report a post'),
    ('GET', '/v1/community/comments', 'list_comments', '{}', true, 200, 'none', 'One''s own (or a child''s) comments'),
    ('DELETE', '/v1/community/comments/:id', 'delete_comment', '{CHILD}', false, 200, 'none', 'Delete one''s own comment'),
    ('POST', '/v1/community/comments/:id/report', 'report_comment', '{CHILD,PARENT}', false, 201, 'none', 'Report a comment'),
    ('POST', '/v1/community/filter', 'filter_text', '{}', true, 200, 'none', 'What the filter would do with a text'),
    ('GET', '/v1/admin/community/reports', 'moderation_queue', '{ADMIN}', true, 200, 'none', 'The moderation queue'),
    ('POST', '/v1/admin/community/posts/:id/moderate', 'moderate_post', '{ADMIN}', false, 200, 'none',
     'Hide, restore, delete a post or dismiss its reports'),
    ('POST', '/v1/admin/community/comments/:id/moderate', 'moderate_comment', '{ADMIN}', false, 200, 'none',
     'Hide, restore, delete a comment or dismiss its reports'),
    ('GET', '/v1/admin/community/words', 'list_profanity_words', '{ADMIN}', true, 200, 'none', 'The filter''s word list'),
    ('POST', '/v1/admin/community/words', 'add_profanity_word', '{ADMIN}', false, 201, 'none', 'Add a word to the filter'),
    ('DELETE', '/v1/admin/community/words/:id', 'delete_profanity_word', '{ADMIN}', false, 200, 'none',
     'Remove a word an ADMIN added'),
    ('GET', '/v1/admin/community/settings', 'community_settings', '{ADMIN}', true, 200, 'none', 'The board''s limits'),
    ('PUT', '/v1/admin/community/settings', 'update_community_settings', '{ADMIN}', false, 200, 'none',
     'Change the board''s limits'),
    ('PUT', '/v1/users/me', 'update_me', '{}', false, 200, 'none', 'Change one''s nickname, avatar or birth year');

-- sql/98_system.sql
-- The community board (sql/92_community.sql): like and comment counts and
-- the open reports of every user, and hiding a VISIBLE post or comment when
-- its reports reach the threshold (the reporter cannot read it once hidden),
-- through views that show ids, states and reasons only.
ALTER VIEW stockking.community_like_count OWNER TO stockking_system;
ALTER VIEW stockking.community_comment_count OWNER TO stockking_system;
ALTER VIEW stockking.community_report_open OWNER TO stockking_system;
ALTER VIEW stockking.community_post_visible OWNER TO stockking_system;
ALTER VIEW stockking.community_comment_visible OWNER TO stockking_system;
GRANT SELECT (post_id) ON stockking.community_like TO stockking_system;
GRANT SELECT (post_id, comment_id, reason, status, created_at) ON stockking.community_report TO stockking_system;
GRANT SELECT (id, post_id, status, hidden_by, moderated_at, moderation_reason),
    UPDATE (status, hidden_by, moderated_at, moderation_reason) ON stockking.community_comment TO stockking_system;
GRANT SELECT (id, status, hidden_by, moderated_at, moderation_reason),
    UPDATE (status, hidden_by, moderated_at, moderation_reason) ON stockking.community_post TO stockking_system;

-- ===== What pg_dump saves (sql/97_dump.sql, new) ===========================
-- What pg_dump saves.  The extension's tables belong to the extension, and
-- pg_dump saves the rows of such a table only when it is registered here
-- (pg_extension_config_dump): every table that holds users' or operators'
-- data is, with its identity sequence, so that `pg_dump` and `pg_restore`
-- (or `psql < dump.sql`) bring every row back.  A new table registers itself
-- next to its CREATE TABLE; regress/sql/privileges.sql fails when a table is
-- in neither list.
--
-- Not saved, because they are the extension's own content, made by the
-- install script of the version restored into: error_code, route, market,
-- tick_band, badge, mission (and the materialized view leaderboard_weekly,
-- which the leaderboard job refreshes).
--
-- Restoring loads the rows with COPY after CREATE EXTENSION has made the
-- tables, their triggers and the rows the install script seeds:
--   * triggers that derive rows skip restored ones (stockking.restoring());
--   * season, instrument and merchant are seeded and then changed by the
--     application (a replay season's clock, families' merchants), so they
--     are saved whole and a restored row overwrites the seeded row with its
--     primary key (stockking.restore_replace()).

CREATE FUNCTION stockking.restore_replace() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_set   text;
    v_where text;
    v_found bigint;
BEGIN
    -- every column but the primary key's (and generated ones) from the
    -- restored row, onto the row with its primary key
    SELECT string_agg(format('%I = ($1).%I', a.attname, a.attname), ', ')
               FILTER (WHERE NOT a.attnum = ANY (i.indkey)),
           string_agg(format('%I = ($1).%I', a.attname, a.attname), ' AND ')
               FILTER (WHERE a.attnum = ANY (i.indkey))
      INTO v_set, v_where
      FROM pg_index i
      JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
     WHERE i.indrelid = TG_RELID AND i.indisprimary;
    EXECUTE format('UPDATE %s SET %s WHERE %s', TG_RELID::regclass, v_set, v_where) USING NEW;
    GET DIAGNOSTICS v_found = ROW_COUNT;
    IF v_found > 0 THEN
        RETURN NULL;
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION stockking.restore_replace() IS
    'BEFORE INSERT trigger, while a dump is restored: the restored row overwrites a seeded row with the same primary key (and is not inserted)';
CREATE TRIGGER season_restore BEFORE INSERT ON stockking.season
    FOR EACH ROW WHEN (stockking.restoring()) EXECUTE FUNCTION stockking.restore_replace();
CREATE TRIGGER instrument_restore BEFORE INSERT ON stockking.instrument
    FOR EACH ROW WHEN (stockking.restoring()) EXECUTE FUNCTION stockking.restore_replace();
CREATE TRIGGER merchant_restore BEFORE INSERT ON stockking.merchant
    FOR EACH ROW WHEN (stockking.restoring()) EXECUTE FUNCTION stockking.restore_replace();

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY[
        -- market data and seasons
        'instrument', 'price_bar', 'season', 'replay_schedule',
        -- people and sessions
        'family', 'users', 'refresh_token', 'link_code', 'family_setting', 'event_cursor',
        -- trading
        'account', 'cash_ledger', 'holding', 'orders', 'fill', 'trade_request', 'account_snapshot',
        -- events
        'outbox', 'outbox_pruned',
        -- the pocket-money ledger
        'merchant', 'ledger_entry', 'ledger_pending', 'ledger_import', 'ledger_monthly', 'ledger_budget',
        'ledger_budget_alert',
        -- allowance and payments
        'allowance_goal', 'allowance_request', 'payment', 'payment_attempt', 'sandbox_transfer', 'sandbox_rule',
        -- missions, leagues, summaries, jobs
        'user_progress', 'user_badge', 'mission_progress', 'league_member', 'league_assignment', 'league_result',
        'family_summary', 'family_summary_notice', 'job_state']
    LOOP
        PERFORM pg_catalog.pg_extension_config_dump(format('stockking.%I', t)::regclass, '');
    END LOOP;
END
$$;

-- The identity sequences of every table registered (here or before), and the
-- outbox's commit order.  (One call a statement: each updates pg_extension.)
DO $$
DECLARE
    s regclass;
BEGIN
    FOR s IN SELECT pg_get_serial_sequence(c.oid::regclass::text, a.attname)::regclass
               FROM pg_class c
               JOIN pg_attribute a ON a.attrelid = c.oid AND a.attidentity <> ''
              WHERE c.oid = ANY ((SELECT extconfig FROM pg_extension WHERE extname = 'stockking')::oid[])
              ORDER BY 1
    LOOP
        PERFORM pg_catalog.pg_extension_config_dump(s, '');
    END LOOP;
    PERFORM pg_catalog.pg_extension_config_dump('stockking.outbox_seq', '');
END
$$;

-- ===== The system role's functions and privileges (sql/98_system.sql, new) =
-- The functions that act beyond one caller's rows, and exactly what they
-- may touch.  They are SECURITY DEFINER and owned by stockking_system: not a
-- superuser and the owner of no table, it passes row-level security
-- (BYPASSRLS) but holds only the privileges granted below.  In one place, so
-- that the whole of what the web can reach past row-level security reads on
-- one page (and regress/sql/privileges.sql pins it).

-- Sign-up, log-in and sessions: before there is a caller, or for a refresh
-- token's user.
ALTER FUNCTION api.signup(jsonb) OWNER TO stockking_system;
ALTER FUNCTION api.login(jsonb) OWNER TO stockking_system;
ALTER FUNCTION api.refresh(jsonb) OWNER TO stockking_system;
ALTER FUNCTION api.logout(jsonb) OWNER TO stockking_system;
ALTER FUNCTION stockking.issue_refresh_token(uuid, uuid, bigint) OWNER TO stockking_system;
GRANT SELECT, INSERT ON stockking.family TO stockking_system;
GRANT SELECT, INSERT ON stockking.users TO stockking_system;
GRANT SELECT, INSERT, UPDATE (rotated_at, revoked_at, revoked_reason) ON stockking.refresh_token TO stockking_system;
-- a child's link code, made at sign-up (the trigger runs as the sign-up)
GRANT SELECT, INSERT, UPDATE (code, created_at) ON stockking.link_code TO stockking_system;
GRANT EXECUTE ON FUNCTION stockking.issue_link_code(uuid, uuid) TO stockking_system;
GRANT SELECT ON stockking.family_setting TO stockking_system;

-- Accounts: opened at sign-up and on joining a season (its opening deposit).
ALTER FUNCTION stockking.open_account(uuid, integer) OWNER TO stockking_system;
GRANT UPDATE (default_account_id) ON stockking.users TO stockking_system;
GRANT SELECT ON stockking.season, stockking.instrument, stockking.price_bar TO stockking_system;
GRANT SELECT, INSERT ON stockking.account, stockking.cash_ledger TO stockking_system;
GRANT EXECUTE ON FUNCTION stockking.season_clock(integer) TO stockking_system;

-- Events: the outbox is written by every domain through emit_event, numbered
-- in commit order, fanned out by the proxy (event_feed) and read back by
-- their recipients (event_replay, notifications).
ALTER FUNCTION stockking.emit_event(uuid, uuid, text, text, jsonb) OWNER TO stockking_system;
ALTER FUNCTION stockking.outbox_commit_order() OWNER TO stockking_system;
ALTER FUNCTION api.event_feed(jsonb) OWNER TO stockking_system;
ALTER FUNCTION api.event_replay(jsonb) OWNER TO stockking_system;
ALTER FUNCTION stockking.events_for_caller(bigint, integer) OWNER TO stockking_system;
GRANT SELECT, INSERT, UPDATE (seq) ON stockking.outbox TO stockking_system;
GRANT USAGE ON SEQUENCE stockking.outbox_seq TO stockking_system;
GRANT SELECT ON stockking.outbox_pruned TO stockking_system;

-- The ledger's monthly summary and budget alerts, kept by statement
-- triggers on every user's entries.
ALTER FUNCTION stockking.ledger_summary_upsert(jsonb) OWNER TO stockking_system;
ALTER FUNCTION stockking.ledger_entry_summary() OWNER TO stockking_system;
ALTER FUNCTION stockking.ledger_check_budget(uuid, text) OWNER TO stockking_system;
GRANT SELECT, INSERT, UPDATE (total, entries), DELETE ON stockking.ledger_monthly TO stockking_system;
GRANT SELECT ON stockking.ledger_budget TO stockking_system;
GRANT SELECT, INSERT, UPDATE (outbox_id) ON stockking.ledger_budget_alert TO stockking_system;

-- Family merges (extension/family.c): the parent cannot see the child's
-- family before the link; the merge moves family_id of the tables it lists,
-- merges the settings and deletes the emptied family.
ALTER FUNCTION api.link_family(jsonb) OWNER TO stockking_system;
GRANT UPDATE, DELETE ON stockking.family TO stockking_system;
GRANT INSERT, UPDATE, DELETE ON stockking.family_setting TO stockking_system;
GRANT SELECT, DELETE ON stockking.family_summary_notice TO stockking_system;
DO $$
DECLARE
    t text;
BEGIN
    FOR t IN SELECT stockking.family_tables() LOOP
        EXECUTE format('GRANT SELECT (family_id), UPDATE (family_id) ON stockking.%I TO stockking_system', t);
    END LOOP;
END
$$;

-- Other children's nickname and XP (leaderboards, leagues), through views
-- owned by stockking_system that show those two columns.
ALTER VIEW stockking.users_public OWNER TO stockking_system;
ALTER VIEW stockking.progress_public OWNER TO stockking_system;
GRANT SELECT (user_id, xp) ON stockking.user_progress TO stockking_system;

-- The route and error tables and the OpenAPI document: the api's own
-- description, read by the proxy and by anyone.
ALTER FUNCTION api.error_table() OWNER TO stockking_definer;
ALTER FUNCTION api.route_table() OWNER TO stockking_definer;
ALTER FUNCTION api.openapi(jsonb) OWNER TO stockking_definer;
GRANT SELECT ON stockking.error_code, stockking.route TO stockking_definer;

-- Nothing the web can reach runs as a superuser: every SECURITY DEFINER
-- function of the extension is owned by one of its two roles.
DO $$
DECLARE
    f text;
BEGIN
    SELECT string_agg(p.oid::regprocedure::text, ', ') INTO f
      FROM pg_proc p
      JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
      JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'stockking'
     WHERE p.prosecdef AND p.proowner NOT IN ('stockking_definer'::regrole, 'stockking_system'::regrole);
    IF f IS NOT NULL THEN
        RAISE EXCEPTION 'SECURITY DEFINER functions owned by neither stockking_definer nor stockking_system: %', f;
    END IF;
END
$$;

-- ===== The api closed to all but stockking_api (sql/99_grants.sql) ========
-- Last: close the api schema to everything but stockking_api (the proxy's
-- role) and the superuser.  Runs after every domain's file.

REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA api FROM PUBLIC;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA api TO stockking_api;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA api TO stockking_definer;
