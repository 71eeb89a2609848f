/*
 * snapshots.c
 *	  Daily account snapshots and the time-weighted return index.
 *
 * An account's value is its cash plus every holding at the close of its
 * latest bar at or before the season's clock, quantity x close rounded half
 * up to the minor unit (the rule of returns.c and money.c).  The flow of a
 * period is the change of the account's net contribution: starting cash,
 * mission rewards, deposits -- money put in, not earned by trading.
 *
 * The time-weighted return index starts at 1 when the account opens and is
 * chain-linked from snapshot to snapshot.  The flow of a period is counted
 * at the end of the period:
 *
 *		index_t = index_{t-1} x (value_t - flow_t) / value_{t-1}
 *
 * so a reward or deposit paid in during the period is taken out of the
 * value before the period's return is measured: money put in never shows
 * as return, to the won (if it was invested at once, what it earned before
 * the period ended counts as return: a small effect, rewards being small).
 * Before the first snapshot the link starts from the account's opening:
 * index 1, value and net contribution both the opening deposit (the first
 * contribution of its cash ledger).  The return between two moments is the
 * ratio of their indexes minus one.  The index
 * has 12 decimals, each link rounded half up; it never goes below 0, and a
 * link with no base (nothing invested) keeps it.
 *
 * The snapshot job values all accounts of a season in one statement (a
 * hash join of the holdings with one bar look-up per symbol), the links
 * computed by stockking.twr_link below; re-running it on the same clock
 * date recomputes that date from the previous snapshot and writes only rows
 * that changed.  Between snapshots, sk_account_now links the latest
 * snapshot before the clock date to the current valuation.
 */
#include "family.h"

#include "access/htup_details.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "portability/instr_time.h"
#include "utils/builtins.h"
#include "utils/numeric.h"

PG_FUNCTION_INFO_V1(stockking_trade_value);
PG_FUNCTION_INFO_V1(stockking_twr_link);
PG_FUNCTION_INFO_V1(stockking_account_now);
PG_FUNCTION_INFO_V1(stockking_snapshot_accounts);

/* advisory lock class of a season's clock, as in trade.c */
#define SEASON_LOCK_CLASS 21323

static const int64 pow10_12[] = {
	INT64CONST(1), INT64CONST(10), INT64CONST(100), INT64CONST(1000), INT64CONST(10000), INT64CONST(100000),
	INT64CONST(1000000), INT64CONST(10000000), INT64CONST(100000000), INT64CONST(1000000000),
	INT64CONST(10000000000), INT64CONST(100000000000), INT64CONST(1000000000000)
};

/* 10^scale as a numeric, made once per backend */
static Datum
pow10_numeric(int scale)
{
	static Datum cache[13];

	Assert(scale >= 0 && scale <= 12);
	if (cache[scale] == (Datum) 0)
	{
		MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

		cache[scale] = DirectFunctionCall1(int8_numeric, Int64GetDatum(pow10_12[scale]));
		MemoryContextSwitchTo(old);
	}
	return cache[scale];
}

int64
sk_numeric_scaled(Datum numeric, int scale)
{
	Datum		scaled = DirectFunctionCall2(numeric_mul, numeric, pow10_numeric(scale));

	return DatumGetInt64(DirectFunctionCall1(numeric_int8, scaled));
}

void
sk_append_scaled(StringInfo buf, int64 value, int scale)
{
	uint64		magnitude = value < 0 ? -(uint64) value : (uint64) value;

	Assert(scale >= 0 && scale <= 12);
	if (value < 0)
		appendStringInfoChar(buf, '-');
	if (scale == 0)
		appendStringInfo(buf, UINT64_FORMAT, magnitude);
	else
		appendStringInfo(buf, UINT64_FORMAT ".%0*" INT64_MODIFIER "u", magnitude / (uint64) pow10_12[scale], scale,
						 magnitude % (uint64) pow10_12[scale]);
}

Datum
sk_scaled_numeric(int64 value, int scale)
{
	StringInfoData buf;

	initStringInfo(&buf);
	sk_append_scaled(&buf, value, scale);
	return DirectFunctionCall3(numeric_in, CStringGetDatum(buf.data), ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
}

int64
sk_twr_link(int64 index, int64 prev_value, int64 flow, int64 value)
{
	int128		num;
	int128		base;
	int128		q;
	int128		r;

	if (prev_value > 0)
	{
		/* the period's flow at its end: taken out of the value */
		num = (int128) index * ((int128) value - flow);
		base = prev_value;
	}
	else
	{
		/* nothing before: the flow counts at the start */
		num = (int128) index * value;
		base = flow;
	}
	if (base <= 0)
		return index;
	if (num <= 0)
		return 0;
	q = num / base;
	r = num % base;
	if (r * 2 >= base)
		q++;
	if (q > PG_INT64_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("time-weighted return index out of range")));
	return (int64) q;
}

