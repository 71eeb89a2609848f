-- The community board: posting to a league or a season, who sees what
-- (row-level security), comments, likes, reports and automatic hiding, the
-- ADMIN's moderation and word list, rate limits, and PUT /v1/users/me.
-- A database of its own, made here and dropped at the end.
SET client_min_messages = warning;
SELECT current_database() AS regress_db \gset
DROP DATABASE IF EXISTS regress_sk_community;
CREATE DATABASE regress_sk_community;
\c regress_sk_community
SET client_min_messages = warning;
CREATE EXTENSION pgcrypto;
CREATE EXTENSION stockking;

CREATE FUNCTION public.try(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || regexp_replace(SQLERRM, '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}', '<uuid>', 'g');
END
$$;
-- the api is called by a non-superuser member of stockking_api
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'regress_sk_web') THEN
        CREATE ROLE regress_sk_web LOGIN IN ROLE stockking_api;
    END IF;
END
$$;
-- a trusted SQL client: it states the caller in request.user_id (the proxy's
-- role proves it with a token instead: regress/sql/identity.sql)
DO $$ BEGIN
    IF NOT pg_has_role('regress_sk_web', 'stockking_service', 'MEMBER') THEN
        GRANT stockking_service TO regress_sk_web;
    END IF;
END $$;
GRANT EXECUTE ON FUNCTION public.try(text) TO PUBLIC;
CREATE FUNCTION public.as_user(email text) RETURNS void LANGUAGE sql SECURITY DEFINER AS $$
    SELECT set_config('request.user_id', coalesce((SELECT id::text FROM stockking.users u WHERE u.email = as_user.email), ''), false),
           set_config('request.role', coalesce((SELECT role FROM stockking.users u WHERE u.email = as_user.email), ''), false);
$$;
CREATE FUNCTION public.uid_of(email text) RETURNS uuid LANGUAGE sql SECURITY DEFINER AS $$
    SELECT id FROM stockking.users u WHERE u.email = uid_of.email $$;
CREATE FUNCTION public.signup(email text, role text, nickname text) RETURNS void LANGUAGE sql AS $$
    SELECT api.signup(jsonb_build_object('email', email, 'password', 'correct horse', 'role', role, 'nickname', nickname));
    SELECT NULL::void;
$$;
-- a post or comment as the tests show it: no ids of people, no times
CREATE FUNCTION public.shown(j jsonb) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
    SELECT j - 'created_at' - 'author' - 'comments' || jsonb_build_object('author', j -> 'author' ->> 'nickname') $$;
CREATE FUNCTION public.ids(j jsonb) RETURNS bigint[] LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(array_agg((i ->> 'id')::bigint ORDER BY (i ->> 'id')::bigint), '{}') FROM jsonb_array_elements(j -> 'items') i $$;

SELECT signup('kid.a@example.com', 'CHILD', '민준');
SELECT signup('kid.b@example.com', 'CHILD', '서연');
SELECT signup('kid.c@example.com', 'CHILD', '지호');
SELECT signup('kid.d@example.com', 'CHILD', '하준');
SELECT signup('mom@example.com', 'PARENT', '엄마');
SELECT stockking.create_user('admin@example.com', 'correct horse', 'ADMIN', '관리자') IS NOT NULL AS admin;
SELECT id AS replay FROM stockking.season WHERE code = 'REPLAY-2007' \gset
SELECT id AS krw FROM stockking.season WHERE code = 'KRW-LIVE' \gset
-- mom is kid.a's parent
SELECT as_user('mom@example.com');
SELECT api.link_family(jsonb_build_object('code', (SELECT code FROM stockking.link_code WHERE user_id = uid_of('kid.a@example.com'))))
    IS NOT NULL AS linked;

-- This week's leagues: kid.d plays a tier up, so a league of its own;
-- kid.a, kid.b and kid.c share the Bronze league.
INSERT INTO stockking.league_member (user_id, family_id, tier)
    SELECT id, family_id, 2 FROM stockking.users WHERE email = 'kid.d@example.com';
