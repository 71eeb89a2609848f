-- StockKing Kids: base objects -- schemas, roles, request identity, errors.
--
-- The install script is the concatenation of sql/*.sql in name order
-- (see extension/Makefile); this file comes first.

\echo Use "CREATE EXTENSION stockking" to load this file. \quit

-- Roles.  The extension runs its api functions as SECURITY DEFINER owned by
-- stockking_definer, a role that is neither superuser nor table owner, so
-- row-level security applies to every api call.  stockking_api may only
-- execute api functions; the proxy's login role is made a member of it by
-- the set-up (docker/cluster.sh).
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'stockking_api') THEN
        CREATE ROLE stockking_api NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'stockking_definer') THEN
        CREATE ROLE stockking_definer NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
    END IF;
END
$$;

-- schema stockking is created by CREATE EXTENSION (stockking.control: schema = stockking)
CREATE SCHEMA api;
COMMENT ON SCHEMA stockking IS 'StockKing Kids internals: tables, internal functions, triggers (not part of the API)';
COMMENT ON SCHEMA api IS 'StockKing Kids API: the functions the proxy and SQL clients call; each takes and returns jsonb';

GRANT USAGE ON SCHEMA api TO stockking_api;
GRANT USAGE ON SCHEMA stockking TO stockking_definer;
GRANT USAGE ON SCHEMA api TO stockking_definer;

-- Request identity.  The proxy (or a SQL client acting for a user) sets these
-- transaction-local settings before calling an api function:
--   request.user_id  the user's uuid (the JWT "sub")
--   request.role     CHILD, PARENT or ADMIN (the JWT "role")
--   request.id       the request id, for logs and the outbox
-- A database superuser session counts as ADMIN (pg_cron jobs, psql).

CREATE FUNCTION stockking.uid() RETURNS uuid
    AS 'MODULE_PATHNAME', 'stockking_uid' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION stockking.uid() IS 'the calling user''s id from request.user_id, NULL when anonymous';

CREATE FUNCTION stockking.is_admin() RETURNS boolean
    AS 'MODULE_PATHNAME', 'stockking_is_admin' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION stockking.is_admin() IS 'true for an ADMIN user (request.role) or a superuser session';

CREATE FUNCTION stockking.require_user() RETURNS uuid
    LANGUAGE plpgsql STABLE
    AS $$
DECLARE
    u uuid := stockking.uid();
BEGIN
    IF u IS NULL THEN
        RAISE EXCEPTION 'authentication required'
            USING ERRCODE = '28000', HINT = 'Set request.user_id, or send a bearer token through the proxy.';
    END IF;
    RETURN u;
END
$$;
COMMENT ON FUNCTION stockking.require_user() IS 'the calling user''s id; raises 28000 (HTTP 401) when anonymous';

-- Errors.  Every error a user can reach has a stable SQLSTATE; the proxy maps
-- it to an HTTP status with this table (exact code before class).
CREATE TABLE stockking.error_code (
    sqlstate    text PRIMARY KEY CHECK (length(sqlstate) IN (2, 5)),
    http_status integer NOT NULL CHECK (http_status BETWEEN 400 AND 599),
    name        text NOT NULL,
    description text NOT NULL
);
COMMENT ON TABLE stockking.error_code IS 'SQLSTATE to HTTP status: a 5-character code matches exactly, a 2-character one its class';

INSERT INTO stockking.error_code VALUES
    -- project codes (class SK)
    ('SK001', 422, 'insufficient_funds', 'the account''s free cash does not cover the order''s cost and fees'),
    ('SK002', 422, 'insufficient_holding', 'the account''s free quantity does not cover the sell order'),
    ('SK003', 409, 'idempotency_conflict', 'the client_order_id was used before with a different order'),
    ('SK004', 409, 'order_not_open', 'only NEW or PARTIALLY_FILLED orders can be canceled'),
    ('SK005', 409, 'season_closed', 'the season is closed or has not started'),
    ('SK006', 422, 'no_price', 'the instrument has no price bar at or before the season''s clock'),
    ('SK007', 400, 'off_tick', 'the limit price is not a multiple of the market''s price tick'),
    ('SK008', 409, 'already_joined', 'the user already has an account in this season'),
    ('SK009', 403, 'not_a_child', 'only a CHILD user holds trading accounts'),
    ('SK010', 404, 'no_account', 'the user has no account in that season (join it first)'),
    ('SK011', 400, 'bad_market_data', 'a market data file has a malformed row (the message gives its line)'),
    ('SK012', 409, 'clock_at_end', 'a replay season''s clock is at the last bar of its data'),
    -- standard codes the api raises
    ('22023', 400, 'invalid_parameter', 'a field is missing, has the wrong type, or is out of range'),
    ('22003', 400, 'out_of_range', 'a number is out of range'),
    ('22P02', 400, 'invalid_text', 'a value could not be parsed'),
    ('22007', 400, 'invalid_datetime', 'a date could not be parsed'),
    ('23505', 409, 'conflict', 'the row exists already (for example the e-mail address is taken)'),
    ('23503', 409, 'conflict', 'the row refers to something that does not exist'),
    ('28000', 401, 'unauthenticated', 'no user identity was given'),
    ('28P01', 401, 'invalid_credentials', 'wrong e-mail address or password'),
    ('42501', 403, 'forbidden', 'the user may not do this'),
    ('P0002', 404, 'not_found', 'the thing asked for does not exist or is not visible to the user'),
    ('57014', 504, 'statement_timeout', 'the statement ran past its time limit'),
    ('40001', 503, 'serialization_failure', 'a concurrent transaction conflicted; retry'),
    ('40P01', 503, 'deadlock', 'a concurrent transaction conflicted; retry'),
    -- classes
    ('22', 400, 'invalid_input', 'data exception'),
    ('23', 409, 'conflict', 'integrity constraint violation'),
    ('28', 401, 'unauthenticated', 'invalid authorization'),
    ('42', 500, 'internal', 'an internal statement failed'),
    ('08', 503, 'unavailable', 'connection exception'),
    ('53', 503, 'unavailable', 'insufficient resources'),
    ('57', 503, 'unavailable', 'operator intervention (shutdown, restart)'),
    ('XX', 500, 'internal', 'internal error'),
    ('P0', 500, 'internal', 'unexpected error in a function');

CREATE FUNCTION api.error_table()
    RETURNS TABLE (sqlstate text, http_status integer, name text)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog
    AS $$ SELECT sqlstate, http_status, name FROM stockking.error_code ORDER BY length(sqlstate) DESC, sqlstate $$;
COMMENT ON FUNCTION api.error_table() IS
    'SQLSTATE to HTTP status table the proxy loads; 5-character codes match exactly, 2-character ones a class';

-- HTTP routes.  Each domain's file inserts its own routes; the proxy loads
-- them through api.route_table() and reloads on NOTIFY stockking_routes
-- (proxy/CONTRACT.md).  rate_class picks the proxy's token bucket: login (per
-- client address), trading (per user), default (per user, per address when
-- anonymous); left out of an INSERT it is derived from the route (the
-- trigger below).  statement_timeout_ms NULL means the proxy's configured
-- statement_timeout.
CREATE TABLE stockking.route (
    method               text NOT NULL CHECK (method IN ('GET', 'POST', 'PUT', 'DELETE')),
    path                 text NOT NULL CHECK (path ~ '^/[A-Za-z0-9_/:.-]*$'),
    fn                   text NOT NULL,
    roles                text[] CHECK (roles <@ ARRAY['CHILD', 'PARENT', 'ADMIN']),
    read_only            boolean NOT NULL DEFAULT false,
    success_status       integer NOT NULL DEFAULT 200 CHECK (success_status BETWEEN 200 AND 299),
    token                text NOT NULL DEFAULT 'none' CHECK (token IN ('none', 'issue')),
    max_body             integer NOT NULL DEFAULT 65536 CHECK (max_body BETWEEN 0 AND 67108864),
    raw_body             boolean NOT NULL DEFAULT false,
    summary              text NOT NULL,
    rate_class           text NOT NULL CHECK (rate_class IN ('login', 'trading', 'default')),
    statement_timeout_ms integer CHECK (statement_timeout_ms BETWEEN 1 AND 600000),
    PRIMARY KEY (method, path)
);
COMMENT ON TABLE stockking.route IS 'HTTP routes: method and path pattern (:name captures a segment) to an api function; roles NULL = public, {} = any signed-in user';
COMMENT ON COLUMN stockking.route.rate_class IS
    'the proxy''s rate-limit class: login (per client address), trading (per user), default (per user; per address when anonymous); derived when not given';
COMMENT ON COLUMN stockking.route.statement_timeout_ms IS 'statement timeout of the call in milliseconds; NULL: the proxy''s statement_timeout';

-- The rate class of a route inserted without one: log-in is limited per
-- client address, placing and canceling orders per user, the rest as default.
CREATE FUNCTION stockking.route_defaults() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF NEW.rate_class IS NULL THEN
        NEW.rate_class := CASE
            WHEN NEW.method = 'POST' AND NEW.path = '/v1/auth/login' THEN 'login'
            WHEN NEW.method <> 'GET' AND NEW.path LIKE '/v1/trading/%' THEN 'trading'
            ELSE 'default' END;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER route_defaults BEFORE INSERT OR UPDATE ON stockking.route
    FOR EACH ROW EXECUTE FUNCTION stockking.route_defaults();

CREATE FUNCTION api.route_table()
    RETURNS TABLE (method text, path text, fn text, roles text[], read_only boolean, success_status integer,
                   token text, max_body integer, raw_body boolean, rate_class text, statement_timeout_ms integer)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog
    AS $$
    SELECT method, path, fn, roles, read_only, success_status, token, max_body, raw_body, rate_class, statement_timeout_ms
      FROM stockking.route ORDER BY path, method
    $$;
COMMENT ON FUNCTION api.route_table() IS 'the HTTP route table the proxy loads (see proxy/CONTRACT.md)';

CREATE FUNCTION stockking.notify_routes() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    PERFORM pg_notify('stockking_routes', '');
    RETURN NULL;
END
$$;
CREATE TRIGGER route_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON stockking.route
    FOR EACH STATEMENT EXECUTE FUNCTION stockking.notify_routes();

-- Event outbox.  Every state change a person should hear about is written
-- here in the same transaction as the change and announced with NOTIFY
-- stockking_events carrying only the id; the proxy fans events out to the
-- connected clients of the recipient, who resume from the last id they saw.
CREATE TABLE stockking.outbox (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id    uuid NOT NULL,
    family_id  uuid NOT NULL,
    audience   text NOT NULL CHECK (audience IN ('USER', 'PARENTS', 'FAMILY')),
    event_type text NOT NULL,
    payload    jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX outbox_user ON stockking.outbox (user_id, id);
CREATE INDEX outbox_family ON stockking.outbox (family_id, id);
COMMENT ON TABLE stockking.outbox IS
    'events for people: USER = the user only; PARENTS = the parents of the user''s family; FAMILY = the user and the parents';

CREATE FUNCTION stockking.emit_event(p_user uuid, p_family uuid, p_audience text, p_type text, p_payload jsonb)
    RETURNS bigint
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v_id bigint;
BEGIN
    INSERT INTO stockking.outbox (user_id, family_id, audience, event_type, payload)
        VALUES (p_user, p_family, p_audience, p_type, p_payload)
        RETURNING id INTO v_id;
    PERFORM pg_notify('stockking_events', v_id::text);
    RETURN v_id;
END
$$;
REVOKE ALL ON FUNCTION stockking.emit_event(uuid, uuid, text, text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION stockking.emit_event(uuid, uuid, text, text, jsonb) TO stockking_definer;
COMMENT ON FUNCTION stockking.emit_event(uuid, uuid, text, text, jsonb) IS
    'write an event to the outbox and NOTIFY stockking_events with its id (delivered at commit); returns the id';

-- JSON argument helpers.  api functions take one jsonb object; these read a
-- field and raise 22023 with the field's name when it is missing or of the
-- wrong type.  Strings are accepted for numbers, because path and query
-- parameters arrive as strings.
CREATE FUNCTION stockking.arg_value(args jsonb, key text, required boolean DEFAULT true) RETURNS jsonb
    LANGUAGE plpgsql IMMUTABLE
    AS $$
DECLARE
    v jsonb := args -> key;
BEGIN
    IF jsonb_typeof(args) IS DISTINCT FROM 'object' THEN
        RAISE EXCEPTION 'arguments must be a JSON object' USING ERRCODE = '22023';
    END IF;
    IF v IS NULL OR jsonb_typeof(v) = 'null' THEN
        IF required THEN
            RAISE EXCEPTION 'field "%" is required', key USING ERRCODE = '22023';
        END IF;
        RETURN NULL;
    END IF;
    RETURN v;
END
$$;
COMMENT ON FUNCTION stockking.arg_value(jsonb, text, boolean) IS
    'a field of an api argument object, NULL when absent or JSON null; 22023 when args is not an object or a required field is missing';

CREATE FUNCTION stockking.arg_text(args jsonb, key text, required boolean DEFAULT true) RETURNS text
    LANGUAGE plpgsql IMMUTABLE
    AS $$
DECLARE
    v jsonb := stockking.arg_value(args, key, required);
BEGIN
    IF v IS NULL THEN
        RETURN NULL;
    END IF;
    IF jsonb_typeof(v) = 'string' THEN
        RETURN v #>> '{}';
    END IF;
    IF jsonb_typeof(v) = 'number' THEN
        RETURN v::text;
    END IF;
    RAISE EXCEPTION 'field "%" must be a string', key USING ERRCODE = '22023';
END
$$;

-- args.key as a boolean: JSON true/false, or the strings "true"/"false"
-- (query parameters arrive as strings); 22023 otherwise.
CREATE FUNCTION stockking.arg_bool(args jsonb, key text, required boolean DEFAULT true) RETURNS boolean
    LANGUAGE plpgsql IMMUTABLE
    AS $$
DECLARE
    v jsonb := stockking.arg_value(args, key, required);
BEGIN
    IF v IS NULL THEN
        RETURN NULL;
    END IF;
    IF jsonb_typeof(v) = 'boolean' THEN
        RETURN v::text::boolean;
    END IF;
    IF jsonb_typeof(v) = 'string' AND lower(v #>> '{}') IN ('true', 'false') THEN
        RETURN lower(v #>> '{}')::boolean;
    END IF;
    RAISE EXCEPTION 'field "%" must be true or false', key USING ERRCODE = '22023';
END
$$;

CREATE FUNCTION stockking.arg_bigint(args jsonb, key text, required boolean DEFAULT true) RETURNS bigint
    LANGUAGE plpgsql IMMUTABLE
    AS $$
DECLARE
    t text := stockking.arg_text(args, key, required);
BEGIN
    IF t IS NULL THEN
        RETURN NULL;
    END IF;
    IF t !~ '^\s*-?[0-9]{1,18}\s*$' THEN
        RAISE EXCEPTION 'field "%" must be a whole number', key USING ERRCODE = '22023',
            DETAIL = format('Got %s.', left(t, 40));
    END IF;
    RETURN t::bigint;
END
$$;

CREATE FUNCTION stockking.arg_numeric(args jsonb, key text, required boolean DEFAULT true) RETURNS numeric
    LANGUAGE plpgsql IMMUTABLE
    AS $$
DECLARE
    t text := stockking.arg_text(args, key, required);
BEGIN
    IF t IS NULL THEN
        RETURN NULL;
    END IF;
    IF t !~ '^\s*-?[0-9]{1,15}(\.[0-9]{1,6})?\s*$' THEN
        RAISE EXCEPTION 'field "%" must be a decimal number with at most 6 decimals', key USING ERRCODE = '22023',
            DETAIL = format('Got %s.', left(t, 40));
    END IF;
    RETURN t::numeric;
END
$$;

CREATE FUNCTION stockking.arg_date(args jsonb, key text, required boolean DEFAULT true) RETURNS date
    LANGUAGE plpgsql IMMUTABLE
    AS $$
DECLARE
    t text := stockking.arg_text(args, key, required);
BEGIN
    IF t IS NULL THEN
        RETURN NULL;
    END IF;
    IF t !~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' THEN
        RAISE EXCEPTION 'field "%" must be a date YYYY-MM-DD', key USING ERRCODE = '22007';
    END IF;
    RETURN t::date;
END
$$;
-- Markets, instruments, price bars, seasons and their clocks.

-- A market's trading rules.  Rates are ratios (0.0025 = 0.25%); amounts are
-- in the currency's minor units (KRW 0 decimals, USD 2: cents).
CREATE TABLE stockking.market (
    code          text PRIMARY KEY,
    name          text NOT NULL,
    currency      char(3) NOT NULL,
    minor_units   smallint NOT NULL CHECK (minor_units BETWEEN 0 AND 4),
    fee_rate      numeric(8, 6) NOT NULL CHECK (fee_rate >= 0 AND fee_rate < 0.1),
    sell_tax_rate numeric(8, 6) NOT NULL CHECK (sell_tax_rate >= 0 AND sell_tax_rate < 0.1),
    lot_size      integer NOT NULL DEFAULT 1 CHECK (lot_size > 0),
    timezone      text NOT NULL,
    rule_source   text NOT NULL
);
COMMENT ON TABLE stockking.market IS 'a market''s trading rules: currency, commission and sell-side tax rates (ratios), lot size, and the source of each figure';

-- Price ticks by price band: a limit price at or above lower_price must be a
-- multiple of tick.  The band that applies is the one with the greatest
-- lower_price not above the price.
CREATE TABLE stockking.tick_band (
    market      text NOT NULL REFERENCES stockking.market (code),
    lower_price numeric(20, 6) NOT NULL CHECK (lower_price >= 0),
    tick        numeric(20, 6) NOT NULL CHECK (tick > 0),
    PRIMARY KEY (market, lower_price)
);
COMMENT ON TABLE stockking.tick_band IS 'price tick by price band (a limit price >= lower_price must be a multiple of tick)';

INSERT INTO stockking.market VALUES
    ('US', 'US equities (NYSE, Nasdaq) through a Korean broker''s overseas account', 'USD', 2,
     0.0025, 0, 1, 'America/New_York',
     'Commission 0.25% of trade value each side: the standard online rate of Korean brokers for US stocks '
     '(Kiwoom Securities'' 해외주식 온라인 수수료 0.25%); no sell-side tax is charged to Korean residents '
     'on US trades; SEC Section 31 fees are below one cent on game-sized orders and left out. '
     'Tick $0.01 at or above $1.00 and $0.0001 below (SEC Regulation NMS Rule 612).'),
    ('KRX', 'Korea Exchange (KOSPI, KOSDAQ)', 'KRW', 0,
     0.00015, 0.0020, 1, 'Asia/Seoul',
     'Commission 0.015% each side (Korean brokers'' online rate); securities transaction tax 0.20% on sells; '
     'tick bands of the KRX unified tick-size table in force since 2023-01-25; lot size 1 share.');

INSERT INTO stockking.tick_band VALUES
    ('US', 0, 0.0001),
    ('US', 1, 0.01),
    ('KRX', 0, 1),
    ('KRX', 2000, 5),
    ('KRX', 5000, 10),
    ('KRX', 20000, 50),
    ('KRX', 50000, 100),
    ('KRX', 200000, 500),
    ('KRX', 500000, 1000);

CREATE TABLE stockking.instrument (
    symbol       text PRIMARY KEY CHECK (symbol ~ '^[A-Z0-9.]{1,12}$'),
    name         text NOT NULL,
    market       text NOT NULL REFERENCES stockking.market (code),
    kind         text NOT NULL CHECK (kind IN ('STOCK', 'INDEX_FUND', 'ETF')),
    bar_interval text NOT NULL CHECK (bar_interval IN ('1d', '1mo')),
    description  text,
    source       text
);
COMMENT ON TABLE stockking.instrument IS 'a tradable symbol; its market gives currency, fees, tax, lot size and ticks';

INSERT INTO stockking.instrument VALUES
    ('SP500', 'S&P 500 Index Fund', 'US', 'INDEX_FUND', '1d',
     'A fund that tracks the S&P 500 index one to one: one unit costs one index point in dollars.',
     'data/sp500-2000.csv: S&P 500 daily OHLCV from Yahoo Finance via vega-datasets 3.2.1'),
    ('MSFT', 'Microsoft Corporation', 'US', 'STOCK', '1mo', NULL,
     'data/stocks.csv: monthly closes via vega-datasets 3.2.1'),
    ('AMZN', 'Amazon.com, Inc.', 'US', 'STOCK', '1mo', NULL,
     'data/stocks.csv: monthly closes via vega-datasets 3.2.1'),
    ('IBM', 'International Business Machines Corporation', 'US', 'STOCK', '1mo', NULL,
     'data/stocks.csv: monthly closes via vega-datasets 3.2.1'),
    ('AAPL', 'Apple Inc.', 'US', 'STOCK', '1mo', NULL,
     'data/stocks.csv: monthly closes via vega-datasets 3.2.1'),
    ('GOOG', 'Alphabet Inc. (Google)', 'US', 'STOCK', '1mo', NULL,
     'data/stocks.csv: monthly closes via vega-datasets 3.2.1');

-- Price bars.  bar_date is the day the bar's close is known: for daily bars
-- the trading day; for monthly bars the month's last weekday (the source
-- labels a month by its first day but gives its closing price).
CREATE TABLE stockking.price_bar (
    symbol   text NOT NULL REFERENCES stockking.instrument (symbol),
    bar_date date NOT NULL,
    open     numeric(20, 6) NOT NULL CHECK (open > 0),
    high     numeric(20, 6) NOT NULL CHECK (high > 0),
    low      numeric(20, 6) NOT NULL CHECK (low > 0),
    close    numeric(20, 6) NOT NULL CHECK (close > 0),
    volume   bigint CHECK (volume >= 0),
    PRIMARY KEY (symbol, bar_date),
    CHECK (low <= high AND low <= open AND open <= high AND low <= close AND close <= high)
);
COMMENT ON TABLE stockking.price_bar IS 'OHLCV bar of an instrument; prices in the instrument''s currency (major units, up to 6 decimals), volume in shares';

-- Seasons and their market clocks.  A LIVE season's clock is today
-- (Asia/Seoul); a REPLAY season's clock is clock_date, which starts at
-- start_date and advances one bar of calendar_symbol at a time.
CREATE TABLE stockking.season (
    id              integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code            text NOT NULL UNIQUE,
    name            text NOT NULL,
    mode            text NOT NULL CHECK (mode IN ('LIVE', 'REPLAY')),
    currency        char(3) NOT NULL,
    starting_cash   bigint NOT NULL CHECK (starting_cash > 0),
    calendar_symbol text REFERENCES stockking.instrument (symbol),
    start_date      date NOT NULL,
    clock_date      date,
    end_date        date,
    status          text NOT NULL DEFAULT 'OPEN' CHECK (status IN ('OPEN', 'CLOSED')),
    is_default      boolean NOT NULL DEFAULT false,
    CHECK (mode = 'LIVE' OR (calendar_symbol IS NOT NULL AND clock_date IS NOT NULL))
);
CREATE UNIQUE INDEX season_one_default ON stockking.season (is_default) WHERE is_default;
COMMENT ON TABLE stockking.season IS 'a game season: currency, starting cash (minor units) and its market clock (LIVE: today; REPLAY: clock_date on real history)';

INSERT INTO stockking.season (code, name, mode, currency, starting_cash, calendar_symbol, start_date, clock_date, is_default)
VALUES
    ('KRW-LIVE', '기본 시즌 (KRW)', 'LIVE', 'KRW', 1000000, NULL, DATE '2026-01-01', NULL, true),
    ('REPLAY-2007', 'Time machine: S&P 500 from October 2007', 'REPLAY', 'USD', 1000000, 'SP500',
     DATE '2007-10-01', DATE '2007-10-01', false);
-- Market data: the loader of the shipped CSV files, the season clock and
-- bar look-up the trading engine uses, and the market api (search, stock
-- detail with quote, chart, seasons).
--
-- Prices are numeric(20,6) in the instrument currency's major units (dollars,
-- won); the api returns them as exact JSON numbers with trailing zeros
-- trimmed (trim_scale), never through floating point.

GRANT SELECT ON stockking.market, stockking.tick_band, stockking.instrument, stockking.price_bar,
    stockking.season TO stockking_definer;

-- The loader (extension/market.c).
CREATE FUNCTION stockking.load_market_data(dir text) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'stockking_load_market_data'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
REVOKE ALL ON FUNCTION stockking.load_market_data(text) FROM PUBLIC;
COMMENT ON FUNCTION stockking.load_market_data(text) IS
    'Load <dir>/sp500-2000.csv (daily OHLCV of SP500: date,open,high,low,close,adjclose,volume) and '
    '<dir>/stocks.csv (monthly closes: symbol,date,price with dates like "Jan 1 2000", stamped at the '
    'month''s last weekday, open = high = low = close, no volume) into stockking.price_bar. '
    'Reads the files with COPY''s CSV parser on the server (superuser or pg_read_server_files; dir absolute). '
    'Every row is checked: dates, decimals (at most 6 places), positive prices, low <= open, close <= high, '
    'whole non-negative volume, known symbol, ascending dates; a malformed row raises SK011 naming the file, '
    'the line (the header is line 1) and the fault, and nothing is loaded. '
    'For each symbol in the files the stored bars are made equal to the file''s (new or changed bars '
    'upserted, missing ones deleted); loading the same files again writes nothing. '
    'Returns {"<symbol>": {"rows", "first", "last", "inserted", "updated", "deleted"}, ...}.';

-- The latest bar at or before a date (extension/market.c): a backward scan
-- of price_bar's primary key (symbol, bar_date), no SQL planned or run.
CREATE FUNCTION stockking.bar_at(symbol text, d date) RETURNS stockking.price_bar
    AS 'MODULE_PATHNAME', 'stockking_bar_at'
    LANGUAGE C STABLE STRICT PARALLEL SAFE;
REVOKE ALL ON FUNCTION stockking.bar_at(text, date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION stockking.bar_at(text, date) TO stockking_definer;
COMMENT ON FUNCTION stockking.bar_at(text, date) IS
    'the latest price bar of symbol (exact, upper case) with bar_date <= d, or NULL; a primary key index scan';

-- A season's market clock: the date whose bars are "now" in the season.
-- LIVE: today in Asia/Seoul (the transaction's start), but not past end_date;
-- REPLAY: clock_date.  Unknown season: P0002.
CREATE FUNCTION stockking.season_clock(season_id integer) RETURNS date
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    AS $$
DECLARE
    s stockking.season;
BEGIN
    SELECT * INTO s FROM stockking.season WHERE id = season_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'season % does not exist', season_id USING ERRCODE = 'P0002';
    END IF;
    IF s.mode = 'REPLAY' THEN
        RETURN s.clock_date;
    END IF;
    RETURN least((now() AT TIME ZONE 'Asia/Seoul')::date, s.end_date);
END
$$;
REVOKE ALL ON FUNCTION stockking.season_clock(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION stockking.season_clock(integer) TO stockking_definer;
COMMENT ON FUNCTION stockking.season_clock(integer) IS
    'a season''s clock date: LIVE today in Asia/Seoul (capped at end_date), REPLAY clock_date; P0002 if no such season';

-- api argument readers shared by the market api.

-- args.code: a symbol, case-insensitive.  Malformed: 22023; unknown: P0002.
CREATE FUNCTION stockking.instrument_arg(args jsonb) RETURNS stockking.instrument
    LANGUAGE plpgsql STABLE
    AS $$
DECLARE
    code text := upper(btrim(stockking.arg_text(args, 'code')));
    i    stockking.instrument;
BEGIN
    IF code !~ '^[A-Z0-9.]{1,12}$' THEN
        RAISE EXCEPTION 'field "code" must be a symbol of 1 to 12 letters, digits or dots' USING ERRCODE = '22023',
            DETAIL = format('Got %s.', left(code, 40));
    END IF;
    SELECT * INTO i FROM stockking.instrument WHERE symbol = code;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'instrument "%" does not exist', code USING ERRCODE = 'P0002';
    END IF;
    RETURN i;
END
$$;
REVOKE ALL ON FUNCTION stockking.instrument_arg(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION stockking.instrument_arg(jsonb) TO stockking_definer;
COMMENT ON FUNCTION stockking.instrument_arg(jsonb) IS
    'the instrument named by args.code (case-insensitive); 22023 if missing or malformed, P0002 if unknown';

-- args.season_id (optional): the season's clock, or NULL when absent.
-- Not a whole number: 22023; no such season: P0002.
CREATE FUNCTION stockking.season_clock_arg(args jsonb) RETURNS date
    LANGUAGE plpgsql STABLE
    AS $$
DECLARE
    sid bigint := stockking.arg_bigint(args, 'season_id', false);
BEGIN
    IF sid IS NULL THEN
        RETURN NULL;
    END IF;
    IF sid NOT BETWEEN 1 AND 2147483647 THEN
        RAISE EXCEPTION 'season % does not exist', sid USING ERRCODE = 'P0002';
    END IF;
    RETURN stockking.season_clock(sid::integer);
END
$$;
REVOKE ALL ON FUNCTION stockking.season_clock_arg(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION stockking.season_clock_arg(jsonb) TO stockking_definer;
COMMENT ON FUNCTION stockking.season_clock_arg(jsonb) IS
    'the clock of the season in args.season_id, NULL when absent; 22023 if not a whole number, P0002 if unknown';

-- api.search_stocks

CREATE FUNCTION api.search_stocks(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    q     text := btrim(stockking.arg_text(args, 'q', false));
    lim   bigint := coalesce(stockking.arg_bigint(args, 'limit', false), 20);
    items jsonb;
BEGIN
    IF length(q) > 100 THEN
        RAISE EXCEPTION 'field "q" is longer than 100 characters' USING ERRCODE = '22023';
    END IF;
    IF lim NOT BETWEEN 1 AND 100 THEN
        RAISE EXCEPTION 'field "limit" must be between 1 and 100' USING ERRCODE = '22023',
            DETAIL = format('Got %s.', lim);
    END IF;
    q := lower(nullif(q, ''));
    SELECT coalesce(jsonb_agg(jsonb_build_object(
               'symbol', m.symbol, 'name', m.name, 'market', m.market, 'currency', m.currency,
               'kind', m.kind, 'last_price', trim_scale(b.close), 'last_date', b.bar_date)
               ORDER BY m.rank, m.symbol), '[]')
      INTO items
      FROM (SELECT i.symbol, i.name, i.market, k.currency, i.kind,
                   CASE WHEN lower(i.symbol) = q THEN 0 WHEN starts_with(lower(i.symbol), q) THEN 1 ELSE 2 END AS rank
              FROM stockking.instrument i
              JOIN stockking.market k ON k.code = i.market
             WHERE q IS NULL OR starts_with(lower(i.symbol), q) OR strpos(lower(i.name), q) > 0
             ORDER BY rank, i.symbol
             LIMIT lim) m
      LEFT JOIN LATERAL (SELECT p.close, p.bar_date FROM stockking.price_bar p
                          WHERE p.symbol = m.symbol ORDER BY p.bar_date DESC LIMIT 1) b ON true;
    RETURN jsonb_build_object('items', items);
END
$$;
ALTER FUNCTION api.search_stocks(jsonb) OWNER TO stockking_definer;
REVOKE ALL ON FUNCTION api.search_stocks(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.search_stocks(jsonb) TO stockking_api;
COMMENT ON FUNCTION api.search_stocks(jsonb) IS
    'Search instruments.  Args: {"q": text (optional, at most 100 characters; matches a symbol prefix or a '
    'name substring, case-insensitive; absent or empty lists all), "limit": 1..100 (default 20)}.  '
    'Result: {"items": [{"symbol", "name", "market", "currency", "kind", "last_price", "last_date"}]}, exact '
    'symbol match first, then symbol prefixes, then name matches, each by symbol; last_price is the close of '
    'the instrument''s latest bar (exact decimal, major units of currency), last_date its date (YYYY-MM-DD); '
    'both null without bars.  Errors: 22023 (HTTP 400) for a bad q or limit.  '
    'Data: stockking.instrument, stockking.market, stockking.price_bar (loaded from data/ by '
    'stockking.load_market_data).';

-- api.get_stock

CREATE FUNCTION api.get_stock(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    i      stockking.instrument := stockking.instrument_arg(args);
    clock  date := stockking.season_clock_arg(args);
    m      stockking.market;
    bar    stockking.price_bar;
    prev   stockking.price_bar;
    first  date;
    quote  jsonb;
BEGIN
    SELECT * INTO m FROM stockking.market WHERE code = i.market;
    SELECT p.bar_date INTO first FROM stockking.price_bar p WHERE p.symbol = i.symbol ORDER BY p.bar_date LIMIT 1;
    bar := stockking.bar_at(i.symbol, coalesce(clock, 'infinity'));
    IF bar.bar_date IS NOT NULL THEN
        prev := stockking.bar_at(i.symbol, bar.bar_date - 1);
        quote := jsonb_build_object(
            'date', bar.bar_date,
            'open', trim_scale(bar.open), 'high', trim_scale(bar.high),
            'low', trim_scale(bar.low), 'close', trim_scale(bar.close), 'volume', bar.volume,
            'previous_date', prev.bar_date, 'previous_close', trim_scale(prev.close),
            'change', trim_scale(bar.close - prev.close),
            'change_pct', round((bar.close - prev.close) * 100 / prev.close, 2));
    END IF;
    RETURN jsonb_build_object(
        'symbol', i.symbol, 'name', i.name, 'kind', i.kind, 'interval', i.bar_interval,
        'description', i.description, 'source', i.source, 'currency', m.currency,
        'market', jsonb_build_object(
            'code', m.code, 'name', m.name, 'currency', m.currency, 'minor_units', m.minor_units,
            'fee_rate', trim_scale(m.fee_rate), 'sell_tax_rate', trim_scale(m.sell_tax_rate),
            'lot_size', m.lot_size, 'timezone', m.timezone,
            'tick_bands', (SELECT coalesce(jsonb_agg(jsonb_build_object('lower_price', trim_scale(t.lower_price),
                                                                        'tick', trim_scale(t.tick))
                                                     ORDER BY t.lower_price), '[]')
                             FROM stockking.tick_band t WHERE t.market = m.code),
            'rule_source', m.rule_source),
        'first_date', first,
        'last_date', (SELECT p.bar_date FROM stockking.price_bar p WHERE p.symbol = i.symbol
                       ORDER BY p.bar_date DESC LIMIT 1),
        'clock', clock,
        'quote', quote);
END
$$;
ALTER FUNCTION api.get_stock(jsonb) OWNER TO stockking_definer;
REVOKE ALL ON FUNCTION api.get_stock(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.get_stock(jsonb) TO stockking_api;
COMMENT ON FUNCTION api.get_stock(jsonb) IS
    'One instrument with its market''s rules and a quote.  Args: {"code": symbol (case-insensitive), '
    '"season_id": integer (optional)}.  Result: {"symbol", "name", "kind", "interval" ("1d" or "1mo"), '
    '"description", "source", "currency", "market": {"code", "name", "currency", "minor_units", "fee_rate" and '
    '"sell_tax_rate" (ratios: 0.0025 = 0.25%), "lot_size" (shares), "timezone", "tick_bands": [{"lower_price", '
    '"tick"}] (a limit price >= lower_price must be a multiple of tick), "rule_source"}, "first_date", '
    '"last_date" (of all bars), "clock" (the season''s clock date, null without season_id), "quote": {"date", '
    '"open", "high", "low", "close", "volume" (shares, null for monthly bars), "previous_date", '
    '"previous_close", "change" (close - previous_close), "change_pct" (percent, rounded half away from zero '
    'to 2 decimals)} or null}.  The quote is the latest bar at or before the season''s clock (LIVE: today in '
    'Asia/Seoul; REPLAY: its clock_date), or the latest bar of all without season_id.  Prices are exact '
    'decimals in major units of currency.  Errors: 22023 (HTTP 400) missing or malformed code or season_id; '
    'P0002 (HTTP 404) unknown symbol or season.  Data: stockking.instrument, market, tick_band, price_bar '
    '(data/ via stockking.load_market_data), season.';

-- api.get_chart

CREATE FUNCTION api.get_chart(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    i      stockking.instrument := stockking.instrument_arg(args);
    v_from date := stockking.arg_date(args, 'from', false);
    v_to   date := stockking.arg_date(args, 'to', false);
    clock  date := stockking.season_clock_arg(args);
    bars   jsonb;
BEGIN
    IF v_from > v_to THEN
        RAISE EXCEPTION 'field "from" (%) is after field "to" (%)', v_from, v_to USING ERRCODE = '22023';
    END IF;
    -- no bar after the season's clock: the replay's future stays hidden
    IF v_to IS NULL THEN
        v_to := (stockking.bar_at(i.symbol, coalesce(clock, 'infinity'))).bar_date;
    ELSIF v_to > clock THEN
        v_to := clock;
    END IF;
    IF v_from IS NULL THEN
        v_from := v_to - 365;
    END IF;
    v_from := greatest(v_from, (v_to - interval '20 years')::date);
    SELECT coalesce(jsonb_agg(jsonb_build_object(
               'date', p.bar_date, 'open', trim_scale(p.open), 'high', trim_scale(p.high),
               'low', trim_scale(p.low), 'close', trim_scale(p.close), 'volume', p.volume)
               ORDER BY p.bar_date), '[]')
      INTO bars
      FROM stockking.price_bar p
     WHERE p.symbol = i.symbol AND p.bar_date BETWEEN v_from AND v_to;
    RETURN jsonb_build_object('symbol', i.symbol, 'interval', i.bar_interval,
                              'from', v_from, 'to', v_to, 'clock', clock, 'bars', bars);
END
$$;
ALTER FUNCTION api.get_chart(jsonb) OWNER TO stockking_definer;
REVOKE ALL ON FUNCTION api.get_chart(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.get_chart(jsonb) TO stockking_api;
COMMENT ON FUNCTION api.get_chart(jsonb) IS
    'OHLCV bars of an instrument.  Args: {"code": symbol (case-insensitive), "from", "to": YYYY-MM-DD '
    '(optional), "season_id": integer (optional)}.  "to" defaults to the date of the latest bar (at or before '
    'the season''s clock), "from" to 365 days before "to"; the span is capped at 20 years (an earlier "from" '
    'is moved up); with season_id no bar after the season''s clock is returned.  Result: {"symbol", "interval" '
    '("1d" or "1mo"), "from", "to" (the dates used), "clock" (null without season_id), "bars": [{"date", '
    '"open", "high", "low", "close", "volume"}] in date order}; prices are exact decimals in major units of '
    'the instrument''s currency, volume in shares (null for monthly bars, dated at the month''s last weekday). '
    'Errors: 22023 (HTTP 400) missing or malformed code or season_id, or from after to; 22007 (HTTP 400) a '
    'date not written YYYY-MM-DD, 22008 (HTTP 400) a date that does not exist; P0002 (HTTP 404) unknown '
    'symbol or season.  Data: stockking.price_bar '
    '(data/ via stockking.load_market_data), instrument, season.';

-- api.list_seasons

CREATE FUNCTION api.list_seasons(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    items jsonb;
BEGIN
    SELECT coalesce(jsonb_agg(jsonb_build_object(
               'id', s.id, 'code', s.code, 'name', s.name, 'mode', s.mode, 'currency', s.currency,
               'starting_cash', round(s.starting_cash / power(10::numeric, u.minor_units), u.minor_units),
               'clock', stockking.season_clock(s.id), 'status', s.status,
               'start_date', s.start_date, 'end_date', s.end_date,
               'calendar_symbol', s.calendar_symbol, 'is_default', s.is_default)
               ORDER BY s.id), '[]')
      INTO items
      FROM stockking.season s
      LEFT JOIN LATERAL (SELECT k.minor_units FROM stockking.market k
                          WHERE k.currency = s.currency ORDER BY k.code LIMIT 1) u ON true;
    RETURN jsonb_build_object('items', items);
END
$$;
ALTER FUNCTION api.list_seasons(jsonb) OWNER TO stockking_definer;
REVOKE ALL ON FUNCTION api.list_seasons(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.list_seasons(jsonb) TO stockking_api;
COMMENT ON FUNCTION api.list_seasons(jsonb) IS
    'All seasons.  Args: {} (none).  Result: {"items": [{"id", "code", "name", "mode" (LIVE or REPLAY), '
    '"currency", "starting_cash" (exact decimal in major units of currency, e.g. 10000.00 USD), "clock" '
    '(YYYY-MM-DD: LIVE today in Asia/Seoul, REPLAY the replay''s date), "status" (OPEN or CLOSED), '
    '"start_date", "end_date", "calendar_symbol" (the instrument whose bars step a replay clock), '
    '"is_default"}]} by id.  Errors: none of its own.  Data: stockking.season, stockking.market (currency '
    'minor units).';

INSERT INTO stockking.route (method, path, fn, roles, read_only, success_status, token, summary) VALUES
    ('GET', '/v1/seasons', 'list_seasons', NULL, true, 200, 'none', 'Seasons and their clocks'),
    ('GET', '/v1/market/stocks/search', 'search_stocks', NULL, true, 200, 'none', 'Search instruments by symbol or name'),
    ('GET', '/v1/market/stocks/:code', 'get_stock', NULL, true, 200, 'none', 'An instrument, its market rules and quote'),
    ('GET', '/v1/market/stocks/:code/chart', 'get_chart', NULL, true, 200, 'none', 'Daily or monthly OHLCV bars');

CREATE FUNCTION stockking.create_season(code text, name text, mode text, currency char(3), starting_cash bigint,
                                        calendar_symbol text, start_date date) RETURNS integer
    LANGUAGE sql VOLATILE SET search_path = pg_catalog, stockking
    AS $$
    INSERT INTO stockking.season (code, name, mode, currency, starting_cash, calendar_symbol, start_date, clock_date)
        VALUES (code, name, mode, currency, starting_cash, calendar_symbol, start_date,
                CASE WHEN mode = 'REPLAY' THEN start_date END)
        RETURNING id
    $$;
REVOKE ALL ON FUNCTION stockking.create_season(text, text, text, char, bigint, text, date) FROM PUBLIC;
COMMENT ON FUNCTION stockking.create_season(text, text, text, char, bigint, text, date) IS
    'operators (superuser): open a season; starting_cash in minor units; a REPLAY season''s clock starts at start_date; returns its id';
-- Users, families, sign-up and log-in.

CREATE TABLE stockking.family (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE stockking.family IS 'a household: parents and children; every family-owned row carries its family_id (the row-level-security key)';

CREATE TABLE stockking.users (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    family_id          uuid NOT NULL REFERENCES stockking.family (id),
    email              text NOT NULL CHECK (email = lower(email) AND length(email) <= 254),
    password_hash      text NOT NULL,
    role               text NOT NULL CHECK (role IN ('CHILD', 'PARENT', 'ADMIN')),
    nickname           text NOT NULL CHECK (length(nickname) BETWEEN 1 AND 30),
    default_account_id bigint,
    created_at         timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email ON stockking.users (email);
CREATE INDEX users_family ON stockking.users (family_id);
COMMENT ON TABLE stockking.users IS 'a person: CHILD, PARENT or ADMIN; password_hash is bcrypt (pgcrypto crypt with gen_salt(''bf'', 10))';
COMMENT ON COLUMN stockking.users.default_account_id IS 'the account used when a trading call names no season: the one joined last';

-- Password hashing through pgcrypto, wherever it is installed.
DO $$
DECLARE
    s text := (SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'pgcrypto');
BEGIN
    EXECUTE format($f$
        CREATE FUNCTION stockking.hash_password(password text) RETURNS text
            LANGUAGE sql VOLATILE
            AS 'SELECT %1$s.crypt(password, %1$s.gen_salt(''bf'', 10))'
    $f$, quote_ident(s));
    EXECUTE format($f$
        CREATE FUNCTION stockking.check_password(password text, hash text) RETURNS boolean
            LANGUAGE sql STABLE
            AS 'SELECT %1$s.crypt(password, hash) = hash'
    $f$, quote_ident(s));
END
$$;
COMMENT ON FUNCTION stockking.hash_password(text) IS 'bcrypt hash (cost 10) of a password';
COMMENT ON FUNCTION stockking.check_password(text, text) IS 'true when the password matches the bcrypt hash';

-- The caller's family and role, and the row-level-security predicates
-- shared by every family-owned table (extension/identity.c: C, because
-- policies call them once per row): the row's user and ADMIN read and
-- write; a parent of the family reads.
CREATE FUNCTION stockking.my_family() RETURNS uuid
    AS 'MODULE_PATHNAME', 'stockking_my_family' LANGUAGE C STABLE;
COMMENT ON FUNCTION stockking.my_family() IS 'the calling user''s family id (read past row-level security, cached per transaction), NULL when anonymous';

CREATE FUNCTION stockking.is_parent() RETURNS boolean
    AS 'MODULE_PATHNAME', 'stockking_is_parent' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION stockking.is_parent() IS 'true when request.role is PARENT';

CREATE FUNCTION stockking.can_read(row_family uuid, row_user uuid) RETURNS boolean
    AS 'MODULE_PATHNAME', 'stockking_can_read' LANGUAGE C STABLE;
COMMENT ON FUNCTION stockking.can_read(uuid, uuid) IS 'row-level security: the row''s user, a parent of its family, or ADMIN may read it';

CREATE FUNCTION stockking.can_write(row_user uuid) RETURNS boolean
    AS 'MODULE_PATHNAME', 'stockking_can_write' LANGUAGE C STABLE;
COMMENT ON FUNCTION stockking.can_write(uuid) IS 'row-level security: only the row''s user or ADMIN may change it';

ALTER TABLE stockking.users ENABLE ROW LEVEL SECURITY;
CREATE POLICY users_read ON stockking.users FOR SELECT USING (stockking.can_read(family_id, id));
CREATE POLICY users_write ON stockking.users FOR UPDATE USING (stockking.can_write(id));
GRANT SELECT, UPDATE (nickname, default_account_id) ON stockking.users TO stockking_definer;
GRANT SELECT ON stockking.family TO stockking_definer;

CREATE FUNCTION stockking.user_json(u stockking.users) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
    SELECT jsonb_build_object('id', u.id, 'email', u.email, 'role', u.role, 'nickname', u.nickname,
                              'family_id', u.family_id, 'created_at', u.created_at)
    $$;

-- Sign-up and log-in run before there is a user identity, so they are owned
-- by the extension's owner and read the users table past row-level security;
-- they touch nothing but the row they create or check.
CREATE FUNCTION api.signup(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v_email    text := lower(btrim(stockking.arg_text(args, 'email')));
    v_password text := stockking.arg_text(args, 'password');
    v_role     text := upper(stockking.arg_text(args, 'role'));
    v_nickname text := btrim(stockking.arg_text(args, 'nickname'));
    v_family   uuid;
    u          stockking.users;
BEGIN
    IF length(v_email) > 254 OR v_email !~ '^[^@\s]+@[^@\s]+\.[^@\s]+$' THEN
        RAISE EXCEPTION 'field "email" must be an e-mail address' USING ERRCODE = '22023';
    END IF;
    IF octet_length(v_password) < 8 OR octet_length(v_password) > 72 THEN
        RAISE EXCEPTION 'field "password" must be 8 to 72 bytes long' USING ERRCODE = '22023',
            DETAIL = 'bcrypt uses the first 72 bytes of a password only.';
    END IF;
    IF v_role NOT IN ('CHILD', 'PARENT') THEN
        RAISE EXCEPTION 'field "role" must be CHILD or PARENT' USING ERRCODE = '22023';
    END IF;
    IF length(v_nickname) NOT BETWEEN 1 AND 30 THEN
        RAISE EXCEPTION 'field "nickname" must be 1 to 30 characters long' USING ERRCODE = '22023';
    END IF;
    IF EXISTS (SELECT 1 FROM stockking.users WHERE email = v_email) THEN
        RAISE EXCEPTION 'e-mail address is already registered' USING ERRCODE = '23505';
    END IF;

    INSERT INTO stockking.family DEFAULT VALUES RETURNING id INTO v_family;
    INSERT INTO stockking.users (family_id, email, password_hash, role, nickname)
        VALUES (v_family, v_email, stockking.hash_password(v_password), v_role, v_nickname)
        RETURNING * INTO u;
    IF v_role = 'CHILD' THEN
        -- every child starts with an account in the default season
        PERFORM stockking.open_account(u.id, s.id) FROM stockking.season s WHERE s.is_default AND s.status = 'OPEN';
        SELECT * INTO u FROM stockking.users WHERE id = u.id;
    END IF;
    RETURN stockking.user_json(u);
END
$$;
COMMENT ON FUNCTION api.signup(jsonb) IS
$$Create a user.  Args: {"email": text, "password": text (8..72 bytes), "role": "CHILD"|"PARENT", "nickname": text (1..30)}.
Returns the user {"id","email","role","nickname","family_id","created_at"}; a CHILD also gets an account in the default season (1,000,000 won).
Errors: 22023 (400) bad field; 23505 (409) e-mail taken.  Passwords are stored as bcrypt hashes.$$;

CREATE FUNCTION api.login(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v_email    text := lower(btrim(stockking.arg_text(args, 'email')));
    v_password text := stockking.arg_text(args, 'password');
    u          stockking.users;
BEGIN
    SELECT * INTO u FROM stockking.users WHERE email = v_email;
    -- an unknown address costs the same bcrypt work as a wrong password
    IF NOT coalesce(stockking.check_password(v_password, coalesce(u.password_hash,
            '$2a$10$abcdefghijklmnopqrstuuQzmnYz0bsOmcAN3bhH7W4ac5P1dyUc.')), false)
       OR u.id IS NULL THEN
        RAISE EXCEPTION 'wrong e-mail address or password' USING ERRCODE = '28P01';
    END IF;
    -- a new family of refresh tokens (sql/25_sessions.sql)
    RETURN jsonb_build_object('claims', stockking.access_claims(u), 'user', stockking.user_json(u))
        || stockking.issue_refresh_token(u.id);
END
$$;
COMMENT ON FUNCTION api.login(jsonb) IS
$$Check an e-mail address and password.  Args: {"email": text, "password": text}.
Returns {"claims": {"sub": user id, "role": role, "rate_limits"?}, "user": {...}, "refresh_token": text (7 days, single use:
POST /v1/auth/refresh rotates it), "refresh_expires_in": 604800}; through the proxy (route token "issue") the claims become
{"access_token": JWT HS256, "token_type": "Bearer", "expires_in": 900 (seconds)}.
Errors: 22023 (400) missing field; 28P01 (401) wrong e-mail address or password.$$;

CREATE FUNCTION api.me(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    u stockking.users;
BEGIN
    SELECT * INTO u FROM stockking.users WHERE id = stockking.require_user();
    IF u.id IS NULL THEN
        RAISE EXCEPTION 'user not found' USING ERRCODE = 'P0002';
    END IF;
    RETURN stockking.user_json(u) || jsonb_build_object(
        'default_account_id', u.default_account_id,
        'accounts', coalesce((
            SELECT jsonb_agg(jsonb_build_object('id', a.id, 'season_id', a.season_id, 'season', s.name,
                                                'currency', a.currency) ORDER BY a.id)
              FROM stockking.account a JOIN stockking.season s ON s.id = a.season_id
             WHERE a.user_id = u.id), '[]'));
END
$$;
ALTER FUNCTION api.me(jsonb) OWNER TO stockking_definer;
COMMENT ON FUNCTION api.me(jsonb) IS
$$The calling user.  Args: {}.  Returns the user and their accounts [{"id","season_id","season","currency"}].
Errors: 28000 (401) no identity.$$;

CREATE FUNCTION stockking.create_user(email text, password text, role text, nickname text) RETURNS uuid
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v_family uuid;
    v_id     uuid;
BEGIN
    IF role NOT IN ('CHILD', 'PARENT', 'ADMIN') THEN
        RAISE EXCEPTION 'role must be CHILD, PARENT or ADMIN' USING ERRCODE = '22023';
    END IF;
    INSERT INTO stockking.family DEFAULT VALUES RETURNING id INTO v_family;
    INSERT INTO stockking.users (family_id, email, password_hash, role, nickname)
        VALUES (v_family, lower(email), stockking.hash_password(password), role, nickname)
        RETURNING id INTO v_id;
    RETURN v_id;
END
$$;
REVOKE ALL ON FUNCTION stockking.create_user(text, text, text, text) FROM PUBLIC;
COMMENT ON FUNCTION stockking.create_user(text, text, text, text) IS
    'operators (superuser): create a user of any role, ADMIN included, without the sign-up checks; returns the id';
-- Sessions and the proxy's own needs: refresh tokens (rotation, reuse
-- detection, log-out), the commit order of the event outbox and its replay
-- for the proxy's event streams (GET /v1/events, GET /v1/ws), outbox
-- retention, and the OpenAPI document built from the route table.
--
-- The proxy's side of all this is in proxy/CONTRACT.md.  Project SQLSTATEs
-- SK901..SK904 (sessions).

INSERT INTO stockking.error_code VALUES
    ('SK901', 401, 'refresh_token_invalid', 'the refresh token is unknown or malformed'),
    ('SK902', 401, 'refresh_token_expired', 'the refresh token is older than 7 days: log in again'),
    ('SK903', 401, 'refresh_token_revoked', 'the refresh token was revoked (log-out, or a reuse in its family): log in again'),
    ('SK904', 401, 'refresh_token_reused',
     'a refresh token was presented after it had been rotated: every token of its family is revoked; log in again');

-- Refresh tokens.  A log-in starts a family of tokens (chain_id); each
-- POST /v1/auth/refresh rotates the presented token (rotated_at) and issues
-- its successor in the same family.  A rotated token presented again means
-- two parties hold the family -- the legitimate client and a thief -- so
-- every token of the family is revoked.  Only the SHA-256 of a token is
-- stored; the token itself is 'skr_' and 43 base64url characters (244
-- random bits from gen_random_uuid, i.e. pg_strong_random).
CREATE TABLE stockking.refresh_token (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_hash     bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    chain_id       uuid NOT NULL,
    user_id        uuid NOT NULL REFERENCES stockking.users (id) ON DELETE CASCADE,
    parent_id      bigint REFERENCES stockking.refresh_token (id) ON DELETE SET NULL,
    issued_at      timestamptz NOT NULL DEFAULT now(),
    expires_at     timestamptz NOT NULL,
    rotated_at     timestamptz,
    revoked_at     timestamptz,
    revoked_reason text CHECK (revoked_reason IN ('logout', 'logout_all', 'reuse')),
    CHECK ((revoked_at IS NULL) = (revoked_reason IS NULL))
);
CREATE INDEX refresh_token_chain ON stockking.refresh_token (chain_id);
CREATE INDEX refresh_token_user ON stockking.refresh_token (user_id);
CREATE INDEX refresh_token_expires ON stockking.refresh_token (expires_at);
-- read and written only by the functions below (owned by the extension's owner)
ALTER TABLE stockking.refresh_token ENABLE ROW LEVEL SECURITY;
COMMENT ON TABLE stockking.refresh_token IS
    'refresh tokens (7 days), stored as SHA-256 hashes; chain_id groups a log-in and its rotations (the "family" revoked on reuse)';

CREATE FUNCTION stockking.refresh_token_ttl() RETURNS interval
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT interval '7 days' $$;
COMMENT ON FUNCTION stockking.refresh_token_ttl() IS 'lifetime of a refresh token: 7 days from its issue';

CREATE FUNCTION stockking.refresh_token_hash(token text) RETURNS bytea
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT sha256(convert_to(token, 'UTF8')) $$;
COMMENT ON FUNCTION stockking.refresh_token_hash(text) IS 'SHA-256 of a refresh token: what the table stores';

-- The per-user rate-limit override the proxy reads from the access token's
-- "rate_limits" claim (proxy/CONTRACT.md): {"trading": N, "default": N}
-- requests per minute, raising or lowering the proxy's configured figure for
-- that user.  None by default; the family settings may replace this
-- function (CREATE OR REPLACE) to let parents raise a child's trading limit.
CREATE FUNCTION stockking.rate_limit_claims(p_user uuid) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$ SELECT NULL::jsonb $$;
COMMENT ON FUNCTION stockking.rate_limit_claims(uuid) IS
    'per-user rate limits for the access token''s "rate_limits" claim ({"trading": n, "default": n} per minute), or NULL for the proxy''s configured ones';

CREATE FUNCTION stockking.access_claims(u stockking.users) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
    SELECT jsonb_strip_nulls(jsonb_build_object('sub', u.id, 'role', u.role,
                                                'rate_limits', stockking.rate_limit_claims(u.id)))
    $$;
COMMENT ON FUNCTION stockking.access_claims(stockking.users) IS
    'the claims of a user''s access token: sub, role and, if any, rate_limits (the proxy adds iss, iat and exp and signs)';

CREATE FUNCTION stockking.issue_refresh_token(p_user uuid, p_chain uuid DEFAULT NULL, p_parent bigint DEFAULT NULL)
    RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v_token text := 'skr_' || translate(encode(uuid_send(gen_random_uuid()) || uuid_send(gen_random_uuid()), 'base64'),
                                        '+/=', '-_');
BEGIN
    INSERT INTO stockking.refresh_token (token_hash, chain_id, user_id, parent_id, expires_at)
        VALUES (stockking.refresh_token_hash(v_token), coalesce(p_chain, gen_random_uuid()), p_user, p_parent,
                now() + stockking.refresh_token_ttl());
    RETURN jsonb_build_object('refresh_token', v_token,
                              'refresh_expires_in', extract(epoch FROM stockking.refresh_token_ttl())::integer);
END
$$;
REVOKE ALL ON FUNCTION stockking.issue_refresh_token(uuid, uuid, bigint) FROM PUBLIC;
COMMENT ON FUNCTION stockking.issue_refresh_token(uuid, uuid, bigint) IS
    'a new refresh token for a user, in a new family or (rotation) in p_chain after p_parent; returns {"refresh_token", "refresh_expires_in"}';

CREATE FUNCTION api.refresh(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v_token text := stockking.arg_text(args, 'refresh_token');
    t       stockking.refresh_token;
    u       stockking.users;
BEGIN
    SELECT * INTO t FROM stockking.refresh_token WHERE token_hash = stockking.refresh_token_hash(v_token) FOR UPDATE;
    IF t.id IS NULL THEN
        RAISE EXCEPTION 'the refresh token is not valid' USING ERRCODE = 'SK901';
    END IF;
    IF t.revoked_at IS NOT NULL THEN
        RAISE EXCEPTION 'the refresh token has been revoked' USING ERRCODE = 'SK903',
            HINT = 'Log in again.';
    END IF;
    IF t.rotated_at IS NOT NULL THEN
        -- reuse: revoke the whole family.  Raising would roll the revocation
        -- back, so the refusal is returned as a committed error (CONTRACT.md).
        UPDATE stockking.refresh_token SET revoked_at = now(), revoked_reason = 'reuse'
         WHERE chain_id = t.chain_id AND revoked_at IS NULL;
        RETURN jsonb_build_object('error', jsonb_build_object(
            'code', 'SK904',
            'message', 'the refresh token was used before: every token of its family is revoked',
            'hint', 'Log in again.'));
    END IF;
    IF t.expires_at <= now() THEN
        RAISE EXCEPTION 'the refresh token has expired' USING ERRCODE = 'SK902', HINT = 'Log in again.';
    END IF;
    SELECT * INTO u FROM stockking.users WHERE id = t.user_id;
    UPDATE stockking.refresh_token SET rotated_at = now() WHERE id = t.id;
    RETURN jsonb_build_object('claims', stockking.access_claims(u), 'user', stockking.user_json(u))
        || stockking.issue_refresh_token(u.id, t.chain_id, t.id);
END
$$;
COMMENT ON FUNCTION api.refresh(jsonb) IS
$$Exchange a refresh token for a new access token and a new refresh token (rotation).  Args: {"refresh_token": text}.
Returns {"access_token", "token_type": "Bearer", "expires_in": 900, "refresh_token" (the successor: keep it, the one sent is
spent), "refresh_expires_in": 604800, "user": {...}}.
Errors: 22023 (400) missing field; SK901 (401) unknown token; SK902 (401) expired; SK903 (401) revoked; SK904 (401) the token
had been rotated already -- presenting it again revokes every token of its family (the log-in it came from).$$;

CREATE FUNCTION api.logout(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v_token text := stockking.arg_text(args, 'refresh_token');
    v_all   jsonb := coalesce(args -> 'all', 'false');
    t       stockking.refresh_token;
    v_count bigint;
BEGIN
    IF jsonb_typeof(v_all) <> 'boolean' THEN
        RAISE EXCEPTION 'field "all" must be a boolean' USING ERRCODE = '22023';
    END IF;
    SELECT * INTO t FROM stockking.refresh_token WHERE token_hash = stockking.refresh_token_hash(v_token);
    IF t.id IS NULL THEN
        RAISE EXCEPTION 'the refresh token is not valid' USING ERRCODE = 'SK901';
    END IF;
    IF v_all = 'true' THEN
        UPDATE stockking.refresh_token SET revoked_at = now(), revoked_reason = 'logout_all'
         WHERE user_id = t.user_id AND revoked_at IS NULL AND expires_at > now();
    ELSE
        UPDATE stockking.refresh_token SET revoked_at = now(), revoked_reason = 'logout'
         WHERE chain_id = t.chain_id AND revoked_at IS NULL;
    END IF;
    GET DIAGNOSTICS v_count = ROW_COUNT;
    RETURN jsonb_build_object('revoked', v_count);
END
$$;
COMMENT ON FUNCTION api.logout(jsonb) IS
$$Log out: revoke the refresh token's family (this log-in and its rotations), or with "all": true every refresh token of its
user.  Args: {"refresh_token": text, "all": boolean (default false)}.  Returns {"revoked": number of tokens revoked} (0 when
already logged out).  Access tokens already issued stay valid until they expire (at most 15 minutes).
Errors: 22023 (400) missing or bad field; SK901 (401) unknown token.$$;

CREATE FUNCTION stockking.prune_refresh_tokens() RETURNS bigint
    LANGUAGE sql VOLATILE SET search_path = pg_catalog, stockking
    AS $$
    WITH gone AS (DELETE FROM stockking.refresh_token WHERE expires_at < now() - interval '1 day' RETURNING 1)
    SELECT count(*) FROM gone
    $$;
REVOKE ALL ON FUNCTION stockking.prune_refresh_tokens() FROM PUBLIC;
COMMENT ON FUNCTION stockking.prune_refresh_tokens() IS
    'operators (pg_cron): delete refresh tokens expired for more than a day; returns how many';

-- Commit order of the outbox.  The outbox id is taken when the row is
-- inserted, but transactions commit in another order: a client that saw id
-- 11 and resumes "after 11" would never get id 10 if 10 committed later.  So
-- every event also gets seq, assigned while its transaction commits (a
-- deferred constraint trigger) under a transaction-level advisory lock held
-- until the commit is complete: seq order is commit order, and once seq n is
-- visible every smaller seq is visible or will never exist.  (NOTIFY already
-- serializes the commits of notifying transactions -- PreCommit_Notify takes
-- a database-wide lock until after commit -- so this costs no concurrency,
-- only one row update per event inside that serialized section: about 40 us
-- of CPU per event, some 5-10% of the throughput of event-writing commits on
-- a 2-core machine.)  Event streams use seq as the event id.
ALTER TABLE stockking.outbox ADD COLUMN seq bigint;
CREATE SEQUENCE stockking.outbox_seq AS bigint;
-- the feed and the horizon scan seq; a replay scans one user's or one
-- family's events after a seq
CREATE UNIQUE INDEX outbox_seq_key ON stockking.outbox (seq);
CREATE INDEX outbox_user_seq ON stockking.outbox (user_id, seq);
CREATE INDEX outbox_family_seq ON stockking.outbox (family_id, seq);
COMMENT ON COLUMN stockking.outbox.seq IS
    'commit order of the event (set at commit; never NULL once visible); the event id of GET /v1/events and GET /v1/ws';

CREATE FUNCTION stockking.outbox_commit_order() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
BEGIN
    -- 'stkoutbx': one lock for every event-writing commit, released after it
    PERFORM pg_advisory_xact_lock(x'73746b6f75746278'::bigint);
    UPDATE stockking.outbox SET seq = nextval('stockking.outbox_seq') WHERE id = NEW.id;
    RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION stockking.outbox_commit_order() FROM PUBLIC;
COMMENT ON FUNCTION stockking.outbox_commit_order() IS
    'deferred trigger: numbers an outbox row in commit order (seq) under advisory lock x''73746b6f75746278'' held to the end of the commit';
CREATE CONSTRAINT TRIGGER outbox_commit_order AFTER INSERT ON stockking.outbox
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION stockking.outbox_commit_order();

-- What retention has deleted: every seq up to `through` is gone.
CREATE TABLE stockking.outbox_pruned (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    through   bigint NOT NULL,
    pruned_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE stockking.outbox_pruned IS 'the highest outbox seq retention has deleted (one row, absent before the first prune)';

CREATE FUNCTION stockking.prune_outbox(retention interval) RETURNS bigint
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v_through bigint;
    v_count   bigint;
BEGIN
    IF retention IS NULL OR retention < interval '1 hour' THEN
        RAISE EXCEPTION 'retention must be at least 1 hour' USING ERRCODE = '22023';
    END IF;
    -- a prefix in commit order, so that "everything up to through is gone" holds
    SELECT max(seq) INTO v_through FROM stockking.outbox WHERE created_at < now() - retention;
    IF v_through IS NULL THEN
        RETURN 0;
    END IF;
    DELETE FROM stockking.outbox WHERE seq <= v_through;
    GET DIAGNOSTICS v_count = ROW_COUNT;
    INSERT INTO stockking.outbox_pruned AS p (through) VALUES (v_through)
        ON CONFLICT (singleton) DO UPDATE SET through = greatest(p.through, excluded.through), pruned_at = now();
    RETURN v_count;
END
$$;
REVOKE ALL ON FUNCTION stockking.prune_outbox(interval) FROM PUBLIC;
COMMENT ON FUNCTION stockking.prune_outbox(interval) IS
    'operators (pg_cron): delete outbox events older than the retention window (a prefix in commit order); returns how many.  '
    'A client resuming from before it is told to reset (GET /v1/events: event "reset")';

CREATE FUNCTION stockking.event_json(o stockking.outbox) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
    SELECT jsonb_build_object('seq', o.seq, 'id', o.id, 'type', o.event_type, 'audience', o.audience,
                              'user_id', o.user_id, 'payload', o.payload, 'created_at', o.created_at)
    $$;
COMMENT ON FUNCTION stockking.event_json(stockking.outbox) IS
    'an event as the streams send it: {"seq","id","type","audience","user_id" (whom it is about),"payload","created_at"}';

-- USER: the user; PARENTS: the PARENT users of the row's family; FAMILY: both.
CREATE FUNCTION stockking.event_recipients(o stockking.outbox) RETURNS uuid[]
    LANGUAGE sql STABLE SET search_path = pg_catalog, stockking
    AS $$
    SELECT coalesce(array_agg(DISTINCT r ORDER BY r), '{}')
      FROM (SELECT o.user_id WHERE o.audience IN ('USER', 'FAMILY')
            UNION ALL
            SELECT u.id FROM stockking.users u
             WHERE o.audience IN ('PARENTS', 'FAMILY') AND u.family_id = o.family_id AND u.role = 'PARENT') AS t(r)
    $$;
COMMENT ON FUNCTION stockking.event_recipients(stockking.outbox) IS
    'the users an outbox event is for: USER = its user; PARENTS = the PARENT users of its family; FAMILY = both';

CREATE FUNCTION stockking.event_horizon() RETURNS bigint
    LANGUAGE sql STABLE SET search_path = pg_catalog, stockking
    AS $$
    SELECT coalesce((SELECT max(seq) FROM stockking.outbox), (SELECT through FROM stockking.outbox_pruned), 0)
    $$;
COMMENT ON FUNCTION stockking.event_horizon() IS
    'the highest committed outbox seq visible to the calling statement (every smaller seq is visible, pruned or never existed)';

CREATE FUNCTION api.event_feed(args jsonb)
    RETURNS TABLE (seq bigint, event_type text, recipients text, data text, horizon bigint)
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v_after   bigint := stockking.arg_bigint(args, 'after', false);
    v_limit   bigint := coalesce(stockking.arg_bigint(args, 'limit', false), 1000);
    v_horizon bigint;
BEGIN
    IF coalesce(current_setting('request.id', true), '') <> '' OR stockking.uid() IS NOT NULL THEN
        RAISE EXCEPTION 'the event feed is for the proxy''s LISTEN connection, not for requests' USING ERRCODE = '42501';
    END IF;
    IF v_limit NOT BETWEEN 1 AND 10000 THEN
        RAISE EXCEPTION 'field "limit" must be between 1 and 10000' USING ERRCODE = '22023';
    END IF;
    -- STABLE: every query here sees the calling statement's snapshot
    v_horizon := stockking.event_horizon();
    IF v_after IS NOT NULL THEN
        RETURN QUERY
            SELECT o.seq, o.event_type, array_to_string(stockking.event_recipients(o), ','), stockking.event_json(o)::text,
                   v_horizon
              FROM stockking.outbox o WHERE o.seq > v_after ORDER BY o.seq LIMIT v_limit;
    END IF;
    RETURN QUERY SELECT NULL::bigint, NULL::text, NULL::text, NULL::text, v_horizon;
END
$$;
COMMENT ON FUNCTION api.event_feed(jsonb) IS
$$The proxy's fan-out lookup (its LISTEN connection, on NOTIFY stockking_events and after a reconnect): every event after a
seq, in commit order, with its recipients.  Args: {"after": seq (omit: only the horizon), "limit": 1..10000 (default 1000)}.
Rows (seq, event_type, recipients: comma-separated user ids, data: the event JSON, horizon), then one row with seq NULL; the
horizon is the highest committed seq (every smaller one is visible or will never exist).  Not a route: refuses (42501) inside
an HTTP request or with a user identity.$$;

CREATE FUNCTION api.event_replay(args jsonb)
    RETURNS TABLE (seq bigint, event_type text, data text, horizon bigint, pruned boolean)
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v_user    uuid := stockking.require_user();
    v_after   bigint := stockking.arg_bigint(args, 'after', false);
    v_limit   bigint := coalesce(stockking.arg_bigint(args, 'limit', false), 500);
    v_family  uuid;
    v_parent  boolean;
    v_through bigint := coalesce((SELECT p.through FROM stockking.outbox_pruned p), 0);
    v_horizon bigint;
BEGIN
    IF v_limit NOT BETWEEN 1 AND 10000 THEN
        RAISE EXCEPTION 'field "limit" must be between 1 and 10000' USING ERRCODE = '22023';
    END IF;
    IF v_after < 0 THEN
        RAISE EXCEPTION 'field "after" must not be negative' USING ERRCODE = '22023';
    END IF;
    SELECT u.family_id, u.role = 'PARENT' INTO v_family, v_parent FROM stockking.users u WHERE u.id = v_user;
    v_horizon := stockking.event_horizon();
    IF v_after IS NOT NULL THEN
        -- the caller's own USER and FAMILY events (outbox_user_seq), and a
        -- parent's family's PARENTS and FAMILY events (outbox_family_seq)
        RETURN QUERY
            SELECT e.seq, e.event_type, stockking.event_json(e)::text, v_horizon, false
              FROM ((SELECT o.* FROM stockking.outbox o
                      WHERE o.user_id = v_user AND o.seq > v_after AND o.audience IN ('USER', 'FAMILY')
                      ORDER BY o.seq LIMIT v_limit)
                    UNION ALL
                    (SELECT o.* FROM stockking.outbox o
                      WHERE v_parent AND o.family_id = v_family AND o.seq > v_after AND o.audience IN ('PARENTS', 'FAMILY')
                        AND NOT (o.user_id = v_user AND o.audience = 'FAMILY')
                      ORDER BY o.seq LIMIT v_limit)) e
             ORDER BY e.seq LIMIT v_limit;
    END IF;
    RETURN QUERY SELECT NULL::bigint, NULL::text, NULL::text, v_horizon, v_after IS NOT NULL AND v_after < v_through;
END
$$;
COMMENT ON FUNCTION api.event_replay(jsonb) IS
$$The caller's events after a seq, in commit order: the proxy's replay for GET /v1/events (Last-Event-ID) and GET /v1/ws
(resume id).  Args: {"after": seq (omit: only the horizon), "limit": 1..10000 (default 500)}.  Rows (seq, event_type, data:
the event JSON, horizon, pruned), then one row with seq NULL carrying the horizon (the highest committed seq) and pruned (true
when retention deleted events after "after": the client must reload its state).  Errors: 22023 (400); 28000 (401).$$;

-- The OpenAPI document: the route table and the api functions' comments,
-- with the proxy's own endpoints.
CREATE FUNCTION stockking.openapi_path(path text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT regexp_replace(path, ':([A-Za-z0-9_]+)', '{\1}', 'g') $$;

CREATE FUNCTION api.openapi(args jsonb) RETURNS jsonb
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
    WITH op AS (
        SELECT stockking.openapi_path(r.path) AS path, lower(r.method) AS method,
               jsonb_strip_nulls(jsonb_build_object(
                   'operationId', r.fn || CASE WHEN count(*) OVER (PARTITION BY r.fn) > 1
                                              THEN '_' || lower(r.method) ELSE '' END,
                   'summary', r.summary,
                   'description', obj_description(to_regprocedure(format(
                       CASE WHEN r.raw_body THEN 'api.%I(jsonb, bytea)' ELSE 'api.%I(jsonb)' END, r.fn)), 'pg_proc'),
                   'tags', jsonb_build_array(split_part(r.path, '/', 3)),
                   'parameters', nullif((
                       SELECT jsonb_agg(jsonb_build_object('name', substr(seg, 2), 'in', 'path', 'required', true,
                                                           'schema', jsonb_build_object('type', 'string')) ORDER BY n)
                         FROM unnest(string_to_array(r.path, '/')) WITH ORDINALITY AS s(seg, n)
                        WHERE seg LIKE ':%'), 'null'),
                   'requestBody', CASE
                       WHEN r.raw_body THEN jsonb_build_object('required', true, 'content', jsonb_build_object(
                           '*/*', jsonb_build_object('schema', jsonb_build_object('type', 'string', 'format', 'binary',
                                                                                  'maxLength', r.max_body))))
                       WHEN r.method IN ('POST', 'PUT') THEN jsonb_build_object('content', jsonb_build_object(
                           'application/json', jsonb_build_object('schema', jsonb_build_object('type', 'object'))))
                   END,
                   'responses', jsonb_build_object(
                       r.success_status::text, jsonb_build_object('description', 'the function''s result',
                           'content', jsonb_build_object('application/json',
                               jsonb_build_object('schema', jsonb_build_object('type', 'object')))),
                       'default', jsonb_build_object('$ref', '#/components/responses/Error')),
                   'security', CASE WHEN r.roles IS NULL THEN '[]'::jsonb
                                    ELSE jsonb_build_array(jsonb_build_object('bearer', '[]'::jsonb)) END,
                   'x-roles', to_jsonb(r.roles),
                   'x-read-only', r.read_only,
                   'x-rate-limit-class', r.rate_class,
                   'x-max-body', r.max_body,
                   'x-statement-timeout-ms', r.statement_timeout_ms,
                   'x-issues-token', r.token = 'issue',
                   'x-function', 'api.' || r.fn)) AS doc
          FROM stockking.route r
    ),
    own(path, method, doc) AS (VALUES
        ('/health', 'get', jsonb_build_object('summary', 'The process is up (no database)', 'tags', '["operations"]'::jsonb,
            'security', '[]'::jsonb, 'responses', '{"200": {"description": "{\"status\":\"ok\"}"}}'::jsonb)),
        ('/ready', 'get', jsonb_build_object('summary', 'The database is reachable and the routes are loaded',
            'tags', '["operations"]'::jsonb, 'security', '[]'::jsonb,
            'responses', '{"200": {"description": "ready"}, "503": {"$ref": "#/components/responses/Error"}}'::jsonb)),
        ('/metrics', 'get', jsonb_build_object('summary', 'Prometheus metrics (text format 0.0.4)',
            'tags', '["operations"]'::jsonb, 'security', '[]'::jsonb,
            'responses', '{"200": {"description": "metrics", "content": {"text/plain": {}}}}'::jsonb)),
        ('/v1/events', 'get', jsonb_build_object('summary', 'Server-Sent Events: the caller''s events, live',
            'description', 'Event ids are outbox seqs (commit order).  Reconnect with Last-Event-ID (or ?last_event_id=) '
                'to get every event missed, in order, once.  Without it the stream starts now.  Event "reset": events '
                'after the id were pruned; reload state.  Comments (":") are heartbeats.  The token may also come as '
                '?access_token= (EventSource cannot send headers).  The stream ends when the token expires.',
            'tags', '["events"]'::jsonb, 'security', '[{"bearer": []}]'::jsonb,
            'responses', '{"200": {"description": "event stream", "content": {"text/event-stream": {}}}, '
                         '"default": {"$ref": "#/components/responses/Error"}}'::jsonb)),
        ('/v1/ws', 'get', jsonb_build_object('summary', 'The same events over WebSocket',
            'description', 'Send {"type":"subscribe","last_event_id":N} (last_event_id optional); receive '
                '{"type":"subscribed","last_event_id":N}, then {"type":"event","id":seq,"event":type,"data":{...}} and '
                '{"type":"reset",...}.  Pings keep the connection alive.  Close codes: 1001 shutdown, 4001 token expired, '
                '4008 too slow, 1008 bad message.',
            'tags', '["events"]'::jsonb, 'security', '[{"bearer": []}]'::jsonb,
            'responses', '{"101": {"description": "switching protocols"}, "default": {"$ref": "#/components/responses/Error"}}'::jsonb))
    ),
    paths AS (
        SELECT path, jsonb_object_agg(method, doc) AS item
          FROM (SELECT * FROM op UNION ALL SELECT * FROM own) t
         GROUP BY path
    )
    SELECT jsonb_build_object(
        'openapi', '3.0.3',
        'info', jsonb_build_object('title', 'StockKing Kids API', 'version',
                                   (SELECT extversion FROM pg_extension WHERE extname = 'stockking'),
                                   'description', 'Generated from the route table (stockking.route) and the api functions'' '
                                       'comments.  Errors: {"error": {"code": SQLSTATE or PXnnn, "name", "message", '
                                       '"detail"?, "hint"?}}.  Rate-limited responses carry RateLimit-Limit, '
                                       'RateLimit-Remaining and RateLimit-Reset; 429 also Retry-After.'),
        'paths', (SELECT jsonb_object_agg(path, item) FROM paths),
        'components', jsonb_build_object(
            'securitySchemes', '{"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}'::jsonb,
            'schemas', jsonb_build_object('Error', jsonb_build_object('type', 'object', 'required', '["error"]'::jsonb,
                'properties', jsonb_build_object('error', jsonb_build_object('type', 'object',
                    'required', '["code", "name", "message"]'::jsonb,
                    'properties', '{"code": {"type": "string"}, "name": {"type": "string"}, "message": {"type": "string"}, '
                                  '"detail": {"type": "string"}, "hint": {"type": "string"}}'::jsonb)))),
            'responses', jsonb_build_object('Error', jsonb_build_object('description', 'an error',
                'content', jsonb_build_object('application/json', jsonb_build_object('schema',
                    jsonb_build_object('$ref', '#/components/schemas/Error')))))))
    $$;
