-- Scheduled jobs and materialized summaries.
--
-- Each job is a function that may run any number of times: it does what is
-- due and nothing twice.  stockking.run_job(job) runs one under a
-- transaction-level advisory lock (a second run of the same job at the same
-- time returns at once) and records its result in stockking.job_state.
-- stockking.install_jobs() schedules them all with pg_cron, by name, so
-- calling it again updates the schedules instead of adding jobs.  pg_cron
-- lives only in the database cron.database_name names; this script does not
-- need it -- the set-up calls install_jobs() there -- and the regression
-- tests call the job functions directly.  Schedules are in cron.timezone
-- (the set-up sets Asia/Seoul).

-- Replay seasons that advance on their own: bars_per_run bars every minute.
CREATE TABLE stockking.replay_schedule (
    season_id    integer PRIMARY KEY REFERENCES stockking.season (id),
    bars_per_run integer NOT NULL DEFAULT 1 CHECK (bars_per_run BETWEEN 1 AND 5000),
    active       boolean NOT NULL DEFAULT true,
    updated_at   timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE stockking.replay_schedule IS
    'operators: REPLAY seasons the replay-clock job advances, bars_per_run bars a minute (switched off at the end of the data)';

-- Job: advance the scheduled replay seasons' clocks (api.advance_clock
-- matches their resting limit orders and expires their DAY orders bar by
-- bar), then snapshot their accounts at the new clock.
CREATE FUNCTION stockking.advance_replays() RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    r      record;
    v_out  jsonb := '[]';
    v_step jsonb;
BEGIN
    FOR r IN SELECT rs.season_id, rs.bars_per_run FROM stockking.replay_schedule rs
               JOIN stockking.season s ON s.id = rs.season_id
              WHERE rs.active AND s.mode = 'REPLAY' AND s.status = 'OPEN' ORDER BY rs.season_id LOOP
        BEGIN
            v_step := api.advance_clock(r.season_id, r.bars_per_run);
            IF (v_step ->> 'at_end')::boolean THEN
                UPDATE stockking.replay_schedule SET active = false, updated_at = now() WHERE season_id = r.season_id;
            END IF;
        EXCEPTION WHEN SQLSTATE 'SK012' THEN
            UPDATE stockking.replay_schedule SET active = false, updated_at = now() WHERE season_id = r.season_id;
            v_step := jsonb_build_object('season_id', r.season_id, 'at_end', true, 'bars_advanced', 0);
        END;
        PERFORM stockking.snapshot_accounts(r.season_id);
        v_out := v_out || v_step;
    END LOOP;
    RETURN jsonb_build_object('seasons', v_out);
END
$$;

-- Job: expire DAY limit orders of LIVE seasons whose session is over.  A
-- DAY order is good for the session after it was placed (extension/trade.c):
-- once a bar of its symbol after placed_bar_date exists and lies before the
-- season's clock, that session is over.  An order that bar did not reach
-- expires, its reservation released; one the bar reached is left for the
-- matching (REPLAY seasons do both in api.advance_clock).
CREATE FUNCTION stockking.expire_day_orders() RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    o        record;
    v_status text;
    v_cash   bigint;
    v_qty    bigint;
    v_count  integer := 0;
