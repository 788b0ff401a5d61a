/*
 * Host probes run by pyro-vmhelper for `pyro doctor`.
 *
 * KVM: the device node existing proves little.  On nested hosts (measured:
 * "PVM" nested KVM) a vCPU runs trivial real-mode code, yet QEMU aborts when
 * it sets the feature MSR IA32_ARCH_CAPABILITIES (0x10a) that KVM itself
 * advertises.  So the probe does what a VMM does at vCPU creation: set the
 * supported CPUID, set every advertised value of the feature MSRs a VMM
 * programs, then run a few instructions and check the exits.  HLT is not
 * used: with an in-kernel irqchip it never returns to user space.
 */
#include "config.h"

#include <sys/ioctl.h>
#include <sys/mman.h>

#include <linux/if.h>
#include <linux/if_tun.h>
#include <linux/kvm.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nftables/libnftables.h>

#include "vmhelper.h"

#define GUEST_MEM	0x10000
#define GUEST_CODE	0x1000
#define MSR_ARCH_CAPABILITIES	0x10a

struct kvm_probe {
	int		 vm, vcpu;
	void		*mem;
	struct kvm_run	*run;
	size_t		 runsz;
};

static void
kvm_probe_free(struct kvm_probe *p)
{
	if (p->run != NULL && p->run != MAP_FAILED)
		munmap(p->run, p->runsz);
	if (p->mem != NULL && p->mem != MAP_FAILED)
		munmap(p->mem, GUEST_MEM);
	if (p->vcpu >= 0)
		close(p->vcpu);
	if (p->vm >= 0)
		close(p->vm);
}

static int
fail(char *reason, size_t size, const char *what)
{
	snprintf(reason, size, "%s: %s", what, strerror(errno));
	return 0;
}

/* Program every feature MSR the host advertises; a VMM does the same. */
static int
kvm_feature_msrs(int kvm, int vcpu, char *reason, size_t size)
{
	struct kvm_msr_list	*list;
	struct {
		struct kvm_msrs		h;
		struct kvm_msr_entry	e;
	} one;
	uint32_t		 i;
	int			 ok = 1;

	if ((list = calloc(1, sizeof(*list) + 1024 * sizeof(uint32_t))) == NULL)
		return fail(reason, size, "out of memory");
	list->nmsrs = 1024;
	if (ioctl(kvm, KVM_GET_MSR_FEATURE_INDEX_LIST, list) < 0) {
		free(list);
		return 1;	/* old kernels: nothing to program */
	}
	for (i = 0; i < list->nmsrs && ok; i++) {
		if (list->indices[i] != MSR_ARCH_CAPABILITIES)
			continue;
		memset(&one, 0, sizeof(one));
		one.h.nmsrs = 1;
		one.e.index = list->indices[i];
		if (ioctl(kvm, KVM_GET_MSRS, &one) != 1)
			continue;
		if (ioctl(vcpu, KVM_SET_MSRS, &one) != 1) {
			snprintf(reason, size, "KVM rejects the feature MSR "
			    "0x%x it advertises; VMMs abort at vCPU setup",
			    list->indices[i]);
			ok = 0;
		}
	}
	free(list);
	return ok;
}

static int
kvm_setup_vcpu(int kvm, struct kvm_probe *p, char *reason, size_t size)
{
	struct kvm_cpuid2	*cpuid;
	struct kvm_sregs	 sregs;
	struct kvm_regs		 regs;
	int			 rc;

	cpuid = calloc(1, sizeof(*cpuid) + 256 *
	    sizeof(struct kvm_cpuid_entry2));
	if (cpuid == NULL)
		return fail(reason, size, "out of memory");
	cpuid->nent = 256;
	rc = ioctl(kvm, KVM_GET_SUPPORTED_CPUID, cpuid);
	if (rc == 0)
		rc = ioctl(p->vcpu, KVM_SET_CPUID2, cpuid);
	free(cpuid);
	if (rc < 0)
		return fail(reason, size, "setting the vCPU's CPUID");
	if (!kvm_feature_msrs(kvm, p->vcpu, reason, size))
		return 0;
	if (ioctl(p->vcpu, KVM_GET_SREGS, &sregs) < 0)
		return fail(reason, size, "KVM_GET_SREGS");
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	if (ioctl(p->vcpu, KVM_SET_SREGS, &sregs) < 0)
		return fail(reason, size, "KVM_SET_SREGS");
	memset(&regs, 0, sizeof(regs));
	regs.rip = GUEST_CODE;
	regs.rflags = 0x2;
	if (ioctl(p->vcpu, KVM_SET_REGS, &regs) < 0)
		return fail(reason, size, "KVM_SET_REGS");
	return 1;
}

/* mov al,0x42; out 0x10,al; mov al,0x43; out 0x11,al; jmp $ */
static const uint8_t probe_code[] = {
	0xb0, 0x42, 0xe6, 0x10, 0xb0, 0x43, 0xe6, 0x11, 0xeb, 0xfe
};

