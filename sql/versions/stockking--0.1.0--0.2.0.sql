-- stockking 0.1.0 -> 0.2.0, in place: ALTER EXTENSION stockking UPDATE.
-- Every row stays.  A fresh install of 0.2.0 and an upgraded 0.1.0 have the
-- same catalog (regress/e2e/test_lifecycle.py compares them object by object).

\echo Use "ALTER EXTENSION stockking UPDATE" to load this file. \quit

-- ===== Roles (sql/00_base.sql) ==============================================
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'stockking_system') THEN
        CREATE ROLE stockking_system NOLOGIN NOSUPERUSER BYPASSRLS NOCREATEDB NOCREATEROLE NOINHERIT;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'stockking_service') THEN
        CREATE ROLE stockking_service NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE;
    END IF;
END
$$;
GRANT USAGE ON SCHEMA stockking, api TO stockking_system;

-- ===== Request identity: a verified token (sql/00_base.sql) =================
COMMENT ON FUNCTION stockking.uid() IS
    'the calling user''s id (the verified token''s sub, or request.user_id in a trusted session), NULL when anonymous; 28000 for a token that does not verify';

CREATE FUNCTION stockking.request_role() RETURNS text
    AS 'MODULE_PATHNAME', 'stockking_request_role' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION stockking.request_role() IS 'the calling user''s role: CHILD, PARENT or ADMIN; NULL when anonymous';

COMMENT ON FUNCTION stockking.is_admin() IS 'true for an ADMIN caller, or a superuser session (psql, pg_cron jobs)';

CREATE FUNCTION stockking.act_as(user_id uuid, role text) RETURNS void
    AS 'MODULE_PATHNAME', 'stockking_act_as' LANGUAGE C VOLATILE;
CREATE FUNCTION stockking.act_done() RETURNS void
    AS 'MODULE_PATHNAME', 'stockking_act_done' LANGUAGE C VOLATILE;
REVOKE ALL ON FUNCTION stockking.act_as(uuid, text), stockking.act_done() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION stockking.act_as(uuid, text), stockking.act_done() TO stockking_definer;
COMMENT ON FUNCTION stockking.act_as(uuid, text) IS
    'internal: the rest of the (sub)transaction, until stockking.act_done(), runs as this user and role (CHILD, PARENT, ADMIN)';
COMMENT ON FUNCTION stockking.act_done() IS 'internal: ends the innermost stockking.act_as()';

CREATE OR REPLACE FUNCTION stockking.require_user() RETURNS uuid
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

-- ===== Restores (sql/00_base.sql) ===========================================
CREATE FUNCTION stockking.restoring() RETURNS boolean
    AS 'MODULE_PATHNAME', 'stockking_restoring' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION stockking.restoring() IS
    'true while the top-level statement is a COPY (a restore from pg_dump, or a bulk load): triggers that derive rows skip, because the dump carries the derived rows too';

-- triggers that derive rows skip restored ones
DROP TRIGGER outbox_commit_order ON stockking.outbox;
CREATE CONSTRAINT TRIGGER outbox_commit_order AFTER INSERT ON stockking.outbox
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NOT stockking.restoring())
    EXECUTE FUNCTION stockking.outbox_commit_order();
DROP TRIGGER ledger_entry_summary_insert ON stockking.ledger_entry;
DROP TRIGGER ledger_entry_summary_update ON stockking.ledger_entry;
DROP TRIGGER ledger_entry_summary_delete ON stockking.ledger_entry;
CREATE TRIGGER ledger_entry_summary_insert AFTER INSERT ON stockking.ledger_entry
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    WHEN (NOT stockking.restoring()) EXECUTE FUNCTION stockking.ledger_entry_summary();
CREATE TRIGGER ledger_entry_summary_update AFTER UPDATE ON stockking.ledger_entry
    REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows FOR EACH STATEMENT
    WHEN (NOT stockking.restoring()) EXECUTE FUNCTION stockking.ledger_entry_summary();
CREATE TRIGGER ledger_entry_summary_delete AFTER DELETE ON stockking.ledger_entry
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
    WHEN (NOT stockking.restoring()) EXECUTE FUNCTION stockking.ledger_entry_summary();
DROP TRIGGER child_link_code ON stockking.users;
CREATE TRIGGER child_link_code AFTER INSERT ON stockking.users
    FOR EACH ROW WHEN (NEW.role = 'CHILD' AND NOT stockking.restoring()) EXECUTE FUNCTION stockking.child_link_code();
DROP TRIGGER fill_missions ON stockking.fill;
CREATE TRIGGER fill_missions AFTER INSERT ON stockking.fill
    FOR EACH ROW WHEN (NOT stockking.restoring()) EXECUTE FUNCTION stockking.mission_on_fill();
DROP TRIGGER order_missions ON stockking.orders;
CREATE TRIGGER order_missions AFTER INSERT ON stockking.orders
    FOR EACH ROW WHEN (NEW.order_type = 'LIMIT' AND NOT stockking.restoring()) EXECUTE FUNCTION stockking.mission_on_order();

-- ===== The append-only guard in C; family merges (sql/30, sql/60) ===========
CREATE OR REPLACE FUNCTION stockking.refuse_change() RETURNS trigger
    AS 'MODULE_PATHNAME', 'stockking_refuse_change' LANGUAGE C;
COMMENT ON FUNCTION stockking.refuse_change() IS
    'append-only guard (BEFORE UPDATE OR DELETE FOR EACH ROW): 42501, except api.link_family moving family_id and nothing else';

CREATE FUNCTION stockking.family_tables() RETURNS SETOF text
    AS 'MODULE_PATHNAME', 'stockking_family_tables' LANGUAGE C IMMUTABLE;
COMMENT ON FUNCTION stockking.family_tables() IS
    'the tables of schema stockking whose family_id a family merge (api.link_family) moves';
