/* Facts about this host that pyrod reads once. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "pyrod.h"

static int	kvm_usable = -1;

int
host_kvm_usable(void)
{
	return kvm_usable;
}

void
host_set_kvm_usable(int ok)
{
	kvm_usable = ok;
}

int
host_find_exe(const char *configured, const char *name, char *out,
    size_t size)
{
	static const char	*dirs[] = { "/usr/local/bin", "/usr/bin",
	    "/usr/local/sbin", "/usr/sbin", "/bin", NULL };
	int			 i;

	if (configured[0] != '\0') {
		snprintf(out, size, "%s", configured);
		return access(out, X_OK) == 0;
	}
	for (i = 0; dirs[i] != NULL; i++) {
		snprintf(out, size, "%s/%s", dirs[i], name);
		if (access(out, X_OK) == 0)
			return 1;
	}
	out[0] = '\0';
	return 0;
}

/*
 * The guest kernel calibrates its clock against this; without it, a TCG
 * guest sometimes hangs at calibration under host load (measured: 1 in 4).
 */
unsigned
host_tsc_khz(void)
{
	static unsigned	 khz;
	FILE		*f;
	char		 line[256];
	double		 mhz;

	if (khz != 0 || (f = fopen("/proc/cpuinfo", "re")) == NULL)
		return khz;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "cpu MHz : %lf", &mhz) == 1) {
			khz = (unsigned)(mhz * 1000);
			break;
		}
	fclose(f);
	return khz;
}