BEGIN
    FOR o IN SELECT od.id, od.account_id, od.family_id, od.user_id, od.symbol, od.side,
                    od.quantity - od.filled_quantity AS open_qty
               FROM stockking.orders od
               JOIN stockking.season s ON s.id = od.season_id AND s.mode = 'LIVE' AND s.status = 'OPEN'
               CROSS JOIN LATERAL (SELECT b.low, b.high, b.bar_date FROM stockking.price_bar b
                                    WHERE b.symbol = od.symbol AND b.bar_date > od.placed_bar_date
                                    ORDER BY b.bar_date LIMIT 1) nb
              WHERE od.status IN ('NEW', 'PARTIALLY_FILLED') AND od.order_type = 'LIMIT' AND od.time_in_force = 'DAY'
                AND nb.bar_date < stockking.season_clock(s.id)
                AND CASE WHEN od.side = 'BUY' THEN nb.low > od.limit_price ELSE nb.high < od.limit_price END
              ORDER BY od.account_id, od.id LOOP
        PERFORM 1 FROM stockking.account WHERE id = o.account_id FOR UPDATE;
        -- again under the account's lock: a cancel may have come first
        SELECT status, reserved_cash, reserved_quantity INTO v_status, v_cash, v_qty
          FROM stockking.orders WHERE id = o.id;
        CONTINUE WHEN v_status NOT IN ('NEW', 'PARTIALLY_FILLED');
        UPDATE stockking.account SET reserved_cash = reserved_cash - v_cash WHERE id = o.account_id AND v_cash <> 0;
        UPDATE stockking.holding SET reserved_quantity = reserved_quantity - v_qty, updated_at = now()
         WHERE account_id = o.account_id AND symbol = o.symbol AND v_qty <> 0;
        UPDATE stockking.orders SET status = 'EXPIRED',
               status_reason = 'DAY order: the next session did not reach the limit price',
               reserved_cash = 0, reserved_quantity = 0, updated_at = now()
         WHERE id = o.id;
        v_count := v_count + 1;
        PERFORM stockking.emit_event(o.user_id, o.family_id, 'FAMILY', 'OrderExpired',
                                     jsonb_build_object('order_id', o.id, 'symbol', o.symbol, 'side', o.side,
                                                        'quantity', o.open_qty, 'status', 'EXPIRED',
                                                        'reason', 'DAY order: the next session did not reach the limit price'));
    END LOOP;
    RETURN jsonb_build_object('expired', v_count);
END
$$;

-- Job: the mission periods that ended.  Progress rows are keyed by the
-- period's start, so a new Asia/Seoul day or week starts from 0 by itself;
-- this marks the unfinished missions of ended periods expired and removes
-- the ones that never started.  Completed missions stay claimable.
CREATE FUNCTION stockking.reset_missions(at timestamptz DEFAULT now()) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v_day     date := stockking.seoul_day(at);
    v_week    date := stockking.seoul_week(at);
    v_expired bigint;
    v_removed bigint;
BEGIN
    DELETE FROM stockking.mission_progress mp USING stockking.mission m
     WHERE m.code = mp.mission_code AND mp.progress = 0 AND mp.completed_at IS NULL
       AND mp.period_start < CASE m.period WHEN 'DAILY' THEN v_day ELSE v_week END;
    GET DIAGNOSTICS v_removed = ROW_COUNT;
    UPDATE stockking.mission_progress mp SET expired = true, updated_at = now()
      FROM stockking.mission m
     WHERE m.code = mp.mission_code AND NOT mp.expired AND mp.completed_at IS NULL
       AND mp.period_start < CASE m.period WHEN 'DAILY' THEN v_day ELSE v_week END;
    GET DIAGNOSTICS v_expired = ROW_COUNT;
    RETURN jsonb_build_object('day', v_day, 'week', v_week, 'expired', v_expired, 'removed', v_removed);
END
$$;

-- Job: refresh the weekly leaderboard, concurrently (readers never wait).
CREATE FUNCTION stockking.refresh_leaderboard() RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    t0 timestamptz := clock_timestamp();
BEGIN
    REFRESH MATERIALIZED VIEW CONCURRENTLY stockking.leaderboard_weekly;
    RETURN jsonb_build_object('rows', (SELECT count(*) FROM stockking.leaderboard_weekly),
                              'ms', round(extract(epoch FROM clock_timestamp() - t0) * 1000));
END
$$;

-- Job: the leagues.  When a week has begun: finish the week before (rank
-- each league by the weekly time-weighted return, promote the top and
-- relegate the bottom), then draw this week's leagues.  Both steps happen
-- once per week; running again changes nothing.
CREATE FUNCTION stockking.run_leagues(at timestamptz DEFAULT now()) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v_week     date := stockking.seoul_week(at);
    v_prev     date := v_week - 7;
    v_season   integer := (SELECT id FROM stockking.season WHERE is_default AND status = 'OPEN');
    v_finished bigint := 0;
    v_assigned bigint := 0;
