/*
 * libpyro: workspaces, their snapshots, shells and services.  Host paths
 * (seed, sync source, secret files, export output) are opened here, by the
 * caller's process with the caller's rights; pyrod only sees streams.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "clock.h"
#include "internal.h"

#define SECRET_FILE_MAX		(64 * 1024)

#define werr pyro__fail

/* Call op with args (consumed), passing fd when >= 0. */
static int
wcall(pyro_client *c, const char *op, cJSON *args, int fd, char **result,
    pyro_error *err)
{
	char	*text;
	int	 rc;

	if (args == NULL || (text = cJSON_PrintUnformatted(args)) == NULL) {
		cJSON_Delete(args);
		return werr(err, PYRO_ERR_INTERNAL, "out of memory");
	}
	cJSON_Delete(args);
	rc = pyro__call_fd(c, op, text, fd, result, err);
	free(text);
	return rc;
}

static cJSON *
ws_args(const char *id)
{
	cJSON	*a = cJSON_CreateObject();

	if (a != NULL)
		cJSON_AddStringToObject(a, "workspace_id", id ? id : "");
	return a;
}

static cJSON *
opts(const char *options_json, pyro_error *err)
{
	cJSON	*o;

	if (options_json == NULL)
		return cJSON_CreateObject();
	if ((o = cJSON_Parse(options_json)) == NULL || !cJSON_IsObject(o)) {
		cJSON_Delete(o);
		werr(err, PYRO_ERR_INVALID_ARGUMENT, "options_json must be a JSON "
		    "object");
		return NULL;
	}
	return o;
}

static void
put_str(cJSON *a, const char *key, const char *val)
{
	cJSON_DeleteItemFromObjectCaseSensitive(a, key);
	if (val != NULL)
		cJSON_AddStringToObject(a, key, val);
}

/* The command rule of ops.c: one argument is a sh -lc command line. */
static void
put_argv(cJSON *a, const char *const *argv)
{
	cJSON	*arr;

	cJSON_DeleteItemFromObjectCaseSensitive(a, "argv");
	cJSON_DeleteItemFromObjectCaseSensitive(a, "command");
	if (argv[0] != NULL && argv[1] == NULL) {
		cJSON_AddStringToObject(a, "command", argv[0]);
		return;
	}
	arr = cJSON_AddArrayToObject(a, "argv");
	for (; *argv != NULL; argv++)
		cJSON_AddItemToArray(arr, cJSON_CreateString(*argv));
}

/* Read a secret file (as the caller) into a string. */
static int
read_secret_file(const char *path, char **out, pyro_error *err)
{
	struct stat	 st;
	char		*buf;
	ssize_t		 n;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return werr(err, PYRO_ERR_NOT_FOUND, "secret file %s: %s", path,
		    strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_size > SECRET_FILE_MAX || st.st_size == 0) {
		close(fd);
		return werr(err, PYRO_ERR_INVALID_ARGUMENT, "secret file %s must be "
		    "a regular file of 1 to %d bytes", path, SECRET_FILE_MAX);
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		close(fd);
		return werr(err, PYRO_ERR_INTERNAL, "out of memory");
	}
	n = read(fd, buf, (size_t)st.st_size);
	close(fd);
	if (n != st.st_size || memchr(buf, '\0', (size_t)n) != NULL) {
		free(buf);
		return werr(err, PYRO_ERR_INVALID_ARGUMENT, "secret file %s could not "
		    "be read whole, or holds a NUL byte", path);
	}
	buf[n] = '\0';
	*out = buf;
	return 0;
}

/*
 * "secrets" may be {"NAME": "VALUE"} or [{"name","value"}];
 * "secret_files" is {"NAME": "PATH"}.  pyrod gets one array.
 */
