/*
 * community.h
 *	  Declarations shared by the community board (community.c) and its text
 *	  filter (profanity.c): their SQLSTATEs (class SK, numbers 400-449), the
 *	  profanity filter and the detector of personal data.
 */
#ifndef STOCKKING_COMMUNITY_H
#define STOCKKING_COMMUNITY_H

#include "stockking.h"

/*
 * SQLSTATEs.  Their HTTP statuses are in stockking.error_code, inserted by
 * sql/92_community.sql.
 */
#define ERRCODE_SK_TEXT_NOT_ALLOWED		MAKE_SQLSTATE('S','K','4','0','1')	/* 422 */
#define ERRCODE_SK_PERSONAL_PHONE		MAKE_SQLSTATE('S','K','4','1','0')	/* 422 */
#define ERRCODE_SK_PERSONAL_EMAIL		MAKE_SQLSTATE('S','K','4','1','1')	/* 422 */
#define ERRCODE_SK_PERSONAL_ADDRESS		MAKE_SQLSTATE('S','K','4','1','2')	/* 422 */
#define ERRCODE_SK_PERSONAL_ACCOUNT		MAKE_SQLSTATE('S','K','4','1','3')	/* 422 */
#define ERRCODE_SK_PERSONAL_RRN			MAKE_SQLSTATE('S','K','4','1','4')	/* 422 */
#define ERRCODE_SK_COMMUNITY_RATE		MAKE_SQLSTATE('S','K','4','2','0')	/* 429 */
#define ERRCODE_SK_NO_LEAGUE			MAKE_SQLSTATE('S','K','4','3','0')	/* 409 */
#define ERRCODE_SK_ALREADY_REPORTED		MAKE_SQLSTATE('S','K','4','3','1')	/* 409 */
#define ERRCODE_SK_OWN_CONTENT			MAKE_SQLSTATE('S','K','4','3','2')	/* 409 */
#define ERRCODE_SK_COMMUNITY_STATE		MAKE_SQLSTATE('S','K','4','3','3')	/* 409 */

/*
 * The profanity filter (profanity.c).  Words come from the table
 * stockking.profanity_word: MASK words are replaced by '*' (one per
 * character), REFUSE words refuse the text, ALLOW entries are exceptions
 * that cancel a bad word they overlap from its start or before.
 */
typedef enum sk_filter_verdict
{
	SK_FILTER_CLEAN,
	SK_FILTER_MASKED,
	SK_FILTER_REFUSED
} sk_filter_verdict;

typedef struct sk_filter_result
{
	sk_filter_verdict verdict;
	char	   *text;			/* the text with MASK words masked (palloc'd) */
	int			masked_words;	/* words masked (merged where they overlap) */
	int			refused_words;	/* words that refuse the text */
	int			first_char;		/* character offset of the first bad word, -1 when clean */
	int			first_refused;	/* ... of the first REFUSE word, -1 when none */
} sk_filter_result;

extern void sk_profanity_filter(const char *text, int len, sk_filter_result *result);

/* Personal data (profanity.c): the first kind a text holds */
typedef enum sk_personal_kind
{
	SK_PERSONAL_NONE,
	SK_PERSONAL_PHONE,
	SK_PERSONAL_EMAIL,
	SK_PERSONAL_ADDRESS,
	SK_PERSONAL_ACCOUNT,
	SK_PERSONAL_RRN
} sk_personal_kind;

extern sk_personal_kind sk_personal_data(const char *text, int len);

/*
 * A user's text for the board or a profile, checked: personal data raises
 * SK410..SK414, a REFUSE word (or, when !allow_mask, any bad word) SK401.
 * Returns the text to store, with MASK words masked; *masked_words (may be
 * NULL) gets their count.
 */
extern char *sk_clean_text(const char *field, const char *text, bool allow_mask, int *masked_words);

#endif							/* STOCKKING_COMMUNITY_H */
