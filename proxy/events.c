/*
 * StockKing Kids edge proxy: live events.
 *
 * Order. An event's id on the streams is its outbox seq, assigned in commit order (sql/25_sessions.sql): once seq n is visible,
 * every smaller seq is visible too or never will be. The control connection fetches the events after the hub's position
 * (hub->seq) whenever NOTIFY stockking_events arrives and whenever it reconnects, so the hub sees every event exactly once and
 * in order, outages included.
 *
 * Resume without gap or duplicate. A client first registers with the hub (state REPLAYING: live events for it are held), then
 * asks the database for its events after its resume point (api.event_replay, through the request pool). The replay answers
 * from one snapshot S and says S's horizon H: S holds every event up to H. An event the replay did not see committed after S
 * was taken, which is after the registration, so the hub fetches it after the registration and it is among the held ones; and
 * its seq is above H. So: send the replayed events, then the held events above H, and go LIVE; from then on send each event
 * whose seq is above the last one sent. A full page replays again from its last seq; if the held events outgrow the client's
 * buffer they are dropped and the replay runs again from H.
 *
 * Flow control. Everything queued for a client (replayed, live, heartbeats) counts against event_client_buffer, as do the bytes
 * h2o or wslay has not written yet; past it the client is disconnected (counted in api_event_clients_dropped_total), never
 * allowed to grow memory. Output is pushed on the next loop iteration (the flush list), so transports never call back into a
 * fan-out in progress.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <h2o/websocket.h>
#include "events.h"
#include "server.h"

#define REPLAY_PAGE 500
#define FEED_PAGE 1000
#define CLOSING_GRACE_MS 3000
#define SUBSCRIBE_TIMEOUT_MS 10000
#define SSE_MAX_IOV 64
#define WS_CLOSE_TOKEN_EXPIRED 4001
#define WS_CLOSE_TOO_SLOW 4008

#define REPLAY_SQL "SELECT seq, event_type, data, horizon, pruned FROM api.event_replay($1::jsonb)"

typedef enum en_transport_t { TRANSPORT_SSE, TRANSPORT_WS } transport_t;

typedef enum en_client_state_t {
    CLIENT_NEW,       /* WebSocket: waiting for the subscribe message */
    CLIENT_REPLAYING, /* registered; the replay is running; live events are held */
    CLIENT_LIVE,
    CLIENT_CLOSING /* ending; takes no more events */
} client_state_t;

/* One message for the streams, shared by the clients it goes to. */
typedef struct st_event_t {
    size_t refcnt; /* 0: static */
    int64_t seq;
    h2o_iovec_t sse;
    h2o_iovec_t ws;
    int ws_opcode;
} event_t;

typedef struct st_event_queue_t {
    event_t **items;
    size_t head;
    size_t size;
    size_t capacity;
    size_t bytes;
} event_queue_t;

struct st_sk_event_client_t {
    sk_event_hub_t *hub;
    transport_t transport;
    client_state_t state;
    char user_id[SK_JWT_SUB_MAX + 1];
    char *token; /* the verified access token (malloc'ed), for the replay's request.jwt */
    time_t token_exp;
    char request_id[SK_REQUEST_ID_MAX + 1];
    h2o_linklist_t hub_link;
    h2o_linklist_t bucket_link;
    h2o_linklist_t flush_link;
    int64_t last;   /* every event of this client up to this seq has been sent (or replayed) */
    int64_t resume; /* the resume point asked for, -1 if none */
    event_queue_t held;
    int held_overflow;
    event_queue_t out;
    uint64_t created_ms;
    uint64_t last_write_ms;
    uint64_t closing_since_ms;
    /* the replay */
    sk_db_query_t query;
    int query_in_flight;
    unsigned replays_done;
    int replay_wait; /* a full page was sent: the next one is asked for once the output has drained */
    char args[96];
    char timeout[16];
    /* SSE */
    sk_http_ctx_t *http;
    h2o_req_t *req; /* NULL once h2o stopped the generator */
    h2o_generator_t generator;
    int started;
    int writing;
    int end_wanted;
    int final_sent;
    event_queue_t inflight;
    /* WebSocket */
    h2o_websocket_conn_t *ws;
};

static event_t sse_retry = {0, 0, {H2O_STRLIT("retry: 3000\n\n")}, {NULL, 0}, 0};
static event_t sse_heartbeat = {0, 0, {H2O_STRLIT(": heartbeat\n\n")}, {NULL, 0}, 0};
static event_t sse_shutdown = {0, 0, {H2O_STRLIT(": shutdown\n\n")}, {NULL, 0}, 0};
static event_t sse_expired = {0, 0, {H2O_STRLIT(": token expired\n\n")}, {NULL, 0}, 0};
static event_t ws_ping = {0, 0, {NULL, 0}, {H2O_STRLIT("")}, WSLAY_PING};

