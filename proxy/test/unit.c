/*
 * StockKing Kids edge proxy: unit tests of the parts that need no server (JWT and key rotation, route table, configuration,
 * CORS allow-list, rate limiting).
 *
 * Run with `make check`; prints one line per check and ends with "N passed, N failed".
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>
#include <libpq-fe.h>
#include "../config.h"
#include "../jwt.h"
#include "../ratelimit.h"
#include "../routes.h"

static unsigned num_passed, num_failed;

static void check(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void check(int ok, const char *fmt, ...)
{
    va_list args;

    printf("%s - ", ok ? "ok" : "not ok");
    va_start(args, fmt);
    vprintf(fmt, args);
    va_end(args);
    printf("\n");
    if (ok)
        ++num_passed;
    else
        ++num_failed;
}

static const sk_jwt_key_t key = {(const unsigned char *)"0123456789abcdef0123456789abcdef", 32, 0};
static const sk_jwt_key_t other_key = {(const unsigned char *)"fedcba9876543210fedcba9876543210", 32, 0};

static sk_jwt_status_t verify(const char *token, time_t now, sk_jwt_identity_t *identity)
{
    return sk_jwt_verify(&key, 1, token, strlen(token), now, identity);
}

static void test_jwt(void)
{
    json_t *claims = json_pack("{s:s, s:s, s:s, s:i}", "sub", "5b0f6a8e-4a8c-4c53-9f7e-2f4f8c9d1e01", "role", "CHILD", "iss",
                               "evil", "family", 7);
    sk_jwt_identity_t identity;
    char *token, *tampered;
    char *dot;

    token = sk_jwt_sign(&key, claims, 1000, 900);
    check(token != NULL, "sign a token");
    check(verify(token, 1000, &identity) == SK_JWT_OK, "verify it");
    check(strcmp(identity.sub, "5b0f6a8e-4a8c-4c53-9f7e-2f4f8c9d1e01") == 0 && strcmp(identity.role, "CHILD") == 0,
          "the identity comes from sub and role");
    check(verify(token, 1899, &identity) == SK_JWT_OK, "valid one second before exp");
    check(verify(token, 1900, &identity) == SK_JWT_EXPIRED, "expired at exp");
    check(sk_jwt_verify(&other_key, 1, token, strlen(token), 1000, &identity) == SK_JWT_BAD_SIGNATURE,
          "another key does not verify");
    check(identity.exp == 1900 && identity.rate_limits.trading == 0, "exp is read; no rate_limits claim means none");

    tampered = malloc(strlen(token) + 2);
    strcpy(tampered, token);
    dot = strchr(tampered, '.');
    dot[3] = dot[3] == 'A' ? 'B' : 'A';
    check(verify(tampered, 1000, &identity) == SK_JWT_BAD_SIGNATURE, "a changed payload does not verify");
    strcpy(tampered, token);
    strcat(tampered, "=");
    check(verify(tampered, 1000, &identity) == SK_JWT_MALFORMED, "padding is refused");
    strcpy(tampered, token);
    *strrchr(tampered, '.') = '\0';
    check(verify(tampered, 1000, &identity) == SK_JWT_MALFORMED, "two segments are malformed");
    check(verify("", 1000, &identity) == SK_JWT_MALFORMED, "an empty token is malformed");
    check(verify("a.b.c.d", 1000, &identity) == SK_JWT_MALFORMED, "four segments are malformed");
    /* {"alg":"none"} . {"sub":"x","role":"ADMIN","exp":9999999999,"iss":"stockking"} . "" */
    check(verify("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4Iiwicm9sZSI6IkFETUlOIiwiZXhwIjo5OTk5OTk5OTk5LCJpc3MiOiJzdG9ja2tpbmcifQ.", 1000,
                 &identity) == SK_JWT_MALFORMED,
          "alg none is refused");
    free(tampered);
    free(token);

    json_object_del(claims, "role");
    check(sk_jwt_sign(&key, claims, 1000, 900) == NULL, "no token without a role claim");
    json_decref(claims);
}

