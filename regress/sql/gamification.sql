-- Each suite of this issue runs in a database of its own, made here and
-- dropped at the end, so that it neither sees nor leaves rows, sequence
-- values or clocks the other suites (market, trading) depend on.
SET client_min_messages = warning;
SELECT current_database() AS regress_db \gset
DROP DATABASE IF EXISTS regress_sk_gamification;
CREATE DATABASE regress_sk_gamification;
\c regress_sk_gamification
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
-- Missions, badges, XP and levels: the level curve, the triggers on fills
-- and limit orders (in the transaction of the trade), Asia/Seoul day and
-- week periods, claiming a reward once through the cash ledger as a
-- contribution, and the read api; every refusal with its SQLSTATE.

-- the level curve: level L starts at 50 x L x (L - 1) XP
SELECT xp, stockking.level_for_xp(xp) AS level
  FROM unnest(ARRAY[-5, 0, 99, 100, 299, 300, 599, 600, 999, 1000, 4499, 4500, 19000, 1000000]::bigint[]) xp;
SELECT l AS level, stockking.xp_for_level(l) AS starts_at, stockking.xp_for_level(l + 1) - stockking.xp_for_level(l) AS to_next
  FROM generate_series(1, 6) l;
SELECT bool_and(stockking.level_for_xp(stockking.xp_for_level(l)) = l
                AND stockking.level_for_xp(stockking.xp_for_level(l) - 1) = l - 1) AS curve_is_exact
  FROM generate_series(2, 5000) l;
SELECT try('SELECT stockking.xp_for_level(0)');

SELECT signup('kid@example.com', 'CHILD', '민준');
SELECT signup('kid2@example.com', 'CHILD', '서연');
SELECT signup('mom@example.com', 'PARENT', '엄마');
SELECT code AS kid_code FROM stockking.link_code WHERE user_id = uid_of('kid@example.com') \gset
CREATE FUNCTION public.progress(email text) RETURNS TABLE (mission text, period_start_is text, progress int, target int,
                                                            completed boolean, claimed boolean)
    LANGUAGE sql SECURITY DEFINER AS $$
    SELECT mp.mission_code, CASE mp.period_start WHEN stockking.seoul_day(now()) THEN 'today'
                                                 WHEN stockking.seoul_week(now()) THEN 'this week' ELSE 'before' END,
           mp.progress, mp.target, mp.completed_at IS NOT NULL, mp.claimed_at IS NOT NULL
      FROM stockking.mission_progress mp WHERE mp.user_id = uid_of(email) ORDER BY mp.mission_code, mp.period_start $$;
CREATE FUNCTION public.xp(email text) RETURNS TABLE (xp bigint, level int) LANGUAGE sql SECURITY DEFINER AS $$
    SELECT p.xp, p.level FROM stockking.user_progress p WHERE p.user_id = uid_of(email) $$;
CREATE FUNCTION public.events(email text) RETURNS TABLE (event_type text, detail text) LANGUAGE sql SECURITY DEFINER AS $$
    SELECT o.event_type, coalesce(o.payload ->> 'badge', o.payload ->> 'mission', o.payload ->> 'level')
      FROM stockking.outbox o WHERE o.user_id = uid_of(email)
       AND o.event_type IN ('BadgeEarned', 'MissionCompleted', 'LevelUp', 'MissionRewardClaimed') ORDER BY o.id $$;
GRANT EXECUTE ON FUNCTION public.progress(text), public.xp(text), public.events(text) TO PUBLIC;

SET SESSION AUTHORIZATION regress_sk_web;
SELECT as_user('mom@example.com');
SELECT jsonb_array_length(api.link_family(jsonb_build_object('code', :'kid_code')) -> 'members') AS family;
SELECT as_user('kid@example.com');
SELECT (api.join_season(jsonb_build_object('id', replay())) ->> 'currency') AS currency;

