/*
 * The runtime of a reproducer written by `m3lab fuzz minimize` (see
 * harness/fuzz/repro.ts): the tables above it are the calls the fuzzer's
 * processes and threads made; this part replays each thread's calls in a
 * loop, all at once, for a bounded time, and says in TAP whether the kernel
 * printed a report meanwhile.
 *
 *   PROGRAM [SECONDS]
 *
 * Memory the calls point into is mapped again at the addresses the fuzzer
 * had (its data area with a guard page, a read-only page, a hole), so the
 * pointers inside the recorded arguments mean what they meant. The program
 * leaves the module as it found it: the DCs it made are ended, and a DVS
 * that a recorded dvs_end took away is initialized again with its node id.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define R_MAXTHREADS	8
#define R_ARGMAX	256
#define R_NOBODY	65534

struct r_shared {
	volatile int stop;
	long calls;
	volatile int tids[R_MAXTHREADS];
};

static struct r_shared *r_sh;
static int r_fd = -1;
static const struct r_proc *r_me;

static long long r_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

static int r_in(uint64_t p, uint64_t base, uint64_t len)
{
	return p >= base && p < base + len;
}

static void r_call(const struct r_call *c, uint8_t *buf, uint8_t *frame, unsigned int *seed)
{
	uint64_t ptr = c->ptr;

	switch (c->kind) {
	case R_SIGNAL: {
		int tid = r_sh->tids[rand_r(seed) % r_me->nthreads];

		if (tid > 0)
			syscall(SYS_tgkill, getpid(), tid, SIGUSR1);
		return;
	}
	case R_PROCREAD: {
		static const char *const files[] = { "/proc/m3ipc/info", "/proc/m3ipc/nodes", "/proc/m3ipc/proxies" };
		char tmp[4096];
		int f = open(files[rand_r(seed) % 3], O_RDONLY);

		while (f >= 0 && read(f, tmp, sizeof(tmp)) > 0)
			;
		if (f >= 0)
			close(f);
		return;
	}
	case R_REOPEN: {
		int nfd = open(M3_DEVICE, O_RDWR);

		if (nfd >= 0) {
			dup2(nfd, r_fd);
			close(nfd);
		}
		return;
	}
	}
	switch (c->pk) {
	case R_PK_GOOD:
		memcpy(buf, c->arg, c->alen);
		/* a forged frame: its header follows the struct; the fuzzer's buffer was its own */
		if (c->cmd == M3_IOC_PUT2LCL) {
			struct m3_put2lcl *p = (struct m3_put2lcl *)buf;

			if (!r_in(p->buf, REC_DATA, REC_DATA_LEN + 4096) && !r_in(p->buf, REC_RDONLY, 4096) &&
			    !r_in(p->buf, REC_UNMAPPED, 4096)) {
				memcpy(frame, c->arg + sizeof(*p), c->alen - sizeof(*p));
				p->buf = (uint64_t)(uintptr_t)frame;
			}
		}
		ptr = (uint64_t)(uintptr_t)buf;
		break;
	case R_PK_STRADDLE:	/* the struct's head before the guard page */
		if (r_in(ptr, REC_DATA, REC_DATA_LEN))
			memcpy((void *)(uintptr_t)ptr, c->arg, REC_DATA + REC_DATA_LEN - ptr);
		break;
	default:
		break;
	}
	ioctl(r_fd, c->cmd, (void *)(uintptr_t)ptr);
}

struct r_arg {
	int idx;
	long long deadline;
};

static void *r_thread(void *p)
{
	struct r_arg *a = p;
	const struct r_thread *t = &r_me->threads[a->idx];
	uint8_t buf[R_ARGMAX] __attribute__((aligned(8)));
	static __thread uint8_t frame[8192] __attribute__((aligned(8)));
	unsigned int seed = 1 + a->idx;
	struct timespec ts = { 0, 0 };
	int rt = 0, i;

	r_sh->tids[a->idx] = (int)syscall(SYS_gettid);
	/* as in the fuzzer: a SCHED_FIFO thread that sleeps 20-220 us between calls */
	if (t->rt && !r_me->uid) {
		struct sched_param sp = { .sched_priority = 1 + a->idx };

		rt = !sched_setscheduler(0, SCHED_FIFO, &sp);
	}
	while (!r_sh->stop && r_now_us() < a->deadline) {
		for (i = 0; i < t->ncalls && !r_sh->stop; i++) {
			r_call(&t->calls[i], buf, frame, &seed);
			__atomic_fetch_add(&r_sh->calls, 1, __ATOMIC_RELAXED);
			if (rt) {
				ts.tv_nsec = 20000 + rand_r(&seed) % 200000;
				nanosleep(&ts, NULL);
			}
		}
	}
	return NULL;
}

