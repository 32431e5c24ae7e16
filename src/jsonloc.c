/*
 * jsonloc.c: finds the line and column of a JSON path in a JSON text.
 * policy.c parses policy files with jansson, which keeps no positions for
 * the values it returns; when validation then finds a wrong value, this
 * scanner re-reads the text to say where that value is.
 *
 * A small validating recursive-descent scanner that descends only along
 * the path and merely checks the rest.  It reads untrusted bytes (it is
 * fuzzed): every read is bounds-checked against len, never past it, and
 * nesting is limited as jansson limits it.  Columns count characters, not
 * bytes (UTF-8 continuation bytes are skipped), as jansson's do, so that
 * syntax and semantic errors of one file agree.
 */
#include <stdlib.h>
#include <string.h>

#include "jsonloc.h"

/* jansson refuses deeper documents, so nothing valid is lost. */
#define JSONLOC_MAXDEPTH	2048

/* One step of a path: a member name or an array index. */
struct jl_seg {
	const char	*key;		/* NULL for an index */
	size_t		 keylen;
	int		 quoted;	/* key is ["..."] with \" and \\ escapes */
	size_t		 index;
};

struct jl_pos {
	size_t	off;
	int	line;
	int	column;
};

struct jl_scan {
	const char	*text;
	size_t		 len;
	struct jl_pos	 cur;
	struct jl_seg	*segs;
	size_t		 nsegs;
	size_t		 matched;	/* segments leading to found */
	struct jl_pos	 found;		/* start of the deepest match */
	int		 depth;
};

static int
jsonloc_peek(const struct jl_scan *s)
{
	return s->cur.off < s->len ? (unsigned char)s->text[s->cur.off] : -1;
}

static void
jsonloc_advance(struct jl_scan *s)
{
	unsigned char	c;

	if (s->cur.off >= s->len)
		return;
	c = (unsigned char)s->text[s->cur.off++];
	if (c == '\n') {
		s->cur.line++;
		s->cur.column = 1;
	} else if ((c & 0xc0) != 0x80)
		s->cur.column++;
}

static void
jsonloc_skip_ws(struct jl_scan *s)
{
	int	c;

	while ((c = jsonloc_peek(s)) == ' ' || c == '\t' || c == '\n' ||
	    c == '\r')
		jsonloc_advance(s);
}

static int
jsonloc_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Four hex digits of \u; -1 when malformed. */
static long
jsonloc_hex4(struct jl_scan *s)
{
	long	v = 0;
	int	i, h;

	for (i = 0; i < 4; i++) {
		if ((h = jsonloc_hexval(jsonloc_peek(s))) < 0)
			return -1;
		v = v * 16 + h;
		jsonloc_advance(s);
	}
	return v;
}

/* A \uXXXX escape (the "\u" read), with a surrogate pair's second half. */
static long
jsonloc_unicode(struct jl_scan *s)
{
	long	hi, lo;

	if ((hi = jsonloc_hex4(s)) < 0)
		return -1;
	if (hi < 0xd800 || hi > 0xdfff)
		return hi;
	if (hi > 0xdbff || jsonloc_peek(s) != '\\')
		return -1;
	jsonloc_advance(s);
	if (jsonloc_peek(s) != 'u')
		return -1;
	jsonloc_advance(s);
	if ((lo = jsonloc_hex4(s)) < 0xdc00 || lo > 0xdfff)
		return -1;
	return 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00);
}

static size_t
jsonloc_utf8(long cp, char *out)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* One escape after the backslash, decoded into out; 0 when malformed. */
static size_t
jsonloc_escape(struct jl_scan *s, char *out)
{
	static const char	from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char		*p;
	int			 c = jsonloc_peek(s);
	long			 cp;

	if (c == 'u') {
		jsonloc_advance(s);
		if ((cp = jsonloc_unicode(s)) < 0)
			return 0;
		return jsonloc_utf8(cp, out);
	}
	if (c <= 0 || (p = strchr(from, c)) == NULL)
		return 0;
	jsonloc_advance(s);
	out[0] = to[p - from];
	return 1;
}

/*
 * Scans a string at the opening quote.  When want is not NULL, sets *eq to
 * whether the decoded string equals want[0..wantlen).  Returns -1 when
 * malformed.
 */
static int
jsonloc_string(struct jl_scan *s, const char *want, size_t wantlen, int *eq)
{
	size_t	got = 0, n;
	char	buf[4];
	int	c, same = 1;

	jsonloc_advance(s);
	for (;;) {
		if ((c = jsonloc_peek(s)) < 0 || c < 0x20)
			return -1;
		jsonloc_advance(s);
		if (c == '"')
			break;
		buf[0] = (char)c;
		n = 1;
		if (c == '\\' && (n = jsonloc_escape(s, buf)) == 0)
			return -1;
		if (want && (got + n > wantlen || memcmp(want + got, buf, n)))
			same = 0;
		got += n;
	}
	if (eq)
		*eq = same && got == wantlen;
	return 0;
}

static int
jsonloc_digits(struct jl_scan *s)
{
	int	n = 0, c;

	while ((c = jsonloc_peek(s)) >= '0' && c <= '9') {
		jsonloc_advance(s);
		n++;
	}
	return n;
}

