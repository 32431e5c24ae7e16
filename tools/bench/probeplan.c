/*
 * probeplan.c: times bulkheadd's side of `bulkhead verify` (the probe
 * plan: pairs, ports, sample, one explain per probe) on a generated
 * inventory of N containers sharing one network, labelled app=web, api
 * or db in turn, with the rules of a directory.  Run by verify-plan.sh.
 *   probeplan RULES-DIR N SAMPLE
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "errlist.h"
#include "inventory.h"
#include "policy.h"
#include "probeplan.h"
#include "snapshot.h"
#include "util.h"

static double
bench_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void
bench_inventory(struct inventory *inv, size_t n)
{
	static const char	*apps[] = { "web", "api", "db" };
	struct container	*ct;
	struct strbuf		 sb;
	char			 err[256];
	size_t			 i;

	strbuf_init(&sb);
	strbuf_addstr(&sb, "{\"containers\": [");
	for (i = 0; i < n; i++)
		strbuf_addf(&sb, "%s{\"id\": \"%064zx\", \"name\": \"c%zu\", "
		    "\"labels\": {\"app\": \"%s\"}, \"endpoints\": [{\"network\":"
		    " \"n1\", \"bridge\": \"br-1\", \"veth\": \"v%zu\", \"ipv4\": "
		    "\"10.%zu.%zu.%zu\"}]}", i ? "," : "", i + 1, i, apps[i % 3],
		    i, i / 62500, i / 250 % 250, i % 250 + 1);
	strbuf_addstr(&sb, "]}");
	inventory_init(inv);
	if (snapshot_load(sb.buf, sb.len, inv, err, sizeof(err)) == -1) {
		fprintf(stderr, "probeplan: inventory: %s\n", err);
		exit(1);
	}
	strbuf_release(&sb);
	TAILQ_FOREACH(ct, &inv->containers, entry)
		ct->pid = 1;
}

int
main(int argc, char **argv)
{
	struct probeplan_opts	 o;
	struct policy_set	*ps;
	struct inventory	 inv;
	struct errlist		 el;
	json_t			*a;
	double			 t0, t1;

	if (argc != 4) {
		fprintf(stderr, "usage: probeplan RULES-DIR N SAMPLE\n");
		return 2;
	}
	errlist_init(&el);
	if (policy_load_dir(argv[1], &ps, &el) == -1) {
		fprintf(stderr, "probeplan: %s: invalid rules\n", argv[1]);
		return 1;
	}
	bench_inventory(&inv, (size_t)atol(argv[2]));
	probeplan_opts_init(&o);
	o.sample = (size_t)atol(argv[3]);
	o.seed = 1;
	t0 = bench_ms();
	a = probeplan_answer(ps, &inv, NULL, &o);
	t1 = bench_ms();
	printf("%8zu containers  sample %4zu: %4zu probes of %lld candidates "
	    "in %.1f ms\n", inv.n, o.sample,
	    json_array_size(json_object_get(a, "probes")),
	    (long long)json_integer_value(json_object_get(a, "candidates")),
	    t1 - t0);
	json_decref(a);
	inventory_release(&inv);
	policy_set_free(ps);
	errlist_release(&el);
	return 0;
}
