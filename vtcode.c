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
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <time.h>
#include <unistd.h>
#if defined(__GLIBC__)
#include <link.h>       /* ElfW, for nssbuiltin's look at our own headers */
#include <nss.h>
#include <sys/auxv.h>
#endif
#ifdef __linux__
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <linux/filter.h>
#include <sched.h>
#else
struct sock_fprog;      /* Linux's seccomp program, in runchild's list */
#endif

#if defined(__linux__)
#include <pty.h>
#else
#include <util.h>       /* openpty on macOS and the BSDs */
#endif
#if defined(__APPLE__)
#include <sandbox.h>
#endif
#if defined(__APPLE__) || defined(VTCODE_PORTCHECK)
/* left out of sandbox.h; Chromium and Firefox declare it the same way */
int sandbox_init_with_parameters(const char *profile, uint64_t flags,
    const char *const parameters[], char **errorbuf);
#endif
#if defined(VTCODE_PORTCHECK)
/* the other prototypes of those platforms, for tests/port.c's stubs */
void sandbox_free_error(char *errorbuf);
int pledge(const char *promises, const char *execpromises);
int unveil(const char *path, const char *permissions);
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
#define RUNSTACK        (256 * 1024)    /* a command's stack until execve */
#define MAXPROVIDERS    32      /* rows in config.h's providers table */
#define CMDNAMECHARS    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" \
                        "0123456789._+-"

/* Marks an entry point of a section's API that no later section calls
 * yet (the unit tests and fuzzers do).  Remove the mark when a caller
 * lands, so the compiler can report dead code again. */
#if defined(__GNUC__)
#define NORETURN        __attribute__((noreturn))
#define NOCALLER        __attribute__((unused))
#else
#define NORETURN
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
	int cancelled;          /* killed because vtcode was interrupted */
	int guarded;            /* killed for making a protected dir (sbxwatch) */
	long ms;
	size_t total;           /* bytes it wrote */
	Buf out;                /* the first RUNMAXOUTPUT / 2 bytes */
	char *tail;             /* ring of the last RUNMAXOUTPUT / 2 */
	size_t tailpos, taillen;
} RunResult;

/* one stage of a pipeline, as runspawn() hands it to its child */
typedef struct {
	char *const *argv;      /* argv[0] an absolute path */
	const char *workdir, *pty;
	const struct sock_fprog *prog;  /* its seccomp program, or NULL */
	int rfd;                /* its Landlock ruleset (Linux), or -1 */
	int net, abi;
	int slave, in, out;     /* the pty slave; stdin and stdout */
	int errfd;              /* why an exec failed, written here */
	int leader;             /* the first stage: the pty is its tty */
	int shared;             /* may share vtcode's memory (runspawn) */
	int drop[3];            /* the parent's fds it must not keep, or -1 */
} Spawn;

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
	long timeoutms;         /* request limit, only ever lowered */
} Settings;

/* a key to look for, with its length worked out at compile time */
typedef struct {
	const char *s;
	size_t n;
} JKey;
#define JK(k)   { k, sizeof(k) - 1 }

/* providers come from config.h */
enum { KindOpenAI, KindAnthropic };
typedef struct {
	const char *name;
	int kind;
	const char *baseurl;
	const char *model;      /* "" asks the server's model list */
	const char *keyenv;     /* NULL: no key */
	long context;           /* tokens */
} Provider;

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
static void die(const char *fmt, ...) NORETURN;
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
static void base64enc(const unsigned char *p, size_t n, char *out);
static void termsafe(char *s);
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
static inline size_t jsonws(const char *s, size_t n, size_t i);
static int jsonhex4(const unsigned char *s, size_t n, size_t i, uint32_t *v);
static size_t jsonstrslow(JDoc *d, JTok *t, size_t i);
static size_t jsonstring(JDoc *d, JTok *t, size_t i);
static size_t jsonnumber(JDoc *d, JTok *t, size_t i);
static int jsonparse(JDoc *d, const char *buf, size_t len, JTok *tok, int maxtok);
static const char *jsonerror(const JDoc *d, char *msg, size_t sz) NOCALLER;
static const JTok *jsontok(const JDoc *d, int t);
static int jsontype(const JDoc *d, int t);
static int jsonkeyeqn(const JDoc *d, int t, const char *key, size_t n);
static void jsonmembers(const JDoc *d, int obj, const JKey keys[],
    int nkeys, int out[]);
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
static void policyone(char **argv, int argc, int piped, Verdict *v);
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
static int sbxruleset(int abi, uint64_t net, uint64_t scoped, uint64_t *fs,
    char *why, size_t wsz);
static int sbxrule(int rfd, const char *path, uint64_t rights,
    uint64_t handled);
static int sbxrules(int abi, int net, const char *tmpdir, const char *pty,
    char *why, size_t wsz);
static scmp_filter_ctx sbxfilter(char *why, size_t wsz);
#if defined(__linux__)
static int sbxcompile(int net, int abi, struct sock_fprog *prog,
    char *why, size_t wsz);
static const struct sock_fprog *sbxprogram(int net, int abi, char *why,
    size_t wsz);
static int sbxsame(const struct sock_fprog *const have[4], char *why,
    size_t wsz);
#endif
static int putfile(const char *path, const char *s);
static int sbxpinnable(char *why, size_t wsz);
static int sbxgitdir(char *gd);
static int sbxbind(const char *path, int rw);
static int sbxnamespace(char *why, size_t wsz);
static int sbxprotect(char *why, size_t wsz);
static const char *sbxunpinnedwhy(void);
static void sbxquarantine(Buf *out);
/* runner */
static const char *runtmpwhere(void);
static const char *runtmpuser(void);
static const char *runtmp(void);
static void rmtree(int dfd, const char *name);
static void runtmpclean(void);
static int runcaps(void);
static void runfail(const char *step, const char *why);
static pid_t runspawn(const Spawn *sp);
#if defined(__linux__)
static int runcpusback(void);
#endif
static void runchild(const Spawn *sp);
static void runkeep(RunResult *r, const char *p, size_t n);
static int runkillkids(void);
static void runreap(pid_t pgid);
static long nowms(void);
static int runloop(int master, int watch, pid_t *pids, int n,
    long deadline, RunResult *r, int *status);
static int runpipe(char *const *argvs[], int n, int gated,
    const char *workdir, int net, long timeoutms, RunResult *r, char *why,
    size_t wsz);
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
/* where relative paths of the command being decided start: run_command's
 * workdir while the policy reads a line that runs there, else "" (the
 * root); see policyin() */
static char wsbase[2 * PATH_MAX];
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
/* every line the log writes, audit verify reads */
typedef char assert_auditline[(MAXAUDITLINE >= MAXEVENT + 256) ? 1 : -1];
typedef char assert_jsonnum[(MAXJSONNUMLEN >= 32) ? 1 : -1];
typedef char assert_arglen[(MAXARGLEN >= 256) ? 1 : -1];
typedef char assert_configkey[(MAXCONFIGKEY < CONFIGKEYCAP) ? 1 : -1];
typedef char assert_overrides[(MAXOVERRIDES >= 1) ? 1 : -1];
typedef char assert_httpreadbuf[(HTTPREADBUF >= 4096 &&
    HTTPREADBUF <= INT_MAX) ? 1 : -1];

typedef char assert_protected[(LEN(protectedpaths) >= 1) ? 1 : -1];
typedef char assert_toolrules[(LEN(toolrules) >= 1) ? 1 : -1];
typedef char assert_cmdrules[(LEN(cmdrules) >= 1) ? 1 : -1];
typedef char assert_sizes[(MAXWRITESIZE <= MAXJSONSIZE &&
    MAXCMDLEN <= MAXJSONSIZE) ? 1 : -1];

/* why no command runs any more this session: a protected directory a
 * command made could not be moved aside, or pinning failed once inside
 * the namespace (sbxprotect); "" while all is well */
static char sbxbroken[320];
static int sbxshm;                      /* /dev/shm is the commands' own */
static int sbxselfro;                   /* vtcode's own dirs: no islands */
/* protected directories moved aside when a command creates them */
static const char *const quarantined[] = { ".git", ".vtcode" };
static int existed[LEN(quarantined)];
static int sbxguardhit;         /* the last command was killed for one */
/* why this workspace's protected paths cannot be pinned: no private
 * mount namespace can be made (user namespaces turned off); "" while
 * they can, or before sbxprotect() has tried */
static char sbxunpinned[320];

/* variables sized by config.h */
static Override overrides[MAXOVERRIDES];
static int noverrides;


/* a parsed http or https URL */
typedef struct {
	int tls;                /* https */
	char host[256];         /* without IPv6 brackets */
	char port[8];
	char path[MAXURLCAP];   /* from the first '/', never empty */
	char user[256];         /* userinfo, decoded: proxies only */
	char pass[256];
} Url;

/* one connection, plain or TLS; err says why the last call failed */
typedef struct {
	int fd;
	int tls;
	br_ssl_client_context *sc;
	br_x509_minimal_context *xc;
	unsigned char *iobuf;
	br_sslio_context io;
	long deadline;          /* whole request, ms since the epoch */
	long idlems;            /* longest silence while reading */
	int timedout, cancel, eof;
	int refused;            /* by vtcode's own rules: not worth a retry */
	char host[256];
	char err[512];
} Conn;

/* HTTP/1.1 response push parser: feed it bytes as they come */
enum { HStatus, HHeader, HBody, HChunkSize, HChunkData, HChunkEnd,
	HTrailer, HClose, HDone };
typedef struct {
	int state;
	int status;
	int chunked, hasclen, nobody;
	uint64_t clen, left, total;
	size_t hdrbytes;
	int nhdr;
	char line[MAXHTTPLINE + 1];
	size_t linelen;
	int sawcr;
	char ctype[128];
	char retryafter[64], retryafterms[64];
	char err[256];
	int (*body)(void *ctx, const char *p, size_t n);
	void *ctx;
} HttpResp;

/* server-sent events decoder (WHATWG rules).  cb gets each event's data
 * as n bytes, not NUL-terminated, valid only during the call. */
typedef struct {
	Buf line;
	Buf data;
	const char *view;       /* the pending data, when not in data */
	size_t viewn;
	char event[64];
	int sawcr, started, hasdata;
	int (*cb)(void *ctx, const char *event, const char *data, size_t n);
	void *ctx;
	char err[128];
} Sse;


/* one tool call the model asked for */
typedef struct {
	char *id, *name;
	Buf args;
	int index;              /* the provider's index or block number */
	int gotargs;            /* an object, or a non-empty fragment, came */
} ToolCall;

/* normalised stream events */
enum { EvText, EvReasoning, EvToolStart, EvToolArgs, EvToolEnd, EvUsage,
	EvFinish, EvError, EvFlush };

/* error kinds the agent acts on */
enum { ErrNone, ErrNet, ErrRetry, ErrAuth, ErrContext, ErrQuota,
	ErrModel, ErrBad, ErrCancel, ErrTimeout };

/* one assistant turn as it streams in */
typedef struct {
	int kind;
	Buf text, reasoning;
	ToolCall calls[MAXTOOLCALLS];
	int ncalls;
	JTok *tok;              /* parse space for stream chunks, reused */
	int ntok;
	/* the last chunk whose one effect was the string at [tplpre,
	 * tplsuf) added as event tplev (turnlike); tpllen 0: none */
	char tpl[STREAMTPL + 1];
	size_t tpllen, tplpre, tplsuf;
	int tplev, tplntok;
	char finish[32];
	int64_t intok, outtok;
	int done, any;
	int errkind;
	char err[512];
	void (*emit)(void *ctx, int ev, const char *p, size_t n);
	void *ctx;
} Turn;

/* the conversation, in a provider-neutral shape */
enum { RoleUser, RoleAssistant, RoleTool };
typedef struct {
	int role;
	char *text;             /* user, assistant text, tool result */
	ToolCall *calls;        /* assistant */
	int ncalls;
	char *callid, *tool;    /* tool result */
	int iserror;
} Msg;
typedef struct {
	Msg *m;
	int n, cap;
	size_t bytes;
} Conv;

/* .gitignore patterns at the root, read once per listing */
typedef struct {
	char **pat;
	int n;
} Ignore;

/* stream events as they arrive: answer text to stdout, the rest to
 * stderr; a terminal never gets raw control bytes */
typedef struct {
	int outtty, errtty;
	int lastnl;             /* the last byte on stdout was a newline */
	int reasoning;          /* inside a reasoning run on stderr */
	Buf pend;               /* answer text not yet written (no tty) */
} Show;

/* the event streams of this run */
typedef struct {
	int on, json, fd, audit;
	char thread[33];
	unsigned char prev[32];
	uint64_t seq;
	int item;
	char file[PATH_MAX], auditpath[PATH_MAX];
} Evs;

/* a stored session's front matter */
typedef struct {
	char id[40], provider[64], model[MAXSETTING], workspace[PATH_MAX];
	char created[40], updated[40];
	int warned;
} StoreMeta;

/* one line of vtcode sessions list */
typedef struct {
	char id[40], updated[40], workspace[PATH_MAX], first[80];
} StoreRow;

/* where one provider is reached, with what */
typedef struct {
	const Provider *p;
	char model[MAXSETTING], baseurl[MAXSETTING];
	const char *key;        /* from the environment, never logged */
	unsigned char tried[MAXPROVIDERS];
	int failedover;
} Endpoint;

/* the SSE callback: one event's data to the provider's decoder */
typedef struct {
	Turn *t;
	const Endpoint *ep;
} SseCtx;

typedef struct {
	HttpResp *r;
	Sse *sse;
	Buf *errbody;
	int stream;
} BodyCtx;

/* a tool the model may call */
typedef struct {
	const char *name, *desc, *schema;
	int (*run)(const JDoc *d, int args, CmdLine *cl, Buf *out);
} Tool;

typedef char assert_providers[(LEN(providers) >= 1 &&
    LEN(providers) <= MAXPROVIDERS) ? 1 : -1];
typedef char assert_net[(MAXHTTPLINE >= 256 && MAXSSELINE >= 1024 &&
    MAXERRBODY >= 1024 && MAXURLCAP >= 64) ? 1 : -1];

static char provurls[LEN(providers)][MAXSETTING]; /* [base_urls] */
static Evs evs = { 0, 0, -1, -1, "", { 0 }, 0, 0, "", "" };
static int lastexit = -1, lasttrunc;    /* run_command's last line */
static StoreMeta store;                 /* the session being kept */
static int selfabi = -1;                /* the agent's own Landlock ABI */
static char runtmpdir[80];              /* commands' HOME and TMPDIR */
static char runtmpusr[64];              /* its parent: BASE/vtcode-UID */
static pid_t runtmpowner;               /* the process that removes it */
#if defined(__linux__)
static cpu_set_t runcpus;               /* vtcode's CPUs while it is pinned */
static int runpinned;                   /* to one of them (runpin) */
#endif
static const char *flagmodel, *flagprovider, *flagbaseurl;
static char cfgprovider[MAXSETTING];    /* the user config's provider */

/* net, tls, http, sse, llm, tools, agent */
static int storedir(char *out, size_t sz);
static void storeblock(Buf *b, const char *info, const char *p, size_t n);
static void storejs(Buf *b, const char *s);
static void storeformat(const StoreMeta *sm, const Conv *cv, Buf *b);
static void storesave(StoreMeta *sm, const Conv *cv);
static int storevalue(const char *p, size_t n, char *out, size_t sz);
static int storefail(char *err, size_t esz, int line, const char *why);
static int storeparse(const char *buf, size_t len, StoreMeta *sm, Conv *cv,
    char *err, size_t esz);
static int storeload(const char *id, StoreMeta *sm, Conv *cv);
static int storecmp(const void *a, const void *b);
static int cmdsessions(int argc, char *argv[]);
static int cmdresume(int argc, char *argv[]);
static int selfsandbox(const Endpoint *ep, char *why, size_t wsz);
static int failnext(int pi);
static int selfseccomp(char *why, size_t wsz);
static int interactive(Conv *cvp);
static void evbegin(JWriter *w, Buf *b, const char *type);
static int writeall(int fd, const char *p, size_t n);
static void evtime(char *out, size_t sz);
static void evend(JWriter *w, Buf *b, int sync);
static void evsimple(const char *type, int sync, ...);
static void evopen(const char *file, int json, int audit);
static void evitem(JWriter *w, Buf *b, const char *phase, int id,
    const char *type);
static void evtext(const char *type, const char *text, size_t n);
static void evsandbox(int abi, int net);
static void evcall(const char *phase, int id, const char *tool,
    const char *arg, const char *args, size_t alen, const CmdLine *cl,
    const char *status, const char *outcome, long ms);
static void evfile(const char *path, int existed);
static int ishex(const char *s, size_t n);
static int cmdaudit(int argc, char *argv[]);
static int toolexists(const char *path, char *rel, size_t sz, char *why,
    size_t wsz);
static void evapproval(Decision d, int remembered, long ms);
static void evtrust(int trusted);
static void evpolicy(const char *tool, const char *subject, const CmdLine *cl,
    const Verdict *v);
static void evretry(const char *provider, int attempt, long wait,
    const char *why);
static void agentfail(const char *why);
static void evusage(int64_t in, int64_t out);
static int urldecode(const char *s, size_t n, char *out, size_t sz);
static void urlauthority(const Url *u, int always, char *out, size_t sz);
static int urlparse(Url *u, const char *s, char *why, size_t wsz);
static int hostloopback(const char *h);
static int addrloopback(const struct sockaddr *sa);
static const char *netproxy(const Url *u);
static int netwait(Conn *c, int ev);
static int sockread(void *ctx, unsigned char *buf, size_t len);
static int sockwrite(void *ctx, const unsigned char *buf, size_t len);
static int netconnect(Conn *c, const char *host, const char *port,
    int loopbackonly);
static void pemappend(void *ctx, const void *p, size_t n);
static void dnappend(void *ctx, const void *p, size_t n);
static unsigned char *xmemdup(const void *p, size_t n);
static int tlsanchor(const unsigned char *der, size_t n,
    br_x509_trust_anchor *ta);
static int tlsload(char *why, size_t wsz);
static void tlserror(Conn *c);
static int tlsstart(Conn *c, const char *host);
static void connclose(Conn *c);
static int connwrite(Conn *c, const void *p, size_t n);
static int connread(Conn *c, void *p, size_t n);
static int connopen(Conn *c, const Url *u, long timeoutms);
static void httpinit(HttpResp *r, int (*body)(void *, const char *, size_t),
    void *ctx);
static int httpfail(HttpResp *r, const char *fmt, ...);
static int httpline(HttpResp *r);
static int httpfeed(HttpResp *r, const char *p, size_t n, size_t *used);
static int httpeof(HttpResp *r);
static void sseinit(Sse *s, int (*cb)(void *, const char *, const char *,
    size_t), void *ctx);
static void ssefree(Sse *s);
static int sseown(Sse *s);
static int sseline(Sse *s, const char *l, size_t n, int stable);
static int ssefeed(Sse *s, const char *p, size_t n);
static int sseend(Sse *s);
static int providerfind(const char *name);
static int hdrsafe(const char *s);
static int endpointset(Endpoint *e, int pi, int chosen, char *why, size_t wsz);
static int tooloffered(const Tool *t);
static void jwschema(JWriter *w, const char *schema);
static void llmbody(const Endpoint *e, const Conv *cv, Buf *b);
static void turninit(Turn *t, int kind, void (*emit)(void *, int,
    const char *, size_t), void *ctx);
static void turnfree(Turn *t);
static void turnemit(Turn *t, int ev, const char *p, size_t n);
static int turnerr(Turn *t, int kind, const char *fmt, ...);
static int errclassify(int status, const char *code, const char *msg);
static void errhint(int k, const Endpoint *ep, char *hint, size_t sz);
static int turnerror(Turn *t, const JDoc *d, int e, int status,
    const Endpoint *ep);
static ToolCall *turncall(Turn *t, int index, const char *id);
static int callargs(Turn *t, ToolCall *c, const JDoc *d, int a);
static char *jsonid(const JDoc *d, int t);
static void turnstr(Turn *t, int ev, const JDoc *d, int s);
static int oaichunk(Turn *t, const JDoc *d, const Endpoint *ep, int *only);
static int antevent(Turn *t, const JDoc *d, const Endpoint *ep,
    int *only);
static int llmsse(void *ctx, const char *event, const char *data, size_t n);
static int turnfinish(Turn *t, int eof);
static int llmbodycb(void *ctx, const char *p, size_t n);
static long long httpdate(const char *s);
static int httpexchange(const Endpoint *e, const char *method,
    const char *path, const Buf *body, Turn *t, Buf *out, long *ra);
static void httperror(Turn *t, const Endpoint *e, int status, const Buf *body);
static long nettotalms(void);
static int napms(long ms);
static int llmmodel(Endpoint *e, Turn *t);
static int llmonce(Endpoint *e, const Conv *cv, Turn *t, long *ra);
static int llmturn(Endpoint *ep, const Conv *cv, Turn *t, void (*emit)(void *,
    int, const char *, size_t), void *ctx);
static void ignoreload(Ignore *ig);
static void ignorefree(Ignore *ig);
static int ignored(const Ignore *ig, const char *rel, const char *name);
static int strpcmp(const void *a, const void *b);
static void listdir(int dfd, const char *rel, const Ignore *ig, int depth,
    int *count, Buf *out);
static int toollist(const JDoc *d, int args, CmdLine *cl, Buf *out);
static int toolread(const JDoc *d, int args, CmdLine *cl, Buf *out);
static int toolwrite3(const JDoc *d, int args, CmdLine *cl, Buf *out);
static int tooledit3(const JDoc *d, int args, CmdLine *cl, Buf *out);
static const Tool *toolfind(const char *name);
static void toolsjson(JWriter *w, int anth);
static int tooldispatch(const char *name, const char *args, size_t alen,
    Buf *out);
static void convfree(Conv *cv, int from);
static Msg *convadd(Conv *cv, int role, const char *text, size_t n);
static void agentemit(void *ctx, int ev, const char *p, size_t n);
static int agentrepeat(Buf *seen, const ToolCall *c);
static int agentrun(Endpoint *ep, Conv *cv, Show *show);
static void onsigint(int sig);
static void onsigquit(int sig);
static void catchsignals(void);
static int checkwalls(void);
static int agentinit(Endpoint *ep);
static void agentstart(void);
static char *readprompt(void);
static int cmdexec(int argc, char *argv[]);
static int cmdinteractive(void);
static void puturl(FILE *fp, const char *s);
static int cmdcheck(int argc, char *argv[]);

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
	/* the model's and servers' words end up here: nothing in a message
	 * may act on the terminal */
	termsafe(msg);
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

/* standard base64 of n bytes into out (4 * ((n + 2) / 3) + 1 bytes) */
static void
base64enc(const unsigned char *p, size_t n, char *out)
{
	static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
	    "qrstuvwxyz0123456789+/";
	size_t i, o = 0;
	uint32_t v;

	for (i = 0; i + 2 < n; i += 3) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		out[o++] = al[v >> 18];
		out[o++] = al[v >> 12 & 63];
		out[o++] = al[v >> 6 & 63];
		out[o++] = al[v & 63];
	}
	if (i < n) {
		v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 :
		    0);
		out[o++] = al[v >> 18];
		out[o++] = al[v >> 12 & 63];
		out[o++] = i + 1 < n ? al[v >> 6 & 63] : '=';
		out[o++] = '=';
	}
	out[o] = '\0';
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

/*
 * A static vtcode (config.mk's LINK) carries its own glibc, and glibc's
 * NSS would load any other source nsswitch.conf names for a host or a
 * user (mdns4_minimal, systemd, sss) as a shared module of the system's
 * glibc, which need not be the version vtcode was built with: mixed, the
 * two may crash or misbehave inside vtcode.  So a static vtcode asks NSS
 * for files and dns only, which libc.a has built in, and never loads a
 * module; the databases vtcode does not use are pinned too.  Static: no
 * PT_INTERP among the program's headers (the loader, when run as
 * `ld.so vtcode`, puts the program's there).  A shared vtcode keeps the
 * system's sources.  Called before each lookup, not at start: it reads
 * nsswitch.conf, and most runs look nothing up.
 */
static void
nssbuiltin(void)
{
#if defined(__GLIBC__)
	static const char *const db[][2] = {
		{ "hosts", "files dns" }, { "passwd", "files" },
		{ "group", "files" }, { "services", "files" },
		{ "protocols", "files" },
	};
	static int done;
	const ElfW(Phdr) *ph;
	size_t i, n;

	if (done)
		return;
	done = 1;
	ph = (const ElfW(Phdr) *)getauxval(AT_PHDR);
	n = (size_t)getauxval(AT_PHNUM);
	for (i = 0; ph != NULL && i < n; i++)
		if (ph[i].p_type == PT_INTERP)
			return;
	for (i = 0; i < LEN(db); i++)
		if (__nss_configure_lookup(db[i][0], db[i][1]) != 0)
			die("nss: cannot keep %s to its built-in sources",
			    db[i][0]);
#endif
}

/* the user's home, absolute; from $HOME, else the password database */
static const char *
homedir(void)
{
	const char *h = getenv("HOME");
	struct passwd *pw;

	if (h != NULL && h[0] == '/')
		return h;
	nssbuiltin();
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
	if (!create || mkdir(out, 0700) == 0 || errno == EEXIST)
		return 0;       /* usually there already: one call */
	if (errno != ENOENT)
		return -1;
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
	size_t n = 0, cap;
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
	/* sized by the file, one byte over to see it grow; grown (up to
	 * max + 1 bytes) only if it does */
	cap = (size_t)st->st_size;
	buf = xmalloc(cap + 2);
	for (;;) {
		if (n > cap) {
			if (cap >= max)
				break;
			cap = cap > max / 2 ? max : MIN(max,
			    MAX(cap * 2, 4096));
			buf = xrealloc(buf, cap + 2);
		}
		if ((r = read(fd, buf + n, cap + 1 - n)) == 0)
			break;
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

static inline size_t
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
jsonstrslow(JDoc *d, JTok *t, size_t i)
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

/* the same, inlined in the parser for the common string: printable
 * ASCII up to its closing quote, nothing escaped */
static inline size_t
jsonstring(JDoc *d, JTok *t, size_t i)
{
	const unsigned char *s = (const unsigned char *)d->buf;
	size_t k = i + 1, n = d->len;

	while (k < n && !jstrclass[s[k]])
		k++;
	if (k >= n || s[k] != '"')
		return jsonstrslow(d, t, i);
	t->type = JString;
	t->start = i + 1;
	t->end = k;
	return k + 1;
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
 * root is token 0) or -1 with d->err and d->erroff set.  No recursion:
 * an explicit stack of open containers, so depth is a config.h number
 * rather than whatever the C stack allows.  The loop has two halves, a
 * value and then what may follow it (closing brackets, a comma, a key),
 * so each byte is looked at once; the count of tokens lives in a local
 * until the end, as every store into tok[] could otherwise change d.
 */
static int
jsonparsesz(JDoc *d, const char *buf, size_t len, JTok *tok, int maxtok,
    size_t maxsize)
{
	int stack[MAXJSONDEPTH], depth = 0, p = -1, nt = 0;
	size_t i = 0;
	JTok *t;
	unsigned char c, obj = 0;       /* obj: the innermost is an object */

	d->buf = buf;
	d->len = len;
	d->tok = tok;
	d->ntok = 0;
	d->maxtok = maxtok;
	d->err = NULL;
	d->erroff = 0;
	if (len > maxsize)
		return jsonfail(d, 0, "document larger than MAXJSONSIZE");
	for (;;) {
		/* a value starts at i */
		i = jsonws(buf, len, i);
		if (i >= len)
			return jsonfail(d, i, "expected a value");
		if (nt >= maxtok)
			return jsonfail(d, i, "too many tokens");
		t = &tok[nt++];
		memset(t, 0, sizeof(*t));
		t->next = nt;
		if (p >= 0 && !obj)
			tok[p].size++;
		c = (unsigned char)buf[i];
		if (c == '{' || c == '[') {
			if (depth >= MAXJSONDEPTH)
				return jsonfail(d, i, "nested deeper than "
				    "MAXJSONDEPTH");
			t->type = c == '{' ? JObject : JArray;
			t->start = i;
			i = jsonws(buf, len, i + 1);
			if (i < len && buf[i] == (char)(c + 2)) {
				t->end = ++i;   /* {} or []: '{' + 2 is '}' */
			} else {
				stack[depth++] = p = nt - 1;
				obj = c == '{';
				if (!obj)
					continue;
				goto key;
			}
		} else if (c == '"') {
			if ((i = jsonstring(d, t, i)) == 0)
				return -1;
		} else if (c == 't' || c == 'f' || c == 'n') {
			t->start = i;
			t->type = c == 't' ? JTrue : c == 'f' ? JFalse : JNull;
			t->end = i + (c == 'f' ? 5 : 4);
			if (t->end > len || memcmp(buf + i, c == 't' ? "true" :
			    c == 'f' ? "false" : "null", t->end - i) != 0)
				return jsonfail(d, i, "invalid literal");
			i = t->end;
		} else {
			if (c != '-' && (c < '0' || c > '9'))
				return jsonfail(d, i, "unexpected character");
			if ((i = jsonnumber(d, t, i)) == 0)
				return -1;
		}
		/* after a value: containers it closes, then a comma */
		for (;;) {
			i = jsonws(buf, len, i);
			if (p < 0) {
				if (i != len)
					return jsonfail(d, i, "data after the "
					    "top-level value");
				d->ntok = nt;
				return nt;
			}
			if (i >= len)
				return jsonfail(d, i, obj ?
				    "unterminated object" : "unterminated array");
			c = (unsigned char)buf[i];
			if (c == (obj ? '}' : ']')) {
				tok[p].end = ++i;
				tok[p].next = nt;
				p = --depth > 0 ? stack[depth - 1] : -1;
				obj = p >= 0 && tok[p].type == JObject;
				continue;
			}
			if (c != ',')
				return jsonfail(d, i, obj ?
				    "expected ',' or '}'" : "expected ',' or ']'");
			i++;
			break;
		}
		if (!obj)
			continue;
key:
		/* a member of object p: "key" : (the value comes next) */
		i = jsonws(buf, len, i);
		if (i >= len)
			return jsonfail(d, i, "expected a key");
		if (nt >= maxtok)
			return jsonfail(d, i, "too many tokens");
		t = &tok[nt++];
		memset(t, 0, sizeof(*t));
		t->next = nt;
		if (buf[i] != '"')
			return jsonfail(d, i, "expected a string key");
		if ((i = jsonstring(d, t, i)) == 0)
			return -1;
		tok[p].size++;
		i = jsonws(buf, len, i);
		if (i >= len || buf[i] != ':')
			return jsonfail(d, i, "expected ':'");
		i++;
	}
}

/* the parse of anything but an audit line: at most MAXJSONSIZE bytes */
static int
jsonparse(JDoc *d, const char *buf, size_t len, JTok *tok, int maxtok)
{
	return jsonparsesz(d, buf, len, tok, maxtok, MAXJSONSIZE);
}

/* "byte N: why" for a failed parse */
static const char *
jsonerror(const JDoc *d, char *msg, size_t sz)
{
	snprintf(msg, sz, "byte %zu: %s", d->erroff,
	    d->err ? d->err : "no error");
	return msg;
}

static inline const JTok *
jsontok(const JDoc *d, int t)
{
	if (d->err != NULL || t < 0 || t >= d->ntok)
		return NULL;
	return &d->tok[t];
}

static inline int
jsontype(const JDoc *d, int t)
{
	const JTok *k = jsontok(d, t);

	return k ? k->type : JNone;
}

/* does string token t, unescaped, equal the C string key? */
static int
jsonkeyeqn(const JDoc *d, int t, const char *key, size_t n)
{
	const JTok *k = jsontok(d, t);
	size_t len;
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
	size_t n = strlen(key);
	int i, k, found = -1;

	if (o == NULL || o->type != JObject)
		return -1;
	for (i = 0, k = obj + 1; i < o->size; i++, k = d->tok[k + 1].next) {
		if (!jsonkeyeqn(d, k, key, n))
			continue;
		if (found >= 0)
			return -2;
		found = k + 1;
	}
	return found;
}

/* several members of obj in one walk: out[i] as jsonget(keys[i]) */
static inline void
jsonmembers(const JDoc *d, int obj, const JKey keys[], int nkeys, int out[])
{
	const JTok *o = jsontok(d, obj), *k;
	size_t kl;
	int i, j, m;

	for (j = 0; j < nkeys; j++)
		out[j] = -1;
	if (o == NULL || o->type != JObject)
		return;
	for (i = 0, m = obj + 1; i < o->size; i++, m = d->tok[m + 1].next) {
		k = &d->tok[m];
		kl = k->end - k->start;
		for (j = 0; j < nkeys; j++) {
			/* the common case, an unescaped key, compared here */
			if (!k->escaped ? kl != keys[j].n || (kl > 0 &&
			    (d->buf[k->start] != keys[j].s[0] ||
			    memcmp(d->buf + k->start, keys[j].s, kl) != 0)) :
			    kl < keys[j].n ||
			    !jsonkeyeqn(d, m, keys[j].s, keys[j].n))
				continue;
			out[j] = out[j] >= 0 || out[j] == -2 ? -2 : m + 1;
			break;
		}
	}
}

/* element idx of array arr, or -1 */
static inline int
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
	uint32_t cp = 0, lo = 0xDC00;     /* set: the parser checked them */
	unsigned char enc[4];
	size_t e;

	if (sz == 0)
		return -1;
	dst[0] = '\0';
	if (k == NULL || k->type != JString)
		return -1;
	s = (const unsigned char *)d->buf;
	if (!k->escaped) {      /* nothing to undo: the bytes as they are */
		if (k->end - k->start >= sz)
			return -1;
		memcpy(dst, s + k->start, k->end - k->start);
		dst[k->end - k->start] = '\0';
		if (outlen != NULL)
			*outlen = k->end - k->start;
		return 0;
	}
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
	/* cut short, a tightening would be lost or changed: refuse it */
	if (strlen(name) >= sizeof(o->name))
		die("%s:%d: %.40s...: a name longer than %d bytes",
		    cfgfile[origin], line, name, (int)sizeof(o->name) - 1);
	if (nopts > (int)LEN(o->opts))
		die("%s:%d: %s: more than %d forbidden options",
		    cfgfile[origin], line, name, (int)LEN(o->opts));
	o->kind = kind;
	snprintf(o->name, sizeof(o->name), "%s", name);
	o->d = d;
	o->origin = origin;
	o->line = line;
	for (i = 0; i < nopts; i++) {
		if (strlen(opts[i]) >= sizeof(o->opts[i]))
			die("%s:%d: %s: an option longer than %d bytes",
			    cfgfile[origin], line, name,
			    (int)sizeof(o->opts[i]) - 1);
		snprintf(o->opts[i], sizeof(o->opts[i]), "%s", opts[i]);
	}
	o->nopts = nopts;
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
				if (strlen(e->str) >= MAXSETTING)
					die("%s:%d: %s: longer than %d bytes",
					    file, e->line, e->key, MAXSETTING - 1);
				if (strcmp(e->key, "model") != 0 &&
				    origin == OriginWorkspace)
					/* an API key must never follow a URL a
					 * repository chose, nor the code go to
					 * a provider it chose */
					warnx("%s:%d: %s in a workspace config "
					    "is ignored", file, e->line, e->key);
				else
					snprintf(strcmp(e->key, "model") == 0 ?
					    settings.model : strcmp(e->key,
					    "provider") == 0 ? settings.provider :
					    settings.baseurl, MAXSETTING, "%s",
					    e->str);
				if (strcmp(e->key, "provider") == 0 && origin !=
				    OriginWorkspace)
					snprintf(cfgprovider, MAXSETTING, "%s",
					    e->str);
			} else if (strcmp(e->key, "timeout_ms") == 0) {
				if (e->type != TInt || e->num < 1)
					die("%s:%d: timeout_ms: expected a number "
					    "of milliseconds", file, e->line);
				/* lowered only: the request limit of config.h
				 * stays the ceiling */
				if (e->num < NETREQUESTMS && (settings.timeoutms
				    == 0 || e->num < settings.timeoutms))
					settings.timeoutms = (long)e->num;
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
		if (strcmp(e->table, "base_urls") == 0) {
			if (e->type != TStr)
				die("%s:%d: base_urls.%s: expected a string", file,
				    e->line, e->key);
			if (strlen(e->str) >= MAXSETTING)
				die("%s:%d: base_urls.%s: longer than %d bytes",
				    file, e->line, e->key, MAXSETTING - 1);
			if (origin == OriginWorkspace) {
				warnx("%s:%d: base_urls in a workspace config is "
				    "ignored", file, e->line);
				continue;
			}
			if ((j = providerfind(e->key)) < 0) {
				warnx("%s:%d: no provider %s, ignored", file,
				    e->line, e->key);
				continue;
			}
			snprintf(provurls[j], sizeof(provurls[j]), "%s", e->str);
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
 * net, tls, http, sse: the way to a model and back.  One request per
 * connection (Connection: close), every wait bounded by a deadline,
 * every size by config.h.  TLS is BearSSL's, always verified: chain and
 * host name; there is no switch to turn either off.
 */

/* SIGINT during a turn (and SIGTERM, SIGHUP, which also set quitting):
 * waits in the network code and the runner wake and give up */
static volatile sig_atomic_t cancelled, quitting;

/* percent-decode s[0..n) into out; -1 when malformed or too long */
static int
urldecode(const char *s, size_t n, char *out, size_t sz)
{
	size_t i, o = 0;
	unsigned v;

	for (i = 0; i < n; i++) {
		if (o + 1 >= sz)
			return -1;
		if (s[i] == '%') {
			if (i + 2 >= n || !isxdigit((unsigned char)s[i + 1]) ||
			    !isxdigit((unsigned char)s[i + 2]) ||
			    sscanf(s + i + 1, "%2x", &v) != 1 || v == 0)
				return -1;
			out[o++] = (char)v;
			i += 2;
		} else {
			out[o++] = s[i];
		}
	}
	out[o] = '\0';
	return 0;
}

/*
 * Parse an http or https URL: scheme://[user[:pass]@]host[:port][/path].
 * Hosts are names or IP literals ([v6] in brackets); nothing in a URL
 * may be a control byte or a space.  0, or -1 with the reason in why.
 */
/*
 * s as it may be shown: whatever stands before the last '@' after the
 * scheme, a user name and password, becomes "***".  Up to the last '@',
 * wherever it is: a password may hold '/', '#' or '?' unencoded, and a
 * proxy may be given without a scheme; an '@' in a path hides a little
 * more than it needs to.  Cut to sz.
 */
static void
urlshow(const char *s, char *out, size_t sz)
{
	const char *sl = strstr(s, "://"), *auth, *at;

	/* a scheme only where "://" ends the first word: a password may
	 * hold one too */
	if (sl != NULL && strcspn(s, ":/@") != (size_t)(sl - s))
		sl = NULL;
	auth = sl ? sl + 3 : s;
	if ((at = strrchr(auth, '@')) == NULL)
		snprintf(out, sz, "%s", s);
	else
		snprintf(out, sz, "%.*s***@%s", (int)MIN((size_t)(auth - s),
		    sz), s, at + 1);
}

static int
urlparse(Url *u, const char *s, char *why, size_t wsz)
{
	const char *p, *h, *e, *at, *c;
	char shown[MAXURLCAP + 8];
	size_t n;
	long port;
	char *end;

	memset(u, 0, sizeof(*u));
	if (strlen(s) >= MAXURLCAP) {
		snprintf(why, wsz, "URL longer than %d bytes", MAXURLCAP - 1);
		return -1;
	}
	urlshow(s, shown, sizeof(shown));
	for (p = s; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f) {
			snprintf(why, wsz, "URL contains a space or a control "
			    "character");
			return -1;
		}
	if (strncasecmp(s, "https://", 8) == 0) {
		u->tls = 1;
		p = s + 8;
	} else if (strncasecmp(s, "http://", 7) == 0) {
		p = s + 7;
	} else {
		snprintf(why, wsz, "%s: only http:// and https:// URLs", shown);
		return -1;
	}
	e = p + strcspn(p, "/?#");
	at = NULL;
	for (c = p; c < e; c++)
		if (*c == '@')
			at = c;
	if (at != NULL) {
		c = memchr(p, ':', (size_t)(at - p));
		if (urldecode(p, (size_t)((c ? c : at) - p), u->user,
		    sizeof(u->user)) != 0 || (c && urldecode(c + 1,
		    (size_t)(at - c - 1), u->pass, sizeof(u->pass)) != 0)) {
			snprintf(why, wsz, "malformed user name or password "
			    "in the URL");
			return -1;
		}
		p = at + 1;
	}
	if (*p == '[') {
		h = p + 1;
		if ((c = memchr(h, ']', (size_t)(e - h))) == NULL) {
			snprintf(why, wsz, "%s: unclosed [ in the host", shown);
			return -1;
		}
		n = (size_t)(c - h);
		c++;
		if (n == 0 || strspn(h, "0123456789abcdefABCDEF:.") < n) {
			snprintf(why, wsz, "%s: bad IPv6 address", shown);
			return -1;
		}
	} else {
		h = p;
		c = memchr(h, ':', (size_t)(e - h));
		if (c == NULL)
			c = e;
		n = (size_t)(c - h);
		if (n == 0 || strspn(h, "abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") < n) {
			snprintf(why, wsz, "%s: bad host name", shown);
			return -1;
		}
	}
	if (n >= sizeof(u->host)) {
		snprintf(why, wsz, "%s: host name too long", shown);
		return -1;
	}
	memcpy(u->host, h, n);
	u->host[n] = '\0';
	if (c < e && *c == ':') {
		errno = 0;
		port = strtol(c + 1, &end, 10);
		if (end != e || c + 1 == e || port < 1 || port > 65535 ||
		    !isdigit((unsigned char)c[1])) {
			snprintf(why, wsz, "%s: bad port", shown);
			return -1;
		}
		snprintf(u->port, sizeof(u->port), "%ld", port);
	} else if (c != e) {
		snprintf(why, wsz, "%s: junk after the host", shown);
		return -1;
	} else {
		snprintf(u->port, sizeof(u->port), "%s", u->tls ? "443" : "80");
	}
	if (*e == '\0' || *e != '/')
		snprintf(u->path, sizeof(u->path), "/%s", *e == '\0' ? "" :
		    e);
	else
		snprintf(u->path, sizeof(u->path), "%s", e);
	u->path[strcspn(u->path, "#")] = '\0';
	return 0;
}

/* "host:port" as a request names it: an IPv6 literal in brackets, the
 * port left out when it is the scheme's own unless always */
static void
urlauthority(const Url *u, int always, char *out, size_t sz)
{
	int v6 = strchr(u->host, ':') != NULL;

	if (always || strcmp(u->port, u->tls ? "443" : "80") != 0)
		snprintf(out, sz, "%s%s%s:%s", v6 ? "[" : "", u->host,
		    v6 ? "]" : "", u->port);
	else
		snprintf(out, sz, "%s%s%s", v6 ? "[" : "", u->host,
		    v6 ? "]" : "");
}

/* h without a final dot, as the resolver reads it: in b (256 bytes) */
static const char *
hostnodot(const char *h, char *b)
{
	size_t n = strlen(h);

	if (n < 2 || n > 256 || h[n - 1] != '.')
		return h;
	memcpy(b, h, n - 1);
	b[n - 1] = '\0';
	return b;
}

/*
 * Is h an address rather than a name, in any form the resolver takes
 * (inet_aton's too: 127.1, 2130706433, 0x7f.0.0.1), with or without a
 * final dot?  The address in *a4 or *a6; 4, 6 or 0.
 */
static int
hostnumeric(const char *h, struct in_addr *a4, struct in6_addr *a6)
{
	char b[256];

	h = hostnodot(h, b);
	if (inet_aton(h, a4) != 0)
		return 4;
	if (inet_pton(AF_INET6, h, a6) == 1)
		return 6;
	return 0;
}

/* is h an IP address, not a name? */
static int
hostaddr(const char *h)
{
	struct in6_addr a6;
	struct in_addr a4;

	return hostnumeric(h, &a4, &a6) != 0;
}

/* a host name that only ever means this machine */
static int
hostloopback(const char *h)
{
	struct in6_addr a6;
	struct in_addr a4;
	char b[256];

	h = hostnodot(h, b);    /* localhost. is localhost */
	if (strcasecmp(h, "localhost") == 0 ||
	    (strlen(h) > 10 && strcasecmp(h + strlen(h) - 10, ".localhost")
	    == 0))
		return 1;
	switch (hostnumeric(h, &a4, &a6)) {
	case 4:
		return (ntohl(a4.s_addr) >> 24) == 127;
	case 6:
		return IN6_IS_ADDR_LOOPBACK(&a6) || (IN6_IS_ADDR_V4MAPPED(&a6)
		    && a6.s6_addr[12] == 127);
	}
	return 0;
}

/* a resolved address on this machine */
static int
addrloopback(const struct sockaddr *sa)
{
	const struct sockaddr_in6 *s6;

	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)(const void *)sa)->
		    sin_addr.s_addr) >> 24) == 127;
	if (sa->sa_family == AF_INET6) {
		s6 = (const struct sockaddr_in6 *)(const void *)sa;
		return IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr) ||
		    (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr) &&
		    s6->sin6_addr.s6_addr[12] == 127);
	}
	return 0;
}