/*
 * stockking.trade_value(quantity bigint, price numeric, minor_units integer)
 * RETURNS bigint: quantity x price in minor units, rounded half up.
 */
Datum
stockking_trade_value(PG_FUNCTION_ARGS)
{
	int64		quantity = PG_GETARG_INT64(0);
	int64		price = sk_numeric_scaled(PG_GETARG_DATUM(1), 6);
	int32		minor_units = PG_GETARG_INT32(2);

	if (minor_units < 0 || minor_units > 6)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("minor_units must be between 0 and 6")));
	PG_RETURN_INT64(sk_trade_value(quantity, price, minor_units, SK_ROUND_HALF_UP));
}

/*
 * stockking.twr_link(prev_index numeric, prev_value bigint, flow bigint,
 * value bigint) RETURNS numeric: the next index, 12 decimals.
 */
Datum
stockking_twr_link(PG_FUNCTION_ARGS)
{
	int64		index = sk_numeric_scaled(PG_GETARG_DATUM(0), 12);

	PG_RETURN_DATUM(sk_scaled_numeric(sk_twr_link(index, PG_GETARG_INT64(1), PG_GETARG_INT64(2), PG_GETARG_INT64(3)),
									  12));
}

static sk_stmt s_account = {
	"SELECT a.season_id, stockking.season_clock(a.season_id), a.currency::text,"
	" (SELECT m.minor_units FROM stockking.market m WHERE m.currency = a.currency ORDER BY m.code LIMIT 1),"
	" a.cash, a.net_contribution FROM stockking.account a WHERE a.id = $1",
	1, {INT8OID}
};
static sk_stmt s_holdings = {
	"SELECT h.quantity, (b.close * 1000000)::bigint FROM stockking.holding h"
	" CROSS JOIN LATERAL stockking.bar_at(h.symbol, $2) b"
	" WHERE h.account_id = $1 AND h.quantity > 0 AND b.bar_date IS NOT NULL",
	2, {INT8OID, DATEOID}
};
static sk_stmt s_opening = {
	"SELECT l.amount FROM stockking.cash_ledger l WHERE l.account_id = $1 AND l.is_contribution ORDER BY l.id LIMIT 1",
	1, {INT8OID}
};
static sk_stmt s_previous = {
	"SELECT (s.twr_index * 1000000000000)::bigint, s.total_value, s.net_contribution"
	" FROM stockking.account_snapshot s WHERE s.account_id = $1 AND s.market_date < $2"
	" ORDER BY s.market_date DESC LIMIT 1",
	2, {INT8OID, DATEOID}
};

void
sk_account_now(int64 account_id, sk_position *pos)
{
	Datum		v[2];
	char		nulls[2] = {' ', ' '};
	bool		isnull;
	int64		prev_index = SK_INDEX_SCALE;
	int64		prev_value = 0;
	int64		prev_contribution = 0;
	Datum		clock;

	v[0] = Int64GetDatum(account_id);
	sk_exec(&s_account, v, NULL, true, 1);
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("account " INT64_FORMAT " not found", account_id)));
	pos->account_id = account_id;
	pos->season_id = (int32) sk_get_int64(0, 1, NULL);
	clock = sk_get_datum(0, 2, &pos->clock_null);
	pos->clock = pos->clock_null ? 0 : DatumGetDateADT(clock);
	pos->currency = sk_get_text(0, 3);
	pos->minor_units = (int) sk_get_int64(0, 4, &isnull);
	if (isnull)
		pos->minor_units = 2;
	pos->cash = sk_get_int64(0, 5, NULL);
	pos->net_contribution = sk_get_int64(0, 6, NULL);
	pos->market_value = 0;

	v[1] = clock;
	nulls[1] = pos->clock_null ? 'n' : ' ';
	sk_exec(&s_holdings, v, nulls, true, 0);
	for (uint64 i = 0; i < SPI_processed; i++)
		pos->market_value += sk_trade_value(sk_get_int64(i, 1, NULL), sk_get_int64(i, 2, NULL), pos->minor_units,
											SK_ROUND_HALF_UP);
	pos->total_value = pos->cash + pos->market_value;

	if (!pos->clock_null)
		sk_exec(&s_previous, v, NULL, true, 1);
	if (!pos->clock_null && SPI_processed == 1)
	{
		prev_index = sk_get_int64(0, 1, NULL);
		prev_value = sk_get_int64(0, 2, NULL);
		prev_contribution = sk_get_int64(0, 3, NULL);
	}
	else
	{
		/* no snapshot yet: link from the opening deposit */
		sk_exec(&s_opening, v, NULL, true, 1);
		if (SPI_processed == 1)
			prev_value = prev_contribution = sk_get_int64(0, 1, NULL);
	}
	pos->twr_index = sk_twr_link(prev_index, prev_value, pos->net_contribution - prev_contribution,
								 pos->total_value);
}

