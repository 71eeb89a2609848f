/*
 * StockKing Kids edge proxy: the route table and the error table loaded from the database.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "routes.h"

#define DEFAULT_MAX_BODY (1024 * 1024)

enum {
    COL_METHOD,
    COL_PATH,
    COL_FN,
    COL_ROLES,
    COL_READ_ONLY,
    COL_SUCCESS_STATUS,
    COL_TOKEN,
    COL_MAX_BODY,
    COL_RAW_BODY,
    COL_RATE_CLASS,
    COL_STATEMENT_TIMEOUT,
    NUM_ROUTE_COLS
};
enum { COL_SQLSTATE, COL_HTTP_STATUS, COL_NAME, NUM_ERROR_COLS };

typedef struct st_path_segments_t {
    h2o_iovec_t items[SK_ROUTE_MAX_SEGMENTS];
    size_t size;
} path_segments_t;

static void set_error(char *errbuf, size_t errbuf_size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void set_error(char *errbuf, size_t errbuf_size, const char *fmt, ...)
{
    va_list args;

    va_start(args, fmt);
    vsnprintf(errbuf, errbuf_size, fmt, args);
    va_end(args);
}

void sk_fn_registry_dispose(sk_fn_registry_t *fns)
{
    size_t i;

    for (i = 0; i != fns->size; ++i) {
        free(fns->entries[i].name);
        free(fns->entries[i].sql);
    }
    free(fns->entries);
    memset(fns, 0, sizeof(*fns));
}

/* Finds or adds the call of `name`; returns 0 and sets `id`, or -1 if memory runs out. */
static int fn_registry_intern(sk_fn_registry_t *fns, PGconn *pg, const char *name, int raw_body, size_t *id)
{
    char *quoted, *name_copy = NULL, *sql = NULL;
    sk_fn_t *entries;
    size_t i, sql_size;

    for (i = 0; i != fns->size; ++i) {
        if (!fns->entries[i].internal && strcmp(fns->entries[i].name, name) == 0 && fns->entries[i].raw_body == raw_body) {
            *id = i;
            return 0;
        }
    }
    if ((quoted = PQescapeIdentifier(pg, name, strlen(name))) == NULL)
        return -1;
    sql_size = sizeof("SELECT api.($1::jsonb, $2::bytea)") + strlen(quoted);
    if ((name_copy = strdup(name)) == NULL || (sql = malloc(sql_size)) == NULL ||
        (entries = realloc(fns->entries, (fns->size + 1) * sizeof(fns->entries[0]))) == NULL)
        goto Error;
    snprintf(sql, sql_size, raw_body ? "SELECT api.%s($1::jsonb, $2::bytea)" : "SELECT api.%s($1::jsonb)", quoted);
    PQfreemem(quoted);
    fns->entries = entries;
    fns->entries[fns->size].name = name_copy;
    fns->entries[fns->size].raw_body = raw_body;
    fns->entries[fns->size].internal = 0;
    fns->entries[fns->size].sql = sql;
    *id = fns->size++;
    return 0;
Error:
    PQfreemem(quoted);
    free(name_copy);
    free(sql);
    return -1;
}

int sk_fn_registry_add_internal(sk_fn_registry_t *fns, const char *name, const char *sql, size_t *id)
{
    char *name_copy = NULL, *sql_copy = NULL;
    sk_fn_t *entries;

    if ((name_copy = strdup(name)) == NULL || (sql_copy = strdup(sql)) == NULL ||
        (entries = realloc(fns->entries, (fns->size + 1) * sizeof(fns->entries[0]))) == NULL) {
        free(name_copy);
        free(sql_copy);
        return -1;
    }
    fns->entries = entries;
    fns->entries[fns->size].name = name_copy;
    fns->entries[fns->size].raw_body = 0;
    fns->entries[fns->size].internal = 1;
    fns->entries[fns->size].sql = sql_copy;
    *id = fns->size++;
    return 0;
}

