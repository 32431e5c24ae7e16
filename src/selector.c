/*
 * selector.c: parses and matches the Calico-style label selectors of
 * selector.h.  Policy files hold selectors as strings; policy.c parses
 * them here at load time, and the evaluator and the compiler match them
 * against container labels (and namespace labels).
 *
 * Grammar (recursive descent, one function per level):
 *   or      := and ( '||' and )*
 *   and     := unary ( '&&' unary )*
 *   unary   := '!' unary | primary
 *   primary := '(' or ')' | 'all' '(' ')' | 'has' '(' KEY ')'
 *            | KEY '==' STR | KEY '!=' STR | KEY 'in' SET | KEY 'not' 'in' SET
 *            | KEY 'contains' STR | KEY 'starts' 'with' STR
 *            | KEY 'ends' 'with' STR
 *   SET     := '{' [ STR ( ',' STR )* ] '}'
 * Strings have no escapes, as in Calico: a value holding a single quote is
 * written in double quotes and the other way round.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labels.h"
#include "selector.h"
#include "util.h"

enum sel_op {
	SEL_ALL,
	SEL_HAS,
	SEL_EQ,
	SEL_NE,
	SEL_IN,
	SEL_NOTIN,
	SEL_CONTAINS,
	SEL_STARTS,
	SEL_ENDS,
	SEL_NOT,
	SEL_AND,
	SEL_OR,
};

struct sel_node {
	enum sel_op	 op;
	char		*key;
	char		**vals;		/* one for ==, !=, contains...; a set for in */
	size_t		 nvals;
	struct sel_node	*left;		/* operand of ! */
	struct sel_node	**kids;		/* operands of && and ||: n-ary, so */
	size_t		 nkids;		/* a long chain is no deep recursion */
};

struct selector {
	struct sel_node	*root;
	char		*text;		/* canonical rendering */
};

enum tok_type {
	TOK_END,
	TOK_WORD,	/* a key or a keyword */
	TOK_STR,
	TOK_LPAREN,
	TOK_RPAREN,
	TOK_LBRACE,
	TOK_RBRACE,
	TOK_COMMA,
	TOK_NOT,
	TOK_AND,
	TOK_OR,
	TOK_EQ,
	TOK_NE,
	TOK_BAD,
};

struct tok {
	enum tok_type	 type;
	size_t		 pos;
	size_t		 len;		/* of the token's text */
};

struct sel_parser {
	const char	*text;
	size_t		 pos;		/* where the next token is scanned */
	struct tok	 tok;		/* the current token */
	char		*err;
	size_t		 errlen;
	size_t		*errpos;
	int		 failed;
	int		 depth;
};

/* Deep nesting is refused rather than risking the stack on hostile input. */
#define SEL_MAXDEPTH	200

static int
selector_is_keychar(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '/' ||
	    c == '-';
}

static void
selector_lex_punct(struct sel_parser *p, struct tok *t)
{
	const char	*s = p->text + t->pos;

	t->len = 1;
	switch (s[0]) {
	case '(': t->type = TOK_LPAREN; return;
	case ')': t->type = TOK_RPAREN; return;
	case '{': t->type = TOK_LBRACE; return;
	case '}': t->type = TOK_RBRACE; return;
	case ',': t->type = TOK_COMMA; return;
	}
	t->len = 2;
	if (s[0] == '=' && s[1] == '=')
		t->type = TOK_EQ;
	else if (s[0] == '!' && s[1] == '=')
		t->type = TOK_NE;
	else if (s[0] == '&' && s[1] == '&')
		t->type = TOK_AND;
	else if (s[0] == '|' && s[1] == '|')
		t->type = TOK_OR;
	else if (s[0] == '!') {
		t->type = TOK_NOT;
		t->len = 1;
	} else {
		t->type = TOK_BAD;
		t->len = 1;
	}
}

