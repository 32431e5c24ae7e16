/*
 * notify.c: the sd_notify protocol without libsystemd.  bulkheadd says
 * READY=1 once its first ruleset is in the kernel, so that a unit of
 * Type=notify (and whatever is ordered after it) starts only when the
 * host's containers are segmented; RELOADING=1/READY=1 around a SIGHUP
 * reload; STOPPING=1 on exit.  The socket is opened at start-up, before
 * privileges are dropped, and kept.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "notify.h"

static int	notify_fd = -1;

/*
 * Connects to $NOTIFY_SOCKET (a path, or an abstract name written with a
 * leading '@') and unsets it, so that nothing we might start inherits it.
 */
void
notify_init(void)
{
	struct sockaddr_un	 sun;
	const char		*path = getenv("NOTIFY_SOCKET");
	socklen_t		 len;
	size_t			 n;

	if (path == NULL || *path == '\0')
		return;
	n = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || n >= sizeof(sun.sun_path)) {
		log_warnx("NOTIFY_SOCKET %s: not a unix socket path; the "
		    "service manager will not hear from us", path);
		goto out;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, n);
	if (path[0] == '@')
		sun.sun_path[0] = '\0';
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	if ((notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1) {
		log_warn("notify socket");
		goto out;
	}
	if (connect(notify_fd, (struct sockaddr *)&sun, len) == -1) {
		log_warn("connect to NOTIFY_SOCKET %s", path);
		close(notify_fd);
		notify_fd = -1;
	}
out:
	unsetenv("NOTIFY_SOCKET");
}

/* Sends one notification ("READY=1", "STATUS=..."); errors are logged. */
void
notify_send(const char *fmt, ...)
{
	char	buf[512];
	va_list	ap;
	int	n;

	if (notify_fd == -1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(buf))
		n = sizeof(buf) - 1;
	if (write(notify_fd, buf, (size_t)n) == -1 && errno != EAGAIN)
		log_warn("notify %.*s", n, buf);
}

void
notify_release(void)
{
	if (notify_fd != -1)
		close(notify_fd);
	notify_fd = -1;
}
