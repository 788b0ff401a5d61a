/*
 * The guest-side scripts and their parsers (see guestsh.h for the trust
 * boundary).  Each script is fixed text; its arguments arrive as $0...
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "guestsh.h"

static const struct {
	const char	*shell;
	const char	*text;
} scripts[GS__MAX] = {
	[GS_SETUP] = { "/bin/sh",
	    "set -e; mkdir -p /workspace /run/pyro/services /run/pyro-secrets; "
	    "chmod 0700 /run/pyro /run/pyro-secrets; "
	    "printf 'set enable-bracketed-paste off\\n$include /etc/inputrc\\n' "
	    ">/run/pyro/inputrc" },
	[GS_SECRET] = { "/bin/sh",
	    "set -e; umask 0377; rm -f \"/run/pyro-secrets/$0\"; "
	    "cat > \"/run/pyro-secrets/$0\"" },
	/*
	 * The destination is resolved in the guest (symlinks included) and
	 * must stay inside /workspace.  GNU tar refuses members with "..",
	 * strips leading "/", and makes links that point outside the tree
	 * only at the end, so no member is written through one.  The files
	 * are on the guest's disk before it answers (sync -f): a seed, push
	 * or reset that returned survives a VMM that dies right after.
	 */
	[GS_EXTRACT] = { "/bin/sh",
	    "set -e; d=$(realpath -m -- \"$0\"); case \"$d\" in /workspace|"
	    "/workspace/*) ;; *) echo \"$0 leads outside /workspace\" >&2; "
	    "exit 90;; esac; mkdir -p -- \"$d\"; "
	    "tar -C \"$d\" -xf - --no-same-owner --delay-directory-restore; "
	    "sync -f -- \"$d\"" },
	[GS_ARCHIVE] = { "/bin/sh",
	    "cd /workspace && exec tar -cf - --numeric-owner --sort=name ." },
	/*
	 * One path, not following symlinks; the client unpacks it with its
	 * own rights.  The parent is resolved in the guest and must stay
	 * inside /workspace.
	 */
	[GS_EXPORT] = { "/bin/sh",
	    "set -e; if [ \"$0\" != /workspace ]; then "
	    "d=$(realpath -m -- \"$(dirname -- \"$0\")\"); case \"$d\" in "
	    "/workspace|/workspace/*) ;; *) echo \"$0 leads outside "
	    "/workspace\" >&2; exit 90;; esac; fi; "
	    "if [ ! -e \"$0\" ] && [ ! -L \"$0\" ]; then echo \"$0 does not "
	    "exist\" >&2; exit 91; fi; cd -- \"$(dirname -- \"$0\")\"; "
	    "exec tar -cf - --numeric-owner -- \"$(basename -- \"$0\")\"" },
	/*
	 * The baseline is unpacked in a scratch directory outside
	 * /workspace: on /tmp (tmpfs) when it has twice the baseline's size
	 * ($0, KiB) free, so a full disk does not stop the review of what
	 * filled it, else on /var/tmp.  Directories are not entries.
	 */
	[GS_DIFF] = { "/bin/bash",
    "set -eu; export LC_ALL=C; "
    "s=/tmp; a=$(df -Pk /tmp | { read -r _; read -r _ _ _ a _; "
    "echo \"${a:-0}\"; }); [ \"$a\" -gt $(($0 * 2)) ] || s=/var/tmp; "
    "t=$(mktemp -d $s/pyro-diff.XXXXXX); "
    "trap 'rm -rf -- \"$t\"' EXIT; mkdir \"$t/b\"; "
    "tar -C \"$t/b\" -xf - --no-same-owner; "
    "(cd \"$t/b\" && find . -mindepth 1 ! -type d -printf '%P\\0' | "
    "sort -z) > \"$t/old\"; "
    "(cd /workspace && find . -mindepth 1 ! -type d -printf '%P\\0' | "
    "sort -z) > \"$t/new\"; "
    "text() { [ -f \"$1\" ] && [ ! -L \"$1\" ] && "
    "iconv -f UTF-8 -t UTF-8 -- \"$1\" >/dev/null 2>&1 && "
    "[ \"$(tr -d '\\000' < \"$1\" | wc -c)\" = \"$(wc -c < \"$1\")\" ]; }; "
    "show() { if { [ \"$2\" = /dev/null ] || text \"$2\"; } && "
    "{ [ \"$3\" = /dev/null ] || text \"$3\"; }; then "
    "printf 'T\\0%s\\0' \"$1\"; diff -u --label \"$4\" --label \"$5\" -- "
    "\"$2\" \"$3\" || true; printf '\\0'; else printf 'B\\0%s\\0' "
    "\"$1\"; fi; }; "
    "comm -z -13 \"$t/old\" \"$t/new\" | while IFS= read -r -d '' p; do "
    "printf 'A\\0%s\\0' \"$p\"; show \"$p\" /dev/null \"/workspace/$p\" "
    "/dev/null \"b/$p\"; done; "
    "comm -z -23 \"$t/old\" \"$t/new\" | while IFS= read -r -d '' p; do "
    "printf 'D\\0%s\\0' \"$p\"; show \"$p\" \"$t/b/$p\" /dev/null "
    "\"a/$p\" /dev/null; done; "
    "comm -z -12 \"$t/old\" \"$t/new\" | while IFS= read -r -d '' p; do "
    "o=\"$t/b/$p\"; n=\"/workspace/$p\"; "
    "if [ -L \"$o\" ] || [ -L \"$n\" ]; then [ -L \"$o\" ] && [ -L \"$n\" ] "
    "&& [ \"$(readlink -- \"$o\")\" = \"$(readlink -- \"$n\")\" ] && "
    "continue; elif cmp -s -- \"$o\" \"$n\" && [ \"$(stat -c %a -- \"$o\")\" "
    "= \"$(stat -c %a -- \"$n\")\" ]; then continue; fi; "
    "printf 'M\\0%s\\0' \"$p\"; show \"$p\" \"$o\" \"$n\" \"a/$p\" "
    "\"b/$p\"; done" },
	[GS_SERVICE] = { "/bin/sh",
	    "mkdir -p /run/pyro/services && "
	    "exec >>\"/run/pyro/services/$0.log\" 2>&1 </dev/null && exec \"$@\"" },
	[GS_PROBE_TCP] = { "/bin/bash", "exec 3<>\"/dev/tcp/$0/$1\"" },
	[GS_PROBE_HTTP] = { "/bin/bash",
	    "exec 3<>\"/dev/tcp/$0/$1\" || exit 1; "
	    "printf 'GET %s HTTP/1.0\\r\\nHost: %s\\r\\nConnection: close\\r\\n\\r\\n' "
	    "\"$2\" \"$0\" >&3; IFS= read -r line <&3 || exit 1; "
	    "case \"$line\" in HTTP/*\\ [23][0-9][0-9]*) exit 0;; esac; exit 1" },
};

