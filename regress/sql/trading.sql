-- Trading: sign-up, seasons, orders, fills, fees, limit matching on the
-- replay clock, cancellation, valuation, row-level security; every refusal
-- with its SQLSTATE.  Runs on the real market data.
\getenv datadir STOCKKING_DATA_DIR
SELECT jsonb_object_keys(stockking.load_market_data(:'datadir')) AS loaded ORDER BY 1;

-- try(): run a statement, show "ok" or "SQLSTATE: message"; the failed
-- statement's changes are rolled back (its own subtransaction)
CREATE FUNCTION public.try(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;
GRANT EXECUTE ON FUNCTION public.try(text) TO PUBLIC;

-- the API is called by a non-superuser member of stockking_api
DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'regress_web') THEN
        CREATE ROLE regress_web LOGIN IN ROLE stockking_api;
    END IF;
END $$;
-- a trusted SQL client: it states the caller in request.user_id (the proxy's
-- role proves it with a token instead: regress/sql/identity.sql)
DO $$ BEGIN
    IF NOT pg_has_role('regress_web', 'stockking_service', 'MEMBER') THEN
        GRANT stockking_service TO regress_web;
    END IF;
END $$;
CREATE FUNCTION public.as_user(email text) RETURNS void LANGUAGE sql SECURITY DEFINER AS $$
    SELECT set_config('request.user_id', (SELECT id::text FROM stockking.users u WHERE u.email = as_user.email), false),
           set_config('request.role', (SELECT role FROM stockking.users u WHERE u.email = as_user.email), false);
$$;
CREATE FUNCTION public.replay() RETURNS integer LANGUAGE sql SECURITY DEFINER AS $$ SELECT id FROM stockking.season WHERE code = 'REPLAY-2007' $$;
CREATE FUNCTION public.balanced(email text) RETURNS boolean LANGUAGE sql SECURITY DEFINER AS $$
    SELECT bool_and(a.cash = (SELECT sum(amount) FROM stockking.cash_ledger l WHERE l.account_id = a.id))
      FROM stockking.account a JOIN stockking.users u ON u.id = a.user_id WHERE u.email = balanced.email $$;

-- sign-up and its refusals
SELECT r - 'id' - 'family_id' - 'created_at' AS child
  FROM api.signup('{"email": "Minjun@Example.com", "password": "correct horse", "role": "CHILD", "nickname": "민준"}') r;
SELECT (api.signup('{"email": "jiwoo@example.com", "password": "correct horse", "role": "CHILD", "nickname": "지우"}')) IS NOT NULL AS second_child;
SELECT (api.signup('{"email": "mom@example.com", "password": "correct horse", "role": "PARENT", "nickname": "엄마"}')) IS NOT NULL AS parent;
SELECT try($$SELECT api.signup('{"email": "minjun@example.com", "password": "correct horse", "role": "CHILD", "nickname": "x"}')$$);
SELECT try($$SELECT api.signup('{"email": "not-an-address", "password": "correct horse", "role": "CHILD", "nickname": "x"}')$$);
SELECT try($$SELECT api.signup('{"email": "a@example.com", "password": "short", "role": "CHILD", "nickname": "x"}')$$);
SELECT try($$SELECT api.signup('{"email": "a@example.com", "password": "correct horse", "role": "ADMIN", "nickname": "x"}')$$);
SELECT try($$SELECT api.signup('{"email": "a@example.com", "password": "correct horse", "role": "CHILD", "nickname": ""}')$$);
SELECT try($$SELECT api.signup('{"email": "a@example.com", "role": "CHILD", "nickname": "x"}')$$);
SELECT try($$SELECT api.signup('[1, 2]')$$);
SELECT count(*) AS users FROM stockking.users;
SELECT password_hash LIKE '$2a$10$%' AS bcrypt FROM stockking.users WHERE email = 'minjun@example.com';

-- log-in
SELECT r -> 'claims' ->> 'role' AS role, r -> 'user' ->> 'email' AS email
  FROM api.login('{"email": "minjun@example.com", "password": "correct horse"}') r;
