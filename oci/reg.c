/*
 * A registry over libcurl (HTTP/1.1, http and https only).  Why libcurl:
 * TLS, proxies, redirects with the Authorization header kept to the
 * registry's own host, timeouts and ranges, all well kept; what is ours
 * is the distribution API on top and the checks of what comes back.
 *
 * Trust: the registry, its token service and whatever blob store it
 * redirects to are untrusted.  Bodies are bounded (manifests 4 MiB,
 * tokens and errors 64 KiB, blobs their descriptor's size), only http(s)
 * is followed (at most 5 redirects), a stall ends the transfer, and no
 * text from them reaches an error message unless it is printable and
 * short.  Credentials come from a file of the caller's own that nobody
 * else may read; they are sent to the registry's host only and appear in
 * no message.
 */
#include "config.h"

#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <nettle/base64.h>

#include "ocitool.h"

#define STALL_DEFAULT	30
#define SMALL_MAX	(64 * 1024)
#define REPORT_STEP	(32ULL << 20)

int
oerr_set(struct oerr *e, const char *code, const char *fmt, ...)
{
	va_list	ap;

	snprintf(e->code, sizeof(e->code), "%s", code);
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -1;
}

/* A name component of a repository: [a-z0-9]+([._-][a-z0-9]+)*. */
static int
component_ok(const char *s, size_t n)
{
	size_t	i;

	if (n == 0 || n > 64)
		return 0;
	for (i = 0; i < n; i++) {
		if (islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]))
			continue;
		if ((s[i] != '.' && s[i] != '_' && s[i] != '-') || i == 0 ||
		    i + 1 == n || !isalnum((unsigned char)s[i + 1]))
			return 0;
	}
	return 1;
}

static int
tag_ok(const char *s)
{
	size_t	i, n = strlen(s);

	if (n == 0 || n > 128 || !(isalnum((unsigned char)s[0]) || s[0] == '_'))
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' &&
		    s[i] != '.' && s[i] != '-')
			return 0;
	return 1;
}

/*
 * url: http(s)://AUTHORITY[/NAMESPACE]; name: REPO:TAG (an environment
 * name: debian:12 is repository NAMESPACE/debian, tag 12).
 */
static int
parse_target(struct reg *r, const char *url, const char *name,
    struct oerr *e)
{
	const char	*p, *auth, *slash, *colon, *seg;
	size_t		 n;

	if (strncmp(url, "https://", 8) == 0)
		auth = url + 8;
	else if (strncmp(url, "http://", 7) == 0)
		auth = url + 7;
	else
		return oerr_set(e, PYRO_ERR_INVALID_ARGUMENT, "a registry is an "
		    "http:// or https:// URL (%.100s)", url);
	slash = strchr(auth, '/');
	n = slash ? (size_t)(slash - auth) : strlen(auth);
	if (n == 0 || n >= sizeof(r->host))
		return oerr_set(e, PYRO_ERR_INVALID_ARGUMENT, "the registry URL has "
		    "no usable host");
	for (p = auth; p < auth + n; p++)
		if (!isalnum((unsigned char)*p) && strchr(".-:[]", *p) == NULL)
			return oerr_set(e, PYRO_ERR_INVALID_ARGUMENT, "the registry "
			    "URL's host may hold letters, digits, . - : [ ] "
			    "(credentials go in the credentials file)");
	memcpy(r->host, auth, n);
	r->host[n] = '\0';
	snprintf(r->base, sizeof(r->base), "%.*s%s", (int)(auth - url), url,
	    r->host);
	/* The namespace: components joined by single slashes. */
	r->ns[0] = '\0';
	if (slash != NULL) {
		for (seg = slash + 1; *seg != '\0'; seg = p + (*p == '/')) {
			p = seg + strcspn(seg, "/");
			if (p == seg && *p == '\0')
				break;	/* one trailing slash */
			if (!component_ok(seg, (size_t)(p - seg)) ||
			    strlen(r->ns) + (size_t)(p - seg) + 2 >
			    sizeof(r->ns))
				return oerr_set(e, PYRO_ERR_INVALID_ARGUMENT, "the "
				    "registry URL's path is not a namespace "
				    "(lower-case components: /pyro, /team/"
				    "envs)");
			snprintf(r->ns + strlen(r->ns), sizeof(r->ns) -
			    strlen(r->ns), "%s%.*s", r->ns[0] ? "/" : "",
			    (int)(p - seg), seg);
		}
	}
	if ((colon = strchr(name, ':')) == NULL ||
	    !component_ok(name, (size_t)(colon - name)) || !tag_ok(colon + 1))
		return oerr_set(e, PYRO_ERR_INVALID_NAME, "environment %.64s has no "
		    "registry name (NAME:TAG, lower-case)", name);
	snprintf(r->repo, sizeof(r->repo), "%s%s%.*s", r->ns, r->ns[0] ?
	    "/" : "", (int)(colon - name), name);
	snprintf(r->tag, sizeof(r->tag), "%s", colon + 1);
	return 0;
}

