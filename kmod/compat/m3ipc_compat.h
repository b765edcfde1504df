/* SPDX-License-Identifier: LGPL-2.1 */
/*
 * m3ipc_compat.h - the M3-IPC 1.6 programming interface over m3ipc.
 *
 * Programs written for the original system build against this header with
 * no change but the include line:
 *
 *	cc -static prog.c -lm3ipc_compat
 *
 * and run in a DC created in compat mode (mnx_dc_init, or m3ctl dc-init
 * --compat), where processes send, receive and vcopy freely and only a
 * system process may notify, as in the original (kmod/docs/compat.md).
 *
 * Every call returns a long: >= 0 on success (OK, or an endpoint, dcid,
 * node id) and one of the negative EMOL* codes below otherwise; as in 1.6,
 * a task slot's first endpoint is negative too (-1 for slot -1). A message
 * argument may be a message pointer or the pointer cast to long, as the
 * original's programs pass it (mnx_send(ep, (long) &m)).
 *
 * Self-contained on purpose (only libc headers): it is installed alone.
 * The library checks at build time that its constants agree with the
 * module's ABI (kmod/uapi/m3ipc.h).
 */
#ifndef M3IPC_COMPAT_H
#define M3IPC_COMPAT_H

#include <errno.h>
#include <sched.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

/* dc_cpumask's macros without _GNU_SOURCE (glibc keeps them GNU-only) */
#if !defined(CPU_SET) && defined(__CPU_SET_S)
#define CPU_ZERO(set)		__CPU_ZERO_S(sizeof(cpu_set_t), set)
#define CPU_SET(cpu, set)	__CPU_SET_S(cpu, sizeof(cpu_set_t), set)
#define CPU_CLR(cpu, set)	__CPU_CLR_S(cpu, sizeof(cpu_set_t), set)
#define CPU_ISSET(cpu, set)	__CPU_ISSET_S(cpu, sizeof(cpu_set_t), set)
#define CPU_COUNT(set)		__CPU_COUNT_S(sizeof(cpu_set_t), set)
#endif

#ifndef OK
#define OK			0
#endif

/* ---- endpoints ---- */
#define ANY			0x7ace	/* receive from anyone */
#define NONE			0x6ace	/* no endpoint */
#define SELF			0x8ace	/* the caller itself */
#define TIMEOUT_FOREVER		(-1L)
#define TIMEOUT_NOWAIT		0L

/*
 * The original's endpoint numbering: generation g of slot p is
 * g * _ENDPOINT_GENERATION_SIZE + p, so a slot's first endpoint is the slot
 * number itself, as the original's programs assume. The library converts
 * to and from the module's own numbering (kmod/docs/compat.md,
 * "Endpoints"); task slots below -NR_TASKS have no such endpoint.
 */
#define _ENDPOINT_GENERATION_SIZE	(NR_TASKS + SELF + 1)	/* 35570 */
#define _ENDPOINT_MAX_GENERATION	0x7ffe
#define _ENDPOINT(g, p)		((g) * _ENDPOINT_GENERATION_SIZE + (p))
#define _ENDPOINT_G(e)		(((e) + NR_TASKS) / _ENDPOINT_GENERATION_SIZE)
#define _ENDPOINT_P(e)		((((e) + NR_TASKS) % _ENDPOINT_GENERATION_SIZE) \
				 - NR_TASKS)

/* m_type of a notification, the original's value; m_source is the
 * notifier (the library turns the module's M3_MTYPE_NOTIFY into it) */
#define NOTIFY_MESSAGE		0x1000

/*
 * privilege levels (priv_usr_t.s_level, proc_usr_t.p_priv): the original's
 * numbers, higher = more privileged. The library converts them to the
 * module's levels; two of the original's have none of their own there.
 */
#define USER_PRIV		0
#define SERVER_PRIV		1
#define TASK_PRIV		2
#define SYSTEM_PRIV		3	/* TASK's rules: reads back TASK_PRIV */
#define KERNEL_PRIV		4
#define PROXY_PRIV		5	/* KERNEL's rules: reads back KERNEL_PRIV */
#define HARDWARE_PRIV		6	/* m3ipc's level above KERNEL */