/* A secret rotation: the new key signs, the previous one still verifies until its grace period ends. */
static void test_jwt_rotation(void)
{
    sk_jwt_key_t ring[2] = {other_key, key};
    json_t *claims = json_pack("{s:s, s:s, s:{s:i}}", "sub", "u1", "role", "CHILD", "rate_limits", "trading", 30);
    sk_jwt_identity_t identity;
    char *old_token = sk_jwt_sign(&key, claims, 1000, 900), *new_token = sk_jwt_sign(&other_key, claims, 1000, 900);

    ring[1].not_after = 1500;
    check(sk_jwt_verify(ring, 2, new_token, strlen(new_token), 1000, &identity) == SK_JWT_OK, "rotation: the new key verifies");
    check(sk_jwt_verify(ring, 2, old_token, strlen(old_token), 1000, &identity) == SK_JWT_OK,
          "rotation: a token of the previous key verifies during the grace period");
    check(sk_jwt_verify(ring, 2, old_token, strlen(old_token), 1500, &identity) == SK_JWT_BAD_SIGNATURE,
          "rotation: and not after it");
    check(sk_jwt_verify(ring, 1, old_token, strlen(old_token), 1000, &identity) == SK_JWT_BAD_SIGNATURE,
          "rotation: without the previous key the old token fails");
    check(sk_jwt_verify(ring, 2, new_token, strlen(new_token), 1000, &identity) == SK_JWT_OK &&
              identity.rate_limits.trading == 30 && identity.rate_limits.default_ == 0,
          "the rate_limits claim is read");
    free(old_token);
    free(new_token);
    json_decref(claims);

    claims = json_pack("{s:s, s:s, s:{s:i}}", "sub", "u1", "role", "CHILD", "rate_limits", "trading", 0);
    old_token = sk_jwt_sign(&key, claims, 1000, 900);
    check(verify(old_token, 1000, &identity) == SK_JWT_MALFORMED, "a rate_limits claim must hold positive integers");
    free(old_token);
    json_decref(claims);
}

static void test_ratelimit(void)
{
    sk_ratelimiter_t *limiter = sk_ratelimiter_create(4);
    sk_rate_t five_per_min = {5, 60};
    sk_rate_result_t res;
    int i, allowed = 0;

    for (i = 0; i != 6; ++i) {
        sk_ratelimiter_take(limiter, SK_RATE_LOGIN, "a:10.0.0.1", 10, five_per_min, 100.0, &res);
        allowed += res.allowed;
    }
    check(allowed == 5 && !res.allowed, "5/min: the sixth request in the same second is refused");
    check(res.limit == 5 && res.remaining == 0 && res.retry_after == 12 && res.reset == 60,
          "429 figures: limit 5, remaining 0, retry after 12 s, full again in 60 s (got %u %u %u %u)", res.limit, res.remaining,
          res.retry_after, res.reset);
    sk_ratelimiter_take(limiter, SK_RATE_LOGIN, "a:10.0.0.2", 10, five_per_min, 100.0, &res);
    check(res.allowed && res.remaining == 4, "another address has its own bucket");
    sk_ratelimiter_take(limiter, SK_RATE_DEFAULT, "a:10.0.0.1", 10, five_per_min, 100.0, &res);
    check(res.allowed, "another class has its own bucket");
    sk_ratelimiter_take(limiter, SK_RATE_LOGIN, "a:10.0.0.1", 10, five_per_min, 111.9, &res);
    check(!res.allowed, "no token back after 11.9 s");
    sk_ratelimiter_take(limiter, SK_RATE_LOGIN, "a:10.0.0.1", 10, five_per_min, 112.1, &res);
    check(res.allowed && res.remaining == 0, "one token back after 12 s");
    sk_ratelimiter_take(limiter, SK_RATE_LOGIN, "a:10.0.0.1", 10, (sk_rate_t){1000, 60}, 112.2, &res);
    check(res.allowed && res.limit == 1000, "a raised limit (reload or claim) applies to the existing bucket");
    for (i = 0; i != 5000; ++i) {
        char key[32];
        int len = snprintf(key, sizeof(key), "u:%d", i);
        sk_ratelimiter_take(limiter, SK_RATE_TRADING, key, len, (sk_rate_t){10, 60}, 200.0, &res);
    }
    check(sk_ratelimiter_size(limiter) >= 5000, "5000 users hold 5000 buckets");
    for (i = 0; i != 4000; ++i) {
        char key[32];
        int len = snprintf(key, sizeof(key), "v:%d", i);
        sk_ratelimiter_take(limiter, SK_RATE_TRADING, key, len, (sk_rate_t){10, 60}, 1000.0, &res);
    }
    check(sk_ratelimiter_size(limiter) < 6000, "buckets that are full again are dropped as the table grows (%zu of 9000 left)",
          sk_ratelimiter_size(limiter));
    check(sk_rate_class_from_name("trading") == SK_RATE_TRADING && sk_rate_class_from_name("none") == -1, "class names");
    sk_ratelimiter_destroy(limiter);
}