static int
kvm_expect_out(struct kvm_probe *p, uint16_t port, uint8_t val, char *reason,
    size_t size)
{
	uint8_t	got;

	if (ioctl(p->vcpu, KVM_RUN, 0) < 0)
		return fail(reason, size, "KVM_RUN");
	if (p->run->exit_reason != KVM_EXIT_IO ||
	    p->run->io.direction != KVM_EXIT_IO_OUT || p->run->io.port != port) {
		snprintf(reason, size, "vCPU exited with reason %u instead of "
		    "port I/O (KVM emulation failure)", p->run->exit_reason);
		return 0;
	}
	got = *((uint8_t *)p->run + p->run->io.data_offset);
	if (got != val) {
		snprintf(reason, size, "vCPU wrote 0x%x, expected 0x%x", got,
		    val);
		return 0;
	}
	return 1;
}

int
probe_kvm(int kvm, char *reason, size_t size)
{
	struct kvm_probe			 p = { .vm = -1, .vcpu = -1 };
	struct kvm_userspace_memory_region	 r;
	int					 ok = 0, n;

	reason[0] = '\0';
	if (kvm < 0) {
		snprintf(reason, size, "/dev/kvm is missing or not "
		    "read-write for root");
		return 0;
	}
	if (ioctl(kvm, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
		snprintf(reason, size, "unexpected KVM API version");
		return 0;
	}
	if ((p.vm = ioctl(kvm, KVM_CREATE_VM, 0)) < 0)
		return fail(reason, size, "KVM_CREATE_VM");
	(void)ioctl(p.vm, KVM_SET_TSS_ADDR, 0xfffbd000UL);
	if (ioctl(p.vm, KVM_CREATE_IRQCHIP, 0) < 0) {
		ok = fail(reason, size, "KVM_CREATE_IRQCHIP");
		goto out;
	}
	p.mem = mmap(NULL, GUEST_MEM, PROT_READ | PROT_WRITE, MAP_SHARED |
	    MAP_ANONYMOUS, -1, 0);
	if (p.mem == MAP_FAILED) {
		ok = fail(reason, size, "mmap guest memory");
		goto out;
	}
	memcpy((uint8_t *)p.mem + GUEST_CODE, probe_code, sizeof(probe_code));
	memset(&r, 0, sizeof(r));
	r.memory_size = GUEST_MEM;
	r.userspace_addr = (uintptr_t)p.mem;
	if (ioctl(p.vm, KVM_SET_USER_MEMORY_REGION, &r) < 0) {
		ok = fail(reason, size, "KVM_SET_USER_MEMORY_REGION");
		goto out;
	}
	if ((p.vcpu = ioctl(p.vm, KVM_CREATE_VCPU, 0)) < 0) {
		ok = fail(reason, size, "KVM_CREATE_VCPU");
		goto out;
	}
	if ((n = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0)) <= 0) {
		ok = fail(reason, size, "KVM_GET_VCPU_MMAP_SIZE");
		goto out;
	}
	p.runsz = (size_t)n;
	p.run = mmap(NULL, p.runsz, PROT_READ | PROT_WRITE, MAP_SHARED,
	    p.vcpu, 0);
	if (p.run == MAP_FAILED) {
		ok = fail(reason, size, "mmap kvm_run");
		goto out;
	}
	if (!kvm_setup_vcpu(kvm, &p, reason, size))
		goto out;
	ok = kvm_expect_out(&p, 0x10, 0x42, reason, size) &&
	    kvm_expect_out(&p, 0x11, 0x43, reason, size);
	if (ok)
		snprintf(reason, size, "a vCPU ran guest code");
out:
	kvm_probe_free(&p);
	return ok;
}

int
probe_tun(char *reason, size_t size)
{
	struct ifreq	ifr;
	int		fd;

	if ((fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC)) < 0)
		return fail(reason, size, "/dev/net/tun");
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "pyroprobe%%d");
	/* Not persistent: the device vanishes when fd is closed. */
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		int ok = fail(reason, size, "TUNSETIFF");
		close(fd);
		return ok;
	}
	close(fd);
	snprintf(reason, size, "a TAP device can be created");
	return 1;
}

int
probe_nft(char *reason, size_t size)
{
	struct nft_ctx	*ctx;
	const char	*err;
	int		 rc;

	if ((ctx = nft_ctx_new(NFT_CTX_DEFAULT)) == NULL) {
		snprintf(reason, size, "libnftables: cannot create a context");
		return 0;
	}
	(void)nft_ctx_buffer_output(ctx);
	(void)nft_ctx_buffer_error(ctx);
	rc = nft_run_cmd_from_buffer(ctx, "list tables");
	if (rc != 0) {
		err = nft_ctx_get_error_buffer(ctx);
		snprintf(reason, size, "nft list tables failed: %.80s",
		    err ? err : "unknown error");
	} else
		snprintf(reason, size, "nftables answers over netlink");
	nft_ctx_free(ctx);
	return rc == 0;
}
