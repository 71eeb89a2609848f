/*
 * StockKing Kids edge proxy: live events. One hub per thread fans the outbox events its control connection fetches out to the
 * thread's Server-Sent Events (GET /v1/events) and WebSocket (GET /v1/ws) clients, and replays what a reconnecting client missed.
 */
#ifndef sk_events_h
#define sk_events_h

#include <stdint.h>
#include <h2o.h>
#include "db.h"
#include "http.h"
#include "jwt.h"

#define SK_EVENT_HUB_BUCKETS 1024

struct st_sk_worker_t;

typedef struct st_sk_event_client_t sk_event_client_t;

typedef struct st_sk_event_hub_t {
    struct st_sk_worker_t *worker;
    int64_t seq; /* every event up to this outbox seq has been fanned out; -1 until the first feed answered */
    h2o_linklist_t clients;
    h2o_linklist_t buckets[SK_EVENT_HUB_BUCKETS]; /* registered clients by user id */
    size_t num_registered;
    int feed_horizon_only; /* the feed call in flight asks for the horizon only */
    size_t num_sse;
    size_t num_ws;
    size_t replay_fn_id;
    h2o_linklist_t flush_list; /* clients with output to push, done on the next loop iteration */
    h2o_timeout_t flush_timeout;
    h2o_timeout_entry_t flush_entry;
    h2o_timeout_t tick_timeout;
    h2o_timeout_entry_t tick_entry;
    int stopping;
} sk_event_hub_t;

/**
 * Initializes the hub of `worker` and registers the replay statement in the worker's pool.
 */
void sk_event_hub_init(sk_event_hub_t *hub, struct st_sk_worker_t *worker);
/**
 * The callbacks the pool's control connection uses to feed the hub.
 */
void sk_event_hub_feed(sk_event_hub_t *hub, sk_db_feed_t *feed);
/**
 * Whether the hub knows its position in the outbox (it can take clients).
 */
int sk_event_hub_is_live(sk_event_hub_t *hub);
/**
 * SIGTERM: ends every stream cleanly (SSE: the end of the response; WebSocket: close 1001) and takes no new ones.
 */
void sk_event_hub_shutdown(sk_event_hub_t *hub);
/**
 * The drain timeout passed: disconnects every stream at once.
 */
void sk_event_hub_abort(sk_event_hub_t *hub);
/**
 * Stops the hub's timers; no client may remain.
 */
void sk_event_hub_dispose(sk_event_hub_t *hub);
/**
 * Starts a Server-Sent Events stream for the request of `http` and `identity` (verified from `token`, which the replay sends to
 * the database as request.jwt): the events after `last_event_id` (`len` bytes, decimal; none if NULL) are replayed, then the
 * stream goes live. Returns the client, owned by the request (pass it to
 * sk_events_detach_sse when the request is freed), or NULL after responding with an error.
 */
sk_event_client_t *sk_events_start_sse(sk_event_hub_t *hub, sk_http_ctx_t *http, const sk_jwt_identity_t *identity,
                                       const char *token, const char *last_event_id, size_t len);
/**
 * The request of an SSE client is being freed.
 */
void sk_events_detach_sse(sk_event_client_t *client);
/**
 * Upgrades the request of `http` to a WebSocket for `identity` and its `token` (`client_key` from h2o_is_websocket_handshake); the client then
 * subscribes with {"type":"subscribe","last_event_id":N}. The connection owns the client. Returns 0, or -1 after responding.
 */
int sk_events_start_ws(sk_event_hub_t *hub, sk_http_ctx_t *http, const sk_jwt_identity_t *identity, const char *token,
                       const char *client_key);

#endif
