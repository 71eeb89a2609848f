-- Families: link codes, linking a parent to a child (families merge), the
-- family's settings, parent approval of trades, parents' read-only views of
-- their children's accounts, and the notifications read API over the outbox.
--
-- C: extension/family.c.  Project SQLSTATEs SK201..SK211 (HTTP status in
-- stockking.error_code below; the C names in extension/family.h).

INSERT INTO stockking.error_code VALUES
    ('SK201', 404, 'link_code_unknown', 'no child has this family link code'),
    ('SK202', 409, 'already_linked', 'the parent and the child are in one family already'),
    ('SK210', 422, 'trade_approval_required',
     'the family requires a parent''s approval of trades: send the order with a written "reason"'),
    ('SK211', 409, 'trade_request_decided', 'the trade request was approved or rejected already');

-- A parent of the row's family (read and decide), or ADMIN.
CREATE FUNCTION stockking.is_family_parent(row_family uuid) RETURNS boolean
    LANGUAGE sql STABLE
    AS $$
    SELECT (SELECT stockking.is_admin())
        OR ((SELECT stockking.is_parent()) AND row_family = (SELECT stockking.my_family()))
    $$;
COMMENT ON FUNCTION stockking.is_family_parent(uuid) IS
    'row-level security: a PARENT of the row''s family, or ADMIN (who may decide on a child''s requests)';

-- Asia/Seoul calendar helpers: the day, the week (Monday) and the month a
-- moment falls in, and the moment such a period starts.
CREATE FUNCTION stockking.seoul_day(ts timestamptz) RETURNS date
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT (ts AT TIME ZONE 'Asia/Seoul')::date $$;
CREATE FUNCTION stockking.seoul_week(ts timestamptz) RETURNS date
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT date_trunc('week', ts AT TIME ZONE 'Asia/Seoul')::date $$;
CREATE FUNCTION stockking.seoul_month(ts timestamptz) RETURNS date
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT date_trunc('month', ts AT TIME ZONE 'Asia/Seoul')::date $$;
CREATE FUNCTION stockking.seoul_start(d date) RETURNS timestamptz
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT d::timestamp AT TIME ZONE 'Asia/Seoul' $$;
COMMENT ON FUNCTION stockking.seoul_week(timestamptz) IS 'the Monday of the Asia/Seoul week of a moment';
COMMENT ON FUNCTION stockking.seoul_start(date) IS 'the moment an Asia/Seoul calendar day starts (00:00 KST)';

