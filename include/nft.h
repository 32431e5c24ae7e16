/*
 * nft.h: the nftables layer (nft.c, the only user of libnftnl and libmnl).
 * Turns an ir_ruleset into one netlink batch: every table of the ruleset
 * is replaced atomically (destroyed and added, then its sets, elements,
 * chains and rules), so the kernel holds either the old or the new ruleset,
 * never a mix, never none.  A delta between two rulesets (ir_diff.h)
 * becomes one batch of the same kind with only what changed.  Every
 * message is acked and a kernel error is mapped back to the object that
 * caused it.  The tables belong to the struct nft's socket and outlive it
 * (Linux 6.9 owner + persist flags): while it is open, no other process
 * can delete them or flush them away.  Where they cannot be owned, a
 * monitor (nft_monitor_*) reports another process's changes to them.
 */
#ifndef BULKHEAD_NFT_H
#define BULKHEAD_NFT_H

#include <stddef.h>
#include <stdint.h>

struct ir_ruleset;
struct nft;

/* Opens a netfilter netlink socket.  NULL on failure (logged). */
struct nft	*nft_new(void);
void		 nft_free(struct nft *);
/* Tables added from now on are neither owned nor persistent (pre-6.9 behaviour). */
void		 nft_disown(struct nft *);
/* 1 while our tables are owned and persistent (no other process can change them). */
int		 nft_owned(const struct nft *);

/*
 * Replaces the tables of rs in one transaction.  Returns 0 on success; on
 * failure returns -1, writes the reason to err ("add rule to chain i_ab12:
 * ip saddr @x accept: No such file or directory") and the kernel keeps
 * what it had.
 */
int	nft_apply(struct nft *, const struct ir_ruleset *rs, char *err,
	    size_t errlen);

/*
 * Applies a delta (ir_diff.h) between the ruleset the kernel holds and the
 * next one, in one transaction carrying only what changed: new chains and
 * sets, element deletes and adds, changed chains flushed and refilled,
 * then the chains and sets that went.  Nothing is sent when the delta is
 * empty.  Returns 0, or -1 with err written as for nft_apply (also when
 * the delta says full, without sending); the kernel then keeps what it
 * had.  The delta's two rulesets must be alive.
 */
struct ir_delta;
int	nft_apply_delta(struct nft *, const struct ir_delta *, char *err,
	    size_t errlen);

/* Same batch without committing (nft's check mode): validates only. */
int	nft_check(struct nft *, const struct ir_ruleset *rs, char *err,
	    size_t errlen);

/*
 * Deletes the named table of the family if present, in one transaction.
 * Returns 0 (also when absent) or -1 with err written (EPERM when another
 * process's socket owns it: a running bulkheadd).
 */
int	nft_delete_table(struct nft *, uint32_t family, const char *name,
	    char *err, size_t errlen);

/*
 * Reads the counters of the table's counting rules and calls cb once per
 * rule: a rule that logs (compile.c's e_limit_log: the packets the rate
 * limit let through to NFLOG) with log 1 and its log prefix as the tag,
 * any other rule that carries a comment (compile.c tags every counting
 * rule) with log 0 and the comment.  Returns 0 (also when the table is
 * absent) or -1 (logged).
 */
typedef void	(*nft_counter_cb)(const char *tag, int log, uint64_t packets,
		    uint64_t bytes, void *arg);
int	nft_counters(struct nft *, uint32_t family, const char *table,
	    nft_counter_cb cb, void *arg);

/* 1 if the table exists, 0 if not, -1 on error. */
int	nft_table_exists(struct nft *, uint32_t family, const char *name);

/*
 * Watches the nftables notifications for changes that another process
 * makes to the tables named table (any family): drift, seen as it
 * happens.  nft_monitor_new returns NULL on failure (logged); the
 * monitor's socket is non-blocking, for the caller's poll.
 * nft_monitor_read reads what is pending: returns 1 and describes the
 * first foreign change in what, 0 when there was none (our own batches
 * are not drift), 2 when notifications were lost (what says so: check
 * another way), -1 on a read error (logged).
 */
struct nft_monitor;
struct nft_monitor *nft_monitor_new(const struct nft *, const char *table);
void		 nft_monitor_free(struct nft_monitor *);
int		 nft_monitor_fd(const struct nft_monitor *);
int		 nft_monitor_read(struct nft_monitor *, char *what,
		    size_t whatlen);

#endif
