/*
 * verify.h: `bulkhead verify`: proves that the controls operate as
 * intended.  Asks bulkheadd for a sample of probes and the verdict its
 * evaluator promises for each (probeplan.h), sends them as real packets
 * from inside each source container's network namespace (probe.h) and
 * reports every mismatch between the promise and what the kernel did.
 *
 * Output (`bulkhead -o json verify`): the plan's fields ("generation",
 * "seed", "containers", "pairs", "candidates", "in_sync") and
 * "timeout_ms", "probes": [the plan's PROBE plus "observed":
 * "delivered"|"dropped"|"error", "detail", "ms", "result":
 * "ok"|"mismatch"|"error"], "total", "passed", "mismatches", "errors".
 *
 * Exit: 0 every probe as promised, 1 a mismatch or a probe that could not
 * be sent (or bulkheadd refused), 2 usage, 3 daemon unreachable.
 */
#ifndef BULKHEAD_VERIFY_H
#define BULKHEAD_VERIFY_H

/* The verb: argv[0] is "verify"; json selects -o json. */
int	verify_main(const char *socket, int json, int argc, char **argv);

#endif