static int
gather_secrets(cJSON *a, pyro_error *err)
{
	cJSON	*in = cJSON_DetachItemFromObjectCaseSensitive(a, "secrets");
	cJSON	*files = cJSON_DetachItemFromObjectCaseSensitive(a,
		    "secret_files");
	cJSON	*out = cJSON_CreateArray(), *it, *o;
	char	*val = NULL;
	int	 rc = 0;

	if (cJSON_IsArray(in))
		cJSON_ArrayForEach(it, in)
			cJSON_AddItemToArray(out, cJSON_Duplicate(it, 1));
	else if (cJSON_IsObject(in))
		cJSON_ArrayForEach(it, in) {
			o = cJSON_CreateObject();
			cJSON_AddStringToObject(o, "name", it->string);
			cJSON_AddItemToObject(o, "value",
			    cJSON_Duplicate(it, 1));
			cJSON_AddItemToArray(out, o);
		}
	else if (in != NULL && !cJSON_IsNull(in))
		rc = werr(err, PYRO_ERR_INVALID_ARGUMENT, "\"secrets\" must be an "
		    "object {NAME: VALUE} or an array of {name, value}");
	if (rc == 0 && files != NULL && !cJSON_IsNull(files)) {
		if (!cJSON_IsObject(files))
			rc = werr(err, PYRO_ERR_INVALID_ARGUMENT, "\"secret_files\" "
			    "must be an object {NAME: PATH}");
		else
			cJSON_ArrayForEach(it, files) {
				if (!cJSON_IsString(it)) {
					rc = werr(err, PYRO_ERR_INVALID_ARGUMENT,
					    "secret file paths are strings");
					break;
				}
				if ((rc = read_secret_file(it->valuestring,
				    &val, err)) < 0)
					break;
				o = cJSON_CreateObject();
				cJSON_AddStringToObject(o, "name", it->string);
				cJSON_AddStringToObject(o, "value", val);
				explicit_bzero(val, strlen(val));
				free(val);
				cJSON_AddItemToArray(out, o);
			}
	}
	cJSON_Delete(in);
	cJSON_Delete(files);
	if (rc < 0) {
		cJSON_Delete(out);
		return -1;
	}
	cJSON_AddItemToObject(a, "secrets", out);
	return 0;
}

/* Merge the counts of what was packed into the result. */
static void
add_counts(char **result, uint64_t files, uint64_t dirs, uint64_t links,
    uint64_t bytes, const char *kind)
{
	cJSON	*r, *o;

	if (result == NULL || *result == NULL ||
	    (r = cJSON_Parse(*result)) == NULL)
		return;
	o = cJSON_AddObjectToObject(r, "transfer");
	cJSON_AddNumberToObject(o, "files", (double)files);
	cJSON_AddNumberToObject(o, "directories", (double)dirs);
	cJSON_AddNumberToObject(o, "symlinks", (double)links);
	cJSON_AddNumberToObject(o, "bytes", (double)bytes);
	if (kind != NULL)
		cJSON_AddStringToObject(o, "source_kind", kind);
	free(*result);
	*result = cJSON_PrintUnformatted(r);
	cJSON_Delete(r);
}

/* A call that streams a packed source to pyrod. */
static int
call_with_pack(pyro_client *c, const char *op, cJSON *a, const char *src,
    char **result, pyro_error *err)
{
	struct pyro_pack	*p;
	pyro_progress_fn	 pfn;
	void			*parg;
	pyro_error		 perr;
	int			 rfd = -1, rc, prc;

	if ((p = calloc(1, sizeof(*p))) == NULL) {
		cJSON_Delete(a);
		return werr(err, PYRO_ERR_INTERNAL, "out of memory");
	}
	pfn = pyro__progress_of(c, &parg);
	if (pyro__pack_start_progress(p, src, &rfd, pfn, parg, err) < 0) {
		cJSON_Delete(a);
		free(p);
		return -1;
	}
	if (strcmp(op, "workspace.create") == 0) {
		cJSON_AddTrueToObject(a, "seed");
		cJSON_AddStringToObject(a, "seed_kind", pyro__pack_kind(p));
	}
	rc = wcall(c, op, a, rfd, result, err);
	close(rfd);		/* pyrod holds its own copy now */
	prc = pyro__pack_finish(p, &perr);
	if (pfn != NULL && rc == 0 && prc == 0)
		pfn(parg, "send", p->total_bytes, p->total_bytes,
		    p->total_files, p->total_files);
	if (rc == 0 && prc < 0) {
		if (err != NULL)
			*err = perr;
		free(*result);
		*result = NULL;
		rc = -1;
	}
	if (rc == 0)
		add_counts(result, p->files, p->dirs, p->links, p->bytes,
		    pyro__pack_kind(p));
	free(p);
	return rc;
}

