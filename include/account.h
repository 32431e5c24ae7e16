/*
 * account.h: bulkhead-capture's loss accounting: every packet a denying
 * rule matched while the capture ran is either a record received, a
 * record lost in the socket (counted), or a packet the rule's log rate
 * limit kept out of NFLOG (counted by the kernel).
 *
 * - Records: counted per NFLOG group and per prefix as they are read.
 * - Lost in the socket: the kernel numbers each group's records when the
 *   listener asks (NFULNL_CFG_F_SEQ); a gap in the numbers is records it
 *   built and could not deliver (the socket buffer was full).  The
 *   ENOBUFS errors (overruns) are counted too, but one may stand for
 *   many records.
 * - The kernel's side: bulkheadd's status answer lists per rule tag the
 *   drop (or audit) rule's packets and the packets its log rule let
 *   through the rate limit ("logged").  Read at the start and at the end,
 *   the difference is what happened during the capture:
 *     matched K = logged L + rate-limited R, and L = captured C + lost S;
 *   C + S != L is a mismatch: records went missing without a trace, or
 *   came from before the start.
 *
 * Pure: libc and jansson.  The caller owns the strings it passes.
 */
#ifndef BULKHEAD_ACCOUNT_H
#define BULKHEAD_ACCOUNT_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct account;

/* The totals, for the summary and the tests. */
struct account_result {
	uint64_t	records;	/* all groups */
	uint64_t	sequenced;	/* records that carried a number */
	uint64_t	lost;		/* gaps in the numbers, all groups */
	uint64_t	reordered;	/* numbers that went backwards */
	uint64_t	overruns;	/* ENOBUFS */
	int		kernel;		/* both snapshots of bulkheadd's group */
	int		group;		/* bulkheadd's NFLOG group, -1: unknown */
	int		group_read;	/* the capture reads that group */
	int		reapplied;	/* rules re-applied in between */
	uint64_t	matched;	/* by rules that log and count */
	uint64_t	logged;		/* through the log rate limit */
	uint64_t	rate_limited;	/* matched - logged */
	uint64_t	captured;	/* bulkhead records of the group */
	uint64_t	group_lost;	/* gaps in the group's numbers */
	uint64_t	foreign;	/* records of the group not bulkhead's */
	int64_t		unaccounted;	/* logged - captured - group_lost */
	int		accounted;	/* kernel && !reapplied && unaccounted 0 */
};

struct account	*account_new(void);
void		 account_free(struct account *);
/* One record read from group; prefix NULL without one.  Returns the
 * records found missing just before it (a gap in the numbers). */
uint32_t	 account_record(struct account *, uint16_t group,
		    const char *prefix, int has_seq, uint32_t seq);
/* The ENOBUFS errors so far (a running total). */
void		 account_overruns(struct account *, uint64_t total);
/* The groups the capture reads. */
void		 account_groups(struct account *, const uint16_t *groups,
		    int n);
/*
 * Takes the kernel counters from bulkheadd's status answer (JSON) as the
 * start (end 0) or end (end 1) snapshot.  Returns 0, or -1 with err.
 */
int		 account_snapshot(struct account *, int end, const char *status,
		    char *err, size_t errlen);
int		 account_has_snapshot(const struct account *, int end);
void		 account_result(const struct account *,
		    struct account_result *);
/* 1 when the records received and counted lost reach what the kernel
 * logged by the end snapshot: nothing is left in flight. */
int		 account_settled(const struct account *);
/* The summary: lines for stderr, each ending in \n. */
void		 account_text(const struct account *, uint64_t shown,
		    uint64_t malformed, struct strbuf *);
/* The summary as one JSON object ("event": "summary"), no newline. */
void		 account_json(const struct account *, const char *time,
		    uint64_t shown, uint64_t malformed, struct strbuf *);

#endif
