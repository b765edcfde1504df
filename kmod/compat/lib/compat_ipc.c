// SPDX-License-Identifier: LGPL-2.1
/*
 * compat_ipc.c - the M3-IPC 1.6 message calls: one ioctl each.
 *
 * The compat message (8-byte header + 40-byte union) is a prefix of the
 * module's struct m3_msg (8-byte header + 56-byte payload), so the layout
 * conversion is one copy of the 48 bytes into the ioctl argument and, for
 * calls that receive, one copy back; the payload's last 16 bytes stay 0.
 */
#include <limits.h>
#include <stddef.h>
#include <string.h>

#include "compat_internal.h"

_Static_assert(sizeof(message) == 48, "message is 48 bytes on x86_64");
_Static_assert(sizeof(message) <= sizeof(struct m3_msg),
	       "a message fits the module's payload");
_Static_assert(offsetof(message, m_u) == offsetof(struct m3_msg, payload),
	       "the union starts where the payload does");

/* the original's timeout is a long; the module's an int */
static int mnx_timeout(long timeout_ms)
{
	if (timeout_ms > INT_MAX)
		return INT_MAX;
	if (timeout_ms < -1)
		return INT_MIN;	/* refused by the module: EMOLINVAL */
	return (int)timeout_ms;
}

static long mnx_ipc(unsigned long cmd, int ep, message *m, long timeout_ms,
		    int copy_back)
{
	int orig = mnx_self_numbering();
	struct m3_ipc a;
	long ret;

	memset(&a, 0, sizeof(a));
	a.ep = mnx_ep_in(orig, ep);
	a.timeout_ms = mnx_timeout(timeout_ms);
	if (m)
		memcpy(&a.msg, m, sizeof(*m));
	ret = m3_ioctl(cmd, &a);
	if (ret > 0)
		ret = OK;
	if (!ret && copy_back) {
		memcpy(m, &a.msg, sizeof(*m));
		m->m_source = (int)mnx_ep_out(orig, m->m_source);
		/* the original's notification type (m_type < 0 is the
		 * module's own, so this is never a user's message) */
		if (m->m_type == M3_MTYPE_NOTIFY)
			m->m_type = NOTIFY_MESSAGE;
	}
	return ret;
}

long mnx_send_T(int dst_ep, mnx_ptr_t m, long timeout_ms)
{
	return mnx_ipc(M3_IOC_SEND, dst_ep, m.mp, timeout_ms, 0);
}

long mnx_receive_T(int src_ep, mnx_ptr_t m, long timeout_ms)
{
	return mnx_ipc(M3_IOC_RECEIVE, src_ep, m.mp, timeout_ms, 1);
}

long mnx_sendrec_T(int srcdst_ep, mnx_ptr_t m, long timeout_ms)
{
	return mnx_ipc(M3_IOC_SENDREC, srcdst_ep, m.mp, timeout_ms, 1);
}

long mnx_rcvrqst_T(mnx_ptr_t m, long timeout_ms)
{
	return mnx_ipc(M3_IOC_RCVRQST, M3_ANY, m.mp, timeout_ms, 1);
}

/* a reply never blocks in m3ipc: the timeout is accepted and unused */
long mnx_reply_T(int dst_ep, mnx_ptr_t m, long timeout_ms)
{
	if (timeout_ms < -1)
		return EMOLINVAL;
	return mnx_ipc(M3_IOC_REPLY, dst_ep, m.mp, 0, 0);
}

long mnx_send(int dst_ep, mnx_ptr_t m)
{
	return mnx_send_T(dst_ep, m, TIMEOUT_FOREVER);
}

long mnx_receive(int src_ep, mnx_ptr_t m)
{
	return mnx_receive_T(src_ep, m, TIMEOUT_FOREVER);
}

long mnx_sendrec(int srcdst_ep, mnx_ptr_t m)
{
	return mnx_sendrec_T(srcdst_ep, m, TIMEOUT_FOREVER);
}

long mnx_rcvrqst(mnx_ptr_t m)
{
	return mnx_rcvrqst_T(m, TIMEOUT_FOREVER);
}

long mnx_reply(int dst_ep, mnx_ptr_t m)
{
	return mnx_reply_T(dst_ep, m, TIMEOUT_FOREVER);
}

long mnx_notify(int dst_ep)
{
	return mnx_ipc(M3_IOC_NOTIFY, dst_ep, NULL, 0, 0);
}

/* OK when all bytes were copied; parenthesised: the header's macro of the
 * same name casts a program's addresses */
long (mnx_vcopy)(int src_ep, mnx_ptr_t src_addr, int dst_ep, mnx_ptr_t dst_addr,
	       int bytes)
{
	int orig = mnx_self_numbering();
	struct m3_vcopy a;
	long ret;

	if (bytes < 0)
		return EMOLINVAL;
	memset(&a, 0, sizeof(a));
	a.src_ep = mnx_ep_in(orig, src_ep);
	a.dst_ep = mnx_ep_in(orig, dst_ep);
	a.src_addr = src_addr.ul;
	a.dst_addr = dst_addr.ul;
	a.len = (unsigned int)bytes;
	a.timeout_ms = M3_TIMEOUT_FOREVER;	/* ends when a node goes down */
	ret = m3_ioctl(M3_IOC_VCOPY, &a);
	return ret < 0 ? ret : OK;
}

long mnx_wait4bind_T(long timeout_ms)
{
	struct m3_wait4bind a;
	long ret;

	memset(&a, 0, sizeof(a));
	a.timeout_ms = mnx_timeout(timeout_ms);
	ret = m3_ioctl(M3_IOC_WAIT4BIND, &a);
	if (ret < 0)
		return ret;
	mnx_self_forget();	/* bound by another: its DC is looked up anew */
	return mnx_ep_out(mnx_self_numbering(), a.endpoint);
}

long mnx_wait4bind(void)
{
	return mnx_wait4bind_T(TIMEOUT_FOREVER);
}

long mnx_src_notify(int src_nr, int dst_ep)
{
	struct m3_getep self;
	long ret;

	if (src_nr != SELF) {
		memset(&self, 0, sizeof(self));
		ret = m3_getep_info(&self);
		if (ret < 0)
			return ret;
		if (src_nr != self.p_nr &&
		    src_nr != mnx_ep_out(mnx_self_numbering(), self.endpoint))
			return EMOLNOSYS;	/* on another's behalf */
	}
	return mnx_notify(dst_ep);
}
