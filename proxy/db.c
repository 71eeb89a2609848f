/*
 * StockKing Kids edge proxy: a pool of asynchronous libpq connections driven by one thread's h2o event loop.
 *
 * h2o watches a dup() of each connection's socket with H2O_SOCKET_FLAG_DONT_READ, so it reports readiness and libpq does the
 * reading; closing the h2o socket closes only the duplicate. While connecting, libpq may switch sockets (another address, a
 * retry without SSL), so the duplicate is taken anew after every PQconnectPoll step.
 *
 * A connection is DOWN (waiting to retry), CONNECTING, BUSY with one pipeline (a "job") or IDLE. A job is a list of steps, one
 * per statement sent, closed by one sync; results are matched to steps in order, the first error of the pipeline is kept, and
 * the job ends at PGRES_PIPELINE_SYNC. A pipeline that ends inside a failed transaction leaves the session aborted, so a ROLLBACK
 * job follows before the connection takes more work; the client does not wait for it.
 *
 * Request connections run SETUP (prepare the common statements), then QUERY and ROLLBACK jobs. The control connection runs
 * LISTEN (both channels), then LOAD (route and error tables) and FEED (outbox events for the event hub) whenever a NOTIFY or a
 * reconnect asks for them; it never serves requests, so a burst of requests cannot delay the route reload or the events. Every
 * connection reconnects by itself with backoff from 250 ms to 8 s; a reconnected control connection reloads the routes and
 * feeds the hub from where it stopped, so no event committed during an outage is lost.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "db.h"
#include "http.h"

#define CONNECT_TIMEOUT_MS 10000
#define MAX_STEPS 8
#define ROUTES_CHANNEL "stockking_routes"
#define EVENTS_CHANNEL "stockking_events"

static const uint64_t backoff_ms[SK_DB_NUM_BACKOFFS] = {250, 500, 1000, 2000, 4000, 8000};

static const struct {
    const char *name;
    const char *sql;
} base_statements[] = {
    {"begin", "BEGIN"},
    {"begin_ro", "BEGIN READ ONLY"},
    {"setcfg", "SELECT set_config('request.jwt', $1, true), set_config('request.id', $2, true), "
               "set_config('statement_timeout', $3, true)"},
    {"commit", "COMMIT"},
    {"rollback", "ROLLBACK"},
};

typedef enum en_conn_state_t { CONN_DOWN, CONN_CONNECTING, CONN_BUSY, CONN_IDLE } conn_state_t;
typedef enum en_job_t { JOB_SETUP, JOB_LISTEN, JOB_LOAD, JOB_FEED, JOB_QUERY, JOB_ROLLBACK } job_t;
typedef enum en_step_t { STEP_PLAIN, STEP_PREPARE_FN, STEP_CALL, STEP_ROUTES, STEP_ERRORS, STEP_FEED } step_t;

struct st_sk_db_conn_t {
    sk_db_pool_t *pool;
    int is_control;
    PGconn *pg;
    h2o_socket_t *sock;
    conn_state_t state;
    int is_up;                 /* set up and not failed since (request connections: counted in pool->num_up) */
    int resetting;             /* poll with PQresetPoll rather than PQconnectPoll */
    unsigned failures;         /* consecutive failed attempts; picks the backoff */
    h2o_timeout_entry_t timer; /* connect timeout or backoff */
    h2o_linklist_t idle_link;
    unsigned char *prepared; /* by fn id: statement f<id> exists on this session */
    size_t prepared_size;
    /* the job in flight */
    job_t job;
    sk_db_query_t *query; /* JOB_QUERY; NULL once cancelled */
    struct {
        step_t kind;
        size_t fn_id;
        PGresult *res;
    } steps[MAX_STEPS];
    size_t num_steps;
    size_t cur_step;
    PGresult *error;
};

static void conn_connect(sk_db_conn_t *conn);
static void conn_fail(sk_db_conn_t *conn, const char *why);
static void conn_next(sk_db_conn_t *conn);