SELECT run_leagues -> 'assigned' AS assigned FROM stockking.run_leagues();
SELECT u.nickname, a.tier, a.group_no FROM stockking.league_assignment a JOIN stockking.users u ON u.id = a.user_id
 ORDER BY a.tier, u.nickname;
-- kid.e signed up after the draw: no league this week, and plays the replay season too
SELECT signup('kid.e@example.com', 'CHILD', '도윤');
SELECT as_user('kid.e@example.com');
SELECT api.join_season(jsonb_build_object('id', :replay)) ->> 'season_id' = :'replay' AS joined_replay;

SET SESSION AUTHORIZATION regress_sk_web;

-- Posting.  Without an audience a post goes to the child's league of this week.
SELECT as_user('kid.a@example.com');
SELECT shown(api.create_post('{"title": "첫 글", "body": "오늘 삼성전자 샀어요!"}')) - 'league' AS post,
       api.create_post('{"body": "우리 리그 화이팅"}') -> 'league' ->> 'tier_name' AS league;
SELECT shown(api.create_post(jsonb_build_object('body', '시즌 모두 안녕', 'audience', 'season'))) AS season_post;
-- MASK words are stored masked; REFUSE words and personal data refuse the post, and nothing is stored
SELECT r ->> 'body' AS body, r -> 'masked_words' AS masked_words
  FROM api.create_post('{"body": "존나 떨려 내일 시장 열리면"}') r;
SELECT try($$SELECT api.create_post('{"body": "시1발 다 잃었어"}')$$) AS profanity;
SELECT try($$SELECT api.create_post('{"body": "좋아", "title": "ㅅㅂ"}')$$) AS profane_title;
SELECT try($$SELECT api.create_post('{"body": "내 번호 010-1234-5678 연락해"}')$$) AS phone;
SELECT try($$SELECT api.create_post('{"body": "메일 minjun@naver.com"}')$$) AS email;
SELECT try($$SELECT api.create_post('{"body": "우리집 역삼동 123-4"}')$$) AS address;
SELECT try($$SELECT api.create_post('{"body": "계좌 110-123-456789 로 보내"}')$$) AS account;
SELECT try($$SELECT api.create_post('{"body": "900101-1234567"}')$$) AS rrn;
SELECT try($$SELECT api.create_post('{"body": "   "}')$$) AS blank;
SELECT try($$SELECT api.create_post('{}')$$) AS missing;
SELECT try(format('SELECT api.create_post(%L)', jsonb_build_object('body', repeat('가', 1001)))) AS too_long;
SELECT try($$SELECT api.create_post('{"body": "x", "audience": "WORLD"}')$$) AS bad_audience;
SELECT try(format('SELECT api.create_post(%L)', jsonb_build_object('body', 'x', 'audience', 'LEAGUE', 'season_id', :krw)))
    AS season_of_a_league_post;
