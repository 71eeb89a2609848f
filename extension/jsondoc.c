/*
 * jsondoc.c
 *	  Content files in JSON read into a tree of values that remember their
 *	  line, and strict readers of that tree.
 *
 * The education courses (education.c) and the news feeds (news.c) are JSON
 * files under data/.  A loader must refuse a malformed file as a whole and
 * say where it is wrong, the way the market-data loader names the line of a
 * bad CSV row.  jsonb keeps no positions, so the file is parsed here with
 * PostgreSQL's own JSON parser (common/jsonapi.h: the one behind json_in),
 * whose semantic callbacks build a small tree; each value records the line
 * its first token is on.  The readers below then check each field's type
 * and range and raise the loader's SQLSTATE with 'file "<name>" line <n>:
 * <problem>'.  Being an ERROR, that leaves the database as it was.
 *
 * The bytes must be UTF-8 (checked first, with the line of the first bad
 * byte); an object must not repeat a key (jsonb would keep the last one
 * silently).
 */
#include "postgres.h"

#include <ctype.h>
#include <sys/stat.h>

#include "catalog/pg_authid.h"
#include "common/jsonapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "utils/acl.h"

#include "jsondoc.h"

#define MAX_FILE_BYTES (16 * 1024 * 1024)
#define MAX_DEPTH 32

static void bad_line_va(const sk_json_file *f, int line, const char *fmt, va_list args)
			pg_attribute_printf(3, 0) pg_attribute_noreturn();
static void bad_line(const sk_json_file *f, int line, const char *fmt,...) pg_attribute_printf(3, 4) pg_attribute_noreturn();

/* Raise f->sqlerrcode for a line (0: none) of f with a formatted problem */
static void
bad_line_va(const sk_json_file *f, int line, const char *fmt, va_list args)
{
	StringInfoData problem;

	initStringInfo(&problem);
	for (;;)
	{
		va_list		copy;
		int			needed;

		va_copy(copy, args);
		needed = appendStringInfoVA(&problem, fmt, copy);
		va_end(copy);
		if (needed == 0)
			break;
		enlargeStringInfo(&problem, needed);
	}
	if (line > 0)
		ereport(ERROR,
				(errcode(f->sqlerrcode),
				 errmsg("file \"%s\" line %d: %s", f->name, line, problem.data),
				 errdetail("The file is \"%s\". Nothing was loaded.", f->path)));
	ereport(ERROR,
			(errcode(f->sqlerrcode),
			 errmsg("file \"%s\": %s", f->name, problem.data),
			 errdetail("The file is \"%s\". Nothing was loaded.", f->path)));
}

static void
bad_line(const sk_json_file *f, int line, const char *fmt,...)
{
	va_list		args;

	va_start(args, fmt);
	bad_line_va(f, line, fmt, args);
	va_end(args);
}

void
sk_json_bad(const sk_json_file *f, const sk_json *at, const char *fmt,...)
{
	va_list		args;

	va_start(args, fmt);
	bad_line_va(f, at ? at->line : 0, fmt, args);
	va_end(args);
}

void
sk_json_check_privilege(const char *what)
{
	if (!has_privs_of_role(GetUserId(), ROLE_PG_READ_SERVER_FILES))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to load %s", what),
				 errdetail("Only roles with privileges of the \"pg_read_server_files\" role may read files on the server.")));
}

static int
compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

char **
sk_json_list_dir(const char *dir, const char *suffix, int *n)
{
	DIR		   *d;
	struct dirent *de;
	char	  **names = NULL;
	int			count = 0;
	int			cap = 0;
	size_t		suffix_len = strlen(suffix);

	if (!is_absolute_path(dir))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("directory \"%s\" is not an absolute path", dir)));
	d = AllocateDir(dir);
	while ((de = ReadDir(d, dir)) != NULL)
	{
		size_t		len = strlen(de->d_name);
		char	   *path;
		struct stat st;

		if (de->d_name[0] == '.' || len <= suffix_len || strcmp(de->d_name + len - suffix_len, suffix) != 0)
			continue;
		path = psprintf("%s/%s", dir, de->d_name);
		if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		if (count == cap)
		{
			cap = cap == 0 ? 16 : cap * 2;
			names = names == NULL ? palloc(sizeof(char *) * cap) : repalloc(names, sizeof(char *) * cap);
		}
		names[count++] = pstrdup(de->d_name);
	}
	FreeDir(d);
	if (count > 1)
		qsort(names, count, sizeof(char *), compare_names);
	*n = count;
	return names;
}

