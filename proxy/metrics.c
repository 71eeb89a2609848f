/*
 * StockKing Kids edge proxy: Prometheus metrics.
 *
 * Each thread counts into its own set under its own mutex (uncontended but for a scrape); a scrape merges the threads' series by
 * method, route and status and prints them sorted, so the output is stable.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "metrics.h"

#define INITIAL_CAPACITY 64

const double sk_metrics_buckets[SK_METRICS_NUM_BUCKETS] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                           0.1,    0.25,  0.5,    1,     2.5,  5,     10};

struct st_sk_metrics_series_t {
    uint64_t hash;
    char *method;
    char *route; /* "" when no route matched */
    int status;
    uint64_t buckets[SK_METRICS_NUM_BUCKETS + 1]; /* not cumulative; the last is +Inf */
    uint64_t count;
    double sum;
};

static uint64_t hash_series(const char *method, const char *route, int status)
{
    uint64_t h = 0xcbf29ce484222325ull ^ (uint64_t)status;
    const char *p;

    for (p = method; *p != '\0'; ++p)
        h = (h ^ (unsigned char)*p) * 0x100000001b3ull;
    h = (h ^ ' ') * 0x100000001b3ull;
    for (p = route; *p != '\0'; ++p)
        h = (h ^ (unsigned char)*p) * 0x100000001b3ull;
    return h ^ (h >> 31);
}

void sk_metrics_init(sk_metrics_t *metrics)
{
    memset(metrics, 0, sizeof(*metrics));
    pthread_mutex_init(&metrics->mutex, NULL);
    metrics->series_capacity = INITIAL_CAPACITY;
    metrics->series = h2o_mem_alloc(sizeof(metrics->series[0]) * metrics->series_capacity);
    memset(metrics->series, 0, sizeof(metrics->series[0]) * metrics->series_capacity);
}

void sk_metrics_dispose(sk_metrics_t *metrics)
{
    size_t i;

    for (i = 0; i != metrics->series_capacity; ++i) {
        if (metrics->series[i] != NULL) {
            free(metrics->series[i]->method);
            free(metrics->series[i]->route);
            free(metrics->series[i]);
        }
    }
    free(metrics->series);
    pthread_mutex_destroy(&metrics->mutex);
}

/* The slot of the series, or the empty slot where it belongs. */
static sk_metrics_series_t **find_slot(sk_metrics_series_t **table, size_t capacity, uint64_t hash, const char *method,
                                       const char *route, int status)
{
    size_t i = hash & (capacity - 1);

    for (;; i = (i + 1) & (capacity - 1)) {
        sk_metrics_series_t *s = table[i];
        if (s == NULL || (s->hash == hash && s->status == status && strcmp(s->method, method) == 0 && strcmp(s->route, route) == 0))
            return table + i;
    }
}

static void grow(sk_metrics_t *metrics)
{
    size_t capacity = metrics->series_capacity * 2, i;
    sk_metrics_series_t **table = h2o_mem_alloc(sizeof(table[0]) * capacity);

    memset(table, 0, sizeof(table[0]) * capacity);
    for (i = 0; i != metrics->series_capacity; ++i) {
        sk_metrics_series_t *s = metrics->series[i];
        if (s != NULL)
            *find_slot(table, capacity, s->hash, s->method, s->route, s->status) = s;
    }
    free(metrics->series);
    metrics->series = table;
    metrics->series_capacity = capacity;
}

static void add_sample(sk_metrics_series_t *s, double seconds)
{
    size_t i;

    for (i = 0; i != SK_METRICS_NUM_BUCKETS && seconds > sk_metrics_buckets[i]; ++i)
        ;
    ++s->buckets[i];
    ++s->count;
    s->sum += seconds;
}

/* The method as a label: the ones the API uses, else OTHER (a client must not be able to create series at will). */
static const char *method_label(const char *method)
{
    static const char *const known[] = {"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"};
    size_t i;

    for (i = 0; i != sizeof(known) / sizeof(known[0]); ++i)
        if (strcmp(method, known[i]) == 0)
            return known[i];
    return "OTHER";
}

void sk_metrics_observe(sk_metrics_t *metrics, const char *method, const char *route, int status, double seconds)
{
    uint64_t hash;
    sk_metrics_series_t **slot;

    method = method_label(method);
    if (route == NULL)
        route = "";
    hash = hash_series(method, route, status);
    pthread_mutex_lock(&metrics->mutex);
    slot = find_slot(metrics->series, metrics->series_capacity, hash, method, route, status);
    if (*slot == NULL) {
        sk_metrics_series_t *s = h2o_mem_alloc(sizeof(*s));
        memset(s, 0, sizeof(*s));
        s->hash = hash;
        s->method = h2o_strdup(NULL, method, SIZE_MAX).base;
        s->route = h2o_strdup(NULL, route, SIZE_MAX).base;
        s->status = status;
        *slot = s;
        if (++metrics->num_series * 2 > metrics->series_capacity) {
            grow(metrics);
            slot = find_slot(metrics->series, metrics->series_capacity, hash, method, route, status);
        }
    }
    add_sample(*slot, seconds);
    pthread_mutex_unlock(&metrics->mutex);
}

