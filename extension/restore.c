/*
 * restore.c
 *	  Knowing when rows are being restored.
 *
 * pg_dump saves the rows of the extension's tables (each is registered with
 * pg_extension_config_dump) and pg_restore, or psql reading a plain dump,
 * loads them back with COPY ... FROM stdin after CREATE EXTENSION has made
 * the tables and their triggers.  A dump already holds every row that a
 * trigger derives (link codes, mission progress, summaries, outbox events),
 * so a trigger that derived them again during the load would write each
 * twice or collide with the restored copy.  Such triggers are declared
 * WHEN (NOT stockking.restoring()).
 *
 * The application never loads its tables with a COPY statement (the market
 * data loader and the ledger import insert through SPI), so "the statement
 * being run is a COPY" is exactly "rows are arriving as they were dumped".
 */
#include "stockking.h"

#include "fmgr.h"
#include "tcop/pquery.h"

PG_FUNCTION_INFO_V1(stockking_restoring);

/*
 * True while the top-level statement of this backend is a COPY (the portal
 * that runs it carries its command tag): the rows a trigger sees are being
 * loaded as they are, from a dump or a bulk load.
 */
bool
sk_restoring(void)
{
	return ActivePortal != NULL && ActivePortal->commandTag == CMDTAG_COPY;
}

/* stockking.restoring() RETURNS boolean: see sk_restoring() */
Datum
stockking_restoring(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(sk_restoring());
}
