/*
 * missions.c
 *	  Missions, badges, XP and levels: the triggers on fills and orders, the
 *	  level curve, and the claim of a mission's reward.
 *
 * The triggers run in the transaction of the trade, as its caller (so
 * row-level security applies to what they write), after the row is in:
 *
 *	  fill, BUY		badge FIRST_PURCHASE; daily DAILY_BUY_ONE + 1
 *	  fill, SELL	badge FIRST_SALE
 *	  every fill	weekly WEEKLY_FIVE_TRADES + 1; weekly WEEKLY_HOLD_THREE =
 *					the number of different stocks the account holds (its
 *					best this week); badge DIVERSIFIED at five
 *	  LIMIT order	badge FIRST_LIMIT_ORDER; weekly WEEKLY_LIMIT_ORDER + 1
 *
 * Progress is kept per period: the Asia/Seoul day for daily missions, the
 * Asia/Seoul week from Monday for weekly ones, so a new period starts from
 * zero by itself.  A mission completes when its progress reaches its
 * target, once per period; a badge is earned once.  Each gives its XP at
 * once; the XP of one trigger call is added in one update, and a level
 * reached is announced (LevelUp).  Events go to the family: BadgeEarned,
 * MissionCompleted, LevelUp.
 *
 * Level curve: level L starts at 50 x L x (L - 1) XP (level 2 at 100, 3 at
 * 300, 4 at 600, 5 at 1,000, 10 at 4,500): each level takes 100 XP more
 * than the one before.
 *
 * A completed mission's game-money reward is claimed once: a REWARD entry
 * of the cash ledger that is a contribution (net_contribution rises with
 * it, so the time-weighted and simple returns do not count it), under the
 * account's row lock taken before the mission's, the order trading takes
 * them in.
 *
 * The progress functions (sk_progress_*: badges, missions, XP, level) and
 * the reward credit (sk_reward_*) serve education.c too: lessons and
 * quizzes feed the same badges, missions and levels, and a quiz's reward is
 * paid the way a mission's is.
 */
#include "family.h"

#include <math.h>

#include "access/htup_details.h"
#include "commands/trigger.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/rel.h"

PG_FUNCTION_INFO_V1(stockking_level_for_xp);
PG_FUNCTION_INFO_V1(stockking_xp_for_level);
PG_FUNCTION_INFO_V1(stockking_mission_on_fill);
PG_FUNCTION_INFO_V1(stockking_mission_on_order);
PG_FUNCTION_INFO_V1(stockking_claim_mission);

#define T TEXTOID
#define I8 INT8OID
#define I4 INT4OID

#define MAX_LEVEL 400000000

int64
sk_xp_for_level(int32 level)
{
	if (level < 1 || level > MAX_LEVEL)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("level must be between 1 and %d", MAX_LEVEL)));
	return INT64CONST(50) * level * (level - 1);
}

int32
sk_level_for_xp(int64 xp)
{
	int64		level;

	if (xp <= 0)
		return 1;
	/* an estimate from the square root, then made exact */
	level = (int64) ((1.0 + sqrt(1.0 + (double) xp * 0.08)) / 2.0);
	if (level < 1)
		level = 1;
	if (level > MAX_LEVEL)
		level = MAX_LEVEL;
	while (level > 1 && (int128) 50 * level * (level - 1) > xp)
		level--;
	while (level < MAX_LEVEL && (int128) 50 * (level + 1) * level <= xp)
		level++;
	return (int32) level;
}

Datum
stockking_level_for_xp(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(sk_level_for_xp(PG_GETARG_INT64(0)));
}

Datum
stockking_xp_for_level(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(sk_xp_for_level(PG_GETARG_INT32(0)));
}

/* Progress, badges, XP */

