-- Ledger chat, issue 10: the entry a correction or a deletion names, and the
-- answers to questions about the caller's entries.  api.ledger_chat
-- (sql/50_ledger.sql) calls these.
--
-- A correction names the entry as it is now and then the new values: "아까
-- 맥날 8천원 말고 7500원이야" names the entry of 8,000 won at 맥도날드 of
-- today (the parse's "old" object) and changes its amount to 7,500.  A
-- deletion names the entry the same way ("어제 맥날 8천원 지워줘").  Which
-- entry that is, in this order:
--   1. the caller's open pending entry, when it matches (the conversation's
--      context: the entry being typed);
--   2. the caller's latest entry, when it matches (a correction is most often
--      of what was just said);
--   3. the one entry of the caller that matches among those of the last 30
--      days (dated or entered then; a named day searches that day only).
-- None matches: SK113 (404).  Several match: SK114 (409), with up to five of
-- them in the detail; the caller says more (the day, the place).
-- A named day matches an entry of that day or entered on that day (Asia/
-- Seoul), so "아까 ... 말고" finds an entry dated yesterday but typed today.

INSERT INTO stockking.error_code VALUES
    ('SK113', 404, 'ledger_no_matching_entry', 'no entry of the caller matches the amount, day or place a correction or deletion names'),
    ('SK114', 409, 'ledger_ambiguous_entry', 'several entries of the caller match what a correction or deletion names: name the day or the place too');

-- does a ledger row (entry or pending entry) match the "old" object of a parse?
CREATE FUNCTION stockking.ledger_matches(p_old jsonb, p_amount bigint, p_merchant text, p_date date,
                                         p_created timestamptz) RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT (p_old ->> 'amount' IS NULL OR p_amount = (p_old ->> 'amount')::bigint)
       AND (p_old ->> 'merchant' IS NULL OR p_merchant = p_old ->> 'merchant')
       AND (p_old ->> 'date' IS NULL OR p_date = (p_old ->> 'date')::date
            OR (p_created AT TIME ZONE 'Asia/Seoul')::date = (p_old ->> 'date')::date)
    $$;
COMMENT ON FUNCTION stockking.ledger_matches(jsonb, bigint, text, date, timestamptz) IS
    'whether an entry (amount, merchant, date, entered at) is the one a parse''s "old" object names: every named field equal; a named day is the entry''s date or the day it was entered (Asia/Seoul)';

-- "6월 17일 맥도날드 8,000원": an entry or what a parse names, for messages
CREATE FUNCTION stockking.ledger_describe(p_date date, p_merchant text, p_amount bigint) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT concat_ws(' ', to_char(p_date, 'FMMM월 FMDD일'), p_merchant, stockking.ledger_won(p_amount))
    $$;

CREATE FUNCTION stockking.ledger_find_target(p_user uuid, p_old jsonb) RETURNS stockking.ledger_entry
    LANGUAGE plpgsql STABLE
    AS $$
DECLARE
    v_latest stockking.ledger_entry;
    v_ids    bigint[];
    v_list   text[];
    v_named  text;