-- before any trade: nothing started, every badge unearned, level 1
SELECT r ->> 'period' AS period, r ->> 'period_start' = to_char(now() AT TIME ZONE 'Asia/Seoul', 'YYYY-MM-DD') AS today,
       (r ->> 'resets_at')::timestamptz = date_trunc('day', now() AT TIME ZONE 'Asia/Seoul') AT TIME ZONE 'Asia/Seoul' + interval '1 day' AS resets_at_midnight_kst,
       jsonb_path_query_array(r, '$.items[*].code') AS missions, jsonb_path_query_array(r, '$.items[*].progress') AS progress
  FROM api.list_daily_missions('{}') r;
SELECT r ->> 'period' AS period, extract(isodow FROM (r ->> 'period_start')::date) AS starts_on_isodow,
       jsonb_path_query_array(r, '$.items[*].code') AS missions, jsonb_path_query_array(r, '$.items[*].target') AS targets
  FROM api.list_weekly_missions('{}') r;
SELECT b ->> 'code' AS badge, b -> 'reward_xp' AS xp, b -> 'earned' AS earned FROM jsonb_array_elements(api.list_badges('{}') -> 'items') b;
SELECT r -> 'level' AS level, r -> 'xp' AS xp, r -> 'next_level_xp' AS next_level_xp, r -> 'badges' AS badges
  FROM api.get_profile('{"id": "me"}') r;

-- the first buy: badge FIRST_PURCHASE (+100 XP), daily mission done (+20 XP): level 2
SELECT r ->> 'status' AS status FROM api.place_order(jsonb_build_object('season_id', replay(), 'symbol', 'SP500',
       'side', 'BUY', 'type', 'MARKET', 'quantity', 1)) r;
SELECT * FROM progress('kid@example.com');
SELECT * FROM xp('kid@example.com');
SELECT * FROM events('kid@example.com');
-- a second buy the same day changes the weekly counts only: a badge and a mission are earned once
SELECT r ->> 'status' AS status FROM api.place_order(jsonb_build_object('season_id', replay(), 'symbol', 'MSFT',
       'side', 'BUY', 'type', 'MARKET', 'quantity', 10)) r;
SELECT * FROM progress('kid@example.com');
SELECT * FROM xp('kid@example.com');
-- a third stock held: WEEKLY_HOLD_THREE done (+50 XP)
SELECT r ->> 'status' AS status FROM api.place_order(jsonb_build_object('season_id', replay(), 'symbol', 'IBM',
       'side', 'BUY', 'type', 'MARKET', 'quantity', 2)) r;
-- a limit order (resting, no fill): FIRST_LIMIT_ORDER (+50) and WEEKLY_LIMIT_ORDER (+30)
SELECT r ->> 'status' AS status FROM api.place_order(jsonb_build_object('season_id', replay(), 'symbol', 'SP500',
       'side', 'BUY', 'type', 'LIMIT', 'quantity', 1, 'limit_price', '1000.00', 'time_in_force', 'GTC')) r;
-- a sale: FIRST_SALE (+50); the fifth trade of the week: WEEKLY_FIVE_TRADES (+50)
SELECT r ->> 'status' AS status FROM api.place_order(jsonb_build_object('season_id', replay(), 'symbol', 'MSFT',
       'side', 'SELL', 'type', 'MARKET', 'quantity', 5)) r;
SELECT r ->> 'status' AS status FROM api.place_order(jsonb_build_object('season_id', replay(), 'symbol', 'AAPL',
       'side', 'BUY', 'type', 'MARKET', 'quantity', 1)) r;
-- five different stocks: DIVERSIFIED (+150)
SELECT r ->> 'status' AS status FROM api.place_order(jsonb_build_object('season_id', replay(), 'symbol', 'AMZN',
       'side', 'BUY', 'type', 'MARKET', 'quantity', 1)) r;
SELECT * FROM progress('kid@example.com');
SELECT * FROM xp('kid@example.com');
SELECT * FROM events('kid@example.com');
SELECT r -> 'level' AS level, r -> 'xp' AS xp, r -> 'level_xp' AS level_xp, r -> 'next_level_xp' AS next_level_xp,
       jsonb_path_query_array(r, '$.badges[*].code') AS badges, r -> 'missions_completed' AS missions
  FROM api.get_profile('{"id": "me"}') r;
