/*
 * StockKing Kids edge proxy: configuration file.
 *
 * The file is a list of `key = value` lines. Blank lines and lines whose first non-blank character is `#` are ignored; a `#`
 * elsewhere belongs to the value (a libpq connection string may contain one). A key given twice takes the later value, so a
 * file appended to the generated one (STOCKKING_PROXY_EXTRA_CONF in docker/cluster.sh) overrides it.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <libpq-fe.h>
#include <openssl/crypto.h>
#include "config.h"

#define SECRET_FILE_MAX 4096

static const sk_rate_t default_rate_limits[SK_RATE_NUM_CLASSES] = {
    [SK_RATE_LOGIN] = {5, 60},
    [SK_RATE_TRADING] = {10, 60},
    [SK_RATE_DEFAULT] = {100, 60},
};

static void set_error(char *errbuf, size_t errbuf_size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void set_error(char *errbuf, size_t errbuf_size, const char *fmt, ...)
{
    va_list args;

    va_start(args, fmt);
    vsnprintf(errbuf, errbuf_size, fmt, args);
    va_end(args);
}

static char *trim(char *s)
{
    char *end;

    while (isspace((unsigned char)*s))
        ++s;
    end = s + strlen(s);
    while (end != s && isspace((unsigned char)end[-1]))
        --end;
    *end = '\0';
    return s;
}

/* Parses a decimal integer within [min, max]; returns 0 on success, -1 otherwise. */
static int parse_size(const char *value, size_t min, size_t max, size_t *out)
{
    char *end;
    unsigned long long n;

    if (!isdigit((unsigned char)*value))
        return -1;
    errno = 0;
    n = strtoull(value, &end, 10);
    if (errno != 0 || *end != '\0' || n < min || n > max)
        return -1;
    *out = (size_t)n;
    return 0;
}

static int parse_unsigned(const char *value, unsigned min, unsigned max, unsigned *out)
{
    size_t n;

    if (parse_size(value, min, max, &n) != 0)
        return -1;
    *out = (unsigned)n;
    return 0;
}

int sk_config_parse_rate(const char *value, sk_rate_t *rate)
{
    const char *slash = strchr(value, '/');
    char count[32];
    size_t n;

    if (slash == NULL || (size_t)(slash - value) >= sizeof(count))
        return -1;
    memcpy(count, value, slash - value);
    count[slash - value] = '\0';
    if (parse_size(trim(count), 1, 100000000, &n) != 0)
        return -1;
    rate->count = (unsigned)n;
    ++slash;
    while (*slash == ' ')
        ++slash;
    if (strcmp(slash, "s") == 0 || strcmp(slash, "sec") == 0 || strcmp(slash, "second") == 0)
        rate->window = 1;
    else if (strcmp(slash, "min") == 0 || strcmp(slash, "minute") == 0)
        rate->window = 60;
    else if (strcmp(slash, "h") == 0 || strcmp(slash, "hour") == 0)
        rate->window = 3600;
    else
        return -1;
    return 0;
}

/* Splits `host:port`, `[v6-address]:port` or `:port`; returns 0 on success, -1 otherwise. */
static int parse_listen(sk_config_t *config, const char *value)
{
    const char *host, *host_end, *port;
    size_t port_num;

    if (value[0] == '[') {
        host = value + 1;
        if ((host_end = strchr(host, ']')) == NULL || host_end[1] != ':')
            return -1;
        port = host_end + 2;
    } else {
        host = value;
        if ((host_end = strrchr(value, ':')) == NULL || memchr(value, ':', host_end - value) != NULL)
            return -1;
        port = host_end + 1;
    }
    if (parse_size(port, 1, 65535, &port_num) != 0)
        return -1;
    free(config->listen_host);
    free(config->listen_port);
    config->listen_host = host_end == host ? NULL : strndup(host, host_end - host);
    config->listen_port = strdup(port);
    return config->listen_port != NULL && (host_end == host || config->listen_host != NULL) ? 0 : -1;
}

static int set_string(char **slot, const char *value)
{
    char *copy;

    if ((copy = strdup(value)) == NULL)
        return -1;
    free(*slot);
    *slot = copy;
    return 0;
}

/* A string that must not be empty; an empty value unsets it (so that an appended file can switch a secret source off). */
static int set_optional_string(char **slot, const char *value)
{
    if (*value == '\0') {
        free(*slot);
        *slot = NULL;
        return 0;
    }
    return set_string(slot, value);
}

