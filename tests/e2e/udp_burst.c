/*
 * udp_burst.c: sends COUNT one-byte UDP datagrams to ADDR:PORT (batches of
 * sendmmsg), for capture_burst_test.sh, which runs it in a container's
 * network namespace, and for make bench (tools/bench/logging.sh,
 * latency.sh).  As fast as it can by default; with -r PPS paced at PPS
 * datagrams per second, unconnected, errors counted and not fatal (a
 * flood or a prober aimed at an address that may not answer yet).
 * Prints how many it sent and the rate; exits 1 when it could not send
 * them all (without -r).
 *   usage: udp_burst [-r PPS] ADDR PORT COUNT
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH	64

static volatile sig_atomic_t	stop;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static double
now_s(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Sleeps until t (CLOCK_MONOTONIC seconds); returns at once when past. */
static void
sleep_until(double t)
{
	struct timespec	ts;

	ts.tv_sec = (time_t)t;
	ts.tv_nsec = (long)((t - (double)ts.tv_sec) * 1e9);
	clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
}

/* As fast as possible, connected: the burst of capture_burst_test.sh. */
static unsigned long
burst(int fd, struct mmsghdr *msgs, unsigned long count)
{
	unsigned long	sent = 0;
	int		n, tries = 0;

	while (sent < count && !stop) {
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
	return sent;
}

/*
 * Paced: datagram k leaves at t0 + k / pps, in batches of about a
 * millisecond's worth; a failed send counts as sent (the rate offered is
 * what matters) and in *errs.
 */
static unsigned long
paced(int fd, struct mmsghdr *msgs, unsigned long count, double pps,
    double t0, unsigned long *errs)
{
	unsigned long	sent = 0, batch = (unsigned long)(pps / 1000);
	int		n;

	if (batch < 1)
		batch = 1;
	if (batch > BATCH)
		batch = BATCH;
	while (sent < count && !stop) {
		unsigned long	want = count - sent < batch ? count - sent : batch;

		sleep_until(t0 + (double)sent / pps);
		n = sendmmsg(fd, msgs, (unsigned)want, 0);
		if (n > 0) {
			sent += (unsigned long)n;
			continue;
		}
		(*errs)++;
		sent++;
	}
	return sent;
}

int
main(int argc, char **argv)
{
	struct sockaddr_in	 sin;
	struct mmsghdr		 msgs[BATCH];
	struct iovec		 iov = { .iov_base = "x", .iov_len = 1 };
	struct sigaction	 sa;
	unsigned long		 count, sent, errs = 0;
	double			 t0, t, pps = 0;
	int			 fd, i, ch;

	while ((ch = getopt(argc, argv, "r:")) != -1) {
		if (ch != 'r' || (pps = strtod(optarg, NULL)) <= 0)
			goto usage;
	}
	argc -= optind;
	argv += optind;
	if (argc != 3 || (count = strtoul(argv[2], NULL, 10)) == 0)
		goto usage;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)atoi(argv[1]));
	if (inet_pton(AF_INET, argv[0], &sin.sin_addr) != 1) {
		fprintf(stderr, "udp_burst: bad address %s\n", argv[0]);
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if ((fd = socket(AF_INET, SOCK_DGRAM, 0)) == -1 ||
	    (pps == 0 && connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1)) {
		perror("udp_burst: socket");
		return 1;
	}
	memset(msgs, 0, sizeof(msgs));
	for (i = 0; i < BATCH; i++) {
		msgs[i].msg_hdr.msg_iov = &iov;
		msgs[i].msg_hdr.msg_iovlen = 1;
		if (pps > 0) {
			msgs[i].msg_hdr.msg_name = &sin;
			msgs[i].msg_hdr.msg_namelen = sizeof(sin);
		}
	}
	t0 = now_s();
	sent = pps > 0 ? paced(fd, msgs, count, pps, t0, &errs) :
	    burst(fd, msgs, count);
	t = now_s() - t0;
	printf("sent %lu in %.3f s: %.0f/s", sent, t, t > 0 ? sent / t : 0);
	if (pps > 0)
		printf(", %lu send errors", errs);
	printf("\n");
	close(fd);
	return pps > 0 || sent == count ? 0 : 1;
usage:
	fprintf(stderr, "usage: udp_burst [-r PPS] ADDR PORT COUNT\n");
	return 2;
}
