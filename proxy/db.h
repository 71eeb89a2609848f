/*
 * StockKing Kids edge proxy: a pool of asynchronous libpq connections driven by one thread's h2o event loop.
 *
 * Each connection runs in pipeline mode and executes one pipeline (ending with one sync) at a time. A request is
 *     BEGIN [READ ONLY]; SELECT set_config(...) x 3; SELECT api.<fn>($1::jsonb [, $2::bytea]); COMMIT; sync
 * sent with prepared statements in one round trip. Requests that find no idle connection wait in a bounded FIFO queue. One
 * connection per pool LISTENs on stockking_routes and (re)loads the route table when it connects and when notified.
 */
#ifndef sk_db_h
#define sk_db_h

#include <stddef.h>
#include <h2o.h>
#include <libpq-fe.h>
#include "routes.h"

#define SK_DB_NUM_BACKOFFS 6

typedef struct st_sk_db_conn_t sk_db_conn_t;
typedef struct st_sk_db_query_t sk_db_query_t;

typedef enum en_sk_db_outcome_t {
    SK_DB_OK,         /* `res` is the function's result */
    SK_DB_ERROR,      /* `res` is the first error of the pipeline (PQresultErrorField gives the SQLSTATE) */
    SK_DB_UNAVAILABLE /* the connection failed; `res` is NULL */
} sk_db_outcome_t;

/**
 * Called once per submitted query that was not cancelled; `res` is owned by the pool and freed after the call.
 */
typedef void (*sk_db_query_cb)(sk_db_query_t *query, sk_db_outcome_t outcome, const PGresult *res);

/**
 * One call of an api function, owned by the caller (it lives as long as the HTTP request).
 */
struct st_sk_db_query_t {
    sk_db_query_cb cb;
    size_t fn_id;
    int read_only;
    const char *user_id; /* "" if none */
    const char *role;    /* "" if none */
    const char *request_id;
    const char *args; /* JSON object text */
    h2o_iovec_t body; /* the request body, for functions of raw-body routes */
    /* private */
    struct st_sk_db_pool_t *_pool;
    h2o_linklist_t _pending;
    sk_db_conn_t *_conn;
};

typedef struct st_sk_db_pool_t {
    h2o_loop_t *loop;
    const char *conninfo;
    size_t max_queue;
    sk_db_conn_t *conns;
    size_t num_conns;
    size_t num_up;
    h2o_linklist_t idle;    /* sk_db_conn_t, most recently used first */
    h2o_linklist_t pending; /* sk_db_query_t, oldest first */
    size_t num_pending;
    sk_routes_t *routes; /* NULL until loaded */
    sk_fn_registry_t fns;
    sk_db_conn_t *loader; /* the connection that LISTENs and loads the routes */
    int load_wanted;
    unsigned load_failures;
    int reported_down;
    h2o_timeout_entry_t load_retry;
    h2o_timeout_t connect_timeout;
    h2o_timeout_t backoffs[SK_DB_NUM_BACKOFFS];
} sk_db_pool_t;

/**
 * Prepares `size` connections on `loop` and starts connecting them; they retry with backoff until the database answers.
 */
void sk_db_pool_init(sk_db_pool_t *pool, h2o_loop_t *loop, const char *conninfo, size_t size, size_t max_queue);
/**
 * Closes every connection and frees the pool's memory; no query may be pending or in flight.
 */
void sk_db_pool_dispose(sk_db_pool_t *pool);
/**
 * Whether the routes are loaded and at least one connection is up.
 */
int sk_db_pool_is_ready(sk_db_pool_t *pool);
/**
 * Sends `query` on an idle connection, or queues it. Returns 0 if the callback will be called (possibly before this returns,
 * if the connection fails at once), -1 (and sets `reason`) if no connection is up or the queue is full.
 */
int sk_db_submit(sk_db_pool_t *pool, sk_db_query_t *query, const char **reason);
/**
 * Forgets `query` (the client went away): it leaves the queue, or its result will be dropped. Safe to call at any time after
 * a successful sk_db_submit, also after the callback.
 */
void sk_db_cancel(sk_db_query_t *query);

#endif
