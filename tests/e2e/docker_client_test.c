/*
 * docker_client_test.c: the Docker client against the real engine (root,
 * dockerd running, image bulkhead-test present).  Starts a labelled
 * container and checks the listing, the inspect document, the default
 * bridge's name, and that /events delivers its start and die through
 * docker_wait, also while the event callback itself inspects; caller fds
 * are polled with and without a stream.  Prints PASS/FAIL lines and exits
 * non-zero on any failure.  Removes what it created.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "docker.h"
#include "inventory.h"
#include "log.h"
#include "util.h"

static int	failures;
static char	name[64];

static void
check(int ok, const char *what, const char *detail)
{
	printf("%s: %s%s%s\n", ok ? "PASS" : "FAIL", what,
	    detail && detail[0] ? ": " : "", detail ? detail : "");
	fflush(stdout);
	if (!ok)
		failures++;
}

struct seen {
	struct docker	*d;
	char		 id[65];
	int		 start, die, connect;
	int		 inspected;	/* inspect from inside the callback */
	unsigned long	 total;
};

static void
on_event(const struct docker_event *ev, void *arg)
{
	struct seen		*s = arg;
	struct container	*c = NULL;

	if (s == NULL)
		return;
	s->total++;
	if (s->id[0] == '\0' || strcmp(ev->container_id, s->id) != 0)
		return;
	if (ev->kind == DOCKER_EV_START && strcmp(ev->action, "start") == 0) {
		s->start++;
		/* What the controller does: inspect from the callback. */
		if (docker_inspect(s->d, ev->container_id, &c) == 0 &&
		    strcmp(c->id, s->id) == 0)
			s->inspected++;
		container_free(c);
	}
	if (ev->kind == DOCKER_EV_STOP && strcmp(ev->action, "die") == 0)
		s->die++;
	if (ev->kind == DOCKER_EV_NET_CONNECT)
		s->connect++;
}

static long
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* docker_wait until *flag is set or ms pass. */
static int
wait_for(struct docker *d, const int *flag, long ms)
{
	long	end = now_ms() + ms;

	while (!*flag && now_ms() < end)
		if (docker_wait(d, NULL, 0, 200) == -1)
			return -1;
	return *flag ? 0 : -1;
}

static void
test_socket_choice(void)
{
	struct docker	*d;

	setenv("DOCKER_HOST", "unix:///run/some.sock", 1);
	d = docker_new(NULL);
	check(d && strcmp(docker_socket_path(d), "/run/some.sock") == 0,
	    "DOCKER_HOST unix:// is honoured", d ? docker_socket_path(d) : "");
	docker_free(d);
	setenv("DOCKER_HOST", "tcp://127.0.0.1:2375", 1);
	d = docker_new(NULL);
	check(d == NULL, "DOCKER_HOST tcp:// is refused", "");
	docker_free(d);
	unsetenv("DOCKER_HOST");
	d = docker_new(NULL);
	check(d && strcmp(docker_socket_path(d), "/var/run/docker.sock") == 0,
	    "default socket", "");
	docker_free(d);
}

static void
test_no_engine(void)
{
	struct docker	*d = docker_new("/nonexistent/docker.sock");
	char		**ids = NULL;
	int		 p[2];
	struct pollfd	 pfd;

	check(docker_list_running(d, &ids) == -1 && ids == NULL,
	    "listing without an engine fails", "");
	check(docker_events_start(d, on_event, NULL) == -1 &&
	    !docker_events_alive(d), "events without an engine fail", "");
	/* no stream: docker_wait is poll(2) */
	if (pipe(p) == -1)
		fatal("pipe");
	pfd.fd = p[0];
	pfd.events = POLLIN;
	pfd.revents = 0;
	check(docker_wait(d, &pfd, 1, 50) == 0 && pfd.revents == 0,
	    "docker_wait without stream times out", "");
	if (write(p[1], "x", 1) != 1)
		fatal("write");
	check(docker_wait(d, &pfd, 1, 1000) == 1 && (pfd.revents & POLLIN),
	    "docker_wait without stream sees a readable fd", "");
	close(p[0]);
	close(p[1]);
	docker_free(d);
}

/*
 * A fake engine that answers /events with one event and then closes: the
 * event is delivered and the stream's end noticed.
 */
static void
test_stream_end(void)
{
	static const char	 answer[] = "HTTP/1.1 200 OK\r\n"
	    "Content-Type: application/json\r\n\r\n"
	    "{\"Type\":\"container\",\"Action\":\"start\",\"Actor\":"
	    "{\"ID\":\"abcdef\"}}\n";
	struct sockaddr_un	 sun = { .sun_family = AF_UNIX };
	struct docker		*d;
	struct seen		 s;
	char			 buf[4096];
	int			 fd, cfd, status;
	long			 end;
	pid_t			 pid;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "/tmp/bhdock-fake-%ld.sock",
	    (long)getpid());
	unlink(sun.sun_path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1 ||
	    bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    listen(fd, 1) == -1)
		fatal("fake engine socket");
	if ((pid = fork()) == -1)
		fatal("fork");
	if (pid == 0) {
		if ((cfd = accept(fd, NULL, NULL)) == -1)
			_exit(1);
		if (read(cfd, buf, sizeof(buf)) <= 0)
			_exit(1);
		if (write(cfd, answer, sizeof(answer) - 1) < 0)
			_exit(1);
		usleep(200000);
		_exit(0);
	}
	close(fd);
	d = docker_new(sun.sun_path);
	memset(&s, 0, sizeof(s));
	strlcpy_bh(s.id, "abcdef", sizeof(s.id));
	s.d = d;
	check(docker_events_start(d, on_event, &s) == 0, "fake engine: stream "
	    "started", "");
	end = now_ms() + 5000;
	while (docker_events_alive(d) && now_ms() < end)
		docker_wait(d, NULL, 0, 500);
	check(s.start == 1, "fake engine: event delivered", "");
	check(!docker_events_alive(d), "fake engine: end of stream noticed", "");
	docker_events_stop(d);
	docker_free(d);
	waitpid(pid, &status, 0);
	unlink(sun.sun_path);
}

