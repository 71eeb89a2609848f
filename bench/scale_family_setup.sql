-- bench/scale_family_setup.sql: the data of the family scale bench
-- (bench/scale_family.sh), written straight into the tables.
--
-- :children children (default 100,000) in families of two children and one
-- parent, each with an account in the default (KRW, LIVE) season holding
-- :positions positions (default 10) of 50 KRX stocks, one order and one fill
-- per position this month, three daily snapshots before today (the oldest
-- taken before this Asia/Seoul week), a completed daily mission each, and an
-- allowance goal, an approved request and a paid payment for every fifth
-- child.  The mission triggers and the link-code trigger are switched off
-- while the rows are written (they are exercised by the tests, not here).
\if :{?children}
\else
\set children 100000
\endif
\if :{?positions}
\else
\set positions 10
\endif
SET client_min_messages = warning;
SET synchronous_commit = off;
\timing on

ALTER TABLE stockking.users DISABLE TRIGGER child_link_code;
ALTER TABLE stockking.fill DISABLE TRIGGER fill_missions;
ALTER TABLE stockking.orders DISABLE TRIGGER order_missions;

-- 50 KRX stocks with 14 daily bars up to today (prices on the 10-won tick)
INSERT INTO stockking.instrument (symbol, name, market, kind, bar_interval, source)
SELECT 'K' || lpad(i::text, 4, '0'), 'Bench stock ' || i, 'KRX', 'STOCK', '1d', 'bench/scale_family_setup.sql'
  FROM generate_series(1, 50) i;
INSERT INTO stockking.price_bar (symbol, bar_date, open, high, low, close, volume)
SELECT 'K' || lpad(i::text, 4, '0'), stockking.seoul_day(now()) - k, p, p, p, p, 1000
  FROM generate_series(1, 50) i, generate_series(0, 13) k,
       LATERAL (SELECT (10000 + i * 100 + (13 - k) * 10 * (i % 7 - 2))::numeric AS p) x;

CREATE TEMP TABLE kid AS
SELECT c, md5('kid' || c)::uuid AS id, md5('family' || ((c + 1) / 2))::uuid AS family_id
  FROM generate_series(1, :children) c;

INSERT INTO stockking.family (id) SELECT DISTINCT family_id FROM kid;
INSERT INTO stockking.users (id, family_id, email, password_hash, role, nickname)
SELECT id, family_id, 'kid' || c || '@bench.example.com', 'x', 'CHILD', 'kid' || c FROM kid;
INSERT INTO stockking.users (id, family_id, email, password_hash, role, nickname)
SELECT md5('parent' || family_id)::uuid, family_id, 'parent' || min(c) || '@bench.example.com', 'x', 'PARENT', 'parent' || min(c)
  FROM kid GROUP BY family_id;

-- positions: :positions different stocks per child, bought 10 days ago
CREATE TEMP TABLE pos AS
SELECT k.c, k.id AS user_id, k.family_id, 'K' || lpad((((k.c * 7 + j * 13) % 50) + 1)::text, 4, '0') AS symbol,
       1 + (k.c + j) % 5 AS quantity
  FROM kid k, generate_series(0, :positions - 1) j;
CREATE TEMP TABLE pos_cost AS
SELECT p.*, p.quantity * b.close::bigint AS gross, (p.quantity * b.close * 0.00015)::bigint AS fee, b.bar_date
  FROM pos p JOIN stockking.price_bar b ON b.symbol = p.symbol AND b.bar_date = stockking.seoul_day(now()) - 10;

INSERT INTO stockking.account (family_id, user_id, season_id, currency, cash, net_contribution)
SELECT k.family_id, k.id, 1, 'KRW', 1000000 - s.spent, 1000000
  FROM kid k JOIN (SELECT user_id, sum(gross + fee) AS spent FROM pos_cost GROUP BY user_id) s ON s.user_id = k.id;
UPDATE stockking.users u SET default_account_id = a.id FROM stockking.account a WHERE a.user_id = u.id;
INSERT INTO stockking.cash_ledger (account_id, family_id, user_id, entry_type, amount, is_contribution, market_date)
SELECT a.id, a.family_id, a.user_id, 'DEPOSIT', 1000000, true, stockking.seoul_day(now()) - 13 FROM stockking.account a;
INSERT INTO stockking.cash_ledger (account_id, family_id, user_id, entry_type, amount, is_contribution, market_date)
SELECT a.id, a.family_id, a.user_id, 'BUY', a.cash - 1000000, false, stockking.seoul_day(now()) - 10 FROM stockking.account a;
INSERT INTO stockking.holding (account_id, symbol, family_id, user_id, quantity, cost_basis)
SELECT a.id, p.symbol, p.family_id, p.user_id, p.quantity, p.gross + p.fee
  FROM pos_cost p JOIN stockking.account a ON a.user_id = p.user_id;

