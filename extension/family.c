/*
 * family.c
 *	  Families: link codes, linking a parent to a child's family (the two
 *	  families merge), and parent approval of trades.
 *
 * Linking.  Every child has a link code (sql/60_family.sql makes one at
 * sign-up).  A parent who enters it joins the child's family: the family
 * with fewer members (a tie: the parent's) is merged into the other one in
 * the caller's transaction -- the family_id of every table of schema
 * stockking that has one is moved, so tables added later move too -- and
 * the emptied family is deleted.  The cash ledger and any other table that
 * refuses updates by stockking.refuse_change() are append-only for every
 * user; for their family_id alone the merge sets session_replication_role
 * to replica around the one UPDATE (which is why api.link_family runs as
 * the extension's owner).  Concurrent links lock the two users, then the
 * two families, each pair in id order.
 *
 * Trade approval.  When a family has trade_approval on, api.place_order
 * calls stockking.trade_approval_gate first (the one hook in trade.c): a
 * child's order is then recorded as a trade request with the child's
 * written reason instead of being placed.  A parent approves it -- the
 * order is placed then, through api.place_order, with the child as the
 * request's user and the request's id in stockking.trade_request_id, which
 * the gate accepts only for an APPROVED request of that child that has no
 * order yet -- or rejects it.  An order the market refuses at approval
 * (funds, holding, price, season) turns the request REJECTED with the
 * refusal's SQLSTATE and message; any other error aborts the approval.
 */
#include "family.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "commands/trigger.h"
#include "funcapi.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/uuid.h"
#include "utils/datum.h"

PG_FUNCTION_INFO_V1(stockking_new_link_code);
PG_FUNCTION_INFO_V1(stockking_link_family);
PG_FUNCTION_INFO_V1(stockking_trade_approval_gate);
PG_FUNCTION_INFO_V1(stockking_approve_trade_request);
PG_FUNCTION_INFO_V1(stockking_reject_trade_request);
PG_FUNCTION_INFO_V1(stockking_refuse_change);
PG_FUNCTION_INFO_V1(stockking_family_tables);

#define T TEXTOID
#define I8 INT8OID

/* link codes: 32 characters, no 0/O or 1/I; 8 of them carry 40 bits */
static const char link_alphabet[] = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
#define LINK_CODE_LEN 8

#define MAX_TEXT_CHARS 500

static sk_stmt s_emit = {
	"SELECT stockking.emit_event($1::uuid, $2::uuid, $3, $4, $5::jsonb)",
	5, {T, T, T, T, T}
};

void
sk_emit(const char *user_id, const char *family_id, const char *audience, const char *type, const char *payload)
{
	Datum		v[5] = {CStringGetTextDatum(user_id), CStringGetTextDatum(family_id), CStringGetTextDatum(audience), CStringGetTextDatum(type),
	CStringGetTextDatum(payload)};

	sk_exec(&s_emit, v, NULL, false, 1);
}

/*
 * The trade request whose approved order is being placed (place_for_child),
 * 0 otherwise: the gate lets exactly that order through.  A C variable, not a
 * setting, so that no session can claim an approval.
 */
static int64 approving_request = 0;

/* a text argument of at most MAX_TEXT_CHARS characters, trimmed; NULL when absent or blank */
static char *
optional_text(Jsonb *args, const char *key)
{
	char	   *s;
	char	   *end;

	if (!sk_arg_text(args, key, false, &s))
		return NULL;
	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n' || end[-1] == '\r'))
		*--end = '\0';
	if (*s == '\0')
		return NULL;
	if (pg_mbstrlen(s) > MAX_TEXT_CHARS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("field \"%s\" is longer than %d characters", key, MAX_TEXT_CHARS)));
	return s;
}

static void
require_parent(const char *what)
{
	const char *role = sk_request_role();

	if (strcmp(role, "PARENT") != 0 && !(strcmp(role, "ADMIN") == 0))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("only a parent may %s", what)));
}

