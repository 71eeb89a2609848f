/*
 * profanity.c
 *	  The community board's text filter: Korean (and a little English)
 *	  profanity, and personal data in children's texts.  Deterministic, no
 *	  regular expressions, one pass over the text each.
 *
 * Profanity.  The text is read into a stream of units, each with the byte
 * range of the source it came from (so a match can be masked in place):
 *
 *	- Hangul syllables (U+AC00..U+D7A3) as they are;
 *	- jamo typed apart -- compatibility jamo (ㅅㅣㅂㅏㄹ) or the conjoining
 *	  jamo of NFD text -- composed into syllables by the two-set keyboard
 *	  automaton (a final consonant moves on when a vowel follows; double
 *	  finals and compound vowels included); a consonant left alone stays a
 *	  consonant unit (the 초성 of ㅅㅂ), a vowel alone is noise (시ㅡ발).  A
 *	  Latin l, I, |, ! or 1 right after a lone consonant is read as ㅣ;
 *	- an elongated syllable (시이, 바알: ㅇ + the vowel just said) is folded
 *	  into the one before (시, 발);
 *	- Latin letters lower-cased, fullwidth forms and Cyrillic or Greek
 *	  look-alikes folded to ASCII, and 0 1 3 4 5 7 @ $ ! inside a Latin word
 *	  read as o i e a s t a s i (sh1t);
 *	- digits.
 *
 * Spaces and symbols are not units: each unit records whether a space or a
 * symbol stood before it.  Zero-width characters, soft hyphens and
 * combining marks are dropped as if absent.  A Latin run that spells
 * Hangul on the two-set keyboard (tlqkf = 시발, typed with the keyboard in
 * the wrong mode) is composed a second time into a stream of its own,
 * where only the all-Hangul words are looked for.
 *
 * Words (stockking.profanity_word) are patterns: syllables, letters,
 * digits and consonant jamo, [...] for any one of several, ^ for "starts a
 * word" and $ for "ends a word" (a space or a symbol, or the text's edge).
 * Between two elements of a word, stand-alone vowels and digits are
 * skipped (시1발) as are spaces and symbols (시.발, 씨 발); a syllable of the
 * word also matches a lone consonant that is its 초성 (ㅅ발, 씨ㅂ), but a
 * match made of 초성 alone counts only for a word written in 초성 (ㅅㅂ), so
 * ㅅㅍ (스포, a spoiler) is not 시팔.  A match that crosses a space must
 * start a word and end one, or end in a syllable that carries the insult
 * on (놈, 년, 새 ...): 씨 발 is a word spaced out, 씨 발아 실험 is a seed
 * that germinates, 아저씨 발 is an uncle's foot.  A word starting with a
 * digit must not follow a digit (2018 is no 18), one starting with a short
 * Latin word must not continue one.  An ALLOW entry cancels the bad words
 * it overlaps, when it starts at or before them (수박씨발라 먹기, 시발점).
 *
 * Words are indexed by the 초성 (or letter, or digit) their first element
 * can start with, so each unit is tried against a handful of words.  The
 * list is read from the table once per backend and kept until a statement
 * trigger on it sends a relcache invalidation (stockking.relcache_changed).
 *
 * Personal data.  Numbers are read as groups of digits joined by one
 * separator (a dash, a dot, a parenthesis, up to two spaces), and
 * classified: a resident registration number (YYMMDD-NNNNNNN with a real
 * date and a 1..8 seventh digit, or masked after the seventh), a Korean
 * mobile or landline number (010..019, 02, 031..064, 070, any grouping,
 * +82 too, also spelled in Hangul digits: 공일공 ...), a bank account or card
 * number (10..16 digits in 2..4 dashed or spaced groups of 2 or more --
 * three groups, or two or one with a word of banking nearby).  E-mail
 * addresses (@, ＠, 골뱅이, (at); a domain with a dot, 점 or 닷, or a known
 * provider), and street addresses: a road and its branch (…로 12길 34,
 * …로12번길 34), a lot (…동 123-4, …동 123번지), an apartment (101동 1203호),
 * or a road and building number (…로 152) with a word of address nearby
 * (주소, 집, 살아, 아파트, a city's name).  A number followed by a counter
 * (10주, 3번, 5분) is no address; prices, dates and quantities are never
 * long enough, or have no leading 0, to be taken for a phone or an account.
 */
#include "community.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "portability/instr_time.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

PG_FUNCTION_INFO_V1(stockking_profanity_filter);
PG_FUNCTION_INFO_V1(stockking_profanity_pattern_ok);
PG_FUNCTION_INFO_V1(stockking_personal_data);
PG_FUNCTION_INFO_V1(stockking_clean_text);
PG_FUNCTION_INFO_V1(stockking_profanity_bench);

/* Hangul arithmetic (The Unicode Standard, section 3.12) */
#define HANGUL_BASE		0xAC00
#define HANGUL_LAST		0xD7A3
#define HANGUL_V		21
#define HANGUL_T		28
#define IS_SYLLABLE(c)	((c) >= HANGUL_BASE && (c) <= HANGUL_LAST)
#define SYL_L(c)		((int) (((c) - HANGUL_BASE) / (HANGUL_V * HANGUL_T)))
#define SYL_V(c)		((int) ((((c) - HANGUL_BASE) / HANGUL_T) % HANGUL_V))
#define SYL_T(c)		((int) (((c) - HANGUL_BASE) % HANGUL_T))
#define SYLLABLE(l, v, t) (HANGUL_BASE + ((l) * HANGUL_V + (v)) * HANGUL_T + (t))

/* compatibility jamo: 30 consonants from U+3131, 21 vowels from U+314F */
#define COMPAT_CONS		0x3131
#define COMPAT_VOWEL	0x314F
#define IS_COMPAT_CONS(c)	((c) >= 0x3131 && (c) <= 0x314E)
#define IS_COMPAT_VOWEL(c)	((c) >= 0x314F && (c) <= 0x3163)
#define VOWEL_EU		18		/* ㅡ */
#define VOWEL_I			20		/* ㅣ */
#define INITIAL_IEUNG	11		/* ㅇ */

/* compatibility consonant -> initial index (-1: cannot begin a syllable) */
static const int8 cons_initial[30] = {
	0, 1, -1, 2, -1, -1, 3, 4, 5, -1, -1, -1, -1, -1, -1, -1,
	6, 7, 8, -1, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18
};

/* compatibility consonant -> final index (0: cannot end a syllable) */
static const int8 cons_final[30] = {
	1, 2, 3, 4, 5, 6, 7, 0, 8, 9, 10, 11, 12, 13, 14, 15,
	16, 17, 0, 18, 19, 20, 21, 22, 0, 23, 24, 25, 26, 27
};

/* initial index -> compatibility consonant */
static const int8 initial_cons[19] = {
	0, 1, 3, 6, 7, 8, 16, 17, 18, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29
};

/* final index -> its consonants (compatibility), the second -1 for a single one */
static const int8 final_parts[28][2] = {
	{-1, -1}, {0, -1}, {1, -1}, {0, 20}, {3, -1}, {3, 23}, {3, 29}, {6, -1},
	{8, -1}, {8, 0}, {8, 16}, {8, 17}, {8, 20}, {8, 27}, {8, 28}, {8, 29},
	{16, -1}, {17, -1}, {17, 20}, {20, -1}, {21, -1}, {22, -1}, {23, -1}, {25, -1},
	{26, -1}, {27, -1}, {28, -1}, {29, -1}
};

/* compound vowels: first + second -> compound */
static const int8 vowel_pairs[7][3] = {
	{8, 0, 9}, {8, 1, 10}, {8, 20, 11}, {13, 4, 14}, {13, 5, 15}, {13, 20, 16}, {18, 20, 19}
};