BEGIN
    SELECT * INTO v_latest FROM stockking.ledger_entry WHERE user_id = p_user ORDER BY created_at DESC, id DESC LIMIT 1;
    IF v_latest.id IS NULL THEN
        RAISE EXCEPTION 'there is no ledger entry to change yet' USING ERRCODE = 'SK112';
    END IF;
    IF p_old IS NULL OR jsonb_typeof(p_old) <> 'object'
       OR stockking.ledger_matches(p_old, v_latest.amount, v_latest.merchant, v_latest.entry_date, v_latest.created_at) THEN
        RETURN v_latest;
    END IF;
    SELECT array_agg(e.id ORDER BY e.created_at DESC, e.id DESC),
           array_agg(stockking.ledger_describe(e.entry_date, e.merchant, e.amount) ORDER BY e.created_at DESC, e.id DESC)
      INTO v_ids, v_list
      FROM (SELECT * FROM stockking.ledger_entry e
             WHERE e.user_id = p_user
               AND (p_old ->> 'date' IS NOT NULL OR e.entry_date >= stockking.ledger_today() - 30
                    OR e.created_at >= now() - interval '30 days')
               AND stockking.ledger_matches(p_old, e.amount, e.merchant, e.entry_date, e.created_at)
             ORDER BY e.created_at DESC, e.id DESC LIMIT 6) e;
    v_named := stockking.ledger_describe((p_old ->> 'date')::date, p_old ->> 'merchant', (p_old ->> 'amount')::bigint);
    IF v_ids IS NULL THEN
        RAISE EXCEPTION 'no entry matches %', v_named USING ERRCODE = 'SK113',
            DETAIL = CASE WHEN p_old ->> 'date' IS NULL THEN 'Entries of the last 30 days were searched.'
                          ELSE 'Entries of that day were searched.' END,
            HINT = 'Name the amount, the day or the place as the entry has them.';
    END IF;
    IF cardinality(v_ids) > 1 THEN
        RAISE EXCEPTION '% entries match %', CASE WHEN cardinality(v_ids) > 5 THEN 'more than 5' ELSE cardinality(v_ids)::text END,
            v_named USING ERRCODE = 'SK114', DETAIL = array_to_string(v_list[1:5], '; '),
            HINT = 'Name the day or the place too, e.g. "어제 맥날 8천원 말고 7500원".';
    END IF;
    SELECT * INTO v_latest FROM stockking.ledger_entry WHERE id = v_ids[1];
    RETURN v_latest;
END
$$;
COMMENT ON FUNCTION stockking.ledger_find_target(uuid, jsonb) IS
$$The entry of p_user that a parse's "old" object ({"amount","date","merchant"}, or NULL: the latest entry) names:
the latest entry when it matches, else the only match among the entries of the last 30 days (dated or entered; a
named day searches that day).  Errors: SK112 (404) no entry at all; SK113 (404) none matches; SK114 (409) several
match (the detail lists up to five).  The caller's open pending entry is checked before, by api.ledger_chat.$$;

-- "6월 1일 ~ 6월 30일" (or one day)
CREATE FUNCTION stockking.ledger_period_text(p_from date, p_to date) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    SELECT CASE WHEN p_from = p_to THEN to_char(p_from, 'FMMM월 FMDD일')
                ELSE to_char(p_from, 'FMMM월 FMDD일') || ' ~ ' || to_char(p_to, 'FMMM월 FMDD일') END
    $$;

-- The entries a question is about: the user's in a period, of a merchant or of a category when named.
CREATE FUNCTION stockking.ledger_query_rows(p_user uuid, p_from date, p_to date, p_merchant text, p_category text)
    RETURNS SETOF stockking.ledger_entry
    LANGUAGE sql STABLE
    AS $$
    SELECT * FROM stockking.ledger_entry e
     WHERE e.user_id = p_user AND e.entry_date BETWEEN p_from AND p_to
       AND (p_merchant IS NULL OR e.merchant = p_merchant) AND (p_category IS NULL OR e.category = p_category)
    $$;

