#!/bin/sh
# See LICENSE file for copyright and license details.
#
# bench/json.sh: vtcode's JSON parser against cJSON on the same generated
# documents (bench/json.c).  Prints MB/s for both and the ratio; the
# target is vtcode at 2x cJSON or better.  Exits non-zero only when
# something is broken (the build, or a document that a parser refuses
# or that the two read differently), never because of speed.
#
# usage: sh bench/json.sh [-s seed] [-m megabytes] [-n rounds] [-w file]

set -e
cd "$(dirname "$0")/.."

if ! pkg-config --exists libcjson; then
	echo "json.sh: cJSON not found (Debian: apt-get install libcjson-dev)" >&2
	exit 1
fi
[ -f config.h ] || cp config.def.h config.h
if [ ! -f build/grammars.a ]; then
	# vtcode.c declares the grammars, so the archive has to link
	${MAKE:-make} build/grammars.a
fi
mkdir -p bench/out

# shellcheck disable=SC2046 # pkg-config output is meant to split
${CC:-cc} -std=c99 -O2 -DVTCODE_NOMAIN -DVERSION=\"bench\" \
	-Wno-unused-function \
	$(pkg-config --cflags libseccomp tree-sitter libcjson) -I. \
	bench/json.c build/grammars.a -lbearssl \
	$(pkg-config --libs libseccomp tree-sitter libcjson) -lm \
	-o bench/out/json

exec bench/out/json "$@"
