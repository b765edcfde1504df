/* SPDX-License-Identifier: LGPL-2.1 */
/* compat_internal.h - shared by the compat library's files only. */
#ifndef COMPAT_INTERNAL_H
#define COMPAT_INTERNAL_H

#include "../m3ipc_compat.h"
#include "../../lib/libm3ipc.h"

/*
 * Errors: the module's -errno as the original's EMOL* code (compat_errors.c).
 * Every libm3ipc call the library makes goes through it (the macros below
 * name the function they wrap, which C does not expand again), so the
 * library's own code compares and returns EMOL* values only.
 */
long mnx_err(long ret);

/* dvs_usr_t.d_flags bits, the DVK's (m3ipc_dvk.h: DVK_IOCTL, ...) */
#define MNX_DVS_IOCTL		(1UL << 1)
#define MNX_DVS_USERMODE	(1UL << 2)
#define MNX_DVS_INITIALIZED	(1UL << 8)
#define m3_add_node(...)		((int)mnx_err(m3_add_node(__VA_ARGS__)))
#define m3_bind(...)		((int)mnx_err(m3_bind(__VA_ARGS__)))
#define m3_dc_end(...)		((int)mnx_err(m3_dc_end(__VA_ARGS__)))
#define m3_dc_info(...)		((int)mnx_err(m3_dc_info(__VA_ARGS__)))
#define m3_dc_init(...)		((int)mnx_err(m3_dc_init(__VA_ARGS__)))
#define m3_del_node(...)		((int)mnx_err(m3_del_node(__VA_ARGS__)))
#define m3_dvs_end(...)		((int)mnx_err(m3_dvs_end(__VA_ARGS__)))
#define m3_dvs_info(...)		((int)mnx_err(m3_dvs_info(__VA_ARGS__)))
#define m3_dvs_init(...)		((int)mnx_err(m3_dvs_init(__VA_ARGS__)))
#define m3_getep_info(...)		((int)mnx_err(m3_getep_info(__VA_ARGS__)))
#define m3_ioctl(...)		((int)mnx_err(m3_ioctl(__VA_ARGS__)))
#define m3_node_down(...)		((int)mnx_err(m3_node_down(__VA_ARGS__)))
#define m3_node_up(...)		((int)mnx_err(m3_node_up(__VA_ARGS__)))
#define m3_open(...)		((int)mnx_err(m3_open(__VA_ARGS__)))
#define m3_proc_info(...)		((int)mnx_err(m3_proc_info(__VA_ARGS__)))
#define m3_proxy_bind(...)		((int)mnx_err(m3_proxy_bind(__VA_ARGS__)))
#define m3_proxy_unbind(...)		((int)mnx_err(m3_proxy_unbind(__VA_ARGS__)))
#define m3_rmtbind(...)		((int)mnx_err(m3_rmtbind(__VA_ARGS__)))
#define m3_setpriv(...)		((int)mnx_err(m3_setpriv(__VA_ARGS__)))
#define m3_unbind(...)		((int)mnx_err(m3_unbind(__VA_ARGS__)))

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

/* the original's privilege level as the module's, or -1 (refused) */
static inline int mnx_priv_in(int level)
{
	switch (level) {
	case USER_PRIV:
		return M3_PRIV_USER;
	case SERVER_PRIV:
		return M3_PRIV_SERVER;
	case TASK_PRIV:
	case SYSTEM_PRIV:
		return M3_PRIV_TASK;
	case KERNEL_PRIV:
	case PROXY_PRIV:
		return M3_PRIV_KERNEL;
	case HARDWARE_PRIV:
		return M3_PRIV_HARDWARE;
	default:
		return -1;
	}
}

static inline int mnx_priv_out(int level)
{
	switch (level) {
	case M3_PRIV_HARDWARE:
		return HARDWARE_PRIV;
	case M3_PRIV_KERNEL:
		return KERNEL_PRIV;
	case M3_PRIV_TASK:
		return TASK_PRIV;
	case M3_PRIV_SERVER:
		return SERVER_PRIV;
	default:
		return USER_PRIV;
	}
}

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
