/*
 * education.c
 *	  Learning: the course content loader, a child's progress through
 *	  courses and lessons, quiz grading with its attempt limit and reward,
 *	  certificates, the learning streak, and the market quiz drawn from real
 *	  price bars.
 *
 * Content.  stockking.load_education(dir) reads every *.json file of dir
 * (one course each: lessons in order, each with a quiz) with jsondoc.c,
 * checks every field (a malformed file raises SK300 naming the file and the
 * line, and nothing is loaded) and mirrors the files into course, lesson,
 * quiz, quiz_question and course_prerequisite: rows keyed by their codes
 * are inserted or updated when they differ, rows the files no longer have
 * are retired (active = false; a child's progress and attempts keep
 * pointing at them), and loading the same files again writes nothing.
 *
 * Progress.  A lesson is read when the child says so (complete_lesson) and
 * completed when its quiz is passed too.  The rules, each refused with its
 * SQLSTATE and changing nothing:
 *	  - a course opens when its prerequisite courses are completed (SK301);
 *	  - a lesson opens when every earlier lesson of its course is completed
 *		(SK302);
 *	  - a quiz is taken after its lesson is read (SK303), at most
 *		max_attempts_per_day times a day (Asia/Seoul) until passed (SK304),
 *		and not again once passed (SK305).
 * A course is completed when all its lessons are: the certificate is issued
 * in that transaction.  A child's work in one course is serialized by the
 * row lock of its course_progress row, taken first; then the quiz's result
 * row, the streak, the reward account, and the badge, mission and XP rows
 * -- account before missions, the order trading takes them in.
 *
 * Grading happens here, from the answers stored in the database; the
 * client's answers are only read.  A SINGLE question is right when the one
 * choice is the right one, a MULTIPLE question when the set of choices is
 * exactly the right set, a NUMBER question when the whole number is equal.
 * An attempt passes when correct x 100 >= pass_percent x questions.  The
 * right answers and explanations are returned with a passing attempt and
 * with the last attempt allowed that day; before that an attempt shows
 * which questions were wrong, so that a retry is still a test.
 *
 * Rewards.  Reading a lesson the first time gives the course's lesson_xp,
 * the badge FIRST_LESSON and the daily mission DAILY_LESSON; passing a
 * quiz gives quiz_xp, the badges FIRST_QUIZ_PASSED (and PERFECT_QUIZ for a
 * full score), the weekly mission WEEKLY_QUIZ_THREE, and game money once:
 * quiz_reward_krw won or quiz_reward_usd cents to the account named by
 * season_id (or the default one), a REWARD entry of the cash ledger that is
 * a contribution, as mission claims pay (missions.c).  Completing a course
 * gives completion_xp and FIRST_CERTIFICATE.
 *
 * Streak.  A learning day is an Asia/Seoul day on which the child read a
 * lesson for the first time, submitted a quiz or answered a market quiz.
 * The streak counts consecutive learning days (learning_streak_next): the
 * next day adds one, a missed day starts again at one.  Seven in a row earn
 * LEARNING_STREAK_7.
 *
 * Market quiz.  One question per child, season and clock date, drawn from
 * the price bars at or before the season's clock (never a later one): did
 * an index rise or fall over the last complete week, did a stock rise or
 * fall over the last complete month, which of three stocks did best that
 * month.  The draw is a hash of (child, season, date), so asking again
 * gives the same question; the answer is graded from price_bar when it is
 * submitted, once per date (SK321), and only for the season's current
 * clock date (SK320).
 */
#include "family.h"

#include "access/htup_details.h"
#include "common/hashfn.h"
#include "fmgr.h"
#include "funcapi.h"
#include "port/pg_bitutils.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/json.h"
#include "utils/numeric.h"

#include "education.h"
#include "jsondoc.h"
#include "market.h"

PG_FUNCTION_INFO_V1(stockking_load_education);
PG_FUNCTION_INFO_V1(stockking_learning_streak_next);
PG_FUNCTION_INFO_V1(stockking_complete_lesson);
PG_FUNCTION_INFO_V1(stockking_submit_quiz);
PG_FUNCTION_INFO_V1(stockking_get_market_quiz);
PG_FUNCTION_INFO_V1(stockking_answer_market_quiz);

#define T TEXTOID
#define I4 INT4OID
#define I8 INT8OID
#define D DATEOID
#define B BOOLOID

/* content limits (the table checks in sql/90_education.sql agree) */
#define MAX_CHOICES 6
#define MAX_QUESTIONS 20
#define MAX_LESSONS 50
#define STREAK_BADGE_DAYS 7
#define MARKET_QUIZ_XP 10

/* -------------------------------------------------------------------------
 * Content loader
 * -------------------------------------------------------------------------
 */

static const char *const course_keys[] = {"code", "title", "summary", "age_min", "age_max", "position",
"prerequisites", "authors", "rewards", "lessons"};
static const char *const reward_keys[] = {"lesson_xp", "quiz_xp", "quiz_krw", "quiz_usd_cents", "course_xp"};
static const char *const lesson_keys[] = {"code", "title", "minutes", "body", "key_points", "quiz"};
static const char *const quiz_keys[] = {"pass_percent", "max_attempts_per_day", "questions"};
static const char *const question_keys[] = {"code", "kind", "prompt", "choices", "answer", "unit", "explanation"};

/* A course read from a file, for the checks across files */
typedef struct course_entry
{
	char	   *code;
	sk_json_file *file;
	sk_json    *prerequisites;	/* array of codes, or NULL */
	int			state;			/* cycle search: 0 new, 1 on the path, 2 done */
} course_entry;

/* A code seen in the load, with where it was */
typedef struct code_seen
{
	const char *code;
	const sk_json_file *file;
	int			line;
} code_seen;

typedef struct content
{
	int			ord;			/* rows written so far: their insert order */
	course_entry *courses;
	int			ncourses;
	code_seen  *lessons;
	int			nlessons;
	int			lessons_cap;
	StringInfoData course_json;
	StringInfoData lesson_json;
	StringInfoData question_json;
	StringInfoData prerequisite_json;
} content;

static void
append_sep(StringInfo buf)
{
	if (buf->len > 1)
		appendStringInfoChar(buf, ',');
}

static void
append_str(StringInfo buf, const char *key, const char *value, bool first)
{
	if (!first)
		appendStringInfoChar(buf, ',');
	escape_json(buf, key);
	appendStringInfoChar(buf, ':');
	if (value == NULL)
		appendStringInfoString(buf, "null");
	else
		escape_json(buf, value);
}

static void
append_int(StringInfo buf, const char *key, int64 value)
{
	appendStringInfoChar(buf, ',');
	escape_json(buf, key);
	appendStringInfo(buf, ":" INT64_FORMAT, value);
}

/* items of a string array, as a JSON array of the checked strings */
static void
append_strings(StringInfo buf, const char *key, const sk_json_file *f, const sk_json *arr, const char *what,
			   int max_chars)
{
	appendStringInfoChar(buf, ',');
	escape_json(buf, key);
	appendStringInfoString(buf, ":[");
	for (int i = 0; i < arr->n; i++)
	{
		if (i > 0)
			appendStringInfoChar(buf, ',');
		escape_json(buf, sk_json_string_value(f, arr->items[i], psprintf("%s %d", what, i + 1), 1, max_chars,
											  false));
	}
	appendStringInfoChar(buf, ']');
}

/* A choice list: distinct strings */
static void
check_choices(const sk_json_file *f, const sk_json *choices)
{
	for (int i = 0; i < choices->n; i++)
	{
		(void) sk_json_string_value(f, choices->items[i], psprintf("choice %d", i + 1), 1, 200, false);
		for (int k = 0; k < i; k++)
		{
			if (strcmp(choices->items[i]->text, choices->items[k]->text) == 0)
				sk_json_bad(f, choices->items[i], "choice %d repeats choice %d", i + 1, k + 1);
		}
	}
}

/* One question of a quiz: checked, then appended to the question rows */
static void
read_question(content *ct, const sk_json_file *f, const char *lesson_code, const sk_json *q, int position)
{
	StringInfo	buf = &ct->question_json;
	char	   *code;
	char	   *kind;
	sk_json    *choices;
	sk_json    *answer;
	char	   *unit;

	sk_json_keys(f, q, psprintf("question %d", position), question_keys, lengthof(question_keys));
	code = sk_json_string(f, q, "code", true, 1, 64, false);
	if (!sk_json_is_code(code))
		sk_json_bad(f, sk_json_get(f, q, "code", true),
					"question code \"%s\" must be 1 to 64 of a-z, 0-9 and '-'", code);
	kind = sk_json_string(f, q, "kind", true, 1, 10, false);
	if (strcmp(kind, "SINGLE") != 0 && strcmp(kind, "MULTIPLE") != 0 && strcmp(kind, "NUMBER") != 0)
		sk_json_bad(f, sk_json_get(f, q, "kind", true), "field \"kind\" must be SINGLE, MULTIPLE or NUMBER, not \"%s\"",
					kind);
	unit = sk_json_string(f, q, "unit", false, 1, 10, false);
	answer = sk_json_get(f, q, "answer", true);

	append_sep(buf);
	appendStringInfoChar(buf, '{');
	append_str(buf, "lesson", lesson_code, true);
	append_str(buf, "code", code, false);
	append_int(buf, "position", position);
	append_str(buf, "kind", kind, false);
	append_int(buf, "ord", ++ct->ord);
	append_str(buf, "prompt", sk_json_string(f, q, "prompt", true, 1, 300, false), false);
	append_str(buf, "explanation", sk_json_string(f, q, "explanation", true, 1, 1000, false), false);

	if (strcmp(kind, "NUMBER") == 0)
	{
		if (sk_json_get(f, q, "choices", false) != NULL)
			sk_json_bad(f, sk_json_get(f, q, "choices", false), "a NUMBER question has no choices");
		append_int(buf, "answer_number",
				   sk_json_int_value(f, answer, "field \"answer\"", -INT64CONST(1000000000000000),
									 INT64CONST(1000000000000000)));
		append_str(buf, "unit", unit, false);
	}
	else
	{
		uint32		mask = 0;

		if (unit != NULL)
			sk_json_bad(f, sk_json_get(f, q, "unit", false), "only a NUMBER question has a unit");
		choices = sk_json_array(f, q, "choices", true, 2, MAX_CHOICES);
		check_choices(f, choices);
		if (strcmp(kind, "SINGLE") == 0)
			mask = 1u << (sk_json_int_value(f, answer, "field \"answer\"", 1, choices->n) - 1);
		else
		{
			if (answer->kind != SK_JSON_ARRAY || answer->n < 1 || answer->n > choices->n)
				sk_json_bad(f, answer, "field \"answer\" of a MULTIPLE question must be an array of 1 to %d choice numbers",
							choices->n);
			for (int i = 0; i < answer->n; i++)
			{
				int			c = (int) sk_json_int_value(f, answer->items[i], "a choice number", 1, choices->n);

				if (mask & (1u << (c - 1)))
					sk_json_bad(f, answer->items[i], "choice %d is named twice in field \"answer\"", c);
				mask |= 1u << (c - 1);
			}
		}
		append_strings(buf, "choices", f, choices, "choice", 200);
		appendStringInfoString(buf, ",\"answer\":[");
		for (int c = 1, n = 0; c <= choices->n; c++)
		{
			if (mask & (1u << (c - 1)))
				appendStringInfo(buf, "%s%d", n++ > 0 ? "," : "", c);
		}
		appendStringInfoChar(buf, ']');
	}
	appendStringInfoChar(buf, '}');
}

