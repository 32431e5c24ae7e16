/*
 * policy.h: the policy model (apiVersion bulkhead/v1, kind Policy) and its
 * loader.  policy.c turns JSON files of the rules directory into this model
 * with located errors; compile.c and the evaluator read it.  Pure: jansson
 * only, no kernel, no Docker.
 *
 * A policy applies to the containers its selector matches.  A container
 * selected by some policy for a direction is isolated in that direction:
 * only what a rule allows passes.  Rules are evaluated in order; the first
 * allow or deny ends evaluation; log records the match and goes on.
 */
#ifndef BULKHEAD_POLICY_H
#define BULKHEAD_POLICY_H

#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

#include "labels.h"

struct selector;
struct errlist;

enum pol_action {
	POL_ALLOW,
	POL_DENY,
	POL_LOG,
};

enum pol_dir {
	POL_INGRESS = 0,
	POL_EGRESS = 1,
};
#define POL_NDIRS	2

#define POL_TYPE_INGRESS	(1u << POL_INGRESS)
#define POL_TYPE_EGRESS		(1u << POL_EGRESS)

enum pol_mode {
	POL_ENFORCE,
	POL_AUDIT,
};

enum pol_entity {
	POL_ENTITY_NONE = 0,
	POL_ENTITY_HOST,	/* the Docker host itself */
	POL_ENTITY_WORLD,	/* anything not a container on this host */
	POL_ENTITY_ANY,
};

struct cidr {
	int		family;		/* AF_INET or AF_INET6 */
	union {
		struct in_addr	v4;
		struct in6_addr	v6;
	} addr;				/* host bits cleared */
	uint8_t		prefix;
};

struct port_range {
	uint16_t	lo;
	uint16_t	hi;		/* inclusive, lo <= hi */
};

/* Where an element came from, for messages: "rules/db.json:7:21". */
struct srcloc {
	const char	*file;		/* owned by the policy */
	int		 line;
	int		 column;
};

struct peer {
	struct selector		*selector;	/* NULL: no selector given */
	struct selector		*ns_selector;	/* NULL: no namespaceSelector */
	struct cidr		*nets;
	size_t			 nnets;
	struct cidr		*not_nets;
	size_t			 nnot_nets;
	struct port_range	*ports;
	size_t			 nports;
	struct port_range	*not_ports;
	size_t			 nnot_ports;
	/* hostPorts (destination peers only): the destination port the
	 * client used, before Docker's port publishing translated it
	 * (conntrack's original-direction destination port): the host port
	 * 8080 of -p 8080:80, the destination port itself for traffic not
	 * translated. */
	struct port_range	*host_ports;
	size_t			 nhost_ports;
	enum pol_entity		 entity;
	/* A named port (NetworkPolicy): the endpoint is a container whose
	 * label bulkhead.port.<name> is "<number>/<protocol>" with the
	 * rule's protocol, and the flow's port on this side is that number.
	 * NULL: none. */
	char			*port_name;
};

struct icmp_match {
	int	type;			/* -1: any */
	int	code;			/* -1: any */
};

struct rule {
	enum pol_action		 action;
	int			 protocol;	/* IPPROTO_*; 0: any */
	int			 ip_version;	/* 4, 6, or 0: both */
	struct icmp_match	 icmp;
	struct peer		 source;
	struct peer		 destination;
	int			 log;		/* also log when matched */
	struct srcloc		 loc;
};

struct policy {
	char		*name;
	char		*file;		/* path of the file it came from */
	struct srcloc	 loc;		/* where the object starts */
	struct srcloc	 name_loc;	/* where metadata.name's value is */
	char		*name_path;	/* "$[1].metadata.name", for messages */
	size_t		 seq;		/* load order: the second of two names */
	double		 order;		/* lower first; default 1000 */
	enum pol_mode	 mode;
	struct selector	*selector;
	/* NULL: containers of every namespace; else only those of this one
	 * (a NetworkPolicy's metadata.namespace). */
	char		*namespace;
	unsigned	 types;		/* POL_TYPE_* */
	struct rule	*rules[POL_NDIRS];
	size_t		 nrules[POL_NDIRS];
};

/*
 * A namespace ({"apiVersion":"v1","kind":"Namespace"} object): its labels
 * are what namespaceSelector matches.  The implicit label
 * kubernetes.io/metadata.name=<name> is not stored here; the evaluator
 * adds it (evaluate_ns_labels), also for namespaces never declared.
 */
struct pol_namespace {
	char		*name;
	struct labelset	 labels;
	char		*file;
	struct srcloc	 loc;		/* where metadata.name's value is */
	char		*name_path;
};

/* Policies sorted by (order, name), ready for evaluation. */
struct policy_set {
	struct policy	**v;
	size_t		  n;
	unsigned long	  generation;	/* set by the daemon on each good load */
	struct pol_namespace **namespaces;	/* in load order */
	size_t		  nnamespaces;
};

/* The namespace called name, or NULL when no object declares it. */
const struct pol_namespace *policy_set_namespace(const struct policy_set *,
			    const char *name);

struct policy_set	*policy_set_new(void);
void			 policy_set_free(struct policy_set *);

/*
 * Loads every *.json file of dir (sorted by name) into a new policy set
 * returned in *out (caller frees with policy_set_free).  Returns 0 on
 * success.  On any error returns -1, sets *out to NULL and appends every
 * error found, each located as FILE:LINE:COLUMN: $.path: message.
 * A directory without policies is valid and yields an empty set.
 */
int	policy_load_dir(const char *dir, struct policy_set **out,
	    struct errlist *errs);

/*
 * Reads and parses one file into ps as policy_load_buffer does, after
 * refusing it when it is not a regular file or when group or others may
 * write it (the rules are a security boundary).  Returns the number of errors
 * appended to errs.  Does not call policy_set_finish.
 */
int	policy_load_file(struct policy_set *ps, const char *path,
	    struct errlist *errs);

/*
 * Parses one JSON text (one object or an array of objects) named name into
 * ps (duplicates across calls are detected by policy_set_finish).
 * Policy and NetworkPolicy objects go to ps->v (k8s.c translates the
 * latter), Namespace objects to ps->namespaces; the items of a v1 List are
 * taken as if they were elements of an array.  An object with any error is not added.  Does not look at file
 * modes (policy_load_file and policy_load_dir do).  Returns the number of
 * errors appended to errs.
 */
int	policy_load_buffer(struct policy_set *ps, const char *name,
	    const char *text, size_t len, struct errlist *errs);

/*
 * Sorts by (order, name) and reports duplicate policy and namespace names,
 * located at the second one.  Returns #errors.
 */
int	policy_set_finish(struct policy_set *ps, struct errlist *errs);

const char	*pol_action_str(enum pol_action);
const char	*pol_dir_str(enum pol_dir);
/* "tcp", "udp", ... or the number as text in buf. */
const char	*pol_proto_str(int proto, char *buf, size_t len);

#endif
