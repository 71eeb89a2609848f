--
-- Market data: the loader (stockking.load_market_data), the bar look-up and
-- season clock the trading engine uses, and the market api.
--
-- Needs STOCKKING_DATA_DIR: an absolute path, readable by the server, of a
-- copy of the repository's data/ directory.  Malformed files are written by
-- the server into a scratch directory under /tmp, removed at the end.
--
\getenv datadir STOCKKING_DATA_DIR
SET client_min_messages = warning;
SET datestyle = 'ISO, YMD';

-- Errors are shown as "SQLSTATE: message", so each test pins its SQLSTATE.
CREATE FUNCTION pg_temp.err(q text) RETURNS text
    LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;

-- What an api call returns, or its error.
CREATE FUNCTION pg_temp.call(fn text, args jsonb) RETURNS text
    LANGUAGE plpgsql AS $$
DECLARE
    r jsonb;
BEGIN
    EXECUTE format('SELECT api.%I($1)', fn) INTO r USING args;
    RETURN r::text;
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;

--
-- Loading the real data
--
SELECT key AS symbol, value -> 'rows' AS rows, value ->> 'first' AS first, value ->> 'last' AS last
  FROM jsonb_each(stockking.load_market_data(:'datadir'))
 ORDER BY key;

SELECT symbol, count(*) AS bars, min(bar_date) AS first, max(bar_date) AS last,
       count(volume) AS with_volume
  FROM stockking.price_bar
 WHERE symbol IN ('SP500', 'MSFT', 'AMZN', 'IBM', 'AAPL', 'GOOG')
 GROUP BY symbol
 ORDER BY symbol;

-- Real prices, to the sixth decimal, as the files give them: the first and
-- last days, and the crash of October 2008.
SELECT bar_date, open, high, low, close, volume
  FROM stockking.price_bar
 WHERE symbol = 'SP500'
   AND bar_date IN ('2000-01-03', '2008-09-29', '2008-10-10', '2020-04-17')
 ORDER BY bar_date;

-- Monthly rows are labelled "Jan 1 2000" but carry the month's close: each
-- bar is dated at its month's last weekday (April 2000 ends on a Sunday,
-- September 2000 on a Saturday).  open = high = low = close, no volume.
SELECT symbol, bar_date, to_char(bar_date, 'Dy') AS day, open, high, low, close, volume
  FROM stockking.price_bar
 WHERE symbol = 'MSFT' AND bar_date < '2000-11-01'
 ORDER BY bar_date;

SELECT count(*) AS monthly_bars,
       count(*) FILTER (WHERE extract(isodow FROM bar_date) <= 5
                          AND NOT EXISTS (SELECT 1
                                            FROM generate_series(bar_date + 1,
                                                     (date_trunc('month', bar_date) + interval '1 month - 1 day')::date,
                                                     interval '1 day') AS later (d)
                                           WHERE extract(isodow FROM later.d) <= 5)) AS at_last_weekday
  FROM stockking.price_bar
 WHERE symbol IN ('MSFT', 'AMZN', 'IBM', 'AAPL', 'GOOG');

SELECT symbol, bar_date, close
  FROM stockking.price_bar
 WHERE (symbol = 'GOOG' AND bar_date < '2004-10-01') OR (symbol = 'AAPL' AND bar_date > '2010-01-01')
 ORDER BY symbol, bar_date;

-- The source's S&P 500 monthly file (data/sp500.csv, not loaded) gives
-- 1394.46 for "Jan 1 2000": the daily close on the bar date of January 2000.
SELECT bar_date, round(close, 2) AS close FROM stockking.price_bar
 WHERE symbol = 'SP500' AND bar_date = (SELECT bar_date FROM stockking.price_bar
                                         WHERE symbol = 'MSFT' AND bar_date < '2000-02-01');

--
-- Idempotency: loading again changes nothing and writes nothing
--
SELECT count(*) AS bars, sum(close) AS sum_close, sum(volume) AS sum_volume
  FROM stockking.price_bar \gset before_
