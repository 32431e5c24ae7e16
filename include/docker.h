/*
 * docker.h: the Docker Engine API client (docker.c, the only user of
 * libcurl) and the parsers of its JSON documents (docker_parse.c, pure and
 * fuzzed).  bulkheadd lists containers, inspects them, resolves a network's
 * bridge, and follows /events.
 */
#ifndef BULKHEAD_DOCKER_H
#define BULKHEAD_DOCKER_H

#include <net/if.h>
#include <poll.h>
#include <stddef.h>

struct container;
struct docker;

/* ---- docker_parse.c (pure) ---- */

enum docker_ev_kind {
	DOCKER_EV_OTHER = 0,
	DOCKER_EV_START,	/* container start/unpause/restart/rename */
	DOCKER_EV_STOP,		/* container die/stop/kill/destroy/pause */
	DOCKER_EV_NET_CONNECT,	/* network connect (container id in Actor.Attributes.container) */
	DOCKER_EV_NET_DISCONNECT,
};

struct docker_event {
	enum docker_ev_kind	kind;
	char			type[16];	/* "container", "network" */
	char			action[32];	/* raw Action, e.g. "start" */
	char			container_id[65];	/* "" if none */
	char			network_id[65];		/* for network events */
	long long		time_nano;
};

/*
 * Parses one /containers/{id}/json document into a new container (caller
 * frees with container_free).  Returns NULL and writes err on failure.
 */
struct container *docker_parse_inspect(const char *json, size_t len,
		    char *err, size_t errlen);
/*
 * Parses a /containers/json listing into a newly allocated array of
 * newly allocated ids (caller frees each and the array).  Returns the
 * count, or -1 with err written.
 */
int	docker_parse_list(const char *json, size_t len, char ***ids,
	    char *err, size_t errlen);
/* Parses one /events object.  Returns 0, or -1 with err written. */
int	docker_parse_event(const char *json, size_t len, struct docker_event *ev,
	    char *err, size_t errlen);
/*
 * Parses a /networks/{id} document: writes the Linux bridge name (option
 * com.docker.network.bridge.name, else "br-" + the first 12 chars of the
 * id; "docker0" for the default "bridge" network when the option is
 * absent) into ifname.  Returns 0, 1 when the driver is not "bridge", or -1
 * with err written.
 */
int	docker_parse_network_bridge(const char *json, size_t len, char *ifname,
	    size_t ifnamelen, char *err, size_t errlen);
/*
 * Parses Podman's /libpod/networks/{name}/json: its bridge is
 * "network_interface" (Podman's Docker-compatible document has no bridge
 * name, and its bridges are not named br-<id>).  Same returns.
 */
int	docker_parse_libpod_network(const char *json, size_t len, char *ifname,
	    size_t ifnamelen, char *err, size_t errlen);

/* A bridge network's Linux bridge, from the /networks listing. */
struct docker_bridge {
	char	name[IF_NAMESIZE];
};

/*
 * Parses a /networks listing, or Podman's /libpod/networks/json (entries
 * with a "network_interface"): the bridges of its bridge networks (the
 * others, and entries whose bridge cannot be named, are skipped) into a
 * newly allocated array (caller frees).  Returns the count, or -1 with
 * err written.
 */
int	docker_parse_bridges(const char *json, size_t len,
	    struct docker_bridge **out, char *err, size_t errlen);

/* What bulkhead audit asks of GET /info; "" when the engine did not say. */
struct docker_info {
	char	version[64];		/* ServerVersion */
	char	firewall_backend[64];	/* FirewallBackend.Driver (API 1.48+) */
};

/* Parses a GET /info document.  Returns 0, or -1 with err written. */
int	docker_parse_info(const char *json, size_t len,
	    struct docker_info *info, char *err, size_t errlen);

/*
 * Extracts the "message" of an engine error document ({"message": "..."})
 * into msg, control characters replaced by '?'.  Returns 0, or -1 when
 * the document holds no message.
 */
int	docker_parse_error(const char *json, size_t len, char *msg,
	    size_t msglen);

/*
 * A line framer for the streamed /events body: feed bytes as they come,
 * get one callback per complete JSON object (newline separated).  Lines
 * longer than DOCKER_STREAM_MAX are dropped with a warning.
 */
#define DOCKER_STREAM_MAX	(1 << 20)
struct docker_stream {
	char	*buf;
	size_t	 len;
	size_t	 cap;
	int	 overflow;
	void	(*cb)(const struct docker_event *, void *);
	void	*arg;
	unsigned long	nevents;
	unsigned long	nerrors;
};
void	docker_stream_init(struct docker_stream *,
	    void (*cb)(const struct docker_event *, void *), void *arg);
void	docker_stream_release(struct docker_stream *);
void	docker_stream_feed(struct docker_stream *, const char *data, size_t len);

/* ---- docker.c (libcurl) ---- */

/*
 * Creates a client for the unix socket at path (NULL: $DOCKER_HOST when it
 * is unix://..., else /var/run/docker.sock).  Caller frees with docker_free.
 * Nothing is connected yet.  Returns NULL (logged) when $DOCKER_HOST names
 * something other than a unix socket or the path does not fit sun_path.
 */
struct docker	*docker_new(const char *path);
void		 docker_free(struct docker *);
const char	*docker_socket_path(const struct docker *);

/* GET /containers/json: ids of running containers.  Same contract as docker_parse_list. */
int	docker_list_running(struct docker *, char ***ids);
/*
 * GET /containers/{id}/json.  Returns 0 with *out set (caller frees),
 * 1 when the container no longer exists, -1 on error.
 */
int	docker_inspect(struct docker *, const char *id, struct container **out);
/*
 * The Linux bridge of network id: Podman's own answer when the engine is
 * Podman (docker_parse_libpod_network), else GET /networks/{id} (see
 * docker_parse_network_bridge).
 */
int	docker_network_bridge(struct docker *, const char *id, char *ifname,
	    size_t len);

/*
 * Podman's libpod network listing, else GET /networks (Docker): see
 * docker_parse_bridges.  -1 on error (logged).
 */
int	docker_list_bridges(struct docker *, struct docker_bridge **out);
/* GET /info: see docker_parse_info.  -1 on error (logged). */
int	docker_info(struct docker *, struct docker_info *info);

/*
 * Starts following GET /events (filtered to container and network events)
 * in the background of docker_wait; each event goes to cb.  Returns 0 or -1.
 * Returns once the engine has answered 200 (so a listing made afterwards
 * misses nothing: later changes arrive as events), or -1 when it did not
 * within a few seconds.  cb is only ever called from docker_wait, outside
 * libcurl's callbacks, so it may call docker_inspect and the other
 * synchronous calls; events that arrive meanwhile wait in the socket.
 */
int	docker_events_start(struct docker *,
	    void (*cb)(const struct docker_event *, void *), void *arg);
/* 1 while the event stream is open, 0 after it ended or failed. */
int	docker_events_alive(const struct docker *);
void	docker_events_stop(struct docker *);

/*
 * The daemon's poll: waits up to timeout_ms for the event stream or any of
 * fds (revents filled in as poll(2) does), and delivers events that came.
 * Returns the number of fds with events, or -1 on error.  It may return 0
 * before timeout_ms when the stream needed service.  Without an event
 * stream it is poll(2).  When the stream ends or fails, the reason is
 * logged and docker_events_alive turns 0.
 */
int	docker_wait(struct docker *, struct pollfd *fds, unsigned int nfds,
	    int timeout_ms);

#endif
