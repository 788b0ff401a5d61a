/*
 * What clients read of workspaces without touching their guests: the
 * list, a status, the logs (command history and lifecycle events).
 */
#include "config.h"

#include <sys/stat.h>

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "workspace.h"

#define HISTORY_READ_MAX	(1024 * 1024)

void
op_workspace_list(struct request *rq, const cJSON *args)
{
	(void)args;
	ctl_reply_ok(rq, store_list_json(REC_WORKSPACE, rq->uid,
	    "workspaces"));
}

void
op_workspace_status(struct request *rq, const cJSON *args)
{
	(void)args;
	ctl_reply_ok(rq, ws_status_json(rq->obj));
}

/* The last HISTORY_READ_MAX bytes of history.jsonl, line by line. */
static void
history_read(struct ws *w, cJSON *hist)
{
	struct stat	 sb;
	char		*buf, *p, *nl;
	off_t		 off = 0;
	ssize_t		 n;
	int		 fd;

	if ((fd = store_openat(w->rec, "history.jsonl", O_RDONLY, 0)) < 0)
		return;
	if (fstat(fd, &sb) == 0 &&
	    (buf = malloc(HISTORY_READ_MAX + 1)) != NULL) {
		if (sb.st_size > HISTORY_READ_MAX)
			off = sb.st_size - HISTORY_READ_MAX;
		n = pread(fd, buf, HISTORY_READ_MAX, off);
		buf[n > 0 ? n : 0] = '\0';
		p = buf;
		if (off > 0 && (nl = strchr(p, '\n')) != NULL)
			p = nl + 1;	/* skip the cut line */
		for (; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
			cJSON *e;

			*nl = '\0';
			if ((e = cJSON_Parse(p)) != NULL)
				cJSON_AddItemToArray(hist, e);
		}
		free(buf);
	}
	close(fd);
}

void
op_workspace_logs(struct request *rq, const cJSON *args)
{
	struct ws	*w = rq->obj;
	cJSON		*res;

	(void)args;
	res = cJSON_CreateObject();
	cJSON_AddStringToObject(res, "workspace_id", w->rec->id);
	history_read(w, cJSON_AddArrayToObject(res, "history"));
	cJSON_AddItemToObject(res, "events", cJSON_Duplicate(
	    cJSON_GetObjectItem(w->rec->doc, "events"), 1) ?:
	    cJSON_CreateArray());
	ctl_reply_ok(rq, res);
}
