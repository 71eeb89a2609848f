/*
 * market.h
 *	  Market data: price bars of instruments, as the trading engine reads
 *	  them from C (market.c).
 */
#ifndef MARKET_H
#define MARKET_H

#include "postgres.h"

#include "utils/date.h"

/*
 * One price bar.  Prices are int64 micro-units of the instrument's currency
 * (six decimals, the scale of the numeric(20,6) price columns and of
 * money.c); volume is in shares and absent for monthly bars.
 */
typedef struct sk_bar
{
	DateADT		bar_date;		/* the day the bar's close is known */
	int64		open;
	int64		high;
	int64		low;
	int64		close;
	int64		volume;
	bool		volume_null;
} sk_bar;

/*
 * The latest bar of symbol (exact, upper case) with bar_date <= d, read by
 * a backward scan of price_bar's primary key index in the active snapshot.
 * Returns false when there is none.  The caller needs SELECT on
 * stockking.price_bar.
 */
extern bool sk_bar_at(const char *symbol, DateADT d, sk_bar *bar);

#endif							/* MARKET_H */