BEGIN
    IF EXISTS (SELECT 1 FROM stockking.league_assignment WHERE week_start = v_prev)
       AND NOT EXISTS (SELECT 1 FROM stockking.league_result WHERE week_start = v_prev) THEN
        WITH ret AS (
            SELECT la.*, round(stockking.index_before(la.account_id, stockking.seoul_start(v_week))
                               / nullif(stockking.index_before(la.account_id, stockking.seoul_start(v_prev)), 0) - 1, 6) AS r
              FROM stockking.league_assignment la WHERE la.week_start = v_prev
        ), ranked AS (
            SELECT ret.*, coalesce(ret.r, 0) AS weekly_return,
                   rank() OVER (PARTITION BY tier, group_no ORDER BY coalesce(ret.r, 0) DESC) AS rnk,
                   row_number() OVER (PARTITION BY tier, group_no ORDER BY coalesce(ret.r, 0) DESC, user_id) AS pos,
                   count(*) OVER (PARTITION BY tier, group_no) AS n
              FROM ret
        ), moved AS (
            SELECT ranked.*, stockking.league_moves(n::integer) AS k FROM ranked
        ), decided AS (
            SELECT moved.*,
                   CASE WHEN pos <= k AND tier < 5 THEN 'PROMOTED'
                        WHEN pos > n - k AND tier > 1 THEN 'RELEGATED' ELSE 'STAYED' END AS movement
              FROM moved
        ), ins AS (
            INSERT INTO stockking.league_result (week_start, user_id, family_id, tier, group_no, group_size, rank_in_group,
                                                 weekly_return, movement, new_tier)
            SELECT v_prev, user_id, family_id, tier, group_no, n, rnk, weekly_return, movement,
                   tier + CASE movement WHEN 'PROMOTED' THEN 1 WHEN 'RELEGATED' THEN -1 ELSE 0 END
              FROM decided
            RETURNING user_id, new_tier
        )
        UPDATE stockking.league_member m SET tier = ins.new_tier, updated_at = now()
          FROM ins WHERE m.user_id = ins.user_id AND m.tier <> ins.new_tier;
        SELECT count(*) INTO v_finished FROM stockking.league_result WHERE week_start = v_prev;
    END IF;

    IF v_season IS NOT NULL AND NOT EXISTS (SELECT 1 FROM stockking.league_assignment WHERE week_start = v_week) THEN
        INSERT INTO stockking.league_member (user_id, family_id)
        SELECT a.user_id, a.family_id FROM stockking.account a WHERE a.season_id = v_season
        ON CONFLICT (user_id) DO NOTHING;
        WITH players AS (
            SELECT a.user_id, a.family_id, a.id AS account_id, m.tier,
                   row_number() OVER (PARTITION BY m.tier ORDER BY md5(a.user_id::text || v_week::text)) AS i,
                   count(*) OVER (PARTITION BY m.tier) AS n
              FROM stockking.account a JOIN stockking.league_member m ON m.user_id = a.user_id
             WHERE a.season_id = v_season
        )
        INSERT INTO stockking.league_assignment (week_start, user_id, family_id, account_id, tier, group_no)
        SELECT v_week, user_id, family_id, account_id, tier,
               ((i - 1) % greatest(1, round(n / 30.0)))::integer + 1
          FROM players;
        GET DIAGNOSTICS v_assigned = ROW_COUNT;
    END IF;
    RETURN jsonb_build_object('week_start', v_week, 'finished_week', v_prev, 'results', v_finished,
                              'assigned', v_assigned);
END
$$;
COMMENT ON FUNCTION stockking.run_leagues(timestamptz) IS
    'job: finish last week''s leagues (once) and draw this week''s (once): leagues of about 30 per tier, top 5 up, bottom 5 down';

-- The monthly family summary: per child and Asia/Seoul month, the trades
-- (fills), the time-weighted return of the default-season account over the
-- month, the allowance paid (SUCCEEDED payments) and the missions completed.
CREATE TABLE stockking.family_summary (
    month              date NOT NULL,
    child_id           uuid NOT NULL,
    family_id          uuid NOT NULL,
    trades             integer NOT NULL,
    month_return       numeric(20, 6),
    allowance_paid     bigint NOT NULL,
    missions_completed integer NOT NULL,
    badges_earned      integer NOT NULL,
    computed_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (month, child_id)
);
CREATE INDEX family_summary_family ON stockking.family_summary (family_id, month);
COMMENT ON TABLE stockking.family_summary IS
    'a child''s month (Asia/Seoul): trades, time-weighted return of the default-season account, allowance paid (won), missions completed, badges earned';
CREATE TABLE stockking.family_summary_notice (
    month     date NOT NULL,
    family_id uuid NOT NULL,
    event_id  bigint,
    PRIMARY KEY (month, family_id)
);
ALTER TABLE stockking.family_summary ENABLE ROW LEVEL SECURITY;
CREATE POLICY family_summary_read ON stockking.family_summary FOR SELECT USING (stockking.can_read(family_id, child_id));
GRANT SELECT ON stockking.family_summary TO stockking_definer;

