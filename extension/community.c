/*
 * community.c
 *	  The community board: writing posts and comments, reports with their
 *	  automatic hiding, and moderation.  Reading, likes, the word list and
 *	  the settings are SQL (sql/92_community.sql); the text filter is
 *	  profanity.c.
 *
 * Posting.  Only children post and comment.  A post goes to the league the
 * child plays in this week (league_assignment of the Monday of this
 * Asia/Seoul week), and keeps that league -- week, tier, group -- for good,
 * or to a season the child has an account in.  Every text passes the
 * personal-data detector (SK410..SK414) and the profanity filter (REFUSE
 * words: SK401; MASK words are stored masked).
 *
 * Rate limits.  A user's posts, comments and reports are counted over a
 * sliding window (posts_per_hour, comments_per_minute, reports_per_hour of
 * stockking.community_setting) under a transaction-level advisory lock on
 * the user, so two requests at once cannot both slip under the limit; over
 * it: SK420 (HTTP 429) with the seconds to wait.  Refused texts are not
 * stored and do not count.
 *
 * Reports.  One per user and target (a unique index).  A report takes an
 * advisory lock on its target, inserts itself, counts the target's open
 * reports (every reporter's, through a view past row-level security) and,
 * at report_hide_threshold, hides the target with an UPDATE that only a
 * VISIBLE row passes.  Concurrent reports are serialized by the lock, so
 * the one that reaches the threshold hides the target, once, and writes the
 * moderation log and the author's event; the others find it hidden.  The
 * UPDATE goes through a view of visible rows owned by the extension's
 * owner, because row-level security checks an updated row against the
 * SELECT policies and the reporter may not read the row it hides.  An
 * ADMIN's moderation takes the same lock.
 */
#include "community.h"

#include "family.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/json.h"

PG_FUNCTION_INFO_V1(stockking_create_post);
PG_FUNCTION_INFO_V1(stockking_add_comment);
PG_FUNCTION_INFO_V1(stockking_report_post);
PG_FUNCTION_INFO_V1(stockking_report_comment);
PG_FUNCTION_INFO_V1(stockking_moderate_post);
PG_FUNCTION_INFO_V1(stockking_moderate_comment);

#define T TEXTOID
#define I4 INT4OID
#define I8 INT8OID

/* advisory lock classes: a user's writes, a post's and a comment's reports */
#define USER_LOCK_CLASS 21400
#define POST_LOCK_CLASS 21401
#define COMMENT_LOCK_CLASS 21402

#define POST_MAX_CHARS 1000
#define TITLE_MAX_CHARS 100
#define COMMENT_MAX_CHARS 300
#define NOTE_MAX_CHARS 200

/*
 * A text argument, trimmed, of at most max_chars characters.  NULL when
 * absent (or blank and not required); 22023 when required and missing or
 * blank, or too long.
 */
static char *
text_arg(Jsonb *args, const char *key, bool required, int max_chars)
{
	char	   *s;
	char	   *end;

	if (!sk_arg_text(args, key, required, &s))
		return NULL;
	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n' || end[-1] == '\r'))
		*--end = '\0';
	if (*s == '\0')
	{
		if (required)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("field \"%s\" must not be empty", key)));
		return NULL;
	}
	if (pg_mbstrlen(s) > max_chars)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("field \"%s\" is longer than %d characters", key, max_chars)));
	return s;
}

/* an upper-cased text argument that must be one of the NULL-terminated choices */
static char *
choice_arg(Jsonb *args, const char *key, bool required, const char *const *choices)
{
	char	   *s;
	StringInfoData list;

	if (!sk_arg_text(args, key, required, &s))
		return NULL;
	for (char *p = s; *p; p++)
		*p = pg_toupper((unsigned char) *p);
	for (const char *const *c = choices; *c; c++)
		if (strcmp(s, *c) == 0)
			return s;
	initStringInfo(&list);
	for (const char *const *c = choices; *c; c++)
		appendStringInfo(&list, "%s%s", c == choices ? "" : ", ", *c);
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("field \"%s\" must be one of %s", key, list.data)));
	return NULL;
}

static void
require_role(const char *role, const char *what)
{
	if (strcmp(sk_request_role(), role) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("only a %s may %s", role, what)));
}

/* Rate limits */

