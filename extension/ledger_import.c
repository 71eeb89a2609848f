/*
 * ledger_import.c
 *	  The ledger's CSV reader: bank and card exports, UTF-8 or CP949/EUC-KR,
 *	  comma, tab, semicolon or bar separated, quoted fields.
 *
 * stockking.ledger_csv_inspect(body, content_type) finds the file's shape:
 *	- the encoding: UTF-8 when the bytes are valid UTF-8 (a byte order mark
 *	  is dropped), else CP949 (UHC, a superset of EUC-KR) when they are
 *	  valid UHC, converted by PostgreSQL's own conversion; else SK108;
 *	- the delimiter: of , TAB ; | the one whose count per line is the same
 *	  on most of the first 20 lines (amounts like 15,000 in a tab file vary);
 *	- the header: the first of the first 30 records with two or more known
 *	  column names (bank exports put account details above it);
 *	- a role per column, with a confidence: from its name (header_words[],
 *	  exact or contained) checked against its first 10 values (dates,
 *	  amounts, text), or from the values alone when the name says nothing;
 *	  each role goes to the column with the best confidence.
 *
 * stockking.ledger_csv_rows(body, mapping, reference_date) reads the data
 * rows under a mapping and normalises each one, or says what is wrong with
 * it: dates as YYYY-MM-DD, YYYY.MM.DD, YYYY/MM/DD, YYYYMMDD, YY.MM.DD or
 * YYYY년 M월 D일, with or without a time; amounts with commas, spaces, 원,
 * ₩, a sign or parentheses, or split in withdrawal and deposit columns.
 * A row's kind comes from withdrawal/deposit, else a kind column (입금,
 * 출금, ...), else the sign: a negative amount is money back (INCOME), or
 * with "negative": "expense" money out.  The description goes through the
 * merchant aliases and keywords of the parser (ledger_classify).
 *
 * Each row's fingerprint is a 128-bit hash (two seeds of hash_bytes_extended,
 * stable across PostgreSQL versions), stored as a uuid, of date, kind,
 * amount and description and of its occurrence among identical rows of the
 * file: two equal coffees on one day stay two entries, and the same file
 * imported again matches every row to the entries it made the first time.
 */
#include "ledger.h"

#include "common/hashfn.h"
#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/hsearch.h"
#include "utils/json.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/uuid.h"

PG_FUNCTION_INFO_V1(stockking_ledger_csv_inspect);
PG_FUNCTION_INFO_V1(stockking_ledger_csv_rows);

#define ERRCODE_SK_LEDGER_MAPPING MAKE_SQLSTATE('S','K','1','1','1')	/* 422 */

enum
{
	R_DATE, R_AMOUNT, R_WITHDRAWAL, R_DEPOSIT, R_DESCRIPTION, R_CATEGORY, R_MEMO, R_KIND, R_BALANCE, R_TIME,
	R_COUNT
};
#define R_MAPPED (R_KIND + 1)	/* roles a mapping names: date .. kind */

static const char *const role_names[R_COUNT] = {
	"date", "amount", "withdrawal", "deposit", "description", "category", "memo", "kind", "balance", "time"
};

/* column names, in the order they are tried; a contained name scores 10 less */
static const struct
{
	const char *word;
	int			role;
	int			confidence;
} header_words[] = {
	{"거래일시", R_DATE, 95}, {"거래일자", R_DATE, 95}, {"거래일", R_DATE, 95}, {"이용일시", R_DATE, 95},
	{"이용일자", R_DATE, 95}, {"이용일", R_DATE, 90}, {"사용일시", R_DATE, 95}, {"사용일자", R_DATE, 95},
	{"사용일", R_DATE, 90}, {"승인일시", R_DATE, 90}, {"승인일자", R_DATE, 90}, {"결제일자", R_DATE, 75},
	{"날짜", R_DATE, 95}, {"일자", R_DATE, 90}, {"일시", R_DATE, 85}, {"date", R_DATE, 90},
	{"거래시간", R_TIME, 95}, {"이용시간", R_TIME, 95}, {"승인시간", R_TIME, 95}, {"시간", R_TIME, 90},
	{"time", R_TIME, 85},
	{"출금액", R_WITHDRAWAL, 95}, {"출금금액", R_WITHDRAWAL, 95}, {"찾으신금액", R_WITHDRAWAL, 95},
	{"지출액", R_WITHDRAWAL, 90}, {"출금", R_WITHDRAWAL, 90}, {"지출", R_WITHDRAWAL, 85},
	{"withdrawal", R_WITHDRAWAL, 90}, {"debit", R_WITHDRAWAL, 85},
	{"입금액", R_DEPOSIT, 95}, {"입금금액", R_DEPOSIT, 95}, {"맡기신금액", R_DEPOSIT, 95}, {"수입액", R_DEPOSIT, 90},
	{"입금", R_DEPOSIT, 90}, {"수입", R_DEPOSIT, 85}, {"deposit", R_DEPOSIT, 90}, {"credit", R_DEPOSIT, 85},
	{"거래후잔액", R_BALANCE, 95}, {"잔액", R_BALANCE, 95}, {"balance", R_BALANCE, 90},
	{"입출금구분", R_KIND, 95}, {"입/출금", R_KIND, 90}, {"거래구분", R_KIND, 85}, {"구분", R_KIND, 80},
	{"type", R_KIND, 70},
	{"이용금액", R_AMOUNT, 95}, {"결제금액", R_AMOUNT, 95}, {"사용금액", R_AMOUNT, 95}, {"승인금액", R_AMOUNT, 95},
	{"거래금액", R_AMOUNT, 90}, {"금액", R_AMOUNT, 90}, {"amount", R_AMOUNT, 90}, {"가격", R_AMOUNT, 80},
	{"가맹점명", R_DESCRIPTION, 95}, {"가맹점", R_DESCRIPTION, 95}, {"이용처", R_DESCRIPTION, 95},
	{"사용처", R_DESCRIPTION, 95}, {"이용하신곳", R_DESCRIPTION, 95}, {"거래내용", R_DESCRIPTION, 90},
	{"적요", R_DESCRIPTION, 90}, {"내용", R_DESCRIPTION, 85}, {"내역", R_DESCRIPTION, 85},
	{"거래처", R_DESCRIPTION, 85}, {"상호", R_DESCRIPTION, 85}, {"기재내용", R_DESCRIPTION, 85},
	{"merchant", R_DESCRIPTION, 90}, {"description", R_DESCRIPTION, 85}, {"store", R_DESCRIPTION, 80},
	{"분류", R_CATEGORY, 95}, {"카테고리", R_CATEGORY, 95}, {"업종", R_CATEGORY, 80}, {"category", R_CATEGORY, 90},
	{"항목", R_CATEGORY, 75},
	{"메모", R_MEMO, 95}, {"비고", R_MEMO, 85}, {"memo", R_MEMO, 90}, {"note", R_MEMO, 85}
};

