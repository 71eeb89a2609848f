-- Market data: the loader of the shipped CSV files, the season clock and
-- bar look-up the trading engine uses, and the market api (search, stock
-- detail with quote, chart, seasons).
--
-- Prices are numeric(20,6) in the instrument currency's major units (dollars,
-- won); the api returns them as exact JSON numbers with trailing zeros
-- trimmed (trim_scale), never through floating point.

GRANT SELECT ON stockking.market, stockking.tick_band, stockking.instrument, stockking.price_bar,
    stockking.season TO stockking_definer;

-- The loader (extension/market.c).
CREATE FUNCTION stockking.load_market_data(dir text) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'stockking_load_market_data'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
REVOKE ALL ON FUNCTION stockking.load_market_data(text) FROM PUBLIC;
COMMENT ON FUNCTION stockking.load_market_data(text) IS
    'Load <dir>/sp500-2000.csv (daily OHLCV of SP500: date,open,high,low,close,adjclose,volume) and '
    '<dir>/stocks.csv (monthly closes: symbol,date,price with dates like "Jan 1 2000", stamped at the '
    'month''s last weekday, open = high = low = close, no volume) into stockking.price_bar. '
    'Reads the files with COPY''s CSV parser on the server (superuser or pg_read_server_files; dir absolute). '
    'Every row is checked: dates, decimals (at most 6 places), positive prices, low <= open, close <= high, '
    'whole non-negative volume, known symbol, ascending dates; a malformed row raises SK011 naming the file, '
    'the line (the header is line 1) and the fault, and nothing is loaded. '
    'For each symbol in the files the stored bars are made equal to the file''s (new or changed bars '
    'upserted, missing ones deleted); loading the same files again writes nothing. '
    'Returns {"<symbol>": {"rows", "first", "last", "inserted", "updated", "deleted"}, ...}.';

-- The latest bar at or before a date (extension/market.c): a backward scan
-- of price_bar's primary key (symbol, bar_date), no SQL planned or run.
CREATE FUNCTION stockking.bar_at(symbol text, d date) RETURNS stockking.price_bar
    AS 'MODULE_PATHNAME', 'stockking_bar_at'
    LANGUAGE C STABLE STRICT PARALLEL SAFE;
