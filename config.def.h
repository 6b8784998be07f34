/* See LICENSE file for copyright and license details.
 *
 * config.def.h: vtcode's compile-time configuration.  `make` copies it to
 * config.h when that file is absent; edit config.h and rebuild.  This file
 * is the ceiling: nothing read at run time (flags, environment, runtime
 * config, the workspace, the model) can loosen what is set here.
 *
 * Each limit says which attack or failure it bounds.
 */

/* ---- json ---- */

/* Nesting depth of any JSON document read or written.  Bounds the
 * parser's container stack: a server or model sending [[[[... cannot
 * exhaust memory or the stack.  At most JSONDEPTHCAP (vtcode.h). */
#define MAXJSONDEPTH      64

/* Tokens in one JSON document (scalars, keys, containers).  A 1 MiB
 * document of "[0,0,0,...]" is ~500k tokens; an SSE chunk from a model
 * is a few dozen.  Bounds the token array the caller allocates. */
#define MAXJSONTOKENS     (1 << 20)

/* Bytes in one JSON document that vtcode will parse at all. */
#define MAXJSONSIZE       (16 << 20)

/* Bytes in one number literal that vtcode converts to a double or an
 * integer.  Longer literals are valid JSON but not meaningful to us; a
 * 1 MB run of digits fed to strtod() is a CPU sink. */
#define MAXJSONNUMLEN     320

/* ---- command line ---- */

/* Bytes in one command-line operand or option value (-m, -P, -C, ...). */
#define MAXARGLEN         4096

/* ---- policy ---- */

/* Where commands are looked up: fixed, never the inherited PATH and
 * never a workspace directory, so a planted ./ls is never what runs. */
#define SYSPATH           "/usr/local/bin:/usr/bin:/bin"

/* A run_command string: bytes, pipeline stages, words per stage. */
#define MAXCMDLEN         16384
#define MAXCMDSTAGES      256
#define MAXCMDARGS        1024

/* Tool policies.  run_command's row is the decision for a command that
 * has no row of its own below; each command row decides for itself. */
static const ToolRule toolrules[] = {
	/* tool          decision  read-only  reason */
	{ "list_files",  Allow,    1, "lists files beneath the workspace" },
	{ "read_file",   Allow,    1, "reads a file beneath the workspace" },
	{ "grep",        Allow,    1, "searches files beneath the workspace" },
	{ "find_files",  Allow,    1, "finds paths beneath the workspace" },
	{ "outline",     Allow,    1, "lists the symbols of a source file" },
	{ "write_file",  Prompt,   0, "creates or replaces a file" },
	{ "edit_file",   Prompt,   0, "changes a file" },
	{ "run_command", Prompt,   0, "runs a command vtcode has no rule for" },
};

#define READS   "reads files beneath the workspace"
#define RUNS    "runs other programs, whatever they are told to"
#define NONET   "the sandbox gives commands no network"
#define BUILTIN "a shell builtin: no shell runs commands (use run_command's workdir to change directory)"

/*
 * Command rules, one row per command.  The checks, in order: forbidden
 * options (Deny), options not in the allowed lists or ambiguous
 * abbreviations (Prompt), operands by kind (a path outside the workspace
 * is Deny), then the row's own decision.  The strictest outcome wins.
 * Long options may be abbreviated the way getopt_long(3) allows; an
 * abbreviation of a forbidden option is that option.  match/nomatch are
 * examples that tests.sh checks against the decision.  Allow only rows
 * that read (with the options they allow): where the protected paths
 * cannot be pinned (no user namespaces), Allow rows are all that runs
 * without asking.
 */
