/*
 * StockKing Kids edge proxy: JSON responses, error bodies, request ids and the logs.
 *
 * Every body the proxy makes is built with jansson. Logs are JSON lines on stderr, each written with one writev(2).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <openssl/rand.h>
#include "http.h"

#define CONTENT_TYPE_JSON "application/json; charset=utf-8"

static const struct {
    const char *code;
    int status;
    const char *name;
} px_errors[] = {
    [SK_PX400] = {"PX400", 400, "invalid_request"},   [SK_PX401] = {"PX401", 401, "token_missing"},
    [SK_PX402] = {"PX402", 401, "token_malformed"},   [SK_PX403] = {"PX403", 401, "token_bad_signature"},
    [SK_PX404] = {"PX404", 404, "route_not_found"},   [SK_PX405] = {"PX405", 405, "method_not_allowed"},
    [SK_PX410] = {"PX410", 401, "token_expired"},     [SK_PX413] = {"PX413", 413, "body_too_large"},
    [SK_PX429] = {"PX429", 429, "rate_limited"},      [SK_PX430] = {"PX430", 403, "role_not_allowed"},
    [SK_PX431] = {"PX431", 431, "headers_too_large"}, [SK_PX433] = {"PX433", 403, "origin_not_allowed"},
    [SK_PX500] = {"PX500", 500, "proxy_error"},       [SK_PX503] = {"PX503", 503, "service_unavailable"},
    [SK_PX504] = {"PX504", 504, "database_busy"},
};

static const char *reason_phrase(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 402:
        return "Payment Required";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 409:
        return "Conflict";
    case 410:
        return "Gone";
    case 413:
        return "Payload Too Large";
    case 422:
        return "Unprocessable Entity";
    case 423:
        return "Locked";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    default:
        return status < 300 ? "OK" : status < 500 ? "Client Error" : "Server Error";
    }
}

static int is_sane_request_id(const char *s, size_t len)
{
    size_t i;

    if (len == 0 || len > SK_REQUEST_ID_MAX)
        return 0;
    for (i = 0; i != len; ++i) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'))
            return 0;
    }
    return 1;
}

void sk_http_begin(sk_http_ctx_t *ctx, h2o_req_t *req)
{
    static const char hex[] = "0123456789abcdef";
    ssize_t cursor;

    memset(ctx, 0, sizeof(*ctx));
    ctx->req = req;
    memcpy(ctx->method, req->method.base, req->method.len < sizeof(ctx->method) ? req->method.len : sizeof(ctx->method) - 1);
    clock_gettime(CLOCK_MONOTONIC, &ctx->started_mono);
    clock_gettime(CLOCK_REALTIME, &ctx->started_wall);

    cursor = h2o_find_header_by_str(&req->headers, H2O_STRLIT("x-request-id"), -1);
    if (cursor != -1 && is_sane_request_id(req->headers.entries[cursor].value.base, req->headers.entries[cursor].value.len)) {
        memcpy(ctx->request_id, req->headers.entries[cursor].value.base, req->headers.entries[cursor].value.len);
    } else {
        unsigned char random[16];
        size_t i;
        if (RAND_bytes(random, sizeof(random)) != 1)
            h2o_fatal("RAND_bytes failed");
        for (i = 0; i != sizeof(random); ++i) {
            ctx->request_id[i * 2] = hex[random[i] >> 4];
            ctx->request_id[i * 2 + 1] = hex[random[i] & 15];
        }
    }
}

/* Whether s[0..len) starts with a valid UTF-8 sequence; returns its length, or 0. */
static size_t utf8_sequence_length(const unsigned char *s, size_t len)
{
    size_t n, i;
    unsigned cp;

    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        n = 2;
        cp = s[0] & 0x1f;
    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        n = 3;
        cp = s[0] & 0x0f;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        n = 4;
        cp = s[0] & 0x07;
    } else {
        return 0;
    }
    if (len < n)
        return 0;
    for (i = 1; i != n; ++i) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return n;
}

