/*
 * identity.c
 *	  The request identity and the row-level-security predicates, in C.
 *
 * Every family-owned table's policies call stockking.can_read(family_id,
 * user_id) or can_write(user_id) once per row.  As SQL functions they could
 * not be inlined (they hold sub-selects) and were parsed again on every
 * call; here they cost a settings lookup and, for parents, one index probe
 * of the users table per transaction.
 *
 * Identity comes from transaction-local settings the proxy (or a SQL client
 * acting for a user) sets: request.user_id (uuid), request.role (CHILD,
 * PARENT, ADMIN).  A superuser session counts as ADMIN.
 */
#include "stockking.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/proc.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/uuid.h"

PG_FUNCTION_INFO_V1(stockking_uid);
PG_FUNCTION_INFO_V1(stockking_is_admin);
PG_FUNCTION_INFO_V1(stockking_is_parent);
PG_FUNCTION_INFO_V1(stockking_my_family);
PG_FUNCTION_INFO_V1(stockking_can_read);
PG_FUNCTION_INFO_V1(stockking_can_write);

/* the caller's user id, or false when anonymous */
static bool
current_uid(pg_uuid_t *out)
{
	const char *text = GetConfigOption("request.user_id", true, false);
	Datum		d;

	if (text == NULL || text[0] == '\0')
		return false;
	d = DirectFunctionCall1(uuid_in, CStringGetDatum(text));
	memcpy(out, DatumGetUUIDP(d), sizeof(pg_uuid_t));
	return true;
}

static bool
role_is(const char *role)
{
	const char *r = GetConfigOption("request.role", true, false);

	return r != NULL && strcmp(r, role) == 0;
}

/*
 * The caller's family, read from stockking.users through its primary key
 * (past row-level security: the policies themselves ask for it), cached for
 * the rest of the transaction.
 */
static bool
current_family(pg_uuid_t *out)
{
	static LocalTransactionId cached_lxid = InvalidLocalTransactionId;
	static pg_uuid_t cached_user;
	static pg_uuid_t cached_family;
	static bool cached_found;
	pg_uuid_t	uid;
	Oid			nsp;
	Oid			relid;
	Relation	rel;
	SysScanDesc scan;
	ScanKeyData key;
	HeapTuple	tuple;

	if (!current_uid(&uid))
		return false;
	if (cached_lxid == MyProc->lxid && memcmp(&cached_user, &uid, sizeof(uid)) == 0)
	{
		if (cached_found)
			*out = cached_family;
		return cached_found;
	}

	nsp = get_namespace_oid("stockking", false);
	relid = get_relname_relid("users", nsp);
	if (!OidIsValid(relid))
		elog(ERROR, "table stockking.users is missing");
	rel = table_open(relid, AccessShareLock);
	ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_UUID_EQ, UUIDPGetDatum(&uid));
	scan = systable_beginscan(rel, get_relname_relid("users_pkey", nsp), true, NULL, 1, &key);
	tuple = systable_getnext(scan);
	cached_found = false;
	if (HeapTupleIsValid(tuple))
	{
		bool		isnull;
		Datum		d = heap_getattr(tuple, 2, RelationGetDescr(rel), &isnull);

		if (!isnull)
		{
			memcpy(&cached_family, DatumGetUUIDP(d), sizeof(pg_uuid_t));
			cached_found = true;
		}
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	cached_user = uid;
	cached_lxid = MyProc->lxid;
	if (cached_found)
		*out = cached_family;
	return cached_found;
}

static Datum
uuid_datum(const pg_uuid_t *u)
{
	pg_uuid_t  *copy = palloc(sizeof(pg_uuid_t));

	memcpy(copy, u, sizeof(pg_uuid_t));
	return UUIDPGetDatum(copy);
}

/* stockking.uid() RETURNS uuid: the caller, NULL when anonymous */
Datum
stockking_uid(PG_FUNCTION_ARGS)
{
	pg_uuid_t	uid;

	if (!current_uid(&uid))
		PG_RETURN_NULL();
	PG_RETURN_DATUM(uuid_datum(&uid));
}

/* stockking.is_admin() RETURNS boolean: an ADMIN user or a superuser session */
Datum
stockking_is_admin(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(sk_is_admin());
}

/* stockking.is_parent() RETURNS boolean: the caller is a PARENT */
Datum
stockking_is_parent(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(role_is("PARENT"));
}

/* stockking.my_family() RETURNS uuid: the caller's family, NULL when anonymous */
Datum
stockking_my_family(PG_FUNCTION_ARGS)
{
	pg_uuid_t	family;

	if (!current_family(&family))
		PG_RETURN_NULL();
	PG_RETURN_DATUM(uuid_datum(&family));
}

/*
 * stockking.can_read(row_family uuid, row_user uuid) RETURNS boolean: the
 * row's user, ADMIN, or a PARENT of the row's family may read it.
 */
Datum
stockking_can_read(PG_FUNCTION_ARGS)
{
	pg_uuid_t	uid;
	pg_uuid_t	family;

	if (!PG_ARGISNULL(1) && current_uid(&uid) &&
		memcmp(&uid, PG_GETARG_UUID_P(1), sizeof(uid)) == 0)
		PG_RETURN_BOOL(true);
	if (sk_is_admin())
		PG_RETURN_BOOL(true);
	if (!PG_ARGISNULL(0) && role_is("PARENT") && current_family(&family) &&
		memcmp(&family, PG_GETARG_UUID_P(0), sizeof(family)) == 0)
		PG_RETURN_BOOL(true);
	PG_RETURN_BOOL(false);
}

/* stockking.can_write(row_user uuid) RETURNS boolean: the row's user or ADMIN */
Datum
stockking_can_write(PG_FUNCTION_ARGS)
{
	pg_uuid_t	uid;

	if (!PG_ARGISNULL(0) && current_uid(&uid) &&
		memcmp(&uid, PG_GETARG_UUID_P(0), sizeof(uid)) == 0)
		PG_RETURN_BOOL(true);
	PG_RETURN_BOOL(sk_is_admin());
}
