/*
 * bulkheadd.c: the controller daemon.  Parses its arguments, sets up the
 * controller, and runs the main loop: Docker events, link notifications,
 * signals and control requests in, one nftables transaction out per round.
 *
 * SIGHUP reloads the rules; SIGTERM/SIGINT exit and leave the ruleset in
 * the kernel, so the host stays protected while the daemon is down;
 * --flush removes bulkhead's tables and exits.
 *
 * Without --foreground it detaches: the pid file is locked first (a
 * second instance refuses to start), everything that can fail at start-up
 * runs and logs to stderr, and only then does the parent exit, 0 once the
 * child reports ready, 1 when it died; the child logs to syslog.
 */
#include <sys/signalfd.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "compile.h"
#include "control.h"
#include "controller.h"
#include "docker.h"
#include "link.h"
#include "log.h"
#include "metrics_http.h"
#include "nft.h"
#include "notify.h"
#include "pidfile.h"
#include "privs.h"
#include "util.h"

#include <linux/netfilter.h>

#define DEFAULT_RULES	"/etc/bulkhead/rules"
#define DEFAULT_STATE_DIR "/var/lib/bulkhead"
#define DEFAULT_PIDFILE	"/run/bulkhead/bulkheadd.pid"

struct options {
	const char		*rules;
	const char		*control;
	const char		*docker;
	int			 foreground;
	int			 verbose;
	int			 flush;
	int			 seccomp;
	int			 unowned;	/* tables not owned: as before Linux 6.9 */
	const char		*state_dir;
	const char		*pidfile;	/* NULL: none (foreground) */
	const char		*metrics_listen;	/* NULL: no listener */
	struct compile_opts	 copts;
};

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: bulkheadd [options]\n"
	    "  -r, --rules DIR           policy directory (default %s)\n"
	    "  -s, --control-socket PATH control socket (default %s)\n"
	    "  -d, --docker-socket PATH  Docker engine socket (default $DOCKER_HOST\n"
	    "                            when unix://..., else /var/run/docker.sock)\n"
	    "  -f, --foreground          stay in the foreground, log to stderr\n"
	    "                            (else detach, log to syslog)\n"
	    "      --pidfile PATH        pid file, locked while running (default\n"
	    "                            %s when detached, none in\n"
	    "                            the foreground)\n"
	    "  -g, --nflog-group N       NFLOG group for denied packets (default %d)\n"
	    "      --log-rate N          denied packets logged per second and rule\n"
	    "                            (default %u; the rest are counted, not logged)\n"
	    "      --log-burst N         ... and in a burst above the rate (default %u)\n"
	    "  -m, --mark-bit HEX        our bit of the packet mark (default 0x%08x)\n"
	    "  -v, --verbose             debug logging\n"
	    "      --state-dir DIR       quarantine state (default %s)\n"
	    "      --metrics-listen ADDR:PORT\n"
	    "                            serve Prometheus metrics on /metrics\n"
	    "      --fail-mode closed|open\n"
	    "                            traffic of containers not classified yet:\n"
	    "                            dropped (closed, default) or logged and let\n"
	    "                            through (open: a new container is unprotected\n"
	    "                            until bulkheadd knows it)\n"
	    "      --no-seccomp          no system call filter after start-up\n"
	    "                            (capabilities are dropped regardless)\n"
	    "      --unowned-tables      do not ask for owned, persistent tables\n"
	    "                            (as on kernels before 6.9: another process\n"
	    "                            can change them; bulkheadd restores them as\n"
	    "                            soon as the kernel reports the change)\n"
	    "      --flush               remove bulkhead's nftables tables and exit\n"
	    "  -h, --help                this text\n"
	    "  -V, --version             print the version\n",
	    DEFAULT_RULES, CONTROL_DEFAULT_PATH, DEFAULT_PIDFILE,
	    COMPILE_NFLOG_GROUP, COMPILE_LOG_RATE, COMPILE_LOG_BURST,
	    COMPILE_MARK_BIT, DEFAULT_STATE_DIR);
}