SELECT try(format('SELECT api.create_post(%L)', jsonb_build_object('body', 'x', 'season_id', :replay))) AS season_not_joined;
-- kid.e: no league this week, so its posts go to the season; asking for the league is refused
SELECT as_user('kid.e@example.com');
-- (its default account, the one joined last, is the replay season's)
SELECT r ->> 'audience' AS audience, r ->> 'season_id' = :'replay' AS replay_season
  FROM api.create_post('{"body": "타임머신 시즌 2008년 폭락 무섭다"}') r;
SELECT try($$SELECT api.create_post('{"body": "x", "audience": "LEAGUE"}')$$) AS no_league;
SELECT shown(api.create_post(jsonb_build_object('body', '리그가 없어서 시즌에 써요', 'season_id', :krw)))
       ->> 'audience' AS audience;
-- only children post; the anonymous are refused
SELECT as_user('mom@example.com');
SELECT try($$SELECT api.create_post('{"body": "엄마도 써볼까"}')$$) AS parent;
SELECT as_user('nobody@example.com');
SELECT try($$SELECT api.create_post('{"body": "x"}')$$) AS anonymous;
RESET SESSION AUTHORIZATION;
SELECT id, audience, season_id = :krw AS default_season, league_tier, body, masked_words, status
  FROM stockking.community_post ORDER BY id;
-- a closed season takes no posts
BEGIN;
UPDATE stockking.season SET status = 'CLOSED' WHERE id = :replay;
SET LOCAL SESSION AUTHORIZATION regress_sk_web;
SELECT as_user('kid.e@example.com');
SELECT try(format('SELECT api.create_post(%L)', jsonb_build_object('body', 'x', 'season_id', :replay))) AS closed;
ROLLBACK;

-- Who sees what.  Posts 1, 2 and 4 are kid.a's league posts (the Bronze
-- league), 3 its season post, 5 and 6 kid.e's season posts (the replay
-- season, the default season).
SET SESSION AUTHORIZATION regress_sk_web;
SELECT e AS reader, ids(api.list_posts('{}')) AS all_posts,
       ids(api.list_posts('{"scope": "league"}')) AS league, ids(api.list_posts('{"scope": "season"}')) AS season
  FROM unnest(ARRAY['kid.a@example.com', 'kid.b@example.com', 'kid.d@example.com', 'kid.e@example.com',
                    'mom@example.com', 'admin@example.com']) e, LATERAL (SELECT as_user(e)) x;
SELECT as_user('kid.e@example.com');
SELECT ids(api.list_posts(jsonb_build_object('scope', 'season', 'season_id', :replay))) AS replay_season;
-- a child of another league cannot open a league post; a parent reads their child's only
SELECT as_user('kid.d@example.com');
SELECT try('SELECT api.get_post(''{"id": 1}'')') AS other_league;
SELECT as_user('kid.a@example.com');
SELECT try('SELECT api.get_post(''{"id": 5}'')') AS other_season;
SELECT as_user('mom@example.com');
SELECT ids(api.list_posts(jsonb_build_object('child_id', uid_of('kid.a@example.com')))) AS childs_posts;
SELECT try(format('SELECT api.list_posts(%L)', jsonb_build_object('child_id', uid_of('kid.b@example.com')))) AS not_her_child;
-- other children show as nickname and avatar; the author's id only to whoever may read the author
SELECT as_user('kid.b@example.com');
SELECT p -> 'author' ->> 'id' IS NULL AS id_hidden, p -> 'author' ->> 'nickname' AS nickname, p -> 'mine' AS mine
  FROM api.get_post('{"id": 1}') p;
SELECT as_user('mom@example.com');
SELECT p -> 'author' ->> 'id' = uid_of('kid.a@example.com')::text AS parent_sees_id FROM api.get_post('{"id": 1}') p;
-- paging: newest first, next_before
SELECT as_user('admin@example.com');
SELECT ids(r) AS page1, r -> 'next_before' AS next_before FROM api.list_posts('{"limit": 4}') r;
SELECT ids(r) AS page2, r -> 'next_before' AS next_before FROM api.list_posts('{"limit": 4, "before": 3}') r;
SELECT try('SELECT api.list_posts(''{"limit": 51}'')') AS limit_too_big, try('SELECT api.list_posts(''{"scope": "world"}'')') AS bad_scope;

-- A league post keeps the league it was written in.  Last week kid.a and
-- kid.b played in a league kid.c had not joined; kid.b's post of last week
-- stays with them, though kid.c shares their league this week.
RESET SESSION AUTHORIZATION;
INSERT INTO stockking.league_assignment (week_start, user_id, family_id, account_id, tier, group_no)
    SELECT stockking.seoul_week(now()) - 7, u.id, u.family_id, u.default_account_id, 1, 7
      FROM stockking.users u WHERE u.email IN ('kid.a@example.com', 'kid.b@example.com');
INSERT INTO stockking.community_post (family_id, user_id, audience, season_id, league_week, league_tier, league_group, body)
    SELECT u.family_id, u.id, 'LEAGUE', :krw, stockking.seoul_week(now()) - 7, 1, 7, '지난주 리그 글'
      FROM stockking.users u WHERE u.email = 'kid.b@example.com';
