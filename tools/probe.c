/*
 * probe.c: probe packets from inside containers' network namespaces (see
 * probe.h).  The parent groups the probes by source namespace and forks
 * one child per group (at most PROBE_PARALLEL at a time); the child
 * enters the namespace, sends its probes at once, waits for answers until
 * one deadline and writes one fixed-size record per probe to a pipe.
 */
#include <sys/socket.h>
#include <sys/wait.h>

#include <netinet/icmp6.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "probe.h"
#include "util.h"

#define PROBE_BATCH	256	/* sockets open at once in a child */

/* Where a probe stopped. */
enum probe_stage {
	PS_ANSWER,		/* err: 0 connected, ECONNREFUSED, ETIMEDOUT, ... */
	PS_ECHO_REPLY,
	PS_NETNS,		/* the namespace could not be opened */
	PS_SETNS,
	PS_SOCKET,
	PS_CONNECT,		/* connect failed at once (routing) */
	PS_SEND,
};

/* What a child writes per probe: small, so a whole run fits a pipe. */
struct probe_rec {
	uint32_t	idx;
	int32_t		out;
	int32_t		stage;
	int32_t		err;
	int32_t		ms;
};

/* One child's share of the run. */
struct probe_job {
	size_t		*idx;		/* into the run's probes */
	size_t		 n;
	pid_t		 pid;
	int		 rfd;
};

const char *
probe_outcome_str(enum probe_outcome o)
{
	switch (o) {
	case PROBE_DELIVERED:	return "delivered";
	case PROBE_DROPPED:	return "dropped";
	default:		return "error";
	}
}

static int64_t
probe_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- in the child ---- */

static void
probe_rec_set(struct probe_rec *r, enum probe_outcome out,
    enum probe_stage stage, int err, int64_t start)
{
	r->out = out;
	r->stage = stage;
	r->err = err;
	r->ms = (int32_t)(probe_now_ms() - start);
}

/* Opens the source's namespace: its sandbox key, else its pid's. */
static int
probe_netns_open(const struct probe *p)
{
	char	path[64];
	int	fd = -1;

	if (p->netns && *p->netns)
		fd = open(p->netns, O_RDONLY | O_CLOEXEC);
	if (fd == -1 && p->pid > 0) {
		snprintf(path, sizeof(path), "/proc/%d/ns/net", p->pid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
	}
	return fd;
}

static uint16_t
probe_cksum(const void *data, size_t len)
{
	const uint8_t	*b = data;
	uint32_t	 sum = 0;
	size_t		 i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(b[i] << 8 | b[i + 1]);
	if (len & 1)
		sum += (uint32_t)(b[len - 1] << 8);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

/* p's destination (and port) as a socket address; returns its length. */
static socklen_t
probe_sockaddr(const struct probe *p, int port, struct sockaddr_storage *ss)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (p->family == AF_INET6) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = p->daddr.v6;
		sin6->sin6_port = htons((uint16_t)port);
		return sizeof(*sin6);
	}
	sin->sin_family = AF_INET;
	sin->sin_addr = p->daddr.v4;
	sin->sin_port = htons((uint16_t)port);
	return sizeof(*sin);
}