/*
 * stockking.account_now(account_id bigint) RETURNS record: the account
 * valued now, with its current index.
 */
Datum
stockking_account_now(PG_FUNCTION_ARGS)
{
	int64		account_id = PG_GETARG_INT64(0);
	TupleDesc	tupdesc;
	sk_position pos;
	Datum		values[9];
	bool		nulls[9];
	HeapTuple	tuple;
	MemoryContext caller = CurrentMemoryContext;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	sk_account_now(account_id, &pos);
	{
		MemoryContext spi = MemoryContextSwitchTo(caller);

		memset(nulls, false, sizeof(nulls));
		values[0] = Int32GetDatum(pos.season_id);
		values[1] = DateADTGetDatum(pos.clock);
		nulls[1] = pos.clock_null;
		values[2] = CStringGetTextDatum(pos.currency);
		values[3] = Int32GetDatum(pos.minor_units);
		values[4] = Int64GetDatum(pos.cash);
		values[5] = Int64GetDatum(pos.market_value);
		values[6] = Int64GetDatum(pos.total_value);
		values[7] = Int64GetDatum(pos.net_contribution);
		values[8] = sk_scaled_numeric(pos.twr_index, 12);
		tuple = heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls);
		MemoryContextSwitchTo(spi);
	}
	SPI_finish();
	PG_RETURN_DATUM(HeapTupleGetDatum(tuple));
}

static sk_stmt s_seasons = {
	"SELECT s.id, stockking.season_clock(s.id),"
	" coalesce((SELECT m.minor_units FROM stockking.market m WHERE m.currency = s.currency ORDER BY m.code LIMIT 1), 2)"
	" FROM stockking.season s WHERE s.status = 'OPEN' AND ($1::integer IS NULL OR s.id = $1) ORDER BY s.id",
	1, {INT4OID}
};
static sk_stmt s_season_lock_shared = {
	"SELECT pg_advisory_xact_lock_shared(" CppAsString2(SEASON_LOCK_CLASS) ", $1)",
	1, {INT4OID}
};
static sk_stmt s_count = {
	"SELECT count(*) FROM stockking.account WHERE season_id = $1",
	1, {INT4OID}
};

/*
 * One season's snapshot at its clock: all accounts in one statement.  $1
 * season, $2 clock date, $3 minor units of the season's currency.
 */
static sk_stmt s_snapshot = {
	"WITH acc AS ("
	"  SELECT a.id, a.family_id, a.user_id, a.cash, a.net_contribution FROM stockking.account a WHERE a.season_id = $1"
	"), px AS ("
	"  SELECT sy.symbol, b.close"
	"    FROM (SELECT DISTINCT h.symbol FROM stockking.holding h JOIN acc ON acc.id = h.account_id"
	"           WHERE h.quantity > 0) sy"
	"   CROSS JOIN LATERAL stockking.bar_at(sy.symbol, $2) b WHERE b.bar_date IS NOT NULL"
	"), mv AS ("
	"  SELECT h.account_id, sum(stockking.trade_value(h.quantity, px.close, $3))::bigint AS market_value"
	"    FROM stockking.holding h JOIN acc ON acc.id = h.account_id JOIN px ON px.symbol = h.symbol"
	"   WHERE h.quantity > 0 GROUP BY h.account_id"
	"), cur AS ("
	"  SELECT acc.*, coalesce(mv.market_value, 0) AS market_value, acc.cash + coalesce(mv.market_value, 0) AS total"
	"    FROM acc LEFT JOIN mv ON mv.account_id = acc.id"
	")"
	" INSERT INTO stockking.account_snapshot AS s (account_id, market_date, family_id, user_id, season_id, cash,"
	"   market_value, total_value, net_contribution, flow, twr_index, taken_at)"
	" SELECT cur.id, $2, cur.family_id, cur.user_id, $1, cur.cash, cur.market_value, cur.total, cur.net_contribution,"
	"   cur.net_contribution - p.net_contribution,"
	"   stockking.twr_link(p.twr_index, p.total_value, cur.net_contribution - p.net_contribution, cur.total),"
	"   now()"
	"  FROM cur CROSS JOIN LATERAL ("
	"    SELECT coalesce(ps.twr_index, 1) AS twr_index, coalesce(ps.total_value, op.amount, 0) AS total_value,"
	"           coalesce(ps.net_contribution, op.amount, 0) AS net_contribution"
	"      FROM (SELECT 1) one"
	"      LEFT JOIN LATERAL (SELECT s0.twr_index, s0.total_value, s0.net_contribution FROM stockking.account_snapshot s0"
	"                          WHERE s0.account_id = cur.id AND s0.market_date < $2"
	"                          ORDER BY s0.market_date DESC LIMIT 1) ps ON true"
	"      LEFT JOIN LATERAL (SELECT l.amount FROM stockking.cash_ledger l"
	"                          WHERE ps.twr_index IS NULL AND l.account_id = cur.id AND l.is_contribution"
	"                          ORDER BY l.id LIMIT 1) op ON true) p"
	" ON CONFLICT (account_id, market_date) DO UPDATE"
	"   SET cash = EXCLUDED.cash, market_value = EXCLUDED.market_value, total_value = EXCLUDED.total_value,"
	"       net_contribution = EXCLUDED.net_contribution, flow = EXCLUDED.flow, twr_index = EXCLUDED.twr_index,"
	"       family_id = EXCLUDED.family_id, taken_at = EXCLUDED.taken_at"
	" WHERE (s.cash, s.market_value, s.net_contribution, s.flow, s.twr_index, s.family_id)"
	"       IS DISTINCT FROM (EXCLUDED.cash, EXCLUDED.market_value, EXCLUDED.net_contribution, EXCLUDED.flow,"
	"                         EXCLUDED.twr_index, EXCLUDED.family_id)",
	3, {INT4OID, DATEOID, INT4OID}
};

