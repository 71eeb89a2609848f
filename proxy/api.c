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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <jansson.h>
#include "api.h"
#include "http.h"
#include "jwt.h"
#include "routes.h"
#include "server.h"

#define MAX_BODY_DEPTH 32

typedef struct st_api_handler_t {
    h2o_handler_t super;
    const sk_config_t *config;
    sk_jwt_key_t key;
} api_handler_t;

typedef struct st_api_request_t {
    sk_http_ctx_t http;
    sk_db_query_t query;
    int submitted;
    api_handler_t *handler;
    sk_worker_t *worker;
    sk_routes_t *routes; /* reference held while the request lives */
    const sk_route_t *route;
    sk_jwt_identity_t identity;
} api_request_t;

static void on_request_dispose(void *p)
{
    api_request_t *r = p;

    if (r->submitted)
        sk_db_cancel(&r->query);
    sk_http_abandon(&r->http);
    if (r->routes != NULL)
        sk_routes_release(r->routes);
    --r->worker->num_active;
}

static int is_get(h2o_req_t *req)
{
    return h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET"));
}

static void respond_get_only(api_request_t *r)
{
    h2o_add_header(&r->http.req->pool, &r->http.req->res.headers, H2O_TOKEN_ALLOW, NULL, H2O_STRLIT("GET"));
    sk_http_respond_px(&r->http, SK_PX405, "only GET is allowed on this path", NULL);
}

static void serve_health(api_request_t *r)
{
    r->http.route = "/health";
    if (!is_get(r->http.req)) {
        respond_get_only(r);
        return;
    }
    sk_http_respond(&r->http, 200, h2o_iovec_init(H2O_STRLIT("{\"status\":\"ok\"}")));
}

static void serve_ready(api_request_t *r)
{
    sk_db_pool_t *pool = &r->worker->pool;

    r->http.route = "/ready";
    if (!is_get(r->http.req)) {
        respond_get_only(r);
        return;
    }
    if (sk_db_pool_is_ready(pool))
        sk_http_respond(&r->http, 200, h2o_iovec_init(H2O_STRLIT("{\"status\":\"ready\"}")));
    else
        sk_http_respond_px(&r->http, SK_PX503, "not ready",
                           pool->routes == NULL ? "The route table is not loaded." : "No database connection is up.");
}

/* Checks the bearer token of a protected route; returns 0, or -1 after responding. */
static int authenticate(api_request_t *r)
{
    h2o_req_t *req = r->http.req;
    const sk_route_t *route = r->route;
    ssize_t cursor = h2o_find_header(&req->headers, H2O_TOKEN_AUTHORIZATION, -1);
    const char *token;
    size_t len, i;

    if (cursor == -1 || req->headers.entries[cursor].value.len < 7 ||
        strncasecmp(req->headers.entries[cursor].value.base, "Bearer ", 7) != 0) {
        sk_http_respond_px(&r->http, SK_PX401, "a bearer token is required", NULL);
        return -1;
    }
    token = req->headers.entries[cursor].value.base + 7;
    len = req->headers.entries[cursor].value.len - 7;
    while (len != 0 && *token == ' ') {
        ++token;
        --len;
    }
    switch (sk_jwt_verify(&r->handler->key, token, len, time(NULL), &r->identity)) {
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
    if (route->num_roles == 0)
        return 0;
    for (i = 0; i != route->num_roles; ++i)
        if (h2o_memis(route->roles[i].base, route->roles[i].len, r->identity.role, strlen(r->identity.role)))
            return 0;
    sk_http_respond_px(&r->http, SK_PX430, "this role may not use this route", NULL);
    return -1;
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

static int depth_ok(const json_t *value, int depth)
{
    const char *key;
    const json_t *member;
    size_t i;

    if (depth > MAX_BODY_DEPTH)
        return 0;
    if (json_is_object(value)) {
        json_object_foreach ((json_t *)value, key, member) {
            if (!depth_ok(member, depth + 1))
                return 0;
        }
    } else if (json_is_array(value)) {
        json_array_foreach (value, i, member) {
            if (!depth_ok(member, depth + 1))
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
    ok = depth_ok(root, 1);
    if (ok && json_object_size(root) != 0) {
        const char *open = memchr(body.base, '{', body.len), *close = body.base + body.len;
        while (close[-1] != '}')
            --close;
        *members = h2o_iovec_init(open + 1, close - 1 - (open + 1));
    }
    json_decref(root);
    if (!ok) {
        sk_http_respond_px(&r->http, SK_PX400, "the request body is nested too deeply", "At most 32 levels are allowed.");
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
    const sk_config_t *config = r->handler->config;
    h2o_req_t *req = r->http.req;
    json_t *root = json_loadb(text, len, 0, NULL), *claims, *added = NULL;
    char *token = NULL, *added_text = NULL, *body;
    size_t body_len;

    if (!json_is_object(root) || (claims = json_object_get(root, "claims")) == NULL ||
        (token = sk_jwt_sign(&r->handler->key, claims, time(NULL), config->access_token_ttl)) == NULL) {
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
    if (!r->route->is_public && authenticate(r) != 0)
        return;
    if ((r->query.args = build_args(r, &match)) == NULL)
        return;
    r->query.cb = on_query_done;
    r->query.fn_id = r->route->fn_id;
    r->query.read_only = r->route->read_only;
    r->query.user_id = r->route->is_public ? "" : r->identity.sub;
    r->query.role = r->route->is_public ? "" : r->identity.role;
    r->query.request_id = r->http.request_id;
    if (r->route->raw_body)
        r->query.body = req->entity;
    if (sk_db_submit(&r->worker->pool, &r->query, &reason) != 0) {
        sk_http_respond_px(&r->http, SK_PX503, reason, NULL);
        return;
    }
    r->submitted = 1;
}

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    sk_worker_t *worker = sk_worker_from_ctx(req->conn->ctx);
    api_request_t *r = h2o_mem_alloc_shared(&req->pool, sizeof(*r), on_request_dispose);

    memset(r, 0, sizeof(*r));
    r->handler = (api_handler_t *)self;
    r->worker = worker;
    ++worker->num_active;
    sk_http_begin(&r->http, req);

    if (h2o_memis(req->path_normalized.base, req->path_normalized.len, H2O_STRLIT("/health")))
        serve_health(r);
    else if (h2o_memis(req->path_normalized.base, req->path_normalized.len, H2O_STRLIT("/ready")))
        serve_ready(r);
    else
        serve_route(r);
    return 0;
}

void sk_api_register(h2o_pathconf_t *pathconf, const sk_config_t *config)
{
    api_handler_t *handler = (api_handler_t *)h2o_create_handler(pathconf, sizeof(*handler));

    handler->super.on_req = on_req;
    handler->config = config;
    handler->key.secret = config->jwt_secret;
    handler->key.secret_len = config->jwt_secret_len;
}
