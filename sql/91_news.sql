-- Economy news (seed 003 section 2.4: GET /api/market/news): items imported
-- from news feeds in the JSON Feed 1.1 format by stockking.import_news
-- (extension/news.c); the shipped feed is data/news/economy-news.json, with
-- its provenance in data/README.md.  A replay season shows only the items
-- published by the end of its clock's trading day, so news never tells a
-- time traveller the future.

INSERT INTO stockking.error_code VALUES
    ('SK350', 400, 'bad_news_feed', 'a news feed file is malformed (the message gives the file and line)');

CREATE TABLE stockking.news_item (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    guid         text NOT NULL UNIQUE CHECK (length(guid) BETWEEN 1 AND 200),
    published_at timestamptz NOT NULL,
    title        text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    summary      text NOT NULL CHECK (length(summary) BETWEEN 1 AND 1000),
    source       text NOT NULL CHECK (length(source) BETWEEN 1 AND 100),
    url          text NOT NULL CHECK (url ~ '^https?://[^[:space:]]+$'),
    language     text,
    symbols      text[] NOT NULL DEFAULT '{}',
    tags         text[] NOT NULL DEFAULT '{}',
    feed         text NOT NULL,
    imported_at  timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX news_item_published ON stockking.news_item (published_at DESC, id DESC);
CREATE INDEX news_item_symbols ON stockking.news_item USING gin (symbols);
SELECT pg_catalog.pg_extension_config_dump('stockking.news_item', '');
COMMENT ON TABLE stockking.news_item IS
    'an economy news item from a feed (guid = the feed item''s id): title, summary, the publisher (source) and the link; symbols are the instruments it is about';
GRANT SELECT ON stockking.news_item TO stockking_definer;

CREATE FUNCTION stockking.import_news(path text) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'stockking_import_news'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
REVOKE ALL ON FUNCTION stockking.import_news(text) FROM PUBLIC;
COMMENT ON FUNCTION stockking.import_news(text) IS
    'Import a news feed file (absolute path; superuser or pg_read_server_files) in the JSON Feed 1.1 format into '
    'stockking.news_item.  Each item needs "id" (unique in the file), "url" (http/https), "title" (1..200), "summary" '
    '(1..1000), "date_published" (RFC 3339 with an offset, not in the future) and "_stockking": {"source": the '
    'publisher, "symbols": instruments of stockking.instrument}; "language" and "tags" are kept; other JSON Feed '
    'fields are checked for their type and not kept; fields outside JSON Feed must be extensions ("_name").  A fault '
    'raises SK350 naming the file, the line and the fault, and nothing is imported.  Items are upserted by id: new '
    'ones inserted, changed ones updated, none deleted; importing the same file again writes nothing.  Returns '
    '{"file", "items", "inserted", "updated", "unchanged", "first", "last"}.';

-- The moment up to which a season may read news: a REPLAY season's clock
-- is a trading day of its calendar instrument's market, and the news of
-- that whole day (in the market's time zone) is known; a LIVE season reads
-- up to now (not past its end_date).
CREATE FUNCTION stockking.news_cutoff(p_season integer) RETURNS timestamptz
    LANGUAGE sql STABLE
    AS $$
    SELECT CASE WHEN s.mode = 'REPLAY'
                THEN ((s.clock_date + 1)::timestamp AT TIME ZONE coalesce(m.timezone, 'Asia/Seoul'))
                     - interval '1 microsecond'
                ELSE least(now(), ((s.end_date + 1)::timestamp AT TIME ZONE 'Asia/Seoul') - interval '1 microsecond')
           END
      FROM stockking.season s
      LEFT JOIN stockking.instrument i ON i.symbol = s.calendar_symbol
      LEFT JOIN stockking.market m ON m.code = i.market
     WHERE s.id = p_season
    $$;
COMMENT ON FUNCTION stockking.news_cutoff(integer) IS
    'the last moment whose news a season may show: REPLAY the end of its clock date in its calendar market''s time zone, LIVE now (capped at the end of end_date); NULL for no such season';

CREATE FUNCTION api.list_news(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v_season bigint := stockking.arg_bigint(args, 'season_id', false);
    v_symbol text := upper(btrim(stockking.arg_text(args, 'symbol', false)));
    v_limit  bigint := coalesce(stockking.arg_bigint(args, 'limit', false), 20);
    v_before bigint := stockking.arg_bigint(args, 'before', false);
    v_cutoff timestamptz := now();
    b        stockking.news_item;
    v_items  jsonb;
    v_count  integer;
BEGIN
    IF v_limit NOT BETWEEN 1 AND 50 THEN
        RAISE EXCEPTION 'field "limit" must be between 1 and 50' USING ERRCODE = '22023';
    END IF;
    IF v_season IS NOT NULL THEN
        v_cutoff := CASE WHEN v_season BETWEEN 1 AND 2147483647 THEN stockking.news_cutoff(v_season::integer) END;
        IF v_cutoff IS NULL THEN
            RAISE EXCEPTION 'season % does not exist', v_season USING ERRCODE = 'P0002';
        END IF;
    END IF;
    IF v_symbol IS NOT NULL THEN
        IF v_symbol !~ '^[A-Z0-9.]{1,12}$' THEN
            RAISE EXCEPTION 'field "symbol" must be a symbol of 1 to 12 letters, digits or dots' USING ERRCODE = '22023';
        END IF;
        IF NOT EXISTS (SELECT 1 FROM stockking.instrument i WHERE i.symbol = v_symbol) THEN
            RAISE EXCEPTION 'instrument "%" does not exist', v_symbol USING ERRCODE = 'P0002';
        END IF;
    END IF;
    IF v_before IS NOT NULL THEN
        SELECT * INTO b FROM stockking.news_item n WHERE n.id = v_before;
        IF b.id IS NULL THEN
            RAISE EXCEPTION 'news item % not found', v_before USING ERRCODE = 'P0002';
        END IF;
    END IF;
    SELECT coalesce(jsonb_agg(jsonb_build_object(
               'id', n.id, 'title', n.title, 'summary', n.summary, 'source', n.source, 'url', n.url,
               'published_at', n.published_at, 'language', n.language, 'tags', to_jsonb(n.tags),
               'symbols', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                                      'symbol', i.symbol, 'name', i.name,
                                      'path', '/v1/market/stocks/' || i.symbol) ORDER BY i.symbol), '[]')
                             FROM stockking.instrument i WHERE i.symbol = ANY (n.symbols)))
               ORDER BY n.published_at DESC, n.id DESC), '[]'),
           count(*)
      INTO v_items, v_count
      FROM (SELECT * FROM stockking.news_item n
             WHERE n.published_at <= v_cutoff
               AND (v_symbol IS NULL OR n.symbols @> ARRAY[v_symbol])
               AND (b.id IS NULL OR (n.published_at, n.id) < (b.published_at, b.id))
             ORDER BY n.published_at DESC, n.id DESC
             LIMIT v_limit) n;
    RETURN jsonb_build_object(
        'season_id', v_season,
        'clock', CASE WHEN v_season IS NOT NULL THEN stockking.season_clock(v_season::integer) END,
        'as_of', v_cutoff,
        'items', v_items,
        'next_before', CASE WHEN v_count = v_limit THEN v_items -> (v_count - 1) -> 'id' END);
END
$$;
ALTER FUNCTION api.list_news(jsonb) OWNER TO stockking_definer;
COMMENT ON FUNCTION api.list_news(jsonb) IS
$$GET /v1/market/news?season_id=&symbol=&limit=&before= (anyone): economy news, newest first.  Args: {"season_id" (optional:
a REPLAY season shows only items published by the end of its clock date in its market's time zone -- the replay's future
stays hidden; a LIVE season, or none, up to now), "symbol" (optional: items about that instrument), "limit": 1..50
(default 20), "before": an item id (the next page: items older than it)}.  Returns {"season_id","clock","as_of" (the last
moment shown),"items": [{"id","title","summary","source","url","published_at","language","tags","symbols": [{"symbol",
"name","path"}]}],"next_before" (the cursor of the next page, null at the end)}.
Errors: 22023 (400) bad season_id, symbol, limit or before; P0002 (404) unknown season, symbol or item.
Data: stockking.news_item (data/news via stockking.import_news).$$;

INSERT INTO stockking.route (method, path, fn, roles, read_only, success_status, token, summary) VALUES
    ('GET', '/v1/market/news', 'list_news', NULL, true, 200, 'none', 'Economy news (a replay season sees none of its future)');