static sk_stmt s_lock_user = {
	"SELECT pg_advisory_xact_lock(" CppAsString2(USER_LOCK_CLASS) ", hashtext($1))",
	1, {T}
};

#define RATE_SQL(table) \
	"SELECT stockking.community_limit($2), count(*)," \
	" coalesce(ceil(extract(epoch FROM min(x.created_at) + $3::interval - now())), 0)::bigint" \
	" FROM stockking." table " x WHERE x.user_id = $1::uuid AND x.created_at > now() - $3::interval"

static sk_stmt s_rate_post = {RATE_SQL("community_post"), 3, {T, T, T}};
static sk_stmt s_rate_comment = {RATE_SQL("community_comment"), 3, {T, T, T}};
static sk_stmt s_rate_report = {RATE_SQL("community_report"), 3, {T, T, T}};

/*
 * Lock the user's writes, then refuse with SK420 when the user wrote the
 * setting's number of rows of the statement's table within the window.
 */
static void
check_rate(sk_stmt *stmt, const char *uid, const char *setting, const char *window, const char *what)
{
	Datum		v[3] = {CStringGetTextDatum(uid), CStringGetTextDatum(setting), CStringGetTextDatum(window)};
	int64		limit;
	int64		count;
	int64		wait;

	sk_exec(&s_lock_user, v, NULL, false, 1);
	sk_exec(stmt, v, NULL, false, 1);
	limit = sk_get_int64(0, 1, NULL);
	count = sk_get_int64(0, 2, NULL);
	wait = sk_get_int64(0, 3, NULL);
	if (count >= limit)
		ereport(ERROR,
				(errcode(ERRCODE_SK_COMMUNITY_RATE),
				 errmsg("too many %s: at most " INT64_FORMAT " in %s", what, limit, window),
				 errdetail("Try again in " INT64_FORMAT " seconds.", Max(wait, 1)),
				 errhint("The limit (%s) is per user.", setting)));
}

/* Posts and comments */

static sk_stmt s_league = {
	"SELECT la.week_start, la.tier, la.group_no, a.season_id, s.status"
	" FROM stockking.league_assignment la JOIN stockking.account a ON a.id = la.account_id"
	" JOIN stockking.season s ON s.id = a.season_id"
	" WHERE la.user_id = $1::uuid AND la.week_start = stockking.seoul_week(now())",
	1, {T}
};
static sk_stmt s_season = {
	"SELECT a.season_id, s.status FROM stockking.account a JOIN stockking.season s ON s.id = a.season_id"
	" WHERE a.user_id = $1::uuid AND a.season_id = coalesce($2::integer, stockking.caller_season($1::uuid))",
	2, {T, I8}
};
static sk_stmt s_insert_post = {
	"INSERT INTO stockking.community_post (family_id, user_id, audience, season_id, league_week, league_tier,"
	" league_group, title, body, masked_words)"
	" SELECT u.family_id, u.id, $2, $3, $4, $5, $6, $7, $8, $9 FROM stockking.users u WHERE u.id = $1::uuid"
	" RETURNING stockking.post_json(community_post)",
	9, {T, T, I4, DATEOID, I4, I4, T, T, I4}
};

/*
 * api.create_post(args jsonb) RETURNS jsonb
 *
 * Args: body, title (optional), audience (optional), season_id (optional).
 */
