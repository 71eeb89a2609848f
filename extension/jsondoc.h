/*
 * jsondoc.h
 *	  Content files in JSON (education courses, news feeds) read on the
 *	  server into a tree whose every node remembers its line, so that a
 *	  loader can check each field strictly and say where a file is wrong.
 */
#ifndef STOCKKING_JSONDOC_H
#define STOCKKING_JSONDOC_H

#include "postgres.h"

typedef enum sk_json_kind
{
	SK_JSON_NULL,
	SK_JSON_BOOL,
	SK_JSON_NUMBER,
	SK_JSON_STRING,
	SK_JSON_ARRAY,
	SK_JSON_OBJECT
} sk_json_kind;

/*
 * A JSON value.  text holds a string (de-escaped, in the server encoding),
 * a number as written, or "true" / "false".  Arrays and objects hold n
 * items; an object's keys[i] names items[i], in file order.
 */
typedef struct sk_json
{
	sk_json_kind kind;
	int			line;			/* 1-based line where the value starts */
	char	   *text;
	int			n;
	int			cap;
	char	  **keys;
	struct sk_json **items;
} sk_json;

/* One file being read; errors name it and raise sqlerrcode */
typedef struct sk_json_file
{
	const char *name;			/* base name, as errors show it */
	char	   *path;
	int			sqlerrcode;
	sk_json    *root;
} sk_json_file;

/*
 * Raise ERROR for a superuser-less caller without the privileges of
 * pg_read_server_files, the role that may read files on the server; what
 * says what was being loaded.
 */
extern void sk_json_check_privilege(const char *what);

/*
 * The names of dir's regular files ending in suffix, sorted bytewise
 * (hidden files are skipped); *n gets their count.  dir must be absolute.
 */
extern char **sk_json_list_dir(const char *dir, const char *suffix, int *n);

/*
 * Read dir/name (UTF-8, at most 16 MB) and parse it into f->root.  Bytes
 * that are not UTF-8, a JSON syntax error or a duplicate key raise
 * sqlerrcode naming the file and the line.
 */
extern void sk_json_read(sk_json_file *f, const char *dir, const char *name, int sqlerrcode);

/* Raise f->sqlerrcode: 'file "<name>" line <n>: <problem>' (at may be NULL: no line) */
extern void sk_json_bad(const sk_json_file *f, const sk_json *at, const char *fmt,...)
			pg_attribute_printf(3, 4) pg_attribute_noreturn();

/* obj must be an object (what names it in the error) with no key outside keys */
extern void sk_json_keys(const sk_json_file *f, const sk_json *obj, const char *what,
						 const char *const *keys, int nkeys);

/* obj's value at key, or NULL when absent and not required; JSON null counts as absent */
extern sk_json *sk_json_get(const sk_json_file *f, const sk_json *obj, const char *key, bool required);

/*
 * obj[key] as a string of min_chars to max_chars characters, without
 * leading or trailing white space and without control characters (line
 * breaks too, unless multiline); NULL when absent and not required.
 */
extern char *sk_json_string(const sk_json_file *f, const sk_json *obj, const char *key, bool required,
							int min_chars, int max_chars, bool multiline);

/* v as such a string; what names it in errors */
extern char *sk_json_string_value(const sk_json_file *f, const sk_json *v, const char *what,
								  int min_chars, int max_chars, bool multiline);

/* obj[key] as a whole number between min and max; dflt when absent and not required */
extern int64 sk_json_int(const sk_json_file *f, const sk_json *obj, const char *key, bool required,
						 int64 min, int64 max, int64 dflt);

/* v as a whole number between min and max; what names it in errors */
extern int64 sk_json_int_value(const sk_json_file *f, const sk_json *v, const char *what, int64 min, int64 max);

/* obj[key] as an array of min_items to max_items values; NULL when absent and not required */
extern sk_json *sk_json_array(const sk_json_file *f, const sk_json *obj, const char *key, bool required,
							  int min_items, int max_items);

/* true when s is a code: 1 to 64 of a-z, 0-9 and '-', starting with a letter or digit */
extern bool sk_json_is_code(const char *s);

#endif							/* STOCKKING_JSONDOC_H */
