#!/usr/bin/env python3
"""End-to-end test of learning and news through the real proxy over HTTP.

The story: a child reads the first lesson of the saving course, fails its quiz, passes it, and works through the
course to its certificate; the game-money rewards land in the cash ledger as contributions (the return stays 0);
XP, badges and missions follow; anyone verifies the certificate by its id; a parent sees the child's progress and a
parent of another family does not; the child answers today's market question, graded from the bars the chart API
serves; the news of a replay season of this test's own stops at its clock and moves with it.

Expected values come from the shipped content files (data/education: the right answers and the rewards), the
documented rules (XP of lessons, quizzes, badges and missions) and the chart API, not from the server's answers.

Output: TAP-like lines "ok N - ..." / "not ok N - ...", then "N passed, N failed".
"""
import datetime
import glob
import json
import os
import subprocess
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from proxy_clients import http_request  # noqa: E402

BASE = os.environ.get("STOCKKING_HTTP", "http://127.0.0.1:18080")
DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "data", "education")
PASSWORD = "correct horse battery"

results = []


def check(name, cond, info=""):
    results.append(bool(cond))
    print(f"{'ok' if cond else 'not ok'} {len(results)} - {name}" + ("" if cond or not info else f": {info}"))
    sys.stdout.flush()


def call(method, path, body=None, token=None):
    """One request; (status, JSON body).  A 429 is retried after its Retry-After."""
    for _ in range(10):
        r = http_request(BASE, method, path, body=body, token=token)
        if r.status != 429:
            return r.status, r.json()
        time.sleep(min(max(int(r.headers.get("retry-after") or 5), 1), 60))
    return 429, None


def psql(sql):
    out = subprocess.run(["psql", "-X", "-q", "-tA", "-v", "ON_ERROR_STOP=1", "-c", sql],
                         capture_output=True, text=True, check=True)
    return out.stdout.strip()


def expect_error(name, got, want_status, want_code):
    status, body = got
    code = (body or {}).get("error", {}).get("code")
    check(f"{name}: HTTP {want_status} {want_code}", status == want_status and code == want_code, f"got {status} {body}")


def signup(email, role, nickname):
    st, body = call("POST", "/v1/auth/signup", {"email": email, "password": PASSWORD, "role": role, "nickname": nickname})
    check(f"signup {role} {nickname}: 201", st == 201, f"{st} {body}")
    st, login = call("POST", "/v1/auth/login", {"email": email, "password": PASSWORD})
    if st != 200:
        raise SystemExit(f"login {email}: {st} {login}")
    return body["id"], login["access_token"]


def content():
    """The shipped courses by code, from data/education."""
    courses = {}
    for path in sorted(glob.glob(os.path.join(DATA, "*.json"))):
        with open(path, encoding="utf-8") as f:
            c = json.load(f)
        courses[c["code"]] = c
    return courses


def answers(lesson_file, lesson_api, right=True):
    """Answers for the quiz as the API shows it, from the file (questions in the same order): all right, or all wrong."""
    out = []
    for q_file, q_api in zip(lesson_file["quiz"]["questions"], lesson_api["quiz"]["questions"]):
        a = q_file["answer"]
        if not right:
            if q_file["kind"] == "NUMBER":
                a = a + 1
            elif q_file["kind"] == "SINGLE":
                a = a % len(q_file["choices"]) + 1
            else:
                a = [min(c for c in range(1, len(q_file["choices"]) + 1) if c not in a)]
        out.append({"question_id": q_api["id"], "answer": a})
    return out


def close_upto(symbol, day):
    """The close of the last bar at or before day, from the chart API."""
    start = (day - datetime.timedelta(days=45)).isoformat()
    st, chart = call("GET", f"/v1/market/stocks/{symbol}/chart?from={start}&to={day.isoformat()}")
    bars = chart.get("bars", []) if st == 200 else []
    return float(bars[-1]["close"]) if bars else None


def right_market_choice(q):
    """The right choice of a market question, computed from the chart API's closes."""
    frm, to = q["period"]["from"], q["period"]["to"]
    moves = []
    for sym in q["symbols"]:
        before = close_upto(sym, datetime.date.fromisoformat(frm) - datetime.timedelta(days=1))
        after = close_upto(sym, datetime.date.fromisoformat(to))
        moves.append(after / before)
    if q["kind"] == "MONTH_BEST":
        return max(range(len(moves)), key=lambda i: moves[i]) + 1
    return 1 if moves[0] > 1 else 2 if moves[0] < 1 else 3