/* Copies a libpq message (several lines, ending with a newline) as one line. */
static const char *one_line(const char *msg, char *buf, size_t size)
{
    const char *src = msg != NULL && *msg != '\0' ? msg : "unknown error";
    size_t len = 0;

    for (; *src != '\0' && len + 1 < size; ++src) {
        if (*src == '\n' || *src == '\t') {
            if (len != 0 && buf[len - 1] != ' ')
                buf[len++] = ' ';
        } else {
            buf[len++] = *src;
        }
    }
    while (len != 0 && buf[len - 1] == ' ')
        --len;
    buf[len] = '\0';
    return buf;
}

static void set_stat(size_t *gauge, size_t value)
{
    __atomic_store_n(gauge, value, __ATOMIC_RELAXED);
}

/* Publishes the pool's gauges for the other threads. */
static void publish(sk_db_pool_t *pool)
{
    set_stat(&pool->stats.up, pool->num_up);
    set_stat(&pool->stats.busy, pool->num_up - pool->num_idle);
    set_stat(&pool->stats.waiting, pool->num_pending);
    set_stat(&pool->stats.control_up, pool->control->is_up);
    set_stat(&pool->stats.routes_loaded, pool->routes != NULL);
}

static void idle_push(sk_db_conn_t *conn)
{
    conn->state = CONN_IDLE;
    if (conn->is_control)
        return;
    h2o_linklist_insert(conn->pool->idle.next, &conn->idle_link);
    ++conn->pool->num_idle;
}

static void idle_remove(sk_db_conn_t *conn)
{
    if (conn->is_control || !h2o_linklist_is_linked(&conn->idle_link))
        return;
    h2o_linklist_unlink(&conn->idle_link);
    --conn->pool->num_idle;
}

static void on_notice(void *arg, const PGresult *res)
{
    const char *severity = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED),
               *message = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    (void)arg;

    if (severity != NULL && strcmp(severity, "WARNING") == 0 && message != NULL)
        sk_log("warning", "database: %s", message);
}

static void close_socket(sk_db_conn_t *conn)
{
    if (conn->sock != NULL) {
        h2o_socket_close(conn->sock);
        conn->sock = NULL;
    }
}

/* Watches a fresh duplicate of libpq's socket; returns -1 if it cannot. */
static int open_socket(sk_db_conn_t *conn)
{
    int fd;

    close_socket(conn);
    if (PQsocket(conn->pg) < 0 || (fd = fcntl(PQsocket(conn->pg), F_DUPFD_CLOEXEC, 0)) == -1)
        return -1;
    conn->sock = h2o_evloop_socket_create(conn->pool->loop, fd, H2O_SOCKET_FLAG_DONT_READ);
    conn->sock->data = conn;
    return 0;
}

static void clear_job(sk_db_conn_t *conn)
{
    size_t i;

    for (i = 0; i != conn->num_steps; ++i) {
        PQclear(conn->steps[i].res);
        conn->steps[i].res = NULL;
    }
    conn->num_steps = 0;
    conn->cur_step = 0;
    PQclear(conn->error);
    conn->error = NULL;
    conn->query = NULL;
}

/* Takes `query` out of the queue. */
static void dequeue(sk_db_query_t *query)
{
    h2o_linklist_unlink(&query->_pending);
    h2o_timeout_unlink(&query->_wait);
    --query->_pool->num_pending;
}

static void fail_pending(sk_db_pool_t *pool)
{
    while (!h2o_linklist_is_empty(&pool->pending)) {
        sk_db_query_t *query = H2O_STRUCT_FROM_MEMBER(sk_db_query_t, _pending, pool->pending.next);
        dequeue(query);
        query->cb(query, SK_DB_UNAVAILABLE, NULL);
    }
    publish(pool);
}

static void on_wait_timeout(h2o_timeout_entry_t *entry)
{
    sk_db_query_t *query = H2O_STRUCT_FROM_MEMBER(sk_db_query_t, _wait, entry);

    dequeue(query);
    publish(query->_pool);
    query->cb(query, SK_DB_WAIT_TIMEOUT, NULL);
}

static void on_backoff_done(h2o_timeout_entry_t *entry)
{
    conn_connect(H2O_STRUCT_FROM_MEMBER(sk_db_conn_t, timer, entry));
}

static h2o_timeout_t *backoff(sk_db_pool_t *pool, unsigned failures)
{
    return &pool->backoffs[failures < SK_DB_NUM_BACKOFFS ? failures : SK_DB_NUM_BACKOFFS - 1];
}

