-- Trading API: the C functions of extension/trade.c and returns.c, and the
-- SQL ones around them.  Every api function runs as stockking_definer, so
-- row-level security applies; only stockking_api may execute them.

CREATE FUNCTION api.place_order(args jsonb) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'stockking_place_order'
    LANGUAGE C VOLATILE STRICT SECURITY DEFINER SET search_path = pg_catalog, stockking;
COMMENT ON FUNCTION api.place_order(jsonb) IS
$$Place an order in the caller's account.
Args: {"symbol": text, "side": "BUY"|"SELL", "type": "MARKET"|"LIMIT", "quantity": whole shares 1..1000000,
       "limit_price": decimal (LIMIT only; a multiple of the market's tick), "time_in_force": "DAY"|"GTC" (default DAY;
       DAY = good for the next session only), "client_order_id": text (optional idempotency key, 1..64 of A-Za-z0-9_.:-),
       "season_id": integer (optional; default: the account joined last)}.
A MARKET order fills at once at the close of the latest bar at or before the season's clock.  A LIMIT order rests (NEW),
reserving its cost (buy) or its shares (sell), and fills on a later bar that reaches its price: at the limit, or at the
open when the bar opens through it.
Returns the order: {"id","status","filled_quantity","average_fill_price","gross_amount","fees","taxes","fills":[...],...};
amounts in major units of the account's currency (exact decimals), prices in major units (6 decimals).
Fees: gross x commission rate, tax (sells) gross x tax rate, both truncated to the minor unit; gross = quantity x price
rounded half up (stockking.market gives the rates and their sources).
Errors: 22023 (400) bad field, side, type, time in force or lot; 22003 (400) quantity or price out of range;
SK007 (400) limit price off tick; P0002 (404) unknown symbol; SK010 (404) no account in the season;
SK001 (422) insufficient funds; SK002 (422) insufficient holding; SK006 (422) no price at the clock;
SK003 (409) client_order_id reused with a different order; SK005 (409) season closed; 28000 (401) no identity.$$;

CREATE FUNCTION api.cancel_order(args jsonb) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'stockking_cancel_order'
    LANGUAGE C VOLATILE STRICT SECURITY DEFINER SET search_path = pg_catalog, stockking;
COMMENT ON FUNCTION api.cancel_order(jsonb) IS
$$Cancel one of the caller's open orders and release what it reserved.  Args: {"id": order id}.
Returns the order (status CANCELED).
Errors: P0002 (404) no such order of the caller; SK004 (409) the order is not NEW or PARTIALLY_FILLED; 28000 (401).$$;

CREATE FUNCTION api.get_portfolio(args jsonb) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'stockking_get_portfolio'
    LANGUAGE C STABLE STRICT SECURITY DEFINER SET search_path = pg_catalog, stockking;
COMMENT ON FUNCTION api.get_portfolio(jsonb) IS
$$The caller's portfolio at the season's clock.  Args: {"season_id": integer (optional: default account)}.
Returns {"account_id","season_id","season","currency","clock" (date), "cash","reserved_cash","available_cash",
"market_value","total_value","net_contribution","profit","unrealized_pnl","realized_pnl" (major units),
"simple_return" (ratio, 6 decimals: (total_value - net_contribution) / net_contribution), "simple_return_pct" (percent),
"holdings": [{"symbol","name","quantity","reserved_quantity","average_cost","cost_basis","current_price","price_date",
"market_value","unrealized_pnl","unrealized_return","unrealized_return_pct","realized_pnl"}]}.
Holdings are valued at the close of their latest bar at or before the clock.
Errors: SK010 (404) no account in the season; 22023 (400) bad season_id; 28000 (401).$$;

CREATE FUNCTION api.get_holdings(args jsonb) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'stockking_get_holdings'
    LANGUAGE C STABLE STRICT SECURITY DEFINER SET search_path = pg_catalog, stockking;
COMMENT ON FUNCTION api.get_holdings(jsonb) IS
$$The caller's open positions.  Args: {"season_id": integer (optional)}.
Returns {"account_id","currency","items":[...]} with the items of api.get_portfolio.  Errors as api.get_portfolio.$$;

CREATE FUNCTION api.advance_clock(season_id integer, bars integer) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'stockking_advance_clock'
    LANGUAGE C VOLATILE STRICT SECURITY DEFINER SET search_path = pg_catalog, stockking;
COMMENT ON FUNCTION api.advance_clock(integer, integer) IS
$$Move a REPLAY season's clock forward by bars (1..5000) bars of its calendar instrument, matching resting limit orders
on each bar and expiring DAY orders their next session did not fill.  A database superuser or an ADMIN user only.
Returns {"season_id","clock" (date),"bars_advanced","fills","expired","at_end" (true when the data ran out)}.
Errors: 42501 (403) not ADMIN; 22023 (400) bars out of range or a LIVE season; P0002 (404) no such season;
SK005 (409) season closed; SK012 (409) the clock is at the last bar of the data.$$;

CREATE FUNCTION api.admin_advance_season(args jsonb) RETURNS jsonb
    LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$ SELECT api.advance_clock(stockking.arg_bigint(args, 'id')::integer, stockking.arg_bigint(args, 'bars')::integer) $$;
COMMENT ON FUNCTION api.admin_advance_season(jsonb) IS
$$POST /v1/admin/seasons/:id/advance {"bars": n}: api.advance_clock for an ADMIN token.  Errors as api.advance_clock.$$;