/* ---------------------------------------------------------------------
 * Decoding and records
 * --------------------------------------------------------------------- */

typedef struct csv_reader
{
	const char *p;
	const char *end;
	char		delim;
	int			line;			/* first line of the current record */
	int			next_line;
	StringInfoData buf;			/* the record's fields, each NUL-terminated */
	int			nfields;
	int			cap;
	int		   *offs;
	int		   *lens;
	char	  **fields;
} csv_reader;

typedef struct csv_file
{
	const char *data;			/* UTF-8 */
	int			len;
	const char *encoding;
	char		delim;
	int			header_line;
	int			ncols;
	char	  **header;
	csv_reader	r;				/* positioned after the header */
} csv_file;

static void
reader_init(csv_reader *r, const char *data, int len, char delim)
{
	r->p = data;
	r->end = data + len;
	r->delim = delim;
	r->line = r->next_line = 1;
	initStringInfo(&r->buf);
	r->nfields = 0;
	r->cap = 16;
	r->offs = palloc(sizeof(int) * r->cap);
	r->lens = palloc(sizeof(int) * r->cap);
	r->fields = palloc(sizeof(char *) * r->cap);
}

static void
push_field(csv_reader *r, int start)
{
	if (r->nfields == r->cap)
	{
		r->cap *= 2;
		r->offs = repalloc(r->offs, sizeof(int) * r->cap);
		r->lens = repalloc(r->lens, sizeof(int) * r->cap);
		r->fields = repalloc(r->fields, sizeof(char *) * r->cap);
	}
	r->offs[r->nfields] = start;
	r->lens[r->nfields] = r->buf.len - start;
	r->nfields++;
	appendStringInfoChar(&r->buf, '\0');
}

/* the next record; false at the end of the file */
static bool
csv_next(csv_reader *r)
{
	resetStringInfo(&r->buf);
	r->nfields = 0;
	if (r->p >= r->end)
		return false;
	r->line = r->next_line;
	for (;;)
	{
		int			start = r->buf.len;

		while (r->p < r->end && *r->p == ' ' && r->delim != ' ')
			r->p++;
		if (r->p < r->end && *r->p == '"')
		{
			r->p++;
			while (r->p < r->end)
			{
				const char *q = memchr(r->p, '"', r->end - r->p);
				const char *run_end = q ? q : r->end;

				for (const char *c = r->p; c < run_end; c++)
					if (*c == '\n')
						r->next_line++;
				appendBinaryStringInfo(&r->buf, r->p, run_end - r->p);
				r->p = run_end;
				if (q == NULL)
					break;
				r->p++;			/* the quote */
				if (r->p < r->end && *r->p == '"')
				{
					appendStringInfoChar(&r->buf, '"');
					r->p++;
					continue;
				}
				break;
			}
			/* a line break inside quotes is kept as LF */
			{
				int			o = start;

				for (int k = start; k < r->buf.len; k++)
					if (!(r->buf.data[k] == '\r' && k + 1 < r->buf.len && r->buf.data[k + 1] == '\n'))
						r->buf.data[o++] = r->buf.data[k];
				r->buf.len = o;
				r->buf.data[o] = '\0';
			}
			while (r->p < r->end && *r->p != r->delim && *r->p != '\n' && *r->p != '\r')
				r->p++;
		}
		else
		{
			const char *s = r->p;
			const char *e;

			while (r->p < r->end && *r->p != r->delim && *r->p != '\n' && *r->p != '\r')
				r->p++;
			e = r->p;
			while (e > s && (e[-1] == ' ' || (e[-1] == '\t' && r->delim != '\t')))
				e--;
			appendBinaryStringInfo(&r->buf, s, e - s);
		}
		push_field(r, start);
		if (r->p < r->end && *r->p == r->delim)
		{
			r->p++;
			continue;
		}
		if (r->p < r->end && *r->p == '\r')
			r->p++;
		if (r->p < r->end && *r->p == '\n')
			r->p++;
		r->next_line++;
		break;
	}
	for (int k = 0; k < r->nfields; k++)
		r->fields[k] = r->buf.data + r->offs[k];
	return true;
}

