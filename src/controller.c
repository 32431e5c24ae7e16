/*
 * controller.c: keeps the inventory in step with Docker and the links,
 * keeps the last good policies, and converges the kernel to the desired
 * state (compile.c -> ir_diff.c -> nft.c) in one transaction per round of
 * changes, carrying only what changed since the last apply.
 *
 * Every Docker event is answered the same way: inspect the container and
 * put what is true now into the inventory (or remove it when it no longer
 * runs).  That makes events idempotent, order-insensitive and safe to
 * replay, so a reconnection simply lists everything again.
 */
#include <sys/stat.h>

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "control.h"
#include "controller.h"
#include "docker.h"
#include "errlist.h"
#include "explain.h"
#include "evaluate.h"
#include "ir.h"
#include "ir_diff.h"
#include "link.h"
#include "log.h"
#include "metrics.h"
#include "nft.h"
#include "policy.h"
#include "probeplan.h"
#include "selector.h"
#include "snapshot.h"
#include "util.h"

#include <linux/netfilter.h>

#define RETRY_MS	500
#define BACKOFF_MAX_MS	10000
#define DRIFT_CHECK_MS	1000

/* Milliseconds until ts; 0 when past, -1 when ts is unset. */
static int
ms_until(const struct timespec *ts)
{
	struct timespec	now;
	long long	ms;

	if (ts->tv_sec == 0 && ts->tv_nsec == 0)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (ts->tv_sec - now.tv_sec) * 1000LL +
	    (ts->tv_nsec - now.tv_nsec) / 1000000LL;
	return ms < 0 ? 0 : (int)(ms > 60000 ? 60000 : ms);
}

/* Marks the kernel as behind; the first such change starts the latency clock. */
static void
controller_behind(struct controller *ctl)
{
	if (!ctl->dirty && !ctl->dirty_since.tv_sec)
		clock_gettime(CLOCK_MONOTONIC, &ctl->dirty_since);
	ctl->dirty = 1;
}

/* A change that is not one of containers: the next apply compiles whole. */
static void
controller_dirty(struct controller *ctl)
{
	controller_behind(ctl);
	ctl->whole = 1;
}

/*
 * Before the inventory's container id changes: keeps it as the kernel
 * knows it (the first time since the last apply), for its patch.
 */
static void
controller_remember(struct controller *ctl, const char *id)
{
	const struct container	*ct;
	struct ctchange		*c;
	size_t			 i;

	/* A whole compile is due anyway: nothing to patch. */
	if (ctl->whole || ctl->cstate == NULL)
		return;
	for (i = 0; i < ctl->nchanges; i++)
		if (strcmp(ctl->changes[i].id, id) == 0)
			return;
	ctl->changes = xreallocarray(ctl->changes, ctl->nchanges + 1,
	    sizeof(*ctl->changes));
	c = &ctl->changes[ctl->nchanges++];
	strlcpy_bh(c->id, id, sizeof(c->id));
	ct = inventory_get(&ctl->inv, id);
	c->old = ct ? container_dup(ct) : NULL;
}

static void
controller_changes_clear(struct controller *ctl)
{
	size_t	i;

	for (i = 0; i < ctl->nchanges; i++)
		container_free(ctl->changes[i].old);
	free(ctl->changes);
	ctl->changes = NULL;
	ctl->nchanges = 0;
}

void
controller_init(struct controller *ctl, const char *rules_dir,
    const char *docker_socket, const char *state_dir,
    const struct compile_opts *copts)
{
	char	*errs = NULL, *path, err[512];

	memset(ctl, 0, sizeof(*ctl));
	inventory_init(&ctl->inv);
	ctl->rules_dir = xstrdup(rules_dir);
	ctl->copts = *copts;
	/*
	 * The quarantine is known before the first ruleset: a container cut
	 * off before a restart stays cut off from the first packet on.
	 */
	if (state_dir != NULL && mkdir(state_dir, 0700) == -1 &&
	    errno != EEXIST)
		fatal("state directory %s", state_dir);
	path = state_dir ? xasprintf("%s/quarantine.json", state_dir) : NULL;
	quarantine_init(&ctl->quarantine, path);
	free(path);
	if (quarantine_load(&ctl->quarantine, err, sizeof(err)) == -1)
		fatalx("quarantine state refused: %s", err);
	if (ctl->quarantine.n)
		log_info("%zu container(s) in quarantine", ctl->quarantine.n);
	ctl->copts.quarantine = &ctl->quarantine;
	ctl->started = time(NULL);
	ctl->backoff_ms = RETRY_MS;
	if ((ctl->docker = docker_new(docker_socket)) == NULL)
		fatalx("cannot create the docker client");
	if ((ctl->link = link_new()) == NULL)
		fatalx("cannot open the netlink route socket");
	if ((ctl->nft = nft_new()) == NULL)
		fatalx("cannot open the nftables netlink socket");
	if ((ctl->monitor = nft_monitor_new(ctl->nft, COMPILE_TABLE)) == NULL)
		log_warnx("nftables notifications unavailable: drift is found "
		    "by a check every %d ms only", DRIFT_CHECK_MS);
	/*
	 * Bad rules at startup: exit and let whatever ruleset the kernel
	 * holds (from our last run) keep protecting the host.
	 */
	if (controller_reload(ctl, &errs) == -1)
		fatalx("rules in %s refused, the kernel keeps its current "
		    "ruleset:\n%s", rules_dir, errs);
	ctl->resync = 1;
}

