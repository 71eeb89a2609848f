/*
 * allowance.c
 *	  Allowance goals, requests and their rules, the decision of a parent,
 *	  and the payment of real allowance through a payment-provider adapter.
 *
 * A goal measures a child's game account from the start of its period
 * (when it was set, then where the last approved request measured):
 * TARGET_RETURN is met when the time-weighted return since then reaches
 * target_rate percent and pays reward_amount won; CONVERSION pays the game
 * profit made since then (gain = total value - net contribution: rewards
 * and deposits are not profit) x conversion_ratio, rounded down to the won,
 * at most conversion_cap.  The comparison with the target is exact:
 * index x 10000 >= start_index x (10000 + target in basis points).
 *
 * A request is refused, in this order, when the goal is switched off
 * (SK220), not met (SK221), requested max_requests_per_month times this
 * month (SK222), would pass monthly_limit this month (SK223), or has a
 * request waiting (SK224).  The month is the Asia/Seoul calendar month;
 * PENDING and APPROVED requests count.  evaluate_goal() applies the rules
 * both for a request and for the status the goal lists show, so both always
 * agree.  Requests on one goal are serialized by an advisory lock on the
 * goal, so two at once cannot both pass the monthly limit.
 *
 * Payment state machine.  Approval records one payment per request
 * (payment.request_id is UNIQUE) in state PENDING and makes the first
 * attempt at once:
 *
 *	  PENDING --attempt: SUCCEEDED---------------------------> SUCCEEDED
 *	  PENDING --attempt: FAILED (retryable) or UNKNOWN--------> PENDING, next attempt after 1, 4, 16... minutes
 *	                     (after max_attempts: -> FAILED)
 *	  PENDING --attempt: FAILED (declined, not retryable)-----> FAILED
 *	  FAILED  --a parent retries------------------------------> PENDING (three more attempts)
 *
 * Money is never paid twice: a request is decided once under its row lock
 * (a second approval waits, then finds it APPROVED and returns it as it
 * is); it has at most one payment; an attempt runs only under the payment's
 * row lock and only in PENDING; and every attempt of a payment sends the
 * same idempotency key, with which a provider returns the transfer it made
 * before instead of making another -- so an attempt whose answer was lost
 * (UNKNOWN) is resolved by the next one.  Only SUCCEEDED counts as paid.
 *
 * Providers implement sk_payment_provider: transfer() moves the money, or
 * finds the transfer made earlier under the same key.  The sandbox
 * provider keeps its books in stockking.sandbox_transfer (no real money
 * moves) and answers as stockking.sandbox_rule scripts it: DECLINE, ERROR
 * (transient) or TIMEOUT (the transfer is made, the answer lost).  A real
 * provider (Toss Payments) would be called outside the database by a worker
 * that reports the result back; its adapter would record the call here.
 */
#include "family.h"

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "mb/pg_wchar.h"
#include "utils/json.h"

PG_FUNCTION_INFO_V1(stockking_create_allowance_goal);
PG_FUNCTION_INFO_V1(stockking_update_allowance_goal);
PG_FUNCTION_INFO_V1(stockking_goal_status);
PG_FUNCTION_INFO_V1(stockking_request_allowance);
PG_FUNCTION_INFO_V1(stockking_approve_allowance_request);
PG_FUNCTION_INFO_V1(stockking_reject_allowance_request);
PG_FUNCTION_INFO_V1(stockking_retry_allowance_payment);
PG_FUNCTION_INFO_V1(stockking_retry_payments);

#define T TEXTOID
#define I8 INT8OID
#define I4 INT4OID

/* advisory lock class of an allowance goal's requests */
#define GOAL_LOCK_CLASS 21325

/* bounds of amounts in won: beyond them a field is out of range (22003) */
#define MAX_WON INT64CONST(100000000)
#define MAX_TARGET_BP 100000	/* 1000% */
#define RETRY_ROUND 3			/* automatic attempts of a payment, and of each manual retry */

/* Payment provider adapter */

typedef enum sk_pay_outcome
{
	SK_PAY_SUCCEEDED,
	SK_PAY_FAILED,
	SK_PAY_UNKNOWN				/* no answer: the transfer may have been made */
} sk_pay_outcome;

typedef struct sk_transfer
{
	int64		payment_id;
	const char *idempotency_key;
	const char *child_id;
	int64		amount;			/* minor units of currency */
	const char *currency;
} sk_transfer;

typedef struct sk_transfer_result
{
	sk_pay_outcome outcome;
	bool		retryable;		/* for FAILED: a later attempt may succeed */
	char	   *provider_ref;	/* the provider's id of the transfer (SUCCEEDED) */
	char	   *error;			/* what went wrong (FAILED, UNKNOWN) */
} sk_transfer_result;

typedef struct sk_payment_provider
{
	const char *name;

	/*
	 * Transfer t->amount to the child, or find the transfer made earlier
	 * under t->idempotency_key and report it SUCCEEDED: one key never moves
	 * money twice.  Runs in the caller's transaction, SPI connected.
	 */
	void		(*transfer) (const sk_transfer *t, sk_transfer_result *r);
} sk_payment_provider;

static sk_stmt s_sandbox_find = {
	"SELECT provider_ref FROM stockking.sandbox_transfer WHERE idempotency_key = $1",
	1, {T}
};
static sk_stmt s_sandbox_rule = {
	"UPDATE stockking.sandbox_rule SET remaining = remaining - 1"
	" WHERE id = (SELECT r.id FROM stockking.sandbox_rule r WHERE r.remaining > 0"
	"             AND (r.child_id IS NULL OR r.child_id = $1::uuid)"
	"             ORDER BY r.child_id NULLS LAST, r.id LIMIT 1 FOR UPDATE)"
	" RETURNING outcome",
	1, {T}
};
static sk_stmt s_sandbox_insert = {
	"INSERT INTO stockking.sandbox_transfer (idempotency_key, child_id, amount, currency, provider_ref)"
	" VALUES ($1, $2::uuid, $3, $4, 'SBX-' || upper(substr(md5($1), 1, 12))) RETURNING provider_ref",
	4, {T, T, I8, T}
};

