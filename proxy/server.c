/*
 * StockKing Kids edge proxy: main, listeners, worker threads and signals.
 *
 * Each worker thread runs its own h2o event loop with its own listening socket (SO_REUSEPORT on the same address, so the
 * kernel spreads connections), its own database pool and control connection, and its own event hub. The main thread only
 * waits for signals:
 *   SIGHUP            reload the configuration file; each worker switches to the new one (requests in flight keep theirs);
 *   SIGTERM, SIGINT   stop accepting, end the event streams cleanly, finish the requests in flight, exit 0; after
 *                     drain_timeout seconds whatever remains is cut and the process exits anyway.
 */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <jansson.h>
#include "api.h"
#include "config.h"
#include "http.h"
#include "server.h"

/*
 * h2o's own limit on a request body, a backstop above the largest max_body the route table accepts (each route's is checked
 * with a JSON 413); a larger body gets h2o's plain 413 before any handler runs.
 */
#define MAX_REQUEST_ENTITY (64 * 1024 * 1024 + 1)
#define RATE_LIMIT_SHARDS 64

typedef struct st_reload_message_t {
    h2o_multithread_message_t super;
    sk_config_t *config;
} reload_message_t;

static sk_server_t server;
static h2o_globalconf_t globalconf;
static const char *config_path;

uint64_t sk_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void on_accept(h2o_socket_t *listener, const char *err)
{
    sk_worker_t *worker = listener->data;
    h2o_socket_t *sock;

    if (err != NULL || (sock = h2o_evloop_socket_accept(listener)) == NULL)
        return;
    h2o_accept(&worker->accept_ctx, sock);
}

static void on_drain_timeout(h2o_timeout_entry_t *entry)
{
    sk_worker_t *worker = H2O_STRUCT_FROM_MEMBER(sk_worker_t, drain_entry, entry);

    sk_log("warning", "drain timeout: %zu requests and %zu WebSocket streams still open are cut", worker->num_active,
           worker->hub.num_ws);
    sk_event_hub_abort(&worker->hub);
    worker->drain_expired = 1;
}

static void on_stop(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    sk_worker_t *worker = H2O_STRUCT_FROM_MEMBER(sk_worker_t, stop_receiver, receiver);

    while (!h2o_linklist_is_empty(messages))
        h2o_linklist_unlink(messages->next);
    if (worker->stopping)
        return;
    worker->stopping = 1;
    h2o_socket_read_stop(worker->listener);
    h2o_socket_close(worker->listener);
    worker->listener = NULL;
    h2o_context_request_shutdown(&worker->ctx);
    sk_event_hub_shutdown(&worker->hub);
    h2o_timeout_init(worker->loop, &worker->drain_timeout, (uint64_t)worker->config->drain_timeout * 1000);
    worker->drain_entry.cb = on_drain_timeout;
    h2o_timeout_link(worker->loop, &worker->drain_timeout, &worker->drain_entry);
}

static void on_reload(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    sk_worker_t *worker = H2O_STRUCT_FROM_MEMBER(sk_worker_t, reload_receiver, receiver);

    while (!h2o_linklist_is_empty(messages)) {
        reload_message_t *message = H2O_STRUCT_FROM_MEMBER(reload_message_t, super.link, messages->next);
        h2o_linklist_unlink(&message->super.link);
        sk_config_release(worker->config);
        worker->config = message->config;
        worker->pool.max_queue = message->config->max_queue;
        free(message);
    }
}