static bool
record_blank(const csv_reader *r)
{
	for (int k = 0; k < r->nfields; k++)
		if (r->lens[k] > 0)
			return false;
	return true;
}

/* the delimiter whose per-line count is steadiest over the first lines */
static char
detect_delimiter(const char *data, int len)
{
	static const char cands[] = {'\t', ',', ';', '|'};
	int			counts[4][20];
	int			lines = 0;
	const char *p = data;
	const char *end = data + len;
	int			best = 1;
	int			best_score = -1;

	memset(counts, 0, sizeof(counts));
	while (p < end && lines < 20)
	{
		bool		quoted = false;
		bool		any = false;

		for (; p < end && (quoted || *p != '\n'); p++)
		{
			if (*p == '"')
				quoted = !quoted;
			else if (!quoted)
				for (int c = 0; c < 4; c++)
					if (*p == cands[c])
						counts[c][lines]++;
			if (*p != '\r' && *p != ' ')
				any = true;
		}
		if (p < end)
			p++;
		if (any)
			lines++;
	}
	for (int c = 0; c < 4; c++)
	{
		int			score = 0;

		for (int a = 0; a < lines; a++)
		{
			int			same = 0;

			if (counts[c][a] == 0)
				continue;
			for (int b = 0; b < lines; b++)
				if (counts[c][b] == counts[c][a])
					same++;
			score = Max(score, same * 64 + Min(counts[c][a], 63));
		}
		if (score > best_score)
		{
			best_score = score;
			best = c;
		}
	}
	return cands[best];
}

/* a column name normalised: ASCII lowered, spaces and punctuation other than / dropped, a trailing 원 dropped */
static void
normalise_name(const char *s, char *out, int outlen)
{
	int			o = 0;

	for (; *s && o < outlen - 1; s++)
	{
		unsigned char c = (unsigned char) *s;

		if (c < 128 && (c == ' ' || c == '\t' || (c != '/' && strchr("!\"#$%&'()*+,-.:;<=>?@[\\]^_`{|}~", c) != NULL)))
			continue;
		out[o++] = (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
	}
	out[o] = '\0';
	if (o > 3 && strcmp(out + o - 3, "원") == 0)
		out[o - 3] = '\0';
	/* a byte order mark left on the first name */
	if ((unsigned char) out[0] == 0xEF && (unsigned char) out[1] == 0xBB && (unsigned char) out[2] == 0xBF)
		memmove(out, out + 3, strlen(out + 3) + 1);
}

/* the role a column name suggests, R_COUNT for none; its confidence in *conf */
static int
header_role(const char *name, int *conf)
{
	char		norm[256];
	int			best = R_COUNT;

	*conf = 0;
	normalise_name(name, norm, sizeof(norm));
	if (norm[0] == '\0')
		return R_COUNT;
	for (int k = 0; k < (int) lengthof(header_words); k++)
	{
		int			c = 0;

		if (strcmp(norm, header_words[k].word) == 0)
			c = header_words[k].confidence;
		else if (strstr(norm, header_words[k].word) != NULL)
			c = header_words[k].confidence - 10;
		if (c > *conf)
		{
			*conf = c;
			best = header_words[k].role;
		}
	}
	return best;
}

static void
decode_file(bytea *body, csv_file *f)
{
	const char *src = VARDATA_ANY(body);
	int			len = VARSIZE_ANY_EXHDR(body);

	if (GetDatabaseEncoding() != PG_UTF8)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("the ledger import needs a UTF8 database")));
	if (len == 0)
		ereport(ERROR,
				(errcode(ERRCODE_SK_LEDGER_BAD_FILE),
				 errmsg("the file is empty")));
	if (pg_verify_mbstr(PG_UTF8, src, len, true))
	{
		if (len >= 3 && (unsigned char) src[0] == 0xEF && (unsigned char) src[1] == 0xBB &&
			(unsigned char) src[2] == 0xBF)
		{
			src += 3;
			len -= 3;
		}
		f->data = src;
		f->len = len;
		f->encoding = "UTF8";
	}
	else if (pg_verify_mbstr(PG_UHC, src, len, true))
	{
		f->data = (const char *) pg_do_encoding_conversion((unsigned char *) unconstify(char *, src), len,
														   PG_UHC, PG_UTF8);
		f->len = strlen(f->data);
		f->encoding = "UHC";
	}
	else
		ereport(ERROR,
				(errcode(ERRCODE_SK_LEDGER_BAD_FILE),
				 errmsg("the file is neither UTF-8 nor CP949/EUC-KR text"),
				 errhint("Export the file as CSV (comma or tab separated text).")));
}

