// SPDX-License-Identifier: LGPL-2.1
/*
 * compat_dvk.c - dvk_open() and dvk_fd of the DVK names (m3ipc_dvk.h).
 *
 * A DVK program opens the device before its first call; here every call
 * opens /dev/m3ipc on first use anyway, so dvk_open() only does it early
 * and tells the program the descriptor (or why there is none), and the node
 * id as the DVK's library did.
 */
#include "compat_internal.h"
#include "../m3ipc_dvk.h"

/* weak: DVK programs often define them themselves (int local_nodeid;) */
int dvk_fd __attribute__((weak)) = -1;
int local_nodeid __attribute__((weak)) = -1;

long dvk_open(void)
{
	int fd = m3_open();
	long node;

	if (fd < 0)
		return fd;	/* -2 (ENOENT) without the module */
	dvk_fd = fd;
	node = mnx_getdvsinfo(NULL);
	if (node >= 0)
		local_nodeid = (int)node;
	return fd;
}