REVOKE ALL ON FUNCTION stockking.bar_at(text, date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION stockking.bar_at(text, date) TO stockking_definer;
COMMENT ON FUNCTION stockking.bar_at(text, date) IS
    'the latest price bar of symbol (exact, upper case) with bar_date <= d, or NULL; a primary key index scan';

-- A season's market clock: the date whose bars are "now" in the season.
-- LIVE: today in Asia/Seoul (the transaction's start), but not past end_date;
-- REPLAY: clock_date.  Unknown season: P0002.
CREATE FUNCTION stockking.season_clock(season_id integer) RETURNS date
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    AS $$
DECLARE
    s stockking.season;
BEGIN
    SELECT * INTO s FROM stockking.season WHERE id = season_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'season % does not exist', season_id USING ERRCODE = 'P0002';
    END IF;
    IF s.mode = 'REPLAY' THEN
        RETURN s.clock_date;
    END IF;
    RETURN least((now() AT TIME ZONE 'Asia/Seoul')::date, s.end_date);
END
$$;
REVOKE ALL ON FUNCTION stockking.season_clock(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION stockking.season_clock(integer) TO stockking_definer;
COMMENT ON FUNCTION stockking.season_clock(integer) IS
    'a season''s clock date: LIVE today in Asia/Seoul (capped at end_date), REPLAY clock_date; P0002 if no such season';

-- api argument readers shared by the market api.

-- args.code: a symbol, case-insensitive.  Malformed: 22023; unknown: P0002.
CREATE FUNCTION stockking.instrument_arg(args jsonb) RETURNS stockking.instrument
    LANGUAGE plpgsql STABLE
    AS $$
DECLARE
    code text := upper(btrim(stockking.arg_text(args, 'code')));
    i    stockking.instrument;
BEGIN
    IF code !~ '^[A-Z0-9.]{1,12}$' THEN
        RAISE EXCEPTION 'field "code" must be a symbol of 1 to 12 letters, digits or dots' USING ERRCODE = '22023',
            DETAIL = format('Got %s.', left(code, 40));
    END IF;
    SELECT * INTO i FROM stockking.instrument WHERE symbol = code;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'instrument "%" does not exist', code USING ERRCODE = 'P0002';
    END IF;
    RETURN i;
END
$$;
REVOKE ALL ON FUNCTION stockking.instrument_arg(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION stockking.instrument_arg(jsonb) TO stockking_definer;
COMMENT ON FUNCTION stockking.instrument_arg(jsonb) IS
    'the instrument named by args.code (case-insensitive); 22023 if missing or malformed, P0002 if unknown';

-- args.season_id (optional): the season's clock, or NULL when absent.
-- Not a whole number: 22023; no such season: P0002.
CREATE FUNCTION stockking.season_clock_arg(args jsonb) RETURNS date
    LANGUAGE plpgsql STABLE
    AS $$
DECLARE
    sid bigint := stockking.arg_bigint(args, 'season_id', false);
BEGIN
    IF sid IS NULL THEN
        RETURN NULL;
    END IF;
    IF sid NOT BETWEEN 1 AND 2147483647 THEN
        RAISE EXCEPTION 'season % does not exist', sid USING ERRCODE = 'P0002';
    END IF;
    RETURN stockking.season_clock(sid::integer);
END
$$;
REVOKE ALL ON FUNCTION stockking.season_clock_arg(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION stockking.season_clock_arg(jsonb) TO stockking_definer;
COMMENT ON FUNCTION stockking.season_clock_arg(jsonb) IS
    'the clock of the season in args.season_id, NULL when absent; 22023 if not a whole number, P0002 if unknown';

-- api.search_stocks

CREATE FUNCTION api.search_stocks(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    q     text := btrim(stockking.arg_text(args, 'q', false));
    lim   bigint := coalesce(stockking.arg_bigint(args, 'limit', false), 20);
    items jsonb;
BEGIN
    IF length(q) > 100 THEN
        RAISE EXCEPTION 'field "q" is longer than 100 characters' USING ERRCODE = '22023';
    END IF;
    IF lim NOT BETWEEN 1 AND 100 THEN
        RAISE EXCEPTION 'field "limit" must be between 1 and 100' USING ERRCODE = '22023',
            DETAIL = format('Got %s.', lim);
    END IF;
    q := lower(nullif(q, ''));
    SELECT coalesce(jsonb_agg(jsonb_build_object(
               'symbol', m.symbol, 'name', m.name, 'market', m.market, 'currency', m.currency,
               'kind', m.kind, 'last_price', trim_scale(b.close), 'last_date', b.bar_date)
               ORDER BY m.rank, m.symbol), '[]')
      INTO items
      FROM (SELECT i.symbol, i.name, i.market, k.currency, i.kind,
                   CASE WHEN lower(i.symbol) = q THEN 0 WHEN starts_with(lower(i.symbol), q) THEN 1 ELSE 2 END AS rank
              FROM stockking.instrument i
              JOIN stockking.market k ON k.code = i.market
             WHERE q IS NULL OR starts_with(lower(i.symbol), q) OR strpos(lower(i.name), q) > 0
             ORDER BY rank, i.symbol
             LIMIT lim) m
      LEFT JOIN LATERAL (SELECT p.close, p.bar_date FROM stockking.price_bar p
                          WHERE p.symbol = m.symbol ORDER BY p.bar_date DESC LIMIT 1) b ON true;
    RETURN jsonb_build_object('items', items);
END
$$;
ALTER FUNCTION api.search_stocks(jsonb) OWNER TO stockking_definer;
REVOKE ALL ON FUNCTION api.search_stocks(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.search_stocks(jsonb) TO stockking_api;
COMMENT ON FUNCTION api.search_stocks(jsonb) IS
    'Search instruments.  Args: {"q": text (optional, at most 100 characters; matches a symbol prefix or a '
    'name substring, case-insensitive; absent or empty lists all), "limit": 1..100 (default 20)}.  '
    'Result: {"items": [{"symbol", "name", "market", "currency", "kind", "last_price", "last_date"}]}, exact '
    'symbol match first, then symbol prefixes, then name matches, each by symbol; last_price is the close of '
    'the instrument''s latest bar (exact decimal, major units of currency), last_date its date (YYYY-MM-DD); '
    'both null without bars.  Errors: 22023 (HTTP 400) for a bad q or limit.  '
    'Data: stockking.instrument, stockking.market, stockking.price_bar (loaded from data/ by '
    'stockking.load_market_data).';

-- api.get_stock

CREATE FUNCTION api.get_stock(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    i      stockking.instrument := stockking.instrument_arg(args);
    clock  date := stockking.season_clock_arg(args);
    m      stockking.market;
    bar    stockking.price_bar;
    prev   stockking.price_bar;
    first  date;
    quote  jsonb;
BEGIN
    SELECT * INTO m FROM stockking.market WHERE code = i.market;
    SELECT p.bar_date INTO first FROM stockking.price_bar p WHERE p.symbol = i.symbol ORDER BY p.bar_date LIMIT 1;
    bar := stockking.bar_at(i.symbol, coalesce(clock, 'infinity'));
    IF bar.bar_date IS NOT NULL THEN
        prev := stockking.bar_at(i.symbol, bar.bar_date - 1);
        quote := jsonb_build_object(
            'date', bar.bar_date,
            'open', trim_scale(bar.open), 'high', trim_scale(bar.high),
            'low', trim_scale(bar.low), 'close', trim_scale(bar.close), 'volume', bar.volume,
            'previous_date', prev.bar_date, 'previous_close', trim_scale(prev.close),
            'change', trim_scale(bar.close - prev.close),
            'change_pct', round((bar.close - prev.close) * 100 / prev.close, 2));
    END IF;
    RETURN jsonb_build_object(
        'symbol', i.symbol, 'name', i.name, 'kind', i.kind, 'interval', i.bar_interval,
        'description', i.description, 'source', i.source, 'currency', m.currency,
        'market', jsonb_build_object(
            'code', m.code, 'name', m.name, 'currency', m.currency, 'minor_units', m.minor_units,
            'fee_rate', trim_scale(m.fee_rate), 'sell_tax_rate', trim_scale(m.sell_tax_rate),
            'lot_size', m.lot_size, 'timezone', m.timezone,
            'tick_bands', (SELECT coalesce(jsonb_agg(jsonb_build_object('lower_price', trim_scale(t.lower_price),
                                                                        'tick', trim_scale(t.tick))
                                                     ORDER BY t.lower_price), '[]')
                             FROM stockking.tick_band t WHERE t.market = m.code),
            'rule_source', m.rule_source),
        'first_date', first,
        'last_date', (SELECT p.bar_date FROM stockking.price_bar p WHERE p.symbol = i.symbol
                       ORDER BY p.bar_date DESC LIMIT 1),
        'clock', clock,
        'quote', quote);
END
$$;
ALTER FUNCTION api.get_stock(jsonb) OWNER TO stockking_definer;
REVOKE ALL ON FUNCTION api.get_stock(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.get_stock(jsonb) TO stockking_api;
COMMENT ON FUNCTION api.get_stock(jsonb) IS
    'One instrument with its market''s rules and a quote.  Args: {"code": symbol (case-insensitive), '
    '"season_id": integer (optional)}.  Result: {"symbol", "name", "kind", "interval" ("1d" or "1mo"), '
    '"description", "source", "currency", "market": {"code", "name", "currency", "minor_units", "fee_rate" and '
    '"sell_tax_rate" (ratios: 0.0025 = 0.25%), "lot_size" (shares), "timezone", "tick_bands": [{"lower_price", '
    '"tick"}] (a limit price >= lower_price must be a multiple of tick), "rule_source"}, "first_date", '
    '"last_date" (of all bars), "clock" (the season''s clock date, null without season_id), "quote": {"date", '
    '"open", "high", "low", "close", "volume" (shares, null for monthly bars), "previous_date", '
    '"previous_close", "change" (close - previous_close), "change_pct" (percent, rounded half away from zero '
    'to 2 decimals)} or null}.  The quote is the latest bar at or before the season''s clock (LIVE: today in '
    'Asia/Seoul; REPLAY: its clock_date), or the latest bar of all without season_id.  Prices are exact '
    'decimals in major units of currency.  Errors: 22023 (HTTP 400) missing or malformed code or season_id; '
    'P0002 (HTTP 404) unknown symbol or season.  Data: stockking.instrument, market, tick_band, price_bar '
    '(data/ via stockking.load_market_data), season.';

-- api.get_chart

CREATE FUNCTION api.get_chart(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    i      stockking.instrument := stockking.instrument_arg(args);
    v_from date := stockking.arg_date(args, 'from', false);
    v_to   date := stockking.arg_date(args, 'to', false);
    clock  date := stockking.season_clock_arg(args);
    bars   jsonb;
BEGIN
    IF v_from > v_to THEN
        RAISE EXCEPTION 'field "from" (%) is after field "to" (%)', v_from, v_to USING ERRCODE = '22023';
    END IF;
    -- no bar after the season's clock: the replay's future stays hidden
    IF v_to IS NULL THEN
        v_to := (stockking.bar_at(i.symbol, coalesce(clock, 'infinity'))).bar_date;
    ELSIF v_to > clock THEN
        v_to := clock;
    END IF;
    IF v_from IS NULL THEN
        v_from := v_to - 365;
    END IF;
    v_from := greatest(v_from, (v_to - interval '20 years')::date);
    SELECT coalesce(jsonb_agg(jsonb_build_object(
               'date', p.bar_date, 'open', trim_scale(p.open), 'high', trim_scale(p.high),
               'low', trim_scale(p.low), 'close', trim_scale(p.close), 'volume', p.volume)
               ORDER BY p.bar_date), '[]')
      INTO bars
      FROM stockking.price_bar p
     WHERE p.symbol = i.symbol AND p.bar_date BETWEEN v_from AND v_to;
    RETURN jsonb_build_object('symbol', i.symbol, 'interval', i.bar_interval,
                              'from', v_from, 'to', v_to, 'clock', clock, 'bars', bars);
END
$$;
ALTER FUNCTION api.get_chart(jsonb) OWNER TO stockking_definer;
REVOKE ALL ON FUNCTION api.get_chart(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.get_chart(jsonb) TO stockking_api;
COMMENT ON FUNCTION api.get_chart(jsonb) IS
    'OHLCV bars of an instrument.  Args: {"code": symbol (case-insensitive), "from", "to": YYYY-MM-DD '
    '(optional), "season_id": integer (optional)}.  "to" defaults to the date of the latest bar (at or before '
    'the season''s clock), "from" to 365 days before "to"; the span is capped at 20 years (an earlier "from" '
    'is moved up); with season_id no bar after the season''s clock is returned.  Result: {"symbol", "interval" '
    '("1d" or "1mo"), "from", "to" (the dates used), "clock" (null without season_id), "bars": [{"date", '
    '"open", "high", "low", "close", "volume"}] in date order}; prices are exact decimals in major units of '
    'the instrument''s currency, volume in shares (null for monthly bars, dated at the month''s last weekday). '
    'Errors: 22023 (HTTP 400) missing or malformed code or season_id, or from after to; 22007 (HTTP 400) a '
    'date not written YYYY-MM-DD, 22008 (HTTP 400) a date that does not exist; P0002 (HTTP 404) unknown '
    'symbol or season.  Data: stockking.price_bar '
    '(data/ via stockking.load_market_data), instrument, season.';

-- api.list_seasons

CREATE FUNCTION api.list_seasons(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    items jsonb;
BEGIN
    SELECT coalesce(jsonb_agg(jsonb_build_object(
               'id', s.id, 'code', s.code, 'name', s.name, 'mode', s.mode, 'currency', s.currency,
               'starting_cash', round(s.starting_cash / power(10::numeric, u.minor_units), u.minor_units),
               'clock', stockking.season_clock(s.id), 'status', s.status,
               'start_date', s.start_date, 'end_date', s.end_date,
               'calendar_symbol', s.calendar_symbol, 'is_default', s.is_default)
               ORDER BY s.id), '[]')
      INTO items
      FROM stockking.season s
      LEFT JOIN LATERAL (SELECT k.minor_units FROM stockking.market k
                          WHERE k.currency = s.currency ORDER BY k.code LIMIT 1) u ON true;
    RETURN jsonb_build_object('items', items);
END
$$;
ALTER FUNCTION api.list_seasons(jsonb) OWNER TO stockking_definer;
REVOKE ALL ON FUNCTION api.list_seasons(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.list_seasons(jsonb) TO stockking_api;
COMMENT ON FUNCTION api.list_seasons(jsonb) IS
    'All seasons.  Args: {} (none).  Result: {"items": [{"id", "code", "name", "mode" (LIVE or REPLAY), '
    '"currency", "starting_cash" (exact decimal in major units of currency, e.g. 10000.00 USD), "clock" '
    '(YYYY-MM-DD: LIVE today in Asia/Seoul, REPLAY the replay''s date), "status" (OPEN or CLOSED), '
    '"start_date", "end_date", "calendar_symbol" (the instrument whose bars step a replay clock), '
    '"is_default"}]} by id.  Errors: none of its own.  Data: stockking.season, stockking.market (currency '
    'minor units).';

INSERT INTO stockking.route (method, path, fn, roles, read_only, success_status, token, summary) VALUES
    ('GET', '/v1/seasons', 'list_seasons', NULL, true, 200, 'none', 'Seasons and their clocks'),
    ('GET', '/v1/market/stocks/search', 'search_stocks', NULL, true, 200, 'none', 'Search instruments by symbol or name'),
    ('GET', '/v1/market/stocks/:code', 'get_stock', NULL, true, 200, 'none', 'An instrument, its market rules and quote'),
    ('GET', '/v1/market/stocks/:code/chart', 'get_chart', NULL, true, 200, 'none', 'Daily or monthly OHLCV bars');

CREATE FUNCTION stockking.create_season(code text, name text, mode text, currency char(3), starting_cash bigint,
                                        calendar_symbol text, start_date date) RETURNS integer
    LANGUAGE sql VOLATILE SET search_path = pg_catalog, stockking
    AS $$
    INSERT INTO stockking.season (code, name, mode, currency, starting_cash, calendar_symbol, start_date, clock_date)
        VALUES (code, name, mode, currency, starting_cash, calendar_symbol, start_date,
                CASE WHEN mode = 'REPLAY' THEN start_date END)
        RETURNING id
    $$;
REVOKE ALL ON FUNCTION stockking.create_season(text, text, text, char, bigint, text, date) FROM PUBLIC;
COMMENT ON FUNCTION stockking.create_season(text, text, text, char, bigint, text, date) IS
    'operators (superuser): open a season; starting_cash in minor units; a REPLAY season''s clock starts at start_date; returns its id';
