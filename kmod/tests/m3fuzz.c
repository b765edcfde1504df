// SPDX-License-Identifier: GPL-2.0
/*
 * m3fuzz - a seeded, concurrent fuzzer of the whole /dev/m3ipc ioctl interface.
 *
 *   m3fuzz [--seed N] [--procs N] [--threads N] [--seconds S] [--calls N]
 *          [--total-calls N] [--log-dir DIR] [--ring N] [--admin-bias PCT] [--kill-ms MS]
 *          [--rt-threads N] [--no-stop-on-report]
 *          [--swarm] [--cover FILE [--guided [--replay PERMILLE] [--edges]
 *          [--swarm-pool PCT]] [--hints]]
 *          [--remote-dc DCID --remote-ep EP [--remote-ep EP ...]]
 *   m3fuzz --dump DIR|FILE [--last N] [--raw]  the recorded calls, as text
 *
 * The parent initializes the DVS if nobody did, makes two DCs with
 * M3_DCF_SELF_BIND, then forks --procs fuzzing processes of --threads threads
 * each; every third process drops its privileges (setuid nobody) before it
 * opens the device. Each thread draws calls from the uapi's structure, not
 * from random bytes alone: every ioctl of m3ipc.h (admin, IPC, vcopy, proxy
 * calls with forged frames), valid and stale endpoints (structural ones and
 * endpoints learned from earlier calls, shared between the processes), live
 * and dead DC ids, good, NULL, unmapped, kernel, read-only and page-straddling
 * user pointers, sizes around every limit, short timeouts; plus unknown ioctl
 * numbers and wrong sizes, SIGUSR1 to siblings (EINTR paths), reads of
 * /proc/m3ipc and reopening the device. --admin-bias PCT of the calls of
 * every thread are dc_init/dc_end on two "hot" DC ids all processes share
 * (structure-aware: the admin paths race each other). The parent SIGKILLs a
 * random process every ~--kill-ms and starts it again (next incarnation).
 * The last --rt-threads (default 1) threads of each privileged process run
 * SCHED_FIFO and sleep 20-220 us after each call, so their wakeups preempt
 * the others inside the kernel (windows that only open under preemption).
 * Oracles: a successful dc_init must answer its own dcid and one node; a
 * broken one stops the run (exit 5).
 *
 * Remote mode (--remote-dc, --remote-ep): on a node of a cluster whose
 * proxies run, the cluster's DC and endpoints of processes on other nodes
 * join the pools (a third of the endpoints, a quarter of the dcids), so
 * IPC and vcopy calls cross the proxies and the remote paths of the module
 * race the local ones and the proxy-role calls (forged put2lcl frames
 * among them). So that the link lives long enough to be fuzzed, dvs_end,
 * dc_end of the cluster's DC and proxy_unbind are not made in that mode
 * (dvs_info instead: same draws, so seeds still replay). The summary
 * counts the calls that named a remote endpoint and those that succeeded.
 *
 * Determinism: every random choice of a thread comes from its own generator,
 * seeded from (--seed, process slot, incarnation, thread), and each call
 * draws the same numbers whatever earlier calls returned; an argument that
 * names learned state (an endpoint another process got, a live dcid) is
 * still drawn from the pools as they are at that moment, so the scheduling
 * of the threads decides those values.
 *
 * Coverage (--cover FILE): on a kernel with KCOV (the lab's debug variant
 * instruments the module only), each thread traces the module's PCs of its
 * own calls; the distinct PCs of all processes are counted as the run goes
 * (a timeline every 5 s) and written to FILE with the module's section
 * addresses, so the host maps them to source lines. --guided steers by it:
 * when a call reaches new PCs (--edges: or new edges, pairs of consecutive
 * PCs), the thread's last calls up to it join a corpus of programs shared
 * by the processes; a thread starts a corpus program, mutated, on --replay
 * per mille (default 40) of the calls that follow none (fuzz_prog.h). The corpus
 * depends on the scheduling, so a guided seed replays less exactly than a
 * random one. --hints (a kernel with CONFIG_KCOV_ENABLE_COMPARISONS): a call
 * that reached new PCs, and a third of the kept calls a program mutates, are
 * made once more with the module's comparisons traced; each operand found in
 * the argument gives a candidate call with the other operand in its place
 * (fuzz_hints.h), and the candidates are the thread's next calls.
 *
 * Each process records its last --ring calls per thread in a file of
 * --log-dir (pSLOT.ring; the previous incarnation's is kept as
 * pSLOT.prev.ring), written through a shared mapping before and after each
 * call, so a SIGKILLed process or one stuck in the kernel still leaves them;
 * --dump prints them. The parent watches /dev/kmsg: a kernel report (BUG,
 * WARNING, KASAN, lockdep...) stops the run (exit 3) unless
 * --no-stop-on-report. At the end it prints the calls per ioctl. Every loop
 * is bounded by --seconds and --calls; --total-calls ends the run when all
 * processes together made that many (a budget a loaded host does not shrink,
 * for comparing modes: m3lab bench fuzz --calls); a process that does not die after
 * SIGKILL within 10 s (stuck in the kernel) makes it exit 4.
 */
#include <dirent.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "../uapi/m3ipc.h"
#include "fuzz_kcov.h"
#include "fuzz_hints.h"
#include "fuzz_kmsg.h"

/* values around limits are drawn as ints and stored in fields of any sign */
#pragma GCC diagnostic ignored "-Wsign-compare"

#define MAXPROCS	16
#define MAXTHREADS	8
#define NERR		134
#define EPPOOL		64
#define ARGMAX		160
#define DATA_LEN	(256 * 1024)
#define HOT_DCID0	1	/* the hot DC ids: HOT_DCID0, HOT_DCID0 + 1 */
#define NOBODY		65534

#include "fuzz_prog.h"

/* ---- operations ---- */

enum op {
	OP_DVS_INIT, OP_DVS_END, OP_DVS_INFO, OP_DC_INIT, OP_DC_END, OP_DC_INFO,
	OP_BIND, OP_UNBIND, OP_SETPRIV, OP_PROC_INFO, OP_PROXY_BIND,
	OP_PROXY_UNBIND, OP_ADD_NODE, OP_DEL_NODE, OP_RMTBIND, OP_NODE_DOWN,
	OP_NODE_UP, OP_GET2RMT, OP_PUT2LCL, OP_SEND, OP_RECEIVE, OP_SENDREC,
	OP_NOTIFY, OP_RCVRQST, OP_REPLY, OP_REPLY_RCV, OP_VCOPY, OP_GETEP,
	OP_WAIT4BIND, OP_LINK_SET, OP_LINK_HELLO,
	OP_RAW,		/* an unknown number or a known one with a wrong size */
	OP_SIGNAL,	/* SIGUSR1 to a sibling thread or process */
	OP_PROCREAD,	/* read a file of /proc/m3ipc */
	OP_REOPEN,	/* close the device and open it again */
	NOPS
};

#include "fuzz_swarm.h"

static const struct opdesc {
	const char *name;
	unsigned long cmd;
	unsigned int weight;	/* relative, out of the sum */
} ops[NOPS] = {
	[OP_DVS_INIT]	  = { "dvs_init",     M3_IOC_DVS_INIT,     8 },
	[OP_DVS_END]	  = { "dvs_end",      M3_IOC_DVS_END,      1 },
	[OP_DVS_INFO]	  = { "dvs_info",     M3_IOC_DVS_INFO,     10 },
	[OP_DC_INIT]	  = { "dc_init",      M3_IOC_DC_INIT,      40 },
	[OP_DC_END]	  = { "dc_end",       M3_IOC_DC_END,       25 },
	[OP_DC_INFO]	  = { "dc_info",      M3_IOC_DC_INFO,      15 },
	[OP_BIND]	  = { "bind",         M3_IOC_BIND,         50 },
	[OP_UNBIND]	  = { "unbind",       M3_IOC_UNBIND,       20 },
	[OP_SETPRIV]	  = { "setpriv",      M3_IOC_SETPRIV,      25 },
	[OP_PROC_INFO]	  = { "proc_info",    M3_IOC_PROC_INFO,    15 },
	[OP_PROXY_BIND]	  = { "proxy_bind",   M3_IOC_PROXY_BIND,   6 },
	[OP_PROXY_UNBIND] = { "proxy_unbind", M3_IOC_PROXY_UNBIND, 4 },
	[OP_ADD_NODE]	  = { "add_node",     M3_IOC_ADD_NODE,     6 },
	[OP_DEL_NODE]	  = { "del_node",     M3_IOC_DEL_NODE,     4 },
	[OP_RMTBIND]	  = { "rmtbind",      M3_IOC_RMTBIND,      10 },
	[OP_NODE_DOWN]	  = { "node_down",    M3_IOC_NODE_DOWN,    4 },
	[OP_NODE_UP]	  = { "node_up",      M3_IOC_NODE_UP,      4 },
	[OP_GET2RMT]	  = { "get2rmt",      M3_IOC_GET2RMT,      6 },
	[OP_PUT2LCL]	  = { "put2lcl",      M3_IOC_PUT2LCL,      15 },
	[OP_SEND]	  = { "send",         M3_IOC_SEND,         30 },
	[OP_RECEIVE]	  = { "receive",      M3_IOC_RECEIVE,      30 },
	[OP_SENDREC]	  = { "sendrec",      M3_IOC_SENDREC,      30 },
	[OP_NOTIFY]	  = { "notify",       M3_IOC_NOTIFY,       25 },
	[OP_RCVRQST]	  = { "rcvrqst",      M3_IOC_RCVRQST,      20 },
	[OP_REPLY]	  = { "reply",        M3_IOC_REPLY,        20 },
	[OP_REPLY_RCV]	  = { "reply_rcv",    M3_IOC_REPLY_RCV,    20 },
	[OP_VCOPY]	  = { "vcopy",        M3_IOC_VCOPY,        30 },
	[OP_GETEP]	  = { "getep",        M3_IOC_GETEP,        15 },
	[OP_WAIT4BIND]	  = { "wait4bind",    M3_IOC_WAIT4BIND,    6 },
	[OP_LINK_SET]	  = { "link_set",     M3_IOC_LINK_SET,     5 },
	[OP_LINK_HELLO]	  = { "link_hello",   M3_IOC_LINK_HELLO,   4 },
	[OP_RAW]	  = { "raw",          0,                   8 },
	[OP_SIGNAL]	  = { "signal",       0,                   4 },
	[OP_PROCREAD]	  = { "procread",     0,                   6 },
	[OP_REOPEN]	  = { "reopen",       0,                   1 },
};

/* where a call's argument pointer points */
enum ptrkind { PK_GOOD, PK_NULL, PK_UNMAPPED, PK_KERNEL, PK_STRADDLE, PK_RDONLY, NPK };
static const char *const pknames[NPK] = { "good", "NULL", "unmapped", "kernel", "straddle", "rdonly" };

/* ---- the call log: a ring per thread in a file mapped shared ---- */

struct rec {
	uint64_t seq;		/* per process, over all its threads */
	uint64_t t_us;		/* since the process started */
	int32_t tid;
	uint16_t op;
	uint8_t pk;		/* enum ptrkind of the argument */
	uint8_t state;		/* 0 empty, 1 in the call, 2 returned */
	uint32_t cmd;
	int32_t ret;		/* result or -errno */
	uint32_t alen;
	uint32_t thread;	/* index of the thread in its process */
	uint64_t ptr;		/* the argument pointer passed */
	uint8_t arg[ARGMAX];	/* the argument as generated (before the call) */
};

struct ringhdr {
	char magic[8];		/* "M3FZRNG2" */
	uint64_t seed, proc_seed;
	uint32_t slot, incarnation, nthreads, ring_len;
	int32_t pid, uid;
	uint64_t seq;
	uint64_t heads[MAXTHREADS];
	/* what a reproducer needs to rebuild the pointers the calls name */
	uint64_t data_base, data_len, rdonly_base, unmapped_base;
	uint32_t rt_mask;	/* threads that ran SCHED_FIFO with sleeps */
	uint32_t pad;
};
#define RING_MAGIC	"M3FZRNG2"

/* ---- state shared by all processes (MAP_SHARED before fork) ---- */

struct opstat {
	uint64_t calls, ok;
	uint32_t err[NERR];
};

struct shared {
	volatile int stop;
	volatile int broken;		/* an answer broke an invariant */
	char why[256];
	volatile pid_t pids[MAXPROCS];
	volatile int tids[MAXPROCS][MAXTHREADS];
	volatile int eps[EPPOOL];	/* endpoints seen by someone */
	volatile int dcids[8];		/* dcids dc_init returned lately */
	volatile int node_id;		/* this node's id, from the last dvs_info */
	volatile int dc_nodes[8][2];	/* (dcid, node) of the last add_node calls that worked */
	struct opstat st[MAXPROCS][NOPS];
	long rcalls[MAXPROCS], rok[MAXPROCS];	/* calls naming a remote endpoint, and their successes */
	long hint_passes, hint_cands, hint_fresh;	/* --hints: calls traced for comparisons, candidates made, candidates that reached new PCs */
};