static int
probe_tcp_start(const struct probe *p, struct probe_rec *r, int64_t start)
{
	struct sockaddr_storage	ss;
	socklen_t		len = probe_sockaddr(p, p->port, &ss);
	int			fd;

	if ((fd = socket(p->family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1) {
		probe_rec_set(r, PROBE_ERROR, PS_SOCKET, errno, start);
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&ss, len) == 0)
		probe_rec_set(r, PROBE_DELIVERED, PS_ANSWER, 0, start);
	else if (errno == ECONNREFUSED)
		probe_rec_set(r, PROBE_DELIVERED, PS_ANSWER, errno, start);
	else if (errno != EINPROGRESS)
		probe_rec_set(r, PROBE_ERROR, PS_CONNECT, errno, start);
	else
		return fd;
	close(fd);
	return -1;
}

/*
 * An echo request with our identifier and seq, to p's address.  The
 * kernel computes the ICMPv6 checksum (it covers a pseudo-header).
 */
static void
probe_icmp_send(int fd, const struct probe *p, uint16_t seq,
    struct probe_rec *r, int64_t start)
{
	struct sockaddr_storage	ss;
	socklen_t		len = probe_sockaddr(p, 0, &ss);
	struct icmphdr		h;	/* type, code, sum, id, seq: both */

	memset(&h, 0, sizeof(h));
	h.type = p->family == AF_INET ? ICMP_ECHO : ICMP6_ECHO_REQUEST;
	h.un.echo.id = htons((uint16_t)getpid());
	h.un.echo.sequence = htons(seq);
	if (p->family == AF_INET)
		h.checksum = probe_cksum(&h, sizeof(h));
	if (sendto(fd, &h, sizeof(h), 0, (struct sockaddr *)&ss, len) == -1)
		probe_rec_set(r, PROBE_ERROR, PS_SEND, errno, start);
}

/* 1 when from is probe p's destination. */
static int
probe_from(const struct probe *p, const struct sockaddr_storage *from)
{
	if (p->family == AF_INET6)
		return from->ss_family == AF_INET6 && memcmp(&((const struct
		    sockaddr_in6 *)from)->sin6_addr, &p->daddr.v6, 16) == 0;
	return from->ss_family == AF_INET && ((const struct sockaddr_in *)
	    from)->sin_addr.s_addr == p->daddr.v4.s_addr;
}

/*
 * Reads the echo replies waiting on fd (family's raw ICMP socket: IPv4
 * ones come with their IP header, IPv6 ones without); marks the batch's
 * probes.
 */
static void
probe_icmp_read(int fd, int family, struct probe *const *bp,
    struct probe_rec *r, size_t n, int64_t start)
{
	struct sockaddr_storage	 from;
	socklen_t		 fl = sizeof(from);
	uint8_t			 buf[1500];
	const struct icmphdr	*h;
	ssize_t			 len;
	size_t			 hl, seq;

	while ((len = recvfrom(fd, buf, sizeof(buf), 0,
	    (struct sockaddr *)&from, &fl)) > 0) {
		fl = sizeof(from);
		hl = family == AF_INET ? (size_t)(buf[0] & 0x0f) * 4 : 0;
		if ((size_t)len < hl + sizeof(*h))
			continue;
		h = (const struct icmphdr *)(buf + hl);
		seq = ntohs(h->un.echo.sequence);
		if (h->type != (family == AF_INET ? ICMP_ECHOREPLY :
		    ICMP6_ECHO_REPLY) || ntohs(h->un.echo.id) !=
		    (uint16_t)getpid() || seq >= n || r[seq].out != -1 ||
		    bp[seq]->proto == IPPROTO_TCP ||
		    bp[seq]->family != family || !probe_from(bp[seq], &from))
			continue;
		probe_rec_set(&r[seq], PROBE_DELIVERED, PS_ECHO_REPLY, 0,
		    start);
	}
}

/* A pending TCP probe's answer, once its socket is writable or failed. */
static void
probe_tcp_done(int fd, struct probe_rec *r, int64_t start)
{
	socklen_t	len = sizeof(int);
	int		err = 0;

	getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
	if (err == 0 || err == ECONNREFUSED)
		probe_rec_set(r, PROBE_DELIVERED, PS_ANSWER, err, start);
	else
		probe_rec_set(r, PROBE_DROPPED, PS_ANSWER, err, start);
}

/* Waits for the batch's answers until the deadline. */
static void
probe_wait(struct pollfd *pf, struct probe *const *bp, struct probe_rec *r,
    size_t n, int64_t start, int timeout_ms)
{
	size_t	i, left;
	int	wait;

	for (;;) {
		for (i = left = 0; i < n; i++)
			if (r[i].out == -1)
				left++;
		wait = (int)(start + timeout_ms - probe_now_ms());
		if (left == 0 || wait <= 0 || poll(pf, n + 2, wait) == -1)
			break;
		for (i = 0; i < n; i++)
			if (pf[i].fd >= 0 && pf[i].revents) {
				probe_tcp_done(pf[i].fd, &r[i], start);
				close(pf[i].fd);
				pf[i].fd = -1;
			}
		if (pf[n].revents & POLLIN)
			probe_icmp_read(pf[n].fd, AF_INET, bp, r, n, start);
		if (pf[n + 1].revents & POLLIN)
			probe_icmp_read(pf[n + 1].fd, AF_INET6, bp, r, n,
			    start);
	}
	for (i = 0; i < n; i++)
		if (r[i].out == -1)
			probe_rec_set(&r[i], PROBE_DROPPED, PS_ANSWER,
			    ETIMEDOUT, start);
}

/* The batch's raw socket for p's family, opened on first use; -1: failed. */
static int
probe_icmp_fd(struct pollfd *pf, size_t n, const struct probe *p)
{
	struct pollfd	*x = &pf[n + (p->family == AF_INET6)];

	if (x->fd == -1)
		x->fd = socket(p->family, SOCK_RAW | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, p->proto);
	return x->fd;
}

/* Sends up to PROBE_BATCH probes at once and records what came back. */
static void
probe_batch(struct probe *const *bp, struct probe_rec *r, size_t n,
    int timeout_ms)
{
	struct pollfd	pf[PROBE_BATCH + 2];
	int64_t		start = probe_now_ms();
	int		fd;
	size_t		i;

	for (i = 0; i < n + 2; i++) {
		pf[i].fd = -1;
		pf[i].events = i < n ? POLLOUT : POLLIN;
	}
	for (i = 0; i < n; i++) {
		r[i].out = -1;
		if (bp[i]->proto == IPPROTO_TCP)
			pf[i].fd = probe_tcp_start(bp[i], &r[i], start);
		else if ((fd = probe_icmp_fd(pf, n, bp[i])) == -1)
			probe_rec_set(&r[i], PROBE_ERROR, PS_SOCKET, errno,
			    start);
		else
			probe_icmp_send(fd, bp[i], (uint16_t)i, &r[i], start);
	}
	probe_wait(pf, bp, r, n, start, timeout_ms);
	for (i = 0; i < n + 2; i++)
		if (pf[i].fd >= 0)
			close(pf[i].fd);
}

static void
probe_write(int fd, const void *buf, size_t len)
{
	const char	*p = buf;
	ssize_t		 w;

	while (len > 0) {
		if ((w = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			return;
		}
		p += w;
		len -= (size_t)w;
	}
}

/* The child: enter the namespace of the job's source, probe, report. */
static void __attribute__((noreturn))
probe_child(struct probe *v, const struct probe_job *job, int timeout_ms,
    int wfd)
{
	struct probe_rec	 r[PROBE_BATCH];
	struct probe		*bp[PROBE_BATCH];
	size_t			 i, off, n;
	int64_t			 start = probe_now_ms();
	int			 fd;
	enum probe_stage	 fail = PS_NETNS;

	memset(r, 0, sizeof(r));
	if ((fd = probe_netns_open(&v[job->idx[0]])) != -1 &&
	    (fail = PS_SETNS, setns(fd, CLONE_NEWNET)) == 0) {
		for (off = 0; off < job->n; off += n) {
			n = job->n - off < PROBE_BATCH ? job->n - off :
			    PROBE_BATCH;
			for (i = 0; i < n; i++)
				bp[i] = &v[job->idx[off + i]];
			probe_batch(bp, r, n, timeout_ms);
			for (i = 0; i < n; i++) {
				r[i].idx = (uint32_t)job->idx[off + i];
				probe_write(wfd, &r[i], sizeof(r[i]));
			}
		}
		_exit(0);
	}
	probe_rec_set(&r[0], PROBE_ERROR, fail, errno, start);
	for (i = 0; i < job->n; i++) {
		r[0].idx = (uint32_t)job->idx[i];
		probe_write(wfd, &r[0], sizeof(r[0]));
	}
	_exit(0);
}

/* ---- in the parent ---- */

static void
probe_detail(struct probe *p, const struct probe_rec *r, int timeout_ms)
{
	static const char	*what[] = {
		[PS_NETNS] = "cannot open the network namespace",
		[PS_SETNS] = "cannot enter the network namespace",
		[PS_SOCKET] = "socket",
		[PS_CONNECT] = "connect",
		[PS_SEND] = "send",
	};

	p->out = (enum probe_outcome)r->out;
	p->ms = r->ms;
	if (r->stage == PS_ECHO_REPLY)
		snprintf(p->detail, sizeof(p->detail), "echo reply");
	else if (r->stage != PS_ANSWER)
		snprintf(p->detail, sizeof(p->detail), "%s: %s",
		    what[r->stage], strerror(r->err));
	else if (r->err == 0)
		snprintf(p->detail, sizeof(p->detail), "connected");
	else if (r->err == ECONNREFUSED)
		snprintf(p->detail, sizeof(p->detail), "refused (RST)");
	else if (r->err == ETIMEDOUT)
		snprintf(p->detail, sizeof(p->detail), "no answer in %d ms",
		    timeout_ms);
	else if (r->err == EHOSTUNREACH)
		snprintf(p->detail, sizeof(p->detail), "host unreachable (no "
		    "neighbour answer, or an ICMP error)");
	else
		snprintf(p->detail, sizeof(p->detail), "%s", strerror(r->err));
}

/* Reads a finished child's records into v. */
static void
probe_collect(struct probe *v, size_t nv, const struct probe_job *job,
    int timeout_ms)
{
	struct probe_rec	r;
	ssize_t			n;

	while ((n = read(job->rfd, &r, sizeof(r))) == (ssize_t)sizeof(r))
		if (r.idx < nv && r.stage >= PS_ANSWER && r.stage <= PS_SEND)
			probe_detail(&v[r.idx], &r, timeout_ms);
	close(job->rfd);
}

static int
probe_fork(struct probe *v, struct probe_job *job, int timeout_ms)
{
	int	p[2];

	if (pipe2(p, O_CLOEXEC) == -1) {
		log_warn("probe: pipe");
		return -1;
	}
	fflush(NULL);
	if ((job->pid = fork()) == -1) {
		log_warn("probe: fork");
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (job->pid == 0) {
		close(p[0]);
		probe_child(v, job, timeout_ms, p[1]);
	}
	close(p[1]);
	job->rfd = p[0];
	return 0;
}

/* Waits for one child of jobs[0..n) to end; collects it.  -1: none left. */
static int
probe_reap(struct probe *v, size_t nv, struct probe_job *jobs, size_t n,
    int timeout_ms)
{
	pid_t	pid;
	size_t	i;

	while ((pid = waitpid(-1, NULL, 0)) == -1 && errno == EINTR)
		;
	if (pid == -1)
		return -1;
	for (i = 0; i < n; i++)
		if (jobs[i].pid == pid) {
			probe_collect(v, nv, &jobs[i], timeout_ms);
			jobs[i].pid = 0;
		}
	return 0;
}

/* Groups the probes by source namespace: one job per source. */
static size_t
probe_jobs(struct probe *v, size_t n, struct probe_job *jobs)
{
	size_t	i, j, nj = 0;

	for (i = 0; i < n; i++) {
		for (j = 0; j < nj; j++) {
			const struct probe *q = &v[jobs[j].idx[0]];

			if (q->pid == v[i].pid && strcmp(q->netns ? q->netns :
			    "", v[i].netns ? v[i].netns : "") == 0)
				break;
		}
		if (j == nj) {
			jobs[nj].idx = xcalloc(n, sizeof(size_t));
			jobs[nj].n = 0;
			jobs[nj].pid = 0;
			nj++;
		}
		jobs[j].idx[jobs[j].n++] = i;
	}
	return nj;
}

int
probe_run(struct probe *v, size_t n, int timeout_ms)
{
	struct probe_job	*jobs = xcalloc(n + 1, sizeof(*jobs));
	size_t			 i, nj, next = 0, running = 0;
	int			 rc = 0;

	if (n > PROBE_MAX)
		fatalx("probe_run: %zu probes, at most %d", n, PROBE_MAX);
	for (i = 0; i < n; i++) {
		v[i].out = PROBE_ERROR;
		snprintf(v[i].detail, sizeof(v[i].detail), "not probed");
	}
	nj = probe_jobs(v, n, jobs);
	while (next < nj || running > 0) {
		if (next < nj && running < PROBE_PARALLEL && rc == 0) {
			if (probe_fork(v, &jobs[next], timeout_ms) == -1)
				rc = -1;
			else
				running++;
			next++;
			continue;
		}
		if (running == 0 || probe_reap(v, n, jobs, nj, timeout_ms) == -1)
			break;
		running--;
	}
	for (i = 0; i < nj; i++)
		free(jobs[i].idx);
	free(jobs);
	return rc;
}
