-- The request identity (extension/identity.c): who a call is made for.
-- The proxy's role proves its caller with a token the database verifies;
-- only a trusted session states a caller; the extension's own acting-as
-- ends with its (sub)transaction; the caller's family is read afresh when a
-- merge changes it in the same transaction.
SET client_min_messages = warning;
SELECT current_database() AS regress_db \gset
DROP DATABASE IF EXISTS regress_sk_identity;
CREATE DATABASE regress_sk_identity;
\c regress_sk_identity
SET client_min_messages = warning;
CREATE EXTENSION pgcrypto;
CREATE EXTENSION stockking;

-- try(): "ok", or "SQLSTATE: message (detail)"
CREATE FUNCTION public.try(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    d text;
BEGIN
    EXECUTE q;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL;
    RETURN SQLSTATE || ': ' || SQLERRM || coalesce(' (' || nullif(d, '') || ')', '');
END
$$;
GRANT EXECUTE ON FUNCTION public.try(text) TO PUBLIC;

-- the proxy's kind of role: it may execute the api, nothing more
DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'regress_id_web') THEN
        CREATE ROLE regress_id_web LOGIN IN ROLE stockking_api;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'regress_id_service') THEN
        CREATE ROLE regress_id_service LOGIN IN ROLE stockking_api, stockking_service;
    END IF;
END $$;

-- Tokens as the proxy signs them (HS256, iss "stockking"), with the secret
-- the database is configured with (stockking.jwt_secret_files), or another.
CREATE FUNCTION public.b64url(b bytea) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT translate(replace(encode(b, 'base64'), E'\n', ''), '+/=', '-_') $$;
CREATE FUNCTION public.instance_secret() RETURNS bytea LANGUAGE sql SECURITY DEFINER AS $$
    SELECT convert_to(rtrim(pg_read_file(btrim(split_part(current_setting('stockking.jwt_secret_files'), ',', 1))), E'\r\n'),
                      'UTF8') $$;
CREATE FUNCTION public.mint(sub uuid, role text, ttl integer DEFAULT 900, secret bytea DEFAULT NULL,
                            header jsonb DEFAULT '{"alg": "HS256", "typ": "JWT"}', iss text DEFAULT 'stockking')
    RETURNS text LANGUAGE sql SECURITY DEFINER AS $$
    SELECT s || '.' || b64url(hmac(convert_to(s, 'UTF8'), coalesce(secret, instance_secret()), 'sha256'))
      FROM (SELECT b64url(convert_to(header::text, 'UTF8')) || '.' ||
                   b64url(convert_to(jsonb_build_object('sub', sub, 'role', role, 'iss', iss,
                                                        'iat', extract(epoch FROM now())::bigint,
                                                        'exp', extract(epoch FROM now())::bigint + ttl)::text, 'UTF8')) AS s) t
    $$;
GRANT EXECUTE ON FUNCTION public.mint(uuid, text, integer, bytea, jsonb, text) TO PUBLIC;
-- what the extension makes of the session's identity (the role that calls
-- counts, not this function's owner)
CREATE FUNCTION public.whoami(OUT uid uuid, OUT role text, OUT admin boolean) LANGUAGE sql SECURITY DEFINER AS $$
    SELECT stockking.uid(), stockking.request_role(), stockking.is_admin() $$;
GRANT EXECUTE ON FUNCTION public.whoami() TO PUBLIC;
CREATE FUNCTION public.my_family() RETURNS uuid LANGUAGE sql SECURITY DEFINER AS $$ SELECT stockking.my_family() $$;
GRANT EXECUTE ON FUNCTION public.my_family() TO PUBLIC;

SELECT (api.signup('{"email": "kid@example.com", "password": "correct horse", "role": "CHILD", "nickname": "kid"}') ->> 'id') AS kid \gset
SELECT (api.signup('{"email": "mom@example.com", "password": "correct horse", "role": "PARENT", "nickname": "mom"}') ->> 'id') AS mom \gset
SELECT stockking.create_user('admin@example.com', 'correct horse', 'ADMIN', 'admin') AS admin \gset
SELECT code AS kid_code FROM stockking.link_code WHERE user_id = :'kid' \gset

-- 1. The proxy's role cannot state a caller: request.user_id and
--    request.role are ignored there, ADMIN included.
SET SESSION AUTHORIZATION regress_id_web;
SELECT set_config('request.user_id', :'admin', false) IS NOT NULL AS claims_admin,
       set_config('request.role', 'ADMIN', false) IS NOT NULL AS claims_role;
SELECT uid IS NULL AS anonymous, admin, role FROM whoami();
SELECT try('SELECT api.me(''{}'')');
SELECT try('SELECT api.advance_clock(2, 1)');

-- 2. It proves the caller with a token the database verifies.
SELECT set_config('request.jwt', mint(:'kid', 'CHILD'), false) IS NOT NULL AS kid_token;
SELECT uid = :'kid' AS is_kid, role, admin FROM whoami();
SELECT api.me('{}') ->> 'nickname' AS me;
-- a valid ADMIN token (signed with the secret) makes an ADMIN; request.user_id still counts for nothing
SELECT set_config('request.jwt', mint(:'admin', 'ADMIN'), false) IS NOT NULL AS admin_token;
SELECT uid = :'admin' AS is_admin_user, admin FROM whoami();
SELECT set_config('request.user_id', :'kid', false) IS NOT NULL AS claims_kid;
SELECT uid = :'admin' AS still_the_token FROM whoami();

