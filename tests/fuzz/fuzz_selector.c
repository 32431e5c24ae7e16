/*
 * fuzz_selector.c: libFuzzer target for the selector parser and matcher.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "labels.h"
#include "selector.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char		*text = xstrndup((const char *)data, size);
	char		 err[256];
	size_t		 pos;
	struct selector	*s = selector_parse(text, err, sizeof(err), &pos);
	struct labelset	 ls;

	if (s) {
		labelset_init(&ls);
		labelset_set(&ls, "app", "db");
		labelset_set(&ls, "com.docker.compose.service", "web");
		selector_match(s, &ls);
		selector_text(s);
		labelset_release(&ls);
		selector_free(s);
	} else if (pos > size) {
		abort();	/* an error position must lie inside the text */
	}
	free(text);
	return 0;
}
