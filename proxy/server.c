/*
 * StockKing Kids edge proxy: main, listeners, worker threads and signals.
 *
 * Each worker thread runs its own h2o event loop with its own listening socket (SO_REUSEPORT on the same address, so the
 * kernel spreads connections) and its own database pool. The main thread only waits for SIGTERM or SIGINT; it then tells every
 * worker to stop accepting and to finish the requests it has, and exits 0 once all have.
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

/* h2o's own limit, a backstop at the largest max_body the route table accepts (each route's is checked with a JSON error) */
#define MAX_REQUEST_ENTITY (64 * 1024 * 1024)

static sk_config_t config;
static h2o_globalconf_t globalconf;

static void on_accept(h2o_socket_t *listener, const char *err)
{
    sk_worker_t *worker = listener->data;
    h2o_socket_t *sock;

    if (err != NULL || (sock = h2o_evloop_socket_accept(listener)) == NULL)
        return;
    h2o_accept(&worker->accept_ctx, sock);
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
}

static void *run_worker(void *arg)
{
    sk_worker_t *worker = arg;

    h2o_context_init(&worker->ctx, worker->loop, &globalconf);
    worker->accept_ctx.ctx = &worker->ctx;
    worker->accept_ctx.hosts = globalconf.hosts;
    sk_db_pool_init(&worker->pool, worker->loop, config.conninfo, config.pool_size, config.max_queue);
    worker->listener = h2o_evloop_socket_create(worker->loop, worker->listen_fd, H2O_SOCKET_FLAG_DONT_READ);
    worker->listener->data = worker;
    h2o_socket_read_start(worker->listener, on_accept);

    while (!worker->stopping || worker->num_active != 0) {
        if (h2o_evloop_run(worker->loop, INT32_MAX) != 0) {
            sk_log("error", "event loop failed: %s", strerror(errno));
            exit(1);
        }
    }

    sk_db_pool_dispose(&worker->pool);
    h2o_multithread_unregister_receiver(worker->queue, &worker->stop_receiver);
    h2o_multithread_destroy_queue(worker->queue);
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

static int open_listeners(sk_worker_t *workers, size_t num_workers)
{
    struct addrinfo hints, *ai;
    size_t i;
    int ret;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_ADDRCONFIG;
    if ((ret = getaddrinfo(config.listen_host, config.listen_port, &hints, &ai)) != 0) {
        sk_log("error", "cannot resolve listen address %s: %s", config.listen_host != NULL ? config.listen_host : "*",
               gai_strerror(ret));
        return -1;
    }
    for (i = 0; i != num_workers; ++i) {
        if ((workers[i].listen_fd = open_listener(ai)) == -1) {
            sk_log("error", "cannot listen on %s:%s: %s", config.listen_host != NULL ? config.listen_host : "*", config.listen_port,
                   strerror(errno));
            freeaddrinfo(ai);
            return -1;
        }
    }
    freeaddrinfo(ai);
    return 0;
}

static void usage(FILE *fp)
{
    fprintf(fp, "usage: stockking-proxy -c FILE\n");
}

int main(int argc, char **argv)
{
    const char *config_path = NULL;
    char errbuf[512];
    sigset_t signals;
    sk_worker_t *workers = NULL;
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
    if (sk_config_load(&config, config_path, errbuf, sizeof(errbuf)) != 0) {
        sk_log("error", "%s", errbuf);
        sk_config_dispose(&config);
        return 1;
    }

    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &signals, NULL);
    json_object_seed(0);

    h2o_config_init(&globalconf);
    globalconf.server_name = h2o_iovec_init(H2O_STRLIT("stockking-proxy"));
    globalconf.max_request_entity_size = MAX_REQUEST_ENTITY;
    hostconf = h2o_config_register_host(&globalconf, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    sk_api_register(h2o_config_register_path(hostconf, "/", 0), &config);

    workers = h2o_mem_alloc(sizeof(workers[0]) * config.threads);
    memset(workers, 0, sizeof(workers[0]) * config.threads);
    if (open_listeners(workers, config.threads) != 0)
        goto Exit;
    for (i = 0; i != config.threads; ++i) {
        sk_worker_t *worker = workers + i;
        worker->loop = h2o_evloop_create();
        worker->queue = h2o_multithread_create_queue(worker->loop);
        h2o_multithread_register_receiver(worker->queue, &worker->stop_receiver, on_stop);
    }
    for (i = 0; i != config.threads; ++i)
        h2o_multithread_create_thread(&workers[i].thread, NULL, run_worker, workers + i);
    sk_log("info", "listening on %s:%s with %zu threads, %zu database connections each",
           config.listen_host != NULL ? config.listen_host : "*", config.listen_port, config.threads, config.pool_size);

    if (sigwait(&signals, &sig) != 0)
        sig = SIGTERM;
    sk_log("info", "received %s: finishing the requests in flight", sig == SIGINT ? "SIGINT" : "SIGTERM");
    for (i = 0; i != config.threads; ++i)
        h2o_multithread_send_message(&workers[i].stop_receiver, &workers[i].stop_message);
    for (i = 0; i != config.threads; ++i)
        pthread_join(workers[i].thread, NULL);
    sk_log("info", "stopped");
    ret = 0;

Exit:
    free(workers);
    h2o_config_dispose(&globalconf);
    sk_config_dispose(&config);
    return ret;
}
