/*
 * privs.h: what bulkheadd keeps of root's powers once it has started.
 * privs.c is the only file that changes the process's privileges and the
 * only user of libseccomp.
 *
 * Start-up (sockets, listeners, daemon(3)) runs with whatever the caller
 * gave; then privs_drop leaves the process, still uid 0, with:
 *   - CAP_NET_ADMIN alone, effective and permitted (nftables, rtnetlink,
 *     netns ids), nothing inheritable or ambient, the bounding set emptied
 *     but for CAP_NET_ADMIN, so that nothing it runs regains the rest;
 *   - no_new_privs;
 *   - with seccomp, a filter allowing only the system calls of its main
 *     loop (privs.c lists them) and killing the process on any other.
 * Capabilities are per thread: drop before starting any thread.
 */
#ifndef BULKHEAD_PRIVS_H
#define BULKHEAD_PRIVS_H

/* Fatal on failure: a daemon that cannot drop its privileges does not run. */
void	privs_drop(int seccomp);

#endif
