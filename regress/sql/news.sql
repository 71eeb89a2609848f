-- Economy news: the JSON Feed importer (strict, all or nothing, idempotent
-- upsert by item id), the news API, and a replay season that never sees
-- news published after its clock.  A database of its own.
SET client_min_messages = warning;
SELECT current_database() AS regress_db \gset
DROP DATABASE IF EXISTS regress_sk_news;
CREATE DATABASE regress_sk_news;
\c regress_sk_news
SET client_min_messages = warning;
CREATE EXTENSION pgcrypto;
CREATE EXTENSION stockking;
\getenv datadir STOCKKING_DATA_DIR
SELECT count(*) AS symbols_loaded FROM jsonb_object_keys(stockking.load_market_data(:'datadir'));

CREATE FUNCTION public.try(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'regress_sk_web') THEN
        CREATE ROLE regress_sk_web LOGIN IN ROLE stockking_api;
    END IF;
END
$$;
GRANT EXECUTE ON FUNCTION public.try(text) TO PUBLIC;
SELECT :'datadir' || '/news/economy-news.json' AS feed \gset

--
-- The shipped feed: data/news/economy-news.json (JSON Feed 1.1).
--
SELECT r - 'first' - 'last' AS import, (r ->> 'first')::timestamptz AT TIME ZONE 'UTC' AS first_utc,
       (r ->> 'last')::timestamptz AT TIME ZONE 'UTC' AS last_utc
  FROM stockking.import_news(:'feed') r;
SELECT count(*) AS items, count(*) FILTER (WHERE url ~ '^https://en\.wikipedia\.org/wiki/') AS wikipedia,
       count(DISTINCT guid) AS ids, count(*) FILTER (WHERE cardinality(symbols) > 0) AS with_symbols,
       min(published_at) AT TIME ZONE 'America/New_York' AS first_new_york
  FROM stockking.news_item;
SELECT s AS symbol, count(*) FROM stockking.news_item, unnest(symbols) s GROUP BY s ORDER BY s;
-- importing it again writes nothing
SELECT stockking.import_news(:'feed') - 'first' - 'last' AS again;

--
-- Malformed feeds: SK350 naming the file and the line; nothing is imported.
--
SELECT '/tmp/stockking_regress_news_' || pg_backend_pid() AS baddir \gset
SELECT format('mkdir -p %s', :'baddir') AS mkdir_cmd, format('rm -rf %s', :'baddir') AS rmdir_cmd \gset
COPY (SELECT 1 WHERE false) TO PROGRAM :'mkdir_cmd';
SELECT count(*) AS items_before, max(updated_at) AS updated_before FROM stockking.news_item \gset

-- write lines to dir/feed.json (raw: CSV with a quote and a delimiter that never occur) and import it
CREATE FUNCTION pg_temp.try_import(dir text, lines text[]) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('COPY (SELECT unnest(%L::text[])) TO %L WITH (FORMAT csv, QUOTE %L, DELIMITER %L)',
                   lines, dir || '/feed.json', E'\x01', E'\x02');
    RETURN (stockking.import_news(dir || '/feed.json') - 'first' - 'last')::text;
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;
CREATE TEMP TABLE feed (line text[]);
INSERT INTO feed VALUES (ARRAY[
    '{',
    '  "version": "https://jsonfeed.org/version/1.1",',
    '  "title": "regress",',
    '  "home_page_url": "https://example.org/",',
    '  "items": [',
    '    {',
    '      "id": "regress-1",',
    '      "url": "https://en.wikipedia.org/wiki/S%26P_500",',
    '      "title": "S&P 500",',
    '      "summary": "요약",',
    '      "date_published": "2008-09-15T18:00:00-04:00",',
    '      "language": "ko",',
    '      "tags": ["시장"],',
    '      "_stockking": {"source": "Wikipedia", "symbols": ["SP500"]}',
    '    }',
    '  ]',
    '}']);
