-- Allowance: goals set by parents, requests by children, approval or
-- rejection, and the payment of real allowance through a payment-provider
-- adapter (extension/allowance.c).
--
-- Amounts of allowance are whole won (KRW).  A goal measures the child's
-- game account in one season:
--   TARGET_RETURN  met when the time-weighted return since the goal's period
--                  started reaches target_rate percent; pays reward_amount.
--   CONVERSION     pays the game profit made since the period started
--                  (gain = total value - net contribution, so rewards and
--                  deposits do not count) x conversion_ratio (0.1 = profit
--                  / 10, seed 004), rounded down to the won, at most
--                  conversion_cap; KRW seasons only; target_rate, when set,
--                  is a minimum time-weighted return as well.
-- A goal's period starts when it is set and starts again at the point the
-- last approved request measured, so one success is paid once.
--
-- A request is allowed only when, in this order: the goal is active
-- (SK220), the goal is met (SK221), the child's requests on the goal this
-- month (Asia/Seoul calendar month; PENDING and APPROVED count, REJECTED do
-- not) are fewer than max_requests_per_month (SK222), this request's amount
-- plus those requests' amounts stays within monthly_limit (SK223), and no
-- other request on the goal is PENDING (SK224).  Requests on one goal are
-- serialized by a transaction-level advisory lock on the goal.

INSERT INTO stockking.error_code VALUES
    ('SK220', 409, 'goal_inactive', 'the allowance goal is switched off'),
    ('SK221', 422, 'goal_not_met', 'the goal''s target is not reached (the message gives the measured return)'),
    ('SK222', 422, 'monthly_count_reached', 'the goal''s requests this month reached max_requests_per_month'),
    ('SK223', 422, 'monthly_limit_reached', 'the request would take the goal''s allowance this month past monthly_limit'),
    ('SK224', 409, 'request_pending', 'another request on the goal is waiting for a parent'),
    ('SK225', 409, 'request_decided', 'the request was decided already (a request is approved or rejected once)'),
    ('SK226', 409, 'payment_not_retryable', 'only a FAILED payment can be retried (a SUCCEEDED one is paid; a PENDING one retries by itself)');

CREATE TABLE stockking.allowance_goal (
    id                     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    family_id              uuid NOT NULL,
    child_id               uuid NOT NULL,
    created_by             uuid NOT NULL,
    season_id              integer NOT NULL,
    account_id             bigint NOT NULL,
    rule                   text NOT NULL CHECK (rule IN ('TARGET_RETURN', 'CONVERSION')),
    target_rate            numeric(10, 2) NOT NULL DEFAULT 0 CHECK (target_rate >= 0 AND target_rate <= 1000),
    reward_amount          bigint CHECK (reward_amount > 0),
    conversion_ratio       numeric(7, 6) CHECK (conversion_ratio > 0 AND conversion_ratio <= 1),
    conversion_cap         bigint CHECK (conversion_cap > 0),
    monthly_limit          bigint NOT NULL CHECK (monthly_limit > 0),
    max_requests_per_month integer NOT NULL CHECK (max_requests_per_month BETWEEN 1 AND 100),
    active                 boolean NOT NULL DEFAULT true,
    title                  text CHECK (length(title) <= 100),
    period_started_at      timestamptz NOT NULL,
    period_start_clock     date NOT NULL,
    period_start_index     numeric(24, 12) NOT NULL,
    period_start_gain      bigint NOT NULL,
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now(),
    CHECK (rule = 'CONVERSION' OR (reward_amount IS NOT NULL AND target_rate > 0)),
    CHECK (rule = 'TARGET_RETURN' OR (conversion_ratio IS NOT NULL AND conversion_cap IS NOT NULL))
);
CREATE INDEX allowance_goal_family ON stockking.allowance_goal (family_id);
CREATE INDEX allowance_goal_child ON stockking.allowance_goal (child_id, id);
COMMENT ON TABLE stockking.allowance_goal IS
    'a parent''s rule turning a child''s game success into real allowance (won): TARGET_RETURN (target_rate percent of time-weighted return -> reward_amount) or CONVERSION (profit x conversion_ratio up to conversion_cap); the period_start_* columns are where the current measurement starts';