BEGIN;
SELECT key AS symbol, value - 'first' - 'last' AS result
  FROM jsonb_each(stockking.load_market_data(:'datadir'))
 ORDER BY key;
SELECT txid_current_if_assigned() IS NULL AS nothing_written;
COMMIT;
SELECT count(*) = :before_bars AS same_count, sum(close) = :before_sum_close AS same_closes,
       sum(volume) = :before_sum_volume AS same_volumes
  FROM stockking.price_bar;

-- The files are the truth for their symbols: a changed bar is put back, a
-- bar the file does not have is removed.
UPDATE stockking.price_bar SET close = 900 WHERE symbol = 'SP500' AND bar_date = '2008-10-10';
INSERT INTO stockking.price_bar VALUES ('MSFT', '2010-04-30', 30, 30, 30, 30, NULL);
SELECT key AS symbol, value - 'first' - 'last' AS result
  FROM jsonb_each(stockking.load_market_data(:'datadir'))
 WHERE key IN ('SP500', 'MSFT')
 ORDER BY key;
SELECT close FROM stockking.price_bar WHERE symbol = 'SP500' AND bar_date = '2008-10-10';
SELECT count(*) = :before_bars AS same_count, sum(close) = :before_sum_close AS same_closes
  FROM stockking.price_bar;

--
-- Malformed files: SK011 naming the file and the line (the header is line
-- 1); nothing is loaded, not even the rows before the bad one.
--
SELECT '/tmp/stockking_regress_market_' || pg_backend_pid() AS baddir \gset
SELECT format('mkdir -p %s', :'baddir') AS mkdir_cmd, format('rm -rf %s', :'baddir') AS rmdir_cmd \gset
COPY (SELECT 1 WHERE false) TO PROGRAM :'mkdir_cmd';

-- Write the two files into dir (one text[] element per line) and load them.
CREATE FUNCTION pg_temp.try_load(dir text, daily text[], monthly text[]) RETURNS text
    LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('COPY (SELECT unnest(%L::text[])) TO %L', daily, dir || '/sp500-2000.csv');
    EXECUTE format('COPY (SELECT unnest(%L::text[])) TO %L', monthly, dir || '/stocks.csv');
    RETURN pg_temp.err(format('SELECT stockking.load_market_data(%L)', dir));
END
$$;

CREATE TEMP TABLE good (daily text[], monthly text[]);
INSERT INTO good VALUES (
    ARRAY['date,open,high,low,close,adjclose,volume',
          '2000-01-03,1469.250000,1478.000000,1438.359985,1455.219971,1455.219971,931800000',
          '2000-01-04,1455.219971,1455.219971,1397.430054,1399.420044,1399.420044,1009000000'],
    ARRAY['symbol,date,price',
          'MSFT,Jan 1 2000,39.81',
          'MSFT,Feb 1 2000,36.35']);
