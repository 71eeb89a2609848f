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
-- (not for rows restored from a dump: they keep their seq)
CREATE CONSTRAINT TRIGGER outbox_commit_order AFTER INSERT ON stockking.outbox
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NOT stockking.restoring())
    EXECUTE FUNCTION stockking.outbox_commit_order();

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
