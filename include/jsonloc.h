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

#endif
