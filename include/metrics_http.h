/*
 * metrics_http.h: serves the metrics page over HTTP (GET /metrics) on
 * --metrics-listen ADDRESS:PORT.  metrics_http.c is the only user of
 * libmicrohttpd.
 */
#ifndef BULKHEAD_METRICS_HTTP_H
#define BULKHEAD_METRICS_HTTP_H

struct metrics_http;

/* Listens on "127.0.0.1:9661" or "[::1]:9661"; NULL on failure (logged). */
struct metrics_http	*metrics_http_new(const char *listen);
/* Replaces the page served; takes ownership of page. */
void			 metrics_http_set(struct metrics_http *, char *page);
void			 metrics_http_free(struct metrics_http *);

#endif
