/* See LICENSE file for copyright and license details.
 *
 * tests/fuzz/lexer.c: fuzz target for vtcode.c's policy section: the
 * run_command lexer (cmdlex) and the decision built on it
 * (policydecide, policyargv).  One file, two builds running the same
 * checks on the same bytes:
 *
 *   make tests/fuzz/lexer-fuzzer  libFuzzer (clang), ASan + UBSan + LSan
 *   make tests/fuzz/lexer         plain driver (-DFUZZ_DRIVER), ASan + UBSan:
 *                                 tests/fuzz/lexer FILE exits 0 when the
 *                                 lexer accepted FILE as a command line,
 *                                 1 when it refused it (the reason on
 *                                 stderr), 2 on a usage or I/O error; a
 *                                 failed check aborts.
 *
 * Seed corpus: tests/fuzz/lexer.seeds, the command column of
 * tests/policy/cases and tests/policy/lexer plus a few of its own.
 *
 *   mkdir -p /tmp/lexcorpus && tests/fuzz/lexer-fuzzer \
 *       -max_total_time=120 -max_len=512 -timeout=10 \
 *       /tmp/lexcorpus tests/fuzz/lexer.seeds
 *
 * What one input goes through:
 *   1. A reference lexer written here from POSIX sh's quoting rules
 *      (not from cmdlex) decides whether the line must be refused: bad
 *      bytes, an unquoted $ ` < > ( ) { } or single &, $ or ` inside
 *      double quotes, an unterminated quote, # or ~ opening a word, an
 *      empty stage, an assignment or a bad command name, a glob naming
 *      the command or leaving the workspace, the MAXCMD* limits.  It
 *      also builds the stages and words the line should lex to.
 *   2. policydecide() must refuse exactly the lines the reference
 *      refuses (Deny, cl left empty, the reason cmdlex gives), and for
 *      the others produce exactly the reference's stages, operators and
 *      words: argv[argc] == NULL, UTF-8, no control bytes, argv[0] in
 *      the command-name set.
 *   3. The decision: every stage decided on its own with policyargv()
 *      must combine (strictest wins) to the line's decision and reason;
 *      a command whose row is Deny, a path as the name, or a forbidden
 *      option right after the name must make its stage Deny.
 *   4. policydecide() without a CmdLine must decide the same.
 *
 * Globs expand against the current directory, so the checks run in an
 * empty directory made at start-up: there every glob that stays beneath
 * it matches nothing and stays as written, which makes the words exact.
 * The directory is entered around each call only (libFuzzer reads and
 * writes its corpus and artifacts by relative paths between calls).
 *
 * LEXFUZZ_KNOWN in the environment relaxes checks for bugs already
 * reported, so a run can look for others (comma-separated):
 *   glob-dotdot    skip lines with a glob that can match ".." (".*",
 *                  ".?", "..*"): glob(3) reads the parent directory
 *                  for them, and skipping them keeps the fuzzer from
 *                  walking the file system
 *   short-cluster  a forbidden short option after an unknown one in
 *                  the same cluster (sort -Xo f) need not be Deny
 * Everything is freed: libFuzzer's leak check fails any leak.
 */
#define VTCODE_NOMAIN
#include "../../vtcode.c"
#include "driver.h"

#include <fnmatch.h>

/* a failed check is a bug in vtcode.c (or here): crash so that libFuzzer
 * saves the input and the driver's exit status says so */
#define CHECK(c)        ((c) ? (void)0 : fzfail(__LINE__, #c))

/* one word the reference expects */
typedef struct {
	char *w;        /* as the command will see it */
	char *pat;      /* glob pattern, literals escaped; NULL: no glob */
	int dotdot;     /* a component of pat can match ".." */
} RWord;

typedef struct {
	RWord *w;
	int n, cap;
	int dotdot;     /* some word's glob can match ".." */
} RStage;

