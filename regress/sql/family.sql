-- Each suite of this issue runs in a database of its own, made here and
-- dropped at the end, so that it neither sees nor leaves rows, sequence
-- values or clocks the other suites (market, trading) depend on.
SET client_min_messages = warning;
SELECT current_database() AS regress_db \gset
DROP DATABASE IF EXISTS regress_sk_family;
CREATE DATABASE regress_sk_family;
\c regress_sk_family
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
-- Families: link codes, linking (families merge), several parents, parents'
-- read-only views, parent approval of trades, the notifications api; every
-- refusal with its SQLSTATE.
SELECT signup('kid.a@example.com', 'CHILD', '민준');
SELECT signup('kid.b@example.com', 'CHILD', '서연');
SELECT signup('mom@example.com', 'PARENT', '엄마');
SELECT signup('dad@example.com', 'PARENT', '아빠');
SELECT signup('other.mom@example.com', 'PARENT', '이모');
SELECT try($$SELECT api.join_season(jsonb_build_object('id', replay()))$$) FROM (SELECT as_user('kid.a@example.com')) x;
SELECT count(DISTINCT family_id) AS families FROM stockking.users;

-- every child has a link code from sign-up; parents have none
SELECT u.role, count(l.code) AS codes, bool_and(l.code ~ '^[A-HJ-NP-Z2-9]{8}$') AS well_formed
  FROM stockking.users u LEFT JOIN stockking.link_code l ON l.user_id = u.id GROUP BY u.role ORDER BY u.role;
SELECT code AS kid_a_code FROM stockking.link_code WHERE user_id = uid_of('kid.a@example.com') \gset
SELECT family_id AS kid_a_family FROM stockking.users WHERE email = 'kid.a@example.com' \gset
SELECT family_id AS mom_family FROM stockking.users WHERE email = 'mom@example.com' \gset

SET SESSION AUTHORIZATION regress_sk_web;
-- the child sees its code on its profile; a parent of another family does not see the child at all
SELECT as_user('kid.a@example.com');
SELECT r ->> 'link_code' = :'kid_a_code' AS code_on_profile, r ->> 'level' AS level, r -> 'badges' AS badges
  FROM api.get_profile('{"id": "me"}') r;
SELECT as_user('mom@example.com');
SELECT try(format('SELECT api.get_profile(''{"id": "%s"}'')', uid_of('kid.a@example.com')));
SELECT try('SELECT api.get_profile(''{"id": "nobody"}'')');

-- linking: refusals
SELECT as_user('kid.b@example.com');
SELECT try(format('SELECT api.link_family(''{"code": "%s"}'')', :'kid_a_code'));
SELECT as_user('mom@example.com');
SELECT try('SELECT api.link_family(''{}'')');
SELECT try('SELECT api.link_family(''{"code": "ABC"}'')');
SELECT try('SELECT api.link_family(''{"code": "0OIL0OIL"}'')');
SELECT try('SELECT api.link_family(''{"code": ["x"]}'')');
SELECT try('SELECT api.link_family(''{"code": "AAAA-AAAA"}'')');

-- mom links with the code as typed (lower case, a dash): the two families merge
SELECT jsonb_array_length(r -> 'members') AS members,
       (SELECT array_agg(m ->> 'role' ORDER BY m ->> 'role') FROM jsonb_array_elements(r -> 'members') m) AS roles,
       r ->> 'family_id' = :'kid_a_family' AS kept_the_childs_family
  FROM api.link_family(jsonb_build_object('code', lower(left(:'kid_a_code', 4) || '-' || right(:'kid_a_code', 4)))) r;
SELECT try(format('SELECT api.link_family(''{"code": "%s"}'')', :'kid_a_code'));
-- dad links too: several parents
SELECT as_user('dad@example.com');
SELECT jsonb_array_length(api.link_family(jsonb_build_object('code', :'kid_a_code')) -> 'members') AS members;
RESET SESSION AUTHORIZATION;
-- the emptied families are gone; no row of any table is left in them
SELECT count(*) AS families FROM stockking.family;
SELECT count(*) FILTER (WHERE family_id = :'kid_a_family') AS in_family, count(*) AS users
  FROM stockking.users WHERE email IN ('kid.a@example.com', 'mom@example.com', 'dad@example.com');
SELECT (SELECT count(*) FROM stockking.account WHERE family_id = :'mom_family')
     + (SELECT count(*) FROM stockking.cash_ledger WHERE family_id = :'mom_family')
     + (SELECT count(*) FROM stockking.outbox WHERE family_id = :'mom_family') AS rows_left_behind;
