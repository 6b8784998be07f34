/* See LICENSE file for copyright and license details.
 *
 * bench/json.c: vtcode's JSON parser against cJSON on the same bytes.
 *
 * Generates a corpus of LLM-response-shaped documents (SSE chunks of
 * chat completions, tool-call chunks whose arguments are escaped JSON,
 * whole completions with long contents, small odds and ends) from a
 * fixed seed: its own PRNG and no libc float formatting, so the bytes
 * are the same on every run and every machine.  Checks that both
 * parsers accept every document and agree on what it holds, then times
 * parsing alone, best of several rounds, the two parsers taking turns.
 *
 * Built and run by bench/json.sh.  Exits 1 when something is broken,
 * never because of speed.  MB is 10^6 bytes.
 *
 * usage: json [-s seed] [-m megabytes] [-n rounds] [-w file]
 * -s picks the corpus, -m its size (24), -n the most timing rounds (20);
 * -w also writes the corpus to file, a newline after each document.
 */
#ifndef VTCODE_NOMAIN
#define VTCODE_NOMAIN	/* json.sh passes it too */
#endif
#include "../vtcode.c"

#include <time.h>

#include <cJSON.h>

/* how a generated string writes its non-ASCII characters */
enum { Raw, Ascii, Mixed };

/* the kinds of document, for the byte shares below */
enum { KChunk, KToolChunk, KFull, KFullTool, KSmall, KLast };

/* documents in memory, a newline after each (not part of the document) */
typedef struct {
	const char *buf;
	size_t *off, *len;
	int *ntok;              /* vtcode's count, filled by the check pass */
	size_t n, bytes;
} Set;

/* a tiny JSON writer, independent of vtcode's so that the parser is not
 * fed only what its own writer produces */
typedef struct {
	Buf *b;
	int pretty;             /* LM Studio indents non-streamed replies */
	int depth;
	int first;              /* nothing written yet in the open container */
	int afterkey;
	int mode;               /* Raw, Ascii or Mixed */
} Gen;

/* what one completion's documents share */
typedef struct {
	char id[48], fp[16];
	const char *model;
	long long created;
	int mode;
} Ids;

/* byte share of each kind in the corpus, in percent */
static const int gshare[KLast] = { 45, 12, 30, 10, 3 };

static const char *gmodels[] = {
	"gpt-4o-2024-08-06", "gpt-4o-mini", "qwen2.5-coder-32b-instruct",
	"meta-llama-3.1-8b-instruct", "deepseek-coder-v2-lite-instruct",
	"mistralai/devstral-small-2505",
};

static const char *gwords[] = {
	"the", "a", "function", "returns", "pointer", "to", "buffer",
	"length", "we", "need", "check", "before", "calling", "memcpy",
	"file", "path", "error", "value", "string", "test", "this", "code",
	"should", "handle", "case", "where", "input", "is", "empty", "and",
	"or", "not", "if", "then", "loop", "index", "array", "object",
	"parser", "token", "escape", "quote", "backslash", "newline",
	"allocation", "free", "null", "terminated", "overflow", "bound",
	"you", "can", "use", "instead", "of", "because", "it", "in", "on",
	"with", "for", "that", "is", "are", "be", "will", "which", "fix",
	"café", "naïve", "résumé", "Größe", "über", "déjà", "façade",
	"日本語", "テスト", "中文字符", "Привет", "мир",
	"Ελληνικά", "עברית", "العربية", "한국어",
	"→", "✓", "—", "…", "€", "≤", "½", "°C", "±",
	"😀", "🚀", "👍", "🎉", "🔥", "✨",
};

/* raw text: the C escapes here are characters a model writes in code,
 * so "\\n" is a backslash and an n, "\t" a real tab, "\033" an ESC */
static const char *gcode[] = {
	"#include <stdio.h>",
	"int",
	"main(int argc, char *argv[])",
	"{",
	"\tprintf(\"hello, %s\\n\", argc > 1 ? argv[1] : \"world\");",
	"\tif (n > 0 && s[n - 1] == '\\\\')",
	"\t\treturn -1;",
	"\tchar *p = strchr(s, '\"');",
	"\tfor (i = 0; i < n; i++) {",
	"\t\tif (buf[i] == '\\t' || buf[i] == '\\r')",
	"\t\t\tcontinue;",
	"\t}",
	"}",
	"path = \"C:\\\\Users\\\\dev\\\\project\\\\main.c\"",
	"re := regexp.MustCompile(`^\\d+\\.\\d*$`)",
	"fmt.Fprintf(os.Stderr, \"error: %v\\n\", err)",
	"def greet(name):",
	"    return f\"Hello, {name}! \\u00e9\"",
	"    print(\"\\033[1;31merror\\033[0m\")",
	"let s = \"tab\\there\";",
	"echo \"$HOME\" | sed 's/\\//\\\\\\//g'",
	"\033[1;32mPASS\033[0m tests/unit.c",
	"{\"key\": \"value\", \"n\": [1, 2, 3], \"ok\": true}",
	"x = {'a': 1, \"b\": \"\\\"quoted\\\"\"}",
	"/* a comment that ends in a backslash \\",
	"SELECT name FROM users WHERE email LIKE '%@example.com';",
	"if (a && b || c > d) x = \"<b>bold</b> & more\";",
	"const msg = `café ${name} → 😀`;",
	"# 日本語のコメント: 文字列を処理する",
	"",
};