static struct shared *sh;

static struct pcset *pcs;	/* NULL: no --cover */
static struct progs *corpus;	/* --guided: programs that reached new PCs or edges; else NULL */
static struct pcset *edges;	/* --guided --edges: the edges seen; else NULL */
static struct swarms *swarm_pool;	/* --guided: configurations that reached new PCs; else NULL */
static char cover_why[128];	/* why coverage is unavailable */
static int hints_ok;		/* --hints: the kernel traces comparisons */
static char hints_why[128];	/* why hints are unavailable */
static uint8_t *data;		/* DATA_LEN + a PROT_NONE guard page, same address in every process */
static uint8_t *rdonly;		/* a read-only page */
static uint8_t *unmapped;	/* an address with nothing mapped */
static long pagesz;

/* options */
static uint64_t opt_seed;
static int opt_procs = 6, opt_threads = 3, opt_seconds = 60, opt_ring = 64;
static long opt_calls = 2000000;	/* per thread */
static long long opt_total_calls;	/* all processes together; 0: no bound but time */
static int opt_bias = 25, opt_kill_ms = 400, opt_stop_on_report = 1, opt_rt = 1;
static const char *opt_logdir = "/tmp/m3fuzz";
static int opt_rdc = -1, opt_reps[8], opt_nreps;	/* remote mode */
static const char *opt_cover;
static int opt_guided;
static int opt_edges;		/* a new edge admits a program too, not only a new PC */
static int opt_replay = 40;	/* per mille of the calls that follow no program: start one */
static int opt_swarm;		/* threads draw swarm configurations (fuzz_swarm.h) */
static int opt_swarm_pool = 70;	/* --guided: percent of configurations taken from the pool */
static int opt_hints;		/* --hints: candidates from the module's comparisons (fuzz_hints.h) */

/* per process */
static int fd = -1, my_slot, my_incarnation, my_uid;
static struct ringhdr *ring;
static struct rec *recs;
static long long deadline_us, t0_us;

static long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

struct th {
	uint64_t rng;
	uint32_t learned;	/* where the next learned value goes (no draw) */
	int idx;
	int tid;
	long calls;
	int my_ep;	/* own endpoint, if bound */
	int my_dc;
	int remote;	/* this call named a remote endpoint */
	struct kcov_thread *kc;	/* NULL: no coverage */
	struct phist hist;	/* --guided: the last calls */
	struct prog plan;	/* --guided: the program being replayed */
	uint32_t plan_i;	/* its next call */
	int plan_mut;		/* the call whose argument is mutated (-1: none) */
	uint64_t swarm;		/* --swarm: the operations (bits) this thread draws */
	int swarm_kept;		/* --guided: this configuration joined the pool */
	/*
	 * link_set's sockets: a TCP listener on loopback and a connected pair
	 * from it (lk[0] handed to the module, lk[1] its peer, where forged
	 * frames are written); -1 until first used.
	 */
	int lfd, lk[2];
	int tmpfd;	/* a socket made for one call only, closed after it */
	int proxy_node;	/* the node this thread became a proxy of (-1: none) */
	/*
	 * --hints: the comparison trace (NULL: none), the candidates of the
	 * last call traced, the argument they apply to, and the next one;
	 * hint_req: this call is to be traced for comparisons after it ran.
	 */
	struct kcov_thread *kcmp;
	struct hints hq;
	uint8_t hq_base[ARGMAX];
	uint32_t hq_i, hq_alen;
	int hq_op, hint_req, hint_cand;
};

static uint64_t rnd(struct th *t) { return splitmix(&t->rng); }
static uint32_t rn(struct th *t, uint32_t n) { return n ? rnd(t) % n : 0; }
static int pct(struct th *t, int p) { return (int)rn(t, 100) < p; }

static int pick(struct th *t, const int *v, int n) { return v[rn(t, n)]; }
#define PICK(t, ...) ({ static const int _v[] = { __VA_ARGS__ }; \
	pick(t, _v, sizeof(_v) / sizeof(_v[0])); })

/* ---- argument generators ---- */

static void learn_ep(struct th *t, int ep)
{
	if (ep > 0 && M3_EP_GEN(ep))
		sh->eps[(t->learned++ * 7 + my_slot * 13 + t->idx) % EPPOOL] = ep;
}

static int gen_ep(struct th *t)
{
	uint32_t k, q, w;
	uint64_t r;
	int learned;

	if (opt_nreps) {	/* both always drawn in remote mode */
		q = rn(t, 100);
		w = rn(t, opt_nreps);
		if (q < 33) {
			t->remote = 1;
			return opt_reps[w];
		}
	}
	k = rn(t, 100);
	r = rnd(t);	/* always drawn: the same numbers per call */
	learned = sh->eps[r % EPPOOL];

	if (k < 40)
		return learned > 0 ? learned : M3_ENDPOINT(1 + r % 3, (int)(r >> 8) % 6 - 1);
	if (k < 50)
		return t->my_ep > 0 ? t->my_ep : M3_SELF;
	if (k < 58)
		return M3_SELF;
	if (k < 62)
		return M3_ANY;
	if (k < 65)
		return M3_NONE;
	if (k < 85)	/* structural: small generations and slots, tasks included */
		return M3_ENDPOINT(1 + r % 4, (int)((r >> 8) % 12) - 3);
	if (k < 90)	/* a learned one from an older generation: stale */
		return learned > 0 ? M3_ENDPOINT(M3_EP_GEN(learned) > 1 ? M3_EP_GEN(learned) - 1 : 2, M3_EP_SLOT(learned)) : 0;
	if (k < 93)	/* slots around the limits */
		return M3_ENDPOINT(1, PICK(t, -M3_MAX_TASKS, -M3_MAX_TASKS - 1, M3_MAX_PROCS - 1, M3_MAX_PROCS, 4095 - 256));
	return PICK(t, 0, -1, 1, 0x7fffffff, (int)0x80000000, 0x10000) ^ (int)(r & (k == 99));
}

static int gen_dcid(struct th *t)
{
	uint32_t k;
	uint64_t r;
	int d;

	if (opt_rdc >= 0 && rn(t, 100) < 25)
		return opt_rdc;
	k = rn(t, 100);
	r = rnd(t);
	d = sh->dcids[r % 8];

	if (k < 30)
		return d;
	if (k < 55)
		return HOT_DCID0 + (int)(r >> 8) % 2;
	if (k < 75)
		return (int)(r >> 8) % 6;
	if (k < 80)
		return t->my_dc;
	return PICK(t, -1, -2, M3_MAX_DCS - 1, M3_MAX_DCS, 0x7fffffff, (int)0x80000000);
}

static int gen_node(struct th *t)
{
	return rn(t, 10) < 8 ? (int)rn(t, 5) : PICK(t, -1, 63, 64, 1000, 0);
}

static int gen_timeout(struct th *t)
{
	uint32_t k = rn(t, 1000);

	if (k < 400)
		return 0;
	if (k < 950)
		return 1 + (int)rn(t, 20);
	if (k < 960)
		return -1;	/* forever: woken by a kill, an unbind or dc_end */
	return PICK(t, -2, (int)0x80000000, 0x7fffffff, 100);
}

static int gen_pid(struct th *t)
{
	uint32_t k = rn(t, 100);
	uint64_t r = rnd(t);
	int s = r % MAXPROCS, th = (r >> 8) % MAXTHREADS;

	if (k < 35)
		return 0;
	if (k < 45)
		return t->tid;
	if (k < 70)
		return sh->tids[s][th] ?: sh->pids[s % (opt_procs ?: 1)];
	if (k < 80)
		return sh->pids[s];
	/* kthreadd (no address space), nobody, ourselves; never init */
	k = rn(t, 5);
	return k == 4 ? getpid() : PICK(t, 2, -1, 0x7fffffff, 99999);
}

static uint64_t gen_addr(struct th *t, uint64_t len)
{
	uint32_t k = rn(t, 100);
	uint64_t off = rnd(t);

	if (len > DATA_LEN)
		len = DATA_LEN;
	if (k < 70)
		return (uint64_t)(uintptr_t)data + off % (DATA_LEN - len + 1);
	if (k < 75)
		return 0;
	if (k < 80)
		return (uint64_t)(uintptr_t)unmapped;
	if (k < 84)
		return 0xffffffff81000000ULL;
	if (k < 90)	/* runs into the guard page */
		return (uint64_t)(uintptr_t)data + DATA_LEN - (off % 64);
	if (k < 95)
		return (uint64_t)(uintptr_t)rdonly + off % 64;
	return off;
}

static uint64_t gen_len(struct th *t)
{
	uint32_t k = rn(t, 100);

	if (k < 50)
		return rn(t, 512);
	if (k < 75)
		return PICK(t, 0, 1, 4095, 4096, 4097, 8192, 65535, 65536, 65537);
	if (k < 95)
		return rn(t, DATA_LEN + 1);
	return PICK(t, 1 << 20, 4 << 20, -1, 0x7fffffff) + (rnd(t) & 1 ? 0 : (uint64_t)1 << 40);
}

static void gen_msg(struct th *t, struct m3_msg *m)
{
	m->m_source = (int)rnd(t);
	m->m_type = pct(t, 10) ? PICK(t, M3_MTYPE_NOTIFY, -1, (int)0x80000000) : (int)rn(t, 1000);
	memset(m->payload, (int)rn(t, 256), sizeof(m->payload));
}

static uint32_t gen_flags(struct th *t)
{
	return pct(t, 92) ? 0 : (uint32_t)rnd(t);
}

static uint32_t gen_pad(struct th *t)
{
	return pct(t, 95) ? 0 : 1u << rn(t, 32);
}

static void gen_ipc(struct th *t, struct m3_ipc *a, int src_side)
{
	a->ep = src_side && pct(t, 40) ? M3_ANY : gen_ep(t);
	a->timeout_ms = gen_timeout(t);
	a->flags = gen_flags(t);
	a->pad = gen_pad(t);
	gen_msg(t, &a->msg);
}

static const char *const dc_names[] = {
	"fz0", "fz1", "fz2", "fz3", "a", "hot1", "hot2", "fzsb0", "fzsb1",
	"", ".", "..", "bad/name", "x y", "123456789012345", "1234567890123456",
};

static void gen_spec(struct th *t, struct m3_dc_spec *s)
{
	const char *name = dc_names[rn(t, sizeof(dc_names) / sizeof(dc_names[0]))];
	uint32_t k = rn(t, 100);

	memset(s, 0, sizeof(*s));
	memcpy(s->name, name, strnlen(name, sizeof(s->name)));
	if (pct(t, 3))
		memset(s->name, 'z', sizeof(s->name));	/* no NUL */
	s->dcid = pct(t, 50) ? -1 : gen_dcid(t);
	s->nr_tasks = k < 85 ? rn(t, 8) : PICK(t, 0, 1, M3_MAX_TASKS - 1, M3_MAX_TASKS, M3_MAX_TASKS + 1, -1);
	k = rn(t, 100);
	s->nr_procs = k < 85 ? 1 + rn(t, 16) : PICK(t, 0, 1, 1024, M3_MAX_PROCS, M3_MAX_PROCS + 1, -1);
	s->flags = pct(t, 90) ? (uint32_t)rn(t, M3_DCF_ALL + 1) : (uint32_t)rnd(t);
	s->cpumask = pct(t, 80) ? 0 : PICK(t, 1, 2, 3, 4, 0x8000) | (pct(t, 10) ? (uint64_t)1 << 63 : 0);
	s->nodes = rnd(t);
	s->nr_sysprocs = pct(t, 80) ? 0 : rn(t, 24);
	s->pad = gen_pad(t);
}

/* the hot path of --admin-bias: dc_init or dc_end on a shared DC id */
static void gen_hot(struct th *t, int *op, void *argp)
{
	int dcid = HOT_DCID0 + (int)rn(t, 2);

	if (rn(t, 2)) {
		struct m3_dc_spec *s = argp;

		memset(s, 0, sizeof(*s));
		snprintf(s->name, sizeof(s->name), "hot%d", dcid);
		s->dcid = dcid;
		s->nr_tasks = rn(t, 4);
		s->nr_procs = 1 + rn(t, 8);
		s->flags = rn(t, 2) ? M3_DCF_SELF_BIND : 0;
		*op = OP_DC_INIT;
	} else {
		struct m3_dc_ref *r = argp;

		r->dcid = dcid;
		r->pad = 0;
		*op = OP_DC_END;
	}
}