CREATE FUNCTION stockking.build_family_summary(p_month date DEFAULT NULL) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v_month   date := date_trunc('month', coalesce(p_month, stockking.seoul_month(now()) - 1))::date;
    v_from    timestamptz := stockking.seoul_start(v_month);
    v_to      timestamptz := stockking.seoul_start((v_month + interval '1 month')::date);
    v_season  integer := (SELECT id FROM stockking.season WHERE is_default);
    v_rows    bigint;
    v_events  bigint;
    t0        timestamptz := clock_timestamp();
BEGIN
    INSERT INTO stockking.family_summary AS fs (month, child_id, family_id, trades, month_return, allowance_paid,
                                               missions_completed, badges_earned, computed_at)
    SELECT v_month, u.id, u.family_id, coalesce(f.n, 0),
           CASE WHEN a.id IS NOT NULL THEN
               round(stockking.index_before(a.id, v_to) / nullif(stockking.index_before(a.id, v_from), 0) - 1, 6) END,
           coalesce(p.paid, 0), coalesce(mp.n, 0), coalesce(b.n, 0), now()
      FROM stockking.users u
      LEFT JOIN (SELECT user_id, count(*) AS n FROM stockking.fill
                  WHERE created_at >= v_from AND created_at < v_to GROUP BY user_id) f ON f.user_id = u.id
      LEFT JOIN (SELECT child_id, sum(amount) AS paid FROM stockking.payment
                  WHERE status = 'SUCCEEDED' AND succeeded_at >= v_from AND succeeded_at < v_to
                  GROUP BY child_id) p ON p.child_id = u.id
      LEFT JOIN (SELECT user_id, count(*) AS n FROM stockking.mission_progress
                  WHERE completed_at >= v_from AND completed_at < v_to GROUP BY user_id) mp ON mp.user_id = u.id
      LEFT JOIN (SELECT user_id, count(*) AS n FROM stockking.user_badge
                  WHERE earned_at >= v_from AND earned_at < v_to GROUP BY user_id) b ON b.user_id = u.id
      LEFT JOIN stockking.account a ON a.user_id = u.id AND a.season_id = v_season
     WHERE u.role = 'CHILD'
    ON CONFLICT (month, child_id) DO UPDATE
       SET family_id = EXCLUDED.family_id, trades = EXCLUDED.trades, month_return = EXCLUDED.month_return,
           allowance_paid = EXCLUDED.allowance_paid, missions_completed = EXCLUDED.missions_completed,
           badges_earned = EXCLUDED.badges_earned, computed_at = EXCLUDED.computed_at
     WHERE (fs.family_id, fs.trades, fs.month_return, fs.allowance_paid, fs.missions_completed, fs.badges_earned)
           IS DISTINCT FROM (EXCLUDED.family_id, EXCLUDED.trades, EXCLUDED.month_return, EXCLUDED.allowance_paid,
                             EXCLUDED.missions_completed, EXCLUDED.badges_earned);
    GET DIAGNOSTICS v_rows = ROW_COUNT;

    -- tell each family's parents once per month
    WITH fam AS (
        INSERT INTO stockking.family_summary_notice (month, family_id)
        SELECT DISTINCT v_month, s.family_id FROM stockking.family_summary s
         WHERE s.month = v_month
           AND EXISTS (SELECT 1 FROM stockking.users pu WHERE pu.family_id = s.family_id AND pu.role = 'PARENT')
        ON CONFLICT DO NOTHING
        RETURNING family_id
    )
    SELECT count(stockking.emit_event(
               (SELECT pu.id FROM stockking.users pu WHERE pu.family_id = fam.family_id AND pu.role = 'PARENT'
                 ORDER BY pu.created_at LIMIT 1),
               fam.family_id, 'PARENTS', 'MonthlySummaryReady',
               jsonb_build_object('month', to_char(v_month, 'YYYY-MM'))))
      INTO v_events FROM fam;
    RETURN jsonb_build_object('month', to_char(v_month, 'YYYY-MM'), 'written', v_rows, 'events', v_events,
                              'ms', round(extract(epoch FROM clock_timestamp() - t0) * 1000));
