/*
 * market.c
 *	  Market data: the COPY-based loader of the shipped CSV files, and the
 *	  price-bar look-up the trading engine uses.
 *
 * stockking.load_market_data(dir) reads two files of dir:
 *
 *	sp500-2000.csv	date,open,high,low,close,adjclose,volume	daily bars of SP500
 *	stocks.csv		symbol,date,price (date like "Jan 1 2000")	monthly closes
 *
 * The files are read with PostgreSQL's own COPY parser (BeginCopyFrom and
 * NextCopyFromRawFields, CSV, UTF-8): COPY does the buffered reading, the
 * quoting and the encoding checks, and hands back each row's fields as
 * text.  Every field is then checked here by a small Check/Parse helper
 * instead of COPY's type input functions, because those accept more than a
 * price file may hold (signs, exponents, blanks, dates in any DateStyle,
 * numeric(20,6) silently rounding a seventh decimal), and because an error
 * must name the file, the line and what is wrong.  Raw fields also need no
 * staging table: nothing is created, and nothing is written until both
 * files have been read in full.  Any malformed row raises SK011
 * (bad_market_data); being an ERROR, it leaves the database as it was.
 *
 * A monthly row is labelled by its month's first day but carries the
 * month's closing price: its bar is stamped at the month's last weekday,
 * the first day on which that close is known (see price_bar.bar_date).
 *
 * The load mirrors the files.  For every symbol a file holds, bars that are
 * new or differ are upserted and bars the file no longer has are deleted,
 * all in one statement; bars that already match are not touched, so loading
 * the same files again writes nothing.  The table is locked in SHARE ROW
 * EXCLUSIVE mode for the rest of the transaction: readers go on, a second
 * load waits.
 *
 * stockking.bar_at(symbol, d) and sk_bar_at() return the latest bar at or
 * before a date by a backward scan of price_bar's primary key index (at
 * most two short probes, see FetchBarAt).
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/skey.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/namespace.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_type.h"
#include "commands/copy.h"
#include "datatype/timestamp.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/value.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/rls.h"
#include "utils/snapmgr.h"

#include "stockking.h"
#include "market.h"

PG_FUNCTION_INFO_V1(stockking_load_market_data);
PG_FUNCTION_INFO_V1(stockking_bar_at);

#define DAILY_FILE			"sp500-2000.csv"
#define DAILY_SYMBOL		"SP500"
#define MONTHLY_FILE		"stocks.csv"

/* price_bar's columns (sql/10_market.sql): numeric(20, 6) prices, bigint volume */
#define PRICE_INT_DIGITS	14
#define PRICE_DECIMALS		6
#define VOLUME_DIGITS		18
#define MIN_YEAR			1900

#define Anum_price_bar_bar_date 2
#define Anum_price_bar_open		3
#define Anum_price_bar_high		4
#define Anum_price_bar_low		5
#define Anum_price_bar_close	6
#define Anum_price_bar_volume	7