/*
 * stockking.snapshot_accounts(season_id integer DEFAULT NULL) RETURNS jsonb
 *
 * The snapshot job: every account of every OPEN season (or of one), at the
 * season's clock date, under the season's shared clock lock so the clock
 * cannot move under it.
 */
Datum
stockking_snapshot_accounts(PG_FUNCTION_ARGS)
{
	Datum		v[3];
	char		nulls[3] = {' ', ' ', ' '};
	uint64		n;
	int32	   *ids;
	Datum	   *clocks;
	bool	   *clock_nulls;
	int32	   *minor;
	StringInfoData out;
	instr_time	start;
	instr_time	elapsed;

	INSTR_TIME_SET_CURRENT(start);
	v[0] = PG_ARGISNULL(0) ? (Datum) 0 : PG_GETARG_DATUM(0);
	nulls[0] = PG_ARGISNULL(0) ? 'n' : ' ';
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	sk_exec(&s_seasons, v, nulls, false, 0);
	n = SPI_processed;
	ids = palloc(sizeof(int32) * (n + 1));
	clocks = palloc(sizeof(Datum) * (n + 1));
	clock_nulls = palloc(sizeof(bool) * (n + 1));
	minor = palloc(sizeof(int32) * (n + 1));
	for (uint64 i = 0; i < n; i++)
	{
		ids[i] = (int32) sk_get_int64(i, 1, NULL);
		clocks[i] = sk_get_datum(i, 2, &clock_nulls[i]);
		minor[i] = (int32) sk_get_int64(i, 3, NULL);
	}

	initStringInfo(&out);
	appendStringInfoString(&out, "{\"seasons\": [");
	for (uint64 i = 0; i < n; i++)
	{
		int64		accounts;
		uint64		written;

		if (clock_nulls[i])
			continue;
		v[0] = Int32GetDatum(ids[i]);
		sk_exec(&s_season_lock_shared, v, NULL, false, 0);
		sk_exec(&s_count, v, NULL, false, 1);
		accounts = sk_get_int64(0, 1, NULL);
		v[1] = clocks[i];
		v[2] = Int32GetDatum(minor[i]);
		sk_exec(&s_snapshot, v, NULL, false, 0);
		written = SPI_processed;
		appendStringInfo(&out, "%s{\"season_id\": %d, \"clock\": \"%s\", \"accounts\": " INT64_FORMAT
						 ", \"written\": " UINT64_FORMAT "}",
						 i > 0 ? ", " : "", ids[i], sk_date_iso(DatumGetDateADT(clocks[i])), accounts, written);
	}
	INSTR_TIME_SET_CURRENT(elapsed);
	INSTR_TIME_SUBTRACT(elapsed, start);
	appendStringInfo(&out, "], \"ms\": %.0f}", INSTR_TIME_GET_MILLISEC(elapsed));
	{
		Datum		result = SPI_datumTransfer(sk_jsonb_from_buf(&out), false, -1);

		SPI_finish();
		PG_RETURN_DATUM(result);
	}
}
