-- The community board's text filter (extension/profanity.c) on the
-- shipped word list: words, their variants (jamo typed apart, spacing,
-- symbols, digits, 초성, elongation, look-alike letters, the keyboard left
-- in English mode), false-positive traps that must stay clean, and
-- personal data.  Each case states what it expects; the summaries count
-- the cases that came out as expected, and every other case is listed.
SET client_min_messages = warning;

CREATE TEMP TABLE filter_case (
    n        serial PRIMARY KEY,
    kind     text NOT NULL,     -- WORD, MASK, VARIANT, TRAP (a false positive to avoid), CLEAN
    txt      text NOT NULL,
    expected text NOT NULL,     -- CLEAN, MASKED, REFUSED
    masked   text               -- the stored text, when the case pins it
);
INSERT INTO filter_case (kind, txt, expected, masked) VALUES
    -- words of the list: REFUSE
    ('WORD', '씨발', 'REFUSED', NULL),
    ('WORD', '시발', 'REFUSED', NULL),
    ('WORD', '병신', 'REFUSED', NULL),
    ('WORD', '개새끼', 'REFUSED', NULL),
    ('WORD', '좆같네', 'REFUSED', NULL),
    ('WORD', '느금마', 'REFUSED', NULL),
    ('WORD', '니애미', 'REFUSED', NULL),
    ('WORD', '씹새끼', 'REFUSED', NULL),
    ('WORD', '썅년', 'REFUSED', NULL),
    ('WORD', '씨부랄', 'REFUSED', NULL),
    ('WORD', '섹스', 'REFUSED', NULL),
    ('WORD', '야동 봤어', 'REFUSED', NULL),
    ('WORD', '김치녀', 'REFUSED', NULL),
    ('WORD', '틀딱', 'REFUSED', NULL),
    ('WORD', '짱깨', 'REFUSED', NULL),
    ('WORD', '미친년', 'REFUSED', NULL),
    ('WORD', '미친새끼', 'REFUSED', NULL),
    ('WORD', '후레자식', 'REFUSED', NULL),
    ('WORD', '개년', 'REFUSED', NULL),
    ('WORD', 'fuck', 'REFUSED', NULL),
    ('WORD', 'shit', 'REFUSED', NULL),
    ('WORD', 'bitch', 'REFUSED', NULL),
    ('WORD', 'sibal', 'REFUSED', NULL),
    ('WORD', '주식 다 잃었어 씨발', 'REFUSED', '주식 다 잃었어 **'),
    -- words of the list: MASK, the post goes through masked
    ('MASK', '존나 좋아', 'MASKED', '** 좋아'),
    ('MASK', '존나게 웃겨', 'MASKED', '**게 웃겨'),
    ('MASK', '지랄하네', 'MASKED', '**하네'),
    ('MASK', '닥쳐', 'MASKED', '**'),
    ('MASK', '꺼져 진짜', 'MASKED', '** 진짜'),
    ('MASK', '미친놈', 'MASKED', '***'),
    ('MASK', '찐따', 'MASKED', '**'),
    ('MASK', '또라이', 'MASKED', '***'),
    ('MASK', '졸라 웃겨', 'MASKED', '** 웃겨'),
    ('MASK', 'ㅈㄴ 웃겨', 'MASKED', '** 웃겨'),
    ('MASK', 'ㅈㄹ', 'MASKED', '**'),
    ('MASK', 'wtf', 'MASKED', '***'),
    ('MASK', '급식충들', 'MASKED', '***들'),
    ('MASK', '염병하네', 'MASKED', '**하네'),
    ('MASK', '존나 지랄이야', 'MASKED', '** **이야'),
    -- variants
    ('VARIANT', 'ㅅㅂ', 'REFUSED', '**'),
    ('VARIANT', 'ㅆㅂ', 'REFUSED', NULL),
    ('VARIANT', 'ㅂㅅ', 'REFUSED', NULL),
    ('VARIANT', 'ㅄ', 'REFUSED', '*'),
    ('VARIANT', 'ㄱㅅㄲ', 'REFUSED', NULL),
    ('VARIANT', 'ㅋㅋㅋㅅㅂ', 'REFUSED', 'ㅋㅋㅋ**'),
    ('VARIANT', 'ㅅ ㅂ', 'REFUSED', '* *'),
    ('VARIANT', 'ㅅㅣㅂㅏㄹ', 'REFUSED', '*****'),
    ('VARIANT', 'ㅆㅣㅂㅏㄹ', 'REFUSED', NULL),
    ('VARIANT', 'ㅂㅕㅇㅅㅣㄴ', 'REFUSED', NULL),
    ('VARIANT', '시ㅂㅏㄹ', 'REFUSED', NULL),
    ('VARIANT', '씨ㅂ', 'REFUSED', NULL),
    ('VARIANT', 'ㅆ발', 'REFUSED', NULL),
    ('VARIANT', 'ㅂ신', 'REFUSED', NULL),
    ('VARIANT', '병ㅅ', 'REFUSED', NULL),
    ('VARIANT', 'ㅅl발', 'REFUSED', NULL),
    ('VARIANT', '시 발', 'REFUSED', '* *'),
    ('VARIANT', '씨 발 놈아', 'REFUSED', '* * 놈아'),
    ('VARIANT', '씨 발놈', 'REFUSED', NULL),
    ('VARIANT', '시.발', 'REFUSED', '***'),
    ('VARIANT', '씨-발', 'REFUSED', NULL),
    ('VARIANT', '시*발', 'REFUSED', NULL),
    ('VARIANT', '시1발', 'REFUSED', '***'),
    ('VARIANT', '병1신', 'REFUSED', NULL),
    ('VARIANT', E'시\u200B발', 'REFUSED', NULL),
    ('VARIANT', '씨이이발', 'REFUSED', '****'),
    ('VARIANT', '시이바알', 'REFUSED', NULL),
    ('VARIANT', '씌발', 'REFUSED', NULL),
    ('VARIANT', '쒸발', 'REFUSED', NULL),
    ('VARIANT', '씨빨', 'REFUSED', NULL),
    ('VARIANT', '씨팔', 'REFUSED', NULL),
    ('VARIANT', '시벌', 'REFUSED', NULL),
    ('VARIANT', '시바', 'REFUSED', NULL),
    ('VARIANT', '아 시바 진짜', 'REFUSED', '아 ** 진짜'),
    ('VARIANT', '아씨발', 'REFUSED', NULL),
    ('VARIANT', '씨8', 'REFUSED', NULL),
    ('VARIANT', '야 c8 뭐해', 'REFUSED', '야 ** 뭐해'),
    ('VARIANT', 'C8', 'REFUSED', NULL),
    ('VARIANT', 'c발', 'REFUSED', NULL),
    ('VARIANT', '18놈', 'REFUSED', NULL),
    ('VARIANT', '18새끼', 'REFUSED', NULL),
    ('VARIANT', 'tlqkf', 'REFUSED', '*****'),
    ('VARIANT', 'Tlqkf', 'REFUSED', NULL),
    ('VARIANT', 'qudtls', 'REFUSED', NULL),
    ('VARIANT', 'rotoRl', 'REFUSED', NULL),
    ('VARIANT', 'sh1t', 'REFUSED', '****'),
    ('VARIANT', 'b!tch', 'REFUSED', NULL),
    ('VARIANT', 'f.u.c.k', 'REFUSED', '*******'),
    ('VARIANT', 'f u c k', 'REFUSED', NULL),
    ('VARIANT', E'fu\u0441k', 'REFUSED', NULL),
    ('VARIANT', 'ｓｈｉｔ', 'REFUSED', NULL),
    ('VARIANT', 'FUCK YOU', 'REFUSED', '**** YOU'),
    ('VARIANT', 'motherfucker', 'REFUSED', NULL),
    ('VARIANT', 'ssibal', 'REFUSED', NULL),
    ('VARIANT', normalize('씨발', NFD), 'REFUSED', NULL),
    ('VARIANT', normalize('병신 같아', NFD), 'REFUSED', NULL),
    -- false-positive traps: words and places that contain a bad word's letters
    ('TRAP', '시발점', 'CLEAN', NULL),
    ('TRAP', '이 길의 시발점은 서울역이야', 'CLEAN', NULL),
    ('TRAP', '시발역', 'CLEAN', NULL),
    ('TRAP', '시발택시는 우리나라 첫 자동차래', 'CLEAN', NULL),
    ('TRAP', '동시발생', 'CLEAN', NULL),
    ('TRAP', '동시 발표', 'CLEAN', NULL),
    ('TRAP', '도시발전 계획', 'CLEAN', NULL),
    ('TRAP', '시흥시 발전', 'CLEAN', NULL),
    ('TRAP', '이 시 발표 자료', 'CLEAN', NULL),
    ('TRAP', '역시 발 빠르다', 'CLEAN', NULL),
    ('TRAP', '시뻘건 불', 'CLEAN', NULL),
    ('TRAP', '수박씨', 'CLEAN', NULL),
    ('TRAP', '수박씨 발라 먹기', 'CLEAN', NULL),
    ('TRAP', '수박씨발라먹기', 'CLEAN', NULL),
    ('TRAP', '포도씨 발라내기', 'CLEAN', NULL),
    ('TRAP', '호박씨 까지 마', 'CLEAN', NULL),
    ('TRAP', '씨 발아 실험', 'CLEAN', NULL),
    ('TRAP', '씨앗 발아', 'CLEAN', NULL),
    ('TRAP', '김씨 발견', 'CLEAN', NULL),
    ('TRAP', '아저씨 발 냄새', 'CLEAN', NULL),
    ('TRAP', '아저씨발냄새', 'CLEAN', NULL),
    ('TRAP', '아 씨 발가락 아파', 'CLEAN', NULL),
    ('TRAP', '날씨 발표', 'CLEAN', NULL),
    ('TRAP', '솜씨 발휘', 'CLEAN', NULL),
    ('TRAP', '솜씨발휘', 'CLEAN', NULL),
    ('TRAP', '씨름 선수', 'CLEAN', NULL),
    ('TRAP', '18세', 'CLEAN', NULL),
    ('TRAP', '18살 생일', 'CLEAN', NULL),
    ('TRAP', '2018년', 'CLEAN', NULL),
    ('TRAP', '10시 18분', 'CLEAN', NULL),
    ('TRAP', '18년 동안', 'CLEAN', NULL),
    ('TRAP', '18번 버스', 'CLEAN', NULL),
    ('TRAP', '8시8분', 'CLEAN', NULL),
    ('TRAP', '병신년 새해 복 많이 받으세요', 'CLEAN', NULL),
    ('TRAP', '새끼 고양이', 'CLEAN', NULL),
    ('TRAP', '새끼손가락', 'CLEAN', NULL),
    ('TRAP', '개가 새끼를 낳았어', 'CLEAN', NULL),
    ('TRAP', '개 새끼줄', 'CLEAN', NULL),
    ('TRAP', '5개년 계획', 'CLEAN', NULL),
    ('TRAP', '미친 듯이 공부했다', 'CLEAN', NULL),
    ('TRAP', '껌을 씹다', 'CLEAN', NULL),
    ('TRAP', '꿈을 좇다', 'CLEAN', NULL),
    ('TRAP', '보지 마세요', 'CLEAN', NULL),
    ('TRAP', '자지 말고 공부해', 'CLEAN', NULL),
    ('TRAP', '한남동', 'CLEAN', NULL),
    ('TRAP', '한남대교', 'CLEAN', NULL),
    ('TRAP', '전염병', 'CLEAN', NULL),
    ('TRAP', '시 벌레', 'CLEAN', NULL),
    ('TRAP', '시벌레', 'CLEAN', NULL),
    ('TRAP', '시바견 귀여워', 'CLEAN', NULL),
    ('TRAP', '시바 이누', 'CLEAN', NULL),
    ('TRAP', '허리띠를 졸라 매고', 'CLEAN', NULL),
    ('TRAP', '기이한 이야기', 'CLEAN', NULL),
    ('TRAP', '조나단', 'CLEAN', NULL),
    ('TRAP', '니 엄마 오셨어', 'CLEAN', NULL),
    ('TRAP', '존중해', 'CLEAN', NULL),
    ('TRAP', '그놈의 인기', 'CLEAN', NULL),
    ('TRAP', 'ㄱㅅ', 'CLEAN', NULL),
    ('TRAP', 'ㅈㅅ', 'CLEAN', NULL),
    ('TRAP', 'ㅅㅍ 주의', 'CLEAN', NULL),
    ('TRAP', 'ㅇㅋ ㄱㄱ', 'CLEAN', NULL),
    ('TRAP', 'ㅋㅋㅋ ㅠㅠ', 'CLEAN', NULL),
    ('TRAP', 'shiitake', 'CLEAN', NULL),
    ('TRAP', 'shitake', 'CLEAN', NULL),
    ('TRAP', 'cocktail', 'CLEAN', NULL),
    ('TRAP', 'Scunthorpe', 'CLEAN', NULL),
    ('TRAP', 'class', 'CLEAN', NULL),
    ('TRAP', 'abc8', 'CLEAN', NULL),
    -- ordinary posts
    ('CLEAN', '오늘 삼성전자 주가가 올랐어요!', 'CLEAN', NULL),
    ('CLEAN', '삼성전자 10주 샀어', 'CLEAN', NULL),
    ('CLEAN', '다음 주에 애플 주식 사고 싶다', 'CLEAN', NULL),
    ('CLEAN', '우리 리그 1등 누구야?', 'CLEAN', NULL),
    ('CLEAN', 'S&P 500이 2008년에 많이 떨어졌대', 'CLEAN', NULL),
    ('CLEAN', '분산 투자가 중요하다고 배웠어 :)', 'CLEAN', NULL);

