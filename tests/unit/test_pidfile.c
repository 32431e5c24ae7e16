/*
 * test_pidfile.c: the daemon's pid file.  A second open of a locked file
 * is refused and names the holder's pid; a stale file (unlocked, from a
 * crashed instance) is taken over; the lock survives fork() (the daemon
 * locks before detaching); remove unlinks the file; a directory that
 * does not exist is created.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "pidfile.h"

static char	dir[64], path[128];

static int
setup(void **state)
{
	strcpy(dir, "/tmp/test_pidfile.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/run/bulkheadd.pid", dir);
	return 0;
}

static int
teardown(void **state)
{
	char	sub[100];

	unlink(path);
	snprintf(sub, sizeof(sub), "%s/run", dir);
	rmdir(sub);
	rmdir(dir);
	return 0;
}

static long
file_pid(void)
{
	FILE	*f = fopen(path, "r");
	long	 v = -1;

	if (f == NULL)
		return -1;
	if (fscanf(f, "%ld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

static void
test_second_refused(void **state)
{
	struct pidfile	*a, *b;
	pid_t		 holder = -1;
	char		 err[512];

	a = pidfile_open(path, &holder, err, sizeof(err));
	assert_non_null(a);	/* the missing directory was created */
	assert_int_equal(holder, 0);
	assert_int_equal(pidfile_write(a, 4242, err, sizeof(err)), 0);
	assert_int_equal(file_pid(), 4242);
	b = pidfile_open(path, &holder, err, sizeof(err));
	assert_null(b);
	assert_int_equal(holder, 4242);
	assert_non_null(strstr(err, "locked by a running bulkheadd (pid 4242)"));
	assert_non_null(strstr(err, path));
	pidfile_remove(a);
	assert_int_equal(access(path, F_OK), -1);
}

static void
test_stale_taken_over(void **state)
{
	struct pidfile	*a;
	pid_t		 holder = -1;
	char		 err[512];
	FILE		*f;

	a = pidfile_open(path, &holder, err, sizeof(err));
	assert_non_null(a);
	pidfile_free(a);	/* a crash: the file stays, the lock goes */
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("99999999\n", f);
	fclose(f);
	a = pidfile_open(path, &holder, err, sizeof(err));
	assert_non_null(a);
	assert_int_equal(pidfile_write(a, 7, err, sizeof(err)), 0);
	assert_int_equal(file_pid(), 7);	/* replaced, not appended */
	pidfile_remove(a);
}

static void
test_lock_survives_fork(void **state)
{
	struct pidfile	*a, *b;
	pid_t		 holder, child;
	int		 status, p[2];
	char		 err[512], c;

	a = pidfile_open(path, &holder, err, sizeof(err));
	assert_non_null(a);
	assert_int_equal(pipe(p), 0);
	if ((child = fork()) == 0) {
		/* The child keeps the lock once the parent lets go of it. */
		close(p[1]);
		if (read(p[0], &c, 1) != 1)
			_exit(2);
		b = pidfile_open(path, &holder, err, sizeof(err));
		_exit(b == NULL ? 0 : 1);
	}
	close(p[0]);
	pidfile_free(a);	/* the parent's descriptor closed */
	b = pidfile_open(path, &holder, err, sizeof(err));
	assert_null(b);		/* still held through the child's copy */
	assert_int_equal(write(p[1], "x", 1), 1);
	close(p[1]);
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	b = pidfile_open(path, &holder, err, sizeof(err));
	assert_non_null(b);	/* the child exited: free again */
	pidfile_remove(b);
}

static void
test_open_error(void **state)
{
	pid_t	holder = -1;
	char	err[512];

	assert_null(pidfile_open("/proc/nonexistent/dir/x.pid", &holder, err,
	    sizeof(err)));
	assert_int_equal(holder, 0);
	assert_non_null(strstr(err, "open failed"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_second_refused, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_stale_taken_over, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_lock_survives_fork, setup,
		    teardown),
		cmocka_unit_test(test_open_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
