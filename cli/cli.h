#ifndef PYRO_CLI_H
#define PYRO_CLI_H

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

struct cmd {
	const char	*group;		/* NULL: a top-level command */
	const char	*name;
	int		(*fn)(struct cli *, const struct cmd *, int, char **);
	const char	*args;		/* usage after the command words */
	const char	*summary;
};

/* main.c */
int	cli_connect(struct cli *);
int	cli_usage(const struct cmd *, int status);
/*
 * Parse the options every command takes (--json, --help) plus none else;
 * returns optind, or -1 after printing usage.
 */
int	cli_simple_args(struct cli *, const struct cmd *, int, char **,
	    int min_pos, int max_pos);

/* output.c */
int	out_error(struct cli *, const pyro_error *);
int	out_usage_error(const struct cmd *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* Print result (JSON text) as JSON or through render(); frees nothing. */
int	out_result(struct cli *, const char *result_json,
	    void (*render)(const cJSON *));
const char *jstr(const cJSON *, const char *key, const char *dflt);
int	jbool(const cJSON *, const char *key);
double	jnum(const cJSON *, const char *key, double dflt);
void	out_records(const cJSON *, const char *key);

/* Commands. */
int	cmd_run(struct cli *, const struct cmd *, int, char **);
int	cmd_env_list(struct cli *, const struct cmd *, int, char **);
int	cmd_env_inspect(struct cli *, const struct cmd *, int, char **);
int	cmd_env_pull(struct cli *, const struct cmd *, int, char **);
int	cmd_env_build(struct cli *, const struct cmd *, int, char **);
int	cmd_env_prune(struct cli *, const struct cmd *, int, char **);
int	cmd_doctor(struct cli *, const struct cmd *, int, char **);
int	cmd_simple(struct cli *, const struct cmd *, int, char **);
int	cmd_vm_create(struct cli *, const struct cmd *, int, char **);
int	cmd_demo(struct cli *, const struct cmd *, int, char **);
int	cmd_vm_exec(struct cli *, const struct cmd *, int, char **);
int	cmd_workspace(struct cli *, const struct cmd *, int, char **);
int	cmd_mcp_serve(struct cli *, const struct cmd *, int, char **);
int	cmd_demo_ollama(struct cli *, const struct cmd *, int, char **);

#endif