SELECT c.n, c.kind, c.txt, f.verdict, f.masked, f.masked_words, f.refused_words,
       f.verdict = c.expected AND (c.masked IS NULL OR f.masked = c.masked) AS ok
  FROM filter_case c CROSS JOIN LATERAL stockking.profanity_filter(c.txt) f
 ORDER BY c.n;

-- the summary, and the cases that did not come out as expected (none)
SELECT c.kind, count(*) AS cases,
       count(*) FILTER (WHERE f.verdict = c.expected AND (c.masked IS NULL OR f.masked = c.masked)) AS as_expected
  FROM filter_case c CROSS JOIN LATERAL stockking.profanity_filter(c.txt) f
 GROUP BY ROLLUP (c.kind) ORDER BY c.kind NULLS LAST;
SELECT c.n, c.txt, c.expected, f.verdict, c.masked, f.masked
  FROM filter_case c CROSS JOIN LATERAL stockking.profanity_filter(c.txt) f
 WHERE NOT (f.verdict = c.expected AND (c.masked IS NULL OR f.masked = c.masked));

-- Personal data: what the detector finds, and what it must not
CREATE TEMP TABLE personal_case (
    n        serial PRIMARY KEY,
    txt      text NOT NULL,
    expected text               -- PHONE, EMAIL, ADDRESS, ACCOUNT, RRN or NULL
);
INSERT INTO personal_case (txt, expected) VALUES
    ('내 번호 010-1234-5678', 'PHONE'),
    ('01012345678로 연락해', 'PHONE'),
    ('010 1234 5678', 'PHONE'),
    ('010.1234.5678', 'PHONE'),
    ('010-123-4567', 'PHONE'),
    ('+82 10-1234-5678', 'PHONE'),
    ('+821012345678', 'PHONE'),
    ('02-123-4567', 'PHONE'),
    ('031-1234-5678', 'PHONE'),
    ('(02) 1234-5678', 'PHONE'),
    ('０１０－１２３４－５６７８', 'PHONE'),
    ('공일공 일이삼사 오육칠팔', 'PHONE'),
    ('공일공-1234-5678', 'PHONE'),
    ('2008-10-31 010-1234-5678', 'PHONE'),
    ('minjun@naver.com', 'EMAIL'),
    ('메일은 Min.Jun_01@gmail.com 이야', 'EMAIL'),
    ('minjun 골뱅이 naver 점 com', 'EMAIL'),
    ('minjun@naver', 'EMAIL'),
    ('abc(at)gmail(dot)com', 'EMAIL'),
    ('서울시 강남구 테헤란로 152', 'ADDRESS'),
    ('동일로 12길 34', 'ADDRESS'),
    ('동일로12번길 34', 'ADDRESS'),
    ('역삼동 123-4', 'ADDRESS'),
    ('역삼동 123번지', 'ADDRESS'),
    ('101동 1203호', 'ADDRESS'),
    ('우리 집은 세종대로 110이야', 'ADDRESS'),
    ('110-123-456789', 'ACCOUNT'),
    ('3333-01-1234567 으로 보내줘', 'ACCOUNT'),
    ('계좌 1234567890123', 'ACCOUNT'),
    ('카드 1234-5678-9012-3456', 'ACCOUNT'),
    ('900101-1234567', 'RRN'),
    ('9001011234567', 'RRN'),
    ('900101-1******', 'RRN'),
    ('@민준 안녕', NULL),
    ('삼성전자 10주 샀어', NULL),
    ('2008-10-31에 샀어', NULL),
    ('10,000원 벌었어', NULL),
    ('1,234,567원', NULL),
    ('주가가 12.5% 올랐어', NULL),
    ('10:30에 만나', NULL),
    ('3학년 2반이야', NULL),
    ('101번 버스 타고 학교로 가', NULL),
    ('학교로 3번 갔어', NULL),
    ('올림픽로 가봤어', NULL),
    ('테헤란로 152', NULL),
    ('1588-1234 고객센터', NULL),
    ('오늘 12시 30분', NULL),
    ('S&P 500이 968.75', NULL),
    ('005930 삼성전자', NULL),
    ('2024.05.05 어린이날', NULL),
    ('20240505', NULL),
    ('내 점수 95점', NULL),
    ('운동 3-4번 했어', NULL),
    ('점수 100 200 300 400', NULL),
    ('1억 2천만원', NULL),
    ('통장에 12345678901원 있어', NULL),
    ('집으로 12시에 가', NULL),
    ('우리 집은 버스로 10 정거장', NULL),
    ('이 일 삼 사', NULL);

