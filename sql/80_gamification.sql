-- Missions, badges, XP and levels (extension/missions.c), the weekly
-- leaderboard and the leagues.
--
-- A C trigger on stockking.fill (and one on stockking.orders for limit
-- orders) updates the child's mission progress, badges and XP in the
-- transaction of the trade.  Daily missions run from 00:00 to 24:00
-- Asia/Seoul, weekly ones from Monday 00:00 Asia/Seoul: a mission's progress
-- row is keyed by the start of its period, so a new day or week starts at 0.
-- Completing a mission adds its XP at once; its game-money reward is added
-- when the child claims it: a REWARD entry of the cash ledger, a
-- contribution (it raises net_contribution, so it never counts as return),
-- once.
--
-- Level curve: reaching level L takes 50 x L x (L - 1) XP in total, that is
-- 100 x (L - 1) more XP than level L - 1: level 2 at 100 XP, 3 at 300, 4 at
-- 600, 5 at 1,000, 10 at 4,500, 20 at 19,000.

INSERT INTO stockking.error_code VALUES
    ('SK240', 409, 'mission_not_completed', 'the mission is not completed yet, so there is nothing to claim'),
    ('SK241', 409, 'reward_claimed', 'the mission''s reward was claimed already (a reward is paid once)');

CREATE TABLE stockking.mission (
    code        text PRIMARY KEY,
    period      text NOT NULL CHECK (period IN ('DAILY', 'WEEKLY')),
    title       text NOT NULL,
    description text NOT NULL,
    target      integer NOT NULL CHECK (target > 0),
    reward_xp   integer NOT NULL CHECK (reward_xp >= 0),
    reward_krw  bigint NOT NULL CHECK (reward_krw >= 0),
    reward_usd  bigint NOT NULL CHECK (reward_usd >= 0),
    sort        integer NOT NULL DEFAULT 0,
    active      boolean NOT NULL DEFAULT true
);
COMMENT ON TABLE stockking.mission IS
    'a daily or weekly mission: progress toward target; reward_xp on completion, game money on claim: reward_krw won to a KRW account, reward_usd cents to a USD account';

INSERT INTO stockking.mission VALUES
    ('DAILY_BUY_ONE', 'DAILY', '오늘 주식 1개 사기', 'Buy one stock today.', 1, 20, 5000, 500, 10, true),
    ('WEEKLY_HOLD_THREE', 'WEEKLY', '세 종목 보유하기', 'Hold three different stocks in one account this week.', 3, 50, 20000, 2000, 20, true),
    ('WEEKLY_LIMIT_ORDER', 'WEEKLY', '지정가 주문 내기', 'Place a limit order this week.', 1, 30, 10000, 1000, 30, true),
    ('WEEKLY_FIVE_TRADES', 'WEEKLY', '이번 주 5번 거래하기', 'Make five trades (buys or sells) this week.', 5, 50, 20000, 2000, 40, true);

CREATE TABLE stockking.badge (
    code        text PRIMARY KEY,
    title       text NOT NULL,
    description text NOT NULL,
    reward_xp   integer NOT NULL CHECK (reward_xp >= 0),
    sort        integer NOT NULL DEFAULT 0
);
COMMENT ON TABLE stockking.badge IS 'a badge, earned once, with the XP it gives';

INSERT INTO stockking.badge VALUES
    ('FIRST_PURCHASE', '첫 주식 매수', 'Bought a stock for the first time.', 100, 10),
    ('FIRST_SALE', '첫 매도', 'Sold a stock for the first time.', 50, 20),
    ('FIRST_LIMIT_ORDER', '첫 지정가 주문', 'Placed a limit order for the first time.', 50, 30),
    ('DIVERSIFIED', '분산 투자', 'Held five different stocks in one account.', 150, 40);

CREATE TABLE stockking.user_progress (
    user_id    uuid PRIMARY KEY,
    family_id  uuid NOT NULL,
    xp         bigint NOT NULL DEFAULT 0 CHECK (xp >= 0),
    level      integer NOT NULL DEFAULT 1 CHECK (level >= 1),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX user_progress_family ON stockking.user_progress (family_id);
COMMENT ON TABLE stockking.user_progress IS 'a child''s XP and level (level from XP by stockking.level_for_xp)';

CREATE TABLE stockking.user_badge (
    user_id    uuid NOT NULL,
    badge_code text NOT NULL REFERENCES stockking.badge (code),
    family_id  uuid NOT NULL,
    earned_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, badge_code)
);
CREATE INDEX user_badge_family ON stockking.user_badge (family_id);
COMMENT ON TABLE stockking.user_badge IS 'a badge a child earned';