void
controller_release(struct controller *ctl)
{
	docker_free(ctl->docker);
	link_free(ctl->link);
	nft_monitor_free(ctl->monitor);
	nft_free(ctl->nft);
	inventory_release(&ctl->inv);
	policy_set_free(ctl->ps);
	compile_state_free(ctl->cstate);
	controller_changes_clear(ctl);
	free(ctl->nets);
	free(ctl->rules_dir);
	quarantine_release(&ctl->quarantine);
}

/* ---- inventory ---- */

static const char *
controller_bridge(struct controller *ctl, const char *netid)
{
	struct netcache	*nc;
	size_t		 i;
	char		 br[16];

	for (i = 0; i < ctl->nnets; i++)
		if (strcmp(ctl->nets[i].id, netid) == 0)
			return ctl->nets[i].bridge;
	if (docker_network_bridge(ctl->docker, netid, br, sizeof(br)) != 0)
		br[0] = '\0';	/* not a bridge network (host, macvlan, ...) */
	ctl->nets = xreallocarray(ctl->nets, ctl->nnets + 1, sizeof(*ctl->nets));
	nc = &ctl->nets[ctl->nnets++];
	strlcpy_bh(nc->id, netid, sizeof(nc->id));
	strlcpy_bh(nc->bridge, br, sizeof(nc->bridge));
	return nc->bridge;
}

/*
 * Fills bridge and veth of each endpoint.  Returns the number of bridge
 * endpoints whose veth could not be found (yet).
 */
static int
controller_resolve(struct controller *ctl, struct container *ct)
{
	struct link_veth	veths[16];
	int			n = 0, missing = 0;
	size_t			i;
	int			j;

	for (i = 0; i < ct->neps; i++) {
		const char *br = controller_bridge(ctl, ct->eps[i].network_id);

		strlcpy_bh(ct->eps[i].bridge, br, sizeof(ct->eps[i].bridge));
	}
	if (ct->sandbox_key && ct->sandbox_key[0])
		n = link_find_veths(ctl->link, ct->sandbox_key, veths,
		    ARRAY_SIZE(veths));
	for (i = 0; i < ct->neps; i++) {
		struct endpoint *ep = &ct->eps[i];

		if (ep->bridge[0] == '\0')
			continue;
		for (j = 0; j < n; j++) {
			if (strcmp(veths[j].master, ep->bridge) != 0)
				continue;
			strlcpy_bh(ep->veth, veths[j].name, sizeof(ep->veth));
			ep->veth_ifindex = veths[j].ifindex;
		}
		if (ep->veth[0] == '\0')
			missing++;
	}
	return missing;
}

static const char *controller_unsegmentable(const struct controller *,
		    const struct container *, char *, size_t);

/* Puts what Docker says of id now into the inventory. */
static void
controller_refresh(struct controller *ctl, const char *id)
{
	struct container	*ct = NULL;
	int			 rc;

	rc = docker_inspect(ctl->docker, id, &ct);
	if (rc == -1) {
		log_warnx("inspect container %.12s failed; resynchronising", id);
		ctl->resync = 1;
		return;
	}
	if (rc == 1 || !ct->running) {
		if (inventory_get(&ctl->inv, id) != NULL)
			controller_remember(ctl, id);
		if (inventory_del(&ctl->inv, id) == 0) {
			log_info("container %.12s gone", id);
			controller_behind(ctl);
		}
		container_free(ct);
		return;
	}
	if (controller_resolve(ctl, ct) > 0) {
		log_debug("container %s: veth not found yet", ct->name);
		ctl->pending = 1;
		deadline_set(&ctl->next_retry, RETRY_MS);
	}
	log_info("container %s (%.12s) known", ct->name, ct->id);
	controller_remember(ctl, ct->id);
	inventory_put(&ctl->inv, ct);
	{
		char		 buf[256];
		const char	*why = controller_unsegmentable(ctl, ct, buf,
				    sizeof(buf));

		if (why)
			log_warnx("container %s cannot be segmented: %s",
			    ct->name, why);
	}
	controller_behind(ctl);
}

/* Rebuilds the inventory from a full listing (start, reconnection). */
static int
controller_sync(struct controller *ctl)
{
	struct container	*ct, *tmp;
	char			**ids = NULL;
	int			 n, i;

	if ((n = docker_list_running(ctl->docker, &ids)) == -1)
		return -1;
	controller_dirty(ctl);	/* a listing replaces what events built */
	/* Forget containers that stopped while we were not listening. */
	for (ct = TAILQ_FIRST(&ctl->inv.containers); ct; ct = tmp) {
		tmp = TAILQ_NEXT(ct, entry);
		for (i = 0; i < n; i++)
			if (strcmp(ids[i], ct->id) == 0)
				break;
		if (i == n) {
			controller_remember(ctl, ct->id);
			inventory_del(&ctl->inv, ct->id);
		}
	}
	for (i = 0; i < n; i++) {
		controller_refresh(ctl, ids[i]);
		free(ids[i]);
	}
	free(ids);
	controller_dirty(ctl);
	log_info("inventory synchronised: %zu containers", ctl->inv.n);
	return 0;
}