/* Lesson codes are unique across every file of the load */
static void
note_lesson_code(content *ct, const sk_json_file *f, const sk_json *at, const char *code)
{
	for (int i = 0; i < ct->nlessons; i++)
	{
		if (strcmp(ct->lessons[i].code, code) == 0)
			sk_json_bad(f, at, "lesson code \"%s\" is used already (file \"%s\" line %d)", code,
						ct->lessons[i].file->name, ct->lessons[i].line);
	}
	if (ct->nlessons == ct->lessons_cap)
	{
		ct->lessons_cap = ct->lessons_cap == 0 ? 64 : ct->lessons_cap * 2;
		ct->lessons = ct->lessons == NULL ? palloc(sizeof(code_seen) * ct->lessons_cap)
			: repalloc(ct->lessons, sizeof(code_seen) * ct->lessons_cap);
	}
	ct->lessons[ct->nlessons].code = code;
	ct->lessons[ct->nlessons].file = f;
	ct->lessons[ct->nlessons].line = at->line;
	ct->nlessons++;
}

static void
read_lesson(content *ct, const sk_json_file *f, const char *course_code, const sk_json *l, int position)
{
	StringInfo	buf = &ct->lesson_json;
	sk_json    *code_node;
	char	   *code;
	sk_json    *quiz;
	sk_json    *questions;

	sk_json_keys(f, l, psprintf("lesson %d", position), lesson_keys, lengthof(lesson_keys));
	code = sk_json_string(f, l, "code", true, 1, 64, false);
	code_node = sk_json_get(f, l, "code", true);
	if (!sk_json_is_code(code))
		sk_json_bad(f, code_node, "lesson code \"%s\" must be 1 to 64 of a-z, 0-9 and '-'", code);
	note_lesson_code(ct, f, code_node, code);

	quiz = sk_json_get(f, l, "quiz", true);
	sk_json_keys(f, quiz, "field \"quiz\"", quiz_keys, lengthof(quiz_keys));
	questions = sk_json_array(f, quiz, "questions", true, 1, MAX_QUESTIONS);

	append_sep(buf);
	appendStringInfoChar(buf, '{');
	append_str(buf, "course", course_code, true);
	append_str(buf, "code", code, false);
	append_int(buf, "position", position);
	append_str(buf, "title", sk_json_string(f, l, "title", true, 1, 100, false), false);
	append_int(buf, "ord", ++ct->ord);
	append_int(buf, "minutes", sk_json_int(f, l, "minutes", true, 1, 60, 0));
	append_strings(buf, "body", f, sk_json_array(f, l, "body", true, 1, 50), "paragraph", 2000);
	append_strings(buf, "key_points", f, sk_json_array(f, l, "key_points", true, 1, 10), "key point", 300);
	append_int(buf, "pass_percent", sk_json_int(f, quiz, "pass_percent", true, 1, 100, 0));
	append_int(buf, "max_attempts_per_day", sk_json_int(f, quiz, "max_attempts_per_day", true, 1, 10, 0));
	appendStringInfoChar(buf, '}');

	for (int i = 0; i < questions->n; i++)
	{
		const char *qcode;

		read_question(ct, f, code, questions->items[i], i + 1);
		qcode = sk_json_get(f, questions->items[i], "code", true)->text;
		for (int k = 0; k < i; k++)
		{
			if (strcmp(sk_json_get(f, questions->items[k], "code", true)->text, qcode) == 0)
				sk_json_bad(f, questions->items[i], "question code \"%s\" repeats question %d of the lesson", qcode,
							k + 1);
		}
	}
}

static void
read_course(content *ct, sk_json_file *f)
{
	sk_json    *c = f->root;
	course_entry *entry = &ct->courses[ct->ncourses];
	StringInfo	buf = &ct->course_json;
	sk_json    *code_node;
	sk_json    *rewards;
	sk_json    *lessons;
	int64		age_min;
	int64		age_max;

	sk_json_keys(f, c, "a course file", course_keys, lengthof(course_keys));
	entry->code = sk_json_string(f, c, "code", true, 1, 64, false);
	code_node = sk_json_get(f, c, "code", true);
	if (!sk_json_is_code(entry->code))
		sk_json_bad(f, code_node, "course code \"%s\" must be 1 to 64 of a-z, 0-9 and '-'", entry->code);
	for (int i = 0; i < ct->ncourses; i++)
	{
		if (strcmp(ct->courses[i].code, entry->code) == 0)
			sk_json_bad(f, code_node, "course code \"%s\" is the code of file \"%s\" already", entry->code,
						ct->courses[i].file->name);
	}
	entry->file = f;
	entry->prerequisites = sk_json_array(f, c, "prerequisites", false, 0, 10);
	age_min = sk_json_int(f, c, "age_min", true, 5, 18, 0);
	age_max = sk_json_int(f, c, "age_max", true, 5, 18, 0);
	if (age_max < age_min)
		sk_json_bad(f, sk_json_get(f, c, "age_max", true), "field \"age_max\" is below field \"age_min\"");
	rewards = sk_json_get(f, c, "rewards", true);
	sk_json_keys(f, rewards, "field \"rewards\"", reward_keys, lengthof(reward_keys));
	lessons = sk_json_array(f, c, "lessons", true, 1, MAX_LESSONS);

	append_sep(buf);
	appendStringInfoChar(buf, '{');
	append_str(buf, "code", entry->code, true);
	append_str(buf, "title", sk_json_string(f, c, "title", true, 1, 100, false), false);
	append_int(buf, "ord", ++ct->ord);
	append_str(buf, "summary", sk_json_string(f, c, "summary", true, 1, 500, false), false);
	append_int(buf, "age_min", age_min);
	append_int(buf, "age_max", age_max);
	append_int(buf, "position", sk_json_int(f, c, "position", true, 1, 10000, 0));
	append_str(buf, "authors", sk_json_string(f, c, "authors", true, 1, 500, false), false);
	append_int(buf, "lesson_xp", sk_json_int(f, rewards, "lesson_xp", true, 0, 1000, 0));
	append_int(buf, "quiz_xp", sk_json_int(f, rewards, "quiz_xp", true, 0, 1000, 0));
	append_int(buf, "quiz_reward_krw", sk_json_int(f, rewards, "quiz_krw", true, 0, 100000, 0));
	append_int(buf, "quiz_reward_usd", sk_json_int(f, rewards, "quiz_usd_cents", true, 0, 10000, 0));
	append_int(buf, "completion_xp", sk_json_int(f, rewards, "course_xp", true, 0, 5000, 0));
	append_str(buf, "source_file", f->name, false);
	appendStringInfoChar(buf, '}');

	for (int i = 0; i < lessons->n; i++)
		read_lesson(ct, f, entry->code, lessons->items[i], i + 1);
	ct->ncourses++;
}

static course_entry *
find_course(content *ct, const char *code)
{
	for (int i = 0; i < ct->ncourses; i++)
	{
		if (strcmp(ct->courses[i].code, code) == 0)
			return &ct->courses[i];
	}
	return NULL;
}

/* Depth-first search for a prerequisite cycle through c */
static void
check_cycle(content *ct, course_entry *c)
{
	if (c->state == 2)
		return;
	c->state = 1;
	for (int i = 0; c->prerequisites != NULL && i < c->prerequisites->n; i++)
	{
		course_entry *r = find_course(ct, c->prerequisites->items[i]->text);

		if (r->state == 1)
			sk_json_bad(c->file, c->prerequisites->items[i],
						"prerequisite \"%s\" of course \"%s\" closes a cycle of prerequisites", r->code, c->code);
		check_cycle(ct, r);
	}
	c->state = 2;
}

/* Prerequisites name other courses of the load, once each, without cycles */
static void
read_prerequisites(content *ct)
{
	StringInfo	buf = &ct->prerequisite_json;

	for (int i = 0; i < ct->ncourses; i++)
	{
		course_entry *c = &ct->courses[i];

		for (int k = 0; c->prerequisites != NULL && k < c->prerequisites->n; k++)
		{
			sk_json    *item = c->prerequisites->items[k];
			char	   *code = sk_json_string_value(c->file, item, psprintf("prerequisite %d", k + 1), 1, 64, false);

			if (find_course(ct, code) == NULL)
				sk_json_bad(c->file, item, "prerequisite \"%s\" is not a course of this load", code);
			if (strcmp(code, c->code) == 0)
				sk_json_bad(c->file, item, "course \"%s\" cannot be its own prerequisite", code);
			for (int j = 0; j < k; j++)
			{
				if (strcmp(c->prerequisites->items[j]->text, code) == 0)
					sk_json_bad(c->file, item, "prerequisite \"%s\" is named twice", code);
			}
			append_sep(buf);
			appendStringInfoChar(buf, '{');
			append_str(buf, "course", c->code, true);
			append_str(buf, "requires", code, false);
			appendStringInfoChar(buf, '}');
		}
	}
	for (int i = 0; i < ct->ncourses; i++)
		check_cycle(ct, &ct->courses[i]);
}

/*
 * The writes, one statement per table over the checked content ($1 jsonb:
 * {"courses", "lessons", "questions", "prerequisites"}).  src marks each
 * row new or different; only those are written.  Each returns its counts.
 */
static const char *const write_courses_sql =
"WITH src AS MATERIALIZED ("
"    SELECT s.*, c.id IS NOT NULL AS existed,"
"           (c.title, c.summary, c.age_min, c.age_max, c.position, c.authors, c.lesson_xp, c.quiz_xp,"
"            c.quiz_reward_krw, c.quiz_reward_usd, c.completion_xp, c.source_file, c.active)"
"             IS DISTINCT FROM (s.title, s.summary, s.age_min, s.age_max, s.position, s.authors, s.lesson_xp,"
"            s.quiz_xp, s.quiz_reward_krw, s.quiz_reward_usd, s.completion_xp, s.source_file, true) AS differs"
"      FROM jsonb_to_recordset($1 -> 'courses') AS s (code text, title text, summary text, age_min smallint,"
"           age_max smallint, position integer, authors text, lesson_xp integer, quiz_xp integer,"
"           quiz_reward_krw bigint, quiz_reward_usd bigint, completion_xp integer, source_file text, ord integer)"
"      LEFT JOIN stockking.course c ON c.code = s.code"
"), up AS ("
"    INSERT INTO stockking.course (code, title, summary, age_min, age_max, position, authors, lesson_xp, quiz_xp,"
"                                  quiz_reward_krw, quiz_reward_usd, completion_xp, source_file)"
"    SELECT code, title, summary, age_min, age_max, position, authors, lesson_xp, quiz_xp, quiz_reward_krw,"
"           quiz_reward_usd, completion_xp, source_file FROM src WHERE differs ORDER BY ord"
"    ON CONFLICT (code) DO UPDATE SET title = excluded.title, summary = excluded.summary,"
"       age_min = excluded.age_min, age_max = excluded.age_max, position = excluded.position,"
"       authors = excluded.authors, lesson_xp = excluded.lesson_xp, quiz_xp = excluded.quiz_xp,"
"       quiz_reward_krw = excluded.quiz_reward_krw, quiz_reward_usd = excluded.quiz_reward_usd,"
"       completion_xp = excluded.completion_xp, source_file = excluded.source_file, active = true,"
"       updated_at = now()"
"), retired AS ("
"    UPDATE stockking.course c SET active = false, updated_at = now()"
"     WHERE c.active AND NOT EXISTS (SELECT 1 FROM src WHERE src.code = c.code) RETURNING 1"
")"
"SELECT jsonb_build_object('rows', count(*), 'inserted', count(*) FILTER (WHERE differs AND NOT existed),"
"       'updated', count(*) FILTER (WHERE differs AND existed), 'retired', (SELECT count(*) FROM retired))"
"  FROM src";