/* The whole file, NUL-terminated; *len gets its length */
static char *
read_bytes(const sk_json_file *f, int *len)
{
	FILE	   *fp;
	StringInfoData buf;

	fp = AllocateFile(f->path, PG_BINARY_R);
	if (fp == NULL)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open file \"%s\" for reading: %m", f->path)));
	initStringInfo(&buf);
	for (;;)
	{
		size_t		nread;

		enlargeStringInfo(&buf, 65536);
		nread = fread(buf.data + buf.len, 1, buf.maxlen - buf.len - 1, fp);
		buf.len += (int) nread;
		if (buf.len > MAX_FILE_BYTES)
			bad_line(f, 0, "the file is larger than %d bytes", MAX_FILE_BYTES);
		if (nread == 0)
			break;
	}
	if (ferror(fp))
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not read file \"%s\": %m", f->path)));
	FreeFile(fp);
	buf.data[buf.len] = '\0';
	*len = buf.len;
	return buf.data;
}

/* The bytes must be UTF-8 without NUL; the error names the line of the first bad one */
static void
check_utf8(const sk_json_file *f, const char *s, int len)
{
	int			line = 1;
	int			i = 0;

	while (i < len)
	{
		const unsigned char *p = (const unsigned char *) s + i;
		int			l;

		if (*p == '\n')
			line++;
		if (*p == '\0')
			bad_line(f, line, "the file contains a NUL byte");
		if (*p < 0x80)
		{
			i++;
			continue;
		}
		l = pg_utf_mblen(p);
		if (i + l > len || !pg_utf8_islegal(p, l))
			bad_line(f, line, "the file is not valid UTF-8");
		i += l;
	}
}

/* The tree under construction */
typedef struct build_state
{
	const sk_json_file *f;
	JsonLexContext *lex;
	sk_json    *root;
	sk_json    *stack[MAX_DEPTH];
	int			depth;
	char	   *key;			/* the field whose value comes next */
	int			line;			/* the line of that value (0: take the lexer's) */
} build_state;

static void
append_item(sk_json *parent, char *key, sk_json *node)
{
	if (parent->n == parent->cap)
	{
		parent->cap = parent->cap == 0 ? 8 : parent->cap * 2;
		if (parent->items == NULL)
		{
			parent->items = palloc(sizeof(sk_json *) * parent->cap);
			parent->keys = palloc(sizeof(char *) * parent->cap);
		}
		else
		{
			parent->items = repalloc(parent->items, sizeof(sk_json *) * parent->cap);
			parent->keys = repalloc(parent->keys, sizeof(char *) * parent->cap);
		}
	}
	parent->keys[parent->n] = key;
	parent->items[parent->n] = node;
	parent->n++;
}

/* A new value, attached to the container being built (or the root) */
static sk_json *
new_node(build_state *st, sk_json_kind kind)
{
	sk_json    *node = palloc0(sizeof(sk_json));

	node->kind = kind;
	node->line = st->line > 0 ? st->line : st->lex->line_number;
	st->line = 0;
	if (st->depth == 0)
		st->root = node;
	else
	{
		sk_json    *parent = st->stack[st->depth - 1];

		if (parent->kind == SK_JSON_OBJECT)
		{
			for (int i = 0; i < parent->n; i++)
			{
				if (strcmp(parent->keys[i], st->key) == 0)
					bad_line(st->f, node->line, "key \"%s\" appears twice in one object", st->key);
			}
		}
		append_item(parent, parent->kind == SK_JSON_OBJECT ? st->key : NULL, node);
	}
	st->key = NULL;
	return node;
}

static void
push(build_state *st, sk_json_kind kind)
{
	sk_json    *node = new_node(st, kind);

	if (st->depth == MAX_DEPTH)
		bad_line(st->f, node->line, "values are nested more than %d deep", MAX_DEPTH);
	st->stack[st->depth++] = node;
}