/*
 * The credentials file: lines "HOST[:PORT] USER PASSWORD", # comments.
 * Only a regular file of the caller's that nobody else can read counts.
 */
static int
load_creds(struct reg *r, struct oerr *e)
{
	const char	*path = getenv("PYRO_REGISTRY_CREDENTIALS");
	char		 def[4200], buf[16384], h[300], u[256], pw[256];
	char		*line, *save = NULL;
	struct stat	 st;
	ssize_t		 n;
	int		 fd;

	if (path == NULL || *path == '\0') {
		if (getenv("HOME") == NULL)
			return 0;
		snprintf(def, sizeof(def), "%s/.config/pyro/"
		    "registry-credentials", getenv("HOME"));
		path = def;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return errno == ENOENT ? 0 : oerr_set(e, PYRO_ERR_PERMISSION_DENIED,
		    "cannot read the credentials file %.200s: %s", path,
		    strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_uid != geteuid() || (st.st_mode & 077) != 0) {
		close(fd);
		return oerr_set(e, PYRO_ERR_PERMISSION_DENIED, "the credentials file "
		    "%.200s must be a regular file of yours that nobody else "
		    "can read (chmod 600)", path);
	}
	/* read(2) into a buffer of ours, so that every copy is wiped. */
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return oerr_set(e, PYRO_ERR_IO, "reading the credentials file: "
		    "%s", strerror(errno));
	buf[n] = '\0';
	for (line = strtok_r(buf, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == '#' || sscanf(line, "%299s %255s %255s", h, u,
		    pw) != 3)
			continue;
		if (strcmp(h, r->host) == 0) {
			memcpy(r->user, u, sizeof(u));
			memcpy(r->pass, pw, sizeof(pw));
			r->have_creds = 1;
			break;
		}
	}
	explicit_bzero(pw, sizeof(pw));
	explicit_bzero(buf, sizeof(buf));
	return 0;
}

/* What every registry handle needs: the stall bound, a curl handle. */
static int
reg_init(struct reg *r, int push, struct oerr *e)
{
	const char	*s = getenv("PYRO_REGISTRY_STALL_SECONDS");

	memset(r, 0, sizeof(*r));
	r->push = push;
	r->stall_s = STALL_DEFAULT;
	if (s != NULL && *s != '\0') {
		r->stall_s = strtol(s, NULL, 10);
		if (r->stall_s < 1 || r->stall_s > 3600)
			return oerr_set(e, PYRO_ERR_INVALID_ARGUMENT,
			    "PYRO_REGISTRY_STALL_SECONDS is 1-3600");
	}
	return 0;
}

static int
reg_start(struct reg *r, struct oerr *e)
{
	if (load_creds(r, e) < 0)
		return -1;
	if ((r->curl = curl_easy_init()) == NULL)
		return oerr_set(e, PYRO_ERR_INTERNAL, "curl_easy_init failed");
	return 0;
}

int
reg_open(struct reg *r, const char *url, const char *name, int push,
    struct oerr *e)
{
	if (reg_init(r, push, e) < 0 || parse_target(r, url, name, e) < 0)
		return -1;
	return reg_start(r, e);
}

/*
 * An image reference: [http(s)://]HOST[:PORT]/REPO[:TAG|@sha256:HEX];
 * https when no scheme is given, tag "latest" when none is.
 */
int
reg_open_image(struct reg *r, const char *ref, struct oerr *e)
{
	char		 url[1200], name[700];
	const char	*s = ref, *slash, *at, *colon, *last;
	int		 http = 0;

	if (reg_init(r, 0, e) < 0)
		return -1;
	if (strncmp(s, "http://", 7) == 0) {
		http = 1;
		s += 7;
	} else if (strncmp(s, "https://", 8) == 0)
		s += 8;
	if ((slash = strchr(s, '/')) == NULL || strlen(ref) >= sizeof(name))
		return oerr_set(e, PYRO_ERR_INVALID_ARGUMENT, "an image is "
		    "HOST[:PORT]/REPOSITORY[:TAG|@sha256:...] (%.100s)", ref);
	at = strchr(slash, '@');
	last = strrchr(slash, '/');
	colon = strchr(last, ':');
	snprintf(url, sizeof(url), "%s%.*s", http ? "http://" : "https://",
	    (int)(slash - s), s);
	/* parse_target takes NAMESPACE in the URL and NAME:TAG apart. */
	snprintf(url + strlen(url), sizeof(url) - strlen(url), "%.*s",
	    (int)(last - slash), slash);
	if (at != NULL) {
		if (!oci_digest_ok(at + 1))
			return oerr_set(e, PYRO_ERR_INVALID_ARGUMENT, "an image "
			    "digest is @sha256:<64 hex>");
		snprintf(name, sizeof(name), "%.*s:latest", (int)(at - last - 1),
		    last + 1);
	} else if (colon != NULL)
		snprintf(name, sizeof(name), "%s", last + 1);
	else
		snprintf(name, sizeof(name), "%s:latest", last + 1);
	if (parse_target(r, url, name, e) < 0)
		return oerr_set(e, PYRO_ERR_INVALID_ARGUMENT, "an image is "
		    "HOST[:PORT]/REPOSITORY[:TAG|@sha256:...], lower-case "
		    "(%.100s)", ref);
	if (at != NULL)
		snprintf(r->tag, sizeof(r->tag), "%s", at + 1);
	return reg_start(r, e);
}

void
reg_close(struct reg *r)
{
	if (r->curl != NULL)
		curl_easy_cleanup(r->curl);
	explicit_bzero(r->pass, sizeof(r->pass));
	explicit_bzero(r->authz, sizeof(r->authz));
	r->curl = NULL;
}

struct call {
	struct hsink	*sink;
	struct hsrc	*src;
	struct hresp	*resp;
	CURL		*curl;
	unsigned long long range_from;
	char		 ebuf[2048];	/* a non-2xx body, for its error code */
	size_t		 elen;
};

static void
hcopy(char *dst, size_t size, const char *v, size_t n)
{
	while (n > 0 && (v[n - 1] == '\r' || v[n - 1] == '\n' ||
	    v[n - 1] == ' '))
		n--;
	if (n >= size)
		n = size - 1;
	memcpy(dst, v, n);
	dst[n] = '\0';
}

static size_t
on_header(char *b, size_t sz, size_t nm, void *arg)
{
	struct call	*c = arg;
	struct hresp	*h = c->resp;
	size_t		 n = sz * nm, k;
	const char	*v;
	static const struct {
		const char	*name;
		size_t		 off, size;
	} keep[] = {
#define H(n, f)	{ n, offsetof(struct hresp, f), sizeof(((struct hresp *)0)->f) }
		H("content-type", ctype),
		H("location", location),
		H("www-authenticate", www),
		H("docker-content-digest", digest),
		H("content-range", crange),
#undef H
	};

	if (n >= 5 && strncmp(b, "HTTP/", 5) == 0) {	/* a new response */
		memset(h, 0, sizeof(*h));
		c->elen = 0;
		return n;
	}
	for (k = 0; k < sizeof(keep) / sizeof(keep[0]); k++) {
		size_t l = strlen(keep[k].name);

		if (n > l + 1 && strncasecmp(b, keep[k].name, l) == 0 &&
		    b[l] == ':') {
			for (v = b + l + 1; v < b + n && *v == ' '; v++)
				;
			hcopy((char *)h + keep[k].off, keep[k].size, v,
			    (size_t)(b + n - v));
		}
	}
	return n;
}

static void
report(struct hsink *s, int last)
{
	unsigned long long	done = s->base + s->got;

	if (s->label == NULL || (!last && done < s->next_report) ||
	    (last && done == s->reported))
		return;
	s->reported = done;
	progress("[%s] phase=download layer=%s bytes=%llu/%llu\n",
	    verb, s->label, done, s->total);
	s->next_report = done + REPORT_STEP;
}

static size_t
on_body(char *b, size_t sz, size_t nm, void *arg)
{
	struct call	*c = arg;
	struct hsink	*s = c->sink;
	size_t		 n = sz * nm, off;
	long		 code = 0;
	ssize_t		 w;

	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &code);
	if (code < 200 || code > 299 || s == NULL) {
		/* An error's body: a little of it, for its code. */
		off = sizeof(c->ebuf) - 1 - c->elen;
		if (off > n)
			off = n;
		memcpy(c->ebuf + c->elen, b, off);
		c->elen += off;
		c->ebuf[c->elen] = '\0';
		return n;
	}
	if (c->range_from > 0 && code == 200) {
		s->norange = 1;		/* the whole blob: start again */
		return 0;
	}
	if (s->got + n > s->limit) {
		s->over = 1;
		return 0;
	}
	if (s->sha != NULL)
		sha256_update(s->sha, n, (const uint8_t *)b);
	if (s->fd >= 0) {
		for (off = 0; off < n; off += (size_t)w)
			if ((w = write(s->fd, b + off, n - off)) <= 0)
				return 0;
	} else {
		if (s->len + n > s->max) {
			s->over = 1;
			return 0;
		}
		memcpy(s->buf + s->len, b, n);
		s->len += n;
		s->buf[s->len] = '\0';
	}
	s->got += n;
	report(s, 0);
	return n;
}