/* decode, find the delimiter and the header; leaves f->r after the header */
static void
open_csv(bytea *body, csv_file *f)
{
	int			best_known = -1;
	int			best_line = 0;
	int			records = 0;
	csv_reader	scan;

	decode_file(body, f);
	f->delim = detect_delimiter(f->data, f->len);
	reader_init(&scan, f->data, f->len, f->delim);
	while (records < 30 && csv_next(&scan))
	{
		int			known = 0;

		if (record_blank(&scan))
			continue;
		records++;
		for (int k = 0; k < scan.nfields; k++)
		{
			int			conf;

			if (header_role(scan.fields[k], &conf) != R_COUNT && conf >= 70)
				known++;
		}
		if (known >= 2)
		{
			best_line = scan.line;
			break;
		}
		if (known > best_known)
		{
			best_known = known;
			best_line = scan.line;
		}
	}
	if (records == 0)
		ereport(ERROR,
				(errcode(ERRCODE_SK_LEDGER_BAD_FILE),
				 errmsg("the file has no rows")));
	/* position a reader on the header record and keep its names */
	reader_init(&f->r, f->data, f->len, f->delim);
	while (csv_next(&f->r))
	{
		if (f->r.line == best_line)
			break;
	}
	f->header_line = best_line;
	f->ncols = f->r.nfields;
	f->header = palloc(sizeof(char *) * Max(f->ncols, 1));
	for (int k = 0; k < f->ncols; k++)
		f->header[k] = pstrdup(f->r.fields[k]);
}

/* ---------------------------------------------------------------------
 * Values
 * --------------------------------------------------------------------- */

static inline int
month_days(int y, int m)
{
	static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return days[m - 1];
}

static int
digits(const char *s, int max, int *v)
{
	int			n = 0;

	*v = 0;
	while (n < max && s[n] >= '0' && s[n] <= '9')
		*v = *v * 10 + (s[n++] - '0');
	return n;
}

/* a date of a row; false when it is not one */
static bool
parse_row_date(const char *s, DateADT *out)
{
	int			y,
				m,
				d,
				n;
	const char *p = s;

	while (*p == ' ')
		p++;
	n = digits(p, 8, &y);
	if (n == 8)
	{
		d = y % 100;
		m = (y / 100) % 100;
		y /= 10000;
		p += 8;
	}
	else if ((n == 4 || n == 2) && (p[n] == '-' || p[n] == '.' || p[n] == '/'))
	{
		char		sep = p[n];
		int			k;

		p += n + 1;
		k = digits(p, 2, &m);
		if (k == 0 || p[k] != sep)
			return false;
		p += k + 1;
		k = digits(p, 2, &d);
		if (k == 0)
			return false;
		p += k;
		if (*p == '.' && sep == '.')
			p++;
		if (n == 2)
			y += 2000;
	}
	else if (n == 4 && strncmp(p + 4, "년", 3) == 0)
	{
		int			k;

		p += 7;
		while (*p == ' ')
			p++;
		k = digits(p, 2, &m);
		if (k == 0 || strncmp(p + k, "월", 3) != 0)
			return false;
		p += k + 3;
		while (*p == ' ')
			p++;
		k = digits(p, 2, &d);
		if (k == 0 || strncmp(p + k, "일", 3) != 0)
			return false;
		p += k + 3;
	}
	else
		return false;
	/* a time may follow after a space or T */
	if (*p != '\0' && *p != ' ' && *p != 'T')
		return false;
	if (y < 1900 || y > 2999 || m < 1 || m > 12 || d < 1 || d > month_days(y, m))
		return false;
	*out = date2j(y, m, d) - POSTGRES_EPOCH_JDATE;
	return true;
}

/*
 * An amount of a row: 0 and *v set, 1 when empty, -1 when not a whole
 * number of won.  Accepts commas, spaces, 원, ₩, KRW, a leading + or -, a
 * trailing -, parentheses for negatives and zero decimals (15000.00).
 */
static int
parse_money(const char *s, int64 *v, bool *negative)
{
	const char *p = s;
	int64		x = 0;
	int			ndigits = 0;
	bool		paren = false;

	*negative = false;
	*v = 0;
	while (*p == ' ')
		p++;
	if (*p == '\0')
		return 1;
	if (*p == '(')
	{
		paren = true;
		p++;
	}
	if (*p == '-' || *p == '+')
	{
		*negative = *p == '-';
		p++;
	}
	else if (strncmp(p, "\xe2\x88\x92", 3) == 0)	/* U+2212 minus */
	{
		*negative = true;
		p += 3;
	}
	while (*p == ' ')
		p++;
	if (strncmp(p, "\xe2\x82\xa9", 3) == 0)	/* ₩ */
		p += 3;
	else if (strncmp(p, "\xef\xbf\xa6", 3) == 0)	/* fullwidth ₩ */
		p += 3;
	else if (*p == '\\')
		p++;
	else if (strncmp(p, "KRW", 3) == 0)
		p += 3;
	while (*p == ' ')
		p++;
	for (; *p; p++)
	{
		if (*p >= '0' && *p <= '9')
		{
			if (ndigits++ < 15)
				x = x * 10 + (*p - '0');
			else
				x = LEDGER_MAX_AMOUNT * 10;
		}
		else if (*p == ',' || (*p == ' ' && p[1] >= '0' && p[1] <= '9'))
			continue;
		else
			break;
	}
	if (ndigits == 0)
		return -1;
	if (*p == '.')
	{
		p++;
		while (*p == '0')
			p++;
		if (*p >= '1' && *p <= '9')
			return -1;			/* not whole won */
	}
	while (*p == ' ')
		p++;
	if (strncmp(p, "원", 3) == 0)
		p += 3;
	else if (strncmp(p, "KRW", 3) == 0)
		p += 3;
	if (*p == '-' && !*negative)
	{
		*negative = true;
		p++;
	}
	if (paren)
	{
		if (*p != ')')
			return -1;
		*negative = true;
		p++;
	}
	while (*p == ' ')
		p++;
	if (*p != '\0')
		return -1;
	*v = x;
	return 0;
}