/*
 * The proxy for a URL, the way curl reads the environment: https_proxy
 * or HTTPS_PROXY for https, http_proxy for http (never HTTP_PROXY, which
 * CGI lets a client set); no_proxy/NO_PROXY lists hosts to reach
 * directly ("*", names, ".suffix" or "suffix" matching subdomains).
 * Loopback is never proxied.  NULL for a direct connection.
 */
static const char *
netproxy(const Url *u)
{
	const char *p, *np, *c;
	size_t n, hl = strlen(u->host);

	if (hostloopback(u->host))
		return NULL;
	p = u->tls ? getenv("https_proxy") : getenv("http_proxy");
	if ((p == NULL || *p == '\0') && u->tls)
		p = getenv("HTTPS_PROXY");
	if (p == NULL || *p == '\0')
		return NULL;
	if ((np = getenv("no_proxy")) == NULL || *np == '\0')
		np = getenv("NO_PROXY");
	for (c = np; c != NULL && *c != '\0'; c += n + (c[n] == ',')) {
		while (*c == ' ' || *c == ',')
			c++;
		n = strcspn(c, ", ");
		if (n == 1 && *c == '*')
			return NULL;
		if (n > 0 && *c == '.') {
			c++;
			n--;
		}
		if (n == 0 || n > hl)
			continue;
		if (strncasecmp(u->host + hl - n, c, n) == 0 &&
		    (n == hl || u->host[hl - n - 1] == '.'))
			return NULL;
	}
	return p;
}

/*
 * Wait until fd is ready for ev, in short slices so that a Ctrl-C ends
 * the wait; 0 when ready, -1 with c->err set on timeout or cancel.
 */
static int
netwait(Conn *c, int ev)
{
	struct pollfd pfd;
	long now, until, left;
	int r;

	until = nowms() + c->idlems;
	for (;;) {
		if (cancelled) {
			c->cancel = 1;
			snprintf(c->err, sizeof(c->err), "cancelled");
			return -1;
		}
		now = nowms();
		left = MIN(until, c->deadline) - now;
		if (left <= 0) {
			c->timedout = 1;
			snprintf(c->err, sizeof(c->err), "%s: no answer for %ld "
			    "ms (%s)", c->host, now - (until - c->idlems),
			    until <= c->deadline ? "read timeout" :
			    "request time limit");
			return -1;
		}
		pfd.fd = c->fd;
		pfd.events = (short)ev;
		pfd.revents = 0;
		r = poll(&pfd, 1, (int)MIN(left, 200));
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR) {
			snprintf(c->err, sizeof(c->err), "poll: %s",
			    strerror(errno));
			return -1;
		}
	}
}

/* the socket under TLS or the plain connection: -1 on error or EOF */
static int
sockread(void *ctx, unsigned char *buf, size_t len)
{
	Conn *c = ctx;
	ssize_t r;

	for (;;) {
		/* read first (the socket does not block): while a stream
		 * flows there is nothing to wait for.  A cancel or the
		 * request's time limit still ends it, in netwait's words */
		if ((cancelled || nowms() >= c->deadline) &&
		    netwait(c, POLLIN) != 0)
			return -1;
		r = read(c->fd, buf, len);
		if (r > 0)
			return (int)r;
		if (r == 0) {
			c->eof = 1;
			return -1;
		}
		if (errno == EAGAIN) {
			if (netwait(c, POLLIN) != 0)
				return -1;
			continue;
		}
		if (errno != EINTR) {
			snprintf(c->err, sizeof(c->err), "%s: read: %s",
			    c->host, strerror(errno));
			return -1;
		}
	}
}

static int
sockwrite(void *ctx, const unsigned char *buf, size_t len)
{
	Conn *c = ctx;
	ssize_t r;

	for (;;) {
		if (netwait(c, POLLOUT) != 0)
			return -1;
		r = send(c->fd, buf, len, MSG_NOSIGNAL);
		if (r > 0)
			return (int)r;
		if (r < 0 && errno != EINTR && errno != EAGAIN) {
			snprintf(c->err, sizeof(c->err), "%s: write: %s",
			    c->host, strerror(errno));
			return -1;
		}
	}
}

/*
 * Connect to host:port, trying every address in turn within the connect
 * timeout.  With loopbackonly, an address that is not this machine's is
 * refused before any packet is sent.  0, or -1 with c->err set.
 */
static int
netconnect(Conn *c, const char *host, const char *port, int loopbackonly)
{
	struct addrinfo hints, *res, *ai;
	struct pollfd pfd;
	long until;
	socklen_t sl;
	int fd, r, soerr = 0, left;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	nssbuiltin();
	if ((r = getaddrinfo(host, port, &hints, &res)) != 0) {
		snprintf(c->err, sizeof(c->err), "%s: %s", host,
		    gai_strerror(r));
		return -1;
	}
	snprintf(c->err, sizeof(c->err), "%s: no address to connect to",
	    host);
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if (loopbackonly && !addrloopback(ai->ai_addr)) {
			snprintf(c->err, sizeof(c->err), "%s: plain http only to "
			    "this machine (loopback): use https", host);
			c->refused = 1;
			continue;
		}
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC |
		    SOCK_NONBLOCK, ai->ai_protocol);
		if (fd < 0)
			continue;
		r = connect(fd, ai->ai_addr, ai->ai_addrlen);
		if (r != 0 && errno == EINPROGRESS) {
			until = nowms() + NETCONNECTMS;
			do {
				if (cancelled)
					break;
				left = (int)MIN(200, until - nowms());
				pfd.fd = fd;
				pfd.events = POLLOUT;
				r = left > 0 ? poll(&pfd, 1, left) : 0;
			} while ((r == 0 && nowms() < until) ||
			    (r < 0 && errno == EINTR));
			sl = sizeof(soerr);
			if (r > 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr,
			    &sl) == 0 && soerr == 0) {
				r = 0;
			} else {
				/* a time out is no connection (r is 0 then) */
				errno = r > 0 && soerr ? soerr : ETIMEDOUT;
				r = -1;
			}
		}
		if (r == 0) {
			c->fd = fd;
			freeaddrinfo(res);
			return 0;
		}
		snprintf(c->err, sizeof(c->err), "%s port %s: connect: %s",
		    host, port, cancelled ? "cancelled" : strerror(errno));
		close(fd);
		if (cancelled) {
			c->cancel = 1;
			break;
		}
	}
	freeaddrinfo(res);
	return -1;
}

/* trust anchors from the system's PEM bundle, decoded once */
static br_x509_trust_anchor *tas;
static size_t ntas;
static size_t tasbad;           /* objects in the bundle that were not */
static char cafile[PATH_MAX];

static void
pemappend(void *ctx, const void *p, size_t n)
{
	bufadd(ctx, p, n);
}

static void
dnappend(void *ctx, const void *p, size_t n)
{
	bufadd(ctx, p, n);
}

static unsigned char *
xmemdup(const void *p, size_t n)
{
	unsigned char *d = xmalloc(n ? n : 1);

	memcpy(d, p, n);
	return d;
}

/* one DER certificate to a trust anchor; -1 when it cannot be one */
static int
tlsanchor(const unsigned char *der, size_t n, br_x509_trust_anchor *ta)
{
	br_x509_decoder_context dc;
	br_x509_pkey *pk;
	Buf dn;

	bufinit(&dn, 65536);
	br_x509_decoder_init(&dc, dnappend, &dn);
	br_x509_decoder_push(&dc, der, n);
	if ((pk = br_x509_decoder_get_pkey(&dc)) == NULL || dn.err) {
		buffree(&dn);
		return -1;
	}
	memset(ta, 0, sizeof(*ta));
	ta->dn.data = xmemdup(dn.p, dn.len);
	ta->dn.len = dn.len;
	ta->flags = br_x509_decoder_isCA(&dc) ? BR_X509_TA_CA : 0;
	ta->pkey.key_type = pk->key_type;
	if (pk->key_type == BR_KEYTYPE_RSA) {
		ta->pkey.key.rsa.n = xmemdup(pk->key.rsa.n, pk->key.rsa.nlen);
		ta->pkey.key.rsa.nlen = pk->key.rsa.nlen;
		ta->pkey.key.rsa.e = xmemdup(pk->key.rsa.e, pk->key.rsa.elen);
		ta->pkey.key.rsa.elen = pk->key.rsa.elen;
	} else if (pk->key_type == BR_KEYTYPE_EC) {
		ta->pkey.key.ec.curve = pk->key.ec.curve;
		ta->pkey.key.ec.q = xmemdup(pk->key.ec.q, pk->key.ec.qlen);
		ta->pkey.key.ec.qlen = pk->key.ec.qlen;
	} else {
		free(ta->dn.data);
		buffree(&dn);
		return -1;
	}
	buffree(&dn);
	return 0;
}

/*
 * Load the CA bundle: VTCODE_CA_FILE, else the first of config.h's
 * cafiles that exists.  Certificates that cannot be anchors are
 * skipped; a bundle with none is an error.  0, or -1 with why.
 */