static size_t
on_read(char *b, size_t sz, size_t nm, void *arg)
{
	struct hsrc		*s = arg;
	unsigned long long	 left = s->len - s->pos;
	size_t			 n = sz * nm;
	ssize_t			 r;

	if (n > left)
		n = (size_t)left;
	if (n == 0)
		return 0;
	if (s->buf != NULL)
		memcpy(b, s->buf + s->pos, n);
	else if ((r = pread(s->fd, b, n, s->off + (off_t)s->pos)) <= 0)
		return CURL_READFUNC_ABORT;
	else
		n = (size_t)r;
	s->pos += n;
	return n;
}

static int
on_seek(void *arg, curl_off_t off, int origin)
{
	struct hsrc	*s = arg;

	if (origin != SEEK_SET || off < 0 || (unsigned long long)off > s->len)
		return CURL_SEEKFUNC_FAIL;
	s->pos = (unsigned long long)off;
	return CURL_SEEKFUNC_OK;
}

/* A transport failure, as the user should read it. */
static int
curl_fail(struct reg *r, CURLcode cc, const struct hsink *s, struct oerr *e)
{
	if (s != NULL && s->norange)
		return oerr_set(e, OE_UNAVAILABLE, "the registry ignored a "
		    "Range request");
	if (s != NULL && s->over)
		return s->fd >= 0 ? oerr_set(e, OE_DIGEST, "the registry sent "
		    "more bytes than the blob's descriptor says") :
		    oerr_set(e, OE_MANIFEST, "the registry's answer is larger "
		    "than pyro reads (%zu bytes)", s->max);
	switch (cc) {
	case CURLE_OPERATION_TIMEDOUT:
		return oerr_set(e, PYRO_ERR_TIMEOUT, "the registry %s sent nothing "
		    "for %ld s (PYRO_REGISTRY_STALL_SECONDS)", r->base,
		    r->stall_s);
	case CURLE_TOO_MANY_REDIRECTS:
		return oerr_set(e, OE_UNAVAILABLE, "the registry %s redirects "
		    "in a loop (more than 5 redirects)", r->base);
	case CURLE_UNSUPPORTED_PROTOCOL:
		return oerr_set(e, OE_UNAVAILABLE, "the registry %s redirects "
		    "to a URL that is not http(s)", r->base);
	default:
		return oerr_set(e, OE_UNAVAILABLE, "the registry %s: %s",
		    r->base, curl_easy_strerror(cc));
	}
}