CREATE TEMP TABLE bad_daily (no serial, line text);
INSERT INTO bad_daily (line) VALUES
    ('2000-01-04,1455.219971,1455.219971,1460.000000,1399.420044,1399.420044,1009000000'),
    ('2000-01-04,1455.219971,1455.219971,1397.430054,1500.000000,1399.420044,1009000000'),
    ('2000-01-04,1355.219971,1455.219971,1397.430054,1399.420044,1399.420044,1009000000'),
    ('01/04/2000,1455.219971,1455.219971,1397.430054,1399.420044,1399.420044,1009000000'),
    ('2000-02-30,1455.219971,1455.219971,1397.430054,1399.420044,1399.420044,1009000000'),
    ('2000-01-08,1455.219971,1455.219971,1397.430054,1399.420044,1399.420044,1009000000'),
    ('2999-01-04,1455.219971,1455.219971,1397.430054,1399.420044,1399.420044,1009000000'),
    ('2000-01-03,1455.219971,1455.219971,1397.430054,1399.420044,1399.420044,1009000000'),
    ('2000-01-04,1455.2199711,1455.219971,1397.430054,1399.420044,1399.420044,1009000000'),
    ('2000-01-04,1.455e3,1455.219971,1397.430054,1399.420044,1399.420044,1009000000'),
    ('2000-01-04,-1455.219971,1455.219971,1397.430054,1399.420044,1399.420044,1009000000'),
    ('2000-01-04,1455.219971,1455.219971,0.000000,1399.420044,1399.420044,1009000000'),
    ('2000-01-04, 1455.219971,1455.219971,1397.430054,1399.420044,1399.420044,1009000000'),
    ('2000-01-04,1455.219971,1455.219971,1397.430054,,1399.420044,1009000000'),
    ('2000-01-04,1455.219971,1455.219971,1397.430054,1399.420044,1399.420044,1009000000.5'),
    ('2000-01-04,1455.219971,1455.219971,1397.430054,1399.420044,1399.420044,-1'),
    ('2000-01-04,1455.219971,1455.219971,1397.430054,1399.420044,1399.420044'),
    ('2000-01-04,1455.219971,1455.219971,1397.430054,1399.420044,1399.420044,1009000000,7'),
    (''),
    ('"2000-01-04,1455.219971,1455.219971,1397.430054,1399.420044,1399.420044,1009000000');

-- Each bad line is line 3 of sp500-2000.csv; stocks.csv is good.
SELECT b.no, pg_temp.try_load(:'baddir', g.daily[1:2] || b.line, g.monthly) AS error
  FROM bad_daily b, good g
 ORDER BY b.no;

CREATE TEMP TABLE bad_monthly (no serial, line text);
INSERT INTO bad_monthly (line) VALUES
    ('TSLA,Mar 1 2000,100.00'),
    ('SP500,Mar 1 2000,1498.58'),
    ('msft,Mar 1 2000,43.22'),
    ('MSFT,Mar 15 2000,43.22'),
    ('MSFT,March 1 2000,43.22'),
    ('MSFT,2000-03-01,43.22'),
    ('MSFT,Feb 30 2000,43.22'),
    ('MSFT,Jan 1 2999,43.22'),
    ('MSFT,Feb 1 2000,43.22'),
    ('MSFT,Mar 1 2000,43.2200001'),
    ('MSFT,Mar 1 2000,0'),
    ('MSFT,Mar 1 2000,'),
    ('MSFT,Mar 1 2000');

-- Each bad line is line 4 of stocks.csv; sp500-2000.csv is good (and not loaded).
SELECT b.no, pg_temp.try_load(:'baddir', g.daily, g.monthly || b.line) AS error
  FROM bad_monthly b, good g
 ORDER BY b.no;

-- Headers, empty files, a bad line deep in a file.
SELECT pg_temp.try_load(:'baddir', ARRAY['Date,Open,High,Low,Close,Adj Close,Volume'] || g.daily[2:], g.monthly) FROM good g;
SELECT pg_temp.try_load(:'baddir', g.daily, ARRAY['symbol,date'] || g.monthly[2:]) FROM good g;
SELECT pg_temp.try_load(:'baddir', g.daily[1:1], g.monthly) FROM good g;
SELECT pg_temp.try_load(:'baddir', '{}', g.monthly) FROM good g;
SELECT pg_temp.try_load(:'baddir', g.daily,
                        g.monthly || ARRAY(SELECT format('IBM,%s,%s', to_char(d, 'Mon FMDD YYYY'), 100 + n)
                                             FROM generate_series(date '2000-01-01', date '2009-12-01', interval '1 month')
                                                  WITH ORDINALITY AS m (d, n))
                                  || 'IBM,Jan 1 2010,12O.5'::text)
  FROM good g;

