/*
 * The MCP server's argument checker (mcp/server.c mcp_check_args): every
 * tools/call's arguments come from an MCP client and are checked against
 * the tool's input schema before anything reaches libpyro.  The input is
 * JSON; its first byte picks the tool.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "mcp.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int		 ntools;
	const struct mcp_tool	*t;
	pyro_error		 err;
	cJSON			*args;

	if (ntools == 0)
		while (mcp_tools[ntools].name != NULL)
			ntools++;
	if (size == 0)
		return 0;
	t = &mcp_tools[data[0] % ntools];
	if ((args = cJSON_ParseWithLength((const char *)data + 1,
	    size - 1)) == NULL)
		return 0;
	memset(&err, 0, sizeof(err));
	if (mcp_check_args(t, args, &err) < 0 && err.code[0] == '\0')
		abort();	/* a refusal always says why */
	cJSON_Delete(args);
	return 0;
}
