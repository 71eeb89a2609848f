#!/usr/bin/env python3
"""End-to-end test of the edge proxy over real HTTP: identity, limits, CORS, route reload, live events, recovery, operations.

Runs against the test instance `make test` starts (STOCKKING_HTTP, PG*, STOCKKING_INSTANCE ...; docker/cluster.sh acts on it).
The proxy is restarted with this test's own limits appended to its configuration (STOCKKING_PROXY_EXTRA_CONF): login 5/min and
trading 10/min (the seeds' figures, whatever the suite runner set), everything else raised, heartbeats every second, a small
event buffer and a small pool.  At the end the proxy is restarted with the environment the test found, so the instance is left
as it was.  Own users, own replay season, own routes (removed at the end).  Tokens other than the log-in's are minted here with
the instance's secret ($PGHOST/secrets/jwt_secret).

Output: TAP-like lines "ok N - ..." / "not ok N - ...", then "N passed, N failed".
"""
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import uuid

sys.dont_write_bytecode = True  # no __pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from proxy_clients import (SSEClient, StreamClosed, WSClient, http_request, jwt_parts, jwt_sign,  # noqa: E402
                           parse_prometheus)

BASE = os.environ.get("STOCKKING_HTTP", "http://127.0.0.1:18080")
TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RUN_DIR = os.environ.get("PGHOST", "")
SECRET_FILE = os.path.join(RUN_DIR, "secrets", "jwt_secret")
PID_FILE = os.path.join(RUN_DIR, "proxy.pid")
CONF_FILE = os.path.join(RUN_DIR, "proxy.conf")
ORIGIN = "https://app.stockking.test"

TEST_CONF = f"""
# regress/e2e/test_proxy.py: this suite's limits (appended last, so they win)
rate_limit_login = 5/min
rate_limit_trading = 10/min
rate_limit_default = 100000/min
cors_origins = {ORIGIN}, http://localhost:3000
heartbeat_interval = 1
event_client_buffer = 65536
pool_size = 2
pool_wait_timeout = 300
max_header_size = 8192
drain_timeout = 5
"""

results = []
tag = uuid.uuid4().hex[:8]
password = "correct horse battery"


def check(name, cond, info=""):
    results.append(bool(cond))
    n = len(results)
    print(f"ok {n} - {name}" if cond else f"not ok {n} - {name}" + (f": {info}" if info else ""))
    sys.stdout.flush()
    return bool(cond)


def call(method, path, body=None, token=None, headers=None, raw=None, timeout=30):
    return http_request(BASE, method, path, body=body, token=token, headers=headers, raw=raw, timeout=timeout)


def psql(sql):
    out = subprocess.run(["psql", "-X", "-q", "-tA", "-v", "ON_ERROR_STOP=1", "-c", sql],
                         capture_output=True, text=True, check=True)
    return out.stdout.strip()