int
pyro_workspace_create(pyro_client *c, const char *environment,
    const char *options_json, char **result, pyro_error *err)
{
	cJSON	*a, *seed;
	char	*src;
	int	 rc;

	if (result != NULL)
		*result = NULL;
	if (environment == NULL)
		return werr(err, PYRO_ERR_INVALID_ARGUMENT, "an environment is "
		    "required");
	if ((a = opts(options_json, err)) == NULL)
		return -1;
	put_str(a, "environment", environment);
	if (gather_secrets(a, err) < 0) {
		cJSON_Delete(a);
		return -1;
	}
	seed = cJSON_DetachItemFromObjectCaseSensitive(a, "seed_path");
	cJSON_DeleteItemFromObjectCaseSensitive(a, "seed");
	if (seed == NULL || cJSON_IsNull(seed)) {
		cJSON_Delete(seed);
		return wcall(c, "workspace.create", a, -1, result, err);
	}
	if (!cJSON_IsString(seed)) {
		cJSON_Delete(seed);
		cJSON_Delete(a);
		return werr(err, PYRO_ERR_INVALID_ARGUMENT, "\"seed_path\" must be a "
		    "string");
	}
	src = strdup(seed->valuestring);
	cJSON_Delete(seed);
	rc = call_with_pack(c, "workspace.create", a, src, result, err);
	free(src);
	return rc;
}

int
pyro_workspace_sync_push(pyro_client *c, const char *id,
    const char *source_path, const char *dest, char **result,
    pyro_error *err)
{
	cJSON	*a = ws_args(id);

	if (result != NULL)
		*result = NULL;
	if (dest != NULL)
		put_str(a, "dest", dest);
	return call_with_pack(c, "workspace.sync_push", a, source_path,
	    result, err);
}

/* An export's stream, fed to the unpacking thread; counted for progress. */
struct export_feed {
	struct pyro_unpack	*u;
	pyro_progress_fn	 fn;
	void			*arg;
	unsigned long long	 bytes;
	long long		 last;		/* ms of the last report, 0: none */
};

static void
export_output(void *arg, int fd, const void *data, size_t len)
{
	struct export_feed	*f = arg;
	long long		 now = pyro_mono_ms();

	if (fd != 1)
		return;
	pyro__unpack_feed(f->u, data, len);
	f->bytes += len;
	if (f->fn == NULL || (f->last != 0 && now < f->last + 100))
		return;
	f->last = now;
	f->fn(f->arg, "receive", f->bytes, 0, __atomic_load_n(&f->u->files,
	    __ATOMIC_RELAXED), 0);
}

int
pyro_workspace_export(pyro_client *c, const char *id, const char *path,
    const char *output_path, int force, char **result, pyro_error *err)
{
	struct pyro_unpack	*u;
	struct export_feed	 feed;
	pyro_output_fn		 fn = export_output;
	void			*arg;
	cJSON			*a;
	int			 rc;

	if (result != NULL)
		*result = NULL;
	if (path == NULL || output_path == NULL)
		return werr(err, PYRO_ERR_INVALID_ARGUMENT, "a path and an output "
		    "path are required");
	if ((u = calloc(1, sizeof(*u))) == NULL)
		return werr(err, PYRO_ERR_INTERNAL, "out of memory");
	if (pyro__unpack_start(u, output_path, force, err) < 0) {
		free(u);
		return -1;
	}
	a = ws_args(id);
	put_str(a, "path", path);
	memset(&feed, 0, sizeof(feed));
	feed.u = u;
	feed.fn = pyro__progress_of(c, &feed.arg);
	arg = &feed;
	pyro__swap_output(c, &fn, &arg);
	rc = wcall(c, "workspace.export", a, -1, result, err);
	pyro__swap_output(c, &fn, &arg);
	if (pyro__unpack_finish(u, rc == 0, rc == 0 ? err : NULL) < 0 &&
	    rc == 0) {
		free(*result);
		*result = NULL;
		rc = -1;
	}
	if (rc == 0) {
		add_counts(result, u->files, u->dirs, u->links, u->bytes, NULL);
		if (result != NULL && *result != NULL) {
			cJSON *r = cJSON_Parse(*result);

			if (r != NULL) {
				cJSON_AddStringToObject(r, "output_path",
				    u->out);
				free(*result);
				*result = cJSON_PrintUnformatted(r);
				cJSON_Delete(r);
			}
		}
	}
	free(u);
	return rc;
}