/*
 * The two-set (두벌식) keyboard: the jamo each Latin key types, as
 * compatibility jamo code points; shifted keys differ for QWERT O P.
 */
static const char *const keyboard_lower = "ㅁㅠㅊㅇㄷㄹㅎㅗㅑㅓㅏㅣㅡㅜㅐㅔㅂㄱㄴㅅㅕㅍㅈㅌㅛㅋ";
static const char *const keyboard_upper = "ㅁㅠㅊㅇㄸㄹㅎㅗㅑㅓㅏㅣㅡㅜㅒㅖㅃㄲㄴㅆㅕㅍㅉㅌㅛㅋ";

/* The stream */

typedef enum unit_kind
{
	UK_SYLLABLE,
	UK_CONSONANT,
	UK_VOWEL,
	UK_LATIN,
	UK_DIGIT
} unit_kind;

typedef enum gap_kind
{
	GAP_NONE,
	GAP_SYMBOL,
	GAP_SPACE
} gap_kind;

typedef struct pf_unit
{
	int32		cp;				/* syllable, compatibility jamo, ASCII letter or digit */
	uint8		kind;			/* unit_kind */
	uint8		gap;			/* gap_kind: what stood before it */
	char		typed;			/* the ASCII letter typed (Latin units; 0 when read from a digit or symbol) */
	int32		start;			/* byte range in the text */
	int32		end;
} pf_unit;

typedef struct pf_stream
{
	pf_unit    *u;
	int			n;
	int			cap;
	uint8		pending_gap;
	/* the jamo being composed: initial, vowel (-1 when none), final (0 when none) */
	int			L;
	int			V;
	int			T;
	int32		start;
	int32		end;
	int32		tstart;			/* where the final's last consonant began */
	bool		only_syllables; /* every unit emitted was a syllable (keyboard runs) */
} pf_stream;

static void
stream_init(pf_stream *s, int cap)
{
	s->cap = Max(cap, 8);
	s->u = palloc(sizeof(pf_unit) * s->cap);
	s->n = 0;
	s->pending_gap = GAP_SPACE;
	s->L = -1;
	s->V = -1;
	s->T = 0;
	s->only_syllables = true;
}

static void
emit(pf_stream *s, unit_kind kind, int32 cp, int32 start, int32 end, char typed)
{
	pf_unit    *u;

	if (kind != UK_SYLLABLE)
		s->only_syllables = false;
	/* an elongation: ㅇ + the vowel of the syllable before, which has no final */
	if (kind == UK_SYLLABLE && s->n > 0 && s->pending_gap == GAP_NONE && SYL_L(cp) == INITIAL_IEUNG)
	{
		pf_unit    *prev = &s->u[s->n - 1];

		if (prev->kind == UK_SYLLABLE && SYL_V(prev->cp) == SYL_V(cp) && SYL_T(prev->cp) == 0)
		{
			prev->cp = SYLLABLE(SYL_L(prev->cp), SYL_V(prev->cp), SYL_T(cp));
			prev->end = end;
			return;
		}
	}
	if (s->n == s->cap)
	{
		s->cap *= 2;
		s->u = repalloc(s->u, sizeof(pf_unit) * s->cap);
	}
	u = &s->u[s->n++];
	u->cp = cp;
	u->kind = kind;
	u->gap = s->pending_gap;
	u->typed = typed;
	u->start = start;
	u->end = end;
	s->pending_gap = GAP_NONE;
}

/* emit the jamo being composed: a syllable, or a consonant left alone */
static void
flush_jamo(pf_stream *s)
{
	if (s->L >= 0 && s->V >= 0)
		emit(s, UK_SYLLABLE, SYLLABLE(s->L, s->V, s->T), s->start, s->end, 0);
	else if (s->L >= 0)
		emit(s, UK_CONSONANT, COMPAT_CONS + initial_cons[s->L], s->start, s->end, 0);
	s->L = -1;
	s->V = -1;
	s->T = 0;
}

/* a consonant (compatibility index c) typed at [start, end) */
static void
push_consonant(pf_stream *s, int c, int32 start, int32 end)
{
	if (s->L >= 0 && s->V >= 0)
	{
		if (s->T == 0 && cons_final[c] != 0)
		{
			s->T = cons_final[c];
			s->tstart = start;
			s->end = end;
			return;
		}
		if (s->T != 0 && final_parts[s->T][1] < 0)
		{
			for (int t = 1; t < 28; t++)
			{
				if (final_parts[t][0] == final_parts[s->T][0] && final_parts[t][1] == c)
				{
					s->T = t;
					s->tstart = start;
					s->end = end;
					return;
				}
			}
		}
	}
	flush_jamo(s);
	if (cons_initial[c] >= 0)
	{
		s->L = cons_initial[c];
		s->start = start;
		s->end = end;
		return;
	}
	/* a double consonant that only ends syllables (ㅄ, ㄳ ...): its two parts */
	for (int t = 1; t < 28; t++)
	{
		if (cons_final[c] == t)
		{
			emit(s, UK_CONSONANT, COMPAT_CONS + final_parts[t][0], start, end, 0);
			emit(s, UK_CONSONANT, COMPAT_CONS + final_parts[t][1], start, end, 0);
		}
	}
}

/* a final consonant (final index t) of NFD text */
static void
push_final(pf_stream *s, int t, int32 start, int32 end)
{
	if (s->L >= 0 && s->V >= 0 && s->T == 0)
	{
		s->T = t;
		s->tstart = start;
		s->end = end;
		return;
	}
	flush_jamo(s);
	emit(s, UK_CONSONANT, COMPAT_CONS + final_parts[t][0], start, end, 0);
}

/* a vowel (index v) typed at [start, end) */
static void
push_vowel(pf_stream *s, int v, int32 start, int32 end)
{
	if (s->L >= 0 && s->V < 0)
	{
		s->V = v;
		s->end = end;
		return;
	}
	if (s->L >= 0 && s->T != 0)
	{
		/* the final's (last) consonant begins the next syllable */
		int			moving;
		int			L = s->L;
		int			V = s->V;
		int			T;

		if (final_parts[s->T][1] >= 0)
		{
			moving = final_parts[s->T][1];
			T = cons_final[final_parts[s->T][0]];
		}
		else
		{
			moving = final_parts[s->T][0];
			T = 0;
		}
		emit(s, UK_SYLLABLE, SYLLABLE(L, V, T), s->start, s->tstart, 0);
		s->L = cons_initial[moving];
		s->V = v;
		s->T = 0;
		s->start = s->tstart;
		s->end = end;
		if (s->L < 0)			/* cannot happen: every second part begins syllables */
			flush_jamo(s);
		return;
	}
	if (s->L >= 0 && s->V >= 0)
	{
		for (int i = 0; i < lengthof(vowel_pairs); i++)
		{
			if (vowel_pairs[i][0] == s->V && vowel_pairs[i][1] == v)
			{
				s->V = vowel_pairs[i][2];
				s->end = end;
				return;
			}
		}
	}
	flush_jamo(s);
	emit(s, UK_VOWEL, COMPAT_VOWEL + v, start, end, 0);
}

static bool
lone_consonant(const pf_stream *s)
{
	return s->L >= 0 && s->V < 0;
}

