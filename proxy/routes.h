/*
 * StockKing Kids edge proxy: the route table and the error table loaded from the database.
 */
#ifndef sk_routes_h
#define sk_routes_h

#include <stddef.h>
#include <h2o.h>
#include <libpq-fe.h>
#include "ratelimit.h"

#define SK_ROUTE_MAX_SEGMENTS 32

#define SK_ROUTES_SQL                                                                                                              \
    "SELECT method, path, fn, roles, read_only, success_status, token, max_body, raw_body, rate_class, statement_timeout_ms "      \
    "FROM api.route_table()"
#define SK_ERRORS_SQL "SELECT sqlstate, http_status, name FROM api.error_table()"

/**
 * One api function call: `SELECT api.<fn>($1::jsonb)`, or for raw-body routes `SELECT api.<fn>($1::jsonb, $2::bytea)`; or one
 * of the proxy's own statements (`internal`, e.g. the event replay), which take $1::jsonb and may return several rows.
 */
typedef struct st_sk_fn_t {
    char *name;
    int raw_body;
    int internal;
    char *sql;
} sk_fn_t;

/**
 * The api function calls seen by one thread. Ids are stable across reloads of the route table, so a statement prepared on a
 * connection stays valid.
 */
typedef struct st_sk_fn_registry_t {
    sk_fn_t *entries;
    size_t size;
} sk_fn_registry_t;

typedef struct st_sk_route_segment_t {
    h2o_iovec_t text; /* literal, or the capture's name without the colon */
    int is_capture;
} sk_route_segment_t;

typedef struct st_sk_route_t {
    h2o_iovec_t method;
    h2o_iovec_t pattern;
    sk_route_segment_t *segments;
    size_t num_segments;
    size_t fn_id;
    int is_public;      /* roles IS NULL */
    h2o_iovec_t *roles; /* empty: any valid token */
    size_t num_roles;
    int read_only;
    int success_status;
    int issue_token;
    size_t max_body;
    int raw_body; /* the body is passed as bytea, not parsed */
    sk_rate_class_t rate_class;
    unsigned statement_timeout_ms; /* 0: the configured default */
} sk_route_t;

typedef struct st_sk_error_rule_t {
    char sqlstate[6]; /* 5 characters, or a 2-character class */
    int http_status;
    h2o_iovec_t name;
} sk_error_rule_t;

/**
 * One loaded route table with its error table; shared by the requests using it (reference counted, one thread).
 */
typedef struct st_sk_routes_t {
    size_t refcnt;
    h2o_mem_pool_t pool;
    sk_route_t *routes;
    size_t num_routes;
    sk_error_rule_t *errors;
    size_t num_errors;
} sk_routes_t;

typedef struct st_sk_route_match_t {
    const sk_route_t *route;
    struct {
        h2o_iovec_t name;
        h2o_iovec_t value;
    } captures[SK_ROUTE_MAX_SEGMENTS];
    size_t num_captures;
} sk_route_match_t;

typedef enum en_sk_route_lookup_t { SK_ROUTE_FOUND, SK_ROUTE_NO_PATH, SK_ROUTE_WRONG_METHOD } sk_route_lookup_t;

/**
 * Releases the registry's memory.
 */
void sk_fn_registry_dispose(sk_fn_registry_t *fns);
/**
 * Adds one of the proxy's own statements (`sql` takes $1::jsonb) under `name`; returns 0 and sets `id`, or -1 if memory runs out.
 */
int sk_fn_registry_add_internal(sk_fn_registry_t *fns, const char *name, const char *sql, size_t *id);
/**
 * Builds a table (refcnt 1) from the results of SK_ROUTES_SQL and SK_ERRORS_SQL; `pg` quotes function names. Returns NULL and
 * writes the reason to `errbuf` if a row is invalid.
 */
sk_routes_t *sk_routes_build(PGconn *pg, const PGresult *routes, const PGresult *errors, sk_fn_registry_t *fns, char *errbuf,
                             size_t errbuf_size);
/**
 * Takes a reference.
 */
void sk_routes_addref(sk_routes_t *routes);
/**
 * Drops a reference; frees the table with the last one.
 */
void sk_routes_release(sk_routes_t *routes);
/**
 * Finds the route for `method` and the normalized `path`; exact segments win over captures at the first position where candidate
 * patterns differ. Fills `match` on SK_ROUTE_FOUND.
 */
sk_route_lookup_t sk_routes_match(const sk_routes_t *routes, h2o_iovec_t method, h2o_iovec_t path, sk_route_match_t *match);
/**
 * The methods routed for `path`, as the value of an Allow header allocated from `pool`.
 */
h2o_iovec_t sk_routes_allowed_methods(const sk_routes_t *routes, h2o_iovec_t path, h2o_mem_pool_t *pool);
/**
 * The rule for `sqlstate`: an exact match first, then its class; NULL if neither is in the table.
 */
const sk_error_rule_t *sk_routes_find_error(const sk_routes_t *routes, const char *sqlstate);

#endif