/* the kind a 구분 value says: LEDGER_INCOME, LEDGER_EXPENSE, or -1 */
static int
kind_word(const char *s)
{
	static const char *const income[] = {"입금", "수입", "받", "환불", "취소", "income", "deposit", "credit"};
	static const char *const expense[] = {"출금", "지출", "결제", "승인", "사용", "이체", "expense", "withdrawal", "debit"};

	for (int k = 0; k < (int) lengthof(income); k++)
		if (strstr(s, income[k]) != NULL)
			return LEDGER_INCOME;
	for (int k = 0; k < (int) lengthof(expense); k++)
		if (strstr(s, expense[k]) != NULL)
			return LEDGER_EXPENSE;
	return -1;
}

/* a prefix of s of at most max characters, as a new string */
static char *
clip_chars(const char *s, int max)
{
	int			len = strlen(s);
	int			chars = 0;
	int			k = 0;

	while (k < len && chars < max)
	{
		k += pg_utf_mblen((const unsigned char *) s + k);
		chars++;
	}
	return pnstrdup(s, Min(k, len));
}

static int
char_count(const char *s)
{
	return pg_mbstrlen_with_len(s, strlen(s));
}

/* ---------------------------------------------------------------------
 * Mapping
 * --------------------------------------------------------------------- */

typedef struct column_guess
{
	int			role;			/* R_COUNT: none */
	int			confidence;
	int			samples;
	int			dates;
	int			amounts;
} column_guess;

/* role of every column, from names and the first 10 values */
static void
guess_columns(csv_file *f, column_guess *g, int *mapping, int *data_rows, StringInfo samples_json)
{
	csv_reader	r = f->r;		/* a copy: the inspection does not move f->r */
	int			seen = 0;
	bool		taken[R_COUNT];
	StringInfoData *samples = palloc0(sizeof(StringInfoData) * Max(f->ncols, 1));
	int		   *nsamples = palloc0(sizeof(int) * Max(f->ncols, 1));

	initStringInfo(&r.buf);
	r.offs = palloc(sizeof(int) * r.cap);
	r.lens = palloc(sizeof(int) * r.cap);
	r.fields = palloc(sizeof(char *) * r.cap);
	for (int c = 0; c < f->ncols; c++)
	{
		memset(&g[c], 0, sizeof(column_guess));
		initStringInfo(&samples[c]);
	}
	*data_rows = 0;
	while (csv_next(&r))
	{
		if (record_blank(&r))
			continue;
		(*data_rows)++;
		if (seen >= 10)
			continue;
		seen++;
		for (int c = 0; c < f->ncols && c < r.nfields; c++)
		{
			DateADT		d;
			int64		v;
			bool		neg;

			if (r.lens[c] == 0)
				continue;
			g[c].samples++;
			if (parse_row_date(r.fields[c], &d))
				g[c].dates++;
			else if (parse_money(r.fields[c], &v, &neg) == 0)
				g[c].amounts++;
			if (nsamples[c] < 3)
			{
				if (nsamples[c]++ > 0)
					appendStringInfoString(&samples[c], ", ");
				escape_json(&samples[c], r.fields[c]);
			}
		}
	}
	for (int c = 0; c < f->ncols; c++)
	{
		int			conf;
		int			role = header_role(f->header[c], &conf);
		int			n = g[c].samples;
		bool		datey = n > 0 && g[c].dates * 10 >= n * 8;
		bool		moneyish = n > 0 && g[c].amounts * 10 >= n * 8;

		if (role == R_DATE)
			conf = datey ? conf : (n == 0 ? conf - 20 : conf / 2);
		else if (role == R_AMOUNT || role == R_WITHDRAWAL || role == R_DEPOSIT || role == R_BALANCE)
			conf = moneyish || n == 0 ? conf : conf / 2;
		else if (role == R_TIME)
			;
		else if (role != R_COUNT)
			conf = (datey || moneyish) ? conf / 2 : conf;
		else if (n > 0 && g[c].dates * 10 >= n * 9)
		{
			role = R_DATE;
			conf = 60;
		}
		else if (n > 0 && g[c].amounts * 10 >= n * 9)
		{
			role = R_AMOUNT;
			conf = 50;
		}
		else if (n > 0 && g[c].dates + g[c].amounts == 0)
		{
			role = R_DESCRIPTION;
			conf = 40;
		}
		g[c].role = role;
		g[c].confidence = Max(conf, 0);
	}
	/* each role to its most confident column */
	memset(taken, 0, sizeof(taken));
	for (int k = 0; k < R_COUNT; k++)
		mapping[k] = -1;
	for (;;)
	{
		int			best = -1;

		for (int c = 0; c < f->ncols; c++)
			if (g[c].role != R_COUNT && !taken[g[c].role] && g[c].confidence >= 40 &&
				mapping[g[c].role] < 0 && (best < 0 || g[c].confidence > g[best].confidence))
			{
				bool		assigned = false;

				for (int k = 0; k < R_COUNT; k++)
					if (mapping[k] == c)
						assigned = true;
				if (!assigned)
					best = c;
			}
		if (best < 0)
			break;
		mapping[g[best].role] = best;
		taken[g[best].role] = true;
	}
	/* columns that lost their role to a better one show none */
	for (int c = 0; c < f->ncols; c++)
		if (g[c].role != R_COUNT && mapping[g[c].role] != c)
			g[c].role = R_COUNT;
	for (int c = 0; c < f->ncols; c++)
	{
		if (c > 0)
			appendStringInfoString(samples_json, ", ");
		appendStringInfo(samples_json, "{\"index\": %d, \"name\": ", c);
		escape_json(samples_json, f->header[c]);
		appendStringInfoString(samples_json, ", \"role\": ");
		if (g[c].role == R_COUNT)
			appendStringInfoString(samples_json, "null");
		else
			appendStringInfo(samples_json, "\"%s\"", role_names[g[c].role]);
		appendStringInfo(samples_json, ", \"confidence\": %d.%02d, \"samples\": [%s]}",
						 g[c].role == R_COUNT ? 0 : g[c].confidence / 100,
						 g[c].role == R_COUNT ? 0 : g[c].confidence % 100, samples[c].data);
	}
}

