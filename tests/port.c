/* See LICENSE file for copyright and license details.
 *
 * tests/port.c: the macOS (Seatbelt) and OpenBSD (unveil + pledge)
 * sandboxes, which cannot run here, compiled on Linux against stubs
 * that have those platforms' prototypes and record every call.  Checks
 * what each would ask its kernel for: the profile and its parameters,
 * the unveil list and the pledge.  What the kernels then enforce is not
 * tested (README says so).  Ends with "port: N passed, N failed".
 */
#define VTCODE_NOMAIN
#define VTCODE_PORTCHECK        /* vtcode.c declares the stubs' prototypes */
#include "../vtcode.c"

#include <regex.h>

#include "check.h"

/* ---- the stubs: what was asked, and what to answer ---- */

static Buf prof;                        /* the last profile */
static char *par[2 * SBPLMAXPARAMS + 1];
static int sbfail, freed;
static char sberr[] = "profile did not compile";

int
sandbox_init_with_parameters(const char *profile, uint64_t flags,
    const char *const parameters[], char **errorbuf)
{
	int i;

	prof.len = 0;
	bufaddstr(&prof, profile);
	for (i = 0; par[i] != NULL; i++)
		free(par[i]);
	for (i = 0; parameters[i] != NULL && i < 2 * SBPLMAXPARAMS; i++)
		par[i] = xstrndup(parameters[i], strlen(parameters[i]));
	par[i] = NULL;
	if (sbfail) {
		*errorbuf = sberr;
		return -1;
	}
	return flags == 0 ? 0 : -1;
}

void
sandbox_free_error(char *errorbuf)
{
	freed += errorbuf == sberr;
}

static Buf calls;       /* "unveil PATH PERMS\n", "pledge NULL EXEC\n" */
static const char *uvfail;      /* a path whose unveil fails */
static int uverrno;

int
unveil(const char *path, const char *permissions)
{
	char dir[PATH_MAX], *sl;
	struct stat st;

	bufaddf(&calls, "unveil %s %s\n", path ? path : "NULL",
	    permissions ? permissions : "NULL");
	if (path != NULL && uvfail != NULL && strcmp(path, uvfail) == 0) {
		errno = uverrno;
		return -1;
	}
	/* as the kernel: the last component may be missing, the directory
	 * holding it may not (ENOENT), nor be a file (ENOTDIR) */
	if (path != NULL && snprintf(dir, sizeof(dir), "%s", path) > 0 &&
	    (sl = strrchr(dir, '/')) != NULL && sl != dir) {
		*sl = '\0';
		if (stat(dir, &st) != 0)
			return -1;
		if (!S_ISDIR(st.st_mode)) {
			errno = ENOTDIR;
			return -1;
		}
	}
	return 0;
}

int
pledge(const char *promises, const char *execpromises)
{
	bufaddf(&calls, "pledge %s %s\n", promises ? promises : "NULL",
	    execpromises ? execpromises : "NULL");
	return 0;
}

/* ---- helpers ---- */

static const char *
param(const char *key)
{
	int i;

	for (i = 0; par[i] != NULL && par[i + 1] != NULL; i += 2)
		if (strcmp(par[i], key) == 0)
			return par[i + 1];
	return NULL;
}

/* no parameter's value is anywhere in the profile's text */
static int
nopasted(void)
{
	int i;

	for (i = 1; par[i - 1] != NULL && par[i] != NULL; i += 2)
		if (strstr(prof.p, par[i]) != NULL)
			return 0;
	return 1;
}

static int
count(const char *s, const char *what)
{
	int n = 0;

	for (; (s = strstr(s, what)) != NULL; s++)
		n++;
	return n;
}

/* the protected-path regex of the profile matches path */
static int
protects(const char *path)
{
	char re[1024];
	const char *a = strstr(prof.p, "(regex #\""), *b;
	regex_t rx;
	int m;

	if (a == NULL || (b = strstr(a + 9, "\")")) == NULL ||
	    (size_t)(b - a - 9) >= sizeof(re))
		return -1;
	memcpy(re, a + 9, (size_t)(b - a - 9));
	re[b - a - 9] = '\0';
	if (regcomp(&rx, re, REG_EXTENDED | REG_NOSUB) != 0)
		return -1;
	m = regexec(&rx, path, 0, NULL, 0) == 0;
	regfree(&rx);
	return m;
}