static void
sandbox_transfer(const sk_transfer *t, sk_transfer_result *r)
{
	Datum		v[4] = {CStringGetTextDatum(t->idempotency_key), CStringGetTextDatum(t->child_id), Int64GetDatum(t->amount),
	CStringGetTextDatum(t->currency)};
	char	   *scripted = NULL;

	r->retryable = false;
	r->provider_ref = NULL;
	r->error = NULL;

	/* the transfer made before under this key, if any: never a second one */
	sk_exec(&s_sandbox_find, v, NULL, false, 1);
	if (SPI_processed == 1)
	{
		r->outcome = SK_PAY_SUCCEEDED;
		r->provider_ref = sk_get_text(0, 1);
		return;
	}
	{
		Datum		w[1] = {CStringGetTextDatum(t->child_id)};

		sk_exec(&s_sandbox_rule, w, NULL, false, 1);
		if (SPI_processed == 1)
			scripted = sk_get_text(0, 1);
	}
	if (scripted != NULL && strcmp(scripted, "DECLINE") == 0)
	{
		r->outcome = SK_PAY_FAILED;
		r->error = pstrdup("declined by the sandbox bank (simulated: the receiving account is closed)");
		return;
	}
	if (scripted != NULL && strcmp(scripted, "ERROR") == 0)
	{
		r->outcome = SK_PAY_FAILED;
		r->retryable = true;
		r->error = pstrdup("the sandbox bank is unavailable (simulated)");
		return;
	}
	sk_exec(&s_sandbox_insert, v, NULL, false, 1);
	if (scripted != NULL && strcmp(scripted, "TIMEOUT") == 0)
	{
		r->outcome = SK_PAY_UNKNOWN;
		r->error = pstrdup("no answer from the sandbox bank (simulated timeout)");
		return;
	}
	r->outcome = SK_PAY_SUCCEEDED;
	r->provider_ref = sk_get_text(0, 1);
}

static const sk_payment_provider providers[] = {
	{"sandbox", sandbox_transfer},
};

static const sk_payment_provider *
find_provider(const char *name)
{
	for (size_t i = 0; i < lengthof(providers); i++)
		if (strcmp(providers[i].name, name) == 0)
			return &providers[i];
	return NULL;
}

/* the provider new payments use: stockking.payment_provider, default sandbox */
static const char *
current_provider(void)
{
	const char *name = GetConfigOption("stockking.payment_provider", true, false);

	if (name == NULL || name[0] == '\0')
		name = "sandbox";
	if (find_provider(name) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown payment provider \"%s\"", name)));
	return name;
}

/* The payment state machine */

static sk_stmt s_payment_get = {
	"SELECT p.status, p.provider, p.idempotency_key, p.child_id::text, p.amount, p.currency::text, p.attempts,"
	" p.max_attempts, p.family_id::text FROM stockking.payment p WHERE p.id = $1",
	1, {I8}
};
static sk_stmt s_attempt_insert = {
	"INSERT INTO stockking.payment_attempt (payment_id, family_id, child_id, attempt_no, outcome, retryable,"
	" provider_ref, error) VALUES ($1, $2::uuid, $3::uuid, $4, $5, $6, $7, $8)",
	8, {I8, T, T, I4, T, BOOLOID, T, T}
};
static sk_stmt s_payment_succeeded = {
	"UPDATE stockking.payment SET status = 'SUCCEEDED', attempts = $2, provider_ref = $3, succeeded_at = now(),"
	" next_attempt_at = NULL, last_error = NULL, updated_at = now() WHERE id = $1 AND status = 'PENDING'",
	3, {I8, I4, T}
};
static sk_stmt s_payment_retry_later = {
	"UPDATE stockking.payment SET attempts = $2, last_error = $3,"
	" next_attempt_at = now() + make_interval(mins => $4), updated_at = now() WHERE id = $1 AND status = 'PENDING'",
	4, {I8, I4, T, I4}
};
static sk_stmt s_payment_failed = {
	"UPDATE stockking.payment SET status = 'FAILED', attempts = $2, last_error = $3, failed_at = now(),"
	" next_attempt_at = NULL, updated_at = now() WHERE id = $1 AND status = 'PENDING'",
	3, {I8, I4, T}
};
static sk_stmt s_payment_event = {
	"SELECT stockking.emit_event(p.child_id, p.family_id, 'USER', $2, jsonb_build_object("
	" 'payment_id', p.id, 'request_id', p.request_id, 'amount', p.amount, 'currency', p.currency, 'status', p.status,"
	" 'attempts', p.attempts, 'provider_ref', p.provider_ref, 'error', p.last_error))"
	" FROM stockking.payment p WHERE p.id = $1",
	2, {I8, T}
};

/* minutes before attempt n + 1: 1, 4, 16, 64, capped at a day */
static int32
backoff_minutes(int32 n)
{
	int64		m = 1;

	for (int32 i = 1; i < n && m < 1440; i++)
		m *= 4;
	return (int32) Min(m, 1440);
}

/*
 * One attempt of a payment.  The caller holds the payment's row lock; a
 * payment that is not PENDING is left alone.  Returns its state after.
 */
static const char *
attempt_payment(int64 payment_id)
{
	Datum		v[1] = {Int64GetDatum(payment_id)};
	sk_transfer t;
	sk_transfer_result r;
	const sk_payment_provider *provider;
	char	   *status;
	char	   *family_id;
	int32		n;
	int32		max_attempts;
	const char *outcome;
	const char *state;

	sk_exec(&s_payment_get, v, NULL, false, 1);
	if (SPI_processed != 1)
		elog(ERROR, "payment " INT64_FORMAT " vanished", payment_id);
	status = sk_get_text(0, 1);
	if (strcmp(status, "PENDING") != 0)
		return status;
	provider = find_provider(sk_get_text(0, 2));
	if (provider == NULL)
		elog(ERROR, "payment " INT64_FORMAT " names an unknown provider", payment_id);
	t.payment_id = payment_id;
	t.idempotency_key = sk_get_text(0, 3);
	t.child_id = sk_get_text(0, 4);
	t.amount = sk_get_int64(0, 5, NULL);
	t.currency = sk_get_text(0, 6);
	n = (int32) sk_get_int64(0, 7, NULL) + 1;
	max_attempts = (int32) sk_get_int64(0, 8, NULL);
	family_id = sk_get_text(0, 9);

	provider->transfer(&t, &r);

	outcome = r.outcome == SK_PAY_SUCCEEDED ? "SUCCEEDED" : r.outcome == SK_PAY_FAILED ? "FAILED" : "UNKNOWN";
	{
		Datum		a[8] = {Int64GetDatum(payment_id), CStringGetTextDatum(family_id), CStringGetTextDatum(t.child_id),
			Int32GetDatum(n), CStringGetTextDatum(outcome), BoolGetDatum(r.retryable || r.outcome == SK_PAY_UNKNOWN),
		r.provider_ref ? CStringGetTextDatum(r.provider_ref) : (Datum) 0, r.error ? CStringGetTextDatum(r.error) : (Datum) 0};
		char		nulls[8] = {' ', ' ', ' ', ' ', ' ', ' ', r.provider_ref ? ' ' : 'n', r.error ? ' ' : 'n'};

		sk_exec(&s_attempt_insert, a, nulls, false, 0);
	}
	if (r.outcome == SK_PAY_SUCCEEDED)
	{
		Datum		u[3] = {Int64GetDatum(payment_id), Int32GetDatum(n), CStringGetTextDatum(r.provider_ref)};

		sk_exec(&s_payment_succeeded, u, NULL, false, 0);
		state = "SUCCEEDED";
	}
	else if ((r.outcome == SK_PAY_UNKNOWN || r.retryable) && n < max_attempts)
	{
		Datum		u[4] = {Int64GetDatum(payment_id), Int32GetDatum(n), CStringGetTextDatum(r.error),
		Int32GetDatum(backoff_minutes(n))};

		sk_exec(&s_payment_retry_later, u, NULL, false, 0);
		return "PENDING";
	}
	else
	{
		Datum		u[3] = {Int64GetDatum(payment_id), Int32GetDatum(n), CStringGetTextDatum(r.error)};

		sk_exec(&s_payment_failed, u, NULL, false, 0);
		state = "FAILED";
	}
	{
		Datum		e[2] = {Int64GetDatum(payment_id),
		CStringGetTextDatum(strcmp(state, "SUCCEEDED") == 0 ? "PaymentSucceeded" : "PaymentFailed")};

		sk_exec(&s_payment_event, e, NULL, false, 1);
	}
	return state;
}

