/*
 * statusfetch.c: bulkhead-capture's way to bulkheadd's status after it
 * dropped its privileges.  The control socket is root's (mode 0600), so
 * a child forked while still root keeps the rights and does one thing:
 * for each byte the capture writes on their socket pair, it asks the
 * daemon for its status and writes back the answer.  The child never
 * sees a packet; it exits when the capture closes its end.
 *
 * Requests are one byte, a sequence number.  Frames from the child: the
 * request's byte, a 4-byte length in host order, then the bytes; the high
 * bit of the length set means the bytes are an error message.  A frame
 * for an older request (its answer came after the capture gave up
 * waiting) is skipped, so answers never get out of step.
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "control.h"
#include "statusfetch.h"
#include "util.h"

#define SF_ERRBIT	0x80000000u
#define SF_TIMEOUT_MS	500	/* the daemon's answer, per read */

struct statusfetch {
	int	fd;
	pid_t	pid;
	uint8_t	seq;		/* of the last request */
	int	broken;		/* a frame was cut: the stream is lost */
};

struct sf_hdr {
	uint32_t	len;
	uint8_t		seq;
} __attribute__((packed));

static int
sf_write_all(int fd, const void *buf, size_t len)
{
	const char	*p = buf;

	while (len) {
		ssize_t	n = write(fd, p, len);

		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int
sf_send(int fd, uint8_t seq, const char *s, uint32_t flag)
{
	struct sf_hdr	h = { .len = (uint32_t)strlen(s) | flag, .seq = seq };

	if (sf_write_all(fd, &h, sizeof(h)) == -1)
		return -1;
	return sf_write_all(fd, s, strlen(s));
}

/* The child: answers each request byte until the capture goes away. */
static void __attribute__((noreturn))
sf_child(int fd, const char *path)
{
	char	err[256], *ans;
	uint8_t	c;

	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	for (;;) {
		ssize_t	n = read(fd, &c, 1);

		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			_exit(0);
		if (control_call(path, "{\"cmd\":\"status\"}", &ans,
		    SF_TIMEOUT_MS, err, sizeof(err)) == -1) {
			if (sf_send(fd, c, err, SF_ERRBIT) == -1)
				_exit(1);
			continue;
		}
		if (strlen(ans) >= SF_ERRBIT || sf_send(fd, c, ans, 0) == -1)
			_exit(1);
		free(ans);
	}
}

struct statusfetch *
statusfetch_start(const char *path)
{
	struct statusfetch	*sf;
	int			 sp[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == -1)
		return NULL;
	sf = xcalloc(1, sizeof(*sf));
	fflush(NULL);
	if ((sf->pid = fork()) == -1) {
		close(sp[0]);
		close(sp[1]);
		free(sf);
		return NULL;
	}
	if (sf->pid == 0) {
		close(sp[0]);
		sf_child(sp[1], path);
	}
	close(sp[1]);
	sf->fd = sp[0];
	return sf;
}

/* Reads len bytes, waiting at most timeout_ms for each part. */
static int
sf_read_all(int fd, void *buf, size_t len, int timeout_ms)
{
	char		*p = buf;
	struct pollfd	 pfd = { .fd = fd, .events = POLLIN };

	while (len) {
		ssize_t	n;
		int	r = poll(&pfd, 1, timeout_ms);

		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		if ((n = read(fd, p, len)) == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads one frame: 0, or -1 when the helper is gone or too slow. */
static int
sf_read_frame(struct statusfetch *sf, struct sf_hdr *h, char **buf,
    char *err, size_t errlen)
{
	size_t	size;

	*buf = NULL;
	if (sf_read_all(sf->fd, h, sizeof(*h), SF_TIMEOUT_MS * 2) == -1)
		goto gone;
	size = h->len & ~SF_ERRBIT;
	if (size > CONTROL_MAX_ANSWER) {
		snprintf(err, errlen, "status helper sent %zu bytes", size);
		return -1;
	}
	*buf = xmalloc(size + 1);
	if (sf_read_all(sf->fd, *buf, size, SF_TIMEOUT_MS * 2) == -1) {
		free(*buf);
		*buf = NULL;
		sf->broken = 1;
		goto gone;
	}
	(*buf)[size] = '\0';
	return 0;
gone:
	snprintf(err, errlen, "bulkheadd did not answer in time");
	return -1;
}

int
statusfetch_get(struct statusfetch *sf, char **answer, char *err,
    size_t errlen)
{
	struct sf_hdr	 h;
	char		*buf;

	*answer = NULL;
	sf->seq++;
	if (sf->broken || sf_write_all(sf->fd, &sf->seq, 1) == -1) {
		snprintf(err, errlen, "status helper process gone");
		return -1;
	}
	do {
		if (sf_read_frame(sf, &h, &buf, err, errlen) == -1)
			return -1;
		if (h.seq != sf->seq)
			free(buf);	/* a late answer to an earlier request */
	} while (h.seq != sf->seq);
	if (h.len & SF_ERRBIT) {
		snprintf(err, errlen, "%s", buf);
		free(buf);
		return -1;
	}
	*answer = buf;
	return 0;
}

void
statusfetch_stop(struct statusfetch *sf)
{
	if (sf == NULL)
		return;
	close(sf->fd);
	waitpid(sf->pid, NULL, 0);
	free(sf);
}
