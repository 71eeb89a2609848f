/*
 * stockking.h
 *	  Shared declarations of the stockking extension: project SQLSTATEs,
 *	  exact money arithmetic, jsonb argument readers, request identity and
 *	  prepared SPI statements.
 */
#ifndef STOCKKING_H
#define STOCKKING_H

#include "postgres.h"

#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "utils/date.h"
#include "utils/jsonb.h"

/*
 * Project SQLSTATEs (class SK).  Their HTTP statuses are in the table
 * stockking.error_code (sql/00_base.sql); keep both in step.
 */
#define ERRCODE_SK_INSUFFICIENT_FUNDS	MAKE_SQLSTATE('S','K','0','0','1')	/* 422 */
#define ERRCODE_SK_INSUFFICIENT_HOLDING MAKE_SQLSTATE('S','K','0','0','2')	/* 422 */
#define ERRCODE_SK_IDEMPOTENCY_CONFLICT MAKE_SQLSTATE('S','K','0','0','3')	/* 409 */
#define ERRCODE_SK_ORDER_NOT_OPEN		MAKE_SQLSTATE('S','K','0','0','4')	/* 409 */
#define ERRCODE_SK_SEASON_CLOSED		MAKE_SQLSTATE('S','K','0','0','5')	/* 409 */
#define ERRCODE_SK_NO_PRICE				MAKE_SQLSTATE('S','K','0','0','6')	/* 422 */
#define ERRCODE_SK_OFF_TICK				MAKE_SQLSTATE('S','K','0','0','7')	/* 400 */
#define ERRCODE_SK_NO_ACCOUNT			MAKE_SQLSTATE('S','K','0','1','0')	/* 404 */
#define ERRCODE_SK_BAD_MARKET_DATA		MAKE_SQLSTATE('S','K','0','1','1')	/* 400 */
#define ERRCODE_SK_CLOCK_AT_END			MAKE_SQLSTATE('S','K','0','1','2')	/* 409 */

/*
 * Money (money.c).  Amounts are int64 minor units of a currency (won,
 * cents); prices and rates are int64 micro-units (six decimals), the scale
 * of the numeric(20,6) price columns.  Products are formed in 128 bits, so
 * nothing overflows before the final range check.
 */
#define SK_MICRO 1000000

typedef enum sk_rounding
{
	SK_ROUND_HALF_UP,			/* nearest, halves away from zero */
	SK_ROUND_DOWN,				/* toward zero (truncate) */
	SK_ROUND_UP					/* away from zero */
} sk_rounding;

/* quantity x price, in minor units of a currency with minor_units decimals */
extern int64 sk_trade_value(int64 quantity, int64 price_micros, int minor_units, sk_rounding mode);

/* amount x rate (rate in micro-units: 0.25% = 2500), in the amount's units */
extern int64 sk_apply_rate(int64 amount, int64 rate_micros, sk_rounding mode);

/* numerator / denominator as a micro-unit ratio, rounded half up; 0 when denominator is 0 */
extern int64 sk_ratio_micros(int64 numerator, int64 denominator);

/* JSON number text of minor units, of a price or ratio in micro-units, of a percent */
extern void sk_append_money(StringInfo buf, int64 minor, int minor_units);
extern void sk_append_micros(StringInfo buf, int64 micros, int decimals);

/*
 * Arguments (args.c).  api functions take one jsonb object.  Each reader
 * returns false when the key is absent or JSON null and not required, and
 * raises 22023 naming the key otherwise.
 */
extern bool sk_arg_text(Jsonb *args, const char *key, bool required, char **out);
extern bool sk_arg_int64(Jsonb *args, const char *key, bool required, int64 *out);
extern bool sk_arg_micros(Jsonb *args, const char *key, bool required, int64 *out);

/*
 * Request identity (identity.c): the caller's user id as text (raises 28000
 * when anonymous), ADMIN, the role (CHILD, PARENT, ADMIN; "" when
 * anonymous).  sk_act_as() makes the rest of the (sub)transaction, until
 * sk_act_done(), run as another user: the extension's own code acting for a
 * child it has checked the caller may act for.
 */
extern void sk_identity_init(void);
extern const char *sk_current_user(void);	/* NULL when anonymous */
extern const char *sk_require_user(void);
extern bool sk_is_admin(void);
extern const char *sk_request_role(void);
extern void sk_act_as(const char *user_id, const char *role);
extern void sk_act_done(void);

/* A COPY is loading rows as they were dumped (restore.c) */
extern bool sk_restoring(void);

/* Prepared SPI statements, planned once per backend and kept */
typedef struct sk_stmt
{
	const char *sql;
	int			nargs;
	Oid			argtypes[16];
	SPIPlanPtr	plan;
} sk_stmt;

extern int	sk_exec(sk_stmt *stmt, Datum *values, const char *nulls, bool read_only, long count);
extern int64 sk_get_int64(int row, int col, bool *isnull);
extern char *sk_get_text(int row, int col);
extern Datum sk_get_datum(int row, int col, bool *isnull);

/* a date as ISO 8601 text (YYYY-MM-DD), whatever the session's DateStyle */
extern char *sk_date_iso(DateADT date);

/* jsonb from JSON text built in a StringInfo */
extern Datum sk_jsonb_from_buf(StringInfo buf);
/* first column of the first row of a statement returning jsonb, copied out of SPI */
extern Datum sk_exec_jsonb(sk_stmt *stmt, Datum *values, const char *nulls);

#endif							/* STOCKKING_H */