static int
do_once(struct reg *r, const char *method, const char *url,
    const char *const *headers, struct hsrc *src, struct hsink *sink,
    unsigned long long range_from, struct hresp *resp, struct oerr *e,
    char *ebody, size_t esize)
{
	struct curl_slist	*hl = NULL;
	struct call		 c;
	char			 range[48];
	CURLcode		 cc;
	CURL			*h = r->curl;
	int			 i, same_host;

	memset(&c, 0, sizeof(c));
	memset(resp, 0, sizeof(*resp));
	c.sink = sink;
	c.src = src;
	c.resp = resp;
	c.curl = h;
	c.range_from = range_from;
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(h, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, r->stall_s);
	/* Under 1 KiB/s for stall_s seconds is a stall, not a transfer. */
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1024L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, r->stall_s);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "pyro/" PACKAGE_VERSION);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, &c);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &c);
	for (i = 0; headers != NULL && headers[i] != NULL; i++)
		hl = curl_slist_append(hl, headers[i]);
	/* The Authorization header goes to the registry's host only; curl
	 * drops it on a redirect elsewhere (blob storage). */
	same_host = strncmp(url, r->base, strlen(r->base)) == 0 &&
	    (url[strlen(r->base)] == '/' || url[strlen(r->base)] == '\0');
	if (r->authz[0] != '\0' && same_host)
		hl = curl_slist_append(hl, r->authz);
	hl = curl_slist_append(hl, "Expect:");
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	else if (strcmp(method, "GET") != 0)
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	if (src != NULL) {
		src->pos = 0;
		curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(h, CURLOPT_READDATA, src);
		curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, on_seek);
		curl_easy_setopt(h, CURLOPT_SEEKDATA, src);
		curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE,
		    (curl_off_t)src->len);
	} else if (strcmp(method, "PUT") == 0 || strcmp(method, "POST") == 0 ||
	    strcmp(method, "PATCH") == 0) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, 0L);
	}
	if (range_from > 0) {
		snprintf(range, sizeof(range), "%llu-", range_from);
		curl_easy_setopt(h, CURLOPT_RANGE, range);
	}
	cc = curl_easy_perform(h);
	curl_slist_free_all(hl);
	if (ebody != NULL)
		snprintf(ebody, esize, "%s", c.ebuf);
	if (cc != CURLE_OK)
		return curl_fail(r, cc, sink, e);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
	if (sink != NULL)
		report(sink, 1);
	return 0;
}