static void schedule_flush(sk_event_client_t *client);
static void client_close(sk_event_client_t *client, const char *why, int ws_code);
static void client_drop(sk_event_client_t *client);
static void submit_replay(sk_event_client_t *client);
static void resume_replay(sk_event_client_t *client);

static sk_worker_t *hub_worker(sk_event_hub_t *hub)
{
    return hub->worker;
}

static sk_config_t *hub_config(sk_event_hub_t *hub)
{
    return hub->worker->config;
}

static void event_release(event_t *ev)
{
    if (ev->refcnt == 0 || --ev->refcnt != 0)
        return;
    free(ev->sse.base);
    free(ev->ws.base);
    free(ev);
}

static event_t *event_addref(event_t *ev)
{
    if (ev->refcnt != 0)
        ++ev->refcnt;
    return ev;
}

/* Whether `s` (`len` bytes) is fit for an SSE field: no CR or LF. */
static int is_one_line(const char *s, size_t len)
{
    return memchr(s, '\n', len) == NULL && memchr(s, '\r', len) == NULL;
}

/* An event of the outbox: `type` and `data` (the event JSON, one line) as PostgreSQL wrote them. NULL if unusable. */
static event_t *event_new(int64_t seq, const char *type, const char *data)
{
    size_t type_len = strlen(type), data_len = strlen(data);
    json_t *type_json;
    char *type_text;
    event_t *ev;

    if (!is_one_line(type, type_len) || !is_one_line(data, data_len) || (type_json = json_string(type)) == NULL)
        return NULL;
    type_text = json_dumps(type_json, JSON_ENCODE_ANY);
    json_decref(type_json);
    if (type_text == NULL)
        return NULL;
    ev = h2o_mem_alloc(sizeof(*ev));
    ev->refcnt = 1;
    ev->seq = seq;
    ev->ws_opcode = WSLAY_TEXT_FRAME;
    ev->sse.base = h2o_mem_alloc(type_len + data_len + 64);
    ev->sse.len = sprintf(ev->sse.base, "id: %" PRId64 "\nevent: %s\ndata: %s\n\n", seq, type, data);
    ev->ws.base = h2o_mem_alloc(strlen(type_text) + data_len + 80);
    ev->ws.len = sprintf(ev->ws.base, "{\"type\":\"event\",\"id\":%" PRId64 ",\"event\":%s,\"data\":%s}", seq, type_text, data);
    free(type_text);
    return ev;
}

/* Tells the client that events after its resume point are gone (pruned, or an id the outbox never had): reload state. */
static event_t *event_reset(int64_t horizon, const char *reason)
{
    event_t *ev = h2o_mem_alloc(sizeof(*ev));

    ev->refcnt = 1;
    ev->seq = horizon;
    ev->ws_opcode = WSLAY_TEXT_FRAME;
    ev->sse.base = h2o_mem_alloc(128);
    ev->sse.len =
        sprintf(ev->sse.base, "id: %" PRId64 "\nevent: reset\ndata: {\"reason\":\"%s\",\"last_event_id\":%" PRId64 "}\n\n", horizon,
                reason, horizon);
    ev->ws.base = h2o_mem_alloc(128);
    ev->ws.len = sprintf(ev->ws.base, "{\"type\":\"reset\",\"reason\":\"%s\",\"last_event_id\":%" PRId64 "}", reason, horizon);
    return ev;
}

static size_t event_size(const sk_event_client_t *client, const event_t *ev)
{
    return client->transport == TRANSPORT_SSE ? ev->sse.len : ev->ws.len + 14;
}

static void queue_push(event_queue_t *q, event_t *ev, size_t size)
{
    if (q->head + q->size == q->capacity) {
        if (q->head != 0) {
            memmove(q->items, q->items + q->head, q->size * sizeof(q->items[0]));
            q->head = 0;
        }
        if (q->size == q->capacity) {
            q->capacity = q->capacity == 0 ? 8 : q->capacity * 2;
            q->items = h2o_mem_realloc(q->items, q->capacity * sizeof(q->items[0]));
        }
    }
    q->items[q->head + q->size++] = event_addref(ev);
    q->bytes += size;
}

static event_t *queue_shift(event_queue_t *q)
{
    event_t *ev = q->items[q->head++];

    if (--q->size == 0)
        q->head = 0;
    return ev;
}

static void queue_clear(event_queue_t *q)
{
    while (q->size != 0)
        event_release(queue_shift(q));
    q->bytes = 0;
}

static void queue_dispose(event_queue_t *q)
{
    queue_clear(q);
    free(q->items);
    memset(q, 0, sizeof(*q));
}

static size_t bucket_of(const char *user_id)
{
    uint64_t h = 0xcbf29ce484222325ull;

    for (; *user_id != '\0'; ++user_id)
        h = (h ^ (unsigned char)*user_id) * 0x100000001b3ull;
    return (size_t)(h % SK_EVENT_HUB_BUCKETS);
}

