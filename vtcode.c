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
#if defined(__linux__)
/* O_PATH, CLONE_NEWUSER and friends: the Linux sandbox needs them */
#define _GNU_SOURCE
#endif
#if defined(__APPLE__)
#define _DARWIN_C_SOURCE
#endif

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <glob.h>
#include <poll.h>
#include <pty.h>
#include <sched.h>
#include <limits.h>
#include <math.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <termios.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/syscall.h>
#endif

#include <bearssl.h>
#include <seccomp.h>
#include <tree_sitter/api.h>

#include "vtcode.h"

/* macros */
#define LEN(a)          (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b)       ((a) < (b) ? (a) : (b))
#define MAX(a, b)       ((a) > (b) ? (a) : (b))
#define TRUSTFILE       ".vt-workspace-trust"
#if defined(SYS_openat2)
#define VT_SYS_openat2  SYS_openat2
#else
#define VT_SYS_openat2  437     /* the same on every Linux architecture */
#endif
#define MAXSETTING      1024
#define CONFIGKEYCAP    128
#define RUNEOFS         64      /* end-of-file marks queued on a pty */
#define CMDNAMECHARS    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" \
                        "0123456789._+-"

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
enum { TStr, TInt, TBool, TArr };           /* TomlEntry types */
enum { OvTool, OvCommand, OvForbid };       /* Override kinds */
enum { OriginConfigH, OriginUser, OriginWorkspace };

/* types */
typedef struct {
	const char *name;
	int (*run)(int argc, char *argv[]);     /* NULL: not in this build */
} Command;

typedef struct {
	const char *name;
	const TSLanguage *(*lang)(void);
} Grammar;

typedef struct {
	char **argv;            /* NULL-terminated; each word malloc'd */
	int argc, cap;
} Argv;

/* a lexed run_command line: stages joined by op[i] between st[i] and
 * st[i + 1]: '|', '&' (&&), 'o' (||) or ';' */
typedef struct {
	Argv *st;
	char *op;
	int n;
} CmdLine;

typedef struct {
	Decision d;
	char why[512];
} Verdict;

/* what became of one command */
typedef struct {
	int status;             /* exit status, or -1 when a signal ended it */
	int sig;                /* that signal */
	int timedout, truncated, abi;
	long ms;
	size_t total;           /* bytes it wrote */
	Buf out;                /* the first RUNMAXOUTPUT / 2 bytes */
	char *tail;             /* ring of the last RUNMAXOUTPUT / 2 */
	size_t tailpos, taillen;
} RunResult;

/* a yes the human gave for more than once */
typedef struct {
	char tool[32];
	char *key;              /* approvalkey(): argv NUL-joined, or a path */
	size_t len;
	int stored;             /* "always": kept in tool-policy.json */
} Approval;

/* one key = value of a vtcode.toml */
typedef struct {
	char table[CONFIGKEYCAP], key[CONFIGKEYCAP];
	int type;               /* TStr, TInt, TBool, TArr */
	char *str;
	int64_t num;
	char **arr;
	int narr;
	int line;
} TomlEntry;

typedef struct {
	TomlEntry *e;
	int n;
} Toml;

/* a tightening entry from a runtime config file */
typedef struct {
	int kind;               /* OvTool, OvCommand, OvForbid */
	char name[64];
	Decision d;
	char opts[16][64];      /* OvForbid: the options */
	int nopts;
	int origin, line;       /* OriginUser or OriginWorkspace, line */
} Override;

/* settings a runtime config may choose (used by the model client) */
typedef struct {
	char provider[MAXSETTING], model[MAXSETTING], baseurl[MAXSETTING];
	int color;
} Settings;

/* options seen while checking one argv, with their values */
typedef struct {
	const char *opt[256];
	size_t len[256];
	const char *val[256];
	char shortname[256][2];
	int n;
} OptSeen;

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
static void buffree(Buf *b);
static int utf8dec(const unsigned char *s, size_t n, uint32_t *cp);
static size_t utf8enc(uint32_t cp, unsigned char *out);
static void randbytes(void *p, size_t n);
static void hexenc(const unsigned char *p, size_t n, char *out);
static int cteq(const void *a, const void *b, size_t n);
static const char *homedir(void);
static int xdgdir(const char *env, const char *fallback, int create,
    char *out, size_t sz);
static int atomicwrite(int dirfd, const char *name, const void *data,
    size_t len, mode_t mode);
static char *readsmall(int dirfd, const char *name, size_t max,
    size_t *len, struct stat *st);
/* json */
static int jsonfail(JDoc *d, size_t off, const char *why);
static size_t jsonws(const char *s, size_t n, size_t i);
static int jsonhex4(const unsigned char *s, size_t n, size_t i, uint32_t *v);
static size_t jsonstring(JDoc *d, JTok *t, size_t i);
static size_t jsonnumber(JDoc *d, JTok *t, size_t i);
static int jsonparse(JDoc *d, const char *buf, size_t len, JTok *tok, int maxtok);
static const char *jsonerror(const JDoc *d, char *msg, size_t sz) NOCALLER;
static const JTok *jsontok(const JDoc *d, int t);
static int jsontype(const JDoc *d, int t);
static int jsonkeyeq(const JDoc *d, int t, const char *key);
static int jsonget(const JDoc *d, int obj, const char *key);
static int jsonat(const JDoc *d, int arr, int idx) NOCALLER;
static int jsonstr(const JDoc *d, int t, char *dst, size_t sz, size_t *outlen);
static char *jsonstrdup(const JDoc *d, int t) NOCALLER;
static int jsonint(const JDoc *d, int t, int64_t min, int64_t max, int64_t *v);
static int jsondbl(const JDoc *d, int t, double *v) NOCALLER;
static int jsonbool(const JDoc *d, int t, int *v) NOCALLER;
static int jsonnest(const JDoc *d, int t);
static void jwinit(JWriter *w, Buf *b);
static int jwfail(JWriter *w, const char *why);
static int jwpre(JWriter *w);
static void jwpost(JWriter *w);
static void jwescape(Buf *b, const char *s, size_t n);
static void jwopen(JWriter *w, int isobj);
static void jwobj(JWriter *w);
static void jwarr(JWriter *w) NOCALLER;
static void jwend(JWriter *w);
static void jwkey(JWriter *w, const char *k);
static void jwkeyn(JWriter *w, const char *k, size_t n);
static void jwstr(JWriter *w, const char *s);
static void jwstrn(JWriter *w, const char *s, size_t n);
static void jwint(JWriter *w, int64_t v);
static void jwdbl(JWriter *w, double v) NOCALLER;
static void jwbool(JWriter *w, int v) NOCALLER;
static void jwnull(JWriter *w) NOCALLER;
static void jwtok(JWriter *w, const JDoc *d, int t) NOCALLER;
static int jwdone(const JWriter *w);
/* config */
static int tomlfail(char *err, size_t esz, const char *file, int line,
    const char *why);
static void tomlfree(Toml *t);
static const char *tomlstring(const char **pp, const char *end, Buf *out);
static const char *tomlkey(const char **pp, const char *end, Buf *out);
static const char *tomlws(const char *p, const char *end);
static char *tomlstrdup(const char **pp, const char *end,
    const char **why);
static const char *tomlvalue(const char **pp, const char *end,
    TomlEntry *e);
static int tomlparse(const char *buf, size_t len, const char *file,
    Toml *t, char *err, size_t esz);
static int decparse(const char *s, Decision *d);
static void overadd(int kind, const char *name, Decision d, char **opts,
    int nopts, int origin, int line);
static void configapply(const Toml *t, int origin);
static void configfile(int dirfd, const char *name, int origin);
static void configload(void);
static void overapply(int kind, char **argv, int argc, Verdict *v);
/* harden */
static void hardenfds(void);
static void hardenclosefrom(int lowfd);
static void hardenenv(void);
static void harden(void);
/* workspace */
static void wsinit(void);
static int wsresolve(const char *path, char *out, size_t sz);
static int wsbeneath(const char *path);
static int wsisroot(const char *path);
static int trustkey(unsigned char key[32], int create, char *why,
    size_t wsz);
static int trustmac(const char *root, uint64_t uid, const char *when,
    int create, unsigned char mac[32], char *why, size_t wsz);
static int wstrusted(char *why, size_t wsz);
static int cmdtrust(int argc, char *argv[]);
/* policy */
static int lexfail(char *err, size_t sz, const char *fmt, ...);
static void argvpush(Argv *a, char *w);
static char *xstrndup(const char *s, size_t n);
static void cmdfree(CmdLine *cl);
static int cmdstage(CmdLine *cl, int op, char *err, size_t esz);
static int globdotdot(const char *pat);
static int globkeep(const char *path);
static int lexword(CmdLine *cl, Buf *w, Buf *pat, int globbed, char *err,
    size_t esz);
static void lexlit(Buf *w, Buf *pat, int c);
static int lexchar(const char *s, size_t n, size_t *ip, Buf *w, Buf *pat,
    int *inword, int *globbed, char *err, size_t esz);
static int lexbytes(const char *s, size_t n, char *err, size_t esz);
static int cmdlex(const char *s, size_t n, CmdLine *cl, char *err,
    size_t esz);
static void verdict(Verdict *v, Decision d, const char *fmt, ...);
static const char *decname(Decision d);
static const CmdRule *cmdrule(const char *name);
static const ToolRule *toolrule(const char *tool);
static int optlookup(const char *list, const char *name, size_t n,
    int exact, const char **ent, size_t *elen, char *kind);
static void pathcheck(Verdict *v, const char *cmd, const char *path);
static void optvalue(const CmdRule *r, const char *opt, size_t n,
    const char *val, OptSeen *seen, Verdict *v);
static const char *optseen(const OptSeen *seen, const char *names, int nth);
static int optlong(const CmdRule *r, int sub, char **argv, int argc, int i,
    OptSeen *seen, Verdict *v);
static int optshort(const CmdRule *r, int sub, char **argv, int argc, int i,
    OptSeen *seen, Verdict *v);
static int sedprint(const char *s);
static void findcheck(const CmdRule *r, char **argv, int argc, Verdict *v);
static void ddcheck(const CmdRule *r, char **argv, int argc, Verdict *v);
static void operandcheck(const CmdRule *r, char **ops, int nops,
    const OptSeen *seen, Verdict *v);
static void subcheck(const CmdRule *r, const char *sub, Verdict *v);
static void policyrow(char **argv, int argc, Verdict *v);
static void policyargv(char **argv, int argc, Verdict *v);
static int policytool(const ToolRule *t, const char *tool, Verdict *v);
static void policyone(char **argv, int argc, Verdict *v);
static Decision policydecide(const char *tool, const char *arg,
    size_t arglen, CmdLine *cl, Verdict *v);
static Decision policydecideargv(char **argv, int argc, Verdict *v);
static char *approvalkey(char **argv, int argc, const char *path,
    size_t *len);
static int approved(const char *tool, char **argv, int argc,
    const char *path);
static void approvaladd(const char *tool, char *key, size_t len,
    int stored);
static void approvalsload(void);
static int approvalssave(void);
static Decision approve(const char *tool, const char *subject,
    const char *why, int *scope, char *tell, size_t tsz);
static Decision policygate(const char *tool, const char *arg,
    size_t arglen, const char *summary, CmdLine *cl, Verdict *v) NOCALLER;
static Decision policygate1(const char *tool, const char *arg,
    size_t arglen, const char *summary, CmdLine *cl, Verdict *v);
static void putsafe(FILE *fp, const char *w);
static void putargv(FILE *fp, char **argv, int argc);
static const char *cmdpath(const char *name, char *out, size_t sz);
static Decision rowforce(int kind, const char *name, Decision d,
    const char **from);
static void policyshow(void);
static void policystage(char **argv, int argc);
static int cmdpolicy(int argc, char *argv[]);
/* sandbox */
static int sbxabi(void);
static int sbxrule(int rfd, const char *path, uint64_t rights,
    uint64_t handled);
static int sbxlandlock(int abi, const char *tmpdir, const char *pty,
    int net, char *why, size_t wsz);
static int sbxseccomp(int net, int abi, char *why, size_t wsz);
static int putfile(const char *path, const char *s);
static int sbxbind(const char *path, int rw);
static int sbxprotect(char *why, size_t wsz);
static void sbxquarantine(Buf *out);
/* runner */
static const char *runtmp(void);
static void rmtree(int dfd, const char *name);
static void runtmpclean(void);
static int runcaps(void);
static void runfail(const char *step, const char *why);
static void runchild(char *const argv[], const char *workdir, int net,
    int abi, int slave, const char *pty, int errfd, int in, int out,
    int leader);
static void runkeep(RunResult *r, const char *p, size_t n);
static int runkillkids(void);
static void runreap(pid_t pgid);
static long nowms(void);
static int runloop(int master, pid_t *pids, int n, long deadline,
    RunResult *r, int *status);
static int runpipe(char *const *argvs[], int n, const char *workdir,
    int net, long timeoutms, RunResult *r, char *why, size_t wsz);
static int runargv(char *const argv[], const char *workdir, int net,
    long timeoutms, RunResult *r, char *why, size_t wsz);
static int runline(CmdLine *cl, const char *workdir, int net,
    long timeoutms, Buf *out, int *status, char *why, size_t wsz);
static void runoutput(RunResult *r, Buf *b);
static void runfree(RunResult *r);
static void putterm(FILE *fp, const char *p, size_t n);
static int cmdsandbox(int argc, char *argv[]);
/* tools */
static int toolpath(const char *p, char *out, size_t sz, char *why,
    size_t wsz);
static int isprotected(const char *rel);
static int wsopendir(const char *rel, int create, char *why, size_t wsz);
static const char *relsplit(const char *rel, char *dir, size_t sz);
static size_t countlines(const char *s, size_t n);
static int toolerr(Buf *out, const char *fmt, ...);
static int writetarget(const JDoc *d, int args, char *rel, size_t rsz,
    int *dfd, const char **name, mode_t *mode, struct stat *st,
    int *exists, Buf *out);
static int toolwrite(const JDoc *d, int args, Buf *out) NOCALLER;
static void toolsummary(const char *tool, const JDoc *d, int args,
    char *out, size_t sz) NOCALLER;
static size_t closestline(const char *hay, size_t n, const char *needle);
static int tooledit(const JDoc *d, int args, Buf *out) NOCALLER;
static int toolrun(const JDoc *d, int args, CmdLine *cl, Buf *out) NOCALLER;
/* index */
static void grammarsprint(FILE *fp);
/* ui */
static void usage(FILE *fp);
static void version(void);
static int usageerr(const char *fmt, ...);
static const char *optarg1(int argc, char *argv[], int *i, const char *opt);

/* variables */
extern char **environ;
static char wsroot[PATH_MAX];   /* canonical workspace root */
static char cfgfile[3][PATH_MAX + 16];  /* by origin */
static int cfgloaded[3];
static int cfgtrusted;
static Settings settings;
static Approval *approvals;
static int napprovals;
static mode_t origumask;        /* the user's, for files tools create */

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
typedef char assert_configkey[(MAXCONFIGKEY < CONFIGKEYCAP) ? 1 : -1];
typedef char assert_overrides[(MAXOVERRIDES >= 1) ? 1 : -1];

typedef char assert_protected[(LEN(protectedpaths) >= 1) ? 1 : -1];
typedef char assert_toolrules[(LEN(toolrules) >= 1) ? 1 : -1];
typedef char assert_cmdrules[(LEN(cmdrules) >= 1) ? 1 : -1];
typedef char assert_sizes[(MAXWRITESIZE <= MAXJSONSIZE &&
    MAXCMDLEN <= MAXJSONSIZE) ? 1 : -1];

/* protected directories moved aside when a command creates them */
static const char *const quarantined[] = { ".git", ".vtcode" };
static int existed[LEN(quarantined)];

/* variables sized by config.h */
static Override overrides[MAXOVERRIDES];
static int noverrides;

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

/* n random bytes from the kernel; dies rather than use weak ones */
static void
randbytes(void *p, size_t n)
{
#if defined(__linux__)
	unsigned char *b = p;
	ssize_t r;

	while (n > 0) {
		r = getrandom(b, n, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			die("getrandom:");
		b += r;
		n -= (size_t)r;
	}
#else
	arc4random_buf(p, n);
#endif
}

static void
hexenc(const unsigned char *p, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = hex[p[i] >> 4];
		out[2 * i + 1] = hex[p[i] & 15];
	}
	out[2 * n] = '\0';
}

/* constant time: a MAC compare must not say how much matched */
static int
cteq(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;
	unsigned char d = 0;
	size_t i;

	for (i = 0; i < n; i++)
		d |= x[i] ^ y[i];
	return d == 0;
}

/* the user's home, absolute; from $HOME, else the password database */
static const char *
homedir(void)
{
	const char *h = getenv("HOME");
	struct passwd *pw;

	if (h != NULL && h[0] == '/')
		return h;
	if ((pw = getpwuid(getuid())) != NULL && pw->pw_dir[0] == '/')
		return pw->pw_dir;
	return NULL;
}

/*
 * vtcode's directory under an XDG base ($XDG_CONFIG_HOME/vtcode, else
 * ~/.config/vtcode, say), created 0700 when create is set.  A base that
 * is not absolute is ignored, as the XDG spec says.  0 or -1.
 */
static int
xdgdir(const char *env, const char *fallback, int create, char *out,
    size_t sz)
{
	const char *base = getenv(env), *home;
	char *p;
	int n;

	if (base != NULL && base[0] == '/')
		n = snprintf(out, sz, "%s/vtcode", base);
	else if ((home = homedir()) != NULL)
		n = snprintf(out, sz, "%s/%s/vtcode", home, fallback);
	else
		return -1;
	if (n < 0 || (size_t)n >= sz)
		return -1;
	if (!create)
		return 0;
	for (p = out + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		*p = '\0';
		if (mkdir(out, 0700) != 0 && errno != EEXIST)
			return -1;
		if (p[0] == '\0' && p == out + n)
			break;
		*p = '/';
	}
	return 0;
}

/*
 * Replace name in directory dirfd with data, atomically: a temp file in
 * the same directory (so rename() cannot cross file systems), fsync,
 * rename over the name, fsync the directory.  A kill at any point
 * leaves the old file or the new one, never half of either.  The new
 * file gets mode; a symlink at name is replaced, never followed.
 * 0, or -1 with errno set and nothing changed.
 */
static int
atomicwrite(int dirfd, const char *name, const void *data, size_t len,
    mode_t mode)
{
	char tmp[64];
	unsigned char rnd[8];
	const char *p = data;
	ssize_t w;
	int fd, saved;

	randbytes(rnd, sizeof(rnd));
	memcpy(tmp, ".vtcode-", 8);
	hexenc(rnd, sizeof(rnd), tmp + 8);
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, mode);
	if (fd < 0)
		return -1;
	while (len > 0) {
		w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			goto fail;
		p += w;
		len -= (size_t)w;
	}
	/* the umask must not narrow a mode the caller chose on purpose */
	if (fchmod(fd, mode) != 0 || fsync(fd) != 0)
		goto fail;
	if (close(fd) != 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (renameat(dirfd, tmp, dirfd, name) != 0)
		goto fail;
	if (fsync(dirfd) != 0 && errno != EINVAL)
		return -1;      /* renamed, but not yet durable */
	return 0;
fail:
	saved = errno;
	if (fd >= 0)
		close(fd);
	unlinkat(dirfd, tmp, 0);
	errno = saved;
	return -1;
}

/* read a whole regular file (not through a symlink) of at most max
 * bytes, NUL-terminated; NULL with errno set (EFBIG when too large) */
static char *
readsmall(int dirfd, const char *name, size_t max, size_t *len,
    struct stat *st)
{
	char *buf = NULL;
	size_t n = 0;
	ssize_t r;
	int fd, saved;

