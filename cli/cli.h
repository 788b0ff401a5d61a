#ifndef PYRO_CLI_H
#define PYRO_CLI_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "pyro/pyro.h"

/* Exit codes. */
#define EXIT_OK		0
#define EXIT_FAILED	1
#define EXIT_USAGE	2

struct cli {
	int		 json;
	const char	*socket;
	pyro_client	*client;
};

/*
 * One option of a command: its flag, the JSON key it fills in the
 * parsed options, how its value is read, and the word its usage shows.
 */
enum otype {
	O_INT,		/* a positive integer */
	O_INT0,		/* an integer >= 0 */
	O_STR,
	O_BOOL,		/* a flag: true */
	O_NOT,		/* a flag: false */
	O_LIST,		/* repeatable: an array of strings */
	O_KV,		/* repeatable NAME=VALUE: an object */
};

#define OF_REQUIRED	0x1	/* the command needs it */
#define OF_ALT		0x2	/* one of the alternatives next to it */
#define OF_CHOICE	0x4	/* the value is one of the metavar's a|b|c */

struct opt {
	const char	*flag;		/* without its leading "--" */
	const char	*key;
	enum otype	 type;
	const char	*metavar;	/* NULL for flags */
	int		 flags;
};

#define CMD_OPTS_MAX	12
#define CMD_POS_MAX	3

#define C_COMMAND	0x1	/* takes "-- COMMAND..." after its operands */
#define C_JSON_ONLY	0x2	/* prints JSON either way (demo) */
#define C_NO_RESULT	0x4	/* no result document (mcp serve, ollama) */

/* What the parser found: operands, options as JSON, the command. */
struct args {
	const char	*pos[CMD_POS_MAX];
	int		 npos;
	cJSON		*opts;
	char		**argv;		/* after "--", NULL-terminated */
};

struct cmd {
	const char	*group;		/* NULL: a top-level command */
	const char	*name;
	int		(*fn)(struct cli *, const struct cmd *,
			    const struct args *);
	const char	*operands;	/* as usage shows them */
	int		 npos;		/* how many operands at most */
	int		 optional;	/* how many of them may be missing */
	int		 flags;		/* C_* */
	const char	*summary;
	struct opt	 opts[CMD_OPTS_MAX];
};

/* main.c */
int	cli_connect(struct cli *);
/* Print c's usage (status 0: to stdout, with its summary); exit status. */
int	cli_usage(const struct cmd *, int status);

/* output.c */
int	out_error(struct cli *, const pyro_error *);
/*
 * A usage error in our own words (no call to pyrod has been made): the
 * message and the command's usage on stderr; returns EXIT_USAGE.
 */
int	out_usage_error(const struct cmd *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* Set when --json is on the command line: usage errors print JSON too. */
extern int out_usage_json;
/* Print result (JSON text) as JSON or through render(); frees nothing. */
int	out_result(struct cli *, const char *result_json,
	    void (*render)(const cJSON *));
/* Print obj as the one JSON document of this command. */
void	out_json(const cJSON *);
const char *jstr(const cJSON *, const char *key, const char *dflt);
int	jbool(const cJSON *, const char *key);
/*
 * For human output of text that may come from a guest: ostr() escapes
 * control characters (escape.h), oname() also backslashes (file names),
 * otext() keeps newlines and tabs (diffs, logs).  The strings live until
 * 16 more have been made.
 */
const char *ostr(const cJSON *, const char *key, const char *dflt);
const char *oname(const cJSON *, const char *key, const char *dflt);
const char *otext(const char *);
double	jnum(const cJSON *, const char *key, double dflt);
void	out_records(const cJSON *, const char *key);
/* An argv array shown as a shell would read it back ('it''s' quoting). */
char	*out_shell_words(const cJSON *argv);
/*
 * A history or service record's command for humans: its "argv" array
 * shell-quoted when it has one, else its "command"; escaped like ostr().
 */
const char *ocommand(const cJSON *record);
/* The id of a VM in a result: "vm_id", or "id" from older pyrods. */
const char *out_vm_id(const cJSON *);

/*
 * Output of a guest command: written through as it arrives, or (--json)
 * captured, bounded, for the result document's "stdout" and "stderr".
 */
struct capture {
	struct cli	*cli;
	int		 keep;		/* capture instead of writing */
	char		*buf[3];
	size_t		 len[3];
	int		 truncated;
};
void	out_capture(void *capture, int fd, const void *data, size_t len);
/*
 * Add the captured bytes of fd to obj under key: the text when it is
 * UTF-8, else the text with U+FFFD for each bad byte plus key_base64.
 */
void	out_add_bytes(cJSON *obj, const char *key, const char *data,
	    size_t len);
void	out_capture_free(struct capture *);

/*
 * Progress on stderr for long transfers and builds: one line rewritten
 * in place on a terminal, plain phase lines otherwise, nothing with
 * --json.  Installs the libpyro progress handler on cli's client.
 */
void	out_progress_attach(struct cli *, const char *label);
void	out_progress_done(void);
void	out_boot_fields(const cJSON *progress_event);

/* Commands. */
int	cmd_run(struct cli *, const struct cmd *, const struct args *);
int	cmd_env_list(struct cli *, const struct cmd *, const struct args *);
int	cmd_env_inspect(struct cli *, const struct cmd *, const struct args *);
int	cmd_env_pull(struct cli *, const struct cmd *, const struct args *);
int	cmd_env_import(struct cli *, const struct cmd *, const struct args *);
int	cmd_env_push(struct cli *, const struct cmd *, const struct args *);
int	cmd_env_prune(struct cli *, const struct cmd *, const struct args *);
int	cmd_env_warm(struct cli *, const struct cmd *, const struct args *);
int	cmd_env_templates(struct cli *, const struct cmd *,
	    const struct args *);
int	cmd_doctor(struct cli *, const struct cmd *, const struct args *);
int	cmd_simple(struct cli *, const struct cmd *, const struct args *);
int	cmd_vm_create(struct cli *, const struct cmd *, const struct args *);
int	cmd_demo(struct cli *, const struct cmd *, const struct args *);
int	cmd_vm_exec(struct cli *, const struct cmd *, const struct args *);
int	cmd_workspace(struct cli *, const struct cmd *, const struct args *);
int	cmd_mcp_serve(struct cli *, const struct cmd *, const struct args *);
int	cmd_demo_ollama(struct cli *, const struct cmd *, const struct args *);

/* cmd_registry.c: a "networking" object, for people. */
void	out_networking(const cJSON *networking);

#endif