static void
mkfile(const char *dir, const char *name, const char *text)
{
	char p[PATH_MAX + 64];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	if ((f = fopen(p, "w")) == NULL)
		die("%s:", p);
	fputs(text, f);
	fclose(f);
}

/* every unveil that grants w or c is of one of the n paths in ok */
static int
onlywrites(const char *const ok[], int n)
{
	char l[3 * PATH_MAX], *sp;
	const char *a = calls.p ? calls.p : "", *e;
	int i, found;

	for (; (e = strchr(a, '\n')) != NULL; a = e + 1) {
		if (strncmp(a, "unveil ", 7) != 0 || (size_t)(e - a) >= sizeof(l))
			continue;
		memcpy(l, a + 7, (size_t)(e - a - 7));
		l[e - a - 7] = '\0';
		if ((sp = strrchr(l, ' ')) == NULL || strpbrk(sp, "wc") == NULL)
			continue;
		*sp = '\0';
		for (i = 0, found = 0; i < n; i++)
			found |= strcmp(l, ok[i]) == 0;
		if (!found)
			return 0;
	}
	return 1;
}

/* the execpromises of the pledge call hold no promise in bad */
static int
promisesnot(const char *const bad[], int n)
{
	const char *a = strstr(calls.p ? calls.p : "", "pledge NULL ");
	char pr[512], *t;
	int i;

	if (a == NULL || sscanf(a + 12, "%511[^\n]", pr) != 1)
		return 0;
	for (t = strtok(pr, " "); t != NULL; t = strtok(NULL, " "))
		for (i = 0; i < n; i++)
			if (strcmp(t, bad[i]) == 0)
				return 0;
	return 1;
}

