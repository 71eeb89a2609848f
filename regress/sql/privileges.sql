-- Least privilege: what runs past row-level security and as whom, what the
-- proxy's role can reach, the append-only guard and its one exemption, and
-- that every table is either saved by pg_dump or is the extension's content.
SET client_min_messages = warning;
SELECT current_database() AS regress_db \gset
DROP DATABASE IF EXISTS regress_sk_privileges;
CREATE DATABASE regress_sk_privileges;
\c regress_sk_privileges
SET client_min_messages = warning;
CREATE EXTENSION pgcrypto;
CREATE EXTENSION stockking;

CREATE FUNCTION public.try(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;
GRANT EXECUTE ON FUNCTION public.try(text) TO PUBLIC;
DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'regress_priv_web') THEN
        CREATE ROLE regress_priv_web LOGIN IN ROLE stockking_api;
    END IF;
END $$;

CREATE VIEW extension_functions AS
    SELECT p.oid, p.oid::regprocedure AS fn, p.proowner::regrole AS owner, p.prosecdef
      FROM pg_proc p
      JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
      JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'stockking';

-- 1. No SECURITY DEFINER function is owned by a superuser; the roles that
--    own them are neither superusers nor table owners.
SELECT owner, count(*) AS security_definer_functions FROM extension_functions WHERE prosecdef GROUP BY 1 ORDER BY 1;
SELECT count(*) AS owned_by_a_superuser FROM extension_functions f JOIN pg_roles r ON r.oid = f.owner
 WHERE f.prosecdef AND r.rolsuper;
SELECT rolname, rolsuper, rolbypassrls, rolcanlogin, rolcreaterole, rolcreatedb, rolinherit
  FROM pg_roles WHERE rolname IN ('stockking_api', 'stockking_definer', 'stockking_system', 'stockking_service') ORDER BY 1;
SELECT relname, relkind, relowner::regrole AS owner FROM pg_class
 WHERE relowner IN ('stockking_definer'::regrole, 'stockking_system'::regrole, 'stockking_api'::regrole) ORDER BY 1;
-- what stockking_system owns, and every privilege it holds: the whole of what
-- runs past row-level security
SELECT fn FROM extension_functions WHERE owner = 'stockking_system'::regrole ORDER BY fn::text;
SELECT table_name, string_agg(privilege_type, ', ' ORDER BY privilege_type) AS table_privileges
  FROM information_schema.role_table_grants WHERE grantee = 'stockking_system' AND grantor <> grantee GROUP BY 1 ORDER BY 1;
SELECT table_name, string_agg(column_name || ':' || privilege_type, ', ' ORDER BY column_name, privilege_type) AS column_privileges
  FROM information_schema.column_privileges c
 WHERE grantee = 'stockking_system'
   AND NOT EXISTS (SELECT 1 FROM information_schema.role_table_grants t WHERE t.grantee = c.grantee
                      AND t.table_name = c.table_name AND t.privilege_type = c.privilege_type)
 GROUP BY 1 ORDER BY 1;

-- 2. The proxy's role executes the api and reaches nothing else.
SET SESSION AUTHORIZATION regress_priv_web;
SELECT try('SELECT count(*) FROM stockking.users') AS read_users;
SELECT try('SELECT stockking.emit_event(gen_random_uuid(), gen_random_uuid(), ''USER'', ''x'', ''{}'')') AS emit_event;
SELECT try('SET session_replication_role = replica') AS replica;
SELECT count(*) > 0 AS routes_readable FROM api.route_table();
RESET SESSION AUTHORIZATION;

-- 3. The cash ledger is append-only for everyone, the superuser too; a
--    family merge is the one change let through (regress/sql/family.sql
--    merges families with cash-ledger rows).
SELECT (api.signup('{"email": "kid@example.com", "password": "correct horse", "role": "CHILD", "nickname": "kid"}') ->> 'id') AS kid \gset
SELECT try('UPDATE stockking.cash_ledger SET amount = amount + 1') AS update_amount;
SELECT try('UPDATE stockking.cash_ledger SET family_id = gen_random_uuid()') AS update_family_outside_a_merge;
SELECT try('DELETE FROM stockking.cash_ledger') AS delete;
SELECT count(*) AS ledger_rows FROM stockking.cash_ledger;

-- 4. A family merge moves the tables it lists and no other: every table of
--    the schema with a family_id is in the list (a new table must be added).
SELECT c.relname AS family_table_not_moved_by_a_merge
  FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'family_id' AND NOT a.attisdropped
 WHERE c.relnamespace = 'stockking'::regnamespace AND c.relkind IN ('r', 'p')
EXCEPT SELECT stockking.family_tables() ORDER BY 1;
SELECT t AS listed_but_missing FROM stockking.family_tables() t WHERE to_regclass('stockking.' || t) IS NULL;

-- 5. pg_dump saves every table but the extension's own content.
SELECT c.relname AS table_pg_dump_would_lose
  FROM pg_class c
 WHERE c.relnamespace = 'stockking'::regnamespace AND c.relkind = 'r'
   AND c.oid <> ALL ((SELECT extconfig FROM pg_extension WHERE extname = 'stockking')::oid[])
   AND c.relname NOT IN ('error_code', 'route', 'market', 'tick_band', 'badge', 'mission')
 ORDER BY 1;
SELECT c.relname AS sequence_pg_dump_would_reset
  FROM pg_class c
 WHERE c.relnamespace = 'stockking'::regnamespace AND c.relkind = 'S'
   AND c.oid <> ALL ((SELECT extconfig FROM pg_extension WHERE extname = 'stockking')::oid[])
   AND NOT EXISTS (SELECT 1 FROM pg_depend d JOIN pg_class t ON t.oid = d.refobjid
                    WHERE d.objid = c.oid AND d.deptype = 'i'
                      AND t.relname IN ('error_code', 'route', 'market', 'tick_band', 'badge', 'mission'))
 ORDER BY 1;
-- the triggers that derive rows skip a restore's COPY; seeded rows are overwritten by restored ones
SELECT c.relname, t.tgname, substring(pg_get_triggerdef(t.oid) FROM 'WHEN \((.*)\) EXECUTE') AS fires_when
  FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
 WHERE c.relnamespace = 'stockking'::regnamespace AND NOT t.tgisinternal
 ORDER BY 1, 2;

\c :regress_db
DROP DATABASE regress_sk_privileges;
