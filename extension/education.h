/*
 * education.h
 *	  SQLSTATEs of the learning (SK300-SK349) and news (SK350-SK359) parts
 *	  of the stockking extension.  Their HTTP statuses are in
 *	  stockking.error_code, inserted by sql/90_education.sql and
 *	  sql/91_news.sql; keep both in step.
 */
#ifndef STOCKKING_EDUCATION_H
#define STOCKKING_EDUCATION_H

#include "postgres.h"

#define ERRCODE_SK_BAD_EDUCATION_CONTENT	MAKE_SQLSTATE('S','K','3','0','0')	/* 400 */
#define ERRCODE_SK_COURSE_LOCKED			MAKE_SQLSTATE('S','K','3','0','1')	/* 409 */
#define ERRCODE_SK_LESSON_LOCKED			MAKE_SQLSTATE('S','K','3','0','2')	/* 409 */
#define ERRCODE_SK_LESSON_NOT_READ			MAKE_SQLSTATE('S','K','3','0','3')	/* 409 */
#define ERRCODE_SK_QUIZ_ATTEMPTS			MAKE_SQLSTATE('S','K','3','0','4')	/* 409 */
#define ERRCODE_SK_QUIZ_PASSED				MAKE_SQLSTATE('S','K','3','0','5')	/* 409 */
#define ERRCODE_SK_MARKET_QUIZ_STALE		MAKE_SQLSTATE('S','K','3','2','0')	/* 409 */
#define ERRCODE_SK_MARKET_QUIZ_ANSWERED		MAKE_SQLSTATE('S','K','3','2','1')	/* 409 */
#define ERRCODE_SK_MARKET_QUIZ_UNAVAILABLE	MAKE_SQLSTATE('S','K','3','2','2')	/* 422 */
#define ERRCODE_SK_BAD_NEWS_FEED			MAKE_SQLSTATE('S','K','3','5','0')	/* 400 */

#endif							/* STOCKKING_EDUCATION_H */
