# vtcode version
VERSION = 0.1.0

# paths (make install PREFIX=/usr DESTDIR=/tmp/pkg)
PREFIX = /usr/local
MANPREFIX = $(PREFIX)/share/man

# tree-sitter grammar sources, fetched and verified by `make deps` from
# grammars.lock; a packager may point this at grammars from elsewhere
GRAMMARDIR = grammars

# linking: BearSSL has no .pc file; libseccomp and tree-sitter do.
# vtcode is one static PIE, glibc and the three libraries all inside it
# (still PIE, full RELRO and BIND_NOW, below): no loader, no shared
# library to map, relocate and bind at every start (the three shared
# cost 0.56 ms here, libc shared 0.3 ms more), and vtcode starts once
# for every `vtcode sandbox` (bench/sandbox.sh).  The linker warns
# that getaddrinfo and getpwuid in a static program need the shared NSS
# modules of the same glibc at run time: vtcode, when static, asks NSS
# for files and dns only, which libc.a has built in, and so never loads
# one (nssbuiltin in vtcode.c).
# A distribution that wants libraries shared (a security fix without a
# rebuild), and macOS, whose linker makes no static PIE, use the second
# pair of lines instead.  The test and fuzz builds link LIBS as shared
# (ASan cannot be static).
LINK = -static-pie
LIBS = -lbearssl `pkg-config --libs --static libseccomp tree-sitter` -lm
#LINK = -pie
#LIBS = -lbearssl `pkg-config --libs libseccomp tree-sitter` -lm
INCS = `pkg-config --cflags libseccomp tree-sitter`

# hardening, on by default.  FORTIFY=3 checks object sizes at run time,
# stack-protector and stack-clash stop stack smashing and guard-page
# jumps, cf-protection adds CET landing pads (x86 only: drop it on other
# CPUs), PIE (LINK, above) + full RELRO + BIND_NOW leave no writable
# GOT to overwrite.
HARDEN_CPPFLAGS = -U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=3
HARDEN_CFLAGS = -fstack-protector-strong -fstack-clash-protection \
	-fcf-protection -fPIE
HARDEN_LDFLAGS = -Wl,-z,relro,-z,now

# flags for vtcode.c.  CC, CPPFLAGS, CFLAGS and LDFLAGS from the
# environment or the make command line are passed too, before these, so
# a distro's flags (-g, -ffile-prefix-map, -march ...) apply while the
# optimisation level and the hardening above stay as set here (POSIX make
# would otherwise append its default CFLAGS=-O1); change those here.
VTCPPFLAGS = -DVERSION=\"$(VERSION)\" $(HARDEN_CPPFLAGS) $(INCS)
VTCFLAGS = -std=c99 -pedantic -Wall -Wextra -O2 $(HARDEN_CFLAGS)
VTLDFLAGS = $(LINK) $(HARDEN_LDFLAGS)

# flags for the third-party grammar sources (their
# warnings are theirs, not ours)
TSCFLAGS = -O2 -w $(HARDEN_CPPFLAGS) $(HARDEN_CFLAGS)