static char *
url_of(const struct reg *r, const char *path)
{
	char	*u;
	size_t	 n = strlen(r->base) + strlen(r->repo) + strlen(path) + 16;

	if ((u = malloc(n)) == NULL)
		return NULL;
	if (strncmp(path, "http://", 7) == 0 || strncmp(path, "https://",
	    8) == 0)
		snprintf(u, n, "%s", path);
	else if (path[0] == '/')
		snprintf(u, n, "%s%s", r->base, path);
	else
		snprintf(u, n, "%s/v2/%s/%s", r->base, r->repo, path);
	return u;
}

/* The printable error code of a registry's JSON error body, or "". */
static void
reg_error_code(const char *body, char *out, size_t size)
{
	cJSON		*d = cJSON_Parse(body);
	const char	*s;
	size_t		 i;

	out[0] = '\0';
	s = cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(
	    cJSON_GetObjectItem(d, "errors"), 0), "code"));
	if (s != NULL && strlen(s) < size) {
		for (i = 0; s[i] != '\0'; i++)
			if (!isupper((unsigned char)s[i]) && s[i] != '_')
				break;
		if (s[i] == '\0')
			snprintf(out, size, "%s", s);
	}
	cJSON_Delete(d);
}

static char	last_ebody[2048];

int
reg_status(const struct reg *r, const struct hresp *h, const char *what,
    const struct hsink *s, struct oerr *e)
{
	char	code[48], note[64] = "";

	if (h->status >= 200 && h->status <= 299)
		return 0;
	reg_error_code(last_ebody, code, sizeof(code));
	if (code[0] != '\0')
		snprintf(note, sizeof(note), " (%s)", code);
	if (h->status == 401 || h->status == 403)
		return oerr_set(e, OE_UNAUTHORIZED, "the registry %s refused "
		    "%s: HTTP %ld%s; give credentials in "
		    "PYRO_REGISTRY_CREDENTIALS (see pyro(1))", r->base, what,
		    h->status, note);
	if (h->status == 404)
		return oerr_set(e, PYRO_ERR_NOT_FOUND, "the registry %s has no %s "
		    "(HTTP 404%s%s)", r->base, what, code[0] ? ", " : "", code);
	if (h->status == 429 || h->status >= 500)
		return oerr_set(e, OE_UNAVAILABLE, "the registry %s failed on "
		    "%s: HTTP %ld%s; try again later", r->base, what,
		    h->status, note);
	return oerr_set(e, OE_UNAVAILABLE, "the registry %s answered %s "
	    "with HTTP %ld%s", r->base, what, h->status, note);
}