-- 3. Anything else is refused with 28000 and a reason.
SELECT set_config('request.jwt', mint(:'admin', 'ADMIN', secret => convert_to(repeat('x', 64), 'UTF8')), false) IS NOT NULL;
SELECT try('SELECT whoami()') AS other_secret;
SELECT set_config('request.jwt', mint(:'kid', 'CHILD', ttl => -3600), false) IS NOT NULL;
SELECT try('SELECT whoami()') AS expired;
SELECT set_config('request.jwt', mint(:'kid', 'CHILD', header => '{"alg": "none"}'), false) IS NOT NULL;
SELECT try('SELECT whoami()') AS alg_none;
SELECT set_config('request.jwt', mint(:'kid', 'CHILD', iss => 'elsewhere'), false) IS NOT NULL;
SELECT try('SELECT whoami()') AS other_issuer;
SELECT set_config('request.jwt', mint(:'kid', 'SUPERUSER'), false) IS NOT NULL;
SELECT try('SELECT whoami()') AS unknown_role;
-- the claims of a CHILD token turned into ADMIN keep the CHILD signature
SELECT set_config('request.jwt',
       split_part(t, '.', 1) || '.' || b64url(convert_to(jsonb_build_object('sub', :'kid', 'role', 'ADMIN', 'iss', 'stockking',
                                                      'exp', extract(epoch FROM now())::bigint + 900)::text, 'UTF8'))
       || '.' || split_part(t, '.', 3), false) IS NOT NULL
  FROM mint(:'kid', 'CHILD') t;
SELECT try('SELECT whoami()') AS tampered;
SELECT set_config('request.jwt', 'not a token', false) IS NOT NULL;
SELECT try('SELECT whoami()') AS malformed;
SELECT set_config('request.jwt', '', false) IS NOT NULL;
SELECT uid IS NULL AS no_token_anonymous FROM whoami();

-- 4. Nor can it reach the extension's acting-as, or the secrets' setting.
SELECT try('SELECT stockking.act_as(' || quote_literal(:'kid') || ', ''ADMIN'')') AS act_as;
SELECT try('SET stockking.jwt_secret_files = ''/tmp/mine''') AS set_secret_files;
SELECT try('SELECT current_setting(''stockking.jwt_secret_files'')') AS read_secret_files;
RESET SESSION AUTHORIZATION;

-- 5. A trusted session (a member of stockking_service) states the caller.
SET SESSION AUTHORIZATION regress_id_service;
SELECT set_config('request.jwt', '', false) IS NOT NULL,
       set_config('request.user_id', :'kid', false) IS NOT NULL, set_config('request.role', 'CHILD', false) IS NOT NULL;
SELECT uid = :'kid' AS is_kid, role, admin FROM whoami();
SELECT set_config('request.role', 'OWNER', false) IS NOT NULL;
SELECT try('SELECT whoami()') AS bad_role;
RESET SESSION AUTHORIZATION;

-- 6. The extension's own acting-as ends with its subtransaction or transaction.
SELECT set_config('request.user_id', :'mom', false) IS NOT NULL, set_config('request.role', 'PARENT', false) IS NOT NULL;
BEGIN;
SAVEPOINT a;
SELECT stockking.act_as(:'kid', 'CHILD');
SELECT stockking.uid() = :'kid' AS acting_as_kid, stockking.is_admin() AS admin;
ROLLBACK TO a;
SELECT stockking.uid() = :'mom' AS mom_again;
SELECT stockking.act_as(:'kid', 'CHILD');
COMMIT;
SELECT stockking.uid() = :'mom' AS mom_after_commit;
SELECT try('SELECT stockking.act_done()') AS nothing_to_end;

-- 7. The caller's family follows a merge inside the transaction: after the
--    link, the family is the merged one (the parent's was deleted).
SELECT family_id AS mom_family FROM stockking.users WHERE id = :'mom' \gset
SELECT family_id AS kid_family FROM stockking.users WHERE id = :'kid' \gset
SET SESSION AUTHORIZATION regress_id_web;
SELECT set_config('request.jwt', mint(:'mom', 'PARENT'), false) IS NOT NULL AS mom_token;
BEGIN;
SELECT family = :'mom_family' AS own_family_before FROM my_family() family;
SELECT jsonb_array_length(api.link_family(jsonb_build_object('code', :'kid_code')) -> 'members') AS members_after_link;
SELECT family = :'kid_family' AS merged_family, family = :'mom_family' AS deleted_family FROM my_family() family;
SELECT (api.get_family('{}') ->> 'family_id') = :'kid_family' AS get_family_merged,
       jsonb_array_length(api.get_family('{}') -> 'members') AS members;
COMMIT;
RESET SESSION AUTHORIZATION;

\c :regress_db
DROP DATABASE regress_sk_identity;
