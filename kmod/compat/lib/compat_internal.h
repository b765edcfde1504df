/* SPDX-License-Identifier: LGPL-2.1 */
/* compat_internal.h - shared by the compat library's files only. */
#ifndef COMPAT_INTERNAL_H
#define COMPAT_INTERNAL_H

#include "../m3ipc_compat.h"
#include "../../lib/libm3ipc.h"

/*
 * Endpoints (compat_endpoint.c). In a compat-mode DC the API speaks the
 * original's numbering (generation g of slot p is _ENDPOINT(g, p), so the
 * first generation is the slot) and the ioctls the module's
 * (M3_ENDPOINT(g + 1, p)); in an ordinary DC both are the module's. @orig
 * says which: mnx_dc_numbering(dcid) for a DC, mnx_self_numbering() for the
 * calling thread's. ANY, NONE and SELF are the same in both. A value that
 * is no endpoint of the original (a slot below -NR_TASKS) goes to the
 * module as it is, which refuses it.
 */
int mnx_dc_numbering(int dcid);
int mnx_self_numbering(void);
/* the calling thread bound itself into @dcid, or left its DC */
void mnx_self_bound(int dcid);
void mnx_self_forget(void);

static inline int mnx_ep_in(int orig, int ep)
{
	int g;

	if (!orig || ep == ANY || ep == NONE || ep == SELF || ep < -NR_TASKS)
		return ep;
	g = _ENDPOINT_G(ep);
	if (g > _ENDPOINT_MAX_GENERATION)
		return ep;
	return M3_ENDPOINT(g + 1, _ENDPOINT_P(ep));
}

/* a module endpoint (or an error, or ANY/NONE/SELF) in the API's terms */
static inline long mnx_ep_out(int orig, long ep)
{
	if (!orig || ep <= 0 || ep == ANY || ep == NONE || ep == SELF ||
	    M3_EP_GEN(ep) == 0 || M3_EP_SLOT(ep) < -NR_TASKS)
		return ep;
	return _ENDPOINT(M3_EP_GEN(ep) - 1, M3_EP_SLOT(ep));
}

/* the slot of an API endpoint */
static inline int mnx_ep_slot(int orig, int ep)
{
	return orig ? _ENDPOINT_P(ep) : M3_EP_SLOT(ep);
}

#endif