COMMENT ON FUNCTION api.link_family(jsonb) IS
$$POST /v1/auth/link-family {"code": a child's link code (case and dashes ignored)}: the calling PARENT joins the child's family.
The two families merge in one transaction: every row of the smaller family (fewer members; a tie keeps the child's) moves
to the other -- the family_id of every table stockking.family_tables() lists -- and the emptied family is deleted; trade
approval stays on if either family had it.  Returns {"family_id", "members": [{"id","nickname","role","joined_at","link_code"}]}.
Event FamilyLinked (FAMILY).
Errors: 22023 (400) missing or malformed code; SK201 (404) no child has this code; SK202 (409) already one family;
42501 (403) the caller is not a PARENT; 28000 (401).$$;

CREATE OR REPLACE FUNCTION stockking.read_as_child(args jsonb, fn text) RETURNS jsonb
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

-- ===== The community board: issue 9 (sql/20, 80, 92, 98) ===================
-- Posts, comments, likes, reports and moderation; the profanity filter and the
-- personal-data detector; PUT /v1/users/me (nickname, avatar, birth year).
-- Before the dump and system sections: their loops register the identity
-- sequences of the board's tables and grant the family merge their family_id,
-- as in a fresh install.

-- sql/20_users.sql: the profile's two columns (last in the table, as here),
-- shown by GET and set by PUT /v1/users/me
ALTER TABLE stockking.users
    ADD COLUMN avatar text CHECK (avatar ~ '^[a-z_]{1,32}$'),
    ADD COLUMN birth_year smallint CHECK (birth_year BETWEEN 1900 AND 2999);
COMMENT ON COLUMN stockking.users.avatar IS 'one of the app''s built-in avatars (stockking.avatar_ids()), NULL for the default one; never a URL';
COMMENT ON COLUMN stockking.users.birth_year IS 'year of birth (PUT /v1/users/me), NULL when not given';
GRANT UPDATE (avatar, birth_year) ON stockking.users TO stockking_definer;

CREATE OR REPLACE FUNCTION api.me(args jsonb) RETURNS jsonb
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
COMMENT ON FUNCTION api.me(jsonb) IS
$$The calling user.  Args: {}.  Returns the user with "avatar" and "birth_year" (PUT /v1/users/me sets them) and their
accounts [{"id","season_id","season","currency"}].
Errors: 28000 (401) no identity.$$;

-- sql/80_gamification.sql: other children's avatar beside their nickname
CREATE OR REPLACE VIEW stockking.users_public AS SELECT id, nickname, avatar FROM stockking.users;

-- sql/92_community.sql
INSERT INTO stockking.error_code VALUES
    ('SK401', 422, 'text_not_allowed',
     'the text contains words the board does not allow (strong swearing, slurs, sexual or hateful words; any bad word in a nickname)'),
    ('SK410', 422, 'personal_phone', 'the text contains a phone number: personal details are not shared on the board'),
    ('SK411', 422, 'personal_email', 'the text contains an e-mail address: personal details are not shared on the board'),
    ('SK412', 422, 'personal_address', 'the text contains a street address: personal details are not shared on the board'),
    ('SK413', 422, 'personal_account',
     'the text contains a bank account or card number: personal details are not shared on the board'),
    ('SK414', 422, 'personal_rrn',
     'the text contains a resident registration number: personal details are not shared on the board'),
    ('SK420', 429, 'community_rate_limited',
     'too many posts, comments or reports in a short time (limits per user: GET /v1/admin/community/settings)'),
    ('SK430', 409, 'no_league', 'the child plays in no league this week: write to the season instead'),
    ('SK431', 409, 'already_reported', 'the user reported this post or comment already (one report per user)'),
    ('SK432', 409, 'own_content', 'a user cannot report their own post or comment'),
    ('SK433', 409, 'community_state',
     'the post or comment is not in a state that allows this (hidden, deleted, or already in the state asked for)');

-- Settings: absent rows take the defaults below.
CREATE TABLE stockking.community_setting (
    name       text PRIMARY KEY
               CHECK (name IN ('report_hide_threshold', 'posts_per_hour', 'comments_per_minute', 'reports_per_hour')),
    value      integer NOT NULL CHECK (value BETWEEN 1 AND 10000),
    updated_by uuid,
    updated_at timestamptz NOT NULL DEFAULT now()
);
SELECT pg_catalog.pg_extension_config_dump('stockking.community_setting', '');
COMMENT ON TABLE stockking.community_setting IS
    'the board''s limits as an ADMIN set them; a name without a row has its default (stockking.community_limit)';

CREATE FUNCTION stockking.community_limit(p_name text) RETURNS integer
    LANGUAGE sql STABLE
    AS $$
    SELECT coalesce((SELECT s.value FROM stockking.community_setting s WHERE s.name = p_name), d.value)
      FROM (VALUES ('report_hide_threshold', 3), ('posts_per_hour', 5), ('comments_per_minute', 3),
                   ('reports_per_hour', 10)) AS d (name, value)
     WHERE d.name = p_name
    $$;
COMMENT ON FUNCTION stockking.community_limit(text) IS
    'a board limit: report_hide_threshold (distinct reporters that hide a post or comment, default 3), posts_per_hour (5), '
    'comments_per_minute (3), reports_per_hour (10); NULL for an unknown name';

-- The word list of the profanity filter (extension/profanity.c).  Patterns:
-- Hangul syllables, consonant jamo, Latin letters and digits, [...] for any
-- one of several, ^ "starts a word", $ "ends a word"; spaces are ignored.
-- MASK words are replaced by '*', REFUSE words refuse the text, ALLOW
-- entries cancel a bad word they overlap from its start or before (false
-- positives: 시발점, 수박씨).  The shipped rows are builtin; an ADMIN adds
-- others (dumped by pg_dump).
CREATE FUNCTION stockking.profanity_pattern_ok(pattern text) RETURNS boolean
    AS 'MODULE_PATHNAME', 'stockking_profanity_pattern_ok'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION stockking.profanity_pattern_ok(text) IS
    'true for a well-formed filter pattern; raises 22023 saying what is wrong otherwise';

CREATE TABLE stockking.profanity_word (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    pattern    text NOT NULL CHECK (length(pattern) <= 100 AND stockking.profanity_pattern_ok(pattern)),
    action     text NOT NULL CHECK (action IN ('MASK', 'REFUSE', 'ALLOW')),
    category   text NOT NULL CHECK (category IN ('SWEAR', 'INSULT', 'FAMILY', 'SEXUAL', 'HATE', 'EXCEPTION')),
    builtin    boolean NOT NULL DEFAULT false,
    added_by   uuid,
    created_at timestamptz DEFAULT now(),
    UNIQUE (action, pattern),
    CHECK ((action = 'ALLOW') = (category = 'EXCEPTION')),
    CHECK (builtin = (created_at IS NULL))
);
SELECT pg_catalog.pg_extension_config_dump('stockking.profanity_word', 'WHERE NOT builtin');
COMMENT ON TABLE stockking.profanity_word IS
    'the profanity filter''s words: MASK (masked with *), REFUSE (the text is refused, SK401) or ALLOW (an exception); builtin = shipped with the extension (no created_at: the same rows in every install)';

-- Every backend keeps the compiled list; a change tells them all, at commit.
CREATE FUNCTION stockking.relcache_changed() RETURNS trigger
    AS 'MODULE_PATHNAME', 'stockking_ledger_merchant_changed'
    LANGUAGE C;
COMMENT ON FUNCTION stockking.relcache_changed() IS
    'statement trigger: a relcache invalidation of the table it is on, so every backend drops what it cached from it (the C function of the ledger''s merchant cache, which is generic)';
CREATE TRIGGER profanity_word_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON stockking.profanity_word
    FOR EACH STATEMENT EXECUTE FUNCTION stockking.relcache_changed();

ALTER TABLE stockking.profanity_word ENABLE ROW LEVEL SECURITY;
CREATE POLICY profanity_word_read ON stockking.profanity_word FOR SELECT USING (true);
CREATE POLICY profanity_word_write ON stockking.profanity_word FOR ALL USING (stockking.is_admin() AND NOT builtin)
    WITH CHECK (stockking.is_admin() AND NOT builtin);
GRANT SELECT, INSERT, DELETE ON stockking.profanity_word TO stockking_definer;

-- The shipped words.  REFUSE: strong swearing (씨발 and its spellings),
-- slurs (병신 ...), insults to a family (패드립), sexual and hateful words.
-- MASK: the milder words children use when upset (존나, 지랄, 닥쳐, 꺼져 ...):
-- the post goes through with them masked.  A plain 시 form must start a word
-- (동시발표, 도시발전 are words); 18 needs a word after it that insults.
INSERT INTO stockking.profanity_word (pattern, action, category, builtin, created_at) VALUES
    ('[씨쒸씌]발', 'REFUSE', 'SWEAR', true, NULL),
    ('[씨쒸씌]빨', 'REFUSE', 'SWEAR', true, NULL),
    ('[씨쒸씌]팔', 'REFUSE', 'SWEAR', true, NULL),
    ('[씨쒸씌]벌', 'REFUSE', 'SWEAR', true, NULL),
    ('[씨쒸씌]바$', 'REFUSE', 'SWEAR', true, NULL),
    ('[씨쒸씌]부[랄럴]', 'REFUSE', 'SWEAR', true, NULL),
    ('^시[발빨팔벌]', 'REFUSE', 'SWEAR', true, NULL),
    ('^시바$', 'REFUSE', 'SWEAR', true, NULL),
    ('아시발', 'REFUSE', 'SWEAR', true, NULL),
    ('ㅅㅂ', 'REFUSE', 'SWEAR', true, NULL),
    ('ㅆㅂ', 'REFUSE', 'SWEAR', true, NULL),
    ('씨8$', 'REFUSE', 'SWEAR', true, NULL),
    ('c8$', 'REFUSE', 'SWEAR', true, NULL),
    ('c[발바빨팔]', 'REFUSE', 'SWEAR', true, NULL),
    ('sibal', 'REFUSE', 'SWEAR', true, NULL),
    ('ssibal', 'REFUSE', 'SWEAR', true, NULL),
    ('shibal', 'REFUSE', 'SWEAR', true, NULL),
    ('sibbal', 'REFUSE', 'SWEAR', true, NULL),
    ('18[놈롬럼]', 'REFUSE', 'SWEAR', true, NULL),
    ('18새[끼기]', 'REFUSE', 'SWEAR', true, NULL),
    ('18년아', 'REFUSE', 'SWEAR', true, NULL),
    ('씹새[끼기]', 'REFUSE', 'SWEAR', true, NULL),
    ('씹[할헐년창탱]', 'REFUSE', 'SWEAR', true, NULL),
    ('좆', 'REFUSE', 'SWEAR', true, NULL),
    ('좃[같까]', 'REFUSE', 'SWEAR', true, NULL),
    ('좇같', 'REFUSE', 'SWEAR', true, NULL),
    ('^조까', 'REFUSE', 'SWEAR', true, NULL),
    ('썅', 'REFUSE', 'SWEAR', true, NULL),
    ('fuck', 'REFUSE', 'SWEAR', true, NULL),
    ('fck$', 'REFUSE', 'SWEAR', true, NULL),
    ('fuk$', 'REFUSE', 'SWEAR', true, NULL),
    ('shit', 'REFUSE', 'SWEAR', true, NULL),
    ('[병븅빙뷩]신', 'REFUSE', 'INSULT', true, NULL),
    ('병[싄쉰]', 'REFUSE', 'INSULT', true, NULL),
    ('ㅂㅅ', 'REFUSE', 'INSULT', true, NULL),
    ('개새[끼기]', 'REFUSE', 'INSULT', true, NULL),
    ('개[세섀]끼', 'REFUSE', 'INSULT', true, NULL),
    ('ㄱㅅㄲ', 'REFUSE', 'INSULT', true, NULL),
    ('^개년', 'REFUSE', 'INSULT', true, NULL),
    ('미친년', 'REFUSE', 'INSULT', true, NULL),
    ('미친새[끼기]', 'REFUSE', 'INSULT', true, NULL),
    ('[쌍썅][놈년]', 'REFUSE', 'INSULT', true, NULL),
    ('호로[새자]', 'REFUSE', 'INSULT', true, NULL),
    ('후레자식', 'REFUSE', 'INSULT', true, NULL),
    ('걸레년', 'REFUSE', 'INSULT', true, NULL),
    ('bitch', 'REFUSE', 'INSULT', true, NULL),
    ('asshole', 'REFUSE', 'INSULT', true, NULL),
    ('^cunt', 'REFUSE', 'INSULT', true, NULL),
    ('니애미', 'REFUSE', 'FAMILY', true, NULL),
    ('니[미]럴', 'REFUSE', 'FAMILY', true, NULL),
    ('느[금그]마', 'REFUSE', 'FAMILY', true, NULL),
    ('[애에]미뒤', 'REFUSE', 'FAMILY', true, NULL),
    ('애비뒤', 'REFUSE', 'FAMILY', true, NULL),
    ('니기미', 'REFUSE', 'FAMILY', true, NULL),
    ('엠창', 'REFUSE', 'FAMILY', true, NULL),
    ('ㄴㄱㅁ', 'REFUSE', 'FAMILY', true, NULL),
    ('섹스', 'REFUSE', 'SEXUAL', true, NULL),
    ('야동', 'REFUSE', 'SEXUAL', true, NULL),
    ('창녀', 'REFUSE', 'SEXUAL', true, NULL),
    ('porn', 'REFUSE', 'SEXUAL', true, NULL),
    ('whore', 'REFUSE', 'SEXUAL', true, NULL),
    ('slut', 'REFUSE', 'SEXUAL', true, NULL),
    ('한남충', 'REFUSE', 'HATE', true, NULL),
    ('김치녀', 'REFUSE', 'HATE', true, NULL),
    ('된장녀', 'REFUSE', 'HATE', true, NULL),
    ('틀딱', 'REFUSE', 'HATE', true, NULL),
    ('맘충', 'REFUSE', 'HATE', true, NULL),
    ('짱깨', 'REFUSE', 'HATE', true, NULL),
    ('쪽바리', 'REFUSE', 'HATE', true, NULL),
    ('깜둥이', 'REFUSE', 'HATE', true, NULL),
    ('nigger', 'REFUSE', 'HATE', true, NULL),
    ('존[나니]', 'MASK', 'SWEAR', true, NULL),
    ('졸라', 'MASK', 'SWEAR', true, NULL),
    ('ㅈㄴ', 'MASK', 'SWEAR', true, NULL),
    ('지랄', 'MASK', 'SWEAR', true, NULL),
    ('ㅈㄹ', 'MASK', 'SWEAR', true, NULL),
    ('^염병', 'MASK', 'SWEAR', true, NULL),
    ('wtf', 'MASK', 'SWEAR', true, NULL),
    ('stfu', 'MASK', 'SWEAR', true, NULL),
    ('닥쳐', 'MASK', 'INSULT', true, NULL),
    ('ㄷㅊ', 'MASK', 'INSULT', true, NULL),
    ('꺼져', 'MASK', 'INSULT', true, NULL),
    ('ㄲㅈ', 'MASK', 'INSULT', true, NULL),
    ('미친놈', 'MASK', 'INSULT', true, NULL),
    ('ㅁㅊ', 'MASK', 'INSULT', true, NULL),
    ('ㅅㄲ', 'MASK', 'INSULT', true, NULL),
    ('^개놈', 'MASK', 'INSULT', true, NULL),
    ('또라이', 'MASK', 'INSULT', true, NULL),
    ('찐따', 'MASK', 'INSULT', true, NULL),
    ('ㅉㄸ', 'MASK', 'INSULT', true, NULL),
    ('빡대가리', 'MASK', 'INSULT', true, NULL),
    ('급식충', 'MASK', 'INSULT', true, NULL),
    ('시발점', 'ALLOW', 'EXCEPTION', true, NULL),
    ('시발역', 'ALLOW', 'EXCEPTION', true, NULL),
    ('시발택시', 'ALLOW', 'EXCEPTION', true, NULL),
    ('시발자동차', 'ALLOW', 'EXCEPTION', true, NULL),
    ('시발버스', 'ALLOW', 'EXCEPTION', true, NULL),
    ('시벌레', 'ALLOW', 'EXCEPTION', true, NULL),
    ('시바견', 'ALLOW', 'EXCEPTION', true, NULL),
    ('시바이누', 'ALLOW', 'EXCEPTION', true, NULL),
    ('[수호]박씨', 'ALLOW', 'EXCEPTION', true, NULL),
    ('[볍꽃불날글말솜맵]씨', 'ALLOW', 'EXCEPTION', true, NULL),
    ('포도씨', 'ALLOW', 'EXCEPTION', true, NULL),
    ('참외씨', 'ALLOW', 'EXCEPTION', true, NULL),
    ('마음씨', 'ALLOW', 'EXCEPTION', true, NULL),
    ('아[저가]씨', 'ALLOW', 'EXCEPTION', true, NULL),
    ('김씨', 'ALLOW', 'EXCEPTION', true, NULL),
    ('병신년새해', 'ALLOW', 'EXCEPTION', true, NULL),
    ('졸라[매맸]', 'ALLOW', 'EXCEPTION', true, NULL),
    ('shitake', 'ALLOW', 'EXCEPTION', true, NULL);

-- The filter (extension/profanity.c).
CREATE FUNCTION stockking.profanity_filter(txt text, OUT verdict text, OUT masked text, OUT masked_words integer,
                                           OUT refused_words integer)
    AS 'MODULE_PATHNAME', 'stockking_profanity_filter'
    LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION stockking.profanity_filter(text) IS
    'the profanity filter on a text: verdict CLEAN, MASKED (MASK words replaced by one * per character: masked) or REFUSED '
    '(a REFUSE word), with the number of words masked and refusing (overlapping matches count once)';

CREATE FUNCTION stockking.personal_data(txt text) RETURNS text
    AS 'MODULE_PATHNAME', 'stockking_personal_data'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION stockking.personal_data(text) IS
    'the first kind of personal data a text holds -- PHONE, EMAIL, ADDRESS, ACCOUNT (bank account or card number) or RRN '
    '(resident registration number) -- or NULL';

CREATE FUNCTION stockking.clean_text(field text, value text, allow_mask boolean) RETURNS text
    AS 'MODULE_PATHNAME', 'stockking_clean_text'
    LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION stockking.clean_text(text, text, boolean) IS
    'a user''s text checked for the board or a profile: personal data raises SK410 (phone), SK411 (e-mail), SK412 (address), '
    'SK413 (account), SK414 (registration number); a REFUSE word -- or any bad word when allow_mask is false -- raises SK401; '
    'returns the text with MASK words masked.  Messages name the field and what was found, never the text';

CREATE FUNCTION stockking.profanity_bench(texts text[], loops integer) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'stockking_profanity_bench'
    LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION stockking.profanity_bench(text[], integer) IS
    'bench: the filter and the personal-data detector alone, each in a loop over the texts; texts per second on one core';

-- Posts, comments, likes, reports and moderation.
CREATE TABLE stockking.community_post (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    family_id         uuid NOT NULL,
    user_id           uuid NOT NULL,
    audience          text NOT NULL CHECK (audience IN ('LEAGUE', 'SEASON')),
    season_id         integer NOT NULL,
    league_week       date,
    league_tier       integer,
    league_group      integer,
    title             text CHECK (length(title) BETWEEN 1 AND 100),
    body              text NOT NULL CHECK (length(body) BETWEEN 1 AND 1000),
    masked_words      integer NOT NULL DEFAULT 0 CHECK (masked_words >= 0),
    status            text NOT NULL DEFAULT 'VISIBLE' CHECK (status IN ('VISIBLE', 'HIDDEN', 'DELETED')),
    hidden_by         text CHECK (hidden_by IN ('REPORTS', 'MODERATOR')),
    moderated_at      timestamptz,
    moderation_reason text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    CHECK ((audience = 'LEAGUE') = (league_week IS NOT NULL AND league_tier IS NOT NULL AND league_group IS NOT NULL)),
    CHECK ((status = 'HIDDEN') = (hidden_by IS NOT NULL))
);
SELECT pg_catalog.pg_extension_config_dump('stockking.community_post', '');
CREATE INDEX community_post_league ON stockking.community_post (league_week, league_tier, league_group, id)
    WHERE audience = 'LEAGUE';
CREATE INDEX community_post_season ON stockking.community_post (season_id, id) WHERE audience = 'SEASON';
CREATE INDEX community_post_user ON stockking.community_post (user_id, created_at);
CREATE INDEX community_post_family ON stockking.community_post (family_id);
COMMENT ON TABLE stockking.community_post IS
    'a child''s post: to the league the child played in that week (league_week, league_tier, league_group) or to a season; '
    'title and body as filtered (MASK words masked); status VISIBLE, HIDDEN (by reports or a moderator) or DELETED';

CREATE TABLE stockking.community_comment (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    post_id           bigint NOT NULL REFERENCES stockking.community_post (id),
    family_id         uuid NOT NULL,
    user_id           uuid NOT NULL,
    body              text NOT NULL CHECK (length(body) BETWEEN 1 AND 300),
    masked_words      integer NOT NULL DEFAULT 0 CHECK (masked_words >= 0),
    status            text NOT NULL DEFAULT 'VISIBLE' CHECK (status IN ('VISIBLE', 'HIDDEN', 'DELETED')),
    hidden_by         text CHECK (hidden_by IN ('REPORTS', 'MODERATOR')),
    moderated_at      timestamptz,
    moderation_reason text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    CHECK ((status = 'HIDDEN') = (hidden_by IS NOT NULL))
);
SELECT pg_catalog.pg_extension_config_dump('stockking.community_comment', '');
CREATE INDEX community_comment_post ON stockking.community_comment (post_id, id);
CREATE INDEX community_comment_user ON stockking.community_comment (user_id, created_at);
CREATE INDEX community_comment_family ON stockking.community_comment (family_id);
COMMENT ON TABLE stockking.community_comment IS 'a child''s comment on a post, filtered as posts are; status as a post''s';

CREATE TABLE stockking.community_like (
    post_id    bigint NOT NULL REFERENCES stockking.community_post (id),
    user_id    uuid NOT NULL,
    family_id  uuid NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (post_id, user_id)
);
SELECT pg_catalog.pg_extension_config_dump('stockking.community_like', '');
CREATE INDEX community_like_family ON stockking.community_like (family_id);
COMMENT ON TABLE stockking.community_like IS
    'a like: one per user and post (the key), so a post''s like count is the count of its rows, exact under concurrency';

CREATE TABLE stockking.community_report (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    post_id     bigint REFERENCES stockking.community_post (id),
    comment_id  bigint REFERENCES stockking.community_comment (id),
    family_id   uuid NOT NULL,
    user_id     uuid NOT NULL,
    reason      text NOT NULL CHECK (reason IN ('PROFANITY', 'BULLYING', 'PERSONAL_DATA', 'SEXUAL', 'SPAM', 'OTHER')),
    note        text CHECK (length(note) <= 200),
    status      text NOT NULL DEFAULT 'OPEN' CHECK (status IN ('OPEN', 'UPHELD', 'DISMISSED')),
    resolved_at timestamptz,
    resolved_by uuid,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CHECK ((post_id IS NULL) <> (comment_id IS NULL)),
    CHECK ((status = 'OPEN') = (resolved_at IS NULL))
);
SELECT pg_catalog.pg_extension_config_dump('stockking.community_report', '');
CREATE UNIQUE INDEX community_report_post_once ON stockking.community_report (post_id, user_id) WHERE post_id IS NOT NULL;
CREATE UNIQUE INDEX community_report_comment_once ON stockking.community_report (comment_id, user_id)
    WHERE comment_id IS NOT NULL;
CREATE INDEX community_report_user ON stockking.community_report (user_id, created_at);
CREATE INDEX community_report_family ON stockking.community_report (family_id);
CREATE INDEX community_report_open_at ON stockking.community_report (created_at) WHERE status = 'OPEN';
COMMENT ON TABLE stockking.community_report IS
    'a report of a post or a comment by a user (one per user and target); OPEN until a moderator upholds or dismisses it';

CREATE TABLE stockking.community_moderation (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    post_id      bigint REFERENCES stockking.community_post (id),
    comment_id   bigint REFERENCES stockking.community_comment (id),
    family_id    uuid NOT NULL,
    user_id      uuid NOT NULL,
    action       text NOT NULL CHECK (action IN ('AUTO_HIDE', 'HIDE', 'RESTORE', 'DELETE', 'DISMISS')),
    reason       text NOT NULL CHECK (length(reason) BETWEEN 1 AND 200),
    reports      integer NOT NULL DEFAULT 0,
    moderator_id uuid,
    created_at   timestamptz NOT NULL DEFAULT now(),
    CHECK ((post_id IS NULL) <> (comment_id IS NULL))
);
SELECT pg_catalog.pg_extension_config_dump('stockking.community_moderation', '');
CREATE INDEX community_moderation_post ON stockking.community_moderation (post_id) WHERE post_id IS NOT NULL;
CREATE INDEX community_moderation_comment ON stockking.community_moderation (comment_id) WHERE comment_id IS NOT NULL;
CREATE INDEX community_moderation_family ON stockking.community_moderation (family_id);
COMMENT ON TABLE stockking.community_moderation IS
    'what happened to a post or comment: AUTO_HIDE (reports reached the threshold), or an ADMIN''s HIDE, RESTORE, DELETE, '
    'DISMISS, with the reason and the open reports at the time; family_id and user_id are the author''s';

-- Row-level security.  A post: its author, the author's parents and ADMIN
-- (can_read), or -- when VISIBLE -- a child of its audience: an account in
-- its season, or a seat in its league in the week it was written.
ALTER TABLE stockking.community_post ENABLE ROW LEVEL SECURITY;
ALTER TABLE stockking.community_comment ENABLE ROW LEVEL SECURITY;
ALTER TABLE stockking.community_like ENABLE ROW LEVEL SECURITY;
ALTER TABLE stockking.community_report ENABLE ROW LEVEL SECURITY;
ALTER TABLE stockking.community_moderation ENABLE ROW LEVEL SECURITY;
ALTER TABLE stockking.community_setting ENABLE ROW LEVEL SECURITY;

CREATE POLICY community_post_read ON stockking.community_post FOR SELECT USING (
    stockking.can_read(family_id, user_id)
    OR (status = 'VISIBLE' AND CASE audience
        WHEN 'SEASON' THEN season_id IN (SELECT a.season_id FROM stockking.account a WHERE a.user_id = stockking.uid())
        ELSE (league_week, league_tier, league_group) IN (
            SELECT la.week_start, la.tier, la.group_no FROM stockking.league_assignment la WHERE la.user_id = stockking.uid())
        END));
CREATE POLICY community_post_insert ON stockking.community_post FOR INSERT WITH CHECK (stockking.can_write(user_id));
-- the author deletes, ADMIN moderates (hiding by reports: see the views below)
CREATE POLICY community_post_own ON stockking.community_post FOR UPDATE USING (stockking.can_write(user_id))
    WITH CHECK (status = 'DELETED' OR stockking.is_admin());

CREATE POLICY community_comment_read ON stockking.community_comment FOR SELECT USING (
    stockking.can_read(family_id, user_id)
    OR (status = 'VISIBLE' AND EXISTS (SELECT 1 FROM stockking.community_post p WHERE p.id = post_id AND p.status <> 'DELETED')));
CREATE POLICY community_comment_insert ON stockking.community_comment FOR INSERT WITH CHECK (stockking.can_write(user_id));
CREATE POLICY community_comment_own ON stockking.community_comment FOR UPDATE USING (stockking.can_write(user_id))
    WITH CHECK (status = 'DELETED' OR stockking.is_admin());

CREATE POLICY community_like_read ON stockking.community_like FOR SELECT USING (stockking.can_read(family_id, user_id));
CREATE POLICY community_like_insert ON stockking.community_like FOR INSERT WITH CHECK (stockking.can_write(user_id));
CREATE POLICY community_like_delete ON stockking.community_like FOR DELETE USING (stockking.can_write(user_id));

CREATE POLICY community_report_read ON stockking.community_report FOR SELECT USING (stockking.can_read(family_id, user_id));
CREATE POLICY community_report_insert ON stockking.community_report FOR INSERT WITH CHECK (stockking.can_write(user_id));
CREATE POLICY community_report_resolve ON stockking.community_report FOR UPDATE USING (stockking.is_admin());

CREATE POLICY community_moderation_read ON stockking.community_moderation FOR SELECT
    USING (stockking.can_read(family_id, user_id));
CREATE POLICY community_moderation_insert ON stockking.community_moderation FOR INSERT
    WITH CHECK (stockking.is_admin() OR action = 'AUTO_HIDE');

CREATE POLICY community_setting_read ON stockking.community_setting FOR SELECT USING (true);
CREATE POLICY community_setting_write ON stockking.community_setting FOR ALL USING (stockking.is_admin())
    WITH CHECK (stockking.is_admin());

-- Posts and comments are written once: only their state changes.
GRANT SELECT, INSERT ON stockking.community_post, stockking.community_comment, stockking.community_report,
    stockking.community_moderation TO stockking_definer;
GRANT UPDATE (status, hidden_by, moderated_at, moderation_reason) ON stockking.community_post, stockking.community_comment
    TO stockking_definer;
GRANT UPDATE (status, resolved_at, resolved_by) ON stockking.community_report TO stockking_definer;
GRANT SELECT, INSERT, DELETE ON stockking.community_like TO stockking_definer;
GRANT SELECT, INSERT, UPDATE ON stockking.community_setting TO stockking_definer;

-- Hiding by reports.  The report that reaches the threshold hides a post
-- or comment its reporter may no longer read once hidden, and row-level
-- security checks an updated row against the SELECT policies too, so it
-- would refuse the update.  extension/community.c hides through these
-- views, owned by stockking_system (sql/98_system.sql): they reach VISIBLE
-- rows only, and their moderation columns only.
CREATE VIEW stockking.community_post_visible AS
    SELECT id, status, hidden_by, moderated_at, moderation_reason FROM stockking.community_post WHERE status = 'VISIBLE';
CREATE VIEW stockking.community_comment_visible AS
    SELECT id, status, hidden_by, moderated_at, moderation_reason FROM stockking.community_comment WHERE status = 'VISIBLE';
GRANT SELECT (id, status), UPDATE (status, hidden_by, moderated_at, moderation_reason)
    ON stockking.community_post_visible, stockking.community_comment_visible TO stockking_definer;

-- What counts and the moderation need of other users' rows, read past
-- row-level security (views owned by stockking_system): ids, states and
-- reasons only.
CREATE VIEW stockking.community_like_count AS
    SELECT post_id FROM stockking.community_like;
CREATE VIEW stockking.community_comment_count AS
    SELECT post_id, status FROM stockking.community_comment;
CREATE VIEW stockking.community_report_open AS
    SELECT post_id, comment_id, reason, created_at FROM stockking.community_report WHERE status = 'OPEN';
GRANT SELECT ON stockking.community_like_count, stockking.community_comment_count, stockking.community_report_open
    TO stockking_definer;
COMMENT ON VIEW stockking.community_report_open IS
    'open reports of every user (past row-level security): the count that hides a post or comment at the threshold';

-- JSON shapes.  Other children show as nickname and avatar only; the
-- author's id is shown to whoever may read the author (self, parents, ADMIN).
CREATE FUNCTION stockking.community_author_json(p_user uuid, p_family uuid) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
    SELECT jsonb_build_object('id', CASE WHEN stockking.can_read(p_family, p_user) THEN p_user END,
                              'nickname', a.nickname, 'avatar', a.avatar)
      FROM stockking.users_public a WHERE a.id = p_user
    $$;

CREATE FUNCTION stockking.post_json(p stockking.community_post) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
    SELECT jsonb_build_object(
        'id', p.id, 'author', stockking.community_author_json(p.user_id, p.family_id),
        'mine', p.user_id IS NOT DISTINCT FROM stockking.uid(),
        'audience', p.audience, 'season_id', p.season_id,
        'league', CASE WHEN p.audience = 'LEAGUE' THEN jsonb_build_object(
                      'week_start', p.league_week, 'tier', p.league_tier,
                      'tier_name', stockking.league_tier_name(p.league_tier), 'group_no', p.league_group) END,
        'title', p.title, 'body', p.body, 'masked_words', p.masked_words,
        'status', p.status, 'hidden', p.status = 'HIDDEN', 'hidden_by', p.hidden_by,
        'like_count', (SELECT count(*) FROM stockking.community_like_count l WHERE l.post_id = p.id),
        'comment_count', (SELECT count(*) FROM stockking.community_comment_count c
                           WHERE c.post_id = p.id AND c.status = 'VISIBLE'),
        'liked', EXISTS (SELECT 1 FROM stockking.community_like l WHERE l.post_id = p.id AND l.user_id = stockking.uid()),
        'created_at', p.created_at)
    $$;

CREATE FUNCTION stockking.comment_json(c stockking.community_comment) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
    SELECT jsonb_build_object(
        'id', c.id, 'post_id', c.post_id, 'author', stockking.community_author_json(c.user_id, c.family_id),
        'mine', c.user_id IS NOT DISTINCT FROM stockking.uid(), 'body', c.body, 'masked_words', c.masked_words,
        'status', c.status, 'hidden', c.status = 'HIDDEN', 'hidden_by', c.hidden_by, 'created_at', c.created_at)
    $$;

-- the caller's own role is CHILD (posting, commenting and liking are for children)
CREATE FUNCTION stockking.require_child(what text) RETURNS uuid
    LANGUAGE plpgsql STABLE
    AS $$
DECLARE
    v_user uuid := stockking.require_user();
BEGIN
    IF NOT EXISTS (SELECT 1 FROM stockking.users u WHERE u.id = v_user AND u.role = 'CHILD') THEN
        RAISE EXCEPTION 'only a child may %', what USING ERRCODE = '42501';
    END IF;
    RETURN v_user;
END
$$;

CREATE FUNCTION stockking.require_admin() RETURNS void
    LANGUAGE plpgsql STABLE
    AS $$
BEGIN
    PERFORM stockking.require_user();
    IF NOT stockking.is_admin() THEN
        RAISE EXCEPTION 'only an ADMIN moderates the board' USING ERRCODE = '42501';
    END IF;
END
$$;

-- Writing (extension/community.c).
CREATE FUNCTION api.create_post(args jsonb) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'stockking_create_post'
    LANGUAGE C VOLATILE STRICT SECURITY DEFINER SET search_path = pg_catalog, stockking;
COMMENT ON FUNCTION api.create_post(jsonb) IS
$$POST /v1/community/posts (CHILD): write a post.  Args: {"body": text (1..1000 characters), "title": text (1..100, optional),
"audience": "LEAGUE" | "SEASON" (optional: the caller's league this week when there is one, else the season),
"season_id": integer (SEASON only; default: the season of the caller's default account)}.
A LEAGUE post keeps the league it was written in (week, tier, group): its readers are the children of that league that week.
Title and body go through the personal-data detector and the profanity filter: MASK words are masked with *, a REFUSE word
refuses the post.  Returns the post (201) {"id","author": {"id","nickname","avatar"},"mine","audience","season_id",
"league": {"week_start","tier","tier_name","group_no"} | null,"title","body","masked_words","status","hidden","hidden_by",
"like_count","comment_count","liked","created_at"}.
Errors: 22023 (400) missing or too long field, bad audience; 42501 (403) not a CHILD; SK401 (422) words not allowed;
SK410..SK414 (422) a phone number, e-mail address, street address, bank account or card number, registration number;
SK420 (429) more than posts_per_hour posts in the last hour (default 5; detail: seconds to wait); SK430 (409) LEAGUE asked
but the child plays in no league this week; SK010 (404) no account in the season; SK005 (409) the season is closed;
28000 (401).$$;

CREATE FUNCTION api.add_comment(args jsonb) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'stockking_add_comment'
    LANGUAGE C VOLATILE STRICT SECURITY DEFINER SET search_path = pg_catalog, stockking;
COMMENT ON FUNCTION api.add_comment(jsonb) IS
$$POST /v1/community/posts/:id/comments (CHILD): comment on a post the caller sees.  Args: {"id": post id, "body": text
(1..300 characters)}, filtered as a post's body.  Returns the comment (201) {"id","post_id","author","mine","body",
"masked_words","status","hidden","hidden_by","created_at"}.  Event CommentAdded (USER: the post's author, unless the caller).
Errors: 22023 (400); 42501 (403) not a CHILD; P0002 (404) no such post visible to the caller; SK433 (409) the post is
hidden; SK401, SK410..SK414 (422) as for posts; SK420 (429) more than comments_per_minute comments in the last minute
(default 3); 28000 (401).$$;

CREATE FUNCTION api.report_post(args jsonb) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'stockking_report_post'
    LANGUAGE C VOLATILE STRICT SECURITY DEFINER SET search_path = pg_catalog, stockking;
COMMENT ON FUNCTION api.report_post(jsonb) IS
$$POST /v1/community/posts/:id/report (CHILD, PARENT): report a post the caller sees.  Args: {"id": post id, "reason":
PROFANITY|BULLYING|PERSONAL_DATA|SEXUAL|SPAM|OTHER, "note": text (optional, up to 200 characters)}.  One report per user
and post.  When the post's open reports reach report_hide_threshold distinct reporters (default 3) it is hidden at once,
exactly once under concurrent reports (an advisory lock on the post): event PostHidden (FAMILY of the author: the author and
their parents).  Returns (201) {"id","post_id","reason","status": "OPEN","target_hidden": whether the post is hidden now,
"created_at"}.
Errors: 22023 (400) bad reason or note; 42501 (403) ADMIN (moderate instead); P0002 (404) no such post visible to the caller;
SK431 (409) reported already; SK432 (409) the caller's own post; SK433 (409) the post is deleted; SK420 (429) more than
reports_per_hour reports in the last hour (default 10); 28000 (401).$$;

CREATE FUNCTION api.report_comment(args jsonb) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'stockking_report_comment'
    LANGUAGE C VOLATILE STRICT SECURITY DEFINER SET search_path = pg_catalog, stockking;
COMMENT ON FUNCTION api.report_comment(jsonb) IS
$$POST /v1/community/comments/:id/report (CHILD, PARENT): report a comment, as api.report_post reports a post; the comment
is hidden at the threshold (event CommentHidden to the author's family).  Returns (201) {"id","comment_id","reason","status",
"target_hidden","created_at"}.  Errors as api.report_post.$$;

CREATE FUNCTION api.moderate_post(args jsonb) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'stockking_moderate_post'
    LANGUAGE C VOLATILE STRICT SECURITY DEFINER SET search_path = pg_catalog, stockking;
COMMENT ON FUNCTION api.moderate_post(jsonb) IS
$$POST /v1/admin/community/posts/:id/moderate (ADMIN): act on a post.  Args: {"id", "action": HIDE (a visible post) |
RESTORE (a hidden one) | DELETE | DISMISS (keep it visible, drop its reports), "reason": text (1..200)}.  Open reports become
UPHELD (HIDE, DELETE) or DISMISSED (RESTORE, DISMISS); the action is logged in stockking.community_moderation.  Events to
the author's family: PostHidden, PostRestored, PostDeleted {"post_id","by": "MODERATOR","reason"}.
Returns {"post": the post, "action", "reports_resolved"}.
Errors: 22023 (400) bad action or reason; 42501 (403) not ADMIN; P0002 (404) no such post; SK433 (409) the post is not in a
state the action applies to.$$;

CREATE FUNCTION api.moderate_comment(args jsonb) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'stockking_moderate_comment'
    LANGUAGE C VOLATILE STRICT SECURITY DEFINER SET search_path = pg_catalog, stockking;
COMMENT ON FUNCTION api.moderate_comment(jsonb) IS
$$POST /v1/admin/community/comments/:id/moderate (ADMIN): as api.moderate_post, for a comment (events CommentHidden,
CommentRestored, CommentDeleted).  Returns {"comment", "action", "reports_resolved"}.$$;

-- Reading.
CREATE FUNCTION stockking.caller_season(p_user uuid) RETURNS integer
    LANGUAGE sql STABLE
    AS $$
    SELECT coalesce((SELECT a.season_id FROM stockking.users u JOIN stockking.account a ON a.id = u.default_account_id
                      WHERE u.id = p_user),
                    (SELECT s.id FROM stockking.season s WHERE s.is_default))
    $$;
COMMENT ON FUNCTION stockking.caller_season(uuid) IS
    'the season of a user''s default account (the one joined last), or the default season';

CREATE FUNCTION api.list_posts(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v_user   uuid := stockking.require_user();
    v_scope  text := lower(coalesce(stockking.arg_text(args, 'scope', false), 'all'));
    v_season bigint := stockking.arg_bigint(args, 'season_id', false);
    v_before bigint := stockking.arg_bigint(args, 'before', false);
    v_limit  bigint := coalesce(stockking.arg_bigint(args, 'limit', false), 20);
    v_child  uuid;
    v_league stockking.league_assignment;
    v_items  jsonb;
    v_last   bigint;
BEGIN
    IF v_scope NOT IN ('all', 'league', 'season') THEN
        RAISE EXCEPTION 'field "scope" must be all, league or season' USING ERRCODE = '22023';
    END IF;
    IF v_limit NOT BETWEEN 1 AND 50 THEN
        RAISE EXCEPTION 'field "limit" must be between 1 and 50' USING ERRCODE = '22023';
    END IF;
    IF args ? 'child_id' THEN
        v_child := stockking.child_arg(args);
    END IF;
    IF v_scope = 'league' THEN
        SELECT * INTO v_league FROM stockking.league_assignment la
         WHERE la.user_id = coalesce(v_child, v_user) AND la.week_start = stockking.seoul_week(now());
    ELSIF v_scope = 'season' AND v_season IS NULL THEN
        v_season := stockking.caller_season(coalesce(v_child, v_user));
    END IF;
    -- row-level security decides which posts the caller sees
    SELECT coalesce(jsonb_agg(stockking.post_json(p) ORDER BY p.id DESC), '[]'), min(p.id)
      INTO v_items, v_last
      FROM (SELECT * FROM stockking.community_post p
             WHERE (p.status <> 'DELETED' OR stockking.is_admin())
               AND (v_before IS NULL OR p.id < v_before)
               AND (v_child IS NULL OR p.user_id = v_child)
               AND CASE v_scope
                   WHEN 'league' THEN p.audience = 'LEAGUE' AND p.league_week = v_league.week_start
                                      AND p.league_tier = v_league.tier AND p.league_group = v_league.group_no
                   WHEN 'season' THEN p.audience = 'SEASON' AND p.season_id = v_season
                   ELSE true END
             ORDER BY p.id DESC LIMIT v_limit) p;
    RETURN jsonb_build_object(
        'scope', v_scope,
        'league', CASE WHEN v_league.user_id IS NOT NULL THEN jsonb_build_object(
                      'week_start', v_league.week_start, 'tier', v_league.tier,
                      'tier_name', stockking.league_tier_name(v_league.tier), 'group_no', v_league.group_no) END,
        'season_id', CASE WHEN v_scope = 'season' THEN v_season END,
        'items', v_items,
        'next_before', CASE WHEN jsonb_array_length(v_items) = v_limit THEN v_last END);
END
$$;
COMMENT ON FUNCTION api.list_posts(jsonb) IS
$$GET /v1/community/posts?scope=&season_id=&child_id=&before=&limit=: posts newest first, as row-level security shows them:
a child sees the visible posts of its audiences (its leagues, week by week, and its seasons) and its own, hidden ones
marked; a parent sees their children's (child_id= picks one); ADMIN all.  Args: {"scope": all (default) | league (the
caller's, or the child's, league this week) | season ("season_id", default: the caller's season), "child_id": uuid
(a parent: that child's posts), "before": post id (the next page), "limit": 1..50 (default 20)}.
Returns {"scope","league": {"week_start","tier","tier_name","group_no"} | null,"season_id","items": [post...],
"next_before": the cursor of the next page or null}.
Errors: 22023 (400) bad scope, limit, before or child_id; P0002 (404) child_id not a child of the caller; 28000 (401).$$;

CREATE FUNCTION api.get_post(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v_id bigint := stockking.arg_bigint(args, 'id');
    p    stockking.community_post;
BEGIN
    PERFORM stockking.require_user();
    SELECT * INTO p FROM stockking.community_post WHERE id = v_id AND (status <> 'DELETED' OR stockking.is_admin());
    IF p.id IS NULL THEN
        RAISE EXCEPTION 'post % not found', v_id USING ERRCODE = 'P0002';
    END IF;
    RETURN stockking.post_json(p) || jsonb_build_object('comments', (
        SELECT coalesce(jsonb_agg(stockking.comment_json(c) ORDER BY c.id), '[]')
          FROM (SELECT * FROM stockking.community_comment c
                 WHERE c.post_id = p.id AND (c.status <> 'DELETED' OR stockking.is_admin())
                 ORDER BY c.id LIMIT 200) c));
END
$$;
COMMENT ON FUNCTION api.get_post(jsonb) IS
$$GET /v1/community/posts/:id: a post with its comments, oldest first (at most 200): the visible ones, and those the caller
may read hidden (their own, their children's).  Returns the post (see api.create_post) plus "comments": [comment...].
Errors: 22023 (400); P0002 (404) no such post visible to the caller; 28000 (401).$$;

CREATE FUNCTION api.list_comments(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v_user   uuid := stockking.require_user();
    v_before bigint := stockking.arg_bigint(args, 'before', false);
    v_limit  bigint := coalesce(stockking.arg_bigint(args, 'limit', false), 20);
    v_author uuid := v_user;
    v_items  jsonb;
    v_last   bigint;
BEGIN
    IF v_limit NOT BETWEEN 1 AND 50 THEN
        RAISE EXCEPTION 'field "limit" must be between 1 and 50' USING ERRCODE = '22023';
    END IF;
    IF args ? 'child_id' THEN
        v_author := stockking.child_arg(args);
    END IF;
    SELECT coalesce(jsonb_agg(stockking.comment_json(c) || jsonb_build_object('post',
               (SELECT jsonb_build_object('id', p.id, 'title', p.title) FROM stockking.community_post p WHERE p.id = c.post_id))
               ORDER BY c.id DESC), '[]'), min(c.id)
      INTO v_items, v_last
      FROM (SELECT * FROM stockking.community_comment c
             WHERE c.user_id = v_author AND (c.status <> 'DELETED' OR stockking.is_admin())
               AND (v_before IS NULL OR c.id < v_before)
             ORDER BY c.id DESC LIMIT v_limit) c;
    RETURN jsonb_build_object('items', v_items,
                              'next_before', CASE WHEN jsonb_array_length(v_items) = v_limit THEN v_last END);
END
$$;
COMMENT ON FUNCTION api.list_comments(jsonb) IS
$$GET /v1/community/comments?child_id=&before=&limit=: the comments of the caller -- or, for a parent, of a child (hidden
ones too) -- newest first, each with "post": {"id","title"} when the caller sees the post, else null.  Args: {"child_id",
"before", "limit": 1..50 (default 20)}.  Returns {"items": [comment...], "next_before"}.
Errors: 22023 (400); P0002 (404) child_id not a child of the caller; 28000 (401).$$;

-- the author deletes their post or comment (hidden ones too)
CREATE FUNCTION stockking.delete_own(kind text, args jsonb) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE
    AS $$
DECLARE
    v_user uuid := stockking.require_user();
    v_id   bigint := stockking.arg_bigint(args, 'id');
    v_rows bigint;
BEGIN
    EXECUTE format('UPDATE stockking.%I SET status = ''DELETED'' WHERE id = $1 AND user_id = $2 AND status <> ''DELETED''',
                   'community_' || kind)
        USING v_id, v_user;
    GET DIAGNOSTICS v_rows = ROW_COUNT;
    IF v_rows = 0 THEN
        RAISE EXCEPTION '% % not found', kind, v_id USING ERRCODE = 'P0002', HINT = 'Only the author deletes it.';
    END IF;
    RETURN jsonb_build_object('id', v_id, 'status', 'DELETED');
END
$$;

CREATE FUNCTION api.delete_post(args jsonb) RETURNS jsonb
    LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$ SELECT stockking.delete_own('post', args) $$;
COMMENT ON FUNCTION api.delete_post(jsonb) IS
$$DELETE /v1/community/posts/:id (CHILD): the author deletes their post (hidden ones too); nobody but ADMIN sees it after.
Returns {"id","status": "DELETED"}.  Errors: 22023 (400); P0002 (404) no such post of the caller; 28000 (401).$$;

CREATE FUNCTION api.delete_comment(args jsonb) RETURNS jsonb
    LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$ SELECT stockking.delete_own('comment', args) $$;
COMMENT ON FUNCTION api.delete_comment(jsonb) IS
$$DELETE /v1/community/comments/:id (CHILD): the author deletes their comment.  Returns {"id","status": "DELETED"}.
Errors: 22023 (400); P0002 (404) no such comment of the caller; 28000 (401).$$;

CREATE FUNCTION stockking.like_state(p_post bigint) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
    SELECT jsonb_build_object('post_id', p_post,
        'liked', EXISTS (SELECT 1 FROM stockking.community_like l WHERE l.post_id = p_post AND l.user_id = stockking.uid()),
        'like_count', (SELECT count(*) FROM stockking.community_like_count l WHERE l.post_id = p_post))
    $$;

-- a post the caller sees, for a like: P0002 when not, SK433 when hidden
CREATE FUNCTION stockking.likeable_post(p_post bigint) RETURNS bigint
    LANGUAGE plpgsql STABLE
    AS $$
DECLARE
    v_status text;
BEGIN
    SELECT p.status INTO v_status FROM stockking.community_post p WHERE p.id = p_post;
    IF v_status IS NULL OR v_status = 'DELETED' THEN
        RAISE EXCEPTION 'post % not found', p_post USING ERRCODE = 'P0002';
    END IF;
    IF v_status <> 'VISIBLE' THEN
        RAISE EXCEPTION 'post % is hidden', p_post USING ERRCODE = 'SK433';
    END IF;
    RETURN p_post;
END
$$;

CREATE FUNCTION api.like_post(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v_user uuid := stockking.require_child('like posts');
    v_id   bigint := stockking.likeable_post(stockking.arg_bigint(args, 'id'));
BEGIN
    -- the key (post_id, user_id): a second like, even at the same moment, adds nothing
    INSERT INTO stockking.community_like (post_id, user_id, family_id)
        VALUES (v_id, v_user, stockking.my_family())
        ON CONFLICT (post_id, user_id) DO NOTHING;
    RETURN stockking.like_state(v_id);
END
$$;
COMMENT ON FUNCTION api.like_post(jsonb) IS
$$POST /v1/community/posts/:id/like (CHILD): like a post the caller sees; liking again changes nothing.  Returns {"post_id",
"liked": true, "like_count"} (the count of likes, exact: one row per user and post).
Errors: 22023 (400); 42501 (403) not a CHILD; P0002 (404) no such post visible to the caller; SK433 (409) hidden; 28000 (401).$$;

CREATE FUNCTION api.unlike_post(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v_user uuid := stockking.require_child('like posts');
    v_id   bigint := stockking.arg_bigint(args, 'id');
BEGIN
    DELETE FROM stockking.community_like WHERE post_id = v_id AND user_id = v_user;
    RETURN stockking.like_state(v_id);
END
$$;
COMMENT ON FUNCTION api.unlike_post(jsonb) IS
$$DELETE /v1/community/posts/:id/like (CHILD): take a like back (none: nothing changes).  Returns {"post_id","liked": false,
"like_count"}.  Errors: 22023 (400); 42501 (403) not a CHILD; 28000 (401).$$;

CREATE FUNCTION api.filter_text(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v_text text := stockking.arg_text(args, 'text');
    f      record;
    v_pd   text;
BEGIN
    PERFORM stockking.require_user();
    IF length(v_text) > 2000 THEN
        RAISE EXCEPTION 'field "text" is longer than 2000 characters' USING ERRCODE = '22023';
    END IF;
    f := stockking.profanity_filter(v_text);
    v_pd := stockking.personal_data(v_text);
    RETURN jsonb_build_object(
        'verdict', f.verdict, 'text', CASE WHEN f.verdict <> 'REFUSED' THEN f.masked END,
        'masked_words', f.masked_words, 'refused_words', f.refused_words, 'personal_data', v_pd,
        'allowed', f.verdict <> 'REFUSED' AND v_pd IS NULL);
END
$$;
COMMENT ON FUNCTION api.filter_text(jsonb) IS
$$POST /v1/community/filter {"text": up to 2000 characters}: what the board would do with a text, changing nothing (an app
checks a draft before posting).  Returns {"verdict": CLEAN|MASKED|REFUSED, "text": the text as it would be stored (null when
refused), "masked_words", "refused_words", "personal_data": PHONE|EMAIL|ADDRESS|ACCOUNT|RRN|null, "allowed": whether a post
would be accepted}.  Errors: 22023 (400); 28000 (401).$$;

-- Moderation (ADMIN).
CREATE FUNCTION api.moderation_queue(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v_status text := upper(coalesce(stockking.arg_text(args, 'status', false), 'OPEN'));
    v_limit  bigint := coalesce(stockking.arg_bigint(args, 'limit', false), 50);
BEGIN
    PERFORM stockking.require_admin();
    IF v_status NOT IN ('OPEN', 'ALL') THEN
        RAISE EXCEPTION 'field "status" must be OPEN or ALL' USING ERRCODE = '22023';
    END IF;
    IF v_limit NOT BETWEEN 1 AND 200 THEN
        RAISE EXCEPTION 'field "limit" must be between 1 and 200' USING ERRCODE = '22023';
    END IF;
    RETURN jsonb_build_object('status', v_status, 'threshold', stockking.community_limit('report_hide_threshold'),
                              'items', coalesce((
        SELECT jsonb_agg(q.item ORDER BY q.auto_hidden DESC, q.open_reports DESC, q.last_at DESC)
          FROM (SELECT jsonb_build_object(
                           'kind', CASE WHEN r.post_id IS NOT NULL THEN 'POST' ELSE 'COMMENT' END,
                           'id', coalesce(r.post_id, r.comment_id), 'post_id', coalesce(r.post_id, c.post_id),
                           'author', jsonb_build_object('id', coalesce(p.user_id, c.user_id),
                                                        'nickname', u.nickname),
                           'status', coalesce(p.status, c.status), 'hidden_by', coalesce(p.hidden_by, c.hidden_by),
                           'title', p.title, 'body', coalesce(p.body, c.body),
                           'open_reports', r.open_reports, 'reports', r.reports, 'reasons', r.reasons,
                           'first_reported_at', r.first_at, 'last_reported_at', r.last_at) AS item,
                       coalesce(p.hidden_by, c.hidden_by) IS NOT DISTINCT FROM 'REPORTS' AS auto_hidden,
                       r.open_reports, r.last_at
                  FROM (SELECT x.post_id, x.comment_id, count(*) FILTER (WHERE x.status = 'OPEN') AS open_reports,
                               count(*) AS reports, min(x.created_at) AS first_at, max(x.created_at) AS last_at,
                               (SELECT jsonb_object_agg(y.reason, y.n) FROM (
                                    SELECT z.reason, count(*) AS n FROM stockking.community_report z
                                     WHERE z.post_id IS NOT DISTINCT FROM x.post_id
                                       AND z.comment_id IS NOT DISTINCT FROM x.comment_id
                                       AND (z.status = 'OPEN' OR v_status = 'ALL')
                                     GROUP BY z.reason) y) AS reasons
                          FROM stockking.community_report x
                         GROUP BY x.post_id, x.comment_id
                        HAVING v_status = 'ALL' OR count(*) FILTER (WHERE x.status = 'OPEN') > 0) r
                  LEFT JOIN stockking.community_post p ON p.id = r.post_id
                  LEFT JOIN stockking.community_comment c ON c.id = r.comment_id
                  JOIN stockking.users_public u ON u.id = coalesce(p.user_id, c.user_id)
                 WHERE v_status = 'ALL' OR coalesce(p.status, c.status) <> 'DELETED'
                 ORDER BY 2 DESC, r.open_reports DESC, r.last_at DESC
                 LIMIT v_limit) q), '[]'));
END
$$;
COMMENT ON FUNCTION api.moderation_queue(jsonb) IS
$$GET /v1/admin/community/reports?status=OPEN|ALL&limit= (ADMIN): the moderation queue -- posts and comments with open reports
(ALL: with any report, deleted ones too), those hidden by reports first, then by open reports and the latest report.
Returns {"status","threshold": report_hide_threshold,"items": [{"kind": POST|COMMENT,"id","post_id","author": {"id",
"nickname"},"status","hidden_by","title","body","open_reports","reports","reasons": {"BULLYING": 2, ...},
"first_reported_at","last_reported_at"}]}.  Act with POST /v1/admin/community/posts/:id/moderate (or comments/:id).
Errors: 22023 (400); 42501 (403) not ADMIN; 28000 (401).$$;

CREATE FUNCTION api.list_profanity_words(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v_action text := upper(stockking.arg_text(args, 'action', false));
BEGIN
    PERFORM stockking.require_admin();
    RETURN jsonb_build_object('items', (
        SELECT coalesce(jsonb_agg(jsonb_build_object('id', w.id, 'pattern', w.pattern, 'action', w.action,
                                                     'category', w.category, 'builtin', w.builtin,
                                                     'created_at', w.created_at) ORDER BY w.id), '[]')
          FROM stockking.profanity_word w WHERE v_action IS NULL OR w.action = v_action));
END
$$;
COMMENT ON FUNCTION api.list_profanity_words(jsonb) IS
$$GET /v1/admin/community/words?action=MASK|REFUSE|ALLOW (ADMIN): the filter's word list.  Returns {"items": [{"id","pattern",
"action","category","builtin","created_at"}]}.  Errors: 42501 (403) not ADMIN; 28000 (401).$$;

CREATE FUNCTION api.add_profanity_word(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v_pattern  text := lower(btrim(stockking.arg_text(args, 'pattern')));
    v_action   text := upper(stockking.arg_text(args, 'action'));
    v_category text := upper(coalesce(stockking.arg_text(args, 'category', false),
                                      CASE WHEN upper(args ->> 'action') = 'ALLOW' THEN 'EXCEPTION' ELSE 'SWEAR' END));
    w          stockking.profanity_word;
BEGIN
    PERFORM stockking.require_admin();
    IF v_action NOT IN ('MASK', 'REFUSE', 'ALLOW') THEN
        RAISE EXCEPTION 'field "action" must be MASK, REFUSE or ALLOW' USING ERRCODE = '22023';
    END IF;
    IF v_category NOT IN ('SWEAR', 'INSULT', 'FAMILY', 'SEXUAL', 'HATE', 'EXCEPTION')
       OR (v_category = 'EXCEPTION') <> (v_action = 'ALLOW') THEN
        RAISE EXCEPTION 'field "category" must be SWEAR, INSULT, FAMILY, SEXUAL or HATE (EXCEPTION for ALLOW)'
            USING ERRCODE = '22023';
    END IF;
    IF length(v_pattern) > 100 THEN
        RAISE EXCEPTION 'field "pattern" is longer than 100 characters' USING ERRCODE = '22023';
    END IF;
    PERFORM stockking.profanity_pattern_ok(v_pattern);
    IF EXISTS (SELECT 1 FROM stockking.profanity_word x WHERE x.action = v_action AND x.pattern = v_pattern) THEN
        RAISE EXCEPTION 'the word list has % % already', v_action, v_pattern USING ERRCODE = '23505';
    END IF;
    INSERT INTO stockking.profanity_word (pattern, action, category, added_by)
        VALUES (v_pattern, v_action, v_category, stockking.uid())
        RETURNING * INTO w;
    RETURN jsonb_build_object('id', w.id, 'pattern', w.pattern, 'action', w.action, 'category', w.category,
                              'builtin', w.builtin, 'created_at', w.created_at);
END
$$;
COMMENT ON FUNCTION api.add_profanity_word(jsonb) IS
$$POST /v1/admin/community/words (ADMIN): add a word (201).  Args: {"pattern": syllables, consonant jamo, letters, digits,
[...] for one of several, ^ starts a word, $ ends one (up to 100 characters), "action": MASK | REFUSE | ALLOW (an exception
for a false positive), "category": SWEAR | INSULT | FAMILY | SEXUAL | HATE (default SWEAR; EXCEPTION for ALLOW)}.  Every
backend uses it from the next statement after the commit.  Returns the word {"id","pattern","action","category","builtin"}.
Errors: 22023 (400) bad field or malformed pattern (the message says why); 23505 (409) the list has it; 42501 (403).$$;

CREATE FUNCTION api.delete_profanity_word(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v_id      bigint := stockking.arg_bigint(args, 'id');
    v_builtin boolean;
BEGIN
    PERFORM stockking.require_admin();
    SELECT w.builtin INTO v_builtin FROM stockking.profanity_word w WHERE w.id = v_id;
    IF v_builtin IS NULL THEN
        RAISE EXCEPTION 'word % not found', v_id USING ERRCODE = 'P0002';
    END IF;
    IF v_builtin THEN
        RAISE EXCEPTION 'word % is built in and stays', v_id USING ERRCODE = '42501',
            HINT = 'Add an ALLOW entry for the false positive instead.';
    END IF;
    DELETE FROM stockking.profanity_word WHERE id = v_id;
    RETURN jsonb_build_object('id', v_id, 'deleted', true);
END
$$;
COMMENT ON FUNCTION api.delete_profanity_word(jsonb) IS
$$DELETE /v1/admin/community/words/:id (ADMIN): remove a word an ADMIN added.  Returns {"id","deleted": true}.
Errors: P0002 (404) no such word; 42501 (403) a built-in word (add an ALLOW entry instead), or not ADMIN.$$;

CREATE FUNCTION stockking.community_settings_json() RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
    SELECT jsonb_object_agg(n, stockking.community_limit(n))
      FROM unnest(ARRAY['report_hide_threshold', 'posts_per_hour', 'comments_per_minute', 'reports_per_hour']) AS n
    $$;

CREATE FUNCTION api.community_settings(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
BEGIN
    PERFORM stockking.require_admin();
    RETURN stockking.community_settings_json();
END
$$;
COMMENT ON FUNCTION api.community_settings(jsonb) IS
$$GET /v1/admin/community/settings (ADMIN): the board's limits {"report_hide_threshold": distinct reporters that hide a post
or comment (default 3), "posts_per_hour" (5), "comments_per_minute" (3), "reports_per_hour" (10)}, per user.
Errors: 42501 (403); 28000 (401).$$;

CREATE FUNCTION api.update_community_settings(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v_key   text;
    v_value bigint;
BEGIN
    PERFORM stockking.require_admin();
    FOR v_key IN SELECT jsonb_object_keys(args) LOOP
        IF stockking.community_limit(v_key) IS NULL THEN
            RAISE EXCEPTION 'unknown setting "%"', v_key USING ERRCODE = '22023',
                HINT = 'report_hide_threshold, posts_per_hour, comments_per_minute, reports_per_hour';
        END IF;
        v_value := stockking.arg_bigint(args, v_key);
        IF v_value NOT BETWEEN 1 AND 10000 THEN
            RAISE EXCEPTION 'field "%" must be between 1 and 10000', v_key USING ERRCODE = '22023';
        END IF;
        INSERT INTO stockking.community_setting (name, value, updated_by) VALUES (v_key, v_value, stockking.uid())
            ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value, updated_by = EXCLUDED.updated_by, updated_at = now();
    END LOOP;
    RETURN stockking.community_settings_json();
END
$$;
COMMENT ON FUNCTION api.update_community_settings(jsonb) IS
$$PUT /v1/admin/community/settings (ADMIN): change limits, e.g. {"report_hide_threshold": 5}; each 1..10000.  A lower
threshold hides at the next report.  Returns the settings as GET does.  Errors: 22023 (400) unknown name or bad value;
42501 (403); 28000 (401).$$;

-- Profile edits (seed 003 §4.1 PUT /users/me).  Avatars are ids of the
-- pictures the app ships, never a URL: a children's app must not show
-- arbitrary images (no moderation of pictures, tracking pixels, a photo of
-- the child's face or school).
CREATE FUNCTION stockking.avatar_ids() RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT ARRAY['bear', 'cat', 'dog', 'fox', 'panda', 'penguin', 'rabbit', 'tiger', 'owl', 'dolphin', 'koala', 'lion'] $$;
COMMENT ON FUNCTION stockking.avatar_ids() IS 'the avatars a user may choose: ids of pictures shipped in the app';

CREATE FUNCTION api.update_me(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v_user   uuid := stockking.require_user();
    v_year   integer := extract(year FROM now() AT TIME ZONE 'Asia/Seoul')::integer;
    v_key    text;
    v_nick   text;
    v_avatar text;
    v_birth  bigint;
    u        stockking.users;
BEGIN
    IF jsonb_typeof(args) IS DISTINCT FROM 'object' THEN
        RAISE EXCEPTION 'arguments must be a JSON object' USING ERRCODE = '22023';
    END IF;
    IF args ? 'role' THEN
        RAISE EXCEPTION 'the role cannot be changed' USING ERRCODE = '42501',
            DETAIL = 'A role is chosen at sign-up; a parent links to a child with the child''s link code.';
    END IF;
    FOR v_key IN SELECT jsonb_object_keys(args) LOOP
        IF v_key NOT IN ('nickname', 'avatar', 'birth_year') THEN
            RAISE EXCEPTION 'field "%" cannot be changed here', v_key USING ERRCODE = '22023',
                HINT = 'PUT /v1/users/me changes nickname, avatar and birth_year.';
        END IF;
    END LOOP;
    SELECT * INTO u FROM stockking.users WHERE id = v_user FOR UPDATE;
    IF u.id IS NULL THEN
        RAISE EXCEPTION 'user not found' USING ERRCODE = 'P0002';
    END IF;
    IF args ? 'nickname' THEN
        v_nick := btrim(stockking.arg_text(args, 'nickname'));
        IF length(v_nick) NOT BETWEEN 1 AND 30 THEN
            RAISE EXCEPTION 'field "nickname" must be 1 to 30 characters long' USING ERRCODE = '22023';
        END IF;
        -- others see nicknames (boards, leaderboards): no bad word, masked or not, and no personal data
        u.nickname := stockking.clean_text('nickname', v_nick, false);
    END IF;
    IF args ? 'avatar' THEN
        v_avatar := stockking.arg_text(args, 'avatar', false);
        IF v_avatar IS NOT NULL AND NOT v_avatar = ANY (stockking.avatar_ids()) THEN
            RAISE EXCEPTION 'field "avatar" must be one of the app''s avatars' USING ERRCODE = '22023',
                DETAIL = 'One of ' || array_to_string(stockking.avatar_ids(), ', ') || ', or null.';
        END IF;
        u.avatar := v_avatar;
    END IF;
    IF args ? 'birth_year' THEN
        v_birth := stockking.arg_bigint(args, 'birth_year', false);
        -- a child is 5 to 18 this year (Korean minors are under 19); an adult 18 to 100
        IF v_birth IS NOT NULL AND u.role = 'CHILD' AND v_birth NOT BETWEEN v_year - 18 AND v_year - 5 THEN
            RAISE EXCEPTION 'field "birth_year" must be between % and % for a child', v_year - 18, v_year - 5
                USING ERRCODE = '22023';
        END IF;
        IF v_birth IS NOT NULL AND u.role <> 'CHILD' AND v_birth NOT BETWEEN v_year - 100 AND v_year - 18 THEN
            RAISE EXCEPTION 'field "birth_year" must be between % and %', v_year - 100, v_year - 18
                USING ERRCODE = '22023';
        END IF;
        u.birth_year := v_birth;
    END IF;
    UPDATE stockking.users SET nickname = u.nickname, avatar = u.avatar, birth_year = u.birth_year WHERE id = v_user;
    RETURN stockking.user_json(u) || jsonb_build_object('avatar', u.avatar, 'birth_year', u.birth_year);
END
$$;
COMMENT ON FUNCTION api.update_me(jsonb) IS
$$PUT /v1/users/me (signed in): change one's profile.  Args (each optional): {"nickname": 1..30 characters, through the
profanity filter and the personal-data detector -- any bad word refuses it, masked or not; "avatar": one of
stockking.avatar_ids() (bear, cat, dog, fox, panda, penguin, rabbit, tiger, owl, dolphin, koala, lion) or null -- never a
URL; "birth_year": a CHILD 5..18 years old this year (Asia/Seoul), others 18..100, or null}.  A "role" field is refused
(42501), any other field too (22023).  Returns the user {"id","email","role","nickname","avatar","birth_year","family_id",
"created_at"}.
Errors: 22023 (400) unknown field, bad nickname length, avatar or birth year; 42501 (403) a role field; SK401 (422) a bad
word in the nickname; SK410..SK414 (422) personal data in it; 28000 (401).$$;

ALTER FUNCTION api.create_post(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.add_comment(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.report_post(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.report_comment(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.moderate_post(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.moderate_comment(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.list_posts(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.get_post(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.list_comments(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.delete_post(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.delete_comment(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.like_post(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.unlike_post(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.filter_text(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.moderation_queue(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.list_profanity_words(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.add_profanity_word(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.delete_profanity_word(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.community_settings(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.update_community_settings(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.update_me(jsonb) OWNER TO stockking_definer;

INSERT INTO stockking.route (method, path, fn, roles, read_only, success_status, token, summary) VALUES
    ('GET', '/v1/community/posts', 'list_posts', '{}', true, 200, 'none', 'Posts of the caller''s league, season, or children'),
    ('POST', '/v1/community/posts', 'create_post', '{CHILD}', false, 201, 'none', 'Write a post (filtered)'),
    ('GET', '/v1/community/posts/:id', 'get_post', '{}', true, 200, 'none', 'A post and its comments'),
    ('DELETE', '/v1/community/posts/:id', 'delete_post', '{CHILD}', false, 200, 'none', 'Delete one''s own post'),
    ('POST', '/v1/community/posts/:id/comments', 'add_comment', '{CHILD}', false, 201, 'none', 'Comment on a post (filtered)'),
    ('POST', '/v1/community/posts/:id/like', 'like_post', '{CHILD}', false, 200, 'none', 'Like a post'),
    ('DELETE', '/v1/community/posts/:id/like', 'unlike_post', '{CHILD}', false, 200, 'none', 'Take a like back'),
    ('POST', '/v1/community/posts/:id/report', 'report_post', '{CHILD,PARENT}', false, 201, 'none', 'Report a post'),
    ('GET', '/v1/community/comments', 'list_comments', '{}', true, 200, 'none', 'One''s own (or a child''s) comments'),
    ('DELETE', '/v1/community/comments/:id', 'delete_comment', '{CHILD}', false, 200, 'none', 'Delete one''s own comment'),
    ('POST', '/v1/community/comments/:id/report', 'report_comment', '{CHILD,PARENT}', false, 201, 'none', 'Report a comment'),
    ('POST', '/v1/community/filter', 'filter_text', '{}', true, 200, 'none', 'What the filter would do with a text'),
    ('GET', '/v1/admin/community/reports', 'moderation_queue', '{ADMIN}', true, 200, 'none', 'The moderation queue'),
    ('POST', '/v1/admin/community/posts/:id/moderate', 'moderate_post', '{ADMIN}', false, 200, 'none',
     'Hide, restore, delete a post or dismiss its reports'),
    ('POST', '/v1/admin/community/comments/:id/moderate', 'moderate_comment', '{ADMIN}', false, 200, 'none',
     'Hide, restore, delete a comment or dismiss its reports'),
    ('GET', '/v1/admin/community/words', 'list_profanity_words', '{ADMIN}', true, 200, 'none', 'The filter''s word list'),
    ('POST', '/v1/admin/community/words', 'add_profanity_word', '{ADMIN}', false, 201, 'none', 'Add a word to the filter'),
    ('DELETE', '/v1/admin/community/words/:id', 'delete_profanity_word', '{ADMIN}', false, 200, 'none',
     'Remove a word an ADMIN added'),
    ('GET', '/v1/admin/community/settings', 'community_settings', '{ADMIN}', true, 200, 'none', 'The board''s limits'),
    ('PUT', '/v1/admin/community/settings', 'update_community_settings', '{ADMIN}', false, 200, 'none',
     'Change the board''s limits'),
    ('PUT', '/v1/users/me', 'update_me', '{}', false, 200, 'none', 'Change one''s nickname, avatar or birth year');

-- sql/98_system.sql
-- The community board (sql/92_community.sql): like and comment counts and
-- the open reports of every user, and hiding a VISIBLE post or comment when
-- its reports reach the threshold (the reporter cannot read it once hidden),
-- through views that show ids, states and reasons only.
ALTER VIEW stockking.community_like_count OWNER TO stockking_system;
ALTER VIEW stockking.community_comment_count OWNER TO stockking_system;
ALTER VIEW stockking.community_report_open OWNER TO stockking_system;
ALTER VIEW stockking.community_post_visible OWNER TO stockking_system;
ALTER VIEW stockking.community_comment_visible OWNER TO stockking_system;
GRANT SELECT (post_id) ON stockking.community_like TO stockking_system;
GRANT SELECT (post_id, comment_id, reason, status, created_at) ON stockking.community_report TO stockking_system;
GRANT SELECT (id, post_id, status, hidden_by, moderated_at, moderation_reason),
    UPDATE (status, hidden_by, moderated_at, moderation_reason) ON stockking.community_comment TO stockking_system;
GRANT SELECT (id, status, hidden_by, moderated_at, moderation_reason),
    UPDATE (status, hidden_by, moderated_at, moderation_reason) ON stockking.community_post TO stockking_system;

-- ===== What pg_dump saves (sql/97_dump.sql, new) ===========================
-- What pg_dump saves.  The extension's tables belong to the extension, and
-- pg_dump saves the rows of such a table only when it is registered here
-- (pg_extension_config_dump): every table that holds users' or operators'
-- data is, with its identity sequence, so that `pg_dump` and `pg_restore`
-- (or `psql < dump.sql`) bring every row back.  A new table registers itself
-- next to its CREATE TABLE; regress/sql/privileges.sql fails when a table is
-- in neither list.
--
-- Not saved, because they are the extension's own content, made by the
-- install script of the version restored into: error_code, route, market,
-- tick_band, badge, mission (and the materialized view leaderboard_weekly,
-- which the leaderboard job refreshes).
--
-- Restoring loads the rows with COPY after CREATE EXTENSION has made the
-- tables, their triggers and the rows the install script seeds:
--   * triggers that derive rows skip restored ones (stockking.restoring());
--   * season, instrument and merchant are seeded and then changed by the
--     application (a replay season's clock, families' merchants), so they
--     are saved whole and a restored row overwrites the seeded row with its
--     primary key (stockking.restore_replace()).

CREATE FUNCTION stockking.restore_replace() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_set   text;
    v_where text;
    v_found bigint;
BEGIN
    -- every column but the primary key's (and generated ones) from the
    -- restored row, onto the row with its primary key
    SELECT string_agg(format('%I = ($1).%I', a.attname, a.attname), ', ')
               FILTER (WHERE NOT a.attnum = ANY (i.indkey)),
           string_agg(format('%I = ($1).%I', a.attname, a.attname), ' AND ')
               FILTER (WHERE a.attnum = ANY (i.indkey))
      INTO v_set, v_where
      FROM pg_index i
      JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
     WHERE i.indrelid = TG_RELID AND i.indisprimary;
    EXECUTE format('UPDATE %s SET %s WHERE %s', TG_RELID::regclass, v_set, v_where) USING NEW;
    GET DIAGNOSTICS v_found = ROW_COUNT;
    IF v_found > 0 THEN
        RETURN NULL;
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION stockking.restore_replace() IS
    'BEFORE INSERT trigger, while a dump is restored: the restored row overwrites a seeded row with the same primary key (and is not inserted)';
CREATE TRIGGER season_restore BEFORE INSERT ON stockking.season
    FOR EACH ROW WHEN (stockking.restoring()) EXECUTE FUNCTION stockking.restore_replace();
CREATE TRIGGER instrument_restore BEFORE INSERT ON stockking.instrument
    FOR EACH ROW WHEN (stockking.restoring()) EXECUTE FUNCTION stockking.restore_replace();
CREATE TRIGGER merchant_restore BEFORE INSERT ON stockking.merchant
    FOR EACH ROW WHEN (stockking.restoring()) EXECUTE FUNCTION stockking.restore_replace();

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY[
        -- market data and seasons
        'instrument', 'price_bar', 'season', 'replay_schedule',
        -- people and sessions
        'family', 'users', 'refresh_token', 'link_code', 'family_setting', 'event_cursor',
        -- trading
        'account', 'cash_ledger', 'holding', 'orders', 'fill', 'trade_request', 'account_snapshot',
        -- events
        'outbox', 'outbox_pruned',
        -- the pocket-money ledger
        'merchant', 'ledger_entry', 'ledger_pending', 'ledger_import', 'ledger_monthly', 'ledger_budget',
        'ledger_budget_alert',
        -- allowance and payments
        'allowance_goal', 'allowance_request', 'payment', 'payment_attempt', 'sandbox_transfer', 'sandbox_rule',
        -- missions, leagues, summaries, jobs
        'user_progress', 'user_badge', 'mission_progress', 'league_member', 'league_assignment', 'league_result',
        'family_summary', 'family_summary_notice', 'job_state']
    LOOP
        PERFORM pg_catalog.pg_extension_config_dump(format('stockking.%I', t)::regclass, '');
    END LOOP;
END
$$;

-- The identity sequences of every table registered (here or before), and the
-- outbox's commit order.  (One call a statement: each updates pg_extension.)
DO $$
DECLARE
    s regclass;
BEGIN
    FOR s IN SELECT pg_get_serial_sequence(c.oid::regclass::text, a.attname)::regclass
               FROM pg_class c
               JOIN pg_attribute a ON a.attrelid = c.oid AND a.attidentity <> ''
              WHERE c.oid = ANY ((SELECT extconfig FROM pg_extension WHERE extname = 'stockking')::oid[])
              ORDER BY 1
    LOOP
        PERFORM pg_catalog.pg_extension_config_dump(s, '');
    END LOOP;
    PERFORM pg_catalog.pg_extension_config_dump('stockking.outbox_seq', '');
END
$$;

-- ===== The system role's functions and privileges (sql/98_system.sql, new) =
-- The functions that act beyond one caller's rows, and exactly what they
-- may touch.  They are SECURITY DEFINER and owned by stockking_system: not a
-- superuser and the owner of no table, it passes row-level security
-- (BYPASSRLS) but holds only the privileges granted below.  In one place, so
-- that the whole of what the web can reach past row-level security reads on
-- one page (and regress/sql/privileges.sql pins it).

-- Sign-up, log-in and sessions: before there is a caller, or for a refresh
-- token's user.
ALTER FUNCTION api.signup(jsonb) OWNER TO stockking_system;
ALTER FUNCTION api.login(jsonb) OWNER TO stockking_system;
ALTER FUNCTION api.refresh(jsonb) OWNER TO stockking_system;
ALTER FUNCTION api.logout(jsonb) OWNER TO stockking_system;
ALTER FUNCTION stockking.issue_refresh_token(uuid, uuid, bigint) OWNER TO stockking_system;
GRANT SELECT, INSERT ON stockking.family TO stockking_system;
GRANT SELECT, INSERT ON stockking.users TO stockking_system;
GRANT SELECT, INSERT, UPDATE (rotated_at, revoked_at, revoked_reason) ON stockking.refresh_token TO stockking_system;
-- a child's link code, made at sign-up (the trigger runs as the sign-up)
GRANT SELECT, INSERT, UPDATE (code, created_at) ON stockking.link_code TO stockking_system;
GRANT EXECUTE ON FUNCTION stockking.issue_link_code(uuid, uuid) TO stockking_system;
GRANT SELECT ON stockking.family_setting TO stockking_system;

-- Accounts: opened at sign-up and on joining a season (its opening deposit).
ALTER FUNCTION stockking.open_account(uuid, integer) OWNER TO stockking_system;
GRANT UPDATE (default_account_id) ON stockking.users TO stockking_system;
GRANT SELECT ON stockking.season, stockking.instrument, stockking.price_bar TO stockking_system;
GRANT SELECT, INSERT ON stockking.account, stockking.cash_ledger TO stockking_system;
GRANT EXECUTE ON FUNCTION stockking.season_clock(integer) TO stockking_system;

-- Events: the outbox is written by every domain through emit_event, numbered
-- in commit order, fanned out by the proxy (event_feed) and read back by
-- their recipients (event_replay, notifications).
ALTER FUNCTION stockking.emit_event(uuid, uuid, text, text, jsonb) OWNER TO stockking_system;
ALTER FUNCTION stockking.outbox_commit_order() OWNER TO stockking_system;
ALTER FUNCTION api.event_feed(jsonb) OWNER TO stockking_system;
ALTER FUNCTION api.event_replay(jsonb) OWNER TO stockking_system;
ALTER FUNCTION stockking.events_for_caller(bigint, integer) OWNER TO stockking_system;
GRANT SELECT, INSERT, UPDATE (seq) ON stockking.outbox TO stockking_system;
GRANT USAGE ON SEQUENCE stockking.outbox_seq TO stockking_system;
GRANT SELECT ON stockking.outbox_pruned TO stockking_system;

-- The ledger's monthly summary and budget alerts, kept by statement
-- triggers on every user's entries.
ALTER FUNCTION stockking.ledger_summary_upsert(jsonb) OWNER TO stockking_system;
ALTER FUNCTION stockking.ledger_entry_summary() OWNER TO stockking_system;
ALTER FUNCTION stockking.ledger_check_budget(uuid, text) OWNER TO stockking_system;
GRANT SELECT, INSERT, UPDATE (total, entries), DELETE ON stockking.ledger_monthly TO stockking_system;
GRANT SELECT ON stockking.ledger_budget TO stockking_system;
GRANT SELECT, INSERT, UPDATE (outbox_id) ON stockking.ledger_budget_alert TO stockking_system;

-- Family merges (extension/family.c): the parent cannot see the child's
-- family before the link; the merge moves family_id of the tables it lists,
-- merges the settings and deletes the emptied family.
ALTER FUNCTION api.link_family(jsonb) OWNER TO stockking_system;
GRANT UPDATE, DELETE ON stockking.family TO stockking_system;
GRANT INSERT, UPDATE, DELETE ON stockking.family_setting TO stockking_system;
GRANT SELECT, DELETE ON stockking.family_summary_notice TO stockking_system;
DO $$
DECLARE
    t text;
BEGIN
    FOR t IN SELECT stockking.family_tables() LOOP
        EXECUTE format('GRANT SELECT (family_id), UPDATE (family_id) ON stockking.%I TO stockking_system', t);
    END LOOP;
END
$$;

-- Other children's nickname and XP (leaderboards, leagues), through views
-- owned by stockking_system that show those two columns.
ALTER VIEW stockking.users_public OWNER TO stockking_system;
ALTER VIEW stockking.progress_public OWNER TO stockking_system;
GRANT SELECT (user_id, xp) ON stockking.user_progress TO stockking_system;

-- The route and error tables and the OpenAPI document: the api's own
-- description, read by the proxy and by anyone.
ALTER FUNCTION api.error_table() OWNER TO stockking_definer;
ALTER FUNCTION api.route_table() OWNER TO stockking_definer;
ALTER FUNCTION api.openapi(jsonb) OWNER TO stockking_definer;
GRANT SELECT ON stockking.error_code, stockking.route TO stockking_definer;

-- Nothing the web can reach runs as a superuser: every SECURITY DEFINER
-- function of the extension is owned by one of its two roles.
DO $$
DECLARE
    f text;
BEGIN
    SELECT string_agg(p.oid::regprocedure::text, ', ') INTO f
      FROM pg_proc p
      JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
      JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'stockking'
     WHERE p.prosecdef AND p.proowner NOT IN ('stockking_definer'::regrole, 'stockking_system'::regrole);
    IF f IS NOT NULL THEN
        RAISE EXCEPTION 'SECURITY DEFINER functions owned by neither stockking_definer nor stockking_system: %', f;
    END IF;
END
$$;

-- ===== The pocket-money ledger: issues 8 and 10 (sql/50, 51, 52) ===========
-- The parser's record names the entry a correction or deletion means and what
-- a question asks; corrections act on the entry they name (SK113, SK114);
-- questions of top merchant, top category and count; SHA-256 row fingerprints.

ALTER TYPE stockking.ledger_parse_result
    ADD ATTRIBUTE old_amount bigint, ADD ATTRIBUTE old_date date, ADD ATTRIBUTE old_merchant text, ADD ATTRIBUTE query text;
COMMENT ON TYPE stockking.ledger_parse_result IS
    'a parsed ledger sentence (see api.parse_ledger_text); old_* name the entry a MODIFY or DELETE means, query what a QUERY asks';
COMMENT ON FUNCTION api.parse_ledger_text(jsonb) IS
$$Parse a Korean ledger sentence.  Args: {"text": text (1..500 characters), "reference_date": "YYYY-MM-DD" (default
today in Asia/Seoul)}.  Changes nothing.
Returns {"kind": "EXPENSE"|"INCOME", "intent": "ADD"|"MODIFY"|"DELETE"|"QUERY", "amount": won (integer) or null,
"date": "YYYY-MM-DD" (ADD: the reference date when none is named; others: null when none is named), "merchant":
canonical name or null, "category": one of stockking.ledger_categories() or null, "memo": what is left of the
sentence, "confidence": 0.05..1.00, "reasons": [code...] (amount_missing, amount_without_unit, amount_multiple,
amount_unclear, date_not_stated, date_vague, date_previous_year, date_multiple, merchant_unknown, category_default,
kind_assumed, nothing_to_change), "question": text to ask back or null, "period": {"from","to"} and "query":
"TOTAL"|"TOP_MERCHANT"|"TOP_CATEGORY"|"COUNT" (QUERY only), "old": {"amount","date","merchant"} (MODIFY and DELETE
that name the entry they mean, e.g. "아까 맥날 8천원 말고 7500원이야": old 8000, today, 맥도날드; amount 7500)}.
No amount is never guessed: amount null, reason amount_missing, a question, confidence 0.20.
A date without a year that would be in the future is last year's; a stated future date is refused.
Errors: 22023 (400) text missing or empty; SK103 (400) text over 500 characters; 22007 (400) bad reference_date;
SK101 (422) a future date (내일, 다음주 금요일, 2099-01-01); SK102 (422) amount outside 1..1,000,000,000 won;
22008 (400) a date that does not exist (2월 30일).$$;
DROP FUNCTION stockking.ledger_query_answer(uuid, date, date);

-- sql/51_ledger_conversation.sql
INSERT INTO stockking.error_code VALUES
    ('SK113', 404, 'ledger_no_matching_entry', 'no entry of the caller matches the amount, day or place a correction or deletion names'),
    ('SK114', 409, 'ledger_ambiguous_entry', 'several entries of the caller match what a correction or deletion names: name the day or the place too');

-- does a ledger row (entry or pending entry) match the "old" object of a parse?
CREATE FUNCTION stockking.ledger_matches(p_old jsonb, p_amount bigint, p_merchant text, p_date date,
                                         p_created timestamptz) RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT (p_old ->> 'amount' IS NULL OR p_amount = (p_old ->> 'amount')::bigint)
       AND (p_old ->> 'merchant' IS NULL OR p_merchant = p_old ->> 'merchant')
       AND (p_old ->> 'date' IS NULL OR p_date = (p_old ->> 'date')::date
            OR (p_created AT TIME ZONE 'Asia/Seoul')::date = (p_old ->> 'date')::date)
    $$;
COMMENT ON FUNCTION stockking.ledger_matches(jsonb, bigint, text, date, timestamptz) IS
    'whether an entry (amount, merchant, date, entered at) is the one a parse''s "old" object names: every named field equal; a named day is the entry''s date or the day it was entered (Asia/Seoul)';

-- "6월 17일 맥도날드 8,000원": an entry or what a parse names, for messages
CREATE FUNCTION stockking.ledger_describe(p_date date, p_merchant text, p_amount bigint) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT concat_ws(' ', to_char(p_date, 'FMMM월 FMDD일'), p_merchant, stockking.ledger_won(p_amount))
    $$;

CREATE FUNCTION stockking.ledger_find_target(p_user uuid, p_old jsonb) RETURNS stockking.ledger_entry
    LANGUAGE plpgsql STABLE
    AS $$
DECLARE
    v_latest stockking.ledger_entry;
    v_ids    bigint[];
    v_list   text[];
    v_named  text;
BEGIN
    SELECT * INTO v_latest FROM stockking.ledger_entry WHERE user_id = p_user ORDER BY created_at DESC, id DESC LIMIT 1;
    IF v_latest.id IS NULL THEN
        RAISE EXCEPTION 'there is no ledger entry to change yet' USING ERRCODE = 'SK112';
    END IF;
    IF p_old IS NULL OR jsonb_typeof(p_old) <> 'object'
       OR stockking.ledger_matches(p_old, v_latest.amount, v_latest.merchant, v_latest.entry_date, v_latest.created_at) THEN
        RETURN v_latest;
    END IF;
    SELECT array_agg(e.id ORDER BY e.created_at DESC, e.id DESC),
           array_agg(stockking.ledger_describe(e.entry_date, e.merchant, e.amount) ORDER BY e.created_at DESC, e.id DESC)
      INTO v_ids, v_list
      FROM (SELECT * FROM stockking.ledger_entry e
             WHERE e.user_id = p_user
               AND (p_old ->> 'date' IS NOT NULL OR e.entry_date >= stockking.ledger_today() - 30
                    OR e.created_at >= now() - interval '30 days')
               AND stockking.ledger_matches(p_old, e.amount, e.merchant, e.entry_date, e.created_at)
             ORDER BY e.created_at DESC, e.id DESC LIMIT 6) e;
    v_named := stockking.ledger_describe((p_old ->> 'date')::date, p_old ->> 'merchant', (p_old ->> 'amount')::bigint);
    IF v_ids IS NULL THEN
        RAISE EXCEPTION 'no entry matches %', v_named USING ERRCODE = 'SK113',
            DETAIL = CASE WHEN p_old ->> 'date' IS NULL THEN 'Entries of the last 30 days were searched.'
                          ELSE 'Entries of that day were searched.' END,
            HINT = 'Name the amount, the day or the place as the entry has them.';
    END IF;
    IF cardinality(v_ids) > 1 THEN
        RAISE EXCEPTION '% entries match %', CASE WHEN cardinality(v_ids) > 5 THEN 'more than 5' ELSE cardinality(v_ids)::text END,
            v_named USING ERRCODE = 'SK114', DETAIL = array_to_string(v_list[1:5], '; '),
            HINT = 'Name the day or the place too, e.g. "어제 맥날 8천원 말고 7500원".';
    END IF;
    SELECT * INTO v_latest FROM stockking.ledger_entry WHERE id = v_ids[1];
    RETURN v_latest;
END
$$;
COMMENT ON FUNCTION stockking.ledger_find_target(uuid, jsonb) IS
$$The entry of p_user that a parse's "old" object ({"amount","date","merchant"}, or NULL: the latest entry) names:
the latest entry when it matches, else the only match among the entries of the last 30 days (dated or entered; a
named day searches that day).  Errors: SK112 (404) no entry at all; SK113 (404) none matches; SK114 (409) several
match (the detail lists up to five).  The caller's open pending entry is checked before, by api.ledger_chat.$$;

-- "6월 1일 ~ 6월 30일" (or one day)
CREATE FUNCTION stockking.ledger_period_text(p_from date, p_to date) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    SELECT CASE WHEN p_from = p_to THEN to_char(p_from, 'FMMM월 FMDD일')
                ELSE to_char(p_from, 'FMMM월 FMDD일') || ' ~ ' || to_char(p_to, 'FMMM월 FMDD일') END
    $$;

-- The entries a question is about: the user's in a period, of a merchant or of a category when named.
CREATE FUNCTION stockking.ledger_query_rows(p_user uuid, p_from date, p_to date, p_merchant text, p_category text)
    RETURNS SETOF stockking.ledger_entry
    LANGUAGE sql STABLE
    AS $$
    SELECT * FROM stockking.ledger_entry e
     WHERE e.user_id = p_user AND e.entry_date BETWEEN p_from AND p_to
       AND (p_merchant IS NULL OR e.merchant = p_merchant) AND (p_category IS NULL OR e.category = p_category)
    $$;

-- The answer to a QUERY parse p of the caller's entries.
CREATE FUNCTION stockking.ledger_query_answer(p_user uuid, p jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    AS $$
DECLARE
    v_from     date := (p #>> '{period,from}')::date;
    v_to       date := (p #>> '{period,to}')::date;
    v_query    text := coalesce(p ->> 'query', 'TOTAL');
    v_kind     text := coalesce(p ->> 'kind', 'EXPENSE');
    v_merchant text := p ->> 'merchant';
    -- a named merchant is the filter; its category is only what it implies
    v_category text := CASE WHEN p ->> 'merchant' IS NULL THEN p ->> 'category' END;
    v_filter   text := coalesce(p ->> 'merchant', p ->> 'category');
    v_period   text := stockking.ledger_period_text(v_from, v_to);
    v_verb     text := CASE v_kind WHEN 'INCOME' THEN '받은' ELSE '쓴' END;
    v_rank     jsonb;
    v_count    bigint;
    v_total    bigint;
    v_answer   jsonb;
BEGIN
    v_answer := jsonb_build_object('period', jsonb_build_object('from', to_char(v_from, 'YYYY-MM-DD'), 'to', to_char(v_to, 'YYYY-MM-DD')),
                                   'query', v_query, 'kind', v_kind, 'merchant', v_merchant, 'category', v_category);
    IF v_query = 'TOTAL' THEN
        WITH e AS (SELECT * FROM stockking.ledger_query_rows(p_user, v_from, v_to, v_merchant, v_category))
        SELECT v_answer || jsonb_build_object(
                   'expense', coalesce(sum(amount) FILTER (WHERE kind = 'EXPENSE'), 0),
                   'income', coalesce(sum(amount) FILTER (WHERE kind = 'INCOME'), 0), 'entries', count(*),
                   'by_category', coalesce((SELECT jsonb_agg(jsonb_build_object('kind', kind, 'category', category, 'total', s)
                                                             ORDER BY kind, s DESC, category)
                                              FROM (SELECT kind, category, sum(amount) AS s FROM e GROUP BY 1, 2) c), '[]')),
               count(*) FILTER (WHERE kind = v_kind)
          INTO v_answer, v_count FROM e;
        RETURN v_answer || jsonb_build_object('reply',
            CASE WHEN v_filter IS NULL THEN
                     format('%s: %s 썼고 %s 받았어요.', v_period, stockking.ledger_won((v_answer ->> 'expense')::bigint),
                            stockking.ledger_won((v_answer ->> 'income')::bigint))
                 ELSE format('%s %s: %s %s (%s번).', v_period, v_filter,
                             stockking.ledger_won((v_answer ->> lower(v_kind))::bigint),
                             CASE v_kind WHEN 'INCOME' THEN '받았어요' ELSE '썼어요' END, v_count) END);
    ELSIF v_query = 'COUNT' THEN
        SELECT count(*), coalesce(sum(amount), 0) INTO v_count, v_total
          FROM stockking.ledger_query_rows(p_user, v_from, v_to, v_merchant, v_category) WHERE kind = v_kind;
        RETURN v_answer || jsonb_build_object('count', v_count, 'total', v_total,
            'reply', format('%s %s: %s번, 모두 %s.', v_period, coalesce(v_filter, '기록'), v_count, stockking.ledger_won(v_total)));
    END IF;
    SELECT jsonb_agg(jsonb_build_object('name', name, 'total', total, 'entries', n) ORDER BY total DESC, n DESC, name)
      INTO v_rank
      FROM (SELECT CASE v_query WHEN 'TOP_MERCHANT' THEN merchant ELSE category END AS name, sum(amount) AS total,
                   count(*) AS n
              FROM stockking.ledger_query_rows(p_user, v_from, v_to, v_merchant, v_category)
             WHERE kind = v_kind AND (v_query <> 'TOP_MERCHANT' OR merchant IS NOT NULL)
             GROUP BY 1 ORDER BY 2 DESC, 3 DESC, 1 LIMIT 5) r;
    RETURN v_answer || jsonb_build_object('ranking', coalesce(v_rank, '[]'), 'top', v_rank -> 0,
        'reply', CASE WHEN v_rank IS NULL THEN format('%s: %s 기록이 없어요.', v_period,
                                                      CASE v_query WHEN 'TOP_MERCHANT' THEN '가게가 적힌' ELSE v_verb END)
                      ELSE format('%s 제일 많이 %s %s: %s (%s, %s번).', v_period, v_verb,
                                  CASE v_query WHEN 'TOP_MERCHANT' THEN '곳' ELSE '항목' END, v_rank #>> '{0,name}',
                                  stockking.ledger_won((v_rank #>> '{0,total}')::bigint), v_rank #>> '{0,entries}') END);
END
$$;
COMMENT ON FUNCTION stockking.ledger_query_answer(uuid, jsonb) IS
$$The answer to a QUERY parse of p_user's entries in its period, filtered by the merchant it names (else the category
it names).  query TOTAL: {"expense","income","entries","by_category"}; TOP_MERCHANT / TOP_CATEGORY: {"top","ranking":
[{"name","total","entries"}] (top 5 of the parse's kind; entries without a merchant do not rank as places)}; COUNT:
{"count","total"} of the parse's kind.  Always {"period","query","kind","merchant","category","reply"}.$$;

CREATE OR REPLACE FUNCTION api.ledger_chat(args jsonb) RETURNS jsonb
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
    v_old     jsonb;
    v_stated_date boolean;
    v_stated_cat  boolean;
BEGIN
    p := api.parse_ledger_text(jsonb_build_object('text', v_message, 'reference_date', to_char(v_today, 'YYYY-MM-DD')));
    v_intent := p ->> 'intent';
    v_stated_date := p ->> 'date' IS NOT NULL AND NOT (p -> 'reasons' ? 'date_not_stated');
    v_stated_cat := p ->> 'category' IS NOT NULL AND NOT (p -> 'reasons' ? 'category_default');
    -- the entry a correction or a deletion names ("8천원 말고 ..."), NULL: the conversation's latest
    v_old := p -> 'old';

    IF v_intent = 'QUERY' THEN
        v_answer := stockking.ledger_query_answer(v_user, p);
        RETURN jsonb_build_object('intent', 'QUERY', 'parse', p, 'reply', v_answer ->> 'reply', 'answer', v_answer - 'reply');
    END IF;

    -- the latest open pending entry of the user: the conversation's context
    SELECT * INTO v_open FROM stockking.ledger_pending
     WHERE user_id = v_user AND status = 'PENDING' AND expires_at > now()
     ORDER BY id DESC LIMIT 1 FOR UPDATE;

    -- an open pending entry that the message does not name is no context for it
    IF v_open.id IS NOT NULL AND v_old IS NOT NULL
       AND NOT stockking.ledger_matches(v_old, v_open.amount, v_open.merchant, v_open.entry_date, v_open.created_at) THEN
        v_open := NULL;
    END IF;

    IF v_intent = 'DELETE' THEN
        IF v_open.id IS NOT NULL THEN
            UPDATE stockking.ledger_pending SET status = 'CANCELED', updated_at = now() WHERE id = v_open.id
                RETURNING * INTO v_open;
            RETURN jsonb_build_object('intent', 'DELETE', 'parse', p, 'reply', '입력하던 기록을 취소했어요.',
                                      'pending', stockking.ledger_pending_json(v_open));
        END IF;
        v_target := stockking.ledger_find_target(v_user, v_old);
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
        v_target := stockking.ledger_find_target(v_user, v_old);
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
A correction or deletion that names the entry ("아까 맥날 8천원 말고 7500원이야", "어제 스벅 거 지워줘": the parse's
"old") acts on the open pending entry if it matches, else on the latest entry if it matches, else on the one entry
of the last 30 days that matches (see stockking.ledger_find_target).
QUERY answers at once: {"intent":"QUERY","reply","answer":{"period","query","kind","merchant","category", and for
TOTAL ("이번 달 얼마 썼어?") "expense","income","entries","by_category"; TOP_MERCHANT / TOP_CATEGORY ("제일 많이 쓴 데가
어디야?") "top","ranking"; COUNT ("맥날 몇 번 갔어?") "count","total"}}.
Errors: 22023 (400) no message; SK103 (400) too long; SK101 (422) a future date; SK102 (422) amount out of range;
SK112 (404) nothing to modify or delete; SK113 (404) no entry matches what the message names; SK114 (409) several
entries match it; 28000 (401).$$;

-- sql/52_ledger_fingerprint.sql
CREATE FUNCTION stockking.ledger_row_fingerprint(entry_date date, kind text, amount bigint, description text,
                                                 occurrence integer) RETURNS uuid
    AS 'MODULE_PATHNAME', 'stockking_ledger_row_fingerprint'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION stockking.ledger_row_fingerprint(date, text, bigint, text, integer) IS
    'the fingerprint of an imported row: the first 128 bits of SHA-256 over its date, kind, amount, description (as the file has it) and occurrence among equal rows of the file; the same on every machine';

CREATE FUNCTION stockking.ledger_row_fingerprint_v1(entry_date date, kind text, amount bigint, description text,
                                                    occurrence integer) RETURNS uuid
    AS 'MODULE_PATHNAME', 'stockking_ledger_row_fingerprint_v1'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
REVOKE ALL ON FUNCTION stockking.ledger_row_fingerprint_v1(date, text, bigint, text, integer) FROM PUBLIC;
COMMENT ON FUNCTION stockking.ledger_row_fingerprint_v1(date, text, bigint, text, integer) IS
    'release 0.1.0''s fingerprint (hash_bytes_extended, byte-order dependent): only for stockking.ledger_refingerprint()';

-- The upgrade from 0.1.0: every stored fingerprint made by 0.1.0 is replaced by the SHA-256 one of
-- the same row, so that importing an old file again still adds nothing.  The entry keeps its date,
-- kind and amount; its description is what the import kept of it (the memo, else the merchant,
-- else empty) and its occurrence at most the number of such entries: each candidate is checked
-- against the old fingerprint, so a fingerprint is only ever replaced by the row's own.  A row
-- whose description the import did not keep (a file with a memo column, whose description named
-- a known merchant: "스타벅스 강남점" became 스타벅스 and its memo the file's memo), or that was
-- changed since (a chat correction), cannot be proven and keeps its old fingerprint: it is counted
-- as "unverified", and a new import of its file adds it again.
CREATE FUNCTION stockking.ledger_refingerprint() RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v_checked  integer;
    v_replaced integer;
    v_current  integer;
BEGIN
    LOCK TABLE stockking.ledger_entry IN SHARE ROW EXCLUSIVE MODE;
    WITH cand AS (
        SELECT e.id, x.new_fp, coalesce(x.current, false) AS current
          FROM stockking.ledger_entry e
          LEFT JOIN LATERAL (
              SELECT stockking.ledger_row_fingerprint(e.entry_date, e.kind, e.amount, d.d, o.o) AS new_fp,
                     stockking.ledger_row_fingerprint(e.entry_date, e.kind, e.amount, d.d, o.o) = e.fingerprint AS current
                FROM unnest(ARRAY[e.memo, coalesce(e.merchant, ''), '']) WITH ORDINALITY AS d (d, k),
                     generate_series(1, (SELECT count(*) FROM stockking.ledger_entry s
                                          WHERE s.user_id = e.user_id AND s.entry_date = e.entry_date AND s.kind = e.kind
                                            AND s.amount = e.amount AND s.fingerprint IS NOT NULL)::integer + 2) AS o (o)
               WHERE stockking.ledger_row_fingerprint_v1(e.entry_date, e.kind, e.amount, d.d, o.o) = e.fingerprint
                  OR stockking.ledger_row_fingerprint(e.entry_date, e.kind, e.amount, d.d, o.o) = e.fingerprint
               ORDER BY d.k, o.o LIMIT 1) x ON true
         WHERE e.fingerprint IS NOT NULL),
    upd AS (
        UPDATE stockking.ledger_entry e SET fingerprint = c.new_fp
          FROM cand c
         WHERE e.id = c.id AND c.new_fp IS NOT NULL AND NOT c.current
        RETURNING 1)
    SELECT (SELECT count(*) FROM cand), (SELECT count(*) FROM upd), (SELECT count(*) FROM cand WHERE current)
      INTO v_checked, v_replaced, v_current;
    RETURN jsonb_build_object('checked', v_checked, 'replaced', v_replaced, 'current', v_current,
                              'unverified', v_checked - v_replaced - v_current);
END
$$;
REVOKE ALL ON FUNCTION stockking.ledger_refingerprint() FROM PUBLIC;
COMMENT ON FUNCTION stockking.ledger_refingerprint() IS
$$Upgrade 0.1.0 -> 0.2.0 (and safe to run again): replace every imported entry's 0.1.0 fingerprint by its SHA-256 one,
proven against the old one.  Returns {"checked","replaced","current" (SHA-256 already),"unverified" (kept: the import
did not keep the row's description, or the entry was changed since)}.$$;

-- every fingerprint 0.1.0 made is replaced by its SHA-256 one where it can be proven (see the function)
SELECT stockking.ledger_refingerprint();

-- ===== The api closed to all but stockking_api (sql/99_grants.sql) ========
-- Last: close the api schema to everything but stockking_api (the proxy's
-- role) and the superuser.  Runs after every domain's file.

REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA api FROM PUBLIC;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA api TO stockking_api;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA api TO stockking_definer;
