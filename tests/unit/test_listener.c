/*
 * test_listener.c: the daemon's control socket listener (control.c)
 * never blocks its caller.  A real socket in a temporary directory, real
 * clients, and a handler standing in for the controller: a request sent
 * one byte a round is answered when complete, and every round returns at
 * once; a silent client is dropped at its deadline; clients beyond the
 * limit are refused with a message; a large answer the client does not
 * read waits in the listener and arrives whole once read; oversized
 * requests and requests with a NUL byte are dropped unanswered.  No root.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "control.h"
#include "util.h"

#define BIG_ANSWER	(4u << 20)

struct fixture {
	char		 dir[64];
	char		 path[128];
	struct control	*c;
	int		 calls;		/* of the handler */
	char		 last[256];	/* its last request */
	size_t		 anslen;	/* of its answers; 0: small */
};

static char *
handler(const char *req, void *arg)
{
	struct fixture	*f = arg;
	char		*ans;

	f->calls++;
	strlcpy_bh(f->last, req, sizeof(f->last));
	if (f->anslen == 0)
		return xstrdup("{\"ok\":true}");
	ans = xmalloc(f->anslen + 1);
	memset(ans, 'x', f->anslen);
	ans[f->anslen] = '\0';
	return ans;
}

static long
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* One round of the main loop: poll for at most wait_ms, then serve. Returns its ms. */
static long
round_(struct fixture *f, int wait_ms)
{
	struct pollfd	*fds;
	size_t		 n = control_npollfds(f->c);
	long		 t0;

	fds = xreallocarray(NULL, n, sizeof(*fds));
	control_pollfds(f->c, fds);
	poll(fds, n, wait_ms);
	t0 = now_ms();
	control_serve(f->c, fds, handler, f);
	free(fds);
	return now_ms() - t0;
}