Datum
stockking_create_post(PG_FUNCTION_ARGS)
{
	Jsonb	   *args = PG_GETARG_JSONB_P(0);
	const char *uid = sk_require_user();
	static const char *const audiences[] = {"LEAGUE", "SEASON", NULL};
	char	   *body;
	char	   *title;
	char	   *audience;
	int64		season_id = 0;
	bool		has_season;
	Datum		v[9];
	char		nulls[9] = {' ', ' ', ' ', 'n', 'n', 'n', 'n', ' ', ' '};
	char	   *status = NULL;
	int			masked = 0;
	int			masked_title = 0;
	Datum		result;

	require_role("CHILD", "write posts");
	body = text_arg(args, "body", true, POST_MAX_CHARS);
	title = text_arg(args, "title", false, TITLE_MAX_CHARS);
	audience = choice_arg(args, "audience", false, audiences);
	has_season = sk_arg_int64(args, "season_id", false, &season_id);
	if (has_season && audience != NULL && strcmp(audience, "LEAGUE") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("field \"season_id\" is for SEASON posts"),
				 errdetail("A LEAGUE post goes to the caller's league of this week.")));
	if (has_season && audience == NULL)
		audience = "SEASON";

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	check_rate(&s_rate_post, uid, "posts_per_hour", "1 hour", "posts");

	v[0] = CStringGetTextDatum(uid);
	if (audience == NULL || strcmp(audience, "LEAGUE") == 0)
	{
		bool		isnull;

		sk_exec(&s_league, v, NULL, true, 1);
		if (SPI_processed == 1)
		{
			audience = "LEAGUE";
			v[3] = sk_get_datum(0, 1, &isnull);
			v[4] = sk_get_datum(0, 2, &isnull);
			v[5] = sk_get_datum(0, 3, &isnull);
			v[2] = sk_get_datum(0, 4, &isnull);
			status = sk_get_text(0, 5);
			nulls[3] = nulls[4] = nulls[5] = ' ';
		}
		else if (audience != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_SK_NO_LEAGUE),
					 errmsg("you play in no league this week"),
					 errhint("Leagues are drawn on Mondays among the children of the default season; post to the season.")));
	}
	if (audience == NULL || strcmp(audience, "SEASON") == 0)
	{
		Datum		sv[2] = {v[0], Int64GetDatum(season_id)};
		char		snulls[2] = {' ', has_season ? ' ' : 'n'};
		bool		isnull;

		audience = "SEASON";
		sk_exec(&s_season, sv, snulls, true, 1);
		if (SPI_processed != 1)
			ereport(ERROR,
					(errcode(ERRCODE_SK_NO_ACCOUNT),
					 errmsg("you have no account in that season"),
					 errhint("Join the season first.")));
		v[2] = sk_get_datum(0, 1, &isnull);
		status = sk_get_text(0, 2);
	}
	if (strcmp(status, "OPEN") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_SK_SEASON_CLOSED),
				 errmsg("the season is closed")));

	body = sk_clean_text("body", body, true, &masked);
	if (title != NULL)
		title = sk_clean_text("title", title, true, &masked_title);
	v[1] = CStringGetTextDatum(audience);
	v[6] = title ? CStringGetTextDatum(title) : (Datum) 0;
	nulls[6] = title ? ' ' : 'n';
	v[7] = CStringGetTextDatum(body);
	v[8] = Int32GetDatum(masked + masked_title);
	result = sk_exec_jsonb(&s_insert_post, v, nulls);
	SPI_finish();
	PG_RETURN_DATUM(result);
}

static sk_stmt s_post_for_comment = {
	"SELECT p.status, p.user_id::text, p.family_id::text FROM stockking.community_post p WHERE p.id = $1",
	1, {I8}
};
static sk_stmt s_insert_comment = {
	"INSERT INTO stockking.community_comment (post_id, family_id, user_id, body, masked_words)"
	" SELECT $2, u.family_id, u.id, $3, $4 FROM stockking.users u WHERE u.id = $1::uuid"
	" RETURNING id, stockking.comment_json(community_comment)",
	4, {T, I8, T, I4}
};
static sk_stmt s_comment_event = {
	"SELECT stockking.emit_event($1::uuid, $2::uuid, 'USER', 'CommentAdded', jsonb_build_object("
	" 'post_id', $3::bigint, 'comment_id', $4::bigint,"
	" 'from', (SELECT u.nickname FROM stockking.users_public u WHERE u.id = $5::uuid)))",
	5, {T, T, I8, I8, T}
};

/*
 * api.add_comment(args jsonb) RETURNS jsonb
 *
 * Args: id (the post), body.
 */
