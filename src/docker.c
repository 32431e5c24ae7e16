/*
 * docker.c: the Docker Engine API over its unix socket, the only user of
 * libcurl.  Two transfers never share a handle: the /events stream runs on
 * a multi handle serviced by docker_wait (the daemon's poll), and the
 * synchronous calls (list, inspect, networks, info) run on their own easy
 * handle with timeouts.  While a synchronous call is in flight the stream
 * is not read; its events wait in the socket buffer until the next
 * docker_wait.  The documents are parsed by docker_parse.c.
 *
 * Paths carry no /vX.YY prefix: the engine serves unversioned paths at its
 * own API version, which works with Debian 12's engine (1.41), with newer
 * ones, and with Podman's compatible socket, whereas a fixed prefix is
 * refused by engines older than it.  The fields we read are the same
 * across those versions.
 */
#include <sys/un.h>

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "docker.h"
#include "inventory.h"
#include "log.h"
#include "util.h"

#define DOCKER_DEFAULT_SOCKET	"/var/run/docker.sock"
#define SYNC_TIMEOUT_MS		10000L
#define CONNECT_TIMEOUT_MS	3000L
#define EVENTS_ANSWER_MS	5000
#define BODY_MAX		(64u << 20)
#define ERRBODY_MAX		4096
#define EVENTS_FILTER		"{\"type\":[\"container\",\"network\"]}"

struct body {
	struct strbuf	sb;
	int		toolong;
};

struct docker {
	char			*path;
	CURL			*sync;		/* list, inspect, networks */
	char			 sync_err[CURL_ERROR_SIZE];

	CURLM			*multi;		/* the /events stream */
	CURL			*ev;		/* NULL when not following */
	char			 ev_err[CURL_ERROR_SIZE];
	long			 ev_status;	/* HTTP status, 0 until known */
	struct strbuf		 ev_raw;	/* body not yet framed */
	struct strbuf		 ev_errbody;	/* body of a non-200 answer */
	struct docker_stream	 st;
	void			(*cb)(const struct docker_event *, void *);
	void			*arg;
	int			 delivering;	/* inside cb */
	int			 stop_deferred;	/* stopped from inside cb */

	struct curl_waitfd	*wfds;
	unsigned int		 nwfds;
};

static int	curl_ready;

/* ---- the client ---- */

/* The socket to use: path, $DOCKER_HOST, or Docker's default. */
static char *
docker_pick_socket(const char *path)
{
	const char	*env = getenv("DOCKER_HOST");

	if (path == NULL || path[0] == '\0') {
		if (env == NULL || env[0] == '\0')
			return xstrdup(DOCKER_DEFAULT_SOCKET);
		if (strncmp(env, "unix://", 7) != 0) {
			log_warnx("DOCKER_HOST %s: only unix:// sockets are "
			    "supported", env);
			return NULL;
		}
		path = env;
	}
	if (strncmp(path, "unix://", 7) == 0)
		path += 7;
	if (path[0] == '\0') {
		log_warnx("docker socket path is empty");
		return NULL;
	}
	if (strlen(path) >= sizeof(((struct sockaddr_un *)NULL)->sun_path)) {
		log_warnx("docker socket path too long: %s", path);
		return NULL;
	}
	return xstrdup(path);
}

struct docker *
docker_new(const char *path)
{
	struct docker	*d;
	char		*sock;

	if ((sock = docker_pick_socket(path)) == NULL)
		return NULL;
	if (!curl_ready) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			fatalx("curl_global_init failed");
		curl_ready = 1;
	}
	d = xcalloc(1, sizeof(*d));
	d->path = sock;
	strbuf_init(&d->ev_raw);
	strbuf_init(&d->ev_errbody);
	docker_stream_init(&d->st, NULL, NULL);
	return d;
}

void
docker_free(struct docker *d)
{
	if (d == NULL)
		return;
	docker_events_stop(d);
	if (d->multi != NULL)
		curl_multi_cleanup(d->multi);
	if (d->sync != NULL)
		curl_easy_cleanup(d->sync);
	strbuf_release(&d->ev_raw);
	strbuf_release(&d->ev_errbody);
	free(d->wfds);
	free(d->path);
	free(d);
}