SELECT try($$SELECT api.login('{"email": "minjun@example.com", "password": "wrong horse"}')$$);
SELECT try($$SELECT api.login('{"email": "nobody@example.com", "password": "correct horse"}')$$);

-- a child starts with 1,000,000 won in the default season
SELECT s.code, a.currency, a.cash, a.net_contribution, u.default_account_id = a.id AS is_default
  FROM stockking.account a JOIN stockking.users u ON u.id = a.user_id JOIN stockking.season s ON s.id = a.season_id
 WHERE u.email = 'minjun@example.com';

-- from here on, as the proxy's role
SET SESSION AUTHORIZATION regress_web;
SELECT try($$SELECT * FROM stockking.account$$);
SELECT try($$SELECT api.me('{}')$$);
SELECT as_user('minjun@example.com');
SELECT jsonb_array_length(r -> 'accounts') AS accounts FROM api.me('{}') r;

-- seasons
SELECT r - 'id' AS joined FROM api.join_season(jsonb_build_object('id', replay())) r;
SELECT try(format($$SELECT api.join_season('{"id": %s}')$$, replay()));
SELECT try($$SELECT api.join_season('{"id": 999}')$$);
SELECT as_user('mom@example.com');
SELECT try(format($$SELECT api.join_season('{"id": %s}')$$, replay()));
SELECT as_user('minjun@example.com');

-- a market buy fills at the clock's close: 2007-10-01, S&P 500 at 1547.040039
SELECT r ->> 'status' AS status, r -> 'filled_quantity' AS qty, r -> 'average_fill_price' AS price,
       r -> 'gross_amount' AS gross, r -> 'fees' AS fee, r -> 'taxes' AS tax, r -> 'placed_bar_date' AS bar
  FROM api.place_order(jsonb_build_object('season_id', replay(), 'symbol', 'sp500', 'side', 'buy', 'type', 'MARKET',
                                          'quantity', 6, 'client_order_id', 'first-buy')) r;
-- 6 x 1547.040039 = 9282.240234 -> 9282.24 (half up); fee 0.25% = 23.2056 -> 23.20 (truncated)
RESET SESSION AUTHORIZATION;
SELECT a.cash, a.reserved_cash, h.quantity, h.cost_basis, h.realized_pnl
  FROM stockking.account a JOIN stockking.holding h ON h.account_id = a.id WHERE a.season_id = replay();
SELECT entry_type, amount, is_contribution, market_date FROM stockking.cash_ledger l
  JOIN stockking.account a ON a.id = l.account_id WHERE a.season_id = replay() ORDER BY l.id;
SELECT balanced('minjun@example.com');
SET SESSION AUTHORIZATION regress_web;

-- idempotency: the same client_order_id returns the first order and executes nothing
SELECT r ->> 'status' AS status, r -> 'filled_quantity' AS qty
  FROM api.place_order(jsonb_build_object('season_id', replay(), 'symbol', 'SP500', 'side', 'BUY', 'type', 'MARKET',
                                          'quantity', 6, 'client_order_id', 'first-buy')) r;
SELECT try(format($$SELECT api.place_order('{"season_id": %s, "symbol": "SP500", "side": "BUY", "type": "MARKET", "quantity": 7, "client_order_id": "first-buy"}')$$, replay()));
SELECT jsonb_array_length(api.list_history(jsonb_build_object('season_id', replay())) -> 'items') AS orders;

