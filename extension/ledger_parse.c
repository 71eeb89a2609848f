/*
 * ledger_parse.c
 *	  The pocket-money ledger's Korean sentence parser: "어제 스벅에서 9천원
 *	  썼어" becomes an EXPENSE of 9,000 won at 스타벅스 (카페/음료) dated the
 *	  day before the reference date.
 *
 * The parser is deterministic and runs in one pass over the sentence's
 * UTF-8 bytes.  At each character it tries, in this order:
 *
 *	1. the longest dictionary word starting there: a merchant alias of the
 *	   caller's family, a global merchant alias (stockking.merchant), or a
 *	   built-in keyword (dates, intents, verbs, category words, see
 *	   keywords[]).  A word found consumes its bytes, so "이번주" is never
 *	   read as the numeral 이 (2) and "만두" never as 만 (10,000).
 *	2. a number: digits with commas or a decimal point, Korean units
 *	   (십 백 천 만 억, digits or Hangul numerals: 1만5천, 2만 5천, 3.5만,
 *	   삼천오백, 만이천), an optional 원; or, when the digits are followed by
 *	   월/일/주/달/시 or a date separator, a date (3월 5일, 5일 전, 3/5,
 *	   2024-03-05, 지난달 5일).
 *
 * The words found become items; the items are then resolved into the
 * fields (amount, date, merchant, kind, intent, category), and the bytes no
 * item consumed, less particles left beside consumed words (에서, 을 ...),
 * become the memo.  Nothing is guessed: a sentence without an amount has
 * none, with the reason amount_missing and a low confidence.
 *
 * Dictionaries.  The built-in keywords are compiled in; the merchant
 * aliases are read from stockking.merchant once and kept in backend memory.
 * A statement trigger on stockking.merchant calls CacheInvalidateRelcache
 * (stockking_ledger_merchant_changed); the relcache callback registered
 * here then marks the cache stale in every backend, this one included, so
 * the next parse reads the table again.  A family's own aliases are read
 * at most once per transaction and user.  The hot path does no SPI call
 * and no allocation but the result's.
 *
 * Lookup: a dictionary's entries are sorted by their first character
 * (its slot: ASCII, one of the 11,172 Hangul syllables, or "other") and
 * then by length, longest first; head[] gives each slot's range, so a
 * match at a position compares only the few entries starting with that
 * character, and the first hit is the longest.
 */
#include "ledger.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "portability/instr_time.h"
#include "storage/proc.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/inval.h"
#include "utils/json.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

PG_FUNCTION_INFO_V1(stockking_ledger_parse_json);
PG_FUNCTION_INFO_V1(stockking_ledger_parse);
PG_FUNCTION_INFO_V1(stockking_ledger_merchant_changed);
PG_FUNCTION_INFO_V1(stockking_ledger_bench);

/* ---------------------------------------------------------------------
 * Categories and keywords
 * --------------------------------------------------------------------- */

enum
{
	C_FOOD, C_CAFE, C_CONVENIENCE, C_TRANSIT, C_SHOPPING, C_CULTURE, C_EDUCATION, C_HEALTH,
	C_TELECOM, C_GIFT, C_SAVING, C_DONATION, C_OTHER, C_ALLOWANCE, C_OTHER_INCOME
};

static const char *const category_names[] = {
	"식비", "카페/음료", "편의점", "교통", "쇼핑", "문화/여가", "교육/도서", "의료/건강",
	"통신", "선물/경조사", "저축/투자", "기부", "기타", "용돈", "기타수입"
};

typedef enum kw_type
{
	KW_MERCHANT,				/* dictionary of merchants: value = merchant index */
	KW_DATE_REL,				/* value: days from the reference date (<= 0) */
	KW_DATE_FUTURE,				/* value: days after the reference date */
	KW_WEEK,					/* value: weeks from this week */
	KW_WEEKDAY,					/* value: ISO weekday 1 (Monday) .. 7 */
	KW_MONTH,					/* value: months from this month */
	KW_INCOME_VERB,				/* 받았, 벌었 ... */
	KW_GIVE_VERB,				/* 줬: income with 용돈, else an expense (a gift given) */
	KW_EXPENSE_VERB,			/* 썼, 샀, 결제 ... */
	KW_INCOME_NOUN,				/* value: income category */
	KW_GIVER,					/* 할머니, 엄마 ...: money from them is 용돈 */
	KW_CATEGORY,				/* value: expense category */
	KW_DELETE,
	KW_MODIFY,
	KW_COPULA,					/* 이었어, 였어: a correction when nothing else is said */
	KW_QUERY,
	KW_FILLER,					/* 했어, 입력 ...: dropped */
	KW_DATE_JUST_NOW,			/* 방금: today, or in a correction "the latest" */
	KW_PIVOT,					/* 말고, 아니고, 아니라: the entry named before it, the new values after */
	KW_Q_COUNT,					/* 몇 번: a question of how many times */
	KW_Q_WHERE,					/* 어디: a question of where */
	KW_Q_WHAT,					/* 뭐에, 무슨, 항목: a question of on what */
	KW_Q_MOST,					/* 제일, 가장 */
	KW_Q_MUCH					/* 많이 */
} kw_type;

/* a category word that is also a time of day (아침, 점심, 저녁): used only when no other category word is there */
#define WEAK_CATEGORY 100

typedef struct kw_def
{
	const char *s;
	int16		type;
	int32		value;
} kw_def;