static const char *const daily_header[] = {"date", "open", "high", "low", "close", "adjclose", "volume"};
static const char *const monthly_header[] = {"symbol", "date", "price"};
static const char *const month_abbrevs[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
"Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* One input file being read; lineno is the 1-based line of the last record */
typedef struct MarketFile
{
	const char *name;			/* base name, as errors show it */
	char	   *path;
	CopyFromState cstate;
	uint64		lineno;
} MarketFile;

/* An instrument a file may name, with the state of its date-order check */
typedef struct KnownSymbol
{
	char	   *symbol;
	bool		monthly;		/* bar_interval is '1mo' */
	Datum		text;			/* the symbol as a text Datum */
	bool		seen;			/* a row of it was read in this load */
	DateADT		last_date;		/* bar_date of that row */
	char		last_label[16]; /* its date as the file wrote it */
} KnownSymbol;

/* Bars read so far, column by column: the arrays of the write statement */
typedef struct BarColumns
{
	int			n;
	int			cap;
	Datum	   *symbol;
	Datum	   *bar_date;
	Datum	   *open;
	Datum	   *high;
	Datum	   *low;
	Datum	   *close;
	Datum	   *volume;
	bool	   *volume_null;
} BarColumns;

typedef struct LoadState
{
	KnownSymbol *symbols;
	int			nsymbols;
	BarColumns	bars;
	DateADT		today;
} LoadState;

static void BadRow(const MarketFile *f, const char *fmt,...) pg_attribute_printf(2, 3) pg_attribute_noreturn();

/*
 * Raise SK011 for the current line of f; the message is
 * 'file "<name>" line <n>: <problem>'.
 */
static void
BadRow(const MarketFile *f, const char *fmt,...)
{
	StringInfoData problem;

	initStringInfo(&problem);
	for (;;)
	{
		va_list		args;
		int			needed;

		va_start(args, fmt);
		needed = appendStringInfoVA(&problem, fmt, args);
		va_end(args);
		if (needed == 0)
			break;
		enlargeStringInfo(&problem, needed);
	}
	ereport(ERROR,
			(errcode(ERRCODE_SK_BAD_MARKET_DATA),
			 errmsg("file \"%s\" line " UINT64_FORMAT ": %s", f->name, f->lineno, problem.data),
			 errdetail("The file is \"%s\". Nothing was loaded.", f->path)));
}

static inline bool
IsDigit(char c)
{
	return c >= '0' && c <= '9';
}

static DateADT
MakeDate(int year, int month, int day)
{
	return date2j(year, month, day) - POSTGRES_EPOCH_JDATE;
}

/* d as YYYY-MM-DD, whatever DateStyle says */
static char *
FormatDate(DateADT d)
{
	int			year;
	int			month;
	int			day;

	j2date(d + POSTGRES_EPOCH_JDATE, &year, &month, &day);
	return psprintf("%04d-%02d-%02d", year, month, day);
}

static inline bool
IsValidDate(int year, int month, int day)
{
	return year >= MIN_YEAR && year <= 9999 && month >= 1 && month <= 12 &&
		day >= 1 && day <= day_tab[isleap(year)][month - 1];
}

/* The last Monday-to-Friday day of a month */
static DateADT
LastWeekday(int year, int month)
{
	int			julian;
	int			dow;

	julian = (month == 12 ? date2j(year + 1, 1, 1) : date2j(year, month + 1, 1)) - 1;
	dow = j2day(julian);		/* 0 = Sunday .. 6 = Saturday */
	if (dow == 6)
		julian -= 1;
	else if (dow == 0)
		julian -= 2;
	return julian - POSTGRES_EPOCH_JDATE;
}

/*
 * Read the next record of f into fields.  Returns false at the end of the
 * file.  A data error of the COPY parser itself (an unterminated quoted
 * field, bytes that are not UTF-8) becomes SK011 naming the line.
 */
static bool
ReadRecord(MarketFile *f, char ***fields, int *nfields)
{
	MemoryContext cxt = CurrentMemoryContext;
	volatile bool found = false;

	f->lineno++;
	PG_TRY();
	{
		found = NextCopyFromRawFields(f->cstate, fields, nfields);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		if (ERRCODE_TO_CATEGORY(edata->sqlerrcode) != ERRCODE_DATA_EXCEPTION)
			PG_RE_THROW();
		FlushErrorState();
		BadRow(f, "%s", edata->message);
	}
	PG_END_TRY();
	return found;
}

static void
OpenMarketFile(MarketFile *f, Relation rel, const char *dir, const char *name)
{
	List	   *options;

	options = list_make2(makeDefElem("format", (Node *) makeString(pstrdup("csv")), -1),
						 makeDefElem("encoding", (Node *) makeString(pstrdup("UTF8")), -1));
	f->name = name;
	f->path = psprintf("%s/%s", dir, name);
	f->lineno = 0;

	/*
	 * BeginCopyFrom wants a relation for typed input; raw fields never use
	 * it, so the table the bars go to serves.
	 */
	f->cstate = BeginCopyFrom(NULL, rel, NULL, f->path, false, NULL, NIL, options);
}

/* The first record must be exactly the expected column names */
static void
CheckHeader(MarketFile *f, const char *const *expected, int nexpected)
{
	char	  **fields;
	int			nfields;
	bool		ok;
	StringInfoData want;

	ok = ReadRecord(f, &fields, &nfields) && nfields == nexpected;
	for (int i = 0; ok && i < nfields; i++)
	{
		const char *v = fields[i];

		if (v != NULL && i == 0 && strncmp(v, "\xEF\xBB\xBF", 3) == 0)
			v += 3;				/* a UTF-8 byte order mark */
		ok = v != NULL && strcmp(v, expected[i]) == 0;
	}
	if (ok)
		return;
	initStringInfo(&want);
	for (int i = 0; i < nexpected; i++)
		appendStringInfo(&want, "%s%s", i > 0 ? "," : "", expected[i]);
	BadRow(f, "the header must be \"%s\"", want.data);
}

static inline void
CheckFieldCount(const MarketFile *f, int nfields, int expected)
{
	if (nfields != expected)
		BadRow(f, "expected %d fields, found %d", expected, nfields);
}

/* Field i, which must not be empty */
static inline const char *
FieldText(const MarketFile *f, char **fields, int i, const char *column)
{
	if (fields[i] == NULL || fields[i][0] == '\0')
		BadRow(f, "column \"%s\" is empty", column);
	return fields[i];
}

/* A trading day written YYYY-MM-DD: a real date, a weekday, not in the future */
static DateADT
ParseIsoDate(const MarketFile *f, const char *s, DateADT today)
{
	static const char *const weekday_names[] = {"Sunday", "Saturday"};
	int			year;
	int			month;
	int			day;
	int			dow;
	DateADT		d;

	for (int i = 0; i < 10; i++)
	{
		if (i == 4 || i == 7 ? s[i] != '-' : !IsDigit(s[i]))
			BadRow(f, "column \"date\" value \"%.40s\" is not a date YYYY-MM-DD", s);
	}
	if (s[10] != '\0')
		BadRow(f, "column \"date\" value \"%.40s\" is not a date YYYY-MM-DD", s);
	year = atoi(s);
	month = atoi(s + 5);
	day = atoi(s + 8);
	if (!IsValidDate(year, month, day))
		BadRow(f, "date %s does not exist or is before %d", s, MIN_YEAR);
	dow = j2day(date2j(year, month, day));
	if (dow == 0 || dow == 6)
		BadRow(f, "date %s is a %s, not a trading day", s, weekday_names[dow == 6]);
	d = MakeDate(year, month, day);
	if (d > today)
		BadRow(f, "date %s is in the future", s);
	return d;
}

/*
 * A month label like "Jan 1 2000" (the month's first day).  Returns the
 * date the bar is stamped at: the month's last weekday, which must not be
 * in the future (the month's close is not known before it ends).
 */
static DateADT
ParseMonthLabel(const MarketFile *f, const char *s, DateADT today)
{
	int			month = 0;
	int			day = 0;
	int			year = 0;
	int			ndigits = 0;
	const char *p = s + 4;
	DateADT		stamp;

	for (int i = 0; i < 12 && month == 0; i++)
	{
		if (strncmp(s, month_abbrevs[i], 3) == 0)
			month = i + 1;
	}
	if (month == 0 || s[3] != ' ')
		goto malformed;
	for (; IsDigit(*p) && ndigits < 3; p++, ndigits++)
		day = day * 10 + (*p - '0');
	if (ndigits < 1 || ndigits > 2 || *p++ != ' ')
		goto malformed;
	for (ndigits = 0; IsDigit(*p) && ndigits < 5; p++, ndigits++)
		year = year * 10 + (*p - '0');
	if (ndigits != 4 || *p != '\0')
		goto malformed;
	if (!IsValidDate(year, month, day))
		BadRow(f, "date \"%s\" does not exist or is before %d", s, MIN_YEAR);
	if (day != 1)
		BadRow(f, "date \"%s\" is not the first of a month (a monthly row is labelled by its month's first day)", s);
	stamp = LastWeekday(year, month);
	if (stamp > today)
		BadRow(f, "the month of \"%s\" has not ended: its close is known on %s", s, FormatDate(stamp));
	return stamp;

malformed:
	BadRow(f, "column \"date\" value \"%.40s\" is not a month like \"Jan 1 2000\"", s);
}

/*
 * A price: digits with an optional point and 1 to 6 decimals, at most 14
 * digits before the point, greater than zero.  Returns the numeric Datum.
 */
static Datum
ParsePrice(const MarketFile *f, const char *column, const char *s)
{
	const char *p = s;
	int			int_digits = 0;
	int			decimals = 0;
	bool		nonzero = false;

	for (; IsDigit(*p); p++, int_digits++)
		nonzero |= *p != '0';
	if (*p == '.')
	{
		for (p++; IsDigit(*p); p++, decimals++)
			nonzero |= *p != '0';
		if (decimals == 0)
			int_digits = 0;		/* "1." is not a number */
	}
	if (*p != '\0' || int_digits == 0)
		BadRow(f, "column \"%s\" value \"%.40s\" is not a decimal number", column, s);
	if (decimals > PRICE_DECIMALS)
		BadRow(f, "column \"%s\" value \"%.40s\" has more than %d decimals", column, s, PRICE_DECIMALS);
	if (int_digits > PRICE_INT_DIGITS)
		BadRow(f, "column \"%s\" value \"%.40s\" has more than %d digits before the point",
			   column, s, PRICE_INT_DIGITS);
	if (!nonzero)
		BadRow(f, "column \"%s\" value \"%s\" is not positive", column, s);
	return DirectFunctionCall3(numeric_in, CStringGetDatum(s),
							   ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
}

/* A volume: a whole number of shares, zero or more */
static int64
ParseVolume(const MarketFile *f, const char *s)
{
	int64		v = 0;
	int			ndigits = 0;
	const char *p = s;

	for (; IsDigit(*p) && ndigits <= VOLUME_DIGITS; p++, ndigits++)
		v = v * 10 + (*p - '0');
	if (*p != '\0' || ndigits == 0 || ndigits > VOLUME_DIGITS)
		BadRow(f, "column \"volume\" value \"%.40s\" is not a whole number of shares", s);
	return v;
}

static inline int
NumericCmp(Datum a, Datum b)
{
	return DatumGetInt32(DirectFunctionCall2(numeric_cmp, a, b));
}

/* low <= open, close <= high; texts are the four fields as written */
static void
CheckBarRange(const MarketFile *f, const Datum *ohlc, const char *const *texts)
{
	static const char *const names[] = {"open", "high", "low", "close"};

	if (NumericCmp(ohlc[2], ohlc[1]) > 0)
		BadRow(f, "low %s is above high %s", texts[2], texts[1]);
	for (int i = 0; i < 4; i += 3)
	{
		if (NumericCmp(ohlc[i], ohlc[2]) < 0 || NumericCmp(ohlc[i], ohlc[1]) > 0)
			BadRow(f, "%s %s is outside the bar's low-high range %s..%s",
				   names[i], texts[i], texts[2], texts[1]);
	}
}

/* The instrument a row names: it must exist and have bars of the file's interval */
static KnownSymbol *
LookupSymbol(LoadState *st, const MarketFile *f, const char *symbol, bool monthly)
{
	for (int i = 0; i < st->nsymbols; i++)
	{
		KnownSymbol *k = &st->symbols[i];

		if (strcmp(k->symbol, symbol) != 0)
			continue;
		if (k->monthly != monthly)
			BadRow(f, "symbol \"%s\" has %s bars, but this file holds %s ones", symbol,
				   k->monthly ? "monthly" : "daily", monthly ? "monthly" : "daily");
		return k;
	}
	BadRow(f, "unknown symbol \"%.40s\" (not in stockking.instrument)", symbol);
}

/* Each symbol's rows come in ascending date order, one per date */
static void
CheckDateOrder(const MarketFile *f, KnownSymbol *k, DateADT d, const char *label)
{
	if (k->seen && d <= k->last_date)
		BadRow(f, "date \"%s\" of %s is not after the date of its previous row, \"%s\"",
			   label, k->symbol, k->last_label);
	k->seen = true;
	k->last_date = d;
	strlcpy(k->last_label, label, sizeof(k->last_label));
}

static void
AddBar(BarColumns *b, const KnownSymbol *k, DateADT d, const Datum *ohlc, int64 volume, bool volume_null)
{
	if (b->n == b->cap)
	{
		b->cap = b->cap == 0 ? 1024 : b->cap * 2;
		if (b->symbol == NULL)
		{
			b->symbol = palloc(sizeof(Datum) * b->cap);
			b->bar_date = palloc(sizeof(Datum) * b->cap);
			b->open = palloc(sizeof(Datum) * b->cap);
			b->high = palloc(sizeof(Datum) * b->cap);
			b->low = palloc(sizeof(Datum) * b->cap);
			b->close = palloc(sizeof(Datum) * b->cap);
			b->volume = palloc(sizeof(Datum) * b->cap);
			b->volume_null = palloc(sizeof(bool) * b->cap);
		}
		else
		{
			b->symbol = repalloc(b->symbol, sizeof(Datum) * b->cap);
			b->bar_date = repalloc(b->bar_date, sizeof(Datum) * b->cap);
			b->open = repalloc(b->open, sizeof(Datum) * b->cap);
			b->high = repalloc(b->high, sizeof(Datum) * b->cap);
			b->low = repalloc(b->low, sizeof(Datum) * b->cap);
			b->close = repalloc(b->close, sizeof(Datum) * b->cap);
			b->volume = repalloc(b->volume, sizeof(Datum) * b->cap);
			b->volume_null = repalloc(b->volume_null, sizeof(bool) * b->cap);
		}
	}
	b->symbol[b->n] = k->text;
	b->bar_date[b->n] = DateADTGetDatum(d);
	b->open[b->n] = ohlc[0];
	b->high[b->n] = ohlc[1];
	b->low[b->n] = ohlc[2];
	b->close[b->n] = ohlc[3];
	b->volume[b->n] = Int64GetDatum(volume);
	b->volume_null[b->n] = volume_null;
	b->n++;
}

/* sp500-2000.csv: date,open,high,low,close,adjclose,volume; adjclose is checked, not kept */
static void
ReadDailyFile(LoadState *st, MarketFile *f)
{
	KnownSymbol *k = NULL;
	char	  **fields;
	int			nfields;
	int			rows = 0;

	for (int i = 0; i < st->nsymbols && k == NULL; i++)
	{
		if (strcmp(st->symbols[i].symbol, DAILY_SYMBOL) == 0 && !st->symbols[i].monthly)
			k = &st->symbols[i];
	}
	if (k == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("instrument \"%s\" with daily bars does not exist", DAILY_SYMBOL)));

	CheckHeader(f, daily_header, lengthof(daily_header));
	while (ReadRecord(f, &fields, &nfields))
	{
		const char *texts[4];
		Datum		ohlc[4];
		const char *date_text;
		DateADT		d;
		int64		volume;

		CheckFieldCount(f, nfields, lengthof(daily_header));
		date_text = FieldText(f, fields, 0, "date");
		d = ParseIsoDate(f, date_text, st->today);
		for (int i = 0; i < 4; i++)
		{
			texts[i] = FieldText(f, fields, i + 1, daily_header[i + 1]);
			ohlc[i] = ParsePrice(f, daily_header[i + 1], texts[i]);
		}
		(void) ParsePrice(f, "adjclose", FieldText(f, fields, 5, "adjclose"));
		volume = ParseVolume(f, FieldText(f, fields, 6, "volume"));
		CheckBarRange(f, ohlc, texts);
		CheckDateOrder(f, k, d, date_text);
		AddBar(&st->bars, k, d, ohlc, volume, false);
		rows++;
	}
	if (rows == 0)
		BadRow(f, "no data rows after the header");
}

/* stocks.csv: symbol,date,price with monthly labels; one price is the whole bar */
static void
ReadMonthlyFile(LoadState *st, MarketFile *f)
{
	char	  **fields;
	int			nfields;
	int			rows = 0;

	CheckHeader(f, monthly_header, lengthof(monthly_header));
	while (ReadRecord(f, &fields, &nfields))
	{
		KnownSymbol *k;
		const char *label;
		DateADT		stamp;
		Datum		price;
		Datum		ohlc[4];

		CheckFieldCount(f, nfields, lengthof(monthly_header));
		k = LookupSymbol(st, f, FieldText(f, fields, 0, "symbol"), true);
		label = FieldText(f, fields, 1, "date");
		stamp = ParseMonthLabel(f, label, st->today);
		price = ParsePrice(f, "price", FieldText(f, fields, 2, "price"));
		CheckDateOrder(f, k, stamp, label);
		ohlc[0] = ohlc[1] = ohlc[2] = ohlc[3] = price;
		AddBar(&st->bars, k, stamp, ohlc, 0, true);
		rows++;
	}
	if (rows == 0)
		BadRow(f, "no data rows after the header");
}

/* The instruments rows may name, read once */
static void
LoadSymbols(LoadState *st)
{
	int			rc;

	rc = SPI_execute("SELECT symbol, bar_interval = '1mo' FROM stockking.instrument", true, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "reading stockking.instrument failed: %s", SPI_result_code_string(rc));
	st->nsymbols = (int) SPI_processed;
	st->symbols = palloc0(sizeof(KnownSymbol) * Max(st->nsymbols, 1));
	for (int i = 0; i < st->nsymbols; i++)
	{
		HeapTuple	tuple = SPI_tuptable->vals[i];
		KnownSymbol *k = &st->symbols[i];
		bool		isnull;

		k->symbol = SPI_getvalue(tuple, SPI_tuptable->tupdesc, 1);
		k->monthly = DatumGetBool(SPI_getbinval(tuple, SPI_tuptable->tupdesc, 2, &isnull));
		k->text = CStringGetTextDatum(k->symbol);
	}
	SPI_freetuptable(SPI_tuptable);
}

/*
 * The write: one statement over the bars as arrays.  src marks each bar
 * new or different from the stored one; only those are upserted.  Bars of
 * the files' symbols that the files do not have are deleted.  Returns the
 * per-symbol summary, copied out of SPI.
 */
static const char *const write_sql =
"WITH src AS MATERIALIZED ("
"    SELECT s.symbol, s.bar_date, s.open, s.high, s.low, s.close, s.volume,"
"           p.symbol IS NOT NULL AS existed,"
"           (p.open, p.high, p.low, p.close, p.volume)"
"               IS DISTINCT FROM (s.open, s.high, s.low, s.close, s.volume) AS differs"
"      FROM unnest($1::text[], $2::date[], $3::numeric[], $4::numeric[], $5::numeric[],"
"                  $6::numeric[], $7::bigint[]) AS s (symbol, bar_date, open, high, low, close, volume)"
"      LEFT JOIN stockking.price_bar p ON p.symbol = s.symbol AND p.bar_date = s.bar_date"
"), upserted AS ("
"    INSERT INTO stockking.price_bar AS b (symbol, bar_date, open, high, low, close, volume)"
"    SELECT symbol, bar_date, open, high, low, close, volume FROM src WHERE differs"
"    ON CONFLICT (symbol, bar_date) DO UPDATE"
"       SET open = excluded.open, high = excluded.high, low = excluded.low,"
"           close = excluded.close, volume = excluded.volume"
"), deleted AS ("
"    DELETE FROM stockking.price_bar b"
"     WHERE b.symbol IN (SELECT symbol FROM src)"
"       AND NOT EXISTS (SELECT 1 FROM src WHERE src.symbol = b.symbol AND src.bar_date = b.bar_date)"
"    RETURNING b.symbol"
")"
"SELECT jsonb_object_agg(f.symbol, jsonb_build_object("
"           'rows', f.n, 'first', f.first, 'last', f.last,"
"           'inserted', f.inserted, 'updated', f.updated,"
"           'deleted', (SELECT count(*) FROM deleted d WHERE d.symbol = f.symbol)))"
"  FROM (SELECT symbol, count(*) AS n, min(bar_date) AS first, max(bar_date) AS last,"
"               count(*) FILTER (WHERE differs AND NOT existed) AS inserted,"
"               count(*) FILTER (WHERE differs AND existed) AS updated"
"          FROM src GROUP BY symbol) f";

static Datum
WriteBars(LoadState *st)
{
	BarColumns *b = &st->bars;
	Oid			argtypes[7] = {TEXTARRAYOID, DATEARRAYOID, NUMERICARRAYOID, NUMERICARRAYOID,
	NUMERICARRAYOID, NUMERICARRAYOID, INT8ARRAYOID};
	Datum		values[7];
	int			dims[1] = {b->n};
	int			lbs[1] = {1};
	int			rc;
	bool		isnull;
	Datum		result;

	values[0] = PointerGetDatum(construct_array(b->symbol, b->n, TEXTOID, -1, false, TYPALIGN_INT));
	values[1] = PointerGetDatum(construct_array(b->bar_date, b->n, DATEOID, sizeof(DateADT), true, TYPALIGN_INT));
	values[2] = PointerGetDatum(construct_array(b->open, b->n, NUMERICOID, -1, false, TYPALIGN_INT));
	values[3] = PointerGetDatum(construct_array(b->high, b->n, NUMERICOID, -1, false, TYPALIGN_INT));
	values[4] = PointerGetDatum(construct_array(b->low, b->n, NUMERICOID, -1, false, TYPALIGN_INT));
	values[5] = PointerGetDatum(construct_array(b->close, b->n, NUMERICOID, -1, false, TYPALIGN_INT));
	values[6] = PointerGetDatum(construct_md_array(b->volume, b->volume_null, 1, dims, lbs,
												   INT8OID, sizeof(int64), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));

	rc = SPI_execute_with_args(write_sql, 7, argtypes, values, NULL, false, 0);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "writing price bars failed: %s", SPI_result_code_string(rc));
	result = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (isnull)
		elog(ERROR, "writing price bars returned no summary");
	return SPI_datumTransfer(result, false, -1);
}

