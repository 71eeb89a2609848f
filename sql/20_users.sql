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
    created_at         timestamptz NOT NULL DEFAULT now(),
    avatar             text CHECK (avatar ~ '^[a-z_]{1,32}$'),
    birth_year         smallint CHECK (birth_year BETWEEN 1900 AND 2999)
);
CREATE UNIQUE INDEX users_email ON stockking.users (email);
CREATE INDEX users_family ON stockking.users (family_id);
COMMENT ON TABLE stockking.users IS 'a person: CHILD, PARENT or ADMIN; password_hash is bcrypt (pgcrypto crypt with gen_salt(''bf'', 10))';
COMMENT ON COLUMN stockking.users.avatar IS 'one of the app''s built-in avatars (stockking.avatar_ids()), NULL for the default one; never a URL';
COMMENT ON COLUMN stockking.users.birth_year IS 'year of birth (PUT /v1/users/me), NULL when not given';
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
GRANT SELECT, UPDATE (nickname, avatar, birth_year, default_account_id) ON stockking.users TO stockking_definer;
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
        'avatar', u.avatar, 'birth_year', u.birth_year,
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
$$The calling user.  Args: {}.  Returns the user with "avatar" and "birth_year" (PUT /v1/users/me sets them) and their
accounts [{"id","season_id","season","currency"}].
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
