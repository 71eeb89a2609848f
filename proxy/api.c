/*
 * StockKing Kids edge proxy: the HTTP API.
 *
 * One request: match the route, check the token, build the argument object, call the api function through the pool, and turn
 * its result or its SQLSTATE into the response. The per-request state is allocated with h2o_mem_alloc_shared on the request's
 * pool; its dispose callback withdraws the query from the pool, so a client that goes away never leaves a dangling pointer.
 *
 * The argument object is the body as sent (checked with jansson, never re-encoded, so numbers keep every digit), followed by
 * the query parameters and path captures encoded by jansson. They are joined as members of one object; jsonb keeps the last
 * value of a repeated key, which gives the contract's "later sources override earlier ones". Routes with raw_body pass the body
 * unparsed as a second, binary parameter.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <jansson.h>
#include <h2o/websocket.h>
#include "api.h"
#include "events.h"
#include "http.h"
#include "jwt.h"
#include "routes.h"
#include "server.h"

#define CORS_ALLOW_HEADERS "Authorization, Content-Type, X-Request-Id, Last-Event-ID"

typedef struct st_api_handler_t {
    h2o_handler_t super;
} api_handler_t;

typedef struct st_api_request_t {
    sk_http_ctx_t http;
    sk_db_query_t query;
    int submitted;
    sk_worker_t *worker;
    sk_config_t *config; /* reference held while the request lives */
    sk_routes_t *routes; /* reference held while the request lives */
    const sk_route_t *route;
    sk_jwt_identity_t identity;
    const char *token; /* the verified bearer token (NUL-terminated, in the request's pool); "" when none */
    sk_event_client_t *stream; /* GET /v1/events */
    char statement_timeout[16];
} api_request_t;

static void on_request_dispose(void *p)
{
    api_request_t *r = p;
    sk_metrics_t *metrics = &r->worker->metrics;

    if (r->submitted)
        sk_db_cancel(&r->query);
    if (r->stream != NULL)
        sk_events_detach_sse(r->stream);
    sk_http_finish(&r->http);
    if (r->routes != NULL)
        sk_routes_release(r->routes);
    sk_config_release(r->config);
    --r->worker->num_active;
    sk_metrics_set(metrics, &metrics->requests_in_flight, r->worker->num_active);
}

static int is_get(h2o_req_t *req)
{
    return h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET"));
}

static int path_is(h2o_req_t *req, const char *path, size_t len)
{
    return h2o_memis(req->path_normalized.base, req->path_normalized.len, path, len);
}

static void respond_get_only(api_request_t *r)
{
    h2o_add_header(&r->http.req->pool, &r->http.req->res.headers, H2O_TOKEN_ALLOW, NULL, H2O_STRLIT("GET"));
    sk_http_respond_px(&r->http, SK_PX405, "only GET is allowed on this path", NULL);
}

static void serve_health(api_request_t *r)
{
    sk_http_respond(&r->http, 200, h2o_iovec_init(H2O_STRLIT("{\"status\":\"ok\"}")));
}

static void serve_ready(api_request_t *r)
{
    sk_db_pool_t *pool = &r->worker->pool;

    if (sk_db_pool_is_ready(pool) && sk_event_hub_is_live(&r->worker->hub))
        sk_http_respond(&r->http, 200, h2o_iovec_init(H2O_STRLIT("{\"status\":\"ready\"}")));
    else
        sk_http_respond_px(&r->http, SK_PX503, "not ready",
                           pool->routes == NULL                   ? "The route table is not loaded."
                           : pool->num_up == 0                    ? "No database connection is up."
                           : !sk_db_stat(&pool->stats.control_up) ? "The LISTEN connection is down."
                                                                  : "The event feed has not answered yet.");
}