static sk_stmt s_periods = {
	"SELECT stockking.seoul_day(now()), stockking.seoul_week(now())",
	0, {0}
};
static sk_stmt s_badge = {
	"WITH ins AS (INSERT INTO stockking.user_badge (user_id, badge_code, family_id) VALUES ($1::uuid, $3, $2::uuid)"
	"             ON CONFLICT DO NOTHING RETURNING badge_code)"
	" SELECT b.reward_xp, stockking.emit_event($1::uuid, $2::uuid, 'FAMILY', 'BadgeEarned', jsonb_build_object("
	"   'badge', b.code, 'title', b.title, 'reward_xp', b.reward_xp))"
	" FROM ins JOIN stockking.badge b ON b.code = ins.badge_code",
	3, {T, T, T}
};
static sk_stmt s_advance = {
	"INSERT INTO stockking.mission_progress AS mp (user_id, mission_code, period_start, family_id, progress, target)"
	" SELECT $1::uuid, m.code, $4, $2::uuid, least($5, m.target), m.target FROM stockking.mission m"
	"  WHERE m.code = $3 AND m.active"
	" ON CONFLICT (user_id, mission_code, period_start) DO UPDATE"
	"   SET progress = least(mp.target, CASE WHEN $6 THEN mp.progress + $5 ELSE greatest(mp.progress, $5) END),"
	"       updated_at = now()"
	"   WHERE mp.completed_at IS NULL"
	" RETURNING mp.id, mp.progress >= mp.target",
	6, {T, T, T, DATEOID, I4, BOOLOID}
};
static sk_stmt s_complete = {
	"WITH done AS (UPDATE stockking.mission_progress SET completed_at = now(), updated_at = now()"
	"              WHERE id = $1 AND completed_at IS NULL RETURNING id, mission_code, period_start, user_id, family_id)"
	" SELECT m.reward_xp, stockking.emit_event(done.user_id, done.family_id, 'FAMILY', 'MissionCompleted',"
	"   jsonb_build_object('progress_id', done.id, 'mission', m.code, 'title', m.title, 'period', m.period,"
	"                      'period_start', done.period_start, 'reward_xp', m.reward_xp,"
	"                      'reward', jsonb_build_object('KRW', m.reward_krw, 'USD', round(m.reward_usd / 100.0, 2))))"
	" FROM done JOIN stockking.mission m ON m.code = done.mission_code",
	1, {I8}
};
static sk_stmt s_add_xp = {
	"INSERT INTO stockking.user_progress AS p (user_id, family_id, xp, level)"
	" VALUES ($1::uuid, $2::uuid, $3, stockking.level_for_xp($3))"
	" ON CONFLICT (user_id) DO UPDATE SET xp = p.xp + EXCLUDED.xp, level = stockking.level_for_xp(p.xp + EXCLUDED.xp),"
	"   family_id = EXCLUDED.family_id, updated_at = now()"
	" RETURNING xp",
	3, {T, T, I8}
};
static sk_stmt s_level_event = {
	"SELECT stockking.emit_event($1::uuid, $2::uuid, 'FAMILY', 'LevelUp',"
	" jsonb_build_object('level', $3, 'xp', $4, 'next_level_xp', stockking.xp_for_level($3 + 1)))",
	4, {T, T, I4, I8}
};
static sk_stmt s_held = {
	"SELECT count(*) FROM stockking.holding WHERE account_id = $1 AND quantity > 0",
	1, {I8}
};

void
sk_progress_badge(sk_progress *c, const char *badge)
{
	Datum		v[3] = {CStringGetTextDatum(c->user_id), CStringGetTextDatum(c->family_id), CStringGetTextDatum(badge)};

	sk_exec(&s_badge, v, NULL, false, 0);
	if (SPI_processed == 1)
		c->xp += sk_get_int64(0, 1, NULL);
}

void
sk_progress_advance(sk_progress *c, const char *mission, Datum period_start, int32 value, bool add)
{
	Datum		v[6] = {CStringGetTextDatum(c->user_id), CStringGetTextDatum(c->family_id), CStringGetTextDatum(mission), period_start,
	Int32GetDatum(value), BoolGetDatum(add)};
	bool		isnull;

	sk_exec(&s_advance, v, NULL, false, 1);
	if (SPI_processed == 1 && DatumGetBool(sk_get_datum(0, 2, &isnull)))
	{
		Datum		w[1] = {Int64GetDatum(sk_get_int64(0, 1, NULL))};

		sk_exec(&s_complete, w, NULL, false, 0);
		if (SPI_processed == 1)
			c->xp += sk_get_int64(0, 1, NULL);
	}
}

void
sk_progress_start(sk_progress *c, const char *user_id, const char *family_id)
{
	bool		isnull;

	c->user_id = user_id;
	c->family_id = family_id;
	c->xp = 0;
	sk_exec(&s_periods, NULL, NULL, false, 1);
	c->day = sk_get_datum(0, 1, &isnull);
	c->week = sk_get_datum(0, 2, &isnull);
}

void
sk_progress_finish(sk_progress *c)
{
	int64		xp;
	int32		before;
	int32		after;

	if (c->xp == 0)
		return;
	{
		Datum		v[3] = {CStringGetTextDatum(c->user_id), CStringGetTextDatum(c->family_id), Int64GetDatum(c->xp)};

		sk_exec(&s_add_xp, v, NULL, false, 1);
		xp = sk_get_int64(0, 1, NULL);
	}
	before = sk_level_for_xp(xp - c->xp);
	after = sk_level_for_xp(xp);
	if (after > before)
	{
		Datum		v[4] = {CStringGetTextDatum(c->user_id), CStringGetTextDatum(c->family_id), Int32GetDatum(after),
		Int64GetDatum(xp)};

		sk_exec(&s_level_event, v, NULL, false, 1);
	}
}

