/*
 * libpyro: the C SDK of pyro.
 *
 * Every call talks to the pyro supervisor (pyrod) over its control socket and
 * is synchronous: it returns when pyrod has answered.  Results are JSON
 * objects returned as NUL-terminated text that the caller owns and releases
 * with pyro_free(); the fields of each result are listed in
 * docs/public-contract.md.  Errors are reported as a pyro_error holding a
 * stable code (e.g. "not_found", "daemon_unavailable") and one sentence.
 *
 * Thread safety: a pyro_client may be used by one thread at a time; use one
 * client per thread for concurrency.  Functions that take no client are
 * thread-safe.
 *
 * Return values: 0 on success, -1 on failure with *err filled (err may be
 * NULL when the caller does not care).
 */
#ifndef PYRO_PYRO_H
#define PYRO_PYRO_H

#include <pyro/errcodes.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PYRO_ERROR_CODE_MAX	64
#define PYRO_ERROR_MESSAGE_MAX	512

/* An error: a stable machine-readable code and a human sentence. */
typedef struct pyro_error {
	char	code[PYRO_ERROR_CODE_MAX];
	char	message[PYRO_ERROR_MESSAGE_MAX];
} pyro_error;

/* An open connection to pyrod. */
typedef struct pyro_client pyro_client;

/*
 * Streaming events that arrive before a call's result ("progress", "stdout",
 * "stderr", ...).  event_json is the whole event object as JSON text, valid
 * only during the callback.
 */
typedef void (*pyro_event_fn)(void *arg, const char *kind,
    const char *event_json);

/*
 * Output of a command in a guest, delivered as it arrives: fd is 1 for
 * stdout and 2 for stderr; data is valid only during the callback.
 */
typedef void (*pyro_output_fn)(void *arg, int fd, const void *data,
    size_t len);

/*
 * Progress of long transfers: phase is "check" (a source being checked
 * before anything is sent; totals 0), "send" (a seed or sync push),
 * "receive" (an export: totals are 0, unknown in advance) or "write" (a
 * disk export: the bytes written so far).  Called from a thread of the
 * library's while the call runs, at most about ten times a second; it
 * must not call back into the library.
 */
typedef void (*pyro_progress_fn)(void *arg, const char *phase,
    unsigned long long done_bytes, unsigned long long total_bytes,
    unsigned long long done_files, unsigned long long total_files);

/* The library's version string, e.g. "3.1.0". */
const char	*pyro_version(void);

/*
 * The control socket path used when pyro_connect() gets NULL: $PYRO_SOCKET
 * when set, else "/run/pyro/pyrod.sock".  The string is static.
 */
const char	*pyro_default_socket_path(void);

/*
 * The environment cache directory of the calling user:
 * $PYRO_ENVIRONMENT_CACHE_DIR, else $HOME/.cache/pyro/environments.
 * Writes at most size bytes into buf.  Returns 0, or -1 when it does not fit
 * or no home directory is known.
 */
int		 pyro_environment_cache_dir(char *buf, size_t size);

/*
 * Connect to pyrod at socket_path (NULL: pyro_default_socket_path()).
 * Never blocks for long: when nothing listens the call fails at once with
 * "daemon_unavailable".  On success *out is a client to release with
 * pyro_disconnect().
 */
int		 pyro_connect(const char *socket_path, pyro_client **out,
		    pyro_error *err);

/* Close the connection and free the client.  NULL is allowed. */
void		 pyro_disconnect(pyro_client *client);

/*
 * Receive streaming events of later calls on this client through fn (NULL
 * to ignore them).  arg is passed back untouched.
 */
void		 pyro_set_event_handler(pyro_client *client, pyro_event_fn fn,
		    void *arg);

/*
 * Receive the progress of later transfers on this client (create with a
 * seed, sync push, export, disk export) through fn; NULL to stop.  Set
 * it to NULL before pyro_disconnect() when the client is short-lived.
 */
void		 pyro_set_progress_handler(pyro_client *client,
		    pyro_progress_fn fn, void *arg);

/*
 * The generic call under every other function: send operation `op` with
 * `args_json` (a JSON object as text, NULL for none) and wait for the
 * result.  On success *result_json (when result_json is not NULL) is the
 * result object as JSON text, owned by the caller (pyro_free()).
 */
int		 pyro_call(pyro_client *client, const char *op,
		    const char *args_json, char **result_json, pyro_error *err);

/*
 * Receive command output of later calls on this client through fn, already
 * decoded (NULL: output arrives as "stdout"/"stderr" events instead).
 */
void		 pyro_set_output_handler(pyro_client *client,
		    pyro_output_fn fn, void *arg);