SELECT event_type, audience, payload ->> 'parent' AS parent, payload ->> 'child' AS child
  FROM stockking.outbox WHERE event_type = 'FamilyLinked' ORDER BY id;

-- a parent whose family is bigger than the child's keeps it: the smaller family moves
SELECT signup('kid.c@example.com', 'CHILD', '하준');
SELECT code AS kid_b_code FROM stockking.link_code WHERE user_id = uid_of('kid.b@example.com') \gset
SELECT code AS kid_c_code FROM stockking.link_code WHERE user_id = uid_of('kid.c@example.com') \gset
SELECT family_id AS kid_b_family FROM stockking.users WHERE email = 'kid.b@example.com' \gset
SET SESSION AUTHORIZATION regress_sk_web;
SELECT as_user('other.mom@example.com');
SELECT r ->> 'family_id' = :'kid_b_family' AS joined_the_childs_family
  FROM api.link_family(jsonb_build_object('code', :'kid_b_code')) r;
SELECT jsonb_array_length(r -> 'members') AS members, r ->> 'family_id' = :'kid_b_family' AS kept_the_bigger_family
  FROM api.link_family(jsonb_build_object('code', :'kid_c_code')) r;

-- the family as each member sees it (row-level security: a child sees itself only)
SELECT as_user('mom@example.com');
SELECT m ->> 'nickname' AS nickname, m ->> 'role' AS role, m ->> 'link_code' IS NOT NULL AS shows_code
  FROM jsonb_array_elements(api.get_family('{}') -> 'members') m ORDER BY 2 DESC, 1;
SELECT as_user('kid.a@example.com');
SELECT m ->> 'nickname' AS nickname, m ->> 'role' AS role FROM jsonb_array_elements(api.get_family('{}') -> 'members') m;

-- parents read their children's accounts, read-only; nobody else does
SELECT as_user('mom@example.com');
SELECT r ->> 'child_id' = uid_of('kid.a@example.com')::text AS child, r ->> 'currency' AS currency, r -> 'cash' AS cash,
       r -> 'total_value' AS total
  FROM api.get_child_portfolio(jsonb_build_object('child_id', uid_of('kid.a@example.com'), 'season_id', replay())) r;
SELECT r -> 'items' AS items FROM api.get_child_holdings(jsonb_build_object('child_id', uid_of('kid.a@example.com'), 'season_id', replay())) r;
SELECT jsonb_array_length(r -> 'items') AS orders FROM api.list_child_history(jsonb_build_object('child_id', uid_of('kid.a@example.com'))) r;
SELECT try(format('SELECT api.get_child_portfolio(''{"child_id": "%s"}'')', uid_of('kid.b@example.com')));
SELECT try(format('SELECT api.get_child_portfolio(''{"child_id": "%s"}'')', uid_of('dad@example.com')));
SELECT try('SELECT api.get_child_portfolio(''{"child_id": "42"}'')');
SELECT try('SELECT api.get_child_portfolio(''{}'')');
SELECT try(format('SELECT api.get_child_portfolio(''{"child_id": "%s", "season_id": 999}'')', uid_of('kid.a@example.com')));
-- the parent's identity is back after a child's view
SELECT current_setting('request.user_id') = uid_of('mom@example.com')::text AS still_mom, current_setting('request.role') AS role;
SELECT as_user('kid.b@example.com');
SELECT try(format('SELECT api.get_child_portfolio(''{"child_id": "%s"}'')', uid_of('kid.a@example.com')));
SELECT try(format('SELECT api.list_child_history(''{"child_id": "%s"}'')', uid_of('kid.a@example.com')));

-- settings: parents only
SELECT as_user('kid.a@example.com');
SELECT try('SELECT api.update_family_settings(''{"trade_approval": true}'')');
SELECT as_user('mom@example.com');
SELECT try('SELECT api.update_family_settings(''{"trade_approval": "maybe"}'')');
SELECT try('SELECT api.update_family_settings(''{}'')');
SELECT api.update_family_settings('{"trade_approval": true}') -> 'settings' AS settings;
SELECT api.get_family('{}') -> 'settings' AS settings;

