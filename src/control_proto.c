/*
 * control_proto.c: the client side of the control socket, shared by the
 * bulkhead CLI and bulkhead-capture.  Plain socket I/O so that the tools
 * need no JSON library to talk to the daemon.
 */
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "control.h"
#include "util.h"

static int
control_connect(const char *path, int timeout_ms, char *err, size_t errlen)
{
	struct sockaddr_un	sun;
	struct timeval		tv;
	int			fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy_bh(sun.sun_path, path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path)) {
		snprintf(err, errlen, "control socket path too long: %s", path);
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		snprintf(err, errlen, "connect to %s: %s (is bulkheadd running?)",
		    path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static int
control_write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t	n = write(fd, buf, len);

		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int
control_call(const char *path, const char *request, char **answer,
    int timeout_ms, char *err, size_t errlen)
{
	struct strbuf	sb;
	char		buf[8192];
	int		fd;

	*answer = NULL;
	if ((fd = control_connect(path, timeout_ms, err, errlen)) == -1)
		return -1;
	strbuf_init(&sb);
	if (control_write_all(fd, request, strlen(request)) == -1 ||
	    control_write_all(fd, "\n", 1) == -1) {
		snprintf(err, errlen, "send request to %s: %s", path,
		    strerror(errno));
		goto err;
	}
	for (;;) {
		ssize_t	n = read(fd, buf, sizeof(buf));

		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			snprintf(err, errlen, "read answer from %s: %s", path,
			    errno == EAGAIN ? "timed out" : strerror(errno));
			goto err;
		}
		if (n == 0)
			break;
		if (sb.len + (size_t)n > CONTROL_MAX_ANSWER) {
			snprintf(err, errlen, "answer from %s too large", path);
			goto err;
		}
		strbuf_add(&sb, buf, (size_t)n);
	}
	close(fd);
	if (sb.len == 0) {
		snprintf(err, errlen, "empty answer from %s", path);
		strbuf_release(&sb);
		return -1;
	}
	*answer = strbuf_detach(&sb);
	return 0;
err:
	close(fd);
	strbuf_release(&sb);
	return -1;
}