static void update_gauges(sk_event_hub_t *hub)
{
    sk_metrics_t *metrics = &hub_worker(hub)->metrics;

    sk_metrics_set(metrics, &metrics->sse_clients, hub->num_sse);
    sk_metrics_set(metrics, &metrics->ws_clients, hub->num_ws);
}

static sk_event_client_t *client_new(sk_event_hub_t *hub, transport_t transport, const sk_jwt_identity_t *identity,
                                     const char *token, const char *request_id)
{
    sk_event_client_t *client = h2o_mem_alloc(sizeof(*client));

    memset(client, 0, sizeof(*client));
    client->hub = hub;
    client->transport = transport;
    client->state = CLIENT_NEW;
    memcpy(client->user_id, identity->sub, sizeof(client->user_id));
    client->token = h2o_strdup(NULL, token, SIZE_MAX).base;
    client->token_exp = identity->exp;
    snprintf(client->request_id, sizeof(client->request_id), "%s", request_id);
    client->resume = -1;
    client->created_ms = client->last_write_ms = sk_now_ms();
    h2o_linklist_insert(&hub->clients, &client->hub_link);
    if (transport == TRANSPORT_SSE)
        ++hub->num_sse;
    else
        ++hub->num_ws;
    update_gauges(hub);
    return client;
}

/* Takes the client out of the fan-out. */
static void client_unregister(sk_event_client_t *client)
{
    if (h2o_linklist_is_linked(&client->bucket_link)) {
        h2o_linklist_unlink(&client->bucket_link);
        --client->hub->num_registered;
    }
}

/* Everything but the memory: the replay, the hub's lists, the queues. */
static void client_dispose(sk_event_client_t *client)
{
    sk_event_hub_t *hub = client->hub;

    if (client->query_in_flight) {
        sk_db_cancel(&client->query);
        client->query_in_flight = 0;
    }
    client_unregister(client);
    if (h2o_linklist_is_linked(&client->flush_link))
        h2o_linklist_unlink(&client->flush_link);
    h2o_linklist_unlink(&client->hub_link);
    if (client->transport == TRANSPORT_SSE)
        --hub->num_sse;
    else
        --hub->num_ws;
    update_gauges(hub);
    queue_dispose(&client->held);
    queue_dispose(&client->out);
    queue_dispose(&client->inflight);
    free(client->token);
    client->token = NULL;
}

/* Bytes queued for the client and not yet written. */
static size_t client_pending(sk_event_client_t *client)
{
    size_t pending = client->out.bytes + client->inflight.bytes;

    if (client->transport == TRANSPORT_WS)
        pending += wslay_event_get_queued_msg_length(client->ws->ws_ctx);
    return pending;
}

/*
 * Queues `ev` for the client; disconnects it if its buffer is full, unless `from_replay` (a replay page is bounded, and the next
 * page waits for the output to drain). Returns -1 if the client is gone or going.
 */
static int client_send_ex(sk_event_client_t *client, event_t *ev, int is_event, int from_replay)
{
    size_t size = event_size(client, ev);

    if (client->state == CLIENT_CLOSING)
        return -1;
    if (!from_replay && client_pending(client) + size > hub_config(client->hub)->event_client_buffer) {
        client_drop(client);
        return -1;
    }
    queue_push(&client->out, ev, size);
    if (is_event) {
        sk_metrics_t *metrics = &hub_worker(client->hub)->metrics;
        sk_metrics_add(metrics, &metrics->events_sent, 1);
    }
    schedule_flush(client);
    return 0;
}

static int client_send(sk_event_client_t *client, event_t *ev, int is_event)
{
    return client_send_ex(client, ev, is_event, 0);
}

/* Sends `ev` if it is the next one for the client. */
static void client_deliver(sk_event_client_t *client, event_t *ev, int from_replay)
{
    if (ev->seq <= client->last)
        return;
    client->last = ev->seq;
    client_send_ex(client, ev, 1, from_replay);
}

static void client_register(sk_event_client_t *client)
{
    sk_event_hub_t *hub = client->hub;

    h2o_linklist_insert(&hub->buckets[bucket_of(client->user_id)], &client->bucket_link);
    ++hub->num_registered;
}

/* ---- Server-Sent Events ---- */

static void sse_push(sk_event_client_t *client)
{
    h2o_iovec_t bufs[SSE_MAX_IOV];
    size_t n = 0;
    h2o_send_state_t state = H2O_SEND_STATE_IN_PROGRESS;

    if (client->req == NULL || !client->started || client->writing || client->final_sent)
        return;
    while (client->out.size != 0 && n != SSE_MAX_IOV) {
        event_t *ev = queue_shift(&client->out);
        client->out.bytes -= ev->sse.len;
        bufs[n++] = ev->sse;
        queue_push(&client->inflight, ev, ev->sse.len);
        event_release(ev);
    }
    if (client->end_wanted && client->out.size == 0) {
        state = H2O_SEND_STATE_FINAL;
        client->final_sent = 1;
    } else if (n == 0) {
        return;
    }
    client->writing = 1;
    client->last_write_ms = sk_now_ms();
    h2o_send(client->req, bufs, n, state);
}

