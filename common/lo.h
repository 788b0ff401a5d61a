/* The loopback interface up (common/lo.c): 0 or -errno. */
#ifndef PYRO_LO_H
#define PYRO_LO_H

int	pyro_lo_up(void);

#endif