CREATE TABLE stockking.allowance_request (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    family_id       uuid NOT NULL,
    goal_id         bigint NOT NULL REFERENCES stockking.allowance_goal (id),
    child_id        uuid NOT NULL,
    account_id      bigint NOT NULL,
    amount          bigint NOT NULL CHECK (amount > 0),
    month           date NOT NULL,
    measured_return numeric(20, 6) NOT NULL,
    measured_gain   bigint NOT NULL,
    measured_clock  date NOT NULL,
    measured_index  numeric(24, 12) NOT NULL,
    measured_total  bigint NOT NULL,
    measured_contribution bigint NOT NULL,
    note            text CHECK (length(note) <= 500),
    status          text NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'APPROVED', 'REJECTED')),
    requested_at    timestamptz NOT NULL DEFAULT now(),
    decided_at      timestamptz,
    decided_by      uuid,
    reject_reason   text CHECK (length(reject_reason) <= 500),
    CHECK ((status = 'PENDING') = (decided_at IS NULL))
);
CREATE UNIQUE INDEX allowance_request_one_pending ON stockking.allowance_request (goal_id) WHERE status = 'PENDING';
CREATE INDEX allowance_request_goal_month ON stockking.allowance_request (goal_id, month);
CREATE INDEX allowance_request_family ON stockking.allowance_request (family_id, id);
CREATE INDEX allowance_request_child ON stockking.allowance_request (child_id, id);
COMMENT ON TABLE stockking.allowance_request IS
    'a child''s request for the allowance a goal pays (won), with what was measured when it was made; decided once by a parent';

-- Payments.  One payment per approved request, ever (request_id UNIQUE).
-- PENDING -> SUCCEEDED, or -> FAILED after a declined transfer or when the
-- automatic attempts ran out; a parent may retry a FAILED payment (back to
-- PENDING).  Every attempt sends the same idempotency_key, so a transfer
-- the provider made but whose answer was lost is found, not made again.
CREATE TABLE stockking.payment (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    family_id       uuid NOT NULL,
    request_id      bigint NOT NULL UNIQUE REFERENCES stockking.allowance_request (id),
    child_id        uuid NOT NULL,
    amount          bigint NOT NULL CHECK (amount > 0),
    currency        char(3) NOT NULL DEFAULT 'KRW',
    provider        text NOT NULL,
    idempotency_key text NOT NULL UNIQUE,
    status          text NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'SUCCEEDED', 'FAILED')),
    attempts        integer NOT NULL DEFAULT 0,
    max_attempts    integer NOT NULL DEFAULT 3,
    next_attempt_at timestamptz,
    provider_ref    text,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    succeeded_at    timestamptz,
    failed_at       timestamptz,
    CHECK ((status = 'SUCCEEDED') = (succeeded_at IS NOT NULL)),
    CHECK (status <> 'SUCCEEDED' OR provider_ref IS NOT NULL)
);
CREATE INDEX payment_due ON stockking.payment (next_attempt_at) WHERE status = 'PENDING';
CREATE INDEX payment_family ON stockking.payment (family_id);
COMMENT ON TABLE stockking.payment IS
    'the transfer of an approved request''s allowance to the child through a payment provider; only SUCCEEDED is paid';

CREATE TABLE stockking.payment_attempt (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    payment_id   bigint NOT NULL REFERENCES stockking.payment (id),
    family_id    uuid NOT NULL,
    child_id     uuid NOT NULL,
    attempt_no   integer NOT NULL,
    outcome      text NOT NULL CHECK (outcome IN ('SUCCEEDED', 'FAILED', 'UNKNOWN')),
    retryable    boolean NOT NULL,
    provider_ref text,
    error        text,
    attempted_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (payment_id, attempt_no)
);
CREATE INDEX payment_attempt_family ON stockking.payment_attempt (family_id);
COMMENT ON TABLE stockking.payment_attempt IS
    'one call to the payment provider: SUCCEEDED, FAILED (retryable or not) or UNKNOWN (no answer: the next attempt asks again under the same idempotency key)';

