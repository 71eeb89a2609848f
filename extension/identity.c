/*
 * identity.c
 *	  The request identity and the row-level-security predicates, in C.
 *
 * Who is calling.  The identity of a call is a user id and a role (CHILD,
 * PARENT, ADMIN), resolved once per transaction from one of three sources,
 * first match wins:
 *
 *	 1. An "acting as" entry pushed by the extension's own code (sk_act_as):
 *		a parent's read of a child's portfolio runs the child's read function
 *		as the child; an approved trade request is placed as the child.  Only
 *		code running as the extension's roles can push one (the SQL function
 *		stockking.act_as is granted to stockking_definer alone), and entries
 *		die with the (sub)transaction that pushed them.
 *
 *	 2. A trusted session -- its outer role (the role after SET ROLE) is a
 *		superuser or has the privileges of stockking_service (operators' tools,
 *		batch jobs, pg_cron, the test suites) -- states the identity in the
 *		transaction-local settings request.user_id and request.role.
 *
 *	 3. Any other session (the proxy's role, stockking_web) must send the
 *		caller's access token in request.jwt: an HS256 JWT that the database
 *		verifies itself, with the secrets in the files named by
 *		stockking.jwt_secret_files, and whose "sub" and "role" claims are the
 *		identity.  Such a session cannot assert an identity, ADMIN least of
 *		all: request.user_id and request.role are ignored there.  A backend
 *		keeps the tokens it verified (token_cache), so a pooled connection
 *		computes each user's HMAC once.
 *
 * Every family-owned table's policies call stockking.can_read(family_id,
 * user_id) or can_write(user_id) once per row; here they cost a comparison
 * with the resolved identity and, for parents, one index probe of the users
 * table per statement: the caller's family is read with the statement's
 * snapshot and kept while the snapshot is the same, so a family changed by
 * the transaction itself (a merge) or committed meanwhile is seen at once.
 */
#include "stockking.h"

#include <sys/stat.h>

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "common/base64.h"
#include "common/hashfn.h"
#include "common/hmac.h"
#include "common/sha2.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "storage/proc.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

PG_FUNCTION_INFO_V1(stockking_uid);
PG_FUNCTION_INFO_V1(stockking_is_admin);
PG_FUNCTION_INFO_V1(stockking_is_parent);
PG_FUNCTION_INFO_V1(stockking_my_family);
PG_FUNCTION_INFO_V1(stockking_can_read);
PG_FUNCTION_INFO_V1(stockking_can_write);
PG_FUNCTION_INFO_V1(stockking_request_role);
PG_FUNCTION_INFO_V1(stockking_act_as);
PG_FUNCTION_INFO_V1(stockking_act_done);

/* the role whose members may state an identity in request.user_id */
#define SERVICE_ROLE "stockking_service"

/* seconds a token stays acceptable past its "exp": the proxy is the timekeeper */
#define JWT_LEEWAY_SECS 60
#define JWT_MAX_LEN 4096
#define JWT_SECRET_MIN 32
#define JWT_SECRET_MAX 4096
#define MAX_KEYS 4
#define MAX_ACTING 8

typedef struct sk_identity
{
	bool		known;			/* a user; false: anonymous */
	pg_uuid_t	user;
	char		user_text[UUID_LEN * 2 + 5];
	char		role[8];		/* CHILD, PARENT, ADMIN; "" when anonymous */
} sk_identity;

/* stockking.jwt_secret_files: comma-separated paths of HS256 secrets */
static char *jwt_secret_files = NULL;

/* the secrets read from those files, re-read when a file changes */
typedef struct sk_key
{
	char	   *path;
	struct stat st;
	uint8	   *secret;
	size_t		len;
} sk_key;
static sk_key keys[MAX_KEYS];
static int	num_keys = 0;
static char *keys_source = NULL;	/* the setting the keys were read for */
static TimestampTz keys_checked_at = 0;	/* when the files were last looked at */
static uint64 keys_generation = 0;	/* changes whenever a secret does */

/*
 * Tokens verified in this backend: a pooled connection sees the same few
 * users' tokens over and over, and an HMAC with OpenSSL costs more than the
 * rest of the check.  A token is found by its exact text; an entry serves
 * only while the secrets it was verified with are unchanged, and its exp is
 * checked at every use.
 */
