/* See LICENSE file for copyright and license details.
 *
 * tests/fuzz/sse.c: fuzz target for vtcode.c's server-sent events decoder
 * (sseinit/ssefeed/sseend/ssefree) and the model stream decoder behind it
 * (llmsse into a Turn, then turnfinish).  Every byte of a model's answer
 * goes through both.
 *
 *   make tests/fuzz/sse-fuzzer    libFuzzer (clang), ASan + UBSan + LSan
 *   make tests/fuzz/sse           plain driver (-DFUZZ_DRIVER):
 *                                 tests/fuzz/sse FILE exits 0 when the
 *                                 decoder took the whole stream, 1 when
 *                                 it refused it (s->err on stderr), 2 on a
 *                                 usage or I/O error; a failed check
 *                                 aborts.
 *
 * Seed corpus: tests/fuzz/sse.seeds.  By hand:
 *
 *   mkdir -p /tmp/fz && tests/fuzz/sse-fuzzer -max_total_time=120 \
 *       -max_len=65536 /tmp/fz tests/fuzz/sse.seeds
 *
 * Input: two control bytes, then the stream.
 *   byte 0, bits 0-2  how the stream is cut into pieces (see nextlen)
 *           bit 3     the turn is Anthropic's, else OpenAI-compatible
 *           bits 4-5  the endpoint llmsse and turnerror get: none (0, 3),
 *                     a provider without a key (1), with one (2)
 *           bit 6     the recording callback refuses event K + 1
 *                     (K = byte 1 % 8)
 *   byte 1            the seed of the cutting, the provider, K
 *
 * What one input goes through:
 *   1. A reference reading of the whole stream, written from the WHATWG
 *      rules rather than from sseline(): the events it dispatches.
 *   2. The decoder fed whole, in the chosen pieces and one byte at a
 *      time (so every CR LF is cut too) must dispatch exactly those
 *      events, in order, and agree on how the stream ended.  Each event:
 *      a name of 1 to 63 bytes without CR or LF, data NUL-terminated at
 *      data[n], never a CR.
 *   3. The stream into llmsse, whole and in pieces, and whole with
 *      every chunk parsed (no chunk kept for turnlike), ending in
 *      turnfinish: the three turns alike, the first and the third
 *      having emitted the same events; no more than MAXTOOLCALLS calls;
 *      after a successful finish each call has an id, a name and
 *      arguments; text within MAXANSWER and equal to what was emitted;
 *      exactly one EvError, carrying t.err, when the turn failed;
 *      t.err, which warnx prints as it is, holds no control byte and
 *      is UTF-8 (turnerr's termsafe).
 * Everything is freed: libFuzzer's leak check fails any leak.
 */
#define VTCODE_NOMAIN
#include "../../vtcode.c"
#define FUZZ_SPLIT
#define FUZZ_NAME "sse"       /* driver.h: the entry points */
#include "driver.h"

#define CHECK(c)        ((c) ? (void)0 : fzfail(__LINE__, #c))

enum { FzAnth = 1 << 3, FzEp = 3 << 4, FzStop = 1 << 6 };

/* the events one run dispatched, as (name NUL, n, data) records */
typedef struct {
	Buf log;
	int n;
	int stop, limit;        /* refuse event limit + 1 */
} Rec;

/* how one decoder run ended */
typedef struct {
	Rec rec;
	int rc;
	char err[sizeof(((Sse *)0)->err)];
} Run;

/* what a Turn emitted */
typedef struct {
	Buf text, reasoning;
	Buf log;                /* every event: kind, length, bytes */
	int nerr;
	char err[sizeof(((Turn *)0)->err)];
} Emits;


static void fzfail(int line, const char *what);
static int record(void *ctx, const char *event, const char *data,
    size_t n);
static int refsse(const char *p, size_t n, Rec *rec);
static void decode(Run *o, const char *p, size_t n, int flags, int seed,
    int mode);