const char *
docker_socket_path(const struct docker *d)
{
	return d->path;
}

/* ---- synchronous calls ---- */

static size_t
body_write(char *p, size_t size, size_t n, void *arg)
{
	struct body	*b = arg;
	size_t		 len = size * n;

	if (b->sb.len + len > BODY_MAX) {
		b->toolong = 1;
		return 0;	/* aborts the transfer */
	}
	strbuf_add(&b->sb, p, len);
	return len;
}

static CURL *
docker_sync_handle(struct docker *d)
{
	if (d->sync != NULL)
		return d->sync;
	if ((d->sync = curl_easy_init()) == NULL)
		fatalx("curl_easy_init failed");
	curl_easy_setopt(d->sync, CURLOPT_UNIX_SOCKET_PATH, d->path);
	curl_easy_setopt(d->sync, CURLOPT_WRITEFUNCTION, body_write);
	curl_easy_setopt(d->sync, CURLOPT_TIMEOUT_MS, SYNC_TIMEOUT_MS);
	curl_easy_setopt(d->sync, CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS);
	curl_easy_setopt(d->sync, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(d->sync, CURLOPT_ERRORBUFFER, d->sync_err);
	return d->sync;
}

/*
 * GET path into b (which the caller releases).  Returns the HTTP status,
 * or -1 (logged) when there was no answer.
 */
static long
docker_get(struct docker *d, const char *path, struct body *b)
{
	CURL		*h = docker_sync_handle(d);
	CURLcode	 rc;
	long		 status = 0;
	char		*url = xasprintf("http://localhost%s", path);

	strbuf_init(&b->sb);
	b->toolong = 0;
	d->sync_err[0] = '\0';
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, b);
	rc = curl_easy_perform(h);
	free(url);
	if (rc != CURLE_OK) {
		log_warnx("docker GET %s on %s: %s", path, d->path,
		    b->toolong ? "answer too large" :
		    d->sync_err[0] ? d->sync_err : curl_easy_strerror(rc));
		return -1;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	return status;
}

static void
docker_http_error(const char *what, long status, const struct body *b)
{
	char	msg[256];

	if (docker_parse_error(b->sb.buf, b->sb.len, msg, sizeof(msg)) == -1)
		strlcpy_bh(msg, "no message", sizeof(msg));
	log_warnx("%s: http %ld: %s", what, status, msg);
}

/* A URL path of fmt with arg escaped into it. */
static char *
docker_path(struct docker *d, const char *fmt, const char *arg)
{
	char	*esc, *path;

	if ((esc = curl_easy_escape(docker_sync_handle(d), arg, 0)) == NULL)
		fatalx("curl_easy_escape failed");
	path = xasprintf(fmt, esc);
	curl_free(esc);
	return path;
}

int
docker_list_running(struct docker *d, char ***ids)
{
	struct body	 b;
	char		 err[256];
	long		 status;
	int		 n = -1;

	*ids = NULL;
	if ((status = docker_get(d, "/containers/json", &b)) == -1)
		goto out;
	if (status != 200) {
		docker_http_error("list containers", status, &b);
		goto out;
	}
	if ((n = docker_parse_list(b.sb.buf, b.sb.len, ids, err,
	    sizeof(err))) == -1)
		log_warnx("list containers: %s", err);
out:
	strbuf_release(&b.sb);
	return n;
}

int
docker_inspect(struct docker *d, const char *id, struct container **out)
{
	struct body	 b;
	char		 err[256], *path = docker_path(d, "/containers/%s/json", id);
	long		 status;
	int		 rc = -1;

	*out = NULL;
	status = docker_get(d, path, &b);
	free(path);
	if (status == -1)
		goto out;
	if (status == 404) {
		rc = 1;
		goto out;
	}
	if (status != 200) {
		docker_http_error("inspect container", status, &b);
		goto out;
	}
	if ((*out = docker_parse_inspect(b.sb.buf, b.sb.len, err,
	    sizeof(err))) == NULL) {
		log_warnx("inspect container %.12s: %s", id, err);
		goto out;
	}
	rc = 0;
out:
	strbuf_release(&b.sb);
	return rc;
}

/*
 * Podman's libpod API (served with a version prefix) names the bridge.
 * Docker answers it with an error status: 2 then means "ask the
 * compatible API".  Else as docker_network_bridge.
 */
static int
docker_libpod_bridge(struct docker *d, const char *id, char *ifname,
    size_t len)
{
	struct body	 b;
	char		 err[256];
	char		*path = docker_path(d, "/v4.0.0/libpod/networks/%s/json", id);
	long		 status;
	int		 rc = 2;

	status = docker_get(d, path, &b);
	free(path);
	if (status == 200 && (rc = docker_parse_libpod_network(b.sb.buf,
	    b.sb.len, ifname, len, err, sizeof(err))) == -1)
		log_warnx("inspect podman network %.64s: %s", id, err);
	strbuf_release(&b.sb);
	return rc;
}

int
docker_network_bridge(struct docker *d, const char *id, char *ifname,
    size_t len)
{
	struct body	 b;
	char		 err[256], *path;
	long		 status;
	int		 rc = -1;

	if (len > 0)
		ifname[0] = '\0';
	if ((rc = docker_libpod_bridge(d, id, ifname, len)) != 2)
		return rc;
	rc = -1;
	path = docker_path(d, "/networks/%s", id);
	status = docker_get(d, path, &b);
	free(path);
	if (status == -1)
		goto out;
	if (status != 200) {
		docker_http_error("inspect network", status, &b);
		goto out;
	}
	if ((rc = docker_parse_network_bridge(b.sb.buf, b.sb.len, ifname, len,
	    err, sizeof(err))) == -1)
		log_warnx("inspect network %.12s: %s", id, err);
out:
	strbuf_release(&b.sb);
	return rc;
}

int
docker_list_bridges(struct docker *d, struct docker_bridge **out)
{
	struct body	 b;
	char		 err[256];
	long		 status;
	int		 n = -1;

	*out = NULL;
	status = docker_get(d, "/v4.0.0/libpod/networks/json", &b);
	if (status != 200) {	/* Docker: not Podman's API */
		strbuf_release(&b.sb);
		status = docker_get(d, "/networks", &b);
	}
	if (status == -1)
		goto out;
	if (status != 200) {
		docker_http_error("list networks", status, &b);
		goto out;
	}
	if ((n = docker_parse_bridges(b.sb.buf, b.sb.len, out, err,
	    sizeof(err))) == -1)
		log_warnx("list networks: %s", err);
out:
	strbuf_release(&b.sb);
	return n;
}

int
docker_info(struct docker *d, struct docker_info *info)
{
	struct body	 b;
	char		 err[256];
	long		 status;
	int		 rc = -1;

	memset(info, 0, sizeof(*info));
	if ((status = docker_get(d, "/info", &b)) == -1)
		goto out;
	if (status != 200) {
		docker_http_error("engine info", status, &b);
		goto out;
	}
	if ((rc = docker_parse_info(b.sb.buf, b.sb.len, info, err,
	    sizeof(err))) == -1)
		log_warnx("engine info: %s", err);
out:
	strbuf_release(&b.sb);
	return rc;
}

/* ---- the event stream ---- */

/*
 * libcurl's write callback: only keeps the bytes.  They are framed and
 * handed to the caller's cb after curl_multi_perform returns, so that cb
 * may use the synchronous calls.
 */
static size_t
events_write(char *p, size_t size, size_t n, void *arg)
{
	struct docker	*d = arg;
	size_t		 len = size * n;

	if (d->ev_status == 0)
		curl_easy_getinfo(d->ev, CURLINFO_RESPONSE_CODE, &d->ev_status);
	if (d->ev_status != 200) {
		if (d->ev_errbody.len < ERRBODY_MAX)
			strbuf_add(&d->ev_errbody, p,
			    len < ERRBODY_MAX - d->ev_errbody.len ? len :
			    ERRBODY_MAX - d->ev_errbody.len);
		return len;
	}
	strbuf_add(&d->ev_raw, p, len);
	return len;
}

static void
events_cb(const struct docker_event *ev, void *arg)
{
	struct docker	*d = arg;

	if (!d->stop_deferred && d->cb != NULL)
		d->cb(ev, d->arg);
}

/* Frames what came and calls cb for each event, outside libcurl. */
static void
events_deliver(struct docker *d)
{
	struct strbuf	raw;

	if (d->ev_raw.len == 0 || d->delivering)
		return;
	raw = d->ev_raw;
	strbuf_init(&d->ev_raw);
	d->delivering = 1;
	docker_stream_feed(&d->st, raw.buf, raw.len);
	d->delivering = 0;
	strbuf_release(&raw);
	if (d->stop_deferred) {
		d->stop_deferred = 0;
		docker_stream_release(&d->st);
	}
}

static void
events_close(struct docker *d)
{
	if (d->ev == NULL)
		return;
	curl_multi_remove_handle(d->multi, d->ev);
	curl_easy_cleanup(d->ev);
	d->ev = NULL;
}

static void
events_ended(struct docker *d, CURLcode rc)
{
	char	msg[256];

	if (rc != CURLE_OK)
		log_warnx("docker events from %s failed: %s", d->path,
		    d->ev_err[0] ? d->ev_err : curl_easy_strerror(rc));
	else if (d->ev_status != 200) {
		if (docker_parse_error(d->ev_errbody.buf, d->ev_errbody.len,
		    msg, sizeof(msg)) == -1)
			strlcpy_bh(msg, "no message", sizeof(msg));
		log_warnx("docker events from %s: http %ld: %s", d->path,
		    d->ev_status, msg);
	} else
		log_warnx("docker events from %s: stream closed by the engine",
		    d->path);
	events_close(d);
}

/* Lets libcurl move the stream on and notices its end. */
static void
events_service(struct docker *d)
{
	CURLMsg		*m;
	CURLMcode	 mc;
	int		 running, left;

	if ((mc = curl_multi_perform(d->multi, &running)) != CURLM_OK)
		log_warnx("docker events: curl_multi_perform: %s",
		    curl_multi_strerror(mc));
	if (d->ev != NULL && d->ev_status == 0)
		curl_easy_getinfo(d->ev, CURLINFO_RESPONSE_CODE, &d->ev_status);
	while ((m = curl_multi_info_read(d->multi, &left)) != NULL) {
		if (m->msg == CURLMSG_DONE && m->easy_handle == d->ev &&
		    d->ev != NULL)
			events_ended(d, m->data.result);
	}
}

static long
ms_since(const struct timespec *t0)
{
	struct timespec	now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t0->tv_sec) * 1000L +
	    (now.tv_nsec - t0->tv_nsec) / 1000000L;
}

