#!/usr/bin/env python3
"""End-to-end test of the pocket-money ledger through the real proxy over HTTP.

Runs against the stack `make test` starts (STOCKKING_HTTP, and the PG*
variables for the few operator steps done in SQL: linking a parent to the
child's family, expiring a pending entry, reading the outbox).  It creates
its own users and depends on no other test's state.

A child parses sentences, chats entries in (pending, follow-up correction,
confirmation, a flagged duplicate, a question when the amount is missing,
delete and modify of the latest entry, a question about the month, a
correction that names an older entry, the SK113/SK114 refusals, questions of
count and top merchant), sets a
budget and crosses 80% and 100% of it, uploads a UTF-8 bank export and a
CP949 card export as the request body (preview, commit, the same file again
adds nothing), a file with bad rows (refused all or nothing, then committed
without them) and a file that needs a mapping override.  A parent reads the
child's ledger; a stranger does not.  Bad input gets 4xx JSON errors.

Expected values are computed here from the fixture files (Python's csv
module, the cp949 codec) and the documented rules, not copied from the
server's answers.

Output: TAP-like lines "ok N - ..." / "not ok N - ...", then "N passed, N failed".
"""
import csv
import datetime
import io
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from zoneinfo import ZoneInfo

BASE = os.environ.get("STOCKKING_HTTP", "http://127.0.0.1:18080")
DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "ledger")

results = []


def check(name, cond, info=""):
    results.append(bool(cond))
    n = len(results)
    if cond:
        print(f"ok {n} - {name}")
    else:
        print(f"not ok {n} - {name}" + (f": {info}" if info else ""))
    sys.stdout.flush()


def call(method, path, body=None, token=None, raw=None, content_type="application/json"):
    """One HTTP request; returns (status, parsed JSON body).  A 429 of the proxy's rate limits (5 log-ins a
    minute per address, 100 requests a minute per user) is waited out as its Retry-After says, so the test
    does not depend on what ran just before it."""
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    for _ in range(10):
        req = urllib.request.Request(BASE + path, data=data, method=method)
        req.add_header("Content-Type", content_type)
        if token:
            req.add_header("Authorization", "Bearer " + token)
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                text = resp.read().decode()
                return resp.status, (json.loads(text) if text else None)
        except urllib.error.HTTPError as e:
            text = e.read().decode()
            try:
                parsed = json.loads(text)
            except ValueError:
                parsed = {"unparsed": text}
            if e.code == 429:
                wait = float(e.headers.get("Retry-After") or 5)
                time.sleep(min(max(wait, 1), 65) + 0.2)
                continue
            return e.code, parsed
    return 429, parsed


def psql(sql):
    out = subprocess.run(["psql", "-X", "-q", "-tA", "-v", "ON_ERROR_STOP=1", "-c", sql],
                         capture_output=True, text=True, check=True)
    return out.stdout.strip()


def err_code(body):
    return (body or {}).get("error", {}).get("code")


def expect_error(name, status, body, want_status, want_code):
    check(f"{name}: HTTP {want_status} {want_code}",
          status == want_status and err_code(body) == want_code
          and isinstance(body["error"].get("message"), str),
          f"got {status} {body}")


def signup_login(email, role, nickname, password):
    st, body = call("POST", "/v1/auth/signup", {"email": email, "password": password, "role": role,
                                                "nickname": nickname})
    check(f"signup a {role}: 201", st == 201, f"{st} {body}")
    st, body = call("POST", "/v1/auth/login", {"email": email, "password": password})
    if st != 200:
        check(f"log in the {role}", False, f"{st} {body}")
        sys.exit(finish())
    return body.get("access_token"), body.get("user", {}).get("id")


def read_fixture(name):
    with open(os.path.join(DATA, name), "rb") as f:
        return f.read()


def won(text):
    """An amount of a fixture cell: digits of it, signed; None when empty."""
    t = text.strip().replace(",", "").replace("원", "")
    return int(t) if t else None