/*
 * Credentials cross the network only under TLS: over http they go to a
 * registry on this host's loopback alone.
 */
static int
creds_may_go(const struct reg *r)
{
	const char	*h = r->host;

	if (strncmp(r->base, "https://", 8) == 0)
		return 1;
	return strncmp(h, "127.", 4) == 0 || (strncmp(h, "localhost", 9) ==
	    0 && (h[9] == '\0' || h[9] == ':')) || strncmp(h, "[::1]", 5) == 0;
}

static int
set_basic(struct reg *r)
{
	char	plain[520], enc[BASE64_ENCODE_RAW_LENGTH(520) + 1];
	size_t	n;

	n = (size_t)snprintf(plain, sizeof(plain), "%s:%s", r->user, r->pass);
	if (n >= sizeof(plain))
		return -1;
	base64_encode_raw((char *)enc, n, (const uint8_t *)plain);
	enc[BASE64_ENCODE_RAW_LENGTH(n)] = '\0';
	snprintf(r->authz, sizeof(r->authz), "Authorization: Basic %s", enc);
	explicit_bzero(plain, sizeof(plain));
	explicit_bzero(enc, sizeof(enc));
	return 0;
}

/* A token from the challenge's realm: Bearer auth from now on. */
static int
take_token(struct reg *r, const struct oci_challenge *ch, struct oerr *e)
{
	char		 url[2048], scope[600], body[SMALL_MAX + 1];
	char		*esc_s, *esc_c;
	struct hsink	 s = { .buf = body, .max = SMALL_MAX, .fd = -1,
			    .limit = SMALL_MAX };
	struct hresp	 h;
	struct reg	 t = *r;
	cJSON		*d;
	const char	*tok;
	size_t		 i;
	int		 rc;

	snprintf(scope, sizeof(scope), "repository:%s:%s", r->repo,
	    r->push ? "pull,push" : "pull");
	esc_s = curl_easy_escape(r->curl, ch->service, 0);
	esc_c = curl_easy_escape(r->curl, scope, 0);
	snprintf(url, sizeof(url), "%s%sservice=%s&scope=%s", ch->realm,
	    strchr(ch->realm, '?') ? "&" : "?", esc_s ? esc_s : "",
	    esc_c ? esc_c : "");
	curl_free(esc_s);
	curl_free(esc_c);
	/* Basic credentials go to the token service only when the realm is
	 * on the registry's own host (a registry cannot send them away). */
	t.authz[0] = '\0';
	if (r->have_creds && creds_may_go(r) && strncmp(ch->realm, r->base,
	    strlen(r->base)) == 0 && (ch->realm[strlen(r->base)] == '/' ||
	    ch->realm[strlen(r->base)] == '\0'))
		set_basic(&t);
	rc = do_once(&t, "GET", url, NULL, NULL, &s, 0, &h, e, last_ebody,
	    sizeof(last_ebody));
	explicit_bzero(&t, sizeof(t));
	if (rc < 0)
		return -1;
	if (reg_status(r, &h, "a token", &s, e) < 0)
		return -1;
	d = cJSON_ParseWithLength(body, s.len);
	tok = cJSON_GetStringValue(cJSON_GetObjectItem(d, "token"));
	if (tok == NULL)
		tok = cJSON_GetStringValue(cJSON_GetObjectItem(d,
		    "access_token"));
	for (i = 0; tok != NULL && tok[i] != '\0'; i++)
		if (!isgraph((unsigned char)tok[i]))
			break;
	if (tok == NULL || i == 0 || tok[i] != '\0' || i > 4000) {
		cJSON_Delete(d);
		return oerr_set(e, OE_UNAUTHORIZED, "the registry's token "
		    "service at %.200s sent no usable token", r->base);
	}
	snprintf(r->authz, sizeof(r->authz), "Authorization: Bearer %s", tok);
	cJSON_Delete(d);
	explicit_bzero(body, sizeof(body));
	return 0;
}