CREATE TABLE stockking.mission_progress (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id          uuid NOT NULL,
    mission_code     text NOT NULL REFERENCES stockking.mission (code),
    period_start     date NOT NULL,
    family_id        uuid NOT NULL,
    progress         integer NOT NULL DEFAULT 0 CHECK (progress >= 0),
    target           integer NOT NULL CHECK (target > 0),
    completed_at     timestamptz,
    claimed_at       timestamptz,
    claim_account_id bigint,
    claim_amount     bigint,
    expired          boolean NOT NULL DEFAULT false,
    updated_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (user_id, mission_code, period_start),
    CHECK (claimed_at IS NULL OR completed_at IS NOT NULL)
);
CREATE INDEX mission_progress_family ON stockking.mission_progress (family_id);
CREATE INDEX mission_progress_period ON stockking.mission_progress (period_start);
COMMENT ON TABLE stockking.mission_progress IS
    'a child''s progress in one mission for one period (period_start: the Asia/Seoul day, or the Monday of the week)';

ALTER TABLE stockking.user_progress ENABLE ROW LEVEL SECURITY;
ALTER TABLE stockking.user_badge ENABLE ROW LEVEL SECURITY;
ALTER TABLE stockking.mission_progress ENABLE ROW LEVEL SECURITY;
CREATE POLICY user_progress_read ON stockking.user_progress FOR SELECT USING (stockking.can_read(family_id, user_id));
CREATE POLICY user_progress_write ON stockking.user_progress FOR ALL USING (stockking.can_write(user_id))
    WITH CHECK (stockking.can_write(user_id));
CREATE POLICY user_badge_read ON stockking.user_badge FOR SELECT USING (stockking.can_read(family_id, user_id));
CREATE POLICY user_badge_write ON stockking.user_badge FOR INSERT WITH CHECK (stockking.can_write(user_id));
CREATE POLICY mission_progress_read ON stockking.mission_progress FOR SELECT USING (stockking.can_read(family_id, user_id));
CREATE POLICY mission_progress_write ON stockking.mission_progress FOR ALL USING (stockking.can_write(user_id))
    WITH CHECK (stockking.can_write(user_id));
GRANT SELECT ON stockking.mission, stockking.badge TO stockking_definer;
GRANT SELECT, INSERT, UPDATE ON stockking.user_progress, stockking.mission_progress TO stockking_definer;
GRANT SELECT, INSERT ON stockking.user_badge TO stockking_definer;

-- The level curve (extension/missions.c).
CREATE FUNCTION stockking.level_for_xp(xp bigint) RETURNS integer
    AS 'MODULE_PATHNAME', 'stockking_level_for_xp'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION stockking.level_for_xp(bigint) IS
    'the level of a total XP: the greatest L with 50 x L x (L - 1) <= xp (level 1 at 0 XP, 2 at 100, 3 at 300, 4 at 600, 5 at 1000)';
CREATE FUNCTION stockking.xp_for_level(level integer) RETURNS bigint
    AS 'MODULE_PATHNAME', 'stockking_xp_for_level'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION stockking.xp_for_level(integer) IS 'the total XP a level takes: 50 x L x (L - 1)';

-- The triggers (extension/missions.c): in the transaction of the fill or the
-- order, as the caller, so row-level security applies to what they write.
CREATE FUNCTION stockking.mission_on_fill() RETURNS trigger
    AS 'MODULE_PATHNAME', 'stockking_mission_on_fill'
    LANGUAGE C;
COMMENT ON FUNCTION stockking.mission_on_fill() IS
    'trigger on stockking.fill: FIRST_PURCHASE / FIRST_SALE / DIVERSIFIED badges, DAILY_BUY_ONE, WEEKLY_HOLD_THREE and WEEKLY_FIVE_TRADES progress, XP and level; MissionCompleted, BadgeEarned, LevelUp events';
CREATE TRIGGER fill_missions AFTER INSERT ON stockking.fill
    FOR EACH ROW WHEN (NOT stockking.restoring()) EXECUTE FUNCTION stockking.mission_on_fill();
CREATE FUNCTION stockking.mission_on_order() RETURNS trigger
    AS 'MODULE_PATHNAME', 'stockking_mission_on_order'
    LANGUAGE C;
