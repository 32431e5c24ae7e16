/*
 * privs.c: bulkheadd gives up its privileges after start-up (privs.h).
 * Capabilities through prctl(2) and capset(2) directly; the system call
 * filter through libseccomp.
 *
 * The allowed calls are those the main loop makes: memory, files (rules,
 * quarantine state, netns files, /etc/localtime), sockets it already has
 * or reopens (the Docker engine's unix socket, syslog's; netlink), poll,
 * time, signals, threads (the metrics listener's; clone only with
 * CLONE_THREAD: no fork, and no execve at all).  New sockets may only be
 * AF_UNIX or AF_NETLINK.  They were found by running the end-to-end tests
 * with a filter whose default action was SCMP_ACT_LOG (build with
 * -DPRIVS_SECCOMP_LOG, then read the kernel's log for type=1326 records).
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include <errno.h>
#include <sched.h>
#include <seccomp.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <linux/capability.h>

#include "log.h"
#include "privs.h"
#include "util.h"

#define PRIVS_KEEP	CAP_NET_ADMIN

#ifdef PRIVS_SECCOMP_LOG
#define PRIVS_DEFAULT_ACTION	SCMP_ACT_LOG
#else
#define PRIVS_DEFAULT_ACTION	SCMP_ACT_KILL_PROCESS
#endif

/* Allowed whatever their arguments.  Names unknown to an architecture are skipped. */
static const char *const privs_syscalls[] = {
	/* memory */
	"brk", "mmap", "munmap", "mremap", "madvise", "mprotect",
	/* files and descriptors */
	"read", "write", "readv", "writev", "pread64", "pwrite64", "close",
	"open", "openat", "fstat", "newfstatat", "stat", "lstat", "statx",
	"lseek", "fcntl", "ioctl", "getdents64", "readlink", "readlinkat",
	"access", "faccessat", "faccessat2", "unlink", "unlinkat", "rename",
	"renameat", "renameat2", "mkdir", "mkdirat", "fsync", "fdatasync",
	"ftruncate", "umask", "dup", "dup2", "dup3", "pipe2", "eventfd2", "flock",
	/* sockets */
	"connect", "accept", "accept4", "sendto", "recvfrom", "sendmsg",
	"recvmsg", "sendmmsg", "recvmmsg", "getsockopt", "setsockopt",
	"getsockname", "getpeername", "shutdown", "socketpair",
	/* waiting */
	"poll", "ppoll", "select", "pselect6", "epoll_create1", "epoll_ctl",
	"epoll_wait", "epoll_pwait",
	/* time */
	"clock_gettime", "clock_getres", "gettimeofday", "time", "nanosleep",
	"clock_nanosleep",
	/* signals */
	"rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sigaltstack",
	"signalfd4", "restart_syscall",
	/* threads and the process */
	"futex", "set_robust_list", "get_robust_list", "rseq",
	"set_tid_address", "sched_yield", "sched_getaffinity", "exit",
	"exit_group", "getpid", "gettid", "getppid", "tgkill", "getrandom",
	"uname", "getuid", "geteuid", "getgid", "getegid", "getresuid",
	"getresgid", "getrlimit", "prlimit64", "sysinfo",
};

/* Empties the bounding set but for PRIVS_KEEP; that needs CAP_SETPCAP. */
static void
privs_bounding(int setpcap)
{
	int	cap, in;

	for (cap = 0; (in = prctl(PR_CAPBSET_READ, cap, 0, 0, 0)) >= 0; cap++) {
		if (cap == PRIVS_KEEP || in == 0)
			continue;
		if (!setpcap) {
			/* no_new_privs still keeps execve from raising them. */
			log_warnx("capability bounding set left as given: no "
			    "CAP_SETPCAP to empty it");
			return;
		}
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == -1)
			fatal("drop capability %d from the bounding set", cap);
	}
}

