/*
 * The Firecracker driver's client (vmhelper/fcclient.c and fcapi.c)
 * against tests/fcpeer.py: fcdrive MODE ROOT, ROOT being the jail's root
 * (the API socket is ROOT/run/firecracker.sock).
 *
 *   boot     the cold boot plan, pause, a snapshot, resume, the agent's
 *            vsock port (an echo behind it), a port nobody listens on,
 *            then SendCtrlAltDel; every step must do what Firecracker does
 *   fail     the peer refuses /boot-source: the client says so, with
 *            Firecracker's text
 *   garbage  the peer answers bytes no Firecracker sends: refused
 *   silent   the peer never answers: a timeout, not a hang
 *
 * Prints "ok - ..." lines; exits 1 at the first surprise.
 */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fcapi.h"
#include "fcclient.h"

static int	passed;

static void __attribute__((noreturn))
die(const char *what, const char *why)
{
	printf("FAIL: %s: %s\n", what, why);
	exit(1);
}

static void
ok(const char *what)
{
	printf("ok - %s\n", what);
	passed++;
}

static const struct fc_vm vm = {
	1, 256, "console=ttyS0 reboot=k panic=1 pci=off quiet", 0,
	"pyro-0123456789", "02:50:59:52:4F:01"
};

static int
api(int run)
{
	int	fd;

	for (int i = 0; i < 100; i++) {
		if ((fd = fc_connect(run, "firecracker.sock", 1000)) >= 0)
			return fd;
		usleep(50000);
	}
	die("connect", "the API socket never appeared");
}

static void
call_ok(int fd, struct fc_req *r)
{
	struct fc_resp	rp;
	char		what[128];

	if (fc_call(fd, r, &rp, 5000) < 0)
		die(r->path, rp.fault);
	snprintf(what, sizeof(what), "%s %s: %d", r->method, r->path,
	    rp.status);
	ok(what);
	fc_req_free(r);
}

static void
boot(int run)
{
	struct fc_req	r[FC_PLAN_MAX];
	char		err[160], buf[8];
	int		fd = api(run), n, i, v;

	if ((n = fc_boot_plan(&vm, r, FC_PLAN_MAX)) < 0)
		die("plan", "refused");
	/* Before InstanceStart nothing listens behind the vsock. */
	for (i = 0; i < n; i++)
		call_ok(fd, &r[i]);
	if (fc_req_vm_state(&r[0], 1) < 0)
		die("pause", "refused");
	call_ok(fd, &r[0]);
	if (fc_req_snapshot_create(&r[0], "/vm.state", "/vm.mem") < 0)
		die("snapshot", "refused");
	call_ok(fd, &r[0]);
	if (fc_req_vm_state(&r[0], 0) < 0)
		die("resume", "refused");
	call_ok(fd, &r[0]);
	if ((v = fc_vsock_open(run, "firecracker.vsock", FC_AGENT_PORT, 3000,
	    err, sizeof(err))) < 0)
		die("vsock", err);
	if (write(v, "ping", 4) != 4 || read(v, buf, 4) != 4 ||
	    memcmp(buf, "ping", 4) != 0)
		die("vsock", "the agent's stream did not carry bytes");
	close(v);
	ok("vsock: CONNECT 1024 answered OK, then a byte stream");
	if (fc_vsock_open(run, "firecracker.vsock", 99, 3000, err,
	    sizeof(err)) >= 0)
		die("vsock 99", "a port nobody listens on was connected");
	if (strstr(err, "refused") == NULL)
		die("vsock 99", err);
	ok("vsock: a port nobody listens on is refused, not hung");
	/* A symlink in the jail's /run (a VMM may write there) is not
	 * followed to whatever socket it names. */
	(void)unlinkat(run, "link.sock", 0);
	if (symlinkat("firecracker.sock", run, "link.sock") < 0)
		die("symlink", "cannot make one");
	if ((v = fc_connect(run, "link.sock", 1000)) >= 0)
		die("symlink", "fc_connect followed a symlink");
	ok("a symlink where a socket should be is refused");
	if (fc_req_action(&r[0], "SendCtrlAltDel") < 0)
		die("ctrl-alt-del", "refused");
	call_ok(fd, &r[0]);
	close(fd);
}

static void
failing(int run, const char *mode)
{
	struct fc_req	r[FC_PLAN_MAX];
	struct fc_resp	rp;
	int		fd = api(run), n, i, rc;

	if ((n = fc_boot_plan(&vm, r, FC_PLAN_MAX)) < 0)
		die("plan", "refused");
	rc = fc_call(fd, &r[0], &rp, 1000);
	if (strcmp(mode, "garbage") == 0) {
		if (rc == 0 || strstr(rp.fault, "control bytes") == NULL)
			die("garbage", rp.fault);
		ok("an answer with control bytes is refused");
	} else if (strcmp(mode, "silent") == 0) {
		if (rc == 0 || rp.status != 0 || strstr(rp.fault, "no answer")
		    == NULL)
			die("silent", rp.fault);
		ok("no answer in 1000 ms: a timeout");
	} else {
		if (rc < 0)
			die(r[0].path, rp.fault);
		rc = fc_call(fd, &r[1], &rp, 5000);
		if (rc == 0 || rp.status != 400 ||
		    strcmp(rp.fault, "Kernel file cannot be opened: No such "
		    "file") != 0)
			die("boot-source", rp.fault);
		ok("a 400 from Firecracker comes back with its fault_message");
	}
	for (i = 0; i < n; i++)
		fc_req_free(&r[i]);
	close(fd);
}

int
main(int argc, char **argv)
{
	char	path[4096];
	int	run;

	if (argc != 3)
		return 2;
	snprintf(path, sizeof(path), "%s/run", argv[2]);
	if ((run = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		die("open", path);
	if (strcmp(argv[1], "boot") == 0)
		boot(run);
	else
		failing(run, argv[1]);
	printf("%d passed, 0 failed\n", passed);
	return 0;
}