static int
tlsload(char *why, size_t wsz)
{
	br_pem_decoder_context pc;
	const char *env = getenv("VTCODE_CA_FILE"), *name;
	unsigned char *buf = NULL;
	size_t len = 0, off, k, i, cap = 0, restart = 0;
	struct stat st;
	int keep = 0, fd;
	Buf der;

	if (ntas > 0)
		return 0;
	if (env != NULL && *env != '\0') {
		if (strlen(env) >= sizeof(cafile)) {
			snprintf(why, wsz, "VTCODE_CA_FILE: longer than %zu "
			    "bytes", sizeof(cafile) - 1);
			return -1;
		}
		snprintf(cafile, sizeof(cafile), "%s", env);
	} else {
		cafile[0] = '\0';
		for (i = 0; i < LEN(cafiles); i++)
			if (access(cafiles[i], R_OK) == 0) {
				snprintf(cafile, sizeof(cafile), "%s",
				    cafiles[i]);
				break;
			}
		if (cafile[0] == '\0') {
			snprintf(why, wsz, "no CA bundle found (looked in %s "
			    "and the others config.h lists); set "
			    "VTCODE_CA_FILE", cafiles[0]);
			return -1;
		}
	}
	if ((fd = open(cafile, O_RDONLY | O_CLOEXEC)) < 0 ||
	    fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    st.st_size > MAXCAFILE) {
		snprintf(why, wsz, "CA bundle %s: %s", cafile, fd < 0 ?
		    strerror(errno) : "not a regular file of at most "
		    "MAXCAFILE bytes");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	buf = xmalloc((size_t)st.st_size + 2);
	while (len < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + len, (size_t)st.st_size - len);
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	/* a CR LF or a lone CR ends a line as an LF does: the decoder takes
	 * LF only, and would read the name as "CERTIFICATE-----" */
	for (i = k = 0; i < len; i++)
		if (buf[i] != '\r')
			buf[k++] = buf[i];
		else if (i + 1 >= len || buf[i + 1] != '\n')
			buf[k++] = '\n';
	len = k;
	buf[len++] = '\n';      /* the decoder wants the last line ended */
	off = len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0 ? 3 : 0;
	bufinit(&der, MAXCAFILE);
	br_pem_decoder_init(&pc);
	while (off < len) {
		k = br_pem_decoder_push(&pc, buf + off, len - off);
		off += k;
		switch (br_pem_decoder_event(&pc)) {
		case BR_PEM_BEGIN_OBJ:
			name = br_pem_decoder_name(&pc);
			keep = strcmp(name, "CERTIFICATE") == 0 ||
			    strcmp(name, "X509 CERTIFICATE") == 0;
			der.len = 0;
			br_pem_decoder_setdest(&pc, pemappend, &der);
			break;
		case BR_PEM_END_OBJ:
			if (!keep || der.err || ntas >= MAXANCHORS)
				break;
			if (ntas == cap) {
				cap = cap ? cap * 2 : 64;
				tas = xrealloc(tas, cap * sizeof(*tas));
			}
			if (tlsanchor((unsigned char *)der.p, der.len,
			    &tas[ntas]) == 0)
				ntas++;
			else
				tasbad++;
			break;
		case BR_PEM_ERROR:
			/* one damaged object: on to the next "-----BEGIN "
			 * at the start of a line; vtcode check counts it */
			tasbad++;
			keep = 0;
			br_pem_decoder_init(&pc);
			/* from the start of the line it stopped in, which may
			 * begin the next object; always past the last restart */
			i = off > 0 && buf[off - 1] == '\n' ? off - 1 : off;
			for (; i > 0 && buf[i - 1] != '\n'; i--)
				;
			for (i = MAX(i, restart + 1); i < len; i++)
				if (buf[i - 1] == '\n' && len - i > 11 &&
				    memcmp(buf + i, "-----BEGIN ", 11) == 0)
					break;
			off = restart = MIN(i, len);
			k = 1;  /* not stuck: the skip moved on or ended */
			break;
		}
		if (k == 0 && off < len)
			break;
	}
	buffree(&der);
	free(buf);
	if (ntas == 0) {
		snprintf(why, wsz, "CA bundle %s: no usable certificate",
		    cafile);
		return -1;
	}
	return 0;
}

/* set c->err; vsnprintf truncates quietly where snprintf would warn */
static void
connerr(Conn *c, const char *fmt, ...)
{
	char m[sizeof(c->err)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(m, sizeof(m), fmt, ap);
	va_end(ap);
	memcpy(c->err, m, sizeof(m));
}

/* BearSSL's error in words a user can act on */
static void
tlserror(Conn *c)
{
	int e = br_ssl_engine_last_error(&c->sc->eng);
	char m[sizeof(c->err)];

	if (c->timedout || c->cancel || (e == BR_ERR_IO && !c->eof &&
	    c->err[0] != '\0'))
		return;         /* the socket layer said why */
	if (e != BR_ERR_IO && e != 0)
		c->refused = 1; /* a certificate or protocol failure: again
				 * would fail the same way */
	if (e == BR_ERR_X509_NOT_TRUSTED)
		connerr(c, "%s: TLS: certificate not signed by a trusted CA "
		    "(CA bundle %s)", c->host, cafile);
	if (e == BR_ERR_X509_NOT_TRUSTED)
		return;
	if (e == BR_ERR_X509_EXPIRED)
		snprintf(m, sizeof(m), "%s: TLS: certificate expired or not "
		    "yet valid", c->host);
	else if (e == BR_ERR_X509_BAD_SERVER_NAME)
		snprintf(m, sizeof(m), "%s: TLS: certificate does not match "
		    "the host name", c->host);
	else if (e == BR_ERR_RECV_FATAL_ALERT + 70)
		snprintf(m, sizeof(m), "%s: TLS: server requires TLS 1.3; "
		    "vtcode speaks TLS 1.2 (BearSSL)", c->host);
	else if (e == BR_ERR_RECV_FATAL_ALERT + 40)
		snprintf(m, sizeof(m), "%s: TLS: handshake failure: no cipher "
		    "suite in common (vtcode offers ECDHE with AES-GCM or "
		    "ChaCha20-Poly1305)", c->host);
	else if (e >= BR_ERR_RECV_FATAL_ALERT && e < BR_ERR_SEND_FATAL_ALERT)
		snprintf(m, sizeof(m), "%s: TLS: the server sent fatal alert "
		    "%d", c->host, e - BR_ERR_RECV_FATAL_ALERT);
	else if (e >= BR_ERR_SEND_FATAL_ALERT && e < BR_ERR_SEND_FATAL_ALERT +
	    256)
		snprintf(m, sizeof(m), "%s: TLS: vtcode ended the handshake "
		    "with alert %d (the server broke the protocol)", c->host,
		    e - BR_ERR_SEND_FATAL_ALERT);
	else if (e == BR_ERR_UNSUPPORTED_VERSION || e == BR_ERR_BAD_LENGTH)
		snprintf(m, sizeof(m), "%s: TLS: the server did not answer "
		    "with TLS (a plain http server at an https:// URL?)",
		    c->host);
	else if (e >= BR_ERR_X509_OK && e < 64)
		snprintf(m, sizeof(m), "%s: TLS: certificate rejected (X.509 "
		    "error %d)", c->host, e);
	else if (e == BR_ERR_IO || e == 0)
		snprintf(m, sizeof(m), "%s: connection closed by the server",
		    c->host);
	else
		snprintf(m, sizeof(m), "%s: TLS error %d", c->host, e);
	memcpy(c->err, m, sizeof(m));
}

/* start TLS on a connected c for server name host */
static int
tlsstart(Conn *c, const char *host)
{
	static const uint16_t suites[] = {
		BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
		BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
		BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
		BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
		BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
		BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
	};
	unsigned char seed[32];
	char why[PATH_MAX + 128];

	if (tlsload(why, sizeof(why)) != 0) {
		connerr(c, "%s", why);
		return -1;
	}
	/* an address for a host was refused by connopen(), its one
	 * caller: BearSSL matches names only */
	c->sc = xmalloc(sizeof(*c->sc));
	c->xc = xmalloc(sizeof(*c->xc));
	c->iobuf = xmalloc(BR_SSL_BUFSIZE_BIDI);
	br_ssl_client_init_full(c->sc, c->xc, tas, ntas);
	br_ssl_engine_set_versions(&c->sc->eng, BR_TLS12, BR_TLS12);
	br_ssl_engine_set_suites(&c->sc->eng, suites, LEN(suites));
	br_ssl_engine_set_buffer(&c->sc->eng, c->iobuf, BR_SSL_BUFSIZE_BIDI, 1);
	randbytes(seed, sizeof(seed));
	br_ssl_engine_inject_entropy(&c->sc->eng, seed, sizeof(seed));
	/* a name is always given: SNI and host-name verification */
	if (!br_ssl_client_reset(c->sc, host, 0)) {
		tlserror(c);
		return -1;
	}
	br_sslio_init(&c->io, &c->sc->eng, sockread, c, sockwrite, c);
	c->tls = 1;
	if (br_sslio_flush(&c->io) != 0) {
		tlserror(c);
		return -1;
	}
	return 0;
}

static void
connclose(Conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	/* the engine's buffer held the request head in the clear, the
	 * key with it; the engine, the session keys */
	if (c->iobuf != NULL)
		explicit_bzero(c->iobuf, BR_SSL_BUFSIZE_BIDI);
	if (c->sc != NULL)
		explicit_bzero(c->sc, sizeof(*c->sc));
	free(c->sc);
	free(c->xc);
	free(c->iobuf);
	c->sc = NULL;
	c->xc = NULL;
	c->iobuf = NULL;
	c->tls = 0;
}

static int
connwrite(Conn *c, const void *p, size_t n)
{
	const unsigned char *b = p;
	int r;

	if (c->tls) {
		if (br_sslio_write_all(&c->io, p, n) != 0 ||
		    br_sslio_flush(&c->io) != 0) {
			tlserror(c);
			return -1;
		}
		return 0;
	}
	while (n > 0) {
		if ((r = sockwrite(c, b, n)) < 0) {
			if (c->eof)
				snprintf(c->err, sizeof(c->err), "%s: connection "
				    "closed by the server", c->host);
			return -1;
		}
		b += r;
		n -= (size_t)r;
	}
	return 0;
}

/* >0 bytes, 0 at the end of the stream, -1 with c->err set */
static int
connread(Conn *c, void *p, size_t n)
{
	int r, e;

	c->err[0] = '\0';
	if (c->tls) {
		if ((r = br_sslio_read(&c->io, p, n)) > 0)
			return r;
		e = br_ssl_engine_last_error(&c->sc->eng);
		if (e == 0 && !c->timedout && !c->cancel)
			return 0;       /* close_notify */
		if (e == BR_ERR_IO && c->eof) {
			/* closed without close_notify: the caller decides
			 * whether the framing makes that a truncation */
			return 0;
		}
		tlserror(c);
		return -1;
	}
	r = sockread(c, p, n);
	if (r < 0 && c->eof)
		return 0;
	return r;
}

/*
 * Open a connection for URL u: directly, or through the proxy the
 * environment names (HTTP CONNECT, Basic auth from the proxy URL's
 * userinfo), then TLS with the target's name.  0, or -1 with c->err.
 */
static int
connsetup(Conn *c, const Url *u, long timeoutms)
{
	char req[2048], why[256], cred[1024], auth[280], *b64 = NULL;
	const char *proxy = netproxy(u);
	HttpResp r;
	Url pu;
	int n, done = 0;
	char buf[2048];
	size_t k, clen;

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	/* a proxy's answer and the handshake are the machines' part, no
	 * model thinking: NETCONNECTMS of silence, NETSETUPMS in all */
	c->idlems = NETCONNECTMS;
	c->deadline = nowms() + MIN(timeoutms, NETSETUPMS);
	snprintf(c->host, sizeof(c->host), "%s", u->host);
	if (u->tls && hostaddr(u->host)) {
		/* refused before any connection, and never retried: BearSSL
		 * would check an address against the certificate's DNS
		 * names as if it were one */
		snprintf(c->err, sizeof(c->err), "%s: https needs a host name, "
		    "not an IP address", u->host);
		c->refused = 1;
		return -1;
	}
	if (proxy == NULL)
		return netconnect(c, u->host, u->port, !u->tls &&
		    !PLAINHTTPANY) != 0 ? -1 : u->tls ? tlsstart(c, u->host) :
		    0;
	if (!u->tls && !PLAINHTTPANY) {
		snprintf(c->err, sizeof(c->err), "%s: plain http only to this "
		    "machine (loopback): use https", u->host);
		c->refused = 1;
		return -1;
	}
	if (urlparse(&pu, proxy, why, sizeof(why)) != 0 || pu.tls) {
		/* never the URL itself: it may hold a password */
		snprintf(c->err, sizeof(c->err), "the proxy URL in the "
		    "environment is %s", pu.tls ? "https://, which is not "
		    "supported: use http://" : "not a usable http:// URL");
		explicit_bzero(&pu, sizeof(pu));
		c->refused = 1;
		return -1;
	}
	if (netconnect(c, pu.host, pu.port, 0) != 0) {
		explicit_bzero(&pu, sizeof(pu));
		memcpy(why, c->err, sizeof(why) - 1);
		why[sizeof(why) - 1] = '\0';
		connerr(c, "proxy %s", why);
		return -1;
	}
	cred[0] = '\0';
	if (pu.user[0] != '\0') {
		char up[520];
		k = (size_t)snprintf(up, sizeof(up), "%s:%s", pu.user, pu.pass);
		b64 = xmalloc(((k + 2) / 3) * 4 + 1);
		base64enc((unsigned char *)up, MIN(k, sizeof(up) - 1), b64);
		snprintf(cred, sizeof(cred), "Proxy-Authorization: Basic "
		    "%s\r\n", b64);
		explicit_bzero(up, sizeof(up));
		explicit_bzero(b64, strlen(b64));
		free(b64);
	}
	/* the name and password live on only in cred, zeroed below */
	explicit_bzero(pu.user, sizeof(pu.user));
	explicit_bzero(pu.pass, sizeof(pu.pass));
	urlauthority(u, 1, auth, sizeof(auth));
	n = snprintf(req, sizeof(req), "CONNECT %s HTTP/1.1\r\n"
	    "Host: %s\r\n%sUser-Agent: vtcode/%s\r\n\r\n", auth, auth, cred,
	    VERSION);
	explicit_bzero(cred, sizeof(cred));
	if (n < 0 || (size_t)n >= sizeof(req)) {
		explicit_bzero(req, sizeof(req));
		connerr(c, "proxy: the CONNECT request is too long");
		c->refused = 1;
		return -1;
	}
	if (connwrite(c, req, (size_t)n) != 0) {
		explicit_bzero(req, sizeof(req));
		return -1;
	}
	explicit_bzero(req, sizeof(req));
	httpinit(&r, NULL, NULL);
	r.nobody = 1;
	/* read byte by byte: what follows the proxy's answer is TLS */
	while (!done) {
		if ((n = connread(c, buf, 1)) <= 0) {
			memcpy(why, c->err, sizeof(why) - 1);
			why[sizeof(why) - 1] = '\0';
			connerr(c, "proxy: %s", n == 0 ? "the proxy closed the "
			    "connection" : why);
			return -1;
		}
		if ((done = httpfeed(&r, buf, 1, &clen)) < 0) {
			snprintf(c->err, sizeof(c->err), "proxy: %s", r.err);
			return -1;
		}
	}
	if (r.status < 200 || r.status > 299) {
		connerr(c, "proxy %s:%s refused CONNECT "
		    "to %s:%s: HTTP %d%s", pu.host, pu.port, u->host, u->port,
		    r.status, r.status == 407 ? " (proxy authentication "
		    "required: put user:password in the proxy URL)" : "");
		return -1;
	}
	return u->tls ? tlsstart(c, u->host) : 0;
}

/* connsetup, then the request's own limits: NETREADMS of silence while
 * the model thinks, timeoutms in all from the start */
static int
connopen(Conn *c, const Url *u, long timeoutms)
{
	long start = nowms();
	int rc = connsetup(c, u, timeoutms);

	c->idlems = NETREADMS;
	c->deadline = start + timeoutms;
	return rc;
}

/* ---- http: a response parser fed any number of bytes at a time ---- */

static void
httpinit(HttpResp *r, int (*body)(void *, const char *, size_t),
    void *ctx)
{
	memset(r, 0, sizeof(*r));
	r->state = HStatus;
	r->body = body;
	r->ctx = ctx;
}

static int
httpfail(HttpResp *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->err, sizeof(r->err), fmt, ap);
	va_end(ap);
	r->state = HDone;
	return -1;
}

/* one complete line of the head, trailers or chunk framing */
static int
httpline(HttpResp *r)
{
	char *l = r->line, *v, *e;
	size_t n = r->linelen, i;
	uint64_t x;
	int d;

	l[n] = '\0';
	switch (r->state) {
	case HStatus:
		if (n < 12 || strncmp(l, "HTTP/1.", 7) != 0 ||
		    (l[7] != '0' && l[7] != '1') || l[8] != ' ' ||
		    !isdigit((unsigned char)l[9]) ||
		    !isdigit((unsigned char)l[10]) ||
		    !isdigit((unsigned char)l[11]) ||
		    (l[12] != ' ' && l[12] != '\0'))
			return httpfail(r, "not an HTTP/1.x status line");
		r->status = (l[9] - '0') * 100 + (l[10] - '0') * 10 +
		    (l[11] - '0');
		if (r->status < 100)
			return httpfail(r, "bad status %d", r->status);
		r->state = HHeader;
		return 0;
	case HHeader:
	case HTrailer:
		if (n == 0)
			break;
		if (++r->nhdr > MAXHTTPHEADERN)
			return httpfail(r, "more than %d header lines",
			    MAXHTTPHEADERN);
		if (l[0] == ' ' || l[0] == '\t')
			return httpfail(r, "folded header line");
		if ((v = strchr(l, ':')) == NULL || v == l)
			return httpfail(r, "malformed header line");
		for (i = 0; l + i < v; i++)
			if (!isalnum((unsigned char)l[i]) &&
			    strchr("!#$%&'*+-.^_`|~", l[i]) == NULL)
				return httpfail(r, "malformed header name");
		*v++ = '\0';
		while (*v == ' ' || *v == '\t')
			v++;
		e = v + strlen(v);
		while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
			*--e = '\0';
		for (e = v; *e; e++)
			if (((unsigned char)*e < ' ' && *e != '\t') || *e == 0x7f)
				return httpfail(r, "control byte in header %s",
				    l);
		if (r->state == HTrailer)
			return 0;
		if (strcasecmp(l, "content-length") == 0) {
			if (*v == '\0' || strspn(v, "0123456789") != strlen(v) ||
			    strlen(v) > 18)
				return httpfail(r, "bad Content-Length");
			x = strtoull(v, NULL, 10);
			if (r->hasclen && x != r->clen)
				return httpfail(r, "conflicting Content-Length "
				    "headers");
			r->hasclen = 1;
			r->clen = x;
		} else if (strcasecmp(l, "transfer-encoding") == 0) {
			if (strcasecmp(v, "chunked") != 0)
				return httpfail(r, "unsupported Transfer-Encoding "
				    "'%.40s'", v);
			r->chunked = 1;
		} else if (strcasecmp(l, "content-type") == 0) {
			snprintf(r->ctype, sizeof(r->ctype), "%s", v);
		} else if (strcasecmp(l, "retry-after") == 0) {
			snprintf(r->retryafter, sizeof(r->retryafter), "%s", v);
		} else if (strcasecmp(l, "retry-after-ms") == 0) {
			snprintf(r->retryafterms, sizeof(r->retryafterms), "%s",
			    v);
		}
		return 0;
	case HChunkSize:
		x = 0;
		for (i = 0; i < n && isxdigit((unsigned char)l[i]); i++) {
			d = isdigit((unsigned char)l[i]) ? l[i] - '0' :
			    tolower((unsigned char)l[i]) - 'a' + 10;
			if (x > (UINT64_MAX >> 4))
				return httpfail(r, "chunk size overflows");
			x = x << 4 | (uint64_t)d;
		}
		if (i == 0 || (i < n && l[i] != ';' && l[i] != ' ' &&
		    l[i] != '\t'))
			return httpfail(r, "bad chunk size line");
		if (x > MAXHTTPBODY || r->total + x > MAXHTTPBODY)
			return httpfail(r, "chunk of %llu bytes: the response "
			    "would exceed MAXHTTPBODY (%d bytes)",
			    (unsigned long long)x, MAXHTTPBODY);
		r->left = x;
		r->state = x == 0 ? HTrailer : HChunkData;
		r->nhdr = 0;
		return 0;
	case HChunkEnd:
		if (n != 0)
			return httpfail(r, "no line end after chunk data");
		r->state = HChunkSize;
		return 0;
	default:
		return httpfail(r, "internal state");
	}
	/* the empty line that ends the head or the trailers */
	if (r->state == HTrailer) {
		r->state = HDone;
		return 1;
	}
	if (r->status >= 100 && r->status < 200 && r->status != 101) {
		r->state = HStatus;     /* an interim response: the real one
					 * follows */
		r->nhdr = 0;
		r->hasclen = r->chunked = 0;
		return 0;
	}
	if (r->chunked && r->hasclen)
		return httpfail(r, "both Content-Length and Transfer-Encoding: "
		    "ambiguous framing");
	if (r->nobody || r->status == 204 || r->status == 304) {
		r->state = HDone;
		return 1;
	}
	if (r->hasclen && r->clen > MAXHTTPBODY)
		return httpfail(r, "Content-Length %llu exceeds MAXHTTPBODY (%d "
		    "bytes)", (unsigned long long)r->clen, MAXHTTPBODY);
	r->state = r->chunked ? HChunkSize : r->hasclen ? HBody : HClose;
	r->left = r->clen;
	r->nhdr = 0;
	if (r->state == HBody && r->left == 0) {
		r->state = HDone;
		return 1;
	}
	return 0;
}

/*
 * Feed n bytes.  Returns 0 for more, 1 when the response is complete
 * (*used says how many bytes it took), -1 with r->err set.  Body bytes go
 * to r->body, which may return -1 to stop.
 */
static int
httpfeed(HttpResp *r, const char *p, size_t n, size_t *used)
{
	size_t i = 0, k;
	int rc;
	char ch;

	while (i < n) {
		switch (r->state) {
		case HDone:
			*used = i;
			return 1;
		case HBody:
		case HChunkData:
		case HClose:
			k = n - i;
			if (r->state != HClose && k > r->left)
				k = (size_t)r->left;
			if (r->state == HClose && r->total + k > MAXHTTPBODY)
				return httpfail(r, "response body exceeds "
				    "MAXHTTPBODY (%d bytes)", MAXHTTPBODY);
			if (r->body && r->body(r->ctx, p + i, k) != 0)
				return httpfail(r, "%s", "stopped by the reader");
			r->total += k;
			i += k;
			if (r->state == HClose)
				break;
			r->left -= k;
			if (r->left == 0) {
				if (r->state == HBody) {
					r->state = HDone;
					*used = i;
					return 1;
				}
				r->state = HChunkEnd;
			}
			break;
		default:
			ch = p[i++];
			if (r->state == HStatus || r->state == HHeader ||
			    r->state == HTrailer) {
				if (++r->hdrbytes > MAXHTTPHEADERS)
					return httpfail(r, "response head larger "
					    "than MAXHTTPHEADERS (%d bytes)",
					    MAXHTTPHEADERS);
			}
			if (ch == '\n') {
				if (r->linelen > 0 && r->line[r->linelen - 1] ==
				    '\r')
					r->linelen--;
				rc = httpline(r);
				r->linelen = 0;
				if (rc < 0)
					return -1;
				if (rc == 1) {
					*used = i;
					return 1;
				}
				break;
			}
			if (ch == '\0')
				return httpfail(r, "NUL byte in the response "
				    "head");
			if (r->linelen >= MAXHTTPLINE)
				return httpfail(r, "line longer than MAXHTTPLINE "
				    "(%d bytes)", MAXHTTPLINE);
			r->line[r->linelen++] = ch;
		}
	}
	*used = i;
	return r->state == HDone;
}

/* the end of the connection: fine only where it ends the framing */
static int
httpeof(HttpResp *r)
{
	if (r->state == HClose || r->state == HDone) {
		r->state = HDone;
		return 1;
	}
	return httpfail(r, "%s", r->state == HStatus && r->linelen == 0 &&
	    r->hdrbytes == 0 ? "the server closed the connection without "
	    "answering" : "the server closed the connection in the middle "
	    "of the response");
}

/* ---- sse: server-sent events, fed any number of bytes at a time ---- */

static void
sseinit(Sse *s, int (*cb)(void *, const char *, const char *, size_t),
    void *ctx)
{
	memset(s, 0, sizeof(*s));
	bufinit(&s->line, MAXSSELINE);
	/* an event's data (its lines and the LFs between them) is under
	 * MAXSSEDATA bytes, as tests/fuzz/sse.c's model of the rules has it */
	bufinit(&s->data, MAXSSEDATA - 1);
	s->cb = cb;
	s->ctx = ctx;
}

static void
ssefree(Sse *s)
{
	buffree(&s->line);
	buffree(&s->data);
}

/* the pending data held by reference, copied into s->data before the
 * bytes it points to go away */
static int
sseown(Sse *s)
{
	if (s->view == NULL)
		return 0;
	s->data.len = 0;
	bufadd(&s->data, s->view, s->viewn);
	s->view = NULL;
	if (s->data.err) {
		snprintf(s->err, sizeof(s->err), "event data larger than "
		    "MAXSSEDATA (%d bytes)", MAXSSEDATA);
		return -1;
	}
	return 0;
}

/*
 * One line: a field, a comment, or the blank line that dispatches.
 * stable: l lies in the caller's input, which outlives this ssefeed()
 * call, so the first data line of an event is only pointed at (the
 * common event, one data line then a blank one in the same read, is
 * never copied); ssefeed() copies it before it returns.
 */
static int
sseline(Sse *s, const char *l, size_t n, int stable)
{
	const char *v;
	size_t fl, vl;
	int rc = 0;

	if (!s->started) {
		s->started = 1;
		if (n >= 3 && memcmp(l, "\xef\xbb\xbf", 3) == 0) {
			l += 3;
			n -= 3;
		}
	}
	if (n == 0) {
		if (s->hasdata)
			rc = s->cb(s->ctx, s->event[0] ? s->event : "message",
			    s->view ? s->view : s->data.p ? s->data.p : "",
			    s->view ? s->viewn : s->data.len);
		s->view = NULL;
		s->data.len = 0;
		s->hasdata = 0;
		s->event[0] = '\0';
		return rc;
	}
	if (l[0] == ':')
		return 0;       /* a comment: keep-alive pings */
	/* "data:" first: nearly every line is one */
	v = n >= 5 && memcmp(l, "data:", 5) == 0 ? l + 4 : memchr(l, ':', n);
	fl = v ? (size_t)(v - l) : n;
	if (v) {
		v++;
		if (v < l + n && *v == ' ')
			v++;
		vl = (size_t)(l + n - v);
	} else {
		v = l + n;
		vl = 0;
	}
	if (fl == 4 && memcmp(l, "data", 4) == 0) {
		if (!s->hasdata && stable && vl < MAXSSEDATA) {
			s->view = v;
			s->viewn = vl;
			s->hasdata = 1;
			return 0;
		}
		/* lines after the first are joined with LF */
		if (sseown(s) != 0)
			return -1;
		if (s->hasdata)
			bufaddc(&s->data, '\n');
		bufadd(&s->data, v, vl);
		if (s->data.err) {
			snprintf(s->err, sizeof(s->err), "event data larger "
			    "than MAXSSEDATA (%d bytes)", MAXSSEDATA);
			return -1;
		}
		s->hasdata = 1;
	} else if (fl == 5 && memcmp(l, "event", 5) == 0) {
		if (vl >= sizeof(s->event)) {
			snprintf(s->err, sizeof(s->err), "event name too long");
			return -1;
		}
		memcpy(s->event, v, vl);
		s->event[vl] = '\0';
	}
	/* id, retry and unknown fields are ignored, as the rules say */
	return 0;
}

/* feed n bytes; 0, or -1 (s->err set, or the callback's refusal) */
static int
ssefeed(Sse *s, const char *p, size_t n)
{
	const char *nl, *cr;
	size_t i, k;
	int rc = 0;

	for (i = 0; i < n && rc == 0; i = k) {
		if (s->sawcr) {
			s->sawcr = 0;
			if (p[i] == '\n') {
				k = i + 1;
				continue;
			}
		}
		/* a blank line (LF) needs no search: one ends every event */
		nl = p[i] == '\n' ? p + i : memchr(p + i, '\n', n - i);
		cr = nl == p + i ? NULL : memchr(p + i, '\r', nl ?
		    (size_t)(nl - p) - i : n - i);
		k = cr ? (size_t)(cr - p) : nl ? (size_t)(nl - p) : n;
		if (k - i > MAXSSELINE || s->line.len + (k - i) > MAXSSELINE) {
			snprintf(s->err, sizeof(s->err), "line longer than "
			    "MAXSSELINE (%d bytes)", MAXSSELINE);
			rc = -1;
			break;
		}
		if (k == n) {           /* the rest of a line comes later */
			bufadd(&s->line, p + i, k - i);
			break;
		}
		s->sawcr = p[k] == '\r';
		if (s->line.len == 0) {
			rc = sseline(s, p + i, k - i, 1);  /* whole: no copy */
		} else {
			bufadd(&s->line, p + i, k - i);
			rc = sseline(s, s->line.p, s->line.len, 0);
			s->line.len = 0;
		}
		k++;
	}
	/* nothing may point into p once it is given back */
	if (sseown(s) != 0)
		rc = -1;
	return rc != 0 ? -1 : 0;
}

/* the end of the stream: an event without its blank line is dropped */
static int
sseend(Sse *s)
{
	if (s->line.len > 0) {
		if (sseline(s, s->line.p, s->line.len, 0) != 0)
			return -1;
		s->line.len = 0;
	}
	return 0;
}

/*
 * llm: providers, request bodies, the normalised stream, errors a user
 * can act on, retries and failover.  An API key goes only to its own
 * provider's base URL, which comes from config.h, the user's config or
 * environment, or a flag: never from a workspace file, never to another
 * provider.
 */

static int
providerfind(const char *name)
{
	size_t i;

	for (i = 0; i < LEN(providers); i++)
		if (strcmp(providers[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* header values must not be able to add headers */
static int
hdrsafe(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < ' ' || *s == 0x7f)
			return 0;
	return 1;
}

/*
 * Fill e for provider index pi.  chosen says whether the flags and the
 * VTCODE_* variables apply (they choose one provider; failover targets
 * keep their own settings).  A base URL set beside a provider (the user
 * config's base_url, VTCODE_BASE_URL) is that provider's: where another
 * is chosen (-P, VTCODE_PROVIDER, a resumed session) it is not used, so
 * that provider's key never goes to it.  0, or -1 with the reason in
 * why.
 */
static int
endpointset(Endpoint *e, int pi, int chosen, char *why, size_t wsz)
{
	const Provider *p = &providers[pi];
	const char *url = p->baseurl, *model = p->model, *v, *forcfg, *forenv;
	Url u;

	memset(e, 0, sizeof(*e));
	e->p = p;
	if (provurls[pi][0] != '\0')
		url = provurls[pi];
	if (chosen) {
		forcfg = cfgprovider[0] != '\0' ? cfgprovider :
		    providers[0].name;
		forenv = (v = getenv("VTCODE_PROVIDER")) != NULL && *v !=
		    '\0' ? v : forcfg;
		if (settings.model[0] != '\0')
			model = settings.model;
		if (settings.baseurl[0] != '\0' && strcmp(p->name, forcfg) ==
		    0)
			url = settings.baseurl;
		else if (settings.baseurl[0] != '\0' && flagbaseurl == NULL)
			warnx("the config's base_url is %s's, not %s's: not "
			    "used (a [base_urls] entry names a provider's)",
			    forcfg, p->name);
		if ((v = getenv("VTCODE_MODEL")) != NULL && *v != '\0')
			model = v;
		if ((v = getenv("VTCODE_BASE_URL")) != NULL && *v != '\0') {
			if (strcmp(p->name, forenv) == 0)
				url = v;
			else if (flagbaseurl == NULL)
				warnx("VTCODE_BASE_URL is %s's, not %s's: not "
				    "used (set VTCODE_PROVIDER=%s with it)",
				    forenv, p->name, p->name);
		}
		if (flagmodel != NULL)
			model = flagmodel;
		if (flagbaseurl != NULL)
			url = flagbaseurl;
	}
	if (strlen(url) >= sizeof(e->baseurl) ||
	    strlen(model) >= sizeof(e->model)) {
		snprintf(why, wsz, "%s: base URL or model name too long",
		    p->name);
		return -1;
	}
	snprintf(e->baseurl, sizeof(e->baseurl), "%s", url);
	snprintf(e->model, sizeof(e->model), "%s", model);
	while (e->baseurl[0] && e->baseurl[strlen(e->baseurl) - 1] == '/')
		e->baseurl[strlen(e->baseurl) - 1] = '\0';
	if (urlparse(&u, e->baseurl, why, wsz) != 0)
		return -1;
	if (!hdrsafe(e->model)) {
		snprintf(why, wsz, "%s: model name has control characters",
		    p->name);
		return -1;
	}
	if (p->keyenv != NULL && (v = getenv(p->keyenv)) != NULL &&
	    *v != '\0') {
		if (!hdrsafe(v) || strlen(v) > MAXKEYLEN) {
			snprintf(why, wsz, "%s: the key in %s has control "
			    "characters or is too long", p->name, p->keyenv);
			return -1;
		}
		e->key = v;
	}
	return 0;
}

/* the tools offered to the model: those the policy would not refuse
 * whatever they are asked (the trust gate, config.h, the user's and the
 * workspace's overrides); run_command decides per command line */
static int
tooloffered(const Tool *t)
{
	const ToolRule *r = toolrule(t->name);
	char *name[1] = { (char *)t->name };
	Verdict v;

	memset(&v, 0, sizeof(v));       /* verdict() combines with it */
	if (strcmp(t->name, "run_command") == 0) {
		if (policytool(r, t->name, &v))
			return 0;
		verdict(&v, r->decision, "%s", r->reason);
		overapply(OvTool, name, 1, &v);
		return v.d != Deny;
	}
	return policydecide(t->name, NULL, 0, NULL, &v) != Deny;
}

/* a tool's JSON schema, copied through the parser so it is valid JSON */
static void
jwschema(JWriter *w, const char *schema)
{
	JTok tok[256];
	JDoc d;

	if (jsonparse(&d, schema, strlen(schema), tok, (int)LEN(tok)) < 0)
		die("tool schema in vtcode.c: %s", d.err);
	jwtok(w, &d, 0);
}

/* the whole request body for one turn */
static void
llmbody(const Endpoint *e, const Conv *cv, Buf *b)
{
	JWriter w;
	const Msg *m;
	int k, j, anth = e->p->kind == KindAnthropic;
	JTok *tok = NULL;
	JDoc d;

	jwinit(&w, b);
	jwobj(&w);
	jwkey(&w, "model");
	jwstr(&w, e->model);
	if (anth) {
		jwkey(&w, "max_tokens");
		jwint(&w, MAXOUTTOKENS);
		jwkey(&w, "system");
		jwstr(&w, systemprompt);
	}
	jwkey(&w, "stream");
	jwbool(&w, 1);
	if (!anth) {
		jwkey(&w, "stream_options");
		jwobj(&w);
		jwkey(&w, "include_usage");
		jwbool(&w, 1);
		jwend(&w);
	}
	jwkey(&w, "messages");
	jwarr(&w);
	if (!anth) {
		jwobj(&w);
		jwkey(&w, "role");
		jwstr(&w, "system");
		jwkey(&w, "content");
		jwstr(&w, systemprompt);
		jwend(&w);
	}
	for (k = 0; k < cv->n; k++) {
		m = &cv->m[k];
		jwobj(&w);
		if (m->role == RoleUser) {
			jwkey(&w, "role");
			jwstr(&w, "user");
			jwkey(&w, "content");
			jwstr(&w, m->text);
		} else if (m->role == RoleAssistant) {
			jwkey(&w, "role");
			jwstr(&w, "assistant");
			jwkey(&w, "content");
			if (anth) {
				jwarr(&w);
				if (m->text[0] != '\0') {
					jwobj(&w);
					jwkey(&w, "type");
					jwstr(&w, "text");
					jwkey(&w, "text");
					jwstr(&w, m->text);
					jwend(&w);
				}
			} else if (m->text[0] != '\0' || m->ncalls == 0) {
				jwstr(&w, m->text);
			} else {
				jwnull(&w);
			}
			if (!anth && m->ncalls > 0) {
				jwkey(&w, "tool_calls");
				jwarr(&w);
			}
			for (j = 0; j < m->ncalls; j++) {
				const ToolCall *c = &m->calls[j];
				jwobj(&w);
				jwkey(&w, "id");
				jwstr(&w, c->id);
				jwkey(&w, "type");
				jwstr(&w, anth ? "tool_use" : "function");
				if (anth) {
					jwkey(&w, "name");
					jwstr(&w, c->name);
					jwkey(&w, "input");
					/* arguments the model sent that are not
					 * an object go back as an empty one: the
					 * tool already told it they were wrong */
					free(tok);
					tok = xmalloc(sizeof(*tok) * (c->args.len
					    / 2 + 8));
					if (jsonparse(&d, c->args.p, c->args.len,
					    tok, (int)(c->args.len / 2 + 8)) >= 0
					    && jsontype(&d, 0) == JObject)
						jwtok(&w, &d, 0);
					else {
						jwobj(&w);
						jwend(&w);
					}
				} else {
					jwkey(&w, "function");
					jwobj(&w);
					jwkey(&w, "name");
					jwstr(&w, c->name);
					jwkey(&w, "arguments");
					jwstrn(&w, c->args.p, c->args.len);
					jwend(&w);
				}
				jwend(&w);
			}
			if (anth || m->ncalls > 0)
				jwend(&w);
		} else {
			/* tool results: Anthropic wants every result of one
			 * assistant turn in one user message */
			if (anth) {
				jwkey(&w, "role");
				jwstr(&w, "user");
				jwkey(&w, "content");
				jwarr(&w);
				for (; k < cv->n && cv->m[k].role == RoleTool;
				    k++) {
					m = &cv->m[k];
					jwobj(&w);
					jwkey(&w, "type");
					jwstr(&w, "tool_result");
					jwkey(&w, "tool_use_id");
					jwstr(&w, m->callid);
					jwkey(&w, "content");
					jwstr(&w, m->text);
					if (m->iserror) {
						jwkey(&w, "is_error");
						jwbool(&w, 1);
					}
					jwend(&w);
				}
				k--;
				jwend(&w);
			} else {
				jwkey(&w, "role");
				jwstr(&w, "tool");
				jwkey(&w, "tool_call_id");
				jwstr(&w, m->callid);
				jwkey(&w, "content");
				jwstr(&w, m->text);
			}
		}
		jwend(&w);
	}
	free(tok);
	jwend(&w);
	jwkey(&w, "tools");
	toolsjson(&w, anth);
	jwend(&w);
}

/* ---- the normalised stream ---- */

static void
turninit(Turn *t, int kind, void (*emit)(void *, int, const char *,
    size_t), void *ctx)
{
	memset(t, 0, sizeof(*t));
	t->kind = kind;
	bufinit(&t->text, MAXANSWER);
	bufinit(&t->reasoning, MAXANSWER);
	t->emit = emit;
	t->ctx = ctx;
}

static void
turnfree(Turn *t)
{
	int i;

	buffree(&t->text);
	buffree(&t->reasoning);
	free(t->tok);
	t->tok = NULL;
	t->ntok = 0;
	for (i = 0; i < t->ncalls; i++) {
		free(t->calls[i].id);
		free(t->calls[i].name);
		buffree(&t->calls[i].args);
	}
	t->ncalls = 0;
}

static void
turnemit(Turn *t, int ev, const char *p, size_t n)
{
	if (ev == EvText || ev == EvReasoning || ev == EvToolStart)
		t->any = 1;
	if (t->emit)
		t->emit(t->ctx, ev, p, n);
}

static int
turnerr(Turn *t, int kind, const char *fmt, ...)
{
	va_list ap;

	if (t->errkind != ErrNone)
		return -1;      /* the first error is the one to report */
	va_start(ap, fmt);
	vsnprintf(t->err, sizeof(t->err), fmt, ap);
	va_end(ap);
	termsafe(t->err);       /* servers write these words */
	t->errkind = kind;
	turnemit(t, EvError, t->err, strlen(t->err));
	return -1;
}

/* make s fit for a terminal in place: control bytes (C0, DEL, C1) and
 * bytes that are not UTF-8 become '?', so a server's message cannot
 * move the cursor, retitle the window or hide text */
static void
termsafe(char *s)
{
	size_t i, n = strlen(s);
	uint32_t cp;
	int k;

	for (i = 0; i < n; i += (size_t)k) {
		k = utf8dec((unsigned char *)s + i, n - i, &cp);
		if (k <= 0) {
			s[i] = '?';
			k = 1;
		} else if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) ||
		    (cp >= 0x202a && cp <= 0x202e) ||
		    (cp >= 0x2066 && cp <= 0x2069)) {
			memset(s + i, '?', (size_t)k);
		}
	}
}

/* what kind of failure a server's message describes */
static int
errclassify(int status, const char *code, const char *msg)
{
	static const char *ctx[] = { "context length", "context_length",
		"maximum context", "prompt is too long", "too many tokens",
		"context window", "exceeds the context", "n_ctx",
		"context size", "exceed_context_size" };  /* llama.cpp */
	size_t i;

	if (strstr(code, "insufficient_quota") || strstr(msg, "quota"))
		return ErrQuota;
	for (i = 0; i < LEN(ctx); i++)
		if (strcasestr(code, ctx[i]) || strcasestr(msg, ctx[i]))
			return ErrContext;
	if (status == 401 || status == 403 || strstr(code, "authentication")
	    || strstr(code, "permission"))
		return ErrAuth;
	if (strcasestr(msg, "no models loaded") || strstr(code,
	    "model_not_found") || (status == 404 && strcasestr(msg, "model")))
		return ErrModel;
	if (status == 408 || status == 409 || status == 429 || status >= 500
	    || strstr(code, "overloaded") || strstr(code, "rate_limit") ||
	    strcmp(code, "api_error") == 0)
		return ErrRetry;
	return ErrBad;
}

/* what a user can do about an error of kind k, into hint */
static void
errhint(int k, const Endpoint *ep, char *hint, size_t sz)
{
	hint[0] = '\0';
	if (k == ErrAuth)
		snprintf(hint, sz, ep && ep->p->keyenv ? " (check the key in "
		    "%s%s)" : " (this provider takes no key)", ep ?
		    ep->p->keyenv : "", ep && !ep->key ? ", which is not set" :
		    "");
	else if (k == ErrModel)
		snprintf(hint, sz, " (load a model in the server, or pass -m "
		    "with one that `vtcode check` lists)");
	else if (k == ErrContext)
		snprintf(hint, sz, " (the conversation is longer than the "
		    "model's context window)");
	else if (k == ErrQuota)
		snprintf(hint, sz, " (quota exhausted: not retried)");
}

/* an "error" member, a string or an object with message/type/code */
static int
turnerror(Turn *t, const JDoc *d, int e, int status, const Endpoint *ep)
{
	char msg[300] = "", code[64] = "", hint[200];
	int k;

	if (jsontype(d, e) == JString)
		jsonstr(d, e, msg, sizeof(msg), NULL);
	else if (jsontype(d, e) == JObject) {
		jsonstr(d, jsonget(d, e, "message"), msg, sizeof(msg), NULL);
		if (jsonstr(d, jsonget(d, e, "code"), code, sizeof(code),
		    NULL) != 0 || code[0] == '\0')
			jsonstr(d, jsonget(d, e, "type"), code, sizeof(code),
			    NULL);
	}
	if (msg[0] == '\0')
		snprintf(msg, sizeof(msg), "an error without a message");
	k = errclassify(status, code, msg);
	errhint(k, ep, hint, sizeof(hint));
	return turnerr(t, k, "%s%s%s%s", status ? "" : "error in the stream: ",
	    msg, code[0] ? "" : "", hint);
}

/* the call with this index, or a new one */
static ToolCall *
turncall(Turn *t, int index, const char *id)
{
	ToolCall *c;
	int i;

	for (i = t->ncalls - 1; i >= 0; i--) {
		c = &t->calls[i];
		if (c->index != index)
			continue;
		if (id != NULL && c->id != NULL && strcmp(c->id, id) != 0)
			break;  /* a second whole call at the same index */
		return c;
	}
	if (t->ncalls == MAXTOOLCALLS) {
		turnerr(t, ErrBad, "more than MAXTOOLCALLS (%d) tool calls in "
		    "one turn", MAXTOOLCALLS);
		return NULL;
	}
	c = &t->calls[t->ncalls++];
	memset(c, 0, sizeof(*c));
	c->index = index;
	bufinit(&c->args, MAXJSONSIZE);
	return c;
}

/* arguments as a string fragment or as a whole JSON value */
static int
callargs(Turn *t, ToolCall *c, const JDoc *d, int a)
{
	char *s;
	size_t n;
	Buf tmp;
	JWriter w;

	if (a < 0 || jsontype(d, a) == JNull)
		return 0;
	if (jsontype(d, a) == JString) {
		n = jsontok(d, a)->end - jsontok(d, a)->start + 1;
		s = xmalloc(n);
		if (jsonstr(d, a, s, n, &n) != 0) {
			free(s);
			return turnerr(t, ErrBad, "tool arguments: bad string");
		}
		bufadd(&c->args, s, n);
		free(s);
	} else {
		bufinit(&tmp, MAXJSONSIZE);
		jwinit(&w, &tmp);
		jwtok(&w, d, a);
		c->args.len = 0;
		bufadd(&c->args, tmp.p, tmp.len);
		buffree(&tmp);
	}
	if (c->args.err)
		return turnerr(t, ErrBad, "tool arguments larger than "
		    "MAXJSONSIZE");
	if (c->args.len > 0)
		c->gotargs = 1;
	turnemit(t, EvToolArgs, c->args.p, c->args.len);
	return 0;
}

/* a string or number member as text (ids come in both shapes) */
static char *
jsonid(const JDoc *d, int t)
{
	const JTok *k = jsontok(d, t);

	if (k == NULL)
		return NULL;
	if (k->type == JNumber)
		return xstrndup(d->buf + k->start, k->end - k->start);
	return jsonstrdup(d, t);
}

static inline void
turnstr(Turn *t, int ev, const JDoc *d, int s)
{
	Buf *b = ev == EvText ? &t->text : &t->reasoning;
	const JTok *k = jsontok(d, s);
	size_t raw, n;

	if (k == NULL || k->type != JString || k->end == k->start)
		return;
	/* unescaped straight into the answer: never longer than raw */
	raw = k->end - k->start;
	if (!bufgrow(b, raw)) {
		turnerr(t, ErrBad, "answer longer than MAXANSWER");
		return;
	}
	if (jsonstr(d, s, b->p + b->len, b->cap - b->len, &n) != 0 || n == 0)
		return;
	b->len += n;
	turnemit(t, ev, b->p + b->len - n, n);
}

/* one OpenAI-compatible chunk; only[0] the string token that was its
 * one effect (added as event only[1]), or -1 */
static int
oaichunk(Turn *t, const JDoc *d, const Endpoint *ep, int *only)
{
	static const JKey rootk[] = { JK("error"), JK("usage"),
		JK("choices") };
	static const JKey choicek[] = { JK("delta"), JK("message"),
		JK("finish_reason") };
	static const JKey deltak[] = { JK("reasoning_content"),
		JK("reasoning"), JK("content"), JK("tool_calls") };
	int ch, c0, delta, tcs, tc, f, i, a, r[3], cm[3], dm[4], ns = 0;
	int64_t idx, v;
	char *id, *name;
	ToolCall *c;

	only[0] = -1;
	only[1] = EvText;
	jsonmembers(d, 0, rootk, 3, r);
	if ((f = r[0]) >= 0)
		return turnerror(t, d, f, 0, ep);
	if ((f = r[1]) >= 0 && jsontype(d, f) == JObject) {
		if (jsonint(d, jsonget(d, f, "prompt_tokens"), 0, INT64_MAX,
		    &v) == 0)
			t->intok = v;
		if (jsonint(d, jsonget(d, f, "completion_tokens"), 0,
		    INT64_MAX, &v) == 0)
			t->outtok = v;
		turnemit(t, EvUsage, NULL, 0);
	}
	if ((ch = r[2]) < 0 || (c0 = jsonat(d, ch, 0)) < 0)
		return 0;
	jsonmembers(d, c0, choicek, 3, cm);
	if ((delta = cm[0]) < 0)
		delta = cm[1];
	if (delta >= 0 && jsontype(d, delta) == JObject) {
		jsonmembers(d, delta, deltak, 4, dm);
		turnstr(t, EvReasoning, d, dm[0]);
		turnstr(t, EvReasoning, d, dm[1]);
		turnstr(t, EvText, d, dm[2]);
		tcs = dm[3];
		for (i = 0; (tc = jsonat(d, tcs, i)) >= 0; i++) {
			if (jsonint(d, jsonget(d, tc, "index"), 0, 1 << 20,
			    &idx) != 0)
				idx = i;
			id = jsonid(d, jsonget(d, tc, "id"));
			if (id != NULL && *id == '\0') {
				free(id);
				id = NULL;
			}
			if ((c = turncall(t, (int)idx, id)) == NULL) {
				free(id);
				return -1;
			}
			if (c->id == NULL && id != NULL)
				c->id = id;
			else
				free(id);
			f = jsonget(d, tc, "function");
			name = jsonstrdup(d, jsonget(d, f, "name"));
			if (name != NULL && *name != '\0' && c->name == NULL) {
				c->name = name;
				turnemit(t, EvToolStart, name, strlen(name));
			} else {
				free(name);
			}
			a = jsonget(d, f, "arguments");
			if (callargs(t, c, d, a) != 0)
				return -1;
		}
	}
	if ((f = cm[2]) >= 0 && jsontype(d, f) == JString) {
		jsonstr(d, f, t->finish, sizeof(t->finish), NULL);
		turnemit(t, EvFinish, t->finish, strlen(t->finish));
		return 0;
	}
	/* a delta with one string in it, and nothing else that acts */
	if ((r[1] >= 0 && jsontype(d, r[1]) == JObject) || delta < 0 ||
	    jsontype(d, delta) != JObject || jsonat(d, dm[3], 0) >= 0)
		return 0;
	for (i = 0; i < 3; i++)
		if (jsontype(d, dm[i]) == JString) {
			ns++;
			only[0] = dm[i];
			only[1] = i == 2 ? EvText : EvReasoning;
		}
	if (ns != 1)
		only[0] = -1;
	return 0;
}

/* one Anthropic Messages event; only as for oaichunk */
static int
antevent(Turn *t, const JDoc *d, const Endpoint *ep, int *only)
{
	char type[40] = "", bt[40] = "", *id, *name;
	int f, cb, dl, i;
	int64_t idx = -1, v;
	ToolCall *c = NULL;

	only[0] = -1;
	only[1] = EvText;
	jsonstr(d, jsonget(d, 0, "type"), type, sizeof(type), NULL);
	if (strcmp(type, "error") == 0 || jsonget(d, 0, "error") >= 0)
		return turnerror(t, d, jsonget(d, 0, "error"), 0, ep);
	jsonint(d, jsonget(d, 0, "index"), 0, 1 << 20, &idx);
	for (i = 0; i < t->ncalls; i++)
		if (t->calls[i].index == (int)idx)
			c = &t->calls[i];
	if (strcmp(type, "message_start") == 0) {
		f = jsonget(d, jsonget(d, jsonget(d, 0, "message"), "usage"),
		    "input_tokens");
		if (jsonint(d, f, 0, INT64_MAX, &v) == 0)
			t->intok = v;
	} else if (strcmp(type, "content_block_start") == 0) {
		cb = jsonget(d, 0, "content_block");
		jsonstr(d, jsonget(d, cb, "type"), bt, sizeof(bt), NULL);
		if (strcmp(bt, "text") == 0)
			turnstr(t, EvText, d, jsonget(d, cb, "text"));
		else if (strcmp(bt, "thinking") == 0)
			turnstr(t, EvReasoning, d, jsonget(d, cb, "thinking"));
		else if (strcmp(bt, "tool_use") == 0) {
			if (idx < 0 || c != NULL)
				return turnerr(t, ErrBad, "tool_use block "
				    "without a fresh index");
			id = jsonid(d, jsonget(d, cb, "id"));
			if (id != NULL && *id == '\0') {
				free(id);       /* made up at the end */
				id = NULL;
			}
			name = jsonstrdup(d, jsonget(d, cb, "name"));
			if ((c = turncall(t, (int)idx, NULL)) == NULL) {
				free(id);
				free(name);
				return -1;
			}
			c->id = id;
			c->name = name;
			if (name != NULL && *name != '\0')  /* "" is refused at
							     * the end */
				turnemit(t, EvToolStart, name, strlen(name));
			f = jsonget(d, cb, "input");
			if (jsontype(d, f) == JObject && jsontok(d, f)->size > 0)
				return callargs(t, c, d, f);
		}
	} else if (strcmp(type, "content_block_delta") == 0) {
		dl = jsonget(d, 0, "delta");
		jsonstr(d, jsonget(d, dl, "type"), bt, sizeof(bt), NULL);
		if (strcmp(bt, "text_delta") == 0) {
			only[0] = jsonget(d, dl, "text");
			only[1] = EvText;
		} else if (strcmp(bt, "thinking_delta") == 0) {
			only[0] = jsonget(d, dl, "thinking");
			only[1] = EvReasoning;
		}
		if (only[0] >= 0) {
			turnstr(t, only[1], d, only[0]);
			if (jsontype(d, only[0]) != JString)
				only[0] = -1;
		} else if (strcmp(bt, "input_json_delta") == 0) {
			if (c == NULL)
				return turnerr(t, ErrBad, "input_json_delta for "
				    "no tool_use block");
			return callargs(t, c, d, jsonget(d, dl,
			    "partial_json"));
		}
	} else if (strcmp(type, "content_block_stop") == 0) {
		if (c != NULL)
			turnemit(t, EvToolEnd, c->name, c->name ?
			    strlen(c->name) : 0);
	} else if (strcmp(type, "message_delta") == 0) {
		f = jsonget(d, jsonget(d, 0, "delta"), "stop_reason");
		if (jsontype(d, f) == JString) {
			jsonstr(d, f, t->finish, sizeof(t->finish), NULL);
			turnemit(t, EvFinish, t->finish, strlen(t->finish));
		}
		f = jsonget(d, jsonget(d, 0, "usage"), "output_tokens");
		if (jsonint(d, f, 0, INT64_MAX, &v) == 0) {
			t->outtok = v;
			turnemit(t, EvUsage, NULL, 0);
		}
	} else if (strcmp(type, "message_stop") == 0) {
		t->done = 1;
	}
	return 0;
}

/*
 * The chunks of one answer mostly differ only in the piece of text they
 * carry: the same id, model and keys around a different "content".  A
 * chunk whose one effect was a string added to the answer is kept with
 * where that string lies (llmsse).  A next chunk with the same bytes
 * before the string's opening quote and the same bytes from its closing
 * quote on, and a valid JSON string between them, parses to the same
 * tokens but that string: the parser would accept it, the decoder would
 * take the same path, and its one effect is its own string.  Is data
 * such a chunk?  1 with that string as token 0 of d (k), else 0: it
 * goes to the parser.
 */
static int
turnlike(const Turn *t, const char *data, size_t n, JDoc *d, JTok *k)
{
	size_t suf = t->tpllen - t->tplsuf;

	if (t->tpllen == 0 || n < t->tplpre + suf || n > MAXJSONSIZE ||
	    (size_t)t->tplntok > MIN((size_t)MAXJSONTOKENS, n / 2 + 8) ||
	    memcmp(data, t->tpl, t->tplpre) != 0 ||
	    memcmp(data + n - suf, t->tpl + t->tplsuf, suf) != 0)
		return 0;
	memset(d, 0, sizeof(*d));
	memset(k, 0, sizeof(*k));
	d->buf = data;
	d->len = n;
	d->tok = k;
	d->ntok = d->maxtok = 1;
	/* the string opens where the kept one did; it must close exactly
	 * where the kept bytes resume */
	return jsonstring(d, k, t->tplpre - 1) == n - suf + 1;
}

static int
llmsse(void *ctx, const char *event, const char *data, size_t n)
{
	SseCtx *x = ctx;
	Turn *t = x->t;
	JTok *tok, k;
	JDoc d;
	int rc, ntok, only[2];

	(void)event;
	if (t->errkind != ErrNone)
		return -1;
	if (n == 6 && memcmp(data, "[DONE]", 6) == 0) {
		t->done = 1;
		return 0;
	}
	if (t->done)
		return 0;       /* nothing counts after the end */
	if (turnlike(t, data, n, &d, &k)) {
		turnstr(t, t->tplev, &d, 0);
		return 0;
	}
	ntok = (int)MIN((size_t)MAXJSONTOKENS, n / 2 + 8);
	if (ntok > t->ntok) {
		free(t->tok);
		t->ntok = MAX(ntok, 256);
		t->tok = xmalloc(sizeof(*tok) * (size_t)t->ntok);
	}
	tok = t->tok;
	if (jsonparse(&d, data, n, tok, ntok) < 0) {
		rc = turnerr(t, ErrBad, "invalid JSON in the stream at byte "
		    "%zu: %s", d.erroff, d.err);
	} else if (jsontype(&d, 0) != JObject) {
		rc = turnerr(t, ErrBad, "stream data is not a JSON object");
	} else {
		rc = t->kind == KindAnthropic ? antevent(t, &d, x->ep, only) :
		    oaichunk(t, &d, x->ep, only);
		if (rc == 0 && t->errkind == ErrNone && only[0] > 0 &&
		    n <= STREAMTPL) {
			memcpy(t->tpl, data, n);
			t->tpllen = n;
			t->tplpre = tok[only[0]].start;
			t->tplsuf = tok[only[0]].end;
			t->tplev = only[1];
			t->tplntok = d.ntok;
		}
	}
	return rc;
}

/*
 * After the stream: every call gets an id, a name and arguments ("" is
 * {}: Anthropic's empty partial_json, a call with no parameters); a
 * stream that ended without its end marker or said nothing is an error.
 */
static int
turnfinish(Turn *t, int eof)
{
	unsigned char r[6];
	char hex[13];
	int i;

	if (t->errkind != ErrNone)
		return -1;
	for (i = 0; i < t->ncalls; i++) {
		ToolCall *c = &t->calls[i];
		if (c->name == NULL || *c->name == '\0')
			return turnerr(t, ErrBad, "a tool call without a "
			    "name");
		if (c->id == NULL) {
			randbytes(r, sizeof(r));
			hexenc(r, sizeof(r), hex);
			c->id = xmalloc(32);
			snprintf(c->id, 32, "call_%s", hex);
		}
		if (c->args.len == 0)
			bufaddstr(&c->args, "{}");
		if (memchr(c->args.p, '\0', c->args.len) != NULL)
			return turnerr(t, ErrBad, "tool call arguments with a "
			    "NUL byte: not JSON");
		if (t->kind != KindAnthropic)
			turnemit(t, EvToolEnd, c->name, strlen(c->name));
	}
	if (!t->done && t->finish[0] == '\0' && eof)
		return turnerr(t, ErrNet, "the stream ended before the answer "
		    "was complete");
	if (t->text.len == 0 && t->ncalls == 0 && t->reasoning.len == 0)
		return turnerr(t, ErrBad, strcmp(t->finish, "refusal") == 0 ?
		    "the model refused to answer (stop reason: refusal)" :
		    "the server ended the stream without any output%s%s",
		    t->finish[0] ? "; stop reason: " : "", t->finish);
	return 0;
}

/* ---- one HTTP exchange ---- */

/*
 * An HTTP date (RFC 9110: IMF-fixdate, and the obsolete RFC 850 and
 * asctime forms a recipient must still take) as seconds since the
 * epoch, or -1.  Retry-After may be one.
 */
static long long
httpdate(const char *s)
{
	static const char mons[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	char mon[4] = "", zone[4] = "GMT";
	int d, y, h, mi, sec, m, n = 0;
	long long era, yoe, doy, doe;
	const char *p;

	if (sscanf(s, "%*[A-Za-z], %2d %3[A-Za-z] %4d %2d:%2d:%2d %3s%n", &d,
	    mon, &y, &h, &mi, &sec, zone, &n) == 7 && n > 0) {
		;       /* Sun, 06 Nov 1994 08:49:37 GMT */
	} else if (sscanf(s, "%*[A-Za-z], %2d-%3[A-Za-z]-%2d %2d:%2d:%2d "
	    "%3s%n", &d, mon, &y, &h, &mi, &sec, zone, &n) == 7 && n > 0) {
		y += y < 70 ? 2000 : 1900;      /* Sunday, 06-Nov-94 ... */
	} else if (sscanf(s, "%*[A-Za-z] %3[A-Za-z] %2d %2d:%2d:%2d %4d%n",
	    mon, &d, &h, &mi, &sec, &y, &n) == 6 && n > 0) {
		;       /* Sun Nov  6 08:49:37 1994 */
	} else {
		return -1;
	}
	if (s[n + strspn(s + n, " ")] != '\0' || strcmp(zone, "GMT") != 0 ||
	    strlen(mon) != 3 || (p = strstr(mons, mon)) == NULL ||
	    (p - mons) % 3 != 0 || d < 1 || d > 31 || y < 1970 || y > 9999 ||
	    h > 23 || mi > 59 || sec > 60 || h < 0 || mi < 0 || sec < 0)
		return -1;
	m = (int)(p - mons) / 3 + 1;
	/* days from the civil date (March-based years) */
	y -= m <= 2;
	era = y / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return ((era * 146097 + doe - 719468) * 24 + h) * 3600 + mi * 60 +
	    sec;
}

static int
llmbodycb(void *ctx, const char *p, size_t n)
{
	BodyCtx *b = ctx;

	if (b->stream)
		return ssefeed(b->sse, p, n);
	/* kept up to the buffer's own limit (MAXERRBODY, or MAXMODELS for a
	 * model list); the rest is not needed to explain anything */
	bufadd(b->errbody, p, MIN(n, b->errbody->max - MIN(b->errbody->max,
	    b->errbody->len)));
	return 0;
}

/* add to a request head of sz bytes holding hl: the new length, or sz
 * when it did not fit (then nothing more is added) */
static int
headf(char *b, size_t sz, int hl, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (hl < 0 || (size_t)hl >= sz)
		return (int)sz;
	va_start(ap, fmt);
	n = vsnprintf(b + hl, sz - (size_t)hl, fmt, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= sz - (size_t)hl ? (int)sz : hl + n;
}

/*
 * Send method path (body may be NULL) to base URL e->baseurl and read
 * the answer: a 200 event stream goes through the SSE decoder into t,
 * anything else is collected (bounded) into out.  Returns the HTTP
 * status, or -1 with the reason in t (kind ErrNet, ErrTimeout,
 * ErrCancel).  ra gets the server's retry-after in ms, or -1.
 */
static int
httpexchange(const Endpoint *e, const char *method, const char *path,
    const Buf *body, Turn *t, Buf *out, long *ra)
{
	/* static: one exchange at a time, and not 256 KB of stack */
	static char buf[HTTPREADBUF];
	char head[4096], why[256], auth[280];
	long long when;
	HttpResp r;
	BodyCtx bc;
	SseCtx sc;
	Sse sse;
	Conn c;
	Url u;
	size_t used = 0;
	int n, rc, hl;
	double sec;

	*ra = -1;
	if (urlparse(&u, e->baseurl, why, sizeof(why)) != 0)
		return turnerr(t, ErrBad, "%s", why);
	if (connopen(&c, &u, nettotalms()) != 0) {
		rc = turnerr(t, c.cancel ? ErrCancel : c.timedout ? ErrTimeout
		    : c.refused ? ErrBad : ErrNet, "%s", c.err);
		connclose(&c);
		return rc;
	}
	urlauthority(&u, 0, auth, sizeof(auth));
	hl = snprintf(head, sizeof(head), "%s %s%s HTTP/1.1\r\n"
	    "Host: %s\r\nUser-Agent: vtcode/%s\r\n"
	    "Accept: %s\r\nConnection: close\r\n", method,
	    strcmp(u.path, "/") == 0 ? "" : u.path, path, auth, VERSION,
	    body ? "text/event-stream" : "application/json");
	if (body != NULL)
		hl = headf(head, sizeof(head), hl,
		    "Content-Type: application/json\r\nContent-Length: %zu\r\n",
		    body->len);
	if (e->p->kind == KindAnthropic)
		hl = headf(head, sizeof(head), hl,
		    "anthropic-version: 2023-06-01\r\n");
	if (e->key != NULL)
		hl = headf(head, sizeof(head), hl,
		    e->p->kind == KindAnthropic ? "x-api-key: %s\r\n" :
		    "Authorization: Bearer %s\r\n", e->key);
	hl = headf(head, sizeof(head), hl, "\r\n");
	if ((size_t)hl >= sizeof(head)) {
		explicit_bzero(head, sizeof(head));
		connclose(&c);
		return turnerr(t, ErrBad, "request head too long");
	}
	rc = connwrite(&c, head, (size_t)hl);
	explicit_bzero(head, sizeof(head));
	if (rc == 0 && body != NULL)
		rc = connwrite(&c, body->p, body->len);
	if (rc != 0) {
		rc = turnerr(t, c.cancel ? ErrCancel : c.timedout ? ErrTimeout
		    : ErrNet, "%s", c.err);
		connclose(&c);
		return rc;
	}
	sc.t = t;
	sc.ep = e;
	sseinit(&sse, llmsse, &sc);
	bc.r = &r;
	bc.sse = &sse;
	bc.errbody = out;
	bc.stream = 0;
	httpinit(&r, llmbodycb, &bc);
	for (;;) {
		if (r.state > HHeader && r.status == 200 && body != NULL &&
		    !bc.stream) {
			bc.stream = strncasecmp(r.ctype, "text/event-stream",
			    17) == 0;
		}
		if ((n = connread(&c, buf, sizeof(buf))) < 0) {
			rc = turnerr(t, c.cancel ? ErrCancel : c.timedout ?
			    ErrTimeout : ErrNet, "%s", c.err);
			break;
		}
		if (n == 0) {
			rc = httpeof(&r) < 0 ? turnerr(t, ErrNet, "%s: %s",
			    u.host, r.err) : 0;
			break;
		}
		/* the head may end mid-buffer: feed up to it first so the
		 * stream flag is set before the body arrives */
		rc = 0;
		{
			size_t off = 0;
			while (off < (size_t)n && rc == 0) {
				int pre = r.state <= HHeader;
				rc = httpfeed(&r, buf + off, pre ? 1 : (size_t)n -
				    off, &used);
				off += used;
				if (pre && r.state > HHeader && r.status == 200
				    && body != NULL)
					bc.stream = strncasecmp(r.ctype,
					    "text/event-stream", 17) == 0;
				if (used == 0 && rc == 0)
					break;
			}
		}
		if (rc < 0) {
			/* a server that breaks the protocol is not retried */
			if (t->errkind == ErrNone)
				turnerr(t, ErrBad, "%s: %s", u.host,
				    sse.err[0] ? sse.err : r.err);
			rc = -1;
			break;
		}
		if (t->emit)    /* what one read brought is shown at once */
			t->emit(t->ctx, EvFlush, NULL, 0);
		if (rc == 1) {
			rc = 0;
			break;
		}
	}
	if (t->emit)    /* and what the last read brought, however it ended */
		t->emit(t->ctx, EvFlush, NULL, 0);
	connclose(&c);
	if (rc == 0 && bc.stream && sseend(&sse) != 0)
		rc = turnerr(t, ErrBad, "%s", sse.err);
	ssefree(&sse);
	if (rc != 0)
		return -1;
	if (r.retryafterms[0] != '\0' && strspn(r.retryafterms, "0123456789")
	    == strlen(r.retryafterms) && strlen(r.retryafterms) < 10)
		*ra = atol(r.retryafterms);
	else if (r.retryafter[0] != '\0' && sscanf(r.retryafter, "%lf", &sec)
	    == 1 && sec >= 0 && sec < 1e6)
		*ra = (long)(sec * 1000);
	else if (r.retryafter[0] != '\0' && (when = httpdate(r.retryafter)) >=
	    0)      /* a date: how long until then (capped by the caller) */
		*ra = when > (long long)time(NULL) ? (long)MIN(when -
		    (long long)time(NULL), 1000000) * 1000 : 0;
	if (r.status == 200 && body != NULL && !bc.stream) {
		/* a 200 that is not a stream: an error, or a server that
		 * ignored "stream": true */
		JTok *tok = xmalloc(sizeof(*tok) * 4096);
		JDoc d;
		if (jsonparse(&d, out->p ? out->p : "", out->len, tok, 4096)
		    >= 0 && jsonget(&d, 0, "error") >= 0)
			turnerror(t, &d, jsonget(&d, 0, "error"), 200, e);
		else
			turnerr(t, ErrBad, "the server answered with %s, not "
			    "an event stream", r.ctype[0] ? r.ctype :
			    "no Content-Type");
		free(tok);
		return -1;
	}
	return r.status;
}

/* the reason in a non-200 body, classified */
static void
httperror(Turn *t, const Endpoint *e, int status, const Buf *body)
{
	JTok *tok = xmalloc(sizeof(*tok) * 4096);
	char snip[200], hint[200];
	size_t i, k;
	JDoc d;
	int kind;

	if (jsonparse(&d, body->p ? body->p : "", body->len, tok, 4096) >= 0 &&
	    jsonget(&d, 0, "error") >= 0) {
		char pre[64];
		snprintf(pre, sizeof(pre), "HTTP %d: ", status);
		turnerror(t, &d, jsonget(&d, 0, "error"), status, e);
		/* say which status it was */
		if (strncmp(t->err, "HTTP", 4) != 0 && strlen(t->err) +
		    strlen(pre) < sizeof(t->err)) {
			memmove(t->err + strlen(pre), t->err, strlen(t->err) +
			    1);
			memcpy(t->err, pre, strlen(pre));
		}
	} else {
		for (i = k = 0; i < body->len && k + 1 < sizeof(snip); i++)
			snip[k++] = (unsigned char)body->p[i] < ' ' ||
			    (unsigned char)body->p[i] > '~' ? ' ' : body->p[i];
		snip[k] = '\0';
		kind = errclassify(status, "", snip);
		errhint(kind, e, hint, sizeof(hint));
		turnerr(t, kind, "HTTP %d%s%s%s", status, k ? ": " : "", snip,
		    hint);
	}
	free(tok);
}

/* the whole request time limit, which the user's config may lower */
static long
nettotalms(void)
{
	return settings.timeoutms > 0 ? settings.timeoutms : NETREQUESTMS;
}

/* sleep ms, waking for Ctrl-C; -1 when cancelled */
static int
napms(long ms)
{
	struct timespec ts;
	long until = nowms() + ms, left;

	while ((left = until - nowms()) > 0) {
		if (cancelled)
			return -1;
		ts.tv_sec = MIN(left, 200) / 1000;
		ts.tv_nsec = (MIN(left, 200) % 1000) * 1000000;
		nanosleep(&ts, NULL);
	}
	return cancelled ? -1 : 0;
}

/* the model for e: e->model, or the first the server lists */
static int
llmmodel(Endpoint *e, Turn *t)
{
	JTok *tok;
	JDoc d;
	Buf out;
	long ra;
	int st, data, m;

	if (e->model[0] != '\0')
		return 0;
	bufinit(&out, MAXMODELS);
	st = httpexchange(e, "GET", "/models", NULL, t, &out, &ra);
	if (st < 0) {
		buffree(&out);
		return -1;
	}
	if (st != 200) {
		httperror(t, e, st, &out);
		buffree(&out);
		return -1;
	}
	tok = xmalloc(sizeof(*tok) * (out.len / 2 + 8));
	if (jsonparse(&d, out.p ? out.p : "", out.len, tok, (int)(out.len / 2 +
	    8)) < 0 ||
	    (data = jsonget(&d, 0, "data")) < 0 || (m = jsonat(&d, data, 0))
	    < 0 || jsonstr(&d, jsonget(&d, m, "id"), e->model,
	    sizeof(e->model), NULL) != 0 || e->model[0] == '\0' ||
	    !hdrsafe(e->model)) {
		free(tok);
		buffree(&out);
		return turnerr(t, ErrModel, "the server lists no models: load "
		    "one (LM Studio: lms load MODEL) or pass -m");
	}
	free(tok);
	buffree(&out);
	return 0;
}

/* one attempt: 0, or -1 with the reason in t; *ra as httpexchange */
static int
llmonce(Endpoint *e, const Conv *cv, Turn *t, long *ra)
{
	Buf body, out;
	int st;

	*ra = -1;
	if (llmmodel(e, t) != 0)
		return -1;
	bufinit(&body, MAXREQUEST);
	llmbody(e, cv, &body);
	if (body.err) {
		buffree(&body);
		return turnerr(t, ErrContext, "the request is larger than "
		    "MAXREQUEST (%d bytes)", MAXREQUEST);
	}
	bufinit(&out, MAXERRBODY);
	st = httpexchange(e, "POST", e->p->kind == KindAnthropic ?
	    "/messages" : "/chat/completions", &body, t, &out, ra);
	buffree(&body);
	if (st >= 0 && st != 200)
		httperror(t, e, st, &out);
	buffree(&out);
	if (st != 200)
		return -1;
	return turnfinish(t, 1);
}

/* the provider after pi in config.h's failover order, or -1 (also when
 * pi is not in it): llmturn() and the agent's own sandbox both ask */
static int
failnext(int pi)
{
	size_t i;

	for (i = 0; i + 1 < LEN(failover); i++)
		if (providerfind(failover[i]) == pi)
			return providerfind(failover[i + 1]);
	return -1;
}

/*
 * One model turn with retries and failover: connection errors (not
 * timeouts: that time is spent), 408, 409, 429, 5xx and overloaded
 * streams are retried (retry-after honoured
 * up to RETRYCAPMS, else exponential backoff with jitter) as long as
 * nothing of the answer has been shown; then the next provider in
 * config.h's failover order gets the turn.  *ep is updated to the
 * provider that answered.  0, or -1 with the reason in t.
 */
static int
llmturn(Endpoint *ep, const Conv *cv, Turn *t, void (*emit)(void *, int,
    const char *, size_t), void *ctx)
{
	unsigned char jr[2];
	char why[256];
	long ra, wait;
	int attempt, pi, next, k, kind;

	for (;;) {
		for (attempt = 0; ; attempt++) {
			turninit(t, ep->p->kind, emit, ctx);
			if (llmonce(ep, cv, t, &ra) == 0)
				return 0;
			kind = t->errkind;
			if (t->any || attempt >= RETRYMAX || (kind != ErrNet &&
			    kind != ErrRetry))
				break;
			if (ra >= 0) {
				wait = MIN(ra, RETRYCAPMS);
			} else {
				randbytes(jr, sizeof(jr));
				wait = MIN((long)RETRYBASEMS << attempt,
				    RETRYCAPMS);
				wait += (long)((jr[0] << 8 | jr[1]) %
				    (RETRYBASEMS + 1));
			}
			if (!evs.json)
				warnx("%s: %s; retry %d of %d in %ld ms",
				    ep->p->name, t->err, attempt + 1, RETRYMAX,
				    wait);
			evretry(ep->p->name, attempt + 1, wait, t->err);
			turnfree(t);
			if (napms(wait) != 0) {
				turninit(t, ep->p->kind, emit, ctx);
				return turnerr(t, ErrCancel, "cancelled");
			}
		}
		if (t->any || (kind != ErrNet && kind != ErrRetry))
			return -1;
		/* the next provider after this one in the failover order
		 * that has not had the turn yet */
		pi = (int)(ep->p - providers);
		for (next = failnext(pi), k = 0; next >= 0 && ep->tried[next] &&
		    k < (int)LEN(failover); next = failnext(next), k++)
			;
		if (next >= 0 && ep->tried[next])
			next = -1;      /* a list that loops back on itself */
		if (next < 0)
			return -1;
		if (!evs.json)
			warnx("%s: %s; failing over to %s", ep->p->name,
			    t->err, providers[next].name);
		evsimple("provider.failover", 1, "from", ep->p->name, "to",
		    providers[next].name, "reason", t->err, (char *)NULL);
		{
			unsigned char tried[LEN(providers)];
			memcpy(tried, ep->tried, sizeof(tried));
			if (endpointset(ep, next, 0, why, sizeof(why)) != 0) {
				turnfree(t);
				turninit(t, ep->p->kind, emit, ctx);
				return turnerr(t, ErrBad, "%s", why);
			}
			memcpy(ep->tried, tried, sizeof(tried));
			ep->tried[next] = 1;
			ep->failedover = 1;
		}
		turnfree(t);
	}
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
 * Resolve path (absolute, or relative to the root, or to wsbase while
 * that is set) the way the kernel
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
	    snprintf(full, sizeof(full), "%s/%s", wsbase[0] ? wsbase :
	    wsroot, path);
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

/* is a the same path as b, or beneath it?  (both absolute, canonical) */
static int
pathin(const char *a, const char *b)
{
	size_t k = strlen(b);

	return strcmp(b, "/") == 0 || (strncmp(a, b, k) == 0 &&
	    (a[k] == '\0' || a[k] == '/'));
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

	return wsresolve(path, r, sizeof(r)) == 0 && pathin(r, wsroot);
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
	/* a home that cannot be told (no HOME, and none in the password
	 * database vtcode reads) could be this very directory */
	if ((h = homedir()) == NULL) {
		warnx("trust: cannot tell your home directory: set HOME");
		return ExitFail;
	}
	if (strcmp(wsroot, "/") == 0 || (realpath(h, home) != NULL &&
	    strcmp(wsroot, home) == 0)) {
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
		evtrust(0);
		return fflush(stdout) == 0 ? ExitOK : ExitFail;
	}
	/* trust given is on the record or not given: the audit log first
	 * (evopen dies when it cannot have it) */
	evopen(NULL, 0, 1);
	now = time(NULL);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	if (trustmac(wsroot, getuid(), when, 1, mac, why, sizeof(why)) != 0)
		die("trust: %s", why);
	hexenc(mac, sizeof(mac), hex);
	nssbuiltin();
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
	/* on the record before it is given: a failed write after leaves
	 * a record of trust meant, never trust unrecorded */
	evtrust(1);
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
	int spread = r->shortopts && r->shortopts[0] == '+';  /* tree's way */

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
		p = r->shortopts && a[j] != ':' && a[j] != '+' ?
		    strchr(r->shortopts, a[j]) : NULL;
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
		if (spread) {   /* the next word; the letters go on */
			val = i + used + 1 < argc ? argv[i + ++used] : NULL;
			if (val == NULL)
				verdict(v, Prompt, "%s: option %s needs a value",
				    r->name, name);
			optvalue(r, name, 2, val, seen, v);
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
		/* no pattern operand after -e or -f, nor when rg lists
		 * files or types instead of searching: all are paths */
		first = optseen(seen, "-e -f --regexp --file --files "
		    "--type-list", 0) ? 0 : 1;
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

/*
 * One stage of a run_command line: its row, the runtime config (the
 * command's entries and run_command's own), then a remembered yes for
 * that exact argv, only where the table said Prompt and not for a stage
 * that reads a pipe (what it is fed decides what it does: python3 was
 * approved, not `printf ANYTHING | python3`); merged into v, where the
 * strictest stage wins.  Where the protected paths cannot be pinned (no
 * user namespaces), a command would find .git/hooks and the trust file
 * writable: only the table's Allow rows (commands that read: config.h
 * keeps Allow for those) run unasked, and a yes given earlier, when the
 * walls were whole, does not count.
 */
static void
policyone(char **argv, int argc, int piped, Verdict *v)
{
	char *tool[1] = { (char *)"run_command" };
	const char *unpinned;
	Verdict sv;
	size_t n;

	memset(&sv, 0, sizeof(sv));
	policyargv(argv, argc, &sv);
	/* run_command's own row in a runtime config: a tightening that
	 * holds for every command, whatever its row says */
	overapply(OvTool, tool, 1, &sv);
	if (sv.d != Prompt) {
		verdict(v, sv.d, "%s", sv.why);
		return;
	}
	if ((unpinned = sbxunpinnedwhy()) != NULL) {
		n = strlen(sv.why);
		snprintf(sv.why + n, sizeof(sv.why) - n, "; and the protected "
		    "paths are writable here, and files outside the workspace "
		    "can have their modes changed (%s)", unpinned);
	} else if (!piped && approved("run_command", argv, argc, NULL)) {
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
		policyone(cl->st[i].argv, cl->st[i].argc, i > 0 &&
		    cl->op[i - 1] == '|', v);
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
	policyone(argv, argc, 0, v);
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

/* an answer: one of the words or its first letter, any case, alone on
 * the line; 0 for anything else ("yeah, but" answers nothing) */
static int
approveword(const char *line)
{
	static const char *const words[] = { "yes", "session", "always", "no",
		"tell" };
	size_t i, k, n;

	line += strspn(line, " \t");
	n = strcspn(line, " \t\r\n");
	if (n == 0 || line[n + strspn(line + n, " \t\r\n")] != '\0')
		return 0;
	for (i = 0; i < LEN(words); i++) {
		if (n != 1 && n != strlen(words[i]))
			continue;
		for (k = 0; k < n && tolower((unsigned char)line[k]) ==
		    words[i][k]; k++)
			;
		if (k == n)
			return words[i][0];
	}
	return 0;
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
	/* what was typed before the question is not an answer to it: a
	 * line meant for the next prompt must not approve anything */
	tcflush(fd, TCIFLUSH);
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
		switch (approveword(line)) {
		case 'y':
			fclose(tty);
			return Allow;
		case 's':
			*scope = 1;
			fclose(tty);
			return Allow;
		case 'a':
			*scope = 2;
			fclose(tty);
			return Allow;
		case 'n':
			fclose(tty);
			snprintf(tell, tsz, "the user said no");
			return Deny;
		case 't':
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
 * Read the next run_command line as if from dir, its workdir: relative
 * paths and globs are resolved there, as the command will see them.
 * policyin(NULL) returns to the root (a root that cannot be entered
 * again stops vtcode).  0, or -1 with errno when dir cannot be entered.
 */
static int
policyin(const char *dir)
{
	if (dir == NULL) {
		if (wsbase[0] != '\0' && chdir(wsroot) != 0)
			die("%s:", wsroot);
		wsbase[0] = '\0';
		return 0;
	}
	if (chdir(dir) != 0)
		return -1;
	snprintf(wsbase, sizeof(wsbase), "%s", dir);
	return 0;
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
	long t0;

	if (policydecide(tool, arg, arglen, cl, v) != Prompt)
		return v->d;
	bufinit(&subj, 0);
	if (strcmp(tool, "run_command") == 0) {
		bufadd(&subj, arg, arglen);
		if (summary)    /* the workdir: the same line, elsewhere */
			bufaddf(&subj, " (%s)", summary);
	} else {
		bufaddstr(&subj, arg ? arg : "");
		if (summary) {
			bufaddstr(&subj, ": ");
			bufaddstr(&subj, summary);
		}
	}
	evsimple("approval.requested", 1, "subject", subj.p, (char *)NULL);
	t0 = nowms();
	d = approve(tool, subj.p, v->why, &scope, tell, sizeof(tell));
	evapproval(d, scope == 2 && d != Deny, nowms() - t0);
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
			if (i > 0 && cl->op[i - 1] == '|') {
				warnx("%s reads a pipe: that yes is for this "
				    "line only, not remembered",
				    cl->st[i].argv[0]);
				continue;
			}
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

/* the kernel's Landlock ABI, 0 for none */
static int
sbxkernabi(void)
{
#if defined(__linux__)
	long v = syscall(LL_SYS_CREATE, NULL, 0, LL_VERSION);

	return v < 0 ? 0 : (int)MIN(v, 1000);
#else
	return 0;
#endif
}

/* the Landlock ABI commands get: the kernel's, capped by the
 * environment for the tests (never below SBXLANDLOCKMIN for a command:
 * runpipe refuses to run it then).  The agent's own sandbox takes the
 * kernel's: no variable loosens it */
static int
sbxabi(void)
{
	long v = sbxkernabi();
	const char *cap = getenv("VTCODE_LANDLOCK_ABI_MAX");
	char *end;
	long c;

	if (v <= 0)
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
	int fd, rc;

	if ((fd = open(path, O_PATH | O_CLOEXEC)) < 0)
		return errno == ENOENT ? 0 : -1;
	/* the rights as for a directory; Landlock refuses those that
	 * only a directory has on anything else (EINVAL): then a file's
	 * (cheaper than an fstat first for every path) */
	memset(&pb, 0, sizeof(pb));
	pb.allowed = rights & handled;
	pb.fd = fd;
	if ((rc = (int)syscall(LL_SYS_ADD, rfd, LL_PATH_BENEATH, &pb, 0)) !=
	    0 && errno == EINVAL && (pb.allowed & ~LLF_FILE) != 0) {
		pb.allowed &= LLF_FILE;
		rc = (int)syscall(LL_SYS_ADD, rfd, LL_PATH_BENEATH, &pb, 0);
	}
	close(fd);
	return rc;
}

/*
 * A Landlock ruleset handling every file system right abi knows (one
 * step at a time, as samples/landlock degrades), the TCP rights in net
 * from ABI 4 and the scopes in scoped from ABI 6.  The fd, with the
 * file system rights in *fs, or -1 with why.
 */
static int
sbxruleset(int abi, uint64_t net, uint64_t scoped, uint64_t *fs, char *why,
    size_t wsz)
{
	struct llruleset rs;
	size_t sz = sizeof(uint64_t);
	int rfd;

	memset(&rs, 0, sizeof(rs));
	rs.fs = LLF_ABI1;
	if (abi >= 2)
		rs.fs |= LLF_REFER;
	if (abi >= 3)
		rs.fs |= LLF_TRUNCATE;
	if (abi >= 5)
		rs.fs |= LLF_IOCTL_DEV;
	if (abi >= 4) {
		rs.net = net;
		sz = 2 * sizeof(uint64_t);
	}
	if (abi >= 6 && scoped != 0) {
		rs.scoped = scoped;
		sz = 3 * sizeof(uint64_t);
	}
	if ((rfd = (int)syscall(LL_SYS_CREATE, &rs, sz, 0)) < 0)
		snprintf(why, wsz, "landlock_create_ruleset: %s",
		    strerror(errno));
	*fs = rs.fs;
	return rfd;
}

/*
 * The Landlock ruleset of one pipeline, made by vtcode once for all its
 * stages, each of which restricts itself with it (runchild): config.h's
 * system paths and devices, the workspace, the temp dir, the pipeline's
 * pty and the commands' /dev/shm where there is one.  The fd
 * (close-on-exec), or -1 with the step that failed in why.
 */
static int
sbxrules(int abi, int net, const char *tmpdir, const char *pty, char *why,
    size_t wsz)
{
	uint64_t fs, dev;
	size_t i;
	int rfd;

	if ((rfd = sbxruleset(abi, net ? 0 : LLN_BIND_TCP | LLN_CONNECT_TCP,
	    LLS_ABSTRACT | LLS_SIGNAL, &fs, why, wsz)) < 0)
		return -1;
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
	    sbxrule(rfd, pty, dev | LLF_IOCTL_DEV, fs) != 0 ||
	    (sbxshm && sbxrule(rfd, "/dev/shm", fs & ~LLF_EXECUTE, fs) != 0))
		goto fail;
	return rfd;
fail:
	snprintf(why, wsz, "landlock_add_rule: %s", strerror(errno));
	close(rfd);
	return -1;
}

/*
 * The calls neither vtcode (once it restricts itself) nor a command ever
 * needs, refused with EPERM, and other architectures killed: the start
 * of both seccomp filters.  NULL with why on failure.
 */
static scmp_filter_ctx
sbxfilter(char *why, size_t wsz)
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
	scmp_filter_ctx ctx;
	size_t i;
	int rc = 0;

	if ((ctx = seccomp_init(SCMP_ACT_ALLOW)) == NULL) {
		snprintf(why, wsz, "seccomp_init failed");
		return NULL;
	}
	rc |= seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH,
	    SCMP_ACT_KILL_PROCESS);
	/* a binary tree of the system call numbers, not a list: the
	 * kernel checks (and, loading it, walks for its cache) fewer
	 * instructions a call.  An older libseccomp without it builds the
	 * same rules as a list */
#if SCMP_VER_MAJOR > 2 || (SCMP_VER_MAJOR == 2 && SCMP_VER_MINOR >= 5)
	(void)seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
#endif
	for (i = 0; i < LEN(deny); i++)
		rc |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), deny[i], 0);
	/* kill(-1, sig): every process the caller may signal.  Landlock
	 * scopes signals only from ABI 6; this much holds before it.  The
	 * kernel reads pid as 32 bits: masked, so high bits change nothing */
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(kill), 1,
	    SCMP_A0_64(SCMP_CMP_MASKED_EQ, 0xFFFFFFFFULL, 0xFFFFFFFFULL));
	if (rc != 0) {
		snprintf(why, wsz, "seccomp: cannot build the filter");
		seccomp_release(ctx);
		return NULL;
	}
	return ctx;
}

/*
 * seccomp for the child: allow by default, refuse the calls that reach
 * past the walls Landlock draws (network, other processes' memory,
 * namespaces, mounts, the kernel's keyrings and BPF), io_uring (a second
 * syscall table), and ioctls that type into the terminal.  Non-native
 * ABIs (x32, i386) kill the process: a filter written for one syscall
 * table says nothing about another.
 *
 * libseccomp compiles it into the BPF program it would load
 * (seccomp_export_bpf), one for each kind of command (network or not,
 * Landlock below ABI 3 or not), and each child only installs that
 * program, one system call.  The compile takes longer than anything
 * else vtcode does before a command, so it is done when vtcode is
 * built: make builds this file once more with VTCODE_BPFGEN, whose
 * main() prints the four programs (build/bpf.h), and vtcode carries
 * them as read-only data (sbxbpf).  `tests/unit bpf` compiles them
 * again and compares.  With VTCODE_NOBPF (a cross build, which cannot
 * run what it builds) vtcode compiles them itself, once a process.
 * sbxcompile: the program in *prog, 0, or -1 with why.
 */
#if defined(__linux__)
static int
sbxcompile(int net, int abi, struct sock_fprog *prog, char *why,
    size_t wsz)
{
	static const int netcalls[] = {
		SCMP_SYS(connect), SCMP_SYS(bind), SCMP_SYS(listen),
		SCMP_SYS(accept), SCMP_SYS(accept4),
	};
	static const int dgramcalls[] = {
		SCMP_SYS(socket), SCMP_SYS(socketpair),
	}, dgramtypes[] = { SOCK_DGRAM, SOCK_RAW };
	static const int selfonly[] = {
		SCMP_SYS(prlimit64), SCMP_SYS(sched_setaffinity),
		SCMP_SYS(sched_setscheduler), SCMP_SYS(sched_setparam),
		SCMP_SYS(sched_setattr),
	};
	scmp_filter_ctx ctx;
	off_t len = 0;
	size_t i, j;
	int rc = 0, fd = -1;

	if ((ctx = sbxfilter(why, wsz)) == NULL)
		return -1;
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
	/* no personality but the default (PER_LINUX, 0): none that turns
	 * off ASLR, maps page zero, makes data executable or fakes uname,
	 * and no query (0xffffffff).  libseccomp 2.5 compares all 64 bits:
	 * high bits the kernel would drop are refused too, the safe side */
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM),
	    SCMP_SYS(personality), 1, SCMP_A0_32(SCMP_CMP_NE, 0));
	/* no limits, CPUs, scheduling or priority set on another process:
	 * a command runs as vtcode's user, so the kernel would let it give
	 * vtcode a CPU limit of 0 (killed before it could move a planted
	 * .git aside or end the command on time), pin it, or starve it.
	 * Only on itself, pid 0, as setrlimit, nice and taskset do; high
	 * bits, which the kernel drops, are refused too (the safe side) */
	for (i = 0; i < LEN(selfonly); i++)
		rc |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), selfonly[i],
		    1, SCMP_A0_64(SCMP_CMP_NE, 0));
	/* setpriority(which, who, ...) and ioprio_set(which, who, ...):
	 * a process group or a user reaches other processes too */
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM),
	    SCMP_SYS(setpriority), 1, SCMP_A0_64(SCMP_CMP_NE, PRIO_PROCESS));
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM),
	    SCMP_SYS(setpriority), 1, SCMP_A1_64(SCMP_CMP_NE, 0));
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM),
	    SCMP_SYS(ioprio_set), 1, SCMP_A0_64(SCMP_CMP_NE, 1));
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM),
	    SCMP_SYS(ioprio_set), 1, SCMP_A1_64(SCMP_CMP_NE, 0));
	if (!net) {
		/* any family but AF_UNIX; a 64-bit "not equal" also refuses
		 * AF_UNIX with high bits set, so no high bit hides AF_INET */
		rc |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM),
		    SCMP_SYS(socket), 1, SCMP_A0_64(SCMP_CMP_NE, AF_UNIX));
		/* nor a unix datagram socket (SOCK_RAW is one too, for
		 * AF_UNIX): sendto and sendmsg with an address reach any
		 * socket file the command can name (/dev/log, journald's)
		 * without a connect, on a read-only mount too, and Landlock
		 * does not see it.  The kernel reads domain and type as 32
		 * bits, and the type's flags (CLOEXEC, NONBLOCK) above its
		 * low 4.  socketpair of another family (AF_TIPC would load
		 * its module) is refused as socket's is */
		for (i = 0; i < LEN(dgramcalls); i++)
			for (j = 0; j < LEN(dgramtypes); j++)
				rc |= seccomp_rule_add(ctx,
				    SCMP_ACT_ERRNO(EPERM), dgramcalls[i], 2,
				    SCMP_A0_64(SCMP_CMP_MASKED_EQ,
				    0xFFFFFFFFULL, AF_UNIX), SCMP_A1_64(
				    SCMP_CMP_MASKED_EQ, 0xF, dgramtypes[j]));
		rc |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM),
		    SCMP_SYS(socketpair), 1, SCMP_A0_64(SCMP_CMP_NE, AF_UNIX));
		for (i = 0; i < LEN(netcalls); i++)
			rc |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM),
			    netcalls[i], 0);
	}
	/* the program as seccomp_load() would hand it to the kernel; a
	 * memfd, as libseccomp 2.5 writes it only to a file descriptor */
	if (rc == 0 && (fd = memfd_create("vtcode-seccomp", MFD_CLOEXEC)) >= 0 &&
	    seccomp_export_bpf(ctx, fd) == 0)
		len = lseek(fd, 0, SEEK_END);
	seccomp_release(ctx);
	if (len <= 0 || len % (off_t)sizeof(struct sock_filter) != 0 ||
	    len / (off_t)sizeof(struct sock_filter) > BPF_MAXINSNS) {
		snprintf(why, wsz, "seccomp: cannot build the filter");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	prog->filter = xmalloc((size_t)len);
	if (pread(fd, prog->filter, (size_t)len, 0) != (ssize_t)len) {
		snprintf(why, wsz, "seccomp: cannot read the filter back");
		free(prog->filter);
		prog->filter = NULL;
		close(fd);
		return -1;
	}
	close(fd);
	prog->len = (unsigned short)(len / (off_t)sizeof(struct sock_filter));
	return 0;
}