/* the reference's reading of a line */
typedef struct {
	RStage *st;
	char *op;       /* between stages, coded as CmdLine's op */
	int n, cap;
	int nops;       /* unquoted operators: | || && ; */
	const char *refused;    /* why the line must be refused, or NULL */
	int dotdot;
} Ref;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static void fzfail(int line, const char *what);
static void fzcleanup(void);
static void fzsetup(void);
static int known(const char *bug);
static size_t u8len(const unsigned char *s, size_t n);
static int wordok(const char *w);
static int isname(const char *w);
static int hasdotdot(const char *path);
static int patdotdot(const char *pat);
static int refuse(Ref *r, const char *why);
static void refpush(Buf *b, Buf *pat, int c, int lit);
static int refword(Ref *r, Buf *w, Buf *pat, int globbed);
static int refstage(Ref *r, int op);
static void reflex(Ref *r, const char *s, size_t n);
static void reffree(Ref *r);
static const CmdRule *refrow(const char *name);
static int inlist(const char *list, const char *name, size_t n, int abbrev);
static int forbidden(const CmdRule *r, char **argv, int argc);
static int globgave(const RWord *rw, const char *x);
static int globalign(const RStage *rs, char **argv, int argc);
static void checkstage(const RStage *rs, char **argv, int argc);
static void checkdecision(const CmdLine *cl, const Verdict *v);
static int fuzzone(const char *data, size_t size, char *msg, size_t sz);

static char fzdir[PATH_MAX];    /* the empty workspace */
static int fzhome = -1;         /* where libFuzzer and the driver live */
static int fzws = -1;
static const char *fzknown;

static void
fzfail(int line, const char *what)
{
	/* back home first, so libFuzzer writes the crash file where it
	 * was told to; abort() skips atexit */
	fzcleanup();
	fprintf(stderr, "lexer: check failed: tests/fuzz/lexer.c:%d: %s\n",
	    line, what);
	abort();
}

static void
fzcleanup(void)
{
	if (fzhome >= 0 && fchdir(fzhome) == 0 && fzdir[0] != '\0')
		rmdir(fzdir);
}

/* make the empty workspace, measure wsroot there, and come back */
static void
fzsetup(void)
{
	const char *tmp = getenv("TMPDIR");

	if (fzhome >= 0)
		return;
	if (tmp == NULL || tmp[0] != '/')
		tmp = "/tmp";
	if (snprintf(fzdir, sizeof(fzdir), "%s/vtcode-lexfuzz.XXXXXX",
	    tmp) >= (int)sizeof(fzdir))
		die("lexer: TMPDIR too long");
	if (mkdtemp(fzdir) == NULL)
		die("lexer: mkdtemp %s:", fzdir);
	if ((fzhome = open(".", O_RDONLY | O_DIRECTORY)) < 0 ||
	    (fzws = open(fzdir, O_RDONLY | O_DIRECTORY)) < 0)
		die("lexer: open:");
	atexit(fzcleanup);
	if (fchdir(fzws) != 0)
		die("lexer: fchdir:");
	wsinit();
	/* the table as a trusted workspace sees it: an untrusted one
	 * refuses run_command before the lexer ever runs */
	cfgtrusted = 1;
	if (fchdir(fzhome) != 0)
		die("lexer: fchdir:");
	fzknown = getenv("LEXFUZZ_KNOWN");
}

static int
known(const char *bug)
{
	const char *p = fzknown;
	size_t n = strlen(bug);

	while (p != NULL && *p != '\0') {
		if (strncmp(p, bug, n) == 0 && (p[n] == ',' || p[n] == '\0'))
			return 1;
		p = strchr(p, ',');
		p = p ? p + 1 : NULL;
	}
	return 0;
}

/*
 * The length of the well-formed UTF-8 sequence at s, or 0.  From
 * Unicode's Table 3-7, not from utf8dec(), so the two can disagree.
 */
static size_t
u8len(const unsigned char *s, size_t n)
{
	unsigned char lo = 0x80, hi = 0xBF;
	size_t len, k;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xC2 && s[0] <= 0xDF)
		len = 2;
	else if (s[0] >= 0xE0 && s[0] <= 0xEF)
		len = 3;
	else if (s[0] >= 0xF0 && s[0] <= 0xF4)
		len = 4;
	else
		return 0;
	if (s[0] == 0xE0)
		lo = 0xA0;
	else if (s[0] == 0xED)
		hi = 0x9F;
	else if (s[0] == 0xF0)
		lo = 0x90;
	else if (s[0] == 0xF4)
		hi = 0x8F;
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (k = 2; k < len; k++)
		if (s[k] < 0x80 || s[k] > 0xBF)
			return 0;
	return len;
}