void
controller_docker_tick(struct controller *ctl)
{
	if (docker_events_alive(ctl->docker) && !ctl->resync)
		return;
	if (ms_until(&ctl->next_connect) > 0)
		return;
	docker_events_stop(ctl->docker);
	/* Follow events first: whatever happens during the listing is replayed. */
	if (docker_events_start(ctl->docker, controller_on_event, ctl) == -1 ||
	    controller_sync(ctl) == -1) {
		log_warnx("docker engine at %s unavailable; retrying in %d ms",
		    docker_socket_path(ctl->docker), ctl->backoff_ms);
		docker_events_stop(ctl->docker);
		deadline_set(&ctl->next_connect, ctl->backoff_ms);
		ctl->backoff_ms = ctl->backoff_ms * 2 > BACKOFF_MAX_MS ?
		    BACKOFF_MAX_MS : ctl->backoff_ms * 2;
		return;
	}
	if (ctl->docker_syncs++)
		ctl->docker_reconnects++;
	ctl->resync = 0;
	ctl->backoff_ms = RETRY_MS;
	memset(&ctl->next_connect, 0, sizeof(ctl->next_connect));
}

void
controller_on_event(const struct docker_event *ev, void *arg)
{
	struct controller	*ctl = arg;

	if (ev->kind == DOCKER_EV_OTHER || ev->container_id[0] == '\0')
		return;
	log_debug("docker event %s %s %.12s", ev->type, ev->action,
	    ev->container_id);
	if (ev->kind == DOCKER_EV_START && ev->time_nano > 0 &&
	    ctl->start_ns == 0) {
		ctl->start_ns = ev->time_nano;
		snprintf(ctl->start_id, sizeof(ctl->start_id), "%.12s",
		    ev->container_id);
	}
	controller_refresh(ctl, ev->container_id);
}

/*
 * After an apply: when every container's veth is known (nothing pending),
 * the container of the first start since the last such apply is enforced;
 * logs how long after Docker's start event (its wall-clock time), which
 * `make bench-latency` reads (tools/bench/latency.sh).
 */
static void
controller_start_enforced(struct controller *ctl)
{
	struct timespec	now;
	double		ms;

	if (ctl->start_ns == 0 || ctl->pending)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	ms = ((double)now.tv_sec * 1e9 + (double)now.tv_nsec -
	    (double)ctl->start_ns) / 1e6;
	log_debug("container %s enforced %.3f ms after docker's start event",
	    ctl->start_id, ms);
	ctl->start_ns = 0;
}

void
controller_on_links(struct controller *ctl)
{
	struct container	*ct;
	int			 missing = 0;

	if (!ctl->pending)
		return;
	TAILQ_FOREACH(ct, &ctl->inv.containers, entry) {
		size_t	i;
		int	had = 0, left;

		for (i = 0; i < ct->neps; i++)
			had += ct->eps[i].bridge[0] && !ct->eps[i].veth[0];
		if (had == 0)
			continue;
		controller_remember(ctl, ct->id);
		missing += left = controller_resolve(ctl, ct);
		/* Nothing found: the same ruleset, no apply every retry. */
		if (left < had)
			controller_behind(ctl);
	}
	ctl->pending = missing > 0;
	if (ctl->pending)
		deadline_set(&ctl->next_retry, RETRY_MS);
}

/* ---- policies and the kernel ---- */

static void
controller_log_delta(const struct ir_delta *d)
{
	struct ir_delta_stats	st;

	ir_delta_stats(d, &st);
	log_debug("delta: %zu+ %zu- elements, %zu+ %zu- sets, %zu+ %zu- "
	    "chains, %zu flushed, %zu rules", st.elems_added,
	    st.elems_deleted, st.sets_added, st.sets_deleted,
	    st.chains_added, st.chains_deleted, st.chains_flushed,
	    st.rules_added);
}

/*
 * Programs rs: only its difference from what the kernel holds when that
 * is known and can be changed in place, else the tables whole.  A delta
 * the kernel refuses is retried once as a full replace.
 */
static int
controller_program(struct controller *ctl, const struct ir_ruleset *rs,
    char *err, size_t errlen)
{
	struct ir_delta	*d;
	int		 rc;

	if (ctl->applied == NULL || ctl->full_needed)
		return nft_apply(ctl->nft, rs, err, errlen);
	d = ir_delta_new(ctl->applied, rs);
	if (d->full) {
		log_info("replacing the ruleset whole: %s", d->why);
		ir_delta_free(d);
		return nft_apply(ctl->nft, rs, err, errlen);
	}
	controller_log_delta(d);
	rc = nft_apply_delta(ctl->nft, d, err, errlen);
	ir_delta_free(d);
	if (rc == 0)
		return 0;
	log_warnx("incremental apply failed, replacing the ruleset whole: %s",
	    err);
	return nft_apply(ctl->nft, rs, err, errlen);
}

/*
 * With BULKHEAD_CHECK_PATCHES set (the end-to-end tests set it), every
 * patched ruleset is compared with a whole compile; a difference is
 * logged loudly and repaired by the next apply, compiled whole.
 */
static void
controller_check_patch(struct controller *ctl)
{
	struct ir_ruleset	*full;
	struct ir_delta		*d;
	struct ir_delta_stats	 st;

	if (getenv("BULKHEAD_CHECK_PATCHES") == NULL)
		return;
	full = compile_ruleset(ctl->ps, &ctl->inv, &ctl->copts);
	d = ir_delta_new(ctl->applied, full);
	if (!ir_delta_empty(d)) {
		ir_delta_stats(d, &st);
		log_warnx("patch check: the patched ruleset differs from a "
		    "whole compile (%zu+ %zu- elements, %zu+ %zu- chains); "
		    "compiling whole", st.elems_added, st.elems_deleted,
		    st.chains_added, st.chains_deleted);
		controller_dirty(ctl);
		ctl->full_needed = 1;	/* the kept copy is not the kernel's */
	}
	ir_delta_free(d);
	ir_ruleset_free(full);
}