static void serve_metrics(api_request_t *r)
{
    sk_server_t *server = r->worker->server;
    h2o_req_t *req = r->http.req;
    sk_metrics_t *metrics[256];
    sk_metrics_gauges_t gauges[256];
    size_t i, n = server->num_workers < 256 ? server->num_workers : 256;
    h2o_iovec_t body;

    for (i = 0; i != n; ++i) {
        sk_db_stats_t *stats = &server->workers[i].pool.stats;
        metrics[i] = &server->workers[i].metrics;
        gauges[i].pool_size = sk_db_stat(&stats->size);
        gauges[i].pool_up = sk_db_stat(&stats->up);
        gauges[i].pool_busy = sk_db_stat(&stats->busy);
        gauges[i].pool_waiting = sk_db_stat(&stats->waiting);
        gauges[i].control_up = sk_db_stat(&stats->control_up);
        gauges[i].routes_loaded = sk_db_stat(&stats->routes_loaded);
    }
    body = sk_metrics_render(metrics, gauges, n, sk_ratelimiter_size(server->limiter), &req->pool);
    sk_http_respond_text(&r->http, 200, "text/plain; version=0.0.4", body);
}

/* The bearer token: the Authorization header, or (`query_ok`: event streams, which browsers open without headers) ?access_token=.
 */
static int find_token(api_request_t *r, int query_ok, h2o_iovec_t *token)
{
    h2o_req_t *req = r->http.req;
    ssize_t cursor = h2o_find_header(&req->headers, H2O_TOKEN_AUTHORIZATION, -1);

    if (cursor != -1) {
        h2o_iovec_t value = req->headers.entries[cursor].value;
        if (value.len < 7 || strncasecmp(value.base, "Bearer ", 7) != 0)
            return -1;
        *token = h2o_iovec_init(value.base + 7, value.len - 7);
        while (token->len != 0 && *token->base == ' ') {
            ++token->base;
            --token->len;
        }
        return 0;
    }
    if (query_ok && req->query_at != SIZE_MAX) {
        const char *p = req->path.base + req->query_at + 1, *end = req->path.base + req->path.len;
        while (p < end) {
            const char *amp = memchr(p, '&', end - p), *pair_end = amp != NULL ? amp : end;
            if (pair_end - p > 13 && memcmp(p, "access_token=", 13) == 0) {
                *token = h2o_iovec_init(p + 13, pair_end - p - 13);
                return 0;
            }
            p = pair_end + 1;
        }
    }
    return -1;
}

/* Checks the bearer token and, if `roles` is not NULL, the role; returns 0, or -1 after responding. */
static int authenticate(api_request_t *r, const h2o_iovec_t *roles, size_t num_roles, int query_ok)
{
    const sk_config_t *config = r->config;
    h2o_iovec_t token;
    size_t i;

    if (find_token(r, query_ok, &token) != 0) {
        sk_http_respond_px(&r->http, SK_PX401, "a bearer token is required", NULL);
        return -1;
    }
    switch (sk_jwt_verify(config->keys, config->num_keys, token.base, token.len, time(NULL), &r->identity)) {
    case SK_JWT_OK:
        break;
    case SK_JWT_MALFORMED:
        sk_http_respond_px(&r->http, SK_PX402, "the bearer token is malformed", NULL);
        return -1;
    case SK_JWT_BAD_SIGNATURE:
        sk_http_respond_px(&r->http, SK_PX403, "the bearer token has an invalid signature", NULL);
        return -1;
    case SK_JWT_EXPIRED:
        sk_http_respond_px(&r->http, SK_PX410, "the bearer token has expired", NULL);
        return -1;
    }
    r->http.user_id = r->identity.sub;
    r->token = h2o_strdup(&r->http.req->pool, token.base, token.len).base;
    if (roles == NULL || num_roles == 0)
        return 0;
    for (i = 0; i != num_roles; ++i)
        if (h2o_memis(roles[i].base, roles[i].len, r->identity.role, strlen(r->identity.role)))
            return 0;
    sk_http_respond_px(&r->http, SK_PX430, "this role may not use this route", NULL);
    return -1;
}

/* The client's address as text ("?" if unknown). */
static void peer_address(h2o_req_t *req, char *buf, size_t size)
{
    struct sockaddr_storage ss;
    socklen_t len = req->conn->callbacks->get_peername(req->conn, (struct sockaddr *)&ss);

    snprintf(buf, size, "?");
    if (len == 0)
        return;
    if (ss.ss_family == AF_INET)
        inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, buf, size);
    else if (ss.ss_family == AF_INET6)
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, buf, size);
}

/*
 * Takes a token from the bucket of `cls`: per client address for login and for anonymous requests, else per user (whose token
 * may carry its own figure in the rate_limits claim). Returns 0, or -1 after answering 429.
 */