/* Release memory returned by this library.  NULL is allowed. */
void		 pyro_free(void *ptr);

/*
 * Host diagnostics (`pyro doctor`): platform, runtime, KVM (exists, readable,
 * writable, usable with a reason), the VMM that will be used, networking,
 * capabilities, the state and environment cache directories.
 */
int		 pyro_doctor(pyro_client *client, char **result_json,
		    pyro_error *err);

/*
 * pyrod's budgets and what is in use (`pyro status`): guest memory, vCPUs,
 * running VMs, workspaces per uid, connections, the guest address pool
 * and whether VMs run in cgroups.
 */
int		 pyro_usage(pyro_client *client, char **result_json,
		    pyro_error *err);

/*
 * Commands (run, vm exec, workspace exec, service start) follow one rule:
 * argv is NULL-terminated; several elements run as they are, exactly one
 * element is a command line for the guest's shell (sent to pyrod as
 * "command" and run with /bin/sh -lc), so { "echo a && echo b", NULL }
 * runs both echos.
 *
 * One-shot run (`pyro run`): boot a fresh VM from `environment`, run argv
 * in /workspace of the guest, stream its output to the
 * output handler, then delete the VM on every path.  options_json (may be
 * NULL) is an object with any of vcpu_count (default 1), mem_mib (1024),
 * timeout_seconds (30), network (false), allow_host_compat (false: true
 * runs on the host, contained, when no guest can be booted; see
 * docs/host-compat.md).
 * Result: {vm_id, environment, execution_mode (guest_serial or
 * host_compat), exit_code, signal?,
 * duration_ms, boot_ms, cleanup: {deleted, reason, vm_id}}.  A command that runs out of time fails with "timeout".
 * Progress events ("progress" with a "phase") go to the event handler.
 */
int		 pyro_run_in_vm(pyro_client *client, const char *environment,
		    const char *const *argv, const char *options_json,
		    char **result_json, pyro_error *err);

/*
 * The VM lifecycle.  create: a VM record from `environment` (options_json:
 * vcpu_count, mem_mib, ttl_seconds (default 600), network, allow_host_compat);
 * nothing boots yet.  start: boot it (the first start copies the
 * environment's disk; later starts reuse it).  exec: run argv in the
 * running VM like pyro_run_in_vm() (options_json: timeout_seconds), then
 * delete the VM.  stop: power it off, keeping its disk.  delete: stop it if
 * needed and remove it.  network_info: its network devices (none in this
 * release).  reap_expired: delete the caller's VMs past their TTL
 * ({"deleted":[ids]}); pyrod also does this by itself every few seconds.
 * Results are the VM's record unless said otherwise.
 */
int		 pyro_vm_create(pyro_client *client, const char *environment,
		    const char *options_json, char **result_json,
		    pyro_error *err);
int		 pyro_vm_start(pyro_client *client, const char *vm_id,
		    char **result_json, pyro_error *err);
int		 pyro_vm_exec(pyro_client *client, const char *vm_id,
		    const char *const *argv, const char *options_json,
		    char **result_json, pyro_error *err);
int		 pyro_vm_stop(pyro_client *client, const char *vm_id,
		    char **result_json, pyro_error *err);
int		 pyro_vm_delete(pyro_client *client, const char *vm_id,
		    char **result_json, pyro_error *err);
int		 pyro_vm_network_info(pyro_client *client, const char *vm_id,
		    char **result_json, pyro_error *err);
int		 pyro_vm_reap_expired(pyro_client *client, char **result_json,
		    pyro_error *err);

/* The VMs the caller may see: {"vms":[...]}. */
int		 pyro_vm_list(pyro_client *client, char **result_json,
		    pyro_error *err);
/* One VM's record; "not_found" when it does not exist or is not yours. */
int		 pyro_vm_status(pyro_client *client, const char *vm_id,
		    char **result_json, pyro_error *err);
/* The workspaces the caller may see: {"workspaces":[...]}. */
int		 pyro_workspace_list(pyro_client *client, char **result_json,
		    pyro_error *err);
/* One workspace's status; "not_found" when absent or not yours. */
int		 pyro_workspace_status(pyro_client *client,
		    const char *workspace_id, char **result_json,
		    pyro_error *err);