/* A connection attempt failed: wait, longer each time, then try again. */
static void conn_retry_later(sk_db_conn_t *conn, const char *why)
{
    sk_db_pool_t *pool = conn->pool;
    char buf[512];

    close_socket(conn);
    h2o_timeout_unlink(&conn->timer);
    if (!conn->is_control && pool->num_up == 0 && !pool->reported_down) {
        sk_log("error", "cannot connect to the database: %s", one_line(why, buf, sizeof(buf)));
        pool->reported_down = 1;
    }
    conn->state = CONN_DOWN;
    conn->timer.cb = on_backoff_done;
    h2o_timeout_link(pool->loop, backoff(pool, conn->failures), &conn->timer);
    ++conn->failures;
}

static void on_connect_timeout(h2o_timeout_entry_t *entry)
{
    conn_retry_later(H2O_STRUCT_FROM_MEMBER(sk_db_conn_t, timer, entry), "connection timed out");
}

static void conn_poll(sk_db_conn_t *conn);

static void on_connect_event(h2o_socket_t *sock, const char *err)
{
    (void)err;
    conn_poll(sock->data);
}

static int conn_flush(sk_db_conn_t *conn);

static void on_write(h2o_socket_t *sock, const char *err)
{
    sk_db_conn_t *conn = sock->data;

    if (err != NULL) {
        conn_fail(conn, err);
        return;
    }
    if (conn_flush(conn) != 0)
        conn_fail(conn, PQerrorMessage(conn->pg));
}

/* Sends what libpq has buffered; asks for a writable notification if the socket is full. Returns -1 on error. */
static int conn_flush(sk_db_conn_t *conn)
{
    switch (PQflush(conn->pg)) {
    case 0:
        return 0;
    case 1:
        if (!h2o_socket_is_writing(conn->sock))
            h2o_socket_notify_write(conn->sock, on_write);
        return 0;
    default:
        return -1;
    }
}

static void begin_job(sk_db_conn_t *conn, job_t job)
{
    conn->state = CONN_BUSY;
    conn->job = job;
    conn->num_steps = 0;
    conn->cur_step = 0;
}

/* Records the statement just queued (`sent` is libpq's return value); -1 if it was not queued. */
static int add_step(sk_db_conn_t *conn, int sent, step_t kind, size_t fn_id)
{
    if (!sent)
        return -1;
    conn->steps[conn->num_steps].kind = kind;
    conn->steps[conn->num_steps].fn_id = fn_id;
    conn->steps[conn->num_steps].res = NULL;
    ++conn->num_steps;
    return 0;
}

static int send_prepared(sk_db_conn_t *conn, const char *name, int nparams, const char *const *params, step_t kind)
{
    return add_step(conn, PQsendQueryPrepared(conn->pg, name, nparams, params, NULL, NULL, 0), kind, 0);
}

static int send_plain(sk_db_conn_t *conn, const char *sql, int nparams, const char *const *params, step_t kind)
{
    return add_step(conn, PQsendQueryParams(conn->pg, sql, nparams, NULL, params, NULL, NULL, 0), kind, 0);
}

static int send_sync(sk_db_conn_t *conn)
{
    if (!PQpipelineSync(conn->pg))
        return -1;
    return conn_flush(conn);
}

static void start_setup(sk_db_conn_t *conn)
{
    size_t i;

    begin_job(conn, JOB_SETUP);
    for (i = 0; i != sizeof(base_statements) / sizeof(base_statements[0]); ++i)
        if (add_step(conn, PQsendPrepare(conn->pg, base_statements[i].name, base_statements[i].sql, 0, NULL), STEP_PLAIN, 0) != 0)
            goto Error;
    if (send_sync(conn) != 0)
        goto Error;
    return;
Error:
    conn_fail(conn, PQerrorMessage(conn->pg));
}

static void start_listen(sk_db_conn_t *conn)
{
    begin_job(conn, JOB_LISTEN);
    if (send_plain(conn, "LISTEN " ROUTES_CHANNEL, 0, NULL, STEP_PLAIN) != 0 ||
        send_plain(conn, "LISTEN " EVENTS_CHANNEL, 0, NULL, STEP_PLAIN) != 0 || send_sync(conn) != 0)
        conn_fail(conn, PQerrorMessage(conn->pg));
}