static const CmdRule cmdrules[] = {
	/* name, decision,
	 *   short options, long options,
	 *   forbidden, path-valued options,
	 *   operands, max operands, subcommands, forbidden after subcommand,
	 *   reason,
	 *   { match }, { nomatch } */
	{ "ls", Allow,
	  "1aAbBcCdfFgGhHiklLmnNopqQrRsStuUvxXZw:I:T:",
	  "--all --almost-all --author --escape --block-size= --ignore-backups "
	  "--color? --directory --classify --file-type --format= --full-time "
	  "--group-directories-first --no-group --human-readable --si "
	  "--hide= --inode --ignore= --kibibytes --dereference "
	  "--numeric-uid-gid --literal --hide-control-chars --quote-name "
	  "--quoting-style= --reverse --recursive --size --sort= --time= "
	  "--time-style= --width= --zero --help --version",
	  NULL, NULL, ArgPaths, -1, NULL, NULL,
	  "lists files beneath the workspace",
	  { "ls", "ls -la src", "ls --all -R .", "ls -l --sort=size" },
	  { "ls /etc", "ls ../..", "ls --frobnicate", "ls --al" } },
	{ "cat", Allow, "AbeEnstTuv",
	  "--show-all --number-nonblank --show-ends --number --squeeze-blank "
	  "--show-tabs --show-nonprinting --help --version",
	  NULL, NULL, ArgPaths, -1, NULL, NULL, READS,
	  { "cat README", "cat -n a b", "cat tests/../README" },
	  { "cat /etc/passwd", "cat ~/.ssh/id_rsa", "cat ../x" } },
	{ "head", Allow, "c:n:qvz",
	  "--bytes= --lines= --quiet --silent --verbose --zero-terminated "
	  "--help --version",
	  NULL, NULL, ArgPaths, -1, NULL, NULL, READS,
	  { "head -n 5 f", "head -n5 f", "head --lines=5 f", "head -qn 3 a b" },
	  { "head /etc/shadow", "head -x f" } },
	{ "tail", Allow, "c:n:qvzs:",
	  "--bytes= --lines= --quiet --silent --verbose --zero-terminated "
	  "--help --version",
	  NULL, NULL, ArgPaths, -1, NULL, NULL, READS,
	  { "tail -n 20 log.txt", "tail -c 100 f" },
	  { "tail -f log.txt", "tail /var/log/syslog" } },
	{ "wc", Allow, "clmwL",
	  "--bytes --chars --lines --words --max-line-length --help --version",
	  "--files0-from=", NULL, ArgPaths, -1, NULL, NULL, READS,
	  { "wc -l a.c b.c", "wc --lines f" },
	  { "wc --files0-from=/etc/list", "wc /etc/passwd" } },
	{ "grep", Allow, "EFGPiyvwxcLlm:obnHhsqrRzZaIUTA:B:C:e:f:",
	  "--extended-regexp --fixed-strings --basic-regexp --perl-regexp "
	  "--regexp= --file= --ignore-case --no-ignore-case --word-regexp "
	  "--line-regexp --null-data --no-messages --invert-match "
	  "--max-count= --byte-offset --line-number --with-filename "
	  "--no-filename --label= --only-matching --quiet --silent "
	  "--binary-files= --text --recursive --dereference-recursive "
	  "--include= --exclude= --exclude-from= --exclude-dir= "
	  "--files-without-match --files-with-matches --count --initial-tab "
	  "--null --before-context= --after-context= --context= --color? "
	  "--colour? --help --version",
	  NULL, "-f --file= --exclude-from=", ArgPattern, -1, NULL, NULL,
	  "searches files beneath the workspace",
	  { "grep -rn TODO src", "grep -e x -e y f", "grep -c main *.c" },
	  { "grep root /etc/passwd", "grep -f /etc/shadow x", "grep --frob x" } },
	{ "rg", Allow, "iSsFwxvclnHhNoe:f:g:t:T:A:B:C:m:M:uL.",
	  "--ignore-case --smart-case --case-sensitive --fixed-strings "
	  "--word-regexp --line-regexp --invert-match --count "
	  "--files-with-matches --line-number --with-filename --no-filename "
	  "--no-line-number --only-matching --regexp= --file= --glob= "
	  "--iglob= --type= --type-not= --before-context= --after-context= "
	  "--context= --max-count= --max-columns= --unrestricted --follow "
	  "--hidden --files --type-list --json --vimgrep --heading "
	  "--no-heading --color= --multiline --max-depth= --sort= --trim "
	  "--help --version",
	  "--pre= --pre-glob= --hostname-bin= -z --search-zip",
	  "-f --file=", ArgPattern, -1, NULL, NULL,
	  "searches files beneath the workspace",
	  { "rg -n TODO", "rg --type c main src", "rg -e a -e b",
	    "rg --files src" },
	  { "rg --pre ./x y", "rg -z x", "rg --search-zip x", "rg --pr x",
	    "rg --files /usr/share/doc", "rg --type-list /etc" } },
	/* find's long options are the expression's primaries; '=' where a
	 * value follows */
	{ "find", Allow, "HLP",
	  "-name= -iname= -path= -ipath= -wholename= -iwholename= -regex= "
	  "-iregex= -type= -xtype= -maxdepth= -mindepth= -mtime= -mmin= "
	  "-atime= -amin= -ctime= -cmin= -newer= -size= -empty -perm= "
	  "-user= -group= -links= -samefile= -print -print0 -printf= -ls "
	  "-prune -not -a -o -and -or ! ( ) , -depth -xdev -mount "
	  "-readable -writable -executable -true -false -daystart "
	  "-regextype= -nouser -nogroup -quit",
	  "-exec -execdir -ok -okdir -delete -fprint -fprint0 -fprintf -fls",
	  NULL, ArgFind, -1, NULL, NULL,
	  "finds files beneath the workspace",
	  { "find . -name x", "find src -type f -name '*.c'",
	    "find . '(' -name a -o -name b ')' -print", "find -L . -maxdepth 2" },
	  { "find . -exec rm {} ;", "find . -delete", "find / -name x",
	    "find . -fprint out" } },
	{ "sed", Allow, "nErsuze:",
	  "--quiet --silent --regexp-extended --expression= --separate "
	  "--null-data --posix --help --version",
	  "-i --in-place? -f: --file= --follow-symlinks",
	  NULL, ArgSed, -1, NULL, NULL,
	  "prints lines of files beneath the workspace",
	  { "sed -n 1,5p f", "sed -n '10p;$p' f", "sed -n -e 3p -e 4p f" },
	  { "sed -n '1p;e id' f", "sed -i s/a/b/ f", "sed -n 's/a/b/w out' f",
	    "sed s/a/b/ f" } },
	{ "sort", Allow, "bdfgiMhnRrVcCsuzk:t:S:",
	  "--ignore-leading-blanks --dictionary-order --ignore-case "
	  "--general-numeric-sort --ignore-nonprinting --month-sort "
	  "--human-numeric-sort --numeric-sort --random-sort --reverse "
	  "--version-sort --check? --key= --field-separator= --stable "
	  "--unique --zero-terminated --buffer-size= --parallel= "
	  "--help --version",
	  "-o: --output= --compress-program= -T: --temporary-directory= "
	  "--files0-from= --random-source=",
	  NULL, ArgPaths, -1, NULL, NULL, READS,
	  { "sort f", "sort -rn -k 2 f", "sort -u a b" },
	  { "sort -o out f", "sort --output=out f", "sort --out x f",
	    "sort --compress-program=sh f" } },
	{ "uniq", Allow, "cdDiuzf:s:w:",
	  "--count --repeated --all-repeated? --ignore-case --unique "
	  "--zero-terminated --skip-fields= --skip-chars= --check-chars= "
	  "--help --version",
	  NULL, NULL, ArgPaths, 1, NULL, NULL,
	  "reads one file beneath the workspace (a second operand is an output file)",
	  { "uniq -c f", "uniq f" },
	  { "uniq in out", "uniq /etc/group" } },
	{ "cut", Allow, "b:c:d:f:nsz",
	  "--bytes= --characters= --delimiter= --fields= --complement "
	  "--only-delimited --output-delimiter= --zero-terminated "
	  "--help --version",
	  NULL, NULL, ArgPaths, -1, NULL, NULL, READS,
	  { "cut -d: -f1 f", "cut -c 1-10 f" }, { "cut -f1 /etc/passwd" } },
	{ "tr", Allow, "cCdst", "--complement --delete --squeeze-repeats "
	  "--truncate-set1 --help --version",
	  NULL, NULL, ArgText, 2, NULL, NULL, "translates its input",
	  { "tr a-z A-Z", "tr -d x" }, { "tr a b c" } },
	{ "diff", Allow, "abBdeEfiNnpqrsTtuwyZU:C:x:X:I:",
	  "--brief --report-identical-files --context? --unified? --ed "
	  "--normal --side-by-side --width= --left-column "
	  "--suppress-common-lines --show-c-function --show-function-line= "
	  "--label= --expand-tabs --initial-tab --ignore-case "
	  "--ignore-tab-expansion --ignore-trailing-space "
	  "--ignore-space-change --ignore-all-space --ignore-blank-lines "
	  "--ignore-matching-lines= --text --strip-trailing-cr --recursive "
	  "--no-dereference --new-file --unidirectional-new-file "
	  "--exclude= --exclude-from= --minimal --color? --help --version",
	  NULL, "-X --exclude-from=", ArgPaths, -1, NULL, NULL,
	  "compares files beneath the workspace",
	  { "diff -u a b", "diff -ru old new" }, { "diff a /etc/passwd" } },
	{ "cmp", Allow, "bilsn:", "--print-bytes --verbose --ignore-initial= "
	  "--quiet --silent --bytes= --help --version",
	  NULL, NULL, ArgPaths, 4, NULL, NULL,
	  "compares files beneath the workspace",
	  { "cmp a b" }, { "cmp a /bin/ls" } },
	{ "du", Allow, "0abchHklLmsSxd:B:",
	  "--all --apparent-size --bytes --total --human-readable --si "
	  "--summarize --max-depth= --block-size= --count-links "
	  "--dereference --one-file-system --help --version",
	  NULL, NULL, ArgPaths, -1, NULL, NULL,
	  "measures files beneath the workspace",
	  { "du -sh .", "du --max-depth=1" }, { "du -sh /home" } },
	{ "df", Allow, "ahHiklPTx:t:B:", "--all --human-readable --si "
	  "--inodes --local --portability --print-type --help --version",
	  NULL, NULL, ArgPaths, -1, NULL, NULL, "shows free disk space",
	  { "df -h", "df -h ." }, { "df /" } },
	{ "stat", Allow, "LftTc:", "--dereference --file-system --format= "
	  "--printf= --terse --help --version",
	  NULL, NULL, ArgPaths, -1, NULL, NULL, READS,
	  { "stat f", "stat -c %s f" }, { "stat /etc/shadow" } },
	{ "file", Allow, "bcEhiklLNrsvz0", "--brief --mime --mime-type "
	  "--mime-encoding --dereference --no-dereference --help --version",
	  NULL, NULL, ArgPaths, -1, NULL, NULL, READS,
	  { "file a.out", "file -b --mime-type x" }, { "file /bin/sh" } },
	{ "tree", Allow, "+adfilpsugDFqNQrtvxCJXL:P:I:",
	  "--noreport --dirsfirst --charset= --help --version",
	  "-o:", NULL, ArgPaths, -1, NULL, NULL,
	  "lists files beneath the workspace",
	  { "tree", "tree -L 2 src", "tree -aL 2 src", "tree -LP 2 '*.c'" },
	  { "tree -o out", "tree /", "tree -iLo 1 .git/config", "tree -Lo 2 x" } },
	{ "date", Allow, "uRI", "--utc --rfc-email --iso-8601? "
	  "--rfc-3339= --date= --help --version",
	  "-s: --set= -f: --file=", NULL, ArgText, 1, NULL, NULL,
	  "prints the date",
	  { "date", "date -u +%Y", "date --date=yesterday" },
	  { "date -s 2020-01-01", "date --set=x" } },
	{ "pwd", Allow, "LP", "--help --version", NULL, NULL, ArgNone, 0,
	  NULL, NULL, "prints the working directory",
	  { "pwd" }, { "pwd x" } },
	{ "echo", Allow, "neE", "", NULL, NULL, ArgText, -1, NULL, NULL,
	  "prints its arguments",
	  { "echo hello world", "echo -n x" }, { "echo --help-me" } },
	{ "printf", Allow, "", "", NULL, NULL, ArgText, -1, NULL, NULL,
	  "prints its arguments",
	  { "printf %s x" }, { "printf -v x y" } },
	{ "true", Allow, "", "", NULL, NULL, ArgText, -1, NULL, NULL,
	  "does nothing", { "true" }, { "true --x" } },
	{ "false", Allow, "", "", NULL, NULL, ArgText, -1, NULL, NULL,
	  "does nothing", { "false" }, { "false --x" } },
	{ "which", Allow, "as", "", NULL, NULL, ArgText, -1, NULL, NULL,
	  "locates a command", { "which cc" }, { "which --skip-alias x" } },
	{ "uname", Allow, "asnrvmpio", "--all --kernel-name --nodename "
	  "--kernel-release --kernel-version --machine --processor "
	  "--hardware-platform --operating-system --help --version",
	  NULL, NULL, ArgNone, 0, NULL, NULL, "prints the system's name",
	  { "uname -a" }, { "uname x" } },
	{ "basename", Allow, "as:z", "--multiple --suffix= --zero --help",
	  NULL, NULL, ArgText, -1, NULL, NULL, "prints part of a path",
	  { "basename a/b.c .c" }, { "basename --frob" } },
	{ "dirname", Allow, "z", "--zero --help", NULL, NULL, ArgText, -1,
	  NULL, NULL, "prints part of a path",
	  { "dirname a/b" }, { "dirname -q" } },
	{ "realpath", Allow, "emLPqsz", "--canonicalize-existing "
	  "--canonicalize-missing --logical --physical --quiet --strip "
	  "--no-symlinks --zero --help", NULL, NULL, ArgPaths, -1, NULL,
	  NULL, READS, { "realpath ." }, { "realpath /etc" } },
	{ "nl", Allow, "pb:d:f:h:i:l:n:s:v:w:", "--help --version",
	  NULL, NULL, ArgPaths, -1, NULL, NULL, READS,
	  { "nl -ba f" }, { "nl /etc/hosts" } },
	{ "od", Allow, "bcdfiloxsvA:j:N:S:t:w::", "--help --version",
	  NULL, NULL, ArgPaths, -1, NULL, NULL, READS,
	  { "od -c f", "od -w16 f", "od -w f" },
	  { "od /etc/shadow", "od -w /etc/passwd" } },
	{ "base64", Allow, "diw:", "--decode --ignore-garbage --wrap= "
	  "--help --version", "-o: --output=", NULL, ArgPaths, 1, NULL,
	  NULL, READS, { "base64 f", "base64 -d f" },
	  { "base64 -o out f", "base64 --output=out f", "base64 a b" } },
	{ "sha256sum", Allow, "bctwz", "--binary --check --tag --text "
	  "--quiet --status --strict --warn --zero --help --version",
	  NULL, NULL, ArgPaths, -1, NULL, NULL, READS,
	  { "sha256sum f" }, { "sha256sum /etc/passwd" } },
	{ "md5sum", Allow, "bctwz", "--binary --check --tag --text "
	  "--quiet --status --strict --warn --zero --help --version",
	  NULL, NULL, ArgPaths, -1, NULL, NULL, READS,
	  { "md5sum f" }, { "md5sum /etc/passwd" } },
	{ "git", Allow, "C:P", "--no-pager --literal-pathspecs "
	  "--no-optional-locks --help --version",
	  "-c: -p --paginate --config-env= --exec-path? --git-dir= "
	  "--work-tree= --namespace= --super-prefix= --list-cmds=",
	  "-C", ArgSub, -1,
	  "status log show diff blame ls-files ls-tree rev-parse shortlog "
	  "describe cat-file grep",
	  "--ext-diff --textconv --output= --upload-pack= -O: "
	  "--open-files-in-pager? --no-index --contents= -X: "
	  "--exclude-from= --filters",
	  "reads the repository (read-only subcommands only)",
	  { "git status", "git log -p", "git diff --stat HEAD~1",
	    "git -C src log --oneline" },
	  { "git -p log", "git diff --ext", "git push", "git -c x=y status",
	    "git diff --no-index /etc/passwd f",
	    "git blame --contents /etc/passwd f" } },
	{ "rm", Prompt, "dfirRv", "--force --interactive? --recursive "
	  "--dir --verbose --one-file-system --preserve-root? --help",
	  "--no-preserve-root", NULL, ArgRemove, -1, NULL, NULL,
	  "deletes files",
	  { "rm f", "rm -rf build" },
	  { "rm -rf /", "rm -rf .", "rm -rf ~", "rm -r ../other" } },
	{ "mkdir", Prompt, "pvm:", "--parents --verbose --mode= --help",
	  NULL, NULL, ArgPaths, -1, NULL, NULL, "creates directories",
	  { "mkdir -p a/b" }, { "mkdir /tmp/x" } },
	{ "touch", Prompt, "acmd:r:t:", "--no-create --date= --help",
	  NULL, NULL, ArgPaths, -1, NULL, NULL, "creates or touches files",
	  { "touch f" }, { "touch /etc/x" } },
	{ "cp", Prompt, "afinprRuvLPdHT", "--archive --force --interactive "
	  "--no-clobber --recursive --update? --verbose --help",
	  "--target-directory=", NULL, ArgPaths, -1, NULL, NULL,
	  "copies files", { "cp a b" }, { "cp /etc/passwd x" } },
	{ "mv", Prompt, "finuvT", "--force --interactive --no-clobber "
	  "--update? --verbose --help", "--target-directory=", NULL,
	  ArgPaths, -1, NULL, NULL, "moves files",
	  { "mv a b" }, { "mv a /tmp/b" } },
	{ "chmod", Prompt, "cfvR", "--changes --silent --quiet --verbose "
	  "--recursive --help", "--reference=", NULL, ArgFirstText, -1,
	  NULL, NULL, "changes file modes",
	  { "chmod +x build.sh", "chmod -R 644 docs" },
	  { "chmod 777 /etc/passwd", "chmod +s ../x" } },
	{ "chown", Prompt, "cfvhRHLP", "--changes --silent --quiet "
	  "--verbose --recursive --help", "--reference=", NULL,
	  ArgFirstText, -1, NULL, NULL, "changes file owners",
	  { "chown me f" }, { "chown root /etc/shadow" } },
	{ "chgrp", Prompt, "cfvhRHLP", "--changes --silent --quiet "
	  "--verbose --recursive --help", "--reference=", NULL,
	  ArgFirstText, -1, NULL, NULL, "changes file groups",
	  { "chgrp g f" }, { "chgrp g /etc/x" } },
	{ "dd", Prompt, "", "--help", NULL, NULL, ArgDd, -1, NULL, NULL,
	  "copies and converts raw data",
	  { "dd if=a of=b bs=1M" }, { "dd if=a of=/dev/sda", "dd if=/dev/sda of=x" } },
	{ "make", Prompt, NULL, NULL, NULL, NULL, ArgAny, -1, NULL, NULL,
	  "runs the project's build recipes (" RUNS ")",
	  { "make", "make -j2 test" }, { NULL } },
	{ "env", Prompt, NULL, NULL, NULL, NULL, ArgAny, -1, NULL, NULL, RUNS,
	  { "env" }, { NULL } },
	{ "xargs", Prompt, NULL, NULL, NULL, NULL, ArgAny, -1, NULL, NULL, RUNS,
	  { "xargs rm" }, { NULL } },
	{ "nice", Prompt, NULL, NULL, NULL, NULL, ArgAny, -1, NULL, NULL, RUNS,
	  { "nice make" }, { NULL } },
	{ "nohup", Prompt, NULL, NULL, NULL, NULL, ArgAny, -1, NULL, NULL, RUNS,
	  { "nohup x" }, { NULL } },
	{ "timeout", Prompt, NULL, NULL, NULL, NULL, ArgAny, -1, NULL, NULL, RUNS,
	  { "timeout 5 ls" }, { NULL } },
	{ "stdbuf", Prompt, NULL, NULL, NULL, NULL, ArgAny, -1, NULL, NULL, RUNS,
	  { "stdbuf -o0 ls" }, { NULL } },
	{ "setsid", Prompt, NULL, NULL, NULL, NULL, ArgAny, -1, NULL, NULL, RUNS,
	  { "setsid x" }, { NULL } },
	{ "script", Prompt, NULL, NULL, NULL, NULL, ArgAny, -1, NULL, NULL, RUNS,
	  { "script -c id" }, { NULL } },
	{ "sh", Prompt, NULL, NULL, NULL, NULL, ArgAny, -1, NULL, NULL, RUNS,
	  { "sh -c ls", "sh build.sh" }, { NULL } },
	{ "bash", Prompt, NULL, NULL, NULL, NULL, ArgAny, -1, NULL, NULL, RUNS,
	  { "bash -c ls" }, { NULL } },
	{ "zsh", Prompt, NULL, NULL, NULL, NULL, ArgAny, -1, NULL, NULL, RUNS,
	  { "zsh" }, { NULL } },
	{ "dash", Prompt, NULL, NULL, NULL, NULL, ArgAny, -1, NULL, NULL, RUNS,
	  { "dash" }, { NULL } },
	{ "busybox", Prompt, NULL, NULL, NULL, NULL, ArgAny, -1, NULL, NULL, RUNS,
	  { "busybox ls" }, { NULL } },
	{ "python*", Prompt, NULL, NULL, NULL, NULL, ArgAny, -1, NULL, NULL, RUNS,
	  { "python3 -c 1", "python x.py", "python3.11 t.py" }, { NULL } },
	{ "node", Prompt, NULL, NULL, NULL, NULL, ArgAny, -1, NULL, NULL, RUNS,
	  { "node x.js" }, { NULL } },
	{ "perl", Prompt, NULL, NULL, NULL, NULL, ArgAny, -1, NULL, NULL, RUNS,
	  { "perl -e 1" }, { NULL } },
	{ "ruby", Prompt, NULL, NULL, NULL, NULL, ArgAny, -1, NULL, NULL, RUNS,
	  { "ruby x.rb" }, { NULL } },
	{ "awk", Prompt, NULL, NULL, NULL, NULL, ArgAny, -1, NULL, NULL, RUNS,
	  { "awk '{print $1}' f" }, { NULL } },
	{ "gawk", Prompt, NULL, NULL, NULL, NULL, ArgAny, -1, NULL, NULL, RUNS,
	  { "gawk 1 f" }, { NULL } },
	{ "npm", Prompt, NULL, NULL, NULL, NULL, ArgAny, -1, NULL, NULL, RUNS,
	  { "npm test" }, { NULL } },
	{ "npx", Prompt, NULL, NULL, NULL, NULL, ArgAny, -1, NULL, NULL, RUNS,
	  { "npx x" }, { NULL } },
	{ "go", Prompt, NULL, NULL, NULL, NULL, ArgAny, -1, NULL, NULL, RUNS,
	  { "go test ./..." }, { NULL } },
	{ "cargo", Prompt, NULL, NULL, NULL, NULL, ArgAny, -1, NULL, NULL, RUNS,
	  { "cargo build" }, { NULL } },
	{ "cc", Prompt, NULL, NULL, NULL, NULL, ArgAny, -1, NULL, NULL,
	  "compiles code (and may write anywhere it is told)",
	  { "cc -o x x.c" }, { NULL } },
	{ "sudo", Deny, NULL, NULL, NULL, NULL, ArgAny, -1, NULL, NULL,
	  "raises privileges", { "sudo ls" }, { NULL } },
	{ "su", Deny, NULL, NULL, NULL, NULL, ArgAny, -1, NULL, NULL,
	  "raises privileges", { "su -" }, { NULL } },
	{ "doas", Deny, NULL, NULL, NULL, NULL, ArgAny, -1, NULL, NULL,
	  "raises privileges", { "doas ls" }, { NULL } },
	{ "pkexec", Deny, NULL, NULL, NULL, NULL, ArgAny, -1, NULL, NULL,
	  "raises privileges", { "pkexec ls" }, { NULL } },
	{ "mkfs*", Deny, NULL, NULL, NULL, NULL, ArgAny, -1, NULL, NULL,
	  "formats a file system", { "mkfs.ext4 /dev/sda1", "mkfs x" }, { NULL } },
	{ "curl", Deny, NULL, NULL, NULL, NULL, ArgAny, -1, NULL, NULL, NONET,
	  { "curl https://example.com" }, { NULL } },
	{ "wget", Deny, NULL, NULL, NULL, NULL, ArgAny, -1, NULL, NULL, NONET,
	  { "wget x" }, { NULL } },
	{ "nc", Deny, NULL, NULL, NULL, NULL, ArgAny, -1, NULL, NULL, NONET,
	  { "nc -l 4444" }, { NULL } },
	{ "ssh", Deny, NULL, NULL, NULL, NULL, ArgAny, -1, NULL, NULL, NONET,
	  { "ssh host" }, { NULL } },
	{ "scp", Deny, NULL, NULL, NULL, NULL, ArgAny, -1, NULL, NULL, NONET,
	  { "scp a host:b" }, { NULL } },
	{ "cd", Deny, NULL, NULL, NULL, NULL, ArgAny, -1, NULL, NULL, BUILTIN,
	  { "cd src" }, { NULL } },
	{ "export", Deny, NULL, NULL, NULL, NULL, ArgAny, -1, NULL, NULL, BUILTIN,
	  { "export A" }, { NULL } },
	{ "source", Deny, NULL, NULL, NULL, NULL, ArgAny, -1, NULL, NULL, BUILTIN,
	  { "source x" }, { NULL } },
	{ "eval", Deny, NULL, NULL, NULL, NULL, ArgAny, -1, NULL, NULL, BUILTIN,
	  { "eval x" }, { NULL } },
	{ "exec", Deny, NULL, NULL, NULL, NULL, ArgAny, -1, NULL, NULL, BUILTIN,
	  { "exec ls" }, { NULL } },
};

