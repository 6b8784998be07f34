#!/bin/sh
# See LICENSE file for copyright and license details.
#
# tests.sh: vtcode's whole test suite, what `make test` and CI run.
# Every check prints "ok   NAME" or "FAIL NAME"; the last line is exactly
# "N passed, N failed" (the line before it counts the checks that could
# not run here, if any) and the exit status is non-zero if anything
# failed.
#
# Environment (make test sets these from config.mk): CC INCS LIBS TSLIB.
# FUZZTIME=seconds shortens the fuzz run for a quick local pass.
set -u
cd "$(dirname "$0")" || exit 1
top=$(pwd)
: "${MAKE:=make}"
: "${FUZZTIME:=60}"
# real captures from outside the project (JSONTestSuite, model streams)
testdata=${TESTDATA:-$top/../shared/testdata}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vtcode-tests.XXXXXX")
chmod 755 "$tmp"
# servers a test started and did not get to stop (pid files) go too
cleanup() {
	for p in "$tmp"/llm/*.pid "$tmp"/tls/*.pid; do
		[ -s "$p" ] && kill "$(cat "$p")" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# nothing of the developer's own configuration may change an outcome
mkdir -p "$tmp/xdg" "$tmp/home"
export XDG_CONFIG_HOME="$tmp/xdg" HOME="$tmp/home"
unset XDG_STATE_HOME    # sessions and audit logs under $HOME, unless a test says
pass=0 fail=0 skip=0

ok() { pass=$((pass + 1)); echo "ok   $*"; }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }
skipped() { skip=$((skip + 1)); echo "skip $*"; }
# the private temp dirs of vtcode's that exist (config.h's runtmpbases)
tmpdirs() { ls -d /dev/shm/vtcode-[0-9]*/* /tmp/vtcode-[0-9]*/* 2>/dev/null | sort; }
# newdirs FILE: those that are not listed in FILE (made since)
newdirs() { tmpdirs | comm -13 "$1" -; }
# t NAME CMD...: CMD's exit status decides; its output is shown on failure
t() {
	name=$1
	shift
	if "$@" >"$tmp/out" 2>&1; then
		ok "$name"
	else
		bad "$name"
		sed 's/^/    /' "$tmp/out" | head -20
	fi
}
# exits CODE CMD...: CMD exits with CODE
exits() {
	want=$1
	shift
	"$@"
	got=$?
	[ "$got" -eq "$want" ] || { echo "exit $got, want $want"; return 1; }
}
contains() { grep -q -e "$2" "$1" || { echo "no '$2' in:"; cat "$1"; return 1; }; }
lacks() { ! grep -q -e "$2" "$1" || { echo "'$2' found in:"; cat "$1"; return 1; }; }

echo "== build"
t "vtcode builds with -Werror" $MAKE -s werror
t "vtcode builds" $MAKE -s vtcode
t "unit tests build (ASan+UBSan)" $MAKE -s tests/unit
# the analyzer takes minutes: it runs beside everything else
( $MAKE -s lint >"$tmp/lint.out" 2>&1; echo $? >"$tmp/lint.rc" ) &
lintpid=$!
t "json driver builds (ASan+UBSan)" $MAKE -s tests/fuzz/json
t "json libFuzzer target builds (clang)" $MAKE -s tests/fuzz/json-fuzzer
vt=$top/vtcode

echo "== unit tests"
if [ -x tests/unit ]; then
	tests/unit >"$tmp/unit" 2>&1
	urc=$?
	grep -v '^unit: ' "$tmp/unit"
	np=$(sed -n 's/^unit: \([0-9]*\) passed, \([0-9]*\) failed$/\1/p' "$tmp/unit")
	nf=$(sed -n 's/^unit: \([0-9]*\) passed, \([0-9]*\) failed$/\2/p' "$tmp/unit")
	if [ -z "$np" ] || { [ "$urc" -ne 0 ] && [ "$nf" -eq 0 ]; }; then
		bad "unit tests ran to the end (exit $urc)"
		tail -20 "$tmp/unit" | sed 's/^/    /'
	else
		pass=$((pass + np))
		fail=$((fail + nf))
		echo "ok   unit: $np passed, $nf failed"
	fi
fi

echo "== JSONTestSuite (ASan+UBSan)"
suite=$testdata/json/test_parsing
if [ -d "$suite" ] && [ -x tests/fuzz/json ]; then
	y=0 yok=0 n=0 nok=0 i=0 crash=0
	for f in "$suite"/*.json; do
		tests/fuzz/json "$f" >/dev/null 2>"$tmp/err"
		rc=$?
		base=${f##*/}
		if [ $rc -gt 1 ]; then
			crash=$((crash + 1))
			echo "    crash ($rc): $base"
			head -5 "$tmp/err" | sed 's/^/      /'
		fi
		case $base in
		y_*) y=$((y + 1)); [ $rc -eq 0 ] && yok=$((yok + 1)) ||
			echo "    rejected: $base: $(cat "$tmp/err")" ;;
		n_*) n=$((n + 1)); [ $rc -eq 1 ] && nok=$((nok + 1)) ||
			echo "    accepted: $base" ;;
		*) i=$((i + 1)) ;;
		esac
	done
	t "JSONTestSuite: $yok/$y y_ accepted" [ "$y" -gt 0 ] && [ "$yok" -eq "$y" ]
	t "JSONTestSuite: $nok/$n n_ rejected" [ "$n" -gt 0 ] && [ "$nok" -eq "$n" ]
	t "JSONTestSuite: $crash crashes in $((y + n + i)) files" [ "$crash" -eq 0 ]
else
	bad "JSONTestSuite: $suite or tests/fuzz/json missing"
fi

# fuzzing: each libFuzzer target for FUZZTIME seconds, seeded, two at a
# time (one per core); fuzzstart NAME SEEDDIR starts one in the
# background, fuzzend NAME waits for it and reports
fuzzstart() {
	if ! [ -x "tests/fuzz/$1-fuzzer" ] || ! [ -d "$2" ]; then
		echo 127 >"$tmp/fuzzrc-$1"
		echo "not built, or no seeds in $2" >"$tmp/fuzz-$1"
		return
	fi
	mkdir -p "$tmp/corpus-$1"
	dict=
	[ -f "tests/fuzz/$1.dict" ] && dict=-dict="tests/fuzz/$1.dict"
	# shellcheck disable=SC2086
	( "tests/fuzz/$1-fuzzer" -max_total_time="$FUZZTIME" -max_len=8192 \
	    -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 $dict \
	    -artifact_prefix="$tmp/$1-" "$tmp/corpus-$1" "$2" >"$tmp/fuzz-$1" 2>&1
	  echo $? >"$tmp/fuzzrc-$1" ) &
	echo $! >"$tmp/fuzzpid-$1"
}
fuzzend() {
	[ -s "$tmp/fuzzpid-$1" ] && wait "$(cat "$tmp/fuzzpid-$1")"
	echo "== fuzzing $1 (${FUZZTIME}s, libFuzzer, ASan+UBSan, leak checks)"
	frc=$(cat "$tmp/fuzzrc-$1" 2>/dev/null || echo 1)
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$tmp/fuzz-$1")
	if [ "$frc" -eq 0 ] && [ -n "$runs" ] && [ "$runs" -gt 0 ]; then
		ok "$1 fuzzer: $runs inputs, no crash, no leak"
	else
		bad "$1 fuzzer (exit $frc)"
		grep -E 'ERROR|SUMMARY|leak|==[0-9]+==|check failed|not built' "$tmp/fuzz-$1" | head -20 | sed 's/^/    /'
	fi
}
t "lexer fuzz driver builds (ASan+UBSan)" $MAKE -s tests/fuzz/lexer
t "lexer libFuzzer target builds" $MAKE -s tests/fuzz/lexer-fuzzer
t "toml fuzz driver builds (ASan+UBSan)" $MAKE -s tests/fuzz/toml
t "toml libFuzzer target builds" $MAKE -s tests/fuzz/toml-fuzzer
t "toml driver: seeds parse or are refused with file:line, never crash" sh -c '
	for f in tests/fuzz/toml.seeds/*; do tests/fuzz/toml "$f" 2>"$1/e"; rc=$?
		[ $rc -le 1 ] || exit 1; [ $rc -eq 0 ] || grep -q "^toml: $f:[0-9]*: " "$1/e" || exit 1; done' - "$tmp"
for p in http sse session; do
	t "$p fuzz driver builds (ASan+UBSan)" $MAKE -s tests/fuzz/$p
	t "$p libFuzzer target builds" $MAKE -s tests/fuzz/$p-fuzzer
	t "$p driver: every seed is taken or refused, never a crash" sh -c '
		for f in tests/fuzz/$1.seeds/*; do tests/fuzz/$1 "$f" >/dev/null 2>&1; [ $? -le 1 ] || { echo "$f"; exit 1; }; done' - "$p"
done
set -- json "$suite" lexer tests/fuzz/lexer.seeds toml tests/fuzz/toml.seeds \
    http tests/fuzz/http.seeds sse tests/fuzz/sse.seeds session tests/fuzz/session.seeds
while [ $# -ge 4 ]; do
	fuzzstart "$1" "$2"
	fuzzstart "$3" "$4"
	fuzzend "$1"
	fuzzend "$3"
	shift 4
done
set --

echo "== command line"
t "-h prints usage on stdout, exit 0" sh -c '"$1" -h >"$2/o" 2>"$2/e" && grep -q "^usage: vtcode" "$2/o" && ! [ -s "$2/e" ]' - "$vt" "$tmp"
t "--help is -h" sh -c '"$1" --help | cmp -s - "$2/o"' - "$vt" "$tmp"
# the usage text is the man page's SYNOPSIS, line for line
sed -n '/^\.SH SYNOPSIS/,/^\.SH /p' vtcode.1 | sed -n '/^\.nf/,/^\.fi/p' |
    sed -e '/^\.nf/d' -e '/^\.fi/d' -e 's/\\f[BIR]//g' -e 's/\\-/-/g' \
    -e 's/\\&//g' >"$tmp/synopsis"
"$vt" -h | sed -e 's/^usage: //' -e 's/^       //' >"$tmp/usage"
t "usage text matches vtcode.1 SYNOPSIS" cmp "$tmp/synopsis" "$tmp/usage"
t "--version names version, libseccomp and all six grammars" sh -c '
	"$1" --version >"$2/v" &&
	grep -q "^vtcode $3\$" "$2/v" && grep -q "^libseccomp [0-9]" "$2/v" &&
	for g in bash c go javascript python rust; do
		grep -q " $g (ABI 14)" "$2/v" || exit 1; done' - "$vt" "$tmp" "${VERSION:-0.1.0}"
t "VERSION in config.mk is the one --version prints" sh -c '
	v=$(sed -n "s/^VERSION = //p" config.mk); "$1" --version | grep -q "^vtcode $v\$"' - "$vt"
t "unknown option: usage on stderr, exit 2" sh -c '
	"$1" --bogus >"$2/o" 2>"$2/e"; [ $? -eq 2 ] && ! [ -s "$2/o" ] &&
	grep -q "unknown option: --bogus" "$2/e" && grep -q "^usage: vtcode" "$2/e"' - "$vt" "$tmp"
t "unknown short option: exit 2" exits 2 "$vt" -x
t "unknown command: usage on stderr, exit 2" sh -c '
	"$1" frobnicate 2>"$2/e"; [ $? -eq 2 ] && grep -q "frobnicate: unknown command" "$2/e"' - "$vt" "$tmp"
t "option without its value: exit 2" sh -c '
	"$1" -m 2>"$2/e"; [ $? -eq 2 ] && grep -q "option -m needs a value" "$2/e"' - "$vt" "$tmp"
t "option with an empty value: exit 2" exits 2 "$vt" --base-url=
long=$(head -c 5000 /dev/zero | tr '\0' a)
t "option value over MAXARGLEN: exit 2" exits 2 "$vt" -P "$long"
t "-C to a missing directory: exit 1 with the reason" sh -c '
	"$1" -C /nonexistent/x exec p 2>"$2/e"; [ $? -eq 1 ] &&
	grep -q "^vtcode: -C /nonexistent/x: No such file or directory" "$2/e"' - "$vt" "$tmp"
t "no command: the interactive session; end of input ends it, exit 0" sh -c '
	cd "$2" && "$1" </dev/null 2>"$2/e"; [ $? -eq 0 ] &&
	grep -q "^vtcode $3: lmstudio, model (the server.s first), workspace " "$2/e"' - "$vt" "$tmp" "${VERSION:-0.1.0}"
t "an error message cannot carry an escape sequence to the terminal" sh -c '
	"$1" -C "$(printf "x\033]2;pwned\007\033[2J")" exec p 2>"$2/e"; [ $? -eq 1 ] &&
	grep -q "^vtcode: -C x?\]2;pwned??\[2J: No such file or directory$" "$2/e" && ! grep -q "$(printf "\033")" "$2/e"' - "$vt" "$tmp"
t "a proxy URL that cannot be used: said without its password, on stderr and in the events, not retried" sh -c '
	cd "$2" && https_proxy="socks5://alice:s3cretPW@proxy.example:1080" OPENAI_API_KEY=x "$1" -P openai exec \
	    --events "$2/pev" hi 2>"$2/pe"; [ $? -eq 1 ] && grep -q "the proxy URL in the environment is not a usable" "$2/pe" &&
	[ $(wc -l <"$2/pe") -eq 1 ] && ! grep -q s3cretPW "$2/pe" "$2/pev"' - "$vt" "$tmp"
t "exec: no prompt is a usage error" exits 2 "$vt" exec
t "exec: an empty prompt from stdin is a usage error" sh -c 'printf "" | "$1" exec -; [ $? -eq 2 ]' - "$vt"
t "-P with an unknown provider: exit 1 with the reason" sh -c '
	cd "$2" && "$1" -P nosuch exec hi 2>"$2/e"; [ $? -eq 1 ] && grep -q "^vtcode: nosuch: no such provider" "$2/e"' - "$vt" "$tmp"
t "--base-url that is not a URL: exit 1 with the reason" sh -c '
	cd "$2" && "$1" --base-url ftp://x/v1 exec hi 2>"$2/e"; [ $? -eq 1 ] && grep -q "only http:// and https:// URLs" "$2/e"' - "$vt" "$tmp"
t "plain http to a host that is not loopback is refused before connecting" sh -c '
	cd "$2" && "$1" --base-url http://192.0.2.1:1234/v1 -m x exec hi 2>"$2/e"; [ $? -eq 1 ] &&
	grep -q "plain http only to this machine (loopback): use https" "$2/e"' - "$vt" "$tmp"
for c in outline find; do
	t "$c: not available in this build, exit 2, listed in README" sh -c '
	"$1" -m m -P p --base-url http://127.0.0.1:1/v1 -C / "$3" x 2>"$2/e"
	[ $? -eq 2 ] && grep -q "^vtcode: $3: not available in this build$" "$2/e" &&
	grep -q "^| \`vtcode $3" README && grep -q "^\\\\fB$3\\\\fR" vtcode.1' - "$vt" "$tmp" "$c"
done
t "every subcommand in the usage is documented in vtcode.1" sh -c '
	"$1" -h | sed -n "s/^.*vtcode \([a-z][a-z]*\).*/\1/p" | sort -u >"$2/cmds"
	[ -s "$2/cmds" ] && while read -r c; do grep -q "^\\\\fB$c\\\\fR" vtcode.1 || { echo "$c"; exit 1; }; done <"$2/cmds"' - "$vt" "$tmp"

echo "== policy: vtcode policy check, in a scratch workspace"
ws=$tmp/ws
mkdir -p "$ws/src" "$ws/docs"
echo 'int main(void) { return 0; }' >"$ws/src/a.c"
ln -s /etc "$ws/link"
ln -s .. "$ws/out"
(cd "$ws" && "$vt" trust >/dev/null)
# policycases FILE: each line's command must get its decision (exit 0
# allow, 1 prompt, 2 deny) and a reason containing the given text
policycases() {
	tab=$(printf '\t')
	while IFS=$tab read -r want cmd why; do
		case $want in ''|'#'*) continue ;; esac
		cmd=$(printf '%b' "$cmd")
		(cd "$ws" && "$vt" policy check "$cmd") >"$tmp/pc" 2>&1
		rc=$?
		case $want in allow) w=0 ;; prompt) w=1 ;; *) w=2 ;; esac
		label=$(printf '%s' "$cmd" | head -c 60 | tr -c '[:print:]' '?')
		if [ $rc -eq $w ] && { [ -z "$why" ] || grep -qF -- "$why" "$tmp/pc"; }; then
			ok "$1: $want: $label"
		else
			bad "$1: $want: $label (exit $rc)"
			sed 's/^/    /' "$tmp/pc"
		fi
	done <"tests/policy/$1"
}
policycases cases
policycases lexer
t "policy check -- ARGV decides an argv without lexing" sh -c '
	cd "$2" && "$1" policy check -- find . -exec rm {} ";" >"$3/o"; [ $? -eq 2 ] &&
	grep -q "^deny: find: -exec is forbidden" "$3/o" &&
	"$1" policy check -- echo "\$HOME" "a b" >"$3/o"; [ $? -eq 0 ] &&
	grep -q "argv: .*echo .\$HOME. .a b." "$3/o"' - "$vt" "$ws" "$tmp"
t "policy check prints the argv that would run, resolved through SYSPATH" sh -c '
	cd "$2" && "$1" policy check "ls -l src | wc -l" >"$3/o" &&
	grep -q "^  argv: /usr/bin/ls -l src\$" "$3/o" && grep -q "^  argv: /usr/bin/wc -l\$" "$3/o"' - "$vt" "$ws" "$tmp"
t "policy check -- ARGV passes the same trust gate (untrusted: deny; control above: trusted)" sh -c '
	mkdir -p "$2/untrusted" && cd "$2/untrusted" && "$1" policy check -- ls >"$2/o"; [ $? -eq 2 ] &&
	grep -q "^deny: run_command: the workspace is not trusted" "$2/o"' - "$vt" "$tmp"
t "policy check without a command: usage error, exit 2" sh -c '
	"$1" policy check 2>"$2/e"; [ $? -eq 2 ] && grep -q "usage" "$2/e"' - "$vt" "$tmp"
t "policy show lists every tool and command row with its origin" sh -c '
	"$1" policy show >"$2/o" &&
	for r in list_files read_file write_file edit_file run_command ls git find sed sort sudo; do
		grep -q "^$r  *[a-z]*  *config.h " "$2/o" || { echo "$r"; exit 1; }; done' - "$vt" "$tmp"

echo "== workspace trust"
tw=$tmp/trust
mkdir -p "$tw/ws/src" "$tw/cfg" "$tw/home"
# trustenv CMD...: run with the scratch config directory and home
trustenv() { env XDG_CONFIG_HOME="$tw/cfg" HOME="$tw/home" "$@"; }
trustis() { (cd "$1" && trustenv "$vt" policy show) | head -1 >"$tmp/tr"; grep -q "$2" "$tmp/tr" || { cat "$tmp/tr"; return 1; }; }
t "a new workspace is not trusted" trustis "$tw/ws" "(not trusted: no .vt-workspace-trust)"
t "vtcode trust: trusts the root, exit 0" sh -c 'cd "$1/ws" && env XDG_CONFIG_HOME="$1/cfg" HOME="$1/home" "$2" trust | grep -qx "trusted: $1/ws"' - "$tw" "$vt"
t "trust file: 0600, records root, user, uid, time and a seal" sh -c '
	f=$1/ws/.vt-workspace-trust; [ "$(stat -c %a "$f")" = 600 ] &&
	grep -q "\"root\":\"$1/ws\"" "$f" && grep -q "\"uid\":$(id -u)," "$f" &&
	grep -q "\"time\":\"20[0-9-]*T[0-9:]*Z\"" "$f" && grep -q "\"mac\":\"[0-9a-f]\{64\}\"" "$f"' - "$tw"
t "trust key: 0600 in a 0700 config directory" sh -c '
	[ "$(stat -c %a "$1/cfg/vtcode")" = 700 ] && [ "$(stat -c %a "$1/cfg/vtcode/trust.key")" = 600 ]' - "$tw"
t "a trusted workspace is trusted" trustis "$tw/ws" "(trusted: trusted since"
cp -a "$tw/ws" "$tw/copy"
t "a copied workspace is not trusted where it lands" trustis "$tw/copy" "made for $tw/ws (a copied or moved"
t "another user's config (another key) does not trust it" sh -c '
	cd "$1/ws" && env XDG_CONFIG_HOME="$1/other" HOME="$1/home" "$2" policy show | head -1 | grep -q "not trusted"' - "$tw" "$vt"
sed 's/"mac":"[0-9a-f]*"/"mac":"'"$(printf '%064d' 0)"'"/' "$tw/ws/.vt-workspace-trust" >"$tw/copy/.vt-workspace-trust"
sed -i "s|$tw/ws|$tw/copy|" "$tw/copy/.vt-workspace-trust"
t "a forged trust file (right root, wrong seal) is not trust" trustis "$tw/copy" "seal does not match"
rm -f "$tw/copy/.vt-workspace-trust"
ln -s "$tw/ws/.vt-workspace-trust" "$tw/copy/.vt-workspace-trust"
t "a trust file behind a symlink is not trust" trustis "$tw/copy" "not trusted"
chmod 644 "$tw/cfg/vtcode/trust.key"
t "a trust key readable by others is refused" trustis "$tw/ws" "not private to this user"
chmod 600 "$tw/cfg/vtcode/trust.key"
t "positive control: the same workspace is trusted again" trustis "$tw/ws" "(trusted: "
t "vtcode trust refuses /" sh -c 'env XDG_CONFIG_HOME="$1/cfg" "$2" -C / trust 2>"$1/e"; [ $? -eq 1 ] && grep -q "refusing to trust /" "$1/e"' - "$tw" "$vt"
t "vtcode trust refuses \$HOME itself" sh -c 'env XDG_CONFIG_HOME="$1/cfg" HOME="$1/home" "$2" -C "$1/home" trust 2>"$1/e"; [ $? -eq 1 ] && grep -q "not your home directory" "$1/e" && ! [ -e "$1/home/.vt-workspace-trust" ]' - "$tw" "$vt"
# with no HOME and no password entry (a uid /etc/passwd does not know,
# as root), the home cannot be told and could be this directory
if [ "$(id -u)" -eq 0 ] && ! getent passwd 54321 >/dev/null; then
	mkdir -p "$tw/nohome/h" && chown -R 54321:54321 "$tw/nohome" && chmod 755 "$tw"
	# nohome USER-ENV...: vtcode trust in $tw/nohome as uid 54321
	nohome() { (cd "$tw/nohome" && env -u HOME XDG_CONFIG_HOME="$tw/nohome/cfg" XDG_STATE_HOME="$tw/nohome/st" "$@" \
	    setpriv --reuid=54321 --regid=54321 --clear-groups "$vt" trust); }
	nohome >/dev/null 2>"$tw/e"
	t "vtcode trust refuses when it cannot tell the home directory (no HOME, no password entry)" sh -c '
		[ $1 -eq 1 ] && grep -q "cannot tell your home directory: set HOME" "$2/e" &&
		! [ -e "$2/nohome/.vt-workspace-trust" ]' - $? "$tw"
	nohome HOME="$tw/nohome/h" >/dev/null 2>"$tw/e"
	t "control: with HOME set elsewhere it trusts the same directory" sh -c '
		[ $1 -eq 0 ] && [ -f "$2/nohome/.vt-workspace-trust" ] || { cat "$2/e"; false; }' - $? "$tw"
else
	skipped "vtcode trust with no home to tell: needs root and a uid /etc/passwd does not know"
fi
t "vtcode trust --revoke removes it" sh -c 'cd "$1/ws" && env XDG_CONFIG_HOME="$1/cfg" "$2" trust --revoke >/dev/null && ! [ -e .vt-workspace-trust ]' - "$tw" "$vt"
t "revoked: not trusted" trustis "$tw/ws" "(not trusted: no .vt-workspace-trust)"
t "vtcode trust with an unknown option: exit 2" exits 2 "$vt" trust --bogus

echo "== runtime config: tighten only"
cw=$tmp/cfgt
mkdir -p "$cw/xdg/vtcode" "$cw/ws"
cfgrun() { (cd "$cw/ws" && XDG_CONFIG_HOME="$cw/xdg" "$vt" "$@"); }
cfgrun trust >/dev/null
cat >"$cw/xdg/vtcode/vtcode.toml" <<'EOF'
# a user config: some entries tighten, some would loosen
model = "qwen2.5-coder"
[tools]
write_file = "deny"
edit_file = "allow"
[commands]
ls = "prompt"
curl = "allow"
frobnicate = "deny"
[forbid]
git = ["--follow", "-S"]
[allow]
git = ["--ext-diff"]
EOF
cfgrun policy check 'ls' >"$tmp/c1" 2>"$tmp/c1e"; c1=$?
t "user config: ls tightened from allow to prompt (file and line named)" sh -c '[ $1 -eq 1 ] && grep -q "prompt by .*vtcode.toml:7" "$2"' - $c1 "$tmp/c1"
t "user config: a loosening entry is refused and reported with file:line" sh -c '
	grep -q "vtcode.toml:8: commands.curl = \"allow\" would loosen config.h (deny): refused" "$1" &&
	grep -q "vtcode.toml:5: tools.edit_file = \"allow\" would loosen config.h (prompt): refused" "$1" &&
	grep -q "vtcode.toml:13: allow.git would loosen" "$1"' - "$tmp/c1e"
