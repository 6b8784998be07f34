/* See LICENSE file for copyright and license details.
 *
 * vtcode is a terminal AI coding agent in one C99 file.  It talks to a
 * language model (a local LM Studio server first), lets the model read,
 * search and edit a workspace and run commands there, and puts walls
 * around every action the model asks for: a compile-time policy table,
 * a workspace jail enforced by the kernel, a kernel sandbox for every
 * command, and a human who approves what the table says to ask about.
 *
 * Threat model.  Everything that arrives from outside this file is
 * hostile until checked: the model's output (it may have been steered by
 * text it read in the workspace), the server's bytes (a compromised or
 * buggy endpoint), the workspace's files (a cloned repository can plant
 * anything), the environment vtcode starts in, and the user's own
 * configuration files (they may only tighten config.h, never loosen it).
 * What vtcode protects: the user's account outside the workspace (keys,
 * other projects, shell start-up files), the integrity of the record of
 * what happened, and the user's files inside the workspace against
 * silent or partial writes.
 *
 * Layout.  Sections follow the data flow and each opens with what it
 * guarantees: util, json, harden, index, ui, main.  Later sections
 * (config, net/tls/http/sse, llm, workspace, policy, sandbox, runner,
 * tools, events, store, context, agent) slot in between in that order.
 *
 * To understand everything else, start reading main().
 */
#define _DEFAULT_SOURCE
#if defined(__APPLE__)
#define _DARWIN_C_SOURCE
#endif

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#include <sys/syscall.h>
#endif

#include <seccomp.h>
#include <tree_sitter/api.h>

#include "vtcode.h"

/* macros */
#define LEN(a)          (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b)       ((a) < (b) ? (a) : (b))
#define MAX(a, b)       ((a) > (b) ? (a) : (b))

/* Marks an entry point of a section's API that no later section calls
 * yet (the unit tests and fuzzers do).  Remove the mark when a caller
 * lands, so the compiler can report dead code again. */
#if defined(__GNUC__)
#define NOCALLER        __attribute__((unused))
#else
#define NOCALLER
#endif

/* enums */
enum { JWObj = 1, JWItems = 2 };            /* JWriter level bits */

/* types */
typedef struct {
	const char *name;
	int (*run)(int argc, char *argv[]);     /* NULL: not in this build */
} Command;

typedef struct {
	const char *name;
	const TSLanguage *(*lang)(void);
} Grammar;

/* function declarations */
/* util */
static void die(const char *fmt, ...);
static void warnx(const char *fmt, ...);
static void vwarnx(const char *fmt, va_list ap);
static void *xmalloc(size_t n);
static void *xrealloc(void *p, size_t n);
static int ckadd(size_t a, size_t b, size_t *r);
static void bufinit(Buf *b, size_t max);
static int bufgrow(Buf *b, size_t add);
static void bufadd(Buf *b, const void *p, size_t n);
static void bufaddc(Buf *b, int c);
static void bufaddstr(Buf *b, const char *s);
static void bufaddf(Buf *b, const char *fmt, ...);
static void buffree(Buf *b) NOCALLER;
static int utf8dec(const unsigned char *s, size_t n, uint32_t *cp);
static size_t utf8enc(uint32_t cp, unsigned char *out);
/* json */
static int jsonfail(JDoc *d, size_t off, const char *why);
static size_t jsonws(const char *s, size_t n, size_t i);
static int jsonhex4(const unsigned char *s, size_t n, size_t i, uint32_t *v);
static size_t jsonstring(JDoc *d, JTok *t, size_t i);
static size_t jsonnumber(JDoc *d, JTok *t, size_t i);
static int jsonparse(JDoc *d, const char *buf, size_t len, JTok *tok, int maxtok) NOCALLER;
static const char *jsonerror(const JDoc *d, char *msg, size_t sz) NOCALLER;
static const JTok *jsontok(const JDoc *d, int t);
static int jsontype(const JDoc *d, int t);
static int jsonkeyeq(const JDoc *d, int t, const char *key);
static int jsonget(const JDoc *d, int obj, const char *key) NOCALLER;
static int jsonat(const JDoc *d, int arr, int idx) NOCALLER;
static int jsonstr(const JDoc *d, int t, char *dst, size_t sz, size_t *outlen);
static char *jsonstrdup(const JDoc *d, int t) NOCALLER;
static int jsonint(const JDoc *d, int t, int64_t min, int64_t max, int64_t *v) NOCALLER;
static int jsondbl(const JDoc *d, int t, double *v) NOCALLER;
static int jsonbool(const JDoc *d, int t, int *v) NOCALLER;
static void jwinit(JWriter *w, Buf *b) NOCALLER;
static int jwfail(JWriter *w, const char *why);
static int jwpre(JWriter *w);
static void jwpost(JWriter *w);
static void jwescape(Buf *b, const char *s, size_t n);
static void jwopen(JWriter *w, int isobj);
static void jwobj(JWriter *w) NOCALLER;
static void jwarr(JWriter *w) NOCALLER;
static void jwend(JWriter *w) NOCALLER;
static void jwkey(JWriter *w, const char *k) NOCALLER;
static void jwkeyn(JWriter *w, const char *k, size_t n);
static void jwstr(JWriter *w, const char *s) NOCALLER;
static void jwstrn(JWriter *w, const char *s, size_t n);
static void jwint(JWriter *w, int64_t v) NOCALLER;
static void jwdbl(JWriter *w, double v) NOCALLER;
static void jwbool(JWriter *w, int v) NOCALLER;
static void jwnull(JWriter *w) NOCALLER;
static void jwtok(JWriter *w, const JDoc *d, int t) NOCALLER;
static int jwdone(const JWriter *w) NOCALLER;
/* harden */
static void hardenfds(void);
static void hardenclosefrom(int lowfd);
static void hardenenv(void);
static void harden(void);
/* index */
static void grammarsprint(FILE *fp);
/* ui */
static void usage(FILE *fp);
static void version(void);
static int usageerr(const char *fmt, ...);
static const char *optarg1(int argc, char *argv[], int *i, const char *opt);