-- a failed order rolls its mission progress back with it
SELECT try(format($$SELECT api.place_order('{"season_id": %s, "symbol": "SP500", "side": "BUY", "type": "MARKET", "quantity": 1000}')$$, replay()));
SELECT * FROM xp('kid@example.com');

-- claiming: a completed mission's reward, once, into the cash ledger as a contribution
SELECT (i ->> 'id') AS daily_id FROM jsonb_array_elements(api.list_daily_missions('{}') -> 'items') i
 WHERE i ->> 'code' = 'DAILY_BUY_ONE' \gset
SELECT r -> 'cash' AS cash, r -> 'net_contribution' AS contributed, r -> 'profit' AS profit
  FROM api.get_portfolio(jsonb_build_object('season_id', replay())) r;
SELECT r ->> 'mission' AS mission, r -> 'amount' AS amount, r ->> 'currency' AS currency, r -> 'cash' AS cash
  FROM api.claim_mission(jsonb_build_object('id', :daily_id, 'season_id', replay())) r;
SELECT r -> 'cash' AS cash, r -> 'net_contribution' AS contributed, r -> 'profit' AS profit_unchanged
  FROM api.get_portfolio(jsonb_build_object('season_id', replay())) r;
SELECT try(format('SELECT api.claim_mission(''{"id": %s, "season_id": %s}'')', :daily_id, replay()));
SELECT i ->> 'code' AS code, i -> 'completed' AS completed, i -> 'claimed' AS claimed, i -> 'claimable' AS claimable
  FROM jsonb_array_elements(api.list_daily_missions('{}') -> 'items') i;
-- the weekly ones: claimed into the KRW account they pay won
SELECT i ->> 'code' AS code, i -> 'progress' AS progress, i -> 'completed' AS completed, i -> 'reward' AS reward
  FROM jsonb_array_elements(api.list_weekly_missions('{}') -> 'items') i;
SELECT (i ->> 'id') AS hold_id FROM jsonb_array_elements(api.list_weekly_missions('{}') -> 'items') i
 WHERE i ->> 'code' = 'WEEKLY_HOLD_THREE' \gset
SELECT r -> 'amount' AS amount, r ->> 'currency' AS currency FROM api.claim_mission(jsonb_build_object('id', :hold_id, 'season_id', 1)) r;
RESET SESSION AUTHORIZATION;
SELECT a.currency, l.entry_type, l.amount, l.is_contribution, a.net_contribution - s.starting_cash AS contributed_since_opening,
       a.cash = (SELECT sum(x.amount) FROM stockking.cash_ledger x WHERE x.account_id = a.id) AS ledger_balanced
  FROM stockking.cash_ledger l JOIN stockking.account a ON a.id = l.account_id JOIN stockking.season s ON s.id = a.season_id
 WHERE l.entry_type = 'REWARD' ORDER BY l.id;
-- a mission not completed yet
INSERT INTO stockking.mission_progress (user_id, mission_code, period_start, family_id, progress, target)
SELECT id, 'DAILY_BUY_ONE', stockking.seoul_day(now()), family_id, 0, 1 FROM stockking.users WHERE email = 'kid2@example.com';
SELECT id AS kid2_daily FROM stockking.mission_progress WHERE user_id = uid_of('kid2@example.com') \gset
SET SESSION AUTHORIZATION regress_sk_web;
SELECT as_user('kid2@example.com');
SELECT try(format('SELECT api.claim_mission(''{"id": %s}'')', :kid2_daily));
SELECT try(format('SELECT api.claim_mission(''{"id": %s}'')', :daily_id));
SELECT try(format('SELECT api.claim_mission(''{"id": %s, "season_id": %s}'')', :kid2_daily, replay()));
SELECT try('SELECT api.claim_mission(''{}'')');
SELECT try('SELECT api.claim_mission(''{"id": "first"}'')');
SELECT as_user('mom@example.com');
SELECT try(format('SELECT api.claim_mission(''{"id": %s}'')', :daily_id));

