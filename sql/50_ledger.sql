-- Pocket-money ledger: merchants, entries, the chat flow, CSV imports,
-- monthly summaries and budgets.  The sentence parser and the CSV reader
-- are C (extension/ledger_parse.c, extension/ledger_import.c).
--
-- Amounts are bigint won, 1 .. 1,000,000,000 (seed 000 section 2.5); dates
-- are calendar dates in Asia/Seoul, never after today; memo <= 500
-- characters, category <= 50.

INSERT INTO stockking.error_code VALUES
    ('SK101', 422, 'ledger_future_date', 'the sentence or row names a date after today (or after the reference date)'),
    ('SK102', 422, 'ledger_amount_range', 'an amount outside 1 .. 1,000,000,000 won'),
    ('SK103', 400, 'ledger_text_too_long', 'a ledger sentence or memo longer than 500 characters'),
    ('SK105', 409, 'ledger_pending_expired', 'the pending chat entry expired before it was confirmed'),
    ('SK106', 409, 'ledger_pending_closed', 'the pending chat entry was confirmed or canceled already'),
    ('SK107', 422, 'ledger_amount_missing', 'a pending chat entry has no amount yet: answer the question first'),
    ('SK108', 400, 'ledger_bad_file', 'the uploaded file is empty, not text in UTF-8 or CP949/EUC-KR, or has no rows'),
    ('SK109', 409, 'ledger_import_closed', 'the import was committed already'),
    ('SK110', 422, 'ledger_import_row_errors', 'the import has rows with errors; fix the mapping or commit with skip_invalid'),
    ('SK111', 422, 'ledger_mapping', 'the column mapping lacks a date or an amount column, or names a column the file does not have'),
    ('SK112', 404, 'ledger_nothing_to_change', 'there is no ledger entry to modify or delete yet');

-- The parser's record, for SQL clients (api.parse_ledger_text(text, date)).
CREATE TYPE stockking.ledger_parse_result AS (
    kind        text,
    intent      text,
    amount      bigint,
    date        date,
    merchant    text,
    category    text,
    memo        text,
    confidence  numeric,
    reasons     text[],
    question    text,
    period_from date,
    period_to   date,
    old_amount   bigint,
    old_date     date,
    old_merchant text,
    query        text
);
COMMENT ON TYPE stockking.ledger_parse_result IS
    'a parsed ledger sentence (see api.parse_ledger_text); old_* name the entry a MODIFY or DELETE means, query what a QUERY asks';

CREATE FUNCTION stockking.ledger_today() RETURNS date
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT (now() AT TIME ZONE 'Asia/Seoul')::date $$;
COMMENT ON FUNCTION stockking.ledger_today() IS 'today in Asia/Seoul: the reference date of the chat and the latest date an entry may have';

CREATE FUNCTION stockking.ledger_categories() RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT ARRAY['식비', '카페/음료', '편의점', '교통', '쇼핑', '문화/여가', '교육/도서', '의료/건강', '통신',
                       '선물/경조사', '저축/투자', '기부', '기타', '용돈', '기타수입'] $$;
COMMENT ON FUNCTION stockking.ledger_categories() IS 'the standard categories: 13 for expenses, then 용돈 and 기타수입 for income';

-- Merchants: brands and their aliases.  Rows without a family are global
-- (ADMIN maintains them); a family's own rows are seen by that family only.
CREATE TABLE stockking.merchant (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    family_id  uuid REFERENCES stockking.family (id),
    name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    category   text NOT NULL CHECK (category = ANY (stockking.ledger_categories())),
    aliases    text[] NOT NULL DEFAULT '{}' CHECK (cardinality(aliases) <= 20),
    created_by uuid,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX merchant_global_name ON stockking.merchant (name) WHERE family_id IS NULL;
CREATE UNIQUE INDEX merchant_family_name ON stockking.merchant (family_id, name) WHERE family_id IS NOT NULL;
COMMENT ON TABLE stockking.merchant IS
    'brands the parser knows: canonical name, category, aliases (matched case-insensitively, longest first); family_id NULL = global';

CREATE FUNCTION stockking.ledger_merchant_changed() RETURNS trigger
    AS 'MODULE_PATHNAME', 'stockking_ledger_merchant_changed'
    LANGUAGE C;
COMMENT ON FUNCTION stockking.ledger_merchant_changed() IS
    'statement trigger: invalidates every backend''s cached merchant dictionary (relcache invalidation of stockking.merchant)';
CREATE TRIGGER merchant_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON stockking.merchant
    FOR EACH STATEMENT EXECUTE FUNCTION stockking.ledger_merchant_changed();

INSERT INTO stockking.merchant (name, category, aliases) VALUES
    ('스타벅스', '카페/음료', '{스벅,starbucks,별다방}'),
    ('투썸플레이스', '카페/음료', '{투썸,투썸 플레이스,twosome}'),
    ('이디야커피', '카페/음료', '{이디야,ediya}'),
    ('메가MGC커피', '카페/음료', '{메가커피,메가 커피,메가MGC,메가엠지씨}'),
    ('빽다방', '카페/음료', '{빽다}'),
    ('컴포즈커피', '카페/음료', '{컴포즈}'),
    ('할리스', '카페/음료', '{할리스커피}'),
    ('커피빈', '카페/음료', '{coffee bean}'),
    ('폴바셋', '카페/음료', '{}'),
    ('공차', '카페/음료', '{gong cha}'),
    ('쥬씨', '카페/음료', '{}'),
    ('더벤티', '카페/음료', '{벤티}'),
    ('파스쿠찌', '카페/음료', '{}'),
    ('탐앤탐스', '카페/음료', '{탐탐}'),
    ('배스킨라빈스', '카페/음료', '{배라,배스킨,베스킨라빈스,br31}'),
    ('설빙', '카페/음료', '{}'),
    ('GS25', '편의점', '{지에스25,gs 25,gs편의점,지에스}'),
    ('CU', '편의점', '{씨유}'),
    ('세븐일레븐', '편의점', '{세븐,7-eleven,7eleven,7일레븐}'),
    ('이마트24', '편의점', '{이마트 24,emart24}'),
    ('미니스톱', '편의점', '{}'),
    ('맥도날드', '식비', '{맥날,mcdonalds,맥도널드}'),
    ('롯데리아', '식비', '{롯리}'),
    ('버거킹', '식비', '{버킹}'),
    ('맘스터치', '식비', '{맘터}'),
    ('KFC', '식비', '{케이에프씨}'),
    ('서브웨이', '식비', '{subway}'),
    ('김밥천국', '식비', '{김천}'),
    ('파리바게뜨', '식비', '{파바,빠리바게뜨,파리바게트}'),
    ('뚜레쥬르', '식비', '{뚜쥬}'),
    ('던킨', '식비', '{던킨도너츠}'),
    ('BBQ', '식비', '{비비큐}'),
    ('BHC', '식비', '{비에이치씨}'),
    ('교촌치킨', '식비', '{교촌}'),
    ('굽네치킨', '식비', '{굽네}'),
    ('도미노피자', '식비', '{도미노}'),
    ('피자헛', '식비', '{}'),
    ('엽기떡볶이', '식비', '{엽떡}'),
    ('신전떡볶이', '식비', '{신전}'),
    ('배달의민족', '식비', '{배민}'),
    ('요기요', '식비', '{}'),
    ('쿠팡이츠', '식비', '{}'),
    ('본죽', '식비', '{}'),
    ('이삭토스트', '식비', '{이삭}'),
    ('봉구스밥버거', '식비', '{봉구스}'),
    ('다이소', '쇼핑', '{daiso}'),
    ('올리브영', '쇼핑', '{올영,oliveyoung}'),
    ('쿠팡', '쇼핑', '{coupang}'),
    ('이마트', '쇼핑', '{emart}'),
    ('홈플러스', '쇼핑', '{}'),
    ('롯데마트', '쇼핑', '{}'),
    ('무신사', '쇼핑', '{}'),
    ('에이블리', '쇼핑', '{}'),
    ('지그재그', '쇼핑', '{}'),
    ('아트박스', '쇼핑', '{}'),
    ('11번가', '쇼핑', '{십일번가}'),
    ('G마켓', '쇼핑', '{지마켓}'),
    ('유니클로', '쇼핑', '{}'),
    ('탑텐', '쇼핑', '{}'),
    ('스파오', '쇼핑', '{}'),
    ('나이키', '쇼핑', '{nike}'),
    ('아디다스', '쇼핑', '{adidas}'),
    ('교보문고', '교육/도서', '{교보}'),
    ('영풍문고', '교육/도서', '{영풍}'),
    ('알라딘', '교육/도서', '{}'),
    ('예스24', '교육/도서', '{yes24}'),
    ('핫트랙스', '교육/도서', '{}'),
    ('CGV', '문화/여가', '{씨지브이}'),
    ('메가박스', '문화/여가', '{}'),
    ('롯데시네마', '문화/여가', '{}'),
    ('코인노래방', '문화/여가', '{코노}'),
    ('넷플릭스', '문화/여가', '{netflix}'),
    ('유튜브 프리미엄', '문화/여가', '{유튜브프리미엄,유튭 프리미엄}'),
    ('멜론', '문화/여가', '{melon}'),
    ('닌텐도', '문화/여가', '{nintendo}'),
    ('구글플레이', '문화/여가', '{구글 플레이,google play}'),
    ('앱스토어', '문화/여가', '{app store}'),
    ('롯데월드', '문화/여가', '{}'),
    ('에버랜드', '문화/여가', '{}'),
    ('카카오T', '교통', '{카카오택시,카카오 택시}'),
    ('티머니', '교통', '{t-money,tmoney}'),
    ('코레일', '교통', '{korail}'),
    ('SRT', '교통', '{}'),
    ('따릉이', '교통', '{}'),
    ('SKT', '통신', '{sk텔레콤}'),
    ('KT', '통신', '{케이티}'),
    ('LG U+', '통신', '{lgu+,유플러스,lg유플러스}'),
    ('유니세프', '기부', '{unicef}'),
    ('굿네이버스', '기부', '{}'),
    ('월드비전', '기부', '{}'),
    ('초록우산', '기부', '{어린이재단}'),
    ('카카오톡 선물하기', '선물/경조사', '{선물하기,카톡 선물하기}');

-- Ledger entries: real pocket money, spent or received.
CREATE TABLE stockking.ledger_entry (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    family_id   uuid NOT NULL,
    user_id     uuid NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('EXPENSE', 'INCOME')),
    entry_date  date NOT NULL,
    amount      bigint NOT NULL CHECK (amount BETWEEN 1 AND 1000000000),
    merchant    text CHECK (length(merchant) BETWEEN 1 AND 100),
    category    text NOT NULL CHECK (length(category) BETWEEN 1 AND 50),
    memo        text NOT NULL DEFAULT '' CHECK (length(memo) <= 500),
    source      text NOT NULL CHECK (source IN ('CHAT', 'IMPORT')),
    import_id   bigint,
    fingerprint uuid,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    legacy_fingerprint uuid  -- last: an upgraded 0.1.0 table gains it at its end
);
CREATE INDEX ledger_entry_user_date ON stockking.ledger_entry (user_id, entry_date, id);
CREATE INDEX ledger_entry_family ON stockking.ledger_entry (family_id);
CREATE UNIQUE INDEX ledger_entry_fingerprint ON stockking.ledger_entry (user_id, fingerprint) WHERE fingerprint IS NOT NULL;
CREATE UNIQUE INDEX ledger_entry_legacy_fingerprint ON stockking.ledger_entry (user_id, legacy_fingerprint)
    WHERE legacy_fingerprint IS NOT NULL;
