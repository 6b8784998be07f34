#!/bin/sh
# See LICENSE file for copyright and license details.
#
# tests/demo.sh: `make demo`.  A whole vtcode exec session with no model:
# the scripted mock server (tests/mockllm.py) plays a model that lists the
# files of a small temporary workspace, reads one, and answers.  What
# vtcode prints on stderr (tool activity) and stdout (the answer) is
# shown as it happens; the requests it sent are summarised at the end.
set -u
cd "$(dirname "$0")/.." || exit 1
top=$(pwd)
vt=$top/vtcode
[ -x "$vt" ] || { echo "demo: build vtcode first (make)" >&2; exit 1; }
d=$(mktemp -d "${TMPDIR:-/tmp}/vtcode-demo.XXXXXX")
trap '[ -s "$d/pid" ] && kill "$(cat "$d/pid")" 2>/dev/null; rm -rf "$d"' EXIT INT TERM
mkdir -p "$d/ws/src" "$d/xdg"
printf '# hello\n\nA tiny C program that greets.\n' >"$d/ws/README.md"
printf '#include <stdio.h>\n\nint\nmain(void)\n{\n\tputs("hello");\n\treturn 0;\n}\n' >"$d/ws/src/hello.c"

# the "model": list the files, read src/hello.c, then answer
call() {
	printf '{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"%s","type":"function","function":{"name":"%s","arguments":"%s"}}]}}]}' "$1" "$2" "$3"
}
fin='{"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}'
cat >"$d/script.json" <<EOS
{"steps":[
 {"sse":[$(call c1 list_files '{\"recursive\":true}'),$fin,"[DONE]"],"split":9},
 {"sse":[$(call c2 read_file '{\"path\":\"src/hello.c\"}'),$fin,"[DONE]"],"split":9},
 {"sse":[{"choices":[{"index":0,"delta":{"content":"This workspace holds one C program, "}}]},
         {"choices":[{"index":0,"delta":{"content":"src/hello.c, whose main() prints \"hello\" and returns 0."}}]},
         {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]},"[DONE]"],"split":5,"delay_ms":2}
]}
EOS
python3 tests/mockllm.py --script "$d/script.json" --port-file "$d/port" \
    --log "$d/log" 2>"$d/mock.err" &
echo $! >"$d/pid"
i=0
while ! [ -s "$d/port" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
[ -s "$d/port" ] || { cat "$d/mock.err"; echo "demo: the mock server did not start" >&2; exit 1; }
echo "\$ vtcode --base-url http://127.0.0.1:$(cat "$d/port")/v1 -m demo exec 'What does this project do?'"
(cd "$d/ws" && XDG_CONFIG_HOME="$d/xdg" XDG_STATE_HOME="$d/state" "$vt" --base-url "http://127.0.0.1:$(cat "$d/port")/v1" \
    -m demo exec 'What does this project do?')
rc=$?
echo "[vtcode exited $rc; it sent $(wc -l <"$d/log") requests to the mock model]"
exit $rc