static int
jsonloc_number(struct jl_scan *s)
{
	int	c;

	if (jsonloc_peek(s) == '-')
		jsonloc_advance(s);
	if (jsonloc_peek(s) == '0')
		jsonloc_advance(s);
	else if (jsonloc_digits(s) == 0)
		return -1;
	if (jsonloc_peek(s) == '.') {
		jsonloc_advance(s);
		if (jsonloc_digits(s) == 0)
			return -1;
	}
	if ((c = jsonloc_peek(s)) == 'e' || c == 'E') {
		jsonloc_advance(s);
		if ((c = jsonloc_peek(s)) == '+' || c == '-')
			jsonloc_advance(s);
		if (jsonloc_digits(s) == 0)
			return -1;
	}
	return 0;
}

static int
jsonloc_literal(struct jl_scan *s, const char *word)
{
	size_t	n = strlen(word), i;

	if (s->len - s->cur.off < n || memcmp(s->text + s->cur.off, word, n))
		return -1;
	for (i = 0; i < n; i++)
		jsonloc_advance(s);
	return 0;
}

static int jsonloc_value(struct jl_scan *, int onpath);

/* Does the next segment of the path continue into this member/element? */
static int
jsonloc_seg_is_index(const struct jl_scan *s, int onpath, size_t index)
{
	const struct jl_seg	*g;

	if (!onpath || (size_t)s->depth - 1 >= s->nsegs)
		return 0;
	g = &s->segs[s->depth - 1];
	return g->key == NULL && g->index == index;
}

static int
jsonloc_array(struct jl_scan *s, int onpath)
{
	size_t	i = 0;

	jsonloc_advance(s);
	jsonloc_skip_ws(s);
	if (jsonloc_peek(s) == ']') {
		jsonloc_advance(s);
		return 0;
	}
	for (;; i++) {
		if (jsonloc_value(s, jsonloc_seg_is_index(s, onpath, i)) == -1)
			return -1;
		jsonloc_skip_ws(s);
		if (jsonloc_peek(s) == ']')
			break;
		if (jsonloc_peek(s) != ',')
			return -1;
		jsonloc_advance(s);
		jsonloc_skip_ws(s);
	}
	jsonloc_advance(s);
	return 0;
}

/* Compares a member name with a key segment, decoding the path's escapes. */
static int
jsonloc_key_seg(struct jl_scan *s, const struct jl_seg *g, int *eq)
{
	char	*want;
	size_t	 i, n = 0;
	int	 rc;

	if (!g->quoted)
		return jsonloc_string(s, g->key, g->keylen, eq);
	if ((want = malloc(g->keylen + 1)) == NULL)
		return jsonloc_string(s, NULL, 0, NULL);
	for (i = 0; i < g->keylen; i++) {
		if (g->key[i] == '\\' && i + 1 < g->keylen)
			i++;
		want[n++] = g->key[i];
	}
	rc = jsonloc_string(s, want, n, eq);
	free(want);
	return rc;
}

static int
jsonloc_member_name(struct jl_scan *s, int onpath, int *eq)
{
	*eq = 0;
	if (jsonloc_peek(s) != '"')
		return -1;
	if (!onpath || (size_t)s->depth - 1 >= s->nsegs ||
	    s->segs[s->depth - 1].key == NULL)
		return jsonloc_string(s, NULL, 0, NULL);
	return jsonloc_key_seg(s, &s->segs[s->depth - 1], eq);
}

static int
jsonloc_object(struct jl_scan *s, int onpath)
{
	int	eq;

	jsonloc_advance(s);
	jsonloc_skip_ws(s);
	if (jsonloc_peek(s) == '}') {
		jsonloc_advance(s);
		return 0;
	}
	for (;;) {
		if (jsonloc_member_name(s, onpath, &eq) == -1)
			return -1;
		jsonloc_skip_ws(s);
		if (jsonloc_peek(s) != ':')
			return -1;
		jsonloc_advance(s);
		jsonloc_skip_ws(s);
		if (jsonloc_value(s, eq) == -1)
			return -1;
		jsonloc_skip_ws(s);
		if (jsonloc_peek(s) == '}')
			break;
		if (jsonloc_peek(s) != ',')
			return -1;
		jsonloc_advance(s);
		jsonloc_skip_ws(s);
	}
	jsonloc_advance(s);
	return 0;
}

/*
 * Scans one value at the current position (blanks already skipped).
 * onpath: the value is the next step of the path, so its position is the
 * best answer so far.  A repeated member name moves the answer to the
 * last one, which is the one jansson keeps.
 */
