/* See LICENSE file for copyright and license details.
 *
 * tests/fuzz/driver.h: what every plain fuzz driver (-DFUZZ_DRIVER)
 * shares, and (with FUZZ_SPLIT) the way http.c and sse.c cut an input
 * into the pieces a network would deliver.  ASan and UBSan exit 1 after
 * a report by default, which is a driver's "refused": tests.sh would
 * count an overflow as a pass.  Abort instead, as a failed check does.
 */
#ifdef FUZZ_DRIVER
const char *__asan_default_options(void);
static char *fzread(int argc, char *argv[], const char *name, size_t *len);
const char *__ubsan_default_options(void);

const char *
__asan_default_options(void)
{
	return "abort_on_error=1";
}

const char *
__ubsan_default_options(void)
{
	return "abort_on_error=1:print_stacktrace=1";
}

/* FILE (argv[1]) whole, as an exact-size copy the way libFuzzer hands an
 * input over: no NUL after the last byte for an overread to hide behind.
 * A usage or I/O error exits with ExitUsage. */
static char *
fzread(int argc, char *argv[], const char *name, size_t *len)
{
	char chunk[65536], *data;
	size_t n;
	FILE *fp;
	Buf b;

	if (argc != 2) {
		fprintf(stderr, "usage: %s FILE\n", name);
		exit(ExitUsage);
	}
	if ((fp = fopen(argv[1], "rb")) == NULL) {
		fprintf(stderr, "%s: %s: %s\n", name, argv[1], strerror(errno));
		exit(ExitUsage);
	}
	bufinit(&b, 0);
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		bufadd(&b, chunk, n);
	if (ferror(fp) || b.err) {
		fprintf(stderr, "%s: %s: read error\n", name, argv[1]);
		exit(ExitUsage);
	}
	fclose(fp);
	data = xmalloc(b.len ? b.len : 1);
	if (b.len > 0)
		memcpy(data, b.p, b.len);
	*len = b.len;
	buffree(&b);
	return data;
}
#endif

#ifdef FUZZ_SPLIT
/* how to cut the input into pieces */
typedef struct {
	int mode;
	uint32_t x;             /* xorshift state */
	size_t step;
	int zero;               /* the last piece was empty */
} Split;

static void splitinit(Split *s, int mode, int seed);
static size_t nextlen(Split *s, const char *p, size_t left);

/*
 * Modes: -1 whole, 0 one byte at a time, 1 a fixed size, 2 random sizes
 * up to 255 (empty pieces too), 3 two pieces cut at (seed % 64)/64 of the
 * rest, 4 cut after every CR and LF, 5 sizes 1, 2, 3 ..., 6 random sizes
 * up to 4 KiB, 7 cut before every LF (so a CR ends a piece and its LF
 * starts the next).
 */
static void
splitinit(Split *s, int mode, int seed)
{
	s->mode = mode;
	s->x = 0x9e3779b9u ^ (uint32_t)seed * 0x01000193u;
	s->step = (size_t)seed % 64 + 1;
	s->zero = 0;
}

static size_t
nextlen(Split *s, const char *p, size_t left)
{
	const char *c;
	size_t k;
	uint32_t r;

	switch (s->mode) {
	case 0:
		k = 1;
		break;
	case 1:
		k = s->step;
		break;
	case 2:
	case 6:
		s->x ^= s->x << 13;
		s->x ^= s->x >> 17;
		s->x ^= s->x << 5;
		r = s->x;
		k = r % ((s->mode == 2 ? 2u : 64u) << (r >> 29));
		break;
	case 3:
		k = (size_t)(((uint64_t)left * (s->step - 1)) / 64);
		s->mode = -1;   /* then the rest */
		break;
	case 4:
		for (k = 0; k < left && p[k] != '\r' && p[k] != '\n'; k++)
			;
		k++;
		break;
	case 5:
		k = s->step++;
		break;
	case 7:
		c = left > 1 ? memchr(p + 1, '\n', left - 1) : NULL;
		k = c ? (size_t)(c - p) : left;
		break;
	default:
		k = left;
		break;
	}
	/* an empty piece now and then, never two running */
	if (k == 0 && s->zero)
		k = 1;
	s->zero = k == 0;
	return MIN(k, left);
}
#endif

#ifdef FUZZ_NAME
/*
 * The entry points of a target whose every check is in fzone(data, size,
 * msg, sz) (0, or 1 with the reason in msg for an input it refuses):
 * libFuzzer's, and with FUZZ_DRIVER a main() that runs it on FILE, says
 * why it refused and exits ExitOK or ExitFail.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
static int fzone(const uint8_t *data, size_t size, char *msg, size_t sz);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char msg[256];

	fzone(data, size, msg, sizeof(msg));
	return 0;
}

#ifdef FUZZ_DRIVER
int
main(int argc, char *argv[])
{
	char *data, msg[256];
	size_t len;
	int rc;

	data = fzread(argc, argv, FUZZ_NAME, &len);
	rc = fzone((const uint8_t *)data, len, msg, sizeof(msg));
	if (rc != 0)
		fprintf(stderr, "%s: %s: %s\n", FUZZ_NAME, argv[1], msg);
	free(data);
	return rc == 0 ? ExitOK : ExitFail;
}
#endif
#endif
