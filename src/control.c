/*
 * control.c: bulkheadd's control socket listener.  Every connection is
 * non-blocking and served from the main loop's poll: request bytes are
 * accumulated across wakeups, the answer is written as the client reads
 * it, and each phase has a deadline, so a slow, silent or hostile client
 * costs the loop nothing but a pollfd.  A request is handled as soon as it
 * is complete: a reload answers only once the new rules are in the kernel,
 * which is what `bulkhead reload` promises.
 *
 * The listener owns its connections and their buffers; the handler's
 * answer becomes the connection's and is freed once written.
 */
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <libgen.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "control.h"
#include "log.h"
#include "util.h"

#define CONTROL_ACCEPT_BURST	64	/* accepts per wakeup */
#define CONTROL_BACKLOG		64
#define CONTROL_REFUSED \
	"{\"ok\":false,\"error\":\"too many control connections\"}\n"

struct conn {
	TAILQ_ENTRY(conn)	 entry;
	int			 fd;
	int			 writing;	/* request handled, answer pending */
	struct strbuf		 req;		/* bytes read so far */
	char			*ans;		/* answer and its newline, owned */
	size_t			 anslen;
	size_t			 off;		/* of ans, written */
	struct timespec		 deadline;	/* of the current phase */
};

TAILQ_HEAD(connq, conn);

