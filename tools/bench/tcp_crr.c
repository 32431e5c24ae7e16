/*
 * tcp_crr.c: new TCP connections per second, for tools/bench/logging.sh
 * (allowed_cps_under_flood), which runs each half in a network namespace
 * of its own.  The server accepts and closes; the client connects and
 * closes with a reset (SO_LINGER 0: no TIME_WAIT, no port exhaustion) for
 * SECS seconds, one connection at a time, and prints "N conn in S s: R/s,
 * F failed".  No libraries.
 *   usage: tcp_crr server PORT
 *          tcp_crr client ADDR PORT SECS
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double
now_s(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
tcp_crr_server(int port)
{
	struct sockaddr_in	sin = { .sin_family = AF_INET };
	int			fd, c, one = 1;

	sin.sin_port = htons((uint16_t)port);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1 ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(fd, 4096) == -1) {
		perror("tcp_crr: server");
		return 1;
	}
	for (;;)
		if ((c = accept(fd, NULL, NULL)) >= 0)
			close(c);
}

static int
tcp_crr_client(const char *addr, int port, double secs)
{
	struct sockaddr_in	sin = { .sin_family = AF_INET };
	struct linger		lg = { 1, 0 };
	unsigned long		ok = 0, failed = 0;
	double			t0, t;
	int			fd;

	sin.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, addr, &sin.sin_addr) != 1) {
		fprintf(stderr, "tcp_crr: bad address %s\n", addr);
		return 2;
	}
	t0 = now_s();
	while ((t = now_s() - t0) < secs) {
		if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1) {
			perror("tcp_crr: socket");
			return 1;
		}
		if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0)
			ok++;
		else
			failed++;
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(fd);
	}
	printf("%lu conn in %.3f s: %.0f/s, %lu failed\n", ok, t, ok / t,
	    failed);
	return ok > 0 ? 0 : 1;
}

int
main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "server") == 0)
		return tcp_crr_server(atoi(argv[2]));
	if (argc == 5 && strcmp(argv[1], "client") == 0)
		return tcp_crr_client(argv[2], atoi(argv[3]), atof(argv[4]));
	fprintf(stderr, "usage: tcp_crr server PORT\n"
	    "       tcp_crr client ADDR PORT SECS\n");
	return 2;
}