SET SESSION AUTHORIZATION regress_sk_web;
SELECT e AS reader, 7 = ANY (ids(api.list_posts('{}'))) AS sees_last_weeks_post,
       7 = ANY (ids(api.list_posts('{"scope": "league"}'))) AS in_this_weeks_league
  FROM unnest(ARRAY['kid.a@example.com', 'kid.b@example.com', 'kid.c@example.com']) e, LATERAL (SELECT as_user(e)) x;

-- Comments: on a post the child sees; filtered like posts; the author hears of them
SELECT as_user('kid.b@example.com');
SELECT shown(api.add_comment('{"id": 1, "body": "나도 샀어!"}')) AS comment;
SELECT r ->> 'body' AS body FROM api.add_comment('{"id": 1, "body": "지랄 떨지마 ㅋㅋ"}') r;
SELECT try($$SELECT api.add_comment('{"id": 1, "body": "병신"}')$$) AS refused;
SELECT try($$SELECT api.add_comment('{"id": 1, "body": "내 번호 01012345678"}')$$) AS phone;
SELECT try($$SELECT api.add_comment('{"id": 1}')$$) AS missing, try(format('SELECT api.add_comment(%L)',
       jsonb_build_object('id', 1, 'body', repeat('가', 301)))) AS too_long;
SELECT as_user('kid.d@example.com');
SELECT try($$SELECT api.add_comment('{"id": 1, "body": "안녕"}')$$) AS other_league;
SELECT as_user('kid.a@example.com');
SELECT shown(api.add_comment('{"id": 1, "body": "고마워"}')) ->> 'mine' AS own_comment_on_own_post;
SELECT jsonb_array_length(p -> 'comments') AS comments, p -> 'comment_count' AS comment_count,
       (SELECT array_agg(c ->> 'body' ORDER BY (c ->> 'id')::int) FROM jsonb_array_elements(p -> 'comments') c) AS bodies
  FROM api.get_post('{"id": 1}') p;
-- a parent reads the thread on their child's post, and the child's comments anywhere
SELECT as_user('mom@example.com');
SELECT jsonb_array_length(api.get_post('{"id": 1}') -> 'comments') AS thread_seen_by_parent;
SELECT i ->> 'body' AS body, i -> 'post' ->> 'id' AS post
  FROM jsonb_array_elements(api.list_comments(jsonb_build_object('child_id', uid_of('kid.a@example.com'))) -> 'items') i;
SELECT as_user('kid.b@example.com');
SELECT array_agg(i ->> 'body' ORDER BY i ->> 'id') AS own_comments FROM jsonb_array_elements(api.list_comments('{}') -> 'items') i;

-- Likes: one per child and post, a second changes nothing
SELECT as_user('kid.b@example.com');
SELECT api.like_post('{"id": 1}') AS liked, api.like_post('{"id": 1}') AS again;
SELECT as_user('kid.c@example.com');
SELECT api.like_post('{"id": 1}') -> 'like_count' AS two_likes;
SELECT api.unlike_post('{"id": 1}') AS unliked, api.unlike_post('{"id": 1}') -> 'like_count' AS unlike_again;
SELECT as_user('kid.d@example.com');
SELECT try('SELECT api.like_post(''{"id": 1}'')') AS other_league;
SELECT as_user('mom@example.com');
SELECT try('SELECT api.like_post(''{"id": 1}'')') AS parent;
SELECT as_user('kid.a@example.com');
SELECT p -> 'like_count' AS like_count, p -> 'liked' AS liked_by_me FROM api.get_post('{"id": 1}') p;