/* Goals and their rules */

typedef struct goal_row
{
	int64		id;
	char	   *family_id;
	char	   *child_id;
	int64		account_id;
	bool		conversion;
	int64		target_bp;		/* target_rate in basis points: 5.00% = 500 */
	int64		reward;			/* won */
	int64		ratio_micros;	/* conversion_ratio x 10^6 */
	int64		cap;			/* won */
	int64		monthly_limit;	/* won */
	int32		max_requests;
	bool		active;
	int64		start_index;	/* x SK_INDEX_SCALE */
	int64		start_gain;		/* minor units of the account */
	char	   *started;		/* the period's start, ISO date of the clock */
} goal_row;

typedef struct goal_eval
{
	sk_position pos;
	int64		gain;			/* since the period started, minor units */
	int64		return_micros;	/* time-weighted, x 10^6 */
	bool		met;
	int64		amount;			/* won a request asks */
	int64		month_count;
	int64		month_sum;
	int64		pending_id;		/* 0: none */
	int			refusal;		/* 0: a request would be allowed */
	char	   *message;
} goal_eval;

static sk_stmt s_goal = {
	"SELECT g.id, g.family_id::text, g.child_id::text, g.account_id, g.rule = 'CONVERSION', (g.target_rate * 100)::bigint,"
	" coalesce(g.reward_amount, 0), coalesce((g.conversion_ratio * 1000000)::bigint, 0), coalesce(g.conversion_cap, 0),"
	" g.monthly_limit, g.max_requests_per_month, g.active, (g.period_start_index * 1000000000000)::bigint,"
	" g.period_start_gain, to_char(g.period_start_clock, 'YYYY-MM-DD')"
	" FROM stockking.allowance_goal g WHERE g.id = $1 AND ($2::uuid IS NULL OR g.child_id = $2::uuid)",
	2, {I8, T}
};
static sk_stmt s_goal_month = {
	"SELECT count(*), coalesce(sum(amount), 0)::bigint FROM stockking.allowance_request"
	" WHERE goal_id = $1 AND month = stockking.seoul_month(now()) AND status IN ('PENDING', 'APPROVED')",
	1, {I8}
};
static sk_stmt s_goal_pending = {
	"SELECT id FROM stockking.allowance_request WHERE goal_id = $1 AND status = 'PENDING'",
	1, {I8}
};

/* a ratio x 10^6 as a percent text with up to 4 decimals */
static char *
percent_text(int64 micros)
{
	StringInfoData buf;

	initStringInfo(&buf);
	sk_append_micros(&buf, micros * 100, 4);
	while (buf.data[buf.len - 1] == '0')
		buf.data[--buf.len] = '\0';
	if (buf.data[buf.len - 1] == '.')
		buf.data[--buf.len] = '\0';
	return buf.data;
}

static char *
bp_text(int64 bp)
{
	return percent_text(bp * 100);
}

/* Load a goal (of one child when child_id is not NULL); false when not visible */
static bool
load_goal(int64 id, const char *child_id, goal_row *g)
{
	Datum		v[2] = {Int64GetDatum(id), child_id ? CStringGetTextDatum(child_id) : (Datum) 0};
	char		nulls[2] = {' ', child_id ? ' ' : 'n'};
	bool		isnull;

	sk_exec(&s_goal, v, nulls, false, 1);
	if (SPI_processed != 1)
		return false;
	g->id = sk_get_int64(0, 1, NULL);
	g->family_id = sk_get_text(0, 2);
	g->child_id = sk_get_text(0, 3);
	g->account_id = sk_get_int64(0, 4, NULL);
	g->conversion = DatumGetBool(sk_get_datum(0, 5, &isnull));
	g->target_bp = sk_get_int64(0, 6, NULL);
	g->reward = sk_get_int64(0, 7, NULL);
	g->ratio_micros = sk_get_int64(0, 8, NULL);
	g->cap = sk_get_int64(0, 9, NULL);
	g->monthly_limit = sk_get_int64(0, 10, NULL);
	g->max_requests = (int32) sk_get_int64(0, 11, NULL);
	g->active = DatumGetBool(sk_get_datum(0, 12, &isnull));
	g->start_index = sk_get_int64(0, 13, NULL);
	g->start_gain = sk_get_int64(0, 14, NULL);
	g->started = sk_get_text(0, 15);
	return true;
}

/*
 * Measure a goal now and apply the request rules in their order; the first
 * that fails is e->refusal (an SQLSTATE) with e->message.
 */
static void
evaluate_goal(const goal_row *g, goal_eval *e)
{
	int128		lhs;
	int128		rhs;
	bool		target_reached;

	sk_account_now(g->account_id, &e->pos);
	e->gain = e->pos.total_value - e->pos.net_contribution - g->start_gain;
	if (g->start_index > 0)
	{
		int128		num = ((int128) e->pos.twr_index - g->start_index) * 1000000;
		int128		q = num / g->start_index;
		int128		r = num % g->start_index;

		/* half away from zero */
		if (r < 0 ? -r * 2 >= g->start_index : r * 2 >= g->start_index)
			q += num < 0 ? -1 : 1;
		e->return_micros = (int64) q;
	}
	else
		e->return_micros = 0;
	lhs = (int128) e->pos.twr_index * 10000;
	rhs = (int128) g->start_index * (10000 + g->target_bp);
	target_reached = g->start_index > 0 && lhs >= rhs;

	if (g->conversion)
	{
		int64		amount = 0;

		if (e->gain > 0)
			amount = (int64) (((int128) e->gain * g->ratio_micros) / 1000000);
		e->amount = Min(amount, g->cap);
		e->met = target_reached && e->amount >= 1;
	}
	else
	{
		e->amount = g->reward;
		e->met = target_reached;
	}

	{
		Datum		v[1] = {Int64GetDatum(g->id)};

		sk_exec(&s_goal_month, v, NULL, false, 1);
		e->month_count = sk_get_int64(0, 1, NULL);
		e->month_sum = sk_get_int64(0, 2, NULL);
		sk_exec(&s_goal_pending, v, NULL, false, 1);
		e->pending_id = SPI_processed == 1 ? sk_get_int64(0, 1, NULL) : 0;
	}

	e->refusal = 0;
	e->message = NULL;
	if (!g->active)
	{
		e->refusal = ERRCODE_SK_GOAL_INACTIVE;
		e->message = psprintf("goal " INT64_FORMAT " is switched off", g->id);
	}
	else if (!e->met)
	{
		e->refusal = ERRCODE_SK_GOAL_NOT_MET;
		if (!g->conversion)
			e->message = psprintf("goal not met: the time-weighted return since %s is %s%%, the target is %s%%",
								  g->started, percent_text(e->return_micros), bp_text(g->target_bp));
		else if (!target_reached)
			e->message = psprintf("goal not met: the time-weighted return since %s is %s%%, the minimum is %s%%",
								  g->started, percent_text(e->return_micros), bp_text(g->target_bp));
		else
			e->message = psprintf("goal not met: no profit to convert since %s (the profit is " INT64_FORMAT
								  " won)", g->started, e->gain);
	}
	else if (e->month_count >= g->max_requests)
	{
		e->refusal = ERRCODE_SK_MONTHLY_COUNT;
		e->message = psprintf("this goal was requested " INT64_FORMAT " time(s) this month, the most it allows",
							  e->month_count);
	}
	else if (e->month_sum + e->amount > g->monthly_limit)
	{
		e->refusal = ERRCODE_SK_MONTHLY_LIMIT;
		e->message = psprintf("the monthly limit of " INT64_FORMAT " won would be passed: " INT64_FORMAT
							  " won asked this month, this request is " INT64_FORMAT " won",
							  g->monthly_limit, e->month_sum, e->amount);
	}
	else if (e->pending_id != 0)
	{
		e->refusal = ERRCODE_SK_REQUEST_PENDING;
		e->message = psprintf("request " INT64_FORMAT " on this goal is waiting for a parent", e->pending_id);
	}
}