/*
 * stockking.new_link_code() RETURNS text: 8 characters of link_alphabet
 * from 40 bits of pg_strong_random.
 */
Datum
stockking_new_link_code(PG_FUNCTION_ARGS)
{
	unsigned char bytes[5];
	uint64		bits = 0;
	char		code[LINK_CODE_LEN + 1];

	if (!pg_strong_random(bytes, sizeof(bytes)))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not generate random bytes for a link code")));
	for (int i = 0; i < 5; i++)
		bits = (bits << 8) | bytes[i];
	for (int i = 0; i < LINK_CODE_LEN; i++)
	{
		code[i] = link_alphabet[bits & 31];
		bits >>= 5;
	}
	code[LINK_CODE_LEN] = '\0';
	PG_RETURN_TEXT_P(cstring_to_text(code));
}

/*
 * A code as typed: letters upper-cased, spaces and dashes dropped.  Returns
 * NULL when the rest is not 8 characters of the alphabet.
 */
static char *
normalize_code(const char *typed)
{
	char		code[LINK_CODE_LEN + 1];
	int			n = 0;

	for (const char *p = typed; *p; p++)
	{
		char		c = *p;

		if (c == ' ' || c == '-')
			continue;
		if (c >= 'a' && c <= 'z')
			c -= 'a' - 'A';
		if (n == LINK_CODE_LEN || c == '\0' || strchr(link_alphabet, c) == NULL)
			return NULL;
		code[n++] = c;
	}
	if (n != LINK_CODE_LEN)
		return NULL;
	code[n] = '\0';
	return pstrdup(code);
}

static sk_stmt s_code_owner = {
	"SELECT l.user_id::text FROM stockking.link_code l JOIN stockking.users u ON u.id = l.user_id"
	" WHERE l.code = $1 AND u.role = 'CHILD'",
	1, {T}
};
static sk_stmt s_lock_users = {
	"SELECT u.id::text, u.family_id::text, u.role, u.nickname FROM stockking.users u"
	" WHERE u.id IN ($1::uuid, $2::uuid) ORDER BY u.id FOR UPDATE",
	2, {T, T}
};
static sk_stmt s_lock_families = {
	"SELECT f.id FROM stockking.family f WHERE f.id IN ($1::uuid, $2::uuid) ORDER BY f.id FOR UPDATE",
	2, {T, T}
};
static sk_stmt s_member_count = {
	"SELECT count(*) FROM stockking.users WHERE family_id = $1::uuid",
	1, {T}
};
static sk_stmt s_merge_settings = {
	"WITH f AS (DELETE FROM stockking.family_setting WHERE family_id = $1::uuid RETURNING trade_approval, updated_by)"
	" INSERT INTO stockking.family_setting AS s (family_id, trade_approval, updated_by)"
	" SELECT $2::uuid, f.trade_approval, f.updated_by FROM f"
	" ON CONFLICT (family_id) DO UPDATE SET trade_approval = s.trade_approval OR EXCLUDED.trade_approval,"
	" updated_at = now()",
	2, {T, T}
};
static sk_stmt s_merge_notices = {
	"DELETE FROM stockking.family_summary_notice f WHERE f.family_id = $1::uuid"
	" AND EXISTS (SELECT 1 FROM stockking.family_summary_notice t WHERE t.family_id = $2::uuid AND t.month = f.month)",
	2, {T, T}
};

/*
 * The tables whose rows belong to a family, by family_id: a merge moves
 * them all.  An explicit list, so that a merge never touches a table by
 * accident; regress/sql/privileges.sql checks that every table of schema
 * stockking with a family_id column is here (or the merge handles it above).
 */
