/* See LICENSE file for copyright and license details.
 *
 * tests/fuzz/toml.c: fuzz target for vtcode.c's config parser,
 * tomlparse().  A vtcode.toml can be written by anyone who can write the
 * workspace (once it is trusted) or the user's config directory.
 *
 *   make tests/fuzz/toml-fuzzer   libFuzzer (clang), ASan + UBSan + LSan
 *   make tests/fuzz/toml          plain driver (-DFUZZ_DRIVER):
 *                                 tests/fuzz/toml FILE exits 0 when the
 *                                 file parsed, 1 when it was refused (the
 *                                 file:line reason on stderr), 2 on a usage
 *                                 or I/O error; a failed check aborts.
 *
 * Checks on every accepted input: no more entries than MAXCONFIGKEYS, no
 * (table, key) twice, keys and table names within MAXCONFIGKEY and free
 * of control bytes, every string and array element valid UTF-8 without
 * NUL, arrays within MAXCONFIGARRAY, line numbers rising.  On refusal:
 * nothing is left allocated and the reason names the file and a line.
 */
#define VTCODE_NOMAIN
#include "../../vtcode.c"
#include "driver.h"

#define CHECK(c)        ((c) ? (void)0 : fzfail(__LINE__, #c))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fzfail(int line, const char *what)
{
	fprintf(stderr, "tests/fuzz/toml.c:%d: check failed: %s\n", line, what);
	abort();
}

static int
validutf8(const char *s, int allowctl)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), i;
	uint32_t cp;
	int k;

	for (i = 0; i < n; i += (size_t)k) {
		if ((k = utf8dec(p + i, n - i, &cp)) < 0)
			return 0;
		if (!allowctl && cp < 0x20)
			return 0;
	}
	return 1;
}

static int
fzone(const uint8_t *data, size_t size)
{
	char err[512];
	Toml t;
	int i, j, prev = 0;

	if (tomlparse((const char *)data, size, "fuzz.toml", &t, err,
	    sizeof(err)) != 0) {
		CHECK(t.n == 0 && t.e == NULL);
		CHECK(strncmp(err, "fuzz.toml:", 10) == 0);
		return 1;
	}
	CHECK(t.n <= MAXCONFIGKEYS);
	for (i = 0; i < t.n; i++) {
		CHECK(strlen(t.e[i].key) <= MAXCONFIGKEY && t.e[i].key[0]);
		CHECK(strlen(t.e[i].table) <= MAXCONFIGKEY);
		CHECK(validutf8(t.e[i].key, 0) && validutf8(t.e[i].table, 0));
		CHECK(t.e[i].line > prev);
		prev = t.e[i].line;
		for (j = 0; j < i; j++)
			CHECK(strcmp(t.e[i].table, t.e[j].table) != 0 ||
			    strcmp(t.e[i].key, t.e[j].key) != 0);
		switch (t.e[i].type) {
		case TStr:
			/* escapes may make \n or \t: allowed inside values */
			CHECK(t.e[i].str != NULL && validutf8(t.e[i].str, 1));
			break;
		case TArr:
			CHECK(t.e[i].narr <= MAXCONFIGARRAY);
			for (j = 0; j < t.e[i].narr; j++)
				CHECK(validutf8(t.e[i].arr[j], 1));
			break;
		case TBool:
			CHECK(t.e[i].num == 0 || t.e[i].num == 1);
			break;
		case TInt:
			break;
		default:
			CHECK(0);
		}
	}
	tomlfree(&t);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fzone(data, size);
	return 0;
}

#ifdef FUZZ_DRIVER
int
main(int argc, char *argv[])
{
	struct stat st;
	size_t len;
	char *buf;
	int rc;

	if (argc != 2) {
		fprintf(stderr, "usage: tests/fuzz/toml FILE\n");
		return 2;
	}
	if ((buf = readsmall(AT_FDCWD, argv[1], 1 << 20, &len, &st)) == NULL) {
		fprintf(stderr, "toml: %s: %s\n", argv[1], strerror(errno));
		return 2;
	}
	rc = fzone((const uint8_t *)buf, len);
	if (rc != 0) {
		char err[512];
		Toml t;

		tomlparse(buf, len, argv[1], &t, err, sizeof(err));
		fprintf(stderr, "toml: %s\n", err);
	}
	free(buf);
	return rc;
}
#endif