/*
 * stockking.goal_status(goal_id bigint) RETURNS jsonb: a goal measured now,
 * with the answer a request would get.
 */
Datum
stockking_goal_status(PG_FUNCTION_ARGS)
{
	int64		id = PG_GETARG_INT64(0);
	goal_row	g;
	goal_eval	e;
	StringInfoData out;
	Datum		result;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (!load_goal(id, NULL, &g))
	{
		SPI_finish();
		PG_RETURN_NULL();
	}
	evaluate_goal(&g, &e);
	initStringInfo(&out);
	appendStringInfoString(&out, "{\"clock\": ");
	if (e.pos.clock_null)
		appendStringInfoString(&out, "null");
	else
		appendStringInfo(&out, "\"%s\"", sk_date_iso(e.pos.clock));
	appendStringInfoString(&out, ", \"measured_return_pct\": ");
	sk_append_micros(&out, e.return_micros * 100, 4);
	appendStringInfoString(&out, ", \"target_rate\": ");
	sk_append_micros(&out, g.target_bp * 10000, 2);
	appendStringInfoString(&out, ", \"gain\": ");
	sk_append_money(&out, e.gain, e.pos.minor_units);
	appendStringInfo(&out, ", \"currency\": \"%s\", \"met\": %s, \"amount\": " INT64_FORMAT
					 ", \"requests_this_month\": " INT64_FORMAT ", \"requested_this_month\": " INT64_FORMAT
					 ", \"pending_request_id\": ",
					 e.pos.currency, e.met ? "true" : "false", e.amount, e.month_count, e.month_sum);
	if (e.pending_id)
		appendStringInfo(&out, INT64_FORMAT, e.pending_id);
	else
		appendStringInfoString(&out, "null");
	appendStringInfo(&out, ", \"can_request\": %s, \"refusal\": ", e.refusal == 0 ? "true" : "false");
	if (e.refusal == 0)
		appendStringInfoString(&out, "null");
	else
	{
		appendStringInfo(&out, "{\"code\": \"%s\", \"message\": ", unpack_sql_state(e.refusal));
		escape_json(&out, e.message);
		appendStringInfoChar(&out, '}');
	}
	appendStringInfoChar(&out, '}');
	result = SPI_datumTransfer(sk_jsonb_from_buf(&out), false, -1);
	SPI_finish();
	PG_RETURN_DATUM(result);
}

/* Goal fields: create and update share the parsing and the checks */

typedef struct goal_fields
{
	bool		has_rule,
				has_target,
				has_reward,
				has_ratio,
				has_cap,
				has_limit,
				has_max,
				has_active,
				has_title;
	bool		conversion;
	int64		target_bp;
	int64		reward;
	int64		ratio_micros;
	int64		cap;
	int64		limit;
	int64		max_requests;
	bool		active;
	char	   *title;
} goal_fields;

static void
check_won(const char *key, int64 v)
{
	if (v < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("field \"%s\" must be at least 1 won", key)));
	if (v > MAX_WON)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("field \"%s\" must be at most " INT64_FORMAT " won", key, MAX_WON)));
}

static bool
bool_arg(Jsonb *args, const char *key, bool *out)
{
	JsonbValue *v;
	char	   *s;

	if (!JB_ROOT_IS_OBJECT(args))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("arguments must be a JSON object")));
	v = getKeyJsonValueFromContainer(&args->root, key, strlen(key), NULL);
	if (v == NULL || v->type == jbvNull)
		return false;
	if (v->type == jbvBool)
	{
		*out = v->val.boolean;
		return true;
	}
	if (v->type == jbvString)
	{
		s = pnstrdup(v->val.string.val, v->val.string.len);
		if (pg_strcasecmp(s, "true") == 0)
		{
			*out = true;
			return true;
		}
		if (pg_strcasecmp(s, "false") == 0)
		{
			*out = false;
			return true;
		}
	}
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("field \"%s\" must be true or false", key)));
	return false;
}

static void
parse_goal_fields(Jsonb *args, goal_fields *f)
{
	char	   *rule;
	int64		micros;

	memset(f, 0, sizeof(*f));
	if (!JB_ROOT_IS_OBJECT(args))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("arguments must be a JSON object")));
	/* booleans first: sk_arg_text refuses them */
	f->has_active = bool_arg(args, "active", &f->active);
	if ((f->has_rule = sk_arg_text(args, "rule", false, &rule)))
	{
		if (pg_strcasecmp(rule, "TARGET_RETURN") == 0)
			f->conversion = false;
		else if (pg_strcasecmp(rule, "CONVERSION") == 0)
			f->conversion = true;
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("field \"rule\" must be TARGET_RETURN or CONVERSION")));
	}
	if ((f->has_target = sk_arg_micros(args, "target_rate", false, &micros)))
	{
		if (micros % 10000 != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("field \"target_rate\" must be a percent with at most 2 decimals")));
		f->target_bp = micros / 10000;
		if (f->target_bp < 0 || f->target_bp > MAX_TARGET_BP)
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("field \"target_rate\" must be between 0 and 1000 (percent)")));
	}
	if ((f->has_reward = sk_arg_int64(args, "reward_amount", false, &f->reward)))
		check_won("reward_amount", f->reward);
	if ((f->has_ratio = sk_arg_micros(args, "conversion_ratio", false, &f->ratio_micros)))
	{
		if (f->ratio_micros <= 0 || f->ratio_micros > SK_MICRO)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("field \"conversion_ratio\" must be more than 0 and at most 1 (0.1 = profit / 10)")));
	}
	if ((f->has_cap = sk_arg_int64(args, "conversion_cap", false, &f->cap)))
		check_won("conversion_cap", f->cap);
	if ((f->has_limit = sk_arg_int64(args, "monthly_limit", false, &f->limit)))
		check_won("monthly_limit", f->limit);
	if ((f->has_max = sk_arg_int64(args, "max_requests_per_month", false, &f->max_requests)))
	{
		if (f->max_requests < 1 || f->max_requests > 100)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("field \"max_requests_per_month\" must be between 1 and 100")));
	}
	if ((f->has_title = sk_arg_text(args, "title", false, &f->title)))
	{
		if (pg_mbstrlen(f->title) > 100)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("field \"title\" is longer than 100 characters")));
	}
}