-- trade approval on: a child's order needs a written reason and becomes a request
SELECT as_user('kid.a@example.com');
SELECT try(format($$SELECT api.place_order('{"season_id": %s, "symbol": "SP500", "side": "BUY", "type": "MARKET", "quantity": 2}')$$, replay()));
SELECT try(format($$SELECT api.place_order('{"season_id": %s, "symbol": "SP500", "side": "BUY", "type": "MARKET", "quantity": 2, "reason": "   "}')$$, replay()));
SELECT try(format($$SELECT api.place_order('{"season_id": %s, "symbol": "NOPE", "side": "BUY", "type": "MARKET", "quantity": 2, "reason": "x"}')$$, replay()));
SELECT try(format($$SELECT api.place_order('{"season_id": %s, "symbol": "SP500", "side": "HOLD", "type": "MARKET", "quantity": 2, "reason": "x"}')$$, replay()));
SELECT try(format($$SELECT api.place_order('{"season_id": 999, "symbol": "SP500", "side": "BUY", "type": "MARKET", "quantity": 2, "reason": "x"}')$$));
SELECT try(format($$SELECT api.place_order(jsonb_build_object('season_id', %s, 'symbol', 'SP500', 'side', 'BUY', 'type', 'MARKET', 'quantity', 2, 'reason', repeat('x', 501)))$$, replay()));
SELECT r ->> 'status' AS status, r -> 'approval_required' AS approval_required,
       (r -> 'trade_request') - 'id' - 'child_id' - 'account_id' - 'season_id' - 'created_at' AS request
  FROM api.place_order(jsonb_build_object('season_id', replay(), 'symbol', 'sp500', 'side', 'buy', 'type', 'MARKET',
                                          'quantity', 2, 'client_order_id', 'kid-a-1',
                                          'reason', '미국 대표 기업 500개에 나눠 투자하고 싶어요')) r;
SELECT (api.place_order(jsonb_build_object('season_id', replay(), 'symbol', 'SP500', 'side', 'BUY', 'type', 'MARKET',
                                           'quantity', 2, 'client_order_id', 'kid-a-1', 'reason', 'again'))
        -> 'trade_request' ->> 'reason') AS same_request;
SELECT r ->> 'status' AS status FROM api.place_order(jsonb_build_object('season_id', replay(), 'symbol', 'SP500', 'side', 'BUY',
       'type', 'LIMIT', 'quantity', 1, 'limit_price', '1400.00', 'time_in_force', 'GTC', 'reason', 'a cheaper entry')) r;
SELECT r ->> 'status' AS status FROM api.place_order(jsonb_build_object('season_id', replay(), 'symbol', 'SP500', 'side', 'BUY',
       'type', 'MARKET', 'quantity', 900, 'reason', 'all in')) r;
SELECT jsonb_array_length(api.list_trade_requests('{}') -> 'items') AS my_requests;
SELECT try('SELECT api.list_trade_requests(''{"status": "WAITING"}'')');
RESET SESSION AUTHORIZATION;
SELECT count(*) AS orders_placed FROM stockking.orders;
SELECT id AS req1 FROM stockking.trade_request WHERE client_order_id = 'kid-a-1' \gset
SELECT id AS req2 FROM stockking.trade_request WHERE order_type = 'LIMIT' \gset
SELECT id AS req3 FROM stockking.trade_request WHERE quantity = 900 \gset
SET SESSION AUTHORIZATION regress_sk_web;

-- deciding: a parent of the family; the child and other parents may not
SELECT try(format('SELECT api.approve_trade_request(''{"id": %s}'')', :req1));
SELECT as_user('other.mom@example.com');
SELECT try(format('SELECT api.approve_trade_request(''{"id": %s}'')', :req1));
SELECT try(format('SELECT api.reject_trade_request(''{"id": %s}'')', :req1));
SELECT as_user('mom@example.com');
SELECT jsonb_array_length(api.list_trade_requests('{"status": "PENDING"}') -> 'items') AS pending_for_mom;
SELECT r ->> 'status' AS status, r -> 'order' ->> 'status' AS order_status, r -> 'order' -> 'filled_quantity' AS filled,
       r ->> 'decision_note' AS note
  FROM api.approve_trade_request(jsonb_build_object('id', :req1, 'note', '좋은 생각이야')) r;
-- approving again changes nothing; rejecting it now is refused
SELECT r ->> 'status' AS status, r -> 'order' ->> 'status' AS order_status
  FROM api.approve_trade_request(jsonb_build_object('id', :req1)) r;
SELECT try(format('SELECT api.reject_trade_request(''{"id": %s}'')', :req1));
SELECT as_user('dad@example.com');
SELECT r ->> 'status' AS status, r ->> 'decision_note' AS note
  FROM api.reject_trade_request(jsonb_build_object('id', :req2, 'reason', '지금은 기다려 보자')) r;