-- bad orders: each refused with its SQLSTATE, nothing changed
RESET SESSION AUTHORIZATION;
CREATE TABLE public.bad (label text, args jsonb);
GRANT SELECT ON public.bad TO regress_web;
INSERT INTO bad VALUES
    ('unknown symbol',     '{"symbol": "NOPE", "side": "BUY", "type": "MARKET", "quantity": 1}'),
    ('quantity 0',         '{"symbol": "SP500", "side": "BUY", "type": "MARKET", "quantity": 0}'),
    ('negative quantity',  '{"symbol": "SP500", "side": "BUY", "type": "MARKET", "quantity": -1}'),
    ('absurd quantity',    '{"symbol": "SP500", "side": "BUY", "type": "MARKET", "quantity": 100000000000}'),
    ('fractional quantity','{"symbol": "SP500", "side": "BUY", "type": "MARKET", "quantity": 1.5}'),
    ('quantity as text',   '{"symbol": "SP500", "side": "BUY", "type": "MARKET", "quantity": "two"}'),
    ('quantity missing',   '{"symbol": "SP500", "side": "BUY", "type": "MARKET"}'),
    ('wrong side',         '{"symbol": "SP500", "side": "HOLD", "type": "MARKET", "quantity": 1}'),
    ('wrong type',         '{"symbol": "SP500", "side": "BUY", "type": "STOP", "quantity": 1}'),
    ('wrong tif',          '{"symbol": "SP500", "side": "BUY", "type": "LIMIT", "quantity": 1, "limit_price": 1000, "time_in_force": "IOC"}'),
    ('limit missing',      '{"symbol": "SP500", "side": "BUY", "type": "LIMIT", "quantity": 1}'),
    ('limit on market',    '{"symbol": "SP500", "side": "BUY", "type": "MARKET", "quantity": 1, "limit_price": 1000}'),
    ('limit zero',         '{"symbol": "SP500", "side": "BUY", "type": "LIMIT", "quantity": 1, "limit_price": 0}'),
    ('limit negative',     '{"symbol": "SP500", "side": "BUY", "type": "LIMIT", "quantity": 1, "limit_price": -5}'),
    ('limit off tick',     '{"symbol": "SP500", "side": "BUY", "type": "LIMIT", "quantity": 1, "limit_price": "1000.005"}'),
    ('limit 7 decimals',   '{"symbol": "SP500", "side": "BUY", "type": "LIMIT", "quantity": 1, "limit_price": "1000.0000001"}'),
    ('limit absurd',       '{"symbol": "SP500", "side": "BUY", "type": "LIMIT", "quantity": 1, "limit_price": 99999999999}'),
    ('bad client id',      '{"symbol": "SP500", "side": "BUY", "type": "MARKET", "quantity": 1, "client_order_id": "no spaces"}'),
    ('side as number',     '{"symbol": "SP500", "side": {"x": 1}, "type": "MARKET", "quantity": 1}'),
    ('over the cash',      '{"symbol": "SP500", "side": "BUY", "type": "MARKET", "quantity": 5}'),
    ('limit over cash',    '{"symbol": "SP500", "side": "BUY", "type": "LIMIT", "quantity": 1, "limit_price": 800}'),
    ('over the holding',   '{"symbol": "SP500", "side": "SELL", "type": "MARKET", "quantity": 7}'),
    ('sell not held',      '{"symbol": "IBM", "side": "SELL", "type": "MARKET", "quantity": 1}'),
    ('other currency',     '{"symbol": "SP500", "side": "BUY", "type": "MARKET", "quantity": 1, "season_id": 1}'),
    ('season not joined',  '{"symbol": "SP500", "side": "BUY", "type": "MARKET", "quantity": 1, "season_id": 999}'),
    ('season id as text',  '{"symbol": "SP500", "side": "BUY", "type": "MARKET", "quantity": 1, "season_id": "x"}');
SET SESSION AUTHORIZATION regress_web;
SELECT label, try(format('SELECT api.place_order(%L::jsonb || %L::jsonb)',
                         jsonb_build_object('season_id', replay()), args))
  FROM bad ORDER BY label;
RESET SESSION AUTHORIZATION;
SELECT count(*) AS orders, sum(filled_quantity) AS filled FROM stockking.orders;
SELECT balanced('minjun@example.com');
SET SESSION AUTHORIZATION regress_web;

