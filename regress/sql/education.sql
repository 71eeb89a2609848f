-- Learning: the course loader (strict, all or nothing, mirrored), lessons
-- read in order, quizzes graded in the database with their attempt limit,
-- the reward paid once through the cash ledger, XP, badges and missions,
-- course completion and certificates, the learning streak, the market quiz
-- drawn from real bars, row-level security; every SQLSTATE of the part.
-- A database of its own, as the other suites of this issue.
SET client_min_messages = warning;
SELECT current_database() AS regress_db \gset
DROP DATABASE IF EXISTS regress_sk_education;
CREATE DATABASE regress_sk_education;
\c regress_sk_education
SET client_min_messages = warning;
CREATE EXTENSION pgcrypto;
CREATE EXTENSION stockking;
\getenv datadir STOCKKING_DATA_DIR
SELECT count(*) AS symbols_loaded FROM jsonb_object_keys(stockking.load_market_data(:'datadir'));

CREATE FUNCTION public.try(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || regexp_replace(SQLERRM, '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}', '<uuid>', 'g');
END
$$;
-- the same, with the error's detail (tomorrow's date, Asia/Seoul, shown as such)
CREATE FUNCTION public.try_detail(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    d text;
BEGIN
    EXECUTE q;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL;
    RETURN SQLSTATE || ': ' || SQLERRM || coalesce(' / ' || replace(d, to_char((now() AT TIME ZONE 'Asia/Seoul')::date + 1, 'YYYY-MM-DD'), '<tomorrow in Seoul>'), '');
END
$$;
-- the api is called by a non-superuser member of stockking_api, a trusted SQL
-- client that states the caller in request.user_id
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'regress_sk_web') THEN
        CREATE ROLE regress_sk_web LOGIN IN ROLE stockking_api;
    END IF;
    IF NOT pg_has_role('regress_sk_web', 'stockking_service', 'MEMBER') THEN
        GRANT stockking_service TO regress_sk_web;
    END IF;
END
$$;
GRANT EXECUTE ON FUNCTION public.try(text), public.try_detail(text) TO PUBLIC;
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
-- content look-ups by code, and answers as a grader would need them (the api never shows them before an attempt)
CREATE FUNCTION public.lesson_id(code text) RETURNS integer LANGUAGE sql SECURITY DEFINER AS $$
    SELECT id FROM stockking.lesson l WHERE l.code = lesson_id.code $$;
CREATE FUNCTION public.quiz_id(lesson_code text) RETURNS integer LANGUAGE sql SECURITY DEFINER AS $$
    SELECT q.id FROM stockking.quiz q JOIN stockking.lesson l ON l.id = q.lesson_id WHERE l.code = lesson_code $$;
CREATE FUNCTION public.question_id(lesson_code text, code text) RETURNS integer LANGUAGE sql SECURITY DEFINER AS $$
    SELECT e.id FROM stockking.quiz_question e WHERE e.quiz_id = quiz_id(lesson_code) AND e.code = question_id.code $$;
CREATE FUNCTION public.right_answers(lesson_code text) RETURNS jsonb LANGUAGE sql SECURITY DEFINER AS $$
    SELECT jsonb_agg(jsonb_build_object('question_id', e.id, 'answer',
               CASE e.kind WHEN 'NUMBER' THEN to_jsonb(e.answer_number) WHEN 'SINGLE' THEN to_jsonb(e.answer[1])
                           ELSE to_jsonb(e.answer) END) ORDER BY e.position)
      FROM stockking.quiz_question e WHERE e.quiz_id = quiz_id(lesson_code) AND e.active $$;
-- every answer wrong: the next choice, or the number plus one
CREATE FUNCTION public.wrong_answers(lesson_code text) RETURNS jsonb LANGUAGE sql SECURITY DEFINER AS $$
    SELECT jsonb_agg(jsonb_build_object('question_id', e.id, 'answer',
               CASE e.kind WHEN 'NUMBER' THEN to_jsonb(e.answer_number + 1)
                           WHEN 'SINGLE' THEN to_jsonb(e.answer[1] % cardinality(e.choices) + 1)
                           ELSE to_jsonb(ARRAY[(SELECT min(c) FROM generate_series(1, cardinality(e.choices)) c
                                                WHERE c <> ALL (e.answer))]) END) ORDER BY e.position)
      FROM stockking.quiz_question e WHERE e.quiz_id = quiz_id(lesson_code) AND e.active $$;
-- right answers except the first n questions
CREATE FUNCTION public.mixed_answers(lesson_code text, n integer) RETURNS jsonb LANGUAGE sql SECURITY DEFINER AS $$
    SELECT jsonb_agg(CASE WHEN i <= n THEN w ELSE r END ORDER BY i)
      FROM jsonb_array_elements(right_answers(lesson_code)) WITH ORDINALITY AS a (r, i)
      JOIN jsonb_array_elements(wrong_answers(lesson_code)) WITH ORDINALITY AS b (w, j) ON i = j $$;
CREATE FUNCTION public.course_id(code text) RETURNS integer LANGUAGE sql SECURITY DEFINER AS $$
    SELECT id FROM stockking.course c WHERE c.code = course_id.code $$;
CREATE FUNCTION public.lessons_of(course_code text) RETURNS TABLE (id integer, code text) LANGUAGE sql SECURITY DEFINER AS $$
    SELECT l.id, l.code FROM stockking.lesson l WHERE l.course_id = course_id(course_code) AND l.active ORDER BY l.position $$;
CREATE FUNCTION public.active_lessons() RETURNS SETOF integer LANGUAGE sql SECURITY DEFINER AS $$
    SELECT id FROM stockking.lesson WHERE active ORDER BY id $$;
CREATE FUNCTION public.count_rows(tbl text) RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    n bigint;
BEGIN
    EXECUTE format('SELECT count(*) FROM %s', tbl) INTO n;
    RETURN n;
END
$$;
CREATE FUNCTION public.submit(lesson_code text, answers jsonb) RETURNS jsonb LANGUAGE sql AS $$
    SELECT api.submit_quiz(jsonb_build_object('quiz_id', quiz_id(lesson_code), 'answers', answers)) $$;
CREATE FUNCTION public.events(email text) RETURNS TABLE (event_type text, detail text) LANGUAGE sql SECURITY DEFINER AS $$
    SELECT o.event_type, coalesce(o.payload ->> 'badge', o.payload ->> 'mission', o.payload ->> 'lesson',
                                  o.payload ->> 'course', o.payload ->> 'level')
      FROM stockking.outbox o WHERE o.user_id = uid_of(email)
       AND o.event_type IN ('BadgeEarned', 'MissionCompleted', 'LevelUp', 'LessonRead', 'QuizPassed', 'CourseCompleted')
     ORDER BY o.id $$;
