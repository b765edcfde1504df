/* SPDX-License-Identifier: LGPL-2.1 */
/*
 * libm3ipc.h - C wrappers around the /dev/m3ipc ioctls.
 *
 * Every function returns 0 (or a non-negative value: endpoint, dcid) on
 * success and a negative errno on failure (see the table in m3ipc.h).
 * The device is opened on first use (O_CLOEXEC is NOT set, so a child
 * after fork/exec keeps using it); m3_set_fd() installs another fd.
 * Timeouts are in milliseconds: M3_TIMEOUT_FOREVER (-1), 0 = no wait.
 */
#ifndef LIBM3IPC_H
#define LIBM3IPC_H

#include <stddef.h>
#include <stdint.h>
#include "../uapi/m3ipc.h"

#ifdef __cplusplus
extern "C" {
#endif

int m3_open(void);		/* fd or -errno; idempotent */
void m3_set_fd(int fd);
void m3_close(void);
/* one ioctl on the library's fd: its result or -errno (the calls below use it) */
int m3_ioctl(unsigned long cmd, void *arg);

/* IPC */
int m3_send(int dst, const struct m3_msg *m, int timeout_ms);
int m3_receive(int src, struct m3_msg *m, int timeout_ms);
int m3_sendrec(int dst, struct m3_msg *m, int timeout_ms);
int m3_notify(int dst);
int m3_rcvrqst(int src, struct m3_msg *m, int timeout_ms);
int m3_reply(int dst, const struct m3_msg *m);
/*
 * reply to reply_dst (M3_NONE: skip), then receive from src into *m.
 * flags: M3_RR_RCVRQST. *reply_result (may be NULL) gets the reply's
 * result; the return value is the receive's.
 */
int m3_reply_receive(int reply_dst, const struct m3_msg *reply, int src,
		     struct m3_msg *m, int timeout_ms, unsigned int flags,
		     int *reply_result);
int m3_vcopy(int src_ep, const void *src_addr, int dst_ep, void *dst_addr,
	     size_t len);
/* the same with a bound for copies to/from a remote process (m3_vcopy: -1) */
int m3_vcopy_T(int src_ep, const void *src_addr, int dst_ep, void *dst_addr,
	       size_t len, int timeout_ms);
int m3_getep(int pid);		/* endpoint (> 0) or -errno; pid 0 = self */
int m3_getep_info(struct m3_getep *info);
/* sleep until someone binds the caller; its endpoint (> 0) or -errno */
int m3_wait4bind(int timeout_ms, struct m3_wait4bind *out);

/* admin */
int m3_dvs_init(int node_id, const struct m3_dvs_limits *limits);
int m3_dvs_end(void);
int m3_dvs_info(struct m3_dvs_info *info);
int m3_dc_init(struct m3_dc_spec *spec);	/* dcid or -errno */
int m3_dc_end(int dcid);
int m3_dc_info(int dcid, struct m3_dc_info *info);
int m3_dc_find(const char *name);		/* dcid or -errno */
int m3_bind(int dcid, int pid, int p_nr);	/* endpoint or -errno */
int m3_unbind(int dcid, int ep);
int m3_setpriv(int dcid, int ep, int priv);
int m3_proc_info(int dcid, int p_nr, struct m3_proc_info *info);

/* remote IPC (admin) */
int m3_add_node(int dcid, int node);
int m3_del_node(int dcid, int node);
int m3_rmtbind(int dcid, int ep, int node, const char *name);
int m3_proxy_bind(int node, int sender_pid, int receiver_pid,
		  unsigned int max_payload);
int m3_proxy_unbind(int node);
int m3_node_down(int node);
int m3_node_up(int node);
/* receiver proxy: the peer's sender connected anew (node_down, PEER_RESET) */
int m3_node_reset(int node);
/* sender proxy: next frame (hdr + payload) into buf; bytes or -errno;
 * -ECONNRESET: this node marked the peer down, reset the connection */
int m3_get2rmt(void *buf, unsigned int buflen, int timeout_ms);
/* receiver proxy: deliver one frame (hdr + payload) */
int m3_put2lcl(const void *buf, unsigned int len);
/* a proxy hands its connected link to the module (uapi: link_set); the
 * caller wipes its copy of the keys */
int m3_link_set(const struct m3_link_set *ls);
/* sender proxy with a TX link: the module sends this HELLO */
int m3_link_hello(int node, uint64_t seq, unsigned int count);

#ifdef __cplusplus
}
#endif
#endif