/*
 * Sends the changes of containers as patches.  Returns 0 when they are
 * in the kernel, 1 when they cannot be patched (compile whole instead;
 * nothing was sent), -1 when the kernel refused them (err says why).
 */
static int
controller_patch(struct controller *ctl, char *err, size_t errlen)
{
	struct ir_ruleset	*from = compile_patch_new(ctl->cstate);
	struct ir_ruleset	*to = compile_patch_new(ctl->cstate);
	struct ir_delta		*d = NULL;
	size_t			 i;
	int			 rc = 1;

	for (i = 0; i < ctl->nchanges; i++) {
		const struct ctchange *c = &ctl->changes[i];

		if (compile_state_patch(ctl->cstate, c->old,
		    inventory_get(&ctl->inv, c->id), from, to) == -1)
			goto out;
	}
	d = ir_delta_new(from, to);
	if (d->full)
		goto out;
	if (!ir_delta_empty(d)) {
		controller_log_delta(d);
		if ((rc = nft_apply_delta(ctl->nft, d, err, errlen)) == -1)
			goto out;
	}
	rc = 0;
	if (ir_delta_apply(ctl->applied, d) == -1) {
		/* The kernel has it; our copy does not: replace whole. */
		log_warnx("patch applied but not to the kept ruleset; "
		    "replacing the ruleset whole");
		controller_dirty(ctl);
		ctl->full_needed = 1;
	}
out:
	ir_delta_free(d);
	ir_ruleset_free(from);
	ir_ruleset_free(to);
	return rc;
}

/* Compiles everything and sends what differs; the new state is kept. */
static int
controller_whole(struct controller *ctl, char *err, size_t errlen)
{
	struct compile_state	*st;
	int			 rc;

	st = compile_state_new(ctl->ps, &ctl->inv, &ctl->copts);
	rc = controller_program(ctl, compile_state_ruleset(st), err, errlen);
	if (rc == -1) {
		compile_state_free(st);
		/* The kernel kept its ruleset; replace it whole next time. */
		ctl->full_needed = 1;
		return -1;
	}
	compile_state_free(ctl->cstate);
	ctl->cstate = st;
	ctl->applied = compile_state_ruleset(st);
	ir_ruleset_trim(ctl->applied);
	ctl->full_needed = 0;
	ctl->whole = 0;
	return 0;
}

int
controller_apply(struct controller *ctl)
{
	struct timespec		 t0, t1;
	char			 err[900];
	int			 rc = 1;

	if (!ctl->dirty)
		return 0;
	if (ctl->apply_failed && ms_until(&ctl->next_retry) > 0)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (ctl->cstate != NULL && !ctl->whole && !ctl->full_needed) {
		rc = controller_patch(ctl, err, sizeof(err));
		if (rc == -1) {
			log_warnx("patch refused by the kernel, replacing the "
			    "ruleset whole: %s", err);
			ctl->full_needed = 1;
		} else if (rc == 0) {
			ctl->patches++;
			controller_check_patch(ctl);
		}
	}
	if (rc != 0)
		rc = controller_whole(ctl, err, sizeof(err));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ctl->last_apply_ms = (t1.tv_sec - t0.tv_sec) * 1e3 +
	    (t1.tv_nsec - t0.tv_nsec) / 1e6;
	if (rc == -1) {
		ctl->apply_failures++;
		ctl->apply_failed = 1;
		snprintf(ctl->last_error, sizeof(ctl->last_error),
		    "apply ruleset: %s", err);
		log_warnx("apply ruleset failed, kernel keeps the previous "
		    "one: %s", err);
		deadline_set(&ctl->next_retry, RETRY_MS * 2);
		return -1;
	}
	controller_changes_clear(ctl);
	/*
	 * Owned tables cannot drift: stop listening, which spares the
	 * kernel a notification for every object of every commit.
	 */
	if (ctl->monitor != NULL && nft_owned(ctl->nft)) {
		nft_monitor_free(ctl->monitor);
		ctl->monitor = NULL;
		log_debug("tables owned by bulkheadd: nftables notifications "
		    "no longer needed");
	}
	ctl->applies++;
	/* A failed patch check leaves the next apply due. */
	ctl->dirty = ctl->whole;
	ctl->apply_failed = 0;
	metrics_hist_observe(&ctl->apply_hist, ctl->last_apply_ms / 1e3);
	if (ctl->dirty_since.tv_sec) {
		metrics_hist_observe(&ctl->enforce_hist,
		    (t1.tv_sec - ctl->dirty_since.tv_sec) +
		    (t1.tv_nsec - ctl->dirty_since.tv_nsec) / 1e9);
		memset(&ctl->dirty_since, 0, sizeof(ctl->dirty_since));
	}
	log_debug("ruleset applied in %.1f ms", ctl->last_apply_ms);
	controller_start_enforced(ctl);
	return 0;
}

