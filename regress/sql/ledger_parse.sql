-- Ledger parser: every amount, date, merchant, category, kind and intent
-- form of issue 5, the memo and the confidence, every refusal with its
-- SQLSTATE, and the merchant dictionary (family aliases, row-level
-- security, cache invalidation).  The reference date is fixed:
-- 2025-06-18, a Wednesday (so this week's Monday is 2025-06-16).

-- helpers of this file (dropped at its end); the API is called as the proxy
-- does, by a non-superuser member of stockking_api
CREATE FUNCTION public.ledger_try(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
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
CREATE FUNCTION public.lp(t text) RETURNS TABLE (kind text, intent text, amount bigint, date text, merchant text,
                                                  category text, memo text)
    LANGUAGE sql AS $$
    SELECT r.kind, r.intent, r.amount, to_char(r.date, 'YYYY-MM-DD'), r.merchant, r.category, r.memo
      FROM api.parse_ledger_text(t, '2025-06-18') r
    $$;
GRANT EXECUTE ON FUNCTION public.ledger_try(text), public.ledger_as(text), public.lp(text) TO PUBLIC;

SELECT stockking.create_user('parse-kid@example.com', 'correct horse', 'CHILD', '민준') IS NOT NULL AS kid;
SELECT stockking.create_user('parse-other@example.com', 'correct horse', 'CHILD', '서연') IS NOT NULL AS other_kid;
SELECT count(*) >= 60 AS at_least_60_brands, sum(cardinality(aliases)) >= 60 AS with_aliases
  FROM stockking.merchant WHERE family_id IS NULL;
SELECT stockking.ledger_today() AS today \gset
SET SESSION AUTHORIZATION regress_ledger;
SELECT ledger_as('parse-kid@example.com');

-- the sentence of the issue, both forms
SELECT jsonb_pretty(api.parse_ledger_text('{"text": "어제 스벅에서 9천원 썼어", "reference_date": "2025-06-18"}'));
SELECT * FROM api.parse_ledger_text('어제 스벅에서 9천원 썼어', '2025-06-18');

-- amounts: digits, commas, units, Hangul numerals, 원/천원/만원 with or without spaces, up to 억
SELECT t AS text, (lp(t)).amount FROM unnest(ARRAY[
    '15000원', '15,000원', '15000', '9천원', '9천 원', '9 천원', '1만5천원', '1만 5천원', '2만 5천원', '3.5만원',
    '1.5천원', '4천5백원', '삼천오백원', '만이천원', '구천구백원', '오만원', '십만원', '백만원', '천원', '만원',
    '만 원', '오천 원', '이만오천원', '만 5천원', '1억 5000원', '1억', '1억 2천만원', '3억5천만원', '10억원', '1,234,567원', '₩15,000',
    '5000원짜리', '3천원어치', '떡볶이3500원', '1원']) t;
-- numbers that are not amounts: counts, times, Hangul words that hold numeral syllables
SELECT t AS text, (lp(t)).amount, (lp(t)).memo FROM unnest(ARRAY[
    '떡볶이 2인분 7천원', '2개 3000원 사탕', '3시에 떡볶이 4000원', '3시 반에 4000원', '연필 3자루 1500원',
    '백화점에서 3만원', '만두 5천원', '오늘 천천히 걸었어', '만나서 놀았어', '이번주 월요일 2천원',
    '삼각김밥 1200원', '구매 2천원', 'ktx2 3만원', '1.5원', '50']) t;

-- dates relative to 2025-06-18 (Wednesday)
SELECT t AS text, (lp(t)).date FROM unnest(ARRAY[
    '오늘 2천원', '아까 2천원', '방금 2천원', '지금 2천원', '어제 2천원', '어저께 2천원', '그제 2천원', '그저께 2천원',
    '엊그제 2천원', '이틀 전 2천원', '사흘 전 2천원', '3일 전 2천원', '3일전 2천원', '10일 전 2천원',
    '일주일 전 2천원', '2주 전 2천원', '1달 전 2천원',
    '지난주 월요일 2천원', '지난주 금요일 2천원', '지난 주 일요일 2천원', '저번주 화요일 2천원', '저번 주 토요일 2천원',
    '지지난주 금요일 2천원', '이번주 월요일 2천원', '이번 주 화요일 2천원', '이번주 수요일 2천원',
    '월요일 2천원', '금요일에 2천원', '수요일 2천원', '금욜 2천원',
    '지난달 5일 2천원', '지난 달 31일 2천원', '저번달 20일 2천원', '이번달 3일 2천원',
    '5월 5일 2천원', '5월5일 2천원', '6월 18일 2천원', '6월 19일 2천원', '12월 25일 2천원', '6/1 2천원', '8/15 2천원',
    '10일에 2천원', '25일에 2천원', '2025-06-01 2천원', '2025.05.10 2천원', '2025/06/18 2천원',
    '2024년 12월 24일 2천원', '2천원', '지난주에 2천원', '지난달에 2천원', '3월에 2천원']) t;
-- what the date fields say about themselves
SELECT t AS text, r.reasons, r.confidence FROM unnest(ARRAY['12월 25일 2천원', '지난주에 2천원', '2천원', '어제 2천원',
       '어제 오늘 2천원']) t, api.parse_ledger_text(t, '2025-06-18') r;

-- merchants of the issue, with their aliases, and the categories they give
SELECT t AS text, (lp(t)).merchant, (lp(t)).category FROM unnest(ARRAY[
    '스벅 5천원', '스타벅스 5천원', 'STARBUCKS 5천원', '투썸 5천원', '투썸플레이스 5천원', '이디야 3천원', '메가커피 2천원',
    '빽다방 2천원', 'GS25 1천원', 'gs25 1천원', '지에스25 1천원', 'CU 1천원', '씨유 1천원', '세븐 1천원', '세븐일레븐 1천원',
    '이마트24 1천원', '맥날 6천원', '맥도날드 6천원', '롯데리아 5천원', '버거킹 8천원', '배라 4천원', '배스킨라빈스 4천원',
    '다이소 3천원', '올리브영 9천원', '쿠팡 2만원', '교보문고 1만원', '김밥천국 4천원', '파바 3천원', '파리바게뜨 3천원',
    'CGV 1만원', 'cgv에서 1만원', '메가박스 1만원', '코노 2천원', '카카오택시 9천원', '유니세프 1만원',
    'cup 3천원', '세븐틴 앨범 2만원', '스벅에서 라떼랑 케이크 만원']) t;

-- categories from keywords, and income
SELECT t AS text, (lp(t)).kind, (lp(t)).category FROM unnest(ARRAY[
    '떡볶이 3천원', '아메리카노 4천원', '편의점 2천원', '버스 1500원', '택시비 8천원', '옷 3만원', '영화 1만원',
    '피시방 2천원', '문제집 9천원', '학원 교재 2만원', '약국 감기약 4천원', '치과 1만원', '휴대폰 요금 3만원',
    '친구 생일선물 2만원', '저금 5천원', '적금 5만원', '기부 1만원', '헌금 3천원', '뭔가 5천원',
    '할머니한테 용돈 5만원 받았어', '엄마가 용돈 만원 줬어', '세뱃돈 10만원', '이모가 2만원 주셨어',
    '알바비 5만원 들어왔어', '중고로 책 팔았어 8천원', '쿠팡 환불 2만원 받았어', '상금 3만원 받았어',
    '친구 선물 만원 줬어', '용돈으로 과자 샀어 2천원', '용돈 받아서 옷 샀어 3만원']) t;

-- intents: modify, delete, query
SELECT t AS text, r.intent, r.amount, to_char(r.date, 'YYYY-MM-DD') AS date, r.merchant, r.category, r.reasons,
       r.question, to_char(r.period_from, 'YYYY-MM-DD') AS period_from, to_char(r.period_to, 'YYYY-MM-DD') AS period_to
  FROM unnest(ARRAY['아니 8천원이었어', '8천원이었어', '아니야 9천원이야', '아니 어제였어', '수정해줘 스벅 5천원',
                    '아니 잘못 말했어', '방금 거 취소해줘', '마지막 거 지워줘', '이번 달 얼마 썼어?', '지난달 얼마 썼지?',
                    '오늘 얼마 썼어', '이번주 지출 알려줘', '지난주 얼마 썼어', '3월에 얼마 썼어?']) t,
       api.parse_ledger_text(t, '2025-06-18') r;

-- corrections (issue 10): what comes before 말고 / 아니고 / 아니라 / "A에서 B로" / "A 거" names the entry (old_*),
-- what comes after is the new value; a pivot after a category word alone is no correction without a correction verb
SELECT t AS text, r.intent, r.amount, to_char(r.date, 'YYYY-MM-DD') AS date, r.merchant, r.category,
       r.old_amount, to_char(r.old_date, 'YYYY-MM-DD') AS old_date, r.old_merchant, r.reasons
  FROM unnest(ARRAY['아까 맥날 8천원 말고 7500원이야', '9천원 아니고 9500원', '택시비 7천원 아니라 8천원이야',
                    '5천원에서 4천원으로 바꿔줘', '어제 이디야 3200원 말고 3700원으로 고쳐줘', '마지막 거 2만원으로 변경',
                    '스벅 말고 투썸이었어', '스벅에서 투썸으로 바꿔줘', '날짜 어제로 바꿔줘', '어제가 아니라 그제야',
                    '어제 맥날 거 8천원으로 고쳐줘', '방금 거 6천원으로 바꿔', '택시 말고 버스였어', '용돈 2만원 아니고 3만원 받았어',
                    '8천원 말고', '떡볶이 말고 라면 먹었어 3천원', '스벅에서 5천원 썼어']) t,
       api.parse_ledger_text(t, '2025-06-18') r;
-- deletions name their entry the same way; 방금 (just now) means the latest, not a day
SELECT t AS text, r.intent, r.amount, r.merchant, r.old_amount, to_char(r.old_date, 'YYYY-MM-DD') AS old_date, r.old_merchant
  FROM unnest(ARRAY['어제 맥날 8천원 지워줘', '다이소 거 취소해줘', '이틀 전 거 삭제해줘', '방금 거 취소해줘']) t,
       api.parse_ledger_text(t, '2025-06-18') r;
SELECT jsonb_pretty(api.parse_ledger_text('{"text": "아까 맥날 8천원 말고 7500원이야", "reference_date": "2025-06-18"}'));
-- questions: how much, where most, on what most, how many times; a merchant or category named is the filter
SELECT t AS text, r.intent, r.query, r.kind, r.merchant, r.category, to_char(r.period_from, 'YYYY-MM-DD') AS period_from,
       to_char(r.period_to, 'YYYY-MM-DD') AS period_to
  FROM unnest(ARRAY['이번 달 제일 많이 쓴 데가 어디야?', '맥날 이번 달에 몇 번 갔어?', '지난달 뭐에 제일 많이 썼어?',
                    '이번주 편의점 몇 번 갔어', '이번 달 스벅에 얼마 썼어?', '이번 달 용돈 얼마 받았어?', '이번 달 받은 돈 얼마야',
                    '제일 맛있는 떡볶이 3천원']) t,
       api.parse_ledger_text(t, '2025-06-18') r;
-- clothing and shoes are 쇼핑
SELECT t AS text, (lp(t)).amount, (lp(t)).category FROM unnest(ARRAY[
    '패딩 15만원', '운동화 6만원 샀어', '티셔츠 만오천원', '옷 샀어 3만원', '바지 25000원', '신발 4만원', '후드티 3만9천원',
    '청바지 39000원', '원피스 2만9천원', '슬리퍼 9900원', '교복 4만원']) t;

-- the memo is what is left; confidence and reasons say what was assumed
SELECT t AS text, r.memo, r.confidence, r.reasons FROM unnest(ARRAY[
    '어제 스벅에서 9천원 썼어', '떡볶이를 3500원에 사먹었어', '학교 앞 분식집에서 친구랑 떡볶이 7천원', '15000',
    '친구 생일선물 2만원 결제했어!', '할머니한테 용돈 5만원 받았어']) t, api.parse_ledger_text(t, '2025-06-18') r;

-- no amount: a question back, never a guess
SELECT t AS text, r.amount, r.confidence, r.reasons, r.question
  FROM unnest(ARRAY['떡볶이 먹었어', '스벅 갔어', '용돈 받았어', '떡볶이 2개']) t, api.parse_ledger_text(t, '2025-06-18') r;
SELECT api.parse_ledger_text('{"text": "스벅 갔어", "reference_date": "2025-06-18"}') -> 'amount' AS amount_is_null;

-- refusals: each with its SQLSTATE
SELECT t AS text, ledger_try(format('SELECT api.parse_ledger_text(%L, %L)', t, '2025-06-18')) AS refused FROM unnest(ARRAY[
    '내일 5000원', '모레 5000원', '다음주 금요일 5000원', '이번주 금요일 5000원', '이번달 30일 5000원',
    '다음달 1일 5000원', '2099-01-01 5000원', '2025년 12월 1일 5000원', '2025-06-19 5000원',
    '0원', '20억원', '10억 1원', '-5000원', '999999999999999999999원', '2월 30일 3000원', '4/31 3000원', '2025-02-29 3000원',
    '', '   ']) t;
SELECT ledger_try(format('SELECT api.parse_ledger_text(%L, %L)', repeat('가', 501), '2025-06-18')) AS too_long;
SELECT (lp(repeat('가', 496) || '3천원')).amount AS five_hundred_is_fine;
SELECT ledger_try($$SELECT api.parse_ledger_text('{"reference_date": "2025-06-18"}')$$) AS no_text;
SELECT ledger_try($$SELECT api.parse_ledger_text('{"text": "3천원", "reference_date": "2025/06/18"}')$$) AS bad_reference;
SELECT ledger_try($$SELECT api.parse_ledger_text('{"text": "3천원", "reference_date": "2025-02-30"}')$$) AS bad_reference_day;
SELECT ledger_try($$SELECT api.parse_ledger_text('{"text": 3000}')$$) AS number_text;
SELECT ledger_try($$SELECT api.parse_ledger_text('{"text": ["3천원"]}')$$) AS array_text;
SELECT ledger_try($$SELECT api.parse_ledger_text('"3천원"')$$) AS not_an_object;
SELECT (lp('10억원')).amount AS max_amount, (lp('1원')).amount AS min_amount;
-- without a reference date: today in Asia/Seoul
SELECT (api.parse_ledger_text('{"text": "오늘 3천원"}') ->> 'date')::date = :'today' AS today_by_default;
SELECT (api.parse_ledger_text('어제 3천원', NULL)).date = :'today'::date - 1 AS yesterday_by_default;
SELECT api.parse_ledger_text(NULL, '2025-06-18') IS NULL AS null_text;

-- a family teaches the parser its own merchant; the cache sees it at once; another family does not
SELECT (lp('문방구에서 2천원')).merchant AS before;
SELECT r - 'id' AS added FROM api.ledger_merchant_add('{"name": "행복문방구", "category": "교육/도서", "aliases": ["문방구", "행복 문구"]}') r;
SELECT (lp('문방구에서 2천원')).merchant AS after, (lp('문방구에서 2천원')).category;
SELECT (lp('행복 문구 3천원')).merchant AS by_second_alias;
SELECT ledger_try($$SELECT api.ledger_merchant_add('{"name": "행복문방구", "category": "교육/도서"}')$$) AS same_name;
SELECT ledger_try($$SELECT api.ledger_merchant_add('{"name": "x", "category": "용돈"}')$$) AS income_category;
SELECT ledger_try($$SELECT api.ledger_merchant_add('{"name": "x", "category": "식비", "aliases": "y"}')$$) AS aliases_not_array;
SELECT ledger_try($$SELECT api.ledger_merchant_add('{"name": "x", "category": "식비", "global": true}')$$) AS global_needs_admin;
SELECT ledger_try($$INSERT INTO stockking.merchant (name, category) VALUES ('x', '식비')$$) AS no_direct_access;
SELECT ledger_as('parse-other@example.com');
SELECT (lp('문방구에서 2천원')).merchant AS other_family;
SELECT count(*) FILTER (WHERE scope = 'FAMILY') AS family_merchants_seen
  FROM jsonb_to_recordset(api.ledger_merchants('{}') -> 'items') AS m (name text, scope text);
-- an ADMIN adds a global merchant: every family's parser sees it
RESET SESSION AUTHORIZATION;
SELECT set_config('request.user_id', (SELECT id::text FROM stockking.users WHERE email = 'parse-other@example.com'), false)
       IS NOT NULL AS admin, set_config('request.role', 'ADMIN', false);
SET SESSION AUTHORIZATION regress_ledger;
SELECT r ->> 'scope' AS scope FROM api.ledger_merchant_add('{"name": "동네떡볶이", "category": "식비", "aliases": ["동떡"], "global": true}') r;
SELECT ledger_as('parse-kid@example.com');
SELECT (lp('동떡 4천원')).merchant AS global_alias, (lp('동떡 4천원')).category;
-- a change rolled back leaves the dictionary as it was
RESET SESSION AUTHORIZATION;
BEGIN;
UPDATE stockking.merchant SET aliases = aliases || '{별별}'::text[] WHERE name = '스타벅스';
SELECT merchant AS inside FROM api.parse_ledger_text('별별 5천원', '2025-06-18');
ROLLBACK;
SELECT merchant AS rolled_back FROM api.parse_ledger_text('별별 5천원', '2025-06-18');

-- clean up: this file's users, merchants and helpers
RESET SESSION AUTHORIZATION;
DELETE FROM stockking.merchant WHERE name IN ('행복문방구', '동네떡볶이');
WITH u AS (DELETE FROM stockking.users WHERE email LIKE 'parse-%@example.com' RETURNING family_id)
DELETE FROM stockking.family WHERE id IN (SELECT family_id FROM u);
DROP FUNCTION public.ledger_try(text), public.ledger_as(text), public.lp(text);