/* UTF-8 with no C0 control byte but tab (the lexer lets a quoted tab
 * through: sort -t '<TAB>' needs one) and no DEL */
static int
wordok(const char *w)
{
	const unsigned char *s = (const unsigned char *)w;
	size_t i = 0, n = strlen(w), k;

	while (i < n) {
		if ((s[i] < 0x20 && s[i] != '\t') || s[i] == 0x7F)
			return 0;
		if ((k = u8len(s + i, n - i)) == 0)
			return 0;
		i += k;
	}
	return 1;
}

/* a command name as the lexer lets one through: ASCII letters, digits,
 * . _ + - and / (policyargv then denies the /) */
static int
isname(const char *w)
{
	const char *p;

	if (*w == '\0')
		return 0;
	for (p = w; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("._+-/", *p) != NULL))
			return 0;
	return 1;
}

static int
hasdotdot(const char *path)
{
	const char *c;

	for (c = path; *c != '\0'; c += strcspn(c, "/"), c += *c == '/')
		if (c[0] == '.' && c[1] == '.' && (c[2] == '/' || c[2] == '\0'))
			return 1;
	return 0;
}

/* can glob(3) read a directory outside the workspace for pat?  Only
 * through a component matching "..": glob matches each component
 * against readdir's names, "." and ".." included, with FNM_PERIOD */
static int
patdotdot(const char *pat)
{
	char *p = xstrndup(pat, strlen(pat)), *c, *e;
	int r = 0;

	for (c = p; !r; c = e + 1) {
		e = strchr(c, '/');
		if (e != NULL)
			*e = '\0';
		r = fnmatch(c, "..", FNM_PERIOD) == 0;
		if (e == NULL)
			break;
	}
	free(p);
	return r;
}

static int
refuse(Ref *r, const char *why)
{
	r->refused = why;
	return -1;
}

/* one byte of a word; a literal one escaped in the pattern when glob(3)
 * would read it as special */
static void
refpush(Buf *w, Buf *pat, int c, int lit)
{
	bufaddc(w, c);
	if (lit && strchr("*?[]\\", c) != NULL)
		bufaddc(pat, '\\');
	bufaddc(pat, c);
}

static int
refword(Ref *r, Buf *w, Buf *pat, int globbed)
{
	RStage *st = &r->st[r->n - 1];
	RWord *rw;
	const char *p;
	size_t k;

	if (st->n == 0) {
		/* NAME=value before the command: sh would set a variable */
		k = 0;
		if (!(w->p[0] >= '0' && w->p[0] <= '9'))
			while ((w->p[k] >= 'a' && w->p[k] <= 'z') ||
			    (w->p[k] >= 'A' && w->p[k] <= 'Z') ||
			    (w->p[k] >= '0' && w->p[k] <= '9') ||
			    w->p[k] == '_')
				k++;
		if (k > 0 && w->p[k] == '=')
			return refuse(r, "assignment");
		if (!isname(w->p))
			return refuse(r, "command name");
		if (globbed)
			return refuse(r, "glob names the command");
	} else if (globbed) {
		if (pat->p[0] == '/')
			return refuse(r, "absolute glob");
		for (p = pat->p; *p != '\0'; p += strcspn(p, "/"),
		    p += *p == '/')
			if (p[0] == '.' && p[1] == '.' &&
			    (p[2] == '/' || p[2] == '\0'))
				return refuse(r, ".. in a glob");
	}
	if (st->n >= MAXCMDARGS)
		return refuse(r, "MAXCMDARGS");
	if (st->n == st->cap) {
		st->cap = st->cap ? 2 * st->cap : 8;
		st->w = xrealloc(st->w, (size_t)st->cap * sizeof(*st->w));
	}
	rw = &st->w[st->n++];
	rw->w = xstrndup(w->p, w->len);
	rw->pat = globbed ? xstrndup(pat->p, pat->len) : NULL;
	rw->dotdot = globbed && patdotdot(pat->p);
	st->dotdot |= rw->dotdot;
	r->dotdot |= rw->dotdot;
	return 0;
}