END
$$;
COMMENT ON FUNCTION stockking.build_family_summary(date) IS
    'job: the monthly family summary of a month (default: the month before this Asia/Seoul month); re-running recomputes '
    'it and writes only what changed; the parents of each family hear MonthlySummaryReady once';

CREATE FUNCTION api.get_family_summary(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v_text  text := stockking.arg_text(args, 'month', false);
    v_month date;
BEGIN
    PERFORM stockking.require_user();
    IF v_text IS NULL THEN
        v_month := stockking.seoul_month(now()) - interval '1 month';
    ELSIF v_text ~ '^[0-9]{4}-(0[1-9]|1[0-2])$' THEN
        v_month := (v_text || '-01')::date;
    ELSE
        RAISE EXCEPTION 'field "month" must be YYYY-MM' USING ERRCODE = '22007';
    END IF;
    RETURN jsonb_build_object(
        'month', to_char(v_month, 'YYYY-MM'),
        'children', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                         'child_id', s.child_id, 'nickname', u.nickname, 'trades', s.trades,
                         'month_return_pct', trim_scale(round(s.month_return * 100, 4)),
                         'allowance_paid', s.allowance_paid, 'missions_completed', s.missions_completed,
                         'badges_earned', s.badges_earned, 'computed_at', s.computed_at) ORDER BY u.nickname, s.child_id), '[]')
                       FROM stockking.family_summary s JOIN stockking.users u ON u.id = s.child_id
                      WHERE s.month = v_month),
        'allowance_paid', (SELECT coalesce(sum(s.allowance_paid), 0) FROM stockking.family_summary s WHERE s.month = v_month));
END
$$;
ALTER FUNCTION api.get_family_summary(jsonb) OWNER TO stockking_definer;
COMMENT ON FUNCTION api.get_family_summary(jsonb) IS
$$GET /v1/family/summary?month=YYYY-MM (default: last month): the monthly summary the job computed -- a parent's children or a
child's own: {"month", "children": [{"child_id","nickname","trades","month_return_pct" (time-weighted, default season),
"allowance_paid" (won),"missions_completed","badges_earned","computed_at"}], "allowance_paid"}.
Errors: 22007 (400) month not YYYY-MM; 28000 (401).$$;

INSERT INTO stockking.route (method, path, fn, roles, read_only, success_status, token, summary) VALUES
    ('GET', '/v1/family/summary', 'get_family_summary', '{}', true, 200, 'none', 'Monthly family summary');

-- Job: retention.  pg_cron's job-run history older than the window; the
-- outbox's events older than the window through stockking.prune_outbox
-- (sql/25_sessions.sql: a prefix in commit order, so a client resuming
-- from before it is told to reload -- by then its events were delivered or
-- are stale); expired refresh tokens (stockking.prune_refresh_tokens).
CREATE FUNCTION stockking.purge_history(keep interval DEFAULT '30 days') RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v_runs   bigint := 0;
    v_events bigint := 0;
    v_tokens bigint := 0;
BEGIN
    IF keep IS NULL OR keep < interval '1 day' THEN
        RAISE EXCEPTION 'keep must be at least a day' USING ERRCODE = '22023';
    END IF;
    IF to_regclass('cron.job_run_details') IS NOT NULL THEN
        EXECUTE 'DELETE FROM cron.job_run_details WHERE end_time < now() - $1' USING keep;
        GET DIAGNOSTICS v_runs = ROW_COUNT;
    END IF;
    v_events := stockking.prune_outbox(keep);
    v_tokens := stockking.prune_refresh_tokens();
    RETURN jsonb_build_object('job_runs_deleted', v_runs, 'events_deleted', v_events, 'refresh_tokens_deleted', v_tokens);
END
$$;