static void *run_worker(void *arg)
{
    sk_worker_t *worker = arg;
    h2o_context_init(&worker->ctx, worker->loop, &globalconf);
    worker->accept_ctx.ctx = &worker->ctx;
    worker->accept_ctx.hosts = globalconf.hosts;
    sk_metrics_init(&worker->metrics);
    sk_db_pool_init(&worker->pool, worker->loop, worker->config->conninfo, worker->config->pool_size, worker->config->max_queue,
                    worker->config->pool_wait_timeout_ms, NULL);
    /* nothing has run on the loop yet: the hub registers its statement and takes the feed before any connection is up */
    sk_event_hub_init(&worker->hub, worker);
    sk_event_hub_feed(&worker->hub, &worker->pool.feed);
    worker->listener = h2o_evloop_socket_create(worker->loop, worker->listen_fd, H2O_SOCKET_FLAG_DONT_READ);
    worker->listener->data = worker;
    h2o_socket_read_start(worker->listener, on_accept);

    while (!worker->stopping || worker->num_active != 0 || worker->hub.num_ws != 0) {
        if (worker->drain_expired)
            return NULL; /* the process exits; nothing is freed */
        if (h2o_evloop_run(worker->loop, INT32_MAX) != 0) {
            sk_log("error", "event loop failed: %s", strerror(errno));
            exit(1);
        }
    }

    h2o_timeout_unlink(&worker->drain_entry);
    h2o_timeout_dispose(worker->loop, &worker->drain_timeout);
    sk_event_hub_dispose(&worker->hub);
    sk_db_pool_dispose(&worker->pool);
    sk_metrics_dispose(&worker->metrics);
    h2o_multithread_unregister_receiver(worker->queue, &worker->stop_receiver);
    h2o_multithread_unregister_receiver(worker->queue, &worker->reload_receiver);
    h2o_multithread_destroy_queue(worker->queue);
    sk_config_release(worker->config);
    return NULL;
}

