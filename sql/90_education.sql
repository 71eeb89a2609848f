-- Learning: courses, lessons, quizzes, a child's progress, certificates,
-- the learning streak and the market quiz (extension/education.c), with
-- their badges and missions, read APIs and routes.
--
-- Content (course, lesson, quiz, quiz_question, course_prerequisite) is
-- loaded from data/education/*.json by stockking.load_education, as the
-- market data is: the files are checked strictly, then mirrored (rows the
-- files no longer have are retired, active = false, so the progress that
-- points at them stays).  The quiz's answers never leave the database
-- before an attempt is graded.
--
-- Project SQLSTATEs SK300..SK322 (HTTP statuses below; C names in
-- extension/education.h).

INSERT INTO stockking.error_code VALUES
    ('SK300', 400, 'bad_education_content', 'an education content file is malformed (the message gives the file and line)'),
    ('SK301', 409, 'course_locked', 'the course opens after its prerequisite courses are completed'),
    ('SK302', 409, 'lesson_locked', 'the lesson opens after the lessons before it are completed (read, quiz passed)'),
    ('SK303', 409, 'lesson_not_read', 'a quiz is taken after its lesson is read'),
    ('SK304', 409, 'quiz_attempts_used', 'the quiz was tried as many times today as it may be (Asia/Seoul day)'),
    ('SK305', 409, 'quiz_passed', 'the quiz is passed already'),
    ('SK320', 409, 'market_quiz_stale', 'the market question answered is not the season''s current one'),
    ('SK321', 409, 'market_quiz_answered', 'the market question of this date is answered already'),
    ('SK322', 422, 'market_quiz_unavailable', 'the price bars before the season''s clock cannot make a market question');

-- Content.  Codes are the files' keys; ids are stable across loads.
CREATE TABLE stockking.course (
    id              integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code            text NOT NULL UNIQUE CHECK (code ~ '^[a-z0-9][a-z0-9-]{0,63}$'),
    title           text NOT NULL CHECK (length(title) BETWEEN 1 AND 100),
    summary         text NOT NULL CHECK (length(summary) BETWEEN 1 AND 500),
    age_min         smallint NOT NULL CHECK (age_min BETWEEN 5 AND 18),
    age_max         smallint NOT NULL CHECK (age_max BETWEEN 5 AND 18),
    position        integer NOT NULL CHECK (position > 0),
    authors         text NOT NULL,
    lesson_xp       integer NOT NULL CHECK (lesson_xp >= 0),
    quiz_xp         integer NOT NULL CHECK (quiz_xp >= 0),
    quiz_reward_krw bigint NOT NULL CHECK (quiz_reward_krw >= 0),
    quiz_reward_usd bigint NOT NULL CHECK (quiz_reward_usd >= 0),
    completion_xp   integer NOT NULL CHECK (completion_xp >= 0),
    source_file     text NOT NULL,
    active          boolean NOT NULL DEFAULT true,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (age_min <= age_max)
);
SELECT pg_catalog.pg_extension_config_dump('stockking.course', '');
COMMENT ON TABLE stockking.course IS
    'a course (data/education/<file>.json): its age band, order, and rewards: lesson_xp per lesson read, quiz_xp and game money per quiz passed (quiz_reward_krw won to a KRW account, quiz_reward_usd cents to a USD one), completion_xp; active false = retired (no longer in the files)';

CREATE TABLE stockking.course_prerequisite (
    course_id   integer NOT NULL REFERENCES stockking.course (id),
    requires_id integer NOT NULL REFERENCES stockking.course (id),
    PRIMARY KEY (course_id, requires_id),
    CHECK (course_id <> requires_id)
);
SELECT pg_catalog.pg_extension_config_dump('stockking.course_prerequisite', '');
COMMENT ON TABLE stockking.course_prerequisite IS 'a course opens when the courses it requires are completed';

CREATE TABLE stockking.lesson (
    id         integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    course_id  integer NOT NULL REFERENCES stockking.course (id),
    code       text NOT NULL UNIQUE CHECK (code ~ '^[a-z0-9][a-z0-9-]{0,63}$'),
    position   smallint NOT NULL CHECK (position > 0),
    title      text NOT NULL CHECK (length(title) BETWEEN 1 AND 100),
    minutes    smallint NOT NULL CHECK (minutes BETWEEN 1 AND 60),
    body       text[] NOT NULL CHECK (cardinality(body) BETWEEN 1 AND 50),
    key_points text[] NOT NULL CHECK (cardinality(key_points) BETWEEN 1 AND 10),
    active     boolean NOT NULL DEFAULT true,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX lesson_course ON stockking.lesson (course_id, position);
SELECT pg_catalog.pg_extension_config_dump('stockking.lesson', '');
COMMENT ON TABLE stockking.lesson IS
    'a lesson of a course, in position order: body = paragraphs, key_points = what to remember, minutes = reading time';

CREATE TABLE stockking.quiz (
    id                   integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    lesson_id            integer NOT NULL UNIQUE REFERENCES stockking.lesson (id),
    pass_percent         smallint NOT NULL CHECK (pass_percent BETWEEN 1 AND 100),
    max_attempts_per_day smallint NOT NULL CHECK (max_attempts_per_day BETWEEN 1 AND 10),
    updated_at           timestamptz NOT NULL DEFAULT now()
);
SELECT pg_catalog.pg_extension_config_dump('stockking.quiz', '');
COMMENT ON TABLE stockking.quiz IS
    'a lesson''s quiz: passed when correct x 100 >= pass_percent x questions; tried at most max_attempts_per_day times an Asia/Seoul day until passed';

CREATE TABLE stockking.quiz_question (
    id            integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    quiz_id       integer NOT NULL REFERENCES stockking.quiz (id),
    code          text NOT NULL CHECK (code ~ '^[a-z0-9][a-z0-9-]{0,63}$'),
    position      smallint NOT NULL CHECK (position > 0),
    kind          text NOT NULL CHECK (kind IN ('SINGLE', 'MULTIPLE', 'NUMBER')),
    prompt        text NOT NULL CHECK (length(prompt) BETWEEN 1 AND 300),
    choices       text[] CHECK (cardinality(choices) BETWEEN 2 AND 6),
    answer        smallint[],
    answer_number bigint,
    unit          text,
    explanation   text NOT NULL,
    active        boolean NOT NULL DEFAULT true,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (quiz_id, code),
    CHECK (CASE kind WHEN 'NUMBER' THEN answer_number IS NOT NULL AND choices IS NULL AND answer IS NULL
                     WHEN 'SINGLE' THEN cardinality(answer) = 1 AND answer_number IS NULL AND unit IS NULL
                     ELSE cardinality(answer) >= 1 AND answer_number IS NULL AND unit IS NULL END),
    CHECK (answer <@ '{1,2,3,4,5,6}'::smallint[])
);
SELECT pg_catalog.pg_extension_config_dump('stockking.quiz_question', '');
COMMENT ON TABLE stockking.quiz_question IS
    'a quiz question: SINGLE (answer = the one right choice, 1-based), MULTIPLE (answer = every right choice) or NUMBER (answer_number, whole, in unit); never shown with its answer before an attempt is graded';

GRANT SELECT ON stockking.course, stockking.course_prerequisite, stockking.lesson, stockking.quiz,
    stockking.quiz_question TO stockking_definer;

-- A child's progress.  Family-owned: row-level security by family_id.
CREATE TABLE stockking.course_progress (
    user_id      uuid NOT NULL,
    course_id    integer NOT NULL REFERENCES stockking.course (id),
    family_id    uuid NOT NULL,
    started_at   timestamptz NOT NULL DEFAULT now(),
    completed_at timestamptz,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, course_id)
);
CREATE INDEX course_progress_family ON stockking.course_progress (family_id);
SELECT pg_catalog.pg_extension_config_dump('stockking.course_progress', '');
COMMENT ON TABLE stockking.course_progress IS
    'a child''s course: started with the first lesson read, completed when every lesson is; its row lock serializes the child''s work in the course';

CREATE TABLE stockking.lesson_progress (
    user_id        uuid NOT NULL,
    lesson_id      integer NOT NULL REFERENCES stockking.lesson (id),
    course_id      integer NOT NULL REFERENCES stockking.course (id),
    family_id      uuid NOT NULL,
    read_at        timestamptz NOT NULL DEFAULT now(),
    quiz_passed_at timestamptz,
    completed_at   timestamptz,
    PRIMARY KEY (user_id, lesson_id),
    CHECK ((completed_at IS NULL) = (quiz_passed_at IS NULL))
);
CREATE INDEX lesson_progress_course ON stockking.lesson_progress (user_id, course_id);
CREATE INDEX lesson_progress_family ON stockking.lesson_progress (family_id);
SELECT pg_catalog.pg_extension_config_dump('stockking.lesson_progress', '');
COMMENT ON TABLE stockking.lesson_progress IS 'a lesson a child read (read_at) and completed (its quiz passed)';

CREATE TABLE stockking.quiz_result (
    user_id           uuid NOT NULL,
    quiz_id           integer NOT NULL REFERENCES stockking.quiz (id),
    family_id         uuid NOT NULL,
    attempts          integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    best_correct      integer NOT NULL DEFAULT 0 CHECK (best_correct >= 0),
    total             integer,
    passed_at         timestamptz,
    reward_account_id bigint,
    reward_amount     bigint CHECK (reward_amount >= 0),
    reward_currency   char(3),
    reward_xp         integer,
    updated_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, quiz_id),
    CHECK (reward_account_id IS NULL OR passed_at IS NOT NULL)
);
CREATE INDEX quiz_result_family ON stockking.quiz_result (family_id);
SELECT pg_catalog.pg_extension_config_dump('stockking.quiz_result', '');
COMMENT ON TABLE stockking.quiz_result IS
    'a child''s standing in a quiz: attempts, best score, the pass and the game money it paid once (reward_amount minor units of reward_currency to reward_account_id); its row lock serializes attempts';

CREATE TABLE stockking.quiz_attempt (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id      uuid NOT NULL,
    family_id    uuid NOT NULL,
    quiz_id      integer NOT NULL REFERENCES stockking.quiz (id),
    attempt_no   integer NOT NULL CHECK (attempt_no > 0),
    seoul_day    date NOT NULL,
    answers      jsonb NOT NULL,
    correct_ids  integer[] NOT NULL,
    correct      integer NOT NULL CHECK (correct >= 0),
    total        integer NOT NULL CHECK (total > 0 AND correct <= total),
    passed       boolean NOT NULL,
    submitted_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (user_id, quiz_id, attempt_no)
);
CREATE INDEX quiz_attempt_day ON stockking.quiz_attempt (user_id, quiz_id, seoul_day);
CREATE INDEX quiz_attempt_family ON stockking.quiz_attempt (family_id);
SELECT pg_catalog.pg_extension_config_dump('stockking.quiz_attempt', '');
COMMENT ON TABLE stockking.quiz_attempt IS
    'one graded attempt: answers {"<question id>": answer} as sent, correct_ids the questions answered right, seoul_day the Asia/Seoul day it counts against';

CREATE TABLE stockking.certificate (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id         uuid NOT NULL,
    family_id       uuid NOT NULL,
    course_id       integer NOT NULL REFERENCES stockking.course (id),
    holder_nickname text NOT NULL,
    issued_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (user_id, course_id)
);
CREATE INDEX certificate_family ON stockking.certificate (family_id);
SELECT pg_catalog.pg_extension_config_dump('stockking.certificate', '');
COMMENT ON TABLE stockking.certificate IS
    'a certificate of a completed course; its id (random, 122 bits) verifies it publicly, showing only the nickname at issue, the course and the date';

CREATE TABLE stockking.learning_streak (
    user_id      uuid PRIMARY KEY,
    family_id    uuid NOT NULL,
    current_days integer NOT NULL DEFAULT 0 CHECK (current_days >= 0),
    longest_days integer NOT NULL DEFAULT 0 CHECK (longest_days >= current_days),
    last_day     date,
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX learning_streak_family ON stockking.learning_streak (family_id);
SELECT pg_catalog.pg_extension_config_dump('stockking.learning_streak', '');
COMMENT ON TABLE stockking.learning_streak IS
    'a child''s run of consecutive Asia/Seoul learning days (a lesson read the first time, a quiz submitted, a market quiz answered) up to last_day';

CREATE TABLE stockking.market_quiz_answer (
    user_id       uuid NOT NULL,
    season_id     integer NOT NULL REFERENCES stockking.season (id),
    question_date date NOT NULL,
    family_id     uuid NOT NULL,
    kind          text NOT NULL,
    question      jsonb NOT NULL,
    choice        smallint NOT NULL,
    right_choice  smallint NOT NULL,
    correct       boolean NOT NULL,
    answered_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, season_id, question_date)
);
CREATE INDEX market_quiz_answer_family ON stockking.market_quiz_answer (family_id);
SELECT pg_catalog.pg_extension_config_dump('stockking.market_quiz_answer', '');
COMMENT ON TABLE stockking.market_quiz_answer IS
    'a child''s answer to the market question of a season''s clock date (question as shown), graded from price_bar when answered';

ALTER TABLE stockking.course_progress ENABLE ROW LEVEL SECURITY;
ALTER TABLE stockking.lesson_progress ENABLE ROW LEVEL SECURITY;
ALTER TABLE stockking.quiz_result ENABLE ROW LEVEL SECURITY;
ALTER TABLE stockking.quiz_attempt ENABLE ROW LEVEL SECURITY;
ALTER TABLE stockking.certificate ENABLE ROW LEVEL SECURITY;
ALTER TABLE stockking.learning_streak ENABLE ROW LEVEL SECURITY;
ALTER TABLE stockking.market_quiz_answer ENABLE ROW LEVEL SECURITY;
CREATE POLICY course_progress_read ON stockking.course_progress FOR SELECT USING (stockking.can_read(family_id, user_id));
CREATE POLICY course_progress_write ON stockking.course_progress FOR ALL USING (stockking.can_write(user_id))
    WITH CHECK (stockking.can_write(user_id));
CREATE POLICY lesson_progress_read ON stockking.lesson_progress FOR SELECT USING (stockking.can_read(family_id, user_id));
CREATE POLICY lesson_progress_write ON stockking.lesson_progress FOR ALL USING (stockking.can_write(user_id))
    WITH CHECK (stockking.can_write(user_id));
CREATE POLICY quiz_result_read ON stockking.quiz_result FOR SELECT USING (stockking.can_read(family_id, user_id));
CREATE POLICY quiz_result_write ON stockking.quiz_result FOR ALL USING (stockking.can_write(user_id))
    WITH CHECK (stockking.can_write(user_id));
CREATE POLICY quiz_attempt_read ON stockking.quiz_attempt FOR SELECT USING (stockking.can_read(family_id, user_id));
CREATE POLICY quiz_attempt_insert ON stockking.quiz_attempt FOR INSERT WITH CHECK (stockking.can_write(user_id));
CREATE POLICY certificate_read ON stockking.certificate FOR SELECT USING (stockking.can_read(family_id, user_id));
CREATE POLICY certificate_insert ON stockking.certificate FOR INSERT WITH CHECK (stockking.can_write(user_id));
CREATE POLICY learning_streak_read ON stockking.learning_streak FOR SELECT USING (stockking.can_read(family_id, user_id));
CREATE POLICY learning_streak_write ON stockking.learning_streak FOR ALL USING (stockking.can_write(user_id))
    WITH CHECK (stockking.can_write(user_id));
CREATE POLICY market_quiz_answer_read ON stockking.market_quiz_answer FOR SELECT
    USING (stockking.can_read(family_id, user_id));
CREATE POLICY market_quiz_answer_insert ON stockking.market_quiz_answer FOR INSERT
    WITH CHECK (stockking.can_write(user_id));
GRANT SELECT, INSERT, UPDATE ON stockking.course_progress, stockking.lesson_progress, stockking.quiz_result,
    stockking.learning_streak TO stockking_definer;
GRANT SELECT, INSERT ON stockking.quiz_attempt, stockking.certificate, stockking.market_quiz_answer
    TO stockking_definer;

-- What a certificate's public check may show (read past row-level security,
-- as stockking_system owns it: sql/98_system.sql; nothing else of the child
-- is reachable through it).
CREATE VIEW stockking.certificate_public AS
    SELECT c.id, c.holder_nickname, c.issued_at, co.id AS course_id, co.code AS course_code, co.title AS course_title
      FROM stockking.certificate c JOIN stockking.course co ON co.id = c.course_id;
GRANT SELECT ON stockking.certificate_public TO stockking_definer;

-- Badges and missions of learning (granted by extension/education.c through
-- the progress functions of missions.c).
INSERT INTO stockking.badge VALUES
    ('FIRST_LESSON', '첫 수업', 'Read a lesson for the first time.', 30, 50),
    ('FIRST_QUIZ_PASSED', '첫 퀴즈 통과', 'Passed a lesson quiz for the first time.', 50, 60),
    ('PERFECT_QUIZ', '퀴즈 만점', 'Answered every question of a lesson quiz right.', 50, 70),
    ('FIRST_CERTIFICATE', '첫 수료증', 'Completed a course and earned its certificate.', 200, 80),
    ('LEARNING_STREAK_7', '7일 연속 학습', 'Learned on seven days in a row (Asia/Seoul days).', 100, 90),
    ('MARKET_WATCHER', '시장 관찰자', 'Answered a market quiz right.', 50, 100);
INSERT INTO stockking.mission VALUES
    ('DAILY_LESSON', 'DAILY', '오늘 수업 1개 듣기', 'Read a lesson you had not read before, today.', 1, 20, 3000, 300, 50, true),
    ('WEEKLY_QUIZ_THREE', 'WEEKLY', '이번 주 퀴즈 3개 통과하기', 'Pass three lesson quizzes this week.', 3, 50, 10000, 1000, 60, true);

-- The loader and the rules (extension/education.c).
CREATE FUNCTION stockking.load_education(dir text) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'stockking_load_education'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
REVOKE ALL ON FUNCTION stockking.load_education(text) FROM PUBLIC;
COMMENT ON FUNCTION stockking.load_education(text) IS
    'Load every <dir>/*.json course file (data/education: one course each, lessons in order, each with its quiz; the '
    'format is in data/README.md) into course, lesson, quiz, quiz_question and course_prerequisite.  Reads the files '
    'on the server (superuser or pg_read_server_files; dir absolute).  Every field is checked (types, lengths, codes, '
    'ages, choices and answers, prerequisites naming courses of the load without cycles, lesson and question codes '
    'unique); a malformed file raises SK300 naming the file, the line and the fault, and nothing is loaded.  The '
    'tables are made equal to the files: new or changed rows written, rows no longer in the files retired (active '
    'false); loading the same files again writes nothing.  Returns {"files", "courses", "lessons", "quizzes", '
    '"questions", "prerequisites"}, each with its "rows", "inserted", "updated" and "retired" (or "deleted") counts.';

CREATE FUNCTION stockking.learning_streak_next(last_day date, current_days integer, longest_days integer, day date,
                                               OUT current_days integer, OUT longest_days integer)
    AS 'MODULE_PATHNAME', 'stockking_learning_streak_next'
    LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION stockking.learning_streak_next(date, integer, integer, date) IS
    'the learning streak after learning on day: the last learning day again changes nothing, the next day adds one, '
    'a later day (or a first one: last_day NULL) starts at one; longest_days is the best run';

-- JSON shapes and states for the read APIs.

CREATE FUNCTION stockking.course_progress_json(p_user uuid, p_course integer) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
    SELECT jsonb_build_object(
        'started_at', cp.started_at, 'completed_at', cp.completed_at,
        'lessons_total', t.total, 'lessons_read', t.read, 'quizzes_passed', t.passed,
        'lessons_completed', t.completed,
        'percent', CASE WHEN cp.completed_at IS NOT NULL THEN 100 WHEN t.total = 0 THEN 0
                        ELSE (t.read + t.passed) * 100 / (2 * t.total) END)
      FROM (SELECT count(*) AS total, count(lp.read_at) AS read, count(lp.quiz_passed_at) AS passed,
                   count(lp.completed_at) AS completed
              FROM stockking.lesson l
              LEFT JOIN stockking.lesson_progress lp ON lp.lesson_id = l.id AND lp.user_id = p_user
             WHERE l.course_id = p_course AND l.active) t
      LEFT JOIN stockking.course_progress cp ON cp.user_id = p_user AND cp.course_id = p_course
    $$;
COMMENT ON FUNCTION stockking.course_progress_json(uuid, integer) IS
    'a child''s progress in a course: {"started_at","completed_at","lessons_total","lessons_read","quizzes_passed",'
    '"lessons_completed","percent"}; percent = floor(100 x (lessons read + quizzes passed) / (2 x lessons)), 100 once completed';

-- the prerequisite courses of a course the user has not completed
CREATE FUNCTION stockking.course_missing(p_user uuid, p_course integer) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
    SELECT coalesce(jsonb_agg(jsonb_build_object('id', r.id, 'code', r.code, 'title', r.title)
                              ORDER BY r.position, r.code), '[]')
      FROM stockking.course_prerequisite p JOIN stockking.course r ON r.id = p.requires_id
     WHERE p.course_id = p_course AND r.active
       AND NOT EXISTS (SELECT 1 FROM stockking.course_progress cp
                        WHERE cp.user_id = p_user AND cp.course_id = r.id AND cp.completed_at IS NOT NULL)
    $$;

CREATE FUNCTION stockking.streak_json(p_user uuid) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
    SELECT jsonb_build_object(
        'current_days', CASE WHEN s.last_day >= stockking.seoul_day(now()) - 1 THEN s.current_days ELSE 0 END,
        'longest_days', coalesce(s.longest_days, 0), 'last_day', s.last_day,
        'learned_today', coalesce(s.last_day = stockking.seoul_day(now()), false))
      FROM (SELECT 1) one LEFT JOIN stockking.learning_streak s ON s.user_id = p_user
    $$;
COMMENT ON FUNCTION stockking.streak_json(uuid) IS
    'a child''s learning streak now: {"current_days" (0 once a whole Asia/Seoul day passed without learning),'
    '"longest_days","last_day","learned_today"}';

CREATE FUNCTION stockking.certificate_json(c stockking.certificate) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
    SELECT jsonb_build_object('id', c.id, 'nickname', c.holder_nickname, 'issued_at', c.issued_at,
                              'issued_on', stockking.seoul_day(c.issued_at),
                              'course', jsonb_build_object('id', co.id, 'code', co.code, 'title', co.title),
                              'verify_path', '/v1/education/certificates/' || c.id)
      FROM stockking.course co WHERE co.id = c.course_id
    $$;

CREATE FUNCTION stockking.course_json(c stockking.course, p_user uuid) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
    SELECT jsonb_build_object(
        'id', c.id, 'code', c.code, 'title', c.title, 'summary', c.summary,
        'age_min', c.age_min, 'age_max', c.age_max, 'position', c.position, 'authors', c.authors,
        'lessons', (SELECT count(*) FROM stockking.lesson l WHERE l.course_id = c.id AND l.active),
        'minutes', (SELECT coalesce(sum(l.minutes), 0) FROM stockking.lesson l WHERE l.course_id = c.id AND l.active),
        'prerequisites', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                                     'id', r.id, 'code', r.code, 'title', r.title,
                                     'completed', EXISTS (SELECT 1 FROM stockking.course_progress cp
                                                           WHERE cp.user_id = p_user AND cp.course_id = r.id
                                                             AND cp.completed_at IS NOT NULL))
                                 ORDER BY r.position, r.code), '[]')
                            FROM stockking.course_prerequisite p JOIN stockking.course r ON r.id = p.requires_id
                           WHERE p.course_id = c.id AND r.active),
        'locked', jsonb_array_length(stockking.course_missing(p_user, c.id)) > 0,
        'rewards', jsonb_build_object('lesson_xp', c.lesson_xp, 'quiz_xp', c.quiz_xp,
                                      'quiz_reward', jsonb_build_object('KRW', c.quiz_reward_krw,
                                                                        'USD', round(c.quiz_reward_usd / 100.0, 2)),
                                      'course_xp', c.completion_xp),
        'progress', stockking.course_progress_json(p_user, c.id),
        'certificate_id', (SELECT ce.id FROM stockking.certificate ce WHERE ce.user_id = p_user AND ce.course_id = c.id))
    $$;

-- why a lesson is closed to the user: null when open
CREATE FUNCTION stockking.lesson_lock(p_user uuid, l stockking.lesson) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
    SELECT CASE
        WHEN jsonb_array_length(stockking.course_missing(p_user, l.course_id)) > 0
            THEN jsonb_build_object('code', 'SK301', 'reason', 'course_locked',
                                    'complete_courses', stockking.course_missing(p_user, l.course_id))
        WHEN e.id IS NOT NULL
            THEN jsonb_build_object('code', 'SK302', 'reason', 'lesson_locked', 'complete_lesson_id', e.id,
                                    'complete_lesson', e.title)
        END
      FROM (SELECT 1) one
      LEFT JOIN LATERAL (SELECT x.id, x.title FROM stockking.lesson x
                          WHERE x.course_id = l.course_id AND x.active AND x.position < l.position
                            AND NOT EXISTS (SELECT 1 FROM stockking.lesson_progress lp
                                             WHERE lp.user_id = p_user AND lp.lesson_id = x.id
                                               AND lp.completed_at IS NOT NULL)
                          ORDER BY x.position LIMIT 1) e ON true
    $$;

-- The read APIs.  They show a child's own state, or a parent's child's
-- (child_id, through row-level security: stockking.progress_user).

CREATE FUNCTION api.list_courses(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v_user  uuid := stockking.progress_user(args);
    v_age   bigint := stockking.arg_bigint(args, 'age', false);
    -- the child's age this year (Korean "연 나이": this year minus the birth year), from the profile
    v_years integer := (SELECT extract(year FROM stockking.seoul_day(now()))::integer - u.birth_year
                          FROM stockking.users u WHERE u.id = v_user);
BEGIN
    IF v_age NOT BETWEEN 5 AND 18 THEN
        RAISE EXCEPTION 'field "age" must be between 5 and 18' USING ERRCODE = '22023';
    END IF;
    RETURN jsonb_build_object(
        'user_id', v_user,
        'age', v_years,
        'items', (SELECT coalesce(jsonb_agg(stockking.course_json(c, v_user)
                                                || jsonb_build_object('suits_age', v_years BETWEEN c.age_min AND c.age_max)
                                            ORDER BY c.position, c.code), '[]')
                    FROM stockking.course c
                   WHERE c.active AND (v_age IS NULL OR v_age BETWEEN c.age_min AND c.age_max)),
        'streak', stockking.streak_json(v_user));
END
$$;
COMMENT ON FUNCTION api.list_courses(jsonb) IS
$$GET /v1/education/courses?age=&child_id= (signed in): the courses, in order, with the caller's (or, for a parent, a child's)
progress.  Args: {"age": 5..18 (optional: only courses whose age band holds it), "child_id" (optional, parents)}.
Returns {"user_id", "age" (this year minus the profile's birth_year, null when not given), "items": [{"id","code","title",
"summary","age_min","age_max","suits_age" (the age is in the band; null without a birth year),"position","authors","lessons" (count),
"minutes" (reading time),"prerequisites": [{"id","code","title","completed"}],"locked" (a prerequisite is not completed),
"rewards": {"lesson_xp","quiz_xp","quiz_reward": {"KRW": won, "USD": dollars},"course_xp"},"progress": {"started_at",
"completed_at","lessons_total","lessons_read","quizzes_passed","lessons_completed","percent" (floor of 100 x (lessons read
+ quizzes passed) / (2 x lessons))},"certificate_id"}], "streak": {"current_days","longest_days","last_day","learned_today"}}.
Errors: 22023 (400) bad age or child_id; P0002 (404) a child_id not visible to the caller; 28000 (401).
Source: seed 003 section 2.7 (courses, lessons, progress); data/education.$$;

CREATE FUNCTION api.get_course(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v_user uuid := stockking.progress_user(args);
    v_id   bigint := stockking.arg_bigint(args, 'id');
    c      stockking.course;
BEGIN
    SELECT * INTO c FROM stockking.course WHERE id = v_id AND active;
    IF c.id IS NULL THEN
        RAISE EXCEPTION 'course % not found', v_id USING ERRCODE = 'P0002';
    END IF;
    RETURN stockking.course_json(c, v_user) || jsonb_build_object(
        'user_id', v_user,
        'lessons', (SELECT jsonb_agg(jsonb_build_object(
                               'id', l.id, 'code', l.code, 'position', l.position, 'title', l.title,
                               'minutes', l.minutes, 'quiz_id', q.id,
                               'questions', (SELECT count(*) FROM stockking.quiz_question e
                                              WHERE e.quiz_id = q.id AND e.active),
                               'read', lp.read_at IS NOT NULL, 'quiz_passed', lp.quiz_passed_at IS NOT NULL,
                               'completed', lp.completed_at IS NOT NULL,
                               'locked', stockking.lesson_lock(v_user, l) IS NOT NULL)
                           ORDER BY l.position)
                      FROM stockking.lesson l
                      LEFT JOIN stockking.quiz q ON q.lesson_id = l.id
                      LEFT JOIN stockking.lesson_progress lp ON lp.lesson_id = l.id AND lp.user_id = v_user
                     WHERE l.course_id = c.id AND l.active));
END
$$;
COMMENT ON FUNCTION api.get_course(jsonb) IS
$$GET /v1/education/courses/:id?child_id= (signed in): one course as in the list, with "lessons": [{"id","code","position",
"title","minutes","quiz_id","questions" (count),"read","quiz_passed","completed","locked"}] in order.
Errors: 22023 (400) malformed id or child_id; P0002 (404) no such course, or a child_id not visible; 28000 (401).$$;

CREATE FUNCTION api.get_lesson(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v_user uuid := stockking.progress_user(args);
    v_id   bigint := stockking.arg_bigint(args, 'id');
    l      stockking.lesson;
    c      stockking.course;
    q      stockking.quiz;
    lp     stockking.lesson_progress;
    r      stockking.quiz_result;
    v_today bigint;
BEGIN
    SELECT * INTO l FROM stockking.lesson WHERE id = v_id AND active;
    SELECT * INTO c FROM stockking.course WHERE id = l.course_id AND active;
    IF c.id IS NULL THEN
        RAISE EXCEPTION 'lesson % not found', v_id USING ERRCODE = 'P0002';
    END IF;
    SELECT * INTO q FROM stockking.quiz WHERE lesson_id = l.id;
    SELECT * INTO lp FROM stockking.lesson_progress WHERE user_id = v_user AND lesson_id = l.id;
    SELECT * INTO r FROM stockking.quiz_result WHERE user_id = v_user AND quiz_id = q.id;
    SELECT count(*) INTO v_today FROM stockking.quiz_attempt a
     WHERE a.user_id = v_user AND a.quiz_id = q.id AND a.seoul_day = stockking.seoul_day(now());
    RETURN jsonb_build_object(
        'id', l.id, 'code', l.code, 'position', l.position, 'title', l.title, 'minutes', l.minutes,
        'body', to_jsonb(l.body), 'key_points', to_jsonb(l.key_points),
        'course', jsonb_build_object('id', c.id, 'code', c.code, 'title', c.title),
        'previous_lesson_id', (SELECT x.id FROM stockking.lesson x WHERE x.course_id = l.course_id AND x.active
                                  AND x.position < l.position ORDER BY x.position DESC LIMIT 1),
        'next_lesson_id', (SELECT x.id FROM stockking.lesson x WHERE x.course_id = l.course_id AND x.active
                              AND x.position > l.position ORDER BY x.position LIMIT 1),
        'user_id', v_user,
        'lock', stockking.lesson_lock(v_user, l),
        'progress', jsonb_build_object('read_at', lp.read_at, 'quiz_passed_at', lp.quiz_passed_at,
                                       'completed_at', lp.completed_at),
        'quiz', CASE WHEN q.id IS NOT NULL THEN jsonb_build_object(
            'id', q.id, 'pass_percent', q.pass_percent, 'max_attempts_per_day', q.max_attempts_per_day,
            'attempts', coalesce(r.attempts, 0), 'attempts_today', v_today,
            'attempts_left_today', CASE WHEN r.passed_at IS NOT NULL THEN 0
                                        ELSE greatest(q.max_attempts_per_day - v_today, 0) END,
            'best_correct', coalesce(r.best_correct, 0), 'passed_at', r.passed_at,
            'questions', (SELECT jsonb_agg(jsonb_build_object('id', e.id, 'position', e.position, 'kind', e.kind,
                                                              'prompt', e.prompt, 'choices', to_jsonb(e.choices),
                                                              'unit', e.unit) ORDER BY e.position)
                            FROM stockking.quiz_question e WHERE e.quiz_id = q.id AND e.active)) END);
END
$$;
COMMENT ON FUNCTION api.get_lesson(jsonb) IS
$$GET /v1/education/lessons/:id?child_id= (signed in): a lesson to read, with its quiz's questions -- never their answers.
Returns {"id","code","position","title","minutes","body": [paragraphs],"key_points": [...],"course": {"id","code","title"},
"previous_lesson_id","next_lesson_id","user_id","lock": null when open, else {"code": "SK301"|"SK302","reason",
"complete_courses"|"complete_lesson_id","complete_lesson"} (what to finish first),"progress": {"read_at","quiz_passed_at",
"completed_at"},"quiz": {"id","pass_percent","max_attempts_per_day","attempts","attempts_today","attempts_left_today"
(Asia/Seoul day),"best_correct","passed_at","questions": [{"id","position","kind" SINGLE|MULTIPLE|NUMBER,"prompt",
"choices" (numbered from 1; null for NUMBER),"unit" (NUMBER)}]}}.  Reading changes nothing: the child marks a lesson read
with POST /v1/education/lessons/:id/complete.
Errors: 22023 (400) malformed id or child_id; P0002 (404) no such lesson, or a child_id not visible; 28000 (401).$$;

CREATE FUNCTION api.complete_lesson(args jsonb) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'stockking_complete_lesson'
    LANGUAGE C VOLATILE STRICT SECURITY DEFINER SET search_path = pg_catalog, stockking;
COMMENT ON FUNCTION api.complete_lesson(jsonb) IS
$$POST /v1/education/lessons/:id/complete (CHILD): the caller has read the lesson.  The first time: the course is started,
the course's lesson_xp, badge FIRST_LESSON, daily mission DAILY_LESSON, a learning day for the streak, event LessonRead
(FAMILY); again: nothing changes.  The lesson is completed when its quiz is passed (POST /v1/education/quiz).
Returns {"lesson_id","course_id","read_at","first_read","xp_earned","quiz_id","quiz_passed_at","completed_at",
"next_lesson_id","course_progress": {...},"streak": {...}}.
Errors: 22023 (400) malformed id; P0002 (404) no such lesson; SK301 (409) the course's prerequisites are not completed;
SK302 (409) an earlier lesson of the course is not completed; SK009 (403) not a CHILD; 28000 (401).$$;

CREATE FUNCTION api.submit_quiz(args jsonb) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'stockking_submit_quiz'
    LANGUAGE C VOLATILE STRICT SECURITY DEFINER SET search_path = pg_catalog, stockking;
COMMENT ON FUNCTION api.submit_quiz(jsonb) IS
$$POST /v1/education/quiz (CHILD): grade an attempt at a lesson's quiz, in the database, from the answers stored there.
Args: {"quiz_id", "answers": [{"question_id", "answer": a choice number (SINGLE), an array of choice numbers (MULTIPLE), a
whole number (NUMBER; a string may group digits with commas)}], every question once; "season_id" (optional: the account
the reward goes to, else the default one)}.  Right: SINGLE the right choice, MULTIPLE exactly the right set, NUMBER equal.
Passed when correct x 100 >= pass_percent x questions.  The first pass completes the lesson and pays once: quiz_xp, badges
FIRST_QUIZ_PASSED (and PERFECT_QUIZ for a full score), weekly mission WEEKLY_QUIZ_THREE, and game money: the course's
quiz_reward_krw won (KRW account) or quiz_reward_usd cents (USD) as a REWARD entry of the cash ledger that is a
contribution (returns do not count it), event QuizPassed (FAMILY); when it was the course's last lesson, the course is
completed: certificate, course_xp, badge FIRST_CERTIFICATE, event CourseCompleted.  Two submissions at once run one after
the other (the child's course progress row lock): the reward is paid once.
Returns {"quiz_id","lesson_id","attempt","score": {"correct","total","percent"},"passed","pass_percent","attempts_today",
"attempts_left_today","answers_revealed","questions": [{"id","position","kind","correct","your_answer", and when
answers_revealed "right_answer","explanation"}],"xp_earned","reward": {"account_id","amount","currency"} or null,"lesson",
"course_progress","certificate" (when this attempt completed the course) or null,"streak"}.  The right answers and
explanations come with a passing attempt or with the day's last allowed attempt; before that only which answers were wrong.
Errors: 22023 (400) malformed quiz_id or answers (unknown question, answered twice or not at all, a choice out of range),
nothing recorded; P0002 (404) no such quiz; SK303 (409) the lesson is not read; SK304 (409) max_attempts_per_day attempts
today already (the detail says when the next day starts); SK305 (409) passed already; SK301/SK302 (409) as for lessons;
SK010 (404) no account for the reward; SK009 (403) not a CHILD; 28000 (401).$$;

CREATE FUNCTION api.education_progress(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v_user uuid := stockking.progress_user(args);
    u      stockking.users;
BEGIN
    SELECT * INTO u FROM stockking.users WHERE id = v_user;
    IF u.id IS NULL THEN
        RAISE EXCEPTION 'user % not found', v_user USING ERRCODE = 'P0002';
    END IF;
    RETURN jsonb_build_object(
        'user_id', u.id, 'nickname', u.nickname,
        'xp', coalesce((SELECT p.xp FROM stockking.user_progress p WHERE p.user_id = u.id), 0),
        'level', stockking.level_for_xp(coalesce((SELECT p.xp FROM stockking.user_progress p WHERE p.user_id = u.id), 0)),
        'streak', stockking.streak_json(u.id),
        'lessons_read', (SELECT count(*) FROM stockking.lesson_progress lp WHERE lp.user_id = u.id),
        'quizzes_passed', (SELECT count(*) FROM stockking.quiz_result r WHERE r.user_id = u.id AND r.passed_at IS NOT NULL),
        'quiz_attempts', (SELECT count(*) FROM stockking.quiz_attempt a WHERE a.user_id = u.id),
        'courses', (SELECT coalesce(jsonb_agg(jsonb_build_object('id', c.id, 'code', c.code, 'title', c.title)
                                              || stockking.course_progress_json(u.id, c.id)
                                              ORDER BY c.position, c.code), '[]')
                      FROM stockking.course c
                     WHERE c.active OR EXISTS (SELECT 1 FROM stockking.course_progress cp
                                                WHERE cp.user_id = u.id AND cp.course_id = c.id)),
        'certificates', (SELECT coalesce(jsonb_agg(stockking.certificate_json(ce) ORDER BY ce.issued_at), '[]')
                           FROM stockking.certificate ce WHERE ce.user_id = u.id),
        'market_quiz', (SELECT jsonb_build_object('answered', count(*), 'correct', count(*) FILTER (WHERE m.correct))
                          FROM stockking.market_quiz_answer m WHERE m.user_id = u.id));
END
$$;
COMMENT ON FUNCTION api.education_progress(jsonb) IS
$$GET /v1/education/progress?child_id= (signed in): a child's learning at a glance -- the caller's own, or for a parent
(child_id) a child of the family (row-level security: no other family's).  Returns {"user_id","nickname","xp","level",
"streak": {"current_days","longest_days","last_day","learned_today"},"lessons_read","quizzes_passed","quiz_attempts",
"courses": [{"id","code","title","started_at","completed_at","lessons_total","lessons_read","quizzes_passed",
"lessons_completed","percent"}],"certificates": [certificate],"market_quiz": {"answered","correct"}}.
Errors: 22023 (400) malformed child_id; P0002 (404) a child_id not visible to the caller; 28000 (401).$$;

CREATE FUNCTION api.list_certificates(args jsonb) RETURNS jsonb
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
    SELECT jsonb_build_object('user_id', u, 'items',
               (SELECT coalesce(jsonb_agg(stockking.certificate_json(c) ORDER BY c.issued_at), '[]')
                  FROM stockking.certificate c WHERE c.user_id = u))
      FROM stockking.progress_user(args) u
    $$;
COMMENT ON FUNCTION api.list_certificates(jsonb) IS
$$GET /v1/education/certificates?child_id= (signed in): the caller's certificates (or a parent's child's), oldest first:
{"user_id","items": [{"id","nickname","issued_at","issued_on" (Asia/Seoul date),"course": {"id","code","title"},
"verify_path"}]}.  Errors: 22023 (400), P0002 (404) a child_id not visible; 28000 (401).$$;

CREATE FUNCTION api.verify_certificate(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v_text text := stockking.arg_text(args, 'id');
    c      stockking.certificate_public;
BEGIN
    IF v_text !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN
        RAISE EXCEPTION 'field "id" must be a certificate id (uuid)' USING ERRCODE = '22023';
    END IF;
    SELECT * INTO c FROM stockking.certificate_public WHERE id = v_text::uuid;
    IF c.id IS NULL THEN
        RAISE EXCEPTION 'certificate % not found', v_text USING ERRCODE = 'P0002';
    END IF;
    RETURN jsonb_build_object('id', c.id, 'valid', true, 'nickname', c.holder_nickname,
                              'course', jsonb_build_object('code', c.course_code, 'title', c.course_title),
                              'issued_on', stockking.seoul_day(c.issued_at), 'issued_at', c.issued_at,
                              'issuer', 'StockKing Kids');
END
$$;
COMMENT ON FUNCTION api.verify_certificate(jsonb) IS
$$GET /v1/education/certificates/:id (anyone): check a certificate by its id.  Returns {"id","valid": true,"nickname" (at
issue),"course": {"code","title"},"issued_on" (Asia/Seoul date),"issued_at","issuer"} -- nothing else of the child.
Errors: 22023 (400) not a uuid; P0002 (404) no such certificate.$$;

CREATE FUNCTION api.get_market_quiz(args jsonb) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'stockking_get_market_quiz'
    LANGUAGE C STABLE STRICT SECURITY DEFINER SET search_path = pg_catalog, stockking;
COMMENT ON FUNCTION api.get_market_quiz(jsonb) IS
$$GET /v1/education/market-quiz?season_id= (CHILD): the market question of the caller's season (season_id, else the default
account's) for its clock date, drawn from real price bars at or before the clock (a replay season's future stays hidden):
WEEK_UP_DOWN (did an index fund rise over the last complete week: its last close against the week before's), MONTH_UP_DOWN
(did a stock rise over the last complete month) or MONTH_BEST (which of three stocks did best that month).  The same child,
season and date always get the same question.  Returns {"season_id","date" (send it back),"kind","question","hint",
"choices": [...] (numbered from 1),"period": {"from","to"},"symbols","answered", and once answered "your_choice",
"right_choice","correct","explanation","answered_at"}.
Errors: SK322 (422) the bars cannot make a question; SK010 (404) no account in the season; SK009 (403) not a CHILD; 28000.$$;

CREATE FUNCTION api.answer_market_quiz(args jsonb) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'stockking_answer_market_quiz'
    LANGUAGE C VOLATILE STRICT SECURITY DEFINER SET search_path = pg_catalog, stockking;
COMMENT ON FUNCTION api.answer_market_quiz(jsonb) IS
$$POST /v1/education/market-quiz (CHILD): answer the market question.  Args: {"date": the question's date, "choice": 1..n,
"season_id" (optional)}.  Graded now from price_bar; once per child, season and date.  A right answer gives 10 XP and the
badge MARKET_WATCHER; any answer is a learning day.  Returns the question with "your_choice","right_choice","correct",
"explanation" (the closes compared, with the change in percent),"answered_at","xp_earned".
Errors: 22023 (400) missing date or choice, choice out of range; SK320 (409) date is not the season's clock date now;
SK321 (409) answered already; SK322 (422); SK010 (404); SK009 (403); 28000 (401).$$;

ALTER FUNCTION api.list_courses(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.get_course(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.get_lesson(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.complete_lesson(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.submit_quiz(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.education_progress(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.list_certificates(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.verify_certificate(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.get_market_quiz(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.answer_market_quiz(jsonb) OWNER TO stockking_definer;

INSERT INTO stockking.route (method, path, fn, roles, read_only, success_status, token, summary) VALUES
    ('GET', '/v1/education/courses', 'list_courses', '{}', true, 200, 'none', 'Courses with the learner''s progress'),
    ('GET', '/v1/education/courses/:id', 'get_course', '{}', true, 200, 'none', 'A course and its lessons'),
    ('GET', '/v1/education/lessons/:id', 'get_lesson', '{}', true, 200, 'none',
     'A lesson to read, with its quiz questions (no answers)'),
    ('POST', '/v1/education/lessons/:id/complete', 'complete_lesson', '{CHILD}', false, 200, 'none',
     'Mark a lesson read'),
    ('POST', '/v1/education/quiz', 'submit_quiz', '{CHILD}', false, 200, 'none',
     'Submit a quiz attempt: graded in the database'),
    ('GET', '/v1/education/progress', 'education_progress', '{}', true, 200, 'none',
     'A child''s learning: courses, streak, certificates'),
    ('GET', '/v1/education/certificates', 'list_certificates', '{}', true, 200, 'none', 'A child''s certificates'),
    ('GET', '/v1/education/certificates/:id', 'verify_certificate', NULL, true, 200, 'none',
     'Verify a certificate by its id'),
    ('GET', '/v1/education/market-quiz', 'get_market_quiz', '{CHILD}', true, 200, 'none',
     'Today''s question on the season''s real market'),
    ('POST', '/v1/education/market-quiz', 'answer_market_quiz', '{CHILD}', false, 200, 'none',
     'Answer the market question');