static void
parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "rules", required_argument, NULL, 'r' },
		{ "control-socket", required_argument, NULL, 's' },
		{ "docker-socket", required_argument, NULL, 'd' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "nflog-group", required_argument, NULL, 'g' },
		{ "mark-bit", required_argument, NULL, 'm' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "flush", no_argument, NULL, 'F' },
		{ "state-dir", required_argument, NULL, 'S' },
		{ "metrics-listen", required_argument, NULL, 'M' },
		{ "fail-mode", required_argument, NULL, 'O' },
		{ "pidfile", required_argument, NULL, 'P' },
		{ "log-rate", required_argument, NULL, 'L' },
		{ "log-burst", required_argument, NULL, 'B' },
		{ "no-seccomp", no_argument, NULL, 'C' },
		{ "unowned-tables", no_argument, NULL, 'U' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long	v;
	char		*end;
	int		 ch;

	memset(o, 0, sizeof(*o));
	o->rules = DEFAULT_RULES;
	o->control = CONTROL_DEFAULT_PATH;
	o->state_dir = DEFAULT_STATE_DIR;
	o->seccomp = 1;
	compile_opts_default(&o->copts);
	while ((ch = getopt_long(argc, argv, "r:s:d:fg:m:vhV", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'r': o->rules = optarg; break;
		case 's': o->control = optarg; break;
		case 'd': o->docker = optarg; break;
		case 'f': o->foreground = 1; break;
		case 'v': o->verbose++; break;
		case 'F': o->flush = 1; break;
		case 'S': o->state_dir = optarg; break;
		case 'M': o->metrics_listen = optarg; break;
		case 'P': o->pidfile = optarg; break;
		case 'C': o->seccomp = 0; break;
		case 'U': o->unowned = 1; break;
		case 'O':
			if (strcmp(optarg, "open") && strcmp(optarg, "closed"))
				fatalx("invalid fail mode: %s (open or closed)",
				    optarg);
			o->copts.fail_open = strcmp(optarg, "open") == 0;
			break;
		case 'g':
			v = strtoul(optarg, &end, 10);
			if (*end || v > 65535)
				fatalx("invalid nflog group: %s", optarg);
			o->copts.nflog_group = (uint16_t)v;
			break;
		case 'L':
		case 'B':
			v = strtoul(optarg, &end, 10);
			if (*optarg < '0' || *optarg > '9' || *end ||
			    v == 0 || v > 100000000)
				fatalx("invalid --log-%s: %s (1-100000000)",
				    ch == 'L' ? "rate" : "burst", optarg);
			*(ch == 'L' ? &o->copts.log_rate : &o->copts.log_burst) =
			    (uint32_t)v;
			break;
		case 'm':
			v = strtoul(optarg, &end, 16);
			if (*end || v == 0 || (v & (v - 1)) || v > 0xffffffffUL)
				fatalx("invalid mark bit: %s (one bit, hex)",
				    optarg);
			o->copts.mark_bit = (uint32_t)v;
			break;
		case 'h': usage(stdout); exit(0);
		case 'V': printf("bulkheadd %s\n", BULKHEAD_VERSION); exit(0);
		default: usage(stderr); exit(2);
		}
	}
	if (optind != argc) {
		usage(stderr);
		exit(2);
	}
	if (o->pidfile == NULL && !o->foreground)
		o->pidfile = DEFAULT_PIDFILE;
}

static int
flush_tables(void)
{
	struct nft	*nft = nft_new();
	char		 err[512];
	int		 rc = 0;

	if (nft == NULL)
		return 1;
	if (nft_delete_table(nft, NFPROTO_INET, COMPILE_TABLE, err,
	    sizeof(err)) == -1 ||
	    nft_delete_table(nft, NFPROTO_BRIDGE, COMPILE_TABLE, err,
	    sizeof(err)) == -1) {
		log_warnx("flush: %s%s", err, strstr(err, strerror(EPERM)) ?
		    " (a running bulkheadd owns the tables: stop it first)" :
		    "");
		rc = 1;
	} else
		log_info("bulkhead tables removed");
	nft_free(nft);
	return rc;
}

static int
signals_setup(void)
{
	sigset_t	set;
	int		fd;

	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, NULL) == -1)
		fatal("sigprocmask");
	if ((fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) == -1)
		fatal("signalfd");
	signal(SIGPIPE, SIG_IGN);
	return fd;
}