static const char *const family_tables[] = {
	"account", "account_snapshot", "allowance_goal", "allowance_request", "cash_ledger", "certificate",
	"community_comment", "community_like", "community_moderation", "community_post", "community_report",
	"course_progress", "event_cursor", "family_setting", "family_summary", "family_summary_notice", "fill",
	"holding", "league_assignment", "league_member", "league_result", "learning_streak", "ledger_budget",
	"ledger_budget_alert", "ledger_entry", "ledger_import", "ledger_monthly", "ledger_pending", "lesson_progress",
	"link_code", "market_quiz_answer", "merchant", "mission_progress", "orders", "outbox", "payment",
	"payment_attempt", "quiz_attempt", "quiz_result", "trade_request", "user_badge", "user_progress", "users",
};

/*
 * The merge in progress (link_family): while it moves rows from one family
 * to the other, the append-only guard lets exactly that change through.
 */
static struct
{
	bool		active;
	pg_uuid_t	from;
	pg_uuid_t	to;
}			merging;

/*
 * Move every row of family_tables from family `from` to family `to`, with
 * the append-only guard open for exactly that change.
 */
static void
move_family_rows(const char *from, const char *to)
{
	memcpy(&merging.from, DatumGetUUIDP(DirectFunctionCall1(uuid_in, CStringGetDatum(from))), sizeof(pg_uuid_t));
	memcpy(&merging.to, DatumGetUUIDP(DirectFunctionCall1(uuid_in, CStringGetDatum(to))), sizeof(pg_uuid_t));
	merging.active = true;
	PG_TRY();
	{
		Oid			types[2] = {T, T};
		Datum		v[2] = {CStringGetTextDatum(from), CStringGetTextDatum(to)};

		for (int i = 0; i < lengthof(family_tables); i++)
		{
			StringInfoData sql;
			int			rc;

			initStringInfo(&sql);
			appendStringInfo(&sql, "UPDATE stockking.%s SET family_id = $2::uuid WHERE family_id = $1::uuid",
							 quote_identifier(family_tables[i]));
			rc = SPI_execute_with_args(sql.data, 2, types, v, NULL, false, 0);
			if (rc != SPI_OK_UPDATE)
				elog(ERROR, "moving %s to the merged family failed: %s", family_tables[i], SPI_result_code_string(rc));
		}
	}
	PG_FINALLY();
	{
		merging.active = false;
	}
	PG_END_TRY();
}

static sk_stmt s_delete_family = {
	"DELETE FROM stockking.family WHERE id = $1::uuid",
	1, {T}
};
static sk_stmt s_family_json = {
	"SELECT jsonb_build_object('family_id', $1::uuid, 'members',"
	" (SELECT coalesce(jsonb_agg(stockking.member_json(u) ORDER BY u.role DESC, u.created_at, u.id), '[]')"
	"    FROM stockking.users u WHERE u.family_id = $1::uuid))",
	1, {T}
};
static sk_stmt s_linked_event = {
	"SELECT stockking.emit_event($1::uuid, $2::uuid, 'FAMILY', 'FamilyLinked', jsonb_build_object("
	" 'family_id', $2::uuid, 'parent_id', $3::uuid, 'parent', $4::text, 'child_id', $1::uuid, 'child', $5::text))",
	5, {T, T, T, T, T}
};

/*
 * api.link_family(args jsonb) RETURNS jsonb
 *
 * Args: code.  The calling PARENT joins the family of the child whose link
 * code it is; the two families merge.
 */
