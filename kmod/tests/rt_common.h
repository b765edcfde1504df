/* SPDX-License-Identifier: GPL-2.0 */
/*
 * rt_common.h - protocol between rt_server and rt_client (remote tests).
 * A request is a message whose m_type is RT_*; integer arguments and
 * results travel in the payload as int64 words (rt_w(m, i)).
 */
#ifndef RT_COMMON_H
#define RT_COMMON_H

#include <stdint.h>
#include "tap.h"

enum {
	RT_ECHO = 1,		/* sendrec: reply RT_ECHO_R, w0+1, w1 sends, w2 notifies, w3 last recvfrom value */
	RT_ECHO_R = 2,
	RT_SEND = 3,		/* plain send: counted, w0 kept */
	RT_GETBUF = 7,		/* sendrec: reply w0 = buffer address, w1 = size */
	RT_FILL = 8,		/* sendrec: fill buffer with pattern(w0 seed, w1 len) */
	RT_CHECK = 9,		/* sendrec: reply w0 = mismatching bytes of pattern(w0, w1) */
	RT_RECVFROM = 10,	/* sendrec: reply, then receive(w0 endpoint, 10 s) */
	RT_SENDBACK = 11,	/* sendrec: reply, then send(caller, RT_BACK w0 = 77) */
	RT_BACK = 12,
	RT_NOTIFYBACK = 13,	/* sendrec: reply, then notify(caller) as HARDWARE */
	RT_RQ = 14,		/* sendrec: reply, then rcvrqst(ANY, 10 s), reply RT_RQ_R */
	RT_RQ_R = 15,
	RT_HANG = 16,		/* sendrec: never replied (the server sleeps) */
	/*
	 * Privileges of remote callers are set on the callee's node by its
	 * admin (setpriv on the remote descriptor), never taken from a frame.
	 * rt_server, run by the lab as root, plays that admin for its test
	 * clients (the lab's stand-in for `m3ctl setpriv` on its node):
	 */
	RT_GRANT = 17,		/* sendrec: setpriv(caller's descriptor, w0); reply w0 = result */
	RT_NTFYGRANT = 18,	/* sendrec: caller -> HARDWARE, reply, receive(caller, 5 s) one
				 * notification, caller -> KERNEL, send(caller) RT_BACK
				 * w0 = 1 if the notification came */
	RT_PEEK = 19,		/* sendrec: reply w0 = non-zero bytes in buffer[w0, w0 + w1) */
	RT_EXIT = 99,		/* sendrec: reply, then exit(0) */
};

#define RT_BUF_SIZE	(4 << 20)

static inline int64_t *rt_w(struct m3_msg *m, int i)
{
	return (int64_t *)(m->payload + 8 * i);
}

static inline uint8_t rt_pat(uint64_t seed, uint64_t i)
{
	uint64_t x = (seed + 1) * 0x9e3779b97f4a7c15ull + i * 0xbf58476d1ce4e5b9ull;

	return (uint8_t)(x >> 29 ^ x >> 7 ^ i);
}

/* DC by name (set up by the lab script), then bind the caller at slot */
static inline int rt_bind(const char *dcname, int slot, int priv, int *dcid)
{
	int ep;

	*dcid = m3_dc_find(dcname);
	if (*dcid < 0)
		bail("dc_find", *dcid);
	ep = m3_bind(*dcid, 0, slot);
	if (ep < 0)
		bail("bind self", ep);
	if (m3_setpriv(*dcid, ep, priv) < 0)
		bail("setpriv self", -1);
	return ep;
}

#endif