#define TOKEN_CACHE_SIZE 64
typedef struct sk_token_entry
{
	char	   *token;			/* NULL: empty */
	uint64		generation;
	int64		exp;			/* seconds since the epoch */
	sk_identity identity;
} sk_token_entry;
static sk_token_entry token_cache[TOKEN_CACHE_SIZE];

/* "acting as" entries, innermost last */
static struct
{
	sk_identity identity;
	SubTransactionId subid;
}			acting[MAX_ACTING];
static int	num_acting = 0;

/* the identity resolved from settings, for the transaction and the settings it was read from */
static LocalTransactionId resolved_lxid = InvalidLocalTransactionId;
static bool resolved_trusted;
static char resolved_a[JWT_MAX_LEN + 1];	/* the token, or (trusted) the user id */
static char resolved_b[16];		/* (trusted) the role */
static sk_identity resolved;

static void
acting_xact_callback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT ||
		event == XACT_EVENT_PARALLEL_COMMIT || event == XACT_EVENT_PARALLEL_ABORT ||
		event == XACT_EVENT_PREPARE)
		num_acting = 0;
}

static void
acting_subxact_callback(SubXactEvent event, SubTransactionId mySubid, SubTransactionId parentSubid, void *arg)
{
	if (event == SUBXACT_EVENT_ABORT_SUB)
		while (num_acting > 0 && acting[num_acting - 1].subid >= mySubid)
			num_acting--;
}

/*
 * Module initialisation (called from _PG_init): the setting naming the
 * token secrets, and the callbacks that end "acting as" entries with their
 * transaction.
 */
void
sk_identity_init(void)
{
	DefineCustomStringVariable("stockking.jwt_secret_files",
							   "Files holding the HS256 secrets that verify request.jwt (comma-separated; the proxy's current and previous secret).",
							   "Sessions that are not trusted (superuser or stockking_service) prove their caller with a token signed by one of these secrets.",
							   &jwt_secret_files,
							   "",
							   PGC_SIGHUP,
							   GUC_SUPERUSER_ONLY,
							   NULL, NULL, NULL);
	RegisterXactCallback(acting_xact_callback, NULL);
	RegisterSubXactCallback(acting_subxact_callback, NULL);
}

/*
 * The outer role (after SET ROLE, before any SECURITY DEFINER switch) may
 * state identities; the answer is kept for the transaction and that role.
 */
static bool
session_trusted(void)
{
	static LocalTransactionId lxid = InvalidLocalTransactionId;
	static Oid	role = InvalidOid;
	static bool trusted;
	Oid			outer = GetOuterUserId();

	if (lxid != MyProc->lxid || role != outer)
	{
		Oid			service = get_role_oid(SERVICE_ROLE, true);

		trusted = superuser_arg(outer) || (OidIsValid(service) && has_privs_of_role(outer, service));
		role = outer;
		lxid = MyProc->lxid;
	}
	return trusted;
}

static void
identity_set(sk_identity *id, const char *user_text, const char *role)
{
	Datum		d = DirectFunctionCall1(uuid_in, CStringGetDatum(user_text));

	memset(id, 0, sizeof(*id));
	memcpy(&id->user, DatumGetUUIDP(d), sizeof(pg_uuid_t));
	strlcpy(id->user_text, DatumGetCString(DirectFunctionCall1(uuid_out, d)), sizeof(id->user_text));
	strlcpy(id->role, role, sizeof(id->role));
	id->known = true;
}

static void
check_role(const char *role, const char *source)
{
	if (strcmp(role, "CHILD") != 0 && strcmp(role, "PARENT") != 0 && strcmp(role, "ADMIN") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
				 errmsg("%s must be CHILD, PARENT or ADMIN", source)));
}

/* Token secrets */

static void
forget_keys(void)
{
	for (int i = 0; i < num_keys; i++)
	{
		if (keys[i].secret)
		{
			explicit_bzero(keys[i].secret, keys[i].len);
			pfree(keys[i].secret);
		}
		pfree(keys[i].path);
	}
	num_keys = 0;
}