Datum
stockking_link_family(PG_FUNCTION_ARGS)
{
	Jsonb	   *args = PG_GETARG_JSONB_P(0);
	const char *uid = sk_require_user();
	char	   *typed;
	char	   *code;
	char	   *child_id;
	char	   *parent_family = NULL;
	char	   *child_family = NULL;
	char	   *parent_role = NULL;
	char	   *parent_name = NULL;
	char	   *child_name = NULL;
	char	   *from;
	char	   *to;
	int64		parent_members;
	int64		child_members;
	Datum		result;

	if (strcmp(sk_request_role(), "PARENT") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("only a parent may link to a child's family")));
	sk_arg_text(args, "code", true, &typed);
	code = normalize_code(typed);
	if (code == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("field \"code\" must be a link code of 8 letters and digits"),
				 errhint("The code is on the child's profile, e.g. \"K7QX-M2PA\".")));

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	{
		Datum		v[1] = {CStringGetTextDatum(code)};

		sk_exec(&s_code_owner, v, NULL, false, 1);
		if (SPI_processed != 1)
			ereport(ERROR,
					(errcode(ERRCODE_SK_LINK_CODE_UNKNOWN),
					 errmsg("no child has the link code %s", code)));
		child_id = sk_get_text(0, 1);
	}
	{
		Datum		v[2] = {CStringGetTextDatum(uid), CStringGetTextDatum(child_id)};

		sk_exec(&s_lock_users, v, NULL, false, 2);
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			char	   *id = sk_get_text(i, 1);

			if (strcmp(id, uid) == 0)
			{
				parent_family = sk_get_text(i, 2);
				parent_role = sk_get_text(i, 3);
				parent_name = sk_get_text(i, 4);
			}
			else
			{
				child_family = sk_get_text(i, 2);
				child_name = sk_get_text(i, 4);
			}
		}
	}
	if (parent_family == NULL || strcmp(parent_role, "PARENT") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("only a parent may link to a child's family")));
	if (child_family == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_SK_LINK_CODE_UNKNOWN),
				 errmsg("no child has the link code %s", code)));
	if (strcmp(parent_family, child_family) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_SK_ALREADY_LINKED),
				 errmsg("you and %s are in one family already", child_name)));
	{
		Datum		v[2] = {CStringGetTextDatum(parent_family), CStringGetTextDatum(child_family)};

		sk_exec(&s_lock_families, v, NULL, false, 0);
	}
	{
		Datum		v[1] = {CStringGetTextDatum(parent_family)};

		sk_exec(&s_member_count, v, NULL, false, 1);
		parent_members = sk_get_int64(0, 1, NULL);
		v[0] = CStringGetTextDatum(child_family);
		sk_exec(&s_member_count, v, NULL, false, 1);
		child_members = sk_get_int64(0, 1, NULL);
	}
	/* the smaller family moves; a tie keeps the child's */
	if (parent_members > child_members)
	{
		from = child_family;
		to = parent_family;
	}
	else
	{
		from = parent_family;
		to = child_family;
	}

	{
		Datum		v[2] = {CStringGetTextDatum(from), CStringGetTextDatum(to)};

		sk_exec(&s_merge_settings, v, NULL, false, 0);
		sk_exec(&s_merge_notices, v, NULL, false, 0);
	}
	move_family_rows(from, to);
	{
		Datum		v[1] = {CStringGetTextDatum(from)};

		sk_exec(&s_delete_family, v, NULL, false, 0);
	}
	{
		Datum		v[5] = {CStringGetTextDatum(child_id), CStringGetTextDatum(to), CStringGetTextDatum(uid), CStringGetTextDatum(parent_name),
		CStringGetTextDatum(child_name)};

		sk_exec(&s_linked_event, v, NULL, false, 1);
	}
	{
		Datum		v[1] = {CStringGetTextDatum(to)};

		result = sk_exec_jsonb(&s_family_json, v, NULL);
	}
	SPI_finish();
	PG_RETURN_DATUM(result);
}

/* Trade approval */

