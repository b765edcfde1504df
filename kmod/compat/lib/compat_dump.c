// SPDX-License-Identifier: LGPL-2.1
/*
 * compat_dump.c - mnx_proc_dump / mnx_dc_dump: the tables on stdout, one
 * line per bound slot or DC, read through the module's info calls.
 */
#include <stdio.h>

#include "compat_internal.h"

long mnx_proc_dump(int dcid)
{
	dc_usr_t dc;
	proc_usr_t p;
	long ret;
	int nr;

	ret = mnx_getdcinfo(dcid, &dc);
	if (ret < 0)
		return ret;
	printf("DC %d %s: %d tasks, %d procs\n", dc.dc_dcid, dc.dc_name,
	       dc.dc_nr_tasks, dc.dc_nr_procs);
	printf("%5s %10s %7s %4s %5s %4s %10s %10s %8s %8s %-16s\n", "p_nr",
	       "endpoint", "lpid", "node", "flags", "priv", "getfrom", "sendto",
	       "sent", "rcvd", "name");
	for (nr = -dc.dc_nr_tasks; nr < dc.dc_nr_procs; nr++) {
		ret = mnx_getprocinfo(dcid, nr, &p);
		if (ret < 0)
			return ret;
		if (p.p_rts_flags & SLOT_FREE)
			continue;
		printf("%5d %10d %7d %4d %5x %4d %10d %10d %8lu %8lu %-16.16s\n",
		       p.p_nr, p.p_endpoint, p.p_lpid, p.p_nodeid,
		       p.p_rts_flags, p.p_priv, p.p_getfrom, p.p_sendto,
		       p.p_lclsent, p.p_lclrcvd, p.p_name);
	}
	return OK;
}

long mnx_dc_dump(void)
{
	dvs_usr_t dvs;
	dc_usr_t dc;
	long ret;
	int dcid;

	ret = mnx_getdvsinfo(&dvs);
	if (ret < 0)
		return ret;
	printf("%4s %-16s %5s %5s %8s %5s %18s\n", "dcid", "name", "tasks",
	       "procs", "sysprocs", "flags", "nodes");
	for (dcid = 0; dcid < dvs.d_nr_dcs; dcid++) {
		if (mnx_getdcinfo(dcid, &dc) < 0)
			continue;	/* no DC with this id */
		printf("%4d %-16.16s %5d %5d %8d %5x %#18lx\n", dc.dc_dcid,
		       dc.dc_name, dc.dc_nr_tasks, dc.dc_nr_procs,
		       dc.dc_nr_sysprocs, dc.dc_flags, dc.dc_nodes);
	}
	return OK;
}