CREATE FUNCTION public.xp(email text) RETURNS TABLE (xp bigint, level int) LANGUAGE sql SECURITY DEFINER AS $$
    SELECT p.xp, p.level FROM stockking.user_progress p WHERE p.user_id = uid_of(email) $$;
CREATE FUNCTION public.ledger(email text) RETURNS TABLE (currency char(3), entry_type text, amount bigint, is_contribution boolean)
    LANGUAGE sql SECURITY DEFINER AS $$
    SELECT a.currency, l.entry_type, l.amount, l.is_contribution
      FROM stockking.cash_ledger l JOIN stockking.account a ON a.id = l.account_id
     WHERE l.user_id = uid_of(email) ORDER BY l.id $$;
-- each account's cash, net contribution and the sum of its ledger (they agree)
CREATE FUNCTION public.accounts(email text) RETURNS TABLE (currency char(3), cash bigint, net_contribution bigint, ledger_sum numeric)
    LANGUAGE sql SECURITY DEFINER AS $$
    SELECT a.currency, a.cash, a.net_contribution, (SELECT sum(l.amount) FROM stockking.cash_ledger l WHERE l.account_id = a.id)
      FROM stockking.account a WHERE a.user_id = uid_of(email) ORDER BY a.id $$;
-- every lesson of a course read and its quiz passed, in order, as the caller
CREATE FUNCTION public.learn_course(course_code text) RETURNS TABLE (lesson text, read boolean, passed boolean)
    LANGUAGE plpgsql AS $$
DECLARE
    l record;
BEGIN
    FOR l IN SELECT * FROM lessons_of(course_code) LOOP
        lesson := l.code;
        read := (api.complete_lesson(jsonb_build_object('id', l.id)) ->> 'first_read')::boolean;
        passed := (submit(l.code, right_answers(l.code)) ->> 'passed')::boolean;
        RETURN NEXT;
    END LOOP;
END
$$;
CREATE FUNCTION public.market_quiz_as(email text, season integer) RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
    PERFORM as_user(email);
    RETURN api.get_market_quiz(jsonb_build_object('season_id', season));
END
$$;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO PUBLIC;
SELECT id AS replay FROM stockking.season WHERE code = 'REPLAY-2007' \gset

--
-- The content: data/education, three courses of five lessons, each with its quiz.
--
SELECT jsonb_pretty(stockking.load_education(:'datadir' || '/education')) AS first_load;
SELECT c.position, c.code, c.title, c.age_min, c.age_max, count(l.id) AS lessons,
       (SELECT count(*) FROM stockking.quiz_question e JOIN stockking.quiz q ON q.id = e.quiz_id
         JOIN stockking.lesson x ON x.id = q.lesson_id WHERE x.course_id = c.id) AS questions
  FROM stockking.course c JOIN stockking.lesson l ON l.course_id = c.id
 GROUP BY c.id ORDER BY c.position;
SELECT c.code AS course, r.code AS requires FROM stockking.course_prerequisite p
  JOIN stockking.course c ON c.id = p.course_id JOIN stockking.course r ON r.id = p.requires_id;
SELECT kind, count(*) FROM stockking.quiz_question GROUP BY kind ORDER BY kind;
-- loading the same files again writes nothing
SELECT stockking.load_education(:'datadir' || '/education') AS second_load;

--
-- Malformed files: SK300 naming the file and the line; nothing is loaded.
--
SELECT '/tmp/stockking_regress_education_' || pg_backend_pid() AS baddir \gset
SELECT format('mkdir -p %s', :'baddir') AS mkdir_cmd, format('rm -rf %s', :'baddir') AS rmdir_cmd,
       format('rm -f %s/*.json', :'baddir') AS clean_cmd \gset
COPY (SELECT 1 WHERE false) TO PROGRAM :'mkdir_cmd';
SELECT count(*) AS rows_before FROM (SELECT code FROM stockking.course UNION ALL SELECT code FROM stockking.lesson
                                     UNION ALL SELECT code FROM stockking.quiz_question) t \gset

-- Write the files (names[i] gets contents[i], its lines joined by newlines; raw:
-- CSV output with a quote and a delimiter that never occur) and load the directory.
CREATE FUNCTION pg_temp.try_load(dir text, names text[], contents text[], encoding text DEFAULT 'UTF8') RETURNS text
    LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('COPY (SELECT 1 WHERE false) TO PROGRAM %L', format('rm -f %s/*.json', dir));
    FOR i IN 1 .. coalesce(array_length(names, 1), 0) LOOP
        EXECUTE format('COPY (SELECT unnest(string_to_array(%L, E''\n''))) TO %L WITH (FORMAT csv, QUOTE %L, DELIMITER %L, ENCODING %L)',
                       contents[i], dir || '/' || names[i], E'\x01', E'\x02', encoding);
    END LOOP;
    RETURN public.try(format('SELECT stockking.load_education(%L)', dir));
END
$$;

CREATE TEMP TABLE mini (line text[]);
INSERT INTO mini VALUES (ARRAY[
    '{',
    '  "code": "mini",',
    '  "title": "작은 강좌",',
    '  "summary": "시험용 강좌",',
    '  "age_min": 8,',
    '  "age_max": 12,',
    '  "position": 9,',
    '  "authors": "regress",',
    '  "prerequisites": [],',
    '  "rewards": {"lesson_xp": 1, "quiz_xp": 2, "quiz_krw": 300, "quiz_usd_cents": 4, "course_xp": 5},',
    '  "lessons": [{',
    '    "code": "mini-1", "title": "하나", "minutes": 1,',
    '    "body": ["문단"],',
    '    "key_points": ["요점"],',
    '    "quiz": {"pass_percent": 60, "max_attempts_per_day": 2, "questions": [',
    '      {"code": "a", "kind": "SINGLE", "prompt": "고르세요", "choices": ["가", "나"], "answer": 2, "explanation": "나예요"},',
    '      {"code": "b", "kind": "MULTIPLE", "prompt": "모두", "choices": ["가", "나", "다"], "answer": [3, 1], "explanation": "가와 다"},',
    '      {"code": "c", "kind": "NUMBER", "prompt": "몇 원?", "answer": 12100, "unit": "원", "explanation": "12,100원"}',
    '    ]}',
    '  }]',
    '}']);

