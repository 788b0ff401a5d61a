/*
 * pyro mcp serve: an MCP server on stdio (JSON-RPC 2.0, one message per
 * line).  server.c reads and answers the protocol; tools.c is the table of
 * tools, each one JSON Schema for its input and output and one handler
 * that calls libpyro.  The server is a client of pyrod like the CLI: it
 * implements nothing of its own.
 */
#ifndef PYRO_MCP_H
#define PYRO_MCP_H

#include <cjson/cJSON.h>

#include "pyro/pyro.h"

struct mcp_tool {
	const char	*name;
	const char	*description;
	const char	*input_schema;		/* JSON text */
	const char	*output_schema;		/* JSON text */
	/*
	 * Run the tool on a fresh client; return the structured result
	 * (an object) or NULL with err set.  *text may be set to the
	 * text rendering (malloc'd); otherwise the result is printed.
	 */
	cJSON		*(*run)(pyro_client *, const cJSON *args, char **text,
			    pyro_error *err);
};

extern const struct mcp_tool mcp_tools[];

const struct mcp_tool *mcp_tool_find(const char *name);
/* Check args against the tool's input schema: 0, or -1 with err set. */
int	mcp_check_args(const struct mcp_tool *, const cJSON *args,
	    pyro_error *err);
/* Serve stdin/stdout until EOF; the process exit status. */
int	mcp_serve(const char *socket_path);

#endif