static int rate_limit(api_request_t *r, sk_rate_class_t cls, int authenticated)
{
    sk_ratelimiter_t *limiter = r->worker->server->limiter;
    sk_rate_t rate = r->config->rate_limits[cls];
    char key[SK_JWT_SUB_MAX + 64];
    size_t key_len;
    struct timespec now;

    if (cls == SK_RATE_LOGIN || !authenticated) {
        memcpy(key, "a:", 2);
        peer_address(r->http.req, key + 2, sizeof(key) - 2);
    } else {
        unsigned claimed = cls == SK_RATE_TRADING ? r->identity.rate_limits.trading : r->identity.rate_limits.default_;
        snprintf(key, sizeof(key), "u:%s", r->identity.sub);
        if (claimed != 0)
            rate = (sk_rate_t){claimed, 60};
    }
    key_len = strlen(key);
    clock_gettime(CLOCK_MONOTONIC, &now);
    sk_ratelimiter_take(limiter, cls, key, key_len, rate, (double)now.tv_sec + (double)now.tv_nsec / 1e9, &r->http.rate);
    r->http.has_rate = 1;
    if (!r->http.rate.allowed) {
        sk_metrics_t *metrics = &r->worker->metrics;
        char detail[128];
        sk_metrics_add(metrics, &metrics->rate_limited[cls], 1);
        snprintf(detail, sizeof(detail), "The %s limit is %u requests per %u seconds%s.", sk_rate_class_name(cls), rate.count,
                 rate.window, cls == SK_RATE_LOGIN || !authenticated ? " per client address" : " per user");
        sk_http_respond_px(&r->http, SK_PX429, "too many requests", detail);
        return -1;
    }
    return 0;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes application/x-www-form-urlencoded text into `dst` (NUL-terminated); -1 on a bad escape or a NUL byte. */
static int form_decode(const char *src, size_t len, char *dst)
{
    size_t i;

    for (i = 0; i != len; ++i) {
        if (src[i] == '+') {
            *dst++ = ' ';
        } else if (src[i] == '%') {
            int hi, lo;
            if (i + 2 >= len || (hi = hex_value(src[i + 1])) < 0 || (lo = hex_value(src[i + 2])) < 0 || (hi | lo) == 0)
                return -1;
            *dst++ = (char)(hi << 4 | lo);
            i += 2;
        } else {
            *dst++ = src[i];
        }
    }
    *dst = '\0';
    return 0;
}

/* Adds the query parameters to `args`; returns -1 after responding if one cannot be decoded. */
static int add_query_params(api_request_t *r, json_t *args)
{
    h2o_req_t *req = r->http.req;
    const char *p, *end;

    if (req->query_at == SIZE_MAX)
        return 0;
    p = req->path.base + req->query_at + 1;
    end = req->path.base + req->path.len;
    while (p < end) {
        const char *amp = memchr(p, '&', end - p), *pair_end = amp != NULL ? amp : end;
        const char *eq = memchr(p, '=', pair_end - p), *key_end = eq != NULL ? eq : pair_end;
        const char *value = eq != NULL ? eq + 1 : pair_end;
        if (pair_end != p) {
            char *key_buf = h2o_mem_alloc_pool(&req->pool, key_end - p + 1);
            char *value_buf = h2o_mem_alloc_pool(&req->pool, pair_end - value + 1);
            json_t *str;
            if (form_decode(p, key_end - p, key_buf) != 0 || form_decode(value, pair_end - value, value_buf) != 0 ||
                (str = json_string(value_buf)) == NULL) {
                sk_http_respond_px(&r->http, SK_PX400, "a query parameter is not valid percent-encoded UTF-8", NULL);
                return -1;
            }
            if (*key_buf == '\0') {
                json_decref(str);
            } else if (json_object_set_new(args, key_buf, str) != 0) {
                sk_http_respond_px(&r->http, SK_PX400, "a query parameter name is not valid percent-encoded UTF-8", NULL);
                return -1;
            }
        }
        p = pair_end + 1;
    }
    return 0;
}

/* Adds the path captures to `args`; returns -1 after responding if one is not UTF-8 or holds a NUL. */
static int add_captures(api_request_t *r, const sk_route_match_t *match, json_t *args)
{
    size_t i;

    for (i = 0; i != match->num_captures; ++i) {
        h2o_iovec_t name = match->captures[i].name, value = match->captures[i].value;
        json_t *str;
        if (memchr(value.base, '\0', value.len) != NULL || (str = json_stringn(value.base, value.len)) == NULL) {
            sk_http_respond_px(&r->http, SK_PX400, "a path segment is not valid UTF-8", NULL);
            return -1;
        }
        if (json_object_setn_new(args, name.base, name.len, str) != 0) {
            sk_http_respond_px(&r->http, SK_PX500, "cannot build the arguments", NULL);
            return -1;
        }
    }
    return 0;
}

static int depth_ok(const json_t *value, size_t depth, size_t max_depth)
{
    const char *key;
    const json_t *member;
    size_t i;

    if (depth > max_depth)
        return 0;
    if (json_is_object(value)) {
        json_object_foreach ((json_t *)value, key, member) {
            if (!depth_ok(member, depth + 1, max_depth))
                return 0;
        }
    } else if (json_is_array(value)) {
        json_array_foreach (value, i, member) {
            if (!depth_ok(member, depth + 1, max_depth))
                return 0;
        }
    }
    return 1;
}

/* Checks the body; returns 0 and sets `members` to the text between its braces (maybe empty), or -1 after responding. */
static int check_body(api_request_t *r, h2o_iovec_t *members)
{
    h2o_iovec_t body = r->http.req->entity;
    json_error_t error;
    json_t *root;
    int ok;
    char detail[JSON_ERROR_TEXT_LENGTH + 64];

    *members = h2o_iovec_init("", 0);
    if (body.base == NULL || body.len == 0)
        return 0;
    if ((root = json_loadb(body.base, body.len, JSON_DECODE_INT_AS_REAL, &error)) == NULL) {
        snprintf(detail, sizeof(detail), "%s (line %d, column %d)", error.text, error.line, error.column);
        sk_http_respond_px(&r->http, SK_PX400, "the request body is not valid JSON", detail);
        return -1;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        sk_http_respond_px(&r->http, SK_PX400, "the request body must be a JSON object", NULL);
        return -1;
    }
    ok = depth_ok(root, 1, r->config->max_json_depth);
    if (ok && json_object_size(root) != 0) {
        const char *open = memchr(body.base, '{', body.len), *close = body.base + body.len;
        while (close[-1] != '}')
            --close;
        *members = h2o_iovec_init(open + 1, close - 1 - (open + 1));
    }
    json_decref(root);
    if (!ok) {
        snprintf(detail, sizeof(detail), "At most %zu levels are allowed.", r->config->max_json_depth);
        sk_http_respond_px(&r->http, SK_PX400, "the request body is nested too deeply", detail);
        return -1;
    }
    return 0;
}

/*
 * Builds the argument object's text in the request's pool; NULL after responding. A raw-body route gets the query parameters,
 * the path captures and `content_type` (the request's Content-Type, null if none); its body travels apart as bytea.
 */
static const char *build_args(api_request_t *r, const sk_route_match_t *match)
{
    h2o_req_t *req = r->http.req;
    h2o_iovec_t members;
    json_t *extra;
    char *extra_text = NULL, *args = NULL;
    size_t extra_len, len;

    if (req->entity.len > r->route->max_body) {
        char message[80];
        snprintf(message, sizeof(message), "the request body is larger than %zu bytes", r->route->max_body);
        sk_http_respond_px(&r->http, SK_PX413, message, NULL);
        return NULL;
    }
    members = h2o_iovec_init("", 0);
    if (!r->route->raw_body && check_body(r, &members) != 0)
        return NULL;
    extra = json_object();
    if (add_query_params(r, extra) != 0 || add_captures(r, match, extra) != 0)
        goto Exit;
    if (r->route->raw_body) {
        ssize_t cursor = h2o_find_header(&req->headers, H2O_TOKEN_CONTENT_TYPE, -1);
        json_object_set_new(extra, "content_type",
                            cursor == -1
                                ? json_null()
                                : sk_json_text(req->headers.entries[cursor].value.base, req->headers.entries[cursor].value.len));
    }
    if ((extra_text = json_dumps(extra, JSON_COMPACT | JSON_EMBED)) == NULL) {
        sk_http_respond_px(&r->http, SK_PX500, "cannot build the arguments", NULL);
        goto Exit;
    }
    extra_len = strlen(extra_text);
    len = 1 + members.len + 1 + extra_len + 1;
    args = h2o_mem_alloc_pool(&req->pool, len + 1);
    snprintf(args, len + 1, "{%.*s%s%s}", (int)members.len, members.base, members.len != 0 && extra_len != 0 ? "," : "",
             extra_text);
Exit:
    free(extra_text);
    json_decref(extra);
    return args;
}

static const char *skip_json_space(const char *p, const char *end)
{
    while (p != end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        ++p;
    return p;
}

static const char *skip_json_string(const char *p, const char *end)
{
    for (++p; p < end && *p != '"'; ++p)
        if (*p == '\\')
            ++p;
    return p + 1;
}

static const char *skip_json_value(const char *p, const char *end)
{
    size_t depth = 0;

    if (*p == '"')
        return skip_json_string(p, end);
    if (*p != '{' && *p != '[') {
        while (p != end && strchr(",}] \t\n\r", *p) == NULL)
            ++p;
        return p;
    }
    while (p < end) {
        switch (*p) {
        case '"':
            p = skip_json_string(p, end);
            continue;
        case '{':
        case '[':
            ++depth;
            break;
        case '}':
        case ']':
            if (--depth == 0)
                return p + 1;
            break;
        }
        ++p;
    }
    return p;
}

/*
 * Copies the members of the object `text` (valid JSON) other than `name` into `dst`, comma-separated and untouched; returns the
 * length written (at most `len`).
 */
static size_t copy_members_except(const char *text, size_t len, const char *name, char *dst)
{
    const char *p = text, *end = text + len;
    size_t out = 0, name_len = strlen(name);

    p = skip_json_space(p, end) + 1;
    while ((p = skip_json_space(p, end)) < end && *p != '}') {
        const char *member = p, *key_end = skip_json_string(p, end), *value_end;
        p = skip_json_space(skip_json_space(key_end, end) + 1, end);
        value_end = skip_json_value(p, end);
        if (!h2o_memis(member + 1, key_end - member - 2, name, name_len)) {
            if (out != 0)
                dst[out++] = ',';
            memcpy(dst + out, member, value_end - member);
            out += value_end - member;
        }
        p = skip_json_space(value_end, end);
        if (p < end && *p == ',')
            ++p;
    }
    return out;
}

/*
 * For token = 'issue': replaces `claims` by a signed access token. The other members are copied as the database wrote them, so
 * their numbers keep every digit; jansson reads the claims and encodes the added members.
 */
static void respond_issued_token(api_request_t *r, const char *text, size_t len)
{
    const sk_config_t *config = r->config;
    h2o_req_t *req = r->http.req;
    json_t *root = json_loadb(text, len, 0, NULL), *claims, *added = NULL, *error;
    char *token = NULL, *added_text = NULL, *body;
    size_t body_len;

    if (json_is_object(root) && json_object_get(root, "claims") == NULL && json_is_object(error = json_object_get(root, "error")) &&
        json_is_string(json_object_get(error, "code"))) {
        /* a refusal whose transaction had to commit (a refresh token's reuse revokes its family): answer as if raised */
        const char *code = json_string_value(json_object_get(error, "code"));
        const sk_error_rule_t *rule = sk_routes_find_error(r->routes, code);
        sk_http_respond_error(
            &r->http, rule != NULL ? rule->http_status : 500, code, rule != NULL ? rule->name.base : "internal_error",
            json_string_value(json_object_get(error, "message")), json_string_value(json_object_get(error, "detail")),
            json_string_value(json_object_get(error, "hint")));
        goto Exit;
    }
    if (!json_is_object(root) || (claims = json_object_get(root, "claims")) == NULL ||
        (token = sk_jwt_sign(&config->keys[0], claims, time(NULL), config->access_token_ttl)) == NULL) {
        sk_log("error", "request %s: %s returned no usable claims", r->http.request_id, r->route->pattern.base);
        sk_http_respond_px(&r->http, SK_PX500, "the function did not return usable claims", NULL);
        goto Exit;
    }
    snprintf(r->identity.sub, sizeof(r->identity.sub), "%s", json_string_value(json_object_get(claims, "sub")));
    r->http.user_id = r->identity.sub;
    added = json_pack("{s:s, s:s, s:I}", "access_token", token, "token_type", "Bearer", "expires_in",
                      (json_int_t)config->access_token_ttl);
    if (added == NULL || (added_text = json_dumps(added, JSON_COMPACT | JSON_EMBED)) == NULL) {
        sk_http_respond_px(&r->http, SK_PX500, "cannot build the response", NULL);
        goto Exit;
    }
    body = h2o_mem_alloc_pool(&req->pool, len + strlen(added_text) + 3);
    body[0] = '{';
    body_len = 1 + copy_members_except(text, len, "claims", body + 1);
    if (body_len != 1)
        body[body_len++] = ',';
    body_len += sprintf(body + body_len, "%s}", added_text);
    sk_http_respond(&r->http, r->route->success_status, h2o_iovec_init(body, body_len));
Exit:
    free(added_text);
    free(token);
    json_decref(added);
    json_decref(root);
}

static void respond_sql_error(api_request_t *r, const PGresult *res)
{
    const char *sqlstate = PQresultErrorField(res, PG_DIAG_SQLSTATE), *message = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    const sk_error_rule_t *rule = sk_routes_find_error(r->routes, sqlstate);
    int status = rule != NULL ? rule->http_status : 500;

    if (status >= 500)
        sk_log("error", "request %s: %s %s: %s", r->http.request_id, r->route->pattern.base, sqlstate, message);
    sk_http_respond_error(&r->http, status, sqlstate, rule != NULL ? rule->name.base : "internal_error", message,
                          PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL), PQresultErrorField(res, PG_DIAG_MESSAGE_HINT));
}

static void on_query_done(sk_db_query_t *query, sk_db_outcome_t outcome, const PGresult *res)
{
    api_request_t *r = H2O_STRUCT_FROM_MEMBER(api_request_t, query, query);
    const char *text = "null";
    size_t len = 4;

    switch (outcome) {
    case SK_DB_OK:
        if (res != NULL && PQntuples(res) != 0 && PQnfields(res) != 0 && !PQgetisnull(res, 0, 0)) {
            text = PQgetvalue(res, 0, 0);
            len = PQgetlength(res, 0, 0);
        }
        if (r->route->issue_token)
            respond_issued_token(r, text, len);
        else
            sk_http_respond(&r->http, r->route->success_status, h2o_iovec_init(text, len));
        break;
    case SK_DB_ERROR:
        respond_sql_error(r, res);
        break;
    case SK_DB_UNAVAILABLE:
        sk_http_respond_px(&r->http, SK_PX503, "the database is unavailable", NULL);
        break;
    case SK_DB_WAIT_TIMEOUT:
        sk_metrics_add(&r->worker->metrics, &r->worker->metrics.db_wait_timeouts, 1);
        sk_http_respond_px(&r->http, SK_PX504, "no database connection became free in time", NULL);
        break;
    }
}

static void serve_route(api_request_t *r)
{
    h2o_req_t *req = r->http.req;
    sk_routes_t *routes = r->worker->pool.routes;
    sk_route_match_t match;
    const char *reason;

    if (routes == NULL) {
        sk_http_respond_px(&r->http, SK_PX503, "the route table is not loaded yet", NULL);
        return;
    }
    r->routes = routes;
    sk_routes_addref(routes);
    switch (sk_routes_match(routes, req->method, req->path_normalized, &match)) {
    case SK_ROUTE_FOUND:
        break;
    case SK_ROUTE_NO_PATH:
        sk_http_respond_px(&r->http, SK_PX404, "no route for this path", NULL);
        return;
    case SK_ROUTE_WRONG_METHOD: {
        h2o_iovec_t allow = sk_routes_allowed_methods(routes, req->path_normalized, &req->pool);
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ALLOW, NULL, allow.base, allow.len);
        sk_http_respond_px(&r->http, SK_PX405, "this method is not allowed on this path", NULL);
        return;
    }
    }
    r->route = match.route;
    r->http.route = r->route->pattern.base;
    if (!r->route->is_public && authenticate(r, r->route->roles, r->route->num_roles, 0) != 0)
        return;
    if (rate_limit(r, r->route->rate_class, !r->route->is_public) != 0)
        return;
    if ((r->query.args = build_args(r, &match)) == NULL)
        return;
    snprintf(r->statement_timeout, sizeof(r->statement_timeout), "%u",
             r->route->statement_timeout_ms != 0 ? r->route->statement_timeout_ms : r->config->statement_timeout_ms);
    r->query.cb = on_query_done;
    r->query.fn_id = r->route->fn_id;
    r->query.read_only = r->route->read_only;
    r->query.jwt = r->route->is_public ? "" : r->token;
    r->query.request_id = r->http.request_id;
    r->query.statement_timeout = r->statement_timeout;
    if (r->route->raw_body)
        r->query.body = req->entity;
    if (sk_db_submit(&r->worker->pool, &r->query, &reason) != 0) {
        if (r->worker->pool.num_up != 0)
            sk_metrics_add(&r->worker->metrics, &r->worker->metrics.db_queue_full, 1);
        sk_http_respond_px(&r->http, SK_PX503, reason, NULL);
        return;
    }
    r->submitted = 1;
}