static void start_load(sk_db_conn_t *conn)
{
    conn->pool->load_wanted = 0;
    begin_job(conn, JOB_LOAD);
    if (send_plain(conn, SK_ROUTES_SQL, 0, NULL, STEP_ROUTES) != 0 || send_plain(conn, SK_ERRORS_SQL, 0, NULL, STEP_ERRORS) != 0 ||
        send_sync(conn) != 0)
        conn_fail(conn, PQerrorMessage(conn->pg));
}

static void start_feed(sk_db_conn_t *conn)
{
    sk_db_pool_t *pool = conn->pool;
    char args[128];
    const char *params[1] = {args};

    pool->feed_wanted = 0;
    pool->feed.args(pool->feed.ctx, args, sizeof(args));
    begin_job(conn, JOB_FEED);
    if (send_plain(conn, SK_FEED_SQL, 1, params, STEP_FEED) != 0 || send_sync(conn) != 0)
        conn_fail(conn, PQerrorMessage(conn->pg));
}

static void start_rollback(sk_db_conn_t *conn)
{
    begin_job(conn, JOB_ROLLBACK);
    if (send_prepared(conn, "rollback", 0, NULL, STEP_PLAIN) != 0 || send_sync(conn) != 0)
        conn_fail(conn, PQerrorMessage(conn->pg));
}

static int is_prepared(sk_db_conn_t *conn, size_t fn_id)
{
    return fn_id < conn->prepared_size && conn->prepared[fn_id];
}

static void mark_prepared(sk_db_conn_t *conn, size_t fn_id)
{
    if (fn_id >= conn->prepared_size) {
        size_t size = fn_id + 16;
        conn->prepared = h2o_mem_realloc(conn->prepared, size);
        memset(conn->prepared + conn->prepared_size, 0, size - conn->prepared_size);
        conn->prepared_size = size;
    }
    conn->prepared[fn_id] = 1;
}

static void start_query(sk_db_conn_t *conn, sk_db_query_t *query)
{
    const sk_fn_t *fn = conn->pool->fns.entries + query->fn_id;
    const char *setcfg_params[3] = {query->jwt, query->request_id, query->statement_timeout};
    const char *call_params[2] = {query->args, query->body.base != NULL ? query->body.base : ""};
    const int call_lengths[2] = {0, (int)query->body.len}, call_formats[2] = {0, 1};
    int call_nparams = fn->raw_body ? 2 : 1;
    char name[32];

    begin_job(conn, JOB_QUERY);
    conn->query = query;
    query->_conn = conn;
    snprintf(name, sizeof(name), "f%zu", query->fn_id);
    if (!is_prepared(conn, query->fn_id) &&
        add_step(conn, PQsendPrepare(conn->pg, name, fn->sql, call_nparams, NULL), STEP_PREPARE_FN, query->fn_id) != 0)
        goto Error;
    if (send_prepared(conn, query->read_only ? "begin_ro" : "begin", 0, NULL, STEP_PLAIN) != 0 ||
        send_prepared(conn, "setcfg", 3, setcfg_params, STEP_PLAIN) != 0 ||
        add_step(conn, PQsendQueryPrepared(conn->pg, name, call_nparams, call_params, call_lengths, call_formats, 0), STEP_CALL,
                 0) != 0 ||
        send_prepared(conn, "commit", 0, NULL, STEP_PLAIN) != 0 || send_sync(conn) != 0)
        goto Error;
    return;
Error:
    conn_fail(conn, PQerrorMessage(conn->pg));
}

static void on_control_retry(h2o_timeout_entry_t *entry)
{
    sk_db_pool_t *pool = H2O_STRUCT_FROM_MEMBER(sk_db_pool_t, control_retry, entry);

    if (pool->control->state == CONN_IDLE)
        conn_next(pool->control);
}

/* A load or a feed failed on a working connection: try again after a backoff, the previous table staying in use. */
static void control_failed(sk_db_pool_t *pool, int *wanted, const char *what, const char *why)
{
    char buf[512];

    sk_log("error", "%s: %s", what, one_line(why, buf, sizeof(buf)));
    *wanted = 1;
    h2o_timeout_link(pool->loop, backoff(pool, pool->control_failures), &pool->control_retry);
    ++pool->control_failures;
}

