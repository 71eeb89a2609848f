-- Sessions: refresh tokens (rotation, reuse revoking the family, log-out,
-- expiry), the outbox's commit order and its replay for the proxy's event
-- streams (audiences, horizon, retention), the proxy's fan-out lookup, the
-- route table's rate classes and the OpenAPI document.  Everything runs in
-- one transaction that is rolled back: the suites after this one see
-- nothing of it.

-- sess_try(): run a statement, show "ok" or "SQLSTATE: message"
CREATE FUNCTION public.sess_try(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;

BEGIN;
-- seq is assigned at commit; inside this transaction, at the end of each statement
SET CONSTRAINTS stockking.outbox_commit_order IMMEDIATE;

SELECT stockking.create_user('sess-kid@example.com', 'correct horse', 'CHILD', 'kid') AS kid \gset
SELECT stockking.create_user('sess-mom@example.com', 'correct horse', 'PARENT', 'mom') AS mom \gset
SELECT stockking.create_user('sess-other@example.com', 'correct horse', 'CHILD', 'other') AS other \gset
UPDATE stockking.users SET family_id = (SELECT family_id FROM stockking.users WHERE id = :'kid') WHERE id = :'mom';

-- log-in issues a refresh token with the access token's claims
SELECT api.login('{"email": "sess-kid@example.com", "password": "correct horse"}') AS l \gset
SELECT (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(:'l'::jsonb) k) AS members,
       (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(:'l'::jsonb -> 'claims') k) AS claims,
       :'l'::jsonb -> 'claims' ->> 'role' AS role,
       :'l'::jsonb ->> 'refresh_token' ~ '^skr_[A-Za-z0-9_-]{43}$' AS token_format,
       :'l'::jsonb -> 'refresh_expires_in' AS refresh_expires_in;
SELECT :'l'::jsonb ->> 'refresh_token' AS rt1 \gset
-- stored as its SHA-256 only, for 7 days
SELECT count(*) AS stored, bool_and(t.expires_at = t.issued_at + interval '7 days') AS seven_days,
       bool_and(t.parent_id IS NULL AND t.rotated_at IS NULL AND t.revoked_at IS NULL) AS fresh
  FROM stockking.refresh_token t WHERE t.token_hash = sha256(convert_to(:'rt1', 'UTF8'));
SELECT count(*) AS in_clear FROM stockking.refresh_token WHERE position(convert_to(:'rt1', 'UTF8') IN token_hash) > 0;

-- rotation: a new access token's claims and a new refresh token in the same family
SELECT api.refresh(jsonb_build_object('refresh_token', :'rt1')) AS r \gset
SELECT :'r'::jsonb -> 'claims' ->> 'sub' = :'kid' AS same_user, :'r'::jsonb ->> 'refresh_token' <> :'rt1' AS new_token,
       :'r'::jsonb -> 'user' ->> 'email' AS email;
SELECT :'r'::jsonb ->> 'refresh_token' AS rt2 \gset
SELECT t2.chain_id = t1.chain_id AS same_family, t2.parent_id = t1.id AS child_of_rt1, t1.rotated_at IS NOT NULL AS rt1_rotated
  FROM stockking.refresh_token t1, stockking.refresh_token t2
 WHERE t1.token_hash = stockking.refresh_token_hash(:'rt1') AND t2.token_hash = stockking.refresh_token_hash(:'rt2');

-- reuse of the rotated token: the family is revoked, and the refusal is a
-- returned (committed) error, not a raised one
SELECT api.refresh(jsonb_build_object('refresh_token', :'rt1')) AS reuse;
SELECT revoked_reason, count(*) FROM stockking.refresh_token WHERE user_id = :'kid' GROUP BY 1;
SELECT sess_try(format('SELECT api.refresh(%L)', jsonb_build_object('refresh_token', :'rt2')));
SELECT sess_try($$SELECT api.refresh('{"refresh_token": "skr_unknown"}')$$);
SELECT sess_try($$SELECT api.refresh('{}')$$);

-- expiry
SELECT api.login('{"email": "sess-kid@example.com", "password": "correct horse"}') ->> 'refresh_token' AS rt3 \gset
UPDATE stockking.refresh_token SET expires_at = now() - interval '1 second' WHERE token_hash = stockking.refresh_token_hash(:'rt3');
SELECT sess_try(format('SELECT api.refresh(%L)', jsonb_build_object('refresh_token', :'rt3')));

-- log-out: the token's family, then every family of the user
SELECT api.login('{"email": "sess-kid@example.com", "password": "correct horse"}') ->> 'refresh_token' AS rt4 \gset
SELECT api.logout(jsonb_build_object('refresh_token', :'rt4')) AS logout;
SELECT api.logout(jsonb_build_object('refresh_token', :'rt4')) AS logout_again;
SELECT sess_try(format('SELECT api.refresh(%L)', jsonb_build_object('refresh_token', :'rt4')));
SELECT api.login('{"email": "sess-kid@example.com", "password": "correct horse"}') ->> 'refresh_token' AS rt5 \gset
SELECT api.login('{"email": "sess-kid@example.com", "password": "correct horse"}') ->> 'refresh_token' AS rt6 \gset
SELECT api.logout(jsonb_build_object('refresh_token', :'rt5', 'all', true)) AS logout_all;
SELECT sess_try(format('SELECT api.refresh(%L)', jsonb_build_object('refresh_token', :'rt6')));
SELECT sess_try(format('SELECT api.logout(%L)', jsonb_build_object('refresh_token', :'rt6', 'all', 'yes')));
SELECT sess_try($$SELECT api.logout('{"refresh_token": "skr_unknown"}')$$);

-- the outbox: every event numbered at commit (here: at the end of its statement)
SELECT stockking.emit_event(:'kid', u.family_id, 'USER', 'T', '{"n": 1}') > 0 AS e1 FROM stockking.users u WHERE u.id = :'kid';
-- seqs shown relative to the first (the sequence runs on across rolled-back suites)
SELECT seq - 1 AS base FROM stockking.outbox WHERE user_id = :'kid' AND payload ->> 'n' = '1' \gset
SELECT stockking.emit_event(:'kid', u.family_id, 'FAMILY', 'T', '{"n": 2}') > 0 AS e2 FROM stockking.users u WHERE u.id = :'kid';
SELECT stockking.emit_event(:'kid', u.family_id, 'PARENTS', 'T', '{"n": 3}') > 0 AS e3 FROM stockking.users u WHERE u.id = :'kid';
SELECT stockking.emit_event(:'other', u.family_id, 'USER', 'T', '{"n": 4}') > 0 AS e4 FROM stockking.users u WHERE u.id = :'other';
SELECT stockking.emit_event(:'mom', u.family_id, 'FAMILY', 'T', '{"n": 5}') > 0 AS e5 FROM stockking.users u WHERE u.id = :'mom';
SELECT o.payload ->> 'n' AS n, o.seq - :base AS seq, o.audience,
       array(SELECT CASE r WHEN :'kid' THEN 'kid' WHEN :'mom' THEN 'mom' WHEN :'other' THEN 'other' END
               FROM unnest(stockking.event_recipients(o)) r ORDER BY 1) AS recipients
  FROM stockking.outbox o WHERE o.seq > :base ORDER BY o.seq;
SELECT count(*) AS unnumbered FROM stockking.outbox WHERE seq IS NULL;

-- the replay for a stream: the caller's events after a seq, then the horizon
SELECT set_config('request.user_id', :'kid', true) IS NOT NULL AS as_kid, set_config('request.role', 'CHILD', true) IS NOT NULL;
SELECT seq - :base AS seq, event_type, (data::jsonb) -> 'payload' ->> 'n' AS n, (data::jsonb) ->> 'seq' = seq::text AS data_seq,
       horizon - :base AS horizon, pruned
  FROM api.event_replay(jsonb_build_object('after', :base));
SELECT seq - :base AS seq, (data::jsonb) -> 'payload' ->> 'n' AS n, horizon - :base AS horizon
  FROM api.event_replay(jsonb_build_object('after', :base + 1));
SELECT seq, horizon - :base AS horizon, pruned FROM api.event_replay('{}');
SELECT seq - :base AS seq, horizon - :base AS horizon FROM api.event_replay(jsonb_build_object('after', :base, 'limit', 1));
SELECT sess_try($$SELECT * FROM api.event_replay('{"after": -1}')$$);
SELECT sess_try($$SELECT * FROM api.event_replay('{"limit": 0}')$$);
SELECT set_config('request.user_id', :'mom', true) IS NOT NULL AS as_mom, set_config('request.role', 'PARENT', true) IS NOT NULL;
SELECT seq - :base AS seq, (data::jsonb) -> 'payload' ->> 'n' AS n FROM api.event_replay(jsonb_build_object('after', :base));
SELECT set_config('request.user_id', '', true) = '' AS anonymous;
SELECT sess_try($$SELECT * FROM api.event_replay('{}')$$);

-- the fan-out lookup: every event with its recipients, only outside requests
SELECT seq - :base AS seq, event_type, array_length(string_to_array(recipients, ','), 1) AS recipients, horizon - :base AS horizon
  FROM api.event_feed(jsonb_build_object('after', :base));
SELECT seq, horizon - :base AS horizon FROM api.event_feed('{}');
SELECT set_config('request.id', 'r-1', true) IS NOT NULL AS in_a_request;
SELECT sess_try($$SELECT * FROM api.event_feed('{}')$$);
SELECT set_config('request.id', '', true) = '' AS outside;
SELECT set_config('request.user_id', :'kid', true) IS NOT NULL AS with_identity;
SELECT sess_try($$SELECT * FROM api.event_feed('{}')$$);
SELECT set_config('request.user_id', '', true) = '' AS outside;
SELECT sess_try($$SELECT * FROM api.event_feed('{"after": 0, "limit": 0}')$$);

-- retention: a prefix in commit order; a replay from before it says so
SELECT sess_try($$SELECT stockking.prune_outbox('5 minutes')$$);
UPDATE stockking.outbox SET created_at = now() - interval '2 days' WHERE seq <= :base + 3;
SELECT stockking.prune_outbox('1 day') >= 3 AS pruned_some;
SELECT through - :base AS through FROM stockking.outbox_pruned;
SELECT min(seq) - :base AS first_left FROM stockking.outbox;
SELECT set_config('request.user_id', :'kid', true) IS NOT NULL AS as_kid;
SELECT seq, horizon - :base AS horizon, pruned FROM api.event_replay(jsonb_build_object('after', :base)) WHERE seq IS NULL;
SELECT seq, horizon - :base AS horizon, pruned FROM api.event_replay(jsonb_build_object('after', :base + 3)) WHERE seq IS NULL;
SELECT set_config('request.user_id', '', true) = '' AS anonymous;
SELECT stockking.prune_outbox('1 day') AS nothing_more;

-- the route table: rate classes derived when not given, explicit ones kept, unknown ones refused
INSERT INTO stockking.route (method, path, fn, roles, summary) VALUES
    ('POST', '/v1/trading/sess-a', 'x', '{CHILD}', 'a'),
    ('GET', '/v1/trading/sess-b/:id', 'x', '{}', 'b'),
    ('PUT', '/v1/sess-c', 'x', '{}', 'c');
INSERT INTO stockking.route (method, path, fn, roles, summary, rate_class, statement_timeout_ms) VALUES
    ('POST', '/v1/sess-d', 'x', NULL, 'd', 'login', 2500);
SELECT method, path, rate_class, statement_timeout_ms FROM api.route_table() WHERE path LIKE '%sess-%' ORDER BY path, method;
SELECT method, path, rate_class FROM api.route_table() WHERE path IN ('/v1/auth/login', '/v1/auth/refresh') ORDER BY path;
SELECT sess_try($$INSERT INTO stockking.route (method, path, fn, summary, rate_class) VALUES ('GET', '/v1/sess-e', 'x', 'e', 'none')$$);
SELECT sess_try($$INSERT INTO stockking.route (method, path, fn, summary, statement_timeout_ms) VALUES ('GET', '/v1/sess-f', 'x', 'f', 0)$$);

-- the OpenAPI document: from the route table and the functions' comments
SELECT api.openapi('{}') AS doc \gset
SELECT :'doc'::jsonb ->> 'openapi' AS openapi,
       (SELECT count(*) FROM jsonb_object_keys(:'doc'::jsonb -> 'paths') p WHERE p LIKE '%{%') > 0 AS has_parameters,
       :'doc'::jsonb -> 'paths' -> '/v1/trading/sess-b/{id}' -> 'get' -> 'parameters' -> 0 AS parameter,
       :'doc'::jsonb #>> '{paths,/v1/sess-d,post,x-rate-limit-class}' AS rate_class,
       :'doc'::jsonb #> '{paths,/v1/sess-d,post,security}' AS public_security,
       :'doc'::jsonb #> '{paths,/v1/trading/sess-a,post,security}' AS bearer,
       :'doc'::jsonb #>> '{paths,/v1/auth/logout,post,description}' LIKE 'Log out:%' AS described,
       :'doc'::jsonb -> 'paths' ?& ARRAY['/health', '/ready', '/metrics', '/v1/events', '/v1/ws', '/v1/openapi.json'] AS own;
ROLLBACK;

DROP FUNCTION public.sess_try(text);
