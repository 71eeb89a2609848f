/*
 * ledger_import.c
 *	  The ledger's CSV reader: bank and card exports, UTF-8 or CP949/EUC-KR,
 *	  comma, tab, semicolon or bar separated, quoted fields.
 *
 * The records are read by PostgreSQL's own COPY parser (BeginCopyFrom with
 * a data-source callback over the uploaded bytes, NextCopyFromRawFields, CSV
 * mode): quoting follows PostgreSQL's CSV rules ("" inside quotes, line
 * breaks inside quotes kept, text after a closing quote kept: "abc"def is
 * abcdef), and an unterminated quote is SK108 with its line.  Fields are
 * trimmed of the spaces around them; line ends are made LF first (COPY wants
 * one kind per file).  What is left here is what COPY cannot know:
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
 * Each row's fingerprint is the first 128 bits of a SHA-256 (stored as a
 * uuid) of a canonical text of its date, kind, amount and description and
 * of its occurrence among identical rows of the file (see "Row
 * fingerprints"): two equal coffees on one day stay two entries, and the
 * same file imported again matches every row to the entries it made the
 * first time, on any machine.  Each row also carries its fingerprint as
 * release 0.1.0 made it (legacy_fingerprint), which matches the entries of
 * 0.1.0 whose SHA-256 fingerprint the upgrade could not prove.
 */
#include "ledger.h"

#include "access/table.h"
#include "commands/copy.h"
#include "commands/copyfrom_internal.h"
#include "common/cryptohash.h"
#include "common/hashfn.h"
#include "common/sha2.h"
#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/hsearch.h"
#include "utils/json.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/uuid.h"

PG_FUNCTION_INFO_V1(stockking_ledger_csv_inspect);
PG_FUNCTION_INFO_V1(stockking_ledger_csv_rows);
PG_FUNCTION_INFO_V1(stockking_ledger_row_fingerprint);
PG_FUNCTION_INFO_V1(stockking_ledger_row_fingerprint_v1);

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

/*
 * One record of the file: its first line and its fields, each trimmed of
 * the spaces around it, "" for an empty field.
 */
typedef struct csv_record
{
	int			line;
	int			nfields;
	char	  **fields;
} csv_record;

/*
 * The records of a decoded file as PostgreSQL's COPY parser reads them
 * (CSV mode, the detected delimiter, UTF-8).  Records read ahead while
 * looking for the header are kept and handed out first.
 */
typedef struct csv_reader
{
	CopyFromState cstate;
	Relation	rel;
	csv_record	cur;
	char	  **buf;			/* the fields of a record read from COPY */
	int			cap;
	csv_record *saved;
	int			nsaved;
	int			next_saved;
} csv_reader;

typedef struct csv_file
{
	const char *data;			/* UTF-8, line ends as LF */
	int			len;
	const char *encoding;
	char		delim;
	int			header_line;
	int			ncols;
	char	  **header;
	csv_reader	r;				/* positioned after the header */
} csv_file;

/*
 * What COPY reads: copy_data_source_cb takes no argument, so the bytes are
 * here.  One reader is open at a time in a backend: every reader is opened
 * and read to its end within one function call.
 */
static const char *copy_data;
static int	copy_len;
static int	copy_pos;

static int
copy_read(void *outbuf, int minread, int maxread)
{
	int			n = Min(maxread, copy_len - copy_pos);

	memcpy(outbuf, copy_data + copy_pos, n);
	copy_pos += n;
	return n;
}

/*
 * Start COPY FROM on the decoded bytes.  COPY wants a relation even for raw
 * fields, which never touch it; stockking.ledger_import serves (it is only
 * opened, AccessShareLock).
 */
static void
reader_begin(csv_reader *r, const char *data, int len, char delim)
{
	List	   *options;

	copy_data = data;
	copy_len = len;
	copy_pos = 0;
	options = list_make3(makeDefElem("format", (Node *) makeString(pstrdup("csv")), -1),
						 makeDefElem("delimiter", (Node *) makeString(psprintf("%c", delim)), -1),
						 makeDefElem("encoding", (Node *) makeString(pstrdup("UTF8")), -1));
	memset(r, 0, sizeof(*r));
	r->rel = table_openrv(makeRangeVar("stockking", "ledger_import", -1), AccessShareLock);
	r->cstate = BeginCopyFrom(NULL, r->rel, NULL, NULL, false, copy_read, NIL, options);
	r->cap = 16;
	r->buf = palloc(sizeof(char *) * r->cap);
}