-- line n of the mini course replaced by a bad one
CREATE TEMP TABLE bad_line (no serial, line_no int, line text);
INSERT INTO bad_line (line_no, line) VALUES
    (2, '  "code": "Mini",'),
    (2, '  "code": 7,'),
    (3, '  "title": "",'),
    (3, '  "title": " 작은 강좌",'),
    (4, '  "summary": "줄\n바꿈",'),
    (5, '  "age_min": 4,'),
    (6, '  "age_max": 7,'),
    (7, '  "position": 1.5,'),
    (8, '  "author": "regress",'),
    (9, '  "prerequisites": ["nope"],'),
    (9, '  "prerequisites": ["mini"],'),
    (9, '  "prerequisites": "stock-basics",'),
    (10, '  "rewards": {"lesson_xp": 1, "quiz_krw": 300, "quiz_usd_cents": 4, "course_xp": 5},'),
    (10, '  "rewards": {"lesson_xp": 1, "quiz_xp": 2, "quiz_krw": 300, "quiz_usd_cents": 4, "course_xp": 5, "bonus": 1},'),
    (10, '  "rewards": {"lesson_xp": 1, "quiz_xp": 2, "quiz_krw": 300, "quiz_krw": 4, "course_xp": 5},'),
    (12, '    "code": "mini-1", "title": "하나", "minutes": 0,'),
    (13, '    "body": [],'),
    (13, '    "body": ["문단", ""],'),
    (14, '    "key_points": "요점",'),
    (15, '    "quiz": {"pass_percent": 0, "max_attempts_per_day": 2, "questions": ['),
    (15, '    "quiz": {"pass_percent": 60, "max_attempts_per_day": 2, "questions": [], "extra": ['),
    (16, '      {"code": "a", "kind": "ONE", "prompt": "고르세요", "choices": ["가", "나"], "answer": 2, "explanation": "나예요"},'),
    (16, '      {"code": "a", "kind": "SINGLE", "prompt": "고르세요", "choices": ["가", "나"], "answer": 3, "explanation": "나예요"},'),
    (16, '      {"code": "a", "kind": "SINGLE", "prompt": "고르세요", "choices": ["가", "가"], "answer": 2, "explanation": "나예요"},'),
    (16, '      {"code": "a", "kind": "SINGLE", "prompt": "고르세요", "choices": ["가"], "answer": 1, "explanation": "가예요"},'),
    (16, '      {"code": "a", "kind": "SINGLE", "prompt": "고르세요", "choices": ["가", "나"], "answer": 2, "unit": "개", "explanation": "나예요"},'),
    (16, '      {"code": "a", "kind": "SINGLE", "prompt": "고르세요", "choices": ["가", "나"], "answer": 2},'),
    (16, '      {"code": "b", "kind": "SINGLE", "prompt": "고르세요", "choices": ["가", "나"], "answer": 2, "explanation": "나예요"},'),
    (17, '      {"code": "b", "kind": "MULTIPLE", "prompt": "모두", "choices": ["가", "나", "다"], "answer": [1, 1], "explanation": "가"},'),
    (17, '      {"code": "b", "kind": "MULTIPLE", "prompt": "모두", "choices": ["가", "나", "다"], "answer": 1, "explanation": "가"},'),
    (17, '      {"code": "b", "kind": "MULTIPLE", "prompt": "모두", "choices": ["가", "나", "다"], "answer": [], "explanation": "없음"},'),
    (18, '      {"code": "c", "kind": "NUMBER", "prompt": "몇 원?", "choices": ["1", "2"], "answer": 12100, "explanation": "12,100원"}'),
    (18, '      {"code": "c", "kind": "NUMBER", "prompt": "몇 원?", "answer": 12100.5, "explanation": "12,100원"}'),
    (18, '      {"code": "c", "kind": "NUMBER", "prompt": "몇 원?", "answer": "12100", "explanation": "12,100원"}'),
    (18, '      {"code": "c", "kind": "NUMBER", "prompt": "몇 원?", "answer": 12100, "explanation": "12,100원"},'),
    (18, '      {"code": "c", "code": "d", "kind": "NUMBER", "prompt": "몇 원?", "answer": 12100, "explanation": "12,100원"}'),
    (18, '      {"code": "c", "kind": "NUMBER", "prompt": "몇 원?", "answer": 12100, "explanation": "12,100원"');
SELECT b.no, b.line_no, pg_temp.try_load(:'baddir', ARRAY['50-mini.json'],
                                         ARRAY[array_to_string(m.line[1:b.line_no - 1] || b.line || m.line[b.line_no + 1:], E'\n')]) AS error
  FROM bad_line b, mini m ORDER BY b.no;

-- whole files: bytes that are not UTF-8 (line 3 written in Latin-1), not an object, empty, no files at all
SELECT pg_temp.try_load(:'baddir', ARRAY['50-mini.json'], ARRAY[E'{\n  "code": "mini",\n  "title": "café",\n}'], 'LATIN1');
SELECT pg_temp.try_load(:'baddir', ARRAY['50-mini.json'], ARRAY['[1, 2]']);
SELECT pg_temp.try_load(:'baddir', ARRAY['50-mini.json'], ARRAY['']);
SELECT replace(pg_temp.try_load(:'baddir', '{}', '{}'), :'baddir', '<dir>') AS empty_dir;
-- across files: a course code twice, a lesson code twice, prerequisites in a cycle
SELECT pg_temp.try_load(:'baddir', ARRAY['50-mini.json', '51-mini.json'],
                        ARRAY[array_to_string(m.line, E'\n'), array_to_string(m.line, E'\n')]) FROM mini m;
SELECT pg_temp.try_load(:'baddir', ARRAY['50-mini.json', '51-mini.json'],
                        ARRAY[array_to_string(m.line, E'\n'), array_to_string(m.line[1:1] || '  "code": "mini-two",'::text || m.line[3:], E'\n')])
  FROM mini m;
SELECT pg_temp.try_load(:'baddir', ARRAY['50-mini.json', '51-mini.json'],
                        ARRAY[array_to_string(m.line[1:8] || '  "prerequisites": ["mini-two"],'::text || m.line[10:], E'\n'),
                              array_to_string(m.line[1:1] || '  "code": "mini-two",'::text || m.line[3:8]
                                              || '  "prerequisites": ["mini"],'::text || m.line[10:11]
                                              || '    "code": "mini-2", "title": "둘", "minutes": 1,'::text || m.line[13:], E'\n')])
  FROM mini m;
-- the loader's other refusals
SELECT try($$SELECT stockking.load_education('relative/dir')$$);
SELECT try($$SELECT stockking.load_education('/nonexistent/stockking-education')$$);
SET ROLE stockking_api;
SELECT try(format('SELECT stockking.load_education(%L)', :'datadir' || '/education'));
RESET ROLE;
-- none of it changed the content
SELECT count(*) = :rows_before AS unchanged
  FROM (SELECT code FROM stockking.course UNION ALL SELECT code FROM stockking.lesson
        UNION ALL SELECT code FROM stockking.quiz_question) t;