/* Cyrillic and Greek letters that look like Latin ones */
static char
look_alike(pg_wchar c)
{
	static const struct
	{
		pg_wchar	c;
		char		latin;
	}			table[] = {
		{0x0430, 'a'}, {0x0410, 'a'}, {0x0412, 'b'}, {0x0435, 'e'}, {0x0415, 'e'},
		{0x041A, 'k'}, {0x043A, 'k'}, {0x041C, 'm'}, {0x041D, 'h'}, {0x043E, 'o'},
		{0x041E, 'o'}, {0x0440, 'p'}, {0x0420, 'p'}, {0x0441, 'c'}, {0x0421, 'c'},
		{0x0422, 't'}, {0x0443, 'y'}, {0x0445, 'x'}, {0x0425, 'x'}, {0x0456, 'i'},
		{0x0406, 'i'}, {0x0458, 'j'}, {0x0455, 's'}, {0x03B1, 'a'}, {0x03BF, 'o'},
		{0x039F, 'o'}, {0x03B9, 'i'}, {0x03BA, 'k'}, {0x03BD, 'v'}, {0x03C4, 't'},
		{0x0391, 'a'}, {0x0392, 'b'}, {0x0395, 'e'}, {0x0397, 'h'}, {0x0399, 'i'},
		{0x039A, 'k'}, {0x039C, 'm'}, {0x039D, 'n'}, {0x03A1, 'p'}, {0x03A4, 't'},
		{0x03A7, 'x'}, {0x03A5, 'y'}, {0x0396, 'z'}
	};

	for (int i = 0; i < lengthof(table); i++)
		if (table[i].c == c)
			return table[i].latin;
	return 0;
}

static bool
is_space(pg_wchar c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' ||
		c == 0x00A0 || c == 0x3000 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 ||
		c == 0x202F || c == 0x205F;
}

/* characters that show nothing: zero-width, soft hyphen, variation selectors, combining marks */
static bool
is_invisible(pg_wchar c)
{
	return (c >= 0x200B && c <= 0x200D) || c == 0x2060 || c == 0xFEFF || c == 0x00AD ||
		(c >= 0xFE00 && c <= 0xFE0F) || (c >= 0x0300 && c <= 0x036F);
}

static int
leet_letter(int32 d)
{
	switch (d)
	{
		case '0':
			return 'o';
		case '1':
			return 'i';
		case '3':
			return 'e';
		case '4':
			return 'a';
		case '5':
			return 's';
		case '7':
			return 't';
	}
	return 0;
}

static int
ascii_letter(const unsigned char *p, const unsigned char *end)
{
	return p < end && ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'));
}

/*
 * Read text[0..len) into the stream of units.  len is in bytes; the text
 * is UTF-8.
 */
static void
read_units(const char *text, int len, pf_stream *s)
{
	const unsigned char *base = (const unsigned char *) text;
	const unsigned char *p = base;
	const unsigned char *end = base + len;

	while (p < end)
	{
		int			l = pg_utf_mblen(p);
		pg_wchar	c;
		int32		start = p - base;
		int32		stop;
		char		latin = 0;

		if (l < 1 || p + l > end)
			l = 1;
		c = (l == 1) ? *p : utf8_to_unicode(p);
		p += l;
		stop = p - base;

		if (is_invisible(c))
			continue;
		/* a Latin or symbol look-alike of ㅣ right after a lone consonant: ㅅl발 */
		if (lone_consonant(s) && (c == 'l' || c == 'I' || c == '|' || c == '!' || c == '1'))
		{
			push_vowel(s, VOWEL_I, start, stop);
			continue;
		}
		if (c >= 0xFF01 && c <= 0xFF5E)
			c -= 0xFEE0;		/* fullwidth ASCII */
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
			latin = (char) c;
		else if (c >= 0x80)
			latin = look_alike(c);
		else if ((c == '@' || c == '$' || c == '!') && s->n > 0 && s->u[s->n - 1].kind == UK_LATIN &&
				 s->pending_gap == GAP_NONE && s->L < 0 && ascii_letter(p, end))
		{
			/* a symbol for a letter inside a Latin word: b!tch, sh!t */
			emit(s, UK_LATIN, c == '@' ? 'a' : c == '$' ? 's' : 'i', start, stop, 0);
			continue;
		}
		if (latin)
		{
			flush_jamo(s);
			emit(s, UK_LATIN, (latin >= 'A' && latin <= 'Z') ? latin + ('a' - 'A') : latin, start, stop,
				 c < 0x80 ? latin : 0);
		}
		else if (c >= '0' && c <= '9')
		{
			flush_jamo(s);
			emit(s, UK_DIGIT, c, start, stop, 0);
		}
		else if (IS_SYLLABLE(c))
		{
			flush_jamo(s);
			emit(s, UK_SYLLABLE, c, start, stop, 0);
		}
		else if (IS_COMPAT_CONS(c))
			push_consonant(s, c - COMPAT_CONS, start, stop);
		else if (IS_COMPAT_VOWEL(c))
			push_vowel(s, c - COMPAT_VOWEL, start, stop);
		else if (c >= 0x1100 && c <= 0x1112)
			push_consonant(s, initial_cons[c - 0x1100], start, stop);
		else if (c >= 0x1161 && c <= 0x1175)
			push_vowel(s, c - 0x1161, start, stop);
		else if (c >= 0x11A8 && c <= 0x11C2)
			push_final(s, c - 0x11A7, start, stop);
		else
		{
			flush_jamo(s);
			if (is_space(c))
				s->pending_gap = GAP_SPACE;
			else if (s->pending_gap == GAP_NONE)
				s->pending_gap = GAP_SYMBOL;
		}
	}
	flush_jamo(s);

	/* leet: a digit inside or at the edge of a Latin word, with no digit next to it */
	for (int i = 0; i < s->n; i++)
	{
		pf_unit    *u = &s->u[i];
		bool		prev_latin = i > 0 && u->gap == GAP_NONE && s->u[i - 1].kind == UK_LATIN;
		bool		next_latin = i + 1 < s->n && s->u[i + 1].gap == GAP_NONE && s->u[i + 1].kind == UK_LATIN;
		bool		prev_digit = i > 0 && u->gap == GAP_NONE && s->u[i - 1].kind == UK_DIGIT;
		bool		next_digit = i + 1 < s->n && s->u[i + 1].gap == GAP_NONE && s->u[i + 1].kind == UK_DIGIT;

		if (u->kind == UK_DIGIT && leet_letter(u->cp) && (prev_latin || next_latin) && !prev_digit && !next_digit)
		{
			u->kind = UK_LATIN;
			u->cp = leet_letter(u->cp);
		}
	}
}

/* the compatibility jamo a key of the two-set keyboard types */
static pg_wchar
keyboard_jamo(char key)
{
	const char *map = (key >= 'A' && key <= 'Z') ? keyboard_upper : keyboard_lower;
	int			index = (key >= 'A' && key <= 'Z') ? key - 'A' : key - 'a';
	const unsigned char *p = (const unsigned char *) map + index * 3;	/* each jamo is 3 bytes */

	return utf8_to_unicode(p);
}

/*
 * The Latin runs of the stream (letters typed as such, one word, four or
 * more) that the two-set keyboard turns into Hangul syllables only: each
 * run composed, as a word of its own, into *out.
 */
static void
keyboard_runs(const pf_stream *s, pf_stream *out)
{
	stream_init(out, 8);
	for (int i = 0; i < s->n;)
	{
		int			j = i;
		pf_stream	run;

		if (s->u[i].kind != UK_LATIN || s->u[i].typed == 0)
		{
			i++;
			continue;
		}
		while (j < s->n && s->u[j].kind == UK_LATIN && s->u[j].typed != 0 && (j == i || s->u[j].gap == GAP_NONE))
			j++;
		if (j - i >= 4)
		{
			stream_init(&run, j - i);
			for (int k = i; k < j; k++)
			{
				pg_wchar	jamo = keyboard_jamo(s->u[k].typed);

				if (IS_COMPAT_CONS(jamo))
					push_consonant(&run, jamo - COMPAT_CONS, s->u[k].start, s->u[k].end);
				else
					push_vowel(&run, jamo - COMPAT_VOWEL, s->u[k].start, s->u[k].end);
			}
			flush_jamo(&run);
			if (run.only_syllables && run.n >= 2)
			{
				out->pending_gap = GAP_SPACE;
				for (int k = 0; k < run.n; k++)
					emit(out, UK_SYLLABLE, run.u[k].cp, run.u[k].start, run.u[k].end, 0);
			}
			pfree(run.u);
		}
		i = j;
	}
}

