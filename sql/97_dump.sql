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