static void on_sse_proceed(h2o_generator_t *generator, h2o_req_t *req)
{
    sk_event_client_t *client = H2O_STRUCT_FROM_MEMBER(sk_event_client_t, generator, generator);
    (void)req;

    client->writing = 0;
    queue_clear(&client->inflight);
    sse_push(client);
    if (client->replay_wait)
        resume_replay(client);
}

static void on_sse_stop(h2o_generator_t *generator, h2o_req_t *req)
{
    sk_event_client_t *client = H2O_STRUCT_FROM_MEMBER(sk_event_client_t, generator, generator);
    (void)req;

    client->req = NULL;
    client->state = CLIENT_CLOSING;
}

static void sse_start_response(sk_event_client_t *client)
{
    h2o_req_t *req = client->req;

    sk_http_begin_stream(client->http, 200);
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, H2O_STRLIT("text/event-stream; charset=utf-8"));
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, H2O_STRLIT("no-store"));
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-accel-buffering"), 0, "X-Accel-Buffering", H2O_STRLIT("no"));
    client->generator.proceed = on_sse_proceed;
    client->generator.stop = on_sse_stop;
    h2o_start_response(req, &client->generator);
    client->started = 1;
    client_send(client, &sse_retry, 0);
}

/* Cuts the connection of a client that does not read: its pending write then fails and h2o frees the request. */
static void sse_cut(sk_event_client_t *client)
{
    h2o_socket_t *sock;

    if (client->req == NULL)
        return;
    if (client->writing && client->req->conn->callbacks->get_socket != NULL &&
        (sock = client->req->conn->callbacks->get_socket(client->req->conn)) != NULL) {
        shutdown(h2o_socket_get_fd(sock), SHUT_RDWR);
        return;
    }
    /* nothing is being written: end the response instead */
    client->end_wanted = 1;
    queue_clear(&client->out);
    sse_push(client);
}

/* ---- WebSocket ---- */

static void ws_push(sk_event_client_t *client)
{
    h2o_websocket_conn_t *ws = client->ws;

    while (client->out.size != 0) {
        event_t *ev = queue_shift(&client->out);
        struct wslay_event_msg msg = {(uint8_t)ev->ws_opcode, (const uint8_t *)ev->ws.base, ev->ws.len};
        client->out.bytes -= event_size(client, ev);
        wslay_event_queue_msg(ws->ws_ctx, &msg);
        event_release(ev);
    }
    client->last_write_ms = sk_now_ms();
    if (client->replay_wait)
        resume_replay(client);
    /* may close the connection and free the client (on_ws_message with NULL): the last thing done */
    if (ws->sock != NULL)
        h2o_websocket_proceed(ws);
}

static void ws_free(sk_event_client_t *client)
{
    h2o_websocket_conn_t *ws = client->ws;

    client_dispose(client);
    free(client);
    h2o_websocket_close(ws);
}

static void ws_send_text(sk_event_client_t *client, const char *text, size_t len)
{
    event_t *ev = h2o_mem_alloc(sizeof(*ev));

    memset(ev, 0, sizeof(*ev));
    ev->refcnt = 1;
    ev->ws_opcode = WSLAY_TEXT_FRAME;
    ev->ws = h2o_strdup(NULL, text, len);
    client_send(client, ev, 0);
    event_release(ev);
}

/* ---- both ---- */

static void on_flush(h2o_timeout_entry_t *entry)
{
    sk_event_hub_t *hub = H2O_STRUCT_FROM_MEMBER(sk_event_hub_t, flush_entry, entry);

    while (!h2o_linklist_is_empty(&hub->flush_list)) {
        sk_event_client_t *client = H2O_STRUCT_FROM_MEMBER(sk_event_client_t, flush_link, hub->flush_list.next);
        h2o_linklist_unlink(&client->flush_link);
        if (client->transport == TRANSPORT_SSE)
            sse_push(client);
        else
            ws_push(client);
    }
}

static void schedule_flush(sk_event_client_t *client)
{
    sk_event_hub_t *hub = client->hub;

    if (!h2o_linklist_is_linked(&client->flush_link))
        h2o_linklist_insert(&hub->flush_list, &client->flush_link);
    if (!h2o_timeout_is_linked(&hub->flush_entry))
        h2o_timeout_link(hub_worker(hub)->loop, &hub->flush_timeout, &hub->flush_entry);
}