static const kw_def keywords[] = {
	/* dates relative to the reference date */
	{"오늘", KW_DATE_REL, 0}, {"아까", KW_DATE_REL, 0}, {"방금", KW_DATE_JUST_NOW, 0}, {"지금", KW_DATE_REL, 0},
	{"금일", KW_DATE_REL, 0},
	{"어제", KW_DATE_REL, -1}, {"어저께", KW_DATE_REL, -1}, {"어젯밤", KW_DATE_REL, -1},
	{"그제", KW_DATE_REL, -2}, {"그저께", KW_DATE_REL, -2}, {"엊그제", KW_DATE_REL, -2}, {"엊그저께", KW_DATE_REL, -2},
	{"이틀 전", KW_DATE_REL, -2}, {"이틀전", KW_DATE_REL, -2}, {"사흘 전", KW_DATE_REL, -3}, {"사흘전", KW_DATE_REL, -3},
	{"나흘 전", KW_DATE_REL, -4}, {"나흘전", KW_DATE_REL, -4}, {"일주일 전", KW_DATE_REL, -7}, {"일주일전", KW_DATE_REL, -7},
	{"내일", KW_DATE_FUTURE, 1}, {"모레", KW_DATE_FUTURE, 2}, {"내일모레", KW_DATE_FUTURE, 2}, {"글피", KW_DATE_FUTURE, 3},
	{"지난주", KW_WEEK, -1}, {"지난 주", KW_WEEK, -1}, {"저번주", KW_WEEK, -1}, {"저번 주", KW_WEEK, -1},
	{"지지난주", KW_WEEK, -2}, {"저저번주", KW_WEEK, -2},
	{"이번주", KW_WEEK, 0}, {"이번 주", KW_WEEK, 0}, {"금주", KW_WEEK, 0},
	{"다음주", KW_WEEK, 1}, {"다음 주", KW_WEEK, 1},
	{"월요일", KW_WEEKDAY, 1}, {"화요일", KW_WEEKDAY, 2}, {"수요일", KW_WEEKDAY, 3}, {"목요일", KW_WEEKDAY, 4},
	{"금요일", KW_WEEKDAY, 5}, {"토요일", KW_WEEKDAY, 6}, {"일요일", KW_WEEKDAY, 7},
	{"월욜", KW_WEEKDAY, 1}, {"화욜", KW_WEEKDAY, 2}, {"수욜", KW_WEEKDAY, 3}, {"목욜", KW_WEEKDAY, 4},
	{"금욜", KW_WEEKDAY, 5}, {"토욜", KW_WEEKDAY, 6}, {"일욜", KW_WEEKDAY, 7},
	{"지난달", KW_MONTH, -1}, {"지난 달", KW_MONTH, -1}, {"저번달", KW_MONTH, -1}, {"저번 달", KW_MONTH, -1},
	{"지지난달", KW_MONTH, -2}, {"이번달", KW_MONTH, 0}, {"이번 달", KW_MONTH, 0}, {"이달", KW_MONTH, 0},
	{"다음달", KW_MONTH, 1}, {"다음 달", KW_MONTH, 1},

	/* kinds */
	{"받았", KW_INCOME_VERB, 0}, {"받음", KW_INCOME_VERB, 0}, {"받아", KW_INCOME_VERB, 0}, {"받은", KW_INCOME_VERB, 0},
	{"받고", KW_INCOME_VERB, 0}, {"받다", KW_INCOME_VERB, 0}, {"벌었", KW_INCOME_VERB, 0}, {"벌음", KW_INCOME_VERB, 0},
	{"입금", KW_INCOME_VERB, 0}, {"들어왔", KW_INCOME_VERB, 0}, {"생겼", KW_INCOME_VERB, 0}, {"주셨", KW_INCOME_VERB, 0},
	{"주심", KW_INCOME_VERB, 0}, {"팔았", KW_INCOME_VERB, 0}, {"환불받", KW_INCOME_VERB, 0},
	{"줬", KW_GIVE_VERB, 0}, {"주었", KW_GIVE_VERB, 0},
	{"썼", KW_EXPENSE_VERB, 0}, {"씀", KW_EXPENSE_VERB, 0}, {"쓴", KW_EXPENSE_VERB, 0}, {"샀", KW_EXPENSE_VERB, 0},
	{"사서", KW_EXPENSE_VERB, 0}, {"사먹", KW_EXPENSE_VERB, 0}, {"사 먹", KW_EXPENSE_VERB, 0}, {"결제", KW_EXPENSE_VERB, 0},
	{"냈", KW_EXPENSE_VERB, 0}, {"내고", KW_EXPENSE_VERB, 0}, {"지출", KW_EXPENSE_VERB, 0}, {"사용", KW_EXPENSE_VERB, 0},
	{"계산", KW_EXPENSE_VERB, 0}, {"충전", KW_EXPENSE_VERB, 0}, {"먹었", KW_EXPENSE_VERB, 0}, {"마셨", KW_EXPENSE_VERB, 0},
	{"구매", KW_EXPENSE_VERB, 0}, {"구입", KW_EXPENSE_VERB, 0}, {"질렀", KW_EXPENSE_VERB, 0}, {"긁었", KW_EXPENSE_VERB, 0},
	{"쐈", KW_EXPENSE_VERB, 0}, {"사줬", KW_EXPENSE_VERB, 0}, {"사 줬", KW_EXPENSE_VERB, 0}, {"나갔", KW_EXPENSE_VERB, 0},
	{"용돈", KW_INCOME_NOUN, C_ALLOWANCE}, {"세뱃돈", KW_INCOME_NOUN, C_ALLOWANCE}, {"세배돈", KW_INCOME_NOUN, C_ALLOWANCE},
	{"월급", KW_INCOME_NOUN, C_OTHER_INCOME}, {"알바비", KW_INCOME_NOUN, C_OTHER_INCOME},
	{"상금", KW_INCOME_NOUN, C_OTHER_INCOME}, {"장학금", KW_INCOME_NOUN, C_OTHER_INCOME},
	{"환불", KW_INCOME_NOUN, C_OTHER_INCOME}, {"캐시백", KW_INCOME_NOUN, C_OTHER_INCOME},
	{"이자", KW_INCOME_NOUN, C_OTHER_INCOME},
	{"할머니", KW_GIVER, 0}, {"할아버지", KW_GIVER, 0}, {"엄마", KW_GIVER, 0}, {"아빠", KW_GIVER, 0},
	{"부모님", KW_GIVER, 0}, {"이모", KW_GIVER, 0}, {"삼촌", KW_GIVER, 0}, {"고모", KW_GIVER, 0},
	{"외삼촌", KW_GIVER, 0}, {"큰아빠", KW_GIVER, 0}, {"친척", KW_GIVER, 0},

	/* expense categories */
	{"밥", KW_CATEGORY, C_FOOD}, {"점심", KW_CATEGORY, C_FOOD + WEAK_CATEGORY}, {"저녁", KW_CATEGORY, C_FOOD + WEAK_CATEGORY},
	{"아침", KW_CATEGORY, C_FOOD + WEAK_CATEGORY}, {"식사", KW_CATEGORY, C_FOOD}, {"떡볶이", KW_CATEGORY, C_FOOD},
	{"김밥", KW_CATEGORY, C_FOOD}, {"라면", KW_CATEGORY, C_FOOD}, {"치킨", KW_CATEGORY, C_FOOD},
	{"피자", KW_CATEGORY, C_FOOD}, {"햄버거", KW_CATEGORY, C_FOOD}, {"버거", KW_CATEGORY, C_FOOD},
	{"분식", KW_CATEGORY, C_FOOD}, {"도시락", KW_CATEGORY, C_FOOD}, {"빵", KW_CATEGORY, C_FOOD},
	{"과자", KW_CATEGORY, C_FOOD}, {"간식", KW_CATEGORY, C_FOOD}, {"아이스크림", KW_CATEGORY, C_FOOD},
	{"짜장면", KW_CATEGORY, C_FOOD}, {"짬뽕", KW_CATEGORY, C_FOOD}, {"돈까스", KW_CATEGORY, C_FOOD},
	{"돈가스", KW_CATEGORY, C_FOOD}, {"초밥", KW_CATEGORY, C_FOOD}, {"국밥", KW_CATEGORY, C_FOOD},
	{"샌드위치", KW_CATEGORY, C_FOOD}, {"마라탕", KW_CATEGORY, C_FOOD}, {"탕후루", KW_CATEGORY, C_FOOD},
	{"젤리", KW_CATEGORY, C_FOOD}, {"사탕", KW_CATEGORY, C_FOOD}, {"초콜릿", KW_CATEGORY, C_FOOD},
	{"핫도그", KW_CATEGORY, C_FOOD}, {"순대", KW_CATEGORY, C_FOOD}, {"어묵", KW_CATEGORY, C_FOOD},
	{"만두", KW_CATEGORY, C_FOOD}, {"붕어빵", KW_CATEGORY, C_FOOD}, {"삼각김밥", KW_CATEGORY, C_FOOD},
	{"컵라면", KW_CATEGORY, C_FOOD}, {"과일", KW_CATEGORY, C_FOOD}, {"배달", KW_CATEGORY, C_FOOD},
	{"외식", KW_CATEGORY, C_FOOD}, {"식당", KW_CATEGORY, C_FOOD}, {"급식", KW_CATEGORY, C_FOOD},
	{"커피", KW_CATEGORY, C_CAFE}, {"카페", KW_CATEGORY, C_CAFE}, {"음료", KW_CATEGORY, C_CAFE},
	{"주스", KW_CATEGORY, C_CAFE}, {"쥬스", KW_CATEGORY, C_CAFE}, {"버블티", KW_CATEGORY, C_CAFE},
	{"밀크티", KW_CATEGORY, C_CAFE}, {"라떼", KW_CATEGORY, C_CAFE}, {"아메리카노", KW_CATEGORY, C_CAFE},
	{"스무디", KW_CATEGORY, C_CAFE}, {"에이드", KW_CATEGORY, C_CAFE}, {"콜라", KW_CATEGORY, C_CAFE},
	{"사이다", KW_CATEGORY, C_CAFE}, {"빙수", KW_CATEGORY, C_CAFE}, {"케이크", KW_CATEGORY, C_CAFE},
	{"편의점", KW_CATEGORY, C_CONVENIENCE},
	{"버스", KW_CATEGORY, C_TRANSIT}, {"지하철", KW_CATEGORY, C_TRANSIT}, {"택시", KW_CATEGORY, C_TRANSIT},
	{"교통", KW_CATEGORY, C_TRANSIT}, {"기차", KW_CATEGORY, C_TRANSIT}, {"ktx", KW_CATEGORY, C_TRANSIT},
	{"킥보드", KW_CATEGORY, C_TRANSIT}, {"차비", KW_CATEGORY, C_TRANSIT},
	{"옷", KW_CATEGORY, C_SHOPPING}, {"신발", KW_CATEGORY, C_SHOPPING}, {"가방", KW_CATEGORY, C_SHOPPING},
	{"쇼핑", KW_CATEGORY, C_SHOPPING}, {"티셔츠", KW_CATEGORY, C_SHOPPING}, {"바지", KW_CATEGORY, C_SHOPPING},
	{"양말", KW_CATEGORY, C_SHOPPING}, {"모자", KW_CATEGORY, C_SHOPPING}, {"인형", KW_CATEGORY, C_SHOPPING},
	{"장난감", KW_CATEGORY, C_SHOPPING}, {"화장품", KW_CATEGORY, C_SHOPPING}, {"머리핀", KW_CATEGORY, C_SHOPPING},
	{"필통", KW_CATEGORY, C_SHOPPING}, {"스티커", KW_CATEGORY, C_SHOPPING}, {"키링", KW_CATEGORY, C_SHOPPING},
	{"백화점", KW_CATEGORY, C_SHOPPING}, {"마트", KW_CATEGORY, C_SHOPPING}, {"액세서리", KW_CATEGORY, C_SHOPPING},
	/* clothing and shoes (issue 10) */
	{"의류", KW_CATEGORY, C_SHOPPING}, {"옷값", KW_CATEGORY, C_SHOPPING}, {"패딩", KW_CATEGORY, C_SHOPPING},
	{"롱패딩", KW_CATEGORY, C_SHOPPING}, {"점퍼", KW_CATEGORY, C_SHOPPING}, {"잠바", KW_CATEGORY, C_SHOPPING},
	{"자켓", KW_CATEGORY, C_SHOPPING}, {"재킷", KW_CATEGORY, C_SHOPPING}, {"바람막이", KW_CATEGORY, C_SHOPPING},
	{"코트", KW_CATEGORY, C_SHOPPING}, {"후드티", KW_CATEGORY, C_SHOPPING}, {"후드", KW_CATEGORY, C_SHOPPING},
	{"맨투맨", KW_CATEGORY, C_SHOPPING}, {"셔츠", KW_CATEGORY, C_SHOPPING}, {"블라우스", KW_CATEGORY, C_SHOPPING},
	{"니트", KW_CATEGORY, C_SHOPPING}, {"스웨터", KW_CATEGORY, C_SHOPPING}, {"가디건", KW_CATEGORY, C_SHOPPING},
	{"조끼", KW_CATEGORY, C_SHOPPING}, {"반팔", KW_CATEGORY, C_SHOPPING}, {"긴팔", KW_CATEGORY, C_SHOPPING},
	{"청바지", KW_CATEGORY, C_SHOPPING}, {"반바지", KW_CATEGORY, C_SHOPPING}, {"슬랙스", KW_CATEGORY, C_SHOPPING},
	{"레깅스", KW_CATEGORY, C_SHOPPING}, {"치마", KW_CATEGORY, C_SHOPPING}, {"스커트", KW_CATEGORY, C_SHOPPING},
	{"원피스", KW_CATEGORY, C_SHOPPING}, {"트레이닝복", KW_CATEGORY, C_SHOPPING}, {"츄리닝", KW_CATEGORY, C_SHOPPING},
	{"체육복", KW_CATEGORY, C_SHOPPING}, {"교복", KW_CATEGORY, C_SHOPPING}, {"잠옷", KW_CATEGORY, C_SHOPPING},
	{"속옷", KW_CATEGORY, C_SHOPPING}, {"내복", KW_CATEGORY, C_SHOPPING}, {"수영복", KW_CATEGORY, C_SHOPPING},
	{"운동화", KW_CATEGORY, C_SHOPPING}, {"구두", KW_CATEGORY, C_SHOPPING}, {"부츠", KW_CATEGORY, C_SHOPPING},
	{"샌들", KW_CATEGORY, C_SHOPPING}, {"슬리퍼", KW_CATEGORY, C_SHOPPING}, {"크록스", KW_CATEGORY, C_SHOPPING},
	{"실내화", KW_CATEGORY, C_SHOPPING}, {"장갑", KW_CATEGORY, C_SHOPPING}, {"목도리", KW_CATEGORY, C_SHOPPING},
	{"머플러", KW_CATEGORY, C_SHOPPING}, {"벨트", KW_CATEGORY, C_SHOPPING}, {"지갑", KW_CATEGORY, C_SHOPPING},
	{"우산", KW_CATEGORY, C_SHOPPING}, {"귀걸이", KW_CATEGORY, C_SHOPPING}, {"목걸이", KW_CATEGORY, C_SHOPPING},
	{"팔찌", KW_CATEGORY, C_SHOPPING}, {"머리끈", KW_CATEGORY, C_SHOPPING},
	{"영화", KW_CATEGORY, C_CULTURE}, {"노래방", KW_CATEGORY, C_CULTURE}, {"pc방", KW_CATEGORY, C_CULTURE},
	{"피시방", KW_CATEGORY, C_CULTURE}, {"피씨방", KW_CATEGORY, C_CULTURE}, {"게임", KW_CATEGORY, C_CULTURE},
	{"놀이공원", KW_CATEGORY, C_CULTURE}, {"콘서트", KW_CATEGORY, C_CULTURE}, {"공연", KW_CATEGORY, C_CULTURE},
	{"볼링", KW_CATEGORY, C_CULTURE}, {"만화", KW_CATEGORY, C_CULTURE}, {"웹툰", KW_CATEGORY, C_CULTURE},
	{"방탈출", KW_CATEGORY, C_CULTURE}, {"전시", KW_CATEGORY, C_CULTURE}, {"박물관", KW_CATEGORY, C_CULTURE},
	{"수영장", KW_CATEGORY, C_CULTURE}, {"찜질방", KW_CATEGORY, C_CULTURE}, {"아이템", KW_CATEGORY, C_CULTURE},
	{"현질", KW_CATEGORY, C_CULTURE}, {"앨범", KW_CATEGORY, C_CULTURE}, {"굿즈", KW_CATEGORY, C_CULTURE},
	{"포카", KW_CATEGORY, C_CULTURE}, {"오락실", KW_CATEGORY, C_CULTURE}, {"인형뽑기", KW_CATEGORY, C_CULTURE},
	{"책", KW_CATEGORY, C_EDUCATION}, {"문제집", KW_CATEGORY, C_EDUCATION}, {"학원", KW_CATEGORY, C_EDUCATION},
	{"교재", KW_CATEGORY, C_EDUCATION}, {"공책", KW_CATEGORY, C_EDUCATION}, {"노트", KW_CATEGORY, C_EDUCATION},
	{"연필", KW_CATEGORY, C_EDUCATION}, {"볼펜", KW_CATEGORY, C_EDUCATION}, {"필기구", KW_CATEGORY, C_EDUCATION},
	{"학용품", KW_CATEGORY, C_EDUCATION}, {"참고서", KW_CATEGORY, C_EDUCATION}, {"도서", KW_CATEGORY, C_EDUCATION},
	{"인강", KW_CATEGORY, C_EDUCATION}, {"준비물", KW_CATEGORY, C_EDUCATION}, {"학습지", KW_CATEGORY, C_EDUCATION},
	{"수업료", KW_CATEGORY, C_EDUCATION}, {"문구", KW_CATEGORY, C_EDUCATION},
	{"병원", KW_CATEGORY, C_HEALTH}, {"약국", KW_CATEGORY, C_HEALTH}, {"감기약", KW_CATEGORY, C_HEALTH},
	{"두통약", KW_CATEGORY, C_HEALTH}, {"약값", KW_CATEGORY, C_HEALTH}, {"치과", KW_CATEGORY, C_HEALTH},
	{"안과", KW_CATEGORY, C_HEALTH}, {"피부과", KW_CATEGORY, C_HEALTH}, {"진료", KW_CATEGORY, C_HEALTH},
	{"마스크", KW_CATEGORY, C_HEALTH}, {"파스", KW_CATEGORY, C_HEALTH}, {"비타민", KW_CATEGORY, C_HEALTH},
	{"영양제", KW_CATEGORY, C_HEALTH},
	{"휴대폰", KW_CATEGORY, C_TELECOM}, {"핸드폰", KW_CATEGORY, C_TELECOM}, {"폰요금", KW_CATEGORY, C_TELECOM},
	{"통신비", KW_CATEGORY, C_TELECOM}, {"데이터", KW_CATEGORY, C_TELECOM}, {"요금제", KW_CATEGORY, C_TELECOM},
	{"폰비", KW_CATEGORY, C_TELECOM},
	{"선물", KW_CATEGORY, C_GIFT}, {"생일", KW_CATEGORY, C_GIFT}, {"축의금", KW_CATEGORY, C_GIFT},
	{"조의금", KW_CATEGORY, C_GIFT}, {"부조", KW_CATEGORY, C_GIFT}, {"경조사", KW_CATEGORY, C_GIFT},
	{"꽃다발", KW_CATEGORY, C_GIFT}, {"꽃", KW_CATEGORY, C_GIFT},
	{"저금", KW_CATEGORY, C_SAVING}, {"저축", KW_CATEGORY, C_SAVING}, {"적금", KW_CATEGORY, C_SAVING},
	{"예금", KW_CATEGORY, C_SAVING}, {"투자", KW_CATEGORY, C_SAVING}, {"주식", KW_CATEGORY, C_SAVING},
	{"펀드", KW_CATEGORY, C_SAVING},
	{"기부", KW_CATEGORY, C_DONATION}, {"후원", KW_CATEGORY, C_DONATION}, {"헌금", KW_CATEGORY, C_DONATION},
	{"성금", KW_CATEGORY, C_DONATION}, {"모금", KW_CATEGORY, C_DONATION},
	/* longer words that contain a shorter keyword of another meaning */
	{"이모티콘", KW_CATEGORY, C_CULTURE}, {"노트북", KW_CATEGORY, C_SHOPPING}, {"지우개", KW_CATEGORY, C_EDUCATION},
	{"책상", KW_CATEGORY, C_SHOPPING}, {"세븐틴", KW_CATEGORY, C_CULTURE}, {"스마트폰", KW_CATEGORY, C_TELECOM}, {"아니면", KW_FILLER, 0},

	/* intents */
	{"취소", KW_DELETE, 0}, {"삭제", KW_DELETE, 0}, {"지워", KW_DELETE, 0}, {"지우", KW_DELETE, 0},
	{"없던 걸로", KW_DELETE, 0}, {"없던걸로", KW_DELETE, 0}, {"빼줘", KW_DELETE, 0}, {"빼 줘", KW_DELETE, 0},
	{"아니", KW_MODIFY, 0}, {"아냐", KW_MODIFY, 0}, {"수정", KW_MODIFY, 0}, {"고쳐", KW_MODIFY, 0},
	{"바꿔", KW_MODIFY, 0}, {"정정", KW_MODIFY, 0}, {"잘못", KW_MODIFY, 0}, {"틀렸", KW_MODIFY, 0},
	{"변경", KW_MODIFY, 0}, {"바꾸", KW_MODIFY, 0}, {"고치", KW_MODIFY, 0},
	{"말고", KW_PIVOT, 0}, {"말구", KW_PIVOT, 0}, {"아니고", KW_PIVOT, 0}, {"아니구", KW_PIVOT, 0},
	{"아니라", KW_PIVOT, 0}, {"아닌데", KW_PIVOT, 0},
	{"이었어", KW_COPULA, 0}, {"였어", KW_COPULA, 0}, {"이었음", KW_COPULA, 0}, {"였음", KW_COPULA, 0},
	{"이었다", KW_COPULA, 0}, {"였다", KW_COPULA, 0}, {"이었고", KW_COPULA, 0}, {"였고", KW_COPULA, 0},
	{"이라고", KW_COPULA, 0},
	{"얼마", KW_QUERY, 0}, {"합계", KW_QUERY, 0}, {"내역", KW_QUERY, 0}, {"조회", KW_QUERY, 0},
	{"알려줘", KW_QUERY, 0}, {"알려 줘", KW_QUERY, 0}, {"보여줘", KW_QUERY, 0}, {"보여 줘", KW_QUERY, 0},
	{"총액", KW_QUERY, 0}, {"통계", KW_QUERY, 0},
	{"몇 번", KW_Q_COUNT, 0}, {"몇번", KW_Q_COUNT, 0}, {"몇 회", KW_Q_COUNT, 0}, {"몇회", KW_Q_COUNT, 0},
	{"횟수", KW_Q_COUNT, 0}, {"어디", KW_Q_WHERE, 0}, {"어느 가게", KW_Q_WHERE, 0},
	{"뭐에", KW_Q_WHAT, 0}, {"뭐", KW_Q_WHAT, 0}, {"무엇", KW_Q_WHAT, 0}, {"무슨", KW_Q_WHAT, 0},
	{"어떤", KW_Q_WHAT, 0}, {"항목", KW_Q_WHAT, 0}, {"카테고리", KW_Q_WHAT, 0}, {"분야", KW_Q_WHAT, 0},
	{"제일", KW_Q_MOST, 0}, {"가장", KW_Q_MOST, 0}, {"젤", KW_Q_MOST, 0}, {"많이", KW_Q_MUCH, 0},
	{"했어", KW_FILLER, 0}, {"했음", KW_FILLER, 0}, {"했다", KW_FILLER, 0}, {"했고", KW_FILLER, 0},
	{"했는데", KW_FILLER, 0}, {"해줘", KW_FILLER, 0}, {"해 줘", KW_FILLER, 0}, {"입력", KW_FILLER, 0},
	{"기록", KW_FILLER, 0}, {"적어", KW_FILLER, 0}, {"등록", KW_FILLER, 0}, {"저장", KW_FILLER, 0}
};

