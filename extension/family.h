/*
 * family.h
 *	  Declarations shared by the family, allowance, missions and snapshots
 *	  parts of the stockking extension: their SQLSTATEs (class SK, numbers
 *	  200-299), the account valuation with its time-weighted return index,
 *	  the level curve, and small SPI helpers.
 */
#ifndef STOCKKING_FAMILY_H
#define STOCKKING_FAMILY_H

#include "stockking.h"

/*
 * SQLSTATEs.  Their HTTP statuses are in stockking.error_code, inserted by
 * sql/60_family.sql, sql/70_allowance.sql and sql/80_gamification.sql.
 */
#ifndef ERRCODE_SK_NOT_A_CHILD
#define ERRCODE_SK_NOT_A_CHILD			MAKE_SQLSTATE('S','K','0','0','9')	/* 403 */
#endif
#ifndef ERRCODE_SK_NO_ACCOUNT
#define ERRCODE_SK_NO_ACCOUNT			MAKE_SQLSTATE('S','K','0','1','0')	/* 404 */
#endif
#define ERRCODE_SK_LINK_CODE_UNKNOWN	MAKE_SQLSTATE('S','K','2','0','1')	/* 404 */
#define ERRCODE_SK_ALREADY_LINKED		MAKE_SQLSTATE('S','K','2','0','2')	/* 409 */
#define ERRCODE_SK_APPROVAL_REQUIRED	MAKE_SQLSTATE('S','K','2','1','0')	/* 422 */
#define ERRCODE_SK_TRADE_DECIDED		MAKE_SQLSTATE('S','K','2','1','1')	/* 409 */
#define ERRCODE_SK_GOAL_INACTIVE		MAKE_SQLSTATE('S','K','2','2','0')	/* 409 */
#define ERRCODE_SK_GOAL_NOT_MET			MAKE_SQLSTATE('S','K','2','2','1')	/* 422 */
#define ERRCODE_SK_MONTHLY_COUNT		MAKE_SQLSTATE('S','K','2','2','2')	/* 422 */
#define ERRCODE_SK_MONTHLY_LIMIT		MAKE_SQLSTATE('S','K','2','2','3')	/* 422 */
#define ERRCODE_SK_REQUEST_PENDING		MAKE_SQLSTATE('S','K','2','2','4')	/* 409 */
#define ERRCODE_SK_REQUEST_DECIDED		MAKE_SQLSTATE('S','K','2','2','5')	/* 409 */
#define ERRCODE_SK_PAYMENT_NOT_RETRYABLE MAKE_SQLSTATE('S','K','2','2','6')	/* 409 */
#define ERRCODE_SK_MISSION_NOT_DONE		MAKE_SQLSTATE('S','K','2','4','0')	/* 409 */
#define ERRCODE_SK_REWARD_CLAIMED		MAKE_SQLSTATE('S','K','2','4','1')	/* 409 */

/* the time-weighted return index is kept with 12 decimals */
#define SK_INDEX_SCALE INT64CONST(1000000000000)

/*
 * An account valued now (snapshots.c): at its season's clock, with the
 * current time-weighted return index (x SK_INDEX_SCALE).
 */
typedef struct sk_position
{
	int64		account_id;
	int32		season_id;
	DateADT		clock;
	bool		clock_null;
	char	   *currency;
	int			minor_units;
	int64		cash;
	int64		market_value;
	int64		total_value;
	int64		net_contribution;
	int64		twr_index;
} sk_position;

/* value an account (visible to the caller; P0002 otherwise); SPI connected */
extern void sk_account_now(int64 account_id, sk_position *pos);

/* the next index: index x (value - flow) / prev_value (first link: index x value / flow), half up */
extern int64 sk_twr_link(int64 index, int64 prev_value, int64 flow, int64 value);

/* numeric <-> int64 scaled by 10^scale (scale <= 12; the numeric must have no more decimals) */
extern int64 sk_numeric_scaled(Datum numeric, int scale);
extern Datum sk_scaled_numeric(int64 value, int scale);
extern void sk_append_scaled(StringInfo buf, int64 value, int scale);

/* The level curve (missions.c): level L starts at 50 x L x (L - 1) XP */
extern int32 sk_level_for_xp(int64 xp);
extern int64 sk_xp_for_level(int32 level);

/*
 * A child's progress in one call (missions.c), SPI connected: start it,
 * award badges (once each), advance missions of the day or week (each
 * completes once per period at its target), add XP of one's own to xp, then
 * finish: the XP earned is added in one update and a level reached is
 * announced.  Used by the trade triggers and by education.c.
 */
typedef struct sk_progress
{
	const char *user_id;
	const char *family_id;
	Datum		day;			/* today in Asia/Seoul: daily missions' period */
	Datum		week;			/* this week's Monday: weekly missions' period */
	int64		xp;				/* earned in this call */
} sk_progress;

extern void sk_progress_start(sk_progress *c, const char *user_id, const char *family_id);
extern void sk_progress_badge(sk_progress *c, const char *badge);
/* add value to a mission's progress (add), or raise it to value (!add) */
extern void sk_progress_advance(sk_progress *c, const char *mission, Datum period_start, int32 value, bool add);
extern void sk_progress_finish(sk_progress *c);

/*
 * Game-money rewards (missions.c): the caller's account named by args
 * (season_id, or the default account) locked FOR UPDATE (SK010 when there
 * is none); the reward in its currency (won for KRW, cents for USD; 22023
 * in another: what names the payer); and the credit, a REWARD entry of the
 * cash ledger that is a contribution, so no return counts it.
 */
typedef struct sk_reward_account
{
	int64		account_id;
	char	   *currency;
	Datum		clock;			/* the season's clock: the entry's market_date */
	bool		clock_null;
} sk_reward_account;

extern void sk_reward_account_lock(Jsonb *args, sk_reward_account *a);
extern int64 sk_reward_amount(const sk_reward_account *a, int64 krw, int64 usd_cents, const char *what);
extern void sk_reward_credit(const sk_reward_account *a, int64 amount);

/* SPI helpers (family.c) */
/* write an event to the outbox (stockking.emit_event); payload is JSON text */
extern void sk_emit(const char *user_id, const char *family_id, const char *audience, const char *type,
					const char *payload);

#endif							/* STOCKKING_FAMILY_H */