static PGresult *step_result(sk_db_conn_t *conn, step_t kind)
{
    size_t i;

    for (i = 0; i != conn->num_steps; ++i)
        if (conn->steps[i].kind == kind)
            return conn->steps[i].res;
    return NULL;
}

static void finish_load(sk_db_conn_t *conn)
{
    sk_db_pool_t *pool = conn->pool;
    PGresult *routes_res = step_result(conn, STEP_ROUTES), *errors_res = step_result(conn, STEP_ERRORS);
    sk_routes_t *routes;
    char errbuf[512];

    if (conn->error != NULL) {
        control_failed(pool, &pool->load_wanted, "cannot load the route table",
                       PQresultErrorField(conn->error, PG_DIAG_MESSAGE_PRIMARY));
        return;
    }
    if (routes_res == NULL || errors_res == NULL) {
        control_failed(pool, &pool->load_wanted, "cannot load the route table", "no result");
        return;
    }
    if ((routes = sk_routes_build(conn->pg, routes_res, errors_res, &pool->fns, errbuf, sizeof(errbuf))) == NULL) {
        control_failed(pool, &pool->load_wanted, "invalid route table", errbuf);
        return;
    }
    if (pool->routes != NULL)
        sk_routes_release(pool->routes);
    pool->routes = routes;
    pool->control_failures = 0;
    sk_log("info", "route table loaded: %zu routes, %zu error rules", routes->num_routes, routes->num_errors);
}

static void finish_feed(sk_db_conn_t *conn)
{
    sk_db_pool_t *pool = conn->pool;
    PGresult *res = step_result(conn, STEP_FEED);

    if (conn->error != NULL) {
        control_failed(pool, &pool->feed_wanted, "cannot read the event outbox",
                       PQresultErrorField(conn->error, PG_DIAG_MESSAGE_PRIMARY));
        return;
    }
    if (res == NULL || PQnfields(res) != 5) {
        control_failed(pool, &pool->feed_wanted, "cannot read the event outbox", "unexpected result");
        return;
    }
    pool->control_failures = 0;
    if (pool->feed.on_result(pool->feed.ctx, res))
        pool->feed_wanted = 1;
}

/* The sync of the current job arrived: hand out the outcome, then find the connection its next work. */
static void finish_job(sk_db_conn_t *conn)
{
    sk_db_pool_t *pool = conn->pool;
    sk_db_query_t *query;

    switch (conn->job) {
    case JOB_SETUP:
    case JOB_LISTEN:
    case JOB_ROLLBACK:
        if (conn->error != NULL) {
            conn_fail(conn, PQresultErrorMessage(conn->error));
            return;
        }
        if (conn->job == JOB_ROLLBACK)
            break;
        conn->failures = 0;
        conn->is_up = 1;
        if (conn->is_control) {
            pool->load_wanted = 1;
            pool->feed_wanted = pool->feed.on_result != NULL;
            if (pool->feed.on_status != NULL)
                pool->feed.on_status(pool->feed.ctx, 1);
        } else if (pool->num_up++ == 0 && pool->reported_down) {
            sk_log("info", "connected to the database");
            pool->reported_down = 0;
        }
        break;
    case JOB_LOAD:
        finish_load(conn);
        break;
    case JOB_FEED:
        finish_feed(conn);
        break;
    case JOB_QUERY:
        if ((query = conn->query) != NULL) {
            conn->query = NULL;
            query->_conn = NULL;
            if (conn->error != NULL)
                query->cb(query, SK_DB_ERROR, conn->error);
            else
                query->cb(query, SK_DB_OK, step_result(conn, STEP_CALL));
        }
        break;
    }
    clear_job(conn);
    if (PQtransactionStatus(conn->pg) == PQTRANS_INERROR) {
        start_rollback(conn);
        return;
    }
    conn_next(conn);
}

