/*
 * control.h: the control socket between bulkheadd and its clients (the
 * bulkhead CLI, bulkhead-capture).  One request per connection: the client
 * writes one JSON object and a newline, the daemon answers with one JSON
 * object and closes.  control_proto.c holds the framing both sides share
 * (no JSON library there); control.c is the daemon's listener.
 *
 * Requests: {"cmd":"status"}, {"cmd":"reload"}, {"cmd":"plan"},
 *           {"cmd":"containers"},
 *           {"cmd":"explain","src":S,"dst":D,"protocol":P,"port":N,...}
 *           (explain.h).
 * Answers:  {"ok":true, ...} or {"ok":false,"error":"..."}.
 */
#ifndef BULKHEAD_CONTROL_H
#define BULKHEAD_CONTROL_H

#include <stddef.h>

#define CONTROL_DEFAULT_PATH	"/run/bulkhead/control.sock"
#define CONTROL_MAX_REQUEST	(64 * 1024)
#define CONTROL_MAX_ANSWER	(64 * 1024 * 1024)

/* ---- control_proto.c ---- */

/*
 * Sends request to the daemon at path and returns its answer in *answer
 * (NUL-terminated, caller frees).  timeout_ms bounds each read and write.
 * Returns 0, or -1 with a message in err.
 */
int	control_call(const char *path, const char *request, char **answer,
	    int timeout_ms, char *err, size_t errlen);

/* ---- control.c (daemon side) ---- */

struct control;

/* Returns the request's answer, newly allocated (the listener frees it). */
typedef char *(*control_handler)(const char *request, void *arg);

/* Listens on path (mode 0600, parent directory created).  NULL on failure (logged). */
struct control	*control_new(const char *path);
void		 control_free(struct control *);
int		 control_fd(const struct control *);
/* Accepts one client, reads its request, answers with handler. */
void		 control_serve(struct control *, control_handler, void *arg);

#endif
