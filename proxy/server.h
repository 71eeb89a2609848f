/*
 * StockKing Kids edge proxy: worker threads, each with its own event loop, listener, database pool and event hub.
 */
#ifndef sk_server_h
#define sk_server_h

#include <pthread.h>
#include <h2o.h>
#include "config.h"
#include "db.h"
#include "events.h"
#include "metrics.h"
#include "ratelimit.h"

typedef struct st_sk_worker_t sk_worker_t;

/**
 * What the threads share: the workers (for /metrics) and the rate limiter.
 */
typedef struct st_sk_server_t {
    sk_worker_t *workers;
    size_t num_workers;
    sk_ratelimiter_t *limiter;
} sk_server_t;

/**
 * One thread's state. The HTTP context comes first so that handlers find their worker from `req->conn->ctx`.
 */
struct st_sk_worker_t {
    h2o_context_t ctx;
    h2o_accept_ctx_t accept_ctx;
    h2o_loop_t *loop;
    sk_server_t *server;
    sk_config_t *config; /* the current configuration (this thread's reference) */
    int listen_fd;
    h2o_socket_t *listener;
    sk_db_pool_t pool;
    sk_event_hub_t hub;
    sk_metrics_t metrics;
    h2o_multithread_queue_t *queue;
    h2o_multithread_receiver_t stop_receiver;
    h2o_multithread_receiver_t reload_receiver;
    h2o_multithread_message_t stop_message;
    size_t num_active; /* requests received and not yet freed */
    int stopping;
    int drain_expired;
    h2o_timeout_t drain_timeout;
    h2o_timeout_entry_t drain_entry;
    pthread_t thread;
};

/**
 * The worker serving `ctx`.
 */
static inline sk_worker_t *sk_worker_from_ctx(h2o_context_t *ctx)
{
    return H2O_STRUCT_FROM_MEMBER(sk_worker_t, ctx, ctx);
}

/**
 * Monotonic time in milliseconds.
 */
uint64_t sk_now_ms(void);

#endif
