/*
 * trade.c
 *	  Order placement, fills, cancellation and the replay clock's matching
 *	  of resting limit orders.
 *
 * Concurrency: every change to an account happens under its row lock
 * (SELECT ... FOR UPDATE), so two orders of one account run one after the
 * other and each sees the cash and holdings the other left: nothing is
 * overdrawn or oversold, and a repeated client_order_id finds the first
 * order.  Placing an order holds a shared advisory lock on its season's
 * clock and advancing the clock an exclusive one, so an order is never
 * placed on a clock that is moving; both take the season lock before any
 * account lock, and the clock locks accounts in id order, so they cannot
 * deadlock.
 */
#include "stockking.h"

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/date.h"

PG_FUNCTION_INFO_V1(stockking_place_order);
PG_FUNCTION_INFO_V1(stockking_cancel_order);
PG_FUNCTION_INFO_V1(stockking_advance_clock);

/* advisory lock class of a season's clock ("SK"); the second key is the season id */
#define SEASON_LOCK_CLASS 21323

/* bounds on one order, beyond any game account: refused as bad input */
#define MAX_ORDER_QUANTITY INT64CONST(1000000)
#define MAX_LIMIT_PRICE_MICROS (INT64CONST(1000000000) * SK_MICRO)
#define MAX_ADVANCE_BARS 5000

/* An order being filled or released, with its market's rules */
typedef struct order_ctx
{
	int64		order_id;
	int64		account_id;
	char	   *family_id;
	char	   *user_id;
	char	   *symbol;
	bool		buy;
	int64		quantity;		/* quantity still to fill */
	int64		reserved_cash;	/* minor units held by the order */
	int64		reserved_quantity;	/* shares held by the order */
	int			minor_units;
	int64		fee_rate;		/* micro-units */
	int64		tax_rate;		/* micro-units */
} order_ctx;

#define T TEXTOID
#define I8 INT8OID
#define I4 INT4OID
#define D DATEOID

static sk_stmt s_fill_insert = {
	"INSERT INTO stockking.fill (order_id, account_id, family_id, user_id, symbol, side, quantity, price, gross, fee, tax, bar_date)"
	" VALUES ($1, $2, $3::uuid, $4::uuid, $5, $6, $7, $8::numeric / 1000000, $9, $10, $11, $12) RETURNING id",
	12, {I8, I8, T, T, T, T, I8, I8, I8, I8, I8, D}
};
static sk_stmt s_ledger_insert = {
	"INSERT INTO stockking.cash_ledger (account_id, family_id, user_id, entry_type, amount, order_id, fill_id, market_date)"
	" SELECT $1, $2::uuid, $3::uuid, e.kind, e.amount, $7, $8, $9"
	" FROM (VALUES ($4::text, $5::bigint, 1), ('FEE', -$6::bigint, 2), ('TAX', -$10::bigint, 3)) e (kind, amount, n)"
	" WHERE e.amount <> 0 ORDER BY e.n",
	10, {I8, T, T, T, I8, I8, I8, I8, D, I8}
};
static sk_stmt s_account_cash = {
	"UPDATE stockking.account SET cash = cash + $2, reserved_cash = reserved_cash + $3 WHERE id = $1",
	3, {I8, I8, I8}
};
static sk_stmt s_holding_buy = {
	"INSERT INTO stockking.holding (account_id, symbol, family_id, user_id, quantity, cost_basis)"
	" VALUES ($1, $2, $3::uuid, $4::uuid, $5, $6)"
	" ON CONFLICT (account_id, symbol) DO UPDATE SET quantity = holding.quantity + EXCLUDED.quantity,"
	" cost_basis = holding.cost_basis + EXCLUDED.cost_basis, updated_at = now()",
	6, {I8, T, T, T, I8, I8}
};
static sk_stmt s_holding_get = {
	"SELECT quantity, reserved_quantity, cost_basis FROM stockking.holding WHERE account_id = $1 AND symbol = $2",
	2, {I8, T}
};
static sk_stmt s_holding_sell = {
	"UPDATE stockking.holding SET quantity = quantity - $3, reserved_quantity = reserved_quantity - $4,"
	" cost_basis = cost_basis - $5, realized_pnl = realized_pnl + $6, updated_at = now()"
	" WHERE account_id = $1 AND symbol = $2",
	6, {I8, T, I8, I8, I8, I8}
};
static sk_stmt s_holding_reserve = {
	"UPDATE stockking.holding SET reserved_quantity = reserved_quantity + $3, updated_at = now()"
	" WHERE account_id = $1 AND symbol = $2",
	3, {I8, T, I8}
};
static sk_stmt s_order_filled = {
	"UPDATE stockking.orders SET status = 'FILLED', filled_quantity = filled_quantity + $2,"
	" average_fill_price = round((coalesce(average_fill_price, 0) * filled_quantity + $3::numeric / 1000000 * $2)"
	" / (filled_quantity + $2), 6),"
	" gross_amount = gross_amount + $4, fees = fees + $5, taxes = taxes + $6,"
	" reserved_cash = 0, reserved_quantity = 0, updated_at = now() WHERE id = $1",
	6, {I8, I8, I8, I8, I8, I8}
};
static sk_stmt s_order_close = {
	"UPDATE stockking.orders SET status = $2, status_reason = $3, reserved_cash = 0, reserved_quantity = 0,"
	" updated_at = now() WHERE id = $1",
	3, {I8, T, T}
};
static sk_stmt s_order_json = {
	"SELECT stockking.order_json(o) FROM stockking.orders o WHERE o.id = $1",
	1, {I8}
};
static sk_stmt s_resolve = {
	"SELECT a.id, a.season_id FROM stockking.account a WHERE a.id = stockking.resolve_account($1)",
	1, {JSONBOID}
};
static sk_stmt s_season_lock_shared = {
	"SELECT pg_advisory_xact_lock_shared(" CppAsString2(SEASON_LOCK_CLASS) ", $1)",
	1, {I4}
};
static sk_stmt s_account_lock = {
	"SELECT a.cash, a.reserved_cash, a.currency::text, a.family_id::text, a.user_id::text, s.status,"
	" stockking.season_clock(s.id), s.code FROM stockking.account a JOIN stockking.season s ON s.id = a.season_id"
	" WHERE a.id = $1 FOR UPDATE OF a",
	1, {I8}
};
static sk_stmt s_existing = {
	"SELECT id, account_id, symbol, side, order_type, time_in_force, quantity, (limit_price * 1000000)::bigint"
	" FROM stockking.orders WHERE user_id = $1::uuid AND client_order_id = $2",
	2, {T, T}
};
static sk_stmt s_instrument = {
	"SELECT m.code, m.currency::text, m.minor_units, (m.fee_rate * 1000000)::bigint, (m.sell_tax_rate * 1000000)::bigint,"
	" m.lot_size FROM stockking.instrument i JOIN stockking.market m ON m.code = i.market WHERE i.symbol = $1",
	1, {T}
};
static sk_stmt s_tick = {
	"SELECT (tick * 1000000)::bigint FROM stockking.tick_band WHERE market = $1 AND lower_price <= $2::numeric / 1000000"
	" ORDER BY lower_price DESC LIMIT 1",
	2, {T, I8}
};
static sk_stmt s_price = {
	"SELECT (b.close * 1000000)::bigint, b.bar_date FROM stockking.bar_at($1, $2) b WHERE b.bar_date IS NOT NULL",
	2, {T, D}
};
static sk_stmt s_order_insert = {
	"INSERT INTO stockking.orders (family_id, user_id, account_id, season_id, client_order_id, symbol, side, order_type,"
	" time_in_force, quantity, limit_price, status, reserved_cash, reserved_quantity, placed_bar_date)"
	" VALUES ($1::uuid, $2::uuid, $3, $4, $5, $6, $7, $8, $9, $10, $11::numeric / 1000000, 'NEW', $12, $13, $14) RETURNING id",
	14, {T, T, I8, I4, T, T, T, T, T, I8, I8, I8, I8, D}
};