/* Reading server files is for superusers and pg_read_server_files, as with COPY */
static inline void
CheckLoadPrivilege(void)
{
	if (!has_privs_of_role(GetUserId(), ROLE_PG_READ_SERVER_FILES))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to load market data files"),
				 errdetail("Only roles with privileges of the \"pg_read_server_files\" role may read files on the server.")));
}

static inline void
CheckDataDir(const char *dir)
{
	if (!is_absolute_path(dir))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("directory \"%s\" is not an absolute path", dir)));
	if (strlen(dir) + sizeof(DAILY_FILE) + 1 >= MAXPGPATH)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("directory name is too long")));
}

static Oid
PriceBarRelid(void)
{
	Oid			relid = get_relname_relid("price_bar", get_namespace_oid("stockking", false));

	if (!OidIsValid(relid))
		elog(ERROR, "table stockking.price_bar does not exist");
	return relid;
}

/*
 * stockking.load_market_data(dir text) RETURNS jsonb
 *
 * Load dir/sp500-2000.csv and dir/stocks.csv into stockking.price_bar.
 * Returns {"<symbol>": {"rows", "first", "last", "inserted", "updated",
 * "deleted"}, ...} for every symbol the files hold.
 */
Datum
stockking_load_market_data(PG_FUNCTION_ARGS)
{
	char	   *dir;
	MemoryContext scratch;
	LoadState	st;
	MarketFile	daily;
	MarketFile	monthly;
	Relation	rel;
	Datum		result;
	int			rc;

	CheckLoadPrivilege();
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("directory must not be null")));
	dir = text_to_cstring(PG_GETARG_TEXT_PP(0));
	CheckDataDir(dir);
	canonicalize_path(dir);

	scratch = AllocSetContextCreate(CurrentMemoryContext, "stockking market data load",
									ALLOCSET_DEFAULT_SIZES);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	MemoryContextSwitchTo(scratch);

	rc = SPI_execute("LOCK TABLE stockking.price_bar IN SHARE ROW EXCLUSIVE MODE", false, 0);
	if (rc != SPI_OK_UTILITY)
		elog(ERROR, "locking stockking.price_bar failed: %s", SPI_result_code_string(rc));

	memset(&st, 0, sizeof(st));
	st.today = GetSQLCurrentDate();
	LoadSymbols(&st);

	rel = table_open(PriceBarRelid(), AccessShareLock);
	OpenMarketFile(&daily, rel, dir, DAILY_FILE);
	ReadDailyFile(&st, &daily);
	EndCopyFrom(daily.cstate);
	OpenMarketFile(&monthly, rel, dir, MONTHLY_FILE);
	ReadMonthlyFile(&st, &monthly);
	EndCopyFrom(monthly.cstate);
	table_close(rel, NoLock);

	result = WriteBars(&st);
	SPI_finish();
	MemoryContextDelete(scratch);
	PG_RETURN_DATUM(result);
}