static void same(const Run *a, const Run *b);
static void turnsink(void *ctx, int ev, const char *p, size_t n);
static int llm(Turn *t, Emits *em, const char *p, size_t n, int flags,
    int seed, int mode, int slow);
static void turncheck(const Turn *t, const Emits *em, int fin);
static void turnsame(const Turn *a, const Turn *b, int ids);

static void
fzfail(int line, const char *what)
{
	fprintf(stderr, "sse: check failed: tests/fuzz/sse.c:%d: %s\n",
	    line, what);
	abort();
}

static int
record(void *ctx, const char *event, const char *data, size_t n)
{
	Rec *r = ctx;
	size_t el;

	CHECK(event != NULL && data != NULL);
	el = strlen(event);
	CHECK(el > 0 && el < sizeof(((Sse *)0)->event));
	CHECK(strpbrk(event, "\r\n") == NULL);
	CHECK(memchr(data, '\r', n) == NULL);
	bufadd(&r->log, event, el + 1);
	bufadd(&r->log, &n, sizeof(n));
	bufadd(&r->log, data, n);
	CHECK(!r->log.err);
	r->n++;
	return r->stop && r->n > r->limit ? -1 : 0;
}

/*
 * The stream read from the WHATWG rules (HTML, "Interpreting an event
 * stream"), whole: a leading BOM is dropped; lines end in CR LF, LF or
 * CR; a blank line dispatches the data buffer (if a data line came) less
 * its last LF, named by the last event line or "message"; a line opening
 * with a colon is a comment; a field name runs to the first colon, its
 * value starts after it less one space; "data" appends the value and an
 * LF, "event" sets the name; the rest is ignored; an event the stream
 * ends inside is dropped.  vtcode's limits on top: an event name of 64
 * bytes or more, a line longer than MAXSSELINE or data longer than
 * MAXSSEDATA (LFs counted) is an error.  The name is handed over as a C
 * string, so it ends at a NUL.  0, or -1 on an error or a refusal.
 */
