/*
 * StockKing Kids edge proxy: worker threads, each with its own event loop, listener and database pool.
 */
#ifndef sk_server_h
#define sk_server_h

#include <pthread.h>
#include <h2o.h>
#include "db.h"

/**
 * One thread's state. The HTTP context comes first so that handlers find their worker from `req->conn->ctx`.
 */
typedef struct st_sk_worker_t {
    h2o_context_t ctx;
    h2o_accept_ctx_t accept_ctx;
    h2o_loop_t *loop;
    int listen_fd;
    h2o_socket_t *listener;
    sk_db_pool_t pool;
    h2o_multithread_queue_t *queue;
    h2o_multithread_receiver_t stop_receiver;
    h2o_multithread_message_t stop_message;
    size_t num_active; /* requests received and not yet freed */
    int stopping;
    pthread_t thread;
} sk_worker_t;

/**
 * The worker serving `ctx`.
 */
static inline sk_worker_t *sk_worker_from_ctx(h2o_context_t *ctx)
{
    return H2O_STRUCT_FROM_MEMBER(sk_worker_t, ctx, ctx);
}

#endif