/* Keeps or drops one result of the current step. */
static void take_result(sk_db_conn_t *conn, PGresult *res)
{
    if (conn->cur_step < conn->num_steps) {
        switch (conn->steps[conn->cur_step].kind) {
        case STEP_PREPARE_FN:
            mark_prepared(conn, conn->steps[conn->cur_step].fn_id);
            break;
        case STEP_CALL:
        case STEP_ROUTES:
        case STEP_ERRORS:
        case STEP_FEED:
            if (conn->steps[conn->cur_step].res == NULL) {
                conn->steps[conn->cur_step].res = res;
                return;
            }
            break;
        case STEP_PLAIN:
            break;
        }
    }
    PQclear(res);
}

/* Consumes every result libpq has complete, as long as the connection stays busy. */
static void process_results(sk_db_conn_t *conn)
{
    char buf[512];

    while (conn->state == CONN_BUSY && !PQisBusy(conn->pg)) {
        PGresult *res = PQgetResult(conn->pg);
        if (res == NULL) {
            if (++conn->cur_step > conn->num_steps) {
                conn_fail(conn, "the pipeline ended without its sync");
                return;
            }
            continue;
        }
        switch (PQresultStatus(res)) {
        case PGRES_PIPELINE_SYNC:
            PQclear(res);
            finish_job(conn);
            break;
        case PGRES_COMMAND_OK:
        case PGRES_TUPLES_OK:
            take_result(conn, res);
            break;
        case PGRES_FATAL_ERROR:
            if (PQresultErrorField(res, PG_DIAG_SQLSTATE) == NULL || PQstatus(conn->pg) == CONNECTION_BAD) {
                one_line(PQresultErrorMessage(res), buf, sizeof(buf));
                PQclear(res);
                conn_fail(conn, buf);
                return;
            }
            if (conn->error == NULL)
                conn->error = res;
            else
                PQclear(res);
            break;
        default:
            PQclear(res);
            break;
        }
    }
}

static void on_read(h2o_socket_t *sock, const char *err)
{
    sk_db_conn_t *conn = sock->data;
    sk_db_pool_t *pool = conn->pool;
    PGnotify *notify;

    if (err != NULL || !PQconsumeInput(conn->pg) || PQstatus(conn->pg) == CONNECTION_BAD) {
        conn_fail(conn, err != NULL ? err : PQerrorMessage(conn->pg));
        return;
    }
    while ((notify = PQnotifies(conn->pg)) != NULL) {
        if (conn->is_control) {
            if (strcmp(notify->relname, ROUTES_CHANNEL) == 0)
                pool->load_wanted = 1;
            else if (strcmp(notify->relname, EVENTS_CHANNEL) == 0 && pool->feed.on_result != NULL)
                pool->feed_wanted = 1;
        }
        PQfreemem(notify);
    }
    switch (conn->state) {
    case CONN_BUSY:
        if (conn_flush(conn) != 0) {
            conn_fail(conn, PQerrorMessage(conn->pg));
            return;
        }
        process_results(conn);
        break;
    case CONN_IDLE:
        if (conn->is_control && (pool->load_wanted || pool->feed_wanted))
            conn_next(conn);
        break;
    default:
        break;
    }
}

/* Connected: non-blocking, pipeline mode, then prepare the statements every request uses, or LISTEN. */
static void conn_established(sk_db_conn_t *conn)
{
    h2o_timeout_unlink(&conn->timer);
    if (PQsetnonblocking(conn->pg, 1) != 0 ||
        (PQpipelineStatus(conn->pg) == PQ_PIPELINE_OFF && PQenterPipelineMode(conn->pg) != 1) || open_socket(conn) != 0) {
        conn_retry_later(conn, PQerrorMessage(conn->pg));
        return;
    }
    h2o_socket_read_start(conn->sock, on_read);
    if (conn->prepared != NULL)
        memset(conn->prepared, 0, conn->prepared_size);
    if (conn->is_control)
        start_listen(conn);
    else
        start_setup(conn);
}

static void conn_poll(sk_db_conn_t *conn)
{
    PostgresPollingStatusType status = conn->resetting ? PQresetPoll(conn->pg) : PQconnectPoll(conn->pg);

    switch (status) {
    case PGRES_POLLING_READING:
    case PGRES_POLLING_WRITING:
        if (open_socket(conn) != 0) {
            conn_retry_later(conn, strerror(errno));
            return;
        }
        if (status == PGRES_POLLING_READING)
            h2o_socket_read_start(conn->sock, on_connect_event);
        else
            h2o_socket_notify_write(conn->sock, on_connect_event);
        break;
    case PGRES_POLLING_OK:
        conn_established(conn);
        break;
    default:
        conn_retry_later(conn, PQerrorMessage(conn->pg));
        break;
    }
}

