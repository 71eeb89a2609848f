-- Daily account snapshots and the time-weighted return index
-- (extension/snapshots.c).
--
-- A snapshot is an account's state at its season's clock date: cash, market
-- value (every holding at the close of its latest bar at or before the
-- clock, quantity x close rounded half up to the minor unit), total value,
-- net contribution, the flow since the previous snapshot (the change of net
-- contribution: starting cash, mission rewards, deposits -- money put in,
-- not earned) and the time-weighted return index.
--
-- The index starts at 1 when the account opens and is chain-linked from one
-- snapshot to the next, with the period's flow counted at its end:
--
--     index_t = index_{t-1} x (value_t - flow_t) / value_{t-1}
--
-- so a reward or deposit is taken out of the value before the period's
-- return is measured and never counts as return (what it earned, if it was
-- invested at once, before the period ended does).  Before the first
-- snapshot the chain starts from the account's opening: index 1, value and
-- net contribution both the opening deposit.  The time-weighted return between
-- two moments is index_b / index_a - 1.  Between snapshots the current
-- index is the same link from the latest snapshot before the clock date to
-- the current valuation.  The index has 12 decimals, rounded half up at each
-- link; it does not go below 0, and a link without a base keeps it.

CREATE TABLE stockking.account_snapshot (
    account_id       bigint NOT NULL,
    market_date      date NOT NULL,
    family_id        uuid NOT NULL,
    user_id          uuid NOT NULL,
    season_id        integer NOT NULL,
    cash             bigint NOT NULL,
    market_value     bigint NOT NULL,
    total_value      bigint NOT NULL,
    net_contribution bigint NOT NULL,
    flow             bigint NOT NULL,
    twr_index        numeric(24, 12) NOT NULL CHECK (twr_index >= 0),
    taken_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, market_date)
);
CREATE INDEX account_snapshot_season ON stockking.account_snapshot (season_id, market_date);
CREATE INDEX account_snapshot_family ON stockking.account_snapshot (family_id);
COMMENT ON TABLE stockking.account_snapshot IS
    'an account at its season''s clock date (minor units): cash, market value, total, net contribution, the flow since the previous snapshot, and the time-weighted return index (1 at opening)';

ALTER TABLE stockking.account_snapshot ENABLE ROW LEVEL SECURITY;
CREATE POLICY account_snapshot_read ON stockking.account_snapshot FOR SELECT USING (stockking.can_read(family_id, user_id));
GRANT SELECT ON stockking.account_snapshot TO stockking_definer;

CREATE FUNCTION stockking.trade_value(quantity bigint, price numeric, minor_units integer) RETURNS bigint
    AS 'MODULE_PATHNAME', 'stockking_trade_value'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION stockking.trade_value(bigint, numeric, integer) IS
    'quantity x price (major units, up to 6 decimals) in minor units of a currency with minor_units decimals, rounded half up (extension/money.c)';

CREATE FUNCTION stockking.twr_link(prev_index numeric, prev_value bigint, flow bigint, value bigint) RETURNS numeric
    AS 'MODULE_PATHNAME', 'stockking_twr_link'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION stockking.twr_link(numeric, bigint, bigint, bigint) IS
    'the next time-weighted return index: prev_index x (value - flow) / prev_value (the first link, prev_value 0: prev_index x value / flow), 12 decimals rounded half up, never below 0';

CREATE FUNCTION stockking.account_now(account_id bigint,
                                      OUT season_id integer, OUT clock date, OUT currency text, OUT minor_units integer,
                                      OUT cash bigint, OUT market_value bigint, OUT total_value bigint,
                                      OUT net_contribution bigint, OUT twr_index numeric)
    AS 'MODULE_PATHNAME', 'stockking_account_now'
    LANGUAGE C STABLE STRICT;
REVOKE ALL ON FUNCTION stockking.account_now(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION stockking.account_now(bigint) TO stockking_definer;
COMMENT ON FUNCTION stockking.account_now(bigint) IS
    'an account valued now (at its season''s clock) with its current time-weighted return index, linked from the latest snapshot before the clock date; P0002 if not visible';

CREATE FUNCTION stockking.snapshot_accounts(season_id integer DEFAULT NULL) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'stockking_snapshot_accounts'
    LANGUAGE C VOLATILE;
REVOKE ALL ON FUNCTION stockking.snapshot_accounts(integer) FROM PUBLIC;
COMMENT ON FUNCTION stockking.snapshot_accounts(integer) IS
    'job: snapshot every account of every OPEN season (or of one season) at its clock date; re-running on the same date '
    'recomputes that date''s row from the previous one and writes only what changed; returns {"seasons": [{"season_id", '
    '"clock", "accounts", "written"}], "ms"}';

-- The time-weighted return index an account had at a moment: its latest
-- snapshot taken before then (1 before the first).  Used for weekly and
-- monthly returns.
CREATE FUNCTION stockking.index_before(p_account bigint, p_before timestamptz) RETURNS numeric
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT coalesce((SELECT s.twr_index FROM stockking.account_snapshot s
                      WHERE s.account_id = p_account AND s.taken_at < p_before
                      ORDER BY s.market_date DESC LIMIT 1), 1)
    $$;
COMMENT ON FUNCTION stockking.index_before(bigint, timestamptz) IS
    'the time-weighted return index of an account''s latest snapshot taken before a moment; 1 when there is none';