Datum
stockking_add_comment(PG_FUNCTION_ARGS)
{
	Jsonb	   *args = PG_GETARG_JSONB_P(0);
	const char *uid = sk_require_user();
	int64		post_id;
	char	   *body;
	char	   *author;
	char	   *author_family;
	int			masked = 0;
	int64		comment_id;
	bool		isnull;
	Datum		result;

	require_role("CHILD", "comment");
	sk_arg_int64(args, "id", true, &post_id);
	body = text_arg(args, "body", true, COMMENT_MAX_CHARS);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	check_rate(&s_rate_comment, uid, "comments_per_minute", "1 minute", "comments");
	{
		Datum		v[1] = {Int64GetDatum(post_id)};

		sk_exec(&s_post_for_comment, v, NULL, true, 1);
		if (SPI_processed != 1 || strcmp(sk_get_text(0, 1), "DELETED") == 0)
			ereport(ERROR,
					(errcode(ERRCODE_NO_DATA_FOUND),
					 errmsg("post " INT64_FORMAT " not found", post_id)));
		if (strcmp(sk_get_text(0, 1), "VISIBLE") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_SK_COMMUNITY_STATE),
					 errmsg("post " INT64_FORMAT " is hidden", post_id)));
		author = sk_get_text(0, 2);
		author_family = sk_get_text(0, 3);
	}
	body = sk_clean_text("body", body, true, &masked);
	{
		Datum		v[4] = {CStringGetTextDatum(uid), Int64GetDatum(post_id), CStringGetTextDatum(body),
		Int32GetDatum(masked)};

		sk_exec(&s_insert_comment, v, NULL, false, 1);
		comment_id = sk_get_int64(0, 1, NULL);
		result = SPI_datumTransfer(sk_get_datum(0, 2, &isnull), false, -1);
	}
	if (strcmp(author, uid) != 0)
	{
		Datum		v[5] = {CStringGetTextDatum(author), CStringGetTextDatum(author_family), Int64GetDatum(post_id),
		Int64GetDatum(comment_id), CStringGetTextDatum(uid)};

		sk_exec(&s_comment_event, v, NULL, false, 1);
	}
	SPI_finish();
	PG_RETURN_DATUM(result);
}

/* Reports and moderation: the same steps for a post and a comment */

typedef struct target_kind
{
	const char *name;			/* "post", "comment" */
	const char *event;			/* prefix of its events: "Post", "Comment" */
	const char *id_key;			/* its key in events: "post_id", "comment_id" */
	sk_stmt    *read;
	sk_stmt    *lock;
	sk_stmt    *report;
	sk_stmt    *count_open;
	sk_stmt    *auto_hide;
	sk_stmt    *set_status;
	sk_stmt    *resolve;
	sk_stmt    *log;
	sk_stmt    *json;
} target_kind;

#define TARGET_READ(table) \
	"SELECT t.user_id::text, t.family_id::text, t.status FROM stockking." table " t WHERE t.id = $1"
#define TARGET_LOCK(class) \
	"SELECT pg_advisory_xact_lock(" CppAsString2(class) ", ($1 % 2147483647)::integer)"
#define TARGET_REPORT(col) \
	"INSERT INTO stockking.community_report (" col ", family_id, user_id, reason, note)" \
	" SELECT $1, u.family_id, u.id, $3, $4 FROM stockking.users u WHERE u.id = $2::uuid" \
	" ON CONFLICT (" col ", user_id) WHERE " col " IS NOT NULL DO NOTHING RETURNING id"
#define TARGET_COUNT_OPEN(col) \
	"SELECT count(*) FROM stockking.community_report_open r WHERE r." col " = $1"
#define TARGET_AUTO_HIDE(table) \
	"UPDATE stockking." table " SET status = 'HIDDEN', hidden_by = 'REPORTS', moderated_at = now()," \
	" moderation_reason = $2 WHERE id = $1 AND status = 'VISIBLE'"
#define TARGET_SET_STATUS(table) \
	"UPDATE stockking." table " SET status = $2, hidden_by = $3, moderated_at = now(), moderation_reason = $4" \
	" WHERE id = $1"
#define TARGET_RESOLVE(col) \
	"UPDATE stockking.community_report SET status = $2, resolved_at = now(), resolved_by = stockking.uid()" \
	" WHERE " col " = $1 AND status = 'OPEN'"
#define TARGET_LOG(col) \
	"INSERT INTO stockking.community_moderation (" col ", family_id, user_id, action, reason, reports, moderator_id)" \
	" VALUES ($1, $2::uuid, $3::uuid, $4, $5, $6, CASE WHEN $4 <> 'AUTO_HIDE' THEN stockking.uid() END)"
#define TARGET_JSON(table, fn) \
	"SELECT stockking." fn "(t) FROM stockking." table " t WHERE t.id = $1"

