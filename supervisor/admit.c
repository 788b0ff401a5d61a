/*
 * Admission control: a request that would boot a guest, add a workspace
 * or keep a snapshot is weighed against the budgets of pyrod.conf(5)
 * before anything is made, and refused with resources_exhausted and its
 * numbers (asked, in use, limit) when it does not fit.
 *
 * Nothing is counted here: every figure is summed from the records each
 * time (a few thousand at most), so a crash, a failed boot or a restart
 * can never leave a count behind.  A record's guest holds its memory and
 * vCPUs while its state is creating, starting, running, stopping or
 * resetting, or while a VM of it is alive in any other state (a delete
 * or a disk's recovery boot waiting for the guest to go).  Admission and
 * the state change that makes a record live happen in the same turn of
 * the loop, so two requests cannot both take the last slot.
 *
 * Callers: vm.c (run, start), wslife.c (create, start, reset) and
 * wssnap.c (snapshots).  This file calls only store.c, vmi.c's lookup and
 * client.c's counts, never back into them.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "pyrod.h"

struct tally {
	long long	mem_mib;	/* of live guests */
	long long	vcpus;
	long long	vms;		/* live VMs and workspaces */
	long long	workspaces;	/* of one uid, but deleting ones */
};

static int
rec_live(const struct record *r)
{
	switch (rec_st(r)) {
	case ST_CREATING:
	case ST_STARTING:
	case ST_RUNNING:
	case ST_STOPPING:
	case ST_RESETTING:
		return 1;
	default:
		return vmi_find(r) != NULL;
	}
}

static long long
rec_num(const struct record *r, const char *key, long long dflt)
{
	const cJSON	*n = cJSON_GetObjectItemCaseSensitive(r->doc, key);

	return cJSON_IsNumber(n) && n->valuedouble >= 0 ?
	    (long long)n->valuedouble : dflt;
}

static void
tally(uid_t uid, struct tally *t)
{
	const struct record	*r;

	memset(t, 0, sizeof(*t));
	LIST_FOREACH(r, &records, entry) {
		if (r->kind == REC_WORKSPACE && r->owner == uid &&
		    rec_st(r) != ST_DELETING)
			t->workspaces++;
		if (!rec_live(r))
			continue;
		t->vms++;
		t->mem_mib += rec_num(r, "mem_mib", 1024);
		t->vcpus += rec_num(r, "vcpu_count", 1);
	}
}

/* Guest vCPUs the host may run: vcpu_overcommit per host CPU. */
static long long
vcpu_limit(void)
{
	long long	n = (long long)(conf.vcpu_overcommit * conf.host_cpus);

	return n < 1 ? 1 : n;
}

int
admit_vm(uid_t uid, long long mem_mib, long long vcpus, enum admit_kind kind,
    struct pyro_status *st)
{
	struct tally	t;

	tally(uid, &t);
	if (kind == ADMIT_NEW_WORKSPACE &&
	    t.workspaces >= conf.max_workspaces_per_uid)
		return pyro_fail(st, PYRO_E_RESOURCES_EXHAUSTED, "uid %u has "
		    "%lld workspaces, the limit per uid is %u; delete one "
		    "(pyro workspace delete ID) or raise "
		    "max_workspaces_per_uid in pyrod.conf", (unsigned)uid,
		    t.workspaces, conf.max_workspaces_per_uid);
	if (t.vms >= conf.max_running_vms)
		return pyro_fail(st, PYRO_E_RESOURCES_EXHAUSTED, "%lld VMs and "
		    "workspaces are running, the limit is %u; stop one first, "
		    "or raise max_running_vms in pyrod.conf", t.vms,
		    conf.max_running_vms);
	if (t.mem_mib + mem_mib > (long long)conf.memory_budget_mib)
		return pyro_fail(st, PYRO_E_RESOURCES_EXHAUSTED, "not enough "
		    "guest memory: asked %lld MiB, %lld MiB in use, the budget "
		    "is %llu MiB; stop a VM or workspace, ask for less "
		    "(--mem-mib), or raise memory_budget_mib in pyrod.conf",
		    mem_mib, t.mem_mib, conf.memory_budget_mib);
	if (t.vcpus + vcpus > vcpu_limit())
		return pyro_fail(st, PYRO_E_RESOURCES_EXHAUSTED, "not enough "
		    "vCPUs: asked %lld, %lld in use, the limit is %lld (%g per "
		    "host CPU, %u CPUs); stop a VM or workspace, ask for fewer "
		    "(--vcpu-count), or raise vcpu_overcommit in pyrod.conf",
		    vcpus, t.vcpus, vcpu_limit(), conf.vcpu_overcommit,
		    conf.host_cpus);
	return 0;
}

int
admit_record(const struct record *r, struct pyro_status *st)
{
	return admit_vm(r->owner, rec_num(r, "mem_mib", 1024),
	    rec_num(r, "vcpu_count", 1), ADMIT_BOOT, st);
}

/* Bytes of the workspace's snapshots (the baseline is not one). */
static long long
snap_stored(const struct record *r)
{
	const cJSON	*it;
	long long	 sum = 0;

	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(r->doc,
	    "snapshots")) {
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(it,
		    "size_bytes");

		if (cJSON_IsNumber(n) && n->valuedouble > 0)
			sum += (long long)n->valuedouble;
	}
	return sum;
}