static void
on_object_start(void *state)
{
	push((build_state *) state, SK_JSON_OBJECT);
}

static void
on_array_start(void *state)
{
	push((build_state *) state, SK_JSON_ARRAY);
}

static void
on_end(void *state)
{
	((build_state *) state)->depth--;
}

static void
on_field_start(void *state, char *fname, bool isnull)
{
	build_state *st = (build_state *) state;

	st->key = fname;
	st->line = st->lex->line_number;
}

static void
on_element_start(void *state, bool isnull)
{
	build_state *st = (build_state *) state;

	st->line = st->lex->line_number;
}

static void
on_scalar(void *state, char *token, JsonTokenType type)
{
	build_state *st = (build_state *) state;
	sk_json_kind kind;
	sk_json    *node;

	switch (type)
	{
		case JSON_TOKEN_STRING:
			kind = SK_JSON_STRING;
			break;
		case JSON_TOKEN_NUMBER:
			kind = SK_JSON_NUMBER;
			break;
		case JSON_TOKEN_TRUE:
		case JSON_TOKEN_FALSE:
			kind = SK_JSON_BOOL;
			break;
		default:
			kind = SK_JSON_NULL;
			break;
	}
	node = new_node(st, kind);
	node->text = token;
}

void
sk_json_read(sk_json_file *f, const char *dir, const char *name, int sqlerrcode)
{
	char	   *bytes;
	int			len;
	JsonLexContext *lex;
	JsonSemAction sem;
	JsonParseErrorType result;
	build_state st;

	f->name = name;
	f->path = psprintf("%s/%s", dir, name);
	f->sqlerrcode = sqlerrcode;
	f->root = NULL;

	bytes = read_bytes(f, &len);
	check_utf8(f, bytes, len);
	if (len >= 3 && memcmp(bytes, "\xEF\xBB\xBF", 3) == 0)
	{
		bytes += 3;				/* a byte order mark */
		len -= 3;
	}
	if (GetDatabaseEncoding() != PG_UTF8)
	{
		bytes = pg_any_to_server(bytes, len, PG_UTF8);
		len = strlen(bytes);
	}

	lex = makeJsonLexContextCstringLen(bytes, len, GetDatabaseEncoding(), true);
	memset(&st, 0, sizeof(st));
	st.f = f;
	st.lex = lex;
	memset(&sem, 0, sizeof(sem));
	sem.semstate = &st;
	sem.object_start = on_object_start;
	sem.object_end = on_end;
	sem.array_start = on_array_start;
	sem.array_end = on_end;
	sem.object_field_start = on_field_start;
	sem.array_element_start = on_element_start;
	sem.scalar = on_scalar;

	result = pg_parse_json(lex, &sem);
	if (result != JSON_SUCCESS)
		bad_line(f, lex->line_number, "%s", json_errdetail(result, lex));
	f->root = st.root;
}

static const char *
kind_name(sk_json_kind kind)
{
	switch (kind)
	{
		case SK_JSON_NULL:
			return "null";
		case SK_JSON_BOOL:
			return "a boolean";
		case SK_JSON_NUMBER:
			return "a number";
		case SK_JSON_STRING:
			return "a string";
		case SK_JSON_ARRAY:
			return "an array";
		case SK_JSON_OBJECT:
			return "an object";
	}
	return "?";
}

void
sk_json_keys(const sk_json_file *f, const sk_json *obj, const char *what, const char *const *keys, int nkeys)
{
	if (obj == NULL || obj->kind != SK_JSON_OBJECT)
		sk_json_bad(f, obj, "%s must be an object, not %s", what, obj ? kind_name(obj->kind) : "nothing");
	for (int i = 0; i < obj->n; i++)
	{
		bool		known = false;

		for (int k = 0; k < nkeys && !known; k++)
			known = strcmp(obj->keys[i], keys[k]) == 0;
		if (!known)
			sk_json_bad(f, obj->items[i], "%s has an unknown field \"%s\"", what, obj->keys[i]);
	}
}