-- parents see their children's progress; other children see nothing of it
SELECT i ->> 'code' AS code, i -> 'progress' AS progress, i -> 'claimed' AS claimed
  FROM jsonb_array_elements(api.list_daily_missions(jsonb_build_object('child_id', uid_of('kid@example.com'))) -> 'items') i;
SELECT count(*) FILTER (WHERE (b ->> 'earned')::boolean) AS badges_earned
  FROM jsonb_array_elements(api.list_badges(jsonb_build_object('child_id', uid_of('kid@example.com'))) -> 'items') b;
SELECT (api.get_profile(jsonb_build_object('id', uid_of('kid@example.com'))) -> 'level') AS childs_level;
SELECT as_user('kid2@example.com');
SELECT try(format('SELECT api.list_daily_missions(''{"child_id": "%s"}'')', uid_of('kid@example.com')));
SELECT try(format('SELECT api.list_badges(''{"child_id": "%s"}'')', uid_of('kid@example.com')));
SELECT try(format('SELECT api.get_profile(''{"id": "%s"}'')', uid_of('kid@example.com')));

-- a new Asia/Seoul day starts the daily missions from zero; what was completed before stays claimable
RESET SESSION AUTHORIZATION;
UPDATE stockking.mission_progress mp SET period_start = period_start - 1
  FROM stockking.mission m WHERE m.code = mp.mission_code AND m.period = 'DAILY';
UPDATE stockking.mission_progress mp SET period_start = period_start - 7
  FROM stockking.mission m WHERE m.code = mp.mission_code AND m.period = 'WEEKLY';
SET SESSION AUTHORIZATION regress_sk_web;
SELECT as_user('kid@example.com');
SELECT jsonb_path_query_array(r, '$.items[*].progress') AS progress, jsonb_path_query_array(r, '$.items[*].id') AS ids
  FROM api.list_daily_missions('{}') r;
SELECT r ->> 'status' AS status FROM api.place_order(jsonb_build_object('season_id', replay(), 'symbol', 'SP500',
       'side', 'BUY', 'type', 'MARKET', 'quantity', 1)) r;
SELECT * FROM progress('kid@example.com');
-- last week's limit-order mission, completed, can still be claimed
SELECT r ->> 'mission' AS mission, r -> 'amount' AS amount FROM api.claim_mission(jsonb_build_object('season_id', replay(),
       'id', (SELECT (i ->> 'id') FROM jsonb_array_elements(api.list_weekly_missions('{}') -> 'unclaimed') i
               WHERE i ->> 'code' = 'WEEKLY_LIMIT_ORDER'))) r;
SELECT jsonb_path_query_array(api.list_weekly_missions('{}'), '$.unclaimed[*].code') AS still_unclaimed;
RESET SESSION AUTHORIZATION;
-- the reset job closes ended periods: unfinished ones expire, never-started ones go
INSERT INTO stockking.mission_progress (user_id, mission_code, period_start, family_id, progress, target)
SELECT id, 'WEEKLY_FIVE_TRADES', stockking.seoul_week(now()) - 7, family_id, 2, 5 FROM stockking.users WHERE email = 'kid2@example.com';
SELECT stockking.reset_missions() - 'day' - 'week' AS reset;
SELECT stockking.reset_missions() - 'day' - 'week' AS reset_again;
SELECT mission_code, progress, expired FROM stockking.mission_progress
 WHERE user_id = uid_of('kid2@example.com') ORDER BY 1;
SELECT mission_code, count(*) FILTER (WHERE expired) AS expired, count(*) AS periods
  FROM stockking.mission_progress WHERE user_id = uid_of('kid@example.com') GROUP BY 1 ORDER BY 1;
\c :regress_db
DROP DATABASE regress_sk_gamification;