/* Starts a connection attempt: the first with PQconnectStartParams, later ones with PQresetStart. */
static void conn_connect(sk_db_conn_t *conn)
{
    static const char *const keywords[] = {"dbname", "client_encoding", "fallback_application_name", NULL};
    const char *values[] = {conn->pool->conninfo, "UTF8", "stockking-proxy", NULL};

    close_socket(conn);
    if (conn->pg == NULL) {
        if ((conn->pg = PQconnectStartParams(keywords, values, 1)) == NULL) {
            conn_retry_later(conn, "out of memory");
            return;
        }
        PQsetNoticeReceiver(conn->pg, on_notice, conn);
        conn->resetting = 0;
        if (PQstatus(conn->pg) == CONNECTION_BAD) {
            conn_retry_later(conn, PQerrorMessage(conn->pg));
            return;
        }
    } else {
        conn->resetting = 1;
        if (!PQresetStart(conn->pg)) {
            conn_retry_later(conn, PQerrorMessage(conn->pg));
            return;
        }
    }
    conn->state = CONN_CONNECTING;
    conn->timer.cb = on_connect_timeout;
    h2o_timeout_link(conn->pool->loop, &conn->pool->connect_timeout, &conn->timer);
    if (open_socket(conn) != 0) {
        conn_retry_later(conn, strerror(errno));
        return;
    }
    h2o_socket_notify_write(conn->sock, on_connect_event);
}

/* An established connection broke (or the server answered nonsense): fail its work and reconnect. `why` may be freed here. */
static void conn_fail(sk_db_conn_t *conn, const char *why)
{
    sk_db_pool_t *pool = conn->pool;
    sk_db_query_t *query = conn->state == CONN_BUSY && conn->job == JOB_QUERY ? conn->query : NULL;
    int was_up = conn->is_up;
    char buf[512];

    one_line(why, buf, sizeof(buf));
    if (was_up)
        sk_log("warning", "database %s connection lost: %s", conn->is_control ? "control" : "request", buf);
    if (conn->state == CONN_IDLE)
        idle_remove(conn);
    clear_job(conn);
    close_socket(conn);
    conn->state = CONN_DOWN;
    conn->is_up = 0;
    if (conn->is_control) {
        h2o_timeout_unlink(&pool->control_retry);
        pool->control_failures = 0;
        if (was_up && pool->feed.on_status != NULL)
            pool->feed.on_status(pool->feed.ctx, 0);
    } else if (was_up) {
        --pool->num_up;
    }
    if (query != NULL) {
        query->_conn = NULL;
        query->cb(query, SK_DB_UNAVAILABLE, NULL);
    }
    if (pool->num_up == 0)
        fail_pending(pool);
    if (was_up)
        conn_connect(conn);
    else
        conn_retry_later(conn, buf);
    publish(pool);
}

/*
 * `conn` is up and has no job. The control connection reloads the routes or feeds the hub if due; a request connection serves
 * the oldest waiting query, else waits in the idle list.
 */
static void conn_next(sk_db_conn_t *conn)
{
    sk_db_pool_t *pool = conn->pool;

    if (conn->is_control) {
        if (!h2o_timeout_is_linked(&pool->control_retry)) {
            if (pool->load_wanted) {
                start_load(conn);
                return;
            }
            if (pool->feed_wanted) {
                start_feed(conn);
                return;
            }
        }
        conn->state = CONN_IDLE;
    } else if (!h2o_linklist_is_empty(&pool->pending)) {
        sk_db_query_t *query = H2O_STRUCT_FROM_MEMBER(sk_db_query_t, _pending, pool->pending.next);
        dequeue(query);
        start_query(conn, query);
    } else {
        idle_push(conn);
    }
    publish(pool);
}