static int
client(struct fixture *f)
{
	struct sockaddr_un	sun;
	int			fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strlcpy_bh(sun.sun_path, f->path, sizeof(sun.sun_path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	return fd;
}

/* What the daemon sent fd so far, without waiting; -1 at EOF with nothing. */
static ssize_t
peek(int fd, char *buf, size_t len)
{
	ssize_t	n = recv(fd, buf, len - 1, MSG_DONTWAIT);

	if (n >= 0)
		buf[n] = '\0';
	else
		buf[0] = '\0';
	return n;
}

static int
setup(void **state)
{
	struct fixture	*f = xcalloc(1, sizeof(*f));

	strcpy(f->dir, "/tmp/bulkhead-listener.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/control.sock", f->dir);
	assert_non_null(f->c = control_new(f->path));
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;

	control_free(f->c);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void
test_dribble(void **state)
{
	struct fixture	*f = *state;
	const char	*req = "{\"cmd\":\"status\"}\n";
	char		 buf[256];
	long		 worst = 0, t;
	size_t		 i;
	int		 fd = client(f);

	for (i = 0; req[i]; i++) {
		assert_int_equal(write(fd, req + i, 1), 1);
		if ((t = round_(f, 50)) > worst)
			worst = t;
		if (req[i + 1])
			assert_int_equal(f->calls, 0);
	}
	round_(f, 50);
	assert_int_equal(f->calls, 1);
	assert_string_equal(f->last, "{\"cmd\":\"status\"}\n");
	assert_true(peek(fd, buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "{\"ok\":true}\n");
	/* Each round took no more than its own work, never a wait for the client. */
	assert_true(worst < 20);
	round_(f, 0);
	assert_int_equal(control_nconns(f->c), 0);
	close(fd);
}

static void
test_eof_ends_request(void **state)
{
	struct fixture	*f = *state;
	char		 buf[64];
	int		 fd = client(f);

	assert_int_equal(write(fd, "{\"cmd\":\"plan\"}", 14), 14);
	shutdown(fd, SHUT_WR);
	round_(f, 50);
	round_(f, 50);
	assert_int_equal(f->calls, 1);
	assert_string_equal(f->last, "{\"cmd\":\"plan\"}");
	assert_true(peek(fd, buf, sizeof(buf)) > 0);
	close(fd);
}

static void
test_silent_dropped(void **state)
{
	struct fixture	*f = *state;
	char		 buf[64];
	unsigned long	 refused, dropped;
	long		 t0 = now_ms();
	int		 fd = client(f), t;

	assert_int_equal(write(fd, "{", 1), 1);
	round_(f, 0);
	assert_int_equal(control_nconns(f->c), 1);
	t = control_timeout(f->c);
	assert_true(t > CONTROL_READ_MS - 200 && t <= CONTROL_READ_MS);
	while (control_nconns(f->c) > 0 && now_ms() - t0 < 5000)
		assert_true(round_(f, control_timeout(f->c)) < 20);
	assert_int_equal(control_nconns(f->c), 0);
	assert_true(now_ms() - t0 >= CONTROL_READ_MS - 10);
	assert_true(now_ms() - t0 < CONTROL_READ_MS + 500);
	assert_int_equal(peek(fd, buf, sizeof(buf)), 0);	/* EOF */
	assert_int_equal(f->calls, 0);
	assert_int_equal(control_timeout(f->c), -1);
	control_stats(f->c, &refused, &dropped);
	assert_int_equal(refused, 0);
	assert_int_equal(dropped, 1);
	close(fd);
}

static void
test_limit(void **state)
{
	struct fixture	*f = *state;
	unsigned long	 refused, dropped;
	int		 fds[CONTROL_MAX_CONNS + 2], i, extra;
	char		 buf[256];

	for (i = 0; i < CONTROL_MAX_CONNS + 2; i++) {
		fds[i] = client(f);
		round_(f, 0);
	}
	round_(f, 0);
	assert_int_equal(control_nconns(f->c), CONTROL_MAX_CONNS);
	control_stats(f->c, &refused, &dropped);
	assert_int_equal(refused, 2);
	assert_int_equal(dropped, 0);
	for (extra = CONTROL_MAX_CONNS; extra < CONTROL_MAX_CONNS + 2; extra++) {
		assert_true(peek(fds[extra], buf, sizeof(buf)) > 0);
		assert_non_null(strstr(buf, "too many control connections"));
	}
	/* The ones in: still served. */
	assert_int_equal(write(fds[0], "{\"cmd\":\"status\"}\n", 17), 17);
	round_(f, 50);
	assert_int_equal(f->calls, 1);
	assert_true(peek(fds[0], buf, sizeof(buf)) > 0);
	for (i = 0; i < CONTROL_MAX_CONNS + 2; i++)
		close(fds[i]);
	round_(f, 50);
	round_(f, 50);
	assert_int_equal(control_nconns(f->c), 0);
}

static void
test_big_answer_unread(void **state)
{
	struct fixture	*f = *state;
	char		*buf = xmalloc(BIG_ANSWER + 16);
	size_t		 got = 0;
	long		 t0;
	int		 fd = client(f), other;
	char		 small[64];

	f->anslen = BIG_ANSWER;
	assert_int_equal(write(fd, "{\"cmd\":\"plan\"}\n", 15), 15);
	round_(f, 0);	/* accepted */
	assert_true(round_(f, 50) < 200);
	assert_int_equal(f->calls, 1);
	assert_int_equal(control_nconns(f->c), 1);	/* the answer waits */
	/* Meanwhile another client is served. */
	f->anslen = 0;
	other = client(f);
	assert_int_equal(write(other, "{\"cmd\":\"status\"}\n", 17), 17);
	round_(f, 0);
	round_(f, 50);
	assert_int_equal(f->calls, 2);
	assert_true(peek(other, small, sizeof(small)) > 0);
	close(other);
	/* Now read it all, serving as the main loop would. */
	t0 = now_ms();
	while (now_ms() - t0 < 5000) {
		ssize_t	n = recv(fd, buf + got, BIG_ANSWER + 16 - got, MSG_DONTWAIT);

		if (n == 0)
			break;
		if (n > 0)
			got += (size_t)n;
		round_(f, 1);
	}
	assert_int_equal(got, BIG_ANSWER + 1);
	assert_int_equal(buf[BIG_ANSWER], '\n');
	assert_int_equal(control_nconns(f->c), 0);
	free(buf);
	close(fd);
}

static void
test_bad_requests_dropped(void **state)
{
	struct fixture	*f = *state;
	char		*big = xmalloc(CONTROL_MAX_REQUEST + 4096), buf[64];
	size_t		 off = 0;
	int		 fd = client(f), fd2;

	/* A NUL inside the request. */
	assert_int_equal(write(fd, "{\"cmd\"\0:1}\n", 11), 11);
	round_(f, 50);
	round_(f, 0);
	assert_int_equal(peek(fd, buf, sizeof(buf)), 0);
	close(fd);
	/* No newline within CONTROL_MAX_REQUEST bytes. */
	memset(big, ' ', CONTROL_MAX_REQUEST + 4096);
	fd2 = client(f);
	fcntl(fd2, F_SETFL, O_NONBLOCK);
	while (off < CONTROL_MAX_REQUEST + 4096) {
		ssize_t	n = send(fd2, big + off, CONTROL_MAX_REQUEST + 4096 - off,
		    MSG_NOSIGNAL);

		if (n > 0)
			off += (size_t)n;
		else if (n == -1 && errno != EAGAIN)
			break;
		round_(f, 1);
	}
	round_(f, 10);
	assert_int_equal(control_nconns(f->c), 0);
	assert_int_equal(f->calls, 0);
	free(big);
	close(fd2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_dribble, setup, teardown),
		cmocka_unit_test_setup_teardown(test_eof_ends_request, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_silent_dropped, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_big_answer_unread, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bad_requests_dropped,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
