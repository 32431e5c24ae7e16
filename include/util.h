/*
 * util.h: allocation wrappers (allocation failure in bulkhead is fatal,
 * as in OpenBSD daemons) and a growable string buffer.
 */
#ifndef BULKHEAD_UTIL_H
#define BULKHEAD_UTIL_H

#include <stddef.h>
#include <stdarg.h>

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xreallocarray(void *, size_t, size_t);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);
/* Returns a newly allocated string; the caller frees it. */
char	*xasprintf(const char *, ...) __attribute__((format(printf, 1, 2)));

/* Copies at most size-1 bytes and always terminates; returns strlen(src). */
size_t	 strlcpy_bh(char *dst, const char *src, size_t size);

/* *ts = now + ms on the monotonic clock (deadlines and retry times). */
struct timespec;
void	 deadline_set(struct timespec *ts, int ms);

/*
 * Replaces each byte of s that is not part of valid UTF-8 with '?', so
 * that a message built from untrusted text (a cut-off parser excerpt, a
 * file name) can go into a JSON string.
 */
void	 utf8_scrub(char *s);

/* A growable, always NUL-terminated buffer. */
struct strbuf {
	char	*buf;
	size_t	 len;
	size_t	 cap;
};

void	 strbuf_init(struct strbuf *);
void	 strbuf_release(struct strbuf *);
void	 strbuf_clear(struct strbuf *);
void	 strbuf_add(struct strbuf *, const void *, size_t);
void	 strbuf_addstr(struct strbuf *, const char *);
void	 strbuf_addf(struct strbuf *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
void	 strbuf_vaddf(struct strbuf *, const char *, va_list);
/* Hands the buffer to the caller, who frees it; sb is left empty. */
char	*strbuf_detach(struct strbuf *);

#endif
