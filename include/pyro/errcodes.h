/*
 * libpyro's error codes: the one list of the stable strings that every
 * surface reports (pyrod's replies, libpyro, the CLI, the MCP server, the
 * Python SDK) and docs/public-contract.md documents; tests/errcodes.sh
 * fails on a code used or documented but not listed here.  Codes are
 * never renamed, only added.
 *
 * PYRO_ERRCODES(X) expands X(NAME, "code", "summary") once per code, in
 * the order of pyrod's internal enum; PYRO_ERR_NAME is each code's string.
 */
#ifndef PYRO_ERRCODES_H
#define PYRO_ERRCODES_H

#define PYRO_ERRCODES(X) \
	X(OK, "ok", "success") \
	X(BAD_REQUEST, "bad_request", "the request is not a well-formed JSON object") \
	X(FRAME_TOO_LARGE, "frame_too_large", "the frame exceeds the protocol's size limit") \
	X(UNKNOWN_OP, "unknown_op", "no such operation") \
	X(INVALID_ARGUMENT, "invalid_argument", "an argument is missing, of the wrong type or out of range") \
	X(PERMISSION_DENIED, "permission_denied", "the caller is not allowed to use pyrod") \
	X(NOT_FOUND, "not_found", "no such object") \
	X(EXISTS, "exists", "the object already exists") \
	X(BUSY, "busy", "another operation on the object is in progress") \
	X(TIMEOUT, "timeout", "the operation ran out of time") \
	X(INTERNAL, "internal", "an internal error in pyrod") \
	X(IO, "io_error", "reading or writing failed") \
	X(HELPER_FAILED, "helper_failed", "a helper process died or misbehaved") \
	X(DAEMON_UNAVAILABLE, "daemon_unavailable", "pyrod is not running or not reachable") \
	X(PROTOCOL, "protocol_error", "the peer broke the protocol") \
	X(INVALID_PATH, "invalid_path", "a path is malformed or escapes its root") \
	X(INVALID_NAME, "invalid_name", "a name is malformed (1-64 of A-Z a-z 0-9 . _ -)") \
	X(LIMIT_EXCEEDED, "limit_exceeded", "a size or count limit was exceeded") \
	X(WORKSPACE_RUNNING, "workspace_running", "the workspace must be stopped first") \
	X(WORKSPACE_NOT_RUNNING, "workspace_not_running", "the workspace must be running") \
	X(NOT_GUEST_BACKED, "not_guest_backed", "the workspace runs on the host (host-compat)") \
	X(UNSUPPORTED, "unsupported", "this host cannot do that") \
	X(UNKNOWN_ENVIRONMENT, "unknown_environment", "no such environment in the catalog") \
	X(ENVIRONMENT_NOT_INSTALLED, "environment_not_installed", "the environment is not in the cache (pyro env pull NAME)") \
	X(ENVIRONMENT_CORRUPT, "environment_corrupt", "an environment file does not match its manifest") \
	X(GUEST_BOOT_FAILED, "guest_boot_failed", "the guest did not boot") \
	X(GUEST_PROTOCOL, "guest_protocol_error", "the guest agent broke the protocol") \
	X(VMM_UNAVAILABLE, "vmm_unavailable", "no usable VMM on this host") \
	X(INVALID_ARCHIVE, "invalid_archive", "an archive or tree holds an unsafe or unreadable entry") \
	X(DISK_CORRUPT, "disk_corrupt", "the workspace's disk image is damaged or not ext4") \
	X(VM_NOT_RUNNING, "vm_not_running", "the VM must be running") \
	X(UNAVAILABLE, "unavailable", "a service pyro talks to (a model server) is not reachable") \
	X(USAGE, "usage_error", "the command line is wrong (the CLI's own refusal)") \
	X(TOO_MANY_CLIENTS, "too_many_clients", "pyrod refused the connection: the caller's uid (or pyrod) has too many") \
	X(RESOURCES_EXHAUSTED, "resources_exhausted", "the host's budget for guests (memory, vCPUs, VMs, workspaces, snapshot bytes, network addresses) is used up") \
	X(NETWORK_UNAVAILABLE, "network_unavailable", "guest networking cannot be set up on this host (TAP, nftables, forwarding)") \
	X(PORT_IN_USE, "port_in_use", "the host port to publish is already in use") \
	X(VM_OOM, "vm_oom", "the VM's VMM went over its memory limit and was killed") \
	X(REGISTRY_UNAUTHORIZED, "registry_unauthorized", "the registry refused the credentials, or wants some (401/403)") \
	X(REGISTRY_UNAVAILABLE, "registry_unavailable", "the registry is unreachable, failed (5xx), redirects in a loop or cut a download short") \
	X(INVALID_MANIFEST, "invalid_manifest", "a registry's manifest is malformed, too large, or not what pyro can install") \
	X(DIGEST_MISMATCH, "digest_mismatch", "downloaded bytes do not match their digest; nothing was installed")