static uint32_t gen_frame(struct th *t, uint8_t *buf, uint32_t room)
{
	struct m3_rhdr *h = (struct m3_rhdr *)buf;
	uint32_t plen = pct(t, 50) ? sizeof(struct m3_msg) : PICK(t, 0, 1, 64, 4096, 65536);

	memset(h, 0, sizeof(*h));
	h->cmd = pct(t, 90) ? 1 + rn(t, M3_CMD_MAX) : PICK(t, 0, M3_CMD_RSTATS, 200, 0xffff);
	h->flags = pct(t, 80) ? (uint16_t)rn(t, 8) : (uint16_t)rnd(t);
	h->priv = (int)rn(t, 6) - 1;
	h->dcid = gen_dcid(t);
	h->src = gen_ep(t);
	h->dst = gen_ep(t);
	h->snode = gen_node(t);
	h->dnode = gen_node(t);
	h->rcode = pct(t, 70) ? 0 : -(int)rn(t, NERR);
	h->len = pct(t, 90) ? plen : (uint32_t)rnd(t);
	h->count = (uint32_t)gen_len(t);
	h->seq = rn(t, 64);
	h->ack = rn(t, 64);
	h->timestamp = rnd(t);
	h->addr = gen_addr(t, 64);
	if (plen > room - sizeof(*h))
		plen = room - sizeof(*h);
	memset(buf + sizeof(*h), (int)rn(t, 256), plen);
	return sizeof(*h) + (pct(t, 90) ? plen : (uint32_t)rn(t, 128));
}

/* a fresh connected TCP pair on loopback into t->lk; -1 if none */
static int tcp_pair(struct th *t)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);

	if (t->lk[0] >= 0)
		close(t->lk[0]);
	if (t->lk[1] >= 0)
		close(t->lk[1]);
	t->lk[0] = t->lk[1] = -1;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (t->lfd < 0) {
		t->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (t->lfd < 0 || bind(t->lfd, (struct sockaddr *)&sa, sizeof(sa)) ||
		    listen(t->lfd, 4)) {
			if (t->lfd >= 0)
				close(t->lfd);
			t->lfd = -1;
			return -1;
		}
	}
	if (getsockname(t->lfd, (struct sockaddr *)&sa, &sl))
		return -1;
	t->lk[0] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (t->lk[0] < 0 || connect(t->lk[0], (struct sockaddr *)&sa, sizeof(sa)))
		return -1;
	t->lk[1] = accept4(t->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	return t->lk[1] < 0 ? -1 : 0;
}

/* link_set's fd: a connected TCP socket mostly, else what must be refused */
static int gen_link_fd(struct th *t)
{
	uint32_t k = rn(t, 100);
	int sv[2];

	if (k < 45)
		return tcp_pair(t) ? -1 : t->lk[0];
	if (k < 60)
		return -1;
	if (k < 68)
		return t->lfd;				/* listening: not connected */
	if (k < 76 && !socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
		close(sv[1]);				/* not TCP */
		t->tmpfd = sv[0];
		return sv[0];
	}
	if (k < 84)
		return fd;				/* the device: no socket */
	return PICK(t, -2, 0, 1, 2, 1000, 0x7fffffff);
}

/*
 * After the module took t->lk[0] as an RX link: the peer writes what a
 * forger would, a frame header with random fields and a random MAC, or
 * random bytes. The module must refuse it and close the link.
 */
static void forge_into_link(struct th *t)
{
	uint8_t b[256];
	uint32_t n = 1 + rn(t, sizeof(b)), i;

	for (i = 0; i < n; i++)
		b[i] = (uint8_t)rnd(t);
	if (pct(t, 60) && n >= 88) {
		/* magic and version right: the check goes on to the MAC */
		b[0] = 0x4d; b[1] = 0x33; b[2] = 0x49; b[3] = 0x50;
		b[4] = 0; b[5] = 2; b[6] = 0; b[7] = (uint8_t)rn(t, 13);
		b[36] = b[37] = b[38] = 0;	/* a short payload */
		b[44] = b[45] = b[46] = b[47] = 0;
	}
	if (write(t->lk[1], b, n) < 0)
		return;		/* the link may be gone already */
}

/* fills *a for op; returns the argument's size (0: no argument) */
static uint32_t gen_arg(struct th *t, int op, void *argp, uint8_t *fbuf)
{
	union {
		struct m3_ipc ipc; struct m3_reply_rcv rr; struct m3_vcopy vc;
		struct m3_getep ge; struct m3_wait4bind w4b; struct m3_dvs_init di;
		struct m3_dc_spec spec; struct m3_dc_ref ref; struct m3_dc_info dci;
		struct m3_bind bind; struct m3_unbind ub; struct m3_setpriv sp;
		struct m3_proc_info pi; struct m3_proxy_bind pb; struct m3_node_ref nr;
		struct m3_dc_node dn; struct m3_rmtbind rb; struct m3_get2rmt g2r;
		struct m3_put2lcl p2l; struct m3_link_set ls; struct m3_link_hello lh;
	} *a = argp;

	switch (op) {
	case OP_DVS_INIT:
		a->di.node_id = pct(t, 80) ? (int)rn(t, 4) : gen_node(t);
		a->di.pad = gen_pad(t);
		a->di.limits.max_dcs = pct(t, 70) ? 0 : PICK(t, 1, 2, 3, M3_MAX_DCS, M3_MAX_DCS + 1);
		a->di.limits.max_tasks = pct(t, 70) ? 0 : PICK(t, 1, 8, M3_MAX_TASKS, M3_MAX_TASKS + 1);
		a->di.limits.max_procs = pct(t, 70) ? 0 : PICK(t, 1, 16, M3_MAX_PROCS, M3_MAX_PROCS + 1);
		a->di.limits.flags = gen_flags(t);
		return sizeof(a->di);
	case OP_DVS_END:
		a->ref.dcid = pct(t, 90) ? 0 : gen_dcid(t);
		a->ref.pad = gen_pad(t);
		return sizeof(a->ref);
	case OP_DVS_INFO:
		return sizeof(struct m3_dvs_info);
	case OP_DC_INIT:
		gen_spec(t, &a->spec);
		return sizeof(a->spec);
	case OP_DC_END:
		a->ref.dcid = gen_dcid(t);
		a->ref.pad = gen_pad(t);
		return sizeof(a->ref);
	case OP_DC_INFO:
		memset(&a->dci, 0, sizeof(a->dci));
		a->dci.dcid = gen_dcid(t);
		return sizeof(a->dci);
	case OP_BIND:
		a->bind.dcid = gen_dcid(t);
		a->bind.pid = gen_pid(t);
		a->bind.p_nr = pct(t, 50) ? M3_ANY_SLOT : PICK(t, -1, -2, 0, 1, 2, 3, 7, 15, -M3_MAX_TASKS - 1, M3_MAX_PROCS);
		a->bind.endpoint = (int)rnd(t);
		return sizeof(a->bind);
	case OP_UNBIND:
		a->ub.dcid = pct(t, 40) ? t->my_dc : gen_dcid(t);
		a->ub.endpoint = gen_ep(t);
		return sizeof(a->ub);
	case OP_SETPRIV:
		a->sp.dcid = pct(t, 40) ? t->my_dc : gen_dcid(t);
		a->sp.endpoint = gen_ep(t);
		a->sp.priv = pct(t, 90) ? (int)rn(t, 5) : PICK(t, -1, 5, 100);
		a->sp.pad = gen_pad(t);
		return sizeof(a->sp);
	case OP_PROC_INFO:
		memset(&a->pi, 0, sizeof(a->pi));
		a->pi.dcid = gen_dcid(t);
		a->pi.p_nr = pct(t, 80) ? (int)rn(t, 12) - 3 : PICK(t, -M3_MAX_TASKS, -M3_MAX_TASKS - 1, M3_MAX_PROCS, 0x7fffffff);
		return sizeof(a->pi);
	case OP_PROXY_BIND:
		a->pb.node_id = gen_node(t);
		a->pb.sender_pid = pct(t, 50) ? t->tid : gen_pid(t);
		a->pb.receiver_pid = pct(t, 50) ? t->tid : gen_pid(t);
		a->pb.max_payload = pct(t, 70) ? PICK(t, M3_RMT_MIN_PAYLOAD, M3_RMT_MAX_PAYLOAD, 16384) :
			PICK(t, 0, M3_RMT_MIN_PAYLOAD - 1, M3_RMT_MAX_PAYLOAD + 1, -1);
		return sizeof(a->pb);
	case OP_PROXY_UNBIND:
	case OP_NODE_DOWN:
	case OP_NODE_UP:
		a->nr.node_id = gen_node(t);
		a->nr.flags = pct(t, 80) ? (op == OP_NODE_DOWN ? (uint32_t)rn(t, 2) : 0) : (uint32_t)rnd(t);
		return sizeof(a->nr);
	case OP_ADD_NODE:
	case OP_DEL_NODE:
		a->dn.dcid = gen_dcid(t);
		a->dn.node_id = gen_node(t);
		return sizeof(a->dn);
	case OP_RMTBIND:
		memset(&a->rb, 0, sizeof(a->rb));
		a->rb.dcid = gen_dcid(t);
		a->rb.endpoint = gen_ep(t);
		a->rb.node_id = gen_node(t);
		a->rb.pad = gen_pad(t);
		if (pct(t, 80))
			snprintf(a->rb.name, sizeof(a->rb.name), "r%u", rn(t, 100));
		else
			memset(a->rb.name, 'n', sizeof(a->rb.name));
		return sizeof(a->rb);
	case OP_GET2RMT:
		a->g2r.buflen = pct(t, 70) ? PICK(t, sizeof(struct m3_rhdr) + M3_RMT_MAX_PAYLOAD, sizeof(struct m3_rhdr) + M3_RMT_MIN_PAYLOAD, sizeof(struct m3_rhdr)) : (uint32_t)gen_len(t);
		a->g2r.buf = gen_addr(t, a->g2r.buflen);
		a->g2r.timeout_ms = gen_timeout(t);
		a->g2r.len = (uint32_t)rnd(t);
		a->g2r.node_id = (int)rnd(t);
		return sizeof(a->g2r);
	case OP_PUT2LCL: {
		uint32_t flen = gen_frame(t, fbuf, 4096 + sizeof(struct m3_rhdr));

		a->p2l.buf = pct(t, 90) ? (uint64_t)(uintptr_t)fbuf : gen_addr(t, flen);
		a->p2l.len = pct(t, 90) ? flen : (uint32_t)gen_len(t);
		a->p2l.pad = gen_pad(t);
		/* the forged header goes into the log after the struct */
		memcpy((uint8_t *)argp + sizeof(a->p2l), fbuf, sizeof(struct m3_rhdr));
		return sizeof(a->p2l);
	}
	case OP_LINK_SET: {
		uint32_t i;

		/* mostly the node this thread is a proxy of: the calls go deep */
		a->ls.node_id = t->proxy_node >= 0 && pct(t, 70) ? t->proxy_node : gen_node(t);
		a->ls.fd = gen_link_fd(t);
		a->ls.dir = pct(t, 90) ? 1 + rn(t, 2) : (uint32_t)rnd(t);
		a->ls.flags = pct(t, 80) ? rn(t, 2) : (uint32_t)rnd(t);
		a->ls.timeout_ms = pct(t, 80) ? PICK(t, 50, 200, 1000) : PICK(t, 0, 1, -1);
		a->ls.pad = gen_pad(t);
		a->ls.tx_lseq = pct(t, 70) ? rn(t, 3) : rnd(t);
		a->ls.rx_lseq = pct(t, 70) ? rn(t, 3) : rnd(t);
		for (i = 0; i < M3_LINK_KEY_LEN; i++) {
			a->ls.ktx[i] = (uint8_t)rnd(t);
			a->ls.krx[i] = (uint8_t)rnd(t);
		}
		return sizeof(a->ls);
	}
	case OP_LINK_HELLO:
		a->lh.node_id = t->proxy_node >= 0 && pct(t, 70) ? t->proxy_node : gen_node(t);
		a->lh.count = pct(t, 80) ? PICK(t, 0, M3_RMT_MIN_PAYLOAD, M3_RMT_MAX_PAYLOAD) : (uint32_t)rnd(t);
		a->lh.seq = rnd(t);
		return sizeof(a->lh);
	case OP_SEND:
	case OP_SENDREC:
	case OP_NOTIFY:
	case OP_REPLY:
		gen_ipc(t, &a->ipc, 0);
		return sizeof(a->ipc);
	case OP_RECEIVE:
	case OP_RCVRQST:
		gen_ipc(t, &a->ipc, 1);
		return sizeof(a->ipc);
	case OP_REPLY_RCV:
		a->rr.reply_ep = pct(t, 30) ? M3_NONE : gen_ep(t);
		a->rr.src = pct(t, 50) ? M3_ANY : gen_ep(t);
		a->rr.timeout_ms = gen_timeout(t);
		a->rr.flags = pct(t, 90) ? (uint32_t)rn(t, 2) : (uint32_t)rnd(t);
		a->rr.reply_result = (int)rnd(t);
		a->rr.pad = gen_pad(t);
		gen_msg(t, &a->rr.reply_msg);
		gen_msg(t, &a->rr.msg);
		return sizeof(a->rr);
	case OP_VCOPY:
		a->vc.src_ep = pct(t, 30) ? M3_SELF : gen_ep(t);
		a->vc.dst_ep = pct(t, 30) ? M3_SELF : gen_ep(t);
		a->vc.len = gen_len(t);
		a->vc.src_addr = gen_addr(t, a->vc.len);
		a->vc.dst_addr = gen_addr(t, a->vc.len);
		a->vc.copied = rnd(t);
		a->vc.timeout_ms = gen_timeout(t);
		a->vc.pad = gen_pad(t);
		return sizeof(a->vc);
	case OP_GETEP:
		memset(&a->ge, 0, sizeof(a->ge));
		a->ge.pid = gen_pid(t);
		return sizeof(a->ge);
	case OP_WAIT4BIND:
		memset(&a->w4b, 0, sizeof(a->w4b));
		a->w4b.timeout_ms = pct(t, 95) ? (int)rn(t, 10) : gen_timeout(t);
		return sizeof(a->w4b);
	case OP_RAW: {
		uint8_t *b = argp;
		uint32_t i;

		for (i = 0; i < ARGMAX; i++)
			b[i] = (uint8_t)rnd(t);
		return ARGMAX;
	}
	}
	return 0;
}