static long long
snap_budget(void)
{
	return (long long)conf.snapshot_budget_kib * 1024;
}

int
admit_snapshot(const struct record *r, struct pyro_status *st)
{
	long long	stored = snap_stored(r);

	if (stored < snap_budget())
		return 0;
	return pyro_fail(st, PYRO_E_RESOURCES_EXHAUSTED, "workspace %s keeps "
	    "%lld bytes of snapshots, the budget per workspace is %lld bytes; "
	    "delete one (pyro workspace snapshot delete %s NAME) or raise "
	    "snapshot_budget_kib in pyrod.conf", r->id, stored, snap_budget(),
	    r->id);
}

int
admit_snapshot_written(const struct record *r, long long bytes,
    struct pyro_status *st)
{
	long long	stored = snap_stored(r);

	if (stored + bytes <= snap_budget())
		return 0;
	return pyro_fail(st, PYRO_E_RESOURCES_EXHAUSTED, "the snapshot took "
	    "%lld bytes; with the %lld bytes stored it would pass workspace "
	    "%s's snapshot budget of %lld bytes, so it was not kept; delete "
	    "a snapshot or raise snapshot_budget_kib in pyrod.conf", bytes,
	    stored, r->id, snap_budget());
}

static cJSON *
used_limit(cJSON *o, const char *key, long long used, long long limit)
{
	cJSON	*u = cJSON_AddObjectToObject(o, key);

	cJSON_AddNumberToObject(u, "used", (double)used);
	cJSON_AddNumberToObject(u, "limit", (double)limit);
	return u;
}

/* Workspaces per owner; anyone but root sees only their own count. */
static cJSON *
workspaces_by_uid(uid_t caller)
{
	const struct record	*r;
	cJSON			*by = cJSON_CreateObject(), *n;
	char			 key[16];

	LIST_FOREACH(r, &records, entry) {
		if (r->kind != REC_WORKSPACE || rec_st(r) == ST_DELETING ||
		    !rec_visible(r, caller))
			continue;
		snprintf(key, sizeof(key), "%u", (unsigned)r->owner);
		if ((n = cJSON_GetObjectItemCaseSensitive(by, key)) != NULL)
			cJSON_SetNumberValue(n, n->valuedouble + 1);
		else
			cJSON_AddNumberToObject(by, key, 1);
	}
	return by;
}

static cJSON *
limits_json(void)
{
	cJSON	*l = cJSON_CreateObject();

	cJSON_AddNumberToObject(l, "memory_budget_mib",
	    (double)conf.memory_budget_mib);
	cJSON_AddNumberToObject(l, "vcpu_overcommit", conf.vcpu_overcommit);
	cJSON_AddNumberToObject(l, "max_running_vms", conf.max_running_vms);
	cJSON_AddNumberToObject(l, "max_workspaces_per_uid",
	    conf.max_workspaces_per_uid);
	cJSON_AddNumberToObject(l, "snapshot_budget_kib",
	    (double)conf.snapshot_budget_kib);
	cJSON_AddNumberToObject(l, "max_clients", conf.max_clients);
	cJSON_AddNumberToObject(l, "max_clients_per_uid",
	    conf.max_clients_per_uid);
	cJSON_AddNumberToObject(l, "max_clients_root", conf.max_clients_root);
	cJSON_AddNumberToObject(l, "max_requests_per_uid",
	    conf.max_requests_per_uid);
	cJSON_AddNumberToObject(l, "frame_timeout_seconds",
	    conf.frame_timeout_s);
	cJSON_AddNumberToObject(l, "host_mem_mib", (double)conf.host_mem_mib);
	cJSON_AddNumberToObject(l, "host_cpus", conf.host_cpus);
	return l;
}

void
op_usage(struct request *rq, const cJSON *args)
{
	struct tally	 t;
	cJSON		*res = cJSON_CreateObject(), *o;

	(void)args;
	tally(rq->uid, &t);
	used_limit(res, "memory_mib", t.mem_mib,
	    (long long)conf.memory_budget_mib);
	used_limit(res, "vcpus", t.vcpus, vcpu_limit());
	used_limit(res, "vms_running", t.vms, conf.max_running_vms);
	o = cJSON_AddObjectToObject(res, "workspaces");
	cJSON_AddItemToObject(o, "by_uid", workspaces_by_uid(rq->uid));
	cJSON_AddNumberToObject(o, "limit_per_uid",
	    conf.max_workspaces_per_uid);
	o = used_limit(res, "connections", clients_count(), conf.max_clients);
	cJSON_AddNumberToObject(o, "of_uid", clients_of_uid(rq->uid));
	cJSON_AddNumberToObject(o, "limit_of_uid", rq->uid == 0 ?
	    conf.max_clients_root : conf.max_clients_per_uid);
	cJSON_AddNumberToObject(o, "requests_of_uid",
	    requests_of_uid(rq->uid));
	o = used_limit(res, "network_pool", vmi_net_live(NULL, 0),
	    net_pool_slots());
	cgroup_doctor(cJSON_AddObjectToObject(res, "cgroups"));
	cJSON_AddItemToObject(res, "limits", limits_json());
	ctl_reply_ok(rq, res);
}