static h2o_iovec_t pool_strdup(h2o_mem_pool_t *pool, const char *s)
{
    return h2o_strdup(pool, s, SIZE_MAX);
}

/* Splits a path (starting with '/') into its segments; returns -1 if there are too many. */
static int split_path(h2o_iovec_t path, path_segments_t *segments)
{
    const char *p = path.base + 1, *end = path.base + path.len;

    segments->size = 0;
    for (;;) {
        const char *slash = memchr(p, '/', end - p);
        const char *seg_end = slash != NULL ? slash : end;
        if (segments->size == SK_ROUTE_MAX_SEGMENTS)
            return -1;
        segments->items[segments->size++] = h2o_iovec_init(p, seg_end - p);
        if (slash == NULL)
            return 0;
        p = slash + 1;
    }
}

static int parse_pattern(h2o_mem_pool_t *pool, sk_route_t *route)
{
    path_segments_t segments;
    size_t i;

    if (route->pattern.len == 0 || route->pattern.base[0] != '/' || split_path(route->pattern, &segments) != 0)
        return -1;
    route->segments = h2o_mem_alloc_pool(pool, sizeof(route->segments[0]) * segments.size);
    route->num_segments = segments.size;
    for (i = 0; i != segments.size; ++i) {
        h2o_iovec_t seg = segments.items[i];
        if (seg.len != 0 && seg.base[0] == ':') {
            if (seg.len == 1)
                return -1;
            route->segments[i].text = h2o_iovec_init(seg.base + 1, seg.len - 1);
            route->segments[i].is_capture = 1;
        } else {
            route->segments[i].text = seg;
            route->segments[i].is_capture = 0;
        }
    }
    return 0;
}

/* Parses a one-dimensional text[] in PostgreSQL's output format ({a,"b c"}); NULL elements are rejected. */
static int parse_text_array(h2o_mem_pool_t *pool, const char *src, h2o_iovec_t **items, size_t *num_items)
{
    const char *p = src;
    size_t capacity = 1, n = 0;
    char *buf = h2o_mem_alloc_pool(pool, strlen(src) + 1);

    for (p = src; *p != '\0'; ++p)
        if (*p == ',')
            ++capacity;
    *items = h2o_mem_alloc_pool(pool, sizeof(**items) * capacity);
    p = src;
    if (*p++ != '{')
        return -1;
    if (*p == '}')
        goto End;
    for (;;) {
        char *dst = buf;
        if (*p == '"') {
            for (++p; *p != '"'; ++p) {
                if (*p == '\\')
                    ++p;
                if (*p == '\0')
                    return -1;
                *dst++ = *p;
            }
            ++p;
        } else {
            for (; *p != ',' && *p != '}' && *p != '\0'; ++p)
                *dst++ = *p;
            if (dst - buf == 4 && strncasecmp(buf, "NULL", 4) == 0)
                return -1;
        }
        if (dst == buf)
            return -1;
        (*items)[n++] = h2o_iovec_init(buf, dst - buf);
        buf = dst;
        if (*p == '}')
            break;
        if (*p++ != ',')
            return -1;
    }
End:
    if (p[1] != '\0')
        return -1;
    *num_items = n;
    return 0;
}