static void
reader_end(csv_reader *r)
{
	EndCopyFrom(r->cstate);
	table_close(r->rel, NoLock);
	copy_data = NULL;
}

/* s without the spaces (and tabs, unless they delimit) around it; in place */
static char *
trim_field(char *s, char delim)
{
	char	   *e;

	while (*s == ' ' || (*s == '\t' && delim != '\t'))
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || (e[-1] == '\t' && delim != '\t')))
		e--;
	*e = '\0';
	return s;
}

/*
 * The next record; false at the end of the file.  A data error of the COPY
 * parser (an unterminated quoted field) becomes SK108 naming its line.
 */
static bool
csv_next(csv_reader *r, char delim)
{
	MemoryContext cxt = CurrentMemoryContext;
	char	  **raw = NULL;
	int			n = 0;
	int			first_line;
	volatile bool found = false;

	if (r->next_saved < r->nsaved)
	{
		r->cur = r->saved[r->next_saved++];
		return true;
	}
	first_line = (int) r->cstate->cur_lineno + 1;
	PG_TRY();
	{
		found = NextCopyFromRawFields(r->cstate, &raw, &n);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		if (ERRCODE_TO_CATEGORY(edata->sqlerrcode) != ERRCODE_DATA_EXCEPTION)
			PG_RE_THROW();
		FlushErrorState();
		ereport(ERROR,
				(errcode(ERRCODE_SK_LEDGER_BAD_FILE),
				 errmsg("line %d of the file: %s", first_line, edata->message),
				 errhint("Export the file as CSV (comma or tab separated text).")));
	}
	PG_END_TRY();
	if (!found)
		return false;
	if (n > r->cap)
	{
		r->cap = Max(n, r->cap * 2);
		r->buf = repalloc(r->buf, sizeof(char *) * r->cap);
	}
	for (int k = 0; k < n; k++)
		r->buf[k] = raw[k] == NULL ? "" : trim_field(raw[k], delim);
	r->cur.line = first_line;
	r->cur.nfields = n;
	r->cur.fields = r->buf;
	return true;
}

static bool
record_blank(const csv_record *rec)
{
	for (int k = 0; k < rec->nfields; k++)
		if (rec->fields[k][0] != '\0')
			return false;
	return true;
}