-- The good mini course loads next to the shipped ones (all files of a directory are the load).
SELECT format('cp %s/education/*.json %s/', :'datadir', :'baddir') AS copy_cmd, :'baddir' || '/50-mini.json' AS mini_path \gset
COPY (SELECT 1 WHERE false) TO PROGRAM :'clean_cmd';
COPY (SELECT 1 WHERE false) TO PROGRAM :'copy_cmd';
COPY (SELECT unnest(line) FROM mini) TO :'mini_path' WITH (FORMAT csv, QUOTE E'\x01', DELIMITER E'\x02');
SELECT (r -> 'files') AS files, r -> 'courses' AS courses, r -> 'lessons' AS lessons, r -> 'questions' AS questions
  FROM stockking.load_education(:'baddir') r;
SELECT code, kind, choices, answer, answer_number, unit FROM stockking.quiz_question
 WHERE quiz_id = quiz_id('mini-1') ORDER BY position;

--
-- Families: a child and a parent linked; another family's child and parent.
--
SELECT signup('kid@example.com', 'CHILD', '민준');
SELECT signup('mom@example.com', 'PARENT', '엄마');
SELECT signup('other@example.com', 'CHILD', '서연');
SELECT signup('otherdad@example.com', 'PARENT', '아빠');
SELECT code AS kid_code FROM stockking.link_code WHERE user_id = uid_of('kid@example.com') \gset
SELECT code AS other_code FROM stockking.link_code WHERE user_id = uid_of('other@example.com') \gset

SET SESSION AUTHORIZATION regress_sk_web;
SELECT as_user('mom@example.com');
SELECT jsonb_array_length(api.link_family(jsonb_build_object('code', :'kid_code')) -> 'members') AS family;
SELECT as_user('otherdad@example.com');
SELECT jsonb_array_length(api.link_family(jsonb_build_object('code', :'other_code')) -> 'members') AS family;

-- the catalogue: in order, with the age band and the state of the caller
SELECT as_user('kid@example.com');
SELECT c ->> 'code' AS code, c -> 'age_min' AS age_min, c -> 'age_max' AS age_max, c -> 'lessons' AS lessons,
       c -> 'minutes' AS minutes, c -> 'locked' AS locked, c -> 'prerequisites' -> 0 ->> 'code' AS requires,
       c -> 'progress' -> 'percent' AS percent, c -> 'rewards' AS rewards
  FROM jsonb_array_elements(api.list_courses('{}') -> 'items') c;
SELECT jsonb_path_query_array(api.list_courses('{"age": 9}'), '$.items[*].code') AS for_age_9,
       jsonb_path_query_array(api.list_courses('{"age": "12"}'), '$.items[*].code') AS for_age_12;
SELECT try($$SELECT api.list_courses('{"age": 4}')$$);
SELECT try($$SELECT api.list_courses('{"age": "nine"}')$$);
-- with a birth year on the profile the catalogue says which courses suit the child (9 this year)
SELECT api.update_me(jsonb_build_object('birth_year', extract(year FROM now() AT TIME ZONE 'Asia/Seoul')::int - 9)) IS NOT NULL
    AS birth_year_set;
SELECT r -> 'age' AS age, jsonb_path_query_array(r, '$.items[*].code') AS codes,
       jsonb_path_query_array(r, '$.items[*].suits_age') AS suits_age
  FROM api.list_courses('{}') r;
SELECT r ->> 'code' AS code, jsonb_path_query_array(r, '$.lessons[*].code') AS lessons,
       jsonb_path_query_array(r, '$.lessons[*].locked') AS locked, jsonb_path_query_array(r, '$.lessons[*].questions') AS questions
  FROM api.get_course(jsonb_build_object('id', course_id('stock-basics'))) r;
SELECT try($$SELECT api.get_course('{"id": 999}')$$);

-- a lesson to read: paragraphs, key points and the quiz's questions, never their answers
SELECT r ->> 'title' AS title, jsonb_array_length(r -> 'body') AS paragraphs, r -> 'key_points' -> 0 AS first_point,
       r -> 'course' ->> 'code' AS course, r ->> 'previous_lesson_id' IS NULL AS first, r -> 'lock' AS lock,
       r -> 'quiz' -> 'pass_percent' AS pass_percent, r -> 'quiz' -> 'attempts_left_today' AS attempts_left
  FROM api.get_lesson(jsonb_build_object('id', lesson_id('saving-1-why'))) r;
SELECT q ->> 'kind' AS kind, q ->> 'prompt' AS prompt, q -> 'choices' AS choices, q -> 'unit' AS unit
  FROM jsonb_array_elements(api.get_lesson(jsonb_build_object('id', lesson_id('saving-1-why'))) -> 'quiz' -> 'questions') q;
SELECT count(*) AS lessons, count(*) FILTER (WHERE api.get_lesson(jsonb_build_object('id', l))::text ~ '"(answer|answer_number|explanation|right_answer)"')
       AS showing_answers
  FROM active_lessons() l;
SELECT api.get_lesson(jsonb_build_object('id', lesson_id('saving-2-interest'))) -> 'lock' AS lock_of_lesson_2;
SELECT api.get_lesson(jsonb_build_object('id', lesson_id('risk-1-what-is-risk'))) -> 'lock' AS lock_of_risk_course;
SELECT try($$SELECT api.get_lesson('{"id": 0}')$$);
SELECT try($$SELECT api.get_lesson('{"id": "x"}')$$);

--
-- Reading in order (SK301, SK302), quizzes after reading (SK303).
--
SELECT try(format('SELECT api.complete_lesson(%L)', jsonb_build_object('id', lesson_id('saving-2-interest'))));
SELECT try(format('SELECT api.complete_lesson(%L)', jsonb_build_object('id', lesson_id('risk-1-what-is-risk'))));
SELECT try($$SELECT submit('saving-1-why', right_answers('saving-1-why'))$$);
SELECT try($$SELECT api.complete_lesson('{"id": 99999}')$$);
SELECT try($$SELECT api.complete_lesson('{}')$$);
-- refused calls recorded nothing: not even a started course
SELECT api.education_progress('{}') -> 'courses' -> 2 -> 'started_at' AS saving_started;

-- the first read: lesson XP (1 x 10), badge FIRST_LESSON (30), daily mission DAILY_LESSON (20), a learning day
SELECT r -> 'first_read' AS first_read, r -> 'xp_earned' AS xp_earned, r -> 'course_progress' -> 'percent' AS percent,
       r -> 'course_progress' -> 'lessons_read' AS lessons_read, r -> 'streak' -> 'current_days' AS streak,
       r -> 'next_lesson_id' = to_jsonb(lesson_id('saving-2-interest')) AS next_is_lesson_2
  FROM api.complete_lesson(jsonb_build_object('id', lesson_id('saving-1-why'))) r;
-- reading again changes nothing
SELECT r -> 'first_read' AS first_read, r -> 'xp_earned' AS xp_earned
  FROM api.complete_lesson(jsonb_build_object('id', lesson_id('saving-1-why'))) r;
