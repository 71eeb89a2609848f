-- bench/scale_family_run.sql: the timed part of the family scale bench
-- (bench/scale_family.sh), on the data of bench/scale_family_setup.sql.
-- Each job is timed twice: the first run does the work, the second shows
-- what a re-run costs (they are idempotent).  The read of the leaderboard
-- (top 100 and the caller's own rank) is timed 1,000 times for random
-- children; it prints one line per measure:  measure=NAME ms=N
SET client_min_messages = warning;

CREATE TEMP TABLE timing (measure text, ms numeric);
CREATE FUNCTION pg_temp.timed(measure text, q text) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    t0 timestamptz := clock_timestamp();
    r  jsonb;
BEGIN
    EXECUTE q INTO r;
    INSERT INTO timing VALUES (measure, round(extract(epoch FROM clock_timestamp() - t0) * 1000, 1));
    RETURN r;
END
$$;

-- each job in a transaction of its own, as pg_cron runs it
SELECT pg_temp.timed('snapshot_job', 'SELECT stockking.snapshot_accounts(1)') - 'ms' AS snapshot_job;
SELECT pg_temp.timed('snapshot_job_rerun', 'SELECT stockking.snapshot_accounts(1)') - 'ms' AS snapshot_job_rerun;
SELECT pg_temp.timed('leaderboard_refresh', 'SELECT stockking.refresh_leaderboard()') - 'ms' AS leaderboard_refresh;
SELECT pg_temp.timed('leaderboard_refresh_rerun', 'SELECT stockking.refresh_leaderboard()') - 'ms' AS leaderboard_refresh_rerun;
SELECT pg_temp.timed('monthly_summary', 'SELECT stockking.build_family_summary(stockking.seoul_month(now()))') - 'ms'
    AS monthly_summary;
SELECT pg_temp.timed('monthly_summary_rerun', 'SELECT stockking.build_family_summary(stockking.seoul_month(now()))')
    - 'ms' AS monthly_summary_rerun;
SELECT pg_temp.timed('leagues_draw', 'SELECT stockking.run_leagues()') AS leagues_draw;
SELECT pg_temp.timed('leagues_week_end', 'SELECT stockking.run_leagues(now() + interval ''7 days'')') AS leagues_week_end;

-- top 100 and one's own rank, as a child calls it (api.get_leaderboard), 1,000 times
CREATE TEMP TABLE reads (ms numeric);
DO $$
DECLARE
    ids uuid[] := ARRAY(SELECT id FROM stockking.users WHERE role = 'CHILD' ORDER BY random() LIMIT 1000);
    t0  timestamptz;
    r   jsonb;
BEGIN
    PERFORM set_config('request.role', 'CHILD', true);
    FOR i IN 1 .. array_length(ids, 1) LOOP
        PERFORM set_config('request.user_id', ids[i]::text, true);
        t0 := clock_timestamp();
        r := api.get_leaderboard('{"period": "weekly", "limit": 100}');
        INSERT INTO reads VALUES (extract(epoch FROM clock_timestamp() - t0) * 1000);
        IF jsonb_array_length(r -> 'items') <> 100 OR r -> 'me' -> 'rank' IS NULL THEN
            RAISE EXCEPTION 'unexpected leaderboard answer %', left(r::text, 200);
        END IF;
    END LOOP;
END
$$;
INSERT INTO timing
SELECT 'leaderboard_read_p50', round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 3) FROM reads
UNION ALL
SELECT 'leaderboard_read_p99', round(percentile_cont(0.99) WITHIN GROUP (ORDER BY ms)::numeric, 3) FROM reads;

\pset format unaligned
\pset tuples_only on
SELECT 'measure=' || measure || ' ms=' || ms FROM timing;
SELECT 'rows snapshots=' || (SELECT count(*) FROM stockking.account_snapshot)
    || ' leaderboard=' || (SELECT count(*) FROM stockking.leaderboard_weekly)
    || ' summaries=' || (SELECT count(*) FROM stockking.family_summary)
    || ' league_results=' || (SELECT count(*) FROM stockking.league_result);