/* Returns 1 when the daemon should exit. */
static int
signals_read(int fd, struct controller *ctl)
{
	struct signalfd_siginfo	si;
	char			*errs;

	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGHUP:
			log_info("SIGHUP: reloading %s", ctl->rules_dir);
			notify_send("RELOADING=1");
			if (controller_reload(ctl, &errs) == -1)
				free(errs);
			notify_send("READY=1\nSTATUS=rules generation %lu",
			    ctl->generation);
			break;
		default:
			log_info("exiting on signal %u; the ruleset stays in "
			    "the kernel", si.ssi_signo);
			return 1;
		}
	}
	return 0;
}

/*
 * Detaches from the terminal and the session.  The parent waits for the
 * child's word (daemon_ready) and exits 0, or 1 when the child died
 * first.  The child keeps stderr until then; returns the fd to tell on.
 */
static int
daemon_start(void)
{
	char	c;
	int	p[2];
	pid_t	pid;
	ssize_t	n;

	if (pipe2(p, O_CLOEXEC) == -1)
		fatal("pipe");
	if ((pid = fork()) == -1)
		fatal("fork");
	if (pid > 0) {
		close(p[1]);
		while ((n = read(p[0], &c, 1)) == -1 && errno == EINTR)
			;
		_exit(n == 1 ? 0 : 1);
	}
	close(p[0]);
	if (setsid() == -1)
		fatal("setsid");
	if (chdir("/") == -1)
		fatal("chdir /");
	return p[1];
}

/* Started: logs go to syslog from now on, the parent exits 0. */
static void
daemon_ready(int fd, int verbose)
{
	int	null;

	log_init("bulkheadd", 0, verbose);
	if ((null = open("/dev/null", O_RDWR)) == -1)
		fatal("open /dev/null");
	dup2(null, STDIN_FILENO);
	dup2(null, STDOUT_FILENO);
	dup2(null, STDERR_FILENO);
	if (null > STDERR_FILENO)
		close(null);
	if (write(fd, "r", 1) != 1)
		log_warn("telling the parent process we run");
	close(fd);
}

/* Locks the pid file before anything else: a second instance stops here. */
static struct pidfile *
pidfile_setup(const char *path)
{
	struct pidfile	*pf;
	pid_t		 holder;
	char		 err[512];

	if (path == NULL)
		return NULL;
	if ((pf = pidfile_open(path, &holder, err, sizeof(err))) == NULL)
		fatalx("%s%s", err, holder ? "; not starting a second one" :
		    "");
	return pf;
}

enum { FD_SIG, FD_LINK, FD_NFT, FD_CTL };	/* then one per control client */

/* The page the metrics listener serves, rendered at most every 2 s. */
static void
metrics_refresh(struct controller *ctl, struct metrics_http *mh)
{
	static struct timespec	next;
	struct timespec		now;

	if (mh == NULL)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (now.tv_sec < next.tv_sec)
		return;
	next.tv_sec = now.tv_sec + 2;
	metrics_http_set(mh, controller_metrics(ctl));
}

/*
 * READY=1 once, when the kernel first holds the whole desired ruleset:
 * what is ordered after bulkheadd starts on a segmented host.
 */
static void
notify_ready_once(const struct controller *ctl)
{
	static int	done;

	if (done || ctl->dirty)
		return;
	done = 1;
	notify_send("READY=1\nSTATUS=enforcing rules generation %lu",
	    ctl->generation);
}

/* The sooner of two timeouts in ms, -1 meaning none. */
static int
timeout_min(int a, int b)
{
	if (a < 0)
		return b;
	return b < 0 || a < b ? a : b;
}