SELECT p.n, p.txt, stockking.personal_data(p.txt) AS found,
       stockking.personal_data(p.txt) IS NOT DISTINCT FROM p.expected AS ok
  FROM personal_case p ORDER BY p.n;
SELECT count(*) AS cases, count(*) FILTER (WHERE stockking.personal_data(p.txt) IS NOT DISTINCT FROM p.expected) AS as_expected,
       count(*) FILTER (WHERE p.expected IS NOT NULL) AS with_personal_data,
       count(*) FILTER (WHERE p.expected IS NULL) AS without
  FROM personal_case p;

-- clean_text: what the board raises (the message names the field and the kind, never the text)
CREATE FUNCTION pg_temp.try(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;
SELECT stockking.clean_text('body', '존나 좋아', true) AS masked_is_fine;
SELECT pg_temp.try($$SELECT stockking.clean_text('nickname', '존나 좋아', false)$$) AS masked_refused_in_nickname;
SELECT pg_temp.try($$SELECT stockking.clean_text('body', '야 시발', true)$$) AS refused;
SELECT pg_temp.try($$SELECT stockking.clean_text('body', '010-1234-5678 로 연락해', true)$$) AS phone;
SELECT pg_temp.try($$SELECT stockking.clean_text('body', 'minjun@naver.com', true)$$) AS email;
SELECT pg_temp.try($$SELECT stockking.clean_text('body', '역삼동 123-4', true)$$) AS address;
SELECT pg_temp.try($$SELECT stockking.clean_text('body', '110-123-456789', true)$$) AS account;
SELECT pg_temp.try($$SELECT stockking.clean_text('body', '900101-1234567', true)$$) AS rrn;

-- malformed patterns are refused with the reason (the table's CHECK calls this)
SELECT pg_temp.try(format('SELECT stockking.profanity_pattern_ok(%L)', p)) AS pattern_check
  FROM unnest(ARRAY['[씨발', '씨]발', '', '^', '씨^발', '씨$발', 'ㅏ', 'ㄳ', '씨!발', '[]', 'ok[가나]$']) p;

-- the bench function runs (its figures are in the README, not here)
SELECT b -> 'texts' AS texts, b -> 'loops' AS loops, (b ->> 'filter_texts_per_second')::numeric > 0 AS measured
  FROM stockking.profanity_bench(ARRAY['존나 좋아', '수박씨 발라 먹기', '010-1234-5678'], 10) b;