/* memo fragments dropped beside a consumed word, and whole filler tokens */
static const char *const particles[] = {
	"에서", "에", "에선", "에서는", "으로", "로", "을", "를", "이", "가", "은", "는", "도", "만", "한테", "한테서",
	"에게", "에게서", "께", "께서", "랑", "이랑", "하고", "짜리", "어치", "의", "서", "까지", "부터", "쯤", "정도",
	"요", "이요", "이에요", "예요", "야", "이야", "거", "것", "꺼", "게", "엔", "에는", "에도", "으로는", "로는",
	"씩", "이나", "나", "쯤에", "에요", "임", "이고", "고", "인데", "는데", "네", "지", "죠"
};
/* particles stripped from the end of any memo word: unambiguous ones only */
static const char *const trailing_particles[] = {
	"에서는", "에서도", "에서", "한테서", "에게서", "으로", "을", "를"
};
static const char *const fillers[] = {
	"거", "것", "꺼", "좀", "그리고", "정도", "쯤", "약", "원", "총", "모두", "전부", "그냥", "어", "음", "아",
	"그거", "이거", "저거", "방금거", "나", "내가", "저", "제가", "돈", "해서", "하고", "다", "또"
};

/* ---------------------------------------------------------------------
 * UTF-8 and dictionaries
 * --------------------------------------------------------------------- */

#define HANGUL_FIRST 0xAC00
#define HANGUL_LAST 0xD7A3
#define LEDGER_SLOTS (128 + (HANGUL_LAST - HANGUL_FIRST + 1) + 1)

static inline int
u8_decode(const unsigned char *s, int n, int i, int32 *cp)
{
	unsigned char c = s[i];

	if (c < 0x80)
	{
		*cp = c;
		return 1;
	}
	if ((c & 0xE0) == 0xC0 && i + 1 < n)
	{
		*cp = ((c & 0x1F) << 6) | (s[i + 1] & 0x3F);
		return 2;
	}
	if ((c & 0xF0) == 0xE0 && i + 2 < n)
	{
		*cp = ((c & 0x0F) << 12) | ((s[i + 1] & 0x3F) << 6) | (s[i + 2] & 0x3F);
		return 3;
	}
	if ((c & 0xF8) == 0xF0 && i + 3 < n)
	{
		*cp = ((c & 0x07) << 18) | ((s[i + 1] & 0x3F) << 12) | ((s[i + 2] & 0x3F) << 6) | (s[i + 3] & 0x3F);
		return 4;
	}
	*cp = 0xFFFD;
	return 1;
}

static inline int32
cp_at(const unsigned char *s, int n, int i)
{
	int32		cp = 0;

	if (i >= n)
		return 0;
	u8_decode(s, n, i, &cp);
	return cp;
}

/* the character before position i, 0 at the start */
static inline int32
prev_cp(const unsigned char *s, int i)
{
	int			k = i - 1;
	int32		cp = 0;

	if (i <= 0)
		return 0;
	while (k > 0 && (s[k] & 0xC0) == 0x80)
		k--;
	u8_decode(s, i, k, &cp);
	return cp;
}

static inline int
slot_of(int32 cp)
{
	if (cp < 128)
		return cp;
	if (cp >= HANGUL_FIRST && cp <= HANGUL_LAST)
		return 128 + cp - HANGUL_FIRST;
	return LEDGER_SLOTS - 1;
}

static inline bool
is_ascii_alnum(int32 c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static inline bool
is_space(int32 c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == 0x3000 || c == 0xA0;
}

static inline bool
is_hangul(int32 c)
{
	return c >= HANGUL_FIRST && c <= HANGUL_LAST;
}

typedef struct dict_entry
{
	const char *s;
	int16		len;
	int16		type;
	int32		value;
	bool		ascii_start;	/* needs a word boundary before it */
	bool		ascii_end;		/* needs a word boundary after it */
} dict_entry;

struct ledger_dict
{
	int			n;
	dict_entry *e;
	int32	   *head;			/* LEDGER_SLOTS + 1: entries of slot k are e[head[k] .. head[k+1]) */
	int			nmerchants;
	const char **names;
	const char **categories;
};

static int
entry_cmp(const void *a, const void *b)
{
	const dict_entry *x = a;
	const dict_entry *y = b;
	int			sx = slot_of(cp_at((const unsigned char *) x->s, x->len, 0));
	int			sy = slot_of(cp_at((const unsigned char *) y->s, y->len, 0));

	if (sx != sy)
		return sx < sy ? -1 : 1;
	if (x->len != y->len)
		return x->len > y->len ? -1 : 1;
	return 0;
}

/* sort the entries and index them by first character; in the current memory context */
static void
dict_index(ledger_dict *d)
{
	int32	   *count = palloc0(sizeof(int32) * (LEDGER_SLOTS + 1));

	qsort(d->e, d->n, sizeof(dict_entry), entry_cmp);
	for (int k = 0; k < d->n; k++)
	{
		const unsigned char *s = (const unsigned char *) d->e[k].s;

		count[slot_of(cp_at(s, d->e[k].len, 0)) + 1]++;
		d->e[k].ascii_start = is_ascii_alnum(s[0]);
		d->e[k].ascii_end = is_ascii_alnum(s[d->e[k].len - 1]);
	}
	for (int k = 1; k <= LEDGER_SLOTS; k++)
		count[k] += count[k - 1];
	d->head = count;
}

/* the longest entry of d matching s at i (whose first character is cp), or NULL */
static inline const dict_entry *
dict_match(const ledger_dict *d, const unsigned char *s, int n, int i, int32 cp)
{
	int			slot;

	if (d == NULL || d->n == 0)
		return NULL;
	slot = slot_of(cp);
	for (int k = d->head[slot]; k < d->head[slot + 1]; k++)
	{
		const dict_entry *e = &d->e[k];

		if (e->len > n - i || memcmp(s + i, e->s, e->len) != 0)
			continue;
		if (e->ascii_start && i > 0 && is_ascii_alnum(s[i - 1]))
			continue;
		if (e->ascii_end && i + e->len < n && is_ascii_alnum(s[i + e->len]))
			continue;
		return e;
	}
	return NULL;
}

static ledger_dict *keyword_dict;

static void
load_keywords(void)
{
	MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
	ledger_dict *d = palloc0(sizeof(ledger_dict));

	d->n = lengthof(keywords);
	d->e = palloc0(sizeof(dict_entry) * d->n);
	for (int k = 0; k < d->n; k++)
	{
		d->e[k].s = keywords[k].s;
		d->e[k].len = strlen(keywords[k].s);
		d->e[k].type = keywords[k].type;
		d->e[k].value = keywords[k].value;
	}
	dict_index(d);
	MemoryContextSwitchTo(old);
	keyword_dict = d;
}

/*
 * Merchant dictionaries.  The global one (family_id IS NULL) is valid until
 * the relcache callback sees stockking.merchant change; the family one is
 * also re-read in every new transaction and for every other user.
 */
static MemoryContext global_cxt;
static ledger_dict *global_dict;
static bool global_valid;
static MemoryContext family_cxt;
static ledger_dict *family_dict;
static bool family_valid;
static LocalTransactionId family_lxid;
static char family_user[64];
static Oid	merchant_relid = InvalidOid;
static bool callback_registered;

static void
merchant_inval_callback(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == merchant_relid)
	{
		global_valid = false;
		family_valid = false;
	}
}

/* read merchants with SPI into a new dictionary in cxt; NULL when there are none */
static ledger_dict *
read_merchants(const char *sql, MemoryContext cxt)
{
	ledger_dict *d = NULL;
	MemoryContext old;
	uint64		rows;
	int			merchants = 0;
	char	   *last_id = NULL;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute(sql, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read stockking.merchant");
	rows = SPI_processed;
	old = MemoryContextSwitchTo(cxt);
	if (rows > 0)
	{
		d = palloc0(sizeof(ledger_dict));
		d->e = palloc0(sizeof(dict_entry) * rows);
		d->names = palloc0(sizeof(char *) * rows);
		d->categories = palloc0(sizeof(char *) * rows);
		merchant_relid = (Oid) DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 5,
															  &(bool) {false}));
		for (uint64 r = 0; r < rows; r++)
		{
			char	   *id = SPI_getvalue(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1);
			char	   *alias = SPI_getvalue(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 4);
			dict_entry *e;

			if (last_id == NULL || strcmp(id, last_id) != 0)
			{
				d->names[merchants] = SPI_getvalue(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 2);
				d->categories[merchants] = SPI_getvalue(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 3);
				merchants++;
				last_id = id;
			}
			if (alias == NULL || alias[0] == '\0')
				continue;
			for (char *p = alias; *p; p++)
				if (*p >= 'A' && *p <= 'Z')
					*p += 'a' - 'A';
			e = &d->e[d->n++];
			e->s = alias;
			e->len = Min(strlen(alias), PG_INT16_MAX);
			e->type = KW_MERCHANT;
			e->value = merchants - 1;
		}
		d->nmerchants = merchants;
		dict_index(d);
	}
	MemoryContextSwitchTo(old);
	SPI_finish();
	return d;
}

#define MERCHANT_SQL \
	"SELECT m.id, m.name, m.category, a.alias, 'stockking.merchant'::regclass::oid" \
	" FROM stockking.merchant m CROSS JOIN LATERAL unnest(array_prepend(m.name, m.aliases)) a (alias)" \
	" WHERE "

void
ledger_dicts(const ledger_dict **global, const ledger_dict **family)
{
	const char *uid;

	if (keyword_dict == NULL)
		load_keywords();
	if (!callback_registered)
	{
		CacheRegisterRelcacheCallback(merchant_inval_callback, (Datum) 0);
		callback_registered = true;
	}
	if (!global_valid)
	{
		if (global_cxt == NULL)
			global_cxt = AllocSetContextCreate(TopMemoryContext, "ledger merchants", ALLOCSET_DEFAULT_SIZES);
		MemoryContextReset(global_cxt);
		global_dict = NULL;
		global_valid = true;	/* a change during the read invalidates it again */
		PG_TRY();
		{
			global_dict = read_merchants(MERCHANT_SQL "m.family_id IS NULL ORDER BY m.id", global_cxt);
		}
		PG_CATCH();
		{
			global_valid = false;
			PG_RE_THROW();
		}
		PG_END_TRY();
	}
	*global = global_dict;

	uid = sk_current_user();
	if (uid == NULL || strlen(uid) >= sizeof(family_user))
	{
		*family = NULL;
		return;
	}
	if (!family_valid || family_lxid != MyProc->lxid || strcmp(family_user, uid) != 0)
	{
		if (family_cxt == NULL)
			family_cxt = AllocSetContextCreate(TopMemoryContext, "ledger family merchants", ALLOCSET_SMALL_SIZES);
		MemoryContextReset(family_cxt);
		family_dict = NULL;
		family_valid = false;
		family_dict = read_merchants(MERCHANT_SQL "m.family_id = stockking.my_family() ORDER BY m.id", family_cxt);
		family_valid = true;
		family_lxid = MyProc->lxid;
		strlcpy(family_user, uid, sizeof(family_user));
	}
	*family = family_dict;
}

