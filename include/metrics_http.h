/*
 * metrics_http.h: serves the metrics page over HTTP (GET /metrics) on
 * --metrics-listen ADDRESS:PORT.  metrics_http.c is the only user of
 * libmicrohttpd.
 */
#ifndef BULKHEAD_METRICS_HTTP_H
#define BULKHEAD_METRICS_HTTP_H

struct metrics_http;

/*
 * Listens on "127.0.0.1:9661" or "[::1]:9661"; NULL on failure (logged).
 * Nothing is served until metrics_http_start starts the listener's
 * thread, which bulkheadd does once it has dropped its privileges (a
 * thread keeps the capabilities of its creator).
 */
struct metrics_http	*metrics_http_new(const char *listen);
/* 0, or -1 (logged). */
int			 metrics_http_start(struct metrics_http *);
/* Replaces the page served; takes ownership of page. */
void			 metrics_http_set(struct metrics_http *, char *page);
void			 metrics_http_free(struct metrics_http *);

#endif
