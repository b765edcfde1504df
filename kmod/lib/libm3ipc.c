// SPDX-License-Identifier: LGPL-2.1
/*
 * libm3ipc.c - C wrappers around the /dev/m3ipc ioctls.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "libm3ipc.h"

static int m3_fd = -1;

int m3_open(void)
{
	int fd;

	if (m3_fd >= 0)
		return m3_fd;
	fd = open(M3_DEVICE, O_RDWR);
	if (fd < 0)
		return -errno;
	m3_fd = fd;
	return fd;
}

void m3_set_fd(int fd)
{
	m3_fd = fd;
}

void m3_close(void)
{
	if (m3_fd >= 0)
		close(m3_fd);
	m3_fd = -1;
}

int m3_ioctl(unsigned long cmd, void *arg)
{
	int fd = m3_open();
	int ret;

	if (fd < 0)
		return fd;
	ret = ioctl(fd, cmd, arg);
	return ret < 0 ? -errno : ret;
}

static int m3_ipc(unsigned long cmd, int ep, struct m3_msg *m, int timeout_ms)
{
	struct m3_ipc a;
	int ret;

	memset(&a, 0, sizeof(a));
	a.ep = ep;
	a.timeout_ms = timeout_ms;
	if (m)
		a.msg = *m;
	ret = m3_ioctl(cmd, &a);
	if (!ret && m)
		*m = a.msg;
	return ret;
}

int m3_send(int dst, const struct m3_msg *m, int timeout_ms)
{
	struct m3_msg copy = *m;

	return m3_ipc(M3_IOC_SEND, dst, &copy, timeout_ms);
}

int m3_receive(int src, struct m3_msg *m, int timeout_ms)
{
	return m3_ipc(M3_IOC_RECEIVE, src, m, timeout_ms);
}

int m3_sendrec(int dst, struct m3_msg *m, int timeout_ms)
{
	return m3_ipc(M3_IOC_SENDREC, dst, m, timeout_ms);
}

int m3_notify(int dst)
{
	return m3_ipc(M3_IOC_NOTIFY, dst, NULL, 0);
}

int m3_rcvrqst(int src, struct m3_msg *m, int timeout_ms)
{
	return m3_ipc(M3_IOC_RCVRQST, src, m, timeout_ms);
}

int m3_reply(int dst, const struct m3_msg *m)
{
	struct m3_msg copy = *m;

	return m3_ipc(M3_IOC_REPLY, dst, &copy, 0);
}

int m3_reply_receive(int reply_dst, const struct m3_msg *reply, int src,
		     struct m3_msg *m, int timeout_ms, unsigned int flags,
		     int *reply_result)
{
	struct m3_reply_rcv a;
	int ret;

	memset(&a, 0, sizeof(a));
	a.reply_ep = reply_dst;
	a.src = src;
	a.timeout_ms = timeout_ms;
	a.flags = flags;
	if (reply)
		a.reply_msg = *reply;
	ret = m3_ioctl(M3_IOC_REPLY_RCV, &a);
	if (reply_result)
		*reply_result = a.reply_result;
	if (!ret && m)
		*m = a.msg;
	return ret;
}

int m3_vcopy_T(int src_ep, const void *src_addr, int dst_ep, void *dst_addr,
	       size_t len, int timeout_ms)
{
	struct m3_vcopy a;

	memset(&a, 0, sizeof(a));
	a.src_ep = src_ep;
	a.dst_ep = dst_ep;
	a.src_addr = (uintptr_t)src_addr;
	a.dst_addr = (uintptr_t)dst_addr;
	a.len = len;
	a.timeout_ms = timeout_ms;
	return m3_ioctl(M3_IOC_VCOPY, &a);
}

int m3_vcopy(int src_ep, const void *src_addr, int dst_ep, void *dst_addr,
	     size_t len)
{
	return m3_vcopy_T(src_ep, src_addr, dst_ep, dst_addr, len,
			  M3_TIMEOUT_FOREVER);
}

int m3_getep_info(struct m3_getep *info)
{
	return m3_ioctl(M3_IOC_GETEP, info);
}

int m3_getep(int pid)
{
	struct m3_getep a;
	int ret;

	memset(&a, 0, sizeof(a));
	a.pid = pid;
	ret = m3_ioctl(M3_IOC_GETEP, &a);
	return ret < 0 ? ret : a.endpoint;
}

int m3_dvs_init(int node_id, const struct m3_dvs_limits *limits)
{
	struct m3_dvs_init a;

	memset(&a, 0, sizeof(a));
	a.node_id = node_id;
	if (limits)
		a.limits = *limits;
	return m3_ioctl(M3_IOC_DVS_INIT, &a);
}

int m3_dvs_end(void)
{
	struct m3_dc_ref a;

	memset(&a, 0, sizeof(a));
	return m3_ioctl(M3_IOC_DVS_END, &a);
}

int m3_dvs_info(struct m3_dvs_info *info)
{
	memset(info, 0, sizeof(*info));
	return m3_ioctl(M3_IOC_DVS_INFO, info);
}

int m3_dc_init(struct m3_dc_spec *spec)
{
	return m3_ioctl(M3_IOC_DC_INIT, spec);
}

int m3_dc_end(int dcid)
{
	struct m3_dc_ref a;

	memset(&a, 0, sizeof(a));
	a.dcid = dcid;
	return m3_ioctl(M3_IOC_DC_END, &a);
}

int m3_dc_info(int dcid, struct m3_dc_info *info)
{
	memset(info, 0, sizeof(*info));
	info->dcid = dcid;
	return m3_ioctl(M3_IOC_DC_INFO, info);
}

int m3_dc_find(const char *name)
{
	struct m3_dvs_info di;
	struct m3_dc_info ci;
	int ret, i;

	ret = m3_dvs_info(&di);
	if (ret < 0)
		return ret;
	if (!di.initialized)
		return -ENODEV;
	for (i = 0; i < (int)di.limits.max_dcs; i++)
		if (!m3_dc_info(i, &ci) &&
		    !strncmp(ci.spec.name, name, M3_DC_NAME_LEN))
			return i;
	return -ENXIO;
}

int m3_bind(int dcid, int pid, int p_nr)
{
	struct m3_bind a;
	int ret;

	memset(&a, 0, sizeof(a));
	a.dcid = dcid;
	a.pid = pid;
	a.p_nr = p_nr;
	ret = m3_ioctl(M3_IOC_BIND, &a);
	return ret < 0 ? ret : a.endpoint;
}

int m3_unbind(int dcid, int ep)
{
	struct m3_unbind a;

	a.dcid = dcid;
	a.endpoint = ep;
	return m3_ioctl(M3_IOC_UNBIND, &a);
}

int m3_setpriv(int dcid, int ep, int priv)
{
	struct m3_setpriv a;

	memset(&a, 0, sizeof(a));
	a.dcid = dcid;
	a.endpoint = ep;
	a.priv = priv;
	return m3_ioctl(M3_IOC_SETPRIV, &a);
}

int m3_proc_info(int dcid, int p_nr, struct m3_proc_info *info)
{
	memset(info, 0, sizeof(*info));
	info->dcid = dcid;
	info->p_nr = p_nr;
	return m3_ioctl(M3_IOC_PROC_INFO, info);
}

/* ---- remote IPC ---- */