/* The caller must be able to read price_bar; row-level security is not applied here */
static inline void
CheckBarAccess(Oid relid)
{
	AclResult	aclresult = pg_class_aclcheck(relid, GetUserId(), ACL_SELECT);

	if (aclresult != ACLCHECK_OK)
		aclcheck_error(aclresult, OBJECT_TABLE, get_rel_name(relid));
	if (check_enable_rls(relid, InvalidOid, false) == RLS_ENABLED)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("bar look-up does not support row-level security on stockking.price_bar")));
}

/*
 * Put the latest bar of symbol with bar_date <= d into slot, by a backward
 * scan of the primary key (symbol, bar_date).  Returns false when none.
 *
 * A btree scan reads a whole leaf page ahead, checking every item it passes
 * until one fails a key required for the direction; bar_date <= d stops
 * nothing in a backward scan, so one probe would check up to a page of older
 * bars of the symbol.  The first probe therefore also bounds bar_date from
 * below by RECENT_DAYS, which holds the answer unless the symbol has no bar
 * in that window (a monthly bar is at most 33 days from the previous one);
 * only then does a second, unbounded probe run.
 */
#define RECENT_DAYS 40

static bool
FetchBarAt(Relation rel, text *symbol, DateADT d, TupleTableSlot *slot)
{
	Oid			indexid = RelationGetPrimaryKeyIndex(rel);
	Relation	index;
	IndexScanDesc scan;
	ScanKeyData keys[3];
	bool		found = false;

	if (!OidIsValid(indexid))
		elog(ERROR, "stockking.price_bar has no primary key");
	index = index_open(indexid, AccessShareLock);
	ScanKeyEntryInitialize(&keys[0], 0, 1, BTEqualStrategyNumber, InvalidOid,
						   index->rd_indcollation[0], F_TEXTEQ, PointerGetDatum(symbol));
	ScanKeyEntryInitialize(&keys[1], 0, 2, BTLessEqualStrategyNumber, InvalidOid,
						   index->rd_indcollation[1], F_DATE_LE, DateADTGetDatum(d));
	ScanKeyEntryInitialize(&keys[2], 0, 2, BTGreaterEqualStrategyNumber, InvalidOid,
						   index->rd_indcollation[1], F_DATE_GE, DateADTGetDatum(DATEVAL_NOBEGIN));
	scan = index_beginscan(rel, index, GetActiveSnapshot(), 3, 0);
	if (!DATE_NOT_FINITE(d))
	{
		keys[2].sk_argument = DateADTGetDatum(d - RECENT_DAYS);
		index_rescan(scan, keys, 3, NULL, 0);
		found = index_getnext_slot(scan, BackwardScanDirection, slot);
		keys[2].sk_argument = DateADTGetDatum(DATEVAL_NOBEGIN);
	}
	if (!found)
	{
		index_rescan(scan, keys, 3, NULL, 0);
		found = index_getnext_slot(scan, BackwardScanDirection, slot);
	}
	index_endscan(scan);
	index_close(index, NoLock);
	return found;
}