-- The sandbox payment provider's own books: what a bank would have recorded.
-- No real money moves.  sandbox_rule scripts its answers for tests and demos:
-- the next transfer (of a child, or of anyone) is DECLINEd (a permanent
-- failure), fails with a transient ERROR, or TIMEOUTs (the transfer is made
-- but the answer is lost).
CREATE TABLE stockking.sandbox_transfer (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    idempotency_key text NOT NULL UNIQUE,
    child_id        uuid NOT NULL,
    amount          bigint NOT NULL CHECK (amount > 0),
    currency        char(3) NOT NULL,
    provider_ref    text NOT NULL UNIQUE,
    created_at      timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE stockking.sandbox_transfer IS
    'transfers the sandbox payment provider made (one per idempotency key); no real money moves';

CREATE TABLE stockking.sandbox_rule (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    child_id  uuid,
    outcome   text NOT NULL CHECK (outcome IN ('DECLINE', 'ERROR', 'TIMEOUT')),
    remaining integer NOT NULL CHECK (remaining >= 0),
    created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE stockking.sandbox_rule IS
    'operators and tests: the sandbox provider''s next answers (child_id NULL = any child), each rule used remaining times';

ALTER TABLE stockking.allowance_goal ENABLE ROW LEVEL SECURITY;
ALTER TABLE stockking.allowance_request ENABLE ROW LEVEL SECURITY;
ALTER TABLE stockking.payment ENABLE ROW LEVEL SECURITY;
ALTER TABLE stockking.payment_attempt ENABLE ROW LEVEL SECURITY;
CREATE POLICY goal_read ON stockking.allowance_goal FOR SELECT USING (stockking.can_read(family_id, child_id));
CREATE POLICY goal_insert ON stockking.allowance_goal FOR INSERT WITH CHECK (stockking.is_family_parent(family_id));
CREATE POLICY goal_update ON stockking.allowance_goal FOR UPDATE USING (stockking.is_family_parent(family_id));
CREATE POLICY request_read ON stockking.allowance_request FOR SELECT USING (stockking.can_read(family_id, child_id));
CREATE POLICY request_insert ON stockking.allowance_request FOR INSERT WITH CHECK (stockking.can_write(child_id));
CREATE POLICY request_decide ON stockking.allowance_request FOR UPDATE USING (stockking.is_family_parent(family_id));
CREATE POLICY payment_read ON stockking.payment FOR SELECT USING (stockking.can_read(family_id, child_id));
CREATE POLICY payment_write ON stockking.payment FOR ALL USING (stockking.is_family_parent(family_id))
    WITH CHECK (stockking.is_family_parent(family_id));
CREATE POLICY payment_attempt_read ON stockking.payment_attempt FOR SELECT USING (stockking.can_read(family_id, child_id));
CREATE POLICY payment_attempt_write ON stockking.payment_attempt FOR INSERT WITH CHECK (stockking.is_family_parent(family_id));
GRANT SELECT, INSERT, UPDATE ON stockking.allowance_goal, stockking.allowance_request, stockking.payment TO stockking_definer;
GRANT SELECT, INSERT ON stockking.payment_attempt TO stockking_definer;
GRANT SELECT, INSERT ON stockking.sandbox_transfer TO stockking_definer;
GRANT SELECT, UPDATE ON stockking.sandbox_rule TO stockking_definer;

-- JSON shapes.

CREATE FUNCTION stockking.payment_json(p stockking.payment) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
    SELECT jsonb_build_object(
        'id', p.id, 'request_id', p.request_id, 'amount', p.amount, 'currency', p.currency, 'provider', p.provider,
        'status', p.status, 'paid', p.status = 'SUCCEEDED', 'attempts', p.attempts, 'max_attempts', p.max_attempts,
        'next_attempt_at', p.next_attempt_at, 'provider_ref', p.provider_ref, 'last_error', p.last_error,
        'created_at', p.created_at, 'succeeded_at', p.succeeded_at, 'failed_at', p.failed_at,
        'attempt_log', (SELECT coalesce(jsonb_agg(jsonb_build_object('attempt', a.attempt_no, 'outcome', a.outcome,
                                                                    'retryable', a.retryable, 'provider_ref', a.provider_ref,
                                                                    'error', a.error, 'at', a.attempted_at)
                                                  ORDER BY a.attempt_no), '[]')
                          FROM stockking.payment_attempt a WHERE a.payment_id = p.id))
    $$;

CREATE FUNCTION stockking.allowance_request_json(r stockking.allowance_request) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
    SELECT jsonb_build_object(
        'id', r.id, 'goal_id', r.goal_id, 'child_id', r.child_id,
        'child', (SELECT u.nickname FROM stockking.users u WHERE u.id = r.child_id),
        'account_id', r.account_id, 'amount', r.amount, 'currency', 'KRW', 'month', to_char(r.month, 'YYYY-MM'),
        'measured_return_pct', trim_scale(round(r.measured_return * 100, 4)), 'measured_gain', r.measured_gain,
        'measured_clock', r.measured_clock, 'note', r.note, 'status', r.status,
        'requested_at', r.requested_at, 'decided_at', r.decided_at, 'decided_by', r.decided_by,
        'reject_reason', r.reject_reason,
        'payment', (SELECT stockking.payment_json(p) FROM stockking.payment p WHERE p.request_id = r.id))
    $$;

CREATE FUNCTION stockking.goal_status(goal_id bigint) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'stockking_goal_status'
    LANGUAGE C STABLE STRICT;
REVOKE ALL ON FUNCTION stockking.goal_status(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION stockking.goal_status(bigint) TO stockking_definer;
COMMENT ON FUNCTION stockking.goal_status(bigint) IS
    'a goal measured now, by the same code that checks a request: {"measured_return_pct","target_rate","gain","met",'
    '"amount","requests_this_month","requested_this_month","pending_request_id","can_request","refusal"}';

CREATE FUNCTION stockking.goal_json(g stockking.allowance_goal) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
    SELECT jsonb_build_object(
        'id', g.id, 'child_id', g.child_id, 'child', (SELECT u.nickname FROM stockking.users u WHERE u.id = g.child_id),
        'season_id', g.season_id, 'account_id', g.account_id, 'rule', g.rule, 'title', g.title,
        'target_rate', trim_scale(g.target_rate), 'reward_amount', g.reward_amount,
        'conversion_ratio', trim_scale(g.conversion_ratio), 'conversion_cap', g.conversion_cap,
        'monthly_limit', g.monthly_limit, 'max_requests_per_month', g.max_requests_per_month, 'active', g.active,
        'currency', 'KRW', 'period_started_at', g.period_started_at, 'period_start_clock', g.period_start_clock,
        'created_by', g.created_by, 'created_at', g.created_at, 'updated_at', g.updated_at,
        'status', stockking.goal_status(g.id))
    $$;

-- The api (extension/allowance.c).

CREATE FUNCTION api.create_allowance_goal(args jsonb) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'stockking_create_allowance_goal'
    LANGUAGE C VOLATILE STRICT SECURITY DEFINER SET search_path = pg_catalog, stockking;
COMMENT ON FUNCTION api.create_allowance_goal(jsonb) IS
$$POST /v1/allowance/goals (PARENT): set an allowance goal for a child of the caller's family.
Args: {"child_id": uuid, "season_id": integer (optional: the child's default account), "rule": "TARGET_RETURN" (default) or
"CONVERSION", "target_rate": percent, up to 2 decimals (5 = +5%; required > 0 for TARGET_RETURN, optional minimum for
CONVERSION), "reward_amount": won (TARGET_RETURN), "conversion_ratio": 0 < r <= 1 (CONVERSION, default 0.1 = profit / 10),
"conversion_cap": won (CONVERSION), "monthly_limit": won, "max_requests_per_month": 1..100, "active": boolean (default
true), "title": text (optional, up to 100)}.  Measurement starts now: the child's time-weighted return (and, for CONVERSION,
profit) from the current valuation of the account.  Returns the goal with its "status" (see api.list_allowance_goals).
Event AllowanceGoalSet (FAMILY).
Errors: 22023 (400) missing or bad field (reward over the monthly limit, CONVERSION on a non-KRW season, ...); 22003 (400)
amount out of range; P0002 (404) no such child in the family; SK010 (404) the child has no account in the season;
42501 (403) not a PARENT; 28000 (401).$$;

CREATE FUNCTION api.update_allowance_goal(args jsonb) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'stockking_update_allowance_goal'
    LANGUAGE C VOLATILE STRICT SECURITY DEFINER SET search_path = pg_catalog, stockking;
COMMENT ON FUNCTION api.update_allowance_goal(jsonb) IS
$$PUT /v1/allowance/goals/:id (PARENT): change a goal.  Args: {"id", and any of "active", "target_rate", "reward_amount",
"conversion_ratio", "conversion_cap", "monthly_limit", "max_requests_per_month", "title"} with the rules of
api.create_allowance_goal; the measurement period is kept.  Returns the goal.  Event AllowanceGoalSet (FAMILY).
Errors: as api.create_allowance_goal; P0002 (404) no such goal in the caller's family.$$;

CREATE FUNCTION api.request_allowance(args jsonb) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'stockking_request_allowance'
    LANGUAGE C VOLATILE STRICT SECURITY DEFINER SET search_path = pg_catalog, stockking;
COMMENT ON FUNCTION api.request_allowance(jsonb) IS
$$POST /v1/allowance/requests (CHILD): ask for the allowance a met goal pays.  Args: {"goal_id", "note": text (optional,
up to 500)}.  Checks, in order: the goal is active (SK220), met (SK221: the message gives the measured and the target
return), fewer requests this month than max_requests_per_month (SK222), amount + this month's amounts within
monthly_limit (SK223), no other PENDING request on the goal (SK224); the month is the Asia/Seoul calendar month and
PENDING and APPROVED requests count.  Returns the request {"id","goal_id","amount" (won),"measured_return_pct",
"measured_gain","status": "PENDING",...}.  Event AllowanceRequested (PARENTS).
Errors: the SK22x above (409/422); P0002 (404) no such goal of the caller; 22023 (400); 28000 (401).$$;

CREATE FUNCTION api.approve_allowance_request(args jsonb) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'stockking_approve_allowance_request'
    LANGUAGE C VOLATILE STRICT SECURITY DEFINER SET search_path = pg_catalog, stockking;
COMMENT ON FUNCTION api.approve_allowance_request(jsonb) IS
$$PUT /v1/allowance/requests/:id/approve (PARENT of the child): approve a PENDING request.  Records one payment (PENDING)
and makes its first attempt through the payment provider at once: SUCCEEDED, or PENDING with a retry scheduled, or
FAILED.  The goal's measurement period starts again where the request measured.  Idempotent: approving an approved request
returns it, and its one payment, unchanged -- concurrent approvals wait for each other and pay once.
Returns the request with its "payment" {"status","paid","attempts","provider_ref","last_error","attempt_log",...}.
Events AllowanceApproved, then PaymentSucceeded or PaymentFailed (USER: the child).
Errors: P0002 (404) no such request in the caller's family; SK225 (409) rejected already; 42501 (403) not a PARENT.$$;

CREATE FUNCTION api.reject_allowance_request(args jsonb) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'stockking_reject_allowance_request'
    LANGUAGE C VOLATILE STRICT SECURITY DEFINER SET search_path = pg_catalog, stockking;
COMMENT ON FUNCTION api.reject_allowance_request(jsonb) IS
$$PUT /v1/allowance/requests/:id/reject {"reason": text (1..500)} (PARENT of the child): reject a PENDING request.
Idempotent: rejecting a rejected request returns it unchanged.  Returns the request.  Event AllowanceRejected (USER).
Errors: 22023 (400) missing reason; P0002 (404); SK225 (409) approved already; 42501 (403) not a PARENT.$$;

CREATE FUNCTION api.retry_allowance_payment(args jsonb) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'stockking_retry_allowance_payment'
    LANGUAGE C VOLATILE STRICT SECURITY DEFINER SET search_path = pg_catalog, stockking;
COMMENT ON FUNCTION api.retry_allowance_payment(jsonb) IS
$$POST /v1/allowance/payments/:id/retry (PARENT of the child): try a FAILED payment again now (it becomes PENDING with three
more automatic attempts).  The same idempotency key is sent, so money is never paid twice.  Returns the request with its
payment.  Events PaymentSucceeded or PaymentFailed (USER).
Errors: P0002 (404) no such payment in the caller's family; SK226 (409) the payment is not FAILED; 42501 (403).$$;

CREATE FUNCTION stockking.retry_payments(max_payments integer DEFAULT 100) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'stockking_retry_payments'
    LANGUAGE C VOLATILE;
REVOKE ALL ON FUNCTION stockking.retry_payments(integer) FROM PUBLIC;
COMMENT ON FUNCTION stockking.retry_payments(integer) IS
    'job: one more attempt for each PENDING payment whose next attempt is due (oldest first, at most max_payments, '
    'skipping payments another session holds); returns {"attempted","succeeded","failed","pending"}';

CREATE FUNCTION api.list_allowance_goals(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v_child uuid;
BEGIN
    PERFORM stockking.require_user();
    IF args ? 'child_id' THEN
        v_child := stockking.child_arg(args);
    END IF;
    RETURN jsonb_build_object('items', (
        SELECT coalesce(jsonb_agg(stockking.goal_json(g) ORDER BY g.id), '[]')
          FROM stockking.allowance_goal g WHERE v_child IS NULL OR g.child_id = v_child));
END
$$;
COMMENT ON FUNCTION api.list_allowance_goals(jsonb) IS
$$GET /v1/allowance/goals?child_id=: goals -- a child's own, a parent's family's (optionally of one child).  Each goal with
"status": {"measured_return_pct" (time-weighted, since the period started), "gain" (game profit since then, minor units of
the account), "met", "amount" (won a request would ask now), "requests_this_month", "requested_this_month" (won),
"pending_request_id", "can_request", "refusal" {"code","message"} or null}.
Errors: 22023 (400) malformed child_id; P0002 (404) child not visible; 28000 (401).$$;

CREATE FUNCTION api.allowance_history(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v_child  uuid;
    v_limit  bigint := coalesce(stockking.arg_bigint(args, 'limit', false), 20);
    v_before bigint := stockking.arg_bigint(args, 'before', false);
    v_items  jsonb;
    v_last   bigint;
    v_count  integer;
BEGIN
    PERFORM stockking.require_user();
    IF args ? 'child_id' THEN
        v_child := stockking.child_arg(args);
    END IF;
    IF v_limit NOT BETWEEN 1 AND 100 THEN
        RAISE EXCEPTION 'field "limit" must be between 1 and 100' USING ERRCODE = '22023';
    END IF;
    SELECT coalesce(jsonb_agg(stockking.allowance_request_json(r) ORDER BY r.id DESC), '[]'), min(r.id), count(*)
      INTO v_items, v_last, v_count
      FROM (SELECT * FROM stockking.allowance_request
             WHERE (v_child IS NULL OR child_id = v_child) AND (v_before IS NULL OR id < v_before)
             ORDER BY id DESC LIMIT v_limit) r;
    RETURN jsonb_build_object(
        'items', v_items, 'next_before', CASE WHEN v_count = v_limit THEN v_last END,
        'paid_total', (SELECT coalesce(sum(p.amount), 0) FROM stockking.payment p
                        WHERE p.status = 'SUCCEEDED' AND (v_child IS NULL OR p.child_id = v_child)));
END
$$;
COMMENT ON FUNCTION api.allowance_history(jsonb) IS
$$GET /v1/allowance/history?child_id=&limit=&before=: requests, newest first, each with its decision and its payment
(status, attempts and their outcomes) -- a child's own, a parent's family's.  Returns {"items": [request...],
"next_before", "paid_total" (won, SUCCEEDED payments only: a failed or pending payment is never counted as paid)}.
Errors: 22023 (400); P0002 (404) child not visible; 28000 (401).$$;

ALTER FUNCTION api.create_allowance_goal(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.update_allowance_goal(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.request_allowance(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.approve_allowance_request(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.reject_allowance_request(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.retry_allowance_payment(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.list_allowance_goals(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.allowance_history(jsonb) OWNER TO stockking_definer;

INSERT INTO stockking.route (method, path, fn, roles, read_only, success_status, token, summary) VALUES
    ('POST', '/v1/allowance/goals', 'create_allowance_goal', '{PARENT}', false, 201, 'none', 'Set an allowance goal for a child'),
    ('GET', '/v1/allowance/goals', 'list_allowance_goals', '{}', true, 200, 'none', 'Allowance goals and how far each is'),
    ('PUT', '/v1/allowance/goals/:id', 'update_allowance_goal', '{PARENT}', false, 200, 'none', 'Change or switch off a goal'),
    ('POST', '/v1/allowance/requests', 'request_allowance', '{CHILD}', false, 201, 'none', 'Ask for the allowance of a met goal'),
    ('PUT', '/v1/allowance/requests/:id/approve', 'approve_allowance_request', '{PARENT}', false, 200, 'none',
     'Approve a request: the allowance is paid'),
    ('PUT', '/v1/allowance/requests/:id/reject', 'reject_allowance_request', '{PARENT}', false, 200, 'none',
     'Reject a request with a reason'),
    ('POST', '/v1/allowance/payments/:id/retry', 'retry_allowance_payment', '{PARENT}', false, 200, 'none',
     'Retry a failed payment'),
    ('GET', '/v1/allowance/history', 'allowance_history', '{}', true, 200, 'none', 'Requests, decisions and payments');
