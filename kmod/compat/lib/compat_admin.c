// SPDX-License-Identifier: LGPL-2.1
/*
 * compat_admin.c - the M3-IPC 1.6 administration calls: DVS, DCs, binding,
 * privileges, nodes and proxies, each one module call.
 */
#include <string.h>

#include "compat_internal.h"

long mnx_bind(int dcid, int p_nr)
{
	long ep = m3_bind(dcid, 0, p_nr);

	if (ep < 0)
		return ep;
	mnx_self_bound(dcid);
	return mnx_ep_out(mnx_dc_numbering(dcid), ep);
}

long mnx_lclbind(int dcid, int pid, int p_nr)
{
	return mnx_ep_out(mnx_dc_numbering(dcid), m3_bind(dcid, pid, p_nr));
}

long mnx_rmtbind(int dcid, char *name, int endpoint, int nodeid)
{
	int orig = mnx_dc_numbering(dcid);

	return mnx_ep_out(orig, m3_rmtbind(dcid, mnx_ep_in(orig, endpoint),
					   nodeid, name));
}

long mnx_unbind(int dcid, int endpoint)
{
	long ret = m3_unbind(dcid, mnx_ep_in(mnx_dc_numbering(dcid), endpoint));

	mnx_self_forget();	/* it may have been the caller */
	return ret;
}

/* the endpoint of @pid (0 = the caller) in its DC's numbering */
long mnx_getep(int pid)
{
	struct m3_getep g;
	long ret;

	memset(&g, 0, sizeof(g));
	g.pid = pid;
	ret = m3_getep_info(&g);
	if (ret < 0)
		return ret;
	return mnx_ep_out(mnx_dc_numbering(g.dcid), g.endpoint);
}

long mnx_dvs_init(int nodeid, dvs_usr_t *params)
{
	struct m3_dvs_limits lim;

	memset(&lim, 0, sizeof(lim));
	if (params) {
		if (params->d_nr_dcs < 0 || params->d_nr_tasks < 0 ||
		    params->d_nr_procs < 0)
			return EMOLINVAL;
		if (params->d_flags & MNX_DVS_USERMODE)
			return EMOLNOSYS;	/* no user-mode kernel */
		lim.max_dcs = params->d_nr_dcs;
		lim.max_tasks = params->d_nr_tasks;
		lim.max_procs = params->d_nr_procs;
	}
	return m3_dvs_init(nodeid, &lim);
}

long mnx_dvs_end(void)
{
	return m3_dvs_end();
}

/* the local node id */
long mnx_getdvsinfo(dvs_usr_t *dvs)
{
	struct m3_dvs_info di;
	int ret = m3_dvs_info(&di);

	if (ret < 0)
		return ret;
	if (di.abi_version != M3_ABI_VERSION)
		return EMOLBADCALL;
	if (!di.initialized)
		return EMOLDVSINIT;
	if (dvs) {
		memset(dvs, 0, sizeof(*dvs));
		dvs->d_nr_dcs = di.limits.max_dcs;
		dvs->d_nr_nodes = M3_MAX_NODES;
		dvs->d_nr_procs = di.limits.max_procs;
		dvs->d_nr_tasks = di.limits.max_tasks;
		dvs->d_max_copybuf = M3_RMT_MAX_PAYLOAD;
		dvs->d_max_copylen = 0x7fffffff;
		dvs->d_version = di.abi_version;
		dvs->d_nodes = di.nodes;
		dvs->d_nr_bound = di.nr_bound;
		dvs->d_flags = MNX_DVS_IOCTL | MNX_DVS_INITIALIZED;
	}
	return di.node_id;
}

static unsigned long long mnx_cpumask(const cpu_set_t *set)
{
	unsigned long long mask = 0;
	int cpu;

	for (cpu = 0; cpu < 64; cpu++)
		if (CPU_ISSET(cpu, set))
			mask |= 1ULL << cpu;
	return mask;
}

/* the new DC's dcid; always in compat mode */
long mnx_dc_init(dc_usr_t *dc)
{
	struct m3_dc_spec spec;
	int ret;

	if (!dc)
		return EMOLINVAL;
	if (dc->dc_warn2proc != NONE && dc->dc_warn2proc != 0)
		return EMOLNOSYS;	/* no exit warnings in m3ipc */
	if (dc->dc_nr_procs < 0 || dc->dc_nr_tasks < 0 ||
	    dc->dc_nr_sysprocs < 0 ||
	    strnlen(dc->dc_name, DC_NAME_LEN) >= DC_NAME_LEN)
		return EMOLINVAL;
	memset(&spec, 0, sizeof(spec));
	memcpy(spec.name, dc->dc_name, DC_NAME_LEN);
	spec.dcid = dc->dc_dcid == ANY ? -1 : dc->dc_dcid;
	spec.nr_tasks = dc->dc_nr_tasks;
	spec.nr_procs = dc->dc_nr_procs;
	spec.nr_sysprocs = dc->dc_nr_sysprocs;
	spec.flags = (unsigned int)dc->dc_flags | M3_DCF_COMPAT;
	spec.cpumask = mnx_cpumask(&dc->dc_cpumask);
	ret = m3_dc_init(&spec);
	if (ret < 0)
		return ret;
	dc->dc_dcid = ret;
	dc->dc_flags = spec.flags;
	dc->dc_nodes = spec.nodes;
	dc->dc_nr_nodes = __builtin_popcountll(spec.nodes);
	/* the original returns the local node id; the dcid is in dc_dcid */
	return mnx_getdvsinfo(NULL);
}

long mnx_dc_end(int dcid)
{
	return m3_dc_end(dcid);
}