/* Words */

#define PF_MAX_ELEMS	16
#define PF_MAX_CLASS	24
#define PF_MAX_SKIP		3
/* keys: 19 initial consonants, 26 letters, 10 digits */
#define PF_KEYS			55

typedef enum pf_action
{
	PF_ALLOW,
	PF_MASK,
	PF_REFUSE
} pf_action;

typedef struct pf_elem
{
	int			n;
	bool		digit;			/* every member is a digit */
	bool		latin;			/* a member is a Latin letter */
	int32		cp[PF_MAX_CLASS];
} pf_elem;

typedef struct pf_word
{
	int			n;
	pf_elem    *elems;
	bool		anchor_start;
	bool		anchor_end;
	bool		hangul_only;	/* every member is a syllable: looked for in keyboard runs too */
	uint8		action;			/* pf_action */
} pf_word;

typedef struct pf_list
{
	int			nwords;
	pf_word    *words;
	int			nbucket[PF_KEYS];
	int		   *bucket[PF_KEYS];
} pf_list;

/* the key a unit or a pattern member starts a match with; -1 for none */
static int
key_of(int32 cp)
{
	if (IS_SYLLABLE(cp))
		return SYL_L(cp);
	if (IS_COMPAT_CONS(cp))
		return cons_initial[cp - COMPAT_CONS];
	if (cp >= 'a' && cp <= 'z')
		return 19 + (cp - 'a');
	if (cp >= '0' && cp <= '9')
		return 45 + (cp - '0');
	return -1;
}

/*
 * Parse a pattern into *w (elements allocated in the current memory
 * context).  Returns NULL, or why the pattern is malformed.
 */
static const char *
parse_pattern(const char *pattern, pf_word *w)
{
	const unsigned char *p = (const unsigned char *) pattern;
	const unsigned char *end = p + strlen(pattern);
	bool		in_class = false;

	memset(w, 0, sizeof(*w));
	w->elems = palloc0(sizeof(pf_elem) * PF_MAX_ELEMS);
	w->hangul_only = true;
	while (p < end)
	{
		int			l = pg_utf_mblen(p);
		pg_wchar	c;
		pf_elem    *e;

		if (p + l > end)
			return "it is not valid UTF-8";
		c = (l == 1) ? *p : utf8_to_unicode(p);
		p += l;
		if (c == ' ' && !in_class)
			continue;
		if (c == '^')
		{
			if (w->n > 0 || w->anchor_start || in_class)
				return "^ may only begin it";
			w->anchor_start = true;
			continue;
		}
		if (c == '$')
		{
			if (in_class || p != end || w->n == 0)
				return "$ may only end it";
			w->anchor_end = true;
			continue;
		}
		if (c == '[')
		{
			if (in_class)
				return "a [ inside [...]";
			if (w->n == PF_MAX_ELEMS)
				return "it has more than 16 elements";
			in_class = true;
			w->n++;
			continue;
		}
		if (c == ']')
		{
			if (!in_class || w->elems[w->n - 1].n == 0)
				return "a ] without [ or an empty []";
			in_class = false;
			continue;
		}
		if (c >= 'A' && c <= 'Z')
			c += 'a' - 'A';
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || IS_SYLLABLE(c) ||
			  (IS_COMPAT_CONS(c) && cons_initial[c - COMPAT_CONS] >= 0)))
			return "it may hold Hangul syllables, consonant jamo that begin syllables, Latin letters, digits, [...], ^ and $ only";
		if (!in_class)
		{
			if (w->n == PF_MAX_ELEMS)
				return "it has more than 16 elements";
			w->n++;
		}
		e = &w->elems[w->n - 1];
		if (e->n == PF_MAX_CLASS)
			return "a [...] has more than 24 members";
		e->cp[e->n++] = c;
		if (!IS_SYLLABLE(c))
			w->hangul_only = false;
		if (c >= 'a' && c <= 'z')
			e->latin = true;
	}
	if (in_class)
		return "a [ without ]";
	if (w->n == 0)
		return "it is empty";
	w->elems = repalloc(w->elems, sizeof(pf_elem) * w->n);
	for (int i = 0; i < w->n; i++)
	{
		pf_elem    *e = &w->elems[i];

		e->digit = true;
		for (int k = 0; k < e->n; k++)
			if (e->cp[k] < '0' || e->cp[k] > '9')
				e->digit = false;
	}
	return NULL;
}

static pf_action
parse_action(const char *action)
{
	if (strcmp(action, "ALLOW") == 0)
		return PF_ALLOW;
	if (strcmp(action, "MASK") == 0)
		return PF_MASK;
	return PF_REFUSE;
}

/* index the words by the keys of their first element */
static void
index_words(pf_list *list)
{
	for (int pass = 0; pass < 2; pass++)
	{
		for (int k = 0; k < PF_KEYS; k++)
		{
			if (pass == 1)
				list->bucket[k] = palloc(sizeof(int) * Max(list->nbucket[k], 1));
			list->nbucket[k] = 0;
		}
		for (int w = 0; w < list->nwords; w++)
		{
			const pf_elem *first = &list->words[w].elems[0];
			bool		seen[PF_KEYS] = {false};

			for (int m = 0; m < first->n; m++)
			{
				int			k = key_of(first->cp[m]);

				if (k < 0 || seen[k])
					continue;
				seen[k] = true;
				if (pass == 1)
					list->bucket[k][list->nbucket[k]] = w;
				list->nbucket[k]++;
			}
		}
	}
}

/* The word list, read from stockking.profanity_word and kept per backend */

static MemoryContext list_cxt;
static pf_list *word_list;
static bool list_valid;
static Oid	word_relid = InvalidOid;
static bool callback_registered;

static void
word_inval_callback(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == word_relid)
		list_valid = false;
}

static pf_list *
read_words(void)
{
	pf_list    *list;
	MemoryContext old;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	word_relid = get_relname_relid("profanity_word", get_namespace_oid("stockking", false));
	if (SPI_execute("SELECT w.pattern, w.action FROM stockking.profanity_word w ORDER BY w.id", true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read stockking.profanity_word");
	old = MemoryContextSwitchTo(list_cxt);
	list = palloc0(sizeof(pf_list));
	list->words = palloc0(sizeof(pf_word) * Max(SPI_processed, 1));
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		char	   *pattern = SPI_getvalue(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1);
		char	   *action = SPI_getvalue(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 2);
		pf_word    *w = &list->words[list->nwords];
		const char *why = parse_pattern(pattern, w);

		if (why != NULL)
			elog(ERROR, "stockking.profanity_word holds a malformed pattern \"%s\": %s", pattern, why);
		w->action = parse_action(action);
		list->nwords++;
	}
	index_words(list);
	MemoryContextSwitchTo(old);
	SPI_finish();
	return list;
}

static const pf_list *
current_words(void)
{
	if (GetDatabaseEncoding() != PG_UTF8)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("the community filter needs a UTF8 database")));
	if (!callback_registered)
	{
		CacheRegisterRelcacheCallback(word_inval_callback, (Datum) 0);
		callback_registered = true;
	}
	if (!list_valid)
	{
		if (list_cxt == NULL)
			list_cxt = AllocSetContextCreate(TopMemoryContext, "stockking profanity words", ALLOCSET_SMALL_SIZES);
		MemoryContextReset(list_cxt);
		word_list = NULL;
		list_valid = true;		/* a change during the read invalidates it again */
		PG_TRY();
		{
			word_list = read_words();
		}
		PG_CATCH();
		{
			list_valid = false;
			PG_RE_THROW();
		}
		PG_END_TRY();
	}
	return word_list;
}

