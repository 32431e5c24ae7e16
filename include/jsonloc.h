/*
 * jsonloc.h: finds where a JSON path lies in a JSON text.  jansson keeps no
 * positions for values it parsed successfully, so semantic errors found
 * after parsing are located by re-scanning the text with this small,
 * self-contained scanner.  Pure; fuzzed.
 *
 * Paths: "$", "$.spec.ingress[0].protocol", "$[2].metadata.name".
 * Keys are plain identifiers or quoted: $["my.key"].
 */
#ifndef BULKHEAD_JSONLOC_H
#define BULKHEAD_JSONLOC_H

#include <stddef.h>

/*
 * Sets *line and *column (both 1-based) to the start of the value at path
 * (for an object member: the start of its value).  When the path does not
 * exist (a missing member), returns the position of the innermost enclosing
 * value that exists.  Returns 0 when the exact path was found, 1 when an
 * enclosing value was used, -1 when the text is not valid JSON.
 */
int	jsonloc_find(const char *text, size_t len, const char *path,
	    int *line, int *column);

/*
 * Walking a top-level array element by element, so that locating paths
 * inside element N costs the size of that element, not of the file.
 */
struct jsonloc_pos {
	size_t	off;
	int	line;		/* 1-based */
	int	column;		/* 1-based, in characters */
};

/* Just after the '[' of a text that is an array; -1 when it is not. */
int	jsonloc_array_start(const char *text, size_t len,
	    struct jsonloc_pos *pos);
/*
 * The value after pos (after a ',' first when skip_comma): its start and
 * the position just after it.  Returns 0 or -1.
 */
int	jsonloc_value_span(const char *text, size_t len,
	    const struct jsonloc_pos *pos, int skip_comma,
	    struct jsonloc_pos *start, struct jsonloc_pos *end);

#endif