	if ((fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
	    O_NONBLOCK)) < 0)
		return NULL;
	if (fstat(fd, st) != 0)
		goto fail;
	errno = !S_ISREG(st->st_mode) ? EINVAL :
	    (uintmax_t)st->st_size > max ? EFBIG : 0;
	if (errno != 0)
		goto fail;
	buf = xmalloc(max + 2);
	while (n <= max && (r = read(fd, buf + n, max + 1 - n)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			goto fail;
		n += (size_t)r;
	}
	if (n > max) {
		errno = EFBIG;          /* it grew while we read */
		goto fail;
	}
	close(fd);
	buf[n] = '\0';
	*len = n;
	return buf;
fail:
	saved = errno;
	free(buf);
	close(fd);
	errno = saved;
	return NULL;
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
 * Unescape string token t into dst (sz bytes, NUL-terminated; emptied
 * when it does not fit).
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

	if (sz == 0)
		return -1;
	dst[0] = '\0';
	if (k == NULL || k->type != JString)
		return -1;
	s = (const unsigned char *)d->buf;
	for (i = k->start; i < k->end; ) {
		if (s[i] != '\\') {
			if (o + 1 >= sz)
				return dst[0] = '\0', -1;
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
			return dst[0] = '\0', -1;
		e = utf8enc(cp, enc);
		if (o + e >= sz)
			return dst[0] = '\0', -1;
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

/* how deep token t's subtree nests containers, 0 for a scalar.  A
 * container's span holds its descendants', so the containers open at
 * token i are those whose end lies past i's start. */
static int
jsonnest(const JDoc *d, int t)
{
	size_t end[MAXJSONDEPTH];
	int i, n = 0, max = 0;

	for (i = t; i < d->tok[t].next; i++) {
		while (n > 0 && d->tok[i].start >= end[n - 1])
			n--;
		if (d->tok[i].type == JObject || d->tok[i].type == JArray) {
			end[n++] = d->tok[i].end;
			max = MAX(max, n);
		}
	}
	return max;
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
 * jsonparse(), so it is valid as it stands, unless the levels open here
 * take it past MAXJSONDEPTH */
static void
jwtok(JWriter *w, const JDoc *d, int t)
{
	const JTok *k = jsontok(d, t);
	size_t a, z;

	if (k == NULL) {
		jwfail(w, "no such token");
		return;
	}
	/* the copy nests inside the levels open here; past MAXJSONDEPTH
	 * it would be JSON that jsonparse() refuses */
	if (w->err == NULL && w->depth + jsonnest(d, t) > MAXJSONDEPTH) {
		jwfail(w, "nested deeper than MAXJSONDEPTH");
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
 * config: the runtime configuration, which can only tighten config.h.
 *
 * tomlparse() reads a documented TOML subset: [table] headers (bare or
 * dotted keys), key = value lines with bare or "quoted" keys, values
 * that are basic or literal strings, integers, booleans, or one-line
 * arrays of strings; # comments.  Anything else (floats, dates, inline
 * tables, multi-line strings, arrays of tables, dotted keys on the left)
 * is an error with the file and line, and nothing of that file applies.
 * Bounded by MAXCONFIGSIZE bytes and MAXCONFIGKEYS entries.
 */

static int
tomlfail(char *err, size_t esz, const char *file, int line, const char *why)
{
	snprintf(err, esz, "%s:%d: %s", file, line, why);
	return -1;
}

static void
tomlfree(Toml *t)
{
	int i, j;

	for (i = 0; i < t->n; i++) {
		free(t->e[i].str);
		for (j = 0; j < t->e[i].narr; j++)
			free(t->e[i].arr[j]);
		free(t->e[i].arr);
	}
	free(t->e);
	memset(t, 0, sizeof(*t));
}

/* a "basic" or 'literal' string at *pp, on this line; its bytes into
 * out.  NULL on success, else why not */
static const char *
tomlstring(const char **pp, const char *end, Buf *out)
{
	const char *p = *pp;
	char q = *p++;
	unsigned char enc[4];
	uint32_t cp;
	int k, digits;

	if (end - p >= 2 && p[0] == q && p[1] == q)
		return "multi-line strings are not supported";
	for (; p < end && *p != q; p++) {
		if (q == '\'' || *p != '\\') {
			bufaddc(out, *p);
			continue;
		}
		if (++p >= end)
			break;
		switch (*p) {
		case 'b': bufaddc(out, '\b'); continue;
		case 't': bufaddc(out, '\t'); continue;
		case 'n': bufaddc(out, '\n'); continue;
		case 'f': bufaddc(out, '\f'); continue;
		case 'r': bufaddc(out, '\r'); continue;
		case '"': bufaddc(out, '"'); continue;
		case '\\': bufaddc(out, '\\'); continue;
		case 'u': digits = 4; break;
		case 'U': digits = 8; break;
		default: return "invalid escape in string";
		}
		for (cp = 0, k = 0; k < digits; k++) {
			if (++p >= end || !isxdigit((unsigned char)*p))
				return "invalid \\u escape in string";
			cp = cp << 4 | (uint32_t)(isdigit((unsigned char)*p) ?
			    *p - '0' : (tolower((unsigned char)*p) - 'a' + 10));
		}
		if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return "\\u escape is not a Unicode scalar value";
		bufadd(out, enc, utf8enc(cp, enc));
	}
	if (p >= end)
		return "unterminated string";
	*pp = p + 1;
	return NULL;
}

/* a bare key ([A-Za-z0-9_-]+) or a "quoted" one */
static const char *
tomlkey(const char **pp, const char *end, Buf *out)
{
	const char *p = *pp, *why;
	size_t i, start = out->len;

	if (p < end && (*p == '"' || *p == '\'')) {
		if ((why = tomlstring(pp, end, out)) != NULL)
			return why;
		for (i = start; i < out->len; i++)
			if ((unsigned char)out->p[i] < 0x20)
				return "control character in a key";
		return out->len == start ? "empty key" : NULL;
	}
	while (p < end && (isalnum((unsigned char)*p) || *p == '_' ||
	    *p == '-'))
		bufaddc(out, *p++);
	if (p == *pp)
		return "expected a key";
	*pp = p;
	return NULL;
}

static const char *
tomlws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

/* a string value at *pp as a fresh C string; NULL with why set when it
 * is not one or holds U+0000 */
static char *
tomlstrdup(const char **pp, const char *end, const char **why)
{
	Buf b;

	bufinit(&b, MAXCONFIGSIZE);
	bufaddstr(&b, "");
	if ((*why = tomlstring(pp, end, &b)) != NULL ||
	    memchr(b.p, '\0', b.len) != NULL) {
		if (*why == NULL)
			*why = "NUL in string";
		buffree(&b);
		return NULL;
	}
	return b.p;
}

/* one value at *pp into e */
static const char *
tomlvalue(const char **pp, const char *end, TomlEntry *e)
{
	const char *p = *pp, *why;
	char *s;
	int64_t v = 0;
	int neg = 0;

	if (*p == '"' || *p == '\'') {
		if ((e->str = tomlstrdup(&p, end, &why)) == NULL)
			return why;
		e->type = TStr;
	} else if (end - p >= 4 && memcmp(p, "true", 4) == 0) {
		e->type = TBool;
		e->num = 1;
		p += 4;
	} else if (end - p >= 5 && memcmp(p, "false", 5) == 0) {
		e->type = TBool;
		p += 5;
	} else if (*p == '+' || *p == '-' || isdigit((unsigned char)*p)) {
		if (*p == '+' || *p == '-')
			neg = *p++ == '-';
		if (p >= end || !isdigit((unsigned char)*p) ||
		    (*p == '0' && p + 1 < end && isdigit((unsigned char)p[1])))
			return "invalid integer";
		for (; p < end && isdigit((unsigned char)*p); p++) {
			if (v > (INT64_MAX - (*p - '0')) / 10)
				return "integer out of range";
			v = v * 10 + (*p - '0');
		}
		if (p < end && strchr(".eE_:", *p) != NULL)
			return "only plain integers are supported";
		e->type = TInt;
		e->num = neg ? -v : v;
	} else if (*p == '[') {
		e->type = TArr;
		for (p = tomlws(p + 1, end); p < end && *p != ']'; ) {
			if (*p != '"' && *p != '\'')
				return "arrays may only hold strings, on one line";
			if (e->narr >= MAXCONFIGARRAY)
				return "array longer than MAXCONFIGARRAY";
			if ((s = tomlstrdup(&p, end, &why)) == NULL)
				return why;
			e->arr = xrealloc(e->arr, (size_t)(e->narr + 1) *
			    sizeof(*e->arr));
			e->arr[e->narr++] = s;
			p = tomlws(p, end);
			if (p < end && *p == ',')
				p = tomlws(p + 1, end);
			else if (p < end && *p != ']')
				return "expected ',' or ']' in array";
		}
		if (p >= end)
			return "unterminated array (arrays stay on one line)";
		p++;
	} else {
		return "unsupported value (strings, integers, booleans and "
		    "arrays of strings only)";
	}
	*pp = p;
	return NULL;
}

/*
 * Parse buf[0..len) from file into t.  0, or -1 with "file:line: why" in
 * err and t empty.
 */
static int
tomlparse(const char *buf, size_t len, const char *file, Toml *t,
    char *err, size_t esz)
{
	char table[MAXCONFIGKEY + 1] = "", needle[MAXCONFIGKEY + 3];
	const char *p = buf, *end = buf + len, *eol, *why, *tail;
	TomlEntry *e;
	Buf k, seen;
	uint32_t cp;
	int line = 0, i, c;

	memset(t, 0, sizeof(*t));
	if (len > MAXCONFIGSIZE)
		return tomlfail(err, esz, file, 0, "larger than MAXCONFIGSIZE");
	bufinit(&seen, 0);
	bufaddstr(&seen, "\n");        /* "\ntable\n" for each header */
	for (; p < end; p = eol + (eol < end)) {
		line++;
		eol = memchr(p, '\n', (size_t)(end - p));
		if (eol == NULL)
			eol = end;
		tail = eol > p && eol[-1] == '\r' ? eol - 1 : eol;
		for (why = NULL, i = 0; p + i < tail && why == NULL; i++) {
			c = (unsigned char)p[i];
			if (c >= 0x80) {
				c = utf8dec((const unsigned char *)p + i,
				    (size_t)(tail - p - i), &cp);
				if (c < 0)
					why = "invalid UTF-8";
				else
					i += c - 1;
			} else if ((c < 0x20 && c != '\t') || c == 0x7F) {
				why = "control character";
			}
		}
		if (why != NULL)
			goto fail;
		p = tomlws(p, tail);
		if (p == tail || *p == '#')
			continue;
		bufinit(&k, MAXCONFIGKEY);
		bufaddstr(&k, "");
		if (*p == '[') {
			if (p + 1 < tail && p[1] == '[') {
				why = "arrays of tables are not supported";
				goto failk;
			}
			for (p = tomlws(p + 1, tail); ; p = tomlws(p + 1, tail)) {
				if ((why = tomlkey(&p, tail, &k)) != NULL)
					goto failk;
				p = tomlws(p, tail);
				if (p >= tail || *p != '.')
					break;
				bufaddc(&k, '.');
			}
			if (p >= tail || *p != ']') {
				why = "expected ']'";
				goto failk;
			}
			p = tomlws(p + 1, tail);
			if (p < tail && *p != '#') {
				why = "text after the table header";
				goto failk;
			}
			if (k.err) {
				why = "table name longer than MAXCONFIGKEY";
				goto failk;
			}
			snprintf(needle, sizeof(needle), "\n%s\n", k.p);
			if (strstr(seen.p, needle) != NULL) {
				why = "table defined twice";
				goto failk;
			}
			bufaddstr(&seen, needle + 1);
			snprintf(table, sizeof(table), "%s", k.p);
			buffree(&k);
			continue;
		}
		if ((why = tomlkey(&p, tail, &k)) != NULL)
			goto failk;
		p = tomlws(p, tail);
		if (p < tail && *p == '.') {
			why = "dotted keys are not supported: use a [table]";
			goto failk;
		}
		if (p >= tail || *p != '=') {
			why = "expected '='";
			goto failk;
		}
		p = tomlws(p + 1, tail);
		if (p >= tail) {
			why = "expected a value";
			goto failk;
		}
		if (k.err || memchr(k.p, '\0', k.len) != NULL) {
			why = "key longer than MAXCONFIGKEY, or with a NUL";
			goto failk;
		}
		for (i = 0; i < t->n; i++)
			if (strcmp(t->e[i].table, table) == 0 &&
			    strcmp(t->e[i].key, k.p) == 0)
				break;
		if (i < t->n) {
			why = "key defined twice";
			goto failk;
		}
		if (t->n >= MAXCONFIGKEYS) {
			why = "more than MAXCONFIGKEYS keys";
			goto failk;
		}
		t->e = xrealloc(t->e, (size_t)(t->n + 1) * sizeof(*t->e));
		e = &t->e[t->n++];
		memset(e, 0, sizeof(*e));
		snprintf(e->table, sizeof(e->table), "%s", table);
		snprintf(e->key, sizeof(e->key), "%s", k.p);
		e->line = line;
		buffree(&k);
		if ((why = tomlvalue(&p, tail, e)) != NULL)
			goto fail;
		p = tomlws(p, tail);
		if (p < tail && *p != '#') {
			why = "text after the value";
			goto fail;
		}
	}
	buffree(&seen);
	return 0;
failk:
	buffree(&k);
fail:
	buffree(&seen);
	tomlfree(t);
	return tomlfail(err, esz, file, line, why);
}

static int
decparse(const char *s, Decision *d)
{
	if (strcmp(s, "allow") == 0)
		*d = Allow;
	else if (strcmp(s, "prompt") == 0)
		*d = Prompt;
	else if (strcmp(s, "deny") == 0)
		*d = Deny;
	else
		return -1;
	return 0;
}

static void
overadd(int kind, const char *name, Decision d, char **opts, int nopts,
    int origin, int line)
{
	Override *o;
	int i;

	if (noverrides >= MAXOVERRIDES)
		die("config: more than MAXOVERRIDES (%d) overrides",
		    MAXOVERRIDES);
	o = &overrides[noverrides++];
	memset(o, 0, sizeof(*o));
	o->kind = kind;
	snprintf(o->name, sizeof(o->name), "%s", name);
	o->d = d;
	o->origin = origin;
	o->line = line;
	for (i = 0; i < nopts && i < (int)LEN(o->opts); i++)
		snprintf(o->opts[i], sizeof(o->opts[i]), "%s", opts[i]);
	o->nopts = i;
}

/*
 * Apply one parsed file.  An entry that would loosen config.h is refused
 * with a warning naming the file and line, and the rest still applies;
 * an entry whose meaning cannot be known (a decision that is not
 * allow/prompt/deny, a value of the wrong type) stops vtcode, so it never
 * starts with a half-understood configuration.
 */
static void
configapply(const Toml *t, int origin)
{
	const char *file = cfgfile[origin];
	const TomlEntry *e;
	const ToolRule *tr;
	const CmdRule *cr;
	Decision d, base;
	int i, j;

	for (i = 0; i < t->n; i++) {
		e = &t->e[i];
		if (e->table[0] == '\0') {
			if (strcmp(e->key, "provider") == 0 ||
			    strcmp(e->key, "model") == 0 ||
			    strcmp(e->key, "base_url") == 0) {
				if (e->type != TStr)
					die("%s:%d: %s: expected a string", file,
					    e->line, e->key);
				if (strcmp(e->key, "base_url") == 0 &&
				    origin == OriginWorkspace)
					/* an API key must never follow a URL a
					 * repository chose */
					warnx("%s:%d: base_url in a workspace "
					    "config is ignored", file, e->line);
				else
					snprintf(strcmp(e->key, "model") == 0 ?
					    settings.model : strcmp(e->key,
					    "provider") == 0 ? settings.provider :
					    settings.baseurl, MAXSETTING, "%s",
					    e->str);
			} else if (strcmp(e->key, "color") == 0) {
				if (e->type != TBool)
					die("%s:%d: color: expected true or "
					    "false", file, e->line);
				settings.color = (int)e->num;
			} else {
				warnx("%s:%d: unknown key %s, ignored", file,
				    e->line, e->key);
			}
			continue;
		}
		if (strcmp(e->table, "tools") == 0 ||
		    strcmp(e->table, "commands") == 0) {
			if (e->type != TStr || decparse(e->str, &d) != 0)
				die("%s:%d: %s.%s: expected \"allow\", "
				    "\"prompt\" or \"deny\"", file, e->line,
				    e->table, e->key);
			if (e->table[0] == 't') {
				if ((tr = toolrule(e->key)) == NULL) {
					warnx("%s:%d: no tool %s, ignored", file,
					    e->line, e->key);
					continue;
				}
				base = tr->decision;
			} else {
				cr = cmdrule(e->key);
				tr = toolrule("run_command");
				base = cr ? cr->decision : tr ? tr->decision :
				    Deny;
			}
			if (d < base) {
				warnx("%s:%d: %s.%s = \"%s\" would loosen "
				    "config.h (%s): refused", file, e->line,
				    e->table, e->key, e->str, decname(base));
				continue;
			}
			overadd(e->table[0] == 't' ? OvTool : OvCommand,
			    e->key, d, NULL, 0, origin, e->line);
		} else if (strcmp(e->table, "forbid") == 0) {
			if (e->type != TArr)
				die("%s:%d: forbid.%s: expected an array of "
				    "options", file, e->line, e->key);
			for (j = 0; j < e->narr; j++)
				if (e->arr[j][0] != '-' || strlen(e->arr[j]) >=
				    sizeof(overrides[0].opts[0]))
					die("%s:%d: forbid.%s: %s is not an "
					    "option", file, e->line, e->key,
					    e->arr[j]);
			overadd(OvForbid, e->key, Deny, e->arr, e->narr,
			    origin, e->line);
		} else if (strcmp(e->table, "allow") == 0) {
			warnx("%s:%d: allow.%s would loosen config.h (options "
			    "can only be forbidden at run time): refused", file,
			    e->line, e->key);
		} else {
			warnx("%s:%d: unknown table [%s], ignored", file,
			    e->line, e->table);
		}
	}
}

/* read one config file if it exists; a malformed one is fatal */
static void
configfile(int dirfd, const char *name, int origin)
{
	char err[PATH_MAX + 256], *buf;
	struct stat st;
	size_t len;
	Toml t;

	buf = readsmall(dirfd, name, MAXCONFIGSIZE, &len, &st);
	if (buf == NULL) {
		if (errno == ENOENT)
			return;
		die("%s: %s", cfgfile[origin], errno == ELOOP ?
		    "a symbolic link: refused" : strerror(errno));
	}
	cfgloaded[origin] = 1;
	if (tomlparse(buf, len, cfgfile[origin], &t, err, sizeof(err)) != 0)
		die("%s", err);
	free(buf);
	configapply(&t, origin);
	tomlfree(&t);
}

/*
 * Load the user's config, then the workspace's when it is trusted.
 * Needs wsinit().  Prints nothing unless a file has something to say.
 */
static void
configload(void)
{
	char dir[PATH_MAX - 32], why[PATH_MAX + 128];
	int fd;

	noverrides = 0;
	if (xdgdir("XDG_CONFIG_HOME", ".config", 0, dir, sizeof(dir)) == 0) {
		snprintf(cfgfile[OriginUser], sizeof(cfgfile[0]),
		    "%s/vtcode.toml", dir);
		if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
			configfile(fd, "vtcode.toml", OriginUser);
			close(fd);
		}
	}
	snprintf(cfgfile[OriginWorkspace], sizeof(cfgfile[0]),
	    "%s/vtcode.toml", wsroot);
	approvalsload();
	cfgtrusted = wstrusted(why, sizeof(why));
	if (!cfgtrusted)
		return;         /* an untrusted workspace's config is ignored */
	if ((fd = open(wsroot, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		die("%s:", wsroot);
	configfile(fd, "vtcode.toml", OriginWorkspace);
	close(fd);
}

/* the runtime overrides that apply to a tool call or an argv: only ever
 * combined with max(), so they cannot loosen whatever they meet */
static void
overapply(int kind, char **argv, int argc, Verdict *v)
{
	const Override *o;
	const char *w, *opt;
	size_t n;
	int i, j, k;

	for (i = 0; i < noverrides; i++) {
		o = &overrides[i];
		if (strcmp(o->name, argv[0]) != 0 ||
		    (o->kind == OvTool) != (kind == OvTool))
			continue;
		if (o->kind != OvForbid) {
			verdict(v, o->d, "%s: %s by %s:%d", argv[0],
			    decname(o->d), cfgfile[o->origin], o->line);
			continue;
		}
		for (j = 1; j < argc; j++) {
			w = argv[j];
			if (strcmp(w, "--") == 0)
				break;
			for (k = 0; k < o->nopts; k++) {
				opt = o->opts[k];
				n = strlen(w);
				if (opt[1] == '-' ? (strncmp(w, opt, n) == 0 &&
				    n > 2 && w[1] == '-') || (strncmp(w, opt,
				    strlen(opt)) == 0 && w[strlen(opt)] == '=') :
				    w[0] == '-' && w[1] != '-' &&
				    strchr(w + 1, opt[1]) != NULL)
					verdict(v, Deny, "%s: option %s is "
					    "forbidden by %s:%d", argv[0], opt,
					    cfgfile[o->origin], o->line);
			}
		}
	}
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
	origumask = umask(077);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGPIPE, &sa, NULL) != 0)
		die("sigaction SIGPIPE:");
}

/*
 * workspace: the root that every path is measured against.  It is the
 * current directory once -C has been applied, made canonical once.
 */

static void
wsinit(void)
{
	if (realpath(".", wsroot) == NULL)
		die("workspace root:");
}

/*
 * Resolve path (absolute, or relative to the root) the way the kernel
 * would: realpath() on the longest leading part that exists, so symlinks
 * and a ".." after them count; the rest, which does not exist yet, is
 * appended as written and may not contain "..".  0 with the result in
 * out, or -1.
 */
static int
wsresolve(const char *path, char *out, size_t sz)
{
	char full[PATH_MAX], pre[PATH_MAX], real[PATH_MAX];
	const char *tail = "", *c;
	size_t k;
	int n;

	n = path[0] == '/' ? snprintf(full, sizeof(full), "%s", path) :
	    snprintf(full, sizeof(full), "%s/%s", wsroot, path);
	if (n < 0 || (size_t)n >= sizeof(full))
		return -1;
	for (k = (size_t)n; ; ) {
		memcpy(pre, full, k);
		pre[k] = '\0';
		if (realpath(k ? pre : "/", real) != NULL)
			break;
		if (errno != ENOENT && errno != ENOTDIR)
			return -1;      /* EACCES, ELOOP ...: fail closed */
		while (k > 0 && full[k - 1] != '/')
			k--;
		if (k == 0)
			return -1;
		k--;                    /* drop the '/' too */
		tail = full + k + 1;
	}
	for (c = tail; *c != '\0'; c += strcspn(c, "/"), c += *c == '/') {
		if (c[0] == '.' && c[1] == '.' && (c[2] == '/' || c[2] == '\0'))
			return -1;
	}
	n = *tail ? snprintf(out, sz, "%s/%s", strcmp(real, "/") ? real : "",
	    tail) : snprintf(out, sz, "%s", real);
	return n < 0 || (size_t)n >= sz ? -1 : 0;
}

/*
 * Is path beneath the root (or the root itself)?  The policy table's
 * operand check: it refuses `cat ../x` or `cat link-to-etc/passwd` with a
 * reason the model can act on.  It is not what confines commands (the
 * kernel sandbox does that), and no tool opens a file by this string.
 */
static int
wsbeneath(const char *path)
{
	char r[PATH_MAX];
	size_t n = strlen(wsroot);

	if (wsresolve(path, r, sizeof(r)) != 0)
		return 0;
	if (strcmp(wsroot, "/") == 0)
		return 1;
	return strncmp(r, wsroot, n) == 0 && (r[n] == '\0' || r[n] == '/');
}

/* is path the root itself? */
static int
wsisroot(const char *path)
{
	char r[PATH_MAX];

	return wsresolve(path, r, sizeof(r)) == 0 && strcmp(r, wsroot) == 0;
}

/*
 * Trust.  Until the user runs `vtcode trust`, the workspace is hostile
 * input: read-only tools only, its config file ignored.  The trust file
 * records the canonical root, the user and the time, sealed with an
 * HMAC-SHA256 under a key that lives in the user's config directory,
 * never in the workspace: a repository cannot ship its own trust, and a
 * copied or moved one is not trusted where it lands.
 */

/* the user's trust key, 32 random bytes kept in hex at
 * $XDG_CONFIG_HOME/vtcode/trust.key (0600); made when create is set */
static int
trustkey(unsigned char key[32], int create, char *why, size_t wsz)
{
	char dir[PATH_MAX], hex[65], *s;
	struct stat st;
	size_t n, i;
	unsigned x;
	int dfd;

	if (xdgdir("XDG_CONFIG_HOME", ".config", create, dir,
	    sizeof(dir)) != 0 || (dfd = open(dir, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) < 0) {
		snprintf(why, wsz, "no config directory for the trust key");
		return -1;
	}
	s = readsmall(dfd, "trust.key", 128, &n, &st);
	if (s == NULL && errno == ENOENT && create) {
		randbytes(key, 32);
		hexenc(key, 32, hex);
		hex[64] = '\n';
		i = atomicwrite(dfd, "trust.key", hex, 65, 0600) == 0;
		close(dfd);
		if (!i)
			snprintf(why, wsz, "%s/trust.key: %s", dir,
			    strerror(errno));
		return i ? 0 : -1;
	}
	close(dfd);
	if (s == NULL) {
		snprintf(why, wsz, "%s/trust.key: %s", dir, strerror(errno));
		return -1;
	}
	if (st.st_uid != getuid() || (st.st_mode & 077) != 0 || n < 64) {
		snprintf(why, wsz, "%s/trust.key: %s", dir, n < 64 ?
		    "too short" : "not private to this user (chmod 600)");
		free(s);
		return -1;
	}
	for (i = 0; i < 32; i++) {
		if (sscanf(s + 2 * i, "%2x", &x) != 1) {
			snprintf(why, wsz, "%s/trust.key: not hex", dir);
			free(s);
			return -1;
		}
		key[i] = (unsigned char)x;
	}
	free(s);
	return 0;
}

/* the seal over what a trust file records */
static int
trustmac(const char *root, uint64_t uid, const char *when, int create,
    unsigned char mac[32], char *why, size_t wsz)
{
	unsigned char key[32];
	br_hmac_key_context kc;
	br_hmac_context hc;
	char num[32];

	if (trustkey(key, create, why, wsz) != 0)
		return -1;
	snprintf(num, sizeof(num), "%llu", (unsigned long long)uid);
	br_hmac_key_init(&kc, &br_sha256_vtable, key, sizeof(key));
	br_hmac_init(&hc, &kc, 0);
	/* NUL-separated, so no field can run into the next */
	br_hmac_update(&hc, "vtcode trust 1", 15);
	br_hmac_update(&hc, root, strlen(root) + 1);
	br_hmac_update(&hc, num, strlen(num) + 1);
	br_hmac_update(&hc, when, strlen(when) + 1);
	br_hmac_out(&hc, mac);
	memset(key, 0, sizeof(key));
	return 0;
}

/* is the workspace trusted?  1 or 0, with the reason in why */
static int
wstrusted(char *why, size_t wsz)
{
	JTok tok[32];
	JDoc d;
	struct stat st;
	unsigned char mac[32], got[32];
	char root[PATH_MAX], when[64], hex[65];
	int64_t uid;
	size_t n, i;
	unsigned x;
	char *s;
	int rfd, ok = 0;

	if ((rfd = open(wsroot, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		snprintf(why, wsz, "%s: %s", wsroot, strerror(errno));
		return 0;
	}
	s = readsmall(rfd, TRUSTFILE, 4096, &n, &st);
	close(rfd);
	if (s == NULL) {
		snprintf(why, wsz, errno == ENOENT ? "no " TRUSTFILE :
		    TRUSTFILE ": %s", strerror(errno));
		return 0;
	}
	if (jsonparse(&d, s, n, tok, (int)LEN(tok)) < 0 ||
	    jsonstr(&d, jsonget(&d, 0, "root"), root, sizeof(root), NULL) ||
	    jsonstr(&d, jsonget(&d, 0, "time"), when, sizeof(when), NULL) ||
	    jsonstr(&d, jsonget(&d, 0, "mac"), hex, sizeof(hex), NULL) ||
	    jsonint(&d, jsonget(&d, 0, "uid"), 0, INT64_MAX, &uid) ||
	    strlen(hex) != 64) {
		snprintf(why, wsz, TRUSTFILE ": not a trust file");
		goto out;
	}
	if (st.st_uid != getuid() || (uint64_t)uid != (uint64_t)getuid()) {
		snprintf(why, wsz, TRUSTFILE ": made by another user");
		goto out;
	}
	if (strcmp(root, wsroot) != 0) {
		snprintf(why, wsz, TRUSTFILE ": made for %s (a copied or "
		    "moved workspace is not trusted)", root);
		goto out;
	}
	for (i = 0; i < 32; i++) {
		if (sscanf(hex + 2 * i, "%2x", &x) != 1)
			break;
		got[i] = (unsigned char)x;
	}
	if (trustmac(root, (uint64_t)uid, when, 0, mac, why, wsz) != 0)
		goto out;       /* no key: nothing this user sealed */
	if (i < 32 || !cteq(mac, got, 32)) {
		snprintf(why, wsz, TRUSTFILE ": seal does not match (not "
		    "made by `vtcode trust` for this user)");
		goto out;
	}
	snprintf(why, wsz, "trusted since %s", when);
	ok = 1;
out:
	free(s);
	return ok;
}

/* vtcode trust [--revoke] */
static int
cmdtrust(int argc, char *argv[])
{
	char why[PATH_MAX + 128], home[PATH_MAX], when[64], hex[65];
	unsigned char mac[32];
	struct passwd *pw;
	const char *h;
	time_t now;
	JWriter w;
	Buf b;
	int rfd, revoke = argc == 2 && strcmp(argv[1], "--revoke") == 0;

	if (argc > 2 || (argc == 2 && !revoke))
		return usageerr("trust: usage: vtcode trust [--revoke]");
	wsinit();
	if (strcmp(wsroot, "/") == 0 || ((h = homedir()) != NULL &&
	    realpath(h, home) != NULL && strcmp(wsroot, home) == 0)) {
		warnx("trust: refusing to trust %s: a workspace is a project "
		    "directory, not %s", wsroot, strcmp(wsroot, "/") == 0 ?
		    "the whole file system" : "your home directory");
		return ExitFail;
	}
	if ((rfd = open(wsroot, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		die("trust: %s:", wsroot);
	if (revoke) {
		if (unlinkat(rfd, TRUSTFILE, 0) != 0 && errno != ENOENT)
			die("trust: %s/" TRUSTFILE ":", wsroot);
		printf("not trusted: %s\n", wsroot);
		close(rfd);
		return fflush(stdout) == 0 ? ExitOK : ExitFail;
	}
	now = time(NULL);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	if (trustmac(wsroot, getuid(), when, 1, mac, why, sizeof(why)) != 0)
		die("trust: %s", why);
	hexenc(mac, sizeof(mac), hex);
	pw = getpwuid(getuid());
	bufinit(&b, 0);
	jwinit(&w, &b);
	jwobj(&w);
	jwkey(&w, "root");
	jwstr(&w, wsroot);
	jwkey(&w, "user");
	jwstr(&w, pw ? pw->pw_name : "");
	jwkey(&w, "uid");
	jwint(&w, (int64_t)getuid());
	jwkey(&w, "time");
	jwstr(&w, when);
	jwkey(&w, "mac");
	jwstr(&w, hex);
	jwend(&w);
	bufaddc(&b, '\n');
	if (!jwdone(&w) || b.err)
		die("trust: cannot encode the trust file");
	if (atomicwrite(rfd, TRUSTFILE, b.p, b.len, 0600) != 0)
		die("trust: %s/" TRUSTFILE ":", wsroot);
	buffree(&b);
	close(rfd);
	printf("trusted: %s\n", wsroot);
	return fflush(stdout) == 0 ? ExitOK : ExitFail;
}

/*
 * policy: what the model may do without asking, what needs a human yes,
 * and what is never done.  policydecide() is the one function that
 * decides; everything else here feeds it.
 *
 * The command lexer turns run_command's string into pipeline stages of
 * argv.  It knows words, quotes, backslash escapes, | && || ; and globs
 * expanded beneath the workspace, and refuses everything else a shell
 * would have done ($, backticks, redirections, subshells, background
 * jobs, assignments, comments, ~).  No shell ever sees the string: the
 * argv decided here is the argv that runs.
 */

static int
lexfail(char *err, size_t sz, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, sz, fmt, ap);
	va_end(ap);
	return -1;
}

static void
argvpush(Argv *a, char *w)
{
	if (a->argc + 2 > a->cap) {
		a->cap = a->cap ? a->cap * 2 : 8;
		a->argv = xrealloc(a->argv, (size_t)a->cap * sizeof(*a->argv));
	}
	a->argv[a->argc++] = w;
	a->argv[a->argc] = NULL;
}

static char *
xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

static void
cmdfree(CmdLine *cl)
{
	int i, j;

	for (i = 0; i < cl->n; i++) {
		for (j = 0; j < cl->st[i].argc; j++)
			free(cl->st[i].argv[j]);
		free(cl->st[i].argv);
	}
	free(cl->st);
	free(cl->op);
	memset(cl, 0, sizeof(*cl));
}

static int
cmdstage(CmdLine *cl, int op, char *err, size_t esz)
{
	if (cl->n > 0 && cl->st[cl->n - 1].argc == 0)
		return lexfail(err, esz, "empty command before '%s'",
		    op == '|' ? "|" : op == '&' ? "&&" : op == 'o' ? "||" : ";");
	if (cl->n >= MAXCMDSTAGES)
		return lexfail(err, esz, "more than %d commands in one line "
		    "(MAXCMDSTAGES)", MAXCMDSTAGES);
	if (cl->n > 0)
		cl->op[cl->n - 1] = (char)op;
	cl->st = xrealloc(cl->st, (size_t)(cl->n + 1) * sizeof(*cl->st));
	cl->op = xrealloc(cl->op, (size_t)(cl->n + 1));
	memset(&cl->st[cl->n], 0, sizeof(*cl->st));
	cl->op[cl->n] = '\0';
	cl->n++;
	return 0;
}

/*
 * Can glob(3) leave the workspace through pat?  It reads "." and ".."
 * like any other name, so besides a literal ".." component any component
 * that can match ".." (".*", ".?", "..*", ".[.]") climbs out when a '/'
 * follows it.  The last component may match "..": globkeep() then
 * drops the "." and ".." it matched, as bash's globskipdots does.
 */
static int
globdotdot(const char *pat)
{
	char c[PATH_MAX];
	const char *p, *e;
	size_t n;

	for (p = pat; *p != '\0'; p = e + (*e == '/')) {
		e = p + strcspn(p, "/");
		if ((n = (size_t)(e - p)) >= sizeof(c))
			return 1;
		memcpy(c, p, n);
		c[n] = '\0';
		if (strcmp(c, "..") == 0)
			return 1;
		/* only slashes after it: the last component */
		if (e[strspn(e, "/")] != '\0' &&
		    fnmatch(c, "..", FNM_PERIOD) == 0)
			return 1;
	}
	return 0;
}

/* 1 keep a glob's match, 0 drop it (its last component is . or ..), -1
 * refuse the glob: the directory it was read from, through a symbolic
 * link, is not beneath the workspace */
static int
globkeep(const char *path)
{
	char dir[PATH_MAX];
	size_t e = strlen(path), b;

	while (e > 1 && path[e - 1] == '/')
		e--;
	for (b = e; b > 0 && path[b - 1] != '/'; b--)
		;
	if ((e - b == 1 && path[b] == '.') ||
	    (e - b == 2 && path[b] == '.' && path[b + 1] == '.'))
		return 0;
	if (b == 0)
		return 1;
	if (b > sizeof(dir))
		return -1;
	memcpy(dir, path, b - 1);
	dir[b - 1] = '\0';
	return wsbeneath(dir) ? 1 : -1;
}

/* a finished word: the first of a stage may not be an assignment; an
 * unquoted glob expands beneath the workspace or stays as written */
static int
lexword(CmdLine *cl, Buf *w, Buf *pat, int globbed, char *err, size_t esz)
{
	Argv *a = &cl->st[cl->n - 1];
	glob_t g;
	size_t i, k;
	int r;

	if (w->err || pat->err)
		return lexfail(err, esz, "word too long");
	if (a->argc == 0) {
		k = strspn(w->p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		    "0123456789_");
		if (k > 0 && w->p[k] == '=' && !(w->p[0] >= '0' && w->p[0] <= '9'))
			return lexfail(err, esz, "environment assignments "
			    "(%.*s=...) are not supported: no shell runs the "
			    "command", (int)k, w->p);
		if (w->len == 0 || w->p[strspn(w->p, CMDNAMECHARS "/")] != '\0')
			return lexfail(err, esz, "command name %s: only ASCII "
			    "letters, digits and . _ + - are allowed",
			    w->len ? "given" : "empty");
	}
	if (!globbed || a->argc == 0) {
		if (globbed)
			return lexfail(err, esz, "a glob cannot name the command");
		if (a->argc >= MAXCMDARGS)
			goto toomany;
		argvpush(a, xstrndup(w->p, w->len));
		return 0;
	}
	if (pat->p[0] == '/' || globdotdot(pat->p))
		return lexfail(err, esz, "glob %s: globs expand only beneath "
		    "the workspace (no absolute path, no .., no .* or .? "
		    "before a /)", w->p);
	memset(&g, 0, sizeof(g));
	r = glob(pat->p, 0, NULL, &g);
	if (r == GLOB_NOMATCH) {
		/* as sh does: a pattern that matches nothing stays itself */
		globfree(&g);
		if (a->argc >= MAXCMDARGS)
			goto toomany;
		argvpush(a, xstrndup(w->p, w->len));
		return 0;
	}
	if (r != 0) {
		globfree(&g);
		return lexfail(err, esz, "glob %s: cannot expand", w->p);
	}
	for (i = k = 0; i < g.gl_pathc; i++) {
		if ((r = globkeep(g.gl_pathv[i])) < 0) {
			globfree(&g);
			return lexfail(err, esz, "glob %s: expands outside the "
			    "workspace (through a symbolic link)", w->p);
		}
		/* a planted file name must not bring in what the
		 * command string itself may not hold */
		if (r > 0 && lexbytes(g.gl_pathv[i], strlen(g.gl_pathv[i]),
		    err, esz) != 0) {
			globfree(&g);
			return lexfail(err, esz, "glob %s: matches a file name "
			    "with a control character or invalid UTF-8", w->p);
		}
		k += (size_t)r;
	}
	if (k == 0) {
		/* only . and ..: as if nothing matched */
		globfree(&g);
		if (a->argc >= MAXCMDARGS)
			goto toomany;
		argvpush(a, xstrndup(w->p, w->len));
		return 0;
	}
	if (k > (size_t)(MAXCMDARGS - a->argc)) {
		globfree(&g);
		goto toomany;
	}
	for (i = 0; i < g.gl_pathc; i++)
		if (globkeep(g.gl_pathv[i]) > 0)
			argvpush(a, xstrndup(g.gl_pathv[i],
			    strlen(g.gl_pathv[i])));
	globfree(&g);
	return 0;
toomany:
	return lexfail(err, esz, "more than %d words in one command "
	    "(MAXCMDARGS)", MAXCMDARGS);
}

/* append one literal byte: to the pattern escaped if glob would read it */
static void
lexlit(Buf *w, Buf *pat, int c)
{
	bufaddc(w, c);
	if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\')
		bufaddc(pat, '\\');
	bufaddc(pat, c);
}

/* one byte of a word that is not a space or an operator */
static int
lexchar(const char *s, size_t n, size_t *ip, Buf *w, Buf *pat, int *inword,
    int *globbed, char *err, size_t esz)
{
	size_t i = *ip;
	int start = !*inword;

	*inword = 1;
	switch (s[i]) {
	case '\'':
		for (i++; i < n && s[i] != '\''; i++)
			lexlit(w, pat, s[i]);
		if (i >= n)
			return lexfail(err, esz, "unterminated single quote");
		break;
	case '"':
		for (i++; i < n && s[i] != '"'; i++) {
			if (s[i] == '$')
				return lexfail(err, esz, "'$' expansion is not "
				    "supported, even in double quotes: no shell "
				    "runs the command");
			if (s[i] == '`')
				return lexfail(err, esz, "backticks (command "
				    "substitution) are not supported");
			if (s[i] == '\\' && i + 1 < n &&
			    strchr("\"\\$`", s[i + 1]) != NULL)
				i++;
			lexlit(w, pat, s[i]);
		}
		if (i >= n)
			return lexfail(err, esz, "unterminated double quote");
		break;
	case '\\':
		if (++i >= n)
			return lexfail(err, esz, "backslash at the end of the "
			    "command");
		lexlit(w, pat, s[i]);
		break;
	case '$':
		return lexfail(err, esz, "'$' expansion ($VAR, ${...}, $(...)) "
		    "is not supported: no shell runs the command");
	case '`':
		return lexfail(err, esz, "backticks (command substitution) are "
		    "not supported");
	case '<':
		if (i + 1 < n && s[i + 1] == '<')
			return lexfail(err, esz, "here-documents (<<) are not "
			    "supported");
		/* FALLTHROUGH */
	case '>':
		return lexfail(err, esz, "redirections (< >) are not supported: "
		    "the output comes back to you as it is");
	case '(':
	case ')':
		return lexfail(err, esz, "subshells ( ) are not supported "
		    "(quote a literal parenthesis)");
	case '{':
	case '}':
		return lexfail(err, esz, "braces { } (groups and brace "
		    "expansion) are not supported (quote a literal brace)");
	case '#':
	case '~':
		if (start)
			return lexfail(err, esz, s[i] == '#' ?
			    "comments (#) are not supported" :
			    "'~' (home directory) expansion is not supported");
		lexlit(w, pat, s[i]);
		break;
	case '*':
	case '?':
	case '[':
		*globbed = 1;
		bufaddc(w, s[i]);
		bufaddc(pat, s[i]);
		break;
	default:
		bufaddc(w, s[i]);
		bufaddc(pat, s[i]);
		break;
	}
	*ip = i;
	return 0;
}

/* bytes the lexer refuses wherever they are, quoted or not */
static int
lexbytes(const char *s, size_t n, char *err, size_t esz)
{
	size_t i;
	unsigned char c;
	uint32_t cp;
	int k;

	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (c >= 0x80) {
			if ((k = utf8dec((const unsigned char *)s + i, n - i,
			    &cp)) < 0)
				return lexfail(err, esz, "invalid UTF-8 at "
				    "byte %zu", i);
			i += (size_t)k - 1;
		} else if (c == '\n' || c == '\r') {
			return lexfail(err, esz, "line break in the command: "
			    "one command line per call (join with ; or &&)");
		} else if (c == '\0') {
			return lexfail(err, esz, "NUL byte in the command");
		} else if ((c < 0x20 && c != '\t') || c == 0x7F) {
			return lexfail(err, esz, "control character 0x%02x in "
			    "the command", c);
		}
	}
	return 0;
}

/*
 * Split s[0..n) into cl.  0, or -1 with a reason in err that says what
 * was refused and why; cl is then empty.
 */
static int
cmdlex(const char *s, size_t n, CmdLine *cl, char *err, size_t esz)
{
	Buf w, pat;
	size_t i;
	int inword = 0, globbed = 0, rc = -1, op;

	memset(cl, 0, sizeof(*cl));
	bufinit(&w, MAXCMDLEN);
	bufinit(&pat, 2 * MAXCMDLEN);
	bufaddstr(&w, "");
	bufaddstr(&pat, "");
	if (n > MAXCMDLEN) {
		lexfail(err, esz, "command longer than %d bytes (MAXCMDLEN)",
		    MAXCMDLEN);
		goto out;
	}
	if (lexbytes(s, n, err, esz) != 0 || cmdstage(cl, 0, err, esz) != 0)
		goto out;
	for (i = 0; i <= n; i++) {
		if (i < n && strchr(" \t|&;", s[i]) == NULL) {
			if (lexchar(s, n, &i, &w, &pat, &inword, &globbed, err,
			    esz) != 0)
				goto out;
			continue;
		}
		if (inword && lexword(cl, &w, &pat, globbed, err, esz) != 0)
			goto out;
		inword = globbed = 0;
		w.len = pat.len = 0;
		w.p[0] = pat.p[0] = '\0';
		if (i == n || s[i] == ' ' || s[i] == '\t')
			continue;
		if (s[i] == '&') {
			if (i + 1 >= n || s[++i] != '&') {
				lexfail(err, esz, "'&' (a background job) is not "
				    "supported");
				goto out;
			}
			op = '&';
		} else if (s[i] == '|') {
			op = i + 1 < n && s[i + 1] == '|' ? (i++, 'o') : '|';
		} else {
			op = ';';
		}
		if (cmdstage(cl, op, err, esz) != 0)
			goto out;
	}
	if (cl->st[cl->n - 1].argc == 0) {
		lexfail(err, esz, cl->n > 1 ? "the command ends with an "
		    "operator" : "empty command");
		goto out;
	}
	rc = 0;
out:
	buffree(&w);
	buffree(&pat);
	if (rc != 0)
		cmdfree(cl);
	return rc;
}

/*
 * The decision.  A Verdict keeps the strictest decision seen and the
 * first reason given at that level.
 */
static void
verdict(Verdict *v, Decision d, const char *fmt, ...)
{
	va_list ap;

	if (d < v->d || (d == v->d && v->why[0] != '\0'))
		return;
	v->d = d;
	va_start(ap, fmt);
	vsnprintf(v->why, sizeof(v->why), fmt, ap);
	va_end(ap);
}

static const char *
decname(Decision d)
{
	return d == Allow ? "allow" : d == Prompt ? "prompt" : "deny";
}

/* the row for command name: exact first, then the longest "prefix*" */
static const CmdRule *
cmdrule(const char *name)
{
	const CmdRule *best = NULL;
	size_t i, n, bestn = 0;

	for (i = 0; i < LEN(cmdrules); i++)
		if (strcmp(cmdrules[i].name, name) == 0)
			return &cmdrules[i];
	for (i = 0; i < LEN(cmdrules); i++) {
		n = strlen(cmdrules[i].name);
		if (n > 1 && cmdrules[i].name[n - 1] == '*' &&
		    strncmp(cmdrules[i].name, name, n - 1) == 0 && n > bestn) {
			best = &cmdrules[i];
			bestn = n;
		}
	}
	return best;
}

static const ToolRule *
toolrule(const char *tool)
{
	size_t i;

	for (i = 0; i < LEN(toolrules); i++)
		if (strcmp(toolrules[i].tool, tool) == 0)
			return &toolrules[i];
	return NULL;
}

/*
 * Look name[0..n) up in a space-separated option list ("-x", "-x:",
 * "--all", "--lines=", "--color?").  With exact, only an entry equal to
 * it; otherwise the entries it abbreviates.  1 found (entry, its length
 * without the kind mark, and the mark in *kind), 0 none, -1 ambiguous.
 */
static int
optlookup(const char *list, const char *name, size_t n, int exact,
    const char **ent, size_t *elen, char *kind)
{
	const char *p, *e;
	size_t len, base;
	int found = 0;

	if (list == NULL)
		return 0;
	for (p = list; *p != '\0'; p = e) {
		while (*p == ' ')
			p++;
		for (e = p; *e != '\0' && *e != ' '; e++)
			;
		if ((len = (size_t)(e - p)) == 0)
			continue;
		base = len > 1 && strchr("=?:", p[len - 1]) != NULL ?
		    len - 1 : len;
		if (exact ? base != n : base <= n)
			continue;
		if (memcmp(p, name, n) != 0)
			continue;
		if (found)
			return -1;
		found = 1;
		*ent = p;
		*elen = base;
		*kind = len > base ? p[base] : '\0';
		if (exact)
			break;
	}
	return found;
}

/* a value of a path-valued option, or an operand that is a path */
static void
pathcheck(Verdict *v, const char *cmd, const char *path)
{
	if (!wsbeneath(path))
		verdict(v, Deny, "%s: %s is outside the workspace", cmd, path);
}

static void
optvalue(const CmdRule *r, const char *opt, size_t n, const char *val,
    OptSeen *seen, Verdict *v)
{
	const char *ent;
	size_t elen;
	char kind;

	if (seen->n >= (int)LEN(seen->opt)) {
		/* unrecorded, a -e could hide a path operand: ask */
		verdict(v, Prompt, "%s: more than %d options", r->name,
		    (int)LEN(seen->opt));
	} else {
		/* a short option's name lives in the caller's frame: copy */
		if (n == 2) {
			memcpy(seen->shortname[seen->n], opt, 2);
			opt = seen->shortname[seen->n];
		}
		seen->opt[seen->n] = opt;
		seen->len[seen->n] = n;
		seen->val[seen->n] = val;
		seen->n++;
	}
	if (val != NULL && optlookup(r->pathopts, opt, n, 1, &ent, &elen,
	    &kind) == 1)
		pathcheck(v, r->name, val);
}

/* was an option among names (space-separated, full names) given?  Its
 * last value, or "" for one without a value; NULL if not given */
static const char *
optseen(const OptSeen *seen, const char *names, int nth)
{
	const char *ent;
	size_t elen;
	char kind;
	int i;

	for (i = 0; i < seen->n; i++)
		if (optlookup(names, seen->opt[i], seen->len[i], 1, &ent,
		    &elen, &kind) == 1 && nth-- == 0)
			return seen->val[i] ? seen->val[i] : "";
	return NULL;
}

/*
 * One long option argv[i] ("--name" or "--name=value").  After an ArgSub
 * subcommand (sub) every option that is not forbidden passes.  Returns
 * how many following words it consumed as its value.
 */
static int
optlong(const CmdRule *r, int sub, char **argv, int argc, int i,
    OptSeen *seen, Verdict *v)
{
	const char *a = argv[i], *eq = strchr(a, '='), *ent, *val = NULL;
	const char *forbid = sub ? r->subforbid : r->forbid;
	size_t n = eq ? (size_t)(eq - a) : strlen(a), elen;
	char kind;
	int k, used = 0;

	if (!sub && optlookup(r->longopts, a, n, 1, &ent, &elen, &kind) == 1)
		goto found;
	if (optlookup(forbid, a, n, 1, &ent, &elen, &kind) == 1) {
		verdict(v, Deny, "%s: option %.*s is forbidden", r->name,
		    (int)n, a);
		return 0;
	}
	if (optlookup(forbid, a, n, 0, &ent, &elen, &kind) != 0) {
		verdict(v, Deny, "%s: %.*s abbreviates a forbidden option",
		    r->name, (int)n, a);
		return 0;
	}
	if (sub)
		return 0;
	k = optlookup(r->longopts, a, n, 0, &ent, &elen, &kind);
	if (k < 0) {
		verdict(v, Prompt, "%s: option %.*s is ambiguous", r->name,
		    (int)n, a);
		return 0;
	}
	if (k == 0) {
		verdict(v, Prompt, "%s: option %.*s is not one vtcode knows "
		    "to be safe", r->name, (int)n, a);
		return 0;
	}
found:
	if (kind == '=') {
		if (eq != NULL)
			val = eq + 1;
		else if (i + 1 < argc)
			val = argv[i + (used = 1)];
		else
			verdict(v, Prompt, "%s: option %.*s needs a value",
			    r->name, (int)elen, ent);
	} else if (kind == '?') {
		val = eq ? eq + 1 : NULL;
	} else if (eq != NULL) {
		verdict(v, Prompt, "%s: option %.*s takes no value", r->name,
		    (int)elen, ent);
	}
	optvalue(r, ent, elen, val, seen, v);
	return used;
}

/* one cluster of short options argv[i] ("-la", "-n5", "-n" "5") */
static int
optshort(const CmdRule *r, int sub, char **argv, int argc, int i,
    OptSeen *seen, Verdict *v)
{
	const char *a = argv[i], *p, *ent, *val;
	char name[3] = "-?", kind;
	size_t j, elen;
	int used = 0, unknown = 0;

	for (j = 1; a[j] != '\0'; j++) {
		name[1] = a[j];
		if (optlookup(sub ? r->subforbid : r->forbid, name, 2, 1, &ent,
		    &elen, &kind) == 1) {
			verdict(v, Deny, "%s: option %s is forbidden", r->name,
			    name);
			return 0;
		}
		if (sub || unknown)
			continue;
		p = r->shortopts && a[j] != ':' ? strchr(r->shortopts, a[j]) :
		    NULL;
		if (p == NULL) {
			verdict(v, Prompt, "%s: option %s is not one vtcode "
			    "knows to be safe", r->name, name);
			/* it may be a flag: the letters after it are still
			 * checked against the forbidden list */
			unknown = 1;
			continue;
		}
		if (p[1] != ':') {
			optvalue(r, name, 2, NULL, seen, v);
			continue;
		}
		/* the rest of the word is the value, else the next word
		 * (getopt's "x:"); "x::" takes only a glued value */
		val = a[j + 1] ? a + j + 1 : p[2] == ':' ? NULL :
		    i + 1 < argc ? argv[i + (used = 1)] : NULL;
		if (val == NULL && p[2] != ':')
			verdict(v, Prompt, "%s: option %s needs a value",
			    r->name, name);
		optvalue(r, name, 2, val, seen, v);
		break;
	}
	return used;
}

/* sed scripts that only print lines: [addr[,addr]]p joined by ';' where
 * addr is a line number or '$'.  Anything else (s///w, e, w, r ...) can
 * write files or run commands. */
static int
sedprint(const char *s)
{
	int a;

	for (;;) {
		s += strspn(s, " ");
		if (*s == '\0')
			return 1;
		if (*s == ';') {
			s++;
			continue;
		}
		for (a = 0; a < 2; a++) {
			if (*s == '$')
				s++;
			else if (*s >= '0' && *s <= '9')
				s += strspn(s, "0123456789");
			else if (a == 0)
				break;
			else
				return 0;
			if (a == 0 && *s == ',')
				s++;
			else
				break;
		}
		s += strspn(s, " ");
		if (*s++ != 'p')
			return 0;
		s += strspn(s, " ");
		if (*s != '\0' && *s != ';')
			return 0;
	}
}

/* find: options -H -L -P, then paths, then an expression of primaries
 * from the row's list; a forbidden primary anywhere is Deny */
static void
findcheck(const CmdRule *r, char **argv, int argc, Verdict *v)
{
	const char *ent;
	size_t elen;
	char kind;
	int i = 1;

	while (i < argc && argv[i][0] == '-' && argv[i][1] != '\0' &&
	    argv[i][2] == '\0' && strchr(r->shortopts, argv[i][1]) != NULL)
		i++;
	for (; i < argc && argv[i][0] != '-' && strcmp(argv[i], "(") != 0 &&
	    strcmp(argv[i], "!") != 0; i++)
		pathcheck(v, r->name, argv[i]);
	for (; i < argc; i++) {
		if (optlookup(r->forbid, argv[i], strlen(argv[i]), 1, &ent,
		    &elen, &kind) == 1) {
			verdict(v, Deny, "%s: %s is forbidden (it runs, "
			    "deletes or writes)", r->name, argv[i]);
			return;
		}
		if (optlookup(r->longopts, argv[i], strlen(argv[i]), 1, &ent,
		    &elen, &kind) != 1) {
			verdict(v, Prompt, "%s: %s is not an expression vtcode "
			    "knows to be safe", r->name, argv[i]);
			continue;
		}
		if (kind == '=' && ++i >= argc)
			verdict(v, Prompt, "%s: %.*s needs a value", r->name,
			    (int)elen, ent);
	}
}

/* dd: key=value operands; of= never a device, if= only the harmless
 * ones, both beneath the workspace otherwise */
static void
ddcheck(const CmdRule *r, char **argv, int argc, Verdict *v)
{
	static const char keys[] = " bs cbs conv count ibs iflag obs oflag "
	    "seek skip status ";
	char key[16];
	const char *eq;
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0)
			continue;
		eq = strchr(argv[i], '=');
		if (eq == NULL || (size_t)(eq - argv[i]) > sizeof(key) - 3) {
			verdict(v, Prompt, "%s: %s is not key=value", r->name,
			    argv[i]);
			continue;
		}
		if (strncmp(argv[i], "of=", 3) == 0 ||
		    strncmp(argv[i], "if=", 3) == 0) {
			if (strncmp(eq + 1, "/dev/", 5) != 0)
				pathcheck(v, r->name, eq + 1);
			else if (argv[i][0] == 'o')
				verdict(v, Deny, "%s: writes the device %s",
				    r->name, eq + 1);
			else if (strcmp(eq, "=/dev/zero") != 0 &&
			    strcmp(eq, "=/dev/urandom") != 0)
				verdict(v, Deny, "%s: reads the device %s",
				    r->name, eq + 1);
			continue;
		}
		snprintf(key, sizeof(key), " %.*s ", (int)(eq - argv[i]),
		    argv[i]);
		if (strstr(keys, key) == NULL)
			verdict(v, Prompt, "%s: operand %s is not one vtcode "
			    "knows to be safe", r->name, argv[i]);
	}
}

/* the operands of a getopt-style command, by the row's kind */
static void
operandcheck(const CmdRule *r, char **ops, int nops, const OptSeen *seen,
    Verdict *v)
{
	const char *script;
	int i, first = 0, k;

	if (r->maxops >= 0 && nops > r->maxops) {
		verdict(v, Prompt, "%s: more than %d operand%s", r->name,
		    r->maxops, r->maxops == 1 ? "" : "s");
		return;
	}
	switch (r->args) {
	case ArgPattern:
		first = optseen(seen, "-e -f --regexp --file", 0) ? 0 : 1;
		break;
	case ArgFirstText:
		first = 1;
		break;
	case ArgSed:
		if (optseen(seen, "-n --quiet --silent", 0) == NULL)
			verdict(v, Prompt, "%s: without -n sed prints every "
			    "line; use -n with p", r->name);
		for (k = 0; (script = optseen(seen, "-e --expression", k)) !=
		    NULL; k++)
			if (!sedprint(script))
				goto badsed;
		if (k == 0) {
			if (nops == 0 || !sedprint(ops[0]))
				goto badsed;
			first = 1;
		}
		break;
	case ArgRemove:
		for (i = 0; i < nops; i++)
			if (wsisroot(ops[i]))
				verdict(v, Deny, "%s: %s is the whole workspace",
				    r->name, ops[i]);
		break;
	case ArgPaths:
		break;
	default:
		return;         /* ArgNone, ArgText, ArgSub: no paths */
	}
	for (i = first; i < nops; i++)
		pathcheck(v, r->name, ops[i]);
	return;
badsed:
	verdict(v, Deny, "%s: scripts may only print lines (like 1,5p or "
	    "$p): others can write files or run commands", r->name);
}

/* the word after a row's global options must be one of its subcommands */
static void
subcheck(const CmdRule *r, const char *sub, Verdict *v)
{
	const char *ent;
	size_t elen;
	char kind;

	if (optlookup(r->subcmds, sub, strlen(sub), 1, &ent, &elen,
	    &kind) != 1)
		verdict(v, Prompt, "%s %s: not one of the subcommands vtcode "
		    "allows without asking (%s)", r->name, sub, r->subcmds);
}

/* one argv, against its command row in config.h */
static void
policyrow(char **argv, int argc, Verdict *v)
{
	const CmdRule *r;
	const ToolRule *t;
	OptSeen seen;
	char **ops;
	int i, nops = 0, endopts = 0, sub = 0;

	if (strchr(argv[0], '/') != NULL) {
		verdict(v, Deny, "%s: give the command's name, not a path: "
		    "names are looked up in %s only", argv[0], SYSPATH);
		return;
	}
	if (argv[0][0] == '\0' || argv[0][0] == '-' ||
	    argv[0][strspn(argv[0], CMDNAMECHARS)] != '\0') {
		verdict(v, Deny, "command name: only ASCII letters, digits "
		    "and . _ + - are allowed");
		return;
	}
	if ((r = cmdrule(argv[0])) == NULL) {
		t = toolrule("run_command");
		verdict(v, t ? t->decision : Deny, "%s: no rule for this "
		    "command: %s", argv[0], t ? t->reason : "refused");
		return;
	}
	if (r->decision == Deny || r->args == ArgAny) {
		verdict(v, r->decision, "%s: %s", argv[0], r->reason);
		return;
	}
	if (r->args == ArgFind || r->args == ArgDd) {
		(r->args == ArgFind ? findcheck : ddcheck)(r, argv, argc, v);
		verdict(v, r->decision, "%s: %s", argv[0], r->reason);
		return;
	}
	memset(&seen, 0, sizeof(seen));
	ops = xmalloc((size_t)argc * sizeof(*ops));
	for (i = 1; i < argc; i++) {
		if (!endopts && strcmp(argv[i], "--") == 0) {
			endopts = 1;
		} else if (endopts || argv[i][0] != '-' ||
		    argv[i][1] == '\0') {
			if (r->args == ArgSub && !sub) {
				subcheck(r, argv[i], v);
				sub = 1;
				endopts = 0;
			} else {
				ops[nops++] = argv[i];
			}
		} else if (argv[i][1] == '-') {
			i += optlong(r, sub, argv, argc, i, &seen, v);
		} else {
			i += optshort(r, sub, argv, argc, i, &seen, v);
		}
	}
	operandcheck(r, ops, nops, &seen, v);
	free(ops);
	verdict(v, r->decision, "%s: %s", argv[0], r->reason);
}

/* one argv: its config.h row, then whatever the runtime config adds */
static void
policyargv(char **argv, int argc, Verdict *v)
{
	policyrow(argv, argc, v);
	overapply(OvCommand, argv, argc, v);
}

/*
 * policydecide: the one function that decides.  A tool call is decided
 * by its row; a run_command line is lexed and every stage decided on
 * its own, the strictest winning.  On return v holds the decision and
 * the reason, and cl (when given, for run_command) the argv to run.
 */
/* the first thing decided: a tool the table has, and in an untrusted
 * workspace a read-only one.  1 when that already refuses */
static int
policytool(const ToolRule *t, const char *tool, Verdict *v)
{
	if (t == NULL) {
		verdict(v, Deny, "%s: no such tool", tool);
		return 1;
	}
	if (!cfgtrusted && !t->readonly) {
		verdict(v, Deny, "%s: the workspace is not trusted (run `vtcode "
		    "trust` there): read-only tools only", tool);
		return 1;
	}
	return 0;
}

/* one stage of a run_command line: its row, the runtime config, then a
 * remembered yes for that exact argv, only where the table said Prompt;
 * merged into v, where the strictest stage wins */
static void
policyone(char **argv, int argc, Verdict *v)
{
	Verdict sv;

	memset(&sv, 0, sizeof(sv));
	policyargv(argv, argc, &sv);
	if (sv.d == Prompt && approved("run_command", argv, argc, NULL)) {
		sv.d = Allow;
		snprintf(sv.why, sizeof(sv.why), "%s: this exact command was "
		    "approved earlier", argv[0]);
	}
	verdict(v, sv.d, "%s", sv.why);
}

static Decision
policydecide(const char *tool, const char *arg, size_t arglen, CmdLine *cl,
    Verdict *v)
{
	const ToolRule *t = toolrule(tool);
	CmdLine local;
	char err[256], *targv[2] = { NULL, NULL };
	int i;

	memset(v, 0, sizeof(*v));
	if (cl != NULL)
		memset(cl, 0, sizeof(*cl));
	if (policytool(t, tool, v))
		return v->d;
	if (strcmp(tool, "run_command") != 0) {
		verdict(v, t->decision, "%s: %s", tool, t->reason);
		targv[0] = (char *)tool;
		overapply(OvTool, targv, 1, v);
		if (v->d == Prompt && arg != NULL &&
		    approved(tool, NULL, 0, arg))
			snprintf(v->why, sizeof(v->why), "%s: %s approved "
			    "earlier", tool, arg), v->d = Allow;
		return v->d;
	}
	if (cl == NULL)
		cl = &local;
	if (cmdlex(arg, arglen, cl, err, sizeof(err)) != 0) {
		verdict(v, Deny, "%s", err);
		return v->d;
	}
	for (i = 0; i < cl->n; i++)
		policyone(cl->st[i].argv, cl->st[i].argc, v);
	if (cl == &local)
		cmdfree(cl);
	return v->d;
}

/* the same decision for an argv given whole (vtcode policy check --):
 * no lexer, but the same bytes and limits refused and the same gate */
static Decision
policydecideargv(char **argv, int argc, Verdict *v)
{
	char err[256];
	int i;

	memset(v, 0, sizeof(*v));
	if (policytool(toolrule("run_command"), "run_command", v))
		return v->d;
	if (argc < 1 || argc > MAXCMDARGS) {
		verdict(v, Deny, "1 to %d words in one command (MAXCMDARGS)",
		    MAXCMDARGS);
		return v->d;
	}
	for (i = 0; i < argc; i++)
		if (lexbytes(argv[i], strlen(argv[i]), err, sizeof(err)) != 0) {
			verdict(v, Deny, "argument %d: %s", i, err);
			return v->d;
		}
	policyone(argv, argc, v);
	return v->d;
}

/*
 * approvals: what the table says to ask about is put to the human on
 * /dev/tty, never on stdin (which may carry the task).  No terminal, or
 * no answer, is a no.  A yes can be for once, for this session (that
 * exact argv, or that tool on that path) or always (kept in
 * $XDG_CONFIG_HOME/vtcode/tool-policy.json).  A remembered yes only
 * ever turns a Prompt into an Allow: policydecide() applies it after the
 * table, so it can never reach past a Deny.
 */

/* the bytes an approval is remembered by: argv NUL-joined, or the path */
static char *
approvalkey(char **argv, int argc, const char *path, size_t *len)
{
	Buf b;
	int i;

	bufinit(&b, 0);
	if (argv == NULL) {
		bufaddstr(&b, path ? path : "");
	} else {
		for (i = 0; i < argc; i++)
			bufadd(&b, argv[i], strlen(argv[i]) + 1);
	}
	bufaddstr(&b, "");
	*len = b.len;
	return b.p;
}

static int
approved(const char *tool, char **argv, int argc, const char *path)
{
	size_t len;
	char *k = approvalkey(argv, argc, path, &len);
	int i, hit = 0;

	for (i = 0; i < napprovals && !hit; i++)
		hit = strcmp(approvals[i].tool, tool) == 0 &&
		    approvals[i].len == len && memcmp(approvals[i].key, k,
		    len) == 0;
	free(k);
	return hit;
}

static void
approvaladd(const char *tool, char *key, size_t len, int stored)
{
	approvals = xrealloc(approvals, (size_t)(napprovals + 1) *
	    sizeof(*approvals));
	snprintf(approvals[napprovals].tool, sizeof(approvals[0].tool), "%s",
	    tool);
	approvals[napprovals].key = key;
	approvals[napprovals].len = len;
	approvals[napprovals].stored = stored;
	napprovals++;
}

/* read tool-policy.json; a file that is not exactly what vtcode writes
 * is ignored whole, with a warning */
static void
approvalsload(void)
{
	char dir[PATH_MAX], *buf;
	struct stat st;
	size_t len, klen;
	JTok *tok;
	JDoc d;
	Buf k;
	int fd, a, e, i, j, n, ok = 1;
	char *s;

	if (xdgdir("XDG_CONFIG_HOME", ".config", 0, dir, sizeof(dir)) != 0 ||
	    (fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return;
	buf = readsmall(fd, "tool-policy.json", MAXAPPROVALSIZE, &len, &st);
	close(fd);
	if (buf == NULL) {
		if (errno != ENOENT)
			warnx("%s/tool-policy.json: %s: ignored", dir,
			    strerror(errno));
		return;
	}
	if (st.st_uid != getuid() || (st.st_mode & 022) != 0) {
		warnx("%s/tool-policy.json: writable by others: ignored", dir);
		free(buf);
		return;
	}
	tok = xmalloc(MAXAPPROVALTOKENS * sizeof(*tok));
	if (jsonparse(&d, buf, len, tok, MAXAPPROVALTOKENS) < 0 ||
	    (a = jsonget(&d, 0, "approvals")) < 0 ||
	    jsontype(&d, a) != JArray)
		ok = 0;
	for (i = 0; ok && i < d.tok[a].size; i++) {
		e = jsonat(&d, a, i);
		s = jsonstrdup(&d, jsonget(&d, e, "tool"));
		if (s == NULL || toolrule(s) == NULL) {
			free(s);
			ok = 0;
			break;
		}
		bufinit(&k, 0);
		if ((n = jsonget(&d, e, "argv")) >= 0 &&
		    jsontype(&d, n) == JArray && d.tok[n].size > 0) {
			for (j = 0; j < d.tok[n].size; j++) {
				char *w = jsonstrdup(&d, jsonat(&d, n, j));

				if (w == NULL)
					ok = 0;
				else
					bufadd(&k, w, strlen(w) + 1);
				free(w);
			}
		} else if ((n = jsonget(&d, e, "path")) >= 0) {
			char *w = jsonstrdup(&d, n);

			if (w == NULL)
				ok = 0;
			else
				bufaddstr(&k, w);
			free(w);
		} else {
			ok = 0;
		}
		bufaddstr(&k, "");
		klen = k.len;
		if (ok)
			approvaladd(s, k.p, klen, 1);
		else
			buffree(&k);
		free(s);
	}
	if (!ok) {
		warnx("%s/tool-policy.json: not a file vtcode wrote: ignored",
		    dir);
		for (i = 0; i < napprovals; i++)
			free(approvals[i].key);
		napprovals = 0;
	}
	free(tok);
	free(buf);
}

/* write every stored approval back, atomically, 0600 in a 0700 dir */
static int
approvalssave(void)
{
	char dir[PATH_MAX];
	const char *p, *end;
	JWriter w;
	Buf b;
	int fd, i, rc;

	if (xdgdir("XDG_CONFIG_HOME", ".config", 1, dir, sizeof(dir)) != 0 ||
	    (fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	bufinit(&b, 0);
	jwinit(&w, &b);
	jwobj(&w);
	jwkey(&w, "version");
	jwint(&w, 1);
	jwkey(&w, "approvals");
	jwarr(&w);
	for (i = 0; i < napprovals; i++) {
		if (!approvals[i].stored)
			continue;
		jwobj(&w);
		jwkey(&w, "tool");
		jwstr(&w, approvals[i].tool);
		if (strcmp(approvals[i].tool, "run_command") == 0) {
			jwkey(&w, "argv");
			jwarr(&w);
			end = approvals[i].key + approvals[i].len - 1;
			for (p = approvals[i].key; p < end; p += strlen(p) + 1)
				jwstr(&w, p);
			jwend(&w);
		} else {
			jwkey(&w, "path");
			jwstr(&w, approvals[i].key);
		}
		jwend(&w);
	}
	jwend(&w);
	jwend(&w);
	bufaddc(&b, '\n');
	rc = jwdone(&w) ? atomicwrite(fd, "tool-policy.json", b.p, b.len,
	    0600) : -1;
	buffree(&b);
	close(fd);
	return rc;
}

/*
 * Ask the human.  subject is what would happen (the argv, or the tool
 * and its path and a summary), why the table's reason.  Allow or Deny;
 * *scope is 0 once, 1 session, 2 always; a "no, and tell the model why"
 * leaves the words in tell.
 */
static Decision
approve(const char *tool, const char *subject, const char *why, int *scope,
    char *tell, size_t tsz)
{
	char line[512];
	FILE *tty;
	int fd, tries;

	*scope = 0;
	tell[0] = '\0';
	if ((fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0 ||
	    (tty = fdopen(fd, "r+")) == NULL) {
		if (fd >= 0)
			close(fd);
		snprintf(tell, tsz, "no terminal to ask on, so the prompt "
		    "became a refusal");
		return Deny;
	}
	fprintf(tty, "\nvtcode: the model asks to use %s:\n  ", tool);
	putsafe(tty, subject);
	fputs("\n  why: ", tty);
	putsafe(tty, why);
	for (tries = 0; tries < 3; tries++) {
		fputs("\napprove? [y]es once, [s] this session, [a]lways, "
		    "[n]o, [t]ell the model why: ", tty);
		fflush(tty);
		if (fgets(line, sizeof(line), tty) == NULL)
			break;
		switch (line[strspn(line, " \t")]) {
		case 'y': case 'Y':
			fclose(tty);
			return Allow;
		case 's': case 'S':
			*scope = 1;
			fclose(tty);
			return Allow;
		case 'a': case 'A':
			*scope = 2;
			fclose(tty);
			return Allow;
		case 'n': case 'N':
			fclose(tty);
			snprintf(tell, tsz, "the user said no");
			return Deny;
		case 't': case 'T':
			fputs("tell the model: ", tty);
			fflush(tty);
			if (fgets(line, sizeof(line), tty) == NULL)
				line[0] = '\0';
			line[strcspn(line, "\r\n")] = '\0';
			snprintf(tell, tsz, "the user said no: %s", line);
			fclose(tty);
			return Deny;
		}
	}
	fclose(tty);
	snprintf(tell, tsz, "no answer, so the prompt became a refusal");
	return Deny;
}

/*
 * The whole gate for one tool call: the table's decision, then the
 * human for a Prompt, then remembering what the human said.  The final
 * decision, with the reason (and anything the human told the model) in
 * v.
 */
static Decision
policygate(const char *tool, const char *arg, size_t arglen,
    const char *summary, CmdLine *cl, Verdict *v)
{
	CmdLine local;
	Decision d;

	if (cl == NULL) {
		memset(&local, 0, sizeof(local));
		cl = &local;
	}
	d = policygate1(tool, arg, arglen, summary, cl, v);
	if (cl == &local)
		cmdfree(cl);
	return d;
}

static Decision
policygate1(const char *tool, const char *arg, size_t arglen,
    const char *summary, CmdLine *cl, Verdict *v)
{
	Buf subj;
	char tell[600], *key;
	size_t len;
	int scope, i;
	Decision d;

	if (policydecide(tool, arg, arglen, cl, v) != Prompt)
		return v->d;
	bufinit(&subj, 0);
	if (strcmp(tool, "run_command") == 0) {
		bufadd(&subj, arg, arglen);
	} else {
		bufaddstr(&subj, arg ? arg : "");
		if (summary) {
			bufaddstr(&subj, ": ");
			bufaddstr(&subj, summary);
		}
	}
	d = approve(tool, subj.p, v->why, &scope, tell, sizeof(tell));
	buffree(&subj);
	if (d == Deny) {
		v->d = Deny;
		snprintf(v->why + strlen(v->why), sizeof(v->why) -
		    strlen(v->why), " (%s)", tell);
		return Deny;
	}
	v->d = Allow;
	if (scope == 0)
		return Allow;
	/* remember the exact thing approved: each argv of the line, or the
	 * tool on that path */
	if (strcmp(tool, "run_command") == 0) {
		for (i = 0; i < cl->n; i++) {
			if (approved(tool, cl->st[i].argv, cl->st[i].argc, NULL))
				continue;
			key = approvalkey(cl->st[i].argv, cl->st[i].argc, NULL,
			    &len);
			approvaladd(tool, key, len, scope == 2);
		}
	} else if (!approved(tool, NULL, 0, arg)) {
		key = approvalkey(NULL, 0, arg, &len);
		approvaladd(tool, key, len, scope == 2);
	}
	if (scope == 2 && approvalssave() != 0)
		warnx("tool-policy.json: %s: the approval holds for this "
		    "session only", strerror(errno));
	return Allow;
}

/*
 * The policy command: what the table decides, and the table itself.
 */

/* print w for a human: printable ASCII and UTF-8 as they are; control
 * bytes (an escape sequence would act on the terminal) as \xNN, C1
 * controls and bidirectional overrides as \u{NNNN} */
static void
putsafe(FILE *fp, const char *w)
{
	const unsigned char *s = (const unsigned char *)w;
	size_t i, n = strlen(w);
	uint32_t cp;
	int k;

	for (i = 0; i < n; i++) {
		k = 0;
		if (s[i] >= 0x80 && (k = utf8dec(s + i, n - i, &cp)) > 0 &&
		    (cp >= 0x202A && cp <= 0x202E ? 0 : cp >= 0x2066 &&
		    cp <= 0x2069 ? 0 : cp == 0x200E || cp == 0x200F ? 0 :
		    !(cp >= 0x80 && cp < 0xA0))) {
			fwrite(s + i, 1, (size_t)k, fp);
			i += (size_t)k - 1;
		} else if (s[i] >= 0x80 && k > 0) {
			/* bidirectional overrides would reorder what the
			 * human reads ("Trojan Source") */
			fprintf(fp, "\\u{%04lx}", (unsigned long)cp);
			i += (size_t)k - 1;
		} else if (s[i] < 0x20 || s[i] >= 0x7F) {
			fprintf(fp, "\\x%02x", s[i]);
		} else {
			fputc(s[i], fp);
		}
	}
}

/* an argv as one line a shell user could read back */
static void
putargv(FILE *fp, char **argv, int argc)
{
	const char *p, *q;
	int i;

	for (i = 0; i < argc; i++) {
		if (i > 0)
			fputc(' ', fp);
		if (argv[i][0] != '\0' && argv[i][strspn(argv[i],
		    CMDNAMECHARS "/=,:@%^")] == '\0') {
			putsafe(fp, argv[i]);
			continue;
		}
		fputc('\'', fp);
		for (p = argv[i]; (q = strchr(p, '\'')) != NULL; p = q + 1) {
			fwrite(p, 1, (size_t)(q - p), fp);
			fputs("'\\''", fp);
		}
		putsafe(fp, p);
		fputc('\'', fp);
	}
}

/* the absolute path that name resolves to through SYSPATH, or NULL */
static const char *
cmdpath(const char *name, char *out, size_t sz)
{
	const char *p = SYSPATH, *e;
	struct stat st;
	int n;

	for (; *p != '\0'; p = *e ? e + 1 : e) {
		e = p + strcspn(p, ":");
		n = snprintf(out, sz, "%.*s/%s", (int)(e - p), p, name);
		if (n < 0 || (size_t)n >= sz)
			continue;
		if (stat(out, &st) == 0 && S_ISREG(st.st_mode) &&
		    access(out, X_OK) == 0)
			return out;
	}
	return NULL;
}

/* the decision in force for a row and where its strictest part came
 * from: config.h, or a runtime config that tightened it */
static Decision
rowforce(int kind, const char *name, Decision d, const char **from)
{
	int i;

	*from = "config.h";
	for (i = 0; i < noverrides; i++) {
		if (overrides[i].kind != kind ||
		    strcmp(overrides[i].name, name) != 0 || overrides[i].d < d)
			continue;
		d = overrides[i].d;
		*from = overrides[i].origin == OriginUser ? "user" :
		    "workspace";
	}
	return d;
}

static void
policyshow(void)
{
	const char *from;
	char why[PATH_MAX + 128];
	Decision d;
	size_t i;
	int k, trusted;

	why[0] = '\0';
	trusted = wstrusted(why, sizeof(why));
	printf("workspace: %s (%s: %s)\n", wsroot, trusted ? "trusted" :
	    "not trusted", why);
	printf("user config: %s (%s)\n", cfgfile[OriginUser][0] ?
	    cfgfile[OriginUser] : "none", cfgloaded[OriginUser] ? "read" :
	    "absent");
	printf("workspace config: %s (%s)\n\n", cfgfile[OriginWorkspace],
	    !trusted ? "ignored: the workspace is not trusted" :
	    cfgloaded[OriginWorkspace] ? "read" : "absent");
	printf("%-12s %-7s %-9s %s\n", "TOOL", "DECIDES", "FROM", "WHY");
	for (i = 0; i < LEN(toolrules); i++) {
		d = rowforce(OvTool, toolrules[i].tool, toolrules[i].decision,
		    &from);
		printf("%-12s %-7s %-9s %s\n", toolrules[i].tool, decname(d),
		    from, toolrules[i].reason);
	}
	printf("\n%-12s %-7s %-9s %s\n", "COMMAND", "DECIDES", "FROM", "WHY");
	for (i = 0; i < LEN(cmdrules); i++) {
		d = rowforce(OvCommand, cmdrules[i].name, cmdrules[i].decision,
		    &from);
		printf("%-12s %-7s %-9s %s\n", cmdrules[i].name, decname(d),
		    from, cmdrules[i].reason);
	}
	/* rows that only the runtime config has: commands it denies or
	 * asks about, options it forbids */
	for (k = 0; k < noverrides; k++) {
		if (overrides[k].kind == OvCommand) {
			for (i = 0; i < LEN(cmdrules); i++)
				if (strcmp(cmdrules[i].name,
				    overrides[k].name) == 0)
					break;
			if (i < LEN(cmdrules))
				continue;
			printf("%-12s %-7s %-9s added by %s:%d\n",
			    overrides[k].name, decname(overrides[k].d),
			    overrides[k].origin == OriginUser ? "user" :
			    "workspace", cfgfile[overrides[k].origin],
			    overrides[k].line);
		} else if (overrides[k].kind == OvForbid) {
			printf("%-12s %-7s %-9s forbids", overrides[k].name,
			    "deny", overrides[k].origin == OriginUser ?
			    "user" : "workspace");
			for (i = 0; i < (size_t)overrides[k].nopts; i++)
				printf(" %s", overrides[k].opts[i]);
			printf(" (%s:%d)\n", cfgfile[overrides[k].origin],
			    overrides[k].line);
		}
	}
	for (k = 0; k < napprovals; k++) {
		const char *p, *end;

		if (k == 0)
			printf("\n%-12s %-7s %-9s %s\n", "REMEMBERED",
			    "DECIDES", "FROM", "WHAT");
		printf("%-12s %-7s %-9s ", approvals[k].tool, "allow",
		    "approval");
		end = approvals[k].key + approvals[k].len - 1;
		for (p = approvals[k].key; p < end; p += strlen(p) + 1) {
			putsafe(stdout, p);
			putchar(p + strlen(p) + 1 < end ? ' ' : '\n');
		}
		if (approvals[k].len <= 1)
			putchar('\n');
	}
	printf("\nother commands: run_command's row; commands are looked "
	    "up in %s only\n", SYSPATH);
}

/* print one stage's argv as it would run, resolved through SYSPATH */
static void
policystage(char **argv, int argc)
{
	char path[PATH_MAX];

	fputs("  argv: ", stdout);
	if (strchr(argv[0], '/') == NULL && cmdpath(argv[0], path,
	    sizeof(path)) != NULL) {
		putsafe(stdout, path);
		if (argc > 1)
			fputc(' ', stdout);
		putargv(stdout, argv + 1, argc - 1);
	} else {
		putargv(stdout, argv, argc);
		fputs("   (not found in " SYSPATH ")", stdout);
	}
	fputc('\n', stdout);
}

/* vtcode policy show | check -- ARGV... | check STRING */
static int
cmdpolicy(int argc, char *argv[])
{
	CmdLine cl;
	Verdict v;
	int i;

	if ((argc != 2 || strcmp(argv[1], "show") != 0) && (argc < 3 ||
	    strcmp(argv[1], "check") != 0 ||
	    (strcmp(argv[2], "--") != 0 && argc != 3) ||
	    (strcmp(argv[2], "--") == 0 && argc < 4)))
		return usageerr("policy: show | check -- ARGV... | check STRING");
	wsinit();
	configload();
	if (argc == 2) {
		policyshow();
		return fflush(stdout) == 0 ? ExitOK : ExitFail;
	}
	memset(&v, 0, sizeof(v));
	memset(&cl, 0, sizeof(cl));
	if (strcmp(argv[2], "--") == 0) {
		if (policydecideargv(argv + 3, argc - 3, &v) != Deny)
			policystage(argv + 3, argc - 3);
	} else {
		policydecide("run_command", argv[2], strlen(argv[2]), &cl, &v);
		for (i = 0; i < cl.n; i++)
			policystage(cl.st[i].argv, cl.st[i].argc);
		cmdfree(&cl);
	}
	printf("%s: ", decname(v.d));
	putsafe(stdout, v.why);
	putchar('\n');
	if (fflush(stdout) != 0)
		return ExitFail;
	return v.d == Allow ? 0 : v.d == Prompt ? 1 : 2;
}

/*
 * sandbox: the kernel walls around every command, put up in the child
 * between fork() and execve(), seccomp last.  If a wall that config.h
 * makes mandatory cannot be put up, the command does not run.
 *
 * Landlock is driven by raw syscalls (Debian 12's headers stop at ABI
 * 1), probed, capped by VTCODE_LANDLOCK_ABI_MAX for the tests, and
 * degraded one ABI step at a time as the kernel sample does.  The
 * command may read and execute the system directories config.h lists,
 * read, write and execute the workspace and a private per-session temp
 * dir, use a few devices and its own pty, and nothing else: not $HOME,
 * not the rest of /etc, no TCP (ABI >= 4), no abstract unix sockets or
 * signals outside its domain (ABI >= 6).
 */

#define LL_SYS_CREATE   444
#define LL_SYS_ADD      445
#define LL_SYS_RESTRICT 446
#define LL_VERSION      1U
#define LL_PATH_BENEATH 1
#define LLF_EXECUTE     (1ULL << 0)
#define LLF_WRITE_FILE  (1ULL << 1)
#define LLF_READ_FILE   (1ULL << 2)
#define LLF_READ_DIR    (1ULL << 3)
#define LLF_ABI1        ((1ULL << 13) - 1)      /* EXECUTE .. MAKE_SYM */
#define LLF_REFER       (1ULL << 13)            /* ABI 2 */
#define LLF_TRUNCATE    (1ULL << 14)            /* ABI 3 */
#define LLF_IOCTL_DEV   (1ULL << 15)            /* ABI 5 */
#define LLF_FILE        (LLF_EXECUTE | LLF_WRITE_FILE | LLF_READ_FILE | \
                         LLF_TRUNCATE | LLF_IOCTL_DEV)
#define LLN_BIND_TCP    (1ULL << 0)             /* ABI 4 */
#define LLN_CONNECT_TCP (1ULL << 1)
#define LLS_ABSTRACT    (1ULL << 0)             /* ABI 6 */
#define LLS_SIGNAL      (1ULL << 1)

struct llruleset {
	uint64_t fs, net, scoped;
};

/* the kernel reads 12 bytes: the padding after fd is never looked at */
struct llpath {
	uint64_t allowed;
	int32_t fd;
};

/* the Landlock ABI in force: the kernel's, capped by the environment */
static int
sbxabi(void)
{
	long v;
	const char *cap = getenv("VTCODE_LANDLOCK_ABI_MAX");
	char *end;
	long c;

#if defined(__linux__)
	v = syscall(LL_SYS_CREATE, NULL, 0, LL_VERSION);
#else
	v = -1;
#endif
	if (v < 0)
		return 0;
	if (cap != NULL && *cap != '\0') {
		c = strtol(cap, &end, 10);
		if (*end == '\0' && c >= 0 && c < v)
			v = c;
	}
	return (int)v;
}

/* allow rights on path (missing paths are skipped: not every system has
 * /lib64); files get only the rights that make sense for files */
static int
sbxrule(int rfd, const char *path, uint64_t rights, uint64_t handled)
{
	struct llpath pb;
	struct stat st;
	int fd, rc;

	if ((fd = open(path, O_PATH | O_CLOEXEC)) < 0)
		return errno == ENOENT ? 0 : -1;
	if (fstat(fd, &st) != 0) {
		close(fd);
		return -1;
	}
	memset(&pb, 0, sizeof(pb));
	pb.allowed = rights & handled & (S_ISDIR(st.st_mode) ? ~0ULL :
	    LLF_FILE);
	pb.fd = fd;
	rc = (int)syscall(LL_SYS_ADD, rfd, LL_PATH_BENEATH, &pb, 0);
	close(fd);
	return rc;
}

/* Landlock for the child; 0, or -1 with the step that failed in why */
static int
sbxlandlock(int abi, const char *tmpdir, const char *pty, int net,
    char *why, size_t wsz)
{
	struct llruleset rs;
	uint64_t fs = LLF_ABI1, dev;
	size_t sz = sizeof(uint64_t), i;
	int rfd;

	/* degrade one ABI step at a time, as samples/landlock does */
	if (abi >= 2)
		fs |= LLF_REFER;
	if (abi >= 3)
		fs |= LLF_TRUNCATE;
	if (abi >= 5)
		fs |= LLF_IOCTL_DEV;
	memset(&rs, 0, sizeof(rs));
	rs.fs = fs;
	if (abi >= 4) {
		rs.net = net ? 0 : LLN_BIND_TCP | LLN_CONNECT_TCP;
		sz = 2 * sizeof(uint64_t);
	}
	if (abi >= 6) {
		rs.scoped = LLS_ABSTRACT | LLS_SIGNAL;
		sz = 3 * sizeof(uint64_t);
	}
	if ((rfd = (int)syscall(LL_SYS_CREATE, &rs, sz, 0)) < 0) {
		snprintf(why, wsz, "landlock_create_ruleset: %s", strerror(errno));
		return -1;
	}
	dev = LLF_READ_FILE | LLF_WRITE_FILE;
	for (i = 0; i < LEN(sbxreadexec); i++)
		if (sbxrule(rfd, sbxreadexec[i], LLF_EXECUTE | LLF_READ_FILE |
		    LLF_READ_DIR, fs) != 0)
			goto fail;
	for (i = 0; i < LEN(sbxdevices); i++)
		if (sbxrule(rfd, sbxdevices[i], dev, fs) != 0)
			goto fail;
	if (sbxrule(rfd, wsroot, fs, fs) != 0 ||
	    sbxrule(rfd, tmpdir, fs, fs) != 0 ||
	    sbxrule(rfd, pty, dev | LLF_IOCTL_DEV, fs) != 0)
		goto fail;
	if (syscall(LL_SYS_RESTRICT, rfd, 0) != 0) {
		snprintf(why, wsz, "landlock_restrict_self: %s",
		    strerror(errno));
		close(rfd);
		return -1;
	}
	close(rfd);
	return 0;
fail:
	snprintf(why, wsz, "landlock_add_rule: %s", strerror(errno));
	close(rfd);
	return -1;
}

/*
 * seccomp for the child: allow by default, refuse the calls that reach
 * past the walls Landlock draws (network, other processes' memory,
 * namespaces, mounts, the kernel's keyrings and BPF), io_uring (a second
 * syscall table), and ioctls that type into the terminal.  Non-native
 * ABIs (x32, i386) kill the process: a filter written for one syscall
 * table says nothing about another.
 */
static int
sbxseccomp(int net, int abi, char *why, size_t wsz)
{
	static const int deny[] = {
		SCMP_SYS(io_uring_setup), SCMP_SYS(io_uring_enter),
		SCMP_SYS(io_uring_register), SCMP_SYS(ptrace),
		SCMP_SYS(process_vm_readv), SCMP_SYS(process_vm_writev),
		SCMP_SYS(pidfd_getfd), SCMP_SYS(mount), SCMP_SYS(umount2),
		SCMP_SYS(pivot_root), SCMP_SYS(chroot), SCMP_SYS(open_tree),
		SCMP_SYS(move_mount), SCMP_SYS(fsopen), SCMP_SYS(fsconfig),
		SCMP_SYS(fsmount), SCMP_SYS(fspick), SCMP_SYS(mount_setattr),
		SCMP_SYS(setns), SCMP_SYS(keyctl), SCMP_SYS(add_key),
		SCMP_SYS(request_key), SCMP_SYS(bpf), SCMP_SYS(perf_event_open),
		SCMP_SYS(userfaultfd), SCMP_SYS(kexec_load),
		SCMP_SYS(kexec_file_load), SCMP_SYS(init_module),
		SCMP_SYS(finit_module), SCMP_SYS(delete_module),
	};
	static const int netcalls[] = {
		SCMP_SYS(connect), SCMP_SYS(bind), SCMP_SYS(listen),
		SCMP_SYS(accept), SCMP_SYS(accept4),
	};
	scmp_filter_ctx ctx;
	size_t i;
	int rc = 0;

	if ((ctx = seccomp_init(SCMP_ACT_ALLOW)) == NULL) {
		snprintf(why, wsz, "seccomp_init failed");
		return -1;
	}
	rc |= seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH,
	    SCMP_ACT_KILL_PROCESS);
	for (i = 0; i < LEN(deny); i++)
		rc |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), deny[i], 0);
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3),
	    0);
	/* before Landlock ABI 3, truncate(2) on a path is not a write it
	 * checks: refuse it (ftruncate needs a file opened for writing) */
	if (abi < 3)
		rc |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES),
		    SCMP_SYS(truncate), 0);
	/* new user namespaces: the door to every other namespace */
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(unshare),
	    1, SCMP_A0_64(SCMP_CMP_MASKED_EQ, CLONE_NEWUSER, CLONE_NEWUSER));
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone),
	    1, SCMP_A0_64(SCMP_CMP_MASKED_EQ, CLONE_NEWUSER, CLONE_NEWUSER));
	/* the kernel reads ioctl's request as 32 bits: mask, or a high bit
	 * would walk past an equality test */
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl),
	    1, SCMP_A1_64(SCMP_CMP_MASKED_EQ, 0xFFFFFFFFULL, TIOCSTI));
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl),
	    1, SCMP_A1_64(SCMP_CMP_MASKED_EQ, 0xFFFFFFFFULL, TIOCLINUX));
	/* personality flags that turn off ASLR or make data executable */
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM),
	    SCMP_SYS(personality), 1, SCMP_A0_64(SCMP_CMP_MASKED_EQ,
	    0x0040000ULL, 0x0040000ULL));
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM),
	    SCMP_SYS(personality), 1, SCMP_A0_64(SCMP_CMP_MASKED_EQ,
	    0x0400000ULL, 0x0400000ULL));
	if (!net) {
		/* any family but AF_UNIX; a 64-bit "not equal" also refuses
		 * AF_UNIX with high bits set, so no high bit hides AF_INET */
		rc |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM),
		    SCMP_SYS(socket), 1, SCMP_A0_64(SCMP_CMP_NE, AF_UNIX));
		for (i = 0; i < LEN(netcalls); i++)
			rc |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM),
			    netcalls[i], 0);
	}
	if (rc != 0 || seccomp_load(ctx) != 0) {
		snprintf(why, wsz, "seccomp: cannot build or load the filter");
		seccomp_release(ctx);
		return -1;
	}
	seccomp_release(ctx);
	return 0;
}