static int parse_int(const char *s, long min, long max, long *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

static int is_method_token(const char *s)
{
    if (*s == '\0')
        return 0;
    for (; *s != '\0'; ++s)
        if (!isupper((unsigned char)*s))
            return 0;
    return 1;
}

static int build_route(sk_routes_t *routes, PGconn *pg, const PGresult *res, int row, sk_fn_registry_t *fns, sk_route_t *route,
                       char *errbuf, size_t errbuf_size)
{
    const char *method = PQgetvalue(res, row, COL_METHOD), *path = PQgetvalue(res, row, COL_PATH);
    long num;

    memset(route, 0, sizeof(*route));
    if (PQgetisnull(res, row, COL_METHOD) || !is_method_token(method)) {
        set_error(errbuf, errbuf_size, "route %d: invalid method", row + 1);
        return -1;
    }
    route->method = pool_strdup(&routes->pool, method);
    route->pattern = pool_strdup(&routes->pool, path);
    if (PQgetisnull(res, row, COL_PATH) || parse_pattern(&routes->pool, route) != 0) {
        set_error(errbuf, errbuf_size, "route %s %s: invalid path pattern", method, path);
        return -1;
    }
    if (PQgetisnull(res, row, COL_FN) || *PQgetvalue(res, row, COL_FN) == '\0') {
        set_error(errbuf, errbuf_size, "route %s %s: no function", method, path);
        return -1;
    }
    route->raw_body = !PQgetisnull(res, row, COL_RAW_BODY) && strcmp(PQgetvalue(res, row, COL_RAW_BODY), "t") == 0;
    if (fn_registry_intern(fns, pg, PQgetvalue(res, row, COL_FN), route->raw_body, &route->fn_id) != 0) {
        set_error(errbuf, errbuf_size, "route %s %s: cannot quote the function name", method, path);
        return -1;
    }
    route->is_public = PQgetisnull(res, row, COL_ROLES);
    if (!route->is_public &&
        parse_text_array(&routes->pool, PQgetvalue(res, row, COL_ROLES), &route->roles, &route->num_roles) != 0) {
        set_error(errbuf, errbuf_size, "route %s %s: invalid roles", method, path);
        return -1;
    }
    route->read_only = !PQgetisnull(res, row, COL_READ_ONLY) && strcmp(PQgetvalue(res, row, COL_READ_ONLY), "t") == 0;
    if (PQgetisnull(res, row, COL_SUCCESS_STATUS) || parse_int(PQgetvalue(res, row, COL_SUCCESS_STATUS), 200, 299, &num) != 0) {
        set_error(errbuf, errbuf_size, "route %s %s: success_status must be 2xx", method, path);
        return -1;
    }
    route->success_status = (int)num;
    if (PQgetisnull(res, row, COL_TOKEN) || strcmp(PQgetvalue(res, row, COL_TOKEN), "none") == 0) {
        route->issue_token = 0;
    } else if (strcmp(PQgetvalue(res, row, COL_TOKEN), "issue") == 0) {
        route->issue_token = 1;
    } else {
        set_error(errbuf, errbuf_size, "route %s %s: token must be `none` or `issue`", method, path);
        return -1;
    }
    if (PQgetisnull(res, row, COL_MAX_BODY)) {
        route->max_body = DEFAULT_MAX_BODY;
    } else if (parse_int(PQgetvalue(res, row, COL_MAX_BODY), 0, INT32_MAX, &num) == 0) {
        route->max_body = (size_t)num;
    } else {
        set_error(errbuf, errbuf_size, "route %s %s: invalid max_body", method, path);
        return -1;
    }
    if (PQgetisnull(res, row, COL_RATE_CLASS)) {
        route->rate_class = SK_RATE_DEFAULT;
    } else {
        int cls = sk_rate_class_from_name(PQgetvalue(res, row, COL_RATE_CLASS));
        if (cls < 0) {
            set_error(errbuf, errbuf_size, "route %s %s: rate_class must be login, trading or default", method, path);
            return -1;
        }
        route->rate_class = (sk_rate_class_t)cls;
    }
    if (PQgetisnull(res, row, COL_STATEMENT_TIMEOUT)) {
        route->statement_timeout_ms = 0;
    } else if (parse_int(PQgetvalue(res, row, COL_STATEMENT_TIMEOUT), 1, 3600000, &num) == 0) {
        route->statement_timeout_ms = (unsigned)num;
    } else {
        set_error(errbuf, errbuf_size, "route %s %s: invalid statement_timeout_ms", method, path);
        return -1;
    }
    return 0;
}

static int build_error_rule(sk_routes_t *routes, const PGresult *res, int row, sk_error_rule_t *rule, char *errbuf,
                            size_t errbuf_size)
{
    const char *sqlstate = PQgetvalue(res, row, COL_SQLSTATE);
    size_t len = strlen(sqlstate), i;
    long status;

    if (PQgetisnull(res, row, COL_SQLSTATE) || (len != 2 && len != 5)) {
        set_error(errbuf, errbuf_size, "error rule %d: sqlstate must have 2 or 5 characters", row + 1);
        return -1;
    }
    for (i = 0; i != len; ++i) {
        if (!isdigit((unsigned char)sqlstate[i]) && !isupper((unsigned char)sqlstate[i])) {
            set_error(errbuf, errbuf_size, "error rule %s: invalid sqlstate", sqlstate);
            return -1;
        }
    }
    if (PQgetisnull(res, row, COL_HTTP_STATUS) || parse_int(PQgetvalue(res, row, COL_HTTP_STATUS), 400, 599, &status) != 0) {
        set_error(errbuf, errbuf_size, "error rule %s: http_status must be 4xx or 5xx", sqlstate);
        return -1;
    }
    if (PQgetisnull(res, row, COL_NAME) || *PQgetvalue(res, row, COL_NAME) == '\0') {
        set_error(errbuf, errbuf_size, "error rule %s: no name", sqlstate);
        return -1;
    }
    memcpy(rule->sqlstate, sqlstate, len + 1);
    rule->http_status = (int)status;
    rule->name = pool_strdup(&routes->pool, PQgetvalue(res, row, COL_NAME));
    return 0;
}

sk_routes_t *sk_routes_build(PGconn *pg, const PGresult *routes_res, const PGresult *errors_res, sk_fn_registry_t *fns,
                             char *errbuf, size_t errbuf_size)
{
    sk_routes_t *routes;
    size_t i, j;

    if (PQnfields(routes_res) != NUM_ROUTE_COLS || PQnfields(errors_res) != NUM_ERROR_COLS) {
        set_error(errbuf, errbuf_size, "unexpected columns in the route or error table");
        return NULL;
    }
    if ((routes = malloc(sizeof(*routes))) == NULL) {
        set_error(errbuf, errbuf_size, "out of memory");
        return NULL;
    }
    routes->refcnt = 1;
    h2o_mem_init_pool(&routes->pool);
    routes->num_routes = PQntuples(routes_res);
    routes->routes = h2o_mem_alloc_pool(&routes->pool, sizeof(routes->routes[0]) * routes->num_routes);
    routes->num_errors = PQntuples(errors_res);
    routes->errors = h2o_mem_alloc_pool(&routes->pool, sizeof(routes->errors[0]) * routes->num_errors);

    for (i = 0; i != routes->num_routes; ++i) {
        sk_route_t *route = routes->routes + i;
        if (build_route(routes, pg, routes_res, (int)i, fns, route, errbuf, errbuf_size) != 0)
            goto Error;
        for (j = 0; j != i; ++j) {
            if (h2o_memis(routes->routes[j].method.base, routes->routes[j].method.len, route->method.base, route->method.len) &&
                h2o_memis(routes->routes[j].pattern.base, routes->routes[j].pattern.len, route->pattern.base, route->pattern.len)) {
                set_error(errbuf, errbuf_size, "route %s %s is listed twice", route->method.base, route->pattern.base);
                goto Error;
            }
        }
    }
    for (i = 0; i != routes->num_errors; ++i)
        if (build_error_rule(routes, errors_res, (int)i, routes->errors + i, errbuf, errbuf_size) != 0)
            goto Error;
    return routes;

Error:
    sk_routes_release(routes);
    return NULL;
}

void sk_routes_addref(sk_routes_t *routes)
{
    ++routes->refcnt;
}

void sk_routes_release(sk_routes_t *routes)
{
    if (--routes->refcnt != 0)
        return;
    h2o_mem_clear_pool(&routes->pool);
    free(routes);
}

/* Whether `route` matches the path; fills the captures of `match` when it does. */
static int match_segments(const sk_route_t *route, const path_segments_t *segments, sk_route_match_t *match)
{
    size_t i;

    if (route->num_segments != segments->size)
        return 0;
    match->num_captures = 0;
    for (i = 0; i != segments->size; ++i) {
        const sk_route_segment_t *seg = route->segments + i;
        if (seg->is_capture) {
            if (segments->items[i].len == 0)
                return 0;
            match->captures[match->num_captures].name = seg->text;
            match->captures[match->num_captures].value = segments->items[i];
            ++match->num_captures;
        } else if (!h2o_memis(seg->text.base, seg->text.len, segments->items[i].base, segments->items[i].len)) {
            return 0;
        }
    }
    return 1;
}

/* Whether `a` is more specific than `b` (same segment count): a literal where `b` captures, before the reverse. */
static int more_specific(const sk_route_t *a, const sk_route_t *b)
{
    size_t i;

    for (i = 0; i != a->num_segments; ++i)
        if (a->segments[i].is_capture != b->segments[i].is_capture)
            return !a->segments[i].is_capture;
    return 0;
}

sk_route_lookup_t sk_routes_match(const sk_routes_t *routes, h2o_iovec_t method, h2o_iovec_t path, sk_route_match_t *match)
{
    path_segments_t segments;
    sk_route_match_t candidate;
    int path_seen = 0;
    size_t i;

    if (path.len == 0 || path.base[0] != '/' || split_path(path, &segments) != 0)
        return SK_ROUTE_NO_PATH;
    match->route = NULL;
    for (i = 0; i != routes->num_routes; ++i) {
        const sk_route_t *route = routes->routes + i;
        if (!match_segments(route, &segments, &candidate))
            continue;
        path_seen = 1;
        if (!h2o_memis(route->method.base, route->method.len, method.base, method.len))
            continue;
        if (match->route == NULL || more_specific(route, match->route)) {
            *match = candidate;
            match->route = route;
        }
    }
    if (match->route != NULL)
        return SK_ROUTE_FOUND;
    return path_seen ? SK_ROUTE_WRONG_METHOD : SK_ROUTE_NO_PATH;
}

h2o_iovec_t sk_routes_allowed_methods(const sk_routes_t *routes, h2o_iovec_t path, h2o_mem_pool_t *pool)
{
    path_segments_t segments;
    sk_route_match_t scratch;
    size_t i, j, len = 0;
    char *buf;

    if (split_path(path, &segments) != 0)
        return h2o_iovec_init(NULL, 0);
    for (i = 0; i != routes->num_routes; ++i)
        len += routes->routes[i].method.len + 2;
    buf = h2o_mem_alloc_pool(pool, len + 1);
    len = 0;
    for (i = 0; i != routes->num_routes; ++i) {
        const sk_route_t *route = routes->routes + i;
        if (!match_segments(route, &segments, &scratch))
            continue;
        for (j = 0; j != i; ++j)
            if (h2o_memis(routes->routes[j].method.base, routes->routes[j].method.len, route->method.base, route->method.len) &&
                match_segments(routes->routes + j, &segments, &scratch))
                break;
        if (j != i)
            continue;
        if (len != 0) {
            memcpy(buf + len, ", ", 2);
            len += 2;
        }
        memcpy(buf + len, route->method.base, route->method.len);
        len += route->method.len;
    }
    return h2o_iovec_init(buf, len);
}

const sk_error_rule_t *sk_routes_find_error(const sk_routes_t *routes, const char *sqlstate)
{
    const sk_error_rule_t *class_rule = NULL;
    size_t i;

    for (i = 0; i != routes->num_errors; ++i) {
        const sk_error_rule_t *rule = routes->errors + i;
        if (rule->sqlstate[2] == '\0') {
            if (class_rule == NULL && memcmp(rule->sqlstate, sqlstate, 2) == 0)
                class_rule = rule;
        } else if (strcmp(rule->sqlstate, sqlstate) == 0) {
            return rule;
        }
    }
    return class_rule;
}