def main():
    tag = uuid.uuid4().hex[:8]
    password = "correct horse battery"
    today = datetime.datetime.now(ZoneInfo("Asia/Seoul")).date()
    yesterday = today - datetime.timedelta(days=1)

    kid, kid_id = signup_login(f"ledger-kid-{tag}@example.com", "CHILD", "민준", password)
    mom, mom_id = signup_login(f"ledger-mom-{tag}@example.com", "PARENT", "엄마", password)
    stranger, _ = signup_login(f"ledger-stranger-{tag}@example.com", "PARENT", "남", password)
    psql(f"UPDATE stockking.users SET family_id = (SELECT family_id FROM stockking.users WHERE id = '{kid_id}') "
         f"WHERE id = '{mom_id}'")

    # the parser
    st, p = call("POST", "/v1/ledger/parse", {"text": "어제 스벅에서 9천원 썼어"}, token=kid)
    check("parse: 어제 스벅에서 9천원 썼어", st == 200 and p["amount"] == 9000 and p["merchant"] == "스타벅스"
          and p["category"] == "카페/음료" and p["date"] == yesterday.isoformat() and p["kind"] == "EXPENSE"
          and p["intent"] == "ADD", f"{st} {p}")
    # a family's own merchant: the parser finds it for the family (the caller proven by the token)
    st, m = call("POST", "/v1/ledger/merchants", {"name": f"동네분식 {tag}", "category": "식비", "aliases": [f"분식{tag}"]},
                 token=kid)
    st2, p = call("POST", "/v1/ledger/parse", {"text": f"분식{tag}에서 3500원"}, token=kid)
    check("a family merchant added over HTTP is what the parser finds", st == 201 and st2 == 200
          and p["merchant"] == f"동네분식 {tag}" and p["category"] == "식비", f"{st} {m} {st2} {p}")
    st, p = call("POST", "/v1/ledger/parse", {"text": f"분식{tag}에서 3500원"}, token=stranger)
    check("another family's parser does not know it", st == 200 and p["merchant"] != f"동네분식 {tag}", f"{p}")
    st, p = call("POST", "/v1/ledger/parse", {"text": "지난주 금요일 CGV 1만2천원", "reference_date": "2025-06-18"},
                 token=kid)
    check("parse with a reference date: last Friday", st == 200 and p["date"] == "2025-06-13"
          and p["amount"] == 12000 and p["merchant"] == "CGV", f"{st} {p}")
    st, p = call("POST", "/v1/ledger/parse", {"text": "떡볶이 먹었어"}, token=kid)
    check("parse without an amount: a question, no guess", st == 200 and p["amount"] is None
          and "amount_missing" in p["reasons"] and p["question"] and float(p["confidence"]) < 0.5, f"{p}")
    st, body = call("POST", "/v1/ledger/parse", {"text": "내일 5천원"}, token=kid)
    expect_error("parse a future date", st, body, 422, "SK101")
    st, body = call("POST", "/v1/ledger/parse", {"text": "20억원"}, token=kid)
    expect_error("parse an amount over 1e9", st, body, 422, "SK102")
    st, body = call("POST", "/v1/ledger/parse", {"text": "가" * 501}, token=kid)
    expect_error("parse 501 characters", st, body, 400, "SK103")
    st, body = call("POST", "/v1/ledger/parse", {"text": "  "}, token=kid)
    expect_error("parse an empty text", st, body, 400, "22023")
    st, body = call("POST", "/v1/ledger/parse", {"text": "3천원"})
    expect_error("parse without a token", st, body, 401, "PX401")

    # chat: pending, a correction, confirmation
    st, c = call("POST", "/v1/ledger/chat", {"message": "오늘 투썸에서 5천원 썼어"}, token=kid)
    pend = c.get("pending", {})
    check("chat: a pending entry awaiting confirmation", st == 200 and pend.get("status") == "PENDING"
          and pend.get("amount") == 5000 and pend.get("merchant") == "투썸플레이스" and pend.get("expires_at")
          and isinstance(c.get("reply"), str), f"{st} {c}")
    st, c2 = call("POST", "/v1/ledger/chat", {"message": "아니 6천원이었어"}, token=kid)
    check("chat: a follow-up changes the pending entry", st == 200 and c2.get("updated") is True
          and c2["pending"]["id"] == pend["id"] and c2["pending"]["amount"] == 6000, f"{st} {c2}")
    st, conf = call("POST", f"/v1/ledger/chat/{pend['id']}/confirm", {}, token=kid)
    check("chat: confirm saves the entry", st == 200 and conf["pending"]["status"] == "CONFIRMED"
          and conf["entry"]["amount"] == 6000 and conf["entry"]["date"] == today.isoformat(), f"{st} {conf}")
    st, body = call("POST", f"/v1/ledger/chat/{pend['id']}/confirm", {}, token=kid)
    expect_error("confirm twice", st, body, 409, "SK106")
    st, body = call("POST", "/v1/ledger/chat/99999999/confirm", {}, token=kid)
    expect_error("confirm an unknown pending entry", st, body, 404, "P0002")

    # a likely duplicate is flagged; cancel it
    st, dup = call("POST", "/v1/ledger/chat", {"message": "투썸 6,000원"}, token=kid)
    check("chat: the same amount and merchant today is flagged", st == 200
          and dup["pending"]["duplicate_of"] == conf["entry"]["id"], f"{dup}")
    st, canc = call("POST", f"/v1/ledger/chat/{dup['pending']['id']}/cancel", {}, token=kid)
    check("chat: cancel", st == 200 and canc["pending"]["status"] == "CANCELED", f"{st} {canc}")

    # no amount: the question, then the answer
    st, q = call("POST", "/v1/ledger/chat", {"message": "떡볶이 먹었어"}, token=kid)
    check("chat: no amount asks back", st == 200 and q["pending"]["needs"] == ["amount"]
          and q["pending"]["amount"] is None and "얼마" in q["reply"], f"{q}")
    st, body = call("POST", f"/v1/ledger/chat/{q['pending']['id']}/confirm", {}, token=kid)
    expect_error("confirm without an amount", st, body, 422, "SK107")
    st, a = call("POST", "/v1/ledger/chat", {"message": "3500원"}, token=kid)
    check("chat: the answer fills the amount", st == 200 and a["pending"]["id"] == q["pending"]["id"]
          and a["pending"]["amount"] == 3500 and a["pending"]["category"] == "식비", f"{a}")
    st, conf2 = call("POST", f"/v1/ledger/chat/{q['pending']['id']}/confirm", {}, token=kid)
    check("chat: confirmed", st == 200 and conf2["entry"]["amount"] == 3500, f"{conf2}")

    # MODIFY and DELETE act on the latest entry, once confirmed
    st, m = call("POST", "/v1/ledger/chat", {"message": "아니 4천원이었어"}, token=kid)
    check("chat: MODIFY prepares a change of the latest entry", st == 200 and m["pending"]["action"] == "MODIFY"
          and m["pending"]["target_entry_id"] == conf2["entry"]["id"] and m["pending"]["amount"] == 4000, f"{m}")
    st, mc = call("POST", f"/v1/ledger/chat/{m['pending']['id']}/confirm", {}, token=kid)
    check("chat: the entry is changed", st == 200 and mc["entry"]["amount"] == 4000
          and mc["entry"]["id"] == conf2["entry"]["id"], f"{mc}")
    st, d = call("POST", "/v1/ledger/chat", {"message": "방금 거 취소해줘"}, token=kid)
    check("chat: DELETE prepares deleting the latest entry", st == 200 and d["pending"]["action"] == "DELETE"
          and d["pending"]["target_entry_id"] == conf2["entry"]["id"], f"{d}")
    st, dc = call("POST", f"/v1/ledger/chat/{d['pending']['id']}/confirm", {}, token=kid)
    check("chat: the entry is deleted", st == 200 and dc["deleted"]["id"] == conf2["entry"]["id"], f"{dc}")

    # QUERY
    st, qa = call("POST", "/v1/ledger/chat", {"message": "오늘 얼마 썼어?"}, token=kid)
    check("chat: QUERY answers from the caller's entries", st == 200 and qa["intent"] == "QUERY"
          and qa["answer"]["expense"] == 6000 and qa["answer"]["entries"] == 1, f"{qa}")

    # corrections that name the entry, and questions about the entries (issue 10)
    saved = {}
    for msg in ("스벅 8천원", "스벅 3천원"):
        st, c = call("POST", "/v1/ledger/chat", {"message": msg}, token=kid)
        st, cf = call("POST", f"/v1/ledger/chat/{c['pending']['id']}/confirm", {}, token=kid)
        saved[msg] = cf["entry"]["id"]
    st, m = call("POST", "/v1/ledger/chat", {"message": "아까 스벅 8천원 말고 7500원이야"}, token=kid)
    check("chat: a correction acts on the entry it names, not the latest one", st == 200
          and m["parse"]["old"] == {"amount": 8000, "date": today.isoformat(), "merchant": "스타벅스"}
          and m["pending"]["action"] == "MODIFY" and m["pending"]["target_entry_id"] == saved["스벅 8천원"]
          and m["pending"]["amount"] == 7500, f"{st} {m}")
    st, mc = call("POST", f"/v1/ledger/chat/{m['pending']['id']}/confirm", {}, token=kid)
    check("chat: the named entry is changed", st == 200 and mc["entry"]["id"] == saved["스벅 8천원"]
          and mc["entry"]["amount"] == 7500, f"{st} {mc}")
    st, n = call("POST", "/v1/ledger/chat", {"message": "스벅 이번 달에 몇 번 갔어?"}, token=kid)
    check("chat: how many times at a merchant this month", st == 200 and n["intent"] == "QUERY"
          and n["answer"]["query"] == "COUNT" and n["answer"]["count"] == 2 and n["answer"]["total"] == 10500
          and n["answer"]["merchant"] == "스타벅스", f"{st} {n}")
    st, top = call("POST", "/v1/ledger/chat", {"message": "이번 달 제일 많이 쓴 데가 어디야?"}, token=kid)
    check("chat: where the most went this month", st == 200 and top["answer"]["query"] == "TOP_MERCHANT"
          and top["answer"]["top"] == {"name": "스타벅스", "total": 10500, "entries": 2}
          and "스타벅스" in top["reply"], f"{st} {top}")
    st, c = call("POST", "/v1/ledger/chat", {"message": "다이소 2천원"}, token=kid)
    call("POST", f"/v1/ledger/chat/{c['pending']['id']}/confirm", {}, token=kid)
    st, body = call("POST", "/v1/ledger/chat", {"message": "스벅 말고 투썸이었어"}, token=kid)
    expect_error("chat: a correction two entries match", st, body, 409, "SK114")
    check("SK114 lists the entries that match", "detail" in body.get("error", {})
          and body["error"]["detail"].count("스타벅스") == 2, f"{body}")
    st, body = call("POST", "/v1/ledger/chat", {"message": "만원 말고 만이천원"}, token=kid)
    expect_error("chat: a correction no entry matches", st, body, 404, "SK113")

    # expiry
    st, e = call("POST", "/v1/ledger/chat", {"message": "다이소 3천원"}, token=kid)
    psql(f"UPDATE stockking.ledger_pending SET expires_at = now() - interval '1 second' WHERE id = {e['pending']['id']}")
    st, body = call("POST", f"/v1/ledger/chat/{e['pending']['id']}/confirm", {}, token=kid)
    expect_error("confirm an expired pending entry", st, body, 409, "SK105")

    # chat refusals
    st, body = call("POST", "/v1/ledger/chat", {"message": "내일 스벅 5천원"}, token=kid)
    expect_error("chat a future date", st, body, 422, "SK101")
    st, body = call("POST", "/v1/ledger/chat", {}, token=kid)
    expect_error("chat without a message", st, body, 400, "22023")
    st, body = call("POST", "/v1/ledger/chat", raw=b'{"message": ', token=kid)
    expect_error("chat with malformed JSON", st, body, 400, "PX400")

    # budgets: 80% and 100% events, once each
    st, b = call("PUT", "/v1/ledger/budgets", {"category": "식비", "amount": 10000}, token=kid)
    check("PUT a 식비 budget", st == 200 and b["budgets"][0]["budget"] == 10000, f"{st} {b}")
    for msg in ("떡볶이 8천원", "김밥 2천원", "라면 1500원"):
        st, c = call("POST", "/v1/ledger/chat", {"message": msg}, token=kid)
        call("POST", f"/v1/ledger/chat/{c['pending']['id']}/confirm", {}, token=kid)
    events = psql(f"SELECT string_agg(event_type || ':' || (payload ->> 'threshold'), ',' ORDER BY id) "
                  f"FROM stockking.outbox WHERE user_id = '{kid_id}' AND event_type LIKE 'LedgerBudget%'")
    check("budget events at 80% and 100%, once each", events == "LedgerBudgetWarning:80,LedgerBudgetExceeded:100",
          events)
    st, s = call("GET", "/v1/ledger/summary", token=kid)
    food = next((c for c in s.get("categories", []) if c["category"] == "식비"), {})
    check("summary of this month", st == 200 and s["month"] == today.strftime("%Y-%m")
          and food.get("total") == 11500 and s["budgets"][0]["alerts"] == [80, 100], f"{st} {s}")
    st, body = call("PUT", "/v1/ledger/budgets", {"category": "식비", "amount": -5}, token=kid)
    expect_error("a negative budget", st, body, 422, "SK102")
    st, body = call("GET", "/v1/ledger/summary?month=2025-13", token=kid)
    expect_error("a summary of month 13", st, body, 400, "22007")

    # import: a UTF-8 bank export as the request body
    bank = read_fixture("bank_utf8.csv")
    st, pv = call("POST", "/v1/ledger/imports", raw=bank, token=kid, content_type="text/csv")
    if st != 201:
        check("upload a UTF-8 bank export as the raw request body: 201", False, f"{st} {pv}")
        return finish()
    rows = list(csv.reader(io.StringIO(bank.decode("utf-8"))))
    header = next(i for i, r in enumerate(rows) if "거래일시" in r)
    data = [r for r in rows[header + 1:] if any(c.strip() for c in r)]
    out_total = sum(won(r[2]) or 0 for r in data)
    in_total = sum(won(r[3]) or 0 for r in data)
    check("upload a UTF-8 bank export: 201 preview", st == 201 and pv["status"] == "PREVIEW"
          and pv["encoding"] == "UTF8" and pv["rows"] == len(data) and pv["errors"] == 0
          and pv["mapping"]["date"] == 0 and pv["mapping"]["withdrawal"] == 2 and pv["mapping"]["deposit"] == 3,
          f"{st} {pv}")
    check("the preview gives each column a role and a confidence",
          all("confidence" in c and "samples" in c for c in pv.get("columns", []))
          and [c["role"] for c in pv["columns"]][:4] == ["date", "description", "withdrawal", "deposit"], f"{pv}")
    st, cm = call("POST", f"/v1/ledger/imports/{pv['id']}/commit", {}, token=kid)
    check("commit adds every row", st == 200 and cm["inserted"] == len(data), f"{st} {cm}")
    st, s5 = call("GET", "/v1/ledger/summary?month=2025-05", token=kid)
    check("May 2025 summary matches the file's withdrawals and deposits",
          st == 200 and s5["expense"] == out_total and s5["income"] == in_total, f"{s5} want {out_total} {in_total}")
    st, again = call("POST", "/v1/ledger/imports", raw=bank, token=kid, content_type="text/csv")
    check("the same file again: every row a duplicate", st == 201 and again["duplicates"] == len(data)
          and again["same_file_as"] == pv["id"], f"{again}")
    st, cm2 = call("POST", f"/v1/ledger/imports/{again['id']}/commit", {}, token=kid)
    check("the same file again adds nothing", st == 200 and cm2["inserted"] == 0
          and cm2["duplicates"] == len(data), f"{cm2}")
    st, body = call("POST", f"/v1/ledger/imports/{pv['id']}/commit", {}, token=kid)
    expect_error("commit twice", st, body, 409, "SK109")

    # a CP949 card export
    card = read_fixture("card_cp949.csv")
    crows = list(csv.reader(io.StringIO(card.decode("cp949"))))[1:]
    refunds = sum(1 for r in crows if won(r[2]) < 0)
    st, cp = call("POST", "/v1/ledger/imports", raw=card, token=kid, content_type="text/csv; charset=euc-kr")
    check("upload a CP949 card export", st == 201 and cp["encoding"] == "UHC" and cp["rows"] == len(crows)
          and cp["columns"][0]["name"] == "이용일자", f"{st} {cp}")
    st, cc = call("POST", f"/v1/ledger/imports/{cp['id']}/commit", {}, token=kid)
    check("commit the card export", st == 200 and cc["inserted"] == len(crows), f"{cc}")
    st, inc = call("GET", "/v1/ledger/entries?kind=INCOME&from=2025-05-08&to=2025-05-08", token=kid)
    check("a negative card amount is a refund (INCOME)", st == 200 and len(inc["items"]) == refunds
          and inc["items"][0]["merchant"] == "쿠팡", f"{inc}")

    # bad rows: all or nothing
    bad = read_fixture("bad_rows.tsv")
    brows = [r for r in csv.reader(io.StringIO(bad.decode()), delimiter="\t")][1:]
    st, bp = call("POST", "/v1/ledger/imports", raw=bad, token=kid, content_type="text/tab-separated-values")
    check("a tab-separated file with bad rows: each error with its line", st == 201 and bp["delimiter"] == "\t"
          and bp["rows"] == len(brows) and bp["errors"] == len(bp["row_errors"]) and bp["errors"] > 0
          and all(isinstance(e["line"], int) for e in bp["row_errors"]), f"{bp}")
    st, before = call("GET", "/v1/ledger/entries?limit=100", token=kid)
    st, body = call("POST", f"/v1/ledger/imports/{bp['id']}/commit", {}, token=kid)
    expect_error("commit with row errors", st, body, 422, "SK110")
    st, after = call("GET", "/v1/ledger/entries?limit=100", token=kid)
    check("the refused commit changed nothing", before == after)
    st, bc = call("POST", f"/v1/ledger/imports/{bp['id']}/commit", {"skip_invalid": True}, token=kid)
    check("commit without the bad rows", st == 200 and bc["inserted"] == bp["valid"]
          and bc["skipped_invalid"] == bp["errors"], f"{bc}")

    # a mapping override
    ovr = read_fixture("mapping_override.csv")
    orows = list(csv.reader(io.StringIO(ovr.decode())))
    st, op = call("POST", "/v1/ledger/imports", raw=ovr, token=kid, content_type="text/csv")
    st, body = call("POST", f"/v1/ledger/imports/{op['id']}/commit", {"mapping": {"amount": "없는열"}}, token=kid)
    expect_error("an override naming no column", st, body, 422, "SK111")
    st, oc = call("POST", f"/v1/ledger/imports/{op['id']}/commit", {"mapping": {"amount": "판매가"}}, token=kid)
    st2, oe = call("GET", "/v1/ledger/entries?from=2025-05-01&to=2025-05-02&limit=100", token=kid)
    got = sorted(e["amount"] for e in oe["items"] if e["import_id"] == op["id"])
    want = sorted(int(r[3]) for r in orows[1:])
    check("the override maps the sale price", st == 200 and oc["inserted"] == len(want) and got == want,
          f"{oc} {got} want {want}")

    # quoting as PostgreSQL's CSV parser does it: text after a closing quote is kept; a quoted line break stays
    quoted = '날짜,내용,금액\r\n2025-04-01,"떡볶"이,3000\r\n2025-04-02,"줄\r\n바꿈",1000\r\n'.encode()
    want = [r[1].replace("\r\n", "\n") for r in csv.reader(io.StringIO(quoted.decode(), newline=""))][1:]
    st, qp = call("POST", "/v1/ledger/imports", raw=quoted, token=kid, content_type="text/csv")
    check('"abc"def is abcdef and a quoted line break is kept, as Python\'s csv module reads them',
          st == 201 and [x["merchant"] for x in qp.get("sample", [])] == want == ["떡볶이", "줄\n바꿈"], f"{st} {qp} {want}")
    st, body = call("POST", "/v1/ledger/imports", raw='날짜,내용,금액\n2025-04-01,"떡볶이,3000\n'.encode(), token=kid,
                    content_type="text/csv")
    expect_error("an unterminated quoted field", st, body, 400, "SK108")

    # files that are not CSV text
    st, body = call("POST", "/v1/ledger/imports", raw=b"", token=kid, content_type="text/csv")
    check("an empty upload: 400", st == 400 and err_code(body) in ("SK108", "PX400"), f"{st} {body}")
    st, body = call("POST", "/v1/ledger/imports", raw=b"\x00\xff\x00\xfe", token=kid, content_type="text/csv")
    expect_error("a binary upload", st, body, 400, "SK108")

    # entries page by keyset, newest first
    st, p1 = call("GET", "/v1/ledger/entries?limit=3", token=kid)
    st2, p2 = call("GET", f"/v1/ledger/entries?limit=3&cursor={p1['next_cursor']}", token=kid)
    ids = [e["id"] for e in p1["items"] + p2["items"]]
    check("entries in pages without overlap", st == 200 and st2 == 200 and len(ids) == 6 and len(set(ids)) == 6
          and [e["date"] for e in p1["items"] + p2["items"]] == sorted((e["date"] for e in p1["items"] + p2["items"]),
                                                                       reverse=True), f"{p1} {p2}")

    # the parent reads the child's ledger; a stranger does not; the parent cannot confirm for the child
    st, pe = call("GET", f"/v1/ledger/entries?user_id={kid_id}&limit=100", token=mom)
    st2, ke = call("GET", "/v1/ledger/entries?limit=100", token=kid)
    check("a parent reads the child's entries", st == 200 and pe["items"] == ke["items"], f"{st}")
    st, ps = call("GET", f"/v1/ledger/summary?user_id={kid_id}&month=2025-05", token=mom)
    st2, ks = call("GET", "/v1/ledger/summary?month=2025-05", token=kid)
    check("a parent reads the child's summary", st == 200 and st2 == 200 and ps == ks and ps["entries"] > 0, f"{ps}")
    st, body = call("GET", f"/v1/ledger/entries?user_id={kid_id}", token=stranger)
    expect_error("a stranger reading the child's entries", st, body, 404, "P0002")
    st, c = call("POST", "/v1/ledger/chat", {"message": "올영 9천원"}, token=kid)
    st, body = call("POST", f"/v1/ledger/chat/{c['pending']['id']}/confirm", {}, token=mom)
    expect_error("a parent confirming the child's pending entry", st, body, 404, "P0002")

    return finish()


def finish():
    failed = results.count(False)
    print(f"{len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