t "user config: the refused entry changes nothing (curl stays deny)" sh -c 'cd "$1/ws" && XDG_CONFIG_HOME="$1/xdg" "$2" policy check "curl x" >/dev/null 2>&1; [ $? -eq 2 ]' - "$cw" "$vt"
t "user config: the rest of the file still applies (a new deny row)" sh -c 'cd "$1/ws" && XDG_CONFIG_HOME="$1/xdg" "$2" policy check frobnicate 2>/dev/null | grep -q "^deny: frobnicate: deny by"' - "$cw" "$vt"
t "user config: a forbidden option, also abbreviated or in a cluster" sh -c '
	cd "$1/ws" && for c in "git log --follow x" "git log --fol x" "git log -pS x"; do
		XDG_CONFIG_HOME="$1/xdg" "$2" policy check "$c" >/dev/null 2>&1; [ $? -eq 2 ] || { echo "$c"; exit 1; }; done
	XDG_CONFIG_HOME="$1/xdg" "$2" policy check "git log -p x" >/dev/null 2>&1' - "$cw" "$vt"
t "policy show: rows the config tightened say where from" sh -c '
	cd "$1/ws" && XDG_CONFIG_HOME="$1/xdg" "$2" policy show 2>/dev/null >"$1/show" &&
	grep -q "^write_file *deny *user " "$1/show" && grep -q "^ls *prompt *user " "$1/show" &&
	grep -q "^edit_file *prompt *config.h " "$1/show" && grep -q "^curl *deny *config.h " "$1/show" &&
	grep -q "^user config: .*vtcode.toml (read)" "$1/show"' - "$cw" "$vt"
mkdir -p "$cw/ws2"
printf '[commands]\ncat = "deny"\nsudo = "allow"\n' | tee "$cw/ws/vtcode.toml" >"$cw/ws2/vtcode.toml"
t "workspace config in an untrusted workspace is ignored (and so are all but read-only tools)" sh -c '
	cd "$1/ws2" && XDG_CONFIG_HOME="$1/xdg" "$2" policy check "cat f" 2>"$1/e" >"$1/o"; [ $? -eq 2 ] &&
	grep -q "^deny: run_command: the workspace is not trusted" "$1/o" && ! grep -q "ws2/vtcode.toml" "$1/e" &&
	XDG_CONFIG_HOME="$1/xdg" "$2" policy show 2>/dev/null | grep -q "^workspace config: .*(ignored: the workspace is not trusted)"' - "$cw" "$vt"
t "workspace config in a trusted workspace tightens" sh -c '
	cd "$1/ws" && XDG_CONFIG_HOME="$1/xdg" "$2" policy check "cat f" 2>"$1/e" | grep -q "^deny: cat: deny by $1/ws/vtcode.toml:2"' - "$cw" "$vt"
t "workspace config: loosening refused with file:line" grep -q "ws/vtcode.toml:3: commands.sudo = \"allow\" would loosen config.h (deny): refused" "$cw/e"
printf '[commands]\nls = "deny"\nbase_url = 5\n[tools\n' >"$cw/ws/vtcode.toml"
t "malformed config: file:line error, exit 1, nothing runs" sh -c '
	cd "$1/ws" && XDG_CONFIG_HOME="$1/xdg" "$2" policy check ls >"$1/o" 2>"$1/e"; [ $? -eq 1 ] && ! [ -s "$1/o" ] &&
	grep -q "^vtcode: $1/ws/vtcode.toml:4: expected .]." "$1/e"' - "$cw" "$vt"
printf '[commands]\nls = "dney"\n' >"$cw/ws/vtcode.toml"
t "a decision that is not allow/prompt/deny stops vtcode" sh -c '
	cd "$1/ws" && XDG_CONFIG_HOME="$1/xdg" "$2" policy check ls >/dev/null 2>"$1/e"; [ $? -eq 1 ] &&
	grep -q "vtcode.toml:2: commands.ls: expected \"allow\", \"prompt\" or \"deny\"" "$1/e"' - "$cw" "$vt"
rm -f "$cw/ws/vtcode.toml"
ln -s "$cw/xdg/vtcode/vtcode.toml" "$cw/ws/vtcode.toml"
t "a workspace config behind a symlink is refused" sh -c '
	cd "$1/ws" && XDG_CONFIG_HOME="$1/xdg" "$2" policy check ls >/dev/null 2>"$1/e"; [ $? -eq 1 ] && grep -q "symbolic link: refused" "$1/e"' - "$cw" "$vt"
rm -f "$cw/ws/vtcode.toml"
# run_command's own row in a config holds for every command, whatever
# the command's row says (control: ls is allowed by its row, above)
printf '[tools]\nrun_command = "deny"\n' >"$cw/ws/vtcode.toml"
t "workspace config: run_command = deny refuses every command, even one its row allows" sh -c '
	cd "$1/ws" && XDG_CONFIG_HOME="$1/xdg" "$2" policy check "pwd" >"$1/o" 2>/dev/null; [ $? -eq 2 ] &&
	grep -q "^deny: run_command: deny by $1/ws/vtcode.toml:2" "$1/o" &&
	XDG_CONFIG_HOME="$1/xdg" "$2" policy show 2>/dev/null | grep -q "^run_command *deny *workspace "' - "$cw" "$vt"
printf '[tools]\nrun_command = "prompt"\n' >"$cw/ws/vtcode.toml"
t "workspace config: run_command = prompt asks about a command its row allows" sh -c '
	cd "$1/ws" && XDG_CONFIG_HOME="$1/xdg" "$2" policy check "pwd" >"$1/o" 2>/dev/null; [ $? -eq 1 ] &&
	grep -q "^prompt: run_command: prompt by" "$1/o"' - "$cw" "$vt"
t "control: without that config, pwd is allowed" sh -c '
	rm -f "$1/ws/vtcode.toml" && cd "$1/ws" && XDG_CONFIG_HOME="$1/xdg" "$2" policy check "pwd" >/dev/null 2>&1' - "$cw" "$vt"
# a tightening that cannot be kept whole is refused, not cut short
printf '[forbid]\nls = ["-a", "-b", "-c", "-d", "-e", "-f", "-g", "-h", "-i", "-j", "-k", "-l", "-m", "-n", "-o", "-p", "-R"]\n' >"$cw/ws/vtcode.toml"
t "config: 17 forbidden options for one command stop vtcode (16 are kept)" sh -c '
	cd "$1/ws" && XDG_CONFIG_HOME="$1/xdg" "$2" policy check "ls -R" >/dev/null 2>"$1/e"; [ $? -eq 1 ] &&
	grep -q "vtcode.toml:2: ls: more than 16 forbidden options" "$1/e"' - "$cw" "$vt"
printf '[forbid]\nls = ["-a", "-b", "-c", "-d", "-e", "-f", "-g", "-h", "-i", "-j", "-k", "-l", "-m", "-n", "-o", "-R"]\n' >"$cw/ws/vtcode.toml"
t "control: 16 forbidden options all hold, the last one too" sh -c '
	cd "$1/ws" && XDG_CONFIG_HOME="$1/xdg" "$2" policy check "ls -R" >"$1/o" 2>/dev/null; [ $? -eq 2 ] &&
	grep -q "option -R is forbidden by" "$1/o"' - "$cw" "$vt"
rm -f "$cw/ws/vtcode.toml"
mkdir -p "$cw/long/vtcode"
printf 'model = "%s"\n' "$(head -c 1100 /dev/zero | tr '\0' m)" >"$cw/long/vtcode/vtcode.toml"
t "config: a model name longer than 1023 bytes stops vtcode (not cut short)" sh -c '
	cd "$1/ws" && XDG_CONFIG_HOME="$1/long" "$2" policy show >/dev/null 2>"$1/e"; [ $? -eq 1 ] &&
	grep -q "vtcode.toml:1: model: longer than 1023 bytes" "$1/e"' - "$cw" "$vt"
printf 'model = "%s"\n' "$(head -c 1000 /dev/zero | tr '\0' m)" >"$cw/long/vtcode/vtcode.toml"
t "control: a model name of 1000 bytes is taken" sh -c '
	cd "$1/ws" && XDG_CONFIG_HOME="$1/long" "$2" policy show >/dev/null 2>"$1/e"' - "$cw" "$vt"

echo "== approvals, through a real pty"
aw=$tmp/appr
mkdir -p "$aw/ws/src" "$aw/xdg"
(cd "$aw/ws" && XDG_CONFIG_HOME="$aw/xdg" "$vt" trust >/dev/null)
XDG_CONFIG_HOME="$aw/xdg" python3 tests/approve.py tests/unit "$aw/ws" >"$tmp/ap" 2>&1
arc=$?
cat "$tmp/ap"
pass=$((pass + $(grep -c '^ok ' "$tmp/ap")))
fail=$((fail + $(grep -c '^FAIL ' "$tmp/ap")))
[ $arc -eq 0 ] || grep -q '^FAIL ' "$tmp/ap" || bad "approval tests ran (exit $arc)"

echo "== write tools"
tw2=$tmp/wt
mkdir -p "$tw2/ws/src" "$tw2/ws/.git/hooks" "$tw2/outside"
printf 'one\ntwo\ntwo\nthree\n' >"$tw2/ws/src/a.txt"
chmod 755 "$tw2/ws/src/a.txt"
ln -s "$tw2/outside" "$tw2/ws/escape"
ln -s "$tw2/outside/target" "$tw2/ws/src/link.txt"
echo keep >"$tw2/outside/target"
# tool NAME JSON: run a write tool in the scratch workspace, umask 022
tool() { (cd "$tw2/ws" && umask 022 && "$top/tests/unit" tool "$@"); }
mkdir -p "$tw2/ws/empty"
t "list_files on an empty directory (ASan+UBSan: no qsort of NULL)" sh -c '
	cd "$1/ws" && "$2" tool list_files "{\"path\":\"empty\"}" >"$1/ls.out" && grep -qx "(empty)" "$1/ls.out"' - "$tw2" "$top/tests/unit"
t "control: list_files on a directory with files lists them" sh -c '
	cd "$1/ws" && "$2" tool list_files "{\"path\":\"src\"}" | grep -q "a.txt"' - "$tw2" "$top/tests/unit"
t "write_file creates a file (and its directories) with the user's umask" sh -c '
	cd "$1/ws" && umask 022 && "$2" tool write_file "{\"path\":\"new/dir/f.c\",\"content\":\"int x;\\n\"}" | grep -q "^created new/dir/f.c: 7 bytes, 1 lines" &&
	[ "$(cat new/dir/f.c)" = "int x;" ] && [ "$(stat -c %a new/dir/f.c)" = 644 ] &&
	[ "$(stat -c %a new)" = 755 ] && [ "$(stat -c %a new/dir)" = 755 ]' - "$tw2" "$top/tests/unit"
t "write_file: the directories it makes follow a umask of 027 too (not vtcode's own 077)" sh -c '
	cd "$1/ws" && umask 027 && "$2" tool write_file "{\"path\":\"new2/d/f\",\"content\":\"x\"}" >/dev/null &&
	[ "$(stat -c %a new2)" = 750 ] && [ "$(stat -c %a new2/d)" = 750 ] && [ "$(stat -c %a new2/d/f)" = 640 ]' - "$tw2" "$top/tests/unit"
t "write_file replaces a file and keeps its mode" sh -c '
	cd "$1/ws" && cp src/a.txt src/b.txt && chmod 750 src/b.txt &&
	"$2" tool write_file "{\"path\":\"src/b.txt\",\"content\":\"new\"}" | grep -q "^replaced src/b.txt" &&
	[ "$(cat src/b.txt)" = new ] && [ "$(stat -c %a src/b.txt)" = 750 ]' - "$tw2" "$top/tests/unit"
for p in '../x' 'src/../../x' '/etc/x' '' '.'; do
	t "write_file refuses the path '$p'" sh -c '! "$2" tool write_file "{\"path\":\"$3\",\"content\":\"x\"}" >/dev/null' - "$tw2" "$top/tests/unit"
done
t "write_file refuses a symlinked directory on the way (nothing lands outside)" sh -c '
	cd "$1/ws" && ! "$2" tool write_file "{\"path\":\"escape/f\",\"content\":\"x\"}" >"$1/o" &&
	grep -q "symbolic link" "$1/o" && ! [ -e "$1/outside/f" ]' - "$tw2" "$top/tests/unit"
t "write_file refuses a symlink as the target (its target untouched)" sh -c '
	cd "$1/ws" && ! "$2" tool write_file "{\"path\":\"src/link.txt\",\"content\":\"x\"}" >"$1/o" &&
	grep -q "symbolic link: refused" "$1/o" && [ "$(cat "$1/outside/target")" = keep ] && [ -L src/link.txt ]' - "$tw2" "$top/tests/unit"
# all of .git, and a .git at any depth: a repository written anywhere
# (a commondir, a pointer file, a nested one) has hooks and a config the
# user's next git there would run
for p in .git/hooks/pre-commit .git/config .vt-workspace-trust .vtcode/x .GIT/HOOKS/post-checkout ./.git//hooks/x \
    .git/commondir .git/hooks-old/x .git/configs .git sub/.git sub/.GiT/config a/b/.git/hooks/x; do
	t "protected path refused: $p" sh -c '
		cd "$1/ws" && ! "$2" tool write_file "{\"path\":\"$3\",\"content\":\"x\"}" >"$1/o" && grep -q "protected path" "$1/o"' - "$tw2" "$top/tests/unit" "$p"
done
for p in src/.vtcode-notes .gitignore .github/workflows/ci.yml src/.git-notes src/x.git/f; do
	t "positive control: the sibling $p is writable" sh -c '
		cd "$1/ws" && "$2" tool write_file "{\"path\":\"$3\",\"content\":\"x\"}" >/dev/null && [ -f "$3" ]' - "$tw2" "$top/tests/unit" "$p"
done
t "edit_file replaces a unique match and keeps the mode" sh -c '
	cd "$1/ws" && "$2" tool edit_file "{\"path\":\"src/a.txt\",\"old_string\":\"one\",\"new_string\":\"ONE\"}" | grep -q "^edited src/a.txt: 1 replacement" &&
	head -1 src/a.txt | grep -qx ONE && [ "$(stat -c %a src/a.txt)" = 755 ]' - "$tw2" "$top/tests/unit"
t "edit_file: more than one match without replace_all is refused with the count" sh -c '
	cd "$1/ws" && ! "$2" tool edit_file "{\"path\":\"src/a.txt\",\"old_string\":\"two\",\"new_string\":\"2\"}" >"$1/o" &&
	grep -q "matches 2 times" "$1/o" && grep -c two src/a.txt | grep -qx 2' - "$tw2" "$top/tests/unit"
printf 'aaa\n' >"$tw2/ws/src/aaa"
t "edit_file: overlapping matches are not unique (aa is in aaa twice)" sh -c '
	cd "$1/ws" && ! "$2" tool edit_file "{\"path\":\"src/aaa\",\"old_string\":\"aa\",\"new_string\":\"X\"}" >"$1/o" &&
	grep -q "matches 2 times" "$1/o" && [ "$(cat src/aaa)" = aaa ]' - "$tw2" "$top/tests/unit"
t "control: edit_file: the whole of aaa is unique" sh -c '
	cd "$1/ws" && "$2" tool edit_file "{\"path\":\"src/aaa\",\"old_string\":\"aaa\",\"new_string\":\"b\"}" | grep -q "1 replacement" &&
	[ "$(cat src/aaa)" = b ]' - "$tw2" "$top/tests/unit"
head -c 2000000 /dev/zero | tr '\0' a >"$tw2/ws/src/as"
t "edit_file: a 100 KB old_string over 2 MB of its own letter answers at once (not file size times its length)" sh -c '
	cd "$1/ws" && o=$(head -c 100000 /dev/zero | tr "\0" a) &&
	! timeout 60 "$2" tool edit_file "{\"path\":\"src/as\",\"old_string\":\"$o\",\"new_string\":\"b\"}" >"$1/o" &&
	grep -q "matches 20 times" "$1/o"' - "$tw2" "$top/tests/unit"
rm -f "$tw2/ws/src/as"
t "edit_file: replace_all replaces every match" sh -c '
	cd "$1/ws" && "$2" tool edit_file "{\"path\":\"src/a.txt\",\"old_string\":\"two\",\"new_string\":\"2\",\"replace_all\":true}" | grep -q "2 replacements" &&
	! grep -q two src/a.txt' - "$tw2" "$top/tests/unit"
t "edit_file: no match names the closest line" sh -c '
	cd "$1/ws" && ! "$2" tool edit_file "{\"path\":\"src/a.txt\",\"old_string\":\"  thre3\",\"new_string\":\"x\"}" >"$1/o" &&
	grep -q "old_string not found (the closest line is 4: three)" "$1/o"' - "$tw2" "$top/tests/unit"
printf 'ab\000cd' >"$tw2/ws/src/bin"
t "edit_file refuses a binary file" sh -c '
	cd "$1/ws" && ! "$2" tool edit_file "{\"path\":\"src/bin\",\"old_string\":\"ab\",\"new_string\":\"x\"}" >"$1/o" && grep -q "binary file" "$1/o"' - "$tw2" "$top/tests/unit"
t "edit_file refuses a protected path" sh -c '
	cd "$1/ws" && echo x >.git/config && ! "$2" tool edit_file "{\"path\":\".git/config\",\"old_string\":\"x\",\"new_string\":\"y\"}" >"$1/o" && grep -q "protected path" "$1/o"' - "$tw2" "$top/tests/unit"
# .gitignore as git reads it: "**/" any number of directories, "/**"
# everything inside, a pattern without a slash at any depth
mkdir -p "$tmp/gi/ws/sub/deep" "$tmp/gi/ws/logs/a/b" "$tmp/gi/ws/build/x" "$tmp/gi/ws/src"
printf '**/.env\n**/secret*\nlogs/**/*.log\nbuild/**\n*.o\n' >"$tmp/gi/ws/.gitignore"
for f in .env sub/deep/.env secret.key sub/deep/secret.pem logs/a/b/y.log logs/z.log build/x/out \
    src/m.c src/m.o logs/a/b/y.txt sub/deep/public.pem; do echo x >"$tmp/gi/ws/$f"; done
(cd "$tmp/gi/ws" && "$top/tests/unit" tool list_files '{"path":".","recursive":true}') >"$tmp/gi/out"
t "list_files: what the root .gitignore ignores is left out, at any depth (**/.env, **/secret*, logs/**/*.log, build/**, *.o)" sh -c '
	! grep -q "\.env\|secret\|y\.log\|z\.log\|out\|m\.o" "$1"' - "$tmp/gi/out"
t "control: list_files shows what it does not ignore (src/m.c, logs/a/b/y.txt, sub/deep/public.pem)" sh -c '
	grep -q "m\.c" "$1" && grep -q "y\.txt" "$1" && grep -q "public\.pem" "$1"' - "$tmp/gi/out"
# a .git pointer file (git worktree, submodules, --separate-git-dir):
# the repository it names is as protected as a .git directory
mkdir -p "$tmp/wtp/ws/repo.git/hooks" "$tmp/wtp/ws/other"
echo "gitdir: repo.git" >"$tmp/wtp/ws/.git"
echo "ref: refs/heads/main" >"$tmp/wtp/ws/repo.git/HEAD"
for p in repo.git/config repo.git/hooks/pre-commit REPO.git/commondir; do
	t "write_file refuses $p, inside the repository .git points to" sh -c '
		cd "$1" && ! "$2" tool write_file "{\"path\":\"$3\",\"content\":\"x\"}" >"$1/../o" &&
		grep -q "protected path" "$1/../o" && ! [ -e "$3" ]' - "$tmp/wtp/ws" "$top/tests/unit" "$p"
done
t "control: beside that repository, other/f is writable" sh -c '
	cd "$1" && "$2" tool write_file "{\"path\":\"other/f\",\"content\":\"x\"}" >/dev/null && [ -f other/f ]' - "$tmp/wtp/ws" "$top/tests/unit"
# atomicity: kill -9 a writer of 4 MiB files at many points; the file is
# always all of one content or all of the other, never a mix or a part
(cd "$tw2/ws" && "$top/tests/unit" tool write_file '{"path":"big","content":"seed"}' >/dev/null)
size=4194304
bad=0
kills=0
i=0
while [ $i -lt 40 ]; do
	(cd "$tw2/ws" && exec "$top/tests/unit" writeloop big $size) &
	wpid=$!
	sleep "0.$(( (i * 37) % 90 + 5 ))"
	kill -9 $wpid 2>/dev/null && kills=$((kills + 1))
	wait $wpid 2>/dev/null
	n=$(wc -c <"$tw2/ws/big")
	if [ "$(cat "$tw2/ws/big")" != seed ]; then
		other=$(tr -d "$(head -c 1 "$tw2/ws/big")" <"$tw2/ws/big" | wc -c)
		{ [ "$n" -eq $size ] && [ "$other" -eq 0 ]; } || bad=$((bad + 1))
	fi
	i=$((i + 1))
done
t "write_file is atomic: $kills kill -9s mid-write, file always whole ($bad bad)" sh -c '[ "$1" -eq 0 ] && [ "$2" -ge 30 ]' - $bad $kills

echo "== the kernel walls: vtcode sandbox, as an unprivileged user"
# CI runs as root: the walls are tested as an ordinary user, made here
if [ "$(id -u)" -eq 0 ]; then
	id vtctest >/dev/null 2>&1 ||
	    useradd -M -r -d /nonexistent -s /usr/sbin/nologin vtctest 2>/dev/null
	t "as root: the unprivileged user vtctest exists for the sandbox tests" id vtctest
fi
E=$tmp/esc
mkdir -p "$E/ws" "$E/home/.ssh" "$E/proj-evil" "$E/other" "$E/bin"
echo readme >"$E/ws/readme"
git init -q "$E/ws" && printf '[core]\n\tbare = false\n' >>"$E/ws/.git/config"
mkdir -p "$E/ws/.vtcode"
echo '{}' >"$E/ws/.vt-workspace-trust"
echo secret-key >"$E/home/.ssh/id_rsa"
echo 'echo hi' >"$E/home/.bashrc"
touch "$E/home/.ssh/authorized_keys" "$E/proj-evil/f"
echo other-secret >"$E/other/secret"
chmod 644 "$E/other/secret"
cp "$vt" "$E/bin/vtcode"
t "escape probe builds" cc -std=c99 -O1 -o "$E/ws/probe" tests/escape/probe.c
if [ "$(id -u)" -eq 0 ] && id vtctest >/dev/null 2>&1; then
	chown -R vtctest:vtctest "$E/ws" "$E/home" "$E/proj-evil"
	asuser() { setpriv --reuid=vtctest --regid=vtctest --clear-groups -- "$@"; }
else
	asuser() { "$@"; }
fi
chmod 755 "$E" "$E/bin" "$E/other"
# a listener outside the sandbox: TCP on loopback, an abstract socket
# and a unix datagram socket anyone may send to
python3 -c '
import os, socket, sys, time
t = socket.socket(); t.bind(("127.0.0.1", 0)); t.listen(8)
port = t.getsockname()[1]
u = socket.socket(socket.AF_UNIX); u.bind("\0vtcode-esc-%d" % port); u.listen(8)
d = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); d.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o666)
print(port, flush=True)
time.sleep(300)
' "$E/dg.sock" >"$E/port" 2>/dev/null &
lpid=$!
i=0
while ! [ -s "$E/port" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
port=$(cat "$E/port")
# box [OPTIONS] -- CMD...: vtcode sandbox in the workspace, as the user,
# with a fake API key and loader variables in its environment
box() { (cd "${boxws:-$E/ws}" && asuser env HOME="$E/home" XDG_CONFIG_HOME="$E/home/.config" \
    OPENAI_API_KEY=sk-test-secret LD_LIBRARY_PATH=/nonexistent https_proxy=http://127.0.0.1:1 \
    "$E/bin/vtcode" sandbox "$@"); }
tab=$(printf '\t')
# escapes WS LABEL: every case of tests/escape/cases in workspace WS; with
# a LABEL, a workspace without protected paths: not the cases about them
escapes() {
	while IFS=$tab read -r want what cmd; do
		case $want in ''|'#'*) continue ;; esac
		case $2$cmd in ?*git*|?*.vtcode*|?*.vt-workspace-trust*) continue ;; esac
		cmd=$(printf '%s' "$cmd" | sed -e "s|@WS@|$1|g" -e "s|@HOME@|$E/home|g" \
		    -e "s|@E@|$E|g" -e "s|@PORT@|$port|g")
		boxws=$1 box -- /bin/sh -c "$cmd" >"$tmp/esc.out" 2>&1
		rc=$?
		if { [ "$want" = ok ] && [ $rc -eq 0 ]; } || { [ "$want" = no ] && [ $rc -ne 0 ]; }; then
			ok "escape$2: $want: $what"
		else
			bad "escape$2: $want: $what (exit $rc)"
			sed 's/^/    /' "$tmp/esc.out" | head -5
		fi
	done <tests/escape/cases
}
escapes "$E/ws" ""
# again where there is nothing to pin: the same walls must hold there
mkdir -p "$E/bare"
cp "$E/ws/readme" "$E/ws/probe" "$E/bare/"
[ "$(id -u)" -eq 0 ] && chown -R vtctest:vtctest "$E/bare"
outns=$(asuser readlink /proc/self/ns/mnt)
bare=$(boxws=$E/bare box -- /usr/bin/readlink /proc/self/ns/mnt)
pinned=$(box -- /usr/bin/readlink /proc/self/ns/mnt)
t "commands run in a mount namespace of their own, with protected paths or none (all outside read-only)" sh -c '
	[ -n "$1" ] && [ -n "$2" ] && [ "$2" != "$1" ] && [ "$3" != "$1" ]' - "$outns" "$pinned" "$bare"