/*
 * Protected paths (config.h's protectedpaths) are read-only to commands
 * even though the workspace around them is writable, which Landlock
 * cannot express.  So vtcode, once, before it runs the first command,
 * enters a private user and mount namespace (before any Landlock: a
 * Landlock-restricted process can never mount again) and binds each
 * protected path onto itself read-only; every command inherits that
 * view, and vtcode's own write tools refuse those paths anyway.  A
 * bind of .git/hooks alone would not do: `mv .git g` and a new .git
 * would get round it; so .git itself is bound too, and a mount point
 * cannot be renamed or removed (EBUSY).  A .git that is a pointer file
 * ("gitdir: ...") has its target's hooks and config protected as well.
 * A missing .git/hooks inside an existing .git is created first, so it
 * cannot be created by the command.
 */

/* write s to a /proc file of our own */
static int
putfile(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), rc;

	if (fd < 0)
		return -1;
	rc = write(fd, s, strlen(s)) == (ssize_t)strlen(s) ? 0 : -1;
	close(fd);
	return rc;
}

/* bind path onto itself; read-only unless rw.  Flags the original mount
 * has locked (nosuid, nodev, noexec) must be kept in a user namespace */
static int
sbxbind(const char *path, int rw)
{
	struct statvfs sv;
	unsigned long fl = MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV;

	if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) != 0)
		return -1;
	if (rw)
		return 0;
	if (statvfs(path, &sv) == 0) {
		if (sv.f_flag & ST_NOEXEC)
			fl |= MS_NOEXEC;
		if (sv.f_flag & ST_NOATIME)
			fl |= MS_NOATIME;
		if (sv.f_flag & ST_NODIRATIME)
			fl |= MS_NODIRATIME;
		if (sv.f_flag & ST_RELATIME)
			fl |= MS_RELATIME;
	}
	return mount(NULL, path, NULL, fl | MS_RDONLY, NULL);
}