/* ---------------------------------------------------------------------
 * Dates
 * --------------------------------------------------------------------- */

static inline DateADT
mkdate(int y, int m, int d)
{
	return date2j(y, m, d) - POSTGRES_EPOCH_JDATE;
}

static inline void
splitdate(DateADT dt, int *y, int *m, int *d)
{
	j2date(dt + POSTGRES_EPOCH_JDATE, y, m, d);
}

static inline int
month_days(int y, int m)
{
	static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return days[m - 1];
}

/* ISO weekday 1 (Monday) .. 7 (Sunday) */
static inline int
isodow(DateADT dt)
{
	return (j2day(dt + POSTGRES_EPOCH_JDATE) + 6) % 7 + 1;
}

/* the first day of the month k months from dt's month */
static DateADT
month_start(DateADT dt, int k)
{
	int			y,
				m,
				d;
	int			idx;

	splitdate(dt, &y, &m, &d);
	idx = y * 12 + (m - 1) + k;
	return mkdate(idx / 12, idx % 12 + 1, 1);
}

static DateADT
month_end(DateADT dt, int k)
{
	return month_start(dt, k + 1) - 1;
}

/* ---------------------------------------------------------------------
 * The scan
 * --------------------------------------------------------------------- */

typedef enum item_type
{
	IT_KEYWORD,					/* a dictionary word: kw = its type */
	IT_DATE,					/* value = DateADT; aux = date flags */
	IT_AMOUNT,					/* value = won (or -1: too large); aux = quality 1..3 */
	IT_MONTH_ABS,				/* value = month 1..12 ("3월에") */
	IT_TIME						/* a time of day (3시 반): consumed, not used */
} item_type;

#define DF_EXPLICIT_FUTURE	0x01	/* a stated date after the reference date: refused */
#define DF_VAGUE			0x02
#define DF_PREVIOUS_YEAR	0x04
#define DF_BAD				0x08	/* names a day that does not exist */
#define DF_JUST_NOW			0x10	/* 방금: today; in a correction or a deletion, "the latest" */

#define MAX_ITEMS 48

typedef struct item
{
	int16		type;
	int16		kw;
	int			start;
	int			end;
	int64		value;
	int32		aux;
	const ledger_dict *dict;	/* of a merchant */
} item;

typedef struct pstate
{
	const unsigned char *s;		/* the sentence, ASCII lowered */
	int			n;
	DateADT		ref;
	item		items[MAX_ITEMS];
	int			nitems;
	bool		consumed[LEDGER_MEMO_BUF];
	DateADT		bad_date_value;
} pstate;

static item *
add_item(pstate *st, int type, int kw, int start, int end, int64 value, int32 aux)
{
	item	   *it;

	if (st->nitems >= MAX_ITEMS)
		return NULL;
	it = &st->items[st->nitems++];
	it->type = type;
	it->kw = kw;
	it->start = start;
	it->end = end;
	it->value = value;
	it->aux = aux;
	it->dict = NULL;
	return it;
}

static inline bool
is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* skip spaces from i; returns the new position */
static inline int
skip_spaces(const unsigned char *s, int n, int i)
{
	while (i < n && s[i] == ' ')
		i++;
	return i;
}

/* does s at i start with the UTF-8 word w? */
static inline bool
starts(const unsigned char *s, int n, int i, const char *w)
{
	int			len = strlen(w);

	return i + len <= n && memcmp(s + i, w, len) == 0;
}

/* read up to max plain digits at i; returns the end, value in *v (-1 when none) */
static int
read_int(const unsigned char *s, int n, int i, int max, int64 *v)
{
	int64		x = 0;
	int			j = i;

	while (j < n && is_digit(s[j]) && j - i < max)
		x = x * 10 + (s[j++] - '0');
	*v = j > i ? x : -1;
	return j;
}

/* the previous item if only spaces lie between it and position i */
static item *
adjacent_prev(pstate *st, int i, int kw)
{
	item	   *p;

	if (st->nitems == 0)
		return NULL;
	p = &st->items[st->nitems - 1];
	if (p->type != IT_KEYWORD || p->kw != kw)
		return NULL;
	for (int k = p->end; k < i; k++)
		if (st->s[k] != ' ')
			return NULL;
	return p;
}

/* a calendar date y-m-d stated with its year */
static void
add_full_date(pstate *st, int start, int end, int y, int m, int d)
{
	int32		flags = 0;
	DateADT		dt = 0;

	if (y < 1900 || y > 2999 || m < 1 || m > 12 || d < 1 || d > month_days(y, m))
		flags |= DF_BAD;
	else
	{
		dt = mkdate(y, m, d);
		if (dt > st->ref)
			flags |= DF_EXPLICIT_FUTURE;
	}
	add_item(st, IT_DATE, 0, start, end, dt, flags);
}

/* month m, day d without a year: this year's, or last year's when that would be in the future */
static void
add_month_day(pstate *st, int start, int end, int m, int d)
{
	int			y,
				rm,
				rd;
	int32		flags = 0;
	DateADT		dt = 0;

	splitdate(st->ref, &y, &rm, &rd);
	if (m < 1 || m > 12 || d < 1 || d > 31)
		flags |= DF_BAD;
	else if (m > rm || (m == rm && d > rd))
	{
		y--;
		flags |= DF_PREVIOUS_YEAR;
	}
	if (!(flags & DF_BAD) && d > month_days(y, m))
		flags |= DF_BAD;
	if (!(flags & DF_BAD))
		dt = mkdate(y, m, d);
	add_item(st, IT_DATE, 0, start, end, dt, flags);
}

/* day d of the month k months from the reference month; k = INT_MIN: this month's or the previous month's */
static void
add_day_of_month(pstate *st, int start, int end, int k, int d)
{
	int32		flags = 0;
	DateADT		first;
	DateADT		dt = 0;
	int			y,
				m,
				dd;

	if (k == PG_INT32_MIN)
	{
		first = month_start(st->ref, 0);
		splitdate(first, &y, &m, &dd);
		if (d < 1 || d > 31)
			flags |= DF_BAD;
		else if (d > month_days(y, m) || first + d - 1 > st->ref)
		{
			first = month_start(st->ref, -1);
			splitdate(first, &y, &m, &dd);
			if (d > month_days(y, m))
				flags |= DF_BAD;
		}
	}
	else
	{
		first = month_start(st->ref, k);
		splitdate(first, &y, &m, &dd);
		if (d < 1 || d > month_days(y, m))
			flags |= DF_BAD;
	}
	if (!(flags & DF_BAD))
	{
		dt = first + d - 1;
		if (dt > st->ref)
			flags |= DF_EXPLICIT_FUTURE;
	}
	add_item(st, IT_DATE, 0, start, end, dt, flags);
}

/* Korean numerals */
static inline int
hangul_digit(int32 c)
{
	switch (c)
	{
		case 0xC77C:			/* 일 */
			return 1;
		case 0xC774:			/* 이 */
			return 2;
		case 0xC0BC:			/* 삼 */
			return 3;
		case 0xC0AC:			/* 사 */
			return 4;
		case 0xC624:			/* 오 */
			return 5;
		case 0xC721:			/* 육 */
			return 6;
		case 0xCE60:			/* 칠 */
			return 7;
		case 0xD314:			/* 팔 */
			return 8;
		case 0xAD6C:			/* 구 */
			return 9;
	}
	return -1;
}

static inline int64
small_unit(int32 c)
{
	switch (c)
	{
		case 0xC2ED:			/* 십 */
			return 10;
		case 0xBC31:			/* 백 */
			return 100;
		case 0xCC9C:			/* 천 */
			return 1000;
	}
	return 0;
}

static inline int64
big_unit(int32 c)
{
	if (c == 0xB9CC)			/* 만 */
		return 10000;
	if (c == 0xC5B5)			/* 억 */
		return 100000000;
	return 0;
}

#define WON 0xC6D0				/* 원 */
#define FIXED 100				/* amounts are read with two decimals: 3.5만 */
#define AMOUNT_CAP (INT64CONST(1000000000000000))	/* beyond: "too large" */
#define AMOUNT_TOO_LARGE PG_INT64_MIN

/* counters after a bare number that make it a count, not an amount */
static const char *const counters[] = {
	"개", "명", "잔", "병", "권", "장", "마리", "벌", "켤레", "인분", "번", "층", "살", "분", "초", "회", "등",
	"학년", "반", "호", "판", "봉", "캔", "줄", "조각", "그릇", "통", "팩", "박스", "세트", "km", "kg", "%",
	"퍼센트", "점", "곡", "편", "배", "위", "년", "시간", "개월", "주일", "일", "월", "주", "달", "시", "g", "ml", "cm"
};

static bool
counter_at(const unsigned char *s, int n, int i)
{
	i = skip_spaces(s, n, i);
	for (int k = 0; k < (int) lengthof(counters); k++)
		if (starts(s, n, i, counters[k]))
			return true;
	return false;
}

/* can a number continue after spaces at i ("2만 5천")? needs a digit or numeral followed by a small unit */
static bool
continues_after_space(const unsigned char *s, int n, int i)
{
	int32		c;
	int			cl;

	if (i >= n)
		return false;
	if (is_digit(s[i]))
	{
		while (i < n && is_digit(s[i]))
			i++;
		/* 2만 5천; 10억 1원 */
		return small_unit(cp_at(s, n, i)) != 0 || big_unit(cp_at(s, n, i)) != 0 ||
			cp_at(s, n, skip_spaces(s, n, i)) == WON;
	}
	cl = u8_decode(s, n, i, &c);
	if (small_unit(c))
		return true;
	if (hangul_digit(c) > 0)
		return small_unit(cp_at(s, n, i + cl)) != 0;
	return false;
}

/*
 * Read an amount at i: digits (commas in groups of three, up to two
 * decimals) and Korean units, Hangul numerals, then an optional 원.  Returns
 * the end (i when there is none) and fills *value (won x FIXED, or -1 when
 * too large) and the flags.
 */
static int
read_amount(const unsigned char *s, int n, int i, int64 *value, bool *has_digits, bool *has_unit, bool *has_won,
			bool *commas)
{
	int64		big = 0;
	int64		small = 0;
	int64		pend = -1;		/* x FIXED */
	int64		last_small = 10000;
	int64		last_big = AMOUNT_CAP;
	bool		overflow = false;
	int			j = i;
	int			end = i;

	*has_digits = *has_unit = *has_won = *commas = false;
	while (j < n)
	{
		int32		c;
		int			cl = u8_decode(s, n, j, &c);
		int64		u;

		if (c < 128 && is_digit((unsigned char) c))
		{
			int64		x = 0;
			int			digits = 0;
			int			dec = -1;

			if (pend >= 0)
				break;
			while (j < n)
			{
				if (is_digit(s[j]))
				{
					if (dec >= 2)
						break;
					if (digits < 16)
						x = x * 10 + (s[j] - '0');
					else
						overflow = true;
					digits++;
					if (dec >= 0)
						dec++;
					j++;
				}
				else if (s[j] == ',' && dec < 0 && j + 3 < n && is_digit(s[j + 1]) && is_digit(s[j + 2]) &&
						 is_digit(s[j + 3]) && (j + 4 >= n || !is_digit(s[j + 4])))
				{
					*commas = true;
					j++;
				}
				else if (s[j] == '.' && dec < 0 && j + 1 < n && is_digit(s[j + 1]))
				{
					dec = 0;
					j++;
				}
				else
					break;
			}
			for (int k = Max(dec, 0); k < 2; k++)
				x *= 10;
			pend = x;
			*has_digits = true;
			end = j;
			continue;
		}
		if ((u = small_unit(c)) != 0)
		{
			if (u >= last_small)
				break;
			small += (pend >= 0 ? pend : FIXED) * u;
			pend = -1;
			last_small = u;
			*has_unit = true;
			j += cl;
			end = j;
			continue;
		}
		if ((u = big_unit(c)) != 0)
		{
			int64		group;

			if (u >= last_big)
				break;
			group = small + (pend >= 0 ? pend : 0);
			if (group == 0)
				group = FIXED;
			if (group > AMOUNT_CAP / u)
				overflow = true;
			else
				big += group * u;
			small = 0;
			pend = -1;
			last_small = 10000;
			last_big = u;
			*has_unit = true;
			j += cl;
			end = j;
			continue;
		}
		if (pend < 0 && hangul_digit(c) > 0)
		{
			int32		next = cp_at(s, n, j + cl);

			if (small_unit(next) == 0 && big_unit(next) == 0)
				break;
			pend = hangul_digit(c) * FIXED;
			j += cl;
			continue;
		}
		if (c == ' ' && pend >= 0 && *has_digits)
		{
			/* digits and their unit apart: 9 천원 */
			int			k = skip_spaces(s, n, j);

			if (small_unit(cp_at(s, n, k)) || big_unit(cp_at(s, n, k)))
			{
				j = k;
				continue;
			}
		}
		if (c == ' ' && pend < 0 && small == 0 && last_big < AMOUNT_CAP)
		{
			int			k = skip_spaces(s, n, j);

			if (continues_after_space(s, n, k))
			{
				j = k;
				continue;
			}
		}
		break;
	}
	if (end == i)
		return i;
	/* trailing digits count; a Hangul digit whose unit did not follow does not */
	{
		int64		total = big + small + (pend >= 0 && end == j ? pend : 0);

		*value = overflow || total > AMOUNT_CAP ? AMOUNT_TOO_LARGE : total;
	}
	/* 원, right after or after spaces */
	{
		int			k = skip_spaces(s, n, end);

		if (cp_at(s, n, k) == WON)
		{
			*has_won = true;
			end = k + 3;
		}
	}
	return end;
}