/* ---- runtime configuration (vtcode.toml: it can only tighten) ---- */

#define MAXCONFIGSIZE     65536 /* bytes in one vtcode.toml */
#define MAXCONFIGKEYS     512   /* key = value lines in one file */
#define MAXCONFIGKEY      127   /* bytes in a key or a table name */
#define MAXCONFIGARRAY    64    /* strings in one array */
#define MAXOVERRIDES      256   /* tightening entries from both files */

/* ---- tools ---- */

/* Paths beneath the root that no write tool may touch (and, once the
 * sandbox lands, no command): what would let a write become code that
 * runs outside the sandbox, or trust the model did not earn.  Compared
 * without regard to case, as a case-insensitive file system would. */
static const char *const protectedpaths[] = {
	".vt-workspace-trust",
	".vtcode",
	".git/hooks",
	".git/config",
};

/* Names no write tool may write at any depth, nor anything beneath
 * them: a .git (directory or "gitdir:" pointer file) written anywhere
 * makes a repository, with its own hooks and config, that the user's
 * next git run there would obey.  The repository a root .git pointer
 * file names is refused too.  Compared without regard to case. */
static const char *const protectednames[] = {
	".git",
};

#define MAXWRITESIZE      (8 << 20)   /* bytes write_file may write */
#define MAXEDITSIZE       (8 << 20)   /* bytes of a file edit_file edits */
#define MAXTOOLPATH       1024        /* bytes in a path a tool is given */