#define SIMPLE(fn, op)							\
int									\
fn(pyro_client *c, const char *id, char **result, pyro_error *err)	\
{									\
	return wcall(c, op, ws_args(id), -1, result, err);		\
}

SIMPLE(pyro_workspace_delete, "workspace.delete")
SIMPLE(pyro_workspace_logs, "workspace.logs")
SIMPLE(pyro_workspace_start, "workspace.start")
SIMPLE(pyro_workspace_stop, "workspace.stop")
SIMPLE(pyro_workspace_fork, "workspace.fork")
SIMPLE(pyro_workspace_diff, "workspace.diff")
SIMPLE(pyro_snapshot_list, "workspace.snapshot_list")
SIMPLE(pyro_service_list, "workspace.service_list")

int
pyro_workspace_reset(pyro_client *c, const char *id, const char *snapshot,
    char **result, pyro_error *err)
{
	cJSON	*a = ws_args(id);

	put_str(a, "snapshot", snapshot);
	return wcall(c, "workspace.reset", a, -1, result, err);
}

int
pyro_workspace_exec(pyro_client *c, const char *id, const char *const *argv,
    const char *options_json, char **result, pyro_error *err)
{
	cJSON	*a;

	if (argv == NULL || argv[0] == NULL)
		return werr(err, PYRO_ERR_INVALID_ARGUMENT, "a command is required");
	if ((a = opts(options_json, err)) == NULL)
		return -1;
	put_str(a, "workspace_id", id);
	put_argv(a, argv);
	return wcall(c, "workspace.exec", a, -1, result, err);
}

static int
named(pyro_client *c, const char *op, const char *id, const char *key,
    const char *name, char **result, pyro_error *err)
{
	cJSON	*a = ws_args(id);

	put_str(a, key, name);
	return wcall(c, op, a, -1, result, err);
}

int
pyro_snapshot_create(pyro_client *c, const char *id, const char *name,
    char **result, pyro_error *err)
{
	return named(c, "workspace.snapshot_create", id, "snapshot_name", name,
	    result, err);
}

int
pyro_snapshot_delete(pyro_client *c, const char *id, const char *name,
    char **result, pyro_error *err)
{
	return named(c, "workspace.snapshot_delete", id, "snapshot_name", name,
	    result, err);
}

int
pyro_shell_open(pyro_client *c, const char *id, const char *options_json,
    char **result, pyro_error *err)
{
	cJSON	*a;

	if ((a = opts(options_json, err)) == NULL)
		return -1;
	put_str(a, "workspace_id", id);
	return wcall(c, "workspace.shell_open", a, -1, result, err);
}

int
pyro_shell_read(pyro_client *c, const char *id, const char *shell_id,
    long long cursor, long long max_chars, char **result, pyro_error *err)
{
	cJSON	*a = ws_args(id);

	put_str(a, "shell_id", shell_id);
	if (cursor >= 0)
		cJSON_AddNumberToObject(a, "cursor", (double)cursor);
	if (max_chars > 0)
		cJSON_AddNumberToObject(a, "max_chars", (double)max_chars);
	return wcall(c, "workspace.shell_read", a, -1, result, err);
}

int
pyro_shell_write(pyro_client *c, const char *id, const char *shell_id,
    const char *input, int append_newline, char **result, pyro_error *err)
{
	cJSON	*a = ws_args(id);

	put_str(a, "shell_id", shell_id);
	put_str(a, "input", input);
	cJSON_AddBoolToObject(a, "append_newline", append_newline != 0);
	return wcall(c, "workspace.shell_write", a, -1, result, err);
}

int
pyro_shell_signal(pyro_client *c, const char *id, const char *shell_id,
    const char *signal_name, char **result, pyro_error *err)
{
	cJSON	*a = ws_args(id);

	put_str(a, "shell_id", shell_id);
	put_str(a, "signal_name", signal_name);
	return wcall(c, "workspace.shell_signal", a, -1, result, err);
}

