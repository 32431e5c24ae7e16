/*
 * control.c: bulkheadd's control socket listener.  Requests are served one
 * at a time from the main loop: a reload answers only once the new rules
 * are in the kernel, which is what `bulkhead reload` promises.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>

#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "control.h"
#include "log.h"
#include "util.h"

#define CONTROL_READ_MS	2000	/* for a whole request */

struct control {
	int	 fd;
	char	*path;
};

static int
control_mkparent(const char *path)
{
	char	*dup = xstrdup(path);
	char	*dir = dirname(dup);
	int	 rc = 0;

	if (mkdir(dir, 0755) == -1 && errno != EEXIST) {
		log_warn("create control socket directory %s", dir);
		rc = -1;
	}
	free(dup);
	return rc;
}

struct control *
control_new(const char *path)
{
	struct control		*c;
	struct sockaddr_un	 sun;
	mode_t			 old;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy_bh(sun.sun_path, path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path)) {
		log_warnx("control socket path too long: %s", path);
		return NULL;
	}
	if (control_mkparent(path) == -1)
		return NULL;
	c = xcalloc(1, sizeof(*c));
	c->path = xstrdup(path);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (c->fd == -1) {
		log_warn("control socket");
		goto err;
	}
	unlink(path);
	old = umask(0077);
	if (bind(c->fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		umask(old);
		log_warn("bind control socket %s", path);
		goto err;
	}
	umask(old);
	if (listen(c->fd, 16) == -1) {
		log_warn("listen on control socket %s", path);
		goto err;
	}
	return c;
err:
	if (c->fd != -1)
		close(c->fd);
	free(c->path);
	free(c);
	return NULL;
}

void
control_free(struct control *c)
{
	if (c == NULL)
		return;
	close(c->fd);
	unlink(c->path);
	free(c->path);
	free(c);
}

int
control_fd(const struct control *c)
{
	return c->fd;
}

static long
control_elapsed_ms(const struct timespec *t0)
{
	struct timespec	now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t0->tv_sec) * 1000L +
	    (now.tv_nsec - t0->tv_nsec) / 1000000L;
}

/*
 * Reads one request (see control_request_frame).  The whole request must
 * arrive within CONTROL_READ_MS (each read waits no longer either), so a
 * slow or silent client holds the main loop for about that long at most.
 */
static char *
control_read_request(int fd)
{
	struct strbuf	 sb;
	struct timespec	 t0;
	char		 buf[4096];
	long		 n;

	strbuf_init(&sb);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		ssize_t	r;

		if ((n = control_request_frame(sb.buf, sb.len)) != 0)
			break;
		if (control_elapsed_ms(&t0) > CONTROL_READ_MS) {
			n = -1;
			break;
		}
		if ((r = read(fd, buf, sizeof(buf))) == -1 && errno == EINTR)
			continue;
		if (r <= 0) {
			n = sb.len ? (long)sb.len : -1;	/* EOF ends a request */
			break;
		}
		strbuf_add(&sb, buf, (size_t)r);
	}
	/* A NUL would cut the request short of what the client sent. */
	if (n <= 0 || memchr(sb.buf, '\0', (size_t)n)) {
		strbuf_release(&sb);
		return NULL;
	}
	sb.buf[n] = '\0';
	return strbuf_detach(&sb);
}

static void
control_write_answer(int fd, const char *ans)
{
	size_t	len = strlen(ans);

	while (len) {
		ssize_t	n = write(fd, ans, len);

		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			log_warn("write control answer");
			return;
		}
		ans += n;
		len -= (size_t)n;
	}
	(void)!write(fd, "\n", 1);
}

void
control_serve(struct control *c, control_handler handler, void *arg)
{
	struct timeval	 tv = { .tv_sec = CONTROL_READ_MS / 1000,
				.tv_usec = CONTROL_READ_MS % 1000 * 1000 };
	char		*req, *ans;
	int		 fd;

	fd = accept4(c->fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd == -1) {
		if (errno != EAGAIN && errno != EINTR)
			log_warn("accept on control socket");
		return;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	tv.tv_sec = 10;
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if ((req = control_read_request(fd)) == NULL) {
		log_warnx("control request: empty, too large or timed out");
		close(fd);
		return;
	}
	ans = handler(req, arg);
	control_write_answer(fd, ans);
	free(ans);
	free(req);
	close(fd);
}
