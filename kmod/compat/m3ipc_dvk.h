/* SPDX-License-Identifier: LGPL-2.1 */
/*
 * m3ipc_dvk.h - the DVK names of the M3-IPC API over m3ipc.
 *
 * The later DVK tree (PabloPessolani/PID5162) renamed the 1.6 calls mnx_*
 * to dvk_* and the errors EMOL* to EDVS*, and added dvk_open(), which opens
 * the device before any call. This header maps those names onto the compat
 * layer (m3ipc_compat.h, libm3ipc_compat.a): a DVK program builds with
 *
 *	cc -static prog.c -lm3ipc_compat	(prog.c: #include <m3ipc_dvk.h>)
 *
 * and runs in a compat-mode DC as a 1.6 program does. See
 * kmod/docs/compat.md, "DVK names".
 */
#ifndef M3IPC_DVK_H
#define M3IPC_DVK_H

#include "m3ipc_compat.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- the device ---- */

/* the descriptor dvk_open() returned (-1 before), as DVK programs see it */
extern int dvk_fd;
/* this node's id once dvk_open() found the DVS initialized, else -1 */
extern int local_nodeid;
/* opens /dev/m3ipc once: the descriptor, or open(2)'s -errno */
long dvk_open(void);

/* the DVK's count of its calls (kipc.h; the programs size tables by it) */
#ifndef NR_DVK_CALLS
#define NR_DVK_CALLS		38
#endif

/* ---- calls with 1.6 counterparts: the same arguments ---- */
#define dvk_send_T		mnx_send_T
#define dvk_receive_T		mnx_receive_T
#define dvk_sendrec_T		mnx_sendrec_T
#define dvk_rcvrqst_T		mnx_rcvrqst_T
#define dvk_reply_T		mnx_reply_T
#define dvk_send		mnx_send
#define dvk_receive		mnx_receive
#define dvk_sendrec		mnx_sendrec
#define dvk_rcvrqst		mnx_rcvrqst
#define dvk_reply		mnx_reply
#define dvk_notify		mnx_notify
#define dvk_src_notify		mnx_src_notify
#define dvk_hdw_notify		mnx_hdw_notify
#define dvk_ntfy_value		mnx_ntfy_value
#define dvk_relay		mnx_relay
#define dvk_vcopy		mnx_vcopy
#define dvk_bind		mnx_bind
#define dvk_tbind		mnx_tbind
#define dvk_lclbind		mnx_lclbind
#define dvk_rmtbind		mnx_rmtbind
#define dvk_bkupbind		mnx_bkupbind
#define dvk_replbind		mnx_replbind
#define dvk_unbind		mnx_unbind
#define dvk_unbind_T		mnx_unbind_T
#define dvk_getep		mnx_getep
#define dvk_wait4bind		mnx_wait4bind
#define dvk_wait4bind_T		mnx_wait4bind_T
#define dvk_wait4bindep		mnx_wait4bindep
#define dvk_wait4bindep_T	mnx_wait4bindep_T
#define dvk_wait4unbind		mnx_wait4unbind
#define dvk_wait4unbind_T	mnx_wait4unbind_T
#define dvk_wakeup		mnx_wakeup
#define dvk_dvs_init		mnx_dvs_init
#define dvk_dvs_end		mnx_dvs_end
#define dvk_getdvsinfo		mnx_getdvsinfo
#define dvk_dc_init		mnx_dc_init
#define dvk_dc_end		mnx_dc_end
#define dvk_getdcinfo		mnx_getdcinfo
#define dvk_getprocinfo		mnx_getprocinfo
#define dvk_setpriv		mnx_setpriv
#define dvk_getpriv		mnx_getpriv
#define dvk_proc_dump		mnx_proc_dump
#define dvk_dc_dump		mnx_dc_dump
#define dvk_add_node		mnx_add_node
#define dvk_del_node		mnx_del_node
#define dvk_delnode		mnx_del_node
#define dvk_proxies_bind	mnx_proxies_bind
#define dvk_proxies_unbind	mnx_proxies_unbind
#define dvk_node_up		mnx_node_up
#define dvk_node_down		mnx_node_down
#define dvk_getnodeinfo		mnx_getnodeinfo
#define dvk_getproxyinfo	mnx_getproxyinfo
#define dvk_proxy_conn		mnx_proxy_conn
#define dvk_put2lcl		mnx_put2lcl
#define dvk_get2rmt		mnx_get2rmt
#define dvk_get2rmt_T		mnx_get2rmt_T
#define dvk_migr_start		mnx_migr_start
#define dvk_migr_rollback	mnx_migr_rollback
#define dvk_migr_commit		mnx_migr_commit

