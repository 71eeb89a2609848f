-- Accounts, cash ledger, holdings, orders and fills.
--
-- Money is exact: cash and every amount are bigint minor units of the
-- account's currency (KRW: won; USD: cents); prices are numeric with six
-- decimals in major units.  The rounding rules live in extension/money.c.

CREATE TABLE stockking.account (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    family_id        uuid NOT NULL REFERENCES stockking.family (id),
    user_id          uuid NOT NULL REFERENCES stockking.users (id),
    season_id        integer NOT NULL REFERENCES stockking.season (id),
    currency         char(3) NOT NULL,
    cash             bigint NOT NULL CHECK (cash >= 0),
    reserved_cash    bigint NOT NULL DEFAULT 0 CHECK (reserved_cash >= 0 AND reserved_cash <= cash),
    net_contribution bigint NOT NULL DEFAULT 0,
    created_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (user_id, season_id)
);
CREATE INDEX account_family ON stockking.account (family_id);
CREATE INDEX account_season ON stockking.account (season_id);
COMMENT ON TABLE stockking.account IS 'a child''s game-money account in a season; cash = sum of its cash ledger (minor units); reserved_cash is held by open limit buys';
COMMENT ON COLUMN stockking.account.net_contribution IS 'money put in rather than earned by trading (starting cash, rewards, deposits), minor units: the base of the simple return';

ALTER TABLE stockking.users
    ADD FOREIGN KEY (default_account_id) REFERENCES stockking.account (id) DEFERRABLE INITIALLY DEFERRED;

-- The cash ledger is append-only: a trigger refuses UPDATE and DELETE, and
-- the api role is granted INSERT and SELECT only.
CREATE TABLE stockking.cash_ledger (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id      bigint NOT NULL REFERENCES stockking.account (id),
    family_id       uuid NOT NULL,
    user_id         uuid NOT NULL,
    entry_type      text NOT NULL CHECK (entry_type IN ('DEPOSIT', 'BUY', 'SELL', 'FEE', 'TAX', 'REWARD')),
    amount          bigint NOT NULL CHECK (amount <> 0),
    is_contribution boolean NOT NULL DEFAULT false,
    order_id        bigint,
    fill_id         bigint,
    market_date     date,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX cash_ledger_account ON stockking.cash_ledger (account_id, id);
COMMENT ON TABLE stockking.cash_ledger IS 'append-only journal of an account''s cash, minor units, signed (+ in, - out); the balance is its sum';

-- The append-only guard: 42501 on any UPDATE or DELETE, except a family
-- merge moving the rows of one family to another (extension/family.c).
CREATE FUNCTION stockking.refuse_change() RETURNS trigger
    AS 'MODULE_PATHNAME', 'stockking_refuse_change' LANGUAGE C;
COMMENT ON FUNCTION stockking.refuse_change() IS
    'append-only guard (BEFORE UPDATE OR DELETE FOR EACH ROW): 42501, except api.link_family moving family_id and nothing else';
CREATE TRIGGER cash_ledger_append_only BEFORE UPDATE OR DELETE ON stockking.cash_ledger
    FOR EACH ROW EXECUTE FUNCTION stockking.refuse_change();

CREATE TABLE stockking.holding (
    account_id        bigint NOT NULL REFERENCES stockking.account (id),
    symbol            text NOT NULL REFERENCES stockking.instrument (symbol),
    family_id         uuid NOT NULL,
    user_id           uuid NOT NULL,
    quantity          bigint NOT NULL CHECK (quantity >= 0),
    reserved_quantity bigint NOT NULL DEFAULT 0 CHECK (reserved_quantity >= 0 AND reserved_quantity <= quantity),
    cost_basis        bigint NOT NULL DEFAULT 0 CHECK (cost_basis >= 0),
    realized_pnl      bigint NOT NULL DEFAULT 0,
    updated_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, symbol)
);
COMMENT ON TABLE stockking.holding IS 'a position: quantity (shares), reserved_quantity (held by open sells), cost_basis (minor units, buy fees included; average-cost method), realized_pnl (minor units, net of fees and taxes)';

