/*
 * news.c
 *	  Economy news: the importer of news feeds in the JSON Feed 1.1 format
 *	  (https://jsonfeed.org/version/1.1), read with jsondoc.c.
 *
 * stockking.import_news(path) reads one feed file and upserts its items
 * into stockking.news_item by their id (the feed's "id", unique within the
 * feed and kept as guid): new items are inserted, changed ones updated,
 * unchanged ones not touched, so importing a file again writes nothing.  A
 * feed adds news; it never deletes an item.
 *
 * The feed is checked strictly before anything is written; a fault raises
 * SK350 naming the file and the line:
 *	  - the feed: "version" https://jsonfeed.org/version/1.1 (or 1), a
 *		"title", "items"; fields of JSON Feed that are not stored are
 *		allowed when of their type; other fields must be extensions (a name
 *		starting with "_"), and the one this importer reads is "_stockking";
 *	  - an item: "id" (1 to 200 characters, unique in the file), "url"
 *		(http or https, no spaces, at most 2000 characters), "title" (1 to
 *		200), "summary" (1 to 1000), "date_published" (RFC 3339 with a UTC
 *		offset, not in the future), "language" (optional, like "ko"), "tags"
 *		(optional strings), and "_stockking": {"source" (the publisher, 1 to
 *		100), "symbols" (instruments the item is about: each a symbol of
 *		stockking.instrument, at most 10)}.
 */
#include "postgres.h"

#include "executor/spi.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

#include "education.h"
#include "jsondoc.h"
#include "stockking.h"

PG_FUNCTION_INFO_V1(stockking_import_news);

#define MAX_ITEMS 10000

static const char *const feed_keys[] = {"version", "title", "home_page_url", "feed_url", "description",
	"user_comment", "next_url", "icon", "favicon", "author", "authors", "language", "expired", "hubs", "items"};
static const char *const item_keys[] = {"id", "url", "external_url", "title", "content_html", "content_text",
	"summary", "image", "banner_image", "date_published", "date_modified", "author", "authors", "tags",
"language", "attachments", "_stockking"};
static const char *const ext_keys[] = {"source", "symbols"};

typedef struct feed_state
{
	sk_json_file file;
	char	  **symbols;		/* instruments an item may name */
	int			nsymbols;
	TimestampTz now;
	StringInfoData items;
} feed_state;

static inline bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* the digits of s[from..from+n) all decimal */
static bool
digits_at(const char *s, int from, int n)
{
	for (int i = from; i < from + n; i++)
	{
		if (!is_digit(s[i]))
			return false;
	}
	return true;
}

/*
 * An RFC 3339 date-time with a UTC offset (2008-09-15T18:00:00-04:00,
 * ...Z, fractions of a second allowed), not after now.  Returns it as
 * written; PostgreSQL's timestamptz input reads the form exactly.
 */
static char *
read_timestamp(feed_state *st, const sk_json *item, const char *key, bool required)
{
	sk_json    *v = sk_json_get(&st->file, item, key, required);
	const char *s;
	int			i = 19;
	TimestampTz ts;

	if (v == NULL)
		return NULL;
	s = sk_json_string_value(&st->file, v, psprintf("field \"%s\"", key), 20, 40, false);
	if (!(digits_at(s, 0, 4) && s[4] == '-' && digits_at(s, 5, 2) && s[7] == '-' && digits_at(s, 8, 2) &&
		  s[10] == 'T' && digits_at(s, 11, 2) && s[13] == ':' && digits_at(s, 14, 2) && s[16] == ':' &&
		  digits_at(s, 17, 2)))
		goto malformed;
	if (s[i] == '.')
	{
		for (i++; is_digit(s[i]) && i < 26; i++)
			;
		if (i == 20)
			goto malformed;
	}
	if (s[i] == 'Z')
		i++;
	else if ((s[i] == '+' || s[i] == '-') && digits_at(s, i + 1, 2) && s[i + 3] == ':' && digits_at(s, i + 4, 2))
		i += 6;
	else
		goto malformed;
	if (s[i] != '\0')
		goto malformed;
	{
		int			month = atoi(s + 5);
		int			day = atoi(s + 8);
		int			year = atoi(s);

		if (year < 1900 || month < 1 || month > 12 || day < 1 || day > day_tab[isleap(year)][month - 1] ||
			atoi(s + 11) > 23 || atoi(s + 14) > 59 || atoi(s + 17) > 59)
			sk_json_bad(&st->file, v, "field \"%s\" value \"%s\" is not a real moment", key, s);
	}
	ts = DatumGetTimestampTz(DirectFunctionCall3(timestamptz_in, CStringGetDatum(s), ObjectIdGetDatum(InvalidOid),
												 Int32GetDatum(-1)));
	if (ts > st->now)
		sk_json_bad(&st->file, v, "field \"%s\" value \"%s\" is in the future", key, s);
	return pstrdup(s);

malformed:
	sk_json_bad(&st->file, v, "field \"%s\" value \"%.40s\" is not an RFC 3339 date-time with an offset "
				"(like 2008-09-15T18:00:00-04:00)", key, s);
}

