/*
 * stockking.c
 *	  The stockking extension's module: mock trading on real prices,
 *	  allowance rules, missions and the ledger parser, as C functions of
 *	  PostgreSQL.  One file per domain: money.c (exact arithmetic and its
 *	  rounding rules), args.c (api arguments, identity, SPI), market.c
 *	  (market data loading and quotes), trade.c (orders, fills, the replay
 *	  clock), returns.c (valuation and returns).
 */
#include "postgres.h"

#include "fmgr.h"

PG_MODULE_MAGIC;
