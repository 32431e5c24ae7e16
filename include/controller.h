/*
 * controller.h: the heart of bulkheadd.  Keeps the inventory in step with
 * Docker (list, inspect, events) and the link layer (veths), keeps the last
 * good policy set, and converges the kernel: every change marks the state
 * dirty, and the main loop, once the events at hand are absorbed, sends
 * one nftables transaction.  When only containers changed, it carries
 * their patches (compile_state_patch: work in proportion to the
 * containers changed, not to all of them); otherwise the whole desired
 * state is compiled and what differs from the ruleset last applied
 * (ir_diff.h) is sent.  The tables are replaced whole at startup, after
 * drift, after a failed apply, and when the difference cannot be applied
 * in place.
 */
#ifndef BULKHEAD_CONTROLLER_H
#define BULKHEAD_CONTROLLER_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "compile.h"
#include "inventory.h"
#include "metrics.h"
#include "quarantine.h"

struct docker;
struct ir_ruleset;
struct docker_event;
struct link;
struct nft;
struct nft_monitor;
struct policy_set;

/* A container changed since the last apply: as it was then (NULL: absent). */
struct ctchange {
	char			 id[65];
	struct container	*old;
};

struct netcache {
	char	id[65];
	char	bridge[16];
};

struct controller {
	struct docker		*docker;
	struct link		*link;
	struct nft		*nft;
	struct nft_monitor	*monitor;	/* NULL: drift found by polling only */
	struct inventory	 inv;
	struct policy_set	*ps;		/* last good policies */
	char			*rules_dir;
	struct compile_opts	 copts;
	struct netcache		*nets;		/* network id -> bridge */
	size_t			 nnets;
	struct compile_state	*cstate;	/* owns applied */
	struct ir_ruleset	*applied;	/* what the kernel holds, or NULL */
	int			 full_needed;	/* next apply replaces the tables whole */
	int			 whole;		/* next apply compiles everything */
	struct ctchange		*changes;	/* containers changed since the last apply */
	size_t			 nchanges;
	unsigned long		 patches;	/* applies done by patches */

	int			 dirty;		/* kernel lags the desired state */
	int			 apply_failed;	/* last apply failed: wait for next_retry */
	int			 resync;	/* inventory must be rebuilt from a listing */
	int			 pending;	/* containers whose veth is not found yet */
	unsigned long		 generation;	/* policy loads that succeeded */
	unsigned long		 applies;
	unsigned long		 apply_failures;
	double			 last_apply_ms;
	char			 last_error[1024];
	time_t			 started;
	struct timespec		 next_retry;	/* of a failed apply or pending veth */
	unsigned long		 drift_repairs;	/* our tables found missing and restored */
	unsigned long		 control_refused;	/* control.c's counts, copied */
	unsigned long		 control_dropped;
	struct timespec		 next_drift_check;
	int			 backoff_ms;	/* Docker reconnection */
	struct timespec		 next_connect;
	struct quarantine	 quarantine;	/* copts.quarantine points here */
	unsigned long		 docker_syncs;	/* full listings that succeeded */
	unsigned long		 docker_reconnects;
	struct timespec		 dirty_since;	/* first change not yet applied */
	long long		 start_ns;	/* Docker's time (wall clock) of the
						 * first start not yet enforced, or 0 */
	char			 start_id[16];	/* its container, short id */
	struct metrics_hist	 apply_hist;
	struct metrics_hist	 enforce_hist;
};

/*
 * Fatal on failure: these run at startup.  state_dir holds the quarantine
 * (created when missing); NULL keeps it in memory only.
 */
void	controller_init(struct controller *, const char *rules_dir,
	    const char *docker_socket, const char *state_dir,
	    const struct compile_opts *);
void	controller_release(struct controller *);

/*
 * Loads the rules directory.  On success the new policies replace the old
 * ones and the kernel is updated; returns 0.  On failure the previous
 * policies and ruleset stay in force; returns -1 with every error in *errs
 * (a newly allocated string, caller frees).
 */
int	controller_reload(struct controller *, char **errs);

/* (Re)connects to Docker when needed and rebuilds the inventory from a listing. */
void	controller_docker_tick(struct controller *);
void	controller_on_event(const struct docker_event *, void *arg);
/* Link changes: retries containers whose veth was not found. */
void	controller_on_links(struct controller *);
/* The Prometheus text page, kernel counters included (caller frees). */
char	*controller_metrics(struct controller *);
/* Compiles and applies when dirty; returns 0 or -1 (logged, retried later). */
int	controller_apply(struct controller *);
/*
 * Every DRIFT_CHECK_MS: are our tables still in the kernel?  Another tool's
 * `nft flush ruleset` removes them; they are rebuilt at once.
 */
void	controller_check_drift(struct controller *);
/*
 * Drift as it happens: the nftables notifications of another process's
 * change to our tables (deleted, flushed, a rule or element added or
 * removed) replace them whole at the next apply.  controller_nft_fd is
 * the notifications' socket for the main loop's poll, or -1 when the
 * kernel did not let us listen (the periodic check remains).
 */
int	controller_nft_fd(const struct controller *);
void	controller_on_nft_events(struct controller *);
/* How long the main loop may sleep before the controller needs it, in ms. */
int	controller_timeout(const struct controller *);

/* Answers of the control socket; each returns a new JSON text. */
char	*controller_handle(const char *request, void *arg);

#endif