#define PYRO_ERR_OK	"ok"
#define PYRO_ERR_BAD_REQUEST	"bad_request"
#define PYRO_ERR_FRAME_TOO_LARGE	"frame_too_large"
#define PYRO_ERR_UNKNOWN_OP	"unknown_op"
#define PYRO_ERR_INVALID_ARGUMENT	"invalid_argument"
#define PYRO_ERR_PERMISSION_DENIED	"permission_denied"
#define PYRO_ERR_NOT_FOUND	"not_found"
#define PYRO_ERR_EXISTS	"exists"
#define PYRO_ERR_BUSY	"busy"
#define PYRO_ERR_TIMEOUT	"timeout"
#define PYRO_ERR_INTERNAL	"internal"
#define PYRO_ERR_IO	"io_error"
#define PYRO_ERR_HELPER_FAILED	"helper_failed"
#define PYRO_ERR_DAEMON_UNAVAILABLE	"daemon_unavailable"
#define PYRO_ERR_PROTOCOL	"protocol_error"
#define PYRO_ERR_INVALID_PATH	"invalid_path"
#define PYRO_ERR_INVALID_NAME	"invalid_name"
#define PYRO_ERR_LIMIT_EXCEEDED	"limit_exceeded"
#define PYRO_ERR_WORKSPACE_RUNNING	"workspace_running"
#define PYRO_ERR_WORKSPACE_NOT_RUNNING	"workspace_not_running"
#define PYRO_ERR_NOT_GUEST_BACKED	"not_guest_backed"
#define PYRO_ERR_UNSUPPORTED	"unsupported"
#define PYRO_ERR_UNKNOWN_ENVIRONMENT	"unknown_environment"
#define PYRO_ERR_ENVIRONMENT_NOT_INSTALLED	"environment_not_installed"
#define PYRO_ERR_ENVIRONMENT_CORRUPT	"environment_corrupt"
#define PYRO_ERR_GUEST_BOOT_FAILED	"guest_boot_failed"
#define PYRO_ERR_GUEST_PROTOCOL	"guest_protocol_error"
#define PYRO_ERR_VMM_UNAVAILABLE	"vmm_unavailable"
#define PYRO_ERR_INVALID_ARCHIVE	"invalid_archive"
#define PYRO_ERR_DISK_CORRUPT	"disk_corrupt"
#define PYRO_ERR_VM_NOT_RUNNING	"vm_not_running"
#define PYRO_ERR_UNAVAILABLE	"unavailable"
#define PYRO_ERR_USAGE	"usage_error"
#define PYRO_ERR_TOO_MANY_CLIENTS	"too_many_clients"
#define PYRO_ERR_NETWORK_UNAVAILABLE	"network_unavailable"
#define PYRO_ERR_PORT_IN_USE	"port_in_use"
#define PYRO_ERR_VM_OOM	"vm_oom"
#define PYRO_ERR_REGISTRY_UNAUTHORIZED	"registry_unauthorized"
#define PYRO_ERR_REGISTRY_UNAVAILABLE	"registry_unavailable"
#define PYRO_ERR_INVALID_MANIFEST	"invalid_manifest"
#define PYRO_ERR_DIGEST_MISMATCH	"digest_mismatch"
#define PYRO_ERR_RESOURCES_EXHAUSTED	"resources_exhausted"

#endif