/* http or https, a host, no white space or control characters */
static char *
read_url(feed_state *st, const sk_json *item, const char *key, bool required)
{
	sk_json    *v = sk_json_get(&st->file, item, key, required);
	const char *s;
	const char *host;

	if (v == NULL)
		return NULL;
	s = sk_json_string_value(&st->file, v, psprintf("field \"%s\"", key), 10, 2000, false);
	if (strncmp(s, "https://", 8) == 0)
		host = s + 8;
	else if (strncmp(s, "http://", 7) == 0)
		host = s + 7;
	else
		sk_json_bad(&st->file, v, "field \"%s\" must be an http or https URL", key);
	if (*host == '\0' || *host == '/')
		sk_json_bad(&st->file, v, "field \"%s\" has no host", key);
	for (const unsigned char *p = (const unsigned char *) s; *p; p++)
	{
		if (*p <= ' ' || *p == 0x7F)
			sk_json_bad(&st->file, v, "field \"%s\" contains white space", key);
	}
	return (char *) s;
}

/* a field of JSON Feed this importer does not keep: only its type is checked */
static void
check_kind(feed_state *st, const sk_json *obj, const char *key, sk_json_kind kind)
{
	sk_json    *v = sk_json_get(&st->file, obj, key, false);

	if (v != NULL && v->kind != kind)
		sk_json_bad(&st->file, v, "field \"%s\" has the wrong type", key);
}

static void
check_keys(feed_state *st, const sk_json *obj, const char *what, const char *const *keys, int nkeys)
{
	if (obj->kind != SK_JSON_OBJECT)
		sk_json_bad(&st->file, obj, "%s must be an object", what);
	for (int i = 0; i < obj->n; i++)
	{
		bool		known = obj->keys[i][0] == '_';

		for (int k = 0; k < nkeys && !known; k++)
			known = strcmp(obj->keys[i], keys[k]) == 0;
		if (!known)
			sk_json_bad(&st->file, obj->items[i], "%s has a field \"%s\" that is neither of JSON Feed 1.1 nor an "
						"extension (\"_name\")", what, obj->keys[i]);
	}
}

static void
append_text_array(StringInfo buf, const char *key, char **values, int n)
{
	appendStringInfo(buf, ",\"%s\":[", key);
	for (int i = 0; i < n; i++)
	{
		if (i > 0)
			appendStringInfoChar(buf, ',');
		escape_json(buf, values[i]);
	}
	appendStringInfoChar(buf, ']');
}

static void
append_field(StringInfo buf, const char *key, const char *value)
{
	appendStringInfo(buf, ",\"%s\":", key);
	if (value == NULL)
		appendStringInfoString(buf, "null");
	else
		escape_json(buf, value);
}