/* ---- coverage guidance ---- */

/* a 32-bit value of the kinds the generators draw */
static int mutant_word(struct th *t)
{
	switch (rn(t, 6)) {
	case 0: return gen_ep(t);
	case 1: return gen_dcid(t);
	case 2: return gen_timeout(t);
	case 3: return gen_pid(t);
	case 4: return PICK(t, 0, -1, 1, 2, 0x7fffffff, (int)0x80000000);
	default: return (int)rnd(t);
	}
}

/* the fields of a forged frame's header that a mutation redraws (not len) */
static const struct { uint8_t off, size; } rhdr_fields[] = {
	{ offsetof(struct m3_rhdr, cmd), 2 },   { offsetof(struct m3_rhdr, flags), 2 },
	{ offsetof(struct m3_rhdr, dcid), 4 },  { offsetof(struct m3_rhdr, src), 4 },
	{ offsetof(struct m3_rhdr, dst), 4 },   { offsetof(struct m3_rhdr, snode), 4 },
	{ offsetof(struct m3_rhdr, dnode), 4 }, { offsetof(struct m3_rhdr, rcode), 4 },
	{ offsetof(struct m3_rhdr, count), 4 }, { offsetof(struct m3_rhdr, seq), 8 },
	{ offsetof(struct m3_rhdr, ack), 8 },   { offsetof(struct m3_rhdr, addr), 8 },
};

/*
 * A field of a kept frame set from what the module's state says it must be
 * to pass: from the node this thread serves, to this node, for a DC that
 * node was added to, to an endpoint someone bound. The values a comparison
 * in the module checks, learned from calls that worked (as syzkaller
 * learns comparison operands); a field with nothing learned is left.
 */
static void frame_from_state(struct th *t, struct m3_rhdr *h, size_t off)
{
	uint32_t i;

	if (off == offsetof(struct m3_rhdr, snode) && t->proxy_node >= 0) {
		h->snode = t->proxy_node;
	} else if (off == offsetof(struct m3_rhdr, dnode)) {
		h->dnode = sh->node_id;
	} else if (off == offsetof(struct m3_rhdr, dcid)) {
		for (i = 0; i < 8; i++)
			if (sh->dc_nodes[i][1] == h->snode && sh->dc_nodes[i][0] > 0) {
				h->dcid = sh->dc_nodes[i][0];
				break;
			}
	} else if (off == offsetof(struct m3_rhdr, dst) || off == offsetof(struct m3_rhdr, src)) {
		int ep = sh->eps[rn(t, EPPOOL)];

		if (ep)
			memcpy((uint8_t *)h + off, &ep, sizeof(ep));
	}
}

/*
 * One to three fields of a kept frame's header drawn anew, each by the
 * generator of that field: a frame must pass the module's checks one field
 * after another (its node, the destination node, the command and its
 * length, a live DC, a bound destination...), and a kept frame that passed
 * some of them keeps those while the next is tried. Uniform draws pass all
 * of them at once only by chance.
 */
static void mutate_frame(struct th *t, struct m3_rhdr *h, uint8_t *fbuf)
{
	int i, muts = 1 + (int)rn(t, 3);

	/* a fresh header (and 64 bytes of payload at most) in the frame buffer */
	for (i = 0; i < muts; i++) {
		uint32_t f = rn(t, sizeof(rhdr_fields) / sizeof(rhdr_fields[0])), k = rn(t, 100);
		uint8_t *at = (uint8_t *)h + rhdr_fields[f].off;

		if (k < 65) {
			gen_frame(t, fbuf, sizeof(struct m3_rhdr) + 64);
			memcpy(at, fbuf + rhdr_fields[f].off, rhdr_fields[f].size);
		} else if (k < 85) {
			frame_from_state(t, h, rhdr_fields[f].off);
		} else {
			at[rn(t, rhdr_fields[f].size)] ^= (uint8_t)(1u << rn(t, 8));
		}
	}
}

/* one to three mutations of a call's argument */
static void mutate_arg(struct th *t, int op, uint8_t *a, uint32_t alen, uint8_t *fbuf)
{
	union { uint8_t b[ARGMAX]; uint64_t align; } fresh;
	int i, muts = 1 + (int)rn(t, 3);

	/* a put2lcl's header, kept after its struct (gen_arg) */
	if (op == OP_PUT2LCL && pct(t, 80)) {
		mutate_frame(t, (struct m3_rhdr *)(a + sizeof(struct m3_put2lcl)), fbuf);
		return;
	}

	for (i = 0; i < muts && alen >= 4; i++) {
		uint32_t k = rn(t, 100), at = rn(t, alen / 4) * 4;

		if (k < 50) {
			int v = mutant_word(t);

			memcpy(a + at, &v, 4);
		} else if (k < 70) {
			a[rn(t, alen)] ^= (uint8_t)(1u << rn(t, 8));
		} else if (k < 90) {	/* a word of a fresh argument of the same call */
			memset(&fresh, 0, sizeof(fresh));
			gen_arg(t, op, &fresh, fbuf);
			memcpy(a + at, fresh.b + at, 4);
		}
	}
}

/* a put2lcl's forged frame (its header kept after the struct) into this thread's buffer, which the call names */
static void frame_to_buffer(void *argp, uint8_t *fbuf)
{
	struct m3_put2lcl *p = argp;

	memcpy(fbuf, (uint8_t *)argp + sizeof(*p), sizeof(struct m3_rhdr));
	p->buf = (uint64_t)(uintptr_t)fbuf;
}

/*
 * --hints: the calls a hint pass may make again. The link calls name
 * sockets made for that one call and closed after it.
 */
static int hintable(int op)
{
	return op < OP_LINK_SET;
}

/* the newest programs (the frontier) half of the time */
static uint32_t prog_pick(struct th *t, uint32_t n)
{
	uint32_t added = __atomic_load_n(&corpus->n, __ATOMIC_RELAXED), back;

	if (pct(t, 50))
		return rn(t, n);
	back = rn(t, n < 32 ? n : 32);
	return (added - 1 - back) % PROG_CORPUS;
}

/*
 * A guided thread's next call from a corpus program: a program is started
 * on --replay per mille of the calls that follow none, mutated as a whole
 * (a call removed or a fresh one inserted) and, mostly, in one call's
 * argument. Returns 0 to draw a fresh call instead.
 */
static int prog_next(struct th *t, int *op, int *pk, void *argp, uint32_t *alen, uint8_t *fbuf)
{
	const struct pcall *c;
	uint32_t n, k;

	if (t->plan_i >= t->plan.n) {
		n = progs_count(corpus);
		if (!n || rn(t, 1000) >= opt_replay)
			return 0;
		t->plan = corpus->e[prog_pick(t, n)];
		if (t->plan.n > PROG_LEN)
			t->plan.n = PROG_LEN;
		t->plan_i = 0;
		k = rn(t, 100);
		if (k < 20 && t->plan.n > 1)
			prog_remove(&t->plan, rn(t, t->plan.n - 1));	/* never the call that reached */
		else if (k < 40)
			prog_insert_fresh(&t->plan, rn(t, t->plan.n + 1));
		t->plan_mut = pct(t, 80) ? (int)rn(t, t->plan.n) : -1;
	}
	if (t->plan_i >= t->plan.n)
		return 0;
	c = &t->plan.c[t->plan_i];
	if (c->fresh || c->op >= NOPS) {	/* raw calls are kept as fresh */
		t->plan_i++;
		return 0;
	}
	*op = c->op;
	*pk = c->pk < NPK ? c->pk : PK_GOOD;
	*alen = c->alen;
	memcpy(argp, c->arg, ARGMAX);
	/*
	 * --hints: a third of the mutations are hints instead: the call as
	 * it was kept, traced for comparisons after it ran (hint_pass). A
	 * kept program's refusals are where the next check is.
	 */
	if ((int)t->plan_i == t->plan_mut && t->kcmp && hintable(*op) && pct(t, 33))
		t->hint_req = 1;
	else if ((int)t->plan_i == t->plan_mut)
		mutate_arg(t, *op, argp, *alen, fbuf);
	t->plan_i++;
	/*
	 * What named the thread that made the program names this one: a
	 * proxy is bound to the thread it names, and a proxy's frames must
	 * come from the node it serves.
	 */
	if (*op == OP_PROXY_BIND) {
		struct m3_proxy_bind *pb = argp;

		if (pct(t, 50))
			pb->sender_pid = t->tid;
		if (pct(t, 50))
			pb->receiver_pid = t->tid;
	} else if (*op == OP_PUT2LCL && t->proxy_node >= 0 && pct(t, 50)) {
		((struct m3_rhdr *)((uint8_t *)argp + sizeof(struct m3_put2lcl)))->snode = t->proxy_node;
	}
	/* a forged frame lives in this thread's buffer; the program has its header */
	if (*op == OP_PUT2LCL && pct(t, 90))
		frame_to_buffer(argp, fbuf);
	return 1;
}

static unsigned long raw_cmd(struct th *t)
{
	uint32_t k = rn(t, 100);
	unsigned long known = ops[rn(t, OP_LINK_HELLO + 1)].cmd;
	unsigned int size = rn(t, ARGMAX + 1);

	if (k < 40)	/* a known number with another size */
		return (known & ~((unsigned long)_IOC_SIZEMASK << _IOC_SIZESHIFT)) |
		       ((unsigned long)size << _IOC_SIZESHIFT);
	if (k < 60)	/* a known number with another direction */
		return (known & ~((unsigned long)_IOC_DIRMASK << _IOC_DIRSHIFT)) |
		       ((unsigned long)rn(t, 4) << _IOC_DIRSHIFT);
	if (k < 85)	/* an unknown number of the magic */
		return _IOC(rn(t, 4), M3_IOC_MAGIC, rn(t, 256), size);
	return (unsigned long)(uint32_t)rnd(t);
}

/* ---- the log ---- */

static struct rec *rec_begin(struct th *t, int op, int pk, unsigned long cmd,
			     const void *arg, uint32_t alen, uint64_t ptr)
{
	uint64_t h = __atomic_fetch_add(&ring->heads[t->idx], 1, __ATOMIC_RELAXED);
	struct rec *r = &recs[t->idx * opt_ring + h % opt_ring];

	r->state = 0;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	r->seq = __atomic_fetch_add(&ring->seq, 1, __ATOMIC_RELAXED);
	r->t_us = now_us() - t0_us;
	r->tid = t->tid;
	r->op = op;
	r->pk = pk;
	r->cmd = cmd;
	r->ret = 0;
	r->alen = alen;
	r->thread = t->idx;
	r->ptr = ptr;
	/* put2lcl: the forged frame's header follows the struct */
	if (op == OP_PUT2LCL)
		alen += sizeof(struct m3_rhdr);
	memcpy(r->arg, arg, alen > ARGMAX ? ARGMAX : alen);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	r->state = 1;
	return r;
}