COMMENT ON TABLE stockking.ledger_entry IS
    'a ledger entry: EXPENSE or INCOME of amount won (1 .. 1e9) on entry_date; fingerprint identifies an imported row so a file imported twice adds nothing';
COMMENT ON COLUMN stockking.ledger_entry.user_id IS
    'the owner; like cash_ledger, no foreign key: rows are written only by api functions with the caller''s own ids, and two foreign-key triggers per row would halve the import rate';
COMMENT ON COLUMN stockking.ledger_entry.legacy_fingerprint IS
    'the fingerprint release 0.1.0 gave an imported row, where the upgrade could not prove the row''s SHA-256 one (fingerprint is then NULL; stockking.ledger_refingerprint()): an import counts a row with this 0.1.0 fingerprint as already in the ledger.  NULL for every entry made since 0.2.0';

-- The chat's pending entries: a parse awaiting confirmation (ADD), or a
-- change to a saved entry awaiting confirmation (MODIFY, DELETE).
CREATE TABLE stockking.ledger_pending (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    family_id       uuid NOT NULL REFERENCES stockking.family (id),
    user_id         uuid NOT NULL REFERENCES stockking.users (id),
    action          text NOT NULL CHECK (action IN ('ADD', 'MODIFY', 'DELETE')),
    target_entry_id bigint,
    message         text NOT NULL,
    parse           jsonb NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('EXPENSE', 'INCOME')),
    amount          bigint CHECK (amount BETWEEN 1 AND 1000000000),
    entry_date      date NOT NULL,
    merchant        text,
    category        text NOT NULL CHECK (length(category) BETWEEN 1 AND 50),
    memo            text NOT NULL DEFAULT '' CHECK (length(memo) <= 500),
    duplicate_of    bigint,
    status          text NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'CONFIRMED', 'CANCELED', 'EXPIRED')),
    entry_id        bigint,
    expires_at      timestamptz NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ledger_pending_user ON stockking.ledger_pending (user_id, id DESC) WHERE status = 'PENDING';
CREATE INDEX ledger_pending_family ON stockking.ledger_pending (family_id);
COMMENT ON TABLE stockking.ledger_pending IS
    'a chat message awaiting confirmation: ADD a new entry, MODIFY or DELETE target_entry_id; expires 10 minutes after its last change';

-- CSV imports: the file, its detected shape and mapping, until committed.
CREATE TABLE stockking.ledger_import (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    family_id       uuid NOT NULL REFERENCES stockking.family (id),
    user_id         uuid NOT NULL REFERENCES stockking.users (id),
    file_sha256     text NOT NULL,
    body            bytea,
    bytes           integer NOT NULL,
    inspect         jsonb NOT NULL,
    mapping         jsonb NOT NULL,
    status          text NOT NULL DEFAULT 'PREVIEW' CHECK (status IN ('PREVIEW', 'COMMITTED')),
    row_count       integer NOT NULL DEFAULT 0,
    error_count     integer NOT NULL DEFAULT 0,
    inserted        integer,
    duplicates      integer,
    skipped_invalid integer,
    created_at      timestamptz NOT NULL DEFAULT now(),
    committed_at    timestamptz
);
CREATE INDEX ledger_import_user ON stockking.ledger_import (user_id, id DESC);
CREATE INDEX ledger_import_family ON stockking.ledger_import (family_id);
COMMENT ON TABLE stockking.ledger_import IS
    'an uploaded CSV: PREVIEW keeps the file (body) for the commit; COMMITTED drops it and records what was added';

-- The monthly summary per user, kind and category, maintained in the same
-- transaction as the entries by statement triggers over transition tables
-- (one grouped upsert per statement, whatever its row count), and rebuilt
-- from the entries by stockking.ledger_refresh_summary() (pg_cron, nightly)
-- as a check that nothing drifted.
CREATE TABLE stockking.ledger_monthly (
    user_id   uuid NOT NULL,
    month     date NOT NULL CHECK (extract(day FROM month) = 1),
    kind      text NOT NULL,
    category  text NOT NULL,
    family_id uuid NOT NULL,
    total     bigint NOT NULL,
    entries   integer NOT NULL,
    PRIMARY KEY (user_id, month, kind, category)
);
CREATE INDEX ledger_monthly_family ON stockking.ledger_monthly (family_id);
COMMENT ON TABLE stockking.ledger_monthly IS
    'sum (won) and count of a user''s entries per month, kind and category; current in every transaction (statement triggers)';

CREATE TABLE stockking.ledger_budget (
    user_id       uuid NOT NULL REFERENCES stockking.users (id),
    category      text NOT NULL CHECK (length(category) BETWEEN 1 AND 50),
    family_id     uuid NOT NULL REFERENCES stockking.family (id),
    monthly_limit bigint NOT NULL CHECK (monthly_limit BETWEEN 1 AND 1000000000),
    updated_by    uuid,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, category)
);
CREATE INDEX ledger_budget_family ON stockking.ledger_budget (family_id);
COMMENT ON TABLE stockking.ledger_budget IS
    'a monthly spending limit (won) of a user for an expense category, or 전체 for all expenses; set by the user or a parent';

CREATE TABLE stockking.ledger_budget_alert (
    user_id    uuid NOT NULL,
    category   text NOT NULL,
    month      date NOT NULL,
    threshold  integer NOT NULL CHECK (threshold IN (80, 100)),
    family_id  uuid NOT NULL,
    spent      bigint NOT NULL,
    budget     bigint NOT NULL,
    outbox_id  bigint,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, category, month, threshold)
);
COMMENT ON TABLE stockking.ledger_budget_alert IS 'budget alerts sent: once per user, category, month and threshold (80%, 100%)';

-- Row-level security.
ALTER TABLE stockking.merchant ENABLE ROW LEVEL SECURITY;
ALTER TABLE stockking.ledger_entry ENABLE ROW LEVEL SECURITY;
ALTER TABLE stockking.ledger_pending ENABLE ROW LEVEL SECURITY;
ALTER TABLE stockking.ledger_import ENABLE ROW LEVEL SECURITY;
ALTER TABLE stockking.ledger_monthly ENABLE ROW LEVEL SECURITY;
ALTER TABLE stockking.ledger_budget ENABLE ROW LEVEL SECURITY;
ALTER TABLE stockking.ledger_budget_alert ENABLE ROW LEVEL SECURITY;

CREATE POLICY merchant_read ON stockking.merchant FOR SELECT
    USING (family_id IS NULL OR family_id = (SELECT stockking.my_family()) OR (SELECT stockking.is_admin()));
CREATE POLICY merchant_insert ON stockking.merchant FOR INSERT
    WITH CHECK (CASE WHEN family_id IS NULL THEN (SELECT stockking.is_admin())
                     ELSE family_id = (SELECT stockking.my_family()) END);
CREATE POLICY merchant_update ON stockking.merchant FOR UPDATE
    USING (CASE WHEN family_id IS NULL THEN (SELECT stockking.is_admin())
                ELSE family_id = (SELECT stockking.my_family()) END);
CREATE POLICY merchant_delete ON stockking.merchant FOR DELETE
    USING (CASE WHEN family_id IS NULL THEN (SELECT stockking.is_admin())
                ELSE family_id = (SELECT stockking.my_family()) END);

CREATE POLICY ledger_entry_read ON stockking.ledger_entry FOR SELECT USING (stockking.can_read(family_id, user_id));
CREATE POLICY ledger_entry_insert ON stockking.ledger_entry FOR INSERT WITH CHECK (stockking.can_write(user_id));
CREATE POLICY ledger_entry_update ON stockking.ledger_entry FOR UPDATE USING (stockking.can_write(user_id));
CREATE POLICY ledger_entry_delete ON stockking.ledger_entry FOR DELETE USING (stockking.can_write(user_id));
CREATE POLICY ledger_pending_read ON stockking.ledger_pending FOR SELECT USING (stockking.can_read(family_id, user_id));
CREATE POLICY ledger_pending_insert ON stockking.ledger_pending FOR INSERT WITH CHECK (stockking.can_write(user_id));
CREATE POLICY ledger_pending_update ON stockking.ledger_pending FOR UPDATE USING (stockking.can_write(user_id));
CREATE POLICY ledger_import_read ON stockking.ledger_import FOR SELECT USING (stockking.can_read(family_id, user_id));
CREATE POLICY ledger_import_insert ON stockking.ledger_import FOR INSERT WITH CHECK (stockking.can_write(user_id));
CREATE POLICY ledger_import_update ON stockking.ledger_import FOR UPDATE USING (stockking.can_write(user_id));
CREATE POLICY ledger_monthly_read ON stockking.ledger_monthly FOR SELECT USING (stockking.can_read(family_id, user_id));
CREATE POLICY ledger_budget_read ON stockking.ledger_budget FOR SELECT USING (stockking.can_read(family_id, user_id));
CREATE POLICY ledger_budget_write ON stockking.ledger_budget FOR ALL
    USING (stockking.can_write(user_id) OR ((SELECT stockking.is_parent()) AND family_id = (SELECT stockking.my_family())))
    WITH CHECK (stockking.can_write(user_id) OR ((SELECT stockking.is_parent()) AND family_id = (SELECT stockking.my_family())));
CREATE POLICY ledger_budget_alert_read ON stockking.ledger_budget_alert FOR SELECT
    USING (stockking.can_read(family_id, user_id));

GRANT SELECT, INSERT, UPDATE, DELETE ON stockking.merchant, stockking.ledger_entry, stockking.ledger_budget
    TO stockking_definer;