/* Drives the stream until the engine's status line came. */
static int
events_wait_answer(struct docker *d)
{
	struct timespec	t0;
	long		left;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	events_service(d);
	while (d->ev != NULL && d->ev_status == 0) {
		if ((left = EVENTS_ANSWER_MS - ms_since(&t0)) <= 0) {
			log_warnx("docker events: no answer from %s in %d ms",
			    d->path, EVENTS_ANSWER_MS);
			return -1;
		}
		curl_multi_poll(d->multi, NULL, 0, (int)left, NULL);
		events_service(d);
	}
	if (d->ev == NULL)
		return -1;	/* events_ended said why */
	if (d->ev_status != 200) {
		log_warnx("docker events from %s: http %ld", d->path,
		    d->ev_status);
		return -1;
	}
	return 0;
}

int
docker_events_start(struct docker *d,
    void (*cb)(const struct docker_event *, void *), void *arg)
{
	char	*filters, *url;

	if (d->delivering) {
		log_warnx("docker events: cannot restart from an event callback");
		return -1;
	}
	docker_events_stop(d);
	if (d->multi == NULL && (d->multi = curl_multi_init()) == NULL)
		fatalx("curl_multi_init failed");
	if ((d->ev = curl_easy_init()) == NULL)
		fatalx("curl_easy_init failed");
	if ((filters = curl_easy_escape(d->ev, EVENTS_FILTER, 0)) == NULL)
		fatalx("curl_easy_escape failed");
	url = xasprintf("http://localhost/events?filters=%s", filters);
	curl_free(filters);
	curl_easy_setopt(d->ev, CURLOPT_URL, url);
	free(url);
	curl_easy_setopt(d->ev, CURLOPT_UNIX_SOCKET_PATH, d->path);
	curl_easy_setopt(d->ev, CURLOPT_WRITEFUNCTION, events_write);
	curl_easy_setopt(d->ev, CURLOPT_WRITEDATA, d);
	curl_easy_setopt(d->ev, CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS);
	curl_easy_setopt(d->ev, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(d->ev, CURLOPT_ERRORBUFFER, d->ev_err);
	d->ev_err[0] = '\0';
	d->ev_status = 0;
	d->cb = cb;
	d->arg = arg;
	docker_stream_init(&d->st, events_cb, d);
	if (curl_multi_add_handle(d->multi, d->ev) != CURLM_OK) {
		log_warnx("docker events: cannot add transfer");
		curl_easy_cleanup(d->ev);
		d->ev = NULL;
		return -1;
	}
	if (events_wait_answer(d) == -1) {
		docker_events_stop(d);
		return -1;
	}
	log_debug("following docker events on %s", d->path);
	return 0;
}

int
docker_events_alive(const struct docker *d)
{
	return d->ev != NULL;
}

void
docker_events_stop(struct docker *d)
{
	events_close(d);
	strbuf_clear(&d->ev_raw);
	strbuf_clear(&d->ev_errbody);
	if (d->delivering)
		d->stop_deferred = 1;	/* events_deliver releases it */
	else
		docker_stream_release(&d->st);
}

/* ---- the daemon's poll ---- */

static short
waitfd_events(short ev)
{
	short	w = 0;

	if (ev & POLLIN)
		w |= CURL_WAIT_POLLIN;
	if (ev & POLLPRI)
		w |= CURL_WAIT_POLLPRI;
	if (ev & POLLOUT)
		w |= CURL_WAIT_POLLOUT;
	return w;
}

static short
pollfd_events(short w)
{
	short	ev = 0;

	if (w & CURL_WAIT_POLLIN)
		ev |= POLLIN;
	if (w & CURL_WAIT_POLLPRI)
		ev |= POLLPRI;
	if (w & CURL_WAIT_POLLOUT)
		ev |= POLLOUT;
	return ev;
}

static int
count_revents(const struct pollfd *fds, unsigned int nfds)
{
	unsigned int	i;
	int		n = 0;

	for (i = 0; i < nfds; i++)
		n += fds[i].revents != 0;
	return n;
}

int
docker_wait(struct docker *d, struct pollfd *fds, unsigned int nfds,
    int timeout_ms)
{
	CURLMcode	mc;
	unsigned int	i;

	/* Events framed but not yet delivered: deliver, then do not block. */
	if (d->ev_raw.len > 0) {
		events_deliver(d);
		timeout_ms = 0;
	}
	if (d->ev == NULL)
		return poll(fds, nfds, timeout_ms);
	if (nfds > d->nwfds) {
		d->wfds = xreallocarray(d->wfds, nfds, sizeof(*d->wfds));
		d->nwfds = nfds;
	}
	for (i = 0; i < nfds; i++) {
		d->wfds[i].fd = fds[i].fd;
		d->wfds[i].events = waitfd_events(fds[i].events);
		d->wfds[i].revents = 0;
	}
	if ((mc = curl_multi_poll(d->multi, d->wfds, nfds,
	    timeout_ms < 0 ? INT_MAX : timeout_ms, NULL)) != CURLM_OK) {
		log_warnx("docker events: curl_multi_poll: %s",
		    curl_multi_strerror(mc));
		return -1;
	}
	/*
	 * libcurl reports only IN, PRI and OUT; a zero-timeout poll adds
	 * HUP, ERR and NVAL, which would otherwise make the caller spin.
	 */
	if (nfds > 0 && poll(fds, nfds, 0) == -1) {
		for (i = 0; i < nfds; i++)
			fds[i].revents = 0;
	}
	for (i = 0; i < nfds; i++)
		fds[i].revents |= pollfd_events(d->wfds[i].revents) &
		    fds[i].events;
	events_service(d);
	events_deliver(d);
	return count_revents(fds, nfds);
}