/* tool-policy.json, the approvals a user chose to keep */
#define MAXAPPROVALSIZE   (1 << 20)
#define MAXAPPROVALTOKENS 65536

/* ---- sandbox and runner ---- */

/* Landlock: what every command may read and execute.  /etc is listed
 * file by file: Landlock can only add, so /etc whole would give away
 * /etc/shadow's neighbours (ssh host keys, sudoers.d, credentials). */
static const char *const sbxreadexec[] = {
	"/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32",
	"/etc/alternatives", "/etc/ld.so.cache", "/etc/ld.so.conf",
	"/etc/ld.so.conf.d", "/etc/localtime", "/etc/passwd", "/etc/group",
	"/etc/nsswitch.conf", "/etc/hosts", "/etc/mime.types", "/etc/magic",
	"/etc/terminfo", "/etc/ssl/certs", "/etc/ca-certificates",
	"/etc/gitattributes", "/etc/inputrc", "/etc/locale.alias",
	"/etc/os-release", "/etc/debian_version",
	"/proc",        /* read only; another process is ptrace-guarded */
};

#if defined(__APPLE__) || defined(VTCODE_PORTCHECK)
/* macOS (Seatbelt, untested: README): what every command may read, map
 * and execute; /private/etc file by file, as /etc is on Linux */
