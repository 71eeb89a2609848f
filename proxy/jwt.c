/*
 * StockKing Kids edge proxy: JSON Web Tokens signed with HMAC-SHA256.
 *
 * Only the compact serialization with the header {"alg":"HS256"} is accepted; base64url is decoded strictly (no padding, no
 * stray bits), and the signature is checked before the payload is parsed. During a secret rotation two keys verify (the new one
 * and, until its grace period ends, the previous one); tokens are always signed with the current key.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include "jwt.h"

#define TOKEN_MAX 4096
#define SIGNATURE_LEN 32
/* base64url of {"alg":"HS256","typ":"JWT"} */
#define HEADER_B64 "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"

static const char b64url_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static size_t b64url_encoded_len(size_t len)
{
    return len / 3 * 4 + (len % 3 == 0 ? 0 : len % 3 + 1);
}

/* Writes the unpadded base64url form of `src` to `dst` (b64url_encoded_len(len) bytes, no NUL); returns the length. */
static size_t b64url_encode(const unsigned char *src, size_t len, char *dst)
{
    char *p = dst;
    size_t i;

    for (i = 0; i + 2 < len; i += 3) {
        unsigned v = (unsigned)src[i] << 16 | (unsigned)src[i + 1] << 8 | src[i + 2];
        *p++ = b64url_chars[v >> 18];
        *p++ = b64url_chars[(v >> 12) & 63];
        *p++ = b64url_chars[(v >> 6) & 63];
        *p++ = b64url_chars[v & 63];
    }
    if (len - i == 1) {
        unsigned v = (unsigned)src[i] << 16;
        *p++ = b64url_chars[v >> 18];
        *p++ = b64url_chars[(v >> 12) & 63];
    } else if (len - i == 2) {
        unsigned v = (unsigned)src[i] << 16 | (unsigned)src[i + 1] << 8;
        *p++ = b64url_chars[v >> 18];
        *p++ = b64url_chars[(v >> 12) & 63];
        *p++ = b64url_chars[(v >> 6) & 63];
    }
    return p - dst;
}

static int b64url_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

/* Decodes unpadded base64url; `dst` must hold len * 3 / 4 bytes. Returns the decoded length, or -1 if the input is not canonical.
 */