int
gs_argv(enum gs_script s, const char **out, size_t max,
    const char *const *args)
{
	size_t	n = 0;

	if ((unsigned)s >= GS__MAX || max < 4)
		return -1;
	out[n++] = scripts[s].shell;
	out[n++] = "-c";
	out[n++] = scripts[s].text;
	for (; args != NULL && *args != NULL; args++) {
		if (n + 1 >= max)
			return -1;
		out[n++] = *args;
	}
	out[n] = NULL;
	return (int)n;
}

enum pyro_err
gs_refusal(int exit_code)
{
	switch (exit_code) {
	case 0:
		return PYRO_OK;
	case GS_EXIT_OUTSIDE:
		return PYRO_E_INVALID_PATH;
	case GS_EXIT_MISSING:
		return PYRO_E_NOT_FOUND;
	default:
		return PYRO_E__MAX;
	}
}

/* Next NUL-terminated field of [*p, end), or NULL. */
static const uint8_t *
field(const uint8_t **p, const uint8_t *end, size_t *len)
{
	const uint8_t	*s = *p, *nul;

	if (s >= end || (nul = memchr(s, '\0', (size_t)(end - s))) == NULL)
		return NULL;
	*p = nul + 1;
	*len = (size_t)(nul - s);
	return s;
}

static void
add_clean(cJSON *o, const char *key, const uint8_t *s, size_t n,
    gs_clean_fn clean, void *arg)
{
	char	*c = clean(arg, s, n);

	cJSON_AddStringToObject(o, key, c ? c : "");
	free(c);
}

cJSON *
gs_diff_parse(const uint8_t *buf, size_t len, int truncated,
    gs_clean_fn clean, void *arg)
{
	cJSON		*res = cJSON_CreateObject(), *files, *o = NULL, *sum;
	const uint8_t	*p = buf, *end = buf + len, *tag, *path, *text;
	size_t		 tl, pl, xl;
	int		 n[3] = { 0, 0, 0 };
	const char	*k;

	files = cJSON_AddArrayToObject(res, "files");
	while ((tag = field(&p, end, &tl)) != NULL &&
	    (path = field(&p, end, &pl)) != NULL && tl == 1) {
		if ((k = strchr("ADM", tag[0])) != NULL) {
			o = cJSON_CreateObject();
			add_clean(o, "path", path, pl, clean, arg);
			cJSON_AddStringToObject(o, "status", tag[0] == 'A' ?
			    "added" : tag[0] == 'D' ? "deleted" : "modified");
			cJSON_AddItemToArray(files, o);
			n[k - "ADM"]++;
		} else if (tag[0] == 'B' && o != NULL)
			cJSON_AddBoolToObject(o, "binary", 1);
		else if (tag[0] == 'T' && o != NULL) {
			if ((text = field(&p, end, &xl)) == NULL) {
				text = (const uint8_t *)"";
				xl = 0;
			}
			cJSON_AddBoolToObject(o, "binary", 0);
			add_clean(o, "diff", text, xl, clean, arg);
		} else
			break;		/* not ours: stop reading */
	}
	sum = cJSON_AddObjectToObject(res, "summary");
	cJSON_AddNumberToObject(sum, "added", n[0]);
	cJSON_AddNumberToObject(sum, "modified", n[2]);
	cJSON_AddNumberToObject(sum, "deleted", n[1]);
	cJSON_AddBoolToObject(res, "truncated", truncated);
	return res;
}
