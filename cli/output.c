/*
 * Output: human-readable by default, one JSON document with --json.
 * Results go to stdout; errors go to stderr as "pyro: message (code)", or
 * to stdout as {"ok":false,"error":{...}} in JSON mode so that a machine
 * reading stdout always gets one document.
 */
#include "config.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <nettle/base64.h>

#include "cli.h"
#include "escape.h"

#define CAPTURE_MAX	(16 * 1024 * 1024)

const char *
jstr(const cJSON *o, const char *key, const char *dflt)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : dflt;
}

/*
 * Escaped copies for human output, kept in a small ring so that a printf
 * may use several; a string that came from a guest never reaches the
 * terminal unescaped (escape.h).
 */
static const char *
ring(char *s)
{
	static char	*slot[16];
	static unsigned	 next;

	free(slot[next % 16]);
	slot[next++ % 16] = s;
	return s ? s : "?";
}

const char *
ostr(const cJSON *o, const char *key, const char *dflt)
{
	const char	*s = jstr(o, key, NULL);

	return s == NULL ? dflt : ring(pyro_escape_text(s, 0));
}

const char *
oname(const cJSON *o, const char *key, const char *dflt)
{
	const char	*s = jstr(o, key, NULL);

	return s == NULL ? dflt : ring(pyro_escape_text(s,
	    PYRO_ESC_BACKSLASH));
}

const char *
otext(const char *s)
{
	return ring(pyro_escape_text(s, PYRO_ESC_LINES));
}

double
jnum(const cJSON *o, const char *key, double dflt)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

int
jbool(const cJSON *o, const char *key)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, key));
}

int
out_error(struct cli *cli, const pyro_error *err)
{
	if (cli->json) {
		cJSON	*o = cJSON_CreateObject();
		cJSON	*e = cJSON_AddObjectToObject(o, "error");
		char	*text;

		cJSON_AddFalseToObject(o, "ok");
		cJSON_AddStringToObject(e, "code", err->code);
		cJSON_AddStringToObject(e, "message", err->message);
		if ((text = cJSON_Print(o)) != NULL) {
			printf("%s\n", text);
			free(text);
		}
		cJSON_Delete(o);
	} else
		fprintf(stderr, "pyro: %s (%s)\n", ring(pyro_escape_text(
		    err->message, 0)), ring(pyro_escape_text(err->code, 0)));
	return EXIT_FAILED;
}

int	out_usage_json;

int
out_usage_error(const struct cmd *c, const char *fmt, ...)
{
	va_list	 ap;
	char	 msg[512];
	cJSON	*o, *e;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "pyro %s%s%s: %s\n", c->group ? c->group : "",
	    c->group ? " " : "", c->name, msg);
	if (out_usage_json) {
		o = cJSON_CreateObject();
		cJSON_AddFalseToObject(o, "ok");
		e = cJSON_AddObjectToObject(o, "error");
		cJSON_AddStringToObject(e, "code", PYRO_ERR_USAGE);
		cJSON_AddStringToObject(e, "message", msg);
		out_json(o);
		cJSON_Delete(o);
	}
	return cli_usage(c, 1);
}

int
out_result(struct cli *cli, const char *result_json,
    void (*render)(const cJSON *))
{
	cJSON	*res = cJSON_Parse(result_json);
	char	*text;

	if (res == NULL) {
		fprintf(stderr, "pyro: pyrod sent an unreadable result "
		    "(protocol_error)\n");
		return EXIT_FAILED;
	}
	if (cli->json || render == NULL) {
		if ((text = cJSON_Print(res)) != NULL) {
			printf("%s\n", text);
			free(text);
		}
	} else
		render(res);
	cJSON_Delete(res);
	return EXIT_OK;
}

void
out_json(const cJSON *o)
{
	char	*text;

	if ((text = cJSON_Print(o)) != NULL) {
		printf("%s\n", text);
		free(text);
	}
}

const char *
out_vm_id(const cJSON *r)
{
	return jstr(r, "vm_id", jstr(r, "id", "?"));
}