def cluster(command, extra_conf=None, keep_env=True):
    env = dict(os.environ)
    if extra_conf is not None:
        env["STOCKKING_PROXY_EXTRA_CONF"] = extra_conf
    out = subprocess.run(["sh", os.path.join(TOP, "docker", "cluster.sh"), command], env=env, cwd=TOP,
                         capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        raise RuntimeError(f"cluster.sh {command} failed: {out.stdout} {out.stderr}")


def proxy_pid():
    with open(PID_FILE) as f:
        return int(f.read().strip())


def alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


def wait_ready(timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if call("GET", "/ready", timeout=2).status == 200:
                return True
        except OSError:
            pass
        time.sleep(0.1)
    return False


def expect_error(name, resp, status, code):
    body = resp.json()
    return check(f"{name}: HTTP {status} {code}", resp.status == status and resp.code() == code
                 and isinstance(body["error"].get("message"), str), f"got {resp.status} {body}")


class Tokens:
    """Access tokens minted with the instance's secret."""

    def __init__(self, secret):
        self.secret = secret

    def mint(self, sub, role, ttl=900, secret=None, **extra):
        now = int(time.time())
        claims = {"sub": sub, "role": role, "iss": "stockking", "iat": now, "exp": now + ttl}
        claims.update(extra)
        return jwt_sign(secret or self.secret, claims)


def user_id(email):
    return psql(f"SELECT id FROM stockking.users WHERE email = '{email}'")


def emit(email, audience, n, event_type="ProxyTest", extra=""):
    """An event about the user `email` through stockking.emit_event, as the domains write them; returns the outbox id."""
    return int(psql(f"SELECT stockking.emit_event(u.id, u.family_id, '{audience}', '{event_type}', "
                    f"jsonb_build_object('n', {n}, 'tag', '{tag}'{extra})) FROM stockking.users u WHERE u.email = '{email}'"))


def ns(events):
    return [e["data"]["payload"]["n"] for e in events]


def seqs(events):
    return [int(e["id"]) for e in events]


class Session:
    """A psql session kept open (an explicit transaction across statements)."""

    def __init__(self):
        self.proc = subprocess.Popen(["psql", "-X", "-q", "-tA", "-v", "ON_ERROR_STOP=1"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1)

    def run(self, sql, expect_line=False, timeout=10):
        self.proc.stdin.write(sql + "\n")
        self.proc.stdin.flush()
        if expect_line:
            ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
            if not ready:
                raise TimeoutError("psql did not answer")
            return self.proc.stdout.readline().strip()
        return None

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


# ---------------------------------------------------------------------------------------------------------------------------

def phase_identity(ctx):
    kid, mom = ctx["kid"], ctx["mom"]
    # logins: the per-address login bucket (5/min) is fresh after the restart
    r = call("POST", "/v1/auth/login", {"email": kid, "password": password})
    body = r.json()
    check("login: access token, refresh token, expiries", r.status == 200 and body.get("expires_in") == 900
          and body.get("refresh_token", "").startswith("skr_") and body.get("refresh_expires_in") == 604800, f"{r.status} {body}")
    ctx["kid_token"], rt_a = body["access_token"], body["refresh_token"]
    _, claims, verify = jwt_parts(ctx["kid_token"])
    check("the access token lives 15 minutes and is signed with the instance's secret",
          claims["exp"] - claims["iat"] == 900 and verify(ctx["secret"]), f"{claims}")
    check("RateLimit-* headers on a limited route", r.headers.get("ratelimit-limit") == "5"
          and r.headers.get("ratelimit-remaining") == "4", f"{r.headers}")
    rt_b = call("POST", "/v1/auth/login", {"email": kid, "password": password}).json()["refresh_token"]
    r = call("POST", "/v1/auth/login", {"email": mom, "password": password})
    ctx["mom_token"] = r.json()["access_token"]
    for _ in range(2):
        r = call("POST", "/v1/auth/login", {"email": kid, "password": "wrong password"})
    expect_error("a wrong password", r, 401, "28P01")
    r = call("POST", "/v1/auth/login", {"email": kid, "password": password})
    expect_error("the sixth log-in in a minute from one address", r, 429, "PX429")
    retry = r.headers.get("retry-after", "")
    check("429 carries Retry-After and RateLimit-*", retry.isdigit() and 1 <= int(retry) <= 12
          and r.headers.get("ratelimit-limit") == "5" and r.headers.get("ratelimit-remaining") == "0"
          and r.headers.get("ratelimit-reset", "").isdigit(), f"{r.headers}")

    # 401 versus 403, each with its own code
    expect_error("no token", call("GET", "/v1/users/me"), 401, "PX401")
    check("401 carries WWW-Authenticate", "bearer" in call("GET", "/v1/users/me").headers.get("www-authenticate", "").lower())
    expect_error("a malformed token", call("GET", "/v1/users/me", token="not.a.jwt"), 401, "PX402")
    forged = Tokens(b"x" * 32).mint(ctx["kid_id"], "CHILD")
    expect_error("a token signed with another secret", call("GET", "/v1/users/me", token=forged), 401, "PX403")
    expired = ctx["tokens"].mint(ctx["kid_id"], "CHILD", ttl=-1)
    expect_error("an expired access token", call("GET", "/v1/users/me", token=expired), 401, "PX410")
    r = call("POST", f"/v1/admin/seasons/{ctx['season']}/advance", {"bars": 1}, token=ctx["kid_token"])
    expect_error("a valid token without the right role", r, 403, "PX430")
    r = call("POST", "/v1/trading/orders", {"symbol": "SP500"}, token=ctx["mom_token"])
    expect_error("a parent placing an order", r, 403, "PX430")
    check("the log-in's token works", call("GET", "/v1/users/me", token=ctx["kid_token"]).status == 200)

    # refresh: rotation, reuse detection revoking the family, log-out
    r = call("POST", "/v1/auth/refresh", {"refresh_token": rt_a})
    body = r.json()
    check("refresh: a new access token and a new refresh token", r.status == 200 and body.get("token_type") == "Bearer"
          and body.get("expires_in") == 900 and body.get("refresh_token") not in (None, rt_a), f"{r.status} {body}")
    rt_a2 = body["refresh_token"]
    check("the refreshed access token works", call("GET", "/v1/users/me", token=body["access_token"]).status == 200)
    r = call("POST", "/v1/auth/refresh", {"refresh_token": rt_a})
    expect_error("reuse of a rotated refresh token", r, 401, "SK904")
    r = call("POST", "/v1/auth/refresh", {"refresh_token": rt_a2})
    expect_error("after a reuse the whole family is revoked (the successor too)", r, 401, "SK903")
    stored = psql(f"SELECT count(*) FILTER (WHERE revoked_reason = 'reuse') || '/' || count(*) FROM stockking.refresh_token t "
                  f"JOIN stockking.users u ON u.id = t.user_id WHERE u.email = '{kid}' AND t.chain_id = "
                  f"(SELECT chain_id FROM stockking.refresh_token WHERE token_hash = stockking.refresh_token_hash('{rt_a}'))")
    check("the revocation was committed: both tokens of the family revoked, stored hashed", stored == "2/2", stored)
    check("no refresh token is stored in clear", psql(
        f"SELECT count(*) FROM stockking.refresh_token WHERE encode(token_hash, 'escape') LIKE '%skr_%'") == "0")
    expect_error("an unknown refresh token", call("POST", "/v1/auth/refresh", {"refresh_token": "skr_nope"}), 401, "SK901")
    r = call("POST", "/v1/auth/logout", {"refresh_token": rt_b})
    check("logout revokes the token's family", r.status == 200 and r.json() == {"revoked": 1}, f"{r.status} {r.json()}")
    expect_error("refresh after logout", call("POST", "/v1/auth/refresh", {"refresh_token": rt_b}), 401, "SK903")
    check("logout twice is harmless", call("POST", "/v1/auth/logout", {"refresh_token": rt_b}).json() == {"revoked": 0})


def phase_limits(ctx):
    r = call("POST", "/v1/auth/signup", raw=b'{"email": "' + b"x" * 70000 + b'"}')
    expect_error("a body over the route's max_body (64 KiB)", r, 413, "PX413")
    deep = "[" * 40 + "]" * 40
    r = call("POST", "/v1/auth/signup", raw=('{"a": ' + deep + '}').encode())
    expect_error("JSON nested 41 deep", r, 400, "PX400")
    r = call("GET", "/v1/seasons", headers={"X-Padding": "p" * 9000})
    expect_error("headers over max_header_size", r, 431, "PX431")
    check("the oversize answers are JSON", r.headers.get("content-type", "").startswith("application/json"))
    r = call("GET", "/v1/seasons", headers={"X-Request-Id": f"e2e-{tag}"})
    check("X-Request-Id is echoed", r.status == 200 and r.headers.get("x-request-id") == f"e2e-{tag}")
    r = call("GET", "/v1/seasons", headers={"X-Request-Id": "bad id with spaces"})
    check("an unusable X-Request-Id is replaced by a generated one", len(r.headers.get("x-request-id", "")) == 32)


def phase_cors(ctx):
    pre = {"Origin": ORIGIN, "Access-Control-Request-Method": "POST",
           "Access-Control-Request-Headers": "authorization, content-type"}
    r = call("OPTIONS", "/v1/trading/orders", headers=pre)
    methods = r.headers.get("access-control-allow-methods", "")
    check("CORS preflight from an allowed origin: 204 with the route's methods", r.status == 204
          and r.headers.get("access-control-allow-origin") == ORIGIN and "POST" in methods
          and "authorization" in r.headers.get("access-control-allow-headers", "").lower()
          and r.headers.get("access-control-max-age", "").isdigit() and "origin" in r.headers.get("vary", "").lower(),
          f"{r.status} {r.headers}")
    r = call("OPTIONS", "/v1/trading/orders", headers=dict(pre, Origin="https://evil.example"))
    expect_error("CORS preflight from an origin not in the allow-list", r, 403, "PX433")
    check("... and without Access-Control-Allow-Origin", "access-control-allow-origin" not in r.headers)
    r = call("GET", "/v1/seasons", headers={"Origin": ORIGIN})
    check("a simple request from an allowed origin gets Allow-Origin and exposed headers",
          r.headers.get("access-control-allow-origin") == ORIGIN
          and "x-request-id" in r.headers.get("access-control-expose-headers", "").lower(), f"{r.headers}")
    r = call("GET", "/v1/seasons", headers={"Origin": "https://evil.example"})
    check("a request from another origin gets no Allow-Origin", r.status == 200 and "access-control-allow-origin" not in r.headers)


def phase_trading_limits(ctx):
    t2 = ctx["tokens"].mint(ctx["kid2_id"], "CHILD")
    statuses = [call("POST", "/v1/trading/orders", {}, token=t2).status for _ in range(10)]
    check("10 order attempts by one child pass the trading limit", 429 not in statuses, f"{statuses}")
    r = call("POST", "/v1/trading/orders", {}, token=t2)
    expect_error("the 11th order in a minute", r, 429, "PX429")
    check("429 carries Retry-After 6 and RateLimit-Limit 10", r.headers.get("retry-after") == "6"
          and r.headers.get("ratelimit-limit") == "10" and r.headers.get("ratelimit-remaining") == "0", f"{r.headers}")
    check("reads are another class: the same child still reads",
          call("GET", "/v1/users/me", token=t2).status == 200)
    t_other = ctx["tokens"].mint(ctx["other_id"], "CHILD")
    check("another child has a bucket of its own", call("POST", "/v1/trading/orders", {}, token=t_other).status != 429)
    t3 = ctx["tokens"].mint(ctx["kid3_id"], "CHILD", rate_limits={"trading": 12})
    statuses = [call("POST", "/v1/trading/orders", {}, token=t3).status for _ in range(13)]
    check("a rate_limits claim raises the child's trading limit to 12", 429 not in statuses[:12] and statuses[12] == 429,
          f"{statuses}")


def phase_routes(ctx):
    fn_sleep, fn_write, table = f"e2e_sleep_{tag}", f"e2e_write_{tag}", f"e2e_{tag}"
    prefix = f"/v1/e2e-{tag}"
    ctx["cleanup"].append(f"DELETE FROM stockking.route WHERE path LIKE '{prefix}/%'")
    ctx["cleanup"].append(f"DROP FUNCTION IF EXISTS api.{fn_sleep}(jsonb); DROP FUNCTION IF EXISTS api.{fn_write}(jsonb); "
                          f"DROP TABLE IF EXISTS public.{table}")
    psql(f"""
        CREATE TABLE public.{table} (x integer);
        GRANT SELECT, INSERT ON public.{table} TO PUBLIC;
        CREATE FUNCTION api.{fn_sleep}(args jsonb) RETURNS jsonb LANGUAGE sql
            AS $$ SELECT jsonb_build_object('slept', (args->>'s')::float8) FROM pg_sleep((args->>'s')::float8) $$;
        CREATE FUNCTION api.{fn_write}(args jsonb) RETURNS jsonb LANGUAGE sql
            AS $$ INSERT INTO public.{table} VALUES (1) RETURNING jsonb_build_object('wrote', x) $$;
        GRANT EXECUTE ON FUNCTION api.{fn_sleep}(jsonb), api.{fn_write}(jsonb) TO stockking_api;
    """)
    check("a path not in the table is 404", call("GET", f"{prefix}/seasons").status == 404)
    psql(f"INSERT INTO stockking.route (method, path, fn, roles, read_only, summary) VALUES "
         f"('GET', '{prefix}/seasons', 'list_seasons', NULL, true, 'e2e: seasons again')")
    deadline, st = time.monotonic() + 5, 0
    while time.monotonic() < deadline and st != 200:
        st = call("GET", f"{prefix}/seasons").status
        time.sleep(0.05)
    check("a route inserted through psql is served after the NOTIFY", st == 200, f"{st}")

    # in flight across a reload: a slow request keeps its table and finishes
    psql(f"INSERT INTO stockking.route (method, path, fn, roles, read_only, summary) VALUES "
         f"('GET', '{prefix}/sleep', '{fn_sleep}', NULL, true, 'e2e: sleep')")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and call("GET", f"{prefix}/sleep?s=0").status != 200:
        time.sleep(0.05)
    slow = {}
    th = threading.Thread(target=lambda: slow.update(r=call("GET", f"{prefix}/sleep?s=1.2")))
    th.start()
    time.sleep(0.3)
    psql(f"INSERT INTO stockking.route (method, path, fn, roles, read_only, summary) VALUES "
         f"('GET', '{prefix}/write', '{fn_write}', NULL, true, 'e2e: write in a READ ONLY route'), "
         f"('POST', '{prefix}/write', '{fn_write}', NULL, false, 'e2e: write'), "
         f"('GET', '{prefix}/slow', '{fn_sleep}', NULL, true, 'e2e: with a statement timeout')")
    psql(f"UPDATE stockking.route SET statement_timeout_ms = 300 WHERE path = '{prefix}/slow'")
    th.join()
    check("a request in flight during a route reload completes", slow["r"].status == 200 and slow["r"].json() == {"slept": 1.2},
          f"{slow['r'].status} {slow['r'].json()}")
    deadline, st = time.monotonic() + 5, 0
    while time.monotonic() < deadline and st not in (200, 500):
        st = call("POST", f"{prefix}/write").status
        time.sleep(0.05)
    check("a read-write route writes", st == 200, f"{st}")
    r = call("GET", f"{prefix}/write")
    check("a read_only route runs in a READ ONLY transaction (the write fails with 25006)",
          r.status == 500 and r.code() == "25006", f"{r.status} {r.json()}")
    r = call("GET", f"{prefix}/slow?s=2")
    expect_error("a route's statement timeout (300 ms)", r, 504, "57014")

    # the pool: 2 connections per thread and a 300 ms wait; 12 one-second calls at once
    out = []
    threads = [threading.Thread(target=lambda: out.append(call("GET", f"{prefix}/sleep?s=1"))) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted((r.status, r.code()) for r in out)
    n504 = sum(1 for r in out if r.status == 504 and r.code() == "PX504")
    check("an exhausted pool: the waiting requests fail fast with 504 PX504, the others complete",
          n504 >= 1 and sum(1 for r in out if r.status == 200) >= 2 and n504 + sum(1 for r in out if r.status == 200) == 12,
          f"{codes}")
    check("504 PX504 carries Retry-After", all(r.headers.get("retry-after") for r in out if r.status == 504))
    ctx["prefix"] = prefix


def phase_sse(ctx):
    kid, mom = ctx["kid"], ctx["mom"]
    kid_t = ctx["tokens"].mint(ctx["kid_id"], "CHILD")
    mom_t = ctx["tokens"].mint(ctx["mom_id"], "PARENT")
    expect_error("an event stream without a token", call("GET", "/v1/events"), 401, "PX401")

    sse = SSEClient(BASE, kid_t)
    check("SSE: 200 text/event-stream", sse.status == 200
          and sse.headers.get("content-type", "").startswith("text/event-stream"), f"{sse.status} {sse.headers}")
    mom_sse = SSEClient(BASE, mom_t)
    first = sse.next(timeout=5, comments=True)
    check("SSE: the stream opens with a retry interval", first.get("retry") == "3000", f"{first}")
    for n in (1, 2, 3):
        emit(kid, "USER", n)
    got = sse.events(3)
    check("SSE: live events in order with increasing ids", ns(got) == [1, 2, 3] and seqs(got) == sorted(seqs(got))
          and len(set(seqs(got))) == 3, f"{ns(got)} {seqs(got)}")
    check("SSE: event name and data (the outbox row)", got[0]["event"] == "ProxyTest"
          and got[0]["data"]["user_id"] == ctx["kid_id"] and got[0]["data"]["seq"] == int(got[0]["id"]), f"{got[0]}")
    ev = sse.next(timeout=3, comments=True)
    check("SSE: heartbeats keep an idle stream alive", "heartbeat" in ev["comments"], f"{ev}")
    last = seqs(got)[-1]

    # audiences: FAMILY reaches the child and the parent, PARENTS only the parent, USER only the child
    emit(kid, "FAMILY", 100)
    emit(kid, "PARENTS", 101)
    emit(kid, "USER", 102)
    emit(ctx["other"], "FAMILY", 103)
    emit(kid, "FAMILY", 104)
    kid_got = sse.events(3)
    mom_got = mom_sse.events(3)
    check("audience: the child gets USER and FAMILY events about itself", ns(kid_got) == [100, 102, 104], f"{ns(kid_got)}")
    check("audience: a parent gets the family's PARENTS and FAMILY events", ns(mom_got) == [100, 101, 104], f"{ns(mom_got)}")
    mom_sse.close()
    last = seqs(kid_got)[-1]

    # a forced disconnect: events committed meanwhile are replayed from Last-Event-ID, once each, then live
    sse.close()
    emit(kid, "USER", 4)
    emit(ctx["other"], "USER", 99)
    emit(kid, "USER", 5)
    sse = SSEClient(BASE, kid_t, last_event_id=last)
    got = sse.events(2)
    emit(kid, "USER", 6)
    got += sse.events(1)
    check("SSE resume with Last-Event-ID after a forced disconnect: every missed event, in order, none twice, then live",
          ns(got) == [4, 5, 6] and len(set(seqs(got))) == 3 and min(seqs(got)) > last, f"{ns(got)} {seqs(got)} after {last}")

    # commits out of id order: the transaction that took the lower outbox id commits last
    a = Session()
    a.run("BEGIN;")
    id7 = int(a.run(f"SELECT stockking.emit_event(u.id, u.family_id, 'USER', 'ProxyTest', jsonb_build_object('n', 7)) "
                    f"FROM stockking.users u WHERE u.email = '{kid}';", expect_line=True))
    id8 = emit(kid, "USER", 8)
    got8 = sse.events(1)
    sse.close()  # the client has seen 8, not 7 (still uncommitted)
    a.run("COMMIT;")
    a.close()
    sse = SSEClient(BASE, kid_t, last_event_id=got8[0]["id"])
    got7 = sse.events(1)
    check("commit order: id %d committed after id %d is still replayed after a resume from the later one's event id"
          % (id7, id8), id7 < id8 and ns(got8) == [8] and ns(got7) == [7] and int(got7[0]["id"]) > int(got8[0]["id"])
          and got7[0]["data"]["id"] == id7, f"{got8} {got7}")
    ctx["kid_last"] = int(got7[0]["id"])
    sse.close()

    r = SSEClient(BASE, kid_t, last_event_id="12x")
    check("a malformed Last-Event-ID is 400", r.status == 400 and r.body["error"]["code"] == "PX400", f"{r.status} {r.body}")
    r.close()
    r = SSEClient(BASE, kid_t, last_event_id=10 ** 15)
    ev = r.events(1)[0]
    check("a Last-Event-ID this outbox never had: event reset with the current position", ev["event"] == "reset"
          and ev["data"]["reason"] == "unknown_id" and int(ev["id"]) >= ctx["kid_last"], f"{ev}")
    r.close()
    r = SSEClient(BASE, path=f"/v1/events?access_token={kid_t}&last_event_id={last}")
    check("EventSource style: token and resume id in the query", r.status == 200 and ns(r.events(1)) == [4], f"{r.status}")
    r.close()

    short = ctx["tokens"].mint(ctx["kid_id"], "CHILD", ttl=2)
    r = SSEClient(BASE, short)
    _, comments = r.drain_until_end(timeout=6)
    check("the stream ends cleanly when its token expires", r.ended and "token expired" in comments, f"{comments}")
    r.close()


def phase_ws(ctx):
    kid4, sid = ctx["kid4"], ctx["season"]
    t4 = ctx["tokens"].mint(ctx["kid4_id"], "CHILD")
    r = call("POST", f"/v1/seasons/{sid}/join", {}, token=t4)
    check("the WebSocket child joins the test season", r.status == 201, f"{r.status} {r.json()}")
    ws = WSClient(BASE, t4)
    check("WebSocket: 101 with a valid Sec-WebSocket-Accept", ws.status == 101 and ws.accept_ok, f"{ws.status}")
    ws.send_json({"type": "subscribe"})
    ack = ws.recv()
    check("WebSocket: subscribed from now", ack.get("type") == "subscribed" and isinstance(ack.get("last_event_id"), int),
          f"{ack}")
    r = call("POST", "/v1/trading/orders", {"season_id": sid, "symbol": "SP500", "side": "BUY", "type": "MARKET",
                                            "quantity": 1}, token=t4)
    order = r.json()
    pushed = []
    while not any(e["event"] == "OrderFilled" for e in pushed) and len(pushed) < 10:
        pushed += ws.events(1)  # other domains may announce more (a badge for a first purchase)
    ev = next(e for e in pushed if e["event"] == "OrderFilled")
    check("WebSocket push: the fill of the order just placed", r.status == 201
          and ev["data"]["payload"]["order_id"] == order["id"] and ev["id"] == ev["data"]["seq"], f"{r.status} {order} {ev}")
    last = max(e["id"] for e in pushed)
    deadline = time.monotonic() + 3
    while ws.pings == 0 and time.monotonic() < deadline:
        try:
            ws.recv(timeout=0.5)
        except TimeoutError:
            pass
    check("WebSocket: pings keep the connection alive", ws.pings >= 1)
    ws.close()
    r = call("POST", "/v1/trading/orders", {"season_id": sid, "symbol": "SP500", "side": "BUY", "type": "MARKET",
                                            "quantity": 2}, token=t4)
    order2 = r.json()
    ws = WSClient(BASE, t4)
    ws.send_json({"type": "subscribe", "last_event_id": last})
    ack = ws.recv()
    got = ws.events(1)
    check("WebSocket resume: the subscribe message's id replays what was missed",
          ack.get("last_event_id") == last and got[0]["event"] == "OrderFilled" and got[0]["id"] > last
          and got[0]["data"]["payload"]["order_id"] == order2["id"], f"{ack} {got}")
    ws.send_json({"type": "subscribe"})
    check("WebSocket: a second subscribe is a policy violation (1008)", ws.recv() is None and ws.close_code == 1008,
          f"{ws.close_code}")
    ws.close()
    ws = WSClient(BASE, path="/v1/ws")
    check("WebSocket without a token: 401 before the upgrade", ws.status == 401 and ws.body["error"]["code"] == "PX401")
    ws.close()


def phase_slow_client(ctx):
    slow_t = ctx["tokens"].mint(ctx["slow_id"], "CHILD")
    sse = SSEClient(BASE, slow_t, rcvbuf=4096)
    sse.next(timeout=5, comments=True)  # the retry block: the stream is live
    psql(f"SELECT count(stockking.emit_event(u.id, u.family_id, 'USER', 'Bulk', jsonb_build_object('n', g, 'pad', "
         f"repeat('x', 2000)))) FROM stockking.users u, generate_series(1, 1000) g WHERE u.email = '{ctx['slow']}'")
    time.sleep(2)  # not reading: the proxy's buffer for this client (64 KiB) overflows
    received = 0
    try:
        while True:
            received += len(sse.events(1, timeout=5))
    except (StreamClosed, TimeoutError, OSError):
        pass
    sse.close()
    samples, _ = parse_prometheus(call("GET", "/metrics").body.decode())
    dropped = samples.get(("api_event_clients_dropped_total", frozenset()), 0)
    check("a client that does not read is disconnected, not buffered without bound", received < 1000 and dropped >= 1,
          f"received {received}, dropped {dropped}")


def phase_pg_restart(ctx):
    kid = ctx["kid"]
    kid_t = ctx["tokens"].mint(ctx["kid_id"], "CHILD")
    pid = proxy_pid()
    sse = SSEClient(BASE, kid_t, last_event_id=ctx["kid_last"])
    statuses, errors, stop = [], [], threading.Event()

    def traffic():
        while not stop.is_set():
            try:
                statuses.append(call("GET", "/v1/seasons", timeout=10).status)
            except Exception as e:  # noqa: BLE001 - any transport failure is a finding
                errors.append(repr(e))
            time.sleep(0.01)

    th = threading.Thread(target=traffic)
    th.start()
    time.sleep(0.3)
    emit(kid, "USER", 9)
    got = sse.events(1)
    cluster("restart-pg")
    emit(kid, "USER", 10)  # committed while the proxy is still reconnecting
    ready = wait_ready(30)
    got += sse.events(1, timeout=20)
    time.sleep(0.3)
    stop.set()
    th.join()
    n503 = statuses.count(503)
    check("PostgreSQL restart under traffic: the proxy stays up (same process)", alive(pid) and proxy_pid() == pid)
    check("requests get 200 or 503 while the database is away, no transport error",
          set(statuses) <= {200, 503} and not errors and n503 >= 1,
          f"{len(statuses)} requests: {sorted(set(statuses))} ({n503} x 503), errors {errors[:3]}")
    check("the pool and the LISTEN connection come back by themselves", ready and statuses[-1] == 200)
    check("no event lost across the restart: the open stream gets the event committed before and the one after",
          ns(got) == [9, 10] and seqs(got) == sorted(seqs(got)), f"{ns(got)}")
    sse.close()
    sse = SSEClient(BASE, kid_t, last_event_id=ctx["kid_last"])
    again = sse.events(2)
    check("... and a reconnecting client gets both replayed", ns(again) == [9, 10], f"{ns(again)}")
    ctx["kid_last"] = seqs(again)[-1]
    sse.close()


def phase_metrics(ctx):
    r = call("GET", "/metrics")
    try:
        samples, types = parse_prometheus(r.body.decode())
        parsed = True
    except ValueError as e:
        samples, types, parsed = {}, {}, False
        print(f"# {e}")
    check("/metrics parses as Prometheus text", r.status == 200 and parsed
          and r.headers.get("content-type", "").startswith("text/plain"), r.headers.get("content-type"))
    check("api_request_duration_seconds is a histogram", types.get("api_request_duration_seconds") == "histogram")

    def get(name, **labels):
        return samples.get((name, frozenset(labels.items())))

    lab = {"method": "GET", "route": "/v1/seasons", "status": "200"}
    buckets = sorted((float(dict(k[1])["le"]), v) for k, v in samples.items()
                     if k[0] == "api_request_duration_seconds_bucket"
                     and {x: y for x, y in k[1] if x != "le"} == lab)
    count = get("api_request_duration_seconds_count", **lab)
    check("histogram by route and status: cumulative buckets ending at +Inf = count",
          len(buckets) >= 10 and all(a[1] <= b[1] for a, b in zip(buckets, buckets[1:]))
          and buckets[-1][0] == float("inf") and buckets[-1][1] == count and count > 0, f"{buckets} {count}")
    check("the 429s are in the histogram under their route",
          (get("api_request_duration_seconds_count", method="POST", route="/v1/auth/login", status="429") or 0) >= 1)
    check("pool gauges: size, busy, waiting", (get("api_db_pool_size") or 0) >= 2 and get("api_db_pool_busy") is not None
          and get("api_db_pool_waiting") is not None, f"{get('api_db_pool_size')}")
    check("events sent and event clients", (get("api_events_sent_total") or 0) >= 10
          and get("api_event_clients", transport="sse") is not None and get("api_event_clients", transport="ws") is not None)
    check("rate-limit rejections by class", (get("api_rate_limited_total", **{"class": "login"}) or 0) >= 1
          and (get("api_rate_limited_total", **{"class": "trading"}) or 0) >= 2)
    check("pool wait timeouts are counted", (get("api_db_pool_wait_timeouts_total") or 0) >= 1)


def phase_openapi(ctx):
    r = call("GET", "/v1/openapi.json")
    doc = r.json()
    paths = doc.get("paths", {}) if isinstance(doc, dict) else {}
    check("GET /v1/openapi.json: an OpenAPI 3 document", r.status == 200 and str(doc.get("openapi", "")).startswith("3."))
    op = paths.get("/v1/trading/orders/{id}", {}).get("delete", {})
    check("paths from the route table, :captures as {parameters}", op.get("x-rate-limit-class") == "trading"
          and op.get("parameters", [{}])[0].get("name") == "id", f"{op}")
    check("descriptions from the api functions' comments",
          "rotation" in paths.get("/v1/auth/refresh", {}).get("post", {}).get("description", ""))
    check("the proxy's own endpoints are described", all(p in paths for p in ("/health", "/ready", "/metrics", "/v1/events",
                                                                             "/v1/ws")))
    check("a route inserted at run time is in the document", f"{ctx['prefix']}/seasons" in paths)


def phase_sighup(ctx):
    """A secret rotation (cluster.sh rotate-secret: new files, SIGHUP): the new secret signs, the old one still verifies
    (grace period) in the proxy and in the database, which checks every token itself."""
    pid = proxy_pid()
    cluster("rotate-secret")
    with open(SECRET_FILE, "rb") as f:
        new_secret = f.read().rstrip(b"\r\n")
    new_t = ctx["tokens"].mint(ctx["kid_id"], "CHILD", secret=new_secret)
    deadline, st = time.monotonic() + 5, 0
    while time.monotonic() < deadline and st != 200:
        st = call("GET", "/v1/users/me", token=new_t).status
        time.sleep(0.05)
    check("SIGHUP reloads the configuration: a token of the new secret is accepted", st == 200 and new_secret != ctx["secret"],
          f"{st}")
    old_t = ctx["tokens"].mint(ctx["kid_id"], "CHILD")
    check("during the grace period a token of the previous secret still is",
          call("GET", "/v1/users/me", token=old_t).status == 200)
    with open(CONF_FILE, "a") as f:
        f.write("\n# e2e: a reload\nrate_limit_login = 1000/min\n")
    os.kill(pid, signal.SIGHUP)
    time.sleep(0.3)
    r = call("POST", "/v1/auth/login", {"email": ctx["kid"], "password": password})
    check("the reload raised the login limit, and new tokens are signed with the new secret",
          r.status == 200 and jwt_parts(r.json()["access_token"])[2](new_secret)
          and not jwt_parts(r.json()["access_token"])[2](ctx["secret"]), f"{r.status}")
    check("the process is the same", alive(pid) and proxy_pid() == pid)


def phase_drain(ctx):
    kid_t = ctx["tokens"].mint(ctx["kid_id"], "CHILD")
    t4 = ctx["tokens"].mint(ctx["kid4_id"], "CHILD")
    pid = proxy_pid()
    sse = SSEClient(BASE, kid_t)
    sse.next(timeout=5, comments=True)
    ws = WSClient(BASE, t4)
    ws.send_json({"type": "subscribe"})
    ws.recv()
    slow = {}
    th = threading.Thread(target=lambda: slow.update(r=call("GET", f"{ctx['prefix']}/sleep?s=1.5")))
    th.start()
    time.sleep(0.4)
    started = time.monotonic()
    os.kill(pid, signal.SIGTERM)
    _, comments = sse.drain_until_end(timeout=8)
    check("SIGTERM: an SSE stream ends cleanly (the end of the chunked response)", sse.ended and "shutdown" in comments,
          f"ended {sse.ended} {comments}")
    msg = ws.recv(timeout=8)
    check("SIGTERM: a WebSocket is closed with 1001 (going away)", msg is None and ws.close_code == 1001, f"{ws.close_code}")
    th.join()
    check("SIGTERM: the request in flight completes", slow.get("r") is not None and slow["r"].status == 200,
          f"{slow.get('r') and slow['r'].status}")
    deadline = time.monotonic() + 8
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    check("SIGTERM: the proxy exits once drained (within the drain timeout)", not alive(pid),
          f"{time.monotonic() - started:.1f}s")
    try:
        call("GET", "/health", timeout=2)
        refused = False
    except OSError:
        refused = True
    check("after the drain no new connection is accepted", refused)
    sse.close()
    ws.close()


# ---------------------------------------------------------------------------------------------------------------------------

def main():
    ctx = {"cleanup": [], "files": []}
    with open(SECRET_FILE, "rb") as f:
        ctx["secret"] = f.read().rstrip(b"\r\n")
    ctx["tokens"] = Tokens(ctx["secret"])
    found_extra = os.environ.get("STOCKKING_PROXY_EXTRA_CONF")
    conf = tempfile.NamedTemporaryFile("w", prefix="sk-e2e-proxy-", suffix=".conf", delete=False)
    if found_extra and os.path.exists(found_extra):
        with open(found_extra) as f:
            conf.write(f.read())
    conf.write(TEST_CONF)
    conf.close()
    os.chmod(conf.name, 0o644)
    ctx["files"].append(conf.name)

    phases = [phase_identity, phase_limits, phase_cors, phase_routes, phase_ws, phase_trading_limits, phase_sse,
              phase_slow_client, phase_pg_restart, phase_metrics, phase_openapi, phase_sighup, phase_drain]
    started = time.monotonic()
    try:
        cluster("restart-proxy", extra_conf=conf.name)
        check("the proxy restarts with this suite's limits and becomes ready", wait_ready())
        for who in ("kid", "mom", "kid2", "kid3", "kid4", "slow", "other"):
            ctx[who] = f"proxy-{who}-{tag}@example.com"
            role = "PARENT" if who == "mom" else "CHILD"
            r = call("POST", "/v1/auth/signup", {"email": ctx[who], "password": password, "role": role, "nickname": who})
            if r.status != 201:
                raise RuntimeError(f"signup {who}: {r.status} {r.json()}")
            ctx[who + "_id"] = r.json()["id"]
        psql(f"UPDATE stockking.users SET family_id = (SELECT family_id FROM stockking.users WHERE email = '{ctx['kid']}') "
             f"WHERE email = '{ctx['mom']}'")
        ctx["season"] = int(psql(f"SELECT stockking.create_season('E2E-PROXY-{tag}', 'proxy e2e {tag}', 'REPLAY', 'USD', "
                                 f"1000000, 'SP500', '2008-01-02')"))
        for phase in phases:
            try:
                phase(ctx)
            except Exception:  # noqa: BLE001 - a failed phase is reported, the others still run
                check(f"{phase.__name__} ran to its end", False, traceback.format_exc().replace("\n", " | "))
    finally:
        # leave the instance as found: the proxy with the environment's configuration, no test routes
        try:
            cluster("restart-proxy")
            check("the proxy is restarted with the configuration it was found with", wait_ready())
        except Exception as e:  # noqa: BLE001
            check("the proxy is restarted with the configuration it was found with", False, repr(e))
        for sql in ctx["cleanup"]:
            try:
                psql(sql)
            except subprocess.CalledProcessError as e:
                print(f"# cleanup failed: {e.stderr}")
        for path in ctx["files"]:
            try:
                os.unlink(path)
            except OSError:
                pass
    print(f"# {time.monotonic() - started:.1f} s")
    failed = results.count(False)
    print(f"{len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