static void rec_end(struct rec *r, int ret)
{
	r->ret = ret;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	r->state = 2;
}

static void count(int op, int ret)
{
	struct opstat *s = &sh->st[my_slot][op];

	__atomic_fetch_add(&s->calls, 1, __ATOMIC_RELAXED);
	if (ret >= 0)
		__atomic_fetch_add(&s->ok, 1, __ATOMIC_RELAXED);
	else
		__atomic_fetch_add(&s->err[-ret < NERR ? -ret : NERR - 1], 1, __ATOMIC_RELAXED);
}

/* ---- the fuzzing loop ---- */

/* the first broken invariant stops the run (the parent prints it) */
static void invariant(struct th *t, const char *fmt, ...)
{
	va_list ap;

	if (__atomic_exchange_n(&sh->broken, 1, __ATOMIC_SEQ_CST))
		return;
	va_start(ap, fmt);
	vsnprintf(sh->why, sizeof(sh->why), fmt, ap);
	va_end(ap);
	sh->stop = 1;
}

static void proc_read(struct th *t, char *buf, size_t len)
{
	static const char *const top[] = { "info", "nodes", "proxies" };
	char path[96];
	int f;

	if (rn(t, 2)) {
		snprintf(path, sizeof(path), "/proc/m3ipc/%s", top[rn(t, 3)]);
	} else {
		const char *name = dc_names[rn(t, 9)];

		snprintf(path, sizeof(path), "/proc/m3ipc/dc/%s/%s", name, rn(t, 2) ? "procs" : "info");
	}
	f = open(path, O_RDONLY);
	if (f < 0)
		return;
	while (read(f, buf, len) > 0)
		;
	close(f);
}

/*
 * The call's PCs into the set; with --guided the call joins the thread's
 * history, and the history joins the corpus when the call reached new PCs
 * or edges.
 */
static void guide(struct th *t, int op, int pk, const void *arg, uint32_t alen)
{
	int fresh, fresh_edges;

	if (!t->kc)
		return;
	fresh = kcov_collect(t->kc, pcs, edges, &fresh_edges);
	if (fresh && t->kcmp && pk == PK_GOOD && hintable(op)) {
		/* a call at the frontier: what did its next check want? */
		t->hint_req = 1;
		if (t->hint_cand)
			__atomic_fetch_add(&sh->hint_fresh, 1, __ATOMIC_RELAXED);
	}
	if (fresh && swarm_pool && !t->swarm_kept) {
		swarms_add(swarm_pool, t->swarm);
		t->swarm_kept = 1;
	}
	if (!corpus)
		return;
	phist_push(&t->hist, op, pk, op == OP_RAW, arg, alen);
	if (fresh || fresh_edges)
		progs_add(corpus, &t->hist);
}

/*
 * --hints: our memory, which a hint must not aim the kernel at: this
 * program's image and heap (static, below the mappings), and the mappings
 * and stacks at the top of user space.
 */
static int hint_addr_ours(uint64_t a)
{
	extern char __executable_start;
	uint64_t lo = (uint64_t)(uintptr_t)&__executable_start, brk = (uint64_t)(uintptr_t)sbrk(0);

	return (a >= lo && a < brk + (64 << 20)) || (a >= 0x7f0000000000ULL && a < 0x800000000000ULL);
}

/* --hints: the addresses of ours a hint may aim a pointer at, those gen_addr draws */
static int hint_addr_ok(uint64_t a)
{
	uint64_t d = (uint64_t)(uintptr_t)data, ro = (uint64_t)(uintptr_t)rdonly, un = (uint64_t)(uintptr_t)unmapped;

	return (a >= d && a < d + DATA_LEN + pagesz) || (a >= ro && a < ro + pagesz) ||
	       (a >= un && a < un + pagesz);
}

/*
 * --hints: the call that just reached new PCs made once more, its
 * comparisons traced instead of its PCs; the candidates they give are the
 * thread's next calls (hint_next). A candidate that reaches new PCs is
 * traced in turn, so a frame passes the module's checks one after another.
 */
static void hint_pass(struct th *t, int op, unsigned long cmd, const uint8_t *in, uint32_t alen, uint8_t *fbuf)
{
	union { uint8_t b[ARGMAX]; uint64_t align; } a;
	/* put2lcl: the forged frame's header, kept after the struct, is looked into too */
	uint32_t mlen = alen + (op == OP_PUT2LCL ? sizeof(struct m3_rhdr) : 0);
	struct rec *r;
	int ret;

	t->hint_req = 0;
	/* in is the log's copy, which the pass's own record may come to overwrite */
	memcpy(t->hq_base, in, ARGMAX);
	in = t->hq_base;
	memcpy(a.b, in, ARGMAX);
	if (op == OP_PUT2LCL)	/* the frame it names is this thread's buffer, as it was */
		memcpy(fbuf, a.b + sizeof(struct m3_put2lcl), sizeof(struct m3_rhdr));
	if (kcov_disable(t->kc))
		return;
	if (kcov_enable_mode(t->kcmp, KCOV_TRACE_CMP)) {
		t->kcmp = NULL;
		kcov_enable(t->kc);
		return;
	}
	r = rec_begin(t, op, PK_GOOD, cmd, a.b, alen, (uint64_t)(uintptr_t)&a);
	kcov_reset(t->kcmp);
	ret = ioctl(fd, cmd, &a);
	if (ret < 0)
		ret = -errno;
	kcov_disable(t->kcmp);
	if (kcov_enable(t->kc))
		t->kc = NULL;
	rec_end(r, ret);
	count(op, ret);
	if (corpus)
		phist_push(&t->hist, op, PK_GOOD, 0, in, alen);
	if (mlen > ARGMAX)
		mlen = ARGMAX;
	hints_from_cmps(&t->hq, t->kcmp->words, KCOV_WORDS, in, mlen, rnd(t));
	hints_drop_pointers(&t->hq, in, mlen, hint_addr_ours, hint_addr_ok);
	t->hq_op = op;
	t->hq_alen = alen;
	t->hq_i = 0;
	__atomic_fetch_add(&sh->hint_passes, 1, __ATOMIC_RELAXED);
}

/* the next candidate of the last hint pass, if any is left */
static int hint_next(struct th *t, int *op, void *argp, uint32_t *alen, uint8_t *fbuf)
{
	if (t->hq_i >= t->hq.n)
		return 0;
	*op = t->hq_op;
	*alen = t->hq_alen;
	memcpy(argp, t->hq_base, ARGMAX);
	hints_apply(&t->hq, t->hq_i++, argp);
	if (*op == OP_PUT2LCL)	/* the frame, hinted too */
		frame_to_buffer(argp, fbuf);
	__atomic_fetch_add(&sh->hint_cands, 1, __ATOMIC_RELAXED);
	return 1;
}

static void one_call(struct th *t)
{
	union { uint8_t b[ARGMAX]; uint64_t align; } arg, *argp;
	static __thread uint8_t fbuf[4096 + sizeof(struct m3_rhdr)];
	uint32_t w, k, sum = 0;
	int op, pk, ret;
	unsigned long cmd;
	uint32_t alen;
	void *ptr;
	struct rec *r;

	memset(&arg, 0, sizeof(arg));
	t->remote = 0;
	if (opt_swarm && t->calls % SWARM_CALLS == 0) {
		uint64_t r1 = rnd(t), r2 = rnd(t);

		t->swarm = swarm_pool ? swarm_next(swarm_pool, opt_swarm_pool, r1, r2) : swarm_fresh(r2);
		t->swarm_kept = 0;
	}
	for (op = 0; op < NOPS; op++)
		if (!opt_swarm || (t->swarm >> op & 1))
			sum += ops[op].weight;
	pk = -1;
	t->hint_cand = 0;
	if (t->kcmp && hint_next(t, &op, &arg, &alen, fbuf)) {
		pk = PK_GOOD;
		t->hint_cand = 1;
	} else if (corpus && prog_next(t, &op, &pk, &arg, &alen, fbuf)) {
		/* a call of a corpus program */
	} else if ((!opt_swarm || (t->swarm >> SWARM_HOT & 1)) && pct(t, opt_bias)) {
		gen_hot(t, &op, &arg);
		alen = op == OP_DC_INIT ? sizeof(struct m3_dc_spec) : sizeof(struct m3_dc_ref);
	} else {
		w = rn(t, sum);
		for (op = 0; op < NOPS - 1; op++) {
			if (opt_swarm && !(t->swarm >> op & 1))
				continue;
			if (w < ops[op].weight)
				break;
			w -= ops[op].weight;
		}
		alen = gen_arg(t, op, &arg, fbuf);
	}
	cmd = op == OP_RAW ? raw_cmd(t) : ops[op].cmd;

	/* where the argument lives (a program's call: where it lived, mostly) */
	k = rn(t, 100);
	if (!t->hint_cand && (pk < 0 || k >= 90))
		pk = k < 92 ? PK_GOOD : 1 + (int)rn(t, NPK - 1);
	argp = &arg;
	switch (pk) {
	case PK_NULL:
		ptr = NULL;
		break;
	case PK_UNMAPPED:
		ptr = unmapped;
		break;
	case PK_KERNEL:
		ptr = (void *)0xffff888000001000UL;
		break;
	case PK_STRADDLE:	/* the struct's tail in the guard page */
		ptr = data + DATA_LEN - alen / 2;
		memcpy(ptr, &arg, alen / 2);
		break;
	case PK_RDONLY:		/* the kernel reads zeros, cannot write back */
		ptr = rdonly;
		break;
	default:
		ptr = argp;
	}
	/*
	 * Remote mode keeps the cluster that is fuzzed (see the top); the
	 * kernel reads zeros from the read-only page: dcid 0.
	 */
	if (opt_rdc >= 0 && (op == OP_DVS_END || op == OP_PROXY_UNBIND ||
			     (op == OP_DC_END && (((struct m3_dc_ref *)&arg)->dcid == opt_rdc ||
						  (pk == PK_RDONLY && opt_rdc == 0))))) {
		op = OP_DVS_INFO;
		alen = sizeof(struct m3_dvs_info);
		cmd = ops[op].cmd;
	}

	switch (op) {
	case OP_SIGNAL: {
		uint64_t r0 = rnd(t);
		int s = r0 % opt_procs, th = (r0 >> 8) % opt_threads;
		pid_t pid = sh->pids[s], tid = sh->tids[s][th];

		r = rec_begin(t, op, PK_GOOD, 0, &tid, sizeof(tid), (uint64_t)pid);
		if (corpus)
			phist_push(&t->hist, op, PK_GOOD, 0, NULL, 0);
		ret = 0;
		if (pid > 0 && tid > 0 && syscall(SYS_tgkill, pid, tid, SIGUSR1))
			ret = -errno;
		rec_end(r, ret);
		count(op, ret);
		return;
	}
	case OP_PROCREAD:
		r = rec_begin(t, op, PK_GOOD, 0, "", 0, 0);
		if (t->kc)
			kcov_reset(t->kc);
		proc_read(t, (char *)fbuf, sizeof(fbuf));
		guide(t, op, PK_GOOD, NULL, 0);
		rec_end(r, 0);
		count(op, 0);
		return;
	case OP_REOPEN: {
		int nfd = open(M3_DEVICE, O_RDWR);

		r = rec_begin(t, op, PK_GOOD, 0, "", 0, 0);
		ret = nfd < 0 ? -errno : 0;
		if (t->kc)
			kcov_reset(t->kc);
		if (nfd >= 0) {
			/* the old file goes while other threads may use it */
			dup2(nfd, fd);
			close(nfd);
		}
		guide(t, op, PK_GOOD, NULL, 0);
		rec_end(r, ret);
		count(op, ret);
		return;
	}
	}

	r = rec_begin(t, op, pk, cmd, &arg, alen, (uint64_t)(uintptr_t)ptr);
	if (t->kc)
		kcov_reset(t->kc);
	ret = ioctl(fd, cmd, ptr);
	if (ret < 0)
		ret = -errno;
	if (t->tmpfd >= 0) {
		close(t->tmpfd);
		t->tmpfd = -1;
	}
	/* the argument as it went in: the log's copy */
	guide(t, op, pk, r->arg, alen);
	rec_end(r, ret);
	count(op, ret);
	if (t->hint_req && t->kc && t->kcmp)
		hint_pass(t, op, cmd, r->arg, alen, fbuf);
	if (t->remote) {
		sh->rcalls[my_slot]++;
		sh->rok[my_slot] += ret >= 0;
	}

	if (ret < 0 || pk != PK_GOOD)
		return;
	/* learn from what worked */
	switch (op) {
	case OP_DVS_INFO:
		sh->node_id = ((struct m3_dvs_info *)&arg)->node_id;
		break;
	case OP_ADD_NODE: {
		uint32_t i = (t->learned++ + my_slot) % 8;

		sh->dc_nodes[i][0] = ((struct m3_dc_node *)&arg)->dcid;
		sh->dc_nodes[i][1] = ((struct m3_dc_node *)&arg)->node_id;
		break;
	}
	case OP_PROXY_BIND: {
		struct m3_proxy_bind *pb = (struct m3_proxy_bind *)&arg;

		if (pb->sender_pid == t->tid || pb->receiver_pid == t->tid)
			t->proxy_node = pb->node_id;
		break;
	}
	case OP_LINK_SET: {
		struct m3_link_set *ls = (struct m3_link_set *)&arg;

		if (ls->fd >= 0 && ls->fd == t->lk[0] && ls->dir == M3_LINK_RX)
			forge_into_link(t);
		break;
	}
	case OP_DC_INIT: {
		struct m3_dc_spec *sp = (struct m3_dc_spec *)&arg;

		sh->dcids[(t->learned++ + my_slot) % 8] = ret;
		/*
		 * Oracle: a DC just made is in one node, ours (whatever the
		 * DVS's id now), and the answer names its own dcid.
		 */
		if (sp->dcid != ret || __builtin_popcountll(sp->nodes) != 1)
			invariant(t, "dc_init answered dcid %d nodes %#llx for dcid %d", sp->dcid,
				  (unsigned long long)sp->nodes, ret);
		break;
	}
	case OP_BIND: {
		struct m3_bind *b = (struct m3_bind *)&arg;

		learn_ep(t, b->endpoint);
		if (!b->pid || b->pid == t->tid) {
			t->my_ep = b->endpoint;
			t->my_dc = b->dcid;
		}
		break;
	}
	case OP_RECEIVE:
	case OP_RCVRQST:
	case OP_SENDREC:
		learn_ep(t, ((struct m3_ipc *)&arg)->msg.m_source);
		break;
	case OP_GETEP:
		learn_ep(t, ((struct m3_getep *)&arg)->endpoint);
		if (!((struct m3_getep *)&arg)->pid) {
			t->my_ep = ((struct m3_getep *)&arg)->endpoint;
			t->my_dc = ((struct m3_getep *)&arg)->dcid;
		}
		break;
	case OP_PROC_INFO:
		learn_ep(t, ((struct m3_proc_info *)&arg)->endpoint);
		break;
	}
}