struct control {
	int		 fd;
	char		*path;
	struct connq	 conns;
	size_t		 nconns;
	unsigned long	 refused;	/* over CONTROL_MAX_CONNS */
	unsigned long	 dropped;	/* past their deadline */
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
	TAILQ_INIT(&c->conns);
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
	if (listen(c->fd, CONTROL_BACKLOG) == -1) {
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

static void
control_conn_free(struct control *c, struct conn *cn)
{
	TAILQ_REMOVE(&c->conns, cn, entry);
	c->nconns--;
	close(cn->fd);
	strbuf_release(&cn->req);
	free(cn->ans);
	free(cn);
}

void
control_free(struct control *c)
{
	if (c == NULL)
		return;
	while (!TAILQ_EMPTY(&c->conns))
		control_conn_free(c, TAILQ_FIRST(&c->conns));
	close(c->fd);
	unlink(c->path);
	free(c->path);
	free(c);
}

/* Milliseconds until ts, 0 when past. */
static int
control_ms_until(const struct timespec *ts)
{
	struct timespec	now;
	long long	ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (ts->tv_sec - now.tv_sec) * 1000LL +
	    (ts->tv_nsec - now.tv_nsec + 999999) / 1000000LL;
	return ms < 0 ? 0 : (int)ms;
}

size_t
control_npollfds(const struct control *c)
{
	return 1 + c->nconns;
}

size_t
control_nconns(const struct control *c)
{
	return c->nconns;
}

void
control_stats(const struct control *c, unsigned long *refused,
    unsigned long *dropped)
{
	*refused = c->refused;
	*dropped = c->dropped;
}

void
control_pollfds(const struct control *c, struct pollfd *fds)
{
	const struct conn	*cn;

	fds[0].fd = c->fd;
	fds[0].events = POLLIN;
	fds[0].revents = 0;
	TAILQ_FOREACH(cn, &c->conns, entry) {
		fds++;
		fds->fd = cn->fd;
		fds->events = cn->writing ? POLLOUT : POLLIN;
		fds->revents = 0;
	}
}

int
control_timeout(const struct control *c)
{
	const struct conn	*cn;
	int			 t = -1, ms;

	TAILQ_FOREACH(cn, &c->conns, entry) {
		ms = control_ms_until(&cn->deadline);
		if (t < 0 || ms < t)
			t = ms;
	}
	return t;
}

/*
 * Best effort, never waits: the refusal fits any socket buffer.  What the
 * client already sent is read first, or closing would reset the
 * connection before the client reads why.
 */
static void
control_refuse(struct control *c, int fd)
{
	char	buf[4096];

	(void)!read(fd, buf, sizeof(buf));
	(void)!write(fd, CONTROL_REFUSED, strlen(CONTROL_REFUSED));
	close(fd);
	if (c->refused++ == 0 || c->refused % 1000 == 0)
		log_warnx("control: %lu connection(s) refused: %d open "
		    "already", c->refused, CONTROL_MAX_CONNS);
}

static void
control_accept(struct control *c)
{
	struct conn	*cn;
	int		 i, fd;

	for (i = 0; i < CONTROL_ACCEPT_BURST; i++) {
		fd = accept4(c->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd == -1) {
			if (errno != EAGAIN && errno != EINTR &&
			    errno != ECONNABORTED)
				log_warn("accept on control socket");
			return;
		}
		if (c->nconns >= CONTROL_MAX_CONNS) {
			control_refuse(c, fd);
			continue;
		}
		cn = xcalloc(1, sizeof(*cn));
		cn->fd = fd;
		strbuf_init(&cn->req);
		deadline_set(&cn->deadline, CONTROL_READ_MS);
		TAILQ_INSERT_TAIL(&c->conns, cn, entry);
		c->nconns++;
	}
}

/*
 * Writes what the client takes of the answer.  Returns 1 when done or
 * failed (the connection is to be closed), 0 when the rest must wait.
 */
static int
control_write(struct conn *cn)
{
	while (cn->off < cn->anslen) {
		ssize_t	n = write(cn->fd, cn->ans + cn->off,
		    cn->anslen - cn->off);

		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return 0;
		if (n <= 0) {
			log_warn("write control answer");
			return 1;
		}
		cn->off += (size_t)n;
	}
	return 1;
}

/*
 * Handles the complete request of len bytes and starts writing its
 * answer.  Returns 1 when the connection is to be closed.
 */
static int
control_answer(struct conn *cn, long len, control_handler handler,
    void *arg)
{
	char	*ans;

	/* A NUL would cut the request short of what the client sent. */
	if (memchr(cn->req.buf, '\0', (size_t)len)) {
		log_warnx("control request: contains a NUL byte");
		return 1;
	}
	cn->req.buf[len] = '\0';
	ans = handler(cn->req.buf, arg);
	strbuf_release(&cn->req);
	cn->anslen = strlen(ans);
	cn->ans = xreallocarray(ans, cn->anslen + 2, 1);
	cn->ans[cn->anslen++] = '\n';
	cn->ans[cn->anslen] = '\0';
	cn->writing = 1;
	deadline_set(&cn->deadline, CONTROL_WRITE_MS);
	return control_write(cn);
}

/*
 * Reads what the client sent (see control_request_frame); a complete
 * request is answered at once.  EOF ends a request too.  Returns 1 when
 * the connection is to be closed.
 */
static int
control_read(struct conn *cn, control_handler handler, void *arg)
{
	char	buf[4096];
	long	n;

	for (;;) {
		ssize_t	r;

		if ((n = control_request_frame(cn->req.buf, cn->req.len)) > 0)
			return control_answer(cn, n, handler, arg);
		if (n < 0) {
			log_warnx("control request: larger than %d bytes",
			    CONTROL_MAX_REQUEST);
			return 1;
		}
		if ((r = read(cn->fd, buf, sizeof(buf))) == -1 &&
		    errno == EINTR)
			continue;
		if (r == -1 && errno == EAGAIN)
			return 0;
		if (r <= 0)
			break;
		strbuf_add(&cn->req, buf, (size_t)r);
	}
	if (cn->req.len == 0)
		return 1;	/* gone without a word */
	return control_answer(cn, (long)cn->req.len, handler, arg);
}

static void
control_expire(struct control *c)
{
	struct conn	*cn, *next;
	size_t		 nread = 0, nwrite = 0;

	for (cn = TAILQ_FIRST(&c->conns); cn; cn = next) {
		next = TAILQ_NEXT(cn, entry);
		if (control_ms_until(&cn->deadline) > 0)
			continue;
		if (cn->writing)
			nwrite++;
		else
			nread++;
		control_conn_free(c, cn);
		c->dropped++;
	}
	if (nread)
		log_warnx("control: %zu client(s) dropped: request not "
		    "complete within %d ms", nread, CONTROL_READ_MS);
	if (nwrite)
		log_warnx("control: %zu client(s) dropped: answer not taken "
		    "within %d ms", nwrite, CONTROL_WRITE_MS);
}

void
control_serve(struct control *c, const struct pollfd *fds,
    control_handler handler, void *arg)
{
	struct conn	*cn, *next;
	size_t		 i = 1;
	int		 done;

	/* The connections fds were filled for, in the same order. */
	for (cn = TAILQ_FIRST(&c->conns); cn; cn = next, i++) {
		next = TAILQ_NEXT(cn, entry);
		if (fds[i].fd != cn->fd)
			fatalx("control: pollfd %zu is not its connection", i);
		if (fds[i].revents == 0)
			continue;
		if (cn->writing)
			done = control_write(cn);
		else
			done = control_read(cn, handler, arg);
		if (done)
			control_conn_free(c, cn);
	}
	control_expire(c);
	if (fds[0].revents & POLLIN)
		control_accept(c);
}