static const char *const write_lessons_sql =
"WITH s AS ("
"    SELECT r.course, r.code, r.position, r.title, r.minutes, r.ord,"
"           ARRAY(SELECT jsonb_array_elements_text(r.body)) AS body,"
"           ARRAY(SELECT jsonb_array_elements_text(r.key_points)) AS key_points"
"      FROM jsonb_to_recordset($1 -> 'lessons') AS r (course text, code text, position smallint, title text,"
"           minutes smallint, body jsonb, key_points jsonb, ord integer)"
"), src AS MATERIALIZED ("
"    SELECT s.*, co.id AS course_id, l.id IS NOT NULL AS existed,"
"           (l.course_id, l.position, l.title, l.minutes, l.body, l.key_points, l.active)"
"             IS DISTINCT FROM (co.id, s.position, s.title, s.minutes, s.body, s.key_points, true) AS differs"
"      FROM s JOIN stockking.course co ON co.code = s.course"
"      LEFT JOIN stockking.lesson l ON l.code = s.code"
"), up AS ("
"    INSERT INTO stockking.lesson (course_id, code, position, title, minutes, body, key_points)"
"    SELECT course_id, code, position, title, minutes, body, key_points FROM src WHERE differs ORDER BY ord"
"    ON CONFLICT (code) DO UPDATE SET course_id = excluded.course_id, position = excluded.position,"
"       title = excluded.title, minutes = excluded.minutes, body = excluded.body,"
"       key_points = excluded.key_points, active = true, updated_at = now()"
"), retired AS ("
"    UPDATE stockking.lesson l SET active = false, updated_at = now()"
"     WHERE l.active AND NOT EXISTS (SELECT 1 FROM src WHERE src.code = l.code) RETURNING 1"
")"
"SELECT jsonb_build_object('rows', count(*), 'inserted', count(*) FILTER (WHERE differs AND NOT existed),"
"       'updated', count(*) FILTER (WHERE differs AND existed), 'retired', (SELECT count(*) FROM retired))"
"  FROM src";

static const char *const write_quizzes_sql =
"WITH src AS MATERIALIZED ("
"    SELECT l.id AS lesson_id, r.pass_percent, r.max_attempts_per_day, r.ord, q.id IS NOT NULL AS existed,"
"           (q.pass_percent, q.max_attempts_per_day) IS DISTINCT FROM (r.pass_percent, r.max_attempts_per_day)"
"             AS differs"
"      FROM jsonb_to_recordset($1 -> 'lessons') AS r (code text, pass_percent smallint,"
"           max_attempts_per_day smallint, ord integer)"
"      JOIN stockking.lesson l ON l.code = r.code"
"      LEFT JOIN stockking.quiz q ON q.lesson_id = l.id"
"), up AS ("
"    INSERT INTO stockking.quiz (lesson_id, pass_percent, max_attempts_per_day)"
"    SELECT lesson_id, pass_percent, max_attempts_per_day FROM src WHERE differs ORDER BY ord"
"    ON CONFLICT (lesson_id) DO UPDATE SET pass_percent = excluded.pass_percent,"
"       max_attempts_per_day = excluded.max_attempts_per_day, updated_at = now()"
")"
"SELECT jsonb_build_object('rows', count(*), 'inserted', count(*) FILTER (WHERE differs AND NOT existed),"
"       'updated', count(*) FILTER (WHERE differs AND existed))"
"  FROM src";

static const char *const write_questions_sql =
"WITH s AS ("
"    SELECT r.lesson, r.code, r.position, r.kind, r.prompt, r.explanation, r.answer_number, r.unit, r.ord,"
"           CASE WHEN r.choices IS NOT NULL THEN ARRAY(SELECT jsonb_array_elements_text(r.choices)) END AS choices,"
"           CASE WHEN r.answer IS NOT NULL"
"                THEN ARRAY(SELECT a::smallint FROM jsonb_array_elements_text(r.answer) a) END AS answer"
"      FROM jsonb_to_recordset($1 -> 'questions') AS r (lesson text, code text, position smallint, kind text,"
"           prompt text, explanation text, choices jsonb, answer jsonb, answer_number bigint, unit text,"
"           ord integer)"
"), src AS MATERIALIZED ("
"    SELECT s.*, q.id AS quiz_id, e.id IS NOT NULL AS existed,"
"           (e.position, e.kind, e.prompt, e.choices, e.answer, e.answer_number, e.unit, e.explanation, e.active)"
"             IS DISTINCT FROM (s.position, s.kind, s.prompt, s.choices, s.answer, s.answer_number, s.unit,"
"                               s.explanation, true) AS differs"
"      FROM s JOIN stockking.lesson l ON l.code = s.lesson"
"      JOIN stockking.quiz q ON q.lesson_id = l.id"
"      LEFT JOIN stockking.quiz_question e ON e.quiz_id = q.id AND e.code = s.code"
"), up AS ("
"    INSERT INTO stockking.quiz_question (quiz_id, code, position, kind, prompt, choices, answer, answer_number,"
"                                         unit, explanation)"
"    SELECT quiz_id, code, position, kind, prompt, choices, answer, answer_number, unit, explanation"
"      FROM src WHERE differs ORDER BY ord"
"    ON CONFLICT (quiz_id, code) DO UPDATE SET position = excluded.position, kind = excluded.kind,"
"       prompt = excluded.prompt, choices = excluded.choices, answer = excluded.answer,"
"       answer_number = excluded.answer_number, unit = excluded.unit, explanation = excluded.explanation,"
"       active = true, updated_at = now()"
"), retired AS ("
"    UPDATE stockking.quiz_question e SET active = false, updated_at = now()"
"     WHERE e.active AND NOT EXISTS (SELECT 1 FROM src WHERE src.quiz_id = e.quiz_id AND src.code = e.code)"
"    RETURNING 1"
")"
"SELECT jsonb_build_object('rows', count(*), 'inserted', count(*) FILTER (WHERE differs AND NOT existed),"
"       'updated', count(*) FILTER (WHERE differs AND existed), 'retired', (SELECT count(*) FROM retired))"
"  FROM src";

static const char *const write_prerequisites_sql =
"WITH src AS MATERIALIZED ("
"    SELECT c.id AS course_id, r.id AS requires_id"
"      FROM jsonb_to_recordset($1 -> 'prerequisites') AS s (course text, requires text)"
"      JOIN stockking.course c ON c.code = s.course JOIN stockking.course r ON r.code = s.requires"
"), ins AS ("
"    INSERT INTO stockking.course_prerequisite (course_id, requires_id) SELECT course_id, requires_id FROM src"
"    ON CONFLICT DO NOTHING RETURNING 1"
"), del AS ("
"    DELETE FROM stockking.course_prerequisite p"
"     WHERE NOT EXISTS (SELECT 1 FROM src WHERE src.course_id = p.course_id AND src.requires_id = p.requires_id)"
"    RETURNING 1"
")"
"SELECT jsonb_build_object('rows', (SELECT count(*) FROM src), 'inserted', (SELECT count(*) FROM ins),"
"       'deleted', (SELECT count(*) FROM del))";

/* Run one write statement over the content; returns its counts (in SPI memory) */
static Datum
write_content(const char *sql, Datum doc)
{
	Oid			argtypes[1] = {JSONBOID};
	Datum		values[1] = {doc};
	bool		isnull;
	int			rc;

	rc = SPI_execute_with_args(sql, 1, argtypes, values, NULL, false, 0);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "writing education content failed: %s", SPI_result_code_string(rc));
	return SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
}

/*
 * stockking.load_education(dir text) RETURNS jsonb
 *
 * Load every *.json course file of dir.  Returns {"files", "courses",
 * "lessons", "quizzes", "questions", "prerequisites"}, each table with its
 * rows, inserted, updated (and retired or deleted) counts.
 */
Datum
stockking_load_education(PG_FUNCTION_ARGS)
{
	char	   *dir;
	char	  **names;
	int			nfiles;
	content		ct;
	StringInfoData doc;
	Datum		docd;
	Datum		counts[5];
	Datum		result;
	MemoryContext scratch;
	MemoryContext caller = CurrentMemoryContext;

	sk_json_check_privilege("education content files");
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("directory must not be null")));
	dir = text_to_cstring(PG_GETARG_TEXT_PP(0));
	canonicalize_path(dir);

	scratch = AllocSetContextCreate(CurrentMemoryContext, "stockking education load", ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(scratch);
	names = sk_json_list_dir(dir, ".json", &nfiles);
	if (nfiles == 0)
		ereport(ERROR,
				(errcode(ERRCODE_SK_BAD_EDUCATION_CONTENT),
				 errmsg("directory \"%s\" holds no course files (*.json)", dir)));

	memset(&ct, 0, sizeof(ct));
	ct.courses = palloc0(sizeof(course_entry) * nfiles);
	initStringInfo(&ct.course_json);
	initStringInfo(&ct.lesson_json);
	initStringInfo(&ct.question_json);
	initStringInfo(&ct.prerequisite_json);
	appendStringInfoChar(&ct.course_json, '[');
	appendStringInfoChar(&ct.lesson_json, '[');
	appendStringInfoChar(&ct.question_json, '[');
	appendStringInfoChar(&ct.prerequisite_json, '[');
	for (int i = 0; i < nfiles; i++)
	{
		sk_json_file *f = palloc0(sizeof(sk_json_file));

		sk_json_read(f, dir, names[i], ERRCODE_SK_BAD_EDUCATION_CONTENT);
		read_course(&ct, f);
	}
	read_prerequisites(&ct);

	initStringInfo(&doc);
	appendStringInfo(&doc, "{\"courses\":%s],\"lessons\":%s],\"questions\":%s],\"prerequisites\":%s]}",
					 ct.course_json.data, ct.lesson_json.data, ct.question_json.data, ct.prerequisite_json.data);
	docd = sk_jsonb_from_buf(&doc);

	MemoryContextSwitchTo(caller);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute("LOCK TABLE stockking.course, stockking.lesson, stockking.quiz, stockking.quiz_question,"
					" stockking.course_prerequisite IN SHARE ROW EXCLUSIVE MODE", false, 0) != SPI_OK_UTILITY)
		elog(ERROR, "locking the education tables failed");
	counts[0] = write_content(write_courses_sql, docd);
	counts[1] = write_content(write_lessons_sql, docd);
	counts[2] = write_content(write_quizzes_sql, docd);
	counts[3] = write_content(write_questions_sql, docd);
	counts[4] = write_content(write_prerequisites_sql, docd);
	{
		StringInfoData out;

		initStringInfo(&out);
		appendStringInfo(&out, "{\"files\": %d, \"courses\": %s, \"lessons\": %s, \"quizzes\": %s, \"questions\": %s,"
						 " \"prerequisites\": %s}", nfiles,
						 JsonbToCString(NULL, &DatumGetJsonbP(counts[0])->root, 0),
						 JsonbToCString(NULL, &DatumGetJsonbP(counts[1])->root, 0),
						 JsonbToCString(NULL, &DatumGetJsonbP(counts[2])->root, 0),
						 JsonbToCString(NULL, &DatumGetJsonbP(counts[3])->root, 0),
						 JsonbToCString(NULL, &DatumGetJsonbP(counts[4])->root, 0));
		result = SPI_datumTransfer(sk_jsonb_from_buf(&out), false, -1);
	}
	SPI_finish();
	MemoryContextDelete(scratch);
	PG_RETURN_DATUM(result);
}

