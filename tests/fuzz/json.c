/* See LICENSE file for copyright and license details.
 *
 * tests/fuzz/json.c: fuzz target for vtcode.c's json section.  One file,
 * two builds running the same check on the same bytes:
 *
 *   make tests/fuzz/json-fuzzer   libFuzzer (clang), ASan + UBSan + LSan
 *   make tests/fuzz/json          plain driver (-DFUZZ_DRIVER), ASan + UBSan:
 *                                 tests/fuzz/json FILE exits 0 when jsonparse
 *                                 accepted FILE, 1 when it refused it (the
 *                                 jsonerror() sentence on stderr), 2 on a
 *                                 usage or I/O error; a failed check or a
 *                                 sanitizer report aborts.
 *
 * Seed corpus: tests.sh seeds the fuzzer from
 * ../shared/testdata/json/test_parsing, the JSONTestSuite (y_* must parse,
 * n_* must not, i_* either way): every kind of token and every kind of
 * refusal, which the fuzzer then splices and mutates.  By hand:
 *
 *   mkdir -p /tmp/fz && tests/fuzz/json-fuzzer -max_total_time=120 \
 *       -max_len=4096 /tmp/fz ../shared/testdata/json/test_parsing
 *
 * What one input goes through:
 *   1. jsonparse with one token per input byte (a token starts at a byte
 *      of its own, so "too many tokens" must never happen), then again
 *      with exactly ntok, ntok - 1 and a tiny count from the first byte.
 *   2. Accepted: every token is walked and checked against an
 *      independent reading of the bytes (types, spans, the separators
 *      between tokens, next, size), and every accessor is called on it.
 *   3. Round trip through the writer: the tree rebuilt call by call must
 *      parse to the same shape and values, and a second rebuild must be
 *      a byte-for-byte fixed point.
 *   4. The raw bytes as one string and as one key: the writer's output
 *      must parse back to the bytes, ill-formed UTF-8 repaired.
 *   5. jwtok of the root, bare and inside an array.
 *   6. The bytes as a program of writer calls, against a model of which
 *      calls make valid JSON: the writer must refuse exactly the others,
 *      and whatever it calls complete must parse.
 * Everything is freed: libFuzzer's leak check fails any leak.
 */
#define VTCODE_NOMAIN
#include "../../vtcode.c"
#include "driver.h"

/* a failed check is a bug in vtcode.c (or here): crash so that libFuzzer
 * saves the input and the driver's exit status says so */
#define CHECK(c)        ((c) ? (void)0 : fzfail(__LINE__, #c))

/* arrays larger than this get a sample of their O(n) lookups checked,
 * so one 8 KiB input cannot cost O(n^2) */
#define FZSAMPLE        256

/* bound on the writer's output in program(): a few bytes of program can
 * copy the whole input with jwtok, so without it an 8 KiB input could
 * build a document past MAXJSONSIZE.  Within this parse() never runs
 * out of tokens either (ntok <= len <= MAXJSONTOKENS). */
#define FZOUTMAX        MIN(MAXJSONSIZE, MAXJSONTOKENS)

typedef struct {
	JDoc d;
	const char *buf;
	size_t len;
	char **ustr;    /* each string token unescaped (jsonstr), else NULL */
	size_t *ulen;
	int *sub;       /* container nesting of each token's subtree */
} Ctx;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fzfail(int line, const char *what);
static int fzsampled(int i, int n);
static size_t u8seq(const unsigned char *s, size_t n, int *ok);
static int u8valid(const char *s, size_t n);
static void u8repair(Buf *b, const char *s, size_t n);
static int hexval(int c);
static int refhex4(const unsigned char *s, size_t n, size_t i, uint32_t *v);
static void refenc(Buf *b, uint32_t cp);
static int refunescape(Buf *b, const char *s, size_t n);
static int refnumber(const char *s, size_t n, int *isint);
static int isws(int c);
static size_t ostart(const JTok *k);
static size_t oend(const JTok *k);
static void gap(const Ctx *c, size_t a, size_t z, int sep);
static void checkother(const Ctx *c, int t);
static void checkstr(Ctx *c, int t);
static void checknum(const Ctx *c, int t);
static void checklit(const Ctx *c, int t);
static int wantget(const Ctx *c, int t, const char *key);
static void checkget(const Ctx *c, int t);
static int walk(Ctx *c, int t, int depth);
static int parse(JDoc *d, const char *buf, size_t len, JTok **tok);
static void checklimits(const Ctx *c);
static void checkrejected(const Ctx *c);
static void emitstr(JWriter *w, const JDoc *d, int t, int iskey);
static int emit(JWriter *w, const JDoc *d, int t);
static void roundtrip(const Ctx *c);
static void rawstring(const Ctx *c);
static void rawtok(const Ctx *c);
static uint64_t argu64(const unsigned char *p, size_t n, size_t *i);
static void program(const Ctx *c, const unsigned char *p, size_t n);
static int fuzzone(const char *data, size_t size, char *msg, size_t sz);

static void
fzfail(int line, const char *what)
{
	fprintf(stderr, "json: check failed: tests/fuzz/json.c:%d: %s\n",
	    line, what);
	abort();
}