/*
 * ---- the original's table sizes ----
 * Programs size their arrays and check ranges with these, and create DCs
 * with NR_TASKS/NR_PROCS; they are the 1.6 build's values, all within the
 * module's limits (checked when the library is built). A DC made here may
 * still be given other sizes, and the module's own limits are larger.
 */
#define NR_DCS			32	/* dcids 0..NR_DCS-1 */
#define NR_NODES		32	/* node ids 0..NR_NODES-1 */
#define NR_FIXED_TASKS		3
#define NR_SYSTASKS		NR_NODES
#define NR_TASKS		(NR_FIXED_TASKS + NR_SYSTASKS)	/* 35 */
#define NR_PROCS		(256 - NR_TASKS)		/* 221 */
#define NR_SERVERS		(32 - NR_FIXED_TASKS)
#define NR_SYS_PROCS		(NR_SERVERS + NR_TASKS)		/* 64 */
#define NR_USR_PROCS		(NR_PROCS - NR_SYS_PROCS)

/* buffer limits: MAXCOPYLEN is the largest vcopy the original allowed */
#define MAXCOPYBUF		65536	/* = the module's largest proxy payload */
#define MAXCOPYLEN		(16 * MAXCOPYBUF)
#define MAXDCNAME		16	/* = DC_NAME_LEN */
#define MAXPROCNAME		16	/* = PROC_NAME_LEN */
#define MAXNODENAME		16
/* the original's data per proxy datagram on x86_64: a 1500-byte Ethernet
 * frame less the IP and UDP headers and its 124-byte proxy header */
#define MAXBUFSIZE		1348

/* the original's fixed task slots (negative p_nr, as in MINIX) */
#define KERNEL			(-1)
#define HARDWARE		KERNEL
#define SYSTEM			(-2)
#define SYSTASK(n)		(SYSTEM - (n))
#define SLOTS			(SYSTEM - NR_SYSTASKS)
#define CLOCK			(SLOTS - 1)
#define IDLE			(CLOCK - 1)
#define LOCALNODE		(-1)	/* "this node" where a node id goes */

/* arguments of the original's bind, wait4bind and migrate calls */
#define SELF_BIND		0
#define LCL_BIND		1
#define RMT_BIND		2
#define BKUP_BIND		3
#define REPLICA_BIND		4
#define WAIT_BIND		0
#define WAIT_UNBIND		1
#define MIGR_START		0
#define MIGR_COMMIT		1
#define MIGR_ROLLBACK		2

/* ---- the MINIX message ---- */
#define M3_STRING		14

typedef struct { int m1i1, m1i2, m1i3; char *m1p1, *m1p2, *m1p3; } mess_1;
typedef struct { int m2i1, m2i2, m2i3; long m2l1, m2l2; char *m2p1; } mess_2;
typedef struct { int m3i1, m3i2; char *m3p1; char m3ca1[M3_STRING]; } mess_3;
typedef struct { long m4l1, m4l2, m4l3, m4l4, m4l5; } mess_4;
typedef struct { short m5c1, m5c2; int m5i1, m5i2; long m5l1, m5l2, m5l3; } mess_5;
typedef struct { char m6ca1[sizeof(mess_3)]; } mess_6;
typedef struct { int m7i1, m7i2, m7i3, m7i4; char *m7p1, *m7p2; } mess_7;
typedef struct { int m8i1, m8i2; char *m8p1, *m8p2, *m8p3, *m8p4; } mess_8;
typedef struct { int m9i1, m9l1; struct timespec m9t1; } mess_9;

typedef struct {
	int m_source;		/* set by the kernel: the sender's endpoint */
	int m_type;
	union {
		mess_1 m_m1;
		mess_2 m_m2;
		mess_3 m_m3;
		mess_4 m_m4;
		mess_5 m_m5;
		mess_6 m_m6;
		mess_7 m_m7;
		mess_8 m_m8;
		mess_9 m_m9;
	} m_u;
} message;

#define m1_i1	m_u.m_m1.m1i1
#define m1_i2	m_u.m_m1.m1i2
#define m1_i3	m_u.m_m1.m1i3
#define m1_p1	m_u.m_m1.m1p1
#define m1_p2	m_u.m_m1.m1p2
#define m1_p3	m_u.m_m1.m1p3

#define m2_i1	m_u.m_m2.m2i1
#define m2_i2	m_u.m_m2.m2i2
#define m2_i3	m_u.m_m2.m2i3
#define m2_l1	m_u.m_m2.m2l1
#define m2_l2	m_u.m_m2.m2l2
#define m2_p1	m_u.m_m2.m2p1

