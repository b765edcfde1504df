// SPDX-License-Identifier: GPL-2.0
/*
 * rt_server - the server side of the remote tests.
 *
 *   rt_server DC SLOT
 *
 * Binds itself at SLOT of DC (level KERNEL), prints "endpoint=EP" and
 * "buf=ADDR" (its vcopy buffer) and serves the requests of rt_common.h
 * until RT_EXIT (or until killed). RT_GRANT / RT_NTFYGRANT set the level
 * of the calling remote descriptor on this node (as the node's admin
 * would with m3ctl setpriv): the kernel never takes it from the frame.
 * Diagnostics go to stdout as TAP comments ("# ...").
 *
 * A request that needs nothing after its answer is answered by the next
 * reply_receive, which replies and waits for the next request in one call
 * (the way a server should run); one with work after its answer
 * (RECVFROM, SENDBACK, ...) is answered at once with reply.
 */
#include "rt_common.h"

static uint8_t *buf;

int main(int argc, char **argv)
{
	int64_t nsend = 0, nnotify = 0, lastrecv = 0;
	int dcid, me, ret, rr, pending = M3_NONE;
	struct m3_msg m, r, answer;
	uint64_t i, bad;

	if (argc != 3) {
		fprintf(stderr, "usage: rt_server DC SLOT\n");
		return 2;
	}
	buf = calloc(1, RT_BUF_SIZE + 64);
	if (!buf)
		return 1;
	me = rt_bind(argv[1], atoi(argv[2]), M3_PRIV_KERNEL, &dcid);
	printf("endpoint=%d\nbuf=0x%llx\n", me,
	       (unsigned long long)(uintptr_t)buf);
	fflush(stdout);
	memset(&answer, 0, sizeof(answer));
	for (;;) {
		ret = m3_reply_receive(pending, &answer, M3_ANY, &m,
				       M3_TIMEOUT_FOREVER, 0, &rr);
		if (pending != M3_NONE && rr < 0)
			diag("reply to %d: %s", pending, errname(rr));
		pending = M3_NONE;
		if (ret < 0) {
			diag("receive: %s", errname(ret));
			msleep(10);
			continue;
		}
		if (m.m_type == M3_MTYPE_NOTIFY) {
			nnotify++;
			continue;
		}
		memset(&r, 0, sizeof(r));
		switch (m.m_type) {
		case RT_SEND:
			nsend++;
			lastrecv = *rt_w(&m, 0);
			continue;
		case RT_ECHO:
			r.m_type = RT_ECHO_R;
			*rt_w(&r, 0) = *rt_w(&m, 0) + 1;
			*rt_w(&r, 1) = nsend;
			*rt_w(&r, 2) = nnotify;
			*rt_w(&r, 3) = lastrecv;
			break;
		case RT_GETBUF:
			*rt_w(&r, 0) = (int64_t)(uintptr_t)buf;
			*rt_w(&r, 1) = RT_BUF_SIZE;
			break;
		case RT_FILL:
			for (i = 0; i < (uint64_t)*rt_w(&m, 1) && i < RT_BUF_SIZE; i++)
				buf[i] = rt_pat(*rt_w(&m, 0), i);
			break;
		case RT_CHECK:
			for (bad = 0, i = 0; i < (uint64_t)*rt_w(&m, 1) && i < RT_BUF_SIZE; i++)
				bad += buf[i] != rt_pat(*rt_w(&m, 0), i);
			*rt_w(&r, 0) = bad;
			memset(buf, 0, RT_BUF_SIZE);
			break;
		case RT_GRANT:
			*rt_w(&r, 0) = m3_setpriv(dcid, m.m_source,
						  (int)*rt_w(&m, 0));
			break;
		case RT_NTFYGRANT:
			*rt_w(&r, 0) = m3_setpriv(dcid, m.m_source,
						  M3_PRIV_HARDWARE);
			break;
		case RT_PEEK:
			for (bad = 0, i = *rt_w(&m, 0);
			     i < (uint64_t)(*rt_w(&m, 0) + *rt_w(&m, 1)) &&
			     i < RT_BUF_SIZE; i++)
				bad += buf[i] != 0;
			*rt_w(&r, 0) = bad;
			break;
		case RT_HANG:
			for (;;)
				pause();
		default:
			break;
		}
		switch (m.m_type) {
		case RT_RECVFROM:
		case RT_SENDBACK:
		case RT_NOTIFYBACK:
		case RT_RQ:
		case RT_NTFYGRANT:
		case RT_EXIT:
			break;
		default:
			/* nothing after the answer: the next call sends it */
			pending = m.m_source;
			answer = r;
			continue;
		}
		ret = m3_reply(m.m_source, &r);
		if (ret < 0)
			diag("reply to %d: %s", m.m_source, errname(ret));
		switch (m.m_type) {
		case RT_RECVFROM:
			ret = m3_receive((int)*rt_w(&m, 0), &r, 10000);
			lastrecv = ret < 0 ? ret : *rt_w(&r, 0);
			break;
		case RT_SENDBACK:
			memset(&r, 0, sizeof(r));
			r.m_type = RT_BACK;
			*rt_w(&r, 0) = 77;
			ret = m3_send(m.m_source, &r, 10000);
			if (ret < 0)
				diag("send back: %s", errname(ret));
			break;
		case RT_NOTIFYBACK:
			m3_setpriv(dcid, M3_SELF, M3_PRIV_HARDWARE);
			ret = m3_notify(m.m_source);
			m3_setpriv(dcid, M3_SELF, M3_PRIV_KERNEL);
			if (ret < 0)
				diag("notify back: %s", errname(ret));
			break;
		case RT_RQ:
			ret = m3_rcvrqst(M3_ANY, &r, 10000);
			if (ret < 0) {
				diag("rcvrqst: %s", errname(ret));
				break;
			}
			memset(&m, 0, sizeof(m));
			m.m_type = RT_RQ_R;
			*rt_w(&m, 0) = r.m_type;
			m3_reply(r.m_source, &m);
			break;
		case RT_NTFYGRANT:
			ret = m3_receive(m.m_source, &r, 5000);
			ret = !ret && r.m_type == M3_MTYPE_NOTIFY;
			if (ret)
				nnotify++;
			else
				diag("no notification from %d", m.m_source);
			m3_setpriv(dcid, m.m_source, M3_PRIV_KERNEL);
			memset(&r, 0, sizeof(r));
			r.m_type = RT_BACK;
			*rt_w(&r, 0) = ret;
			ret = m3_send(m.m_source, &r, 10000);
			if (ret < 0)
				diag("send back: %s", errname(ret));
			break;
		case RT_EXIT:
			return 0;
		}
	}
}
