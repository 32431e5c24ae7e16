/*
 * quarantine.c: the operator's list of cut-off containers and its state
 * file.  Sits beside the inventory: the controller changes it on the
 * quarantine and release verbs, compile.c turns it into drops ahead of
 * every policy.  The file is {"containers": [{"id", "name", "reason",
 * "since"}]}, written atomically so that a crash never leaves half a list.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "quarantine.h"
#include "util.h"

void
quarantine_init(struct quarantine *q, const char *path)
{
	memset(q, 0, sizeof(*q));
	q->path = path ? xstrdup(path) : NULL;
}

static void
quarantine_clear(struct quarantine *q)
{
	size_t	i;

	for (i = 0; i < q->n; i++) {
		free(q->v[i].name);
		free(q->v[i].reason);
	}
	free(q->v);
	q->v = NULL;
	q->n = 0;
}

void
quarantine_release(struct quarantine *q)
{
	quarantine_clear(q);
	free(q->path);
	q->path = NULL;
}

const struct quarantine_entry *
quarantine_find(const struct quarantine *q, const char *id)
{
	size_t	i;

	for (i = 0; q != NULL && i < q->n; i++)
		if (strcmp(q->v[i].id, id) == 0)
			return &q->v[i];
	return NULL;
}

void
quarantine_put(struct quarantine *q, const char *id, const char *name,
    const char *reason, time_t since)
{
	struct quarantine_entry	*e = (struct quarantine_entry *)
	    quarantine_find(q, id);

	if (e == NULL) {
		q->v = xreallocarray(q->v, q->n + 1, sizeof(*q->v));
		e = &q->v[q->n++];
		memset(e, 0, sizeof(*e));
		strlcpy_bh(e->id, id, sizeof(e->id));
	}
	free(e->name);
	free(e->reason);
	e->name = xstrdup(name ? name : "");
	e->reason = xstrdup(reason ? reason : "");
	e->since = since;
}

int
quarantine_del(struct quarantine *q, const char *id)
{
	size_t	i;

	for (i = 0; i < q->n; i++) {
		if (strcmp(q->v[i].id, id) != 0)
			continue;
		free(q->v[i].name);
		free(q->v[i].reason);
		memmove(&q->v[i], &q->v[i + 1], (q->n - i - 1) * sizeof(*q->v));
		q->n--;
		return 0;
	}
	return -1;
}

static int
quarantine_parse(struct quarantine *q, json_t *root, char *err, size_t errlen)
{
	json_t	*list = json_object_get(root, "containers"), *it;
	size_t	 i;

	if (!json_is_array(list)) {
		snprintf(err, errlen, "$.containers: expected an array");
		return -1;
	}
	json_array_foreach(list, i, it) {
		const char *id = json_string_value(json_object_get(it, "id"));
		json_t *since = json_object_get(it, "since");

		if (id == NULL || strlen(id) != 64) {
			snprintf(err, errlen, "$.containers[%zu].id: expected "
			    "a 64-character container id", i);
			return -1;
		}
		quarantine_put(q, id,
		    json_string_value(json_object_get(it, "name")),
		    json_string_value(json_object_get(it, "reason")),
		    json_is_integer(since) ? (time_t)json_integer_value(since) :
		    0);
	}
	return 0;
}

int
quarantine_load(struct quarantine *q, char *err, size_t errlen)
{
	json_error_t	 jerr;
	json_t		*root;
	char		 why[256];

	quarantine_clear(q);
	if (q->path == NULL || access(q->path, F_OK) == -1)
		return 0;
	root = json_load_file(q->path, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		snprintf(err, errlen, "read %s: %d:%d: %s", q->path, jerr.line,
		    jerr.column, jerr.text);
		return -1;
	}
	if (quarantine_parse(q, root, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "read %s: %s", q->path, why);
		quarantine_clear(q);
		json_decref(root);
		return -1;
	}
	json_decref(root);
	return 0;
}

static json_t *
quarantine_json(const struct quarantine *q)
{
	json_t	*root = json_object(), *list = json_array();
	size_t	 i;

	for (i = 0; i < q->n; i++) {
		json_t *o = json_object();

		json_object_set_new(o, "id", json_string(q->v[i].id));
		json_object_set_new(o, "name", json_string(q->v[i].name));
		json_object_set_new(o, "reason", json_string(q->v[i].reason));
		json_object_set_new(o, "since",
		    json_integer((json_int_t)q->v[i].since));
		json_array_append_new(list, o);
	}
	json_object_set_new(root, "containers", list);
	return root;
}

int
quarantine_save(const struct quarantine *q, char *err, size_t errlen)
{
	json_t	*root;
	char	*text = NULL, *tmp = NULL;
	int	 fd = -1, rc = -1;
	size_t	 len;

	if (q->path == NULL)
		return 0;
	root = quarantine_json(q);
	text = json_dumps(root, JSON_INDENT(2));
	json_decref(root);
	if (text == NULL) {
		snprintf(err, errlen, "write %s: cannot render", q->path);
		return -1;
	}
	tmp = xasprintf("%s.tmp", q->path);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) == -1)
		goto err;
	len = strlen(text);
	if (write(fd, text, len) != (ssize_t)len || write(fd, "\n", 1) != 1 ||
	    fsync(fd) == -1)
		goto err;
	if (close(fd) == -1) {
		fd = -1;
		goto err;
	}
	fd = -1;
	if (rename(tmp, q->path) == -1)
		goto err;
	rc = 0;
	goto out;
err:
	snprintf(err, errlen, "write %s: %s", q->path, strerror(errno));
	if (fd != -1)
		close(fd);
	unlink(tmp);
out:
	free(tmp);
	free(text);
	return rc;
}