int
pyro_shell_close(pyro_client *c, const char *id, const char *shell_id,
    char **result, pyro_error *err)
{
	return named(c, "workspace.shell_close", id, "shell_id", shell_id,
	    result, err);
}

int
pyro_service_start(pyro_client *c, const char *id, const char *name,
    const char *const *argv, const char *options_json, char **result,
    pyro_error *err)
{
	cJSON	*a;

	if (argv == NULL || argv[0] == NULL)
		return werr(err, PYRO_ERR_INVALID_ARGUMENT, "a command is required");
	if ((a = opts(options_json, err)) == NULL)
		return -1;
	put_str(a, "workspace_id", id);
	put_str(a, "service_name", name);
	put_argv(a, argv);
	return wcall(c, "workspace.service_start", a, -1, result, err);
}

int
pyro_service_status(pyro_client *c, const char *id, const char *name,
    char **result, pyro_error *err)
{
	return named(c, "workspace.service_status", id, "service_name", name,
	    result, err);
}

int
pyro_service_stop(pyro_client *c, const char *id, const char *name,
    char **result, pyro_error *err)
{
	return named(c, "workspace.service_stop", id, "service_name", name,
	    result, err);
}

int
pyro_service_logs(pyro_client *c, const char *id, const char *name,
    long long tail_lines, char **result, pyro_error *err)
{
	cJSON	*a = ws_args(id);

	put_str(a, "service_name", name);
	if (tail_lines > 0)
		cJSON_AddNumberToObject(a, "tail_lines", (double)tail_lines);
	return wcall(c, "workspace.service_logs", a, -1, result, err);
}

/* ---- the disk tools (3.1.0) ---- */

struct entries {
	cJSON		*arr;
	pyro_event_fn	 fn;		/* the caller's handler */
	void		*arg;
};

static void
collect_entries(void *arg, const char *kind, const char *json)
{
	struct entries	*e = arg;
	cJSON		*ev, *it, *next;

	if (strcmp(kind, "disk_entries") != 0) {
		if (e->fn != NULL)
			e->fn(e->arg, kind, json);
		return;
	}
	if ((ev = cJSON_Parse(json)) == NULL)
		return;
	it = cJSON_GetObjectItem(ev, "entries");
	for (it = it ? it->child : NULL; it != NULL; it = next) {
		next = it->next;
		cJSON_AddItemToArray(e->arr, cJSON_DetachItemViaPointer(
		    cJSON_GetObjectItem(ev, "entries"), it));
	}
	cJSON_Delete(ev);
}

int
pyro_workspace_disk_list(pyro_client *c, const char *id, const char *path,
    int recursive, char **result, pyro_error *err)
{
	struct entries	 e;
	pyro_event_fn	 fn = collect_entries;
	void		*arg = &e;
	cJSON		*a = ws_args(id), *r;
	int		 rc;

	if (result != NULL)
		*result = NULL;
	put_str(a, "path", path);
	cJSON_AddBoolToObject(a, "recursive", recursive != 0);
	if ((e.arr = cJSON_CreateArray()) == NULL) {
		cJSON_Delete(a);
		return werr(err, PYRO_ERR_INTERNAL, "out of memory");
	}
	pyro__swap_event(c, &fn, &arg);
	e.fn = fn;
	e.arg = arg;
	rc = wcall(c, "workspace.disk_list", a, -1, result, err);
	pyro__swap_event(c, &fn, &arg);
	if (rc == 0 && result != NULL && *result != NULL &&
	    (r = cJSON_Parse(*result)) != NULL) {
		cJSON_AddItemToObject(r, "entries", e.arr);
		e.arr = NULL;
		free(*result);
		*result = cJSON_PrintUnformatted(r);
		cJSON_Delete(r);
	}
	cJSON_Delete(e.arr);
	return rc;
}

