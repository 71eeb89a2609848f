-- Ledger summaries and budgets: the monthly summary per user, kind and
-- category follows every insert, update and delete in the same
-- transaction; entries page by keyset; parents read their children's
-- ledgers; monthly category budgets send an event at 80% and at 100%, once
-- each per month.  Entries are today's (Asia/Seoul); months are masked.
CREATE FUNCTION public.ledger_try(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN regexp_replace(SQLSTATE || ': ' || SQLERRM, '[0-9a-f]{8}-[0-9a-f-]{27}', '<uuid>', 'g');
END
$$;
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'regress_ledger') THEN
        CREATE ROLE regress_ledger LOGIN IN ROLE stockking_api;
    END IF;
END
$$;
-- a trusted SQL client: it states the caller in request.user_id (the proxy's
-- role proves it with a token instead: regress/sql/identity.sql)
DO $$ BEGIN
    IF NOT pg_has_role('regress_ledger', 'stockking_service', 'MEMBER') THEN
        GRANT stockking_service TO regress_ledger;
    END IF;
END $$;
CREATE FUNCTION public.ledger_as(email text) RETURNS void LANGUAGE sql SECURITY DEFINER AS $$
    SELECT set_config('request.user_id', (SELECT id::text FROM stockking.users u WHERE u.email = ledger_as.email), false),
           set_config('request.role', (SELECT role FROM stockking.users u WHERE u.email = ledger_as.email), false);