CREATE TABLE stockking.orders (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    family_id          uuid NOT NULL,
    user_id            uuid NOT NULL REFERENCES stockking.users (id),
    account_id         bigint NOT NULL REFERENCES stockking.account (id),
    season_id          integer NOT NULL REFERENCES stockking.season (id),
    client_order_id    text CHECK (client_order_id ~ '^[A-Za-z0-9_.:-]{1,64}$'),
    symbol             text NOT NULL REFERENCES stockking.instrument (symbol),
    side               text NOT NULL CHECK (side IN ('BUY', 'SELL')),
    order_type         text NOT NULL CHECK (order_type IN ('MARKET', 'LIMIT')),
    time_in_force      text NOT NULL CHECK (time_in_force IN ('DAY', 'GTC')),
    quantity           bigint NOT NULL CHECK (quantity > 0),
    limit_price        numeric(20, 6) CHECK (limit_price > 0),
    status             text NOT NULL CHECK (status IN ('NEW', 'PARTIALLY_FILLED', 'FILLED', 'CANCELED', 'REJECTED', 'EXPIRED')),
    filled_quantity    bigint NOT NULL DEFAULT 0 CHECK (filled_quantity >= 0 AND filled_quantity <= quantity),
    average_fill_price numeric(20, 6),
    gross_amount       bigint NOT NULL DEFAULT 0,
    fees               bigint NOT NULL DEFAULT 0,
    taxes              bigint NOT NULL DEFAULT 0,
    reserved_cash      bigint NOT NULL DEFAULT 0 CHECK (reserved_cash >= 0),
    reserved_quantity  bigint NOT NULL DEFAULT 0 CHECK (reserved_quantity >= 0),
    placed_bar_date    date NOT NULL,
    status_reason      text,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CHECK ((order_type = 'LIMIT') = (limit_price IS NOT NULL))
);
CREATE UNIQUE INDEX orders_client_order_id ON stockking.orders (user_id, client_order_id) WHERE client_order_id IS NOT NULL;
CREATE INDEX orders_account ON stockking.orders (account_id, id);
CREATE INDEX orders_open ON stockking.orders (season_id, symbol, id) WHERE status IN ('NEW', 'PARTIALLY_FILLED');
COMMENT ON TABLE stockking.orders IS 'an order: MARKET or LIMIT, BUY or SELL, whole shares; amounts in minor units; placed_bar_date is the season clock when placed (a limit order can fill only on later bars)';

