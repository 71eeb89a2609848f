/*
 * stockking.c
 *	  The stockking extension's module: mock trading on real prices,
 *	  allowance rules, missions, the ledger parser and learning, as C
 *	  functions of PostgreSQL.  One file per domain:
 *	    money.c          exact arithmetic and its rounding rules
 *	    args.c           api arguments, SPI statements, dates
 *	    identity.c       request identity and the row-level-security predicates
 *	    market.c         market data loading and quotes
 *	    trade.c          orders, fills, the replay clock and limit matching
 *	    returns.c        valuation and simple returns
 *	    family.c         family links, trade approval
 *	    snapshots.c      daily snapshots and the time-weighted return index
 *	    allowance.c      allowance goals, requests, payments
 *	    missions.c       missions, badges, XP and levels (the fill trigger)
 *	    ledger_parse.c   the Korean pocket-money sentence parser
 *	    ledger_import.c  bank and card CSV imports
 *	    jsondoc.c        content files in JSON, read with their line numbers
 *	    education.c      courses, lessons, quizzes, certificates, the market quiz
 *	    news.c           economy news feeds (JSON Feed 1.1)
 *	    restore.c        knowing that a dump is being restored
 */
#include "postgres.h"

#include "fmgr.h"

#include "stockking.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/* Module load: the settings and callbacks of the request identity */
void
_PG_init(void)
{
	sk_identity_init();
}
