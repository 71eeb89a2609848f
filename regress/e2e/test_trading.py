#!/usr/bin/env python3
"""End-to-end test of mock trading through the real proxy over HTTP.

Runs against the test instance `make test` starts (STOCKKING_HTTP, and the
PG* variables for the few operator steps done in SQL).  A child signs up,
logs in, joins the replay season, buys the S&P 500 index fund on
2007-10-01, the clock advances through October 2008, the portfolio shows the
loss, the child sells and sees the realized loss, places and cancels a limit
order, and bad input gets 4xx JSON errors that change nothing.

Expected amounts are computed here from the prices the chart API serves and
the documented rules (gross rounded half up to the cent, commission 0.25%
truncated to the cent), not copied from the server's answers.

Output: TAP-like lines "ok N - ..." / "not ok N - ...".
"""
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

BASE = os.environ.get("STOCKKING_HTTP", "http://127.0.0.1:18080")
CENT = Decimal("0.01")
FEE_RATE = Decimal("0.0025")

results = []


def check(name, cond, info=""):
    results.append(bool(cond))
    n = len(results)
    if cond:
        print(f"ok {n} - {name}")
    else:
        print(f"not ok {n} - {name}" + (f": {info}" if info else ""))
    sys.stdout.flush()


def call(method, path, body=None, token=None, raw=None, headers=None):
    """One HTTP request; returns (status, parsed JSON body, response headers).

    Like a well-behaved app, it waits out a 429 for as long as Retry-After
    says and sends the request again (the proxy allows a child 10 trading
    requests a minute); this suite tests the trading rules, test_proxy.py
    the limits themselves.
    """
    for _ in range(10):
        status, parsed, hdrs = _call_once(method, path, body, token, raw, headers)
        if status != 429:
            return status, parsed, hdrs
        time.sleep(int(hdrs.get("Retry-After", "1")) + 0.1)
    return status, parsed, hdrs


