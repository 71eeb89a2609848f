/*
 * StockKing Kids edge proxy: token-bucket rate limits shared by every thread.
 */
#ifndef sk_ratelimit_h
#define sk_ratelimit_h

#include <stddef.h>

/**
 * The route classes of stockking.route.rate_class.
 */
typedef enum en_sk_rate_class_t {
    SK_RATE_LOGIN,   /* per client address */
    SK_RATE_TRADING, /* per user */
    SK_RATE_DEFAULT, /* per user; per client address when anonymous */
    SK_RATE_NUM_CLASSES
} sk_rate_class_t;

/**
 * `count` requests per `window` seconds: a bucket of `count` tokens refilled at count / window tokens a second.
 */
typedef struct st_sk_rate_t {
    unsigned count;
    unsigned window;
} sk_rate_t;

/**
 * What one request took from its bucket, for the RateLimit-* and Retry-After headers.
 */
typedef struct st_sk_rate_result_t {
    int allowed;
    unsigned limit;       /* the bucket's size */
    unsigned remaining;   /* whole tokens left */
    unsigned reset;       /* seconds until the bucket is full again */
    unsigned retry_after; /* when refused: seconds until one token is back */
} sk_rate_result_t;

typedef struct st_sk_ratelimiter_t sk_ratelimiter_t;

/**
 * A limiter with its buckets in `num_shards` independently locked hash tables.
 */
sk_ratelimiter_t *sk_ratelimiter_create(size_t num_shards);
/**
 * Frees the limiter and its buckets.
 */
void sk_ratelimiter_destroy(sk_ratelimiter_t *limiter);
/**
 * Takes one token from the bucket of `cls` and `key` (`key_len` bytes: "u:<user id>" or "a:<address>") at `now` (monotonic
 * seconds), creating it full if it does not exist; the bucket follows `rate` as it is now (a reload or a token's claim may change
 * it). Thread-safe.
 */
void sk_ratelimiter_take(sk_ratelimiter_t *limiter, sk_rate_class_t cls, const char *key, size_t key_len, sk_rate_t rate,
                         double now, sk_rate_result_t *result);
/**
 * The number of buckets held (full buckets are dropped lazily).
 */
size_t sk_ratelimiter_size(sk_ratelimiter_t *limiter);
/**
 * The class named `name` ("login", "trading", "default"), or -1.
 */
int sk_rate_class_from_name(const char *name);
/**
 * The name of `cls`.
 */
const char *sk_rate_class_name(sk_rate_class_t cls);

#endif