#define m3_i1	m_u.m_m3.m3i1
#define m3_i2	m_u.m_m3.m3i2
#define m3_p1	m_u.m_m3.m3p1
#define m3_ca1	m_u.m_m3.m3ca1

#define m4_l1	m_u.m_m4.m4l1
#define m4_l2	m_u.m_m4.m4l2
#define m4_l3	m_u.m_m4.m4l3
#define m4_l4	m_u.m_m4.m4l4
#define m4_l5	m_u.m_m4.m4l5

#define m5_c1	m_u.m_m5.m5c1
#define m5_c2	m_u.m_m5.m5c2
#define m5_i1	m_u.m_m5.m5i1
#define m5_i2	m_u.m_m5.m5i2
#define m5_l1	m_u.m_m5.m5l1
#define m5_l2	m_u.m_m5.m5l2
#define m5_l3	m_u.m_m5.m5l3

#define m6_ca1	m_u.m_m6.m6ca1

#define m7_i1	m_u.m_m7.m7i1
#define m7_i2	m_u.m_m7.m7i2
#define m7_i3	m_u.m_m7.m7i3
#define m7_i4	m_u.m_m7.m7i4
#define m7_p1	m_u.m_m7.m7p1
#define m7_p2	m_u.m_m7.m7p2

#define m8_i1	m_u.m_m8.m8i1
#define m8_i2	m_u.m_m8.m8i2
#define m8_p1	m_u.m_m8.m8p1
#define m8_p2	m_u.m_m8.m8p2
#define m8_p3	m_u.m_m8.m8p3
#define m8_p4	m_u.m_m8.m8p4

#define m9_i1	m_u.m_m9.m9i1
#define m9_l1	m_u.m_m9.m9l1
#define m9_t1	m_u.m_m9.m9t1

/*
 * printf formats and their arguments for each message layout, given a
 * message pointer: printf(MSG1_FORMAT, MSG1_FIELDS(mp)). Each format ends
 * with a newline.
 */
#define MSG1_FORMAT "m_source=%d m_type=%d m1_i1=%d m1_i2=%d m1_i3=%d " \
	"m1_p1=%p m1_p2=%p m1_p3=%p\n"
#define MSG1_FIELDS(mp) (mp)->m_source, (mp)->m_type, (mp)->m1_i1, \
	(mp)->m1_i2, (mp)->m1_i3, (void *)(mp)->m1_p1, (void *)(mp)->m1_p2, \
	(void *)(mp)->m1_p3
#define MSG2_FORMAT "m_source=%d m_type=%d m2_i1=%d m2_i2=%d m2_i3=%d " \
	"m2_l1=%ld m2_l2=%ld m2_p1=%p\n"
#define MSG2_FIELDS(mp) (mp)->m_source, (mp)->m_type, (mp)->m2_i1, \
	(mp)->m2_i2, (mp)->m2_i3, (mp)->m2_l1, (mp)->m2_l2, (void *)(mp)->m2_p1
#define MSG3_FORMAT "m_source=%d m_type=%d m3_i1=%d m3_i2=%d m3_p1=%p " \
	"m3_ca1=%.14s\n"
#define MSG3_FIELDS(mp) (mp)->m_source, (mp)->m_type, (mp)->m3_i1, \
	(mp)->m3_i2, (void *)(mp)->m3_p1, (mp)->m3_ca1
#define MSG4_FORMAT "m_source=%d m_type=%d m4_l1=%ld m4_l2=%ld m4_l3=%ld " \
	"m4_l4=%ld m4_l5=%ld\n"
#define MSG4_FIELDS(mp) (mp)->m_source, (mp)->m_type, (mp)->m4_l1, \
	(mp)->m4_l2, (mp)->m4_l3, (mp)->m4_l4, (mp)->m4_l5
#define MSG5_FORMAT "m_source=%d m_type=%d m5_c1=%d m5_c2=%d m5_i1=%d " \
	"m5_i2=%d m5_l1=%ld m5_l2=%ld m5_l3=%ld\n"
