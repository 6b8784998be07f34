/* See LICENSE file for copyright and license details.
 *
 * vtcode.h: the types and enums that vtcode.c, config.h and the tests
 * share.  Nothing here allocates or does I/O; the code is in vtcode.c.
 */
#ifndef VTCODE_H
#define VTCODE_H

#include <stddef.h>
#include <stdint.h>

/* config.mk passes -DVERSION; tests.sh checks the two agree */
#ifndef VERSION
#define VERSION "0.1.0"
#endif

/* exit codes, documented in vtcode.1 under EXIT STATUS */
enum {
	ExitOK = 0,      /* success */
	ExitFail = 1,    /* the work could not be done (I/O, refused input) */
	ExitUsage = 2,   /* bad command line, or a command this build lacks */
	ExitCancel = 130 /* the task was cancelled (Ctrl-C) */
};

/* ---- util ---- */

/* A growable byte buffer.  Every append is bounded by max (0 means the
 * size_t ceiling); going over it sets err and later appends do nothing,
 * in the BearSSL manner: check err once at the end. */
typedef struct {
	char *p;
	size_t len, cap, max;
	int err;
} Buf;

/* ---- json ---- */

typedef enum {
	JNone = 0, JObject, JArray, JString, JNumber, JTrue, JFalse, JNull
} JType;

/* One token over the caller's buffer, jsmn style.  For strings start/end
 * exclude the quotes; for containers they include the brackets.  next is
 * the index of the first token after this token's whole subtree, so a
 * lookup can skip a member without walking it.  size counts an object's
 * members (key/value pairs) or an array's elements. */
typedef struct {
	size_t start, end;
	int next;
	int size;
	unsigned char type;    /* JType */
	unsigned char escaped; /* string contains a backslash escape */
	unsigned char isint;   /* number has no fraction and no exponent */
} JTok;

/* A parsed document: the caller owns buf and tok; the parser only fills
 * them.  On rejection err is a static sentence and erroff the byte
 * offset where the input stopped making sense. */
typedef struct {
	const char *buf;
	size_t len;
	JTok *tok;
	int ntok, maxtok;
	const char *err;
	size_t erroff;
} JDoc;

/* Hard ceiling on nesting for both parser and writer; config.h's
 * MAXJSONDEPTH picks the limit in force and is checked against this. */
#define JSONDEPTHCAP 256

/* JSON writer state: it refuses (sticky err) any call sequence that
 * would produce invalid JSON, so what it emits always parses. */
typedef struct {
	Buf *b;
	int depth;
	int done;                           /* a complete top-level value */
	int wantval;                        /* a key was written, value next */
	const char *err;
	unsigned char lvl[JSONDEPTHCAP + 1];/* JWObj, JWItems bits per level */
} JWriter;

/* ---- policy ---- */

/* ordered: a larger value is stricter, so combining is max() */
typedef enum { Allow, Prompt, Deny } Decision;

/* what a command's operands (the words that are not options) are */
typedef enum {
	ArgAny,      /* not checked: the row's decision is all there is */
	ArgNone,     /* no operands at all */
	ArgText,     /* free text, never paths (echo, tr, date) */
	ArgPaths,    /* every operand is a path beneath the workspace */
	ArgPattern,  /* a pattern first (unless -e/-f gave it), then paths */
	ArgFirstText,/* a mode or owner first (chmod, chown), then paths */
	ArgRemove,   /* paths, and never the workspace root itself */
	ArgFind,     /* find: paths, then an expression checked word by word */
	ArgSed,      /* sed: a script that only prints lines, then paths */
	ArgSub,      /* a subcommand (git), then its options and operands */
	ArgDd        /* dd: key=value words; if= and of= are paths */
} ArgKind;

#define MAXEXAMPLES 6

/*
 * One row of the command table in config.h.  Option lists are
 * space-separated words: "-x" a short option, "-x:" one that takes a
 * value; "--name" a long option, "--name=" one that takes a value,
 * "--name?" one whose value is optional and only given with '='.
 * shortopts is a getopt(3) optstring ("x::" takes only a value glued
 * on); one that starts with '+' is read the way tree(1) reads its
 * options: every letter of a cluster is an option, and each that takes
 * a value takes the next word ("-LP 2 x": -L 2 -P x), never the rest of
 * the cluster.
 */
typedef struct {
	const char *name;       /* exact, or a prefix ending in '*' */
	Decision decision;      /* for an argv that passes every check */
	const char *shortopts;  /* allowed short options (optstring) */
	const char *longopts;   /* allowed long options */
	const char *forbid;     /* forbidden options: always Deny */
	const char *pathopts;   /* options whose value is a path */
	ArgKind args;           /* what the operands are */
	int maxops;             /* most operands allowed, -1 for no limit */
	const char *subcmds;    /* ArgSub: allowed subcommands */
	const char *subforbid;  /* ArgSub: options forbidden after them */
	const char *reason;     /* shown to the user and the model */
	const char *match[MAXEXAMPLES];   /* get exactly this decision */
	const char *nomatch[MAXEXAMPLES]; /* get a different one */
} CmdRule;

typedef struct {
	const char *tool;
	Decision decision;
	int readonly;           /* offered in an untrusted workspace */
	const char *reason;
} ToolRule;

#endif /* VTCODE_H */
