/* util/text.c: reading a whole file, ISO times, shortest round-trip numbers, checked
 * string copies (text.h). */
#include "ncsn/text.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>

int ncsn_read_file(const char *path, char **text, size_t *len, ncsn_error *err) {
    *text = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return ncsn_seterr(err, "%s: cannot open: %s", path, strerror(errno));
    size_t n = 0, cap = 4096;
    char *buf = ncsn_xmalloc(cap);
    for (;;) {
        n += fread(buf + n, 1, cap - n - 1, f);
        if (n < cap - 1) break;
        cap *= 2;
        char *bigger = realloc(buf, cap);
        if (!bigger) {
            free(buf);
            fclose(f);
            return ncsn_seterr(err, "%s: out of memory reading the file", path);
        }
        buf = bigger;
    }
    if (ferror(f)) {
        int e = errno;
        free(buf);
        fclose(f);
        return ncsn_seterr(err, "%s: cannot read: %s", path, strerror(e));
    }
    fclose(f);
    buf[n] = '\0';
    *text = buf;
    if (len) *len = n;
    return 0;
}

void ncsn_iso_time(char *buf, size_t size) {
    time_t now = time(NULL);
    struct tm utc;
    gmtime_r(&now, &utc);
    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &utc);
}

const char *ncsn_format_real(double x, char buf[NCSN_REAL_TEXT_MAX]) {
    if (isnan(x)) return strcpy(buf, ".nan");
    if (isinf(x)) return strcpy(buf, x > 0 ? ".inf" : "-.inf");
    int fixed_wanted = fabs(x) >= 1 && fabs(x) < 1e16;
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, NCSN_REAL_TEXT_MAX, "%.*g", prec, x);
        if (strtod(buf, NULL) == x && !(fixed_wanted && strchr(buf, 'e'))) break;
    }
    return buf;
}

char *ncsn_xstrdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = ncsn_xmalloc(n);
    memcpy(d, s, n);
    return d;
}

char *ncsn_xasprintf(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    NCSN_ASSERT(n >= 0);
    char *s = ncsn_xmalloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

uint64_t ncsn_fnv1a(const void *p, size_t n) {
    const unsigned char *c = p;
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    for (size_t i = 0; i < n; i++) h = (h ^ c[i]) * UINT64_C(0x100000001b3);
    return h;
}