static int
jsonloc_value(struct jl_scan *s, int onpath)
{
	int	c = jsonloc_peek(s), rc;

	/* Its depth is the number of path segments that led here. */
	if (onpath) {
		s->matched = (size_t)s->depth;
		s->found = s->cur;
	}
	if (++s->depth > JSONLOC_MAXDEPTH)
		return -1;
	if (c == '{')
		rc = jsonloc_object(s, onpath);
	else if (c == '[')
		rc = jsonloc_array(s, onpath);
	else if (c == '"')
		rc = jsonloc_string(s, NULL, 0, NULL);
	else if (c == '-' || (c >= '0' && c <= '9'))
		rc = jsonloc_number(s);
	else if (c == 't')
		rc = jsonloc_literal(s, "true");
	else if (c == 'f')
		rc = jsonloc_literal(s, "false");
	else if (c == 'n')
		rc = jsonloc_literal(s, "null");
	else
		rc = -1;
	s->depth--;
	return rc;
}

/* ---- paths ---- */

static int
jsonloc_parse_index(const char *p, const char **endp, size_t *index)
{
	size_t	v = 0;

	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > ((size_t)-1 - 9) / 10)
			return -1;
		v = v * 10 + (size_t)(*p - '0');
	}
	if (*p != ']')
		return -1;
	*endp = p + 1;
	*index = v;
	return 0;
}

/* ["key"] after the '['; escapes \" and \\ stay in place for later. */
static int
jsonloc_parse_quoted(const char *p, const char **endp, struct jl_seg *g)
{
	const char	*q = ++p;

	while (*q != '\0' && *q != '"') {
		if (*q == '\\' && q[1] != '\0')
			q++;
		q++;
	}
	if (*q != '"' || q[1] != ']')
		return -1;
	g->key = p;
	g->keylen = (size_t)(q - p);
	g->quoted = 1;
	*endp = q + 2;
	return 0;
}

static int
jsonloc_parse_seg(const char *p, const char **endp, struct jl_seg *g)
{
	const char	*q;

	memset(g, 0, sizeof(*g));
	if (*p == '.') {
		for (q = ++p; *q != '\0' && *q != '.' && *q != '['; q++)
			;
		if (q == p)
			return -1;
		g->key = p;
		g->keylen = (size_t)(q - p);
		*endp = q;
		return 0;
	}
	if (*p != '[')
		return -1;
	if (p[1] == '"')
		return jsonloc_parse_quoted(p + 1, endp, g);
	return jsonloc_parse_index(p + 1, endp, &g->index);
}

/* Splits path into segments; returns the count or -1. Caller frees *out. */
static long
jsonloc_parse_path(const char *path, struct jl_seg **out)
{
	struct jl_seg	*v;
	size_t		 n = 0, max = strlen(path) / 2 + 1;

	*out = NULL;
	if (path[0] != '$')
		return -1;
	if ((v = calloc(max, sizeof(*v))) == NULL)
		return -1;
	for (path++; *path != '\0'; n++) {
		if (n >= max || jsonloc_parse_seg(path, &path, &v[n]) == -1) {
			free(v);
			return -1;
		}
	}
	*out = v;
	return (long)n;
}

int
jsonloc_find(const char *text, size_t len, const char *path, int *line,
    int *column)
{
	struct jl_scan	s;
	long		n;
	int		rc;

	memset(&s, 0, sizeof(s));
	if ((n = jsonloc_parse_path(path, &s.segs)) < 0)
		return -1;
	s.nsegs = (size_t)n;
	s.text = text;
	s.len = len;
	s.cur.line = s.cur.column = 1;
	jsonloc_skip_ws(&s);
	rc = jsonloc_value(&s, 1);
	jsonloc_skip_ws(&s);
	if (rc == 0 && s.cur.off != len)
		rc = -1;
	free(s.segs);
	if (rc == -1)
		return -1;
	*line = s.found.line;
	*column = s.found.column;
	return s.matched == s.nsegs ? 0 : 1;
}

/*
 * Scans one value from pos (blanks first; with skip_comma, a ',' before
 * it too): *start is where it begins, *end just after it.  Returns 0, or
 * -1 when no valid value is there.
 */
int
jsonloc_value_span(const char *text, size_t len, const struct jsonloc_pos *pos,
    int skip_comma, struct jsonloc_pos *start, struct jsonloc_pos *end)
{
	struct jl_scan	s;

	memset(&s, 0, sizeof(s));
	s.text = text;
	s.len = len;
	s.cur.off = pos->off;
	s.cur.line = pos->line;
	s.cur.column = pos->column;
	jsonloc_skip_ws(&s);
	if (skip_comma) {
		if (jsonloc_peek(&s) != ',')
			return -1;
		jsonloc_advance(&s);
		jsonloc_skip_ws(&s);
	}
	start->off = s.cur.off;
	start->line = s.cur.line;
	start->column = s.cur.column;
	if (jsonloc_value(&s, 0) == -1)
		return -1;
	end->off = s.cur.off;
	end->line = s.cur.line;
	end->column = s.cur.column;
	return 0;
}

int
jsonloc_array_start(const char *text, size_t len, struct jsonloc_pos *pos)
{
	struct jl_scan	s;

	memset(&s, 0, sizeof(s));
	s.text = text;
	s.len = len;
	s.cur.line = s.cur.column = 1;
	jsonloc_skip_ws(&s);
	if (jsonloc_peek(&s) != '[')
		return -1;
	jsonloc_advance(&s);
	pos->off = s.cur.off;
	pos->line = s.cur.line;
	pos->column = s.cur.column;
	return 0;
}