/* Matching */

typedef enum elem_fit
{
	FIT_NONE,
	FIT_FULL,
	FIT_INITIAL					/* a syllable of the word against a lone consonant, its 초성 */
} elem_fit;

static elem_fit
elem_match(const pf_elem *e, const pf_unit *u)
{
	elem_fit	fit = FIT_NONE;

	for (int m = 0; m < e->n; m++)
	{
		int32		cp = e->cp[m];

		if (cp == u->cp)
			return FIT_FULL;
		if (u->kind == UK_CONSONANT && IS_SYLLABLE(cp) && SYL_L(cp) == cons_initial[u->cp - COMPAT_CONS])
			fit = FIT_INITIAL;
	}
	return fit;
}

/* between elements: a vowel alone, or a digit when neither element is one */
static bool
is_noise(const pf_unit *u, bool digits_matter)
{
	return u->kind == UK_VOWEL || (u->kind == UK_DIGIT && !digits_matter);
}

/* the syllables that carry an insult on after a spaced-out word (씨 발놈) */
static bool
insult_suffix(const pf_unit *u)
{
	static const char suffixes[] = "놈년새같련롬럼";

	if (u->kind != UK_SYLLABLE)
		return false;
	for (const unsigned char *p = (const unsigned char *) suffixes; *p; p += 3)
		if (utf8_to_unicode(p) == (pg_wchar) u->cp)
			return true;
	return false;
}

#define WORD_START(u, i)	((i) == 0 || (u)[i].gap != GAP_NONE)
#define WORD_END(u, n, j)	((j) == (n) || (u)[j].gap != GAP_NONE)

/*
 * Does word w match the units from i?  Returns the unit after the match,
 * or -1.  For ALLOW entries spaces are crossed freely.
 */
static int
match_at(const pf_word *w, const pf_unit *u, int n, int i)
{
	int			j = i;
	int			full = 0;
	int			initial = 0;
	bool		spans_space = false;
	const pf_elem *first = &w->elems[0];
	const pf_elem *last = &w->elems[w->n - 1];

	if (w->anchor_start && !WORD_START(u, i))
		return -1;
	if (first->digit && i > 0 && u[i].gap == GAP_NONE && u[i - 1].kind == UK_DIGIT)
		return -1;
	if (first->latin && w->n <= 3 && i > 0 && u[i].gap == GAP_NONE && u[i - 1].kind == UK_LATIN)
		return -1;
	for (int k = 0; k < w->n; k++)
	{
		const pf_elem *e = &w->elems[k];
		elem_fit	fit;

		if (k > 0)
		{
			bool		digits_matter = e->digit || w->elems[k - 1].digit;

			for (int skipped = 0; j < n && skipped < PF_MAX_SKIP && is_noise(&u[j], digits_matter); skipped++)
			{
				if (u[j].gap == GAP_SPACE)
					spans_space = true;
				j++;
			}
			if (j < n && u[j].gap == GAP_SPACE)
				spans_space = true;
		}
		if (j >= n)
			return -1;
		fit = elem_match(e, &u[j]);
		if (fit == FIT_NONE)
			return -1;
		if (fit == FIT_FULL)
			full++;
		else
			initial++;
		j++;
	}
	if (initial > 0 && full == 0)
		return -1;
	if (last->digit && j < n && u[j].gap == GAP_NONE && u[j].kind == UK_DIGIT)
		return -1;
	if (last->latin && w->n <= 3 && j < n && u[j].gap == GAP_NONE && u[j].kind == UK_LATIN)
		return -1;
	if (w->anchor_end && !WORD_END(u, n, j))
		return -1;
	if (spans_space && w->action != PF_ALLOW)
	{
		if (!WORD_START(u, i))
			return -1;
		if (!WORD_END(u, n, j) && !insult_suffix(&u[j]))
			return -1;
	}
	return j;
}

typedef struct pf_match
{
	int			first;			/* units [first, last) */
	int			last;
	int32		start;			/* bytes [start, end) */
	int32		end;
	uint8		action;
} pf_match;

typedef struct pf_matches
{
	pf_match   *m;
	int			n;
	int			cap;
} pf_matches;

/*
 * Every bad word of the stream that no ALLOW entry cancels, appended to
 * *out.  keyboard: the stream of keyboard runs (all-Hangul words only).
 */
static void
find_words(const pf_list *list, const pf_stream *s, bool keyboard, pf_matches *out)
{
	pf_matches	all = {palloc(sizeof(pf_match) * 8), 0, 8};

	for (int i = 0; i < s->n; i++)
	{
		int			key = key_of(s->u[i].cp);

		if (key < 0 || s->u[i].kind == UK_VOWEL)
			continue;
		for (int b = 0; b < list->nbucket[key]; b++)
		{
			const pf_word *w = &list->words[list->bucket[key][b]];
			int			j;

			if (keyboard && !w->hangul_only)
				continue;
			j = match_at(w, s->u, s->n, i);
			if (j < 0)
				continue;
			if (all.n == all.cap)
			{
				all.cap *= 2;
				all.m = repalloc(all.m, sizeof(pf_match) * all.cap);
			}
			all.m[all.n++] = (pf_match) {i, j, s->u[i].start, s->u[j - 1].end, w->action};
		}
	}
	for (int b = 0; b < all.n; b++)
	{
		bool		allowed = false;

		if (all.m[b].action == PF_ALLOW)
			continue;
		for (int a = 0; a < all.n && !allowed; a++)
			allowed = all.m[a].action == PF_ALLOW && all.m[a].first <= all.m[b].first &&
				all.m[a].last > all.m[b].first;
		if (allowed)
			continue;
		if (out->n == out->cap)
		{
			out->cap *= 2;
			out->m = repalloc(out->m, sizeof(pf_match) * out->cap);
		}
		out->m[out->n++] = all.m[b];
	}
	pfree(all.m);
}

static int
match_cmp(const void *a, const void *b)
{
	const pf_match *x = a;
	const pf_match *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return (x->end > y->end) - (x->end < y->end);
}

void
sk_profanity_filter(const char *text, int len, sk_filter_result *result)
{
	const pf_list *list = current_words();
	pf_stream	s;
	pf_stream	kb;
	pf_matches	bad = {palloc(sizeof(pf_match) * 8), 0, 8};
	StringInfoData out;
	int32		copied = 0;

	memset(result, 0, sizeof(*result));
	result->first_char = -1;
	result->first_refused = -1;
	stream_init(&s, len);
	read_units(text, len, &s);
	keyboard_runs(&s, &kb);
	find_words(list, &s, false, &bad);
	find_words(list, &kb, true, &bad);
	qsort(bad.m, bad.n, sizeof(pf_match), match_cmp);

	/* merge overlapping words; mask the MASK ones */
	initStringInfo(&out);
	for (int i = 0; i < bad.n;)
	{
		int32		start = bad.m[i].start;
		int32		end = bad.m[i].end;
		bool		refuse = bad.m[i].action == PF_REFUSE;
		int			j = i + 1;

		while (j < bad.n && bad.m[j].start < end)
		{
			end = Max(end, bad.m[j].end);
			refuse |= bad.m[j].action == PF_REFUSE;
			j++;
		}
		if (result->first_char < 0)
			result->first_char = pg_mbstrlen_with_len(text, start);
		if (refuse && result->first_refused < 0)
			result->first_refused = pg_mbstrlen_with_len(text, start);
		if (refuse)
			result->refused_words++;
		else
			result->masked_words++;
		appendBinaryStringInfo(&out, text + copied, start - copied);
		for (int32 k = start; k < end;)
		{
			int			l = pg_utf_mblen((const unsigned char *) text + k);
			pg_wchar	c = (l == 1) ? (unsigned char) text[k] : utf8_to_unicode((const unsigned char *) text + k);

			if (is_space(c))
				appendBinaryStringInfo(&out, text + k, l);
			else
				appendStringInfoChar(&out, '*');
			k += l;
		}
		copied = end;
		i = j;
	}
	appendBinaryStringInfo(&out, text + copied, len - copied);
	result->text = out.data;
	result->verdict = result->refused_words > 0 ? SK_FILTER_REFUSED :
		result->masked_words > 0 ? SK_FILTER_MASKED : SK_FILTER_CLEAN;
	pfree(s.u);
	pfree(kb.u);
	pfree(bad.m);
}