static int
fzsampled(int i, int n)
{
	return n <= FZSAMPLE || i < 16 || i >= n - 16 || i % 61 == 0;
}

/*
 * Reference UTF-8, written from Unicode's Table 3-7 rather than from
 * utf8dec() so the two can disagree.  Returns the length of the
 * well-formed sequence at s (*ok = 1) or of its maximal ill-formed
 * subpart (*ok = 0), which a repair turns into one U+FFFD.
 */
static size_t
u8seq(const unsigned char *s, size_t n, int *ok)
{
	static const struct {
		unsigned char lead0, lead1, len, lo, hi;
	} row[] = {
		{ 0x00, 0x7F, 1, 0x00, 0x00 },
		{ 0xC2, 0xDF, 2, 0x80, 0xBF },
		{ 0xE0, 0xE0, 3, 0xA0, 0xBF },
		{ 0xE1, 0xEC, 3, 0x80, 0xBF },
		{ 0xED, 0xED, 3, 0x80, 0x9F },
		{ 0xEE, 0xEF, 3, 0x80, 0xBF },
		{ 0xF0, 0xF0, 4, 0x90, 0xBF },
		{ 0xF1, 0xF3, 4, 0x80, 0xBF },
		{ 0xF4, 0xF4, 4, 0x80, 0x8F },
	};
	size_t r, k;

	for (r = 0; r < LEN(row); r++)
		if (s[0] >= row[r].lead0 && s[0] <= row[r].lead1)
			break;
	*ok = 0;
	if (r == LEN(row))
		return 1;
	for (k = 1; k < row[r].len; k++) {
		if (k >= n)
			return k;
		if (k == 1 ? s[1] < row[r].lo || s[1] > row[r].hi :
		    s[k] < 0x80 || s[k] > 0xBF)
			return k;
	}
	*ok = 1;
	return k;
}

static int
u8valid(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;
	int ok;

	while (i < n) {
		i += u8seq(u + i, n - i, &ok);
		if (!ok)
			return 0;
	}
	return 1;
}

static void
u8repair(Buf *b, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, k;
	int ok;

	while (i < n) {
		k = u8seq(u + i, n - i, &ok);
		if (ok)
			bufadd(b, u + i, k);
		else
			bufadd(b, "\xEF\xBF\xBD", 3);
		i += k;
	}
}

static int
hexval(int c)
{
	const char *x = "0123456789abcdef", *X = "0123456789ABCDEF", *p;

	if (c != '\0' && (p = strchr(x, c)) != NULL)
		return (int)(p - x);
	if (c != '\0' && (p = strchr(X, c)) != NULL)
		return (int)(p - X);
	return -1;
}

static int
refhex4(const unsigned char *s, size_t n, size_t i, uint32_t *v)
{
	size_t k;
	int h;

	*v = 0;
	if (i + 4 > n)
		return 0;
	for (k = i; k < i + 4; k++) {
		if ((h = hexval(s[k])) < 0)
			return 0;
		*v = *v * 16 + (uint32_t)h;
	}
	return 1;
}

static void
refenc(Buf *b, uint32_t cp)
{
	if (cp < 0x80) {
		bufaddc(b, (int)cp);
	} else if (cp < 0x800) {
		bufaddc(b, (int)(0xC0 + cp / 64));
		bufaddc(b, (int)(0x80 + cp % 64));
	} else if (cp < 0x10000) {
		bufaddc(b, (int)(0xE0 + cp / 4096));
		bufaddc(b, (int)(0x80 + cp / 64 % 64));
		bufaddc(b, (int)(0x80 + cp % 64));
	} else {
		bufaddc(b, (int)(0xF0 + cp / 262144));
		bufaddc(b, (int)(0x80 + cp / 4096 % 64));
		bufaddc(b, (int)(0x80 + cp / 64 % 64));
		bufaddc(b, (int)(0x80 + cp % 64));
	}
}

/* the bytes between a string's quotes, validated against RFC 8259 and
 * unescaped into b with no help from the parser; 0 or -1 */
static int
refunescape(Buf *b, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, k;
	uint32_t cp, lo;
	int ok;

	while (i < n) {
		if (s[i] < 0x20 || s[i] == '"')
			return -1;
		if (s[i] >= 0x80) {
			k = u8seq(s + i, n - i, &ok);
			if (!ok)
				return -1;
			bufadd(b, s + i, k);
			i += k;
			continue;
		}
		if (s[i] != '\\') {
			bufaddc(b, s[i++]);
			continue;
		}
		if (++i >= n)
			return -1;
		switch (s[i++]) {
		case '"':  bufaddc(b, '"'); continue;
		case '\\': bufaddc(b, '\\'); continue;
		case '/':  bufaddc(b, '/'); continue;
		case 'b':  bufaddc(b, 8); continue;
		case 'f':  bufaddc(b, 12); continue;
		case 'n':  bufaddc(b, 10); continue;
		case 'r':  bufaddc(b, 13); continue;
		case 't':  bufaddc(b, 9); continue;
		case 'u':  break;
		default:   return -1;
		}
		if (!refhex4(s, n, i, &cp))
			return -1;
		i += 4;
		if (cp >= 0xD800 && cp < 0xDC00) {
			if (i + 2 > n || s[i] != '\\' || s[i + 1] != 'u' ||
			    !refhex4(s, n, i + 2, &lo) ||
			    lo < 0xDC00 || lo >= 0xE000)
				return -1;
			i += 6;
			cp = 0x10000 + (cp - 0xD800) * 0x400 + (lo - 0xDC00);
		} else if (cp >= 0xDC00 && cp < 0xE000) {
			return -1;
		}
		refenc(b, cp);
	}
	return 0;
}