/* the checks on a goal's final fields */
static void
check_goal(const goal_fields *f, const char *currency)
{
	if (!f->conversion)
	{
		if (f->target_bp <= 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("field \"target_rate\" is required and must be more than 0 for a TARGET_RETURN goal")));
		if (f->reward <= 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("field \"reward_amount\" is required for a TARGET_RETURN goal")));
		if (f->reward > f->limit)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("reward_amount " INT64_FORMAT " is more than monthly_limit " INT64_FORMAT
							": the goal could never pay", f->reward, f->limit)));
	}
	else
	{
		if (f->cap <= 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("field \"conversion_cap\" is required for a CONVERSION goal")));
		if (strcmp(currency, "KRW") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("a CONVERSION goal needs an account in won (KRW); this one is in %s", currency),
					 errdetail("Game profit converts into won one to one before the ratio; other currencies have no such rate.")));
	}
	if (f->limit <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("field \"monthly_limit\" is required")));
}

static sk_stmt s_child = {
	"SELECT u.role FROM stockking.users u WHERE u.id = $1::uuid",
	1, {T}
};
static sk_stmt s_child_account = {
	"SELECT a.id, a.currency::text FROM stockking.account a"
	" WHERE a.user_id = $1::uuid AND CASE WHEN $2::integer IS NULL"
	"   THEN a.id = (SELECT u.default_account_id FROM stockking.users u WHERE u.id = $1::uuid)"
	"   ELSE a.season_id = $2 END",
	2, {T, I4}
};
static sk_stmt s_goal_insert = {
	"INSERT INTO stockking.allowance_goal (family_id, child_id, created_by, season_id, account_id, rule, target_rate,"
	" reward_amount, conversion_ratio, conversion_cap, monthly_limit, max_requests_per_month, active, title,"
	" period_started_at, period_start_clock, period_start_index, period_start_gain)"
	" SELECT a.family_id, a.user_id, $2::uuid, a.season_id, a.id, CASE WHEN $3 THEN 'CONVERSION' ELSE 'TARGET_RETURN' END,"
	" $4::numeric / 100, CASE WHEN $3 THEN NULL ELSE $5 END, CASE WHEN $3 THEN $6::numeric / 1000000 END,"
	" CASE WHEN $3 THEN $7 END, $8, $9, $10, $11, now(), $12, $13::numeric / 1000000000000, $14"
	" FROM stockking.account a WHERE a.id = $1 RETURNING id",
	14, {I8, T, BOOLOID, I8, I8, I8, I8, I8, I4, BOOLOID, T, DATEOID, I8, I8}
};
static sk_stmt s_goal_lock = {
	"SELECT g.id, g.account_id, a.currency::text, g.rule = 'CONVERSION', (g.target_rate * 100)::bigint,"
	" coalesce(g.reward_amount, 0), coalesce((g.conversion_ratio * 1000000)::bigint, 100000),"
	" coalesce(g.conversion_cap, 0), g.monthly_limit, g.max_requests_per_month, g.active, g.title"
	" FROM stockking.allowance_goal g JOIN stockking.account a ON a.id = g.account_id WHERE g.id = $1 FOR UPDATE OF g",
	1, {I8}
};
static sk_stmt s_goal_update = {
	"UPDATE stockking.allowance_goal SET target_rate = $2::numeric / 100,"
	" reward_amount = CASE WHEN rule = 'CONVERSION' THEN NULL ELSE $3 END,"
	" conversion_ratio = CASE WHEN rule = 'CONVERSION' THEN $4::numeric / 1000000 END,"
	" conversion_cap = CASE WHEN rule = 'CONVERSION' THEN $5 END,"
	" monthly_limit = $6, max_requests_per_month = $7, active = $8, title = $9, updated_at = now() WHERE id = $1",
	9, {I8, I8, I8, I8, I8, I8, I4, BOOLOID, T}
};
static sk_stmt s_goal_json = {
	"SELECT stockking.goal_json(g) FROM stockking.allowance_goal g WHERE g.id = $1",
	1, {I8}
};
static sk_stmt s_goal_event = {
	"SELECT stockking.emit_event(g.child_id, g.family_id, 'FAMILY', 'AllowanceGoalSet', jsonb_build_object("
	" 'goal_id', g.id, 'child_id', g.child_id, 'rule', g.rule, 'title', g.title, 'target_rate', trim_scale(g.target_rate),"
	" 'reward_amount', g.reward_amount, 'conversion_ratio', trim_scale(g.conversion_ratio),"
	" 'conversion_cap', g.conversion_cap, 'monthly_limit', g.monthly_limit,"
	" 'max_requests_per_month', g.max_requests_per_month, 'active', g.active))"
	" FROM stockking.allowance_goal g WHERE g.id = $1",
	1, {I8}
};

static void
require_role(const char *role, const char *what)
{
	if (strcmp(sk_request_role(), role) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("only a %s may %s", strcmp(role, "PARENT") == 0 ? "parent" : "child", what)));
}

static void
require_parent_or_admin(const char *what)
{
	const char *role = sk_request_role();

	if (strcmp(role, "PARENT") != 0 && strcmp(role, "ADMIN") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("only a parent may %s", what)));
}