/*
 * stockking.ledger_csv_inspect(body bytea, content_type text) RETURNS jsonb
 */
Datum
stockking_ledger_csv_inspect(PG_FUNCTION_ARGS)
{
	bytea	   *body;
	csv_file	f;
	column_guess *g;
	int			mapping[R_COUNT];
	int			data_rows;
	StringInfoData cols;
	StringInfoData buf;
	bool		first = true;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_SK_LEDGER_BAD_FILE),
				 errmsg("the file is empty")));
	body = PG_GETARG_BYTEA_PP(0);
	open_csv(body, &f);
	g = palloc(sizeof(column_guess) * Max(f.ncols, 1));
	initStringInfo(&cols);
	guess_columns(&f, g, mapping, &data_rows, &cols);

	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"encoding\": \"%s\", \"delimiter\": ", f.encoding);
	appendStringInfoString(&buf, f.delim == '\t' ? "\"\\t\"" : psprintf("\"%c\"", f.delim));
	appendStringInfo(&buf, ", \"header_line\": %d, \"rows\": %d, \"columns\": [%s], \"mapping\": {",
					 f.header_line, data_rows, cols.data);
	for (int k = 0; k < R_MAPPED; k++)
	{
		appendStringInfo(&buf, "%s\"%s\": ", k ? ", " : "", role_names[k]);
		if (mapping[k] >= 0)
			appendStringInfo(&buf, "%d", mapping[k]);
		else
			appendStringInfoString(&buf, "null");
	}
	appendStringInfoString(&buf, "}, \"missing\": [");
	if (mapping[R_DATE] < 0)
	{
		appendStringInfoString(&buf, "\"date\"");
		first = false;
	}
	if (mapping[R_AMOUNT] < 0 && mapping[R_WITHDRAWAL] < 0 && mapping[R_DEPOSIT] < 0)
		appendStringInfo(&buf, "%s\"amount\"", first ? "" : ", ");
	appendStringInfoString(&buf, "]}");
	PG_RETURN_DATUM(sk_jsonb_from_buf(&buf));
}

static void
mapping_error(const char *msg, const char *role)
{
	ereport(ERROR,
			(errcode(ERRCODE_SK_LEDGER_MAPPING),
			 errmsg(msg, role),
			 errhint("Map a role to a column index (0 = first) or a column name, or to null.")));
}