static sk_stmt s_gate_approved = {
	"SELECT 1 FROM stockking.trade_request WHERE id = $1 AND user_id = $2::uuid AND status = 'APPROVED'"
	" AND order_id IS NULL",
	2, {I8, T}
};
static sk_stmt s_gate_setting = {
	"SELECT s.trade_approval FROM stockking.users u JOIN stockking.family_setting s ON s.family_id = u.family_id"
	" WHERE u.id = $1::uuid",
	1, {T}
};
static sk_stmt s_gate_existing_request = {
	"SELECT id FROM stockking.trade_request WHERE user_id = $1::uuid AND client_order_id = $2",
	2, {T, T}
};
static sk_stmt s_gate_insert = {
	"INSERT INTO stockking.trade_request (family_id, user_id, account_id, season_id, order_args, symbol, side, order_type,"
	" quantity, limit_price, client_order_id, reason)"
	" SELECT $1::uuid, $2::uuid, $3, $4, a, upper(a ->> 'symbol'), upper(a ->> 'side'), upper(a ->> 'type'),"
	" (a ->> 'quantity')::bigint, (a ->> 'limit_price')::numeric, a ->> 'client_order_id', $6"
	" FROM (SELECT ($5 - 'reason') || jsonb_build_object('season_id', $4)) x (a) RETURNING id",
	6, {T, T, I8, INT4OID, JSONBOID, T}
};
static sk_stmt s_trade_request_json = {
	"SELECT stockking.trade_request_json(t) FROM stockking.trade_request t WHERE t.id = $1",
	1, {I8}
};
static sk_stmt s_gate_answer = {
	"SELECT jsonb_build_object('approval_required', true, 'status', 'PENDING_APPROVAL',"
	" 'trade_request', stockking.trade_request_json(t)) FROM stockking.trade_request t WHERE t.id = $1",
	1, {I8}
};
static sk_stmt s_gate_event = {
	"SELECT stockking.emit_event(t.user_id, t.family_id, 'PARENTS', 'TradeApprovalRequested', jsonb_build_object("
	" 'trade_request_id', t.id, 'child_id', t.user_id, 'child', u.nickname, 'symbol', t.symbol, 'side', t.side,"
	" 'type', t.order_type, 'quantity', t.quantity, 'limit_price', trim_scale(t.limit_price), 'reason', t.reason))"
	" FROM stockking.trade_request t JOIN stockking.users u ON u.id = t.user_id WHERE t.id = $1",
	1, {I8}
};

/*
 * stockking.trade_approval_gate(args jsonb) RETURNS jsonb
 *
 * Called by api.place_order once the order's arguments are checked and
 * before anything else.  NULL: place the order.  Otherwise the answer to
 * return instead: the trade request recorded for a parent's approval.
 */
Datum
stockking_trade_approval_gate(PG_FUNCTION_ARGS)
{
	Jsonb	   *args = PG_GETARG_JSONB_P(0);
	int64		account_id = PG_GETARG_INT64(1);
	int32		season_id = PG_GETARG_INT32(2);
	char	   *family_id = DatumGetCString(DirectFunctionCall1(uuid_out, PG_GETARG_DATUM(3)));
	const char *uid = sk_require_user();
	char	   *reason;
	char	   *client_order_id = NULL;
	int64		request_id;
	bool		isnull;
	Datum		result;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	/* the approval of a request placing its order */
	if (approving_request != 0)
	{
		Datum		v[2] = {Int64GetDatum(approving_request), CStringGetTextDatum(uid)};

		sk_exec(&s_gate_approved, v, NULL, false, 1);
		if (SPI_processed == 1)
		{
			SPI_finish();
			PG_RETURN_NULL();
		}
	}
	{
		Datum		v[1] = {CStringGetTextDatum(uid)};

		sk_exec(&s_gate_setting, v, NULL, false, 1);
		if (SPI_processed != 1 || !DatumGetBool(sk_get_datum(0, 1, &isnull)) || isnull)
		{
			SPI_finish();
			PG_RETURN_NULL();
		}
	}

	/* a repeated client_order_id finds its request (place_order found an order) */
	if (sk_arg_text(args, "client_order_id", false, &client_order_id))
	{
		Datum		v[2] = {CStringGetTextDatum(uid), CStringGetTextDatum(client_order_id)};

		sk_exec(&s_gate_existing_request, v, NULL, false, 1);
		if (SPI_processed == 1)
		{
			Datum		w[1] = {Int64GetDatum(sk_get_int64(0, 1, NULL))};

			result = sk_exec_jsonb(&s_gate_answer, w, NULL);
			SPI_finish();
			PG_RETURN_DATUM(result);
		}
	}

	reason = optional_text(args, "reason");
	if (reason == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_SK_APPROVAL_REQUIRED),
				 errmsg("your family asks a parent to approve each trade"),
				 errhint("Send the order again with a \"reason\": why you want to make this trade. A parent will approve or reject it.")));

	{
		Datum		v[6] = {CStringGetTextDatum(family_id), CStringGetTextDatum(uid), Int64GetDatum(account_id),
		Int32GetDatum(season_id), JsonbPGetDatum(args), CStringGetTextDatum(reason)};

		sk_exec(&s_gate_insert, v, NULL, false, 1);
		request_id = sk_get_int64(0, 1, NULL);
	}
	{
		Datum		v[1] = {Int64GetDatum(request_id)};

		sk_exec(&s_gate_event, v, NULL, false, 1);
		result = sk_exec_jsonb(&s_gate_answer, v, NULL);
	}
	SPI_finish();
	PG_RETURN_DATUM(result);
}