static sk_stmt post_read = {TARGET_READ("community_post"), 1, {I8}};
static sk_stmt post_lock = {TARGET_LOCK(POST_LOCK_CLASS), 1, {I8}};
static sk_stmt post_report = {TARGET_REPORT("post_id"), 4, {I8, T, T, T}};
static sk_stmt post_count_open = {TARGET_COUNT_OPEN("post_id"), 1, {I8}};
static sk_stmt post_auto_hide = {TARGET_AUTO_HIDE("community_post_visible"), 2, {I8, T}};
static sk_stmt post_set_status = {TARGET_SET_STATUS("community_post"), 4, {I8, T, T, T}};
static sk_stmt post_resolve = {TARGET_RESOLVE("post_id"), 2, {I8, T}};
static sk_stmt post_log = {TARGET_LOG("post_id"), 6, {I8, T, T, T, T, I4}};
static sk_stmt post_json = {TARGET_JSON("community_post", "post_json"), 1, {I8}};

static sk_stmt comment_read = {TARGET_READ("community_comment"), 1, {I8}};
static sk_stmt comment_lock = {TARGET_LOCK(COMMENT_LOCK_CLASS), 1, {I8}};
static sk_stmt comment_report = {TARGET_REPORT("comment_id"), 4, {I8, T, T, T}};
static sk_stmt comment_count_open = {TARGET_COUNT_OPEN("comment_id"), 1, {I8}};
static sk_stmt comment_auto_hide = {TARGET_AUTO_HIDE("community_comment_visible"), 2, {I8, T}};
static sk_stmt comment_set_status = {TARGET_SET_STATUS("community_comment"), 4, {I8, T, T, T}};
static sk_stmt comment_resolve = {TARGET_RESOLVE("comment_id"), 2, {I8, T}};
static sk_stmt comment_log = {TARGET_LOG("comment_id"), 6, {I8, T, T, T, T, I4}};
static sk_stmt comment_json = {TARGET_JSON("community_comment", "comment_json"), 1, {I8}};

static const target_kind post_kind = {
	"post", "Post", "post_id", &post_read, &post_lock, &post_report, &post_count_open, &post_auto_hide,
	&post_set_status, &post_resolve, &post_log, &post_json
};
static const target_kind comment_kind = {
	"comment", "Comment", "comment_id", &comment_read, &comment_lock, &comment_report, &comment_count_open,
	&comment_auto_hide, &comment_set_status, &comment_resolve, &comment_log, &comment_json
};

typedef struct target_row
{
	char	   *user_id;
	char	   *family_id;
	char	   *status;
} target_row;

/* the target as row-level security shows it to the caller; false when not visible */
static bool
read_target(const target_kind *k, int64 id, target_row *row)
{
	Datum		v[1] = {Int64GetDatum(id)};

	sk_exec(k->read, v, NULL, false, 1);
	if (SPI_processed != 1)
		return false;
	row->user_id = sk_get_text(0, 1);
	row->family_id = sk_get_text(0, 2);
	row->status = sk_get_text(0, 3);
	return true;
}

static int64
count_open(const target_kind *k, int64 id)
{
	Datum		v[1] = {Int64GetDatum(id)};

	sk_exec(k->count_open, v, NULL, false, 1);
	return sk_get_int64(0, 1, NULL);
}

static void
log_action(const target_kind *k, int64 id, const target_row *row, const char *action, const char *reason, int64 reports)
{
	Datum		v[6] = {Int64GetDatum(id), CStringGetTextDatum(row->family_id), CStringGetTextDatum(row->user_id),
	CStringGetTextDatum(action), CStringGetTextDatum(reason), Int32GetDatum((int32) Min(reports, PG_INT32_MAX))};

	sk_exec(k->log, v, NULL, false, 0);
}

/* the author's family hears what happened to their post or comment */
static void
tell_author(const target_kind *k, int64 id, const target_row *row, const char *what, const char *by,
			const char *reason)
{
	StringInfoData type;
	StringInfoData payload;

	initStringInfo(&type);
	appendStringInfo(&type, "%s%s", k->event, what);
	initStringInfo(&payload);
	appendStringInfo(&payload, "{\"%s\": " INT64_FORMAT ", \"by\": ", k->id_key, id);
	escape_json(&payload, by);
	appendStringInfoString(&payload, ", \"reason\": ");
	escape_json(&payload, reason);
	appendStringInfoChar(&payload, '}');
	sk_emit(row->user_id, row->family_id, "FAMILY", type.data, payload.data);
}