SELECT (api.reject_trade_request(jsonb_build_object('id', :req2)) ->> 'status') AS again;
SELECT try(format('SELECT api.approve_trade_request(''{"id": %s}'')', :req2));
-- an order the market refuses at approval: the request is rejected with the refusal
SELECT r ->> 'status' AS status, r ->> 'order_error' AS order_error, r ->> 'order_id' AS order_id
  FROM api.approve_trade_request(jsonb_build_object('id', :req3)) r;
SELECT try('SELECT api.approve_trade_request(''{"id": 424242}'')');
SELECT try('SELECT api.approve_trade_request(''{}'')');
RESET SESSION AUTHORIZATION;
SELECT t.status, o.status AS order_status, o.filled_quantity, o.user_id = t.user_id AS childs_order
  FROM stockking.trade_request t LEFT JOIN stockking.orders o ON o.id = t.order_id ORDER BY t.id;
-- the gate accepts only an approval under way: setting the id by hand does not skip it
SET SESSION AUTHORIZATION regress_sk_web;
SELECT as_user('kid.a@example.com');
SET stockking.trade_request_id = :'req1';
SELECT r ->> 'status' AS status FROM api.place_order(jsonb_build_object('season_id', replay(), 'symbol', 'SP500', 'side', 'BUY',
       'type', 'MARKET', 'quantity', 1, 'reason', 'sneaky')) r;
RESET stockking.trade_request_id;
-- approval off: orders go straight to the market again
SELECT as_user('mom@example.com');
SELECT api.update_family_settings('{"trade_approval": "false"}') -> 'settings' AS settings;
SELECT as_user('kid.a@example.com');
SELECT r ->> 'status' AS status FROM api.place_order(jsonb_build_object('season_id', replay(), 'symbol', 'SP500', 'side', 'SELL',
       'type', 'MARKET', 'quantity', 1)) r;

-- notifications: each sees their own events; parents see the family's PARENTS and FAMILY events
SELECT as_user('kid.a@example.com');
SELECT e ->> 'type' AS type, count(*) FROM jsonb_array_elements(api.list_notifications('{"limit": 200}') -> 'items') e
 GROUP BY 1 ORDER BY 1;
SELECT as_user('mom@example.com');
SELECT e ->> 'type' AS type, count(*) FROM jsonb_array_elements(api.list_notifications('{"limit": 200}') -> 'items') e
 GROUP BY 1 ORDER BY 1;
SELECT as_user('kid.b@example.com');
SELECT e ->> 'type' AS type, count(*) FROM jsonb_array_elements(api.list_notifications('{"limit": 200}') -> 'items') e
 GROUP BY 1 ORDER BY 1;
-- paging and the acknowledged cursor
SELECT as_user('mom@example.com');
SELECT (api.list_notifications('{"limit": 2}') ->> 'last_seq')::bigint AS page1_last \gset
SELECT jsonb_array_length(api.list_notifications(jsonb_build_object('after', :page1_last, 'limit', 200)) -> 'items')
     = jsonb_array_length(api.list_notifications('{"limit": 200}') -> 'items') - 2 AS second_page_is_the_rest;
SELECT (api.ack_notifications(jsonb_build_object('last_seq', :page1_last)) ->> 'last_seq')::bigint = :page1_last AS acked;
SELECT (api.ack_notifications('{"last_seq": 1}') ->> 'last_seq')::bigint = :page1_last AS cursor_never_goes_back;
SELECT (api.list_notifications('{}') ->> 'after')::bigint = :page1_last AS resumes_from_cursor;
SELECT try('SELECT api.list_notifications(''{"limit": 0}'')');
SELECT try('SELECT api.list_notifications(''{"after": -1}'')');
SELECT try('SELECT api.ack_notifications(''{}'')');

-- a new link code replaces the old one
SELECT as_user('kid.a@example.com');
SELECT (api.rotate_link_code('{}') ->> 'link_code') <> :'kid_a_code' AS new_code;
SELECT as_user('mom@example.com');
SELECT replace(try(format('SELECT api.link_family(''{"code": "%s"}'')', :'kid_a_code')), :'kid_a_code', '<old code>') AS old_code;
SELECT try('SELECT api.rotate_link_code(''{}'')');

-- anonymous callers get 28000
SELECT set_config('request.user_id', '', false), set_config('request.role', '', false);
SELECT try('SELECT api.get_family(''{}'')');
SELECT try('SELECT api.list_notifications(''{}'')');
SELECT try('SELECT api.link_family(''{"code": "AAAAAAAA"}'')');
RESET SESSION AUTHORIZATION;
\c :regress_db
DROP DATABASE regress_sk_family;