static void *thread_main(void *p)
{
	struct th *t = p;

	struct timespec ts = { 0, 0 };
	int rt = 0;

	t->tid = (int)syscall(SYS_gettid);
	sh->tids[my_slot][t->idx] = t->tid;
	/*
	 * The last --rt-threads threads of a privileged process run
	 * SCHED_FIFO and sleep 20-220 us after each call: their wakeups
	 * preempt the other threads anywhere in the kernel (preempt=full),
	 * right after a mutex_unlock() too.
	 */
	if (!my_uid && t->idx >= opt_threads - opt_rt) {
		struct sched_param sp = { .sched_priority = 1 + t->idx };

		rt = !sched_setscheduler(0, SCHED_FIFO, &sp);
	}
	if (t->kc && kcov_enable(t->kc))
		t->kc = NULL;
	if (rt)
		__atomic_fetch_or(&ring->rt_mask, 1u << t->idx, __ATOMIC_RELAXED);
	while (!sh->stop && t->calls < opt_calls && now_us() < deadline_us) {
		one_call(t);
		t->calls++;
		if (rt) {
			ts.tv_nsec = 20000 + rn(t, 200000);
			nanosleep(&ts, NULL);
		}
	}
	return NULL;
}

static void on_usr1(int sig) { (void)sig; }

static int ring_open(int slot, int inc, uint64_t pseed)
{
	char path[512], prev[512];
	size_t size = sizeof(struct ringhdr) + (size_t)opt_threads * opt_ring * sizeof(struct rec);
	int f;

	snprintf(path, sizeof(path), "%s/p%d.ring", opt_logdir, slot);
	snprintf(prev, sizeof(prev), "%s/p%d.prev.ring", opt_logdir, slot);
	rename(path, prev);
	f = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (f < 0 || ftruncate(f, size))
		return -errno;
	ring = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, f, 0);
	close(f);
	if (ring == MAP_FAILED)
		return -errno;
	memcpy(ring->magic, RING_MAGIC, 8);
	ring->data_base = (uint64_t)(uintptr_t)data;
	ring->data_len = DATA_LEN;
	ring->rdonly_base = (uint64_t)(uintptr_t)rdonly;
	ring->unmapped_base = (uint64_t)(uintptr_t)unmapped;
	ring->seed = opt_seed;
	ring->proc_seed = pseed;
	ring->slot = slot;
	ring->incarnation = inc;
	ring->nthreads = opt_threads;
	ring->ring_len = opt_ring;
	ring->pid = getpid();
	recs = (struct rec *)(ring + 1);
	return 0;
}

static void child_main(int slot, int inc, long long deadline)
{
	uint64_t pseed = opt_seed ^ ((uint64_t)slot << 32) ^ ((uint64_t)inc << 48);
	struct th th[MAXTHREADS];
	static struct kcov_thread kcs[MAXTHREADS], kcmps[MAXTHREADS];
	pthread_t pt[MAXTHREADS];
	struct sigaction sa;
	pthread_attr_t attr;
	int i;

	my_slot = slot;
	my_incarnation = inc;
	deadline_us = deadline;
	t0_us = now_us();
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;	/* no SA_RESTART: blocked calls see EINTR */
	sigaction(SIGUSR1, &sa, NULL);
	if (ring_open(slot, inc, pseed))
		_exit(10);
	/* debugfs' kcov is root's: every thread's trace is opened before setuid */
	for (i = 0; pcs && i < opt_threads; i++) {
		if (kcov_open(&kcs[i]))
			kcs[i].fd = -1;
		if (!hints_ok || kcov_open(&kcmps[i]))
			kcmps[i].fd = -1;
	}
	/* the hole must still be one, or "unmapped" calls write into our memory */
	{
		unsigned char vec;

		if (mincore(unmapped, pagesz, &vec) == 0 || errno != ENOMEM) {
			fprintf(stderr, "m3fuzz: process slot %d: the unmapped page %p is mapped\n", slot, (void *)unmapped);
			_exit(14);
		}
	}
	/* a third of the processes are unprivileged */
	my_uid = slot % 3 == 2 ? NOBODY : 0;
	if (my_uid && (setgroups(0, NULL), setresgid(NOBODY, NOBODY, NOBODY) ||
		       setresuid(NOBODY, NOBODY, NOBODY)))
		_exit(11);
	ring->uid = my_uid;
	fd = open(M3_DEVICE, O_RDWR);
	if (fd < 0)
		_exit(12);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 128 * 1024);
	for (i = 0; i < opt_threads; i++) {
		uint64_t s = pseed + i;

		memset(&th[i], 0, sizeof(th[i]));
		th[i].idx = i;
		th[i].rng = splitmix(&s) ^ i;
		th[i].lfd = th[i].lk[0] = th[i].lk[1] = th[i].tmpfd = -1;
		th[i].proxy_node = -1;
		th[i].my_dc = HOT_DCID0;
		th[i].kc = pcs && kcs[i].fd >= 0 ? &kcs[i] : NULL;
		th[i].kcmp = th[i].kc && kcmps[i].fd >= 0 ? &kcmps[i] : NULL;
		if (i && pthread_create(&pt[i], &attr, thread_main, &th[i]))
			_exit(13);
	}
	thread_main(&th[0]);
	for (i = 1; i < opt_threads; i++)
		pthread_join(pt[i], NULL);
	_exit(0);
}

/* ---- dump ---- */

static const char *errstr(int ret, char *buf, size_t len)
{
	if (ret >= 0)
		snprintf(buf, len, "%d", ret);
	else
		snprintf(buf, len, "-%s", strerrorname_np(-ret) ?: "?");
	return buf;
}

static void fmt_arg(const struct rec *r, char *o, size_t n)
{
	const void *a = r->arg;
	const struct m3_ipc *ipc = a;
	const struct m3_rhdr *h;

	switch (r->op) {
	case OP_DVS_INIT: {
		const struct m3_dvs_init *d = a;

		snprintf(o, n, "node=%d pad=%u limits={%u,%u,%u,flags=%#x}", d->node_id, d->pad,
			 d->limits.max_dcs, d->limits.max_tasks, d->limits.max_procs, d->limits.flags);
		break;
	}
	case OP_DVS_END:
	case OP_DC_END: {
		const struct m3_dc_ref *d = a;

		snprintf(o, n, "dcid=%d pad=%u", d->dcid, d->pad);
		break;
	}
	case OP_DC_INIT: {
		const struct m3_dc_spec *s = a;

		snprintf(o, n, "name=\"%.16s\" dcid=%d tasks=%u procs=%u flags=%#x cpumask=%#llx sysprocs=%u pad=%u",
			 s->name, s->dcid, s->nr_tasks, s->nr_procs, s->flags,
			 (unsigned long long)s->cpumask, s->nr_sysprocs, s->pad);
		break;
	}
	case OP_DC_INFO:
		snprintf(o, n, "dcid=%d", ((const struct m3_dc_info *)a)->dcid);
		break;
	case OP_BIND: {
		const struct m3_bind *b = a;

		snprintf(o, n, "dcid=%d pid=%d p_nr=%d", b->dcid, b->pid, b->p_nr);
		break;
	}
	case OP_UNBIND: {
		const struct m3_unbind *u = a;

		snprintf(o, n, "dcid=%d ep=%#x", u->dcid, u->endpoint);
		break;
	}
	case OP_SETPRIV: {
		const struct m3_setpriv *s = a;

		snprintf(o, n, "dcid=%d ep=%#x priv=%d pad=%u", s->dcid, s->endpoint, s->priv, s->pad);
		break;
	}
	case OP_PROC_INFO: {
		const struct m3_proc_info *p = a;

		snprintf(o, n, "dcid=%d p_nr=%d", p->dcid, p->p_nr);
		break;
	}
	case OP_PROXY_BIND: {
		const struct m3_proxy_bind *p = a;

		snprintf(o, n, "node=%d sender=%d receiver=%d max_payload=%u", p->node_id,
			 p->sender_pid, p->receiver_pid, p->max_payload);
		break;
	}
	case OP_PROXY_UNBIND:
	case OP_NODE_DOWN:
	case OP_NODE_UP: {
		const struct m3_node_ref *x = a;

		snprintf(o, n, "node=%d flags=%#x", x->node_id, x->flags);
		break;
	}
	case OP_ADD_NODE:
	case OP_DEL_NODE: {
		const struct m3_dc_node *x = a;

		snprintf(o, n, "dcid=%d node=%d", x->dcid, x->node_id);
		break;
	}
	case OP_RMTBIND: {
		const struct m3_rmtbind *x = a;

		snprintf(o, n, "dcid=%d ep=%#x node=%d pad=%u name=\"%.16s\"", x->dcid, x->endpoint,
			 x->node_id, x->pad, x->name);
		break;
	}
	case OP_GET2RMT: {
		const struct m3_get2rmt *g = a;

		snprintf(o, n, "buf=%#llx buflen=%u timeout=%d", (unsigned long long)g->buf,
			 g->buflen, g->timeout_ms);
		break;
	}
	case OP_PUT2LCL: {
		const struct m3_put2lcl *p = a;

		h = (const void *)(r->arg + sizeof(*p));
		snprintf(o, n, "buf=%#llx len=%u pad=%u frame={cmd=%u flags=%#x priv=%d dcid=%d src=%#x dst=%#x snode=%d dnode=%d rcode=%d len=%u count=%u seq=%llu ack=%llu addr=%#llx}",
			 (unsigned long long)p->buf, p->len, p->pad, h->cmd, h->flags, h->priv,
			 h->dcid, h->src, h->dst, h->snode, h->dnode, h->rcode, h->len, h->count,
			 (unsigned long long)h->seq, (unsigned long long)h->ack,
			 (unsigned long long)h->addr);
		break;
	}
	case OP_LINK_SET: {
		const struct m3_link_set *x = a;

		snprintf(o, n, "node=%d fd=%d dir=%u flags=%#x timeout=%u pad=%u tx_lseq=%llu rx_lseq=%llu",
			 x->node_id, x->fd, x->dir, x->flags, x->timeout_ms, x->pad,
			 (unsigned long long)x->tx_lseq, (unsigned long long)x->rx_lseq);
		break;
	}
	case OP_LINK_HELLO: {
		const struct m3_link_hello *x = a;

		snprintf(o, n, "node=%d count=%u seq=%llu", x->node_id, x->count,
			 (unsigned long long)x->seq);
		break;
	}
	case OP_SEND: case OP_RECEIVE: case OP_SENDREC: case OP_NOTIFY:
	case OP_RCVRQST: case OP_REPLY:
		snprintf(o, n, "ep=%#x timeout=%d flags=%#x pad=%u m_type=%d", ipc->ep,
			 ipc->timeout_ms, ipc->flags, ipc->pad, ipc->msg.m_type);
		break;
	case OP_REPLY_RCV: {
		const struct m3_reply_rcv *x = a;

		snprintf(o, n, "reply_ep=%#x src=%#x timeout=%d flags=%#x pad=%u", x->reply_ep,
			 x->src, x->timeout_ms, x->flags, x->pad);
		break;
	}
	case OP_VCOPY: {
		const struct m3_vcopy *v = a;

		snprintf(o, n, "src_ep=%#x dst_ep=%#x src=%#llx dst=%#llx len=%llu timeout=%d pad=%u",
			 v->src_ep, v->dst_ep, (unsigned long long)v->src_addr,
			 (unsigned long long)v->dst_addr, (unsigned long long)v->len,
			 v->timeout_ms, v->pad);
		break;
	}
	case OP_GETEP:
		snprintf(o, n, "pid=%d", ((const struct m3_getep *)a)->pid);
		break;
	case OP_WAIT4BIND:
		snprintf(o, n, "timeout=%d", ((const struct m3_wait4bind *)a)->timeout_ms);
		break;
	case OP_SIGNAL:
		snprintf(o, n, "SIGUSR1 to pid %llu tid %d", (unsigned long long)r->ptr, *(const int *)a);
		break;
	default:
		o[0] = 0;
	}
}