static void free_origins(sk_config_t *config)
{
    size_t i;

    for (i = 0; i != config->num_cors_origins; ++i)
        free(config->cors_origins[i]);
    free(config->cors_origins);
    config->cors_origins = NULL;
    config->num_cors_origins = 0;
}

/* A list of origins separated by commas or spaces: `scheme://host[:port]` each, or `*`. */
static int parse_origins(sk_config_t *config, const char *value)
{
    char *copy = strdup(value), *p, *save = NULL;

    if (copy == NULL)
        return -1;
    free_origins(config);
    for (p = strtok_r(copy, ", \t", &save); p != NULL; p = strtok_r(NULL, ", \t", &save)) {
        char **origins;
        size_t len = strlen(p);
        if (strcmp(p, "*") != 0 &&
            ((strncmp(p, "http://", 7) != 0 && strncmp(p, "https://", 8) != 0) || p[len - 1] == '/' || strchr(p, '"') != NULL))
            goto Error;
        if ((origins = realloc(config->cors_origins, (config->num_cors_origins + 1) * sizeof(origins[0]))) == NULL)
            goto Error;
        config->cors_origins = origins;
        if ((config->cors_origins[config->num_cors_origins] = strdup(p)) == NULL)
            goto Error;
        ++config->num_cors_origins;
    }
    free(copy);
    return 0;
Error:
    free(copy);
    return -1;
}

static int apply(sk_config_t *config, const char *key, const char *value)
{
    if (strcmp(key, "listen") == 0)
        return parse_listen(config, value);
    if (strcmp(key, "conninfo") == 0)
        return set_string(&config->conninfo, value);
    if (strcmp(key, "threads") == 0)
        return parse_size(value, 1, 256, &config->threads);
    if (strcmp(key, "pool_size") == 0)
        return parse_size(value, 1, 1000, &config->pool_size);
    if (strcmp(key, "pool_wait_timeout") == 0)
        return parse_unsigned(value, 1, 600000, &config->pool_wait_timeout_ms);
    if (strcmp(key, "jwt_secret_file") == 0)
        return set_optional_string(&config->jwt_secret_file, value);
    if (strcmp(key, "jwt_secret_env") == 0)
        return set_optional_string(&config->jwt_secret_env, value);
    if (strcmp(key, "jwt_previous_secret_file") == 0)
        return set_optional_string(&config->jwt_previous_secret_file, value);
    if (strcmp(key, "jwt_previous_secret_env") == 0)
        return set_optional_string(&config->jwt_previous_secret_env, value);
    if (strcmp(key, "jwt_rotation_grace") == 0)
        return parse_unsigned(value, 0, 30 * 24 * 3600, &config->jwt_rotation_grace);
    if (strcmp(key, "access_token_ttl") == 0)
        return parse_unsigned(value, 1, 7 * 24 * 3600, &config->access_token_ttl);
    if (strcmp(key, "max_queue") == 0)
        return parse_size(value, 0, 1000000, &config->max_queue);
    if (strcmp(key, "statement_timeout") == 0)
        return parse_unsigned(value, 1, 600000, &config->statement_timeout_ms);
    if (strcmp(key, "max_header_size") == 0)
        return parse_size(value, 256, 256 * 1024, &config->max_header_size);
    if (strcmp(key, "max_json_depth") == 0)
        return parse_size(value, 1, 1000, &config->max_json_depth);
    if (strcmp(key, "cors_origins") == 0)
        return parse_origins(config, value);
    if (strcmp(key, "cors_max_age") == 0)
        return parse_unsigned(value, 0, 86400, &config->cors_max_age);
    if (strcmp(key, "rate_limit_login") == 0)
        return sk_config_parse_rate(value, &config->rate_limits[SK_RATE_LOGIN]);
    if (strcmp(key, "rate_limit_trading") == 0)
        return sk_config_parse_rate(value, &config->rate_limits[SK_RATE_TRADING]);
    if (strcmp(key, "rate_limit_default") == 0)
        return sk_config_parse_rate(value, &config->rate_limits[SK_RATE_DEFAULT]);
    if (strcmp(key, "heartbeat_interval") == 0)
        return parse_unsigned(value, 1, 3600, &config->heartbeat_interval);
    if (strcmp(key, "event_client_buffer") == 0)
        return parse_size(value, 1024, 64 * 1024 * 1024, &config->event_client_buffer);
    if (strcmp(key, "max_event_clients") == 0)
        return parse_size(value, 0, 1000000, &config->max_event_clients);
    if (strcmp(key, "drain_timeout") == 0)
        return parse_unsigned(value, 1, 3600, &config->drain_timeout);
    return -2;
}