SELECT * FROM xp('kid@example.com');
SELECT * FROM events('kid@example.com');
SELECT m ->> 'code' AS mission, m -> 'progress' AS progress, m -> 'completed' AS completed
  FROM jsonb_array_elements(api.list_daily_missions('{}') -> 'items') m;
-- reading lesson 1 does not open lesson 2: its quiz must be passed
SELECT try(format('SELECT api.complete_lesson(%L)', jsonb_build_object('id', lesson_id('saving-2-interest'))));

--
-- Quiz answers are checked before anything is recorded (22023).
--
SELECT try($$SELECT api.submit_quiz('{"answers": []}')$$);
SELECT try($$SELECT api.submit_quiz('{"quiz_id": 99999, "answers": []}')$$);
SELECT try(format('SELECT api.submit_quiz(%L)', jsonb_build_object('quiz_id', quiz_id('saving-1-why'))));
SELECT try(format('SELECT api.submit_quiz(%L)', jsonb_build_object('quiz_id', quiz_id('saving-1-why'), 'answers', '{}'::jsonb)));
SELECT try($$SELECT submit('saving-1-why', right_answers('saving-1-why') - 0)$$);
SELECT try($$SELECT submit('saving-1-why', right_answers('saving-1-why') || right_answers('saving-1-why') -> 0)$$);
SELECT try($$SELECT submit('saving-1-why', right_answers('saving-1-why') || jsonb_build_object('question_id', question_id('saving-2-interest', 'principal'), 'answer', 1))$$);
SELECT try($$SELECT submit('saving-1-why', '[1, 2, 3]')$$);
SELECT try($$SELECT submit('saving-1-why', jsonb_set(right_answers('saving-1-why'), '{1,answer}', '5'))$$);
SELECT try($$SELECT submit('saving-1-why', jsonb_set(right_answers('saving-1-why'), '{1,answer}', '[1]'))$$);
SELECT try($$SELECT submit('saving-1-why', jsonb_set(right_answers('saving-1-why'), '{0,answer}', '"six"'))$$);
SELECT try($$SELECT submit('saving-1-why', jsonb_set(right_answers('saving-1-why'), '{0,answer}', '6.5'))$$);
SELECT try($$SELECT submit('saving-1-why', jsonb_set(right_answers('saving-1-why'), '{0,answer}', 'null'))$$);
SELECT try($$SELECT submit('saving-1-why', jsonb_set(right_answers('saving-1-why'), '{0,question_id}', '"x"'))$$);
SELECT count_rows('stockking.quiz_attempt') AS attempts_recorded;

--
-- Grading: a failed attempt shows which answers were wrong, not the right ones.
--
SELECT r -> 'attempt' AS attempt, r -> 'score' AS score, r -> 'passed' AS passed, r -> 'answers_revealed' AS revealed,
       r -> 'attempts_left_today' AS left_today, jsonb_path_query_array(r, '$.questions[*].correct') AS correct,
       r::text ~ '"right_answer"' AS shows_answers, r -> 'reward' AS reward, r -> 'xp_earned' AS xp
  FROM submit('saving-1-why', wrong_answers('saving-1-why')) r;
-- 1 of 3 right: 33% < 60%
SELECT r -> 'score' AS score, r -> 'passed' AS passed, r -> 'answers_revealed' AS revealed,
       jsonb_path_query_array(r, '$.questions[*].correct') AS correct
  FROM submit('saving-1-why', mixed_answers('saving-1-why', 2)) r;
-- the third attempt of the day is the last: it shows the right answers and explanations
SELECT r -> 'attempt' AS attempt, r -> 'passed' AS passed, r -> 'answers_revealed' AS revealed, r -> 'attempts_left_today' AS left_today,
       jsonb_path_query_array(r, '$.questions[*].right_answer') AS right_answers,
       r -> 'questions' -> 0 ->> 'explanation' AS explanation
  FROM submit('saving-1-why', wrong_answers('saving-1-why')) r;
SELECT try_detail($$SELECT submit('saving-1-why', right_answers('saving-1-why'))$$) AS fourth_today;
SELECT r -> 'quiz' -> 'attempts' AS attempts, r -> 'quiz' -> 'attempts_today' AS today, r -> 'quiz' -> 'attempts_left_today' AS left_today,
       r -> 'quiz' -> 'best_correct' AS best
  FROM api.get_lesson(jsonb_build_object('id', lesson_id('saving-1-why'))) r;
-- a new Asia/Seoul day: the attempts count against the day they were made on
RESET SESSION AUTHORIZATION;
UPDATE stockking.quiz_attempt SET seoul_day = seoul_day - 1;
SET SESSION AUTHORIZATION regress_sk_web;
SELECT as_user('kid@example.com');
-- 2 of 3 right passes (67% >= 60%): quiz XP 30, badge FIRST_QUIZ_PASSED 50, the lesson completed; 2,000 won once
SELECT r -> 'attempt' AS attempt, r -> 'score' AS score, r -> 'passed' AS passed, r -> 'answers_revealed' AS revealed,
       r -> 'attempts_left_today' AS left_today, (r -> 'reward') - 'account_id' AS reward, r -> 'xp_earned' AS xp,
       r -> 'lesson' -> 'completed_at' IS NOT NULL AS lesson_completed, r -> 'course_progress' -> 'percent' AS percent,
       r -> 'certificate' AS certificate
  FROM submit('saving-1-why', mixed_answers('saving-1-why', 1)) r;
SELECT * FROM ledger('kid@example.com');
SELECT * FROM accounts('kid@example.com');
SELECT try($$SELECT submit('saving-1-why', right_answers('saving-1-why'))$$) AS again;
SELECT * FROM events('kid@example.com');
SELECT r -> 'quiz' -> 'attempts_left_today' AS left_today, r -> 'quiz' -> 'passed_at' IS NOT NULL AS passed,
       r -> 'progress' -> 'completed_at' IS NOT NULL AS completed
  FROM api.get_lesson(jsonb_build_object('id', lesson_id('saving-1-why'))) r;

-- the next lessons open one by one; a full score earns PERFECT_QUIZ once
SELECT api.complete_lesson(jsonb_build_object('id', lesson_id('saving-2-interest'))) -> 'xp_earned' AS xp;
SELECT r -> 'score' AS score, r -> 'xp_earned' AS xp FROM submit('saving-2-interest', right_answers('saving-2-interest')) r;
SELECT b ->> 'code' AS badge FROM jsonb_array_elements(api.list_badges('{}') -> 'items') b WHERE (b ->> 'earned')::boolean;
-- a reward goes to the account named by season_id: the replay season's USD account gets 2.00 dollars
SELECT (api.join_season(jsonb_build_object('id', :replay)) ->> 'currency') AS joined;
SELECT api.complete_lesson(jsonb_build_object('id', lesson_id('saving-3-compound'))) -> 'first_read' AS read;
SELECT (r -> 'reward') - 'account_id' AS reward
  FROM api.submit_quiz(jsonb_build_object('quiz_id', quiz_id('saving-3-compound'), 'answers', right_answers('saving-3-compound'),
                                          'season_id', :replay)) r;