json_t *sk_json_text(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    char *buf, *dst;
    json_t *ret;

    if ((ret = json_stringn(s, len)) != NULL)
        return ret;
    if ((buf = malloc(len * 3 + 1)) == NULL)
        return NULL;
    for (dst = buf; p != end;) {
        size_t n = utf8_sequence_length(p, end - p);
        if (n == 0) {
            memcpy(dst, "\xef\xbf\xbd", 3);
            dst += 3;
            ++p;
        } else {
            memcpy(dst, p, n);
            dst += n;
            p += n;
        }
    }
    ret = json_stringn(buf, dst - buf);
    free(buf);
    return ret;
}

static void format_timestamp(const struct timespec *ts, char *buf, size_t size)
{
    struct tm tm;
    size_t len;

    gmtime_r(&ts->tv_sec, &tm);
    len = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + len, size - len, ".%03ldZ", ts->tv_nsec / 1000000);
}

static void write_line(json_t *obj, size_t flags)
{
    char *text = json_dumps(obj, JSON_COMPACT | flags);
    struct iovec iov[2];

    if (text == NULL)
        return;
    iov[0].iov_base = text;
    iov[0].iov_len = strlen(text);
    iov[1].iov_base = "\n";
    iov[1].iov_len = 1;
    if (writev(2, iov, 2) < 0) {
        /* nowhere left to report it */
    }
    free(text);
}

static json_t *string_or_null(const char *s)
{
    json_t *value;

    if (s == NULL || (value = sk_json_text(s, strlen(s))) == NULL)
        return json_null();
    return value;
}

static void log_access(sk_http_ctx_t *ctx, int status)
{
    struct timespec now;
    char ts[40];
    double duration_ms;
    json_t *line;

    clock_gettime(CLOCK_MONOTONIC, &now);
    duration_ms = (double)(now.tv_sec - ctx->started_mono.tv_sec) * 1e3 + (double)(now.tv_nsec - ctx->started_mono.tv_nsec) / 1e6;
    if (ctx->metrics != NULL && !ctx->streaming)
        sk_metrics_observe(ctx->metrics, ctx->method, ctx->route, status, duration_ms / 1e3);
    format_timestamp(&ctx->started_wall, ts, sizeof(ts));
    line = json_object();
    json_object_set_new(line, "ts", json_string(ts));
    json_object_set_new(line, "request_id", json_string(ctx->request_id));
    json_object_set_new(line, "method", sk_json_text(ctx->method, strlen(ctx->method)));
    json_object_set_new(line, "route", string_or_null(ctx->route));
    json_object_set_new(line, "status", json_integer(status));
    json_object_set_new(line, "duration_ms", json_real((double)(long long)(duration_ms * 1000 + 0.5) / 1000));
    json_object_set_new(line, "user_id", string_or_null(ctx->user_id));
    write_line(line, JSON_REAL_PRECISION(12));
    json_decref(line);
}

static void add_number_header(h2o_req_t *req, const char *name, size_t name_len, const char *orig, unsigned value)
{
    char buf[16];
    int len = snprintf(buf, sizeof(buf), "%u", value);
    h2o_iovec_t copy = h2o_strdup(&req->pool, buf, len);

    h2o_add_header_by_str(&req->pool, &req->res.headers, name, name_len, 0, orig, copy.base, copy.len);
}

void sk_http_add_common_headers(sk_http_ctx_t *ctx)
{
    h2o_req_t *req = ctx->req;

    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-request-id"), 0, "X-Request-Id", ctx->request_id,
                          strlen(ctx->request_id));
    if (ctx->cors_origin.base != NULL) {
        h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("access-control-allow-origin"), 0,
                              "Access-Control-Allow-Origin", ctx->cors_origin.base, ctx->cors_origin.len);
        h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("access-control-expose-headers"), 0,
                              "Access-Control-Expose-Headers",
                              H2O_STRLIT("X-Request-Id, Retry-After, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset"));
    }
    if (ctx->cors_origin.base != NULL || ctx->has_cors_list)
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_VARY, NULL, H2O_STRLIT("Origin"));
    if (ctx->has_rate) {
        add_number_header(req, H2O_STRLIT("ratelimit-limit"), "RateLimit-Limit", ctx->rate.limit);
        add_number_header(req, H2O_STRLIT("ratelimit-remaining"), "RateLimit-Remaining", ctx->rate.remaining);
        add_number_header(req, H2O_STRLIT("ratelimit-reset"), "RateLimit-Reset", ctx->rate.reset);
    }
}