static sk_stmt s_emit = {
	"SELECT stockking.emit_event($1::uuid, $2::uuid, 'FAMILY', $3, jsonb_strip_nulls(jsonb_build_object('order_id', $4, 'symbol', $5,"
	" 'side', $6, 'quantity', $7, 'price', trim_scale($8::numeric / 1000000), 'status', $9, 'reason', $10)))",
	10, {T, T, T, I8, T, T, I8, I8, T, T}
};

/*
 * Tell the family (the child and the parents) about an order's change,
 * through the outbox in this transaction.  price is micro-units, or 0 for
 * none; reason may be NULL.
 */
static void
emit_order_event(order_ctx *o, const char *type, const char *status, int64 price, const char *reason)
{
	Datum		v[10] = {CStringGetTextDatum(o->user_id), CStringGetTextDatum(o->family_id), CStringGetTextDatum(type), Int64GetDatum(o->order_id),
		CStringGetTextDatum(o->symbol), CStringGetTextDatum(o->buy ? "BUY" : "SELL"), Int64GetDatum(o->quantity), Int64GetDatum(price),
	CStringGetTextDatum(status), reason ? CStringGetTextDatum(reason) : (Datum) 0};
	char		nulls[10] = {' ', ' ', ' ', ' ', ' ', ' ', ' ', price ? ' ' : 'n', ' ', reason ? ' ' : 'n'};

	sk_exec(&s_emit, v, nulls, false, 1);
}

/* the order as the API shows it, copied out of SPI's memory */
static Datum
order_json(int64 order_id)
{
	Datum		v[1] = {Int64GetDatum(order_id)};

	return sk_exec_jsonb(&s_order_json, v, NULL);
}

/*
 * Fill the rest of an order at a price (micro-units) on a bar, under the
 * account's row lock: a fill row, its cash ledger entries, the account's
 * cash, the holding, and the order.  A buy's cash was checked or reserved
 * by the caller; a sell's shares were reserved or checked.
 */
