# vtcode version
VERSION = 0.1.0

# paths (make install PREFIX=/usr DESTDIR=/tmp/pkg)
PREFIX = /usr/local
MANPREFIX = $(PREFIX)/share/man

# tree-sitter grammar sources, fetched and verified by `make deps` from
# grammars.lock; a packager may point this at grammars from elsewhere
GRAMMARDIR = grammars

# libraries: BearSSL has no .pc file; libseccomp and tree-sitter do.
# The three are linked from their static archives (the same -dev
# packages carry them) and only libc is shared: loading the three
# shared cost every start 0.56 ms here (the loader's work and page
# faults), and vtcode starts once for every `vtcode sandbox`
# (bench/sandbox.sh).  A distribution that
# wants them shared (a library's security fix without a rebuild), and
# macOS, whose linker has no -Bstatic, use the second line instead
INCS = `pkg-config --cflags libseccomp tree-sitter`
LIBS = -Wl,-Bstatic -lbearssl \
	`pkg-config --libs --static libseccomp tree-sitter` -Wl,-Bdynamic \
	-lm
#LIBS = -lbearssl `pkg-config --libs libseccomp tree-sitter` -lm

# hardening, on by default.  FORTIFY=3 checks object sizes at run time,
# stack-protector and stack-clash stop stack smashing and guard-page
# jumps, cf-protection adds CET landing pads (x86 only: drop it on other
# CPUs), PIE + full RELRO + BIND_NOW leave no writable GOT to overwrite.
HARDEN_CPPFLAGS = -U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=3
HARDEN_CFLAGS = -fstack-protector-strong -fstack-clash-protection \
	-fcf-protection -fPIE
HARDEN_LDFLAGS = -pie -Wl,-z,relro,-z,now

# flags for vtcode.c.  CC, CPPFLAGS, CFLAGS and LDFLAGS from the
# environment or the make command line are passed too, before these, so
# a distro's flags (-g, -ffile-prefix-map, -march ...) apply while the
# optimisation level and the hardening above stay as set here (POSIX make
# would otherwise append its default CFLAGS=-O1); change those here.
VTCPPFLAGS = -DVERSION=\"$(VERSION)\" $(HARDEN_CPPFLAGS) $(INCS)
VTCFLAGS = -std=c99 -pedantic -Wall -Wextra -O2 $(HARDEN_CFLAGS)
VTLDFLAGS = $(HARDEN_LDFLAGS)

# flags for the third-party grammar sources (their
# warnings are theirs, not ours)
TSCFLAGS = -O2 -w $(HARDEN_CPPFLAGS) $(HARDEN_CFLAGS)