/* GET /v1/events (Server-Sent Events) and GET /v1/ws (WebSocket): any valid token, the default rate class. */
static void serve_events(api_request_t *r, int websocket)
{
    h2o_req_t *req = r->http.req;
    const char *client_key = NULL;

    r->http.route = websocket ? "/v1/ws" : "/v1/events";
    if (!is_get(req)) {
        respond_get_only(r);
        return;
    }
    if (websocket && (h2o_is_websocket_handshake(req, &client_key) != 0 || client_key == NULL || req->version >= 0x200)) {
        sk_http_respond_px(&r->http, SK_PX400, "a WebSocket handshake (HTTP/1.1 Upgrade: websocket) is required", NULL);
        return;
    }
    if (authenticate(r, NULL, 0, 1) != 0 || rate_limit(r, SK_RATE_DEFAULT, 1) != 0)
        return;
    if (websocket) {
        sk_events_start_ws(&r->worker->hub, &r->http, &r->identity, r->token, client_key);
    } else {
        ssize_t cursor = h2o_find_header_by_str(&req->headers, H2O_STRLIT("last-event-id"), -1);
        const char *id = NULL;
        size_t id_len = 0;
        if (cursor != -1) {
            id = req->headers.entries[cursor].value.base;
            id_len = req->headers.entries[cursor].value.len;
        } else if (req->query_at != SIZE_MAX) {
            const char *p = req->path.base + req->query_at + 1, *end = req->path.base + req->path.len;
            while (p < end) {
                const char *amp = memchr(p, '&', end - p), *pair_end = amp != NULL ? amp : end;
                if (pair_end - p >= 14 && memcmp(p, "last_event_id=", 14) == 0) {
                    id = p + 14;
                    id_len = pair_end - id;
                }
                p = pair_end + 1;
            }
        }
        r->stream = sk_events_start_sse(&r->worker->hub, &r->http, &r->identity, r->token, id, id_len);
    }
}