static void
execute_fill(order_ctx *o, int64 price, DateADT bar_date)
{
	int64		q = o->quantity;
	int64		gross = sk_trade_value(q, price, o->minor_units, SK_ROUND_HALF_UP);
	int64		fee = sk_apply_rate(gross, o->fee_rate, SK_ROUND_DOWN);
	int64		tax = o->buy ? 0 : sk_apply_rate(gross, o->tax_rate, SK_ROUND_DOWN);
	int64		cash_delta;
	int64		fill_id;
	const char *side = o->buy ? "BUY" : "SELL";

	if (o->buy)
	{
		Datum		hv[6] = {Int64GetDatum(o->account_id), CStringGetTextDatum(o->symbol), CStringGetTextDatum(o->family_id),
		CStringGetTextDatum(o->user_id), Int64GetDatum(q), Int64GetDatum(gross + fee)};

		sk_exec(&s_holding_buy, hv, NULL, false, 0);
		cash_delta = -(gross + fee);
	}
	else
	{
		Datum		gv[2] = {Int64GetDatum(o->account_id), CStringGetTextDatum(o->symbol)};
		int64		held;
		int64		cost_basis;
		int64		cost_out;
		int64		proceeds = gross - fee - tax;

		sk_exec(&s_holding_get, gv, NULL, false, 1);
		if (SPI_processed != 1)
			elog(ERROR, "holding of %s vanished under a sell", o->symbol);
		held = sk_get_int64(0, 1, NULL);
		cost_basis = sk_get_int64(0, 3, NULL);
		if (held < q)
			elog(ERROR, "holding of %s is smaller than a sell that was checked", o->symbol);
		/* average-cost method: the last share takes the rest of the basis */
		if (q == held)
			cost_out = cost_basis;
		else
			cost_out = (int64) (((int128) cost_basis * q + held / 2) / held);
		{
			Datum		sv[6] = {Int64GetDatum(o->account_id), CStringGetTextDatum(o->symbol), Int64GetDatum(q),
			Int64GetDatum(o->reserved_quantity), Int64GetDatum(cost_out), Int64GetDatum(proceeds - cost_out)};

			sk_exec(&s_holding_sell, sv, NULL, false, 0);
		}
		cash_delta = proceeds;
	}

	{
		Datum		fv[12] = {Int64GetDatum(o->order_id), Int64GetDatum(o->account_id), CStringGetTextDatum(o->family_id),
			CStringGetTextDatum(o->user_id), CStringGetTextDatum(o->symbol), CStringGetTextDatum(side), Int64GetDatum(q), Int64GetDatum(price),
		Int64GetDatum(gross), Int64GetDatum(fee), Int64GetDatum(tax), DateADTGetDatum(bar_date)};

		sk_exec(&s_fill_insert, fv, NULL, false, 1);
		fill_id = sk_get_int64(0, 1, NULL);
	}
	{
		Datum		lv[10] = {Int64GetDatum(o->account_id), CStringGetTextDatum(o->family_id), CStringGetTextDatum(o->user_id),
			CStringGetTextDatum(side), Int64GetDatum(o->buy ? -gross : gross), Int64GetDatum(fee),
			Int64GetDatum(o->order_id), Int64GetDatum(fill_id), DateADTGetDatum(bar_date),
		Int64GetDatum(tax)};

		sk_exec(&s_ledger_insert, lv, NULL, false, 0);
	}
	{
		Datum		av[3] = {Int64GetDatum(o->account_id), Int64GetDatum(cash_delta), Int64GetDatum(-o->reserved_cash)};

		sk_exec(&s_account_cash, av, NULL, false, 0);
	}
	{
		Datum		ov[6] = {Int64GetDatum(o->order_id), Int64GetDatum(q), Int64GetDatum(price),
		Int64GetDatum(gross), Int64GetDatum(fee), Int64GetDatum(tax)};

		sk_exec(&s_order_filled, ov, NULL, false, 0);
	}
	emit_order_event(o, "OrderFilled", "FILLED", price, NULL);
}

/*
 * Close an open order without a fill (CANCELED, EXPIRED, REJECTED) and give
 * back what it reserved.  Caller holds the account's row lock.
 */
static void
release_order(order_ctx *o, const char *status, const char *reason)
{
	if (o->reserved_cash != 0)
	{
		Datum		av[3] = {Int64GetDatum(o->account_id), Int64GetDatum(0), Int64GetDatum(-o->reserved_cash)};

		sk_exec(&s_account_cash, av, NULL, false, 0);
	}
	if (o->reserved_quantity != 0)
	{
		Datum		hv[3] = {Int64GetDatum(o->account_id), CStringGetTextDatum(o->symbol), Int64GetDatum(-o->reserved_quantity)};

		sk_exec(&s_holding_reserve, hv, NULL, false, 0);
	}
	{
		Datum		ov[3] = {Int64GetDatum(o->order_id), CStringGetTextDatum(status), CStringGetTextDatum(reason)};

		sk_exec(&s_order_close, ov, NULL, false, 0);
	}
	emit_order_event(o, strcmp(status, "CANCELED") == 0 ? "OrderCanceled" : "OrderExpired", status, 0, reason);
}