/* a column of the trigger's new row as text, or NULL */
static char *
new_text(TriggerData *td, const char *column)
{
	TupleDesc	desc = td->tg_relation->rd_att;
	int			n = SPI_fnumber(desc, column);

	if (n <= 0)
		elog(ERROR, "column \"%s\" missing in %s", column, RelationGetRelationName(td->tg_relation));
	return SPI_getvalue(td->tg_trigtuple, desc, n);
}

static TriggerData *
check_trigger(FunctionCallInfo fcinfo, const char *name)
{
	TriggerData *td;

	if (!CALLED_AS_TRIGGER(fcinfo))
		elog(ERROR, "%s: not called as a trigger", name);
	td = (TriggerData *) fcinfo->context;
	if (!TRIGGER_FIRED_AFTER(td->tg_event) || !TRIGGER_FIRED_FOR_ROW(td->tg_event) ||
		!TRIGGER_FIRED_BY_INSERT(td->tg_event))
		elog(ERROR, "%s: must be an AFTER INSERT row trigger", name);
	return td;
}

/*
 * stockking.mission_on_fill() trigger: badges, missions and XP of a fill.
 */
Datum
stockking_mission_on_fill(PG_FUNCTION_ARGS)
{
	TriggerData *td = check_trigger(fcinfo, "mission_on_fill");
	char	   *user_id;
	char	   *family_id;
	bool		buy;
	int64		account_id;
	int64		held;
	sk_progress c;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	user_id = new_text(td, "user_id");
	family_id = new_text(td, "family_id");
	buy = strcmp(new_text(td, "side"), "BUY") == 0;
	account_id = pg_strtoint64(new_text(td, "account_id"));

	sk_progress_start(&c, user_id, family_id);
	if (buy)
	{
		sk_progress_badge(&c, "FIRST_PURCHASE");
		sk_progress_advance(&c, "DAILY_BUY_ONE", c.day, 1, true);
	}
	else
		sk_progress_badge(&c, "FIRST_SALE");
	sk_progress_advance(&c, "WEEKLY_FIVE_TRADES", c.week, 1, true);
	{
		Datum		v[1] = {Int64GetDatum(account_id)};

		sk_exec(&s_held, v, NULL, false, 1);
		held = sk_get_int64(0, 1, NULL);
	}
	sk_progress_advance(&c, "WEEKLY_HOLD_THREE", c.week, (int32) Min(held, PG_INT32_MAX), false);
	if (held >= 5)
		sk_progress_badge(&c, "DIVERSIFIED");
	sk_progress_finish(&c);
	SPI_finish();
	return PointerGetDatum(NULL);
}

/*
 * stockking.mission_on_order() trigger (LIMIT orders): the first limit
 * order's badge and the weekly limit-order mission.
 */
Datum
stockking_mission_on_order(PG_FUNCTION_ARGS)
{
	TriggerData *td = check_trigger(fcinfo, "mission_on_order");
	sk_progress c;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (strcmp(new_text(td, "order_type"), "LIMIT") == 0)
	{
		sk_progress_start(&c, new_text(td, "user_id"), new_text(td, "family_id"));
		sk_progress_badge(&c, "FIRST_LIMIT_ORDER");
		sk_progress_advance(&c, "WEEKLY_LIMIT_ORDER", c.week, 1, true);
		sk_progress_finish(&c);
	}
	SPI_finish();
	return PointerGetDatum(NULL);
}

/* The claim */

static sk_stmt s_reward_account = {
	"SELECT a.id, a.currency::text, stockking.season_clock(a.season_id) FROM stockking.account a"
	" WHERE a.id = stockking.resolve_account($1) FOR UPDATE",
	1, {JSONBOID}
};
static sk_stmt s_claim_progress = {
	"SELECT mp.completed_at IS NOT NULL, mp.claimed_at IS NOT NULL, m.reward_krw, m.reward_usd, mp.mission_code"
	" FROM stockking.mission_progress mp JOIN stockking.mission m ON m.code = mp.mission_code"
	" WHERE mp.id = $1 AND mp.user_id = $2::uuid FOR UPDATE OF mp",
	2, {I8, T}
};
static sk_stmt s_reward_ledger = {
	"INSERT INTO stockking.cash_ledger (account_id, family_id, user_id, entry_type, amount, is_contribution, market_date)"
	" SELECT a.id, a.family_id, a.user_id, 'REWARD', $2, true, $3 FROM stockking.account a WHERE a.id = $1",
	3, {I8, I8, DATEOID}
};
static sk_stmt s_reward_cash = {
	"UPDATE stockking.account SET cash = cash + $2, net_contribution = net_contribution + $2 WHERE id = $1",
	2, {I8, I8}
};

