/* See LICENSE file for copyright and license details.
 *
 * tests/unit.c: unit tests.  Includes vtcode.c whole, so the static
 * functions are testable without exporting anything; built with ASan and
 * UBSan by tests.sh.  Prints one line per failure and ends with
 * "unit: N passed, N failed"; exits 1 if anything failed.
 */
#define VTCODE_NOMAIN
#include "../vtcode.c"

#include <sys/wait.h>
#include <sys/ptrace.h>

#include "check.h"

/* parse a C string; returns the token count or -1 */
static JTok toks[4096];
static JDoc doc;

static int
P(const char *s)
{
	return jsonparse(&doc, s, strlen(s), toks, (int)LEN(toks));
}

/* the parse fails at byte off with a reason containing why */
static int
rejects(const char *s, size_t off, const char *why)
{
	if (P(s) >= 0)
		return 0;
	if (doc.erroff != off || strstr(doc.err, why) == NULL) {
		printf("  %s: got byte %zu: %s\n", s, doc.erroff, doc.err);
		return 0;
	}
	return 1;
}

static void
testutf8(void)
{
	uint32_t cp = 0;
	unsigned char out[4];

	T(utf8dec((const unsigned char *)"A", 1, &cp) == 1 && cp == 'A');
	T(utf8dec((const unsigned char *)"\xC3\xA9", 2, &cp) == 2 &&
	    cp == 0xE9);
	T(utf8dec((const unsigned char *)"\xE2\x82\xAC", 3, &cp) == 3 &&
	    cp == 0x20AC);
	T(utf8dec((const unsigned char *)"\xF0\x9F\x98\x80", 4, &cp) == 4 &&
	    cp == 0x1F600);
	T(utf8dec((const unsigned char *)"\xF4\x8F\xBF\xBF", 4, &cp) == 4 &&
	    cp == 0x10FFFF);
	/* ill-formed: the maximal subpart length comes back negated */
	T(utf8dec((const unsigned char *)"\x80", 1, &cp) == -1);
	T(utf8dec((const unsigned char *)"\xC0\x80", 2, &cp) == -1);
	T(utf8dec((const unsigned char *)"\xC1\xBF", 2, &cp) == -1);
	T(utf8dec((const unsigned char *)"\xE0\x80\x80", 3, &cp) == -1);
	T(utf8dec((const unsigned char *)"\xED\xA0\x80", 3, &cp) == -1);
	T(utf8dec((const unsigned char *)"\xF0\x80\x80\x80", 4, &cp) == -1);
	T(utf8dec((const unsigned char *)"\xF4\x90\x80\x80", 4, &cp) == -1);
	T(utf8dec((const unsigned char *)"\xF5\x80\x80\x80", 4, &cp) == -1);
	T(utf8dec((const unsigned char *)"\xE2\x82", 2, &cp) == -2);
	T(utf8dec((const unsigned char *)"\xE2\x82" "A", 3, &cp) == -2);
	T(utf8dec((const unsigned char *)"\xF0\x9F\x98", 3, &cp) == -3);
	T(utf8enc(0x7F, out) == 1 && out[0] == 0x7F);
	T(utf8enc(0x10FFFF, out) == 4 && memcmp(out, "\xF4\x8F\xBF\xBF", 4) == 0);
}

static void
testbuf(void)
{
	Buf b;
	size_t r;

	bufinit(&b, 8);
	bufaddstr(&b, "12345678");
	T(!b.err && b.len == 8 && strcmp(b.p, "12345678") == 0);
	bufaddc(&b, '9');
	T(b.err && b.len == 8);         /* over max: sticky error, no write */
	bufaddstr(&b, "");
	T(b.err);
	buffree(&b);
	bufinit(&b, 0);
	bufaddf(&b, "%d-%s", 42, "x");
	T(!b.err && strcmp(b.p, "42-x") == 0);
	buffree(&b);
	T(ckadd(1, 2, &r) && r == 3);
	T(!ckadd(SIZE_MAX, 1, &r));
}

static void
testparse(void)
{
	char deep[2 * MAXJSONDEPTH + 8];
	char *big;
	int i, n, v;

	T(P("{\"a\":[1,2,{\"b\":null}],\"c\":\"x\"}") == 10);
	T(toks[0].type == JObject && toks[0].size == 2 && toks[0].next == 10);
	T(toks[1].type == JString && toks[1].next == 2);
	T(toks[2].type == JArray && toks[2].size == 3 && toks[2].next == 8);
	T(toks[5].type == JObject && toks[5].size == 1 && toks[5].next == 8);
	T(toks[8].type == JString && toks[8].end - toks[8].start == 1);
	T(jsonget(&doc, 0, "c") == 9 && jsonget(&doc, 0, "a") == 2);
	T(jsonget(&doc, 0, "zz") == -1 && jsonget(&doc, 2, "a") == -1);
	T(jsonat(&doc, 2, 0) == 3 && jsonat(&doc, 2, 2) == 5);
	T(jsonat(&doc, 2, 3) == -1 && jsonat(&doc, 2, -1) == -1);
	T(jsonget(&doc, jsonat(&doc, 2, 2), "b") == 7);
	T(jsontype(&doc, 7) == JNull && jsontype(&doc, 99) == JNone);

	/* scalars at the top, surrounding whitespace */
	T(P(" \t\r\n-0.5e+3 ") == 1 && toks[0].type == JNumber &&
	    !toks[0].isint);
	T(P("\"\"") == 1 && toks[0].start == toks[0].end);
	T(P("true") == 1 && jsonbool(&doc, 0, &v) == 0 && v == 1);
	T(P("[]") == 1 && toks[0].size == 0 && P("{}") == 1);

	/* rejections, with the byte where it stopped making sense */
	T(rejects("", 0, "expected a value"));
	T(rejects("  ", 2, "expected a value"));
	T(rejects("{\"a\":1,}", 7, "expected a string key"));
	T(rejects("[1,]", 3, "unexpected character"));
	T(rejects("[1 2]", 3, "expected ',' or ']'"));
	T(rejects("{\"a\" 1}", 5, "expected ':'"));
	T(rejects("[1]x", 3, "data after the top-level value"));
	T(rejects("1 2", 2, "data after"));
	T(rejects("[", 1, "expected a value"));
	T(rejects("[1", 2, "unterminated array"));
	T(rejects("{\"a\":1", 6, "unterminated object"));
	T(rejects("\"abc", 4, "unterminated string"));
	T(rejects("\"a\tb\"", 2, "control character"));
	T(rejects("\"\\x\"", 1, "invalid escape"));
	T(rejects("\"\\u12G4\"", 1, "invalid \\u escape"));
	T(rejects("\"\\uDC00\"", 1, "lone low surrogate"));
	T(rejects("\"\\uD800\"", 1, "high surrogate"));
	T(rejects("\"\\uD800\\u0041\"", 1, "high surrogate"));
	T(rejects("\"\xC3\"", 1, "invalid UTF-8"));
	T(rejects("\"\xED\xA0\x80\"", 1, "invalid UTF-8"));
	T(rejects("01", 1, "data after"));
	T(rejects("-", 1, "invalid number"));
	T(rejects("1.", 2, "digit expected after '.'"));
	T(rejects("1e+", 3, "digit expected in exponent"));
	T(rejects("+1", 0, "unexpected character"));
	T(rejects("tru", 0, "invalid literal"));
	T(rejects("nul", 0, "invalid literal"));
	T(rejects("\xEF\xBB\xBF{}", 0, "unexpected character"));

	/* depth: exactly MAXJSONDEPTH parses, one more does not */
	for (i = 0; i < MAXJSONDEPTH; i++)
		deep[i] = '[';
	for (i = 0; i < MAXJSONDEPTH; i++)
		deep[MAXJSONDEPTH + i] = ']';
	deep[2 * MAXJSONDEPTH] = '\0';
	T(P(deep) == MAXJSONDEPTH);
	memmove(deep + 1, deep, 2 * MAXJSONDEPTH + 1);
	deep[0] = '[';
	deep[2 * MAXJSONDEPTH + 1] = ']';
	deep[2 * MAXJSONDEPTH + 2] = '\0';
	T(rejects(deep, MAXJSONDEPTH, "nested deeper than MAXJSONDEPTH"));

	/* the caller's token array bounds the document */
	T(jsonparse(&doc, "[1,2,3]", 7, toks, 4) == 4);
	T(jsonparse(&doc, "[1,2,3]", 7, toks, 3) < 0 &&
	    strstr(doc.err, "too many tokens") != NULL);

	/* and MAXJSONSIZE bounds the bytes */
	n = MAXJSONSIZE + 1;
	big = xmalloc((size_t)n);
	memset(big, ' ', (size_t)n);
	big[0] = '1';
	T(jsonparse(&doc, big, (size_t)n, toks, 4) < 0 && doc.erroff == 0);
	T(jsonparse(&doc, big, (size_t)n - 1, toks, 4) == 1);
	free(big);

	/* accessors refuse on a failed parse */
	P("[1,");
	T(jsontok(&doc, 0) == NULL && jsonat(&doc, 0, 0) == -1);
}