#define MSG5_FIELDS(mp) (mp)->m_source, (mp)->m_type, (int)(mp)->m5_c1, \
	(int)(mp)->m5_c2, (mp)->m5_i1, (mp)->m5_i2, (mp)->m5_l1, \
	(mp)->m5_l2, (mp)->m5_l3
#define MSG6_FORMAT "m_source=%d m_type=%d m6_ca1=%.*s\n"
#define MSG6_FIELDS(mp) (mp)->m_source, (mp)->m_type, \
	(int)sizeof((mp)->m6_ca1), (mp)->m6_ca1
#define MSG7_FORMAT "m_source=%d m_type=%d m7_i1=%d m7_i2=%d m7_i3=%d " \
	"m7_i4=%d m7_p1=%p m7_p2=%p\n"
#define MSG7_FIELDS(mp) (mp)->m_source, (mp)->m_type, (mp)->m7_i1, \
	(mp)->m7_i2, (mp)->m7_i3, (mp)->m7_i4, (void *)(mp)->m7_p1, \
	(void *)(mp)->m7_p2
#define MSG8_FORMAT "m_source=%d m_type=%d m8_i1=%d m8_i2=%d m8_p1=%p " \
	"m8_p2=%p m8_p3=%p m8_p4=%p\n"
#define MSG8_FIELDS(mp) (mp)->m_source, (mp)->m_type, (mp)->m8_i1, \
	(mp)->m8_i2, (void *)(mp)->m8_p1, (void *)(mp)->m8_p2, \
	(void *)(mp)->m8_p3, (void *)(mp)->m8_p4
#define MSG9_FORMAT "m_source=%d m_type=%d m9_i1=%d m9_l1=%d " \
	"m9_t1=%lld.%09ld\n"
#define MSG9_FIELDS(mp) (mp)->m_source, (mp)->m_type, (mp)->m9_i1, \
	(mp)->m9_l1, (long long)(mp)->m9_t1.tv_sec, (long)(mp)->m9_t1.tv_nsec

/* ---- tables ---- */
#define DC_NAME_LEN		16
#define PROC_NAME_LEN		16

typedef struct dvs_usr {
	int d_nr_dcs;		/* DCs on this node (dvs_init: 0 = default) */
	int d_nr_nodes;		/* out: node ids 0..d_nr_nodes-1 */
	int d_nr_procs;		/* per DC (dvs_init: 0 = default) */
	int d_nr_tasks;		/* per DC (dvs_init: 0 = default) */
	int d_nr_sysprocs;	/* out: 0, a per-DC figure here (dc_usr_t) */
	int d_max_copybuf;	/* out: largest proxy frame payload */
	int d_max_copylen;	/* out: largest vcopy */
	int d_version;		/* out: the module's ABI version */
	unsigned long d_nodes;	/* out: bitmap of known nodes */
	unsigned long d_nr_bound; /* out: bound slots over all DCs */
	unsigned long d_dbglvl;	/* ignored */
	unsigned long d_flags;	/* the DVK's DVS flags (m3ipc_dvk.h): in,
				 * 0 or how the DVK is loaded (a user-mode
				 * kernel: EMOLNOSYS); out: loaded as a module,
				 * initialized */
	char d_name[MAXNODENAME];	/* the DVK's DVS name: ignored */
} dvs_usr_t;

typedef struct dc_usr {
	int dc_dcid;		/* in: -1 or ANY = first free; out: assigned */
	int dc_flags;		/* in: m3ipc DC flags (compat mode is always
				 * added); out: the DC's flags */
	int dc_nr_procs;
	int dc_nr_tasks;
	int dc_nr_sysprocs;	/* tasks + the first procs that may notify;
				 * 0 = the tasks only */
	int dc_nr_nodes;	/* out: members of dc_nodes */
	unsigned long dc_nodes;	/* out: bitmap of member nodes */
	int dc_warn2proc;	/* not supported: must be NONE or 0 */
	int dc_warnmsg;		/* not supported: ignored */
	char dc_name[DC_NAME_LEN];
	cpu_set_t dc_cpumask;	/* CPUs of bound processes (the first 64;
				 * empty = all) */
} dc_usr_t;

/* proc_usr_t.p_rts_flags */
#define SLOT_FREE		0x01	/* nobody bound */
#define SENDING			0x04	/* blocked sending to p_sendto */
#define RECEIVING		0x08	/* blocked receiving from p_getfrom */
#define REPLY_WAIT		0x10	/* sendrec: waiting for the reply */
#define REMOTE			0x20	/* a process of another node */
#define RMT_WAIT		0x40	/* waiting for a remote answer */