static int cmp_seq(const void *x, const void *y)
{
	const struct rec *a = *(struct rec *const *)x, *b = *(struct rec *const *)y;

	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static int opt_raw;	/* --dump --raw: every field, for tools (harness/fuzz/) */

static void dump_raw(const struct ringhdr *h, struct rec **v, size_t nv)
{
	size_t i;
	uint32_t j;

	printf("ring slot=%u inc=%u pid=%d uid=%d nthreads=%u ring_len=%u seed=%llu calls=%llu data=%#llx data_len=%llu rdonly=%#llx unmapped=%#llx rt_mask=%#x\n",
	       h->slot, h->incarnation, h->pid, h->uid, h->nthreads, h->ring_len,
	       (unsigned long long)h->seed, (unsigned long long)h->seq,
	       (unsigned long long)h->data_base, (unsigned long long)h->data_len,
	       (unsigned long long)h->rdonly_base, (unsigned long long)h->unmapped_base, h->rt_mask);
	for (i = 0; i < nv; i++) {
		const struct rec *r = v[i];

		printf("call %llu %u %d %s %#x %s %u %d %u %#llx ", (unsigned long long)r->seq, r->thread, r->tid,
		       ops[r->op < NOPS ? r->op : OP_RAW].name, r->cmd, pknames[r->pk < NPK ? r->pk : 0],
		       r->state, r->ret, r->alen, (unsigned long long)r->ptr);
		for (j = 0; j < (r->alen > ARGMAX ? ARGMAX : r->alen); j++)
			printf("%02x", r->arg[j]);
		printf("\n");
	}
}

static int dump_file(const char *path, int last)
{
	struct ringhdr *h;
	struct rec **v;
	struct stat st;
	size_t i, nv = 0, total;
	char args[512], eb[48];
	void *m;
	int f;

	f = open(path, O_RDONLY);
	if (f < 0 || fstat(f, &st) || (size_t)st.st_size < sizeof(*h))
		return -1;
	m = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, f, 0);
	close(f);
	if (m == MAP_FAILED)
		return -1;
	h = m;
	total = (size_t)h->nthreads * h->ring_len;
	if (memcmp(h->magic, RING_MAGIC, 8) || h->nthreads > MAXTHREADS ||
	    sizeof(*h) + total * sizeof(struct rec) > (size_t)st.st_size) {
		munmap(m, st.st_size);
		return -1;
	}
	if (!opt_raw)
		printf("== %s: seed %llu, process slot %u incarnation %u, pid %d, uid %d, %u threads, %llu calls\n",
	       path, (unsigned long long)h->seed, h->slot, h->incarnation, h->pid, h->uid,
	       h->nthreads, (unsigned long long)h->seq);
	v = calloc(total, sizeof(*v));
	for (i = 0; v && i < total; i++) {
		struct rec *r = (struct rec *)(h + 1) + i;

		if (r->state)
			v[nv++] = r;
	}
	if (v)
		qsort(v, nv, sizeof(*v), cmp_seq);
	if (opt_raw && v) {
		size_t from = (last > 0 && nv > (size_t)last) ? nv - last : 0;

		dump_raw(h, v + from, nv - from);
		nv = 0;
	}
	for (i = (last > 0 && nv > (size_t)last) ? nv - last : 0; v && i < nv; i++) {
		struct rec *r = v[i];

		fmt_arg(r, args, sizeof(args));
		printf("#%llu +%.3fs t%u tid %d %s cmd=%#x ptr=%s(%#llx) %s -> %s\n",
		       (unsigned long long)r->seq, r->t_us / 1e6, r->thread, r->tid,
		       ops[r->op < NOPS ? r->op : OP_RAW].name, r->cmd, pknames[r->pk < NPK ? r->pk : 0], (unsigned long long)r->ptr, args,
		       r->state == 2 ? errstr(r->ret, eb, sizeof(eb)) : "(still in the call)");
	}
	free(v);
	munmap(m, st.st_size);
	return 0;
}

static int dump_dir(const char *dir, int last)
{
	struct dirent **names;
	char path[1024];
	int i, n, found = 0;

	n = scandir(dir, &names, NULL, alphasort);
	if (n < 0) {
		fprintf(stderr, "m3fuzz: %s: %s\n", dir, strerror(errno));
		return 1;
	}
	for (i = 0; i < n; i++) {
		size_t l = strlen(names[i]->d_name);

		if (l > 5 && !strcmp(names[i]->d_name + l - 5, ".ring")) {
			snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
			if (!dump_file(path, last))
				found++;
		}
		free(names[i]);
	}
	free(names);
	return found ? 0 : 1;
}

/* ---- the parent ---- */

/* the parent's own copy: it never kills a pid read from the shared page */
static pid_t cpids[MAXPROCS];

/* the calls all processes made so far (--total-calls) */
static uint64_t calls_made(void)
{
	uint64_t n = 0;
	int i, o;

	for (i = 0; i < MAXPROCS; i++)
		for (o = 0; o < NOPS; o++)
			n += __atomic_load_n(&sh->st[i][o].calls, __ATOMIC_RELAXED);
	return n;
}

static pid_t spawn(int slot, int inc, long long deadline)
{
	pid_t pid;

	fflush(stdout);
	memset((void *)sh->tids[slot], 0, sizeof(sh->tids[slot]));
	pid = fork();
	if (!pid)
		child_main(slot, inc, deadline);
	if (pid > 0) {
		sh->pids[slot] = pid;
		cpids[slot] = pid;
	}
	return pid;
}

static void setup_dvs(void)
{
	struct m3_dvs_info di;
	struct m3_dc_spec s;
	int i, f = open(M3_DEVICE, O_RDWR);

	if (f < 0) {
		fprintf(stderr, "m3fuzz: %s: %s\n", M3_DEVICE, strerror(errno));
		exit(2);
	}
	memset(&di, 0, sizeof(di));
	if (!ioctl(f, M3_IOC_DVS_INFO, &di) && !di.initialized) {
		struct m3_dvs_init in;

		memset(&in, 0, sizeof(in));
		ioctl(f, M3_IOC_DVS_INIT, &in);
	}
	/* the setup: two DCs any process may bind itself into */
	for (i = 0; i < 2; i++) {
		memset(&s, 0, sizeof(s));
		snprintf(s.name, sizeof(s.name), "fzsb%d", i);
		s.dcid = -1;
		s.nr_tasks = 2;
		s.nr_procs = 8;
		s.flags = M3_DCF_SELF_BIND;
		ioctl(f, M3_IOC_DC_INIT, &s);
	}
	close(f);
}

