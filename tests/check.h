/* See LICENSE file for copyright and license details.
 *
 * tests/check.h: the one assertion of tests/unit.c and tests/port.c.
 * T(cond) counts a pass, or prints the file, line and condition of a
 * failure; the caller prints npass and nfail at the end.
 */
static int npass, nfail;

#define T(c) check((c) != 0, __FILE__, __LINE__, #c)

static void
check(int ok, const char *file, int line, const char *what)
{
	if (ok) {
		npass++;
		return;
	}
	nfail++;
	printf("FAIL %s:%d: %s\n", file, line, what);
}
