/* text.h: text helpers shared by the modules that read files and write messages.
 *   ncsn_read_file    a whole file into memory, NUL-terminated
 *   ncsn_iso_time     the current time, ISO 8601 UTC ("2024-05-01T12:00:00Z")
 *   ncsn_format_real  the shortest text that reads back as exactly x (YAML's .nan, .inf)
 *   ncsn_xstrdup, ncsn_xasprintf  copies and formatted text, malloc'd, abort when memory
 *                     runs out (as ncsn_xmalloc)
 *   ncsn_fnv1a        the 64-bit FNV-1a hash of bytes (texts' identities, hash tables,
 *                     the bits of a result) */
#ifndef NCSN_TEXT_H
#define NCSN_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "ncsn/common.h"

/* *text (malloc'd, NUL-terminated after its *len bytes; len may be NULL) gets path's
 * contents. Fails with "PATH: cannot open: REASON", "PATH: cannot read: REASON" or
 * "PATH: out of memory reading the file" (err may be NULL); *text is then NULL. */
int ncsn_read_file(const char *path, char **text, size_t *len, ncsn_error *err);

#define NCSN_ISO_TIME_MAX 32
/* buf (size bytes, NCSN_ISO_TIME_MAX is enough): now as YYYY-MM-DDTHH:MM:SSZ. */
void ncsn_iso_time(char *buf, size_t size);

#define NCSN_REAL_TEXT_MAX 40
/* The shortest %g form of x that reads back as exactly x, without an exponent for
 * magnitudes in [1, 1e16) ("20", not "2e+01"); .nan, .inf, -.inf as YAML writes them.
 * Returns buf. */
const char *ncsn_format_real(double x, char buf[NCSN_REAL_TEXT_MAX]);

char *ncsn_xstrdup(const char *s);
char *ncsn_xasprintf(const char *fmt, ...) NCSN_PRINTF(1, 2);

/* FNV-1a (64 bits) of the n bytes at p. */
uint64_t ncsn_fnv1a(const void *p, size_t n);

#endif