/* -------------------------------------------------------------------------
 * The learner, courses and lessons
 * -------------------------------------------------------------------------
 */

typedef struct learner
{
	const char *user_id;
	char	   *family_id;
} learner;

static sk_stmt s_family = {
	"SELECT stockking.my_family()::text",
	0, {0}
};

/* The calling child (SK009 for anyone else); SPI connected */
static void
start_learner(learner *l, const char *action)
{
	l->user_id = sk_require_user();
	if (strcmp(sk_request_role(), "CHILD") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_SK_NOT_A_CHILD),
				 errmsg("only a child %s", action)));
	sk_exec(&s_family, NULL, NULL, true, 1);
	l->family_id = sk_get_text(0, 1);
	if (l->family_id == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("user %s not found", l->user_id)));
}

/* A content id from the arguments: positive and within integer, else it names nothing (P0002) */
static int32
content_id(Jsonb *args, const char *key, const char *what)
{
	int64		id;

	sk_arg_int64(args, key, true, &id);
	if (id < 1 || id > PG_INT32_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("%s " INT64_FORMAT " not found", what, id)));
	return (int32) id;
}

static sk_stmt s_course_open = {
	"INSERT INTO stockking.course_progress (user_id, course_id, family_id) VALUES ($1::uuid, $2, $3::uuid)"
	" ON CONFLICT (user_id, course_id) DO NOTHING",
	3, {T, I4, T}
};
static sk_stmt s_course_lock = {
	"SELECT 1 FROM stockking.course_progress WHERE user_id = $1::uuid AND course_id = $2 FOR UPDATE",
	2, {T, I4}
};
static sk_stmt s_prerequisites_open = {
	"SELECT string_agg(format('\"%s\" (%s)', r.title, r.code), ', ' ORDER BY r.position, r.code)"
	" FROM stockking.course_prerequisite p JOIN stockking.course r ON r.id = p.requires_id"
	" WHERE p.course_id = $1 AND r.active AND NOT EXISTS (SELECT 1 FROM stockking.course_progress cp"
	"   WHERE cp.user_id = $2::uuid AND cp.course_id = r.id AND cp.completed_at IS NOT NULL)",
	2, {I4, T}
};
static sk_stmt s_earlier_open = {
	"SELECT l.id, l.title FROM stockking.lesson l WHERE l.course_id = $1 AND l.active AND l.position < $2"
	" AND NOT EXISTS (SELECT 1 FROM stockking.lesson_progress lp WHERE lp.user_id = $3::uuid"
	"   AND lp.lesson_id = l.id AND lp.completed_at IS NOT NULL) ORDER BY l.position LIMIT 1",
	3, {I4, I4, T}
};

/*
 * Start (when new) and lock the learner's progress in a course -- the
 * serialization point of a child's work in it -- and check that its
 * prerequisites are completed (SK301).
 */
static void
open_course(const learner *l, int32 course_id, const char *course_title)
{
	{
		Datum		v[3] = {CStringGetTextDatum(l->user_id), Int32GetDatum(course_id), CStringGetTextDatum(l->family_id)};

		sk_exec(&s_course_open, v, NULL, false, 0);
		sk_exec(&s_course_lock, v, NULL, false, 1);
	}
	{
		Datum		v[2] = {Int32GetDatum(course_id), CStringGetTextDatum(l->user_id)};
		char	   *missing;

		sk_exec(&s_prerequisites_open, v, NULL, false, 1);
		missing = sk_get_text(0, 1);
		if (missing != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_SK_COURSE_LOCKED),
					 errmsg("course \"%s\" opens after its prerequisites are completed", course_title),
					 errdetail("Complete %s first.", missing)));
	}
}

/* Every earlier lesson of the course must be completed (SK302) */
static void
check_lesson_order(const learner *l, int32 course_id, int32 position, const char *lesson_title)
{
	Datum		v[3] = {Int32GetDatum(course_id), Int32GetDatum(position), CStringGetTextDatum(l->user_id)};

	sk_exec(&s_earlier_open, v, NULL, false, 1);
	if (SPI_processed == 1)
		ereport(ERROR,
				(errcode(ERRCODE_SK_LESSON_LOCKED),
				 errmsg("lesson \"%s\" opens after the lessons before it are completed", lesson_title),
				 errdetail("Read lesson " INT64_FORMAT " (\"%s\") and pass its quiz first.",
						   sk_get_int64(0, 1, NULL), sk_get_text(0, 2))));
}

/* The streak */

static sk_stmt s_streak_open = {
	"INSERT INTO stockking.learning_streak (user_id, family_id) VALUES ($1::uuid, $2::uuid)"
	" ON CONFLICT (user_id) DO NOTHING",
	2, {T, T}
};
static sk_stmt s_streak_lock = {
	"SELECT last_day, current_days, longest_days, stockking.seoul_day(now()) FROM stockking.learning_streak"
	" WHERE user_id = $1::uuid FOR UPDATE",
	1, {T}
};
static sk_stmt s_streak_set = {
	"UPDATE stockking.learning_streak SET last_day = $2, current_days = $3, longest_days = $4, updated_at = now()"
	" WHERE user_id = $1::uuid",
	4, {T, D, I4, I4}
};

/*
 * The streak after learning on day: the same day changes nothing, the day
 * after the last learning day adds one, a later day starts again at one.
 * has_last false: never learned before.
 */
static void
streak_next(bool has_last, DateADT last_day, int32 current, int32 longest, DateADT day,
			   int32 *new_current, int32 *new_longest)
{
	if (has_last && day <= last_day)
		*new_current = Max(current, 1);
	else if (has_last && day == last_day + 1)
		*new_current = current + 1;
	else
		*new_current = 1;
	*new_longest = Max(longest, *new_current);
}

/* Today is a learning day of the learner; a week of them in a row earns a badge */
static void
learn_today(const learner *l, sk_progress *c)
{
	Datum		uid = CStringGetTextDatum(l->user_id);
	bool		no_last;
	bool		isnull;
	DateADT		last_day;
	DateADT		today;
	int32		current;
	int32		longest;

	{
		Datum		v[2] = {uid, CStringGetTextDatum(l->family_id)};

		sk_exec(&s_streak_open, v, NULL, false, 0);
	}
	{
		Datum		v[1] = {uid};

		sk_exec(&s_streak_lock, v, NULL, false, 1);
		last_day = DatumGetDateADT(sk_get_datum(0, 1, &no_last));
		current = DatumGetInt32(sk_get_datum(0, 2, &isnull));
		longest = DatumGetInt32(sk_get_datum(0, 3, &isnull));
		today = DatumGetDateADT(sk_get_datum(0, 4, &isnull));
	}
	if (!no_last && last_day >= today)
		return;
	streak_next(!no_last, last_day, current, longest, today, &current, &longest);
	{
		Datum		v[4] = {uid, DateADTGetDatum(today), Int32GetDatum(current), Int32GetDatum(longest)};

		sk_exec(&s_streak_set, v, NULL, false, 0);
	}
	if (current >= STREAK_BADGE_DAYS)
		sk_progress_badge(c, "LEARNING_STREAK_7");
}

/*
 * stockking.learning_streak_next(last_day date, current_days integer,
 * longest_days integer, day date, OUT current_days integer, OUT
 * longest_days integer): the rule of streak_next, for tests and
 * operators.  last_day NULL: never learned before.
 */
Datum
stockking_learning_streak_next(PG_FUNCTION_ARGS)
{
	TupleDesc	desc;
	Datum		values[2];
	bool		nulls[2] = {false, false};
	int32		current;
	int32		longest;

	if (PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
		PG_RETURN_NULL();
	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "learning_streak_next must return a record");
	streak_next(!PG_ARGISNULL(0), PG_ARGISNULL(0) ? 0 : PG_GETARG_DATEADT(0), PG_GETARG_INT32(1),
				   PG_GETARG_INT32(2), PG_GETARG_DATEADT(3), &current, &longest);
	values[0] = Int32GetDatum(current);
	values[1] = Int32GetDatum(longest);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls)));
}

/* Reading a lesson */

typedef struct lesson_info
{
	int32		id;
	int32		course_id;
	int32		position;
	int32		lesson_xp;
	char	   *title;
	char	   *course_title;
} lesson_info;

static sk_stmt s_lesson = {
	"SELECT l.course_id, l.position, c.lesson_xp, l.title, c.title FROM stockking.lesson l"
	" JOIN stockking.course c ON c.id = l.course_id WHERE l.id = $1 AND l.active AND c.active",
	1, {I4}
};
static sk_stmt s_read = {
	"INSERT INTO stockking.lesson_progress (user_id, lesson_id, course_id, family_id)"
	" VALUES ($1::uuid, $2, $3, $4::uuid) ON CONFLICT (user_id, lesson_id) DO NOTHING RETURNING 1",
	4, {T, I4, I4, T}
};
static sk_stmt s_read_event = {
	"SELECT stockking.emit_event($1::uuid, $2::uuid, 'FAMILY', 'LessonRead', jsonb_build_object("
	" 'lesson_id', l.id, 'lesson', l.title, 'course_id', c.id, 'course', c.title, 'xp', $4))"
	" FROM stockking.lesson l JOIN stockking.course c ON c.id = l.course_id WHERE l.id = $3",
	4, {T, T, I4, I4}
};
static sk_stmt s_read_result = {
	"SELECT jsonb_build_object('lesson_id', l.id, 'course_id', l.course_id, 'read_at', lp.read_at,"
	" 'first_read', $3, 'xp_earned', $4, 'quiz_id', q.id, 'quiz_passed_at', lp.quiz_passed_at,"
	" 'completed_at', lp.completed_at,"
	" 'next_lesson_id', (SELECT n.id FROM stockking.lesson n WHERE n.course_id = l.course_id AND n.active"
	"                     AND n.position > l.position ORDER BY n.position LIMIT 1),"
	" 'course_progress', stockking.course_progress_json(lp.user_id, l.course_id),"
	" 'streak', stockking.streak_json(lp.user_id))"
	" FROM stockking.lesson_progress lp JOIN stockking.lesson l ON l.id = lp.lesson_id"
	" LEFT JOIN stockking.quiz q ON q.lesson_id = l.id WHERE lp.user_id = $1::uuid AND lp.lesson_id = $2",
	4, {T, I4, B, I8}
};

static void
find_lesson(int32 id, lesson_info *li)
{
	Datum		v[1] = {Int32GetDatum(id)};

	sk_exec(&s_lesson, v, NULL, false, 1);
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("lesson %d not found", id)));
	li->id = id;
	li->course_id = (int32) sk_get_int64(0, 1, NULL);
	li->position = (int32) sk_get_int64(0, 2, NULL);
	li->lesson_xp = (int32) sk_get_int64(0, 3, NULL);
	li->title = sk_get_text(0, 4);
	li->course_title = sk_get_text(0, 5);
}

/*
 * api.complete_lesson(args jsonb) RETURNS jsonb
 *
 * Args: id (lesson).  The calling child has read the lesson.
 */
