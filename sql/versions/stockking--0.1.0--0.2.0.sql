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
    IF FOUND THEN
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
