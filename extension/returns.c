/*
 * returns.c
 *	  Portfolio valuation and simple returns at the season's clock.
 *
 * Every holding is valued at the close of its latest bar at or before the
 * season's clock: market value = quantity x close rounded half up to the
 * minor unit.  Unrealized P&L = market value - cost basis (buy fees
 * included); a holding's return = unrealized P&L / cost basis.  The
 * portfolio's simple return = (total value - net contribution) / net
 * contribution, where total value = cash + market value and the net
 * contribution is the money put in (starting cash, rewards, deposits) rather
 * than earned.  Ratios have six decimals; *_pct fields are the same ratios
 * in percent with four.
 */
#include "stockking.h"

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/json.h"

PG_FUNCTION_INFO_V1(stockking_get_portfolio);
PG_FUNCTION_INFO_V1(stockking_get_holdings);
PG_FUNCTION_INFO_V1(stockking_resolve_account);

static sk_stmt s_account = {
	"SELECT a.id, a.season_id, a.currency::text, a.cash, a.reserved_cash, a.net_contribution,"
	" stockking.season_clock(a.season_id), s.name,"
	" (SELECT m.minor_units FROM stockking.market m WHERE m.currency = a.currency LIMIT 1)"
	" FROM stockking.account a JOIN stockking.season s ON s.id = a.season_id WHERE a.id = stockking.resolve_account($1)",
	1, {JSONBOID}
};
static sk_stmt s_holdings = {
	"SELECT h.symbol, i.name, h.quantity, h.reserved_quantity, h.cost_basis, h.realized_pnl,"
	" (b.close * 1000000)::bigint, b.bar_date"
	" FROM stockking.holding h JOIN stockking.instrument i ON i.symbol = h.symbol"
	" LEFT JOIN LATERAL stockking.bar_at(h.symbol, $2) b ON true"
	" WHERE h.account_id = $1 ORDER BY h.symbol",
	2, {INT8OID, DATEOID}
};

static void
append_ratio(StringInfo buf, const char *name, int64 ratio_micros)
{
	appendStringInfo(buf, ", \"%s\": ", name);
	sk_append_micros(buf, ratio_micros, 6);
	appendStringInfo(buf, ", \"%s_pct\": ", name);
	sk_append_micros(buf, ratio_micros * 100, 4);
}

static void
append_money(StringInfo buf, const char *name, int64 minor, int minor_units)
{
	appendStringInfo(buf, ", \"%s\": ", name);
	sk_append_money(buf, minor, minor_units);
}

/*
 * Value the account named by args (season_id or the default account) and
 * return its JSON; with_summary false gives the holdings list only.
 */