/* SK001 unless the free cash covers what the order costs or reserves */
static void
check_funds(int64 need, int64 free_cash, order_ctx *o, const char *currency, const char *verb)
{
	StringInfoData need_text;
	StringInfoData free_text;

	if (need <= free_cash)
		return;
	initStringInfo(&need_text);
	initStringInfo(&free_text);
	sk_append_money(&need_text, need, o->minor_units);
	sk_append_money(&free_text, free_cash, o->minor_units);
	ereport(ERROR,
			(errcode(ERRCODE_SK_INSUFFICIENT_FUNDS),
			 errmsg("insufficient funds"),
			 errdetail("The order %s %s %s with fees; the free cash is %s %s.",
					   verb, need_text.data, currency, free_text.data, currency)));
}

/* SK002 unless the holding's free shares cover the sell; caller holds the account lock */
static void
check_holding(order_ctx *o)
{
	Datum		v[2] = {Int64GetDatum(o->account_id), CStringGetTextDatum(o->symbol)};
	int64		free_qty = 0;

	sk_exec(&s_holding_get, v, NULL, false, 1);
	if (SPI_processed == 1)
		free_qty = sk_get_int64(0, 1, NULL) - sk_get_int64(0, 2, NULL);
	if (free_qty < o->quantity)
		ereport(ERROR,
				(errcode(ERRCODE_SK_INSUFFICIENT_HOLDING),
				 errmsg("insufficient holding"),
				 errdetail("The order sells " INT64_FORMAT " %s; " INT64_FORMAT " are free to sell.",
						   o->quantity, o->symbol, free_qty)));
}

static const char *
upper_word(char *s)
{
	for (char *p = s; *p; p++)
		if (*p >= 'a' && *p <= 'z')
			*p -= 'a' - 'A';
	return s;
}

static bool
word_in(const char *s, const char *a, const char *b)
{
	return strcmp(s, a) == 0 || strcmp(s, b) == 0;
}

static char *
format_micros(int64 micros)
{
	StringInfoData buf;

	initStringInfo(&buf);
	sk_append_micros(&buf, micros, 6);
	/* trim trailing zeros for messages */
	while (buf.len > 0 && buf.data[buf.len - 1] == '0')
		buf.data[--buf.len] = '\0';
	if (buf.len > 0 && buf.data[buf.len - 1] == '.')
		buf.data[--buf.len] = '\0';
	return buf.data;
}

/*
 * api.place_order(args jsonb) RETURNS jsonb
 *
 * Args: symbol, side BUY|SELL, type MARKET|LIMIT, quantity (whole shares),
 * limit_price (LIMIT only, on tick), time_in_force DAY|GTC (default DAY),
 * client_order_id (optional idempotency key), season_id (optional: default
 * account).  A MARKET order fills at once at the close of the clock's
 * current bar; a LIMIT order rests (NEW) with its cash or shares reserved.
 */
