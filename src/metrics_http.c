/*
 * metrics_http.c: the optional Prometheus listener (--metrics-listen), the
 * one file that uses libmicrohttpd.  The library serves from a thread of
 * its own; it only ever sees the last page the main loop rendered
 * (metrics_http_set), under a mutex, so no controller state is shared.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <microhttpd.h>

#include "log.h"
#include "metrics_http.h"
#include "util.h"

struct metrics_http {
	struct MHD_Daemon	*d;		/* NULL until started */
	int			 fd;		/* listening, until started */
	int			 ipv6;
	char			*listen;
	pthread_mutex_t		 lock;
	char			*page;
};

static enum MHD_Result
metrics_http_answer(void *arg, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_len, void **state)
{
	struct metrics_http	*m = arg;
	struct MHD_Response	*r;
	enum MHD_Result		 ret;
	unsigned		 code = MHD_HTTP_OK;
	char			*body;

	(void)version;
	(void)upload;
	(void)upload_len;
	(void)state;
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		body = xstrdup("method not allowed\n");
		code = MHD_HTTP_METHOD_NOT_ALLOWED;
	} else if (strcmp(url, "/metrics") != 0) {
		body = xstrdup("not found: try /metrics\n");
		code = MHD_HTTP_NOT_FOUND;
	} else {
		pthread_mutex_lock(&m->lock);
		body = xstrdup(m->page ? m->page : "");
		pthread_mutex_unlock(&m->lock);
	}
	r = MHD_create_response_from_buffer(strlen(body), body,
	    MHD_RESPMEM_MUST_FREE);
	if (r == NULL) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type",
	    "text/plain; version=0.0.4; charset=utf-8");
	ret = MHD_queue_response(conn, code, r);
	MHD_destroy_response(r);
	return ret;
}

/* "127.0.0.1:9661" or "[::1]:9661" into ss; 0 or -1. */
static int
metrics_http_addr(const char *listen, struct sockaddr_storage *ss)
{
	struct addrinfo	 hints, *res = NULL;
	char		*host = xstrdup(listen), *port, *end;
	int		 rc = -1;

	if ((port = strrchr(host, ':')) == NULL)
		goto out;
	*port++ = '\0';
	if (host[0] == '[' && (end = strchr(host, ']')) != NULL) {
		*end = '\0';
		memmove(host, host + 1, strlen(host));
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	hints.ai_socktype = SOCK_STREAM;
	/* getaddrinfo takes 99999 and wraps it: ports are checked here. */
	if (strspn(port, "0123456789") != strlen(port) || strlen(port) > 5 ||
	    atoi(port) < 1 || atoi(port) > 65535)
		goto out;
	if (getaddrinfo(host, port, &hints, &res) != 0 || res == NULL)
		goto out;
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	rc = 0;
out:
	if (res)
		freeaddrinfo(res);
	free(host);
	return rc;
}

/* A listening TCP socket on ss; -1 on failure (logged). */
static int
metrics_http_socket(const char *listen_addr, const struct sockaddr_storage *ss)
{
	socklen_t	len = ss->ss_family == AF_INET6 ?
			    sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	int		fd, one = 1;

	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		log_warn("metrics listener %s: socket", listen_addr);
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)ss, len) == -1 ||
	    listen(fd, 16) == -1) {
		log_warn("metrics listener %s: cannot listen", listen_addr);
		close(fd);
		return -1;
	}
	return fd;
}

struct metrics_http *
metrics_http_new(const char *listen_addr)
{
	struct metrics_http	*m;
	struct sockaddr_storage	 ss;
	int			 fd;

	memset(&ss, 0, sizeof(ss));
	if (metrics_http_addr(listen_addr, &ss) == -1) {
		log_warnx("metrics listener %s: expected ADDRESS:PORT",
		    listen_addr);
		return NULL;
	}
	if ((fd = metrics_http_socket(listen_addr, &ss)) == -1)
		return NULL;
	m = xcalloc(1, sizeof(*m));
	pthread_mutex_init(&m->lock, NULL);
	m->fd = fd;
	m->ipv6 = ss.ss_family == AF_INET6;
	m->listen = xstrdup(listen_addr);
	return m;
}

int
metrics_http_start(struct metrics_http *m)
{
	unsigned int	flags = MHD_USE_INTERNAL_POLLING_THREAD |
			    MHD_USE_ERROR_LOG;

	if (m->ipv6)
		flags |= MHD_USE_IPv6;
	m->d = MHD_start_daemon(flags, 0, NULL, NULL, metrics_http_answer, m,
	    MHD_OPTION_LISTEN_SOCKET, m->fd,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)16,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)10,
	    MHD_OPTION_END);
	if (m->d == NULL) {
		log_warnx("metrics listener %s: cannot start", m->listen);
		return -1;
	}
	m->fd = -1;	/* the daemon's now */
	return 0;
}

void
metrics_http_set(struct metrics_http *m, char *page)
{
	char	*old;

	pthread_mutex_lock(&m->lock);
	old = m->page;
	m->page = page;
	pthread_mutex_unlock(&m->lock);
	free(old);
}

void
metrics_http_free(struct metrics_http *m)
{
	if (m == NULL)
		return;
	if (m->d)
		MHD_stop_daemon(m->d);
	if (m->fd != -1)
		close(m->fd);
	free(m->listen);
	pthread_mutex_destroy(&m->lock);
	free(m->page);
	free(m);
}
