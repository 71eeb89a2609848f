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

-- The upgrade from 0.1.0: every stored fingerprint made by 0.1.0 is replaced by the SHA-256 one of
-- the same row, so that importing an old file again still adds nothing.  The entry keeps its date,
-- kind and amount; its description is what the import kept of it (the memo, else the merchant,
-- else empty) and its occurrence at most the number of such entries: each candidate is checked
-- against the old fingerprint, so a fingerprint is only ever replaced by the row's own.  A row
-- whose description the import did not keep (a file with a memo column, whose description named
-- a known merchant: "스타벅스 강남점" became 스타벅스 and its memo the file's memo), or that was
-- changed since (a chat correction), cannot be proven and keeps its old fingerprint: it is counted
-- as "unverified", and a new import of its file adds it again.
CREATE FUNCTION stockking.ledger_refingerprint() RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v_checked  integer;
    v_replaced integer;
    v_current  integer;
BEGIN
    LOCK TABLE stockking.ledger_entry IN SHARE ROW EXCLUSIVE MODE;
    WITH cand AS (
        SELECT e.id, x.new_fp, coalesce(x.current, false) AS current
          FROM stockking.ledger_entry e
          LEFT JOIN LATERAL (
              SELECT stockking.ledger_row_fingerprint(e.entry_date, e.kind, e.amount, d.d, o.o) AS new_fp,
                     stockking.ledger_row_fingerprint(e.entry_date, e.kind, e.amount, d.d, o.o) = e.fingerprint AS current
                FROM unnest(ARRAY[e.memo, coalesce(e.merchant, ''), '']) WITH ORDINALITY AS d (d, k),
                     generate_series(1, (SELECT count(*) FROM stockking.ledger_entry s
                                          WHERE s.user_id = e.user_id AND s.entry_date = e.entry_date AND s.kind = e.kind
                                            AND s.amount = e.amount AND s.fingerprint IS NOT NULL)::integer + 2) AS o (o)
               WHERE stockking.ledger_row_fingerprint_v1(e.entry_date, e.kind, e.amount, d.d, o.o) = e.fingerprint
                  OR stockking.ledger_row_fingerprint(e.entry_date, e.kind, e.amount, d.d, o.o) = e.fingerprint
               ORDER BY d.k, o.o LIMIT 1) x ON true
         WHERE e.fingerprint IS NOT NULL),
    upd AS (
        UPDATE stockking.ledger_entry e SET fingerprint = c.new_fp
          FROM cand c
         WHERE e.id = c.id AND c.new_fp IS NOT NULL AND NOT c.current
        RETURNING 1)
    SELECT (SELECT count(*) FROM cand), (SELECT count(*) FROM upd), (SELECT count(*) FROM cand WHERE current)
      INTO v_checked, v_replaced, v_current;
    RETURN jsonb_build_object('checked', v_checked, 'replaced', v_replaced, 'current', v_current,
                              'unverified', v_checked - v_replaced - v_current);
END
$$;
REVOKE ALL ON FUNCTION stockking.ledger_refingerprint() FROM PUBLIC;
COMMENT ON FUNCTION stockking.ledger_refingerprint() IS
$$Upgrade 0.1.0 -> 0.2.0 (and safe to run again): replace every imported entry's 0.1.0 fingerprint by its SHA-256 one,
proven against the old one.  Returns {"checked","replaced","current" (SHA-256 already),"unverified" (kept: the import
did not keep the row's description, or the entry was changed since)}.$$;

-- every fingerprint 0.1.0 made is replaced by its SHA-256 one where it can be proven (see the function)
SELECT stockking.ledger_refingerprint();

-- ===== The api closed to all but stockking_api (sql/99_grants.sql) ========
-- Last: close the api schema to everything but stockking_api (the proxy's
-- role) and the superuser.  Runs after every domain's file.

REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA api FROM PUBLIC;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA api TO stockking_api;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA api TO stockking_definer;
