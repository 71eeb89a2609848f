-- The community board (seed 003 §2.8, §4.1): posts, comments and likes among
-- children, seen by their league or by their season; a Korean profanity
-- filter and a detector of personal data on every text; reports, automatic
-- hiding and an ADMIN moderation queue; rate limits per child; and the
-- profile edit PUT /v1/users/me (nickname through the same filter, avatar,
-- birth year).
--
-- C: extension/profanity.c (the filter), extension/community.c (posting,
-- commenting, reporting, moderating).  Project SQLSTATEs SK401..SK433.
--
-- Audience.  A post is written to the author's league of this week (the
-- default) or to a season the author plays in.  A league post keeps the
-- league it was written in -- week, tier and group -- so when the week's
-- leagues are redrawn it stays with the children who played in that league
-- that week (they still see it, the new league-mates do not).  A season post
-- is seen by every child with an account in the season.  Children never see
-- hidden or deleted posts but their own (marked hidden); parents read their
-- children's posts and comments, hidden ones included, and the comments on
-- their children's posts; ADMIN reads everything.  Row-level security
-- enforces all of it.

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