Datum
stockking_place_order(PG_FUNCTION_ARGS)
{
	Jsonb	   *args = PG_GETARG_JSONB_P(0);
	const char *uid = sk_require_user();
	char	   *symbol;
	char	   *side;
	char	   *type;
	char	   *tif = "DAY";
	char	   *client_order_id = NULL;
	int64		quantity;
	int64		limit_price = 0;
	bool		has_limit;
	bool		buy;
	bool		market;
	int64		account_id;
	int32		season_id;
	int64		cash;
	int64		reserved_cash;
	char	   *currency;
	char	   *family_id;
	char	   *season_status;
	char	   *season_code;
	DateADT		clock;
	bool		isnull;
	char	   *market_code;
	order_ctx	o;
	int64		order_id;
	int64		fill_price = 0;
	DateADT		fill_date = 0;
	Datum		result;

	/* arguments first: bad input changes nothing and takes no lock */
	sk_arg_text(args, "symbol", true, &symbol);
	sk_arg_text(args, "side", true, &side);
	sk_arg_text(args, "type", true, &type);
	sk_arg_int64(args, "quantity", true, &quantity);
	has_limit = sk_arg_micros(args, "limit_price", false, &limit_price);
	sk_arg_text(args, "time_in_force", false, &tif);
	sk_arg_text(args, "client_order_id", false, &client_order_id);
	upper_word(symbol);
	upper_word(side);
	upper_word(type);
	tif = pstrdup(tif);
	upper_word(tif);

	if (!word_in(side, "BUY", "SELL"))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("field \"side\" must be BUY or SELL")));
	if (!word_in(type, "MARKET", "LIMIT"))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("field \"type\" must be MARKET or LIMIT")));
	if (!word_in(tif, "DAY", "GTC"))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("field \"time_in_force\" must be DAY or GTC")));
	buy = strcmp(side, "BUY") == 0;
	market = strcmp(type, "MARKET") == 0;
	if (quantity < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("field \"quantity\" must be at least 1")));
	if (quantity > MAX_ORDER_QUANTITY)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("field \"quantity\" must be at most " INT64_FORMAT, MAX_ORDER_QUANTITY)));
	if (market && has_limit)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("field \"limit_price\" is only for LIMIT orders")));
	if (!market && !has_limit)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("field \"limit_price\" is required for LIMIT orders")));
	if (has_limit && limit_price <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("field \"limit_price\" must be positive")));
	if (has_limit && limit_price > MAX_LIMIT_PRICE_MICROS)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("field \"limit_price\" is out of range")));
	if (market)
		tif = "DAY";
	if (client_order_id != NULL)
	{
		size_t		len = strlen(client_order_id);

		if (len < 1 || len > 64 || strspn(client_order_id,
										  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:-") != len)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("field \"client_order_id\" must be 1 to 64 characters of A-Z a-z 0-9 _ . : -")));
	}

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	/* the account, then the season's clock lock, then the account's row lock */
	{
		Datum		v[1] = {JsonbPGetDatum(args)};

		sk_exec(&s_resolve, v, NULL, false, 1);
		if (SPI_processed != 1)
			ereport(ERROR,
					(errcode(ERRCODE_SK_NO_ACCOUNT),
					 errmsg("no account for this user")));
		account_id = sk_get_int64(0, 1, NULL);
		season_id = (int32) sk_get_int64(0, 2, NULL);
	}
	{
		Datum		v[1] = {Int32GetDatum(season_id)};

		sk_exec(&s_season_lock_shared, v, NULL, false, 0);
	}
	{
		Datum		v[1] = {Int64GetDatum(account_id)};

		sk_exec(&s_account_lock, v, NULL, false, 1);
		cash = sk_get_int64(0, 1, NULL);
		reserved_cash = sk_get_int64(0, 2, NULL);
		currency = sk_get_text(0, 3);
		family_id = sk_get_text(0, 4);
		season_status = sk_get_text(0, 6);
		clock = DatumGetDateADT(sk_get_datum(0, 7, &isnull));
		season_code = sk_get_text(0, 8);
	}

	/* a repeated client_order_id returns the first order, or is refused */
	if (client_order_id != NULL)
	{
		Datum		v[2] = {CStringGetTextDatum(uid), CStringGetTextDatum(client_order_id)};

		sk_exec(&s_existing, v, NULL, false, 1);
		if (SPI_processed == 1)
		{
			bool		limit_null;
			int64		old_limit = sk_get_int64(0, 8, &limit_null);
			bool		same = sk_get_int64(0, 2, NULL) == account_id &&
				strcmp(sk_get_text(0, 3), symbol) == 0 &&
				strcmp(sk_get_text(0, 4), side) == 0 &&
				strcmp(sk_get_text(0, 5), type) == 0 &&
				strcmp(sk_get_text(0, 6), tif) == 0 &&
				sk_get_int64(0, 7, NULL) == quantity &&
				(limit_null ? !has_limit : (has_limit && old_limit == limit_price));

			order_id = sk_get_int64(0, 1, NULL);
			if (!same)
				ereport(ERROR,
						(errcode(ERRCODE_SK_IDEMPOTENCY_CONFLICT),
						 errmsg("client_order_id \"%s\" was used for a different order", client_order_id),
						 errdetail("Order " INT64_FORMAT " has that client_order_id.", order_id)));
			result = order_json(order_id);
			SPI_finish();
			PG_RETURN_DATUM(result);
		}
	}

	if (strcmp(season_status, "OPEN") != 0 || isnull)
		ereport(ERROR,
				(errcode(ERRCODE_SK_SEASON_CLOSED),
				 errmsg("season %s is closed", season_code)));

	/* the instrument and its market's rules */
	{
		Datum		v[1] = {CStringGetTextDatum(symbol)};

		sk_exec(&s_instrument, v, NULL, false, 1);
		if (SPI_processed != 1)
			ereport(ERROR,
					(errcode(ERRCODE_NO_DATA_FOUND),
					 errmsg("unknown symbol \"%s\"", symbol)));
		market_code = sk_get_text(0, 1);
		if (strcmp(sk_get_text(0, 2), currency) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s trades in %s; season %s trades in %s", symbol, sk_get_text(0, 2), season_code,
							currency)));
		o.minor_units = (int) sk_get_int64(0, 3, NULL);
		o.fee_rate = sk_get_int64(0, 4, NULL);
		o.tax_rate = sk_get_int64(0, 5, NULL);
		if (quantity % sk_get_int64(0, 6, NULL) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("field \"quantity\" must be a multiple of the lot size " INT64_FORMAT,
							sk_get_int64(0, 6, NULL))));
	}
	if (has_limit)
	{
		Datum		v[2] = {CStringGetTextDatum(market_code), Int64GetDatum(limit_price)};
		int64		tick;

		sk_exec(&s_tick, v, NULL, false, 1);
		tick = SPI_processed == 1 ? sk_get_int64(0, 1, NULL) : 1;
		if (limit_price % tick != 0)
			ereport(ERROR,
					(errcode(ERRCODE_SK_OFF_TICK),
					 errmsg("limit price %s is not a multiple of the tick %s", format_micros(limit_price),
							format_micros(tick))));
	}

	/*
	 * Parent approval of trades (extension/family.c): once the order is
	 * known to be well formed, a family that asks for approval gets a trade
	 * request instead of an order.  NULL: go on.
	 */
	{
		static sk_stmt s_gate = {
			"SELECT stockking.trade_approval_gate($1, $2, $3, $4::uuid)", 4, {JSONBOID, I8, I4, T}
		};
		Datum		v[4] = {JsonbPGetDatum(args), Int64GetDatum(account_id), Int32GetDatum(season_id),
		CStringGetTextDatum(family_id)};
		bool		gate_null;
		Datum		gate;

		sk_exec(&s_gate, v, NULL, false, 1);
		gate = sk_get_datum(0, 1, &gate_null);
		if (!gate_null)
		{
			result = SPI_datumTransfer(gate, false, -1);
			SPI_finish();
			PG_RETURN_DATUM(result);
		}
	}

	o.account_id = account_id;
	o.family_id = family_id;
	o.user_id = pstrdup(uid);
	o.symbol = symbol;
	o.buy = buy;
	o.quantity = quantity;
	o.reserved_cash = 0;
	o.reserved_quantity = 0;

	if (market)
	{
		Datum		v[2] = {CStringGetTextDatum(symbol), DateADTGetDatum(clock)};

		sk_exec(&s_price, v, NULL, false, 1);
		if (SPI_processed != 1)
			ereport(ERROR,
					(errcode(ERRCODE_SK_NO_PRICE),
					 errmsg("%s has no price on or before %s", symbol, sk_date_iso(clock))));
		fill_price = sk_get_int64(0, 1, NULL);
		fill_date = DatumGetDateADT(sk_get_datum(0, 2, &isnull));
		if (buy)
		{
			int64		gross = sk_trade_value(quantity, fill_price, o.minor_units, SK_ROUND_HALF_UP);

			check_funds(gross + sk_apply_rate(gross, o.fee_rate, SK_ROUND_DOWN), cash - reserved_cash, &o, currency,
						"costs");
		}
		else
			check_holding(&o);
	}
	else if (buy)
	{
		/* a resting limit buy reserves what its fill can cost at most */
		int64		gross = sk_trade_value(quantity, limit_price, o.minor_units, SK_ROUND_UP);
		Datum		av[3];

		o.reserved_cash = gross + sk_apply_rate(gross, o.fee_rate, SK_ROUND_UP);
		check_funds(o.reserved_cash, cash - reserved_cash, &o, currency, "reserves");
		av[0] = Int64GetDatum(account_id);
		av[1] = Int64GetDatum(0);
		av[2] = Int64GetDatum(o.reserved_cash);
		sk_exec(&s_account_cash, av, NULL, false, 0);
	}
	else
	{
		/* a resting limit sell reserves its shares */
		Datum		rv[3] = {Int64GetDatum(account_id), CStringGetTextDatum(symbol), Int64GetDatum(quantity)};

		check_holding(&o);
		o.reserved_quantity = quantity;
		sk_exec(&s_holding_reserve, rv, NULL, false, 0);
	}

	{
		Datum		iv[14];
		char		nulls[14];

		memset(nulls, ' ', sizeof(nulls));
		iv[0] = CStringGetTextDatum(family_id);
		iv[1] = CStringGetTextDatum(uid);
		iv[2] = Int64GetDatum(account_id);
		iv[3] = Int32GetDatum(season_id);
		iv[4] = client_order_id ? CStringGetTextDatum(client_order_id) : (Datum) 0;
		nulls[4] = client_order_id ? ' ' : 'n';
		iv[5] = CStringGetTextDatum(symbol);
		iv[6] = CStringGetTextDatum(side);
		iv[7] = CStringGetTextDatum(type);
		iv[8] = CStringGetTextDatum(tif);
		iv[9] = Int64GetDatum(quantity);
		iv[10] = Int64GetDatum(limit_price);
		nulls[10] = has_limit ? ' ' : 'n';
		iv[11] = Int64GetDatum(o.reserved_cash);
		iv[12] = Int64GetDatum(o.reserved_quantity);
		iv[13] = DateADTGetDatum(clock);
		sk_exec(&s_order_insert, iv, nulls, false, 1);
		o.order_id = order_id = sk_get_int64(0, 1, NULL);
	}
	if (market)
		execute_fill(&o, fill_price, fill_date);

	result = order_json(order_id);
	SPI_finish();
	PG_RETURN_DATUM(result);
}

