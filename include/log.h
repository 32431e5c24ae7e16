/*
 * log.h: OpenBSD-style logging shared by every program of bulkhead.
 * stderr in the foreground, syslog otherwise.  log_warn appends errno;
 * fatal/fatalx exit and are kept for startup and broken invariants.
 */
#ifndef BULKHEAD_LOG_H
#define BULKHEAD_LOG_H

#include <stdarg.h>

void	log_init(const char *progname, int foreground, int verbose);
void	log_setverbose(int verbose);
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	fatal(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