static void init_conn(sk_db_pool_t *pool, sk_db_conn_t *conn, int is_control)
{
    memset(conn, 0, sizeof(*conn));
    conn->pool = pool;
    conn->is_control = is_control;
}

void sk_db_pool_init(sk_db_pool_t *pool, h2o_loop_t *loop, const char *conninfo, size_t size, size_t max_queue,
                     unsigned wait_timeout_ms, const sk_db_feed_t *feed)
{
    size_t i;

    memset(pool, 0, sizeof(*pool));
    pool->loop = loop;
    pool->conninfo = conninfo;
    pool->max_queue = max_queue;
    pool->conns = h2o_mem_alloc(sizeof(pool->conns[0]) * size);
    pool->num_conns = size;
    pool->control = h2o_mem_alloc(sizeof(*pool->control));
    h2o_linklist_init_anchor(&pool->idle);
    h2o_linklist_init_anchor(&pool->pending);
    if (feed != NULL)
        pool->feed = *feed;
    pool->control_retry.cb = on_control_retry;
    h2o_timeout_init(loop, &pool->connect_timeout, CONNECT_TIMEOUT_MS);
    h2o_timeout_init(loop, &pool->wait_timeout, wait_timeout_ms);
    for (i = 0; i != SK_DB_NUM_BACKOFFS; ++i)
        h2o_timeout_init(loop, &pool->backoffs[i], backoff_ms[i]);
    set_stat(&pool->stats.size, size);
    init_conn(pool, pool->control, 1);
    for (i = 0; i != size; ++i)
        init_conn(pool, pool->conns + i, 0);
    conn_connect(pool->control);
    for (i = 0; i != size; ++i)
        conn_connect(pool->conns + i);
}

static void dispose_conn(sk_db_conn_t *conn)
{
    h2o_timeout_unlink(&conn->timer);
    clear_job(conn);
    close_socket(conn);
    PQfinish(conn->pg);
    free(conn->prepared);
}

void sk_db_pool_dispose(sk_db_pool_t *pool)
{
    size_t i;

    for (i = 0; i != pool->num_conns; ++i)
        dispose_conn(pool->conns + i);
    dispose_conn(pool->control);
    free(pool->conns);
    free(pool->control);
    h2o_timeout_unlink(&pool->control_retry);
    h2o_timeout_dispose(pool->loop, &pool->connect_timeout);
    h2o_timeout_dispose(pool->loop, &pool->wait_timeout);
    for (i = 0; i != SK_DB_NUM_BACKOFFS; ++i)
        h2o_timeout_dispose(pool->loop, &pool->backoffs[i]);
    if (pool->routes != NULL)
        sk_routes_release(pool->routes);
    sk_fn_registry_dispose(&pool->fns);
}

int sk_db_pool_is_ready(sk_db_pool_t *pool)
{
    return pool->routes != NULL && pool->num_up != 0 && pool->control->is_up;
}

int sk_db_submit(sk_db_pool_t *pool, sk_db_query_t *query, const char **reason)
{
    query->_pool = pool;
    query->_conn = NULL;
    memset(&query->_pending, 0, sizeof(query->_pending));
    memset(&query->_wait, 0, sizeof(query->_wait));
    if (pool->num_up == 0) {
        *reason = "the database is unavailable";
        return -1;
    }
    if (!h2o_linklist_is_empty(&pool->idle)) {
        sk_db_conn_t *conn = H2O_STRUCT_FROM_MEMBER(sk_db_conn_t, idle_link, pool->idle.next);
        idle_remove(conn);
        start_query(conn, query);
        publish(pool);
        return 0;
    }
    if (pool->num_pending >= pool->max_queue) {
        *reason = "too many requests are waiting for the database";
        return -1;
    }
    h2o_linklist_insert(&pool->pending, &query->_pending);
    query->_wait.cb = on_wait_timeout;
    h2o_timeout_link(pool->loop, &pool->wait_timeout, &query->_wait);
    ++pool->num_pending;
    publish(pool);
    return 0;
}

void sk_db_cancel(sk_db_query_t *query)
{
    if (query->_conn != NULL) {
        query->_conn->query = NULL;
        query->_conn = NULL;
    } else if (h2o_linklist_is_linked(&query->_pending)) {
        dequeue(query);
        publish(query->_pool);
    }
}