#if !defined(VTCODE_BPFGEN) && !defined(VTCODE_NOBPF)
#include "build/bpf.h"          /* sbxbpf[net][abi < 3], made by make */
#endif

/* the four kinds of command by number, k = 2 * net + (Landlock ABI
 * < 3): its network flag and an ABI that stands for it, for whatever
 * goes through all four (sbxsame, checkwalls, the build helper) */
#define SBXKINDNET(k)   ((k) / 2)
#define SBXKINDABI(k)   ((k) % 2 ? 2 : 3)

/*
 * Are the four programs in have (have[2 * net + (abi < 3)], as
 * sbxprogram gives them) what libseccomp here compiles now?  1 when
 * every one is, 0 when one differs (vtcode was built with another
 * libseccomp than the shared one it runs with: rebuild), -1 with why
 * when they cannot be compiled.  For vtcode check.
 */
static int
sbxsame(const struct sock_fprog *const have[4], char *why, size_t wsz)
{
	struct sock_fprog p;
	const struct sock_fprog *q;
	int k, same = 1;

	for (k = 0; k < 4; k++) {
		if (sbxcompile(SBXKINDNET(k), SBXKINDABI(k), &p, why, wsz) != 0)
			return -1;
		q = have[k];
		same &= q != NULL && q->len == p.len && memcmp(q->filter,
		    p.filter, p.len * sizeof(*p.filter)) == 0;
		free(p.filter);
	}
	return same;
}

/* the program for this kind of command, or NULL with why */
static const struct sock_fprog *
sbxprogram(int net, int abi, char *why, size_t wsz)
{
#if defined(VTCODE_BPFGEN) || defined(VTCODE_NOBPF)
	static struct sock_fprog made[2][2];
	struct sock_fprog *prog = &made[net != 0][abi < 3];

	if (prog->filter == NULL && sbxcompile(net, abi, prog, why, wsz) != 0)
		return NULL;
	return prog;
#else
	(void)why;
	(void)wsz;
	return &sbxbpf[net != 0][abi < 3];
#endif
}
#endif

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
 * A missing .git/hooks inside an existing .git cannot be created by a
 * command: all of .git is read-only.
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

/* .git and every protected path as they are now: none may be a
 * symbolic link, which would move any wall put on it to wherever it
 * points.  How many of them exist, or -1 with why */
static int
sbxpinnable(char *why, size_t wsz)
{
	static char path[2 * PATH_MAX + 16];    /* not on the stack */
	struct stat st;
	size_t i;
	int n = 0;

	for (i = 0; i <= LEN(protectedpaths); i++) {
		snprintf(path, sizeof(path), "%s/%s", wsroot, i == 0 ? ".git" :
		    protectedpaths[i - 1]);
		if (lstat(path, &st) != 0)
			continue;
		if (S_ISLNK(st.st_mode)) {
			snprintf(why, wsz, "%.300s is a symbolic link: protected "
			    "paths cannot be pinned, refusing to run", path);
			return -1;
		}
		n++;
	}
	return n;
}

/* the root's .git as a pointer file ("gitdir: PATH", as git worktree
 * and submodules write): the path it names, joined to the root when it
 * is relative but not resolved, in path (sz bytes) and 1; else 0 */
static int
sbxgitptr(char *path, size_t sz)
{
	char buf[PATH_MAX];
	struct stat st;
	ssize_t n;
	int fd;

	snprintf(path, sz, "%s/.git", wsroot);
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return 0;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return 0;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	return strncmp(buf, "gitdir: ", 8) == 0 &&
	    snprintf(path, sz, "%s%s%s", buf[8] == '/' ? "" : wsroot,
	    buf[8] == '/' ? "" : "/", buf + 8) > 0;
}

/* a pointer file's repository inside the workspace: its canonical path
 * in gd (PATH_MAX bytes) and 1, else 0 */
static int
sbxgitdir(char *gd)
{
	char path[2 * PATH_MAX + 16];
	struct stat st;

	return sbxgitptr(path, sizeof(path)) && realpath(path, gd) != NULL &&
	    wsbeneath(gd) && snprintf(path, sizeof(path), "%s/HEAD", gd) > 0
	    && lstat(path, &st) == 0;
}

/* does the root's .git pointer file reach its target through a symbolic
 * link inside the workspace?  1 or 0 */
static int
sbxgitlinked(void)
{
	char path[2 * PATH_MAX + 16], c;
	struct stat st;
	size_t k, r = strlen(wsroot);

	if (!sbxgitptr(path, sizeof(path)) || strncmp(path, wsroot, r) != 0 ||
	    path[r] != '/')
		return 0;       /* outside: Landlock keeps it read-only */
	/* each component after the root, as written: cut after it,
	 * lstat, put the byte back */
	for (k = r + 1; path[k] != '\0'; k++) {
		if (path[k] == '/' || (path[k + 1] != '/' &&
		    path[k + 1] != '\0'))
			continue;
		c = path[k + 1];
		path[k + 1] = '\0';
		if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode))
			return 1;
		path[k + 1] = c;
	}
	return 0;
}

/*
 * A .git pointer's repository inside the workspace as every platform's
 * walls pin it: all of the top directory it lies in, or renaming that
 * directory would swap in another repository; in gd (PATH_MAX bytes)
 * and 1.  0 for none; -1 with why when the pointer reaches it through a
 * symbolic link, which a command could point elsewhere.
 */
static int
sbxgittop(char *gd, char *why, size_t wsz)
{
	size_t r = strlen(wsroot);

	if (!sbxgitdir(gd))
		return 0;
	if (strlen(gd) <= r + 1) {
		snprintf(why, wsz, "%.300s/.git names the workspace itself as "
		    "its repository: it cannot be pinned, refusing to run",
		    wsroot);
		return -1;
	}
	if (sbxgitlinked()) {
		snprintf(why, wsz, "%.300s/.git names its repository through "
		    "a symbolic link: it cannot be pinned, refusing to run",
		    wsroot);
		return -1;
	}
	gd[r + 1 + strcspn(gd + r + 1, "/")] = '\0';
	return 1;
}

/* bind path onto itself; read-only unless rw.  Flags the original mount
 * has locked (nosuid, nodev, noexec) must be kept in a user namespace */
static int
sbxbind(const char *path, int rw)
{
	struct statvfs sv;
	unsigned long fl = MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV;

	if (mount(path, path, "none", MS_BIND | MS_REC, NULL) != 0)
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
	return mount("none", path, "none", fl | MS_RDONLY, NULL);
}

