-- The HTTP route table the proxy loads (proxy/CONTRACT.md), and the grants
-- that close the api schema to everything but stockking_api.

CREATE TABLE stockking.route (
    method         text NOT NULL CHECK (method IN ('GET', 'POST', 'PUT', 'DELETE')),
    path           text NOT NULL CHECK (path ~ '^/[A-Za-z0-9_/:.-]*$'),
    fn             text NOT NULL,
    roles          text[] CHECK (roles <@ ARRAY['CHILD', 'PARENT', 'ADMIN']),
    read_only      boolean NOT NULL DEFAULT false,
    success_status integer NOT NULL DEFAULT 200 CHECK (success_status BETWEEN 200 AND 299),
    token          text NOT NULL DEFAULT 'none' CHECK (token IN ('none', 'issue')),
    max_body       integer NOT NULL DEFAULT 65536 CHECK (max_body BETWEEN 0 AND 67108864),
    summary        text NOT NULL,
    PRIMARY KEY (method, path)
);
COMMENT ON TABLE stockking.route IS 'HTTP routes: method and path pattern (:name captures a segment) to an api function; roles NULL = public, {} = any signed-in user';

INSERT INTO stockking.route (method, path, fn, roles, read_only, success_status, token, summary) VALUES
    ('POST', '/v1/auth/signup', 'signup', NULL, false, 201, 'none', 'Sign up a CHILD or PARENT'),
    ('POST', '/v1/auth/login', 'login', NULL, false, 200, 'issue', 'Log in: an access token (JWT, 15 minutes)'),
    ('GET', '/v1/users/me', 'me', '{}', true, 200, 'none', 'The signed-in user and their accounts'),
    ('GET', '/v1/seasons', 'list_seasons', NULL, true, 200, 'none', 'Seasons and their clocks'),
    ('POST', '/v1/seasons/:id/join', 'join_season', '{CHILD}', false, 201, 'none', 'Open an account in a season'),
    ('GET', '/v1/market/stocks/search', 'search_stocks', NULL, true, 200, 'none', 'Search instruments by symbol or name'),
    ('GET', '/v1/market/stocks/:code', 'get_stock', NULL, true, 200, 'none', 'An instrument, its market rules and quote'),
    ('GET', '/v1/market/stocks/:code/chart', 'get_chart', NULL, true, 200, 'none', 'Daily or monthly OHLCV bars'),
    ('POST', '/v1/trading/orders', 'place_order', '{CHILD}', false, 201, 'none', 'Place an order'),
    ('GET', '/v1/trading/orders/:id', 'get_order', '{}', true, 200, 'none', 'One order with its fills'),
    ('DELETE', '/v1/trading/orders/:id', 'cancel_order', '{CHILD}', false, 200, 'none', 'Cancel an open order'),
    ('GET', '/v1/trading/portfolio', 'get_portfolio', '{}', true, 200, 'none', 'Cash, value and returns of an account'),
    ('GET', '/v1/trading/holdings', 'get_holdings', '{}', true, 200, 'none', 'Positions of an account'),
    ('GET', '/v1/trading/history', 'list_history', '{}', true, 200, 'none', 'Orders and fills, newest first, paginated'),
    ('POST', '/v1/admin/seasons/:id/advance', 'admin_advance_season', '{ADMIN}', false, 200, 'none',
     'Advance a replay season''s clock by n bars');

CREATE FUNCTION api.route_table()
    RETURNS TABLE (method text, path text, fn text, roles text[], read_only boolean, success_status integer,
                   token text, max_body integer)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog
    AS $$
    SELECT method, path, fn, roles, read_only, success_status, token, max_body
      FROM stockking.route ORDER BY path, method
    $$;
COMMENT ON FUNCTION api.route_table() IS 'the HTTP route table the proxy loads (see proxy/CONTRACT.md)';

-- The api schema is closed: only stockking_api (the proxy's role) and the
-- superuser execute its functions.
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA api FROM PUBLIC;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA api TO stockking_api;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA api TO stockking_definer;