def main():
    tag = uuid.uuid4().hex[:8]
    courses = content()
    saving = courses["saving-and-compound-interest"]

    kid_id, kid = signup(f"edu-kid-{tag}@example.com", "CHILD", "지우")
    _, mom = signup(f"edu-mom-{tag}@example.com", "PARENT", "엄마")
    other_kid_id, other_kid = signup(f"edu-other-{tag}@example.com", "CHILD", "하준")
    _, other_parent = signup(f"edu-otherp-{tag}@example.com", "PARENT", "아빠")
    code = call("GET", "/v1/users/me/profile", token=kid)[1]["link_code"]
    st, fam = call("POST", "/v1/auth/link-family", {"code": code}, token=mom)
    check("the parent links to the child", st == 200, f"{st} {fam}")
    other_code = call("GET", "/v1/users/me/profile", token=other_kid)[1]["link_code"]
    call("POST", "/v1/auth/link-family", {"code": other_code}, token=other_parent)

    # the catalogue
    st, cat = call("GET", "/v1/education/courses", token=kid)
    codes = [c["code"] for c in cat.get("items", [])] if st == 200 else []
    check("three Korean courses in order", codes[:3] == ["stock-basics", "risk-and-diversification",
                                                          "saving-and-compound-interest"], f"{st} {codes}")
    risk = next((c for c in cat.get("items", []) if c["code"] == "risk-and-diversification"), {})
    check("the risk course is locked until stock-basics is completed", risk.get("locked") is True
          and risk["prerequisites"][0]["code"] == "stock-basics", f"{risk}")
    course = next((c for c in cat.get("items", []) if c["code"] == saving["code"]), {})
    st, detail = call("GET", f"/v1/education/courses/{course.get('id')}", token=kid)
    lessons = detail.get("lessons", []) if st == 200 else []
    check("the saving course has its five lessons, the later ones locked",
          [x["code"] for x in lessons] == [x["code"] for x in saving["lessons"]]
          and [x["locked"] for x in lessons] == [False, True, True, True, True], f"{st} {detail}")
    expect_error("the course list needs a token", call("GET", "/v1/education/courses"), 401, "PX401")

    # the first lesson, read
    st, lesson = call("GET", f"/v1/education/lessons/{lessons[0]['id']}", token=kid)
    text = json.dumps(lesson, ensure_ascii=False)
    check("a lesson shows its paragraphs and questions, never the answers",
          st == 200 and lesson["body"] == saving["lessons"][0]["body"] and len(lesson["quiz"]["questions"]) == 3
          and '"answer' not in text and "explanation" not in text, f"{st} {text[:300]}")
    expect_error("the second lesson opens after the first is completed",
                 call("POST", f"/v1/education/lessons/{lessons[1]['id']}/complete", token=kid), 409, "SK302")
    quiz = {"quiz_id": lesson["quiz"]["id"]}
    expect_error("the quiz comes after reading",
                 call("POST", "/v1/education/quiz", dict(quiz, answers=answers(saving["lessons"][0], lesson)), token=kid),
                 409, "SK303")
    st, read = call("POST", f"/v1/education/lessons/{lessons[0]['id']}/complete", token=kid)
    check("reading the first lesson: 10 + FIRST_LESSON 30 + DAILY_LESSON 20 XP",
          st == 200 and read["first_read"] is True and read["xp_earned"] == 60, f"{st} {read}")
    expect_error("a parent does not take quizzes",
                 call("POST", "/v1/education/quiz", dict(quiz, answers=answers(saving["lessons"][0], lesson)), token=mom),
                 403, "PX430")

    # the quiz: failed, then passed; graded in the database
    st, fail = call("POST", "/v1/education/quiz", dict(quiz, answers=answers(saving["lessons"][0], lesson, right=False)),
                    token=kid)
    check("all wrong: not passed, 2 attempts left today, the right answers withheld",
          st == 200 and fail["passed"] is False and fail["score"]["correct"] == 0 and fail["attempts_left_today"] == 2
          and fail["answers_revealed"] is False and all("right_answer" not in q for q in fail["questions"]), f"{st} {fail}")
    expect_error("a malformed answer is refused and not counted",
                 call("POST", "/v1/education/quiz", dict(quiz, answers=[{"question_id": 0, "answer": 1}]), token=kid),
                 400, "22023")
    st, ok = call("POST", "/v1/education/quiz", dict(quiz, answers=answers(saving["lessons"][0], lesson)), token=kid)
    reward = saving["rewards"]["quiz_krw"]
    check(f"all right: passed, {reward} won once, the answers and explanations shown",
          st == 200 and ok["passed"] is True and ok["attempt"] == 2 and ok["reward"]["amount"] == reward
          and ok["reward"]["currency"] == "KRW" and ok["answers_revealed"] is True
          and [q["right_answer"] for q in ok["questions"]] == [q["answer"] for q in saving["lessons"][0]["quiz"]["questions"]],
          f"{st} {ok}")
    expect_error("passed once, the quiz is closed",
                 call("POST", "/v1/education/quiz", dict(quiz, answers=answers(saving["lessons"][0], lesson)), token=kid),
                 409, "SK305")

    # the rest of the course: the last quiz completes it and issues the certificate
    cert = None
    passes = []
    for i, lf in enumerate(saving["lessons"][1:], start=1):
        st1, rd = call("POST", f"/v1/education/lessons/{lessons[i]['id']}/complete", token=kid)
        st2, la = call("GET", f"/v1/education/lessons/{lessons[i]['id']}", token=kid)
        st3, res = call("POST", "/v1/education/quiz", {"quiz_id": la["quiz"]["id"], "answers": answers(lf, la)}, token=kid)
        passes.append((st1, rd.get("first_read"), st3, res.get("passed"), res.get("certificate") is not None))
        cert = res.get("certificate") or cert
    check("lessons 2 to 5 read and passed in order; only the last issues the certificate",
          passes == [(200, True, 200, True, False)] * 3 + [(200, True, 200, True, True)], f"{passes}")
    check("the course is completed with a certificate", cert is not None
          and cert["course"]["code"] == saving["code"] and cert["nickname"] == "지우", f"{cert}")

    # XP, badges, missions from the documented rules
    r = saving["rewards"]
    expected_xp = (5 * r["lesson_xp"] + 30 + 20            # lessons, FIRST_LESSON, DAILY_LESSON
                   + 5 * r["quiz_xp"] + 50 + 50 + 50      # quizzes, FIRST_QUIZ_PASSED, PERFECT_QUIZ, WEEKLY_QUIZ_THREE
                   + r["course_xp"] + 200)                # the course, FIRST_CERTIFICATE
    st, prof = call("GET", "/v1/users/me/profile", token=kid)
    check(f"XP from the rules: {expected_xp}", st == 200 and prof["xp"] == expected_xp, f"{st} {prof}")
    earned = {b["code"] for b in call("GET", "/v1/gamification/badges", token=kid)[1]["items"] if b["earned"]}
    check("badges FIRST_LESSON, FIRST_QUIZ_PASSED, PERFECT_QUIZ, FIRST_CERTIFICATE",
          {"FIRST_LESSON", "FIRST_QUIZ_PASSED", "PERFECT_QUIZ", "FIRST_CERTIFICATE"} <= earned, f"{earned}")
    weekly = call("GET", "/v1/gamification/missions/weekly", token=kid)[1]
    m = next((x for x in weekly["items"] if x["code"] == "WEEKLY_QUIZ_THREE"), {})
    check("the weekly mission WEEKLY_QUIZ_THREE is completed", m.get("completed") is True, f"{m}")

    # the rewards are contributions: cash and net contribution rise together, the return stays 0
    st, pf = call("GET", "/v1/trading/portfolio", token=kid)
    check(f"5 x {reward} won in the cash ledger as contributions: return 0",
          st == 200 and float(pf["cash"]) == 1000000 + 5 * reward and float(pf["net_contribution"]) == 1000000 + 5 * reward
          and float(pf["simple_return_pct"]) == 0, f"{st} {pf}")

    # anyone verifies the certificate by its id
    st, v = call("GET", f"/v1/education/certificates/{cert['id']}")
    check("the certificate verifies without a token: nickname, course, date only",
          st == 200 and v["valid"] is True and v["nickname"] == "지우" and v["course"]["code"] == saving["code"]
          and set(v) == {"id", "valid", "nickname", "course", "issued_on", "issued_at", "issuer"}, f"{st} {v}")
    expect_error("an unknown certificate", call("GET", f"/v1/education/certificates/{uuid.uuid4()}"), 404, "P0002")

    # the parent sees the child's progress; a parent of another family does not
    st, prog = call("GET", f"/v1/education/progress?child_id={kid_id}", token=mom)
    sp = next((c for c in prog.get("courses", []) if c["code"] == saving["code"]), {}) if st == 200 else {}
    check("the parent sees the course at 100% and the certificate",
          sp.get("percent") == 100 and len(prog["certificates"]) == 1 and prog["quizzes_passed"] == 5
          and prog["streak"]["learned_today"] is True, f"{st} {prog}")
    expect_error("another family's parent does not",
                 call("GET", f"/v1/education/progress?child_id={kid_id}", token=other_parent), 404, "P0002")
    expect_error("nor another child", call("GET", f"/v1/education/certificates?child_id={kid_id}", token=other_kid),
                 404, "P0002")
    st, notes = call("GET", "/v1/notifications?after=0&limit=200", token=mom)
    types = [n["type"] for n in notes.get("items", [])] if st == 200 else []
    check("the parent hears LessonRead, QuizPassed and CourseCompleted",
          {"LessonRead", "QuizPassed", "CourseCompleted"} <= set(types), f"{types}")

    # today's market question, graded from the bars
    st, mq = call("GET", "/v1/education/market-quiz", token=kid)
    check("the market question of the default season", st == 200 and mq["answered"] is False
          and len(mq["choices"]) == 3 and mq["period"]["to"] < mq["date"], f"{st} {mq}")
    st, again = call("GET", "/v1/education/market-quiz", token=kid)
    check("asked again, the same question", st == 200 and again == mq, f"{again}")
    right = right_market_choice(mq)
    expect_error("an answer for another date", call("POST", "/v1/education/market-quiz",
                                                    {"date": "2001-01-02", "choice": right}, token=kid), 409, "SK320")
    st, ans = call("POST", "/v1/education/market-quiz", {"date": mq["date"], "choice": right}, token=kid)
    check(f"the answer computed from the chart API ({right}) is right", st == 200 and ans["correct"] is True
          and ans["right_choice"] == right and ans["xp_earned"] == 10 + 50, f"{st} {ans}")
    expect_error("answered once", call("POST", "/v1/education/market-quiz", {"date": mq["date"], "choice": right},
                                       token=kid), 409, "SK321")

    # news of a replay season of this test's own: nothing after its clock
    sid = int(psql(f"SELECT stockking.create_season('E2E-EDU-{tag}', 'e2e news {tag}', 'REPLAY', 'USD', 1000000, "
                   f"'SP500', DATE '2008-09-12')"))
    st, news = call("GET", f"/v1/market/news?season_id={sid}&limit=50")
    titles = [n["title"] for n in news.get("items", [])] if st == 200 else []
    cutoff = datetime.datetime(2008, 9, 13, 4, 0, tzinfo=datetime.timezone.utc)   # 2008-09-13 00:00 in New York
    check("a replay season on 2008-09-12 sees no later news (anyone, no token)",
          st == 200 and titles and all(datetime.datetime.fromisoformat(n["published_at"]) < cutoff for n in news["items"])
          and not any("리먼" in t for t in titles), f"{st} {titles[:3]}")
    psql(f"SELECT api.advance_clock({sid}, 1)")
    st, news = call("GET", f"/v1/market/news?season_id={sid}&limit=50")
    newest = news["items"][0] if st == 200 and news.get("items") else {}
    check("one bar later (2008-09-15) the Lehman Brothers news appears, linked to SP500",
          news.get("clock") == "2008-09-15" and "리먼" in newest.get("title", "")
          and newest["symbols"][0]["path"] == "/v1/market/stocks/SP500"
          and newest["url"] == "https://en.wikipedia.org/wiki/Bankruptcy_of_Lehman_Brothers", f"{st} {newest}")
    st, allnews = call("GET", "/v1/market/news?limit=50")
    check("without a season: every shipped item up to now", st == 200 and len(allnews["items"]) >= 36, f"{st}")

    passed = sum(results)
    print(f"{passed} passed, {len(results) - passed} failed")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
