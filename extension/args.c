/*
 * args.c
 *	  jsonb argument readers, dates and SPI statement helpers
 *	  shared by the api functions written in C.
 */
#include "stockking.h"

#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/numeric.h"
#include "utils/syscache.h"

static JsonbValue *
find_key(Jsonb *args, const char *key)
{
	JsonbValue *v;

	if (args == NULL || !JB_ROOT_IS_OBJECT(args))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("arguments must be a JSON object")));
	v = getKeyJsonValueFromContainer(&args->root, key, strlen(key), NULL);
	if (v != NULL && v->type == jbvNull)
		return NULL;
	return v;
}

static void
missing(const char *key)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("field \"%s\" is required", key)));
}

/* text of a string or number value; NULL for other types */
static char *
scalar_text(JsonbValue *v)
{
	if (v->type == jbvString)
		return pnstrdup(v->val.string.val, v->val.string.len);
	if (v->type == jbvNumeric)
		return DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v->val.numeric)));
	return NULL;
}

bool
sk_arg_text(Jsonb *args, const char *key, bool required, char **out)
{
	JsonbValue *v = find_key(args, key);

	if (v == NULL)
	{
		if (required)
			missing(key);
		return false;
	}
	*out = scalar_text(v);
	if (*out == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("field \"%s\" must be a string", key)));
	return true;
}

/*
 * Parse a decimal "[-]digits[.digits]" with at most max_decimals decimals
 * into value x 10^scale.  Returns false when the text is not such a number
 * or does not fit.
 */
static bool
parse_decimal(const char *s, int scale, int64 *out)
{
	bool		negative = false;
	int64		value = 0;
	int			digits = 0;
	int			decimals = -1;

	while (*s == ' ')
		s++;
	if (*s == '-')
	{
		negative = true;
		s++;
	}
	for (; *s; s++)
	{
		if (*s == '.' && decimals < 0)
		{
			decimals = 0;
			continue;
		}
		if (*s < '0' || *s > '9')
			break;
		if (decimals >= 0 && ++decimals > scale)
			return false;
		if (++digits > 18)
			return false;
		value = value * 10 + (*s - '0');
	}
	while (*s == ' ')
		s++;
	if (*s != '\0' || digits == 0)
		return false;
	for (int i = Max(decimals, 0); i < scale; i++)
	{
		if (value > PG_INT64_MAX / 10)
			return false;
		value *= 10;
	}
	*out = negative ? -value : value;
	return true;
}

bool
sk_arg_int64(Jsonb *args, const char *key, bool required, int64 *out)
{
	char	   *text;

	if (!sk_arg_text(args, key, required, &text))
		return false;
	if (!parse_decimal(text, 0, out))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("field \"%s\" must be a whole number", key),
				 errdetail("Got \"%.40s\".", text)));
	return true;
}

bool
sk_arg_micros(Jsonb *args, const char *key, bool required, int64 *out)
{
	char	   *text;

	if (!sk_arg_text(args, key, required, &text))
		return false;
	if (!parse_decimal(text, 6, out))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("field \"%s\" must be a decimal number with at most 6 decimals", key),
				 errdetail("Got \"%.40s\".", text)));
	return true;
}

int
sk_exec(sk_stmt *stmt, Datum *values, const char *nulls, bool read_only, long count)
{
	int			rc;

	if (stmt->plan == NULL)
	{
		SPIPlanPtr	plan = SPI_prepare(stmt->sql, stmt->nargs, stmt->argtypes);

		if (plan == NULL)
			elog(ERROR, "SPI_prepare failed for \"%s\": %s", stmt->sql, SPI_result_code_string(SPI_result));
		if (SPI_keepplan(plan) != 0)
			elog(ERROR, "SPI_keepplan failed");
		stmt->plan = plan;
	}
	rc = SPI_execute_plan(stmt->plan, values, nulls, read_only, count);
	if (rc < 0)
		elog(ERROR, "SPI_execute_plan failed for \"%s\": %s", stmt->sql, SPI_result_code_string(rc));
	return rc;
}

Datum
sk_get_datum(int row, int col, bool *isnull)
{
	return SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col, isnull);
}

int64
sk_get_int64(int row, int col, bool *isnull)
{
	bool		null;
	Datum		d = sk_get_datum(row, col, &null);

	if (isnull != NULL)
		*isnull = null;
	else if (null)
		elog(ERROR, "unexpected NULL in column %d", col);
	if (null)
		return 0;
	switch (SPI_gettypeid(SPI_tuptable->tupdesc, col))
	{
		case INT8OID:
			return DatumGetInt64(d);
		case INT4OID:
			return DatumGetInt32(d);
		case INT2OID:
			return DatumGetInt16(d);
		default:
			elog(ERROR, "column %d is not an integer", col);
	}
	return 0;
}

char *
sk_get_text(int row, int col)
{
	return SPI_getvalue(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col);
}

char *
sk_date_iso(DateADT date)
{
	struct pg_tm tm;
	char		buf[MAXDATELEN + 1];

	if (DATE_NOT_FINITE(date))
		return pstrdup(DATE_IS_NOBEGIN(date) ? "-infinity" : "infinity");
	j2date(date + POSTGRES_EPOCH_JDATE, &tm.tm_year, &tm.tm_mon, &tm.tm_mday);
	EncodeDateOnly(&tm, USE_XSD_DATES, buf);
	return pstrdup(buf);
}

Datum
sk_jsonb_from_buf(StringInfo buf)
{
	return DirectFunctionCall1(jsonb_in, CStringGetDatum(buf->data));
}

Datum
sk_exec_jsonb(sk_stmt *stmt, Datum *values, const char *nulls)
{
	bool		isnull;
	Datum		d;

	sk_exec(stmt, values, nulls, false, 1);
	if (SPI_processed != 1)
		elog(ERROR, "expected one row from \"%s\"", stmt->sql);
	d = sk_get_datum(0, 1, &isnull);
	if (isnull)
		elog(ERROR, "unexpected NULL from \"%s\"", stmt->sql);
	return SPI_datumTransfer(d, false, -1);
}