/* record an amount found at [start, end) with its quality */
static void
add_amount(pstate *st, int start, int end, int64 fixed, bool has_digits, bool has_unit, bool has_won, bool commas)
{
	int			quality;
	int64		won;

	if (fixed == AMOUNT_TOO_LARGE)
		won = PG_INT64_MAX;		/* too large to hold */
	else if (fixed % FIXED != 0)
		return;					/* not a whole number of won: 1.5원 */
	else
		won = fixed / FIXED;
	if (has_unit || has_won)
		quality = 3;
	else if (commas || won >= 100)
		quality = 2;
	else
		quality = 1;
	add_item(st, IT_AMOUNT, 0, start, end, won, quality);
}

/*
 * A number at i (a digit or a Hangul numeral): a date, a time, a count, or
 * an amount.  Returns the position after what was read, i when nothing.
 */
static int
scan_number(pstate *st, int i)
{
	const unsigned char *s = st->s;
	int			n = st->n;
	int64		v;
	int			j;
	int32		c;
	int64		amount;
	bool		has_digits,
				has_unit,
				has_won,
				commas;
	int			end;

	if (is_digit(s[i]))
	{
		/* digits glued to a Latin word belong to it (ktx2, a1) */
		if (i > 0 && is_ascii_alnum(s[i - 1]))
		{
			while (i < n && is_ascii_alnum(s[i]))
				i++;
			return i;
		}
		j = read_int(s, n, i, 9, &v);

		/* YYYY-MM-DD, YYYY.MM.DD, YYYY/MM/DD */
		if (j - i == 4 && j < n && (s[j] == '-' || s[j] == '.' || s[j] == '/'))
		{
			int64		m,
						d;
			unsigned char sep = s[j];
			int			k = read_int(s, n, j + 1, 2, &m);

			if (m >= 0 && k < n && s[k] == sep)
			{
				int			e = read_int(s, n, k + 1, 2, &d);

				if (d >= 0 && (e >= n || !is_digit(s[e])))
				{
					add_full_date(st, i, e, (int) v, (int) m, (int) d);
					return e;
				}
			}
		}
		/* YYYY년 M월 D일 */
		if (j - i == 4 && starts(s, n, j, "년"))
		{
			int			k = skip_spaces(s, n, j + 3);
			int64		m,
						d;
			int			e = read_int(s, n, k, 2, &m);

			if (m >= 0 && starts(s, n, e, "월"))
			{
				k = skip_spaces(s, n, e + 3);
				e = read_int(s, n, k, 2, &d);
				if (d >= 0 && starts(s, n, e, "일"))
				{
					add_full_date(st, i, e + 3, (int) v, (int) m, (int) d);
					return e + 3;
				}
			}
		}
		c = cp_at(s, n, j);
		if (j - i <= 2 && starts(s, n, j, "월"))
		{
			int			k = skip_spaces(s, n, j + 3);
			int64		d;
			int			e = read_int(s, n, k, 2, &d);

			if (d >= 0 && starts(s, n, e, "일"))
			{
				add_month_day(st, i, e + 3, (int) v, (int) d);
				return e + 3;
			}
			if (v >= 1 && v <= 12 && !starts(s, n, j, "월급"))
			{
				add_item(st, IT_MONTH_ABS, 0, i, j + 3, v, 0);
				return j + 3;
			}
		}
		if (j - i <= 2 && c == '/' && v >= 1 && v <= 12)
		{
			int64		d;
			int			e = read_int(s, n, j + 1, 2, &d);

			if (d >= 0 && (e >= n || (!is_digit(s[e]) && s[e] != '/')) && cp_at(s, n, e) != WON &&
				small_unit(cp_at(s, n, e)) == 0 && big_unit(cp_at(s, n, e)) == 0)
			{
				add_month_day(st, i, e, (int) v, (int) d);
				return e;
			}
		}
		if (j - i <= 3 && starts(s, n, j, "일"))
		{
			int			k = skip_spaces(s, n, j + 3);
			item	   *month;

			if (starts(s, n, k, "전"))
			{
				add_item(st, IT_DATE, 0, i, k + 3, st->ref - v, 0);
				return k + 3;
			}
			month = adjacent_prev(st, i, KW_MONTH);
			if (month != NULL)
			{
				int			start = month->start;

				st->nitems--;
				add_day_of_month(st, start, j + 3, (int) month->value, (int) v);
				return j + 3;
			}
			add_day_of_month(st, i, j + 3, PG_INT32_MIN, (int) v);
			return j + 3;
		}
		if (j - i <= 2 && (starts(s, n, j, "주") || starts(s, n, j, "달") || starts(s, n, j, "개월")))
		{
			bool		weeks = starts(s, n, j, "주");
			int			k = j + (starts(s, n, j, "개월") ? 6 : 3);

			if (weeks && starts(s, n, k, "일"))
				k += 3;
			k = skip_spaces(s, n, k);
			if (starts(s, n, k, "전"))
			{
				DateADT		dt;

				if (weeks)
					dt = st->ref - 7 * v;
				else
				{
					int			y,
								m,
								d,
								y2,
								m2,
								d2;
					DateADT		first = month_start(st->ref, (int) -v);

					splitdate(st->ref, &y, &m, &d);
					splitdate(first, &y2, &m2, &d2);
					dt = first + Min(d, month_days(y2, m2)) - 1;
				}
				add_item(st, IT_DATE, 0, i, k + 3, dt, 0);
				return k + 3;
			}
		}
		if (j - i <= 2 && starts(s, n, j, "시"))
		{
			/* a time of day: 3시, 3시 반, 3시 20분 -- not an amount, not kept */
			int			k = skip_spaces(s, n, j + 3);
			int64		mi;
			int			e;

			if (starts(s, n, k, "반"))
				j = k + 3;
			else
			{
				e = read_int(s, n, k, 2, &mi);
				if (mi >= 0 && starts(s, n, e, "분"))
					j = e + 3;
				else
					j += 3;
			}
			add_item(st, IT_TIME, 0, i, j, 0, 0);
			return j;
		}
	}

	end = read_amount(s, n, i, &amount, &has_digits, &has_unit, &has_won, &commas);
	if (end == i)
		return i;
	if (!has_digits)
	{
		/* Hangul numerals only: need 원, or a word boundary after them */
		int32		after = cp_at(s, n, end);

		if (!has_won)
		{
			if (!has_unit)
				return i;
			if (is_hangul(after))
			{
				bool		particle = false;

				for (int k = 0; k < (int) lengthof(particles); k++)
					if (starts(s, n, end, particles[k]))
					{
						int32		next = cp_at(s, n, end + strlen(particles[k]));

						if (!is_hangul(next))
							particle = true;
					}
				if (!particle)
					return i;
			}
			/* a single unit word alone (천, 만) without 원 is no amount */
			if (end - i == 3)
				return i;
		}
		/* and must start a word unless 원 follows */
		if (!has_won && is_hangul(prev_cp(s, i)))
			return i;
	}
	else if (!has_unit && !has_won && counter_at(s, n, end))
		return end;				/* a count (2개), left in the memo */
	/* ₩ or \ before the digits belongs to the amount */
	{
		int			start = i;

		if (start >= 3 && s[start - 3] == 0xE2 && s[start - 2] == 0x82 && s[start - 1] == 0xA9)
		{
			start -= 3;
			has_won = true;
		}
		else if (start >= 1 && s[start - 1] == '\\')
		{
			start -= 1;
			has_won = true;
		}
		/* a minus sign right before the digits (not a range like 3-5) makes it negative: refused */
		if (start >= 1 && s[start - 1] == '-' && (start < 2 || !is_ascii_alnum(s[start - 2])) && amount > 0)
		{
			start -= 1;
			amount = -amount;
		}
		add_amount(st, start, end, amount, has_digits, has_unit, has_won, commas);
	}
	return end;
}

/* how far a verb-like word reaches: to the end of its token, stopping at a digit */
static int
token_end(const unsigned char *s, int n, int i)
{
	while (i < n && s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && !is_digit(s[i]))
		i++;
	return i;
}

/* a dictionary word found at [i, i + e->len) */
static int
take_word(pstate *st, int i, const dict_entry *e, const ledger_dict *d)
{
	int			end = i + e->len;
	item	   *it;

	switch (e->type)
	{
		case KW_MERCHANT:
			it = add_item(st, IT_KEYWORD, KW_MERCHANT, i, end, e->value, 0);
			if (it != NULL)
				it->dict = d;
			return end;
		case KW_DATE_REL:
			add_item(st, IT_DATE, 0, i, end, st->ref + e->value, 0);
			return end;
		case KW_DATE_FUTURE:
			add_item(st, IT_DATE, 0, i, end, st->ref + e->value, DF_EXPLICIT_FUTURE);
			return end;
		case KW_DATE_JUST_NOW:
			add_item(st, IT_DATE, 0, i, end, st->ref, DF_JUST_NOW);
			return end;
		case KW_WEEKDAY:
			{
				item	   *week = adjacent_prev(st, i, KW_WEEK);
				DateADT		monday = st->ref - (isodow(st->ref) - 1);
				DateADT		dt;
				int			start = i;

				if (week != NULL)
				{
					dt = monday + 7 * week->value + (e->value - 1);
					start = week->start;
					st->nitems--;
				}
				else
					dt = st->ref - ((isodow(st->ref) - e->value + 7) % 7);
				add_item(st, IT_DATE, 0, start, end, dt, dt > st->ref ? DF_EXPLICIT_FUTURE : 0);
				return end;
			}
		case KW_INCOME_VERB:
		case KW_GIVE_VERB:
		case KW_EXPENSE_VERB:
		case KW_DELETE:
		case KW_MODIFY:
		case KW_COPULA:
		case KW_QUERY:
		case KW_FILLER:
		case KW_PIVOT:
			end = Max(end, token_end(st->s, st->n, end));
			add_item(st, IT_KEYWORD, e->type, i, end, e->value, 0);
			return end;
		default:
			add_item(st, IT_KEYWORD, e->type, i, end, e->value, 0);
			return end;
	}
}

static void
scan(pstate *st, const ledger_dict *global, const ledger_dict *family)
{
	const unsigned char *s = st->s;
	int			n = st->n;
	int			i = 0;

	while (i < n)
	{
		int32		c;
		int			cl = u8_decode(s, n, i, &c);
		const dict_entry *best = NULL;
		const ledger_dict *bestd = NULL;
		const dict_entry *e;

		if (is_space(c))
		{
			i += cl;
			continue;
		}
		e = dict_match(family, s, n, i, c);
		if (e != NULL)
		{
			best = e;
			bestd = family;
		}
		e = dict_match(global, s, n, i, c);
		if (e != NULL && (best == NULL || e->len > best->len))
		{
			best = e;
			bestd = global;
		}
		e = dict_match(keyword_dict, s, n, i, c);
		if (e != NULL && (best == NULL || e->len > best->len))
		{
			best = e;
			bestd = keyword_dict;
		}
		if (best != NULL)
		{
			i = take_word(st, i, best, bestd);
			continue;
		}
		if ((c < 128 && is_digit((unsigned char) c)) || hangul_digit(c) > 0 || small_unit(c) || big_unit(c))
		{
			int			end = scan_number(st, i);

			if (end > i)
			{
				i = end;
				continue;
			}
		}
		i += cl;
	}
}

/* is [a, b) of s one of the words of list? */
static bool
in_list(const char *const *list, int count, const unsigned char *s, int a, int b)
{
	for (int k = 0; k < count; k++)
		if ((int) strlen(list[k]) == b - a && memcmp(s + a, list[k], b - a) == 0)
			return true;
	return false;
}

static inline bool
is_punct_at(const unsigned char *s, int n, int i, int *len)
{
	int32		c;

	*len = u8_decode(s, n, i, &c);
	return (c < 128 && strchr("?!.,~'\"()[]:;-_*^", (int) c) != NULL && c != 0) ||
		c == 0x2026 || c == 0xFF1F || c == 0xFF01 || c == 0x3002 || c == 0xFF5E || c == 0x20A9;
}

/* the bytes no item consumed, less particles and fillers, as the memo; returns its length */
static int
build_memo(pstate *st, const char *orig, char *buf)
{
	const unsigned char *o = (const unsigned char *) orig;
	int			n = st->n;
	int			out = 0;
	int			i = 0;

	while (i < n)
	{
		int			a,
					b;
		bool		touched = false;
		bool		first_run = true;

		while (i < n && (o[i] == ' ' || o[i] == '\t' || o[i] == '\n' || o[i] == '\r'))
			i++;
		a = i;
		while (i < n && !(o[i] == ' ' || o[i] == '\t' || o[i] == '\n' || o[i] == '\r'))
			i++;
		b = i;
		if (a == b)
			break;
		for (int k = a; k < b; k++)
			if (st->consumed[k])
				touched = true;
		for (int k = a; k < b;)
		{
			int			ra,
						rb,
						pl;

			while (k < b && st->consumed[k])
				k++;
			ra = k;
			while (k < b && !st->consumed[k])
				k++;
			rb = k;
			/* trim punctuation at both ends */
			while (ra < rb && is_punct_at(o, rb, ra, &pl))
				ra += pl;
			while (ra < rb)
			{
				int			back = rb - 1;

				while (back > ra && (o[back] & 0xC0) == 0x80)
					back--;
				if (!is_punct_at(o, rb, back, &pl))
					break;
				rb = back;
			}
			if (ra >= rb)
				continue;
			if (touched && in_list(particles, lengthof(particles), st->s, ra, rb))
				continue;
			for (int k = 0; k < (int) lengthof(trailing_particles); k++)
			{
				int			pl2 = strlen(trailing_particles[k]);

				if (rb - ra > pl2 + 3 && memcmp(o + rb - pl2, trailing_particles[k], pl2) == 0)
				{
					rb -= pl2;
					break;
				}
			}
			if (in_list(fillers, lengthof(fillers), st->s, ra, rb))
				continue;
			if (out > 0)
			{
				/* runs of one token that a consumed word split are joined by a space too */
				buf[out++] = ' ';
			}
			memcpy(buf + out, o + ra, rb - ra);
			out += rb - ra;
			first_run = false;
		}
		(void) first_run;
	}
	buf[out] = '\0';
	return out;
}