static void
read_item(feed_state *st, const sk_json *item, int n, char **ids)
{
	sk_json_file *f = &st->file;
	sk_json    *ext;
	sk_json    *symbols;
	sk_json    *tags;
	char	   *id;
	char	  **syms = NULL;
	char	  **tagv = NULL;
	int			nsyms = 0;
	int			ntags = 0;
	char	   *language;

	check_keys(st, item, psprintf("item %d", n + 1), item_keys, lengthof(item_keys));
	id = sk_json_string(f, item, "id", true, 1, 200, false);
	for (int i = 0; i < n; i++)
	{
		if (strcmp(ids[i], id) == 0)
			sk_json_bad(f, sk_json_get(f, item, "id", true), "item id \"%s\" is the id of item %d too", id, i + 1);
	}
	ids[n] = id;
	check_kind(st, item, "content_html", SK_JSON_STRING);
	check_kind(st, item, "content_text", SK_JSON_STRING);
	check_kind(st, item, "image", SK_JSON_STRING);
	check_kind(st, item, "banner_image", SK_JSON_STRING);
	check_kind(st, item, "author", SK_JSON_OBJECT);
	check_kind(st, item, "authors", SK_JSON_ARRAY);
	check_kind(st, item, "attachments", SK_JSON_ARRAY);
	(void) read_url(st, item, "external_url", false);
	(void) read_timestamp(st, item, "date_modified", false);
	language = sk_json_string(f, item, "language", false, 2, 35, false);

	ext = sk_json_get(f, item, "_stockking", true);
	sk_json_keys(f, ext, "field \"_stockking\"", ext_keys, lengthof(ext_keys));
	symbols = sk_json_array(f, ext, "symbols", false, 0, 10);
	for (int i = 0; symbols != NULL && i < symbols->n; i++)
	{
		char	   *sym = sk_json_string_value(f, symbols->items[i], "a symbol", 1, 12, false);
		bool		known = false;

		for (int k = 0; k < st->nsymbols && !known; k++)
			known = strcmp(st->symbols[k], sym) == 0;
		if (!known)
			sk_json_bad(f, symbols->items[i], "symbol \"%s\" is not an instrument (stockking.instrument)", sym);
		for (int k = 0; k < nsyms; k++)
		{
			if (strcmp(syms[k], sym) == 0)
				sk_json_bad(f, symbols->items[i], "symbol \"%s\" is named twice", sym);
		}
		if (syms == NULL)
			syms = palloc(sizeof(char *) * symbols->n);
		syms[nsyms++] = sym;
	}
	tags = sk_json_array(f, item, "tags", false, 0, 20);
	for (int i = 0; tags != NULL && i < tags->n; i++)
	{
		if (tagv == NULL)
			tagv = palloc(sizeof(char *) * tags->n);
		tagv[ntags++] = sk_json_string_value(f, tags->items[i], psprintf("tag %d", i + 1), 1, 50, false);
	}

	if (st->items.len > 1)
		appendStringInfoChar(&st->items, ',');
	appendStringInfoString(&st->items, "{\"guid\":");
	escape_json(&st->items, id);
	append_field(&st->items, "url", read_url(st, item, "url", true));
	append_field(&st->items, "title", sk_json_string(f, item, "title", true, 1, 200, false));
	append_field(&st->items, "summary", sk_json_string(f, item, "summary", true, 1, 1000, false));
	append_field(&st->items, "published_at", read_timestamp(st, item, "date_published", true));
	append_field(&st->items, "source", sk_json_string(f, ext, "source", true, 1, 100, false));
	append_field(&st->items, "language", language);
	append_text_array(&st->items, "symbols", syms, nsyms);
	append_text_array(&st->items, "tags", tagv, ntags);
	appendStringInfoChar(&st->items, '}');
}

static void
read_feed(feed_state *st)
{
	sk_json_file *f = &st->file;
	sk_json    *root = f->root;
	sk_json    *items;
	char	   *version;
	char	  **ids;

	check_keys(st, root, "the feed", feed_keys, lengthof(feed_keys));
	version = sk_json_string(f, root, "version", true, 1, 100, false);
	if (strcmp(version, "https://jsonfeed.org/version/1.1") != 0 && strcmp(version, "https://jsonfeed.org/version/1") != 0)
		sk_json_bad(f, sk_json_get(f, root, "version", true),
					"field \"version\" must be \"https://jsonfeed.org/version/1.1\" (or /1), not \"%s\"", version);
	(void) sk_json_string(f, root, "title", true, 1, 200, false);
	(void) read_url(st, root, "home_page_url", false);
	(void) read_url(st, root, "feed_url", false);
	check_kind(st, root, "description", SK_JSON_STRING);
	check_kind(st, root, "user_comment", SK_JSON_STRING);
	check_kind(st, root, "authors", SK_JSON_ARRAY);
	check_kind(st, root, "language", SK_JSON_STRING);
	check_kind(st, root, "expired", SK_JSON_BOOL);
	items = sk_json_array(f, root, "items", true, 1, MAX_ITEMS);
	ids = palloc(sizeof(char *) * items->n);
	initStringInfo(&st->items);
	appendStringInfoChar(&st->items, '[');
	for (int i = 0; i < items->n; i++)
		read_item(st, items->items[i], i, ids);
	appendStringInfoChar(&st->items, ']');
}

