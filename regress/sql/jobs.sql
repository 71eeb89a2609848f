-- Each suite of this issue runs in a database of its own, made here and
-- dropped at the end, so that it neither sees nor leaves rows, sequence
-- values or clocks the other suites (market, trading) depend on.
SET client_min_messages = warning;
SELECT current_database() AS regress_db \gset
DROP DATABASE IF EXISTS regress_sk_jobs;
CREATE DATABASE regress_sk_jobs;
\c regress_sk_jobs
SET client_min_messages = warning;
CREATE EXTENSION pgcrypto;
CREATE EXTENSION stockking;
\getenv datadir STOCKKING_DATA_DIR
SELECT count(*) AS symbols_loaded FROM jsonb_object_keys(stockking.load_market_data(:'datadir'));

-- try(): run a statement, show "ok" or "SQLSTATE: message"; the failed
-- statement's changes are rolled back (its own subtransaction)
CREATE FUNCTION public.try(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || regexp_replace(SQLERRM, '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}', '<uuid>', 'g');
END
$$;
-- the api is called by a non-superuser member of stockking_api
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'regress_sk_web') THEN
        CREATE ROLE regress_sk_web LOGIN IN ROLE stockking_api;
    END IF;
END
$$;
-- a trusted SQL client: it states the caller in request.user_id (the proxy's
-- role proves it with a token instead: regress/sql/identity.sql)
DO $$ BEGIN
    IF NOT pg_has_role('regress_sk_web', 'stockking_service', 'MEMBER') THEN
        GRANT stockking_service TO regress_sk_web;
    END IF;
END $$;
GRANT EXECUTE ON FUNCTION public.try(text) TO PUBLIC;
CREATE FUNCTION public.as_user(email text) RETURNS void LANGUAGE sql SECURITY DEFINER AS $$
    SELECT set_config('request.user_id', (SELECT id::text FROM stockking.users u WHERE u.email = as_user.email), false),
           set_config('request.role', (SELECT role FROM stockking.users u WHERE u.email = as_user.email), false);
$$;
CREATE FUNCTION public.uid_of(email text) RETURNS uuid LANGUAGE sql SECURITY DEFINER AS $$
    SELECT id FROM stockking.users u WHERE u.email = uid_of.email $$;
CREATE FUNCTION public.replay() RETURNS integer LANGUAGE sql SECURITY DEFINER AS $$
    SELECT id FROM stockking.season WHERE code = 'REPLAY-2007' $$;
CREATE FUNCTION public.signup(email text, role text, nickname text) RETURNS void LANGUAGE sql AS $$
    SELECT api.signup(jsonb_build_object('email', email, 'password', 'correct horse', 'role', role, 'nickname', nickname));
    SELECT NULL::void;
$$;
-- Scheduled jobs: daily snapshots and the time-weighted return index, the
-- weekly leaderboard (materialized, refreshed concurrently), leagues with
-- promotion and relegation, the monthly family summary, replay clocks,
-- DAY-order expiry, retention, and the job runner; each safe to run again.
-- pg_cron is not in this database: install_jobs() says so (the set-up calls
-- it where pg_cron is; the end-to-end test covers that).

SELECT signup('a@example.com', 'CHILD', 'Ari');
SELECT signup('b@example.com', 'CHILD', 'Bo');
SELECT signup('c@example.com', 'CHILD', 'Cy');
SELECT signup('d@example.com', 'CHILD', 'Di');
SELECT signup('e@example.com', 'CHILD', 'Ed');
SELECT signup('mom@example.com', 'PARENT', 'Mom');
SELECT stockking.create_season('RALLY-2009', 'Time machine: the 2009 rally', 'REPLAY', 'USD', 1000000, 'SP500',
                               DATE '2009-03-09') AS rally \gset
CREATE FUNCTION public.snap(email text, season integer) RETURNS TABLE (market_date date, cash bigint, market_value bigint,
        total_value bigint, net_contribution bigint, flow bigint, twr_index numeric)
    LANGUAGE sql SECURITY DEFINER AS $$
    SELECT s.market_date, s.cash, s.market_value, s.total_value, s.net_contribution, s.flow, s.twr_index
      FROM stockking.account_snapshot s JOIN stockking.account a ON a.id = s.account_id
     WHERE a.user_id = uid_of(email) AND a.season_id = season ORDER BY s.market_date $$;
GRANT EXECUTE ON FUNCTION public.snap(text, integer) TO PUBLIC;
CREATE FUNCTION public.strip(j jsonb) RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_path_query_first(j, '$') - 'ms' $$;
SELECT code AS a_code FROM stockking.link_code WHERE user_id = uid_of('a@example.com') \gset

