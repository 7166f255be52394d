/* yaml.h: the one wrapper of libyaml's document API, for configuration files and overrides
 * (config/config.c) and sweep files (sweep/spec.c).
 *   ncsn_yaml_parse      text into a document; errors name "FILE:LINE" or "--set KEY"
 *   ncsn_yaml_line       a node's line (from 1)
 *   ncsn_yaml_scalar, ncsn_yaml_plain   a scalar's text (plain: unquoted only)
 *   ncsn_yaml_is_null    YAML's null: no node, or a plain "", ~, null, Null or NULL
 *   ncsn_yaml_bool       true/yes/on, false/no/off (any case), plain only
 *   ncsn_yaml_real       a finite number, the whole of a plain scalar
 *   ncsn_yaml_nonfinite_word  .inf, nan, -infinity, ... (YAML's and C's spellings)
 *   ncsn_yaml_items, ncsn_yaml_item     a sequence's length and entries
 *   ncsn_yaml_got        what a node holds, for "expected ..., got ..." messages
 * The depth check of flow collections (ncsn_yaml_too_deep, NCSN_YAML_MAX_DEPTH) is declared
 * in config.h and defined with these (config/yaml.c). */
#ifndef NCSN_YAML_H
#define NCSN_YAML_H

#include <stddef.h>
#include <yaml.h>

#include "ncsn/common.h"

/* Where parsed text came from, for messages. */
typedef struct {
    const char *label;    /* the file: errors "LABEL:LINE: reason" */
    size_t line0;         /* lines of that file before the text (text cut out of it) */
    const char *set_key;  /* not NULL: an override of this key, errors "--set KEY: reason" */
    const char *per_file; /* what one file holds: "a second YAML document; one PER_FILE per
                             file" */
} ncsn_yaml_source;

/* Parses text (len bytes) into *doc, which owns it on success (yaml_document_delete). Tab
 * characters, nesting deeper than NCSN_YAML_MAX_DEPTH, syntax errors (libyaml's words, at
 * the line where it gave up; a bad byte at the line that holds it) and a second document
 * are refused. An empty text gives a document without a root. 0, or -1 with err filled
 * (*doc zeroed). */
int ncsn_yaml_parse(yaml_document_t *doc, const char *text, size_t len,
                    const ncsn_yaml_source *src, ncsn_error *err);

int ncsn_yaml_line(const yaml_node_t *n); /* 0 for NULL */
const char *ncsn_yaml_scalar(const yaml_node_t *n);
const char *ncsn_yaml_plain(const yaml_node_t *n);
int ncsn_yaml_is_null(const yaml_node_t *n);
int ncsn_yaml_nonfinite_word(const char *t);
/* 0 with *b set, or -1. */
int ncsn_yaml_bool(const yaml_node_t *n, int *b);
/* A finite number: 0; not a number: -1; a number, but not finite (1e999, .inf): -2. */
int ncsn_yaml_real(const yaml_node_t *n, double *x);
int ncsn_yaml_items(const yaml_node_t *n);
yaml_node_t *ncsn_yaml_item(yaml_document_t *d, const yaml_node_t *n, int i);
/* 1.5, true, ~, "fast", "0.1" (a quoted string), a list, a map, an empty value; buf holds
 * at least 80 bytes. */
const char *ncsn_yaml_got(const yaml_node_t *n, char *buf, size_t size);

#endif