static int read_file(sk_config_t *config, const char *path, char *errbuf, size_t errbuf_size)
{
    FILE *fp;
    char line[4096];
    unsigned lineno = 0;
    int ret = -1;

    if ((fp = fopen(path, "r")) == NULL) {
        set_error(errbuf, errbuf_size, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    while (fgets(line, sizeof(line), fp) != NULL) {
        char *key, *value, *eq;
        ++lineno;
        if (strchr(line, '\n') == NULL && !feof(fp)) {
            set_error(errbuf, errbuf_size, "%s:%u: line too long", path, lineno);
            goto Exit;
        }
        key = trim(line);
        if (*key == '\0' || *key == '#')
            continue;
        if ((eq = strchr(key, '=')) == NULL) {
            set_error(errbuf, errbuf_size, "%s:%u: expected `key = value`", path, lineno);
            goto Exit;
        }
        *eq = '\0';
        key = trim(key);
        value = trim(eq + 1);
        switch (apply(config, key, value)) {
        case 0:
            break;
        case -2:
            set_error(errbuf, errbuf_size, "%s:%u: unknown key `%s`", path, lineno, key);
            goto Exit;
        default:
            set_error(errbuf, errbuf_size, "%s:%u: invalid value for `%s`", path, lineno, key);
            goto Exit;
        }
    }
    if (ferror(fp)) {
        set_error(errbuf, errbuf_size, "cannot read %s", path);
        goto Exit;
    }
    ret = 0;
Exit:
    fclose(fp);
    return ret;
}

/* Reads a secret from the file or the environment variable named; exactly one of them must be set. */
static unsigned char *read_secret(const char *what, const char *file, const char *env, size_t *len, char *errbuf,
                                  size_t errbuf_size)
{
    unsigned char *buf;
    const char *source;

    if ((file == NULL) == (env == NULL)) {
        set_error(errbuf, errbuf_size, "set exactly one of %s_file and %s_env", what, what);
        return NULL;
    }
    if ((buf = malloc(SECRET_FILE_MAX + 1)) == NULL) {
        set_error(errbuf, errbuf_size, "out of memory");
        return NULL;
    }
    if (file != NULL) {
        FILE *fp;
        source = file;
        if ((fp = fopen(file, "rb")) == NULL) {
            set_error(errbuf, errbuf_size, "cannot open %s_file %s: %s", what, file, strerror(errno));
            goto Error;
        }
        *len = fread(buf, 1, SECRET_FILE_MAX + 1, fp);
        fclose(fp);
    } else {
        const char *value = getenv(env);
        source = env;
        if (value == NULL) {
            set_error(errbuf, errbuf_size, "%s_env names %s, which is not set", what, env);
            goto Error;
        }
        *len = strlen(value);
        memcpy(buf, value, *len <= SECRET_FILE_MAX ? *len : SECRET_FILE_MAX + 1);
    }
    if (*len > SECRET_FILE_MAX) {
        set_error(errbuf, errbuf_size, "%s %s is longer than %d bytes", what, source, SECRET_FILE_MAX);
        goto Error;
    }
    while (*len != 0 && (buf[*len - 1] == '\n' || buf[*len - 1] == '\r'))
        --*len;
    if (*len < SK_JWT_SECRET_MIN) {
        set_error(errbuf, errbuf_size, "%s %s holds %zu bytes; at least %d are required", what, source, *len, SK_JWT_SECRET_MIN);
        goto Error;
    }
    return buf;
Error:
    OPENSSL_cleanse(buf, SECRET_FILE_MAX + 1);
    free(buf);
    return NULL;
}

static int same_secret(const sk_jwt_key_t *a, const sk_jwt_key_t *b)
{
    return a->secret_len == b->secret_len && CRYPTO_memcmp(a->secret, b->secret, a->secret_len) == 0;
}

static int read_secrets(sk_config_t *config, const sk_config_t *previous, char *errbuf, size_t errbuf_size)
{
    unsigned char *secret;
    size_t len;

    if ((secret = read_secret("jwt_secret", config->jwt_secret_file, config->jwt_secret_env, &len, errbuf, errbuf_size)) == NULL)
        return -1;
    config->keys[0] = (sk_jwt_key_t){secret, len, 0};
    config->num_keys = 1;
    if (config->jwt_previous_secret_file == NULL && config->jwt_previous_secret_env == NULL)
        return 0;
    if ((secret = read_secret("jwt_previous_secret", config->jwt_previous_secret_file, config->jwt_previous_secret_env, &len,
                              errbuf, errbuf_size)) == NULL)
        return -1;
    config->keys[1] = (sk_jwt_key_t){secret, len, time(NULL) + config->jwt_rotation_grace};
    config->num_keys = 2;
    if (same_secret(&config->keys[0], &config->keys[1])) {
        set_error(errbuf, errbuf_size, "the previous JWT secret is the current one");
        return -1;
    }
    /* the grace period runs from the reload that demoted the secret, not from every later reload */
    if (previous != NULL && previous->num_keys == 2 && same_secret(&previous->keys[1], &config->keys[1]))
        config->keys[1].not_after = previous->keys[1].not_after;
    return 0;
}

static void free_config(sk_config_t *config)
{
    size_t i;

    for (i = 0; i != config->num_keys; ++i) {
        OPENSSL_cleanse((void *)config->keys[i].secret, config->keys[i].secret_len);
        free((void *)config->keys[i].secret);
    }
    free_origins(config);
    free(config->listen_host);
    free(config->listen_port);
    free(config->conninfo);
    free(config->jwt_secret_file);
    free(config->jwt_secret_env);
    free(config->jwt_previous_secret_file);
    free(config->jwt_previous_secret_env);
    free(config);
}

sk_config_t *sk_config_load(const char *path, const sk_config_t *previous, char *errbuf, size_t errbuf_size)
{
    sk_config_t *config;
    const char *env;
    char *pqerr = NULL;
    PQconninfoOption *opts;
    long ncpu;

    if ((config = calloc(1, sizeof(*config))) == NULL) {
        set_error(errbuf, errbuf_size, "out of memory");
        return NULL;
    }
    config->_refcnt = 1;
    ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    config->threads = ncpu > 0 ? (size_t)ncpu : 1;
    config->pool_size = 8;
    config->pool_wait_timeout_ms = 2000;
    config->jwt_rotation_grace = 900;
    config->access_token_ttl = 900;
    config->max_queue = 1024;
    config->statement_timeout_ms = 10000;
    config->max_header_size = 16384;
    config->max_json_depth = 32;
    config->cors_max_age = 600;
    memcpy(config->rate_limits, default_rate_limits, sizeof(default_rate_limits));
    config->heartbeat_interval = 15;
    config->event_client_buffer = 256 * 1024;
    config->max_event_clients = 10000;
    config->drain_timeout = 10;
    if (parse_listen(config, "127.0.0.1:8080") != 0 || (config->conninfo = strdup("")) == NULL) {
        set_error(errbuf, errbuf_size, "out of memory");
        goto Error;
    }

    if (read_file(config, path, errbuf, errbuf_size) != 0)
        goto Error;
    if ((env = getenv("STOCKKING_PROXY_CONNINFO")) != NULL && set_string(&config->conninfo, env) != 0) {
        set_error(errbuf, errbuf_size, "out of memory");
        goto Error;
    }
    if ((opts = PQconninfoParse(config->conninfo, &pqerr)) == NULL) {
        set_error(errbuf, errbuf_size, "invalid conninfo: %s", pqerr != NULL ? trim(pqerr) : "out of memory");
        PQfreemem(pqerr);
        goto Error;
    }
    PQconninfoFree(opts);
    if (read_secrets(config, previous, errbuf, errbuf_size) != 0)
        goto Error;
    return config;
Error:
    free_config(config);
    return NULL;
}

void sk_config_addref(sk_config_t *config)
{
    __atomic_add_fetch(&config->_refcnt, 1, __ATOMIC_RELAXED);
}

void sk_config_release(sk_config_t *config)
{
    if (__atomic_sub_fetch(&config->_refcnt, 1, __ATOMIC_ACQ_REL) == 0)
        free_config(config);
}

int sk_config_origin_allowed(const sk_config_t *config, const char *origin, size_t len)
{
    size_t i;

    for (i = 0; i != config->num_cors_origins; ++i) {
        const char *allowed = config->cors_origins[i];
        if (strcmp(allowed, "*") == 0 || (strlen(allowed) == len && strncasecmp(allowed, origin, len) == 0))
            return 1;
    }
    return 0;
}
