-- StockKing Kids: base objects -- schemas, roles, request identity, errors.
--
-- The install script is the concatenation of sql/*.sql in name order
-- (see extension/Makefile); this file comes first.

\echo Use "CREATE EXTENSION stockking" to load this file. \quit

-- Roles (cluster-wide; made here when missing):
--   stockking_api     may execute the api functions and nothing else; the
--                     proxy's login role (stockking_web) is a member.
--   stockking_definer owns the api functions (SECURITY DEFINER): neither
--                     superuser nor table owner, so row-level security applies
--                     to every api call.
--   stockking_system  owns the few functions that act beyond one caller's
--                     rows -- sign-up and log-in before there is a caller,
--                     sessions, the event feed, opening accounts, the ledger
--                     summaries, family merges: not a superuser, owns no
--                     table, passes row-level security (BYPASSRLS) but holds
--                     only the table privileges those functions use.
--   stockking_service a session whose role has its privileges may state the
--                     caller in request.user_id / request.role (operators'
--                     tools, batch jobs); every other session must prove the
--                     caller with a verified token (extension/identity.c).
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'stockking_api') THEN
        CREATE ROLE stockking_api NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'stockking_definer') THEN
        CREATE ROLE stockking_definer NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'stockking_system') THEN
        CREATE ROLE stockking_system NOLOGIN NOSUPERUSER BYPASSRLS NOCREATEDB NOCREATEROLE NOINHERIT;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'stockking_service') THEN
        CREATE ROLE stockking_service NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE;
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
GRANT USAGE ON SCHEMA stockking, api TO stockking_system;

-- Request identity (extension/identity.c).  The proxy sets, transaction-
-- locally, request.jwt (the caller's access token, verified here with the
-- secrets of the setting stockking.jwt_secret_files) and request.id (the
-- request id, for logs and the outbox).  A trusted session (superuser, or a
-- role with the privileges of stockking_service) states the caller instead:
--   request.user_id  the user's uuid
--   request.role     CHILD, PARENT or ADMIN
-- A superuser session counts as ADMIN as well (pg_cron jobs,
-- psql).

CREATE FUNCTION stockking.uid() RETURNS uuid
    AS 'MODULE_PATHNAME', 'stockking_uid' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION stockking.uid() IS
    'the calling user''s id (the verified token''s sub, or request.user_id in a trusted session), NULL when anonymous; 28000 for a token that does not verify';

CREATE FUNCTION stockking.request_role() RETURNS text
    AS 'MODULE_PATHNAME', 'stockking_request_role' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION stockking.request_role() IS 'the calling user''s role: CHILD, PARENT or ADMIN; NULL when anonymous';

CREATE FUNCTION stockking.is_admin() RETURNS boolean
    AS 'MODULE_PATHNAME', 'stockking_is_admin' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION stockking.is_admin() IS 'true for an ADMIN caller, or a superuser session (psql, pg_cron jobs)';

-- The extension's own code acting for another user (a parent's read of a
-- child's account runs the child's read as the child): until act_done(), or
-- the end of the (sub)transaction, the caller is that user.
CREATE FUNCTION stockking.act_as(user_id uuid, role text) RETURNS void
    AS 'MODULE_PATHNAME', 'stockking_act_as' LANGUAGE C VOLATILE;
CREATE FUNCTION stockking.act_done() RETURNS void
    AS 'MODULE_PATHNAME', 'stockking_act_done' LANGUAGE C VOLATILE;
REVOKE ALL ON FUNCTION stockking.act_as(uuid, text), stockking.act_done() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION stockking.act_as(uuid, text), stockking.act_done() TO stockking_definer;
COMMENT ON FUNCTION stockking.act_as(uuid, text) IS
    'internal: the rest of the (sub)transaction, until stockking.act_done(), runs as this user and role (CHILD, PARENT, ADMIN)';
COMMENT ON FUNCTION stockking.act_done() IS 'internal: ends the innermost stockking.act_as()';

CREATE FUNCTION stockking.require_user() RETURNS uuid
    LANGUAGE plpgsql STABLE
    AS $$
DECLARE
    u uuid := stockking.uid();
BEGIN
    IF u IS NULL THEN
        RAISE EXCEPTION 'authentication required'
            USING ERRCODE = '28000', HINT = 'Send a bearer token through the proxy (request.jwt); a trusted session may set request.user_id.';
    END IF;
    RETURN u;
END
$$;
COMMENT ON FUNCTION stockking.require_user() IS 'the calling user''s id; raises 28000 (HTTP 401) when anonymous';

-- Restores.  pg_restore (or psql reading a plain dump) loads every table's
-- rows with COPY after CREATE EXTENSION has made the tables and triggers; the
-- dump already holds the rows a trigger would derive, so triggers that derive
-- rows are declared WHEN (NOT stockking.restoring()) (extension/restore.c).
CREATE FUNCTION stockking.restoring() RETURNS boolean
    AS 'MODULE_PATHNAME', 'stockking_restoring' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION stockking.restoring() IS
    'true while the top-level statement is a COPY (a restore from pg_dump, or a bulk load): triggers that derive rows skip, because the dump carries the derived rows too';

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