static sk_stmt s_request_lock = {
	"SELECT t.status, t.user_id::text, t.family_id::text, t.order_args FROM stockking.trade_request t"
	" WHERE t.id = $1 FOR UPDATE",
	1, {I8}
};
static sk_stmt s_request_approve = {
	"UPDATE stockking.trade_request SET status = 'APPROVED', decided_by = $2::uuid, decided_at = now(),"
	" decision_note = $3 WHERE id = $1",
	3, {I8, T, T}
};
static sk_stmt s_request_placed = {
	"UPDATE stockking.trade_request SET order_id = $2 WHERE id = $1",
	2, {I8, I8}
};
static sk_stmt s_request_refused = {
	"UPDATE stockking.trade_request SET status = 'REJECTED', order_error = $2 WHERE id = $1",
	2, {I8, T}
};
static sk_stmt s_request_reject = {
	"UPDATE stockking.trade_request SET status = 'REJECTED', decided_by = $2::uuid, decided_at = now(),"
	" decision_note = $3 WHERE id = $1",
	3, {I8, T, T}
};
static sk_stmt s_place = {
	"SELECT (api.place_order($1) ->> 'id')::bigint",
	1, {JSONBOID}
};
static sk_stmt s_decided_event = {
	"SELECT stockking.emit_event(t.user_id, t.family_id, 'USER', $2, jsonb_build_object("
	" 'trade_request_id', t.id, 'status', t.status, 'symbol', t.symbol, 'side', t.side, 'quantity', t.quantity,"
	" 'order_id', t.order_id, 'order_status', o.status, 'note', t.decision_note, 'order_error', t.order_error))"
	" FROM stockking.trade_request t LEFT JOIN stockking.orders o ON o.id = t.order_id WHERE t.id = $1",
	2, {I8, T}
};

/* true for the refusals of an order that the market gives (class SK, 22, 23, P0002) */
static bool
market_refusal(int sqlerrcode)
{
	char	   *state = unpack_sql_state(sqlerrcode);

	return (state[0] == 'S' && state[1] == 'K') ||
		(state[0] == '2' && (state[1] == '2' || state[1] == '3')) ||
		strcmp(state, "P0002") == 0;
}

/*
 * Place a trade request's order as the child, in a subtransaction.  Returns
 * the order id, or 0 with *refusal set to "SQLSTATE: message" when the
 * market refused it.
 */