/*
 * What one stretch of the sentence names: the items whose start lies in
 * [from, to).  A correction has two stretches (the entry named, then the
 * new values); any other sentence one, the whole sentence.
 */
typedef struct side
{
	item	   *amount;			/* the best amount: highest quality, first */
	bool		multiple_amounts;	/* another amount of that quality differs */
	item	   *date;			/* the first date ("방금" only when keep_just_now) */
	bool		date_multiple;
	item	   *merchant;
	item	   *week;
	item	   *month;
	item	   *month_abs;
	int			category;		/* the first category word, else a weak one, else -1 */
	bool		allowance;		/* 용돈, 세뱃돈 */
	bool		other_income;	/* 월급, 환불 ... */
	bool		giver;			/* 할머니, 엄마 ... */
} side;

static void
pick_side(pstate *st, int from, int to, bool keep_just_now, side *sd)
{
	int			weak = -1;

	memset(sd, 0, sizeof(side));
	sd->category = -1;
	for (int k = 0; k < st->nitems; k++)
	{
		item	   *it = &st->items[k];

		if (it->start < from || it->start >= to)
			continue;
		switch (it->type)
		{
			case IT_AMOUNT:
				if (sd->amount == NULL || it->aux > sd->amount->aux)
					sd->amount = it;
				break;
			case IT_DATE:
				if ((it->aux & DF_JUST_NOW) && !keep_just_now)
					break;
				if (sd->date == NULL)
					sd->date = it;
				else if (it->value != sd->date->value)
					sd->date_multiple = true;
				break;
			case IT_MONTH_ABS:
				if (sd->month_abs == NULL)
					sd->month_abs = it;
				break;
			case IT_KEYWORD:
				switch (it->kw)
				{
					case KW_MERCHANT:
						if (sd->merchant == NULL)
							sd->merchant = it;
						break;
					case KW_WEEK:
						if (sd->week == NULL)
							sd->week = it;
						break;
					case KW_MONTH:
						if (sd->month == NULL)
							sd->month = it;
						break;
					case KW_INCOME_NOUN:
						if (it->value == C_ALLOWANCE)
							sd->allowance = true;
						else
							sd->other_income = true;
						break;
					case KW_GIVER:
						sd->giver = true;
						break;
					case KW_CATEGORY:
						if (it->value >= WEAK_CATEGORY)
						{
							if (weak < 0)
								weak = (int) it->value - WEAK_CATEGORY;
						}
						else if (sd->category < 0)
							sd->category = (int) it->value;
						break;
				}
				break;
		}
	}
	if (sd->category < 0)
		sd->category = weak;
	for (int k = 0; k < st->nitems && sd->amount != NULL; k++)
	{
		item	   *it = &st->items[k];

		if (it->start >= from && it->start < to && it->type == IT_AMOUNT && it != sd->amount &&
			it->aux == sd->amount->aux && it->value != sd->amount->value)
			sd->multiple_amounts = true;
	}
}

/* does a stretch name an entry: an amount with a unit or of 100 and more, a date, a merchant? */
static inline bool
side_names_entry(const side *sd)
{
	return (sd->amount != NULL && sd->amount->aux >= 2) || sd->date != NULL || sd->merchant != NULL;
}

/* is the item followed, after spaces, by one of the words? */
static bool
followed_by(pstate *st, const item *it, const char *const *words, int nwords)
{
	int			k = skip_spaces(st->s, st->n, it->end);

	for (int w = 0; w < nwords; w++)
		if (starts(st->s, st->n, k, words[w]))
			return true;
	return false;
}

/*
 * A correction of the form "A에서 B(으)로" (5천원에서 4천원으로, 스벅에서
 * 투썸으로): the end of A when an amount (or a merchant) is followed by 에서
 * and a later one of the same kind by (으)로; else -1.
 */
static int
from_to_pivot(pstate *st)
{
	static const char *const from_words[] = {"에서"};
	static const char *const to_words[] = {"으로", "로"};

	for (int k = 0; k < st->nitems; k++)
	{
		item	   *a = &st->items[k];
		bool		is_amount = a->type == IT_AMOUNT && a->aux >= 2;
		bool		is_merchant = a->type == IT_KEYWORD && a->kw == KW_MERCHANT;

		if (!(is_amount || is_merchant) || !followed_by(st, a, from_words, lengthof(from_words)))
			continue;
		for (int j = k + 1; j < st->nitems; j++)
		{
			item	   *b = &st->items[j];

			if (b->type == a->type && b->kw == a->kw && (!is_amount || b->aux >= 2) &&
				followed_by(st, b, to_words, lengthof(to_words)))
				return a->end;
		}
	}
	return -1;
}

/*
 * "어제 맥날 거 8천원으로 고쳐줘": a token 거 (것, 꺼) that makes what comes
 * before it the entry meant.  Returns its position, or -1.
 */
static int
the_one_pivot(pstate *st)
{
	static const char *const words[] = {"거", "것", "꺼"};
	static const char *const after[] = {"를", "는", "도", "요", "의"};
	const unsigned char *s = st->s;
	int			n = st->n;

	for (int i = 0; i < n; i++)
	{
		for (int w = 0; w < (int) lengthof(words); w++)
		{
			int			e = i + strlen(words[w]);
			bool		starts_token,
						ends_token;

			if (!starts(s, n, i, words[w]))
				continue;
			starts_token = i == 0 || s[i - 1] == ' ';
			for (int k = 0; !starts_token && k < st->nitems; k++)
				if (st->items[k].end == i)
					starts_token = true;	/* 맥날거 */
			ends_token = e >= n || s[e] == ' ' || is_punct_at(s, n, e, &(int) {0});
			for (int a = 0; !ends_token && a < (int) lengthof(after); a++)
			{
				int			e2 = e + strlen(after[a]);

				if (starts(s, n, e, after[a]) && (e2 >= n || s[e2] == ' '))
					ends_token = true;
			}
			if (starts_token && ends_token)
				return i;
		}
	}
	return -1;
}

/* the date a side states, into p (the new values); errors of a stated date too */
static void
resolve_date(pstate *st, const side *sd, ledger_parsed *p)
{
	const item *date = sd->date;
	const item *week = sd->week;
	const item *month = sd->month;
	const item *month_abs = sd->month_abs;

	p->date = st->ref;
	if (date != NULL)
	{
		p->has_date = true;
		p->date = date->value;
		if (date->aux & DF_BAD)
			p->error = p->error ? p->error : LEDGER_E_BAD_DATE;
		else if (date->aux & DF_EXPLICIT_FUTURE)
		{
			p->error = LEDGER_E_FUTURE;
			p->error_date = date->value;
		}
		if (date->aux & DF_PREVIOUS_YEAR)
			p->reasons |= LEDGER_R_DATE_PREVIOUS_YEAR;
	}
	else if (week != NULL)
	{
		DateADT		monday = st->ref - (isodow(st->ref) - 1) + 7 * week->value;

		p->has_date = true;
		if (p->intent == LEDGER_ADD)
			p->reasons |= LEDGER_R_DATE_VAGUE;
		if (week->value > 0)
		{
			p->error = LEDGER_E_FUTURE;
			p->error_date = p->date = monday;
		}
		else if (week->value < 0)
			p->date = st->ref + 7 * week->value;
	}
	else if (month != NULL)
	{
		p->has_date = true;
		if (p->intent == LEDGER_ADD)
			p->reasons |= LEDGER_R_DATE_VAGUE;
		if (month->value > 0)
		{
			p->error = LEDGER_E_FUTURE;
			p->error_date = p->date = month_start(st->ref, (int) month->value);
		}
		else if (month->value < 0)
		{
			int			y,
						m,
						d,
						y2,
						m2,
						d2;
			DateADT		first = month_start(st->ref, (int) month->value);

			splitdate(st->ref, &y, &m, &d);
			splitdate(first, &y2, &m2, &d2);
			p->date = first + Min(d, month_days(y2, m2)) - 1;
		}
	}
	else if (month_abs != NULL)
	{
		int			y,
					m,
					d;

		splitdate(st->ref, &y, &m, &d);
		if (month_abs->value > m)
			y--;
		p->has_date = true;
		if (p->intent == LEDGER_ADD)
			p->reasons |= LEDGER_R_DATE_VAGUE;
		p->date = mkdate(y, (int) month_abs->value, Min(d, month_days(y, (int) month_abs->value)));
		if (p->date > st->ref)
			p->date = mkdate(y, (int) month_abs->value, month_days(y, (int) month_abs->value));
	}
	else if (p->intent == LEDGER_ADD)
		p->reasons |= LEDGER_R_DATE_NOT_STATED;
}

/* the entry a correction or a deletion names (p->old_*), from a side */
static void
resolve_old(const side *sd, ledger_parsed *p)
{
	if (sd->amount != NULL && sd->amount->aux >= 2 && sd->amount->value >= 1 &&
		sd->amount->value <= LEDGER_MAX_AMOUNT)
	{
		p->has_old_amount = true;
		p->old_amount = sd->amount->value;
	}
	if (sd->date != NULL && !(sd->date->aux & (DF_BAD | DF_EXPLICIT_FUTURE)))
	{
		p->has_old_date = true;
		p->old_date = sd->date->value;
	}
	if (sd->merchant != NULL)
		p->old_merchant = sd->merchant->dict->names[sd->merchant->value];
}