/* an unveil or pledge call, printf-style, was made */
static int
called(const char *fmt, ...)
{
	char line[3 * PATH_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	return strstr(calls.p ? calls.p : "", line) != NULL;
}

/* the profile for the workspace main() makes, without --net */
static const char seatbelt[] =
    "(version 1)\n(deny default)\n(allow process-fork)\n"
    "(allow signal (target same-sandbox))\n"
    "(allow process-info* (target same-sandbox))\n(allow ipc-posix-sem)\n"
    "(allow mach-lookup (global-name "
    "\"com.apple.system.opendirectoryd.libinfo\"))\n"
    "(allow file-read-metadata)\n"
    "(allow sysctl-read (sysctl-name \"hw.activecpu\") (sysctl-name "
    "\"hw.byteorder\") (sysctl-name \"hw.cachelinesize\") (sysctl-name "
    "\"hw.cpufamily\") (sysctl-name \"hw.cputype\") (sysctl-name "
    "\"hw.logicalcpu\") (sysctl-name \"hw.logicalcpu_max\") (sysctl-name "
    "\"hw.machine\") (sysctl-name \"hw.memsize\") (sysctl-name "
    "\"hw.model\") (sysctl-name \"hw.ncpu\") (sysctl-name "
    "\"hw.pagesize\") (sysctl-name \"hw.physicalcpu\") (sysctl-name "
    "\"hw.physicalcpu_max\") (sysctl-name \"hw.optional.arm64\") "
    "(sysctl-name \"hw.optional.neon\") (sysctl-name "
    "\"hw.optional.avx2_0\") (sysctl-name \"hw.optional.sse4_2\") "
    "(sysctl-name \"kern.argmax\") (sysctl-name \"kern.hostname\") "
    "(sysctl-name \"kern.maxfilesperproc\") (sysctl-name "
    "\"kern.maxproc\") (sysctl-name \"kern.osproductversion\") "
    "(sysctl-name \"kern.osrelease\") (sysctl-name \"kern.ostype\") "
    "(sysctl-name \"kern.osversion\") (sysctl-name \"kern.version\") "
    "(sysctl-name \"kern.usrstack64\") (sysctl-name "
    "\"machdep.cpu.brand_string\") (sysctl-name "
    "\"sysctl.proc_cputype\") (sysctl-name \"vm.loadavg\"))\n"
    "(allow file-read* file-map-executable process-exec (subpath (param "
    "\"R0\")) (subpath (param \"R1\")) (subpath (param \"R2\")))\n"
    "(allow file-read* file-write-data file-ioctl (literal (param "
    "\"D0\")) (literal (param \"D1\")) (literal (param \"D2\")) "
    "(literal (param \"D3\")) (literal (param \"D4\")) (literal (param "
    "\"PTY\")))\n"
    "(allow file-read* file-map-executable process-exec (subpath (param "
    "\"WS\")) (subpath (param \"TMP\")))\n"
    "(allow file-write* (subpath (param \"TMP\")))\n"
    "(allow file-write* (require-all (subpath (param \"WS\")) "
    "(require-not (regex #\"/([.][gG][iI][tT]|[.][vV][tT]-[wW][oO][rR]"
    "[kK][sS][pP][aA][cC][eE]-[tT][rR][uU][sS][tT]|[.][vV][tT][cC][oO]"
    "[dD][eE]|[.][gG][iI][tT]/[hH][oO][oO][kK][sS]|[.][gG][iI][tT]/[cC]"
    "[oO][nN][fF][iI][gG])(/|$)\")) (require-not (subpath (param "
    "\"GITDIR\")))))\n";

int
main(void)
{
	char ws[] = "/tmp/vtport-XXXXXX", tmp[] = "/tmp/vtport-tmp-XXXXXX";
	char p[PATH_MAX + 64], rws[PATH_MAX], rtmp[PATH_MAX], rrepo[PATH_MAX];
	char rpty[PATH_MAX], why[600], *pty, *s;
	static const struct { const char *rel; int prot; } names[] = {
		{ ".git", 1 }, { ".GIT/hooks/pre-commit", 1 },
		{ ".Git/config", 1 }, { "sub/.git/config", 1 },
		{ ".vtcode", 1 }, { ".VTCODE/policy.toml", 1 },
		{ ".vt-workspace-trust", 1 },
		{ ".github/workflows/ci.yml", 0 }, { ".gitignore", 0 },
		{ "src/git.c", 0 }, { ".vtcoderc", 0 },
	};
	size_t i;
	const char *w, *gitrule = " (require-not (subpath (param \"GITDIR\")))";
	int m, sl, nallow;

	bufinit(&prof, 0);
	bufinit(&calls, 0);
	if (mkdtemp(ws) == NULL || mkdtemp(tmp) == NULL)
		die("mkdtemp:");
	/* a workspace whose .git is a pointer to a repository inside it,
	 * in meta/: all of meta is pinned (rrepo), as on Linux, or a rename
	 * of meta would swap in another repository */
	snprintf(p, sizeof(p), "%s/meta", ws);
	if (mkdir(p, 0700) != 0)
		die("%s:", p);
	if (realpath(p, rrepo) == NULL)
		die("realpath:");
	snprintf(p, sizeof(p), "%s/meta/repo", ws);
	if (mkdir(p, 0700) != 0)
		die("%s:", p);
	mkfile(p, "HEAD", "ref: refs/heads/main\n");
	mkfile(ws, ".git", "gitdir: meta/repo\n");
	if (realpath(ws, rws) == NULL || realpath(tmp, rtmp) == NULL)
		die("realpath:");
	if (openpty(&m, &sl, NULL, NULL, NULL) != 0 ||
	    (pty = ttyname(sl)) == NULL || realpath(pty, rpty) == NULL)
		die("openpty:");
	snprintf(wsroot, sizeof(wsroot), "%s", rws);

	/* ---- Seatbelt ---- */
	T(sbxseatbelt(0, tmp, pty, why, sizeof(why)) == 0);
	/* the whole profile, as config.h's lists and this system make it
	 * (of sbxreadmac, /usr, /bin and /sbin exist on Linux) */
	T(strcmp(prof.p, seatbelt) == 0);
	if (strcmp(prof.p, seatbelt) != 0)
		printf("%s", prof.p);
	T(param("WS") && strcmp(param("WS"), rws) == 0);
	T(param("TMP") && strcmp(param("TMP"), rtmp) == 0);
	T(param("PTY") && strcmp(param("PTY"), rpty) == 0);
	T(param("GITDIR") && strcmp(param("GITDIR"), rrepo) == 0);
	T(param("D0") && strcmp(param("D0"), "/dev/null") == 0);
	/* the paths are parameters, never text */
	T(nopasted());
	T(strstr(prof.p, "/tmp") == NULL && strstr(prof.p, "/dev/") == NULL);
	/* writes: the temp dir, and the workspace less the protected names
	 * and the pointer's repository; nothing else */
	T(count(prof.p, "file-write*") == 2);
	T(strstr(prof.p, "(allow file-write* (subpath (param \"TMP\")))\n"));
	T(strstr(prof.p, "(allow file-write* (require-all (subpath (param "
	    "\"WS\")) (require-not (regex #\"/("));
	T(strstr(prof.p, "(require-not (subpath (param \"GITDIR\")))))\n"));
	T(strstr(prof.p, "file-write-data file-ioctl (literal (param \"D0\"))"));
	T(strstr(prof.p, "(allow default") == NULL);
	/* no network without --net; with it, the network and nothing more */
	T(strstr(prof.p, "network") == NULL);
	nallow = count(prof.p, "(allow ");
	T(sbxseatbelt(1, tmp, pty, why, sizeof(why)) == 0);
	T(strstr(prof.p, "(allow network* system-socket)\n") != NULL);
	T(strstr(prof.p, "(allow mach-lookup (global-name \"com.apple."
	    "SystemConfiguration.DNSConfiguration\") ") != NULL);
	T(count(prof.p, "(allow ") == nallow + 2);
	T(strncmp(prof.p, seatbelt, strlen(seatbelt)) == 0);
	/* the protected names, each letter in either case, as components,
	 * and controls: names that only look alike stay writable */
	for (i = 0; i < LEN(names); i++) {
		snprintf(p, sizeof(p), "%s/%s", rws, names[i].rel);
		check(protects(p) == names[i].prot, __FILE__, __LINE__,
		    names[i].rel);
	}
	/* a workspace named to break out of a quoted string changes no text */
	s = xstrndup(prof.p, prof.len);
	snprintf(p, sizeof(p), "%s/x\") (allow default) (\"", rws);
	if (mkdir(p, 0700) != 0 || realpath(p, wsroot) == NULL)
		die("%s:", p);
	T(sbxseatbelt(1, tmp, pty, why, sizeof(why)) == 0);
	T(strcmp(param("WS"), wsroot) == 0 && nopasted());
	/* (the same profile, less the pointer's repository: none there) */
	w = strstr(s, gitrule);
	T(w != NULL && strncmp(prof.p, s, (size_t)(w - s)) == 0 &&
	    strcmp(prof.p + (w - s), w + strlen(gitrule)) == 0);
	free(s);
	snprintf(wsroot, sizeof(wsroot), "%s", rws);
	/* the kernel's refusal is vtcode's: the command does not run */
	sbfail = 1;
	T(sbxseatbelt(0, tmp, pty, why, sizeof(why)) == -1);
	T(strcmp(why, "sandbox_init: profile did not compile") == 0);
	T(freed == 1);
	sbfail = 0;
	/* a workspace that is gone is an error, not a rule left out */
	T(sbxseatbelt(0, "/nonexistent/tmp", pty, why, sizeof(why)) == -1);
	T(strstr(why, "/nonexistent/tmp") != NULL);

	/* ---- unveil + pledge ---- */
	T(sbxunveil(0, tmp, pty, why, sizeof(why)) == 0);
	T(called("unveil %s rwxc\n", rws));
	T(called("unveil %s rwxc\n", tmp));
	T(called("unveil %s rw\n", pty));
	T(called("unveil %s/.git r\n", rws));
	T(called("unveil %s/.git/hooks r\n", rws));
	T(called("unveil %s/.vtcode r\n", rws));
	T(called("unveil %s/.vt-workspace-trust r\n", rws));
	T(called("unveil %s r\n", rrepo));
	T(called("unveil /usr rx\n") && called("unveil /dev/null rwc\n"));
	/* nothing else is writable, the list is locked, then the pledge */
	{
		const char *ok[LEN(sbxdevices) + 3];
		static const char *const bad[] = { "inet", "dns", "unix",
			"ps", "id", "settime", "route", "pf", "bpf", "mcast",
			"audio", "video", "sendfd", "recvfd", "error",
			"tmppath", "vminfo" };
		static const char *const px[] = { "prot_exec" };

		for (i = 0; i < LEN(sbxdevices); i++)
			ok[i] = sbxdevices[i];
		ok[i++] = pty;
		ok[i++] = rws;
		ok[i++] = tmp;
		T(onlywrites(ok, (int)i));
		T(count(calls.p, " rwxc\n") == 2);
		T(promisesnot(bad, (int)LEN(bad)));
		/* a control: the check sees a promise that is there */
		T(!promisesnot(px, 1));
	}
	T(strstr(calls.p, "unveil NULL NULL\npledge NULL stdio ") != NULL);
	T(strstr(calls.p, "resolv.conf") == NULL);
	calls.len = 0;
	T(sbxunveil(1, tmp, pty, why, sizeof(why)) == 0);
	T(strstr(calls.p, " prot_exec unix inet dns\n") != NULL);
	T(called("unveil /etc/resolv.conf r\n"));
	/* a system path that is missing is skipped; any other failure, or
	 * the workspace failing, stops the command */
	calls.len = 0;
	uvfail = "/etc/pwd.db";
	uverrno = ENOENT;
	T(sbxunveil(0, tmp, pty, why, sizeof(why)) == 0);
	uverrno = EPERM;
	T(sbxunveil(0, tmp, pty, why, sizeof(why)) == -1);
	T(strcmp(why, "unveil /etc/pwd.db: Operation not permitted") == 0);
	uvfail = rws;
	uverrno = ENOENT;
	calls.len = 0;
	T(sbxunveil(0, tmp, pty, why, sizeof(why)) == -1);
	T(strstr(calls.p, "pledge") == NULL);
	uvfail = NULL;

	/* a pointer that reaches its repository through a symbolic link
	 * (which a command could point elsewhere) cannot be pinned: both
	 * refuse, as Linux does; the control ran above (meta/repo) */
	snprintf(p, sizeof(p), "%s/lnk", rws);
	if (symlink("meta", p) != 0)
		die("%s:", p);
	mkfile(ws, ".git", "gitdir: lnk/repo\n");
	calls.len = 0;
	T(sbxseatbelt(0, tmp, pty, why, sizeof(why)) == -1);
	T(strstr(why, "names its repository through a symbolic link") != NULL);
	T(sbxunveil(0, tmp, pty, why, sizeof(why)) == -1);
	T(strstr(why, "names its repository through a symbolic link") != NULL);
	T(calls.len == 0);
	unlink(p);
	mkfile(ws, ".git", "gitdir: meta/repo\n");
	T(sbxunveil(0, tmp, pty, why, sizeof(why)) == 0);

	/* a protected path that is a symbolic link cannot be pinned: both
	 * refuse, as Linux does; the control ran above (none there) */
	snprintf(p, sizeof(p), "%s/.vtcode", rws);
	if (symlink("repo", p) != 0)
		die("%s:", p);
	calls.len = 0;
	T(sbxseatbelt(0, tmp, pty, why, sizeof(why)) == -1);
	T(strstr(why, ".vtcode is a symbolic link") != NULL);
	T(sbxunveil(0, tmp, pty, why, sizeof(why)) == -1);
	T(strstr(why, ".vtcode is a symbolic link") != NULL);
	T(calls.len == 0);
	unlink(p);

	snprintf(p, sizeof(p), "rm -rf '%s' '%s'", ws, tmp);
	if (system(p) != 0)
		printf("port: could not remove %s\n", ws);
	printf("port: %d passed, %d failed\n", npass, nfail);
	return nfail != 0;
}