static bool
is_uuid(const char *s)
{
	static const char pattern[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";

	if (strlen(s) != sizeof(pattern) - 1)
		return false;
	for (int i = 0; pattern[i]; i++)
	{
		if (pattern[i] == '-' ? s[i] != '-' : !isxdigit((unsigned char) s[i]))
			return false;
	}
	return true;
}

/*
 * api.create_allowance_goal(args jsonb) RETURNS jsonb
 *
 * A parent sets a goal for a child of the family; measurement starts now.
 */
Datum
stockking_create_allowance_goal(PG_FUNCTION_ARGS)
{
	Jsonb	   *args = PG_GETARG_JSONB_P(0);
	const char *uid = sk_require_user();
	char	   *child_id;
	int64		season = 0;
	bool		has_season;
	goal_fields f;
	int64		account_id;
	char	   *currency;
	sk_position pos;
	int64		goal_id;
	Datum		result;

	require_role("PARENT", "set an allowance goal");
	sk_arg_text(args, "child_id", true, &child_id);
	if (!is_uuid(child_id))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("field \"child_id\" must be a user id (uuid)")));
	has_season = sk_arg_int64(args, "season_id", false, &season);
	if (has_season && (season < 1 || season > PG_INT32_MAX))
		ereport(ERROR,
				(errcode(ERRCODE_SK_NO_ACCOUNT),
				 errmsg("no account in season " INT64_FORMAT, season)));
	parse_goal_fields(args, &f);
	if (!f.has_active)
		f.active = true;
	if (!f.has_ratio)
		f.ratio_micros = SK_MICRO / 10;
	if (!f.has_max)
		f.max_requests = 1;
	if (!f.has_title)
		f.title = NULL;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	{
		Datum		v[1] = {CStringGetTextDatum(child_id)};

		/* row-level security: a parent sees the members of the family only */
		sk_exec(&s_child, v, NULL, false, 1);
		if (SPI_processed != 1)
			ereport(ERROR,
					(errcode(ERRCODE_NO_DATA_FOUND),
					 errmsg("child %s not found in your family", child_id)));
		if (strcmp(sk_get_text(0, 1), "CHILD") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("user %s is not a child", child_id)));
	}
	{
		Datum		v[2] = {CStringGetTextDatum(child_id), Int32GetDatum((int32) season)};
		char		nulls[2] = {' ', has_season ? ' ' : 'n'};

		sk_exec(&s_child_account, v, nulls, false, 1);
		if (SPI_processed != 1)
			ereport(ERROR,
					(errcode(ERRCODE_SK_NO_ACCOUNT),
					 errmsg("the child has no account in %s", has_season ? psprintf("season " INT64_FORMAT, season)
							: "any season")));
		account_id = sk_get_int64(0, 1, NULL);
		currency = sk_get_text(0, 2);
	}
	check_goal(&f, currency);
	sk_account_now(account_id, &pos);
	{
		Datum		v[14];
		char		nulls[14];

		memset(nulls, ' ', sizeof(nulls));
		v[0] = Int64GetDatum(account_id);
		v[1] = CStringGetTextDatum(uid);
		v[2] = BoolGetDatum(f.conversion);
		v[3] = Int64GetDatum(f.target_bp);
		v[4] = Int64GetDatum(f.reward);
		v[5] = Int64GetDatum(f.ratio_micros);
		v[6] = Int64GetDatum(f.cap);
		v[7] = Int64GetDatum(f.limit);
		v[8] = Int32GetDatum((int32) f.max_requests);
		v[9] = BoolGetDatum(f.active);
		v[10] = f.title ? CStringGetTextDatum(f.title) : (Datum) 0;
		nulls[10] = f.title ? ' ' : 'n';
		v[11] = DateADTGetDatum(pos.clock);
		nulls[11] = pos.clock_null ? 'n' : ' ';
		v[12] = Int64GetDatum(pos.twr_index);
		v[13] = Int64GetDatum(pos.total_value - pos.net_contribution);
		sk_exec(&s_goal_insert, v, nulls, false, 1);
		goal_id = sk_get_int64(0, 1, NULL);
	}
	{
		Datum		v[1] = {Int64GetDatum(goal_id)};

		sk_exec(&s_goal_event, v, NULL, false, 1);
		result = sk_exec_jsonb(&s_goal_json, v, NULL);
	}
	SPI_finish();
	PG_RETURN_DATUM(result);
}

/*
 * api.update_allowance_goal(args jsonb) RETURNS jsonb
 *
 * A parent changes a goal's fields (not its child, season or rule).
 */
Datum
stockking_update_allowance_goal(PG_FUNCTION_ARGS)
{
	Jsonb	   *args = PG_GETARG_JSONB_P(0);
	int64		id;
	goal_fields f;
	goal_fields cur;
	char	   *currency;
	bool		isnull;
	Datum		result;

	sk_require_user();
	require_role("PARENT", "change an allowance goal");
	sk_arg_int64(args, "id", true, &id);
	parse_goal_fields(args, &f);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	{
		Datum		v[1] = {Int64GetDatum(id)};

		sk_exec(&s_goal_lock, v, NULL, false, 1);
		if (SPI_processed != 1)
			ereport(ERROR,
					(errcode(ERRCODE_NO_DATA_FOUND),
					 errmsg("goal " INT64_FORMAT " not found in your family", id)));
		currency = sk_get_text(0, 3);
		cur.conversion = DatumGetBool(sk_get_datum(0, 4, &isnull));
		cur.target_bp = sk_get_int64(0, 5, NULL);
		cur.reward = sk_get_int64(0, 6, NULL);
		cur.ratio_micros = sk_get_int64(0, 7, NULL);
		cur.cap = sk_get_int64(0, 8, NULL);
		cur.limit = sk_get_int64(0, 9, NULL);
		cur.max_requests = sk_get_int64(0, 10, NULL);
		cur.active = DatumGetBool(sk_get_datum(0, 11, &isnull));
		cur.title = sk_get_text(0, 12);
	}
	if (f.has_rule && f.conversion != cur.conversion)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a goal's rule cannot change; switch it off and set a new goal")));
	if (f.has_target)
		cur.target_bp = f.target_bp;
	if (f.has_reward)
		cur.reward = f.reward;
	if (f.has_ratio)
		cur.ratio_micros = f.ratio_micros;
	if (f.has_cap)
		cur.cap = f.cap;
	if (f.has_limit)
		cur.limit = f.limit;
	if (f.has_max)
		cur.max_requests = f.max_requests;
	if (f.has_active)
		cur.active = f.active;
	if (f.has_title)
		cur.title = f.title;
	check_goal(&cur, currency);
	{
		Datum		v[9] = {Int64GetDatum(id), Int64GetDatum(cur.target_bp), Int64GetDatum(cur.reward),
			Int64GetDatum(cur.ratio_micros), Int64GetDatum(cur.cap), Int64GetDatum(cur.limit),
		Int32GetDatum((int32) cur.max_requests), BoolGetDatum(cur.active), cur.title ? CStringGetTextDatum(cur.title) : (Datum) 0};
		char		nulls[9] = {' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', cur.title ? ' ' : 'n'};

		sk_exec(&s_goal_update, v, nulls, false, 0);
	}
	{
		Datum		v[1] = {Int64GetDatum(id)};

		sk_exec(&s_goal_event, v, NULL, false, 1);
		result = sk_exec_jsonb(&s_goal_json, v, NULL);
	}
	SPI_finish();
	PG_RETURN_DATUM(result);
}

/* Requests */