SELECT * FROM ledger('kid@example.com');
SELECT * FROM accounts('kid@example.com');
-- a NUMBER answer may group digits in threes with commas ("12,100"); "1,2," and "1,2" are no numbers
SELECT api.complete_lesson(jsonb_build_object('id', lesson_id('saving-4-rule-of-72'))) -> 'first_read' AS read;
SELECT try($$SELECT submit('saving-4-rule-of-72', jsonb_set(right_answers('saving-4-rule-of-72'), '{0,answer}', '"1,2,"'))$$);
SELECT try($$SELECT submit('saving-4-rule-of-72', jsonb_set(right_answers('saving-4-rule-of-72'), '{0,answer}', '"1,2"'))$$);
SELECT r -> 'score' AS score, r -> 'questions' -> 0 -> 'your_answer' AS stored_as
  FROM submit('saving-4-rule-of-72', jsonb_set(right_answers('saving-4-rule-of-72'), '{0,answer}', '"12"')) r;

-- The last lesson completes the course: certificate, course XP 200, badge FIRST_CERTIFICATE, CourseCompleted
SELECT api.complete_lesson(jsonb_build_object('id', lesson_id('saving-5-start-early'))) -> 'course_progress' -> 'percent' AS percent;
SELECT r -> 'passed' AS passed, r -> 'xp_earned' AS xp, (r -> 'course_progress') - 'started_at' - 'completed_at' AS progress,
       r -> 'certificate' ->> 'nickname' AS nickname, r -> 'certificate' -> 'course' ->> 'code' AS course,
       r -> 'certificate' ->> 'issued_on' = to_char(now() AT TIME ZONE 'Asia/Seoul', 'YYYY-MM-DD') AS issued_today
  FROM submit('saving-5-start-early', right_answers('saving-5-start-early')) r;
SELECT * FROM xp('kid@example.com');
SELECT event_type, detail FROM events('kid@example.com') WHERE event_type IN ('CourseCompleted', 'LevelUp');
SELECT api.list_certificates('{}') -> 'items' -> 0 ->> 'id' AS cert_id \gset
SELECT r ->> 'code' AS course, r -> 'certificate_id' = to_jsonb(:'cert_id'::text) AS certificate,
       r -> 'progress' -> 'percent' AS percent
  FROM jsonb_array_elements(api.list_courses('{}') -> 'items') r WHERE r ->> 'code' = 'saving-and-compound-interest';

-- Anyone checks a certificate by its id: nickname, course and date, nothing else of the child
SELECT set_config('request.user_id', '', false), set_config('request.role', '', false);
SELECT r - 'id' - 'issued_at' - 'issued_on' AS certificate, r ->> 'id' = :'cert_id' AS same_id
  FROM api.verify_certificate(jsonb_build_object('id', :'cert_id')) r;
SELECT jsonb_object_keys(api.verify_certificate(jsonb_build_object('id', :'cert_id'))) AS shown ORDER BY 1;
SELECT try($$SELECT api.verify_certificate('{"id": "00000000-0000-0000-0000-000000000000"}')$$);
SELECT try($$SELECT api.verify_certificate('{"id": "SK-1"}')$$);
SELECT try($$SELECT api.list_courses('{}')$$) AS anonymous_list;

-- the prerequisite: the risk course opens after stock-basics is completed
SELECT as_user('kid@example.com');
SELECT try(format('SELECT api.complete_lesson(%L)', jsonb_build_object('id', lesson_id('risk-1-what-is-risk'))));
SELECT * FROM learn_course('stock-basics');
SELECT api.complete_lesson(jsonb_build_object('id', lesson_id('risk-1-what-is-risk'))) -> 'first_read' AS risk_opens;

-- MULTIPLE is right only for exactly the right set
SELECT api.complete_lesson(jsonb_build_object('id', lesson_id('mini-1'))) -> 'first_read' AS read;
SELECT r -> 'score' AS score, jsonb_path_query_array(r, '$.questions[*].correct') AS correct
  FROM submit('mini-1', jsonb_build_array(jsonb_build_object('question_id', question_id('mini-1', 'a'), 'answer', 1),
                                          jsonb_build_object('question_id', question_id('mini-1', 'b'), 'answer', '[1]'::jsonb),
                                          jsonb_build_object('question_id', question_id('mini-1', 'c'), 'answer', '12,100'))) r;
SELECT try($$SELECT submit('mini-1', jsonb_build_array(jsonb_build_object('question_id', question_id('mini-1', 'a'), 'answer', 2),
                                          jsonb_build_object('question_id', question_id('mini-1', 'b'), 'answer', '[1, 1]'::jsonb),
                                          jsonb_build_object('question_id', question_id('mini-1', 'c'), 'answer', 12100)))$$);
SELECT r -> 'score' AS score, jsonb_path_query_array(r, '$.questions[*].correct') AS correct, (r -> 'reward') - 'account_id' AS reward
  FROM submit('mini-1', jsonb_build_array(jsonb_build_object('question_id', question_id('mini-1', 'b'), 'answer', '[3, 1]'::jsonb),
                                          jsonb_build_object('question_id', question_id('mini-1', 'a'), 'answer', '"2"'::jsonb),
                                          jsonb_build_object('question_id', question_id('mini-1', 'c'), 'answer', 12099))) r;

-- the progress at a glance
SELECT r -> 'nickname' AS nickname, r -> 'xp' AS xp, r -> 'level' AS level, r -> 'lessons_read' AS lessons_read,
       r -> 'quizzes_passed' AS quizzes_passed, r -> 'quiz_attempts' AS attempts,
       jsonb_path_query_array(r, '$.courses[*].percent') AS percents, jsonb_array_length(r -> 'certificates') AS certificates
  FROM api.education_progress('{}') r;

--
-- Row-level security: a parent sees a child of the family, nobody else does.
--
SELECT as_user('mom@example.com');
SELECT r -> 'nickname' AS nickname, r -> 'quizzes_passed' AS quizzes_passed, jsonb_array_length(r -> 'certificates') AS certificates
  FROM api.education_progress(jsonb_build_object('child_id', uid_of('kid@example.com'))) r;
SELECT jsonb_array_length(api.list_certificates(jsonb_build_object('child_id', uid_of('kid@example.com'))) -> 'items') AS certificates;
SELECT api.get_lesson(jsonb_build_object('id', lesson_id('saving-1-why'), 'child_id', uid_of('kid@example.com'))) -> 'quiz' -> 'attempts' AS kids_attempts;
SELECT n ->> 'type' AS parent_hears, count(*) FROM jsonb_array_elements(api.list_notifications('{"after": 0, "limit": 200}') -> 'items') n
 WHERE n ->> 'type' IN ('LessonRead', 'QuizPassed', 'CourseCompleted') GROUP BY 1 ORDER BY 1;