-- limit orders rest and reserve: a buy reserves quantity x limit rounded up plus its fee rounded up
SELECT r ->> 'status' AS status, r -> 'reserved_cash' AS reserved
  FROM api.place_order(jsonb_build_object('season_id', replay(), 'symbol', 'SP500', 'side', 'BUY', 'type', 'LIMIT',
                                          'quantity', 1, 'limit_price', '500.01', 'time_in_force', 'GTC')) r;
SELECT r ->> 'status' AS status FROM api.place_order(jsonb_build_object('season_id', replay(), 'symbol', 'SP500', 'side', 'SELL',
       'type', 'LIMIT', 'quantity', 2, 'limit_price', '1560.00', 'time_in_force', 'DAY')) r;
SELECT r ->> 'status' AS status FROM api.place_order(jsonb_build_object('season_id', replay(), 'symbol', 'SP500', 'side', 'SELL',
       'type', 'LIMIT', 'quantity', 1, 'limit_price', '2000.00', 'time_in_force', 'DAY')) r;
RESET SESSION AUTHORIZATION;
SELECT a.cash, a.reserved_cash, h.quantity, h.reserved_quantity
  FROM stockking.account a JOIN stockking.holding h ON h.account_id = a.id WHERE a.season_id = replay();
SET SESSION AUTHORIZATION regress_web;
-- the reserved shares cannot be sold twice: 6 held, 3 reserved
SELECT try(format($$SELECT api.place_order('{"season_id": %s, "symbol": "SP500", "side": "SELL", "type": "MARKET", "quantity": 4}')$$, replay()));

-- the clock: only ADMIN or a superuser; bars in range; REPLAY seasons only
SELECT try(format('SELECT api.advance_clock(%s, 1)', replay()));
RESET SESSION AUTHORIZATION;
SELECT try(format('SELECT api.advance_clock(%s, 0)', replay()));
SELECT try('SELECT api.advance_clock(1, 1)');
SELECT try('SELECT api.advance_clock(999, 1)');
-- 2007-10-02: open 1546.53, high 1548.01 -> the DAY sell at 1560 did not trade and expires;
-- the 2000.00 DAY sell too; the GTC buy at 500.01 rests
SELECT api.advance_clock(replay(), 1);
SELECT symbol, side, order_type, time_in_force, status, status_reason, filled_quantity
  FROM stockking.orders ORDER BY id;
SELECT a.reserved_cash, h.reserved_quantity
  FROM stockking.account a JOIN stockking.holding h ON h.account_id = a.id WHERE a.season_id = replay();

-- a GTC limit sell that a later bar gaps through fills at that bar's open
SET SESSION AUTHORIZATION regress_web;
SELECT as_user('minjun@example.com');
SELECT r ->> 'status' AS status FROM api.place_order(jsonb_build_object('season_id', replay(), 'symbol', 'SP500', 'side', 'SELL',
       'type', 'LIMIT', 'quantity', 1, 'limit_price', '1540.00', 'time_in_force', 'GTC')) r;
RESET SESSION AUTHORIZATION;
SELECT bar_date, open, high, low, close FROM stockking.price_bar
 WHERE symbol = 'SP500' AND bar_date BETWEEN '2007-10-03' AND '2007-10-04' ORDER BY bar_date;
SELECT api.advance_clock(replay(), 1) ->> 'clock' AS clock;
SELECT status, filled_quantity, average_fill_price, gross_amount, fees, taxes FROM stockking.orders
 WHERE limit_price = 1540 ORDER BY id;
SELECT h.quantity, h.reserved_quantity, h.cost_basis, h.realized_pnl
  FROM stockking.holding h JOIN stockking.account a ON a.id = h.account_id WHERE a.season_id = replay();
SELECT balanced('minjun@example.com');

-- valuation at the clock, through the October 2008 crash
SELECT (api.advance_clock(replay(), (SELECT count(*)::int FROM stockking.price_bar
          WHERE symbol = 'SP500' AND bar_date > '2007-10-03' AND bar_date <= '2008-10-10'))) ->> 'clock' AS clock;