sk_json *
sk_json_get(const sk_json_file *f, const sk_json *obj, const char *key, bool required)
{
	for (int i = 0; i < obj->n; i++)
	{
		if (strcmp(obj->keys[i], key) == 0 && obj->items[i]->kind != SK_JSON_NULL)
			return obj->items[i];
	}
	if (required)
		sk_json_bad(f, obj, "field \"%s\" is missing", key);
	return NULL;
}

char *
sk_json_string_value(const sk_json_file *f, const sk_json *v, const char *what, int min_chars, int max_chars,
					 bool multiline)
{
	int			chars;
	size_t		len;

	if (v->kind != SK_JSON_STRING)
		sk_json_bad(f, v, "%s must be a string, not %s", what, kind_name(v->kind));
	len = strlen(v->text);
	chars = pg_mbstrlen(v->text);
	if (chars < min_chars || chars > max_chars)
		sk_json_bad(f, v, "%s must be %d to %d characters long, not %d", what, min_chars, max_chars, chars);
	if (len > 0 && (isspace((unsigned char) v->text[0]) || isspace((unsigned char) v->text[len - 1])))
		sk_json_bad(f, v, "%s has white space at its start or end", what);
	for (const unsigned char *p = (const unsigned char *) v->text; *p; p++)
	{
		if ((*p < 0x20 && !(multiline && *p == '\n')) || *p == 0x7F)
			sk_json_bad(f, v, "%s contains a control character (0x%02X)", what, *p);
	}
	return v->text;
}

char *
sk_json_string(const sk_json_file *f, const sk_json *obj, const char *key, bool required, int min_chars,
			   int max_chars, bool multiline)
{
	sk_json    *v = sk_json_get(f, obj, key, required);
	char	   *what;

	if (v == NULL)
		return NULL;
	what = psprintf("field \"%s\"", key);
	return sk_json_string_value(f, v, what, min_chars, max_chars, multiline);
}

int64
sk_json_int_value(const sk_json_file *f, const sk_json *v, const char *what, int64 min, int64 max)
{
	const char *p;
	int64		value = 0;
	bool		negative = false;
	int			digits = 0;

	if (v->kind != SK_JSON_NUMBER)
		sk_json_bad(f, v, "%s must be a number, not %s", what, kind_name(v->kind));
	p = v->text;
	if (*p == '-')
	{
		negative = true;
		p++;
	}
	for (; *p >= '0' && *p <= '9'; p++)
	{
		if (++digits > 18)
			break;
		value = value * 10 + (*p - '0');
	}
	if (*p != '\0' || digits == 0)
		sk_json_bad(f, v, "%s must be a whole number between " INT64_FORMAT " and " INT64_FORMAT ", not %s",
					what, min, max, v->text);
	if (negative)
		value = -value;
	if (value < min || value > max)
		sk_json_bad(f, v, "%s must be between " INT64_FORMAT " and " INT64_FORMAT ", not %s",
					what, min, max, v->text);
	return value;
}

int64
sk_json_int(const sk_json_file *f, const sk_json *obj, const char *key, bool required, int64 min, int64 max,
			int64 dflt)
{
	sk_json    *v = sk_json_get(f, obj, key, required);

	if (v == NULL)
		return dflt;
	return sk_json_int_value(f, v, psprintf("field \"%s\"", key), min, max);
}

sk_json *
sk_json_array(const sk_json_file *f, const sk_json *obj, const char *key, bool required, int min_items,
			  int max_items)
{
	sk_json    *v = sk_json_get(f, obj, key, required);

	if (v == NULL)
		return NULL;
	if (v->kind != SK_JSON_ARRAY)
		sk_json_bad(f, v, "field \"%s\" must be an array, not %s", key, kind_name(v->kind));
	if (v->n < min_items || v->n > max_items)
		sk_json_bad(f, v, "field \"%s\" must have %d to %d items, not %d", key, min_items, max_items, v->n);
	return v;
}

bool
sk_json_is_code(const char *s)
{
	int			n = 0;

	for (const char *p = s; *p; p++, n++)
	{
		bool		ok = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || (*p == '-' && n > 0);

		if (!ok || n >= 64)
			return false;
	}
	return n > 0;
}