COMMENT ON FUNCTION api.openapi(jsonb) IS
$$GET /v1/openapi.json: the OpenAPI 3.0 document of every route, generated from the route table and the api functions' comments,
with the proxy's own endpoints (/health, /ready, /metrics, /v1/events, /v1/ws).  Args: {}.$$;

INSERT INTO stockking.route (method, path, fn, roles, read_only, success_status, token, summary) VALUES
    ('POST', '/v1/auth/refresh', 'refresh', NULL, false, 200, 'issue',
     'Rotate a refresh token: a new access token and a new refresh token'),
    ('POST', '/v1/auth/logout', 'logout', NULL, false, 200, 'none', 'Revoke a refresh token''s family (or all of the user''s)'),
    ('GET', '/v1/openapi.json', 'openapi', NULL, true, 200, 'none', 'This API''s OpenAPI document');
-- Accounts, cash ledger, holdings, orders and fills.
--
-- Money is exact: cash and every amount are bigint minor units of the
-- account's currency (KRW: won; USD: cents); prices are numeric with six
-- decimals in major units.  The rounding rules live in extension/money.c.

CREATE TABLE stockking.account (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    family_id        uuid NOT NULL REFERENCES stockking.family (id),
    user_id          uuid NOT NULL REFERENCES stockking.users (id),
    season_id        integer NOT NULL REFERENCES stockking.season (id),
    currency         char(3) NOT NULL,
    cash             bigint NOT NULL CHECK (cash >= 0),
    reserved_cash    bigint NOT NULL DEFAULT 0 CHECK (reserved_cash >= 0 AND reserved_cash <= cash),
    net_contribution bigint NOT NULL DEFAULT 0,
    created_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (user_id, season_id)
);
CREATE INDEX account_family ON stockking.account (family_id);
CREATE INDEX account_season ON stockking.account (season_id);
COMMENT ON TABLE stockking.account IS 'a child''s game-money account in a season; cash = sum of its cash ledger (minor units); reserved_cash is held by open limit buys';
COMMENT ON COLUMN stockking.account.net_contribution IS 'money put in rather than earned by trading (starting cash, rewards, deposits), minor units: the base of the simple return';

