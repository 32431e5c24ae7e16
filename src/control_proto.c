/*
 * control_proto.c: the protocol of the control socket.  The client's call
 * is plain socket I/O (the request is a JSON text the caller wrote); the
 * daemon's side is the framing and parsing of a request, which is
 * untrusted input and holds no daemon state, so that it can be unit-tested
 * and fuzzed alone.
 */
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
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

/* ---- the daemon's side: framing and parsing a request ---- */

long
control_request_frame(const char *buf, size_t len)
{
	size_t		 scan = len < CONTROL_MAX_REQUEST ? len : CONTROL_MAX_REQUEST;
	const char	*nl = scan ? memchr(buf, '\n', scan) : NULL;

	if (nl)
		return (long)(nl - buf) + 1;
	return len >= CONTROL_MAX_REQUEST ? -1 : 0;
}

static int
control_request_cmd_ok(const char *s, size_t len)
{
	size_t	i;

	if (len == 0 || len >= CONTROL_MAX_CMD)
		return 0;
	for (i = 0; i < len; i++)
		if (!islower((unsigned char)s[i]) &&
		    !isdigit((unsigned char)s[i]) && s[i] != '-')
			return 0;
	return 1;
}

int
control_request_parse(const char *buf, size_t len,
    struct control_request *req, char *err, size_t errlen)
{
	json_error_t	 jerr;
	json_t		*cmd;

	memset(req, 0, sizeof(*req));
	if (len > CONTROL_MAX_REQUEST) {
		snprintf(err, errlen, "bad request: larger than %d bytes",
		    CONTROL_MAX_REQUEST);
		return -1;
	}
	if ((req->obj = json_loadb(buf, len, JSON_REJECT_DUPLICATES,
	    &jerr)) == NULL) {
		snprintf(err, errlen, "bad request: %d:%d: %s", jerr.line,
		    jerr.column, jerr.text);
		/* jansson's excerpt of the input may end inside a character. */
		utf8_scrub(err);
		return -1;
	}
	cmd = json_object_get(req->obj, "cmd");
	if (!json_is_object(req->obj) || !json_is_string(cmd)) {
		snprintf(err, errlen, "bad request: expected {\"cmd\": ...}");
		goto err;
	}
	if (!control_request_cmd_ok(json_string_value(cmd),
	    json_string_length(cmd))) {
		snprintf(err, errlen, "bad request: $.cmd: not a command name");
		goto err;
	}
	strlcpy_bh(req->cmd, json_string_value(cmd), sizeof(req->cmd));
	return 0;
err:
	control_request_release(req);
	return -1;
}

void
control_request_release(struct control_request *req)
{
	json_decref(req->obj);
	req->obj = NULL;
}
