# vtcode - a security-first terminal AI coding agent
# See LICENSE file for copyright and license details.
.POSIX:

include config.mk

SRC = vtcode.c
GRAMMARS = bash c go javascript python rust
TSLIB = build/grammars.a
BPF = build/bpf.h
DEPS = $(SRC) vtcode.h config.h config.mk $(TSLIB) $(BPF)
DISTFILES = LICENSE README Makefile config.mk config.def.h vtcode.c \
	vtcode.h vtcode.1 grammars.lock tests.sh tests bench .ci

all: vtcode

config.h:
	cp config.def.h $@

vtcode: $(DEPS)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(VTCPPFLAGS) $(VTCFLAGS) -o $@ $(SRC) \
		$(TSLIB) $(LDFLAGS) $(VTLDFLAGS) $(LIBS)

# the commands' seccomp programs, compiled by libseccomp when vtcode is
# built, not each time it runs (sbxprogram): vtcode.c built once more
# as a helper that prints them.  It runs here, so a cross build sets
# CPPFLAGS=-DVTCODE_NOBPF and vtcode compiles them at run time instead
$(BPF): $(SRC) vtcode.h config.h config.mk $(TSLIB)
	@mkdir -p build
	case " $(CPPFLAGS) " in *" -DVTCODE_NOBPF "*) \
		echo "/* VTCODE_NOBPF: vtcode compiles them itself */" >$@ ;; \
	*) $(CC) $(CPPFLAGS) $(CFLAGS) $(VTCPPFLAGS) -std=c99 -O1 \
		-DVTCODE_NOMAIN -DVTCODE_BPFGEN -o build/bpfgen $(SRC) \
		$(TSLIB) $(LDFLAGS) $(LIBS) && \
		./build/bpfgen >$@.tmp && mv $@.tmp $@ ;; \
	esac

# the grammars are third-party C compiled into one archive; `make deps`
# fetches and verifies them, `make` itself never touches the network
$(TSLIB): grammars.lock config.mk
	@for g in $(GRAMMARS); do \
		[ -f "$(GRAMMARDIR)/$$g/src/parser.c" ] || { \
		echo "vtcode: $(GRAMMARDIR)/$$g/src/parser.c: missing;" \
		    "run 'make deps' or set GRAMMARDIR" >&2; exit 1; }; \
	done
	@mkdir -p build
	@rm -f build/ts-*.o $@
	@for g in $(GRAMMARS); do for f in parser scanner; do \
		s=$(GRAMMARDIR)/$$g/src/$$f.c; [ -f "$$s" ] || continue; \
		echo "CC $$s"; \
		$(CC) $(CPPFLAGS) $(CFLAGS) $(TSCFLAGS) -I$(GRAMMARDIR)/$$g/src \
		    -c "$$s" -o build/ts-$$g-$$f.o || exit 1; \
	done; done
	ar -rc $@ build/ts-*.o
	ranlib $@

deps:
	sh .ci/deps $(GRAMMARDIR)

# make test adds -Werror: a warning in vtcode.c fails the build
werror: $(DEPS)
	@mkdir -p build
	$(CC) $(CPPFLAGS) $(CFLAGS) $(VTCPPFLAGS) $(VTCFLAGS) -Werror \
		-c $(SRC) -o build/werror.o

test: vtcode werror
	CC="$(CC)" INCS="$(INCS)" LIBS="$(LIBS)" TSLIB="$(TSLIB)" \
		VERSION="$(VERSION)" sh ./tests.sh

# unit tests and the plain fuzz drivers: ASan + UBSan, abort on any report
SANFLAGS = -std=c99 -g -O1 -fno-omit-frame-pointer \
	-fsanitize=address,undefined -fno-sanitize-recover=all
tests/unit: tests/unit.c tests/check.h $(DEPS)
	$(CC) $(SANFLAGS) -DVERSION=\"$(VERSION)\" $(INCS) -o $@ tests/unit.c \
		$(TSLIB) $(LIBS)

# the macOS and OpenBSD sandboxes, compiled here against stubs
tests/port: tests/port.c tests/check.h $(DEPS)
	$(CC) $(SANFLAGS) -pedantic -Wall -Wextra -Wno-unused-function \
		-Werror -DVERSION=\"$(VERSION)\" $(INCS) -o $@ tests/port.c \
		$(TSLIB) $(LIBS)