# chmod, chown and touch are not Landlock's to refuse: outside the
# workspace, the temp dirs' base and vtcode's own directories, the
# namespace's read-only mounts refuse them (each next to its control)
mkdir -p "$E/meta"
echo k >"$E/meta/key" && chmod 600 "$E/meta/key"
[ "$(id -u)" -eq 0 ] && chown -R vtctest:vtctest "$E/meta"
for w in ws bare; do
	boxws=$E/$w box -- /bin/sh -c "chmod 644 $E/meta/key; touch -d 2000-01-01 $E/meta/key; chown \$(id -u) $E/meta/key" >"$tmp/ch.out" 2>&1
	t "escape ($w): chmod, touch and chown of a file of the user outside the workspace: read-only, unchanged" sh -c '
		[ "$(stat -c %a "$1")" = 600 ] && [ "$(stat -c %Y "$1")" -gt 946684800 ] &&
		grep -q "chmod: .*Read-only file system" "$2" && grep -q "touch: .*Read-only file system" "$2"' - "$E/meta/key" "$tmp/ch.out"
	boxws=$E/$w box -- /bin/sh -c "echo x >chm && chmod 751 chm && touch -d 2000-01-01 chm && stat -c %a chm && chmod 700 \$HOME && echo tmp-ok" >"$tmp/ch.out" 2>&1
	t "control ($w): chmod and touch in the workspace and the temp dir work" sh -c '
		grep -qx 751 "$1" && grep -qx tmp-ok "$1"' - "$tmp/ch.out"
	rm -f "$E/$w/chm"
done
# under `vtcode sandbox` vtcode writes nothing of its own, so its state
# and config directories are no islands: read-only to chmod too
mkdir -p "$E/home/.config/vtcode" "$E/home/.local/state/vtcode"
echo x >"$E/home/.config/vtcode/own" && chmod 600 "$E/home/.config/vtcode/own"
echo x >"$E/home/.local/state/vtcode/own" && chmod 600 "$E/home/.local/state/vtcode/own"
[ "$(id -u)" -eq 0 ] && chown -R vtctest:vtctest "$E/home/.config" "$E/home/.local"
box -- /bin/sh -c "chmod 644 $E/home/.config/vtcode/own; chmod 644 $E/home/.local/state/vtcode/own; echo x >chm && chmod 751 chm && echo ws-ok" >"$tmp/ch.out" 2>&1
t "escape: vtcode's own config and state files cannot be chmod'ed under vtcode sandbox (control: the workspace's can)" sh -c '
	[ "$(stat -c %a "$1")" = 600 ] && [ "$(stat -c %a "$2")" = 600 ] &&
	[ "$(grep -c "chmod: .*Read-only file system" "$3")" = 2 ] && grep -qx ws-ok "$3"' - \
	"$E/home/.config/vtcode/own" "$E/home/.local/state/vtcode/own" "$tmp/ch.out"
rm -f "$E/ws/chm" "$E/home/.config/vtcode/own" "$E/home/.local/state/vtcode/own"
# a .git pointer's repository: its whole top directory is pinned (a
# rename of it would swap in another), and one reached through a
# symbolic link cannot be pinned at all
mkdir -p "$E/gp/ws/meta" "$E/gp/ws2/meta"
git init -q --separate-git-dir="$E/gp/ws/meta/repo" "$E/gp/ws"
git init -q --separate-git-dir="$E/gp/ws2/meta/repo" "$E/gp/ws2"
ln -s meta "$E/gp/ws2/link" && echo "gitdir: link/repo" >"$E/gp/ws2/.git"
[ "$(id -u)" -eq 0 ] && chown -R vtctest:vtctest "$E/gp"
boxws=$E/gp/ws box -- /bin/sh -c 'mv meta meta2; mkdir other && mv other other2 && echo moved' >"$tmp/gp.out" 2>&1
t "escape: the directory a .git pointer's repository lies in cannot be renamed (control: another can)" sh -c '
	[ -d "$1/meta/repo" ] && ! [ -e "$1/meta2" ] && grep -qx moved "$2"' - "$E/gp/ws" "$tmp/gp.out"
boxws=$E/gp/ws2 box -- /bin/true >"$tmp/gp.out" 2>&1
t "a .git pointer that reaches its repository through a symbolic link: cannot be pinned, nothing runs" sh -c '
	[ $1 -eq 1 ] && grep -q "names its repository through a symbolic link: it cannot be pinned" "$2"' - $? "$tmp/gp.out"
# a pointer that names the workspace itself: refused (it would pin all
# of it read-only; the control is the pointer in ws above)
mkdir -p "$E/gp/ws3" && echo "gitdir: ." >"$E/gp/ws3/.git" && echo "ref: refs/heads/main" >"$E/gp/ws3/HEAD"
[ "$(id -u)" -eq 0 ] && chown -R vtctest:vtctest "$E/gp/ws3"
boxws=$E/gp/ws3 box -- /bin/true >"$tmp/gp.out" 2>&1
t "a .git pointer that names the workspace itself: cannot be pinned, nothing runs" sh -c '
	[ $1 -eq 1 ] && grep -q "names the workspace itself as its repository: it cannot be pinned" "$2"' - $? "$tmp/gp.out"
# the commands' /dev/shm is bounded in files too (each is kernel memory)
box -- /bin/sh -c 'grep " /dev/shm " /proc/self/mountinfo | tail -1' >"$tmp/shm.out" 2>&1
t "the commands' /dev/shm: a tmpfs bounded in bytes and in files, nosuid, nodev, noexec" sh -c '
	grep -q "nosuid,nodev,noexec.* - tmpfs .*size=[0-9]*k,nr_inodes=[0-9]*" "$1"' - "$tmp/shm.out"
# an island inside /dev/shm, however spelt: no tmpfs over it
d=/dev/shm/vtcode-test-$$ && mkdir -p "$d/state" && [ "$(id -u)" -eq 0 ] && chown -R vtctest "$d"
(cd "$E/bare" && asuser env XDG_STATE_HOME="/$d/state" XDG_CONFIG_HOME="$E/home/.config" HOME="$E/home" \
    "$E/bin/vtcode" check) >"$tmp/shm.out" 2>&1
t "vtcode's state directory in /dev/shm (spelt //dev/shm/...): /dev/shm is left alone, closed to commands" \
    grep -q "^sandbox: /dev/shm: closed to commands" "$tmp/shm.out"
(cd "$E/bare" && asuser env XDG_STATE_HOME="$E/home/.state" XDG_CONFIG_HOME="$E/home/.config" HOME="$E/home" \
    "$E/bin/vtcode" check) >"$tmp/shm.out" 2>&1
t "control: the state directory elsewhere, /dev/shm is the commands' own" \
    grep -q "^sandbox: /dev/shm: the commands' own" "$tmp/shm.out"
rm -rf "$d"
# a command that takes the root's write bit away does not keep a new
# .git there; one that hides a directory of the temp dir from its owner
# does not keep it from being removed
mkdir -p "$E/q5"
[ "$(id -u)" -eq 0 ] && chown vtctest:vtctest "$E/q5"
# (the .git is made and the write bit taken in one process, two system
# calls apart: the kill for making it comes after both, or before the
# second, and either way it must go)
boxws=$E/q5 box -- /usr/bin/python3 -c 'import os; os.mkdir("p"); os.rename("p", ".git"); os.chmod(".", 0o555)' >"$tmp/q5.out" 2>&1
t "escape: chmod 555 of the root does not keep a new .git from being moved aside" sh -c '
	! [ -e "$1/.git" ] && ls -d "$1"/.git.vtcode-quarantine-* >/dev/null && grep -q "it was moved to .git.vtcode-quarantine-" "$2"' - "$E/q5" "$tmp/q5.out"
boxws=$E/q5 box -- /bin/sh -c 'mkdir -p $TMPDIR/d/e && echo x >$TMPDIR/d/e/f && chmod 500 $TMPDIR/d/e && chmod 0 $TMPDIR/d; echo "tmp=$TMPDIR"' >"$tmp/q5.out" 2>&1
t "the temp dir goes even with a directory in it its owner may not enter" sh -c '
	d=$(sed -n "s/^tmp=//p" "$1") && [ -n "$d" ] && ! [ -e "$d" ]' - "$tmp/q5.out"
if [ "$(id -u)" -eq 0 ] && mkdir -p "$E/mv/ws/vol" && mount -t tmpfs none "$E/mv/ws/vol" 2>/dev/null; then
	(cd "$E/mv/ws" && "$E/bin/vtcode" sandbox -- /bin/sh -c 'echo x >vol/f && echo vol-ok; chmod 700 vol && echo chmod-ok') >"$tmp/mv.out" 2>&1
	t "a mount inside the workspace (a tmpfs) stays writable in the read-only view" sh -c '
		grep -qx vol-ok "$1" && grep -qx chmod-ok "$1"' - "$tmp/mv.out"
	umount "$E/mv/ws/vol"
fi
if [ "$(id -u)" -eq 0 ]; then
	echo s >/etc/vtcode-test-$$ && chmod 600 /etc/vtcode-test-$$
	(cd "$E/ws" && "$E/bin/vtcode" sandbox -- /bin/sh -c "chmod 4777 /etc/vtcode-test-$$; chown 1:1 /etc/vtcode-test-$$") >"$tmp/ch.out" 2>&1
	t "escape as root: chmod and chown of a root file in /etc: read-only, unchanged" sh -c '
		[ "$(stat -c "%a %u" "$1")" = "600 0" ] && grep -q "Read-only file system" "$2"' - "/etc/vtcode-test-$$" "$tmp/ch.out"
	rm -f "/etc/vtcode-test-$$"
fi
escapes "$E/bare" " (bare workspace)"
t "escape: the home, the sibling, /etc and the protected paths are untouched" sh -c '
	[ "$(cat "$1/ws/.vt-workspace-trust")" = "{}" ] && ! [ -e "$1/ws/.vtcode/x" ] && [ -d "$1/ws/.git/hooks" ] &&
	! [ -e "$1/ws/.git/hooks/pre-commit" ] && ! grep -q "^x" "$1/ws/.git/config" &&
	[ "$(cat "$1/home/.bashrc")" = "echo hi" ] && ! [ -s "$1/home/.ssh/authorized_keys" ] &&
	! [ -e "$1/proj-evil/x" ] && ! [ -e /etc/vtcode-escape ] && ! [ -e /tmp/vtcode-escape-test ] && ! [ -e /dev/shm/vtcode-escape-test ] &&
	[ -e "$1/proj-evil/f" ]' - "$E"
t "escape: positive control: with --net the TCP connect works" sh -c '
	cd "$1/ws" && ./probe tcp "$2" >/dev/null 2>&1' - "$E" "$port"
box --net -- ./probe tcp "$port" >"$tmp/esc.out" 2>&1
t "--net: TCP to a loopback listener is allowed" [ $? -eq 0 ]
# POSIX semaphores live in /dev/shm: Python's multiprocessing works
box -- /usr/bin/python3 -c 'import multiprocessing as m
with m.Pool(2) as p: print(sum(p.map(abs, [-1, -2, 3])))' >"$tmp/esc.out" 2>&1
t "multiprocessing (semaphores in the commands' own /dev/shm) works in the sandbox" sh -c '
	[ $1 -eq 0 ] && grep -qx 6 "$2"' - $? "$tmp/esc.out"
# socketpair of another family: refused by the filter (EPERM), not
# only by a kernel without its module (EAFNOSUPPORT, as with --net)
box -- ./probe pair-tipc >"$tmp/esc.out" 2>&1
t "escape: socketpair(AF_TIPC) is refused by seccomp (EPERM)" grep -q "pair-tipc: Operation not permitted" "$tmp/esc.out"
box --net -- ./probe pair-tipc >"$tmp/esc.out" 2>&1
t "control: with --net it reaches the kernel (not EPERM)" sh -c '! grep -q "Operation not permitted" "$1"' - "$tmp/esc.out"
for a in dgram dgram-pair dgram-raw; do
	box --net -- ./probe $a "$E/dg.sock" >"$tmp/esc.out" 2>&1
	t "--net: the unix datagram ($a) refused without it is sent (control)" [ $? -eq 0 ]
done
kill $lpid 2>/dev/null
wait $lpid 2>/dev/null
box --timeout 2000 -- /bin/sh -c 'setsid sleep 1000 & sh -c "sleep 1000 &"; sleep 1000' >"$tmp/esc.out" 2>&1
rc=$?
t "timeout: exit 124 with the reason" sh -c '[ $1 -eq 124 ] && grep -q "timed out after 2000 ms" "$2"' - $rc "$tmp/esc.out"
t "timeout: the setsid'd and double-forked sleeps are gone too" sh -c '! pgrep -f "^sleep 1000" >/dev/null'
# SIGTERM to vtcode (a service manager, a closing terminal's SIGHUP): the
# command and all it started are killed, the temp dir removed, exit 130
tmpdirs >"$tmp/dirs0"
box --timeout 60000 -- /bin/sh -c 'setsid sleep 1001 & sleep 1002 & sleep 1003' >"$tmp/term.out" 2>&1 &
bpid=$!
i=0
while ! pgrep -f "^sleep 1003" >/dev/null && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
made=$(newdirs "$tmp/dirs0")
pkill -TERM -f "vtcode sandbox --timeout 60000 -- /bin/sh -c setsid sleep 1001"
wait $bpid
rc=$?
t "SIGTERM to vtcode sandbox: exit 130 with the reason; the setsid'd sleep and the rest are gone" sh -c '
	[ $3 -lt 100 ] && [ $1 -eq 130 ] && grep -q "interrupted: the command was killed" "$2" && ! pgrep -f "^sleep 100[123]" >/dev/null' - $rc "$tmp/term.out" $i
t "SIGTERM to vtcode sandbox: its temp dir is removed" sh -c '[ -n "$1" ] && [ $(printf "%s\n" "$1" | wc -l) -eq 1 ] && ! [ -e "$1" ]' - "$made"
# control: a SIGHUP vtcode was started ignoring (nohup) stays ignored
(cd "$E/ws" && asuser sh -c 'trap "" HUP; exec "$1" sandbox --timeout 60000 -- /bin/sleep 1.5' - "$E/bin/vtcode") >"$tmp/term.out" 2>&1 &
bpid=$!
sleep 0.5
pkill -HUP -f "vtcode sandbox --timeout 60000 -- /bin/sleep 1.5"
wait $bpid
t "control: with SIGHUP ignored (nohup), a SIGHUP changes nothing: the command ends, exit 0" [ $? -eq 0 ]
box --timeout 3000 -- /bin/bash -c 'f() { f | f & }; f' >/dev/null 2>&1
t "a fork bomb is contained and gone after the timeout" sh -c 'sleep 0.5; [ "$(pgrep -c -u "$1" bash || true)" = 0 ]' - "$(id -un vtctest 2>/dev/null || id -un)"
box -- /bin/sh -c 'head -c 100000000 /dev/zero | tr "\000" a' >"$tmp/esc.out" 2>&1
t "100 MB of output: the head and tail kept, the middle elided with a count" sh -c '
	n=$(wc -c <"$1"); [ "$n" -le $((262144 + 200)) ] && grep -q "bytes elided" "$1"' - "$tmp/esc.out"
t "as root: every capability dropped, the bounding set too" sh -c '
	[ "$(id -u)" -ne 0 ] || { cd "$1/ws" && "$2" sandbox -- /bin/sh -c "grep -q \"CapBnd:.*0000000000000000\" /proc/self/status && grep -q \"CapEff:.*0000000000000000\" /proc/self/status && grep -q \"CapAmb:.*0000000000000000\" /proc/self/status"; }' - "$E" "$E/bin/vtcode"
# an ordinary user's commands keep the bounding set (vtcode drops it for
# root only): no execve of theirs gains a capability all the same, not
# from a file's capabilities either (nothing permitted, no_new_privs)
if [ "$(id -u)" -eq 0 ] && command -v setcap >/dev/null && id vtctest >/dev/null 2>&1; then
	cp /bin/cat "$E/ws/capcat" && chown vtctest:vtctest "$E/ws/capcat" &&
	    setcap cap_dac_override,cap_net_raw=ep "$E/ws/capcat"
	(cd "$E/ws" && asuser ./capcat /proc/self/status) >"$tmp/cap0" 2>&1
	t "control: as vtctest, outside the sandbox, a program with file capabilities gets them" \
	    grep -q "^CapEff:.*0000000000002002$" "$tmp/cap0"
	box -- ./capcat /proc/self/status >"$tmp/cap1" 2>&1
	t "as vtctest: the same program in the sandbox gets none (CapPrm, CapEff 0, no_new_privs)" sh -c '
		grep -q "^CapPrm:.*0000000000000000" "$1" && grep -q "^CapEff:.*0000000000000000" "$1" &&
		grep -q "^NoNewPrivs:.*1" "$1"' - "$tmp/cap1"
	box -- ./capcat /etc/shadow >"$tmp/cap2" 2>&1
	t "as vtctest: and it cannot read /etc/shadow with them" grep -q "Permission denied" "$tmp/cap2"
	rm -f "$E/ws/capcat"
else
	bad "file capabilities: needs root, vtctest and setcap (make deps installs libcap2-bin)"
fi
# vtcode keeps itself on one CPU while it starts and waits for a command
# (runpin); the command gets vtcode's CPUs back before its execve: all
# of them, or what vtcode was given (taskset), never the one it sat on
if [ "$(nproc)" -ge 2 ]; then
	cpuall=$(asuser grep Cpus_allowed_list /proc/self/status)
	t "a command gets all of vtcode's CPUs back (vtcode is pinned while it starts it)" sh -c '
		[ "$(cd "$1/ws" && "$2" sandbox -- /bin/grep Cpus_allowed_list /proc/self/status)" = "$3" ]' - "$E" "$E/bin/vtcode" "$cpuall"
	t "control: under taskset -c 1, the command gets CPU 1 alone, as vtcode had it" sh -c '
		cd "$1/ws" && taskset -c 1 "$2" sandbox -- /bin/grep Cpus_allowed_list /proc/self/status | grep -q "^Cpus_allowed_list:.1$"' - "$E" "$E/bin/vtcode"
else
	echo "(one CPU: no test of the CPUs a command gets back)"
fi
t "exit status passes through" sh -c 'cd "$1/ws" && "$2" sandbox -- /bin/sh -c "exit 7"; [ $? -eq 7 ]' - "$E" "$E/bin/vtcode"
t "a command that is not found: exit 127" sh -c 'cd "$1/ws" && "$2" sandbox -- no-such-command 2>/dev/null; [ $? -eq 127 ]' - "$E" "$E/bin/vtcode"
t "a command path that is not there: exit 127 too (./x, /no/such/x)" sh -c '
	cd "$1/ws" && "$2" sandbox -- ./no-such 2>/dev/null; [ $? -eq 127 ] &&
	"$2" sandbox -- /no/such/x 2>"$1/e"; [ $? -eq 127 ] && grep -q "^vtcode: sandbox: /no/such/x: not found$" "$1/e"' - "$E" "$E/bin/vtcode"
for abi in 1 2 3 4 5 6 7; do
	box -- /bin/sh -c "echo x > /etc/vtcode-escape-$abi" >/dev/null 2>&1 </dev/null &&
	    r1=0 || r1=1
	(cd "$E/ws" && asuser env VTCODE_LANDLOCK_ABI_MAX=$abi "$E/bin/vtcode" sandbox -- /bin/sh -c \
	    "echo x > /etc/vtcode-escape-$abi" >/dev/null 2>&1) && r1=0 || r1=1
	(cd "$E/ws" && asuser env VTCODE_LANDLOCK_ABI_MAX=$abi "$E/bin/vtcode" sandbox -- /bin/sh -c \
	    "echo x > abi-$abi && cat abi-$abi" >/dev/null 2>&1) && r2=0 || r2=1
	t "Landlock ABI capped at $abi: /etc refused, the workspace writable" sh -c '[ $1 -eq 1 ] && [ $2 -eq 0 ]' - $r1 $r2
done
# kill(-1, 0): the permission check for "every process I may signal",
# nothing sent.  Below ABI 6 only seccomp stands in the way
for abi in 5 7; do
	kr=
	for a in killall killall-hibits killself; do
		(cd "$E/ws" && asuser env VTCODE_LANDLOCK_ABI_MAX=$abi "$E/bin/vtcode" sandbox -- \
		    "$E/ws/probe" $a >/dev/null 2>&1) && kr="$kr 0" || kr="$kr 1"
	done
	t "Landlock ABI capped at $abi: kill(-1) refused, high bits or not (control: a signal to itself works)" \
	    sh -c '[ "$1" = " 1 1 0" ]' - "$kr"
done
echo victim >"$E/victim" && chmod 666 "$E/victim"
(cd "$E/ws" && asuser env VTCODE_LANDLOCK_ABI_MAX=2 "$E/bin/vtcode" sandbox -- /usr/bin/python3 -c \
    "import os; os.truncate('$E/victim', 0)" >/dev/null 2>&1)
t "Landlock ABI 2 (no TRUNCATE right): truncate(2) outside is still refused" sh -c '[ "$(cat "$1")" = victim ]' - "$E/victim"
mkdir -p "$E/nogit"
[ "$(id -u)" -eq 0 ] && chown vtctest "$E/nogit"
(cd "$E/nogit" && asuser "$E/bin/vtcode" sandbox -- /bin/sh -c \
    'git init -q . && git config core.fsmonitor "touch $PWD/pwned" && echo made; sleep 20; echo later' >"$tmp/q.out" 2>&1)
t "a .git made where there was none: the command is killed the moment it appears (a git outside, an editor's, could obey it), and it is moved aside" sh -c '
	[ $3 -eq 137 ] && ! grep -q "^later" "$2" &&
	grep -q "the command created .git, which vtcode could not protect; it was killed the moment it did, and it was moved to .git.vtcode-quarantine-" "$2" &&
	grep -q "killed: it made a protected directory at the root" "$2" &&
	! [ -e "$1/nogit/.git" ] && ls -d "$1"/nogit/.git.vtcode-quarantine-* >/dev/null &&
	cd "$1/nogit" && ! git status >/dev/null 2>&1 && ! [ -e "$1/nogit/pwned" ]' - "$E" "$tmp/q.out" $?
(cd "$E/nogit" && asuser "$E/bin/vtcode" sandbox -- /bin/sh -c 'mkdir -p p/hooks && mv p .vtcode; sleep 20; echo later' >"$tmp/q.out" 2>&1)
t "a .vtcode renamed into place: killed and moved aside too" sh -c '
	[ $2 -eq 137 ] && ! grep -q "^later" "$1" && grep -q "the command created .vtcode, .*moved to .vtcode.vtcode-quarantine-" "$1"' - "$tmp/q.out" $?
# a second process takes the root's search bit away the moment .git is
# there, so that vtcode cannot look: the root is given back to its
# owner, and what cannot be looked at is not taken for "not there"
mkdir -p "$E/race"
cat >"$E/race/r.py" <<'PY'
import os, subprocess, time
d = os.open(".", os.O_RDONLY)
subprocess.run(["git", "init", "-q", "p"])
subprocess.run(["git", "-C", "p", "config", "core.fsmonitor", "touch " + os.getcwd() + "/pwned; false"])
subprocess.run(["sh", "-c", "mv p/.git g && rm -rf p && mv g p"])
if os.fork() == 0:
    time.sleep(0.3)
    os.rename("p", ".git")
    os._exit(0)
while True:
    try:
        os.lstat(".git")
        os.chmod(".", 0)
        break
    except FileNotFoundError:
        pass
os.wait()
os.fchmod(d, 0o755)
time.sleep(2)
os.fchmod(d, 0)
print("not killed")
PY
[ "$(id -u)" -eq 0 ] && chown -R vtctest:vtctest "$E/race"
(cd "$E/race" && asuser "$E/bin/vtcode" sandbox -- /usr/bin/python3 r.py >"$tmp/race.out" 2>&1)
t "a .git made while another process makes the root unsearchable: still killed and moved aside, the root given back" sh -c '
	[ $2 -eq 137 ] && ! grep -q "not killed" "$1" && ! [ -e "$3/.git" ] && ls -d "$3"/.git.vtcode-quarantine-* >/dev/null &&
	stat -c %A "$3" | grep -q "^drwx"' - "$tmp/race.out" $? "$E/race"
(cd "$E/nogit" && asuser "$E/bin/vtcode" sandbox -- /bin/sh -c 'mkdir other && git init -q sub && echo later' >"$tmp/q.out" 2>&1)
t "control: other directories at the root, and a repository below it, are left alone" sh -c '
	[ $2 -eq 0 ] && grep -q "^later" "$1" && [ -d "$3/nogit/sub/.git" ]' - "$tmp/q.out" $? "$E"
