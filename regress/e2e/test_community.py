#!/usr/bin/env python3
"""End-to-end test of the community board through the real proxy over HTTP.

Runs against the instance STOCKKING_HTTP points at (and the PG* variables for the operator steps done in SQL as the
database owner: an ADMIN user, this week's league seats of this test's children, a replay season of its own).

The story: four children share a league this week, a fifth plays in another league; a parent links to the first
child.  The child first learns: reads every lesson of a course and passes its quizzes, earning XP and the course's
certificate, which anyone can verify by its id (regress/e2e/test_education.py tests the learning rules in detail).
The child edits its profile (a profane nickname is refused), posts to its league, is filtered (a MASK word is
masked, a REFUSE word and a phone number are refused), and posts to a replay season the others did not join.  A
league-mate comments and likes; a child of another league or season sees none of it.  Three league-mates report the
post: it is hidden at the third report, the author and the parent hear of it, the ADMIN finds it at the top of the
moderation queue and restores it.  The parent reads the child's posts and comments throughout.  Rate limits per child
answer 429 with the seconds to wait.  Every expected value is stated here, not copied from the server's answers.

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

from test_education import answers, content  # the shipped courses and their right answers, from data/education

BASE = os.environ.get("STOCKKING_HTTP", "http://127.0.0.1:18080")
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
    """One HTTP request; returns (status, parsed JSON body).  The proxy's own rate limit (PX429) is waited out by its
    Retry-After, as an app would; the board's limits (SK420, also 429) are answers the test checks."""
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
            try:
                parsed = json.loads(text)
            except ValueError:
                parsed = {"unparsed": text}
            if e.code == 429 and err_code(parsed) == "PX429":
                time.sleep(min(max(int(e.headers.get("Retry-After") or 5), 1), 60))
                continue
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
    return body


def login(email):
    st, body = call("POST", "/v1/auth/login", {"email": email, "password": PASSWORD})
    if st != 200:
        raise SystemExit(f"login {email}: {st} {body}")
    return body["access_token"]


def signup(email, role, nickname):
    st, body = call("POST", "/v1/auth/signup", {"email": email, "password": PASSWORD, "role": role, "nickname": nickname})
    check(f"signup {role} {nickname}: 201", st == 201 and body.get("role") == role, f"{st} {body}")
    return body["id"], login(email)


def post_ids(token, query=""):
    st, body = call("GET", "/v1/community/posts" + query, token=token)
    return [p["id"] for p in body.get("items", [])] if st == 200 else None


def events(token, kind):
    st, body = call("GET", "/v1/notifications?after=0&limit=200", token=token)
    return [e for e in body.get("items", []) if e["type"] == kind] if st == 200 else []


