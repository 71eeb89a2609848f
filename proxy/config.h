/*
 * StockKing Kids edge proxy: configuration file.
 */
#ifndef sk_config_h
#define sk_config_h

#include <stddef.h>
#include <time.h>
#include "jwt.h"
#include "ratelimit.h"

#define SK_JWT_SECRET_MIN 32

/**
 * One loaded configuration. Immutable once loaded and shared by the threads (reference counted, atomically): SIGHUP loads a new
 * one and each worker switches to it; a request keeps the one it started with. The keys marked "restart" are read at start
 * only; a reload that changes them logs a warning and keeps running with the old values.
 */
typedef struct st_sk_config_t {
    size_t _refcnt;
    /* restart */
    char *listen_host; /* NULL: all addresses */
    char *listen_port;
    char *conninfo; /* libpq connection string, may be empty */
    size_t threads;
    size_t pool_size;              /* connections per thread */
    unsigned pool_wait_timeout_ms; /* how long a request may wait for a connection */
    /* reloadable */
    char *jwt_secret_file;
    char *jwt_secret_env;
    char *jwt_previous_secret_file;
    char *jwt_previous_secret_env;
    unsigned jwt_rotation_grace; /* seconds the previous secret stays valid after it is first configured */
    sk_jwt_key_t keys[2];        /* the current secret, then the previous one if any */
    size_t num_keys;
    unsigned access_token_ttl;     /* seconds */
    size_t max_queue;              /* waiting requests per thread */
    unsigned statement_timeout_ms; /* routes without their own */
    size_t max_header_size;        /* request line and headers, bytes */
    size_t max_json_depth;
    char **cors_origins; /* allowed Origin values; "*" allows any */
    size_t num_cors_origins;
    unsigned cors_max_age; /* seconds */
    sk_rate_t rate_limits[SK_RATE_NUM_CLASSES];
    unsigned heartbeat_interval; /* seconds between event-stream heartbeats */
    size_t event_client_buffer;  /* bytes queued for one event-stream client before it is disconnected */
    size_t max_event_clients;    /* event streams per thread */
    unsigned drain_timeout;      /* seconds SIGTERM waits for requests and streams */
} sk_config_t;

/**
 * Reads the configuration file at `path`, applies the defaults and the STOCKKING_PROXY_CONNINFO override, and reads the JWT
 * secrets. `previous` (NULL at start) is the configuration being replaced: a previous secret that it already had keeps its
 * expiry, one that was its current secret starts its grace period now. Returns a configuration with one reference, or NULL after
 * writing a message to `errbuf`.
 */
sk_config_t *sk_config_load(const char *path, const sk_config_t *previous, char *errbuf, size_t errbuf_size);
/**
 * Takes a reference (any thread).
 */
void sk_config_addref(sk_config_t *config);
/**
 * Drops a reference (any thread); the last one wipes the secrets and frees the configuration.
 */
void sk_config_release(sk_config_t *config);
/**
 * Whether `origin` (`len` bytes) is in the CORS allow-list.
 */
int sk_config_origin_allowed(const sk_config_t *config, const char *origin, size_t len);
/**
 * Parses a rate such as "5/min", "10/s" or "1000/h"; returns 0 on success, -1 otherwise.
 */
int sk_config_parse_rate(const char *value, sk_rate_t *rate);

#endif
