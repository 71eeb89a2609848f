#!/usr/bin/env python3
"""End-to-end test of families, allowance, missions and jobs through the real proxy over HTTP.

Runs against the instance STOCKKING_HTTP points at (and the PG* variables for the operator steps done in SQL as
the database owner: a replay season of its own, an ADMIN user, the snapshot and leaderboard jobs, pg_cron).

The story: a parent links to a child with the child's link code; sets a goal (+5% time-weighted return pays
10,000 won); the child buys the S&P 500 index fund on 2009-03-09 in a replay season of this test's own, and the
goal is refused until the replay clock (advanced by an ADMIN) brings the market up; the child asks, the parent
approves, the sandbox pays; both sides receive their events (read back through GET /v1/notifications: the
proxy's event stream is tested on its own); missions and badges follow the trades, a reward is claimed once;
parent approval of trades; the weekly leaderboard; and a second child, of another family, sees none of it.

Expected values are computed here from the prices the chart API serves and the documented rules (gross rounded
half up to the cent, commission 0.25% truncated to the cent, the time-weighted return), not copied from the
server's answers.

Output: TAP-like lines "ok N - ..." / "not ok N - ...", then "N passed, N failed".
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
PASSWORD = "correct horse battery"

results = []


def check(name, cond, info=""):
    results.append(bool(cond))
    n = len(results)
    if cond:
        print(f"ok {n} - {name}")
    else:
        print(f"not ok {n} - {name}" + (f": {info}" if info else ""))
    sys.stdout.flush()


def call(method, path, body=None, token=None):
    """One HTTP request; returns (status, parsed JSON body).  The proxy's rate limits (log-in: 5 a minute per
    address) are honoured: a 429 is retried after its Retry-After, so the suite passes after other suites."""
    data = json.dumps(body).encode() if body is not None else None
    for _ in range(10):
        req = urllib.request.Request(BASE + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("Authorization", "Bearer " + token)
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                text = resp.read().decode()
                return resp.status, (json.loads(text) if text else None)
        except urllib.error.HTTPError as e:
            text = e.read().decode()
            if e.code == 429:
                time.sleep(min(max(int(e.headers.get("Retry-After") or 5), 1), 60))
                continue
            try:
                parsed = json.loads(text)
            except ValueError:
                parsed = {"unparsed": text}
            return e.code, parsed
    return 429, {"error": {"code": "PX429", "message": "still rate limited after retries"}}


def psql(sql):
    out = subprocess.run(["psql", "-X", "-q", "-tA", "-v", "ON_ERROR_STOP=1", "-c", sql],
                         capture_output=True, text=True, check=True)
    return out.stdout.strip()


def err_code(body):
    return (body or {}).get("error", {}).get("code")


def expect_error(name, got, want_status, want_code):
    status, body = got
    check(f"{name}: HTTP {want_status} {want_code}",
          status == want_status and err_code(body) == want_code
          and isinstance((body or {}).get("error", {}).get("message"), str),
          f"got {status} {body}")


def money(x):
    return Decimal(str(x))


def login(email):
    st, body = call("POST", "/v1/auth/login", {"email": email, "password": PASSWORD})
    if st != 200:
        raise SystemExit(f"login {email}: {st} {body}")
    return body["access_token"]


def signup(email, role, nickname):
    st, body = call("POST", "/v1/auth/signup", {"email": email, "password": PASSWORD, "role": role, "nickname": nickname})
    check(f"signup {role} {nickname}: 201", st == 201 and body.get("role") == role, f"{st} {body}")
    return body["id"], login(email)


def events(token, after=0):
    st, body = call("GET", f"/v1/notifications?after={after}&limit=200", token=token)
    return body.get("items", []) if st == 200 else []


def main():
    tag = uuid.uuid4().hex[:8]

    # operator steps: a replay season of this test's own, from the March 2009 low, and an ADMIN user
    sid = int(psql(f"SELECT stockking.create_season('E2E-FAM-{tag}', 'e2e family {tag}', 'REPLAY', 'USD', 1000000, "
                   f"'SP500', DATE '2009-03-09')"))
    admin_email = f"admin-{tag}@example.com"
    psql(f"SELECT stockking.create_user('{admin_email}', '{PASSWORD}', 'ADMIN', 'admin')")
    admin = login(admin_email)

    kid_id, kid = signup(f"kid-{tag}@example.com", "CHILD", "Minjun")
    mom_id, mom = signup(f"mom-{tag}@example.com", "PARENT", "Mom")
    other_id, other = signup(f"other-{tag}@example.com", "CHILD", "Seoyeon")
    other_parent_id, other_parent = signup(f"otherp-{tag}@example.com", "PARENT", "Aunt")

    # link: the code is on the child's profile
    st, prof = call("GET", "/v1/users/me/profile", token=kid)
    code = prof.get("link_code", "") if st == 200 else ""
    check("the child's profile shows a link code", st == 200 and len(code) == 8 and prof.get("level") == 1, f"{st} {prof}")
    expect_error("a child cannot link", call("POST", "/v1/auth/link-family", {"code": code}, token=other), 403, "PX430")
    expect_error("an unknown code", call("POST", "/v1/auth/link-family", {"code": "AAAA-AAAA"}, token=mom), 404, "SK201")
    expect_error("a malformed code", call("POST", "/v1/auth/link-family", {"code": "x"}, token=mom), 400, "22023")
    st, fam = call("POST", "/v1/auth/link-family", {"code": code[:4].lower() + "-" + code[4:]}, token=mom)
    check("the parent links with the code: one family of two",
          st == 200 and sorted(m["role"] for m in fam["members"]) == ["CHILD", "PARENT"], f"{st} {fam}")
    expect_error("linking twice", call("POST", "/v1/auth/link-family", {"code": code}, token=mom), 409, "SK202")
    st, body = call("POST", "/v1/auth/link-family",
                    {"code": call("GET", "/v1/users/me/profile", token=other)[1]["link_code"]}, token=other_parent)
    check("the other family links too", st == 200, f"{st} {body}")
    st, f = call("GET", "/v1/family", token=mom)
    check("GET /v1/family as the parent lists both", st == 200 and len(f["members"]) == 2
          and f["settings"]["trade_approval"] is False, f"{st} {f}")

    # the replay season
    st, joined = call("POST", f"/v1/seasons/{sid}/join", {}, token=kid)
    check("the child joins the replay season: 10,000.00 USD", st == 201 and money(joined["cash"]) == Decimal("10000.00"),
          f"{st} {joined}")
    call("POST", f"/v1/seasons/{sid}/join", {}, token=other)

    # the goal: parents only
    goal_args = {"child_id": kid_id, "season_id": sid, "target_rate": 5, "reward_amount": 10000,
                 "monthly_limit": 20000, "max_requests_per_month": 2, "title": "S&P 500 +5%"}
    expect_error("a child cannot set a goal", call("POST", "/v1/allowance/goals", goal_args, token=kid), 403, "PX430")
    expect_error("a parent of another family cannot set one",
                 call("POST", "/v1/allowance/goals", goal_args, token=other_parent), 404, "P0002")
    expect_error("a reward above the monthly limit",
                 call("POST", "/v1/allowance/goals", dict(goal_args, reward_amount=30000), token=mom), 400, "22023")
    st, goal = call("POST", "/v1/allowance/goals", goal_args, token=mom)
    check("the parent sets the goal: 201", st == 201 and goal["rule"] == "TARGET_RETURN"
          and money(goal["target_rate"]) == 5 and goal["status"]["met"] is False, f"{st} {goal}")
    gid = goal["id"]
    expect_error("a request before the goal is met", call("POST", "/v1/allowance/requests", {"goal_id": gid}, token=kid),
                 422, "SK221")

    # the child buys 14 units on 2009-03-09
    st, chart = call("GET", "/v1/market/stocks/SP500/chart?from=2009-03-09&to=2009-03-10")
    bars = {b["date"]: b for b in chart["bars"]}
    p0, p1 = money(bars["2009-03-09"]["close"]), money(bars["2009-03-10"]["close"])
    st, order = call("POST", "/v1/trading/orders", {"season_id": sid, "symbol": "SP500", "side": "BUY",
                                                   "type": "MARKET", "quantity": 14}, token=kid)
    gross = (p0 * 14).quantize(CENT, ROUND_HALF_UP)
    fee = (gross * FEE_RATE).quantize(CENT, ROUND_DOWN)
    check("the buy fills at the 2009-03-09 close", st == 201 and order["status"] == "FILLED"
          and money(order["gross_amount"]) == gross and money(order["fees"]) == fee, f"{st} {order}")
    order_id = order["id"]

    # the ADMIN advances the replay clock one bar: the market is up
    expect_error("only an ADMIN advances the clock",
                 call("POST", f"/v1/admin/seasons/{sid}/advance", {"bars": 1}, token=mom), 403, "PX430")
    st, adv = call("POST", f"/v1/admin/seasons/{sid}/advance", {"bars": 1}, token=admin)
    check("the clock moves to 2009-03-10", st == 200 and adv["clock"] == "2009-03-10", f"{st} {adv}")
    cash = Decimal("10000.00") - gross - fee
    value = cash + (p1 * 14).quantize(CENT, ROUND_HALF_UP)
    expected_pct = ((value / Decimal("10000.00") - 1) * 100).quantize(Decimal("0.0001"), ROUND_HALF_UP)
    st, goals = call("GET", "/v1/allowance/goals", token=kid)
    g = next((x for x in goals.get("items", []) if x["id"] == gid), {}) if st == 200 else {}
    check(f"the goal is met: time-weighted return {expected_pct}% >= 5%",
          g.get("status", {}).get("met") is True and money(g["status"]["measured_return_pct"]) == expected_pct,
          f"{st} {g}")

    # the request
    st, req = call("POST", "/v1/allowance/requests", {"goal_id": gid, "note": "5% 넘었어요!"}, token=kid)
    check("the child asks: 201 PENDING 10,000 won", st == 201 and req["status"] == "PENDING" and req["amount"] == 10000
          and money(req["measured_return_pct"]) == expected_pct, f"{st} {req}")
    rid = req["id"]
    expect_error("a second request while one waits", call("POST", "/v1/allowance/requests", {"goal_id": gid}, token=kid),
                 409, "SK224")
    expect_error("a parent cannot request", call("POST", "/v1/allowance/requests", {"goal_id": gid}, token=mom),
                 403, "PX430")
    mom_events = events(mom)
    check("the parent received AllowanceRequested", any(e["type"] == "AllowanceRequested"
          and e["payload"]["request_id"] == rid and e["payload"]["amount"] == 10000 for e in mom_events),
          f"{[e['type'] for e in mom_events]}")
    check("the child did not (it is for the parents)",
          not any(e["type"] == "AllowanceRequested" for e in events(kid)))

    # approval and payment
    expect_error("the child cannot approve", call("PUT", f"/v1/allowance/requests/{rid}/approve", {}, token=kid),
                 403, "PX430")
    expect_error("a parent of another family cannot approve",
                 call("PUT", f"/v1/allowance/requests/{rid}/approve", {}, token=other_parent), 404, "P0002")
    st, appr = call("PUT", f"/v1/allowance/requests/{rid}/approve", {}, token=mom)
    pay = (appr or {}).get("payment") or {}
    check("the parent approves: APPROVED, paid through the sandbox", st == 200 and appr["status"] == "APPROVED"
          and pay.get("status") == "SUCCEEDED" and pay.get("paid") is True and pay.get("amount") == 10000
          and str(pay.get("provider_ref", "")).startswith("SBX-"), f"{st} {appr}")
    st, again = call("PUT", f"/v1/allowance/requests/{rid}/approve", {}, token=mom)
    check("approving again changes nothing: the same one payment",
          st == 200 and again["payment"]["id"] == pay.get("id") and again["payment"]["attempts"] == 1, f"{st} {again}")
    expect_error("rejecting it now", call("PUT", f"/v1/allowance/requests/{rid}/reject", {"reason": "no"}, token=mom),
                 409, "SK225")
    kid_events = events(kid)
    check("the child received AllowanceApproved and PaymentSucceeded",
          any(e["type"] == "AllowanceApproved" and e["payload"]["request_id"] == rid for e in kid_events)
          and any(e["type"] == "PaymentSucceeded" and e["payload"]["request_id"] == rid for e in kid_events),
          f"{[e['type'] for e in kid_events]}")
    st, hist = call("GET", "/v1/allowance/history", token=kid)
    check("history: the request, its decision and its payment; 10,000 won paid",
          st == 200 and hist["items"][0]["id"] == rid and hist["items"][0]["payment"]["status"] == "SUCCEEDED"
          and hist["paid_total"] == 10000, f"{st} {hist}")
    expect_error("the goal's period starts again: not met again at once",
                 call("POST", "/v1/allowance/requests", {"goal_id": gid}, token=kid), 422, "SK221")

    # parents read the child's account, read-only
    st, pf = call("GET", f"/v1/family/children/{kid_id}/portfolio?season_id={sid}", token=mom)
    check("the parent sees the child's portfolio", st == 200 and pf["child_id"] == kid_id
          and money(pf["total_value"]) == value, f"{st} {pf}")
    st, orders = call("GET", f"/v1/family/children/{kid_id}/orders?season_id={sid}", token=mom)
    check("the parent sees the child's orders", st == 200 and [o["id"] for o in orders["items"]] == [order_id],
          f"{st} {orders}")
    expect_error("a child cannot use the parents' view",
                 call("GET", f"/v1/family/children/{kid_id}/portfolio", token=other), 403, "PX430")
    expect_error("a parent of another family does not see the child",
                 call("GET", f"/v1/family/children/{kid_id}/portfolio", token=other_parent), 404, "P0002")

    # a second child, of another family, sees none of it
    expect_error("the other child cannot see the child's profile",
                 call("GET", f"/v1/users/{kid_id}/profile", token=other), 404, "P0002")
    expect_error("nor the child's order", call("GET", f"/v1/trading/orders/{order_id}", token=other), 404, "P0002")
    st, oh = call("GET", "/v1/allowance/history", token=other)
    st2, og = call("GET", "/v1/allowance/goals", token=other)
    check("nor the child's allowance", st == 200 and oh["items"] == [] and oh["paid_total"] == 0
          and st2 == 200 and og["items"] == [], f"{oh} {og}")
    check("nor the child's events", not any(e["user_id"] == kid_id for e in events(other)))
    expect_error("nor the child's missions",
                 call("GET", f"/v1/gamification/missions/daily?child_id={kid_id}", token=other), 404, "P0002")

    # missions, badges, XP: the buy completed the daily mission and earned FIRST_PURCHASE
    st, daily = call("GET", "/v1/gamification/missions/daily", token=kid)
    m = next((i for i in daily.get("items", []) if i["code"] == "DAILY_BUY_ONE"), {}) if st == 200 else {}
    check("the daily mission 'buy one stock' is completed", m.get("completed") is True and m.get("claimable") is True,
          f"{st} {daily}")
    st, claim = call("POST", f"/v1/gamification/missions/{m.get('id')}/claim", {"season_id": sid}, token=kid)
    check("claiming adds 5.00 USD to the account", st == 200 and money(claim["amount"]) == Decimal("5.00")
          and money(claim["cash"]) == cash + Decimal("5.00"), f"{st} {claim}")
    expect_error("claiming twice", call("POST", f"/v1/gamification/missions/{m.get('id')}/claim", {"season_id": sid},
                                        token=kid), 409, "SK241")
    st, pf2 = call("GET", f"/v1/trading/portfolio?season_id={sid}", token=kid)
    check("the reward is a contribution, not profit", st == 200 and money(pf2["profit"]) == value - Decimal("10000.00")
          and money(pf2["net_contribution"]) == Decimal("10005.00"), f"{st} {pf2}")
    st, badges = call("GET", "/v1/gamification/badges", token=kid)
    check("badge FIRST_PURCHASE earned", st == 200 and any(b["code"] == "FIRST_PURCHASE" and b["earned"]
                                                           for b in badges["items"]), f"{st} {badges}")
    st, prof = call("GET", f"/v1/users/{kid_id}/profile", token=mom)
    check("the profile: level 2 with 120 XP, seen by the parent", st == 200 and prof["level"] == 2 and prof["xp"] == 120,
          f"{st} {prof}")
    check("the parent heard MissionCompleted", any(e["type"] == "MissionCompleted" for e in events(mom)))

    # parent approval of trades
    st, s = call("PUT", "/v1/family/settings", {"trade_approval": True}, token=mom)
    check("the parent turns trade approval on", st == 200 and s["settings"]["trade_approval"] is True, f"{st} {s}")
    buy = {"season_id": sid, "symbol": "MSFT", "side": "BUY", "type": "MARKET", "quantity": 1}
    expect_error("an order without a reason", call("POST", "/v1/trading/orders", buy, token=kid), 422, "SK210")
    st, tr = call("POST", "/v1/trading/orders", dict(buy, reason="한 주 더 사고 싶어요"), token=kid)
    check("with a reason it becomes a request", st == 201 and tr.get("status") == "PENDING_APPROVAL", f"{st} {tr}")
    trid = tr["trade_request"]["id"]
    st, pending = call("GET", "/v1/family/trade-requests?status=PENDING", token=mom)
    check("the parent sees it waiting", st == 200 and [t["id"] for t in pending["items"]] == [trid], f"{st} {pending}")
    st, ap = call("PUT", f"/v1/family/trade-requests/{trid}/approve", {"note": "좋아"}, token=mom)
    check("approval places the order as the child", st == 200 and ap["status"] == "APPROVED"
          and ap["order"]["status"] == "FILLED" and ap["order"]["filled_quantity"] == 1, f"{st} {ap}")
    st, tr2 = call("POST", "/v1/trading/orders", dict(buy, reason="또"), token=kid)
    st, rj = call("PUT", f"/v1/family/trade-requests/{tr2['trade_request']['id']}/reject", {"reason": "오늘은 그만"},
                  token=mom)
    check("a rejected request places nothing", st == 200 and rj["status"] == "REJECTED" and rj["order_id"] is None,
          f"{st} {rj}")
    check("the child heard both decisions", {"TradeRequestApproved", "TradeRequestRejected"}
          <= {e["type"] for e in events(kid)})
    call("PUT", "/v1/family/settings", {"trade_approval": False}, token=mom)

    # the jobs: snapshot the season, refresh the leaderboard; the child leads its own season's week
    snap = json.loads(psql(f"SELECT stockking.run_job('snapshots')"))
    check("the snapshot job ran", snap.get("job") == "snapshots" and any(x["season_id"] == sid for x in snap["seasons"]),
          f"{snap}")
    psql("SELECT stockking.run_job('leaderboard')")
    st, lb = call("GET", f"/v1/gamification/leaderboard?period=weekly&season_id={sid}", token=kid)
    check("GET /v1/gamification/leaderboard: the child ranks first of the season this week",
          st == 200 and lb["me"]["rank"] == 1 and lb["items"][0]["nickname"] == "Minjun" and lb["items"][0]["me"],
          f"{st} {lb}")
    st, lb2 = call("GET", f"/v1/gamification/leaderboard?period=weekly&season_id={sid}", token=other)
    check("the other child is ranked too, seeing nicknames only", st == 200 and lb2["me"]["rank"] == 2
          and set(lb2["items"][0]) == {"rank", "nickname", "level", "weekly_return_pct", "me"}, f"{st} {lb2}")
    expect_error("an unknown period", call("GET", "/v1/gamification/leaderboard?period=yearly", token=kid), 400, "22023")

    # the monthly summary
    psql("SELECT stockking.build_family_summary(stockking.seoul_month(now()))")
    month = psql("SELECT to_char(now() AT TIME ZONE 'Asia/Seoul', 'YYYY-MM')")
    st, summ = call("GET", f"/v1/family/summary?month={month}", token=mom)
    c = summ["children"][0] if st == 200 and summ.get("children") else {}
    check("the monthly summary: trades, allowance paid, missions", c.get("nickname") == "Minjun" and c.get("trades") == 2
          and c.get("allowance_paid") == 10000 and c.get("missions_completed", 0) >= 1, f"{st} {summ}")

    # pg_cron: install_jobs() schedules by name; a second call updates, never duplicates
    if psql("SELECT count(*) FROM pg_extension WHERE extname = 'pg_cron'") == "1":
        first = json.loads(psql("SELECT stockking.install_jobs()"))
        n1 = psql("SELECT count(*) FROM cron.job WHERE jobname LIKE 'stockking-%'")
        psql("SELECT stockking.install_jobs()")
        n2 = psql("SELECT count(*) FROM cron.job WHERE jobname LIKE 'stockking-%'")
        names = psql("SELECT string_agg(jobname, ',' ORDER BY jobname) FROM cron.job WHERE jobname LIKE 'stockking-%'")
        check("install_jobs() twice: the same jobs, once each",
              n1 == n2 and int(n1) >= len(first["jobs"]) and "stockking-snapshots" in names
              and "stockking-leaderboard" in names, f"{n1} {n2} {names}")
    else:
        check("pg_cron is installed where the set-up says", False, "no pg_cron in this database")

    passed = sum(results)
    print(f"{passed} passed, {len(results) - passed} failed")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