-- Other errors of the loader
SELECT pg_temp.err($$SELECT stockking.load_market_data('data')$$);
SELECT pg_temp.err($$SELECT stockking.load_market_data(NULL)$$);
SELECT pg_temp.err($$SELECT stockking.load_market_data('/nonexistent/stockking-data')$$);
SET ROLE stockking_api;
SELECT pg_temp.err(format('SELECT stockking.load_market_data(%L)', :'datadir'));
RESET ROLE;

-- None of the above loaded anything.
SELECT count(*) = :before_bars AS same_count, sum(close) = :before_sum_close AS same_closes,
       sum(volume) = :before_sum_volume AS same_volumes
  FROM stockking.price_bar;

-- The good files do load.
SELECT pg_temp.try_load(:'baddir', g.daily, g.monthly) FROM good g;
SELECT symbol, count(*) FROM stockking.price_bar
 WHERE symbol IN ('SP500', 'MSFT', 'AMZN', 'IBM', 'AAPL', 'GOOG')
 GROUP BY symbol ORDER BY symbol;
SELECT key AS symbol, value - 'first' - 'last' AS result
  FROM jsonb_each(stockking.load_market_data(:'datadir'))
 ORDER BY key;
COPY (SELECT 1 WHERE false) TO PROGRAM :'rmdir_cmd';

--
-- stockking.bar_at and stockking.season_clock
--
-- The rest runs in one transaction, rolled back at the end, with the replay
-- season's clock pinned at its seeded date whatever other tests did to it.
BEGIN;
UPDATE stockking.season SET clock_date = '2007-10-01' WHERE code = 'REPLAY-2007';
SELECT (stockking.bar_at('SP500', '2008-10-12')).*;
SELECT (stockking.bar_at('SP500', '2008-10-10')).bar_date AS on_the_day,
       (stockking.bar_at('SP500', '2000-01-02')).bar_date AS before_data,
       (stockking.bar_at('SP500', 'infinity')).bar_date AS latest,
       (stockking.bar_at('sp500', '2008-10-10')).bar_date AS lower_case;
SELECT d, (stockking.bar_at('MSFT', d)).bar_date, (stockking.bar_at('MSFT', d)).close
  FROM unnest(ARRAY['2000-03-30', '2000-03-31', '2000-04-27', '2000-04-28', '2000-04-30', '2026-01-01']::date[]) AS d;
-- The same answer as the plain query, for every day and symbol.
SELECT count(*) AS probes,
       count(*) FILTER (WHERE stockking.bar_at(s, d) IS DISTINCT FROM
                                (SELECT p FROM stockking.price_bar p
                                  WHERE p.symbol = s AND p.bar_date <= d
                                  ORDER BY p.bar_date DESC LIMIT 1)) AS mismatches
  FROM (SELECT s, g::date AS d
          FROM unnest(ARRAY['SP500', 'MSFT', 'GOOG', 'NONE']) AS s,
               generate_series(date '1999-12-01', date '2020-05-01', interval '1 day') AS g) AS probe;

SELECT id AS live_id FROM stockking.season WHERE code = 'KRW-LIVE' \gset
SELECT id AS replay_id FROM stockking.season WHERE code = 'REPLAY-2007' \gset
SELECT stockking.season_clock(:replay_id) AS replay_clock,
       stockking.season_clock(:live_id) = (now() AT TIME ZONE 'Asia/Seoul')::date AS live_clock_is_seoul_today;
SELECT pg_temp.err('SELECT stockking.season_clock(0)');

--
-- The api, called as the proxy's role
--
SET ROLE stockking_api;
SELECT pg_temp.err('SELECT count(*) FROM stockking.price_bar');
SELECT pg_temp.err($$SELECT stockking.bar_at('SP500', '2008-10-10')$$);