typedef struct proc_usr {
	int p_nr;
	int p_endpoint;		/* NONE when free */
	int p_dcid;
	int p_lpid;		/* Linux pid (0 for a remote process) */
	int p_nodeid;
	int p_rts_flags;	/* the bits above */
	int p_priv;		/* privilege level (*_PRIV) */
	int p_getfrom;
	int p_sendto;
	int p_nr_notify;	/* pending notifications */
	unsigned long p_lclsent;	/* messages sent */
	unsigned long p_lclrcvd;	/* messages received */
	char p_name[PROC_NAME_LEN];
} proc_usr_t;

typedef struct priv_usr {
	int s_level;		/* *_PRIV */
	int s_id;		/* ignored */
	int s_warn;		/* ignored */
} priv_usr_t;

/* node_usr_t.n_flags (mnx_getnodeinfo) */
#define NODE_FREE		0x0	/* not known here */
#define NODE_ATTACHED		0x2	/* known: the local node, or proxies
					 * were bound for it */
#define NODE_SCONNECTED		0x4	/* up: its sender proxy works */
#define NODE_RCONNECTED		0x8	/* up: its receiver proxy works */

typedef struct node_usr {
	int n_nodeid;
	unsigned long n_flags;	/* the NODE_* bits */
	int n_proxies;		/* = n_nodeid: one proxy pair per node */
	unsigned long n_dcs;	/* bitmap of the DCs the node is a member of */
	struct timespec n_stimestamp;	/* not kept by m3ipc: 0 */
	struct timespec n_rtimestamp;	/* not kept by m3ipc: 0 */
	unsigned long n_pxsent;	/* frames sent to the node */
	unsigned long n_pxrcvd;	/* frames received from the node */
	char n_name[MAXNODENAME];	/* "node<id>" */
} node_usr_t;

/*
 * printf formats and arguments for the tables, given a pointer:
 * printf(DC_USR_FORMAT, DC_USR_FIELDS(dcp)). They print the fields the
 * compat structs have; each format ends with a newline.
 */
#define DVS_USR_FORMAT "d_nr_dcs=%d d_nr_nodes=%d d_nr_procs=%d " \
	"d_nr_tasks=%d d_nr_sysprocs=%d\n"
#define DVS_USR_FIELDS(p) (p)->d_nr_dcs, (p)->d_nr_nodes, (p)->d_nr_procs, \
	(p)->d_nr_tasks, (p)->d_nr_sysprocs
#define DVS_MAX_FORMAT "d_max_copybuf=%d d_max_copylen=%d\n"
#define DVS_MAX_FIELDS(p) (p)->d_max_copybuf, (p)->d_max_copylen
#define DVS_VER_FORMAT "d_dbglvl=%lx d_version=%d\n"
#define DVS_VER_FIELDS(p) (p)->d_dbglvl, (p)->d_version

#define DC_USR_FORMAT "dc_dcid=%d dc_name=%s dc_nr_procs=%d dc_nr_tasks=%d " \
	"dc_nr_sysprocs=%d dc_nr_nodes=%d dc_flags=%x dc_nodes=%lx\n"
#define DC_USR_FIELDS(p) (p)->dc_dcid, (p)->dc_name, (p)->dc_nr_procs, \
	(p)->dc_nr_tasks, (p)->dc_nr_sysprocs, (p)->dc_nr_nodes, \
	(p)->dc_flags, (p)->dc_nodes
#define DC_CPU_FORMAT "dc_dcid=%d dc_name=%s dc_cpumask=%lx\n"
#define DC_CPU_FIELDS(p) (p)->dc_dcid, (p)->dc_name, \
	(unsigned long)(p)->dc_cpumask.__bits[0]
#define DC_WARN_FORMAT "dc_dcid=%d dc_warn2proc=%d dc_warnmsg=%d\n"
#define DC_WARN_FIELDS(p) (p)->dc_dcid, (p)->dc_warn2proc, (p)->dc_warnmsg

#define PROC_USR_FORMAT "p_nr=%d p_endpoint=%d p_dcid=%d p_rts_flags=%x " \
	"p_lpid=%d p_nodeid=%d p_priv=%d p_name=%s\n"