int
controller_reload(struct controller *ctl, char **errs)
{
	struct policy_set	*ps = NULL, *old = ctl->ps;
	struct errlist		 el;

	*errs = NULL;
	errlist_init(&el);
	if (policy_load_dir(ctl->rules_dir, &ps, &el) == -1) {
		*errs = errlist_join(&el);
		errlist_release(&el);
		log_warnx("reload refused, previous rules stay in force:\n%s",
		    *errs);
		return -1;
	}
	errlist_release(&el);
	ps->generation = ctl->generation + 1;
	ctl->ps = ps;
	if (old == NULL) {
		/* Startup: the first apply waits for the inventory. */
		ctl->generation = ps->generation;
		log_info("loaded %zu policies from %s", ps->n, ctl->rules_dir);
		return 0;
	}
	controller_dirty(ctl);
	ctl->apply_failed = 0;	/* an operator's reload is answered now */
	if (controller_apply(ctl) == -1) {
		ctl->ps = old;
		policy_set_free(ps);
		*errs = xstrdup(ctl->last_error);
		controller_dirty(ctl);
		return -1;
	}
	policy_set_free(old);
	ctl->generation = ps->generation;
	log_info("reloaded %zu policies from %s (generation %lu)", ps->n,
	    ctl->rules_dir, ctl->generation);
	return 0;
}

void
controller_check_drift(struct controller *ctl)
{
	int	inet, bridge;

	if (ms_until(&ctl->next_drift_check) > 0)
		return;
	deadline_set(&ctl->next_drift_check, DRIFT_CHECK_MS);
	if (ctl->applies == 0 || ctl->dirty)
		return;		/* nothing applied yet, or an apply is due anyway */
	inet = nft_table_exists(ctl->nft, NFPROTO_INET, COMPILE_TABLE);
	bridge = nft_table_exists(ctl->nft, NFPROTO_BRIDGE, COMPILE_TABLE);
	if (inet == -1 || bridge == -1 || (inet && bridge))
		return;
	log_warnx("drift: table %s %s missing from the kernel (flushed by "
	    "another tool?); restoring it", inet ? "bridge" : "inet",
	    COMPILE_TABLE);
	ctl->drift_repairs++;
	controller_dirty(ctl);
	ctl->full_needed = 1;	/* a delta against the lost tables is void */
	ctl->apply_failed = 0;
}

int
controller_nft_fd(const struct controller *ctl)
{
	return ctl->monitor ? nft_monitor_fd(ctl->monitor) : -1;
}

void
controller_on_nft_events(struct controller *ctl)
{
	char	what[256];

	switch (nft_monitor_read(ctl->monitor, what, sizeof(what))) {
	case 1:
		if (ctl->applies == 0)
			return;		/* nothing of ours to restore yet */
		log_warnx("drift: %s; restoring our tables", what);
		ctl->drift_repairs++;
		controller_dirty(ctl);
		ctl->full_needed = 1;	/* the kernel no longer holds applied */
		ctl->apply_failed = 0;
		break;
	case 2:
		/* Our own whole replaces overflow it; another's may hide in it. */
		log_debug("drift: %s; checking our tables", what);
		memset(&ctl->next_drift_check, 0, sizeof(ctl->next_drift_check));
		break;
	}
}

int
controller_timeout(const struct controller *ctl)
{
	int	t = ms_until(&ctl->next_drift_check), r;

	if (ctl->pending || ctl->dirty) {
		r = ms_until(&ctl->next_retry);
		t = t < 0 || (r >= 0 && r < t) ? r : t;
	}
	if (!docker_events_alive(ctl->docker) || ctl->resync) {
		r = ms_until(&ctl->next_connect);
		if (r < 0)
			r = 0;
		t = t < 0 || r < t ? r : t;
	}
	return t < 0 ? 1000 : t;
}

/* ---- control socket answers ---- */

static json_t *
controller_policies_for(const struct controller *ctl,
    const struct container *ct, int dir)
{
	json_t	*a = json_array();
	size_t	 i;

	for (i = 0; i < ctl->ps->n; i++) {
		const struct policy *p = ctl->ps->v[i];

		if (evaluate_applies(p, &ct->labels, NULL, dir))
			json_array_append_new(a, json_string(p->name));
	}
	return a;
}

/*
 * Why a container cannot be segmented on a veth of its own, or NULL when
 * it can.  Written into buf when it names another container.
 */
static const char *
controller_unsegmentable(const struct controller *ctl,
    const struct container *ct, char *buf, size_t len)
{
	const char		*mode = ct->network_mode ? ct->network_mode : "";
	const struct container	*owner;
	size_t			 i;

	if (strcmp(mode, "host") == 0)
		return "uses the host's network namespace (--network host): "
		    "no veth to filter";
	if (strcmp(mode, "none") == 0)
		return "has no network (--network none)";
	if (strncmp(mode, "container:", 10) == 0) {
		owner = inventory_get(&ctl->inv, mode + 10);
		snprintf(buf, len, "shares the network namespace of %s: its "
		    "traffic is that container's, under its policies",
		    owner ? owner->name : mode + 10);
		return buf;
	}
	for (i = 0; i < ct->neps; i++)
		if (ct->eps[i].bridge[0])
			return NULL;
	if (ct->neps)
		return "attached only to non-bridge networks (macvlan, ipvlan, "
		    "overlay): no host veth to filter";
	return NULL;
}