static const char *const sbxreadmac[] = {
	"/usr", "/bin", "/sbin", "/System",
	"/opt/homebrew/bin", "/opt/homebrew/sbin", "/opt/homebrew/lib",
	"/opt/homebrew/libexec", "/opt/homebrew/opt",
	"/opt/homebrew/Cellar", "/opt/homebrew/share",
	"/opt/homebrew/include",
	"/Library/Developer/CommandLineTools",
	"/Applications/Xcode.app/Contents/Developer",
	"/private/var/db/dyld", "/private/var/db/timezone",
	"/private/var/db/xcode_select_link",
	"/private/etc/hosts", "/private/etc/passwd", "/private/etc/group",
	"/private/etc/localtime", "/private/etc/ssl",
	"/private/etc/services", "/private/etc/protocols",
};
/* the sysctls a command may read there: hardware and the kernel's
 * version, never kern.proc* or kern.procargs2 (other processes) */
static const char *const sbxsysctlmac[] = {
	"hw.activecpu", "hw.byteorder", "hw.cachelinesize", "hw.cpufamily",
	"hw.cputype", "hw.logicalcpu", "hw.logicalcpu_max", "hw.machine",
	"hw.memsize", "hw.model", "hw.ncpu", "hw.pagesize",
	"hw.physicalcpu", "hw.physicalcpu_max", "hw.optional.arm64",
	"hw.optional.neon", "hw.optional.avx2_0", "hw.optional.sse4_2",
	"kern.argmax", "kern.hostname", "kern.maxfilesperproc",
	"kern.maxproc", "kern.osproductversion", "kern.osrelease",
	"kern.ostype", "kern.osversion", "kern.version", "kern.usrstack64",
	"machdep.cpu.brand_string", "sysctl.proc_cputype", "vm.loadavg",
};
#endif
#if defined(__OpenBSD__) || defined(VTCODE_PORTCHECK)
/* OpenBSD (unveil, untested: README): what every command may read and
 * execute */
