/*
 * pyro-oci: environments to and from an OCI registry (pyro env push,
 * pyro env pull).  It runs as the calling user, started by libpyro with
 * its progress lines on stdout and one JSON result on fd 3; libcurl,
 * compression and every byte a registry sends stay in this process, out
 * of libpyro (and so out of the CLI, the MCP server and the Python SDK).
 *
 *	reg.c	registry URLs, HTTP over libcurl, the token and basic flows
 *	blob.c	blobs: digests, zstd packing, sparse unpacking
 *	pull.c	manifest, downloads with resume, checks, atomic install
 *	push.c	chunked uploads, present blobs skipped, the manifest last
 */
#ifndef PYRO_OCITOOL_H
#define PYRO_OCITOOL_H

#include <sys/types.h>

#include <stdio.h>

#include <curl/curl.h>
#include <nettle/sha2.h>

#include "oci.h"
#include "pyro/errcodes.h"

/* One error for the whole tool: a stable code and a printable reason. */
struct oerr {
	char	code[40];
	char	msg[600];
};
int	oerr_set(struct oerr *, const char *code, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

#define OE_UNAUTHORIZED	PYRO_ERR_REGISTRY_UNAUTHORIZED
#define OE_UNAVAILABLE	PYRO_ERR_REGISTRY_UNAVAILABLE
#define OE_MANIFEST	PYRO_ERR_INVALID_MANIFEST
#define OE_DIGEST	PYRO_ERR_DIGEST_MISMATCH

struct reg {
	char		 base[512];	/* scheme://authority, no slash */
	char		 host[300];	/* authority, for the credentials */
	char		 ns[256];	/* the namespace, may be "" */
	char		 repo[400];	/* ns/name */
	char		 tag[130];
	char		 authz[4200];	/* an Authorization: header, or "" */
	char		 user[256];
	char		 pass[256];
	int		 have_creds;
	int		 push;		/* scope: pull,push */
	long		 stall_s;	/* no byte for this long: timeout */
	CURL		*curl;
};

/* Where a response body goes. */
struct hsink {
	char			*buf;		/* small bodies, NUL-ended */
	size_t			 len, max;
	int			 fd;		/* or a file (blobs) */
	struct sha256_ctx	*sha;		/* hashed as it arrives */
	unsigned long long	 got, limit;	/* limit: more is an error */
	int			 over;
	int			 norange;	/* asked a range, got 200 */
	const char		*label;		/* progress: layer title */
	unsigned long long	 base, total;	/* progress: resumed, whole */
	unsigned long long	 next_report, reported;
};

/* Where a request body comes from: a buffer or a file range. */
struct hsrc {
	const char		*buf;
	int			 fd;
	off_t			 off;
	unsigned long long	 len, pos;
};

struct hresp {
	long			status;
	char			ctype[160];
	char			location[2048];
	char			www[1024];
	char			digest[80];
	char			crange[96];
};

int	reg_open(struct reg *, const char *url, const char *name, int push,
	    struct oerr *);
void	reg_close(struct reg *);
/* GET /v2/: learns the challenge and takes a token (or basic auth). */
int	reg_login(struct reg *, struct oerr *);
/*
 * One request to path (under /v2/REPO/, or an absolute URL from a
 * Location).  Only transport failures are errors here; the status is in
 * resp for the caller to judge (reg_status() turns it into an error).
 */
int	reg_do(struct reg *, const char *method, const char *path,
	    const char *const *headers, struct hsrc *, struct hsink *,
	    unsigned long long range_from, struct hresp *, struct oerr *);
int	reg_status(const struct reg *, const struct hresp *, const char *what,
	    const struct hsink *, struct oerr *);

/* blob.c */
void	sha_hex(struct sha256_ctx *, char out[65]);
int	file_sha256_fd(int fd, struct sha256_ctx *, unsigned long long *len);
/* Pack src into dst (zstd) and hash what was written. */
int	blob_pack(int src, int dst, char digest[72], unsigned long long *size,
	    struct oerr *);
/* Unpack a verified blob of kind layer into dst (sparse), hashing the
 * output; max: the part's size from the environment's manifest. */
int	blob_unpack(int src, int layer, int dst, unsigned long long max,
	    char hex[65], unsigned long long *size, struct oerr *);

struct cJSON;
struct cJSON	*cmd_pull(const char *url, const char *name, const char *cache,
		    const char *agent_sha, int force, struct oerr *);
struct cJSON	*cmd_push(const char *url, const char *name, const char *cache,
		    struct oerr *);
/* Make and lock CACHE/.staging-VERB-NAME: its fd, or -1. */
int	staging_open(int cachefd, const char *what, const char *name,
	    char *path, size_t size, struct oerr *);
/* A small file (at most max bytes) beneath dirfd, NUL-ended, malloc'd. */
char	*read_small_at(int dirfd, const char *name, size_t max, size_t *len);

/* pull.c, shared with image.c */
char	*get_manifest(struct reg *, const char *ref, const char *what,
	    struct oci_manifest *, char digest[72], struct oerr *);
int	fetch_blob(struct reg *, int dfd, const struct oci_desc *,
	    unsigned long long *fetched, struct oerr *);
/* Remove from a staging directory what m does not name. */
void	sweep_foreign(int dfd, const struct oci_manifest *);
int	install_dir(int cachefd, const char *stage, const char *name,
	    struct oerr *);
int	write_file_at(int dirfd, const char *name, const char *data,
	    size_t len);
int	cache_open(const char *cache, struct oerr *);

/* reg.c: an image reference [http(s)://]HOST[:PORT]/REPO[:TAG|@DIGEST] */
int	reg_open_image(struct reg *, const char *ref, struct oerr *);

/* image.c */
struct cJSON	*cmd_import(const char *ref, const char *name,
		    const char *cache, const char *base, struct oerr *);

/* Progress lines go to stdout ("[VERB] phase=..."); the result to fd 3. */
extern const char *verb;	/* "pull", "import" */
void	progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));


#endif
