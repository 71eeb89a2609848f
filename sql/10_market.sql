-- Markets, instruments, price bars, seasons and their clocks.

-- A market's trading rules.  Rates are ratios (0.0025 = 0.25%); amounts are
-- in the currency's minor units (KRW 0 decimals, USD 2: cents).
CREATE TABLE stockking.market (
    code          text PRIMARY KEY,
    name          text NOT NULL,
    currency      char(3) NOT NULL,
    minor_units   smallint NOT NULL CHECK (minor_units BETWEEN 0 AND 4),
    fee_rate      numeric(8, 6) NOT NULL CHECK (fee_rate >= 0 AND fee_rate < 0.1),
    sell_tax_rate numeric(8, 6) NOT NULL CHECK (sell_tax_rate >= 0 AND sell_tax_rate < 0.1),
    lot_size      integer NOT NULL DEFAULT 1 CHECK (lot_size > 0),
    timezone      text NOT NULL,
    rule_source   text NOT NULL
);
COMMENT ON TABLE stockking.market IS 'a market''s trading rules: currency, commission and sell-side tax rates (ratios), lot size, and the source of each figure';

-- Price ticks by price band: a limit price at or above lower_price must be a
-- multiple of tick.  The band that applies is the one with the greatest
-- lower_price not above the price.
CREATE TABLE stockking.tick_band (
    market      text NOT NULL REFERENCES stockking.market (code),
    lower_price numeric(20, 6) NOT NULL CHECK (lower_price >= 0),
    tick        numeric(20, 6) NOT NULL CHECK (tick > 0),
    PRIMARY KEY (market, lower_price)
);
COMMENT ON TABLE stockking.tick_band IS 'price tick by price band (a limit price >= lower_price must be a multiple of tick)';

INSERT INTO stockking.market VALUES
    ('US', 'US equities (NYSE, Nasdaq) through a Korean broker''s overseas account', 'USD', 2,
     0.0025, 0, 1, 'America/New_York',
     'Commission 0.25% of trade value each side: the standard online rate of Korean brokers for US stocks '
     '(Kiwoom Securities'' 해외주식 온라인 수수료 0.25%); no sell-side tax is charged to Korean residents '
     'on US trades; SEC Section 31 fees are below one cent on game-sized orders and left out. '
     'Tick $0.01 at or above $1.00 and $0.0001 below (SEC Regulation NMS Rule 612).'),
    ('KRX', 'Korea Exchange (KOSPI, KOSDAQ)', 'KRW', 0,
     0.00015, 0.0020, 1, 'Asia/Seoul',
     'Commission 0.015% each side (Korean brokers'' online rate); securities transaction tax 0.20% on sells; '
     'tick bands of the KRX unified tick-size table in force since 2023-01-25; lot size 1 share.');

INSERT INTO stockking.tick_band VALUES
    ('US', 0, 0.0001),
    ('US', 1, 0.01),
    ('KRX', 0, 1),
    ('KRX', 2000, 5),
    ('KRX', 5000, 10),
    ('KRX', 20000, 50),
    ('KRX', 50000, 100),
    ('KRX', 200000, 500),
    ('KRX', 500000, 1000);

CREATE TABLE stockking.instrument (
    symbol       text PRIMARY KEY CHECK (symbol ~ '^[A-Z0-9.]{1,12}$'),
    name         text NOT NULL,
    market       text NOT NULL REFERENCES stockking.market (code),
    kind         text NOT NULL CHECK (kind IN ('STOCK', 'INDEX_FUND', 'ETF')),
    bar_interval text NOT NULL CHECK (bar_interval IN ('1d', '1mo')),
    description  text,
    source       text
);
COMMENT ON TABLE stockking.instrument IS 'a tradable symbol; its market gives currency, fees, tax, lot size and ticks';