static int
refstage(Ref *r, int op)
{
	if (r->n > 0 && r->st[r->n - 1].n == 0)
		return refuse(r, "empty stage");
	if (r->n >= MAXCMDSTAGES)
		return refuse(r, "MAXCMDSTAGES");
	if (r->n == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 8;
		r->st = xrealloc(r->st, (size_t)r->cap * sizeof(*r->st));
		r->op = xrealloc(r->op, (size_t)r->cap);
	}
	if (r->n > 0)
		r->op[r->n - 1] = (char)op;
	memset(&r->st[r->n], 0, sizeof(r->st[r->n]));
	r->op[r->n++] = '\0';
	return 0;
}

/*
 * The reference lexer: POSIX sh's token rules (XCU 2.2, 2.3) cut down
 * to what vtcode runs.  Outside quotes a backslash keeps the next byte;
 * '...' keeps everything; "..." keeps everything but \ before " \ $ `
 * (and $ or ` there would expand, so they refuse); blanks end a word;
 * | || && ; separate stages; anything else sh would act on refuses.
 * Stops at the first refusal, with the reason in r->refused.
 */
static void
reflex(Ref *r, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	Buf w, pat;
	size_t i, k;
	int inword = 0, globbed = 0, c;

	memset(r, 0, sizeof(*r));
	if (n > MAXCMDLEN) {
		r->refused = "MAXCMDLEN";
		return;
	}
	for (i = 0; i < n; i += k) {
		if ((s[i] < 0x20 && s[i] != '\t') || s[i] == 0x7F) {
			r->refused = "control byte";
			return;
		}
		if ((k = u8len(s + i, n - i)) == 0) {
			r->refused = "invalid UTF-8";
			return;
		}
	}
	bufinit(&w, 0);
	bufinit(&pat, 0);
	bufaddstr(&w, "");
	bufaddstr(&pat, "");
	if (refstage(r, 0) != 0)
		goto out;
	for (i = 0; i <= n; ) {
		c = i < n ? s[i] : ' ';
		if (c == ' ' || c == '\t' || c == '|' || c == '&' || c == ';') {
			if (inword && refword(r, &w, &pat, globbed) != 0)
				goto out;
			inword = globbed = 0;
			w.len = pat.len = 0;
			w.p[0] = pat.p[0] = '\0';
			if (c == ' ' || c == '\t') {
				i++;
				continue;
			}
			if (c == '&' && (i + 1 >= n || s[i + 1] != '&')) {
				r->refused = "background &";
				goto out;
			}
			if (c != ';' && i + 1 < n && s[i + 1] == c) {
				c = c == '|' ? 'o' : '&';
				i++;
			}
			r->nops++;
			if (refstage(r, c) != 0)
				goto out;
			i++;
			continue;
		}
		if (strchr("$`<>(){}", c) != NULL) {
			r->refused = "shell metacharacter";
			goto out;
		}
		if ((c == '#' || c == '~') && !inword) {
			r->refused = c == '#' ? "comment" : "tilde";
			goto out;
		}
		inword = 1;
		if (c == '\'') {
			for (i++; i < n && s[i] != '\''; i++)
				refpush(&w, &pat, s[i], 1);
			if (i >= n) {
				r->refused = "unterminated '";
				goto out;
			}
			i++;
		} else if (c == '"') {
			for (i++; i < n && s[i] != '"'; i++) {
				if (s[i] == '$' || s[i] == '`') {
					r->refused = "expansion in \"\"";
					goto out;
				}
				if (s[i] == '\\' && i + 1 < n &&
				    strchr("\"\\$`", s[i + 1]) != NULL)
					i++;
				refpush(&w, &pat, s[i], 1);
			}
			if (i >= n) {
				r->refused = "unterminated \"";
				goto out;
			}
			i++;
		} else if (c == '\\') {
			if (i + 1 >= n) {
				r->refused = "trailing backslash";
				goto out;
			}
			refpush(&w, &pat, s[i + 1], 1);
			i += 2;
		} else {
			if (c == '*' || c == '?' || c == '[')
				globbed = 1;
			refpush(&w, &pat, c, 0);
			i++;
		}
	}
	if (r->st[r->n - 1].n == 0)
		r->refused = "empty stage";
out:
	buffree(&w);
	buffree(&pat);
}