# vtcode for valgrind, linked with libc shared: in a static vtcode
# valgrind has no malloc to replace, so its leak check would see nothing.
# Only tests.sh runs it.
build/vgvtcode: $(DEPS)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(VTCPPFLAGS) $(VTCFLAGS) -o $@ $(SRC) \
		$(TSLIB) $(LDFLAGS) -pie $(HARDEN_LDFLAGS) $(LIBS)

# the runner for valgrind, which knows neither Landlock nor seccomp(2):
# the same sources with both floors at 0 in a copy of config.h, so its
# commands run without those two walls.  Only tests.sh runs it.
build/vg/unit: tests/unit.c tests/check.h $(DEPS)
	rm -rf build/vg
	mkdir -p build/vg/tests build/vg/build
	cp vtcode.c vtcode.h build/vg/
	cp $(BPF) build/vg/build/
	cp tests/unit.c tests/check.h build/vg/tests/
	sed -e 's/^#define SBXLANDLOCKMIN .*/#define SBXLANDLOCKMIN 0/' \
		-e 's/^#define SBXSECCOMP .*/#define SBXSECCOMP 0/' \
		-e 's/^#define SBXRDONLY .*/#define SBXRDONLY 0/' \
		config.h >build/vg/config.h
	grep -q '^#define SBXLANDLOCKMIN 0$$' build/vg/config.h
	grep -q '^#define SBXSECCOMP 0$$' build/vg/config.h
	grep -q '^#define SBXRDONLY 0$$' build/vg/config.h
	$(CC) -std=c99 -g -O1 -DVERSION=\"$(VERSION)\" $(INCS) -o $@ \
		build/vg/tests/unit.c $(TSLIB) $(LIBS)

tests/fuzz/json: tests/fuzz/json.c tests/fuzz/driver.h $(DEPS)
	$(CC) $(SANFLAGS) -DFUZZ_DRIVER -DVERSION=\"$(VERSION)\" $(INCS) \
		-o $@ tests/fuzz/json.c $(TSLIB) $(LIBS)
tests/fuzz/lexer: tests/fuzz/lexer.c tests/fuzz/driver.h $(DEPS)
	$(CC) $(SANFLAGS) -DFUZZ_DRIVER -DVERSION=\"$(VERSION)\" $(INCS) \
		-o $@ tests/fuzz/lexer.c $(TSLIB) $(LIBS)
tests/fuzz/http: tests/fuzz/http.c tests/fuzz/driver.h $(DEPS)
	$(CC) $(SANFLAGS) -DFUZZ_DRIVER -DVERSION=\"$(VERSION)\" $(INCS) \
		-o $@ tests/fuzz/http.c $(TSLIB) $(LIBS)
tests/fuzz/sse: tests/fuzz/sse.c tests/fuzz/driver.h $(DEPS)
	$(CC) $(SANFLAGS) -DFUZZ_DRIVER -DVERSION=\"$(VERSION)\" $(INCS) \
		-o $@ tests/fuzz/sse.c $(TSLIB) $(LIBS)
tests/fuzz/session: tests/fuzz/session.c tests/fuzz/driver.h $(DEPS)
	$(CC) $(SANFLAGS) -DFUZZ_DRIVER -DVERSION=\"$(VERSION)\" $(INCS) \
		-o $@ tests/fuzz/session.c $(TSLIB) $(LIBS)
tests/fuzz/toml: tests/fuzz/toml.c tests/fuzz/driver.h $(DEPS)
	$(CC) $(SANFLAGS) -DFUZZ_DRIVER -DVERSION=\"$(VERSION)\" $(INCS) \
		-o $@ tests/fuzz/toml.c $(TSLIB) $(LIBS)

# libFuzzer targets (clang); each also builds as a plain driver above
FUZZCC = clang
FUZZFLAGS = -g -O1 -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=all
FUZZERS = tests/fuzz/json-fuzzer tests/fuzz/lexer-fuzzer \
	tests/fuzz/toml-fuzzer tests/fuzz/http-fuzzer tests/fuzz/sse-fuzzer \
	tests/fuzz/session-fuzzer
fuzz: $(FUZZERS)
tests/fuzz/json-fuzzer: tests/fuzz/json.c tests/fuzz/driver.h $(DEPS)
	$(FUZZCC) $(FUZZFLAGS) -DVERSION=\"$(VERSION)\" $(INCS) -o $@ \
		tests/fuzz/json.c $(TSLIB) $(LIBS)
