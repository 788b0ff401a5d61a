#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "url.h"

int
pyro_url_parse(const char *url, const char *default_port,
    struct pyro_url *u)
{
	const char	*p, *slash, *colon, *port;
	size_t		 hl, pl;
	char		*end;
	long		 n;

	memset(u, 0, sizeof(*u));
	if (strncmp(url, "http://", 7) != 0)
		return -1;
	p = url + 7;
	if ((slash = strchr(p, '/')) == NULL)
		slash = p + strlen(p);
	colon = memchr(p, ':', (size_t)(slash - p));
	hl = (size_t)((colon ? colon : slash) - p);
	if (hl == 0 || hl >= sizeof(u->host))
		return -1;
	memcpy(u->host, p, hl);
	port = colon ? colon + 1 : default_port;
	pl = colon ? (size_t)(slash - colon - 1) : strlen(port);
	if (pl == 0 || pl >= sizeof(u->port))
		return -1;
	memcpy(u->port, port, pl);
	n = strtol(u->port, &end, 10);
	if (*end != '\0' || n < 1 || n > 65535 || u->port[0] == '+' ||
	    u->port[0] == '-')
		return -1;
	if (snprintf(u->path, sizeof(u->path), "%s", *slash ? slash : "/") >=
	    (int)sizeof(u->path))
		return -1;
	return 0;
}