$$;
-- say a sentence and confirm it
CREATE FUNCTION public.spend(message text) RETURNS bigint LANGUAGE sql AS $$
    SELECT (api.ledger_chat_confirm(jsonb_build_object('id', api.ledger_chat(jsonb_build_object('message', message)) #> '{pending,id}'))
            #>> '{entry,id}')::bigint $$;
CREATE FUNCTION public.this_month(j jsonb) RETURNS jsonb LANGUAGE sql AS $$
    SELECT replace(j::text, to_char((now() AT TIME ZONE 'Asia/Seoul')::date, 'YYYY-MM'), '<this month>')::jsonb $$;
GRANT EXECUTE ON FUNCTION public.ledger_try(text), public.ledger_as(text), public.spend(text), public.this_month(jsonb) TO PUBLIC;

SELECT stockking.create_user('sum-kid@example.com', 'correct horse', 'CHILD', '민준') IS NOT NULL AS kid,
       stockking.create_user('sum-mom@example.com', 'correct horse', 'PARENT', '엄마') IS NOT NULL AS mom,
       stockking.create_user('sum-stranger@example.com', 'correct horse', 'PARENT', '남') IS NOT NULL AS stranger;
SELECT family_id AS mom_family FROM stockking.users WHERE email = 'sum-mom@example.com' \gset
UPDATE stockking.users SET family_id = (SELECT family_id FROM stockking.users WHERE email = 'sum-kid@example.com')
 WHERE email = 'sum-mom@example.com';
DELETE FROM stockking.family WHERE id = :'mom_family';
SELECT id AS kid_id FROM stockking.users WHERE email = 'sum-kid@example.com' \gset
CREATE FUNCTION public.kid_outbox() RETURNS TABLE (event_type text, audience text, payload jsonb) LANGUAGE sql SECURITY DEFINER AS $$
    SELECT o.event_type, o.audience, public.this_month(o.payload) FROM stockking.outbox o
      JOIN stockking.users u ON u.id = o.user_id WHERE u.email = 'sum-kid@example.com' ORDER BY o.id $$;
GRANT EXECUTE ON FUNCTION public.kid_outbox() TO PUBLIC;

SET SESSION AUTHORIZATION regress_ledger;
SELECT ledger_as('sum-kid@example.com');
-- a budget for 식비: 10,000 won a month
SELECT this_month(r - 'user_id') AS budgets FROM api.ledger_budget_put('{"category": "식비", "amount": 10000}') r;
SELECT spend('떡볶이 7천원') IS NOT NULL AS spent;
SELECT count(*) AS events FROM kid_outbox();
-- 8,000 of 10,000: 80%
SELECT spend('오늘 김밥 1000원') IS NOT NULL AS spent;
SELECT * FROM kid_outbox();
-- 10,500: over 100%, one event; more spending sends nothing more this month
SELECT spend('라면 2500원') IS NOT NULL AS spent;
SELECT spend('과자 1500원') IS NOT NULL AS spent;
SELECT event_type, payload ->> 'spent' AS spent, payload ->> 'percent' AS percent FROM kid_outbox();
-- other categories do not count toward it
SELECT spend('스벅 5천원') IS NOT NULL AS spent, spend('할머니한테 용돈 5만원 받았어') IS NOT NULL AS received;
SELECT count(*) AS events FROM kid_outbox();

-- the summary of this month, current at once
SELECT jsonb_pretty(this_month(api.ledger_summary('{}') - 'user_id'));
-- a change moves the summary: the latest entry (용돈 50,000 -> 60,000, MODIFY), then the 스벅 entry deleted
SELECT (api.ledger_chat_confirm(jsonb_build_object('id', api.ledger_chat('{"message": "아니 6만원이었어"}') #> '{pending,id}'))
        #>> '{entry,amount}') AS modified;
SELECT c ->> 'kind' AS kind, c ->> 'category' AS category, c ->> 'total' AS total, c ->> 'entries' AS entries
  FROM jsonb_array_elements(api.ledger_summary('{}') -> 'categories') c;
SELECT r -> 'deleted' ->> 'merchant' AS deleted FROM api.ledger_entry_delete(jsonb_build_object('id',
       (SELECT e ->> 'id' FROM jsonb_array_elements(api.ledger_entries('{"category": "카페/음료"}') -> 'items') e))) r;
SELECT c ->> 'kind' AS kind, c ->> 'category' AS category, c ->> 'total' AS total, c ->> 'entries' AS entries
  FROM jsonb_array_elements(api.ledger_summary('{}') -> 'categories') c;
SELECT ledger_try($$SELECT api.ledger_summary('{"month": "2025-13"}')$$) AS bad_month;
SELECT ledger_try($$SELECT api.ledger_summary('{"month": "2025-1"}')$$) AS short_month;
SELECT api.ledger_summary('{"month": "2001-01"}') - 'user_id' AS empty_month;

-- entries: filters and keyset pages, newest first
SELECT jsonb_array_length(r -> 'items') AS n, r ->> 'next_cursor' IS NOT NULL AS more
  FROM api.ledger_entries('{"limit": 2}') r;
WITH RECURSIVE pages (n, cursor, ids) AS (
    SELECT 1, r ->> 'next_cursor', ARRAY(SELECT (e ->> 'id')::bigint FROM jsonb_array_elements(r -> 'items') e)
      FROM api.ledger_entries('{"limit": 2}') r
    UNION ALL
    SELECT p.n + 1, r ->> 'next_cursor', ARRAY(SELECT (e ->> 'id')::bigint FROM jsonb_array_elements(r -> 'items') e)
      FROM pages p, api.ledger_entries(jsonb_build_object('limit', 2, 'cursor', p.cursor)) r
     WHERE p.cursor IS NOT NULL)
SELECT count(*) AS pages, sum(cardinality(ids)) AS entries,
       count(DISTINCT id) AS distinct_entries, bool_and(last IS NULL) FILTER (WHERE n = max_n) AS last_page_has_no_cursor
  FROM (SELECT p.*, unnest(ids) AS id, cursor AS last, max(n) OVER () AS max_n FROM pages p) x;
SELECT e ->> 'memo' AS memo, e ->> 'amount' AS amount
  FROM jsonb_array_elements(api.ledger_entries('{"kind": "EXPENSE", "q": "김밥"}') -> 'items') e;
SELECT jsonb_array_length(api.ledger_entries('{"kind": "income"}') -> 'items') AS incomes;
SELECT ledger_try($$SELECT api.ledger_entries('{"limit": 0}')$$) AS limit_zero;
SELECT ledger_try($$SELECT api.ledger_entries('{"kind": "GIFT"}')$$) AS bad_kind;
SELECT ledger_try($$SELECT api.ledger_entries('{"cursor": "garbage"}')$$) AS bad_cursor;
SELECT ledger_try($$SELECT api.ledger_entries('{"from": "yesterday"}')$$) AS bad_from;

-- budgets: refusals
SELECT ledger_try($$SELECT api.ledger_budget_put('{"category": "식비", "amount": -1}')$$) AS negative;
SELECT ledger_try($$SELECT api.ledger_budget_put('{"category": "식비", "amount": 1000000001}')$$) AS too_much;
SELECT ledger_try(format('SELECT api.ledger_budget_put(%L)', jsonb_build_object('category', repeat('가', 51), 'amount', 1000))) AS long_category;
SELECT ledger_try($$SELECT api.ledger_budget_put('{"category": "식비"}')$$) AS no_amount;
SELECT ledger_try(format('SELECT api.ledger_budget_put(%L)', jsonb_build_object('category', '식비', 'amount', 10000,
       'user_id', (SELECT current_setting('request.user_id'))))) AS own_user_id;

-- the parent reads the child's ledger and sets a budget for all of the child's spending
SELECT ledger_as('sum-mom@example.com');
SELECT r -> 'expense' AS expense, r -> 'income' AS income FROM api.ledger_summary(jsonb_build_object('user_id', :'kid_id')) r;
SELECT this_month(r - 'user_id') AS budgets
  FROM api.ledger_budget_put(jsonb_build_object('user_id', :'kid_id', 'category', '전체', 'amount', 20000)) r;
SELECT event_type, payload ->> 'category' AS category, payload ->> 'spent' AS spent FROM kid_outbox();
SELECT jsonb_array_length(api.ledger_entries(jsonb_build_object('user_id', :'kid_id')) -> 'items') AS kid_entries;
SELECT ledger_try($$SELECT api.ledger_entry_delete('{"id": 1}')$$) AS parent_deletes;
-- a child may not set the parent's budget; a stranger sees nothing
SELECT ledger_as('sum-kid@example.com');
SELECT ledger_try(format('SELECT api.ledger_budget_put(%L)', jsonb_build_object('user_id',
       (SELECT current_setting('request.user_id')), 'category', '식비', 'amount', 10000))) AS own_again;
RESET SESSION AUTHORIZATION;
SELECT id AS mom_id FROM stockking.users WHERE email = 'sum-mom@example.com' \gset
SET SESSION AUTHORIZATION regress_ledger;
SELECT ledger_try(format('SELECT api.ledger_budget_put(%L)', jsonb_build_object('user_id', :'mom_id', 'category', '식비', 'amount', 5000))) AS kid_sets_mom;
SELECT ledger_as('sum-stranger@example.com');
SELECT ledger_try(format('SELECT api.ledger_summary(%L)', jsonb_build_object('user_id', :'kid_id'))) AS stranger_summary;
SELECT ledger_try(format('SELECT api.ledger_budget_put(%L)', jsonb_build_object('user_id', :'kid_id', 'category', '식비', 'amount', 1))) AS stranger_budget;
SELECT ledger_try(format('SELECT api.ledger_budgets(%L)', jsonb_build_object('user_id', :'kid_id'))) AS stranger_budgets;
-- removing a budget
SELECT ledger_as('sum-kid@example.com');
SELECT this_month(r - 'user_id') AS budgets FROM api.ledger_budget_put('{"category": "식비", "amount": 0}') r;
SELECT this_month(r - 'user_id') AS budgets FROM api.ledger_budgets('{}') r;

-- the summary equals a rebuild from the entries; the jobs need pg_cron's database
RESET SESSION AUTHORIZATION;
SELECT stockking.ledger_refresh_summary() AS nothing_drifted;
UPDATE stockking.ledger_monthly SET total = total + 1 WHERE user_id = :'kid_id' AND category = '식비';
SELECT stockking.ledger_refresh_summary() AS one_repaired;
SELECT ledger_try('SELECT stockking.ledger_install_jobs()') AS install_jobs;

-- clean up
DELETE FROM stockking.ledger_pending WHERE user_id IN (SELECT id FROM stockking.users WHERE email LIKE 'sum-%@example.com');
DELETE FROM stockking.ledger_entry WHERE user_id IN (SELECT id FROM stockking.users WHERE email LIKE 'sum-%@example.com');
DELETE FROM stockking.ledger_budget WHERE user_id IN (SELECT id FROM stockking.users WHERE email LIKE 'sum-%@example.com');
DELETE FROM stockking.ledger_budget_alert WHERE user_id IN (SELECT id FROM stockking.users WHERE email LIKE 'sum-%@example.com');
DELETE FROM stockking.outbox WHERE user_id IN (SELECT id FROM stockking.users WHERE email LIKE 'sum-%@example.com');
SELECT count(*) AS summary_rows_left FROM stockking.ledger_monthly WHERE user_id = :'kid_id';
WITH u AS (DELETE FROM stockking.users WHERE email LIKE 'sum-%@example.com' RETURNING family_id)
DELETE FROM stockking.family WHERE id IN (SELECT family_id FROM u);
DROP FUNCTION public.ledger_try(text), public.ledger_as(text), public.spend(text), public.this_month(jsonb), public.kid_outbox();
