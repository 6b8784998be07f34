/* See LICENSE file for copyright and license details.
 *
 * tests/fuzz/session.c: fuzz target for vtcode.c's session store,
 * storeparse() and storeformat().  A session file sits in the user's
 * state directory; anyone who can write the account's files can edit
 * one, and resume feeds it back to the model as the conversation.
 *
 *   make tests/fuzz/session-fuzzer   libFuzzer (clang), ASan + UBSan + LSan
 *   make tests/fuzz/session          plain driver (-DFUZZ_DRIVER):
 *                                    tests/fuzz/session FILE exits 0 when
 *                                    the file parsed (and survived the
 *                                    round trip), 1 when it was refused
 *                                    (the reason on stderr), 2 on a usage
 *                                    or I/O error; a failed check aborts.
 *
 * Seed corpus: tests/fuzz/session.seeds.  By hand:
 *
 *   mkdir -p /tmp/fz && tests/fuzz/session-fuzzer -max_total_time=180 \
 *       -max_len=65536 -detect_leaks=1 /tmp/fz tests/fuzz/session.seeds
 *
 * Input: the file, as it would be read, with nothing after its last byte.
 *
 * Checks.  On refusal: the reason is a NUL-terminated "line N: why" with
 * N between 1 and one past the file's last line, and convfree() leaves
 * nothing allocated (LSan).  On acceptance: the id is 32 lowercase hex
 * digits and every front matter value a C string within its field; the
 * conversation starts with a user message; roles are known; an assistant
 * message's calls each have an id and a name and arguments free of NUL,
 * a tool message has a call id, a tool name and a 0/1 error flag, no one
 * else carries either; no text holds a NUL, and cv->bytes is the sum of
 * the texts.  Then the round trip: storeformat() of what was read must
 * parse again, into the same metadata and the same conversation (roles,
 * texts, calls, ids, names, arguments, error flags, byte for byte), and
 * formatting that must give the same bytes again: a fixed point.
 */
#define VTCODE_NOMAIN
#include "../../vtcode.c"
#define FUZZ_NAME "session"       /* driver.h: the entry points */
#include "driver.h"

#define CHECK(c)        ((c) ? (void)0 : fzfail(__LINE__, #c))


static void fzfail(int line, const char *what);
static int utf8ok(const char *s);
static int field(const char *s, size_t sz);
static void refused(const char *err, size_t esz, const char *p, size_t n);
static void sound(const StoreMeta *sm, const Conv *cv);
static int sameopt(const char *a, const char *b);
static void samemeta(const StoreMeta *a, const StoreMeta *b);
static void sameconv(const Conv *a, const Conv *b);
static void roundtrip(const StoreMeta *sm, const Conv *cv);

static void
fzfail(int line, const char *what)
{
	fprintf(stderr, "session: check failed: tests/fuzz/session.c:%d: %s\n",
	    line, what);
	abort();
}

/* valid UTF-8 (what the JSON parser lets through) */
static int
utf8ok(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), i;
	uint32_t cp;
	int k;

	for (i = 0; i < n; i += (size_t)k)
		if ((k = utf8dec(p + i, n - i, &cp)) < 0)
			return 0;
	return 1;
}

/* a front matter field: a C string that ends inside its array */
static int
field(const char *s, size_t sz)
{
	return memchr(s, '\0', sz) != NULL && utf8ok(s);
}

/* the reason for a refusal: "line N: why", N a line of the file (or the
 * one after its end, for "cut off") */
static void
refused(const char *err, size_t esz, const char *p, size_t n)
{
	const char *e;
	size_t lines = 1, i;
	long ln;

	CHECK(memchr(err, '\0', esz) != NULL);
	CHECK(strncmp(err, "line ", 5) == 0);
	CHECK(err[5] >= '1' && err[5] <= '9');
	errno = 0;
	ln = strtol(err + 5, (char **)&e, 10);
	CHECK(errno == 0 && e[0] == ':' && e[1] == ' ' && e[2] != '\0');
	for (i = 0; i < n; i++)
		lines += p[i] == '\n';
	CHECK(ln >= 1 && (size_t)ln <= lines + 1);
	for (i = 0; err[i] != '\0'; i++)
		CHECK((unsigned char)err[i] >= 0x20 &&
		    (unsigned char)err[i] < 0x7f);
}