/* variables */
extern char **environ;

/* configuration, allows nested code to access above variables */
#include "config.h"

/* compile-time checks on config.h */
typedef char assert_jsondepth[(MAXJSONDEPTH >= 2 &&
    MAXJSONDEPTH <= JSONDEPTHCAP) ? 1 : -1];
typedef char assert_jsontokens[(MAXJSONTOKENS >= 16 &&
    MAXJSONTOKENS <= INT_MAX / 2) ? 1 : -1];
typedef char assert_jsonsize[(MAXJSONSIZE >= 4096) ? 1 : -1];
typedef char assert_jsonnum[(MAXJSONNUMLEN >= 32) ? 1 : -1];
typedef char assert_arglen[(MAXARGLEN >= 256) ? 1 : -1];

/* grammars linked in from $(GRAMMARDIR), pinned by grammars.lock */
const TSLanguage *tree_sitter_bash(void);
const TSLanguage *tree_sitter_c(void);
const TSLanguage *tree_sitter_go(void);
const TSLanguage *tree_sitter_javascript(void);
const TSLanguage *tree_sitter_python(void);
const TSLanguage *tree_sitter_rust(void);

static const Grammar grammars[] = {
	{ "bash",       tree_sitter_bash },
	{ "c",          tree_sitter_c },
	{ "go",         tree_sitter_go },
	{ "javascript", tree_sitter_javascript },
	{ "python",     tree_sitter_python },
	{ "rust",       tree_sitter_rust },
};

/*
 * util: error exits, allocation that dies rather than returns NULL,
 * overflow-checked sizes, a bounded growable buffer and strict UTF-8.
 */

static void
vwarnx(const char *fmt, va_list ap)
{
	int saved = errno;
	size_t n = strlen(fmt), len;
	char msg[1024];

	/* one write: a child sharing stderr cannot split the line */
	memcpy(msg, "vtcode: ", 8);
	vsnprintf(msg + 8, sizeof(msg) - 8, fmt, ap);
	len = strlen(msg);
	/* a trailing ':' asks for the reason, dwm style */
	if (n > 0 && fmt[n - 1] == ':')
		snprintf(msg + len, sizeof(msg) - len, " %s", strerror(saved));
	len = strlen(msg);
	if (len == sizeof(msg) - 1)
		len--;                  /* truncated: keep room for the newline */
	msg[len++] = '\n';
	fwrite(msg, 1, len, stderr);
}

static void
warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarnx(fmt, ap);
	va_end(ap);
}

static void
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarnx(fmt, ap);
	va_end(ap);
	exit(ExitFail);
}

static void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		die("malloc %zu bytes:", n);
	return p;
}

static void *
xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (q == NULL)
		die("realloc %zu bytes:", n);
	return q;
}

/* r = a + b; returns 0 instead of wrapping */
static int
ckadd(size_t a, size_t b, size_t *r)
{
	if (a > SIZE_MAX - b)
		return 0;
	*r = a + b;
	return 1;
}

static void
bufinit(Buf *b, size_t max)
{
	b->p = NULL;
	b->len = b->cap = 0;
	b->max = max ? max : SIZE_MAX - 1;
	b->err = 0;
}

/* make room for add more bytes plus a terminating NUL; 0 on overflow */
static int
bufgrow(Buf *b, size_t add)
{
	size_t need, ncap;

	if (b->err)
		return 0;
	if (!ckadd(b->len, add, &need) || need > b->max ||
	    !ckadd(need, 1, &need)) {
		b->err = 1;
		return 0;
	}
	if (need <= b->cap)
		return 1;
	ncap = b->cap ? b->cap : 64;
	while (ncap < need)
		ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
	b->p = xrealloc(b->p, ncap);
	b->cap = ncap;
	return 1;
}

static void
bufadd(Buf *b, const void *p, size_t n)
{
	if (!bufgrow(b, n))
		return;
	if (n > 0)
		memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
bufaddc(Buf *b, int c)
{
	unsigned char ch = (unsigned char)c;

	bufadd(b, &ch, 1);
}

static void
bufaddstr(Buf *b, const char *s)
{
	bufadd(b, s, strlen(s));
}

static void
bufaddf(Buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !bufgrow(b, (size_t)n)) {
		b->err = 1;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

static void
buffree(Buf *b)
{
	free(b->p);
	bufinit(b, b->max);
}

/*
 * Decode one UTF-8 sequence strictly (RFC 3629): no overlong forms, no
 * surrogates, nothing above U+10FFFF.  Returns its length, or -k when the
 * first k bytes are the maximal ill-formed subpart, which a caller that
 * repairs replaces with one U+FFFD (Unicode 15, section 3.9).
 */
static int
utf8dec(const unsigned char *s, size_t n, uint32_t *cp)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xBF;
	int need, k;
	uint32_t v;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c < 0xC2)                   /* continuation, or overlong C0 C1 */
		return -1;
	if (c < 0xE0) {
		need = 1;
		v = c & 0x1F;
	} else if (c < 0xF0) {
		need = 2;
		v = c & 0x0F;
		if (c == 0xE0)
			lo = 0xA0;      /* overlong */
		if (c == 0xED)
			hi = 0x9F;      /* UTF-16 surrogates */
	} else if (c < 0xF5) {
		need = 3;
		v = c & 0x07;
		if (c == 0xF0)
			lo = 0x90;      /* overlong */
		if (c == 0xF4)
			hi = 0x8F;      /* above U+10FFFF */
	} else {
		return -1;
	}
	for (k = 1; k <= need; k++) {
		if ((size_t)k >= n || s[k] < lo || s[k] > hi)
			return -k;
		v = v << 6 | (s[k] & 0x3F);
		lo = 0x80;
		hi = 0xBF;
	}
	*cp = v;
	return need + 1;
}