static void
reffree(Ref *r)
{
	int i, j;

	for (i = 0; i < r->n; i++) {
		for (j = 0; j < r->st[i].n; j++) {
			free(r->st[i].w[j].w);
			free(r->st[i].w[j].pat);
		}
		free(r->st[i].w);
	}
	free(r->st);
	free(r->op);
	memset(r, 0, sizeof(*r));
}

/* the row for name as config.def.h describes it: an exact name, else
 * the longest "prefix*" */
static const CmdRule *
refrow(const char *name)
{
	const CmdRule *best = NULL;
	size_t i, len, blen = 0;

	for (i = 0; i < LEN(cmdrules); i++) {
		len = strlen(cmdrules[i].name);
		if (strcmp(cmdrules[i].name, name) == 0)
			return &cmdrules[i];
		if (len > 1 && cmdrules[i].name[len - 1] == '*' &&
		    strncmp(cmdrules[i].name, name, len - 1) == 0 &&
		    len > blen) {
			best = &cmdrules[i];
			blen = len;
		}
	}
	return best;
}

/* is name[0..n) an entry of the option list (its kind mark = ? : not
 * counted), or with abbrev a proper prefix of one? */
static int
inlist(const char *list, const char *name, size_t n, int abbrev)
{
	const char *p, *e;
	size_t len;

	if (list == NULL)
		return 0;
	for (p = list; *p != '\0'; p = e) {
		p += strspn(p, " ");
		e = p + strcspn(p, " ");
		len = (size_t)(e - p);
		if (len > 1 && strchr("=?:", p[len - 1]) != NULL)
			len--;
		if (len == 0)
			continue;
		if (abbrev ? n < len && memcmp(p, name, n) == 0 :
		    n == len && memcmp(p, name, n) == 0)
			return 1;
	}
	return 0;
}

/*
 * Does argv carry a forbidden option where no value can hide it: the
 * first word after the name, or for a subcommand row the first word
 * after the subcommand?  Short clusters are read getopt's way up to the
 * first option that takes a value; an option vtcode does not know ends
 * nothing (it may be a flag), so a forbidden one after it still counts.
 */
static int
forbidden(const CmdRule *r, char **argv, int argc)
{
	const char *a, *eq, *p;
	char name[3] = "-?";
	size_t n;
	int sub = 0;

	if (r->decision == Deny || r->args == ArgAny || r->args == ArgDd ||
	    argc < 2)
		return 0;
	a = argv[1];
	if (r->args == ArgFind)
		return inlist(r->forbid, a, strlen(a), 0);
	if (r->args == ArgSub && a[0] != '-') {
		/* git SUB -x: after a subcommand vtcode knows no arities,
		 * so every letter of a cluster counts */
		if (argc < 3)
			return 0;
		a = argv[2];
		sub = 1;
	}
	if (a[0] != '-' || a[1] == '\0' || strcmp(a, "--") == 0)
		return 0;
	if (a[1] == '-') {
		eq = strchr(a, '=');
		n = eq ? (size_t)(eq - a) : strlen(a);
		if (!sub && inlist(r->longopts, a, n, 0))
			return 0;
		p = sub ? r->subforbid : r->forbid;
		return inlist(p, a, n, 0) || inlist(p, a, n, 1);
	}
	for (a++; *a != '\0'; a++) {
		name[1] = *a;
		if (inlist(sub ? r->subforbid : r->forbid, name, 2, 0))
			return 1;
		if (sub)
			continue;
		p = r->shortopts && *a != ':' ? strchr(r->shortopts, *a) : NULL;
		if (p == NULL && known("short-cluster"))
			return 0;
		if (p != NULL && p[1] == ':')
			return 0;
	}
	return 0;
}

/* could glob word rw have given x: itself (nothing matched), or a name
 * its pattern matches the way glob(3) matches */
static int
globgave(const RWord *rw, const char *x)
{
	return strcmp(x, rw->w) == 0 ||
	    fnmatch(rw->pat, x, FNM_PERIOD | FNM_PATHNAME) == 0;
}

/*
 * Is argv[1..argc) what rs's words can give when some glob can match
 * "..": each other word exactly, each such glob one word or more that
 * it could have given.  Read as an automaton over the words: at[j] is
 * "word j is next", in[j] "glob j has given at least one word".
 */