static void
main_loop(struct controller *ctl, struct control *control, int sigfd,
    struct metrics_http *mh)
{
	struct pollfd	*fds = NULL;
	size_t		 nfds, cap = 0;

	for (;;) {
		controller_docker_tick(ctl);
		controller_check_drift(ctl);
		controller_apply(ctl);
		notify_ready_once(ctl);
		metrics_refresh(ctl, mh);
		nfds = FD_CTL + control_npollfds(control);
		if (nfds > cap) {
			fds = xreallocarray(fds, nfds, sizeof(*fds));
			cap = nfds;
		}
		fds[FD_SIG] = (struct pollfd){ .fd = sigfd, .events = POLLIN };
		fds[FD_LINK] = (struct pollfd){ .fd = link_monitor_fd(ctl->link),
		    .events = POLLIN };
		fds[FD_NFT] = (struct pollfd){ .fd = controller_nft_fd(ctl),
		    .events = POLLIN };
		control_pollfds(control, fds + FD_CTL);
		if (docker_wait(ctl->docker, fds, (unsigned int)nfds,
		    timeout_min(controller_timeout(ctl),
		    control_timeout(control))) == -1)
			log_warnx("wait for events failed");
		if ((fds[FD_SIG].revents & POLLIN) && signals_read(sigfd, ctl))
			break;
		if (fds[FD_LINK].revents & POLLIN)
			link_read_events(ctl->link);
		if (fds[FD_NFT].revents & POLLIN)
			controller_on_nft_events(ctl);
		/* A veth that was not there may be now: retry those. */
		controller_on_links(ctl);
		/* Absorb every event first: one transaction per round. */
		controller_apply(ctl);
		control_serve(control, fds + FD_CTL, controller_handle, ctl);
		control_stats(control, &ctl->control_refused,
		    &ctl->control_dropped);
	}
	free(fds);
}

int
main(int argc, char **argv)
{
	struct options		 o;
	struct controller	 ctl;
	struct control		*control;
	struct metrics_http	*mh = NULL;
	struct pidfile		*pf;
	int			 sigfd, ready = -1;
	char			 err[512];

	parse_args(argc, argv, &o);
	/* stderr until started, so that start-up errors reach the terminal. */
	log_init("bulkheadd", 1, o.verbose);
	if (o.flush)
		return flush_tables();
	notify_init();
	if (geteuid() != 0)
		log_warnx("not running as root: programming nftables will fail");
	/* Before the control socket: it would take over a running one's. */
	pf = pidfile_setup(o.pidfile);
	sigfd = signals_setup();
	controller_init(&ctl, o.rules, o.docker, o.state_dir, &o.copts);
	if (o.unowned)
		nft_disown(ctl.nft);
	if ((control = control_new(o.control)) == NULL)
		fatalx("cannot listen on %s", o.control);
	if (o.metrics_listen && (mh = metrics_http_new(o.metrics_listen)) == NULL)
		fatalx("cannot serve metrics on %s", o.metrics_listen);
	if (!o.foreground)
		ready = daemon_start();
	if (pf && pidfile_write(pf, getpid(), err, sizeof(err)) == -1)
		fatalx("%s", err);
	/* Every socket is open: keep CAP_NET_ADMIN alone (privs.h). */
	privs_drop(o.seccomp);
	/* After the fork and the drop: the thread lives in our process, unprivileged. */
	if (mh && metrics_http_start(mh) == -1)
		fatalx("cannot serve metrics on %s", o.metrics_listen);
	if (ready != -1)
		daemon_ready(ready, o.verbose);
	log_info("bulkheadd %s started: rules %s, control %s, nflog group %u%s",
	    BULKHEAD_VERSION, o.rules, o.control, o.copts.nflog_group,
	    o.copts.fail_open ? ", fail mode OPEN (unclassified containers "
	    "pass)" : "");
	main_loop(&ctl, control, sigfd, mh);
	notify_send("STOPPING=1");
	notify_release();
	metrics_http_free(mh);
	control_free(control);
	controller_release(&ctl);
	close(sigfd);
	pidfile_remove(pf);
	return 0;
}