-- Reports.  Post 3 (kid.a's season post) is reported by three children:
-- at the third distinct reporter (the default threshold) it is hidden.
SELECT as_user('kid.b@example.com');
SELECT r - 'created_at' AS first_report FROM api.report_post('{"id": 3, "reason": "bullying", "note": "놀려요"}') r;
SELECT try('SELECT api.report_post(''{"id": 3, "reason": "SPAM"}'')') AS again;
SELECT try('SELECT api.report_post(''{"id": 3, "reason": "BORING"}'')') AS bad_reason;
SELECT try('SELECT api.report_post(''{"id": 99, "reason": "SPAM"}'')') AS no_such_post;
SELECT as_user('kid.a@example.com');
SELECT try('SELECT api.report_post(''{"id": 3, "reason": "SPAM"}'')') AS own_post;
SELECT as_user('admin@example.com');
SELECT try('SELECT api.report_post(''{"id": 3, "reason": "SPAM"}'')') AS admin;
SELECT as_user('kid.c@example.com');
SELECT r -> 'target_hidden' AS hidden_after_two FROM api.report_post('{"id": 3, "reason": "BULLYING"}') r;
SELECT as_user('kid.d@example.com');
SELECT r -> 'target_hidden' AS hidden_after_three FROM api.report_post('{"id": 3, "reason": "PROFANITY"}') r;
-- hidden: gone for the audience; the author sees it marked, the parent too; likes and comments stop
SELECT as_user('kid.b@example.com');
SELECT try('SELECT api.get_post(''{"id": 3}'')') AS audience, 3 = ANY (ids(api.list_posts('{}'))) AS listed;
SELECT as_user('kid.a@example.com');
SELECT p ->> 'status' AS status, p -> 'hidden' AS hidden, p ->> 'hidden_by' AS hidden_by FROM api.get_post('{"id": 3}') p;
SELECT try('SELECT api.add_comment(''{"id": 3, "body": "왜?"}'')') AS comment_on_hidden,
       try('SELECT api.like_post(''{"id": 3}'')') AS like_hidden;
SELECT as_user('mom@example.com');
SELECT api.get_post('{"id": 3}') ->> 'status' AS parent_sees;
-- a comment is hidden the same way (kid.b's masked comment 2)
SELECT as_user('kid.a@example.com');
SELECT api.report_comment('{"id": 2, "reason": "PROFANITY"}') -> 'target_hidden' AS hidden_after_one;
SELECT as_user('kid.c@example.com');
SELECT api.report_comment('{"id": 2, "reason": "BULLYING"}') -> 'target_hidden' AS hidden_after_two;
SELECT as_user('mom@example.com');
SELECT r - 'created_at' AS parent_report_hides FROM api.report_comment('{"id": 2, "reason": "PROFANITY"}') r;
SELECT as_user('kid.c@example.com');
SELECT array_agg(c ->> 'id') AS comments_seen FROM jsonb_array_elements(api.get_post('{"id": 1}') -> 'comments') c;
RESET SESSION AUTHORIZATION;
SELECT coalesce(post_id, comment_id) AS target, CASE WHEN post_id IS NULL THEN 'comment' ELSE 'post' END AS kind,
       action, reason, reports, moderator_id IS NULL AS automatic
  FROM stockking.community_moderation ORDER BY id;
SELECT o.event_type, o.audience, u.nickname AS about, o.payload - 'comment_id' AS payload
  FROM stockking.outbox o JOIN stockking.users u ON u.id = o.user_id
 WHERE o.event_type IN ('CommentAdded', 'PostHidden', 'CommentHidden') ORDER BY o.id;

-- Moderation (ADMIN): the queue, then hide, restore, delete, dismiss
SET SESSION AUTHORIZATION regress_sk_web;
SELECT as_user('kid.c@example.com');
SELECT try('SELECT api.moderation_queue(''{}'')') AS child;
SELECT r -> 'target_hidden' AS hidden FROM api.report_post('{"id": 2, "reason": "SPAM"}') r;
SELECT as_user('admin@example.com');
SELECT q -> 'threshold' AS threshold, i ->> 'kind' AS kind, i -> 'id' AS id, i ->> 'status' AS status,
       i ->> 'hidden_by' AS hidden_by, i -> 'author' ->> 'nickname' AS author, i -> 'open_reports' AS open_reports,
       i -> 'reasons' AS reasons
  FROM api.moderation_queue('{}') q, jsonb_array_elements(q -> 'items') i;
SELECT r -> 'post' ->> 'status' AS status, r -> 'reports_resolved' AS resolved
  FROM api.moderate_post('{"id": 3, "action": "RESTORE", "reason": "놀리는 글이 아니에요"}') r;
SELECT try('SELECT api.moderate_post(''{"id": 3, "action": "RESTORE", "reason": "again"}'')') AS restore_again;
SELECT try('SELECT api.moderate_post(''{"id": 3, "action": "BAN", "reason": "x"}'')') AS bad_action,
       try('SELECT api.moderate_post(''{"id": 3, "action": "HIDE"}'')') AS no_reason,
       try('SELECT api.moderate_post(''{"id": 99, "action": "HIDE", "reason": "x"}'')') AS no_such_post;
SELECT r -> 'reports_resolved' AS dismissed FROM api.moderate_post('{"id": 2, "action": "DISMISS", "reason": "괜찮은 글"}') r;
SELECT r -> 'post' ->> 'status' AS status, r -> 'post' ->> 'hidden_by' AS hidden_by
  FROM api.moderate_post('{"id": 4, "action": "HIDE", "reason": "싸움이 나요"}') r;
SELECT r -> 'comment' ->> 'status' AS status FROM api.moderate_comment('{"id": 2, "action": "DELETE", "reason": "욕설"}') r;
SELECT try('SELECT api.moderate_comment(''{"id": 2, "action": "HIDE", "reason": "x"}'')') AS hide_deleted;
SELECT jsonb_array_length(api.moderation_queue('{}') -> 'items') AS open_items,
       jsonb_array_length(api.moderation_queue('{"status": "ALL"}') -> 'items') AS all_items;
SELECT as_user('kid.b@example.com');
SELECT ids(api.list_posts('{}')) AS kid_b_sees_after;
SELECT as_user('mom@example.com');
SELECT try('SELECT api.moderate_post(''{"id": 1, "action": "HIDE", "reason": "x"}'')') AS parent;
RESET SESSION AUTHORIZATION;
SELECT o.event_type, u.nickname AS about, o.payload ->> 'by' AS by, o.payload ->> 'reason' AS reason
  FROM stockking.outbox o JOIN stockking.users u ON u.id = o.user_id
 WHERE o.event_type IN ('PostRestored', 'PostHidden', 'PostDeleted', 'CommentDeleted') ORDER BY o.id;
SELECT CASE WHEN post_id IS NULL THEN 'comment' ELSE 'post' END AS kind, coalesce(post_id, comment_id) AS id, status,
       count(*) AS reports
  FROM stockking.community_report GROUP BY 1, 2, 3 ORDER BY 1 DESC, 2, 3;

-- The author deletes their own post or comment; nobody else can
SET SESSION AUTHORIZATION regress_sk_web;
SELECT as_user('kid.b@example.com');
SELECT try('SELECT api.delete_post(''{"id": 1}'')') AS not_mine;
SELECT api.delete_comment('{"id": 1}') AS deleted_comment;
SELECT as_user('kid.a@example.com');
SELECT api.delete_post('{"id": 2}') AS deleted, try('SELECT api.delete_post(''{"id": 2}'')') AS again;
SELECT try('SELECT api.get_post(''{"id": 2}'')') AS gone;

-- Rate limits, per child: an ADMIN lowers them; over the limit, 429
SELECT as_user('admin@example.com');
SELECT api.community_settings('{}') AS defaults;
SELECT api.update_community_settings('{"posts_per_hour": 2, "comments_per_minute": 1}') AS lowered;
SELECT try('SELECT api.update_community_settings(''{"posts_per_day": 2}'')') AS unknown,
       try('SELECT api.update_community_settings(''{"posts_per_hour": 0}'')') AS zero;
SELECT as_user('kid.c@example.com');
SELECT api.create_post('{"body": "하나"}') IS NOT NULL AS first, api.create_post('{"body": "둘"}') IS NOT NULL AS second;
SELECT regexp_replace(try('SELECT api.create_post(''{"body": "셋"}'')'), '[0-9]+ seconds', 'N seconds') AS third;
SELECT api.add_comment('{"id": 1, "body": "첫 댓글"}') IS NOT NULL AS comment;
SELECT try('SELECT api.add_comment(''{"id": 1, "body": "둘째 댓글"}'')') AS second_comment;
-- the others are not limited by kid.c's posts
SELECT as_user('kid.b@example.com');
SELECT api.create_post('{"body": "나는 괜찮아"}') IS NOT NULL AS other_child;
RESET SESSION AUTHORIZATION;
DO $$
DECLARE
    d text;
    h text;
BEGIN
    PERFORM set_config('request.user_id', uid_of('kid.c@example.com')::text, true),
            set_config('request.role', 'CHILD', true);
    PERFORM api.create_post('{"body": "셋"}');
EXCEPTION WHEN SQLSTATE 'SK420' THEN
    GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL, h = PG_EXCEPTION_HINT;
    RAISE WARNING 'SK420: % %', regexp_replace(d, '\d+', 'N', 'g'), h;
END
$$;
SELECT count(*) AS kid_c_posts FROM stockking.community_post WHERE user_id = uid_of('kid.c@example.com');

-- The word list: an ADMIN adds words (every backend sees them after the commit), never removes built-in ones
SET SESSION AUTHORIZATION regress_sk_web;
SELECT as_user('admin@example.com');
SELECT w ->> 'id' AS word_id, w - 'id' - 'created_at' AS added
  FROM api.add_profanity_word('{"pattern": "[바빠]보멍청이", "action": "MASK", "category": "INSULT"}') w \gset
SELECT :'added' AS added;
SELECT api.filter_text('{"text": "빠보멍청이 같아"}') AS filtered;
SELECT try('SELECT api.add_profanity_word(''{"pattern": "[바빠]보멍청이", "action": "MASK"}'')') AS duplicate,
       try('SELECT api.add_profanity_word(''{"pattern": "[바보", "action": "MASK"}'')') AS malformed,
       try('SELECT api.add_profanity_word(''{"pattern": "바보", "action": "BLOCK"}'')') AS bad_action,
       try('SELECT api.add_profanity_word(''{"pattern": "바보", "action": "ALLOW", "category": "SWEAR"}'')') AS bad_category;
SELECT w ->> 'pattern' AS pattern FROM jsonb_array_elements(api.list_profanity_words('{"action": "MASK"}') -> 'items') w
 WHERE NOT (w ->> 'builtin')::boolean;
SELECT (SELECT count(*) FROM jsonb_array_elements(api.list_profanity_words('{}') -> 'items')) > 100 AS shipped_words;
SELECT api.delete_profanity_word(jsonb_build_object('id', :word_id)) ->> 'deleted' AS deleted;
SELECT api.filter_text('{"text": "빠보멍청이 같아"}') ->> 'verdict' AS after_delete;
SELECT try('SELECT api.delete_profanity_word(''{"id": 1}'')') AS builtin, try('SELECT api.delete_profanity_word(''{"id": 9999}'')') AS missing;
-- an ALLOW entry for a local false positive
SELECT api.add_profanity_word('{"pattern": "시발놈이", "action": "ALLOW"}') ->> 'category' AS category;
SELECT as_user('kid.a@example.com');
SELECT try('SELECT api.add_profanity_word(''{"pattern": "x", "action": "MASK"}'')') AS child;
SELECT api.filter_text('{"text": "시발놈이"}') ->> 'verdict' AS allowed_now, api.filter_text('{"text": "010 1234 5678"}') AS personal;

-- PUT /v1/users/me: nickname (filtered), avatar (one of the app's), birth year; never the role
SELECT as_user('kid.a@example.com');
SELECT extract(year FROM now() AT TIME ZONE 'Asia/Seoul')::integer AS this_year \gset
SELECT r - 'id' - 'family_id' - 'created_at' - 'birth_year' AS me, (r ->> 'birth_year')::integer = :this_year - 10 AS ten_years_old
  FROM api.update_me(jsonb_build_object('nickname', ' 민준이 ', 'avatar', 'tiger', 'birth_year', :this_year - 10)) r;
SELECT api.me('{}') ->> 'avatar' AS avatar_on_me, (api.get_post('{"id": 1}') -> 'author') - 'id' AS author_on_posts;
SELECT try('SELECT api.update_me(''{"nickname": "시발놈"}'')') AS profane,
       try('SELECT api.update_me(''{"nickname": "존나짱"}'')') AS masked_word,
       try('SELECT api.update_me(''{"nickname": "01012345678"}'')') AS phone;
SELECT try('SELECT api.update_me(''{"avatar": "https://example.com/me.png"}'')') AS url_avatar,
       regexp_replace(try(format('SELECT api.update_me(%L)', jsonb_build_object('birth_year', :this_year - 30))),
                      '\d{4} and \d{4}', 'this year - 18 and this year - 5') AS adult_year_for_a_child,
       try('SELECT api.update_me(''{"birth_year": "twenty"}'')') AS not_a_year,
       try('SELECT api.update_me(''{"role": "ADMIN"}'')') AS role,
       try('SELECT api.update_me(''{"role": "CHILD", "nickname": "x"}'')') AS same_role,
       try('SELECT api.update_me(''{"email": "x@example.com"}'')') AS email,
       try('SELECT api.update_me(''{"nickname": ""}'')') AS empty;
SELECT r ->> 'nickname' AS nickname, r -> 'avatar' AS avatar, r -> 'birth_year' AS birth_year
  FROM api.update_me('{"avatar": null, "birth_year": null}') r;
SELECT as_user('mom@example.com');
SELECT (r ->> 'birth_year')::integer = :this_year - 40 AS parent_birth_year
  FROM api.update_me(jsonb_build_object('birth_year', :this_year - 40)) r;
SELECT regexp_replace(try(format('SELECT api.update_me(%L)', jsonb_build_object('birth_year', :this_year - 10))),
                      '\d{4} and \d{4}', 'this year - 100 and this year - 18') AS child_year_for_a_parent;
SELECT as_user('nobody@example.com');
SELECT try('SELECT api.update_me(''{"nickname": "x"}'')') AS anonymous;
RESET SESSION AUTHORIZATION;
SELECT nickname, avatar, :this_year - birth_year AS age, role FROM stockking.users
 WHERE email IN ('kid.a@example.com', 'mom@example.com') ORDER BY email;

-- Every api function of the board is a SECURITY DEFINER owned by
-- stockking_definer, executable by stockking_api and not by PUBLIC, and
-- documented; every route names one.
SELECT p.proname, p.prosecdef, p.proowner::regrole AS owner,
       has_function_privilege('stockking_api', p.oid, 'EXECUTE') AS api_may_execute,
       has_function_privilege('public', p.oid, 'EXECUTE') AS public_may_execute,
       obj_description(p.oid, 'pg_proc') IS NOT NULL AS documented
  FROM pg_proc p
 WHERE p.pronamespace = 'api'::regnamespace
   AND p.proname IN (SELECT fn FROM stockking.route WHERE path LIKE '/v1/community/%' OR path LIKE '/v1/admin/community/%'
                     OR (method = 'PUT' AND path = '/v1/users/me'))
 ORDER BY p.proname;
SELECT method, path, fn, roles, success_status, rate_class FROM stockking.route
 WHERE path LIKE '/v1/community/%' OR path LIKE '/v1/admin/community/%' OR (method = 'PUT' AND path = '/v1/users/me')
 ORDER BY path, method;
SELECT sqlstate, http_status, name FROM stockking.error_code WHERE sqlstate LIKE 'SK4%' ORDER BY sqlstate;

\c :regress_db
DROP DATABASE regress_sk_community;