void
sk_reward_account_lock(Jsonb *args, sk_reward_account *a)
{
	Datum		v[1] = {JsonbPGetDatum(args)};

	sk_exec(&s_reward_account, v, NULL, false, 1);
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_SK_NO_ACCOUNT),
				 errmsg("no account for this user")));
	a->account_id = sk_get_int64(0, 1, NULL);
	a->currency = sk_get_text(0, 2);
	a->clock = sk_get_datum(0, 3, &a->clock_null);
}

int64
sk_reward_amount(const sk_reward_account *a, int64 krw, int64 usd_cents, const char *what)
{
	if (strcmp(a->currency, "KRW") == 0)
		return krw;
	if (strcmp(a->currency, "USD") == 0)
		return usd_cents;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("%s pay no reward in %s", what, a->currency)));
	return 0;
}

void
sk_reward_credit(const sk_reward_account *a, int64 amount)
{
	Datum		v[3] = {Int64GetDatum(a->account_id), Int64GetDatum(amount), a->clock};
	char		nulls[3] = {' ', ' ', a->clock_null ? 'n' : ' '};

	if (amount <= 0)
		return;
	sk_exec(&s_reward_ledger, v, nulls, false, 0);
	sk_exec(&s_reward_cash, v, NULL, false, 0);
}
static sk_stmt s_claim_mark = {
	"UPDATE stockking.mission_progress SET claimed_at = now(), claim_account_id = $2, claim_amount = $3,"
	" updated_at = now() WHERE id = $1",
	3, {I8, I8, I8}
};
static sk_stmt s_claim_result = {
	"WITH e AS (SELECT stockking.emit_event(mp.user_id, mp.family_id, 'FAMILY', 'MissionRewardClaimed',"
	"             jsonb_build_object('progress_id', mp.id, 'mission', mp.mission_code, 'account_id', a.id,"
	"                                'amount', stockking.money_json(mp.claim_amount, a.currency),"
	"                                'currency', a.currency)) AS event_id"
	"             FROM stockking.mission_progress mp JOIN stockking.account a ON a.id = mp.claim_account_id"
	"            WHERE mp.id = $1)"
	" SELECT jsonb_build_object('id', mp.id, 'mission', mp.mission_code, 'title', m.title,"
	"   'amount', stockking.money_json(mp.claim_amount, a.currency), 'currency', a.currency, 'account_id', a.id,"
	"   'cash', stockking.money_json(a.cash, a.currency), 'claimed_at', mp.claimed_at, 'event_id', e.event_id)"
	" FROM stockking.mission_progress mp JOIN stockking.mission m ON m.code = mp.mission_code"
	" JOIN stockking.account a ON a.id = mp.claim_account_id CROSS JOIN e WHERE mp.id = $1",
	1, {I8}
};

/*
 * api.claim_mission(args jsonb) RETURNS jsonb
 *
 * Args: id (mission progress), season_id (optional: the default account).
 */
Datum
stockking_claim_mission(PG_FUNCTION_ARGS)
{
	Jsonb	   *args = PG_GETARG_JSONB_P(0);
	const char *uid = sk_require_user();
	int64		id;
	sk_reward_account account;
	bool		isnull;
	int64		amount;
	Datum		result;

	if (strcmp(sk_request_role(), "CHILD") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_SK_NOT_A_CHILD),
				 errmsg("only a child claims mission rewards")));
	sk_arg_int64(args, "id", true, &id);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	/* the account first, then the mission: the order trades lock in */
	sk_reward_account_lock(args, &account);
	{
		Datum		v[2] = {Int64GetDatum(id), CStringGetTextDatum(uid)};

		sk_exec(&s_claim_progress, v, NULL, false, 1);
		if (SPI_processed != 1)
			ereport(ERROR,
					(errcode(ERRCODE_NO_DATA_FOUND),
					 errmsg("mission " INT64_FORMAT " not found", id)));
		if (!DatumGetBool(sk_get_datum(0, 1, &isnull)))
			ereport(ERROR,
					(errcode(ERRCODE_SK_MISSION_NOT_DONE),
					 errmsg("mission %s is not completed yet", sk_get_text(0, 5))));
		if (DatumGetBool(sk_get_datum(0, 2, &isnull)))
			ereport(ERROR,
					(errcode(ERRCODE_SK_REWARD_CLAIMED),
					 errmsg("the reward of mission %s was claimed already", sk_get_text(0, 5))));
		amount = sk_reward_amount(&account, sk_get_int64(0, 3, NULL), sk_get_int64(0, 4, NULL), "missions");
	}
	sk_reward_credit(&account, amount);
	{
		Datum		v[3] = {Int64GetDatum(id), Int64GetDatum(account.account_id), Int64GetDatum(amount)};

		sk_exec(&s_claim_mark, v, NULL, false, 0);
		result = sk_exec_jsonb(&s_claim_result, v, NULL);
	}
	SPI_finish();
	PG_RETURN_DATUM(result);
}