-- api.search_stocks
SELECT pg_temp.call('search_stocks', '{"q": "s&p"}');
SELECT pg_temp.call('search_stocks', '{"q": " Ms "}');
SELECT jsonb_path_query_array(pg_temp.call('search_stocks', '{"q": "inc"}')::jsonb, '$.items[*].symbol') AS inc;
SELECT jsonb_path_query_array(pg_temp.call('search_stocks', '{"q": "A", "limit": "2"}')::jsonb, '$.items[*].symbol') AS a2;
SELECT jsonb_path_query_array(pg_temp.call('search_stocks', '{"q": "A", "limit": 100}')::jsonb, '$.items[*].symbol') AS a100;
SELECT jsonb_path_query_array(pg_temp.call('search_stocks', '{"q": "zzz"}')::jsonb, '$.items[*].symbol') AS none;
SELECT jsonb_path_query_array(pg_temp.call('search_stocks', '{}')::jsonb, '$.items[*].symbol')
       @> '["AAPL", "AMZN", "GOOG", "IBM", "MSFT", "SP500"]' AS all_listed;
SELECT pg_temp.call('search_stocks', jsonb_build_object('q', repeat('x', 100))) AS q100;
SELECT pg_temp.call('search_stocks', jsonb_build_object('q', repeat('x', 101))) AS q101;
SELECT pg_temp.call('search_stocks', '{"limit": 0}');
SELECT pg_temp.call('search_stocks', '{"limit": 101}');
SELECT pg_temp.call('search_stocks', '{"limit": "ten"}');
SELECT pg_temp.call('search_stocks', '{"q": ["s"]}');

