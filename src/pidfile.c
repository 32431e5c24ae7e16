/*
 * pidfile.c: a pid file locked for the daemon's lifetime (see pidfile.h).
 * libc only.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pidfile.h"
#include "util.h"

struct pidfile {
	char	*path;
	int	 fd;
};

/* The pid written in fd, or 0 when it holds none (yet). */
static pid_t
pidfile_read(int fd)
{
	char	buf[32], *end;
	ssize_t	n;
	long	v;

	if ((n = pread(fd, buf, sizeof(buf) - 1, 0)) <= 0)
		return 0;
	buf[n] = '\0';
	v = strtol(buf, &end, 10);
	if (end == buf || v <= 0 || (*end != '\n' && *end != '\0'))
		return 0;
	return (pid_t)v;
}

static void
pidfile_mkdir(const char *path)
{
	char	*copy = xstrdup(path);

	/* When this fails, the open just after says why. */
	mkdir(dirname(copy), 0755);
	free(copy);
}

struct pidfile *
pidfile_open(const char *path, pid_t *holder, char *err, size_t errlen)
{
	struct pidfile	*pf;
	int		 fd;

	*holder = 0;
	pidfile_mkdir(path);
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
	    0644)) == -1) {
		snprintf(err, errlen, "pid file %s: open failed: %s", path,
		    strerror(errno));
		return NULL;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		int	saved = errno;

		if (saved == EWOULDBLOCK) {
			*holder = pidfile_read(fd);
			snprintf(err, errlen, "pid file %s: locked by a running "
			    "bulkheadd (pid %ld)", path, (long)*holder);
		} else
			snprintf(err, errlen, "pid file %s: lock failed: %s",
			    path, strerror(saved));
		close(fd);
		return NULL;
	}
	pf = xcalloc(1, sizeof(*pf));
	pf->path = xstrdup(path);
	pf->fd = fd;
	return pf;
}

int
pidfile_write(struct pidfile *pf, pid_t pid, char *err, size_t errlen)
{
	char	buf[32];
	int	len = snprintf(buf, sizeof(buf), "%ld\n", (long)pid);

	if (ftruncate(pf->fd, 0) == -1 ||
	    pwrite(pf->fd, buf, (size_t)len, 0) != (ssize_t)len) {
		snprintf(err, errlen, "pid file %s: write failed: %s",
		    pf->path, strerror(errno));
		return -1;
	}
	return 0;
}

const char *
pidfile_path(const struct pidfile *pf)
{
	return pf->path;
}

/* Unlinked while still locked: a new instance never sees a stale pid. */
void
pidfile_remove(struct pidfile *pf)
{
	if (pf == NULL)
		return;
	unlink(pf->path);
	pidfile_free(pf);
}

void
pidfile_free(struct pidfile *pf)
{
	if (pf == NULL)
		return;
	close(pf->fd);
	free(pf->path);
	free(pf);
}