Datum
stockking_complete_lesson(PG_FUNCTION_ARGS)
{
	Jsonb	   *args = PG_GETARG_JSONB_P(0);
	int32		id = content_id(args, "id", "lesson");
	learner		l;
	lesson_info li;
	bool		first;
	sk_progress c;
	int64		xp;
	Datum		result;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	start_learner(&l, "records lesson progress");
	find_lesson(id, &li);
	open_course(&l, li.course_id, li.course_title);
	check_lesson_order(&l, li.course_id, li.position, li.title);
	{
		Datum		v[4] = {CStringGetTextDatum(l.user_id), Int32GetDatum(id), Int32GetDatum(li.course_id),
		CStringGetTextDatum(l.family_id)};

		sk_exec(&s_read, v, NULL, false, 0);
		first = SPI_processed == 1;
	}
	sk_progress_start(&c, l.user_id, l.family_id);
	if (first)
	{
		c.xp += li.lesson_xp;
		learn_today(&l, &c);
		sk_progress_badge(&c, "FIRST_LESSON");
		sk_progress_advance(&c, "DAILY_LESSON", c.day, 1, true);
		{
			Datum		v[4] = {CStringGetTextDatum(l.user_id), CStringGetTextDatum(l.family_id), Int32GetDatum(id),
			Int32GetDatum(li.lesson_xp)};

			sk_exec(&s_read_event, v, NULL, false, 1);
		}
	}
	xp = c.xp;
	sk_progress_finish(&c);
	{
		Datum		v[4] = {CStringGetTextDatum(l.user_id), Int32GetDatum(id), BoolGetDatum(first), Int64GetDatum(xp)};

		result = sk_exec_jsonb(&s_read_result, v, NULL);
	}
	SPI_finish();
	PG_RETURN_DATUM(result);
}

/* -------------------------------------------------------------------------
 * Quizzes
 * -------------------------------------------------------------------------
 */

typedef enum question_kind
{
	Q_SINGLE,
	Q_MULTIPLE,
	Q_NUMBER
} question_kind;

typedef struct question
{
	int32		id;
	question_kind kind;
	int			nchoices;
	uint32		right_mask;		/* bit c - 1: choice c is right */
	int64		right_number;
	bool		answered;
	uint32		given_mask;
	int64		given_number;
	bool		correct;
} question;

typedef struct quiz_info
{
	int32		id;
	int32		lesson_id;
	int32		course_id;
	int32		lesson_position;
	int32		pass_percent;
	int32		max_attempts;
	int32		quiz_xp;
	int64		reward_krw;
	int64		reward_usd;
	int32		completion_xp;
	char	   *lesson_title;
	char	   *course_title;
	question   *questions;
	int			nquestions;
} quiz_info;

static sk_stmt s_quiz = {
	"SELECT q.lesson_id, l.course_id, l.position, q.pass_percent, q.max_attempts_per_day, c.quiz_xp,"
	" c.quiz_reward_krw, c.quiz_reward_usd, c.completion_xp, l.title, c.title"
	" FROM stockking.quiz q JOIN stockking.lesson l ON l.id = q.lesson_id JOIN stockking.course c ON c.id = l.course_id"
	" WHERE q.id = $1 AND l.active AND c.active",
	1, {I4}
};
static sk_stmt s_questions = {
	"SELECT id, kind, coalesce(cardinality(choices), 0),"
	" coalesce((SELECT sum(1 << (a - 1)) FROM unnest(answer) a), 0)::bigint, answer_number"
	" FROM stockking.quiz_question WHERE quiz_id = $1 AND active ORDER BY position",
	1, {I4}
};

static void
find_quiz(int32 id, quiz_info *qi)
{
	Datum		v[1] = {Int32GetDatum(id)};
	bool		isnull;

	sk_exec(&s_quiz, v, NULL, false, 1);
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("quiz %d not found", id)));
	qi->id = id;
	qi->lesson_id = (int32) sk_get_int64(0, 1, NULL);
	qi->course_id = (int32) sk_get_int64(0, 2, NULL);
	qi->lesson_position = (int32) sk_get_int64(0, 3, NULL);
	qi->pass_percent = (int32) sk_get_int64(0, 4, NULL);
	qi->max_attempts = (int32) sk_get_int64(0, 5, NULL);
	qi->quiz_xp = (int32) sk_get_int64(0, 6, NULL);
	qi->reward_krw = sk_get_int64(0, 7, NULL);
	qi->reward_usd = sk_get_int64(0, 8, NULL);
	qi->completion_xp = (int32) sk_get_int64(0, 9, NULL);
	qi->lesson_title = sk_get_text(0, 10);
	qi->course_title = sk_get_text(0, 11);

	sk_exec(&s_questions, v, NULL, false, 0);
	qi->nquestions = (int) SPI_processed;
	if (qi->nquestions == 0)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("quiz %d has no questions", id)));
	qi->questions = palloc0(sizeof(question) * qi->nquestions);
	for (int i = 0; i < qi->nquestions; i++)
	{
		question   *q = &qi->questions[i];
		char	   *kind = sk_get_text(i, 2);

		q->id = (int32) sk_get_int64(i, 1, NULL);
		q->kind = strcmp(kind, "SINGLE") == 0 ? Q_SINGLE : strcmp(kind, "MULTIPLE") == 0 ? Q_MULTIPLE : Q_NUMBER;
		q->nchoices = (int) sk_get_int64(i, 3, NULL);
		q->right_mask = (uint32) sk_get_int64(i, 4, NULL);
		q->right_number = sk_get_int64(i, 5, &isnull);
	}
}

/* a malformed quiz submission: 22023, nothing recorded */
#define bad_answer(...) \
	ereport(ERROR, \
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE), \
			 errmsg(__VA_ARGS__), \
			 errhint("Send {\"quiz_id\": n, \"answers\": [{\"question_id\": n, \"answer\": ...}, ...]}: a choice " \
					 "number for SINGLE, an array of choice numbers for MULTIPLE, a whole number for NUMBER.")))

/*
 * A whole number from a JSON number or string: digits with an optional
 * minus; a string may group them in threes with commas ("12,100").  False
 * when it is not one or has more than 16 digits.
 */
static bool
json_whole_number(JsonbValue *v, int64 *out)
{
	char	   *s;
	bool		negative = false;
	bool		grouped = false;
	int64		value = 0;
	int			digits = 0;
	int			group = 0;		/* digits since the start or the last comma */

	if (v->type == jbvNumeric)
		s = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v->val.numeric)));
	else if (v->type == jbvString)
		s = pnstrdup(v->val.string.val, v->val.string.len);
	else
		return false;
	if (*s == '-')
	{
		negative = true;
		s++;
	}
	for (; *s; s++)
	{
		if (*s == ',' && v->type == jbvString)
		{
			if (group < 1 || group > 3 || (grouped && group != 3))
				return false;
			grouped = true;
			group = 0;
			continue;
		}
		if (*s < '0' || *s > '9' || ++digits > 16)
			return false;
		value = value * 10 + (*s - '0');
		group++;
	}
	if (digits == 0 || (grouped && group != 3))
		return false;
	*out = negative ? -value : value;
	return true;
}

static question *
question_by_id(quiz_info *qi, int64 id)
{
	for (int i = 0; i < qi->nquestions; i++)
	{
		if (qi->questions[i].id == id)
			return &qi->questions[i];
	}
	return NULL;
}

/* One answer's value for question q, checked against its kind */
static void
read_answer(question *q, JsonbValue *v)
{
	int64		n;

	if (q->kind == Q_NUMBER)
	{
		if (!json_whole_number(v, &n))
			bad_answer("question %d needs a whole number as its answer", q->id);
		q->given_number = n;
	}
	else if (q->kind == Q_SINGLE)
	{
		if (!json_whole_number(v, &n) || n < 1 || n > q->nchoices)
			bad_answer("question %d needs one choice number from 1 to %d as its answer", q->id, q->nchoices);
		q->given_mask = 1u << (n - 1);
	}
	else
	{
		JsonbIterator *it;
		JsonbValue	item;
		JsonbIteratorToken tok;

		if (v->type != jbvBinary || !JsonContainerIsArray(v->val.binary.data) ||
			JsonContainerSize(v->val.binary.data) < 1)
			bad_answer("question %d needs an array of choice numbers (1 to %d) as its answer", q->id, q->nchoices);
		it = JsonbIteratorInit(v->val.binary.data);
		while ((tok = JsonbIteratorNext(&it, &item, true)) != WJB_DONE)
		{
			if (tok != WJB_ELEM)
				continue;
			if (!json_whole_number(&item, &n) || n < 1 || n > q->nchoices)
				bad_answer("question %d needs an array of choice numbers (1 to %d) as its answer", q->id, q->nchoices);
			if (q->given_mask & (1u << (n - 1)))
				bad_answer("question %d names choice " INT64_FORMAT " twice", q->id, n);
			q->given_mask |= 1u << (n - 1);
		}
	}
	q->answered = true;
}

/*
 * Read args.answers: every question of the quiz answered once, each answer
 * of its kind.  Anything else is 22023, before anything is written.
 */
static void
read_answers(Jsonb *args, quiz_info *qi)
{
	JsonbValue *answers = getKeyJsonValueFromContainer(&args->root, "answers", strlen("answers"), NULL);
	JsonbIterator *it;
	JsonbValue	elem;
	JsonbIteratorToken tok;
	int			n = 0;

	if (answers == NULL || answers->type != jbvBinary || !JsonContainerIsArray(answers->val.binary.data))
		bad_answer("field \"answers\" must be an array");
	it = JsonbIteratorInit(answers->val.binary.data);
	while ((tok = JsonbIteratorNext(&it, &elem, true)) != WJB_DONE)
	{
		JsonbValue *qid;
		JsonbValue *value;
		int64		id;
		question   *q;

		if (tok != WJB_ELEM)
			continue;
		n++;
		if (elem.type != jbvBinary || !JsonContainerIsObject(elem.val.binary.data))
			bad_answer("answer %d must be an object {\"question_id\", \"answer\"}", n);
		qid = getKeyJsonValueFromContainer(elem.val.binary.data, "question_id", strlen("question_id"), NULL);
		value = getKeyJsonValueFromContainer(elem.val.binary.data, "answer", strlen("answer"), NULL);
		if (qid == NULL || !json_whole_number(qid, &id))
			bad_answer("answer %d needs a \"question_id\"", n);
		q = question_by_id(qi, id);
		if (q == NULL)
			bad_answer("question " INT64_FORMAT " is not a question of quiz %d", id, qi->id);
		if (q->answered)
			bad_answer("question %d is answered twice", q->id);
		if (value == NULL || value->type == jbvNull)
			bad_answer("answer %d has no \"answer\"", n);
		read_answer(q, value);
	}
	for (int i = 0; i < qi->nquestions; i++)
	{
		if (!qi->questions[i].answered)
			bad_answer("question %d of quiz %d is not answered", qi->questions[i].id, qi->id);
	}
}

/* Grade every question; returns the number right */
static int
grade(quiz_info *qi)
{
	int			correct = 0;

	for (int i = 0; i < qi->nquestions; i++)
	{
		question   *q = &qi->questions[i];

		q->correct = q->kind == Q_NUMBER ? q->given_number == q->right_number : q->given_mask == q->right_mask;
		if (q->correct)
			correct++;
	}
	return correct;
}

/* The answers as stored with the attempt: {"<question id>": answer} */
static char *
answers_json(const quiz_info *qi)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	for (int i = 0; i < qi->nquestions; i++)
	{
		const question *q = &qi->questions[i];

		appendStringInfo(&buf, "%s\"%d\": ", i > 0 ? ", " : "", q->id);
		if (q->kind == Q_NUMBER)
			appendStringInfo(&buf, INT64_FORMAT, q->given_number);
		else if (q->kind == Q_SINGLE)
			appendStringInfo(&buf, "%d", pg_rightmost_one_pos32(q->given_mask) + 1);
		else
		{
			appendStringInfoChar(&buf, '[');
			for (int c = 1, n = 0; c <= q->nchoices; c++)
			{
				if (q->given_mask & (1u << (c - 1)))
					appendStringInfo(&buf, "%s%d", n++ > 0 ? ", " : "", c);
			}
			appendStringInfoChar(&buf, ']');
		}
	}
	appendStringInfoChar(&buf, '}');
	return buf.data;
}

