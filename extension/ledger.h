/*
 * ledger.h
 *	  The pocket-money ledger: the Korean sentence parser (ledger_parse.c)
 *	  and the CSV import reader (ledger_import.c).
 */
#ifndef LEDGER_H
#define LEDGER_H

#include "stockking.h"

/*
 * Ledger SQLSTATEs (class SK, numbers SK100-SK199).  Their HTTP statuses are
 * in stockking.error_code, inserted by sql/50_ledger.sql; keep both in step.
 */
#define ERRCODE_SK_LEDGER_FUTURE_DATE	MAKE_SQLSTATE('S','K','1','0','1')	/* 422 */
#define ERRCODE_SK_LEDGER_AMOUNT_RANGE	MAKE_SQLSTATE('S','K','1','0','2')	/* 422 */
#define ERRCODE_SK_LEDGER_TEXT_TOO_LONG MAKE_SQLSTATE('S','K','1','0','3')	/* 400 */
#define ERRCODE_SK_LEDGER_BAD_FILE		MAKE_SQLSTATE('S','K','1','0','8')	/* 400 */

/* limits of seed 000 section 2.5 */
#define LEDGER_MAX_AMOUNT		INT64CONST(1000000000)
#define LEDGER_MAX_TEXT_CHARS	500
#define LEDGER_MAX_CATEGORY_CHARS 50
#define LEDGER_MAX_MERCHANT_CHARS 100

/* kinds and intents */
#define LEDGER_EXPENSE	0
#define LEDGER_INCOME	1

#define LEDGER_ADD		0
#define LEDGER_MODIFY	1
#define LEDGER_DELETE	2
#define LEDGER_QUERY	3

/* what a QUERY asks */
#define LEDGER_Q_TOTAL			0	/* how much, in a period (얼마 썼어?) */
#define LEDGER_Q_TOP_MERCHANT	1	/* where the most went (제일 많이 쓴 데가 어디야?) */
#define LEDGER_Q_TOP_CATEGORY	2	/* on what the most went (뭐에 제일 많이 썼어?) */
#define LEDGER_Q_COUNT			3	/* how many times (맥날 몇 번 갔어?) */

/* what the parser could not fill, or filled by assumption (bits) */
#define LEDGER_R_AMOUNT_MISSING		0x0001
#define LEDGER_R_AMOUNT_NO_UNIT		0x0002
#define LEDGER_R_AMOUNT_MULTIPLE	0x0004
#define LEDGER_R_DATE_NOT_STATED	0x0008
#define LEDGER_R_DATE_VAGUE			0x0010
#define LEDGER_R_DATE_PREVIOUS_YEAR 0x0020
#define LEDGER_R_DATE_MULTIPLE		0x0040
#define LEDGER_R_MERCHANT_UNKNOWN	0x0080
#define LEDGER_R_CATEGORY_DEFAULT	0x0100
#define LEDGER_R_KIND_ASSUMED		0x0200
#define LEDGER_R_NOTHING_TO_CHANGE	0x0400
#define LEDGER_R_AMOUNT_UNCLEAR		0x0800
#define LEDGER_R_COUNT 12

/* refusals */
#define LEDGER_OK			0
#define LEDGER_E_FUTURE		1	/* an explicit date after the reference date */
#define LEDGER_E_RANGE		2	/* amount outside 1 .. LEDGER_MAX_AMOUNT */
#define LEDGER_E_BAD_DATE	3	/* a date that does not exist (2월 30일) */

/* a sentence's text is at most 500 characters: 2,000 bytes of UTF-8 */
#define LEDGER_MEMO_BUF (LEDGER_MAX_TEXT_CHARS * 4 + 1)

typedef struct ledger_parsed
{
	int			kind;			/* LEDGER_EXPENSE or LEDGER_INCOME */
	int			intent;			/* LEDGER_ADD ... LEDGER_QUERY */
	bool		has_amount;
	int64		amount;			/* won */
	bool		has_date;		/* false only when the sentence names none */
	DateADT		date;			/* the reference date when none is named */
	const char *merchant;		/* canonical name, NULL when none */
	const char *category;		/* NULL only for MODIFY, DELETE, QUERY that name none */
	char	   *memo;			/* NUL-terminated, in the caller's buffer */
	int			confidence;		/* percent 0..100 */
	uint32		reasons;		/* LEDGER_R_* */
	DateADT		period_from;	/* QUERY: the period asked about */
	DateADT		period_to;
	int			query;			/* QUERY: LEDGER_Q_* */

	/*
	 * MODIFY and DELETE: the entry the sentence names, as it is now.  A
	 * correction "아까 맥날 8천원 말고 7500원이야" names the entry by what
	 * comes before 말고 (아니고, 아니라, N에서 ... M으로, "... 거"): old
	 * amount 8000, date today, merchant 맥도날드; the fields above are the
	 * new values (amount 7500).  DELETE puts everything it names here.
	 */
	bool		has_old_amount;
	int64		old_amount;
	bool		has_old_date;
	DateADT		old_date;
	const char *old_merchant;
	int			error;			/* LEDGER_OK or LEDGER_E_* */
	DateADT		error_date;		/* LEDGER_E_FUTURE: the date refused */
	int64		error_amount;	/* LEDGER_E_RANGE: the amount refused (PG_INT64_MAX: too large to hold) */
} ledger_parsed;

/* the merchant dictionaries of the calling user: global and the family's */
typedef struct ledger_dict ledger_dict;

extern void ledger_dicts(const ledger_dict **global, const ledger_dict **family);

/*
 * Parse one sentence of len bytes (UTF-8, at most LEDGER_MAX_TEXT_CHARS
 * characters; the caller checks) against a reference date.  memo_buf holds
 * LEDGER_MEMO_BUF bytes.  Never raises: refusals are out->error.
 */
extern void ledger_parse(const char *text, int len, DateADT ref, const ledger_dict *global,
						 const ledger_dict *family, ledger_parsed *out, char *memo_buf);

/* raise the SQLSTATE of a parse's refusal, if it has one */
extern void ledger_raise_refusal(const ledger_parsed *p);

/* check a sentence's length and emptiness (22023, SK103) */
extern void ledger_check_text(const char *text, int len);

/*
 * A merchant and a category for a free-text description of an expense or
 * an income (an import row's 가맹점/적요): the canonical merchant whose
 * alias it contains, or NULL; the merchant's category, else one inferred
 * from keywords, else 기타 (expense) or 기타수입 (income).
 */
extern void ledger_classify(const char *text, int len, int kind, const ledger_dict *global,
							const ledger_dict *family, const char **merchant, const char **category);

/* a category name given by a file (식비, 카페, 교통비 ...): the standard one it means, or NULL */
extern const char *ledger_standard_category(const char *text, int len);

extern const char *ledger_kind_name(int kind);
extern const char *ledger_intent_name(int intent);
extern const char *ledger_reason_name(int bit);
extern const char *ledger_query_name(int query);

/* a parse as a JSON object (see api.parse_ledger_text) */
extern void ledger_append_json(StringInfo buf, const ledger_parsed *p);

/* the reference date of "today": the current date in Asia/Seoul */
extern DateADT ledger_today(void);

#endif							/* LEDGER_H */