static void
testaccess(void)
{
	char s[64], *d;
	size_t n;
	int64_t i;
	double x;
	int b;

	/* duplicate keys are ambiguous: refused, not first- or last-wins */
	T(P("{\"a\":1,\"b\":2,\"a\":3}") > 0 && jsonget(&doc, 0, "a") == -2);
	T(jsonget(&doc, 0, "b") == 4);
	/* keys compare by their unescaped form */
	T(P("{\"\\u0061\\/\":1,\"\\\"q\":2}") > 0);
	T(jsonget(&doc, 0, "a/") == 2 && jsonget(&doc, 0, "\"q") == 4);
	T(P("{\"a\":1,\"\\u0061\":2}") > 0 && jsonget(&doc, 0, "a") == -2);

	T(P("\"a\\n\\t\\\"\\\\\\/\\b\\f\\r\\u00e9\\u20AC\\ud83d\\ude00\"") == 1);
	T(jsonstr(&doc, 0, s, sizeof(s), &n) == 0 && n == 18 &&
	    memcmp(s, "a\n\t\"\\/\b\f\r\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80",
	    18) == 0 && s[n] == '\0');
	T(jsonstr(&doc, 0, s, 18, &n) == -1);       /* no room for NUL */
	T(jsonstr(&doc, 0, s, 19, &n) == 0);
	T(P("\"a\\u0000b\"") == 1);
	T(jsonstr(&doc, 0, s, sizeof(s), &n) == 0 && n == 3 && s[1] == '\0');
	T(jsonstr(&doc, 0, s, sizeof(s), NULL) == -1);
	T(jsonstrdup(&doc, 0) == NULL);
	T(P("\"caf\xC3\xA9\"") == 1 && (d = jsonstrdup(&doc, 0)) != NULL &&
	    strcmp(d, "caf\xC3\xA9") == 0);
	free(d);
	T(P("12") == 1 && jsonstr(&doc, 0, s, sizeof(s), &n) == -1);

	T(P("[0,-0,9223372036854775807,-9223372036854775808,"
	    "9223372036854775808,-9223372036854775809,1.0,1e2,-5,300]") > 0);
	T(jsonint(&doc, 1, INT64_MIN, INT64_MAX, &i) == 0 && i == 0);
	T(jsonint(&doc, 2, INT64_MIN, INT64_MAX, &i) == 0 && i == 0);
	T(jsonint(&doc, 3, INT64_MIN, INT64_MAX, &i) == 0 && i == INT64_MAX);
	T(jsonint(&doc, 4, INT64_MIN, INT64_MAX, &i) == 0 && i == INT64_MIN);
	T(jsonint(&doc, 5, INT64_MIN, INT64_MAX, &i) == -1);
	T(jsonint(&doc, 6, INT64_MIN, INT64_MAX, &i) == -1);
	T(jsonint(&doc, 7, INT64_MIN, INT64_MAX, &i) == -1);   /* 1.0 */
	T(jsonint(&doc, 8, INT64_MIN, INT64_MAX, &i) == -1);   /* 1e2 */
	T(jsonint(&doc, 9, 0, 100, &i) == -1);                 /* -5 */
	T(jsonint(&doc, 9, -5, 100, &i) == 0 && i == -5);
	T(jsonint(&doc, 10, 0, 299, &i) == -1);
	T(jsonint(&doc, 10, 0, 300, &i) == 0 && i == 300);
	T(jsonint(&doc, 10, 301, 400, &i) == -1);
	/* a magnitude past the limit, however large, never wraps around */
	T(P("[5,18446744073709551616,18446744073709551621,-18446744073709551616]") > 0);
	T(jsonint(&doc, 1, 0, 0, &i) == -1 && jsonint(&doc, 1, 0, 5, &i) == 0);
	T(jsonint(&doc, 2, 0, 0, &i) == -1 && jsonint(&doc, 3, 0, 0, &i) == -1);
	T(jsonint(&doc, 2, INT64_MIN, INT64_MAX, &i) == -1);
	T(jsonint(&doc, 4, INT64_MIN, INT64_MAX, &i) == -1);
	T(jsonint(&doc, 4, 0, 10, &i) == -1);
	T(P("[0,-0,9223372036854775807,-9223372036854775808,"
	    "9223372036854775808,-9223372036854775809,1.0,1e2,-5,300]") > 0);
	T(jsondbl(&doc, 7, &x) == 0 && x == 1.0);
	T(jsondbl(&doc, 8, &x) == 0 && x == 100.0);
	T(P("[1e400,-1e400,1e-400,0.1]") > 0);
	T(jsondbl(&doc, 1, &x) == -1 && jsondbl(&doc, 2, &x) == -1);
	T(jsondbl(&doc, 3, &x) == 0 && x >= 0.0 && x < 1e-300);
	T(jsondbl(&doc, 4, &x) == 0 && x == 0.1);
	T(jsonbool(&doc, 4, &b) == -1);
}

static void
testlongnum(void)
{
	char num[MAXJSONNUMLEN + 8];
	double x;

	memset(num, '1', sizeof(num) - 1);
	num[0] = '0';
	num[1] = '.';
	num[sizeof(num) - 1] = '\0';
	/* valid JSON, but too long to convert: refused, not a CPU sink */
	T(P(num) == 1 && jsondbl(&doc, 0, &x) == -1);
	num[MAXJSONNUMLEN] = '\0';
	T(P(num) == 1 && jsondbl(&doc, 0, &x) == 0);
}

/* the writer's output for a sequence of calls, or NULL if it refused */
static Buf wb;
static JWriter w;

static void
W(void)
{
	buffree(&wb);
	bufinit(&wb, 0);
	jwinit(&w, &wb);
}

static int
wis(const char *want)
{
	if (!jwdone(&w)) {
		printf("  writer refused: %s\n", w.err ? w.err : "incomplete");
		return 0;
	}
	if (strcmp(wb.p, want) != 0) {
		printf("  writer wrote %s, want %s\n", wb.p, want);
		return 0;
	}
	return P(wb.p) > 0;
}