static void
read_key(sk_key *key)
{
	FILE	   *f = AllocateFile(key->path, "rb");
	uint8		buf[JWT_SECRET_MAX + 1];
	size_t		len;

	if (f == NULL)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open the token secret file \"%s\": %m", key->path),
				 errhint("Check stockking.jwt_secret_files.")));
	len = fread(buf, 1, sizeof(buf), f);
	FreeFile(f);
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	if (len < JWT_SECRET_MIN || len > JWT_SECRET_MAX)
	{
		explicit_bzero(buf, sizeof(buf));
		ereport(ERROR,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("the token secret file \"%s\" must hold %d to %d bytes", key->path, JWT_SECRET_MIN, JWT_SECRET_MAX)));
	}
	key->secret = MemoryContextAlloc(TopMemoryContext, len);
	memcpy(key->secret, buf, len);
	key->len = len;
	explicit_bzero(buf, sizeof(buf));
}

/*
 * The secrets of stockking.jwt_secret_files, read when the setting changes
 * and, once per transaction, again for any file whose inode, size or
 * modification time changed (a secret rotated in place).
 */
static void
load_keys(void)
{
	const char *setting = jwt_secret_files ? jwt_secret_files : "";
	TimestampTz now;

	if (keys_source == NULL || strcmp(keys_source, setting) != 0)
	{
		char	   *copy = pstrdup(setting);
		char	   *save = NULL;

		forget_keys();
		if (keys_source)
			pfree(keys_source);
		keys_source = MemoryContextStrdup(TopMemoryContext, setting);
		for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		{
			char	   *end;

			while (*tok == ' ')
				tok++;
			end = tok + strlen(tok);
			while (end > tok && end[-1] == ' ')
				*--end = '\0';
			if (*tok == '\0')
				continue;
			if (num_keys == MAX_KEYS)
				ereport(ERROR,
						(errcode(ERRCODE_CONFIG_FILE_ERROR),
						 errmsg("stockking.jwt_secret_files names more than %d files", MAX_KEYS)));
			memset(&keys[num_keys], 0, sizeof(sk_key));
			keys[num_keys].path = MemoryContextStrdup(TopMemoryContext, tok);
			num_keys++;
		}
		keys_checked_at = 0;
		keys_generation++;
	}
	/* at most once a second: a rotated secret is seen within one */
	now = GetCurrentTransactionStartTimestamp();
	if (keys_checked_at != 0 && now >= keys_checked_at && now - keys_checked_at < USECS_PER_SEC)
		return;
	for (int i = 0; i < num_keys; i++)
	{
		struct stat st;

		if (stat(keys[i].path, &st) != 0)
		{
			/* a previous secret removed after its grace period */
			if (errno != ENOENT)
				ereport(ERROR,
						(errcode_for_file_access(),
						 errmsg("could not stat the token secret file \"%s\": %m", keys[i].path),
						 errhint("Check stockking.jwt_secret_files.")));
			if (keys[i].secret)
			{
				explicit_bzero(keys[i].secret, keys[i].len);
				pfree(keys[i].secret);
				keys[i].secret = NULL;
				keys_generation++;
			}
			continue;
		}
		if (keys[i].secret == NULL || st.st_ino != keys[i].st.st_ino || st.st_size != keys[i].st.st_size ||
			st.st_mtime != keys[i].st.st_mtime)
		{
			if (keys[i].secret)
			{
				explicit_bzero(keys[i].secret, keys[i].len);
				pfree(keys[i].secret);
				keys[i].secret = NULL;
			}
			read_key(&keys[i]);
			keys[i].st = st;
			keys_generation++;
		}
	}
	keys_checked_at = now;
}

/* Tokens */

static void
bad_token(const char *why)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
			 errmsg("the request's access token is not valid"),
			 errdetail("%s", why)));
}

/* base64url (RFC 4648 section 5, no padding) to bytes; returns the length, -1 when malformed */
static int
b64url_decode(const char *src, int len, char *dst, int dstlen)
{
	char	   *std = palloc(len + 4);
	int			n;

	for (int i = 0; i < len; i++)
	{
		char		c = src[i];

		if (c == '-')
			c = '+';
		else if (c == '_')
			c = '/';
		else if (c == '+' || c == '/' || c == '=')
			return -1;
		std[i] = c;
	}
	n = len;
	while (n % 4 != 0)
		std[n++] = '=';
	if (dstlen < pg_b64_dec_len(n))
		return -1;
	n = pg_b64_decode(std, n, dst, dstlen);
	pfree(std);
	return n;
}

