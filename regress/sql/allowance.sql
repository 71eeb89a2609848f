-- Each suite of this issue runs in a database of its own, made here and
-- dropped at the end, so that it neither sees nor leaves rows, sequence
-- values or clocks the other suites (market, trading) depend on.
SET client_min_messages = warning;
SELECT current_database() AS regress_db \gset
DROP DATABASE IF EXISTS regress_sk_allowance;
CREATE DATABASE regress_sk_allowance;
\c regress_sk_allowance
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
-- Allowance: goals (parent only), the time-weighted return they measure,
-- requests and every rule that refuses one, approval and rejection (once,
-- idempotent), payments through the sandbox provider with failures,
-- retries and lost answers, the conversion rule, history and events.
SELECT signup('kid@example.com', 'CHILD', '민준');
SELECT signup('mom@example.com', 'PARENT', '엄마');
SELECT signup('kid2@example.com', 'CHILD', '서연');
SELECT signup('other@example.com', 'PARENT', '이모');
-- a replay season from the March 2009 low, so that the market rises under the goals
SELECT stockking.create_season('RALLY-2009', 'Time machine: the 2009 rally', 'REPLAY', 'USD', 1000000, 'SP500',
                               DATE '2009-03-09') AS rally \gset
SELECT code AS kid_code FROM stockking.link_code WHERE user_id = uid_of('kid@example.com') \gset
SELECT code AS kid2_code FROM stockking.link_code WHERE user_id = uid_of('kid2@example.com') \gset
CREATE FUNCTION public.kid() RETURNS text LANGUAGE sql SECURITY DEFINER AS $$ SELECT uid_of('kid@example.com')::text $$;
CREATE FUNCTION public.goal_args(extra jsonb) RETURNS jsonb LANGUAGE sql SECURITY DEFINER AS $$
    SELECT jsonb_build_object('child_id', kid(), 'season_id', (SELECT id FROM stockking.season WHERE code = 'RALLY-2009'),
                              'target_rate', 5, 'reward_amount', 10000, 'monthly_limit', 15000,
                              'max_requests_per_month', 2) || extra $$;
GRANT EXECUTE ON FUNCTION public.kid(), public.goal_args(jsonb) TO PUBLIC;

SET SESSION AUTHORIZATION regress_sk_web;
SELECT as_user('mom@example.com');
SELECT jsonb_array_length(api.link_family(jsonb_build_object('code', :'kid_code')) -> 'members') AS family;
SELECT as_user('other@example.com');
SELECT jsonb_array_length(api.link_family(jsonb_build_object('code', :'kid2_code')) -> 'members') AS family;
SELECT as_user('kid@example.com');
SELECT r ->> 'currency' AS currency, r -> 'cash' AS cash FROM api.join_season(jsonb_build_object('id', :rally)) r;
SELECT as_user('kid2@example.com');
SELECT r ->> 'currency' AS currency FROM api.join_season(jsonb_build_object('id', :rally)) r;

-- setting a goal: parents only, for a child of their family, with every field checked
SELECT as_user('kid@example.com');
SELECT try($$SELECT api.create_allowance_goal(goal_args('{}'))$$);
SELECT as_user('other@example.com');
SELECT try($$SELECT api.create_allowance_goal(goal_args('{}'))$$);
SELECT as_user('mom@example.com');
CREATE TEMP TABLE bad_goal (label text, args jsonb);
INSERT INTO bad_goal VALUES
    ('child missing',         '{"child_id": null}'),
    ('child not a uuid',      '{"child_id": "kid"}'),
    ('child is a parent',     jsonb_build_object('child_id', uid_of('mom@example.com'))),
    ('season not joined',     jsonb_build_object('season_id', replay())),
    ('season unknown',        '{"season_id": 999}'),
    ('target missing',        '{"target_rate": null}'),
    ('target zero',           '{"target_rate": 0}'),
    ('target 3 decimals',     '{"target_rate": "5.125"}'),
    ('target negative',       '{"target_rate": -5}'),
    ('target absurd',         '{"target_rate": 5000}'),
    ('target not a number',   '{"target_rate": "five"}'),
    ('reward missing',        '{"reward_amount": null}'),
    ('reward zero',           '{"reward_amount": 0}'),
    ('reward fractional',     '{"reward_amount": 100.5}'),
    ('reward absurd',         '{"reward_amount": 1000000000}'),
    ('reward over the limit', '{"reward_amount": 20000}'),
    ('limit missing',         '{"monthly_limit": null}'),
    ('requests zero',         '{"max_requests_per_month": 0}'),
    ('requests absurd',       '{"max_requests_per_month": 1000}'),
    ('rule unknown',          '{"rule": "LOTTERY"}'),
    ('active not boolean',    '{"active": "maybe"}'),
    ('conversion in USD',     '{"rule": "CONVERSION", "conversion_cap": 5000}'),
    ('conversion no cap',     '{"rule": "CONVERSION", "season_id": 1}'),
    ('ratio over 1',          '{"rule": "CONVERSION", "season_id": 1, "conversion_cap": 5000, "conversion_ratio": 2}'),
    ('title too long',        jsonb_build_object('title', repeat('x', 101)));