SET SESSION AUTHORIZATION regress_web;
SELECT as_user('minjun@example.com');
SELECT r - 'account_id' - 'season_id' - 'holdings' AS portfolio FROM api.get_portfolio(jsonb_build_object('season_id', replay())) r;
SELECT jsonb_pretty(r -> 'holdings') AS holdings FROM api.get_portfolio(jsonb_build_object('season_id', replay())) r;
SELECT r -> 'items' -> 0 ->> 'symbol' AS symbol FROM api.get_holdings(jsonb_build_object('season_id', replay())) r;

-- cancel: own open orders only, once
RESET SESSION AUTHORIZATION;
SELECT id AS open_order FROM stockking.orders WHERE status = 'NEW' \gset
SET SESSION AUTHORIZATION regress_web;
SELECT r ->> 'status' AS status, r -> 'reserved_cash' AS reserved FROM api.cancel_order(jsonb_build_object('id', :open_order)) r;
SELECT try(format('SELECT api.cancel_order(''{"id": %s}'')', :open_order));
SELECT try('SELECT api.cancel_order(''{"id": 1}'')');
SELECT try('SELECT api.cancel_order(''{"id": 424242}'')');
SELECT try('SELECT api.cancel_order(''{}'')');
SELECT r -> 'reserved_cash' AS reserved_cash FROM api.get_portfolio(jsonb_build_object('season_id', replay())) r;

-- history: newest first, in pages
SELECT jsonb_array_length(r -> 'items') AS n, r -> 'next_before' IS NOT NULL AND r ->> 'next_before' IS NOT NULL AS more
  FROM api.list_history(jsonb_build_object('season_id', replay(), 'limit', 2)) r;
SELECT try(format($$SELECT api.list_history('{"season_id": %s, "limit": 0}')$$, replay()));
SELECT (api.get_order(jsonb_build_object('id', :open_order))) ->> 'status' AS status;

-- row-level security: another child sees none of it; a parent of another family neither
SELECT as_user('jiwoo@example.com');
SELECT try(format('SELECT api.get_order(''{"id": %s}'')', :open_order));
SELECT try(format('SELECT api.cancel_order(''{"id": %s}'')', :open_order));
SELECT try(format($$SELECT api.get_portfolio('{"season_id": %s}')$$, replay()));
SELECT jsonb_array_length(api.list_history('{}') -> 'items') AS visible_orders;
SELECT as_user('mom@example.com');
SELECT try(format('SELECT api.get_order(''{"id": %s}'')', :open_order));

-- the cash ledger is append-only, even for its owner
RESET SESSION AUTHORIZATION;
SELECT try('UPDATE stockking.cash_ledger SET amount = amount + 1');
SELECT try('DELETE FROM stockking.cash_ledger');
SELECT balanced('minjun@example.com');

-- KRX rules on a Korean instrument: tick bands, 0.015% commission, 0.20% sell tax, whole won
INSERT INTO stockking.instrument (symbol, name, market, kind, bar_interval)
    VALUES ('005930', '삼성전자', 'KRX', 'STOCK', '1d');
INSERT INTO stockking.instrument (symbol, name, market, kind, bar_interval)
    VALUES ('000660', 'SK하이닉스', 'KRX', 'STOCK', '1d');
INSERT INTO stockking.price_bar VALUES ('005930', current_date - 1, 71000, 71500, 70500, 71300, 1000);
SET SESSION AUTHORIZATION regress_web;
SELECT as_user('minjun@example.com');
SELECT r -> 'gross_amount' AS gross, r -> 'fees' AS fee FROM api.place_order(
    '{"season_id": 1, "symbol": "005930", "side": "BUY", "type": "MARKET", "quantity": 3}') r;
-- 3 x 71,300 = 213,900 won; fee 0.015% = 32.085 -> 32
SELECT r -> 'gross_amount' AS gross, r -> 'fees' AS fee, r -> 'taxes' AS tax FROM api.place_order(
    '{"season_id": 1, "symbol": "005930", "side": "SELL", "type": "MARKET", "quantity": 1}') r;
