/*
 * ir_diff.h: what changed between the ruleset in the kernel and the next
 * one (pure).  compile.c always builds the whole desired ruleset; the
 * diff turns two of them into the few objects a change touches, so that
 * nft.c (nft_apply_delta) sends a batch proportional to the change, not
 * to the ruleset.  Nothing here depends on how compile.c names things:
 * tables, sets and chains are matched by name, elements by key, rules by
 * their expressions and comment, in chain order.
 *
 * Per table the delta says:
 *  - sets to add (with all their elements) and sets to delete;
 *  - for each kept set, the elements to delete (indices into the old
 *    set) and to add (indices into the new set).  An element is its key
 *    (key and end for interval sets); a map element whose data changed
 *    is deleted and added again;
 *  - chains to add and chains to delete;
 *  - kept chains whose rule list changed: flushed and filled again;
 *  - the rules to append (indices into the new table), chain after
 *    chain, each chain's rules in order: all rules of added chains and
 *    of flushed chains.
 * full is set (with a reason) when the change cannot be made in place:
 * a table added or removed, a set whose definition changed (type, flags,
 * key or data length, fields), a constant set whose elements changed, a
 * base chain whose type, hook, priority or policy changed, a rule naming
 * a chain its table does not declare.  Then only full and why are
 * meaningful and the caller replaces the tables whole (nft_apply).
 *
 * Ownership: the delta points into both rulesets without owning them;
 * they must outlive it.  ir_delta_free frees the delta only.
 */
#ifndef BULKHEAD_IR_DIFF_H
#define BULKHEAD_IR_DIFF_H

#include <stddef.h>

struct ir_ruleset;
struct ir_table;

/* Indices into a table's (or a set's) arrays. */
struct ir_idx {
	size_t	*v;
	size_t	 n, cap;
};

struct ir_set_delta {
	size_t		oset, nset;	/* the set in the old and new table */
	struct ir_idx	del;		/* old set's elements to delete */
	struct ir_idx	add;		/* new set's elements to add */
	/*
	 * Flush the set and add every element of the new set (del and add
	 * are then empty): an interval set whose implicit gap element at
	 * zero comes or goes (see nft.c).
	 */
	int		refill;
};

struct ir_table_delta {
	const struct ir_table	*old, *new;
	struct ir_idx		 add_sets;	/* new table */
	struct ir_idx		 del_sets;	/* old table */
	struct ir_set_delta	*sets;		/* kept sets whose elements changed */
	size_t			 nsets, setcap;
	struct ir_idx		 add_chains;	/* new table */
	struct ir_idx		 flush_chains;	/* new table: kept, rules changed */
	struct ir_idx		 del_chains;	/* old table */
	struct ir_idx		 add_rules;	/* new table, grouped by chain */
};

struct ir_delta {
	int			 full;		/* replace the tables whole */
	char			 why[256];	/* why, when full */
	struct ir_table_delta	*tables;	/* one per table of the new ruleset */
	size_t			 ntables;
};

/* Compares old (what the kernel holds) with new.  Never fails. */
struct ir_delta	*ir_delta_new(const struct ir_ruleset *old,
		    const struct ir_ruleset *new);
void		 ir_delta_free(struct ir_delta *);
/* 1 when nothing changed (and full is not set). */
int		 ir_delta_empty(const struct ir_delta *);
/*
 * Counts what the delta touches: sets and chains added or deleted,
 * elements added or deleted (a refilled set counts its elements), chains
 * flushed, rules added.  For logs and benchmarks.
 */
struct ir_delta_stats {
	size_t	sets_added, sets_deleted, elems_added, elems_deleted;
	size_t	chains_added, chains_deleted, chains_flushed, rules_added;
};
void		 ir_delta_stats(const struct ir_delta *, struct ir_delta_stats *);

/*
 * Makes rs (which holds what d's old side describes, and more) hold what
 * d's new side describes instead: for a ruleset kept in step with the
 * kernel while patches (compile_state_patch) are sent.  Returns -1 when d
 * cannot be applied in place (it replaces tables or sets, refills an
 * interval set, or deletes an element rs does not hold); rs is then
 * partly changed and must be rebuilt.
 */
int		 ir_delta_apply(struct ir_ruleset *rs, const struct ir_delta *d);

/* 1 when two rules are the same to the kernel (expressions and comment). */
struct ir_rule;
int		 ir_rule_equal(const struct ir_rule *, const struct ir_rule *);

#endif