static int
sbxprotect(char *why, size_t wsz)
{
	char path[2 * PATH_MAX + 16], git[PATH_MAX + 16], map[64];
	char buf[PATH_MAX], gd[PATH_MAX];
	struct stat st;
	uid_t uid = getuid();
	gid_t gid = getgid();
	size_t i;
	ssize_t n;
	int fd;

	/* writing our own uid_map takes a dumpable process; the moment is
	 * no wider than the one before harden() ran, and nothing has been
	 * read since that was not already in memory then */
	if (geteuid() != 0 && prctl(PR_SET_DUMPABLE, 1L, 0L, 0L, 0L) != 0)
		goto fail;
	if (unshare(geteuid() == 0 ? CLONE_NEWNS : CLONE_NEWUSER |
	    CLONE_NEWNS) != 0) {
		snprintf(why, wsz, "protected paths need a private mount "
		    "namespace (unprivileged user namespaces): %s",
		    strerror(errno));
		prctl(PR_SET_DUMPABLE, 0L, 0L, 0L, 0L);
		return -1;
	}
	if (uid != 0) {
		/* the same ids inside, so files look as they do outside */
		snprintf(map, sizeof(map), "%lu %lu 1\n", (unsigned long)uid,
		    (unsigned long)uid);
		if (putfile("/proc/self/setgroups", "deny") != 0 && errno !=
		    ENOENT)
			goto fail;
		if (putfile("/proc/self/uid_map", map) != 0)
			goto fail;
		snprintf(map, sizeof(map), "%lu %lu 1\n", (unsigned long)gid,
		    (unsigned long)gid);
		if (putfile("/proc/self/gid_map", map) != 0)
			goto fail;
		if (prctl(PR_SET_DUMPABLE, 0L, 0L, 0L, 0L) != 0)
			die("prctl PR_SET_DUMPABLE:");
	}
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
		goto fail;
	/*
	 * .git: the whole directory read-only.  A list of the files in it
	 * that decide what git runs (config, hooks, commondir,
	 * config.worktree, modules/, worktrees/ ...) could never be
	 * complete, so git commands that write the repository fail in the
	 * sandbox (the table asks about them anyway).  A pointer file's
	 * target inside the workspace gets the same; one outside is
	 * read-only under Landlock already.  A .git, or any protected path,
	 * that is a symlink cannot be pinned: nothing runs.
	 */
	snprintf(git, sizeof(git), "%s/.git", wsroot);
	for (i = 0; i < LEN(quarantined); i++) {
		snprintf(path, sizeof(path), "%s/%s", wsroot, quarantined[i]);
		existed[i] = lstat(path, &st) == 0;
	}
	if (lstat(git, &st) == 0) {
		if (S_ISLNK(st.st_mode)) {
			snprintf(why, wsz, "%.300s is a symbolic link: protected "
			    "paths cannot be pinned, refusing to run", git);
			return -1;
		}
		if (S_ISREG(st.st_mode) && (fd = open(git, O_RDONLY |
		    O_NOFOLLOW | O_CLOEXEC)) >= 0) {
			n = read(fd, buf, sizeof(buf) - 1);
			close(fd);
			buf[n > 0 ? n : 0] = '\0';
			buf[strcspn(buf, "\r\n")] = '\0';
			if (strncmp(buf, "gitdir: ", 8) == 0 &&
			    snprintf(path, sizeof(path), "%s%s%s", buf[8] == '/' ?
			    "" : wsroot, buf[8] == '/' ? "" : "/", buf + 8) > 0 &&
			    realpath(path, gd) != NULL && wsbeneath(gd) &&
			    snprintf(path, sizeof(path), "%s/HEAD", gd) > 0 &&
			    lstat(path, &st) == 0 && sbxbind(gd, 0) != 0)
				goto fail;
		}
		if (sbxbind(git, 0) != 0)
			goto fail;
	}
	for (i = 0; i < LEN(protectedpaths); i++) {
		snprintf(path, sizeof(path), "%s/%s", wsroot,
		    protectedpaths[i]);
		if (lstat(path, &st) != 0)
			continue;
		if (S_ISLNK(st.st_mode)) {
			snprintf(why, wsz, "%.300s is a symbolic link: protected "
			    "paths cannot be pinned, refusing to run", path);
			return -1;
		}
		if (sbxbind(path, 0) != 0)
			goto fail;
	}
	/* vtcode needs none of the capabilities the namespace gave it */
	if (runcaps() != 0)
		goto fail;
	return 0;
fail:
	snprintf(why, wsz, "protected paths: %s", strerror(errno));
	prctl(PR_SET_DUMPABLE, 0L, 0L, 0L, 0L);
	return -1;
}