/* --cover: the shared PC set, and the corpus with --guided; or why not */
static void cover_setup(void)
{
	struct kcov_thread probe;
	int e;

	e = kcov_open(&probe);
	if (e) {
		snprintf(cover_why, sizeof(cover_why), "%s: %s%s", KCOV_PATH, strerror(-e),
			 e == -ENOENT ? " (a kernel without CONFIG_KCOV, or no debugfs)" : "");
		return;
	}
	/* --hints: does this kernel trace comparisons (CONFIG_KCOV_ENABLE_COMPARISONS)? */
	if (opt_hints) {
		e = kcov_enable_mode(&probe, KCOV_TRACE_CMP);
		if (e)
			snprintf(hints_why, sizeof(hints_why), "KCOV_TRACE_CMP: %s%s", strerror(-e),
				 e == -KERNEL_ENOTSUPP ? " (a kernel without CONFIG_KCOV_ENABLE_COMPARISONS)" : "");
		else
			kcov_disable(&probe);
		hints_ok = !e;
	}
	munmap(probe.words, KCOV_WORDS * sizeof(uint64_t));
	close(probe.fd);
	pcs = mmap(NULL, sizeof(*pcs), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (pcs == MAP_FAILED) {
		pcs = NULL;
		snprintf(cover_why, sizeof(cover_why), "mmap: %s", strerror(errno));
		return;
	}
	if (opt_guided) {
		corpus = mmap(NULL, sizeof(*corpus), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (opt_swarm)
			swarm_pool = mmap(NULL, sizeof(*swarm_pool), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (opt_edges)
			edges = mmap(NULL, sizeof(*edges), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (corpus == MAP_FAILED || edges == MAP_FAILED || swarm_pool == MAP_FAILED) {
			fprintf(stderr, "m3fuzz: --guided: mmap: %s\n", strerror(errno));
			exit(2);
		}
	}
}

static const char *mode_name(void)
{
	static char name[32];

	snprintf(name, sizeof(name), "%s%s", corpus ? (opt_swarm ? "guided+swarm" : "guided") :
		 opt_swarm ? "swarm" : "random", hints_ok ? "+hints" : "");
	return name;
}

/*
 * The PCs go to --cover FILE with the module's section addresses (root reads
 * them from sysfs): the host maps each PC to a section and an offset of the
 * m3ipc.ko it built, and from there to a source line.
 */
static void cover_report(const char *timeline)
{
	struct dirent **names;
	FILE *f;
	int i, n;

	if (!pcs) {
		printf("m3fuzz: coverage unavailable: %s\n", cover_why);
		return;
	}
	printf("m3fuzz: coverage (%s): %llu distinct PCs of the module; timeline%s\n",
	       mode_name(), (unsigned long long)pcs->count, timeline);
	if (pcs->full || pcs->overflow)
		printf("m3fuzz: coverage lost: %llu PCs (set full), %llu calls whose trace overflowed\n",
		       (unsigned long long)pcs->full, (unsigned long long)pcs->overflow);
	if (corpus)
		printf("m3fuzz: corpus: %u programs reached new PCs%s\n", corpus->n, edges ? " or edges" : "");
	if (swarm_pool)
		printf("m3fuzz: swarm pool: %u configurations reached new PCs\n", swarm_pool->n);
	if (opt_hints && !hints_ok)
		printf("m3fuzz: hints unavailable: %s\n", hints_why);
	else if (opt_hints)
		printf("m3fuzz: hints: %ld calls traced for comparisons, %ld candidates made, %ld of them reached new PCs\n",
		       sh->hint_passes, sh->hint_cands, sh->hint_fresh);
	if (edges)
		printf("m3fuzz: %llu distinct edges\n", (unsigned long long)edges->count);
	f = fopen(opt_cover, "w");
	if (!f) {
		printf("m3fuzz: %s: %s\n", opt_cover, strerror(errno));
		return;
	}
	fprintf(f, "# m3fuzz coverage: seed %llu, %s, %llu PCs\n", (unsigned long long)opt_seed,
		mode_name(), (unsigned long long)pcs->count);
	/*
	 * KCOV subtracts the KASLR offset from every PC, module PCs too: the
	 * kernel's _text says what it is (root reads kallsyms' real values).
	 */
	{
		FILE *ks = fopen("/proc/kallsyms", "r");
		char line[256];

		while (ks && fgets(line, sizeof(line), ks))
			if (strstr(line, " _text\n")) {
				fprintf(f, "kernel _text 0x%.*s\n", (int)strcspn(line, " "), line);
				break;
			}
		if (ks)
			fclose(ks);
	}
	n = scandir("/sys/module/m3ipc/sections", &names, NULL, alphasort);
	for (i = 0; i < n; i++) {
		char path[512], val[64] = "";
		FILE *s;

		snprintf(path, sizeof(path), "/sys/module/m3ipc/sections/%s", names[i]->d_name);
		s = names[i]->d_name[0] == '.' && strcmp(names[i]->d_name, ".") && strcmp(names[i]->d_name, "..") ?
		    fopen(path, "r") : NULL;
		if (s && fgets(val, sizeof(val), s))
			fprintf(f, "section %s %s", names[i]->d_name, val);
		if (s)
			fclose(s);
		free(names[i]);
	}
	if (n >= 0)
		free(names);
	for (i = 0; i < (int)PCSET_SIZE; i++)
		if (pcs->slot[i])
			fprintf(f, "pc %#llx\n", (unsigned long long)pcs->slot[i]);
	fclose(f);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: m3fuzz [--seed N] [--procs N] [--threads N] [--seconds S] [--calls N] [--total-calls N]\n"
		"              [--log-dir DIR] [--ring N] [--admin-bias PCT] [--kill-ms MS]\n"
		"              [--rt-threads N] [--no-stop-on-report]\n"
		"              [--swarm] [--cover FILE [--guided [--replay PERMILLE] [--edges] [--swarm-pool PCT]] [--hints]]\n"
		"              [--remote-dc DCID --remote-ep EP [--remote-ep EP ...]]\n"
		"       m3fuzz --dump DIR [--last N] [--raw]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "seed", 1, 0, 's' }, { "procs", 1, 0, 'p' }, { "threads", 1, 0, 't' },
		{ "seconds", 1, 0, 'S' }, { "calls", 1, 0, 'c' }, { "log-dir", 1, 0, 'l' },
		{ "ring", 1, 0, 'r' }, { "admin-bias", 1, 0, 'b' }, { "kill-ms", 1, 0, 'k' },
		{ "rt-threads", 1, 0, 'R' }, { "no-stop-on-report", 0, 0, 'n' }, { "dump", 1, 0, 'd' }, { "last", 1, 0, 'L' },
		{ "remote-dc", 1, 0, 'D' }, { "remote-ep", 1, 0, 'E' },
		{ "cover", 1, 0, 'C' }, { "guided", 0, 0, 'G' }, { "raw", 0, 0, 'W' },
		{ "replay", 1, 0, 'P' }, { "edges", 0, 0, 'e' },
		{ "swarm", 0, 0, 'w' }, { "swarm-pool", 1, 0, 'X' }, { "total-calls", 1, 0, 'T' }, { "hints", 0, 0, 'H' },
		{ 0 }
	};
	const char *dump = NULL, *report = NULL;
	int o, i, last = 0, kfd, hung = 0, alive;
	int incarn[MAXPROCS] = { 0 };
	uint64_t prng, total = 0, tot_ok = 0;
	long long start, deadline, next_kill, t_report = -1, next_tick;
	static char timeline[8192];
	size_t tl_len = 0;
	unsigned long kills = 0, respawns = 0;
	char kbuf[2048];
	struct stat st;

	opt_seed = (uint64_t)time(NULL) ^ getpid();
	while ((o = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (o) {
		case 's': opt_seed = strtoull(optarg, NULL, 0); break;
		case 'p': opt_procs = atoi(optarg); break;
		case 't': opt_threads = atoi(optarg); break;
		case 'S': opt_seconds = atoi(optarg); break;
		case 'c': opt_calls = atol(optarg); break;
		case 'l': opt_logdir = optarg; break;
		case 'r': opt_ring = atoi(optarg); break;
		case 'b': opt_bias = atoi(optarg); break;
		case 'k': opt_kill_ms = atoi(optarg); break;
		case 'R': opt_rt = atoi(optarg); break;
		case 'n': opt_stop_on_report = 0; break;
		case 'd': dump = optarg; break;
		case 'L': last = atoi(optarg); break;
		case 'D': opt_rdc = atoi(optarg); break;
		case 'C': opt_cover = optarg; break;
		case 'G': opt_guided = 1; break;
		case 'P': opt_replay = atoi(optarg); break;
		case 'e': opt_edges = 1; break;
		case 'w': opt_swarm = 1; break;
		case 'X': opt_swarm_pool = atoi(optarg); break;
		case 'H': opt_hints = 1; break;
		case 'T': opt_total_calls = atoll(optarg); break;
		case 'W': opt_raw = 1; break;
		case 'E':
			if (opt_nreps == 8)
				usage();
			opt_reps[opt_nreps++] = (int)strtol(optarg, NULL, 0);
			break;
		default: usage();
		}
	}
	if (dump)
		return !stat(dump, &st) && S_ISREG(st.st_mode) ? -dump_file(dump, last) : dump_dir(dump, last);
	if (opt_procs < 1 || opt_procs > MAXPROCS || opt_threads < 1 || opt_threads > MAXTHREADS ||
	    opt_seconds < 1 || opt_seconds > 24 * 3600 || opt_ring < 1 || opt_ring > 65536 ||
	    opt_calls < 1 || opt_bias < 0 || opt_bias > 100 || opt_kill_ms < 0 || opt_rt < 0 ||
	    (opt_rdc >= 0) != (opt_nreps > 0) || opt_rdc >= M3_MAX_DCS || (opt_guided && !opt_cover) || (opt_hints && !opt_cover) ||
	    opt_swarm_pool < 0 || opt_swarm_pool > 100 || opt_total_calls < 0)
		usage();

	/* the number other tools parse first */
	printf("m3fuzz: seed %llu procs %d threads %d seconds %d calls/thread %ld admin-bias %d%% kill-ms %d rt-threads %d log-dir %s\n",
	       (unsigned long long)opt_seed, opt_procs, opt_threads, opt_seconds, opt_calls,
	       opt_bias, opt_kill_ms, opt_rt, opt_logdir);
	if (opt_nreps) {
		printf("m3fuzz: remote mode: dc %d, endpoints", opt_rdc);
		for (i = 0; i < opt_nreps; i++)
			printf(" %d", opt_reps[i]);
		printf("\n");
	}
	fflush(stdout);

	pagesz = sysconf(_SC_PAGESIZE);
	if (mkdir(opt_logdir, 0755) && errno != EEXIST)
		return fprintf(stderr, "m3fuzz: %s: %s\n", opt_logdir, strerror(errno)), 2;
	chmod(opt_logdir, 0777);	/* the unprivileged processes write there too */
	if (stat(opt_logdir, &st))
		return 2;
	if (opt_cover)
		cover_setup();
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	data = mmap(NULL, DATA_LEN + pagesz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	rdonly = mmap(NULL, pagesz, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	/*
	 * The hole: one page unmapped between two PROT_NONE pages. A hole at
	 * the edge of the free area was taken by the next mapping (a ring, the
	 * PC set), and calls with an "unmapped" pointer wrote into it; every
	 * later mapping is larger than the one page left.
	 */
	unmapped = mmap(NULL, 3 * pagesz, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED || data == MAP_FAILED || rdonly == MAP_FAILED || unmapped == MAP_FAILED)
		return perror("mmap"), 2;
	unmapped += pagesz;
	munmap(unmapped, pagesz);
	mprotect(data + DATA_LEN, pagesz, PROT_NONE);
	memset(data, 0xa5, DATA_LEN);
	for (i = 0; i < 8; i++)
		sh->dcids[i] = -1;

	kfd = opt_stop_on_report ? open("/dev/kmsg", O_RDONLY | O_NONBLOCK) : -1;
	if (kfd >= 0)
		lseek(kfd, 0, SEEK_END);
	setup_dvs();

	prng = opt_seed ^ 0x6b696c6cULL;
	start = now_us();
	deadline = start + opt_seconds * 1000000LL;
	next_tick = start + 5000000;
	next_kill = start + (opt_kill_ms ? (long long)(splitmix(&prng) % (2 * opt_kill_ms) + 1) * 1000 : deadline);
	for (i = 0; i < opt_procs; i++)
		if (spawn(i, 0, deadline) < 0)
			return perror("fork"), 2;

	/* supervise: kill and respawn, watch the kernel log; bounded by the deadline */
	while (now_us() < deadline) {
		int stt;
		pid_t pid;

		usleep(20000);
		if (pcs && now_us() >= next_tick) {
			tl_len += snprintf(timeline + tl_len, sizeof(timeline) - tl_len < 32 ? 0 : sizeof(timeline) - tl_len,
					   " %llds:%llu", (next_tick - start) / 1000000,
					   (unsigned long long)__atomic_load_n(&pcs->count, __ATOMIC_RELAXED));
			next_tick += 5000000;
		}
		if ((report = kmsg_report(kfd, kbuf, sizeof(kbuf))) || sh->broken) {
			t_report = now_us() - start;
			break;
		}
		if (opt_total_calls && calls_made() >= (uint64_t)opt_total_calls)
			break;
		if (opt_kill_ms && now_us() >= next_kill) {
			int s = splitmix(&prng) % opt_procs;

			if (cpids[s] > 0 && !kill(cpids[s], SIGKILL))
				kills++;
			next_kill = now_us() + (long long)(splitmix(&prng) % (2 * opt_kill_ms) + 1) * 1000;
		}
		while ((pid = waitpid(-1, &stt, WNOHANG)) > 0) {
			for (i = 0; i < opt_procs; i++) {
				if (cpids[i] != pid)
					continue;
				sh->pids[i] = 0;
				cpids[i] = 0;
				/* a killed process comes back; one that made its --calls is done */
				if (WIFSIGNALED(stt) && now_us() < deadline - 200000 &&
				    spawn(i, ++incarn[i], deadline) > 0)
					respawns++;
			}
		}
		for (alive = 0, i = 0; i < opt_procs; i++)
			alive += cpids[i] > 0;
		if (!alive)
			break;
	}

	/* stop: ask, then kill what still runs; a process that survives SIGKILL is stuck in the kernel */
	sh->stop = 1;
	stop_children(cpids, opt_procs, 50, 250);	/* 2 s asking, then SIGKILL, 10 s more at most */
	for (i = 0; i < opt_procs; i++)
		if (cpids[i] > 0) {
			printf("m3fuzz: process slot %d (pid %d) did not die after SIGKILL: stuck in the kernel\n",
			       i, cpids[i]);
			print_stacks(cpids[i], "m3fuzz:   ");
			hung++;
		}
	if (!report)
		report = kmsg_report(kfd, kbuf, sizeof(kbuf));

	printf("%-13s %10s %10s  %s\n", "call", "calls", "ok", "errors (most frequent)");
	for (o = 0; o < NOPS; o++) {
		uint64_t c = 0, ok = 0, err[NERR] = { 0 };
		char line[256] = "";
		int e, shown;

		for (i = 0; i < MAXPROCS; i++) {
			c += sh->st[i][o].calls;
			ok += sh->st[i][o].ok;
			for (e = 0; e < NERR; e++)
				err[e] += sh->st[i][o].err[e];
		}
		for (shown = 0; shown < 4; shown++) {
			int best = -1;

			for (e = 1; e < NERR; e++)
				if (err[e] && (best < 0 || err[e] > err[best]))
					best = e;
			if (best < 0)
				break;
			snprintf(line + strlen(line), sizeof(line) - strlen(line), "%s%s %llu",
				 shown ? ", " : "", strerrorname_np(best) ?: "?", (unsigned long long)err[best]);
			err[best] = 0;
		}
		total += c;
		tot_ok += ok;
		printf("%-13s %10llu %10llu  %s\n", ops[o].name, (unsigned long long)c,
		       (unsigned long long)ok, line);
	}
	{
		double secs = (now_us() - start) / 1e6;

		printf("m3fuzz: %llu calls (%llu ok) in %.1f s, %.0f calls/s; %lu kills, %lu respawns; seed %llu\n",
		       (unsigned long long)total, (unsigned long long)tot_ok, secs, total / secs,
		       kills, respawns, (unsigned long long)opt_seed);
	}
	if (opt_nreps) {
		long rc = 0, ro = 0;

		for (i = 0; i < MAXPROCS; i++) {
			rc += sh->rcalls[i];
			ro += sh->rok[i];
		}
		printf("m3fuzz: remote: %ld calls named an endpoint of another node (dc %d), %ld ok\n", rc, opt_rdc, ro);
	}
	if (opt_cover)
		cover_report(timeline);
	if (sh->broken)
		printf("m3fuzz: invariant broken after %.1f s: %s\n", t_report >= 0 ? t_report / 1e6 : (now_us() - start) / 1e6, sh->why);
	if (report) {
		printf("m3fuzz: kernel report after %.1f s: %s\n", t_report >= 0 ? t_report / 1e6 : (now_us() - start) / 1e6, report);
		return 3;
	}
	if (sh->broken)
		return 5;
	return hung ? 4 : 0;
}