tests/fuzz/lexer-fuzzer: tests/fuzz/lexer.c tests/fuzz/driver.h $(DEPS)
	$(FUZZCC) $(FUZZFLAGS) -DVERSION=\"$(VERSION)\" $(INCS) -o $@ \
		tests/fuzz/lexer.c $(TSLIB) $(LIBS)
tests/fuzz/http-fuzzer: tests/fuzz/http.c tests/fuzz/driver.h $(DEPS)
	$(FUZZCC) $(FUZZFLAGS) -DVERSION=\"$(VERSION)\" $(INCS) -o $@ \
		tests/fuzz/http.c $(TSLIB) $(LIBS)
tests/fuzz/sse-fuzzer: tests/fuzz/sse.c tests/fuzz/driver.h $(DEPS)
	$(FUZZCC) $(FUZZFLAGS) -DVERSION=\"$(VERSION)\" $(INCS) -o $@ \
		tests/fuzz/sse.c $(TSLIB) $(LIBS)
tests/fuzz/session-fuzzer: tests/fuzz/session.c tests/fuzz/driver.h $(DEPS)
	$(FUZZCC) $(FUZZFLAGS) -DVERSION=\"$(VERSION)\" $(INCS) -o $@ \
		tests/fuzz/session.c $(TSLIB) $(LIBS)
tests/fuzz/toml-fuzzer: tests/fuzz/toml.c tests/fuzz/driver.h $(DEPS)
	$(FUZZCC) $(FUZZFLAGS) -DVERSION=\"$(VERSION)\" $(INCS) -o $@ \
		tests/fuzz/toml.c $(TSLIB) $(LIBS)

# static analysis: every finding is fixed or justified at its line
lint: config.h $(BPF)
	cppcheck --std=c99 --enable=warning,portability,performance \
		--inline-suppr --error-exitcode=1 --quiet \
		-D__linux__ -DVERSION=\"$(VERSION)\" -I. $(SRC)
	# -O0: at -O2 GCC 12 splits functions into .part clones and the
	# analyzer then loses a realloc'd pointer stored through *b (a false
	# "leak" in bufgrow); unoptimised it follows the code as written
	@mkdir -p build
	$(CC) $(VTCPPFLAGS) $(CPPFLAGS) -std=c99 -O0 -fanalyzer -Werror \
		-c $(SRC) -o build/analyzer.o

bench: vtcode
	sh bench/json.sh
	sh bench/sandbox.sh
	sh bench/stream.sh

demo: vtcode
	sh tests/demo.sh

clean:
	rm -rf vtcode build tests/unit tests/port tests/fuzz/json tests/fuzz/lexer tests/fuzz/toml tests/fuzz/http tests/fuzz/sse tests/fuzz/session $(FUZZERS) \
		tests/tmp bench/out vtcode-$(VERSION).tar.gz

# the sources only: what the build made is left out of the copy
dist:
	rm -rf vtcode-$(VERSION)
	mkdir -p vtcode-$(VERSION)
	cp -R $(DISTFILES) vtcode-$(VERSION)
	cd vtcode-$(VERSION) && rm -rf tests/unit tests/port tests/fuzz/json \
		tests/fuzz/lexer tests/fuzz/toml tests/fuzz/http tests/fuzz/sse \
		tests/fuzz/session \
		tests/fuzz/*-fuzzer bench/out
	tar -cf - vtcode-$(VERSION) | gzip >vtcode-$(VERSION).tar.gz
	rm -rf vtcode-$(VERSION)

install: vtcode
	mkdir -p $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(MANPREFIX)/man1
	cp -f vtcode $(DESTDIR)$(PREFIX)/bin/vtcode
	chmod 755 $(DESTDIR)$(PREFIX)/bin/vtcode
	sed "s/VERSION/$(VERSION)/g" <vtcode.1 >$(DESTDIR)$(MANPREFIX)/man1/vtcode.1
	chmod 644 $(DESTDIR)$(MANPREFIX)/man1/vtcode.1

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/vtcode $(DESTDIR)$(MANPREFIX)/man1/vtcode.1

.PHONY: all deps werror test fuzz lint bench demo clean dist install uninstall
