/* See LICENSE file for copyright and license details.
 *
 * tests/fuzz/http.c: fuzz target for vtcode.c's HTTP/1.1 response push
 * parser, httpinit/httpfeed/httpeof.  Everything a server or a proxy
 * sends before and around the body goes through it.
 *
 *   make tests/fuzz/http-fuzzer   libFuzzer (clang), ASan + UBSan + LSan
 *   make tests/fuzz/http          plain driver (-DFUZZ_DRIVER):
 *                                 tests/fuzz/http FILE exits 0 when the
 *                                 response was complete (the parser said
 *                                 so, or the end of the file legitimately
 *                                 ended it), 1 when it was refused (r->err
 *                                 on stderr), 2 on a usage or I/O error; a
 *                                 failed check aborts.
 *
 * Seed corpus: tests/fuzz/http.seeds.  By hand:
 *
 *   mkdir -p /tmp/fz && tests/fuzz/http-fuzzer -max_total_time=120 \
 *       -max_len=65536 /tmp/fz tests/fuzz/http.seeds
 *
 * Input: two control bytes, then the response.
 *   byte 0, bits 0-2  how the response is cut into pieces (see nextlen)
 *           bit 3     r->nobody, as for the answer to a CONNECT
 *           bit 4     the body callback refuses once it would pass N
 *                     bytes (N = byte 1)
 *           bit 5     no body callback at all (bit 4 clear), as CONNECT
 *   byte 1            the seed of the cutting, and N
 *
 * Checks: fed whole, fed in the chosen pieces and fed one byte at a time
 * the parser must agree on everything (return, status, err, the body
 * bytes handed over, where the response ended, httpeof); 0 takes every
 * byte and 1 never claims more than it was given; a finished head has a
 * 3-digit final status; a Content-Length response hands over exactly
 * that many bytes; nothing passes MAXHTTPBODY; err is a non-empty line
 * of text.  With the refusing callback the parser must fail with "stopped
 * by the reader" exactly when it would otherwise have handed over more
 * than N bytes, having handed over a prefix of the same body.
 */
#define VTCODE_NOMAIN
#include "../../vtcode.c"
#define FUZZ_SPLIT
#define FUZZ_NAME "http"       /* driver.h: the entry points */
#include "driver.h"

#define CHECK(c)        ((c) ? (void)0 : fzfail(__LINE__, #c))

enum { FzNobody = 1 << 3, FzStop = 1 << 4, FzNoCb = 1 << 5 };

/* the outcome of one run of the parser over the whole input */
typedef struct {
	int rc;                 /* the last httpfeed, then httpeof if 0 */
	int eof;                /* httpeof was called: its return */
	int status, state;
	size_t end;             /* bytes taken when rc == 1 */
	uint64_t total;
	char err[sizeof(((HttpResp *)0)->err)];
	Buf body;               /* what the callback got */
	int calls;
} Run;

/* the body callback's state */
typedef struct {
	Buf *body;
	int stop;
	size_t limit;
	int *calls;
} Sink;


static void fzfail(int line, const char *what);
static int sink(void *ctx, const char *p, size_t n);
static void errtext(const char *err);
static void respfeed(Run *o, const char *p, size_t n, int flags, int seed,
    int mode);
static void respfree(Run *o);
static void same(const Run *a, const Run *b);

static void
fzfail(int line, const char *what)
{
	fprintf(stderr, "http: check failed: tests/fuzz/http.c:%d: %s\n",
	    line, what);
	abort();
}

static int
sink(void *ctx, const char *p, size_t n)
{
	Sink *k = ctx;

	CHECK(p != NULL && n > 0);
	(*k->calls)++;
	if (k->stop && k->body->len + n > k->limit)
		return -1;
	bufadd(k->body, p, n);
	CHECK(!k->body->err);
	return 0;
}

/* one line of text a user can be shown (a tab from a header value is
 * fine) */
static void
errtext(const char *err)
{
	size_t i, n = strnlen(err, sizeof(((HttpResp *)0)->err));

	CHECK(n > 0 && n < sizeof(((HttpResp *)0)->err));
	for (i = 0; i < n; i++)
		CHECK(((unsigned char)err[i] >= 0x20 || err[i] == '\t') &&
		    (unsigned char)err[i] != 0x7f);
}