/*
 * A protected directory that was not there when the namespace was made
 * could not be bound, so a command may create one: `git init` and a
 * config with core.fsmonitor, say, for the user's next git to run.  So
 * after every command, one that appeared is moved aside (renamed, never
 * deleted) to an inert name, and the output says so.
 */
static void
sbxquarantine(Buf *out)
{
	char from[PATH_MAX + 32], to[PATH_MAX + 64], hex[17];
	unsigned char rnd[8];
	struct stat st;
	size_t i;

	for (i = 0; i < LEN(quarantined); i++) {
		snprintf(from, sizeof(from), "%s/%s", wsroot, quarantined[i]);
		if (existed[i] || lstat(from, &st) != 0)
			continue;
		randbytes(rnd, sizeof(rnd));
		hexenc(rnd, sizeof(rnd), hex);
		snprintf(to, sizeof(to), "%s/%s.vtcode-quarantine-%s", wsroot,
		    quarantined[i], hex);
		if (rename(from, to) == 0)
			bufaddf(out, "\n[vtcode: the command created %s, which "
			    "vtcode could not protect; it was moved to %s]\n",
			    quarantined[i], to + strlen(wsroot) + 1);
		else
			bufaddf(out, "\n[vtcode: the command created %s and it "
			    "could not be moved aside (%s): do not run git "
			    "there before you look at it]\n", quarantined[i],
			    strerror(errno));
	}
}