/* Scans the token at p->pos into p->tok. */
static void
selector_next(struct sel_parser *p)
{
	struct tok	*t = &p->tok;
	const char	*s = p->text;
	size_t		 i;

	while (s[p->pos] == ' ' || s[p->pos] == '\t' || s[p->pos] == '\n' ||
	    s[p->pos] == '\r')
		p->pos++;
	t->pos = p->pos;
	if (s[p->pos] == '\0') {
		t->type = TOK_END;
		t->len = 0;
	} else if (s[p->pos] == '\'' || s[p->pos] == '"') {
		for (i = p->pos + 1; s[i] != '\0' && s[i] != s[p->pos]; i++)
			;
		/* An unterminated string runs to the end: reported by the user. */
		t->type = s[i] == '\0' ? TOK_BAD : TOK_STR;
		t->len = s[i] == '\0' ? 1 : i + 1 - p->pos;
	} else if (selector_is_keychar((unsigned char)s[p->pos])) {
		for (i = p->pos; selector_is_keychar((unsigned char)s[i]); i++)
			;
		t->type = TOK_WORD;
		t->len = i - p->pos;
	} else
		selector_lex_punct(p, t);
	p->pos = t->pos + t->len;
}

static int
selector_is_word(const struct sel_parser *p, const char *w)
{
	size_t	len = strlen(w);

	return p->tok.type == TOK_WORD && p->tok.len == len &&
	    memcmp(p->text + p->tok.pos, w, len) == 0;
}

/* Looks at the character after the current token, skipping blanks. */
static char
selector_peekc(const struct sel_parser *p)
{
	size_t	i = p->pos;

	while (p->text[i] == ' ' || p->text[i] == '\t' || p->text[i] == '\n' ||
	    p->text[i] == '\r')
		i++;
	return p->text[i];
}