mkdir -p "$E/lnk/realgit" && ln -s realgit "$E/lnk/.git"
t "a .git that is a symlink cannot be pinned: nothing runs" sh -c '
	cd "$1/lnk" && "$2" sandbox -- /bin/true 2>"$1/e"; [ $? -eq 1 ] && grep -q "is a symbolic link: protected paths cannot be pinned" "$1/e"' - "$E" "$E/bin/vtcode"
# where no user namespace can be made (tests/escape/probe nouserns: as
# when an administrator turns them off): vtcode sandbox refuses in a git
# workspace; through the policy gate, read-only commands run and the rest
# are asked about, a yes given earlier not counting
nouserns() { asuser "$E/ws/probe" nouserns "$@"; }
mkdir -p "$E/up/ws/src" "$E/up/xdg/vtcode" "$E/up/home" && chmod 700 "$E/up/xdg/vtcode" && git init -q "$E/up/ws"
printf '{"version":1,"approvals":[{"tool":"run_command","argv":["mkdir","built"]}]}\n' >"$E/up/xdg/vtcode/tool-policy.json"
chmod 600 "$E/up/xdg/vtcode/tool-policy.json"
[ "$(id -u)" -eq 0 ] && chown -R vtctest:vtctest "$E/up"
(cd "$E/up/ws" && asuser env XDG_CONFIG_HOME="$E/up/xdg" HOME="$E/up/home" "$E/bin/vtcode" trust >/dev/null 2>&1)
(cd "$E/up/ws" && nouserns "$E/bin/vtcode" sandbox -- /bin/true) >"$tmp/up.out" 2>&1
t "no user namespaces, a git workspace: vtcode sandbox refuses, and says why" sh -c '
	[ $1 -eq 1 ] && grep -q "the protected paths and the read-only view outside the workspace need a private mount namespace (unprivileged user namespaces): Operation not permitted" "$2"' - $? "$tmp/up.out"
(cd "$E/up/ws" && asuser "$E/bin/vtcode" sandbox -- /bin/true) >"$tmp/up.out" 2>&1
t "control: with user namespaces the same command runs" [ $? -eq 0 ]
(cd "$E/bare" && nouserns "$E/bin/vtcode" sandbox -- /bin/true) >"$tmp/up.out" 2>&1
t "no user namespaces, nothing to pin: vtcode sandbox refuses too (nothing outside would be read-only to chmod)" sh -c '
	[ $1 -eq 1 ] && grep -q "need a private mount namespace" "$2"' - $? "$tmp/up.out"
# urun COMMAND [WRAPPER]: the unit driver's run_command as the user
urun() { (cd "$E/up/ws" && ${2:-asuser} /usr/bin/env XDG_CONFIG_HOME="$E/up/xdg" HOME="$E/up/home" setsid -w "$top/tests/unit" run "$1" </dev/null) >"$tmp/up.out" 2>&1; }
urun 'ls -1a' nouserns
t "no user namespaces: a read-only command still runs, unasked" sh -c '
	[ $1 -eq 0 ] && grep -qx .git "$2" && grep -q "^\[exit status 0\]" "$2"' - $? "$tmp/up.out"
urun 'mkdir built' nouserns
t "no user namespaces: a command approved earlier is asked about again (no terminal: refused), and the reason says why" sh -c '
	[ $1 -eq 3 ] && grep -q "^deny: mkdir: .*the protected paths are writable here, and files outside the workspace can have their modes changed (the protected paths and the read-only view outside the workspace need a private mount namespace.*no terminal to ask on" "$2" &&
	! [ -e "$3" ]' - $? "$tmp/up.out" "$E/up/ws/built"
urun 'mkdir built'
t "control: with user namespaces the approval counts and the command runs" sh -c '
	[ $1 -eq 0 ] && grep -q "^\[exit status 0\]" "$2" && [ -d "$3" ]' - $? "$tmp/up.out" "$E/up/ws/built"
# a pipeline whose every stage fails before execve (its workdir cannot
# be entered): vtcode stops at the first, says why, and does not hang
# (each stage shares vtcode's memory until execve, so vtcode waits on
# it).  tests/unit forks (ASan), so build/vg/unit, without ASan, runs
# natively here: its floors of 0 change nothing on this kernel
$MAKE -s build/vg/unit >"$tmp/vgb0" 2>&1 || bad "build/vg/unit builds"
mkdir -p "$E/up/ws/locked"
[ "$(id -u)" -eq 0 ] && chown vtctest:vtctest "$E/up/ws/locked"
chmod 600 "$E/up/ws/locked"
line=cat; i=0
while [ $i -lt 200 ]; do line="$line | cat"; i=$((i + 1)); done
(cd "$E/up/ws" && asuser /usr/bin/env XDG_CONFIG_HOME="$E/up/xdg" HOME="$E/up/home" \
    timeout 30 setsid -w "$top/build/vg/unit" runin "$line" "$E/up/ws/locked" </dev/null) >"$tmp/up.out" 2>&1
t "201 stages that all fail before execve: refused at once with the reason, no hang" sh -c '
	[ $1 -eq 4 ] && grep -qx "\[not run: .*/locked: Permission denied\]" "$2"' - $? "$tmp/up.out"
(cd "$E/up/ws" && asuser /usr/bin/env XDG_CONFIG_HOME="$E/up/xdg" HOME="$E/up/home" \
    timeout 30 setsid -w "$top/build/vg/unit" run "$line" src </dev/null) >"$tmp/up.out" 2>&1
t "control: the same 201 stages in a workdir they can enter run (exit 0)" sh -c '
	[ $1 -eq 0 ] && grep -q "^\[exit status 0\]" "$2"' - $? "$tmp/up.out"
(cd "$E/up/ws" && asuser /usr/bin/env XDG_CONFIG_HOME="$E/up/xdg" HOME="$E/up/home" \
    timeout 30 setsid -w "$top/build/vg/unit" run "ls" locked </dev/null) >"$tmp/up.out" 2>&1
t "run_command: a workdir the policy cannot enter to read the line from is refused, nothing run" sh -c '
	[ $1 -eq 3 ] && grep -qx "workdir: locked: Permission denied" "$2"' - $? "$tmp/up.out"
(cd "$E/up/ws" && nouserns /usr/bin/env XDG_CONFIG_HOME="$E/up/xdg" HOME="$E/up/home" "$E/bin/vtcode" check) >"$tmp/up.out" 2>&1
t "no user namespaces: /dev/shm is closed to commands, and vtcode check says so" grep -q "^sandbox: /dev/shm: closed to commands" "$tmp/up.out"
(cd "$E/up/ws" && asuser /usr/bin/env XDG_CONFIG_HOME="$E/up/xdg" HOME="$E/up/home" "$E/bin/vtcode" check) >"$tmp/up2.out" 2>&1
t "control: with user namespaces it is the commands' own tmpfs" grep -q "^sandbox: /dev/shm: the commands' own, a tmpfs of at most [0-9]* MB" "$tmp/up2.out"
t "no user namespaces: vtcode check says the protected paths cannot be pinned and what follows" grep -q "^sandbox: protected paths: cannot be pinned, and nothing outside the workspace is read-only to chmod, chown and touch (the protected paths and the read-only view outside the workspace need a private mount namespace (unprivileged user namespaces): Operation not permitted; are unprivileged user namespaces off?.*commands that are not read-only are asked about every time (a yes given earlier does not count), and vtcode sandbox refuses$" "$tmp/up.out"
t "Landlock capped at ABI 0 (below config.h's floor): refuses to run" sh -c '
	cd "$1/ws" && VTCODE_LANDLOCK_ABI_MAX=0 "$2" sandbox -- /bin/true 2>"$1/e"; [ $? -eq 1 ] &&
	grep -q "below the floor config.h sets (1): refusing to run unsandboxed" "$1/e"' - "$E" "$E/bin/vtcode"

t "the runner 1,000 times (ASan+LSan): no leaked memory, fds or children" sh -c '
	cd "$1" && "$2/tests/unit" runmany 1000 >"$3/rm" 2>&1 && grep -q "^1000 runs, 0 failed, fds \([0-9]*\) then \1, children left 0$" "$3/rm"' - "$ws" "$top" "$tmp"
echo "== macOS Seatbelt and OpenBSD unveil/pledge (platforms CI cannot run): compiled here, against stubs"
t "tests/port builds: both under -pedantic -Wall -Wextra -Werror" $MAKE -s tests/port
t "the Seatbelt profile and parameters, the unveil list and the pledge mirror the Linux walls" sh -c '
	tests/port >"$1/port" 2>&1; s=$?; cat "$1/port"; [ $s -eq 0 ] && grep -q "^port: [0-9]* passed, 0 failed$" "$1/port"' - "$tmp"
echo "== run_command: the gate, then the very argv it decided, through the runner"
rw=$tmp/rc
mkdir -p "$rw/ws/src" "$rw/xdg"
echo 'int main(void) { return 0; }' >"$rw/ws/src/a.c"
(cd "$rw/ws" && XDG_CONFIG_HOME="$rw/xdg" "$vt" trust >/dev/null)
# rc COMMAND: the unit driver's run_command, no terminal
rcmd() { (cd "$rw/ws" && XDG_CONFIG_HOME="$rw/xdg" setsid -w "$top/tests/unit" run "$1" </dev/null) >"$tmp/rc.out" 2>&1; }
rcmd 'ls src | wc -l'
t "a pipeline runs, stdout of one into the next" sh -c 'grep -qx 1 "$1" && grep -q "^\[exit status 0\]" "$1"' - "$tmp/rc.out"
rcmd 'false && echo yes || echo no'
t "&& and || short-circuit as in sh" sh -c 'grep -qx no "$1" && ! grep -qx yes "$1"' - "$tmp/rc.out"
rcmd 'echo a ; echo b'
t "; runs both, output as written (no \\r from the pty)" sh -c 'printf "a\nb\n[exit status 0]\n" | cmp -s - "$1"' - "$tmp/rc.out"
rcmd 'grep -c nothing src/a.c'
t "the exit status reaches the model" grep -q '^\[exit status 1\]' "$tmp/rc.out"
rcmd 'ls src ; sudo id'
t "a line with one denied stage runs nothing" sh -c '[ $1 -eq 3 ] && grep -q "^deny: sudo" "$2" && ! grep -q "a.c" "$2"' - $? "$tmp/rc.out"
rcmd 'make'
t "a Prompt without a terminal is a refusal, and the model is told" sh -c 'grep -q "^deny: make: .*no terminal to ask on" "$1"' - "$tmp/rc.out"
seq 1 100000 >"$rw/ws/big"
rcmd 'cat big'
t "run_command: 576 KB of output reaches the model cut to MAXTOOLOUTPUT: head, elided count, tail, exit status" sh -c '
	[ $(wc -c <"$1") -le 65537 ] && [ "$(head -n 3 "$1" | tr "\n" " ")" = "1 2 3 " ] &&
	grep -q "^\[\.\.\. [0-9]* bytes elided \.\.\.\]$" "$1" &&
	[ "$(tail -n 3 "$1" | tr "\n" " ")" = "99999 100000 [exit status 0] " ]' - "$tmp/rc.out"
rcmd 'cat big ; echo 1 ; echo 2 ; echo 3 ; echo 4 ; echo 5 ; echo 6 ; echo 7 ; echo 8 ; echo 9 ; echo 10 ; echo 11 ; echo 12'
t "run_command: more pipelines after a full tool result: cut, said so, and the exit status still arrives" sh -c '
	[ $(wc -c <"$1") -le 65537 ] && [ "$(tail -n 2 "$1" | tr "\n" " ")" = "[more output than a tool result holds: cut] [exit status 0] " ]' - "$tmp/rc.out"
seq 1 1000 >"$rw/ws/small"
rcmd 'cat small'
t "control: a short output reaches the model whole" sh -c '
	[ "$(head -n 1000 "$1" | md5sum)" = "$(md5sum <"$2")" ] && ! grep -q elided "$1"' - "$tmp/rc.out" "$rw/ws/small"
rm -f "$rw/ws/big" "$rw/ws/small"
rcmd 'cat /etc/passwd'
t "a path outside the workspace is refused before anything runs" grep -q '^deny: cat: /etc/passwd is outside the workspace' "$tmp/rc.out"
# a workdir: the line is decided where it runs, its paths and globs
# resolved there (a symlink in the workdir is not the root's directory)
mkdir -p "$rw/ws/sub"
ln -s /etc "$rw/ws/sub/etc"
echo hi >"$rw/ws/sub/f.txt"
echo root >"$rw/ws/r.txt"
rcmdw() { (cd "$rw/ws" && XDG_CONFIG_HOME="$rw/xdg" setsid -w "$top/tests/unit" run "$1" "$2" </dev/null) >"$tmp/rc.out" 2>&1; }
rcmdw 'head -n 1 etc/passwd' sub
t "workdir: a relative path is checked from the workdir (sub/etc -> /etc: outside)" sh -c '
	[ $1 -eq 3 ] && grep -q "^deny: head: etc/passwd is outside the workspace" "$2" && ! grep -q "^root:" "$2"' - $? "$tmp/rc.out"
rcmdw 'cat f.txt' sub
t "control: workdir: a file in the workdir is read" sh -c '[ $1 -eq 0 ] && grep -qx hi "$2"' - $? "$tmp/rc.out"
rcmdw 'ls *.txt' sub
t "workdir: a glob expands in the workdir, not the root" sh -c '[ $1 -eq 0 ] && grep -qx f.txt "$2" && ! grep -q r.txt "$2"' - $? "$tmp/rc.out"
rcmdw 'cat ../r.txt' sub
t "workdir: .. from the workdir that stays beneath the root is allowed" sh -c '[ $1 -eq 0 ] && grep -qx root "$2"' - $? "$tmp/rc.out"
rcmdw 'cat ../../x' sub
t "workdir: .. from the workdir that leaves the root is refused" sh -c '[ $1 -eq 3 ] && grep -q "^deny: cat: ../../x is outside the workspace" "$2"' - $? "$tmp/rc.out"
rcmdw 'ls' sub/etc
t "workdir: a symlink as the workdir is refused" sh -c '[ $1 -eq 3 ] && grep -q "^workdir: sub/etc: a symbolic link" "$2"' - $? "$tmp/rc.out"

# git takes its config from the repository, which the workspace supplies:
# no bare repository found by walking into it, no fsmonitor program run
# by git status (each refusal next to the plain git that does run it)
git init -q --bare "$rw/ws/evil"
git -C "$rw/ws/evil" config core.bare false
git -C "$rw/ws/evil" config core.worktree ..
git -C "$rw/ws/evil" config core.fsmonitor 'touch fsmon-bare; false'
git init -q "$rw/ws/r"
git -C "$rw/ws/r" config core.fsmonitor 'touch fsmon-repo; false'
(cd "$rw/ws" && git -C evil status >/dev/null 2>&1; git -C r status >/dev/null 2>&1)
t "control: plain git runs the fsmonitor a repository's config names" sh -c '
	[ -e "$1/fsmon-bare" ] && [ -e "$1/r/fsmon-repo" ]' - "$rw/ws"
rm -f "$rw/ws/fsmon-bare" "$rw/ws/r/fsmon-repo"
rcmd 'git -C evil status'
t "git in the sandbox: a bare repository is not found by walking into it (no fsmonitor run)" sh -c '
	! [ -e "$1/fsmon-bare" ] && grep -q "bare repository" "$2"' - "$rw/ws" "$tmp/rc.out"
rcmd 'git -C r status'
t "git in the sandbox: status runs no fsmonitor, and still works" sh -c '
	! [ -e "$1/r/fsmon-repo" ] && grep -q "No commits yet" "$2" && grep -q "^\[exit status 0\]" "$2"' - "$rw/ws" "$tmp/rc.out"
rm -rf "$rw/ws/evil" "$rw/ws/r"