-- The answer to a QUERY parse p of the caller's entries.
CREATE FUNCTION stockking.ledger_query_answer(p_user uuid, p jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    AS $$
DECLARE
    v_from     date := (p #>> '{period,from}')::date;
    v_to       date := (p #>> '{period,to}')::date;
    v_query    text := coalesce(p ->> 'query', 'TOTAL');
    v_kind     text := coalesce(p ->> 'kind', 'EXPENSE');
    v_merchant text := p ->> 'merchant';
    -- a named merchant is the filter; its category is only what it implies
    v_category text := CASE WHEN p ->> 'merchant' IS NULL THEN p ->> 'category' END;
    v_filter   text := coalesce(p ->> 'merchant', p ->> 'category');
    v_period   text := stockking.ledger_period_text(v_from, v_to);
    v_verb     text := CASE v_kind WHEN 'INCOME' THEN '받은' ELSE '쓴' END;
    v_rank     jsonb;
    v_count    bigint;
    v_total    bigint;
    v_answer   jsonb;
BEGIN
    v_answer := jsonb_build_object('period', jsonb_build_object('from', to_char(v_from, 'YYYY-MM-DD'), 'to', to_char(v_to, 'YYYY-MM-DD')),
                                   'query', v_query, 'kind', v_kind, 'merchant', v_merchant, 'category', v_category);
    IF v_query = 'TOTAL' THEN
        WITH e AS (SELECT * FROM stockking.ledger_query_rows(p_user, v_from, v_to, v_merchant, v_category))
        SELECT v_answer || jsonb_build_object(
                   'expense', coalesce(sum(amount) FILTER (WHERE kind = 'EXPENSE'), 0),
                   'income', coalesce(sum(amount) FILTER (WHERE kind = 'INCOME'), 0), 'entries', count(*),
                   'by_category', coalesce((SELECT jsonb_agg(jsonb_build_object('kind', kind, 'category', category, 'total', s)
                                                             ORDER BY kind, s DESC, category)
                                              FROM (SELECT kind, category, sum(amount) AS s FROM e GROUP BY 1, 2) c), '[]')),
               count(*) FILTER (WHERE kind = v_kind)
          INTO v_answer, v_count FROM e;
        RETURN v_answer || jsonb_build_object('reply',
            CASE WHEN v_filter IS NULL THEN
                     format('%s: %s 썼고 %s 받았어요.', v_period, stockking.ledger_won((v_answer ->> 'expense')::bigint),
                            stockking.ledger_won((v_answer ->> 'income')::bigint))
                 ELSE format('%s %s: %s %s (%s번).', v_period, v_filter,
                             stockking.ledger_won((v_answer ->> lower(v_kind))::bigint),
                             CASE v_kind WHEN 'INCOME' THEN '받았어요' ELSE '썼어요' END, v_count) END);
    ELSIF v_query = 'COUNT' THEN
        SELECT count(*), coalesce(sum(amount), 0) INTO v_count, v_total
          FROM stockking.ledger_query_rows(p_user, v_from, v_to, v_merchant, v_category) WHERE kind = v_kind;
        RETURN v_answer || jsonb_build_object('count', v_count, 'total', v_total,
            'reply', format('%s %s: %s번, 모두 %s.', v_period, coalesce(v_filter, '기록'), v_count, stockking.ledger_won(v_total)));
    END IF;
    SELECT jsonb_agg(jsonb_build_object('name', name, 'total', total, 'entries', n) ORDER BY total DESC, n DESC, name)
      INTO v_rank
      FROM (SELECT CASE v_query WHEN 'TOP_MERCHANT' THEN merchant ELSE category END AS name, sum(amount) AS total,
                   count(*) AS n
              FROM stockking.ledger_query_rows(p_user, v_from, v_to, v_merchant, v_category)
             WHERE kind = v_kind AND (v_query <> 'TOP_MERCHANT' OR merchant IS NOT NULL)
             GROUP BY 1 ORDER BY 2 DESC, 3 DESC, 1 LIMIT 5) r;
    RETURN v_answer || jsonb_build_object('ranking', coalesce(v_rank, '[]'), 'top', v_rank -> 0,
        'reply', CASE WHEN v_rank IS NULL THEN format('%s: %s 기록이 없어요.', v_period,
                                                      CASE v_query WHEN 'TOP_MERCHANT' THEN '가게가 적힌' ELSE v_verb END)
                      ELSE format('%s 제일 많이 %s %s: %s (%s, %s번).', v_period, v_verb,
                                  CASE v_query WHEN 'TOP_MERCHANT' THEN '곳' ELSE '항목' END, v_rank #>> '{0,name}',
                                  stockking.ledger_won((v_rank #>> '{0,total}')::bigint), v_rank #>> '{0,entries}') END);
END
$$;
COMMENT ON FUNCTION stockking.ledger_query_answer(uuid, jsonb) IS
$$The answer to a QUERY parse of p_user's entries in its period, filtered by the merchant it names (else the category
it names).  query TOTAL: {"expense","income","entries","by_category"}; TOP_MERCHANT / TOP_CATEGORY: {"top","ranking":
[{"name","total","entries"}] (top 5 of the parse's kind; entries without a merchant do not rank as places)}; COUNT:
{"count","total"} of the parse's kind.  Always {"period","query","kind","merchant","category","reply"}.$$;