/* a member of a JSON object as a string, NULL when absent or not a string */
static char *
jsonb_string(Jsonb *obj, const char *key)
{
	JsonbValue *v = getKeyJsonValueFromContainer(&obj->root, key, strlen(key), NULL);

	if (v == NULL || v->type != jbvString)
		return NULL;
	return pnstrdup(v->val.string.val, v->val.string.len);
}

static Jsonb *
decode_json_part(const char *part, int len, const char *what)
{
	char	   *json = palloc(len + 4);
	int			n = b64url_decode(part, len, json, len + 4);
	Jsonb	   *obj;

	if (n < 0)
		bad_token(psprintf("The %s is not base64url.", what));
	json[n] = '\0';
	obj = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(json)));
	if (!JB_ROOT_IS_OBJECT(obj))
		bad_token(psprintf("The %s is not a JSON object.", what));
	return obj;
}

/* HMAC-SHA256 of the signed part with the key equals sig (compared in constant time) */
static bool
signature_matches(const sk_key *key, const char *signed_part, size_t len, const uint8 *sig)
{
	pg_hmac_ctx *ctx = pg_hmac_create(PG_SHA256);
	uint8		mac[PG_SHA256_DIGEST_LENGTH];
	uint8		diff = 0;

	if (ctx == NULL || pg_hmac_init(ctx, key->secret, key->len) < 0 ||
		pg_hmac_update(ctx, (const uint8 *) signed_part, len) < 0 ||
		pg_hmac_final(ctx, mac, sizeof(mac)) < 0)
		elog(ERROR, "could not compute HMAC-SHA256: %s", ctx ? pg_hmac_error(ctx) : "out of memory");
	pg_hmac_free(ctx);
	for (int j = 0; j < PG_SHA256_DIGEST_LENGTH; j++)
		diff |= mac[j] ^ sig[j];
	return diff == 0;
}

/*
 * Check a compact HS256 JWS as the proxy signs it (proxy/jwt.c): header
 * {"alg":"HS256"}, a signature by one of the configured secrets, claims
 * iss "stockking", exp not past (with JWT_LEEWAY_SECS), sub a uuid and role
 * one of the three.  Fills *id and returns exp; raises 28000 otherwise.
 */
static int64
check_token(const char *token, int64 now_secs, sk_identity *id)
{
	size_t		len = strlen(token);
	const char *dot1 = strchr(token, '.');
	const char *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
	Jsonb	   *header;
	Jsonb	   *claims;
	char	   *alg;
	char	   *iss;
	char	   *sub;
	char	   *role;
	JsonbValue *exp;
	uint8		sig[PG_SHA256_DIGEST_LENGTH + 4];
	int			siglen;
	bool		verified = false;
	int			found;
	int64		exp_secs;

	if (len > JWT_MAX_LEN || dot1 == NULL || dot2 == NULL || strchr(dot2 + 1, '.') != NULL)
		bad_token("It is not a compact JWS of three parts.");
	for (found = 0; found < num_keys && keys[found].secret == NULL; found++)
		;
	if (found == num_keys)
		ereport(ERROR,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("no secret to verify request.jwt with"),
				 errhint("Set stockking.jwt_secret_files to the proxy's secret file(s).")));

	siglen = b64url_decode(dot2 + 1, token + len - (dot2 + 1), (char *) sig, sizeof(sig));
	if (siglen != PG_SHA256_DIGEST_LENGTH)
		bad_token("The signature is not an HMAC-SHA256.");
	for (int i = 0; i < num_keys && !verified; i++)
		verified = keys[i].secret != NULL && signature_matches(&keys[i], token, dot2 - token, sig);
	if (!verified)
		bad_token("The signature does not verify with the configured secrets.");

	header = decode_json_part(token, dot1 - token, "header");
	alg = jsonb_string(header, "alg");
	if (alg == NULL || strcmp(alg, "HS256") != 0)
		bad_token("The algorithm is not HS256.");
	claims = decode_json_part(dot1 + 1, dot2 - (dot1 + 1), "claims part");
	iss = jsonb_string(claims, "iss");
	sub = jsonb_string(claims, "sub");
	role = jsonb_string(claims, "role");
	exp = getKeyJsonValueFromContainer(&claims->root, "exp", 3, NULL);
	if (iss == NULL || strcmp(iss, "stockking") != 0)
		bad_token("The issuer is not \"stockking\".");
	if (exp == NULL || exp->type != jbvNumeric)
		bad_token("The claim \"exp\" is missing.");
	if (DatumGetBool(DirectFunctionCall2(numeric_lt, NumericGetDatum(exp->val.numeric),
										 DirectFunctionCall1(int8_numeric, Int64GetDatum(now_secs - JWT_LEEWAY_SECS)))))
		bad_token("The token has expired.");
	/* far enough in the future to need no more than 64 bits is all that matters */
	exp_secs = DatumGetBool(DirectFunctionCall2(numeric_gt, NumericGetDatum(exp->val.numeric),
												DirectFunctionCall1(int8_numeric, Int64GetDatum(PG_INT32_MAX))))
		? PG_INT32_MAX
		: DatumGetInt64(DirectFunctionCall1(numeric_int8, NumericGetDatum(exp->val.numeric)));
	if (sub == NULL || role == NULL)
		bad_token("The claims \"sub\" and \"role\" are required.");
	check_role(role, "the token's role");
	identity_set(id, sub, role);
	return exp_secs;
}