ALTER TABLE stockking.users
    ADD FOREIGN KEY (default_account_id) REFERENCES stockking.account (id) DEFERRABLE INITIALLY DEFERRED;

-- The cash ledger is append-only: a trigger refuses UPDATE and DELETE, and
-- the api role is granted INSERT and SELECT only.
CREATE TABLE stockking.cash_ledger (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id      bigint NOT NULL REFERENCES stockking.account (id),
    family_id       uuid NOT NULL,
    user_id         uuid NOT NULL,
    entry_type      text NOT NULL CHECK (entry_type IN ('DEPOSIT', 'BUY', 'SELL', 'FEE', 'TAX', 'REWARD')),
    amount          bigint NOT NULL CHECK (amount <> 0),
    is_contribution boolean NOT NULL DEFAULT false,
    order_id        bigint,
    fill_id         bigint,
    market_date     date,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX cash_ledger_account ON stockking.cash_ledger (account_id, id);
COMMENT ON TABLE stockking.cash_ledger IS 'append-only journal of an account''s cash, minor units, signed (+ in, - out); the balance is its sum';

CREATE FUNCTION stockking.refuse_change() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = '42501';
END
$$;
CREATE TRIGGER cash_ledger_append_only BEFORE UPDATE OR DELETE ON stockking.cash_ledger
    FOR EACH ROW EXECUTE FUNCTION stockking.refuse_change();

CREATE TABLE stockking.holding (
    account_id        bigint NOT NULL REFERENCES stockking.account (id),
    symbol            text NOT NULL REFERENCES stockking.instrument (symbol),
    family_id         uuid NOT NULL,
    user_id           uuid NOT NULL,
    quantity          bigint NOT NULL CHECK (quantity >= 0),
    reserved_quantity bigint NOT NULL DEFAULT 0 CHECK (reserved_quantity >= 0 AND reserved_quantity <= quantity),
    cost_basis        bigint NOT NULL DEFAULT 0 CHECK (cost_basis >= 0),
    realized_pnl      bigint NOT NULL DEFAULT 0,
    updated_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, symbol)
);
COMMENT ON TABLE stockking.holding IS 'a position: quantity (shares), reserved_quantity (held by open sells), cost_basis (minor units, buy fees included; average-cost method), realized_pnl (minor units, net of fees and taxes)';