static int m3_dc_node_ioc(unsigned long cmd, int dcid, int node)
{
	struct m3_dc_node a = { .dcid = dcid, .node_id = node };

	return m3_ioctl(cmd, &a);
}

int m3_add_node(int dcid, int node)
{
	return m3_dc_node_ioc(M3_IOC_ADD_NODE, dcid, node);
}

int m3_del_node(int dcid, int node)
{
	return m3_dc_node_ioc(M3_IOC_DEL_NODE, dcid, node);
}

int m3_rmtbind(int dcid, int ep, int node, const char *name)
{
	struct m3_rmtbind a;

	memset(&a, 0, sizeof(a));
	a.dcid = dcid;
	a.endpoint = ep;
	a.node_id = node;
	if (name)
		strncpy(a.name, name, sizeof(a.name) - 1);
	return m3_ioctl(M3_IOC_RMTBIND, &a);
}

int m3_proxy_bind(int node, int sender_pid, int receiver_pid,
		  unsigned int max_payload)
{
	struct m3_proxy_bind a = { node, sender_pid, receiver_pid, max_payload };

	return m3_ioctl(M3_IOC_PROXY_BIND, &a);
}

static int m3_node_ioc(unsigned long cmd, int node)
{
	struct m3_node_ref a = { .node_id = node };

	return m3_ioctl(cmd, &a);
}

int m3_proxy_unbind(int node)
{
	return m3_node_ioc(M3_IOC_PROXY_UNBIND, node);
}

int m3_node_down(int node)
{
	return m3_node_ioc(M3_IOC_NODE_DOWN, node);
}

int m3_node_up(int node)
{
	return m3_node_ioc(M3_IOC_NODE_UP, node);
}

int m3_node_reset(int node)
{
	struct m3_node_ref a = { .node_id = node, .flags = M3_NDF_PEER_RESET };

	return m3_ioctl(M3_IOC_NODE_DOWN, &a);
}

int m3_get2rmt(void *buf, unsigned int buflen, int timeout_ms)
{
	struct m3_get2rmt a;
	int ret;

	memset(&a, 0, sizeof(a));
	a.buf = (uintptr_t)buf;
	a.buflen = buflen;
	a.timeout_ms = timeout_ms;
	ret = m3_ioctl(M3_IOC_GET2RMT, &a);
	return ret < 0 ? ret : (int)a.len;
}

int m3_put2lcl(const void *buf, unsigned int len)
{
	struct m3_put2lcl a;

	memset(&a, 0, sizeof(a));
	a.buf = (uintptr_t)buf;
	a.len = len;
	return m3_ioctl(M3_IOC_PUT2LCL, &a);
}

int m3_link_set(const struct m3_link_set *ls)
{
	return m3_ioctl(M3_IOC_LINK_SET, (void *)ls);
}

int m3_link_hello(int node, uint64_t seq, unsigned int count)
{
	struct m3_link_hello a;

	memset(&a, 0, sizeof(a));
	a.node_id = node;
	a.seq = seq;
	a.count = count;
	return m3_ioctl(M3_IOC_LINK_HELLO, &a);
}

int m3_wait4bind(int timeout_ms, struct m3_wait4bind *out)
{
	struct m3_wait4bind a;
	int ret;

	memset(&a, 0, sizeof(a));
	a.timeout_ms = timeout_ms;
	ret = m3_ioctl(M3_IOC_WAIT4BIND, &a);
	if (out)
		*out = a;
	return ret < 0 ? ret : a.endpoint;
}
