/* See LICENSE file for copyright and license details.
 *
 * tests/fuzz/driver.h: what every plain fuzz driver (-DFUZZ_DRIVER)
 * shares.  ASan and UBSan exit 1 after a report by default, which is a
 * driver's "refused": tests.sh would count an overflow as a pass.  Abort
 * instead, as a failed check does.
 */
#ifdef FUZZ_DRIVER
const char *__asan_default_options(void);
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
#endif