long mnx_getdcinfo(int dcid, dc_usr_t *dc)
{
	struct m3_dc_info ci;
	int ret, cpu;

	if (!dc)
		return EMOLINVAL;
	ret = m3_dc_info(dcid, &ci);
	if (ret < 0)
		return ret;
	memset(dc, 0, sizeof(*dc));
	dc->dc_dcid = ci.spec.dcid;
	dc->dc_flags = ci.spec.flags;
	dc->dc_nr_procs = ci.spec.nr_procs;
	dc->dc_nr_tasks = ci.spec.nr_tasks;
	dc->dc_nr_sysprocs = ci.spec.nr_sysprocs;
	dc->dc_nodes = ci.spec.nodes;
	dc->dc_nr_nodes = __builtin_popcountll(ci.spec.nodes);
	dc->dc_warn2proc = NONE;
	memcpy(dc->dc_name, ci.spec.name, DC_NAME_LEN);
	CPU_ZERO(&dc->dc_cpumask);
	for (cpu = 0; cpu < 64; cpu++)
		if (ci.spec.cpumask & (1ULL << cpu))
			CPU_SET(cpu, &dc->dc_cpumask);
	return OK;
}

static int mnx_rts_flags(const struct m3_proc_info *pi)
{
	int f = 0;

	if (pi->endpoint == M3_NONE)
		return SLOT_FREE;
	if (pi->state & M3_PST_SENDING)
		f |= SENDING;
	if (pi->state & M3_PST_RECEIVING)
		f |= RECEIVING;
	if (pi->state & M3_PST_REPLY_WAIT)
		f |= REPLY_WAIT;
	if (pi->state & M3_PST_RMT)
		f |= RMT_WAIT;
	if (!pi->pid && pi->endpoint != M3_NONE)
		f |= REMOTE;
	return f;
}

long mnx_getprocinfo(int dcid, int p_nr, proc_usr_t *proc)
{
	struct m3_proc_info pi;
	int ret, orig;

	if (!proc)
		return EMOLINVAL;
	ret = m3_proc_info(dcid, p_nr, &pi);
	if (ret < 0)
		return ret;
	orig = mnx_dc_numbering(dcid);
	memset(proc, 0, sizeof(*proc));
	proc->p_nr = pi.p_nr;
	proc->p_endpoint = (int)mnx_ep_out(orig, pi.endpoint);
	proc->p_dcid = pi.dcid;
	proc->p_lpid = pi.pid;
	proc->p_nodeid = pi.node;
	proc->p_rts_flags = mnx_rts_flags(&pi);
	proc->p_priv = mnx_priv_out(pi.priv);
	proc->p_getfrom = (int)mnx_ep_out(orig, pi.getfrom);
	proc->p_sendto = (int)mnx_ep_out(orig, pi.send_to);
	proc->p_nr_notify = pi.notify_pending;
	proc->p_lclsent = pi.msgs_sent;
	proc->p_lclrcvd = pi.msgs_rcvd;
	memcpy(proc->p_name, pi.comm, PROC_NAME_LEN);
	return OK;
}

long mnx_setpriv(int dcid, int endpoint, priv_usr_t *priv)
{
	if (!priv)
		return EMOLINVAL;
	return m3_setpriv(dcid, mnx_ep_in(mnx_dc_numbering(dcid), endpoint),
			  mnx_priv_in(priv->s_level));
}

long mnx_add_node(int dcid, int nodeid)
{
	return m3_add_node(dcid, nodeid);
}

long mnx_del_node(int dcid, int nodeid)
{
	return m3_del_node(dcid, nodeid);
}

/* the name is the original's label for the node's proxies: unused here */
long mnx_proxies_bind(char *name, int nodeid, int spid, int rpid,
		      int maxcopybuf)
{
	if (maxcopybuf < 0)
		return EMOLINVAL;
	return m3_proxy_bind(nodeid, spid, rpid, (unsigned int)maxcopybuf);
}

long mnx_proxies_unbind(int nodeid)
{
	return m3_proxy_unbind(nodeid);
}

/* the original could share a proxy between nodes; here every node has its
 * own pair, so proxy_nr and name are not used */
long mnx_node_up(char *name, int nodeid, int proxy_nr)
{
	return m3_node_up(nodeid);
}

long mnx_node_down(int nodeid)
{
	return m3_node_down(nodeid);
}

/* m3ipc binds the calling thread already: the original's thread bind is
 * its bind here */
long mnx_tbind(int dcid, int p_nr)
{
	return mnx_bind(dcid, p_nr);
}

long mnx_unbind_T(int dcid, int endpoint, long timeout_ms)
{
	if (timeout_ms < -1)
		return EMOLINVAL;
	return mnx_unbind(dcid, endpoint);
}

/* the level of @endpoint (or SELF) in @dcid; s_id and s_warn are 0 */
long mnx_getpriv(int dcid, int endpoint, priv_usr_t *priv)
{
	struct m3_proc_info pi;
	struct m3_getep self;
	long ret;
	int orig;

	if (!priv)
		return EMOLINVAL;
	memset(priv, 0, sizeof(*priv));
	if (endpoint == SELF) {
		memset(&self, 0, sizeof(self));
		ret = m3_getep_info(&self);
		if (ret < 0)
			return ret;
		priv->s_level = mnx_priv_out(self.priv);
		return OK;
	}
	orig = mnx_dc_numbering(dcid);
	ret = m3_proc_info(dcid, mnx_ep_slot(orig, endpoint), &pi);
	if (ret < 0)
		return ret;
	if (pi.endpoint == M3_NONE)
		return EMOLNOTBIND;
	if (mnx_ep_out(orig, pi.endpoint) != endpoint)
		return EMOLENDPOINT;
	priv->s_level = mnx_priv_out(pi.priv);
	return OK;
}