/* read a mapping object into map[R_MAPPED]; *negative_income from "negative" */
static void
read_mapping(Jsonb *jb, csv_file *f, int *map, bool *negative_income)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	char	   *key = NULL;

	for (int k = 0; k < R_MAPPED; k++)
		map[k] = -1;
	*negative_income = true;
	if (jb == NULL)
		mapping_error("the mapping is missing%s", "");
	if (!JB_ROOT_IS_OBJECT(jb))
		mapping_error("the mapping must be a JSON object%s", "");
	it = JsonbIteratorInit(&jb->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		int			role = -1;

		if (tok == WJB_KEY)
		{
			key = pnstrdup(v.val.string.val, v.val.string.len);
			continue;
		}
		if (tok != WJB_VALUE || key == NULL)
			continue;
		if (strcmp(key, "negative") == 0)
		{
			if (v.type != jbvString || (strncmp(v.val.string.val, "income", v.val.string.len) != 0 &&
										strncmp(v.val.string.val, "expense", v.val.string.len) != 0) ||
				v.val.string.len == 0)
				mapping_error("\"negative\" must be \"income\" or \"expense\"%s", "");
			*negative_income = v.val.string.val[0] == 'i';
			continue;
		}
		for (int k = 0; k < R_MAPPED; k++)
			if (strcmp(key, role_names[k]) == 0)
				role = k;
		if (role < 0)
			mapping_error("the mapping names an unknown role \"%s\"", key);
		if (v.type == jbvNull)
			continue;
		if (v.type == jbvNumeric)
		{
			bool		have_error = false;
			int32		idx = numeric_int4_opt_error(v.val.numeric, &have_error);

			if (have_error || idx < 0 || idx >= f->ncols)
				mapping_error("the column of \"%s\" is not a column of the file", key);
			map[role] = idx;
		}
		else if (v.type == jbvString)
		{
			char	   *name = pnstrdup(v.val.string.val, v.val.string.len);
			int			found = -1;

			for (int c = 0; c < f->ncols && found < 0; c++)
				if (strcmp(f->header[c], name) == 0)
					found = c;
			if (found < 0)
			{
				char		want[256],
							have[256];

				normalise_name(name, want, sizeof(want));
				for (int c = 0; c < f->ncols && found < 0; c++)
				{
					normalise_name(f->header[c], have, sizeof(have));
					if (strcmp(want, have) == 0)
						found = c;
				}
			}
			if (found < 0)
				mapping_error("the file has no column named as the mapping's \"%s\"", key);
			map[role] = found;
		}
		else
			mapping_error("the mapping's \"%s\" must be a column index, a column name or null", key);
	}
	if (map[R_DATE] < 0)
		mapping_error("the mapping has no date column%s", "");
	if (map[R_AMOUNT] < 0 && map[R_WITHDRAWAL] < 0 && map[R_DEPOSIT] < 0)
		mapping_error("the mapping has no amount, withdrawal or deposit column%s", "");
}

/* occurrences of a row's identity within the file */
typedef struct fp_entry
{
	uint64		key[2];
	int			count;
} fp_entry;

static inline const char *
field_of(csv_reader *r, int col)
{
	return (col >= 0 && col < r->nfields) ? r->fields[col] : "";
}

static char *
quoted_value(const char *s)
{
	return clip_chars(s, 40);
}

/*
 * stockking.ledger_csv_rows(body bytea, mapping jsonb, reference_date date)
 * RETURNS TABLE (line, entry_date, kind, amount, merchant, category, memo, fingerprint, error)
 */