static int64
place_for_child(int64 request_id, const char *child_id, Datum order_args, char **refusal)
{
	MemoryContext spi_context = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	volatile int64 order_id = 0;

	*refusal = NULL;
	BeginInternalSubTransaction(NULL);
	/* inside the subtransaction: an error there ends the acting-as entry too */
	sk_act_as(child_id, "CHILD");
	approving_request = request_id;
	MemoryContextSwitchTo(spi_context);
	PG_TRY();
	{
		Datum		v[1] = {order_args};

		sk_exec(&s_place, v, NULL, false, 1);
		order_id = sk_get_int64(0, 1, NULL);
		approving_request = 0;
		sk_act_done();
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(spi_context);
		CurrentResourceOwner = owner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(spi_context);
		edata = CopyErrorData();
		FlushErrorState();
		approving_request = 0;
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(spi_context);
		CurrentResourceOwner = owner;
		if (!market_refusal(edata->sqlerrcode))
			ReThrowError(edata);
		*refusal = psprintf("%s: %s", unpack_sql_state(edata->sqlerrcode), edata->message);
		FreeErrorData(edata);
	}
	PG_END_TRY();
	return order_id;
}

/*
 * Lock a trade request for a decision.  Returns its status; the caller must
 * be a parent of its family (row-level security hides it otherwise: P0002).
 */
static char *
lock_trade_request(int64 id, char **child_id, Datum *order_args)
{
	Datum		v[1] = {Int64GetDatum(id)};
	bool		isnull;

	sk_exec(&s_request_lock, v, NULL, false, 1);
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("trade request " INT64_FORMAT " not found", id)));
	*child_id = sk_get_text(0, 2);
	*order_args = SPI_datumTransfer(sk_get_datum(0, 4, &isnull), false, -1);
	return sk_get_text(0, 1);
}

/*
 * api.approve_trade_request(args jsonb) RETURNS jsonb
 *
 * Args: id, note (optional).  Places the requested order as the child.
 */
Datum
stockking_approve_trade_request(PG_FUNCTION_ARGS)
{
	Jsonb	   *args = PG_GETARG_JSONB_P(0);
	const char *uid = sk_require_user();
	int64		id;
	char	   *note;
	char	   *status;
	char	   *child_id;
	Datum		order_args;
	Datum		result;

	require_parent("approve a trade");
	sk_arg_int64(args, "id", true, &id);
	note = optional_text(args, "note");
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	status = lock_trade_request(id, &child_id, &order_args);
	if (strcmp(status, "REJECTED") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_SK_TRADE_DECIDED),
				 errmsg("trade request " INT64_FORMAT " was rejected already", id)));
	if (strcmp(status, "PENDING") == 0)
	{
		Datum		v[3] = {Int64GetDatum(id), CStringGetTextDatum(uid), note ? CStringGetTextDatum(note) : (Datum) 0};
		char		nulls[3] = {' ', ' ', note ? ' ' : 'n'};
		char	   *refusal;
		int64		order_id;

		sk_exec(&s_request_approve, v, nulls, false, 0);
		order_id = place_for_child(id, child_id, order_args, &refusal);
		if (refusal == NULL)
		{
			Datum		w[2] = {Int64GetDatum(id), Int64GetDatum(order_id)};

			sk_exec(&s_request_placed, w, NULL, false, 0);
			w[1] = CStringGetTextDatum("TradeRequestApproved");
			sk_exec(&s_decided_event, w, NULL, false, 1);
		}
		else
		{
			Datum		w[2] = {Int64GetDatum(id), CStringGetTextDatum(refusal)};

			sk_exec(&s_request_refused, w, NULL, false, 0);
			w[1] = CStringGetTextDatum("TradeRequestRejected");
			sk_exec(&s_decided_event, w, NULL, false, 1);
		}
	}
	{
		Datum		v[1] = {Int64GetDatum(id)};

		result = sk_exec_jsonb(&s_trade_request_json, v, NULL);
	}
	SPI_finish();
	PG_RETURN_DATUM(result);
}