static void
privs_caps(void)
{
	struct __user_cap_header_struct	hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct	cur[2], want[2];

	memset(cur, 0, sizeof(cur));
	if (syscall(SYS_capget, &hdr, cur) == -1)
		fatal("capget");
	privs_bounding((cur[0].effective >> CAP_SETPCAP) & 1);
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) == -1 &&
	    errno != EINVAL)
		fatal("clear ambient capabilities");
	memset(want, 0, sizeof(want));
	want[0].effective = want[0].permitted =
	    cur[0].permitted & (1u << PRIVS_KEEP);
	if (want[0].permitted == 0)
		log_warnx("CAP_NET_ADMIN not permitted: programming nftables "
		    "will fail");
	/* A supervisor may have left exactly that (and forbid capset). */
	if (memcmp(cur, want, sizeof(cur)) != 0 &&
	    syscall(SYS_capset, &hdr, want) == -1)
		fatal("capset");
}

static void
privs_allow(scmp_filter_ctx ctx, int nr, unsigned int nargs,
    const struct scmp_arg_cmp *args, const char *name)
{
	int	rc;

	if ((rc = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, nr, nargs,
	    args)) < 0)
		fatalx("seccomp: allow %s: %s", name, strerror(-rc));
}

/*
 * socket(2) for AF_UNIX and AF_NETLINK; clone(2) for threads only;
 * prctl(2) to name a thread (libmicrohttpd's).
 */
static void
privs_allow_args(scmp_filter_ctx ctx)
{
	struct scmp_arg_cmp	unix_ = { .arg = 0, .op = SCMP_CMP_EQ,
				    .datum_a = AF_UNIX };
	struct scmp_arg_cmp	nl = { .arg = 0, .op = SCMP_CMP_EQ,
				    .datum_a = AF_NETLINK };
	struct scmp_arg_cmp	thr = { .arg = 0, .op = SCMP_CMP_MASKED_EQ,
				    .datum_a = CLONE_THREAD, .datum_b = CLONE_THREAD };
	struct scmp_arg_cmp	name = { .arg = 0, .op = SCMP_CMP_EQ,
				    .datum_a = PR_SET_NAME };
	int			rc;

	privs_allow(ctx, SCMP_SYS(socket), 1, &unix_, "socket(AF_UNIX)");
	privs_allow(ctx, SCMP_SYS(socket), 1, &nl, "socket(AF_NETLINK)");
	privs_allow(ctx, SCMP_SYS(clone), 1, &thr, "clone(CLONE_THREAD)");
	privs_allow(ctx, SCMP_SYS(prctl), 1, &name, "prctl(PR_SET_NAME)");
	/* clone3's flags are out of the filter's reach: glibc falls back to clone. */
	if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS),
	    SCMP_SYS(clone3), 0)) < 0)
		fatalx("seccomp: clone3: %s", strerror(-rc));
}

static void
privs_seccomp(void)
{
	scmp_filter_ctx	ctx;
	size_t		i;
	int		nr, rc;

	if ((ctx = seccomp_init(PRIVS_DEFAULT_ACTION)) == NULL)
		fatalx("seccomp_init failed");
	for (i = 0; i < ARRAY_SIZE(privs_syscalls); i++) {
		nr = seccomp_syscall_resolve_name(privs_syscalls[i]);
		if (nr == __NR_SCMP_ERROR)
			continue;
		privs_allow(ctx, nr, 0, NULL, privs_syscalls[i]);
	}
	privs_allow_args(ctx);
	if ((rc = seccomp_load(ctx)) < 0)
		fatalx("seccomp: load filter: %s", strerror(-rc));
	seccomp_release(ctx);
}

void
privs_drop(int seccomp)
{
	privs_caps();
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		fatal("prctl(PR_SET_NO_NEW_PRIVS)");
	if (seccomp)
		privs_seccomp();
	log_info("privileges dropped: CAP_NET_ADMIN kept, no_new_privs%s",
	    seccomp ? ", seccomp filter" : "");
}