static sk_stmt s_goal_xact_lock = {
	"SELECT pg_advisory_xact_lock(" CppAsString2(GOAL_LOCK_CLASS) ", ($1 % 2147483647)::integer)",
	1, {I8}
};
static sk_stmt s_request_insert = {
	"INSERT INTO stockking.allowance_request (family_id, goal_id, child_id, account_id, amount, month, measured_return,"
	" measured_gain, measured_clock, measured_index, measured_total, measured_contribution, note)"
	" VALUES ($1::uuid, $2, $3::uuid, $4, $5, stockking.seoul_month(now()), $6::numeric / 1000000, $7, $8,"
	" $9::numeric / 1000000000000, $10, $11, $12) RETURNING id",
	12, {T, I8, T, I8, I8, I8, I8, DATEOID, I8, I8, I8, T}
};
static sk_stmt s_request_json = {
	"SELECT stockking.allowance_request_json(r) FROM stockking.allowance_request r WHERE r.id = $1",
	1, {I8}
};
static sk_stmt s_requested_event = {
	"SELECT stockking.emit_event(r.child_id, r.family_id, 'PARENTS', 'AllowanceRequested', jsonb_build_object("
	" 'request_id', r.id, 'goal_id', r.goal_id, 'goal', g.title, 'child_id', r.child_id, 'child', u.nickname,"
	" 'amount', r.amount, 'currency', 'KRW', 'measured_return_pct', trim_scale(round(r.measured_return * 100, 4)),"
	" 'note', r.note))"
	" FROM stockking.allowance_request r JOIN stockking.allowance_goal g ON g.id = r.goal_id"
	" JOIN stockking.users u ON u.id = r.child_id WHERE r.id = $1",
	1, {I8}
};

/*
 * api.request_allowance(args jsonb) RETURNS jsonb
 *
 * Args: goal_id, note (optional).  A child asks for a met goal's allowance.
 */
Datum
stockking_request_allowance(PG_FUNCTION_ARGS)
{
	Jsonb	   *args = PG_GETARG_JSONB_P(0);
	const char *uid = sk_require_user();
	int64		goal_id;
	char	   *note = NULL;
	goal_row	g;
	goal_eval	e;
	int64		request_id;
	Datum		result;

	require_role("CHILD", "request allowance");
	sk_arg_int64(args, "goal_id", true, &goal_id);
	if (sk_arg_text(args, "note", false, &note) && pg_mbstrlen(note) > 500)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("field \"note\" is longer than 500 characters")));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	{
		Datum		v[1] = {Int64GetDatum(goal_id)};

		/* one request on a goal at a time: the rules below see the ones before */
		sk_exec(&s_goal_xact_lock, v, NULL, false, 0);
	}
	if (!load_goal(goal_id, uid, &g))
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("goal " INT64_FORMAT " not found", goal_id)));
	evaluate_goal(&g, &e);
	if (e.refusal != 0)
		ereport(ERROR,
				(errcode(e.refusal),
				 errmsg("%s", e.message)));
	{
		Datum		v[12];
		char		nulls[12];

		memset(nulls, ' ', sizeof(nulls));
		v[0] = CStringGetTextDatum(g.family_id);
		v[1] = Int64GetDatum(g.id);
		v[2] = CStringGetTextDatum(g.child_id);
		v[3] = Int64GetDatum(g.account_id);
		v[4] = Int64GetDatum(e.amount);
		v[5] = Int64GetDatum(e.return_micros);
		v[6] = Int64GetDatum(e.gain);
		v[7] = DateADTGetDatum(e.pos.clock);
		v[8] = Int64GetDatum(e.pos.twr_index);
		v[9] = Int64GetDatum(e.pos.total_value);
		v[10] = Int64GetDatum(e.pos.net_contribution);
		v[11] = note ? CStringGetTextDatum(note) : (Datum) 0;
		nulls[11] = note ? ' ' : 'n';
		sk_exec(&s_request_insert, v, nulls, false, 1);
		request_id = sk_get_int64(0, 1, NULL);
	}
	{
		Datum		v[1] = {Int64GetDatum(request_id)};

		sk_exec(&s_requested_event, v, NULL, false, 1);
		result = sk_exec_jsonb(&s_request_json, v, NULL);
	}
	SPI_finish();
	PG_RETURN_DATUM(result);
}

static sk_stmt s_request_lock = {
	"SELECT r.status FROM stockking.allowance_request r WHERE r.id = $1 FOR UPDATE",
	1, {I8}
};
static sk_stmt s_request_approve = {
	"UPDATE stockking.allowance_request SET status = 'APPROVED', decided_at = now(), decided_by = $2::uuid"
	" WHERE id = $1",
	2, {I8, T}
};
static sk_stmt s_goal_restart = {
	"UPDATE stockking.allowance_goal g SET period_started_at = r.requested_at, period_start_clock = r.measured_clock,"
	" period_start_index = r.measured_index, period_start_gain = r.measured_total - r.measured_contribution,"
	" updated_at = now() FROM stockking.allowance_request r WHERE r.id = $1 AND g.id = r.goal_id",
	1, {I8}
};
static sk_stmt s_payment_insert = {
	"INSERT INTO stockking.payment (family_id, request_id, child_id, amount, currency, provider, idempotency_key,"
	" max_attempts, next_attempt_at)"
	" SELECT r.family_id, r.id, r.child_id, r.amount, 'KRW', $2, 'allowance-request-' || r.id, "
	CppAsString2(RETRY_ROUND) ", now()"
	" FROM stockking.allowance_request r WHERE r.id = $1"
	" ON CONFLICT (request_id) DO NOTHING RETURNING id",
	2, {I8, T}
};
static sk_stmt s_payment_lock = {
	"SELECT p.id, p.status, p.request_id FROM stockking.payment p WHERE p.id = $1 FOR UPDATE",
	1, {I8}
};
static sk_stmt s_decision_event = {
	"SELECT stockking.emit_event(r.child_id, r.family_id, 'USER', $2, jsonb_build_object("
	" 'request_id', r.id, 'goal_id', r.goal_id, 'amount', r.amount, 'currency', 'KRW', 'status', r.status,"
	" 'reason', r.reject_reason))"
	" FROM stockking.allowance_request r WHERE r.id = $1",
	2, {I8, T}
};
static sk_stmt s_request_reject = {
	"UPDATE stockking.allowance_request SET status = 'REJECTED', decided_at = now(), decided_by = $2::uuid,"
	" reject_reason = $3 WHERE id = $1",
	3, {I8, T, T}
};

/* lock a request for a decision; P0002 when the caller may not decide on it */
static char *
lock_request(int64 id)
{
	Datum		v[1] = {Int64GetDatum(id)};

	/* row-level security: a parent of the request's family (or ADMIN) */
	sk_exec(&s_request_lock, v, NULL, false, 1);
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("allowance request " INT64_FORMAT " not found in your family", id)));
	return sk_get_text(0, 1);
}

static Datum
request_json(int64 id)
{
	Datum		v[1] = {Int64GetDatum(id)};

	return sk_exec_jsonb(&s_request_json, v, NULL);
}

/*
 * api.approve_allowance_request(args jsonb) RETURNS jsonb
 *
 * Args: id.  Approves a PENDING request, records its one payment and makes
 * the first attempt; an approved request is returned as it is.
 */