/*
 * stockking.bar_at(symbol text, d date) RETURNS stockking.price_bar
 *
 * The latest bar of symbol (exact, upper case) at or before d; NULL when
 * there is none.
 */
Datum
stockking_bar_at(PG_FUNCTION_ARGS)
{
	text	   *symbol = PG_GETARG_TEXT_PP(0);
	DateADT		d = PG_GETARG_DATEADT(1);
	Oid			relid = PriceBarRelid();
	Relation	rel;
	TupleTableSlot *slot;
	Datum		result = (Datum) 0;
	bool		found;

	CheckBarAccess(relid);
	rel = table_open(relid, AccessShareLock);
	slot = table_slot_create(rel, NULL);
	found = FetchBarAt(rel, symbol, d, slot);
	if (found)
		result = ExecFetchSlotHeapTupleDatum(slot);
	ExecDropSingleTupleTableSlot(slot);
	table_close(rel, NoLock);
	if (!found)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(result);
}

/* A numeric(20, 6) price as int64 micro-units (exact: the scale is 6) */
static int64
PriceMicros(Datum price)
{
	Datum		micros = DirectFunctionCall2(numeric_mul, price,
											 NumericGetDatum(int64_to_numeric(SK_MICRO)));

	return DatumGetInt64(DirectFunctionCall1(numeric_int8, micros));
}