static void
resolve(pstate *st, ledger_parsed *p)
{
	side		whole;
	side		now;			/* the new values (a correction), else the whole sentence */
	side		old;			/* the entry named (a correction, a deletion) */
	int			last_income = -1,
				last_expense = -1;
	bool		give = false,
				del = false,
				modify = false,
				copula = false,
				query = false,
				q_count = false,
				q_where = false,
				q_what = false,
				q_most = false,
				q_much = false,
				unit_amount = false;
	int			pivot = -1;
	const item *pivot_word = NULL;

	for (int k = 0; k < st->nitems; k++)
	{
		item	   *it = &st->items[k];

		if (it->type == IT_AMOUNT && it->aux == 3)
			unit_amount = true;
		if (it->type != IT_KEYWORD)
			continue;
		switch (it->kw)
		{
			case KW_INCOME_VERB:
				last_income = it->start;
				break;
			case KW_EXPENSE_VERB:
				last_expense = it->start;
				break;
			case KW_GIVE_VERB:
				give = true;
				break;
			case KW_DELETE:
				del = true;
				break;
			case KW_MODIFY:
				modify = true;
				break;
			case KW_COPULA:
				copula = true;
				break;
			case KW_QUERY:
				query = true;
				break;
			case KW_PIVOT:
				if (pivot_word == NULL)
					pivot_word = it;
				break;
			case KW_Q_COUNT:
				q_count = true;
				break;
			case KW_Q_WHERE:
				q_where = true;
				break;
			case KW_Q_WHAT:
				q_what = true;
				break;
			case KW_Q_MOST:
				q_most = true;
				break;
			case KW_Q_MUCH:
				q_much = true;
				break;
		}
	}
	pick_side(st, 0, st->n, true, &whole);

	/* what is consumed */
	for (int k = 0; k < st->nitems; k++)
	{
		item	   *it = &st->items[k];
		bool		consume = true;

		if (it->type == IT_KEYWORD &&
			(it->kw == KW_CATEGORY || it->kw == KW_INCOME_NOUN || it->kw == KW_GIVER))
			consume = false;
		if (it->type == IT_AMOUNT && it->aux < 2)
			consume = false;
		if (consume)
			memset(st->consumed + it->start, true, it->end - it->start);
	}

	/*
	 * The intent.  A correction names the entry and then the new values: "A
	 * 말고 B", "A 아니고 B", "A에서 B로 바꿔줘", "A 거 B로 고쳐줘".  A pivot
	 * word counts when what precedes it names an entry (a category word
	 * alone only with a correction verb: "떡볶이 말고 라면 먹었어 3천원" is
	 * an entry).
	 */
	if (del)
		p->intent = LEDGER_DELETE;
	else if ((query || q_count || q_where || (q_most && q_much)) && !unit_amount)
		p->intent = LEDGER_QUERY;
	else
	{
		if (pivot_word != NULL)
		{
			pick_side(st, 0, pivot_word->start, false, &old);
			if (side_names_entry(&old) || (old.category >= 0 && (modify || copula)))
				pivot = pivot_word->start;
		}
		if (pivot < 0 && modify)
			pivot = from_to_pivot(st);
		if (pivot < 0 && modify)
		{
			int			one = the_one_pivot(st);

			if (one >= 0)
			{
				pick_side(st, 0, one, false, &old);
				if (side_names_entry(&old))
					pivot = one;
			}
		}
		if (modify || pivot >= 0 ||
			(copula && whole.merchant == NULL && whole.category < 0 && last_expense < 0 && last_income < 0 &&
			 whole.amount != NULL && whole.amount->aux >= 2))
			p->intent = LEDGER_MODIFY;
		else
			p->intent = LEDGER_ADD;
	}

	/* the sides: a correction's new values after its pivot; a deletion names only the entry */
	if (p->intent == LEDGER_MODIFY && pivot >= 0)
	{
		pick_side(st, 0, pivot, false, &old);
		pick_side(st, pivot, st->n, false, &now);
		resolve_old(&old, p);
	}
	else if (p->intent == LEDGER_DELETE)
	{
		pick_side(st, 0, st->n, false, &old);
		resolve_old(&old, p);
		memset(&now, 0, sizeof(now));
		now.category = -1;
	}
	else
		pick_side(st, 0, st->n, p->intent != LEDGER_MODIFY, &now);
	if (whole.date_multiple && !(p->intent == LEDGER_MODIFY && pivot >= 0))
		p->reasons |= LEDGER_R_DATE_MULTIPLE;

	/* the amount */
	if (now.amount != NULL && now.amount->aux >= 2)
	{
		p->has_amount = true;
		p->amount = now.amount->value;
		if (now.amount->aux == 2)
			p->reasons |= LEDGER_R_AMOUNT_NO_UNIT;
		if (now.multiple_amounts)
			p->reasons |= LEDGER_R_AMOUNT_MULTIPLE;
		if (now.amount->value < 1 || now.amount->value > LEDGER_MAX_AMOUNT)
		{
			p->error = LEDGER_E_RANGE;
			p->error_amount = now.amount->value;
		}
	}

	/* the kind: the last verb decides (Korean is verb-final) */
	if (last_income >= 0 && last_income > last_expense)
		p->kind = LEDGER_INCOME;
	else if (last_expense >= 0)
		p->kind = LEDGER_EXPENSE;
	else if (give)
		p->kind = (whole.allowance || whole.other_income) ? LEDGER_INCOME : LEDGER_EXPENSE;
	else if (whole.allowance || whole.other_income)
		p->kind = LEDGER_INCOME;
	else
	{
		p->kind = LEDGER_EXPENSE;
		if (whole.merchant == NULL && whole.category < 0 && p->intent == LEDGER_ADD)
			p->reasons |= LEDGER_R_KIND_ASSUMED;
	}

	/*
	 * The merchant and the category.  An entry always has a category; a
	 * correction, a question or a deletion only the one it states.
	 */
	if (now.merchant != NULL)
		p->merchant = now.merchant->dict->names[now.merchant->value];
	if (p->kind == LEDGER_INCOME)
	{
		bool		stated = now.allowance || now.other_income || now.giver;

		if ((p->intent == LEDGER_ADD || (p->intent == LEDGER_MODIFY && pivot < 0)) || stated)
			p->category = category_names[(now.allowance || (now.giver && !now.other_income)) ? C_ALLOWANCE
										 : C_OTHER_INCOME];
	}
	else if (now.merchant != NULL)
		p->category = now.merchant->dict->categories[now.merchant->value];
	else if (now.category >= 0)
		p->category = category_names[now.category];
	else if (p->intent == LEDGER_ADD)
	{
		p->category = category_names[C_OTHER];
		p->reasons |= LEDGER_R_CATEGORY_DEFAULT;
	}
	if (p->intent == LEDGER_ADD && now.merchant == NULL)
		p->reasons |= LEDGER_R_MERCHANT_UNKNOWN;

	/* the date */
	resolve_date(st, &now, p);

	/* the period of a question, and what it asks */
	if (p->intent == LEDGER_QUERY)
	{
		if (now.month != NULL)
		{
			p->period_from = month_start(st->ref, (int) now.month->value);
			p->period_to = month_end(st->ref, (int) now.month->value);
		}
		else if (now.week != NULL)
		{
			p->period_from = st->ref - (isodow(st->ref) - 1) + 7 * now.week->value;
			p->period_to = p->period_from + 6;
		}
		else if (now.month_abs != NULL)
		{
			p->period_from = month_start(p->date, 0);
			p->period_to = month_end(p->date, 0);
		}
		else if (now.date != NULL)
			p->period_from = p->period_to = p->date;
		else
		{
			p->period_from = month_start(st->ref, 0);
			p->period_to = month_end(st->ref, 0);
			p->reasons |= LEDGER_R_DATE_NOT_STATED;
		}
		if (p->error == LEDGER_E_FUTURE && p->period_from <= st->ref)
			p->error = LEDGER_OK;	/* "이번 주 얼마 썼어" asks about a week not over yet */
		if (q_count)
			p->query = LEDGER_Q_COUNT;
		else if (q_most && q_much)
			p->query = q_what ? LEDGER_Q_TOP_CATEGORY : LEDGER_Q_TOP_MERCHANT;
		else if (q_where)
			p->query = LEDGER_Q_TOP_MERCHANT;
		else
			p->query = LEDGER_Q_TOTAL;
	}

	/* what is missing, and the confidence */
	switch (p->intent)
	{
		case LEDGER_ADD:
			if (!p->has_amount)
			{
				p->reasons |= LEDGER_R_AMOUNT_MISSING;
				if (now.amount != NULL)
					p->reasons |= LEDGER_R_AMOUNT_UNCLEAR;
				p->confidence = 20;
				break;
			}
			p->confidence = 100;
			if (p->reasons & LEDGER_R_AMOUNT_NO_UNIT)
				p->confidence -= 10;
			if (p->reasons & LEDGER_R_AMOUNT_MULTIPLE)
				p->confidence -= 20;
			if (p->reasons & LEDGER_R_MERCHANT_UNKNOWN)
				p->confidence -= 5;
			if (p->reasons & LEDGER_R_CATEGORY_DEFAULT)
				p->confidence -= 20;
			if (p->reasons & LEDGER_R_DATE_NOT_STATED)
				p->confidence -= 5;
			if (p->reasons & LEDGER_R_DATE_VAGUE)
				p->confidence -= 20;
			if (p->reasons & LEDGER_R_DATE_MULTIPLE)
				p->confidence -= 15;
			if (p->reasons & LEDGER_R_DATE_PREVIOUS_YEAR)
				p->confidence -= 5;
			if (p->reasons & LEDGER_R_KIND_ASSUMED)
				p->confidence -= 10;
			break;
		case LEDGER_MODIFY:
			if (!p->has_amount && !p->has_date && now.merchant == NULL && now.category < 0)
			{
				p->reasons |= LEDGER_R_NOTHING_TO_CHANGE;
				p->confidence = 30;
			}
			else
				p->confidence = (p->reasons & (LEDGER_R_AMOUNT_NO_UNIT | LEDGER_R_AMOUNT_MULTIPLE)) ? 75 : 90;
			break;
		case LEDGER_DELETE:
			p->confidence = 90;
			break;
		case LEDGER_QUERY:
			p->confidence = (p->reasons & LEDGER_R_DATE_NOT_STATED) ? 80 : 90;
			break;
	}
	p->confidence = Max(5, Min(100, p->confidence));
}

void
ledger_parse(const char *text, int len, DateADT ref, const ledger_dict *global, const ledger_dict *family,
			 ledger_parsed *out, char *memo_buf)
{
	pstate		st;
	unsigned char lowered[LEDGER_MEMO_BUF];

	memset(out, 0, sizeof(*out));
	out->memo = memo_buf;
	memo_buf[0] = '\0';
	if (len > LEDGER_MEMO_BUF - 1)
		len = LEDGER_MEMO_BUF - 1;
	for (int k = 0; k < len; k++)
	{
		unsigned char c = (unsigned char) text[k];

		lowered[k] = (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
	}
	st.s = lowered;
	st.n = len;
	st.ref = ref;
	st.nitems = 0;
	memset(st.consumed, 0, len);
	if (keyword_dict == NULL)
		load_keywords();
	scan(&st, global, family);
	resolve(&st, out);
	build_memo(&st, text, memo_buf);
}

/* ---------------------------------------------------------------------
 * Import support: a merchant and a category for a description
 * --------------------------------------------------------------------- */

void
ledger_classify(const char *text, int len, int kind, const ledger_dict *global, const ledger_dict *family,
				const char **merchant, const char **category)
{
	unsigned char s[512];
	int			n = Min(len, (int) sizeof(s));
	int			cat = -1;
	int			weak = -1;
	bool		allowance = false;
	int			i = 0;

	*merchant = NULL;
	*category = NULL;
	if (keyword_dict == NULL)
		load_keywords();
	for (int k = 0; k < n; k++)
	{
		unsigned char c = (unsigned char) text[k];

		s[k] = (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
	}
	/* do not cut a character in two */
	while (n > 0 && n < len && (s[n] & 0xC0) == 0x80)
		n--;
	while (i < n)
	{
		int32		c;
		int			cl = u8_decode(s, n, i, &c);
		const dict_entry *e;

		if (*merchant == NULL)
		{
			const ledger_dict *d = family;

			e = dict_match(family, s, n, i, c);
			if (e == NULL)
			{
				e = dict_match(global, s, n, i, c);
				d = global;
			}
			if (e != NULL)
			{
				*merchant = d->names[e->value];
				if (kind == LEDGER_EXPENSE)
				{
					*category = d->categories[e->value];
					return;
				}
				i += e->len;
				continue;
			}
		}
		e = dict_match(keyword_dict, s, n, i, c);
		if (e != NULL)
		{
			if (e->type == KW_CATEGORY && cat < 0 && e->value < WEAK_CATEGORY)
				cat = e->value;
			else if (e->type == KW_CATEGORY && weak < 0 && e->value >= WEAK_CATEGORY)
				weak = e->value - WEAK_CATEGORY;
			if (e->type == KW_INCOME_NOUN && e->value == C_ALLOWANCE)
				allowance = true;
			i += e->len;
			continue;
		}
		i += cl;
	}
	if (cat < 0)
		cat = weak;
	if (kind == LEDGER_INCOME)
		*category = category_names[allowance ? C_ALLOWANCE : C_OTHER_INCOME];
	else
		*category = category_names[cat >= 0 ? cat : C_OTHER];
}

/* words of a file's category column, in the order they are tried */
static const struct
{
	const char *word;
	int			category;
} category_words[] = {
	{"기타수입", C_OTHER_INCOME}, {"용돈", C_ALLOWANCE}, {"세뱃돈", C_ALLOWANCE}, {"수입", C_OTHER_INCOME},
	{"급여", C_OTHER_INCOME}, {"이자", C_OTHER_INCOME},
	{"카페", C_CAFE}, {"커피", C_CAFE}, {"음료", C_CAFE}, {"제과", C_CAFE},
	{"편의점", C_CONVENIENCE},
	{"식비", C_FOOD}, {"음식", C_FOOD}, {"외식", C_FOOD}, {"식당", C_FOOD}, {"식료품", C_FOOD}, {"간식", C_FOOD},
	{"교통", C_TRANSIT}, {"택시", C_TRANSIT}, {"주유", C_TRANSIT},
	{"쇼핑", C_SHOPPING}, {"의류", C_SHOPPING}, {"잡화", C_SHOPPING}, {"생활", C_SHOPPING}, {"마트", C_SHOPPING},
	{"백화점", C_SHOPPING}, {"생필품", C_SHOPPING},
	{"문화", C_CULTURE}, {"여가", C_CULTURE}, {"취미", C_CULTURE}, {"오락", C_CULTURE}, {"영화", C_CULTURE},
	{"게임", C_CULTURE},
	{"교육", C_EDUCATION}, {"도서", C_EDUCATION}, {"학원", C_EDUCATION}, {"서적", C_EDUCATION}, {"책", C_EDUCATION},
	{"의료", C_HEALTH}, {"건강", C_HEALTH}, {"병원", C_HEALTH}, {"약국", C_HEALTH},
	{"통신", C_TELECOM}, {"휴대폰", C_TELECOM},
	{"선물", C_GIFT}, {"경조", C_GIFT},
	{"저축", C_SAVING}, {"투자", C_SAVING}, {"저금", C_SAVING},
	{"기부", C_DONATION}, {"후원", C_DONATION},
	{"기타", C_OTHER}
};

const char *
ledger_standard_category(const char *text, int len)
{
	char		buf[256];

	if (len <= 0 || len >= (int) sizeof(buf))
		return NULL;
	memcpy(buf, text, len);
	buf[len] = '\0';
	for (int k = 0; k < (int) lengthof(category_words); k++)
		if (strstr(buf, category_words[k].word) != NULL)
			return category_names[category_words[k].category];
	return NULL;
}

/* ---------------------------------------------------------------------
 * Output
 * --------------------------------------------------------------------- */

static const char *const reason_names[LEDGER_R_COUNT] = {
	"amount_missing", "amount_without_unit", "amount_multiple", "date_not_stated", "date_vague",
	"date_previous_year", "date_multiple", "merchant_unknown", "category_default", "kind_assumed",
	"nothing_to_change", "amount_unclear"
};

const char *
ledger_reason_name(int bit)
{
	return reason_names[bit];
}

const char *
ledger_kind_name(int kind)
{
	return kind == LEDGER_INCOME ? "INCOME" : "EXPENSE";
}

const char *
ledger_intent_name(int intent)
{
	static const char *const names[] = {"ADD", "MODIFY", "DELETE", "QUERY"};

	return names[intent];
}

const char *
ledger_query_name(int query)
{
	static const char *const names[] = {"TOTAL", "TOP_MERCHANT", "TOP_CATEGORY", "COUNT"};

	return names[query];
}

/* does the parse name an entry as it is now (a correction's or a deletion's old values)? */
static inline bool
ledger_names_old(const ledger_parsed *p)
{
	return p->has_old_amount || p->has_old_date || p->old_merchant != NULL;
}

/* the question to ask back, or NULL */
static const char *
ledger_question(const ledger_parsed *p)
{
	if (p->intent == LEDGER_ADD && !p->has_amount)
		return p->kind == LEDGER_INCOME ? "얼마를 받았는지 알려 줄래요? (예: 5만원)"
			: "얼마를 썼는지 알려 줄래요? (예: 9천원)";
	if (p->intent == LEDGER_MODIFY && (p->reasons & LEDGER_R_NOTHING_TO_CHANGE))
		return "무엇을 고칠까요? 금액이나 날짜를 알려 주세요.";
	return NULL;
}

/* the date field is the entry's date (ADD) or the new date (MODIFY); a question has a period instead */
static bool
ledger_shows_date(const ledger_parsed *p)
{
	return p->intent == LEDGER_ADD || (p->intent == LEDGER_MODIFY && p->has_date);
}

static void
append_json_string(StringInfo buf, const char *s)
{
	if (s == NULL)
		appendStringInfoString(buf, "null");
	else
		escape_json(buf, s);
}

void
ledger_append_json(StringInfo buf, const ledger_parsed *p)
{
	bool		first = true;
	const char *question = ledger_question(p);

	appendStringInfo(buf, "{\"kind\": \"%s\", \"intent\": \"%s\", \"amount\": ",
					 ledger_kind_name(p->kind), ledger_intent_name(p->intent));
	if (p->has_amount)
		appendStringInfo(buf, INT64_FORMAT, p->amount);
	else
		appendStringInfoString(buf, "null");
	appendStringInfoString(buf, ", \"date\": ");
	if (ledger_shows_date(p))
		appendStringInfo(buf, "\"%s\"", sk_date_iso(p->date));
	else
		appendStringInfoString(buf, "null");
	appendStringInfoString(buf, ", \"merchant\": ");
	append_json_string(buf, p->merchant);
	appendStringInfoString(buf, ", \"category\": ");
	append_json_string(buf, p->category);
	appendStringInfoString(buf, ", \"memo\": ");
	append_json_string(buf, p->memo);
	appendStringInfo(buf, ", \"confidence\": %d.%02d, \"reasons\": [", p->confidence / 100, p->confidence % 100);
	for (int b = 0; b < LEDGER_R_COUNT; b++)
		if (p->reasons & (1 << b))
		{
			appendStringInfo(buf, "%s\"%s\"", first ? "" : ", ", reason_names[b]);
			first = false;
		}
	appendStringInfoString(buf, "], \"question\": ");
	append_json_string(buf, question);
	if (p->intent == LEDGER_QUERY)
		appendStringInfo(buf, ", \"query\": \"%s\", \"period\": {\"from\": \"%s\", \"to\": \"%s\"}",
						 ledger_query_name(p->query), sk_date_iso(p->period_from), sk_date_iso(p->period_to));
	if (ledger_names_old(p))
	{
		appendStringInfoString(buf, ", \"old\": {\"amount\": ");
		if (p->has_old_amount)
			appendStringInfo(buf, INT64_FORMAT, p->old_amount);
		else
			appendStringInfoString(buf, "null");
		appendStringInfoString(buf, ", \"date\": ");
		if (p->has_old_date)
			appendStringInfo(buf, "\"%s\"", sk_date_iso(p->old_date));
		else
			appendStringInfoString(buf, "null");
		appendStringInfoString(buf, ", \"merchant\": ");
		append_json_string(buf, p->old_merchant);
		appendStringInfoChar(buf, '}');
	}
	appendStringInfoChar(buf, '}');
}

void
ledger_raise_refusal(const ledger_parsed *p)
{
	switch (p->error)
	{
		case LEDGER_E_FUTURE:
			ereport(ERROR,
					(errcode(ERRCODE_SK_LEDGER_FUTURE_DATE),
					 errmsg("the date %s is in the future", sk_date_iso(p->error_date)),
					 errdetail("A ledger entry records money already spent or received."),
					 errhint("Name a day on or before today.")));
			break;
		case LEDGER_E_RANGE:
			if (p->error_amount == PG_INT64_MAX)
				ereport(ERROR,
						(errcode(ERRCODE_SK_LEDGER_AMOUNT_RANGE),
						 errmsg("the amount is out of range"),
						 errdetail("An amount is 1 to 1,000,000,000 won.")));
			ereport(ERROR,
					(errcode(ERRCODE_SK_LEDGER_AMOUNT_RANGE),
					 errmsg("the amount " INT64_FORMAT " won is out of range", p->error_amount),
					 errdetail("An amount is 1 to 1,000,000,000 won.")));
			break;
		case LEDGER_E_BAD_DATE:
			ereport(ERROR,
					(errcode(ERRCODE_DATETIME_FIELD_OVERFLOW),
					 errmsg("the sentence names a date that does not exist")));
			break;
	}
}

void
ledger_check_text(const char *text, int len)
{
	int			k = 0;

	while (k < len && (text[k] == ' ' || text[k] == '\t' || text[k] == '\n' || text[k] == '\r'))
		k++;
	if (k == len)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("field \"text\" must not be empty")));
	if (len > LEDGER_MAX_TEXT_CHARS && pg_mbstrlen_with_len(text, len) > LEDGER_MAX_TEXT_CHARS)
		ereport(ERROR,
				(errcode(ERRCODE_SK_LEDGER_TEXT_TOO_LONG),
				 errmsg("the text is longer than %d characters", LEDGER_MAX_TEXT_CHARS),
				 errdetail("A memo holds at most 500 characters.")));
}