/* encode a scalar value the caller has checked; returns 1 to 4 */
static size_t
utf8enc(uint32_t cp, unsigned char *o)
{
	if (cp < 0x80) {
		o[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (unsigned char)(0xC0 | cp >> 6);
		o[1] = (unsigned char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (unsigned char)(0xE0 | cp >> 12);
		o[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
		o[2] = (unsigned char)(0x80 | (cp & 0x3F));
		return 3;
	}
	o[0] = (unsigned char)(0xF0 | cp >> 18);
	o[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3F));
	o[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
	o[3] = (unsigned char)(0x80 | (cp & 0x3F));
	return 4;
}

/*
 * json: a strict RFC 8259 parser in the jsmn shape and a writer.
 *
 * jsonparse() accepts exactly one value, optionally surrounded by
 * whitespace; validates number syntax, every escape, UTF-8 (no overlongs,
 * no surrogates, nothing above U+10FFFF) and \u surrogate pairs (a lone
 * half is refused: it has no UTF-8 form).  It never recurses, never
 * allocates, and stops at MAXJSONDEPTH nesting, MAXJSONSIZE bytes and
 * the caller's token count.  Duplicate object keys parse (RFC 8259 allows
 * them) but jsonget() refuses to pick one: two readers choosing different
 * duplicates is how smuggling works.
 *
 * The writer refuses any call order that would not parse, escapes every
 * control character, quote and backslash, and replaces ill-formed UTF-8
 * with U+FFFD, so its output always goes back through jsonparse().
 */

/* 1 for bytes the string scanner must look at: controls, '"', '\\',
 * and everything that is not ASCII */
static const unsigned char jstrclass[256] = {
	1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1, 1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,
	0,0,1,0,0,0,0,0,0,0,0,0,0,0,0,0, 0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,
	0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0, 0,0,0,0,0,0,0,0,0,0,0,0,1,0,0,0,
	0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0, 0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,
	1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1, 1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,
	1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1, 1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,
	1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1, 1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,
	1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1, 1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,
};

static int
jsonfail(JDoc *d, size_t off, const char *why)
{
	if (d->err == NULL) {
		d->err = why;
		d->erroff = off;
	}
	return -1;
}

static size_t
jsonws(const char *s, size_t n, size_t i)
{
	while (i < n && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' ||
	    s[i] == '\t'))
		i++;
	return i;
}

static int
jsonhex4(const unsigned char *s, size_t n, size_t i, uint32_t *v)
{
	size_t k;
	uint32_t x = 0;
	unsigned char c;

	if (n - i < 4)
		return 0;
	for (k = 0; k < 4; k++) {
		c = s[i + k];
		if (c >= '0' && c <= '9')
			x = x << 4 | (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			x = x << 4 | (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			x = x << 4 | (uint32_t)(c - 'A' + 10);
		else
			return 0;
	}
	*v = x;
	return 1;
}

/* scan the string whose opening quote is at i; returns the offset after
 * the closing quote, or 0 (never a valid result) on rejection */
static size_t
jsonstring(JDoc *d, JTok *t, size_t i)
{
	const unsigned char *s = (const unsigned char *)d->buf;
	size_t n = d->len;
	uint32_t cp, lo;
	int k;

	t->type = JString;
	t->start = ++i;
	for (;;) {
		while (i < n && !jstrclass[s[i]])
			i++;
		if (i >= n)
			return jsonfail(d, i, "unterminated string"), 0;
		if (s[i] == '"')
			break;
		if (s[i] < 0x20)
			return jsonfail(d, i, "control character in string "
			    "(must be escaped)"), 0;
		if (s[i] >= 0x80) {
			k = utf8dec(s + i, n - i, &cp);
			if (k < 0)
				return jsonfail(d, i, "invalid UTF-8 in string"), 0;
			i += (size_t)k;
			continue;
		}
		/* backslash */
		t->escaped = 1;
		if (++i >= n)
			return jsonfail(d, i, "unterminated string"), 0;
		switch (s[i]) {
		case '"': case '\\': case '/': case 'b':
		case 'f': case 'n': case 'r': case 't':
			i++;
			continue;
		case 'u':
			break;
		default:
			return jsonfail(d, i - 1, "invalid escape"), 0;
		}
		if (!jsonhex4(s, n, i + 1, &cp))
			return jsonfail(d, i - 1, "invalid \\u escape"), 0;
		i += 5;
		if (cp >= 0xDC00 && cp <= 0xDFFF)
			return jsonfail(d, i - 6, "lone low surrogate "
			    "in \\u escape"), 0;
		if (cp >= 0xD800 && cp <= 0xDBFF) {
			if (n - i < 6 || s[i] != '\\' || s[i + 1] != 'u' ||
			    !jsonhex4(s, n, i + 2, &lo) ||
			    lo < 0xDC00 || lo > 0xDFFF)
				return jsonfail(d, i - 6, "high surrogate not "
				    "followed by a low one"), 0;
			i += 6;
		}
	}
	t->end = i;
	return i + 1;
}

/* RFC 8259: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
 * returns the offset after the number, or 0 on rejection */
static size_t
jsonnumber(JDoc *d, JTok *t, size_t i)
{
	const char *s = d->buf;
	size_t n = d->len;

	t->type = JNumber;
	t->start = i;
	t->isint = 1;
	if (s[i] == '-')
		i++;
	if (i < n && s[i] == '0') {
		i++;
	} else if (i < n && s[i] >= '1' && s[i] <= '9') {
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
	} else {
		return jsonfail(d, i, "invalid number"), 0;
	}
	if (i < n && s[i] == '.') {
		t->isint = 0;
		if (++i >= n || s[i] < '0' || s[i] > '9')
			return jsonfail(d, i, "digit expected after '.'"), 0;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		t->isint = 0;
		if (++i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		if (i >= n || s[i] < '0' || s[i] > '9')
			return jsonfail(d, i, "digit expected in exponent"), 0;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
	}
	t->end = i;
	return i;
}

/*
 * Parse buf[0..len) into tok[0..maxtok).  Returns the token count (the
 * root is token 0) or -1 with d->err and d->erroff set.  A state machine
 * over an explicit stack of open containers: no recursion, so depth is a
 * config.h number rather than whatever the C stack allows.
 */
static int
jsonparse(JDoc *d, const char *buf, size_t len, JTok *tok, int maxtok)
{
	enum { SValue, SAfter, SKey } st = SValue;
	int stack[MAXJSONDEPTH], depth = 0, p;
	size_t i = 0;
	JTok *t;
	unsigned char c;

	d->buf = buf;
	d->len = len;
	d->tok = tok;
	d->ntok = 0;
	d->maxtok = maxtok;
	d->err = NULL;
	d->erroff = 0;
	if (len > MAXJSONSIZE)
		return jsonfail(d, 0, "document larger than MAXJSONSIZE");
	for (;;) {
		i = jsonws(buf, len, i);
		p = depth > 0 ? stack[depth - 1] : -1;
		if (st == SAfter) {
			if (p < 0) {
				if (i != len)
					return jsonfail(d, i, "data after the "
					    "top-level value");
				return d->ntok;
			}
			c = (unsigned char)(tok[p].type == JObject ? '}' : ']');
			if (i >= len)
				return jsonfail(d, i, tok[p].type == JObject ?
				    "unterminated object" : "unterminated array");
			if (buf[i] == (char)c) {
				tok[p].end = ++i;
				tok[p].next = d->ntok;
				depth--;
			} else if (buf[i] == ',') {
				i++;
				st = tok[p].type == JObject ? SKey : SValue;
			} else {
				return jsonfail(d, i, tok[p].type == JObject ?
				    "expected ',' or '}'" : "expected ',' or ']'");
			}
			continue;
		}
		if (i >= len)
			return jsonfail(d, i, st == SKey ? "expected a key" :
			    "expected a value");
		if (d->ntok >= maxtok)
			return jsonfail(d, i, "too many tokens");
		t = &tok[d->ntok++];
		memset(t, 0, sizeof(*t));
		t->next = d->ntok;
		if (st == SKey) {
			if (buf[i] != '"')
				return jsonfail(d, i, "expected a string key");
			if ((i = jsonstring(d, t, i)) == 0)
				return -1;
			tok[p].size++;
			i = jsonws(buf, len, i);
			if (i >= len || buf[i] != ':')
				return jsonfail(d, i, "expected ':'");
			i++;
			st = SValue;
			continue;
		}
		if (p >= 0 && tok[p].type == JArray)
			tok[p].size++;
		st = SAfter;
		switch (buf[i]) {
		case '{':
		case '[':
			if (depth >= MAXJSONDEPTH)
				return jsonfail(d, i, "nested deeper than "
				    "MAXJSONDEPTH");
			t->type = buf[i] == '{' ? JObject : JArray;
			t->start = i;
			stack[depth++] = d->ntok - 1;
			i = jsonws(buf, len, i + 1);
			if (i < len && buf[i] == (t->type == JObject ? '}' : ']')) {
				t->end = ++i;
				depth--;
			} else {
				st = t->type == JObject ? SKey : SValue;
			}
			break;
		case '"':
			if ((i = jsonstring(d, t, i)) == 0)
				return -1;
			break;
		case 't': case 'f': case 'n':
			t->start = i;
			c = (unsigned char)buf[i];
			t->type = c == 't' ? JTrue : c == 'f' ? JFalse : JNull;
			t->end = i + (c == 'f' ? 5 : 4);
			if (t->end > len || memcmp(buf + i, c == 't' ? "true" :
			    c == 'f' ? "false" : "null", t->end - i) != 0)
				return jsonfail(d, i, "invalid literal");
			i = t->end;
			break;
		default:
			if (buf[i] != '-' && (buf[i] < '0' || buf[i] > '9'))
				return jsonfail(d, i, "unexpected character");
			if ((i = jsonnumber(d, t, i)) == 0)
				return -1;
			break;
		}
	}
}

/* "byte N: why" for a failed parse */
static const char *
jsonerror(const JDoc *d, char *msg, size_t sz)
{
	snprintf(msg, sz, "byte %zu: %s", d->erroff,
	    d->err ? d->err : "no error");
	return msg;
}

static const JTok *
jsontok(const JDoc *d, int t)
{
	if (d->err != NULL || t < 0 || t >= d->ntok)
		return NULL;
	return &d->tok[t];
}

static int
jsontype(const JDoc *d, int t)
{
	const JTok *k = jsontok(d, t);

	return k ? k->type : JNone;
}

/* does string token t, unescaped, equal the C string key? */
static int
jsonkeyeq(const JDoc *d, int t, const char *key)
{
	const JTok *k = jsontok(d, t);
	size_t n = strlen(key), len;
	char small[256], *big;
	int eq;

	if (k == NULL || k->type != JString)
		return 0;
	if (!k->escaped)
		return k->end - k->start == n &&
		    memcmp(d->buf + k->start, key, n) == 0;
	/* the unescaped form is never longer than the escaped one */
	if (n > k->end - k->start)
		return 0;
	if (k->end - k->start < sizeof(small)) {
		if (jsonstr(d, t, small, sizeof(small), &len) != 0)
			return 0;
		return len == n && memcmp(small, key, n) == 0;
	}
	big = xmalloc(k->end - k->start + 1);
	eq = jsonstr(d, t, big, k->end - k->start + 1, &len) == 0 &&
	    len == n && memcmp(big, key, n) == 0;
	free(big);
	return eq;
}

/* value of member key in object obj: its token index, -1 when absent or
 * obj is no object, -2 when the key is there more than once */
static int
jsonget(const JDoc *d, int obj, const char *key)
{
	const JTok *o = jsontok(d, obj);
	int i, k, found = -1;

	if (o == NULL || o->type != JObject)
		return -1;
	for (i = 0, k = obj + 1; i < o->size; i++, k = d->tok[k + 1].next) {
		if (!jsonkeyeq(d, k, key))
			continue;
		if (found >= 0)
			return -2;
		found = k + 1;
	}
	return found;
}

/* element idx of array arr, or -1 */
static int
jsonat(const JDoc *d, int arr, int idx)
{
	const JTok *a = jsontok(d, arr);
	int i, k;

	if (a == NULL || a->type != JArray || idx < 0 || idx >= a->size)
		return -1;
	for (i = 0, k = arr + 1; i < idx; i++)
		k = d->tok[k].next;
	return k;
}

/*
 * Unescape string token t into dst (sz bytes, always NUL-terminated).
 * With outlen the byte length is stored there and U+0000 is allowed;
 * without it the result must be a C string and an embedded U+0000 is
 * refused, so the string checked is the string used.  0 or -1.
 */
static int
jsonstr(const JDoc *d, int t, char *dst, size_t sz, size_t *outlen)
{
	const JTok *k = jsontok(d, t);
	const unsigned char *s;
	size_t i, o = 0;
	uint32_t cp, lo;
	unsigned char enc[4];
	size_t e;

	if (k == NULL || k->type != JString || sz == 0)
		return -1;
	s = (const unsigned char *)d->buf;
	for (i = k->start; i < k->end; ) {
		if (s[i] != '\\') {
			if (o + 1 >= sz)
				return -1;
			dst[o++] = (char)s[i++];
			continue;
		}
		i++;
		switch (s[i]) {
		case 'b': cp = '\b'; break;
		case 'f': cp = '\f'; break;
		case 'n': cp = '\n'; break;
		case 'r': cp = '\r'; break;
		case 't': cp = '\t'; break;
		case 'u':
			/* the parser checked the hex digits and the pairing */
			jsonhex4(s, k->end, i + 1, &cp);
			i += 4;
			if (cp >= 0xD800 && cp <= 0xDBFF) {
				jsonhex4(s, k->end, i + 3, &lo);
				cp = 0x10000 + ((cp - 0xD800) << 10) +
				    (lo - 0xDC00);
				i += 6;
			}
			break;
		default: cp = s[i]; break;      /* " \ / */
		}
		i++;
		if (cp == 0 && outlen == NULL)
			return -1;
		e = utf8enc(cp, enc);
		if (o + e >= sz)
			return -1;
		memcpy(dst + o, enc, e);
		o += e;
	}
	dst[o] = '\0';
	if (outlen != NULL)
		*outlen = o;
	return 0;
}

/* string token t as a fresh C string; NULL if not a string or if it
 * holds U+0000 */
static char *
jsonstrdup(const JDoc *d, int t)
{
	const JTok *k = jsontok(d, t);
	char *s;

	if (k == NULL || k->type != JString)
		return NULL;
	s = xmalloc(k->end - k->start + 1);
	if (jsonstr(d, t, s, k->end - k->start + 1, NULL) != 0) {
		free(s);
		return NULL;
	}
	return s;
}

/* integer token t within [min, max]; a fraction or exponent is refused
 * rather than rounded, so 1e2 and 1.5 are not silently 100 and 1 */
static int
jsonint(const JDoc *d, int t, int64_t min, int64_t max, int64_t *v)
{
	const JTok *k = jsontok(d, t);
	const char *s;
	size_t i;
	uint64_t x = 0, lim;
	unsigned dig;
	int neg;

	if (k == NULL || k->type != JNumber || !k->isint)
		return -1;
	s = d->buf;
	i = k->start;
	neg = s[i] == '-';
	if (neg)
		i++;
	/* magnitude limit: |min| for negatives, max otherwise */
	lim = neg ? (min < 0 ? (uint64_t)-(min + 1) + 1 : 0) :
	    (max > 0 ? (uint64_t)max : 0);
	for (; i < k->end; i++) {
		dig = (unsigned)(s[i] - '0');
		if (x > lim / 10 || (x == lim / 10 && dig > lim % 10))
			return -1;
		x = x * 10 + dig;
	}
	if (neg) {
		if (x == 0)
			*v = 0;
		else
			*v = -(int64_t)(x - 1) - 1;
	} else {
		*v = (int64_t)x;
	}
	return *v >= min && *v <= max ? 0 : -1;
}

/* number token t as a double; overflow to infinity is refused, underflow
 * to zero or a subnormal is the nearest value and accepted */
static int
jsondbl(const JDoc *d, int t, double *v)
{
	const JTok *k = jsontok(d, t);
	char num[MAXJSONNUMLEN + 1], *end;
	size_t n;

	if (k == NULL || k->type != JNumber)
		return -1;
	n = k->end - k->start;
	if (n > MAXJSONNUMLEN)
		return -1;
	memcpy(num, d->buf + k->start, n);
	num[n] = '\0';
	errno = 0;
	*v = strtod(num, &end);
	if (end != num + n || (errno == ERANGE && fabs(*v) > 1.0) ||
	    isinf(*v))
		return -1;
	return 0;
}

static int
jsonbool(const JDoc *d, int t, int *v)
{
	int ty = jsontype(d, t);

	if (ty != JTrue && ty != JFalse)
		return -1;
	*v = ty == JTrue;
	return 0;
}

static void
jwinit(JWriter *w, Buf *b)
{
	memset(w, 0, sizeof(*w));
	w->b = b;
}

static int
jwfail(JWriter *w, const char *why)
{
	if (w->err == NULL)
		w->err = why;
	return 0;
}

/* before any value: place it (comma, key check) or refuse */
static int
jwpre(JWriter *w)
{
	unsigned char *l;

	if (w->err != NULL)
		return 0;
	if (w->done)
		return jwfail(w, "second top-level value");
	if (w->depth == 0)
		return 1;
	l = &w->lvl[w->depth];
	if (*l & JWObj) {
		if (!w->wantval)
			return jwfail(w, "object member without a key");
		w->wantval = 0;
		return 1;
	}
	if (*l & JWItems)
		bufaddc(w->b, ',');
	*l |= JWItems;
	return 1;
}

static void
jwpost(JWriter *w)
{
	if (w->depth == 0)
		w->done = 1;
}

static void
jwescape(Buf *b, const char *str, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, run;
	uint32_t cp;
	int k;
	char esc[7];

	bufaddc(b, '"');
	while (i < n) {
		for (run = i; run < n && !jstrclass[s[run]]; run++)
			;
		bufadd(b, s + i, run - i);
		if ((i = run) >= n)
			break;
		if (s[i] >= 0x80) {
			k = utf8dec(s + i, n - i, &cp);
			if (k > 0) {
				bufadd(b, s + i, (size_t)k);
				i += (size_t)k;
			} else {
				bufadd(b, "\xEF\xBF\xBD", 3);   /* U+FFFD */
				i += (size_t)-k;
			}
			continue;
		}
		esc[0] = '\\';
		switch (s[i]) {
		case '"':  esc[1] = '"'; esc[2] = '\0'; break;
		case '\\': esc[1] = '\\'; esc[2] = '\0'; break;
		case '\b': esc[1] = 'b'; esc[2] = '\0'; break;
		case '\f': esc[1] = 'f'; esc[2] = '\0'; break;
		case '\n': esc[1] = 'n'; esc[2] = '\0'; break;
		case '\r': esc[1] = 'r'; esc[2] = '\0'; break;
		case '\t': esc[1] = 't'; esc[2] = '\0'; break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[s[i] >> 4];
			esc[5] = hex[s[i] & 15];
			esc[6] = '\0';
			break;
		}
		bufaddstr(b, esc);
		i++;
	}
	bufaddc(b, '"');
}

static void
jwopen(JWriter *w, int isobj)
{
	if (!jwpre(w))
		return;
	if (w->depth >= MAXJSONDEPTH) {
		jwfail(w, "nested deeper than MAXJSONDEPTH");
		return;
	}
	w->lvl[++w->depth] = (unsigned char)(isobj ? JWObj : 0);
	bufaddc(w->b, isobj ? '{' : '[');
}

static void
jwobj(JWriter *w)
{
	jwopen(w, 1);
}

static void
jwarr(JWriter *w)
{
	jwopen(w, 0);
}

static void
jwend(JWriter *w)
{
	if (w->err != NULL)
		return;
	if (w->depth == 0) {
		jwfail(w, "end without an open object or array");
		return;
	}
	if (w->wantval) {
		jwfail(w, "key without a value");
		return;
	}
	bufaddc(w->b, (w->lvl[w->depth] & JWObj) ? '}' : ']');
	w->depth--;
	jwpost(w);
}

static void
jwkeyn(JWriter *w, const char *k, size_t n)
{
	unsigned char *l;

	if (w->err != NULL)
		return;
	l = &w->lvl[w->depth];
	if (w->depth == 0 || !(*l & JWObj) || w->wantval) {
		jwfail(w, "key outside an object or where a value belongs");
		return;
	}
	if (*l & JWItems)
		bufaddc(w->b, ',');
	*l |= JWItems;
	jwescape(w->b, k, n);
	bufaddc(w->b, ':');
	w->wantval = 1;
}

static void
jwkey(JWriter *w, const char *k)
{
	jwkeyn(w, k, strlen(k));
}

static void
jwstrn(JWriter *w, const char *s, size_t n)
{
	if (!jwpre(w))
		return;
	jwescape(w->b, s, n);
	jwpost(w);
}

static void
jwstr(JWriter *w, const char *s)
{
	jwstrn(w, s, strlen(s));
}

static void
jwint(JWriter *w, int64_t v)
{
	if (!jwpre(w))
		return;
	bufaddf(w->b, "%lld", (long long)v);
	jwpost(w);
}

/* JSON has no NaN or infinity: refuse rather than write invalid JSON */
static void
jwdbl(JWriter *w, double v)
{
	if (!isfinite(v)) {
		jwfail(w, "number is not finite");
		return;
	}
	if (!jwpre(w))
		return;
	/* %.17g round-trips a double and is valid RFC 8259 in the C
	 * locale, which vtcode never leaves */
	bufaddf(w->b, "%.17g", v);
	jwpost(w);
}

static void
jwbool(JWriter *w, int v)
{
	if (!jwpre(w))
		return;
	bufaddstr(w->b, v ? "true" : "false");
	jwpost(w);
}

static void
jwnull(JWriter *w)
{
	if (!jwpre(w))
		return;
	bufaddstr(w->b, "null");
	jwpost(w);
}

/* copy token t's whole subtree from a parsed document verbatim: it passed
 * jsonparse(), so it is valid as it stands */
static void
jwtok(JWriter *w, const JDoc *d, int t)
{
	const JTok *k = jsontok(d, t);
	size_t a, z;

	if (k == NULL) {
		jwfail(w, "no such token");
		return;
	}
	if (!jwpre(w))
		return;
	a = k->start;
	z = k->end;
	if (k->type == JString) {
		a--;
		z++;
	}
	bufadd(w->b, d->buf + a, z - a);
	jwpost(w);
}

/* 1 when the writer holds exactly one complete, valid value */
static int
jwdone(const JWriter *w)
{
	return w->err == NULL && !w->b->err && w->done && w->depth == 0;
}

/*
 * harden: the first thing main() does, before it parses anything.  After
 * harden() returns: fds 0-2 are open and nothing else is, no LD_* or
 * DYLD_* variable is left for a child to inherit, the process cannot be
 * ptraced or core-dumped by its own user (so an API key in memory stays
 * there), files it creates are private, and a closed pipe is an error
 * return instead of a silent death.  Any step that fails is fatal.
 */

/* make sure 0, 1 and 2 are open: a file vtcode opens later must never
 * land on one of them and be mistaken for stdout */
static void
hardenfds(void)
{
	int fd, nfd;

	for (fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) != -1 || errno != EBADF)
			continue;
		nfd = open("/dev/null", O_RDWR);
		if (nfd != fd) {
			/* nothing is reliably there to print on */
			_exit(ExitFail);
		}
	}
}

/* close every descriptor >= lowfd that vtcode inherited: the user's
 * shell, an IDE or a wrapper may hand down anything */
static void
hardenclosefrom(int lowfd)
{
	struct rlimit rl;
	DIR *dir;
	struct dirent *e;
	long fd, maxfd, *fds = NULL;
	size_t nfds = 0, capfds = 0, i;
	char *end;

#if defined(__linux__) && defined(SYS_close_range)
	if (syscall(SYS_close_range, (unsigned)lowfd, ~0U, 0U) == 0)
		return;
	if (errno != ENOSYS && errno != EINVAL)
		die("close_range:");
#endif
	/* older kernels: list what is open, then close it */
	if ((dir = opendir("/proc/self/fd")) != NULL) {
		while ((e = readdir(dir)) != NULL) {
			fd = strtol(e->d_name, &end, 10);
			if (*end != '\0' || e->d_name[0] == '.' ||
			    fd < lowfd || fd == dirfd(dir))
				continue;
			if (nfds == capfds) {
				capfds = capfds ? capfds * 2 : 16;
				fds = xrealloc(fds, capfds * sizeof(*fds));
			}
			fds[nfds++] = fd;
		}
		closedir(dir);
		for (i = 0; i < nfds; i++)
			if (close((int)fds[i]) != 0 && errno != EBADF)
				die("close fd %ld:", fds[i]);
		free(fds);
		return;
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		die("getrlimit RLIMIT_NOFILE:");
	maxfd = rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > 65536 ?
	    65536 : (long)rl.rlim_cur;
	for (fd = lowfd; fd < maxfd; fd++)
		if (close((int)fd) != 0 && errno != EBADF)
			die("close fd %ld:", fd);
}

/* drop loader variables in place: a child started later must not be
 * handed LD_PRELOAD or DYLD_INSERT_LIBRARIES.  (It cannot undo a preload
 * the loader already applied to vtcode itself; nothing in-process can.) */
static void
hardenenv(void)
{
	char **r, **w;

	if (environ == NULL)
		return;
	for (r = w = environ; *r != NULL; r++) {
		if (strncmp(*r, "LD_", 3) == 0 || strncmp(*r, "DYLD_", 5) == 0)
			continue;
		*w++ = *r;
	}
	*w = NULL;
}

static void
harden(void)
{
	struct rlimit rl;
	struct sigaction sa;

	/* descriptors first: die() below needs a real stderr */
	hardenfds();
	hardenclosefrom(3);
#ifdef __linux__
	if (prctl(PR_SET_DUMPABLE, 0L, 0L, 0L, 0L) != 0)
		die("prctl PR_SET_DUMPABLE:");
#endif
	rl.rlim_cur = rl.rlim_max = 0;
	if (setrlimit(RLIMIT_CORE, &rl) != 0)
		die("setrlimit RLIMIT_CORE:");
	hardenenv();
	umask(077);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGPIPE, &sa, NULL) != 0)
		die("sigaction SIGPIPE:");
}

/*
 * index: code intelligence over tree-sitter.  The grammars are compiled
 * in from the tarballs pinned in grammars.lock; each must speak a
 * language ABI the linked library accepts, or it is not used.
 */

static void
grammarsprint(FILE *fp)
{
	size_t i;
	unsigned v;

	fprintf(fp, "tree-sitter language ABI %d-%d; grammars:",
	    TREE_SITTER_MIN_COMPATIBLE_LANGUAGE_VERSION,
	    TREE_SITTER_LANGUAGE_VERSION);
	for (i = 0; i < LEN(grammars); i++) {
		v = (unsigned)ts_language_version(grammars[i].lang());
		fprintf(fp, " %s (ABI %u%s)", grammars[i].name, v,
		    v < TREE_SITTER_MIN_COMPATIBLE_LANGUAGE_VERSION ||
		    v > TREE_SITTER_LANGUAGE_VERSION ? ", unusable" : "");
	}
	fputc('\n', fp);
}

/*
 * ui: the command line.  The usage text is the man page's SYNOPSIS line
 * for line; tests.sh compares them.
 */

static const char usagetext[] =
"usage: vtcode [-C dir] [-m model] [-P provider] [--base-url URL]\n"
"       vtcode exec [--json] [--events FILE] PROMPT\n"
"       vtcode trust [--revoke]\n"
"       vtcode check\n"
"       vtcode policy show\n"
"       vtcode policy check -- ARGV...\n"
"       vtcode sandbox [--net] -- CMD [ARG...]\n"
"       vtcode outline FILE...\n"
"       vtcode find QUERY\n"
"       vtcode sessions [list | show ID]\n"
"       vtcode resume ID\n"
"       vtcode audit verify FILE\n"
"       vtcode -h | --version\n";

/* subcommands; a NULL run is honest about not being built yet */
static const Command commands[] = {
	{ "exec",     NULL },
	{ "trust",    NULL },
	{ "check",    NULL },
	{ "policy",   NULL },
	{ "sandbox",  NULL },
	{ "outline",  NULL },
	{ "find",     NULL },
	{ "sessions", NULL },
	{ "resume",   NULL },
	{ "audit",    NULL },
};

static void
usage(FILE *fp)
{
	fputs(usagetext, fp);
}

static void
version(void)
{
	const struct scmp_version *sv = seccomp_version();

	printf("vtcode %s\n", VERSION);
	if (sv != NULL)
		printf("libseccomp %u.%u.%u\n", sv->major, sv->minor,
		    sv->micro);
	grammarsprint(stdout);
}

static int
usageerr(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarnx(fmt, ap);
	va_end(ap);
	usage(stderr);
	return ExitUsage;
}

/* the value of option opt: glued (-Cdir, --base-url=URL) or the next
 * word; NULL after reporting when it is missing, empty or too long */
static const char *
optarg1(int argc, char *argv[], int *i, const char *opt)
{
	const char *a = argv[*i], *v;
	size_t n = strlen(opt);

	if (strncmp(a, opt, n) == 0 && a[n] != '\0')
		v = a + n + (a[1] == '-' && a[n] == '=');
	else if (*i + 1 < argc)
		v = argv[++*i];
	else
		v = NULL;
	if (v == NULL || *v == '\0') {
		usageerr("option %s needs a value", opt);
		return NULL;
	}
	if (strlen(v) > MAXARGLEN) {
		usageerr("option %s: value longer than MAXARGLEN (%d bytes)",
		    opt, MAXARGLEN);
		return NULL;
	}
	return v;
}

#ifndef VTCODE_NOMAIN
int
main(int argc, char *argv[])
{
	const char *dir = NULL, *model = NULL, *provider = NULL;
	const char *baseurl = NULL, *a, *opt, **dst;
	size_t k;
	int i;

	harden();
	for (i = 1; i < argc; i++) {
		a = argv[i];
		if (a[0] != '-' || a[1] == '\0')
			break;
		if (strcmp(a, "--") == 0) {
			i++;
			break;
		}
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			return fflush(stdout) == 0 ? ExitOK : ExitFail;
		}
		if (strcmp(a, "--version") == 0) {
			version();
			return fflush(stdout) == 0 ? ExitOK : ExitFail;
		}
		if (strncmp(a, "-C", 2) == 0) {
			opt = "-C";
			dst = &dir;
		} else if (strncmp(a, "-m", 2) == 0) {
			opt = "-m";
			dst = &model;
		} else if (strncmp(a, "-P", 2) == 0) {
			opt = "-P";
			dst = &provider;
		} else if (strcmp(a, "--base-url") == 0 ||
		    strncmp(a, "--base-url=", 11) == 0) {
			opt = "--base-url";
			dst = &baseurl;
		} else {
			return usageerr("unknown option: %s", a);
		}
		if ((*dst = optarg1(argc, argv, &i, opt)) == NULL)
			return ExitUsage;
	}
	/* -m, -P and --base-url are read and checked now; the sessions that
	 * use them are not in this build */
	(void)model;
	(void)provider;
	(void)baseurl;
	if (dir != NULL && chdir(dir) != 0)
		die("-C %s:", dir);
	if (i == argc) {
		warnx("interactive session: not available in this build");
		return ExitUsage;
	}
	for (k = 0; k < LEN(commands); k++) {
		if (strcmp(argv[i], commands[k].name) != 0)
			continue;
		if (commands[k].run == NULL) {
			warnx("%s: not available in this build",
			    commands[k].name);
			return ExitUsage;
		}
		return commands[k].run(argc - i, argv + i);
	}
	return usageerr("%s: unknown command", argv[i]);
}
#endif /* VTCODE_NOMAIN */
