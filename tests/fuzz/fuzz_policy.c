/*
 * fuzz_policy.c: libFuzzer target for the policy loader (both object
 * kinds go through policy_load_buffer) and, through it, the selector
 * parser and the JSON locator used for error positions.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "errlist.h"
#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policy_set	*ps = policy_set_new();
	struct errlist		 el;
	char			*all;

	errlist_init(&el);
	policy_load_buffer(ps, "fuzz.json", (const char *)data, size, &el);
	policy_set_finish(ps, &el);
	all = errlist_join(&el);
	free(all);
	errlist_release(&el);
	policy_set_free(ps);
	return 0;
}