SELECT try(format('SELECT api.education_progress(%L)', jsonb_build_object('child_id', uid_of('other@example.com'))));
SELECT try(format('SELECT api.submit_quiz(%L)', jsonb_build_object('quiz_id', quiz_id('saving-1-why'), 'answers', right_answers('saving-1-why'))));
SELECT try(format('SELECT api.complete_lesson(%L)', jsonb_build_object('id', lesson_id('saving-1-why'))));
SELECT as_user('otherdad@example.com');
SELECT try(format('SELECT api.education_progress(%L)', jsonb_build_object('child_id', uid_of('kid@example.com'))));
SELECT try(format('SELECT api.list_certificates(%L)', jsonb_build_object('child_id', uid_of('kid@example.com'))));
SELECT as_user('other@example.com');
SELECT try(format('SELECT api.education_progress(%L)', jsonb_build_object('child_id', uid_of('kid@example.com'))));
SELECT r -> 'lessons_read' AS lessons_read, r -> 'certificates' AS certificates, r -> 'streak' -> 'current_days' AS streak
  FROM api.education_progress('{}') r;
-- through the tables themselves, with the api role's privileges in a trusted session that is
-- not a superuser's (a superuser session counts as ADMIN): only the rows the caller may see
RESET SESSION AUTHORIZATION;
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'regress_sk_reader') THEN
        CREATE ROLE regress_sk_reader NOLOGIN IN ROLE stockking_definer;
    END IF;
    IF NOT pg_has_role('regress_sk_reader', 'stockking_service', 'MEMBER') THEN
        GRANT stockking_service TO regress_sk_reader;
    END IF;
END
$$;
SET SESSION AUTHORIZATION regress_sk_reader;
SELECT as_user('other@example.com');
SELECT (SELECT count(*) FROM stockking.lesson_progress) AS lessons, (SELECT count(*) FROM stockking.quiz_attempt) AS attempts,
       (SELECT count(*) FROM stockking.certificate) AS certificates, (SELECT count(*) FROM stockking.course_progress) AS courses;
SELECT as_user('mom@example.com');
SELECT (SELECT count(*) FROM stockking.lesson_progress) > 0 AS parent_reads_child, (SELECT count(*) FROM stockking.certificate) AS certificates;
SELECT try($$UPDATE stockking.quiz_result SET attempts = 0$$) AS parent_writes,
       (SELECT count(*) FROM stockking.quiz_result WHERE attempts = 0) AS rows_changed;
SELECT try($$INSERT INTO stockking.certificate (user_id, family_id, course_id, holder_nickname)
             SELECT user_id, family_id, course_id, 'x' FROM stockking.course_progress LIMIT 1$$) AS parent_forges;
SELECT as_user('kid@example.com');
SELECT (SELECT count(*) FROM stockking.lesson_progress) AS own_lessons, (SELECT count(*) FROM stockking.learning_streak) AS streaks;
RESET SESSION AUTHORIZATION;

--
-- The learning streak: consecutive Asia/Seoul days.
--
SELECT last_day, cur, best, d AS day, (stockking.learning_streak_next(last_day, cur, best, d)).*
  FROM (VALUES (NULL::date, 0, 0, date '2026-03-02'), ('2026-03-02', 1, 1, '2026-03-02'), ('2026-03-02', 1, 1, '2026-03-03'),
               ('2026-03-03', 2, 4, '2026-03-05'), ('2026-03-05', 1, 4, '2026-03-06'), ('2026-02-28', 6, 6, '2026-03-01')) v (last_day, cur, best, d);
-- the kid last learned yesterday, on a run of six: learning today makes seven and earns LEARNING_STREAK_7
UPDATE stockking.learning_streak SET last_day = stockking.seoul_day(now()) - 1, current_days = 6, longest_days = 6
 WHERE user_id = uid_of('kid@example.com');
-- the other child missed yesterday: the run starts again
INSERT INTO stockking.learning_streak (user_id, family_id, current_days, longest_days, last_day)
SELECT id, family_id, 5, 9, stockking.seoul_day(now()) - 2 FROM stockking.users WHERE email = 'other@example.com';
SET SESSION AUTHORIZATION regress_sk_web;
SELECT as_user('kid@example.com');
SELECT (api.education_progress('{}') -> 'streak') - 'last_day' AS before_today;
SELECT (api.complete_lesson(jsonb_build_object('id', lesson_id('saving-1-why'))) -> 'streak') - 'last_day' AS reread_is_no_learning_day;
SELECT r -> 'score' AS score, (r -> 'streak') - 'last_day' AS streak
  FROM submit('risk-1-what-is-risk', right_answers('risk-1-what-is-risk')) r;
SELECT detail FROM events('kid@example.com') WHERE detail = 'LEARNING_STREAK_7';
SELECT as_user('other@example.com');
SELECT (api.education_progress('{}') -> 'streak') - 'last_day' AS lapsed;
SELECT (api.complete_lesson(jsonb_build_object('id', lesson_id('saving-1-why'))) -> 'streak') - 'last_day' AS restarted;

-- the weekly mission: three quizzes passed this week
SELECT as_user('kid@example.com');
SELECT m ->> 'code' AS mission, m -> 'progress' AS progress, m -> 'target' AS target, m -> 'completed' AS completed
  FROM jsonb_array_elements(api.list_weekly_missions('{}') -> 'items') m WHERE m ->> 'code' = 'WEEKLY_QUIZ_THREE';

--
-- Content retired: a course no longer in the files is hidden, its progress kept.
--
RESET SESSION AUTHORIZATION;
SELECT stockking.load_education(:'datadir' || '/education') -> 'courses' AS without_mini;
SELECT code, active FROM stockking.course WHERE code = 'mini';
SELECT count(*) AS mini_progress_kept FROM stockking.lesson_progress WHERE lesson_id = lesson_id('mini-1');
SET SESSION AUTHORIZATION regress_sk_web;
SELECT as_user('kid@example.com');
SELECT jsonb_path_query_array(api.list_courses('{}'), '$.items[*].code') AS listed;
SELECT try(format('SELECT api.get_lesson(%L)', jsonb_build_object('id', lesson_id('mini-1'))));
SELECT try(format('SELECT api.submit_quiz(%L)', jsonb_build_object('quiz_id', quiz_id('mini-1'), 'answers', '[]'::jsonb)));
RESET SESSION AUTHORIZATION;
COPY (SELECT 1 WHERE false) TO PROGRAM :'rmdir_cmd';

