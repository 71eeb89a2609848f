/*
 * StockKing Kids edge proxy: JSON Web Tokens signed with HMAC-SHA256 (RFC 7519, RFC 7515).
 */
#ifndef sk_jwt_h
#define sk_jwt_h

#include <stddef.h>
#include <time.h>
#include <jansson.h>

#define SK_JWT_ISSUER "stockking"
#define SK_JWT_SUB_MAX 128
#define SK_JWT_ROLE_MAX 64

typedef enum en_sk_jwt_status_t {
    SK_JWT_OK,
    SK_JWT_MALFORMED,     /* not a compact HS256 JWS with the claims this API needs */
    SK_JWT_BAD_SIGNATURE, /* signature does not verify with our key */
    SK_JWT_EXPIRED        /* `exp` is not in the future */
} sk_jwt_status_t;

/**
 * An HS256 secret. `not_after` (0: none) ends its validity for verification: a previous secret kept through a rotation's grace
 * period.
 */
typedef struct st_sk_jwt_key_t {
    const unsigned char *secret;
    size_t secret_len;
    time_t not_after;
} sk_jwt_key_t;

/**
 * Claims that may lower or raise the proxy's rate limits for this user: requests per minute, 0 when absent.
 */
typedef struct st_sk_jwt_rate_limits_t {
    unsigned trading;
    unsigned default_;
} sk_jwt_rate_limits_t;

typedef struct st_sk_jwt_identity_t {
    char sub[SK_JWT_SUB_MAX + 1];
    char role[SK_JWT_ROLE_MAX + 1];
    time_t exp;
    sk_jwt_rate_limits_t rate_limits;
} sk_jwt_identity_t;

/**
 * Verifies the compact token `token` (`len` bytes) at time `now` with any of the `num_keys` keys still valid at `now`: signature
 * first, then the claims `exp` (must be later than `now`), `iss` (must be "stockking"), `sub` and `role` (non-empty strings) and
 * the optional `rate_limits` ({"trading": n, "default": n}, positive integers per minute). Fills `identity` on SK_JWT_OK.
 */
sk_jwt_status_t sk_jwt_verify(const sk_jwt_key_t *keys, size_t num_keys, const char *token, size_t len, time_t now,
                              sk_jwt_identity_t *identity);
/**
 * Signs a token with `key` carrying the members of `claims` plus `iss`, `iat` (= `now`) and `exp` (= `now` + `ttl`), which
 * override any member of that name. `claims` must hold non-empty strings `sub` and `role`. Returns a malloc'ed NUL-terminated
 * token, or NULL if the claims are unusable or memory runs out.
 */
char *sk_jwt_sign(const sk_jwt_key_t *key, const json_t *claims, time_t now, unsigned ttl);

#endif