void sk_metrics_add(sk_metrics_t *metrics, uint64_t *counter, uint64_t n)
{
    pthread_mutex_lock(&metrics->mutex);
    *counter += n;
    pthread_mutex_unlock(&metrics->mutex);
}

void sk_metrics_set(sk_metrics_t *metrics, size_t *gauge, size_t value)
{
    pthread_mutex_lock(&metrics->mutex);
    *gauge = value;
    pthread_mutex_unlock(&metrics->mutex);
}

typedef struct st_buffer_t {
    char *base;
    size_t len;
    size_t capacity;
} buffer_t;

static void append(buffer_t *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void append(buffer_t *buf, const char *fmt, ...)
{
    va_list args;
    int n;

    for (;;) {
        va_start(args, fmt);
        n = vsnprintf(buf->base + buf->len, buf->capacity - buf->len, fmt, args);
        va_end(args);
        if (n >= 0 && (size_t)n < buf->capacity - buf->len)
            break;
        buf->capacity = buf->capacity * 2 + (n > 0 ? (size_t)n : 0);
        buf->base = h2o_mem_realloc(buf->base, buf->capacity);
    }
    buf->len += n;
}

/* A label value with \, " and newlines escaped (text format 0.0.4). */
static void append_label(buffer_t *buf, const char *value)
{
    for (; *value != '\0'; ++value) {
        switch (*value) {
        case '\\':
            append(buf, "\\\\");
            break;
        case '"':
            append(buf, "\\\"");
            break;
        case '\n':
            append(buf, "\\n");
            break;
        default:
            append(buf, "%c", *value);
            break;
        }
    }
}

static int compare_series(const void *a, const void *b)
{
    const sk_metrics_series_t *x = *(const sk_metrics_series_t *const *)a, *y = *(const sk_metrics_series_t *const *)b;
    int c;

    if ((c = strcmp(x->route, y->route)) != 0 || (c = strcmp(x->method, y->method)) != 0)
        return c;
    return x->status - y->status;
}

static void append_series_labels(buffer_t *buf, const sk_metrics_series_t *s)
{
    append(buf, "method=\"");
    append_label(buf, s->method);
    append(buf, "\",route=\"");
    append_label(buf, s->route);
    append(buf, "\",status=\"%d\"", s->status);
}

h2o_iovec_t sk_metrics_render(sk_metrics_t **metrics, const sk_metrics_gauges_t *gauges, size_t num, size_t rate_buckets,
                              h2o_mem_pool_t *pool)
{
    sk_metrics_t merged;
    sk_metrics_series_t **sorted;
    sk_metrics_gauges_t g;
    uint64_t rate_limited[SK_RATE_NUM_CLASSES] = {0}, events_sent = 0, dropped = 0, wait_timeouts = 0, queue_full = 0;
    size_t sse = 0, ws = 0, in_flight = 0, i, j, n;
    buffer_t buf = {NULL, 0, 0};
    h2o_iovec_t out;

    sk_metrics_init(&merged);
    memset(&g, 0, sizeof(g));
    for (i = 0; i != num; ++i) {
        sk_metrics_t *m = metrics[i];
        pthread_mutex_lock(&m->mutex);
        for (j = 0; j != m->series_capacity; ++j) {
            sk_metrics_series_t *s = m->series[j], **slot, *t;
            size_t k;
            if (s == NULL)
                continue;
            slot = find_slot(merged.series, merged.series_capacity, s->hash, s->method, s->route, s->status);
            if (*slot == NULL) {
                t = h2o_mem_alloc(sizeof(*t));
                *t = *s;
                t->method = h2o_strdup(NULL, s->method, SIZE_MAX).base;
                t->route = h2o_strdup(NULL, s->route, SIZE_MAX).base;
                *slot = t;
                if (++merged.num_series * 2 > merged.series_capacity)
                    grow(&merged);
            } else {
                t = *slot;
                for (k = 0; k != SK_METRICS_NUM_BUCKETS + 1; ++k)
                    t->buckets[k] += s->buckets[k];
                t->count += s->count;
                t->sum += s->sum;
            }
        }
        for (j = 0; j != SK_RATE_NUM_CLASSES; ++j)
            rate_limited[j] += m->rate_limited[j];
        events_sent += m->events_sent;
        dropped += m->clients_dropped;
        wait_timeouts += m->db_wait_timeouts;
        queue_full += m->db_queue_full;
        sse += m->sse_clients;
        ws += m->ws_clients;
        in_flight += m->requests_in_flight;
        pthread_mutex_unlock(&m->mutex);
        g.pool_size += gauges[i].pool_size;
        g.pool_up += gauges[i].pool_up;
        g.pool_busy += gauges[i].pool_busy;
        g.pool_waiting += gauges[i].pool_waiting;
        g.control_up += gauges[i].control_up;
        g.routes_loaded += gauges[i].routes_loaded;
    }

    sorted = h2o_mem_alloc(sizeof(sorted[0]) * (merged.num_series + 1));
    for (i = 0, n = 0; i != merged.series_capacity; ++i)
        if (merged.series[i] != NULL)
            sorted[n++] = merged.series[i];
    qsort(sorted, n, sizeof(sorted[0]), compare_series);

    append(&buf, "# HELP api_request_duration_seconds Time from a request's arrival to its response, by route and status.\n"
                 "# TYPE api_request_duration_seconds histogram\n");
    for (i = 0; i != n; ++i) {
        const sk_metrics_series_t *s = sorted[i];
        uint64_t cumulative = 0;
        for (j = 0; j != SK_METRICS_NUM_BUCKETS + 1; ++j) {
            cumulative += s->buckets[j];
            append(&buf, "api_request_duration_seconds_bucket{");
            append_series_labels(&buf, s);
            if (j == SK_METRICS_NUM_BUCKETS)
                append(&buf, ",le=\"+Inf\"} %llu\n", (unsigned long long)cumulative);
            else
                append(&buf, ",le=\"%g\"} %llu\n", sk_metrics_buckets[j], (unsigned long long)cumulative);
        }
        append(&buf, "api_request_duration_seconds_sum{");
        append_series_labels(&buf, s);
        append(&buf, "} %.6f\n", s->sum);
        append(&buf, "api_request_duration_seconds_count{");
        append_series_labels(&buf, s);
        append(&buf, "} %llu\n", (unsigned long long)s->count);
    }
    append(&buf,
           "# HELP api_requests_in_flight Requests received and not yet answered.\n"
           "# TYPE api_requests_in_flight gauge\napi_requests_in_flight %zu\n"
           "# HELP api_db_pool_size Database connections configured for requests (all threads).\n"
           "# TYPE api_db_pool_size gauge\napi_db_pool_size %zu\n"
           "# HELP api_db_pool_up Request connections established.\n"
           "# TYPE api_db_pool_up gauge\napi_db_pool_up %zu\n"
           "# HELP api_db_pool_busy Request connections running a request.\n"
           "# TYPE api_db_pool_busy gauge\napi_db_pool_busy %zu\n"
           "# HELP api_db_pool_waiting Requests waiting for a connection.\n"
           "# TYPE api_db_pool_waiting gauge\napi_db_pool_waiting %zu\n"
           "# HELP api_db_listen_up Control connections (LISTEN stockking_routes and stockking_events) up.\n"
           "# TYPE api_db_listen_up gauge\napi_db_listen_up %zu\n"
           "# HELP api_routes_loaded Threads with a route table loaded.\n"
           "# TYPE api_routes_loaded gauge\napi_routes_loaded %zu\n"
           "# HELP api_db_pool_wait_timeouts_total Requests answered 504 after waiting for a connection.\n"
           "# TYPE api_db_pool_wait_timeouts_total counter\napi_db_pool_wait_timeouts_total %llu\n"
           "# HELP api_db_pool_queue_full_total Requests answered 503 because the wait queue was full.\n"
           "# TYPE api_db_pool_queue_full_total counter\napi_db_pool_queue_full_total %llu\n",
           in_flight, g.pool_size, g.pool_up, g.pool_busy, g.pool_waiting, g.control_up, g.routes_loaded,
           (unsigned long long)wait_timeouts, (unsigned long long)queue_full);
    append(&buf,
           "# HELP api_events_sent_total Events written to event-stream clients (SSE and WebSocket).\n"
           "# TYPE api_events_sent_total counter\napi_events_sent_total %llu\n"
           "# HELP api_event_clients Event-stream clients connected.\n"
           "# TYPE api_event_clients gauge\napi_event_clients{transport=\"sse\"} %zu\napi_event_clients{transport=\"ws\"} %zu\n"
           "# HELP api_event_clients_dropped_total Event-stream clients disconnected for not reading fast enough.\n"
           "# TYPE api_event_clients_dropped_total counter\napi_event_clients_dropped_total %llu\n",
           (unsigned long long)events_sent, sse, ws, (unsigned long long)dropped);
    append(&buf, "# HELP api_rate_limited_total Requests refused with 429, by route class.\n"
                 "# TYPE api_rate_limited_total counter\n");
    for (j = 0; j != SK_RATE_NUM_CLASSES; ++j)
        append(&buf, "api_rate_limited_total{class=\"%s\"} %llu\n", sk_rate_class_name((sk_rate_class_t)j),
               (unsigned long long)rate_limited[j]);
    append(&buf,
           "# HELP api_rate_limit_buckets Token buckets held (users and addresses recently limited).\n"
           "# TYPE api_rate_limit_buckets gauge\napi_rate_limit_buckets %zu\n",
           rate_buckets);

    out = h2o_strdup(pool, buf.base, buf.len);
    free(buf.base);
    free(sorted);
    sk_metrics_dispose(&merged);
    return out;
}