static void
test_container(struct docker *d, struct seen *s)
{
	struct container	*c = NULL;
	const struct endpoint	*ep = NULL;
	char			 cmd[256], **ids = NULL, br[IF_NAMESIZE], ip[64];
	const char		*app;
	int			 n, i, found = 0;
	size_t			 k;

	snprintf(cmd, sizeof(cmd), "docker run -d --name %s -l app=probe "
	    "-l bulkhead.test=e2e bulkhead-test sleep 60 >/dev/null", name);
	check(system(cmd) == 0, "docker run", name);

	check(docker_inspect(d, name, &c) == 0 && c != NULL, "inspect by name",
	    "");
	if (c == NULL)
		return;
	strlcpy_bh(s->id, c->id, sizeof(s->id));
	app = labelset_get(&c->labels, "app");
	check(app && strcmp(app, "probe") == 0, "inspect labels", app);
	check(c->running && c->pid > 0, "inspect state", "");
	check(strcmp(c->name, name) == 0, "inspect name", c->name);
	check(c->sandbox_key && strncmp(c->sandbox_key,
	    "/var/run/docker/netns/", 22) == 0, "inspect sandbox key",
	    c->sandbox_key);
	for (k = 0; k < c->neps; k++)
		if (strcmp(c->eps[k].network_name, "bridge") == 0)
			ep = &c->eps[k];
	check(ep != NULL, "endpoint on bridge", "");
	if (ep != NULL) {
		inet_ntop(AF_INET, &ep->ip4, ip, sizeof(ip));
		check(ep->has_ip4 && strncmp(ip, "172.", 4) == 0, "inspect IPv4",
		    ip);
		check(ep->has_mac && ep->mac[0] == 0x02, "inspect MAC", "");
		check(docker_network_bridge(d, ep->network_id, br,
		    sizeof(br)) == 0 && strcmp(br, "docker0") == 0,
		    "bridge network is docker0", br);
	}
	container_free(c);

	n = docker_list_running(d, &ids);
	for (i = 0; i < n; i++) {
		found += strcmp(ids[i], s->id) == 0;
		free(ids[i]);
	}
	free(ids);
	check(n > 0 && found == 1, "listing includes it", "");

	check(wait_for(d, &s->start, 10000) == 0, "start event", "");
	check(s->connect >= 1, "network connect event", "");
	check(s->inspected == 1, "inspect from the event callback", "");
	check(docker_events_alive(d), "stream alive", "");

	snprintf(cmd, sizeof(cmd), "docker stop -t 1 %s >/dev/null", name);
	check(system(cmd) == 0, "docker stop", "");
	check(wait_for(d, &s->die, 10000) == 0, "die event", "");
	check(docker_inspect(d, s->id, &c) == 0 && !c->running,
	    "inspect after stop: not running", "");
	container_free(c);
}

static void
test_wait_fds(struct docker *d)
{
	struct pollfd	pfd[2];
	int		p[2], rc;
	long		t0;

	if (pipe(p) == -1)
		fatal("pipe");
	pfd[0].fd = p[0];
	pfd[0].events = POLLIN;
	pfd[0].revents = 0;
	pfd[1].fd = -1;
	pfd[1].events = POLLIN;
	pfd[1].revents = 0;
	if (write(p[1], "x", 1) != 1)
		fatal("write");
	rc = docker_wait(d, pfd, 2, 5000);
	check(rc == 1 && (pfd[0].revents & POLLIN) && pfd[1].revents == 0,
	    "docker_wait with stream: readable fd reported", "");
	close(p[1]);
	t0 = now_ms();
	pfd[0].revents = 0;
	rc = docker_wait(d, pfd, 1, 5000);
	check(rc == 1 && (pfd[0].revents & (POLLIN | POLLHUP)) &&
	    now_ms() - t0 < 1000, "docker_wait with stream: hang-up reported",
	    "");
	close(p[0]);
}

int
main(void)
{
	struct docker		*d;
	struct container	*c = NULL;
	struct seen		 s;
	char			 cmd[256];

	log_init("docker_client_test", 1, 1);
	snprintf(name, sizeof(name), "bhdock-e2e-%ld", (long)getpid());
	test_socket_choice();
	test_no_engine();
	test_stream_end();

	if ((d = docker_new(NULL)) == NULL)
		fatalx("docker_new");
	memset(&s, 0, sizeof(s));
	s.d = d;
	check(docker_events_start(d, on_event, &s) == 0 &&
	    docker_events_alive(d), "events stream started", "");
	check(docker_inspect(d, "bhdock-no-such-container", &c) == 1 &&
	    c == NULL, "inspect of a missing container gives 1", "");
	test_container(d, &s);
	test_wait_fds(d);
	docker_events_stop(d);
	check(!docker_events_alive(d), "stream stopped", "");
	docker_free(d);

	snprintf(cmd, sizeof(cmd), "docker rm -f %s >/dev/null 2>&1", name);
	if (system(cmd) != 0)
		check(0, "docker rm", name);
	printf("%s: docker client, %d failure(s)\n", failures ? "FAIL" : "PASS",
	    failures);
	return failures ? 1 : 0;
}