/* enter a private mount namespace (and, unless root, a user namespace
 * mapping only our own ids) whose mounts propagate nowhere.  0, or -1
 * with why */
static int
sbxnamespace(char *why, size_t wsz)
{
	char map[64];
	uid_t uid = getuid();
	gid_t gid = getgid();

	/* writing our own uid_map takes a dumpable process; the moment is
	 * no wider than the one before harden() ran, and nothing has been
	 * read since that was not already in memory then */
	if (geteuid() != 0 && prctl(PR_SET_DUMPABLE, 1L, 0L, 0L, 0L) != 0)
		goto fail;
	if (unshare(geteuid() == 0 ? CLONE_NEWNS : CLONE_NEWUSER |
	    CLONE_NEWNS) != 0) {
		snprintf(why, wsz, "the protected paths and the read-only "
		    "view outside the workspace need a private mount "
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
	if (mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) != 0)
		goto fail;
	return 0;
fail:
	snprintf(why, wsz, "protected paths: %s", strerror(errno));
	prctl(PR_SET_DUMPABLE, 0L, 0L, 0L, 0L);
	return -1;
}

/*
 * A /dev/shm of the commands' own (RUNSHMSIZE): a fresh tmpfs over it
 * in the private namespace, so POSIX semaphores and shared memory work
 * and nothing of the system's /dev/shm is seen or touched.  Not where an
 * island (n of them in isl) is /dev/shm, in it or around it: the tmpfs
 * would hide it.  Without it (or where the mount fails) /dev/shm stays
 * closed to commands; sbxshm says which.
 */
static void
sbxshmmount(char isl[][PATH_MAX], size_t n)
{
	static const char shm[] = "/dev/shm";
	static char rp[PATH_MAX];   /* static: see runloop */
	char opt[96];
	struct stat st;
	size_t i;

	/* where the islands are, not how they were spelt (//dev/shm, a
	 * symbolic link into it); one that cannot be found: no mount */
	for (i = 0; i < n; i++)
		if (isl[i][0] != '\0' && (realpath(isl[i], rp) == NULL ||
		    pathin(rp, shm) || pathin(shm, rp)))
			return;
	/* inodes too: each costs kernel memory that size= does not count */
	snprintf(opt, sizeof(opt), "size=%llu,nr_inodes=%lu,mode=1777",
	    (unsigned long long)RUNSHMSIZE, (unsigned long)RUNSHMINODES);
	sbxshm = RUNSHMSIZE > 0 && lstat(shm, &st) == 0 && S_ISDIR(st.st_mode) &&
	    mount("tmpfs", shm, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
	    opt) == 0;
}

/*
 * Landlock says what a command may open for writing, not what it may
 * chmod, chown, touch or give an extended attribute: it has no right
 * for those, so a command could make ~/.ssh readable by everyone, or as
 * root make /etc/passwd anyone's.  So in the private namespace every
 * mount is made read-only (mount_setattr, recursive), but for islands,
 * bound onto themselves first: the workspace, the user's directory of
 * temp dirs (runtmpuser), and vtcode's own state and config directories
 * unless vtcode writes nothing there while commands run (sbxselfro:
 * `vtcode sandbox`), where a command could otherwise chmod them.
 * Islands inside another are part of it.  0, or -1 with why.
 */
#define VT_SYS_mount_setattr 442        /* the same on every arch */
#define VT_AT_RECURSIVE 0x8000
#define VT_MOUNT_ATTR_RDONLY 0x1ULL
static int
sbxreadonly(char *why, size_t wsz)
{
	struct { uint64_t set, clr, prop, userns; } attr;
	static char isl[4][PATH_MAX];
	size_t i, j, n = 0;

	snprintf(isl[n++], PATH_MAX, "%s", wsroot);
	snprintf(isl[n++], PATH_MAX, "%s", runtmpuser());
	if (!sbxselfro && xdgdir("XDG_STATE_HOME", ".local/state", 1, isl[n],
	    PATH_MAX) == 0)
		n++;
	if (!sbxselfro && xdgdir("XDG_CONFIG_HOME", ".config", 1, isl[n],
	    PATH_MAX) == 0)
		n++;
	for (i = 0; i < n; i++) {
		/* beneath (or the same as, named first) another island:
		 * already one */
		for (j = 0; j < n; j++)
			if (j != i && isl[j][0] != '\0' && pathin(isl[i],
			    isl[j]) && (j < i || strcmp(isl[i], isl[j]) != 0))
				break;
		if (j < n) {
			isl[i][0] = '\0';
			continue;
		}
		if (mount(isl[i], isl[i], "none", MS_BIND | MS_REC, NULL) != 0)
			goto fail;
	}
	memset(&attr, 0, sizeof(attr));
	attr.set = VT_MOUNT_ATTR_RDONLY;
	if (syscall(VT_SYS_mount_setattr, AT_FDCWD, "/", VT_AT_RECURSIVE,
	    &attr, sizeof(attr)) != 0) {
		if (errno == ENOSYS && !SBXRDONLY)
			return 0;
		goto fail;
	}
	/* an island whole, mounts inside it too (a volume, a tmpfs build
	 * directory); one the system made read-only stays so (EPERM) */
	memset(&attr, 0, sizeof(attr));
	attr.clr = VT_MOUNT_ATTR_RDONLY;
	for (i = 0; i < n; i++)
		if (isl[i][0] != '\0' && syscall(VT_SYS_mount_setattr,
		    AT_FDCWD, isl[i], VT_AT_RECURSIVE, &attr, sizeof(attr)) !=
		    0 && (errno != EPERM || syscall(VT_SYS_mount_setattr,
		    AT_FDCWD, isl[i], 0, &attr, sizeof(attr)) != 0))
			goto fail;
	sbxshmmount(isl, n);
	return 0;
fail:
	snprintf(why, wsz, "read-only view outside the workspace: %s",
	    strerror(errno));
	return -1;
}

/* rel (beneath the root) is bound: sbxquarantine() leaves it be */
static void
sbxbound(const char *rel)
{
	size_t i;

	for (i = 0; i < LEN(quarantined); i++)
		if (strcmp(rel, quarantined[i]) == 0)
			existed[i] = 1;
}

/*
 * Make the commands' view of the files, once: a private mount namespace
 * where all is read-only but the islands (sbxreadonly), and the
 * protected paths bound read-only in it.  One that is missing, and that
 * a command creates, is moved aside after it (sbxquarantine).  0, or -1
 * with why.
 */
static int
sbxprotect(char *why, size_t wsz)
{
	/* static, as the islands in sbxreadonly: not on the stack, whose
	 * every page a frame covers is touched (stack clash probes) */
	static char path[2 * PATH_MAX + 16], git[PATH_MAX + 16];
	static char gd[PATH_MAX];
	struct stat st;
	size_t i;
	int n, k;
	static int done;

	if (done)
		return 0;       /* once: the agent may have done it early */
	if (sbxbroken[0] != '\0') {
		snprintf(why, wsz, "%s", sbxbroken);
		return -1;
	}
	if (sbxunpinned[0] != '\0') {
		snprintf(why, wsz, "%s", sbxunpinned);
		return -1;
	}
	if ((n = sbxpinnable(why, wsz)) < 0)
		return -1;
	/* existed[]: what sbxquarantine() leaves alone.  Only what is
	 * bound below, or what is there now where nothing can be bound:
	 * a path that appears after the count above is moved aside */
	memset(existed, 0, sizeof(existed));
	(void)runtmpwhere();    /* while the ids are still the real ones */
	if (sbxnamespace(why, wsz) != 0) {
		/* for good: the policy asks about commands instead */
		snprintf(sbxunpinned, sizeof(sbxunpinned), "%s", why);
		for (i = 0; i < LEN(quarantined); i++) {
			snprintf(path, sizeof(path), "%s/%s", wsroot,
			    quarantined[i]);
			existed[i] = lstat(path, &st) == 0;
		}
		return -1;
	}
	/* inside the namespace now: a failure from here on is for good,
	 * never taken later for a kernel without user namespaces */
	if (sbxreadonly(why, wsz) != 0)
		goto broken;
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
	if (n > 0 && lstat(git, &st) == 0) {
		/* a pointer's repository: all of the top directory it lies
		 * in, or renaming that directory would swap in another; and
		 * never one reached through a symbolic link, which a
		 * command could point elsewhere */
		if (S_ISREG(st.st_mode) && (k = sbxgittop(gd, why, wsz)) !=
		    0) {
			if (k < 0)
				goto broken;
			if (sbxbind(gd, 0) != 0)
				goto fail;
		}
		if (sbxbind(git, 0) != 0)
			goto fail;
		sbxbound(".git");
	}
	for (i = 0; n > 0 && i < LEN(protectedpaths); i++) {
		snprintf(path, sizeof(path), "%s/%s", wsroot,
		    protectedpaths[i]);
		if (lstat(path, &st) != 0)
			continue;
		if (sbxbind(path, 0) != 0)
			goto fail;
		sbxbound(protectedpaths[i]);
	}
	/* vtcode needs none of the capabilities root or the namespace
	 * gave it */
	if (runcaps() != 0)
		goto fail;
	done = 1;
	return 0;
fail:
	snprintf(why, wsz, "protected paths: %s", strerror(errno));
broken:
	snprintf(sbxbroken, sizeof(sbxbroken), "%s", why);
	return -1;
}

/*
 * Whether this workspace's protected paths are pinned, for the policy:
 * NULL when they are (or there are none, or one is a symlink, which the
 * runner refuses anyway), else why they cannot be: no namespace.  The
 * first call tries, so the policy knows before any command runs.
 */
static const char *
sbxunpinnedwhy(void)
{
	static int tried;
	char why[320];

	if (!tried) {
		tried = 1;
		(void)sbxprotect(why, sizeof(why));
	}
	return sbxunpinned[0] != '\0' ? sbxunpinned : NULL;
}

/*
 * A missing protected directory at the root (one of quarantined[] that
 * was not there, !existed[]) that a command makes would stand, until
 * the command ends and sbxquarantine() moves it aside, for any git run
 * outside the sandbox to obey: an editor that runs git status every few
 * seconds.  So while commands run vtcode looks at the root every
 * RUNWATCHMS and kills them the moment one is there (runloop).  Not
 * inotify: closing an inotify instance waits for the kernel's reaper,
 * up to 24 ms here, for every command.  Is there one to look for?
 */
static int
sbxwatch(void)
{
	size_t i;

	for (i = 0; i < LEN(quarantined) && existed[i]; i++)
		;
	return i < LEN(quarantined);
}

/* give the user back search and write on the workspace's root, which a
 * command may have taken away (chmod is not Landlock's to refuse): the
 * root is theirs, and vtcode must see into it to move anything aside */
static void
sbxrootopen(void)
{
	struct stat st;

	if (stat(wsroot, &st) == 0 && st.st_uid == geteuid() &&
	    (st.st_mode & S_IRWXU) != S_IRWXU)
		chmod(wsroot, (st.st_mode & 07777) | S_IRWXU);
}

/* is the missing protected name i at the root now?  Anything but "no"
 * (ENOENT) counts as yes: what cannot be looked at is not cleared */
static int
sbxthere(size_t i)
{
	static char path[PATH_MAX + 32];    /* static: see runloop */
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", wsroot, quarantined[i]);
	return !existed[i] && (lstat(path, &st) == 0 || errno != ENOENT);
}

/* is a missing protected name at the root now?  1 or 0; a root the
 * command made unsearchable is given back to its owner first */
static int
sbxwatched(void)
{
	size_t i;
	int hit = 0;

	for (i = 0; i < LEN(quarantined); i++)
		hit |= sbxthere(i);
	if (hit) {
		sbxrootopen();
		for (i = 0, hit = 0; i < LEN(quarantined); i++)
			hit |= sbxthere(i);
	}
	return hit;
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
	static Buf said;        /* what was moved while out was NULL */
	static char from[PATH_MAX + 32], to[PATH_MAX + 64];   /* see runloop */
	char hex[17];
	unsigned char rnd[8];
	struct stat st;
	size_t i;

	if (said.max == 0)
		bufinit(&said, 4096);
	sbxrootopen();
	for (i = 0; i < LEN(quarantined); i++) {
		if (!sbxthere(i))
			continue;
		snprintf(from, sizeof(from), "%s/%s", wsroot, quarantined[i]);
		randbytes(rnd, sizeof(rnd));
		hexenc(rnd, sizeof(rnd), hex);
		snprintf(to, sizeof(to), "%s/%s.vtcode-quarantine-%s", wsroot,
		    quarantined[i], hex);
		errno = 0;
		if (rename(from, to) == 0 || (lstat(from, &st) != 0 && errno ==
		    ENOENT))
			bufaddf(&said, "\n[vtcode: the command created %s, "
			    "which vtcode could not protect; %sit was moved to "
			    "%s]\n", quarantined[i], sbxguardhit ? "it was "
			    "killed the moment it did, and " : "", to +
			    strlen(wsroot) + 1);
		else {
			/* fail closed: nothing more runs in this session */
			snprintf(sbxbroken, sizeof(sbxbroken), "a command "
			    "created %s and it could not be moved aside (%s): "
			    "no more commands run here; do not run git there "
			    "before you look at it", quarantined[i],
			    strerror(errno ? errno : EPERM));
			bufaddf(&said, "\n[vtcode: %s]\n", sbxbroken);
			warnx("%s", sbxbroken);
		}
	}
	if (out == NULL)
		return;
	if (said.len > 0)
		bufadd(out, said.p, said.len);
	said.len = 0;
	said.err = 0;
	sbxguardhit = 0;
}

/*
 * macOS and OpenBSD: the same walls from their own kernels, ready for a
 * port of the rest (vtcode builds on Linux only today: the runner uses
 * prctl, pidfds and mount namespaces).  Neither can run on this
 * project's CI.  tests/port.c compiles both here against stubs with the
 * platforms' prototypes and checks the profile and the unveil calls
 * they make; README lists them as untested, with what they cannot do.
 *
 * Seatbelt mirrors the Linux sandbox: (deny default); read, map and
 * execute the system paths config.h lists for macOS; read, write and
 * execute the workspace and the temp dir, except the protected paths;
 * the devices and the pty; the sysctls config.h lists (none that reads
 * another process: kern.procargs2 would show vtcode's environment);
 * signals and process information only inside the sandbox; the network
 * only with --net.  The protected names are one regex (each ASCII letter
 * in both cases: the default macOS file system ignores case), so a
 * missing one cannot be created either; a .git pointer's repository is
 * a subpath.  Every path is a profile parameter, resolved with
 * realpath(): nothing the user or the workspace named is ever part of
 * the profile's text.
 */
#if defined(__APPLE__) || defined(VTCODE_PORTCHECK)

#define SBPLMAXPARAMS 64

typedef struct {
	Buf prof;
	const char *par[2 * SBPLMAXPARAMS + 1]; /* key, value, ..., NULL */
	int n;
} Sbpl;

/* parameter KEY = path p made canonical.  0; 1 when p does not exist
 * and may be left out; -1 */
static int
sbplparam(Sbpl *s, const char *key, const char *p, int must, char *why,
    size_t wsz)
{
	char rp[PATH_MAX];

	if (realpath(p, rp) == NULL) {
		if (!must && errno == ENOENT)
			return 1;
		snprintf(why, wsz, "%.300s: %s", p, strerror(errno));
		return -1;
	}
	if (s->n >= SBPLMAXPARAMS) {
		snprintf(why, wsz, "more than %d Seatbelt parameters",
		    SBPLMAXPARAMS);
		return -1;
	}
	s->par[2 * s->n] = xstrndup(key, strlen(key));
	s->par[2 * s->n + 1] = xstrndup(rp, strlen(rp));
	s->par[2 * ++s->n] = NULL;
	return 0;
}

/* " (subpath (param \"R0\"))" ... into f for each entry that exists;
 * how many, or -1 */
static int
sbplpaths(Sbpl *s, Buf *f, const char *filter, char pre,
    const char *const *l, size_t n, char *why, size_t wsz)
{
	char key[8];
	size_t i;
	int rc, k = 0;

	for (i = 0; i < n && i < 1000; i++) {
		snprintf(key, sizeof(key), "%c%d", pre, (int)i);
		if ((rc = sbplparam(s, key, l[i], 0, why, wsz)) < 0)
			return -1;
		if (rc == 0) {
			bufaddf(f, " (%s (param \"%s\"))", filter, key);
			k++;
		}
	}
	return k;
}

/* a name from config.h that goes into the profile's text: letters,
 * digits and "._-/" only, never empty, never starting with "/" */
static int
sbplname(const char *c, char *why, size_t wsz)
{
	const char *p;

	for (p = c; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("._-/", *p) != NULL))
			break;
	if (*c != '\0' && *c != '/' && *p == '\0')
		return 0;
	snprintf(why, wsz, "%s: not a name that can go into a Seatbelt "
	    "profile", c);
	return -1;
}

/* the protected names as one regex: "/([.][gG][iI][tT]|...)(/|$)" */
static int
sbplprotected(Buf *b, char *why, size_t wsz)
{
	const char *c;
	size_t i;

	bufaddstr(b, "(regex #\"/([.][gG][iI][tT]");
	for (i = 0; i < LEN(protectedpaths); i++) {
		if (sbplname(protectedpaths[i], why, wsz) != 0)
			return -1;
		bufaddc(b, '|');
		for (c = protectedpaths[i]; *c != '\0'; c++) {
			if (*c >= 'a' && *c <= 'z')
				bufaddf(b, "[%c%c]", *c, *c - 'a' + 'A');
			else if (*c >= 'A' && *c <= 'Z')
				bufaddf(b, "[%c%c]", *c - 'A' + 'a', *c);
			else if (*c == '.')
				bufaddstr(b, "[.]");
			else
				bufaddc(b, *c);
		}
	}
	bufaddstr(b, ")(/|$)\")");
	return 0;
}

/* the profile and its parameters for a command; 0 or -1 with why */
static int
sbplmake(Sbpl *s, int net, const char *tmp, const char *pty, char *why,
    size_t wsz)
{
	char gd[PATH_MAX];
	Buf *b = &s->prof, sys;
	size_t i;
	int nsys, k;

	memset(s, 0, sizeof(*s));
	bufinit(b, 0);
	bufinit(&sys, 0);
	bufaddstr(b, "(version 1)\n(deny default)\n(allow process-fork)\n"
	    "(allow signal (target same-sandbox))\n"
	    "(allow process-info* (target same-sandbox))\n"
	    "(allow ipc-posix-sem)\n(allow mach-lookup (global-name "
	    "\"com.apple.system.opendirectoryd.libinfo\"))\n"
	    "(allow file-read-metadata)\n(allow sysctl-read");
	for (i = 0; i < LEN(sbxsysctlmac); i++) {
		if (sbplname(sbxsysctlmac[i], why, wsz) != 0)
			goto fail;
		bufaddf(b, " (sysctl-name \"%s\")", sbxsysctlmac[i]);
	}
	bufaddstr(b, ")\n");
	/* the system paths: read, map and execute; none there, no rule
	 * (an allow with no filter would allow everything) */
	if ((nsys = sbplpaths(s, &sys, "subpath", 'R', sbxreadmac,
	    LEN(sbxreadmac), why, wsz)) < 0)
		goto fail;
	if (nsys > 0)
		bufaddf(b, "(allow file-read* file-map-executable "
		    "process-exec%s)\n", sys.p);
	bufaddstr(b, "(allow file-read* file-write-data file-ioctl");
	if (sbplpaths(s, b, "literal", 'D', sbxdevices, LEN(sbxdevices), why,
	    wsz) < 0 || sbplparam(s, "PTY", pty, 1, why, wsz) != 0 ||
	    sbplparam(s, "WS", wsroot, 1, why, wsz) != 0 ||
	    sbplparam(s, "TMP", tmp, 1, why, wsz) != 0)
		goto fail;
	bufaddstr(b, " (literal (param \"PTY\")))\n"
	    "(allow file-read* file-map-executable process-exec "
	    "(subpath (param \"WS\")) (subpath (param \"TMP\")))\n"
	    "(allow file-write* (subpath (param \"TMP\")))\n"
	    "(allow file-write* (require-all (subpath (param \"WS\")) "
	    "(require-not ");
	if (sbplprotected(b, why, wsz) != 0)
		goto fail;
	bufaddc(b, ')');
	if ((k = sbxgittop(gd, why, wsz)) < 0)
		goto fail;
	if (k > 0) {
		if (sbplparam(s, "GITDIR", gd, 1, why, wsz) != 0)
			goto fail;
		bufaddstr(b, " (require-not (subpath (param \"GITDIR\")))");
	}
	bufaddstr(b, "))\n");
	if (net)        /* and the services name lookups and TLS ask */
		bufaddstr(b, "(allow network* system-socket)\n"
		    "(allow mach-lookup (global-name "
		    "\"com.apple.SystemConfiguration.DNSConfiguration\") "
		    "(global-name \"com.apple.SystemConfiguration.configd\") "
		    "(global-name \"com.apple.trustd.agent\") "
		    "(global-name \"com.apple.ocspd\"))\n");
	if (b->err || sys.err) {
		snprintf(why, wsz, "the Seatbelt profile does not fit");
		goto fail;
	}
	buffree(&sys);
	return 0;
fail:
	buffree(&sys);
	return -1;
}

static void
sbplfree(Sbpl *s)
{
	int i;

	for (i = 0; i < 2 * s->n; i++)
		free((char *)s->par[i]);
	buffree(&s->prof);
}

/* the child's Seatbelt sandbox, inherited by everything it runs */
static int
sbxseatbelt(int net, const char *tmp, const char *pty, char *why,
    size_t wsz)
{
	char *err = NULL, *c;
	Sbpl s;
	int rc;

	if (sbxpinnable(why, wsz) < 0)
		return -1;
	if (sbplmake(&s, net, tmp, pty, why, wsz) != 0) {
		sbplfree(&s);
		return -1;
	}
	rc = sandbox_init_with_parameters(s.prof.p, 0, s.par, &err);
	if (rc != 0) {
		snprintf(why, wsz, "sandbox_init: %s", err ? err : "refused");
		for (c = why; *c != '\0'; c++)  /* one line */
			if ((unsigned char)*c < ' ')
				*c = ' ';
	}
	if (err != NULL)
		sandbox_free_error(err);
	sbplfree(&s);
	return rc != 0 ? -1 : 0;
}
#endif /* __APPLE__ */

/*
 * OpenBSD: unveil the same paths with the same rights (config.h's
 * OpenBSD paths read and execute; the workspace and temp dir read,
 * write, execute and create; the devices read and write, "c" too as
 * open(O_CREAT) of an existing /dev/null asks for it; the protected
 * paths read only, so a missing one cannot be created), lock the list,
 * and pledge what the command may do after exec: inet, dns and unix
 * only with --net, no ps (it would read other processes' environments),
 * no error (a violation kills).
 */
#if defined(__OpenBSD__) || defined(VTCODE_PORTCHECK)
static int
sbxunveil(int net, const char *tmp, const char *pty, char *why, size_t wsz)
{
	static const char prom[] = "stdio rpath wpath cpath dpath fattr "
	    "chown flock getpw proc exec tty prot_exec";
	char path[PATH_MAX + 32], gd[PATH_MAX];
	const char *fail = NULL;
	size_t i;
	int e = 0, k;

	if (sbxpinnable(why, wsz) < 0 || (k = sbxgittop(gd, why, wsz)) < 0)
		return -1;
	for (i = 0; i < LEN(sbxreadbsd) && !fail; i++)
		if (unveil(sbxreadbsd[i], "rx") != 0 && (e = errno) != ENOENT)
			fail = sbxreadbsd[i];
	for (i = 0; i < LEN(sbxdevices) && !fail; i++)
		if (unveil(sbxdevices[i], "rwc") != 0 && (e = errno) != ENOENT)
			fail = sbxdevices[i];
	for (i = 0; net && i < LEN(selfread) && !fail; i++)
		if (unveil(selfread[i], "r") != 0 && (e = errno) != ENOENT)
			fail = selfread[i];
	if (!fail && unveil(pty, "rw") != 0)
		fail = pty, e = errno;
	if (!fail && unveil(wsroot, "rwxc") != 0)
		fail = wsroot, e = errno;
	if (!fail && unveil(tmp, "rwxc") != 0)
		fail = tmp, e = errno;
	snprintf(path, sizeof(path), "%s/.git", wsroot);
	if (!fail && unveil(path, "r") != 0)
		fail = ".git", e = errno;
	for (i = 0; i < LEN(protectedpaths) && !fail; i++) {
		snprintf(path, sizeof(path), "%s/%s", wsroot, protectedpaths[i]);
		/* ENOENT, ENOTDIR: a parent that is missing or a file
		 * (.git/hooks with a .git pointer file), whose own rule
		 * already covers everything beneath it */
		if (unveil(path, "r") != 0 && (e = errno) != ENOENT &&
		    e != ENOTDIR)
			fail = protectedpaths[i];
	}
	if (!fail && k > 0 && unveil(gd, "r") != 0)
		fail = gd, e = errno;
	if (!fail && unveil(NULL, NULL) != 0)
		fail = "locking the list", e = errno;
	if (fail) {
		snprintf(why, wsz, "unveil %.300s: %s", fail, strerror(e));
		return -1;
	}
	snprintf(path, sizeof(path), "%s%s", prom, net ? " unix inet dns" :
	    "");
	if (pledge(NULL, path) != 0) {
		snprintf(why, wsz, "pledge: %s", strerror(errno));
		return -1;
	}
	return 0;
}
#endif /* __OpenBSD__ */

/*
 * runner: one command on its own pty, in its own session, with the
 * fixed environment, rlimits, no capabilities, no_new_privs and the
 * sandbox; output read with a wall-clock timeout and kept within
 * RUNMAXOUTPUT (head and tail); and when it ends, every process it
 * started ends too: vtcode is a child subreaper, so even a setsid'd
 * double fork comes back to it and is killed.
 */

/*
 * May the commands' temp dir go in base?  A directory owned by root or
 * us that no one else may write unless its sticky bit is set (else
 * someone else could move our dir away and put theirs in its place), on
 * a writable file system, with room for the name vtcode makes in it.
 * With picky, also one that allows exec (build systems run what they
 * make in TMPDIR) and has RUNTMPMINFREE free.  1 or 0.
 */
static int
runtmpsafe(const char *base, int picky)
{
	struct statvfs sv;
	struct stat st;

	if (strlen(base) + 32 > sizeof(runtmpusr) || stat(base, &st) != 0 ||
	    !S_ISDIR(st.st_mode))
		return 0;
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX))
		return 0;
	if (st.st_uid != 0 && st.st_uid != geteuid())
		return 0;
	if (statvfs(base, &sv) != 0 || (sv.f_flag & ST_RDONLY))
		return 0;
	return !picky || (!(sv.f_flag & ST_NOEXEC) &&
	    (unsigned long long)sv.f_bavail * sv.f_frsize >= RUNTMPMINFREE);
}

/*
 * Where the temp dir goes: the first of config.h's runtmpbases that
 * runtmpsafe() takes pickily, else the first it takes at all.  Chosen
 * once, before any user namespace: inside one, root's files show the
 * overflow uid.  NULL when none is safe.
 */
static const char *
runtmpwhere(void)
{
	static const char *base;
	static int chosen;
	size_t i;
	int picky;

	for (picky = 1; !chosen && picky >= 0; picky--)
		for (i = 0; !chosen && i < LEN(runtmpbases); i++)
			if (runtmpsafe(runtmpbases[i], picky)) {
				base = runtmpbases[i];
				chosen = 1;
			}
	chosen = 1;
	return base;
}

/*
 * The user's own directory in the temp dirs' base, BASE/vtcode-UID: a
 * directory of ours that no one else may enter, made if it is missing
 * and kept (tmux's way).  The session temp dirs go inside it, and it is
 * the island the read-only view leaves writable (sbxreadonly): the rest
 * of /tmp, where other programs keep sockets of this user, stays
 * read-only to chmod.  Dies when the name is taken by anything else.
 */
static const char *
runtmpuser(void)
{
	const char *base;
	struct stat st;

	if (runtmpusr[0] != '\0')
		return runtmpusr;
	if ((base = runtmpwhere()) == NULL)
		die("no directory for the commands' temp dir in config.h's "
		    "runtmpbases (owned by root or you, sticky if others may "
		    "write, on a writable file system)");
	snprintf(runtmpusr, sizeof(runtmpusr), "%s/vtcode-%lu", base,
	    (unsigned long)geteuid());
	if (mkdir(runtmpusr, 0700) != 0 && errno != EEXIST)
		die("%s:", runtmpusr);
	if (lstat(runtmpusr, &st) != 0 || !S_ISDIR(st.st_mode) ||
	    st.st_uid != geteuid() || (st.st_mode & 077) != 0)
		die("%s: not a directory of yours that no one else may enter "
		    "(mode 0700): refusing to put the commands' temp dir "
		    "there", runtmpusr);
	return runtmpusr;
}

/* the private per-session temp dir, HOME and TMPDIR of every command */
static const char *
runtmp(void)
{
	char *dir = runtmpdir;

	if (dir[0] != '\0')
		return dir;
	snprintf(dir, sizeof(runtmpdir), "%s/XXXXXX", runtmpuser());
	if (mkdtemp(dir) == NULL) {
		dir[0] = '\0';
		die("mkdtemp %s/XXXXXX:", runtmpuser());
	}
	runtmpowner = getpid();
	return dir;
}

/* remove what commands left in the temp dir, without following links */
static void
rmtree(int dfd, const char *name)
{
	DIR *d;
	struct dirent *e;
	struct stat st;
	int fd;

	if (unlinkat(dfd, name, 0) == 0 || errno == ENOENT || (errno ==
	    EISDIR && unlinkat(dfd, name, AT_REMOVEDIR) == 0))
		return;
	/* a command may have taken the bits that read or empty a
	 * directory of its own away: give them back (no link followed) */
	if ((fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) < 0 && errno == EACCES && fstatat(dfd, name, &st,
	    AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode) && fchmodat(dfd,
	    name, 0700, 0) == 0)
		fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return;
	}
	(void)fchmod(fd, 0700);
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			rmtree(dirfd(d), e->d_name);
	closedir(d);
	unlinkat(dfd, name, AT_REMOVEDIR);
}

static void
runtmpclean(void)
{
	if (runtmpdir[0] != '\0' && runtmpowner == getpid())
		rmtree(AT_FDCWD, runtmpdir);
}

/* the capabilities root (or the user namespace) would carry into the
 * command: all of them, bounding and ambient sets too */
static int
runcaps(void)
{
	struct { uint32_t version; int pid; } hdr = { 0x20080522, 0 };
	struct { uint32_t eff, perm, inh; } data[2];
	int c;

	/* root, or anyone inside the user namespace sbxprotect() made.
	 * What keeps a command's execve from gaining a capability is the
	 * capset below (nothing permitted) with no_new_privs, under which
	 * the kernel gives a new program no more than the old one had,
	 * root's or a file's capabilities alike.  The bounding set is one
	 * more wall for root, as the design asks; an ordinary user
	 * runs as their own id (the namespace maps no other), where it
	 * would bound nothing: not worth 41 calls.  The kernel checks
	 * CAP_SETPCAP before the number: EPERM means no drop can work (a
	 * command of a vtcode that has dropped them all already), EINVAL
	 * that c is past the last one */
	for (c = getuid() == 0 || geteuid() == 0 ? 0 : 64; c < 64; c++)
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) != 0)
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

	/* with its NUL: where forked stages wrote at once, the first ends
	 * where the next begins */
	n = snprintf(msg, sizeof(msg), "%s: %s", step, why);
	if (n > 0 && write(3, msg, MIN((size_t)n + 1, sizeof(msg))) < 0)
		_exit(127);
	_exit(127);
}

/* the child, from runspawn() to execve(); sp->prog is its seccomp
 * program (NULL only where config.h makes seccomp optional and it cannot
 * be had).  It shares vtcode's memory until the execve: it writes only
 * its own stack, and every way out is _exit() */
static void
runchild(const Spawn *sp)
{
	static const struct { int res; rlim_t lim; } lims[] = {
		{ RLIMIT_CPU, RLIMCPU }, { RLIMIT_AS, RLIMAS },
		{ RLIMIT_FSIZE, RLIMFSIZE }, { RLIMIT_NOFILE, RLIMNOFILE },
		{ RLIMIT_NPROC, RLIMNPROC }, { RLIMIT_CORE, 0 },
	};
	char *env[LEN(runenv) + 6], home[96], tmp[96], why[256];
	struct rlimit rl;
	struct sigaction sa;
	size_t i, n = 0;
	const char *v;
	int s;

	int fds[5], k, nfd = sp->rfd >= 0 ? 5 : 4;

	for (k = 0; k < 3; k++)
		if (sp->drop[k] >= 0)
			close(sp->drop[k]);
	/* lift every fd out of the way before any lands on 0-4: the
	 * pty or pipes, why an exec failed (3), the Landlock ruleset (4)
	 * until the child has restricted itself */
	fds[0] = sp->in;
	fds[1] = sp->out;
	fds[2] = sp->slave;
	fds[3] = sp->errfd;
	fds[4] = sp->rfd;
	for (k = 0; k < nfd; k++)
		if ((fds[k] = fcntl(fds[k], F_DUPFD, 10)) < 0)
			_exit(127);
	for (k = 0; k < nfd; k++)
		if (dup2(fds[k], k) != k)
			_exit(127);
	for (k = 3; k < nfd; k++)
		if (fcntl(k, F_SETFD, FD_CLOEXEC) != 0)
			_exit(127);
#if defined(__linux__)
	/* close_range is older than Landlock (5.9, 5.13): no fallback that
	 * allocates or die()s in here */
	if (syscall(SYS_close_range, (unsigned)nfd, ~0U, 0U) != 0)
		runfail("close_range", strerror(errno));
#else
	hardenclosefrom(nfd);
#endif
	/* a session of its own; the first stage of a pipeline also takes
	 * the pty as its controlling terminal (a pty can have only one) */
	if (setsid() < 0 || (sp->leader && ioctl(2, TIOCSCTTY, 0) != 0))
		runfail("pty", strerror(errno));
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (s = 1; s < NSIG; s++)
		sigaction(s, &sa, NULL);
	sigemptyset(&sa.sa_mask);
	sigprocmask(SIG_SETMASK, &sa.sa_mask, NULL);
	if (chdir(sp->workdir) != 0)
		runfail(sp->workdir, strerror(errno));
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
#if defined(__APPLE__)
	if (sbxseatbelt(sp->net, runtmp(), sp->pty, why, sizeof(why)) != 0)
		runfail("sandbox", why);
#elif defined(__OpenBSD__)
	if (sbxunveil(sp->net, runtmp(), sp->pty, why, sizeof(why)) != 0)
		runfail("sandbox", why);
#else
	if (sp->abi < SBXLANDLOCKMIN)
		runfail("sandbox", "Landlock is not available (needs Linux "
		    "5.13 with CONFIG_SECURITY_LANDLOCK and lsm=landlock): "
		    "refusing to run unsandboxed");
	/* the ruleset vtcode made for this pipeline (sbxrules) */
	if (sp->abi > 0 && (sp->rfd < 0 || syscall(LL_SYS_RESTRICT, 4, 0) !=
	    0)) {
		snprintf(why, sizeof(why), "landlock_restrict_self: %s",
		    sp->rfd < 0 ? "no ruleset" : strerror(errno));
		runfail("sandbox", why);
	}
	if (sp->rfd >= 0)
		close(4);
	/* the filter vtcode compiled for this kind of command; one that
	 * was built but will not load stops the command even where
	 * config.h makes seccomp optional: it was meant to be there */
	if (sp->prog != NULL && prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER,
	    sp->prog, 0L, 0L) != 0) {
		snprintf(why, sizeof(why), "seccomp: %s", strerror(errno));
		runfail("sandbox", why);
	}
#endif
	/* limits last: nothing allocates after them, so a tight address
	 * space limit cannot trip vtcode's own code in the child */
	for (i = 0; i < LEN(lims); i++) {
		rl.rlim_cur = rl.rlim_max = lims[i].lim;
		if (setrlimit(lims[i].res, &rl) != 0)
			runfail("setrlimit", strerror(errno));
	}
#if defined(__linux__)
	/* a failure leaves the command on vtcode's CPU, nothing worse */
	if (runpinned)
		(void)runcpusback();
#endif
	execve(sp->argv[0], sp->argv, env);
	runfail(sp->argv[0], strerror(errno));
}

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RUNASAN 1       /* clang before 14 has no __SANITIZE_ADDRESS__ */
#endif
#endif
#if defined(__linux__) && !defined(__SANITIZE_ADDRESS__) && \
    !defined(RUNASAN)
#define RUNCLONE 1
static int
runclonefn(void *sp)
{
	runchild(sp);
	return 127;     /* not reached: runchild() ends in execve or _exit */
}
#endif

/*
 * A new process goes to an idle CPU, and waking one (an interrupt to
 * it; in a virtual machine a trip through the host) takes longer than
 * all a child does before its execve, and so does waking vtcode on
 * another CPU when the command ends.  So while vtcode starts and waits
 * for a pipeline it binds itself to the CPU it is on (runpin(1)); the
 * children inherit that, and each takes back the CPUs vtcode had
 * (runcpus) just before its execve (runchild), so a command runs where
 * the kernel likes.  runpin(0) gives vtcode its own back.
 */
#if defined(__linux__)
/* the calling process (vtcode, or a child before its execve) gets the
 * CPUs vtcode had back; should that set have changed meanwhile, every
 * CPU the kernel allows.  0, or -1 */
static int
runcpusback(void)
{
	cpu_set_t all;

	if (sched_setaffinity(0, sizeof(runcpus), &runcpus) == 0)
		return 0;
	memset(&all, 0xff, sizeof(all));
	return sched_setaffinity(0, sizeof(all), &all);
}

static void
runpin(int on)
{
	cpu_set_t one;
	int c;

	/* pinned still if even the fallback fails, so the next pipeline
	 * does not take one CPU for vtcode's set */
	if (!on) {
		if (!runpinned || runcpusback() == 0)
			runpinned = 0;
		return;
	}
	if (runpinned || (c = sched_getcpu()) < 0 || sched_getaffinity(0,
	    sizeof(runcpus), &runcpus) != 0 || !CPU_ISSET(c, &runcpus))
		return;
	CPU_ZERO(&one);
	CPU_SET(c, &one);
	runpinned = sched_setaffinity(0, sizeof(one), &one) == 0;
}
#else
static void
runpin(int on)
{
	(void)on;
}
#endif

/*
 * Start one stage; its pid, or -1.  On Linux, when sp->shared, the
 * child shares vtcode's memory and vtcode waits until it has called
 * execve (or _exit), as posix_spawn does: no copy of vtcode's page
 * tables to make and tear down for every command.  Signals stay blocked
 * until the child has reset every handler, so none of vtcode's runs in
 * it.  The caller sets shared only where no stage already running could
 * stop this one before its execve (and vtcode with it, waiting in the
 * kernel where not even Ctrl-C reaches): a single command, or Landlock
 * ABI 6, whose signal scope keeps a stage from signalling the next.
 * Otherwise, with ASan (the unit tests) and elsewhere, a fork.
 */