-- 71,300: fee 10.695 -> 10, tax 0.20% = 142.6 -> 142
SELECT try($$SELECT api.place_order('{"season_id": 1, "symbol": "005930", "side": "BUY", "type": "LIMIT", "quantity": 1, "limit_price": 70050}')$$);
SELECT try($$SELECT api.place_order('{"season_id": 1, "symbol": "005930", "side": "BUY", "type": "LIMIT", "quantity": 1, "limit_price": 70100}')$$);
SELECT try($$SELECT api.place_order('{"season_id": 1, "symbol": "005930", "side": "BUY", "type": "LIMIT", "quantity": 1, "limit_price": 1999}')$$);
SELECT try($$SELECT api.place_order('{"season_id": 1, "symbol": "005930", "side": "BUY", "type": "LIMIT", "quantity": 1, "limit_price": 4999}')$$);
SELECT try($$SELECT api.place_order('{"season_id": 1, "symbol": "005930", "side": "BUY", "type": "LIMIT", "quantity": 1, "limit_price": 4995}')$$);
SELECT try($$SELECT api.place_order('{"season_id": 1, "symbol": "005930", "side": "BUY", "type": "LIMIT", "quantity": 1, "limit_price": 70000.5}')$$);
SELECT replace(try($$SELECT api.place_order('{"season_id": 1, "symbol": "000660", "side": "BUY", "type": "MARKET", "quantity": 1}')$$),
               to_char(now() AT TIME ZONE 'Asia/Seoul', 'YYYY-MM-DD'), 'today') AS no_price;
SELECT r -> 'cash' AS cash, r -> 'market_value' AS market_value, r -> 'realized_pnl' AS realized
  FROM api.get_portfolio('{"season_id": 1}') r;
SELECT balanced('minjun@example.com');

-- a closed season refuses orders
RESET SESSION AUTHORIZATION;
UPDATE stockking.season SET status = 'CLOSED' WHERE code = 'KRW-LIVE';
SET SESSION AUTHORIZATION regress_web;
SELECT as_user('minjun@example.com');
SELECT try($$SELECT api.place_order('{"season_id": 1, "symbol": "005930", "side": "BUY", "type": "MARKET", "quantity": 1}')$$);
RESET SESSION AUTHORIZATION;
UPDATE stockking.season SET status = 'OPEN' WHERE code = 'KRW-LIVE';

-- every fill, cancel and expiry told the family through the outbox
SELECT event_type, audience, count(*) FROM stockking.outbox WHERE event_type LIKE 'Order%' GROUP BY 1, 2 ORDER BY 1;
SELECT payload - 'order_id' AS last_event FROM stockking.outbox WHERE event_type = 'OrderFilled' ORDER BY id DESC LIMIT 1;

-- the admin route's function: an ADMIN user through the proxy's role; others refused
SELECT stockking.create_user('ops@example.com', 'correct horse', 'ADMIN', 'Operator') IS NOT NULL AS admin;
SET SESSION AUTHORIZATION regress_web;
SELECT as_user('ops@example.com');
SELECT r ->> 'clock' AS clock, r -> 'bars_advanced' AS bars
  FROM api.admin_advance_season(jsonb_build_object('id', replay(), 'bars', 2)) r;
SELECT try($$SELECT api.admin_advance_season('{"bars": 2}')$$);
SELECT try(format($$SELECT api.admin_advance_season('{"id": %s, "bars": "many"}')$$, replay()));
SELECT as_user('minjun@example.com');
SELECT try(format($$SELECT api.admin_advance_season('{"id": %s, "bars": 1}')$$, replay()));

-- the tables the proxy loads
SELECT method, path, fn, roles, read_only, success_status, token FROM api.route_table()
 WHERE path LIKE '/v1/trading/%' ORDER BY path, method;
SELECT sqlstate, http_status, name FROM api.error_table() WHERE sqlstate LIKE 'SK0%' ORDER BY sqlstate;
RESET SESSION AUTHORIZATION;