-- one order and one fill per position, this month
INSERT INTO stockking.orders (family_id, user_id, account_id, season_id, symbol, side, order_type, time_in_force, quantity,
                              status, filled_quantity, average_fill_price, gross_amount, fees, placed_bar_date)
SELECT p.family_id, p.user_id, a.id, 1, p.symbol, 'BUY', 'MARKET', 'DAY', p.quantity, 'FILLED', p.quantity,
       p.gross / p.quantity, p.gross, p.fee, p.bar_date
  FROM pos_cost p JOIN stockking.account a ON a.user_id = p.user_id;
INSERT INTO stockking.fill (order_id, account_id, family_id, user_id, symbol, side, quantity, price, gross, fee, tax, bar_date)
SELECT o.id, o.account_id, o.family_id, o.user_id, o.symbol, 'BUY', o.quantity, o.average_fill_price, o.gross_amount,
       o.fees, 0, o.placed_bar_date
  FROM stockking.orders o;

-- three daily snapshots before today, the oldest taken before this week began
INSERT INTO stockking.account_snapshot (account_id, market_date, family_id, user_id, season_id, cash, market_value,
                                        total_value, net_contribution, flow, twr_index, taken_at)
SELECT a.id, mv.d, a.family_id, a.user_id, 1, a.cash, mv.v, a.cash + mv.v, 1000000, 0,
       round((a.cash + mv.v) / 1000000.0, 12),
       CASE WHEN mv.d = stockking.seoul_day(now()) - 3
            THEN stockking.seoul_start(stockking.seoul_week(now())) - interval '10 minutes'
            ELSE stockking.seoul_start(mv.d) + interval '23 hours 50 minutes' END
  FROM (SELECT h.account_id, b.bar_date AS d, sum(h.quantity * b.close)::bigint AS v
          FROM stockking.holding h JOIN stockking.price_bar b ON b.symbol = h.symbol
         WHERE b.bar_date BETWEEN stockking.seoul_day(now()) - 3 AND stockking.seoul_day(now()) - 1
         GROUP BY h.account_id, b.bar_date) mv
  JOIN stockking.account a ON a.id = mv.account_id;

-- a completed daily mission each, and some XP
INSERT INTO stockking.mission_progress (user_id, mission_code, period_start, family_id, progress, target, completed_at)
SELECT id, 'DAILY_BUY_ONE', stockking.seoul_day(now()), family_id, 1, 1, now() FROM kid;
INSERT INTO stockking.user_progress (user_id, family_id, xp, level)
SELECT id, family_id, 120 + c % 900, stockking.level_for_xp(120 + c % 900) FROM kid;

-- every fifth child: a goal, an approved request and its paid payment
INSERT INTO stockking.allowance_goal (family_id, child_id, created_by, season_id, account_id, rule, target_rate,
                                      reward_amount, monthly_limit, max_requests_per_month, period_started_at,
                                      period_start_clock, period_start_index, period_start_gain)
SELECT a.family_id, a.user_id, md5('parent' || a.family_id)::uuid, 1, a.id, 'TARGET_RETURN', 5, 10000, 30000, 3, now(),
       stockking.seoul_day(now()), 1, 0
  FROM stockking.account a JOIN kid k ON k.id = a.user_id WHERE k.c % 5 = 0;
INSERT INTO stockking.allowance_request (family_id, goal_id, child_id, account_id, amount, month, measured_return,
                                         measured_gain, measured_clock, measured_index, measured_total,
                                         measured_contribution, status, decided_at, decided_by)
SELECT g.family_id, g.id, g.child_id, g.account_id, 10000, stockking.seoul_month(now()), 0.06, 60000,
       stockking.seoul_day(now()), 1.06, 1060000, 1000000, 'APPROVED', now(), g.created_by
  FROM stockking.allowance_goal g;
INSERT INTO stockking.payment (family_id, request_id, child_id, amount, provider, idempotency_key, status, attempts,
                               provider_ref, succeeded_at)
SELECT r.family_id, r.id, r.child_id, r.amount, 'sandbox', 'allowance-request-' || r.id, 'SUCCEEDED', 1,
       'SBX-BENCH-' || r.id, now()
  FROM stockking.allowance_request r;

ALTER TABLE stockking.users ENABLE TRIGGER child_link_code;
ALTER TABLE stockking.fill ENABLE TRIGGER fill_missions;
ALTER TABLE stockking.orders ENABLE TRIGGER order_missions;
\timing off
ANALYZE;
SELECT (SELECT count(*) FROM stockking.users WHERE role = 'CHILD') AS children,
       (SELECT count(*) FROM stockking.holding) AS positions,
       (SELECT count(*) FROM stockking.fill) AS fills,
       (SELECT count(*) FROM stockking.account_snapshot) AS snapshots;