def main():
    tag = uuid.uuid4().hex[:8]

    # operator steps: an ADMIN, and a replay season of this test's own
    admin_email = f"admin-{tag}@example.com"
    psql(f"SELECT stockking.create_user('{admin_email}', '{PASSWORD}', 'ADMIN', 'admin')")
    admin = login(admin_email)
    sid = int(psql(f"SELECT stockking.create_season('E2E-COM-{tag}', 'e2e community {tag}', 'REPLAY', 'USD', 1000000, "
                   f"'SP500', DATE '2008-09-01')"))

    a_id, a = signup(f"a-{tag}@example.com", "CHILD", "Minjun")
    b_id, b = signup(f"b-{tag}@example.com", "CHILD", "Seoyeon")
    c_id, c = signup(f"c-{tag}@example.com", "CHILD", "Jiho")
    d_id, d = signup(f"d-{tag}@example.com", "CHILD", "Hajun")
    e_id, e = signup(f"e-{tag}@example.com", "CHILD", "Doyun")
    mom_id, mom = signup(f"mom-{tag}@example.com", "PARENT", "Mom")

    # this week's leagues, seated by the operator (the weekly draw has its own tests): a, b, c, d in one league,
    # e in another -- groups of this test's own, so other suites' children are not in them
    group = 100000 + int(tag[:4], 16)
    psql("INSERT INTO stockking.league_assignment (week_start, user_id, family_id, account_id, tier, group_no) "
         "SELECT stockking.seoul_week(now()), u.id, u.family_id, u.default_account_id, 1, "
         f"CASE WHEN u.id = '{e_id}' THEN {group + 1} ELSE {group} END "
         f"FROM stockking.users u WHERE u.id IN ('{a_id}', '{b_id}', '{c_id}', '{d_id}', '{e_id}')")

    # the parent links to a
    st, prof = call("GET", "/v1/users/me/profile", token=a)
    st, fam = call("POST", "/v1/auth/link-family", {"code": prof.get("link_code", "")}, token=mom)
    check("the parent links to the child", st == 200 and len(fam.get("members", [])) == 2, f"{st} {fam}")

    # the child learns first: every lesson of the saving course read and its quiz passed -> XP and a certificate
    saving = content()["saving-and-compound-interest"]
    xp_before = call("GET", "/v1/users/me/profile", token=a)[1].get("xp")
    st, cat = call("GET", "/v1/education/courses", token=a)
    course = next((x for x in cat.get("items", []) if x["code"] == saving["code"]), {})
    lessons = call("GET", f"/v1/education/courses/{course.get('id')}", token=a)[1].get("lessons", [])
    passed, cert = [], None
    for lf, lesson in zip(saving["lessons"], lessons):
        call("POST", f"/v1/education/lessons/{lesson['id']}/complete", token=a)
        la = call("GET", f"/v1/education/lessons/{lesson['id']}", token=a)[1]
        st, res = call("POST", "/v1/education/quiz", {"quiz_id": la["quiz"]["id"], "answers": answers(lf, la)}, token=a)
        passed.append(st == 200 and res.get("passed") is True)
        cert = res.get("certificate") or cert
    check("the child reads a course's five lessons and passes their quizzes", passed == [True] * 5, f"{passed}")
    xp_after = call("GET", "/v1/users/me/profile", token=a)[1].get("xp")
    check("learning earns XP", isinstance(xp_after, int) and xp_after > (xp_before or 0), f"{xp_before} -> {xp_after}")
    st, v = call("GET", f"/v1/education/certificates/{(cert or {}).get('id')}")
    check("and a certificate anyone can verify by its id", cert is not None and st == 200
          and v.get("course", {}).get("code") == saving["code"] and v.get("nickname") == "Minjun", f"{st} {v}")

    # the profile: nickname through the filter, an avatar of the app's, a birth year; never a role
    year = int(psql("SELECT extract(year FROM now() AT TIME ZONE 'Asia/Seoul')"))
    st, me = call("PUT", "/v1/users/me", {"nickname": "민준", "avatar": "tiger", "birth_year": year - 11}, token=a)
    check("PUT /v1/users/me: nickname, avatar, birth year", st == 200 and me["nickname"] == "민준"
          and me["avatar"] == "tiger" and me["birth_year"] == year - 11, f"{st} {me}")
    st, me = call("GET", "/v1/users/me", token=a)
    check("GET /v1/users/me shows them", st == 200 and me.get("avatar") == "tiger", f"{st} {me}")
    expect_error("a profane nickname", call("PUT", "/v1/users/me", {"nickname": "ㅅㅂ"}, token=a), 422, "SK401")
    expect_error("a URL for an avatar", call("PUT", "/v1/users/me", {"avatar": "http://x.example/a.png"}, token=a),
                 400, "22023")
    expect_error("a role change", call("PUT", "/v1/users/me", {"role": "ADMIN"}, token=a), 403, "42501")

    # posting: to the league by default; MASK words masked, REFUSE words and personal data refused
    st, p1 = call("POST", "/v1/community/posts", {"title": "첫 글", "body": "오늘 애플 주식 샀어!"}, token=a)
    check("a child posts to its league: 201", st == 201 and p1.get("audience") == "LEAGUE"
          and p1["league"]["group_no"] == group and p1["author"]["nickname"] == "민준"
          and p1["author"]["avatar"] == "tiger", f"{st} {p1}")
    st, p2 = call("POST", "/v1/community/posts", {"body": "존나 떨린다 내일 장 열리면"}, token=a)
    check("a MASK word is masked", st == 201 and p2["body"] == "** 떨린다 내일 장 열리면" and p2["masked_words"] == 1,
          f"{st} {p2}")
    body = expect_error("a REFUSE word refuses the post",
                        call("POST", "/v1/community/posts", {"body": "아 씨 발 다 잃었어"}, token=a), 422, "SK401")
    check("the refusal does not echo the word", "발" not in json.dumps(body, ensure_ascii=False), f"{body}")
    body = expect_error("a phone number refuses the post",
                        call("POST", "/v1/community/posts", {"body": "내 번호 010-1234-5678 이야"}, token=a), 422, "SK410")
    check("the refusal names what was found, not the number", "phone number" in body["error"]["message"]
          and "5678" not in json.dumps(body), f"{body}")
    expect_error("an e-mail address", call("POST", "/v1/community/posts", {"body": "minjun@naver.com"}, token=a),
                 422, "SK411")
    expect_error("a parent does not post", call("POST", "/v1/community/posts", {"body": "안녕"}, token=mom), 403, "PX430")
    st, pre = call("POST", "/v1/community/filter", {"text": "수박씨 발라 먹자"}, token=b)
    check("the filter preview: a false positive stays clean", st == 200 and pre["verdict"] == "CLEAN"
          and pre["allowed"] is True, f"{st} {pre}")

    # a season post: a's replay season, which b has not joined
    call("POST", f"/v1/seasons/{sid}/join", {}, token=a)
    st, p3 = call("POST", "/v1/community/posts", {"body": "2008년 9월 무섭다", "audience": "SEASON", "season_id": sid},
                  token=a)
    check("a post to a season: 201", st == 201 and p3["audience"] == "SEASON" and p3["season_id"] == sid, f"{st} {p3}")

    # who sees what
    check("a league-mate sees the league posts", {p1["id"], p2["id"]} <= set(post_ids(b, "?scope=league") or []))
    check("a child of another league does not", not {p1["id"], p2["id"]} & set(post_ids(e) or []))
    expect_error("a child of another league opens a league post", call("GET", f"/v1/community/posts/{p1['id']}", token=e),
                 404, "P0002")
    expect_error("a child of another season opens a season post", call("GET", f"/v1/community/posts/{p3['id']}", token=b),
                 404, "P0002")
    check("the parent reads the child's posts", set(post_ids(mom, f"?child_id={a_id}") or []) == {p1["id"], p2["id"], p3["id"]})

    # a comment and a like; the author hears of the comment
    st, cm = call("POST", f"/v1/community/posts/{p1['id']}/comments", {"body": "나도 샀어 ㅋㅋ"}, token=b)
    check("a league-mate comments: 201", st == 201 and cm["body"] == "나도 샀어 ㅋㅋ", f"{st} {cm}")
    expect_error("a child of another league cannot comment",
                 call("POST", f"/v1/community/posts/{p1['id']}/comments", {"body": "안녕"}, token=e), 404, "P0002")
    st, lk = call("POST", f"/v1/community/posts/{p1['id']}/like", {}, token=b)
    st2, lk2 = call("POST", f"/v1/community/posts/{p1['id']}/like", {}, token=b)
    check("a like, and a second that changes nothing", st == 200 and st2 == 200 and lk["like_count"] == 1
          and lk2["like_count"] == 1 and lk2["liked"] is True, f"{st} {lk} {st2} {lk2}")
    check("the author hears of the comment", len(events(a, "CommentAdded")) == 1)
    st, comments = call("GET", f"/v1/community/comments?child_id={a_id}", token=mom)
    check("the parent reads the child's comments (none yet)", st == 200 and comments["items"] == [], f"{st} {comments}")
    st, thread = call("GET", f"/v1/community/posts/{p1['id']}", token=mom)
    check("the parent reads the thread on the child's post", st == 200 and len(thread["comments"]) == 1
          and thread["like_count"] == 1, f"{st} {thread}")

    # three league-mates report the first post: hidden at the third
    st, r1 = call("POST", f"/v1/community/posts/{p1['id']}/report", {"reason": "SPAM"}, token=b)
    check("a report: 201, not hidden yet", st == 201 and r1["status"] == "OPEN" and r1["target_hidden"] is False,
          f"{st} {r1}")
    expect_error("the same child again", call("POST", f"/v1/community/posts/{p1['id']}/report", {"reason": "SPAM"},
                                               token=b), 409, "SK431")
    expect_error("the author reports its own post",
                 call("POST", f"/v1/community/posts/{p1['id']}/report", {"reason": "SPAM"}, token=a), 409, "SK432")
    call("POST", f"/v1/community/posts/{p1['id']}/report", {"reason": "BULLYING"}, token=c)
    st, r3 = call("POST", f"/v1/community/posts/{p1['id']}/report", {"reason": "BULLYING", "note": "놀려요"}, token=d)
    check("the third report hides the post", st == 201 and r3["target_hidden"] is True, f"{st} {r3}")
    expect_error("the league no longer sees it", call("GET", f"/v1/community/posts/{p1['id']}", token=b), 404, "P0002")
    check("nor lists it", p1["id"] not in (post_ids(b, "?scope=league") or [p1["id"]]))
    st, own = call("GET", f"/v1/community/posts/{p1['id']}", token=a)
    check("the author sees it, marked hidden", st == 200 and own["hidden"] is True and own["hidden_by"] == "REPORTS",
          f"{st} {own}")
    st, seen = call("GET", f"/v1/community/posts/{p1['id']}", token=mom)
    check("the parent sees it hidden", st == 200 and seen["status"] == "HIDDEN", f"{st} {seen}")
    check("the author and the parent hear it was hidden",
          len(events(a, "PostHidden")) == 1 and len(events(mom, "PostHidden")) == 1)
    expect_error("a hidden post takes no comment",
                 call("POST", f"/v1/community/posts/{p1['id']}/comments", {"body": "왜?"}, token=a), 409, "SK433")

    # the ADMIN's queue: the hidden post first; the ADMIN restores it
    expect_error("a child has no queue", call("GET", "/v1/admin/community/reports", token=b), 403, "PX430")
    st, q = call("GET", "/v1/admin/community/reports", token=admin)
    top = (q.get("items") or [{}])[0] if st == 200 else {}
    check("the queue shows the hidden post first with its reports", top.get("kind") == "POST" and top.get("id") == p1["id"]
          and top.get("open_reports") == 3 and top.get("reasons") == {"SPAM": 1, "BULLYING": 2}, f"{st} {top}")
    st, mod = call("POST", f"/v1/admin/community/posts/{p1['id']}/moderate",
                   {"action": "RESTORE", "reason": "장난스러운 글이지만 괜찮아요"}, token=admin)
    check("the ADMIN restores it: the reports are dismissed", st == 200 and mod["post"]["status"] == "VISIBLE"
          and mod["reports_resolved"] == 3, f"{st} {mod}")
    st, back = call("GET", f"/v1/community/posts/{p1['id']}", token=b)
    check("the league sees it again", st == 200 and back["hidden"] is False, f"{st} {back}")
    check("the author hears it was restored", len(events(a, "PostRestored")) == 1)
    expect_error("restoring a visible post", call("POST", f"/v1/admin/community/posts/{p1['id']}/moderate",
                                                  {"action": "RESTORE", "reason": "x"}, token=admin), 409, "SK433")

    # rate limits per child: the ADMIN lowers posts_per_hour; the child who posted twice this hour gets 429
    st, settings = call("GET", "/v1/admin/community/settings", token=admin)
    st, low = call("PUT", "/v1/admin/community/settings", {"posts_per_hour": 3}, token=admin)
    check("the ADMIN lowers the posting limit", st == 200 and low["posts_per_hour"] == 3, f"{st} {low}")
    body = expect_error("a child over the limit (3 posts this hour)",
                        call("POST", "/v1/community/posts", {"body": "넷째 글"}, token=a), 429, "SK420")
    check("the refusal says how long to wait", "Try again in" in body["error"].get("detail", ""), f"{body}")
    st, other = call("POST", "/v1/community/posts", {"body": "나는 첫 글"}, token=c)
    check("another child is not limited by it", st == 201, f"{st} {other}")
    st, restored = call("PUT", "/v1/admin/community/settings", {"posts_per_hour": settings["posts_per_hour"]}, token=admin)
    check("the limit is put back", st == 200 and restored["posts_per_hour"] == settings["posts_per_hour"], f"{st}")

    # the author deletes its post; nobody but the ADMIN sees it after
    st, gone = call("DELETE", f"/v1/community/posts/{p2['id']}", token=a)
    check("the author deletes a post", st == 200 and gone["status"] == "DELETED", f"{st} {gone}")
    expect_error("a deleted post is gone", call("GET", f"/v1/community/posts/{p2['id']}", token=b), 404, "P0002")

    passed = sum(results)
    print(f"{passed} passed, {len(results) - passed} failed")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
