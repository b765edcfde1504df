// SPDX-License-Identifier: LGPL-2.1
/*
 * compat_endpoint.c - which endpoint numbering a call speaks.
 *
 * A compat-mode DC gets the original's numbering (first generation = the
 * slot number, as its programs assume); an ordinary DC keeps the module's.
 * The IPC calls name no DC: they use the calling thread's, looked up once
 * (two ioctls) and kept per thread, as binding is per thread. The
 * library's own bind, wait4bind and unbind calls refresh it, and a forked
 * child, which is not bound, starts without it.
 */
#include <pthread.h>
#include <string.h>

#include "compat_internal.h"

static __thread int self_numbering = -1;	/* -1: not known */

int mnx_dc_numbering(int dcid)
{
	struct m3_dc_info ci;

	/* no such DC: the call that asks fails on its own */
	if (m3_dc_info(dcid, &ci) < 0)
		return 0;
	return !!(ci.spec.flags & M3_DCF_COMPAT);
}

int mnx_self_numbering(void)
{
	struct m3_getep self;

	if (self_numbering >= 0)
		return self_numbering;
	memset(&self, 0, sizeof(self));
	/* not bound: the call fails with EMOLNOTBIND; nothing to keep */
	if (m3_getep_info(&self) < 0)
		return 0;
	self_numbering = mnx_dc_numbering(self.dcid);
	return self_numbering;
}

void mnx_self_bound(int dcid)
{
	self_numbering = mnx_dc_numbering(dcid);
}

void mnx_self_forget(void)
{
	self_numbering = -1;
}

static void __attribute__((constructor)) mnx_endpoint_init(void)
{
	pthread_atfork(NULL, NULL, mnx_self_forget);
}