/*
 * Verify a token (check_token), through the backend's cache of tokens
 * verified with the current secrets.  Fills *id; raises 28000 otherwise.
 */
static void
verify_token(const char *token, sk_identity *id)
{
	int64		now_secs = (int64) timestamptz_to_time_t(GetCurrentTransactionStartTimestamp());
	sk_token_entry *e;
	int64		exp;

	load_keys();
	e = &token_cache[hash_bytes((const unsigned char *) token, strlen(token)) % TOKEN_CACHE_SIZE];
	if (e->token != NULL && e->generation == keys_generation && strcmp(e->token, token) == 0)
	{
		if (e->exp < now_secs - JWT_LEEWAY_SECS)
			bad_token("The token has expired.");
		*id = e->identity;
		return;
	}
	exp = check_token(token, now_secs, id);
	if (e->token != NULL)
		pfree(e->token);
	e->token = MemoryContextStrdup(TopMemoryContext, token);
	e->generation = keys_generation;
	e->exp = exp;
	e->identity = *id;
}

/*
 * The identity of the call (see the file's comment).  The result lives
 * until the settings change or the transaction ends.  The row-level-security
 * predicates ask for it once per row, so the settings are compared in place
 * with the ones it was resolved from: no copy, no allocation.
 */
static const sk_identity *
current_identity(void)
{
	static const sk_identity anonymous = {false};
	const char *a;
	const char *b;
	bool		trusted;

	if (num_acting > 0)
		return &acting[num_acting - 1].identity;

	trusted = session_trusted();
	if (trusted)
	{
		a = GetConfigOption("request.user_id", true, false);
		b = GetConfigOption("request.role", true, false);
	}
	else
	{
		a = GetConfigOption("request.jwt", true, false);
		b = NULL;
	}
	a = a ? a : "";
	b = b ? b : "";
	if (resolved_lxid == MyProc->lxid && resolved_trusted == trusted &&
		strcmp(resolved_a, a) == 0 && strcmp(resolved_b, b) == 0)
		return resolved.known ? &resolved : &anonymous;

	resolved_lxid = InvalidLocalTransactionId;
	memset(&resolved, 0, sizeof(resolved));
	if (trusted)
	{
		if (a[0] != '\0')
		{
			if (b[0] != '\0')
				check_role(b, "request.role");
			identity_set(&resolved, a, b);
		}
	}
	else if (a[0] != '\0')
		verify_token(a, &resolved);

	/* settings too long to keep are resolved again at each call (a token that long does not verify) */
	if (strlen(a) < sizeof(resolved_a) && strlen(b) < sizeof(resolved_b))
	{
		strcpy(resolved_a, a);
		strcpy(resolved_b, b);
		resolved_trusted = trusted;
		resolved_lxid = MyProc->lxid;
	}
	return resolved.known ? &resolved : &anonymous;
}

