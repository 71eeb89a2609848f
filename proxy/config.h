/*
 * StockKing Kids edge proxy: configuration file.
 */
#ifndef sk_config_h
#define sk_config_h

#include <stddef.h>

#define SK_JWT_SECRET_MIN 32

typedef struct st_sk_config_t {
    char *listen_host; /* NULL: all addresses */
    char *listen_port;
    char *conninfo; /* libpq connection string, may be empty */
    size_t threads;
    size_t pool_size; /* connections per thread */
    char *jwt_secret_file;
    unsigned char *jwt_secret; /* file contents without the trailing newline */
    size_t jwt_secret_len;
    unsigned access_token_ttl; /* seconds */
    size_t max_queue;          /* waiting requests per thread */
} sk_config_t;

/**
 * Reads the configuration file at `path` into `config`, applies the defaults, the STOCKKING_PROXY_CONNINFO override and reads
 * the JWT secret. On failure writes a message to `errbuf` and returns -1; returns 0 on success.
 */
int sk_config_load(sk_config_t *config, const char *path, char *errbuf, size_t errbuf_size);
/**
 * Releases what sk_config_load allocated; the secret is wiped first.
 */
void sk_config_dispose(sk_config_t *config);

#endif
