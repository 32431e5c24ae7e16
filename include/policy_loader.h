/*
 * policy_loader.h: the state of one rules text being loaded and the
 * located-error helpers of policy.c, shared with the loaders of other
 * object kinds (k8s.c: Kubernetes NetworkPolicy).  Not for the evaluator
 * or the compiler: they read the model of policy.h only.  Pure: jansson.
 *
 * Every helper reports at the JSON path in ld->path (kept by push/pop) as
 * FILE:LINE:COLUMN: $.path: message, and counts the error in ld->nerr.
 */
#ifndef BULKHEAD_POLICY_LOADER_H
#define BULKHEAD_POLICY_LOADER_H

#include <stddef.h>

#include <jansson.h>

#include "jsonloc.h"
#include "policy.h"
#include "util.h"

struct errlist;

struct loader {
	struct policy_set	*ps;
	const char		*file;
	const char		*text;
	size_t			 len;
	struct errlist		*errs;
	int			 nerr;
	struct strbuf		 path;	/* JSON path of the value at hand */
	int			 proto_bad;	/* the rule's protocol was wrong:
						 * checks against it stay quiet */
	long			 elem;		/* top-level element cached, or -1 */
	struct jsonloc_pos	 elem_start;
	struct jsonloc_pos	 elem_end;
};

void	policy_err(struct loader *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* Appends .key (or ["key"]) / [i] to the path; returns the length to pop to. */
size_t	policy_push_key(struct loader *, const char *key);
size_t	policy_push_index(struct loader *, size_t i);
void	policy_pop(struct loader *, size_t old);
/* "an object", "a string", ... */
const char *policy_type_name(const json_t *);
/* 0 when v (at the current path) has type t, else reports and -1. */
int	policy_expect(struct loader *, const json_t *v, json_type t,
	    const char *what);
/* Reports every member of obj not in known (NULL-terminated). */
void	policy_check_fields(struct loader *, json_t *obj,
	    const char *const *known);
void	policy_missing(struct loader *, const char *key);
/* A string member: 1 and *out when present and a string, 0 when absent,
 * -1 (reported) when not a string. */
int	policy_get_string(struct loader *, json_t *obj, const char *key,
	    int required, const char **out);
/* Position of the value at the current path, with file as its file. */
void	policy_here(struct loader *, struct srcloc *loc, const char *file);
/* "10.0.0.0/8", "fd00::/8" or a bare address; -1 (reported) when bad. */
int	policy_parse_cidr(struct loader *, const char *s, struct cidr *c);
/* Adds a fully checked policy to ld->ps (which takes ownership). */
void	policy_set_add(struct policy_set *, struct policy *);
void	policy_free(struct policy *);
/* One object of a file at the current path, dispatched on its kind. */
void	policy_any_object(struct loader *, json_t *obj);

#endif
