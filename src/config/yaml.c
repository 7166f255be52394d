/* config/yaml.c: the libyaml wrapper of yaml.h (parsing with messages that name the file's
 * line or the override, and the readers of nodes both the configuration and the sweep
 * files use), and the depth check of flow collections (config.h). */
#include "ncsn/yaml.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>

#include "ncsn/config.h"

/* ---- nodes --------------------------------------------------------------------------- */

int ncsn_yaml_line(const yaml_node_t *n) { return n ? (int)n->start_mark.line + 1 : 0; }

const char *ncsn_yaml_scalar(const yaml_node_t *n) {
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* Quoted scalars are strings in YAML: only plain ones are numbers, booleans or null. */
const char *ncsn_yaml_plain(const yaml_node_t *n) {
    const char *t = ncsn_yaml_scalar(n);
    return t && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE ? t : NULL;
}

/* YAML 1.2's core schema: "", ~, null, Null, NULL. */
int ncsn_yaml_is_null(const yaml_node_t *n) {
    const char *t = ncsn_yaml_plain(n);
    return !n || (t && (!t[0] || !strcmp(t, "~") || !strcmp(t, "null") || !strcmp(t, "Null") ||
                        !strcmp(t, "NULL")));
}

int ncsn_yaml_nonfinite_word(const char *t) {
    static const char *const words[] = {".inf", "+.inf", "-.inf", ".nan", "inf", "+inf",
                                        "-inf", "nan", "infinity", "+infinity", "-infinity"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (strcasecmp(t, words[i]) == 0) return 1;
    return 0;
}

int ncsn_yaml_bool(const yaml_node_t *n, int *b) {
    static const char *const yes[] = {"true", "yes", "on"}, *const no[] = {"false", "no", "off"};
    const char *t = ncsn_yaml_plain(n);
    for (int i = 0; t && i < 3; i++) {
        if (strcasecmp(t, yes[i]) == 0) return *b = 1, 0;
        if (strcasecmp(t, no[i]) == 0) return *b = 0, 0;
    }
    return -1;
}

int ncsn_yaml_real(const yaml_node_t *n, double *x) {
    const char *t = ncsn_yaml_plain(n);
    if (!t || !t[0]) return -1;
    if (ncsn_yaml_nonfinite_word(t)) return -2;
    if (!strchr("+-.0123456789", t[0])) return -1;
    char *end;
    errno = 0;
    *x = strtod(t, &end);
    if (end == t || *end) return -1;
    return isfinite(*x) ? 0 : -2;
}

int ncsn_yaml_items(const yaml_node_t *n) {
    return (int)(n->data.sequence.items.top - n->data.sequence.items.start);
}

yaml_node_t *ncsn_yaml_item(yaml_document_t *d, const yaml_node_t *n, int i) {
    return yaml_document_get_node(d, n->data.sequence.items.start[i]);
}

const char *ncsn_yaml_got(const yaml_node_t *n, char *buf, size_t size) {
    if (!n) return "an empty value";
    if (n->type == YAML_MAPPING_NODE) return "a map";
    if (n->type == YAML_SEQUENCE_NODE) return "a list";
    const char *t = ncsn_yaml_scalar(n);
    int b, numeric = ncsn_yaml_nonfinite_word(t);
    if (t[0] && !numeric) {
        char *end;
        (void)strtod(t, &end);
        numeric = *end == 0;
    }
    if (ncsn_yaml_plain(n) && !t[0]) return "an empty value";
    if (ncsn_yaml_plain(n) && (numeric || ncsn_yaml_is_null(n) || ncsn_yaml_bool(n, &b) == 0))
        snprintf(buf, size, "%.60s", t);
    else
        snprintf(buf, size, "\"%.60s%s\"%s", t, strlen(t) > 60 ? "..." : "",
                 numeric ? " (a quoted string)" : "");
    return buf;
}

/* ---- parsing ------------------------------------------------------------------------- */

size_t ncsn_yaml_too_deep(const char *text, size_t len) {
    size_t line = 1;
    int depth = 0;
    char quote = 0;       /* the open quote, or 0 */
    char prev = ' ';      /* the previous character outside quotes (' ' at a line start) */
    for (size_t i = 0; i < len; i++) {
        const char ch = text[i];
        if (ch == '\n') line++;
        if (quote) {
            const int escape = i + 1 < len && ((quote == '"' && ch == '\\') ||
                                               (quote == '\'' && ch == '\'' && text[i + 1] == '\''));
            if (escape) line += text[++i] == '\n'; /* \x in "...", '' in '...': skip x, ' */
            else if (ch == quote) quote = 0;
            continue;
        }
        if (ch == '#' && (prev == ' ' || prev == '\n')) { /* a comment, to the line's end */
            while (i + 1 < len && text[i + 1] != '\n') i++;
            continue;
        }
        if ((ch == '\'' || ch == '"') && strchr(" \n[{,:-", prev)) quote = ch;
        else if (ch == '[' || ch == '{') {
            if (++depth > NCSN_YAML_MAX_DEPTH) return line;
        } else if ((ch == ']' || ch == '}') && depth > 0) depth--;
        prev = ch;
    }
    return 0;
}

/* err = "LABEL:LINE: reason" (line counted in the text, from 1), or "--set KEY: reason"
 * when set_reason (the override's wording) is given for an override. Returns -1. */
static int parse_fail(const ncsn_yaml_source *s, size_t line, ncsn_error *err,
                      const char *set_reason, const char *fmt, ...) NCSN_PRINTF(5, 6);
static int parse_fail(const ncsn_yaml_source *s, size_t line, ncsn_error *err,
                      const char *set_reason, const char *fmt, ...) {
    char reason[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    if (s->set_key) return ncsn_seterr(err, "--set %s: %s", s->set_key, set_reason);
    return ncsn_seterr(err, "%s:%zu: %s", s->label, s->line0 + line, reason);
}

/* libyaml's own words, e.g. "did not find expected key (while parsing a block mapping)",
 * at the line where it gave up. */
static int syntax_error(const ncsn_yaml_source *s, const yaml_parser_t *parser,
                        const char *text, size_t len, ncsn_error *err) {
    char context[200] = "", why[600];
    if (parser->context) snprintf(context, sizeof context, " (%s)", parser->context);
    const char *problem = parser->problem ? parser->problem : "unknown problem";
    snprintf(why, sizeof why, "YAML syntax error in the value: %s%s", problem, context);
    /* A reader error (bad UTF-8, a control character) has no mark, only a byte offset. */
    size_t line = parser->problem_mark.line;
    if (parser->error == YAML_READER_ERROR)
        for (size_t i = 0; i < parser->problem_offset && i < len; i++) line += text[i] == '\n';
    return parse_fail(s, line + 1, err, why, "YAML syntax error: %s%s", problem, context);
}

int ncsn_yaml_parse(yaml_document_t *doc, const char *text, size_t len,
                    const ncsn_yaml_source *s, ncsn_error *err) {
    memset(doc, 0, sizeof *doc);
    const char *tab = memchr(text, '\t', len);
    if (tab) {
        size_t line = 1;
        for (const char *p = text; p < tab; p++) line += *p == '\n';
        return parse_fail(s, line, err, "tab character in the value",
                          "tab character: indent YAML with spaces");
    }
    const size_t deep = ncsn_yaml_too_deep(text, len);
    if (deep) {
        char why[80];
        snprintf(why, sizeof why, "lists or maps nested more than %d deep", NCSN_YAML_MAX_DEPTH);
        return parse_fail(s, deep, err, why, "%s", why);
    }
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) {
        if (s->set_key)
            return ncsn_seterr(err, "--set %s: cannot start the YAML parser", s->set_key);
        return ncsn_seterr(err, "%s: cannot start the YAML parser", s->label);
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    int rc = 0, loaded = yaml_parser_load(&parser, doc); /* libyaml cleans up a failure */
    if (!loaded) {
        rc = syntax_error(s, &parser, text, len, err);
    } else if (yaml_document_get_root_node(doc)) {
        yaml_document_t next;
        if (!yaml_parser_load(&parser, &next)) {
            rc = syntax_error(s, &parser, text, len, err);
        } else {
            yaml_node_t *root = yaml_document_get_root_node(&next);
            if (root)
                rc = parse_fail(s, (size_t)ncsn_yaml_line(root), err,
                                "more than one YAML document",
                                "a second YAML document; one %s per file", s->per_file);
            yaml_document_delete(&next);
        }
    }
    if (rc && loaded) yaml_document_delete(doc);
    if (rc) memset(doc, 0, sizeof *doc);
    yaml_parser_delete(&parser);
    return rc;
}
