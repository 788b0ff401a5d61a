/*
 * The shell scripts pyrod runs in guests, their exit codes, and the
 * parsers of their output, in one place.
 *
 * Trust: a script runs in the guest, so the guest may have replaced the
 * shell and every tool it calls, and may answer with anything.  Nothing a
 * script prints is trusted: pyrod interprets only its exit status (0, the
 * two codes below, anything else is a failure whose stderr, bounded and
 * UTF-8-sanitized, becomes the message), and the one structured output,
 * diff's, is parsed by gs_diff_parse() with every field bounded by the
 * job's buffer, NUL-delimited, sanitized to UTF-8 and redacted; an unknown
 * record ends the parse.  Arguments go to scripts as $0, $1, ... (never
 * spliced into the script text), so a path cannot inject shell syntax.
 */
#ifndef PYROD_GUESTSH_H
#define PYROD_GUESTSH_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "errcode.h"

enum gs_script {
	GS_SETUP,	/* make /workspace, /run/pyro, /run/pyro-secrets */
	GS_SECRET,	/* $0: name; stdin: the value -> /run/pyro-secrets */
	GS_EXTRACT,	/* $0: dir under /workspace; stdin: a tar stream */
	GS_ARCHIVE,	/* stdout: /workspace as a tar stream */
	GS_EXPORT,	/* $0: path under /workspace; stdout: it as tar */
	GS_DIFF,	/* $0: baseline KiB; stdin: the baseline tar */
	GS_SERVICE,	/* $0: name, then the command: logs to the service log */
	GS_PROBE_TCP,	/* $0 host, $1 port: connects */
	GS_PROBE_HTTP,	/* $0 host, $1 port, $2 path: a 2xx or 3xx answer */
	GS__MAX
};

/* Exit codes the scripts use to say why they refused. */
#define GS_EXIT_OUTSIDE		90	/* the path leads outside /workspace */
#define GS_EXIT_MISSING		91	/* no such path in the workspace */

/*
 * argv for script s: { shell, "-c", text, args[0], ..., NULL } into out
 * (room for max pointers).  Returns the count, or -1 when out is short.
 */
int	gs_argv(enum gs_script s, const char **out, size_t max,
	    const char *const *args);
/*
 * What a script's exit status means: 0 for success (exit 0), the error
 * for GS_EXIT_OUTSIDE (invalid_path) and GS_EXIT_MISSING (not_found),
 * PYRO_E__MAX for any other failure (the caller words it).
 */
enum pyro_err	gs_refusal(int exit_code);

/* A string from guest bytes: redacted by the caller's function, or NULL. */
typedef char	*(*gs_clean_fn)(void *arg, const uint8_t *, size_t);

/*
 * GS_DIFF's output: NUL-separated records, "A" path, "D" path, "M" path,
 * each optionally followed by "T" path text (a unified diff) or "B" path
 * (binary).  Returns {"files": [...], "summary": {added, modified,
 * deleted}, "truncated": bool}; every string passes through clean().
 */
cJSON	*gs_diff_parse(const uint8_t *, size_t, int truncated, gs_clean_fn,
	    void *arg);

#endif
