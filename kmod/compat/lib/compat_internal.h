/* SPDX-License-Identifier: LGPL-2.1 */
/* compat_internal.h - shared by the compat library's files only. */
#ifndef COMPAT_INTERNAL_H
#define COMPAT_INTERNAL_H

#include "../m3ipc_compat.h"
#include "../../lib/libm3ipc.h"

/* one ioctl on the library's /dev/m3ipc fd: 0 or the negative errno */
long mnx_ioctl(unsigned long cmd, void *arg);

#endif
