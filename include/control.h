/*
 * control.h: the control socket between bulkheadd and its clients (the
 * bulkhead CLI, bulkhead-capture).  One request per connection: the client
 * writes one JSON object and a newline, the daemon answers with one JSON
 * object and closes.  control_proto.c holds what both sides share: the
 * client's call (plain socket I/O) and the daemon's framing and parsing of
 * a request (untrusted input: fuzzed by tests/fuzz/fuzz_control.c);
 * control.c is the daemon's listener.
 *
 * Requests: {"cmd":"status"}, {"cmd":"reload"}, {"cmd":"plan"},
 *           {"cmd":"containers"}, {"cmd":"audit"} (audit.h),
 *           {"cmd":"explain","src":S,"dst":D,"protocol":P,"port":N,...}
 *           (explain.h),
 *           {"cmd":"probe-plan","sample":N,"seed":S} (probeplan.h).
 * Answers:  {"ok":true, ...} or {"ok":false,"error":"..."}.
 */
#ifndef BULKHEAD_CONTROL_H
#define BULKHEAD_CONTROL_H

#include <stddef.h>

#define CONTROL_DEFAULT_PATH	"/run/bulkhead/control.sock"
#define CONTROL_MAX_REQUEST	(64 * 1024)
#define CONTROL_MAX_ANSWER	(64 * 1024 * 1024)
#define CONTROL_MAX_CMD		32	/* a command name, NUL included */

struct json_t;

/* ---- control_proto.c ---- */

/*
 * Sends request to the daemon at path and returns its answer in *answer
 * (NUL-terminated, caller frees).  timeout_ms bounds each read and write.
 * Returns 0, or -1 with a message in err.
 */
int	control_call(const char *path, const char *request, char **answer,
	    int timeout_ms, char *err, size_t errlen);

/*
 * The daemon's framing: how many bytes of buf (len bytes read so far) make
 * the request, newline included.  0: read more; -1: no newline within
 * CONTROL_MAX_REQUEST bytes.
 */
long	control_request_frame(const char *buf, size_t len);

/* A parsed request: its command, and the whole object for its arguments. */
struct control_request {
	char		 cmd[CONTROL_MAX_CMD];
	struct json_t	*obj;		/* owned; NULL when the parse failed */
};

/*
 * Parses one request of len bytes (at most one trailing newline, no NUL
 * needed): a JSON object whose "cmd" is a name of lower-case letters,
 * digits and '-'.  Returns 0, or -1 with a located message in err.
 * Release req either way.
 */
int	control_request_parse(const char *buf, size_t len,
	    struct control_request *req, char *err, size_t errlen);
void	control_request_release(struct control_request *);

/* ---- control.c (daemon side) ---- */

/*
 * The listener serves many clients at once without ever blocking the main
 * loop: each connection is non-blocking, its request is accumulated across
 * wakeups and its answer written as the client takes it.  A client has
 * CONTROL_READ_MS from connecting to send its request and CONTROL_WRITE_MS
 * to take its answer; past that it is dropped.  Beyond CONTROL_MAX_CONNS
 * open connections a new one is answered with an error and closed.
 */
#define CONTROL_MAX_CONNS	64
#define CONTROL_READ_MS		2000
#define CONTROL_WRITE_MS	10000

struct control;
struct pollfd;

/* Returns the request's answer, newly allocated (the listener frees it). */
typedef char *(*control_handler)(const char *request, void *arg);

/* Listens on path (mode 0600, parent directory created).  NULL on failure (logged). */
struct control	*control_new(const char *path);
void		 control_free(struct control *);
/* How many pollfds control_pollfds fills: the listener's, then each client's. */
size_t		 control_npollfds(const struct control *);
void		 control_pollfds(const struct control *, struct pollfd *fds);
/*
 * Accepts new clients, reads what arrived, answers complete requests with
 * handler, writes pending answers and drops clients past their deadline.
 * fds: as control_pollfds filled them, revents set by poll.
 */
void		 control_serve(struct control *, const struct pollfd *fds,
		    control_handler, void *arg);
/* Milliseconds until the earliest client deadline; -1 when none. */
int		 control_timeout(const struct control *);
/* Open client connections (for tests and metrics). */
size_t		 control_nconns(const struct control *);
/* Clients refused (over the limit) and dropped (past a deadline) so far. */
void		 control_stats(const struct control *, unsigned long *refused,
		    unsigned long *dropped);

#endif