echo "== models: the stream decoder on real captured streams, whole and split at every byte"
for f in "$testdata"/llm/openai/*.sse "$testdata"/llm/anthropic/*.sse; do
	k=$(basename "$(dirname "$f")")
	n=$(basename "$f" .sse)
	t "decode $k/$n.sse: text and tool calls as upstream expects, at every split" sh -c '
		tests/unit decode "$1" "$2" >"$3/dec" && cmp "$3/dec" "tests/llm/$1-$4.expect"' - "$k" "$f" "$tmp" "$n"
done
# chunks that differ from the last only in their text skip the parser
# (turnlike); each decode above also compared the result with every
# chunk parsed.  Positive control: a capture where no chunk is like the
# last (tool calls, a finish) takes none that way.
t "decode: 176 of openai/long_text.sse's 181 chunks skip the parser, same result" sh -c '
	tests/unit decode openai "$1/llm/openai/long_text.sse" 2>&1 >/dev/null |
	grep -qx "decode: 176 chunks taken without a parse"' - "$testdata"
t "decode: anthropic/basic_response.sse's text deltas skip it too (2)" sh -c '
	tests/unit decode anthropic "$1/llm/anthropic/basic_response.sse" 2>&1 >/dev/null |
	grep -qx "decode: 2 chunks taken without a parse"' - "$testdata"
t "decode: openai/parallel_tool_calls.sse's chunks are all parsed (control)" sh -c '
	tests/unit decode openai "$1/llm/openai/parallel_tool_calls.sse" 2>&1 >/dev/null |
	grep -qx "decode: 0 chunks taken without a parse"' - "$testdata"

echo "== models: vtcode exec against the scripted mock server"
lw=$tmp/llm
mkdir -p "$lw/ws/src" "$lw/xdg"
printf 'hello\n' >"$lw/ws/a.txt"
printf 'int main(void) { return 0; }\n' >"$lw/ws/src/m.c"
# mock SCRIPT [PREFIX]: start a mock server; its port in $PREFIX.port,
# its request log in $PREFIX.log (PREFIX defaults to $lw/m)
mock() {
	mp=${2:-$lw/m}
	rm -f "$mp.port" "$mp.log"
	python3 tests/mockllm.py --script "$1" --port-file "$mp.port" \
	    --log "$mp.log" 2>"$mp.err" &
	echo $! >"$mp.pid"
	i=0
	while ! [ -s "$mp.port" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
	touch "$mp.log"
	[ -s "$mp.port" ]
}
mockstop() {
	mp=${1:-$lw/m}
	kill "$(cat "$mp.pid")" 2>/dev/null
	wait "$(cat "$mp.pid")" 2>/dev/null
}
# vx ARGS...: vtcode ARGS in the workspace; stdout in $lw/out, stderr in
# $lw/err, the exit status in $lw/rc
vx() {
	(cd "$lw/ws" && XDG_CONFIG_HOME="$lw/xdg" timeout 120 "$vt" "$@" \
	    >"$lw/out" 2>"$lw/err")
	echo $? >"$lw/rc"
}
# llm NAME SCRIPT CHECK [ARGS...]: the mock answers with SCRIPT, vtcode
# runs `exec ARGS` (default: a prompt) against it with model "test";
# CHECK is shell code run in $lw with $rc, out, err and m.log at hand
llm() {
	name=$1 script=$2 check=$3
	shift 3
	[ $# -gt 0 ] || set -- "do the task"
	printf '%s\n' "$script" >"$lw/script.json"
	if ! mock "$lw/script.json"; then
		bad "$name (the mock did not start)"
		cat "$lw/m.err"
		return
	fi
	# shellcheck disable=SC2086
	vx --base-url "http://127.0.0.1:$(cat "$lw/m.port")/v1" -m test $llmpre exec "$@"
	mockstop
	t "$name" sh -c 'cd "$1" && rc=$(cat rc) && eval "$2" || { echo "exit $rc"; echo "stdout:"; cat out; echo "stderr:"; cat err; exit 1; }' - "$lw" "$check"
}
q="python3 $top/tests/llmcheck.py"
export q
llmpre=
# frames: data lines as the mock's "sse" list wants them
tc='{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"7","type":"function","function":{"name":"read_file","arguments":"{\"path\":\"a.txt\"}"}}]}}]}'
fin='{"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}'
txt() { printf '{"choices":[{"index":0,"delta":{"content":"%s"}}]}' "$1"; }
stop='{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}'

# a pin that fails once vtcode is inside its namespace (a .git pointer
# through a symbolic link) refuses every later command as well, as an
# unprivileged user, where a second try at the namespace would fail
# and must not be taken for a kernel without user namespaces
mkdir -p "$E/gl/ws/real/repo" "$E/gl/xdg"
echo 'ref: refs/heads/main' >"$E/gl/ws/real/repo/HEAD"
ln -s real "$E/gl/ws/lnk" && printf 'gitdir: lnk/repo\n' >"$E/gl/ws/.git"
[ "$(id -u)" -eq 0 ] && chown -R vtctest:vtctest "$E/gl"
(cd "$E/gl/ws" && asuser env HOME="$E/gl" XDG_CONFIG_HOME="$E/gl/xdg" "$E/bin/vtcode" trust >/dev/null 2>&1)
printf '{"steps":[{"sse":[{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"g","function":{"name":"run_command","arguments":"{\\"command\\":\\"ls -a\\"}"}}]}}]},%s]},{"sse":[%s,%s]}]}\n' "$fin" "$(txt done)" "$stop" >"$lw/gl.json"
if mock "$lw/gl.json"; then
	(cd "$E/gl/ws" && asuser env HOME="$E/gl" XDG_CONFIG_HOME="$E/gl/xdg" "$E/bin/vtcode" \
	    --base-url "http://127.0.0.1:$(cat "$lw/m.port")/v1" -m test exec go >"$lw/out" 2>"$lw/err")
	mockstop
	t "a pin that fails inside the namespace: later commands are refused too, never run unpinned" sh -c '
		$2 get "$1/m.log" 1 messages.3.content >"$1/gl.res" &&
		grep -q "names its repository through a symbolic link" "$1/gl.res" && ! grep -q "lnk" "$1/gl.res"' - "$lw" "$q"
else
	bad "pin failure: the mock did not start"
fi
llm "streamed text: exactly the answer on stdout, exit 0" \
    "{\"steps\":[{\"sse_file\":\"$testdata/llm/openai/text.sse\",\"split\":7}]}" \
    '[ $rc -eq 0 ] && printf "%s\n" "$(sed -n "s/^text [0-9]* //p" '"$top"'/tests/llm/openai-text.expect)" | cmp - out &&
     [ "$($q get m.log 0 path)" = /v1/chat/completions ] && [ "$($q get m.log 0 model)" = test ] &&
     [ "$($q get m.log 0 stream)" = true ] && [ "$($q get m.log 0 stream_options.include_usage)" = true ] &&
     [ "$($q get m.log 0 messages.1.content)" = "do the task" ]'
printf '%s\n' "{\"steps\":[{\"sse_file\":\"$testdata/llm/openai/text.sse\"}]}" >"$lw/full.json"
if mock "$lw/full.json"; then
	(cd "$lw/ws" && XDG_CONFIG_HOME="$lw/xdg" timeout 120 "$vt" --base-url \
	    "http://127.0.0.1:$(cat "$lw/m.port")/v1" -m test exec hi >/dev/full 2>"$lw/err")
	frc=$?
	mockstop
	t "an answer that cannot be written (stdout is /dev/full): exit 1, and said (control: the test above)" \
	    sh -c '[ "$1" -eq 1 ] && grep -q "the answer could not be written to standard output" "$2"' - "$frc" "$lw/err"
else
	bad "an answer that cannot be written (the mock did not start)"
fi
llm "streamed text sent one byte per write: the same answer" \
    "{\"steps\":[{\"sse_file\":\"$testdata/llm/openai/long_text.sse\",\"split_every_byte\":true}]}" \
    '[ $rc -eq 0 ] && grep -q "\"condition\": \"Cloudy\"" out && [ $(wc -l <out) -eq 31 ]'
llm "a single tool call (LM Studio's digit id): read_file's result goes back with that id" \
    "{\"steps\":[{\"sse\":[$tc,$fin,\"[DONE]\"]},{\"sse\":[$(txt 'It says hello.'),$stop,\"[DONE]\"]}]}" \
    '[ $rc -eq 0 ] && [ "$(cat out)" = "It says hello." ] && [ "$($q count m.log)" = 2 ] &&
     [ "$($q get m.log 1 messages.2.tool_calls.0.id)" = 7 ] &&
     [ "$($q get m.log 1 messages.2.tool_calls.0.function.arguments)" = "{\"path\":\"a.txt\"}" ] &&
     [ "$($q get m.log 1 messages.3.role)" = tool ] && [ "$($q get m.log 1 messages.3.tool_call_id)" = 7 ] &&
     [ "$($q get m.log 1 messages.3.content)" = hello ] && grep -q "^vtcode: read_file a.txt$" err'
llm "parallel tool calls: two results, in order, with their ids" \
    "{\"steps\":[{\"sse_file\":\"$testdata/llm/openai/parallel_tool_calls.sse\"},{\"sse\":[$(txt done),$stop,\"[DONE]\"]}]}" \
    '[ $rc -eq 0 ] && [ "$($q get m.log 1 messages.3.tool_call_id)" = call_JMW1whyEaYG438VE1OIflxA2 ] &&
     [ "$($q get m.log 1 messages.4.tool_call_id)" = call_DNYTawLBoN8fj3KN6qU9N1Ou ] &&
     $q get m.log 1 messages.3.content | grep -q "no tool named GetWeatherArgs" &&
     $q get m.log 1 messages.4.content | grep -q "no tool named get_stock_price"'
two='{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c1","function":{"name":"list_files","arguments":"{}"}},{"index":1,"id":"c2","function":{"name":"read_file","arguments":"{\"path\":\"src/m.c\"}"}}]}}]}'
llm "a tool round trip: list_files and read_file in one turn, their results in the next request" \
    "{\"steps\":[{\"sse\":[$two,$fin]},{\"sse\":[$(txt ok),$stop]}]}" \
    '[ $rc -eq 0 ] && $q get m.log 1 messages.3.content | grep -qx "src/" &&
     $q get m.log 1 messages.3.content | grep -qx a.txt && $q get m.log 1 messages.4.content | grep -q "int main"'
llm "Ollama: a whole tool call in one chunk, arguments as an object, no index" \
    "{\"steps\":[{\"sse\":[{\"choices\":[{\"delta\":{\"tool_calls\":[{\"id\":\"call_x\",\"function\":{\"name\":\"read_file\",\"arguments\":{\"path\":\"a.txt\"}}}]},\"finish_reason\":\"tool_calls\"}]}]},{\"sse\":[$(txt fine),$stop]}]}" \
    '[ $rc -eq 0 ] && [ "$($q get m.log 1 messages.2.tool_calls.0.function.arguments)" = "{\"path\":\"a.txt\"}" ] &&
     [ "$($q get m.log 1 messages.3.content)" = hello ]'
llm "a tool call without an id gets a generated one, the same in the call and the result" \
    "{\"steps\":[{\"sse\":[{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"name\":\"read_file\",\"arguments\":\"{\\\"path\\\":\\\"a.txt\\\"}\"}}]}}]},$fin]},{\"sse\":[$(txt fine),$stop]}]}" \
    'id=$($q get m.log 1 messages.2.tool_calls.0.id) && echo "$id" | grep -qE "^call_[0-9a-f]{12}$" &&
     [ "$($q get m.log 1 messages.3.tool_call_id)" = "$id" ]'
llm "reasoning_content and reasoning go to stderr, the answer alone to stdout" \
    "{\"steps\":[{\"sse\":[{\"choices\":[{\"delta\":{\"reasoning_content\":\"thinking A\"}}]},{\"choices\":[{\"delta\":{\"reasoning\":\" thinking B\"}}]},$(txt answer),$stop]}]}" \
    '[ $rc -eq 0 ] && [ "$(cat out)" = answer ] && grep -q "reasoning: thinking A thinking B" err'
llm "llama.cpp's bare ':' keep-alive frames and CRLF line ends are absorbed" \
    "{\"steps\":[{\"headers\":{\"Content-Type\":\"text/event-stream\"},\"chunked\":true,\"split\":5,\"body\":\":\\r\\n\\r\\n: ping\\r\\ndata: $(txt kept | sed 's/"/\\"/g')\\r\\n\\r\\n:\\n\\ndata: $(echo "$stop" | sed 's/"/\\"/g')\\r\\rdata: [DONE]\\r\\r\"}]}" \
    '[ $rc -eq 0 ] && [ "$(cat out)" = kept ]'
llm "error as a string in a 200 stream: exit 1, the message on one line" \
    '{"steps":[{"sse":[{"error":"the model crashed"}]}]}' \
    '[ $rc -eq 1 ] && grep -q "^vtcode: lmstudio: error in the stream: the model crashed" err && [ $(wc -l <err) -eq 1 ] && ! [ -s out ]'
llm "error as an object in a 200 stream" \
    '{"steps":[{"sse":[{"error":{"message":"invalid tool schema","type":"invalid_request_error"}}]}]}' \
    '[ $rc -eq 1 ] && grep -q "invalid tool schema" err && [ "$($q count m.log)" = 1 ]'
llm "a 200 stream that ends with no output: a clear error" \
    '{"steps":[{"sse":["[DONE]"]}]}' \
    '[ $rc -eq 1 ] && grep -q "ended the stream without any output" err'
llm "a stream cut off before its end: an error, not a silent half answer" \
    "{\"steps\":[{\"sse\":[$(txt half)]},{\"sse\":[$(txt half)]},{\"sse\":[$(txt half)]},{\"sse\":[$(txt half)]}]}" \
    '[ $rc -eq 1 ] && grep -q "stream ended before the answer was complete" err'
llm "invalid JSON in data: one line, not retried" \
    '{"steps":[{"sse":["{not json"]}]}' \
    '[ $rc -eq 1 ] && grep -q "invalid JSON in the stream" err && [ $(wc -l <err) -eq 1 ] && [ "$($q count m.log)" = 1 ]'
llm "invalid tool arguments and unknown tools become tool errors the model sees" \
    "{\"steps\":[{\"sse\":[{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"a\",\"function\":{\"name\":\"read_file\",\"arguments\":\"{oops\"}},{\"index\":1,\"id\":\"b\",\"function\":{\"name\":\"format_disk\",\"arguments\":\"{}\"}},{\"index\":2,\"id\":\"c\",\"function\":{\"name\":\"read_file\",\"arguments\":\"{\\\"path\\\":\\\"../../etc/passwd\\\"}\"}}]}}]},$fin]},{\"sse\":[$(txt sorry),$stop]}]}" \
    '[ $rc -eq 0 ] && $q get m.log 1 messages.3.content | grep -q "arguments must be a JSON object" &&
     $q get m.log 1 messages.4.content | grep -q "no tool named format_disk" &&
     $q get m.log 1 messages.5.content | grep -q "is not allowed: paths stay beneath the workspace root"'
ln -s /etc/passwd "$lw/ws/link"
llm "read_file through a symlink that leaves the workspace: a tool error; a plain file still reads (positive control)" \
    "{\"steps\":[{\"sse\":[{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"a\",\"function\":{\"name\":\"read_file\",\"arguments\":\"{\\\"path\\\":\\\"link\\\"}\"}},{\"index\":1,\"id\":\"b\",\"function\":{\"name\":\"read_file\",\"arguments\":\"{\\\"path\\\":\\\"a.txt\\\"}\"}}]}}]},$fin]},{\"sse\":[$(txt ok),$stop]}]}" \
    '$q get m.log 1 messages.3.content | grep -q "symbolic link: refused" && ! $q get m.log 1 messages.3.content | grep -q root: &&
     [ "$($q get m.log 1 messages.4.content)" = hello ]'
rm "$lw/ws/link"
python3 -c '
import json
steps = [{"sse": [{"choices": [{"delta": {"tool_calls": [{"index": 0, "id": "c%d" % k, "function": {"name": "read_file",
    "arguments": json.dumps({"path": "a.txt", "offset": 1, "limit": k + 1})}}]}}]},
    {"choices": [{"delta": {}, "finish_reason": "tool_calls"}]}]} for k in range(60)]
print(json.dumps({"steps": steps}))' >"$lw/turns.json"
llm "a model that never stops calling tools: stopped at MAXTURNS (50)" "$(cat "$lw/turns.json")" \
    '[ $rc -eq 1 ] && grep -q "stopped after MAXTURNS (50) model turns" err && [ "$($q count m.log)" = 50 ]'
printf '{"steps":[{"sse":[%s,%s]}]}\n' "$(txt ok)" "$stop" >"$lw/stdin.json"
if mock "$lw/stdin.json"; then
	printf 'a prompt\nfrom stdin, two lines\n' | (cd "$lw/ws" && XDG_CONFIG_HOME="$lw/xdg" "$vt" \
	    --base-url "http://127.0.0.1:$(cat "$lw/m.port")/v1" -m test exec - >"$lw/out" 2>"$lw/err")
	echo $? >"$lw/rc"
	mockstop
	t "exec -: the prompt is read from stdin, whole" sh -c '
		cd "$1" && [ "$(cat rc)" -eq 0 ] && [ "$(cat out)" = ok ] &&
		[ "$($2 get m.log 0 messages.1.content)" = "$(printf "a prompt\nfrom stdin, two lines\n")" ]' - "$lw" "$q"
fi
head -c 70000 /dev/zero | tr '\0' a >"$lw/ws/long.txt"
llm "read_file of a line longer than MAXTOOLOUTPUT: its start, and a note saying so" \
    "{\"steps\":[{\"sse\":[{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"l\",\"function\":{\"name\":\"read_file\",\"arguments\":\"{\\\"path\\\":\\\"long.txt\\\"}\"}}]}}]},$fin]},{\"sse\":[$(txt ok),$stop]}]}" \
    '[ $rc -eq 0 ] && [ "$($q get m.log 1 messages.3.content | head -n 1 | tr -d a | wc -c)" -eq 1 ] &&
     [ "$($q get m.log 1 messages.3.content | head -n 1 | wc -c)" -gt 60000 ] &&
     $q get m.log 1 messages.3.content | grep -q "only its start is shown"'
rm -f "$lw/ws/long.txt"
export XDG_STATE_HOME="$lw/rstate"
llm "the same tool call again and again: stopped at MAXREPEAT" \
    "{\"repeat_last\":true,\"steps\":[{\"sse\":[$tc,$fin]}]}" \
    '[ $rc -eq 1 ] && grep -q "same read_file call 4 times: stopped" err && [ "$($q count m.log)" = 4 ]'
unset XDG_STATE_HOME
t "stopped at MAXREPEAT: the session is saved with every call answered (the stopped one: not run)" sh -c '
	f=$(ls "$1"/rstate/vtcode/sessions/*.md) && [ $(grep -c "^#### Tool call$" "$f") -eq 4 ] &&
	[ $(grep -c "^#### Tool result$" "$f") -eq 4 ] &&
	grep -q "^not run: the model made the same read_file call 4 times: stopped (MAXREPEAT)" "$f"' - "$lw"
python3 -c '
import json
spell = ["{\"path\":\"a.txt\"}", "{ \"path\" : \"a.txt\" }", "{\"path\":\"./a.txt\"}",
         "{\"pa\\u0074h\":\"a.txt\"}", "{\"path\":\"a.txt\"}", "{\"path\":\"a.txt\"}"]
steps = [{"sse": [{"choices": [{"delta": {"tool_calls": [{"index": 0, "id": "s%d" % k, "function": {"name": "read_file",
    "arguments": a}}]}}]}, {"choices": [{"delta": {}, "finish_reason": "tool_calls"}]}]} for k, a in enumerate(spell)]
print(json.dumps({"steps": steps}))' >"$lw/spell.json"
llm "the same call spelt four ways (spaces, ./, an escaped key) is the same call: stopped at MAXREPEAT" "$(cat "$lw/spell.json")" \
    '[ $rc -eq 1 ] && grep -q "same read_file call 4 times: stopped" err && [ "$($q count m.log)" = 4 ]'
llm "LM Studio's 'No models loaded': said so with a hint, not retried" \
    '{"steps":[{"status":400,"json":{"error":"No models loaded. Please load a model in the developer page or use the `lms load` command."}}]}' \
    '[ $rc -eq 1 ] && grep -q "HTTP 400: No models loaded.*load a model in the server" err && [ "$($q count m.log)" = 1 ]'
llm "an unknown model: said so" \
    '{"steps":[{"status":404,"json":{"error":{"message":"The model `test` does not exist","type":"invalid_request_error","code":"model_not_found"}}}]}' \
    '[ $rc -eq 1 ] && grep -q "HTTP 404: The model .test. does not exist (load a model" err'
seq 1 5000 >"$lw/ws/big.txt"
llm "context length exceeded after a big tool result: the oldest results are dropped (each call keeps one), asked again" \
    "{\"steps\":[{\"sse\":[{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"b\",\"function\":{\"name\":\"read_file\",\"arguments\":\"{\\\"path\\\":\\\"big.txt\\\"}\"}}]}}]},$fin]},{\"status\":400,\"json\":{\"error\":{\"message\":\"maximum context length exceeded\",\"code\":\"context_length_exceeded\"}}},{\"sse\":[$(txt ok),$stop]}]}" \
    '[ $rc -eq 0 ] && [ "$(cat out)" = ok ] && [ "$($q count m.log)" = 3 ] &&
     $q get m.log 1 messages.3.content | grep -q "^1999$" &&
     $q get m.log 2 messages.3.content | grep -q "^\[vtcode: this tool result ([0-9]* bytes) was dropped to fit the model.s context window\]$" &&
     [ "$($q get m.log 2 messages.2.tool_calls.0.id)" = b ] && [ "$($q get m.log 2 messages.3.tool_call_id)" = b ] &&
     grep -q "outgrew the model.s context: 1 older tool results dropped, asking again" err'
rm -f "$lw/ws/big.txt"
llm "context length exceeded: its own error" \
    '{"steps":[{"status":400,"json":{"error":{"message":"This model'"'"'s maximum context length is 4096 tokens.","code":"context_length_exceeded"}}}]}' \
    '[ $rc -eq 1 ] && grep -q "longer than the model.s context window" err'
llm "llama.cpp's context error (exceed_context_size_error, a numeric code): the context error with its hint" \
    '{"steps":[{"status":400,"json":{"error":{"code":400,"message":"request (9412 tokens) exceeds the available context size (8192 tokens), try increasing it","type":"exceed_context_size_error","n_prompt_tokens":9412,"n_ctx":8192}}}]}' \
    '[ $rc -eq 1 ] && grep -q "HTTP 400: request (9412 tokens) exceeds the available context size.*longer than the model.s context window" err'
llm "quota exhausted (429 insufficient_quota): not retried" \
    '{"steps":[{"status":429,"json":{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","code":"insufficient_quota"}}}]}' \
    '[ $rc -eq 1 ] && grep -q "quota exhausted: not retried" err && [ "$($q count m.log)" = 1 ]'
export LMSTUDIO_API_KEY=sk-vtcode-test-secret-1
llm "401: names the variable; the key went as a Bearer token and is never printed" \
    '{"steps":[{"status":401,"json":{"error":{"message":"Incorrect API key provided","type":"invalid_request_error","code":"invalid_api_key"}}}]}' \
    '[ $rc -eq 1 ] && grep -q "check the key in LMSTUDIO_API_KEY" err &&
     [ "$($q get m.log 0 headers.authorization)" = "Bearer sk-vtcode-test-secret-1" ] && ! grep -q sk-vtcode err out'
llm "401 with a body that is not JSON: still names the variable" \
    '{"steps":[{"status":401,"body":"Unauthorized"}]}' \
    '[ $rc -eq 1 ] && grep -q "HTTP 401: Unauthorized (check the key in LMSTUDIO_API_KEY)" err && ! grep -q sk-vtcode err out'
unset LMSTUDIO_API_KEY
llm "503 twice with retry-after-ms, then an answer: retried after the server's delay" \
    "{\"steps\":[{\"status\":503,\"headers\":{\"retry-after-ms\":\"30\"},\"json\":{\"error\":\"busy\"}},{\"status\":503,\"headers\":{\"retry-after\":\"0.05\"},\"json\":{\"error\":\"busy\"}},{\"sse\":[$(txt third),$stop]}]}" \
    '[ $rc -eq 0 ] && [ "$(cat out)" = third ] && [ "$($q count m.log)" = 3 ] &&
     grep -q "retry 1 of 3 in 30 ms" err && grep -q "retry 2 of 3 in 50 ms" err'
llm "Retry-After as an HTTP date already past: retried at once" \
    "{\"steps\":[{\"status\":503,\"headers\":{\"retry-after\":\"Sun, 06 Nov 1994 08:49:37 GMT\"},\"json\":{\"error\":\"busy\"}},{\"sse\":[$(txt again),$stop]}]}" \
    '[ $rc -eq 0 ] && [ "$(cat out)" = again ] && grep -q "retry 1 of 3 in 0 ms" err'
soon=$(LC_ALL=C date -u -d '+3 sec' '+%a, %d %b %Y %H:%M:%S GMT')
llm "Retry-After as an HTTP date 3 s ahead: waited until then (2 or 3 s; the backoff is at most 1 s)" \
    "{\"steps\":[{\"status\":503,\"headers\":{\"retry-after\":\"$soon\"},\"json\":{\"error\":\"busy\"}},{\"sse\":[$(txt later),$stop]}]}" \
    '[ $rc -eq 0 ] && [ "$(cat out)" = later ] && grep -q "retry 1 of 3 in [23]000 ms" err'
llm "a 400 validation error is not retried" \
    '{"steps":[{"status":400,"json":{"error":{"message":"messages: field required","type":"invalid_request_error"}}}]}' \
    '[ $rc -eq 1 ] && [ "$($q count m.log)" = 1 ] && grep -q "HTTP 400: messages: field required" err'

echo "== models: Anthropic"
export ANTHROPIC_API_KEY=sk-ant-vtcode-test-2
llmpre="-P anthropic"
llm "Anthropic: text then a tool_use block; the result goes back as a tool_result" \
    "{\"steps\":[{\"sse_file\":\"$testdata/llm/anthropic/tool_use_response.sse\",\"split\":3},{\"sse_file\":\"$testdata/llm/anthropic/basic_response.sse\"}]}" \
    '[ $rc -eq 0 ] && printf "I'"'"'ll check the current weather in Paris for you.\nHello there!\n" | cmp - out &&
     [ "$($q get m.log 0 path)" = /v1/messages ] && [ "$($q get m.log 0 headers.x-api-key)" = sk-ant-vtcode-test-2 ] &&
     [ "$($q get m.log 0 headers.anthropic-version)" = 2023-06-01 ] && [ "$($q get m.log 0 max_tokens)" -gt 0 ] &&
     ! $q get m.log 0 headers.authorization >/dev/null &&
     [ "$($q get m.log 1 messages.1.content.1.id)" = toolu_01NRLabsLyVHZPKxbKvkfSMn ] &&
     [ "$($q get m.log 1 messages.1.content.1.input)" = "{\"location\": \"Paris\"}" ] &&
     [ "$($q get m.log 1 messages.2.content.0.type)" = tool_result ] &&
     [ "$($q get m.log 1 messages.2.content.0.tool_use_id)" = toolu_01NRLabsLyVHZPKxbKvkfSMn ] &&
     [ "$($q get m.log 1 messages.2.content.0.is_error)" = true ] && ! grep -q sk-ant err out'
llm "Anthropic: an empty partial_json means {}; a refusal is an error" \
    '{"steps":[{"events":[["message_start",{"type":"message_start","message":{"usage":{"input_tokens":5}}}],["content_block_start",{"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_1","name":"list_files","input":{}}}],["content_block_delta",{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":""}}],["content_block_stop",{"type":"content_block_stop","index":0}],["message_delta",{"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":3}}],["message_stop",{"type":"message_stop"}]]},{"sse_file":"'"$testdata"'/llm/anthropic/refusal_response.sse"}]}' \
    '[ $rc -eq 1 ] && [ "$($q get m.log 1 messages.1.content.0.input)" = "{}" ] &&
     $q get m.log 1 messages.2.content.0.content | grep -qx a.txt && grep -q "refused to answer" err'
llm "Anthropic: overloaded_error inside the stream is retried" \
    "{\"steps\":[{\"events\":[[\"error\",{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}]]},{\"sse_file\":\"$testdata/llm/anthropic/basic_response.sse\"}]}" \
    '[ $rc -eq 0 ] && [ "$(cat out)" = "Hello there!" ] && grep -q "Overloaded; retry 1 of 3" err'
unset ANTHROPIC_API_KEY
llmpre=

echo "== models: servers that misbehave (one-line errors, bounded memory)"
printf 'timeout_ms = 1500\n' >"$lw/xdg/vtcode.toml"
mkdir -p "$lw/xdg/vtcode" && mv "$lw/xdg/vtcode.toml" "$lw/xdg/vtcode/vtcode.toml"
# bs NAME SCRIPT ERROR: exit 1, exactly one line on stderr containing
# ERROR, peak RSS under 32 MB
bs() {
	llm "$1" "$2" '[ $rc -eq 1 ] && grep -q "'"$3"'" err && [ $(grep -vc "^peak RSS" err) -eq 1 ] &&
	    [ "$(sed -n "s/^peak RSS \([0-9]*\) KB/\1/p" err)" -lt 32768 ]'
}
# the RSS wrapper goes in front of vtcode for these
vxsaved=$vt
vt="$lw/rssvt"
printf '#!/bin/sh\nexec python3 %s/tests/llmcheck.py rss 32768 %s "$@"\n' "$top" "$vxsaved" >"$vt"
chmod +x "$vt"
bs "oversized response head" '{"steps":[{"big_headers":200000}]}' "response head larger than MAXHTTPHEADERS"
bs "chunk size ffffffffffffffff" '{"steps":[{"raw":"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n"}]}' "chunk size overflows\|chunk of .* bytes"
bs "a 1 GB Content-Length" '{"steps":[{"raw":"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: 1073741824\r\n\r\ndata: x\n\n","hang":true}]}' "Content-Length 1073741824 exceeds MAXHTTPBODY"
bs "a stream that never ends: the request time limit fires" '{"steps":[{"infinite":true,"interval_ms":20}]}' "request time limit"
bs "a server that accepts and says nothing: the time limit fires" '{"steps":[{"hang":true}]}' "no answer for"
bs "a line of 5 MB in the stream" '{"steps":[{"raw":"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\ndata: '"$(head -c 5000000 /dev/zero | tr '\0' a)"'"}]}' "line longer than MAXSSELINE"
bs "not HTTP at all" '{"steps":[{"raw":"SSH-2.0-OpenSSH_9.2\r\n"}]}' "not an HTTP/1.x status line"
vt=$vxsaved
rm -f "$lw/xdg/vtcode/vtcode.toml"

echo "== the agent's own sandbox"
mkdir -p "$tmp/home/.ssh"
echo secret >"$tmp/home/.ssh/id_test"
python3 -c '
import socket, sys, time
a = socket.socket(); a.bind(("127.0.0.1", 0)); a.listen()
b = socket.socket(); b.bind(("127.0.0.1", 0)); b.listen()
print(a.getsockname()[1], b.getsockname()[1], flush=True); time.sleep(30)' >"$lw/ports" &
lpid=$!
i=0
while ! [ -s "$lw/ports" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
read -r p1 p2 <"$lw/ports"
(cd "$lw/ws" && XDG_CONFIG_HOME="$lw/xdg" ASAN_OPTIONS=detect_leaks=0 "$top/tests/unit" selfbox \
    "http://127.0.0.1:$p1/v1" "$tmp/home/.ssh/id_test" "$p2") >"$lw/self" 2>&1
# the same in a trusted workspace, where run_command is offered
mkdir -p "$lw/tws" && cp "$lw/ws/a.txt" "$lw/tws/"
(cd "$lw/tws" && XDG_CONFIG_HOME="$lw/xdg" "$vt" trust >/dev/null &&
    XDG_CONFIG_HOME="$lw/xdg" ASAN_OPTIONS=detect_leaks=0 "$top/tests/unit" selfbox \
    "http://127.0.0.1:$p1/v1" "$tmp/home/.ssh/id_test" "$p2") >"$lw/tself" 2>&1
kill $lpid 2>/dev/null
t "agent sandbox, untrusted workspace: no temp dir is made and no pty can be opened" sh -c '
	grep -q "^trusted 0, temp dir none$" "$1" && grep -q "^ptmx: Permission denied$" "$1"' - "$lw/self"
t "agent sandbox, trusted workspace (control): the temp dir is made and a pty opens" sh -c '
	grep -q "^trusted 1, temp dir made$" "$1" && grep -q "^ptmx: ok$" "$1" &&
	grep -q "^read .*id_test: Permission denied$" "$1"' - "$lw/tself"

echo "== Ctrl-C while run_command runs"
mkfifo "$lw/tws/fifo"
kcall='{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"k","function":{"name":"run_command","arguments":"{\"command\":\"cat fifo\",\"timeout_ms\":900000}"}}]}}]}'
printf '{"steps":[{"sse":[%s,%s]},{"sse":[%s,%s]}]}\n' "$kcall" "$fin" "$(txt 'read it')" "$stop" >"$lw/k.json"
# kx: vtcode exec in the trusted workspace, in the background ($kpid);
# then wait (at most 5 s) until the command is running
# (SIGINT back to its default first: a shell starts background jobs
# with it ignored, and vtcode leaves an ignored signal ignored)
kx() {
	(cd "$lw/tws" && XDG_CONFIG_HOME="$lw/xdg" exec python3 -c '
import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execv(sys.argv[1], sys.argv[1:])' "$vt" --base-url "http://127.0.0.1:$(cat "$lw/k.port")/v1" \
	    -m test exec "read the fifo" >"$lw/k.out" 2>"$lw/k.err") &
	kpid=$!
	i=0
	while ! pgrep -f "^/.*cat fifo$" >/dev/null && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
	kseen=$i
}
if mock "$lw/k.json" "$lw/k"; then
	tmpdirs >"$tmp/dirs0"
	kx
	made=$(newdirs "$tmp/dirs0")
	s0=$(date +%s)
	kill -INT $kpid
	wait $kpid
	rc=$?
	s1=$(date +%s)
	mockstop "$lw/k"
	t "Ctrl-C while run_command waits: the command is killed at once, exec exits 130" sh -c '
		[ $4 -lt 100 ] && [ $1 -eq 130 ] && [ $(($3 - $2)) -le 5 ] && ! pgrep -f "^/.*cat fifo$" >/dev/null' - $rc $s0 $s1 $kseen
	t "Ctrl-C while run_command waits: the temp dir is removed" sh -c '[ -n "$1" ] && [ $(printf "%s\n" "$1" | wc -l) -eq 1 ] && ! [ -e "$1" ]' - "$made"
else
	bad "Ctrl-C: the mock did not start"
fi
if mock "$lw/k.json" "$lw/k"; then
	kx
	timeout 10 sh -c 'echo fed >"$1"' - "$lw/tws/fifo"
	wait $kpid
	rc=$?
	mockstop "$lw/k"
	t "control: the same command, its fifo fed, ends and the answer comes (exit 0; timeout_ms 900000 capped, not refused)" sh -c '
		[ $1 -eq 0 ] && [ "$(cat "$2")" = "read it" ] && grep -qF "fed\\n[exit status 0]" "$3"' - $rc "$lw/k.out" "$lw/k.log"
else
	bad "Ctrl-C control: the mock did not start"
fi
t "agent sandbox: ~/.ssh is out of reach; the workspace is not (control)" sh -c '
	grep -q "^read .*id_test: Permission denied$" "$1" && grep -q "^read a.txt: ok$" "$1"' - "$lw/self"
if [ "$(sed -n "s/^abi //p" "$lw/self")" -ge 4 ] 2>/dev/null; then
	t "agent sandbox: TCP to a port no provider uses is refused; the provider's port is not (control)" sh -c '
		grep -q "^connect other: Permission denied$" "$1" && grep -q "^connect provider: ok$" "$1"' - "$lw/self"
else
	skipped "agent sandbox: TCP ports need Landlock ABI 4"
fi
t "agent sandbox: ptrace is refused by its seccomp filter" grep -q "^ptrace: Operation not permitted$" "$lw/self"

echo "== models: failover, model discovery, vtcode check"
# the CA bundle as other systems write it: CR LF lines, a byte order
# mark; one damaged certificate costs that one and is reported
ca=/etc/ssl/certs/ca-certificates.crt
python3 - "$ca" "$tmp" <<'PY'
import sys
s = open(sys.argv[1]).read()
open(sys.argv[2] + "/ca-crlf.pem", "w", newline="").write(s.replace("\n", "\r\n"))
open(sys.argv[2] + "/ca-bom.pem", "w").write("\ufeff" + s)
p = s.split("-----BEGIN CERTIFICATE-----")
l = p[3].split("\n")
l[3] = l[3][:10] + "*" + l[3][11:]
p[3] = "\n".join(l)
open(sys.argv[2] + "/ca-bad.pem", "w").write("-----BEGIN CERTIFICATE-----".join(p))
q = s.split("-----BEGIN CERTIFICATE-----")
q[1] = q[1][:300] + "\n"    # the first cut short: no END line
open(sys.argv[2] + "/ca-cut.pem", "w").write("-----BEGIN CERTIFICATE-----".join(q))
PY
for f in "$ca" "$tmp/ca-crlf.pem" "$tmp/ca-bom.pem" "$tmp/ca-bad.pem" "$tmp/ca-cut.pem"; do
	(cd "$lw/ws" && XDG_CONFIG_HOME="$lw/xdg" VTCODE_CA_FILE=$f "$vt" check 2>&1 | sed -n 's/^TLS: CA bundle [^,]*, //p')
done >"$tmp/ca.out"
nca=$(sed -n '1s/ trust anchors$//p' "$tmp/ca.out")
t "CA bundle: CR LF lines and a byte order mark read as LF ($nca anchors each)" sh -c '
	[ -n "$2" ] && [ "$2" -gt 1 ] && [ "$(sed -n 2p "$1")" = "$2 trust anchors" ] && [ "$(sed -n 3p "$1")" = "$2 trust anchors" ]' - "$tmp/ca.out" "$nca"
t "CA bundle: a damaged certificate is skipped, the others kept, and vtcode check says so" sh -c '
	[ "$(sed -n 4p "$1")" = "$(($2 - 1)) trust anchors (1 damaged certificates in it skipped)" ]' - "$tmp/ca.out" "$nca"
t "CA bundle: one cut short (no END line) costs only itself, not the next" sh -c '
	[ "$(sed -n 5p "$1")" = "$(($2 - 1)) trust anchors (1 damaged certificates in it skipped)" ]' - "$tmp/ca.out" "$nca"
# two mock servers: lmstudio always 503, ollama answers
printf '{"repeat_last":true,"steps":[{"status":503,"headers":{"retry-after-ms":"10"},"json":{"error":"loading"}}]}\n' >"$lw/s1.json"
printf '{"steps":[{"path":"/v1/models","json":{"object":"list","data":[{"id":"qwen-local","object":"model"}]}},{"sse":[%s,%s]}]}\n' "$(txt 'from ollama')" "$stop" >"$lw/s2.json"
if mock "$lw/s1.json" "$lw/a" && mock "$lw/s2.json" "$lw/b"; then
	printf '[base_urls]\nlmstudio = "http://127.0.0.1:%s/v1"\nollama = "http://127.0.0.1:%s/v1/"\n' \
	    "$(cat "$lw/a.port")" "$(cat "$lw/b.port")" >"$lw/xdg/vtcode/vtcode.toml"
	LMSTUDIO_API_KEY=sk-vtcode-test-3 vx -m test exec "go"
	mockstop "$lw/a"
	mockstop "$lw/b"
	t "failover: lmstudio's 503s spend its retries, ollama answers, stderr says so" sh -c '
		cd "$1" && [ "$(cat rc)" -eq 0 ] && [ "$(cat out)" = "from ollama" ] &&
		[ "$($2 count a.log)" = 4 ] && grep -q "^vtcode: lmstudio: HTTP 503: loading; failing over to ollama$" err' - "$lw" "$q"
	t "failover: the key stays with its provider; ollama picks its first listed model (-m was for lmstudio)" sh -c '
		cd "$1" && [ "$($2 get a.log 0 headers.authorization)" = "Bearer sk-vtcode-test-3" ] &&
		! $2 get b.log 1 headers.authorization && [ "$($2 get b.log 0 path)" = /v1/models ] &&
		[ "$($2 get b.log 1 model)" = qwen-local ] && ! grep -rq sk-vtcode-test-3 b.log' - "$lw" "$q"
else
	bad "failover: the mock servers did not start"
fi
# a base URL set for one provider (the user's base_url beside its
# provider; VTCODE_BASE_URL beside VTCODE_PROVIDER) is not used for
# another: that one's key never goes there
printf '{"repeat_last":true,"steps":[{"path":"/v1/models","json":{"data":[{"id":"m"}]}}]}\n' >"$lw/s5.json"
if mock "$lw/s5.json" "$lw/a" && mock "$lw/s5.json" "$lw/b"; then
	printf 'provider = "lmstudio"\nbase_url = "http://127.0.0.1:%s/v1"\n[base_urls]\nopenai = "http://127.0.0.1:%s/v1"\n' \
	    "$(cat "$lw/a.port")" "$(cat "$lw/b.port")" >"$lw/xdg/vtcode/vtcode.toml"
	OPENAI_API_KEY=sk-vtcode-test-4 vx -P openai check
	t "the user's base_url (for lmstudio) is not used for -P openai: its key goes to openai's own URL only; a warning says so" sh -c '
		cd "$1" && [ "$($2 count a.log)" = 0 ] && [ "$($2 get b.log 0 headers.authorization)" = "Bearer sk-vtcode-test-4" ] &&
		grep -q "^vtcode: the config.s base_url is lmstudio.s, not openai.s: not used" err' - "$lw" "$q"
	OPENAI_API_KEY=sk-vtcode-test-4 vx check
	t "control: without -P, lmstudio is chosen and its base_url used" sh -c '
		cd "$1" && [ "$($2 count a.log)" = 1 ] && [ "$($2 get a.log 0 path)" = /v1/models ] &&
		! $2 get a.log 0 headers.authorization' - "$lw" "$q"
	VTCODE_BASE_URL="http://127.0.0.1:$(cat "$lw/a.port")/v1" OPENAI_API_KEY=sk-vtcode-test-4 vx -P openai check
	t "VTCODE_BASE_URL (for the provider in force without -P) is not used for -P openai, and a warning says so" sh -c '
		cd "$1" && [ "$($2 count a.log)" = 1 ] && [ "$($2 count b.log)" = 2 ] &&
		grep -q "^vtcode: VTCODE_BASE_URL is lmstudio.s, not openai.s: not used (set VTCODE_PROVIDER=openai with it)$" err' - "$lw" "$q"
	VTCODE_PROVIDER=openai VTCODE_BASE_URL="http://127.0.0.1:$(cat "$lw/a.port")/v1" OPENAI_API_KEY=sk-vtcode-test-4 vx check
	t "control: VTCODE_BASE_URL beside VTCODE_PROVIDER=openai is openai's, key and all" sh -c '
		cd "$1" && [ "$($2 count a.log)" = 2 ] && [ "$($2 get a.log 1 headers.authorization)" = "Bearer sk-vtcode-test-4" ]' - "$lw" "$q"
	mockstop "$lw/a"
	mockstop "$lw/b"
else
	bad "base URLs and keys: the mock servers did not start"
fi
printf '{"repeat_last":true,"steps":[{"path":"/v1/models","json":{"data":[{"id":"qwen2.5-coder"},{"id":"other"}]}}]}\n' >"$lw/s3.json"
if mock "$lw/s3.json"; then
	printf '[base_urls]\nlmstudio = "http://127.0.0.1:%s/v1"\n' "$(cat "$lw/m.port")" >"$lw/xdg/vtcode/vtcode.toml"
	vx check
	t "vtcode check: provider, models listed, CA bundle, proxy, sandbox" sh -c '
		cd "$1" && [ "$(cat rc)" -eq 0 ] && grep -q "^provider: lmstudio (openai-compatible), base URL http://127.0.0.1:[0-9]*/v1, model (the server.s first), key LMSTUDIO_API_KEY (not set)$" out &&
		grep -q "^models: the server answers, 2 models listed, first: qwen2.5-coder$" out &&
		grep -q "^TLS: CA bundle /etc/ssl/certs/ca-certificates.crt, [0-9][0-9]* trust anchors$" out &&
		grep -q "^proxy: none (direct: loopback is never proxied)$" out && grep -q "^sandbox: Landlock ABI [1-9]: files" out &&
		grep -q "^agent: restricted itself (Landlock ABI [1-9]" out' - "$lw"
	t "vtcode check: each wall tried, not assumed: the namespace (no protected path here) and the seccomp filter in force" sh -c '
		cd "$1" && grep -q "^sandbox: protected paths: none in this workspace (a .git or .vtcode that a command creates is moved aside; a trust file it writes has no valid seal); all outside the workspace, the user.s temp directory and vtcode.s own directories is read-only in a private mount namespace$" out &&
		grep -q "^sandbox: seccomp: in force (a filter of [0-9]* instructions, required)$" out' - "$lw"
	t "vtcode check: the seccomp programs built in (build/bpf.h) are the ones libseccomp compiles now" sh -c '
		cd "$1" && grep -q "^sandbox: seccomp programs: the ones libseccomp [0-9]*\.[0-9]*\.[0-9]* compiles now$" out &&
		grep -q "^static const struct sock_filter sbxbpf11\[\] = {$" "$2/build/bpf.h"' - "$lw" "$top"
	mkdir -p "$lw/gws" && git init -q "$lw/gws"
	(cd "$lw/gws" && XDG_CONFIG_HOME="$lw/xdg" "$vt" check >"$lw/outg" 2>&1)
	t "vtcode check in a git workspace: the protected paths pinned in the namespace (exit 0)" sh -c '
		[ $1 -eq 0 ] && grep -q "^sandbox: protected paths: pinned read-only in a private mount namespace, where all outside the workspace, the user.s temp directory and vtcode.s own directories is read-only too$" "$2"' - $? "$lw/outg"
	(cd "$lw/ws" && XDG_CONFIG_HOME="$lw/xdg" VTCODE_LANDLOCK_ABI_MAX=2 "$vt" check >"$lw/out2" 2>&1)
	t "vtcode check at Landlock ABI 2: what is covered, what is missing and from which kernel; commands still run (exit 0)" sh -c '
		[ $1 -eq 0 ] && grep -q "^sandbox: Landlock ABI 2: files, renames across dirs; missing: truncate (ABI 3, Linux 6.2), TCP ports (ABI 4, Linux 6.7)" "$2"' - $? "$lw/out2"
	mkdir -p "$lw/lnk" && ln -sf /tmp "$lw/lnk/.git"
	(cd "$lw/lnk" && XDG_CONFIG_HOME="$lw/xdg" "$vt" check >"$lw/out3" 2>&1)
	t "vtcode check: a .git that is a symlink: the protected paths reported missing, with the runner's own reason (the probe runs the runner's steps)" sh -c '
		[ $1 -eq 1 ] && grep -q "^sandbox: protected paths: missing (.*/lnk/.git is a symbolic link: protected paths cannot be pinned, refusing to run): commands are refused$" "$2"' - $? "$lw/out3"
	rm -rf "$lw/lnk"
	(cd "$lw/ws" && XDG_CONFIG_HOME="$lw/xdg" VTCODE_LANDLOCK_ABI_MAX=0 "$vt" check >"$lw/out2" 2>&1)
	t "vtcode check below the Landlock floor: exit 1, commands are refused and why; the agent's own sandbox is not capped (the kernel's ABI)" sh -c '
		[ $1 -eq 1 ] && grep -q "^sandbox: Landlock ABI 0; missing: files (ABI 1, Linux 5.13).*: commands are refused (below SBXLANDLOCKMIN: VTCODE_LANDLOCK_ABI_MAX)$" "$2" &&
		grep -q "^agent: restricted itself (Landlock ABI [1-9][0-9]*, TCP only to" "$2"' - $? "$lw/out2"
	mockstop
