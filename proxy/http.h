/*
 * StockKing Kids edge proxy: JSON responses, error bodies, request ids and the logs.
 */
#ifndef sk_http_h
#define sk_http_h

#include <stdint.h>
#include <time.h>
#include <h2o.h>
#include <jansson.h>
#include "metrics.h"
#include "ratelimit.h"

#define SK_REQUEST_ID_MAX 64

/**
 * Errors made by the proxy itself.
 */
typedef enum en_sk_px_t {
    SK_PX400, /* bad request: body or parameters */
    SK_PX401, /* token missing */
    SK_PX402, /* token malformed */
    SK_PX403, /* token signature does not verify */
    SK_PX404, /* no such path */
    SK_PX405, /* path exists with other methods */
    SK_PX410, /* token expired */
    SK_PX413, /* body larger than the route allows */
    SK_PX429, /* rate limit exceeded */
    SK_PX430, /* role not allowed on the route */
    SK_PX431, /* request line and headers larger than max_header_size */
    SK_PX433, /* CORS preflight from an origin not in the allow-list */
    SK_PX500, /* the proxy could not build a response */
    SK_PX503, /* database unavailable, queue full or not ready */
    SK_PX504  /* no database connection became free within the pool wait timeout */
} sk_px_t;

/**
 * What the proxy knows about one request from its arrival to its access-log line.
 */
typedef struct st_sk_http_ctx_t {
    h2o_req_t *req;
    struct timespec started_mono;
    struct timespec started_wall;
    char request_id[SK_REQUEST_ID_MAX + 1];
    char method[16];     /* for the log line, which may be written while the request is being freed */
    const char *route;   /* the matched pattern, NULL if none */
    const char *user_id; /* the token's subject, NULL if none */
    int responded;
    int streaming; /* an event stream: logged when it ends, not counted in the histogram */
    int status;
    h2o_iovec_t cors_origin; /* the Origin to allow, if it is in the allow-list */
    int has_cors_list;       /* CORS is configured: responses vary by Origin */
    int has_rate;            /* `rate` is for the RateLimit-* headers */
    sk_rate_result_t rate;
    sk_metrics_t *metrics; /* the thread's, or NULL */
} sk_http_ctx_t;

/**
 * Starts the clock and settles the request id: the client's X-Request-Id if it is 1 to 64 characters of [A-Za-z0-9._-], else
 * 16 random bytes in hex.
 */
void sk_http_begin(sk_http_ctx_t *ctx, h2o_req_t *req);
/**
 * Adds X-Request-Id, the CORS headers (when the origin is allowed) and the RateLimit-* headers (when a bucket was consulted) to
 * the response.
 */
void sk_http_add_common_headers(sk_http_ctx_t *ctx);
/**
 * Marks the response as a stream that starts now with `status`: its access-log line is written by sk_http_finish.
 */
void sk_http_begin_stream(sk_http_ctx_t *ctx, int status);
/**
 * Sends `body` (JSON text) with `status`, then writes the access-log line.
 */
void sk_http_respond(sk_http_ctx_t *ctx, int status, h2o_iovec_t body);
/**
 * Sends `body` with `status` and `content_type` (NULL: no Content-Type, e.g. 204), then writes the access-log line.
 */
void sk_http_respond_text(sk_http_ctx_t *ctx, int status, const char *content_type, h2o_iovec_t body);
/**
 * Sends {"error":{"code","name","message","detail"?,"hint"?}} with `status`; `detail` and `hint` may be NULL.
 */
void sk_http_respond_error(sk_http_ctx_t *ctx, int status, const char *code, const char *name, const char *message,
                           const char *detail, const char *hint);
/**
 * Sends one of the proxy's own errors, with WWW-Authenticate on 401, Retry-After on 429 and 503.
 */
void sk_http_respond_px(sk_http_ctx_t *ctx, sk_px_t px, const char *message, const char *detail);
/**
 * The request is being freed: writes the access-log line of a stream (with its whole duration), or of a request that got no
 * response (the client went away; status 499).
 */
void sk_http_finish(sk_http_ctx_t *ctx);
/**
 * A JSON string of `len` bytes of `s`, with bytes that are not valid UTF-8 replaced by U+FFFD; NULL only if memory runs out.
 */
json_t *sk_json_text(const char *s, size_t len);
/**
 * Writes one operational log line {"ts","level","message"} to stderr.
 */
void sk_log(const char *level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