static const char *gpaths[] = {
	"src/main.c", "vtcode.c", "tests/unit.c", "docs/résumé.md",
	"src/日本語/readme.txt", "README", "Makefile", "lib/parser/json.go",
	"scripts/build.sh", "web/index.html",
};

static const char *gcmds[] = {
	"grep -rn \"TODO\" src/ | head -n 20",
	"make test 2>&1 | tail -n 50",
	"ls -la",
	"git diff --stat",
	"find . -name '*.c' -newer Makefile",
	"printf '%s\\n' \"$PATH\" | tr ':' '\\n'",
	"cc -std=c99 -Wall -o /tmp/t t.c && /tmp/t \"a b\" 'c\\d'",
};

static const char *glangs[] = { "c", "python", "go", "sh", "json", "" };

static uint64_t rngstate;

static void
bfail(const char *fmt, ...)
{
	va_list ap;

	fputs("json: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(ExitFail);
}

/* splitmix64: tiny, and the same sequence everywhere.  Callers draw at
 * most once per expression: C leaves the order of function arguments
 * and of + operands to the compiler, and gcc and clang differ */
static uint64_t
rnd(void)
{
	uint64_t z = (rngstate += 0x9E3779B97F4A7C15ULL);

	z = (z ^ z >> 30) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ z >> 27) * 0x94D049BB133111EBULL;
	return z ^ z >> 31;
}

static size_t
rn(size_t n)
{
	return (size_t)(rnd() % n);
}

#define PICK(a) ((a)[rn(LEN(a))])