/*
 * The write: one statement over the checked items ($1 jsonb, $2 the file's
 * name).  src marks each item new or different; only those are written.
 */
static const char *const write_news_sql =
"WITH src AS MATERIALIZED ("
"    SELECT s.guid, s.url, s.title, s.summary, s.published_at, s.source, s.language,"
"           ARRAY(SELECT jsonb_array_elements_text(s.symbols)) AS symbols,"
"           ARRAY(SELECT jsonb_array_elements_text(s.tags)) AS tags,"
"           n.id IS NOT NULL AS existed"
"      FROM jsonb_to_recordset($1) AS s (guid text, url text, title text, summary text, published_at timestamptz,"
"           source text, language text, symbols jsonb, tags jsonb)"
"      LEFT JOIN stockking.news_item n ON n.guid = s.guid"
"), diff AS MATERIALIZED ("
"    SELECT src.*, (n.url, n.title, n.summary, n.published_at, n.source, n.language, n.symbols, n.tags, n.feed)"
"             IS DISTINCT FROM (src.url, src.title, src.summary, src.published_at, src.source, src.language,"
"                               src.symbols, src.tags, $2) AS differs"
"      FROM src LEFT JOIN stockking.news_item n ON n.guid = src.guid"
"), up AS ("
"    INSERT INTO stockking.news_item (guid, url, title, summary, published_at, source, language, symbols, tags, feed)"
"    SELECT guid, url, title, summary, published_at, source, language, symbols, tags, $2 FROM diff WHERE differs"
"     ORDER BY published_at, guid"
"    ON CONFLICT (guid) DO UPDATE SET url = excluded.url, title = excluded.title, summary = excluded.summary,"
"       published_at = excluded.published_at, source = excluded.source, language = excluded.language,"
"       symbols = excluded.symbols, tags = excluded.tags, feed = excluded.feed, updated_at = now()"
")"
"SELECT jsonb_build_object('file', $2, 'items', count(*),"
"       'inserted', count(*) FILTER (WHERE differs AND NOT existed),"
"       'updated', count(*) FILTER (WHERE differs AND existed),"
"       'unchanged', count(*) FILTER (WHERE NOT differs),"
"       'first', min(published_at), 'last', max(published_at))"
"  FROM diff";

/*
 * stockking.import_news(path text) RETURNS jsonb
 *
 * Import one JSON Feed file (absolute path).  Returns {"file", "items",
 * "inserted", "updated", "unchanged", "first", "last"}.
 */
Datum
stockking_import_news(PG_FUNCTION_ARGS)
{
	char	   *path;
	char	   *name;
	feed_state	st;
	Datum		result;
	int			rc;
	bool		isnull;

	sk_json_check_privilege("news feed files");
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("path must not be null")));
	path = text_to_cstring(PG_GETARG_TEXT_PP(0));
	canonicalize_path(path);
	if (!is_absolute_path(path))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("path \"%s\" is not absolute", path)));
	name = pstrdup(last_dir_separator(path) + 1);
	get_parent_directory(path);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	memset(&st, 0, sizeof(st));
	st.now = GetCurrentTransactionStartTimestamp();
	rc = SPI_execute("SELECT symbol FROM stockking.instrument", true, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "reading stockking.instrument failed: %s", SPI_result_code_string(rc));
	st.nsymbols = (int) SPI_processed;
	st.symbols = palloc(sizeof(char *) * Max(st.nsymbols, 1));
	for (int i = 0; i < st.nsymbols; i++)
		st.symbols[i] = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);

	sk_json_read(&st.file, path, name, ERRCODE_SK_BAD_NEWS_FEED);
	read_feed(&st);

	if (SPI_execute("LOCK TABLE stockking.news_item IN SHARE ROW EXCLUSIVE MODE", false, 0) != SPI_OK_UTILITY)
		elog(ERROR, "locking stockking.news_item failed");
	{
		Oid			argtypes[2] = {JSONBOID, TEXTOID};
		Datum		values[2] = {sk_jsonb_from_buf(&st.items), CStringGetTextDatum(name)};

		rc = SPI_execute_with_args(write_news_sql, 2, argtypes, values, NULL, false, 0);
		if (rc != SPI_OK_SELECT || SPI_processed != 1)
			elog(ERROR, "writing news items failed: %s", SPI_result_code_string(rc));
		result = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
		result = SPI_datumTransfer(result, false, -1);
	}
	SPI_finish();
	PG_RETURN_DATUM(result);
}