static ssize_t b64url_decode(const char *src, size_t len, unsigned char *dst)
{
    unsigned acc = 0, bits = 0;
    size_t i, n = 0;

    if (len % 4 == 1)
        return -1;
    for (i = 0; i != len; ++i) {
        int v = b64url_value(src[i]);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            dst[n++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    if (acc != 0)
        return -1;
    return (ssize_t)n;
}

/* Decodes one base64url segment holding a JSON object; NULL if it is anything else. */
static json_t *decode_object(const char *src, size_t len)
{
    unsigned char buf[TOKEN_MAX / 4 * 3];
    ssize_t n;
    json_t *obj;

    if ((n = b64url_decode(src, len, buf)) < 0)
        return NULL;
    if ((obj = json_loadb((const char *)buf, (size_t)n, JSON_REJECT_DUPLICATES, NULL)) == NULL)
        return NULL;
    if (!json_is_object(obj)) {
        json_decref(obj);
        return NULL;
    }
    return obj;
}

static int copy_claim(const json_t *payload, const char *name, char *dst, size_t max)
{
    const json_t *value = json_object_get(payload, name);
    size_t len;

    if (!json_is_string(value) || (len = json_string_length(value)) == 0 || len > max ||
        memchr(json_string_value(value), '\0', len))
        return -1;
    memcpy(dst, json_string_value(value), len + 1);
    return 0;
}

/* Reads the optional "rate_limits" claim; -1 if it is present and not an object of positive integers (per minute). */
static int copy_rate_limits(const json_t *payload, sk_jwt_rate_limits_t *limits)
{
    const json_t *obj = json_object_get(payload, "rate_limits"), *value;
    const char *key;

    memset(limits, 0, sizeof(*limits));
    if (obj == NULL)
        return 0;
    if (!json_is_object(obj))
        return -1;
    json_object_foreach ((json_t *)obj, key, value) {
        json_int_t n;
        if (!json_is_integer(value) || (n = json_integer_value(value)) < 1 || n > 1000000)
            return -1;
        if (strcmp(key, "trading") == 0)
            limits->trading = (unsigned)n;
        else if (strcmp(key, "default") == 0)
            limits->default_ = (unsigned)n;
    }
    return 0;
}

/* Whether the HMAC of the signed part under one of the keys valid at `now` is `sig`. */
static int signature_verifies(const sk_jwt_key_t *keys, size_t num_keys, const char *signed_part, size_t signed_len,
                              const unsigned char *sig, time_t now)
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned mac_len;
    size_t i;

    for (i = 0; i != num_keys; ++i) {
        if (keys[i].not_after != 0 && now >= keys[i].not_after)
            continue;
        mac_len = 0;
        if (HMAC(EVP_sha256(), keys[i].secret, (int)keys[i].secret_len, (const unsigned char *)signed_part, signed_len, mac,
                 &mac_len) != NULL &&
            mac_len == SIGNATURE_LEN && CRYPTO_memcmp(mac, sig, SIGNATURE_LEN) == 0)
            return 1;
    }
    return 0;
}

sk_jwt_status_t sk_jwt_verify(const sk_jwt_key_t *keys, size_t num_keys, const char *token, size_t len, time_t now,
                              sk_jwt_identity_t *identity)
{
    const char *dot1, *dot2, *end = token + len;
    unsigned char sig[TOKEN_MAX / 4 * 3];
    json_t *header = NULL, *payload = NULL, *alg, *exp;
    sk_jwt_status_t status = SK_JWT_MALFORMED;

    if (len == 0 || len > TOKEN_MAX || (dot1 = memchr(token, '.', len)) == NULL ||
        (dot2 = memchr(dot1 + 1, '.', end - dot1 - 1)) == NULL || memchr(dot2 + 1, '.', end - dot2 - 1) != NULL)
        goto Exit;

    if ((header = decode_object(token, dot1 - token)) == NULL)
        goto Exit;
    alg = json_object_get(header, "alg");
    if (!json_is_string(alg) || strcmp(json_string_value(alg), "HS256") != 0 || json_object_get(header, "crit") != NULL)
        goto Exit;

    if (b64url_decode(dot2 + 1, end - dot2 - 1, sig) != SIGNATURE_LEN)
        goto Exit;
    if (!signature_verifies(keys, num_keys, token, dot2 - token, sig, now)) {
        status = SK_JWT_BAD_SIGNATURE;
        goto Exit;
    }

    if ((payload = decode_object(dot1 + 1, dot2 - dot1 - 1)) == NULL)
        goto Exit;
    exp = json_object_get(payload, "exp");
    if (!json_is_integer(exp) || !json_is_string(json_object_get(payload, "iss")) ||
        strcmp(json_string_value(json_object_get(payload, "iss")), SK_JWT_ISSUER) != 0 ||
        copy_claim(payload, "sub", identity->sub, SK_JWT_SUB_MAX) != 0 ||
        copy_claim(payload, "role", identity->role, SK_JWT_ROLE_MAX) != 0 || copy_rate_limits(payload, &identity->rate_limits) != 0)
        goto Exit;
    identity->exp = (time_t)json_integer_value(exp);
    status = json_integer_value(exp) > (json_int_t)now ? SK_JWT_OK : SK_JWT_EXPIRED;

Exit:
    json_decref(header);
    json_decref(payload);
    return status;
}

char *sk_jwt_sign(const sk_jwt_key_t *key, const json_t *claims, time_t now, unsigned ttl)
{
    json_t *payload = NULL;
    char *payload_text = NULL, *token = NULL, *p;
    size_t payload_len, signed_len;
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned mac_len = 0;
    sk_jwt_identity_t check;

    if (!json_is_object(claims) || copy_claim(claims, "sub", check.sub, SK_JWT_SUB_MAX) != 0 ||
        copy_claim(claims, "role", check.role, SK_JWT_ROLE_MAX) != 0)
        goto Exit;
    if ((payload = json_deep_copy(claims)) == NULL || json_object_set_new(payload, "iss", json_string(SK_JWT_ISSUER)) != 0 ||
        json_object_set_new(payload, "iat", json_integer((json_int_t)now)) != 0 ||
        json_object_set_new(payload, "exp", json_integer((json_int_t)now + ttl)) != 0)
        goto Exit;
    if ((payload_text = json_dumps(payload, JSON_COMPACT)) == NULL)
        goto Exit;
    payload_len = strlen(payload_text);

    signed_len = sizeof(HEADER_B64) - 1 + 1 + b64url_encoded_len(payload_len);
    if ((token = malloc(signed_len + 1 + b64url_encoded_len(SIGNATURE_LEN) + 1)) == NULL)
        goto Exit;
    p = token;
    memcpy(p, HEADER_B64, sizeof(HEADER_B64) - 1);
    p += sizeof(HEADER_B64) - 1;
    *p++ = '.';
    p += b64url_encode((const unsigned char *)payload_text, payload_len, p);
    if (HMAC(EVP_sha256(), key->secret, (int)key->secret_len, (const unsigned char *)token, signed_len, mac, &mac_len) == NULL ||
        mac_len != SIGNATURE_LEN) {
        free(token);
        token = NULL;
        goto Exit;
    }
    *p++ = '.';
    p += b64url_encode(mac, SIGNATURE_LEN, p);
    *p = '\0';

Exit:
    free(payload_text);
    json_decref(payload);
    return token;
}