Datum
stockking_ledger_csv_rows(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	bytea	   *body;
	Jsonb	   *jmap;
	DateADT		ref;
	csv_file	f;
	int			map[R_MAPPED];
	bool		negative_income;
	const ledger_dict *global;
	const ledger_dict *family;
	HASHCTL		hctl;
	HTAB	   *seen;
	MemoryContext rowcxt;
	MemoryContext old;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_SK_LEDGER_BAD_FILE),
				 errmsg("the file is empty")));
	body = PG_GETARG_BYTEA_PP(0);
	jmap = PG_ARGISNULL(1) ? NULL : PG_GETARG_JSONB_P(1);
	ref = PG_ARGISNULL(2) ? ledger_today() : PG_GETARG_DATEADT(2);
	InitMaterializedSRF(fcinfo, 0);
	open_csv(body, &f);
	read_mapping(jmap, &f, map, &negative_income);
	ledger_dicts(&global, &family);

	memset(&hctl, 0, sizeof(hctl));
	hctl.keysize = sizeof(uint64) * 2;
	hctl.entrysize = sizeof(fp_entry);
	hctl.hcxt = CurrentMemoryContext;
	seen = hash_create("ledger import fingerprints", 1024, &hctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	rowcxt = AllocSetContextCreate(CurrentMemoryContext, "ledger import row", ALLOCSET_DEFAULT_SIZES);

	while (csv_next(&f.r))
	{
		Datum		values[9];
		bool		nulls[9];
		char	   *error = NULL;
		DateADT		date = 0;
		int64		amount = 0;
		int			kind = -1;
		const char *desc;
		const char *merchant = NULL;
		const char *category = NULL;
		char	   *memo = NULL;

		if (record_blank(&f.r))
			continue;
		CHECK_FOR_INTERRUPTS();
		old = MemoryContextSwitchTo(rowcxt);
		MemoryContextReset(rowcxt);
		memset(nulls, 0, sizeof(nulls));

		/* the date */
		if (!parse_row_date(field_of(&f.r, map[R_DATE]), &date))
			error = psprintf("the date \"%s\" is not a date", quoted_value(field_of(&f.r, map[R_DATE])));
		else if (date > ref)
			error = psprintf("the date %s is in the future", sk_date_iso(date));

		/* the amount and the kind */
		if (error == NULL && (map[R_WITHDRAWAL] >= 0 || map[R_DEPOSIT] >= 0))
		{
			int64		w = 0,
						d = 0;
			bool		neg;
			int			rw = map[R_WITHDRAWAL] >= 0 ? parse_money(field_of(&f.r, map[R_WITHDRAWAL]), &w, &neg) : 1;
			int			rd = map[R_DEPOSIT] >= 0 ? parse_money(field_of(&f.r, map[R_DEPOSIT]), &d, &neg) : 1;

			if (rw < 0)
				error = psprintf("the withdrawal \"%s\" is not an amount of won",
								 quoted_value(field_of(&f.r, map[R_WITHDRAWAL])));
			else if (rd < 0)
				error = psprintf("the deposit \"%s\" is not an amount of won",
								 quoted_value(field_of(&f.r, map[R_DEPOSIT])));
			else if (w > 0 && d > 0)
				error = pstrdup("both the withdrawal and the deposit are filled");
			else if (w > 0)
			{
				amount = w;
				kind = LEDGER_EXPENSE;
			}
			else if (d > 0)
			{
				amount = d;
				kind = LEDGER_INCOME;
			}
		}
		if (error == NULL && kind < 0)
		{
			bool		neg = false;
			int			rc = map[R_AMOUNT] >= 0 ? parse_money(field_of(&f.r, map[R_AMOUNT]), &amount, &neg) : 1;

			if (rc == 1)
				error = pstrdup("the row has no amount");
			else if (rc < 0)
				error = psprintf("the amount \"%s\" is not an amount of won", quoted_value(field_of(&f.r, map[R_AMOUNT])));
			else
			{
				int			said = map[R_KIND] >= 0 ? kind_word(field_of(&f.r, map[R_KIND])) : -1;

				if (said >= 0)
					kind = said;
				else if (neg)
					kind = negative_income ? LEDGER_INCOME : LEDGER_EXPENSE;
				else
					kind = negative_income ? LEDGER_EXPENSE : LEDGER_INCOME;
			}
		}
		if (error == NULL && amount == 0)
			error = pstrdup("the amount is zero");
		if (error == NULL && amount > LEDGER_MAX_AMOUNT)
			error = psprintf("the amount " INT64_FORMAT " is out of range (1 to 1,000,000,000 won)", amount);

		/* merchant, category, memo */
		desc = field_of(&f.r, map[R_DESCRIPTION]);
		if (error == NULL)
		{
			const char *cat_field = field_of(&f.r, map[R_CATEGORY]);

			ledger_classify(desc, strlen(desc), kind, global, family, &merchant, &category);
			if (merchant == NULL && desc[0] != '\0')
				merchant = clip_chars(desc, LEDGER_MAX_MERCHANT_CHARS);
			if (cat_field[0] != '\0')
			{
				const char *std = ledger_standard_category(cat_field, strlen(cat_field));

				bool		std_income = std != NULL && (strcmp(std, "용돈") == 0 || strcmp(std, "기타수입") == 0);

				/* the file's category, when it is one of the row's kind; a refund keeps an income category */
				if (std != NULL)
				{
					if (std_income == (kind == LEDGER_INCOME))
						category = std;
				}
				else if (char_count(cat_field) > LEDGER_MAX_CATEGORY_CHARS)
					error = psprintf("the category \"%s...\" is longer than 50 characters", quoted_value(cat_field));
				else if (kind == LEDGER_EXPENSE)
					category = cat_field;
			}
			if (map[R_MEMO] >= 0)
				memo = pstrdup(field_of(&f.r, map[R_MEMO]));
			else if (merchant != NULL && strcmp(merchant, desc) != 0)
				memo = clip_chars(desc, LEDGER_MAX_TEXT_CHARS);
			else
				memo = pstrdup("");
			if (error == NULL && char_count(memo) > LEDGER_MAX_TEXT_CHARS)
				error = pstrdup("the memo is longer than 500 characters");
		}

		values[0] = Int32GetDatum(f.r.line);
		if (error != NULL)
		{
			for (int k = 1; k < 8; k++)
				nulls[k] = true;
			values[8] = CStringGetTextDatum(error);
		}
		else
		{
			StringInfoData id;
			uint64		key[2];
			fp_entry   *e;
			bool		found;

			/* the row's identity, and its occurrence among equal rows of the file */
			initStringInfo(&id);
			appendStringInfo(&id, "%d|%c|" INT64_FORMAT "|%s", (int) date, kind == LEDGER_INCOME ? 'I' : 'E', amount, desc);
			key[0] = hash_bytes_extended((const unsigned char *) id.data, id.len, UINT64CONST(0));
			key[1] = hash_bytes_extended((const unsigned char *) id.data, id.len, UINT64CONST(0x9E3779B97F4A7C15));
			e = hash_search(seen, key, HASH_ENTER, &found);
			e->count = found ? e->count + 1 : 1;

			values[1] = DateADTGetDatum(date);
			values[2] = CStringGetTextDatum(ledger_kind_name(kind));
			values[3] = Int64GetDatum(amount);
			values[4] = merchant ? CStringGetTextDatum(merchant) : (Datum) 0;
			nulls[4] = merchant == NULL;
			values[5] = CStringGetTextDatum(category);
			values[6] = CStringGetTextDatum(memo);
			{
				/* the fingerprint: 128 bits of the identity and its occurrence, as a uuid */
				pg_uuid_t  *fp = palloc(sizeof(pg_uuid_t));
				unsigned char occ[20];
				uint64		h[2];

				memcpy(occ, key, 16);
				memcpy(occ + 16, &e->count, 4);
				h[0] = hash_bytes_extended(occ, sizeof(occ), UINT64CONST(0));
				h[1] = hash_bytes_extended(occ, sizeof(occ), UINT64CONST(0x9E3779B97F4A7C15));
				memcpy(fp->data, h, 16);
				values[7] = UUIDPGetDatum(fp);
			}
			nulls[8] = true;
		}
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		MemoryContextSwitchTo(old);
	}
	MemoryContextDelete(rowcxt);
	hash_destroy(seen);
	return (Datum) 0;
}
