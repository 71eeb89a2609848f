/*
 * StockKing Kids edge proxy: token-bucket rate limits shared by every thread.
 *
 * A bucket holds up to `count` tokens and regains count / window tokens a second; a request takes one. The buckets live in
 * hash tables ("shards") with a mutex each, so that the threads rarely wait for one another. A bucket that would be full again
 * is the same as no bucket, so such buckets are dropped whenever a shard has grown past its sweep threshold: memory follows the
 * number of recently active users and addresses.
 */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "ratelimit.h"

#define INITIAL_BUCKETS 64
#define INITIAL_SWEEP_AT 1024

typedef struct st_bucket_t {
    struct st_bucket_t *next;
    uint64_t hash;
    double tokens;
    double last;     /* when `tokens` was computed */
    double capacity; /* as of the last use */
    double per_second;
    unsigned char cls;
    size_t key_len;
    char key[1];
} bucket_t;

typedef struct st_shard_t {
    pthread_mutex_t mutex;
    bucket_t **table;
    size_t table_size; /* a power of 2 */
    size_t count;
    size_t sweep_at;
} shard_t;

struct st_sk_ratelimiter_t {
    shard_t *shards;
    size_t num_shards;
};

static const char *const class_names[SK_RATE_NUM_CLASSES] = {"login", "trading", "default"};

int sk_rate_class_from_name(const char *name)
{
    int i;

    for (i = 0; i != SK_RATE_NUM_CLASSES; ++i)
        if (strcmp(class_names[i], name) == 0)
            return i;
    return -1;
}

const char *sk_rate_class_name(sk_rate_class_t cls)
{
    return class_names[cls];
}

static uint64_t hash_key(sk_rate_class_t cls, const char *key, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ull ^ (uint64_t)cls;
    size_t i;

    for (i = 0; i != len; ++i) {
        h ^= (unsigned char)key[i];
        h *= 0x100000001b3ull;
    }
    return h ^ (h >> 29);
}

sk_ratelimiter_t *sk_ratelimiter_create(size_t num_shards)
{
    sk_ratelimiter_t *limiter;
    size_t i;

    if ((limiter = calloc(1, sizeof(*limiter))) == NULL || (limiter->shards = calloc(num_shards, sizeof(shard_t))) == NULL)
        goto Error;
    limiter->num_shards = num_shards;
    for (i = 0; i != num_shards; ++i) {
        shard_t *shard = limiter->shards + i;
        pthread_mutex_init(&shard->mutex, NULL);
        shard->table_size = INITIAL_BUCKETS;
        shard->sweep_at = INITIAL_SWEEP_AT;
        if ((shard->table = calloc(shard->table_size, sizeof(shard->table[0]))) == NULL)
            goto Error;
    }
    return limiter;
Error:
    sk_ratelimiter_destroy(limiter);
    return NULL;
}

void sk_ratelimiter_destroy(sk_ratelimiter_t *limiter)
{
    size_t i, j;

    if (limiter == NULL)
        return;
    for (i = 0; limiter->shards != NULL && i != limiter->num_shards; ++i) {
        shard_t *shard = limiter->shards + i;
        for (j = 0; shard->table != NULL && j != shard->table_size; ++j) {
            bucket_t *b = shard->table[j], *next;
            for (; b != NULL; b = next) {
                next = b->next;
                free(b);
            }
        }
        free(shard->table);
        pthread_mutex_destroy(&shard->mutex);
    }
    free(limiter->shards);
    free(limiter);
}

/* Refills `b` up to `now`. */
static void refill(bucket_t *b, double now)
{
    if (now > b->last) {
        b->tokens += (now - b->last) * b->per_second;
        b->last = now;
    }
    if (b->tokens > b->capacity)
        b->tokens = b->capacity;
}

/* Drops the buckets that are full again; adjusts the next sweep to twice what is left. */
static void sweep(shard_t *shard, double now)
{
    size_t i;

    for (i = 0; i != shard->table_size; ++i) {
        bucket_t **slot = shard->table + i;
        while (*slot != NULL) {
            bucket_t *b = *slot;
            refill(b, now);
            if (b->tokens >= b->capacity) {
                *slot = b->next;
                free(b);
                --shard->count;
            } else {
                slot = &b->next;
            }
        }
    }
    shard->sweep_at = shard->count * 2 > INITIAL_SWEEP_AT ? shard->count * 2 : INITIAL_SWEEP_AT;
}

static void grow(shard_t *shard)
{
    size_t new_size = shard->table_size * 2, i;
    bucket_t **table = calloc(new_size, sizeof(table[0]));

    if (table == NULL)
        return;
    for (i = 0; i != shard->table_size; ++i) {
        bucket_t *b = shard->table[i], *next;
        for (; b != NULL; b = next) {
            next = b->next;
            b->next = table[b->hash & (new_size - 1)];
            table[b->hash & (new_size - 1)] = b;
        }
    }
    free(shard->table);
    shard->table = table;
    shard->table_size = new_size;
}

void sk_ratelimiter_take(sk_ratelimiter_t *limiter, sk_rate_class_t cls, const char *key, size_t key_len, sk_rate_t rate,
                         double now, sk_rate_result_t *result)
{
    uint64_t hash = hash_key(cls, key, key_len);
    shard_t *shard = limiter->shards + (hash >> 48) % limiter->num_shards;
    double capacity = rate.count, per_second = (double)rate.count / (rate.window != 0 ? rate.window : 1);
    bucket_t *b;

    pthread_mutex_lock(&shard->mutex);
    for (b = shard->table[hash & (shard->table_size - 1)]; b != NULL; b = b->next)
        if (b->hash == hash && b->cls == cls && b->key_len == key_len && memcmp(b->key, key, key_len) == 0)
            break;
    if (b == NULL) {
        if (shard->count >= shard->sweep_at)
            sweep(shard, now);
        if (shard->count >= shard->table_size)
            grow(shard);
        if ((b = malloc(offsetof(bucket_t, key) + key_len + 1)) != NULL) {
            b->hash = hash;
            b->cls = (unsigned char)cls;
            b->key_len = key_len;
            memcpy(b->key, key, key_len);
            b->key[key_len] = '\0';
            b->tokens = capacity;
            b->last = now;
            b->next = shard->table[hash & (shard->table_size - 1)];
            shard->table[hash & (shard->table_size - 1)] = b;
            ++shard->count;
        }
    }
    if (b == NULL) {
        /* out of memory: let the request through rather than refuse everyone */
        pthread_mutex_unlock(&shard->mutex);
        *result = (sk_rate_result_t){1, rate.count, rate.count, 0, 0};
        return;
    }
    b->capacity = capacity;
    b->per_second = per_second;
    refill(b, now);
    result->limit = rate.count;
    if (b->tokens >= 1) {
        b->tokens -= 1;
        result->allowed = 1;
        result->retry_after = 0;
    } else {
        result->allowed = 0;
        result->retry_after = (unsigned)ceil((1 - b->tokens) / per_second);
        if (result->retry_after == 0)
            result->retry_after = 1;
    }
    result->remaining = (unsigned)floor(b->tokens);
    result->reset = (unsigned)ceil((capacity - b->tokens) / per_second);
    pthread_mutex_unlock(&shard->mutex);
}

size_t sk_ratelimiter_size(sk_ratelimiter_t *limiter)
{
    size_t i, n = 0;

    for (i = 0; i != limiter->num_shards; ++i) {
        pthread_mutex_lock(&limiter->shards[i].mutex);
        n += limiter->shards[i].count;
        pthread_mutex_unlock(&limiter->shards[i].mutex);
    }
    return n;
}