static int
globalign(const RStage *rs, char **argv, int argc)
{
	char *at, *in, *nat, *nin, *t;
	int i, j, m = rs->n, ok;

	at = xmalloc((size_t)m + 1);
	in = xmalloc((size_t)m + 1);
	nat = xmalloc((size_t)m + 1);
	nin = xmalloc((size_t)m + 1);
	memset(at, 0, (size_t)m + 1);
	memset(in, 0, (size_t)m + 1);
	at[1] = 1;
	for (i = 1; i < argc; i++) {
		for (j = 1; j < m; j++)
			if (in[j])
				at[j + 1] = 1;
		memset(nat, 0, (size_t)m + 1);
		memset(nin, 0, (size_t)m + 1);
		for (j = 1; j < m; j++) {
			if (rs->w[j].dotdot) {
				if ((at[j] || in[j]) &&
				    globgave(&rs->w[j], argv[i]))
					nin[j] = 1;
			} else if (at[j] && strcmp(argv[i], rs->w[j].w) == 0) {
				nat[j + 1] = 1;
			}
		}
		t = at;
		at = nat;
		nat = t;
		t = in;
		in = nin;
		nin = t;
	}
	for (j = 1; j < m; j++)
		if (in[j])
			at[j + 1] = 1;
	ok = at[m];
	free(at);
	free(in);
	free(nat);
	free(nin);
	return ok;
}

/* one lexed stage against the reference's words */
static void
checkstage(const RStage *rs, char **argv, int argc)
{
	int i, j;

	CHECK(argc >= 1 && argc <= MAXCMDARGS && argv != NULL);
	CHECK(argv[argc] == NULL);
	for (i = 0; i < argc; i++) {
		CHECK(argv[i] != NULL);
		CHECK(wordok(argv[i]));
	}
	CHECK(isname(argv[0]));
	CHECK(rs->n >= 1 && strcmp(argv[0], rs->w[0].w) == 0);
	if (!rs->dotdot) {
		/* in the empty workspace no glob matches: every word is
		 * exactly what the quoting made of it */
		CHECK(argc == rs->n);
		for (i = 0; i < argc; i++)
			CHECK(strcmp(argv[i], rs->w[i].w) == 0);
		return;
	}
	/* a glob that can match "..": whatever it expanded to must still
	 * be beneath the workspace, and no word may vanish (a pattern
	 * whose only matches are dropped stays as written, as sh leaves
	 * one that matches nothing) */
	for (i = 1; i < argc; i++) {
		for (j = 1; j < rs->n; j++)
			if (strcmp(argv[i], rs->w[j].w) == 0)
				break;
		if (j < rs->n)
			continue;
		CHECK(argv[i][0] != '/');
		CHECK(!hasdotdot(argv[i]));
		CHECK(wsbeneath(argv[i]));
	}
	CHECK(globalign(rs, argv, argc));
}

/* the line's decision against each stage's own */
static void
checkdecision(const CmdLine *cl, const Verdict *v)
{
	const CmdRule *r;
	Verdict sv, first;
	Decision max = Allow;
	int i;

	memset(&first, 0, sizeof(first));
	for (i = 0; i < cl->n; i++) {
		memset(&sv, 0, sizeof(sv));
		policyargv(cl->st[i].argv, cl->st[i].argc, &sv);
		CHECK(sv.d == Allow || sv.d == Prompt || sv.d == Deny);
		CHECK(sv.why[0] != '\0' &&
		    memchr(sv.why, '\0', sizeof(sv.why)) != NULL);
		/* the line keeps the first reason at its strictest level */
		if (i == 0 || sv.d > max) {
			max = sv.d;
			first = sv;
		}
		r = refrow(cl->st[i].argv[0]);
		if (strchr(cl->st[i].argv[0], '/') != NULL ||
		    cl->st[i].argv[0][0] == '-')
			CHECK(sv.d == Deny);
		else if (r == NULL)
			CHECK(sv.d == toolrule("run_command")->decision);
		else if (r->decision == Deny)
			CHECK(sv.d == Deny);
		else if (forbidden(r, cl->st[i].argv, cl->st[i].argc))
			CHECK(sv.d == Deny);
	}
	CHECK(v->d == max);
	CHECK(strcmp(v->why, first.why) == 0);
}

/* run every check on one input; 1 if the lexer accepted it, else 0 with
 * the reason in msg */
