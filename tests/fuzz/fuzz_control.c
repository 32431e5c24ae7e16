/*
 * fuzz_control.c: libFuzzer target for the daemon's side of the control
 * socket: the framing of the byte stream a client sends (fed in chunks, as
 * reads return it) and the parsing of the request it frames.  Checks the
 * promises of control.h: a frame ends at the first newline and never
 * exceeds CONTROL_MAX_REQUEST; a parsed command is a plain name that
 * survives a round trip; a refusal carries a message the daemon can put
 * into its JSON answer.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "control.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What control_read_request does with the stream: chunked reads, framing. */
static long
frame(const uint8_t *data, size_t size, size_t chunk)
{
	struct strbuf	sb;
	size_t		off = 0;
	long		n;

	strbuf_init(&sb);
	while ((n = control_request_frame(sb.buf, sb.len)) == 0) {
		size_t	take = size - off < chunk ? size - off : chunk;

		if (take == 0) {
			n = sb.len ? (long)sb.len : -1;		/* EOF */
			break;
		}
		strbuf_add(&sb, data + off, take);
		off += take;
	}
	if (n > 0 && ((size_t)n > sb.len || n > CONTROL_MAX_REQUEST ||
	    (memchr(sb.buf, '\n', (size_t)n) != NULL &&
	    memchr(sb.buf, '\n', (size_t)n) != sb.buf + n - 1)))
		abort();	/* a frame ends at the first newline, within bounds */
	if (n > 0 && memcmp(sb.buf, data, (size_t)n) != 0)
		abort();
	strbuf_release(&sb);
	return n;
}

static void
check_parsed(const struct control_request *req)
{
	struct control_request	 again;
	char			 err[256];
	char			*text;
	size_t			 i, len = strlen(req->cmd);

	if (len == 0 || len >= CONTROL_MAX_CMD || !json_is_object(req->obj))
		abort();
	for (i = 0; i < len; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyz0123456789-", req->cmd[i]))
			abort();
	/* What the daemon parsed, written again, parses to the same command. */
	if ((text = json_dumps(req->obj, JSON_COMPACT)) == NULL)
		abort();
	if (control_request_parse(text, strlen(text), &again, err,
	    sizeof(err)) == -1 || strcmp(again.cmd, req->cmd) != 0)
		abort();
	control_request_release(&again);
	free(text);
}

/* A refusal goes back to the client as {"ok":false,"error":err}. */
static void
check_refused(const char *err)
{
	json_t	*s = json_string(err);

	if (err[0] == '\0' || s == NULL)
		abort();
	json_decref(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct control_request	 req;
	char			 err[256];
	char			*text;
	long			 n;
	size_t			 chunk;

	if (size < 1)
		return 0;
	chunk = data[0] % 16 + 1;	/* how the client's bytes trickle in */
	data++, size--;
	if ((n = frame(data, size, chunk)) <= 0)
		return 0;
	if (memchr(data, '\0', (size_t)n))
		return 0;		/* refused by control_read_request */
	text = xstrndup((const char *)data, (size_t)n);
	if (control_request_parse(text, strlen(text), &req, err,
	    sizeof(err)) == 0)
		check_parsed(&req);
	else
		check_refused(err);
	control_request_release(&req);
	free(text);
	return 0;
}