/* Personal data */

typedef struct pi_text
{
	int			n;
	pg_wchar   *c;
} pi_text;

static void
decode_text(const char *text, int len, pi_text *t)
{
	const unsigned char *p = (const unsigned char *) text;
	const unsigned char *end = p + len;

	t->c = palloc(sizeof(pg_wchar) * (len + 1));
	t->n = 0;
	while (p < end)
	{
		int			l = pg_utf_mblen(p);
		pg_wchar	c;

		if (l < 1 || p + l > end)
			l = 1;
		c = (l == 1) ? *p : utf8_to_unicode(p);
		if (c >= 0xFF01 && c <= 0xFF5E)
			c -= 0xFEE0;
		if (!is_invisible(c))
			t->c[t->n++] = c;
		p += l;
	}
}

/* is c one of the characters of the UTF-8 string set? */
static bool
cp_in(pg_wchar c, const char *set)
{
	for (const unsigned char *p = (const unsigned char *) set; *p; p += pg_utf_mblen(p))
		if (utf8_to_unicode(p) == c)
			return true;
	return false;
}

/* does the UTF-8 word occur at t[i]? */
static bool
word_at(const pi_text *t, int i, const char *word)
{
	for (const unsigned char *p = (const unsigned char *) word; *p; p += pg_utf_mblen(p), i++)
		if (i >= t->n || t->c[i] != utf8_to_unicode(p))
			return false;
	return true;
}

/* does any of the words (NULL-terminated) occur in the text? */
static bool
any_word(const pi_text *t, const char *const *words)
{
	for (int i = 0; i < t->n; i++)
		for (const char *const *w = words; *w; w++)
			if (word_at(t, i, *w))
				return true;
	return false;
}

static int
skip_spaces(const pi_text *t, int i, int most)
{
	while (most-- > 0 && i < t->n && t->c[i] == ' ')
		i++;
	return i;
}

static bool
is_dash(pg_wchar c)
{
	return c == '-' || (c >= 0x2010 && c <= 0x2015) || c == 0x2212 || c == 0x30FC;
}

/* the value of a digit: ASCII, or (hangul) a Hangul numeral syllable; -1 otherwise */
static int
digit_value(pg_wchar c, bool hangul)
{
	static const char numerals[] = "공영일이삼사오육륙칠팔구";
	static const int values[] = {0, 0, 1, 2, 3, 4, 5, 6, 6, 7, 8, 9};
	int			i = 0;

	if (c >= '0' && c <= '9')
		return c - '0';
	if (!hangul)
		return -1;
	for (const unsigned char *p = (const unsigned char *) numerals; *p; p += 3, i++)
		if (utf8_to_unicode(p) == c)
			return values[i];
	return -1;
}

/*
 * A number as written: groups of digits, each joined to the next by spaces
 * (one or two), or by one dash, dot or closing parenthesis with spaces
 * around it.  Every run of whole groups is classified on its own, so a date
 * followed by a phone number is no one long number.
 */
#define PI_MAX_GROUPS	16
#define PI_MAX_DIGITS	64

typedef enum pi_sep
{
	SEP_SPACE,
	SEP_DASH,
	SEP_OTHER					/* a dot or a parenthesis */
} pi_sep;

typedef struct pi_group
{
	int			offset;			/* into digits */
	int			len;
	int			hangul;			/* digits written as Hangul numerals */
	int			after;			/* text index after its last digit */
	uint8		sep;			/* pi_sep: what joins it to the next group */
} pi_group;

typedef struct pi_number
{
	char		digits[PI_MAX_DIGITS + 1];
	int			ndigits;
	pi_group	g[PI_MAX_GROUPS];
	int			ngroups;
} pi_number;

/* read the number at t[i]; returns the index after it */
static int
read_number(const pi_text *t, int i, bool hangul, pi_number *num)
{
	memset(num, 0, sizeof(*num));
	while (num->ngroups < PI_MAX_GROUPS)
	{
		pi_group   *g = &num->g[num->ngroups++];
		int			k;
		int			d;

		g->offset = num->ndigits;
		while (i < t->n && num->ndigits < PI_MAX_DIGITS && (d = digit_value(t->c[i], hangul)) >= 0)
		{
			num->digits[num->ndigits++] = '0' + d;
			g->len++;
			if (t->c[i] > 0x7F)
				g->hangul++;
			i++;
		}
		g->after = i;
		g->sep = SEP_SPACE;
		k = skip_spaces(t, i, 2);
		if (k < t->n && (is_dash(t->c[k]) || t->c[k] == '.' || t->c[k] == ')'))
		{
			g->sep = is_dash(t->c[k]) ? SEP_DASH : SEP_OTHER;
			k = skip_spaces(t, k + 1, 2);
		}
		if (k == i || k >= t->n || digit_value(t->c[k], hangul) < 0 || num->ndigits == PI_MAX_DIGITS)
			break;
		i = k;
	}
	num->digits[num->ndigits] = '\0';
	return num->g[num->ngroups - 1].after;
}

static bool
valid_birth_date(const char *d)
{
	static const int days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int			month = (d[2] - '0') * 10 + (d[3] - '0');
	int			day = (d[4] - '0') * 10 + (d[5] - '0');

	return month >= 1 && month <= 12 && day >= 1 && day <= days[month - 1];
}

/* a Korean mobile or landline number (digits d, n of them; +82 for the leading 0) */
static bool
is_phone(const char *d, int n, int hangul)
{
	char		local[PI_MAX_DIGITS + 1];

	if (n >= 11 && d[0] == '8' && d[1] == '2' && d[2] != '0')
	{
		local[0] = '0';
		strlcpy(local + 1, d + 2, sizeof(local) - 1);
		d = local;
		n--;
	}
	if (n < 9 || d[0] != '0')
		return false;
	if (d[1] == '1' && strchr("016789", d[2]) != NULL)
		return n == 10 || n == 11;
	if (hangul > 0)
		return false;			/* in Hangul numerals: mobile numbers only */
	if (d[1] == '2')
		return n == 9 || n == 10;
	if ((d[1] >= '3' && d[1] <= '6' && d[2] >= '1' && d[2] <= '5') || (d[1] == '7' && d[2] == '0'))
		return n == 10 || n == 11;
	return false;
}

/* a counter or unit right after a number (10주, 3번, 5분, 10km ...): the number counts something */
static bool
counted(const pi_text *t, int i)
{
	i = skip_spaces(t, i, 1);
	if (i >= t->n)
		return false;
	if (word_at(t, i, "번지") || word_at(t, i, "번길"))
		return false;
	if ((t->c[i] >= 'a' && t->c[i] <= 'z') || (t->c[i] >= 'A' && t->c[i] <= 'Z'))
		return true;
	return cp_in(t->c[i], "원주개명점달만억천년월일시분초번회권장살층등위배반학마킬센퍼정칸잔병벌켤대곳쪽줄판편통봉알톨쌍채척%$");
}

static const char *const bank_words[] = {
	"계좌", "통장", "은행", "입금", "송금", "이체", "뱅크", "카뱅", "토스", "농협", "우체국", "신협",
	"새마을금고", NULL
};