static json_t *
controller_container_json(const struct controller *ctl,
    const struct container *ct)
{
	json_t		*o = snapshot_container(ct);
	char		 buf[256];
	const char	*why = controller_unsegmentable(ctl, ct, buf, sizeof(buf));

	const struct quarantine_entry *q = quarantine_find(&ctl->quarantine,
	    ct->id);

	json_object_set_new(o, "segmentable", json_boolean(why == NULL));
	if (why)
		json_object_set_new(o, "reason", json_string(why));
	if (q)
		json_object_set_new(o, "quarantine", json_string(q->reason));

	json_object_set_new(o, "ingress",
	    controller_policies_for(ctl, ct, POL_INGRESS));
	json_object_set_new(o, "egress",
	    controller_policies_for(ctl, ct, POL_EGRESS));
	return o;
}

static json_t *
controller_quarantine_json(const struct controller *ctl)
{
	json_t	*a = json_array();
	size_t	 i;

	for (i = 0; i < ctl->quarantine.n; i++) {
		const struct quarantine_entry *e = &ctl->quarantine.v[i];

		json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:I, s:b}",
		    "id", e->id, "name", e->name, "reason", e->reason,
		    "since", (json_int_t)e->since, "present",
		    inventory_get(&ctl->inv, e->id) != NULL));
	}
	return a;
}

static void	controller_counter_cb(const char *, int, uint64_t, uint64_t,
		    void *);

/* Per policy rule: the kernel's packet and byte counters. */
static json_t *
controller_counters_json(const struct controller *ctl)
{
	struct metrics_input	 in;
	struct metrics_tag	 t;
	const struct metrics_counter *c;
	json_t			*a = json_array();
	size_t			 i;

	memset(&in, 0, sizeof(in));
	nft_counters(ctl->nft, NFPROTO_BRIDGE, COMPILE_TABLE,
	    controller_counter_cb, &in);
	nft_counters(ctl->nft, NFPROTO_INET, COMPILE_TABLE,
	    controller_counter_cb, &in);
	for (i = 0; i < in.ncounters; i++) {
		c = &in.counters[i];
		if (!c->counted || metrics_tag_parse(c->tag, &t) == -1)
			continue;
		/* logged: what the log rule's limit let through to NFLOG. */
		json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:s, s:I, "
		    "s:I, s:s, s:o}", "policy", t.policy, "direction",
		    t.direction, "rule", t.rule, "action", t.action, "packets",
		    (json_int_t)c->packets, "bytes", (json_int_t)c->bytes,
		    "tag", c->tag, "logged", c->has_logged ?
		    json_integer((json_int_t)c->logged) : json_null()));
	}
	metrics_counters_free((struct metrics_counter *)in.counters,
	    in.ncounters);
	return a;
}

static json_t *
controller_status(const struct controller *ctl)
{
	json_t			*o = json_object(), *cts = json_array();
	const struct container	*ct;

	json_object_set_new(o, "ok", json_true());
	json_object_set_new(o, "version", json_string(BULKHEAD_VERSION));
	json_object_set_new(o, "uptime_s",
	    json_integer((json_int_t)(time(NULL) - ctl->started)));
	json_object_set_new(o, "rules_dir", json_string(ctl->rules_dir));
	json_object_set_new(o, "generation",
	    json_integer((json_int_t)ctl->generation));
	json_object_set_new(o, "policies", json_integer((json_int_t)ctl->ps->n));
	json_object_set_new(o, "applies", json_integer((json_int_t)ctl->applies));
	json_object_set_new(o, "patch_applies",
	    json_integer((json_int_t)ctl->patches));
	json_object_set_new(o, "apply_failures",
	    json_integer((json_int_t)ctl->apply_failures));
	json_object_set_new(o, "last_apply_ms", json_real(ctl->last_apply_ms));
	json_object_set_new(o, "last_error", json_string(ctl->last_error));
	json_object_set_new(o, "in_sync", json_boolean(!ctl->dirty));
	json_object_set_new(o, "drift_repairs",
	    json_integer((json_int_t)ctl->drift_repairs));
	json_object_set_new(o, "control_refused",
	    json_integer((json_int_t)ctl->control_refused));
	json_object_set_new(o, "control_dropped",
	    json_integer((json_int_t)ctl->control_dropped));
	json_object_set_new(o, "docker_connected",
	    json_boolean(docker_events_alive(ctl->docker)));
	json_object_set_new(o, "nflog_group",
	    json_integer(ctl->copts.nflog_group));
	json_object_set_new(o, "log_rate", json_integer(ctl->copts.log_rate));
	json_object_set_new(o, "log_burst", json_integer(ctl->copts.log_burst));
	json_object_set_new(o, "fail_mode",
	    json_string(ctl->copts.fail_open ? "open" : "closed"));
	TAILQ_FOREACH(ct, &ctl->inv.containers, entry)
		json_array_append_new(cts, controller_container_json(ctl, ct));
	json_object_set_new(o, "containers", cts);
	json_object_set_new(o, "quarantined",
	    controller_quarantine_json(ctl));
	json_object_set_new(o, "counters", controller_counters_json(ctl));
	return o;
}

static json_t	*controller_error(const char *);

static char *
controller_plan_text(const struct controller *ctl, const struct policy_set *ps)
{
	struct ir_ruleset	*rs = compile_ruleset(ps, &ctl->inv, &ctl->copts);
	struct strbuf		 sb;

	strbuf_init(&sb);
	ir_print(rs, &sb);
	ir_ruleset_free(rs);
	return sb.buf ? strbuf_detach(&sb) : xstrdup("");
}

/*
 * plan: the ruleset for the current rules and the one the kernel holds
 * (as last applied), and with "rules": DIR the one those candidate rules
 * would give over the live inventory (beside the current one, for
 * --diff).  Nothing is applied.
 */