-- api.get_stock
SELECT jsonb_pretty(pg_temp.call('get_stock', '{"code": "sp500"}')::jsonb - 'description' - 'source'
                    #- '{market,rule_source}' #- '{market,name}');
SELECT jsonb_pretty(pg_temp.call('get_stock', jsonb_build_object('code', 'SP500', 'season_id', :replay_id))::jsonb -> 'quote');
SELECT pg_temp.call('get_stock', jsonb_build_object('code', 'goog', 'season_id', :replay_id::text))::jsonb
       -> 'quote' AS goog_replay;
SELECT r -> 'clock' = to_jsonb((now() AT TIME ZONE 'Asia/Seoul')::date) AS clock_is_today,
       r #> '{quote,date}' AS quote_date
  FROM (SELECT pg_temp.call('get_stock', jsonb_build_object('code', 'SP500', 'season_id', :live_id))::jsonb) AS c (r);
SELECT r ->> 'interval' AS interval, r ->> 'first_date' AS first_date, r ->> 'last_date' AS last_date,
       r -> 'quote' AS quote
  FROM (SELECT pg_temp.call('get_stock', '{"code": "IBM"}')::jsonb) AS c (r);
SELECT pg_temp.call('get_stock', '{}');
SELECT pg_temp.call('get_stock', '{"code": "NOPE"}');
SELECT pg_temp.call('get_stock', '{"code": "S&P 500"}');
SELECT pg_temp.call('get_stock', '{"code": "SP500", "season_id": "two"}');
SELECT pg_temp.call('get_stock', '{"code": "SP500", "season_id": 999999}');
SELECT pg_temp.call('get_stock', '{"code": "SP500", "season_id": 99999999999}');

-- api.get_chart
SELECT jsonb_pretty(pg_temp.call('get_chart', '{"code": "SP500", "from": "2008-10-06", "to": "2008-10-12"}')::jsonb);
SELECT r ->> 'from' AS from, r ->> 'to' AS to, jsonb_array_length(r -> 'bars') AS bars,
       r #>> '{bars,0,date}' AS first_bar, r #>> '{bars,-1,date}' AS last_bar
  FROM (VALUES (1, '{"code": "sp500"}'::jsonb),
               (2, '{"code": "SP500", "from": "2020-01-01"}'),
               (3, '{"code": "SP500", "to": "2001-01-01"}'),
               (4, '{"code": "SP500", "from": "1990-01-01", "to": "2020-12-31"}'),
               (5, '{"code": "SP500", "from": "2008-10-11", "to": "2008-10-12"}'),
               (6, '{"code": "GOOG", "from": "2000-01-01", "to": "2004-12-31"}')) AS a (no, args),
       LATERAL (SELECT pg_temp.call('get_chart', a.args)::jsonb) AS c (r)
 ORDER BY a.no;
SELECT pg_temp.call('get_chart', '{"code": "msft", "from": "2000-03-01", "to": "2000-05-31"}');
-- With a season: nothing after its clock.
SELECT r ->> 'from' AS from, r ->> 'to' AS to, r ->> 'clock' AS clock, jsonb_array_length(r -> 'bars') AS bars,
       r #>> '{bars,-1,date}' AS last_bar
  FROM (VALUES (1, jsonb_build_object('code', 'SP500', 'season_id', :replay_id)),
               (2, jsonb_build_object('code', 'SP500', 'season_id', :replay_id, 'from', '2007-09-24', 'to', '2008-12-31')),
               (3, jsonb_build_object('code', 'MSFT', 'season_id', :replay_id, 'from', '2007-01-01')),
               (4, jsonb_build_object('code', 'SP500', 'season_id', :replay_id, 'from', '2008-01-01'))) AS a (no, args),
       LATERAL (SELECT pg_temp.call('get_chart', a.args)::jsonb) AS c (r)
 ORDER BY a.no;
SELECT pg_temp.call('get_chart', '{"code": "SP500", "from": "2008-10-10", "to": "2008-10-09"}');
SELECT pg_temp.call('get_chart', '{"code": "SP500", "from": "10/10/2008"}');
SELECT pg_temp.call('get_chart', '{"code": "SP500", "to": "2008-02-30"}');
SELECT pg_temp.call('get_chart', '{"from": "2008-10-10"}');
SELECT pg_temp.call('get_chart', '{"code": "TSLA"}');
SELECT pg_temp.call('get_chart', '{"code": "SP500", "season_id": 0}');

-- api.list_seasons
SELECT i - 'clock' - 'id' AS season, i -> 'clock' AS clock
  FROM jsonb_array_elements(pg_temp.call('list_seasons', '{}')::jsonb -> 'items') AS i
 WHERE i ->> 'code' = 'REPLAY-2007';
SELECT i ->> 'code' AS code, i -> 'starting_cash' AS starting_cash,
       i -> 'clock' = to_jsonb((now() AT TIME ZONE 'Asia/Seoul')::date) AS clock_is_today
  FROM jsonb_array_elements(pg_temp.call('list_seasons', '{}')::jsonb -> 'items') AS i
 WHERE i ->> 'code' = 'KRW-LIVE';
SELECT pg_temp.call('list_seasons', NULL) IS NOT NULL AS null_args_ok;
RESET ROLE;

-- A replay season whose clock is before a symbol's first bar: no quote,
-- an empty chart.
UPDATE stockking.season SET clock_date = '2004-07-15' WHERE code = 'REPLAY-2007';
SELECT pg_temp.call('get_stock', jsonb_build_object('code', 'GOOG', 'season_id', :replay_id))::jsonb -> 'quote' AS quote;
SELECT pg_temp.call('get_chart', jsonb_build_object('code', 'GOOG', 'season_id', :replay_id));

-- Every api function is a SECURITY DEFINER owned by stockking_definer,
-- executable by stockking_api and not by PUBLIC.
SELECT p.proname, p.prosecdef, p.proowner::regrole AS owner, p.proconfig,
       has_function_privilege('stockking_api', p.oid, 'EXECUTE') AS api_may_execute,
       p.proacl IS NULL OR EXISTS (SELECT 1 FROM aclexplode(p.proacl) AS a
                                    WHERE a.grantee = 0 AND a.privilege_type = 'EXECUTE') AS public_may_execute,
       obj_description(p.oid, 'pg_proc') IS NOT NULL AS documented
  FROM pg_proc p
 WHERE p.pronamespace = 'api'::regnamespace
   AND p.proname IN ('search_stocks', 'get_stock', 'get_chart', 'list_seasons')
 ORDER BY p.proname;
ROLLBACK;
