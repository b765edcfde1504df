/* SPDX-License-Identifier: LGPL-2.1 */
/* compat_internal.h - shared by the compat library's files only. */
#ifndef COMPAT_INTERNAL_H
#define COMPAT_INTERNAL_H

#include "../m3ipc_compat.h"
#include "../../lib/libm3ipc.h"

#endif