CREATE TEMP TABLE bad_line (no serial, line_no int, line text);
INSERT INTO bad_line (line_no, line) VALUES
    (2, '  "version": "https://jsonfeed.org/version/2",'),
    (2, '  "title2": "x",'),
    (3, '  "title": "",'),
    (4, '  "home_page_url": "ftp://example.org/",'),
    (5, '  "items": {'),
    (7, '      "id": 1,'),
    (8, '      "url": "https://en.wikipedia.org/wiki/S&P 500",'),
    (8, '      "url": "https:///wiki",'),
    (9, '      "title": "S&P 500\t",'),
    (10, '      "summary": "",'),
    (11, '      "date_published": "2008-09-15",'),
    (11, '      "date_published": "2008-09-15T18:00:00",'),
    (11, '      "date_published": "2008-02-30T18:00:00Z",'),
    (11, '      "date_published": "2999-01-01T00:00:00Z",'),
    (11, '      "date_published": "2008-09-15T25:00:00+09:00",'),
    (12, '      "language": "k",'),
    (13, '      "tags": "시장",'),
    (14, '      "_stockking": {"source": "Wikipedia", "symbols": ["TSLA"]}'),
    (14, '      "_stockking": {"source": "Wikipedia", "symbols": ["SP500", "SP500"]}'),
    (14, '      "_stockking": {"symbols": ["SP500"]}'),
    (14, '      "_stockking": {"source": "Wikipedia", "symbols": ["SP500"], "mood": "up"}'),
    (14, '      "stockking": {"source": "Wikipedia", "symbols": ["SP500"]}'),
    (14, '      "content_text": 7, "_stockking": {"source": "Wikipedia", "symbols": ["SP500"]}');
SELECT b.no, b.line_no, pg_temp.try_import(:'baddir', f.line[1:b.line_no - 1] || b.line || f.line[b.line_no + 1:]) AS error
  FROM bad_line b, feed f ORDER BY b.no;
-- two items with one id; a syntax error; not UTF-8; no items
SELECT pg_temp.try_import(:'baddir', f.line[1:14] || '    },'::text || f.line[6:15] || f.line[16:]) FROM feed f;
SELECT pg_temp.try_import(:'baddir', f.line[1:14] || f.line[16:]) FROM feed f;
SELECT pg_temp.try_import(:'baddir', f.line[1:4] || '  "items": []'::text || f.line[17:]) FROM feed f;
SELECT format('COPY (SELECT unnest(%L::text[])) TO %L WITH (FORMAT csv, QUOTE %L, DELIMITER %L, ENCODING %L)',
              ARRAY['{', '  "version": "https://jsonfeed.org/version/1.1",', '  "title": "café"', '}'],
              :'baddir' || '/feed.json', E'\x01', E'\x02', 'LATIN1') AS latin1 \gset
:latin1;
SELECT try(format('SELECT stockking.import_news(%L)', :'baddir' || '/feed.json'));
SELECT try($$SELECT stockking.import_news('feed.json')$$);
SET ROLE stockking_api;
SELECT try(format('SELECT stockking.import_news(%L)', :'feed'));
RESET ROLE;
SELECT count(*) = :items_before AS same_items, max(updated_at) = :'updated_before' AS none_updated FROM stockking.news_item;

-- a good feed adds its item; a changed item is updated, never deleted
SELECT pg_temp.try_import(:'baddir', f.line) FROM feed f;
SELECT stockking.import_news(:'baddir' || '/feed.json') - 'first' - 'last' AS unchanged;
SELECT pg_temp.try_import(:'baddir', f.line[1:8] || '      "title": "S&P 500, updated",'::text || f.line[10:]) FROM feed f;
SELECT guid, title, summary, feed FROM stockking.news_item WHERE guid = 'regress-1';
SELECT count(*) AS items FROM stockking.news_item;
COPY (SELECT 1 WHERE false) TO PROGRAM :'rmdir_cmd';
DELETE FROM stockking.news_item WHERE guid = 'regress-1';

--
-- The API: newest first, pages, symbols linked to instruments.
--
SET SESSION AUTHORIZATION regress_sk_web;
SELECT r -> 'season_id' AS season_id, r -> 'clock' AS clock, jsonb_array_length(r -> 'items') AS items,
       r -> 'items' -> 0 ->> 'title' AS newest, r -> 'next_before' IS NOT NULL AS more
  FROM api.list_news('{}') r;
