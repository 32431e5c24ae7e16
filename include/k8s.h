/*
 * k8s.h: Kubernetes NetworkPolicy objects (apiVersion networking.k8s.io/v1)
 * in the rules directory, validated and translated into the policy model
 * of policy.h, so that one evaluator and one compiler serve both
 * languages.  Pure: jansson and libc.
 *
 * The translation, with Kubernetes' semantics:
 *  - A NetworkPolicy becomes a policy named "<namespace>/<name>" (names of
 *    bulkhead/v1 policies cannot hold '/', so the two never clash), order
 *    K8S_ORDER, enforce mode, every rule an allow.  It applies to the
 *    containers of its metadata.namespace (default "default"; a
 *    container's namespace as evaluate_namespace says) that podSelector
 *    matches; policyTypes gives its directions (default: ingress, plus
 *    egress when spec.egress has a rule).
 *  - Each ingress (egress) rule becomes one rule per (peer, port) pair of
 *    its from (to) and ports lists; an empty or missing list is one
 *    "anything" element.  A peer: podSelector alone means pods of the
 *    policy's namespace; namespaceSelector alone every pod of the
 *    namespaces it matches ({} all of them); both, pods matching both;
 *    ipBlock its cidr minus its excepts (any address, a container's too).
 *  - A port is protocol (TCP default, UDP, SCTP) with port, port..endPort,
 *    or a named port: the destination container's label
 *    bulkhead.port.<name> = "<number>/<protocol>" (see k8s_named_port).
 *  - Traffic to and from the node a pod runs on is always allowed: each
 *    direction of the policy ends with one more rule, an allow of entity
 *    host (the Docker host) on the remote side.
 */
#ifndef BULKHEAD_K8S_H
#define BULKHEAD_K8S_H

#include <jansson.h>

#define K8S_API		"networking.k8s.io/v1"
#define K8S_KIND	"NetworkPolicy"
#define K8S_ORDER	1000
/* Label prefix of named ports: bulkhead.port.http=8080/TCP. */
#define K8S_PORT_LABEL	"bulkhead.port."
/* "<namespace>/<name>" at most this long: compile.c's log prefixes
 * carry the policy name with %.100s, and a cut name would be ambiguous. */
#define K8S_MAXNAME	100

struct labelset;
struct loader;

/*
 * Validates the NetworkPolicy obj at the loader's current path, reporting
 * every problem as a located error, and adds its translation to ld->ps
 * when there was none.
 */
void	k8s_network_policy(struct loader *ld, json_t *obj);

/*
 * The port number the container with labels names name for protocol proto
 * (IPPROTO_TCP, ...): its label bulkhead.port.<name> is "<number>/<proto>"
 * (protocol TCP, UDP or SCTP in any case; "<number>" alone is TCP).
 * Returns -1 when labels is NULL, the label is missing or malformed, or
 * its protocol is another one.
 */
int	k8s_named_port(const struct labelset *labels, const char *name,
	    int proto);

#endif