static csv_record
record_copy(const csv_record *rec)
{
	csv_record	c = *rec;

	c.fields = palloc(sizeof(char *) * Max(rec->nfields, 1));
	for (int k = 0; k < rec->nfields; k++)
		c.fields[k] = pstrdup(rec->fields[k]);
	return c;
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

/*
 * The file's line ends as LF: COPY wants one kind of line end in a file,
 * and exports mix them (CRLF rows, LF inside quoted fields) or use CR alone.
 */
static void
normalise_line_ends(csv_file *f)
{
	const char *cr = memchr(f->data, '\r', f->len);
	char	   *out;
	int			o;

	if (cr == NULL)
		return;
	out = palloc(f->len + 1);
	o = cr - f->data;
	memcpy(out, f->data, o);
	for (int k = o; k < f->len; k++)
	{
		if (f->data[k] != '\r')
			out[o++] = f->data[k];
		else if (k + 1 >= f->len || f->data[k + 1] != '\n')
			out[o++] = '\n';
	}
	out[o] = '\0';
	f->data = out;
	f->len = o;
}

/* decode, find the delimiter and the header; leaves f->r after the header */
static void
open_csv(bytea *body, csv_file *f)
{
	int			best_known = -1;
	int			best = -1;
	int			records = 0;
	csv_record *seen = palloc(sizeof(csv_record) * 30);

	decode_file(body, f);
	normalise_line_ends(f);
	f->delim = detect_delimiter(f->data, f->len);
	reader_begin(&f->r, f->data, f->len, f->delim);
	while (records < 30 && csv_next(&f->r, f->delim))
	{
		int			known = 0;

		if (record_blank(&f->r.cur))
			continue;
		seen[records] = record_copy(&f->r.cur);
		records++;
		for (int k = 0; k < f->r.cur.nfields; k++)
		{
			int			conf;

			if (header_role(f->r.cur.fields[k], &conf) != R_COUNT && conf >= 70)
				known++;
		}
		if (known >= 2)
		{
			best = records - 1;
			break;
		}
		if (known > best_known)
		{
			best_known = known;
			best = records - 1;
		}
	}
	if (records == 0)
		ereport(ERROR,
				(errcode(ERRCODE_SK_LEDGER_BAD_FILE),
				 errmsg("the file has no rows")));
	/* the header's names; the records read after it are handed out again */
	f->header_line = seen[best].line;
	f->ncols = seen[best].nfields;
	f->header = seen[best].fields;
	f->r.saved = seen + best + 1;
	f->r.nsaved = records - best - 1;
	f->r.next_saved = 0;
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
	csv_record *rec = &f->r.cur;
	int			seen = 0;
	bool		taken[R_COUNT];
	StringInfoData *samples = palloc0(sizeof(StringInfoData) * Max(f->ncols, 1));
	int		   *nsamples = palloc0(sizeof(int) * Max(f->ncols, 1));

	for (int c = 0; c < f->ncols; c++)
	{
		memset(&g[c], 0, sizeof(column_guess));
		initStringInfo(&samples[c]);
	}
	*data_rows = 0;
	while (csv_next(&f->r, f->delim))
	{
		if (record_blank(rec))
			continue;
		(*data_rows)++;
		if (seen >= 10)
			continue;
		seen++;
		for (int c = 0; c < f->ncols && c < rec->nfields; c++)
		{
			DateADT		d;
			int64		v;
			bool		neg;

			if (rec->fields[c][0] == '\0')
				continue;
			g[c].samples++;
			if (parse_row_date(rec->fields[c], &d))
				g[c].dates++;
			else if (parse_money(rec->fields[c], &v, &neg) == 0)
				g[c].amounts++;
			if (nsamples[c] < 3)
			{
				if (nsamples[c]++ > 0)
					appendStringInfoString(&samples[c], ", ");
				escape_json(&samples[c], rec->fields[c]);
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
	reader_end(&f.r);

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

/* ---------------------------------------------------------------------
 * Row fingerprints
 *
 * A row's identity is its date, kind, amount and description as the file
 * has them; its fingerprint adds its occurrence among the rows of the file
 * with the same identity (two equal coffees on one day are two entries).
 * The fingerprint is SHA-256 over a canonical text encoding, the same on
 * every machine:
 *
 *	"stockking-ledger-row-2" NUL YYYY-MM-DD NUL EXPENSE|INCOME NUL amount
 *	NUL description NUL occurrence
 *
 * (amount and occurrence in decimal; text holds no NUL, so the encoding is
 * unambiguous), stored as a uuid of the digest's first 128 bits;
 * stockking.ledger_row_fingerprint() computes the same in SQL.  The
 * occurrences are counted in memory by a key of the identity that is
 * release 0.1.0's, from which the row's 0.1.0 fingerprint follows
 * (stockking.ledger_row_fingerprint_v1() in SQL).
 * --------------------------------------------------------------------- */

#define LEDGER_FP_VERSION "stockking-ledger-row-2"

static pg_cryptohash_ctx *
ledger_fingerprint_begin(void)
{
	pg_cryptohash_ctx *ctx = pg_cryptohash_create(PG_SHA256);

	if (ctx == NULL)
		elog(ERROR, "could not create a SHA-256 context");
	return ctx;
}

static void
ledger_fingerprint_end(pg_cryptohash_ctx *ctx)
{
	pg_cryptohash_free(ctx);
}

/* SHA-256 of the canonical encoding: the parts joined by NUL bytes */
static void
sha256_parts(pg_cryptohash_ctx *ctx, const char *const *parts, int nparts, uint8 *out)
{
	if (pg_cryptohash_init(ctx) < 0)
		elog(ERROR, "could not initialize SHA-256: %s", pg_cryptohash_error(ctx));
	for (int k = 0; k < nparts; k++)
	{
		if ((k > 0 && pg_cryptohash_update(ctx, (const uint8 *) "", 1) < 0) ||
			pg_cryptohash_update(ctx, (const uint8 *) parts[k], strlen(parts[k])) < 0)
			elog(ERROR, "could not update SHA-256: %s", pg_cryptohash_error(ctx));
	}
	if (pg_cryptohash_final(ctx, out, PG_SHA256_DIGEST_LENGTH) < 0)
		elog(ERROR, "could not finish SHA-256: %s", pg_cryptohash_error(ctx));
}

/* the parts 0 to 4 of a row's canonical encoding; part 5, the occurrence, is the caller's */
static void
row_parts(DateADT date, int kind, int64 amount, const char *desc, char *date_buf, char *amount_buf,
		  const char **parts)
{
	int			y,
				m,
				d;

	j2date(date + POSTGRES_EPOCH_JDATE, &y, &m, &d);
	snprintf(date_buf, 16, "%04d-%02d-%02d", y, m, d);
	snprintf(amount_buf, 32, INT64_FORMAT, amount);
	parts[0] = LEDGER_FP_VERSION;
	parts[1] = date_buf;
	parts[2] = ledger_kind_name(kind);
	parts[3] = amount_buf;
	parts[4] = desc;
}

/*
 * A key of a row's identity, for counting its occurrences within one file:
 * release 0.1.0's, 128 bits of two seeds of hash_bytes_extended over
 * "date|E or I|amount|description" (date as days since 2000-01-01).  It is
 * kept in memory only for the call, and it is the first half of the row's
 * 0.1.0 fingerprint (ledger_legacy_fingerprint below).
 */
static void
ledger_row_identity(DateADT date, int kind, int64 amount, const char *desc, uint8 *out)
{
	StringInfoData id;
	uint64		h[2];

	initStringInfo(&id);
	appendStringInfo(&id, "%d|%c|" INT64_FORMAT "|%s", (int) date, kind == LEDGER_INCOME ? 'I' : 'E', amount, desc);
	h[0] = hash_bytes_extended((const unsigned char *) id.data, id.len, UINT64CONST(0));
	h[1] = hash_bytes_extended((const unsigned char *) id.data, id.len, UINT64CONST(0x9E3779B97F4A7C15));
	memcpy(out, h, 16);
	pfree(id.data);
}

/* a row's fingerprint: the first 128 bits of the SHA-256 of its identity and occurrence */
static pg_uuid_t *
ledger_row_fingerprint(pg_cryptohash_ctx *ctx, DateADT date, int kind, int64 amount, const char *desc,
					   int occurrence)
{
	char		date_buf[16];
	char		amount_buf[32];
	char		occ_buf[16];
	const char *parts[6];
	uint8		digest[PG_SHA256_DIGEST_LENGTH];
	pg_uuid_t  *fp = palloc(sizeof(pg_uuid_t));

	row_parts(date, kind, amount, desc, date_buf, amount_buf, parts);
	snprintf(occ_buf, sizeof(occ_buf), "%d", occurrence);
	parts[5] = occ_buf;
	sha256_parts(ctx, parts, 6, digest);
	memcpy(fp->data, digest, UUID_LEN);
	return fp;
}

/*
 * The fingerprint of release 0.1.0, from a row's identity key (above) and
 * its occurrence: two seeds of hash_bytes_extended, whose result depends on
 * the machine's byte order.  0.1.0 stored it in ledger_entry.fingerprint;
 * the upgrade moves it to legacy_fingerprint where it cannot prove the
 * row's SHA-256 one (stockking.ledger_refingerprint()), and the import
 * computes it for every row so that such an entry still counts as already
 * in the ledger.
 */
static pg_uuid_t *
ledger_legacy_fingerprint(const uint8 *identity, int occurrence)
{
	unsigned char occ[20];
	uint64		h[2];
	pg_uuid_t  *fp = palloc(sizeof(pg_uuid_t));

	memcpy(occ, identity, 16);
	memcpy(occ + 16, &occurrence, 4);
	h[0] = hash_bytes_extended(occ, sizeof(occ), UINT64CONST(0));
	h[1] = hash_bytes_extended(occ, sizeof(occ), UINT64CONST(0x9E3779B97F4A7C15));
	memcpy(fp->data, h, 16);
	return fp;
}

/* the arguments of the two SQL functions below */
static void
fingerprint_args(FunctionCallInfo fcinfo, DateADT *date, int *kind, int64 *amount, char **desc, int *occurrence)
{
	char	   *k = text_to_cstring(PG_GETARG_TEXT_PP(1));

	*date = PG_GETARG_DATEADT(0);
	if (strcmp(k, "EXPENSE") == 0)
		*kind = LEDGER_EXPENSE;
	else if (strcmp(k, "INCOME") == 0)
		*kind = LEDGER_INCOME;
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("kind must be EXPENSE or INCOME")));
	*amount = PG_GETARG_INT64(2);
	*desc = text_to_cstring(PG_GETARG_TEXT_PP(3));
	*occurrence = PG_GETARG_INT32(4);
	if (*occurrence < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("occurrence must be at least 1")));
}

/*
 * stockking.ledger_row_fingerprint(entry_date date, kind text, amount bigint,
 *		description text, occurrence integer) RETURNS uuid
 */
Datum
stockking_ledger_row_fingerprint(PG_FUNCTION_ARGS)
{
	DateADT		date;
	int			kind;
	int64		amount;
	char	   *desc;
	int			occurrence;
	pg_cryptohash_ctx *ctx;
	pg_uuid_t  *fp;

	fingerprint_args(fcinfo, &date, &kind, &amount, &desc, &occurrence);
	ctx = ledger_fingerprint_begin();
	fp = ledger_row_fingerprint(ctx, date, kind, amount, desc, occurrence);
	ledger_fingerprint_end(ctx);
	PG_RETURN_UUID_P(fp);
}

/* stockking.ledger_row_fingerprint_v1(...): the same arguments, release 0.1.0's hash */
Datum
stockking_ledger_row_fingerprint_v1(PG_FUNCTION_ARGS)
{
	DateADT		date;
	int			kind;
	int64		amount;
	char	   *desc;
	int			occurrence;
	uint8		identity[16];

	fingerprint_args(fcinfo, &date, &kind, &amount, &desc, &occurrence);
	ledger_row_identity(date, kind, amount, desc, identity);
	PG_RETURN_UUID_P(ledger_legacy_fingerprint(identity, occurrence));
}

/* occurrences of a row's identity within the file */
typedef struct fp_entry
{
	uint8		key[16];
	int			count;
} fp_entry;

static inline const char *
field_of(const csv_record *r, int col)
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
 * RETURNS TABLE (line, entry_date, kind, amount, merchant, category, memo, fingerprint, error,
 *				  legacy_fingerprint)
 *
 * legacy_fingerprint is the row's fingerprint as release 0.1.0 made it.  It
 * is the last column so that release 0.1.0's declaration of this function
 * (nine columns), which runs against this library between its installation
 * and ALTER EXTENSION UPDATE, reads the same nine; that declaration's
 * fingerprint column gets the 0.1.0 fingerprint, what 0.1.0 stored and what
 * the upgrade takes every stored fingerprint for.
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
	pg_cryptohash_ctx *fp;
	bool		release_010;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_SK_LEDGER_BAD_FILE),
				 errmsg("the file is empty")));
	body = PG_GETARG_BYTEA_PP(0);
	jmap = PG_ARGISNULL(1) ? NULL : PG_GETARG_JSONB_P(1);
	ref = PG_ARGISNULL(2) ? ledger_today() : PG_GETARG_DATEADT(2);
	InitMaterializedSRF(fcinfo, 0);
	release_010 = rsinfo->setDesc->natts < 10;
	open_csv(body, &f);
	read_mapping(jmap, &f, map, &negative_income);
	ledger_dicts(&global, &family);

	memset(&hctl, 0, sizeof(hctl));
	hctl.keysize = 16;
	hctl.entrysize = sizeof(fp_entry);
	hctl.hcxt = CurrentMemoryContext;
	seen = hash_create("ledger import fingerprints", 1024, &hctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	rowcxt = AllocSetContextCreate(CurrentMemoryContext, "ledger import row", ALLOCSET_DEFAULT_SIZES);

	fp = ledger_fingerprint_begin();
	while (csv_next(&f.r, f.delim))
	{
		Datum		values[10];
		bool		nulls[10];
		char	   *error = NULL;
		DateADT		date = 0;
		int64		amount = 0;
		int			kind = -1;
		const char *desc;
		const char *merchant = NULL;
		const char *category = NULL;
		char	   *memo = NULL;

		if (record_blank(&f.r.cur))
			continue;
		CHECK_FOR_INTERRUPTS();
		old = MemoryContextSwitchTo(rowcxt);
		MemoryContextReset(rowcxt);
		memset(nulls, 0, sizeof(nulls));

		/* the date */
		if (!parse_row_date(field_of(&f.r.cur, map[R_DATE]), &date))
			error = psprintf("the date \"%s\" is not a date", quoted_value(field_of(&f.r.cur, map[R_DATE])));
		else if (date > ref)
			error = psprintf("the date %s is in the future", sk_date_iso(date));

		/* the amount and the kind */
		if (error == NULL && (map[R_WITHDRAWAL] >= 0 || map[R_DEPOSIT] >= 0))
		{
			int64		w = 0,
						d = 0;
			bool		neg;
			int			rw = map[R_WITHDRAWAL] >= 0 ? parse_money(field_of(&f.r.cur, map[R_WITHDRAWAL]), &w, &neg) : 1;
			int			rd = map[R_DEPOSIT] >= 0 ? parse_money(field_of(&f.r.cur, map[R_DEPOSIT]), &d, &neg) : 1;

			if (rw < 0)
				error = psprintf("the withdrawal \"%s\" is not an amount of won",
								 quoted_value(field_of(&f.r.cur, map[R_WITHDRAWAL])));
			else if (rd < 0)
				error = psprintf("the deposit \"%s\" is not an amount of won",
								 quoted_value(field_of(&f.r.cur, map[R_DEPOSIT])));
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
			int			rc = map[R_AMOUNT] >= 0 ? parse_money(field_of(&f.r.cur, map[R_AMOUNT]), &amount, &neg) : 1;

			if (rc == 1)
				error = pstrdup("the row has no amount");
			else if (rc < 0)
				error = psprintf("the amount \"%s\" is not an amount of won", quoted_value(field_of(&f.r.cur, map[R_AMOUNT])));
			else
			{
				int			said = map[R_KIND] >= 0 ? kind_word(field_of(&f.r.cur, map[R_KIND])) : -1;

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
		desc = field_of(&f.r.cur, map[R_DESCRIPTION]);
		if (error == NULL)
		{
			const char *cat_field = field_of(&f.r.cur, map[R_CATEGORY]);

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
				memo = pstrdup(field_of(&f.r.cur, map[R_MEMO]));
			else if (merchant != NULL && strcmp(merchant, desc) != 0)
				memo = clip_chars(desc, LEDGER_MAX_TEXT_CHARS);
			else
				memo = pstrdup("");
			if (error == NULL && char_count(memo) > LEDGER_MAX_TEXT_CHARS)
				error = pstrdup("the memo is longer than 500 characters");
		}

		values[0] = Int32GetDatum(f.r.cur.line);
		if (error != NULL)
		{
			for (int k = 1; k < 8; k++)
				nulls[k] = true;
			values[8] = CStringGetTextDatum(error);
			nulls[9] = true;
		}
		else
		{
			uint8		key[16];
			fp_entry   *e;
			bool		found;

			/* the row's identity, and its occurrence among equal rows of the file */
			ledger_row_identity(date, kind, amount, desc, key);
			e = hash_search(seen, key, HASH_ENTER, &found);
			e->count = found ? e->count + 1 : 1;

			values[1] = DateADTGetDatum(date);
			values[2] = CStringGetTextDatum(ledger_kind_name(kind));
			values[3] = Int64GetDatum(amount);
			values[4] = merchant ? CStringGetTextDatum(merchant) : (Datum) 0;
			nulls[4] = merchant == NULL;
			values[5] = CStringGetTextDatum(category);
			values[6] = CStringGetTextDatum(memo);
			nulls[8] = true;
			if (release_010)
			{
				values[7] = UUIDPGetDatum(ledger_legacy_fingerprint(key, e->count));
				nulls[9] = true;	/* not a column of that declaration */
			}
			else
			{
				values[7] = UUIDPGetDatum(ledger_row_fingerprint(fp, date, kind, amount, desc, e->count));
				values[9] = UUIDPGetDatum(ledger_legacy_fingerprint(key, e->count));
			}
		}
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		MemoryContextSwitchTo(old);
	}
	reader_end(&f.r);
	ledger_fingerprint_end(fp);
	MemoryContextDelete(rowcxt);
	hash_destroy(seen);
	return (Datum) 0;
}