static void
testwriter(void)
{
	int i;

	W();
	jwobj(&w);
	jwkey(&w, "s");
	jwstr(&w, "q\"b\\n\n\t\x01\x1f\x7f/");
	jwkey(&w, "n");
	jwint(&w, INT64_MIN);
	jwkey(&w, "d");
	jwdbl(&w, 0.5);
	jwkey(&w, "a");
	jwarr(&w);
	jwbool(&w, 1);
	jwbool(&w, 0);
	jwnull(&w);
	jwarr(&w);
	jwend(&w);
	jwend(&w);
	jwend(&w);
	T(wis("{\"s\":\"q\\\"b\\\\n\\n\\t\\u0001\\u001f\x7f/\","
	    "\"n\":-9223372036854775808,\"d\":0.5,"
	    "\"a\":[true,false,null,[]]}"));

	/* ill-formed UTF-8 becomes U+FFFD, one per maximal subpart */
	W();
	jwstrn(&w, "a\xC3" "b\xE2\x82" "c\xED\xA0\x80" "\xF0\x9F\x98\x80", 13);
	T(wis("\"a\xEF\xBF\xBD" "b\xEF\xBF\xBD" "c\xEF\xBF\xBD\xEF\xBF\xBD"
	    "\xEF\xBF\xBD\xF0\x9F\x98\x80\""));
	W();
	jwstrn(&w, "a\0b", 3);
	T(wis("\"a\\u0000b\""));

	/* call orders that would not parse are refused */
	W();
	jwobj(&w);
	jwint(&w, 1);
	T(!jwdone(&w) && w.err != NULL);
	W();
	jwarr(&w);
	jwkey(&w, "k");
	T(!jwdone(&w) && w.err != NULL);
	W();
	jwint(&w, 1);
	jwint(&w, 2);
	T(!jwdone(&w) && strstr(w.err, "second") != NULL);
	W();
	jwend(&w);
	T(w.err != NULL);
	W();
	jwobj(&w);
	jwkey(&w, "k");
	jwend(&w);
	T(w.err != NULL);
	W();
	jwobj(&w);
	T(!jwdone(&w));                 /* still open */
	W();
	jwdbl(&w, NAN);
	T(w.err != NULL && !jwdone(&w));
	W();
	jwdbl(&w, INFINITY);
	T(w.err != NULL);
	W();
	for (i = 0; i <= MAXJSONDEPTH; i++)
		jwarr(&w);
	T(w.err != NULL && strstr(w.err, "MAXJSONDEPTH") != NULL);

	/* a bounded buffer that fills up is an error, not a truncation */
	buffree(&wb);
	bufinit(&wb, 4);
	jwinit(&w, &wb);
	jwstr(&w, "long string");
	T(!jwdone(&w));

	/* jwtok copies a parsed subtree verbatim */
	T(P("{\"x\":[1,\"\\u00e9\",{\"y\":true}]}") > 0);
	W();
	jwarr(&w);
	jwtok(&w, &doc, jsonget(&doc, 0, "x"));
	jwtok(&w, &doc, 4);
	jwend(&w);
	T(wis("[[1,\"\\u00e9\",{\"y\":true}],\"\\u00e9\"]"));
	W();
	jwtok(&w, &doc, 99);
	T(w.err != NULL);
	/* a copied subtree counts towards the depth already open */
	{
		char deep[2 * MAXJSONDEPTH + 1];

		memset(deep, '[', MAXJSONDEPTH);
		memset(deep + MAXJSONDEPTH, ']', MAXJSONDEPTH);
		deep[2 * MAXJSONDEPTH] = '\0';
		T(P(deep) == MAXJSONDEPTH);
		W();
		jwtok(&w, &doc, 0);
		T(jwdone(&w));
		W();
		jwarr(&w);
		jwtok(&w, &doc, 0);
		T(w.err != NULL && strstr(w.err, "MAXJSONDEPTH") != NULL);
		W();
		jwarr(&w);
		jwtok(&w, &doc, 1);
		jwend(&w);
		T(wis(deep));
	}
	buffree(&wb);
}

/* hardenenv() drops LD_* and DYLD_* and keeps the rest in order */
static void
testenv(void)
{
	char *env[] = {
		"PATH=/usr/bin", "LD_PRELOAD=/x.so", "HOME=/h",
		"DYLD_INSERT_LIBRARIES=/y", "LD_LIBRARY_PATH=/z", "OLD_LD=1",
		"LANG=C", NULL
	};
	char **saved = environ;

	environ = env;
	hardenenv();
	environ = saved;
	T(strcmp(env[0], "PATH=/usr/bin") == 0);
	T(strcmp(env[1], "HOME=/h") == 0);
	T(strcmp(env[2], "OLD_LD=1") == 0);
	T(strcmp(env[3], "LANG=C") == 0);
	T(env[4] == NULL);
}

/* from outside: a child started after harden() sees no LD_* variable
 * and no descriptor above 2, while the rest of its environment is kept */