/* The ids of the questions answered right, as an int4[] literal */
static char *
correct_ids(const quiz_info *qi)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	for (int i = 0, n = 0; i < qi->nquestions; i++)
	{
		if (qi->questions[i].correct)
			appendStringInfo(&buf, "%s%d", n++ > 0 ? "," : "", qi->questions[i].id);
	}
	appendStringInfoChar(&buf, '}');
	return buf.data;
}

static sk_stmt s_lesson_state = {
	"SELECT read_at IS NOT NULL FROM stockking.lesson_progress WHERE user_id = $1::uuid AND lesson_id = $2",
	2, {T, I4}
};
static sk_stmt s_result_open = {
	"INSERT INTO stockking.quiz_result (user_id, quiz_id, family_id) VALUES ($1::uuid, $2, $3::uuid)"
	" ON CONFLICT (user_id, quiz_id) DO NOTHING",
	3, {T, I4, T}
};
static sk_stmt s_result_lock = {
	"SELECT passed_at IS NOT NULL, attempts,"
	" (SELECT count(*) FROM stockking.quiz_attempt a WHERE a.user_id = r.user_id AND a.quiz_id = r.quiz_id"
	"   AND a.seoul_day = stockking.seoul_day(now())),"
	" to_char(stockking.seoul_day(now()) + 1, 'YYYY-MM-DD') || ' 00:00 Asia/Seoul'"
	" FROM stockking.quiz_result r WHERE r.user_id = $1::uuid AND r.quiz_id = $2 FOR UPDATE",
	2, {T, I4}
};
static sk_stmt s_attempt = {
	"INSERT INTO stockking.quiz_attempt (user_id, family_id, quiz_id, attempt_no, seoul_day, answers, correct_ids,"
	" correct, total, passed) VALUES ($1::uuid, $2::uuid, $3, $4, stockking.seoul_day(now()), $5::jsonb, $6::int4[],"
	" $7, $8, $9) RETURNING id",
	9, {T, T, I4, I4, T, T, I4, I4, B}
};
static sk_stmt s_result_update = {
	"UPDATE stockking.quiz_result SET attempts = attempts + 1, best_correct = greatest(best_correct, $3),"
	" total = $4, passed_at = CASE WHEN $5 THEN now() END, updated_at = now()"
	" WHERE user_id = $1::uuid AND quiz_id = $2",
	5, {T, I4, I4, I4, B}
};
static sk_stmt s_result_reward = {
	"UPDATE stockking.quiz_result SET reward_account_id = $3, reward_amount = $4, reward_currency = $5,"
	" reward_xp = $6 WHERE user_id = $1::uuid AND quiz_id = $2",
	6, {T, I4, I8, I8, T, I4}
};
static sk_stmt s_lesson_passed = {
	"UPDATE stockking.lesson_progress SET quiz_passed_at = now(), completed_at = now()"
	" WHERE user_id = $1::uuid AND lesson_id = $2",
	2, {T, I4}
};
static sk_stmt s_passed_event = {
	"SELECT stockking.emit_event($1::uuid, $2::uuid, 'FAMILY', 'QuizPassed', jsonb_build_object("
	" 'quiz_id', r.quiz_id, 'lesson_id', $4, 'lesson', $5::text, 'correct', $6, 'total', $7, 'xp', $8,"
	" 'reward', CASE WHEN r.reward_account_id IS NOT NULL THEN jsonb_build_object('account_id', r.reward_account_id,"
	"   'amount', stockking.money_json(r.reward_amount, r.reward_currency), 'currency', r.reward_currency) END))"
	" FROM stockking.quiz_result r WHERE r.user_id = $1::uuid AND r.quiz_id = $3",
	8, {T, T, I4, I4, T, I4, I4, I4}
};
static sk_stmt s_course_remaining = {
	"SELECT count(*) FILTER (WHERE lp.completed_at IS NULL), count(*) FROM stockking.lesson l"
	" LEFT JOIN stockking.lesson_progress lp ON lp.lesson_id = l.id AND lp.user_id = $1::uuid"
	" WHERE l.course_id = $2 AND l.active",
	2, {T, I4}
};
static sk_stmt s_course_complete = {
	"UPDATE stockking.course_progress SET completed_at = now(), updated_at = now()"
	" WHERE user_id = $1::uuid AND course_id = $2 AND completed_at IS NULL RETURNING 1",
	2, {T, I4}
};
static sk_stmt s_certificate = {
	"INSERT INTO stockking.certificate (user_id, family_id, course_id, holder_nickname)"
	" SELECT u.id, $2::uuid, $3, u.nickname FROM stockking.users u WHERE u.id = $1::uuid"
	" ON CONFLICT (user_id, course_id) DO NOTHING RETURNING id::text",
	3, {T, T, I4}
};
static sk_stmt s_completed_event = {
	"SELECT stockking.emit_event($1::uuid, $2::uuid, 'FAMILY', 'CourseCompleted', jsonb_build_object("
	" 'course_id', c.id, 'course', c.title, 'certificate_id', $4::uuid, 'xp', $5))"
	" FROM stockking.course c WHERE c.id = $3",
	5, {T, T, I4, T, I4}
};
static sk_stmt s_quiz_result = {
	"SELECT jsonb_build_object('quiz_id', a.quiz_id, 'lesson_id', q.lesson_id, 'attempt', a.attempt_no,"
	" 'score', jsonb_build_object('correct', a.correct, 'total', a.total, 'percent', a.correct * 100 / a.total),"
	" 'passed', a.passed, 'pass_percent', q.pass_percent, 'attempts_today', $3,"
	" 'attempts_left_today', CASE WHEN a.passed THEN 0 ELSE greatest(q.max_attempts_per_day - $3, 0) END,"
	" 'answers_revealed', $2,"
	" 'questions', (SELECT jsonb_agg(jsonb_build_object('id', e.id, 'position', e.position, 'kind', e.kind,"
	"     'correct', e.id = ANY (a.correct_ids), 'your_answer', a.answers -> e.id::text)"
	"   || CASE WHEN $2 THEN jsonb_build_object('right_answer', CASE e.kind WHEN 'NUMBER' THEN to_jsonb(e.answer_number)"
	"        WHEN 'SINGLE' THEN to_jsonb(e.answer[1]) ELSE to_jsonb(e.answer) END, 'explanation', e.explanation)"
	"      ELSE '{}' END ORDER BY e.position)"
	"   FROM stockking.quiz_question e WHERE e.quiz_id = a.quiz_id AND a.answers ? e.id::text),"
	" 'xp_earned', $4,"
	" 'reward', CASE WHEN $5 THEN jsonb_build_object('account_id', r.reward_account_id,"
	"   'amount', stockking.money_json(r.reward_amount, r.reward_currency), 'currency', r.reward_currency) END,"
	" 'lesson', jsonb_build_object('read_at', lp.read_at, 'quiz_passed_at', lp.quiz_passed_at,"
	"   'completed_at', lp.completed_at),"
	" 'course_progress', stockking.course_progress_json(a.user_id, l.course_id),"
	" 'certificate', (SELECT stockking.certificate_json(c) FROM stockking.certificate c"
	"   WHERE c.user_id = a.user_id AND c.course_id = l.course_id AND $6),"
	" 'streak', stockking.streak_json(a.user_id))"
	" FROM stockking.quiz_attempt a JOIN stockking.quiz q ON q.id = a.quiz_id"
	" JOIN stockking.lesson l ON l.id = q.lesson_id"
	" JOIN stockking.quiz_result r ON r.user_id = a.user_id AND r.quiz_id = a.quiz_id"
	" LEFT JOIN stockking.lesson_progress lp ON lp.user_id = a.user_id AND lp.lesson_id = q.lesson_id"
	" WHERE a.id = $1",
	6, {I8, B, I4, I8, B, B}
};

/*
 * The course is completed when every active lesson of it is: mark it, issue
 * the certificate, give the course's XP and badge.  Returns whether it was
 * completed now.
 */
static bool
complete_course(const learner *l, const quiz_info *qi, sk_progress *c)
{
	Datum		v[3] = {CStringGetTextDatum(l->user_id), Int32GetDatum(qi->course_id), CStringGetTextDatum(l->family_id)};
	char	   *certificate;

	sk_exec(&s_course_remaining, v, NULL, false, 1);
	if (sk_get_int64(0, 1, NULL) > 0 || sk_get_int64(0, 2, NULL) == 0)
		return false;
	sk_exec(&s_course_complete, v, NULL, false, 0);
	if (SPI_processed != 1)
		return false;
	{
		Datum		w[3] = {v[0], v[2], v[1]};

		sk_exec(&s_certificate, w, NULL, false, 1);
		if (SPI_processed != 1)
			return false;
		certificate = sk_get_text(0, 1);
	}
	c->xp += qi->completion_xp;
	sk_progress_badge(c, "FIRST_CERTIFICATE");
	{
		Datum		w[5] = {v[0], v[2], v[1], CStringGetTextDatum(certificate), Int32GetDatum(qi->completion_xp)};

		sk_exec(&s_completed_event, w, NULL, false, 1);
	}
	return true;
}

/*
 * The first pass: the lesson is completed, the quiz's XP, badges, mission
 * and game money (once: the caller holds the quiz result's row lock and the
 * pass is recorded in it).  Returns whether a reward was paid.
 */
static bool
reward_pass(Jsonb *args, const learner *l, const quiz_info *qi, int correct, sk_progress *c)
{
	sk_reward_account account;
	int64		amount;
	Datum		uid = CStringGetTextDatum(l->user_id);
	bool		paid = false;

	{
		Datum		v[2] = {uid, Int32GetDatum(qi->lesson_id)};

		sk_exec(&s_lesson_passed, v, NULL, false, 0);
	}
	/* the account before the badges and missions: the order trades lock in */
	if (qi->reward_krw > 0 || qi->reward_usd > 0)
	{
		sk_reward_account_lock(args, &account);
		amount = sk_reward_amount(&account, qi->reward_krw, qi->reward_usd, "quizzes");
		sk_reward_credit(&account, amount);
		{
			Datum		v[6] = {uid, Int32GetDatum(qi->id), Int64GetDatum(account.account_id), Int64GetDatum(amount),
			CStringGetTextDatum(account.currency), Int32GetDatum(qi->quiz_xp)};

			sk_exec(&s_result_reward, v, NULL, false, 0);
		}
		paid = true;
	}
	c->xp += qi->quiz_xp;
	sk_progress_badge(c, "FIRST_QUIZ_PASSED");
	if (correct == qi->nquestions)
		sk_progress_badge(c, "PERFECT_QUIZ");
	sk_progress_advance(c, "WEEKLY_QUIZ_THREE", c->week, 1, true);
	return paid;
}

/*
 * api.submit_quiz(args jsonb) RETURNS jsonb
 *
 * Args: quiz_id, answers [{question_id, answer}], season_id (optional: the
 * reward's account).  Grades the calling child's answers; see the file's
 * comment for the rules.
 */