#define PROC_USR_FIELDS(p) (p)->p_nr, (p)->p_endpoint, (p)->p_dcid, \
	(p)->p_rts_flags, (p)->p_lpid, (p)->p_nodeid, (p)->p_priv, (p)->p_name
#define PROC_WAIT_FORMAT "p_endpoint=%d p_dcid=%d p_rts_flags=%x " \
	"p_getfrom=%d p_sendto=%d p_nr_notify=%d\n"
#define PROC_WAIT_FIELDS(p) (p)->p_endpoint, (p)->p_dcid, (p)->p_rts_flags, \
	(p)->p_getfrom, (p)->p_sendto, (p)->p_nr_notify
#define PROC_COUNT_FORMAT "p_nr=%d p_endpoint=%d p_dcid=%d p_lclsent=%lu " \
	"p_lclrcvd=%lu\n"
#define PROC_COUNT_FIELDS(p) (p)->p_nr, (p)->p_endpoint, (p)->p_dcid, \
	(p)->p_lclsent, (p)->p_lclrcvd

#define PRIV_USR_FORMAT "s_id=%d s_warn=%d s_level=%d\n"
#define PRIV_USR_FIELDS(p) (p)->s_id, (p)->s_warn, (p)->s_level

#define NODE_USR_FORMAT "n_nodeid=%d n_name=%s n_proxies=%d n_flags=%lx " \
	"n_dcs=%lx\n"
#define NODE_USR_FIELDS(p) (p)->n_nodeid, (p)->n_name, (p)->n_proxies, \
	(p)->n_flags, (p)->n_dcs
#define NODE_TIME_FORMAT "n_nodeid=%d n_name=%s n_stimestamp=%lld.%09ld " \
	"n_rtimestamp=%lld.%09ld\n"
#define NODE_TIME_FIELDS(p) (p)->n_nodeid, (p)->n_name, \
	(long long)(p)->n_stimestamp.tv_sec, (long)(p)->n_stimestamp.tv_nsec, \
	(long long)(p)->n_rtimestamp.tv_sec, (long)(p)->n_rtimestamp.tv_nsec

/*
 * ---- error codes ----
 * The original's names with the original's values (1.6's molerrno.h), so
 * a program that prints or compares numbers sees what it saw there. The
 * module returns negative errnos; the library turns each into its one name
 * here (compat_errors.c, table in kmod/docs/compat.md). The names after
 * the first block are never returned by m3ipc.
 */
#define EMOLPERM		(-1)	/* needs CAP_SYS_ADMIN (EPERM) */
#define EMOLINTR		(-4)	/* interrupted by a signal (EINTR) */
#define EMOLAGAIN		(-11)	/* TIMEOUT_NOWAIT would block (EAGAIN) */
#define EMOLNOMEM		(-12)	/* out of memory (ENOMEM) */
#define EMOLACCES		(-13)	/* privilege rule (EACCES) */
#define EMOLFAULT		(-14)	/* bad address, vcopy (EFAULT) */
#define EMOLBUSY		(-16)	/* slot, DC or DVS in use (EBUSY) */
#define EMOLINVAL		(-22)	/* invalid argument (EINVAL) */
#define EMOLNOSYS		(-38)	/* not in m3ipc (the library) */
#define EMOLOUTOFBUFS		(-51)	/* proxy queue full (ENOBUFS) */
#define EMOLTIMEDOUT		(-61)	/* timeout expired (ETIMEDOUT) */
#define EMOLNOTCONN		(-64)	/* the node is down (EHOSTDOWN) */
#define EMOLMSGSIZE		(-73)	/* frame buffer too small (EMSGSIZE) */
#define EMOLGENERIC		(-99)	/* an errno with no name here */
#define EMOLLOCKED		(-101)	/* deadlock (EDEADLK) */
#define EMOLBADCALL		(-102)	/* unknown call: library/module
					 * version mismatch (ENOTTY) */