static int
refsse(const char *p, size_t n, Rec *rec)
{
	char ev[sizeof(((Sse *)0)->event)] = "", *cp;
	size_t i = 0, ls, le, fe, vs;
	int has = 0, rc = 0;
	Buf data;

	bufinit(&data, 0);
	while (i < n && rc == 0) {
		ls = i;
		while (i < n && p[i] != '\r' && p[i] != '\n')
			i++;
		le = i;
		if (i < n)
			i += p[i] == '\r' && i + 1 < n && p[i + 1] == '\n' ?
			    2 : 1;
		if (le - ls > MAXSSELINE) {
			rc = -1;
			break;
		}
		if (ls == 0 && le >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
			ls = 3;
		if (ls == le) {
			if (has) {
				cp = xmalloc(data.len);
				memcpy(cp, data.p, data.len - 1);
				cp[data.len - 1] = '\0';
				rc = record(rec, ev[0] ? ev : "message", cp,
				    data.len - 1);
				free(cp);
			}
			data.len = 0;
			has = 0;
			ev[0] = '\0';
			continue;
		}
		if (p[ls] == ':')
			continue;
		for (fe = ls; fe < le && p[fe] != ':'; fe++)
			;
		vs = fe < le ? fe + 1 : le;
		if (vs < le && p[vs] == ' ')
			vs++;
		if (fe - ls == 4 && memcmp(p + ls, "data", 4) == 0) {
			bufadd(&data, p + vs, le - vs);
			bufaddc(&data, '\n');
			CHECK(!data.err);
			if (data.len > MAXSSEDATA)
				rc = -1;
			has = 1;
		} else if (fe - ls == 5 && memcmp(p + ls, "event", 5) == 0) {
			if (le - vs >= sizeof(ev)) {
				rc = -1;
			} else {
				memcpy(ev, p + vs, le - vs);
				ev[le - vs] = '\0';
			}
		}
	}
	buffree(&data);
	return rc;
}

/* ssefeed from a copy of the piece that is wiped and freed right after:
 * anything the decoder kept pointing into it would read freed memory,
 * which ASan reports */
static int
feedcopy(Sse *s, const char *p, size_t len)
{
	char *c = malloc(len ? len : 1);
	int rc;

	CHECK(c != NULL);
	memcpy(c, p, len);
	rc = ssefeed(s, c, len);
	memset(c, 0xAA, len);
	free(c);
	return rc;
}

static void
decode(Run *o, const char *p, size_t n, int flags, int seed, int mode)
{
	Split sp;
	Sse s;
	size_t off = 0, len;

	memset(o, 0, sizeof(*o));
	bufinit(&o->rec.log, 0);
	o->rec.stop = (flags & FzStop) != 0;
	o->rec.limit = seed % 8;
	sseinit(&s, record, &o->rec);
	splitinit(&sp, mode, seed);
	while (o->rc == 0 && off < n) {
		len = nextlen(&sp, p + off, n - off);
		o->rc = feedcopy(&s, p + off, len);
		off += len;
	}
	if (o->rc == 0)
		o->rc = sseend(&s);
	CHECK(o->rc == 0 || o->rc == -1);
	CHECK(strnlen(s.err, sizeof(s.err)) < sizeof(s.err));
	/* s->err says why, unless the callback refused */
	if (o->rc == 0)
		CHECK(s.err[0] == '\0');
	else
		CHECK((s.err[0] != '\0') != (o->rec.stop &&
		    o->rec.n > o->rec.limit));
	memcpy(o->err, s.err, sizeof(o->err));
	ssefree(&s);
}

static void
same(const Run *a, const Run *b)
{
	CHECK(a->rc == b->rc && a->rec.n == b->rec.n);
	CHECK(a->rec.log.len == b->rec.log.len && (a->rec.log.len == 0 ||
	    memcmp(a->rec.log.p, b->rec.log.p, a->rec.log.len) == 0));
	CHECK(strcmp(a->err, b->err) == 0);
}

static void
turnsink(void *ctx, int ev, const char *p, size_t n)
{
	Emits *em = ctx;

	bufaddf(&em->log, "%d %zu ", ev, n);
	if (n > 0 && p != NULL)
		bufadd(&em->log, p, n);
	switch (ev) {
	case EvText:
	case EvReasoning:
		/* the model's text as it unescapes: a \u0000 is a byte too */
		CHECK(p != NULL && n > 0);
		bufadd(ev == EvText ? &em->text : &em->reasoning, p, n);
		break;
	case EvToolStart:
		CHECK(p != NULL && n > 0 && strlen(p) == n);
		break;
	case EvToolArgs:
	case EvFinish:
		CHECK(n == 0 || p != NULL);
		break;
	case EvToolEnd:
		CHECK(n == 0 || (p != NULL && strlen(p) == n));
		break;
	case EvUsage:
		break;
	case EvError:
		CHECK(p != NULL && n > 0 && strlen(p) == n);
		CHECK(n < sizeof(em->err));
		em->nerr++;
		memcpy(em->err, p, n + 1);
		break;
	default:
		CHECK(0);
	}
}

/* llmsse with no chunk kept: every chunk goes through the parser */
static int
slowsse(void *ctx, const char *event, const char *data, size_t n)
{
	((SseCtx *)ctx)->t->tpllen = 0;
	return llmsse(ctx, event, data, n);
}

/* the stream through llmsse (slow: slowsse) into t; its return */
static int
llm(Turn *t, Emits *em, const char *p, size_t n, int flags, int seed,
    int mode, int slow)
{
	Endpoint e;
	SseCtx sc;
	Split sp;
	Sse s;
	size_t off = 0, len;
	int rc = 0, ep = (flags & FzEp) >> 4;

	memset(em, 0, sizeof(*em));
	bufinit(&em->text, 0);
	bufinit(&em->reasoning, 0);
	bufinit(&em->log, 0);
	turninit(t, flags & FzAnth ? KindAnthropic : KindOpenAI, turnsink,
	    em);
	memset(&e, 0, sizeof(e));
	e.p = &providers[(size_t)seed % LEN(providers)];
	e.key = ep == 2 ? "k" : NULL;
	sc.t = t;
	sc.ep = ep == 1 || ep == 2 ? &e : NULL;
	sseinit(&s, slow ? slowsse : llmsse, &sc);
	splitinit(&sp, mode, seed);
	while (rc == 0 && off < n) {
		len = nextlen(&sp, p + off, n - off);
		rc = feedcopy(&s, p + off, len);
		off += len;
	}
	if (rc == 0)
		rc = sseend(&s);
	/* as httpexchange: the decoder's reason, else llmsse's own */
	if (rc != 0 && s.err[0] != '\0')
		turnerr(t, ErrBad, "%s", s.err);
	if (rc != 0)
		CHECK(t->errkind != ErrNone);
	ssefree(&s);
	return rc;
}

static void
turncheck(const Turn *t, const Emits *em, int fin)
{
	const ToolCall *c;
	int i, k;

	CHECK(fin == 0 || fin == -1);
	CHECK((fin == 0) == (t->errkind == ErrNone));
	CHECK(t->ncalls >= 0 && t->ncalls <= MAXTOOLCALLS);
	CHECK(t->text.len <= MAXANSWER && t->reasoning.len <= MAXANSWER);
	CHECK(em->text.len == t->text.len && (t->text.len == 0 ||
	    memcmp(em->text.p, t->text.p, t->text.len) == 0));
	CHECK(em->reasoning.len == t->reasoning.len &&
	    (t->reasoning.len == 0 || memcmp(em->reasoning.p,
	    t->reasoning.p, t->reasoning.len) == 0));
	CHECK(strnlen(t->finish, sizeof(t->finish)) < sizeof(t->finish));
	CHECK(t->intok >= 0 && t->outtok >= 0);
	if (fin == 0) {
		CHECK(em->nerr == 0);
		CHECK(t->text.len > 0 || t->reasoning.len > 0 || t->ncalls > 0);
		CHECK(t->done || t->finish[0] != '\0');
		for (i = 0; i < t->ncalls; i++) {
			c = &t->calls[i];
			CHECK(c->id != NULL && c->name != NULL);
			CHECK(c->name[0] != '\0');
			CHECK(c->args.len > 0 && !c->args.err &&
			    c->args.p[c->args.len] == '\0');
		}
	} else {
		CHECK(em->nerr == 1 && strcmp(em->err, t->err) == 0);
		CHECK(t->err[0] != '\0');
		/* t.err reaches the terminal through warnx */
		for (i = 0; t->err[i]; i++)
			CHECK((unsigned char)t->err[i] >= 0x20 &&
			    (unsigned char)t->err[i] != 0x7f);
		for (i = 0; t->err[i]; i += k) {
			uint32_t cp;

			k = utf8dec((const unsigned char *)t->err + i,
			    strlen(t->err + i), &cp);
			CHECK(k > 0 && !(cp >= 0x7f && cp <= 0x9f) &&
			    !(cp >= 0x202a && cp <= 0x202e) &&
			    !(cp >= 0x2066 && cp <= 0x2069));
		}
	}
}

/* two turns from the same stream cut differently; ids compared unless
 * turnfinish may have made some up */
static void
turnsame(const Turn *a, const Turn *b, int ids)
{
	const ToolCall *x, *y;
	int i;

	CHECK(a->errkind == b->errkind && strcmp(a->err, b->err) == 0);
	CHECK(a->text.len == b->text.len && (a->text.len == 0 ||
	    memcmp(a->text.p, b->text.p, a->text.len) == 0));
	CHECK(a->reasoning.len == b->reasoning.len && (a->reasoning.len == 0 ||
	    memcmp(a->reasoning.p, b->reasoning.p, a->reasoning.len) == 0));
	CHECK(strcmp(a->finish, b->finish) == 0);
	CHECK(a->intok == b->intok && a->outtok == b->outtok);
	CHECK(a->done == b->done && a->any == b->any);
	CHECK(a->ncalls == b->ncalls);
	for (i = 0; i < a->ncalls; i++) {
		x = &a->calls[i];
		y = &b->calls[i];
		CHECK(x->index == y->index && x->gotargs == y->gotargs);
		CHECK(!ids || (x->id == NULL) == (y->id == NULL));
		CHECK(!ids || x->id == NULL || strcmp(x->id, y->id) == 0);
		CHECK((x->name == NULL) == (y->name == NULL));
		CHECK(x->name == NULL || strcmp(x->name, y->name) == 0);
		CHECK(x->args.len == y->args.len && (x->args.len == 0 ||
		    memcmp(x->args.p, y->args.p, x->args.len) == 0));
	}
}

/* run every check on one input; 0 if the decoder took the stream, else
 * 1 with its reason in msg */
static int
fzone(const uint8_t *data, size_t size, char *msg, size_t sz)
{
	const char *p = (const char *)data + MIN(size, 2);
	size_t n = size - MIN(size, 2);
	int flags = size > 0 ? data[0] : 0, seed = size > 1 ? data[1] : 0;
	Run whole, cut, bytes;
	Rec ref;
	Turn t1, t2, t3;
	Emits e1, e2, e3;
	int rc, f1, f2, f3;

	memset(&ref, 0, sizeof(ref));
	bufinit(&ref.log, 0);
	ref.stop = (flags & FzStop) != 0;
	ref.limit = seed % 8;
	rc = refsse(p, n, &ref);

	decode(&whole, p, n, flags, seed, -1);
	decode(&cut, p, n, flags, seed, flags & 7);
	decode(&bytes, p, n, flags, seed, 0);
	CHECK(whole.rc == rc && whole.rec.n == ref.n);
	CHECK(whole.rec.log.len == ref.log.len && (ref.log.len == 0 ||
	    memcmp(whole.rec.log.p, ref.log.p, ref.log.len) == 0));
	same(&whole, &cut);
	same(&whole, &bytes);
	buffree(&ref.log);

	/* the same bytes as a model's answer, whole and cut */
	llm(&t1, &e1, p, n, flags, seed, -1, 0);
	llm(&t2, &e2, p, n, flags, seed, flags & 7, 0);
	/* and with every chunk parsed: turnlike must change nothing */
	llm(&t3, &e3, p, n, flags, seed, -1, 1);
	turnsame(&t1, &t2, 1);
	turnsame(&t1, &t3, 1);
	CHECK(e1.nerr == e3.nerr && strcmp(e1.err, e3.err) == 0);
	CHECK(!e1.log.err && !e3.log.err && e1.log.len == e3.log.len &&
	    (e1.log.len == 0 || memcmp(e1.log.p, e3.log.p, e1.log.len) == 0));
	f1 = turnfinish(&t1, 1);
	f2 = turnfinish(&t2, 1);
	f3 = turnfinish(&t3, 1);
	CHECK(f1 == f2 && f1 == f3);
	turncheck(&t1, &e1, f1);
	turncheck(&t2, &e2, f2);
	turncheck(&t3, &e3, f3);
	turnsame(&t1, &t2, 0);
	turnsame(&t1, &t3, 0);
	turnfree(&t1);
	turnfree(&t2);
	turnfree(&t3);
	buffree(&e1.text);
	buffree(&e1.reasoning);
	buffree(&e1.log);
	buffree(&e2.text);
	buffree(&e2.reasoning);
	buffree(&e2.log);
	buffree(&e3.text);
	buffree(&e3.reasoning);
	buffree(&e3.log);

	if (whole.rc != 0)
		snprintf(msg, sz, "%s", whole.err[0] ? whole.err :
		    "refused by the callback");
	buffree(&whole.rec.log);
	buffree(&cut.rec.log);
	buffree(&bytes.rec.log);
	return whole.rc != 0;
}