typedef struct st_fake_result_t {
    PGresult *res;
    int rows;
} fake_result_t;

static fake_result_t make_result(int ncols, const char *const *names)
{
    PGresAttDesc attrs[16];
    fake_result_t fake = {PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK), 0};
    int i;

    memset(attrs, 0, sizeof(attrs));
    for (i = 0; i != ncols; ++i) {
        attrs[i].name = (char *)names[i];
        attrs[i].typlen = -1;
    }
    PQsetResultAttrs(fake.res, ncols, attrs);
    return fake;
}

/* Appends a row; NULL values are SQL NULLs. */
static void add_row(fake_result_t *fake, int ncols, const char *const *values)
{
    int i;

    for (i = 0; i != ncols; ++i)
        PQsetvalue(fake->res, fake->rows, i, (char *)values[i], values[i] != NULL ? (int)strlen(values[i]) : -1);
    ++fake->rows;
}

static const char *const route_cols[] = {"method", "path",     "fn",       "roles",      "read_only",           "success_status",
                                         "token",  "max_body", "raw_body", "rate_class", "statement_timeout_ms"};
static const char *const error_cols[] = {"sqlstate", "http_status", "name"};

static sk_routes_t *build(PGconn *pg, sk_fn_registry_t *fns, const char *const (*rows)[11], size_t nrows, char *errbuf,
                          size_t errbuf_size)
{
    static const char *const errors[][3] = {
        {"23505", "409", "unique_violation"}, {"23", "400", "integrity"}, {"XX", "500", "internal"}};
    fake_result_t routes_res = make_result(11, route_cols), errors_res = make_result(3, error_cols);
    sk_routes_t *routes;
    size_t i;

    for (i = 0; i != nrows; ++i)
        add_row(&routes_res, 11, rows[i]);
    for (i = 0; i != sizeof(errors) / sizeof(errors[0]); ++i)
        add_row(&errors_res, 3, errors[i]);
    routes = sk_routes_build(pg, routes_res.res, errors_res.res, fns, errbuf, errbuf_size);
    PQclear(routes_res.res);
    PQclear(errors_res.res);
    return routes;
}

static int match(const sk_routes_t *routes, const char *method, const char *path, sk_route_match_t *m)
{
    return sk_routes_match(routes, h2o_iovec_init(method, strlen(method)), h2o_iovec_init(path, strlen(path)), m);
}