/* is s[0..n) exactly one RFC 8259 number? */
static int
refnumber(const char *s, size_t n, int *isint)
{
	size_t i = 0, d;

	*isint = 1;
	if (i < n && s[i] == '-')
		i++;
	for (d = i; i < n && s[i] >= '0' && s[i] <= '9'; i++)
		;
	if (i == d || (s[d] == '0' && i - d > 1))
		return 0;
	if (i < n && s[i] == '.') {
		*isint = 0;
		for (d = ++i; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			;
		if (i == d)
			return 0;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		*isint = 0;
		if (++i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		for (d = i; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			;
		if (i == d)
			return 0;
	}
	return i == n;
}

static int
isws(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* a token's span including a string's quotes */
static size_t
ostart(const JTok *k)
{
	return k->start - (k->type == JString);
}

static size_t
oend(const JTok *k)
{
	return k->end + (k->type == JString);
}

/* between two tokens only whitespace and exactly the separator sep (none
 * when 0): with the token checks this accounts for every input byte */
static void
gap(const Ctx *c, size_t a, size_t z, int sep)
{
	int seen = 0;

	CHECK(a <= z && z <= c->len);
	for (; a < z; a++) {
		if (isws((unsigned char)c->buf[a]))
			continue;
		CHECK(sep != 0 && c->buf[a] == sep && !seen);
		seen = 1;
	}
	CHECK(seen == (sep != 0));
}

/* the accessors for the types t is not must all say no */
static void
checkother(const Ctx *c, int t)
{
	const JDoc *d = &c->d;
	int ty = jsontype(d, t), b;
	char s[8];
	size_t n;
	int64_t v;
	double x;

	if (ty != JObject)
		CHECK(jsonget(d, t, "") == -1);
	if (ty != JArray)
		CHECK(jsonat(d, t, 0) == -1);
	if (ty != JString) {
		CHECK(jsonstr(d, t, s, sizeof(s), &n) == -1);
		CHECK(jsonstrdup(d, t) == NULL);
	}
	if (ty != JNumber) {
		CHECK(jsonint(d, t, INT64_MIN, INT64_MAX, &v) == -1);
		CHECK(jsondbl(d, t, &x) == -1);
	}
	if (ty != JTrue && ty != JFalse)
		CHECK(jsonbool(d, t, &b) == -1);
}

static void
checkstr(Ctx *c, int t)
{
	const JDoc *d = &c->d;
	const JTok *k = &d->tok[t];
	size_t n = k->end - k->start, len, l2;
	char *s, *s2, *dup;
	Buf ref;
	int nul;

	CHECK(k->start >= 1 && c->buf[k->start - 1] == '"');
	CHECK(k->end < c->len && c->buf[k->end] == '"');
	CHECK(k->size == 0 && k->next == t + 1 && !k->isint);
	CHECK(k->escaped == (memchr(c->buf + k->start, '\\', n) != NULL));

	/* unescaping never grows a string, so n + 1 bytes always do */
	s = xmalloc(n + 1);
	CHECK(jsonstr(d, t, s, n + 1, &len) == 0);
	CHECK(len <= n && s[len] == '\0');
	CHECK(u8valid(s, len));
	if (!k->escaped)
		CHECK(len == n && memcmp(s, c->buf + k->start, n) == 0);
	bufinit(&ref, 0);
	CHECK(refunescape(&ref, c->buf + k->start, n) == 0);
	CHECK(!ref.err && ref.len == len &&
	    (len == 0 || memcmp(ref.p, s, len) == 0));
	buffree(&ref);

	/* exactly len + 1 bytes fit, len do not; exact heap sizes let ASan
	 * see a one-byte overrun */
	s2 = xmalloc(len + 1);
	CHECK(jsonstr(d, t, s2, len + 1, &l2) == 0);
	CHECK(l2 == len && memcmp(s2, s, len + 1) == 0);
	free(s2);
	s2 = xmalloc(len ? len : 1);
	CHECK(jsonstr(d, t, s2, len, &l2) == -1);
	free(s2);

	/* without outlen a C string is promised: U+0000 must be refused */
	nul = memchr(s, '\0', len) != NULL;
	s2 = xmalloc(n + 1);
	CHECK(jsonstr(d, t, s2, n + 1, NULL) == (nul ? -1 : 0));
	if (!nul)
		CHECK(strlen(s2) == len && memcmp(s2, s, len) == 0);
	free(s2);
	dup = jsonstrdup(d, t);
	CHECK((dup == NULL) == nul);
	if (dup != NULL)
		CHECK(strcmp(dup, s) == 0);
	free(dup);

	c->ustr[t] = s;
	c->ulen[t] = len;
}

static void
checknum(const Ctx *c, int t)
{
	const JDoc *d = &c->d;
	const JTok *k = &d->tok[t];
	size_t n = k->end - k->start;
	char *num, *end;
	int isint, iok, dok;
	int64_t v, w;
	long long ll;
	double x, y;

	CHECK(k->size == 0 && k->next == t + 1 && !k->escaped);
	CHECK(refnumber(c->buf + k->start, n, &isint));
	CHECK(k->isint == isint);
	num = xmalloc(n + 1);
	memcpy(num, c->buf + k->start, n);
	num[n] = '\0';

	/* jsonint: strtoll's answer whenever that is in range */
	iok = jsonint(d, t, INT64_MIN, INT64_MAX, &v) == 0;
	if (!isint) {
		CHECK(!iok);
	} else {
		errno = 0;
		ll = strtoll(num, &end, 10);
		CHECK(end == num + n);
		CHECK(iok == (errno != ERANGE));
		if (iok)
			CHECK(v == ll);
	}
	if (iok) {
		/* the bounds are inclusive and exact */
		CHECK(jsonint(d, t, v, v, &w) == 0 && w == v);
		if (v < INT64_MAX)
			CHECK(jsonint(d, t, v + 1, INT64_MAX, &w) == -1);
		if (v > INT64_MIN)
			CHECK(jsonint(d, t, INT64_MIN, v - 1, &w) == -1);
		CHECK((jsonint(d, t, 0, INT64_MAX, &w) == 0) == (v >= 0));
		CHECK((jsonint(d, t, INT64_MIN, 0, &w) == 0) == (v <= 0));
	}

	/* jsondbl: strtod's answer, refused only when it is infinite or
	 * the text is longer than MAXJSONNUMLEN */
	dok = jsondbl(d, t, &x) == 0;
	if (n > MAXJSONNUMLEN) {
		CHECK(!dok);
	} else {
		y = strtod(num, &end);
		CHECK(end == num + n);
		CHECK(dok == (isfinite(y) != 0));
		if (dok)
			CHECK(memcmp(&x, &y, sizeof(x)) == 0);
	}
	if (dok && iok && v > -(INT64_C(1) << 53) && v < INT64_C(1) << 53)
		CHECK(x == (double)v);
	free(num);
}

static void
checklit(const Ctx *c, int t)
{
	const JTok *k = &c->d.tok[t];
	const char *want;
	int b;

	want = k->type == JTrue ? "true" : k->type == JFalse ? "false" :
	    "null";
	CHECK(k->size == 0 && k->next == t + 1 && !k->escaped && !k->isint);
	CHECK(k->end - k->start == strlen(want) &&
	    memcmp(c->buf + k->start, want, strlen(want)) == 0);
	if (k->type != JNull)
		CHECK(jsonbool(&c->d, t, &b) == 0 && b == (k->type == JTrue));
}

/* what jsonget(t, key) must say, judged here by the unescaped bytes:
 * the value of the one member with that key, -2 for several, -1 none */
static int
wantget(const Ctx *c, int t, const char *key)
{
	const JDoc *d = &c->d;
	size_t n = strlen(key);
	int i, m, want = -1;

	for (i = 0, m = t + 1; i < d->tok[t].size; i++,
	    m = d->tok[m + 1].next) {
		if (c->ulen[m] != n || memcmp(c->ustr[m], key, n) != 0)
			continue;
		if (want != -1)
			return -2;
		want = m + 1;
	}
	return want;
}

/* jsonget on each key, and on near misses of it (a byte longer, the
 * last byte changed, a byte shorter) that a sloppy compare would take */
static void
checkget(const Ctx *c, int t)
{
	const JDoc *d = &c->d;
	const JTok *o = &d->tok[t];
	int i, m;
	size_t n;
	char *key;

	for (i = 0, m = t + 1; i < o->size; i++, m = d->tok[m + 1].next) {
		if (!fzsampled(i, o->size))
			continue;
		/* a C string key cannot name a key holding U+0000 */
		if (memchr(c->ustr[m], '\0', c->ulen[m]) != NULL)
			continue;
		n = c->ulen[m];
		key = xmalloc(n + 2);
		memcpy(key, c->ustr[m], n + 1);
		CHECK(jsonget(d, t, key) == wantget(c, t, key));
		key[n] = 'x';
		key[n + 1] = '\0';
		CHECK(jsonget(d, t, key) == wantget(c, t, key));
		key[n] = '\0';
		if (n > 0) {
			key[n - 1] ^= 1;
			CHECK(jsonget(d, t, key) == wantget(c, t, key));
			key[n - 1] = '\0';
			CHECK(jsonget(d, t, key) == wantget(c, t, key));
		}
		free(key);
	}
	/* no key unescapes to ill-formed UTF-8 */
	CHECK(jsonget(d, t, "\xFF") == -1);
	CHECK(jsonat(d, t, 0) == -1);
}

/* check token t's subtree; returns the token after it */
static int
walk(Ctx *c, int t, int depth)
{
	const JDoc *d = &c->d;
	const JTok *k, *p;
	int i, m, prev = -1, isobj;

	CHECK(t >= 0 && t < d->ntok);
	k = jsontok(d, t);
	CHECK(k == &d->tok[t]);
	CHECK(k->next > t && k->next <= d->ntok);
	CHECK(k->start <= k->end && k->end <= c->len);
	CHECK(jsontype(d, t) == k->type);
	c->sub[t] = 0;
	checkother(c, t);
	switch (k->type) {
	case JObject:
	case JArray:
		isobj = k->type == JObject;
		CHECK(depth < MAXJSONDEPTH);
		CHECK(k->end - k->start >= 2 && !k->escaped && !k->isint);
		CHECK(c->buf[k->start] == (isobj ? '{' : '['));
		CHECK(c->buf[k->end - 1] == (isobj ? '}' : ']'));
		CHECK(k->size >= 0 && k->size <= k->next - t);
		m = t + 1;
		for (i = 0; i < k->size; i++) {
			CHECK(m < k->next);
			p = prev < 0 ? NULL : &d->tok[prev];
			gap(c, p ? oend(p) : k->start + 1, ostart(&d->tok[m]),
			    p ? ',' : 0);
			if (isobj) {
				CHECK(d->tok[m].type == JString);
				CHECK(walk(c, m, depth + 1) == m + 1);
				CHECK(m + 1 < k->next);
				gap(c, oend(&d->tok[m]), ostart(&d->tok[m + 1]),
				    ':');
				m++;
			} else if (fzsampled(i, k->size)) {
				CHECK(jsonat(d, t, i) == m);
			}
			prev = m;
			m = walk(c, m, depth + 1);
			c->sub[t] = MAX(c->sub[t], c->sub[prev]);
		}
		CHECK(m == k->next);
		p = prev < 0 ? NULL : &d->tok[prev];
		gap(c, p ? oend(p) : k->start + 1, k->end - 1, 0);
		c->sub[t]++;
		if (isobj) {
			checkget(c, t);
		} else {
			CHECK(jsonat(d, t, -1) == -1);
			CHECK(jsonat(d, t, k->size) == -1);
		}
		break;
	case JString:
		checkstr(c, t);
		break;
	case JNumber:
		checknum(c, t);
		break;
	case JTrue:
	case JFalse:
	case JNull:
		checklit(c, t);
		break;
	default:
		CHECK(!"token type out of range");
	}
	return k->next;
}

/* parse with one token per byte, in a heap array of exactly that size
 * so that ASan catches a write past maxtok */
static int
parse(JDoc *d, const char *buf, size_t len, JTok **tok)
{
	int max = len < MAXJSONTOKENS ? (int)len : MAXJSONTOKENS;
	int n;

	*tok = xmalloc((size_t)(max > 0 ? max : 1) * sizeof(**tok));
	n = jsonparse(d, buf, len, *tok, max);
	CHECK(n == -1 || (n >= 1 && n == d->ntok && d->err == NULL));
	CHECK(n >= 0 || (d->err != NULL && d->erroff <= len));
	if ((size_t)max == len && n < 0)
		CHECK(strcmp(d->err, "too many tokens") != 0);
	return n;
}

/* the token limit changes where a parse stops, never what it finds */
static void
checklimits(const Ctx *c)
{
	const JDoc *d = &c->d;
	JDoc e;
	JTok *tok;
	int max, n, i;

	max = c->len > 0 ? (unsigned char)c->buf[0] % 8 : 0;
	for (i = 0; i < 3; i++) {
		if (i == 1 && d->err == NULL)
			max = d->ntok;
		else if (i == 2 && d->err == NULL)
			max = d->ntok - 1;
		else if (i > 0)
			break;
		tok = xmalloc((size_t)(max > 0 ? max : 1) * sizeof(*tok));
		n = jsonparse(&e, c->buf, c->len, tok, max);
		if (d->err == NULL && max >= d->ntok) {
			CHECK(n == d->ntok && e.err == NULL);
			CHECK(memcmp(tok, d->tok, (size_t)n * sizeof(*tok))
			    == 0);
		} else if (e.err != NULL &&
		    strcmp(e.err, "too many tokens") == 0) {
			CHECK(n == -1);
			CHECK(d->err == NULL || e.erroff <= d->erroff);
		} else {
			/* the limit was not reached: the same refusal */
			CHECK(n == -1 && d->err != NULL && e.err == d->err &&
			    e.erroff == d->erroff);
		}
		free(tok);
	}
}

/* a refused document has no tokens to hand out */
static void
checkrejected(const Ctx *c)
{
	const JDoc *d = &c->d;
	char msg[128], s[8];
	JWriter w;
	Buf b;

	CHECK(jsontok(d, 0) == NULL && jsontype(d, 0) == JNone);
	CHECK(jsonget(d, 0, "") == -1 && jsonat(d, 0, 0) == -1);
	CHECK(jsonstr(d, 0, s, sizeof(s), NULL) == -1);
	jsonerror(d, msg, sizeof(msg));
	CHECK(strncmp(msg, "byte ", 5) == 0);
	bufinit(&b, 0);
	jwinit(&w, &b);
	jwtok(&w, d, 0);
	CHECK(!jwdone(&w) && b.len == 0);
	buffree(&b);
}

static void
emitstr(JWriter *w, const JDoc *d, int t, int iskey)
{
	const JTok *k = &d->tok[t];
	size_t len;
	char *s;
	int nul;

	s = xmalloc(k->end - k->start + 1);
	CHECK(jsonstr(d, t, s, k->end - k->start + 1, &len) == 0);
	/* the C string forms whenever they can carry the bytes, so that
	 * jwkey and jwstr get their round trip too */
	nul = memchr(s, '\0', len) != NULL;
	if (iskey && !nul)
		jwkey(w, s);
	else if (iskey)
		jwkeyn(w, s, len);
	else if (!nul)
		jwstr(w, s);
	else
		jwstrn(w, s, len);
	free(s);
}

/* rebuild token t through the writer's calls; returns the next token.
 * Numbers go through jwint, else jwdbl, else (too long for jsondbl)
 * jwtok, so each of those gets its own round trip. */
static int
emit(JWriter *w, const JDoc *d, int t)
{
	const JTok *k = &d->tok[t];
	int i, m, b;
	int64_t v;
	double x;

	switch (k->type) {
	case JObject:
		jwobj(w);
		for (i = 0, m = t + 1; i < k->size; i++) {
			emitstr(w, d, m, 1);
			m = emit(w, d, m + 1);
		}
		jwend(w);
		break;
	case JArray:
		jwarr(w);
		for (i = 0, m = t + 1; i < k->size; i++)
			m = emit(w, d, m);
		jwend(w);
		break;
	case JString:
		emitstr(w, d, t, 0);
		break;
	case JNumber:
		if (k->isint && jsonint(d, t, INT64_MIN, INT64_MAX, &v) == 0)
			jwint(w, v);
		else if (jsondbl(d, t, &x) == 0)
			jwdbl(w, x);
		else
			jwtok(w, d, t);
		break;
	case JTrue:
	case JFalse:
		CHECK(jsonbool(d, t, &b) == 0);
		jwbool(w, b);
		break;
	default:
		jwnull(w);
		break;
	}
	return k->next;
}

static void
roundtrip(const Ctx *c)
{
	const JDoc *d = &c->d;
	const JTok *a, *z;
	JDoc d2, d3;
	JTok *t2, *t3;
	JWriter w;
	Buf b1, b2, b3;
	int i, iok;
	size_t len;
	char *s;
	int64_t v, v2;
	double x, x2;

	bufinit(&b1, 0);
	jwinit(&w, &b1);
	emit(&w, d, 0);
	CHECK(jwdone(&w));
	CHECK(parse(&d2, b1.p, b1.len, &t2) == d->ntok);
	for (i = 0; i < d->ntok; i++) {
		a = &d->tok[i];
		z = &t2[i];
		CHECK(a->type == z->type && a->size == z->size &&
		    a->next == z->next);
		if (a->type == JString) {
			s = xmalloc(z->end - z->start + 1);
			CHECK(jsonstr(&d2, i, s, z->end - z->start + 1, &len)
			    == 0);
			CHECK(len == c->ulen[i] &&
			    memcmp(s, c->ustr[i], len) == 0);
			free(s);
		}
		if (a->type != JNumber)
			continue;
		iok = a->isint && jsonint(d, i, INT64_MIN, INT64_MAX, &v) == 0;
		if (iok) {
			CHECK(z->isint);
			CHECK(jsonint(&d2, i, INT64_MIN, INT64_MAX, &v2) == 0);
			CHECK(v2 == v);
		} else if (jsondbl(d, i, &x) == 0) {
			CHECK(jsondbl(&d2, i, &x2) == 0);
			CHECK(memcmp(&x, &x2, sizeof(x)) == 0);
		} else {
			CHECK(a->isint == z->isint);
			CHECK(a->end - a->start == z->end - z->start &&
			    memcmp(c->buf + a->start, b1.p + z->start,
			    a->end - a->start) == 0);
		}
	}

	/* after two rebuilds the text is a fixed point (one is not quite
	 * enough: jwdbl writes -0.0 as "-0", which reads back as integer 0) */
	bufinit(&b2, 0);
	jwinit(&w, &b2);
	emit(&w, &d2, 0);
	CHECK(jwdone(&w));
	CHECK(parse(&d3, b2.p, b2.len, &t3) == d->ntok);
	bufinit(&b3, 0);
	jwinit(&w, &b3);
	emit(&w, &d3, 0);
	CHECK(jwdone(&w));
	CHECK(b3.len == b2.len && memcmp(b3.p, b2.p, b2.len) == 0);
	free(t2);
	free(t3);
	buffree(&b1);
	buffree(&b2);
	buffree(&b3);
}

/* any bytes at all, as a string value and as a key, come back as
 * themselves with ill-formed UTF-8 repaired */
static void
rawstring(const Ctx *c)
{
	JDoc d;
	JTok *tok;
	JWriter w;
	Buf b, want;
	char *s;
	size_t len;

	bufinit(&want, 0);
	u8repair(&want, c->buf, c->len);
	if (u8valid(c->buf, c->len))
		CHECK(want.len == c->len &&
		    (c->len == 0 || memcmp(want.p, c->buf, c->len) == 0));

	bufinit(&b, 0);
	jwinit(&w, &b);
	jwstrn(&w, c->buf, c->len);
	CHECK(jwdone(&w));
	CHECK(parse(&d, b.p, b.len, &tok) == 1 && tok[0].type == JString);
	s = xmalloc(b.len);
	CHECK(jsonstr(&d, 0, s, b.len, &len) == 0);
	CHECK(len == want.len && (len == 0 || memcmp(s, want.p, len) == 0));
	free(s);
	free(tok);
	buffree(&b);

	bufinit(&b, 0);
	jwinit(&w, &b);
	jwobj(&w);
	jwkeyn(&w, c->buf, c->len);
	jwnull(&w);
	jwend(&w);
	CHECK(jwdone(&w));
	CHECK(parse(&d, b.p, b.len, &tok) == 3 && tok[1].type == JString);
	if (want.len == 0) {
		CHECK(jsonget(&d, 0, "") == 2);
	} else if (memchr(want.p, '\0', want.len) == NULL) {
		CHECK(jsonget(&d, 0, want.p) == 2);
		want.p[want.len - 1] ^= 1;
		CHECK(jsonget(&d, 0, want.p) == -1);
		want.p[want.len - 1] = '\0';
		CHECK(jsonget(&d, 0, want.p) == -1);
	}
	/* longer than the key's escaped form: jsonkeyeq's early no */
	len = tok[1].end - tok[1].start + 1;
	s = xmalloc(len + 1);
	memset(s, 'x', len);
	s[len] = '\0';
	CHECK(jsonget(&d, 0, s) == -1);
	free(s);
	free(tok);
	buffree(&b);
	buffree(&want);
}

/* jwtok copies the root verbatim; inside an array it adds one level,
 * which may only be refused when that passes MAXJSONDEPTH */
static void
rawtok(const Ctx *c)
{
	const JTok *r = &c->d.tok[0], *a, *z;
	size_t off = ostart(r);
	JDoc d;
	JTok *tok;
	JWriter w;
	Buf b;
	int i;

	bufinit(&b, 0);
	jwinit(&w, &b);
	jwtok(&w, &c->d, 0);
	CHECK(jwdone(&w));
	CHECK(b.len == oend(r) - off &&
	    memcmp(b.p, c->buf + off, b.len) == 0);
	CHECK(parse(&d, b.p, b.len, &tok) == c->d.ntok);
	for (i = 0; i < c->d.ntok; i++) {
		a = &c->d.tok[i];
		z = &tok[i];
		CHECK(a->type == z->type && a->size == z->size &&
		    a->next == z->next && a->isint == z->isint &&
		    a->escaped == z->escaped);
		CHECK(a->start - off == z->start && a->end - off == z->end);
	}
	free(tok);
	buffree(&b);

	bufinit(&b, 0);
	jwinit(&w, &b);
	jwarr(&w);
	jwtok(&w, &c->d, 0);
	jwend(&w);
	if (c->sub[0] < MAXJSONDEPTH)
		CHECK(jwdone(&w));
	if (jwdone(&w)) {
		CHECK(parse(&d, b.p, b.len, &tok) == c->d.ntok + 1);
		free(tok);
	}
	buffree(&b);
}

/* up to 8 argument bytes, little-endian, zeros past the end */
static uint64_t
argu64(const unsigned char *p, size_t n, size_t *i)
{
	uint64_t v = 0;
	int k;

	for (k = 0; k < 8; k++)
		if (*i < n)
			v |= (uint64_t)p[(*i)++] << (8 * k);
	return v;
}

/*
 * The input as a program of writer calls, one byte an opcode (mod NOp)
 * followed by its arguments, run against a model of JSON's grammar: the
 * writer must refuse exactly the calls the model calls invalid and must
 * hand over only complete documents that parse.  After a refusal (the
 * writer's error is sticky) or a complete document, a fresh writer
 * continues with the rest of the program.
 */
static void
program(const Ctx *c, const unsigned char *p, size_t n)
{
	enum { Obj, Arr, End, Key, Str, Int, Dbl, Bool, Null, Tok, NOp };
	unsigned char isobj[MAXJSONDEPTH + 1];
	int depth = 0, wantval = 0, done = 0, ntok = 0, valid, t = 0;
	int64_t iv;
	uint64_t u;
	double dv;
	size_t i = 0, len, parsed = 0;
	const char *arg, *why;
	JWriter w;
	JDoc d;
	JTok *tok;
	Buf b;
	int op;

	bufinit(&b, FZOUTMAX);
	jwinit(&w, &b);
	while (i < n) {
		op = p[i++] % NOp;
		/* would a value be well placed here? */
		valid = !done && (depth == 0 || !isobj[depth] || wantval);
		switch (op) {
		case Obj:
		case Arr:
			valid = valid && depth < MAXJSONDEPTH;
			if (op == Obj)
				jwobj(&w);
			else
				jwarr(&w);
			if (valid) {
				isobj[++depth] = op == Obj;
				wantval = 0;
				ntok++;
			}
			break;
		case End:
			valid = depth > 0 && !wantval;
			jwend(&w);
			if (valid && --depth == 0)
				done = 1;
			break;
		case Key:
		case Str:
			len = i < n ? p[i++] % 64 : 0;
			len = MIN(len, n - i);
			arg = (const char *)p + i;
			i += len;
			if (op == Key) {
				valid = depth > 0 && isobj[depth] && !wantval;
				jwkeyn(&w, arg, len);
				if (valid) {
					wantval = 1;
					ntok++;
				}
				break;
			}
			jwstrn(&w, arg, len);
			goto scalar;
		case Int:
			u = argu64(p, n, &i);
			memcpy(&iv, &u, sizeof(iv));
			jwint(&w, iv);
			goto scalar;
		case Dbl:
			u = argu64(p, n, &i);
			memcpy(&dv, &u, sizeof(dv));
			valid = valid && isfinite(dv);
			jwdbl(&w, dv);
			goto scalar;
		case Bool:
			jwbool(&w, i < n ? p[i++] & 1 : 0);
			goto scalar;
		case Null:
			jwnull(&w);
			goto scalar;
		case Tok:
			/* one past the last token asks for one that is not
			 * there; a refused document has none */
			t = i < n ? p[i++] % (c->d.ntok + 1) : 0;
			valid = valid && c->d.err == NULL && t < c->d.ntok &&
			    depth + c->sub[t] <= MAXJSONDEPTH;
			jwtok(&w, &c->d, t);
			if (valid)
				ntok += c->d.tok[t].next - t - 1;
		scalar:
			if (valid) {
				wantval = 0;
				done = depth == 0;
				ntok++;
			}
			break;
		}
		CHECK((w.err == NULL) == valid);
		CHECK(jwdone(&w) == (valid && done && !b.err));
		if (!valid) {
			/* the error is sticky: nothing more is written */
			why = w.err;
			len = b.len;
			jwobj(&w);
			jwarr(&w);
			jwend(&w);
			jwkey(&w, "k");
			jwstr(&w, "s");
			jwint(&w, 0);
			jwdbl(&w, 0.0);
			jwbool(&w, 1);
			jwnull(&w);
			jwtok(&w, &c->d, 0);
			CHECK(w.err == why && b.len == len && !jwdone(&w));
		}
		/* a full buffer ends the document as surely as an error */
		if (!valid || b.err) {
			buffree(&b);
			jwinit(&w, &b);
			depth = wantval = done = ntok = 0;
		} else if (done && parsed <= FZOUTMAX) {
			/* checked once, as any call after this is refused; and
			 * within a budget, as two bytes of jwtok can make a
			 * document as long as the input */
			CHECK(parse(&d, b.p, b.len, &tok) == ntok);
			free(tok);
			parsed += b.len;
		}
	}
	CHECK(jwdone(&w) == (done && !b.err));
	buffree(&b);
}

/* run every check on one input; 1 if jsonparse accepted it, else 0 with
 * the jsonerror() sentence in msg */
static int
fuzzone(const char *data, size_t size, char *msg, size_t sz)
{
	Ctx c;
	JTok *tok;
	int n, i, ok;

	memset(&c, 0, sizeof(c));
	c.buf = data;
	c.len = size;
	n = parse(&c.d, data, size, &tok);
	checklimits(&c);
	ok = n > 0;
	if (ok) {
		CHECK(size <= MAXJSONSIZE);
		c.ustr = calloc((size_t)n, sizeof(*c.ustr));
		c.ulen = calloc((size_t)n, sizeof(*c.ulen));
		c.sub = calloc((size_t)n, sizeof(*c.sub));
		if (c.ustr == NULL || c.ulen == NULL || c.sub == NULL)
			die("calloc:");
		gap(&c, 0, ostart(&tok[0]), 0);
		CHECK(walk(&c, 0, 0) == n);
		gap(&c, oend(&tok[0]), size, 0);
	} else {
		checkrejected(&c);
		jsonerror(&c.d, msg, sz);
	}
	/* the writer at most sextuples a byte (a control byte becomes
	 * \u00XX, 1e-7 becomes 9.9999999999999995e-08), so below this size
	 * its output always fits the parser; only the driver, on a file the
	 * fuzzer could not have sent, gets past it */
	if (size <= FZOUTMAX / 8) {
		if (ok) {
			roundtrip(&c);
			rawtok(&c);
		}
		rawstring(&c);
		program(&c, (const unsigned char *)data, size);
	}
	if (ok) {
		for (i = 0; i < n; i++)
			free(c.ustr[i]);
		free(c.ustr);
		free(c.ulen);
		free(c.sub);
	}
	free(tok);
	return ok;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char msg[128];

	fuzzone((const char *)data, size, msg, sizeof(msg));
	return 0;
}

#ifdef FUZZ_DRIVER
int
main(int argc, char *argv[])
{
	char msg[128], *data;
	size_t len;
	int ok;

	data = fzread(argc, argv, "json", &len);
	ok = fuzzone(data, len, msg, sizeof(msg));
	if (!ok)
		fprintf(stderr, "json: %s: %s\n", argv[1], msg);
	free(data);
	return ok ? ExitOK : ExitFail;
}
#endif