static void
respfeed(Run *o, const char *p, size_t n, int flags, int seed, int mode)
{
	HttpResp r;
	Split sp;
	Sink k;
	size_t off = 0, len, used;
	int rc = 0;

	memset(o, 0, sizeof(*o));
	bufinit(&o->body, 0);
	k.body = &o->body;
	k.stop = (flags & FzStop) != 0;
	k.limit = (size_t)seed;
	k.calls = &o->calls;
	httpinit(&r, (flags & (FzStop | FzNoCb)) == FzNoCb ? NULL : sink, &k);
	if (flags & FzNobody)
		r.nobody = 1;
	splitinit(&sp, mode, seed);
	for (;;) {
		len = nextlen(&sp, p + off, n - off);
		used = (size_t)-1;
		rc = httpfeed(&r, p + off, len, &used);
		CHECK(rc >= -1 && rc <= 1);
		if (rc == 0)
			CHECK(used == len && r.state != HDone);
		if (rc == 1) {
			CHECK(used <= len);
			CHECK(r.state == HDone && r.err[0] == '\0');
			o->end = off + used;
			/* done is done: the rest is not taken */
			if (o->end < n) {
				used = (size_t)-1;
				rc = httpfeed(&r, p + o->end, n - o->end, &used);
				CHECK(rc == 1 && used == 0);
			}
		}
		if (rc != 0 || (off += len) == n)
			break;
	}
	if (rc == 0) {
		o->eof = 1;
		rc = httpeof(&r);
		CHECK(rc == 1 || rc == -1);
		CHECK(r.state == HDone);
		if (rc == 1)
			o->end = n;
	}
	if (rc == -1) {
		errtext(r.err);
		CHECK(r.state == HDone);
	}
	/* where the head is over its status is final and has 3 digits */
	if (rc == 1 || (r.state > HHeader && r.state != HDone))
		CHECK(r.status == 101 || (r.status >= 200 && r.status <= 999));
	if (rc == 1 && (r.nobody || r.status == 204 || r.status == 304))
		CHECK(r.total == 0);
	if (rc == 1 && !o->eof && r.hasclen && !r.chunked && !r.nobody &&
	    r.status != 204 && r.status != 304)
		CHECK(r.total == r.clen);
	CHECK(r.total <= MAXHTTPBODY);
	if (r.body != NULL && !(flags & FzStop))
		CHECK(o->body.len == r.total);
	if (flags & FzStop)
		CHECK(o->body.len <= k.limit);
	if (r.body == NULL)
		CHECK(o->calls == 0);
	CHECK(strlen(r.ctype) < sizeof(r.ctype));
	CHECK(strlen(r.retryafter) < sizeof(r.retryafter));
	CHECK(strlen(r.retryafterms) < sizeof(r.retryafterms));
	o->rc = rc;
	o->status = r.status;
	o->state = r.state;
	o->total = r.total;
	memcpy(o->err, r.err, sizeof(o->err));
}

static void
respfree(Run *o)
{
	buffree(&o->body);
}

/* two runs over the same bytes that must not tell apart how they were
 * cut */
static void
same(const Run *a, const Run *b)
{
	CHECK(a->rc == b->rc && a->eof == b->eof);
	CHECK(a->status == b->status && a->state == b->state);
	CHECK(a->end == b->end);
	CHECK(strcmp(a->err, b->err) == 0);
	CHECK(a->body.len == b->body.len && (a->body.len == 0 ||
	    memcmp(a->body.p, b->body.p, a->body.len) == 0));
	CHECK(a->total == b->total);
}

/* run every check on one input; 0 if the response was complete, else 1
 * with the parser's reason in msg */
static int
fzone(const uint8_t *data, size_t size, char *msg, size_t sz)
{
	const char *p = (const char *)data + MIN(size, 2);
	size_t n = size - MIN(size, 2);
	int flags = size > 0 ? data[0] : 0, seed = size > 1 ? data[1] : 0;
	int mode = flags & 7, stop = flags & FzStop, ok;
	Run whole, cut, bytes, full;

	respfeed(&whole, p, n, flags, seed, -1);
	respfeed(&cut, p, n, flags, seed, mode);
	respfeed(&bytes, p, n, flags, seed, 0);
	if (!stop) {
		same(&whole, &cut);
		same(&whole, &bytes);
	} else {
		/* the same parse without the refusal */
		respfeed(&full, p, n, flags & ~(FzStop | FzNoCb), seed, -1);
		if (full.body.len <= (size_t)seed) {
			same(&whole, &full);
			same(&cut, &full);
			same(&bytes, &full);
		} else {
			CHECK(whole.rc == -1 && cut.rc == -1 && bytes.rc == -1);
			CHECK(strcmp(whole.err, "stopped by the reader") == 0);
			CHECK(strcmp(cut.err, whole.err) == 0);
			CHECK(strcmp(bytes.err, whole.err) == 0);
			CHECK(whole.status == full.status);
			CHECK(cut.status == full.status);
			CHECK(bytes.status == full.status);
			CHECK(whole.body.len == 0 || memcmp(whole.body.p,
			    full.body.p, whole.body.len) == 0);
			CHECK(cut.body.len == 0 || memcmp(cut.body.p,
			    full.body.p, cut.body.len) == 0);
			CHECK(bytes.body.len == 0 || memcmp(bytes.body.p,
			    full.body.p, bytes.body.len) == 0);
			/* one byte at a time it stops at exactly N */
			CHECK(bytes.body.len == (size_t)seed);
		}
		respfree(&full);
	}
	ok = whole.rc == 1;
	if (!ok)
		snprintf(msg, sz, "%s", whole.err);
	respfree(&whole);
	respfree(&cut);
	respfree(&bytes);
	return ok ? 0 : 1;
}