static void test_routes(void)
{
    static const char *const rows[][11] = {
        {"GET", "/v1/orders/:id", "order_get", "{}", "t", "200", "none", "1024", "f", "default", NULL},
        {"GET", "/v1/orders/active", "orders_active", "{CHILD,\"PARENT\"}", "t", "200", NULL, NULL, NULL, NULL, NULL},
        {"DELETE", "/v1/orders/:id", "order_cancel", "{CHILD}", "f", "200", "none", "1024", "f", "trading", "250"},
        {"POST", "/v1/auth/login", "login", NULL, "f", "200", "issue", "4096", "f", "login", NULL},
        {"GET", "/", "root", NULL, "t", "200", "none", "0", "f", "default", NULL},
        {"GET", "/v1/a\"b", "we\"ird", NULL, "t", "200", "none", "0", "f", "default", NULL},
        {"POST", "/v1/ledger/import", "order_get", "{PARENT}", "f", "201", "none", "1048576", "t", "default", NULL},
    };
    PGconn *pg = PQconnectStart("host=/nonexistent port=1");
    sk_fn_registry_t fns = {NULL, 0};
    sk_route_match_t m;
    sk_routes_t *routes;
    const sk_error_rule_t *rule;
    char errbuf[256];
    h2o_mem_pool_t pool;
    h2o_iovec_t allow;

    routes = build(pg, &fns, rows, sizeof(rows) / sizeof(rows[0]), errbuf, sizeof(errbuf));
    check(routes != NULL, "build a route table");
    if (routes == NULL)
        return;
    check(fns.size == 7 && strcmp(fns.entries[5].sql, "SELECT api.\"we\"\"ird\"($1::jsonb)") == 0,
          "function names are quoted identifiers");
    check(strcmp(fns.entries[6].sql, "SELECT api.\"order_get\"($1::jsonb, $2::bytea)") == 0 && fns.entries[6].raw_body,
          "a raw-body route calls its function with the body as bytea");
    check(match(routes, "GET", "/v1/orders/42", &m) == SK_ROUTE_FOUND && strcmp(m.route->pattern.base, "/v1/orders/:id") == 0 &&
              m.num_captures == 1 && h2o_memis(m.captures[0].value.base, m.captures[0].value.len, H2O_STRLIT("42")) &&
              h2o_memis(m.captures[0].name.base, m.captures[0].name.len, H2O_STRLIT("id")),
          "a capture takes one segment");
    check(match(routes, "GET", "/v1/orders/active", &m) == SK_ROUTE_FOUND && m.route->fn_id == 1 && m.num_captures == 0,
          "an exact segment wins over a capture");
    check(m.route->num_roles == 2 && h2o_memis(m.route->roles[1].base, m.route->roles[1].len, H2O_STRLIT("PARENT")) &&
              m.route->issue_token == 0 && m.route->max_body == 1024 * 1024,
          "roles, token and max_body defaults are read");
    check(match(routes, "DELETE", "/v1/orders/active", &m) == SK_ROUTE_FOUND && m.route->fn_id == 2,
          "the method narrows the candidates first");
    check(m.route->rate_class == SK_RATE_TRADING && m.route->statement_timeout_ms == 250,
          "rate class and statement timeout are read");
    match(routes, "POST", "/v1/auth/login", &m);
    check(m.route->rate_class == SK_RATE_LOGIN && m.route->statement_timeout_ms == 0, "login class; no timeout of its own");
    check(match(routes, "PUT", "/v1/orders/1", &m) == SK_ROUTE_WRONG_METHOD, "405 when the path exists with other methods");
    h2o_mem_init_pool(&pool);
    allow = sk_routes_allowed_methods(routes, h2o_iovec_init(H2O_STRLIT("/v1/orders/1")), &pool);
    check(h2o_memis(allow.base, allow.len, H2O_STRLIT("GET, DELETE")), "Allow lists each method once");
    h2o_mem_clear_pool(&pool);
    check(match(routes, "GET", "/v1/orders/", &m) == SK_ROUTE_NO_PATH, "an empty segment captures nothing");
    check(match(routes, "GET", "/v1/orders/1/x", &m) == SK_ROUTE_NO_PATH, "extra segments do not match");
    check(match(routes, "GET", "/", &m) == SK_ROUTE_FOUND && m.route->fn_id == 4, "the root path");
    check(match(routes, "POST", "/v1/auth/login", &m) == SK_ROUTE_FOUND && m.route->is_public && m.route->issue_token,
          "a public route that issues tokens");

    rule = sk_routes_find_error(routes, "23505");
    check(rule != NULL && rule->http_status == 409, "an exact SQLSTATE matches");
    rule = sk_routes_find_error(routes, "23503");
    check(rule != NULL && rule->http_status == 400, "else its class matches");
    check(sk_routes_find_error(routes, "P0001") == NULL, "else no rule");
    sk_routes_release(routes);

    {
        static const char *const bad[][11] = {{"GET", "v1/x", "f", NULL, "t", "200", "none", "0", "f", NULL, NULL}};
        check(build(pg, &fns, bad, 1, errbuf, sizeof(errbuf)) == NULL, "a path must start with a slash (%s)", errbuf);
    }
    {
        static const char *const bad[][11] = {{"GET", "/x", "f", NULL, "t", "200", "maybe", "0", "f", NULL, NULL}};
        check(build(pg, &fns, bad, 1, errbuf, sizeof(errbuf)) == NULL, "token must be none or issue (%s)", errbuf);
    }
    {
        static const char *const bad[][11] = {{"GET", "/x", "f", "{CHILD,NULL}", "t", "200", "none", "0", "f", NULL, NULL}};
        check(build(pg, &fns, bad, 1, errbuf, sizeof(errbuf)) == NULL, "a NULL role is refused (%s)", errbuf);
    }
    {
        static const char *const bad[][11] = {{"GET", "/x", "f", NULL, "t", "200", "none", "0", "f", NULL, NULL},
                                              {"GET", "/x", "g", NULL, "t", "200", "none", "0", "f", NULL, NULL}};
        check(build(pg, &fns, bad, 2, errbuf, sizeof(errbuf)) == NULL, "a route listed twice is refused (%s)", errbuf);
    }
    {
        static const char *const bad[][11] = {{"GET", "/x", "f", NULL, "t", "200", "none", "0", "f", "none", NULL}};
        check(build(pg, &fns, bad, 1, errbuf, sizeof(errbuf)) == NULL, "an unknown rate class is refused (%s)", errbuf);
    }
    {
        size_t id;
        check(sk_fn_registry_add_internal(&fns, "order_get", "SELECT * FROM api.event_replay($1::jsonb)", &id) == 0 &&
                  fns.entries[id].internal && id != 0,
              "an internal statement never shares an id with a route's function of the same name");
    }
    sk_fn_registry_dispose(&fns);
    PQfinish(pg);
}