-- a KRW stock with a bar yesterday and today (Asia/Seoul) for the LIVE season
INSERT INTO stockking.instrument (symbol, name, market, kind, bar_interval) VALUES ('005930', '삼성전자', 'KRX', 'STOCK', '1d');
INSERT INTO stockking.price_bar VALUES ('005930', stockking.seoul_day(now()) - 1, 50000, 50000, 50000, 50000, 1000);
SET SESSION AUTHORIZATION regress_sk_web;
SELECT as_user('mom@example.com');
SELECT jsonb_array_length(api.link_family(jsonb_build_object('code', :'a_code')) -> 'members') AS family;
-- every child buys in the LIVE season at 50,000; a also joins the rally and buys there
SELECT e AS child, (SELECT as_user(e)) IS NULL AS who,
       api.place_order(jsonb_build_object('season_id', 1, 'symbol', '005930', 'side', 'BUY', 'type', 'MARKET',
                                          'quantity', q)) ->> 'status' AS status
  FROM (VALUES ('a@example.com', 10), ('b@example.com', 19), ('c@example.com', 5), ('d@example.com', 1)) v (e, q);
SELECT as_user('a@example.com');
SELECT (api.join_season(jsonb_build_object('id', :rally)) ->> 'cash') AS rally_cash;
SELECT (api.place_order(jsonb_build_object('season_id', :rally, 'symbol', 'SP500', 'side', 'BUY', 'type', 'MARKET',
                                           'quantity', 14)) ->> 'status') AS rally_buy;
RESET SESSION AUTHORIZATION;
-- today the stock is at 55,000 (+10%)
INSERT INTO stockking.price_bar VALUES ('005930', stockking.seoul_day(now()), 55000, 55000, 55000, 55000, 1000);

-- snapshots: every account of every OPEN season at its clock; running again writes nothing
SELECT s ->> 'season_id' AS season, s ->> 'clock' = to_char(stockking.seoul_day(now()), 'YYYY-MM-DD') AS today,
       s -> 'accounts' AS accounts, s -> 'written' AS written
  FROM jsonb_array_elements(stockking.snapshot_accounts() -> 'seasons') s WHERE s ->> 'season_id' = '1';
SELECT s ->> 'season_id' AS season, CASE s ->> 'season_id' WHEN '1' THEN 'today' ELSE s ->> 'clock' END AS clock,
       s -> 'accounts' AS accounts, s -> 'written' AS written
  FROM jsonb_array_elements(stockking.snapshot_accounts() -> 'seasons') s ORDER BY 1;
-- 10 x 55,000 = 550,000 of stock; the index: the value over the opening deposit
SELECT market_date = stockking.seoul_day(now()) AS today, cash, market_value, total_value, net_contribution, flow, twr_index
  FROM snap('a@example.com', 1);
-- the account valued now gives the same index as the snapshot of its clock date
SELECT n.total_value, n.twr_index FROM stockking.account_now((SELECT id FROM stockking.account
    WHERE user_id = uid_of('a@example.com') AND season_id = 1)) n;

-- the replay season, day by day: each snapshot links the index from the one before
SELECT * FROM snap('a@example.com', :rally);
SELECT api.advance_clock(:rally, 1) ->> 'clock' AS clock;
SELECT strip(stockking.snapshot_accounts(:rally)) AS snapshot;
-- a reward paid in is a flow: taken out of the value before the day's return, so the index does not move
SET SESSION AUTHORIZATION regress_sk_web;
SELECT as_user('a@example.com');
SELECT (api.claim_mission(jsonb_build_object('season_id', :rally,
        'id', (api.list_daily_missions('{}') -> 'items' -> 0 ->> 'id')::bigint)) -> 'amount') AS reward;
RESET SESSION AUTHORIZATION;
SELECT strip(stockking.snapshot_accounts(:rally)) AS same_date_again;
SELECT * FROM snap('a@example.com', :rally);
SELECT api.advance_clock(:rally, 1) ->> 'clock' AS clock;
SELECT strip(stockking.snapshot_accounts(:rally)) AS snapshot;
SELECT * FROM snap('a@example.com', :rally);
-- the rule, by hand: index_t = index_{t-1} x (value_t - flow_t) / value_{t-1}
SELECT stockking.twr_link(0.997633, 997633, 500, 1058431) AS link,
       round(0.997633 * (1058431 - 500) / 997633, 12) AS by_hand,
       stockking.twr_link(1, 0, 1000000, 1050000) AS first_link, stockking.twr_link(1, 100, 0, 0) AS wiped_out,
       stockking.twr_link(0.5, 0, 0, 100) AS no_base;