#define EMOLNOTREADY		(-106)	/* reply to one not waiting (EBADE) */
#define EMOLBADREQUEST		(-107)	/* malformed proxy frame (EPROTO) */
#define EMOLSRCDIED		(-108)	/* source died (ECONNRESET) */
#define EMOLDSTDIED		(-109)	/* destination died (EPIPE) */
#define EMOLBADDCID		(-302)	/* no such DC (ENXIO) */
#define EMOLBADPROC		(-304)	/* bad endpoint / slot (EBADSLT) */
#define EMOLBADPID		(-305)	/* no such pid (ESRCH) */
#define EMOLENDPOINT		(-306)	/* stale endpoint (ESTALE) */
#define EMOLNOPROXY		(-307)	/* no proxy for the node (ENOLINK) */
#define EMOLRMTPROC		(-308)	/* remote where only local goes
					 * (EREMOTE) */
#define EMOLNOTBIND		(-310)	/* caller/target not bound (ENOTCONN) */
#define EMOLDVSINIT		(-318)	/* DVS not initialized (ENODEV) */
#define EMOLNODCNODE		(-319)	/* node not in the DC (ENONET) */

/* the name earlier compat headers gave EMOLOUTOFBUFS */
#define EMOLNOBUFS		EMOLOUTOFBUFS
/* the original's threshold: its IPC-specific codes are below it */
#define EMOLERRCODE		(-300)

#define EMOLRANGE		(-34)	/* m3ipc returns EMOLBADPROC */
#define EMOLCALLDENIED		(-104)	/* m3ipc returns EMOLACCES */
#define EMOLDEADSRCDST		(-105)	/* m3ipc says which side died */
#define EMOLBADNODEID		(-301)	/* m3ipc returns EMOLINVAL */
#define EMOLDCNOTRUN		(-303)	/* a DC here is running or gone */
#define EMOLLCLPROC		(-309)	/* m3ipc returns EMOLRMTPROC */
#define EMOLPROCSTS		(-324)	/* m3ipc returns EMOLNOTREADY */
#define EMOLONCOPY		(-328)
#define EMOLENQUEUED		(-329)
#define EMOLMIGRATE		(-332)	/* no migration in m3ipc */
#define EMOLWOKENUP		(-348)	/* no wake-up calls in m3ipc */

/* the name of a code ("EMOLDSTDIED"), or "OK", or "unknown" */
const char *mnx_errname(long rcode);

/*
 * An argument the original's programs pass either as a pointer or cast to
 * long: a transparent union takes both without a cast (GNU C).
 */
typedef union {
	message *mp;
	void *vp;
	const void *cvp;
	long l;
	unsigned long ul;
} __attribute__((__transparent_union__)) mnx_ptr_t;

/* ---- IPC ---- */
long mnx_send_T(int dst_ep, mnx_ptr_t m, long timeout_ms);
long mnx_receive_T(int src_ep, mnx_ptr_t m, long timeout_ms);
long mnx_sendrec_T(int srcdst_ep, mnx_ptr_t m, long timeout_ms);
long mnx_rcvrqst_T(mnx_ptr_t m, long timeout_ms);
long mnx_reply_T(int dst_ep, mnx_ptr_t m, long timeout_ms);
long mnx_send(int dst_ep, mnx_ptr_t m);
long mnx_receive(int src_ep, mnx_ptr_t m);
long mnx_sendrec(int srcdst_ep, mnx_ptr_t m);
long mnx_rcvrqst(mnx_ptr_t m);
long mnx_reply(int dst_ep, mnx_ptr_t m);
long mnx_notify(int dst_ep);
/* a notification as @src_nr: only the caller's own slot (or SELF) is
 * possible in m3ipc, which always names the real notifier; else EMOLNOSYS */
long mnx_src_notify(int src_nr, int dst_ep);
long mnx_vcopy(int src_ep, mnx_ptr_t src_addr, int dst_ep, mnx_ptr_t dst_addr,
	       int bytes);
/* the original took any integer as a vcopy address (its call cast to long):
 * so does this one (the library defines it as (mnx_vcopy)) */
#define mnx_vcopy(src_ep, src_addr, dst_ep, dst_addr, bytes) \
	mnx_vcopy(src_ep, (long)(src_addr), dst_ep, (long)(dst_addr), bytes)