COMMENT ON FUNCTION stockking.mission_on_order() IS
    'trigger on stockking.orders (LIMIT orders): FIRST_LIMIT_ORDER badge and WEEKLY_LIMIT_ORDER progress';
CREATE TRIGGER order_missions AFTER INSERT ON stockking.orders
    FOR EACH ROW WHEN (NEW.order_type = 'LIMIT' AND NOT stockking.restoring()) EXECUTE FUNCTION stockking.mission_on_order();

CREATE FUNCTION api.claim_mission(args jsonb) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'stockking_claim_mission'
    LANGUAGE C VOLATILE STRICT SECURITY DEFINER SET search_path = pg_catalog, stockking;
COMMENT ON FUNCTION api.claim_mission(jsonb) IS
$$POST /v1/gamification/missions/:id/claim (CHILD): add a completed mission's game-money reward to an account, once.
Args: {"id": the mission's progress id (from the missions lists), "season_id": integer (optional: the default account)}.
The reward is reward_krw won for a KRW account, reward_usd cents for a USD account: a REWARD entry of the cash ledger that is
a contribution (net_contribution rises with it: rewards are not return).  Returns {"id","mission","amount","currency",
"account_id","cash"}.  Event MissionRewardClaimed (FAMILY).
Errors: P0002 (404) no such mission progress of the caller; SK240 (409) not completed; SK241 (409) claimed already;
SK010 (404) no account in the season; 28000 (401).$$;

CREATE FUNCTION stockking.progress_user(args jsonb) RETURNS uuid
    LANGUAGE plpgsql STABLE
    AS $$
BEGIN
    IF args ? 'child_id' THEN
        RETURN stockking.child_arg(args);
    END IF;
    RETURN stockking.require_user();
END
$$;

CREATE FUNCTION stockking.missions_json(p_user uuid, p_period text) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
    WITH p AS (SELECT CASE p_period WHEN 'DAILY' THEN stockking.seoul_day(now()) ELSE stockking.seoul_week(now()) END AS start)
    SELECT jsonb_build_object(
        'period', p_period, 'period_start', p.start,
        'resets_at', stockking.seoul_start(p.start + CASE p_period WHEN 'DAILY' THEN 1 ELSE 7 END),
        'items', coalesce(jsonb_agg(jsonb_build_object(
            'id', mp.id, 'code', m.code, 'title', m.title, 'description', m.description,
            'progress', coalesce(mp.progress, 0), 'target', m.target,
            'completed', mp.completed_at IS NOT NULL, 'completed_at', mp.completed_at,
            'claimed', mp.claimed_at IS NOT NULL, 'claimable', mp.completed_at IS NOT NULL AND mp.claimed_at IS NULL,
            'reward_xp', m.reward_xp, 'reward', jsonb_build_object('KRW', m.reward_krw, 'USD', round(m.reward_usd / 100.0, 2)))
            ORDER BY m.sort, m.code), '[]'))
      FROM p CROSS JOIN stockking.mission m
      LEFT JOIN stockking.mission_progress mp
             ON mp.user_id = p_user AND mp.mission_code = m.code AND mp.period_start = p.start
     WHERE m.period = p_period AND m.active
     GROUP BY p.start
    $$;

-- completed missions of earlier periods whose reward is not claimed yet
CREATE FUNCTION stockking.unclaimed_json(p_user uuid, p_period text) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
    SELECT coalesce(jsonb_agg(jsonb_build_object(
               'id', mp.id, 'code', m.code, 'title', m.title, 'period_start', mp.period_start,
               'completed_at', mp.completed_at,
               'reward', jsonb_build_object('KRW', m.reward_krw, 'USD', round(m.reward_usd / 100.0, 2)))
               ORDER BY mp.period_start DESC, m.sort), '[]')
      FROM stockking.mission_progress mp JOIN stockking.mission m ON m.code = mp.mission_code
     WHERE mp.user_id = p_user AND m.period = p_period AND mp.completed_at IS NOT NULL AND mp.claimed_at IS NULL
       AND mp.period_start < CASE p_period WHEN 'DAILY' THEN stockking.seoul_day(now()) ELSE stockking.seoul_week(now()) END
    $$;

CREATE FUNCTION api.list_daily_missions(args jsonb) RETURNS jsonb
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
    SELECT stockking.missions_json(u, 'DAILY') || jsonb_build_object('unclaimed', stockking.unclaimed_json(u, 'DAILY'))
      FROM stockking.progress_user(args) u
    $$;
COMMENT ON FUNCTION api.list_daily_missions(jsonb) IS
$$GET /v1/gamification/missions/daily?child_id=: today's (Asia/Seoul) daily missions of the caller (or, for a parent, of a child).
Returns {"period": "DAILY", "period_start" (date), "resets_at" (next 00:00 KST), "items": [{"id" (progress id to claim, null
before any progress), "code","title","description","progress","target","completed","completed_at","claimed","claimable",
"reward_xp","reward": {"KRW": won, "USD": dollars}}], "unclaimed": [completed missions of earlier days whose reward can
still be claimed: {"id","code","title","period_start","completed_at","reward"}]}.
Errors: 22023, P0002 (bad or invisible child_id); 28000 (401).$$;

CREATE FUNCTION api.list_weekly_missions(args jsonb) RETURNS jsonb
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
    SELECT stockking.missions_json(u, 'WEEKLY') || jsonb_build_object('unclaimed', stockking.unclaimed_json(u, 'WEEKLY'))
      FROM stockking.progress_user(args) u
    $$;
COMMENT ON FUNCTION api.list_weekly_missions(jsonb) IS
$$GET /v1/gamification/missions/weekly?child_id=: this week's (Monday 00:00 KST) weekly missions, shaped as the daily list.$$;

CREATE FUNCTION stockking.badges_json(p_user uuid) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
    SELECT coalesce(jsonb_agg(jsonb_build_object('code', b.code, 'title', b.title, 'description', b.description,
                                                 'reward_xp', b.reward_xp, 'earned', ub.earned_at IS NOT NULL,
                                                 'earned_at', ub.earned_at) ORDER BY b.sort, b.code), '[]')
      FROM stockking.badge b
      LEFT JOIN stockking.user_badge ub ON ub.badge_code = b.code AND ub.user_id = p_user
    $$;

CREATE FUNCTION api.list_badges(args jsonb) RETURNS jsonb
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$ SELECT jsonb_build_object('items', stockking.badges_json(stockking.progress_user(args))) $$;
COMMENT ON FUNCTION api.list_badges(jsonb) IS
$$GET /v1/gamification/badges?child_id=: every badge, with "earned" and "earned_at" for the caller (or a parent's child).
Returns {"items": [{"code","title","description","reward_xp","earned","earned_at"}]}.  Errors: 22023, P0002; 28000 (401).$$;

CREATE FUNCTION api.get_profile(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v_me   uuid := stockking.require_user();
    v_text text := stockking.arg_text(args, 'id');
    u      stockking.users;
    p      stockking.user_progress;
    v_xp   bigint;
    v_lvl  integer;
BEGIN
    IF lower(v_text) = 'me' THEN
        v_text := v_me::text;
    END IF;
    IF v_text !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN
        RAISE EXCEPTION 'field "id" must be a user id (uuid) or "me"' USING ERRCODE = '22023';
    END IF;
    -- row-level security: oneself, a parent of the family, or ADMIN
    SELECT * INTO u FROM stockking.users WHERE id = v_text::uuid;
    IF u.id IS NULL THEN
        RAISE EXCEPTION 'user % not found', v_text USING ERRCODE = 'P0002';
    END IF;
    SELECT * INTO p FROM stockking.user_progress WHERE user_id = u.id;
    v_xp := coalesce(p.xp, 0);
    v_lvl := stockking.level_for_xp(v_xp);
    RETURN jsonb_build_object(
        'id', u.id, 'nickname', u.nickname, 'role', u.role, 'family_id', u.family_id,
        'level', v_lvl, 'xp', v_xp, 'level_xp', stockking.xp_for_level(v_lvl),
        'next_level_xp', stockking.xp_for_level(v_lvl + 1),
        'badges', (SELECT coalesce(jsonb_agg(b ORDER BY b ->> 'earned_at'), '[]')
                     FROM jsonb_array_elements(stockking.badges_json(u.id)) b WHERE (b ->> 'earned')::boolean),
        'missions_completed', (SELECT count(*) FROM stockking.mission_progress mp
                                WHERE mp.user_id = u.id AND mp.completed_at IS NOT NULL),
        'link_code', (SELECT l.code FROM stockking.link_code l WHERE l.user_id = u.id),
        'league', (SELECT jsonb_build_object('tier', lm.tier, 'tier_name', stockking.league_tier_name(lm.tier))
                     FROM stockking.league_member lm WHERE lm.user_id = u.id),
        'created_at', u.created_at);
END
$$;
COMMENT ON FUNCTION api.get_profile(jsonb) IS
$$GET /v1/users/:id/profile (":id" a user id or "me"): level, XP and badges.  Visible to the user, the parents of their
family and ADMIN (row-level security).  Returns {"id","nickname","role","family_id","level","xp","level_xp" (XP where this
level starts),"next_level_xp","badges": [earned badges],"missions_completed","link_code" (a child's family link code: shown
to the child and the parents),"league": {"tier","tier_name"} or null,"created_at"}.
Errors: 22023 (400) malformed id; P0002 (404) no such user visible to the caller; 28000 (401).$$;

-- The weekly leaderboard: every account of an OPEN season ranked by its
-- time-weighted return this week (Asia/Seoul, from Monday 00:00): the index
-- of its latest snapshot over the index of its latest snapshot taken before
-- the week began (1 for an account opened this week).  Materialized, and
-- refreshed concurrently by the leaderboard job so that reading it never
-- waits: top N plus the caller's own row are two index look-ups.
CREATE MATERIALIZED VIEW stockking.leaderboard_weekly AS
SELECT w.season_id, w.account_id, w.user_id, w.week_start, w.start_index, w.end_index, w.as_of,
       round(w.end_index / w.start_index - 1, 6) AS weekly_return,
       rank() OVER (PARTITION BY w.season_id ORDER BY round(w.end_index / w.start_index - 1, 6) DESC) AS rank,
       row_number() OVER (PARTITION BY w.season_id
                          ORDER BY round(w.end_index / w.start_index - 1, 6) DESC, w.account_id) AS position
  FROM (SELECT a.season_id, a.id AS account_id, a.user_id, k.week_start, s1.twr_index AS end_index,
               s1.market_date AS as_of,
               coalesce((SELECT s0.twr_index FROM stockking.account_snapshot s0
                          WHERE s0.account_id = a.id AND s0.taken_at < k.week_ts
                          ORDER BY s0.market_date DESC LIMIT 1), 1) AS start_index
          FROM stockking.account a
          JOIN stockking.season se ON se.id = a.season_id AND se.status = 'OPEN'
         CROSS JOIN (SELECT stockking.seoul_week(now()) AS week_start,
                            stockking.seoul_start(stockking.seoul_week(now())) AS week_ts) k
         CROSS JOIN LATERAL (SELECT s.twr_index, s.market_date FROM stockking.account_snapshot s
                              WHERE s.account_id = a.id ORDER BY s.market_date DESC LIMIT 1) s1) w
 WHERE w.start_index > 0;
CREATE UNIQUE INDEX leaderboard_weekly_account ON stockking.leaderboard_weekly (season_id, account_id);
CREATE INDEX leaderboard_weekly_position ON stockking.leaderboard_weekly (season_id, position);
CREATE INDEX leaderboard_weekly_user ON stockking.leaderboard_weekly (user_id, season_id);
COMMENT ON MATERIALIZED VIEW stockking.leaderboard_weekly IS
    'accounts of OPEN seasons ranked by this week''s time-weighted return (Asia/Seoul week); refreshed concurrently by stockking.refresh_leaderboard()';
GRANT SELECT ON stockking.leaderboard_weekly TO stockking_definer;

-- What each job did last (read by the api: the leaderboard's refresh time).
CREATE TABLE stockking.job_state (
    name        text PRIMARY KEY,
    last_run_at timestamptz NOT NULL,
    last_result jsonb
);
COMMENT ON TABLE stockking.job_state IS 'the last run of each scheduled job and what it returned';
GRANT SELECT ON stockking.job_state TO stockking_definer;

-- Leagues: children play in leagues of about 30 within a tier (1 Bronze ..
-- 5 Diamond) for one week, on the account of the default season; when the
-- week ends the top 5 of each league move one tier up and the bottom 5 one
-- tier down (leagues of fewer than 10 players: top and bottom 20%, at
-- least one if 3 or more play).  New players start in tier 1.
CREATE TABLE stockking.league_member (
    user_id    uuid PRIMARY KEY,
    family_id  uuid NOT NULL,
    tier       integer NOT NULL DEFAULT 1 CHECK (tier BETWEEN 1 AND 5),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE stockking.league_assignment (
    week_start date NOT NULL,
    user_id    uuid NOT NULL,
    family_id  uuid NOT NULL,
    account_id bigint NOT NULL,
    tier       integer NOT NULL,
    group_no   integer NOT NULL,
    PRIMARY KEY (week_start, user_id)
);
CREATE INDEX league_assignment_group ON stockking.league_assignment (week_start, tier, group_no);
CREATE INDEX league_assignment_family ON stockking.league_assignment (family_id);
CREATE TABLE stockking.league_result (
    week_start    date NOT NULL,
    user_id       uuid NOT NULL,
    family_id     uuid NOT NULL,
    tier          integer NOT NULL,
    group_no      integer NOT NULL,
    group_size    integer NOT NULL,
    rank_in_group integer NOT NULL,
    weekly_return numeric(20, 6) NOT NULL,
    movement      text NOT NULL CHECK (movement IN ('PROMOTED', 'STAYED', 'RELEGATED')),
    new_tier      integer NOT NULL,
    PRIMARY KEY (week_start, user_id)
);
CREATE INDEX league_result_family ON stockking.league_result (family_id);
COMMENT ON TABLE stockking.league_member IS 'a child''s league tier (1 Bronze, 2 Silver, 3 Gold, 4 Platinum, 5 Diamond)';
COMMENT ON TABLE stockking.league_assignment IS 'the league (tier, group_no) a child plays in during a week';
COMMENT ON TABLE stockking.league_result IS 'a finished week of a league: rank by weekly time-weighted return and the move it earned';
GRANT SELECT ON stockking.league_member, stockking.league_assignment, stockking.league_result TO stockking_definer;

-- how many of a league of n players move up (and down) when the week ends
CREATE FUNCTION stockking.league_moves(n integer) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT CASE WHEN n >= 10 THEN 5 WHEN n >= 3 THEN greatest(1, floor(n * 0.2)::integer) ELSE 0 END $$;
COMMENT ON FUNCTION stockking.league_moves(integer) IS
    'players promoted (and relegated) in a league of n: 5 from 10 players, 20% (at least 1) from 3, none below';

CREATE FUNCTION stockking.league_tier_name(tier integer) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT (ARRAY['BRONZE', 'SILVER', 'GOLD', 'PLATINUM', 'DIAMOND'])[tier] $$;

CREATE FUNCTION api.get_leaderboard(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v_user   uuid := stockking.require_user();
    v_period text := lower(coalesce(stockking.arg_text(args, 'period', false), 'weekly'));
    v_season bigint := stockking.arg_bigint(args, 'season_id', false);
    v_limit  bigint := coalesce(stockking.arg_bigint(args, 'limit', false), 100);
    v_top    jsonb;
    v_me     jsonb;
    v_league jsonb;
    v_week   date := stockking.seoul_week(now());
BEGIN
    IF v_period NOT IN ('weekly', 'league') THEN
        RAISE EXCEPTION 'field "period" must be weekly or league' USING ERRCODE = '22023';
    END IF;
    IF v_limit NOT BETWEEN 1 AND 100 THEN
        RAISE EXCEPTION 'field "limit" must be between 1 and 100' USING ERRCODE = '22023';
    END IF;
    IF v_season IS NULL THEN
        SELECT s.id INTO v_season FROM stockking.season s WHERE s.is_default;
    END IF;
    IF v_period = 'weekly' THEN
        SELECT coalesce(jsonb_agg(jsonb_build_object(
                   'rank', l.rank, 'nickname', u.nickname, 'level', stockking.level_for_xp(coalesce(p.xp, 0)),
                   'weekly_return_pct', trim_scale(round(l.weekly_return * 100, 4)), 'me', l.user_id = v_user)
                   ORDER BY l.position), '[]')
          INTO v_top
          FROM (SELECT * FROM stockking.leaderboard_weekly
                 WHERE season_id = v_season ORDER BY position LIMIT v_limit) l
          JOIN stockking.users_public u ON u.id = l.user_id
          LEFT JOIN stockking.progress_public p ON p.user_id = l.user_id;
        SELECT jsonb_build_object('rank', l.rank, 'weekly_return_pct', trim_scale(round(l.weekly_return * 100, 4)),
                                  'as_of', l.as_of,
                                  'of', (SELECT c.position FROM stockking.leaderboard_weekly c
                                          WHERE c.season_id = v_season ORDER BY c.position DESC LIMIT 1))
          INTO v_me
          FROM stockking.leaderboard_weekly l WHERE l.user_id = v_user AND l.season_id = v_season;
        RETURN jsonb_build_object(
            'period', 'weekly', 'season_id', v_season, 'week_start', v_week,
            'refreshed_at', (SELECT j.last_run_at FROM stockking.job_state j WHERE j.name = 'leaderboard'),
            'items', v_top, 'me', v_me);
    END IF;
    -- the caller's league this week: its members ranked by the same weekly return
    SELECT jsonb_build_object(
               'tier', a.tier, 'tier_name', stockking.league_tier_name(a.tier), 'group_no', a.group_no,
               'members', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                                     'rank', r.rnk, 'nickname', r.nickname,
                                     'weekly_return_pct', trim_scale(round(r.weekly_return * 100, 4)),
                                     'me', r.user_id = v_user) ORDER BY r.rnk, r.nickname), '[]')
                             FROM (SELECT m.user_id, u.nickname, coalesce(l.weekly_return, 0) AS weekly_return,
                                          rank() OVER (ORDER BY coalesce(l.weekly_return, 0) DESC) AS rnk
                                     FROM stockking.league_assignment m
                                     JOIN stockking.users_public u ON u.id = m.user_id
                                     LEFT JOIN stockking.leaderboard_weekly l
                                            ON l.account_id = m.account_id AND l.season_id = v_season
                                    WHERE m.week_start = a.week_start AND m.tier = a.tier AND m.group_no = a.group_no) r))
      INTO v_league
      FROM stockking.league_assignment a
     WHERE a.week_start = v_week AND a.user_id = v_user;
    RETURN jsonb_build_object('period', 'league', 'season_id', v_season, 'week_start', v_week, 'league', v_league,
                              'promote', stockking.league_moves(jsonb_array_length(v_league -> 'members')),
                              'relegate', stockking.league_moves(jsonb_array_length(v_league -> 'members')));
END
$$;
COMMENT ON FUNCTION api.get_leaderboard(jsonb) IS
$$GET /v1/gamification/leaderboard?period=weekly|league&season_id=&limit=: the weekly leaderboard by time-weighted return
this week (Asia/Seoul, Monday start) -- {"period": "weekly", "season_id" (default: the default season), "week_start",
"refreshed_at", "items": [{"rank","nickname","level","weekly_return_pct","me"}] (top "limit", 1..100, default 100),
"me": {"rank","weekly_return_pct","as_of","of"} or null} -- or the caller's league this week: {"period": "league",
"league": {"tier","tier_name","group_no","members": [{"rank","nickname","weekly_return_pct","me"}]} or null,
"promote", "relegate" (how many move up and down when the week ends)}.  Only nicknames and levels of other children are shown.
Errors: 22023 (400) bad period, season_id or limit; 28000 (401).$$;

-- The few columns of other children a leaderboard may show (read past
-- row-level security; nothing else of theirs is reachable).
CREATE VIEW stockking.users_public AS SELECT id, nickname, avatar FROM stockking.users;
CREATE VIEW stockking.progress_public AS SELECT user_id, xp FROM stockking.user_progress;
GRANT SELECT ON stockking.users_public, stockking.progress_public TO stockking_definer;

ALTER FUNCTION api.claim_mission(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.list_daily_missions(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.list_weekly_missions(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.list_badges(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.get_profile(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.get_leaderboard(jsonb) OWNER TO stockking_definer;

INSERT INTO stockking.route (method, path, fn, roles, read_only, success_status, token, summary) VALUES
    ('GET', '/v1/gamification/missions/daily', 'list_daily_missions', '{}', true, 200, 'none', 'Today''s missions'),
    ('GET', '/v1/gamification/missions/weekly', 'list_weekly_missions', '{}', true, 200, 'none', 'This week''s missions'),
    ('POST', '/v1/gamification/missions/:id/claim', 'claim_mission', '{CHILD}', false, 200, 'none',
     'Claim a completed mission''s game-money reward'),
    ('GET', '/v1/gamification/badges', 'list_badges', '{}', true, 200, 'none', 'Badges, earned or not'),
    ('GET', '/v1/gamification/leaderboard', 'get_leaderboard', '{}', true, 200, 'none',
     'Weekly leaderboard (top N and own rank) or the caller''s league'),
    ('GET', '/v1/users/:id/profile', 'get_profile', '{}', true, 200, 'none', 'Level, XP and badges of a user');