GRANT SELECT, INSERT, UPDATE ON stockking.ledger_pending, stockking.ledger_import TO stockking_definer;
GRANT SELECT ON stockking.ledger_monthly, stockking.ledger_budget_alert TO stockking_definer;

-- The parser (C).
CREATE FUNCTION api.parse_ledger_text(args jsonb) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'stockking_ledger_parse_json'
    LANGUAGE C STABLE STRICT SECURITY DEFINER SET search_path = pg_catalog, stockking;
COMMENT ON FUNCTION api.parse_ledger_text(jsonb) IS
$$Parse a Korean ledger sentence.  Args: {"text": text (1..500 characters), "reference_date": "YYYY-MM-DD" (default
today in Asia/Seoul)}.  Changes nothing.
Returns {"kind": "EXPENSE"|"INCOME", "intent": "ADD"|"MODIFY"|"DELETE"|"QUERY", "amount": won (integer) or null,
"date": "YYYY-MM-DD" (ADD: the reference date when none is named; others: null when none is named), "merchant":
canonical name or null, "category": one of stockking.ledger_categories() or null, "memo": what is left of the
sentence, "confidence": 0.05..1.00, "reasons": [code...] (amount_missing, amount_without_unit, amount_multiple,
amount_unclear, date_not_stated, date_vague, date_previous_year, date_multiple, merchant_unknown, category_default,
kind_assumed, nothing_to_change), "question": text to ask back or null, "period": {"from","to"} and "query":
"TOTAL"|"TOP_MERCHANT"|"TOP_CATEGORY"|"COUNT" (QUERY only), "old": {"amount","date","merchant"} (MODIFY and DELETE
that name the entry they mean, e.g. "아까 맥날 8천원 말고 7500원이야": old 8000, today, 맥도날드; amount 7500)}.
No amount is never guessed: amount null, reason amount_missing, a question, confidence 0.20.
A date without a year that would be in the future is last year's; a stated future date is refused.
Errors: 22023 (400) text missing or empty; SK103 (400) text over 500 characters; 22007 (400) bad reference_date;
SK101 (422) a future date (내일, 다음주 금요일, 2099-01-01); SK102 (422) amount outside 1..1,000,000,000 won;
22008 (400) a date that does not exist (2월 30일).$$;

CREATE FUNCTION api.parse_ledger_text(text text, reference_date date) RETURNS stockking.ledger_parse_result
    AS 'MODULE_PATHNAME', 'stockking_ledger_parse'
    LANGUAGE C STABLE SECURITY DEFINER SET search_path = pg_catalog, stockking;
COMMENT ON FUNCTION api.parse_ledger_text(text, date) IS
$$The parse of api.parse_ledger_text(jsonb) as a record, for SQL clients (reference_date NULL = today in Asia/Seoul;
text NULL gives NULL).  Same C code, same refusals.$$;

CREATE FUNCTION stockking.ledger_bench(sentences text[], reference_date date, loops integer) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'stockking_ledger_bench'
    LANGUAGE C STABLE STRICT;
REVOKE ALL ON FUNCTION stockking.ledger_bench(text[], date, integer) FROM PUBLIC;
COMMENT ON FUNCTION stockking.ledger_bench(text[], date, integer) IS
    'bench: parse every sentence loops times in one C loop; returns {"parsed","seconds","per_second",...}';

-- The CSV reader (C).
CREATE FUNCTION stockking.ledger_csv_inspect(body bytea, content_type text) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'stockking_ledger_csv_inspect'
    LANGUAGE C STABLE;
COMMENT ON FUNCTION stockking.ledger_csv_inspect(bytea, text) IS
$$The shape of a CSV file: {"encoding": "UTF8"|"UHC", "delimiter", "header_line", "rows" (data rows),
"columns": [{"index","name","role","confidence","samples":[...]}], "mapping": {role: column index or null},
"missing": [roles the mapping lacks]}.  Roles: date, amount, withdrawal, deposit, description, category, memo, kind
(and balance, time: recognised, not imported).  Errors: SK108 (400) empty or undecodable file.$$;

CREATE FUNCTION stockking.ledger_csv_rows(body bytea, mapping jsonb, reference_date date)
    RETURNS TABLE (line integer, entry_date date, kind text, amount bigint, merchant text, category text, memo text,
                   fingerprint uuid, error text, legacy_fingerprint uuid)
    AS 'MODULE_PATHNAME', 'stockking_ledger_csv_rows'
    LANGUAGE C STABLE;
COMMENT ON FUNCTION stockking.ledger_csv_rows(bytea, jsonb, date) IS
$$The data rows of a CSV file under a mapping ({role: column index or header name}, plus "negative": "income"
(default: a negative amount is money back) or "expense"), each normalised, or with error set.  fingerprint is the
row's SHA-256 fingerprint (stockking.ledger_row_fingerprint), legacy_fingerprint the one release 0.1.0 gave the same
row (stockking.ledger_row_fingerprint_v1), to match ledger_entry.legacy_fingerprint.
Errors: SK108 (400) undecodable file; SK111 (422) a mapping without date or amount, or naming a column that does not exist.$$;

-- Summary maintenance: one grouped upsert per statement.
CREATE FUNCTION stockking.ledger_summary_upsert(delta jsonb) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
BEGIN
    INSERT INTO stockking.ledger_monthly AS m (user_id, month, kind, category, family_id, total, entries)
    SELECT d.user_id, d.month, d.kind, d.category, d.family_id, d.total, d.entries
      FROM jsonb_to_recordset(delta) AS d (user_id uuid, month date, kind text, category text, family_id uuid,
                                           total bigint, entries integer)
     ORDER BY 1, 2, 3, 4
    ON CONFLICT (user_id, month, kind, category)
    DO UPDATE SET total = m.total + EXCLUDED.total, entries = m.entries + EXCLUDED.entries;
    DELETE FROM stockking.ledger_monthly m
     USING jsonb_to_recordset(delta) AS d (user_id uuid, month date, kind text, category text)
     WHERE m.user_id = d.user_id AND m.month = d.month AND m.kind = d.kind AND m.category = d.category
       AND m.entries = 0;
    PERFORM stockking.ledger_check_budget(d.user_id, d.category)
       FROM (SELECT DISTINCT d.user_id, d.category
               FROM jsonb_to_recordset(delta) AS d (user_id uuid, month date, kind text, category text, total bigint)
              WHERE d.kind = 'EXPENSE' AND d.total > 0
                AND d.month = date_trunc('month', stockking.ledger_today())::date) d;
END
$$;
REVOKE ALL ON FUNCTION stockking.ledger_summary_upsert(jsonb) FROM PUBLIC;

CREATE FUNCTION stockking.ledger_entry_summary() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v_delta jsonb;
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT jsonb_agg(d) INTO v_delta FROM (
            SELECT user_id, date_trunc('month', entry_date)::date AS month, kind, category, family_id,
                   sum(amount) AS total, count(*) AS entries
              FROM new_rows GROUP BY 1, 2, 3, 4, 5) d;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT jsonb_agg(d) INTO v_delta FROM (
            SELECT user_id, date_trunc('month', entry_date)::date AS month, kind, category, family_id,
                   -sum(amount) AS total, -count(*) AS entries
              FROM old_rows GROUP BY 1, 2, 3, 4, 5) d;
    ELSE
        SELECT jsonb_agg(d) INTO v_delta FROM (
            SELECT user_id, month, kind, category, family_id, sum(total) AS total, sum(entries) AS entries
              FROM (SELECT user_id, date_trunc('month', entry_date)::date AS month, kind, category, family_id,
                           amount AS total, 1 AS entries FROM new_rows
                    UNION ALL
                    SELECT user_id, date_trunc('month', entry_date)::date, kind, category, family_id, -amount, -1
                      FROM old_rows) x
             GROUP BY 1, 2, 3, 4, 5
            HAVING sum(total) <> 0 OR sum(entries) <> 0) d;
    END IF;
    IF v_delta IS NOT NULL THEN
        PERFORM stockking.ledger_summary_upsert(v_delta);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER ledger_entry_summary_insert AFTER INSERT ON stockking.ledger_entry
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    WHEN (NOT stockking.restoring()) EXECUTE FUNCTION stockking.ledger_entry_summary();
CREATE TRIGGER ledger_entry_summary_update AFTER UPDATE ON stockking.ledger_entry
    REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows FOR EACH STATEMENT
    WHEN (NOT stockking.restoring()) EXECUTE FUNCTION stockking.ledger_entry_summary();
CREATE TRIGGER ledger_entry_summary_delete AFTER DELETE ON stockking.ledger_entry
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
    WHEN (NOT stockking.restoring()) EXECUTE FUNCTION stockking.ledger_entry_summary();

-- Budgets: the 80% and 100% events of the current month, once each.
CREATE FUNCTION stockking.ledger_check_budget(p_user uuid, p_category text) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v_month date := date_trunc('month', stockking.ledger_today())::date;
    b       stockking.ledger_budget;
    v_spent bigint;
    v_id    bigint;
    t       integer;
BEGIN
    FOR b IN SELECT * FROM stockking.ledger_budget
              WHERE user_id = p_user AND (category = p_category OR category = '전체' OR p_category = '전체')
    LOOP
        SELECT coalesce(sum(total), 0) INTO v_spent FROM stockking.ledger_monthly
         WHERE user_id = p_user AND month = v_month AND kind = 'EXPENSE'
           AND (b.category = '전체' OR category = b.category);
        FOREACH t IN ARRAY ARRAY[80, 100] LOOP
            -- spent / limit >= t%, in integers
            CONTINUE WHEN v_spent * 100 < b.monthly_limit * t;
            INSERT INTO stockking.ledger_budget_alert (user_id, category, month, threshold, family_id, spent, budget)
                VALUES (p_user, b.category, v_month, t, b.family_id, v_spent, b.monthly_limit)
                ON CONFLICT DO NOTHING;
            IF FOUND THEN
                v_id := stockking.emit_event(p_user, b.family_id, 'FAMILY',
                    CASE t WHEN 80 THEN 'LedgerBudgetWarning' ELSE 'LedgerBudgetExceeded' END,
                    jsonb_build_object('category', b.category, 'month', to_char(v_month, 'YYYY-MM'),
                                       'budget', b.monthly_limit, 'spent', v_spent, 'threshold', t,
                                       'percent', floor(v_spent * 100.0 / b.monthly_limit)));
                UPDATE stockking.ledger_budget_alert SET outbox_id = v_id
                 WHERE user_id = p_user AND category = b.category AND month = v_month AND threshold = t;
            END IF;
        END LOOP;
    END LOOP;