CREATE TABLE stockking.orders (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    family_id          uuid NOT NULL,
    user_id            uuid NOT NULL REFERENCES stockking.users (id),
    account_id         bigint NOT NULL REFERENCES stockking.account (id),
    season_id          integer NOT NULL REFERENCES stockking.season (id),
    client_order_id    text CHECK (client_order_id ~ '^[A-Za-z0-9_.:-]{1,64}$'),
    symbol             text NOT NULL REFERENCES stockking.instrument (symbol),
    side               text NOT NULL CHECK (side IN ('BUY', 'SELL')),
    order_type         text NOT NULL CHECK (order_type IN ('MARKET', 'LIMIT')),
    time_in_force      text NOT NULL CHECK (time_in_force IN ('DAY', 'GTC')),
    quantity           bigint NOT NULL CHECK (quantity > 0),
    limit_price        numeric(20, 6) CHECK (limit_price > 0),
    status             text NOT NULL CHECK (status IN ('NEW', 'PARTIALLY_FILLED', 'FILLED', 'CANCELED', 'REJECTED', 'EXPIRED')),
    filled_quantity    bigint NOT NULL DEFAULT 0 CHECK (filled_quantity >= 0 AND filled_quantity <= quantity),
    average_fill_price numeric(20, 6),
    gross_amount       bigint NOT NULL DEFAULT 0,
    fees               bigint NOT NULL DEFAULT 0,
    taxes              bigint NOT NULL DEFAULT 0,
    reserved_cash      bigint NOT NULL DEFAULT 0 CHECK (reserved_cash >= 0),
    reserved_quantity  bigint NOT NULL DEFAULT 0 CHECK (reserved_quantity >= 0),
    placed_bar_date    date NOT NULL,
    status_reason      text,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CHECK ((order_type = 'LIMIT') = (limit_price IS NOT NULL))
);
CREATE UNIQUE INDEX orders_client_order_id ON stockking.orders (user_id, client_order_id) WHERE client_order_id IS NOT NULL;
CREATE INDEX orders_account ON stockking.orders (account_id, id);
CREATE INDEX orders_open ON stockking.orders (season_id, symbol, id) WHERE status IN ('NEW', 'PARTIALLY_FILLED');
COMMENT ON TABLE stockking.orders IS 'an order: MARKET or LIMIT, BUY or SELL, whole shares; amounts in minor units; placed_bar_date is the season clock when placed (a limit order can fill only on later bars)';