DateADT
ledger_today(void)
{
	Datum		ts = DirectFunctionCall2(timestamptz_zone, CStringGetTextDatum("Asia/Seoul"),
										 TimestampTzGetDatum(GetCurrentTransactionStartTimestamp()));

	return DatumGetDateADT(DirectFunctionCall1(timestamp_date, ts));
}

/* ---------------------------------------------------------------------
 * SQL functions
 * --------------------------------------------------------------------- */

/*
 * api.parse_ledger_text(args jsonb) RETURNS jsonb
 *
 * Args: text (the sentence), reference_date (YYYY-MM-DD, default today in
 * Asia/Seoul).  Returns the parse as JSON; refusals raise their SQLSTATE.
 */
Datum
stockking_ledger_parse_json(PG_FUNCTION_ARGS)
{
	Jsonb	   *args = PG_GETARG_JSONB_P(0);
	char	   *text;
	char	   *ref_text = NULL;
	DateADT		ref;
	const ledger_dict *global;
	const ledger_dict *family;
	ledger_parsed p;
	char		memo[LEDGER_MEMO_BUF];
	StringInfoData buf;

	sk_arg_text(args, "text", true, &text);
	if (sk_arg_text(args, "reference_date", false, &ref_text))
	{
		int			y,
					m,
					d;
		char		tail;

		if (sscanf(ref_text, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 || strlen(ref_text) != 10 ||
			m < 1 || m > 12 || d < 1 || d > month_days(y, m) || y < 1900)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_DATETIME_FORMAT),
					 errmsg("field \"reference_date\" must be a date YYYY-MM-DD")));
		ref = mkdate(y, m, d);
	}
	else
		ref = ledger_today();
	ledger_check_text(text, strlen(text));
	ledger_dicts(&global, &family);
	ledger_parse(text, strlen(text), ref, global, family, &p, memo);
	ledger_raise_refusal(&p);
	initStringInfo(&buf);
	ledger_append_json(&buf, &p);
	PG_RETURN_DATUM(sk_jsonb_from_buf(&buf));
}

/*
 * api.parse_ledger_text(text, date) RETURNS stockking.ledger_parse_result
 *
 * The same parse as a record, for SQL clients; a NULL date means today.
 */
Datum
stockking_ledger_parse(PG_FUNCTION_ARGS)
{
	text	   *t;
	DateADT		ref;
	const ledger_dict *global;
	const ledger_dict *family;
	ledger_parsed p;
	char		memo[LEDGER_MEMO_BUF];
	TupleDesc	tupdesc;
	Datum		values[16];
	bool		nulls[16];
	const char *question;
	int			nreasons = 0;
	Datum		reasons[LEDGER_R_COUNT];

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	t = PG_GETARG_TEXT_PP(0);
	ref = PG_ARGISNULL(1) ? ledger_today() : PG_GETARG_DATEADT(1);
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	ledger_check_text(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
	ledger_dicts(&global, &family);
	ledger_parse(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), ref, global, family, &p, memo);
	ledger_raise_refusal(&p);

	memset(nulls, 0, sizeof(nulls));
	values[0] = CStringGetTextDatum(ledger_kind_name(p.kind));
	values[1] = CStringGetTextDatum(ledger_intent_name(p.intent));
	values[2] = Int64GetDatum(p.amount);
	nulls[2] = !p.has_amount;
	values[3] = DateADTGetDatum(p.date);
	nulls[3] = !ledger_shows_date(&p);
	values[4] = p.merchant ? CStringGetTextDatum(p.merchant) : (Datum) 0;
	nulls[4] = p.merchant == NULL;
	values[5] = p.category ? CStringGetTextDatum(p.category) : (Datum) 0;
	nulls[5] = p.category == NULL;
	values[6] = CStringGetTextDatum(p.memo);
	values[7] = NumericGetDatum(int64_div_fast_to_numeric(p.confidence, 2));
	for (int b = 0; b < LEDGER_R_COUNT; b++)
		if (p.reasons & (1 << b))
			reasons[nreasons++] = CStringGetTextDatum(reason_names[b]);
	values[8] = PointerGetDatum(construct_array(reasons, nreasons, TEXTOID, -1, false, TYPALIGN_INT));
	question = ledger_question(&p);
	values[9] = question ? CStringGetTextDatum(question) : (Datum) 0;
	nulls[9] = question == NULL;
	values[10] = DateADTGetDatum(p.period_from);
	values[11] = DateADTGetDatum(p.period_to);
	nulls[10] = nulls[11] = p.intent != LEDGER_QUERY;
	/* since 0.2.0; a 0.1.0 record type has the first 12 attributes only */
	values[12] = Int64GetDatum(p.old_amount);
	nulls[12] = !p.has_old_amount;
	values[13] = DateADTGetDatum(p.old_date);
	nulls[13] = !p.has_old_date;
	values[14] = p.old_merchant ? CStringGetTextDatum(p.old_merchant) : (Datum) 0;
	nulls[14] = p.old_merchant == NULL;
	values[15] = p.intent == LEDGER_QUERY ? CStringGetTextDatum(ledger_query_name(p.query)) : (Datum) 0;
	nulls[15] = p.intent != LEDGER_QUERY;
	if (tupdesc->natts != 12 && tupdesc->natts != 16)
		elog(ERROR, "stockking.ledger_parse_result has %d attributes, expected 12 or 16", tupdesc->natts);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls)));
}

/*
 * Statement trigger on stockking.merchant: tell every backend's parser
 * cache, at commit (and this backend's at once), that the aliases changed.
 */
Datum
stockking_ledger_merchant_changed(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		elog(ERROR, "stockking_ledger_merchant_changed: not called as a trigger");
	CacheInvalidateRelcache(trigdata->tg_relation);
	return PointerGetDatum(NULL);
}

/*
 * stockking.ledger_bench(sentences text[], reference_date date, loops int)
 * RETURNS jsonb
 *
 * The parser alone, in a loop over the sentences: what one core parses per
 * second, without the SQL function call around each sentence.
 */
Datum
stockking_ledger_bench(PG_FUNCTION_ARGS)
{
	ArrayType  *arr = PG_GETARG_ARRAYTYPE_P(0);
	DateADT		ref = PG_GETARG_DATEADT(1);
	int32		loops = PG_GETARG_INT32(2);
	Datum	   *elems;
	bool	   *elem_nulls;
	int			nelems;
	const ledger_dict *global;
	const ledger_dict *family;
	ledger_parsed p;
	char		memo[LEDGER_MEMO_BUF];
	instr_time	start,
				elapsed;
	int64		parsed = 0,
				with_amount = 0,
				checksum = 0;
	double		secs;
	StringInfoData buf;

	if (loops < 1 || loops > 100000)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("loops must be between 1 and 100000")));
	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &elem_nulls, &nelems);
	ledger_dicts(&global, &family);
	INSTR_TIME_SET_CURRENT(start);
	for (int l = 0; l < loops; l++)
	{
		for (int k = 0; k < nelems; k++)
		{
			text	   *t;

			if (elem_nulls[k])
				continue;
			t = (text *) DatumGetPointer(elems[k]);
			ledger_parse(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), ref, global, family, &p, memo);
			parsed++;
			if (p.has_amount)
			{
				with_amount++;
				checksum += p.amount;
			}
		}
		CHECK_FOR_INTERRUPTS();
	}
	INSTR_TIME_SET_CURRENT(elapsed);
	INSTR_TIME_SUBTRACT(elapsed, start);
	secs = INSTR_TIME_GET_DOUBLE(elapsed);
	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"sentences\": %d, \"loops\": %d, \"parsed\": " INT64_FORMAT
					 ", \"with_amount\": " INT64_FORMAT ", \"checksum\": " INT64_FORMAT
					 ", \"seconds\": %.6f, \"per_second\": %.0f}",
					 nelems, loops, parsed, with_amount, checksum, secs, secs > 0 ? parsed / secs : 0.0);
	PG_RETURN_DATUM(sk_jsonb_from_buf(&buf));
}