void sk_http_begin_stream(sk_http_ctx_t *ctx, int status)
{
    ctx->responded = 1;
    ctx->streaming = 1;
    ctx->status = status;
    ctx->req->res.status = status;
    ctx->req->res.reason = reason_phrase(status);
    sk_http_add_common_headers(ctx);
}

void sk_http_respond_text(sk_http_ctx_t *ctx, int status, const char *content_type, h2o_iovec_t body)
{
    h2o_req_t *req = ctx->req;

    ctx->responded = 1;
    ctx->status = status;
    req->res.status = status;
    req->res.reason = reason_phrase(status);
    if (content_type != NULL)
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, content_type, strlen(content_type));
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, H2O_STRLIT("no-store"));
    sk_http_add_common_headers(ctx);
    req->res.content_length = body.len;
    log_access(ctx, status);
    h2o_send_inline(req, body.base, body.len);
}

void sk_http_respond(sk_http_ctx_t *ctx, int status, h2o_iovec_t body)
{
    sk_http_respond_text(ctx, status, CONTENT_TYPE_JSON, body);
}

void sk_http_respond_error(sk_http_ctx_t *ctx, int status, const char *code, const char *name, const char *message,
                           const char *detail, const char *hint)
{
    json_t *error = json_object(), *root = json_object();
    char *text;

    json_object_set_new(error, "code", string_or_null(code));
    json_object_set_new(error, "name", string_or_null(name));
    json_object_set_new(error, "message", string_or_null(message));
    if (detail != NULL)
        json_object_set_new(error, "detail", string_or_null(detail));
    if (hint != NULL)
        json_object_set_new(error, "hint", string_or_null(hint));
    json_object_set_new(root, "error", error);
    if ((text = json_dumps(root, JSON_COMPACT)) == NULL) {
        sk_http_respond(ctx, 500,
                        h2o_iovec_init(H2O_STRLIT("{\"error\":{\"code\":\"PX500\",\"name\":\"proxy_error\","
                                                  "\"message\":\"out of memory\"}}")));
    } else {
        sk_http_respond(ctx, status, h2o_iovec_init(text, strlen(text)));
        free(text);
    }
    json_decref(root);
}

void sk_http_respond_px(sk_http_ctx_t *ctx, sk_px_t px, const char *message, const char *detail)
{
    h2o_req_t *req = ctx->req;

    switch (px) {
    case SK_PX401:
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_WWW_AUTHENTICATE, NULL, H2O_STRLIT("Bearer realm=\"stockking\""));
        break;
    case SK_PX402:
    case SK_PX403:
    case SK_PX410:
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_WWW_AUTHENTICATE, NULL,
                       H2O_STRLIT("Bearer realm=\"stockking\", error=\"invalid_token\""));
        break;
    case SK_PX429: {
        char buf[16];
        int len = snprintf(buf, sizeof(buf), "%u", ctx->rate.retry_after);
        h2o_iovec_t value = h2o_strdup(&req->pool, buf, len);
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_RETRY_AFTER, NULL, value.base, value.len);
    } break;
    case SK_PX503:
    case SK_PX504:
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_RETRY_AFTER, NULL, H2O_STRLIT("1"));
        break;
    default:
        break;
    }
    sk_http_respond_error(ctx, px_errors[px].status, px_errors[px].code, px_errors[px].name, message, detail, NULL);
}

void sk_http_finish(sk_http_ctx_t *ctx)
{
    if (!ctx->responded)
        log_access(ctx, 499);
    else if (ctx->streaming)
        log_access(ctx, ctx->status);
}

void sk_log(const char *level, const char *fmt, ...)
{
    struct timespec now;
    char ts[40], message[1024];
    va_list args;
    json_t *line;

    clock_gettime(CLOCK_REALTIME, &now);
    format_timestamp(&now, ts, sizeof(ts));
    va_start(args, fmt);
    vsnprintf(message, sizeof(message), fmt, args);
    va_end(args);
    line = json_object();
    json_object_set_new(line, "ts", json_string(ts));
    json_object_set_new(line, "level", json_string(level));
    json_object_set_new(line, "message", sk_json_text(message, strlen(message)));
    write_line(line, 0);
    json_decref(line);
}