static void
selector_fail(struct sel_parser *p, size_t pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
selector_fail(struct sel_parser *p, size_t pos, const char *fmt, ...)
{
	va_list	ap;

	if (p->failed)
		return;
	p->failed = 1;
	*p->errpos = pos;
	va_start(ap, fmt);
	vsnprintf(p->err, p->errlen, fmt, ap);
	va_end(ap);
}

/* "expected X but found Y", Y naming the current token. */
static void
selector_expected(struct sel_parser *p, const char *what)
{
	const struct tok	*t = &p->tok;
	int			 len = t->len > 40 ? 40 : (int)t->len;

	if (t->type == TOK_END)
		selector_fail(p, t->pos, "expected %s but found end of selector",
		    what);
	else if (t->type == TOK_BAD && (p->text[t->pos] == '\'' ||
	    p->text[t->pos] == '"'))
		selector_fail(p, t->pos, "unterminated string");
	else
		selector_fail(p, t->pos, "expected %s but found '%.*s'", what,
		    len, p->text + t->pos);
}

static struct sel_node *
selector_node_new(enum sel_op op)
{
	struct sel_node	*n = xcalloc(1, sizeof(*n));

	n->op = op;
	return n;
}

static void
selector_node_free(struct sel_node *n)
{
	size_t	i;

	if (n == NULL)
		return;
	selector_node_free(n->left);
	for (i = 0; i < n->nkids; i++)
		selector_node_free(n->kids[i]);
	free(n->kids);
	for (i = 0; i < n->nvals; i++)
		free(n->vals[i]);
	free(n->vals);
	free(n->key);
	free(n);
}

static void
selector_node_addval(struct sel_node *n, const struct sel_parser *p)
{
	n->vals = xreallocarray(n->vals, n->nvals + 1, sizeof(*n->vals));
	n->vals[n->nvals++] = xstrndup(p->text + p->tok.pos + 1,
	    p->tok.len - 2);
}

static int
selector_expect(struct sel_parser *p, enum tok_type type, const char *what)
{
	if (p->tok.type != type) {
		selector_expected(p, what);
		return -1;
	}
	selector_next(p);
	return 0;
}

/* STR into n; the current token must be a string. */
static int
selector_parse_str(struct sel_parser *p, struct sel_node *n)
{
	if (p->tok.type != TOK_STR) {
		selector_expected(p, "a quoted string");
		return -1;
	}
	selector_node_addval(n, p);
	selector_next(p);
	return 0;
}

static int
selector_parse_set(struct sel_parser *p, struct sel_node *n)
{
	if (selector_expect(p, TOK_LBRACE, "'{'") == -1)
		return -1;
	if (p->tok.type == TOK_RBRACE) {
		selector_next(p);
		return 0;
	}
	for (;;) {
		if (selector_parse_str(p, n) == -1)
			return -1;
		if (p->tok.type == TOK_RBRACE)
			break;
		if (selector_expect(p, TOK_COMMA, "',' or '}'") == -1)
			return -1;
	}
	selector_next(p);
	return 0;
}

/* The word after starts/ends/not, e.g. "with" of "starts with". */
static int
selector_expect_word(struct sel_parser *p, const char *w, const char *what)
{
	if (!selector_is_word(p, w)) {
		selector_expected(p, what);
		return -1;
	}
	selector_next(p);
	return 0;
}

/* The operator and operand after KEY. */
static int
selector_parse_op(struct sel_parser *p, struct sel_node *n)
{
	if (p->tok.type == TOK_EQ || p->tok.type == TOK_NE) {
		n->op = p->tok.type == TOK_EQ ? SEL_EQ : SEL_NE;
		selector_next(p);
		return selector_parse_str(p, n);
	}
	if (selector_is_word(p, "in")) {
		n->op = SEL_IN;
		selector_next(p);
		return selector_parse_set(p, n);
	}
	if (selector_is_word(p, "not")) {
		n->op = SEL_NOTIN;
		selector_next(p);
		if (selector_expect_word(p, "in", "'in'") == -1)
			return -1;
		return selector_parse_set(p, n);
	}
	if (selector_is_word(p, "contains")) {
		n->op = SEL_CONTAINS;
		selector_next(p);
		return selector_parse_str(p, n);
	}
	if (selector_is_word(p, "starts") || selector_is_word(p, "ends")) {
		n->op = selector_is_word(p, "starts") ? SEL_STARTS : SEL_ENDS;
		selector_next(p);
		if (selector_expect_word(p, "with", "'with'") == -1)
			return -1;
		return selector_parse_str(p, n);
	}
	selector_expected(p, "an operator (==, !=, in, not in, contains, "
	    "starts with, ends with)");
	return -1;
}

/* all() or has(KEY); the current token is the word. */
static struct sel_node *
selector_parse_func(struct sel_parser *p, int is_has)
{
	struct sel_node	*n = selector_node_new(is_has ? SEL_HAS : SEL_ALL);

	selector_next(p);
	if (selector_expect(p, TOK_LPAREN, "'('") == -1)
		goto err;
	if (is_has) {
		if (p->tok.type != TOK_WORD) {
			selector_expected(p, "a label key");
			goto err;
		}
		n->key = xstrndup(p->text + p->tok.pos, p->tok.len);
		selector_next(p);
	}
	if (selector_expect(p, TOK_RPAREN, "')'") == -1)
		goto err;
	return n;
err:
	selector_node_free(n);
	return NULL;
}

static struct sel_node *selector_parse_or(struct sel_parser *);

static struct sel_node *
selector_parse_primary(struct sel_parser *p)
{
	struct sel_node	*n;

	if (p->tok.type == TOK_LPAREN) {
		selector_next(p);
		if ((n = selector_parse_or(p)) == NULL)
			return NULL;
		if (selector_expect(p, TOK_RPAREN, "')'") == -1) {
			selector_node_free(n);
			return NULL;
		}
		return n;
	}
	if (p->tok.type != TOK_WORD) {
		selector_expected(p, "a label key, has(), all(), '!' or '('");
		return NULL;
	}
	/* "has" and "all" are functions only when a '(' follows. */
	if ((selector_is_word(p, "has") || selector_is_word(p, "all")) &&
	    selector_peekc(p) == '(')
		return selector_parse_func(p, selector_is_word(p, "has"));
	n = selector_node_new(SEL_EQ);
	n->key = xstrndup(p->text + p->tok.pos, p->tok.len);
	selector_next(p);
	if (selector_parse_op(p, n) == -1) {
		selector_node_free(n);
		return NULL;
	}
	return n;
}

static struct sel_node *
selector_parse_unary(struct sel_parser *p)
{
	struct sel_node	*n, *operand;

	if (p->tok.type != TOK_NOT)
		return selector_parse_primary(p);
	if (++p->depth > SEL_MAXDEPTH) {
		selector_fail(p, p->tok.pos, "selector nested too deeply");
		return NULL;
	}
	selector_next(p);
	if ((operand = selector_parse_unary(p)) == NULL)
		return NULL;
	p->depth--;
	n = selector_node_new(SEL_NOT);
	n->left = operand;
	return n;
}

/* Appends r to the n-ary node of op whose first operand is l. */
static struct sel_node *
selector_chain(enum sel_op op, struct sel_node *l, struct sel_node *r)
{
	struct sel_node	*n = l;

	if (l->op != op || l->nkids == 0) {
		n = selector_node_new(op);
		n->kids = xcalloc(1, sizeof(*n->kids));
		n->kids[n->nkids++] = l;
	}
	n->kids = xreallocarray(n->kids, n->nkids + 1, sizeof(*n->kids));
	n->kids[n->nkids++] = r;
	return n;
}

/* One level of the grammar: operands joined by tok into op. */
static struct sel_node *
selector_parse_chain(struct sel_parser *p, enum tok_type tok, enum sel_op op,
    struct sel_node *(*operand)(struct sel_parser *))
{
	struct sel_node	*l, *r;

	if ((l = operand(p)) == NULL)
		return NULL;
	while (p->tok.type == tok) {
		selector_next(p);
		if ((r = operand(p)) == NULL) {
			selector_node_free(l);
			return NULL;
		}
		l = selector_chain(op, l, r);
	}
	return l;
}

static struct sel_node *
selector_parse_and(struct sel_parser *p)
{
	return selector_parse_chain(p, TOK_AND, SEL_AND, selector_parse_unary);
}

static struct sel_node *
selector_parse_or(struct sel_parser *p)
{
	struct sel_node	*n;

	if (++p->depth > SEL_MAXDEPTH) {
		selector_fail(p, p->tok.pos, "selector nested too deeply");
		return NULL;
	}
	n = selector_parse_chain(p, TOK_OR, SEL_OR, selector_parse_and);
	p->depth--;
	return n;
}

/* ---- canonical text ---- */

static void
selector_render_str(struct strbuf *sb, const char *s)
{
	char	q = strchr(s, '\'') ? '"' : '\'';

	strbuf_addf(sb, "%c%s%c", q, s, q);
}

static void
selector_render_set(struct strbuf *sb, const struct sel_node *n)
{
	size_t	i;

	strbuf_addstr(sb, "{");
	for (i = 0; i < n->nvals; i++) {
		if (i)
			strbuf_addstr(sb, ", ");
		selector_render_str(sb, n->vals[i]);
	}
	strbuf_addstr(sb, "}");
}

static void selector_render(struct strbuf *, const struct sel_node *);

/* Renders n, in parentheses when it binds looser than its parent op. */
static void
selector_render_sub(struct strbuf *sb, const struct sel_node *n,
    enum sel_op parent)
{
	int	paren = (n->op == SEL_OR && parent != SEL_OR) ||
	    (n->op == SEL_AND && parent == SEL_NOT);

	if (paren)
		strbuf_addstr(sb, "(");
	selector_render(sb, n);
	if (paren)
		strbuf_addstr(sb, ")");
}

static void
selector_render(struct strbuf *sb, const struct sel_node *n)
{
	static const char *const opname[] = {
		[SEL_EQ] = " == ", [SEL_NE] = " != ",
		[SEL_CONTAINS] = " contains ", [SEL_STARTS] = " starts with ",
		[SEL_ENDS] = " ends with ",
	};
	size_t	i;

	switch (n->op) {
	case SEL_ALL:
		strbuf_addstr(sb, "all()");
		break;
	case SEL_HAS:
		strbuf_addf(sb, "has(%s)", n->key);
		break;
	case SEL_EQ: case SEL_NE: case SEL_CONTAINS: case SEL_STARTS:
	case SEL_ENDS:
		strbuf_addf(sb, "%s%s", n->key, opname[n->op]);
		selector_render_str(sb, n->vals[0]);
		break;
	case SEL_IN: case SEL_NOTIN:
		strbuf_addf(sb, "%s %s ", n->key,
		    n->op == SEL_IN ? "in" : "not in");
		selector_render_set(sb, n);
		break;
	case SEL_NOT:
		strbuf_addstr(sb, "!");
		selector_render_sub(sb, n->left, SEL_NOT);
		break;
	case SEL_AND: case SEL_OR:
		for (i = 0; i < n->nkids; i++) {
			if (i)
				strbuf_addstr(sb, n->op == SEL_AND ?
				    " && " : " || ");
			selector_render_sub(sb, n->kids[i], n->op);
		}
		break;
	}
}

/* ---- public ---- */

static int
selector_blank(const char *text)
{
	for (; *text; text++)
		if (*text != ' ' && *text != '\t' && *text != '\n' &&
		    *text != '\r')
			return 0;
	return 1;
}

struct selector *
selector_parse(const char *text, char *err, size_t errlen, size_t *errpos)
{
	struct sel_parser	 p;
	struct sel_node		*root;
	struct selector		*s;
	struct strbuf		 sb;

	memset(&p, 0, sizeof(p));
	p.text = text;
	p.err = err;
	p.errlen = errlen;
	p.errpos = errpos;
	if (selector_blank(text))
		root = selector_node_new(SEL_ALL);
	else {
		selector_next(&p);
		if ((root = selector_parse_or(&p)) == NULL)
			return NULL;
		if (p.tok.type != TOK_END) {
			selector_expected(&p, "'&&', '||' or end of selector");
			selector_node_free(root);
			return NULL;
		}
	}
	s = xcalloc(1, sizeof(*s));
	s->root = root;
	strbuf_init(&sb);
	selector_render(&sb, root);
	s->text = strbuf_detach(&sb);
	return s;
}

void
selector_free(struct selector *s)
{
	if (s == NULL)
		return;
	selector_node_free(s->root);
	free(s->text);
	free(s);
}

const char *
selector_text(const struct selector *s)
{
	return s->text;
}

static int
selector_in_set(const struct sel_node *n, const char *v)
{
	size_t	i;

	for (i = 0; i < n->nvals; i++)
		if (strcmp(n->vals[i], v) == 0)
			return 1;
	return 0;
}

static int
selector_ends_with(const char *v, const char *suffix)
{
	size_t	lv = strlen(v), ls = strlen(suffix);

	return lv >= ls && strcmp(v + lv - ls, suffix) == 0;
}

/*
 * As in Calico, the negative operators (!=, not in) hold for a container
 * without the label: "not the db" includes what has no app label at all.
 */
static int
selector_match_node(const struct sel_node *n, const struct labelset *ls)
{
	const char	*v = n->key ? labelset_get(ls, n->key) : NULL;
	size_t		 i;

	switch (n->op) {
	case SEL_ALL:
		return 1;
	case SEL_HAS:
		return v != NULL;
	case SEL_EQ:
		return v != NULL && strcmp(v, n->vals[0]) == 0;
	case SEL_NE:
		return v == NULL || strcmp(v, n->vals[0]) != 0;
	case SEL_IN:
		return v != NULL && selector_in_set(n, v);
	case SEL_NOTIN:
		return v == NULL || !selector_in_set(n, v);
	case SEL_CONTAINS:
		return v != NULL && strstr(v, n->vals[0]) != NULL;
	case SEL_STARTS:
		return v != NULL &&
		    strncmp(v, n->vals[0], strlen(n->vals[0])) == 0;
	case SEL_ENDS:
		return v != NULL && selector_ends_with(v, n->vals[0]);
	case SEL_NOT:
		return !selector_match_node(n->left, ls);
	case SEL_AND:
		for (i = 0; i < n->nkids; i++)
			if (!selector_match_node(n->kids[i], ls))
				return 0;
		return 1;
	case SEL_OR:
		for (i = 0; i < n->nkids; i++)
			if (selector_match_node(n->kids[i], ls))
				return 1;
		return 0;
	}
	return 0;
}

int
selector_match(const struct selector *s, const struct labelset *ls)
{
	return selector_match_node(s->root, ls);
}

static int
selector_required_node(const struct sel_node *n, const char **key,
    char *const **vals, size_t *nvals)
{
	size_t	i;

	switch (n->op) {
	case SEL_EQ:
	case SEL_IN:
		*key = n->key;
		*vals = n->vals;
		*nvals = n->op == SEL_EQ ? 1 : n->nvals;
		return 1;
	case SEL_AND:
		for (i = 0; i < n->nkids; i++)
			if (selector_required_node(n->kids[i], key, vals, nvals))
				return 1;
		return 0;
	default:
		return 0;
	}
}

int
selector_required(const struct selector *s, const char **key,
    char *const **vals, size_t *nvals)
{
	return selector_required_node(s->root, key, vals, nvals);
}