/*
 * Stable workspaces.  A workspace is a VM that stays: its own disk, a
 * /workspace tree seeded at creation (the immutable baseline), secrets,
 * snapshots, PTY shells and services.  Every call below takes the
 * workspace's id; a call on another user's workspace fails "not_found".
 * Calls that need the VM fail "workspace_not_running" when it is stopped
 * and "busy" while it starts, stops or resets.
 *
 * create: options_json may hold vcpu_count (1), mem_mib (1024),
 * ttl_seconds (600), network_policy ("off"; others are not available in
 * this release), allow_host_compat (false), seed_path (a host directory or
 * .tar/.tar.gz/.tgz, read by this process with the caller's rights and
 * checked in full before anything is sent: "invalid_archive" for absolute
 * names, "..", links out of the tree, device nodes), secrets ({"NAME":
 * "VALUE"}) and secret_files ({"NAME": "/host/path"}, read here).  It
 * returns when the guest is booted, seeded and the baseline taken, with
 * the workspace's status (plus "transfer" counts when seeded).
 */
int		 pyro_workspace_create(pyro_client *client,
		    const char *environment, const char *options_json,
		    char **result_json, pyro_error *err);
/* Stop the VM if it runs and remove the workspace with all its files. */
int		 pyro_workspace_delete(pyro_client *client,
		    const char *workspace_id, char **result_json,
		    pyro_error *err);
/*
 * {"history":[{kind, command, exit_code, duration_ms, started_at,
 * finished_at}], "events":[{at, event, state, detail}]}; secret values
 * are redacted.
 */
int		 pyro_workspace_logs(pyro_client *client,
		    const char *workspace_id, char **result_json,
		    pyro_error *err);
/* Boot a stopped (or failed) workspace's same disk; secrets come back. */
int		 pyro_workspace_start(pyro_client *client,
		    const char *workspace_id, char **result_json,
		    pyro_error *err);
/* Flush the guest's filesystems and power the VM off; the disk stays. */
int		 pyro_workspace_stop(pyro_client *client,
		    const char *workspace_id, char **result_json,
		    pyro_error *err);
/*
 * A new workspace from a running one: its memory and disk as they are
 * now (the source pauses a fraction of a second and goes on), running,
 * with its own id, TTL, history, and copies of the source's secrets and
 * baseline; no snapshots, shells or services.  Result: the fork's status
 * with "forked_from".  Refused: not running (workspace_not_running),
 * host-compat (not_guest_backed), Firecracker or a network (unsupported),
 * a command, shell, service, snapshot or lifecycle request open (busy).
 */
int		 pyro_workspace_fork(pyro_client *client,
		    const char *workspace_id, char **result_json,
		    pyro_error *err);
/*
 * Rebuild the disk from the environment and restore the baseline
 * (snapshot NULL or "baseline") or the named snapshot; the id, secrets and
 * settings stay.
 */
int		 pyro_workspace_reset(pyro_client *client,
		    const char *workspace_id, const char *snapshot,
		    char **result_json, pyro_error *err);
/*
 * Run argv (the command rule above: one element is a sh -lc command
 * line) in /workspace; output goes to the output handler as it comes.
 * options_json: timeout_seconds (30), secret_env (["NAME", "NAME=ENV"]).
 * Result: {exit_code, signal?, duration_ms}.  Fails "timeout" when the
 * command runs too long (it is killed).
 */
int		 pyro_workspace_exec(pyro_client *client,
		    const char *workspace_id, const char *const *argv,
		    const char *options_json, char **result_json,
		    pyro_error *err);
/*
 * Copy a host directory or archive into the guest under dest (NULL:
 * /workspace); not atomic.  Result adds "transfer": {files, directories,
 * symlinks, bytes}.
 */
int		 pyro_workspace_sync_push(pyro_client *client,
		    const char *workspace_id, const char *source_path,
		    const char *dest, char **result_json, pyro_error *err);
/*
 * Copy one guest file or directory (path, relative to /workspace) to
 * output_path on the host, written by this process.  An existing
 * output_path is refused ("exists") unless force; a symlink there is
 * always refused.  Secret values in the content are masked with '*'.
 */
int		 pyro_workspace_export(pyro_client *client,
		    const char *workspace_id, const char *path,
		    const char *output_path, int force, char **result_json,
		    pyro_error *err);
/*
 * /workspace against the baseline: {"files":[{path, status (added,
 * modified, deleted), binary, diff (unified, text files)}], "summary":
 * {added, modified, deleted}, "truncated"}.
 */
int		 pyro_workspace_diff(pyro_client *client,
		    const char *workspace_id, char **result_json,
		    pyro_error *err);
/* Snapshots: archives of /workspace, by name ([A-Za-z0-9._-], <= 64). */
int		 pyro_snapshot_create(pyro_client *client,
		    const char *workspace_id, const char *name,
		    char **result_json, pyro_error *err);
int		 pyro_snapshot_list(pyro_client *client,
		    const char *workspace_id, char **result_json,
		    pyro_error *err);
