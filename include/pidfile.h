/*
 * pidfile.h: the daemon's pid file, locked (flock) for as long as the
 * daemon runs, so that a second instance on the same file refuses to
 * start while a stale file left by a crash is simply taken over.  The
 * lock belongs to the open file description: it survives fork(), so the
 * file can be opened before detaching and written after.
 *
 * pidfile_open returns an object the caller owns; pidfile_remove unlinks
 * the file and frees it (clean exit), pidfile_free only closes it.
 */
#ifndef BULKHEAD_PIDFILE_H
#define BULKHEAD_PIDFILE_H

#include <stddef.h>
#include <sys/types.h>

struct pidfile;

/*
 * Opens and locks path, creating it (mode 0644) and its directory (0755)
 * when needed.  NULL with err set when that fails; *holder is then the
 * pid written in the file when another process holds the lock, else 0.
 */
struct pidfile	*pidfile_open(const char *path, pid_t *holder, char *err,
		    size_t errlen);
/* Writes pid into the file, replacing what it held.  0 or -1 (err set). */
int		 pidfile_write(struct pidfile *pf, pid_t pid, char *err,
		    size_t errlen);
const char	*pidfile_path(const struct pidfile *pf);
void		 pidfile_remove(struct pidfile *pf);
void		 pidfile_free(struct pidfile *pf);

#endif
