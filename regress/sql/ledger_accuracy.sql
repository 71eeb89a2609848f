-- Ledger parser accuracy on the test sets of regress/data/ledger, each a
-- TSV of hand-written sentences with the expected kind, intent, amount,
-- date, merchant and category (reference date 2025-06-18, a Wednesday):
--   sentences.tsv  224 sentences written with the parser (every form of
--                  issue 5, every merchant alias group, every category)
--   holdout.tsv    60 sentences written afterwards without running the
--                  parser on them first (see docs/ledger.md for its first run)
-- The table prints the accuracy per set and field; a drop changes the counts
-- (the test fails) and lists the sentences it broke; meets_floor says
-- whether the accuracy the README states still holds.
\getenv abs_srcdir PG_ABS_SRCDIR
\set dev :abs_srcdir '/data/ledger/sentences.tsv'
\set holdout :abs_srcdir '/data/ledger/holdout.tsv'
CREATE TEMP TABLE ledger_case AS
SELECT set, row_number() OVER (ORDER BY set, i) AS n, f[1] AS text, f[2] AS kind, f[3] AS intent,
       nullif(f[4], '')::bigint AS amount, nullif(f[5], '')::date AS date, nullif(f[6], '') AS merchant,
       nullif(f[7], '') AS category
  FROM (SELECT s.set, string_to_array(l, E'\t') AS f, i
          FROM (VALUES ('development', :'dev'), ('holdout', :'holdout')) s (set, path),
               regexp_split_to_table(pg_read_file(s.path), E'\n') WITH ORDINALITY AS t (l, i)
         WHERE i > 1 AND l <> '') x;
SELECT set, count(*) AS sentences, count(DISTINCT text) AS distinct_sentences,
       count(*) FILTER (WHERE intent = 'ADD') AS add, count(*) FILTER (WHERE intent = 'MODIFY') AS modify,
       count(*) FILTER (WHERE intent = 'DELETE') AS delete, count(*) FILTER (WHERE intent = 'QUERY') AS query,
       count(*) FILTER (WHERE kind = 'INCOME') AS income, count(*) FILTER (WHERE amount IS NULL AND intent = 'ADD') AS no_amount
  FROM ledger_case GROUP BY set ORDER BY set;

CREATE TEMP TABLE ledger_got AS
SELECT c.n, r.* FROM ledger_case c, api.parse_ledger_text(c.text, '2025-06-18') r;

CREATE TEMP TABLE ledger_score AS
SELECT c.set, c.n, c.text,
       c.kind = g.kind AS kind, c.intent = g.intent AS intent, c.amount IS NOT DISTINCT FROM g.amount AS amount,
       c.date IS NOT DISTINCT FROM g.date AS date, c.merchant IS NOT DISTINCT FROM g.merchant AS merchant,
       c.category IS NOT DISTINCT FROM g.category AS category
  FROM ledger_case c JOIN ledger_got g USING (n);

SELECT set, field, count(*) AS cases, count(*) FILTER (WHERE ok) AS correct,
       round(100.0 * count(*) FILTER (WHERE ok) / count(*), 1) AS accuracy_pct, floor_pct,
       100.0 * count(*) FILTER (WHERE ok) / count(*) >= floor_pct AS meets_floor
  FROM (SELECT set, 'kind' AS field, kind AS ok, 98 AS floor_pct FROM ledger_score
        UNION ALL SELECT set, 'intent', intent, 98 FROM ledger_score
        UNION ALL SELECT set, 'amount', amount, 98 FROM ledger_score
        UNION ALL SELECT set, 'date', date, 98 FROM ledger_score
        UNION ALL SELECT set, 'merchant', merchant, 95 FROM ledger_score
        UNION ALL SELECT set, 'category', category, 95 FROM ledger_score
        UNION ALL SELECT set, 'all fields', kind AND intent AND amount AND date AND merchant AND category, 95
                    FROM ledger_score) x
 GROUP BY set, field, floor_pct
 ORDER BY set, array_position(ARRAY['kind', 'intent', 'amount', 'date', 'merchant', 'category', 'all fields'], field);

-- the sentences with a wrong field (none today)
SELECT s.set, s.text, c.kind AS want_kind, g.kind, c.intent AS want_intent, g.intent, c.amount AS want_amount, g.amount,
       to_char(c.date, 'YYYY-MM-DD') AS want_date, to_char(g.date, 'YYYY-MM-DD') AS date,
       c.merchant AS want_merchant, g.merchant, c.category AS want_category, g.category
  FROM ledger_score s JOIN ledger_case c USING (n) JOIN ledger_got g USING (n)
 WHERE NOT (s.kind AND s.intent AND s.amount AND s.date AND s.merchant AND s.category)
 ORDER BY s.n;