CREATE TABLE stockking.fill (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id   bigint NOT NULL REFERENCES stockking.orders (id),
    account_id bigint NOT NULL REFERENCES stockking.account (id),
    family_id  uuid NOT NULL,
    user_id    uuid NOT NULL,
    symbol     text NOT NULL,
    side       text NOT NULL,
    quantity   bigint NOT NULL CHECK (quantity > 0),
    price      numeric(20, 6) NOT NULL CHECK (price > 0),
    gross      bigint NOT NULL,
    fee        bigint NOT NULL,
    tax        bigint NOT NULL,
    bar_date   date NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX fill_order ON stockking.fill (order_id);
CREATE INDEX fill_account ON stockking.fill (account_id, id);
COMMENT ON TABLE stockking.fill IS 'an execution: quantity at price (major units), gross = quantity x price rounded half-up to minor units, fee and tax truncated to minor units';

-- Row-level security on every family-owned table.
ALTER TABLE stockking.account ENABLE ROW LEVEL SECURITY;
ALTER TABLE stockking.cash_ledger ENABLE ROW LEVEL SECURITY;
ALTER TABLE stockking.holding ENABLE ROW LEVEL SECURITY;
ALTER TABLE stockking.orders ENABLE ROW LEVEL SECURITY;
ALTER TABLE stockking.fill ENABLE ROW LEVEL SECURITY;

CREATE POLICY account_read ON stockking.account FOR SELECT USING (stockking.can_read(family_id, user_id));
CREATE POLICY account_update ON stockking.account FOR UPDATE USING (stockking.can_write(user_id));
CREATE POLICY ledger_read ON stockking.cash_ledger FOR SELECT USING (stockking.can_read(family_id, user_id));
CREATE POLICY ledger_insert ON stockking.cash_ledger FOR INSERT WITH CHECK (stockking.can_write(user_id));
CREATE POLICY holding_read ON stockking.holding FOR SELECT USING (stockking.can_read(family_id, user_id));
CREATE POLICY holding_insert ON stockking.holding FOR INSERT WITH CHECK (stockking.can_write(user_id));
CREATE POLICY holding_update ON stockking.holding FOR UPDATE USING (stockking.can_write(user_id));
CREATE POLICY orders_read ON stockking.orders FOR SELECT USING (stockking.can_read(family_id, user_id));
CREATE POLICY orders_insert ON stockking.orders FOR INSERT WITH CHECK (stockking.can_write(user_id));
CREATE POLICY orders_update ON stockking.orders FOR UPDATE USING (stockking.can_write(user_id));
CREATE POLICY fill_read ON stockking.fill FOR SELECT USING (stockking.can_read(family_id, user_id));
CREATE POLICY fill_insert ON stockking.fill FOR INSERT WITH CHECK (stockking.can_write(user_id));

GRANT SELECT, UPDATE ON stockking.account, stockking.holding, stockking.orders TO stockking_definer;
GRANT INSERT ON stockking.holding, stockking.orders TO stockking_definer;
GRANT SELECT, INSERT ON stockking.cash_ledger, stockking.fill TO stockking_definer;
GRANT SELECT ON stockking.season, stockking.instrument, stockking.market, stockking.tick_band, stockking.price_bar
    TO stockking_definer;

-- Opening an account: the starting cash is the first ledger entry, a
-- contribution.  Internal; called by sign-up (default season) and by
-- api.join_season.
CREATE FUNCTION stockking.open_account(p_user uuid, p_season integer) RETURNS stockking.account
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    s stockking.season;
    u stockking.users;
    a stockking.account;
BEGIN
    SELECT * INTO u FROM stockking.users WHERE id = p_user;
    SELECT * INTO s FROM stockking.season WHERE id = p_season;
    IF s.id IS NULL THEN
        RAISE EXCEPTION 'season % does not exist', p_season USING ERRCODE = 'P0002';
    END IF;
    IF u.role <> 'CHILD' THEN
        RAISE EXCEPTION 'only a child holds trading accounts' USING ERRCODE = 'SK009';
    END IF;
    IF s.status <> 'OPEN' THEN
        RAISE EXCEPTION 'season % is closed', s.code USING ERRCODE = 'SK005';
    END IF;
    IF EXISTS (SELECT 1 FROM stockking.account WHERE user_id = p_user AND season_id = p_season) THEN
        RAISE EXCEPTION 'already joined season %', s.code USING ERRCODE = 'SK008';
    END IF;
    INSERT INTO stockking.account (family_id, user_id, season_id, currency, cash, net_contribution)
        VALUES (u.family_id, u.id, s.id, s.currency, s.starting_cash, s.starting_cash)
        RETURNING * INTO a;
    INSERT INTO stockking.cash_ledger (account_id, family_id, user_id, entry_type, amount, is_contribution, market_date)
        VALUES (a.id, a.family_id, a.user_id, 'DEPOSIT', s.starting_cash, true, stockking.season_clock(s.id));
    UPDATE stockking.users SET default_account_id = a.id WHERE id = u.id;
    RETURN a;
END
$$;
REVOKE ALL ON FUNCTION stockking.open_account(uuid, integer) FROM PUBLIC;

-- The account a trading call acts on: the caller's account in args.season_id,
-- or their default account.
CREATE FUNCTION stockking.resolve_account(args jsonb) RETURNS bigint
    AS 'MODULE_PATHNAME', 'stockking_resolve_account' LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION stockking.resolve_account(jsonb) IS
    'the caller''s account in args.season_id, or their default account (the season joined last); SK010 when there is none';

CREATE FUNCTION stockking.money_json(minor bigint, currency char(3)) RETURNS numeric
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT CASE WHEN currency = 'KRW' THEN minor::numeric ELSE round(minor / 100.0, 2) END $$;
COMMENT ON FUNCTION stockking.money_json(bigint, char) IS 'minor units to an exact decimal in major units (KRW 0 decimals, others 2)';

CREATE FUNCTION stockking.order_json(o stockking.orders) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    AS $$
BEGIN
    RETURN (SELECT jsonb_build_object(
        'id', o.id, 'client_order_id', o.client_order_id, 'account_id', o.account_id, 'season_id', o.season_id,
        'symbol', o.symbol, 'side', o.side, 'type', o.order_type, 'time_in_force', o.time_in_force,
        'quantity', o.quantity, 'limit_price', o.limit_price, 'status', o.status,
        'filled_quantity', o.filled_quantity, 'average_fill_price', o.average_fill_price,
        'currency', a.currency,
        'gross_amount', stockking.money_json(o.gross_amount, a.currency),
        'fees', stockking.money_json(o.fees, a.currency), 'taxes', stockking.money_json(o.taxes, a.currency),
        'reserved_cash', stockking.money_json(o.reserved_cash, a.currency),
        'placed_bar_date', o.placed_bar_date, 'status_reason', o.status_reason,
        'created_at', o.created_at, 'updated_at', o.updated_at,
        'fills', coalesce((SELECT jsonb_agg(jsonb_build_object('id', f.id, 'quantity', f.quantity, 'price', f.price,
                                                               'gross', stockking.money_json(f.gross, a.currency),
                                                               'fee', stockking.money_json(f.fee, a.currency),
                                                               'tax', stockking.money_json(f.tax, a.currency),
                                                               'bar_date', f.bar_date) ORDER BY f.id)
                             FROM stockking.fill f WHERE f.order_id = o.id), '[]'))
      FROM stockking.account a WHERE a.id = o.account_id);
END
$$;
COMMENT ON FUNCTION stockking.order_json(stockking.orders) IS 'an order as the API shows it: amounts in major units of the account currency, prices in major units';