/* Answer a 401's challenge: 0 when a retry may succeed. */
static int
answer(struct reg *r, const struct hresp *h, struct oerr *e)
{
	struct oci_challenge	ch;

	if (oci_parse_bearer(h->www, &ch) == 0)
		return take_token(r, &ch, e);
	if (strncasecmp(h->www, "Basic", 5) == 0 && r->have_creds &&
	    !creds_may_go(r))
		return oerr_set(e, OE_UNAUTHORIZED, "the registry %s wants "
		    "credentials over plain http; pyro sends them only over "
		    "https (or to this host's loopback)", r->base);
	if (strncasecmp(h->www, "Basic", 5) == 0 && r->have_creds &&
	    strncmp(r->authz, "Authorization: Basic", 20) != 0)
		return set_basic(r) < 0 ? oerr_set(e, PYRO_ERR_INVALID_ARGUMENT,
		    "the credentials are too long") : 0;
	return oerr_set(e, OE_UNAUTHORIZED, "the registry %s wants "
	    "credentials (HTTP 401%s); put \"%s USER PASSWORD\" in the file "
	    "PYRO_REGISTRY_CREDENTIALS names (default ~/.config/pyro/"
	    "registry-credentials, mode 600)", r->base, r->have_creds ?
	    ", and refused the ones given" : "", r->host);
}

int
reg_login(struct reg *r, struct oerr *e)
{
	struct hresp	h;

	if (reg_do(r, "GET", "/v2/", NULL, NULL, NULL, 0, &h, e) < 0)
		return -1;
	return reg_status(r, &h, "the API check (/v2/)", NULL, e);
}

int
reg_do(struct reg *r, const char *method, const char *path,
    const char *const *headers, struct hsrc *src, struct hsink *sink,
    unsigned long long range_from, struct hresp *h, struct oerr *e)
{
	char	*url;
	int	 rc, tries;

	if ((url = url_of(r, path)) == NULL)
		return oerr_set(e, PYRO_ERR_INTERNAL, "out of memory");
	for (tries = 0; ; tries++) {
		if (sink != NULL) {
			sink->got = 0;
			sink->len = 0;
			sink->over = 0;	/* only a 2xx body is kept */
			sink->norange = 0;
		}
		rc = do_once(r, method, url, headers, src, sink, range_from,
		    h, e, last_ebody, sizeof(last_ebody));
		if (rc < 0 || h->status != 401 || tries > 0)
			break;
		/* A challenge: a token (or basic auth), then once more. */
		if ((rc = answer(r, h, e)) < 0)
			break;
	}
	free(url);
	return rc;
}