static double
bnow(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- generator ---- */

static void
gesc4(Buf *b, uint32_t v, const char *hex)
{
	char e[6] = { '\\', 'u', hex[v >> 12 & 15], hex[v >> 8 & 15],
	    hex[v >> 4 & 15], hex[v & 15] };

	bufadd(b, e, sizeof(e));
}

/* s[0..n) is valid UTF-8 of our own making; write it as a JSON string */
static void
gesc(Buf *b, const char *s, size_t n, int mode)
{
	const unsigned char *u = (const unsigned char *)s;
	const char *hex = mode == Mixed ? "0123456789ABCDEF" :
	    "0123456789abcdef";
	size_t i = 0, k;
	uint32_t cp;

	bufaddc(b, '"');
	while (i < n) {
		/* copy runs of plain ASCII in one go */
		for (k = i; k < n && u[k] >= 0x20 && u[k] < 0x80 &&
		    u[k] != '"' && u[k] != '\\' && (mode != Ascii ||
		    (u[k] != '<' && u[k] != '>' && u[k] != '&')); k++)
			;
		bufadd(b, s + i, k - i);
		if ((i = k) >= n)
			break;
		if (u[i] >= 0x80) {
			k = u[i] < 0xE0 ? 2 : u[i] < 0xF0 ? 3 : 4;
			if (mode == Raw || (mode == Mixed && rn(2))) {
				bufadd(b, s + i, k);
				i += k;
				continue;
			}
			cp = k == 2 ? u[i] & 0x1F : k == 3 ? u[i] & 0x0F :
			    u[i] & 0x07;
			while (--k > 0)
				cp = cp << 6 | (u[++i] & 0x3F);
			i++;
			if (cp >= 0x10000) {
				cp -= 0x10000;
				gesc4(b, 0xD800 + (cp >> 10), hex);
				gesc4(b, 0xDC00 + (cp & 0x3FF), hex);
			} else {
				gesc4(b, cp, hex);
			}
			continue;
		}
		switch (u[i]) {
		case '"':  bufadd(b, "\\\"", 2); break;
		case '\\': bufadd(b, "\\\\", 2); break;
		case '\b': bufadd(b, "\\b", 2); break;
		case '\f': bufadd(b, "\\f", 2); break;
		case '\n': bufadd(b, "\\n", 2); break;
		case '\r': bufadd(b, "\\r", 2); break;
		case '\t': bufadd(b, "\\t", 2); break;
		default:   gesc4(b, u[i], hex); break; /* controls, Go's <>& */
		}
		i++;
	}
	bufaddc(b, '"');
}

static void
gnl(Gen *g)
{
	int i;

	bufaddc(g->b, '\n');
	for (i = 0; i < g->depth; i++)
		bufadd(g->b, "  ", 2);
}

/* what goes before any value or key: a comma unless first, and in
 * pretty mode a new line */
static void
gsep(Gen *g)
{
	if (g->afterkey) {
		g->afterkey = 0;
		return;
	}
	if (g->depth > 0) {
		if (!g->first)
			bufaddc(g->b, ',');
		if (g->pretty)
			gnl(g);
	}
	g->first = 0;
}

static void
gopen(Gen *g, int c)
{
	gsep(g);
	bufaddc(g->b, c);
	g->depth++;
	g->first = 1;
}

static void
gclose(Gen *g, int c)
{
	g->depth--;
	if (!g->first && g->pretty)
		gnl(g);
	bufaddc(g->b, c);
	g->first = 0;
}

/* keys are ASCII identifiers: no escaping */
static void
gkey(Gen *g, const char *k)
{
	gsep(g);
	bufaddc(g->b, '"');
	bufaddstr(g->b, k);
	bufadd(g->b, g->pretty ? "\": " : "\":", g->pretty ? 3 : 2);
	g->afterkey = 1;
}

static void
gstrn(Gen *g, const char *s, size_t n)
{
	gsep(g);
	gesc(g->b, s, n, g->mode);
}

static void
graw(Gen *g, const char *s)
{
	gsep(g);
	bufaddstr(g->b, s);
}

static void
gint(Gen *g, long long v)
{
	gsep(g);
	bufaddf(g->b, "%lld", v);
}

/* a logprob-like number, built from integers so that no libc float
 * formatting decides the bytes */
static void
gfloat(Gen *g)
{
	char s[48];
	long a, b, c, p;
	int nd, i;

	switch (rn(8)) {
	case 0:
		graw(g, "0.0");
		return;
	case 1:
	case 2:
		a = 1 + (long)rn(9);
		b = (long)rn(10000);
		c = 4 + (long)rn(12);
		snprintf(s, sizeof(s), "-%ld.%04lde-%02ld", a, b, c);
		break;
	default:
		a = (long)rn(12);
		nd = 1 + (int)rn(8);
		for (i = 0, p = 1; i < nd; i++)
			p *= 10;
		b = (long)rn((size_t)p);
		snprintf(s, sizeof(s), "-%ld.%0*ld", a, nd, b);
		break;
	}
	graw(g, s);
}

static void
gks(Gen *g, const char *k, const char *s)
{
	gkey(g, k);
	gstrn(g, s, strlen(s));
}

static void
gki(Gen *g, const char *k, long long v)
{
	gkey(g, k);
	gint(g, v);
}

static void
gkr(Gen *g, const char *k, const char *raw)
{
	gkey(g, k);
	graw(g, raw);
}

static void
ginit(Gen *g, Buf *b, int pretty, int mode)
{
	g->b = b;
	b->len = 0;
	g->pretty = pretty;
	g->depth = 0;
	g->first = 1;
	g->afterkey = 0;
	g->mode = mode;
}

static void
randid(char *dst, const char *prefix, size_t n, const char *alphabet)
{
	size_t i, na = strlen(alphabet);

	dst += strlen(strcpy(dst, prefix));
	for (i = 0; i < n; i++)
		*dst++ = alphabet[rn(na)];
	*dst = '\0';
}

static void
mkids(Ids *id)
{
	static const char alnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789";

	randid(id->id, "chatcmpl-", 29, alnum);
	randid(id->fp, "fp_", 10, "0123456789abcdef");
	id->model = PICK(gmodels);
	id->created = 1717000000LL + (long long)rn(30000000);
	id->mode = (int)rn(3);
}

static void
sentence(Buf *t)
{
	size_t i, nw = 3 + rn(14);
	const char *w;

	for (i = 0; i < nw; i++) {
		if (i > 0)
			bufaddc(t, ' ');
		w = PICK(gwords);
		switch (rn(24)) {
		case 0:
		case 1:
			bufaddf(t, "`%s()`", w);
			break;
		case 2:
			bufaddf(t, "\"%s\"", w);
			break;
		case 3:
			bufaddf(t, "**%s**", w);
			break;
		case 4:
			bufaddf(t, "%s\\%s", w, PICK(gwords));
			break;
		default:
			bufaddstr(t, w);
			break;
		}
	}
	bufaddstr(t, rn(6) ? ". " : rn(2) ? "? " : ": ");
}

static void
codeblock(Buf *t, size_t want)
{
	size_t start = t->len;

	do {
		bufaddstr(t, PICK(gcode));
		bufaddc(t, '\n');
	} while (t->len - start < want);
}

/* markdown prose of at least want bytes, the way gmodels answer */
static void
gentext(Buf *t, size_t want)
{
	size_t i, n;

	t->len = 0;
	while (t->len < want) {
		switch (rn(10)) {
		case 0:
		case 1:
			bufaddf(t, "```%s\n", PICK(glangs));
			codeblock(t, 80 + rn(600));
			bufaddstr(t, "```\n\n");
			break;
		case 2:
			for (i = 0, n = 2 + rn(4); i < n; i++) {
				bufaddstr(t, "- ");
				sentence(t);
				bufaddc(t, '\n');
			}
			bufaddc(t, '\n');
			break;
		case 3:
			bufaddstr(t, "## ");
			bufaddstr(t, PICK(gwords));
			bufaddstr(t, "\n\n");
			break;
		default:
			for (i = 0, n = 1 + rn(5); i < n; i++)
				sentence(t);
			bufaddstr(t, "\n\n");
			break;
		}
	}
}

/* offset of the code point after the one at k */
static size_t
nextcp(const char *s, size_t n, size_t k)
{
	for (k++; k < n && ((unsigned char)s[k] & 0xC0) == 0x80; k++)
		;
	return k;
}

/* a model token: a code point, then up to a space or a newline */
static size_t
piece(const char *s, size_t n, size_t k)
{
	size_t e = nextcp(s, n, k);

	while (e < n && s[e] != ' ' && s[e] != '\n' && e - k < 16)
		e = nextcp(s, n, e);
	return e - k;
}

/* a slice of arguments text: 1 to 12 bytes, whole code points */
static size_t
argpiece(const char *s, size_t n, size_t k)
{
	size_t e = nextcp(s, n, k), want = 1 + rn(12);

	while (e < n && e - k < want)
		e = nextcp(s, n, e);
	return e - k;
}

/* a tool call's arguments as compact JSON text; returns the tool name */
static const char *
genargs(Buf *a, Buf *t, size_t big)
{
	Gen g;
	const char *name;

	ginit(&g, a, 0, (int)rn(3));
	gopen(&g, '{');
	switch (rn(5)) {
	case 0:
		name = "read_file";
		gks(&g, "path", PICK(gpaths));
		gki(&g, "start_line", 1 + (long long)rn(2000));
		gki(&g, "end_line", 2000 + (long long)rn(2000));
		break;
	case 1:
		name = "write_file";
		gks(&g, "path", PICK(gpaths));
		t->len = 0;
		codeblock(t, big);
		gkey(&g, "content");
		gstrn(&g, t->p, t->len);
		break;
	case 2:
		name = "edit_file";
		gks(&g, "path", PICK(gpaths));
		t->len = 0;
		codeblock(t, big / 2);
		gkey(&g, "old_string");
		gstrn(&g, t->p, t->len);
		t->len = 0;
		codeblock(t, big / 2);
		gkey(&g, "new_string");
		gstrn(&g, t->p, t->len);
		gkr(&g, "replace_all", rn(2) ? "true" : "false");
		break;
	case 3:
		name = "run_command";
		gks(&g, "command", PICK(gcmds));
		gki(&g, "timeout_ms", 30000);
		gks(&g, "cwd", ".");
		break;
	default:
		name = "search";
		gks(&g, "pattern", "\\bjson(parse|str)\\(.*\"[^\"]*\"");
		gkey(&g, "gpaths");
		gopen(&g, '[');
		gstrn(&g, "src", 3);
		gstrn(&g, "tests", 5);
		gclose(&g, ']');
		gki(&g, "max_results", 50);
		gkr(&g, "case_sensitive", "true");
		break;
	}
	gclose(&g, '}');
	return name;
}

static void
gadd(Set *s, Buf *corpus, size_t *cap, const Buf *doc, size_t *bytes)
{
	if (s->n == *cap) {
		*cap = *cap ? *cap * 2 : 4096;
		s->off = xrealloc(s->off, *cap * sizeof(s->off[0]));
		s->len = xrealloc(s->len, *cap * sizeof(s->len[0]));
	}
	s->off[s->n] = corpus->len;
	s->len[s->n] = doc->len;
	s->n++;
	bufadd(corpus, doc->p, doc->len);
	bufaddc(corpus, '\n');
	*bytes += doc->len;
}

/* the start and end of a chat.completion.chunk around its delta */
static void
chunkbegin(Gen *g, const Ids *id)
{
	gopen(g, '{');
	gks(g, "id", id->id);
	gks(g, "object", "chat.completion.chunk");
	gki(g, "created", id->created);
	gks(g, "model", id->model);
	gks(g, "system_fingerprint", id->fp);
	gkey(g, "choices");
	gopen(g, '[');
	gopen(g, '{');
	gki(g, "index", 0);
	gkey(g, "delta");
	gopen(g, '{');
}

static void
logprob(Gen *g, const char *tok, size_t n)
{
	size_t i;

	gopen(g, '{');
	gkey(g, "token");
	gstrn(g, tok, n);
	gkey(g, "logprob");
	gfloat(g);
	gkey(g, "bytes");
	gopen(g, '[');
	for (i = 0; i < n; i++)
		gint(g, (unsigned char)tok[i]);
	gclose(g, ']');
}

static void
chunkend(Gen *g, const char *finish, const char *tok, size_t n)
{
	const char *alt;
	size_t i, nalt;

	gclose(g, '}');
	gkey(g, "logprobs");
	if (tok == NULL) {
		graw(g, "null");
	} else {
		gopen(g, '{');
		gkey(g, "content");
		gopen(g, '[');
		logprob(g, tok, n);
		gkey(g, "top_logprobs");
		gopen(g, '[');
		for (i = 0, nalt = rn(4); i < nalt; i++) {
			alt = PICK(gwords);
			logprob(g, alt, strlen(alt));
			gclose(g, '}');
		}
		gclose(g, ']');
		gclose(g, '}');
		gclose(g, ']');
		gkr(g, "refusal", "null");
		gclose(g, '}');
	}
	gkey(g, "finish_reason");
	if (finish)
		gstrn(g, finish, strlen(finish));
	else
		graw(g, "null");
	gclose(g, '}');
	gclose(g, ']');
	gclose(g, '}');
}

static void
usage3(Gen *g, long long prompt, long long completion)
{
	gkey(g, "usage");
	gopen(g, '{');
	gki(g, "prompt_tokens", prompt);
	gki(g, "completion_tokens", completion);
	gki(g, "total_tokens", prompt + completion);
	if (g->pretty || rn(2)) {
		gkey(g, "prompt_tokens_details");
		gopen(g, '{');
		gki(g, "cached_tokens", (long long)rn(2) * 1024);
		gki(g, "audio_tokens", 0);
		gclose(g, '}');
		gkey(g, "completion_tokens_details");
		gopen(g, '{');
		gki(g, "reasoning_tokens", 0);
		gki(g, "audio_tokens", 0);
		gki(g, "accepted_prediction_tokens", 0);
		gki(g, "rejected_prediction_tokens", 0);
		gclose(g, '}');
	}
	gclose(g, '}');
}

/* a streamed answer: role chunk, one chunk per token, finish, usage */
static size_t
genstream(Set *s, Buf *corpus, size_t *cap, Buf *doc, Buf *t)
{
	Ids id;
	Gen g;
	size_t k, n, bytes = 0, ntok = 0;
	int lp = rn(6) == 0;

	mkids(&id);
	gentext(t, 100 + rn(2400));
	ginit(&g, doc, 0, id.mode);
	chunkbegin(&g, &id);
	gks(&g, "role", "assistant");
	gks(&g, "content", "");
	gkr(&g, "refusal", "null");
	chunkend(&g, NULL, NULL, 0);
	gadd(s, corpus, cap, doc, &bytes);
	for (k = 0; k < t->len; k += n, ntok++) {
		n = piece(t->p, t->len, k);
		ginit(&g, doc, 0, id.mode);
		chunkbegin(&g, &id);
		gkey(&g, "content");
		gstrn(&g, t->p + k, n);
		chunkend(&g, NULL, lp ? t->p + k : NULL, n);
		gadd(s, corpus, cap, doc, &bytes);
	}
	ginit(&g, doc, 0, id.mode);
	chunkbegin(&g, &id);
	chunkend(&g, rn(10) ? "stop" : "length", NULL, 0);
	gadd(s, corpus, cap, doc, &bytes);
	if (rn(2)) {
		ginit(&g, doc, 0, id.mode);
		gopen(&g, '{');
		gks(&g, "id", id.id);
		gks(&g, "object", "chat.completion.chunk");
		gki(&g, "created", id.created);
		gks(&g, "model", id.model);
		gks(&g, "system_fingerprint", id.fp);
		gkey(&g, "choices");
		gopen(&g, '[');
		gclose(&g, ']');
		usage3(&g, 200 + (long long)rn(30000), (long long)ntok);
		gclose(&g, '}');
		gadd(s, corpus, cap, doc, &bytes);
	}
	return bytes;
}

/* streamed tool calls: the arguments arrive a few bytes per chunk */
static size_t
gentoolstream(Set *s, Buf *corpus, size_t *cap, Buf *doc, Buf *t, Buf *a)
{
	Ids id;
	Gen g;
	char callid[40];
	const char *name;
	size_t k, n, bytes = 0;
	int j, ncall;

	ncall = 1 + (rn(4) == 0);
	ncall += rn(8) == 0;
	mkids(&id);
	for (j = 0; j < ncall; j++) {
		name = genargs(a, t, 40 + rn(800));
		randid(callid, "call_", 24, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "abcdefghijklmnopqrstuvwxyz0123456789");
		ginit(&g, doc, 0, id.mode);
		chunkbegin(&g, &id);
		if (j == 0) {
			gks(&g, "role", "assistant");
			gkr(&g, "content", "null");
		}
		gkey(&g, "tool_calls");
		gopen(&g, '[');
		gopen(&g, '{');
		gki(&g, "index", j);
		gks(&g, "id", callid);
		gks(&g, "type", "function");
		gkey(&g, "function");
		gopen(&g, '{');
		gks(&g, "name", name);
		gks(&g, "arguments", "");
		gclose(&g, '}');
		gclose(&g, '}');
		gclose(&g, ']');
		chunkend(&g, NULL, NULL, 0);
		gadd(s, corpus, cap, doc, &bytes);
		for (k = 0; k < a->len; k += n) {
			n = argpiece(a->p, a->len, k);
			ginit(&g, doc, 0, id.mode);
			chunkbegin(&g, &id);
			gkey(&g, "tool_calls");
			gopen(&g, '[');
			gopen(&g, '{');
			gki(&g, "index", j);
			gkey(&g, "function");
			gopen(&g, '{');
			gkey(&g, "arguments");
			gstrn(&g, a->p + k, n);
			gclose(&g, '}');
			gclose(&g, '}');
			gclose(&g, ']');
			chunkend(&g, NULL, NULL, 0);
			gadd(s, corpus, cap, doc, &bytes);
		}
	}
	ginit(&g, doc, 0, id.mode);
	chunkbegin(&g, &id);
	chunkend(&g, "tool_calls", NULL, 0);
	gadd(s, corpus, cap, doc, &bytes);
	return bytes;
}

/* a non-streamed completion: a long answer, or tool calls */
static size_t
genfull(Set *s, Buf *corpus, size_t *cap, Buf *doc, Buf *t, Buf *a,
    int tools)
{
	Ids id;
	Gen g;
	char callid[40];
	const char *name;
	size_t bytes = 0;
	long long prompt;
	int j, ncall;

	ncall = 1 + (rn(3) == 0);
	ncall += rn(6) == 0;
	mkids(&id);
	ginit(&g, doc, (int)rn(2), id.mode);
	gopen(&g, '{');
	gks(&g, "id", id.id);
	gks(&g, "object", "chat.completion");
	gki(&g, "created", id.created);
	gks(&g, "model", id.model);
	gkey(&g, "choices");
	gopen(&g, '[');
	gopen(&g, '{');
	gki(&g, "index", 0);
	gkey(&g, "message");
	gopen(&g, '{');
	gks(&g, "role", "assistant");
	gkey(&g, "content");
	if (!tools) {
		gentext(t, 2000 + rn(12000));
		gstrn(&g, t->p, t->len);
	} else if (rn(2)) {
		graw(&g, "null");
	} else {
		gentext(t, 50 + rn(300));
		gstrn(&g, t->p, t->len);
	}
	if (tools) {
		gkey(&g, "tool_calls");
		gopen(&g, '[');
		for (j = 0; j < ncall; j++) {
			/* a's text becomes one string of g's document */
			name = genargs(a, t, 500 + rn(8000));
			randid(callid, "call_", 24, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
			    "abcdefghijklmnopqrstuvwxyz0123456789");
			gopen(&g, '{');
			gks(&g, "id", callid);
			gks(&g, "type", "function");
			gkey(&g, "function");
			gopen(&g, '{');
			gks(&g, "name", name);
			gkey(&g, "arguments");
			gstrn(&g, a->p, a->len);
			gclose(&g, '}');
			gclose(&g, '}');
		}
		gclose(&g, ']');
	}
	gkr(&g, "refusal", "null");
	gclose(&g, '}');
	gkr(&g, "logprobs", "null");
	gks(&g, "finish_reason", tools ? "tool_calls" : "stop");
	gclose(&g, '}');
	gclose(&g, ']');
	prompt = 500 + (long long)rn(60000);
	usage3(&g, prompt, 20 + (long long)rn(4000));
	gks(&g, "system_fingerprint", id.fp);
	gclose(&g, '}');
	if (g.pretty)
		bufaddc(doc, '\n');     /* trailing whitespace is allowed */
	gadd(s, corpus, cap, doc, &bytes);
	return bytes;
}

/* the rest of what a server sends: errors, model lists, pings, scalars */
static size_t
gensmall(Set *s, Buf *corpus, size_t *cap, Buf *doc)
{
	static const char *scalars[] = {
		"true", "null", "0", "-0.5e-3", "1717171717", "\"[DONE]\"",
		" {} ", "[]", "[[],{},[{}]]", "\"\\u00e9\\ud83d\\ude00\"",
	};
	Gen g;
	size_t i, n, bytes = 0;
	int pretty;

	pretty = (int)rn(2);
	ginit(&g, doc, pretty, (int)rn(3));
	switch (rn(4)) {
	case 0:
		gopen(&g, '{');
		gkey(&g, "error");
		gopen(&g, '{');
		gks(&g, "message", "This model's maximum context length is "
		    "32768 tokens. However, you requested 40123 tokens "
		    "(\"messages\" too long) — please reduce the length.");
		gks(&g, "type", "invalid_request_error");
		gkr(&g, "param", "null");
		gks(&g, "code", "context_length_exceeded");
		gclose(&g, '}');
		gclose(&g, '}');
		break;
	case 1:
		gopen(&g, '{');
		gks(&g, "object", "list");
		gkey(&g, "data");
		gopen(&g, '[');
		for (i = 0, n = 1 + rn(8); i < n; i++) {
			gopen(&g, '{');
			gks(&g, "id", PICK(gmodels));
			gks(&g, "object", "model");
			gki(&g, "created",
			    1700000000LL + (long long)rn(1000000));
			gks(&g, "owned_by", "organization_owner");
			gclose(&g, '}');
		}
		gclose(&g, ']');
		gclose(&g, '}');
		break;
	case 2:
		gopen(&g, '{');
		gks(&g, "type", "ping");
		gkey(&g, "ok");
		graw(&g, "true");
		gkey(&g, "uptime");
		gfloat(&g);
		gclose(&g, '}');
		break;
	default:
		bufaddstr(doc, PICK(scalars));
		break;
	}
	gadd(s, corpus, cap, doc, &bytes);
	return bytes;
}

/* at least want bytes of documents, each kind near its share */
static void
generate(Set *s, Buf *corpus, size_t want)
{
	Buf doc, t, a;
	size_t bytes[KLast] = { 0 }, total = 0, cap = 0, b;
	int k, best;

	bufinit(corpus, 0);
	bufinit(&doc, 0);
	bufinit(&t, 0);
	bufinit(&a, 0);
	memset(s, 0, sizeof(*s));
	while (total < want) {
		/* the kind furthest below its share goes next */
		for (best = 0, k = 1; k < KLast; k++)
			if (bytes[k] * gshare[best] < bytes[best] * gshare[k])
				best = k;
		switch (best) {
		case KChunk:
			b = genstream(s, corpus, &cap, &doc, &t);
			break;
		case KToolChunk:
			b = gentoolstream(s, corpus, &cap, &doc, &t, &a);
			break;
		case KFull:
			b = genfull(s, corpus, &cap, &doc, &t, &a, 0);
			break;
		case KFullTool:
			b = genfull(s, corpus, &cap, &doc, &t, &a, 1);
			break;
		default:
			b = gensmall(s, corpus, &cap, &doc);
			break;
		}
		bytes[best] += b;
		total += b;
	}
	if (corpus->err)
		bfail("generator: out of memory");
	s->buf = corpus->p;
	s->bytes = total;
	s->ntok = xmalloc(s->n * sizeof(s->ntok[0]));
	free(doc.p);
	free(t.p);
	free(a.p);
}

/* ---- checks ---- */

/* does vtcode's subtree at token t hold what cJSON's item c holds?
 * returns the token after the subtree, or -1 */
static int
bsame(const JDoc *d, int t, const cJSON *c, char *tmp, size_t tmpsz)
{
	const JTok *k = &d->tok[t];
	const cJSON *e;
	size_t n;
	double v;
	int u, i;

	switch (k->type) {
	case JObject:
	case JArray:
		if (k->type == JObject ? !cJSON_IsObject(c) : !cJSON_IsArray(c))
			return -1;
		for (i = 0, u = t + 1, e = c->child; e; e = e->next, i++) {
			if (k->type == JObject) {
				if (d->tok[u].type != JString ||
				    d->tok[u].next != u + 1 ||
				    jsonstr(d, u, tmp, tmpsz, &n) != 0 ||
				    e->string == NULL ||
				    strlen(e->string) != n ||
				    memcmp(tmp, e->string, n) != 0)
					return -1;
				u++;
			}
			if ((u = bsame(d, u, e, tmp, tmpsz)) < 0)
				return -1;
		}
		if (i != k->size)
			return -1;
		break;
	case JString:
		if (!cJSON_IsString(c) || jsonstr(d, t, tmp, tmpsz, &n) != 0 ||
		    strlen(c->valuestring) != n ||
		    memcmp(tmp, c->valuestring, n) != 0)
			return -1;
		u = t + 1;
		break;
	case JNumber:
		if (!cJSON_IsNumber(c) || jsondbl(d, t, &v) != 0 ||
		    v != c->valuedouble)
			return -1;
		u = t + 1;
		break;
	case JTrue:
	case JFalse:
	case JNull:
		if (k->type == JTrue ? !cJSON_IsTrue(c) : k->type == JFalse ?
		    !cJSON_IsFalse(c) : !cJSON_IsNull(c))
			return -1;
		u = t + 1;
		break;
	default:
		return -1;
	}
	return k->next == u ? u : -1;
}

/* both parsers must accept every document and read the same values */
static void
bcheck(Set *s, const char *what, JTok *tok, char *tmp, size_t tmpsz)
{
	JDoc d;
	cJSON *c;
	const char *p, *ep;
	char msg[256];
	size_t i;
	int r;

	for (i = 0; i < s->n; i++) {
		p = s->buf + s->off[i];
		r = jsonparse(&d, p, s->len[i], tok, MAXJSONTOKENS);
		if (r < 0)
			bfail("%s %zu: vtcode rejects it: %s", what, i,
			    jsonerror(&d, msg, sizeof(msg)));
		if ((c = cJSON_ParseWithLength(p, s->len[i])) == NULL) {
			ep = cJSON_GetErrorPtr();
			bfail("%s %zu: cJSON rejects it near byte %ld", what, i,
			    ep ? (long)(ep - p) : -1L);
		}
		if (bsame(&d, 0, c, tmp, tmpsz) != r)
			bfail("%s %zu: vtcode and cJSON read it differently",
			    what, i);
		cJSON_Delete(c);
		s->ntok[i] = r;
	}
}

/* ---- timing ---- */

static double
vtpass(const Set *s, JTok *tok)
{
	JDoc d;
	double t0 = bnow();
	size_t i;

	for (i = 0; i < s->n; i++)
		if (jsonparse(&d, s->buf + s->off[i], s->len[i], tok,
		    MAXJSONTOKENS) < 0)
			bfail("vtcode: document %zu refused while timing", i);
	return bnow() - t0;
}

static double
cjpass(const Set *s)
{
	cJSON *c;
	double t0 = bnow();
	size_t i;

	for (i = 0; i < s->n; i++) {
		if ((c = cJSON_ParseWithLength(s->buf + s->off[i],
		    s->len[i])) == NULL)
			bfail("cJSON: document %zu refused while timing", i);
		cJSON_Delete(c);
	}
	return bnow() - t0;
}

/* best of up to rounds rounds, stopping early once budget seconds are
 * spent; the parsers take turns going first so drift hits both */
static void
race(const Set *s, JTok *tok, int rounds, double budget)
{
	double vt = 1e300, cj = 1e300, t, t0 = bnow();
	int r;

	for (r = 0; r < rounds; r++) {
		if (r & 1) {
			t = cjpass(s);
			cj = MIN(cj, t);
		}
		t = vtpass(s, tok);
		vt = MIN(vt, t);
		if (!(r & 1)) {
			t = cjpass(s);
			cj = MIN(cj, t);
		}
		if (r >= 2 && bnow() - t0 > budget)
			break;
	}
	printf("vtcode  %.1f MB/s\n", (double)s->bytes / vt / 1e6);
	printf("cJSON   %.1f MB/s\n", (double)s->bytes / cj / 1e6);
	printf("ratio   %.2fx (target >= 2x%s)\n", cj / vt,
	    cj / vt >= 2 ? "" : ", not met");
	fflush(stdout);
}

/* as many documents as fit one vtcode document, joined in an array;
 * returns how many */
static size_t
joinall(const Set *s, Set *big, Buf *b, size_t *off, size_t *len,
    int *ntok)
{
	size_t i, tokens = 1;

	bufinit(b, 0);
	bufaddc(b, '[');
	for (i = 0; i < s->n; i++) {
		if (b->len + s->len[i] + 2 > MAXJSONSIZE ||
		    tokens + (size_t)s->ntok[i] > MAXJSONTOKENS)
			break;
		if (i > 0)
			bufaddc(b, ',');
		bufadd(b, s->buf + s->off[i], s->len[i]);
		tokens += (size_t)s->ntok[i];
	}
	bufaddc(b, ']');
	if (b->err)
		bfail("joining: out of memory");
	*off = 0;
	*len = b->len;
	big->buf = b->p;
	big->off = off;
	big->len = len;
	big->ntok = ntok;
	big->n = 1;
	big->bytes = b->len;
	return i;
}

static void
busage(void)
{
	fputs("usage: json [-s seed] [-m megabytes] [-n rounds] [-w file]\n",
	    stderr);
	exit(ExitUsage);
}

static unsigned long
bnum(const char *a, unsigned long min, unsigned long max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(a, &end, 10);
	if (*a < '0' || *a > '9' || *end != '\0' || errno || v < min ||
	    v > max) {
		fprintf(stderr, "json: bad number: %s\n", a);
		busage();
	}
	return v;
}

int
main(int argc, char *argv[])
{
	Set s, big;
	Buf corpus, bigbuf;
	JTok *tok;
	FILE *fp;
	const char *wfile = NULL;
	char *tmp;
	size_t bigoff, biglen, tmpsz, njoined, i;
	unsigned long seed = 1, mb = 24, rounds = 20;
	int bigntok;

	for (i = 1; i < (size_t)argc; i++) {
		if (i + 1 < (size_t)argc && strcmp(argv[i], "-s") == 0)
			seed = bnum(argv[++i], 0, ULONG_MAX);
		else if (i + 1 < (size_t)argc && strcmp(argv[i], "-m") == 0)
			mb = bnum(argv[++i], 1, 4096);
		else if (i + 1 < (size_t)argc && strcmp(argv[i], "-n") == 0)
			rounds = bnum(argv[++i], 1, 1000);
		else if (i + 1 < (size_t)argc && strcmp(argv[i], "-w") == 0)
			wfile = argv[++i];
		else
			busage();
	}
	rngstate = seed;
	generate(&s, &corpus, (size_t)mb * 1000000);
	if (wfile != NULL) {
		if ((fp = fopen(wfile, "w")) == NULL ||
		    fwrite(corpus.p, 1, corpus.len, fp) != corpus.len ||
		    fclose(fp) != 0)
			bfail("%s: %s", wfile, strerror(errno));
	}

	/* one token array for every parse, as vtcode will use it; no string
	 * unescapes to more than the document's size */
	tok = xmalloc((size_t)MAXJSONTOKENS * sizeof(*tok));
	tmpsz = (size_t)MAXJSONSIZE + 1;
	tmp = xmalloc(tmpsz);
	bcheck(&s, "document", tok, tmp, tmpsz);
	printf("json: %.1f MB in %zu documents (seed %lu)\n",
	    (double)s.bytes / 1e6, s.n, seed);
	fflush(stdout);
	race(&s, tok, (int)rounds, 8.0);

	njoined = joinall(&s, &big, &bigbuf, &bigoff, &biglen, &bigntok);
	bcheck(&big, "joined document", tok, tmp, tmpsz);
	printf("json: %.1f MB in 1 document (an array of %zu of them)\n",
	    (double)big.bytes / 1e6, njoined);
	fflush(stdout);
	race(&big, tok, (int)rounds, 4.0);

	free(tmp);
	free(tok);
	free(bigbuf.p);
	free(corpus.p);
	free(s.off);
	free(s.len);
	free(s.ntok);
	return ExitOK;
}
