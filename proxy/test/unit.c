/*
 * StockKing Kids edge proxy: unit tests of the parts that need no server (JWT, route table, configuration).
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

static const sk_jwt_key_t key = {(const unsigned char *)"0123456789abcdef0123456789abcdef", 32};
static const sk_jwt_key_t other_key = {(const unsigned char *)"fedcba9876543210fedcba9876543210", 32};

static sk_jwt_status_t verify(const char *token, time_t now, sk_jwt_identity_t *identity)
{
    return sk_jwt_verify(&key, token, strlen(token), now, identity);
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
    check(sk_jwt_verify(&other_key, token, strlen(token), 1000, &identity) == SK_JWT_BAD_SIGNATURE, "another key does not verify");

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

static const char *const route_cols[] = {"method",         "path",  "fn",       "roles",   "read_only",
                                         "success_status", "token", "max_body", "raw_body"};
static const char *const error_cols[] = {"sqlstate", "http_status", "name"};

static sk_routes_t *build(PGconn *pg, sk_fn_registry_t *fns, const char *const (*rows)[9], size_t nrows, char *errbuf,
                          size_t errbuf_size)
{
    static const char *const errors[][3] = {
        {"23505", "409", "unique_violation"}, {"23", "400", "integrity"}, {"XX", "500", "internal"}};
    fake_result_t routes_res = make_result(9, route_cols), errors_res = make_result(3, error_cols);
    sk_routes_t *routes;
    size_t i;

    for (i = 0; i != nrows; ++i)
        add_row(&routes_res, 9, rows[i]);
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
    static const char *const rows[][9] = {
        {"GET", "/v1/orders/:id", "order_get", "{}", "t", "200", "none", "1024", "f"},
        {"GET", "/v1/orders/active", "orders_active", "{CHILD,\"PARENT\"}", "t", "200", NULL, NULL, NULL},
        {"DELETE", "/v1/orders/:id", "order_cancel", "{CHILD}", "f", "200", "none", "1024", "f"},
        {"POST", "/v1/auth/login", "login", NULL, "f", "200", "issue", "4096", "f"},
        {"GET", "/", "root", NULL, "t", "200", "none", "0", "f"},
        {"GET", "/v1/a\"b", "we\"ird", NULL, "t", "200", "none", "0", "f"},
        {"POST", "/v1/ledger/import", "order_get", "{PARENT}", "f", "201", "none", "1048576", "t"},
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
        static const char *const bad[][9] = {{"GET", "v1/x", "f", NULL, "t", "200", "none", "0", "f"}};
        check(build(pg, &fns, bad, 1, errbuf, sizeof(errbuf)) == NULL, "a path must start with a slash (%s)", errbuf);
    }
    {
        static const char *const bad[][9] = {{"GET", "/x", "f", NULL, "t", "200", "maybe", "0", "f"}};
        check(build(pg, &fns, bad, 1, errbuf, sizeof(errbuf)) == NULL, "token must be none or issue (%s)", errbuf);
    }
    {
        static const char *const bad[][9] = {{"GET", "/x", "f", "{CHILD,NULL}", "t", "200", "none", "0", "f"}};
        check(build(pg, &fns, bad, 1, errbuf, sizeof(errbuf)) == NULL, "a NULL role is refused (%s)", errbuf);
    }
    {
        static const char *const bad[][9] = {{"GET", "/x", "f", NULL, "t", "200", "none", "0", "f"},
                                             {"GET", "/x", "g", NULL, "t", "200", "none", "0", "f"}};
        check(build(pg, &fns, bad, 2, errbuf, sizeof(errbuf)) == NULL, "a route listed twice is refused (%s)", errbuf);
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
    char dir[] = "/tmp/sk-proxy-test-XXXXXX", conf[64], secret[64], text[256], errbuf[256];
    sk_config_t config;

    if (mkdtemp(dir) == NULL) {
        check(0, "make a temporary directory");
        return;
    }
    snprintf(conf, sizeof(conf), "%s/proxy.conf", dir);
    snprintf(secret, sizeof(secret), "%s/secret", dir);
    unsetenv("STOCKKING_PROXY_CONNINFO");

    write_file(secret, "0123456789abcdef0123456789abcdef\n");
    snprintf(text, sizeof(text), "# comment\n\njwt_secret_file = %s\nconninfo = dbname=x password=a#b\nlisten = [::1]:9000\n",
             secret);
    write_file(conf, text);
    check(sk_config_load(&config, conf, errbuf, sizeof(errbuf)) == 0, "load a configuration");
    check(config.jwt_secret_len == 32 && config.pool_size == 8 && config.max_queue == 1024 && config.access_token_ttl == 900 &&
              config.threads >= 1,
          "defaults apply and the secret's newline is stripped");
    check(strcmp(config.conninfo, "dbname=x password=a#b") == 0, "a # inside a value is kept");
    check(strcmp(config.listen_host, "::1") == 0 && strcmp(config.listen_port, "9000") == 0, "a bracketed IPv6 address");
    sk_config_dispose(&config);

    setenv("STOCKKING_PROXY_CONNINFO", "dbname=fromenv", 1);
    check(sk_config_load(&config, conf, errbuf, sizeof(errbuf)) == 0 && strcmp(config.conninfo, "dbname=fromenv") == 0,
          "STOCKKING_PROXY_CONNINFO overrides conninfo");
    sk_config_dispose(&config);
    unsetenv("STOCKKING_PROXY_CONNINFO");

    write_file(secret, "too short\n");
    check(sk_config_load(&config, conf, errbuf, sizeof(errbuf)) != 0, "a short secret is refused (%s)", errbuf);
    sk_config_dispose(&config);
    unlink(secret);
    check(sk_config_load(&config, conf, errbuf, sizeof(errbuf)) != 0, "a missing secret is refused (%s)", errbuf);
    sk_config_dispose(&config);

    write_file(conf, "threads = lots\n");
    check(sk_config_load(&config, conf, errbuf, sizeof(errbuf)) != 0, "a bad number is refused (%s)", errbuf);
    sk_config_dispose(&config);
    write_file(conf, "colour = blue\n");
    check(sk_config_load(&config, conf, errbuf, sizeof(errbuf)) != 0, "an unknown key is refused (%s)", errbuf);
    sk_config_dispose(&config);

    unlink(conf);
    rmdir(dir);
}

int main(void)
{
    test_jwt();
    test_routes();
    test_config();
    printf("%u passed, %u failed\n", num_passed, num_failed);
    return num_failed == 0 ? 0 : 1;
}
