/*
 * StockKing Kids edge proxy: JSON responses, error bodies, request ids and the logs.
 */
#ifndef sk_http_h
#define sk_http_h

#include <stdint.h>
#include <time.h>
#include <h2o.h>
#include <jansson.h>

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
    SK_PX430, /* role not allowed on the route */
    SK_PX500, /* the proxy could not build a response */
    SK_PX503  /* database unavailable, queue full or not ready */
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
} sk_http_ctx_t;

/**
 * Starts the clock and settles the request id: the client's X-Request-Id if it is 1 to 64 characters of [A-Za-z0-9._-], else
 * 16 random bytes in hex.
 */
void sk_http_begin(sk_http_ctx_t *ctx, h2o_req_t *req);
/**
 * Sends `body` (JSON text) with `status`, then writes the access-log line.
 */
void sk_http_respond(sk_http_ctx_t *ctx, int status, h2o_iovec_t body);
/**
 * Sends {"error":{"code","name","message","detail"?,"hint"?}} with `status`; `detail` and `hint` may be NULL.
 */
void sk_http_respond_error(sk_http_ctx_t *ctx, int status, const char *code, const char *name, const char *message,
                           const char *detail, const char *hint);
/**
 * Sends one of the proxy's own errors, with WWW-Authenticate on 401 and Retry-After on 503.
 */
void sk_http_respond_px(sk_http_ctx_t *ctx, sk_px_t px, const char *message, const char *detail);
/**
 * Writes the access-log line of a request freed before a response was sent (the client went away), with status 499.
 */
void sk_http_abandon(sk_http_ctx_t *ctx);
/**
 * A JSON string of `len` bytes of `s`, with bytes that are not valid UTF-8 replaced by U+FFFD; NULL only if memory runs out.
 */
json_t *sk_json_text(const char *s, size_t len);
/**
 * Writes one operational log line {"ts","level","message"} to stderr.
 */
void sk_log(const char *level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