static sk_stmt s_cancel_find = {
	"SELECT o.account_id FROM stockking.orders o WHERE o.id = $1 AND o.user_id = $2::uuid",
	2, {I8, T}
};
static sk_stmt s_account_lock_only = {
	"SELECT 1 FROM stockking.account WHERE id = $1 FOR UPDATE",
	1, {I8}
};
static sk_stmt s_cancel_get = {
	"SELECT o.status, o.side, o.symbol, o.reserved_cash, o.reserved_quantity, o.family_id::text,"
	" o.quantity - o.filled_quantity FROM stockking.orders o WHERE o.id = $1",
	1, {I8}
};

/*
 * api.cancel_order(args jsonb) RETURNS jsonb
 *
 * Args: id.  Cancels the caller's open (NEW or PARTIALLY_FILLED) order and
 * gives back its reservation; any other state is SK004.
 */
Datum
stockking_cancel_order(PG_FUNCTION_ARGS)
{
	Jsonb	   *args = PG_GETARG_JSONB_P(0);
	const char *uid = sk_require_user();
	int64		order_id;
	order_ctx	o;
	char	   *status;
	Datum		result;

	sk_arg_int64(args, "id", true, &order_id);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	{
		Datum		v[2] = {Int64GetDatum(order_id), CStringGetTextDatum(uid)};

		sk_exec(&s_cancel_find, v, NULL, false, 1);
		if (SPI_processed != 1)
			ereport(ERROR,
					(errcode(ERRCODE_NO_DATA_FOUND),
					 errmsg("order " INT64_FORMAT " not found", order_id)));
		o.account_id = sk_get_int64(0, 1, NULL);
	}
	{
		Datum		v[1] = {Int64GetDatum(o.account_id)};

		sk_exec(&s_account_lock_only, v, NULL, false, 1);
	}
	{
		Datum		v[1] = {Int64GetDatum(order_id)};

		/* read again under the lock: a fill may have come first */
		sk_exec(&s_cancel_get, v, NULL, false, 1);
		status = sk_get_text(0, 1);
		o.order_id = order_id;
		o.buy = strcmp(sk_get_text(0, 2), "BUY") == 0;
		o.symbol = sk_get_text(0, 3);
		o.reserved_cash = sk_get_int64(0, 4, NULL);
		o.reserved_quantity = sk_get_int64(0, 5, NULL);
		o.family_id = sk_get_text(0, 6);
		o.quantity = sk_get_int64(0, 7, NULL);
		o.user_id = pstrdup(uid);
	}
	if (strcmp(status, "NEW") != 0 && strcmp(status, "PARTIALLY_FILLED") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_SK_ORDER_NOT_OPEN),
				 errmsg("order " INT64_FORMAT " is %s and cannot be canceled", order_id, status)));
	release_order(&o, "CANCELED", "canceled by the user");
	result = order_json(order_id);
	SPI_finish();
	PG_RETURN_DATUM(result);
}