SELECT (r -> 'items' -> 0) - 'id' - 'summary' AS newest FROM api.list_news('{"limit": 1}') r;
-- every item exactly once through the pages
WITH RECURSIVE pages (n, page) AS (
    SELECT 1, api.list_news('{"limit": 10}')
    UNION ALL
    SELECT n + 1, api.list_news(jsonb_build_object('limit', 10, 'before', page -> 'next_before'))
      FROM pages WHERE page ->> 'next_before' IS NOT NULL)
SELECT count(DISTINCT n) AS pages, count(*) AS items, count(DISTINCT i ->> 'id') AS distinct_items,
       bool_and((page ->> 'next_before' IS NOT NULL) = (n < (SELECT max(n) FROM pages))) AS cursor_until_the_end
  FROM pages, jsonb_array_elements(page -> 'items') i;
SELECT i ->> 'title' AS about_aapl, i -> 'symbols' AS symbols
  FROM jsonb_array_elements(api.list_news('{"symbol": "aapl"}') -> 'items') i;
SELECT try($$SELECT api.list_news('{"limit": 0}')$$);
SELECT try($$SELECT api.list_news('{"limit": 51}')$$);
SELECT try($$SELECT api.list_news('{"symbol": "S P"}')$$);
SELECT try($$SELECT api.list_news('{"symbol": "TSLA"}')$$);
SELECT try($$SELECT api.list_news('{"season_id": 999}')$$);
SELECT try($$SELECT api.list_news('{"season_id": "x"}')$$);
SELECT try($$SELECT api.list_news('{"before": 999999}')$$);

--
-- A replay season reads the news of its clock's day and before, in its market's time zone.
--
RESET SESSION AUTHORIZATION;
SELECT id AS replay FROM stockking.season WHERE code = 'REPLAY-2007' \gset
SELECT id AS live FROM stockking.season WHERE code = 'KRW-LIVE' \gset
UPDATE stockking.season SET clock_date = '2008-09-12' WHERE id = :replay;
SET SESSION AUTHORIZATION regress_sk_web;
SELECT r ->> 'clock' AS clock, (r ->> 'as_of')::timestamptz AT TIME ZONE 'America/New_York' AS as_of_new_york,
       jsonb_path_query_array(r, '$.items[0 to 2].title') AS newest_three
  FROM api.list_news(jsonb_build_object('season_id', :replay)) r;
SELECT bool_and((i ->> 'published_at')::timestamptz < '2008-09-13 00:00 America/New_York') AS none_after_the_clock
  FROM jsonb_array_elements(api.list_news(jsonb_build_object('season_id', :replay, 'limit', 50)) -> 'items') i;
-- the clock moves to Monday 2008-09-15: the weekend's and the day's news appear, the next day's not yet
RESET SESSION AUTHORIZATION;
UPDATE stockking.season SET clock_date = '2008-09-15' WHERE id = :replay;
SET SESSION AUTHORIZATION regress_sk_web;
SELECT jsonb_path_query_array(r, '$.items[0 to 2].title') AS newest_three
  FROM api.list_news(jsonb_build_object('season_id', :replay)) r;
-- the symbol filter and the clock together
SELECT jsonb_path_query_array(api.list_news(jsonb_build_object('season_id', :replay, 'symbol', 'SP500')), '$.items[*].published_at') AS sp500_news;
-- a LIVE season reads up to now
SELECT jsonb_array_length(api.list_news(jsonb_build_object('season_id', :live, 'limit', 50)) -> 'items') AS live_items;
RESET SESSION AUTHORIZATION;

-- the function runs as stockking_definer; the route is public and read-only
SELECT p.proname, pg_get_userbyid(p.proowner) AS owner, p.prosecdef AS security_definer
  FROM pg_proc p WHERE p.pronamespace = 'api'::regnamespace AND p.proname = 'list_news';
SELECT method, path, fn, roles, read_only FROM stockking.route WHERE path = '/v1/market/news';
SELECT sqlstate, http_status, name FROM stockking.error_code WHERE sqlstate BETWEEN 'SK350' AND 'SK359' ORDER BY sqlstate;

\c :regress_db
DROP DATABASE regress_sk_news;