Datum
stockking_submit_quiz(PG_FUNCTION_ARGS)
{
	Jsonb	   *args = PG_GETARG_JSONB_P(0);
	int32		quiz_id = content_id(args, "quiz_id", "quiz");
	learner		l;
	quiz_info	qi;
	sk_progress c;
	Datum		uid;
	bool		isnull;
	int			correct;
	bool		passed;
	int32		attempts;
	int64		today;
	int64		attempt_id;
	bool		revealed;
	bool		paid = false;
	bool		certified = false;
	int64		xp;
	Datum		result;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	start_learner(&l, "takes quizzes");
	uid = CStringGetTextDatum(l.user_id);
	find_quiz(quiz_id, &qi);
	read_answers(args, &qi);

	open_course(&l, qi.course_id, qi.course_title);
	{
		Datum		v[2] = {uid, Int32GetDatum(qi.lesson_id)};

		sk_exec(&s_lesson_state, v, NULL, false, 1);
		if (SPI_processed != 1 || !DatumGetBool(sk_get_datum(0, 1, &isnull)))
			ereport(ERROR,
					(errcode(ERRCODE_SK_LESSON_NOT_READ),
					 errmsg("read lesson %d (\"%s\") before taking its quiz", qi.lesson_id, qi.lesson_title)));
	}
	{
		Datum		v[3] = {uid, Int32GetDatum(quiz_id), CStringGetTextDatum(l.family_id)};

		sk_exec(&s_result_open, v, NULL, false, 0);
		sk_exec(&s_result_lock, v, NULL, false, 1);
		if (DatumGetBool(sk_get_datum(0, 1, &isnull)))
			ereport(ERROR,
					(errcode(ERRCODE_SK_QUIZ_PASSED),
					 errmsg("quiz %d is passed already", quiz_id)));
		attempts = (int32) sk_get_int64(0, 2, NULL);
		today = sk_get_int64(0, 3, NULL);
		if (today >= qi.max_attempts)
			ereport(ERROR,
					(errcode(ERRCODE_SK_QUIZ_ATTEMPTS),
					 errmsg("quiz %d was tried %d times today, the most a day", quiz_id, qi.max_attempts),
					 errdetail("The next attempt can be made from %s.", sk_get_text(0, 4)),
					 errhint("Read lesson %d again in the meantime.", qi.lesson_id)));
	}

	correct = grade(&qi);
	passed = (int64) correct * 100 >= (int64) qi.pass_percent * qi.nquestions;
	today++;
	{
		Datum		v[9] = {uid, CStringGetTextDatum(l.family_id), Int32GetDatum(quiz_id), Int32GetDatum(attempts + 1),
			CStringGetTextDatum(answers_json(&qi)), CStringGetTextDatum(correct_ids(&qi)), Int32GetDatum(correct),
		Int32GetDatum(qi.nquestions), BoolGetDatum(passed)};

		sk_exec(&s_attempt, v, NULL, false, 1);
		attempt_id = sk_get_int64(0, 1, NULL);
	}
	{
		Datum		v[5] = {uid, Int32GetDatum(quiz_id), Int32GetDatum(correct), Int32GetDatum(qi.nquestions),
		BoolGetDatum(passed)};

		sk_exec(&s_result_update, v, NULL, false, 0);
	}

	sk_progress_start(&c, l.user_id, l.family_id);
	learn_today(&l, &c);
	if (passed)
	{
		paid = reward_pass(args, &l, &qi, correct, &c);
		{
			Datum		v[8] = {uid, CStringGetTextDatum(l.family_id), Int32GetDatum(quiz_id), Int32GetDatum(qi.lesson_id),
				CStringGetTextDatum(qi.lesson_title), Int32GetDatum(correct), Int32GetDatum(qi.nquestions),
			Int32GetDatum(qi.quiz_xp)};

			sk_exec(&s_passed_event, v, NULL, false, 1);
		}
		certified = complete_course(&l, &qi, &c);
	}
	xp = c.xp;
	sk_progress_finish(&c);

	revealed = passed || today >= qi.max_attempts;
	{
		Datum		v[6] = {Int64GetDatum(attempt_id), BoolGetDatum(revealed), Int32GetDatum((int32) today),
		Int64GetDatum(xp), BoolGetDatum(paid), BoolGetDatum(certified)};

		result = sk_exec_jsonb(&s_quiz_result, v, NULL);
	}
	SPI_finish();
	PG_RETURN_DATUM(result);
}

/* -------------------------------------------------------------------------
 * Market quiz
 * -------------------------------------------------------------------------
 */

typedef struct instrument_row
{
	char	   *symbol;
	char	   *name;
	bool		daily;
	char	   *unit;			/* the currency in Korean: 달러, 원 */
} instrument_row;

typedef struct market_question
{
	const char *kind;			/* WEEK_UP_DOWN, MONTH_UP_DOWN, MONTH_BEST */
	char	   *text;
	const char *hint;
	int			nchoices;
	char	   *choices[3];
	int			right;			/* 1-based */
	char	   *explanation;
	DateADT		from;			/* the period asked about */
	DateADT		to;
	int			nsymbols;
	const char *symbols[3];
} market_question;

static sk_stmt s_instruments = {
	"SELECT i.symbol, i.name, i.bar_interval = '1d', CASE m.currency WHEN 'KRW' THEN '원' ELSE '달러' END"
	" FROM stockking.instrument i JOIN stockking.market m ON m.code = i.market ORDER BY i.symbol",
	0, {0}
};
static sk_stmt s_quiz_account = {
	"SELECT a.season_id, stockking.season_clock(a.season_id) FROM stockking.account a"
	" WHERE a.id = stockking.resolve_account($1)",
	1, {JSONBOID}
};
static sk_stmt s_market_answer = {
	"SELECT choice, right_choice, correct, answered_at::text FROM stockking.market_quiz_answer"
	" WHERE user_id = $1::uuid AND season_id = $2 AND question_date = $3",
	3, {T, I4, D}
};
static sk_stmt s_market_answer_insert = {
	"INSERT INTO stockking.market_quiz_answer (user_id, season_id, question_date, family_id, kind, question, choice,"
	" right_choice, correct) VALUES ($1::uuid, $2, $3, $4::uuid, $5, $6::jsonb, $7, $8, $9)"
	" ON CONFLICT (user_id, season_id, question_date) DO NOTHING RETURNING answered_at::text",
	9, {T, I4, D, T, T, T, I4, I4, B}
};

/* d as "2008년 10월 24일" */
static char *
korean_date(DateADT d)
{
	int			y;
	int			m;
	int			day;

	j2date(d + POSTGRES_EPOCH_JDATE, &y, &m, &day);
	return psprintf("%d년 %d월 %d일", y, m, day);
}

static char *
korean_month(DateADT d)
{
	int			y;
	int			m;
	int			day;

	j2date(d + POSTGRES_EPOCH_JDATE, &y, &m, &day);
	return psprintf("%d년 %d월", y, m);
}

/* the Monday of d's week */
static DateADT
week_start(DateADT d)
{
	return d - (j2day(d + POSTGRES_EPOCH_JDATE) + 6) % 7;
}

/* the first day of d's month */
static DateADT
month_start(DateADT d)
{
	int			y;
	int			m;
	int			day;

	j2date(d + POSTGRES_EPOCH_JDATE, &y, &m, &day);
	return date2j(y, m, 1) - POSTGRES_EPOCH_JDATE;
}

/* price micro-units as text with two decimals */
static char *
price_text(int64 micros)
{
	StringInfoData buf;

	initStringInfo(&buf);
	sk_append_micros(&buf, micros, 2);
	return buf.data;
}

/* the change from before to after in percent, two decimals, without sign */
static char *
change_text(int64 before, int64 after)
{
	StringInfoData buf;
	int64		pct = sk_ratio_micros(after - before, before);

	initStringInfo(&buf);
	sk_append_micros(&buf, (pct < 0 ? -pct : pct) * 100, 2);
	return buf.data;
}

static char *
change_explanation(const char *from_label, int64 before, const char *to_label, int64 after, const char *unit)
{
	return psprintf("%s 종가 %s%s에서 %s 종가 %s%s%s %s.", from_label, price_text(before), unit, to_label,
					price_text(after), unit, strcmp(unit, "원") == 0 ? "으로" : "로",
					after == before ? "변하지 않았어요" :
					psprintf("%s%% %s", change_text(before, after), after > before ? "올랐어요" : "내렸어요"));
}

/*
 * A rise-or-fall question about one instrument over from..to: the close of
 * b1 (the period's last bar) against b0's (the last bar before it).
 */
static void
set_up_down(market_question *q, const char *kind, const instrument_row *ins, DateADT from, DateADT to, char *text,
			const char *hint, const sk_bar *b0, const sk_bar *b1)
{
	q->kind = kind;
	q->from = from;
	q->to = to;
	q->text = text;
	q->hint = hint;
	q->nchoices = 3;
	q->choices[0] = "올랐어요";
	q->choices[1] = "내렸어요";
	q->choices[2] = "그대로였어요";
	q->right = b1->close > b0->close ? 1 : b1->close < b0->close ? 2 : 3;
	q->explanation = change_explanation(korean_date(b0->bar_date), b0->close, korean_date(b1->bar_date), b1->close,
										ins->unit);
	q->nsymbols = 1;
	q->symbols[0] = ins->symbol;
}

/*
 * Did a daily-bar instrument rise over the last complete week before the
 * clock's week?  The week's last close against the close before it.
 */
static bool
week_question(const instrument_row *ins, DateADT clock, market_question *q)
{
	sk_bar		b1;
	sk_bar		b0;
	DateADT		week;

	if (!sk_bar_at(ins->symbol, week_start(clock) - 1, &b1))
		return false;
	week = week_start(b1.bar_date);
	if (!sk_bar_at(ins->symbol, week - 1, &b0))
		return false;
	set_up_down(q, "WEEK_UP_DOWN", ins, week, week + 4,
				psprintf("%s부터 %s까지 한 주 동안 %s(%s)의 가격은 올랐을까요, 내렸을까요?", korean_date(week),
						 korean_date(week + 4), ins->name, ins->symbol),
				"그 주 마지막 거래일의 종가를 바로 전 주 마지막 거래일의 종가와 비교해요.", &b0, &b1);
	return true;
}

/*
 * The closes of a monthly-bar instrument at the end of the last complete
 * month before the clock's month (b1) and of the month before it (b0);
 * false without both, or when they are not of consecutive months.
 */
static bool
month_bars(const instrument_row *ins, DateADT clock, sk_bar *b1, sk_bar *b0)
{
	DateADT		month;

	if (!sk_bar_at(ins->symbol, month_start(clock) - 1, b1))
		return false;
	month = month_start(b1->bar_date);
	if (!sk_bar_at(ins->symbol, month - 1, b0))
		return false;
	return month_start(b0->bar_date) == month_start(month - 1);
}

static bool
month_question(const instrument_row *ins, DateADT clock, market_question *q)
{
	sk_bar		b1;
	sk_bar		b0;

	if (!month_bars(ins, clock, &b1, &b0))
		return false;
	set_up_down(q, "MONTH_UP_DOWN", ins, month_start(b1.bar_date), b1.bar_date,
				psprintf("%s 한 달 동안 %s(%s)의 주가는 올랐을까요, 내렸을까요?", korean_month(b1.bar_date), ins->name,
						 ins->symbol),
				"그 달 마지막 종가를 바로 전 달 마지막 종가와 비교해요.", &b0, &b1);
	return true;
}

/*
 * Which of three monthly-bar instruments did best over the last complete
 * month?  The three are drawn from those with bars for that month and the
 * one before; a tie for the best gives no question.
 */
