-- Bench fixtures in the running database (idempotent): a replay season with
-- room for unbounded buying, and :clients children with fixed ids whose
-- accounts hold cash in it.  The ids are 00000000-0000-4000-8000-<n> so that
-- pgbench can name a client's user without a lookup.
SET client_min_messages = warning;
-- the direct side's role: a trusted SQL client (it states the caller in
-- request.user_id), which may execute the api and nothing else
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'stockking_bench') THEN
        CREATE ROLE stockking_bench LOGIN IN ROLE stockking_api, stockking_service;
    END IF;
END
$$;
DO $$
DECLARE
    s integer := (SELECT id FROM stockking.season WHERE code = 'BENCH');
BEGIN
    IF s IS NULL THEN
        s := stockking.create_season('BENCH', 'Benchmark (replay, unlimited cash)', 'REPLAY', 'USD',
                                     1000000000000000, 'SP500', DATE '2007-10-01');
    END IF;
END
$$;
INSERT INTO stockking.family (id)
SELECT ('00000000-0000-4000-8000-' || lpad(n::text, 12, '0'))::uuid FROM generate_series(0, :clients - 1) n
ON CONFLICT DO NOTHING;
INSERT INTO stockking.users (id, family_id, email, password_hash, role, nickname)
SELECT ('00000000-0000-4000-8000-' || lpad(n::text, 12, '0'))::uuid, ('00000000-0000-4000-8000-' || lpad(n::text, 12, '0'))::uuid,
       'bench-' || n || '@example.com', stockking.hash_password('bench password'), 'CHILD', 'bench' || n
  FROM generate_series(0, :clients - 1) n
ON CONFLICT DO NOTHING;
SELECT count(stockking.open_account(u.id, s.id))
  FROM stockking.users u, stockking.season s
 WHERE s.code = 'BENCH' AND u.email LIKE 'bench-%@example.com'
   AND NOT EXISTS (SELECT 1 FROM stockking.account a WHERE a.user_id = u.id AND a.season_id = s.id);
SELECT id AS bench_season FROM stockking.season WHERE code = 'BENCH' \gset
\echo :bench_season