static const char *const sbxreadbsd[] = {
	"/usr", "/bin", "/sbin", "/var/run/ld.so.hints",
	"/etc/pwd.db", "/etc/group", "/etc/localtime", "/etc/hosts",
	"/etc/ssl/cert.pem", "/etc/services", "/etc/protocols",
	"/etc/man.conf",
};
#endif

/* devices every command may read and write (OpenBSD: unveiled "rw") */
static const char *const sbxdevices[] = {
	"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom",
};

/* The agent restricts itself too (SELFSANDBOX 1) once it has read what
 * it needs: Landlock and seccomp (vtcode.1, THE AGENT'S OWN SANDBOX).  It
 * reads and executes sbxreadexec, reads these as well (name resolution),
 * and writes only the workspace, its state and config dirs, and in a
 * trusted workspace (run_command) the commands' temp dir. */
#define SELFSANDBOX       1
static const char *const selfread[] = {
	"/etc/resolv.conf", "/etc/gai.conf", "/etc/host.conf",
	"/etc/services", "/etc/protocols",
};

/* the floor: below it run_command and vtcode sandbox refuse to run */
#define SBXLANDLOCKMIN    1     /* Landlock ABI at least this (0: optional) */
#define SBXSECCOMP        1     /* seccomp filter mandatory */
/* the read-only view outside the workspace (mount_setattr) mandatory;
 * 0 only for the valgrind build, as valgrind does not know the call */