CREATE TABLE stockking.fill (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id   bigint NOT NULL REFERENCES stockking.orders (id),
    account_id bigint NOT NULL REFERENCES stockking.account (id),
    family_id  uuid NOT NULL,
    user_id    uuid NOT NULL,
    symbol     text NOT NULL,
    side       text NOT NULL,
    quantity   bigint NOT NULL CHECK (quantity > 0),
    price      numeric(20, 6) NOT NULL CHECK (price > 0),
    gross      bigint NOT NULL,
    fee        bigint NOT NULL,
    tax        bigint NOT NULL,
    bar_date   date NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX fill_order ON stockking.fill (order_id);
CREATE INDEX fill_account ON stockking.fill (account_id, id);
COMMENT ON TABLE stockking.fill IS 'an execution: quantity at price (major units), gross = quantity x price rounded half-up to minor units, fee and tax truncated to minor units';

-- Row-level security on every family-owned table.
ALTER TABLE stockking.account ENABLE ROW LEVEL SECURITY;
ALTER TABLE stockking.cash_ledger ENABLE ROW LEVEL SECURITY;
ALTER TABLE stockking.holding ENABLE ROW LEVEL SECURITY;
ALTER TABLE stockking.orders ENABLE ROW LEVEL SECURITY;
ALTER TABLE stockking.fill ENABLE ROW LEVEL SECURITY;

CREATE POLICY account_read ON stockking.account FOR SELECT USING (stockking.can_read(family_id, user_id));
CREATE POLICY account_update ON stockking.account FOR UPDATE USING (stockking.can_write(user_id));
CREATE POLICY ledger_read ON stockking.cash_ledger FOR SELECT USING (stockking.can_read(family_id, user_id));
CREATE POLICY ledger_insert ON stockking.cash_ledger FOR INSERT WITH CHECK (stockking.can_write(user_id));
CREATE POLICY holding_read ON stockking.holding FOR SELECT USING (stockking.can_read(family_id, user_id));
CREATE POLICY holding_insert ON stockking.holding FOR INSERT WITH CHECK (stockking.can_write(user_id));
CREATE POLICY holding_update ON stockking.holding FOR UPDATE USING (stockking.can_write(user_id));
CREATE POLICY orders_read ON stockking.orders FOR SELECT USING (stockking.can_read(family_id, user_id));
CREATE POLICY orders_insert ON stockking.orders FOR INSERT WITH CHECK (stockking.can_write(user_id));
CREATE POLICY orders_update ON stockking.orders FOR UPDATE USING (stockking.can_write(user_id));
CREATE POLICY fill_read ON stockking.fill FOR SELECT USING (stockking.can_read(family_id, user_id));
CREATE POLICY fill_insert ON stockking.fill FOR INSERT WITH CHECK (stockking.can_write(user_id));

GRANT SELECT, UPDATE ON stockking.account, stockking.holding, stockking.orders TO stockking_definer;
GRANT INSERT ON stockking.holding, stockking.orders TO stockking_definer;
GRANT SELECT, INSERT ON stockking.cash_ledger, stockking.fill TO stockking_definer;
GRANT SELECT ON stockking.season, stockking.instrument, stockking.market, stockking.tick_band, stockking.price_bar
    TO stockking_definer;

-- Opening an account: the starting cash is the first ledger entry, a
-- contribution.  Internal; called by sign-up (default season) and by
-- api.join_season.
CREATE FUNCTION stockking.open_account(p_user uuid, p_season integer) RETURNS stockking.account
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    s stockking.season;
    u stockking.users;
    a stockking.account;
BEGIN
    SELECT * INTO u FROM stockking.users WHERE id = p_user;
    SELECT * INTO s FROM stockking.season WHERE id = p_season;
    IF s.id IS NULL THEN
        RAISE EXCEPTION 'season % does not exist', p_season USING ERRCODE = 'P0002';
    END IF;
    IF u.role <> 'CHILD' THEN
        RAISE EXCEPTION 'only a child holds trading accounts' USING ERRCODE = 'SK009';
    END IF;
    IF s.status <> 'OPEN' THEN
        RAISE EXCEPTION 'season % is closed', s.code USING ERRCODE = 'SK005';
    END IF;
    IF EXISTS (SELECT 1 FROM stockking.account WHERE user_id = p_user AND season_id = p_season) THEN
        RAISE EXCEPTION 'already joined season %', s.code USING ERRCODE = 'SK008';
    END IF;
    INSERT INTO stockking.account (family_id, user_id, season_id, currency, cash, net_contribution)
        VALUES (u.family_id, u.id, s.id, s.currency, s.starting_cash, s.starting_cash)
        RETURNING * INTO a;
    INSERT INTO stockking.cash_ledger (account_id, family_id, user_id, entry_type, amount, is_contribution, market_date)
        VALUES (a.id, a.family_id, a.user_id, 'DEPOSIT', s.starting_cash, true, stockking.season_clock(s.id));
    UPDATE stockking.users SET default_account_id = a.id WHERE id = u.id;
    RETURN a;
END
$$;
REVOKE ALL ON FUNCTION stockking.open_account(uuid, integer) FROM PUBLIC;

-- The account a trading call acts on: the caller's account in args.season_id,
-- or their default account.
CREATE FUNCTION stockking.resolve_account(args jsonb) RETURNS bigint
    AS 'MODULE_PATHNAME', 'stockking_resolve_account' LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION stockking.resolve_account(jsonb) IS
    'the caller''s account in args.season_id, or their default account (the season joined last); SK010 when there is none';

CREATE FUNCTION stockking.money_json(minor bigint, currency char(3)) RETURNS numeric
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT CASE WHEN currency = 'KRW' THEN minor::numeric ELSE round(minor / 100.0, 2) END $$;
COMMENT ON FUNCTION stockking.money_json(bigint, char) IS 'minor units to an exact decimal in major units (KRW 0 decimals, others 2)';

CREATE FUNCTION stockking.order_json(o stockking.orders) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    AS $$
BEGIN
    RETURN (SELECT jsonb_build_object(
        'id', o.id, 'client_order_id', o.client_order_id, 'account_id', o.account_id, 'season_id', o.season_id,
        'symbol', o.symbol, 'side', o.side, 'type', o.order_type, 'time_in_force', o.time_in_force,
        'quantity', o.quantity, 'limit_price', o.limit_price, 'status', o.status,
        'filled_quantity', o.filled_quantity, 'average_fill_price', o.average_fill_price,
        'currency', a.currency,
        'gross_amount', stockking.money_json(o.gross_amount, a.currency),
        'fees', stockking.money_json(o.fees, a.currency), 'taxes', stockking.money_json(o.taxes, a.currency),
        'reserved_cash', stockking.money_json(o.reserved_cash, a.currency),
        'placed_bar_date', o.placed_bar_date, 'status_reason', o.status_reason,
        'created_at', o.created_at, 'updated_at', o.updated_at,
        'fills', coalesce((SELECT jsonb_agg(jsonb_build_object('id', f.id, 'quantity', f.quantity, 'price', f.price,
                                                               'gross', stockking.money_json(f.gross, a.currency),
                                                               'fee', stockking.money_json(f.fee, a.currency),
                                                               'tax', stockking.money_json(f.tax, a.currency),
                                                               'bar_date', f.bar_date) ORDER BY f.id)
                             FROM stockking.fill f WHERE f.order_id = o.id), '[]'))
      FROM stockking.account a WHERE a.id = o.account_id);
END
$$;
COMMENT ON FUNCTION stockking.order_json(stockking.orders) IS 'an order as the API shows it: amounts in major units of the account currency, prices in major units';
-- Trading API: the C functions of extension/trade.c and returns.c, and the
-- SQL ones around them.  Every api function runs as stockking_definer, so
-- row-level security applies; only stockking_api may execute them.

CREATE FUNCTION api.place_order(args jsonb) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'stockking_place_order'
    LANGUAGE C VOLATILE STRICT SECURITY DEFINER SET search_path = pg_catalog, stockking;
COMMENT ON FUNCTION api.place_order(jsonb) IS
$$Place an order in the caller's account.
Args: {"symbol": text, "side": "BUY"|"SELL", "type": "MARKET"|"LIMIT", "quantity": whole shares 1..1000000,
       "limit_price": decimal (LIMIT only; a multiple of the market's tick), "time_in_force": "DAY"|"GTC" (default DAY;
       DAY = good for the next session only), "client_order_id": text (optional idempotency key, 1..64 of A-Za-z0-9_.:-),
       "season_id": integer (optional; default: the account joined last)}.
A MARKET order fills at once at the close of the latest bar at or before the season's clock.  A LIMIT order rests (NEW),
reserving its cost (buy) or its shares (sell), and fills on a later bar that reaches its price: at the limit, or at the
open when the bar opens through it.
Returns the order: {"id","status","filled_quantity","average_fill_price","gross_amount","fees","taxes","fills":[...],...};
amounts in major units of the account's currency (exact decimals), prices in major units (6 decimals).
Fees: gross x commission rate, tax (sells) gross x tax rate, both truncated to the minor unit; gross = quantity x price
rounded half up (stockking.market gives the rates and their sources).
Errors: 22023 (400) bad field, side, type, time in force or lot; 22003 (400) quantity or price out of range;
SK007 (400) limit price off tick; P0002 (404) unknown symbol; SK010 (404) no account in the season;
SK001 (422) insufficient funds; SK002 (422) insufficient holding; SK006 (422) no price at the clock;
SK003 (409) client_order_id reused with a different order; SK005 (409) season closed; 28000 (401) no identity.$$;

CREATE FUNCTION api.cancel_order(args jsonb) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'stockking_cancel_order'
    LANGUAGE C VOLATILE STRICT SECURITY DEFINER SET search_path = pg_catalog, stockking;
COMMENT ON FUNCTION api.cancel_order(jsonb) IS
$$Cancel one of the caller's open orders and release what it reserved.  Args: {"id": order id}.
Returns the order (status CANCELED).
Errors: P0002 (404) no such order of the caller; SK004 (409) the order is not NEW or PARTIALLY_FILLED; 28000 (401).$$;

CREATE FUNCTION api.get_portfolio(args jsonb) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'stockking_get_portfolio'
    LANGUAGE C STABLE STRICT SECURITY DEFINER SET search_path = pg_catalog, stockking;
COMMENT ON FUNCTION api.get_portfolio(jsonb) IS
$$The caller's portfolio at the season's clock.  Args: {"season_id": integer (optional: default account)}.
Returns {"account_id","season_id","season","currency","clock" (date), "cash","reserved_cash","available_cash",
"market_value","total_value","net_contribution","profit","unrealized_pnl","realized_pnl" (major units),
"simple_return" (ratio, 6 decimals: (total_value - net_contribution) / net_contribution), "simple_return_pct" (percent),
"holdings": [{"symbol","name","quantity","reserved_quantity","average_cost","cost_basis","current_price","price_date",
"market_value","unrealized_pnl","unrealized_return","unrealized_return_pct","realized_pnl"}]}.
Holdings are valued at the close of their latest bar at or before the clock.
Errors: SK010 (404) no account in the season; 22023 (400) bad season_id; 28000 (401).$$;

CREATE FUNCTION api.get_holdings(args jsonb) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'stockking_get_holdings'
    LANGUAGE C STABLE STRICT SECURITY DEFINER SET search_path = pg_catalog, stockking;
COMMENT ON FUNCTION api.get_holdings(jsonb) IS
$$The caller's open positions.  Args: {"season_id": integer (optional)}.
Returns {"account_id","currency","items":[...]} with the items of api.get_portfolio.  Errors as api.get_portfolio.$$;

CREATE FUNCTION api.advance_clock(season_id integer, bars integer) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'stockking_advance_clock'
    LANGUAGE C VOLATILE STRICT SECURITY DEFINER SET search_path = pg_catalog, stockking;
COMMENT ON FUNCTION api.advance_clock(integer, integer) IS
$$Move a REPLAY season's clock forward by bars (1..5000) bars of its calendar instrument, matching resting limit orders
on each bar and expiring DAY orders their next session did not fill.  A database superuser or an ADMIN user only.
Returns {"season_id","clock" (date),"bars_advanced","fills","expired","at_end" (true when the data ran out)}.
Errors: 42501 (403) not ADMIN; 22023 (400) bars out of range or a LIVE season; P0002 (404) no such season;
SK005 (409) season closed; SK012 (409) the clock is at the last bar of the data.$$;

CREATE FUNCTION api.admin_advance_season(args jsonb) RETURNS jsonb
    LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$ SELECT api.advance_clock(stockking.arg_bigint(args, 'id')::integer, stockking.arg_bigint(args, 'bars')::integer) $$;
COMMENT ON FUNCTION api.admin_advance_season(jsonb) IS
$$POST /v1/admin/seasons/:id/advance {"bars": n}: api.advance_clock for an ADMIN token.  Errors as api.advance_clock.$$;

CREATE FUNCTION api.join_season(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    a stockking.account := stockking.open_account(stockking.require_user(), stockking.arg_bigint(args, 'id')::integer);
BEGIN
    RETURN jsonb_build_object('account_id', a.id, 'season_id', a.season_id, 'currency', a.currency,
                              'cash', stockking.money_json(a.cash, a.currency));
END
$$;
COMMENT ON FUNCTION api.join_season(jsonb) IS
$$Open the caller's account in a season with its starting cash; it becomes the default account.  Args: {"id": season id}.
Returns {"account_id","season_id","currency","cash" (major units)}.
Errors: P0002 (404) no such season; SK009 (403) not a CHILD; SK005 (409) season closed; SK008 (409) joined already.$$;

CREATE FUNCTION api.get_order(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    o stockking.orders;
BEGIN
    PERFORM stockking.require_user();
    SELECT * INTO o FROM stockking.orders WHERE id = stockking.arg_bigint(args, 'id');
    IF o.id IS NULL THEN
        RAISE EXCEPTION 'order % not found', args ->> 'id' USING ERRCODE = 'P0002';
    END IF;
    RETURN stockking.order_json(o);
END
$$;
COMMENT ON FUNCTION api.get_order(jsonb) IS
$$One order with its fills.  Args: {"id": order id}.  Returns the order as api.place_order does.
Errors: P0002 (404) no such order visible to the caller; 22023 (400) bad id; 28000 (401).$$;

CREATE FUNCTION api.list_history(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v_account bigint := stockking.resolve_account(args);
    v_limit   bigint := coalesce(stockking.arg_bigint(args, 'limit', false), 20);
    v_before  bigint := stockking.arg_bigint(args, 'before', false);
    v_items   jsonb;
    v_last    bigint;
    v_count   integer;
BEGIN
    IF v_limit NOT BETWEEN 1 AND 100 THEN
        RAISE EXCEPTION 'field "limit" must be between 1 and 100' USING ERRCODE = '22023';
    END IF;
    SELECT coalesce(jsonb_agg(stockking.order_json(o) ORDER BY o.id DESC), '[]'), min(o.id), count(*)
      INTO v_items, v_last, v_count
      FROM (SELECT * FROM stockking.orders
             WHERE account_id = v_account AND (v_before IS NULL OR id < v_before)
             ORDER BY id DESC LIMIT v_limit) o;
    RETURN jsonb_build_object('account_id', v_account, 'items', v_items,
                              'next_before', CASE WHEN v_count = v_limit THEN v_last END);
END
$$;
COMMENT ON FUNCTION api.list_history(jsonb) IS
$$The caller's orders with their fills, newest first, in pages.
Args: {"season_id": integer (optional), "limit": 1..100 (default 20), "before": order id (the previous page's next_before)}.
Returns {"account_id","items":[order...],"next_before": order id or null when this is the last page}.
Errors: SK010 (404) no account; 22023 (400) bad limit or before; 28000 (401).$$;

ALTER FUNCTION api.place_order(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.cancel_order(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.get_portfolio(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.get_holdings(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.advance_clock(integer, integer) OWNER TO stockking_definer;
ALTER FUNCTION api.admin_advance_season(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.join_season(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.get_order(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.list_history(jsonb) OWNER TO stockking_definer;
GRANT SELECT ON stockking.users TO stockking_definer;
GRANT UPDATE ON stockking.season TO stockking_definer;
GRANT EXECUTE ON FUNCTION stockking.open_account(uuid, integer) TO stockking_definer;

INSERT INTO stockking.route (method, path, fn, roles, read_only, success_status, token, summary) VALUES
    ('POST', '/v1/auth/signup', 'signup', NULL, false, 201, 'none', 'Sign up a CHILD or PARENT'),
    ('POST', '/v1/auth/login', 'login', NULL, false, 200, 'issue', 'Log in: an access token (JWT, 15 minutes)'),
    ('GET', '/v1/users/me', 'me', '{}', true, 200, 'none', 'The signed-in user and their accounts'),
    ('POST', '/v1/seasons/:id/join', 'join_season', '{CHILD}', false, 201, 'none', 'Open an account in a season'),
    ('POST', '/v1/trading/orders', 'place_order', '{CHILD}', false, 201, 'none', 'Place an order'),
    ('GET', '/v1/trading/orders/:id', 'get_order', '{}', true, 200, 'none', 'One order with its fills'),
    ('DELETE', '/v1/trading/orders/:id', 'cancel_order', '{CHILD}', false, 200, 'none', 'Cancel an open order'),
    ('GET', '/v1/trading/portfolio', 'get_portfolio', '{}', true, 200, 'none', 'Cash, value and returns of an account'),
    ('GET', '/v1/trading/holdings', 'get_holdings', '{}', true, 200, 'none', 'Positions of an account'),
    ('GET', '/v1/trading/history', 'list_history', '{}', true, 200, 'none', 'Orders and fills, newest first, paginated'),
    ('POST', '/v1/admin/seasons/:id/advance', 'admin_advance_season', '{ADMIN}', false, 200, 'none',
     'Advance a replay season''s clock by n bars');
-- Pocket-money ledger: merchants, entries, the chat flow, CSV imports,
-- monthly summaries and budgets.  The sentence parser and the CSV reader
-- are C (extension/ledger_parse.c, extension/ledger_import.c).
--
-- Amounts are bigint won, 1 .. 1,000,000,000 (seed 000 section 2.5); dates
-- are calendar dates in Asia/Seoul, never after today; memo <= 500
-- characters, category <= 50.

INSERT INTO stockking.error_code VALUES
    ('SK101', 422, 'ledger_future_date', 'the sentence or row names a date after today (or after the reference date)'),
    ('SK102', 422, 'ledger_amount_range', 'an amount outside 1 .. 1,000,000,000 won'),
    ('SK103', 400, 'ledger_text_too_long', 'a ledger sentence or memo longer than 500 characters'),
    ('SK105', 409, 'ledger_pending_expired', 'the pending chat entry expired before it was confirmed'),
    ('SK106', 409, 'ledger_pending_closed', 'the pending chat entry was confirmed or canceled already'),
    ('SK107', 422, 'ledger_amount_missing', 'a pending chat entry has no amount yet: answer the question first'),
    ('SK108', 400, 'ledger_bad_file', 'the uploaded file is empty, not text in UTF-8 or CP949/EUC-KR, or has no rows'),
    ('SK109', 409, 'ledger_import_closed', 'the import was committed already'),
    ('SK110', 422, 'ledger_import_row_errors', 'the import has rows with errors; fix the mapping or commit with skip_invalid'),
    ('SK111', 422, 'ledger_mapping', 'the column mapping lacks a date or an amount column, or names a column the file does not have'),
    ('SK112', 404, 'ledger_nothing_to_change', 'there is no ledger entry to modify or delete yet');

-- The parser's record, for SQL clients (api.parse_ledger_text(text, date)).
CREATE TYPE stockking.ledger_parse_result AS (
    kind        text,
    intent      text,
    amount      bigint,
    date        date,
    merchant    text,
    category    text,
    memo        text,
    confidence  numeric,
    reasons     text[],
    question    text,
    period_from date,
    period_to   date
);
COMMENT ON TYPE stockking.ledger_parse_result IS 'a parsed ledger sentence (see api.parse_ledger_text)';

CREATE FUNCTION stockking.ledger_today() RETURNS date
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT (now() AT TIME ZONE 'Asia/Seoul')::date $$;
COMMENT ON FUNCTION stockking.ledger_today() IS 'today in Asia/Seoul: the reference date of the chat and the latest date an entry may have';

CREATE FUNCTION stockking.ledger_categories() RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT ARRAY['식비', '카페/음료', '편의점', '교통', '쇼핑', '문화/여가', '교육/도서', '의료/건강', '통신',
                       '선물/경조사', '저축/투자', '기부', '기타', '용돈', '기타수입'] $$;
COMMENT ON FUNCTION stockking.ledger_categories() IS 'the standard categories: 13 for expenses, then 용돈 and 기타수입 for income';

-- Merchants: brands and their aliases.  Rows without a family are global
-- (ADMIN maintains them); a family's own rows are seen by that family only.
CREATE TABLE stockking.merchant (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    family_id  uuid REFERENCES stockking.family (id),
    name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    category   text NOT NULL CHECK (category = ANY (stockking.ledger_categories())),
    aliases    text[] NOT NULL DEFAULT '{}' CHECK (cardinality(aliases) <= 20),
    created_by uuid,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX merchant_global_name ON stockking.merchant (name) WHERE family_id IS NULL;
CREATE UNIQUE INDEX merchant_family_name ON stockking.merchant (family_id, name) WHERE family_id IS NOT NULL;
COMMENT ON TABLE stockking.merchant IS
    'brands the parser knows: canonical name, category, aliases (matched case-insensitively, longest first); family_id NULL = global';

CREATE FUNCTION stockking.ledger_merchant_changed() RETURNS trigger
    AS 'MODULE_PATHNAME', 'stockking_ledger_merchant_changed'
    LANGUAGE C;
COMMENT ON FUNCTION stockking.ledger_merchant_changed() IS
    'statement trigger: invalidates every backend''s cached merchant dictionary (relcache invalidation of stockking.merchant)';
CREATE TRIGGER merchant_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON stockking.merchant
    FOR EACH STATEMENT EXECUTE FUNCTION stockking.ledger_merchant_changed();

INSERT INTO stockking.merchant (name, category, aliases) VALUES
    ('스타벅스', '카페/음료', '{스벅,starbucks,별다방}'),
    ('투썸플레이스', '카페/음료', '{투썸,투썸 플레이스,twosome}'),
    ('이디야커피', '카페/음료', '{이디야,ediya}'),
    ('메가MGC커피', '카페/음료', '{메가커피,메가 커피,메가MGC,메가엠지씨}'),
    ('빽다방', '카페/음료', '{빽다}'),
    ('컴포즈커피', '카페/음료', '{컴포즈}'),
    ('할리스', '카페/음료', '{할리스커피}'),
    ('커피빈', '카페/음료', '{coffee bean}'),
    ('폴바셋', '카페/음료', '{}'),
    ('공차', '카페/음료', '{gong cha}'),
    ('쥬씨', '카페/음료', '{}'),
    ('더벤티', '카페/음료', '{벤티}'),
    ('파스쿠찌', '카페/음료', '{}'),
    ('탐앤탐스', '카페/음료', '{탐탐}'),
    ('배스킨라빈스', '카페/음료', '{배라,배스킨,베스킨라빈스,br31}'),
    ('설빙', '카페/음료', '{}'),
    ('GS25', '편의점', '{지에스25,gs 25,gs편의점,지에스}'),
    ('CU', '편의점', '{씨유}'),
    ('세븐일레븐', '편의점', '{세븐,7-eleven,7eleven,7일레븐}'),
    ('이마트24', '편의점', '{이마트 24,emart24}'),
    ('미니스톱', '편의점', '{}'),
    ('맥도날드', '식비', '{맥날,mcdonalds,맥도널드}'),
    ('롯데리아', '식비', '{롯리}'),
    ('버거킹', '식비', '{버킹}'),
    ('맘스터치', '식비', '{맘터}'),
    ('KFC', '식비', '{케이에프씨}'),
    ('서브웨이', '식비', '{subway}'),
    ('김밥천국', '식비', '{김천}'),
    ('파리바게뜨', '식비', '{파바,빠리바게뜨,파리바게트}'),
    ('뚜레쥬르', '식비', '{뚜쥬}'),
    ('던킨', '식비', '{던킨도너츠}'),
    ('BBQ', '식비', '{비비큐}'),
    ('BHC', '식비', '{비에이치씨}'),
    ('교촌치킨', '식비', '{교촌}'),
    ('굽네치킨', '식비', '{굽네}'),
    ('도미노피자', '식비', '{도미노}'),
    ('피자헛', '식비', '{}'),
    ('엽기떡볶이', '식비', '{엽떡}'),
    ('신전떡볶이', '식비', '{신전}'),
    ('배달의민족', '식비', '{배민}'),
    ('요기요', '식비', '{}'),
    ('쿠팡이츠', '식비', '{}'),
    ('본죽', '식비', '{}'),
    ('이삭토스트', '식비', '{이삭}'),
    ('봉구스밥버거', '식비', '{봉구스}'),
    ('다이소', '쇼핑', '{daiso}'),
    ('올리브영', '쇼핑', '{올영,oliveyoung}'),
    ('쿠팡', '쇼핑', '{coupang}'),
    ('이마트', '쇼핑', '{emart}'),
    ('홈플러스', '쇼핑', '{}'),
    ('롯데마트', '쇼핑', '{}'),
    ('무신사', '쇼핑', '{}'),
    ('에이블리', '쇼핑', '{}'),
    ('지그재그', '쇼핑', '{}'),
    ('아트박스', '쇼핑', '{}'),
    ('11번가', '쇼핑', '{십일번가}'),
    ('G마켓', '쇼핑', '{지마켓}'),
    ('유니클로', '쇼핑', '{}'),
    ('탑텐', '쇼핑', '{}'),
    ('스파오', '쇼핑', '{}'),
    ('나이키', '쇼핑', '{nike}'),
    ('아디다스', '쇼핑', '{adidas}'),
    ('교보문고', '교육/도서', '{교보}'),
    ('영풍문고', '교육/도서', '{영풍}'),
    ('알라딘', '교육/도서', '{}'),
    ('예스24', '교육/도서', '{yes24}'),
    ('핫트랙스', '교육/도서', '{}'),
    ('CGV', '문화/여가', '{씨지브이}'),
    ('메가박스', '문화/여가', '{}'),
    ('롯데시네마', '문화/여가', '{}'),
    ('코인노래방', '문화/여가', '{코노}'),
    ('넷플릭스', '문화/여가', '{netflix}'),
    ('유튜브 프리미엄', '문화/여가', '{유튜브프리미엄,유튭 프리미엄}'),
    ('멜론', '문화/여가', '{melon}'),
    ('닌텐도', '문화/여가', '{nintendo}'),
    ('구글플레이', '문화/여가', '{구글 플레이,google play}'),
    ('앱스토어', '문화/여가', '{app store}'),
    ('롯데월드', '문화/여가', '{}'),
    ('에버랜드', '문화/여가', '{}'),
    ('카카오T', '교통', '{카카오택시,카카오 택시}'),
    ('티머니', '교통', '{t-money,tmoney}'),
    ('코레일', '교통', '{korail}'),
    ('SRT', '교통', '{}'),
    ('따릉이', '교통', '{}'),
    ('SKT', '통신', '{sk텔레콤}'),
    ('KT', '통신', '{케이티}'),
    ('LG U+', '통신', '{lgu+,유플러스,lg유플러스}'),
    ('유니세프', '기부', '{unicef}'),
    ('굿네이버스', '기부', '{}'),
    ('월드비전', '기부', '{}'),
    ('초록우산', '기부', '{어린이재단}'),
    ('카카오톡 선물하기', '선물/경조사', '{선물하기,카톡 선물하기}');

-- Ledger entries: real pocket money, spent or received.
CREATE TABLE stockking.ledger_entry (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    family_id   uuid NOT NULL,
    user_id     uuid NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('EXPENSE', 'INCOME')),
    entry_date  date NOT NULL,
    amount      bigint NOT NULL CHECK (amount BETWEEN 1 AND 1000000000),
    merchant    text CHECK (length(merchant) BETWEEN 1 AND 100),
    category    text NOT NULL CHECK (length(category) BETWEEN 1 AND 50),
    memo        text NOT NULL DEFAULT '' CHECK (length(memo) <= 500),
    source      text NOT NULL CHECK (source IN ('CHAT', 'IMPORT')),
    import_id   bigint,
    fingerprint uuid,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ledger_entry_user_date ON stockking.ledger_entry (user_id, entry_date, id);
CREATE INDEX ledger_entry_family ON stockking.ledger_entry (family_id);
CREATE UNIQUE INDEX ledger_entry_fingerprint ON stockking.ledger_entry (user_id, fingerprint) WHERE fingerprint IS NOT NULL;
COMMENT ON TABLE stockking.ledger_entry IS
    'a ledger entry: EXPENSE or INCOME of amount won (1 .. 1e9) on entry_date; fingerprint identifies an imported row so a file imported twice adds nothing';
COMMENT ON COLUMN stockking.ledger_entry.user_id IS
    'the owner; like cash_ledger, no foreign key: rows are written only by api functions with the caller''s own ids, and two foreign-key triggers per row would halve the import rate';

-- The chat's pending entries: a parse awaiting confirmation (ADD), or a
-- change to a saved entry awaiting confirmation (MODIFY, DELETE).
CREATE TABLE stockking.ledger_pending (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    family_id       uuid NOT NULL REFERENCES stockking.family (id),
    user_id         uuid NOT NULL REFERENCES stockking.users (id),
    action          text NOT NULL CHECK (action IN ('ADD', 'MODIFY', 'DELETE')),
    target_entry_id bigint,
    message         text NOT NULL,
    parse           jsonb NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('EXPENSE', 'INCOME')),
    amount          bigint CHECK (amount BETWEEN 1 AND 1000000000),
    entry_date      date NOT NULL,
    merchant        text,
    category        text NOT NULL CHECK (length(category) BETWEEN 1 AND 50),
    memo            text NOT NULL DEFAULT '' CHECK (length(memo) <= 500),
    duplicate_of    bigint,
    status          text NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'CONFIRMED', 'CANCELED', 'EXPIRED')),
    entry_id        bigint,
    expires_at      timestamptz NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ledger_pending_user ON stockking.ledger_pending (user_id, id DESC) WHERE status = 'PENDING';
CREATE INDEX ledger_pending_family ON stockking.ledger_pending (family_id);
COMMENT ON TABLE stockking.ledger_pending IS
    'a chat message awaiting confirmation: ADD a new entry, MODIFY or DELETE target_entry_id; expires 10 minutes after its last change';

-- CSV imports: the file, its detected shape and mapping, until committed.
CREATE TABLE stockking.ledger_import (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    family_id       uuid NOT NULL REFERENCES stockking.family (id),
    user_id         uuid NOT NULL REFERENCES stockking.users (id),
    file_sha256     text NOT NULL,
    body            bytea,
    bytes           integer NOT NULL,
    inspect         jsonb NOT NULL,
    mapping         jsonb NOT NULL,
    status          text NOT NULL DEFAULT 'PREVIEW' CHECK (status IN ('PREVIEW', 'COMMITTED')),
    row_count       integer NOT NULL DEFAULT 0,
    error_count     integer NOT NULL DEFAULT 0,
    inserted        integer,
    duplicates      integer,
    skipped_invalid integer,
    created_at      timestamptz NOT NULL DEFAULT now(),
    committed_at    timestamptz
);
CREATE INDEX ledger_import_user ON stockking.ledger_import (user_id, id DESC);
CREATE INDEX ledger_import_family ON stockking.ledger_import (family_id);
COMMENT ON TABLE stockking.ledger_import IS
    'an uploaded CSV: PREVIEW keeps the file (body) for the commit; COMMITTED drops it and records what was added';

-- The monthly summary per user, kind and category, maintained in the same
-- transaction as the entries by statement triggers over transition tables
-- (one grouped upsert per statement, whatever its row count), and rebuilt
-- from the entries by stockking.ledger_refresh_summary() (pg_cron, nightly)
-- as a check that nothing drifted.
CREATE TABLE stockking.ledger_monthly (
    user_id   uuid NOT NULL,
    month     date NOT NULL CHECK (extract(day FROM month) = 1),
    kind      text NOT NULL,
    category  text NOT NULL,
    family_id uuid NOT NULL,
    total     bigint NOT NULL,
    entries   integer NOT NULL,
    PRIMARY KEY (user_id, month, kind, category)
);
CREATE INDEX ledger_monthly_family ON stockking.ledger_monthly (family_id);
COMMENT ON TABLE stockking.ledger_monthly IS
    'sum (won) and count of a user''s entries per month, kind and category; current in every transaction (statement triggers)';

CREATE TABLE stockking.ledger_budget (
    user_id       uuid NOT NULL REFERENCES stockking.users (id),
    category      text NOT NULL CHECK (length(category) BETWEEN 1 AND 50),
    family_id     uuid NOT NULL REFERENCES stockking.family (id),
    monthly_limit bigint NOT NULL CHECK (monthly_limit BETWEEN 1 AND 1000000000),
    updated_by    uuid,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, category)
);
CREATE INDEX ledger_budget_family ON stockking.ledger_budget (family_id);
COMMENT ON TABLE stockking.ledger_budget IS
    'a monthly spending limit (won) of a user for an expense category, or 전체 for all expenses; set by the user or a parent';

CREATE TABLE stockking.ledger_budget_alert (
    user_id    uuid NOT NULL,
    category   text NOT NULL,
    month      date NOT NULL,
    threshold  integer NOT NULL CHECK (threshold IN (80, 100)),
    family_id  uuid NOT NULL,
    spent      bigint NOT NULL,
    budget     bigint NOT NULL,
    outbox_id  bigint,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, category, month, threshold)
);
COMMENT ON TABLE stockking.ledger_budget_alert IS 'budget alerts sent: once per user, category, month and threshold (80%, 100%)';

-- Row-level security.
ALTER TABLE stockking.merchant ENABLE ROW LEVEL SECURITY;
ALTER TABLE stockking.ledger_entry ENABLE ROW LEVEL SECURITY;
ALTER TABLE stockking.ledger_pending ENABLE ROW LEVEL SECURITY;
ALTER TABLE stockking.ledger_import ENABLE ROW LEVEL SECURITY;
ALTER TABLE stockking.ledger_monthly ENABLE ROW LEVEL SECURITY;
ALTER TABLE stockking.ledger_budget ENABLE ROW LEVEL SECURITY;
ALTER TABLE stockking.ledger_budget_alert ENABLE ROW LEVEL SECURITY;

CREATE POLICY merchant_read ON stockking.merchant FOR SELECT
    USING (family_id IS NULL OR family_id = (SELECT stockking.my_family()) OR (SELECT stockking.is_admin()));
CREATE POLICY merchant_insert ON stockking.merchant FOR INSERT
    WITH CHECK (CASE WHEN family_id IS NULL THEN (SELECT stockking.is_admin())
                     ELSE family_id = (SELECT stockking.my_family()) END);
CREATE POLICY merchant_update ON stockking.merchant FOR UPDATE
    USING (CASE WHEN family_id IS NULL THEN (SELECT stockking.is_admin())
                ELSE family_id = (SELECT stockking.my_family()) END);
CREATE POLICY merchant_delete ON stockking.merchant FOR DELETE
    USING (CASE WHEN family_id IS NULL THEN (SELECT stockking.is_admin())
                ELSE family_id = (SELECT stockking.my_family()) END);

CREATE POLICY ledger_entry_read ON stockking.ledger_entry FOR SELECT USING (stockking.can_read(family_id, user_id));
CREATE POLICY ledger_entry_insert ON stockking.ledger_entry FOR INSERT WITH CHECK (stockking.can_write(user_id));
CREATE POLICY ledger_entry_update ON stockking.ledger_entry FOR UPDATE USING (stockking.can_write(user_id));
CREATE POLICY ledger_entry_delete ON stockking.ledger_entry FOR DELETE USING (stockking.can_write(user_id));
CREATE POLICY ledger_pending_read ON stockking.ledger_pending FOR SELECT USING (stockking.can_read(family_id, user_id));
CREATE POLICY ledger_pending_insert ON stockking.ledger_pending FOR INSERT WITH CHECK (stockking.can_write(user_id));
CREATE POLICY ledger_pending_update ON stockking.ledger_pending FOR UPDATE USING (stockking.can_write(user_id));
CREATE POLICY ledger_import_read ON stockking.ledger_import FOR SELECT USING (stockking.can_read(family_id, user_id));
CREATE POLICY ledger_import_insert ON stockking.ledger_import FOR INSERT WITH CHECK (stockking.can_write(user_id));
CREATE POLICY ledger_import_update ON stockking.ledger_import FOR UPDATE USING (stockking.can_write(user_id));
CREATE POLICY ledger_monthly_read ON stockking.ledger_monthly FOR SELECT USING (stockking.can_read(family_id, user_id));
CREATE POLICY ledger_budget_read ON stockking.ledger_budget FOR SELECT USING (stockking.can_read(family_id, user_id));
CREATE POLICY ledger_budget_write ON stockking.ledger_budget FOR ALL
    USING (stockking.can_write(user_id) OR ((SELECT stockking.is_parent()) AND family_id = (SELECT stockking.my_family())))
    WITH CHECK (stockking.can_write(user_id) OR ((SELECT stockking.is_parent()) AND family_id = (SELECT stockking.my_family())));
CREATE POLICY ledger_budget_alert_read ON stockking.ledger_budget_alert FOR SELECT
    USING (stockking.can_read(family_id, user_id));

GRANT SELECT, INSERT, UPDATE, DELETE ON stockking.merchant, stockking.ledger_entry, stockking.ledger_budget
    TO stockking_definer;
GRANT SELECT, INSERT, UPDATE ON stockking.ledger_pending, stockking.ledger_import TO stockking_definer;
GRANT SELECT ON stockking.ledger_monthly, stockking.ledger_budget_alert TO stockking_definer;

-- The parser (C).
CREATE FUNCTION api.parse_ledger_text(args jsonb) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'stockking_ledger_parse_json'
    LANGUAGE C STABLE STRICT SECURITY DEFINER SET search_path = pg_catalog, stockking;
COMMENT ON FUNCTION api.parse_ledger_text(jsonb) IS
$$Parse a Korean ledger sentence.  Args: {"text": text (1..500 characters), "reference_date": "YYYY-MM-DD" (default
today in Asia/Seoul)}.  Changes nothing.
Returns {"kind": "EXPENSE"|"INCOME", "intent": "ADD"|"MODIFY"|"DELETE"|"QUERY", "amount": won (integer) or null,
"date": "YYYY-MM-DD" (ADD: the reference date when none is named; others: null when none is named), "merchant":
canonical name or null, "category": one of stockking.ledger_categories() or null, "memo": what is left of the
sentence, "confidence": 0.05..1.00, "reasons": [code...] (amount_missing, amount_without_unit, amount_multiple,
amount_unclear, date_not_stated, date_vague, date_previous_year, date_multiple, merchant_unknown, category_default,
kind_assumed, nothing_to_change), "question": text to ask back or null, "period": {"from","to"} (QUERY only)}.
No amount is never guessed: amount null, reason amount_missing, a question, confidence 0.20.
A date without a year that would be in the future is last year's; a stated future date is refused.
Errors: 22023 (400) text missing or empty; SK103 (400) text over 500 characters; 22007 (400) bad reference_date;
SK101 (422) a future date (내일, 다음주 금요일, 2099-01-01); SK102 (422) amount outside 1..1,000,000,000 won;
22008 (400) a date that does not exist (2월 30일).$$;

CREATE FUNCTION api.parse_ledger_text(text text, reference_date date) RETURNS stockking.ledger_parse_result
    AS 'MODULE_PATHNAME', 'stockking_ledger_parse'
    LANGUAGE C STABLE SECURITY DEFINER SET search_path = pg_catalog, stockking;
COMMENT ON FUNCTION api.parse_ledger_text(text, date) IS
$$The parse of api.parse_ledger_text(jsonb) as a record, for SQL clients (reference_date NULL = today in Asia/Seoul;
text NULL gives NULL).  Same C code, same refusals.$$;

CREATE FUNCTION stockking.ledger_bench(sentences text[], reference_date date, loops integer) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'stockking_ledger_bench'
    LANGUAGE C STABLE STRICT;
REVOKE ALL ON FUNCTION stockking.ledger_bench(text[], date, integer) FROM PUBLIC;
COMMENT ON FUNCTION stockking.ledger_bench(text[], date, integer) IS
    'bench: parse every sentence loops times in one C loop; returns {"parsed","seconds","per_second",...}';

-- The CSV reader (C).
CREATE FUNCTION stockking.ledger_csv_inspect(body bytea, content_type text) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'stockking_ledger_csv_inspect'
    LANGUAGE C STABLE;
COMMENT ON FUNCTION stockking.ledger_csv_inspect(bytea, text) IS
$$The shape of a CSV file: {"encoding": "UTF8"|"UHC", "delimiter", "header_line", "rows" (data rows),
"columns": [{"index","name","role","confidence","samples":[...]}], "mapping": {role: column index or null},
"missing": [roles the mapping lacks]}.  Roles: date, amount, withdrawal, deposit, description, category, memo, kind
(and balance, time: recognised, not imported).  Errors: SK108 (400) empty or undecodable file.$$;

CREATE FUNCTION stockking.ledger_csv_rows(body bytea, mapping jsonb, reference_date date)
    RETURNS TABLE (line integer, entry_date date, kind text, amount bigint, merchant text, category text, memo text,
                   fingerprint uuid, error text)
    AS 'MODULE_PATHNAME', 'stockking_ledger_csv_rows'
    LANGUAGE C STABLE;
COMMENT ON FUNCTION stockking.ledger_csv_rows(bytea, jsonb, date) IS
$$The data rows of a CSV file under a mapping ({role: column index or header name}, plus "negative": "income"
(default: a negative amount is money back) or "expense"), each normalised, or with error set.
Errors: SK108 (400) undecodable file; SK111 (422) a mapping without date or amount, or naming a column that does not exist.$$;

-- Summary maintenance: one grouped upsert per statement.
CREATE FUNCTION stockking.ledger_summary_upsert(delta jsonb) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
BEGIN
    INSERT INTO stockking.ledger_monthly AS m (user_id, month, kind, category, family_id, total, entries)
    SELECT d.user_id, d.month, d.kind, d.category, d.family_id, d.total, d.entries
      FROM jsonb_to_recordset(delta) AS d (user_id uuid, month date, kind text, category text, family_id uuid,
                                           total bigint, entries integer)
     ORDER BY 1, 2, 3, 4
    ON CONFLICT (user_id, month, kind, category)
    DO UPDATE SET total = m.total + EXCLUDED.total, entries = m.entries + EXCLUDED.entries;
    DELETE FROM stockking.ledger_monthly m
     USING jsonb_to_recordset(delta) AS d (user_id uuid, month date, kind text, category text)
     WHERE m.user_id = d.user_id AND m.month = d.month AND m.kind = d.kind AND m.category = d.category
       AND m.entries = 0;
    PERFORM stockking.ledger_check_budget(d.user_id, d.category)
       FROM (SELECT DISTINCT d.user_id, d.category
               FROM jsonb_to_recordset(delta) AS d (user_id uuid, month date, kind text, category text, total bigint)
              WHERE d.kind = 'EXPENSE' AND d.total > 0
                AND d.month = date_trunc('month', stockking.ledger_today())::date) d;
END
$$;
REVOKE ALL ON FUNCTION stockking.ledger_summary_upsert(jsonb) FROM PUBLIC;

CREATE FUNCTION stockking.ledger_entry_summary() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v_delta jsonb;
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT jsonb_agg(d) INTO v_delta FROM (
            SELECT user_id, date_trunc('month', entry_date)::date AS month, kind, category, family_id,
                   sum(amount) AS total, count(*) AS entries
              FROM new_rows GROUP BY 1, 2, 3, 4, 5) d;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT jsonb_agg(d) INTO v_delta FROM (
            SELECT user_id, date_trunc('month', entry_date)::date AS month, kind, category, family_id,
                   -sum(amount) AS total, -count(*) AS entries
              FROM old_rows GROUP BY 1, 2, 3, 4, 5) d;
    ELSE
        SELECT jsonb_agg(d) INTO v_delta FROM (
            SELECT user_id, month, kind, category, family_id, sum(total) AS total, sum(entries) AS entries
              FROM (SELECT user_id, date_trunc('month', entry_date)::date AS month, kind, category, family_id,
                           amount AS total, 1 AS entries FROM new_rows
                    UNION ALL
                    SELECT user_id, date_trunc('month', entry_date)::date, kind, category, family_id, -amount, -1
                      FROM old_rows) x
             GROUP BY 1, 2, 3, 4, 5
            HAVING sum(total) <> 0 OR sum(entries) <> 0) d;
    END IF;
    IF v_delta IS NOT NULL THEN
        PERFORM stockking.ledger_summary_upsert(v_delta);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER ledger_entry_summary_insert AFTER INSERT ON stockking.ledger_entry
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION stockking.ledger_entry_summary();
CREATE TRIGGER ledger_entry_summary_update AFTER UPDATE ON stockking.ledger_entry
    REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION stockking.ledger_entry_summary();
CREATE TRIGGER ledger_entry_summary_delete AFTER DELETE ON stockking.ledger_entry
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION stockking.ledger_entry_summary();

-- Budgets: the 80% and 100% events of the current month, once each.
CREATE FUNCTION stockking.ledger_check_budget(p_user uuid, p_category text) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v_month date := date_trunc('month', stockking.ledger_today())::date;
    b       stockking.ledger_budget;
    v_spent bigint;
    v_id    bigint;
    t       integer;
BEGIN
    FOR b IN SELECT * FROM stockking.ledger_budget
              WHERE user_id = p_user AND (category = p_category OR category = '전체' OR p_category = '전체')
    LOOP
        SELECT coalesce(sum(total), 0) INTO v_spent FROM stockking.ledger_monthly
         WHERE user_id = p_user AND month = v_month AND kind = 'EXPENSE'
           AND (b.category = '전체' OR category = b.category);
        FOREACH t IN ARRAY ARRAY[80, 100] LOOP
            -- spent / limit >= t%, in integers
            CONTINUE WHEN v_spent * 100 < b.monthly_limit * t;
            INSERT INTO stockking.ledger_budget_alert (user_id, category, month, threshold, family_id, spent, budget)
                VALUES (p_user, b.category, v_month, t, b.family_id, v_spent, b.monthly_limit)
                ON CONFLICT DO NOTHING;
            IF FOUND THEN
                v_id := stockking.emit_event(p_user, b.family_id, 'FAMILY',
                    CASE t WHEN 80 THEN 'LedgerBudgetWarning' ELSE 'LedgerBudgetExceeded' END,
                    jsonb_build_object('category', b.category, 'month', to_char(v_month, 'YYYY-MM'),
                                       'budget', b.monthly_limit, 'spent', v_spent, 'threshold', t,
                                       'percent', floor(v_spent * 100.0 / b.monthly_limit)));
                UPDATE stockking.ledger_budget_alert SET outbox_id = v_id
                 WHERE user_id = p_user AND category = b.category AND month = v_month AND threshold = t;
            END IF;
        END LOOP;
    END LOOP;
END
$$;
REVOKE ALL ON FUNCTION stockking.ledger_check_budget(uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION stockking.ledger_check_budget(uuid, text) TO stockking_definer;
COMMENT ON FUNCTION stockking.ledger_check_budget(uuid, text) IS
    'send LedgerBudgetWarning (80%) / LedgerBudgetExceeded (100%) to the family once per month, category and threshold';

-- JSON shapes.
CREATE FUNCTION stockking.ledger_entry_json(e stockking.ledger_entry) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
    SELECT jsonb_build_object('id', e.id, 'user_id', e.user_id, 'kind', e.kind, 'date', to_char(e.entry_date, 'YYYY-MM-DD'),
                              'amount', e.amount, 'merchant', e.merchant, 'category', e.category, 'memo', e.memo,
                              'source', e.source, 'import_id', e.import_id, 'created_at', e.created_at)
    $$;

CREATE FUNCTION stockking.ledger_pending_json(p stockking.ledger_pending) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
    SELECT jsonb_build_object('id', p.id, 'action', p.action, 'status', p.status, 'kind', p.kind, 'amount', p.amount,
                              'date', to_char(p.entry_date, 'YYYY-MM-DD'), 'merchant', p.merchant,
                              'category', p.category, 'memo', p.memo, 'target_entry_id', p.target_entry_id,
                              'duplicate_of', p.duplicate_of, 'entry_id', p.entry_id,
                              'needs', CASE WHEN p.action = 'ADD' AND p.amount IS NULL THEN '["amount"]'::jsonb
                                            ELSE '[]'::jsonb END,
                              'expires_at', p.expires_at)
    $$;

CREATE FUNCTION stockking.ledger_won(amount numeric) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT to_char(amount, 'FM999,999,999,990') || '원' $$;

-- The reply the chat shows for a pending entry.
CREATE FUNCTION stockking.ledger_reply(p stockking.ledger_pending) RETURNS text
    LANGUAGE sql STABLE
    AS $$
    SELECT CASE
        WHEN p.action = 'DELETE' THEN
            format('%s %s%s 기록을 지울까요?', to_char(p.entry_date, 'FMMM월 FMDD일'),
                   coalesce(p.merchant || ' ', ''), stockking.ledger_won(p.amount))
        WHEN p.amount IS NULL THEN
            CASE p.kind WHEN 'INCOME' THEN '얼마를 받았는지 알려 줄래요? (예: 5만원)'
                        ELSE '얼마를 썼는지 알려 줄래요? (예: 9천원)' END
        ELSE
            format('%s %s%s %s 걸로 %s (%s)%s',
                   to_char(p.entry_date, 'FMMM월 FMDD일'), coalesce(p.merchant || '에서 ', nullif(p.memo, '') || ' ', ''),
                   stockking.ledger_won(p.amount), CASE p.kind WHEN 'INCOME' THEN '받은' ELSE '쓴' END,
                   CASE WHEN p.action = 'MODIFY' THEN '고칠까요?' ELSE '기록할까요?' END, p.category,
                   CASE WHEN p.duplicate_of IS NOT NULL THEN ' 같은 날 같은 금액의 기록이 이미 있어요.' ELSE '' END)
    END
    $$;

-- A likely duplicate: an entry of the user with the same amount and merchant on the same day.
CREATE FUNCTION stockking.ledger_find_duplicate(p_user uuid, p_date date, p_amount bigint, p_merchant text,
                                                p_except bigint DEFAULT NULL) RETURNS bigint
    LANGUAGE sql STABLE
    AS $$
    SELECT id FROM stockking.ledger_entry
     WHERE user_id = p_user AND entry_date = p_date AND amount = p_amount
       AND merchant IS NOT DISTINCT FROM p_merchant AND id IS DISTINCT FROM p_except
     ORDER BY id LIMIT 1
    $$;

-- The answer to a QUERY: totals of the caller's entries in a period.
CREATE FUNCTION stockking.ledger_query_answer(p_user uuid, p_from date, p_to date) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
    WITH e AS (SELECT kind, category, amount FROM stockking.ledger_entry
                WHERE user_id = p_user AND entry_date BETWEEN p_from AND p_to),
         t AS (SELECT coalesce(sum(amount) FILTER (WHERE kind = 'EXPENSE'), 0) AS expense,
                      coalesce(sum(amount) FILTER (WHERE kind = 'INCOME'), 0) AS income, count(*) AS n FROM e)
    SELECT jsonb_build_object(
        'period', jsonb_build_object('from', to_char(p_from, 'YYYY-MM-DD'), 'to', to_char(p_to, 'YYYY-MM-DD')),
        'expense', t.expense, 'income', t.income, 'entries', t.n,
        'by_category', coalesce((SELECT jsonb_agg(jsonb_build_object('kind', kind, 'category', category, 'total', s)
                                                  ORDER BY kind, s DESC, category)
                                   FROM (SELECT kind, category, sum(amount) AS s FROM e GROUP BY 1, 2) c), '[]'),
        'reply', format('%s: %s 썼고 %s 받았어요.',
                        CASE WHEN p_from = p_to THEN to_char(p_from, 'FMMM월 FMDD일')
                             ELSE to_char(p_from, 'FMMM월 FMDD일') || ' ~ ' || to_char(p_to, 'FMMM월 FMDD일') END,
                        stockking.ledger_won(t.expense), stockking.ledger_won(t.income)))
      FROM t
    $$;

-- Chat.
CREATE FUNCTION api.ledger_chat(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v_user    uuid := stockking.require_user();
    v_message text := stockking.arg_text(args, 'message');
    v_family  uuid := stockking.my_family();
    v_today   date := stockking.ledger_today();
    p         jsonb;
    v_intent  text;
    v_open    stockking.ledger_pending;
    v_target  stockking.ledger_entry;
    v_new     stockking.ledger_pending;
    v_answer  jsonb;
    v_stated_date boolean;
    v_stated_cat  boolean;
BEGIN
    p := api.parse_ledger_text(jsonb_build_object('text', v_message, 'reference_date', to_char(v_today, 'YYYY-MM-DD')));
    v_intent := p ->> 'intent';
    v_stated_date := p ->> 'date' IS NOT NULL AND NOT (p -> 'reasons' ? 'date_not_stated');
    v_stated_cat := p ->> 'category' IS NOT NULL AND NOT (p -> 'reasons' ? 'category_default');

    IF v_intent = 'QUERY' THEN
        v_answer := stockking.ledger_query_answer(v_user, (p #>> '{period,from}')::date, (p #>> '{period,to}')::date);
        RETURN jsonb_build_object('intent', 'QUERY', 'parse', p, 'reply', v_answer ->> 'reply', 'answer', v_answer - 'reply');
    END IF;

    -- the latest open pending entry of the user: the conversation's context
    SELECT * INTO v_open FROM stockking.ledger_pending
     WHERE user_id = v_user AND status = 'PENDING' AND expires_at > now()
     ORDER BY id DESC LIMIT 1 FOR UPDATE;

    IF v_intent = 'DELETE' THEN
        IF v_open.id IS NOT NULL THEN
            UPDATE stockking.ledger_pending SET status = 'CANCELED', updated_at = now() WHERE id = v_open.id
                RETURNING * INTO v_open;
            RETURN jsonb_build_object('intent', 'DELETE', 'parse', p, 'reply', '입력하던 기록을 취소했어요.',
                                      'pending', stockking.ledger_pending_json(v_open));
        END IF;
        SELECT * INTO v_target FROM stockking.ledger_entry WHERE user_id = v_user ORDER BY created_at DESC, id DESC LIMIT 1;
        IF v_target.id IS NULL THEN
            RAISE EXCEPTION 'there is no ledger entry to delete' USING ERRCODE = 'SK112';
        END IF;
        INSERT INTO stockking.ledger_pending (family_id, user_id, action, target_entry_id, message, parse, kind, amount,
                                              entry_date, merchant, category, memo, expires_at)
            VALUES (v_target.family_id, v_user, 'DELETE', v_target.id, v_message, p, v_target.kind, v_target.amount,
                    v_target.entry_date, v_target.merchant, v_target.category, v_target.memo, now() + interval '10 minutes')
            RETURNING * INTO v_new;
        RETURN jsonb_build_object('intent', 'DELETE', 'parse', p, 'reply', stockking.ledger_reply(v_new),
                                  'pending', stockking.ledger_pending_json(v_new), 'entry', stockking.ledger_entry_json(v_target));
    END IF;

    -- a follow-up: a correction, or the answer to "how much?", changes the open pending entry
    IF v_open.id IS NOT NULL AND v_open.action IN ('ADD', 'MODIFY')
       AND (v_intent = 'MODIFY' OR (v_open.amount IS NULL AND p ->> 'amount' IS NOT NULL AND p ->> 'merchant' IS NULL)) THEN
        IF p ->> 'amount' IS NULL AND NOT v_stated_date AND p ->> 'merchant' IS NULL AND NOT v_stated_cat THEN
            RETURN jsonb_build_object('intent', 'MODIFY', 'parse', p, 'reply', p ->> 'question',
                                      'pending', stockking.ledger_pending_json(v_open));
        END IF;
        UPDATE stockking.ledger_pending SET
            amount = coalesce((p ->> 'amount')::bigint, amount),
            entry_date = CASE WHEN v_stated_date THEN (p ->> 'date')::date ELSE entry_date END,
            merchant = coalesce(p ->> 'merchant', merchant),
            category = CASE WHEN v_stated_cat AND p ->> 'kind' = kind THEN p ->> 'category' ELSE category END,
            memo = CASE WHEN p ->> 'memo' <> '' AND v_intent = 'ADD' THEN p ->> 'memo' ELSE memo END,
            message = message || E'\n' || v_message,
            expires_at = now() + interval '10 minutes', updated_at = now()
         WHERE id = v_open.id RETURNING * INTO v_new;
        UPDATE stockking.ledger_pending SET duplicate_of = CASE WHEN action = 'ADD' AND amount IS NOT NULL THEN
                   stockking.ledger_find_duplicate(v_user, entry_date, amount, merchant) END
         WHERE id = v_new.id RETURNING * INTO v_new;
        RETURN jsonb_build_object('intent', 'MODIFY', 'parse', p, 'updated', true, 'reply', stockking.ledger_reply(v_new),
                                  'pending', stockking.ledger_pending_json(v_new));
    END IF;

    IF v_intent = 'MODIFY' THEN
        SELECT * INTO v_target FROM stockking.ledger_entry WHERE user_id = v_user ORDER BY created_at DESC, id DESC LIMIT 1;
        IF v_target.id IS NULL THEN
            RAISE EXCEPTION 'there is no ledger entry to modify' USING ERRCODE = 'SK112';
        END IF;
        IF p ->> 'amount' IS NULL AND NOT v_stated_date AND p ->> 'merchant' IS NULL AND NOT v_stated_cat THEN
            RETURN jsonb_build_object('intent', 'MODIFY', 'parse', p, 'reply', p ->> 'question',
                                      'entry', stockking.ledger_entry_json(v_target));
        END IF;
        INSERT INTO stockking.ledger_pending (family_id, user_id, action, target_entry_id, message, parse, kind, amount,
                                              entry_date, merchant, category, memo, expires_at)
            VALUES (v_target.family_id, v_user, 'MODIFY', v_target.id, v_message, p,
                    -- a stated category of the other kind changes the kind too ("수정 라면 3천원" on an income)
                    CASE WHEN NOT v_stated_cat THEN v_target.kind
                         WHEN p ->> 'category' IN ('용돈', '기타수입') THEN 'INCOME' ELSE 'EXPENSE' END,
                    coalesce((p ->> 'amount')::bigint, v_target.amount),
                    CASE WHEN v_stated_date THEN (p ->> 'date')::date ELSE v_target.entry_date END,
                    coalesce(p ->> 'merchant', v_target.merchant),
                    CASE WHEN v_stated_cat THEN p ->> 'category' ELSE v_target.category END,
                    v_target.memo, now() + interval '10 minutes')
            RETURNING * INTO v_new;
        RETURN jsonb_build_object('intent', 'MODIFY', 'parse', p, 'reply', stockking.ledger_reply(v_new),
                                  'pending', stockking.ledger_pending_json(v_new), 'entry', stockking.ledger_entry_json(v_target));
    END IF;

    -- ADD: a new pending entry (without an amount it asks back)
    INSERT INTO stockking.ledger_pending (family_id, user_id, action, message, parse, kind, amount, entry_date, merchant,
                                          category, memo, duplicate_of, expires_at)
        VALUES (v_family, v_user, 'ADD', v_message, p, p ->> 'kind', (p ->> 'amount')::bigint, (p ->> 'date')::date,
                p ->> 'merchant', p ->> 'category', p ->> 'memo',
                CASE WHEN p ->> 'amount' IS NOT NULL THEN
                    stockking.ledger_find_duplicate(v_user, (p ->> 'date')::date, (p ->> 'amount')::bigint, p ->> 'merchant')
                END,
                now() + interval '10 minutes')
        RETURNING * INTO v_new;
    RETURN jsonb_build_object('intent', 'ADD', 'parse', p, 'reply', stockking.ledger_reply(v_new),
                              'pending', stockking.ledger_pending_json(v_new));
END
$$;
COMMENT ON FUNCTION api.ledger_chat(jsonb) IS
$$POST /v1/ledger/chat: one chat message.  Args: {"message": text (1..500 characters)}.
ADD: returns {"intent":"ADD","parse":{...api.parse_ledger_text...},"reply": text,"pending":{"id","action","status",
"kind","amount","date","merchant","category","memo","duplicate_of" (an entry with the same amount and merchant that
day, or null),"needs":["amount"] when the amount is missing,"expires_at"}}: confirm or cancel it within 10 minutes.
A follow-up (a correction like "아니 8천원이었어", or the amount asked for) changes the latest open pending entry
("updated": true).  With no open entry, MODIFY and DELETE ("방금 거 취소해줘") prepare a change to the caller's
latest entry as a pending action to confirm; DELETE with an open entry cancels that entry.
QUERY ("이번 달 얼마 썼어?") answers at once: {"intent":"QUERY","reply","answer":{"period","expense","income",
"entries","by_category"}}.
Errors: 22023 (400) no message; SK103 (400) too long; SK101 (422) a future date; SK102 (422) amount out of range;
SK112 (404) nothing to modify or delete; 28000 (401).$$;

CREATE FUNCTION stockking.ledger_pending_for_update(args jsonb) RETURNS stockking.ledger_pending
    LANGUAGE plpgsql VOLATILE
    AS $$
DECLARE
    v_user uuid := stockking.require_user();
    v      stockking.ledger_pending;
BEGIN
    SELECT * INTO v FROM stockking.ledger_pending
     WHERE id = stockking.arg_bigint(args, 'id') AND user_id = v_user FOR UPDATE;
    IF v.id IS NULL THEN
        RAISE EXCEPTION 'pending entry % not found', args ->> 'id' USING ERRCODE = 'P0002';
    END IF;
    IF v.status <> 'PENDING' THEN
        RAISE EXCEPTION 'pending entry % is %', v.id, lower(v.status) USING ERRCODE = 'SK106';
    END IF;
    IF v.expires_at <= now() THEN
        RAISE EXCEPTION 'pending entry % expired at %', v.id, to_char(v.expires_at AT TIME ZONE 'Asia/Seoul', 'YYYY-MM-DD HH24:MI')
            USING ERRCODE = 'SK105', HINT = 'Send the message again.';
    END IF;
    RETURN v;
END
$$;

CREATE FUNCTION api.ledger_chat_confirm(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v stockking.ledger_pending := stockking.ledger_pending_for_update(args);
    e stockking.ledger_entry;
BEGIN
    IF v.action = 'ADD' THEN
        IF v.amount IS NULL THEN
            RAISE EXCEPTION 'the pending entry has no amount yet' USING ERRCODE = 'SK107',
                HINT = 'Answer with the amount, for example "9천원".';
        END IF;
        IF v.entry_date > stockking.ledger_today() THEN
            RAISE EXCEPTION 'the date % is in the future', to_char(v.entry_date, 'YYYY-MM-DD') USING ERRCODE = 'SK101';
        END IF;
        INSERT INTO stockking.ledger_entry (family_id, user_id, kind, entry_date, amount, merchant, category, memo, source)
            VALUES (v.family_id, v.user_id, v.kind, v.entry_date, v.amount, v.merchant, v.category, v.memo, 'CHAT')
            RETURNING * INTO e;
    ELSIF v.action = 'MODIFY' THEN
        UPDATE stockking.ledger_entry SET kind = v.kind, amount = v.amount, entry_date = v.entry_date, merchant = v.merchant,
               category = v.category, updated_at = now()
         WHERE id = v.target_entry_id AND user_id = v.user_id RETURNING * INTO e;
        IF e.id IS NULL THEN
            RAISE EXCEPTION 'ledger entry % no longer exists', v.target_entry_id USING ERRCODE = 'P0002';
        END IF;
    ELSE
        DELETE FROM stockking.ledger_entry WHERE id = v.target_entry_id AND user_id = v.user_id RETURNING * INTO e;
        IF e.id IS NULL THEN
            RAISE EXCEPTION 'ledger entry % no longer exists', v.target_entry_id USING ERRCODE = 'P0002';
        END IF;
    END IF;
    UPDATE stockking.ledger_pending SET status = 'CONFIRMED', entry_id = e.id, updated_at = now() WHERE id = v.id
        RETURNING * INTO v;
    RETURN jsonb_build_object('pending', stockking.ledger_pending_json(v),
                              CASE WHEN v.action = 'DELETE' THEN 'deleted' ELSE 'entry' END, stockking.ledger_entry_json(e));
END
$$;
COMMENT ON FUNCTION api.ledger_chat_confirm(jsonb) IS
$$POST /v1/ledger/chat/:id/confirm: carry out a pending entry of the caller.  Args: {"id"}.
ADD saves the entry; MODIFY changes the target entry; DELETE deletes it.
Returns {"pending":{... "status":"CONFIRMED","entry_id"}, "entry": the saved entry} ("deleted" for DELETE).
Errors: P0002 (404) no such pending entry of the caller, or the target entry is gone; SK106 (409) confirmed or
canceled already; SK105 (409) expired; SK107 (422) no amount yet; SK101 (422) future date; 28000 (401).$$;

CREATE FUNCTION api.ledger_chat_cancel(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v stockking.ledger_pending := stockking.ledger_pending_for_update(args);
BEGIN
    UPDATE stockking.ledger_pending SET status = 'CANCELED', updated_at = now() WHERE id = v.id RETURNING * INTO v;
    RETURN jsonb_build_object('pending', stockking.ledger_pending_json(v), 'reply', '취소했어요.');
END
$$;
COMMENT ON FUNCTION api.ledger_chat_cancel(jsonb) IS
$$POST /v1/ledger/chat/:id/cancel: drop a pending entry of the caller.  Args: {"id"}.  Returns {"pending":{... "status":
"CANCELED"},"reply"}.  Errors: P0002 (404); SK106 (409) closed already; SK105 (409) expired; 28000 (401).$$;

-- Import.
CREATE FUNCTION stockking.ledger_import_preview(i stockking.ledger_import, p_rows jsonb) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
    SELECT jsonb_build_object(
        'id', i.id, 'status', i.status, 'bytes', i.bytes, 'encoding', i.inspect -> 'encoding',
        'delimiter', i.inspect -> 'delimiter', 'header_line', i.inspect -> 'header_line',
        'columns', i.inspect -> 'columns', 'mapping', i.mapping, 'missing', i.inspect -> 'missing',
        'same_file_as', (SELECT min(o.id) FROM stockking.ledger_import o
                          WHERE o.user_id = i.user_id AND o.file_sha256 = i.file_sha256 AND o.id <> i.id
                            AND o.status = 'COMMITTED'),
        'created_at', i.created_at) || p_rows
    $$;

-- the rows of an import under a mapping: counts, errors, duplicates and a sample.  The duplicate
-- check is one index probe per row (LATERAL ... LIMIT 1 is never turned into a join whose plan
-- could scan the user's entries once per row)
CREATE FUNCTION stockking.ledger_import_rows(i stockking.ledger_import, p_mapping jsonb) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
    WITH r AS (SELECT x.*, x.error IS NULL AND d.dup IS NOT NULL AS duplicate
                 FROM stockking.ledger_csv_rows(i.body, p_mapping, stockking.ledger_today()) x
                 LEFT JOIN LATERAL (SELECT 1 AS dup FROM stockking.ledger_entry e
                                     WHERE e.user_id = i.user_id AND e.fingerprint = x.fingerprint LIMIT 1) d ON true)
    SELECT jsonb_build_object(
        'rows', (SELECT count(*) FROM r),
        'valid', (SELECT count(*) FROM r WHERE error IS NULL),
        'errors', (SELECT count(*) FROM r WHERE error IS NOT NULL),
        'duplicates', (SELECT count(*) FROM r WHERE duplicate),
        'row_errors', coalesce((SELECT jsonb_agg(jsonb_build_object('line', line, 'error', error) ORDER BY line)
                                  FROM (SELECT line, error FROM r WHERE error IS NOT NULL ORDER BY line LIMIT 50) x), '[]'),
        'sample', coalesce((SELECT jsonb_agg(jsonb_build_object('line', line, 'date', to_char(entry_date, 'YYYY-MM-DD'),
                                                                'kind', kind, 'amount', amount, 'merchant', merchant,
                                                                'category', category, 'memo', memo,
                                                                'duplicate', duplicate) ORDER BY line)
                              FROM (SELECT * FROM r WHERE error IS NULL ORDER BY line LIMIT 20) x), '[]'))
    $$;

CREATE FUNCTION api.ledger_import_create(args jsonb, body bytea) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, stockking
    SET work_mem = '64MB'  -- a 100,000-row file's rows stay in memory
    AS $$
DECLARE
    v_user    uuid := stockking.require_user();
    v_inspect jsonb;
    v_rows    jsonb;
    i         stockking.ledger_import;
BEGIN
    IF body IS NULL OR octet_length(body) = 0 THEN
        RAISE EXCEPTION 'the file is empty' USING ERRCODE = 'SK108', HINT = 'Send the CSV file itself as the request body.';
    END IF;
    v_inspect := stockking.ledger_csv_inspect(body, stockking.arg_text(args, 'content_type', false));
    INSERT INTO stockking.ledger_import (family_id, user_id, file_sha256, body, bytes, inspect, mapping)
        VALUES (stockking.my_family(), v_user, encode(sha256(body), 'hex'), body, octet_length(body), v_inspect,
                v_inspect -> 'mapping')
        RETURNING * INTO i;
    IF jsonb_array_length(v_inspect -> 'missing') = 0 THEN
        v_rows := stockking.ledger_import_rows(i, i.mapping);
    ELSE
        v_rows := jsonb_build_object('rows', v_inspect -> 'rows', 'valid', 0, 'errors', v_inspect -> 'rows',
                                     'duplicates', 0, 'sample', '[]'::jsonb,
                                     'row_errors', jsonb_build_array(jsonb_build_object('line', null, 'error',
                                         'no column for ' || (SELECT string_agg(x, ', ') FROM jsonb_array_elements_text(v_inspect -> 'missing') x)
                                         || ': choose one in the mapping override')));
    END IF;
    UPDATE stockking.ledger_import SET row_count = (v_rows ->> 'rows')::integer, error_count = (v_rows ->> 'errors')::integer
     WHERE id = i.id RETURNING * INTO i;
    RETURN stockking.ledger_import_preview(i, v_rows);
END
$$;
COMMENT ON FUNCTION api.ledger_import_create(jsonb, bytea) IS
$$POST /v1/ledger/imports (body: the CSV file itself, UTF-8 or CP949/EUC-KR, comma, tab or semicolon separated, quoted
fields allowed; route raw_body).  Args: {"content_type"} (a charset=euc-kr/cp949 there skips detection).
Stores the file and answers its preview: {"id","status":"PREVIEW","encoding","delimiter","header_line",
"columns":[{"index","name","role","confidence","samples"}],"mapping":{"date","amount","withdrawal","deposit",
"description","category","memo","kind": column index or null},"missing":[roles],"rows","valid","errors","duplicates"
(rows already in the ledger),"row_errors":[{"line","error"}] (first 50),"sample":[first 20 rows],"same_file_as"}.
Errors: SK108 (400) empty or undecodable file; 28000 (401).$$;

CREATE FUNCTION api.ledger_import_commit(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, stockking
    SET work_mem = '64MB'  -- a 100,000-row file's rows stay in memory
    AS $$
DECLARE
    v_user     uuid := stockking.require_user();
    v_override jsonb := args -> 'mapping';
    v_skip     boolean := coalesce((args ->> 'skip_invalid')::boolean, false);
    v_mapping  jsonb;
    v_rows     jsonb;
    v_count    integer;
    v_errors   integer;
    v_inserted integer;
    i          stockking.ledger_import;
BEGIN
    SELECT * INTO i FROM stockking.ledger_import
     WHERE id = stockking.arg_bigint(args, 'id') AND user_id = v_user FOR UPDATE;
    IF i.id IS NULL THEN
        RAISE EXCEPTION 'import % not found', args ->> 'id' USING ERRCODE = 'P0002';
    END IF;
    IF i.status <> 'PREVIEW' THEN
        RAISE EXCEPTION 'import % was committed already', i.id USING ERRCODE = 'SK109';
    END IF;
    IF v_override IS NOT NULL AND jsonb_typeof(v_override) <> 'null' THEN
        IF jsonb_typeof(v_override) <> 'object' THEN
            RAISE EXCEPTION 'field "mapping" must be an object' USING ERRCODE = '22023';
        END IF;
        v_mapping := i.mapping || v_override;
    ELSE
        v_mapping := i.mapping;
    END IF;
    -- one pass: insert the good rows and count the bad; any bad row (unless skipped) rolls it all back
    WITH r AS (SELECT * FROM stockking.ledger_csv_rows(i.body, v_mapping, stockking.ledger_today())),
         ins AS (INSERT INTO stockking.ledger_entry (family_id, user_id, kind, entry_date, amount, merchant, category, memo,
                                                     source, import_id, fingerprint)
                 SELECT i.family_id, i.user_id, r.kind, r.entry_date, r.amount, r.merchant, r.category, r.memo, 'IMPORT',
                        i.id, r.fingerprint
                   FROM r WHERE r.error IS NULL
                 ON CONFLICT (user_id, fingerprint) WHERE fingerprint IS NOT NULL DO NOTHING
                 RETURNING 1)
    SELECT (SELECT count(*) FROM r), (SELECT count(*) FROM r WHERE error IS NOT NULL), (SELECT count(*) FROM ins)
      INTO v_count, v_errors, v_inserted;
    IF v_errors > 0 AND NOT v_skip THEN
        v_rows := stockking.ledger_import_rows(i, v_mapping);
        RAISE EXCEPTION 'the import has % rows with errors', v_errors USING ERRCODE = 'SK110',
            DETAIL = (SELECT string_agg(format('line %s: %s', x ->> 'line', x ->> 'error'), '; ')
                        FROM (SELECT x FROM jsonb_array_elements(v_rows -> 'row_errors') x LIMIT 5) y),
            HINT = 'Fix the mapping, or commit with "skip_invalid": true to leave those rows out.';
    END IF;
    IF v_count = 0 THEN
        RAISE EXCEPTION 'the file has no data rows' USING ERRCODE = 'SK108';
    END IF;
    UPDATE stockking.ledger_import SET status = 'COMMITTED', mapping = v_mapping, body = NULL, inserted = v_inserted,
           duplicates = v_count - v_errors - v_inserted, skipped_invalid = v_errors, committed_at = now()
     WHERE id = i.id RETURNING * INTO i;
    RETURN jsonb_build_object('id', i.id, 'status', i.status, 'mapping', i.mapping, 'rows', v_count,
                              'inserted', i.inserted, 'duplicates', i.duplicates, 'skipped_invalid', i.skipped_invalid);
END
$$;
COMMENT ON FUNCTION api.ledger_import_commit(jsonb) IS
$$POST /v1/ledger/imports/:id/commit: add an import's rows to the caller's ledger, all or nothing.
Args: {"id", "mapping": {role: column index or header name or null, "negative": "income"|"expense"} (optional
override, merged over the detected mapping), "skip_invalid": boolean (default false: any row error refuses the commit)}.
Rows already in the ledger (same date, kind, amount, description, and occurrence within the file) are not added
again, so a file imported twice adds nothing the second time.
Returns {"id","status":"COMMITTED","mapping","rows","inserted","duplicates","skipped_invalid"}.
Errors: P0002 (404) no such import of the caller; SK109 (409) committed already; SK110 (422) rows with errors;
SK111 (422) bad mapping; 28000 (401).$$;

CREATE FUNCTION api.ledger_import_get(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    i stockking.ledger_import;
BEGIN
    PERFORM stockking.require_user();
    SELECT * INTO i FROM stockking.ledger_import WHERE id = stockking.arg_bigint(args, 'id');
    IF i.id IS NULL THEN
        RAISE EXCEPTION 'import % not found', args ->> 'id' USING ERRCODE = 'P0002';
    END IF;
    RETURN stockking.ledger_import_preview(i, jsonb_build_object('rows', i.row_count, 'errors', i.error_count,
                                                                 'inserted', i.inserted, 'duplicates', i.duplicates,
                                                                 'skipped_invalid', i.skipped_invalid));
END
$$;
COMMENT ON FUNCTION api.ledger_import_get(jsonb) IS
$$GET /v1/ledger/imports/:id: an import's mapping and counts.  Args: {"id"}.  Errors: P0002 (404); 28000 (401).$$;

-- Entries, summaries, budgets, merchants.
CREATE FUNCTION stockking.ledger_subject(args jsonb) RETURNS uuid
    LANGUAGE plpgsql STABLE
    AS $$
DECLARE
    v_user uuid := stockking.require_user();
    v_arg  text := stockking.arg_text(args, 'user_id', false);
    v_id   uuid;
BEGIN
    IF v_arg IS NULL OR v_arg = '' THEN
        RETURN v_user;
    END IF;
    IF v_arg !~ '^[0-9a-fA-F-]{36}$' THEN
        RAISE EXCEPTION 'field "user_id" must be a uuid' USING ERRCODE = '22023';
    END IF;
    -- row-level security: the user, a parent of the family, or ADMIN sees the row
    SELECT id INTO v_id FROM stockking.users WHERE id = v_arg::uuid;
    IF v_id IS NULL THEN
        RAISE EXCEPTION 'user % not found', v_arg USING ERRCODE = 'P0002';
    END IF;
    RETURN v_id;
END
$$;
COMMENT ON FUNCTION stockking.ledger_subject(jsonb) IS
    'whose ledger a read is about: args.user_id (a parent reads a child''s) or the caller; P0002 when not visible';

CREATE FUNCTION stockking.ledger_month_arg(args jsonb) RETURNS date
    LANGUAGE plpgsql STABLE
    AS $$
DECLARE
    t text := stockking.arg_text(args, 'month', false);
BEGIN
    IF t IS NULL THEN
        RETURN date_trunc('month', stockking.ledger_today())::date;
    END IF;
    IF t !~ '^[0-9]{4}-(0[1-9]|1[0-2])$' THEN
        RAISE EXCEPTION 'field "month" must be YYYY-MM' USING ERRCODE = '22007';
    END IF;
    RETURN make_date(left(t, 4)::integer, right(t, 2)::integer, 1);
END
$$;

CREATE FUNCTION api.ledger_entries(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v_subject  uuid := stockking.ledger_subject(args);
    v_from     date := stockking.arg_date(args, 'from', false);
    v_to       date := stockking.arg_date(args, 'to', false);
    v_kind     text := upper(stockking.arg_text(args, 'kind', false));
    v_category text := stockking.arg_text(args, 'category', false);
    v_q        text := stockking.arg_text(args, 'q', false);
    v_limit    bigint := coalesce(stockking.arg_bigint(args, 'limit', false), 20);
    v_cursor   text := stockking.arg_text(args, 'cursor', false);
    v_cdate    date;
    v_cid      bigint;
    v_items    jsonb;
    v_count    integer;
    v_last     stockking.ledger_entry;
BEGIN
    IF v_limit NOT BETWEEN 1 AND 100 THEN
        RAISE EXCEPTION 'field "limit" must be between 1 and 100' USING ERRCODE = '22023';
    END IF;
    IF v_kind IS NOT NULL AND v_kind NOT IN ('EXPENSE', 'INCOME') THEN
        RAISE EXCEPTION 'field "kind" must be EXPENSE or INCOME' USING ERRCODE = '22023';
    END IF;
    IF v_cursor IS NOT NULL THEN
        IF v_cursor !~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}\.[0-9]{1,18}$' THEN
            RAISE EXCEPTION 'field "cursor" is not a cursor of this list' USING ERRCODE = '22023';
        END IF;
        v_cdate := split_part(v_cursor, '.', 1)::date;
        v_cid := split_part(v_cursor, '.', 2)::bigint;
    END IF;
    SELECT coalesce(jsonb_agg(stockking.ledger_entry_json(e) ORDER BY e.entry_date DESC, e.id DESC), '[]'), count(*)
      INTO v_items, v_count
      FROM (SELECT * FROM stockking.ledger_entry
             WHERE user_id = v_subject
               AND (v_from IS NULL OR entry_date >= v_from) AND (v_to IS NULL OR entry_date <= v_to)
               AND (v_kind IS NULL OR kind = v_kind) AND (v_category IS NULL OR category = v_category)
               AND (v_q IS NULL OR strpos(coalesce(merchant, '') || ' ' || memo, v_q) > 0)
               AND (v_cursor IS NULL OR (entry_date, id) < (v_cdate, v_cid))
             ORDER BY entry_date DESC, id DESC LIMIT v_limit) e;
    IF v_count = v_limit THEN
        SELECT * INTO v_last FROM stockking.ledger_entry WHERE id = (v_items -> (v_count - 1) ->> 'id')::bigint;
    END IF;
    RETURN jsonb_build_object('user_id', v_subject, 'items', v_items,
                              'next_cursor', CASE WHEN v_last.id IS NOT NULL
                                                  THEN to_char(v_last.entry_date, 'YYYY-MM-DD') || '.' || v_last.id END);
END
$$;
COMMENT ON FUNCTION api.ledger_entries(jsonb) IS
$$GET /v1/ledger/entries: a ledger, newest first, in pages (keyset on date and id).
Args: {"user_id" (optional: a parent reads a child's ledger; default the caller), "from","to": YYYY-MM-DD,
"kind": EXPENSE|INCOME, "category", "q" (text in merchant or memo), "limit": 1..100 (default 20),
"cursor": the previous page's next_cursor}.
Returns {"user_id","items":[{"id","kind","date","amount","merchant","category","memo","source",...}],"next_cursor"
(null on the last page)}.  Errors: 22023/22007 (400) bad field; P0002 (404) user not visible; 28000 (401).$$;

CREATE FUNCTION api.ledger_entry_delete(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    e stockking.ledger_entry;
BEGIN
    DELETE FROM stockking.ledger_entry WHERE id = stockking.arg_bigint(args, 'id') AND user_id = stockking.require_user()
        RETURNING * INTO e;
    IF e.id IS NULL THEN
        RAISE EXCEPTION 'ledger entry % not found', args ->> 'id' USING ERRCODE = 'P0002';
    END IF;
    RETURN jsonb_build_object('deleted', stockking.ledger_entry_json(e));
END
$$;
COMMENT ON FUNCTION api.ledger_entry_delete(jsonb) IS
$$DELETE /v1/ledger/entries/:id: delete one of the caller's entries.  Returns {"deleted": entry}.
Errors: P0002 (404) no such entry of the caller; 28000 (401).$$;

CREATE FUNCTION stockking.ledger_budgets_json(p_user uuid, p_month date) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
    SELECT coalesce(jsonb_agg(jsonb_build_object(
               'category', b.category, 'budget', b.monthly_limit, 'spent', s.spent,
               'percent', floor(s.spent * 100.0 / b.monthly_limit),
               'alerts', coalesce((SELECT jsonb_agg(a.threshold ORDER BY a.threshold) FROM stockking.ledger_budget_alert a
                                    WHERE a.user_id = b.user_id AND a.category = b.category AND a.month = p_month), '[]'))
             ORDER BY b.category), '[]')
      FROM stockking.ledger_budget b
      CROSS JOIN LATERAL (SELECT coalesce(sum(m.total), 0) AS spent FROM stockking.ledger_monthly m
                           WHERE m.user_id = b.user_id AND m.month = p_month AND m.kind = 'EXPENSE'
                             AND (b.category = '전체' OR m.category = b.category)) s
     WHERE b.user_id = p_user
    $$;

CREATE FUNCTION api.ledger_summary(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v_subject uuid := stockking.ledger_subject(args);
    v_month   date := stockking.ledger_month_arg(args);
BEGIN
    RETURN (
        SELECT jsonb_build_object(
            'user_id', v_subject, 'month', to_char(v_month, 'YYYY-MM'),
            'expense', coalesce(sum(total) FILTER (WHERE kind = 'EXPENSE'), 0),
            'income', coalesce(sum(total) FILTER (WHERE kind = 'INCOME'), 0),
            'net', coalesce(sum(CASE kind WHEN 'INCOME' THEN total ELSE -total END), 0),
            'entries', coalesce(sum(entries), 0),
            'categories', coalesce(jsonb_agg(jsonb_build_object('kind', kind, 'category', category, 'total', total,
                                                                'entries', entries) ORDER BY kind, total DESC, category)
                                   FILTER (WHERE kind IS NOT NULL), '[]'),
            'budgets', stockking.ledger_budgets_json(v_subject, v_month))
          FROM stockking.ledger_monthly WHERE user_id = v_subject AND month = v_month);
END
$$;
COMMENT ON FUNCTION api.ledger_summary(jsonb) IS
$$GET /v1/ledger/summary?month=YYYY-MM: a month of a ledger from the monthly summary (kept current by triggers in
the same transaction as every entry change).  Args: {"month": YYYY-MM (default this month), "user_id" (optional)}.
Returns {"user_id","month","expense","income","net","entries" (won, counts),"categories":[{"kind","category","total",
"entries"}],"budgets":[{"category","budget","spent","percent","alerts":[80,100]}]}.
Errors: 22007 (400) bad month; P0002 (404) user not visible; 28000 (401).$$;

CREATE FUNCTION api.ledger_budget_put(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v_caller   uuid := stockking.require_user();
    v_subject  uuid := stockking.ledger_subject(args);
    v_category text := btrim(stockking.arg_text(args, 'category'));
    v_amount   bigint := stockking.arg_bigint(args, 'amount');
    v_family   uuid;
BEGIN
    IF length(v_category) NOT BETWEEN 1 AND 50 THEN
        RAISE EXCEPTION 'field "category" must be 1 to 50 characters long' USING ERRCODE = '22023';
    END IF;
    IF v_amount < 0 OR v_amount > 1000000000 THEN
        RAISE EXCEPTION 'field "amount" must be 0 (no budget) to 1,000,000,000 won' USING ERRCODE = 'SK102';
    END IF;
    IF v_subject <> v_caller AND NOT (stockking.is_parent() OR stockking.is_admin()) THEN
        RAISE EXCEPTION 'only a parent sets another user''s budget' USING ERRCODE = '42501';
    END IF;
    SELECT family_id INTO v_family FROM stockking.users WHERE id = v_subject;
    IF v_amount = 0 THEN
        DELETE FROM stockking.ledger_budget WHERE user_id = v_subject AND category = v_category;
    ELSE
        INSERT INTO stockking.ledger_budget (user_id, category, family_id, monthly_limit, updated_by)
            VALUES (v_subject, v_category, v_family, v_amount, v_caller)
            ON CONFLICT (user_id, category) DO UPDATE
            SET monthly_limit = EXCLUDED.monthly_limit, updated_by = EXCLUDED.updated_by, updated_at = now();
        PERFORM stockking.ledger_check_budget(v_subject, v_category);
    END IF;
    RETURN jsonb_build_object('user_id', v_subject,
                              'budgets', stockking.ledger_budgets_json(v_subject, date_trunc('month', stockking.ledger_today())::date));
END
$$;
COMMENT ON FUNCTION api.ledger_budget_put(jsonb) IS
$$PUT /v1/ledger/budgets: set a monthly budget.  Args: {"category": an expense category or 전체 (all expenses),
"amount": won 1..1,000,000,000 (0 removes the budget), "user_id" (optional: a parent sets a child's)}.
Reaching 80% and 100% of it in the current month sends LedgerBudgetWarning and LedgerBudgetExceeded to the family
(once each per month).  Returns {"user_id","budgets":[...]} as in the summary.
Errors: 22023 (400) bad category; SK102 (422) amount out of range; 42501 (403) a child setting another's budget;
P0002 (404) user not visible; 28000 (401).$$;

CREATE FUNCTION api.ledger_budgets(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v_subject uuid := stockking.ledger_subject(args);
    v_month   date := stockking.ledger_month_arg(args);
BEGIN
    RETURN jsonb_build_object('user_id', v_subject, 'month', to_char(v_month, 'YYYY-MM'),
                              'budgets', stockking.ledger_budgets_json(v_subject, v_month));
END
$$;
COMMENT ON FUNCTION api.ledger_budgets(jsonb) IS
$$GET /v1/ledger/budgets: budgets with this month's spending.  Args: {"user_id","month"} (optional).$$;

CREATE FUNCTION api.ledger_merchants(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
BEGIN
    PERFORM stockking.require_user();
    RETURN jsonb_build_object('items', coalesce((
        SELECT jsonb_agg(jsonb_build_object('id', id, 'name', name, 'category', category, 'aliases', aliases,
                                            'scope', CASE WHEN family_id IS NULL THEN 'GLOBAL' ELSE 'FAMILY' END)
                         ORDER BY family_id IS NULL, name)
          FROM stockking.merchant), '[]'));
END
$$;
COMMENT ON FUNCTION api.ledger_merchants(jsonb) IS
$$GET /v1/ledger/merchants: the merchants the parser knows for the caller: global ones and the family's own.
Returns {"items":[{"id","name","category","aliases","scope": GLOBAL|FAMILY}]}.$$;

CREATE FUNCTION api.ledger_merchant_add(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v_user     uuid := stockking.require_user();
    v_name     text := btrim(stockking.arg_text(args, 'name'));
    v_category text := stockking.arg_text(args, 'category');
    v_global   boolean := coalesce((args ->> 'global')::boolean, false);
    v_aliases  text[];
    m          stockking.merchant;
BEGIN
    IF length(v_name) NOT BETWEEN 1 AND 100 THEN
        RAISE EXCEPTION 'field "name" must be 1 to 100 characters long' USING ERRCODE = '22023';
    END IF;
    IF NOT v_category = ANY ((stockking.ledger_categories())[1:13]) THEN
        RAISE EXCEPTION 'field "category" must be one of %', array_to_string((stockking.ledger_categories())[1:13], ', ')
            USING ERRCODE = '22023';
    END IF;
    IF args ? 'aliases' AND jsonb_typeof(args -> 'aliases') <> 'null' THEN
        IF jsonb_typeof(args -> 'aliases') <> 'array'
           OR EXISTS (SELECT 1 FROM jsonb_array_elements(args -> 'aliases') a
                       WHERE jsonb_typeof(a) <> 'string' OR length(btrim(a #>> '{}')) NOT BETWEEN 1 AND 50)
           OR jsonb_array_length(args -> 'aliases') > 20 THEN
            RAISE EXCEPTION 'field "aliases" must be an array of at most 20 strings of 1 to 50 characters'
                USING ERRCODE = '22023';
        END IF;
        SELECT coalesce(array_agg(btrim(a)), '{}') INTO v_aliases FROM jsonb_array_elements_text(args -> 'aliases') a;
    END IF;
    IF v_global AND NOT stockking.is_admin() THEN
        RAISE EXCEPTION 'only ADMIN adds global merchants' USING ERRCODE = '42501';
    END IF;
    INSERT INTO stockking.merchant (family_id, name, category, aliases, created_by)
        VALUES (CASE WHEN v_global THEN NULL ELSE stockking.my_family() END, v_name, v_category,
                coalesce(v_aliases, '{}'), v_user)
        RETURNING * INTO m;
    RETURN jsonb_build_object('id', m.id, 'name', m.name, 'category', m.category, 'aliases', m.aliases,
                              'scope', CASE WHEN m.family_id IS NULL THEN 'GLOBAL' ELSE 'FAMILY' END);
END
$$;
COMMENT ON FUNCTION api.ledger_merchant_add(jsonb) IS
$$POST /v1/ledger/merchants: teach the parser a merchant for the caller's family (or, for ADMIN with "global": true,
for everyone).  Args: {"name": 1..100, "category": an expense category, "aliases": [text 1..50] (at most 20),
"global": boolean}.  The parser sees it at once.  Errors: 22023 (400) bad field; 23505 (409) the name exists;
42501 (403) global without ADMIN; 28000 (401).$$;

-- Maintenance (pg_cron, see stockking.ledger_install_jobs).
CREATE FUNCTION stockking.ledger_expire_pending() RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v_expired integer;
    v_purged  integer;
    v_imports integer;
BEGIN
    UPDATE stockking.ledger_pending SET status = 'EXPIRED', updated_at = now()
     WHERE status = 'PENDING' AND expires_at <= now();
    GET DIAGNOSTICS v_expired = ROW_COUNT;
    DELETE FROM stockking.ledger_pending WHERE status <> 'PENDING' AND updated_at < now() - interval '30 days';
    GET DIAGNOSTICS v_purged = ROW_COUNT;
    -- uncommitted uploads keep their file for a day
    DELETE FROM stockking.ledger_import WHERE status = 'PREVIEW' AND created_at < now() - interval '1 day';
    GET DIAGNOSTICS v_imports = ROW_COUNT;
    RETURN jsonb_build_object('expired', v_expired, 'purged', v_purged, 'imports_dropped', v_imports);
END
$$;
REVOKE ALL ON FUNCTION stockking.ledger_expire_pending() FROM PUBLIC;
COMMENT ON FUNCTION stockking.ledger_expire_pending() IS
    'pg_cron, every minute: mark expired pending chat entries EXPIRED, purge closed ones after 30 days, drop day-old uncommitted imports';

CREATE FUNCTION stockking.ledger_refresh_summary() RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v_fixed   integer;
    v_removed integer;
BEGIN
    -- writers wait for the few hundred milliseconds of the rebuild; readers go on
    LOCK TABLE stockking.ledger_entry IN SHARE MODE;
    INSERT INTO stockking.ledger_monthly AS m (user_id, month, kind, category, family_id, total, entries)
    SELECT user_id, date_trunc('month', entry_date)::date, kind, category, family_id, sum(amount), count(*)
      FROM stockking.ledger_entry GROUP BY 1, 2, 3, 4, 5
    ON CONFLICT (user_id, month, kind, category) DO UPDATE
       SET total = EXCLUDED.total, entries = EXCLUDED.entries
     WHERE (m.total, m.entries) IS DISTINCT FROM (EXCLUDED.total, EXCLUDED.entries);
    GET DIAGNOSTICS v_fixed = ROW_COUNT;
    DELETE FROM stockking.ledger_monthly m
     WHERE NOT EXISTS (SELECT 1 FROM stockking.ledger_entry e
                        WHERE e.user_id = m.user_id AND e.kind = m.kind AND e.category = m.category
                          AND e.entry_date >= m.month AND e.entry_date < (m.month + interval '1 month')::date);
    GET DIAGNOSTICS v_removed = ROW_COUNT;
    RETURN jsonb_build_object('upserted', v_fixed, 'removed', v_removed);
END
$$;
REVOKE ALL ON FUNCTION stockking.ledger_refresh_summary() FROM PUBLIC;
COMMENT ON FUNCTION stockking.ledger_refresh_summary() IS
    'pg_cron, nightly: rebuild stockking.ledger_monthly from the entries (the triggers keep it current; this proves it)';

CREATE FUNCTION stockking.ledger_install_jobs() RETURNS void
    LANGUAGE plpgsql VOLATILE
    AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_cron') THEN
        RAISE EXCEPTION 'pg_cron is not installed in this database' USING ERRCODE = '55000';
    END IF;
    EXECUTE $q$SELECT cron.schedule('stockking-ledger-expire', '* * * * *', 'SELECT stockking.ledger_expire_pending()')$q$;
    EXECUTE $q$SELECT cron.schedule('stockking-ledger-summary', '17 3 * * *', 'SELECT stockking.ledger_refresh_summary()')$q$;
END
$$;
REVOKE ALL ON FUNCTION stockking.ledger_install_jobs() FROM PUBLIC;
COMMENT ON FUNCTION stockking.ledger_install_jobs() IS
    'operators: schedule the ledger''s pg_cron jobs (expire pending chat entries every minute, rebuild summaries at 03:17); idempotent';

ALTER FUNCTION api.parse_ledger_text(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.parse_ledger_text(text, date) OWNER TO stockking_definer;
ALTER FUNCTION api.ledger_chat(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.ledger_chat_confirm(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.ledger_chat_cancel(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.ledger_import_create(jsonb, bytea) OWNER TO stockking_definer;
ALTER FUNCTION api.ledger_import_commit(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.ledger_import_get(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.ledger_entries(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.ledger_entry_delete(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.ledger_summary(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.ledger_budget_put(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.ledger_budgets(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.ledger_merchants(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.ledger_merchant_add(jsonb) OWNER TO stockking_definer;

INSERT INTO stockking.route (method, path, fn, roles, read_only, success_status, max_body, raw_body, summary) VALUES
    ('POST', '/v1/ledger/parse', 'parse_ledger_text', '{}', true, 200, 65536, false, 'Parse a Korean ledger sentence'),
    ('POST', '/v1/ledger/chat', 'ledger_chat', '{}', false, 200, 65536, false,
     'A chat message: a pending entry to confirm, a change, or an answer'),
    ('POST', '/v1/ledger/chat/:id/confirm', 'ledger_chat_confirm', '{}', false, 200, 65536, false,
     'Confirm a pending chat entry'),
    ('POST', '/v1/ledger/chat/:id/cancel', 'ledger_chat_cancel', '{}', false, 200, 65536, false,
     'Cancel a pending chat entry'),
    ('POST', '/v1/ledger/imports', 'ledger_import_create', '{}', false, 201, 33554432, true,
     'Upload a bank or card CSV export: its preview and mapping'),
    ('GET', '/v1/ledger/imports/:id', 'ledger_import_get', '{}', true, 200, 65536, false, 'An import''s mapping and counts'),
    ('POST', '/v1/ledger/imports/:id/commit', 'ledger_import_commit', '{}', false, 200, 65536, false,
     'Commit an import, all or nothing (optional mapping override)'),
    ('GET', '/v1/ledger/entries', 'ledger_entries', '{}', true, 200, 65536, false, 'Ledger entries, newest first, paginated'),
    ('DELETE', '/v1/ledger/entries/:id', 'ledger_entry_delete', '{}', false, 200, 65536, false, 'Delete a ledger entry'),
    ('GET', '/v1/ledger/summary', 'ledger_summary', '{}', true, 200, 65536, false, 'A month by category, with budgets'),
    ('GET', '/v1/ledger/budgets', 'ledger_budgets', '{}', true, 200, 65536, false, 'Monthly budgets and spending'),
    ('PUT', '/v1/ledger/budgets', 'ledger_budget_put', '{}', false, 200, 65536, false, 'Set a monthly category budget'),
    ('GET', '/v1/ledger/merchants', 'ledger_merchants', '{}', true, 200, 65536, false, 'Merchants the parser knows'),
    ('POST', '/v1/ledger/merchants', 'ledger_merchant_add', '{}', false, 201, 65536, false, 'Add a family (or global) merchant');
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
CREATE TRIGGER child_link_code AFTER INSERT ON stockking.users
    FOR EACH ROW WHEN (NEW.role = 'CHILD') EXECUTE FUNCTION stockking.child_link_code();
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

-- Linking (extension/family.c).  Owned by the extension's owner: the parent
-- cannot see the child's family before the link, and the merge must move
-- rows of append-only tables (see the C comment).
CREATE FUNCTION api.link_family(args jsonb) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'stockking_link_family'
    LANGUAGE C VOLATILE STRICT SECURITY DEFINER SET search_path = pg_catalog, stockking;
COMMENT ON FUNCTION api.link_family(jsonb) IS
$$POST /v1/auth/link-family {"code": a child's link code (case and dashes ignored)}: the calling PARENT joins the child's family.
The two families merge in one transaction: every row of the smaller family (fewer members; a tie keeps the child's) moves
to the other -- the family_id of every table in schema stockking that has one -- and the emptied family is deleted; trade
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
    v_child     uuid := stockking.child_arg(args);
    v_save_user text := current_setting('request.user_id', true);
    v_save_role text := current_setting('request.role', true);
    r           jsonb;
BEGIN
    IF fn NOT IN ('get_portfolio', 'get_holdings', 'list_history') THEN
        RAISE EXCEPTION 'read_as_child: % is not a read function', fn USING ERRCODE = '42501';
    END IF;
    PERFORM set_config('request.user_id', v_child::text, true), set_config('request.role', 'CHILD', true);
    EXECUTE format('SELECT api.%I($1)', fn) INTO r USING args - 'child_id';
    PERFORM set_config('request.user_id', coalesce(v_save_user, ''), true),
            set_config('request.role', coalesce(v_save_role, ''), true);
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
-- Daily account snapshots and the time-weighted return index
-- (extension/snapshots.c).
--
-- A snapshot is an account's state at its season's clock date: cash, market
-- value (every holding at the close of its latest bar at or before the
-- clock, quantity x close rounded half up to the minor unit), total value,
-- net contribution, the flow since the previous snapshot (the change of net
-- contribution: starting cash, mission rewards, deposits -- money put in,
-- not earned) and the time-weighted return index.
--
-- The index starts at 1 when the account opens and is chain-linked from one
-- snapshot to the next, with the period's flow counted at its end:
--
--     index_t = index_{t-1} x (value_t - flow_t) / value_{t-1}
--
-- so a reward or deposit is taken out of the value before the period's
-- return is measured and never counts as return (what it earned, if it was
-- invested at once, before the period ended does).  Before the first
-- snapshot the chain starts from the account's opening: index 1, value and
-- net contribution both the opening deposit.  The time-weighted return between
-- two moments is index_b / index_a - 1.  Between snapshots the current
-- index is the same link from the latest snapshot before the clock date to
-- the current valuation.  The index has 12 decimals, rounded half up at each
-- link; it does not go below 0, and a link without a base keeps it.

CREATE TABLE stockking.account_snapshot (
    account_id       bigint NOT NULL,
    market_date      date NOT NULL,
    family_id        uuid NOT NULL,
    user_id          uuid NOT NULL,
    season_id        integer NOT NULL,
    cash             bigint NOT NULL,
    market_value     bigint NOT NULL,
    total_value      bigint NOT NULL,
    net_contribution bigint NOT NULL,
    flow             bigint NOT NULL,
    twr_index        numeric(24, 12) NOT NULL CHECK (twr_index >= 0),
    taken_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, market_date)
);
CREATE INDEX account_snapshot_season ON stockking.account_snapshot (season_id, market_date);
CREATE INDEX account_snapshot_family ON stockking.account_snapshot (family_id);
COMMENT ON TABLE stockking.account_snapshot IS
    'an account at its season''s clock date (minor units): cash, market value, total, net contribution, the flow since the previous snapshot, and the time-weighted return index (1 at opening)';

ALTER TABLE stockking.account_snapshot ENABLE ROW LEVEL SECURITY;
CREATE POLICY account_snapshot_read ON stockking.account_snapshot FOR SELECT USING (stockking.can_read(family_id, user_id));
GRANT SELECT ON stockking.account_snapshot TO stockking_definer;

CREATE FUNCTION stockking.trade_value(quantity bigint, price numeric, minor_units integer) RETURNS bigint
    AS 'MODULE_PATHNAME', 'stockking_trade_value'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION stockking.trade_value(bigint, numeric, integer) IS
    'quantity x price (major units, up to 6 decimals) in minor units of a currency with minor_units decimals, rounded half up (extension/money.c)';

CREATE FUNCTION stockking.twr_link(prev_index numeric, prev_value bigint, flow bigint, value bigint) RETURNS numeric
    AS 'MODULE_PATHNAME', 'stockking_twr_link'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION stockking.twr_link(numeric, bigint, bigint, bigint) IS
    'the next time-weighted return index: prev_index x (value - flow) / prev_value (the first link, prev_value 0: prev_index x value / flow), 12 decimals rounded half up, never below 0';

CREATE FUNCTION stockking.account_now(account_id bigint,
                                      OUT season_id integer, OUT clock date, OUT currency text, OUT minor_units integer,
                                      OUT cash bigint, OUT market_value bigint, OUT total_value bigint,
                                      OUT net_contribution bigint, OUT twr_index numeric)
    AS 'MODULE_PATHNAME', 'stockking_account_now'
    LANGUAGE C STABLE STRICT;
REVOKE ALL ON FUNCTION stockking.account_now(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION stockking.account_now(bigint) TO stockking_definer;
COMMENT ON FUNCTION stockking.account_now(bigint) IS
    'an account valued now (at its season''s clock) with its current time-weighted return index, linked from the latest snapshot before the clock date; P0002 if not visible';

CREATE FUNCTION stockking.snapshot_accounts(season_id integer DEFAULT NULL) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'stockking_snapshot_accounts'
    LANGUAGE C VOLATILE;
REVOKE ALL ON FUNCTION stockking.snapshot_accounts(integer) FROM PUBLIC;
COMMENT ON FUNCTION stockking.snapshot_accounts(integer) IS
    'job: snapshot every account of every OPEN season (or of one season) at its clock date; re-running on the same date '
    'recomputes that date''s row from the previous one and writes only what changed; returns {"seasons": [{"season_id", '
    '"clock", "accounts", "written"}], "ms"}';

-- The time-weighted return index an account had at a moment: its latest
-- snapshot taken before then (1 before the first).  Used for weekly and
-- monthly returns.
CREATE FUNCTION stockking.index_before(p_account bigint, p_before timestamptz) RETURNS numeric
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT coalesce((SELECT s.twr_index FROM stockking.account_snapshot s
                      WHERE s.account_id = p_account AND s.taken_at < p_before
                      ORDER BY s.market_date DESC LIMIT 1), 1)
    $$;
COMMENT ON FUNCTION stockking.index_before(bigint, timestamptz) IS
    'the time-weighted return index of an account''s latest snapshot taken before a moment; 1 when there is none';
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
    FOR EACH ROW EXECUTE FUNCTION stockking.mission_on_fill();
CREATE FUNCTION stockking.mission_on_order() RETURNS trigger
    AS 'MODULE_PATHNAME', 'stockking_mission_on_order'
    LANGUAGE C;
COMMENT ON FUNCTION stockking.mission_on_order() IS
    'trigger on stockking.orders (LIMIT orders): FIRST_LIMIT_ORDER badge and WEEKLY_LIMIT_ORDER progress';
CREATE TRIGGER order_missions AFTER INSERT ON stockking.orders
    FOR EACH ROW WHEN (NEW.order_type = 'LIMIT') EXECUTE FUNCTION stockking.mission_on_order();

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
CREATE VIEW stockking.users_public AS SELECT id, nickname FROM stockking.users;
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
-- Scheduled jobs and materialized summaries.
--
-- Each job is a function that may run any number of times: it does what is
-- due and nothing twice.  stockking.run_job(job) runs one under a
-- transaction-level advisory lock (a second run of the same job at the same
-- time returns at once) and records its result in stockking.job_state.
-- stockking.install_jobs() schedules them all with pg_cron, by name, so
-- calling it again updates the schedules instead of adding jobs.  pg_cron
-- lives only in the database cron.database_name names; this script does not
-- need it -- the set-up calls install_jobs() there -- and the regression
-- tests call the job functions directly.  Schedules are in cron.timezone
-- (the set-up sets Asia/Seoul).

-- Replay seasons that advance on their own: bars_per_run bars every minute.
CREATE TABLE stockking.replay_schedule (
    season_id    integer PRIMARY KEY REFERENCES stockking.season (id),
    bars_per_run integer NOT NULL DEFAULT 1 CHECK (bars_per_run BETWEEN 1 AND 5000),
    active       boolean NOT NULL DEFAULT true,
    updated_at   timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE stockking.replay_schedule IS
    'operators: REPLAY seasons the replay-clock job advances, bars_per_run bars a minute (switched off at the end of the data)';

-- Job: advance the scheduled replay seasons' clocks (api.advance_clock
-- matches their resting limit orders and expires their DAY orders bar by
-- bar), then snapshot their accounts at the new clock.
CREATE FUNCTION stockking.advance_replays() RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    r      record;
    v_out  jsonb := '[]';
    v_step jsonb;
BEGIN
    FOR r IN SELECT rs.season_id, rs.bars_per_run FROM stockking.replay_schedule rs
               JOIN stockking.season s ON s.id = rs.season_id
              WHERE rs.active AND s.mode = 'REPLAY' AND s.status = 'OPEN' ORDER BY rs.season_id LOOP
        BEGIN
            v_step := api.advance_clock(r.season_id, r.bars_per_run);
            IF (v_step ->> 'at_end')::boolean THEN
                UPDATE stockking.replay_schedule SET active = false, updated_at = now() WHERE season_id = r.season_id;
            END IF;
        EXCEPTION WHEN SQLSTATE 'SK012' THEN
            UPDATE stockking.replay_schedule SET active = false, updated_at = now() WHERE season_id = r.season_id;
            v_step := jsonb_build_object('season_id', r.season_id, 'at_end', true, 'bars_advanced', 0);
        END;
        PERFORM stockking.snapshot_accounts(r.season_id);
        v_out := v_out || v_step;
    END LOOP;
    RETURN jsonb_build_object('seasons', v_out);
END
$$;

-- Job: expire DAY limit orders of LIVE seasons whose session is over.  A
-- DAY order is good for the session after it was placed (extension/trade.c):
-- once a bar of its symbol after placed_bar_date exists and lies before the
-- season's clock, that session is over.  An order that bar did not reach
-- expires, its reservation released; one the bar reached is left for the
-- matching (REPLAY seasons do both in api.advance_clock).
CREATE FUNCTION stockking.expire_day_orders() RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    o        record;
    v_status text;
    v_cash   bigint;
    v_qty    bigint;
    v_count  integer := 0;
BEGIN
    FOR o IN SELECT od.id, od.account_id, od.family_id, od.user_id, od.symbol, od.side,
                    od.quantity - od.filled_quantity AS open_qty
               FROM stockking.orders od
               JOIN stockking.season s ON s.id = od.season_id AND s.mode = 'LIVE' AND s.status = 'OPEN'
               CROSS JOIN LATERAL (SELECT b.low, b.high, b.bar_date FROM stockking.price_bar b
                                    WHERE b.symbol = od.symbol AND b.bar_date > od.placed_bar_date
                                    ORDER BY b.bar_date LIMIT 1) nb
              WHERE od.status IN ('NEW', 'PARTIALLY_FILLED') AND od.order_type = 'LIMIT' AND od.time_in_force = 'DAY'
                AND nb.bar_date < stockking.season_clock(s.id)
                AND CASE WHEN od.side = 'BUY' THEN nb.low > od.limit_price ELSE nb.high < od.limit_price END
              ORDER BY od.account_id, od.id LOOP
        PERFORM 1 FROM stockking.account WHERE id = o.account_id FOR UPDATE;
        -- again under the account's lock: a cancel may have come first
        SELECT status, reserved_cash, reserved_quantity INTO v_status, v_cash, v_qty
          FROM stockking.orders WHERE id = o.id;
        CONTINUE WHEN v_status NOT IN ('NEW', 'PARTIALLY_FILLED');
        UPDATE stockking.account SET reserved_cash = reserved_cash - v_cash WHERE id = o.account_id AND v_cash <> 0;
        UPDATE stockking.holding SET reserved_quantity = reserved_quantity - v_qty, updated_at = now()
         WHERE account_id = o.account_id AND symbol = o.symbol AND v_qty <> 0;
        UPDATE stockking.orders SET status = 'EXPIRED',
               status_reason = 'DAY order: the next session did not reach the limit price',
               reserved_cash = 0, reserved_quantity = 0, updated_at = now()
         WHERE id = o.id;
        v_count := v_count + 1;
        PERFORM stockking.emit_event(o.user_id, o.family_id, 'FAMILY', 'OrderExpired',
                                     jsonb_build_object('order_id', o.id, 'symbol', o.symbol, 'side', o.side,
                                                        'quantity', o.open_qty, 'status', 'EXPIRED',
                                                        'reason', 'DAY order: the next session did not reach the limit price'));
    END LOOP;
    RETURN jsonb_build_object('expired', v_count);
END
$$;

-- Job: the mission periods that ended.  Progress rows are keyed by the
-- period's start, so a new Asia/Seoul day or week starts from 0 by itself;
-- this marks the unfinished missions of ended periods expired and removes
-- the ones that never started.  Completed missions stay claimable.
CREATE FUNCTION stockking.reset_missions(at timestamptz DEFAULT now()) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v_day     date := stockking.seoul_day(at);
    v_week    date := stockking.seoul_week(at);
    v_expired bigint;
    v_removed bigint;
BEGIN
    DELETE FROM stockking.mission_progress mp USING stockking.mission m
     WHERE m.code = mp.mission_code AND mp.progress = 0 AND mp.completed_at IS NULL
       AND mp.period_start < CASE m.period WHEN 'DAILY' THEN v_day ELSE v_week END;
    GET DIAGNOSTICS v_removed = ROW_COUNT;
    UPDATE stockking.mission_progress mp SET expired = true, updated_at = now()
      FROM stockking.mission m
     WHERE m.code = mp.mission_code AND NOT mp.expired AND mp.completed_at IS NULL
       AND mp.period_start < CASE m.period WHEN 'DAILY' THEN v_day ELSE v_week END;
    GET DIAGNOSTICS v_expired = ROW_COUNT;
    RETURN jsonb_build_object('day', v_day, 'week', v_week, 'expired', v_expired, 'removed', v_removed);
END
$$;

-- Job: refresh the weekly leaderboard, concurrently (readers never wait).
CREATE FUNCTION stockking.refresh_leaderboard() RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    t0 timestamptz := clock_timestamp();
BEGIN
    REFRESH MATERIALIZED VIEW CONCURRENTLY stockking.leaderboard_weekly;
    RETURN jsonb_build_object('rows', (SELECT count(*) FROM stockking.leaderboard_weekly),
                              'ms', round(extract(epoch FROM clock_timestamp() - t0) * 1000));
END
$$;

-- Job: the leagues.  When a week has begun: finish the week before (rank
-- each league by the weekly time-weighted return, promote the top and
-- relegate the bottom), then draw this week's leagues.  Both steps happen
-- once per week; running again changes nothing.
CREATE FUNCTION stockking.run_leagues(at timestamptz DEFAULT now()) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v_week     date := stockking.seoul_week(at);
    v_prev     date := v_week - 7;
    v_season   integer := (SELECT id FROM stockking.season WHERE is_default AND status = 'OPEN');
    v_finished bigint := 0;
    v_assigned bigint := 0;
BEGIN
    IF EXISTS (SELECT 1 FROM stockking.league_assignment WHERE week_start = v_prev)
       AND NOT EXISTS (SELECT 1 FROM stockking.league_result WHERE week_start = v_prev) THEN
        WITH ret AS (
            SELECT la.*, round(stockking.index_before(la.account_id, stockking.seoul_start(v_week))
                               / nullif(stockking.index_before(la.account_id, stockking.seoul_start(v_prev)), 0) - 1, 6) AS r
              FROM stockking.league_assignment la WHERE la.week_start = v_prev
        ), ranked AS (
            SELECT ret.*, coalesce(ret.r, 0) AS weekly_return,
                   rank() OVER (PARTITION BY tier, group_no ORDER BY coalesce(ret.r, 0) DESC) AS rnk,
                   row_number() OVER (PARTITION BY tier, group_no ORDER BY coalesce(ret.r, 0) DESC, user_id) AS pos,
                   count(*) OVER (PARTITION BY tier, group_no) AS n
              FROM ret
        ), moved AS (
            SELECT ranked.*, stockking.league_moves(n::integer) AS k FROM ranked
        ), decided AS (
            SELECT moved.*,
                   CASE WHEN pos <= k AND tier < 5 THEN 'PROMOTED'
                        WHEN pos > n - k AND tier > 1 THEN 'RELEGATED' ELSE 'STAYED' END AS movement
              FROM moved
        ), ins AS (
            INSERT INTO stockking.league_result (week_start, user_id, family_id, tier, group_no, group_size, rank_in_group,
                                                 weekly_return, movement, new_tier)
            SELECT v_prev, user_id, family_id, tier, group_no, n, rnk, weekly_return, movement,
                   tier + CASE movement WHEN 'PROMOTED' THEN 1 WHEN 'RELEGATED' THEN -1 ELSE 0 END
              FROM decided
            RETURNING user_id, new_tier
        )
        UPDATE stockking.league_member m SET tier = ins.new_tier, updated_at = now()
          FROM ins WHERE m.user_id = ins.user_id AND m.tier <> ins.new_tier;
        SELECT count(*) INTO v_finished FROM stockking.league_result WHERE week_start = v_prev;
    END IF;

    IF v_season IS NOT NULL AND NOT EXISTS (SELECT 1 FROM stockking.league_assignment WHERE week_start = v_week) THEN
        INSERT INTO stockking.league_member (user_id, family_id)
        SELECT a.user_id, a.family_id FROM stockking.account a WHERE a.season_id = v_season
        ON CONFLICT (user_id) DO NOTHING;
        WITH players AS (
            SELECT a.user_id, a.family_id, a.id AS account_id, m.tier,
                   row_number() OVER (PARTITION BY m.tier ORDER BY md5(a.user_id::text || v_week::text)) AS i,
                   count(*) OVER (PARTITION BY m.tier) AS n
              FROM stockking.account a JOIN stockking.league_member m ON m.user_id = a.user_id
             WHERE a.season_id = v_season
        )
        INSERT INTO stockking.league_assignment (week_start, user_id, family_id, account_id, tier, group_no)
        SELECT v_week, user_id, family_id, account_id, tier,
               ((i - 1) % greatest(1, round(n / 30.0)))::integer + 1
          FROM players;
        GET DIAGNOSTICS v_assigned = ROW_COUNT;
    END IF;
    RETURN jsonb_build_object('week_start', v_week, 'finished_week', v_prev, 'results', v_finished,
                              'assigned', v_assigned);
END
$$;
COMMENT ON FUNCTION stockking.run_leagues(timestamptz) IS
    'job: finish last week''s leagues (once) and draw this week''s (once): leagues of about 30 per tier, top 5 up, bottom 5 down';

-- The monthly family summary: per child and Asia/Seoul month, the trades
-- (fills), the time-weighted return of the default-season account over the
-- month, the allowance paid (SUCCEEDED payments) and the missions completed.
CREATE TABLE stockking.family_summary (
    month              date NOT NULL,
    child_id           uuid NOT NULL,
    family_id          uuid NOT NULL,
    trades             integer NOT NULL,
    month_return       numeric(20, 6),
    allowance_paid     bigint NOT NULL,
    missions_completed integer NOT NULL,
    badges_earned      integer NOT NULL,
    computed_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (month, child_id)
);
CREATE INDEX family_summary_family ON stockking.family_summary (family_id, month);
COMMENT ON TABLE stockking.family_summary IS
    'a child''s month (Asia/Seoul): trades, time-weighted return of the default-season account, allowance paid (won), missions completed, badges earned';
CREATE TABLE stockking.family_summary_notice (
    month     date NOT NULL,
    family_id uuid NOT NULL,
    event_id  bigint,
    PRIMARY KEY (month, family_id)
);
ALTER TABLE stockking.family_summary ENABLE ROW LEVEL SECURITY;
CREATE POLICY family_summary_read ON stockking.family_summary FOR SELECT USING (stockking.can_read(family_id, child_id));
GRANT SELECT ON stockking.family_summary TO stockking_definer;

CREATE FUNCTION stockking.build_family_summary(p_month date DEFAULT NULL) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v_month   date := date_trunc('month', coalesce(p_month, stockking.seoul_month(now()) - 1))::date;
    v_from    timestamptz := stockking.seoul_start(v_month);
    v_to      timestamptz := stockking.seoul_start((v_month + interval '1 month')::date);
    v_season  integer := (SELECT id FROM stockking.season WHERE is_default);
    v_rows    bigint;
    v_events  bigint;
    t0        timestamptz := clock_timestamp();
BEGIN
    INSERT INTO stockking.family_summary AS fs (month, child_id, family_id, trades, month_return, allowance_paid,
                                               missions_completed, badges_earned, computed_at)
    SELECT v_month, u.id, u.family_id, coalesce(f.n, 0),
           CASE WHEN a.id IS NOT NULL THEN
               round(stockking.index_before(a.id, v_to) / nullif(stockking.index_before(a.id, v_from), 0) - 1, 6) END,
           coalesce(p.paid, 0), coalesce(mp.n, 0), coalesce(b.n, 0), now()
      FROM stockking.users u
      LEFT JOIN (SELECT user_id, count(*) AS n FROM stockking.fill
                  WHERE created_at >= v_from AND created_at < v_to GROUP BY user_id) f ON f.user_id = u.id
      LEFT JOIN (SELECT child_id, sum(amount) AS paid FROM stockking.payment
                  WHERE status = 'SUCCEEDED' AND succeeded_at >= v_from AND succeeded_at < v_to
                  GROUP BY child_id) p ON p.child_id = u.id
      LEFT JOIN (SELECT user_id, count(*) AS n FROM stockking.mission_progress
                  WHERE completed_at >= v_from AND completed_at < v_to GROUP BY user_id) mp ON mp.user_id = u.id
      LEFT JOIN (SELECT user_id, count(*) AS n FROM stockking.user_badge
                  WHERE earned_at >= v_from AND earned_at < v_to GROUP BY user_id) b ON b.user_id = u.id
      LEFT JOIN stockking.account a ON a.user_id = u.id AND a.season_id = v_season
     WHERE u.role = 'CHILD'
    ON CONFLICT (month, child_id) DO UPDATE
       SET family_id = EXCLUDED.family_id, trades = EXCLUDED.trades, month_return = EXCLUDED.month_return,
           allowance_paid = EXCLUDED.allowance_paid, missions_completed = EXCLUDED.missions_completed,
           badges_earned = EXCLUDED.badges_earned, computed_at = EXCLUDED.computed_at
     WHERE (fs.family_id, fs.trades, fs.month_return, fs.allowance_paid, fs.missions_completed, fs.badges_earned)
           IS DISTINCT FROM (EXCLUDED.family_id, EXCLUDED.trades, EXCLUDED.month_return, EXCLUDED.allowance_paid,
                             EXCLUDED.missions_completed, EXCLUDED.badges_earned);
    GET DIAGNOSTICS v_rows = ROW_COUNT;

    -- tell each family's parents once per month
    WITH fam AS (
        INSERT INTO stockking.family_summary_notice (month, family_id)
        SELECT DISTINCT v_month, s.family_id FROM stockking.family_summary s
         WHERE s.month = v_month
           AND EXISTS (SELECT 1 FROM stockking.users pu WHERE pu.family_id = s.family_id AND pu.role = 'PARENT')
        ON CONFLICT DO NOTHING
        RETURNING family_id
    )
    SELECT count(stockking.emit_event(
               (SELECT pu.id FROM stockking.users pu WHERE pu.family_id = fam.family_id AND pu.role = 'PARENT'
                 ORDER BY pu.created_at LIMIT 1),
               fam.family_id, 'PARENTS', 'MonthlySummaryReady',
               jsonb_build_object('month', to_char(v_month, 'YYYY-MM'))))
      INTO v_events FROM fam;
    RETURN jsonb_build_object('month', to_char(v_month, 'YYYY-MM'), 'written', v_rows, 'events', v_events,
                              'ms', round(extract(epoch FROM clock_timestamp() - t0) * 1000));
END
$$;
COMMENT ON FUNCTION stockking.build_family_summary(date) IS
    'job: the monthly family summary of a month (default: the month before this Asia/Seoul month); re-running recomputes '
    'it and writes only what changed; the parents of each family hear MonthlySummaryReady once';

CREATE FUNCTION api.get_family_summary(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v_text  text := stockking.arg_text(args, 'month', false);
    v_month date;
BEGIN
    PERFORM stockking.require_user();
    IF v_text IS NULL THEN
        v_month := stockking.seoul_month(now()) - interval '1 month';
    ELSIF v_text ~ '^[0-9]{4}-(0[1-9]|1[0-2])$' THEN
        v_month := (v_text || '-01')::date;
    ELSE
        RAISE EXCEPTION 'field "month" must be YYYY-MM' USING ERRCODE = '22007';
    END IF;
    RETURN jsonb_build_object(
        'month', to_char(v_month, 'YYYY-MM'),
        'children', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                         'child_id', s.child_id, 'nickname', u.nickname, 'trades', s.trades,
                         'month_return_pct', trim_scale(round(s.month_return * 100, 4)),
                         'allowance_paid', s.allowance_paid, 'missions_completed', s.missions_completed,
                         'badges_earned', s.badges_earned, 'computed_at', s.computed_at) ORDER BY u.nickname, s.child_id), '[]')
                       FROM stockking.family_summary s JOIN stockking.users u ON u.id = s.child_id
                      WHERE s.month = v_month),
        'allowance_paid', (SELECT coalesce(sum(s.allowance_paid), 0) FROM stockking.family_summary s WHERE s.month = v_month));
END
$$;
ALTER FUNCTION api.get_family_summary(jsonb) OWNER TO stockking_definer;
COMMENT ON FUNCTION api.get_family_summary(jsonb) IS
$$GET /v1/family/summary?month=YYYY-MM (default: last month): the monthly summary the job computed -- a parent's children or a
child's own: {"month", "children": [{"child_id","nickname","trades","month_return_pct" (time-weighted, default season),
"allowance_paid" (won),"missions_completed","badges_earned","computed_at"}], "allowance_paid"}.
Errors: 22007 (400) month not YYYY-MM; 28000 (401).$$;

INSERT INTO stockking.route (method, path, fn, roles, read_only, success_status, token, summary) VALUES
    ('GET', '/v1/family/summary', 'get_family_summary', '{}', true, 200, 'none', 'Monthly family summary');

-- Job: retention.  pg_cron's job-run history older than the window; the
-- outbox's events older than the window through stockking.prune_outbox
-- (sql/25_sessions.sql: a prefix in commit order, so a client resuming
-- from before it is told to reload -- by then its events were delivered or
-- are stale); expired refresh tokens (stockking.prune_refresh_tokens).
CREATE FUNCTION stockking.purge_history(keep interval DEFAULT '30 days') RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v_runs   bigint := 0;
    v_events bigint := 0;
    v_tokens bigint := 0;
BEGIN
    IF keep IS NULL OR keep < interval '1 day' THEN
        RAISE EXCEPTION 'keep must be at least a day' USING ERRCODE = '22023';
    END IF;
    IF to_regclass('cron.job_run_details') IS NOT NULL THEN
        EXECUTE 'DELETE FROM cron.job_run_details WHERE end_time < now() - $1' USING keep;
        GET DIAGNOSTICS v_runs = ROW_COUNT;
    END IF;
    v_events := stockking.prune_outbox(keep);
    v_tokens := stockking.prune_refresh_tokens();
    RETURN jsonb_build_object('job_runs_deleted', v_runs, 'events_deleted', v_events, 'refresh_tokens_deleted', v_tokens);
END
$$;

-- Running and scheduling.
CREATE FUNCTION stockking.run_job(job text) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    r jsonb;
BEGIN
    IF NOT pg_try_advisory_xact_lock(hashtext('stockking.job'), hashtext(job)) THEN
        RETURN jsonb_build_object('job', job, 'skipped', 'running in another session');
    END IF;
    r := CASE job
        WHEN 'replay_clocks' THEN stockking.advance_replays()
        WHEN 'day_orders' THEN stockking.expire_day_orders()
        WHEN 'snapshots' THEN stockking.snapshot_accounts()
        WHEN 'missions' THEN stockking.reset_missions()
        WHEN 'leaderboard' THEN stockking.refresh_leaderboard()
        WHEN 'leagues' THEN stockking.run_leagues()
        WHEN 'monthly_summary' THEN stockking.build_family_summary()
        WHEN 'payments' THEN stockking.retry_payments()
        WHEN 'retention' THEN stockking.purge_history()
    END;
    IF r IS NULL THEN
        RAISE EXCEPTION 'no job named %', job USING ERRCODE = '22023';
    END IF;
    INSERT INTO stockking.job_state (name, last_run_at, last_result) VALUES (job, now(), r)
        ON CONFLICT (name) DO UPDATE SET last_run_at = EXCLUDED.last_run_at, last_result = EXCLUDED.last_result;
    RETURN jsonb_build_object('job', job) || r;
END
$$;
REVOKE ALL ON FUNCTION stockking.run_job(text) FROM PUBLIC;
COMMENT ON FUNCTION stockking.run_job(text) IS
    'run one job by name (replay_clocks, day_orders, snapshots, missions, leaderboard, leagues, monthly_summary, payments, '
    'retention) unless it is running already; records the result in stockking.job_state';

CREATE FUNCTION stockking.job_schedule()
    RETURNS TABLE (job_name text, schedule text, command text)
    LANGUAGE sql IMMUTABLE
    AS $$
    VALUES ('stockking-replay-clocks', '* * * * *', 'SELECT stockking.run_job(''replay_clocks'')'),
           ('stockking-day-orders', '*/30 * * * *', 'SELECT stockking.run_job(''day_orders'')'),
           ('stockking-snapshots', '50 23 * * *', 'SELECT stockking.run_job(''snapshots'')'),
           ('stockking-missions', '0 0 * * *', 'SELECT stockking.run_job(''missions'')'),
           ('stockking-leaderboard', '*/15 * * * *', 'SELECT stockking.run_job(''leaderboard'')'),
           ('stockking-leagues', '5 0 * * 1', 'SELECT stockking.run_job(''leagues'')'),
           ('stockking-monthly-summary', '30 0 1 * *', 'SELECT stockking.run_job(''monthly_summary'')'),
           ('stockking-payments', '* * * * *', 'SELECT stockking.run_job(''payments'')'),
           ('stockking-retention', '0 4 * * *', 'SELECT stockking.run_job(''retention'')')
    $$;
COMMENT ON FUNCTION stockking.job_schedule() IS
    'the pg_cron jobs stockking.install_jobs() installs (schedules in cron.timezone, Asia/Seoul in the set-up)';

CREATE FUNCTION stockking.install_jobs() RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    j       record;
    v_jobs  jsonb := '[]';
    v_id    bigint;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_cron') THEN
        RAISE EXCEPTION 'pg_cron is not installed in database %', current_database() USING ERRCODE = '55000',
            HINT = 'Call stockking.install_jobs() in the database named by cron.database_name, after CREATE EXTENSION pg_cron.';
    END IF;
    FOR j IN SELECT * FROM stockking.job_schedule() LOOP
        -- by name: an existing job of this name is updated, not duplicated
        EXECUTE 'SELECT cron.schedule($1, $2, $3)' INTO v_id USING j.job_name, j.schedule, j.command;
        v_jobs := v_jobs || jsonb_build_object('jobid', v_id, 'name', j.job_name, 'schedule', j.schedule);
    END LOOP;
    -- the ledger's own jobs (sql/50_ledger.sql), so that one call installs them all
    PERFORM stockking.ledger_install_jobs();
    v_jobs := v_jobs || jsonb_build_object('name', 'stockking-ledger-*', 'by', 'stockking.ledger_install_jobs()');
    RETURN jsonb_build_object('jobs', v_jobs);
END
$$;
REVOKE ALL ON FUNCTION stockking.install_jobs() FROM PUBLIC;
COMMENT ON FUNCTION stockking.install_jobs() IS
    'schedule every job of stockking.job_schedule() with pg_cron, by name (calling it again updates, never duplicates), '
    'and the ledger''s (stockking.ledger_install_jobs); needs pg_cron in this database (55000 otherwise)';

REVOKE ALL ON FUNCTION stockking.advance_replays(), stockking.expire_day_orders(), stockking.reset_missions(timestamptz),
    stockking.refresh_leaderboard(), stockking.run_leagues(timestamptz), stockking.build_family_summary(date),
    stockking.purge_history(interval) FROM PUBLIC;
-- Last: close the api schema to everything but stockking_api (the proxy's
-- role) and the superuser.  Runs after every domain's file.

REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA api FROM PUBLIC;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA api TO stockking_api;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA api TO stockking_definer;