fi
python3 -c '
import json
print(json.dumps({"steps": [{"path": "/v1/models", "json": {"data": [{"id": "model-%04d" % i, "object": "model", "owned_by": "x" * 40} for i in range(2000)]}}]}))' >"$lw/s4.json"
if mock "$lw/s4.json"; then
	printf '[base_urls]\nlmstudio = "http://127.0.0.1:%s/v1"\n' "$(cat "$lw/m.port")" >"$lw/xdg/vtcode/vtcode.toml"
	vx check
	mockstop
	t "vtcode check: a model list of 160 KB is read whole" sh -c '
		cd "$1" && [ "$(cat rc)" -eq 0 ] && grep -q "^models: the server answers, 2000 models listed, first: model-0000$" out' - "$lw"
fi
printf '[base_urls]\nlmstudio = "http://127.0.0.1:9/v1"\n' >"$lw/xdg/vtcode/vtcode.toml"
vx check
t "vtcode check: a provider that does not answer is exit 1 with the reason" sh -c '
	cd "$1" && [ "$(cat rc)" -eq 1 ] && grep -q "^models: 127.0.0.1 port 9: connect: Connection refused" out' - "$lw"
rm -f "$lw/xdg/vtcode/vtcode.toml"

t "make demo: a whole scripted session, no model needed" sh -c '
	$1 -s demo >"$2/demo" 2>&1 && grep -q "^This workspace holds one C program, src/hello.c" "$2/demo" &&
	grep -q "^vtcode: list_files \.$" "$2/demo" && grep -q "^vtcode: read_file src/hello.c$" "$2/demo" &&
	grep -q "it sent 3 requests" "$2/demo"' - "$MAKE" "$tmp"

printf '{"steps":[{"sse":[%s,%s]},{"infinite":true,"interval_ms":30},{"sse":[%s,%s]}]}\n' \
    "$(txt 'first answer')" "$stop" "$(txt 'third answer')" "$stop" >"$lw/i.json"
if mock "$lw/i.json"; then
	XDG_CONFIG_HOME="$lw/xdg" python3 tests/interactive.py "$vt" "$lw/ws" "$(cat "$lw/m.port")" "$lw/m.log" >"$tmp/out" 2>&1
	mockstop
	while read -r r rest; do
		case $r in ok) ok "$rest" ;; FAIL) bad "$rest" ;; esac
	done <"$tmp/out"
	grep -q "^ok   interactive: Ctrl-D" "$tmp/out" || { bad "interactive: the pty driver ran"; cat "$tmp/out"; }
else
	bad "interactive: the mock did not start"
fi

echo "== models over TLS: a real OpenSSL peer (socat), a CA made for the test"
tw=$tmp/tls
if sh tests/tls.sh certs "$tw" >"$tmp/out" 2>&1; then
	printf '{"repeat_last":true,"steps":[{"sse":[%s,%s]}]}\n' "$(txt 'over TLS')" "$stop" >"$lw/tls.json"
	mock "$lw/tls.json" "$lw/t"
	# front NAME [tls13]: a TLS front for the mock; its port in $tw/NAME.port
	front() {
		sh tests/tls.sh serve "$tw" "$1" "$(cat "$lw/t.port")" "$tw/$1${2:-}.port" ${2:-} >"$tw/$1${2:-}.pid"
	}
	for f in good wrongname expired unknown "good tls13"; do
		# shellcheck disable=SC2086
		front $f || bad "TLS front $f did not start"
	done
	# tx NAME[tls13] HOST CHECK: vtcode exec against the front, CA bundle =
	# the test CA unless CAFILE is set
	tx() {
		(cd "$lw/ws" && XDG_CONFIG_HOME="$lw/xdg" VTCODE_CA_FILE="${CAFILE:-$tw/ca.pem}" \
		    timeout 60 "$vt" --base-url "https://$2:$(cat "$tw/$1.port")/v1" -m test exec hi \
		    >"$lw/out" 2>"$lw/err"); echo $? >"$lw/rc"
	}
	tx good localhost
	t "TLS: the test CA's certificate for localhost: the answer arrives" sh -c '
		cd "$1" && [ "$(cat rc)" -eq 0 ] && [ "$(cat out)" = "over TLS" ]' - "$lw"
	tx unknown localhost
	t "TLS: a certificate from an unknown CA: refused, said so, not retried" sh -c '
		cd "$1" && [ "$(cat rc)" -eq 1 ] && grep -q "^vtcode: lmstudio: localhost: TLS: certificate not signed by a trusted CA (CA bundle .*/ca.pem)$" err &&
		[ $(wc -l <err) -eq 1 ]' - "$lw"
	CAFILE=/etc/ssl/certs/ca-certificates.crt tx good localhost
	t "TLS: the system bundle does not trust the test CA either" sh -c '
		cd "$1" && [ "$(cat rc)" -eq 1 ] && grep -q "certificate not signed by a trusted CA (CA bundle /etc/ssl/certs/ca-certificates.crt)" err' - "$lw"
	tx wrongname localhost
	t "TLS: a certificate for another host name: refused" sh -c '
		cd "$1" && [ "$(cat rc)" -eq 1 ] && grep -q "localhost: TLS: certificate does not match the host name" err' - "$lw"
	tx expired localhost
	t "TLS: an expired certificate: refused" sh -c '
		cd "$1" && [ "$(cat rc)" -eq 1 ] && grep -q "localhost: TLS: certificate expired or not yet valid" err' - "$lw"
	tx goodtls13 localhost
	t "TLS: a TLS-1.3-only server: 'requires TLS 1.3'" sh -c '
		cd "$1" && [ "$(cat rc)" -eq 1 ] && grep -q "localhost: TLS: server requires TLS 1.3; vtcode speaks TLS 1.2" err' - "$lw"
	(cd "$lw/ws" && XDG_CONFIG_HOME="$lw/xdg" VTCODE_CA_FILE="$tw/ca.pem" timeout 60 "$vt" \
	    --base-url "https://localhost:$(cat "$lw/t.port")/v1" -m test exec hi >"$lw/out" 2>"$lw/err"); echo $? >"$lw/rc"
	t "TLS: a plain http server at an https:// URL: said so, not 'TLS error 3'" sh -c '
		cd "$1" && [ "$(cat rc)" -eq 1 ] && grep -q "localhost: TLS: the server did not answer with TLS (a plain http server at an https:// URL?)$" err' - "$lw"
	# a server that takes the connection and never answers the
	# handshake: NETCONNECTMS of silence ends it, not NETREADMS (5 min)
	python3 -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(4)
