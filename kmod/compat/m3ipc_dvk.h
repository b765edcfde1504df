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
/* opens /dev/m3ipc once: the descriptor, or why not (an EMOL* code: -2,
 * the original's ENOENT, without the module) */
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

/* dvs_usr_t.d_flags: how the DVK is loaded (m3ipc: a module, DVK_IOCTL) */
enum {
	DVK_IPC = 1 << 0,		/* a System V IPC in the kernel */
	DVK_IOCTL = 1 << 1,		/* a module: m3ipc */
	DVK_USERMODE = 1 << 2,		/* a user-mode kernel: EMOLNOSYS */
	DVK_INITIALIZED = 1 << 8,
};

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
 * The DVK kept the original's error numbers under EDVS* names: each name
 * has its DVK value, so "rc < EDVSERRCODE" and printed numbers read as on
 * the DVK. The names m3ipc returns are spelt as their EMOL* twins (same
 * value; kmod/docs/compat.md "Error codes").
 */
#define EDVSGENERIC         EMOLGENERIC
#define EDVSPERM            EMOLPERM
#define EDVSINTR            EMOLINTR
#define EDVSAGAIN           EMOLAGAIN
#define EDVSNOMEM           EMOLNOMEM
#define EDVSACCES           EMOLACCES
#define EDVSFAULT           EMOLFAULT
#define EDVSBUSY            EMOLBUSY
#define EDVSINVAL           EMOLINVAL
#define EDVSNOSYS           EMOLNOSYS
#define EDVSOUTOFBUFS       EMOLOUTOFBUFS
#define EDVSTIMEDOUT        EMOLTIMEDOUT
#define EDVSNOTCONN         EMOLNOTCONN
#define EDVSMSGSIZE         EMOLMSGSIZE
#define EDVSLOCKED          EMOLLOCKED
#define EDVSBADCALL         EMOLBADCALL
#define EDVSNOTREADY        EMOLNOTREADY
#define EDVSBADREQUEST      EMOLBADREQUEST
#define EDVSSRCDIED         EMOLSRCDIED
#define EDVSDSTDIED         EMOLDSTDIED
#define EDVSBADDCID         EMOLBADDCID
#define EDVSBADPROC         EMOLBADPROC
#define EDVSBADPID          EMOLBADPID
#define EDVSENDPOINT        EMOLENDPOINT
#define EDVSNOPROXY         EMOLNOPROXY
#define EDVSRMTPROC         EMOLRMTPROC
#define EDVSNOTBIND         EMOLNOTBIND
#define EDVSDVSINIT         EMOLDVSINIT
#define EDVSNODCNODE        EMOLNODCNODE

/* never returned by m3ipc */
#define EDVSNOENT           (-2)
#define EDVSSRCH            (-3)
#define EDVSIO              (-5)
#define EDVSNXIO            (-6)
#define EDVS2BIG            (-7)
#define EDVSNOEXEC          (-8)
#define EDVSBADF            (-9)
#define EDVSCHILD           (-10)
#define EDVSNOTBLK          (-15)
#define EDVSEXIST           (-17)
#define EDVSXDEV            (-18)
#define EDVSNODEV           (-19)
#define EDVSNOTDIR          (-20)
#define EDVSISDIR           (-21)
#define EDVSNFILE           (-23)
#define EDVSMFILE           (-24)
#define EDVSNOTTY           (-25)
#define EDVSTXTBSY          (-26)
#define EDVSFBIG            (-27)
#define EDVSNOSPC           (-28)
#define EDVSSPIPE           (-29)
#define EDVSROFS            (-30)
#define EDVSMLINK           (-31)
#define EDVSPIPE            (-32)
#define EDVSDOM             (-33)
#define EDVSRANGE           (-34)
#define EDVSDEADLK          (-35)
#define EDVSNAMETOOLONG     (-36)
#define EDVSNOLCK           (-37)
#define EDVSNOTEMPTY        (-39)
#define EDVSLOOP            (-40)
#define EDVSPACKSIZE        (-50)
#define EDVSBADIOCTL        (-52)
#define EDVSBADMODE         (-53)
#define EDVSWOULDBLOCK      (-54)
#define EDVSBADDEST         (-55)
#define EDVSDSTNOTRCH       (-56)
#define EDVSISCONN          (-57)
#define EDVSADDRINUSE       (-58)
#define EDVSCONNREFUSED     (-59)
#define EDVSCONNRESET       (-60)
#define EDVSURG             (-62)
#define EDVSNOURG           (-63)
#define EDVSSHUTDOWN        (-65)
#define EDVSNOCONN          (-66)
#define EDVSAFNOSUPPORT     (-67)
#define EDVSPROTONOSUPPORT  (-68)
#define EDVSPROTOTYPE       (-69)
#define EDVSINPROGRESS      (-70)
#define EDVSADDRNOTAVAIL    (-71)
#define EDVSALREADY         (-72)
#define EDVSNOTSOCK         (-74)
#define EDVSNOPROTOOPT      (-75)
#define EDVSBADSRCDST       (-103)
#define EDVSCALLDENIED      (-104)
#define EDVSDEADSRCDST      (-105)
#define EDVSTRAPDENIED      (-110)
#define EDVSDONTREPLY       (-201)
#define EDVSERRCODE         (-300)
#define EDVSBADNODEID       (-301)
#define EDVSDCNOTRUN        (-303)
#define EDVSLCLPROC         (-309)
#define EDVSPROXYRUN        (-311)
#define EDVSACKDST          (-312)
#define EDVSACKSRC          (-313)
#define EDVSACKWAIT         (-314)
#define EDVSNODEBUSY        (-315)
#define EDVSNONODE          (-316)
#define EDVSDVSBUSY         (-317)
#define EDVSPROCRUN         (-320)
#define EDVSNOMSG           (-321)
#define EDVSDCRUN           (-323)
#define EDVSPROCSTS         (-324)
#define EDVSNODEFREE        (-325)
#define EDVSDCNODE          (-326)
#define EDVSBADPROXY        (-327)
#define EDVSONCOPY          (-328)
#define EDVSENQUEUED        (-329)
#define EDVSOVERRUN         (-330)
#define EDVSBADOWNER        (-331)
#define EDVSMIGRATE         (-332)
#define EDVSPROXYFREE       (-333)
#define EDVSGRPLEADER       (-334)
#define EDVSPRIVILEGES      (-335)
#define EDVSBINDTYPE        (-336)
#define EDVSSLOTUSED        (-337)
#define EDVSBADRANGE        (-338)
#define EDVSBADVALUE        (-339)
#define EDVSBADDIR          (-340)
#define EDVSBADFILE         (-341)
#define EDVSRSCBUSY         (-342)
#define EDVSNAMESIZE        (-343)
#define EDVSALLOCMEM        (-344)
#define EDVSPROXYID         (-345)
#define EDVSREPLPROC        (-346)
#define EDVSALIGN           (-347)
#define EDVSWOKENUP         (-348)
#define EDVSBADTRAMP        (-349)
#define EDVSUSR2USR         (-350)
#define EDVSKRN2USR         (-351)
#define EDVSUSR2KRN         (-352)
#define EDVSPRIMARY         (-401)
#define EDVSNOREPLICA       (-402)
#define EDVSRESTARTSYS      (-512)

#ifdef __cplusplus
}
#endif
#endif /* M3IPC_DVK_H */
