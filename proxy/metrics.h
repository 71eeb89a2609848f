/*
 * StockKing Kids edge proxy: Prometheus metrics.
 */
#ifndef sk_metrics_h
#define sk_metrics_h

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <h2o.h>
#include "ratelimit.h"

#define SK_METRICS_NUM_BUCKETS 14

typedef struct st_sk_metrics_series_t sk_metrics_series_t;

/**
 * One thread's metrics: the request-duration histogram (one series per method, route and status) and counters. The thread
 * writes under its own mutex, which the scrape takes thread by thread; gauges of the pool and the event hub are read from their
 * owners' published stats.
 */
typedef struct st_sk_metrics_t {
    pthread_mutex_t mutex;
    sk_metrics_series_t **series; /* open addressing, a power of 2 */
    size_t series_capacity;
    size_t num_series;
    uint64_t rate_limited[SK_RATE_NUM_CLASSES];
    uint64_t events_sent;      /* events written to event-stream clients */
    uint64_t clients_dropped;  /* event-stream clients disconnected for being slow */
    uint64_t db_wait_timeouts; /* requests answered 504 after waiting for a connection */
    uint64_t db_queue_full;    /* requests answered 503 because the queue was full */
    size_t sse_clients;        /* gauge */
    size_t ws_clients;         /* gauge */
    size_t requests_in_flight; /* gauge */
} sk_metrics_t;

/**
 * The upper bounds of the histogram's buckets, in seconds (+Inf is implied).
 */
extern const double sk_metrics_buckets[SK_METRICS_NUM_BUCKETS];

/**
 * Initializes an empty set.
 */
void sk_metrics_init(sk_metrics_t *metrics);
/**
 * Frees the series.
 */
void sk_metrics_dispose(sk_metrics_t *metrics);
/**
 * Counts one request of `method` on `route` (the matched pattern, or NULL) answered with `status` after `seconds`.
 */
void sk_metrics_observe(sk_metrics_t *metrics, const char *method, const char *route, int status, double seconds);
/**
 * Adds `n` to one of the counters, or sets a gauge (`set`), under the mutex.
 */
void sk_metrics_add(sk_metrics_t *metrics, uint64_t *counter, uint64_t n);
void sk_metrics_set(sk_metrics_t *metrics, size_t *gauge, size_t value);

/**
 * Gauges of one thread's pool and hub, for the exposition.
 */
typedef struct st_sk_metrics_gauges_t {
    size_t pool_size, pool_up, pool_busy, pool_waiting, control_up, routes_loaded;
} sk_metrics_gauges_t;

/**
 * Writes the Prometheus text exposition (format 0.0.4) of the `num` threads' metrics and gauges into `pool` memory.
 */
h2o_iovec_t sk_metrics_render(sk_metrics_t **metrics, const sk_metrics_gauges_t *gauges, size_t num, size_t rate_buckets,
                              h2o_mem_pool_t *pool);

#endif