static sk_stmt s_season_lock = {
	"SELECT pg_advisory_xact_lock(" CppAsString2(SEASON_LOCK_CLASS) ", $1)",
	1, {I4}
};
static sk_stmt s_season_get = {
	"SELECT mode, status, calendar_symbol, clock_date, code FROM stockking.season WHERE id = $1 FOR UPDATE",
	1, {I4}
};
static sk_stmt s_next_bars = {
	"SELECT bar_date FROM stockking.price_bar WHERE symbol = $1 AND bar_date > $2 ORDER BY bar_date LIMIT $3",
	3, {T, D, I4}
};
static sk_stmt s_set_clock = {
	"UPDATE stockking.season SET clock_date = $2 WHERE id = $1",
	2, {I4, D}
};

/*
 * Open limit orders of a season with their first bar in (from, to] that
 * came after the order was placed, ordered by account so that account locks
 * are taken in one order.
 */
static sk_stmt s_match = {
	"SELECT o.id, o.account_id, o.family_id::text, o.user_id::text, o.symbol, o.side, o.time_in_force,"
	" o.quantity - o.filled_quantity, (o.limit_price * 1000000)::bigint, o.reserved_cash, o.reserved_quantity,"
	" (b.open * 1000000)::bigint, (b.high * 1000000)::bigint, (b.low * 1000000)::bigint, b.bar_date,"
	" m.minor_units, (m.fee_rate * 1000000)::bigint, (m.sell_tax_rate * 1000000)::bigint"
	" FROM stockking.orders o"
	" JOIN stockking.instrument i ON i.symbol = o.symbol JOIN stockking.market m ON m.code = i.market"
	" CROSS JOIN LATERAL (SELECT * FROM stockking.price_bar pb WHERE pb.symbol = o.symbol"
	"   AND pb.bar_date > greatest($2, o.placed_bar_date) AND pb.bar_date <= $3 ORDER BY pb.bar_date LIMIT 1) b"
	" WHERE o.season_id = $1 AND o.status IN ('NEW', 'PARTIALLY_FILLED') AND o.order_type = 'LIMIT'"
	" ORDER BY o.account_id, o.id",
	3, {I4, D, D}
};

typedef struct match_row
{
	order_ctx	o;
	bool		day;
	int64		limit_price;
	int64		open;
	int64		high;
	int64		low;
	DateADT		bar_date;
} match_row;

/*
 * Match the season's open limit orders against the bars in (from, to]:
 * a buy fills when the bar's low reaches its limit, at the limit or at the
 * open when the bar opens below it; a sell likewise with the high.  A DAY
 * order that its first later bar does not reach expires.  Returns the
 * number of fills; *expired counts expiries.
 */