static int
fuzzone(const char *data, size_t size, char *msg, size_t sz)
{
	CmdLine cl;
	Verdict v, v2;
	Ref ref;
	char err[256];
	int i, ok;

	reflex(&ref, data, size);
	if (ref.refused == NULL && ref.dotdot && known("glob-dotdot")) {
		snprintf(msg, sz, "skipped: a glob that can match \"..\" "
		    "(LEXFUZZ_KNOWN=glob-dotdot)");
		reffree(&ref);
		return 0;
	}
	if (fchdir(fzws) != 0)
		die("lexer: fchdir:");
	memset(&cl, 0xA5, sizeof(cl));  /* policydecide must set all of it */
	policydecide("run_command", data, size, &cl, &v);
	CHECK(v.d == Allow || v.d == Prompt || v.d == Deny);
	CHECK(v.why[0] != '\0' && memchr(v.why, '\0', sizeof(v.why)) != NULL);
	ok = cl.n > 0;
	if (!ok) {
		/* refused by the lexer: Deny with its reason, nothing kept */
		CHECK(cl.n == 0 && cl.st == NULL && cl.op == NULL);
		CHECK(v.d == Deny);
		CHECK(ref.refused != NULL || ref.dotdot);
		CHECK(cmdlex(data, size, &cl, err, sizeof(err)) == -1);
		CHECK(cl.n == 0 && cl.st == NULL && cl.op == NULL);
		CHECK(strcmp(v.why, err) == 0);
		snprintf(msg, sz, "%s", v.why);
	} else {
		CHECK(ref.refused == NULL);
		CHECK(cl.n == ref.n && cl.n == ref.nops + 1);
		for (i = 0; i < cl.n; i++) {
			CHECK(cl.op[i] == ref.op[i]);
			CHECK(i == cl.n - 1 ? cl.op[i] == '\0' :
			    strchr("|&o;", cl.op[i]) != NULL);
			checkstage(&ref.st[i], cl.st[i].argv, cl.st[i].argc);
		}
		checkdecision(&cl, &v);
	}
	/* without a CmdLine policydecide lexes into its own and frees it */
	policydecide("run_command", data, size, NULL, &v2);
	CHECK(v2.d == v.d && strcmp(v2.why, v.why) == 0);
	if (fchdir(fzhome) != 0)
		die("lexer: fchdir:");
	cmdfree(&cl);
	CHECK(cl.n == 0 && cl.st == NULL && cl.op == NULL);
	reffree(&ref);
	return ok;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char msg[512];

	fuzzone((const char *)data, size, msg, sizeof(msg));
	return 0;
}

#ifndef FUZZ_DRIVER
/*
 * libFuzzer writes a crash file relative to the current directory when
 * it crashes, which may be the workspace: unless told otherwise, point
 * -artifact_prefix at the directory the fuzzer was started in.  The flag
 * goes first, before any -ignore_remaining_args.
 */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static char prefix[PATH_MAX + 32];
	static char *nargv[1024];
	char cwd[PATH_MAX];
	int i;

	fzsetup();
	for (i = 1; i < *argc; i++)
		if (strncmp((*argv)[i], "-artifact_prefix=", 17) == 0 ||
		    strncmp((*argv)[i], "-exact_artifact_path=", 21) == 0)
			return 0;
	if (*argc + 2 > (int)LEN(nargv) || getcwd(cwd, sizeof(cwd)) == NULL)
		return 0;
	snprintf(prefix, sizeof(prefix), "-artifact_prefix=%s/", cwd);
	nargv[0] = (*argv)[0];
	nargv[1] = prefix;
	for (i = 1; i < *argc; i++)
		nargv[i + 1] = (*argv)[i];
	nargv[++*argc] = NULL;
	*argv = nargv;
	return 0;
}
#else
int
main(int argc, char *argv[])
{
	char msg[512], *data;
	size_t len;
	int ok;

	data = fzread(argc, argv, "lexer", &len);
	fzsetup();
	ok = fuzzone(data, len, msg, sizeof(msg));
	if (!ok) {
		fprintf(stderr, "lexer: %s: ", argv[1]);
		putsafe(stderr, msg);
		fputc('\n', stderr);
	}
	free(data);
	return ok ? ExitOK : ExitFail;
}
#endif