int		 pyro_snapshot_delete(pyro_client *client,
		    const char *workspace_id, const char *name,
		    char **result_json, pyro_error *err);
/*
 * PTY shells that keep their state between calls.  open: options_json
 * cwd ("/workspace"), cols (120), rows (30), secret_env; result has
 * "shell_id".  read: output from cursor (0: the oldest kept), at most
 * max_chars bytes (<= 0: 65536); result {output, cursor, next_cursor,
 * more, state}.  write: input, plus a newline when append_newline.
 * signal: "INT", "TERM", "KILL", "HUP" or "QUIT" to the shell's
 * foreground job.  close: end it.
 */
int		 pyro_shell_open(pyro_client *client, const char *workspace_id,
		    const char *options_json, char **result_json,
		    pyro_error *err);
int		 pyro_shell_read(pyro_client *client, const char *workspace_id,
		    const char *shell_id, long long cursor, long long max_chars,
		    char **result_json, pyro_error *err);
int		 pyro_shell_write(pyro_client *client,
		    const char *workspace_id, const char *shell_id,
		    const char *input, int append_newline, char **result_json,
		    pyro_error *err);
int		 pyro_shell_signal(pyro_client *client,
		    const char *workspace_id, const char *shell_id,
		    const char *signal_name, char **result_json,
		    pyro_error *err);
int		 pyro_shell_close(pyro_client *client,
		    const char *workspace_id, const char *shell_id,
		    char **result_json, pyro_error *err);
/*
 * Services: named background commands (argv: the command rule above).
 * start: options_json cwd,
 * at most one of ready_file, ready_tcp ("HOST:PORT"), ready_http (URL),
 * ready_command, ready_timeout_seconds (30), ready_interval_ms (500),
 * secret_env.  It returns when the service is ready (or right after it
 * started, without a check); "timeout" when the check never passed (the
 * service keeps running, state "failed"), "io_error" when it exited
 * first.  logs: the last tail_lines (<= 0: 200) lines of its output.
 */
int		 pyro_service_start(pyro_client *client,
		    const char *workspace_id, const char *name,
		    const char *const *argv, const char *options_json,
		    char **result_json, pyro_error *err);
int		 pyro_service_list(pyro_client *client,
		    const char *workspace_id, char **result_json,
		    pyro_error *err);
int		 pyro_service_status(pyro_client *client,
		    const char *workspace_id, const char *name,
		    char **result_json, pyro_error *err);
int		 pyro_service_logs(pyro_client *client,
		    const char *workspace_id, const char *name,
		    long long tail_lines, char **result_json, pyro_error *err);
int		 pyro_service_stop(pyro_client *client,
		    const char *workspace_id, const char *name,
		    char **result_json, pyro_error *err);

/*
 * Environments, in the caller's cache (pyro_environment_cache_dir()); no
 * pyrod needed.  list: {catalog_version, cache_dir, environments: [{name,
 * installed, description}]}.  inspect: the manifest plus path and
 * description ("environment_not_installed" when absent).  pull: install
 * it unless it is installed and up to date (its manifest names the
 * pyro-agent installed with this library and every part has its
 * recorded size), in which case nothing is done and the result says
 * {environment, path, up_to_date: true, built: false, version,
 * created_at, agent_sha256}; otherwise, and always with build, it is
 * built from Debian packages with pyro-env-build (root), its progress
 * lines written to progress_fd; result {environment, source, path,
 * up_to_date: true, built: true, rebuilt_because?}.  prune: remove
 * partial builds and pulls, replaced versions and unknown names:
 * {cache_dir, removed: [names]}.
 *
 * With a registry (pyro_env_pull_from()'s argument, else
 * PYRO_ENVIRONMENT_REGISTRY, else pyrod.conf's environment_registry;
 * "none" in the variable: no registry), pull downloads the environment
 * instead (pyro-oci; docs/environments.md): {environment, source:
 * "registry", registry, repository, tag, manifest_digest, path,
 * up_to_date, pulled (false: the installed one is that manifest),
 * built: false, bytes_downloaded}.  Errors: "registry_unauthorized"
 * (401/403), "not_found" (404), "registry_unavailable" (unreachable,
 * 5xx, redirect loops, a download cut short: pull again to resume),
 * "timeout" (a stall), "digest_mismatch", "invalid_manifest",
 * "unsupported" (built with another pyro-agent).  flags: PYRO_PULL_FORCE
 * (download or build again), PYRO_PULL_BUILD (build here, no registry).
 * push: an installed environment to the registry as one OCI artifact:
 * {environment, registry, repository, tag, manifest_digest, compression,
 * blobs_sent, blobs_present, bytes_sent}.
 */