#define SBXRDONLY         1

/* the fixed environment of every command; HOME and TMPDIR are set to
 * the private per-session temp dir, LANG and LC_ALL passed through */
static const char *const runenv[] = {
	"PATH=" SYSPATH, "TERM=dumb", "PAGER=cat", "GIT_PAGER=cat",
	"MANPAGER=cat", "GIT_TERMINAL_PROMPT=0", "GIT_CONFIG_NOSYSTEM=1",
	"GIT_EDITOR=true", "LESSSECURE=1",
	/* git reads its config from the repository, which the workspace
	 * supplies: no bare repository found by walking into a directory
	 * (one made of plain files would bring its own config), and no
	 * fsmonitor, a program that config names for git status to run */
	"GIT_CONFIG_COUNT=2",
	"GIT_CONFIG_KEY_0=safe.bareRepository", "GIT_CONFIG_VALUE_0=explicit",
	"GIT_CONFIG_KEY_1=core.fsmonitor", "GIT_CONFIG_VALUE_1=false",
};

/* Where the private per-session temp dir (vtcode-UID/XXXXXX, the
 * commands' HOME and TMPDIR) is made: the first of these that is a directory
 * owned by root or the user, sticky if others may write, on a writable
 * file system; of those, the first that allows exec and has
 * RUNTMPMINFREE bytes free if there is one.  /tmp first: HOME holds
 * the build caches commands make, which in /dev/shm would take memory
 * (a /tmp on tmpfs does too, where the system chose that). */
static const char *const runtmpbases[] = { "/tmp", "/dev/shm" };
#define RUNTMPMINFREE     (1ULL << 30)

/* Commands get a /dev/shm of their own (POSIX semaphores and shared
 * memory: Python's multiprocessing, for one): a tmpfs of at most
 * RUNSHMSIZE bytes and RUNSHMINODES files, mounted over it in the
 * private mount namespace, shared by the session's commands and gone
 * with it; nosuid, nodev, noexec.  Not where the temp dir or another
 * writable island lies in /dev/shm, nor without the namespace: then
 * /dev/shm stays closed to commands.  RUNSHMSIZE 0: never. */
#define RUNSHMSIZE        (256ULL << 20)
#define RUNSHMINODES      16384       /* files in it: kernel memory each */

/* limits on every command */
#define RUNTIMEOUTMS      120000      /* default wall clock */
#define RUNMAXTIMEOUTMS   600000      /* the most a tool call may ask */
#define RUNGRACEMS        2000        /* SIGTERM to SIGKILL */
#define RUNWATCHMS        2           /* how often, while a command runs,
					 * vtcode looks for a .git or .vtcode
					 * it made at the root (sbxwatch) */
#define RUNMAXOUTPUT      (256 << 10) /* bytes kept: head and tail */
#define RLIMCPU           600         /* seconds of CPU */
#define RLIMAS            (8ULL << 30) /* bytes of address space */
#define RLIMFSIZE         (1ULL << 30) /* bytes in one file written */
#define RLIMNOFILE        1024
#define RLIMNPROC         4096        /* processes of the user: fork bombs */

/* ---- net, tls, http, sse ---- */

/* Waits, in milliseconds.  A local model can think for minutes before
 * its first token, so the silence allowed while reading is long; the
 * whole request has a ceiling too, so a stream that never ends, ends.
 * The user's vtcode.toml may lower the request limit (timeout_ms). */
#define NETCONNECTMS      10000
#define NETREADMS         300000
#define NETREQUESTMS      1800000

/* Until the connection is ready (TCP connect, a proxy's answer to
 * CONNECT, the TLS handshake): silence of at most NETCONNECTMS at a
 * time, and NETSETUPMS in all. */
#define NETSETUPMS        30000

#define MAXURLCAP         2048        /* bytes in a URL, with its NUL */
#define MAXKEYLEN         1024        /* bytes in an API key */

