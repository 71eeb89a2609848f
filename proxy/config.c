/*
 * StockKing Kids edge proxy: configuration file.
 *
 * The file is a list of `key = value` lines. Blank lines and lines whose first non-blank character is `#` are ignored; a `#`
 * elsewhere belongs to the value (a libpq connection string may contain one).
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <libpq-fe.h>
#include <openssl/crypto.h>
#include "config.h"

#define SECRET_FILE_MAX 4096

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
    if (strcmp(key, "jwt_secret_file") == 0)
        return *value == '\0' ? -1 : set_string(&config->jwt_secret_file, value);
    if (strcmp(key, "access_token_ttl") == 0) {
        size_t ttl;
        if (parse_size(value, 1, 7 * 24 * 3600, &ttl) != 0)
            return -1;
        config->access_token_ttl = (unsigned)ttl;
        return 0;
    }
    if (strcmp(key, "max_queue") == 0)
        return parse_size(value, 0, 1000000, &config->max_queue);
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

static int read_secret(sk_config_t *config, char *errbuf, size_t errbuf_size)
{
    FILE *fp;
    unsigned char *buf;
    size_t len;

    if (config->jwt_secret_file == NULL) {
        set_error(errbuf, errbuf_size, "jwt_secret_file is not set");
        return -1;
    }
    if ((fp = fopen(config->jwt_secret_file, "rb")) == NULL) {
        set_error(errbuf, errbuf_size, "cannot open jwt_secret_file %s: %s", config->jwt_secret_file, strerror(errno));
        return -1;
    }
    if ((buf = malloc(SECRET_FILE_MAX + 1)) == NULL) {
        fclose(fp);
        set_error(errbuf, errbuf_size, "out of memory");
        return -1;
    }
    len = fread(buf, 1, SECRET_FILE_MAX + 1, fp);
    fclose(fp);
    if (len > SECRET_FILE_MAX) {
        set_error(errbuf, errbuf_size, "jwt_secret_file %s is larger than %d bytes", config->jwt_secret_file, SECRET_FILE_MAX);
        goto Error;
    }
    while (len != 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
        --len;
    if (len < SK_JWT_SECRET_MIN) {
        set_error(errbuf, errbuf_size, "jwt_secret_file %s holds %zu bytes; at least %d are required", config->jwt_secret_file, len,
                  SK_JWT_SECRET_MIN);
        goto Error;
    }
    config->jwt_secret = buf;
    config->jwt_secret_len = len;
    return 0;
Error:
    OPENSSL_cleanse(buf, SECRET_FILE_MAX + 1);
    free(buf);
    return -1;
}

int sk_config_load(sk_config_t *config, const char *path, char *errbuf, size_t errbuf_size)
{
    const char *env;
    char *pqerr = NULL;
    PQconninfoOption *opts;
    long ncpu;

    memset(config, 0, sizeof(*config));
    ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    config->threads = ncpu > 0 ? (size_t)ncpu : 1;
    config->pool_size = 8;
    config->access_token_ttl = 900;
    config->max_queue = 1024;
    if (parse_listen(config, "127.0.0.1:8080") != 0 || (config->conninfo = strdup("")) == NULL) {
        set_error(errbuf, errbuf_size, "out of memory");
        return -1;
    }

    if (read_file(config, path, errbuf, errbuf_size) != 0)
        return -1;
    if ((env = getenv("STOCKKING_PROXY_CONNINFO")) != NULL && set_string(&config->conninfo, env) != 0) {
        set_error(errbuf, errbuf_size, "out of memory");
        return -1;
    }
    if ((opts = PQconninfoParse(config->conninfo, &pqerr)) == NULL) {
        set_error(errbuf, errbuf_size, "invalid conninfo: %s", pqerr != NULL ? trim(pqerr) : "out of memory");
        PQfreemem(pqerr);
        return -1;
    }
    PQconninfoFree(opts);
    return read_secret(config, errbuf, errbuf_size);
}

void sk_config_dispose(sk_config_t *config)
{
    if (config->jwt_secret != NULL) {
        OPENSSL_cleanse(config->jwt_secret, config->jwt_secret_len);
        free(config->jwt_secret);
    }
    free(config->listen_host);
    free(config->listen_port);
    free(config->conninfo);
    free(config->jwt_secret_file);
    memset(config, 0, sizeof(*config));
}