-- Link codes.  Every child has one from sign-up (a trigger on users); it
-- shows on the child's profile, stays valid for further parents, and the
-- child may replace it.  8 characters of an alphabet without 0/O/1/I: 40
-- random bits from pg_strong_random (extension/family.c).
CREATE TABLE stockking.link_code (
    user_id    uuid PRIMARY KEY,
    family_id  uuid NOT NULL,
    code       text NOT NULL UNIQUE CHECK (code ~ '^[A-HJ-NP-Z2-9]{8}$'),
    created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE stockking.link_code IS 'a child''s family link code: a parent who enters it joins the child''s family';

CREATE FUNCTION stockking.new_link_code() RETURNS text
    AS 'MODULE_PATHNAME', 'stockking_new_link_code'
    LANGUAGE C VOLATILE;
COMMENT ON FUNCTION stockking.new_link_code() IS
    'a random link code: 8 characters of ABCDEFGHJKLMNPQRSTUVWXYZ23456789 (40 bits from pg_strong_random)';

CREATE FUNCTION stockking.issue_link_code(p_user uuid, p_family uuid) RETURNS text
    LANGUAGE plpgsql VOLATILE
    AS $$
DECLARE
    c text;
BEGIN
    LOOP
        c := stockking.new_link_code();
        BEGIN
            INSERT INTO stockking.link_code (user_id, family_id, code) VALUES (p_user, p_family, c)
                ON CONFLICT (user_id) DO UPDATE SET code = EXCLUDED.code, created_at = now();
            RETURN c;
        EXCEPTION WHEN unique_violation THEN
            -- another child has this code (1 in 2^40 per existing code): draw again
        END;
    END LOOP;
END
$$;
REVOKE ALL ON FUNCTION stockking.issue_link_code(uuid, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION stockking.issue_link_code(uuid, uuid) TO stockking_definer;

CREATE FUNCTION stockking.child_link_code() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    PERFORM stockking.issue_link_code(NEW.id, NEW.family_id);
    RETURN NULL;
END
$$;
-- (not while a dump is restored: the dump holds the codes)
CREATE TRIGGER child_link_code AFTER INSERT ON stockking.users
    FOR EACH ROW WHEN (NEW.role = 'CHILD' AND NOT stockking.restoring()) EXECUTE FUNCTION stockking.child_link_code();
-- children who signed up before this (an upgraded database)
DO $$
BEGIN
    PERFORM stockking.issue_link_code(u.id, u.family_id)
       FROM stockking.users u
      WHERE u.role = 'CHILD' AND NOT EXISTS (SELECT 1 FROM stockking.link_code l WHERE l.user_id = u.id);
END
$$;

-- A family's settings (one row per family, absent = defaults).
CREATE TABLE stockking.family_setting (
    family_id      uuid PRIMARY KEY,
    trade_approval boolean NOT NULL DEFAULT false,
    updated_by     uuid,
    updated_at     timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE stockking.family_setting IS
    'a family''s settings: trade_approval = a child''s orders become requests a parent approves or rejects';

-- Parent approval of trades: an order of a child in a family with
-- trade_approval on is kept here (PENDING) instead of being placed; a parent
-- approves (the order is placed then, as the child) or rejects it.
CREATE TABLE stockking.trade_request (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    family_id       uuid NOT NULL,
    user_id         uuid NOT NULL,
    account_id      bigint NOT NULL,
    season_id       integer NOT NULL,
    order_args      jsonb NOT NULL,
    symbol          text NOT NULL,
    side            text NOT NULL,
    order_type      text NOT NULL,
    quantity        bigint NOT NULL,
    limit_price     numeric(20, 6),
    client_order_id text,
    reason          text NOT NULL CHECK (length(reason) BETWEEN 1 AND 500),
    status          text NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'APPROVED', 'REJECTED')),
    decided_by      uuid,
    decided_at      timestamptz,
    decision_note   text,
    order_id        bigint,
    order_error     text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CHECK ((status = 'PENDING') = (decided_at IS NULL))
);
CREATE INDEX trade_request_family ON stockking.trade_request (family_id, id);
CREATE INDEX trade_request_user ON stockking.trade_request (user_id, id);
CREATE UNIQUE INDEX trade_request_client_id ON stockking.trade_request (user_id, client_order_id)
    WHERE client_order_id IS NOT NULL;
COMMENT ON TABLE stockking.trade_request IS
    'a child''s order waiting for a parent (trade approval on): order_args is the order as sent; on approval the order is placed and order_id set, or order_error says why the market refused it';

-- Read cursors of the notifications API: the last outbox seq a user has seen.
CREATE TABLE stockking.event_cursor (
    user_id       uuid PRIMARY KEY,
    family_id     uuid NOT NULL,
    last_event_id bigint NOT NULL DEFAULT 0,
    updated_at    timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE stockking.event_cursor IS
    'the last outbox seq (commit order) a user acknowledged (POST /v1/notifications/ack): where their notifications resume';

ALTER TABLE stockking.link_code ENABLE ROW LEVEL SECURITY;
ALTER TABLE stockking.family_setting ENABLE ROW LEVEL SECURITY;
ALTER TABLE stockking.trade_request ENABLE ROW LEVEL SECURITY;
ALTER TABLE stockking.event_cursor ENABLE ROW LEVEL SECURITY;
CREATE POLICY link_code_read ON stockking.link_code FOR SELECT USING (stockking.can_read(family_id, user_id));
CREATE POLICY link_code_write ON stockking.link_code FOR ALL USING (stockking.can_write(user_id))
    WITH CHECK (stockking.can_write(user_id));
CREATE POLICY family_setting_read ON stockking.family_setting FOR SELECT
    USING (family_id = (SELECT stockking.my_family()) OR (SELECT stockking.is_admin()));
CREATE POLICY family_setting_write ON stockking.family_setting FOR ALL USING (stockking.is_family_parent(family_id))
    WITH CHECK (stockking.is_family_parent(family_id));
CREATE POLICY trade_request_read ON stockking.trade_request FOR SELECT USING (stockking.can_read(family_id, user_id));
CREATE POLICY trade_request_insert ON stockking.trade_request FOR INSERT WITH CHECK (stockking.can_write(user_id));
CREATE POLICY trade_request_decide ON stockking.trade_request FOR UPDATE USING (stockking.is_family_parent(family_id));
CREATE POLICY event_cursor_own ON stockking.event_cursor FOR ALL USING (stockking.can_write(user_id))
    WITH CHECK (stockking.can_write(user_id));
GRANT SELECT, INSERT, UPDATE ON stockking.link_code, stockking.family_setting, stockking.trade_request,
    stockking.event_cursor TO stockking_definer;

-- JSON shapes.

CREATE FUNCTION stockking.trade_request_json(t stockking.trade_request) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
    SELECT jsonb_build_object(
        'id', t.id, 'child_id', t.user_id, 'child', (SELECT u.nickname FROM stockking.users u WHERE u.id = t.user_id),
        'account_id', t.account_id, 'season_id', t.season_id,
        'symbol', t.symbol, 'side', t.side, 'type', t.order_type, 'quantity', t.quantity,
        'limit_price', trim_scale(t.limit_price), 'time_in_force', t.order_args ->> 'time_in_force',
        'client_order_id', t.client_order_id, 'reason', t.reason, 'status', t.status,
        'decided_by', t.decided_by, 'decided_at', t.decided_at, 'decision_note', t.decision_note,
        'order_id', t.order_id, 'order_error', t.order_error, 'created_at', t.created_at,
        'order', (SELECT stockking.order_json(o) FROM stockking.orders o WHERE o.id = t.order_id))
    $$;

CREATE FUNCTION stockking.member_json(u stockking.users) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
    SELECT jsonb_build_object('id', u.id, 'nickname', u.nickname, 'role', u.role, 'joined_at', u.created_at,
                              'link_code', (SELECT l.code FROM stockking.link_code l WHERE l.user_id = u.id))
    $$;

-- Linking (extension/family.c).  Owned by stockking_system (sql/98_system.sql):
-- the parent cannot see the child's family before the link.  The merge moves
-- the rows of the tables stockking.family_tables() lists, the append-only
-- cash ledger's too (its guard lets exactly that change through).
CREATE FUNCTION stockking.family_tables() RETURNS SETOF text
    AS 'MODULE_PATHNAME', 'stockking_family_tables' LANGUAGE C IMMUTABLE;
COMMENT ON FUNCTION stockking.family_tables() IS
    'the tables of schema stockking whose family_id a family merge (api.link_family) moves';

CREATE FUNCTION api.link_family(args jsonb) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'stockking_link_family'
    LANGUAGE C VOLATILE STRICT SECURITY DEFINER SET search_path = pg_catalog, stockking;
COMMENT ON FUNCTION api.link_family(jsonb) IS
$$POST /v1/auth/link-family {"code": a child's link code (case and dashes ignored)}: the calling PARENT joins the child's family.
The two families merge in one transaction: every row of the smaller family (fewer members; a tie keeps the child's) moves
to the other -- the family_id of every table stockking.family_tables() lists -- and the emptied family is deleted; trade
approval stays on if either family had it.  Returns {"family_id", "members": [{"id","nickname","role","joined_at","link_code"}]}.
Event FamilyLinked (FAMILY).
Errors: 22023 (400) missing or malformed code; SK201 (404) no child has this code; SK202 (409) already one family;
42501 (403) the caller is not a PARENT; 28000 (401).$$;

CREATE FUNCTION api.get_family(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v_user   uuid := stockking.require_user();
    v_family uuid := stockking.my_family();
BEGIN
    RETURN jsonb_build_object(
        'family_id', v_family,
        'members', (SELECT coalesce(jsonb_agg(stockking.member_json(u) ORDER BY u.role DESC, u.created_at, u.id), '[]')
                      FROM stockking.users u
                     WHERE u.family_id = v_family),
        'settings', jsonb_build_object('trade_approval',
                      coalesce((SELECT s.trade_approval FROM stockking.family_setting s WHERE s.family_id = v_family), false)));
END
$$;
COMMENT ON FUNCTION api.get_family(jsonb) IS
$$GET /v1/family: the caller's family.  Returns {"family_id", "members": [{"id","nickname","role","joined_at","link_code"}],
"settings": {"trade_approval"}}.  Row-level security decides who is listed: a parent sees every member and the children's
link codes; a child sees themselves (and their own link code) only.  Errors: 28000 (401).$$;

CREATE FUNCTION api.update_family_settings(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v_user   uuid := stockking.require_user();
    v_family uuid := stockking.my_family();
    v_on     boolean;
BEGIN
    IF NOT stockking.is_parent() THEN
        RAISE EXCEPTION 'only a parent may change the family''s settings' USING ERRCODE = '42501';
    END IF;
    v_on := stockking.arg_bool(args, 'trade_approval');
    INSERT INTO stockking.family_setting (family_id, trade_approval, updated_by)
        VALUES (v_family, v_on, v_user)
        ON CONFLICT (family_id) DO UPDATE SET trade_approval = EXCLUDED.trade_approval,
                                              updated_by = EXCLUDED.updated_by, updated_at = now();
    PERFORM stockking.emit_event(v_user, v_family, 'FAMILY', 'FamilySettingsChanged',
                                 jsonb_build_object('trade_approval', v_on));
    RETURN jsonb_build_object('family_id', v_family, 'settings', jsonb_build_object('trade_approval', v_on));
END
$$;
COMMENT ON FUNCTION api.update_family_settings(jsonb) IS
$$PUT /v1/family/settings {"trade_approval": true|false} (PARENT): with trade approval on, a child's order becomes a request
(with a written reason) that a parent approves or rejects.  Returns {"family_id","settings":{"trade_approval"}}.
Event FamilySettingsChanged (FAMILY).  Errors: 22023 (400) missing or not a boolean; 42501 (403) not a PARENT; 28000 (401).$$;

CREATE FUNCTION api.rotate_link_code(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    u stockking.users;
BEGIN
    SELECT * INTO u FROM stockking.users WHERE id = stockking.require_user();
    IF u.role IS DISTINCT FROM 'CHILD' THEN
        RAISE EXCEPTION 'only a child has a link code' USING ERRCODE = 'SK009';
    END IF;
    RETURN jsonb_build_object('link_code', stockking.issue_link_code(u.id, u.family_id));
END
$$;
COMMENT ON FUNCTION api.rotate_link_code(jsonb) IS
$$POST /v1/family/link-code (CHILD): replace the caller's link code by a new one (the old one stops working).
Returns {"link_code"}.  Errors: SK009 (403) not a CHILD; 28000 (401).$$;

-- Parent approval of trades (extension/family.c).  The gate is called by
-- api.place_order (extension/trade.c) before anything else is done.
CREATE FUNCTION stockking.trade_approval_gate(args jsonb, account_id bigint, season_id integer, family_id uuid)
    RETURNS jsonb
    AS 'MODULE_PATHNAME', 'stockking_trade_approval_gate'
    LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION stockking.trade_approval_gate(jsonb, bigint, integer, uuid) IS
    'called by api.place_order once the order is checked (account, season open, symbol, lot, tick) and its account '
    'locked: NULL to go on placing it, or the answer to return instead -- the trade request it recorded (trade approval '
    'on in the caller''s family); SK210 when the order has no "reason"';

CREATE FUNCTION api.approve_trade_request(args jsonb) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'stockking_approve_trade_request'
    LANGUAGE C VOLATILE STRICT SECURITY DEFINER SET search_path = pg_catalog, stockking;
COMMENT ON FUNCTION api.approve_trade_request(jsonb) IS
$$PUT /v1/family/trade-requests/:id/approve {"note": text (optional)} (PARENT of the child): place the requested order, as the
child, now.  When the market refuses it (funds, holding, price, season) the request is REJECTED with order_error
"SQLSTATE: message" instead.  Idempotent: approving an approved request returns it unchanged.
Returns the trade request {"id","child_id","symbol","side","type","quantity","limit_price","reason","status","order_id",
"order_error","order": {...the order...},...}.  Events TradeRequestApproved or TradeRequestRejected (USER: the child).
Errors: P0002 (404) no such request in the caller's family; SK211 (409) rejected already; 42501 (403) not a PARENT.$$;

CREATE FUNCTION api.reject_trade_request(args jsonb) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'stockking_reject_trade_request'
    LANGUAGE C VOLATILE STRICT SECURITY DEFINER SET search_path = pg_catalog, stockking;
COMMENT ON FUNCTION api.reject_trade_request(jsonb) IS
$$PUT /v1/family/trade-requests/:id/reject {"reason": text (optional, up to 500)} (PARENT of the child): decline the order;
nothing is placed.  Idempotent: rejecting a rejected request returns it unchanged.  Returns the trade request.
Event TradeRequestRejected (USER: the child).
Errors: P0002 (404) no such request in the caller's family; SK211 (409) approved already; 42501 (403) not a PARENT.$$;

CREATE FUNCTION api.list_trade_requests(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v_status text := upper(stockking.arg_text(args, 'status', false));
    v_limit  bigint := coalesce(stockking.arg_bigint(args, 'limit', false), 50);
BEGIN
    PERFORM stockking.require_user();
    IF v_status NOT IN ('PENDING', 'APPROVED', 'REJECTED') THEN
        RAISE EXCEPTION 'field "status" must be PENDING, APPROVED or REJECTED' USING ERRCODE = '22023';
    END IF;
    IF v_limit NOT BETWEEN 1 AND 100 THEN
        RAISE EXCEPTION 'field "limit" must be between 1 and 100' USING ERRCODE = '22023';
    END IF;
    RETURN jsonb_build_object('items', (
        SELECT coalesce(jsonb_agg(stockking.trade_request_json(t) ORDER BY t.id DESC), '[]')
          FROM (SELECT * FROM stockking.trade_request
                 WHERE v_status IS NULL OR status = v_status ORDER BY id DESC LIMIT v_limit) t));
END
$$;
COMMENT ON FUNCTION api.list_trade_requests(jsonb) IS
$$GET /v1/family/trade-requests?status=&limit=: trade requests, newest first -- a child's own, a parent's family's.
Args: {"status": PENDING|APPROVED|REJECTED (optional), "limit": 1..100 (default 50)}.  Returns {"items": [trade request...]}.
Errors: 22023 (400) bad status or limit; 28000 (401).$$;

-- Parents' read-only views of a child's account: the child's own api
-- function, run with the child as the request's user once row-level
-- security has shown the caller the child (a parent of the family, ADMIN,
-- or the child).  Only the read functions listed here can be reached.
CREATE FUNCTION stockking.child_arg(args jsonb) RETURNS uuid
    LANGUAGE plpgsql STABLE
    AS $$
DECLARE
    v_text  text := stockking.arg_text(args, 'child_id');
    v_child uuid;
BEGIN
    PERFORM stockking.require_user();
    IF v_text !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN
        RAISE EXCEPTION 'field "child_id" must be a user id (uuid)' USING ERRCODE = '22023';
    END IF;
    -- row-level security on users: the child, a parent of the family, or ADMIN
    SELECT u.id INTO v_child FROM stockking.users u WHERE u.id = v_text::uuid AND u.role = 'CHILD';
    IF v_child IS NULL THEN
        RAISE EXCEPTION 'child % not found', v_text USING ERRCODE = 'P0002';
    END IF;
    RETURN v_child;
END
$$;
COMMENT ON FUNCTION stockking.child_arg(jsonb) IS
    'args.child_id as a CHILD the caller may read (themselves, a parent of the family, ADMIN); 22023 malformed, P0002 otherwise';

CREATE FUNCTION stockking.read_as_child(args jsonb, fn text) RETURNS jsonb
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
REVOKE ALL ON FUNCTION stockking.read_as_child(jsonb, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION stockking.read_as_child(jsonb, text) TO stockking_definer;

CREATE FUNCTION api.get_child_portfolio(args jsonb) RETURNS jsonb
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$ SELECT stockking.read_as_child(args, 'get_portfolio') $$;
COMMENT ON FUNCTION api.get_child_portfolio(jsonb) IS
$$GET /v1/family/children/:child_id/portfolio?season_id=: a child's portfolio as api.get_portfolio shows it to the child,
plus "child_id"; for a parent of the child's family or ADMIN (read-only).
Errors: 22023 (400) malformed child_id; P0002 (404) no such child visible to the caller; SK010 (404) the child has no account
in the season; 28000 (401).$$;

CREATE FUNCTION api.get_child_holdings(args jsonb) RETURNS jsonb
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$ SELECT stockking.read_as_child(args, 'get_holdings') $$;
COMMENT ON FUNCTION api.get_child_holdings(jsonb) IS
$$GET /v1/family/children/:child_id/holdings?season_id=: a child's positions (api.get_holdings) for a parent.  Errors as
api.get_child_portfolio.$$;

CREATE FUNCTION api.list_child_history(args jsonb) RETURNS jsonb
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$ SELECT stockking.read_as_child(args, 'list_history') $$;
COMMENT ON FUNCTION api.list_child_history(jsonb) IS
$$GET /v1/family/children/:child_id/orders?season_id=&limit=&before=: a child's orders and fills (api.list_history) for a
parent.  Errors as api.get_child_portfolio, and 22023 (400) bad limit or before.$$;

-- Notifications: the outbox read back by its recipients, in commit order
-- (outbox.seq, sql/25_sessions.sql).  Besides the event stream of the
-- proxy (GET /v1/events) this serves clients that poll, and an "unread"
-- cursor per user (POST /v1/notifications/ack).
CREATE FUNCTION stockking.events_for_caller(after_seq bigint, lim integer) RETURNS SETOF stockking.outbox
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
BEGIN
    RETURN QUERY
        SELECT o.* FROM stockking.outbox o
         WHERE o.seq > after_seq
           AND ((o.user_id = stockking.uid() AND o.audience IN ('USER', 'FAMILY'))
                OR (stockking.is_parent() AND o.family_id = stockking.my_family() AND o.audience IN ('PARENTS', 'FAMILY')))
         ORDER BY o.seq
         LIMIT lim;
END
$$;
REVOKE ALL ON FUNCTION stockking.events_for_caller(bigint, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION stockking.events_for_caller(bigint, integer) TO stockking_definer;
COMMENT ON FUNCTION stockking.events_for_caller(bigint, integer) IS
    'outbox events addressed to the caller after a seq, in commit order: their own USER and FAMILY events, and for a PARENT the family''s PARENTS and FAMILY events';

CREATE FUNCTION api.list_notifications(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v_user  uuid := stockking.require_user();
    v_after bigint := stockking.arg_bigint(args, 'after', false);
    v_limit bigint := coalesce(stockking.arg_bigint(args, 'limit', false), 50);
    v_items jsonb;
    v_last  bigint;
BEGIN
    IF v_limit NOT BETWEEN 1 AND 200 THEN
        RAISE EXCEPTION 'field "limit" must be between 1 and 200' USING ERRCODE = '22023';
    END IF;
    IF v_after IS NULL THEN
        v_after := coalesce((SELECT c.last_event_id FROM stockking.event_cursor c WHERE c.user_id = v_user), 0);
    ELSIF v_after < 0 THEN
        RAISE EXCEPTION 'field "after" must not be negative' USING ERRCODE = '22023';
    END IF;
    SELECT coalesce(jsonb_agg(jsonb_build_object('seq', e.seq, 'id', e.id, 'type', e.event_type, 'audience', e.audience,
                                                 'user_id', e.user_id, 'payload', e.payload, 'created_at', e.created_at)
                              ORDER BY e.seq), '[]'), max(e.seq)
      INTO v_items, v_last
      FROM stockking.events_for_caller(v_after, v_limit::integer) e;
    RETURN jsonb_build_object('items', v_items, 'after', v_after, 'last_seq', coalesce(v_last, v_after));
END
$$;
COMMENT ON FUNCTION api.list_notifications(jsonb) IS
$$GET /v1/notifications?after=&limit=: the caller's events from the outbox in commit order: their own (audience USER or FAMILY)
and, for a parent, the family's PARENTS and FAMILY events.  Args: {"after": seq (default: the caller's acknowledged seq),
"limit": 1..200 (default 50)}.  Returns {"items": [{"seq","id","type","audience","user_id" (whom it is about),"payload",
"created_at"}], "after", "last_seq"} -- pass last_seq as "after" for the next page.  The same events as GET /v1/events.
Errors: 22023 (400); 28000 (401).$$;

CREATE FUNCTION api.ack_notifications(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v_user uuid := stockking.require_user();
    v_last bigint := stockking.arg_bigint(args, 'last_seq');
    v_now  bigint;
BEGIN
    IF v_last < 0 THEN
        RAISE EXCEPTION 'field "last_seq" must not be negative' USING ERRCODE = '22023';
    END IF;
    INSERT INTO stockking.event_cursor (user_id, family_id, last_event_id)
        VALUES (v_user, stockking.my_family(), v_last)
        ON CONFLICT (user_id) DO UPDATE
            SET last_event_id = greatest(event_cursor.last_event_id, EXCLUDED.last_event_id), updated_at = now()
        RETURNING last_event_id INTO v_now;
    RETURN jsonb_build_object('last_seq', v_now);
END
$$;
COMMENT ON FUNCTION api.ack_notifications(jsonb) IS
$$POST /v1/notifications/ack {"last_seq": seq}: the caller has seen every event up to last_seq (the cursor only moves forward;
GET /v1/notifications without "after" resumes there).  Returns {"last_seq"} (the cursor).  Errors: 22023 (400); 28000 (401).$$;

ALTER FUNCTION api.get_family(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.update_family_settings(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.rotate_link_code(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.approve_trade_request(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.reject_trade_request(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.list_trade_requests(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.get_child_portfolio(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.get_child_holdings(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.list_child_history(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.list_notifications(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.ack_notifications(jsonb) OWNER TO stockking_definer;

INSERT INTO stockking.route (method, path, fn, roles, read_only, success_status, token, summary) VALUES
    ('POST', '/v1/auth/link-family', 'link_family', '{PARENT}', false, 200, 'none',
     'Join a child''s family with the child''s link code'),
    ('GET', '/v1/family', 'get_family', '{}', true, 200, 'none', 'The caller''s family, members and settings'),
    ('PUT', '/v1/family/settings', 'update_family_settings', '{PARENT}', false, 200, 'none',
     'Turn parent approval of trades on or off'),
    ('POST', '/v1/family/link-code', 'rotate_link_code', '{CHILD}', false, 200, 'none', 'Replace the caller''s link code'),
    ('GET', '/v1/family/trade-requests', 'list_trade_requests', '{}', true, 200, 'none',
     'Orders waiting for (or decided by) a parent'),
    ('PUT', '/v1/family/trade-requests/:id/approve', 'approve_trade_request', '{PARENT}', false, 200, 'none',
     'Approve a child''s order: it is placed now'),
    ('PUT', '/v1/family/trade-requests/:id/reject', 'reject_trade_request', '{PARENT}', false, 200, 'none',
     'Decline a child''s order'),
    ('GET', '/v1/family/children/:child_id/portfolio', 'get_child_portfolio', '{PARENT,ADMIN}', true, 200, 'none',
     'A child''s portfolio (read-only)'),
    ('GET', '/v1/family/children/:child_id/holdings', 'get_child_holdings', '{PARENT,ADMIN}', true, 200, 'none',
     'A child''s positions (read-only)'),
    ('GET', '/v1/family/children/:child_id/orders', 'list_child_history', '{PARENT,ADMIN}', true, 200, 'none',
     'A child''s orders and fills (read-only)'),
    ('GET', '/v1/notifications', 'list_notifications', '{}', true, 200, 'none', 'The caller''s events from the outbox'),
    ('POST', '/v1/notifications/ack', 'ack_notifications', '{}', false, 200, 'none', 'Mark events as seen');