/* Opens one listening socket on `ai`; returns the descriptor, or -1 with errno set. */
static int open_listener(const struct addrinfo *ai)
{
    int fd, on = 1;

    if ((fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1)
        return -1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) != 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 ||
        listen(fd, SOMAXCONN) != 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

static int open_listeners(const sk_config_t *config, sk_worker_t *workers, size_t num_workers)
{
    struct addrinfo hints, *ai;
    size_t i;
    int ret;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_ADDRCONFIG;
    if ((ret = getaddrinfo(config->listen_host, config->listen_port, &hints, &ai)) != 0) {
        sk_log("error", "cannot resolve listen address %s: %s", config->listen_host != NULL ? config->listen_host : "*",
               gai_strerror(ret));
        return -1;
    }
    for (i = 0; i != num_workers; ++i) {
        if ((workers[i].listen_fd = open_listener(ai)) == -1) {
            sk_log("error", "cannot listen on %s:%s: %s", config->listen_host != NULL ? config->listen_host : "*",
                   config->listen_port, strerror(errno));
            freeaddrinfo(ai);
            return -1;
        }
    }
    freeaddrinfo(ai);
    return 0;
}

static int differs(const char *a, const char *b)
{
    return (a == NULL) != (b == NULL) || (a != NULL && strcmp(a, b) != 0);
}

/* SIGHUP: loads the file again and hands the new configuration to every worker; keeps the old one if the file is invalid. */
static sk_config_t *reload(sk_config_t *current)
{
    char errbuf[512];
    sk_config_t *config;
    size_t i;

    if ((config = sk_config_load(config_path, current, errbuf, sizeof(errbuf))) == NULL) {
        sk_log("error", "SIGHUP: configuration not reloaded: %s", errbuf);
        return current;
    }
    if (differs(config->listen_host, current->listen_host) || differs(config->listen_port, current->listen_port) ||
        differs(config->conninfo, current->conninfo) || config->threads != current->threads ||
        config->pool_size != current->pool_size || config->pool_wait_timeout_ms != current->pool_wait_timeout_ms)
        sk_log("warning", "SIGHUP: listen, conninfo, threads, pool_size and pool_wait_timeout take effect at the next start");
    for (i = 0; i != server.num_workers; ++i) {
        reload_message_t *message = h2o_mem_alloc(sizeof(*message));
        memset(message, 0, sizeof(*message));
        sk_config_addref(config);
        message->config = config;
        h2o_multithread_send_message(&server.workers[i].reload_receiver, &message->super);
    }
    sk_log("info",
           "SIGHUP: configuration reloaded from %s (%zu JWT keys, rate limits login %u/%us, trading %u/%us, default %u/%us)",
           config_path, config->num_keys, config->rate_limits[SK_RATE_LOGIN].count, config->rate_limits[SK_RATE_LOGIN].window,
           config->rate_limits[SK_RATE_TRADING].count, config->rate_limits[SK_RATE_TRADING].window,
           config->rate_limits[SK_RATE_DEFAULT].count, config->rate_limits[SK_RATE_DEFAULT].window);
    sk_config_release(current);
    return config;
}

static void usage(FILE *fp)
{
    fprintf(fp, "usage: stockking-proxy -c FILE\n");
}

int main(int argc, char **argv)
{
    char errbuf[512];
    sigset_t signals;
    sk_config_t *config;
    h2o_hostconf_t *hostconf;
    size_t i;
    int opt, sig, ret = 1;

    while ((opt = getopt(argc, argv, "c:h")) != -1) {
        switch (opt) {
        case 'c':
            config_path = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 1;
        }
    }
    if (config_path == NULL || optind != argc) {
        usage(stderr);
        return 1;
    }
    if ((config = sk_config_load(config_path, NULL, errbuf, sizeof(errbuf))) == NULL) {
        sk_log("error", "%s", errbuf);
        return 1;
    }

    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &signals, NULL);
    json_object_seed(0);

    h2o_config_init(&globalconf);
    globalconf.server_name = h2o_iovec_init(H2O_STRLIT("stockking-proxy"));
    globalconf.max_request_entity_size = MAX_REQUEST_ENTITY;
    hostconf = h2o_config_register_host(&globalconf, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    sk_api_register(h2o_config_register_path(hostconf, "/", 0));

    if ((server.limiter = sk_ratelimiter_create(RATE_LIMIT_SHARDS)) == NULL) {
        sk_log("error", "out of memory");
        goto Exit;
    }
    server.num_workers = config->threads;
    server.workers = h2o_mem_alloc(sizeof(server.workers[0]) * server.num_workers);
    memset(server.workers, 0, sizeof(server.workers[0]) * server.num_workers);
    if (open_listeners(config, server.workers, server.num_workers) != 0)
        goto Exit;
    for (i = 0; i != server.num_workers; ++i) {
        sk_worker_t *worker = server.workers + i;
        worker->server = &server;
        worker->config = config;
        sk_config_addref(config);
        worker->loop = h2o_evloop_create();
        worker->queue = h2o_multithread_create_queue(worker->loop);
        h2o_multithread_register_receiver(worker->queue, &worker->stop_receiver, on_stop);
        h2o_multithread_register_receiver(worker->queue, &worker->reload_receiver, on_reload);
    }
    for (i = 0; i != server.num_workers; ++i)
        h2o_multithread_create_thread(&server.workers[i].thread, NULL, run_worker, server.workers + i);
    sk_log("info", "listening on %s:%s with %zu threads, %zu database connections each",
           config->listen_host != NULL ? config->listen_host : "*", config->listen_port, config->threads, config->pool_size);

    for (;;) {
        if (sigwait(&signals, &sig) != 0)
            sig = SIGTERM;
        if (sig != SIGHUP)
            break;
        config = reload(config);
    }
    sk_log("info", "received %s: draining the requests in flight and closing the event streams",
           sig == SIGINT ? "SIGINT" : "SIGTERM");
    for (i = 0; i != server.num_workers; ++i)
        h2o_multithread_send_message(&server.workers[i].stop_receiver, &server.workers[i].stop_message);
    for (i = 0; i != server.num_workers; ++i)
        pthread_join(server.workers[i].thread, NULL);
    for (i = 0; i != server.num_workers; ++i) {
        if (server.workers[i].drain_expired) {
            sk_log("info", "stopped (drain cut short)");
            fflush(stderr);
            _exit(0);
        }
    }
    sk_log("info", "stopped");
    ret = 0;

Exit:
    free(server.workers);
    sk_ratelimiter_destroy(server.limiter);
    h2o_config_dispose(&globalconf);
    sk_config_release(config);
    return ret;
}