int
pyro_workspace_disk_read_fd(pyro_client *c, const char *id, const char *path,
    long long max_bytes, int out_fd, char **result, pyro_error *err)
{
	cJSON	*a = ws_args(id);

	if (out_fd < 0) {
		cJSON_Delete(a);
		return werr(err, PYRO_ERR_INVALID_ARGUMENT, "an output fd is "
		    "required");
	}
	put_str(a, "path", path);
	if (max_bytes != 0)
		cJSON_AddNumberToObject(a, "max_bytes", (double)max_bytes);
	return wcall(c, "workspace.disk_read", a, out_fd, result, err);
}

/* The content, read from a socket by a thread, to the output handler. */
struct reader {
	pyro_output_fn	 fn;
	void		*arg;
	int		 fd;
};

static void *
reader_thread(void *p)
{
	struct reader	*r = p;
	char		 buf[65536];
	ssize_t		 n;

	while ((n = read(r->fd, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (r->fn != NULL)
			r->fn(r->arg, 1, buf, (size_t)n);
	}
	return NULL;
}

int
pyro_workspace_disk_read(pyro_client *c, const char *id, const char *path,
    long long max_bytes, char **result, pyro_error *err)
{
	struct reader	 r;
	pyro_output_fn	 fn = NULL;
	void		*arg = NULL;
	pthread_t	 th;
	int		 sv[2], rc;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return werr(err, PYRO_ERR_INTERNAL, "socketpair: %s", strerror(errno));
	/* The handler is called from this call's reader thread. */
	pyro__swap_output(c, &fn, &arg);
	r.fn = fn;
	r.arg = arg;
	pyro__swap_output(c, &fn, &arg);
	r.fd = sv[0];
	if (pthread_create(&th, NULL, reader_thread, &r) != 0) {
		close(sv[0]);
		close(sv[1]);
		return werr(err, PYRO_ERR_INTERNAL, "cannot start a thread");
	}
	rc = pyro_workspace_disk_read_fd(c, id, path, max_bytes, sv[1], result,
	    err);
	close(sv[1]);		/* the helper's copy closes when it exits */
	pthread_join(th, NULL);
	close(sv[0]);
	return rc;
}

/*
 * The output is opened here, with the caller's rights: never through a
 * symlink, never over an existing file unless force (then only a regular
 * file), and removed again when the export fails.
 */
int
pyro_workspace_disk_export(pyro_client *c, const char *id,
    const char *output_path, int force, char **result, pyro_error *err)
{
	struct stat		 st;
	struct pyro__watch	*w;
	cJSON			*a, *r;
	int			 fd, rc, created = 1;

	if (result != NULL)
		*result = NULL;
	if (output_path == NULL || output_path[0] == '\0')
		return werr(err, PYRO_ERR_INVALID_ARGUMENT, "an output path is "
		    "required");
	fd = open(output_path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0644);
	if (fd < 0 && errno == EEXIST) {
		if (lstat(output_path, &st) == 0 && S_ISLNK(st.st_mode))
			return werr(err, PYRO_ERR_INVALID_PATH, "%s is a symlink; "
			    "refusing to write through it", output_path);
		if (!force)
			return werr(err, PYRO_ERR_EXISTS, "%s exists; give --force "
			    "to replace it", output_path);
		if (lstat(output_path, &st) < 0 || !S_ISREG(st.st_mode))
			return werr(err, PYRO_ERR_EXISTS, "%s exists and is not a "
			    "regular file", output_path);
		fd = open(output_path, O_WRONLY | O_TRUNC | O_NOFOLLOW |
		    O_CLOEXEC);
		created = 0;
	}
	if (fd < 0)
		return werr(err, errno == EACCES || errno == EPERM ?
		    "permission_denied" : errno == ENOENT ? "not_found" :
		    errno == ELOOP ? "invalid_path" : "io_error",
		    "cannot write %s: %s", output_path, strerror(errno));
	a = ws_args(id);
	w = pyro__watch_start(c, fd);
	rc = wcall(c, "workspace.disk_export", a, fd, result, err);
	pyro__watch_stop(w);
	close(fd);
	if (rc < 0) {
		if (created)
			(void)unlink(output_path);
		return -1;
	}
	if (result != NULL && *result != NULL &&
	    (r = cJSON_Parse(*result)) != NULL) {
		cJSON_AddStringToObject(r, "output_path", output_path);
		free(*result);
		*result = cJSON_PrintUnformatted(r);
		cJSON_Delete(r);
	}
	return 0;
}