/* groups [g, h) of a number as personal data, or SK_PERSONAL_NONE */
static sk_personal_kind
classify_number(const pi_text *t, const pi_number *num, int g, int h, bool bank)
{
	char		d[PI_MAX_DIGITS + 1];
	int			n = 0;
	int			hangul = 0;
	bool		dashes = true;
	bool		other = false;
	bool		short_group = false;
	int			after = num->g[h - 1].after;

	for (int k = g; k < h; k++)
	{
		memcpy(d + n, num->digits + num->g[k].offset, num->g[k].len);
		n += num->g[k].len;
		hangul += num->g[k].hangul;
		short_group |= num->g[k].len < 2;
		if (k + 1 < h)
		{
			dashes &= num->g[k].sep == SEP_DASH;
			other |= num->g[k].sep == SEP_OTHER;
		}
	}
	d[n] = '\0';
	if (hangul > 0 && hangul < 3)
		return SK_PERSONAL_NONE;	/* a Hangul numeral or two is a word, not a digit */
	if (hangul == 0 && !other && n >= 7 && valid_birth_date(d) && d[6] >= '1' && d[6] <= '8')
	{
		/* YYMMDD-NNNNNNN, or masked after the seventh digit: 900101-1****** */
		if (n == 13 && (h - g == 1 || (h - g == 2 && num->g[g].len == 6)))
			return SK_PERSONAL_RRN;
		if (n == 7 && h - g == 2 && num->g[g].len == 6)
		{
			int			masked = 0;

			for (int i = after; i < t->n && masked < 6 && cp_in(t->c[i], "*xX●○"); i++)
				masked++;
			if (masked == 6)
				return SK_PERSONAL_RRN;
		}
	}
	if (is_phone(d, n, hangul))
		return SK_PERSONAL_PHONE;
	if (hangul == 0 && !other && !short_group && n >= 10 && n <= 16 && h - g <= 4 &&
		((h - g >= 3 && dashes) || (bank && !counted(t, after))))
		return SK_PERSONAL_ACCOUNT;
	return SK_PERSONAL_NONE;
}

static sk_personal_kind
find_numbers(const pi_text *t)
{
	bool		bank = any_word(t, bank_words);

	/* ASCII digits first, then Hangul numerals too (공일공 일이삼사 오육칠팔) */
	for (int pass = 0; pass < 2; pass++)
	{
		for (int i = 0; i < t->n;)
		{
			pi_number	num;

			if (digit_value(t->c[i], pass == 1) < 0)
			{
				i++;
				continue;
			}
			i = read_number(t, i, pass == 1, &num);
			for (int g = 0; g < num.ngroups; g++)
			{
				for (int h = g + 1; h <= num.ngroups; h++)
				{
					sk_personal_kind kind = classify_number(t, &num, g, h, bank);

					if (kind != SK_PERSONAL_NONE)
						return kind;
				}
			}
		}
	}
	return SK_PERSONAL_NONE;
}

static bool
email_local_char(pg_wchar c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		c == '.' || c == '_' || c == '%' || c == '+' || c == '-';
}

static bool
domain_char(pg_wchar c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
}

static bool
ascii_word_at(const pi_text *t, int i, const char *word)
{
	for (; *word; word++, i++)
		if (i >= t->n || t->c[i] > 0x7F || pg_ascii_tolower((unsigned char) t->c[i]) != *word)
			return false;
	return true;
}

static bool
find_email(const pi_text *t)
{
	static const char *const providers[] = {
		"naver", "gmail", "daum", "hanmail", "kakao", "nate", "hotmail", "outlook", "yahoo", "icloud", NULL
	};

	for (int i = 0; i < t->n; i++)
	{
		int			after;
		int			k;
		int			label;

		if (t->c[i] == '@')
			after = i + 1;
		else if (word_at(t, i, "골뱅이"))
			after = i + 3;
		else if (ascii_word_at(t, i, "(at)") || ascii_word_at(t, i, "[at]"))
			after = i + 4;
		else
			continue;
		k = i > 0 && t->c[i - 1] == ' ' ? i - 2 : i - 1;
		if (k < 0 || !email_local_char(t->c[k]))
			continue;
		k = skip_spaces(t, after, 1);
		label = k;
		while (k < t->n && domain_char(t->c[k]))
			k++;
		if (k == label)
			continue;
		for (const char *const *p = providers; *p; p++)
			if (ascii_word_at(t, label, *p))
				return true;
		/* a dot, 점 or 닷 (spaced or not), or (dot), then a top-level domain */
		k = skip_spaces(t, k, 1);
		if (k < t->n && (t->c[k] == '.' || t->c[k] == 0x3002 || word_at(t, k, "점") || word_at(t, k, "닷")))
			k++;
		else if (ascii_word_at(t, k, "(dot)") || ascii_word_at(t, k, "[dot]"))
			k += 5;
		else
			continue;
		k = skip_spaces(t, k, 1);
		label = k;
		while (k < t->n && ((t->c[k] >= 'a' && t->c[k] <= 'z') || (t->c[k] >= 'A' && t->c[k] <= 'Z')))
			k++;
		if (k - label >= 2)
			return true;
	}
	return false;
}

static int
read_digits(const pi_text *t, int i, int *count)
{
	*count = 0;
	while (i < t->n && t->c[i] >= '0' && t->c[i] <= '9')
	{
		i++;
		(*count)++;
	}
	return i;
}

static const char *const address_words[] = {
	"주소", "집", "살아", "살고", "사는", "산다", "아파트", "빌라", "오피스텔", "번지", "우편",
	"서울", "부산", "대구", "인천", "광주", "대전", "울산", "세종", "경기", "강원", "충북", "충남",
	"충청", "전북", "전남", "전라", "경북", "경남", "경상", "제주", NULL
};

static bool
find_address(const pi_text *t)
{
	bool		context = any_word(t, address_words);

	for (int i = 1; i < t->n; i++)
	{
		pg_wchar	c = t->c[i];
		int			k;
		int			digits;
		int			more;

		/* a road (…로, …길): its branch and building number, or a building number in context */
		if ((c == 0xB85C /* 로 */ || c == 0xAE38 /* 길 */) && IS_SYLLABLE(t->c[i - 1]) && t->c[i - 1] != 0xC73C /* 으로 */)
		{
			k = read_digits(t, skip_spaces(t, i + 1, 1), &digits);
			if (digits >= 1 && digits <= 4)
			{
				int			m = skip_spaces(t, k, 1);

				if (word_at(t, m, "번길") || word_at(t, m, "길"))
				{
					m = skip_spaces(t, m + (word_at(t, m, "번길") ? 2 : 1), 1);
					read_digits(t, m, &more);
					if (more >= 1 && more <= 4)
						return true;
				}
				if (k < t->n && is_dash(t->c[k]))
				{
					k = read_digits(t, k + 1, &more);
					if (more < 1 || more > 4)
						continue;
				}
				if (context && !counted(t, k))
					return true;
			}
		}
		/* a lot: …동 123-4, …리 56번지 */
		if ((c == 0xB3D9 /* 동 */ || c == 0xB9AC /* 리 */) && IS_SYLLABLE(t->c[i - 1]))
		{
			k = read_digits(t, skip_spaces(t, i + 1, 1), &digits);
			if (digits >= 1 && digits <= 4)
			{
				if (word_at(t, k, "번지"))
					return true;
				if (k < t->n && is_dash(t->c[k]))
				{
					k = read_digits(t, k + 1, &more);
					if (more >= 1 && more <= 4 && !counted(t, k))
						return true;
				}
			}
		}
		/* an apartment: 101동 1203호 */
		if (c == 0xB3D9 /* 동 */ && t->c[i - 1] >= '0' && t->c[i - 1] <= '9')
		{
			k = read_digits(t, skip_spaces(t, i + 1, 1), &digits);
			if (digits >= 1 && digits <= 4 && k < t->n && t->c[k] == 0xD638 /* 호 */)
				return true;
		}
	}
	return false;
}

