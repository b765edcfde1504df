// SPDX-License-Identifier: GPL-2.0
/*
 * c_dcinit - DVS info, dc_init, the binds (self, local, wait4bind), the
 * tables and their errors, through the M3-IPC 1.6 calls only.
 */
#include "c_tap.h"

static int wait_and_check(long ep)
{
	/* the endpoint wait4bind gave is the one the module has */
	return mnx_getep(getpid()) == ep && mnx_wait4bind_T(0) == ep ? 0 : 1;
}

static int wait_unbound(long unused)
{
	return 0;
}

int main(void)
{
	dvs_usr_t dvs;
	dc_usr_t dc, info;
	proc_usr_t proc;
	priv_usr_t priv;
	long node, dcid, ep, cep, rc;
	pid_t pid;
	double t0;

	plan(35);

	node = mnx_getdvsinfo(&dvs);
	ok(node >= 0, "mnx_getdvsinfo returns the local node id (%ld)", node);
	ok(dvs.d_version == 2 && dvs.d_nr_dcs > 0 && dvs.d_nr_procs > 0,
	   "DVS limits and the module's ABI version (%d)", dvs.d_version);

	memset(&dc, 0, sizeof(dc));
	snprintf(dc.dc_name, sizeof(dc.dc_name), "cdc%d", (int)getpid() % 100000);
	dc.dc_dcid = ANY;
	dc.dc_nr_tasks = 4;
	dc.dc_nr_procs = 8;
	dc.dc_nr_sysprocs = 6;
	dc.dc_warn2proc = NONE;
	CPU_ZERO(&dc.dc_cpumask);
	CPU_SET(0, &dc.dc_cpumask);
	rc = mnx_dc_init(&dc);
	dcid = dc.dc_dcid;
	ok(rc == node && dcid >= 0,
	   "mnx_dc_init creates a DC (%ld) and returns the node id (%ld), as 1.6 does",
	   dcid, rc);
	rc = mnx_getdcinfo(dcid, &info);
	ok(rc == OK && !strcmp(info.dc_name, dc.dc_name) &&
	   info.dc_nr_tasks == 4 && info.dc_nr_procs == 8 &&
	   info.dc_nr_sysprocs == 6 && CPU_ISSET(0, &info.dc_cpumask) &&
	   CPU_COUNT(&info.dc_cpumask) == 1,
	   "mnx_getdcinfo reads back name, sizes, system processes and CPU mask");
	ok(info.dc_flags & 0x4, "the DC is in compat mode (flags %#x)", info.dc_flags);
	ok(info.dc_nr_nodes == 1 && info.dc_nodes == 1UL << node,
	   "the local node is the DC's only member");
	is(mnx_dc_init(&dc), EMOLBUSY, "a second DC with the same name: EMOLBUSY");
	dc.dc_nr_sysprocs = 2;
	snprintf(dc.dc_name, sizeof(dc.dc_name), "cdx%d", (int)getpid() % 100000);
	dc.dc_dcid = ANY;
	is(mnx_dc_init(&dc), EMOLINVAL, "fewer system processes than tasks: EMOLINVAL");
	dc.dc_nr_sysprocs = 0;
	dc.dc_warn2proc = 3;
	is(mnx_dc_init(&dc), EMOLNOSYS, "an exit warning process (dc_warn2proc): EMOLNOSYS");
	is(mnx_getdcinfo(9999, &info), EMOLBADDCID, "mnx_getdcinfo of no DC: EMOLBADDCID");

	ep = mnx_bind(dcid, 2);
	ok(ep > 0 && _ENDPOINT_P(ep) == 2, "mnx_bind binds the caller at slot 2 (%ld)", ep);
	is(mnx_getep(getpid()), ep, "mnx_getep(own pid) is that endpoint");
	is(mnx_wait4bind(), ep, "mnx_wait4bind of a bound caller returns at once");
	rc = mnx_getprocinfo(dcid, 2, &proc);
	ok(rc == OK && proc.p_endpoint == ep && proc.p_lpid == getpid() &&
	   proc.p_nodeid == node && !(proc.p_rts_flags & SLOT_FREE),
	   "mnx_getprocinfo: endpoint, pid, node, in use");
	is(proc.p_priv, KERNEL_PRIV, "a process bound in a compat DC starts at KERNEL_PRIV");
	rc = mnx_getprocinfo(dcid, 3, &proc);
	ok(rc == OK && proc.p_rts_flags == SLOT_FREE && proc.p_endpoint == NONE,
	   "a free slot reads as SLOT_FREE");
	is(mnx_bind(dcid, 3), EMOLBUSY, "binding a bound caller again: EMOLBUSY");
	is(mnx_getprocinfo(dcid, 8, &proc), EMOLBADPROC, "slot beyond nr_procs: EMOLBADPROC");
	is(mnx_lclbind(dcid, 0x7ffffff0, 3), EMOLBADPID, "mnx_lclbind of no such pid: EMOLBADPID");

	cep = spawn_bound(dcid, 3, wait_and_check, &pid);
	ok(cep > 0 && _ENDPOINT_P(cep) == 3, "mnx_lclbind binds a forked child at slot 3");
	is(reap(pid), 0, "the child's mnx_wait4bind returned the endpoint the module gave it");
	is(mnx_lclbind(dcid, getpid(), -5), EMOLBADPROC, "a slot below -nr_tasks: EMOLBADPROC");

	/* a child nobody binds: the bounded and the non-blocking wait */
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		long a = mnx_wait4bind_T(0);

		t0 = now();
		rc = mnx_wait4bind_T(300);
		_exit(a == EMOLAGAIN && rc == EMOLTIMEDOUT && now() - t0 >= 0.29 ?
		      wait_unbound(0) : 1);
	}
	is(reap(pid), 0, "unbound: mnx_wait4bind_T(0) is EMOLAGAIN, (300) EMOLTIMEDOUT after 300 ms");

	priv.s_level = USER_PRIV;
	is(mnx_setpriv(dcid, SELF, &priv), OK, "mnx_setpriv lowers the caller to USER_PRIV");
	rc = mnx_getprocinfo(dcid, 2, &proc);
	ok(rc == OK && proc.p_priv == USER_PRIV, "mnx_getprocinfo shows the new level");
	priv.s_level = 9;
	is(mnx_setpriv(dcid, SELF, &priv), EMOLINVAL, "an unknown level: EMOLINVAL");

	printf("# mnx_dc_dump and mnx_proc_dump:\n");
	is(mnx_dc_dump(), OK, "mnx_dc_dump prints the DC table");
	is(mnx_proc_dump(dcid), OK, "mnx_proc_dump prints the bound slots");

	is(mnx_migr_start(dcid, ep), EMOLNOSYS, "migration is not implemented: EMOLNOSYS");
	ok(mnx_sendas(ep, ep, (long)0, TIMEOUT_NOWAIT) == EMOLNOSYS &&
	   mnx_bkupbind(dcid, getpid(), ep, 0) == EMOLNOSYS &&
	   mnx_replbind(dcid, getpid(), ep) == EMOLNOSYS,
	   "sendas, backup and replica binds: EMOLNOSYS");
	ok(!strcmp(mnx_errname(EMOLDSTDIED), "EMOLDSTDIED") &&
	   !strcmp(mnx_errname(OK), "OK"), "mnx_errname names the codes");

	is(mnx_unbind(dcid, ep), OK, "mnx_unbind of the caller");
	is(mnx_getep(getpid()), EMOLNOTBIND, "an unbound caller's mnx_getep: EMOLNOTBIND");
	is(mnx_dc_end(dcid), OK, "mnx_dc_end");
	is(mnx_dc_end(dcid), EMOLBADDCID, "mnx_dc_end of an ended DC: EMOLBADDCID");
	return tap_failed;
}