/*
 * api.reject_trade_request(args jsonb) RETURNS jsonb
 *
 * Args: id, reason (optional).  Declines a pending trade request.
 */
Datum
stockking_reject_trade_request(PG_FUNCTION_ARGS)
{
	Jsonb	   *args = PG_GETARG_JSONB_P(0);
	const char *uid = sk_require_user();
	int64		id;
	char	   *reason;
	char	   *status;
	char	   *child_id;
	Datum		order_args;
	Datum		result;

	require_parent("reject a trade");
	sk_arg_int64(args, "id", true, &id);
	reason = optional_text(args, "reason");
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	status = lock_trade_request(id, &child_id, &order_args);
	if (strcmp(status, "APPROVED") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_SK_TRADE_DECIDED),
				 errmsg("trade request " INT64_FORMAT " was approved already", id)));
	if (strcmp(status, "PENDING") == 0)
	{
		Datum		v[3] = {Int64GetDatum(id), CStringGetTextDatum(uid), reason ? CStringGetTextDatum(reason) : (Datum) 0};
		char		nulls[3] = {' ', ' ', reason ? ' ' : 'n'};

		sk_exec(&s_request_reject, v, nulls, false, 0);
		v[1] = CStringGetTextDatum("TradeRequestRejected");
		sk_exec(&s_decided_event, v, NULL, false, 1);
	}
	{
		Datum		v[1] = {Int64GetDatum(id)};

		result = sk_exec_jsonb(&s_trade_request_json, v, NULL);
	}
	SPI_finish();
	PG_RETURN_DATUM(result);
}

/*
 * stockking.refuse_change() RETURNS trigger: the append-only guard (BEFORE
 * UPDATE OR DELETE FOR EACH ROW).  Refuses with 42501, except the family
 * merge's move of a row (see merging): family_id from the merged family to
 * the other, every other column unchanged.
 */
Datum
stockking_refuse_change(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	Relation	rel;
	TupleDesc	desc;
	int			family_att;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BEFORE(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event))
		elog(ERROR, "refuse_change must be a BEFORE ... FOR EACH ROW trigger");
	rel = trigdata->tg_relation;
	desc = RelationGetDescr(rel);
	family_att = SPI_fnumber(desc, "family_id");
	if (merging.active && TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) && family_att > 0)
	{
		HeapTuple	old = trigdata->tg_trigtuple;
		HeapTuple	new = trigdata->tg_newtuple;
		bool		only_family = true;

		for (int i = 1; i <= desc->natts && only_family; i++)
		{
			Form_pg_attribute att = TupleDescAttr(desc, i - 1);
			bool		old_null;
			bool		new_null;
			Datum		old_value;
			Datum		new_value;

			if (att->attisdropped)
				continue;
			old_value = heap_getattr(old, i, desc, &old_null);
			new_value = heap_getattr(new, i, desc, &new_null);
			if (i == family_att)
				only_family = !old_null && !new_null &&
					memcmp(DatumGetUUIDP(old_value), &merging.from, sizeof(pg_uuid_t)) == 0 &&
					memcmp(DatumGetUUIDP(new_value), &merging.to, sizeof(pg_uuid_t)) == 0;
			else
				only_family = old_null == new_null &&
					(old_null || datumIsEqual(old_value, new_value, att->attbyval, att->attlen));
		}
		if (only_family)
			return PointerGetDatum(new);
	}
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("%s is append-only", RelationGetRelationName(rel))));
	return PointerGetDatum(NULL);
}

/* stockking.family_tables() RETURNS SETOF text: the tables a family merge moves (family_tables) */
Datum
stockking_family_tables(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	for (int i = 0; i < lengthof(family_tables); i++)
	{
		Datum		v[1] = {CStringGetTextDatum(family_tables[i])};
		bool		n[1] = {false};

		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, v, n);
	}
	return (Datum) 0;
}