CREATE FUNCTION api.join_season(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    a stockking.account := stockking.open_account(stockking.require_user(), stockking.arg_bigint(args, 'id')::integer);
BEGIN
    RETURN jsonb_build_object('account_id', a.id, 'season_id', a.season_id, 'currency', a.currency,
                              'cash', stockking.money_json(a.cash, a.currency));
END
$$;
COMMENT ON FUNCTION api.join_season(jsonb) IS
$$Open the caller's account in a season with its starting cash; it becomes the default account.  Args: {"id": season id}.
Returns {"account_id","season_id","currency","cash" (major units)}.
Errors: P0002 (404) no such season; SK009 (403) not a CHILD; SK005 (409) season closed; SK008 (409) joined already.$$;

CREATE FUNCTION api.get_order(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    o stockking.orders;
BEGIN
    PERFORM stockking.require_user();
    SELECT * INTO o FROM stockking.orders WHERE id = stockking.arg_bigint(args, 'id');
    IF o.id IS NULL THEN
        RAISE EXCEPTION 'order % not found', args ->> 'id' USING ERRCODE = 'P0002';
    END IF;
    RETURN stockking.order_json(o);
END
$$;
COMMENT ON FUNCTION api.get_order(jsonb) IS
$$One order with its fills.  Args: {"id": order id}.  Returns the order as api.place_order does.
Errors: P0002 (404) no such order visible to the caller; 22023 (400) bad id; 28000 (401).$$;

CREATE FUNCTION api.list_history(args jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, stockking
    AS $$
DECLARE
    v_account bigint := stockking.resolve_account(args);
    v_limit   bigint := coalesce(stockking.arg_bigint(args, 'limit', false), 20);
    v_before  bigint := stockking.arg_bigint(args, 'before', false);
    v_items   jsonb;
    v_last    bigint;
    v_count   integer;
BEGIN
    IF v_limit NOT BETWEEN 1 AND 100 THEN
        RAISE EXCEPTION 'field "limit" must be between 1 and 100' USING ERRCODE = '22023';
    END IF;
    SELECT coalesce(jsonb_agg(stockking.order_json(o) ORDER BY o.id DESC), '[]'), min(o.id), count(*)
      INTO v_items, v_last, v_count
      FROM (SELECT * FROM stockking.orders
             WHERE account_id = v_account AND (v_before IS NULL OR id < v_before)
             ORDER BY id DESC LIMIT v_limit) o;
    RETURN jsonb_build_object('account_id', v_account, 'items', v_items,
                              'next_before', CASE WHEN v_count = v_limit THEN v_last END);
END
$$;
COMMENT ON FUNCTION api.list_history(jsonb) IS
$$The caller's orders with their fills, newest first, in pages.
Args: {"season_id": integer (optional), "limit": 1..100 (default 20), "before": order id (the previous page's next_before)}.
Returns {"account_id","items":[order...],"next_before": order id or null when this is the last page}.
Errors: SK010 (404) no account; 22023 (400) bad limit or before; 28000 (401).$$;

ALTER FUNCTION api.place_order(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.cancel_order(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.get_portfolio(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.get_holdings(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.advance_clock(integer, integer) OWNER TO stockking_definer;
ALTER FUNCTION api.admin_advance_season(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.join_season(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.get_order(jsonb) OWNER TO stockking_definer;
ALTER FUNCTION api.list_history(jsonb) OWNER TO stockking_definer;
GRANT SELECT ON stockking.users TO stockking_definer;
GRANT UPDATE ON stockking.season TO stockking_definer;
GRANT EXECUTE ON FUNCTION stockking.open_account(uuid, integer) TO stockking_definer;

INSERT INTO stockking.route (method, path, fn, roles, read_only, success_status, token, summary) VALUES
    ('POST', '/v1/auth/signup', 'signup', NULL, false, 201, 'none', 'Sign up a CHILD or PARENT'),
    ('POST', '/v1/auth/login', 'login', NULL, false, 200, 'issue', 'Log in: an access token (JWT, 15 minutes)'),
    ('GET', '/v1/users/me', 'me', '{}', true, 200, 'none', 'The signed-in user and their accounts'),
    ('POST', '/v1/seasons/:id/join', 'join_season', '{CHILD}', false, 201, 'none', 'Open an account in a season'),
    ('POST', '/v1/trading/orders', 'place_order', '{CHILD}', false, 201, 'none', 'Place an order'),
    ('GET', '/v1/trading/orders/:id', 'get_order', '{}', true, 200, 'none', 'One order with its fills'),
    ('DELETE', '/v1/trading/orders/:id', 'cancel_order', '{CHILD}', false, 200, 'none', 'Cancel an open order'),
    ('GET', '/v1/trading/portfolio', 'get_portfolio', '{}', true, 200, 'none', 'Cash, value and returns of an account'),
    ('GET', '/v1/trading/holdings', 'get_holdings', '{}', true, 200, 'none', 'Positions of an account'),
    ('GET', '/v1/trading/history', 'list_history', '{}', true, 200, 'none', 'Orders and fills, newest first, paginated'),
    ('POST', '/v1/admin/seasons/:id/advance', 'admin_advance_season', '{ADMIN}', false, 200, 'none',
     'Advance a replay season''s clock by n bars');