/* Ends the stream cleanly: what is queued is still sent. */
static void client_close(sk_event_client_t *client, const char *why, int ws_code)
{
    if (client->state == CLIENT_CLOSING)
        return;
    if (client->transport == TRANSPORT_SSE) {
        if (!client->started) {
            /* the replay has not answered yet: nothing was sent, so answer plainly */
            if (client->query_in_flight) {
                sk_db_cancel(&client->query);
                client->query_in_flight = 0;
            }
            client->state = CLIENT_CLOSING;
            if (client->req != NULL)
                sk_http_respond_px(client->http, SK_PX503, why, NULL);
            return;
        }
        client_send(client, ws_code == WS_CLOSE_TOKEN_EXPIRED ? &sse_expired : &sse_shutdown, 0);
        client->state = CLIENT_CLOSING;
        client->end_wanted = 1;
    } else {
        client->state = CLIENT_CLOSING;
        wslay_event_queue_close(client->ws->ws_ctx, (uint16_t)ws_code, (const uint8_t *)why, strlen(why));
    }
    client->closing_since_ms = sk_now_ms();
    client_unregister(client);
    schedule_flush(client);
}

/* A slow (or stuck) client: disconnect at once. */
static void client_drop(sk_event_client_t *client)
{
    sk_metrics_t *metrics = &hub_worker(client->hub)->metrics;

    sk_metrics_add(metrics, &metrics->clients_dropped, 1);
    sk_log("warning", "event stream %s of user %s dropped: more than %zu bytes unsent", client->request_id, client->user_id,
           hub_config(client->hub)->event_client_buffer);
    client->state = CLIENT_CLOSING;
    client->closing_since_ms = sk_now_ms();
    client_unregister(client);
    queue_clear(&client->out);
    if (client->transport == TRANSPORT_SSE)
        sse_cut(client);
    else
        client->closing_since_ms = 0; /* not from inside a fan-out: the next tick closes the connection */
}

/* ---- the replay ---- */

static void replay_failed(sk_event_client_t *client, sk_db_outcome_t outcome, const PGresult *res)
{
    char message[256];

    if (outcome == SK_DB_ERROR)
        sk_log("error", "event replay %s: %s %s", client->request_id, PQresultErrorField(res, PG_DIAG_SQLSTATE),
               PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY));
    if (client->transport == TRANSPORT_SSE && !client->started && client->req != NULL) {
        client->state = CLIENT_CLOSING;
        switch (outcome) {
        case SK_DB_WAIT_TIMEOUT:
            sk_http_respond_px(client->http, SK_PX504, "no database connection became free in time", NULL);
            break;
        case SK_DB_ERROR:
            snprintf(message, sizeof(message), "cannot replay the events: %s", PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY));
            sk_http_respond_px(client->http, SK_PX500, message, NULL);
            break;
        default:
            sk_http_respond_px(client->http, SK_PX503, "the database is unavailable", NULL);
            break;
        }
        return;
    }
    client_close(client, "the database is unavailable", 1011);
}

static void on_replay_done(sk_db_query_t *query, sk_db_outcome_t outcome, const PGresult *res)
{
    sk_event_client_t *client = H2O_STRUCT_FROM_MEMBER(sk_event_client_t, query, query);
    int nrows, nevents, i, pruned, first;
    int64_t horizon;

    client->query_in_flight = 0;
    if (client->state == CLIENT_CLOSING)
        return;
    if (outcome != SK_DB_OK || res == NULL || PQnfields(res) != 5 || (nrows = PQntuples(res)) < 1 ||
        !PQgetisnull(res, nrows - 1, 0)) {
        replay_failed(client, outcome == SK_DB_OK ? SK_DB_UNAVAILABLE : outcome, res);
        return;
    }
    first = client->replays_done++ == 0;
    nevents = nrows - 1;
    horizon = strtoll(PQgetvalue(res, nrows - 1, 3), NULL, 10);
    pruned = strcmp(PQgetvalue(res, nrows - 1, 4), "t") == 0;

    if (client->transport == TRANSPORT_SSE && !client->started)
        sse_start_response(client);
    if (first && client->transport == TRANSPORT_WS) {
        char ack[96];
        int len = snprintf(ack, sizeof(ack), "{\"type\":\"subscribed\",\"last_event_id\":%" PRId64 "}",
                           client->resume >= 0 ? client->resume : horizon);
        ws_send_text(client, ack, len);
    }
    if (first && client->resume >= 0 && (pruned || client->resume > horizon)) {
        /* events after the resume point are gone, or the id is not from this outbox: reload state, go on from the horizon */
        event_t *reset = event_reset(horizon, pruned ? "pruned" : "unknown_id");
        client->last = horizon;
        client_send_ex(client, reset, 0, 1);
        event_release(reset);
    }
    for (i = 0; i != nevents; ++i) {
        event_t *ev = event_new(strtoll(PQgetvalue(res, i, 0), NULL, 10), PQgetvalue(res, i, 1), PQgetvalue(res, i, 2));
        if (ev == NULL)
            continue;
        client_deliver(client, ev, 1);
        event_release(ev);
    }
    if (client->state == CLIENT_CLOSING)
        return;
    if (nevents == REPLAY_PAGE) {
        /* more to replay: once this page has (mostly) gone out */
        client->replay_wait = 1;
        resume_replay(client);
        return;
    }
    if (horizon > client->last)
        client->last = horizon;
    if (client->held_overflow) {
        queue_clear(&client->held);
        client->held_overflow = 0;
        submit_replay(client);
        return;
    }
    client->state = CLIENT_LIVE;
    while (client->held.size != 0 && client->state == CLIENT_LIVE) {
        event_t *ev = queue_shift(&client->held);
        client_deliver(client, ev, 0);
        event_release(ev);
    }
    client->held.bytes = 0;
}