/* ---- DVK additions ---- */

/* a user-mode (UML) process's bind: no such binding in m3ipc */
#define USERMODE_BIND		5
static inline long dvk_umbind(int dcid, int pid, int endpoint)
{
	(void)dcid; (void)pid; (void)endpoint;
	return EMOLNOSYS;
}

/* the multiplexed forms the DVK macros expand to, for programs calling them */
static inline long dvk_bind_X(int cmd, int dcid, long pid, int endpoint,
			      int nodeid)
{
	switch (cmd) {
	case SELF_BIND:
		return mnx_bind(dcid, endpoint);
	case LCL_BIND:
		return mnx_lclbind(dcid, (int)pid, endpoint);
	case RMT_BIND:
		return mnx_rmtbind(dcid, (char *)pid, endpoint, nodeid);
	case BKUP_BIND:
		return mnx_bkupbind(dcid, (int)pid, endpoint, nodeid);
	case REPLICA_BIND:
		return mnx_replbind(dcid, (int)pid, endpoint);
	default:
		return EMOLNOSYS;
	}
}

static inline long dvk_wait4bindep_X(int cmd, int endpoint, long timeout_ms)
{
	if (cmd == WAIT_UNBIND)
		return mnx_wait4unbind_T(endpoint, timeout_ms);
	if (endpoint == SELF)
		return mnx_wait4bind_T(timeout_ms);
	return mnx_wait4bindep_T(endpoint, timeout_ms);
}

static inline long dvk_notify_X(int src_nr, int dst_ep, int value)
{
	(void)value;
	return src_nr == SELF ? mnx_notify(dst_ep) :
		mnx_src_notify(src_nr, dst_ep);
}

static inline long dvk_migrate_X(int cmd, int pid, int dcid, int endpoint,
				 int nodeid)
{
	(void)cmd; (void)pid; (void)dcid; (void)endpoint; (void)nodeid;
	return EMOLNOSYS;	/* no process migration in m3ipc */
}

/* the DVK's proxy privilege level (m3ipc's proxies bind by their own call) */
#define PROXY_PRIV		5

/* ---- tables: the DVK's field and print macro names ---- */
#define priv_id			s_id
#define priv_warn		s_warn
#define priv_level		s_level

#define DC_USR1_FORMAT "dc_dcid=%d dc_nr_procs=%d dc_nr_tasks=%d " \
	"dc_nr_sysprocs=%d dc_nr_nodes=%d\n"
#define DC_USR1_FIELDS(p) (p)->dc_dcid, (p)->dc_nr_procs, (p)->dc_nr_tasks, \
	(p)->dc_nr_sysprocs, (p)->dc_nr_nodes
#define DC_USR2_FORMAT "flags=%X dc_nodes=%lX dc_name=%s\n"
#define DC_USR2_FIELDS(p) (unsigned int)(p)->dc_flags, (p)->dc_nodes, \
	(p)->dc_name

/*
 * ---- errors ----
 * Each DVK name of a condition m3ipc reports is the compat code for it (a
 * negative errno, kmod/docs/compat.md "Error codes"); the errno-like names
 * are the negative Linux errno. A name m3ipc never returns keeps a value of
 * its own, below EDVSERRCODE's old range, so switch statements compile.
 *
 * EDVSERRCODE is 0, not the DVK's -300: DVK programs test "rc <
 * EDVSERRCODE" for an error, and every m3ipc error is a negative errno
 * above -300, so 0 keeps that test true for each of them.
 */
#define EDVSERRCODE		0

#define EDVSDSTDIED		EMOLDSTDIED
#define EDVSSRCDIED		EMOLSRCDIED
#define EDVSNOTBIND		EMOLNOTBIND
#define EDVSENDPOINT		EMOLENDPOINT
#define EDVSLOCKED		EMOLLOCKED
#define EDVSNOPROXY		EMOLNOPROXY
#define EDVSNOTCONN		EMOLNOTCONN
#define EDVSNODCNODE		EMOLNODCNODE
#define EDVSRMTPROC		EMOLRMTPROC
#define EDVSBADREQUEST		EMOLBADREQUEST
#define EDVSMSGSIZE		EMOLMSGSIZE
#define EDVSOUTOFBUFS		EMOLNOBUFS
#define EDVSTIMEDOUT		EMOLTIMEDOUT
#define EDVSAGAIN		EMOLAGAIN
#define EDVSWOULDBLOCK		EMOLAGAIN
#define EDVSACCES		EMOLACCES
#define EDVSPERM		EMOLPERM
#define EDVSBADDCID		EMOLBADDCID
#define EDVSDVSINIT		EMOLDVSINIT
#define EDVSBADPROC		EMOLBADPROC
#define EDVSBUSY		EMOLBUSY
#define EDVSNOTREADY		EMOLNOTREADY
#define EDVSBADPID		EMOLBADPID
#define EDVSSRCH		EMOLBADPID
#define EDVSINVAL		EMOLINVAL
#define EDVSFAULT		EMOLFAULT
#define EDVSBADCALL		EMOLBADCALL
#define EDVSINTR		EMOLINTR
#define EDVSNOMEM		EMOLNOMEM
#define EDVSNOSYS		EMOLNOSYS