static sk_stmt s_threshold = {
	"SELECT stockking.community_limit('report_hide_threshold')",
	0, {0}
};
static sk_stmt s_report_result = {
	"SELECT jsonb_strip_nulls(jsonb_build_object('id', r.id, 'post_id', r.post_id, 'comment_id', r.comment_id,"
	" 'reason', r.reason, 'note', r.note, 'status', r.status, 'created_at', r.created_at))"
	" || jsonb_build_object('target_hidden', $2) FROM stockking.community_report r WHERE r.id = $1",
	2, {I8, BOOLOID}
};

/*
 * A report of a post or comment by the caller (args: id, reason, note);
 * hides the target at the threshold.
 */
static Datum
report(FunctionCallInfo fcinfo, const target_kind *k)
{
	Jsonb	   *args = PG_GETARG_JSONB_P(0);
	const char *uid = sk_require_user();
	static const char *const reasons[] = {"PROFANITY", "BULLYING", "PERSONAL_DATA", "SEXUAL", "SPAM", "OTHER", NULL};
	int64		id;
	char	   *reason;
	char	   *note;
	target_row	row;
	int64		report_id;
	bool		hidden;
	Datum		result;

	if (strcmp(sk_request_role(), "ADMIN") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("an ADMIN moderates instead of reporting"),
				 errhint("POST /v1/admin/community/%ss/:id/moderate", k->name)));
	sk_arg_int64(args, "id", true, &id);
	reason = choice_arg(args, "reason", true, reasons);
	note = text_arg(args, "note", false, NOTE_MAX_CHARS);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	check_rate(&s_rate_report, uid, "reports_per_hour", "1 hour", "reports");
	if (!read_target(k, id, &row) || strcmp(row.status, "DELETED") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("%s " INT64_FORMAT " not found", k->name, id)));
	if (strcmp(row.user_id, uid) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_SK_OWN_CONTENT),
				 errmsg("you cannot report your own %s", k->name),
				 errhint("Delete it instead.")));
	{
		Datum		v[4] = {Int64GetDatum(id), CStringGetTextDatum(uid), CStringGetTextDatum(reason),
		note ? CStringGetTextDatum(note) : (Datum) 0};
		char		nulls[4] = {' ', ' ', ' ', note ? ' ' : 'n'};

		/* reports of one target, and its moderation, one at a time */
		sk_exec(k->lock, v, NULL, false, 1);
		sk_exec(k->report, v, nulls, false, 1);
		if (SPI_processed != 1)
			ereport(ERROR,
					(errcode(ERRCODE_SK_ALREADY_REPORTED),
					 errmsg("you reported %s " INT64_FORMAT " already", k->name, id)));
		report_id = sk_get_int64(0, 1, NULL);
	}
	hidden = strcmp(row.status, "HIDDEN") == 0;
	{
		int64		open = count_open(k, id);
		int64		threshold;
		Datum		v[2];

		sk_exec(&s_threshold, NULL, NULL, true, 1);
		threshold = sk_get_int64(0, 1, NULL);
		if (open >= threshold)
		{
			StringInfoData why;

			initStringInfo(&why);
			appendStringInfo(&why, INT64_FORMAT " reports", open);
			v[0] = Int64GetDatum(id);
			v[1] = CStringGetTextDatum(why.data);
			/* only a VISIBLE row passes: the first report at the threshold hides it, once */
			sk_exec(k->auto_hide, v, NULL, false, 0);
			if (SPI_processed == 1)
			{
				log_action(k, id, &row, "AUTO_HIDE", why.data, open);
				tell_author(k, id, &row, "Hidden", "REPORTS", why.data);
			}
			hidden = true;
		}
	}
	{
		Datum		v[2] = {Int64GetDatum(report_id), BoolGetDatum(hidden)};

		result = sk_exec_jsonb(&s_report_result, v, NULL);
	}
	SPI_finish();
	PG_RETURN_DATUM(result);
}

/* api.report_post(args jsonb) RETURNS jsonb.  Args: id, reason, note */
Datum
stockking_report_post(PG_FUNCTION_ARGS)
{
	return report(fcinfo, &post_kind);
}