sk_personal_kind
sk_personal_data(const char *text, int len)
{
	pi_text		t;
	sk_personal_kind kind;

	decode_text(text, len, &t);
	kind = find_numbers(&t);
	if (kind == SK_PERSONAL_NONE && find_email(&t))
		kind = SK_PERSONAL_EMAIL;
	if (kind == SK_PERSONAL_NONE && find_address(&t))
		kind = SK_PERSONAL_ADDRESS;
	pfree(t.c);
	return kind;
}

static const char *
personal_kind_name(sk_personal_kind kind)
{
	switch (kind)
	{
		case SK_PERSONAL_PHONE:
			return "PHONE";
		case SK_PERSONAL_EMAIL:
			return "EMAIL";
		case SK_PERSONAL_ADDRESS:
			return "ADDRESS";
		case SK_PERSONAL_ACCOUNT:
			return "ACCOUNT";
		case SK_PERSONAL_RRN:
			return "RRN";
		case SK_PERSONAL_NONE:
			break;
	}
	return NULL;
}

char *
sk_clean_text(const char *field, const char *text, bool allow_mask, int *masked_words)
{
	int			len = strlen(text);
	sk_personal_kind kind = sk_personal_data(text, len);
	sk_filter_result r;

	if (kind != SK_PERSONAL_NONE)
	{
		static const struct
		{
			int			sqlstate;
			const char *what;
		}			kinds[] = {
			[SK_PERSONAL_PHONE] = {ERRCODE_SK_PERSONAL_PHONE, "a phone number"},
			[SK_PERSONAL_EMAIL] = {ERRCODE_SK_PERSONAL_EMAIL, "an e-mail address"},
			[SK_PERSONAL_ADDRESS] = {ERRCODE_SK_PERSONAL_ADDRESS, "a street address"},
			[SK_PERSONAL_ACCOUNT] = {ERRCODE_SK_PERSONAL_ACCOUNT, "a bank account or card number"},
			[SK_PERSONAL_RRN] = {ERRCODE_SK_PERSONAL_RRN, "a resident registration number"},
		};

		ereport(ERROR,
				(errcode(kinds[kind].sqlstate),
				 errmsg("field \"%s\" contains %s", field, kinds[kind].what),
				 errdetail("Phone numbers, e-mail and street addresses, bank account and resident registration numbers are not shared on the board."),
				 errhint("Remove it and try again; talk to a parent if someone asks for it.")));
	}
	sk_profanity_filter(text, len, &r);
	if (r.verdict == SK_FILTER_REFUSED || (r.verdict == SK_FILTER_MASKED && !allow_mask))
		ereport(ERROR,
				(errcode(ERRCODE_SK_TEXT_NOT_ALLOWED),
				 errmsg("field \"%s\" contains words that are not allowed", field),
				 errdetail("Words not allowed here: %d, the first at character %d.",
						   r.refused_words + (allow_mask ? 0 : r.masked_words),
						   (allow_mask ? r.first_refused : r.first_char) + 1)));
	if (masked_words != NULL)
		*masked_words = r.masked_words;
	return r.text;
}

/* SQL functions */

/*
 * stockking.profanity_filter(text, OUT verdict text, OUT masked text,
 * OUT masked_words integer, OUT refused_words integer)
 */
Datum
stockking_profanity_filter(PG_FUNCTION_ARGS)
{
	text	   *in = PG_GETARG_TEXT_PP(0);
	TupleDesc	tupdesc;
	sk_filter_result r;
	Datum		values[4];
	bool		nulls[4] = {false};
	static const char *const verdicts[] = {"CLEAN", "MASKED", "REFUSED"};

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "profanity_filter must return a record");
	sk_profanity_filter(VARDATA_ANY(in), VARSIZE_ANY_EXHDR(in), &r);
	values[0] = CStringGetTextDatum(verdicts[r.verdict]);
	values[1] = CStringGetTextDatum(r.text);
	values[2] = Int32GetDatum(r.masked_words);
	values[3] = Int32GetDatum(r.refused_words);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls)));
}

/* stockking.profanity_pattern_ok(text) RETURNS boolean; raises 22023 saying why when not */
Datum
stockking_profanity_pattern_ok(PG_FUNCTION_ARGS)
{
	char	   *pattern = text_to_cstring(PG_GETARG_TEXT_PP(0));
	pf_word		w;
	const char *why = parse_pattern(pattern, &w);

	if (why != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("pattern \"%s\" is malformed: %s", pattern, why)));
	PG_RETURN_BOOL(true);
}

/* stockking.personal_data(text) RETURNS text: PHONE, EMAIL, ADDRESS, ACCOUNT, RRN or NULL */
Datum
stockking_personal_data(PG_FUNCTION_ARGS)
{
	text	   *in = PG_GETARG_TEXT_PP(0);
	const char *name = personal_kind_name(sk_personal_data(VARDATA_ANY(in), VARSIZE_ANY_EXHDR(in)));

	if (name == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(name));
}

/* stockking.clean_text(field text, value text, allow_mask boolean) RETURNS text: see sk_clean_text */
Datum
stockking_clean_text(PG_FUNCTION_ARGS)
{
	char	   *field = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *value = text_to_cstring(PG_GETARG_TEXT_PP(1));

	PG_RETURN_TEXT_P(cstring_to_text(sk_clean_text(field, value, PG_GETARG_BOOL(2), NULL)));
}

/*
 * stockking.profanity_bench(texts text[], loops integer) RETURNS jsonb
 *
 * The filter and the personal-data detector alone, each in a loop over the
 * texts: what one core checks per second (the word list is read first).
 */
Datum
stockking_profanity_bench(PG_FUNCTION_ARGS)
{
	ArrayType  *arr = PG_GETARG_ARRAYTYPE_P(0);
	int32		loops = PG_GETARG_INT32(1);
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	int64		bytes = 0;
	double		seconds[2];
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "profanity bench", ALLOCSET_DEFAULT_SIZES);
	MemoryContext old;
	StringInfoData buf;

	if (loops < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("loops must be at least 1")));
	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	current_words();
	for (int pass = 0; pass < 2; pass++)
	{
		instr_time	start;
		instr_time	duration;

		INSTR_TIME_SET_CURRENT(start);
		for (int32 l = 0; l < loops; l++)
		{
			old = MemoryContextSwitchTo(cxt);
			for (int i = 0; i < n; i++)
			{
				text	   *t;
				sk_filter_result r;

				if (nulls[i])
					continue;
				t = DatumGetTextPP(elems[i]);
				if (pass == 0)
				{
					sk_profanity_filter(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), &r);
					if (l == 0)
						bytes += VARSIZE_ANY_EXHDR(t);
				}
				else
					(void) sk_personal_data(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
			}
			MemoryContextSwitchTo(old);
			MemoryContextReset(cxt);
			CHECK_FOR_INTERRUPTS();
		}
		INSTR_TIME_SET_CURRENT(duration);
		INSTR_TIME_SUBTRACT(duration, start);
		seconds[pass] = INSTR_TIME_GET_DOUBLE(duration);
	}
	MemoryContextDelete(cxt);
	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"texts\": %d, \"loops\": %d, \"average_bytes\": %.1f, "
					 "\"filter_seconds\": %.3f, \"filter_texts_per_second\": %.0f, "
					 "\"personal_seconds\": %.3f, \"personal_texts_per_second\": %.0f}",
					 n, loops, n > 0 ? (double) bytes / n : 0.0,
					 seconds[0], seconds[0] > 0 ? (double) n * loops / seconds[0] : 0.0,
					 seconds[1], seconds[1] > 0 ? (double) n * loops / seconds[1] : 0.0);
	PG_RETURN_DATUM(sk_jsonb_from_buf(&buf));
}