static int write_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");

    if (fp == NULL)
        return -1;
    fputs(text, fp);
    return fclose(fp);
}

static void test_config(void)
{
    char dir[] = "/tmp/sk-proxy-test-XXXXXX", conf[64], secret[64], secret2[64], text[512], errbuf[256];
    sk_config_t *config, *next;

    if (mkdtemp(dir) == NULL) {
        check(0, "make a temporary directory");
        return;
    }
    snprintf(conf, sizeof(conf), "%s/proxy.conf", dir);
    snprintf(secret, sizeof(secret), "%s/secret", dir);
    snprintf(secret2, sizeof(secret2), "%s/secret2", dir);
    unsetenv("STOCKKING_PROXY_CONNINFO");

    write_file(secret, "0123456789abcdef0123456789abcdef\n");
    snprintf(text, sizeof(text), "# comment\n\njwt_secret_file = %s\nconninfo = dbname=x password=a#b\nlisten = [::1]:9000\n",
             secret);
    write_file(conf, text);
    config = sk_config_load(conf, NULL, errbuf, sizeof(errbuf));
    check(config != NULL, "load a configuration");
    if (config == NULL)
        return;
    check(config->num_keys == 1 && config->keys[0].secret_len == 32 && config->pool_size == 8 && config->max_queue == 1024 &&
              config->access_token_ttl == 900 && config->threads >= 1 && config->statement_timeout_ms == 10000,
          "defaults apply and the secret's newline is stripped");
    check(config->rate_limits[SK_RATE_LOGIN].count == 5 && config->rate_limits[SK_RATE_LOGIN].window == 60 &&
              config->rate_limits[SK_RATE_TRADING].count == 10 && config->rate_limits[SK_RATE_DEFAULT].count == 100,
          "rate limits default to the seeds: login 5/min, trading 10/min, default 100/min");
    check(strcmp(config->conninfo, "dbname=x password=a#b") == 0, "a # inside a value is kept");
    check(strcmp(config->listen_host, "::1") == 0 && strcmp(config->listen_port, "9000") == 0, "a bracketed IPv6 address");
    check(config->num_cors_origins == 0 && !sk_config_origin_allowed(config, H2O_STRLIT("https://a.example")),
          "no CORS origin is allowed by default");
    sk_config_release(config);

    setenv("STOCKKING_PROXY_CONNINFO", "dbname=fromenv", 1);
    config = sk_config_load(conf, NULL, errbuf, sizeof(errbuf));
    check(config != NULL && strcmp(config->conninfo, "dbname=fromenv") == 0, "STOCKKING_PROXY_CONNINFO overrides conninfo");
    if (config != NULL)
        sk_config_release(config);
    unsetenv("STOCKKING_PROXY_CONNINFO");

    /* an appended file overrides: what bench/run.sh and the e2e tests do */
    snprintf(text, sizeof(text),
             "jwt_secret_file = %s\nrate_limit_login = 5/min\nrate_limit_login = 1000000/min\nrate_limit_trading = 20/s\n"
             "rate_limit_default = 7/h\ncors_origins = https://app.example.com, http://localhost:3000\n",
             secret);
    write_file(conf, text);
    config = sk_config_load(conf, NULL, errbuf, sizeof(errbuf));
    check(config != NULL && config->rate_limits[SK_RATE_LOGIN].count == 1000000 &&
              config->rate_limits[SK_RATE_LOGIN].window == 60 && config->rate_limits[SK_RATE_TRADING].count == 20 &&
              config->rate_limits[SK_RATE_TRADING].window == 1 && config->rate_limits[SK_RATE_DEFAULT].window == 3600,
          "rate_limit_* take N/min, N/s, N/h; the later line wins");
    if (config != NULL) {
        check(sk_config_origin_allowed(config, H2O_STRLIT("https://app.example.com")) &&
                  sk_config_origin_allowed(config, H2O_STRLIT("http://localhost:3000")) &&
                  !sk_config_origin_allowed(config, H2O_STRLIT("https://app.example.com.evil.test")) &&
                  !sk_config_origin_allowed(config, H2O_STRLIT("https://app.example.co")) &&
                  !sk_config_origin_allowed(config, H2O_STRLIT("null")),
              "CORS: only the listed origins, compared whole");
        sk_config_release(config);
    }
    snprintf(text, sizeof(text), "jwt_secret_file = %s\ncors_origins = *\n", secret);
    write_file(conf, text);
    config = sk_config_load(conf, NULL, errbuf, sizeof(errbuf));
    check(config != NULL && sk_config_origin_allowed(config, H2O_STRLIT("https://any.example")), "CORS: * allows any origin");
    if (config != NULL)
        sk_config_release(config);
    snprintf(text, sizeof(text), "jwt_secret_file = %s\ncors_origins = app.example.com\n", secret);
    write_file(conf, text);
    check(sk_config_load(conf, NULL, errbuf, sizeof(errbuf)) == NULL, "CORS: an origin needs its scheme (%s)", errbuf);
    snprintf(text, sizeof(text), "jwt_secret_file = %s\nrate_limit_trading = 10/fortnight\n", secret);
    write_file(conf, text);
    check(sk_config_load(conf, NULL, errbuf, sizeof(errbuf)) == NULL, "a rate needs a known unit (%s)", errbuf);

    /* the secret from the environment; a rotation with a grace period */
    setenv("SK_TEST_SECRET", "fedcba9876543210fedcba9876543210", 1);
    snprintf(text, sizeof(text), "jwt_secret_env = SK_TEST_SECRET\n");
    write_file(conf, text);
    config = sk_config_load(conf, NULL, errbuf, sizeof(errbuf));
    check(config != NULL && config->num_keys == 1 && memcmp(config->keys[0].secret, "fedcba98", 8) == 0,
          "jwt_secret_env names the variable holding the secret");
    if (config != NULL)
        sk_config_release(config);
    snprintf(text, sizeof(text), "jwt_secret_env = SK_TEST_SECRET\njwt_secret_file = %s\n", secret);
    write_file(conf, text);
    check(sk_config_load(conf, NULL, errbuf, sizeof(errbuf)) == NULL, "a file and a variable at once are refused (%s)", errbuf);

    snprintf(text, sizeof(text), "jwt_secret_file = %s\n", secret);
    write_file(conf, text);
    config = sk_config_load(conf, NULL, errbuf, sizeof(errbuf));
    write_file(secret2, "the new secret, at least 32 bytes long\n");
    snprintf(text, sizeof(text), "jwt_secret_file = %s\njwt_previous_secret_file = %s\njwt_rotation_grace = 600\n", secret2,
             secret);
    write_file(conf, text);
    next = sk_config_load(conf, config, errbuf, sizeof(errbuf));
    check(next != NULL && next->num_keys == 2 && memcmp(next->keys[0].secret, "the new", 7) == 0 &&
              next->keys[1].secret_len == 32 && next->keys[1].not_after >= time(NULL) + 599 &&
              next->keys[1].not_after <= time(NULL) + 600,
          "rotation: the new secret signs, the previous one verifies for jwt_rotation_grace seconds");
    if (next != NULL) {
        sk_config_t *again;
        next->keys[1].not_after -= 100; /* as if 100 s had passed */
        again = sk_config_load(conf, next, errbuf, sizeof(errbuf));
        check(again != NULL && again->keys[1].not_after == next->keys[1].not_after,
              "rotation: a later reload does not extend the grace period");
        if (again != NULL)
            sk_config_release(again);
        sk_config_release(next);
    }
    if (config != NULL)
        sk_config_release(config);

    write_file(secret, "too short\n");
    check(sk_config_load(conf, NULL, errbuf, sizeof(errbuf)) == NULL, "a short secret is refused (%s)", errbuf);
    unlink(secret);
    unlink(secret2);
    check(sk_config_load(conf, NULL, errbuf, sizeof(errbuf)) == NULL, "a missing secret is refused (%s)", errbuf);

    write_file(conf, "threads = lots\n");
    check(sk_config_load(conf, NULL, errbuf, sizeof(errbuf)) == NULL, "a bad number is refused (%s)", errbuf);
    write_file(conf, "colour = blue\n");
    check(sk_config_load(conf, NULL, errbuf, sizeof(errbuf)) == NULL, "an unknown key is refused (%s)", errbuf);

    unlink(conf);
    rmdir(dir);
}

int main(void)
{
    test_jwt();
    test_jwt_rotation();
    test_ratelimit();
    test_routes();
    test_config();
    printf("%u passed, %u failed\n", num_passed, num_failed);
    return num_failed == 0 ? 0 : 1;
}
