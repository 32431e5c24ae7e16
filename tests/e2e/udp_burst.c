/*
 * udp_burst.c: sends COUNT one-byte UDP datagrams to ADDR:PORT as fast as
 * it can (batches of sendmmsg), for capture_burst_test.sh, which runs it
 * in a container's network namespace.  Prints how many it sent and the
 * rate; exits 1 when it could not send them all.
 *   usage: udp_burst ADDR PORT COUNT
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH	64

static double
now_s(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	struct sockaddr_in	 sin;
	struct mmsghdr		 msgs[BATCH];
	struct iovec		 iov = { .iov_base = "x", .iov_len = 1 };
	unsigned long		 count, sent = 0;
	double			 t0, t;
	int			 fd, i, n, tries = 0;

	if (argc != 4 || (count = strtoul(argv[3], NULL, 10)) == 0) {
		fprintf(stderr, "usage: udp_burst ADDR PORT COUNT\n");
		return 2;
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)atoi(argv[2]));
	if (inet_pton(AF_INET, argv[1], &sin.sin_addr) != 1) {
		fprintf(stderr, "udp_burst: bad address %s\n", argv[1]);
		return 2;
	}
	if ((fd = socket(AF_INET, SOCK_DGRAM, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		perror("udp_burst: socket");
		return 1;
	}
	memset(msgs, 0, sizeof(msgs));
	for (i = 0; i < BATCH; i++) {
		msgs[i].msg_hdr.msg_iov = &iov;
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	t0 = now_s();
	while (sent < count) {
		unsigned long	left = count - sent;

		n = sendmmsg(fd, msgs, left < BATCH ? (unsigned)left : BATCH, 0);
		if (n > 0) {
			sent += (unsigned long)n;
			continue;
		}
		/* A full queue or an ICMP error from an earlier datagram. */
		if (n == -1 && (errno == ENOBUFS || errno == EAGAIN ||
		    errno == ECONNREFUSED || errno == EINTR) && tries++ < 100000)
			continue;
		perror("udp_burst: sendmmsg");
		break;
	}
	t = now_s() - t0;
	printf("sent %lu in %.3f s: %.0f/s\n", sent, t, t > 0 ? sent / t : 0);
	close(fd);
	return sent == count ? 0 : 1;
}
