-- Ledger chat (seed 000 section 2.2): a sentence becomes a pending entry to
-- confirm or cancel; a follow-up changes it; the amount is asked for, never
-- guessed; likely duplicates are flagged; MODIFY, DELETE and QUERY act on the
-- caller's own entries; pending entries expire; row-level security.
-- Dates are today's (Asia/Seoul), so the output shows them as offsets.
-- ledger_try(): "ok" or "SQLSTATE: message", with today's dates, ids and uuids masked
CREATE FUNCTION public.ledger_try(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN regexp_replace(regexp_replace(regexp_replace(SQLSTATE || ': ' || SQLERRM,
               '[0-9]{4}-[0-9]{2}-[0-9]{2}( [0-9]{2}:[0-9]{2})?', '<date>', 'g'),
               '[0-9a-f]{8}-[0-9a-f-]{27}', '<uuid>', 'g'), 'entry [0-9]+', 'entry N', 'g');
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
    SELECT set_config('request.user_id', coalesce((SELECT id::text FROM stockking.users u WHERE u.email = ledger_as.email), ''), false),
           set_config('request.role', coalesce((SELECT role FROM stockking.users u WHERE u.email = ledger_as.email), ''), false);
$$;
-- a chat answer without what changes from run to run (ids, times, today's date)
CREATE FUNCTION public.chat_view(r jsonb) RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_strip_nulls(jsonb_build_object(
        'intent', r ->> 'intent', 'updated', r -> 'updated',
        'reply', replace(replace(r ->> 'reply', to_char((now() AT TIME ZONE 'Asia/Seoul')::date, 'FMMM월 FMDD일'), '<오늘>'),
                         to_char((now() AT TIME ZONE 'Asia/Seoul')::date - 1, 'FMMM월 FMDD일'), '<어제>'),
        'pending', CASE WHEN r ? 'pending' THEN (r -> 'pending') - 'id' - 'expires_at' - 'target_entry_id' - 'duplicate_of' - 'entry_id' - 'date'
            || jsonb_build_object('day', (r #>> '{pending,date}')::date - (now() AT TIME ZONE 'Asia/Seoul')::date,
                                  'duplicate', r #>> '{pending,duplicate_of}' IS NOT NULL,
                                  'open_minutes', round(extract(epoch FROM (r #>> '{pending,expires_at}')::timestamptz - now()) / 60)) END,
        'answer', CASE WHEN r ? 'answer' THEN (r -> 'answer') - 'period' END))
$$;
CREATE FUNCTION public.last_pending() RETURNS bigint LANGUAGE sql SECURITY DEFINER AS $$
    SELECT max(id) FROM stockking.ledger_pending $$;
-- the caller's pending entries, newest last (the superuser's view, for the checks)
CREATE FUNCTION public.pending_rows(n integer) RETURNS TABLE (action text, amount bigint, status text)
    LANGUAGE sql SECURITY DEFINER AS $$
    SELECT action, amount, status FROM (SELECT * FROM stockking.ledger_pending
                                         WHERE user_id = current_setting('request.user_id')::uuid ORDER BY id DESC LIMIT n) p
     ORDER BY id $$;
-- ledger_try() with the error's detail, today's and yesterday's dates masked
CREATE FUNCTION public.ledger_try_detail(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    d text;
BEGIN
    EXECUTE q;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL;
    RETURN replace(replace(SQLSTATE || ': ' || SQLERRM || ' / ' || coalesce(d, ''),
                           to_char((now() AT TIME ZONE 'Asia/Seoul')::date, 'FMMM월 FMDD일'), '<오늘>'),
                   to_char((now() AT TIME ZONE 'Asia/Seoul')::date - 1, 'FMMM월 FMDD일'), '<어제>');
END
$$;
GRANT EXECUTE ON FUNCTION public.ledger_try(text), public.ledger_as(text), public.chat_view(jsonb), public.last_pending(),
    public.ledger_try_detail(text), public.pending_rows(integer) TO PUBLIC;

SELECT stockking.create_user('chat-kid@example.com', 'correct horse', 'CHILD', '민준') IS NOT NULL AS kid,
       stockking.create_user('chat-other@example.com', 'correct horse', 'CHILD', '서연') IS NOT NULL AS other_kid,
       stockking.create_user('chat-mom@example.com', 'correct horse', 'PARENT', '엄마') IS NOT NULL AS mom,
       stockking.create_user('chat-stranger@example.com', 'correct horse', 'PARENT', '남') IS NOT NULL AS stranger;
-- mom joins the kid's family
SELECT family_id AS mom_family FROM stockking.users WHERE email = 'chat-mom@example.com' \gset
UPDATE stockking.users SET family_id = (SELECT family_id FROM stockking.users WHERE email = 'chat-kid@example.com')
 WHERE email = 'chat-mom@example.com';
DELETE FROM stockking.family WHERE id = :'mom_family';

SET SESSION AUTHORIZATION regress_ledger;
SELECT ledger_try($$SELECT api.ledger_chat('{"message": "스벅 5천원"}')$$) AS anonymous;
SELECT ledger_as('chat-kid@example.com');

-- a sentence becomes a pending entry awaiting confirmation
SELECT jsonb_pretty(chat_view(r)) FROM api.ledger_chat('{"message": "오늘 스벅에서 9천원 썼어"}') r;
SELECT r -> 'parse' ->> 'confidence' AS confidence, r #>> '{pending,id}' IS NOT NULL AS has_id
  FROM api.ledger_chat('{"message": "오늘 투썸에서 5천원"}') r;
-- a follow-up correction changes the latest open pending entry (투썸 5천원 -> 6천원)
SELECT jsonb_pretty(chat_view(r)) FROM api.ledger_chat('{"message": "아니 6천원이었어"}') r;
RESET SESSION AUTHORIZATION;
SELECT id AS p_tw, amount, status FROM stockking.ledger_pending WHERE merchant = '투썸플레이스' \gset
SELECT :p_tw > 0 AS found, :amount AS amount, :'status' AS status;
SELECT id AS p_sb FROM stockking.ledger_pending WHERE merchant = '스타벅스' \gset
SET SESSION AUTHORIZATION regress_ledger;
SELECT ledger_as('chat-kid@example.com');

-- confirm both; a confirmed entry cannot be confirmed or canceled again
SELECT r -> 'pending' ->> 'status' AS status, r -> 'entry' ->> 'amount' AS amount, r -> 'entry' ->> 'merchant' AS merchant,
       r -> 'entry' ->> 'source' AS source, (r -> 'entry' ->> 'date')::date = (now() AT TIME ZONE 'Asia/Seoul')::date AS today
  FROM api.ledger_chat_confirm(jsonb_build_object('id', :p_sb)) r;
SELECT r -> 'entry' ->> 'amount' AS amount FROM api.ledger_chat_confirm(jsonb_build_object('id', :p_tw)) r;
SELECT ledger_try(format('SELECT api.ledger_chat_confirm(''{"id": %s}'')', :p_sb)) AS confirm_twice;
SELECT ledger_try(format('SELECT api.ledger_chat_cancel(''{"id": %s}'')', :p_sb)) AS cancel_confirmed;
SELECT ledger_try('SELECT api.ledger_chat_confirm(''{"id": 987654}'')') AS unknown_id;
SELECT ledger_try('SELECT api.ledger_chat_confirm(''{}'')') AS no_id;

-- the same amount at the same merchant on the same day is flagged before it is saved; cancel it
SELECT jsonb_pretty(chat_view(r)) FROM api.ledger_chat('{"message": "스벅 9,000원"}') r;
SELECT r -> 'pending' ->> 'status' AS status, r ->> 'reply' AS reply
  FROM api.ledger_chat_cancel(jsonb_build_object('id', last_pending())) r;

-- no amount: a question back, and the answer fills it in
SELECT jsonb_pretty(chat_view(r)) FROM api.ledger_chat('{"message": "떡볶이 먹었어"}') r;
SELECT ledger_try(format('SELECT api.ledger_chat_confirm(''{"id": %s}'')', last_pending())) AS no_amount_yet;
SELECT jsonb_pretty(chat_view(r)) FROM api.ledger_chat('{"message": "3500원"}') r;
SELECT r -> 'entry' ->> 'amount' AS amount, r -> 'entry' ->> 'category' AS category, r -> 'entry' ->> 'memo' AS memo
  FROM api.ledger_chat_confirm(jsonb_build_object('id', last_pending())) r;

-- income
SELECT (chat_view(r) -> 'pending') - 'needs' AS pending FROM api.ledger_chat('{"message": "할머니한테 용돈 5만원 받았어"}') r;
SELECT r -> 'entry' ->> 'kind' AS kind FROM api.ledger_chat_confirm(jsonb_build_object('id', last_pending())) r;

-- DELETE with an open pending entry cancels it
SELECT chat_view(r) -> 'pending' ->> 'status' AS opened FROM api.ledger_chat('{"message": "CU 1500원"}') r;
SELECT jsonb_pretty(chat_view(r)) FROM api.ledger_chat('{"message": "방금 거 취소해줘"}') r;
-- DELETE with none open deletes the latest entry, once confirmed (the 용돈)
SELECT jsonb_pretty(chat_view(r)) FROM api.ledger_chat('{"message": "방금 거 취소해줘"}') r;
SELECT r -> 'deleted' ->> 'kind' AS deleted_kind, r -> 'deleted' ->> 'amount' AS deleted_amount
  FROM api.ledger_chat_confirm(jsonb_build_object('id', last_pending())) r;
-- MODIFY with none open changes the latest entry (떡볶이 3500 -> 4000), once confirmed
SELECT jsonb_pretty(chat_view(r)) FROM api.ledger_chat('{"message": "아니 4천원이었어"}') r;
SELECT r -> 'entry' ->> 'amount' AS amount, r -> 'entry' ->> 'memo' AS memo
  FROM api.ledger_chat_confirm(jsonb_build_object('id', last_pending())) r;
SELECT chat_view(r) ->> 'reply' AS reply FROM api.ledger_chat('{"message": "아니 잘못 말했어"}') r;

-- QUERY answers at once from the caller's own entries: 9,000 + 6,000 + 4,000 spent today
SELECT jsonb_pretty(chat_view(r)) FROM api.ledger_chat('{"message": "오늘 얼마 썼어?"}') r;
SELECT r -> 'answer' -> 'expense' AS month_expense FROM api.ledger_chat('{"message": "이번 달 얼마 썼어?"}') r;

-- corrections that name the entry (issue 10); the entries now: 스벅 9,000, 투썸 6,000, 떡볶이 4,000, all today.
-- 1. the open pending entry it names: changed in place
SELECT chat_view(r) -> 'pending' ->> 'amount' AS opened FROM api.ledger_chat('{"message": "맥날 8천원"}') r;
SELECT jsonb_pretty(chat_view(r)) FROM api.ledger_chat('{"message": "아까 맥날 8천원 말고 7500원이야"}') r;
SELECT r -> 'entry' ->> 'amount' AS amount FROM api.ledger_chat_confirm(jsonb_build_object('id', last_pending())) r;
-- 2. not the latest entry (맥날): the one entry of the last 30 days that matches
SELECT jsonb_pretty(chat_view(r) - 'reply') FROM api.ledger_chat('{"message": "스벅 9천원 아니고 9500원"}') r;
SELECT r -> 'entry' ->> 'merchant' AS merchant, r -> 'entry' ->> 'amount' AS amount
  FROM api.ledger_chat_confirm(jsonb_build_object('id', last_pending())) r;
-- a merchant changed: 스벅 -> 투썸 (and its category)
SELECT chat_view(r) ->> 'reply' AS reply FROM api.ledger_chat('{"message": "스벅 말고 투썸이었어"}') r;
SELECT r -> 'entry' ->> 'merchant' AS merchant, r -> 'entry' ->> 'amount' AS amount, r -> 'entry' ->> 'category' AS category
  FROM api.ledger_chat_confirm(jsonb_build_object('id', last_pending())) r;
-- 3. two entries match (투썸 6,000 and 9,500) and the latest (맥날) does not: SK114, nothing is prepared;
--    none matches: SK113
SELECT count(*) FILTER (WHERE status = 'PENDING') AS open_before, count(*) AS pending_before FROM pending_rows(100);
SELECT ledger_try_detail($$SELECT api.ledger_chat('{"message": "투썸 말고 스벅이었어"}')$$) AS ambiguous;
SELECT ledger_try_detail($$SELECT api.ledger_chat('{"message": "만원 말고 만2천원"}')$$) AS no_match;
SELECT ledger_try_detail($$SELECT api.ledger_chat('{"message": "어제 투썸 거 지워줘"}')$$) AS no_match_that_day;
SELECT count(*) FILTER (WHERE status = 'PENDING') AS open_after, count(*) AS pending_after FROM pending_rows(100);
-- saying more picks one: the amount
SELECT chat_view(r) ->> 'reply' AS reply FROM api.ledger_chat('{"message": "투썸 6천원 말고 6500원"}') r;
SELECT r -> 'pending' ->> 'status' AS status FROM api.ledger_chat_cancel(jsonb_build_object('id', last_pending())) r;
-- the latest entry's date and amount, without naming it
SELECT chat_view(r) -> 'pending' ->> 'day' AS day, chat_view(r) -> 'pending' ->> 'merchant' AS merchant
  FROM api.ledger_chat('{"message": "날짜 어제로 바꿔줘"}') r;
SELECT r -> 'pending' ->> 'status' AS status FROM api.ledger_chat_cancel(jsonb_build_object('id', last_pending())) r;
SELECT chat_view(r) ->> 'reply' AS reply FROM api.ledger_chat('{"message": "마지막 거 2만원으로 변경"}') r;
SELECT r -> 'pending' ->> 'status' AS status FROM api.ledger_chat_cancel(jsonb_build_object('id', last_pending())) r;
-- a deletion that names its entry
SELECT chat_view(r) ->> 'reply' AS reply FROM api.ledger_chat('{"message": "떡볶이 4천원 지워줘"}') r;
SELECT r -> 'pending' ->> 'status' AS status FROM api.ledger_chat_cancel(jsonb_build_object('id', last_pending())) r;
-- an open pending entry the correction does not name stays open; the saved entry is changed
SELECT chat_view(r) -> 'pending' ->> 'amount' AS opened FROM api.ledger_chat('{"message": "다이소 2천원"}') r;
SELECT chat_view(r) -> 'pending' ->> 'action' AS action, chat_view(r) -> 'pending' ->> 'amount' AS amount
  FROM api.ledger_chat('{"message": "7500원 말고 7천원"}') r;
SELECT * FROM pending_rows(2);
SELECT r -> 'pending' ->> 'status' AS status FROM api.ledger_chat_cancel(jsonb_build_object('id', last_pending() - 1)) r;
SELECT r -> 'pending' ->> 'status' AS status FROM api.ledger_chat_cancel(jsonb_build_object('id', last_pending())) r;

-- questions (issue 10): top merchant, top category, count of visits, a total of one merchant
-- (a month's period in a reply is masked as <기간>)
SELECT jsonb_pretty(chat_view(r) - 'reply'), regexp_replace(r ->> 'reply', '[0-9]+월 1일 ~ [0-9]+월 [0-9]+일', '<기간>') AS reply
  FROM api.ledger_chat('{"message": "이번 달 제일 많이 쓴 데가 어디야?"}') r;
SELECT chat_view(r) -> 'answer' AS answer, regexp_replace(r ->> 'reply', '[0-9]+월 1일 ~ [0-9]+월 [0-9]+일', '<기간>') AS reply
  FROM api.ledger_chat('{"message": "투썸 이번 달에 몇 번 갔어?"}') r;
SELECT chat_view(r) -> 'answer' -> 'top' AS top FROM api.ledger_chat('{"message": "이번 달 뭐에 제일 많이 썼어?"}') r;
SELECT chat_view(r) -> 'answer' -> 'expense' AS expense, chat_view(r) -> 'answer' -> 'entries' AS entries
  FROM api.ledger_chat('{"message": "이번 달 투썸에 얼마 썼어?"}') r;
SELECT chat_view(r) -> 'answer' -> 'count' AS count FROM api.ledger_chat('{"message": "이번 달 편의점 몇 번 갔어?"}') r;
SELECT chat_view(r) -> 'answer' -> 'ranking' AS ranking, regexp_replace(r ->> 'reply', '[0-9]+월 1일 ~ [0-9]+월 [0-9]+일', '<기간>') AS reply
  FROM api.ledger_chat('{"message": "지난달 제일 많이 쓴 데 알려줘"}') r;

-- refusals change nothing
SELECT ledger_try($$SELECT api.ledger_chat('{}')$$) AS no_message;
SELECT ledger_try($$SELECT api.ledger_chat('{"message": ""}')$$) AS empty;
SELECT ledger_try(format('SELECT api.ledger_chat(%L)', jsonb_build_object('message', repeat('가', 501)))) AS too_long;
SELECT ledger_try($$SELECT api.ledger_chat('{"message": "내일 스벅 5천원"}')$$) AS future;
SELECT ledger_try($$SELECT api.ledger_chat('{"message": "20억원 썼어"}')$$) AS too_much;
SELECT ledger_try($$SELECT api.ledger_chat('{"message": "2월 30일 3천원"}')$$) AS no_such_day;

-- pending entries expire
SELECT chat_view(r) -> 'pending' ->> 'status' AS opened FROM api.ledger_chat('{"message": "다이소 3천원"}') r;
RESET SESSION AUTHORIZATION;
UPDATE stockking.ledger_pending SET expires_at = now() - interval '1 second' WHERE merchant = '다이소';
SET SESSION AUTHORIZATION regress_ledger;
SELECT ledger_as('chat-kid@example.com');
SELECT ledger_try(format('SELECT api.ledger_chat_confirm(''{"id": %s}'')', last_pending())) AS expired;
-- an expired entry is no context: the correction goes to the latest saved entry instead
SELECT chat_view(r) -> 'pending' ->> 'action' AS action FROM api.ledger_chat('{"message": "아니 5천원이었어"}') r;
SELECT r -> 'pending' ->> 'status' AS status FROM api.ledger_chat_cancel(jsonb_build_object('id', last_pending())) r;
RESET SESSION AUTHORIZATION;
SELECT stockking.ledger_expire_pending() ->> 'expired' AS expired_by_job;
SELECT status, count(*) FROM stockking.ledger_pending GROUP BY 1 ORDER BY 1;

-- row-level security: another child neither sees nor confirms the kid's pending entries or entries
INSERT INTO stockking.ledger_pending (family_id, user_id, action, message, parse, kind, amount, entry_date, category, expires_at)
SELECT family_id, id, 'ADD', '쿠팡 1만원', '{}', 'EXPENSE', 10000, (now() AT TIME ZONE 'Asia/Seoul')::date, '쇼핑', now() + interval '10 minutes'
  FROM stockking.users WHERE email = 'chat-kid@example.com' RETURNING id AS p_open \gset
SET SESSION AUTHORIZATION regress_ledger;
SELECT ledger_as('chat-other@example.com');
SELECT ledger_try(format('SELECT api.ledger_chat_confirm(''{"id": %s}'')', :p_open)) AS other_confirms;
SELECT ledger_try(format('SELECT api.ledger_chat_cancel(''{"id": %s}'')', :p_open)) AS other_cancels;
SELECT jsonb_array_length(api.ledger_entries('{}') -> 'items') AS own_entries;
SELECT ledger_try(format('SELECT api.ledger_entries(%L)', jsonb_build_object('user_id', (SELECT current_setting('request.user_id'))))) AS own_list;
SELECT ledger_try($$SELECT api.ledger_chat('{"message": "아니 5천원이었어"}')$$) AS nothing_to_modify;
SELECT ledger_try($$SELECT api.ledger_chat('{"message": "방금 거 취소해줘"}')$$) AS nothing_to_delete;
-- the parent reads the child's ledger, and may not confirm for the child
SELECT ledger_as('chat-mom@example.com');
RESET SESSION AUTHORIZATION;
SELECT id AS kid_id FROM stockking.users WHERE email = 'chat-kid@example.com' \gset
SET SESSION AUTHORIZATION regress_ledger;
SELECT e ->> 'merchant' AS merchant, e ->> 'amount' AS amount, e ->> 'kind' AS kind
  FROM jsonb_array_elements(api.ledger_entries(jsonb_build_object('user_id', :'kid_id')) -> 'items') e;
SELECT ledger_try(format('SELECT api.ledger_chat_confirm(''{"id": %s}'')', :p_open)) AS parent_confirms;
SELECT ledger_as('chat-stranger@example.com');
SELECT ledger_try(format('SELECT api.ledger_entries(%L)', jsonb_build_object('user_id', :'kid_id'))) AS stranger_reads;
SELECT ledger_try($$SELECT api.ledger_entries('{"user_id": "not-a-uuid"}')$$) AS bad_user_id;

-- the kid deletes an entry directly; another's entry is not found
SELECT ledger_as('chat-kid@example.com');
SELECT r -> 'deleted' ->> 'merchant' AS deleted_merchant, r -> 'deleted' ->> 'amount' AS deleted_amount
  FROM api.ledger_entry_delete(jsonb_build_object('id', (api.ledger_entries('{"limit": 1}') -> 'items' -> 0 ->> 'id'))) r;
SELECT ledger_try('SELECT api.ledger_entry_delete(''{"id": 987654}'')') AS unknown_entry;

-- clean up
RESET SESSION AUTHORIZATION;
DELETE FROM stockking.ledger_pending WHERE user_id IN (SELECT id FROM stockking.users WHERE email LIKE 'chat-%@example.com');
DELETE FROM stockking.ledger_entry WHERE user_id IN (SELECT id FROM stockking.users WHERE email LIKE 'chat-%@example.com');
SELECT count(*) AS summary_rows_left FROM stockking.ledger_monthly
 WHERE user_id IN (SELECT id FROM stockking.users WHERE email LIKE 'chat-%@example.com');
WITH u AS (DELETE FROM stockking.users WHERE email LIKE 'chat-%@example.com' RETURNING family_id)
DELETE FROM stockking.family WHERE id IN (SELECT family_id FROM u);
DROP FUNCTION public.ledger_try(text), public.ledger_as(text), public.chat_view(jsonb), public.last_pending(),
    public.ledger_try_detail(text), public.pending_rows(integer);