/*
 * runner: one command on its own pty, in its own session, with the
 * fixed environment, rlimits, no capabilities, no_new_privs and the
 * sandbox; output read with a wall-clock timeout and kept within
 * RUNMAXOUTPUT (head and tail); and when it ends, every process it
 * started ends too: vtcode is a child subreaper, so even a setsid'd
 * double fork comes back to it and is killed.
 */

/* the private per-session temp dir, HOME and TMPDIR of every command */
static const char *
runtmp(void)
{
	static char dir[64];

	if (dir[0] == '\0') {
		snprintf(dir, sizeof(dir), "/tmp/vtcode-XXXXXX");
		if (mkdtemp(dir) == NULL)
			die("mkdtemp /tmp/vtcode-XXXXXX:");
	}
	return dir;
}

/* remove what commands left in the temp dir, without following links */
static void
rmtree(int dfd, const char *name)
{
	DIR *d;
	struct dirent *e;
	int fd;

	if (unlinkat(dfd, name, 0) == 0 || errno == ENOENT)
		return;
	if ((fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			rmtree(dirfd(d), e->d_name);
	closedir(d);
	unlinkat(dfd, name, AT_REMOVEDIR);
}

static void
runtmpclean(void)
{
	const char *t = runtmp();

	rmtree(AT_FDCWD, t);
}

/* the capabilities root (or the user namespace) would carry into the
 * command: all of them, bounding and ambient sets too */
static int
runcaps(void)
{
	struct { uint32_t version; int pid; } hdr = { 0x20080522, 0 };
	struct { uint32_t eff, perm, inh; } data[2];
	int c;

	/* root, or anyone inside the user namespace sbxprotect() made */
	for (c = 0; c < 64; c++)
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) != 0 && errno == EINVAL)
			break;
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	memset(data, 0, sizeof(data));
	return (int)syscall(SYS_capset, &hdr, data);
}