/* The size of the request line and headers as received (approximately: names, values and separators). */
static size_t header_size(h2o_req_t *req)
{
    size_t size = req->method.len + req->path.len + req->authority.len + 16, i;

    for (i = 0; i != req->headers.size; ++i)
        size += req->headers.entries[i].name->len + req->headers.entries[i].value.len + 4;
    return size;
}

/* Settles the CORS origin of the request: echoed in the response if it is in the allow-list. */
static void check_origin(api_request_t *r)
{
    h2o_req_t *req = r->http.req;
    ssize_t cursor;

    if (r->config->num_cors_origins == 0)
        return;
    r->http.has_cors_list = 1;
    if ((cursor = h2o_find_header_by_str(&req->headers, H2O_STRLIT("origin"), -1)) == -1)
        return;
    if (sk_config_origin_allowed(r->config, req->headers.entries[cursor].value.base, req->headers.entries[cursor].value.len))
        r->http.cors_origin = req->headers.entries[cursor].value;
}

/* OPTIONS: a CORS preflight (Origin and Access-Control-Request-Method), or a plain question about the allowed methods. */
static void serve_options(api_request_t *r)
{
    h2o_req_t *req = r->http.req;
    sk_routes_t *routes = r->worker->pool.routes;
    int preflight = h2o_find_header_by_str(&req->headers, H2O_STRLIT("origin"), -1) != -1 &&
                    h2o_find_header_by_str(&req->headers, H2O_STRLIT("access-control-request-method"), -1) != -1;
    h2o_iovec_t allow;
    char max_age[16];

    if (path_is(req, H2O_STRLIT("/health")) || path_is(req, H2O_STRLIT("/ready")) || path_is(req, H2O_STRLIT("/metrics")) ||
        path_is(req, H2O_STRLIT("/v1/events")) || path_is(req, H2O_STRLIT("/v1/ws"))) {
        allow = h2o_iovec_init(H2O_STRLIT("GET"));
    } else if (routes == NULL) {
        sk_http_respond_px(&r->http, SK_PX503, "the route table is not loaded yet", NULL);
        return;
    } else if ((allow = sk_routes_allowed_methods(routes, req->path_normalized, &req->pool)).len == 0) {
        sk_http_respond_px(&r->http, SK_PX404, "no route for this path", NULL);
        return;
    }
    if (preflight && r->http.cors_origin.base == NULL) {
        sk_http_respond_px(&r->http, SK_PX433, "this origin is not allowed", "Ask the operator to add it to cors_origins.");
        return;
    }
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ALLOW, NULL, allow.base, allow.len);
    if (preflight) {
        h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("access-control-allow-methods"), 0,
                              "Access-Control-Allow-Methods", allow.base, allow.len);
        h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("access-control-allow-headers"), 0,
                              "Access-Control-Allow-Headers", H2O_STRLIT(CORS_ALLOW_HEADERS));
        snprintf(max_age, sizeof(max_age), "%u", r->config->cors_max_age);
        allow = h2o_strdup(&req->pool, max_age, SIZE_MAX);
        h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("access-control-max-age"), 0, "Access-Control-Max-Age",
                              allow.base, allow.len);
    }
    sk_http_respond_text(&r->http, 204, NULL, h2o_iovec_init("", 0));
}

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    sk_worker_t *worker = sk_worker_from_ctx(req->conn->ctx);
    api_request_t *r = h2o_mem_alloc_shared(&req->pool, sizeof(*r), on_request_dispose);
    (void)self;

    memset(r, 0, sizeof(*r));
    r->worker = worker;
    r->config = worker->config;
    sk_config_addref(r->config);
    ++worker->num_active;
    sk_metrics_set(&worker->metrics, &worker->metrics.requests_in_flight, worker->num_active);
    sk_http_begin(&r->http, req);
    r->http.metrics = &worker->metrics;
    check_origin(r);

    if (header_size(req) > r->config->max_header_size) {
        char detail[80];
        snprintf(detail, sizeof(detail), "At most %zu bytes of request line and headers are allowed.", r->config->max_header_size);
        sk_http_respond_px(&r->http, SK_PX431, "the request headers are too large", detail);
    } else if (h2o_memis(req->method.base, req->method.len, H2O_STRLIT("OPTIONS"))) {
        serve_options(r);
    } else if (path_is(req, H2O_STRLIT("/health")) || path_is(req, H2O_STRLIT("/ready")) || path_is(req, H2O_STRLIT("/metrics"))) {
        r->http.route = req->path_normalized.base[1] == 'h'   ? "/health"
                        : req->path_normalized.base[1] == 'r' ? "/ready"
                                                              : "/metrics";
        if (!is_get(req))
            respond_get_only(r);
        else if (req->path_normalized.base[1] == 'h')
            serve_health(r);
        else if (req->path_normalized.base[1] == 'r')
            serve_ready(r);
        else
            serve_metrics(r);
    } else if (path_is(req, H2O_STRLIT("/v1/events"))) {
        serve_events(r, 0);
    } else if (path_is(req, H2O_STRLIT("/v1/ws"))) {
        serve_events(r, 1);
    } else {
        serve_route(r);
    }
    return 0;
}

void sk_api_register(h2o_pathconf_t *pathconf)
{
    api_handler_t *handler = (api_handler_t *)h2o_create_handler(pathconf, sizeof(*handler));

    handler->super.on_req = on_req;
}
