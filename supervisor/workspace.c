/*
 * Registry views: list and status of VMs and workspaces.  Ownership rule:
 * root sees everything; anyone else sees only records whose owner_uid is
 * their own uid, and gets not_found (with the same wording as for a missing
 * id) for the rest, so an id never reveals that another user's record exists.
 */
#include "config.h"

#include <string.h>

#include "pyrod.h"

static void
op_list(struct request *rq, enum rec_kind k, const char *key)
{
	struct record	*r;
	cJSON		*res = cJSON_CreateObject();
	cJSON		*arr = cJSON_AddArrayToObject(res, key);

	LIST_FOREACH(r, &records, entry) {
		cJSON *o;

		if (r->kind != k || !rec_visible(r, rq->uid))
			continue;
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "id", r->id);
		cJSON_AddStringToObject(o, "state", rec_state(r));
		cJSON_AddItemToObject(o, "environment", cJSON_Duplicate(
		    cJSON_GetObjectItemCaseSensitive(r->doc, "environment"),
		    1) ?: cJSON_CreateNull());
		cJSON_AddItemToObject(o, "created_at", cJSON_Duplicate(
		    cJSON_GetObjectItemCaseSensitive(r->doc, "created_at"),
		    1) ?: cJSON_CreateNull());
		cJSON_AddNumberToObject(o, "owner_uid", r->owner);
		cJSON_AddItemToArray(arr, o);
	}
	ctl_reply_ok(rq, res);
}

static void
op_status(struct request *rq, const cJSON *args, enum rec_kind k,
    const char *key)
{
	struct pyro_status	 st;
	struct record		*r;
	const char		*id;

	if (arg_id(args, key, &id, &st) < 0) {
		ctl_reply_status(rq, &st);
		return;
	}
	if ((r = store_find(k, id)) == NULL || !rec_visible(r, rq->uid)) {
		ctl_reply_err(rq, PYRO_E_NOT_FOUND, "no %s \"%s\"",
		    k == REC_VM ? "VM" : "workspace", id);
		return;
	}
	ctl_reply_ok(rq, cJSON_Duplicate(r->doc, 1));
}

void
op_vm_list(struct request *rq, const cJSON *args)
{
	op_list(rq, REC_VM, "vms");
}

void
op_vm_status(struct request *rq, const cJSON *args)
{
	op_status(rq, args, REC_VM, "vm_id");
}

void
op_workspace_list(struct request *rq, const cJSON *args)
{
	op_list(rq, REC_WORKSPACE, "workspaces");
}

void
op_workspace_status(struct request *rq, const cJSON *args)
{
	op_status(rq, args, REC_WORKSPACE, "workspace_id");
}