/* in the child: report why it could not exec on fd 3, then go */
static void
runfail(const char *step, const char *why)
{
	char msg[512];
	int n;

	n = snprintf(msg, sizeof(msg), "%s: %s", step, why);
	if (n > 0 && write(3, msg, (size_t)MIN((size_t)n, sizeof(msg) - 1)) <
	    0)
		_exit(127);
	_exit(127);
}

/* the child, from fork() to execve() */
static void
runchild(char *const argv[], const char *workdir, int net, int abi,
    int slave, const char *pty, int errfd, int in, int out, int leader)
{
	static const struct { int res; rlim_t lim; } lims[] = {
		{ RLIMIT_CPU, RLIMCPU }, { RLIMIT_AS, RLIMAS },
		{ RLIMIT_FSIZE, RLIMFSIZE }, { RLIMIT_NOFILE, RLIMNOFILE },
		{ RLIMIT_NPROC, RLIMNPROC }, { RLIMIT_CORE, 0 },
	};
	char *env[LEN(runenv) + 6], home[80], tmp[80], why[256];
	struct rlimit rl;
	struct sigaction sa;
	size_t i, n = 0;
	const char *v;
	int s;

	int fds[4], k;

	/* lift every fd out of the way before any lands on 0-3 */
	fds[0] = in;
	fds[1] = out;
	fds[2] = slave;
	fds[3] = errfd;
	for (k = 0; k < 4; k++)
		if ((fds[k] = fcntl(fds[k], F_DUPFD, 10)) < 0)
			_exit(127);
	for (k = 0; k < 4; k++)
		if (dup2(fds[k], k) != k)
			_exit(127);
	if (fcntl(3, F_SETFD, FD_CLOEXEC) != 0)
		_exit(127);
	hardenclosefrom(4);
	/* a session of its own; the first stage of a pipeline also takes
	 * the pty as its controlling terminal (a pty can have only one) */
	if (setsid() < 0 || (leader && ioctl(2, TIOCSCTTY, 0) != 0))
		runfail("pty", strerror(errno));
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (s = 1; s < NSIG; s++)
		sigaction(s, &sa, NULL);
	sigemptyset(&sa.sa_mask);
	sigprocmask(SIG_SETMASK, &sa.sa_mask, NULL);
	if (chdir(workdir) != 0)
		runfail(workdir, strerror(errno));
	umask(origumask);
	for (i = 0; i < LEN(runenv); i++)
		env[n++] = (char *)runenv[i];
	snprintf(home, sizeof(home), "HOME=%s", runtmp());
	snprintf(tmp, sizeof(tmp), "TMPDIR=%s", runtmp());
	env[n++] = home;
	env[n++] = tmp;
	/* "LANG=..." as it sits in environ */
	if ((v = getenv("LANG")) != NULL && strlen(v) < 64)
		env[n++] = (char *)(v - 5);
	if ((v = getenv("LC_ALL")) != NULL && strlen(v) < 64)
		env[n++] = (char *)(v - 7);
	env[n] = NULL;
	if (runcaps() != 0)
		runfail("dropping capabilities", strerror(errno));
	if (prctl(PR_SET_NO_NEW_PRIVS, 1L, 0L, 0L, 0L) != 0)
		runfail("no_new_privs", strerror(errno));
	if (abi < SBXLANDLOCKMIN)
		runfail("sandbox", "Landlock is not available (needs Linux "
		    "5.13 with CONFIG_SECURITY_LANDLOCK and lsm=landlock): "
		    "refusing to run unsandboxed");
	if (abi > 0 && sbxlandlock(abi, runtmp(), pty, net, why,
	    sizeof(why)) != 0)
		runfail("sandbox", why);
	if (sbxseccomp(net, abi, why, sizeof(why)) != 0) {
		if (SBXSECCOMP)
			runfail("sandbox", why);
	}
	/* limits last: nothing allocates after them, so a tight address
	 * space limit cannot trip vtcode's own code in the child */
	for (i = 0; i < LEN(lims); i++) {
		rl.rlim_cur = rl.rlim_max = lims[i].lim;
		if (setrlimit(lims[i].res, &rl) != 0)
			runfail("setrlimit", strerror(errno));
	}
	execve(argv[0], argv, env);
	runfail(argv[0], strerror(errno));
}

/* keep the head and the tail of what a command writes */
static void
runkeep(RunResult *r, const char *p, size_t n)
{
	size_t half = RUNMAXOUTPUT / 2, k;

	r->total += n;
	if (r->out.len < half) {
		k = MIN(n, half - r->out.len);
		bufadd(&r->out, p, k);
		p += k;
		n -= k;
	}
	for (; n > 0; n--, p++) {
		r->tail[r->tailpos++ % half] = *p;
		r->taillen = MIN(r->taillen + 1, half);
	}
}

/* SIGKILL every child of vtcode; 1 if there was one.  The kernel's
 * list of our children when it has one (CONFIG_PROC_CHILDREN), else a
 * scan of /proc for processes whose parent we are */
static int
runkillkids(void)
{
	char path[64], buf[8192], *p, *end;
	pid_t me = getpid(), pid;
	struct dirent *e;
	long ppid;
	ssize_t n;
	int fd, any = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/self/task/%ld/children", (long)me);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		buf[n > 0 ? n : 0] = '\0';
		for (p = buf; (pid = (pid_t)strtol(p, &end, 10)) > 0; p = end)
			any |= kill(pid, SIGKILL) == 0;
		return any;
	}
	if ((d = opendir("/proc")) == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		pid = (pid_t)strtol(e->d_name, &p, 10);
		if (*p != '\0' || pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		/* "pid (comm) state ppid ...": comm may hold spaces */
		if ((p = strrchr(buf, ')')) != NULL &&
		    sscanf(p + 1, " %*c %ld", &ppid) == 1 && ppid == me)
			any |= kill(pid, SIGKILL) == 0;
	}
	closedir(d);
	return any;
}

/* kill and reap every process that ended up ours: the command's group,
 * and anything that left it and was reparented here (the subreaper) */
static void
runreap(pid_t pgid)
{
	int rounds;

	kill(-pgid, SIGKILL);
	for (rounds = 0; rounds < 10000; rounds++) {
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		if (!runkillkids() && waitpid(-1, NULL, WNOHANG) <= 0)
			break;
		waitpid(-1, NULL, 0);
	}
}

static long
nowms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* read the pty until the last stage exits or time runs out; its
 * wait status in *status, 1 if it exited, 0 on a timeout */
static int
runloop(int master, pid_t *pids, int n, long deadline, RunResult *r,
    int *status)
{
	struct pollfd pfd[2];
	char buf[65536];
	long killat = 0, now, wait;
	pid_t last = pids[n - 1];
	size_t drained;
	ssize_t k;
	int i, done = 0;

	/* the pty for output, a pidfd for the exit: no naps, no polling */
	pfd[0].fd = master;
	pfd[0].events = POLLIN;
	pfd[1].fd = (int)syscall(SYS_pidfd_open, last, 0);
	pfd[1].events = POLLIN;
	while (!done) {
		now = nowms();
		wait = (killat ? killat : deadline) - now;
		if (wait <= 0) {
			if (r->timedout)
				break;
			for (i = 0; i < n; i++)
				kill(-pids[i], SIGTERM);
			r->timedout = 1;
			killat = now + RUNGRACEMS;
			continue;
		}
		/* without a pidfd (before Linux 5.3), short naps once the
		 * pty is closed */
		if (poll(pfd, 2, (int)MIN(wait, pfd[1].fd < 0 && pfd[0].fd < 0 ?
		    1 : 250)) > 0 && (pfd[0].revents & (POLLIN | POLLHUP |
		    POLLERR))) {
			k = read(master, buf, sizeof(buf));
			if (k > 0)
				runkeep(r, buf, (size_t)k);
			else if (k < 0 && errno != EINTR && errno != EAGAIN)
				pfd[0].fd = -1; /* EIO: every slave fd closed */
		}
		if (waitpid(last, status, WNOHANG) == last) {
			/* drain what is already there, then stop: bounded, as
			 * a grandchild may still be writing */
			pfd[0].fd = master;
			for (drained = 0; drained < RUNMAXOUTPUT &&
			    nowms() < deadline && poll(pfd, 1, 0) > 0 &&
			    (k = read(master, buf, sizeof(buf))) > 0;
			    drained += (size_t)k)
				runkeep(r, buf, (size_t)k);
			done = 1;
		}
	}
	if (pfd[1].fd >= 0)
		close(pfd[1].fd);
	return done;
}

/*
 * Run the pipeline argvs[0] | ... | argvs[n - 1] (each argv[0] an
 * absolute path) in workdir: every stage sandboxed, stderr of all and
 * stdout of the last on the pty.  0 with the outcome (the last stage's
 * status) in r, or -1 with why nothing could be started.
 */
static int
runpipe(char *const *argvs[], int n, const char *workdir, int net,
    long timeoutms, RunResult *r, char *why, size_t wsz)
{
	static int protected;
	struct termios tio;
	char buf[600], *pty;
	long start = nowms();
	int master, slave, ep[2], pp[2], in, status = 0, abi, i;
	pid_t pids[MAXCMDSTAGES];
	ssize_t k;

	memset(r, 0, sizeof(*r));
	bufinit(&r->out, 0);
	bufaddstr(&r->out, "");
	r->tail = xmalloc(RUNMAXOUTPUT / 2);
	r->status = -1;
	if (n < 1 || n > MAXCMDSTAGES) {
		snprintf(why, wsz, "a pipeline of 1 to %d commands", MAXCMDSTAGES);
		return -1;
	}
	if ((abi = sbxabi()) < SBXLANDLOCKMIN) {
		snprintf(why, wsz, "Landlock ABI %d is below the floor config.h "
		    "sets (%d): refusing to run unsandboxed", abi,
		    SBXLANDLOCKMIN);
		return -1;
	}
	if (prctl(PR_SET_CHILD_SUBREAPER, 1L, 0L, 0L, 0L) != 0)
		die("prctl PR_SET_CHILD_SUBREAPER:");
	if (!protected && sbxprotect(why, wsz) != 0)
		return -1;
	protected = 1;
	if (openpty(&master, &slave, NULL, NULL, NULL) != 0) {
		snprintf(why, wsz, "openpty: %s", strerror(errno));
		return -1;
	}
	if ((pty = ttyname(slave)) == NULL) {
		snprintf(why, wsz, "ttyname: %s", strerror(errno));
		close(master);
		close(slave);
		return -1;
	}
	fcntl(master, F_SETFD, FD_CLOEXEC);
	/* output as the command wrote it (no \r before each \n), no echo;
	 * input stays line-buffered so that the ^Ds queued below reach a
	 * command that reads its terminal as end of file, not a 2-minute
	 * wait for a human who is not there (each read takes one) */
	if (tcgetattr(slave, &tio) == 0) {
		tio.c_oflag &= ~(tcflag_t)OPOST;
		tio.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK | ECHONL);
		tcsetattr(slave, TCSANOW, &tio);
		memset(buf, tio.c_cc[VEOF], RUNEOFS);
		if (write(master, buf, RUNEOFS) != RUNEOFS)
			die("pty:");
	}
	if (pipe(ep) != 0)
		die("pipe:");
	fcntl(ep[0], F_SETFD, FD_CLOEXEC);
	for (i = 0, in = slave; i < n; i++) {
		pp[0] = pp[1] = -1;
		if (i < n - 1 && pipe(pp) != 0)
			die("pipe:");
		if ((pids[i] = fork()) < 0)
			die("fork:");
		if (pids[i] == 0) {
			close(master);
			close(ep[0]);
			if (pp[0] >= 0)
				close(pp[0]);
			runchild(argvs[i], workdir, net, abi, slave, pty, ep[1],
			    in, pp[1] >= 0 ? pp[1] : slave, i == 0);
		}
		if (in != slave)
			close(in);
		if (pp[1] >= 0)
			close(pp[1]);
		in = pp[0];
	}
	close(slave);
	close(ep[1]);
	/* anything on the pipe before EOF means an execve never happened */
	if ((k = read(ep[0], buf, sizeof(buf) - 1)) > 0) {
		buf[k] = '\0';
		snprintf(why, wsz, "%s", buf);
		close(ep[0]);
		close(master);
		runreap(pids[0]);
		return -1;
	}
	close(ep[0]);
	if (!runloop(master, pids, n, start + timeoutms, r, &status)) {
		kill(-pids[n - 1], SIGKILL);
		waitpid(pids[n - 1], &status, 0);
	}
	close(master);
	for (i = 0; i < n; i++)
		runreap(pids[i]);
	r->ms = nowms() - start;
	if (WIFEXITED(status))
		r->status = WEXITSTATUS(status);
	else if (WIFSIGNALED(status))
		r->sig = WTERMSIG(status);
	r->truncated = r->total > RUNMAXOUTPUT;
	r->abi = abi;
	return 0;
}

/* one command: a pipeline of one */
static int
runargv(char *const argv[], const char *workdir, int net, long timeoutms,
    RunResult *r, char *why, size_t wsz)
{
	char *const *one[1];

	one[0] = argv;
	return runpipe(one, 1, workdir, net, timeoutms, r, why, wsz);
}

/*
 * Run a lexed line as its operators say: stages joined by | make one
 * pipeline; && runs the next pipeline only after a success, || only
 * after a failure, ; always.  Each argv[0] is resolved through SYSPATH
 * here, never through the workspace; the rest of each argv is exactly
 * what the policy decided.  The line shares one deadline.  Output goes
 * to out; *status is the last pipeline's (124 on a timeout).
 */
static int
runline(CmdLine *cl, const char *workdir, int net, long timeoutms, Buf *out,
    int *status, char *why, size_t wsz)
{
	char ***argvs, path[PATH_MAX];
	long deadline = nowms() + timeoutms, left;
	int i = 0, j, k, op = ';', last = 0, rc = 0;
	RunResult r;

	argvs = xmalloc((size_t)cl->n * sizeof(*argvs));
	for (k = 0; k < cl->n; k++) {
		argvs[k] = xmalloc((size_t)(cl->st[k].argc + 1) *
		    sizeof(**argvs));
		memcpy(argvs[k], cl->st[k].argv, (size_t)(cl->st[k].argc + 1) *
		    sizeof(**argvs));
		argvs[k][0] = NULL;
	}
	for (; i < cl->n && rc == 0; i = j + 1) {
		for (j = i; j < cl->n - 1 && cl->op[j] == '|'; j++)
			;
		if (op == ';' || (op == '&' && last == 0) ||
		    (op == 'o' && last != 0)) {
			for (k = i; k <= j; k++) {
				if (cmdpath(cl->st[k].argv[0], path,
				    sizeof(path)) == NULL)
					break;
				free(argvs[k][0]);
				argvs[k][0] = xstrndup(path, strlen(path));
			}
			if (k <= j) {
				bufaddf(out, "vtcode: %s: not found in %s\n",
				    cl->st[k].argv[0], SYSPATH);
				last = 127;
			} else if ((left = deadline - nowms()) <= 0 ||
			    runpipe((char *const **)(argvs + i), j - i + 1,
			    workdir, net, left > 0 ? left : 1, &r, why,
			    wsz) != 0) {
				if (left <= 0)
					snprintf(why, wsz, "timed out");
				else
					runfree(&r);
				rc = -1;
			} else {
				runoutput(&r, out);
				sbxquarantine(out);
				last = r.timedout ? 124 : r.sig ? 128 + r.sig :
				    r.status;
				if (r.timedout)
					rc = 1;
				runfree(&r);
			}
		}
		op = j < cl->n - 1 ? cl->op[j] : ';';
	}
	for (k = 0; k < cl->n; k++) {
		free(argvs[k][0]);
		free(argvs[k]);
	}
	free(argvs);
	*status = last;
	return rc < 0 ? -1 : 0;
}

/* the output as kept: head, a count of what was elided, tail */
static void
runoutput(RunResult *r, Buf *b)
{
	size_t half = RUNMAXOUTPUT / 2, start, i;

	bufadd(b, r->out.p, r->out.len);
	if (r->taillen == 0)
		return;
	if (r->total > r->out.len + r->taillen)
		bufaddf(b, "\n[... %zu bytes elided ...]\n", r->total -
		    r->out.len - r->taillen);
	start = r->tailpos >= half ? r->tailpos % half : 0;
	for (i = 0; i < r->taillen; i++)
		bufaddc(b, r->tail[(start + i) % half]);
}