--
-- The market quiz: one question per child, season and clock date, from the bars before the clock.
--
INSERT INTO stockking.family (id) VALUES ('00000000-0000-0000-0000-0000000000e1');
INSERT INTO stockking.users (id, family_id, email, password_hash, role, nickname)
SELECT ('00000000-0000-0000-0000-0000000000' || lpad(n::text, 2, '0'))::uuid, '00000000-0000-0000-0000-0000000000e1',
       'mq' || n || '@example.com', 'x', 'CHILD', 'mq' || n
  FROM generate_series(1, 6) n;
SELECT stockking.open_account(u.id, s.id) IS NOT NULL AS opened
  FROM stockking.users u, stockking.season s WHERE u.email LIKE 'mq%' AND s.code = 'REPLAY-2007' ORDER BY u.email;
SELECT stockking.create_season('REPLAY-2000', 'Time machine: January 2000', 'REPLAY', 'USD', 1000000, 'SP500', DATE '2000-01-03') AS early_season \gset
SELECT stockking.open_account(uid_of('mq1@example.com'), :early_season) IS NOT NULL AS opened;
SET SESSION AUTHORIZATION regress_sk_web;
-- six children, six draws on the replay clock 2007-10-01 (a Monday)
SELECT u AS child, r ->> 'date' AS date, r ->> 'kind' AS kind, r -> 'period' AS period, r -> 'symbols' AS symbols
  FROM generate_series(1, 6) u, LATERAL market_quiz_as('mq' || u || '@example.com', :replay) r;
SELECT as_user('mq1@example.com');
SELECT jsonb_pretty(api.get_market_quiz(jsonb_build_object('season_id', :replay))) AS question;
-- asked again: the same question
SELECT api.get_market_quiz(jsonb_build_object('season_id', :replay))
     = api.get_market_quiz(jsonb_build_object('season_id', :replay)) AS same;
-- the right answer, computed here from price_bar: the week of 2007-09-24 against the week before
RESET SESSION AUTHORIZATION;
SELECT CASE WHEN w1.close > w0.close THEN 1 WHEN w1.close < w0.close THEN 2 ELSE 3 END AS right_choice, w0.bar_date, w0.close, w1.bar_date, w1.close
  FROM stockking.bar_at('SP500', '2007-09-30') w1, stockking.bar_at('SP500', '2007-09-23') w0;
SET SESSION AUTHORIZATION regress_sk_web;
SELECT as_user('mq1@example.com');
SELECT try(format('SELECT api.answer_market_quiz(%L)', jsonb_build_object('season_id', :replay, 'date', '2007-09-28', 'choice', 1))) AS stale;
SELECT try(format('SELECT api.answer_market_quiz(%L)', jsonb_build_object('season_id', :replay, 'date', '2007-10-01', 'choice', 4))) AS out_of_range;
SELECT try(format('SELECT api.answer_market_quiz(%L)', jsonb_build_object('season_id', :replay, 'date', '2007-10-01'))) AS no_choice;
SELECT r -> 'your_choice' AS yours, r -> 'right_choice' AS right_choice, r -> 'correct' AS correct, r ->> 'explanation' AS explanation,
       r -> 'xp_earned' AS xp
  FROM api.answer_market_quiz(jsonb_build_object('season_id', :replay,
                                                 'date', '2007-10-01', 'choice', 1)) r;
SELECT try(format('SELECT api.answer_market_quiz(%L)', jsonb_build_object('season_id', :replay, 'date', '2007-10-01', 'choice', 1))) AS twice;
SELECT r -> 'answered' AS answered, r -> 'correct' AS correct FROM api.get_market_quiz(jsonb_build_object('season_id',
       :replay)) r;
SELECT * FROM events('mq1@example.com');
-- a wrong answer: no XP, still a learning day
SELECT as_user('mq2@example.com');
SELECT r ->> 'kind' AS kind, r -> 'right_choice' AS right_choice FROM api.get_market_quiz(jsonb_build_object('season_id',
       :replay)) r;
SELECT r -> 'correct' AS correct, r ->> 'explanation' AS explanation, r -> 'xp_earned' AS xp
  FROM api.answer_market_quiz(jsonb_build_object('season_id', :replay,
                                                 'date', '2007-10-01', 'choice', 3)) r;
SELECT api.education_progress('{}') -> 'market_quiz' AS market_quiz, api.education_progress('{}') -> 'streak' -> 'current_days' AS streak;
-- the replay's future stays hidden: whatever the draw, the period asked about ends before the clock
RESET SESSION AUTHORIZATION;
UPDATE stockking.season SET clock_date = '2008-10-01' WHERE code = 'REPLAY-2007';
SET SESSION AUTHORIZATION regress_sk_web;
SELECT u AS child, r ->> 'kind' AS kind, (r -> 'period' ->> 'to')::date < (r ->> 'date')::date AS before_clock
  FROM generate_series(1, 6) u, LATERAL market_quiz_as('mq' || u || '@example.com', :replay) r;
-- no bars before the clock's week or month: no question
SELECT as_user('mq1@example.com');
SELECT try(format('SELECT api.get_market_quiz(%L)', jsonb_build_object('season_id', :early_season))) AS no_bars;
SELECT try(format('SELECT api.answer_market_quiz(%L)', jsonb_build_object('season_id', :early_season, 'date', '2000-01-03', 'choice', 1))) AS no_bars;
-- only children: a parent is refused, a child without an account in the season too
SELECT as_user('mom@example.com');
SELECT try($$SELECT api.get_market_quiz('{}')$$);
SELECT as_user('mq2@example.com');
SELECT try(format('SELECT api.get_market_quiz(%L)', jsonb_build_object('season_id', :early_season)));
SELECT set_config('request.user_id', '', false), set_config('request.role', '', false);
SELECT try($$SELECT api.get_market_quiz('{}')$$);
SELECT try($$SELECT api.submit_quiz('{"quiz_id": 1, "answers": []}')$$);
RESET SESSION AUTHORIZATION;

-- every api function of this part runs as stockking_definer, never as the superuser
SELECT p.proname, pg_get_userbyid(p.proowner) AS owner, p.prosecdef AS security_definer
  FROM pg_proc p WHERE p.pronamespace = 'api'::regnamespace
   AND p.proname IN ('list_courses', 'get_course', 'get_lesson', 'complete_lesson', 'submit_quiz', 'education_progress',
                     'list_certificates', 'verify_certificate', 'get_market_quiz', 'answer_market_quiz')
 ORDER BY p.proname;
SELECT method, path, fn, roles, read_only FROM stockking.route WHERE path LIKE '/v1/education/%' ORDER BY path, method;
SELECT sqlstate, http_status, name FROM stockking.error_code WHERE sqlstate BETWEEN 'SK300' AND 'SK349' ORDER BY sqlstate;

\c :regress_db
DROP DATABASE regress_sk_education;