bool
sk_bar_at(const char *symbol, DateADT d, sk_bar *bar)
{
	Oid			relid = PriceBarRelid();
	Relation	rel;
	TupleTableSlot *slot;
	bool		found;

	CheckBarAccess(relid);
	rel = table_open(relid, AccessShareLock);
	slot = table_slot_create(rel, NULL);
	found = FetchBarAt(rel, cstring_to_text(symbol), d, slot);
	if (found)
	{
		slot_getallattrs(slot);
		bar->bar_date = DatumGetDateADT(slot->tts_values[Anum_price_bar_bar_date - 1]);
		bar->open = PriceMicros(slot->tts_values[Anum_price_bar_open - 1]);
		bar->high = PriceMicros(slot->tts_values[Anum_price_bar_high - 1]);
		bar->low = PriceMicros(slot->tts_values[Anum_price_bar_low - 1]);
		bar->close = PriceMicros(slot->tts_values[Anum_price_bar_close - 1]);
		bar->volume_null = slot->tts_isnull[Anum_price_bar_volume - 1];
		bar->volume = bar->volume_null ? 0 : DatumGetInt64(slot->tts_values[Anum_price_bar_volume - 1]);
	}
	ExecDropSingleTupleTableSlot(slot);
	table_close(rel, NoLock);
	return found;
}
