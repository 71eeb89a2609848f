/*
 * StockKing Kids edge proxy: the HTTP API: health, readiness and the routes that call api functions.
 */
#ifndef sk_api_h
#define sk_api_h

#include <h2o.h>
#include "config.h"

/**
 * Adds the API handler to `pathconf` (the root path). Each request uses its worker's configuration, pool, hub and metrics.
 */
void sk_api_register(h2o_pathconf_t *pathconf);

#endif