static int64
match_orders(int32 season_id, DateADT from, DateADT to, int64 *expired)
{
	Datum		v[3] = {Int32GetDatum(season_id), DateADTGetDatum(from), DateADTGetDatum(to)};
	uint64		n;
	match_row  *rows;
	int64		fills = 0;
	int64		last_locked = -1;

	sk_exec(&s_match, v, NULL, false, 0);
	n = SPI_processed;
	if (n == 0)
		return 0;
	rows = palloc(sizeof(match_row) * n);
	for (uint64 i = 0; i < n; i++)
	{
		match_row  *r = &rows[i];
		bool		isnull;

		r->o.order_id = sk_get_int64(i, 1, NULL);
		r->o.account_id = sk_get_int64(i, 2, NULL);
		r->o.family_id = sk_get_text(i, 3);
		r->o.user_id = sk_get_text(i, 4);
		r->o.symbol = sk_get_text(i, 5);
		r->o.buy = strcmp(sk_get_text(i, 6), "BUY") == 0;
		r->day = strcmp(sk_get_text(i, 7), "DAY") == 0;
		r->o.quantity = sk_get_int64(i, 8, NULL);
		r->limit_price = sk_get_int64(i, 9, NULL);
		r->o.reserved_cash = sk_get_int64(i, 10, NULL);
		r->o.reserved_quantity = sk_get_int64(i, 11, NULL);
		r->open = sk_get_int64(i, 12, NULL);
		r->high = sk_get_int64(i, 13, NULL);
		r->low = sk_get_int64(i, 14, NULL);
		r->bar_date = DatumGetDateADT(sk_get_datum(i, 15, &isnull));
		r->o.minor_units = (int) sk_get_int64(i, 16, NULL);
		r->o.fee_rate = sk_get_int64(i, 17, NULL);
		r->o.tax_rate = sk_get_int64(i, 18, NULL);
	}

	for (uint64 i = 0; i < n; i++)
	{
		match_row  *r = &rows[i];
		bool		reached = r->o.buy ? r->low <= r->limit_price : r->high >= r->limit_price;

		if (!reached && !r->day)
			continue;
		if (r->o.account_id != last_locked)
		{
			Datum		av[1] = {Int64GetDatum(r->o.account_id)};

			sk_exec(&s_account_lock_only, av, NULL, false, 1);
			last_locked = r->o.account_id;
		}
		if (reached)
		{
			int64		price;

			if (r->o.buy)
				price = r->open < r->limit_price ? r->open : r->limit_price;
			else
				price = r->open > r->limit_price ? r->open : r->limit_price;
			execute_fill(&r->o, price, r->bar_date);
			fills++;
		}
		else
		{
			release_order(&r->o, "EXPIRED", "DAY order: the next session did not reach the limit price");
			(*expired)++;
		}
	}
	return fills;
}

/*
 * api.advance_clock(season_id integer, bars integer) RETURNS jsonb
 *
 * Moves a REPLAY season's clock forward by that many bars of its calendar
 * instrument, matching resting limit orders bar by bar.  ADMIN or superuser
 * only.  Stops early at the end of the data (at_end true); SK012 when the
 * clock is already there.
 */
Datum
stockking_advance_clock(PG_FUNCTION_ARGS)
{
	int32		season_id = PG_GETARG_INT32(0);
	int32		bars = PG_GETARG_INT32(1);
	char	   *calendar;
	char	   *code;
	DateADT		clock;
	DateADT    *dates;
	uint64		n;
	int64		fills = 0;
	int64		expired = 0;
	bool		isnull;
	StringInfoData buf;

	if (!sk_is_admin())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("only an ADMIN user or a superuser may advance a season's clock")));
	if (bars < 1 || bars > MAX_ADVANCE_BARS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("bars must be between 1 and %d", MAX_ADVANCE_BARS)));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	{
		Datum		v[1] = {Int32GetDatum(season_id)};

		sk_exec(&s_season_lock, v, NULL, false, 0);
		sk_exec(&s_season_get, v, NULL, false, 1);
	}
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("season %d does not exist", season_id)));
	code = sk_get_text(0, 5);
	if (strcmp(sk_get_text(0, 1), "REPLAY") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("season %s is LIVE: its clock follows the calendar", code)));
	if (strcmp(sk_get_text(0, 2), "OPEN") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_SK_SEASON_CLOSED),
				 errmsg("season %s is closed", code)));
	calendar = sk_get_text(0, 3);
	clock = DatumGetDateADT(sk_get_datum(0, 4, &isnull));

	{
		Datum		v[3] = {CStringGetTextDatum(calendar), DateADTGetDatum(clock), Int32GetDatum(bars)};

		sk_exec(&s_next_bars, v, NULL, false, 0);
	}
	n = SPI_processed;
	if (n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_SK_CLOCK_AT_END),
				 errmsg("season %s is at the last bar of its data", code)));
	dates = palloc(sizeof(DateADT) * n);
	for (uint64 i = 0; i < n; i++)
		dates[i] = DatumGetDateADT(sk_get_datum(i, 1, &isnull));

	for (uint64 i = 0; i < n; i++)
	{
		fills += match_orders(season_id, clock, dates[i], &expired);
		clock = dates[i];
	}
	{
		Datum		v[2] = {Int32GetDatum(season_id), DateADTGetDatum(clock)};

		sk_exec(&s_set_clock, v, NULL, false, 0);
	}

	SPI_finish();

	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"season_id\": %d, \"clock\": \"%s\", \"bars_advanced\": " UINT64_FORMAT
					 ", \"fills\": " INT64_FORMAT ", \"expired\": " INT64_FORMAT ", \"at_end\": %s}",
					 season_id, sk_date_iso(clock), n, fills,
					 expired, n < (uint64) bars ? "true" : "false");
	PG_RETURN_DATUM(sk_jsonb_from_buf(&buf));
}