/* Asks for the next replay page if the client's output has drained to half its buffer. */
static void resume_replay(sk_event_client_t *client)
{
    if (!client->replay_wait || client->state != CLIENT_REPLAYING || client->query_in_flight ||
        client_pending(client) > hub_config(client->hub)->event_client_buffer / 2)
        return;
    client->replay_wait = 0;
    submit_replay(client);
}

static void submit_replay(sk_event_client_t *client)
{
    sk_event_hub_t *hub = client->hub;
    sk_worker_t *worker = hub_worker(hub);
    const char *reason;

    if (client->last >= 0)
        snprintf(client->args, sizeof(client->args), "{\"after\":%" PRId64 ",\"limit\":%d}", client->last, REPLAY_PAGE);
    else
        snprintf(client->args, sizeof(client->args), "{\"limit\":%d}", REPLAY_PAGE);
    snprintf(client->timeout, sizeof(client->timeout), "%u", worker->config->statement_timeout_ms);
    memset(&client->query, 0, sizeof(client->query));
    client->query.cb = on_replay_done;
    client->query.fn_id = hub->replay_fn_id;
    client->query.read_only = 1;
    client->query.jwt = client->token;
    client->query.request_id = client->request_id;
    client->query.statement_timeout = client->timeout;
    client->query.args = client->args;
    client->state = CLIENT_REPLAYING;
    client->query_in_flight = 1;
    if (sk_db_submit(&worker->pool, &client->query, &reason) != 0) {
        client->query_in_flight = 0;
        replay_failed(client, SK_DB_UNAVAILABLE, NULL);
    }
}

/* Registers the client and starts its replay from `resume` (-1: from now). */
static void client_subscribe(sk_event_client_t *client, int64_t resume)
{
    client->resume = resume;
    client->last = resume;
    client->state = CLIENT_REPLAYING;
    client_register(client);
    submit_replay(client);
}