#define PYRO_PULL_FORCE	0x1
#define PYRO_PULL_BUILD	0x2
int		 pyro_env_list(char **result_json, pyro_error *err);
int		 pyro_env_inspect(const char *name, char **result_json,
		    pyro_error *err);
int		 pyro_env_pull(const char *name, int progress_fd,
		    char **result_json, pyro_error *err);
int		 pyro_env_build(const char *name, int progress_fd,
		    char **result_json, pyro_error *err);
int		 pyro_env_pull_from(const char *name, const char *registry,
		    int flags, int progress_fd, char **result_json,
		    pyro_error *err);
int		 pyro_env_push(const char *name, const char *registry,
		    int progress_fd, char **result_json, pyro_error *err);
/*
 * A custom environment from a container image (root): image is
 * [http(s)://]HOST[:PORT]/REPOSITORY[:TAG|@sha256:...] (https when no
 * scheme is given), any OCI or Docker v2 image; its layers become an ext4
 * root filesystem, the kernel and initramfs come from base (a catalog
 * environment, installed; NULL: debian:12).  name is NAME[:TAG], not a
 * catalog name.  Result {environment, source: "image", image,
 * image_digest, base, layers, bytes_downloaded, rootfs_bytes, custom}.
 * list shows custom environments with custom: true.
 */
int		 pyro_env_import(const char *name, const char *image,
		    const char *base, int progress_fd, char **result_json,
		    pyro_error *err);
int		 pyro_env_prune(char **result_json, pyro_error *err);
/*
 * The cache pyrod boots guests from (control op "environment.cache"):
 * {cache_dir, environments: [{name, installed}]}.  pyrod runs as root
 * with its own environment, so this may differ from the caller's cache;
 * "unknown_op" from a pyrod that predates the operation.
 */
int		 pyro_env_cache(pyro_client *client, char **result_json,
		    pyro_error *err);

/*
 * Warm start (pyrod.conf warm_start, on by default): a template is one
 * guest of an environment booted once and saved (memory and devices) with
 * the disk it ran on; one-shot runs, first starts and resets of a shape
 * that has one start from it in a fraction of a boot.  pyro_env_warm
 * makes it (root; options {mem_mib, vcpu_count, network}, default 1024,
 * 1 and false; network: the template of VMs with a network):
 * {status: "made"|"exists", key, environment, mem_mib, vcpu_count,
 * state_bytes, disk_bytes, disk_allocated_bytes, boot_ms, save_ms,
 * created_at, ...}.  pyro_env_templates lists them ({warm_start,
 * templates: [... , current]}); prune (root) removes those no current
 * environment, QEMU or shape can use: {..., removed}.
 */
int		 pyro_env_warm(pyro_client *client, const char *environment,
		    const char *options_json, char **result_json,
		    pyro_error *err);
int		 pyro_env_templates(pyro_client *client, int prune,
		    char **result_json, pyro_error *err);

/*
 * The disk tools (3.1.0): a stopped, guest-backed workspace's disk read
 * offline by pyro-diskhelper ("workspace_running" while it runs).  Paths
 * are relative to /workspace, or absolute from the disk's root; symlinks
 * resolve inside the image.  list: path NULL is /workspace; result
 * {count, entries: [{path, name, type, mode, permissions, uid, gid, size,
 * mtime, mtime_iso, inode, links, symlink_target?}]}.  read: the file's
 * bytes go to the output handler (fd 1), at most max_bytes (0: all);
 * result {bytes, truncated}.  export: one raw ext4 image of the disk
 * (in-use blocks; sparse) at output_path, opened here with the caller's
 * rights: a symlink is refused, an existing file unless force.
 */
int		 pyro_workspace_disk_list(pyro_client *client,
		    const char *workspace_id, const char *path, int recursive,
		    char **result_json, pyro_error *err);
int		 pyro_workspace_disk_read(pyro_client *client,
		    const char *workspace_id, const char *path,
		    long long max_bytes, char **result_json, pyro_error *err);
/*
 * disk_read_fd: the same, the bytes written straight to out_fd (a file, a
 * pipe, a terminal) by the disk helper; disk_read calls the output handler
 * with them from a thread of its own while the call runs.
 */
int		 pyro_workspace_disk_read_fd(pyro_client *client,
		    const char *workspace_id, const char *path,
		    long long max_bytes, int out_fd, char **result_json,
		    pyro_error *err);
int		 pyro_workspace_disk_export(pyro_client *client,
		    const char *workspace_id, const char *output_path,
		    int force, char **result_json, pyro_error *err);

#ifdef __cplusplus
}
#endif

#endif
