/*
 * StockKing Kids edge proxy: a pool of asynchronous libpq connections driven by one thread's h2o event loop.
 *
 * Each request connection runs in pipeline mode and executes one pipeline (ending with one sync) at a time. A request is
 *     BEGIN [READ ONLY]; SELECT set_config(...) x 4; SELECT api.<fn>($1::jsonb [, $2::bytea]); COMMIT; sync
 * sent with prepared statements in one round trip. Requests that find no idle connection wait in a bounded FIFO queue, each for
 * at most the pool wait timeout. A separate control connection per pool LISTENs on stockking_routes and stockking_events: it
 * (re)loads the route table and fetches the outbox events for the thread's event hub.
 */
#ifndef sk_db_h
#define sk_db_h

#include <stddef.h>
#include <h2o.h>
#include <libpq-fe.h>
#include "routes.h"

#define SK_DB_NUM_BACKOFFS 6

#define SK_FEED_SQL "SELECT seq, event_type, recipients, data, horizon FROM api.event_feed($1::jsonb)"

typedef struct st_sk_db_conn_t sk_db_conn_t;
typedef struct st_sk_db_query_t sk_db_query_t;

typedef enum en_sk_db_outcome_t {
    SK_DB_OK,          /* `res` is the function's result */
    SK_DB_ERROR,       /* `res` is the first error of the pipeline (PQresultErrorField gives the SQLSTATE) */
    SK_DB_UNAVAILABLE, /* the connection failed, or the last one went down while the query waited; `res` is NULL */
    SK_DB_WAIT_TIMEOUT /* no connection became free within the pool wait timeout; `res` is NULL */
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
    const char *jwt;               /* request.jwt: the caller's access token, verified again by the database; "" if none */
    const char *request_id;        /* request.id */
    const char *statement_timeout; /* milliseconds, decimal */
    const char *args;              /* JSON object text */
    h2o_iovec_t body;              /* the request body, for functions of raw-body routes */
    /* private */
    struct st_sk_db_pool_t *_pool;
    h2o_linklist_t _pending;
    h2o_timeout_entry_t _wait;
    sk_db_conn_t *_conn;
};

/**
 * How the control connection feeds the thread's event hub.
 */
typedef struct st_sk_db_feed_t {
    void *ctx;
    /**
     * Writes the arguments (JSON) of the next call of SK_FEED_SQL into `buf`.
     */
    void (*args)(void *ctx, char *buf, size_t size);
    /**
     * Takes the rows of one call; returns 1 if another call is wanted at once (the page was full).
     */
    int (*on_result)(void *ctx, const PGresult *res);
    /**
     * The control connection went down (0) or is up and listening again (1).
     */
    void (*on_status)(void *ctx, int up);
} sk_db_feed_t;

/**
 * Gauges other threads may read (with __atomic_load_n) for /metrics and /ready.
 */
typedef struct st_sk_db_stats_t {
    size_t size;    /* request connections configured */
    size_t up;      /* request connections up */
    size_t busy;    /* request connections running a pipeline */
    size_t waiting; /* requests in the queue */
    size_t control_up;
    size_t routes_loaded;
} sk_db_stats_t;

typedef struct st_sk_db_pool_t {
    h2o_loop_t *loop;
    const char *conninfo;
    size_t max_queue;
    sk_db_conn_t *conns;
    size_t num_conns;
    size_t num_up;
    size_t num_idle;
    sk_db_conn_t *control;
    h2o_linklist_t idle;    /* sk_db_conn_t, most recently used first */
    h2o_linklist_t pending; /* sk_db_query_t, oldest first */
    size_t num_pending;
    sk_routes_t *routes; /* NULL until loaded */
    sk_fn_registry_t fns;
    int load_wanted;
    int feed_wanted;
    unsigned control_failures; /* consecutive failed loads or feeds */
    int reported_down;
    sk_db_feed_t feed;
    h2o_timeout_entry_t control_retry;
    h2o_timeout_t connect_timeout;
    h2o_timeout_t wait_timeout;
    h2o_timeout_t backoffs[SK_DB_NUM_BACKOFFS];
    sk_db_stats_t stats;
} sk_db_pool_t;

/**
 * Prepares `size` request connections and the control connection on `loop` and starts connecting them; they retry with capped
 * backoff until the database answers. `feed` may have NULL callbacks (no event hub).
 */
void sk_db_pool_init(sk_db_pool_t *pool, h2o_loop_t *loop, const char *conninfo, size_t size, size_t max_queue,
                     unsigned wait_timeout_ms, const sk_db_feed_t *feed);
/**
 * Closes every connection and frees the pool's memory; no query may be pending or in flight.
 */
void sk_db_pool_dispose(sk_db_pool_t *pool);
/**
 * Whether the routes are loaded, the control connection is up and at least one request connection is up.
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
/**
 * Reads one gauge of `pool` from any thread.
 */
static inline size_t sk_db_stat(const size_t *gauge)
{
    return __atomic_load_n(gauge, __ATOMIC_RELAXED);
}

#endif