/* errno-like names with no m3ipc meaning of their own */
#define EDVSGENERIC		(-EIO)
#define EDVSNOENT		(-ENOENT)
#define EDVSIO			(-EIO)
#define EDVSNXIO		EMOLBADDCID
#define EDVS2BIG		(-E2BIG)
#define EDVSNOEXEC		(-ENOEXEC)
#define EDVSBADF		(-EBADF)
#define EDVSCHILD		(-ECHILD)
#define EDVSNOTBLK		(-ENOTBLK)
#define EDVSEXIST		(-EEXIST)
#define EDVSXDEV		(-EXDEV)
#define EDVSNODEV		EMOLDVSINIT
#define EDVSNOTDIR		(-ENOTDIR)
#define EDVSISDIR		(-EISDIR)
#define EDVSNFILE		(-ENFILE)
#define EDVSMFILE		(-EMFILE)
#define EDVSNOTTY		EMOLBADCALL
#define EDVSTXTBSY		(-ETXTBSY)
#define EDVSFBIG		(-EFBIG)
#define EDVSNOSPC		(-ENOSPC)
#define EDVSSPIPE		(-ESPIPE)
#define EDVSROFS		(-EROFS)
#define EDVSMLINK		(-EMLINK)
#define EDVSPIPE		EMOLDSTDIED
#define EDVSDOM			(-EDOM)
#define EDVSRANGE		(-ERANGE)
#define EDVSDEADLK		EMOLLOCKED
#define EDVSNAMETOOLONG		(-ENAMETOOLONG)
#define EDVSNOLCK		(-ENOLCK)
#define EDVSNOTEMPTY		(-ENOTEMPTY)
#define EDVSLOOP		(-ELOOP)
#define EDVSCONNRESET		EMOLSRCDIED

/* never returned by m3ipc */
#define EDVSBADSRCDST		(-350)
#define EDVSCALLDENIED		EMOLCALLDENIED
#define EDVSDEADSRCDST		EMOLDEADSRCDST
#define EDVSTRAPDENIED		(-351)
#define EDVSDONTREPLY		(-352)
#define EDVSBADNODEID		EMOLBADNODEID
#define EDVSDCNOTRUN		EMOLDCNOTRUN
#define EDVSLCLPROC		EMOLLCLPROC
#define EDVSPROXYRUN		(-353)
#define EDVSNODEBUSY		(-354)
#define EDVSNONODE		(-355)
#define EDVSDVSBUSY		(-356)
#define EDVSPROCRUN		(-357)
#define EDVSNOMSG		(-358)
#define EDVSDCRUN		(-359)
#define EDVSPROCSTS		EMOLPROCSTS
#define EDVSNODEFREE		(-360)
#define EDVSDCNODE		(-361)
#define EDVSBADPROXY		(-362)
#define EDVSONCOPY		EMOLONCOPY
#define EDVSENQUEUED		EMOLENQUEUED
#define EDVSOVERRUN		(-363)
#define EDVSBADOWNER		(-364)
#define EDVSMIGRATE		EMOLMIGRATE
#define EDVSPROXYFREE		(-365)
#define EDVSGRPLEADER		(-366)
#define EDVSPRIVILEGES		(-367)
#define EDVSBINDTYPE		(-368)
#define EDVSSLOTUSED		(-369)
#define EDVSBADRANGE		EMOLRANGE
#define EDVSBADVALUE		(-370)
#define EDVSBADDIR		(-371)
#define EDVSBADFILE		(-372)
#define EDVSRSCBUSY		(-373)
#define EDVSNAMESIZE		(-374)
#define EDVSALLOCMEM		(-375)
#define EDVSPROXYID		(-376)
#define EDVSREPLPROC		(-377)

#ifdef __cplusplus
}
#endif
#endif /* M3IPC_DVK_H */