/* what an accepted file must have given */
static void
sound(const StoreMeta *sm, const Conv *cv)
{
	const Msg *m;
	const ToolCall *c;
	size_t bytes = 0;
	int i, j;

	CHECK(field(sm->id, sizeof(sm->id)) && strlen(sm->id) == 32);
	CHECK(strspn(sm->id, "0123456789abcdef") == 32);
	CHECK(field(sm->provider, sizeof(sm->provider)));
	CHECK(field(sm->model, sizeof(sm->model)));
	CHECK(field(sm->workspace, sizeof(sm->workspace)));
	CHECK(field(sm->created, sizeof(sm->created)));
	CHECK(field(sm->updated, sizeof(sm->updated)));
	CHECK(cv->n >= 1 && cv->n <= cv->cap && cv->n <= MAXSESSIONMSGS);
	CHECK(cv->m != NULL && cv->m[0].role == RoleUser);
	for (i = 0; i < cv->n; i++) {
		m = &cv->m[i];
		CHECK(m->role == RoleUser || m->role == RoleAssistant ||
		    m->role == RoleTool);
		CHECK(m->text != NULL);
		bytes += strlen(m->text);
		CHECK(m->ncalls >= 0 && m->ncalls <= MAXTOOLCALLS);
		if (m->role != RoleAssistant)
			CHECK(m->ncalls == 0 && m->calls == NULL);
		if (m->role != RoleTool)
			CHECK(m->callid == NULL && m->tool == NULL &&
			    m->iserror == 0);
		if (m->role == RoleTool) {
			CHECK(m->callid != NULL && m->tool != NULL);
			CHECK(utf8ok(m->callid) && utf8ok(m->tool));
			CHECK(m->iserror == 0 || m->iserror == 1);
		}
		if (m->role == RoleAssistant)
			CHECK(m->calls != NULL || m->ncalls == 0);
		for (j = 0; j < m->ncalls; j++) {
			c = &m->calls[j];
			CHECK(c->id != NULL && c->name != NULL);
			CHECK(utf8ok(c->id) && utf8ok(c->name));
			CHECK(!c->args.err);
			CHECK(c->args.len == 0 || c->args.p != NULL);
			CHECK(c->args.p == NULL ||
			    strlen(c->args.p) == c->args.len);
		}
	}
	CHECK(cv->bytes == bytes);
}

static int
sameopt(const char *a, const char *b)
{
	return (a == NULL) == (b == NULL) && (a == NULL || strcmp(a, b) == 0);
}

static void
samemeta(const StoreMeta *a, const StoreMeta *b)
{
	CHECK(strcmp(a->id, b->id) == 0);
	CHECK(strcmp(a->provider, b->provider) == 0);
	CHECK(strcmp(a->model, b->model) == 0);
	CHECK(strcmp(a->workspace, b->workspace) == 0);
	CHECK(strcmp(a->created, b->created) == 0);
	CHECK(strcmp(a->updated, b->updated) == 0);
}

static void
sameconv(const Conv *a, const Conv *b)
{
	const Msg *x, *y;
	int i, j;

	CHECK(a->n == b->n && a->bytes == b->bytes);
	for (i = 0; i < a->n; i++) {
		x = &a->m[i];
		y = &b->m[i];
		CHECK(x->role == y->role && strcmp(x->text, y->text) == 0);
		CHECK(sameopt(x->callid, y->callid));
		CHECK(sameopt(x->tool, y->tool));
		CHECK(x->iserror == y->iserror && x->ncalls == y->ncalls);
		for (j = 0; j < x->ncalls; j++) {
			CHECK(strcmp(x->calls[j].id, y->calls[j].id) == 0);
			CHECK(strcmp(x->calls[j].name, y->calls[j].name) == 0);
			CHECK(x->calls[j].args.len == y->calls[j].args.len);
			CHECK(x->calls[j].args.len == 0 ||
			    memcmp(x->calls[j].args.p, y->calls[j].args.p,
			    x->calls[j].args.len) == 0);
		}
	}
}

/* write it out, read it back, write it again */
static void
roundtrip(const StoreMeta *sm, const Conv *cv)
{
	char err[256], *copy;
	StoreMeta sm2;
	Conv cv2;
	Buf b1, b2;
	int rc;

	bufinit(&b1, 0);
	storeformat(sm, cv, &b1);
	CHECK(!b1.err && b1.p != NULL);
	CHECK(strlen(b1.p) == b1.len);
	/* an exact-size copy: the parser must not lean on the NUL */
	copy = xmalloc(b1.len);
	memcpy(copy, b1.p, b1.len);
	memset(err, 'x', sizeof(err));
	rc = storeparse(copy, b1.len, &sm2, &cv2, err, sizeof(err));
	if (rc != 0) {
		CHECK(memchr(err, '\0', sizeof(err)) != NULL);
		fprintf(stderr, "session: its own output refused: %s\n", err);
	}
	CHECK(rc == 0);
	sound(&sm2, &cv2);
	samemeta(sm, &sm2);
	sameconv(cv, &cv2);
	bufinit(&b2, 0);
	storeformat(&sm2, &cv2, &b2);
	CHECK(!b2.err);
	CHECK(b1.len == b2.len && memcmp(b1.p, b2.p, b1.len) == 0);
	convfree(&cv2, 0);
	CHECK(cv2.n == 0 && cv2.m == NULL);
	free(copy);
	buffree(&b1);
	buffree(&b2);
}

/* run every check on one input; 0 if the file was accepted, else 1 with
 * the parser's reason in msg */
static int
fzone(const uint8_t *data, size_t size, char *msg, size_t sz)
{
	const char *p = (const char *)data;
	char err[256];
	StoreMeta sm;
	Conv cv;
	int rc;

	memset(err, 'x', sizeof(err));
	rc = storeparse(p, size, &sm, &cv, err, sizeof(err));
	CHECK(rc == 0 || rc == -1);
	if (rc != 0) {
		refused(err, sizeof(err), p, size);
		snprintf(msg, sz, "%s", err);
		/* partly built messages and calls: all must go */
		convfree(&cv, 0);
		CHECK(cv.n == 0 && cv.m == NULL && cv.bytes == 0);
		return 1;
	}
	sound(&sm, &cv);
	roundtrip(&sm, &cv);
	convfree(&cv, 0);
	CHECK(cv.n == 0 && cv.m == NULL);
	return 0;
}