print(s.getsockname()[1], flush=True)
time.sleep(120)' >"$lw/mute.port" &
	mpid=$!
	i=0
	while ! [ -s "$lw/mute.port" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
	(cd "$lw/ws" && XDG_CONFIG_HOME="$lw/xdg" VTCODE_CA_FILE="$tw/ca.pem" timeout 100 "$vt" \
	    --base-url "https://localhost:$(cat "$lw/mute.port")/v1" -m test exec hi >"$lw/out" 2>"$lw/err"); echo $? >"$lw/rc"
	kill $mpid 2>/dev/null; wait $mpid 2>/dev/null
	t "TLS: a server that never answers the handshake: given up after NETCONNECTMS of silence" sh -c '
		cd "$1" && [ "$(cat rc)" -eq 1 ] && grep -q "localhost: no answer for 100[0-9][0-9] ms" err' - "$lw"
	for h in 127.0.0.1 127.1 2130706433 10.9.8.7 127.0.0.1.; do
		tx good $h
		t "TLS: an IP address as the host ($h): refused at once, not retried (names are verified, not addresses)" sh -c '
			cd "$1" && [ "$(cat rc)" -eq 1 ] && grep -q "^vtcode: lmstudio: $2: https needs a host name, not an IP address$" err &&
			[ $(wc -l <err) -eq 1 ]' - "$lw" "$h"
	done
	printf 'not a bundle\n' >"$tw/empty.pem"
	CAFILE=$tw/empty.pem tx good localhost
	t "TLS: a CA bundle with no certificate: refused before connecting" sh -c '
		cd "$1" && [ "$(cat rc)" -eq 1 ] && grep -q "CA bundle .*empty.pem: no usable certificate" err' - "$lw"

	echo "== models through a CONNECT proxy"
	rm -f "$lw/p.port" "$lw/p.log"
	python3 tests/proxy.py --port-file "$lw/p.port" --log "$lw/p.log" --auth u1:p%w --map proxied.test=127.0.0.1 2>"$lw/p.err" &
	echo $! >"$lw/p.pid"
	i=0
	while ! [ -s "$lw/p.port" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
	pp=$(cat "$lw/p.port")
	https_proxy="http://u1:p%25w@127.0.0.1:$pp" tx good proxied.test
	t "proxy: https_proxy with user:password reaches the TLS server by CONNECT (SNI and name check for the target)" sh -c '
		cd "$1" && [ "$(cat rc)" -eq 0 ] && [ "$(cat out)" = "over TLS" ] &&
		grep -q "\"target\": \"proxied.test:$2\"" p.log && grep -q "\"proxy_authorization\": \"Basic dTE6cCV3\"" p.log' - "$lw" "$(cat "$tw/good.port")"
	HTTPS_PROXY="http://127.0.0.1:$pp" tx good proxied.test
	t "proxy: HTTPS_PROXY without the password: the 407 is explained" sh -c '
		cd "$1" && [ "$(cat rc)" -eq 1 ] && grep -q "refused CONNECT to proxied.test:[0-9]*: HTTP 407 (proxy authentication required" err' - "$lw"
	n1=$(wc -l <"$lw/p.log")
	https_proxy="http://u1:p%25w@127.0.0.1:$pp" no_proxy="example.org,.test" tx good proxied.test
	t "proxy: no_proxy (a .suffix) bypasses it: a direct connection is tried" sh -c '
		cd "$1" && [ "$(cat rc)" -eq 1 ] && [ $(wc -l <p.log) -eq $2 ] && grep -q "proxied.test" err' - "$lw" "$n1"
	https_proxy="http://u1:p%25w@127.0.0.1:$pp" tx good localhost
	t "proxy: loopback is never proxied" sh -c '
		cd "$1" && [ "$(cat rc)" -eq 0 ] && [ $(wc -l <p.log) -eq $2 ]' - "$lw" "$n1"
	# loopback written the ways the resolver also reads it
	for h in 127.1 2130706433; do
		(cd "$lw/ws" && XDG_CONFIG_HOME="$lw/xdg" http_proxy="http://127.0.0.1:$pp" timeout 60 "$vt" \
		    --base-url "http://$h:$(cat "$lw/t.port")/v1" -m test exec hi >"$lw/out" 2>"$lw/err"); echo $? >"$lw/rc"
		t "proxy: loopback written as $h is not proxied either (plain http, direct)" sh -c '
			cd "$1" && [ "$(cat rc)" -eq 0 ] && [ $(wc -l <p.log) -eq $2 ]' - "$lw" "$n1"
	done
	(cd "$lw/ws" && XDG_CONFIG_HOME="$lw/xdg" https_proxy="http://alice:hunter2@TOPSECRET@127.0.0.1:$pp" "$vt" \
	    --base-url "https://bob:pw@LEAKED@proxied.test:1/v1" -m test check >"$lw/out" 2>&1)
	t "vtcode check hides all of a user:password, an @ in it too (the proxy's and the base URL's)" sh -c '
		cd "$1" && grep -q "^proxy: http://\*\*\*@127.0.0.1:$2$" out &&
		grep -q "base URL https://\*\*\*@proxied.test:1/v1," out &&
		! grep -q "hunter2\|TOPSECRET\|LEAKED\|alice\|bob" out' - "$lw" "$pp"
	(cd "$lw/ws" && XDG_CONFIG_HOME="$lw/xdg" https_proxy="carol:s3://cr#et@127.0.0.1:$pp" "$vt" \
	    --base-url "https://dave:pw@proxied.test:1/v1" -m test check >"$lw/out" 2>&1)
	t "vtcode check hides a user:password with :// or # in it, of a proxy given without a scheme" sh -c '
		cd "$1" && grep -q "^proxy: \*\*\*@127.0.0.1:$2$" out &&
		grep -q "base URL https://\*\*\*@proxied.test:1/v1," out &&
		! grep -q "s3\|carol\|dave" out' - "$lw" "$pp"
	(cd "$lw/ws" && XDG_CONFIG_HOME="$lw/xdg" "$vt" --base-url "https://dave:pw/x#y@proxied.test:1/v1" -m test \
	    check >"$lw/out" 2>&1)
	t "a URL refused for its form is named with its user:password hidden" sh -c '
		cd "$1" && grep -q "^vtcode: https://\*\*\*@proxied.test:1/v1: bad port$" out && ! grep -q "dave\|pw/x" out' - "$lw"
	kill "$(cat "$lw/p.pid")"; wait "$(cat "$lw/p.pid")" 2>/dev/null
	for f in good wrongname expired unknown goodtls13; do
		sh tests/tls.sh stop "$(cat "$tw/$f.pid")"
	done
	mockstop "$lw/t"
else
	bad "TLS fixtures: tests/tls.sh certs failed"
	cat "$tmp/out"
fi

echo "== on the record: events (--json, --events) and the hash-chained audit log"
ew=$tmp/ev
mkdir -p "$ew/ws" "$ew/xdg/vtcode" "$ew/state"
chmod 700 "$ew/xdg/vtcode"
printf 'hello\n' >"$ew/ws/a.txt"
printf '{"version":1,"approvals":[{"tool":"write_file","path":"notes.txt"}]}\n' >"$ew/xdg/vtcode/tool-policy.json"
chmod 600 "$ew/xdg/vtcode/tool-policy.json"
(cd "$ew/ws" && XDG_CONFIG_HOME="$ew/xdg" XDG_STATE_HOME="$ew/tstate" "$vt" trust >/dev/null)
t "vtcode trust: trust.changed goes to the audit log, a chain of its own" sh -c '
	f=$(ls "$1"/tstate/vtcode/audit/*.jsonl) && [ $(wc -l <"$f") -eq 2 ] &&
	grep -q "^{\"type\":\"trust.changed\",\"root\":\"$1/ws\",\"trusted\":true,\"seq\":1," "$f" &&
	"$2" audit verify "$f" >/dev/null' - "$ew" "$vt"
# trust is not given off the record; a revocation (it only tightens) is
mkdir -p "$ew/ws2" && touch "$ew/nostate"
(cd "$ew/ws2" && XDG_CONFIG_HOME="$ew/xdg" XDG_STATE_HOME="$ew/nostate" "$vt" trust >"$tmp/tr.out" 2>&1)
t "vtcode trust where the audit log cannot be written: refused, nothing trusted" sh -c '
	[ $1 -eq 1 ] && grep -q "audit log .*refusing to act off the record" "$2" && ! [ -e "$3/ws2/.vt-workspace-trust" ]' - $? "$tmp/tr.out" "$ew"
(cd "$ew/ws2" && XDG_CONFIG_HOME="$ew/xdg" XDG_STATE_HOME="$ew/tstate2" "$vt" trust >/dev/null 2>&1 &&
    XDG_CONFIG_HOME="$ew/xdg" XDG_STATE_HOME="$ew/nostate" "$vt" trust --revoke >"$tmp/tr.out" 2>&1)
t "control: with the log it is trusted; --revoke without one still revokes, and warns" sh -c '
	[ $1 -eq 0 ] && grep -q "this is not on the record" "$2" && grep -q "^not trusted: " "$2" && ! [ -e "$3/ws2/.vt-workspace-trust" ]' - $? "$tmp/tr.out" "$ew"
# one call per tool the record has a shape for: read, list, a write the
# user approved for good, a write to a path not approved (asked, no tty:
# refused), a command that runs in the sandbox, one the policy refuses
calls='{"index":0,"id":"r","function":{"name":"read_file","arguments":"{\"path\":\"a.txt\"}"}},
{"index":1,"id":"w","function":{"name":"write_file","arguments":"{\"path\":\"notes.txt\",\"content\":\"n\\n\"}"}},
{"index":2,"id":"x","function":{"name":"write_file","arguments":"{\"path\":\"other.txt\",\"content\":\"o\\n\"}"}},
{"index":3,"id":"c","function":{"name":"run_command","arguments":"{\"command\":\"ls -a | sort\"}"}},
{"index":4,"id":"d","function":{"name":"run_command","arguments":"{\"command\":\"curl http://example.com\"}"}}'
calls=$(printf '%s' "$calls" | tr -d '\n')
printf '{"steps":[{"status":503,"headers":{"retry-after-ms":"5"},"json":{"error":"warming up"}},{"sse":[{"choices":[{"delta":{"reasoning_content":"let me look"}}]},{"choices":[{"delta":{"tool_calls":[%s]}}]},%s]},{"sse":[%s,{"choices":[{"delta":{},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":7}}]}]}\n' \
    "$calls" "$fin" "$(txt 'All done.')" >"$ew/s.json"
if mock "$ew/s.json" "$ew/m"; then
	(cd "$ew/ws" && XDG_CONFIG_HOME="$ew/xdg" XDG_STATE_HOME="$ew/state" LMSTUDIO_API_KEY=sk-vtcode-secret-4 \
	    setsid "$vt" --base-url "http://127.0.0.1:$(cat "$ew/m.port")/v1" -m test exec --json --events "$ew/file.jsonl" 'tidy up' \
	    >"$ew/out" 2>"$ew/events" </dev/null)
	echo $? >"$ew/rc"
	mockstop "$ew/m"
	audit=$(ls "$ew"/state/vtcode/audit/*.jsonl 2>/dev/null | head -1)
	t "exec --json: stdout holds only the answer" sh -c '[ "$(cat "$1/rc")" -eq 0 ] && [ "$(cat "$1/out")" = "All done." ]' - "$ew"
	t "exec --json: stderr is all JSON lines, the same as --events FILE" sh -c '
		cd "$1" && [ -s events ] && cmp events file.jsonl && python3 -c "
import json, sys
for l in open(\"events\"): json.loads(l)"' - "$ew"
	for ty in thread.started turn.started turn.completed item.started item.completed policy.decision \
	    approval.requested approval.resolved sandbox.applied provider.retry; do
		t "event $ty is emitted" grep -q "^{\"type\":\"$ty\"" "$ew/events"
	done
	for it in agent_message reasoning tool_call command_execution file_change; do
		t "item $it is emitted" grep -q "\"type\":\"$it\"" "$ew/events"
	done
	t "events: the refused command and the unapproved write are declined, with the policy's reason" sh -c '
		grep -q "\"type\":\"policy.decision\",\"subject\":\"curl http://example.com\",\"decision\":\"deny\"" "$1" &&
		grep -q "\"subject\":\"other.txt\",\"decision\":\"deny\"" "$1" &&
		grep -q "\"type\":\"approval.resolved\",\"decision\":\"deny\",\"remembered\":false" "$1" &&
		grep -q "\"type\":\"command_execution\",\"command\":\"ls -a | sort\",\"argv\":\\[\\[\"ls\",\"-a\"\\],\\[\"sort\"\\]\\],\"exit_code\":0,\"status\":\"completed\"" "$1" &&
		grep -q "\"type\":\"file_change\",\"changes\":\\[{\"path\":\"notes.txt\",\"kind\":\"add\"}\\]" "$1"' - "$ew/events"
	t "the audit log: dir 0700, file 0600, in \$XDG_STATE_HOME/vtcode/audit/THREAD.jsonl" sh -c '
		[ -n "$1" ] && [ "$(stat -c %a "$(dirname "$1")")" = 700 ] && [ "$(stat -c %a "$1")" = 600 ] &&
		th=$(sed -n "1s/.*\"thread_id\":\"\([0-9a-f]*\)\".*/\1/p" "$1") && [ "$(basename "$1")" = "$th.jsonl" ]' - "$audit"
	t "the audit log has every event, with seq, ts and prev" sh -c '
		[ $(wc -l <"$1") -eq $(wc -l <"$2") ] && grep -c "\"seq\":[0-9]*,\"ts\":\"20[0-9-]*T[0-9:.]*Z\",\"prev\":\"[0-9a-f]\{64\}\"}$" "$1" |
		grep -qx "$(wc -l <"$2" | tr -d " ")"' - "$audit" "$ew/events"
	t "events: item.updated when the policy allowed a call" grep -q '^{"type":"item.updated","item":{"id":"item_[0-9]*","type":"tool_call","tool":"read_file"' "$ew/events"
	t "events: every line of --json, --events and the audit log validates against tests/events.schema.json (ajv)" \
	    node tests/validate-events.js tests/events.schema.json "$ew/events" "$ew/file.jsonl" "$audit" "$(ls "$ew"/tstate/vtcode/audit/*.jsonl)"
	t "no API key anywhere: stdout, events, the audit log, the session file" sh -c '
		s=$(ls "$1"/state/vtcode/sessions/*.md) && [ -n "$s" ] && grep -q "^## Turn 1$" "$s" &&
		! grep -rq sk-vtcode-secret-4 "$1/out" "$1/events" "$2" "$s"' - "$ew" "$audit"
	t "audit verify: an untouched log is intact, exit 0, with its last line's SHA-256" sh -c '
		"$1" audit verify "$2" >"$3/vout" && grep -q ": [0-9]* lines, chain intact" "$3/vout" &&
		grep -q "last line SHA-256 $(tail -n 1 "$2" | tr -d "\n" | sha256sum | cut -c1-64)\$" "$3/vout"' - "$vt" "$audit" "$ew"
	t "audit verify: a log cut between lines is a whole chain, told apart only by that hash" sh -c '
		head -n 3 "$2" >"$3/cut.jsonl" && "$1" audit verify "$3/cut.jsonl" >"$3/vcut" &&
		grep -q ": 3 lines, chain intact" "$3/vcut" &&
		[ "$(sed "s/.*SHA-256 //" "$3/vcut")" != "$(sed "s/.*SHA-256 //" "$3/vout")" ]' - "$vt" "$audit" "$ew"
	# tamper NAME CMD LINE: CMD makes a changed copy; verify must exit 1 naming LINE
	tamper() {
		sh -c "$2" - "$audit" "$ew/bad.jsonl"
		t "audit verify catches $1 (line $3)" sh -c '
			"$1" audit verify "$2" 2>"$3/verr"; [ $? -eq 1 ] && grep -q "^vtcode: audit: $2:$4: " "$3/verr"' - "$vt" "$ew/bad.jsonl" "$ew" "$3"
	}
	tamper "an edited byte" 'sed "3s/\"type\":\"p/\"type\":\"q/" "$1" >"$2"' 4
	tamper "an edited value that still parses" 'sed "2s/turn.started/turn.startes/" "$1" >"$2"' 3
	tamper "a deleted line" 'sed 4d "$1" >"$2"' 4
	tamper "two lines swapped" 'awk "NR == 4 { h = \$0; next } NR == 5 { print; print h; next } 1" "$1" >"$2"' 4
	tamper "a forged line appended" '{ cat "$1"; printf "{\"type\":\"turn.started\",\"seq\":%d,\"ts\":\"2026-01-01T00:00:00.000Z\",\"prev\":\"%064d\"}\n" $(wc -l <"$1") 0; } >"$2"' "$(($(wc -l <"$audit") + 1))"
	tamper "a log cut mid-line" 'head -c $(($(wc -c <"$1") - 20)) "$1" >"$2"' "$(wc -l <"$audit")"
	tamper "another nonce in the first line" 'sed "1s/\"nonce\":\"[0-9a-f]*\"/\"nonce\":\"$(printf "%064d" 7)\"/" "$1" >"$2"' 1
else
	bad "events: the mock did not start"
fi
t "a trusted workspace whose audit log cannot be written: vtcode refuses to act off the record" sh -c '
	cd "$1/ws" && XDG_CONFIG_HOME="$1/xdg" XDG_STATE_HOME="$1/ws/a.txt/x" "$2" --base-url http://127.0.0.1:9/v1 -m test exec hi \
	    >/dev/null 2>"$1/nolog"; [ $? -eq 1 ] && grep -q "audit log .*refusing to act off the record" "$1/nolog"' - "$ew" "$vt"
# a tool the user's config denies is not even offered (control: the run
# above offered it)
printf '{"steps":[{"sse":[%s,%s]}]}\n' "$(txt ok)" "$stop" >"$ew/d.json"
if mock "$ew/d.json" "$ew/m2"; then
	mkdir -p "$ew/dxdg/vtcode" && cp "$ew/xdg/vtcode/trust.key" "$ew/dxdg/vtcode/" &&
	printf '[tools]\nwrite_file = "deny"\n' >"$ew/dxdg/vtcode/vtcode.toml"
	(cd "$ew/ws" && XDG_CONFIG_HOME="$ew/dxdg" XDG_STATE_HOME="$ew/state" "$vt" \
	    --base-url "http://127.0.0.1:$(cat "$ew/m2.port")/v1" -m test exec hi >/dev/null 2>&1)
	mockstop "$ew/m2"
	t "a tool the user's config denies is not offered to the model; offered otherwise (control)" sh -c '
		$2 get "$1/m.log" 1 tools | grep -q "\"name\": \"write_file\"" &&
		$2 get "$1/m2.log" 0 tools | grep -q "\"name\": \"run_command\"" &&
		! $2 get "$1/m2.log" 0 tools | grep -q "\"name\": \"write_file\""' - "$ew" "$q"
fi
# an untrusted workspace keeps no audit log (and --events still works)
printf '{"steps":[{"sse":[%s,%s]}]}\n' "$(txt ok)" "$stop" >"$ew/u.json"
if mock "$ew/u.json" "$ew/m"; then
	rm -rf "$ew/state2"
	(cd "$lw/ws" && XDG_CONFIG_HOME="$lw/xdg" XDG_STATE_HOME="$ew/state2" "$vt" \
	    --base-url "http://127.0.0.1:$(cat "$ew/m.port")/v1" -m test exec --events "$ew/u.jsonl" hi >/dev/null 2>"$ew/u.err")
	mockstop "$ew/m"
	t "untrusted workspace: --events written, no audit log, human lines on stderr" sh -c '
		grep -q "^{\"type\":\"turn.completed\"" "$1/u.jsonl" && ! [ -e "$1/state2/vtcode/audit" ] && ! grep -q "^{" "$1/u.err"' - "$ew"
fi
# a provider that fails over, then a task that fails: provider.failover,
# error and turn.failed, all on the record
printf '{"repeat_last":true,"steps":[{"status":503,"headers":{"retry-after-ms":"1"},"json":{"error":"down"}}]}\n' >"$ew/f.json"
if mock "$ew/f.json" "$ew/m"; then
	printf '[base_urls]\nlmstudio = "http://127.0.0.1:%s/v1"\nollama = "http://127.0.0.1:%s/v1"\nllamacpp = "http://127.0.0.1:%s/v1"\n' \
	    "$(cat "$ew/m.port")" "$(cat "$ew/m.port")" "$(cat "$ew/m.port")" >"$ew/fxdg.toml"
	mkdir -p "$ew/fxdg/vtcode" && mv "$ew/fxdg.toml" "$ew/fxdg/vtcode/vtcode.toml"
	(cd "$lw/ws" && XDG_CONFIG_HOME="$ew/fxdg" "$vt" -m test exec --json go >/dev/null 2>"$ew/f.jsonl")
	mockstop "$ew/m"
	t "events: provider.failover, error and turn.failed when every provider fails; they validate" sh -c '
		grep -q "^{\"type\":\"provider.failover\",\"from\":\"lmstudio\",\"to\":\"ollama\"" "$1" &&
		grep -q "^{\"type\":\"provider.failover\",\"from\":\"ollama\",\"to\":\"llamacpp\"" "$1" &&
		grep -q "^{\"type\":\"error\"" "$1" && grep -q "^{\"type\":\"turn.failed\"" "$1" &&
		node tests/validate-events.js tests/events.schema.json "$1"' - "$ew/f.jsonl"
fi
t "the schema accepts every sample event" node tests/validate-events.js tests/events.schema.json tests/events.sample.jsonl
t "the schema rejects every line of tests/events.bad.jsonl" sh -c '
	node tests/validate-events.js tests/events.schema.json tests/events.bad.jsonl >"$1/vb" 2>&1; [ $? -eq 1 ] &&
	[ "$(grep -c "^tests/events.bad.jsonl:[0-9]*: " "$1/vb")" -eq "$(grep -c . tests/events.bad.jsonl)" ]' - "$tmp"
t "audit verify: usage errors exit 2, a missing file exits 1" sh -c '
	"$1" audit 2>/dev/null; [ $? -eq 2 ] && "$1" audit verify /nonexistent 2>/dev/null; [ $? -eq 1 ]' - "$vt"

echo "== sessions: saved after every turn, listed, shown, resumed"
sw=$tmp/ses
mkdir -p "$sw/ws" "$sw/xdg"
printf 'hello\n' >"$sw/ws/a.txt"
# 20 prompts; the odd ones make the model read a file first
python3 - "$sw" <<'PY'
import json, sys
d = sys.argv[1]
def sse(*frames):
    return {"sse": list(frames) + ["[DONE]"]}
steps = []
for k in range(1, 21):
    if k % 2:
        steps.append(sse({"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "id": "t%d" % k, "type": "function",
            "function": {"name": "read_file", "arguments": "{\"path\":\"a.txt\"}"}}]}}]},
            {"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]}))
    steps.append(sse({"choices": [{"index": 0, "delta": {"content": "answer %d with ``` fences\n````\n" % k}}]},
        {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}))
json.dump({"steps": steps}, open(d + "/s20.json", "w"))
with open(d + "/p20", "w") as f:
    f.write("".join("prompt %d\n" % k for k in range(1, 21)))
PY
head -10 "$sw/p20" >"$sw/p1-10"
tail -10 "$sw/p20" >"$sw/p11-20"
# ses STATE ARGS... <INPUT: vtcode in the session workspace against mock $sw/m
ses() {
	st=$1
	shift
	(cd "$sw/ws" && XDG_CONFIG_HOME="$sw/xdg" XDG_STATE_HOME="$sw/$st" timeout 60 "$vt" \
	    --base-url "http://127.0.0.1:$(cat "$sw/m.port")/v1" -m test "$@")
}
if mock "$sw/s20.json" "$sw/m"; then
	ses A <"$sw/p20" >"$sw/outA" 2>"$sw/errA"
	mockstop "$sw/m"
	cp "$sw/m.log" "$sw/logA"
fi
if mock "$sw/s20.json" "$sw/m"; then
	ses B <"$sw/p1-10" >/dev/null 2>"$sw/errB1"
	id=$(XDG_STATE_HOME="$sw/B" "$vt" sessions list | cut -c1-32)
	cp "$sw/B/vtcode/sessions/$id.md" "$sw/after10.md" 2>/dev/null
	ses B resume "$id" <"$sw/p11-20" >"$sw/outB2" 2>"$sw/errB2"
	mockstop "$sw/m"
	cp "$sw/m.log" "$sw/logB"
fi
t "round trip: 20 turns with tool calls, saved at turn 10, resumed: every request body the same as one unbroken session" sh -c '
	[ "$($2 count "$1/logA")" = 30 ] && [ "$($2 count "$1/logB")" = 30 ] && python3 -c "
import json, sys
a = [json.loads(l)[\"body\"] for l in open(sys.argv[1])]
b = [json.loads(l)[\"body\"] for l in open(sys.argv[2])]
bad = [i for i in range(len(a)) if a[i] != b[i]]
sys.exit(1 if bad or len(a) != len(b) else 0)" "$1/logA" "$1/logB"' - "$sw" "$q"
t "round trip: the resumed file holds the same conversation as the unbroken one" sh -c '
	a=$(ls "$1"/A/vtcode/sessions/*.md) && b=$(ls "$1"/B/vtcode/sessions/*.md) &&
	sed "1,/^---$/d" "$a" >"$1/ca" && sed "1,/^---$/d" "$b" >"$1/cb" &&
	cmp "$1/ca" "$1/cb" && grep -q "^## Turn 20$" "$1/cb" && grep -q "^\`\`\`\`\`vtcode " "$1/cb"' - "$sw"
t "sessions list: id, time, workspace, first prompt line" sh -c '
	XDG_STATE_HOME="$1/B" "$2" sessions list >"$1/list" && [ $(wc -l <"$1/list") -eq 1 ] &&
	grep -q "^[0-9a-f]\{32\}  20[0-9-]*T[0-9:]*Z  $1/ws  prompt 1$" "$1/list"' - "$sw" "$vt"
t "sessions show ID: the markdown, front matter first; files 0600 in a 0700 dir" sh -c '
	id=$(cut -c1-32 "$1/list") && XDG_STATE_HOME="$1/B" "$2" sessions show "$id" >"$1/show" &&
	cmp "$1/show" "$1/B/vtcode/sessions/$id.md" && head -3 "$1/show" | grep -q "^vtcode-session: 1$" &&
	[ "$(stat -c %a "$1/B/vtcode/sessions/$id.md")" = 600 ] && [ "$(stat -c %a "$1/B/vtcode/sessions")" = 700 ]' - "$sw" "$vt"
t "resume from another workspace is refused, and -C to the right one is the way" sh -c '
	id=$(cut -c1-32 "$1/list") && mkdir -p "$1/other" && cd "$1/other" &&
	XDG_STATE_HOME="$1/B" "$2" resume "$id" </dev/null 2>"$1/rerr"; [ $? -eq 1 ] &&
	grep -q "belongs to $1/ws, not $1/other" "$1/rerr" &&
	XDG_STATE_HOME="$1/B" "$2" -C "$1/ws" --base-url http://127.0.0.1:9/v1 resume "$id" </dev/null 2>/dev/null' - "$sw" "$vt"
t "resume: an id that is not 32 hex digits, or no such session: exit 1" sh -c '
	XDG_STATE_HOME="$1/B" "$2" resume ../../etc 2>/dev/null; [ $? -eq 1 ] &&
	XDG_STATE_HOME="$1/B" "$2" resume 0123456789abcdef0123456789abcdef 2>&1 | grep -q "no such session"' - "$sw" "$vt"
# a damaged session is skipped by list, with the reason, never shown as one
mkdir -p "$sw/B/vtcode/sessions"
head -c 300 "$sw/after10.md" >"$sw/B/vtcode/sessions/ffffffffffffffffffffffffffffffff.md"
t "sessions list skips a cut-off session file and says which and why" sh -c '
	XDG_STATE_HOME="$1/B" "$2" sessions list >"$1/l2" 2>"$1/l2e" && [ $(wc -l <"$1/l2") -eq 1 ] &&
	grep -q "sessions: .*/ffffffffffffffffffffffffffffffff.md: skipped: line [0-9]*: " "$1/l2e"' - "$sw" "$vt"
rm -f "$sw/B/vtcode/sessions/ffffffffffffffffffffffffffffffff.md"
# crash safety: kill -9 at many points while a long session saves after
# every turn; the file is always the old or the new one, whole
python3 -c 'import json; print(json.dumps({"repeat_last": True, "steps": [{"sse": [{"choices": [{"delta": {"content": "x" * 20000}}]}, {"choices": [{"delta": {}, "finish_reason": "stop"}]}]}]}))' >"$sw/long.json"
python3 -c 'print("".join("p%d\n" % i for i in range(400)))' >"$sw/p400"
if mock "$sw/long.json" "$sw/m"; then
	id=$(cut -c1-32 "$sw/list")
	okk=0
	for d in 0.05 0.1 0.15 0.2 0.25 0.3 0.35 0.4 0.45 0.5 0.6 0.7; do
		(cd "$sw/ws" && XDG_CONFIG_HOME="$sw/xdg" XDG_STATE_HOME="$sw/B" exec "$vt" \
		    --base-url "http://127.0.0.1:$(cat "$sw/m.port")/v1" -m test resume "$id" <"$sw/p400" >/dev/null 2>&1) &
		sleep $d
		kill -9 $! 2>/dev/null
		wait $! 2>/dev/null
		if XDG_STATE_HOME="$sw/B" "$vt" sessions show "$id" >/dev/null 2>"$sw/kerr"; then
			okk=$((okk + 1))
		else
			cat "$sw/kerr"
		fi
	done
	mockstop "$sw/m"
	t "kill -9 at 12 points while saving: the session is whole every time, list skips nothing" sh -c '
		[ "$2" -eq 12 ] && [ $(grep -c "^## Turn" "$1/B/vtcode/sessions/$3.md") -gt 20 ] &&
		XDG_STATE_HOME="$1/B" "$4" sessions list 2>&1 >/dev/null | { ! grep -q skipped; }' - "$sw" "$okk" "$id" "$vt"
fi

echo "== valgrind: whole runs of the binary, no errors, no leaks"
vw=$tmp/vg
mkdir -p "$vw/ws/src" "$vw/xdg/vtcode"
echo 'int main(void) { return 0; }' >"$vw/ws/src/a.c"
printf '[commands]\nls = "prompt"\n[forbid]\ngit = ["--follow"]\n' >"$vw/xdg/vtcode/vtcode.toml"
printf '{"version":1,"approvals":[{"tool":"run_command","argv":["make","test"]}]}\n' >"$vw/xdg/vtcode/tool-policy.json"
chmod 600 "$vw/xdg/vtcode/tool-policy.json"
# vg NAME ARGS...: vtcode ARGS under valgrind in the scratch workspace;
# any memory error or leak makes valgrind exit 99.  build/vgvtcode is
# vtcode with libc shared: in the static one valgrind replaces no malloc
vgvt=$top/build/vgvtcode
$MAKE -s build/vgvtcode >"$tmp/vgb1" 2>&1 || { bad "build/vgvtcode builds"; sed 's/^/    /' "$tmp/vgb1" | head; }
vg() {
	name=$1
	shift
	(cd "$vw/ws" && XDG_CONFIG_HOME="$vw/xdg" valgrind -q --error-exitcode=99 \
	    --leak-check=full --errors-for-leak-kinds=definite,indirect \
	    "$vgvt" "$@") >"$tmp/vg.out" 2>&1
	vrc=$?
	if [ $vrc -ne 99 ] && ! grep -q '^==[0-9]*== ' "$tmp/vg.out"; then
		ok "valgrind: $name (exit $vrc)"
	else
		bad "valgrind: $name (exit $vrc)"
		grep '^==' "$tmp/vg.out" | head -20 | sed 's/^/    /'
	fi
}
if command -v valgrind >/dev/null 2>&1; then
	# the leak check sees vtcode's heap: valgrind counts the
	# allocations of build/vgvtcode, and none of the static vtcode,
	# whose malloc it cannot replace (the reason for vgvtcode)
	t "valgrind sees build/vgvtcode's heap (and not a static vtcode's)" sh -c '
		valgrind "$1" --version 2>&1 | grep -q "total heap usage: [1-9][0-9,]* allocs" &&
		{ readelf -lW "$2" | grep -q INTERP ||
		! valgrind "$2" --version 2>&1 | grep -q "total heap usage: [1-9]"; }' - "$vgvt" "$vt"
	vg "vtcode -h" -h
	vg "vtcode --version" --version
	vg "vtcode trust" trust
	vg "policy show (user and workspace config, approvals)" policy show
	vg "policy check: a pipeline with a glob" policy check 'ls -l src/*.c | grep main && git log -p'
	vg "policy check: refusals" policy check 'git log --follow x; find . -exec rm {} ;'
	vg "policy check: a remembered approval" policy check 'make test'
	vg "policy check -- ARGV" policy check -- sed -n '1p;e id' src/a.c
	vg "an unknown command" frobnicate
	printf '{"steps":[{"status":503,"headers":{"retry-after-ms":"5"},"json":{"error":"busy"}},{"sse":[%s,%s]},{"sse_file":"%s","split":11}]}\n' \
	    "$two" "$fin" "$testdata/llm/openai/long_text.sse" >"$lw/vg.json"
	if mock "$lw/vg.json"; then
		vg "exec: a whole session on the mock (a retry, two tool calls, a streamed answer)" \
		    --base-url "http://127.0.0.1:$(cat "$lw/m.port")/v1" -m test exec "look around"
		mockstop
		grep -q '"condition": "Cloudy"' "$tmp/vg.out" && [ "$($q count "$lw/m.log")" = 3 ] ||
		    bad "valgrind: the session under valgrind did its work"
	fi
	vg "vtcode sandbox refuses when Landlock is missing (valgrind knows no Landlock)" sandbox -- /bin/true
	grep -q "below the floor" "$tmp/vg.out" || bad "valgrind: sandbox refused for the right reason"
	# The runner itself: valgrind 3.19 knows neither Landlock nor
	# seccomp(2) nor mount_setattr, so build/vg/unit has both floors and
	# SBXRDONLY at 0 and its commands run without those walls
	# (tests/escape tests the walls natively).
	# valgrind lets a program set RLIMIT_NOFILE only to valgrind's own
	# limit: the soft limit it starts with, less the 12 fds it keeps.
	nofile=$(sed -n 's/^#define RLIMNOFILE *\([0-9]*\).*/\1/p' config.h)
	vgflags="-q --error-exitcode=99 --leak-check=full --show-leak-kinds=all --errors-for-leak-kinds=all"
	printf '#include <stdlib.h>\nint main(void) { return malloc(64) == NULL; }\n' >"$vw/leak.c"
	t "control: these valgrind flags fail a program that leaks 64 bytes" sh -c '
		$1 -o "$2/leak" "$2/leak.c" && valgrind $3 "$2/leak" >/dev/null 2>&1; [ $? -eq 99 ]' - "${CC:-cc}" "$vw" "$vgflags"
	if $MAKE -s build/vg/unit >"$tmp/vgb" 2>&1; then
		ok "the runner builds for valgrind (both floors and SBXRDONLY 0, in a copy of config.h)"
		(cd "$ws" && ulimit -n $((nofile + 12)) && valgrind $vgflags "$top/build/vg/unit" runmany 1000) >"$tmp/vgrun" 2>&1
		t "valgrind: the runner 1,000 times: no memory errors or leaks, no fds or children left" sh -c '
			[ $1 -eq 0 ] && grep -q "^1000 runs, 0 failed, fds \([0-9]*\) then \1, children left 0$" "$2" &&
			! grep "^==[0-9]*== " "$2" | grep -v "unhandled ioctl 0x5441 \|This could cause spurious\|See README_MISSING_SYSCALL" | grep -q . ||
			{ tail -20 "$2"; false; }' - $? "$tmp/vgrun"
	else
		bad "the runner builds for valgrind (both floors and SBXRDONLY 0, in a copy of config.h)"
		sed 's/^/    /' "$tmp/vgb" | head -20
	fi
else
	bad "valgrind not installed (make deps installs it)"
fi

echo "== start-up hardening, observed from outside"
if [ "$(id -u)" -eq 0 ]; then
	id vtctest >/dev/null 2>&1 ||
	    useradd -M -r -d /nonexistent -s /usr/sbin/nologin vtctest 2>/dev/null
	cp "$vt" "$tmp/vtcode" && chmod 755 "$tmp/vtcode"
	python3 tests/hardening.py "$tmp/vtcode" vtctest >"$tmp/hard" 2>&1
	hrc=$?
	cat "$tmp/hard"
	pass=$((pass + $(grep -c '^ok ' "$tmp/hard")))
	fail=$((fail + $(grep -c '^FAIL ' "$tmp/hard")))
	[ $hrc -eq 0 ] || grep -q '^FAIL ' "$tmp/hard" || bad "hardening probe ran (exit $hrc)"
else
	skipped "hardening probe: needs root to read another process's /proc/PID/fd"
fi
# the same syscalls, in order, before anything else the program does
if command -v strace >/dev/null 2>&1; then
	strace -f -qq -o "$tmp/strace" -e trace=close_range,prctl,setrlimit,prlimit64,umask,rt_sigaction,write \
	    "$vt" --no-such-option >/dev/null 2>&1
	sed -n '/close_range(3/,$p' "$tmp/strace" | grep -v 'rt_sigaction(SIG\(RT\|_\)' >"$tmp/st"
	t "strace: close_range(3, ...) then dumpable, core, umask, SIGPIPE, before any output" sh -c '
		set -e; f=$1
		l() { grep -n "$1" "$f" | head -1 | cut -d: -f1; }
		a=$(l "close_range(3,"); b=$(l "PR_SET_DUMPABLE, \\(0\\|SUID_DUMP_DISABLE\\)"); c=$(l "RLIMIT_CORE, {rlim_cur=0, rlim_max=0}")
		d=$(l "umask(077)"); e=$(l "SIGPIPE, {sa_handler=SIG_IGN"); w=$(l "^[0-9]* *write(")
		[ -n "$a" ] && [ -n "$b" ] && [ -n "$c" ] && [ -n "$d" ] && [ -n "$e" ] && [ -n "$w" ]
		[ "$a" -lt "$b" ] && [ "$b" -lt "$c" ] && [ "$c" -lt "$d" ] && [ "$d" -lt "$e" ] && [ "$e" -lt "$w" ]' - "$tmp/st"
else
	bad "strace not installed (make deps installs it)"
fi

echo "== binary hardening (readelf)"
readelf -h "$vt" >"$tmp/h" 2>&1
readelf -d "$vt" >"$tmp/d" 2>&1
readelf -lW "$vt" >"$tmp/l" 2>&1
t "PIE" sh -c 'grep -q "Type: *DYN" "$1" && grep -q "FLAGS_1.*PIE" "$2"' - "$tmp/h" "$tmp/d"
t "full RELRO" contains "$tmp/l" "GNU_RELRO"
t "BIND_NOW" contains "$tmp/d" "BIND_NOW"
# a static libc brings __stack_chk_fail and some __*_chk of its own:
# look at what vtcode.c's code calls, and build it once without both
readelf -sW "$vt" >"$tmp/s" 2>&1
t "stack protector: vtcode's own code checks its canary (cmdsandbox calls __stack_chk_fail)" sh -c '
	objdump -dr --disassemble=cmdsandbox "$1" | grep -q "__stack_chk_fail"' - "$vt"
t "FORTIFY_SOURCE: vtcode calls the checking snprintf and read (__snprintf_chk, __read_chk)" sh -c '
	grep -qE " __snprintf_chk$" "$1" && grep -qE " __read_chk$" "$1"' - "$tmp/s"
t "control: both checks fail on vtcode.c compiled without them" sh -c '
	$1 -std=c99 -O1 -U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=0 -fno-stack-protector $2 -DVERSION=\"x\" \
	    -c "$3/vtcode.c" -o "$4/unh.o" &&
	! objdump -dr --disassemble=cmdsandbox "$4/unh.o" | grep -q "__stack_chk_fail" &&
	! nm -u "$4/unh.o" | grep -qE " (__snprintf_chk|__read_chk)$"' - "${CC:-cc}" "$INCS" "$top" "$tmp"
t "no executable stack" sh -c '! grep "GNU_STACK" "$1" | grep -q "RWE"' - "$tmp/l"
# config.mk's LINK: one static PIE, no loader; its control, the
# shared build of the same source, names both.  A build with config.mk's
# shared lines (a distribution's) skips what only a static vtcode does
if readelf -lW "$vt" | grep -q INTERP; then vtstatic=0; else vtstatic=1; fi
[ $vtstatic = 1 ] || skipped "vtcode is linked shared (config.mk's LINK): the static checks"
[ $vtstatic = 0 ] || t "linked statically (glibc too): no loader, no shared library" sh -c '
	! grep -q "INTERP" "$1" && ! grep -q "NEEDED" "$2" &&
	readelf -lW "$3" | grep -q "INTERP" && readelf -d "$3" | grep -q "NEEDED.*libc\.so"' - "$tmp/l" "$tmp/d" "$vgvt"

echo "== static vtcode: NSS only from what libc.a has built in"
# A passwd source of the test's own (libnss_vtct.so.2, found through
# LD_LIBRARY_PATH) names a home with a config file in it, in a private
# mount namespace whose nsswitch.conf asks it first.  The static
# vtcode must not load it (nssbuiltin): config from config.h only.
# Controls: a static program without that loads it, and so does the
# shared build of vtcode.
nw=$tmp/nss
mkdir -p "$nw/home/.config/vtcode" "$nw/ws" "$nw/st"
: >"$nw/home/.config/vtcode/vtcode.toml"
printf 'passwd: vtct files\ngroup: files\nhosts: files\n' >"$nw/nsswitch.conf"
cat >"$nw/nss.c" <<'EOF'
#include <errno.h>
#include <nss.h>
#include <pwd.h>
#include <string.h>
#include <sys/types.h>
enum nss_status _nss_vtct_getpwuid_r(uid_t, struct passwd *, char *, size_t, int *);
enum nss_status
_nss_vtct_getpwuid_r(uid_t uid, struct passwd *pw, char *buf, size_t len, int *err)
{
	static const char home[] = HOME;

	if (len < sizeof(home) + 5) {
		*err = ERANGE;
		return NSS_STATUS_TRYAGAIN;
	}
	memcpy(buf, home, sizeof(home));
	memcpy(buf + sizeof(home), "vtct", 5);
	pw->pw_name = buf + sizeof(home);
	pw->pw_passwd = pw->pw_gecos = pw->pw_shell = buf + sizeof(home) + 4;
	pw->pw_uid = uid;
	pw->pw_gid = 0;
	pw->pw_dir = buf;
	return NSS_STATUS_SUCCESS;
}
EOF
printf '#include <pwd.h>\n#include <stdio.h>\n#include <unistd.h>\nint main(void) { struct passwd *p = getpwuid(getuid()); puts(p ? p->pw_dir : "-"); return 0; }\n' >"$nw/pw.c"
# nsrun CMD...: CMD with that nsswitch.conf, HOME unset (a mount
# namespace: root needs no user namespace for it)
nsun="unshare -m"
[ "$(id -u)" -eq 0 ] || nsun="unshare -rm"
nsrun() {
	$nsun sh -c 'mount --bind "$0/nsswitch.conf" /etc/nsswitch.conf &&
	    cd "$0/ws" && unset HOME XDG_CONFIG_HOME && LD_LIBRARY_PATH="$0" \
	    XDG_STATE_HOME="$0/st" exec "$@"' "$nw" "$@" 2>&1
}
if ! $nsun true 2>/dev/null; then
	skipped "static vtcode and NSS: no mount namespace here ($nsun)"
elif ${CC:-cc} -shared -fPIC -DHOME="\"$nw/home\"" -o "$nw/libnss_vtct.so.2" "$nw/nss.c" &&
    ${CC:-cc} -static -o "$nw/pw" "$nw/pw.c" 2>/dev/null; then
	t "control: a static program loads the test's NSS module (home $nw/home)" \
	    sh -c '[ "$1" = "$2/home" ]' - "$(nsrun "$nw/pw")" "$nw"
	t "control: the shared vtcode reads the config in the module's home" \
	    sh -c 'echo "$1" | grep -qx "config: $2/home/.config/vtcode/vtcode.toml"' - "$(nsrun "$vgvt" check)" "$nw"
	t "control: so does the shared vtcode run as ld.so's argument (no PT_INTERP of its own then)" \
	    sh -c 'echo "$1" | grep -qx "config: $2/home/.config/vtcode/vtcode.toml"' - \
	    "$(nsrun "$(readelf -lW "$vgvt" | sed -n 's/.*interpreter: \(.*\)]$/\1/p')" "$vgvt" check)" "$nw"
	nsrun "$vt" check >"$tmp/nss.out"
	if [ $vtstatic = 1 ]; then
		t "the static vtcode loads no NSS module: its config is not the module's home's" sh -c '
			grep -q "^config: " "$1" && ! grep -q "$2" "$1"' - "$tmp/nss.out" "$nw/home"
	else
		skipped "the static vtcode and NSS: vtcode is linked shared"
	fi
else
	bad "the test's NSS module and its static control build"
fi

echo "== build system"
# the commands make would run to relink vtcode, continuation lines joined
makecmd() { "$MAKE" -n -W vtcode.c vtcode "$@" 2>&1 | sed -e :a -e '/\\$/N; s/\\\n//; ta'; }
CC=mycc CPPFLAGS=-DMYCPP CFLAGS=-DMYC LDFLAGS=-Wl,-zmyld makecmd >"$tmp/n1"
t "make honours CC, CPPFLAGS, CFLAGS, LDFLAGS from the environment" \
    contains "$tmp/n1" "^mycc .*-DMYCPP.*-DMYC.*-Wl,-zmyld"
makecmd CC=mycc CFLAGS=-DMYC >"$tmp/n2"
t "make honours them on its command line too" contains "$tmp/n2" "^mycc .*-DMYC"
# a cross build cannot run the helper that prints build/bpf.h: with
# VTCODE_NOBPF make runs none, and vtcode compiles its programs itself
t "CPPFLAGS=-DVTCODE_NOBPF (a cross build): make runs no helper; that vtcode compiles the programs itself, the same ones" sh -c '
	cd "$1" && rm -f build/nobpf.h build/nobpf-vt && "$2" -s BPF=build/nobpf.h CPPFLAGS=-DVTCODE_NOBPF build/nobpf.h &&
	grep -q "VTCODE_NOBPF" build/nobpf.h && ! grep -q sock_filter build/nobpf.h &&
	$3 -std=c99 -pedantic -Wall -Wextra -Werror -O0 -DVERSION=\"x\" -DVTCODE_NOBPF $4 -o build/nobpf-vt vtcode.c $5 $6 &&
	cd "$7" && "$1/build/nobpf-vt" check 2>&1 | grep -q "^sandbox: seccomp programs: the ones libseccomp [0-9.]* compiles now$" &&
	"$1/build/nobpf-vt" sandbox -- /bin/sh -c "grep -q \"Seccomp:.*2\" /proc/self/status"' - "$top" "$MAKE" "$CC" "$INCS" "$TSLIB" "$LIBS" "$tmp"
t "control: the normal build runs the helper (build/bpf.h holds the programs)" sh -c '
	grep -q "^static const struct sock_filter sbxbpf00\[\] = {$" "$1/build/bpf.h" && [ -x "$1/build/bpfgen" ]' - "$top"
makecmd >"$tmp/n3"
t "hardened defaults on the compile and link line" sh -c '
	for f in -std=c99 -pedantic -Wall -Wextra -O2 -D_FORTIFY_SOURCE=3 -fstack-protector-strong \
	    -fstack-clash-protection -fcf-protection -fPIE -Wl,-z,relro,-z,now $2; do
		grep -q -e " $f" "$1" || { echo "missing $f"; exit 1; }; done' - "$tmp/n3" \
	"$([ $vtstatic = 1 ] && echo "-static-pie -lbearssl" || echo "-pie -lbearssl")"
t "make install/uninstall honour DESTDIR and PREFIX" sh -c '
	d=$2/dest; "$1" -s install DESTDIR="$d" PREFIX=/usr >/dev/null &&
	[ -x "$d/usr/bin/vtcode" ] && [ -f "$d/usr/share/man/man1/vtcode.1" ] &&
	grep -q "vtcode\\\\-$3" "$d/usr/share/man/man1/vtcode.1" &&
	"$1" -s uninstall DESTDIR="$d" PREFIX=/usr >/dev/null &&
	! [ -e "$d/usr/bin/vtcode" ] && ! [ -e "$d/usr/share/man/man1/vtcode.1" ]' - "$MAKE" "$tmp" "${VERSION:-0.1.0}"
t "make dist: the sources, without what the build made" sh -c '
	"$1" -s dist >/dev/null && tar -tzf vtcode-$2.tar.gz >"$3/dist" && rm -f vtcode-$2.tar.gz &&
	for f in vtcode.c vtcode.h config.def.h config.mk Makefile tests.sh LICENSE README vtcode.1 grammars.lock .ci/run; do
		grep -qx "vtcode-$2/$f" "$3/dist" || { echo "missing $f"; exit 1; }; done &&
	! grep -q -e "/tests/unit\$" -e "fuzzer\$" -e "/config.h\$" -e "/vtcode\$" "$3/dist"' - "$MAKE" "${VERSION:-0.1.0}" "$tmp"
t "make clean removes what the build made (in a copy)" sh -c '
	mkdir "$2/cl" && cp -R Makefile config.mk vtcode "$2/cl/" && mkdir -p "$2/cl/build" "$2/cl/tests/fuzz" &&
	touch "$2/cl/build/x" "$2/cl/tests/unit" "$2/cl/tests/fuzz/json-fuzzer" &&
	(cd "$2/cl" && "$1" -s clean) && ! [ -e "$2/cl/vtcode" ] && ! [ -e "$2/cl/build" ] &&
	! [ -e "$2/cl/tests/unit" ] && ! [ -e "$2/cl/tests/fuzz/json-fuzzer" ]' - "$MAKE" "$tmp"
t "config.h is git-ignored and made from config.def.h only if absent" sh -c '
	git check-ignore -q config.h && grep -q "^config.h:" Makefile && ! grep -q "config.h: config.def.h" Makefile'
t "grammars.lock pins the six ABI-14 grammars with sha256" sh -c '
	for g in "bash 0.23.3" "c 0.23.5" "go 0.23.4" "javascript 0.23.1" "python 0.23.6" "rust 0.23.2"; do
		grep -Eq "^${g%% *} +${g#* } +[0-9a-f]{64}\$" grammars.lock || { echo "$g"; exit 1; }; done'
t "grammars in GRAMMARDIR match grammars.lock" sh -c '
	grep -v -e "^#" -e "^[[:space:]]*\$" grammars.lock | while read -r n v s; do
		[ "$(cat grammars/$n/.lock)" = "$n $v $s" ] || exit 1; done'

# make deps, offline: a fake npm and dpkg-query stand in for the registry
mkdir -p "$tmp/fake/bin" "$tmp/fake/pkg/package/src" "$tmp/fake/pkg/package/queries"
echo 'int x;' >"$tmp/fake/pkg/package/src/parser.c"
echo '; q' >"$tmp/fake/pkg/package/queries/tags.scm"
(cd "$tmp/fake/pkg" && tar -czf ../tree-sitter-demo-1.0.0.tgz package)
good=$(sha256sum "$tmp/fake/tree-sitter-demo-1.0.0.tgz" | cut -d' ' -f1)
cat >"$tmp/fake/bin/npm" <<EOF
#!/bin/sh
# fake npm pack: copies the demo tarball to --pack-destination
[ "\$1" = pack ] || exit 1
while [ \$# -gt 0 ]; do [ "\$1" = --pack-destination ] && d=\$2; shift; done
cp "$tmp/fake/tree-sitter-demo-1.0.0.tgz" "\$d/"
EOF
cat >"$tmp/fake/bin/dpkg-query" <<'EOF'
#!/bin/sh
# fake dpkg-query: every package is installed except socat
for a; do p=$a; done
[ "$p" = socat ] && exit 1
echo "install ok installed"
EOF
cat >"$tmp/fake/bin/apt-get" <<EOF
#!/bin/sh
echo "apt-get \$*" >>"$tmp/fake/apt.log"
EOF
chmod 755 "$tmp/fake/bin/npm" "$tmp/fake/bin/dpkg-query" "$tmp/fake/bin/apt-get"
printf '# test lock\ndemo 1.0.0 %s\n' "$good" >"$tmp/fake/good.lock"
printf 'demo 1.0.0 %s\n' "$(echo "$good" | tr '0-9a-f' '1-9a-f0')" >"$tmp/fake/bad.lock"
t "deps: a tarball matching grammars.lock is extracted (src/, queries/)" sh -c '
	PATH=$1/bin:$PATH GRAMMARS_LOCK=$1/good.lock sh .ci/deps "$1/g1" >"$1/o1" 2>&1
	[ -f "$1/g1/demo/src/parser.c" ] && [ -f "$1/g1/demo/queries/tags.scm" ]' - "$tmp/fake"
t "deps: a tarball whose sha256 differs is refused, nothing extracted" sh -c '
	PATH=$1/bin:$PATH GRAMMARS_LOCK=$1/bad.lock sh .ci/deps "$1/g2" >"$1/o2" 2>&1
	[ $? -ne 0 ] && grep -q "sha256 .* refusing" "$1/o2" && ! [ -e "$1/g2/demo" ]' - "$tmp/fake"
t "deps: never runs npm install" sh -c '! grep -n "npm install\|npm i \|npm ci" .ci/deps | grep -v "^[0-9]*:#"'
if [ "$(id -u)" -eq 0 ] && id vtctest >/dev/null 2>&1; then
	chmod -R a+rX "$tmp/fake"
	cp -R .ci grammars.lock "$tmp/fake/" && chmod -R a+rX "$tmp/fake"
	t "deps as root: installs only the missing package with apt-get" sh -c '
		rm -f "$1/apt.log"; PATH=$1/bin:$PATH GRAMMARS_LOCK=$1/good.lock sh "$1/.ci/deps" "$1/g3" >/dev/null 2>&1
		grep -q "install.* socat$" "$1/apt.log"' - "$tmp/fake"
	t "deps as a user: prints the exact apt-get command, installs nothing" sh -c '
		rm -f "$1/apt.log"; mkdir -p "$1/g4"; chown vtctest "$1/g4"
		setpriv --reuid=vtctest --regid=vtctest --clear-groups -- env HOME="$1/g4" \
		    PATH="$1/bin:$PATH" GRAMMARS_LOCK="$1/good.lock" sh "$1/.ci/deps" "$1/g4" >"$1/o4" 2>&1
		[ $? -eq 1 ] && grep -q "apt-get update && apt-get install -y --no-install-recommends socat" "$1/o4" &&
		! [ -e "$1/apt.log" ]' - "$tmp/fake"
else
	skipped "deps root/user paths: need root and the vtctest user"
fi

echo "== static analysis"
wait "$lintpid"
t "make lint (cppcheck, gcc -fanalyzer; run in the background from the start)" sh -c '
	cat "$1/lint.out"; [ "$(cat "$1/lint.rc")" -eq 0 ]' - "$tmp"

echo "== documentation"
t "README has the two quick-start commands and a status table" sh -c '
	grep -q "^ *make deps\$" README && grep -q "^ *make test\$" README && grep -q "^| \`vtcode exec" README'
t "vtcode.1 documents every exit code and option" sh -c '
	for w in "EXIT STATUS" "\\\\-C" "\\\\-m" "\\\\-P" "\\\\-\\\\-base\\\\-url" "\\\\-\\\\-version" "\\\\-h"; do
		grep -q -e "$w" vtcode.1 || { echo "$w"; exit 1; }; done'
t "vtcode.1 is well-formed (man --warnings)" sh -c '
	! command -v man >/dev/null || { MANWIDTH=80 man --warnings -l vtcode.1 2>&1 >/dev/null | grep . && exit 1 || exit 0; }'

echo
[ "$skip" -eq 0 ] || echo "$skip skipped: checks this machine cannot run (see skip lines above)"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