static void r_on_usr1(int sig)
{
	(void)sig;
}

static void r_child(const struct r_proc *p, long long deadline)
{
	pthread_t pt[R_MAXTHREADS];
	struct r_arg args[R_MAXTHREADS];
	struct sigaction sa;
	int i;

	r_me = p;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = r_on_usr1;	/* no SA_RESTART: blocked calls see EINTR */
	sigaction(SIGUSR1, &sa, NULL);
	if (p->uid && (setgroups(0, NULL) || setresgid(R_NOBODY, R_NOBODY, R_NOBODY) ||
		       setresuid(R_NOBODY, R_NOBODY, R_NOBODY)))
		_exit(11);
	r_fd = open(M3_DEVICE, O_RDWR);
	if (r_fd < 0)
		_exit(12);
	for (i = 0; i < p->nthreads; i++) {
		args[i].idx = i;
		args[i].deadline = deadline;
		if (i && pthread_create(&pt[i], NULL, r_thread, &args[i]))
			_exit(13);
	}
	r_thread(&args[0]);
	for (i = 1; i < p->nthreads; i++)
		pthread_join(pt[i], NULL);
	_exit(0);
}

/* the DVS as this node's: the calls replayed may have ended it */
static void r_dvs_init(int f, int node_id)
{
	struct m3_dvs_init in;

	memset(&in, 0, sizeof(in));
	in.node_id = node_id;
	ioctl(f, M3_IOC_DVS_INIT, &in);
}

/* kmsg_report(), stop_children() and print_stacks(): kmod/tests/fuzz_kmsg.h, pasted above by repro.ts */

/* the rest of the report (its call trace names the function), as TAP comments */
static void r_print_report(int kfd)
{
	char buf[1024];
	long long end = r_now_us() + 500000;
	int lines = 0;
	ssize_t n;

	while (kfd >= 0 && lines < 60 && r_now_us() < end) {
		n = read(kfd, buf, sizeof(buf) - 1);
		if (n < 0 && errno == EAGAIN) {
			usleep(20000);
			continue;
		}
		if (n <= 0 && errno != EPIPE)
			break;
		if (n <= 0)
			continue;
		buf[n] = 0;
		buf[strcspn(buf, "\n")] = 0;
		printf("# report: %s\n", strchr(buf, ';') ? strchr(buf, ';') + 1 : buf);
		lines++;
	}
}

/* which dcids exist now: a bitmap over 0..63 */
static uint64_t r_live_dcs(int f)
{
	uint64_t live = 0;
	int d;

	for (d = 0; d < M3_MAX_DCS && d < 64; d++) {
		struct m3_dc_info di;

		memset(&di, 0, sizeof(di));
		di.dcid = d;
		if (!ioctl(f, M3_IOC_DC_INFO, &di))
			live |= 1ULL << d;
	}
	return live;
}