def _call_once(method, path, body, token, raw, headers):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(BASE + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            text = resp.read().decode()
            return resp.status, (json.loads(text) if text else None), resp.headers
    except urllib.error.HTTPError as e:
        text = e.read().decode()
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = {"unparsed": text}
        return e.code, parsed, e.headers


def psql(sql):
    out = subprocess.run(["psql", "-X", "-q", "-tA", "-v", "ON_ERROR_STOP=1", "-c", sql],
                         capture_output=True, text=True, check=True)
    return out.stdout.strip()


def err_code(body):
    return (body or {}).get("error", {}).get("code")


def money(x):
    return Decimal(str(x))


def expect_error(name, status, body, want_status, want_code):
    check(f"{name}: HTTP {want_status} {want_code}",
          status == want_status and err_code(body) == want_code
          and isinstance(body["error"].get("message"), str),
          f"got {status} {body}")


def main():
    tag = uuid.uuid4().hex[:8]
    kid_email = f"kid-{tag}@example.com"
    password = "correct horse battery"

    # sign up and log in
    st, body, hdr = call("POST", "/v1/auth/signup",
                         {"email": kid_email, "password": password, "role": "CHILD", "nickname": "Minjun"})
    check("signup a child: 201", st == 201 and body.get("role") == "CHILD", f"{st} {body}")
    check("responses are JSON", hdr.get("Content-Type", "").startswith("application/json"))
    st, body, _ = call("POST", "/v1/auth/signup",
                       {"email": kid_email, "password": password, "role": "CHILD", "nickname": "again"})
    expect_error("signup with a taken e-mail", st, body, 409, "23505")
    st, body, _ = call("POST", "/v1/auth/signup", {"email": "x@example.com", "password": "short", "role": "CHILD",
                                                    "nickname": "x"})
    expect_error("signup with a short password", st, body, 400, "22023")

    st, body, _ = call("POST", "/v1/auth/login", {"email": kid_email, "password": "wrong password"})
    expect_error("login with a wrong password", st, body, 401, "28P01")
    st, body, _ = call("POST", "/v1/auth/login", {"email": kid_email, "password": password})
    check("login: 200 with a bearer token", st == 200 and body.get("token_type") == "Bearer"
          and body.get("expires_in") == 900 and body.get("access_token", "").count(".") == 2, f"{st} {body}")
    check("login answer carries no password hash", "password_hash" not in json.dumps(body))
    token = body["access_token"]

    st, me, hdr = call("GET", "/v1/users/me", token=token, headers={"X-Request-Id": f"e2e-{tag}"})
    check("GET /users/me", st == 200 and me["email"] == kid_email and len(me["accounts"]) == 1, f"{st} {me}")
    check("X-Request-Id is echoed", hdr.get("X-Request-Id") == f"e2e-{tag}")
    st, body, _ = call("GET", "/v1/users/me")
    expect_error("no token", st, body, 401, "PX401")
    st, body, _ = call("GET", "/v1/users/me", token="not.a.token")
    check("garbage token: 401", st == 401 and err_code(body) in ("PX402", "PX403"), f"{st} {body}")

    # seasons: join the replay season
    st, seasons, _ = call("GET", "/v1/seasons")
    replay = next(s for s in seasons["items"] if s["code"] == "REPLAY-2007")
    sid = replay["id"]
    krw = next(s["id"] for s in seasons["items"] if s["code"] == "KRW-LIVE")
    check("replay season starts 2007-10-01 with 10,000.00 USD",
          replay["clock"] == "2007-10-01" and money(replay["starting_cash"]) == Decimal("10000.00")
          and replay["currency"] == "USD", f"{replay}")
    # a fresh test database: the season is at its start
    st, joined, _ = call("POST", f"/v1/seasons/{sid}/join", {}, token=token)
    check("join the replay season: 201", st == 201 and money(joined["cash"]) == Decimal("10000.00"), f"{st} {joined}")
    st, body, _ = call("POST", f"/v1/seasons/{sid}/join", {}, token=token)
    expect_error("join twice", st, body, 409, "SK008")

    # look up the stock and its price at the clock
    st, found, _ = call("GET", "/v1/market/stocks/search?q=s%26p")
    check("search finds the S&P 500 index fund", st == 200 and any(i["symbol"] == "SP500" for i in found["items"]),
          f"{st} {found}")
    st, chart, _ = call("GET", "/v1/market/stocks/SP500/chart?from=2007-10-01&to=2008-10-31")
    bars = {b["date"]: b for b in chart["bars"]}
    check("chart serves the real daily bars", st == 200 and "2008-10-10" in bars and len(bars) > 250, f"{st}")
    p_buy = money(bars["2007-10-01"]["close"])
    p_sell = money(bars["2008-10-31"]["close"])

    # buy the index fund at the 2007-10-01 close
    st, order, _ = call("POST", "/v1/trading/orders",
                        {"season_id": sid, "symbol": "SP500", "side": "BUY", "type": "MARKET", "quantity": 6,
                         "client_order_id": f"buy-{tag}"}, token=token)
    gross = (p_buy * 6).quantize(CENT, ROUND_HALF_UP)
    fee = (gross * FEE_RATE).quantize(CENT, ROUND_DOWN)
    check("market buy fills at once: 201 FILLED", st == 201 and order["status"] == "FILLED"
          and order["filled_quantity"] == 6, f"{st} {order}")
    check("fill at the clock's close, gross and fee by the documented rules",
          money(order["average_fill_price"]) == p_buy and money(order["gross_amount"]) == gross
          and money(order["fees"]) == fee, f"{order} want gross {gross} fee {fee}")
    st, again, _ = call("POST", "/v1/trading/orders",
                        {"season_id": sid, "symbol": "SP500", "side": "BUY", "type": "MARKET", "quantity": 6,
                         "client_order_id": f"buy-{tag}"}, token=token)
    check("the same client_order_id returns the first order", st == 201 and again["id"] == order["id"], f"{again}")
    st, body, _ = call("POST", "/v1/trading/orders",
                       {"season_id": sid, "symbol": "SP500", "side": "BUY", "type": "MARKET", "quantity": 1,
                        "client_order_id": f"buy-{tag}"}, token=token)
    expect_error("the same client_order_id with another body", st, body, 409, "SK003")

    st, pf0, _ = call("GET", f"/v1/trading/portfolio?season_id={sid}", token=token)
    cash0 = Decimal("10000.00") - gross - fee
    check("portfolio after the buy: cash and one holding", st == 200 and money(pf0["cash"]) == cash0
          and len(pf0["holdings"]) == 1 and pf0["holdings"][0]["quantity"] == 6, f"{st} {pf0}")

    # bad input: 4xx JSON, nothing changes
    st, hist0, _ = call("GET", f"/v1/trading/history?season_id={sid}", token=token)
    bad = [
        ("quantity 0", {"symbol": "SP500", "side": "BUY", "type": "MARKET", "quantity": 0}, 400, "22023"),
        ("negative quantity", {"symbol": "SP500", "side": "BUY", "type": "MARKET", "quantity": -3}, 400, "22023"),
        ("absurd quantity", {"symbol": "SP500", "side": "BUY", "type": "MARKET", "quantity": 10 ** 12}, 400, "22003"),
        ("fractional quantity", {"symbol": "SP500", "side": "BUY", "type": "MARKET", "quantity": 1.5}, 400, "22023"),
        ("unknown symbol", {"symbol": "NOPE", "side": "BUY", "type": "MARKET", "quantity": 1}, 404, "P0002"),
        ("wrong side", {"symbol": "SP500", "side": "HOLD", "type": "MARKET", "quantity": 1}, 400, "22023"),
        ("wrong type", {"symbol": "SP500", "side": "BUY", "type": "STOP", "quantity": 1}, 400, "22023"),
        ("limit without a price", {"symbol": "SP500", "side": "BUY", "type": "LIMIT", "quantity": 1}, 400, "22023"),
        ("limit off tick", {"symbol": "SP500", "side": "BUY", "type": "LIMIT", "quantity": 1,
                            "limit_price": "900.005"}, 400, "SK007"),
        ("more than the cash", {"symbol": "SP500", "side": "BUY", "type": "MARKET", "quantity": 100}, 422, "SK001"),
        ("more than the holding", {"symbol": "SP500", "side": "SELL", "type": "MARKET", "quantity": 7}, 422, "SK002"),
        ("a symbol of another currency", {"symbol": "SP500", "side": "BUY", "type": "MARKET", "quantity": 1,
                                          "season_id": krw}, 400, "22023"),
        ("a season not joined", {"symbol": "SP500", "side": "BUY", "type": "MARKET", "quantity": 1,
                                 "season_id": 999999}, 404, "SK010"),
    ]
    for name, args, want_status, want_code in bad:
        args = dict(args)
        args.setdefault("season_id", sid)
        st, body, _ = call("POST", "/v1/trading/orders", args, token=token)
        expect_error(f"bad order ({name})", st, body, want_status, want_code)
    st, body, _ = call("POST", "/v1/trading/orders", raw=b'{"symbol": "SP500", ', token=token)
    expect_error("malformed JSON body", st, body, 400, "PX400")
    st, pf1, _ = call("GET", f"/v1/trading/portfolio?season_id={sid}", token=token)
    st, hist1, _ = call("GET", f"/v1/trading/history?season_id={sid}", token=token)
    check("bad input changed nothing (portfolio and history identical)", pf1 == pf0 and hist1 == hist0)

    # a parent may not trade; another child does not see this child's order
    st, _, _ = call("POST", "/v1/auth/signup", {"email": f"mom-{tag}@example.com", "password": password,
                                                "role": "PARENT", "nickname": "Mom"})
    st, body, _ = call("POST", "/v1/auth/login", {"email": f"mom-{tag}@example.com", "password": password})
    parent_token = body["access_token"]
    st, body, _ = call("POST", "/v1/trading/orders", {"symbol": "SP500", "side": "BUY", "type": "MARKET",
                                                      "quantity": 1}, token=parent_token)
    expect_error("a parent placing an order", st, body, 403, "PX430")
    call("POST", "/v1/auth/signup", {"email": f"other-{tag}@example.com", "password": password, "role": "CHILD",
                                     "nickname": "Other"})
    st, body, _ = call("POST", "/v1/auth/login", {"email": f"other-{tag}@example.com", "password": password})
    other_token = body["access_token"]
    st, body, _ = call("GET", f"/v1/trading/orders/{order['id']}", token=other_token)
    expect_error("another child reading this child's order", st, body, 404, "P0002")
    st, body, _ = call("DELETE", f"/v1/trading/orders/{order['id']}", token=other_token)
    expect_error("another child canceling this child's order", st, body, 404, "P0002")

    # the clock: a child may not move it; an ADMIN moves it through October 2008
    st, body, _ = call("POST", f"/v1/admin/seasons/{sid}/advance", {"bars": 5}, token=token)
    expect_error("a child advancing the clock", st, body, 403, "PX430")
    admin_email = f"admin-{tag}@example.com"
    psql(f"SELECT stockking.create_user('{admin_email}', '{password}', 'ADMIN', 'Operator')")
    st, body, _ = call("POST", "/v1/auth/login", {"email": admin_email, "password": password})
    admin_token = body["access_token"]
    clock = "2007-10-01"
    while clock < "2008-10-31":
        remaining = sum(1 for d in bars if clock < d <= "2008-10-31")
        st, adv, _ = call("POST", f"/v1/admin/seasons/{sid}/advance", {"bars": min(remaining, 60)}, token=admin_token)
        if st != 200:
            check("advance the clock", False, f"{st} {adv}")
            break
        clock = adv["clock"]
    check("the clock reached 2008-10-31 bar by bar", clock == "2008-10-31", clock)

    st, pf, _ = call("GET", f"/v1/trading/portfolio?season_id={sid}", token=token)
    value = (p_sell * 6).quantize(CENT, ROUND_HALF_UP)
    total = cash0 + value
    ret = ((total - Decimal("10000.00")) / Decimal("10000.00")).quantize(Decimal("0.000001"), ROUND_HALF_UP)
    h = pf["holdings"][0]
    check("portfolio on 2008-10-31 values the fund at that day's close", st == 200 and pf["clock"] == "2008-10-31"
          and money(h["current_price"]) == p_sell and money(h["market_value"]) == value, f"{pf}")
    check("the crash shows as a loss: total value and simple return",
          money(pf["total_value"]) == total and money(pf["simple_return"]) == ret and ret < Decimal("-0.3"),
          f"{pf} want total {total} return {ret}")
    check("unrealized P&L = market value - cost basis",
          money(h["unrealized_pnl"]) == value - (gross + fee), f"{h}")

    # sell at the 2008-10-31 close and see the realized loss
    st, sold, _ = call("POST", "/v1/trading/orders", {"season_id": sid, "symbol": "SP500", "side": "SELL",
                                                      "type": "MARKET", "quantity": 6}, token=token)
    sgross = (p_sell * 6).quantize(CENT, ROUND_HALF_UP)
    sfee = (sgross * FEE_RATE).quantize(CENT, ROUND_DOWN)
    realized = sgross - sfee - (gross + fee)
    check("market sell fills", st == 201 and sold["status"] == "FILLED" and money(sold["fees"]) == sfee, f"{sold}")
    st, pf, _ = call("GET", f"/v1/trading/portfolio?season_id={sid}", token=token)
    check("realized P&L after the sale", money(pf["realized_pnl"]) == realized and pf["holdings"] == []
          and money(pf["cash"]) == cash0 + sale_proceeds(sgross, sfee), f"{pf} want realized {realized}")

    # a limit order rests, reserves cash, and is canceled
    st, lim, _ = call("POST", "/v1/trading/orders", {"season_id": sid, "symbol": "SP500", "side": "BUY",
                                                     "type": "LIMIT", "quantity": 2, "limit_price": "500.00",
                                                     "time_in_force": "GTC"}, token=token)
    reserve = Decimal("1000.00") + (Decimal("1000.00") * FEE_RATE).quantize(CENT, ROUND_DOWN)
    check("limit buy rests as NEW with its cost reserved", st == 201 and lim["status"] == "NEW"
          and money(lim["reserved_cash"]) == reserve, f"{st} {lim}")
    st, pf2, _ = call("GET", f"/v1/trading/portfolio?season_id={sid}", token=token)
    check("available cash drops by the reservation",
          money(pf2["available_cash"]) == money(pf["available_cash"]) - reserve, f"{pf2}")
    st, got, _ = call("GET", f"/v1/trading/orders/{lim['id']}", token=token)
    check("GET the order", st == 200 and got["status"] == "NEW")
    st, canceled, _ = call("DELETE", f"/v1/trading/orders/{lim['id']}", token=token)
    check("cancel the limit order", st == 200 and canceled["status"] == "CANCELED", f"{st} {canceled}")
    st, pf3, _ = call("GET", f"/v1/trading/portfolio?season_id={sid}", token=token)
    check("cancel releases the reservation", money(pf3["available_cash"]) == money(pf["available_cash"]), f"{pf3}")
    st, body, _ = call("DELETE", f"/v1/trading/orders/{lim['id']}", token=token)
    expect_error("cancel twice", st, body, 409, "SK004")
    st, body, _ = call("DELETE", f"/v1/trading/orders/{order['id']}", token=token)
    expect_error("cancel a filled order", st, body, 409, "SK004")

    # history, paginated
    st, page1, _ = call("GET", f"/v1/trading/history?season_id={sid}&limit=2", token=token)
    st2, page2, _ = call("GET", f"/v1/trading/history?season_id={sid}&limit=2&before={page1['next_before']}",
                         token=token)
    ids = [o["id"] for o in page1["items"] + page2["items"]]
    check("history pages newest first without overlap", st == 200 and st2 == 200 and len(ids) == 3
          and ids == sorted(ids, reverse=True) and page2["next_before"] is None, f"{page1} {page2}")

    # the cash ledger sums to the balance
    ledger = psql(f"SELECT a.cash = sum(l.amount) FROM stockking.account a JOIN stockking.cash_ledger l "
                  f"ON l.account_id = a.id JOIN stockking.users u ON u.id = a.user_id "
                  f"WHERE u.email = '{kid_email}' AND a.season_id = {sid} GROUP BY a.cash")
    check("the cash ledger sums to the balance", ledger == "t", ledger)

    st, body, _ = call("GET", "/v1/nothing/here")
    expect_error("unknown route", st, body, 404, "PX404")

    failed = results.count(False)
    print(f"{len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


def sale_proceeds(gross, fee):
    """Cash a sale brings: gross less commission (no sell-side tax on US trades)."""
    return gross - fee


if __name__ == "__main__":
    sys.exit(main())
