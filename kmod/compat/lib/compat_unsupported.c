// SPDX-License-Identifier: LGPL-2.1
/*
 * compat_unsupported.c - the calls of M3-IPC 1.6 that m3ipc has no
 * counterpart for. Each returns EMOLNOSYS at once, never something that
 * looks like success; kmod/docs/compat.md ("Not implemented") lists them and why.
 */
#include "compat_internal.h"

/* migration, backup and replica binds: m3ipc has no process migration */
long mnx_migr_start(int dcid, int endpoint)
{
	return EMOLNOSYS;
}

long mnx_migr_rollback(int dcid, int endpoint)
{
	return EMOLNOSYS;
}

long mnx_migr_commit(int pid, int dcid, int endpoint, int new_node)
{
	return EMOLNOSYS;
}

long mnx_bkupbind(int dcid, int pid, int endpoint, int nodeid)
{
	return EMOLNOSYS;
}

long mnx_replbind(int dcid, int pid, int endpoint)
{
	return EMOLNOSYS;
}

/* IPC on another's behalf: m3ipc always names the real caller */
long mnx_sendas(int src_ep, int dst_ep, mnx_ptr_t m, long timeout_ms)
{
	return EMOLNOSYS;
}

long mnx_hdw_notify(int dcid, int dst_ep)
{
	return EMOLNOSYS;
}

long mnx_ntfy_value(int src_nr, int dst_ep, long value)
{
	return EMOLNOSYS;
}

long mnx_relay(int dst_ep, mnx_ptr_t m)
{
	return EMOLNOSYS;
}

/* ending another process's blocked call (EMOLWOKENUP in the original) */
long mnx_wakeup(int dcid, int endpoint)
{
	return EMOLNOSYS;
}

/*
 * The original's proxy interface: m3ipc's proxies bind with
 * mnx_proxies_bind and move frames of their own format (struct m3_rhdr);
 * the connection state is the node's (mnx_node_up/down).
 */
long mnx_proxy_conn(int proxy_nr, int status)
{
	return EMOLNOSYS;
}

long mnx_getproxyinfo(int proxy_nr, proc_usr_t *sproxy, proc_usr_t *rproxy)
{
	return EMOLNOSYS;
}

long mnx_put2lcl(mnx_ptr_t header, mnx_ptr_t payload)
{
	return EMOLNOSYS;
}

long mnx_get2rmt(mnx_ptr_t header, mnx_ptr_t payload)
{
	return EMOLNOSYS;
}

long mnx_get2rmt_T(mnx_ptr_t header, mnx_ptr_t payload, long timeout_ms)
{
	return EMOLNOSYS;
}
