/*
 * Plain http://HOST[:PORT][/PATH] URLs: a readiness probe's target in the
 * guest, a local model server for `pyro demo ollama`.
 */
#ifndef PYRO_URL_H
#define PYRO_URL_H

struct pyro_url {
	char	host[256];
	char	port[8];	/* 1-65535, digits */
	char	path[1024];	/* "/" when the URL has none */
};

/*
 * Split url; default_port when it names none.  Returns 0, or -1 for
 * another scheme, an empty or over-long host, a port that is not 1-65535,
 * or a path longer than the field.
 */
int	pyro_url_parse(const char *url, const char *default_port,
	    struct pyro_url *out);

#endif