static bool
best_question(instrument_row *ins, int n, DateADT clock, uint64 draw, market_question *q)
{
	int			idx[64];
	sk_bar		b1[64];
	sk_bar		b0[64];
	int			m = 0;
	DateADT		month = 0;
	int			kept = 0;
	int			best = 0;
	StringInfoData why;

	for (int i = 0; i < n && m < 64; i++)
	{
		if (ins[i].daily || !month_bars(&ins[i], clock, &b1[m], &b0[m]))
			continue;
		month = Max(month, month_start(b1[m].bar_date));
		idx[m++] = i;
	}
	/* only those of the latest month */
	for (int i = 0; i < m; i++)
	{
		if (month_start(b1[i].bar_date) != month)
			continue;
		idx[kept] = idx[i];
		b1[kept] = b1[i];
		b0[kept] = b0[i];
		kept++;
	}
	m = kept;
	if (m < 3)
		return false;
	/* draw three: a partial Fisher-Yates shuffle by the draw's bits */
	for (int i = 0; i < 3; i++)
	{
		int			j = i + (int) ((draw >> (8 * i)) % (uint64) (m - i));
		int			ti = idx[i];
		sk_bar		t1 = b1[i];
		sk_bar		t0 = b0[i];

		idx[i] = idx[j];
		b1[i] = b1[j];
		b0[i] = b0[j];
		idx[j] = ti;
		b1[j] = t1;
		b0[j] = t0;
	}
	/* the best return: b1/b0 compared exactly, cross-multiplied in 128 bits */
	for (int i = 1; i < 3; i++)
	{
		int128		lhs = (int128) b1[i].close * b0[best].close;
		int128		rhs = (int128) b1[best].close * b0[i].close;

		if (lhs > rhs)
			best = i;
	}
	for (int i = 0; i < 3; i++)
	{
		if (i != best && (int128) b1[i].close * b0[best].close == (int128) b1[best].close * b0[i].close)
			return false;
	}
	q->kind = "MONTH_BEST";
	q->from = month;
	q->to = b1[0].bar_date;
	q->text = psprintf("%s 한 달 동안 주가가 가장 많이 오른(또는 가장 적게 내린) 종목은 무엇일까요?",
					   korean_month(month));
	q->hint = "각 종목의 그 달 마지막 종가를 바로 전 달 마지막 종가와 비교해요.";
	q->nchoices = 3;
	q->nsymbols = 3;
	initStringInfo(&why);
	for (int i = 0; i < 3; i++)
	{
		instrument_row *r = &ins[idx[i]];
		int64		before = b0[i].close;
		int64		after = b1[i].close;

		q->choices[i] = psprintf("%s (%s)", r->name, r->symbol);
		q->symbols[i] = r->symbol;
		appendStringInfo(&why, "%s %s%s → %s%s (%s%s%%), ", r->symbol, price_text(before), r->unit,
						 price_text(after), r->unit, after > before ? "+" : after < before ? "-" : "",
						 change_text(before, after));
	}
	q->right = best + 1;
	appendStringInfo(&why, "정답: %s.", q->choices[best]);
	q->explanation = why.data;
	return true;
}

/*
 * The market question of (user, season, clock): the template and the
 * instruments drawn from a hash of the three, trying the next template
 * when the data cannot make one.  False when none can be made.
 */
static bool
build_market_question(const char *user_id, int32 season_id, DateADT clock, market_question *q)
{
	char	   *key = psprintf("%s|%d|%s", user_id, season_id, sk_date_iso(clock));
	uint64		draw = hash_bytes_extended((const unsigned char *) key, strlen(key), 0);
	instrument_row *ins;
	int			n;
	int			nmonthly = 0;

	sk_exec(&s_instruments, NULL, NULL, true, 0);
	n = (int) SPI_processed;
	ins = palloc0(sizeof(instrument_row) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		bool		isnull;

		ins[i].symbol = sk_get_text(i, 1);
		ins[i].name = sk_get_text(i, 2);
		ins[i].daily = DatumGetBool(sk_get_datum(i, 3, &isnull));
		ins[i].unit = sk_get_text(i, 4);
		if (!ins[i].daily)
			nmonthly++;
	}
	memset(q, 0, sizeof(*q));
	for (int t = 0; t < 3; t++)
	{
		int			template = (int) ((draw + t) % 3);

		if (template == 2 && nmonthly >= 3 && best_question(ins, n, clock, draw >> 16, q))
			return true;
		for (int k = 0; template < 2 && k < n; k++)
		{
			instrument_row *r = &ins[(int) ((draw >> 32) % (uint64) n + k) % n];

			if (template == 0 && r->daily && week_question(r, clock, q))
				return true;
			if (template == 1 && !r->daily && month_question(r, clock, q))
				return true;
		}
	}
	return false;
}

/* The question as the api shows it, before the answer */
static void
append_question_json(StringInfo buf, int32 season_id, DateADT clock, const market_question *q)
{
	appendStringInfo(buf, "{\"season_id\": %d, \"date\": \"%s\", \"kind\": \"%s\", \"question\": ", season_id,
					 sk_date_iso(clock), q->kind);
	escape_json(buf, q->text);
	appendStringInfoString(buf, ", \"hint\": ");
	escape_json(buf, q->hint);
	appendStringInfoString(buf, ", \"choices\": [");
	for (int i = 0; i < q->nchoices; i++)
	{
		if (i > 0)
			appendStringInfoString(buf, ", ");
		escape_json(buf, q->choices[i]);
	}
	appendStringInfo(buf, "], \"period\": {\"from\": \"%s\", \"to\": \"%s\"}, \"symbols\": [", sk_date_iso(q->from),
					 sk_date_iso(q->to));
	for (int i = 0; i < q->nsymbols; i++)
		appendStringInfo(buf, "%s\"%s\"", i > 0 ? ", " : "", q->symbols[i]);
	appendStringInfoChar(buf, ']');
}

static void
append_answer_json(StringInfo buf, int choice, const market_question *q, bool correct, const char *answered_at)
{
	appendStringInfo(buf, ", \"answered\": true, \"your_choice\": %d, \"right_choice\": %d, \"correct\": %s,"
					 " \"explanation\": ", choice, q->right, correct ? "true" : "false");
	escape_json(buf, q->explanation);
	appendStringInfoString(buf, ", \"answered_at\": ");
	escape_json(buf, answered_at);
}

/* The child's season (args.season_id or the default account's) and its clock */
static void
quiz_season(Jsonb *args, int32 *season_id, DateADT *clock)
{
	Datum		v[1] = {JsonbPGetDatum(args)};
	bool		isnull;

	sk_exec(&s_quiz_account, v, NULL, true, 1);
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_SK_NO_ACCOUNT),
				 errmsg("no account for this user")));
	*season_id = (int32) sk_get_int64(0, 1, NULL);
	*clock = DatumGetDateADT(sk_get_datum(0, 2, &isnull));
	if (isnull)
		elog(ERROR, "season %d has no clock", *season_id);
}

static void
no_market_question(int32 season_id, DateADT clock)
{
	ereport(ERROR,
			(errcode(ERRCODE_SK_MARKET_QUIZ_UNAVAILABLE),
			 errmsg("no market question can be made for season %d on %s", season_id, sk_date_iso(clock)),
			 errdetail("The price bars before the season's clock do not cover a whole week or month.")));
}

/*
 * api.get_market_quiz(args jsonb) RETURNS jsonb
 *
 * Args: season_id (optional: the default account's season).  Today's
 * market question of the calling child (read only).
 */
Datum
stockking_get_market_quiz(PG_FUNCTION_ARGS)
{
	Jsonb	   *args = PG_GETARG_JSONB_P(0);
	learner		l;
	int32		season_id;
	DateADT		clock;
	market_question q;
	StringInfoData buf;
	Datum		result;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	start_learner(&l, "takes market quizzes");
	quiz_season(args, &season_id, &clock);
	if (!build_market_question(l.user_id, season_id, clock, &q))
		no_market_question(season_id, clock);
	initStringInfo(&buf);
	append_question_json(&buf, season_id, clock, &q);
	{
		Datum		v[3] = {CStringGetTextDatum(l.user_id), Int32GetDatum(season_id), DateADTGetDatum(clock)};
		bool		isnull;

		sk_exec(&s_market_answer, v, NULL, true, 1);
		if (SPI_processed == 1)
			append_answer_json(&buf, (int) sk_get_int64(0, 1, NULL), &q, DatumGetBool(sk_get_datum(0, 3, &isnull)),
							   sk_get_text(0, 4));
		else
			appendStringInfoString(&buf, ", \"answered\": false");
	}
	appendStringInfoChar(&buf, '}');
	result = SPI_datumTransfer(sk_jsonb_from_buf(&buf), false, -1);
	SPI_finish();
	PG_RETURN_DATUM(result);
}

/*
 * api.answer_market_quiz(args jsonb) RETURNS jsonb
 *
 * Args: date (the question's, YYYY-MM-DD), choice (1-based), season_id
 * (optional).  Graded from the price bars now.
 */
Datum
stockking_answer_market_quiz(PG_FUNCTION_ARGS)
{
	Jsonb	   *args = PG_GETARG_JSONB_P(0);
	learner		l;
	int32		season_id;
	DateADT		clock;
	char	   *date;
	int64		choice;
	market_question q;
	bool		correct;
	char	   *answered_at;
	StringInfoData question;
	StringInfoData buf;
	sk_progress c;
	int64		xp;
	Datum		result;

	sk_arg_text(args, "date", true, &date);
	sk_arg_int64(args, "choice", true, &choice);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	start_learner(&l, "takes market quizzes");
	quiz_season(args, &season_id, &clock);
	if (strcmp(date, sk_date_iso(clock)) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_SK_MARKET_QUIZ_STALE),
				 errmsg("the market question of %.10s is not the question of season %d now", date, season_id),
				 errdetail("The season's clock is %s.", sk_date_iso(clock)),
				 errhint("Ask for the current question again (GET /v1/education/market-quiz).")));
	if (!build_market_question(l.user_id, season_id, clock, &q))
		no_market_question(season_id, clock);
	if (choice < 1 || choice > q.nchoices)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("field \"choice\" must be a choice number from 1 to %d", q.nchoices)));
	correct = choice == q.right;

	initStringInfo(&question);
	append_question_json(&question, season_id, clock, &q);
	appendStringInfoChar(&question, '}');
	{
		Datum		v[9] = {CStringGetTextDatum(l.user_id), Int32GetDatum(season_id), DateADTGetDatum(clock),
			CStringGetTextDatum(l.family_id), CStringGetTextDatum(q.kind), CStringGetTextDatum(question.data),
		Int32GetDatum((int32) choice), Int32GetDatum(q.right), BoolGetDatum(correct)};

		sk_exec(&s_market_answer_insert, v, NULL, false, 1);
		if (SPI_processed != 1)
			ereport(ERROR,
					(errcode(ERRCODE_SK_MARKET_QUIZ_ANSWERED),
					 errmsg("the market question of %s in season %d is answered already", sk_date_iso(clock),
							season_id)));
		answered_at = sk_get_text(0, 1);
	}
	sk_progress_start(&c, l.user_id, l.family_id);
	learn_today(&l, &c);
	if (correct)
	{
		c.xp += MARKET_QUIZ_XP;
		sk_progress_badge(&c, "MARKET_WATCHER");
	}
	xp = c.xp;
	sk_progress_finish(&c);

	initStringInfo(&buf);
	append_question_json(&buf, season_id, clock, &q);
	append_answer_json(&buf, (int) choice, &q, correct, answered_at);
	appendStringInfo(&buf, ", \"xp_earned\": " INT64_FORMAT "}", xp);
	result = SPI_datumTransfer(sk_jsonb_from_buf(&buf), false, -1);
	SPI_finish();
	PG_RETURN_DATUM(result);
}