END
$$;
REVOKE ALL ON FUNCTION stockking.ledger_check_budget(uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION stockking.ledger_check_budget(uuid, text) TO stockking_definer;
COMMENT ON FUNCTION stockking.ledger_check_budget(uuid, text) IS
    'send LedgerBudgetWarning (80%) / LedgerBudgetExceeded (100%) to the family once per month, category and threshold';

-- JSON shapes.
CREATE FUNCTION stockking.ledger_entry_json(e stockking.ledger_entry) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
    SELECT jsonb_build_object('id', e.id, 'user_id', e.user_id, 'kind', e.kind, 'date', to_char(e.entry_date, 'YYYY-MM-DD'),
                              'amount', e.amount, 'merchant', e.merchant, 'category', e.category, 'memo', e.memo,
                              'source', e.source, 'import_id', e.import_id, 'created_at', e.created_at)
    $$;

CREATE FUNCTION stockking.ledger_pending_json(p stockking.ledger_pending) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
    SELECT jsonb_build_object('id', p.id, 'action', p.action, 'status', p.status, 'kind', p.kind, 'amount', p.amount,
                              'date', to_char(p.entry_date, 'YYYY-MM-DD'), 'merchant', p.merchant,
                              'category', p.category, 'memo', p.memo, 'target_entry_id', p.target_entry_id,
                              'duplicate_of', p.duplicate_of, 'entry_id', p.entry_id,
                              'needs', CASE WHEN p.action = 'ADD' AND p.amount IS NULL THEN '["amount"]'::jsonb
                                            ELSE '[]'::jsonb END,
                              'expires_at', p.expires_at)
    $$;

CREATE FUNCTION stockking.ledger_won(amount numeric) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT to_char(amount, 'FM999,999,999,990') || '원' $$;

-- The reply the chat shows for a pending entry.
CREATE FUNCTION stockking.ledger_reply(p stockking.ledger_pending) RETURNS text
    LANGUAGE sql STABLE
    AS $$
    SELECT CASE
        WHEN p.action = 'DELETE' THEN
            format('%s %s%s 기록을 지울까요?', to_char(p.entry_date, 'FMMM월 FMDD일'),
                   coalesce(p.merchant || ' ', ''), stockking.ledger_won(p.amount))
        WHEN p.amount IS NULL THEN
            CASE p.kind WHEN 'INCOME' THEN '얼마를 받았는지 알려 줄래요? (예: 5만원)'
                        ELSE '얼마를 썼는지 알려 줄래요? (예: 9천원)' END
        ELSE
            format('%s %s%s %s 걸로 %s (%s)%s',
                   to_char(p.entry_date, 'FMMM월 FMDD일'), coalesce(p.merchant || '에서 ', nullif(p.memo, '') || ' ', ''),
                   stockking.ledger_won(p.amount), CASE p.kind WHEN 'INCOME' THEN '받은' ELSE '쓴' END,
                   CASE WHEN p.action = 'MODIFY' THEN '고칠까요?' ELSE '기록할까요?' END, p.category,
                   CASE WHEN p.duplicate_of IS NOT NULL THEN ' 같은 날 같은 금액의 기록이 이미 있어요.' ELSE '' END)
    END
    $$;

-- A likely duplicate: an entry of the user with the same amount and merchant on the same day.
CREATE FUNCTION stockking.ledger_find_duplicate(p_user uuid, p_date date, p_amount bigint, p_merchant text,
                                                p_except bigint DEFAULT NULL) RETURNS bigint
    LANGUAGE sql STABLE
    AS $$
    SELECT id FROM stockking.ledger_entry
     WHERE user_id = p_user AND entry_date = p_date AND amount = p_amount
       AND merchant IS NOT DISTINCT FROM p_merchant AND id IS DISTINCT FROM p_except
     ORDER BY id LIMIT 1
    $$;

-- The answers to questions and the entry a correction names: sql/51_ledger_conversation.sql.

-- Chat.
CREATE FUNCTION api.ledger_chat(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v_user    uuid := stockking.require_user();
    v_message text := stockking.arg_text(args, 'message');
    v_family  uuid := stockking.my_family();
    v_today   date := stockking.ledger_today();
    p         jsonb;
    v_intent  text;
    v_open    stockking.ledger_pending;
    v_target  stockking.ledger_entry;
    v_new     stockking.ledger_pending;
    v_answer  jsonb;
    v_old     jsonb;
    v_stated_date boolean;
    v_stated_cat  boolean;
BEGIN
    p := api.parse_ledger_text(jsonb_build_object('text', v_message, 'reference_date', to_char(v_today, 'YYYY-MM-DD')));
    v_intent := p ->> 'intent';
    v_stated_date := p ->> 'date' IS NOT NULL AND NOT (p -> 'reasons' ? 'date_not_stated');
    v_stated_cat := p ->> 'category' IS NOT NULL AND NOT (p -> 'reasons' ? 'category_default');
    -- the entry a correction or a deletion names ("8천원 말고 ..."), NULL: the conversation's latest
    v_old := p -> 'old';

    IF v_intent = 'QUERY' THEN
        v_answer := stockking.ledger_query_answer(v_user, p);
        RETURN jsonb_build_object('intent', 'QUERY', 'parse', p, 'reply', v_answer ->> 'reply', 'answer', v_answer - 'reply');
    END IF;

    -- the latest open pending entry of the user: the conversation's context
    SELECT * INTO v_open FROM stockking.ledger_pending
     WHERE user_id = v_user AND status = 'PENDING' AND expires_at > now()
     ORDER BY id DESC LIMIT 1 FOR UPDATE;

    -- an open pending entry that the message does not name is no context for it
    IF v_open.id IS NOT NULL AND v_old IS NOT NULL
       AND NOT stockking.ledger_matches(v_old, v_open.amount, v_open.merchant, v_open.entry_date, v_open.created_at) THEN
        v_open := NULL;
    END IF;

    IF v_intent = 'DELETE' THEN
        IF v_open.id IS NOT NULL THEN
            UPDATE stockking.ledger_pending SET status = 'CANCELED', updated_at = now() WHERE id = v_open.id
                RETURNING * INTO v_open;
            RETURN jsonb_build_object('intent', 'DELETE', 'parse', p, 'reply', '입력하던 기록을 취소했어요.',
                                      'pending', stockking.ledger_pending_json(v_open));
        END IF;
        v_target := stockking.ledger_find_target(v_user, v_old);
        INSERT INTO stockking.ledger_pending (family_id, user_id, action, target_entry_id, message, parse, kind, amount,
                                              entry_date, merchant, category, memo, expires_at)
            VALUES (v_target.family_id, v_user, 'DELETE', v_target.id, v_message, p, v_target.kind, v_target.amount,
                    v_target.entry_date, v_target.merchant, v_target.category, v_target.memo, now() + interval '10 minutes')
            RETURNING * INTO v_new;
        RETURN jsonb_build_object('intent', 'DELETE', 'parse', p, 'reply', stockking.ledger_reply(v_new),
                                  'pending', stockking.ledger_pending_json(v_new), 'entry', stockking.ledger_entry_json(v_target));
    END IF;

    -- a follow-up: a correction, or the answer to "how much?", changes the open pending entry
    IF v_open.id IS NOT NULL AND v_open.action IN ('ADD', 'MODIFY')
       AND (v_intent = 'MODIFY' OR (v_open.amount IS NULL AND p ->> 'amount' IS NOT NULL AND p ->> 'merchant' IS NULL)) THEN
        IF p ->> 'amount' IS NULL AND NOT v_stated_date AND p ->> 'merchant' IS NULL AND NOT v_stated_cat THEN
            RETURN jsonb_build_object('intent', 'MODIFY', 'parse', p, 'reply', p ->> 'question',
                                      'pending', stockking.ledger_pending_json(v_open));
        END IF;
        UPDATE stockking.ledger_pending SET
            amount = coalesce((p ->> 'amount')::bigint, amount),
            entry_date = CASE WHEN v_stated_date THEN (p ->> 'date')::date ELSE entry_date END,
            merchant = coalesce(p ->> 'merchant', merchant),
            category = CASE WHEN v_stated_cat AND p ->> 'kind' = kind THEN p ->> 'category' ELSE category END,
            memo = CASE WHEN p ->> 'memo' <> '' AND v_intent = 'ADD' THEN p ->> 'memo' ELSE memo END,
            message = message || E'\n' || v_message,
            expires_at = now() + interval '10 minutes', updated_at = now()
         WHERE id = v_open.id RETURNING * INTO v_new;
        UPDATE stockking.ledger_pending SET duplicate_of = CASE WHEN action = 'ADD' AND amount IS NOT NULL THEN
                   stockking.ledger_find_duplicate(v_user, entry_date, amount, merchant) END
         WHERE id = v_new.id RETURNING * INTO v_new;
        RETURN jsonb_build_object('intent', 'MODIFY', 'parse', p, 'updated', true, 'reply', stockking.ledger_reply(v_new),
                                  'pending', stockking.ledger_pending_json(v_new));
    END IF;

    IF v_intent = 'MODIFY' THEN
        v_target := stockking.ledger_find_target(v_user, v_old);
        IF p ->> 'amount' IS NULL AND NOT v_stated_date AND p ->> 'merchant' IS NULL AND NOT v_stated_cat THEN
            RETURN jsonb_build_object('intent', 'MODIFY', 'parse', p, 'reply', p ->> 'question',
                                      'entry', stockking.ledger_entry_json(v_target));
        END IF;
        INSERT INTO stockking.ledger_pending (family_id, user_id, action, target_entry_id, message, parse, kind, amount,
                                              entry_date, merchant, category, memo, expires_at)
            VALUES (v_target.family_id, v_user, 'MODIFY', v_target.id, v_message, p,
                    -- a stated category of the other kind changes the kind too ("수정 라면 3천원" on an income)
                    CASE WHEN NOT v_stated_cat THEN v_target.kind
                         WHEN p ->> 'category' IN ('용돈', '기타수입') THEN 'INCOME' ELSE 'EXPENSE' END,
                    coalesce((p ->> 'amount')::bigint, v_target.amount),
                    CASE WHEN v_stated_date THEN (p ->> 'date')::date ELSE v_target.entry_date END,
                    coalesce(p ->> 'merchant', v_target.merchant),
                    CASE WHEN v_stated_cat THEN p ->> 'category' ELSE v_target.category END,
                    v_target.memo, now() + interval '10 minutes')
            RETURNING * INTO v_new;
        RETURN jsonb_build_object('intent', 'MODIFY', 'parse', p, 'reply', stockking.ledger_reply(v_new),
                                  'pending', stockking.ledger_pending_json(v_new), 'entry', stockking.ledger_entry_json(v_target));
    END IF;

    -- ADD: a new pending entry (without an amount it asks back)
    INSERT INTO stockking.ledger_pending (family_id, user_id, action, message, parse, kind, amount, entry_date, merchant,
                                          category, memo, duplicate_of, expires_at)
        VALUES (v_family, v_user, 'ADD', v_message, p, p ->> 'kind', (p ->> 'amount')::bigint, (p ->> 'date')::date,
                p ->> 'merchant', p ->> 'category', p ->> 'memo',
                CASE WHEN p ->> 'amount' IS NOT NULL THEN
                    stockking.ledger_find_duplicate(v_user, (p ->> 'date')::date, (p ->> 'amount')::bigint, p ->> 'merchant')
                END,
                now() + interval '10 minutes')
        RETURNING * INTO v_new;
    RETURN jsonb_build_object('intent', 'ADD', 'parse', p, 'reply', stockking.ledger_reply(v_new),
                              'pending', stockking.ledger_pending_json(v_new));
END
$$;
COMMENT ON FUNCTION api.ledger_chat(jsonb) IS
$$POST /v1/ledger/chat: one chat message.  Args: {"message": text (1..500 characters)}.
ADD: returns {"intent":"ADD","parse":{...api.parse_ledger_text...},"reply": text,"pending":{"id","action","status",
"kind","amount","date","merchant","category","memo","duplicate_of" (an entry with the same amount and merchant that
day, or null),"needs":["amount"] when the amount is missing,"expires_at"}}: confirm or cancel it within 10 minutes.
A follow-up (a correction like "아니 8천원이었어", or the amount asked for) changes the latest open pending entry
("updated": true).  With no open entry, MODIFY and DELETE ("방금 거 취소해줘") prepare a change to the caller's
latest entry as a pending action to confirm; DELETE with an open entry cancels that entry.
A correction or deletion that names the entry ("아까 맥날 8천원 말고 7500원이야", "어제 스벅 거 지워줘": the parse's
"old") acts on the open pending entry if it matches, else on the latest entry if it matches, else on the one entry
of the last 30 days that matches (see stockking.ledger_find_target).
QUERY answers at once: {"intent":"QUERY","reply","answer":{"period","query","kind","merchant","category", and for
TOTAL ("이번 달 얼마 썼어?") "expense","income","entries","by_category"; TOP_MERCHANT / TOP_CATEGORY ("제일 많이 쓴 데가
어디야?") "top","ranking"; COUNT ("맥날 몇 번 갔어?") "count","total"}}.
Errors: 22023 (400) no message; SK103 (400) too long; SK101 (422) a future date; SK102 (422) amount out of range;
SK112 (404) nothing to modify or delete; SK113 (404) no entry matches what the message names; SK114 (409) several
entries match it; 28000 (401).$$;

CREATE FUNCTION stockking.ledger_pending_for_update(args jsonb) RETURNS stockking.ledger_pending
    LANGUAGE plpgsql VOLATILE
    AS $$
DECLARE
    v_user uuid := stockking.require_user();
    v      stockking.ledger_pending;
BEGIN
    SELECT * INTO v FROM stockking.ledger_pending
     WHERE id = stockking.arg_bigint(args, 'id') AND user_id = v_user FOR UPDATE;
    IF v.id IS NULL THEN
        RAISE EXCEPTION 'pending entry % not found', args ->> 'id' USING ERRCODE = 'P0002';
    END IF;
    IF v.status <> 'PENDING' THEN
        RAISE EXCEPTION 'pending entry % is %', v.id, lower(v.status) USING ERRCODE = 'SK106';
    END IF;
    IF v.expires_at <= now() THEN
        RAISE EXCEPTION 'pending entry % expired at %', v.id, to_char(v.expires_at AT TIME ZONE 'Asia/Seoul', 'YYYY-MM-DD HH24:MI')
            USING ERRCODE = 'SK105', HINT = 'Send the message again.';
    END IF;
    RETURN v;
END
$$;

CREATE FUNCTION api.ledger_chat_confirm(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v stockking.ledger_pending := stockking.ledger_pending_for_update(args);
    e stockking.ledger_entry;
BEGIN
    IF v.action = 'ADD' THEN
        IF v.amount IS NULL THEN
            RAISE EXCEPTION 'the pending entry has no amount yet' USING ERRCODE = 'SK107',
                HINT = 'Answer with the amount, for example "9천원".';
        END IF;
        IF v.entry_date > stockking.ledger_today() THEN
            RAISE EXCEPTION 'the date % is in the future', to_char(v.entry_date, 'YYYY-MM-DD') USING ERRCODE = 'SK101';
        END IF;
        INSERT INTO stockking.ledger_entry (family_id, user_id, kind, entry_date, amount, merchant, category, memo, source)
            VALUES (v.family_id, v.user_id, v.kind, v.entry_date, v.amount, v.merchant, v.category, v.memo, 'CHAT')
            RETURNING * INTO e;
    ELSIF v.action = 'MODIFY' THEN
        UPDATE stockking.ledger_entry SET kind = v.kind, amount = v.amount, entry_date = v.entry_date, merchant = v.merchant,
               category = v.category, updated_at = now()
         WHERE id = v.target_entry_id AND user_id = v.user_id RETURNING * INTO e;
        IF e.id IS NULL THEN
            RAISE EXCEPTION 'ledger entry % no longer exists', v.target_entry_id USING ERRCODE = 'P0002';
        END IF;
    ELSE
        DELETE FROM stockking.ledger_entry WHERE id = v.target_entry_id AND user_id = v.user_id RETURNING * INTO e;
        IF e.id IS NULL THEN
            RAISE EXCEPTION 'ledger entry % no longer exists', v.target_entry_id USING ERRCODE = 'P0002';
        END IF;
    END IF;
    UPDATE stockking.ledger_pending SET status = 'CONFIRMED', entry_id = e.id, updated_at = now() WHERE id = v.id
        RETURNING * INTO v;
    RETURN jsonb_build_object('pending', stockking.ledger_pending_json(v),
                              CASE WHEN v.action = 'DELETE' THEN 'deleted' ELSE 'entry' END, stockking.ledger_entry_json(e));
END
$$;
COMMENT ON FUNCTION api.ledger_chat_confirm(jsonb) IS
$$POST /v1/ledger/chat/:id/confirm: carry out a pending entry of the caller.  Args: {"id"}.
ADD saves the entry; MODIFY changes the target entry; DELETE deletes it.
Returns {"pending":{... "status":"CONFIRMED","entry_id"}, "entry": the saved entry} ("deleted" for DELETE).
Errors: P0002 (404) no such pending entry of the caller, or the target entry is gone; SK106 (409) confirmed or
canceled already; SK105 (409) expired; SK107 (422) no amount yet; SK101 (422) future date; 28000 (401).$$;

CREATE FUNCTION api.ledger_chat_cancel(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v stockking.ledger_pending := stockking.ledger_pending_for_update(args);
BEGIN
    UPDATE stockking.ledger_pending SET status = 'CANCELED', updated_at = now() WHERE id = v.id RETURNING * INTO v;
    RETURN jsonb_build_object('pending', stockking.ledger_pending_json(v), 'reply', '취소했어요.');
END
$$;
COMMENT ON FUNCTION api.ledger_chat_cancel(jsonb) IS
$$POST /v1/ledger/chat/:id/cancel: drop a pending entry of the caller.  Args: {"id"}.  Returns {"pending":{... "status":
"CANCELED"},"reply"}.  Errors: P0002 (404); SK106 (409) closed already; SK105 (409) expired; 28000 (401).$$;

-- Import.
CREATE FUNCTION stockking.ledger_import_preview(i stockking.ledger_import, p_rows jsonb) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
    SELECT jsonb_build_object(
        'id', i.id, 'status', i.status, 'bytes', i.bytes, 'encoding', i.inspect -> 'encoding',
        'delimiter', i.inspect -> 'delimiter', 'header_line', i.inspect -> 'header_line',
        'columns', i.inspect -> 'columns', 'mapping', i.mapping, 'missing', i.inspect -> 'missing',
        'same_file_as', (SELECT min(o.id) FROM stockking.ledger_import o
                          WHERE o.user_id = i.user_id AND o.file_sha256 = i.file_sha256 AND o.id <> i.id
                            AND o.status = 'COMMITTED'),
        'created_at', i.created_at) || p_rows
    $$;

-- the rows of an import under a mapping: counts, errors, duplicates and a sample.  The duplicate
-- check is one index probe per row (LATERAL ... LIMIT 1 is never turned into a join whose plan
-- could scan the user's entries once per row); the second probe looks a row's 0.1.0 fingerprint up
-- in the partial index of the entries that kept only that, when the user has any (asked once: most
-- users have none, and their rows then cost no second probe)
CREATE FUNCTION stockking.ledger_import_rows(i stockking.ledger_import, p_mapping jsonb) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
    WITH r AS (SELECT x.*, x.error IS NULL AND (d.dup IS NOT NULL OR l.dup IS NOT NULL) AS duplicate
                 FROM stockking.ledger_csv_rows(i.body, p_mapping, stockking.ledger_today()) x
                 LEFT JOIN LATERAL (SELECT 1 AS dup FROM stockking.ledger_entry e
                                     WHERE e.user_id = i.user_id AND e.fingerprint = x.fingerprint LIMIT 1) d ON true
                 LEFT JOIN LATERAL (SELECT 1 AS dup FROM stockking.ledger_entry e
                                     WHERE EXISTS (SELECT 1 FROM stockking.ledger_entry o
                                                    WHERE o.user_id = i.user_id AND o.legacy_fingerprint IS NOT NULL)
                                       AND e.user_id = i.user_id AND e.legacy_fingerprint = x.legacy_fingerprint LIMIT 1) l ON true)
    SELECT jsonb_build_object(
        'rows', (SELECT count(*) FROM r),
        'valid', (SELECT count(*) FROM r WHERE error IS NULL),
        'errors', (SELECT count(*) FROM r WHERE error IS NOT NULL),
        'duplicates', (SELECT count(*) FROM r WHERE duplicate),
        'row_errors', coalesce((SELECT jsonb_agg(jsonb_build_object('line', line, 'error', error) ORDER BY line)
                                  FROM (SELECT line, error FROM r WHERE error IS NOT NULL ORDER BY line LIMIT 50) x), '[]'),
        'sample', coalesce((SELECT jsonb_agg(jsonb_build_object('line', line, 'date', to_char(entry_date, 'YYYY-MM-DD'),
                                                                'kind', kind, 'amount', amount, 'merchant', merchant,
                                                                'category', category, 'memo', memo,
                                                                'duplicate', duplicate) ORDER BY line)
                              FROM (SELECT * FROM r WHERE error IS NULL ORDER BY line LIMIT 20) x), '[]'))
    $$;

CREATE FUNCTION api.ledger_import_create(args jsonb, body bytea) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, stockking
    SET work_mem = '64MB'  -- a 100,000-row file's rows stay in memory
    AS $$
DECLARE
    v_user    uuid := stockking.require_user();
    v_inspect jsonb;
    v_rows    jsonb;
    i         stockking.ledger_import;
BEGIN
    IF body IS NULL OR octet_length(body) = 0 THEN
        RAISE EXCEPTION 'the file is empty' USING ERRCODE = 'SK108', HINT = 'Send the CSV file itself as the request body.';
    END IF;
    v_inspect := stockking.ledger_csv_inspect(body, stockking.arg_text(args, 'content_type', false));
    INSERT INTO stockking.ledger_import (family_id, user_id, file_sha256, body, bytes, inspect, mapping)
        VALUES (stockking.my_family(), v_user, encode(sha256(body), 'hex'), body, octet_length(body), v_inspect,
                v_inspect -> 'mapping')
        RETURNING * INTO i;
    IF jsonb_array_length(v_inspect -> 'missing') = 0 THEN
        v_rows := stockking.ledger_import_rows(i, i.mapping);
    ELSE
        v_rows := jsonb_build_object('rows', v_inspect -> 'rows', 'valid', 0, 'errors', v_inspect -> 'rows',
                                     'duplicates', 0, 'sample', '[]'::jsonb,
                                     'row_errors', jsonb_build_array(jsonb_build_object('line', null, 'error',
                                         'no column for ' || (SELECT string_agg(x, ', ') FROM jsonb_array_elements_text(v_inspect -> 'missing') x)
                                         || ': choose one in the mapping override')));
    END IF;
    UPDATE stockking.ledger_import SET row_count = (v_rows ->> 'rows')::integer, error_count = (v_rows ->> 'errors')::integer
     WHERE id = i.id RETURNING * INTO i;
    RETURN stockking.ledger_import_preview(i, v_rows);
END
$$;
COMMENT ON FUNCTION api.ledger_import_create(jsonb, bytea) IS
$$POST /v1/ledger/imports (body: the CSV file itself, UTF-8 or CP949/EUC-KR, comma, tab or semicolon separated, quoted
fields allowed; route raw_body).  Args: {"content_type"} (a charset=euc-kr/cp949 there skips detection).
Stores the file and answers its preview: {"id","status":"PREVIEW","encoding","delimiter","header_line",
"columns":[{"index","name","role","confidence","samples"}],"mapping":{"date","amount","withdrawal","deposit",
"description","category","memo","kind": column index or null},"missing":[roles],"rows","valid","errors","duplicates"
(rows already in the ledger),"row_errors":[{"line","error"}] (first 50),"sample":[first 20 rows],"same_file_as"}.
Errors: SK108 (400) empty or undecodable file; 28000 (401).$$;

CREATE FUNCTION api.ledger_import_commit(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, stockking
    SET work_mem = '64MB'  -- a 100,000-row file's rows stay in memory
    AS $$
DECLARE
    v_user     uuid := stockking.require_user();
    v_override jsonb := args -> 'mapping';
    v_skip     boolean := coalesce((args ->> 'skip_invalid')::boolean, false);
    v_mapping  jsonb;
    v_rows     jsonb;
    v_count    integer;
    v_errors   integer;
    v_inserted integer;
    i          stockking.ledger_import;
BEGIN
    SELECT * INTO i FROM stockking.ledger_import
     WHERE id = stockking.arg_bigint(args, 'id') AND user_id = v_user FOR UPDATE;
    IF i.id IS NULL THEN
        RAISE EXCEPTION 'import % not found', args ->> 'id' USING ERRCODE = 'P0002';
    END IF;
    IF i.status <> 'PREVIEW' THEN
        RAISE EXCEPTION 'import % was committed already', i.id USING ERRCODE = 'SK109';
    END IF;
    IF v_override IS NOT NULL AND jsonb_typeof(v_override) <> 'null' THEN
        IF jsonb_typeof(v_override) <> 'object' THEN
            RAISE EXCEPTION 'field "mapping" must be an object' USING ERRCODE = '22023';
        END IF;
        v_mapping := i.mapping || v_override;
    ELSE
        v_mapping := i.mapping;
    END IF;
    -- one pass: insert the good rows and count the bad; any bad row (unless skipped) rolls it all back.
    -- A row is in the ledger already when an entry has its fingerprint (the conflict) or, made by
    -- 0.1.0 and not proven by the upgrade, its 0.1.0 fingerprint (ledger_entry.legacy_fingerprint),
    -- looked up only when the user has such entries (asked once: most users have none)
    WITH r AS (SELECT * FROM stockking.ledger_csv_rows(i.body, v_mapping, stockking.ledger_today())),
         ins AS (INSERT INTO stockking.ledger_entry (family_id, user_id, kind, entry_date, amount, merchant, category, memo,
                                                     source, import_id, fingerprint)
                 SELECT i.family_id, i.user_id, r.kind, r.entry_date, r.amount, r.merchant, r.category, r.memo, 'IMPORT',
                        i.id, r.fingerprint
                   FROM r WHERE r.error IS NULL
                    AND NOT (EXISTS (SELECT 1 FROM stockking.ledger_entry o
                                      WHERE o.user_id = i.user_id AND o.legacy_fingerprint IS NOT NULL)
                             AND EXISTS (SELECT 1 FROM stockking.ledger_entry e
                                          WHERE e.user_id = i.user_id AND e.legacy_fingerprint = r.legacy_fingerprint))
                 ON CONFLICT (user_id, fingerprint) WHERE fingerprint IS NOT NULL DO NOTHING
                 RETURNING 1)
    SELECT (SELECT count(*) FROM r), (SELECT count(*) FROM r WHERE error IS NOT NULL), (SELECT count(*) FROM ins)
      INTO v_count, v_errors, v_inserted;
    IF v_errors > 0 AND NOT v_skip THEN
        v_rows := stockking.ledger_import_rows(i, v_mapping);
        RAISE EXCEPTION 'the import has % rows with errors', v_errors USING ERRCODE = 'SK110',
            DETAIL = (SELECT string_agg(format('line %s: %s', x ->> 'line', x ->> 'error'), '; ')
                        FROM (SELECT x FROM jsonb_array_elements(v_rows -> 'row_errors') x LIMIT 5) y),
            HINT = 'Fix the mapping, or commit with "skip_invalid": true to leave those rows out.';
    END IF;
    IF v_count = 0 THEN
        RAISE EXCEPTION 'the file has no data rows' USING ERRCODE = 'SK108';
    END IF;
    UPDATE stockking.ledger_import SET status = 'COMMITTED', mapping = v_mapping, body = NULL, inserted = v_inserted,
           duplicates = v_count - v_errors - v_inserted, skipped_invalid = v_errors, committed_at = now()
     WHERE id = i.id RETURNING * INTO i;
    RETURN jsonb_build_object('id', i.id, 'status', i.status, 'mapping', i.mapping, 'rows', v_count,
                              'inserted', i.inserted, 'duplicates', i.duplicates, 'skipped_invalid', i.skipped_invalid);
END
$$;
COMMENT ON FUNCTION api.ledger_import_commit(jsonb) IS
$$POST /v1/ledger/imports/:id/commit: add an import's rows to the caller's ledger, all or nothing.
Args: {"id", "mapping": {role: column index or header name or null, "negative": "income"|"expense"} (optional
override, merged over the detected mapping), "skip_invalid": boolean (default false: any row error refuses the commit)}.
Rows already in the ledger (same date, kind, amount, description, and occurrence within the file) are not added
again, so a file imported twice adds nothing the second time -- also when the first import was made by release 0.1.0.
Returns {"id","status":"COMMITTED","mapping","rows","inserted","duplicates","skipped_invalid"}.
Errors: P0002 (404) no such import of the caller; SK109 (409) committed already; SK110 (422) rows with errors;
SK111 (422) bad mapping; 28000 (401).$$;

CREATE FUNCTION api.ledger_import_get(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    i stockking.ledger_import;
BEGIN
    PERFORM stockking.require_user();
    SELECT * INTO i FROM stockking.ledger_import WHERE id = stockking.arg_bigint(args, 'id');
    IF i.id IS NULL THEN
        RAISE EXCEPTION 'import % not found', args ->> 'id' USING ERRCODE = 'P0002';
    END IF;
    RETURN stockking.ledger_import_preview(i, jsonb_build_object('rows', i.row_count, 'errors', i.error_count,
                                                                 'inserted', i.inserted, 'duplicates', i.duplicates,
                                                                 'skipped_invalid', i.skipped_invalid));
END
$$;
COMMENT ON FUNCTION api.ledger_import_get(jsonb) IS
$$GET /v1/ledger/imports/:id: an import's mapping and counts.  Args: {"id"}.  Errors: P0002 (404); 28000 (401).$$;

-- Entries, summaries, budgets, merchants.
CREATE FUNCTION stockking.ledger_subject(args jsonb) RETURNS uuid
    LANGUAGE plpgsql STABLE
    AS $$
DECLARE
    v_user uuid := stockking.require_user();
    v_arg  text := stockking.arg_text(args, 'user_id', false);
    v_id   uuid;
BEGIN
    IF v_arg IS NULL OR v_arg = '' THEN
        RETURN v_user;
    END IF;
    IF v_arg !~ '^[0-9a-fA-F-]{36}$' THEN
        RAISE EXCEPTION 'field "user_id" must be a uuid' USING ERRCODE = '22023';
    END IF;
    -- row-level security: the user, a parent of the family, or ADMIN sees the row
    SELECT id INTO v_id FROM stockking.users WHERE id = v_arg::uuid;
    IF v_id IS NULL THEN
        RAISE EXCEPTION 'user % not found', v_arg USING ERRCODE = 'P0002';
    END IF;
    RETURN v_id;
END
$$;
COMMENT ON FUNCTION stockking.ledger_subject(jsonb) IS
    'whose ledger a read is about: args.user_id (a parent reads a child''s) or the caller; P0002 when not visible';

CREATE FUNCTION stockking.ledger_month_arg(args jsonb) RETURNS date
    LANGUAGE plpgsql STABLE
    AS $$
DECLARE
    t text := stockking.arg_text(args, 'month', false);
BEGIN
    IF t IS NULL THEN
        RETURN date_trunc('month', stockking.ledger_today())::date;
    END IF;
    IF t !~ '^[0-9]{4}-(0[1-9]|1[0-2])$' THEN
        RAISE EXCEPTION 'field "month" must be YYYY-MM' USING ERRCODE = '22007';
    END IF;
    RETURN make_date(left(t, 4)::integer, right(t, 2)::integer, 1);
END
$$;

CREATE FUNCTION api.ledger_entries(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v_subject  uuid := stockking.ledger_subject(args);
    v_from     date := stockking.arg_date(args, 'from', false);
    v_to       date := stockking.arg_date(args, 'to', false);
    v_kind     text := upper(stockking.arg_text(args, 'kind', false));
    v_category text := stockking.arg_text(args, 'category', false);
    v_q        text := stockking.arg_text(args, 'q', false);
    v_limit    bigint := coalesce(stockking.arg_bigint(args, 'limit', false), 20);
    v_cursor   text := stockking.arg_text(args, 'cursor', false);
    v_cdate    date;
    v_cid      bigint;
    v_items    jsonb;
    v_count    integer;
    v_last     stockking.ledger_entry;
BEGIN
    IF v_limit NOT BETWEEN 1 AND 100 THEN
        RAISE EXCEPTION 'field "limit" must be between 1 and 100' USING ERRCODE = '22023';
    END IF;
    IF v_kind IS NOT NULL AND v_kind NOT IN ('EXPENSE', 'INCOME') THEN
        RAISE EXCEPTION 'field "kind" must be EXPENSE or INCOME' USING ERRCODE = '22023';
    END IF;
    IF v_cursor IS NOT NULL THEN
        IF v_cursor !~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}\.[0-9]{1,18}$' THEN
            RAISE EXCEPTION 'field "cursor" is not a cursor of this list' USING ERRCODE = '22023';
        END IF;
        v_cdate := split_part(v_cursor, '.', 1)::date;
        v_cid := split_part(v_cursor, '.', 2)::bigint;
    END IF;
    SELECT coalesce(jsonb_agg(stockking.ledger_entry_json(e) ORDER BY e.entry_date DESC, e.id DESC), '[]'), count(*)
      INTO v_items, v_count
      FROM (SELECT * FROM stockking.ledger_entry
             WHERE user_id = v_subject
               AND (v_from IS NULL OR entry_date >= v_from) AND (v_to IS NULL OR entry_date <= v_to)
               AND (v_kind IS NULL OR kind = v_kind) AND (v_category IS NULL OR category = v_category)
               AND (v_q IS NULL OR strpos(coalesce(merchant, '') || ' ' || memo, v_q) > 0)
               AND (v_cursor IS NULL OR (entry_date, id) < (v_cdate, v_cid))
             ORDER BY entry_date DESC, id DESC LIMIT v_limit) e;
    IF v_count = v_limit THEN
        SELECT * INTO v_last FROM stockking.ledger_entry WHERE id = (v_items -> (v_count - 1) ->> 'id')::bigint;
    END IF;
    RETURN jsonb_build_object('user_id', v_subject, 'items', v_items,
                              'next_cursor', CASE WHEN v_last.id IS NOT NULL
                                                  THEN to_char(v_last.entry_date, 'YYYY-MM-DD') || '.' || v_last.id END);
END
$$;
COMMENT ON FUNCTION api.ledger_entries(jsonb) IS
$$GET /v1/ledger/entries: a ledger, newest first, in pages (keyset on date and id).
Args: {"user_id" (optional: a parent reads a child's ledger; default the caller), "from","to": YYYY-MM-DD,
"kind": EXPENSE|INCOME, "category", "q" (text in merchant or memo), "limit": 1..100 (default 20),
"cursor": the previous page's next_cursor}.
Returns {"user_id","items":[{"id","kind","date","amount","merchant","category","memo","source",...}],"next_cursor"
(null on the last page)}.  Errors: 22023/22007 (400) bad field; P0002 (404) user not visible; 28000 (401).$$;

CREATE FUNCTION api.ledger_entry_delete(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    e stockking.ledger_entry;
BEGIN
    DELETE FROM stockking.ledger_entry WHERE id = stockking.arg_bigint(args, 'id') AND user_id = stockking.require_user()
        RETURNING * INTO e;
    IF e.id IS NULL THEN
        RAISE EXCEPTION 'ledger entry % not found', args ->> 'id' USING ERRCODE = 'P0002';
    END IF;
    RETURN jsonb_build_object('deleted', stockking.ledger_entry_json(e));
END
$$;
COMMENT ON FUNCTION api.ledger_entry_delete(jsonb) IS
$$DELETE /v1/ledger/entries/:id: delete one of the caller's entries.  Returns {"deleted": entry}.
Errors: P0002 (404) no such entry of the caller; 28000 (401).$$;

CREATE FUNCTION stockking.ledger_budgets_json(p_user uuid, p_month date) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
    SELECT coalesce(jsonb_agg(jsonb_build_object(
               'category', b.category, 'budget', b.monthly_limit, 'spent', s.spent,
               'percent', floor(s.spent * 100.0 / b.monthly_limit),
               'alerts', coalesce((SELECT jsonb_agg(a.threshold ORDER BY a.threshold) FROM stockking.ledger_budget_alert a
                                    WHERE a.user_id = b.user_id AND a.category = b.category AND a.month = p_month), '[]'))
             ORDER BY b.category), '[]')
      FROM stockking.ledger_budget b
      CROSS JOIN LATERAL (SELECT coalesce(sum(m.total), 0) AS spent FROM stockking.ledger_monthly m
                           WHERE m.user_id = b.user_id AND m.month = p_month AND m.kind = 'EXPENSE'
                             AND (b.category = '전체' OR m.category = b.category)) s
     WHERE b.user_id = p_user
    $$;

CREATE FUNCTION api.ledger_summary(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v_subject uuid := stockking.ledger_subject(args);
    v_month   date := stockking.ledger_month_arg(args);
BEGIN
    RETURN (
        SELECT jsonb_build_object(
            'user_id', v_subject, 'month', to_char(v_month, 'YYYY-MM'),
            'expense', coalesce(sum(total) FILTER (WHERE kind = 'EXPENSE'), 0),
            'income', coalesce(sum(total) FILTER (WHERE kind = 'INCOME'), 0),
            'net', coalesce(sum(CASE kind WHEN 'INCOME' THEN total ELSE -total END), 0),
            'entries', coalesce(sum(entries), 0),
            'categories', coalesce(jsonb_agg(jsonb_build_object('kind', kind, 'category', category, 'total', total,
                                                                'entries', entries) ORDER BY kind, total DESC, category)
                                   FILTER (WHERE kind IS NOT NULL), '[]'),
            'budgets', stockking.ledger_budgets_json(v_subject, v_month))
          FROM stockking.ledger_monthly WHERE user_id = v_subject AND month = v_month);
END
$$;
COMMENT ON FUNCTION api.ledger_summary(jsonb) IS
$$GET /v1/ledger/summary?month=YYYY-MM: a month of a ledger from the monthly summary (kept current by triggers in
the same transaction as every entry change).  Args: {"month": YYYY-MM (default this month), "user_id" (optional)}.
Returns {"user_id","month","expense","income","net","entries" (won, counts),"categories":[{"kind","category","total",
"entries"}],"budgets":[{"category","budget","spent","percent","alerts":[80,100]}]}.
Errors: 22007 (400) bad month; P0002 (404) user not visible; 28000 (401).$$;

CREATE FUNCTION api.ledger_budget_put(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v_caller   uuid := stockking.require_user();
    v_subject  uuid := stockking.ledger_subject(args);
    v_category text := btrim(stockking.arg_text(args, 'category'));
    v_amount   bigint := stockking.arg_bigint(args, 'amount');
    v_family   uuid;
BEGIN
    IF length(v_category) NOT BETWEEN 1 AND 50 THEN
        RAISE EXCEPTION 'field "category" must be 1 to 50 characters long' USING ERRCODE = '22023';
    END IF;
    IF v_amount < 0 OR v_amount > 1000000000 THEN
        RAISE EXCEPTION 'field "amount" must be 0 (no budget) to 1,000,000,000 won' USING ERRCODE = 'SK102';
    END IF;
    IF v_subject <> v_caller AND NOT (stockking.is_parent() OR stockking.is_admin()) THEN
        RAISE EXCEPTION 'only a parent sets another user''s budget' USING ERRCODE = '42501';
    END IF;
    SELECT family_id INTO v_family FROM stockking.users WHERE id = v_subject;
    IF v_amount = 0 THEN
        DELETE FROM stockking.ledger_budget WHERE user_id = v_subject AND category = v_category;
    ELSE
        INSERT INTO stockking.ledger_budget (user_id, category, family_id, monthly_limit, updated_by)
            VALUES (v_subject, v_category, v_family, v_amount, v_caller)
            ON CONFLICT (user_id, category) DO UPDATE
            SET monthly_limit = EXCLUDED.monthly_limit, updated_by = EXCLUDED.updated_by, updated_at = now();
        PERFORM stockking.ledger_check_budget(v_subject, v_category);
    END IF;
    RETURN jsonb_build_object('user_id', v_subject,
                              'budgets', stockking.ledger_budgets_json(v_subject, date_trunc('month', stockking.ledger_today())::date));
END
$$;
COMMENT ON FUNCTION api.ledger_budget_put(jsonb) IS
$$PUT /v1/ledger/budgets: set a monthly budget.  Args: {"category": an expense category or 전체 (all expenses),
"amount": won 1..1,000,000,000 (0 removes the budget), "user_id" (optional: a parent sets a child's)}.
Reaching 80% and 100% of it in the current month sends LedgerBudgetWarning and LedgerBudgetExceeded to the family
(once each per month).  Returns {"user_id","budgets":[...]} as in the summary.
Errors: 22023 (400) bad category; SK102 (422) amount out of range; 42501 (403) a child setting another's budget;
P0002 (404) user not visible; 28000 (401).$$;

CREATE FUNCTION api.ledger_budgets(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v_subject uuid := stockking.ledger_subject(args);
    v_month   date := stockking.ledger_month_arg(args);
BEGIN
    RETURN jsonb_build_object('user_id', v_subject, 'month', to_char(v_month, 'YYYY-MM'),
                              'budgets', stockking.ledger_budgets_json(v_subject, v_month));
END
$$;
COMMENT ON FUNCTION api.ledger_budgets(jsonb) IS
$$GET /v1/ledger/budgets: budgets with this month's spending.  Args: {"user_id","month"} (optional).$$;

CREATE FUNCTION api.ledger_merchants(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
BEGIN
    PERFORM stockking.require_user();
    RETURN jsonb_build_object('items', coalesce((
        SELECT jsonb_agg(jsonb_build_object('id', id, 'name', name, 'category', category, 'aliases', aliases,
                                            'scope', CASE WHEN family_id IS NULL THEN 'GLOBAL' ELSE 'FAMILY' END)
                         ORDER BY family_id IS NULL, name)
          FROM stockking.merchant), '[]'));
END
$$;
COMMENT ON FUNCTION api.ledger_merchants(jsonb) IS
$$GET /v1/ledger/merchants: the merchants the parser knows for the caller: global ones and the family's own.
Returns {"items":[{"id","name","category","aliases","scope": GLOBAL|FAMILY}]}.$$;

CREATE FUNCTION api.ledger_merchant_add(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v_user     uuid := stockking.require_user();
    v_name     text := btrim(stockking.arg_text(args, 'name'));
    v_category text := stockking.arg_text(args, 'category');
    v_global   boolean := coalesce((args ->> 'global')::boolean, false);
    v_aliases  text[];
    m          stockking.merchant;
BEGIN
    IF length(v_name) NOT BETWEEN 1 AND 100 THEN
        RAISE EXCEPTION 'field "name" must be 1 to 100 characters long' USING ERRCODE = '22023';
    END IF;
    IF NOT v_category = ANY ((stockking.ledger_categories())[1:13]) THEN
        RAISE EXCEPTION 'field "category" must be one of %', array_to_string((stockking.ledger_categories())[1:13], ', ')
            USING ERRCODE = '22023';
    END IF;
    IF args ? 'aliases' AND jsonb_typeof(args -> 'aliases') <> 'null' THEN
        IF jsonb_typeof(args -> 'aliases') <> 'array'
           OR EXISTS (SELECT 1 FROM jsonb_array_elements(args -> 'aliases') a
                       WHERE jsonb_typeof(a) <> 'string' OR length(btrim(a #>> '{}')) NOT BETWEEN 1 AND 50)
           OR jsonb_array_length(args -> 'aliases') > 20 THEN
            RAISE EXCEPTION 'field "aliases" must be an array of at most 20 strings of 1 to 50 characters'
                USING ERRCODE = '22023';
        END IF;
        SELECT coalesce(array_agg(btrim(a)), '{}') INTO v_aliases FROM jsonb_array_elements_text(args -> 'aliases') a;
    END IF;
    IF v_global AND NOT stockking.is_admin() THEN
        RAISE EXCEPTION 'only ADMIN adds global merchants' USING ERRCODE = '42501';
    END IF;
    INSERT INTO stockking.merchant (family_id, name, category, aliases, created_by)
        VALUES (CASE WHEN v_global THEN NULL ELSE stockking.my_family() END, v_name, v_category,
                coalesce(v_aliases, '{}'), v_user)
        RETURNING * INTO m;
    RETURN jsonb_build_object('id', m.id, 'name', m.name, 'category', m.category, 'aliases', m.aliases,
                              'scope', CASE WHEN m.family_id IS NULL THEN 'GLOBAL' ELSE 'FAMILY' END);
END
$$;
COMMENT ON FUNCTION api.ledger_merchant_add(jsonb) IS
$$POST /v1/ledger/merchants: teach the parser a merchant for the caller's family (or, for ADMIN with "global": true,
for everyone).  Args: {"name": 1..100, "category": an expense category, "aliases": [text 1..50] (at most 20),
"global": boolean}.  The parser sees it at once.  Errors: 22023 (400) bad field; 23505 (409) the name exists;
42501 (403) global without ADMIN; 28000 (401).$$;

-- Maintenance (pg_cron, see stockking.ledger_install_jobs).
CREATE FUNCTION stockking.ledger_expire_pending() RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v_expired integer;
    v_purged  integer;
    v_imports integer;
BEGIN
    UPDATE stockking.ledger_pending SET status = 'EXPIRED', updated_at = now()
     WHERE status = 'PENDING' AND expires_at <= now();
    GET DIAGNOSTICS v_expired = ROW_COUNT;
    DELETE FROM stockking.ledger_pending WHERE status <> 'PENDING' AND updated_at < now() - interval '30 days';
    GET DIAGNOSTICS v_purged = ROW_COUNT;
    -- uncommitted uploads keep their file for a day
    DELETE FROM stockking.ledger_import WHERE status = 'PREVIEW' AND created_at < now() - interval '1 day';
    GET DIAGNOSTICS v_imports = ROW_COUNT;
    RETURN jsonb_build_object('expired', v_expired, 'purged', v_purged, 'imports_dropped', v_imports);
END
$$;
REVOKE ALL ON FUNCTION stockking.ledger_expire_pending() FROM PUBLIC;
COMMENT ON FUNCTION stockking.ledger_expire_pending() IS
    'pg_cron, every minute: mark expired pending chat entries EXPIRED, purge closed ones after 30 days, drop day-old uncommitted imports';

CREATE FUNCTION stockking.ledger_refresh_summary() RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v_fixed   integer;
    v_removed integer;
BEGIN
    -- writers wait for the few hundred milliseconds of the rebuild; readers go on
    LOCK TABLE stockking.ledger_entry IN SHARE MODE;
    INSERT INTO stockking.ledger_monthly AS m (user_id, month, kind, category, family_id, total, entries)
    SELECT user_id, date_trunc('month', entry_date)::date, kind, category, family_id, sum(amount), count(*)
      FROM stockking.ledger_entry GROUP BY 1, 2, 3, 4, 5
    ON CONFLICT (user_id, month, kind, category) DO UPDATE
       SET total = EXCLUDED.total, entries = EXCLUDED.entries
     WHERE (m.total, m.entries) IS DISTINCT FROM (EXCLUDED.total, EXCLUDED.entries);
    GET DIAGNOSTICS v_fixed = ROW_COUNT;
    DELETE FROM stockking.ledger_monthly m
     WHERE NOT EXISTS (SELECT 1 FROM stockking.ledger_entry e
                        WHERE e.user_id = m.user_id AND e.kind = m.kind AND e.category = m.category
                          AND e.entry_date >= m.month AND e.entry_date < (m.month + interval '1 month')::date);
    GET DIAGNOSTICS v_removed = ROW_COUNT;
    RETURN jsonb_build_object('upserted', v_fixed, 'removed', v_removed);
END
$$;
REVOKE ALL ON FUNCTION stockking.ledger_refresh_summary() FROM PUBLIC;
COMMENT ON FUNCTION stockking.ledger_refresh_summary() IS
    'pg_cron, nightly: rebuild stockking.ledger_monthly from the entries (the triggers keep it current; this proves it)';

CREATE FUNCTION stockking.ledger_install_jobs() RETURNS void
    LANGUAGE plpgsql VOLATILE
    AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_cron') THEN
        RAISE EXCEPTION 'pg_cron is not installed in this database' USING ERRCODE = '55000';
    END IF;
    EXECUTE $q$SELECT cron.schedule('stockking-ledger-expire', '* * * * *', 'SELECT stockking.ledger_expire_pending()')$q$;
    EXECUTE $q$SELECT cron.schedule('stockking-ledger-summary', '17 3 * * *', 'SELECT stockking.ledger_refresh_summary()')$q$;
END
$$;
REVOKE ALL ON FUNCTION stockking.ledger_install_jobs() FROM PUBLIC;
COMMENT ON FUNCTION stockking.ledger_install_jobs() IS
    'operators: schedule the ledger''s pg_cron jobs (expire pending chat entries every minute, rebuild summaries at 03:17); idempotent';

ALTER FUNCTION api.parse_ledger_text(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.parse_ledger_text(text, date) OWNER TO stockking_definer;
ALTER FUNCTION api.ledger_chat(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.ledger_chat_confirm(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.ledger_chat_cancel(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.ledger_import_create(jsonb, bytea) OWNER TO stockking_definer;
ALTER FUNCTION api.ledger_import_commit(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.ledger_import_get(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.ledger_entries(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.ledger_entry_delete(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.ledger_summary(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.ledger_budget_put(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.ledger_budgets(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.ledger_merchants(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.ledger_merchant_add(jsonb) OWNER TO stockking_definer;

INSERT INTO stockking.route (method, path, fn, roles, read_only, success_status, max_body, raw_body, summary) VALUES
    ('POST', '/v1/ledger/parse', 'parse_ledger_text', '{}', true, 200, 65536, false, 'Parse a Korean ledger sentence'),
    ('POST', '/v1/ledger/chat', 'ledger_chat', '{}', false, 200, 65536, false,
     'A chat message: a pending entry to confirm, a change, or an answer'),
    ('POST', '/v1/ledger/chat/:id/confirm', 'ledger_chat_confirm', '{}', false, 200, 65536, false,
     'Confirm a pending chat entry'),
    ('POST', '/v1/ledger/chat/:id/cancel', 'ledger_chat_cancel', '{}', false, 200, 65536, false,
     'Cancel a pending chat entry'),
    ('POST', '/v1/ledger/imports', 'ledger_import_create', '{}', false, 201, 33554432, true,
     'Upload a bank or card CSV export: its preview and mapping'),
    ('GET', '/v1/ledger/imports/:id', 'ledger_import_get', '{}', true, 200, 65536, false, 'An import''s mapping and counts'),
    ('POST', '/v1/ledger/imports/:id/commit', 'ledger_import_commit', '{}', false, 200, 65536, false,
     'Commit an import, all or nothing (optional mapping override)'),
    ('GET', '/v1/ledger/entries', 'ledger_entries', '{}', true, 200, 65536, false, 'Ledger entries, newest first, paginated'),
    ('DELETE', '/v1/ledger/entries/:id', 'ledger_entry_delete', '{}', false, 200, 65536, false, 'Delete a ledger entry'),
    ('GET', '/v1/ledger/summary', 'ledger_summary', '{}', true, 200, 65536, false, 'A month by category, with budgets'),
    ('GET', '/v1/ledger/budgets', 'ledger_budgets', '{}', true, 200, 65536, false, 'Monthly budgets and spending'),
    ('PUT', '/v1/ledger/budgets', 'ledger_budget_put', '{}', false, 200, 65536, false, 'Set a monthly category budget'),
    ('GET', '/v1/ledger/merchants', 'ledger_merchants', '{}', true, 200, 65536, false, 'Merchants the parser knows'),
    ('POST', '/v1/ledger/merchants', 'ledger_merchant_add', '{}', false, 201, 65536, false, 'Add a family (or global) merchant');
