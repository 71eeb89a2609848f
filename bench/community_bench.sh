#!/bin/sh
# Community bench (not a test): the board's text filter on one core, and
# posting through the api, against a running stack (docker/cluster.sh; the
# STOCKKING_INSTANCE / STOCKKING_PGPORT variables choose which).  Prints
# one line per figure:
#   op=NAME n=N seconds=S per_sec=R
#
#   filter_core       stockking.profanity_bench(): the profanity filter in C
#                     in a loop over 60 short posts (children's posts as they
#                     come: clean ones, false-positive traps, masked and
#                     refused words and their variants), word list cached
#   personal_core     the personal-data detector over the same posts
#   filter_long_core  the filter over 1,000-character posts (the longest allowed)
#   filter_sql        SELECT stockking.profanity_filter(text) per post: the
#                     SQL-callable form, one backend
#   create_post       api.create_post() as 20 children, 100 posts each, in one
#                     transaction: rate limit, filter, detector, insert
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP"
eval "export $(sh docker/cluster.sh env)"
LOOPS=${COMMUNITY_BENCH_LOOPS:-20000}

"$(pg_config --bindir)/psql" -X -q -v ON_ERROR_STOP=1 -v loops="$LOOPS" <<'SQL'
\pset tuples_only on
\pset format unaligned
CREATE TEMP TABLE bench_post (t text);
INSERT INTO bench_post VALUES
    ('오늘 삼성전자 주가가 올랐어요!'), ('다음 주에 애플 주식 사고 싶다'), ('우리 리그 1등 누구야?'),
    ('S&P 500이 2008년에 많이 떨어졌대'), ('분산 투자가 중요하다고 배웠어 :)'), ('삼성전자 10주 샀어'),
    ('수익률 3.5% 나왔다 ㅋㅋ'), ('엄마가 용돈 만원 주셨어'), ('내일 시장 열리면 뭐 살까'), ('배당금이 뭐야?'),
    ('이 길의 시발점은 서울역이야'), ('수박씨 발라 먹기 대회'), ('18살 형이 주식 알려줬어'), ('동시 발표 났대'),
    ('병신년 새해 복 많이 받으세요'), ('새끼 고양이 키우고 싶다'), ('아저씨 발 냄새 ㅋㅋ'), ('씨 발아 실험 숙제'),
    ('시바견 귀여워'), ('허리띠를 졸라 매고 저축하자'), ('ㄱㅅ ㅈㅅ ㅇㅋ'), ('ㅋㅋㅋㅋ ㅠㅠ'), ('한남대교 건너서 갔어'),
    ('전염병 때문에 주가가 떨어졌대'), ('꿈을 좇다 보면 부자 될까'), ('껌을 씹다가 생각났어'), ('shiitake 버섯 먹었어'),
    ('존나 좋아'), ('지랄하네 진짜'), ('닥쳐 좀'), ('꺼져라 하락장'), ('미친놈 또 물타기함'), ('졸라 웃겨'),
    ('ㅈㄴ 떨린다'), ('찐따같이 굴지마'), ('씨발 다 잃었어'), ('시발 진짜'), ('ㅅㅂ 망했다'), ('ㅆㅂ'),
    ('병신같이 팔았네'), ('ㅂㅅ'), ('개새끼'), ('시 발'), ('씨.발'), ('시1발'), ('씨이이발'), ('ㅅㅣㅂㅏㄹ'),
    ('tlqkf'), ('sh1t'), ('fuck this market'), ('f.u.c.k'), ('느금마'), ('아 시바 진짜'), ('c8 뭐야'),
    ('내 번호 010-1234-5678 이야'), ('메일 minjun@naver.com'), ('우리집 역삼동 123-4'), ('계좌 110-123-456789'),
    ('2008-10-31에 샀어'), ('10,000원 벌었어');
SELECT 'texts=' || count(*) FROM bench_post;

SELECT format('op=filter_core n=%s seconds=%s per_sec=%s', b ->> 'texts', b ->> 'filter_seconds',
              b ->> 'filter_texts_per_second')
       || E'\n' ||
       format('op=personal_core n=%s seconds=%s per_sec=%s', b ->> 'texts', b ->> 'personal_seconds',
              b ->> 'personal_texts_per_second')
  FROM stockking.profanity_bench((SELECT array_agg(t) FROM bench_post), :loops) b;

SELECT format('op=filter_long_core n=%s seconds=%s per_sec=%s bytes=%s', b ->> 'texts', b ->> 'filter_seconds',
              b ->> 'filter_texts_per_second', b ->> 'average_bytes')
  FROM stockking.profanity_bench((SELECT array_agg(left(repeat(t || ' ', 200), 1000)) FROM bench_post),
                                 greatest(:loops / 50, 1)) b;

CREATE TEMP TABLE bench_clock (op text, started timestamptz, n bigint);
INSERT INTO bench_clock VALUES ('filter_sql', clock_timestamp(), 0);
UPDATE bench_clock SET n = (SELECT count(f.verdict) FROM bench_post, generate_series(1, greatest(:loops / 10, 1)) g,
                                 LATERAL stockking.profanity_filter(bench_post.t || CASE WHEN g < 0 THEN '.' ELSE '' END) f)
 WHERE op = 'filter_sql';
SELECT format('op=%s n=%s seconds=%s per_sec=%s', op, n, round(extract(epoch FROM clock_timestamp() - started), 3),
              round(n / extract(epoch FROM clock_timestamp() - started)))
  FROM bench_clock WHERE op = 'filter_sql';

-- posting through the api: 20 children of the default season, 100 clean or masked posts each, in one
-- transaction that is rolled back (nothing is left behind)
BEGIN;
INSERT INTO stockking.community_setting (name, value) VALUES ('posts_per_hour', 10000)
    ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value;
SELECT count(stockking.create_user('bench-post-' || i || '@example.com', 'correct horse', 'CHILD', 'bench' || i))
  FROM generate_series(1, 20) i \g /dev/null
SELECT count(stockking.open_account(u.id, s.id))
  FROM stockking.users u CROSS JOIN stockking.season s
 WHERE u.email LIKE 'bench-post-%' AND s.is_default \g /dev/null
INSERT INTO bench_clock VALUES ('create_post', clock_timestamp(), 0);
DO $$
DECLARE
    u record;
    texts text[] := (SELECT array_agg(t) FROM bench_post WHERE stockking.personal_data(t) IS NULL
                       AND (stockking.profanity_filter(t)).verdict <> 'REFUSED');
    v_n bigint := 0;
BEGIN
    FOR u IN SELECT id FROM stockking.users WHERE email LIKE 'bench-post-%' LOOP
        PERFORM set_config('request.user_id', u.id::text, true), set_config('request.role', 'CHILD', true);
        FOR i IN 1..100 LOOP
            PERFORM api.create_post(jsonb_build_object('body', texts[1 + i % array_length(texts, 1)], 'audience', 'SEASON'));
            v_n := v_n + 1;
        END LOOP;
    END LOOP;
    UPDATE bench_clock SET n = v_n WHERE op = 'create_post';
END
$$;
SELECT format('op=%s n=%s seconds=%s per_sec=%s', op, n, round(extract(epoch FROM clock_timestamp() - started), 3),
              round(n / extract(epoch FROM clock_timestamp() - started)))
  FROM bench_clock WHERE op = 'create_post';
ROLLBACK;
SQL