/* ---- binding ---- */
long mnx_bind(int dcid, int p_nr);
long mnx_lclbind(int dcid, int pid, int p_nr);
long mnx_rmtbind(int dcid, char *name, int endpoint, int nodeid);
long mnx_unbind(int dcid, int endpoint);
long mnx_getep(int pid);
long mnx_wait4bind(void);
long mnx_wait4bind_T(long timeout_ms);
/* the calling thread (m3ipc binds threads, so this is mnx_bind) */
long mnx_tbind(int dcid, int p_nr);
/* m3ipc's unbind never blocks: the timeout is accepted and unused */
long mnx_unbind_T(int dcid, int endpoint, long timeout_ms);
/*
 * Wait until another process of the caller's DC is bound to (bindep), or
 * no longer bound to (unbind), @endpoint: an endpoint, or a slot number,
 * which the original's programs pass as its first endpoint. Polls the
 * process table every 10 ms (m3ipc has no such wait): the endpoint, or OK,
 * or EMOLTIMEDOUT, EMOLAGAIN (timeout 0), EMOLNOTBIND (caller not bound).
 */
long mnx_wait4bindep(int endpoint);
long mnx_wait4bindep_T(int endpoint, long timeout_ms);
long mnx_wait4unbind(int endpoint);
long mnx_wait4unbind_T(int endpoint, long timeout_ms);

/* ---- DVS, DCs, tables ---- */
long mnx_dvs_init(int nodeid, dvs_usr_t *params);
long mnx_dvs_end(void);
long mnx_getdvsinfo(dvs_usr_t *dvs);
/* a compat-mode DC; returns the local node id (as 1.6), the dcid goes
 * into dc->dc_dcid */
long mnx_dc_init(dc_usr_t *dc);
long mnx_dc_end(int dcid);
long mnx_getdcinfo(int dcid, dc_usr_t *dc);
long mnx_getprocinfo(int dcid, int p_nr, proc_usr_t *proc);
long mnx_setpriv(int dcid, int endpoint, priv_usr_t *priv);
long mnx_getpriv(int dcid, int endpoint, priv_usr_t *priv);	/* s_level */
long mnx_proc_dump(int dcid);
long mnx_dc_dump(void);

/* ---- nodes and proxies ---- */
long mnx_add_node(int dcid, int nodeid);
long mnx_del_node(int dcid, int nodeid);
long mnx_proxies_bind(char *name, int nodeid, int spid, int rpid,
		      int maxcopybuf);
long mnx_proxies_unbind(int nodeid);
long mnx_node_up(char *name, int nodeid, int proxy_nr);
long mnx_node_down(int nodeid);
/* what this node knows of @nodeid (0..NR_NODES-1), from the module's
 * DC tables and /proc/m3ipc (nodes, proxies) */
long mnx_getnodeinfo(int nodeid, node_usr_t *node);

/* ---- calls of the original m3ipc has no counterpart for: EMOLNOSYS
 * (list in kmod/docs/compat.md, "Not implemented") ---- */
long mnx_migr_start(int dcid, int endpoint);
long mnx_migr_rollback(int dcid, int endpoint);
long mnx_migr_commit(int pid, int dcid, int endpoint, int new_node);
long mnx_bkupbind(int dcid, int pid, int endpoint, int nodeid);
long mnx_replbind(int dcid, int pid, int endpoint);
long mnx_sendas(int src_ep, int dst_ep, mnx_ptr_t m, long timeout_ms);
long mnx_hdw_notify(int dcid, int dst_ep);	/* as HARDWARE */
long mnx_ntfy_value(int src_nr, int dst_ep, long value);
long mnx_relay(int dst_ep, mnx_ptr_t m);	/* forward, keeping m_source */
long mnx_wakeup(int dcid, int endpoint);	/* end a blocked call */
long mnx_proxy_conn(int proxy_nr, int status);	/* proxies report links */
long mnx_getproxyinfo(int proxy_nr, proc_usr_t *sproxy, proc_usr_t *rproxy);
/* the original's proxy frames (m3ipc's proxies use struct m3_rhdr) */
long mnx_put2lcl(mnx_ptr_t header, mnx_ptr_t payload);
long mnx_get2rmt(mnx_ptr_t header, mnx_ptr_t payload);
long mnx_get2rmt_T(mnx_ptr_t header, mnx_ptr_t payload, long timeout_ms);

/* mnx_proxy_conn's status */
#define CONNECT_SPROXY		1
#define CONNECT_RPROXY		2
#define DISCONNECT_SPROXY	3
#define DISCONNECT_RPROXY	4

#ifdef __cplusplus
}
#endif
#endif /* M3IPC_COMPAT_H */
