/*
 * quarantine.h: containers an operator has cut off (bulkhead quarantine),
 * kept in a JSON state file so that the cut survives container and daemon
 * restarts.  The controller owns one; compile.c reads it to emit drops
 * that come before every policy.  Pure: libc and jansson only.
 */
#ifndef BULKHEAD_QUARANTINE_H
#define BULKHEAD_QUARANTINE_H

#include <stddef.h>
#include <time.h>

struct quarantine_entry {
	char	 id[65];	/* full container id */
	char	*name;		/* at the time of the quarantine */
	char	*reason;
	time_t	 since;
};

struct quarantine {
	struct quarantine_entry	*v;
	size_t			 n;
	char			*path;	/* state file; NULL: not persisted */
};

void	quarantine_init(struct quarantine *, const char *path);
void	quarantine_release(struct quarantine *);

/*
 * Reads the state file; a missing file is an empty quarantine.  Returns
 * 0, or -1 with the reason in err (the quarantine is then left empty).
 */
int	quarantine_load(struct quarantine *, char *err, size_t errlen);
/* Writes the state file atomically (temporary file, fsync, rename). */
int	quarantine_save(const struct quarantine *, char *err, size_t errlen);

const struct quarantine_entry *quarantine_find(const struct quarantine *,
	    const char *id);
/* Adds or updates the entry of id; copies name and reason. */
void	quarantine_put(struct quarantine *, const char *id, const char *name,
	    const char *reason, time_t since);
/* Returns 0 when id was quarantined (and is no longer), -1 otherwise. */
int	quarantine_del(struct quarantine *, const char *id);

#endif