-- Running and scheduling.
CREATE FUNCTION stockking.run_job(job text) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    r jsonb;
BEGIN
    IF NOT pg_try_advisory_xact_lock(hashtext('stockking.job'), hashtext(job)) THEN
        RETURN jsonb_build_object('job', job, 'skipped', 'running in another session');
    END IF;
    r := CASE job
        WHEN 'replay_clocks' THEN stockking.advance_replays()
        WHEN 'day_orders' THEN stockking.expire_day_orders()
        WHEN 'snapshots' THEN stockking.snapshot_accounts()
        WHEN 'missions' THEN stockking.reset_missions()
        WHEN 'leaderboard' THEN stockking.refresh_leaderboard()
        WHEN 'leagues' THEN stockking.run_leagues()
        WHEN 'monthly_summary' THEN stockking.build_family_summary()
        WHEN 'payments' THEN stockking.retry_payments()
        WHEN 'retention' THEN stockking.purge_history()
    END;
    IF r IS NULL THEN
        RAISE EXCEPTION 'no job named %', job USING ERRCODE = '22023';
    END IF;
    INSERT INTO stockking.job_state (name, last_run_at, last_result) VALUES (job, now(), r)
        ON CONFLICT (name) DO UPDATE SET last_run_at = EXCLUDED.last_run_at, last_result = EXCLUDED.last_result;
    RETURN jsonb_build_object('job', job) || r;
END
$$;
REVOKE ALL ON FUNCTION stockking.run_job(text) FROM PUBLIC;
COMMENT ON FUNCTION stockking.run_job(text) IS
    'run one job by name (replay_clocks, day_orders, snapshots, missions, leaderboard, leagues, monthly_summary, payments, '
    'retention) unless it is running already; records the result in stockking.job_state';

CREATE FUNCTION stockking.job_schedule()
    RETURNS TABLE (job_name text, schedule text, command text)
    LANGUAGE sql IMMUTABLE
    AS $$
    VALUES ('stockking-replay-clocks', '* * * * *', 'SELECT stockking.run_job(''replay_clocks'')'),
           ('stockking-day-orders', '*/30 * * * *', 'SELECT stockking.run_job(''day_orders'')'),
           ('stockking-snapshots', '50 23 * * *', 'SELECT stockking.run_job(''snapshots'')'),
           ('stockking-missions', '0 0 * * *', 'SELECT stockking.run_job(''missions'')'),
           ('stockking-leaderboard', '*/15 * * * *', 'SELECT stockking.run_job(''leaderboard'')'),
           ('stockking-leagues', '5 0 * * 1', 'SELECT stockking.run_job(''leagues'')'),
           ('stockking-monthly-summary', '30 0 1 * *', 'SELECT stockking.run_job(''monthly_summary'')'),
           ('stockking-payments', '* * * * *', 'SELECT stockking.run_job(''payments'')'),
           ('stockking-retention', '0 4 * * *', 'SELECT stockking.run_job(''retention'')')
    $$;
COMMENT ON FUNCTION stockking.job_schedule() IS
    'the pg_cron jobs stockking.install_jobs() installs (schedules in cron.timezone, Asia/Seoul in the set-up)';

CREATE FUNCTION stockking.install_jobs() RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    j       record;
    v_jobs  jsonb := '[]';
    v_id    bigint;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_cron') THEN
        RAISE EXCEPTION 'pg_cron is not installed in database %', current_database() USING ERRCODE = '55000',
            HINT = 'Call stockking.install_jobs() in the database named by cron.database_name, after CREATE EXTENSION pg_cron.';
    END IF;
    FOR j IN SELECT * FROM stockking.job_schedule() LOOP
        -- by name: an existing job of this name is updated, not duplicated
        EXECUTE 'SELECT cron.schedule($1, $2, $3)' INTO v_id USING j.job_name, j.schedule, j.command;
        v_jobs := v_jobs || jsonb_build_object('jobid', v_id, 'name', j.job_name, 'schedule', j.schedule);
    END LOOP;
    -- the ledger's own jobs (sql/50_ledger.sql), so that one call installs them all
    PERFORM stockking.ledger_install_jobs();
    v_jobs := v_jobs || jsonb_build_object('name', 'stockking-ledger-*', 'by', 'stockking.ledger_install_jobs()');
    RETURN jsonb_build_object('jobs', v_jobs);
END
$$;
REVOKE ALL ON FUNCTION stockking.install_jobs() FROM PUBLIC;
COMMENT ON FUNCTION stockking.install_jobs() IS
    'schedule every job of stockking.job_schedule() with pg_cron, by name (calling it again updates, never duplicates), '
    'and the ledger''s (stockking.ledger_install_jobs); needs pg_cron in this database (55000 otherwise)';

REVOKE ALL ON FUNCTION stockking.advance_replays(), stockking.expire_day_orders(), stockking.reset_missions(timestamptz),
    stockking.refresh_leaderboard(), stockking.run_leagues(timestamptz), stockking.build_family_summary(date),
    stockking.purge_history(interval) FROM PUBLIC;