INSERT INTO stockking.instrument VALUES
    ('SP500', 'S&P 500 Index Fund', 'US', 'INDEX_FUND', '1d',
     'A fund that tracks the S&P 500 index one to one: one unit costs one index point in dollars.',
     'data/sp500-2000.csv: S&P 500 daily OHLCV from Yahoo Finance via vega-datasets 3.2.1'),
    ('MSFT', 'Microsoft Corporation', 'US', 'STOCK', '1mo', NULL,
     'data/stocks.csv: monthly closes via vega-datasets 3.2.1'),
    ('AMZN', 'Amazon.com, Inc.', 'US', 'STOCK', '1mo', NULL,
     'data/stocks.csv: monthly closes via vega-datasets 3.2.1'),
    ('IBM', 'International Business Machines Corporation', 'US', 'STOCK', '1mo', NULL,
     'data/stocks.csv: monthly closes via vega-datasets 3.2.1'),
    ('AAPL', 'Apple Inc.', 'US', 'STOCK', '1mo', NULL,
     'data/stocks.csv: monthly closes via vega-datasets 3.2.1'),
    ('GOOG', 'Alphabet Inc. (Google)', 'US', 'STOCK', '1mo', NULL,
     'data/stocks.csv: monthly closes via vega-datasets 3.2.1');

-- Price bars.  bar_date is the day the bar's close is known: for daily bars
-- the trading day; for monthly bars the month's last weekday (the source
-- labels a month by its first day but gives its closing price).
CREATE TABLE stockking.price_bar (
    symbol   text NOT NULL REFERENCES stockking.instrument (symbol),
    bar_date date NOT NULL,
    open     numeric(20, 6) NOT NULL CHECK (open > 0),
    high     numeric(20, 6) NOT NULL CHECK (high > 0),
    low      numeric(20, 6) NOT NULL CHECK (low > 0),
    close    numeric(20, 6) NOT NULL CHECK (close > 0),
    volume   bigint CHECK (volume >= 0),
    PRIMARY KEY (symbol, bar_date),
    CHECK (low <= high AND low <= open AND open <= high AND low <= close AND close <= high)
);
COMMENT ON TABLE stockking.price_bar IS 'OHLCV bar of an instrument; prices in the instrument''s currency (major units, up to 6 decimals), volume in shares';

-- Seasons and their market clocks.  A LIVE season's clock is today
-- (Asia/Seoul); a REPLAY season's clock is clock_date, which starts at
-- start_date and advances one bar of calendar_symbol at a time.
CREATE TABLE stockking.season (
    id              integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code            text NOT NULL UNIQUE,
    name            text NOT NULL,
    mode            text NOT NULL CHECK (mode IN ('LIVE', 'REPLAY')),
    currency        char(3) NOT NULL,
    starting_cash   bigint NOT NULL CHECK (starting_cash > 0),
    calendar_symbol text REFERENCES stockking.instrument (symbol),
    start_date      date NOT NULL,
    clock_date      date,
    end_date        date,
    status          text NOT NULL DEFAULT 'OPEN' CHECK (status IN ('OPEN', 'CLOSED')),
    is_default      boolean NOT NULL DEFAULT false,
    CHECK (mode = 'LIVE' OR (calendar_symbol IS NOT NULL AND clock_date IS NOT NULL))
);
CREATE UNIQUE INDEX season_one_default ON stockking.season (is_default) WHERE is_default;
COMMENT ON TABLE stockking.season IS 'a game season: currency, starting cash (minor units) and its market clock (LIVE: today; REPLAY: clock_date on real history)';

INSERT INTO stockking.season (code, name, mode, currency, starting_cash, calendar_symbol, start_date, clock_date, is_default)
VALUES
    ('KRW-LIVE', '기본 시즌 (KRW)', 'LIVE', 'KRW', 1000000, NULL, DATE '2026-01-01', NULL, true),
    ('REPLAY-2007', 'Time machine: S&P 500 from October 2007', 'REPLAY', 'USD', 1000000, 'SP500',
     DATE '2007-10-01', DATE '2007-10-01', false);