/* the caller's user id, or false when anonymous */
static bool
current_uid(pg_uuid_t *out)
{
	const sk_identity *id = current_identity();

	if (!id->known)
		return false;
	*out = id->user;
	return true;
}

static bool
role_is(const char *role)
{
	return strcmp(current_identity()->role, role) == 0;
}

/*
 * The caller's family, read from stockking.users through its primary key
 * (past row-level security: the policies themselves ask for it) with the
 * active snapshot, kept while the user and the snapshot's view stay the
 * same: a new statement, a command of the transaction itself (a family
 * merge) or a transaction ending meanwhile reads it again.
 */
static bool
current_family(pg_uuid_t *out)
{
	static LocalTransactionId cached_lxid = InvalidLocalTransactionId;
	static pg_uuid_t cached_user;
	static TransactionId cached_xmin;
	static TransactionId cached_xmax;
	static uint32 cached_xcnt;
	static CommandId cached_cid;
	static pg_uuid_t cached_family;
	static bool cached_found;
	pg_uuid_t	uid;
	Snapshot	snapshot;
	Oid			nsp;
	Oid			relid;
	Relation	rel;
	SysScanDesc scan;
	ScanKeyData key;
	HeapTuple	tuple;

	if (!current_uid(&uid))
		return false;
	snapshot = ActiveSnapshotSet() ? GetActiveSnapshot() : GetTransactionSnapshot();
	if (cached_lxid == MyProc->lxid && memcmp(&cached_user, &uid, sizeof(uid)) == 0 &&
		cached_xmin == snapshot->xmin && cached_xmax == snapshot->xmax && cached_xcnt == snapshot->xcnt &&
		cached_cid == snapshot->curcid)
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
	scan = systable_beginscan(rel, get_relname_relid("users_pkey", nsp), true, snapshot, 1, &key);
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
	cached_xmin = snapshot->xmin;
	cached_xmax = snapshot->xmax;
	cached_xcnt = snapshot->xcnt;
	cached_cid = snapshot->curcid;
	cached_lxid = MyProc->lxid;
	if (cached_found)
		*out = cached_family;
	return cached_found;
}

const char *
sk_current_user(void)
{
	const sk_identity *id = current_identity();

	return id->known ? id->user_text : NULL;
}

const char *
sk_require_user(void)
{
	const sk_identity *id = current_identity();

	if (!id->known)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
				 errmsg("authentication required"),
				 errhint("Send a bearer token through the proxy (request.jwt); a trusted session may set request.user_id.")));
	return id->user_text;
}

bool
sk_is_admin(void)
{
	if (role_is("ADMIN"))
		return true;
	/* a superuser session (operators in psql, pg_cron jobs), unless the extension acts for a user */
	return num_acting == 0 && superuser_arg(GetOuterUserId());
}

const char *
sk_request_role(void)
{
	return current_identity()->role;
}

void
sk_act_as(const char *user_id, const char *role)
{
	if (num_acting == MAX_ACTING)
		elog(ERROR, "acting-as entries nested more than %d deep", MAX_ACTING);
	check_role(role, "the role to act as");
	identity_set(&acting[num_acting].identity, user_id, role);
	acting[num_acting].subid = GetCurrentSubTransactionId();
	num_acting++;
}

void
sk_act_done(void)
{
	if (num_acting == 0)
		elog(ERROR, "no acting-as entry to end");
	num_acting--;
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

/* stockking.request_role() RETURNS text: CHILD, PARENT, ADMIN, NULL when anonymous */
Datum
stockking_request_role(PG_FUNCTION_ARGS)
{
	const sk_identity *id = current_identity();

	if (!id->known || id->role[0] == '\0')
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(id->role));
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

/* stockking.act_as(user_id uuid, role text) RETURNS void: see sk_act_as() */
Datum
stockking_act_as(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("act_as needs a user and a role")));
	sk_act_as(DatumGetCString(DirectFunctionCall1(uuid_out, PG_GETARG_DATUM(0))), text_to_cstring(PG_GETARG_TEXT_PP(1)));
	PG_RETURN_VOID();
}

/* stockking.act_done() RETURNS void: see sk_act_done() */
Datum
stockking_act_done(PG_FUNCTION_ARGS)
{
	sk_act_done();
	PG_RETURN_VOID();
}