/* A word the shell reads back as itself without quotes. */
static int
shell_plain(const char *w)
{
	return *w != '\0' && strspn(w, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789_@%+=:,./-") == strlen(w);
}

char *
out_shell_words(const cJSON *argv)
{
	const cJSON	*it;
	size_t		 n = 1;
	char		*b, *o;
	const char	*p;

	cJSON_ArrayForEach(it, argv)
		n += 4 * strlen(cJSON_GetStringValue(it) ?: "") + 3;
	if ((b = o = malloc(n)) == NULL)
		return NULL;
	cJSON_ArrayForEach(it, argv) {
		p = cJSON_GetStringValue(it) ?: "";
		if (o != b)
			*o++ = ' ';
		if (shell_plain(p)) {
			o = stpcpy(o, p);
			continue;
		}
		*o++ = '\'';
		for (; *p != '\0'; p++)
			if (*p == '\'')
				o = stpcpy(o, "'\\''");
			else
				*o++ = *p;
		*o++ = '\'';
	}
	*o = '\0';
	return b;
}

const char *
ocommand(const cJSON *rec)
{
	const cJSON	*a = cJSON_GetObjectItemCaseSensitive(rec, "argv");
	char		*w;
	const char	*r;

	if (!cJSON_IsArray(a))
		return ostr(rec, "command", "");
	if ((w = out_shell_words(a)) == NULL)
		return "?";
	r = ring(pyro_escape_text(w, 0));
	free(w);
	return r;
}

/* ---- output of guest commands ---- */

void
out_capture(void *arg, int fd, const void *data, size_t len)
{
	struct capture	*c = arg;
	char		*nb;

	if (fd < 1 || fd > 2)
		return;
	if (!c->keep) {
		(void)fwrite(data, 1, len, fd == 1 ? stdout : stderr);
		(void)fflush(fd == 1 ? stdout : stderr);
		return;
	}
	/* Bounded: --json is for results, not for bulk output. */
	if (c->len[fd] + len > CAPTURE_MAX) {
		c->truncated = 1;
		len = CAPTURE_MAX - c->len[fd];
	}
	if (len == 0 || (nb = realloc(c->buf[fd], c->len[fd] + len + 1)) ==
	    NULL)
		return;
	memcpy(nb + c->len[fd], data, len);
	c->len[fd] += len;
	nb[c->len[fd]] = '\0';
	c->buf[fd] = nb;
}

void
out_capture_free(struct capture *c)
{
	free(c->buf[1]);
	free(c->buf[2]);
	c->buf[1] = c->buf[2] = NULL;
}

/* Length of the UTF-8 sequence at p (NUL and bad bytes: 0). */
static size_t
utf8_len(const unsigned char *p, size_t n)
{
	size_t	len, j;

	len = p[0] < 0x80 ? 1 : (p[0] >> 5) == 6 ? 2 : (p[0] >> 4) == 14 ?
	    3 : (p[0] >> 3) == 30 ? 4 : 0;
	if (p[0] == 0 || len > n)
		return 0;
	for (j = 1; j < len; j++)
		if ((p[j] >> 6) != 2)
			return 0;
	return len;
}

/*
 * JSON strings must be UTF-8: bytes that are not become U+FFFD in the
 * text, and then the exact bytes ride along in base64 as KEY_base64.
 */
void
out_add_bytes(cJSON *obj, const char *key, const char *data, size_t len)
{
	const unsigned char	*p = (const unsigned char *)(data ? data : "");
	struct base64_encode_ctx e;
	char			*t, *b64, k64[64];
	size_t			 i = 0, o = 0, l;
	int			 bad = 0;

	if ((t = malloc(3 * len + 1)) == NULL)
		return;
	while (i < len) {
		if ((l = utf8_len(p + i, len - i)) == 0) {
			memcpy(t + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
			bad = 1;
			continue;
		}
		memcpy(t + o, p + i, l);
		o += l;
		i += l;
	}
	t[o] = '\0';
	cJSON_AddStringToObject(obj, key, t);
	free(t);
	if (!bad || (b64 = malloc(BASE64_ENCODE_LENGTH(len) + 3)) == NULL)
		return;
	base64_encode_init(&e);
	l = base64_encode_update(&e, b64, len, p);
	l += base64_encode_final(&e, b64 + l);
	b64[l] = '\0';
	snprintf(k64, sizeof(k64), "%s_base64", key);
	cJSON_AddStringToObject(obj, k64, b64);
	free(b64);
}

/* ---- progress ---- */

static struct {
	const char	*label;
	int		 tty;
	char		 phase[16];
	struct timespec	 t0;
	int		 drawn;
} prog;

static double
since(const struct timespec *t0)
{
	struct timespec	now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t0->tv_sec) +
	    (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

static void
human_bytes(double b, char *buf, size_t size)
{
	const char	*u[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	int		 i = 0;

	while (b >= 1024 && i < 4) {
		b /= 1024;
		i++;
	}
	snprintf(buf, size, i ? "%.1f %s" : "%.0f %s", b, u[i]);
}

/*
 * Called from a libpyro thread: it only writes one line to stderr.  On a
 * terminal the line is redrawn in place; elsewhere each phase gets one
 * plain line, so logs stay readable.
 */
static void
on_progress(void *arg, const char *phase, unsigned long long db,
    unsigned long long tb, unsigned long long df, unsigned long long tf)
{
	char	done[32], total[32], rate[32], left[32] = "";
	double	el;

	(void)arg;
	if (strcmp(prog.phase, phase) != 0) {
		snprintf(prog.phase, sizeof(prog.phase), "%s", phase);
		clock_gettime(CLOCK_MONOTONIC, &prog.t0);
		if (!prog.tty) {
			if (tb > 0 || tf > 0)
				fprintf(stderr, "[%s] phase=%s bytes=%llu "
				    "files=%llu\n", prog.label, phase, tb, tf);
			else
				fprintf(stderr, "[%s] phase=%s\n", prog.label,
				    phase);
			return;
		}
	}
	if (!prog.tty)
		return;
	el = since(&prog.t0);
	human_bytes((double)db, done, sizeof(done));
	human_bytes((double)tb, total, sizeof(total));
	human_bytes(el > 0.2 ? (double)db / el : 0, rate, sizeof(rate));
	if (tb > 0 && db > 0 && db < tb && el > 0.5)
		snprintf(left, sizeof(left), ", %.0f s left",
		    (double)(tb - db) * el / (double)db);
	if (tb > 0)
		fprintf(stderr, "\r[%s] %s: %s of %s, %llu of %llu files, %s/s"
		    "%s\033[K", prog.label, phase, done, total, df, tf, rate,
		    left);
	else
		fprintf(stderr, "\r[%s] %s: %s, %llu files, %s/s\033[K",
		    prog.label, phase, done, df, rate);
	prog.drawn = 1;
}

void
out_progress_attach(struct cli *cli, const char *label)
{
	if (cli->json || cli->client == NULL)
		return;
	prog.label = label;
	prog.tty = isatty(STDERR_FILENO);
	prog.phase[0] = '\0';
	prog.drawn = 0;
	pyro_set_progress_handler(cli->client, on_progress, NULL);
}

void
out_progress_done(void)
{
	/* The progress line is finished before anything else is printed. */
	if (prog.drawn)
		fputc('\n', stderr);
	prog.drawn = 0;
}

/* A boot's progress fields: " boot=restored", " boot=cold reason=..." */
void
out_boot_fields(const cJSON *ev)
{
	if (jstr(ev, "boot", NULL) != NULL)
		fprintf(stderr, " boot=%s", ostr(ev, "boot", ""));
	if (jstr(ev, "reason", NULL) != NULL)
		fprintf(stderr, " reason=\"%s\"", ostr(ev, "reason", ""));
}

/* A registry listing ({KEY: [{id, state, environment, created_at}]}). */
void
out_records(const cJSON *r, const char *key)
{
	const cJSON	*it;
	int		 n = 0;

	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(r, key)) {
		if (n++ == 0)
			printf("%-16s  %-10s  %-16s  %s\n", "ID", "STATE",
			    "ENVIRONMENT", "CREATED");
		printf("%-16s  %-10s  %-16s  %s\n", jstr(it, "id", jstr(it, "vm_id",
		    jstr(it, "workspace_id", "?"))),
		    jstr(it, "state", "?"), jstr(it, "environment", "-"),
		    jstr(it, "created_at", "-"));
	}
	if (n == 0)
		printf("No %s.\n", key);
}