/* api.report_comment(args jsonb) RETURNS jsonb.  Args: id, reason, note */
Datum
stockking_report_comment(PG_FUNCTION_ARGS)
{
	return report(fcinfo, &comment_kind);
}

/*
 * An ADMIN's action on a post or comment (args: id, action, reason):
 * HIDE a visible one, RESTORE a hidden one, DELETE, or DISMISS the reports
 * of a visible one.
 */
static Datum
moderate(FunctionCallInfo fcinfo, const target_kind *k)
{
	Jsonb	   *args = PG_GETARG_JSONB_P(0);
	static const char *const actions[] = {"HIDE", "RESTORE", "DELETE", "DISMISS", NULL};
	int64		id;
	char	   *action;
	char	   *reason;
	target_row	row;
	const char *needs;
	const char *status;
	const char *hidden_by = NULL;
	const char *report_status;
	const char *event;
	int64		open;
	int64		resolved;
	StringInfoData result;
	bool		isnull;

	if (!sk_is_admin())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("only an ADMIN moderates the board")));
	sk_arg_int64(args, "id", true, &id);
	action = choice_arg(args, "action", true, actions);
	reason = text_arg(args, "reason", true, NOTE_MAX_CHARS);
	if (strcmp(action, "HIDE") == 0)
	{
		needs = "VISIBLE";
		status = "HIDDEN";
		hidden_by = "MODERATOR";
		report_status = "UPHELD";
		event = "Hidden";
	}
	else if (strcmp(action, "RESTORE") == 0)
	{
		needs = "HIDDEN";
		status = "VISIBLE";
		report_status = "DISMISSED";
		event = "Restored";
	}
	else if (strcmp(action, "DELETE") == 0)
	{
		needs = NULL;
		status = "DELETED";
		report_status = "UPHELD";
		event = "Deleted";
	}
	else
	{
		needs = "VISIBLE";
		status = NULL;
		report_status = "DISMISSED";
		event = NULL;
	}

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	{
		Datum		v[1] = {Int64GetDatum(id)};

		sk_exec(k->lock, v, NULL, false, 1);
	}
	if (!read_target(k, id, &row))
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("%s " INT64_FORMAT " not found", k->name, id)));
	if (needs != NULL ? strcmp(row.status, needs) != 0 : strcmp(row.status, "DELETED") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_SK_COMMUNITY_STATE),
				 errmsg("%s " INT64_FORMAT " is %s: %s does not apply", k->name, id, row.status, action)));
	open = count_open(k, id);
	if (status != NULL)
	{
		Datum		v[4] = {Int64GetDatum(id), CStringGetTextDatum(status),
		hidden_by ? CStringGetTextDatum(hidden_by) : (Datum) 0, CStringGetTextDatum(reason)};
		char		nulls[4] = {' ', ' ', hidden_by ? ' ' : 'n', ' '};

		sk_exec(k->set_status, v, nulls, false, 0);
	}
	{
		Datum		v[2] = {Int64GetDatum(id), CStringGetTextDatum(report_status)};

		sk_exec(k->resolve, v, NULL, false, 0);
		resolved = SPI_processed;
	}
	log_action(k, id, &row, action, reason, open);
	if (event != NULL)
		tell_author(k, id, &row, event, "MODERATOR", reason);

	initStringInfo(&result);
	{
		Datum		v[1] = {Int64GetDatum(id)};
		char	   *json;

		sk_exec(k->json, v, NULL, false, 1);
		json = DatumGetCString(DirectFunctionCall1(jsonb_out, sk_get_datum(0, 1, &isnull)));
		appendStringInfo(&result, "{\"%s\": %s, \"action\": \"%s\", \"reports_resolved\": " INT64_FORMAT "}",
						 k->name, json, action, resolved);
	}
	SPI_finish();
	PG_RETURN_DATUM(sk_jsonb_from_buf(&result));
}

/* api.moderate_post(args jsonb) RETURNS jsonb.  Args: id, action, reason */
Datum
stockking_moderate_post(PG_FUNCTION_ARGS)
{
	return moderate(fcinfo, &post_kind);
}

/* api.moderate_comment(args jsonb) RETURNS jsonb.  Args: id, action, reason */
Datum
stockking_moderate_comment(PG_FUNCTION_ARGS)
{
	return moderate(fcinfo, &comment_kind);
}