static void
runfree(RunResult *r)
{
	buffree(&r->out);
	free(r->tail);
	r->tail = NULL;
}

/* output for a terminal: lines and tabs kept, every other control byte
 * (an escape sequence would act on the user's terminal) shown as \xNN */
static void
putterm(FILE *fp, const char *p, size_t n)
{
	const unsigned char *s = (const unsigned char *)p;
	size_t i;

	for (i = 0; i < n; i++) {
		if ((s[i] < 0x20 && s[i] != '\n' && s[i] != '\t') ||
		    s[i] == 0x7F)
			fprintf(fp, "\\x%02x", s[i]);
		else
			fputc(s[i], fp);
	}
}

/* vtcode sandbox [--net] [--timeout MS] -- CMD [ARG...] */
static int
cmdsandbox(int argc, char *argv[])
{
	char path[PATH_MAX], why[600], **av;
	RunResult r;
	long timeout = RUNTIMEOUTMS;
	int i = 1, net = 0, rc;
	Buf out;
	char *end;

	for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
		if (strcmp(argv[i], "--net") == 0) {
			net = 1;
		} else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
			timeout = strtol(argv[++i], &end, 10);
			if (*end != '\0' || timeout <= 0 ||
			    timeout > RUNMAXTIMEOUTMS)
				return usageerr("sandbox: --timeout: 1 to %d ms",
				    RUNMAXTIMEOUTMS);
		} else {
			return usageerr("sandbox: unknown option %s", argv[i]);
		}
	}
	if (i + 1 >= argc)
		return usageerr("sandbox: usage: vtcode sandbox [--net] "
		    "[--timeout MS] -- CMD [ARG...]");
	wsinit();
	av = argv + i + 1;
	if (strchr(av[0], '/') == NULL) {
		if (cmdpath(av[0], path, sizeof(path)) == NULL) {
			warnx("sandbox: %s: not found in %s", av[0], SYSPATH);
			return 127;
		}
		av[0] = path;
	}
	if (runargv(av, wsroot, net, timeout, &r, why, sizeof(why)) != 0) {
		runtmpclean();
		warnx("sandbox: %s", why);
		runfree(&r);
		return ExitFail;
	}
	bufinit(&out, 0);
	bufaddstr(&out, "");
	runoutput(&r, &out);
	sbxquarantine(&out);
	if (isatty(1))
		putterm(stdout, out.p, out.len);
	else
		fwrite(out.p, 1, out.len, stdout);
	fflush(stdout);
	buffree(&out);
	if (r.timedout)
		warnx("sandbox: timed out after %ld ms: killed", timeout);
	else if (r.sig)
		warnx("sandbox: killed by signal %d", r.sig);
	rc = r.timedout ? 124 : r.sig ? 128 + r.sig : r.status;
	runfree(&r);
	runtmpclean();
	return rc;
}

/*
 * tools: what the model calls.  Every path a tool is given is relative
 * to the root, without "..", and opened beneath it by the kernel:
 * openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS)
 * where the kernel has it, else a walk that opens one component at a
 * time with O_NOFOLLOW.  No tool follows a symlink, so no string check
 * can be fooled by one.  Write tools refuse protected paths, keep an
 * existing file's mode and replace files atomically.
 */

/* a tool's path argument, made canonical: relative, no "..", no empty
 * or "." components.  0, or -1 with the reason in why */
static int
toolpath(const char *p, char *out, size_t sz, char *why, size_t wsz)
{
	size_t n, o = 0;
	const char *c;

	if (p[0] == '\0' || p[0] == '/' || strlen(p) > MAXTOOLPATH) {
		snprintf(why, wsz, "path must be relative to the workspace "
		    "root, not empty, at most %d bytes", MAXTOOLPATH);
		return -1;
	}
	for (c = p; *c != '\0'; c += n + (c[n] == '/')) {
		n = strcspn(c, "/");
		if (n == 0 || (n == 1 && c[0] == '.'))
			continue;
		if (n == 2 && c[0] == '.' && c[1] == '.') {
			snprintf(why, wsz, "%s: '..' is not allowed: paths stay "
			    "beneath the workspace root", p);
			return -1;
		}
		if (o + n + 2 > sz) {
			snprintf(why, wsz, "%s: path too long", p);
			return -1;
		}
		if (o > 0)
			out[o++] = '/';
		memcpy(out + o, c, n);
		o += n;
	}
	if (o == 0) {
		snprintf(why, wsz, "%s: names the workspace root itself", p);
		return -1;
	}
	out[o] = '\0';
	return 0;
}

/* is rel (canonical) a protected path or beneath one? */
static int
isprotected(const char *rel)
{
	size_t i, n;

	for (i = 0; i < LEN(protectedpaths); i++) {
		n = strlen(protectedpaths[i]);
		if (strncasecmp(rel, protectedpaths[i], n) == 0 &&
		    (rel[n] == '\0' || rel[n] == '/'))
			return 1;
	}
	return 0;
}

/*
 * Open directory rel (canonical, "" for the root) beneath the root,
 * following no symlink; with create, make what is missing.  A dirfd, or
 * -1 with the reason in why.
 */
static int
wsopendir(const char *rel, int create, char *why, size_t wsz)
{
	struct { uint64_t flags, mode, resolve; } how;
	char comp[NAME_MAX + 1];
	const char *c;
	size_t n;
	int fd, nfd;

	if ((fd = open(wsroot, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		snprintf(why, wsz, "%s: %s", wsroot, strerror(errno));
		return -1;
	}
	if (rel[0] == '\0')
		return fd;
#if defined(__linux__)
	memset(&how, 0, sizeof(how));
	how.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC;
	how.resolve = 0x08 | 0x04 | 0x02;  /* BENEATH, NO_SYMLINKS, NO_MAGICLINKS */
	nfd = (int)syscall(VT_SYS_openat2, fd, rel, &how, sizeof(how));
	if (nfd >= 0 || (errno != ENOSYS && !(errno == ENOENT && create))) {
		if (nfd < 0)
			snprintf(why, wsz, "%s: %s", rel, errno == ELOOP ?
			    "a symbolic link is in the way: refused" :
			    errno == EXDEV ? "escapes the workspace" :
			    strerror(errno));
		close(fd);
		return nfd;
	}
#else
	(void)how;
#endif
	/* one component at a time, never following a link */
	for (c = rel; *c != '\0'; c += n + (c[n] == '/')) {
		n = strcspn(c, "/");
		if (n > NAME_MAX) {
			snprintf(why, wsz, "%s: name too long", rel);
			close(fd);
			return -1;
		}
		memcpy(comp, c, n);
		comp[n] = '\0';
		nfd = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
		if (nfd < 0 && errno == ENOENT && create &&
		    mkdirat(fd, comp, 0777 & ~origumask) == 0)
			nfd = openat(fd, comp, O_RDONLY | O_DIRECTORY |
			    O_NOFOLLOW | O_CLOEXEC);
		if (nfd < 0) {
			snprintf(why, wsz, "%s: %s", rel, errno == ELOOP ||
			    errno == ENOTDIR ? "a symbolic link or a file is in "
			    "the way: refused" : strerror(errno));
			close(fd);
			return -1;
		}
		close(fd);
		fd = nfd;
	}
	return fd;
}

/* split canonical rel into its directory (in dir) and its last name */
static const char *
relsplit(const char *rel, char *dir, size_t sz)
{
	const char *slash = strrchr(rel, '/');
	size_t n = slash ? (size_t)(slash - rel) : 0;

	if (n >= sz)
		n = sz - 1;
	memcpy(dir, rel, n);
	dir[n] = '\0';
	return slash ? slash + 1 : rel;
}

static size_t
countlines(const char *s, size_t n)
{
	size_t i, k = 0;

	for (i = 0; i < n; i++)
		k += s[i] == '\n';
	return k + (n > 0 && s[n - 1] != '\n');
}

/* a tool's error for the model; always -1 */
static int
toolerr(Buf *out, const char *fmt, ...)
{
	va_list ap;
	char msg[PATH_MAX + 256];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	bufaddstr(out, msg);
	return -1;
}

/* the file a write tool targets: canonical path, parent open, existing
 * mode or the one a new file gets.  0 or -1 (reason in out) */
static int
writetarget(const JDoc *d, int args, char *rel, size_t rsz, int *dfd,
    const char **name, mode_t *mode, struct stat *st, int *exists, Buf *out)
{
	char dir[PATH_MAX], why[PATH_MAX + 128], *p;

	if ((p = jsonstrdup(d, jsonget(d, args, "path"))) == NULL)
		return toolerr(out, "path: a string is required");
	if (toolpath(p, rel, rsz, why, sizeof(why)) != 0) {
		free(p);
		return toolerr(out, "%s", why);
	}
	free(p);
	if (isprotected(rel))
		return toolerr(out, "%s: a protected path: no tool may write "
		    "it", rel);
	*name = relsplit(rel, dir, sizeof(dir));
	if ((*dfd = wsopendir(dir, 1, why, sizeof(why))) < 0)
		return toolerr(out, "%s", why);
	*exists = fstatat(*dfd, *name, st, AT_SYMLINK_NOFOLLOW) == 0;
	if (*exists && !S_ISREG(st->st_mode)) {
		close(*dfd);
		return toolerr(out, "%s: %s", rel, S_ISLNK(st->st_mode) ?
		    "a symbolic link: refused" : "not a regular file");
	}
	/* keep the mode, but never carry set-id bits into new content */
	*mode = *exists ? st->st_mode & 0777 : 0666 & ~origumask;
	return 0;
}

/* write_file {path, content}: create or replace, atomically */
static int
toolwrite(const JDoc *d, int args, Buf *out)
{
	const JTok *t = jsontok(d, jsonget(d, args, "content"));
	char rel[MAXTOOLPATH + 1], *data;
	const char *name;
	struct stat st;
	size_t len;
	mode_t mode;
	int dfd, exists, rc;

	if (t == NULL || t->type != JString)
		return toolerr(out, "content: a string is required");
	if (t->end - t->start > MAXWRITESIZE)
		return toolerr(out, "content: larger than MAXWRITESIZE (%d "
		    "bytes)", MAXWRITESIZE);
	if (writetarget(d, args, rel, sizeof(rel), &dfd, &name, &mode, &st,
	    &exists, out) != 0)
		return -1;
	data = xmalloc(t->end - t->start + 1);
	if (jsonstr(d, jsonget(d, args, "content"), data, t->end - t->start +
	    1, &len) != 0) {
		free(data);
		close(dfd);
		return toolerr(out, "content: not a valid string");
	}
	rc = atomicwrite(dfd, name, data, len, mode);
	close(dfd);
	if (rc != 0) {
		free(data);
		return toolerr(out, "%s: %s", rel, strerror(errno));
	}
	bufaddf(out, "%s %s: %zu bytes, %zu lines", exists ? "replaced" :
	    "created", rel, len, countlines(data, len));
	free(data);
	return 0;
}

/* what a write tool would do, in a few words for the approval prompt */
static void
toolsummary(const char *tool, const JDoc *d, int args, char *out,
    size_t sz)
{
	char rel[MAXTOOLPATH + 1], why[PATH_MAX + 128], dir[PATH_MAX], *s;
	const JTok *c = jsontok(d, jsonget(d, args, "content"));
	const char *name;
	struct stat st;
	size_t oldn = 0, newn = 0, len;
	int dfd, all = 0;

	snprintf(out, sz, "%s", tool);
	if ((s = jsonstrdup(d, jsonget(d, args, "path"))) == NULL ||
	    toolpath(s, rel, sizeof(rel), why, sizeof(why)) != 0) {
		free(s);
		return;
	}
	free(s);
	name = relsplit(rel, dir, sizeof(dir));
	if ((dfd = wsopendir(dir, 0, why, sizeof(why))) >= 0) {
		if ((s = readsmall(dfd, name, MAXEDITSIZE, &len, &st)) != NULL)
			oldn = countlines(s, len);
		free(s);
		close(dfd);
	} else {
		s = NULL;
	}
	if (strcmp(tool, "write_file") == 0 && c != NULL) {
		s = xmalloc(c->end - c->start + 1);
		if (jsonstr(d, jsonget(d, args, "content"), s, c->end -
		    c->start + 1, &len) == 0)
			newn = countlines(s, len);
		free(s);
		snprintf(out, sz, oldn ? "replaces %zu lines with %zu" :
		    "creates a file of %zu lines", oldn ? oldn : newn, newn);
		return;
	}
	if (strcmp(tool, "edit_file") == 0) {
		jsonbool(d, jsonget(d, args, "replace_all"), &all);
		if ((s = jsonstrdup(d, jsonget(d, args, "old_string"))) != NULL)
			oldn = countlines(s, strlen(s));
		free(s);
		if ((s = jsonstrdup(d, jsonget(d, args, "new_string"))) != NULL)
			newn = countlines(s, strlen(s));
		free(s);
		snprintf(out, sz, "-%zu +%zu lines%s", oldn, newn, all ?
		    " at every match" : "");
	}
}

/* the line of hay most like needle's first line, for a helpful miss */
static size_t
closestline(const char *hay, size_t n, const char *needle)
{
	size_t best = 0, bestlen = 0, line = 1, i, k, nl;

	nl = strcspn(needle, "\n");
	while (nl > 0 && (*needle == ' ' || *needle == '\t'))
		needle++, nl--;
	for (i = 0; i < n; line++) {
		while (i < n && (hay[i] == ' ' || hay[i] == '\t'))
			i++;
		for (k = 0; i + k < n && k < nl && hay[i + k] == needle[k]; k++)
			;
		if (k > bestlen) {
			bestlen = k;
			best = line;
		}
		while (i < n && hay[i] != '\n')
			i++;
		i++;
	}
	return best;
}

/* edit_file {path, old_string, new_string, replace_all?}: replace an
 * exact, unique match (or every match), atomically */
static int
tooledit(const JDoc *d, int args, Buf *out)
{
	char rel[MAXTOOLPATH + 1], *old = NULL, *new = NULL, *buf = NULL;
	const char *name, *p, *q;
	struct stat st;
	size_t len, oldn, newn, count = 0, line;
	mode_t mode;
	uint32_t cp;
	int dfd = -1, exists, all = 0, rc = -1, k;
	Buf res;

	bufinit(&res, MAXEDITSIZE);
	if ((old = jsonstrdup(d, jsonget(d, args, "old_string"))) == NULL ||
	    (new = jsonstrdup(d, jsonget(d, args, "new_string"))) == NULL) {
		toolerr(out, "old_string and new_string: strings are required");
		goto out;
	}
	if (jsonget(d, args, "replace_all") >= 0 &&
	    jsonbool(d, jsonget(d, args, "replace_all"), &all) != 0) {
		toolerr(out, "replace_all: true or false");
		goto out;
	}
	if ((oldn = strlen(old)) == 0 || strcmp(old, new) == 0) {
		toolerr(out, oldn == 0 ? "old_string is empty" :
		    "old_string and new_string are the same");
		goto out;
	}
	newn = strlen(new);
	if (writetarget(d, args, rel, sizeof(rel), &dfd, &name, &mode, &st,
	    &exists, out) != 0)
		goto out;
	if (!exists) {
		toolerr(out, "%s: no such file (write_file creates files)", rel);
		goto out;
	}
	if ((buf = readsmall(dfd, name, MAXEDITSIZE, &len, &st)) == NULL) {
		toolerr(out, "%s: %s", rel, errno == EFBIG ?
		    "larger than MAXEDITSIZE" : strerror(errno));
		goto out;
	}
	for (p = buf; p < buf + len; p += k) {
		if ((k = utf8dec((const unsigned char *)p, (size_t)(buf + len -
		    p), &cp)) < 0 || cp == 0) {
			toolerr(out, "%s: a binary file (NUL or invalid UTF-8 "
			    "at byte %zu): edit_file edits text only", rel,
			    (size_t)(p - buf));
			goto out;
		}
	}
	for (p = buf; (q = strstr(p, old)) != NULL; p = q + oldn)
		count++;
	if (count == 0) {
		line = closestline(buf, len, old);
		toolerr(out, "%s: old_string not found", rel);
		if (line > 0) {
			for (p = buf, k = 1; (size_t)k < line; k++)
				p = strchr(p, '\n') + 1;
			bufaddf(out, " (the closest line is %zu: ", line);
			bufadd(out, p, MIN(strcspn(p, "\n"), 200));
			bufaddc(out, ')');
		}
		goto out;
	}
	if (count > 1 && !all) {
		toolerr(out, "%s: old_string matches %zu times: add context to "
		    "make it unique, or set replace_all", rel, count);
		goto out;
	}
	for (p = buf; (q = strstr(p, old)) != NULL; p = q + oldn) {
		bufadd(&res, p, (size_t)(q - p));
		bufadd(&res, new, newn);
	}
	bufadd(&res, p, (size_t)(buf + len - p));
	if (res.err) {
		toolerr(out, "%s: the result would exceed MAXEDITSIZE", rel);
		goto out;
	}
	if (atomicwrite(dfd, name, res.p, res.len, mode) != 0) {
		toolerr(out, "%s: %s", rel, strerror(errno));
		goto out;
	}
	bufaddf(out, "edited %s: %zu replacement%s, -%zu +%zu lines", rel,
	    count, count == 1 ? "" : "s", count * countlines(old, oldn),
	    count * countlines(new, newn));
	rc = 0;
out:
	if (dfd >= 0)
		close(dfd);
	free(old);
	free(new);
	free(buf);
	buffree(&res);
	return rc;
}


/*
 * run_command {command, timeout_ms?, workdir?}: the line that
 * policygate() lexed and decided (cl) runs, never the string again.
 */
static int
toolrun(const JDoc *d, int args, CmdLine *cl, Buf *out)
{
	char rel[MAXTOOLPATH + 1], why[PATH_MAX + 128], dir[2 * PATH_MAX];
	int64_t timeout = RUNTIMEOUTMS;
	int t, fd, status;
	char *p;

	dir[0] = '\0';
	if ((t = jsonget(d, args, "timeout_ms")) >= 0 &&
	    jsonint(d, t, 1, RUNMAXTIMEOUTMS, &timeout) != 0)
		return toolerr(out, "timeout_ms: a whole number of "
		    "milliseconds, 1 to %d", RUNMAXTIMEOUTMS);
	snprintf(dir, sizeof(dir), "%s", wsroot);
	if ((t = jsonget(d, args, "workdir")) >= 0) {
		if ((p = jsonstrdup(d, t)) == NULL)
			return toolerr(out, "workdir: a string is required");
		if (toolpath(p, rel, sizeof(rel), why, sizeof(why)) != 0 &&
		    strcmp(p, ".") != 0) {
			free(p);
			return toolerr(out, "workdir: %s", why);
		}
		if (strcmp(p, ".") != 0) {
			/* beneath the root, no symlink on the way */
			if ((fd = wsopendir(rel, 0, why, sizeof(why))) < 0) {
				free(p);
				return toolerr(out, "workdir: %s", why);
			}
			close(fd);
			snprintf(dir, sizeof(dir), "%s/%s", wsroot, rel);
		}
		free(p);
	}
	if (runline(cl, dir, 0, (long)timeout, out, &status, why,
	    sizeof(why)) != 0)
		return toolerr(out, "\n[not run: %s]", why);
	bufaddf(out, "%s[exit status %d]", out->len && out->p[out->len - 1] !=
	    '\n' ? "\n" : "", status);
	return 0;
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
"       vtcode sandbox [--net] [--timeout MS] -- CMD [ARG...]\n"
"       vtcode outline FILE...\n"
"       vtcode find QUERY\n"
"       vtcode sessions [list | show ID]\n"
"       vtcode resume ID\n"
"       vtcode audit verify FILE\n"
"       vtcode -h | --version\n";

/* subcommands; a NULL run is honest about not being built yet */
static const Command commands[] = {
	{ "exec",     NULL },
	{ "trust",    cmdtrust },
	{ "check",    NULL },
	{ "policy",   cmdpolicy },
	{ "sandbox",  cmdsandbox },
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