SELECT stockking.trade_value(3, 71300, 0) AS krw, stockking.trade_value(6, 1547.040039, 2) AS usd_half_up;

-- the weekly leaderboard: this week's time-weighted return, top N and the caller's rank
SELECT strip(stockking.refresh_leaderboard()) AS refreshed;
SELECT strip(stockking.refresh_leaderboard()) AS again;
SET SESSION AUTHORIZATION regress_sk_web;
SELECT as_user('b@example.com');
SELECT i -> 'rank' AS rank, i ->> 'nickname' AS nickname, i -> 'level' AS level, i -> 'weekly_return_pct' AS weekly_pct,
       i -> 'me' AS me
  FROM jsonb_array_elements(api.get_leaderboard('{"period": "weekly"}') -> 'items') i;
SELECT r -> 'me' -> 'rank' AS my_rank, r -> 'me' -> 'of' AS of, r -> 'season_id' AS season,
       r -> 'refreshed_at' IS NOT NULL AS refreshed
  FROM api.get_leaderboard('{}') r;
SELECT jsonb_array_length(api.get_leaderboard('{"limit": 2}') -> 'items') AS top2;
SELECT jsonb_array_length(api.get_leaderboard(jsonb_build_object('season_id', :rally)) -> 'items') AS rally_board,
       api.get_leaderboard(jsonb_build_object('season_id', :rally)) -> 'me' AS b_not_in_rally;
SELECT try('SELECT api.get_leaderboard(''{"period": "daily"}'')');
SELECT try('SELECT api.get_leaderboard(''{"limit": 101}'')');
SELECT try('SELECT api.get_leaderboard(''{"season_id": "x"}'')');
RESET SESSION AUTHORIZATION;
-- a snapshot taken before this week is where the week's return starts
UPDATE stockking.account_snapshot SET taken_at = stockking.seoul_start(stockking.seoul_week(now())) - interval '1 hour'
 WHERE account_id = (SELECT id FROM stockking.account WHERE user_id = uid_of('b@example.com') AND season_id = 1);
SELECT strip(stockking.refresh_leaderboard()) AS refreshed;
SELECT u.nickname, l.rank, l.start_index, l.end_index, l.weekly_return
  FROM stockking.leaderboard_weekly l JOIN stockking.users u ON u.id = l.user_id WHERE l.season_id = 1 ORDER BY l.position;

-- leagues: this week's leagues drawn once; when the week is over, ranked, the top promoted
SELECT run_leagues - 'week_start' - 'finished_week' AS leagues FROM stockking.run_leagues();
SELECT run_leagues - 'week_start' - 'finished_week' AS again FROM stockking.run_leagues();
SELECT tier, group_no, count(*) AS players FROM stockking.league_assignment GROUP BY 1, 2 ORDER BY 1, 2;
SET SESSION AUTHORIZATION regress_sk_web;
SELECT as_user('c@example.com');
SELECT r -> 'league' -> 'tier_name' AS tier, jsonb_array_length(r -> 'league' -> 'members') AS members,
       r -> 'promote' AS promote
  FROM api.get_leaderboard('{"period": "league"}') r;
