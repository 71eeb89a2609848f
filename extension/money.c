/*
 * money.c
 *	  Exact money arithmetic and its rounding rules.
 *
 * The rules, applied wherever money is computed:
 *	- trade value (gross) = quantity x price, rounded half up to the minor
 *	  unit (a cent, a won);
 *	- commission and sell-side tax = gross x rate, truncated to the minor
 *	  unit (the "원 미만 절사" practice of Korean brokers' fee schedules);
 *	- the cash a limit buy reserves = quantity x limit price rounded up, plus
 *	  its commission rounded up, so the reservation always covers the fill;
 *	- a sell takes cost_basis x sold / held (rounded half up) out of the
 *	  holding's cost basis (average-cost method); the last share takes the
 *	  rest;
 *	- ratios (returns) are rounded half up to six decimals.
 */
#include "stockking.h"

#include "utils/builtins.h"

static const int64 pow10_table[] = {1, 10, 100, 1000, 10000, 100000, 1000000};

static int64
divide_rounded(int128 numerator, int128 denominator, sk_rounding mode)
{
	int128		quotient;
	int128		remainder;
	bool		negative;

	Assert(denominator > 0);
	negative = numerator < 0;
	if (negative)
		numerator = -numerator;
	quotient = numerator / denominator;
	remainder = numerator % denominator;
	switch (mode)
	{
		case SK_ROUND_HALF_UP:
			if (remainder * 2 >= denominator)
				quotient++;
			break;
		case SK_ROUND_UP:
			if (remainder != 0)
				quotient++;
			break;
		case SK_ROUND_DOWN:
			break;
	}
	if (negative)
		quotient = -quotient;
	if (quotient > PG_INT64_MAX || quotient < PG_INT64_MIN)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("amount out of range")));
	return (int64) quotient;
}

int64
sk_trade_value(int64 quantity, int64 price_micros, int minor_units, sk_rounding mode)
{
	Assert(minor_units >= 0 && minor_units <= 6);
	return divide_rounded((int128) quantity * price_micros, pow10_table[6 - minor_units], mode);
}

int64
sk_apply_rate(int64 amount, int64 rate_micros, sk_rounding mode)
{
	return divide_rounded((int128) amount * rate_micros, SK_MICRO, mode);
}

int64
sk_ratio_micros(int64 numerator, int64 denominator)
{
	if (denominator == 0)
		return 0;
	if (denominator < 0)
	{
		numerator = -numerator;
		denominator = -denominator;
	}
	return divide_rounded((int128) numerator * SK_MICRO, denominator, SK_ROUND_HALF_UP);
}

/*
 * Append "value / 10^scale" as a JSON number with exactly "decimals" digits
 * after the point (scale >= decimals; the dropped digits are rounded half up).
 */
static void
append_scaled(StringInfo buf, int64 value, int scale, int decimals)
{
	int64		whole;
	int64		frac;
	uint64		magnitude;

	if (scale > decimals)
	{
		value = divide_rounded(value, pow10_table[scale - decimals], SK_ROUND_HALF_UP);
		scale = decimals;
	}
	if (value < 0)
		appendStringInfoChar(buf, '-');
	magnitude = value < 0 ? -(uint64) value : (uint64) value;
	if (scale == 0)
	{
		appendStringInfo(buf, UINT64_FORMAT, magnitude);
		return;
	}
	whole = magnitude / pow10_table[scale];
	frac = magnitude % pow10_table[scale];
	appendStringInfo(buf, INT64_FORMAT ".%0*" INT64_MODIFIER "d", whole, scale, frac);
}

void
sk_append_money(StringInfo buf, int64 minor, int minor_units)
{
	append_scaled(buf, minor, minor_units, minor_units);
}

void
sk_append_micros(StringInfo buf, int64 micros, int decimals)
{
	append_scaled(buf, micros, 6, decimals);
}