static Datum
value_account(Jsonb *args, bool with_summary)
{
	Datum		v[1] = {JsonbPGetDatum(args)};
	int64		account_id;
	int32		season_id;
	char	   *currency;
	char	   *season_name;
	int64		cash;
	int64		reserved_cash;
	int64		net_contribution;
	DateADT		clock;
	bool		clock_null;
	int			minor_units;
	int64		minor_scale = 1;
	int64		market_value = 0;
	int64		cost_total = 0;
	int64		realized_total = 0;
	StringInfoData items;
	StringInfoData out;
	bool		first = true;

	sk_require_user();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	sk_exec(&s_account, v, NULL, true, 1);
	account_id = sk_get_int64(0, 1, NULL);
	season_id = (int32) sk_get_int64(0, 2, NULL);
	currency = sk_get_text(0, 3);
	cash = sk_get_int64(0, 4, NULL);
	reserved_cash = sk_get_int64(0, 5, NULL);
	net_contribution = sk_get_int64(0, 6, NULL);
	clock = DatumGetDateADT(sk_get_datum(0, 7, &clock_null));
	season_name = sk_get_text(0, 8);
	minor_units = (int) sk_get_int64(0, 9, NULL);
	for (int i = 0; i < minor_units; i++)
		minor_scale *= 10;

	initStringInfo(&items);
	{
		Datum		hv[2] = {Int64GetDatum(account_id), DateADTGetDatum(clock)};
		char		nulls[2] = {' ', clock_null ? 'n' : ' '};

		sk_exec(&s_holdings, hv, nulls, true, 0);
	}
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		int64		quantity = sk_get_int64(i, 3, NULL);
		int64		cost_basis = sk_get_int64(i, 5, NULL);
		int64		realized = sk_get_int64(i, 6, NULL);
		bool		no_price;
		int64		price = sk_get_int64(i, 7, &no_price);
		int64		value = no_price ? 0 : sk_trade_value(quantity, price, minor_units, SK_ROUND_HALF_UP);

		realized_total += realized;
		if (quantity == 0)
			continue;			/* closed positions count only through realized P&L */
		market_value += value;
		cost_total += cost_basis;

		appendStringInfoString(&items, first ? "" : ", ");
		first = false;
		appendStringInfoString(&items, "{\"symbol\": ");
		escape_json(&items, sk_get_text(i, 1));
		appendStringInfoString(&items, ", \"name\": ");
		escape_json(&items, sk_get_text(i, 2));
		appendStringInfo(&items, ", \"quantity\": " INT64_FORMAT ", \"reserved_quantity\": " INT64_FORMAT,
						 quantity, sk_get_int64(i, 4, NULL));
		appendStringInfoString(&items, ", \"average_cost\": ");
		/* cost basis per share, in major units with six decimals */
		sk_append_micros(&items, sk_ratio_micros(cost_basis, quantity) / minor_scale, 6);
		append_money(&items, "cost_basis", cost_basis, minor_units);
		if (no_price)
			appendStringInfoString(&items, ", \"current_price\": null, \"price_date\": null");
		else
		{
			bool		null_date;

			appendStringInfoString(&items, ", \"current_price\": ");
			sk_append_micros(&items, price, 6);
			appendStringInfo(&items, ", \"price_date\": \"%s\"",
							 sk_date_iso(DatumGetDateADT(sk_get_datum(i, 8, &null_date))));
		}
		append_money(&items, "market_value", value, minor_units);
		append_money(&items, "unrealized_pnl", value - cost_basis, minor_units);
		append_ratio(&items, "unrealized_return", sk_ratio_micros(value - cost_basis, cost_basis));
		append_money(&items, "realized_pnl", realized, minor_units);
		appendStringInfoChar(&items, '}');
	}

	initStringInfo(&out);
	if (with_summary)
	{
		int64		total = cash + market_value;

		appendStringInfo(&out, "{\"account_id\": " INT64_FORMAT ", \"season_id\": %d, \"season\": ", account_id,
						 season_id);
		escape_json(&out, season_name);
		appendStringInfo(&out, ", \"currency\": \"%s\"", currency);
		if (clock_null)
			appendStringInfoString(&out, ", \"clock\": null");
		else
			appendStringInfo(&out, ", \"clock\": \"%s\"", sk_date_iso(clock));
		append_money(&out, "cash", cash, minor_units);
		append_money(&out, "reserved_cash", reserved_cash, minor_units);
		append_money(&out, "available_cash", cash - reserved_cash, minor_units);
		append_money(&out, "market_value", market_value, minor_units);
		append_money(&out, "total_value", total, minor_units);
		append_money(&out, "net_contribution", net_contribution, minor_units);
		append_money(&out, "profit", total - net_contribution, minor_units);
		append_ratio(&out, "simple_return", sk_ratio_micros(total - net_contribution, net_contribution));
		append_money(&out, "unrealized_pnl", market_value - cost_total, minor_units);
		append_money(&out, "realized_pnl", realized_total, minor_units);
		appendStringInfo(&out, ", \"holdings\": [%s]}", items.data);
	}
	else
		appendStringInfo(&out, "{\"account_id\": " INT64_FORMAT ", \"currency\": \"%s\", \"items\": [%s]}",
						 account_id, currency, items.data);

	{
		Datum		result = sk_jsonb_from_buf(&out);

		result = SPI_datumTransfer(result, false, -1);
		SPI_finish();
		return result;
	}
}

/*
 * api.get_portfolio(args jsonb) RETURNS jsonb: cash, market value, total
 * value, net contribution, profit, simple return and the holdings of the
 * caller's account in args.season_id (or the default account).
 */
Datum
stockking_get_portfolio(PG_FUNCTION_ARGS)
{
	PG_RETURN_DATUM(value_account(PG_GETARG_JSONB_P(0), true));
}

/* api.get_holdings(args jsonb) RETURNS jsonb: the holdings only */
Datum
stockking_get_holdings(PG_FUNCTION_ARGS)
{
	PG_RETURN_DATUM(value_account(PG_GETARG_JSONB_P(0), false));
}

static sk_stmt s_default_account = {
	"SELECT default_account_id FROM stockking.users WHERE id = $1::uuid",
	1, {TEXTOID}
};
static sk_stmt s_season_account = {
	"SELECT id FROM stockking.account WHERE user_id = $1::uuid AND season_id = $2",
	2, {TEXTOID, INT8OID}
};

/*
 * stockking.resolve_account(args jsonb) RETURNS bigint: the account a
 * trading call acts on -- the caller's account in args.season_id, or their
 * default account (the season joined last).  SK010 when there is none.
 */
Datum
stockking_resolve_account(PG_FUNCTION_ARGS)
{
	Jsonb	   *args = PG_GETARG_JSONB_P(0);
	const char *uid = sk_require_user();
	int64		season_id;
	bool		has_season = sk_arg_int64(args, "season_id", false, &season_id);
	bool		isnull = true;
	int64		account_id = 0;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (has_season)
	{
		Datum		v[2] = {CStringGetTextDatum(uid), Int64GetDatum(season_id)};

		sk_exec(&s_season_account, v, NULL, true, 1);
	}
	else
	{
		Datum		v[1] = {CStringGetTextDatum(uid)};

		sk_exec(&s_default_account, v, NULL, true, 1);
	}
	if (SPI_processed == 1)
		account_id = sk_get_int64(0, 1, &isnull);
	SPI_finish();
	if (isnull)
	{
		if (has_season)
			ereport(ERROR,
					(errcode(ERRCODE_SK_NO_ACCOUNT),
					 errmsg("no account in season " INT64_FORMAT, season_id),
					 errhint("Join a season first: POST /v1/seasons/:id/join.")));
		ereport(ERROR,
				(errcode(ERRCODE_SK_NO_ACCOUNT),
				 errmsg("no account in any season"),
				 errhint("Join a season first: POST /v1/seasons/:id/join.")));
	}
	PG_RETURN_INT64(account_id);
}