/* Response heads: bytes, lines, bytes in one line.  A server sending
 * headers forever is cut off here, not when memory runs out. */
#define MAXHTTPHEADERS    (64 << 10)
#define MAXHTTPHEADERN    128
#define MAXHTTPLINE       8192

/* Bytes in one response body (a whole streamed answer), and in an error
 * body kept to explain a failure. */
#define MAXHTTPBODY       (256 << 20)
#define MAXERRBODY        (64 << 10)
#define MAXMODELS         (4 << 20)   /* bytes of a server's model list */
#define HTTPREADBUF       (256 << 10) /* bytes asked of one read(2) */

/* Server-sent events: bytes in one line, and in one event's data. */
#define MAXSSELINE        (4 << 20)
#define MAXSSEDATA        (8 << 20)

/* Bytes of the last streamed chunk kept, so that the next one like it
 * (the same bytes around a different piece of text) is taken without a
 * parse; a longer chunk is always parsed.  0 parses every chunk. */
#define STREAMTPL         1024

/* Plain http (no TLS) is allowed to loopback addresses only; 1 allows it
 * to any host, which sends prompts and keys in the clear. */
#define PLAINHTTPANY      0

/* CA bundles tried in order when VTCODE_CA_FILE is not set. */
static const char *const cafiles[] = {
	"/etc/ssl/certs/ca-certificates.crt",
	"/etc/pki/tls/certs/ca-bundle.crt",
	"/etc/ssl/cert.pem",
};
#define MAXCAFILE         (8 << 20)   /* bytes in the CA bundle */
#define MAXANCHORS        4096        /* certificates taken from it */

/* ---- llm ---- */

/* Providers.  An API key is read from keyenv and sent only to that
 * provider's base URL (from this table, the user's vtcode.toml
 * [base_urls], VTCODE_BASE_URL or --base-url; never a workspace file).
 * A model of "" means the first one the server lists (GET /models). */
static const Provider providers[] = {
	/* name          kind           base URL                          model                        key variable          context */
	{ "lmstudio",    KindOpenAI,    "http://127.0.0.1:1234/v1",       "",                          "LMSTUDIO_API_KEY",   32768 },
	{ "ollama",      KindOpenAI,    "http://127.0.0.1:11434/v1",      "",                          NULL,                 32768 },
	{ "llamacpp",    KindOpenAI,    "http://127.0.0.1:8080/v1",       "",                          NULL,                 32768 },
	{ "openai",      KindOpenAI,    "https://api.openai.com/v1",      "gpt-4.1",                   "OPENAI_API_KEY",     1047576 },
	{ "openrouter",  KindOpenAI,    "https://openrouter.ai/api/v1",   "openai/gpt-4.1",            "OPENROUTER_API_KEY", 1047576 },
	{ "anthropic",   KindAnthropic, "https://api.anthropic.com/v1",   "claude-sonnet-4-20250514",  "ANTHROPIC_API_KEY",  200000 },
};

/* Failover: when a provider's retries are spent, the turn goes to the
 * next provider after it in this list (a provider not in the list never
 * fails over).  Local servers only: failing over to a cloud provider
 * would send the workspace off the machine without being asked. */
static const char *const failover[] = { "lmstudio", "ollama", "llamacpp" };

/* Retries of one provider: connection errors, 408, 409, 429, 5xx and
 * overloaded streams, only while nothing of the answer was shown.  The
 * server's retry-after(-ms) is honoured up to RETRYCAPMS; otherwise
 * RETRYBASEMS doubled each time, plus up to RETRYBASEMS of jitter. */
#define RETRYMAX          3
#define RETRYBASEMS       500
#define RETRYCAPMS        30000

#define MAXOUTTOKENS      8192        /* Anthropic's max_tokens */
#define MAXANSWER         (8 << 20)   /* bytes of text in one model turn */
#define MAXTOOLCALLS      64          /* tool calls in one model turn */
#define MAXREQUEST        (32 << 20)  /* bytes in one request body */
#define MAXPROMPT         (1 << 20)   /* bytes in a prompt */

/* ---- agent ---- */

#define MAXTURNS          50          /* model turns for one task */
#define MAXREPEAT         3           /* runs of one identical tool call;
					 * asked once more, the task stops */
#define MAXTOOLOUTPUT     (64 << 10)  /* bytes of one tool result */
/* a conversation the model's context cannot hold has the text of its
 * oldest tool results longer than this dropped, half of it at a time */
#define CONTEXTKEEP       512
#define MAXREADSIZE       (4 << 20)   /* bytes of a file read_file reads */
#define READLINES         2000        /* read_file's default limit */
#define MAXLISTENTRIES    2000        /* names list_files returns */
#define MAXLISTDEPTH      16          /* levels a recursive listing goes */

static const char systemprompt[] =
	"You are vtcode, a coding agent working in the user's workspace "
	"through tools. Paths are relative to the workspace root. Read before "
	"you change anything; prefer small, exact edits. Commands run in a "
	"sandbox without network, through a policy that may refuse them or "
	"ask the user: when a tool is refused, say so and do not try to get "
	"around it. Answer concisely.";

/* ---- events ---- */

/* bytes in one event line: an answer of MAXANSWER bytes escaped for
 * JSON must fit; an event that does not stops vtcode (it cannot act off
 * the record) */
#define MAXEVENT          (64 << 20)
/* a line audit verify will read: any event, and what the log adds */
#define MAXAUDITLINE      (MAXEVENT + (4 << 10))
#define MAXAUDITFILE      (1 << 30)   /* a log audit verify will read */

/* ---- sessions ---- */

#define MAXSESSION        (64 << 20)  /* bytes in a session file */
#define MAXSESSIONMSGS    100000      /* messages in one session */