static json_t *
controller_plan(const struct controller *ctl, json_t *req)
{
	const char		*dir = json_string_value(json_object_get(req,
				    "rules"));
	struct policy_set	*ps = NULL;
	struct errlist		 el;
	json_t			*o;
	char			*text, *errs;

	o = json_object();
	json_object_set_new(o, "ok", json_true());
	text = controller_plan_text(ctl, ctl->ps);
	if (dir == NULL) {
		struct strbuf	sb;

		json_object_set_new(o, "ruleset", json_string(text));
		free(text);
		/* What the kernel holds, for plan --diff (NULL before the first apply). */
		strbuf_init(&sb);
		if (ctl->applied != NULL)
			ir_print(ctl->applied, &sb);
		json_object_set_new(o, "applied", json_string(sb.buf ? sb.buf :
		    ""));
		strbuf_release(&sb);
		return o;
	}
	json_object_set_new(o, "current", json_string(text));
	free(text);
	errlist_init(&el);
	if (policy_load_dir(dir, &ps, &el) == -1) {
		errs = errlist_join(&el);
		errlist_release(&el);
		json_decref(o);
		o = controller_error(errs);
		free(errs);
		return o;
	}
	errlist_release(&el);
	text = controller_plan_text(ctl, ps);
	policy_set_free(ps);
	json_object_set_new(o, "ruleset", json_string(text));
	free(text);
	return o;
}

/* msg may quote untrusted bytes (a file name, a request): sent as UTF-8. */
static json_t *
controller_error(const char *msg)
{
	json_t	*o = json_object();
	char	*m = xstrdup(msg);

	utf8_scrub(m);
	json_object_set_new(o, "ok", json_false());
	json_object_set_new(o, "error", json_string(m));
	free(m);
	return o;
}

/*
 * The quarantine entry a CLI argument names: a container of the
 * inventory (name, id or id prefix) or, for one that is gone, an entry's
 * name or id prefix.  Fills id; returns 0, or -1 when nothing matches.
 */
static int
controller_quarantine_id(const struct controller *ctl, const char *arg,
    char *id, size_t idlen, const char **name)
{
	const struct container	*ct = inventory_get(&ctl->inv, arg);
	size_t			 i;

	if (ct != NULL) {
		strlcpy_bh(id, ct->id, idlen);
		*name = ct->name;
		return 0;
	}
	for (i = 0; i < ctl->quarantine.n; i++) {
		const struct quarantine_entry *e = &ctl->quarantine.v[i];

		if (strcmp(e->name, arg) == 0 || (strlen(arg) >= 12 &&
		    strncmp(e->id, arg, strlen(arg)) == 0)) {
			strlcpy_bh(id, e->id, idlen);
			*name = e->name;
			return 0;
		}
	}
	return -1;
}

/* quarantine and release: change the list, save it, apply at once. */
static json_t *
controller_quarantine(struct controller *ctl, json_t *req, int cut)
{
	const char	*arg = json_string_value(json_object_get(req,
			    "container"));
	const char	*reason = json_string_value(json_object_get(req,
			    "reason"));
	const char	*name = NULL;
	char		 id[65], err[512], msg[700];
	json_t		*o;
	int		 saved;

	if (arg == NULL)
		return controller_error("bad request: expected \"container\"");
	if (controller_quarantine_id(ctl, arg, id, sizeof(id), &name) == -1) {
		snprintf(msg, sizeof(msg), "%s %s: no such container",
		    cut ? "quarantine" : "release", arg);
		return controller_error(msg);
	}
	if (cut) {
		quarantine_put(&ctl->quarantine, id, name, reason ? reason : "",
		    time(NULL));
		log_warnx("quarantine %s (%.12s): %s", name, id,
		    reason && *reason ? reason : "no reason given");
	} else if (quarantine_del(&ctl->quarantine, id) == -1) {
		snprintf(msg, sizeof(msg), "release %s: not in quarantine", arg);
		return controller_error(msg);
	} else
		log_warnx("release %s (%.12s) from quarantine", name, id);
	saved = quarantine_save(&ctl->quarantine, err, sizeof(err)) == 0;
	if (!saved)
		log_warnx("quarantine state not saved: %s", err);
	controller_dirty(ctl);
	ctl->apply_failed = 0;
	o = json_object();
	json_object_set_new(o, "ok", json_true());
	json_object_set_new(o, "id", json_string(id));
	json_object_set_new(o, "name", json_string(name));
	json_object_set_new(o, "applied",
	    json_boolean(controller_apply(ctl) == 0));
	if (!saved)
		json_object_set_new(o, "warning", json_string(err));
	return o;
}

static void
controller_counter_cb(const char *tag, int log, uint64_t packets,
    uint64_t bytes, void *arg)
{
	struct metrics_input	*in = arg;
	struct metrics_counter	*v = (struct metrics_counter *)in->counters;

	if (log)
		metrics_counters_add_logged(&v, &in->ncounters, tag, packets);
	else
		metrics_counters_add(&v, &in->ncounters, tag, packets, bytes);
	in->counters = v;
}