static void
testchild(void)
{
	int p[2], st, extra;
	pid_t pid;
	char out[8192];
	ssize_t r;
	size_t n = 0;

	if (pipe(p) != 0)
		die("pipe:");
	if ((pid = fork()) == -1)
		die("fork:");
	if (pid == 0) {
		setenv("LD_VTCODE_TEST", "1", 1);
		setenv("LD_LIBRARY_PATH", "/nonexistent", 1);
		setenv("VTCODE_KEEP", "kept", 1);
		extra = open("/dev/null", O_RDONLY);
		if (dup2(p[1], 1) == -1 || extra < 0 || dup2(extra, 9) == -1)
			_exit(99);
		harden();
		execl("/bin/sh", "sh", "-c",
		    "env; ls /proc/self/fd | tr '\\n' ' '", (char *)NULL);
		_exit(98);
	}
	close(p[1]);
	while (n < sizeof(out) - 1 &&
	    (r = read(p[0], out + n, sizeof(out) - 1 - n)) > 0)
		n += (size_t)r;
	out[n] = '\0';
	close(p[0]);
	waitpid(pid, &st, 0);
	T(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	T(strstr(out, "VTCODE_KEEP=kept") != NULL);     /* positive control */
	T(strstr(out, "LD_VTCODE_TEST") == NULL);
	T(strstr(out, "LD_LIBRARY_PATH") == NULL);
	/* ls's own fd 3 (its directory) is the only one above 2 */
	T(strstr(out, "0 1 2 3 ") != NULL && strstr(out, " 9") == NULL);
}

/* where the commands' temp dir may go: runtmpsafe() on bases made to
 * fail each of its checks, each next to one that passes */
static void
testruntmp(void)
{
	char base[] = "/tmp/vtcode-unit-XXXXXX", f[64], m[64];
	int fd, st, ok;
	pid_t pid;

	if (mkdtemp(base) == NULL)
		die("mkdtemp:");
	T(runtmpsafe(base, 0) == 1);            /* ours, 0700 */
	chmod(base, 0777);                      /* others may write... */
	T(runtmpsafe(base, 0) == 0);
	chmod(base, 01777);                     /* ...but not move ours */
	T(runtmpsafe(base, 0) == 1);
	chmod(base, 0770);
	T(runtmpsafe(base, 0) == 0);
	chmod(base, 0755);
	T(runtmpsafe(base, 0) == 1);
	if (geteuid() == 0) {                   /* someone else's */
		T(chown(base, 65534, 65534) == 0);
		T(runtmpsafe(base, 0) == 0);
		T(chown(base, 0, 0) == 0);
		T(runtmpsafe(base, 0) == 1);
	}
	snprintf(f, sizeof(f), "%s/file", base);
	if ((fd = open(f, O_WRONLY | O_CREAT | O_EXCL, 0600)) < 0)
		die("open %s:", f);
	close(fd);
	T(runtmpsafe(f, 0) == 0);               /* not a directory */
	snprintf(m, sizeof(m), "%s/missing", base);
	T(runtmpsafe(m, 0) == 0);
	/* no room left for "/vtcode-UID/XXXXXX" (base: 32 bytes at most) */
	T(runtmpsafe("/tmp/////////////////////////////", 0) == 0);   /* 33 */
	T(runtmpsafe("/tmp////////////////////////////", 0) == 1);    /* 32 */
	unlink(f);
	/* read-only, noexec and small file systems: tmpfs mounts in a user
	 * and mount namespace of a child's own, where it is root */
	if ((pid = fork()) == -1)
		die("fork:");
	if (pid == 0) {
		char map[64];
		uid_t uid = geteuid();
		gid_t gid = getegid();

		if (unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0)
			_exit(3);
		putfile("/proc/self/setgroups", "deny");
		snprintf(map, sizeof(map), "0 %lu 1", (unsigned long)uid);
		if (putfile("/proc/self/uid_map", map) != 0)
			_exit(3);
		snprintf(map, sizeof(map), "0 %lu 1", (unsigned long)gid);
		if (putfile("/proc/self/gid_map", map) != 0 ||
		    mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
			_exit(3);
		ok = 0;
		if (mount("t", base, "tmpfs", 0, "size=4m,mode=1777") != 0)
			_exit(3);
		ok |= runtmpsafe(base, 0) != 1;         /* control */
		ok |= (runtmpsafe(base, 1) != 0) << 1;  /* under 1 GiB */
		umount(base);
		if (mount("t", base, "tmpfs", MS_RDONLY, "mode=1777") != 0)
			_exit(3);
		ok |= (runtmpsafe(base, 0) != 0) << 2;
		umount(base);
		if (mount("t", base, "tmpfs", MS_NOEXEC, "mode=1777,"
		    "size=2g") != 0)
			_exit(3);
		ok |= (runtmpsafe(base, 0) != 1) << 3;
		ok |= (runtmpsafe(base, 1) != 0) << 4;
		umount(base);
		if (mount("t", base, "tmpfs", 0, "mode=1777,size=2g") != 0)
			_exit(3);
		ok |= (runtmpsafe(base, 1) != 1) << 5;  /* control */
		_exit(ok ? 4 + ok : 0);
	}
	waitpid(pid, &st, 0);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 3) {
		printf("unit: runtmpsafe on tmpfs mounts: skipped (no user "
		    "namespace here)\n");
	} else {
		if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0))
			printf("  runtmpsafe in a namespace: status %d\n",
			    WIFEXITED(st) ? WEXITSTATUS(st) - 4 : -1);
		T(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	rmdir(base);
}

/* a session is never saved larger than resume reads (MAXSESSION): the
 * copy saved before stays, next to a control that is saved */
static void
testsessioncap(void)
{
	char dir[] = "/tmp/vtcode-unit-XXXXXX", f[128];
	StoreMeta sm;
	struct stat st, st2;
	Conv cv;
	char *big;
	size_t n = MAXSESSION / 4 + 1;
	int i;

	if (mkdtemp(dir) == NULL)
		die("mkdtemp:");
	setenv("XDG_STATE_HOME", dir, 1);
	memset(&sm, 0, sizeof(sm));
	memset(&cv, 0, sizeof(cv));
	snprintf(sm.id, sizeof(sm.id), "%s", "0123456789abcdef0123456789abcdef");
	convadd(&cv, RoleUser, "hello", 5);
	storesave(&sm, &cv);
	snprintf(f, sizeof(f), "%s/vtcode/sessions/%s.md", dir, sm.id);
	T(stat(f, &st) == 0 && st.st_size > 0 && !sm.warned);  /* control */
	big = xmalloc(n);
	memset(big, 'x', n);
	for (i = 0; i < 4; i++)
		convadd(&cv, RoleAssistant, big, n);
	free(big);
	storesave(&sm, &cv);
	T(sm.warned);
	T(stat(f, &st2) == 0 && st2.st_size == st.st_size);
	convfree(&cv, 0);
	unlink(f);
	snprintf(f, sizeof(f), "%s/vtcode/sessions", dir);
	rmdir(f);
	snprintf(f, sizeof(f), "%s/vtcode", dir);
	rmdir(f);
	rmdir(dir);
	unsetenv("XDG_STATE_HOME");
}

/* every row's examples: match gets the row's decision, nomatch does not */
static void
testrules(void)
{
	const CmdRule *r;
	Verdict v;
	size_t i, k;
	int j;

	for (i = 0; i < LEN(cmdrules); i++) {
		r = &cmdrules[i];
		T(r->match[0] != NULL);
		for (j = 0; j < MAXEXAMPLES && r->match[j] != NULL; j++) {
			policydecide("run_command", r->match[j],
			    strlen(r->match[j]), NULL, &v);
			if (v.d != r->decision)
				printf("  row %s: %s: %s (%s)\n", r->name,
				    r->match[j], decname(v.d), v.why);
			T(v.d == r->decision);
		}
		for (j = 0; j < MAXEXAMPLES && r->nomatch[j] != NULL; j++) {
			policydecide("run_command", r->nomatch[j],
			    strlen(r->nomatch[j]), NULL, &v);
			if (v.d == r->decision)
				printf("  row %s: %s: %s (%s)\n", r->name,
				    r->nomatch[j], decname(v.d), v.why);
			T(v.d != r->decision);
		}
		/* one row per name */
		for (k = i + 1; k < LEN(cmdrules); k++)
			if (strcmp(r->name, cmdrules[k].name) == 0)
				break;
		T(k == LEN(cmdrules));
		/* lists are well formed: options start with '-' */
		T(r->args == ArgAny || r->args == ArgDd || r->shortopts != NULL);
		T(r->reason != NULL && r->reason[0] != '\0');
	}
	for (i = 0; i < LEN(toolrules); i++)
		T(toolrule(toolrules[i].tool) == &toolrules[i]);
	T(toolrule("run_command") != NULL);
}

/* the approval prompt's summary of a write */
static void
testsummary(void)
{
	char sum[128];

	T(P("{\"path\":\"no/such/file\",\"content\":\"a\\nb\\nc\"}") > 0);
	toolsummary("write_file", &doc, 0, sum, sizeof(sum));
	T(strcmp(sum, "creates a file of 3 lines") == 0);
	T(P("{\"path\":\"tests/unit.c\",\"content\":\"x\"}") > 0);
	toolsummary("write_file", &doc, 0, sum, sizeof(sum));
	T(strncmp(sum, "replaces ", 9) == 0 && strstr(sum, " lines with 1") != NULL);
	T(P("{\"path\":\"x\",\"old_string\":\"a\\nb\",\"new_string\":\"c\","
	    "\"replace_all\":true}") > 0);
	toolsummary("edit_file", &doc, 0, sum, sizeof(sum));
	T(strcmp(sum, "-2 +1 lines at every match") == 0);
}

/* what the lexer makes of a line, word by word */
static void
testlex(void)
{
	CmdLine cl;
	char err[256];

	const char *line = "ls -l 'a b' c\\ d \"e\\\"f\" '' | wc -l && x || y ; z";

	T(cmdlex(line, strlen(line), &cl, err, sizeof(err)) == 0);
	T(cl.n == 5 && cl.op[0] == '|' && cl.op[1] == '&' && cl.op[2] == 'o' &&
	    cl.op[3] == ';');
	T(cl.st[0].argc == 6 && strcmp(cl.st[0].argv[2], "a b") == 0 &&
	    strcmp(cl.st[0].argv[3], "c d") == 0 &&
	    strcmp(cl.st[0].argv[4], "e\"f") == 0 && cl.st[0].argv[5][0] == '\0');
	cmdfree(&cl);
	T(cmdlex("ls\0x", 4, &cl, err, sizeof(err)) != 0 &&
	    strstr(err, "NUL") != NULL && cl.n == 0);
	T(cmdlex("ls\tx", 4, &cl, err, sizeof(err)) == 0 && cl.st[0].argc == 2);
	cmdfree(&cl);
}

/*
 * Drivers that tests.sh runs in scratch workspaces (the agent loop that
 * will call these is not in this build):
 *   unit gate TOOL ARG [SUMMARY]  the whole approval gate, on /dev/tty
 *   unit tool NAME JSON           run write_file, edit_file or
 *                                 list_files
 *   unit run COMMAND [WORKDIR]    run_command: the gate, then the runner
 *   unit selfbox URL FILE PORT    the agent's own sandbox, then what
 *                                 it can still read and connect to
 *   unit runmany N                /bin/true N times through the runner;
 *                                 exit 0 when no fd or child is left
 *   unit decode KIND FILE         an SSE capture through the stream
 *                                 decoder, whole and split, and whole
 *                                 with every chunk parsed; on stderr
 *                                 how many chunks skipped the parser
 *   unit writeloop PATH BYTES     write_file the same path forever,
 *                                 alternating all-'a' and all-'b' content
 */

/* how decodesum feeds llmsse: as vtcode does, counting the chunks
 * turnlike takes without a parse, or with no chunk kept (every chunk
 * parsed) */
static int decodeslow, decodefast;

static int
decodesse(void *ctx, const char *event, const char *data, size_t n)
{
	Turn *t = ((SseCtx *)ctx)->t;
	JDoc d;
	JTok k;

	if (decodeslow)
		t->tpllen = 0;
	else if (t->errkind == ErrNone && !t->done &&
	    turnlike(t, data, n, &d, &k))
		decodefast++;
	return llmsse(ctx, event, data, n);
}

/* the normalised result of decoding one stream, as text to compare */
static void
decodesum(int kind, const char *p, size_t n, const size_t *cuts, int ncuts,
    Buf *sum)
{
	SseCtx sc;
	Turn t;
	Sse s;
	size_t off = 0;
	int i, rc = 0;

	turninit(&t, kind, NULL, NULL);
	sc.t = &t;
	sc.ep = NULL;
	sseinit(&s, decodesse, &sc);
	for (i = 0; i <= ncuts && rc == 0; i++) {
		size_t end = i < ncuts ? cuts[i] : n;
		rc = ssefeed(&s, p + off, end - off);
		off = end;
	}
	if (rc == 0)
		rc = sseend(&s);
	if (rc == 0)
		turnfinish(&t, 1);
	sum->len = 0;
	bufaddstr(sum, "text ");
	bufaddf(sum, "%zu ", t.text.len);
	bufadd(sum, t.text.p, t.text.len);
	bufaddstr(sum, "\nreasoning ");
	bufadd(sum, t.reasoning.p, t.reasoning.len);
	for (i = 0; i < t.ncalls; i++) {
		bufaddf(sum, "\ncall %s %s ", t.calls[i].id, t.calls[i].name);
		bufadd(sum, t.calls[i].args.p, t.calls[i].args.len);
	}
	bufaddf(sum, "\nfinish %s\nusage %lld %lld\nerror %d %s\n", t.finish,
	    (long long)t.intok, (long long)t.outtok, t.errkind, t.err);
	turnfree(&t);
	ssefree(&s);
}

/* unit decode openai|anthropic FILE: the stream decoded whole, checked
 * against every two-way split (small files) and runs of small pieces */
static int
decodedrv(const char *kindname, const char *file)
{
	static const size_t steps[] = { 1, 2, 3, 5, 7, 13, 64, 1000 };
	int kind = strcmp(kindname, "anthropic") == 0 ? KindAnthropic :
	    KindOpenAI, bad = 0, nc;
	size_t len, k, i, *cuts;
	struct stat st;
	char *p;
	Buf a, b;

	if ((p = readsmall(AT_FDCWD, file, 1 << 20, &len, &st)) == NULL)
		die("%s:", file);
	bufinit(&a, 0);
	bufinit(&b, 0);
	/* every chunk parsed, then as vtcode reads it: the same */
	decodeslow = 1;
	decodesum(kind, p, len, NULL, 0, &b);
	decodeslow = 0;
	decodesum(kind, p, len, NULL, 0, &a);
	if (b.len != a.len || memcmp(a.p, b.p, a.len) != 0) {
		printf("with every chunk parsed it differs:\n%s", b.p);
		bad = 1;
	}
	fprintf(stderr, "decode: %d chunks taken without a parse\n",
	    decodefast);
	for (k = 1; len <= 12000 && k < len && !bad; k++) {
		decodesum(kind, p, len, &k, 1, &b);
		if (b.len != a.len || memcmp(a.p, b.p, a.len) != 0) {
			printf("split at byte %zu differs:\n%s", k, b.p);
			bad = 1;
		}
	}
	cuts = xmalloc(sizeof(*cuts) * (len + 1));
	for (i = 0; i < LEN(steps) && !bad; i++) {
		for (nc = 0, k = steps[i]; k < len; k += steps[i])
			cuts[nc++] = k;
		decodesum(kind, p, len, cuts, nc, &b);
		if (b.len != a.len || memcmp(a.p, b.p, a.len) != 0) {
			printf("pieces of %zu bytes differ:\n%s", steps[i], b.p);
			bad = 1;
		}
	}
	fwrite(a.p, 1, a.len, stdout);
	free(cuts);
	free(p);
	buffree(&a);
	buffree(&b);
	return bad;
}

/* one chunk into t through llmsse; 1 if turnlike would have taken it
 * without a parse (asked first, as llmsse asks) */
static int
chunk(Turn *t, const char *data)
{
	SseCtx sc;
	JDoc d;
	JTok k;
	int like;

	sc.t = t;
	sc.ep = NULL;
	like = turnlike(t, data, strlen(data), &d, &k);
	T(llmsse(&sc, "", data, strlen(data)) == 0);
	return like;
}

/* the seccomp programs vtcode carries (build/bpf.h) are libseccomp's
 * compile of them now, and a change to any one instruction shows */
static void
testbpf(void)
{
#if defined(__linux__)
	const struct sock_fprog *have[4];
	struct sock_fprog bent;
	char why[256];
	int k, i;

	for (k = 0; k < 4; k++) {
		have[k] = sbxprogram(SBXKINDNET(k), SBXKINDABI(k), why,
		    sizeof(why));
		T(have[k] != NULL && have[k]->len > 10);
	}
	/* the four kinds differ: network calls, truncate below ABI 3 */
	T(have[0]->len != have[2]->len && have[0]->len != have[1]->len);
	T(sbxsame(have, why, sizeof(why)) == 1);
	for (k = 0; k < 4; k++)
		for (i = 0; i < 3; i++) {
			bent.len = have[k]->len;
			bent.filter = xmalloc(bent.len * sizeof(*bent.filter));
			memcpy(bent.filter, have[k]->filter, bent.len *
			    sizeof(*bent.filter));
			/* the first, a middle and the last instruction */
			bent.filter[i * (bent.len - 1) / 2].k ^= 1;
			have[k] = &bent;
			T(sbxsame(have, why, sizeof(why)) == 0);
			have[k] = sbxprogram(SBXKINDNET(k), SBXKINDABI(k),
			    why, sizeof(why));
			free(bent.filter);
		}
	bent = *have[3];
	bent.len--;
	have[3] = &bent;
	T(sbxsame(have, why, sizeof(why)) == 0);
#endif
}

/* chunks that differ from the kept one only in their text skip the
 * parser; each refusal next to its control */
static void
testturnlike(void)
{
#define OAI(x) "{\"id\":\"c\",\"choices\":[{\"delta\":{\"content\":\"" x \
	"\"},\"finish_reason\":null}]}"
	char big[STREAMTPL + 64];
	Turn t;

	turninit(&t, KindOpenAI, NULL, NULL);
	T(!chunk(&t, OAI("a")) && t.tpllen > 0);
	T(chunk(&t, OAI("bc")));                /* control */
	T(chunk(&t, OAI("")));
	T(chunk(&t, OAI("\\u00e9\\n\\\"")));
	T(chunk(&t, OAI("\xc3\xa9")));
	T(t.text.len == 9 && memcmp(t.text.p, "abc\xc3\xa9\n\"\xc3\xa9", 9) == 0);
	/* other bytes before or after it, or a string that ends early;
	 * a chunk of another shape is kept in its place */
	T(!chunk(&t, "{\"id\":\"d\",\"choices\":[{\"delta\":{\"content\":\"x\"},"
	    "\"finish_reason\":null}]}"));
	T(!chunk(&t, OAI("y")));
	T(!chunk(&t, "{\"id\":\"c\",\"choices\":[{\"delta\":{\"content\":\"x\"},"
	    "\"finish_reason\":\"ab\"}]}"));
	T(strcmp(t.finish, "ab") == 0);
	T(chunk(&t, OAI("z")));
	T(!chunk(&t, OAI("p\",\"reasoning\":\"q")));
	T(t.reasoning.len == 1 && t.reasoning.p[0] == 'q');
	T(t.text.len == 14 && memcmp(t.text.p + 9, "xyxzp", 5) == 0);
	/* what the parser refuses, it refuses: no chunk skips it */
	T(!turnlike(&t, OAI("\x01"), strlen(OAI("\x01")), &(JDoc){0},
	    &(JTok){0}));
	T(!turnlike(&t, OAI("\\x"), strlen(OAI("\\x")), &(JDoc){0},
	    &(JTok){0}));
	T(!turnlike(&t, OAI("\xff"), strlen(OAI("\xff")), &(JDoc){0},
	    &(JTok){0}));
	T(!turnlike(&t, OAI("\\ud800"), strlen(OAI("\\ud800")), &(JDoc){0},
	    &(JTok){0}));
	T(turnlike(&t, OAI("\\ud83d\\ude00"), strlen(OAI("\\ud83d\\ude00")),
	    &(JDoc){0}, &(JTok){0}));
	/* a chunk that did more than add one string is not kept */
	T(!chunk(&t, "{\"choices\":[{\"delta\":{\"content\":\"a\","
	    "\"reasoning\":\"b\"}}]}"));
	T(!chunk(&t, "{\"choices\":[{\"delta\":{\"content\":\"c\","
	    "\"reasoning\":\"b\"}}]}"));
	T(!chunk(&t, "{\"choices\":[{\"delta\":{\"content\":\"a\"}}],"
	    "\"usage\":{\"prompt_tokens\":1}}"));
	T(!chunk(&t, "{\"choices\":[{\"delta\":{\"content\":\"c\"}}],"
	    "\"usage\":{\"prompt_tokens\":1}}"));
	T(!chunk(&t, "{\"choices\":[{\"delta\":{\"content\":\"a\",\"tool_calls\":"
	    "[{\"index\":0,\"id\":\"i\",\"function\":{\"name\":\"n\"}}]}}]}"));
	T(!chunk(&t, "{\"choices\":[{\"delta\":{\"content\":\"c\",\"tool_calls\":"
	    "[{\"index\":0,\"id\":\"i\",\"function\":{\"name\":\"n\"}}]}}]}"));
	T(t.reasoning.len == 3 && t.ncalls == 1);
	T(!chunk(&t, "{\"choices\":[{\"delta\":{\"content\":\"a\",\"tool_calls\":"
	    "[]}}]}"));                 /* no call in it: kept */
	T(chunk(&t, "{\"choices\":[{\"delta\":{\"content\":\"c\",\"tool_calls\":"
	    "[]}}]}"));
	/* a chunk longer than STREAMTPL is parsed, and not kept */
	memset(big, 'w', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "{\"choices\":[{\"delta\":{\"content\":\"", 33);
	memcpy(big + sizeof(big) - 6, "\"}}]}", 5);
	T(!chunk(&t, big) && t.tpllen > 0 && t.tpllen <= STREAMTPL);
	big[40] = 'v';
	T(!chunk(&t, big));
	turnfree(&t);
	/* Anthropic's text deltas; a thinking block's own shape */
	turninit(&t, KindAnthropic, NULL, NULL);
	T(!chunk(&t, "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":"
	    "{\"type\":\"text_delta\",\"text\":\"Hi\"}}"));
	T(chunk(&t, "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":"
	    "{\"type\":\"text_delta\",\"text\":\" you\"}}"));
	T(!chunk(&t, "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":"
	    "{\"type\":\"thinking_delta\",\"thinking\":\"h\"}}"));
	T(chunk(&t, "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":"
	    "{\"type\":\"thinking_delta\",\"thinking\":\"m\"}}"));
	T(t.text.len == 6 && t.reasoning.len == 2);
	turnfree(&t);
#undef OAI
}

/* ---- net, http, sse ---- */

static int
urlok(const char *s, int tls, const char *host, const char *port,
    const char *path)
{
	char why[256];
	Url u;

	if (urlparse(&u, s, why, sizeof(why)) != 0) {
		printf("  %s: %s\n", s, why);
		return 0;
	}
	return u.tls == tls && strcmp(u.host, host) == 0 &&
	    strcmp(u.port, port) == 0 && strcmp(u.path, path) == 0;
}

static int
urlbad(const char *s, const char *why)
{
	char w[256];
	Url u;

	return urlparse(&u, s, w, sizeof(w)) != 0 && strstr(w, why) != NULL;
}

static const char *
proxyfor(const char *url)
{
	char why[256];
	Url u;

	if (urlparse(&u, url, why, sizeof(why)) != 0)
		return "bad url";
	return netproxy(&u);
}

static Buf body;

static int
bodycb(void *ctx, const char *p, size_t n)
{
	(void)ctx;
	bufadd(&body, p, n);
	return 0;
}

/* feed s one byte at a time; 1 complete, 0 more, -1 error */
static int
hfeed(HttpResp *r, const char *s)
{
	size_t i, used;
	int rc = 0;

	httpinit(r, bodycb, NULL);
	body.len = 0;
	for (i = 0; s[i] != '\0' && rc == 0; i++)
		rc = httpfeed(r, s + i, 1, &used);
	return rc;
}

static Buf sseevs;

static int
evcb(void *ctx, const char *event, const char *data, size_t n)
{
	(void)ctx;
	bufaddf(&sseevs, "[%s|", event);
	bufadd(&sseevs, data, n);
	bufaddstr(&sseevs, "]");
	return 0;
}

static int
sseis(const char *in, const char *want)
{
	Sse s;
	int ok;

	sseevs.len = 0;
	sseinit(&s, evcb, NULL);
	ok = ssefeed(&s, in, strlen(in)) == 0 && sseend(&s) == 0;
	bufaddc(&sseevs, '\0');
	ssefree(&s);
	if (!ok || strcmp(sseevs.p, want) != 0)
		printf("  sse: got %s\n", sseevs.p);
	return ok && strcmp(sseevs.p, want) == 0;
}

static void
testnet(void)
{
	HttpResp r;
	char why[256], b64[16];
	Url u;

	T(urlok("http://127.0.0.1:1234/v1", 0, "127.0.0.1", "1234", "/v1"));
	T(urlok("https://api.openai.com/v1/", 1, "api.openai.com", "443",
	    "/v1/"));
	T(urlok("HTTP://[::1]:8080", 0, "::1", "8080", "/"));
	/* the Host header and the CONNECT line name a host the same way */
	T(urlparse(&u, "http://[::1]:8080/v1", why, sizeof(why)) == 0);
	urlauthority(&u, 0, why, sizeof(why));
	T(strcmp(why, "[::1]:8080") == 0);
	T(urlparse(&u, "https://api.openai.com/v1", why, sizeof(why)) == 0);
	urlauthority(&u, 0, why, sizeof(why));
	T(strcmp(why, "api.openai.com") == 0);
	urlauthority(&u, 1, why, sizeof(why));
	T(strcmp(why, "api.openai.com:443") == 0);
	T(urlparse(&u, "https://[2001:db8::1]/", why, sizeof(why)) == 0);
	urlauthority(&u, 1, why, sizeof(why));
	T(strcmp(why, "[2001:db8::1]:443") == 0);
	/* Retry-After dates: the three forms HTTP names, and controls */
	T(httpdate("Sun, 06 Nov 1994 08:49:37 GMT") == 784111777LL);
	T(httpdate("Sunday, 06-Nov-94 08:49:37 GMT") == 784111777LL);
	T(httpdate("Sun Nov  6 08:49:37 1994") == 784111777LL);
	T(httpdate("Thu, 01 Jan 1970 00:00:00 GMT") == 0);
	T(httpdate("Tue, 29 Feb 2000 12:00:00 GMT") == 951825600LL);
	T(httpdate("Mon, 01 Mar 2100 00:00:00 GMT") == 4107542400LL);
	T(httpdate("Fri, 31 Dec 9999 23:59:59 GMT") == 253402300799LL);
	T(httpdate("Sun, 06 Nov 1994 08:49:37 PST") == -1);
	T(httpdate("Sun, 32 Nov 1994 08:49:37 GMT") == -1);
	T(httpdate("Sun, 06 Nox 1994 08:49:37 GMT") == -1);
	T(httpdate("Sun, 06 Nov 1994 24:00:00 GMT") == -1);
	T(httpdate("Sun, 06 Nov 1994 08:49:37 GMT x") == -1);
	T(httpdate("120") == -1 && httpdate("") == -1);
	T(urlok("http://proxy:3128", 0, "proxy", "3128", "/"));
	T(urlparse(&u, "http://u%40x:p%3Aw@proxy:3128/", why, sizeof(why))
	    == 0 && strcmp(u.user, "u@x") == 0 && strcmp(u.pass, "p:w") == 0);
	T(urlbad("ftp://x/", "only http:// and https://"));
	T(urlbad("http://host:99999/", "bad port"));
	T(urlbad("http://host:12ab/", "bad port"));
	T(urlbad("http://ho st/", "space or a control"));
	T(urlbad("http://[::1/", "unclosed ["));
	T(urlbad("http://:80/", "bad host name"));
	T(urlbad("http://a%00b@h/", "malformed user name"));
	T(urlbad("http://ex\xc3\xa4mple.com/", "bad host name"));
	T(hostloopback("localhost") && hostloopback("127.5.5.5") &&
	    hostloopback("::1") && hostloopback("::ffff:127.0.0.1") &&
	    hostloopback("a.localhost"));
	T(!hostloopback("128.0.0.1") && !hostloopback("example.com") &&
	    !hostloopback("localhost.evil.com") && !hostloopback("::2"));

	setenv("https_proxy", "http://p:1", 1);
	unsetenv("no_proxy");
	unsetenv("NO_PROXY");
	unsetenv("http_proxy");
	setenv("HTTP_PROXY", "http://cgi:1", 1);
	T(proxyfor("https://api.openai.com/v1") != NULL &&
	    strcmp(proxyfor("https://api.openai.com/v1"), "http://p:1") == 0);
	T(proxyfor("http://example.com/") == NULL);   /* HTTP_PROXY: no */
	T(proxyfor("https://localhost:8443/") == NULL);
	T(proxyfor("https://127.0.0.1/") == NULL);
	setenv("no_proxy", "example.org, openai.com", 1);
	T(proxyfor("https://api.openai.com/v1") == NULL);
	T(proxyfor("https://openai.com/v1") == NULL);
	T(proxyfor("https://notopenai.com/v1") != NULL);
	setenv("no_proxy", ".openai.com", 1);
	T(proxyfor("https://api.openai.com/v1") == NULL);
	setenv("no_proxy", "*", 1);
	T(proxyfor("https://api.openai.com/v1") == NULL);
	unsetenv("no_proxy");
	setenv("NO_PROXY", "api.openai.com", 1);
	T(proxyfor("https://api.openai.com/v1") == NULL);
	unsetenv("NO_PROXY");
	unsetenv("https_proxy");
	setenv("HTTPS_PROXY", "http://q:2", 1);
	T(proxyfor("https://x.example/") != NULL &&
	    strcmp(proxyfor("https://x.example/"), "http://q:2") == 0);
	unsetenv("HTTPS_PROXY");
	unsetenv("HTTP_PROXY");
	T(proxyfor("https://x.example/") == NULL);

	base64enc((const unsigned char *)"u1:p%w", 6, b64);
	T(strcmp(b64, "dTE6cCV3") == 0);
	base64enc((const unsigned char *)"ab", 2, b64);
	T(strcmp(b64, "YWI=") == 0);

	bufinit(&body, 0);
	T(hfeed(&r, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello") == 1
	    && r.status == 200 && body.len == 5 &&
	    memcmp(body.p, "hello", 5) == 0);
	T(hfeed(&r, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nX-Trailer: y\r\n\r\n") == 1 &&
	    body.len == 5 && memcmp(body.p, "abcde", 5) == 0);
	T(hfeed(&r, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 503 Busy\r\n"
	    "Retry-After: 7\r\nretry-after-ms: 30\r\nContent-Length: 0\r\n\r\n")
	    == 1 && r.status == 503 && strcmp(r.retryafter, "7") == 0 &&
	    strcmp(r.retryafterms, "30") == 0);
	T(hfeed(&r, "HTTP/1.0 200 OK\nContent-Type: text/event-stream\n\n"
	    "data: x\n\n") == 0 && r.state == HClose && httpeof(&r) == 1 &&
	    body.len == 9 && strncmp(r.ctype, "text/event-stream", 17) == 0);
	T(hfeed(&r, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel") == 0 &&
	    httpeof(&r) == -1 && strstr(r.err, "in the middle") != NULL);
	T(hfeed(&r, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"
	    "Content-Length: 6\r\n\r\n") == -1 && strstr(r.err, "conflicting"));
	T(hfeed(&r, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n") == -1 &&
	    strstr(r.err, "ambiguous framing"));
	T(hfeed(&r, "HTTP/1.1 200 OK\r\nX: a\r\n folded\r\n\r\n") == -1 &&
	    strstr(r.err, "folded"));
	T(hfeed(&r, "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n") ==
	    -1 && strstr(r.err, "unsupported Transfer-Encoding"));
	T(hfeed(&r, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "10000000000000000\r\n") == -1 && strstr(r.err, "overflows"));
	T(hfeed(&r, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "zz\r\n") == -1 && strstr(r.err, "bad chunk size"));
	T(hfeed(&r, "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n") == -1);
	T(hfeed(&r, "HTTP/1.1 200 OK\r\nX\x01: y\r\n\r\n") == -1);
	T(hfeed(&r, "HTTP/1.1 200 OK\r\nX: \x1b[31m\r\n\r\n") == -1 &&
	    strstr(r.err, "control byte"));
	T(hfeed(&r, "HTTP/2 200\r\n\r\n") == -1 &&
	    strstr(r.err, "not an HTTP/1.x status line"));
	T(hfeed(&r, "HTTP/1.1 204 No Content\r\n\r\n") == 1 && body.len == 0);
	buffree(&body);

	bufinit(&sseevs, 0);
	T(sseis("data: a\n\n", "[message|a]"));
	T(sseis("data: a\r\n\r\ndata: b\r\rdata: c\n\n",
	    "[message|a][message|b][message|c]"));
	T(sseis("data: one\ndata:two\ndata:  three\n\n",
	    "[message|one\ntwo\n three]"));
	T(sseis(": ping\n\n:\n\nevent: delta\ndata: x\n\ndata: y\n\n",
	    "[delta|x][message|y]"));
	T(sseis("\xef\xbb\xbf" "data: bom\n\n", "[message|bom]"));
	T(sseis("data\n\n", "[message|]"));
	T(sseis("id: 1\nretry: 5\nfoo: bar\ndata: z\n\n", "[message|z]"));
	T(sseis("event: e\n\ndata: after\n\n", "[message|after]"));
	T(sseis("data: \xe2\x80\xa8 stays\n\n", "[message|\xe2\x80\xa8 stays]"));
	T(sseis("data: never dispatched", ""));
	buffree(&sseevs);

	{
		char *mp = NULL;
		size_t ml = 0;
		FILE *mf = open_memstream(&mp, &ml);
		char ts[] = "a\x1b]2;t\x07 \xc2\x9b" "31m \xe2\x80\xae" "x\xff\n";

		putterm(mf, "a\x1b]2;t\x07 \xc2\x9b" "31m \xe2\x80\xae" "x\xff\n",
		    strlen("a\x1b]2;t\x07 \xc2\x9b" "31m \xe2\x80\xae" "x\xff\n"));
		fclose(mf);
		T(mp != NULL && strcmp(mp, "a\\x1b]2;t\\x07 \\u{009B}31m "
		    "\\u{202E}x\\xff\n") == 0);
		free(mp);
		termsafe(ts);
		T(strcmp(ts, "a?]2;t? ??31m ???x??") == 0);
	}
	T(errclassify(401, "", "bad key") == ErrAuth);
	T(errclassify(429, "insufficient_quota", "x") == ErrQuota);
	T(errclassify(429, "rate_limit_exceeded", "slow down") == ErrRetry);
	T(errclassify(400, "context_length_exceeded", "x") == ErrContext);
	T(errclassify(400, "", "prompt is too long: 250000 tokens") ==
	    ErrContext);
	T(errclassify(400, "", "No models loaded. Please load a model") ==
	    ErrModel);
	T(errclassify(529, "overloaded_error", "Overloaded") == ErrRetry);
	T(errclassify(400, "invalid_request_error", "bad field") == ErrBad);
	T(errclassify(503, "", "busy") == ErrRetry);
}

/* unit selfbox URL FILE PORT: the agent's own sandbox for provider URL,
 * then what it can still do: read FILE, read a.txt in the workspace,
 * connect to PORT and to URL's port on 127.0.0.1, open a pty */
static int
selfboxdrv(char *argv[])
{
	struct sockaddr_in sa;
	char why[512];
	Endpoint ep;
	Url u;
	int fd, abi, i, port;

	flagbaseurl = argv[2];
	flagmodel = "m";
	if (agentinit(&ep) != 0)
		return 2;
	abi = selfabi;
	printf("abi %d\n", abi);
	printf("read %s: %s\n", argv[3], (fd = open(argv[3], O_RDONLY)) >= 0 ?
	    "ok" : strerror(errno));
	if (fd >= 0)
		close(fd);
	printf("read a.txt: %s\n", (fd = open("a.txt", O_RDONLY)) >= 0 ?
	    "ok" : strerror(errno));
	if (fd >= 0)
		close(fd);
	urlparse(&u, argv[2], why, sizeof(why));
	for (i = 0; i < 2; i++) {
		port = i == 0 ? atoi(argv[4]) : atoi(u.port);
		memset(&sa, 0, sizeof(sa));
		sa.sin_family = AF_INET;
		sa.sin_port = htons((uint16_t)port);
		sa.sin_addr.s_addr = htonl(0x7f000001);
		fd = socket(AF_INET, SOCK_STREAM, 0);
		printf("connect %s: %s\n", i == 0 ? "other" : "provider",
		    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 ?
		    "ok" : strerror(errno));
		close(fd);
	}
	printf("ptrace: %s\n", ptrace(PTRACE_TRACEME, 0, NULL, NULL) == 0 ?
	    "ok" : strerror(errno));
	/* what only run_command needs: there in a trusted workspace only */
	printf("trusted %d, temp dir %s\n", cfgtrusted, runtmpdir[0] ?
	    "made" : "none");
	printf("ptmx: %s\n", (fd = open("/dev/ptmx", O_RDWR | O_NOCTTY)) >= 0 ?
	    "ok" : strerror(errno));
	if (fd >= 0)
		close(fd);
	runtmpclean();
	return 0;
}

/* unit runmany N: /bin/true N times through the runner, as vtcode
 * sandbox runs it; then the fds and children left behind */
static int
runmanydrv(long n)
{
	char *av[] = { "/bin/true", NULL }, why[512];
	int before = 0, after = 0, left = 0, bad = 0;
	struct dirent *e;
	RunResult r;
	long i;
	DIR *d;

	for (i = -1; i < n; i++) {
		if (runargv(av, wsroot, 0, 10000, &r, why, sizeof(why)) != 0) {
			printf("run %ld: %s\n", i, why);
			runfree(&r);
			return 1;
		}
		bad += r.status != 0;
		runfree(&r);
		if (i == -1 && (d = opendir("/proc/self/fd")) != NULL) {
			while ((e = readdir(d)) != NULL)
				before++;
			closedir(d);
		}
	}
	if ((d = opendir("/proc/self/fd")) != NULL) {
		while ((e = readdir(d)) != NULL)
			after++;
		closedir(d);
	}
	while (waitpid(-1, NULL, WNOHANG) > 0)
		left++;
	left += waitpid(-1, NULL, WNOHANG) == 0;
	printf("%ld runs, %d failed, fds %d then %d, children left %d\n", n,
	    bad, before, after, left);
	return bad || before != after || left ? 1 : 0;
}

static int
driver(int argc, char *argv[])
{
	JTok *tok;
	JDoc d;
	Verdict v;
	Buf out, js;
	JWriter w;
	char *content[2];
	long n;
	int rc, i;

	if (strcmp(argv[1], "decode") == 0 && argc == 4)
		return decodedrv(argv[2], argv[3]);
	harden();               /* as main() does: origumask, fds, ... */
	atexit(runtmpclean);
	if (strcmp(argv[1], "selfbox") == 0 && argc == 5) {
		wsinit();
		configload();
		return selfboxdrv(argv);
	}
	wsinit();
	configload();
	if (strcmp(argv[1], "gate") == 0 && (argc == 4 || argc == 5)) {
		policygate(argv[2], argv[3], strlen(argv[3]),
		    argc == 5 ? argv[4] : NULL, NULL, &v);
		printf("%s: %s\n", decname(v.d), v.why);
		return v.d == Allow ? 0 : v.d == Prompt ? 1 : 2;
	}
	if (strcmp(argv[1], "runmany") == 0 && argc == 3)
		return runmanydrv(atol(argv[2]));
	tok = xmalloc(1024 * sizeof(*tok));
	bufinit(&out, 0);
	bufaddstr(&out, "");
	if (strcmp(argv[1], "tool") == 0 && argc == 4) {
		if (jsonparse(&d, argv[3], strlen(argv[3]), tok, 1024) < 0)
			die("bad JSON");
		rc = strcmp(argv[2], "write_file") == 0 ? toolwrite(&d, 0, &out) :
		    strcmp(argv[2], "edit_file") == 0 ? tooledit(&d, 0, &out) :
		    strcmp(argv[2], "list_files") == 0 ? toollist(&d, 0, NULL,
		    &out) : toolerr(&out, "no such tool");
		printf("%s\n", out.p);
		buffree(&out);
		free(tok);
		return rc == 0 ? 0 : 1;
	}
	if (strcmp(argv[1], "run") == 0 && (argc == 3 || argc == 4)) {
		/* the agent's path for run_command: gate (the line read from
		 * its workdir), then run the very CmdLine the gate decided */
		char summary[MAXTOOLPATH + 16];
		Decision dec;
		CmdLine cl;

		bufinit(&js, 0);
		jwinit(&w, &js);
		jwobj(&w);
		jwkey(&w, "command");
		jwstr(&w, argv[2]);
		if (argc == 4) {
			jwkey(&w, "workdir");
			jwstr(&w, argv[3]);
		}
		jwend(&w);
		if (jsonparse(&d, js.p, js.len, tok, 1024) < 0)
			die("bad JSON");
		memset(&cl, 0, sizeof(cl));
		summary[0] = '\0';
		if (toolgate("run_command", &d, 0, argv[2], summary,
		    sizeof(summary), &cl, &v, &dec, &out) != 0) {
			printf("%s\n", out.p);
			rc = 3;
		} else if (dec != Allow) {
			printf("%s: %s\n", decname(v.d), v.why);
			rc = 3;
		} else {
			out.max = MAXTOOLOUTPUT;        /* as the agent has it */
			rc = toolrun(&d, 0, &cl, &out) == 0 ? 0 : 4;
			printf("%s\n", out.p);
		}
		cmdfree(&cl);
		buffree(&js);
		buffree(&out);
		free(tok);
		return rc;
	}
	if (strcmp(argv[1], "runin") == 0 && argc == 4) {
		/* the runner alone: the line decided as from the root, then
		 * run in DIR as given, none of run_command's checks of a
		 * workdir: for the runner's own failures before execve */
		char why[PATH_MAX + 128];
		CmdLine cl;
		int status;

		if (policygate("run_command", argv[2], strlen(argv[2]), NULL,
		    &cl, &v) != Allow) {
			printf("%s: %s\n", decname(v.d), v.why);
			rc = 3;
		} else if (runline(&cl, argv[3], 0, RUNTIMEOUTMS, &out,
		    &status, why, sizeof(why)) != 0) {
			printf("%s[not run: %s]\n", out.p, why);
			rc = 4;
		} else {
			printf("%s[exit status %d]\n", out.p, status);
			rc = 0;
		}
		cmdfree(&cl);
		buffree(&out);
		free(tok);
		return rc;
	}
	if (strcmp(argv[1], "writeloop") == 0 && argc == 4) {
		n = atol(argv[3]);
		for (i = 0; i < 2; i++) {
			content[i] = xmalloc((size_t)n + 1);
			memset(content[i], i ? 'b' : 'a', (size_t)n);
			content[i][n] = '\0';
		}
		for (i = 0; ; i ^= 1) {
			bufinit(&js, 0);
			jwinit(&w, &js);
			jwobj(&w);
			jwkey(&w, "path");
			jwstr(&w, argv[2]);
			jwkey(&w, "content");
			jwstr(&w, content[i]);
			jwend(&w);
			if (jsonparse(&d, js.p, js.len, tok, 1024) < 0 ||
			    toolwrite(&d, 0, &out) != 0)
				die("writeloop: %s", out.p);
			buffree(&js);
			out.len = 0;
		}
	}
	die("usage: unit [gate TOOL ARG [SUMMARY] | tool NAME JSON | "
	    "run COMMAND | decode KIND FILE | writeloop PATH BYTES]");
	return 2;
}

int
main(int argc, char *argv[])
{
	if (argc > 1)
		return driver(argc, argv);
	testutf8();
	testbuf();
	testparse();
	testaccess();
	testlongnum();
	testwriter();
	testenv();
	testchild();
	testruntmp();
	testsessioncap();
	wsinit();
	testsummary();
	cfgtrusted = 1;         /* the table as a trusted workspace sees it */
	testlex();
	testrules();
	testturnlike();
	testbpf();
	testnet();
	printf("unit: %d passed, %d failed\n", npass, nfail);
	return nfail ? 1 : 0;
}
