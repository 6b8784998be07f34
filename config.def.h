/* See LICENSE file for copyright and license details.
 *
 * config.def.h: vtcode's compile-time configuration.  `make` copies it to
 * config.h when that file is absent; edit config.h and rebuild.  This file
 * is the ceiling: nothing read at run time (flags, environment, runtime
 * config, the workspace, the model) can loosen what is set here.
 *
 * Each limit says which attack or failure it bounds.
 */

/* ---- json ---- */

/* Nesting depth of any JSON document read or written.  Bounds the
 * parser's container stack: a server or model sending [[[[... cannot
 * exhaust memory or the stack.  At most JSONDEPTHCAP (vtcode.h). */
#define MAXJSONDEPTH      64

/* Tokens in one JSON document (scalars, keys, containers).  A 1 MiB
 * document of "[0,0,0,...]" is ~500k tokens; an SSE chunk from a model
 * is a few dozen.  Bounds the token array the caller allocates. */
#define MAXJSONTOKENS     (1 << 20)

/* Bytes in one JSON document that vtcode will parse at all. */
#define MAXJSONSIZE       (16 << 20)

/* Bytes in one number literal that vtcode converts to a double or an
 * integer.  Longer literals are valid JSON but not meaningful to us; a
 * 1 MB run of digits fed to strtod() is a CPU sink. */
#define MAXJSONNUMLEN     320

/* ---- command line ---- */

/* Bytes in one command-line operand or option value (-m, -P, -C, ...). */
#define MAXARGLEN         4096