SELECT as_user('mom@example.com');
SELECT api.get_leaderboard('{"period": "league"}') -> 'league' AS parents_play_no_league;
RESET SESSION AUTHORIZATION;
-- a week later the week is ranked (b's week started from its snapshot before Monday: 0%); a tie shares a rank
SELECT run_leagues - 'week_start' - 'finished_week' AS next_week
  FROM stockking.run_leagues(now() + interval '7 days');
SELECT run_leagues - 'week_start' - 'finished_week' AS next_week_again
  FROM stockking.run_leagues(now() + interval '7 days');
SELECT u.nickname, r.tier, r.group_size, r.rank_in_group, r.weekly_return, r.movement, r.new_tier
  FROM stockking.league_result r JOIN stockking.users u ON u.id = r.user_id ORDER BY r.rank_in_group, u.nickname;
SELECT u.nickname, m.tier, stockking.league_tier_name(m.tier) AS name
  FROM stockking.league_member m JOIN stockking.users u ON u.id = m.user_id ORDER BY 1;
SELECT week_start - stockking.seoul_week(now()) AS weeks_ahead_days, tier, count(*) AS players
  FROM stockking.league_assignment GROUP BY 1, 2 ORDER BY 1, 2;

-- the monthly family summary: trades, return, allowance paid, missions done; once per month
SELECT strip(stockking.build_family_summary(stockking.seoul_month(now()))) - 'month' AS summary;
SELECT strip(stockking.build_family_summary(stockking.seoul_month(now()))) - 'month' AS again;
SET SESSION AUTHORIZATION regress_sk_web;
SELECT as_user('mom@example.com');
SELECT c ->> 'nickname' AS child, c -> 'trades' AS trades, c -> 'month_return_pct' AS return_pct,
       c -> 'allowance_paid' AS allowance, c -> 'missions_completed' AS missions, c -> 'badges_earned' AS badges
  FROM jsonb_array_elements(api.get_family_summary(jsonb_build_object('month',
       to_char(now() AT TIME ZONE 'Asia/Seoul', 'YYYY-MM'))) -> 'children') c;
SELECT as_user('b@example.com');
SELECT jsonb_array_length(api.get_family_summary(jsonb_build_object('month',
       to_char(now() AT TIME ZONE 'Asia/Seoul', 'YYYY-MM'))) -> 'children') AS b_sees_itself_only;
SELECT try('SELECT api.get_family_summary(''{"month": "2026-13"}'')');
SELECT (api.get_family_summary('{"month": "2001-01"}') -> 'children') AS nothing_then;
RESET SESSION AUTHORIZATION;
SELECT event_type, audience, count(*) FROM stockking.outbox WHERE event_type = 'MonthlySummaryReady' GROUP BY 1, 2;

-- DAY orders of a LIVE season expire once their next session is over without reaching the limit
SET SESSION AUTHORIZATION regress_sk_web;
SELECT as_user('e@example.com');
SELECT r ->> 'status' AS status, r -> 'reserved_cash' AS reserved FROM api.place_order(
    '{"season_id": 1, "symbol": "005930", "side": "BUY", "type": "LIMIT", "quantity": 2, "limit_price": 40000}') r;
SELECT r ->> 'status' AS status FROM api.place_order(
    '{"season_id": 1, "symbol": "005930", "side": "BUY", "type": "LIMIT", "quantity": 1, "limit_price": 54000}') r;
RESET SESSION AUTHORIZATION;
SELECT strip(stockking.expire_day_orders()) AS nothing_yet;
UPDATE stockking.orders SET placed_bar_date = stockking.seoul_day(now()) - 2 WHERE user_id = uid_of('e@example.com');
SELECT strip(stockking.expire_day_orders()) AS expired;
SELECT strip(stockking.expire_day_orders()) AS again;
SELECT o.limit_price, o.status, o.status_reason, o.reserved_cash FROM stockking.orders o
 WHERE o.user_id = uid_of('e@example.com') ORDER BY o.id;
SELECT a.reserved_cash FROM stockking.account a WHERE a.user_id = uid_of('e@example.com') AND a.season_id = 1;

-- replay clocks on a schedule: advanced each run, snapshotted, switched off at the end of the data
SELECT stockking.create_season('END-2020', 'The last days of the data', 'REPLAY', 'USD', 1000000, 'SP500',
                               DATE '2020-04-14') AS end_season \gset
INSERT INTO stockking.replay_schedule (season_id, bars_per_run) VALUES (:end_season, 2);
SELECT jsonb_path_query_array(stockking.advance_replays(), '$.seasons[*] ? (@.season_id == $s).clock',
                              jsonb_build_object('s', :end_season)) AS clock;
SELECT jsonb_path_query_array(stockking.advance_replays(), '$.seasons[*].at_end') AS at_end;
SELECT active, (SELECT clock_date FROM stockking.season WHERE id = :end_season) AS clock
  FROM stockking.replay_schedule WHERE season_id = :end_season;
SELECT stockking.advance_replays() AS nothing_scheduled;

-- the runner records each job's last result; an unknown job is refused
SELECT stockking.run_job('missions') ->> 'job' AS job;
SELECT name, last_result ? 'expired' AS recorded FROM stockking.job_state WHERE name = 'missions';
SELECT try('SELECT stockking.run_job(''coffee'')');
SELECT (stockking.run_job('leaderboard') -> 'rows') AS leaderboard_rows;

-- retention: pg_cron's history (not here) and outbox events older than the window
UPDATE stockking.outbox SET created_at = now() - interval '40 days' WHERE event_type = 'FamilyLinked';
SELECT stockking.purge_history() - 'refresh_tokens_deleted' AS purged;
SELECT count(*) AS linked_events_left FROM stockking.outbox WHERE event_type = 'FamilyLinked';
SELECT try('SELECT stockking.purge_history(''1 hour'')');

-- scheduling needs pg_cron, which only the database cron.database_name names has
SELECT try('SELECT stockking.install_jobs()');
SELECT job_name, schedule, command FROM stockking.job_schedule() ORDER BY 1;
\c :regress_db
DROP DATABASE regress_sk_jobs;