Datum
stockking_approve_allowance_request(PG_FUNCTION_ARGS)
{
	Jsonb	   *args = PG_GETARG_JSONB_P(0);
	const char *uid = sk_require_user();
	int64		id;
	char	   *status;
	Datum		result;

	require_parent_or_admin("approve an allowance request");
	sk_arg_int64(args, "id", true, &id);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	status = lock_request(id);
	if (strcmp(status, "REJECTED") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_SK_REQUEST_DECIDED),
				 errmsg("allowance request " INT64_FORMAT " was rejected already", id),
				 errdetail("A request is approved or rejected once.")));
	if (strcmp(status, "PENDING") == 0)
	{
		Datum		v[2] = {Int64GetDatum(id), CStringGetTextDatum(uid)};
		int64		payment_id;

		sk_exec(&s_request_approve, v, NULL, false, 0);
		sk_exec(&s_goal_restart, v, NULL, false, 0);
		v[1] = CStringGetTextDatum("AllowanceApproved");
		sk_exec(&s_decision_event, v, NULL, false, 1);
		v[1] = CStringGetTextDatum(current_provider());
		sk_exec(&s_payment_insert, v, NULL, false, 1);
		if (SPI_processed != 1)
			elog(ERROR, "allowance request " INT64_FORMAT " has a payment already", id);
		payment_id = sk_get_int64(0, 1, NULL);
		{
			Datum		w[1] = {Int64GetDatum(payment_id)};

			sk_exec(&s_payment_lock, w, NULL, false, 1);
		}
		attempt_payment(payment_id);
	}
	result = request_json(id);
	SPI_finish();
	PG_RETURN_DATUM(result);
}

/*
 * api.reject_allowance_request(args jsonb) RETURNS jsonb
 *
 * Args: id, reason.  Rejects a PENDING request; a rejected request is
 * returned as it is.
 */
Datum
stockking_reject_allowance_request(PG_FUNCTION_ARGS)
{
	Jsonb	   *args = PG_GETARG_JSONB_P(0);
	const char *uid = sk_require_user();
	int64		id;
	char	   *reason;
	char	   *status;
	Datum		result;

	require_parent_or_admin("reject an allowance request");
	sk_arg_int64(args, "id", true, &id);
	sk_arg_text(args, "reason", true, &reason);
	if (reason[strspn(reason, " \t\r\n")] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("field \"reason\" must not be empty")));
	if (pg_mbstrlen(reason) > 500)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("field \"reason\" is longer than 500 characters")));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	status = lock_request(id);
	if (strcmp(status, "APPROVED") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_SK_REQUEST_DECIDED),
				 errmsg("allowance request " INT64_FORMAT " was approved already", id),
				 errdetail("A request is approved or rejected once.")));
	if (strcmp(status, "PENDING") == 0)
	{
		Datum		v[3] = {Int64GetDatum(id), CStringGetTextDatum(uid), CStringGetTextDatum(reason)};

		sk_exec(&s_request_reject, v, NULL, false, 0);
		v[1] = CStringGetTextDatum("AllowanceRejected");
		sk_exec(&s_decision_event, v, NULL, false, 1);
	}
	result = request_json(id);
	SPI_finish();
	PG_RETURN_DATUM(result);
}

static sk_stmt s_payment_reopen = {
	"UPDATE stockking.payment SET status = 'PENDING', max_attempts = attempts + " CppAsString2(RETRY_ROUND) ","
	" failed_at = NULL, next_attempt_at = now(), updated_at = now() WHERE id = $1 AND status = 'FAILED'",
	1, {I8}
};

/*
 * api.retry_allowance_payment(args jsonb) RETURNS jsonb
 *
 * Args: id (payment).  A FAILED payment becomes PENDING with another round
 * of attempts, the first one now.
 */
Datum
stockking_retry_allowance_payment(PG_FUNCTION_ARGS)
{
	Jsonb	   *args = PG_GETARG_JSONB_P(0);
	int64		id;
	char	   *status;
	int64		request_id;
	Datum		result;

	sk_require_user();
	require_parent_or_admin("retry a payment");
	sk_arg_int64(args, "id", true, &id);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	{
		Datum		v[1] = {Int64GetDatum(id)};

		sk_exec(&s_payment_lock, v, NULL, false, 1);
		if (SPI_processed != 1)
			ereport(ERROR,
					(errcode(ERRCODE_NO_DATA_FOUND),
					 errmsg("payment " INT64_FORMAT " not found in your family", id)));
		status = sk_get_text(0, 2);
		request_id = sk_get_int64(0, 3, NULL);
		if (strcmp(status, "SUCCEEDED") == 0)
			ereport(ERROR,
					(errcode(ERRCODE_SK_PAYMENT_NOT_RETRYABLE),
					 errmsg("payment " INT64_FORMAT " succeeded: it is paid", id)));
		if (strcmp(status, "PENDING") == 0)
			ereport(ERROR,
					(errcode(ERRCODE_SK_PAYMENT_NOT_RETRYABLE),
					 errmsg("payment " INT64_FORMAT " is pending: it is retried automatically", id)));
		sk_exec(&s_payment_reopen, v, NULL, false, 0);
		attempt_payment(id);
	}
	result = request_json(request_id);
	SPI_finish();
	PG_RETURN_DATUM(result);
}

static sk_stmt s_due_payments = {
	"SELECT p.id FROM stockking.payment p WHERE p.status = 'PENDING' AND p.next_attempt_at <= now()"
	" ORDER BY p.next_attempt_at, p.id LIMIT $1 FOR UPDATE SKIP LOCKED",
	1, {I4}
};

/*
 * stockking.retry_payments(max_payments integer) RETURNS jsonb
 *
 * The payments job: one attempt for every PENDING payment that is due,
 * skipping those another session holds (an approval or a retry under way).
 */
Datum
stockking_retry_payments(PG_FUNCTION_ARGS)
{
	int32		limit = PG_ARGISNULL(0) ? 100 : PG_GETARG_INT32(0);
	uint64		n;
	int64	   *ids;
	int64		succeeded = 0;
	int64		failed = 0;
	int64		pending = 0;
	StringInfoData out;
	Datum		result;

	if (limit < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_payments must be at least 1")));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	{
		Datum		v[1] = {Int32GetDatum(limit)};

		sk_exec(&s_due_payments, v, NULL, false, 0);
	}
	n = SPI_processed;
	ids = palloc(sizeof(int64) * (n + 1));
	for (uint64 i = 0; i < n; i++)
		ids[i] = sk_get_int64(i, 1, NULL);
	for (uint64 i = 0; i < n; i++)
	{
		const char *state = attempt_payment(ids[i]);

		if (strcmp(state, "SUCCEEDED") == 0)
			succeeded++;
		else if (strcmp(state, "FAILED") == 0)
			failed++;
		else
			pending++;
	}
	initStringInfo(&out);
	appendStringInfo(&out, "{\"attempted\": " UINT64_FORMAT ", \"succeeded\": " INT64_FORMAT ", \"failed\": " INT64_FORMAT
					 ", \"pending\": " INT64_FORMAT "}", n, succeeded, failed, pending);
	result = SPI_datumTransfer(sk_jsonb_from_buf(&out), false, -1);
	SPI_finish();
	PG_RETURN_DATUM(result);
}
