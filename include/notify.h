/*
 * notify.h: tells a service manager (systemd's sd_notify protocol) when
 * bulkheadd is ready, reloading and stopping.  Without NOTIFY_SOCKET in
 * the environment every call does nothing.
 */
#ifndef BULKHEAD_NOTIFY_H
#define BULKHEAD_NOTIFY_H

void	notify_init(void);
void	notify_send(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
void	notify_release(void);

#endif