static pid_t
runspawn(const Spawn *sp)
{
	pid_t pid;
#if defined(RUNCLONE)
	static char *stack;
	sigset_t all, old;
	int e;

	if (!sp->shared)
		goto fork;
	/* once; the lowest page left unmapped to stop an overflow */
	if (stack == NULL) {
		if ((stack = mmap(NULL, RUNSTACK, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)) ==
		    MAP_FAILED) {
			stack = NULL;
			return -1;
		}
		if (mprotect(stack, 4096, PROT_NONE) != 0) {
			munmap(stack, RUNSTACK);
			stack = NULL;
			return -1;
		}
	}
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	pid = clone(runclonefn, stack + RUNSTACK, CLONE_VM | CLONE_VFORK |
	    SIGCHLD, (void *)sp);
	e = errno;
	sigprocmask(SIG_SETMASK, &old, NULL);
	errno = e;
	return pid;
fork:
#endif
	if ((pid = fork()) == 0)
		runchild(sp);
	return pid;
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
	pid_t w;

	kill(-pgid, SIGKILL);
	for (rounds = 0; rounds < 10000; rounds++) {
		while ((w = waitpid(-1, NULL, WNOHANG)) > 0)
			;
		/* no child left at all, running or not: none to look for */
		if (w < 0 && errno == ECHILD)
			break;
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
runloop(int master, int watch, pid_t *pids, int n, long deadline,
    RunResult *r, int *status)
{
	/* static: a 64 KiB frame would touch its 16 stack pages (stack
	 * clash probes) in every run, output or not */
	static char buf[65536];
	struct pollfd pfd[2];
	long killat = 0, now, wait;
	pid_t last = pids[n - 1];
	size_t drained;
	ssize_t k;
	int i, done = 0, ready;

	/* the pty for output, a pidfd for the exit: no naps, no polling */
	pfd[0].fd = master;
	pfd[0].events = POLLIN;
	pfd[1].fd = (int)syscall(SYS_pidfd_open, last, 0);
	pfd[1].events = POLLIN;
	while (!done) {
		now = nowms();
		if (cancelled && !killat) {
			/* Ctrl-C (or SIGTERM, SIGHUP to vtcode): as a timeout,
			 * SIGTERM now and SIGKILL after the grace period */
			for (i = 0; i < n; i++)
				kill(-pids[i], SIGTERM);
			r->cancelled = 1;
			killat = now + RUNGRACEMS;
		}
		wait = (killat ? killat : deadline) - now;
		if (wait <= 0) {
			if (r->timedout || r->cancelled)
				break;
			for (i = 0; i < n; i++)
				kill(-pids[i], SIGTERM);
			r->timedout = 1;
			killat = now + RUNGRACEMS;
			continue;
		}
		/* without a pidfd (before Linux 5.3), short naps once the
		 * pty is closed */
		ready = poll(pfd, 2, (int)MIN(wait, pfd[1].fd < 0 &&
		    pfd[0].fd < 0 ? 1 : watch ? RUNWATCHMS : 250)) > 0;
		if (watch && sbxwatched()) {
			/* at once, no grace: every stage and all they began,
			 * and the directory aside now, not after the reaping;
			 * still watched, for one a straggler makes */
			for (i = 0; i < n; i++)
				kill(-pids[i], SIGKILL);
			runkillkids();
			r->guarded = sbxguardhit = 1;
			sbxquarantine(NULL);
		}
		if (ready && (pfd[0].revents & (POLLIN | POLLHUP | POLLERR))) {
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
 * stdout of the last on the pty.  gated: the line came through the
 * policy gate, which asks about all but read-only commands where the
 * protected paths cannot be pinned (policyone); only then may it run
 * with them unpinned.  0 with the outcome (the last stage's status) in
 * r, or -1 with why nothing could be started.
 */
static int
runpipe(char *const *argvs[], int n, int gated, const char *workdir,
    int net, long timeoutms, RunResult *r, char *why, size_t wsz)
{
	static int protected;
	struct termios tio;
	const struct sock_fprog *prog = NULL;
	static char pty[PATH_MAX];  /* static: see runloop */
	char buf[600];
	long start = nowms();
	int master, slave, ep[2], pp[2], in, status = 0, abi, i, watch;
	int rfd = -1, ok;
	struct stat st, pst;
	pid_t pids[MAXCMDSTAGES];
	struct pollfd efd;
	ssize_t k;
	long now;
	Spawn sp;

	memset(r, 0, sizeof(*r));
	bufinit(&r->out, 0);
	bufaddstr(&r->out, "");
	r->tail = xmalloc(RUNMAXOUTPUT / 2);
	r->status = -1;
	if (n < 1 || n > MAXCMDSTAGES) {
		snprintf(why, wsz, "a pipeline of 1 to %d commands", MAXCMDSTAGES);
		return -1;
	}
	if (sbxbroken[0] != '\0') {
		snprintf(why, wsz, "%s", sbxbroken);
		return -1;
	}
	if ((abi = sbxabi()) < SBXLANDLOCKMIN) {
		snprintf(why, wsz, "Landlock ABI %d is below the floor config.h "
		    "sets (%d): refusing to run unsandboxed", abi,
		    SBXLANDLOCKMIN);
		return -1;
	}
#if defined(__linux__)
	if ((prog = sbxprogram(net, abi, why, wsz)) == NULL && SBXSECCOMP)
		return -1;
#endif
	if (prctl(PR_SET_CHILD_SUBREAPER, 1L, 0L, 0L, 0L) != 0)
		die("prctl PR_SET_CHILD_SUBREAPER:");
	if (!protected && sbxprotect(why, wsz) != 0 && !(gated &&
	    sbxunpinned[0] != '\0'))
		return -1;
	protected = sbxunpinned[0] == '\0';
	(void)runtmp();         /* made here, once: the children share it */
	evsandbox(abi, net);
	/* the slave's name as openpty found it (/dev/pts/N, from the
	 * master): ttyname() would search /proc and /dev for it */
	memset(pty, 0, sizeof(pty));
	if (openpty(&master, &slave, pty, NULL, NULL) != 0) {
		snprintf(why, wsz, "openpty: %s", strerror(errno));
		return -1;
	}
	/* the name must be the slave's: the pty's Landlock rule and
	 * every stage's controlling terminal go by it */
	if ((ok = pty[0] == '/' && fstat(slave, &st) == 0 && stat(pty, &pst) ==
	    0 && S_ISCHR(st.st_mode) && st.st_rdev == pst.st_rdev) == 0)
		snprintf(why, wsz, "openpty: %s is not the terminal it opened",
		    pty[0] == '/' ? pty : "a name");
#if defined(__linux__)
	else if (abi > 0)
		rfd = sbxrules(abi, net, runtmp(), pty, why, wsz);
#endif
	if (!ok || (abi > 0 && rfd < 0)) {
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
	sp.workdir = workdir;
	sp.pty = pty;
	sp.prog = prog;
	sp.rfd = rfd;
	sp.net = net;
	sp.abi = abi;
	sp.slave = slave;
	sp.errfd = ep[1];
	sp.drop[0] = master;
	sp.drop[1] = ep[0];
	sp.shared = n == 1 || abi >= 6;
	efd.fd = ep[0];
	efd.events = POLLIN;
	watch = sbxwatch();
	runpin(1);
	for (i = 0, in = slave, k = 0; i < n && k <= 0; i++) {
		pp[0] = pp[1] = -1;
		if (i < n - 1 && pipe(pp) != 0)
			die("pipe:");
		sp.argv = argvs[i];
		sp.in = in;
		sp.out = pp[1] >= 0 ? pp[1] : slave;
		sp.leader = i == 0;
		sp.drop[2] = pp[0];
		if ((pids[i] = runspawn(&sp)) < 0)
			die("fork:");
		if (in != slave)
			close(in);
		if (pp[1] >= 0)
			close(pp[1]);
		in = pp[0];
		/* a stage that shared our memory has exec'd or said why
		 * not by now: stop at the first that failed, before its
		 * reasons could fill the pipe and block the next one */
		if (sp.shared && poll(&efd, 1, 0) > 0)
			k = read(ep[0], buf, sizeof(buf) - 1);
	}
	if (in != slave && in >= 0)
		close(in);
	close(slave);
	close(ep[1]);
	if (sp.rfd >= 0)
		close(sp.rfd);
	/* anything on the pipe before EOF means an execve never happened;
	 * a forked stage stopped before it (by another, below Landlock ABI
	 * 6) holds the pipe open: the deadline and Ctrl-C still apply */
	while (k <= 0) {
		now = nowms();
		if (cancelled || now >= start + timeoutms) {
			k = snprintf(buf, sizeof(buf), "%s before every stage of "
			    "the pipeline had started", cancelled ?
			    "interrupted" : "timed out");
			break;
		}
		if (poll(&efd, 1, (int)MIN(start + timeoutms - now, 250)) <= 0)
			continue;
		if ((k = read(ep[0], buf, sizeof(buf) - 1)) >= 0 || errno !=
		    EINTR)
			break;
	}
	if (k > 0) {
		buf[k] = '\0';
		snprintf(why, wsz, "%s", buf);
		close(ep[0]);
		close(master);
		runreap(pids[0]);
		runpin(0);
		return -1;
	}
	close(ep[0]);
	if (!runloop(master, watch, pids, n, start + timeoutms, r, &status)) {
		kill(-pids[n - 1], SIGKILL);
		waitpid(pids[n - 1], &status, 0);
	}
	close(master);
	for (i = 0; i < n; i++)
		runreap(pids[i]);
	runpin(0);
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
	return runpipe(one, 1, 0, workdir, net, timeoutms, r, why, wsz);
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
		if (cancelled) {        /* nothing more after a Ctrl-C */
			last = ExitCancel;
			break;
		}
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
			    runpipe((char *const **)(argvs + i), j - i + 1, 1,
			    workdir, net, left > 0 ? left : 1, &r, why,
			    wsz) != 0) {
				if (left <= 0)
					snprintf(why, wsz, "timed out");
				else
					runfree(&r);
				rc = -1;
			} else {
				runoutput(&r, out);
				lasttrunc |= r.truncated;
				sbxquarantine(out);
				last = r.cancelled ? ExitCancel : r.timedout ?
				    124 : r.sig ? 128 + r.sig : r.status;
				/* nothing more of the line after these */
				if (r.timedout || r.cancelled || r.guarded)
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
	*status = lastexit = last;
	return rc < 0 ? -1 : 0;
}

/* byte k of what was kept of the output: the head, then the tail ring
 * oldest first */
static char
runkept(const RunResult *r, size_t k)
{
	size_t half = RUNMAXOUTPUT / 2;
	size_t start = r->tailpos >= half ? r->tailpos % half : 0;

	return k < r->out.len ? r->out.p[k] :
	    r->tail[(start + k - r->out.len) % half];
}

/*
 * The output as kept, into b: its head, a count of what was elided, its
 * tail.  When b has a limit (a tool result's MAXTOOLOUTPUT), head and
 * tail shrink to what b can still take, leaving room for the lines that
 * follow (the exit status), so a long output is cut in the middle, not
 * lost whole.
 */
static void
runoutput(RunResult *r, Buf *b)
{
	size_t kept = r->out.len + r->taillen, head = kept, tail = 0, room, k;

	if (b->max > 0) {
		/* room too for the count's line and what comes after */
		room = b->max > b->len + 320 ? b->max - b->len - 320 : 0;
		if (room == 0 && r->total > 0) {
			b->err = 1;     /* full: the caller says output was cut */
			return;
		}
		if (kept > room) {
			head = MIN(room / 2, r->out.len);
			tail = room - head;
			if (r->total > kept)    /* a suffix: not across the gap */
				tail = MIN(tail, r->taillen);
		}
	}
	if (head == kept && r->total > kept) {
		/* nothing to shrink: the runner's own cut, where it is */
		head = r->out.len;
		tail = r->taillen;
	}
	bufadd(b, r->out.p, MIN(head, r->out.len));
	for (k = r->out.len; k < head; k++)
		bufaddc(b, runkept(r, k));
	if (r->total > head + tail)
		bufaddf(b, "\n[... %zu bytes elided ...]\n", r->total - head -
		    tail);
	for (k = kept - tail; k < kept; k++)
		bufaddc(b, runkept(r, k));
}

static void
runfree(RunResult *r)
{
	buffree(&r->out);
	free(r->tail);
	r->tail = NULL;
}

/* output for a terminal: lines and tabs kept; every other control byte
 * (an escape sequence would act on the user's terminal) and bytes that
 * are not UTF-8 shown as \xNN, C1 controls and bidirectional overrides
 * as \u{NNNN} */
static void
putterm(FILE *fp, const char *p, size_t n)
{
	const unsigned char *s = (const unsigned char *)p;
	size_t i;
	uint32_t cp;
	int k;

	for (i = 0; i < n; i += (size_t)k) {
		if ((k = utf8dec(s + i, n - i, &cp)) <= 0) {
			/* a sequence cut at the end of a piece is shown as
			 * bytes: the stream is escaped piece by piece */
			fprintf(fp, "\\x%02x", s[i]);
			k = 1;
		} else if ((cp < 0x20 && cp != '\n' && cp != '\t') ||
		    cp == 0x7F) {
			fprintf(fp, "\\x%02x", (unsigned)cp);
		} else if ((cp >= 0x80 && cp <= 0x9f) || (cp >= 0x202a &&
		    cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069)) {
			fprintf(fp, "\\u{%04X}", (unsigned)cp);
		} else {
			fwrite(s + i, 1, (size_t)k, fp);
		}
	}
}

/* vtcode sandbox [--net] [--timeout MS] -- CMD [ARG...] */
static int
cmdsandbox(int argc, char *argv[])
{
	static char path[PATH_MAX];         /* static: see runloop */
	char why[600], **av;
	struct stat st;
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
	/* vtcode writes nothing of its own here: its state and config
	 * directories stay read-only to the command (sbxreadonly) */
	sbxselfro = 1;
	catchsignals();
	av = argv + i + 1;
	if (strchr(av[0], '/') == NULL) {
		if (cmdpath(av[0], path, sizeof(path)) == NULL) {
			warnx("sandbox: %s: not found in %s", av[0], SYSPATH);
			return 127;
		}
		av[0] = path;
	} else if (stat(av[0], &st) != 0 && (errno == ENOENT ||
	    errno == ENOTDIR)) {
		warnx("sandbox: %s: not found", av[0]);
		return 127;
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
	if (r.cancelled)
		warnx("sandbox: interrupted: the command was killed");
	else if (r.guarded)
		warnx("sandbox: killed: it made a protected directory at the "
		    "root (moved aside: see the output)");
	else if (r.timedout)
		warnx("sandbox: timed out after %ld ms: killed", timeout);
	else if (r.sig)
		warnx("sandbox: killed by signal %d", r.sig);
	rc = r.cancelled ? ExitCancel : r.timedout ? 124 : r.sig ? 128 +
	    r.sig : r.status;
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

/*
 * May no write tool write rel (canonical)?  1 for one of config.h's
 * protectedpaths or what is beneath it; for a path with a component
 * named as one of its protectednames (.git) at any depth; and for the
 * repository a .git pointer file at the root names, and what is beneath
 * it.  Without regard to case, as a case-insensitive file system would.
 */
static int
isprotected(const char *rel)
{
	char gd[PATH_MAX];
	const char *c, *g;
	size_t i, n;

	for (i = 0; i < LEN(protectedpaths); i++) {
		n = strlen(protectedpaths[i]);
		if (strncasecmp(rel, protectedpaths[i], n) == 0 &&
		    (rel[n] == '\0' || rel[n] == '/'))
			return 1;
	}
	for (c = rel; *c != '\0'; c += n + (c[n] == '/')) {
		n = strcspn(c, "/");
		for (i = 0; i < LEN(protectednames); i++)
			if (n == strlen(protectednames[i]) &&
			    strncasecmp(c, protectednames[i], n) == 0)
				return 1;
	}
	if (!sbxgitdir(gd))
		return 0;
	if (strcmp(gd, wsroot) == 0)
		return 1;       /* the whole workspace is that repository */
	g = gd + (strcmp(wsroot, "/") == 0 ? 1 : strlen(wsroot) + 1);
	n = strlen(g);
	return strncasecmp(rel, g, n) == 0 && (rel[n] == '\0' ||
	    rel[n] == '/');
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
		/* made 0700, then given the mode the user's umask says:
		 * vtcode's own umask is 077 */
		if (nfd < 0 && errno == ENOENT && create &&
		    mkdirat(fd, comp, 0700) == 0 && (nfd = openat(fd, comp,
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) >= 0 &&
		    fchmod(nfd, 0777 & ~origumask) != 0) {
			close(nfd);
			nfd = -1;
		}
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

	if (sz == 0)
		return slash ? slash + 1 : rel;
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
	/* unique means no second match at all, overlapping ones too ("aa"
	 * is in "aaa" twice); replace_all replaces left to right.  Both in
	 * linear time: the count without overlaps, then one more look */
	for (p = buf; (q = strstr(p, old)) != NULL; p = q + oldn)
		count++;
	if (count == 1 && !all && (q = strstr(buf, old)) != NULL &&
	    strstr(q + 1, old) != NULL)
		count = 2;
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
 * run_command's workdir: the root, or a directory beneath it reached
 * through no symbolic link.  Its path in dir (2 * PATH_MAX bytes) and
 * in rel ("" for the root), or -1 with the reason in out.  The policy
 * reads the line from there (policyin) and the line runs there.
 */
static int
toolworkdir(const JDoc *d, int args, char *dir, char *rel, Buf *out)
{
	char why[PATH_MAX + 128], *p;
	int t, fd;

	snprintf(dir, 2 * PATH_MAX, "%s", wsroot);
	rel[0] = '\0';
	if ((t = jsonget(d, args, "workdir")) < 0)
		return 0;
	if ((p = jsonstrdup(d, t)) == NULL)
		return toolerr(out, "workdir: a string is required");
	if (strcmp(p, ".") == 0) {
		free(p);
		return 0;
	}
	if (toolpath(p, rel, MAXTOOLPATH + 1, why, sizeof(why)) != 0) {
		free(p);
		rel[0] = '\0';
		return toolerr(out, "workdir: %s", why);
	}
	free(p);
	/* beneath the root, no symlink on the way */
	if ((fd = wsopendir(rel, 0, why, sizeof(why))) < 0) {
		rel[0] = '\0';
		return toolerr(out, "workdir: %s", why);
	}
	close(fd);
	snprintf(dir, 2 * PATH_MAX, "%s/%s", wsroot, rel);
	return 0;
}

/*
 * The policy gate for one tool call, the decision in *dec.  A
 * run_command line is read from its workdir (policyin), where its
 * operands and globs mean what they will mean to the command, and the
 * human asked about it is told that workdir (in summary, ssz bytes).
 * 0, or -1 (the reason in out) when the workdir is not one.
 */
static int
toolgate(const char *name, const JDoc *d, int args, const char *arg,
    char *summary, size_t ssz, CmdLine *cl, Verdict *v, Decision *dec,
    Buf *out)
{
	char wdir[2 * PATH_MAX], rel[MAXTOOLPATH + 1];

	if (strcmp(name, "run_command") == 0) {
		if (toolworkdir(d, args, wdir, rel, out) != 0)
			return -1;
		if (rel[0] != '\0' && policyin(wdir) != 0)
			return toolerr(out, "workdir: %s: %s", rel,
			    strerror(errno));
		if (rel[0] != '\0')
			snprintf(summary, ssz, "in %s", rel);
	}
	*dec = policygate(name, arg, strlen(arg), summary[0] ? summary :
	    NULL, cl, v);
	policyin(NULL);
	return 0;
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
	int t, status;

	if ((t = jsonget(d, args, "timeout_ms")) >= 0 &&
	    jsonint(d, t, 1, INT64_MAX, &timeout) != 0)
		return toolerr(out, "timeout_ms: a whole number of "
		    "milliseconds, at least 1");
	timeout = MIN(timeout, RUNMAXTIMEOUTMS);       /* capped, not refused */
	if (toolworkdir(d, args, dir, rel, out) != 0)
		return -1;
	if (runline(cl, dir, 0, (long)timeout, out, &status, why,
	    sizeof(why)) != 0)
		return toolerr(out, "\n[not run: %s]", why);
	if (out->err) {
		/* more than a tool result holds: say so, and keep room for
		 * the status, which the model must always get */
		out->err = 0;
		if (out->p != NULL && out->max > 0 && out->len + 128 >
		    out->max) {
			out->len = out->max > 128 ? out->max - 128 : 0;
			out->p[out->len] = '\0';
		}
		bufaddstr(out, "\n[more output than a tool result holds: cut]");
	}
	bufaddf(out, "%s[exit status %d]", out->len && out->p[out->len - 1] !=
	    '\n' ? "\n" : "", status);
	return 0;
}

static void
ignoreload(Ignore *ig)
{
	char *buf, *l, *e;
	struct stat st;
	size_t len;
	int fd;

	memset(ig, 0, sizeof(*ig));
	if ((fd = open(wsroot, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return;
	buf = readsmall(fd, ".gitignore", MAXCONFIGSIZE, &len, &st);
	close(fd);
	if (buf == NULL)
		return;
	ig->pat = xmalloc(sizeof(char *) * (len / 2 + 2));
	for (l = buf; l < buf + len; l = e + 1) {
		e = l + strcspn(l, "\n");
		*e = '\0';
		if (e > l && e[-1] == '\r')
			e[-1] = '\0';
		while (strlen(l) > 1 && l[strlen(l) - 1] == '/')
			l[strlen(l) - 1] = '\0';
		/* negations are not followed: listing less is the safe
		 * mistake */
		if (*l == '\0' || *l == '#' || *l == '!')
			continue;
		ig->pat[ig->n++] = xstrndup(l, strlen(l));
	}
	free(buf);
}

static void
ignorefree(Ignore *ig)
{
	while (ig->n > 0)
		free(ig->pat[--ig->n]);
	free(ig->pat);
}

/* split s (a copy, changed) at '/' into at most max components; their
 * count, or -1 when there are more */
static int
ignoresplit(char *s, char **c, int max)
{
	int n = 0;

	while (*s != '\0') {
		if (*s == '/') {
			*s++ = '\0';
			continue;
		}
		if (n == max)
			return -1;
		c[n++] = s;
		s += strcspn(s, "/");
	}
	return n;
}

/* does pattern p (one with a '/') match rel, from the root? */
static int
ignorepath(const char *p, const char *rel)
{
	char pb[PATH_MAX], rb[PATH_MAX], *pc[32], *c[64];
	unsigned char m[LEN(pc) + 1][LEN(c) + 1];
	int np, n, i, k;

	if (strlen(p) >= sizeof(pb) || strlen(rel) >= sizeof(rb))
		return 0;
	memcpy(pb, p, strlen(p) + 1);
	memcpy(rb, rel, strlen(rel) + 1);
	if ((np = ignoresplit(pb, pc, (int)LEN(pc))) <= 0 ||
	    (n = ignoresplit(rb, c, (int)LEN(c))) < 0)
		return 0;
	/* m[i][k]: do pattern components i.. match path components k..?
	 * As git reads them: "**" is any number of directories, and last,
	 * all that is inside (one component or more).  Filled from the
	 * end: time np * n, whatever the number of "**" */
	for (i = np; i >= 0; i--)
		for (k = n; k >= 0; k--)
			m[i][k] = i == np ? k == n : strcmp(pc[i], "**") == 0 ?
			    (i == np - 1 ? k < n : m[i + 1][k] ||
			    (k < n && m[i][k + 1])) : k < n &&
			    m[i + 1][k + 1] && fnmatch(pc[i], c[k], 0) == 0;
	return m[0][0];
}

/* is rel (name is its last component) ignored by the root's .gitignore?
 * A pattern without a '/' (but a final one) names a file or directory
 * at any depth; one with a '/' is read from the root, "**" matching any
 * number of directories.  .git always is */
static int
ignored(const Ignore *ig, const char *rel, const char *name)
{
	const char *p;
	int i;

	if (strcmp(name, ".git") == 0)
		return 1;
	for (i = 0; i < ig->n; i++) {
		p = ig->pat[i];
		if (strchr(p, '/') == NULL) {
			if (fnmatch(p, name, 0) == 0)
				return 1;
		} else if (ignorepath(p, rel)) {
			return 1;
		}
	}
	return 0;
}

static int
strpcmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* list dfd (rel is its path) into out, depth-first, sorted */
static void
listdir(int dfd, const char *rel, const Ignore *ig, int depth,
    int *count, Buf *out)
{
	char **names = NULL, sub[PATH_MAX];
	struct dirent *de;
	struct stat st;
	size_t n = 0, cap = 0, i;
	int fd, cfd;
	DIR *d;

	if ((fd = dup(dfd)) < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL && n < MAXLISTENTRIES) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..")
		    == 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			names = xrealloc(names, cap * sizeof(*names));
		}
		names[n++] = xstrndup(de->d_name, strlen(de->d_name));
	}
	closedir(d);
	if (n > 1)      /* names is NULL in an empty directory */
		qsort(names, n, sizeof(*names), strpcmp);
	for (i = 0; i < n; i++) {
		snprintf(sub, sizeof(sub), "%s%s%s", rel, *rel ? "/" : "",
		    names[i]);
		if (ignored(ig, sub, names[i]) || *count >= MAXLISTENTRIES ||
		    fstatat(dfd, names[i], &st, AT_SYMLINK_NOFOLLOW) != 0) {
			if (*count == MAXLISTENTRIES) {
				bufaddf(out, "[more entries not listed: the limit "
				    "is %d]\n", MAXLISTENTRIES);
				(*count)++;
			}
			free(names[i]);
			continue;
		}
		(*count)++;
		{
			size_t k;
			/* names with control bytes are shown escaped */
			for (k = 0; sub[k]; k++)
				if ((unsigned char)sub[k] < ' ' || sub[k] == 0x7f)
					bufaddf(out, "\\x%02x", (unsigned char)
					    sub[k]);
				else
					bufaddc(out, sub[k]);
		}
		bufaddstr(out, S_ISDIR(st.st_mode) ? "/\n" : S_ISLNK(st.st_mode)
		    ? "@\n" : "\n");
		if (S_ISDIR(st.st_mode) && depth > 0 && (cfd = openat(dfd,
		    names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC)) >= 0) {
			listdir(cfd, sub, ig, depth - 1, count, out);
			close(cfd);
		}
		free(names[i]);
	}
	free(names);
}

/*
 * list_files {path?, recursive?}: the entries beneath a directory of
 * the workspace (directories end in '/', symbolic links in '@' and are
 * never followed), .git and .gitignore'd names left out.
 */
static int
toollist(const JDoc *d, int args, CmdLine *cl, Buf *out)
{
	char rel[MAXTOOLPATH + 1], why[PATH_MAX + 128], *p = NULL;
	int t, rec = 0, fd, count = 0;
	Ignore ig;

	(void)cl;
	rel[0] = '\0';
	if ((t = jsonget(d, args, "path")) >= 0) {
		if ((p = jsonstrdup(d, t)) == NULL)
			return toolerr(out, "path: a string is required");
		if (strcmp(p, ".") != 0 && strcmp(p, "") != 0 &&
		    toolpath(p, rel, sizeof(rel), why, sizeof(why)) != 0) {
			free(p);
			return toolerr(out, "%s", why);
		}
		free(p);
	}
	if ((t = jsonget(d, args, "recursive")) >= 0 && jsonbool(d, t, &rec)
	    != 0)
		return toolerr(out, "recursive: true or false");
	if ((fd = wsopendir(rel, 0, why, sizeof(why))) < 0)
		return toolerr(out, "%s", why);
	ignoreload(&ig);
	listdir(fd, rel, &ig, rec ? MAXLISTDEPTH : 0, &count, out);
	ignorefree(&ig);
	close(fd);
	if (count == 0)
		bufaddstr(out, "(empty)\n");
	return out->err ? toolerr(out, "listing too long") : 0;
}

/*
 * read_file {path, offset?, limit?}: lines offset.. (1-based) of a
 * regular file beneath the root, at most limit lines and MAXTOOLOUTPUT
 * bytes; a binary file is described, not shown.
 */
static int
toolread(const JDoc *d, int args, CmdLine *cl, Buf *out)
{
	char rel[MAXTOOLPATH + 1], why[PATH_MAX + 128], dir[PATH_MAX], *p;
	const char *name, *s, *e;
	int64_t off = 1, lim = READLINES, line;
	struct stat st;
	size_t len, i;
	uint32_t cp;
	int t, fd, k;
	char *buf;

	(void)cl;
	if ((p = jsonstrdup(d, jsonget(d, args, "path"))) == NULL)
		return toolerr(out, "path: a string is required");
	k = toolpath(p, rel, sizeof(rel), why, sizeof(why));
	free(p);
	if (k != 0)
		return toolerr(out, "%s", why);
	if ((t = jsonget(d, args, "offset")) >= 0 && jsonint(d, t, 1,
	    INT32_MAX, &off) != 0)
		return toolerr(out, "offset: a line number, 1 or more");
	if ((t = jsonget(d, args, "limit")) >= 0 && jsonint(d, t, 1,
	    INT32_MAX, &lim) != 0)
		return toolerr(out, "limit: a number of lines, 1 or more");
	name = relsplit(rel, dir, sizeof(dir));
	if ((fd = wsopendir(dir, 0, why, sizeof(why))) < 0)
		return toolerr(out, "%s", why);
	buf = readsmall(fd, name, MAXREADSIZE, &len, &st);
	k = errno;
	close(fd);
	if (buf == NULL)
		return toolerr(out, "%s: %s", rel, k == ELOOP ? "a symbolic "
		    "link: refused" : k == EFBIG ? "larger than MAXREADSIZE: "
		    "read it with run_command (head, sed -n)" : k == EINVAL ?
		    "not a regular file" : strerror(k));
	for (i = 0; i < len; i += (size_t)k) {
		if (buf[i] == '\0' || (k = utf8dec((unsigned char *)buf + i,
		    len - i, &cp)) <= 0) {
			free(buf);
			return toolerr(out, "%s: a binary file of %zu bytes: not "
			    "shown", rel, len);
		}
	}
	for (s = buf, line = 1; line < off && s < buf + len; line++)
		s = (e = memchr(s, '\n', (size_t)(buf + len - s))) ? e + 1 :
		    buf + len;
	if (s >= buf + len && len > 0 && off > 1) {
		i = countlines(buf, len);
		free(buf);
		return toolerr(out, "%s: offset %lld is past the end (%zu lines)",
		    rel, (long long)off, i);
	}
	for (e = s; e < buf + len && line < off + lim; line++) {
		const char *nl = memchr(e, '\n', (size_t)(buf + len - e));
		if ((size_t)((nl ? nl + 1 : buf + len) - s) > MAXTOOLOUTPUT)
			break;
		e = nl ? nl + 1 : buf + len;
	}
	if (e == s && s < buf + len) {
		/* one line longer than a result may be: its head, cut on a
		 * character boundary */
		for (e = s + MAXTOOLOUTPUT - 256; e > s && ((unsigned char)*e &
		    0xC0) == 0x80; e--)     /* room left for the note */
			;
		bufadd(out, s, (size_t)(e - s));
		bufaddf(out, "\n[line %lld is longer than MAXTOOLOUTPUT (%d "
		    "bytes): only its start is shown]\n", (long long)off,
		    MAXTOOLOUTPUT);
		free(buf);
		return 0;
	}
	bufadd(out, s, (size_t)(e - s));
	if (s != buf || e != buf + len)
		bufaddf(out, "%s[lines %lld-%lld of %zu; use offset and limit for "
		    "more]\n", e > s && e[-1] != '\n' ? "\n" : "", (long long)off,
		    (long long)line - 1, countlines(buf, len));
	free(buf);
	return 0;
}

static int
toolwrite3(const JDoc *d, int args, CmdLine *cl, Buf *out)
{
	(void)cl;
	return toolwrite(d, args, out);
}

static int
tooledit3(const JDoc *d, int args, CmdLine *cl, Buf *out)
{
	(void)cl;
	return tooledit(d, args, out);
}

/* the tool registry: what the model is told, and who does the work;
 * the policy for each is config.h's toolrules */
static const Tool tools[] = {
	{ "list_files", "List the files and directories beneath a directory "
	  "of the workspace (default: the root). Directories end in '/', "
	  "symbolic links in '@'. .git and .gitignore'd names are left out.",
	  "{\"type\":\"object\",\"properties\":{\"path\":{\"type\":\"string\","
	  "\"description\":\"directory relative to the workspace root\"},"
	  "\"recursive\":{\"type\":\"boolean\"}}}", toollist },
	{ "read_file", "Read a text file of the workspace. Returns the lines "
	  "from offset (1-based) for at most limit lines.",
	  "{\"type\":\"object\",\"properties\":{\"path\":{\"type\":\"string\","
	  "\"description\":\"file relative to the workspace root\"},"
	  "\"offset\":{\"type\":\"integer\",\"minimum\":1},\"limit\":{\"type\""
	  ":\"integer\",\"minimum\":1}},\"required\":[\"path\"]}", toolread },
	{ "write_file", "Create or replace a file of the workspace with the "
	  "given content (the user may be asked first).",
	  "{\"type\":\"object\",\"properties\":{\"path\":{\"type\":\"string\"},"
	  "\"content\":{\"type\":\"string\"}},\"required\":[\"path\","
	  "\"content\"]}", toolwrite3 },
	{ "edit_file", "Replace old_string, which must occur exactly once "
	  "unless replace_all is true, with new_string in a file of the "
	  "workspace (the user may be asked first).",
	  "{\"type\":\"object\",\"properties\":{\"path\":{\"type\":\"string\"},"
	  "\"old_string\":{\"type\":\"string\"},\"new_string\":{\"type\":"
	  "\"string\"},\"replace_all\":{\"type\":\"boolean\"}},\"required\":"
	  "[\"path\",\"old_string\",\"new_string\"]}", tooledit3 },
	{ "run_command", "Run a command line in the workspace, in a sandbox "
	  "without network. Pipelines (|) and && || ; work; there is no "
	  "shell: no variables, redirections or substitutions.",
	  "{\"type\":\"object\",\"properties\":{\"command\":{\"type\":"
	  "\"string\"},\"timeout_ms\":{\"type\":\"integer\",\"minimum\":1,"
	  "\"description\":\"more than the configured maximum is cut to "
	  "it\"},"
	  "\"workdir\":{\"type\":\"string\",\"description\":\"directory "
	  "relative to the workspace root\"}},\"required\":[\"command\"]}",
	  toolrun },
};

static const Tool *
toolfind(const char *name)
{
	size_t i;

	for (i = 0; i < LEN(tools); i++)
		if (strcmp(tools[i].name, name) == 0)
			return &tools[i];
	return NULL;
}

/* the offered tools in the provider's shape */
static void
toolsjson(JWriter *w, int anth)
{
	size_t i;

	jwarr(w);
	for (i = 0; i < LEN(tools); i++) {
		if (!tooloffered(&tools[i]))
			continue;
		jwobj(w);
		if (!anth) {
			jwkey(w, "type");
			jwstr(w, "function");
			jwkey(w, "function");
			jwobj(w);
		}
		jwkey(w, "name");
		jwstr(w, tools[i].name);
		jwkey(w, "description");
		jwstr(w, tools[i].desc);
		jwkey(w, anth ? "input_schema" : "parameters");
		jwschema(w, tools[i].schema);
		if (!anth)
			jwend(w);
		jwend(w);
	}
	jwend(w);
}

/*
 * One tool call from the model: arguments checked, the policy gate
 * (approval on the terminal for a Prompt), then the handler.  The
 * result text for the model is in out; 0, or -1 when it is an error.
 */
static int
tooldispatch(const char *name, const char *args, size_t alen, Buf *out)
{
	char summary[MAXTOOLPATH + 16], rel[MAXTOOLPATH + 1];
	char why[PATH_MAX + 128];
	char *arg = NULL;
	const Tool *t;
	JTok *tok;
	CmdLine cl;
	Verdict v;
	Decision dec = Deny;
	JDoc d;
	int ntok, rc, a, id = ++evs.item, existed = 0, write;
	long t0;

	memset(&cl, 0, sizeof(cl));
	if ((t = toolfind(name)) == NULL || !tooloffered(t)) {
		rc = toolerr(out, "no tool named %s%s", name, t ? " is "
		    "offered in this workspace" : "");
		evcall("item.completed", id, name, NULL, args, alen, NULL,
		    "failed", out->p, -1);
		return rc;
	}
	ntok = (int)MIN((size_t)MAXJSONTOKENS, alen / 2 + 8);
	tok = xmalloc(sizeof(*tok) * (size_t)ntok);
	rc = 0;
	if (jsonparse(&d, args, alen, tok, ntok) < 0 || jsontype(&d, 0) !=
	    JObject) {
		rc = toolerr(out, "arguments must be a JSON object%s%s",
		    d.err ? ": " : "", d.err ? d.err : "");
	} else {
		a = jsonget(&d, 0, strcmp(name, "run_command") == 0 ?
		    "command" : "path");
		if (a >= 0 && (arg = jsonstrdup(&d, a)) == NULL)
			rc = toolerr(out, "%s: a string is required",
			    strcmp(name, "run_command") == 0 ? "command" :
			    "path");
		else if (arg == NULL && strcmp(name, "list_files") == 0)
			arg = xstrndup(".", 1);
		else if (arg == NULL)
			rc = toolerr(out, "%s is required", strcmp(name,
			    "run_command") == 0 ? "command" : "path");
	}
	if (rc != 0) {
		evcall("item.completed", id, name, NULL, args, alen, NULL,
		    "failed", out->p, -1);
		free(tok);
		return rc;
	}
	summary[0] = '\0';
	write = strcmp(name, "write_file") == 0 || strcmp(name, "edit_file") ==
	    0;
	if (write) {
		toolsummary(name, &d, 0, summary, sizeof(summary));
		existed = toolexists(arg, rel, sizeof(rel), why, sizeof(why));
	}
	lastexit = -1;
	lasttrunc = 0;
	/* started when asked for, updated when decided, completed when done */
	evcall("item.started", id, name, arg, args, alen, &cl, "in_progress",
	    NULL, -1);
	if (toolgate(name, &d, 0, arg, summary, sizeof(summary), &cl, &v,
	    &dec, out) != 0) {
		evcall("item.completed", id, name, arg, args, alen, NULL,
		    "failed", out->p, -1);
		cmdfree(&cl);
		free(arg);
		free(tok);
		return -1;
	}
	if (dec != Allow) {
		evpolicy(name, arg, &cl, &v);
		if (!evs.json)
			warnx("%s %s: %s: %s", name, arg, decname(v.d), v.why);
		rc = toolerr(out, "refused by policy (%s): %s", decname(v.d),
		    v.why);
		evcall("item.completed", id, name, arg, args, alen, &cl,
		    "declined", out->p, -1);
	} else {
		evpolicy(name, arg, &cl, &v);
		if (!evs.json) {
			fprintf(stderr, "vtcode: %s ", name);
			putsafe(stderr, arg);
			fputc('\n', stderr);
		}
		evcall("item.updated", id, name, arg, args, alen, &cl,
		    "in_progress", "allowed", -1);
		t0 = nowms();
		rc = t->run(&d, 0, &cl, out);
		if (out->err) {
			out->err = 0;
			bufaddstr(out, "\n[output truncated]");
		}
		evcall("item.completed", id, name, arg, args, alen, &cl,
		    rc == 0 ? "completed" : "failed", rc == 0 ? "ok" : out->p,
		    nowms() - t0);
		if (rc == 0 && write)
			evfile(rel, existed);
	}
	cmdfree(&cl);
	free(arg);
	free(tok);
	return rc;
}

/* 1 when the file a write tool names exists; rel gets its canonical
 * path ("" when it has none) */
static int
toolexists(const char *path, char *rel, size_t sz, char *why, size_t wsz)
{
	char dir[PATH_MAX];
	const char *name;
	struct stat st;
	int fd, e;

	if (toolpath(path, rel, sz, why, wsz) != 0) {
		snprintf(rel, sz, "%s", path);
		return 0;
	}
	name = relsplit(rel, dir, sizeof(dir));
	if ((fd = wsopendir(dir, 0, why, wsz)) < 0)
		return 0;
	e = fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
	close(fd);
	return e;
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
 * events: what happened, one JSON object per line, in the shapes of
 * codex exec --json.  They go to stderr (--json), to a file (--events),
 * and, in a trusted workspace, always to the audit log: each line there
 * also carries seq, ts and prev, the SHA-256 of the line before it (the
 * first line's prev is the thread's nonce, which thread.started
 * records), so that `vtcode audit verify` finds an edit, a deletion, an
 * insertion, a reordering or a torn line.  No event carries an API key,
 * a header or an environment value.
 */

/* begin an event of type in b */
static void
evbegin(JWriter *w, Buf *b, const char *type)
{
	bufinit(b, MAXEVENT);
	jwinit(w, b);
	jwobj(w);
	jwkey(w, "type");
	jwstr(w, type);
}

/* all of p, or -1 */
static int
writeall(int fd, const char *p, size_t n)
{
	ssize_t r;

	while (n > 0) {
		if ((r = write(fd, p, n)) < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* RFC 3339, UTC, milliseconds */
static void
evtime(char *out, size_t sz)
{
	struct timespec ts;
	struct tm tm;
	char s[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, sz, "%.19s.%03dZ", s, (int)(ts.tv_nsec / 1000000 % 1000));
}

/*
 * End the event in b and send it.  sync: a security event, on disk in
 * the audit log before vtcode goes on.  A log that cannot be written
 * stops vtcode: it does not act off the record.
 */
static void
evend(JWriter *w, Buf *b, int sync)
{
	br_sha256_context sc;
	unsigned char h[32];
	char ts[40], hex[65];
	Buf line;

	jwend(w);
	if (b->err)             /* fail closed: never act off the record */
		die("an event larger than MAXEVENT (%d bytes): stopping, since "
		    "it cannot be recorded", MAXEVENT);
	if (w->err || !jwdone(w)) {
		buffree(b);
		return;         /* a writer misuse is a bug: never half a line */
	}
	bufaddc(b, '\n');
	if (evs.json && writeall(2, b->p, b->len) != 0)
		die("events: stderr:");
	if (evs.fd >= 0 && writeall(evs.fd, b->p, b->len) != 0)
		die("--events: %s:", evs.file);
	if (evs.audit >= 0) {
		bufinit(&line, 0);
		bufadd(&line, b->p, b->len - 2);        /* without "}\n" */
		evtime(ts, sizeof(ts));
		hexenc(evs.prev, sizeof(evs.prev), hex);
		bufaddf(&line, ",\"seq\":%llu,\"ts\":\"%s\",\"prev\":\"%s\"}",
		    (unsigned long long)evs.seq, ts, hex);
		br_sha256_init(&sc);
		br_sha256_update(&sc, line.p, line.len);
		br_sha256_out(&sc, h);
		bufaddc(&line, '\n');
		if (line.err || writeall(evs.audit, line.p, line.len) != 0 ||
		    (sync && fsync(evs.audit) != 0))
			die("audit log %s:", evs.auditpath);
		memcpy(evs.prev, h, sizeof(h));
		evs.seq++;
		buffree(&line);
	}
	buffree(b);
}

/* an event with only string fields: type, then key, value pairs */
static void
evsimple(const char *type, int sync, ...)
{
	const char *k, *v;
	va_list ap;
	JWriter w;
	Buf b;

	if (!evs.on)
		return;
	evbegin(&w, &b, type);
	va_start(ap, sync);
	while ((k = va_arg(ap, const char *)) != NULL) {
		v = va_arg(ap, const char *);
		jwkey(&w, k);
		jwstr(&w, v);
	}
	va_end(ap);
	evend(&w, &b, sync);
}

/*
 * Open the record for a new thread: the audit log with audit (refusing
 * to go on without it), --events FILE when given.
 */
static void
evopen(const char *file, int json, int audit)
{
	const char *where;
	unsigned char id[16], nonce[32];
	char dir[PATH_MAX - 64], nhex[65];
	JWriter w;
	Buf b;

	evs.json = json;
	evs.fd = evs.audit = -1;
	randbytes(id, sizeof(id));
	hexenc(id, sizeof(id), evs.thread);
	randbytes(nonce, sizeof(nonce));
	memcpy(evs.prev, nonce, sizeof(nonce));
	hexenc(nonce, sizeof(nonce), nhex);
	if (file != NULL) {
		snprintf(evs.file, sizeof(evs.file), "%s", file);
		if ((evs.fd = open(file, O_WRONLY | O_CREAT | O_APPEND |
		    O_NOFOLLOW | O_CLOEXEC, 0600)) < 0)
			die("--events %s:", file);
	}
	if (audit) {
		dir[0] = '\0';
		evs.auditpath[0] = '\0';
		if (xdgdir("XDG_STATE_HOME", ".local/state", 1, dir,
		    sizeof(dir)) == 0) {
			snprintf(evs.auditpath, sizeof(evs.auditpath),
			    "%s/audit", dir);
			if (mkdir(evs.auditpath, 0700) == 0 || errno == EEXIST) {
				snprintf(evs.auditpath, sizeof(evs.auditpath),
				    "%s/audit/%s.jsonl", dir, evs.thread);
				evs.audit = open(evs.auditpath, O_WRONLY |
				    O_CREAT | O_EXCL | O_APPEND | O_NOFOLLOW |
				    O_CLOEXEC, 0600);
			}
		}
		where = evs.auditpath[0] ? evs.auditpath : dir[0] ? dir :
		    "(no state directory: set XDG_STATE_HOME or HOME)";
		if (evs.audit < 0 && audit == 1)
			die("audit log %s: %s: refusing to act off the record",
			    where, strerror(errno));
		if (evs.audit < 0)
			warnx("audit log %s: %s: this is not on the record",
			    where, strerror(errno));
	}
	evs.on = evs.json || evs.fd >= 0 || evs.audit >= 0;
	if (!evs.on)
		return;
	evbegin(&w, &b, "thread.started");
	jwkey(&w, "thread_id");
	jwstr(&w, evs.thread);
	jwkey(&w, "nonce");
	jwstr(&w, nhex);
	evend(&w, &b, 1);
}

/* begin item.started|updated|completed for item id of type; the caller
 * adds the item's fields, closes it with jwend() and calls evend() */
static void
evitem(JWriter *w, Buf *b, const char *phase, int id, const char *type)
{
	char s[32];

	evbegin(w, b, phase);
	jwkey(w, "item");
	jwobj(w);
	snprintf(s, sizeof(s), "item_%d", id);
	jwkey(w, "id");
	jwstr(w, s);
	jwkey(w, "type");
	jwstr(w, type);
}

static void
evretry(const char *provider, int attempt, long wait, const char *why)
{
	JWriter w;
	Buf b;

	if (!evs.on)
		return;
	evbegin(&w, &b, "provider.retry");
	jwkey(&w, "provider");
	jwstr(&w, provider);
	jwkey(&w, "attempt");
	jwint(&w, attempt);
	jwkey(&w, "wait_ms");
	jwint(&w, wait);
	jwkey(&w, "reason");
	jwstr(&w, why);
	evend(&w, &b, 0);
}

/* the walls a command runs in: Landlock at abi, seccomp (mandatory or
 * the child does not exec), protected paths bound read-only */
static void
evsandbox(int abi, int net)
{
	JWriter w;
	Buf b;

	if (!evs.on)
		return;
	evbegin(&w, &b, "sandbox.applied");
	jwkey(&w, "landlock_abi");
	jwint(&w, abi);
	jwkey(&w, "seccomp");
	jwbool(&w, 1);
	jwkey(&w, "protected_paths");
	jwbool(&w, sbxunpinned[0] == '\0');
	jwkey(&w, "network");
	jwbool(&w, net);
	evend(&w, &b, 1);
}

/* the policy's last word on one tool call */
static void
evpolicy(const char *tool, const char *subject, const CmdLine *cl,
    const Verdict *v)
{
	JWriter w;
	Buf b;
	int i;

	if (!evs.on)
		return;
	evbegin(&w, &b, "policy.decision");
	jwkey(&w, "subject");
	jwstr(&w, subject);
	jwkey(&w, "decision");
	jwstr(&w, decname(v->d));
	jwkey(&w, "reason");
	jwstr(&w, v->why);
	jwkey(&w, "rule");
	if (strcmp(tool, "run_command") != 0 || cl->n == 0) {
		jwstr(&w, tool);
	} else {
		Buf r;
		bufinit(&r, 4096);
		for (i = 0; i < cl->n; i++)
			bufaddf(&r, "%s%s", i ? " " : "", cl->st[i].argv[0]);
		jwstrn(&w, r.p, r.len);
		buffree(&r);
	}
	evend(&w, &b, 1);
}

static void
evapproval(Decision d, int remembered, long ms)
{
	JWriter w;
	Buf b;

	if (!evs.on)
		return;
	evbegin(&w, &b, "approval.resolved");
	jwkey(&w, "decision");
	jwstr(&w, d == Deny ? "deny" : "allow");
	jwkey(&w, "remembered");
	jwbool(&w, remembered);
	jwkey(&w, "wait_ms");
	jwint(&w, ms < 0 ? 0 : ms);
	evend(&w, &b, 1);
}

/* a tool call as an item: run_command as command_execution, the rest as
 * tool_call; ms and the run's exit status count once it ran */
static void
evcall(const char *phase, int id, const char *tool, const char *arg,
    const char *args, size_t alen, const CmdLine *cl, const char *status,
    const char *outcome, long ms)
{
	JWriter w;
	Buf b;
	int i, k;

	if (!evs.on)
		return;
	if (strcmp(tool, "run_command") == 0 && arg != NULL && cl != NULL) {
		evitem(&w, &b, phase, id, "command_execution");
		jwkey(&w, "command");
		jwstr(&w, arg);
		jwkey(&w, "argv");
		jwarr(&w);
		for (i = 0; i < cl->n; i++) {
			jwarr(&w);
			for (k = 0; k < cl->st[i].argc; k++)
				jwstr(&w, cl->st[i].argv[k]);
			jwend(&w);
		}
		jwend(&w);
		jwkey(&w, "exit_code");
		if (ms >= 0 && lastexit >= 0)
			jwint(&w, lastexit);
		else
			jwnull(&w);
		jwkey(&w, "status");
		jwstr(&w, status);
		jwkey(&w, "duration_ms");
		jwint(&w, ms < 0 ? 0 : ms);
		jwkey(&w, "truncated");
		jwbool(&w, lasttrunc);
	} else {
		evitem(&w, &b, phase, id, "tool_call");
		jwkey(&w, "tool");
		jwstr(&w, tool);
		jwkey(&w, "arguments");
		jwstrn(&w, args, alen);
		jwkey(&w, "status");
		jwstr(&w, status);
		if (outcome != NULL) {
			jwkey(&w, "outcome");
			jwstr(&w, outcome);
		}
	}
	jwend(&w);
	evend(&w, &b, strcmp(phase, "item.completed") == 0);
}

/* a file a write tool changed */
static void
evfile(const char *path, int existed)
{
	JWriter w;
	Buf b;

	if (!evs.on)
		return;
	evitem(&w, &b, "item.completed", ++evs.item, "file_change");
	jwkey(&w, "changes");
	jwarr(&w);
	jwobj(&w);
	jwkey(&w, "path");
	jwstr(&w, path);
	jwkey(&w, "kind");
	jwstr(&w, existed ? "update" : "add");
	jwend(&w);
	jwend(&w);
	jwkey(&w, "status");
	jwstr(&w, "completed");
	jwend(&w);
	evend(&w, &b, 1);
}

/* a change of trust is a thread of the audit log of its own: opened
 * before trust is given (cmdtrust); a revocation, which only tightens,
 * is recorded if it can be */
static void
evtrust(int trusted)
{
	JWriter w;
	Buf b;

	if (!trusted)
		evopen(NULL, 0, 2);
	if (!evs.on)
		return;
	evbegin(&w, &b, "trust.changed");
	jwkey(&w, "root");
	jwstr(&w, wsroot);
	jwkey(&w, "trusted");
	jwbool(&w, trusted);
	evend(&w, &b, 1);
}

/* an item whose only field is text: agent_message, reasoning */
static void
evtext(const char *type, const char *text, size_t n)
{
	JWriter w;
	Buf b;

	if (!evs.on || n == 0)
		return;
	evitem(&w, &b, "item.completed", ++evs.item, type);
	jwkey(&w, "text");
	jwstrn(&w, text, n);
	jwend(&w);
	evend(&w, &b, 0);
}

/*
 * store: every conversation as a markdown file, rewritten atomically
 * after every turn, $XDG_STATE_HOME/vtcode/sessions/ID.md.  Headings are
 * for people; what resume reads are the fenced blocks whose info string
 * is "vtcode" and a JSON object saying what the block is and how many
 * bytes it holds, so any content (backticks, no final newline, NUL)
 * comes back byte for byte.  A fence is longer than any run of
 * backticks inside its block.  The front matter holds what resume needs:
 * provider, model, workspace root, times; each value a JSON string.
 */

/* the directory, made 0700; -1 with errno */
static int
storedir(char *out, size_t sz)
{
	char dir[PATH_MAX - 64];

	if (xdgdir("XDG_STATE_HOME", ".local/state", 1, dir, sizeof(dir)) !=
	    0)
		return -1;
	snprintf(out, sz, "%s/sessions", dir);
	if (mkdir(out, 0700) != 0 && errno != EEXIST)
		return -1;
	return 0;
}

/* one block: fence, info, content, fence */
static void
storeblock(Buf *b, const char *info, const char *p, size_t n)
{
	size_t i, run = 0, most = 0, f;

	for (i = 0; i < n; i++) {
		run = p[i] == '`' ? run + 1 : 0;
		most = MAX(most, run);
	}
	f = MAX(3, most + 1);
	for (i = 0; i < f; i++)
		bufaddc(b, '`');
	bufaddf(b, "vtcode %s\n", info);
	bufadd(b, p, n);
	bufaddc(b, '\n');
	for (i = 0; i < f; i++)
		bufaddc(b, '`');
	bufaddstr(b, "\n\n");
}

/* a JSON string for a header line or an info string: always one line */
static void
storejs(Buf *b, const char *s)
{
	JWriter w;

	jwinit(&w, b);
	jwstr(&w, s);
}

/* the whole file for conversation cv */
static void
storeformat(const StoreMeta *sm, const Conv *cv, Buf *b)
{
	Buf info;
	JWriter w;
	int i, j, turn = 0;
	const Msg *m;

	bufaddstr(b, "---\nvtcode-session: 1\nid: ");
	storejs(b, sm->id);
	bufaddstr(b, "\nprovider: ");
	storejs(b, sm->provider);
	bufaddstr(b, "\nmodel: ");
	storejs(b, sm->model);
	bufaddstr(b, "\nworkspace: ");
	storejs(b, sm->workspace);
	bufaddstr(b, "\ncreated: ");
	storejs(b, sm->created);
	bufaddstr(b, "\nupdated: ");
	storejs(b, sm->updated);
	bufaddstr(b, "\n---\n\n");
	bufinit(&info, 0);
	for (i = 0; i < cv->n; i++) {
		m = &cv->m[i];
		info.len = 0;
		jwinit(&w, &info);
		jwobj(&w);
		jwkey(&w, "role");
		jwstr(&w, m->role == RoleUser ? "user" : m->role ==
		    RoleAssistant ? "assistant" : "tool");
		if (m->role == RoleAssistant) {
			jwkey(&w, "calls");
			jwint(&w, m->ncalls);
		}
		if (m->role == RoleTool) {
			jwkey(&w, "id");
			jwstr(&w, m->callid);
			jwkey(&w, "name");
			jwstr(&w, m->tool);
			jwkey(&w, "error");
			jwbool(&w, m->iserror);
		}
		jwkey(&w, "len");
		jwint(&w, (int64_t)strlen(m->text));
		jwend(&w);
		if (m->role == RoleUser)
			bufaddf(b, "## Turn %d\n\n### User\n\n", ++turn);
		else if (m->role == RoleAssistant)
			bufaddstr(b, "### Assistant\n\n");
		else
			bufaddstr(b, "#### Tool result\n\n");
		bufaddc(&info, '\0');
		storeblock(b, info.p, m->text, strlen(m->text));
		for (j = 0; m->role == RoleAssistant && j < m->ncalls; j++) {
			info.len = 0;
			jwinit(&w, &info);
			jwobj(&w);
			jwkey(&w, "call");
			jwstr(&w, m->calls[j].id);
			jwkey(&w, "name");
			jwstr(&w, m->calls[j].name);
			jwkey(&w, "len");
			jwint(&w, (int64_t)m->calls[j].args.len);
			jwend(&w);
			bufaddc(&info, '\0');
			bufaddstr(b, "#### Tool call\n\n");
			storeblock(b, info.p, m->calls[j].args.p,
			    m->calls[j].args.len);
		}
	}
	buffree(&info);
}

/* save cv as session sm->id; a warning (not fatal) when it cannot be */
static void
storesave(StoreMeta *sm, const Conv *cv)
{
	char dir[PATH_MAX], name[64];
	time_t now = time(NULL);
	Buf b;
	int fd;

	if (sm->id[0] == '\0' || cv->n == 0)
		return;
	strftime(sm->updated, sizeof(sm->updated), "%Y-%m-%dT%H:%M:%SZ",
	    gmtime(&now));
	if (sm->created[0] == '\0')
		memcpy(sm->created, sm->updated, sizeof(sm->created));
	bufinit(&b, 0);
	storeformat(sm, cv, &b);
	/* never a file that resume could not read back: the copy saved
	 * before stays */
	if (b.len > MAXSESSION) {
		if (!sm->warned)
			warnx("session %s: %zu bytes, more than MAXSESSION (%d): "
			    "not saved (the copy saved before stays)", sm->id,
			    b.len, MAXSESSION);
		sm->warned = 1;
		buffree(&b);
		return;
	}
	snprintf(name, sizeof(name), "%s.md", sm->id);
	if (storedir(dir, sizeof(dir)) != 0 || (fd = open(dir, O_RDONLY |
	    O_DIRECTORY | O_CLOEXEC)) < 0) {
		if (!sm->warned)
			warnx("session %s: %s: not saved", sm->id,
			    strerror(errno));
		sm->warned = 1;
		buffree(&b);
		return;
	}
	if (atomicwrite(fd, name, b.p, b.len, 0600) != 0 && !sm->warned) {
		warnx("session %s/%s: %s: not saved", dir, name,
		    strerror(errno));
		sm->warned = 1;
	}
	close(fd);
	buffree(&b);
}

/* a front matter value: a JSON string on the rest of the line */
static int
storevalue(const char *p, size_t n, char *out, size_t sz)
{
	JTok tok[4];
	JDoc d;

	/* jsonstr() refuses U+0000 when no length is asked for */
	return jsonparse(&d, p, n, tok, (int)LEN(tok)) < 0 ||
	    jsontype(&d, 0) != JString || jsonstr(&d, 0, out, sz, NULL) != 0 ?
	    -1 : 0;
}

static int
storefail(char *err, size_t esz, int line, const char *why)
{
	snprintf(err, esz, "line %d: %s", line, why);
	return -1;
}

/*
 * Read a session file back into cv and sm.  Blocks, their lengths and
 * fences and the front matter's fields are checked exactly, and anything
 * else is refused with the line and why (anyone who can write the
 * account's files can edit a session); prose between blocks, key order
 * and extra keys in an info string are let be.
 */
static int
storeparse(const char *buf, size_t len, StoreMeta *sm, Conv *cv, char *err,
    size_t esz)
{
	const char *p = buf, *end = buf + len, *nl, *info;
	size_t n, f, k;
	int line = 1, want = 0, i, got[6] = { 0 };
	int64_t v;
	char role[16], *text;
	JTok tok[32];
	JDoc d;
	Msg *m = NULL;
	ToolCall *c;
	static const char *const keys[] = { "id", "provider", "model",
		"workspace", "created", "updated" };
	char *dst[6];
	size_t dsz[6];

	memset(sm, 0, sizeof(*sm));
	memset(cv, 0, sizeof(*cv));
	dst[0] = sm->id; dsz[0] = sizeof(sm->id);
	dst[1] = sm->provider; dsz[1] = sizeof(sm->provider);
	dst[2] = sm->model; dsz[2] = sizeof(sm->model);
	dst[3] = sm->workspace; dsz[3] = sizeof(sm->workspace);
	dst[4] = sm->created; dsz[4] = sizeof(sm->created);
	dst[5] = sm->updated; dsz[5] = sizeof(sm->updated);
	if (len < 24 || memcmp(p, "---\nvtcode-session: 1\n", 22) != 0)
		return storefail(err, esz, 1, "not a vtcode session (version "
		    "1)");
	p += 22;
	line = 3;
	for (;;) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			return storefail(err, esz, line, "front matter not "
			    "closed");
		if (nl - p == 3 && memcmp(p, "---", 3) == 0)
			break;
		for (i = 0; i < 6; i++) {
			k = strlen(keys[i]);
			if ((size_t)(nl - p) > k + 2 && memcmp(p, keys[i], k) ==
			    0 && p[k] == ':' && p[k + 1] == ' ')
				break;
		}
		if (i == 6 || got[i]++ || storevalue(p + strlen(keys[i]) + 2,
		    (size_t)(nl - p) - strlen(keys[i]) - 2, dst[i], dsz[i]) !=
		    0)
			return storefail(err, esz, line, "bad front matter "
			    "line");
		p = nl + 1;
		line++;
	}
	for (i = 0; i < 6; i++)
		if (!got[i])
			return storefail(err, esz, line, "front matter lacks a "
			    "field");
	if (!ishex(sm->id, 32))
		return storefail(err, esz, 2, "id is not 32 hex digits");
	p = nl + 1;
	line++;
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			return storefail(err, esz, line, "the file ends without "
			    "a newline: cut off");
		for (f = 0; p + f < nl && p[f] == '`'; f++)
			;
		if (f < 3) {            /* headings and blank lines */
			p = nl + 1;
			line++;
			continue;
		}
		if ((size_t)(nl - p) < f + 7 || memcmp(p + f, "vtcode ", 7) !=
		    0)
			goto bad;
		info = p + f + 7;
		if (jsonparse(&d, info, (size_t)(nl - info), tok,
		    (int)LEN(tok)) < 0 || jsontype(&d, 0) != JObject ||
		    jsonint(&d, jsonget(&d, 0, "len"), 0, MAXSESSION, &v) != 0)
			goto bad;
		n = (size_t)v;
		/* content, a newline, the same fence, a newline */
		if ((size_t)(end - (nl + 1)) < n + f + 2 || nl[1 + n] != '\n' ||
		    nl[2 + n + f] != '\n')
			goto bad;
		for (k = 0; k < f; k++)         /* the same fence, bounded */
			if (nl[2 + n + k] != '`')
				goto bad;
		text = xstrndup(nl + 1, n);
		if (memchr(nl + 1, '\0', n) != NULL) {
			free(text);
			return storefail(err, esz, line, "a NUL byte in a "
			    "block");
		}
		if (jsonget(&d, 0, "call") >= 0) {
			if (want <= 0 || m == NULL) {
				free(text);
				return storefail(err, esz, line, "a tool call "
				    "with no assistant message to belong to");
			}
			c = &m->calls[m->ncalls++];
			memset(c, 0, sizeof(*c));
			c->id = jsonstrdup(&d, jsonget(&d, 0, "call"));
			c->name = jsonstrdup(&d, jsonget(&d, 0, "name"));
			bufinit(&c->args, MAXJSONSIZE);
			bufadd(&c->args, text, n);
			free(text);
			want--;
			if (c->id == NULL || c->name == NULL || c->args.err)
				return storefail(err, esz, line, "a tool call "
				    "without an id or a name");
		} else {
			if (want > 0 || jsonstr(&d, jsonget(&d, 0, "role"),
			    role, sizeof(role), NULL) != 0) {
				free(text);
				goto bad;
			}
			i = strcmp(role, "user") == 0 ? RoleUser :
			    strcmp(role, "assistant") == 0 ? RoleAssistant :
			    strcmp(role, "tool") == 0 ? RoleTool : -1;
			if (i < 0 || cv->n >= MAXSESSIONMSGS) {
				free(text);
				goto bad;
			}
			m = convadd(cv, i, text, n);
			free(text);
			if (i == RoleAssistant) {
				if (jsonint(&d, jsonget(&d, 0, "calls"), 0,
				    MAXTOOLCALLS, &v) != 0)
					goto bad;
				want = (int)v;
				m->calls = xmalloc(sizeof(ToolCall) *
				    (size_t)(want ? want : 1));
			} else if (i == RoleTool) {
				m->callid = jsonstrdup(&d, jsonget(&d, 0, "id"));
				m->tool = jsonstrdup(&d, jsonget(&d, 0, "name"));
				if (m->callid == NULL || m->tool == NULL ||
				    jsonbool(&d, jsonget(&d, 0, "error"),
				    &m->iserror) != 0)
					goto bad;
			}
		}
		for (k = 0; k < n + 1; k++)     /* count the block's lines */
			line += nl[1 + k] == '\n';
		line += 2;
		p = nl + 2 + n + f + 1;
	}
	if (want > 0)
		return storefail(err, esz, line, "tool calls missing at the "
		    "end: cut off");
	if (cv->n == 0 || cv->m[0].role != RoleUser)
		return storefail(err, esz, line, "no conversation");
	return 0;
bad:
	return storefail(err, esz, line, "not a block vtcode wrote");
}

/* load session id (32 hex) into sm and cv; -1 after saying why */
static int
storeload(const char *id, StoreMeta *sm, Conv *cv)
{
	char dir[PATH_MAX], name[64], err[256], *buf;
	struct stat st;
	size_t len;
	int fd, rc;

	if (!ishex(id, 32)) {
		warnx("%s: a session id is 32 hex digits (vtcode sessions "
		    "list)", id);
		return -1;
	}
	snprintf(name, sizeof(name), "%s.md", id);
	if (storedir(dir, sizeof(dir)) != 0 || (fd = open(dir, O_RDONLY |
	    O_DIRECTORY | O_CLOEXEC)) < 0) {
		warnx("sessions: %s", strerror(errno));
		return -1;
	}
	buf = readsmall(fd, name, MAXSESSION, &len, &st);
	close(fd);
	if (buf == NULL) {
		warnx("session %s: %s", id, errno == ENOENT ? "no such "
		    "session" : strerror(errno));
		return -1;
	}
	rc = storeparse(buf, len, sm, cv, err, sizeof(err));
	if (rc != 0) {
		warnx("session %s/%s: %s", dir, name, err);
		convfree(cv, 0);
	} else if (strcmp(sm->id, id) != 0) {
		warnx("session %s/%s: its id says %s", dir, name, sm->id);
		convfree(cv, 0);
		rc = -1;
	}
	free(buf);
	return rc;
}

static int
storecmp(const void *a, const void *b)
{
	const StoreRow *x = a, *y = b;
	int c = strcmp(y->updated, x->updated);

	return c ? c : strcmp(x->id, y->id);
}

/* vtcode sessions [list | show ID] */
static int
cmdsessions(int argc, char *argv[])
{
	char dir[PATH_MAX], err[256], *buf;
	StoreRow *rows = NULL;
	struct dirent *de;
	struct stat st;
	StoreMeta sm;
	size_t len, n = 0, cap = 0, i, k;
	Conv cv;
	DIR *dp;
	int fd, rc;

	if (argc == 3 && strcmp(argv[1], "show") == 0) {
		if (storeload(argv[2], &sm, &cv) != 0)
			return ExitFail;
		convfree(&cv, 0);
		snprintf(err, sizeof(err), "%s.md", argv[2]);
		if (storedir(dir, sizeof(dir)) != 0 || (fd = open(dir,
		    O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
			die("sessions:");
		buf = readsmall(fd, err, MAXSESSION, &len, &st);
		close(fd);
		if (buf == NULL)
			die("session %s:", argv[2]);
		if (isatty(1))          /* the model's words: not to a tty raw */
			putterm(stdout, buf, len);
		else
			fwrite(buf, 1, len, stdout);
		free(buf);
		return fflush(stdout) == 0 ? ExitOK : ExitFail;
	}
	if (argc > 2 || (argc == 2 && strcmp(argv[1], "list") != 0))
		return usageerr("sessions: list | show ID");
	if (storedir(dir, sizeof(dir)) != 0 || (fd = open(dir, O_RDONLY |
	    O_DIRECTORY | O_CLOEXEC)) < 0 || (dp = fdopendir(fd)) == NULL)
		die("sessions:");
	while ((de = readdir(dp)) != NULL) {
		len = strlen(de->d_name);
		if (len != 35 || strcmp(de->d_name + 32, ".md") != 0)
			continue;
		buf = readsmall(fd, de->d_name, MAXSESSION, &len, &st);
		if (buf == NULL) {
			warnx("sessions: %s: skipped: %s", de->d_name,
			    strerror(errno));
			continue;
		}
		if ((rc = storeparse(buf, len, &sm, &cv, err, sizeof(err))) !=
		    0 || strncmp(sm.id, de->d_name, 32) != 0) {
			if (rc == 0)
				snprintf(err, sizeof(err), "its id is not its "
				    "name");
			warnx("sessions: %s/%s: skipped: %s", dir, de->d_name,
			    err);
			convfree(&cv, 0);
			free(buf);
			continue;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			rows = xrealloc(rows, cap * sizeof(*rows));
		}
		snprintf(rows[n].id, sizeof(rows[n].id), "%s", sm.id);
		snprintf(rows[n].updated, sizeof(rows[n].updated), "%s",
		    sm.updated);
		snprintf(rows[n].workspace, sizeof(rows[n].workspace), "%s",
		    sm.workspace);
		k = strcspn(cv.m[0].text, "\n");
		snprintf(rows[n].first, sizeof(rows[n].first), "%.*s",
		    (int)MIN(k, sizeof(rows[n].first) - 1), cv.m[0].text);
		n++;
		convfree(&cv, 0);
		free(buf);
	}
	closedir(dp);
	if (n > 0)
		qsort(rows, n, sizeof(*rows), storecmp);
	for (i = 0; i < n; i++) {
		printf("%s  %s  ", rows[i].id, rows[i].updated);
		putsafe(stdout, rows[i].workspace);
		fputs("  ", stdout);
		putsafe(stdout, rows[i].first);
		putchar('\n');
	}
	free(rows);
	return fflush(stdout) == 0 ? ExitOK : ExitFail;
}

/*
 * agent: the loop.  Prompt -> model turn -> tool calls through the
 * policy gate -> results back -> next turn, until the model answers
 * without calling a tool, or a limit from config.h stops it.  The
 * answer goes to stdout; everything else to stderr.
 */

static void
convfree(Conv *cv, int from)
{
	int i, j;

	for (i = from; i < cv->n; i++) {
		Msg *m = &cv->m[i];
		free(m->text);
		for (j = 0; j < m->ncalls; j++) {
			free(m->calls[j].id);
			free(m->calls[j].name);
			buffree(&m->calls[j].args);
		}
		free(m->calls);
		free(m->callid);
		free(m->tool);
	}
	cv->n = from < cv->n ? from : cv->n;
	if (from == 0) {
		free(cv->m);
		memset(cv, 0, sizeof(*cv));
	}
}

static Msg *
convadd(Conv *cv, int role, const char *text, size_t n)
{
	Msg *m;

	if (cv->n == cv->cap) {
		cv->cap = cv->cap ? cv->cap * 2 : 16;
		cv->m = xrealloc(cv->m, (size_t)cv->cap * sizeof(*cv->m));
	}
	m = &cv->m[cv->n++];
	memset(m, 0, sizeof(*m));
	m->role = role;
	m->text = xstrndup(text ? text : "", text ? n : 0);
	cv->bytes += n;
	return m;
}

static Show *showing;           /* whose pending text exit() must write */

static void
showatexit(void)
{
	if (showing != NULL && showing->pend.len > 0)
		fwrite(showing->pend.p, 1, showing->pend.len, stdout);
}

static void
showinit(Show *s)
{
	static char outbuf[1 << 16];
	static int once;

	memset(s, 0, sizeof(*s));
	s->outtty = isatty(1);
	s->errtty = isatty(2);
	bufinit(&s->pend, MAXANSWER);
	/* what one read brings goes out in one write, and text not yet
	 * written when vtcode dies on the way is written by exit() */
	if (!s->outtty)
		setvbuf(stdout, outbuf, _IOFBF, sizeof(outbuf));
	if (!once++)
		atexit(showatexit);
	showing = s;
}

static void
showfree(Show *s)
{
	showing = NULL;
	buffree(&s->pend);
}

static void
agentemit(void *ctx, int ev, const char *p, size_t n)
{
	Show *s = ctx;

	if (ev == EvText) {
		if (s->reasoning) {
			fputc('\n', stderr);
			s->reasoning = 0;
		}
		if (s->outtty)
			putterm(stdout, p, n);
		else
			bufadd(&s->pend, p, n); /* one write a read */
		if (n > 0)
			s->lastnl = p[n - 1] == '\n';
	} else if (ev == EvFlush) {
		fwrite(s->pend.p ? s->pend.p : "", 1, s->pend.len, stdout);
		s->pend.len = 0;
		s->pend.err = 0;
		fflush(stdout);
		fflush(stderr);
	} else if (ev == EvReasoning && !evs.json) {
		if (!s->reasoning)
			fputs("vtcode: reasoning: ", stderr);
		s->reasoning = 1;
		putterm(stderr, p, n);
	}
}

/* an object member, for agentcanon()'s sort */
typedef struct {
	char *key;
	size_t len;
	int val;
} CanonKey;

static int
canonkeycmp(const void *a, const void *b)
{
	const CanonKey *x = a, *y = b;
	int r = memcmp(x->key, y->key, MIN(x->len, y->len));

	return r != 0 ? r : (x->len > y->len) - (x->len < y->len);
}

/*
 * Hash token t of d as what it means: an object's members sorted by
 * their unescaped keys, strings unescaped, each value marked with its
 * kind and length so that no two values hash alike; a top-level "path"
 * or "workdir" as toolpath() makes it canonical.
 */
static void
agentcanon(br_sha256_context *sc, const JDoc *d, int t, int top)
{
	const JTok *k = jsontok(d, t);
	char rel[MAXTOOLPATH + 1], why[64];
	CanonKey *m;
	size_t len, i;
	char *s;
	int j;

	if (k == NULL)
		return;
	br_sha256_update(sc, &k->type, 1);
	if (k->type == JObject || k->type == JArray) {
		br_sha256_update(sc, &k->size, sizeof(k->size));
		m = xmalloc(sizeof(*m) * (size_t)(k->size + 1));
		for (i = 0, j = t + 1; i < (size_t)k->size; i++) {
			m[i].key = NULL;
			m[i].len = 0;
			if (k->type == JObject) {
				m[i].key = xmalloc(d->tok[j].end -
				    d->tok[j].start + 1);
				jsonstr(d, j, m[i].key, d->tok[j].end -
				    d->tok[j].start + 1, &m[i].len);
				j = d->tok[j].next;
			}
			m[i].val = j;
			j = d->tok[j].next;
		}
		if (k->type == JObject)
			qsort(m, (size_t)k->size, sizeof(*m), canonkeycmp);
		for (i = 0; i < (size_t)k->size; i++) {
			br_sha256_update(sc, &m[i].len, sizeof(m[i].len));
			br_sha256_update(sc, m[i].key ? m[i].key : "", m[i].len);
			s = m[i].key;
			if (top && s != NULL && (strcmp(s, "path") == 0 ||
			    strcmp(s, "workdir") == 0) && jsontype(d,
			    m[i].val) == JString && (s = jsonstrdup(d,
			    m[i].val)) != NULL) {
				if (toolpath(s, rel, sizeof(rel), why,
				    sizeof(why)) == 0) {
					len = strlen(rel);
					br_sha256_update(sc, &len, sizeof(len));
					br_sha256_update(sc, rel, len);
					free(s);
					continue;
				}
				free(s);
			}
			agentcanon(sc, d, m[i].val, 0);
		}
		for (i = 0; i < (size_t)k->size; i++)
			free(m[i].key);
		free(m);
		return;
	}
	if (k->type == JString) {
		s = xmalloc(k->end - k->start + 1);
		if (jsonstr(d, t, s, k->end - k->start + 1, &len) != 0)
			len = 0;
		br_sha256_update(sc, &len, sizeof(len));
		br_sha256_update(sc, s, len);
		free(s);
		return;
	}
	len = k->end - k->start;        /* numbers as written; literals */
	br_sha256_update(sc, &len, sizeof(len));
	br_sha256_update(sc, d->buf + k->start, len);
}

/*
 * Make cv fit a context window that it outgrew: the text of the oldest
 * tool results (of more than CONTEXTKEEP bytes) replaced by a note that
 * says so, until half of those bytes are gone.  Every call keeps its
 * result, so the conversation stays one a provider takes.  How many
 * results were cut; 0 when none is left to cut.
 */
static int
convcompact(Conv *cv)
{
	char note[160];
	size_t total = 0, gone = 0, n;
	int i, k = 0;

	for (i = 0; i < cv->n; i++)
		if (cv->m[i].role == RoleTool && strlen(cv->m[i].text) >
		    CONTEXTKEEP)
			total += strlen(cv->m[i].text);
	for (i = 0; i < cv->n && total > 0 && gone < (total + 1) / 2; i++) {
		if (cv->m[i].role != RoleTool || (n = strlen(cv->m[i].text)) <=
		    CONTEXTKEEP)
			continue;
		snprintf(note, sizeof(note), "[vtcode: this tool result (%zu "
		    "bytes) was dropped to fit the model's context window]",
		    n);
		free(cv->m[i].text);
		cv->m[i].text = xstrndup(note, strlen(note));
		cv->bytes -= MIN(cv->bytes, n);
		gone += n;
		k++;
	}
	return k;
}

/* the same call as one before, too many times over: a runaway loop */
static int
agentrepeat(Buf *seen, const ToolCall *c)
{
	unsigned char h[32];
	br_sha256_context sc;
	JTok *tok;
	JDoc d;
	size_t i;
	int k = 0, n;

	br_sha256_init(&sc);
	br_sha256_update(&sc, c->name, strlen(c->name) + 1);
	/* the arguments as they mean, not as they are spelt: spaces, key
	 * order, escapes and a path's ./ change nothing */
	n = (int)MIN((size_t)MAXJSONTOKENS, c->args.len / 2 + 8);
	tok = xmalloc(sizeof(*tok) * (size_t)n);
	if (jsonparse(&d, c->args.p ? c->args.p : "", c->args.len, tok, n) >=
	    0)
		agentcanon(&sc, &d, 0, 1);
	else
		br_sha256_update(&sc, c->args.p, c->args.len);
	free(tok);
	br_sha256_out(&sc, h);
	for (i = 0; i + 32 <= seen->len; i += 32)
		k += memcmp(seen->p + i, h, 32) == 0;
	bufadd(seen, h, 32);
	return k >= MAXREPEAT;
}

/*
 * Run one task on conversation cv, which already ends with the user's
 * message.  0 when the model finished, else -1 after saying why on
 * stderr (the conversation is left as the model last saw it).
 */
static int
agentrun(Endpoint *ep, Conv *cv, Show *show)
{
	Buf out, seen;
	Turn t;
	Msg *m;
	int turn, i, rc, stop;
	int64_t intok = 0, outtok = 0;
	char why[600];

	bufinit(&seen, 0);
	evsimple("turn.started", 0, (char *)NULL);
	for (turn = 0; turn < MAXTURNS; turn++) {
		show->lastnl = 1;
		rc = llmturn(ep, cv, &t, agentemit, show);
		if (rc != 0 && t.errkind == ErrContext &&
		    (i = convcompact(cv)) > 0) {
			/* too long for the model: the oldest tool results
			 * go, the calls and all else stay; asked again */
			if (!evs.json)
				warnx("%s: the conversation outgrew the model's "
				    "context: %d older tool results dropped, "
				    "asking again", ep->p->name, i);
			turnfree(&t);
			continue;
		}
		if (rc != 0) {
			if (show->reasoning)
				fputc('\n', stderr);
			show->reasoning = 0;
			if (!show->lastnl)
				fputc('\n', stdout);
			fflush(stdout);
			snprintf(why, sizeof(why), "%s: %s", ep->p->name, t.err);
			if (!evs.json)
				warnx("%s", why);
			evsimple("error", 0, "message", why, (char *)NULL);
			evsimple("turn.failed", 1, "message", why, (char *)NULL);
			rc = t.errkind == ErrCancel ? -2 : -1;
			turnfree(&t);
			buffree(&seen);
			if (rc == -1)
				storesave(&store, cv);
			return rc;
		}
		intok += t.intok;
		outtok += t.outtok;
		evtext("reasoning", t.reasoning.p, t.reasoning.len);
		evtext("agent_message", t.text.p, t.text.len);
		if (show->reasoning)
			fputc('\n', stderr);
		show->reasoning = 0;
		m = convadd(cv, RoleAssistant, t.text.p, t.text.len);
		if (t.ncalls > 0) {
			m->calls = xmalloc(sizeof(ToolCall) * (size_t)t.ncalls);
			memcpy(m->calls, t.calls, sizeof(ToolCall) *
			    (size_t)t.ncalls);
			m->ncalls = t.ncalls;
			t.ncalls = 0;   /* the message owns them now */
		}
		if (strcmp(t.finish, "length") == 0 && m->ncalls == 0)
			warnx("%s: the answer was cut off at the model's output "
			    "limit", ep->p->name);
		turnfree(&t);
		if (m->ncalls == 0) {
			if (!show->lastnl)
				fputc('\n', stdout);
			fflush(stdout);
			buffree(&seen);
			storesave(&store, cv);
			evusage(intok, outtok);
			return 0;
		}
		if (!show->lastnl) {
			fputc('\n', stdout);
			fflush(stdout);
		}
		for (i = 0, stop = 0; i < m->ncalls; i++) {
			ToolCall *c = &m->calls[i];
			if (!stop && agentrepeat(&seen, c)) {
				snprintf(why, sizeof(why), "the model made the "
				    "same %s call %d times: stopped (MAXREPEAT)",
				    c->name, MAXREPEAT + 1);
				stop = 1;
			}
			bufinit(&out, MAXTOOLOUTPUT);
			/* after the stop every call still gets its result, or
			 * no provider would take the conversation again */
			rc = stop ? toolerr(&out, "not run: %s", why) :
			    tooldispatch(c->name, c->args.p, c->args.len, &out);
			if (cancelled) {
				buffree(&out);
				buffree(&seen);
				return -2;
			}
			m = convadd(cv, RoleTool, out.p ? out.p : "", out.len);
			m->callid = xstrndup(c->id, strlen(c->id));
			m->tool = xstrndup(c->name, strlen(c->name));
			m->iserror = rc != 0;
			buffree(&out);
			/* convadd may have moved the array */
			m = &cv->m[cv->n - 2 - i];
		}
		storesave(&store, cv);  /* after every turn */
		if (stop) {
			agentfail(why);
			buffree(&seen);
			return -1;
		}
	}
	buffree(&seen);
	snprintf(why, sizeof(why), "stopped after MAXTURNS (%d) model turns",
	    MAXTURNS);
	agentfail(why);
	return -1;
}

/* a task that ends short: said on stderr, and on the record */
static void
agentfail(const char *why)
{
	if (!evs.json)
		warnx("%s", why);
	evsimple("error", 0, "message", why, (char *)NULL);
	evsimple("turn.failed", 1, "message", why, (char *)NULL);
}

static void
evusage(int64_t in, int64_t out)
{
	JWriter w;
	Buf b;

	if (!evs.on)
		return;
	evbegin(&w, &b, "turn.completed");
	jwkey(&w, "usage");
	jwobj(&w);
	jwkey(&w, "input_tokens");
	jwint(&w, in);
	jwkey(&w, "output_tokens");
	jwint(&w, out);
	jwend(&w);
	evend(&w, &b, 1);
}

/*
 * The agent's own walls, raised once config, trust anchors and session
 * state are read, so that a parser bug fed by a hostile server still
 * cannot read ~/.ssh or reach another host.  Landlock: read and execute
 * the system dirs (the same list as commands), the few more files name
 * resolution reads, and the CA bundle; read and write the workspace,
 * vtcode's state and config dirs and the terminal, and where run_command
 * is offered (a trusted workspace) the runner's temp dir and the ptys;
 * at ABI >= 4 TCP connect only to the ports of the providers
 * this run may use and of the proxy, bind nothing.  seccomp: no ptrace,
 * process_vm_*, mounts, keyrings, bpf and the like.  The protected paths'
 * mount namespace is made first: Landlock forbids mounting afterwards.
 * Commands inherit all of it and narrow it further.  Returns the Landlock
 * ABI applied (0 when the kernel has none), or -1 with why.
 */
static int
selfsandbox(const Endpoint *ep, char *why, size_t wsz)
{
	struct { uint64_t allowed, port; } np;
	char dir[PATH_MAX], cfg[PATH_MAX], w2[256];
	uint16_t ports[MAXPROVIDERS + 4];
	int np_ = 0, i, abi, rfd, pi, https = 0, tls, cmds;
	const Tool *rc;
	uint64_t fs, dev, rw;
	size_t j;
	const char *px, *u;
	Url url;

	if (!SELFSANDBOX || (abi = sbxkernabi()) < 1)
		return 0;
	/* the ports this run can use: the provider, the ones it fails over
	 * to, the proxy's; and whether any of them needs the CA bundle */
	for (pi = (int)(ep->p - providers); pi >= 0; ) {
		Endpoint e;
		if (pi == (int)(ep->p - providers))
			e = *ep;
		else if (endpointset(&e, pi, 0, w2, sizeof(w2)) != 0)
			break;
		if (urlparse(&url, e.baseurl, w2, sizeof(w2)) == 0) {
			tls = url.tls;
			ports[np_++] = (uint16_t)atoi(url.port);
			if ((px = netproxy(&url)) != NULL) {
				Url pu;
				if (urlparse(&pu, px, w2, sizeof(w2)) == 0)
					ports[np_++] = (uint16_t)atoi(pu.port);
				explicit_bzero(&pu, sizeof(pu));
			}
			explicit_bzero(&url, sizeof(url));
			https |= tls;
		}
		pi = failnext(pi);
		if (np_ > MAXPROVIDERS)
			break;
	}
	ports[np_++] = 53;      /* DNS over TCP, when UDP answers are cut */
	if (https && tlsload(why, wsz) != 0)
		return -1;
	/* whether commands can run at all: the policy's own answer */
	cmds = (rc = toolfind("run_command")) != NULL && tooloffered(rc);
	if (cmds)               /* bind the protected paths now */
		sbxprotect(w2, sizeof(w2));
	if (xdgdir("XDG_STATE_HOME", ".local/state", 1, dir, sizeof(dir)) !=
	    0 || xdgdir("XDG_CONFIG_HOME", ".config", 1, cfg, sizeof(cfg)) !=
	    0) {
		snprintf(why, wsz, "no state or config directory (set HOME)");
		return -1;
	}
	storedir(w2, sizeof(w2));
	if ((rfd = sbxruleset(abi, LLN_BIND_TCP | LLN_CONNECT_TCP, 0, &fs,
	    why, wsz)) < 0)
		return -1;
	dev = LLF_READ_FILE | LLF_WRITE_FILE | LLF_IOCTL_DEV;
	rw = fs;
	for (j = 0; j < LEN(sbxreadexec); j++)
		if (sbxrule(rfd, sbxreadexec[j], LLF_EXECUTE | LLF_READ_FILE |
		    LLF_READ_DIR, fs) != 0)
			goto fail;
	for (j = 0; j < LEN(selfread); j++)
		if (sbxrule(rfd, selfread[j], LLF_READ_FILE | LLF_READ_DIR,
		    fs) != 0)
			goto fail;
	for (j = 0; j < LEN(sbxdevices); j++)
		if (sbxrule(rfd, sbxdevices[j], dev, fs) != 0)
			goto fail;
	if ((https && sbxrule(rfd, cafile, LLF_READ_FILE, fs) != 0) ||
	    sbxrule(rfd, "/dev/tty", dev, fs) != 0 ||
	    sbxrule(rfd, wsroot, rw, fs) != 0 ||
	    sbxrule(rfd, dir, rw, fs) != 0 || sbxrule(rfd, cfg, rw, fs) != 0)
		goto fail;
	/* what only commands need (ptys, the temp dir), only where
	 * run_command is offered at all (a trusted workspace) */
	if (cmds) {
		u = runtmp();
		if (sbxrule(rfd, "/dev/ptmx", dev, fs) != 0 ||
		    sbxrule(rfd, "/dev/pts", dev | LLF_READ_DIR, fs) != 0 ||
		    sbxrule(rfd, u, rw, fs) != 0 ||
		    /* the temp dir itself goes at exit: an empty dir in
		     * BASE/vtcode-UID is all this lets vtcode remove */
		    sbxrule(rfd, runtmpuser(), 1ULL << 4 /* REMOVE_DIR */,
		    fs) != 0 || (sbxshm && sbxrule(rfd, "/dev/shm", rw &
		    ~LLF_EXECUTE, fs) != 0))
			goto fail;
	}
	for (i = 0; abi >= 4 && i < np_; i++) {
		np.allowed = LLN_CONNECT_TCP;
		np.port = ports[i];
		if (syscall(LL_SYS_ADD, rfd, 2 /* NET_PORT */, &np, 0) != 0)
			goto fail;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1L, 0L, 0L, 0L) != 0 ||
	    syscall(LL_SYS_RESTRICT, rfd, 0) != 0) {
		snprintf(why, wsz, "landlock_restrict_self: %s",
		    strerror(errno));
		close(rfd);
		return -1;
	}
	close(rfd);
	return selfseccomp(why, wsz) != 0 ? -1 : abi;
fail:
	snprintf(why, wsz, "landlock_add_rule: %s", strerror(errno));
	close(rfd);
	return -1;
}

/* the agent's own seccomp filter: the base every command starts from */
static int
selfseccomp(char *why, size_t wsz)
{
	scmp_filter_ctx ctx;
	int rc;

	if ((ctx = sbxfilter(why, wsz)) == NULL)
		return -1;
	if ((rc = seccomp_load(ctx)) != 0)
		snprintf(why, wsz, "seccomp: %s", strerror(-rc));
	seccomp_release(ctx);
	return rc != 0 ? -1 : 0;
}

static void
onsigint(int sig)
{
	(void)sig;
	cancelled = 1;
}

static void
onsigquit(int sig)
{
	(void)sig;
	cancelled = 1;
	quitting = 1;
}

/*
 * Ctrl-C cancels what is under way (a request, a command) and the
 * session goes on; SIGTERM and SIGHUP (the terminal went away) cancel
 * it too and then end vtcode the ordinary way, so a running command is
 * killed with everything it started, the session is saved and the temp
 * dir removed, where dying on the spot would leave all three.  A signal
 * vtcode was started with ignored (nohup; SIGINT in a shell's
 * background job) stays ignored.
 */
static void
catchsignals(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	struct sigaction sa, old;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);       /* no SA_RESTART: waits wake up */
	for (i = 0; i < LEN(sigs); i++) {
		sa.sa_handler = sigs[i] == SIGINT ? onsigint : onsigquit;
		if (sigaction(sigs[i], NULL, &old) == 0 &&
		    old.sa_handler != SIG_IGN)
			sigaction(sigs[i], &sa, NULL);
	}
}

/* the provider chosen by -P, VTCODE_PROVIDER, the user's config, or the
 * first in config.h */
static int
agentinit(Endpoint *ep)
{
	const char *name = providers[0].name, *v;
	char why[512];
	int pi;

	if (settings.provider[0] != '\0')
		name = settings.provider;
	if ((v = getenv("VTCODE_PROVIDER")) != NULL && *v != '\0')
		name = v;
	if (flagprovider != NULL)
		name = flagprovider;
	if ((pi = providerfind(name)) < 0) {
		warnx("%s: no such provider (config.h has: %s ...)", name,
		    providers[0].name);
		return -1;
	}
	if (endpointset(ep, pi, 1, why, sizeof(why)) != 0) {
		warnx("%s", why);
		return -1;
	}
	ep->tried[pi] = 1;
	if ((selfabi = selfsandbox(ep, why, sizeof(why))) < 0) {
		warnx("the agent's own sandbox: %s: refusing to go on without "
		    "it", why);
		return -1;
	}
	if (store.id[0] == '\0')
		snprintf(store.id, sizeof(store.id), "%s", evs.thread);
	snprintf(store.provider, sizeof(store.provider), "%s", ep->p->name);
	snprintf(store.model, sizeof(store.model), "%s", ep->model);
	snprintf(store.workspace, sizeof(store.workspace), "%s", wsroot);
	return 0;
}

static void
agentstart(void)
{
	wsinit();
	configload();
	catchsignals();
	atexit(runtmpclean);
}

/* read all of stdin as the prompt, bounded */
static char *
readprompt(void)
{
	Buf b;
	char buf[8192];
	ssize_t r;

	bufinit(&b, MAXPROMPT);
	while ((r = read(0, buf, sizeof(buf))) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			die("stdin:");
		bufadd(&b, buf, (size_t)r);
		if (b.err)
			die("prompt: longer than MAXPROMPT (%d bytes)",
			    MAXPROMPT);
	}
	bufaddc(&b, '\0');
	return b.p;
}

/* vtcode exec [--json] [--events FILE] PROMPT */
static int
cmdexec(int argc, char *argv[])
{
	const char *prompt = NULL, *events = NULL;
	char *owned = NULL;
	Endpoint ep;
	Show show;
	Conv cv;
	int i, rc, json = 0;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		if (argv[i][0] != '-' || strcmp(argv[i], "-") == 0)
			break;
		if (strcmp(argv[i], "--json") == 0) {
			json = 1;
			continue;
		}
		if (strcmp(argv[i], "--events") == 0 ||
		    strncmp(argv[i], "--events=", 9) == 0) {
			if ((events = optarg1(argc, argv, &i, "--events")) ==
			    NULL)
				return ExitUsage;
			continue;
		}
		return usageerr("exec: unknown option %s", argv[i]);
	}
	if (i != argc - 1)
		return usageerr("exec: one PROMPT, or - to read it from stdin");
	prompt = argv[i];
	if (strcmp(prompt, "-") == 0)
		prompt = owned = readprompt();
	if (*prompt == '\0' || strlen(prompt) > MAXPROMPT) {
		free(owned);
		return usageerr("exec: the prompt is empty or longer than "
		    "MAXPROMPT (%d bytes)", MAXPROMPT);
	}
	agentstart();
	evopen(events, json, cfgtrusted);
	if (agentinit(&ep) != 0) {
		evsimple("error", 1, "message", "no usable provider", (char *)NULL);
		free(owned);
		return ExitFail;
	}
	memset(&cv, 0, sizeof(cv));
	convadd(&cv, RoleUser, prompt, strlen(prompt));
	free(owned);
	showinit(&show);
	rc = agentrun(&ep, &cv, &show);
	showfree(&show);
	convfree(&cv, 0);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		warnx("exec: the answer could not be written to standard "
		    "output");
		return ExitFail;
	}
	return rc == 0 ? ExitOK : rc == -2 ? ExitCancel : ExitFail;
}

/* vtcode: the interactive session on the terminal */
static int
cmdinteractive(void)
{
	Conv cv;

	agentstart();
	evopen(NULL, 0, cfgtrusted);
	memset(&cv, 0, sizeof(cv));
	return interactive(&cv);
}

/* vtcode resume ID: a stored session, continued where it stopped */
static int
cmdresume(int argc, char *argv[])
{
	StoreMeta sm;
	Conv cv;

	if (argc != 2)
		return usageerr("resume: one session ID");
	agentstart();
	if (storeload(argv[1], &sm, &cv) != 0)
		return ExitFail;
	if (strcmp(sm.workspace, wsroot) != 0) {
		warnx("session %s belongs to %s, not %s: run vtcode -C DIR "
		    "resume %s there", sm.id, sm.workspace, wsroot, sm.id);
		convfree(&cv, 0);
		return ExitFail;
	}
	/* what the session used, unless the flags or environment say */
	if (flagprovider == NULL && getenv("VTCODE_PROVIDER") == NULL)
		snprintf(settings.provider, sizeof(settings.provider), "%s",
		    sm.provider);
	if (flagmodel == NULL && getenv("VTCODE_MODEL") == NULL)
		snprintf(settings.model, sizeof(settings.model), "%s",
		    sm.model);
	evopen(NULL, 0, cfgtrusted);
	store = sm;
	return interactive(&cv);
}

/* the session loop over cv (empty, or a resumed conversation) */
static int
interactive(Conv *cvp)
{
	char line[8192];
	Endpoint ep;
	Show show;
	Conv cv = *cvp;
	int mark, rc;

	if (agentinit(&ep) != 0) {
		convfree(&cv, 0);
		return ExitFail;
	}
	showinit(&show);
	fprintf(stderr, "vtcode %s: %s, model %s, workspace %s%s\n"
	    "Ctrl-C cancels a turn, Ctrl-D ends the session.\n", VERSION,
	    ep.p->name, ep.model[0] ? ep.model : "(the server's first)",
	    wsroot, cfgtrusted ? "" : " (not trusted: read-only tools)");
	for (;;) {
		if (quitting)
			break;  /* SIGTERM or SIGHUP, wherever it landed */
		cancelled = 0;
		fputs("> ", stderr);
		fflush(stderr);
		if (fgets(line, sizeof(line), stdin) == NULL) {
			if (ferror(stdin) && errno == EINTR && cancelled &&
			    !quitting) {
				clearerr(stdin);
				fputc('\n', stderr);
				continue;
			}
			fputc('\n', stderr);
			break;
		}
		if (strchr(line, '\n') == NULL && !feof(stdin)) {
			warnx("line longer than %zu bytes: ignored",
			    sizeof(line) - 2);
			while (fgets(line, sizeof(line), stdin) != NULL &&
			    strchr(line, '\n') == NULL)
				;
			continue;
		}
		line[strcspn(line, "\n")] = '\0';
		if (line[strspn(line, " \t")] == '\0')
			continue;
		mark = cv.n;
		convadd(&cv, RoleUser, line, strlen(line));
		rc = agentrun(&ep, &cv, &show);
		if (rc == -2) {
			/* cancelled: the turn is dropped as if not asked */
			convfree(&cv, mark);
			storesave(&store, &cv);
			fputs("[cancelled]\n", stderr);
		}
		if (quitting)
			break;  /* SIGTERM or SIGHUP: saved, now go */
	}
	showfree(&show);
	convfree(&cv, 0);
	return ExitOK;
}

/* print u with any user and password hidden: all of the authority up
 * to its last '@', as urlparse() reads it */
static void
puturl(FILE *fp, const char *s)
{
	char shown[MAXURLCAP + 8];

	urlshow(s, shown, sizeof(shown));
	putsafe(fp, shown);
}

/*
 * vtcode check: every wall around commands, in force or missing, and
 * what to do about a missing one.  The namespace and the seccomp filter
 * are tried in a child, as the runner would, not taken on trust.  0
 * when commands can run, -1 when a mandatory wall is missing.
 */
static int
checkwalls(void)
{
	static const struct { int abi; const char *what, *kernel; } ll[] = {
		{ 1, "files", "5.13" }, { 2, "renames across dirs", "5.19" },
		{ 3, "truncate", "6.2" }, { 4, "TCP ports", "6.7" },
		{ 5, "device ioctls", "6.10" },
		{ 6, "abstract sockets and signals", "6.12" },
	};
	const struct sock_fprog *prog = NULL;
#if defined(__linux__)
	const struct sock_fprog *have[4];
#endif
	char why[256] = "", nswhy[512] = "";
	const char *hint;
	int abi = sbxabi(), st = 3, sep = ':', pp[2], n;
	size_t i;
	ssize_t k;
	pid_t pid = -1;

	printf("sandbox: Landlock ABI %d", abi);
	for (i = 0; i < LEN(ll); i++)
		if (abi >= ll[i].abi) {
			printf("%c %s", sep, ll[i].what);
			sep = ',';
		}
	for (i = 0, sep = ';'; i < LEN(ll); i++)
		if (abi < ll[i].abi) {
			printf("%s %s (ABI %d, Linux %s)", sep == ';' ?
			    "; missing:" : ",", ll[i].what, ll[i].abi,
			    ll[i].kernel);
			sep = ',';
		}
	printf("%s\n", abi >= SBXLANDLOCKMIN ? "" : getenv(
	    "VTCODE_LANDLOCK_ABI_MAX") ? ": commands are refused (below "
	    "SBXLANDLOCKMIN: VTCODE_LANDLOCK_ABI_MAX)" : ": commands are "
	    "refused (below SBXLANDLOCKMIN: a kernel with "
	    "CONFIG_SECURITY_LANDLOCK and lsm=landlock is needed)");
#if defined(__linux__)
	prog = sbxprogram(0, abi, why, sizeof(why));
	if (pipe(pp) != 0)
		pp[0] = pp[1] = -1;
	else if ((pid = fork()) == 0) {
		/* the runner's own steps, in a child that goes away.  Bit
		 * 1: the protected paths cannot be pinned, nothing runs
		 * (why on the pipe); bit 2: the filter would not load
		 * (after the namespace: the filter refuses new ones); bit
		 * 4: the workspace has none of them; bit 8: no namespace
		 * can be made, the policy asks instead (why on the pipe);
		 * bit 16: /dev/shm is the commands' own */
		close(pp[0]);
		st = (n = sbxpinnable(nswhy, sizeof(nswhy))) == 0 ? 4 : 0;
		if (n < 0 || sbxprotect(nswhy, sizeof(nswhy)) != 0) {
			st |= sbxunpinned[0] != '\0' ? 8 : 1;
			if (write(pp[1], nswhy, strlen(nswhy)) < 0)
				st |= 1;
		}
		if (sbxshm)
			st |= 16;
		if (prog == NULL || prctl(PR_SET_NO_NEW_PRIVS, 1L, 0L, 0L,
		    0L) != 0 || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER,
		    prog, 0L, 0L) != 0)
			st |= 2;
		_exit(st);
	}
	if (pid > 0) {
		close(pp[1]);
		while ((k = read(pp[0], nswhy, sizeof(nswhy) - 1)) < 0 &&
		    errno == EINTR)
			;
		nswhy[k > 0 ? k : 0] = '\0';
		close(pp[0]);
		if (waitpid(pid, &st, 0) == pid && WIFEXITED(st))
			st = WEXITSTATUS(st);
		else
			st = 3;
	} else if (pp[0] >= 0) {
		close(pp[0]);
		close(pp[1]);
	}
#endif
	hint = strstr(nswhy, "namespace") ? "; are unprivileged user "
	    "namespaces off? see the sysctls "
	    "kernel.unprivileged_userns_clone and user.max_user_namespaces, "
	    "and AppArmor's restrict_unprivileged_userns" : "";
	if (st & 8)
		printf("sandbox: protected paths: cannot be pinned, and "
		    "nothing outside the workspace is read-only to chmod, "
		    "chown and touch (%s%s): commands that are not read-only "
		    "are asked about every time (a yes given earlier does not "
		    "count), and vtcode sandbox refuses\n", nswhy, hint);
	else if (st & 1)
		printf("sandbox: protected paths: missing (%s%s): commands are "
		    "refused\n", nswhy[0] ? nswhy : "the probe did not run",
		    hint);
	else if (st & 4)
		printf("sandbox: protected paths: none in this workspace (a "
		    ".git or .vtcode that a command creates is moved aside; "
		    "a trust file it writes has no valid seal); all outside "
		    "the workspace, the user's temp directory and vtcode's "
		    "own directories is read-only in a private mount "
		    "namespace\n");
	else
		printf("sandbox: protected paths: pinned read-only in a "
		    "private mount namespace, where all outside the workspace, "
		    "the user's temp directory and vtcode's own directories is "
		    "read-only too\n");
	if (st & 16)
		printf("sandbox: /dev/shm: the commands' own, a tmpfs of at "
		    "most %llu MB (RUNSHMSIZE) in the namespace\n",
		    (unsigned long long)(RUNSHMSIZE >> 20));
	else
		printf("sandbox: /dev/shm: closed to commands (no private "
		    "namespace, or the temp dir or a directory of vtcode's "
		    "is in it)\n");
	if (st & 2)
		printf("sandbox: seccomp: missing (%s): %s\n", why[0] ? why :
		    "the kernel would not load the filter", SBXSECCOMP ?
		    "commands are refused" : "commands run without it "
		    "(SBXSECCOMP 0)");
	else
		printf("sandbox: seccomp: in force (a filter of %d "
		    "instructions, %s)\n", prog ? prog->len : 0, SBXSECCOMP ?
		    "required" : "optional");
#if defined(__linux__)
	/* the programs were compiled when vtcode was built (sbxprogram) */
	for (n = 0; n < 4; n++)
		have[n] = sbxprogram(SBXKINDNET(n), SBXKINDABI(n), why,
		    sizeof(why));
	if ((n = sbxsame(have, why, sizeof(why))) < 0)
		printf("sandbox: seccomp programs: cannot compile them to "
		    "compare (%s)\n", why);
	else
		printf("sandbox: seccomp programs: %s libseccomp %u.%u.%u "
		    "compiles now%s\n", n ? "the ones" : "not what",
		    seccomp_version()->major, seccomp_version()->minor,
		    seccomp_version()->micro, n ? "" : ": rebuild vtcode");
#endif
	return abi < SBXLANDLOCKMIN || (st & 1) || ((st & 2) && SBXSECCOMP) ?
	    -1 : 0;
}

/* vtcode check: what is in force, and does the provider answer? */
static int
cmdcheck(int argc, char *argv[])
{
	char why[PATH_MAX + 256];
	const char *proxy;
	Endpoint ep;
	Turn t;
	Buf out;
	long ra;
	int st, ok = 1, n, data, i, walls;
	JTok *tok;
	JDoc d;
	Url u;

	if (argc != 1)
		return usageerr("check: %s: takes no arguments", argv[1]);
	agentstart();
	printf("workspace: %s (%s)\n", wsroot, cfgtrusted ? "trusted" :
	    "not trusted: read-only tools");
	printf("config:");
	for (i = 1; i < 3; i++)
		if (cfgloaded[i])
			printf(" %s", cfgfile[i]);
	printf("%s\n", cfgloaded[1] || cfgloaded[2] ? "" : " config.h only");
	walls = checkwalls() == 0;
	if (tlsload(why, sizeof(why)) == 0) {
		printf("TLS: CA bundle %s, %zu trust anchors", cafile, ntas);
		if (tasbad > 0)
			printf(" (%zu damaged certificates in it skipped)",
			    tasbad);
		putchar('\n');
	} else {
		printf("TLS: %s\n", why);
		ok = 0;
	}
	if (agentinit(&ep) != 0)
		return ExitFail;
	printf("provider: %s (%s), base URL ", ep.p->name, ep.p->kind ==
	    KindAnthropic ? "anthropic" : "openai-compatible");
	puturl(stdout, ep.baseurl);
	printf(", model %s, key %s%s\n", ep.model[0] ? ep.model :
	    "(the server's first)", ep.p->keyenv ? ep.p->keyenv : "none",
	    ep.p->keyenv == NULL ? "" : ep.key ? " (set)" : " (not set)");
	urlparse(&u, ep.baseurl, why, sizeof(why));
	proxy = netproxy(&u);
	if (selfabi > 0)
		printf("agent: restricted itself (Landlock ABI %d%s, seccomp)\n",
		    selfabi, selfabi >= 4 ? ", TCP only to the providers' and "
		    "proxy's ports" : "");
	else
		printf("agent: not restricted (%s)\n", !SELFSANDBOX ?
		    "SELFSANDBOX is 0" : "no Landlock on this kernel");
	printf("proxy: ");
	if (proxy != NULL)
		puturl(stdout, proxy);
	else
		printf("none (direct%s)", hostloopback(u.host) ? ": loopback is "
		    "never proxied" : "");
	putchar('\n');
	fflush(stdout);
	turninit(&t, ep.p->kind, NULL, NULL);
	bufinit(&out, MAXMODELS);
	st = httpexchange(&ep, "GET", "/models", NULL, &t, &out, &ra);
	if (st == 200) {
		tok = xmalloc(sizeof(*tok) * (out.len / 2 + 8));
		n = 0;
		if (jsonparse(&d, out.p ? out.p : "", out.len, tok,
		    (int)(out.len / 2 + 8)) >=
		    0 && (data = jsonget(&d, 0, "data")) >= 0)
			n = jsontok(&d, data)->size;
		printf("models: the server answers, %d model%s listed", n,
		    n == 1 ? "" : "s");
		if (n > 0) {
			char id[256];
			if (jsonstr(&d, jsonget(&d, jsonat(&d, data, 0), "id"),
			    id, sizeof(id), NULL) == 0) {
				printf(", first: ");
				putsafe(stdout, id);
			}
		}
		putchar('\n');
		free(tok);
	} else {
		if (st > 0)
			httperror(&t, &ep, st, &out);
		printf("models: %s\n", t.err);
		ok = 0;
	}
	buffree(&out);
	turnfree(&t);
	return fflush(stdout) == 0 && ok && walls ? ExitOK : ExitFail;
}

/* 1 when s is n lowercase hex digits */
static int
ishex(const char *s, size_t n)
{
	return strlen(s) == n && strspn(s, "0123456789abcdef") == n;
}

/*
 * vtcode audit verify FILE: walk the hash chain line by line; the first
 * line that does not follow from the one before it is named, exit 1.
 */
static int
cmdaudit(int argc, char *argv[])
{
	char prevhex[65], want[65], field[80], type[40], thread[40] = "";
	unsigned char h[32];
	br_sha256_context sc;
	struct stat st;
	size_t len, off, n, k;
	int64_t seq;
	JTok *tok;
	JDoc d;
	char *buf, *nl;
	int fd, line, rc = ExitOK;

	if (argc != 3 || strcmp(argv[1], "verify") != 0)
		return usageerr("audit: verify FILE");
	if ((fd = open(argv[2], O_RDONLY | O_CLOEXEC)) < 0 ||
	    fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    (uintmax_t)st.st_size > MAXAUDITFILE) {
		warnx("audit: %s: %s", argv[2], fd < 0 ? strerror(errno) :
		    "not a regular file of at most MAXAUDITFILE bytes");
		if (fd >= 0)
			close(fd);
		return ExitFail;
	}
	buf = xmalloc((size_t)st.st_size + 1);
	for (len = 0; len < (size_t)st.st_size; len += (size_t)n) {
		ssize_t r = read(fd, buf + len, (size_t)st.st_size - len);
		if (r <= 0)
			break;
		n = (size_t)r;
	}
	close(fd);
	buf[len] = '\0';
	tok = NULL;
	want[0] = '\0';
	for (off = 0, line = 1; off < len && rc == ExitOK; line++) {
		if ((nl = memchr(buf + off, '\n', len - off)) == NULL) {
			warnx("audit: %s:%d: the line is cut off (no newline): "
			    "the log was truncated", argv[2], line);
			rc = ExitFail;
			break;
		}
		n = (size_t)(nl - (buf + off));
		free(tok);
		/* an event holds a whole answer (MAXEVENT): audit lines are
		 * the one document longer than MAXJSONSIZE */
		k = MIN(n / 2 + 8, (size_t)MAXJSONTOKENS);
		tok = xmalloc(sizeof(*tok) * k);
		if (n > MAXAUDITLINE || jsonparsesz(&d, buf + off, n, tok,
		    (int)k, MAXAUDITLINE) < 0 || jsontype(&d, 0) != JObject ||
		    jsonstr(&d, jsonget(&d, 0, "type"), type, sizeof(type),
		    NULL) != 0 || jsonint(&d, jsonget(&d, 0, "seq"), 0,
		    INT64_MAX, &seq) != 0 || jsonstr(&d, jsonget(&d, 0,
		    "prev"), prevhex, sizeof(prevhex), NULL) != 0 ||
		    !ishex(prevhex, 64)) {
			warnx("audit: %s:%d: not an audit line (JSON with type, "
			    "seq and prev): edited", argv[2], line);
			rc = ExitFail;
			break;
		}
		if (line == 1) {
			if (strcmp(type, "thread.started") != 0 ||
			    jsonstr(&d, jsonget(&d, 0, "nonce"), field,
			    sizeof(field), NULL) != 0 || !ishex(field, 64) ||
			    jsonstr(&d, jsonget(&d, 0, "thread_id"), thread,
			    sizeof(thread), NULL) != 0) {
				warnx("audit: %s:1: the first line is not the "
				    "thread.started that anchors the chain",
				    argv[2]);
				rc = ExitFail;
				break;
			}
			memcpy(want, field, 65);
		}
		if (seq != line - 1) {
			warnx("audit: %s:%d: seq is %lld, not %d: a line was "
			    "deleted, inserted or moved here", argv[2], line,
			    (long long)seq, line - 1);
			rc = ExitFail;
		} else if (strcmp(prevhex, want) != 0) {
			warnx("audit: %s:%d: prev is not the hash of %s: %s",
			    argv[2], line, line == 1 ? "the thread's nonce" :
			    "the line before", line == 1 ? "edited" :
			    "that line was edited, or this one forged");
			rc = ExitFail;
		}
		br_sha256_init(&sc);
		br_sha256_update(&sc, buf + off, n);
		br_sha256_out(&sc, h);
		hexenc(h, sizeof(h), want);
		off += n + 1;
	}
	if (rc == ExitOK && line == 1) {
		warnx("audit: %s: empty", argv[2]);
		rc = ExitFail;
	}
	if (rc == ExitOK) {
		putsafe(stdout, argv[2]);
		printf(": %d lines, chain intact (thread ", line - 1);
		putsafe(stdout, thread);
		/* a cut between two lines leaves a shorter chain that is
		 * whole: only this hash, kept elsewhere, shows it */
		printf("), last line SHA-256 %s\n", want);
	}
	free(tok);
	free(buf);
	return rc == ExitOK && fflush(stdout) != 0 ? ExitFail : rc;
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
"       vtcode policy check -- ARGV... | STRING\n"
"       vtcode sandbox [--net] [--timeout MS] -- CMD [ARG...]\n"
"       vtcode outline FILE...\n"
"       vtcode find QUERY\n"
"       vtcode sessions [list | show ID]\n"
"       vtcode resume ID\n"
"       vtcode audit verify FILE\n"
"       vtcode -h | --version\n";

/* subcommands; a NULL run is honest about not being built yet */
static const Command commands[] = {
	{ "exec",     cmdexec },
	{ "trust",    cmdtrust },
	{ "check",    cmdcheck },
	{ "policy",   cmdpolicy },
	{ "sandbox",  cmdsandbox },
	{ "outline",  NULL },
	{ "find",     NULL },
	{ "sessions", cmdsessions },
	{ "resume",   cmdresume },
	{ "audit",    cmdaudit },
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

#if defined(VTCODE_BPFGEN) && defined(__linux__)
/*
 * make's helper: the four programs of the commands' seccomp filters as
 * libseccomp compiles them here (sbxcompile), printed as C for vtcode
 * to carry (build/bpf.h).  Its exit status is 0 only when all are there.
 */
int
main(void)
{
	struct sock_fprog p;
	char why[256];
	unsigned i;
	int k, net;

	printf("/* build/bpf.h: the commands' seccomp programs, as libseccomp "
	    "%u.%u.%u\n * compiled them (sbxcompile in vtcode.c, built with "
	    "VTCODE_BPFGEN).\n * Made by make; do not edit. */\n",
	    seccomp_version()->major, seccomp_version()->minor,
	    seccomp_version()->micro);
	for (k = 0; k < 4; k++) {
		if (sbxcompile(SBXKINDNET(k), SBXKINDABI(k), &p, why,
		    sizeof(why)) != 0) {
			fprintf(stderr, "bpfgen: %s\n", why);
			return 1;
		}
		/* sbxbpf[net][abi < 3]: named by k's two bits */
		printf("static const struct sock_filter sbxbpf%d%d[] = {\n",
		    k / 2, k % 2);
		for (i = 0; i < p.len; i++)
			printf("\t{ 0x%04x, %3u, %3u, 0x%08lx },\n",
			    (unsigned)p.filter[i].code,
			    (unsigned)p.filter[i].jt,
			    (unsigned)p.filter[i].jf,
			    (unsigned long)p.filter[i].k);
		printf("};\n");
		free(p.filter);
	}
	/* the kernel only reads a program: its pointer is not const */
	printf("static const struct sock_fprog sbxbpf[2][2] = {\n");
	for (net = 0; net < 2; net++)
		printf("\t{ { LEN(sbxbpf%d0), (struct sock_filter *)sbxbpf%d0 "
		    "},\n\t  { LEN(sbxbpf%d1), (struct sock_filter *)sbxbpf%d1 "
		    "} },\n", net, net, net, net);
	printf("};\n");
	return fflush(stdout) != 0 || ferror(stdout) ? 1 : 0;
}
#endif

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
	flagmodel = model;
	flagprovider = provider;
	flagbaseurl = baseurl;
	if (dir != NULL && chdir(dir) != 0)
		die("-C %s:", dir);
	if (i == argc)
		return cmdinteractive();
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