/* Parses a resume id: decimal, 0 .. 2^63-1. */
static int parse_event_id(const char *s, size_t len, int64_t *out)
{
    int64_t v = 0;
    size_t i;

    if (len == 0 || len > 18)
        return -1;
    for (i = 0; i != len; ++i) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

/* ---- the feed (the control connection) ---- */

/*
 * With no client registered the hub only asks for the horizon (a cheap index lookup) instead of the events: there is nobody to
 * send them to, and a client that registers later replays from the outbox anyway.
 */
static void feed_args(void *ctx, char *buf, size_t size)
{
    sk_event_hub_t *hub = ctx;

    hub->feed_horizon_only = hub->seq < 0 || hub->num_registered == 0;
    if (hub->feed_horizon_only)
        snprintf(buf, size, "{}");
    else
        snprintf(buf, size, "{\"after\":%" PRId64 ",\"limit\":%d}", hub->seq, FEED_PAGE);
}

/* Delivers `ev` to the clients of user `user` (`len` bytes). */
static void fan_out(sk_event_hub_t *hub, event_t *ev, const char *user, size_t len)
{
    h2o_linklist_t *anchor;
    h2o_linklist_t *node, *next;
    char id[SK_JWT_SUB_MAX + 1];

    if (len == 0 || len > SK_JWT_SUB_MAX)
        return;
    memcpy(id, user, len);
    id[len] = '\0';
    anchor = &hub->buckets[bucket_of(id)];
    for (node = anchor->next; node != anchor; node = next) {
        sk_event_client_t *client = H2O_STRUCT_FROM_MEMBER(sk_event_client_t, bucket_link, node);
        next = node->next; /* delivering may drop the client from the bucket */
        if (strcmp(client->user_id, id) != 0)
            continue;
        switch (client->state) {
        case CLIENT_LIVE:
            client_deliver(client, ev, 0);
            break;
        case CLIENT_REPLAYING:
            if (client->held_overflow)
                break;
            if (client->held.bytes + event_size(client, ev) > hub_config(hub)->event_client_buffer) {
                queue_clear(&client->held);
                client->held_overflow = 1;
            } else {
                queue_push(&client->held, ev, event_size(client, ev));
            }
            break;
        default:
            break;
        }
    }
}

static int on_feed(void *ctx, const PGresult *res)
{
    sk_event_hub_t *hub = ctx;
    int nrows = PQntuples(res), nevents, i;
    int64_t horizon;

    if (nrows < 1 || !PQgetisnull(res, nrows - 1, 0)) {
        sk_log("error", "event feed: unexpected result");
        return 0;
    }
    nevents = nrows - 1;
    horizon = strtoll(PQgetvalue(res, nrows - 1, 4), NULL, 10);
    for (i = 0; i != nevents; ++i) {
        int64_t seq = strtoll(PQgetvalue(res, i, 0), NULL, 10);
        const char *recipients = PQgetvalue(res, i, 2), *p;
        event_t *ev;
        if (hub->seq >= 0 && seq <= hub->seq)
            continue;
        hub->seq = seq;
        if (*recipients == '\0' || (ev = event_new(seq, PQgetvalue(res, i, 1), PQgetvalue(res, i, 3))) == NULL)
            continue;
        for (p = recipients; *p != '\0';) {
            const char *comma = strchr(p, ','), *end = comma != NULL ? comma : p + strlen(p);
            fan_out(hub, ev, p, end - p);
            p = comma != NULL ? comma + 1 : end;
        }
        event_release(ev);
    }
    if (nevents == FEED_PAGE)
        return 1;
    if (hub->feed_horizon_only && hub->seq >= 0 && hub->num_registered != 0) {
        /*
         * A client registered while the horizon was asked for: its replay may have seen an older snapshot than the horizon's,
         * so the hub must not skip to it. Fetch the events instead.
         */
        return 1;
    }
    if (horizon > hub->seq) {
        if (hub->seq < 0)
            sk_log("info", "event feed live at outbox seq %" PRId64, horizon);
        hub->seq = horizon;
    }
    return 0;
}

static void feed_status(void *ctx, int up)
{
    sk_event_hub_t *hub = ctx;

    if (!up)
        sk_log("warning", "event feed interrupted at outbox seq %" PRId64 "; it resumes from there when the database is back",
               hub->seq);
}

/* ---- the tick: heartbeats, token expiry, stuck closes ---- */

static void on_tick(h2o_timeout_entry_t *entry)
{
    sk_event_hub_t *hub = H2O_STRUCT_FROM_MEMBER(sk_event_hub_t, tick_entry, entry);
    sk_worker_t *worker = hub_worker(hub);
    uint64_t now_ms = sk_now_ms(), interval_ms = (uint64_t)worker->config->heartbeat_interval * 1000;
    time_t now = time(NULL);
    h2o_linklist_t *node, *next;

    for (node = hub->clients.next; node != &hub->clients; node = next) {
        sk_event_client_t *client = H2O_STRUCT_FROM_MEMBER(sk_event_client_t, hub_link, node);
        next = node->next;
        if (client->state == CLIENT_CLOSING) {
            if (now_ms - client->closing_since_ms < CLOSING_GRACE_MS)
                continue;
            if (client->transport == TRANSPORT_WS) {
                ws_free(client);
            } else {
                client->closing_since_ms = now_ms;
                sse_cut(client);
            }
            continue;
        }
        if (now >= client->token_exp) {
            client_close(client, "token expired", WS_CLOSE_TOKEN_EXPIRED);
            continue;
        }
        if (client->state == CLIENT_NEW && now_ms - client->created_ms >= SUBSCRIBE_TIMEOUT_MS) {
            client_close(client, "no subscribe message", 1008);
            continue;
        }
        if (client->replay_wait)
            resume_replay(client);
        if (client->state == CLIENT_LIVE && now_ms - client->last_write_ms >= interval_ms) {
            client->last_write_ms = now_ms;
            client_send(client, client->transport == TRANSPORT_SSE ? &sse_heartbeat : &ws_ping, 0);
        }
    }
    h2o_timeout_link(worker->loop, &hub->tick_timeout, &hub->tick_entry);
}

/* ---- public ---- */

void sk_event_hub_init(sk_event_hub_t *hub, sk_worker_t *worker)
{
    size_t i;

    memset(hub, 0, sizeof(*hub));
    hub->worker = worker;
    hub->seq = -1;
    h2o_linklist_init_anchor(&hub->clients);
    for (i = 0; i != SK_EVENT_HUB_BUCKETS; ++i)
        h2o_linklist_init_anchor(&hub->buckets[i]);
    h2o_linklist_init_anchor(&hub->flush_list);
    h2o_timeout_init(worker->loop, &hub->flush_timeout, 0);
    hub->flush_entry.cb = on_flush;
    h2o_timeout_init(worker->loop, &hub->tick_timeout, 1000);
    hub->tick_entry.cb = on_tick;
    h2o_timeout_link(worker->loop, &hub->tick_timeout, &hub->tick_entry);
    if (sk_fn_registry_add_internal(&worker->pool.fns, "#event_replay", REPLAY_SQL, &hub->replay_fn_id) != 0)
        h2o_fatal("out of memory");
}

void sk_event_hub_feed(sk_event_hub_t *hub, sk_db_feed_t *feed)
{
    feed->ctx = hub;
    feed->args = feed_args;
    feed->on_result = on_feed;
    feed->on_status = feed_status;
}

int sk_event_hub_is_live(sk_event_hub_t *hub)
{
    return hub->seq >= 0;
}

void sk_event_hub_shutdown(sk_event_hub_t *hub)
{
    h2o_linklist_t *node, *next;

    hub->stopping = 1;
    for (node = hub->clients.next; node != &hub->clients; node = next) {
        sk_event_client_t *client = H2O_STRUCT_FROM_MEMBER(sk_event_client_t, hub_link, node);
        next = node->next;
        client_close(client, "server shutting down", WSLAY_CODE_GOING_AWAY);
    }
}

void sk_event_hub_abort(sk_event_hub_t *hub)
{
    h2o_linklist_t *node, *next;

    for (node = hub->clients.next; node != &hub->clients; node = next) {
        sk_event_client_t *client = H2O_STRUCT_FROM_MEMBER(sk_event_client_t, hub_link, node);
        next = node->next;
        if (client->transport == TRANSPORT_WS)
            ws_free(client);
        else
            sse_cut(client);
    }
}

void sk_event_hub_dispose(sk_event_hub_t *hub)
{
    sk_worker_t *worker = hub_worker(hub);

    if (h2o_timeout_is_linked(&hub->flush_entry))
        h2o_timeout_unlink(&hub->flush_entry);
    h2o_timeout_unlink(&hub->tick_entry);
    h2o_timeout_dispose(worker->loop, &hub->flush_timeout);
    h2o_timeout_dispose(worker->loop, &hub->tick_timeout);
}

/* Checks that a new stream may start; -1 after responding. */
static int admit(sk_event_hub_t *hub, sk_http_ctx_t *http)
{
    if (hub->stopping) {
        sk_http_respond_px(http, SK_PX503, "the server is shutting down", NULL);
        return -1;
    }
    if (!sk_event_hub_is_live(hub)) {
        sk_http_respond_px(http, SK_PX503, "the event feed is not connected yet", NULL);
        return -1;
    }
    if (hub->num_sse + hub->num_ws >= hub_config(hub)->max_event_clients) {
        sk_http_respond_px(http, SK_PX503, "too many event streams", NULL);
        return -1;
    }
    return 0;
}

sk_event_client_t *sk_events_start_sse(sk_event_hub_t *hub, sk_http_ctx_t *http, const sk_jwt_identity_t *identity,
                                       const char *token, const char *last_event_id, size_t len)
{
    sk_event_client_t *client;
    int64_t resume = -1;

    if (last_event_id != NULL && parse_event_id(last_event_id, len, &resume) != 0) {
        sk_http_respond_px(http, SK_PX400, "Last-Event-ID must be an event id (a decimal number)", NULL);
        return NULL;
    }
    if (admit(hub, http) != 0)
        return NULL;
    client = client_new(hub, TRANSPORT_SSE, identity, token, http->request_id);
    client->http = http;
    client->req = http->req;
    client_subscribe(client, resume);
    return client;
}

void sk_events_detach_sse(sk_event_client_t *client)
{
    client_dispose(client);
    free(client);
}

static void ws_on_subscribe(sk_event_client_t *client, const uint8_t *msg, size_t len)
{
    json_t *root = json_loadb((const char *)msg, len, 0, NULL), *id;
    int64_t resume = -1;
    int ok = 0;

    if (json_is_object(root) && json_is_string(json_object_get(root, "type")) &&
        strcmp(json_string_value(json_object_get(root, "type")), "subscribe") == 0) {
        id = json_object_get(root, "last_event_id");
        if (id == NULL || json_is_null(id))
            ok = 1;
        else if (json_is_integer(id) && json_integer_value(id) >= 0)
            resume = json_integer_value(id), ok = 1;
        else if (json_is_string(id))
            ok = parse_event_id(json_string_value(id), json_string_length(id), &resume) == 0;
    }
    json_decref(root);
    if (!ok) {
        client_close(client, "expected {\"type\":\"subscribe\",\"last_event_id\":N}", 1008);
        return;
    }
    client_subscribe(client, resume);
}

static void on_ws_message(h2o_websocket_conn_t *ws, const struct wslay_event_on_msg_recv_arg *arg)
{
    sk_event_client_t *client = ws->data;

    if (arg == NULL) {
        ws_free(client);
        return;
    }
    if (arg->opcode != WSLAY_TEXT_FRAME || client->state == CLIENT_CLOSING)
        return;
    if (client->state != CLIENT_NEW) {
        client_close(client, "already subscribed", 1008);
        return;
    }
    ws_on_subscribe(client, arg->msg, arg->msg_length);
}

int sk_events_start_ws(sk_event_hub_t *hub, sk_http_ctx_t *http, const sk_jwt_identity_t *identity, const char *token,
                       const char *client_key)
{
    sk_event_client_t *client;

    if (admit(hub, http) != 0)
        return -1;
    client = client_new(hub, TRANSPORT_WS, identity, token, http->request_id);
    sk_http_begin_stream(http, 101);
    client->ws = h2o_upgrade_to_websocket(http->req, client_key, client, on_ws_message);
    return 0;
}