/* The Prometheus page (a new string, caller frees). */
char *
controller_metrics(struct controller *ctl)
{
	struct metrics_input	 in;
	const struct container	*ct;
	struct strbuf		 sb;
	char			 buf[256];

	memset(&in, 0, sizeof(in));
	in.uptime_s = (double)(time(NULL) - ctl->started);
	in.generation = ctl->generation;
	in.policies = ctl->ps ? ctl->ps->n : 0;
	TAILQ_FOREACH(ct, &ctl->inv.containers, entry) {
		in.containers++;
		if (controller_unsegmentable(ctl, ct, buf, sizeof(buf)))
			in.unsegmentable++;
		else if (compile_selects(ctl->ps, ct, POL_INGRESS) ||
		    compile_selects(ctl->ps, ct, POL_EGRESS))
			in.managed++;
	}
	in.quarantined = ctl->quarantine.n;
	in.in_sync = !ctl->dirty;
	in.docker_connected = docker_events_alive(ctl->docker);
	in.docker_reconnects = ctl->docker_reconnects;
	in.applies = ctl->applies;
	in.apply_failures = ctl->apply_failures;
	in.drift_repairs = ctl->drift_repairs;
	in.control_refused = ctl->control_refused;
	in.control_dropped = ctl->control_dropped;
	in.apply_seconds = &ctl->apply_hist;
	in.enforce_seconds = &ctl->enforce_hist;
	nft_counters(ctl->nft, NFPROTO_BRIDGE, COMPILE_TABLE,
	    controller_counter_cb, &in);
	nft_counters(ctl->nft, NFPROTO_INET, COMPILE_TABLE,
	    controller_counter_cb, &in);
	strbuf_init(&sb);
	metrics_render(&in, &sb);
	metrics_counters_free((struct metrics_counter *)in.counters,
	    in.ncounters);
	return strbuf_detach(&sb);
}

/*
 * audit: the host's facts (its bridges, Docker's bridge networks and
 * firewall backend, br_netfilter) and what escapes segmentation.
 */
static json_t *
controller_audit(struct controller *ctl)
{
	struct audit_host	 h;
	struct link_bridge	 brs[256];
	struct docker_bridge	*dbs = NULL;
	struct docker_info	 info;
	json_t			*o;
	int			 n, i;

	audit_host_init(&h);
	if ((n = link_list_bridges(ctl->link, brs, ARRAY_SIZE(brs))) >= 0) {
		h.bridges_listed = 1;
		for (i = 0; i < n; i++)
			audit_host_add_bridge(&h, brs[i].name, brs[i].nports);
	}
	if ((n = docker_list_bridges(ctl->docker, &dbs)) >= 0) {
		h.docker_listed = 1;
		for (i = 0; i < n; i++)
			audit_host_docker_bridge(&h, dbs[i].name);
	}
	free(dbs);
	if (docker_info(ctl->docker, &info) == 0) {
		h.docker_answered = 1;
		strlcpy_bh(h.docker_version, info.version,
		    sizeof(h.docker_version));
		strlcpy_bh(h.firewall_backend, info.firewall_backend,
		    sizeof(h.firewall_backend));
	}
	audit_read_brnf(&h, "/proc");
	o = audit_report(ctl->ps, &ctl->inv, &ctl->quarantine, &h);
	audit_host_release(&h);
	return o;
}

static json_t *
controller_dispatch(struct controller *ctl, const char *cmd, json_t *req)
{
	if (strcmp(cmd, "metrics") == 0) {
		char	*text = controller_metrics(ctl);
		json_t	*o = json_pack("{s:b, s:s}", "ok", 1, "text", text);

		free(text);
		return o;
	}
	char	*errs = NULL;
	json_t	*o;

	if (strcmp(cmd, "status") == 0 || strcmp(cmd, "containers") == 0)
		return controller_status(ctl);
	if (strcmp(cmd, "quarantine") == 0)
		return controller_quarantine(ctl, req, 1);
	if (strcmp(cmd, "release") == 0)
		return controller_quarantine(ctl, req, 0);
	if (strcmp(cmd, "plan") == 0)
		return controller_plan(ctl, req);
	if (strcmp(cmd, "explain") == 0) {
		o = explain_handle(ctl->ps, &ctl->inv, req);
		explain_quarantine(o, &ctl->quarantine);
		return o;
	}
	if (strcmp(cmd, "probe-plan") == 0) {
		o = probeplan_handle(ctl->ps, &ctl->inv, &ctl->quarantine, req);
		json_object_set_new(o, "in_sync", json_boolean(!ctl->dirty));
		return o;
	}
	if (strcmp(cmd, "audit") == 0)
		return controller_audit(ctl);
	if (strcmp(cmd, "reload") != 0)
		return controller_error("unknown command");
	if (controller_reload(ctl, &errs) == -1) {
		o = controller_error(errs);
		free(errs);
		return o;
	}
	o = json_object();
	json_object_set_new(o, "ok", json_true());
	json_object_set_new(o, "generation",
	    json_integer((json_int_t)ctl->generation));
	json_object_set_new(o, "policies", json_integer((json_int_t)ctl->ps->n));
	json_object_set_new(o, "apply_ms", json_real(ctl->last_apply_ms));
	return o;
}

char *
controller_handle(const char *request, void *arg)
{
	struct controller	*ctl = arg;
	struct control_request	 req;
	json_t			*ans;
	char			*out, err[256];

	if (control_request_parse(request, strlen(request), &req, err,
	    sizeof(err)) == -1) {
		ans = controller_error(err);
	} else {
		log_debug("control request %s", req.cmd);
		ans = controller_dispatch(ctl, req.cmd, req.obj);
	}
	control_request_release(&req);
	out = json_dumps(ans, JSON_COMPACT);
	json_decref(ans);
	if (out == NULL)
		fatalx("json_dumps failed");
	return out;
}