GRANT SELECT ON bad_goal TO regress_sk_web;
SELECT label, try(format('SELECT api.create_allowance_goal(goal_args(%L))', args)) FROM bad_goal ORDER BY label;
RESET SESSION AUTHORIZATION;
SELECT count(*) AS goals FROM stockking.allowance_goal;
SET SESSION AUTHORIZATION regress_sk_web;
SELECT as_user('mom@example.com');

-- goal A: +5% -> 10,000 won, at most 15,000 won and 2 requests a month
SELECT r ->> 'rule' AS rule, r -> 'target_rate' AS target, r -> 'reward_amount' AS reward, r -> 'monthly_limit' AS monthly,
       r -> 'max_requests_per_month' AS per_month, r -> 'active' AS active, r ->> 'period_start_clock' AS since,
       r -> 'status' -> 'measured_return_pct' AS measured, r -> 'status' -> 'met' AS met,
       r -> 'status' -> 'refusal' ->> 'code' AS would_refuse
  FROM api.create_allowance_goal(goal_args('{"title": "S&P 500 +5%"}')) r;
SELECT (api.create_allowance_goal(goal_args('{"title": "B: +1%", "target_rate": 1, "reward_amount": 1000,
       "monthly_limit": 100000, "max_requests_per_month": 5}')) ->> 'id') AS goal_b \gset
SELECT (api.create_allowance_goal(goal_args('{"title": "C: +1% once a month", "target_rate": "1.00", "reward_amount": 1000,
       "monthly_limit": 100000, "max_requests_per_month": 1}')) ->> 'id') AS goal_c \gset
RESET SESSION AUTHORIZATION;
SELECT id AS goal_a FROM stockking.allowance_goal WHERE title = 'S&P 500 +5%' \gset
SELECT event_type, audience, payload ->> 'title' AS title FROM stockking.outbox WHERE event_type = 'AllowanceGoalSet' ORDER BY id;
SET SESSION AUTHORIZATION regress_sk_web;

-- not met yet: refused with the measured and the target return
SELECT as_user('kid@example.com');
SELECT try(format('SELECT api.request_allowance(''{"goal_id": %s}'')', :goal_a));
SELECT try('SELECT api.request_allowance(''{"goal_id": 424242}'')');
SELECT try('SELECT api.request_allowance(''{}'')');
SELECT as_user('kid2@example.com');
SELECT try(format('SELECT api.request_allowance(''{"goal_id": %s}'')', :goal_a));
SELECT as_user('mom@example.com');
SELECT try(format('SELECT api.request_allowance(''{"goal_id": %s}'')', :goal_a));

-- the child invests: 14 units of the index fund at the 2009-03-09 close (676.53)
SELECT as_user('kid@example.com');
SELECT r ->> 'status' AS status, r -> 'gross_amount' AS gross, r -> 'fees' AS fee
  FROM api.place_order(jsonb_build_object('season_id', :rally, 'symbol', 'SP500', 'side', 'BUY', 'type', 'MARKET', 'quantity', 14)) r;
-- a reward claimed now is money put in, not return: the measured return does not move
SELECT r -> 'status' -> 'measured_return_pct' AS before_claim FROM api.list_allowance_goals('{}') x,
       LATERAL jsonb_array_elements(x -> 'items') r WHERE (r ->> 'id')::bigint = :goal_a;
SELECT r ->> 'mission' AS mission, r -> 'amount' AS amount, r ->> 'currency' AS currency
  FROM api.claim_mission(jsonb_build_object('season_id', :rally,
       'id', (api.list_daily_missions('{}') -> 'items' -> 0 ->> 'id')::bigint)) r;
SELECT r -> 'status' -> 'measured_return_pct' AS after_claim FROM api.list_allowance_goals('{}') x,
       LATERAL jsonb_array_elements(x -> 'items') r WHERE (r ->> 'id')::bigint = :goal_a;

-- one bar later (2009-03-10, close 719.60) the account is up more than 5%
RESET SESSION AUTHORIZATION;
SELECT api.advance_clock(:rally, 1) ->> 'clock' AS clock;
SET SESSION AUTHORIZATION regress_sk_web;
SELECT as_user('kid@example.com');
SELECT r ->> 'title' AS goal, r -> 'status' -> 'measured_return_pct' AS measured, r -> 'status' -> 'met' AS met,
       r -> 'status' -> 'amount' AS amount, r -> 'status' -> 'can_request' AS can_request
  FROM api.list_allowance_goals('{}') x, LATERAL jsonb_array_elements(x -> 'items') r ORDER BY (r ->> 'id')::bigint;
SELECT r ->> 'status' AS status, r -> 'amount' AS amount, r ->> 'currency' AS currency, r -> 'measured_return_pct' AS measured,
       r ->> 'note' AS note, r -> 'payment' AS payment
  FROM api.request_allowance(jsonb_build_object('goal_id', :goal_a, 'note', '5% 넘었어요!')) r;
-- the rules, each with its own SQLSTATE
SELECT try(format('SELECT api.request_allowance(''{"goal_id": %s}'')', :goal_a));
SELECT (api.request_allowance(jsonb_build_object('goal_id', :goal_b)) ->> 'status') AS b1;
SELECT try(format('SELECT api.request_allowance(''{"goal_id": %s}'')', :goal_b));
SELECT try(format($$SELECT api.request_allowance(jsonb_build_object('goal_id', %s, 'note', repeat('x', 501)))$$, :goal_b));
SELECT as_user('mom@example.com');
SELECT (api.update_allowance_goal(jsonb_build_object('id', :goal_c, 'active', false)) -> 'active') AS c_active;
SELECT as_user('kid@example.com');
SELECT try(format('SELECT api.request_allowance(''{"goal_id": %s}'')', :goal_c));
SELECT as_user('mom@example.com');
SELECT (api.update_allowance_goal(jsonb_build_object('id', :goal_c, 'active', 'true')) -> 'active') AS c_active;
SELECT try(format('SELECT api.update_allowance_goal(''{"id": %s, "reward_amount": 200000}'')', :goal_c));
SELECT try(format('SELECT api.update_allowance_goal(''{"id": %s, "rule": "CONVERSION"}'')', :goal_c));
SELECT try('SELECT api.update_allowance_goal(''{"id": 424242, "active": false}'')');
SELECT as_user('other@example.com');
SELECT try(format('SELECT api.update_allowance_goal(''{"id": %s, "active": false}'')', :goal_c));
SELECT as_user('kid@example.com');
SELECT (api.request_allowance(jsonb_build_object('goal_id', :goal_c)) ->> 'status') AS c1;
RESET SESSION AUTHORIZATION;
SELECT id AS req_a FROM stockking.allowance_request WHERE goal_id = :goal_a \gset
SELECT id AS req_b1 FROM stockking.allowance_request WHERE goal_id = :goal_b \gset
SELECT id AS req_c1 FROM stockking.allowance_request WHERE goal_id = :goal_c \gset
SELECT event_type, audience, payload ->> 'child' AS child, payload -> 'amount' AS amount, payload ->> 'note' AS note
  FROM stockking.outbox WHERE event_type = 'AllowanceRequested' ORDER BY id;
SET SESSION AUTHORIZATION regress_sk_web;

-- deciding: a parent of the child only
SELECT as_user('kid@example.com');
SELECT try(format('SELECT api.approve_allowance_request(''{"id": %s}'')', :req_a));
SELECT as_user('other@example.com');
SELECT try(format('SELECT api.approve_allowance_request(''{"id": %s}'')', :req_a));
SELECT try(format('SELECT api.reject_allowance_request(''{"id": %s, "reason": "no"}'')', :req_a));
SELECT as_user('mom@example.com');
SELECT r ->> 'status' AS status, r -> 'payment' ->> 'status' AS payment, r -> 'payment' -> 'paid' AS paid,
       r -> 'payment' -> 'attempts' AS attempts, r -> 'payment' ->> 'provider_ref' AS ref, r -> 'payment' -> 'amount' AS amount
  FROM api.approve_allowance_request(jsonb_build_object('id', :req_a)) r;
-- approving again returns the same request and its one payment
SELECT r ->> 'status' AS status, r -> 'payment' ->> 'status' AS payment, r -> 'payment' -> 'attempts' AS attempts
  FROM api.approve_allowance_request(jsonb_build_object('id', :req_a)) r;
SELECT try(format('SELECT api.reject_allowance_request(''{"id": %s, "reason": "changed my mind"}'')', :req_a));
SELECT try(format('SELECT api.reject_allowance_request(''{"id": %s}'')', :req_b1));
SELECT try(format('SELECT api.reject_allowance_request(''{"id": %s, "reason": "  "}'')', :req_b1));
SELECT r ->> 'status' AS status, r ->> 'reject_reason' AS reason, r -> 'payment' AS payment
  FROM api.reject_allowance_request(jsonb_build_object('id', :req_b1, 'reason', '이번 달은 벌써 많이 받았어')) r;
SELECT (api.reject_allowance_request(jsonb_build_object('id', :req_b1, 'reason', 'again')) ->> 'reject_reason') AS first_reason_kept;
SELECT try(format('SELECT api.approve_allowance_request(''{"id": %s}'')', :req_b1));
SELECT try('SELECT api.approve_allowance_request(''{"id": 424242}'')');
RESET SESSION AUTHORIZATION;
SELECT count(*) AS payments, count(*) FILTER (WHERE status = 'SUCCEEDED') AS succeeded,
       (SELECT count(*) FROM stockking.sandbox_transfer) AS sandbox_transfers FROM stockking.payment;
SET SESSION AUTHORIZATION regress_sk_web;

-- a rejected request does not count: goal B can be asked again; once approved the
-- goal's period starts again where the request measured, so it is not met again at once
SELECT as_user('kid@example.com');
SELECT (api.request_allowance(jsonb_build_object('goal_id', :goal_b)) ->> 'status') AS b2;
SELECT try(format('SELECT api.request_allowance(''{"goal_id": %s}'')', :goal_a));
SELECT as_user('mom@example.com');
SELECT (api.approve_allowance_request(jsonb_build_object('id', :req_c1)) -> 'payment' ->> 'status') AS c1_payment;
SELECT as_user('kid@example.com');
SELECT try(format('SELECT api.request_allowance(''{"goal_id": %s}'')', :goal_c));
-- two more bars up (2009-03-12, close 750.74): C is met again, but once a month only
RESET SESSION AUTHORIZATION;
SELECT api.advance_clock(:rally, 2) ->> 'clock' AS clock;
SET SESSION AUTHORIZATION regress_sk_web;
SELECT as_user('kid@example.com');
SELECT r -> 'status' -> 'met' AS met, r -> 'status' -> 'refusal' ->> 'code' AS refusal
  FROM api.list_allowance_goals('{}') x, LATERAL jsonb_array_elements(x -> 'items') r WHERE (r ->> 'id')::bigint = :goal_c;
SELECT try(format('SELECT api.request_allowance(''{"goal_id": %s}'')', :goal_c));

-- payments that fail: a transient error three times (the automatic attempts run out: FAILED, never paid),
-- then a parent's retry pays it once
RESET SESSION AUTHORIZATION;
INSERT INTO stockking.sandbox_rule (child_id, outcome, remaining) VALUES (uid_of('kid@example.com'), 'ERROR', 3);
SELECT id AS req_b2 FROM stockking.allowance_request WHERE goal_id = :goal_b AND status = 'PENDING' \gset
SET SESSION AUTHORIZATION regress_sk_web;
SELECT as_user('mom@example.com');
SELECT r -> 'payment' ->> 'status' AS payment, r -> 'payment' -> 'paid' AS paid, r -> 'payment' -> 'attempts' AS attempts,
       r -> 'payment' ->> 'last_error' AS error, r -> 'payment' -> 'next_attempt_at' IS NOT NULL AS retry_scheduled
  FROM api.approve_allowance_request(jsonb_build_object('id', :req_b2)) r;
SELECT (r -> 'payment' ->> 'id') AS pay_b2 FROM api.approve_allowance_request(jsonb_build_object('id', :req_b2)) r \gset
SELECT try(format('SELECT api.retry_allowance_payment(''{"id": %s}'')', :pay_b2));
RESET SESSION AUTHORIZATION;
-- the job attempts what is due (nothing yet), then, time having passed, twice more
SELECT stockking.retry_payments() AS not_due_yet;
UPDATE stockking.payment SET next_attempt_at = now() - interval '1 second' WHERE id = :pay_b2;
SELECT stockking.retry_payments() AS second_attempt;
UPDATE stockking.payment SET next_attempt_at = now() - interval '1 second' WHERE id = :pay_b2;
SELECT stockking.retry_payments() AS third_attempt;
SELECT status, attempts, next_attempt_at IS NULL AS no_more_automatic, succeeded_at IS NULL AS not_paid, last_error
  FROM stockking.payment WHERE id = :pay_b2;
SELECT attempt_no, outcome, retryable, error FROM stockking.payment_attempt WHERE payment_id = :pay_b2 ORDER BY attempt_no;
SET SESSION AUTHORIZATION regress_sk_web;
SELECT as_user('kid@example.com');
SELECT try(format('SELECT api.retry_allowance_payment(''{"id": %s}'')', :pay_b2));
SELECT (api.allowance_history('{}') -> 'paid_total') AS paid_total_before_retry;
SELECT as_user('mom@example.com');
SELECT r -> 'payment' ->> 'status' AS payment, r -> 'payment' -> 'paid' AS paid, r -> 'payment' -> 'attempts' AS attempts,
       r -> 'payment' -> 'max_attempts' AS max_attempts
  FROM api.retry_allowance_payment(jsonb_build_object('id', :pay_b2)) r;
SELECT try(format('SELECT api.retry_allowance_payment(''{"id": %s}'')', :pay_b2));
SELECT try('SELECT api.retry_allowance_payment(''{"id": 424242}'')');

-- a declined transfer fails at once (not retryable); a retry pays it
SELECT as_user('kid@example.com');
SELECT (api.request_allowance(jsonb_build_object('goal_id', :goal_b)) ->> 'id') AS req_b3 \gset
RESET SESSION AUTHORIZATION;
INSERT INTO stockking.sandbox_rule (child_id, outcome, remaining) VALUES (NULL, 'DECLINE', 1);
SET SESSION AUTHORIZATION regress_sk_web;
SELECT as_user('mom@example.com');
SELECT r -> 'payment' ->> 'status' AS payment, r -> 'payment' -> 'paid' AS paid, r -> 'payment' ->> 'last_error' AS error,
       r -> 'payment' ->> 'id' AS pay_id
  FROM api.approve_allowance_request(jsonb_build_object('id', :req_b3)) r \gset
SELECT :'payment' AS payment, :'paid' AS paid, :'error' AS error;
SELECT (api.retry_allowance_payment(jsonb_build_object('id', :pay_id)) -> 'payment' ->> 'status') AS after_retry;

-- the answer is lost (a timeout) but the transfer was made: the payment stays PENDING, and the next
-- attempt, with the same idempotency key, finds that transfer instead of paying again
RESET SESSION AUTHORIZATION;
SELECT api.advance_clock(:rally, 3) ->> 'clock' AS clock;
SET SESSION AUTHORIZATION regress_sk_web;
SELECT as_user('kid@example.com');
SELECT (api.request_allowance(jsonb_build_object('goal_id', :goal_b)) ->> 'id') AS req_b4 \gset
RESET SESSION AUTHORIZATION;
INSERT INTO stockking.sandbox_rule (child_id, outcome, remaining) VALUES (uid_of('kid@example.com'), 'TIMEOUT', 1);
SET SESSION AUTHORIZATION regress_sk_web;
SELECT as_user('mom@example.com');
SELECT r -> 'payment' ->> 'status' AS payment, r -> 'payment' -> 'paid' AS paid, r -> 'payment' ->> 'last_error' AS error
  FROM api.approve_allowance_request(jsonb_build_object('id', :req_b4)) r;
RESET SESSION AUTHORIZATION;
SELECT id AS pay_b4, idempotency_key FROM stockking.payment WHERE request_id = :req_b4 \gset
SELECT count(*) AS transfers_made FROM stockking.sandbox_transfer WHERE idempotency_key = :'idempotency_key';
UPDATE stockking.payment SET next_attempt_at = now() - interval '1 second' WHERE id = :pay_b4;
SELECT stockking.retry_payments() AS resolved;
SELECT p.status, p.attempts, p.provider_ref = t.provider_ref AS same_transfer,
       (SELECT count(*) FROM stockking.sandbox_transfer s WHERE s.idempotency_key = p.idempotency_key) AS transfers_made
  FROM stockking.payment p JOIN stockking.sandbox_transfer t ON t.idempotency_key = p.idempotency_key WHERE p.id = :pay_b4;
SELECT attempt_no, outcome, retryable FROM stockking.payment_attempt WHERE payment_id = :pay_b4 ORDER BY attempt_no;
-- every approved request has exactly one payment, every payment at most one transfer
SELECT count(*) AS approved, count(p.id) AS payments, count(DISTINCT p.id) AS distinct_payments,
       sum((SELECT count(*) FROM stockking.sandbox_transfer t WHERE t.idempotency_key = p.idempotency_key)) AS transfers
  FROM stockking.allowance_request r LEFT JOIN stockking.payment p ON p.request_id = r.id WHERE r.status = 'APPROVED';

-- the monthly limit counts PENDING and APPROVED requests of the month (Asia/Seoul)
SELECT r.id, r.status, r.amount, r.month = stockking.seoul_month(now()) AS this_month
  FROM stockking.allowance_request r WHERE r.goal_id = :goal_b ORDER BY r.id;
-- the conversion rule (seed 004): profit / 10 in won, up to a cap, on a KRW account
RESET SESSION AUTHORIZATION;
INSERT INTO stockking.instrument (symbol, name, market, kind, bar_interval) VALUES ('005930', '삼성전자', 'KRX', 'STOCK', '1d');
INSERT INTO stockking.price_bar VALUES ('005930', stockking.seoul_day(now()) - 1, 70000, 70500, 69500, 70000, 1000);
SET SESSION AUTHORIZATION regress_sk_web;
SELECT as_user('mom@example.com');
SELECT (api.create_allowance_goal(jsonb_build_object('child_id', kid(), 'season_id', 1, 'rule', 'conversion',
        'conversion_cap', 5000, 'monthly_limit', 100000, 'max_requests_per_month', 3, 'title', '수익의 10%'))
        ->> 'id') AS goal_k \gset
SELECT as_user('kid@example.com');
SELECT r -> 'status' -> 'gain' AS gain, r -> 'status' -> 'amount' AS amount, r -> 'status' -> 'refusal' ->> 'code' AS refusal,
       r -> 'conversion_ratio' AS ratio, r -> 'conversion_cap' AS cap
  FROM api.list_allowance_goals('{}') x, LATERAL jsonb_array_elements(x -> 'items') r WHERE (r ->> 'id')::bigint = :goal_k;
SELECT replace(try(format('SELECT api.request_allowance(''{"goal_id": %s}'')', :goal_k)),
               to_char(now() AT TIME ZONE 'Asia/Seoul', 'YYYY-MM-DD'), 'today') AS refused;
SELECT r -> 'gross_amount' AS gross, r -> 'fees' AS fee FROM api.place_order(
    '{"season_id": 1, "symbol": "005930", "side": "BUY", "type": "MARKET", "quantity": 10}') r;
RESET SESSION AUTHORIZATION;
-- today the price is 71,000: a profit of 10 x 1,000 - 105 won of commission = 9,895 won -> 989 won
INSERT INTO stockking.price_bar VALUES ('005930', stockking.seoul_day(now()), 70000, 71500, 69900, 71000, 1000);
SET SESSION AUTHORIZATION regress_sk_web;
SELECT as_user('kid@example.com');
SELECT r -> 'status' -> 'gain' AS gain, r -> 'status' -> 'amount' AS amount, r -> 'status' -> 'can_request' AS can_request
  FROM api.list_allowance_goals('{}') x, LATERAL jsonb_array_elements(x -> 'items') r WHERE (r ->> 'id')::bigint = :goal_k;
RESET SESSION AUTHORIZATION;
-- at 77,000 the profit is 69,895 won: 6,989 won, capped at 5,000
UPDATE stockking.price_bar SET close = 77000, high = 77500 WHERE symbol = '005930' AND bar_date = stockking.seoul_day(now());
SET SESSION AUTHORIZATION regress_sk_web;
SELECT as_user('kid@example.com');
SELECT r ->> 'status' AS status, r -> 'amount' AS amount, r -> 'measured_gain' AS gain
  FROM api.request_allowance(jsonb_build_object('goal_id', :goal_k)) r;
SELECT as_user('mom@example.com');
SELECT (api.approve_allowance_request(jsonb_build_object('id',
        (SELECT max((i ->> 'id')::bigint) FROM jsonb_array_elements(api.allowance_history('{}') -> 'items') i
          WHERE (i ->> 'goal_id')::bigint = :goal_k))) -> 'payment' ->> 'status') AS k_payment;
-- paid once: the profit already converted does not count again
SELECT as_user('kid@example.com');
SELECT replace(try(format('SELECT api.request_allowance(''{"goal_id": %s}'')', :goal_k)),
               to_char(now() AT TIME ZONE 'Asia/Seoul', 'YYYY-MM-DD'), 'today') AS refused;

-- history: the child's own, a parent's family's, nobody else's; only SUCCEEDED payments count as paid
SELECT as_user('kid@example.com');
SELECT i ->> 'status' AS status, i -> 'amount' AS amount, i -> 'payment' ->> 'status' AS payment,
       i -> 'payment' -> 'attempts' AS attempts, i ->> 'reject_reason' AS reason
  FROM jsonb_array_elements(api.allowance_history('{"limit": 100}') -> 'items') i ORDER BY (i ->> 'id')::bigint;
SELECT api.allowance_history('{}') -> 'paid_total' AS paid_total;
SELECT jsonb_array_length(r -> 'items') AS first_page, r -> 'next_before' IS NOT NULL AS more
  FROM api.allowance_history('{"limit": 3}') r;
SELECT as_user('mom@example.com');
SELECT jsonb_array_length(api.allowance_history(jsonb_build_object('child_id', kid(), 'limit', 100)) -> 'items') AS moms_view,
       api.allowance_history('{}') -> 'paid_total' AS paid_total;
SELECT as_user('kid2@example.com');
SELECT jsonb_array_length(api.allowance_history('{}') -> 'items') AS kid2_sees, api.allowance_history('{}') -> 'paid_total' AS paid,
       jsonb_array_length(api.list_allowance_goals('{}') -> 'items') AS kid2_goals;
SELECT try(format('SELECT api.allowance_history(''{"child_id": "%s"}'')', kid()));
SELECT as_user('other@example.com');
SELECT jsonb_array_length(api.allowance_history('{}') -> 'items') AS other_parent_sees;
SELECT try('SELECT api.allowance_history(''{"limit": 0}'')');

-- events: requests to the parents, decisions and payments to the child
SELECT as_user('kid@example.com');
SELECT e ->> 'type' AS type, count(*) FROM jsonb_array_elements(api.list_notifications('{"limit": 200}') -> 'items') e
 WHERE e ->> 'type' ~ '^(Allowance|Payment)' GROUP BY 1 ORDER BY 1;
SELECT as_user('mom@example.com');
SELECT e ->> 'type' AS type, count(*) FROM jsonb_array_elements(api.list_notifications('{"limit": 200}') -> 'items') e
 WHERE e ->> 'type' ~ '^(Allowance|Payment)' GROUP BY 1 ORDER BY 1;
SELECT as_user('kid2@example.com');
SELECT count(*) AS kid2_events FROM jsonb_array_elements(api.list_notifications('{"limit": 200}') -> 'items') e
 WHERE e ->> 'type' ~ '^(Allowance|Payment)';
RESET SESSION AUTHORIZATION;
\c :regress_db
DROP DATABASE regress_sk_allowance;