int main(int argc, char **argv)
{
	int seconds = argc > 1 ? atoi(argv[1]) : REPRO_SECONDS;
	pid_t pids[64];
	struct m3_dvs_info before, after;
	uint64_t live0, live1;
	const char *report = NULL;
	char kbuf[2048];
	long long start, deadline, t_report = 0;
	int i, f, kfd, stuck = 0, alive;
	long page = sysconf(_SC_PAGESIZE);
	void *m;

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("1..1\n# %s\n", REPRO_WHAT);
	if (seconds < 1 || seconds > 3600 || repro_nprocs > 64) {
		printf("Bail out! usage: %s [SECONDS 1-3600]\n", argv[0]);
		return 2;
	}
	/* the fuzzer's memory, where it was */
	m = mmap((void *)(uintptr_t)REC_DATA, REC_DATA_LEN + page, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (m != (void *)(uintptr_t)REC_DATA)
		printf("# the data area is not at %#llx: pointers into it point elsewhere\n", (unsigned long long)REC_DATA);
	else
		mprotect((uint8_t *)m + REC_DATA_LEN, page, PROT_NONE);
	m = mmap((void *)(uintptr_t)REC_RDONLY, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (m != (void *)(uintptr_t)REC_RDONLY)
		printf("# the read-only page is not at %#llx\n", (unsigned long long)REC_RDONLY);

	f = open(M3_DEVICE, O_RDWR);
	if (f < 0) {
		printf("Bail out! %s: %s\n", M3_DEVICE, strerror(errno));
		return 2;
	}
	memset(&before, 0, sizeof(before));
	ioctl(f, M3_IOC_DVS_INFO, &before);
	if (!before.initialized)
		r_dvs_init(f, 0);
	live0 = r_live_dcs(f);
	/* the fuzzer's setup: two DCs any process may bind itself into */
	for (i = 0; i < 2; i++) {
		struct m3_dc_spec s;

		memset(&s, 0, sizeof(s));
		snprintf(s.name, sizeof(s.name), "fzsb%d", i);
		s.dcid = -1;
		s.nr_tasks = 2;
		s.nr_procs = 8;
		s.flags = M3_DCF_SELF_BIND;
		ioctl(f, M3_IOC_DC_INIT, &s);
	}
	kfd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);
	if (kfd >= 0)
		lseek(kfd, 0, SEEK_END);
	r_sh = mmap(NULL, sizeof(*r_sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (r_sh == MAP_FAILED) {
		printf("Bail out! mmap: %s\n", strerror(errno));
		return 2;
	}

	start = r_now_us();
	deadline = start + seconds * 1000000LL;
	fflush(stdout);
	for (i = 0; i < repro_nprocs; i++) {
		pids[i] = fork();
		if (!pids[i])
			r_child(&repro_procs[i], deadline);
	}
	while (r_now_us() < deadline) {
		usleep(10000);
		report = kmsg_report(kfd, kbuf, sizeof(kbuf));
		if (report) {
			t_report = r_now_us() - start;
			break;
		}
		/* a process reaped here is gone: the stop below must not wait for it */
		for (alive = 0, i = 0; i < repro_nprocs; i++) {
			if (pids[i] > 0 && waitpid(pids[i], NULL, WNOHANG) == pids[i])
				pids[i] = 0;
			alive += pids[i] > 0;
		}
		if (!alive)
			break;
	}
	r_sh->stop = 1;
	/* 2 s to stop, then SIGKILL and 10 s more: a process still there is stuck in the kernel */
	stop_children(pids, repro_nprocs, 40, 240);
	for (i = 0; i < repro_nprocs; i++)
		if (pids[i] > 0) {
			stuck++;
			print_stacks(pids[i], "# stuck: ");
		}
	if (!report)
		report = kmsg_report(kfd, kbuf, sizeof(kbuf));

	/* leave the module as it was found */
	memset(&after, 0, sizeof(after));
	ioctl(f, M3_IOC_DVS_INFO, &after);
	if (before.initialized && !after.initialized)
		r_dvs_init(f, before.node_id);
	live1 = r_live_dcs(f);
	for (i = 0; i < 64; i++)
		if ((live1 & ~live0) & (1ULL << i)) {
			struct m3_dc_ref r = { .dcid = i };

			ioctl(f, M3_IOC_DC_END, &r);
		}
	if (!before.initialized) {
		struct m3_dc_ref r = { .dcid = 0 };

		ioctl(f, M3_IOC_DVS_END, &r);
	}
	close(f);

	if (report) {
		printf("not ok 1 - kernel report after %.1f s (%ld calls): %s\n", t_report / 1e6, r_sh->calls, report);
		r_print_report(kfd);
		return 1;
	}
	if (stuck) {
		printf("not ok 1 - %d processes did not die after SIGKILL: stuck in the kernel\n", stuck);
		return 1;
	}
	printf("ok 1 - %ld calls in %d s, no kernel report\n", r_sh->calls, seconds);
	return 0;
}
