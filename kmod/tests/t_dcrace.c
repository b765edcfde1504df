// SPDX-License-Identifier: GPL-2.0
/*
 * t_dcrace - dc_init and dc_end of the same DC ids from several processes
 * at once, for a bounded time:
 *
 *   t_dcrace [SECONDS]                                   (default 5)
 *
 * The regression test of the fuzzer's first find (kmod/tests/m3fuzz.c):
 * dc_init read the new DC (its node bitmap for the answer, its name and
 * sizes for the log line) after it had dropped the admin mutex, while a
 * dc_end of that dcid by another admin could already have freed it:
 * "BUG: KASAN: use-after-free in m3_dc_init" and "in string" (vsnprintf).
 * On a KASAN kernel the report is in the kernel log, which this test reads
 * (/dev/kmsg) and fails on; the lab fails it too. Without KASAN what dc_init
 * answers and logs is checked instead: with freed objects poisoned
 * (slub_debug=P) a read after the free shows as a wrong node bitmap or a
 * log line naming a DC "kkkk...".
 */
#include <fcntl.h>
#include <sched.h>

#include "tap.h"

#define CREATORS	3
#define ENDERS		3
#define MAX_ITERS	1000000L

struct result {
	long calls, ok, bad;
	long bad_val;		/* the first unexpected result */
};

static int dcids[2], node;

static void spec_for(struct m3_dc_spec *s, int dcid)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "dcrace%d", dcid);
	s->dcid = dcid;
	s->nr_tasks = 1;
	s->nr_procs = 4;
}

/* creators: dc_init(dcid) is that dcid, with the local node, or -EBUSY */
static void creator(long end, struct result *r, unsigned int seed, int which)
{
	struct m3_dc_spec s;
	int dcid, ret;

	while (r->calls < MAX_ITERS && now_ms() < end) {
		dcid = dcids[which >= 0 ? which : rand_r(&seed) & 1];
		spec_for(&s, dcid);
		ret = m3_dc_init(&s);
		r->calls++;
		if (ret == dcid && s.dcid == dcid && s.nodes == (1ULL << node)) {
			r->ok++;
		} else if (ret != -EBUSY) {
			if (!r->bad++)
				r->bad_val = ret == dcid ? (long)s.nodes : ret;
		}
	}
}

/*
 * enders: dc_end(dcid) is 0 or -ENXIO. A real-time ender sleeps a little
 * between calls on its creator's CPU: when its timer fires while the
 * creator holds the admin mutex it blocks on the mutex, the creator's
 * unlock hands it over and wakes it, and it preempts the creator right
 * there, ends the new DC and sleeps again, so the workqueue frees the DC
 * before the creator runs on: the window after the unlock, made wide.
 */
static void ender(long end, struct result *r, unsigned int seed, int rt, int which)
{
	struct timespec ts = { 0, 0 };
	int ret;

	while (r->calls < MAX_ITERS && now_ms() < end) {
		ret = m3_dc_end(dcids[which >= 0 ? which : rand_r(&seed) & 1]);
		r->calls++;
		if (!ret)
			r->ok++;
		else if (ret != -ENXIO && !r->bad++)
			r->bad_val = ret;
		if (rt) {
			ts.tv_nsec = 20000 + rand_r(&seed) % 200000;
			nanosleep(&ts, NULL);
		}
	}
}

/* a kernel report line in the log since @kfd was opened, or NULL */
static const char *kmsg_report(int kfd, char *buf, size_t len)
{
	static const char *const words[] = {
		"BUG:", "WARNING:", "KASAN", "general protection fault",
		"possible circular locking", "refcount_t:", "list_del corruption",
	};
	char name[16], want[M3_DC_NAME_LEN], *p;
	int guard, dcid, tasks, procs;
	ssize_t n;
	size_t i;

	for (guard = 0; kfd >= 0 && guard < 1000000; guard++) {
		n = read(kfd, buf, len - 1);
		if (n < 0 && errno == EPIPE)
			continue;
		if (n <= 0)
			break;
		name[0] = 0;
		tasks = procs = -1;
		buf[n] = 0;
		/*
		 * dc_init's log line of one of our DCs names it and its sizes:
		 * anything else was read from freed (poisoned) memory.
		 */
		p = strstr(buf, "m3ipc: DC ");
		if (p && strstr(p, " up (") && sscanf(p, "m3ipc: DC %d '%15[^']' up (%d tasks, %d procs)",
						      &dcid, name, &tasks, &procs) >= 1 &&
		    (dcid == dcids[0] || dcid == dcids[1])) {
			snprintf(want, sizeof(want), "dcrace%d", dcid);
			if (strcmp(name, want) || tasks != 1 || procs != 4) {
				char *nl = strchr(p, '\n');

				if (nl)
					*nl = 0;
				return p;
			}
		}
		for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
			if (strstr(buf, words[i])) {
				char *nl = strchr(buf, '\n'), *semi = strchr(buf, ';');

				if (nl)
					*nl = 0;
				return semi ? semi + 1 : buf;
			}
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int seconds = argc > 1 ? atoi(argv[1]) : 5;
	struct result res[CREATORS + ENDERS], sum_c = { 0 }, sum_e = { 0 };
	struct m3_dvs_info di;
	int pipes[CREATORS + ENDERS][2];
	pid_t pids[CREATORS + ENDERS];
	int i, n, st, exited = 0, kfd, found = 0;
	const char *report;
	char kbuf[2048];
	long end;

	if (seconds < 1 || seconds > 600)
		seconds = 5;
	node = m3t_node_id();
	is(m3_dvs_info(&di), 0, "dvs_info");
	/* two DC ids nobody uses, from the top: other programs take the low ones */
	for (i = (int)di.limits.max_dcs - 1; i >= 0 && found < 2; i--) {
		struct m3_dc_info ci;

		if (m3_dc_info(i, &ci) == -ENXIO)
			dcids[found++] = i;
	}
	ok(found == 2, "two free DC ids to race on: %d and %d", dcids[0], dcids[1]);
	if (found < 2)
		return tap_done();

	kfd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);
	if (kfd >= 0)
		lseek(kfd, 0, SEEK_END);
	ok(kfd >= 0, "the kernel log is readable (/dev/kmsg)");

	end = now_ms() + seconds * 1000L;
	for (n = 0; n < CREATORS + ENDERS; n++) {
		if (pipe(pipes[n]))
			bail("pipe", -errno);
		fflush(stdout);
		pids[n] = fork();
		if (pids[n] < 0)
			bail("fork", -errno);
		if (!pids[n]) {
			struct result r = { 0 };
			cpu_set_t cpus;

			/*
			 * Racer i (creator i, ender i) on CPU i % 2: creator 0
			 * and 1 with a real-time ender on their CPU, the last
			 * pair left to the scheduler.
			 */
			int i_pair = n % CREATORS, rt = i_pair < 2 && n >= CREATORS;

			if (i_pair < 2) {
				CPU_ZERO(&cpus);
				CPU_SET(i_pair % 2, &cpus);
				sched_setaffinity(0, sizeof(cpus), &cpus);
			}
			if (rt) {
				struct sched_param sp = { .sched_priority = 10 };

				sched_setscheduler(0, SCHED_FIFO, &sp);
			}
			/* the pinned pairs race on a DC id of their own */
			if (n < CREATORS)
				creator(end, &r, 1 + n, i_pair < 2 ? i_pair : -1);
			else
				ender(end, &r, 1 + n, rt, i_pair < 2 ? i_pair : -1);
			_exit(write(pipes[n][1], &r, sizeof(r)) == sizeof(r) ? 0 : 1);
		}
		close(pipes[n][1]);
	}
	for (n = 0; n < CREATORS + ENDERS; n++) {
		memset(&res[n], 0, sizeof(res[n]));
		if (read(pipes[n][0], &res[n], sizeof(res[n])) != sizeof(res[n]))
			res[n].bad = -1;
		close(pipes[n][0]);
		/* each racer stops at the deadline: 30 s more is a stuck call */
		for (i = 0; i < 3000 && waitpid(pids[n], &st, WNOHANG) == 0; i++)
			msleep(10);
		if (i == 3000) {
			kill(pids[n], SIGKILL);
			waitpid(pids[n], &st, 0);
		} else if (WIFEXITED(st) && !WEXITSTATUS(st)) {
			exited++;
		}
	}
	ok(exited == CREATORS + ENDERS, "every racer stopped by itself at the deadline (%d of %d)",
	   exited, CREATORS + ENDERS);
	for (n = 0; n < CREATORS + ENDERS; n++) {
		struct result *s = n < CREATORS ? &sum_c : &sum_e;

		s->calls += res[n].calls;
		s->ok += res[n].ok;
		if (res[n].bad && !s->bad)
			s->bad_val = res[n].bad_val;
		s->bad += res[n].bad;
	}
	diag("%d s: %ld dc_init (%ld made a DC), %ld dc_end (%ld ended one)", seconds,
	     sum_c.calls, sum_c.ok, sum_e.calls, sum_e.ok);
	ok(sum_c.ok > 0 && sum_e.ok > 0, "DCs were made and ended while others raced them");
	ok(!sum_c.bad, "every dc_init answered its own dcid and node bitmap, or -EBUSY (%ld others, first %s)",
	   sum_c.bad, errname(sum_c.bad_val));
	ok(!sum_e.bad, "every dc_end answered 0 or -ENXIO (%ld others, first %s)", sum_e.bad,
	   errname(sum_e.bad_val));
	/* what is left: ended now, and then nothing of ours */
	ok(sum_e.ok <= sum_c.ok && sum_c.ok - sum_e.ok <= 2,
	   "each DC made was ended once, but at most the two still up (%ld made, %ld ended)",
	   sum_c.ok, sum_e.ok);
	for (found = 0, i = 0; i < 2; i++) {
		struct m3_dc_info ci;
		char name[M3_DC_NAME_LEN];

		m3_dc_end(dcids[i]);
		snprintf(name, sizeof(name), "dcrace%d", dcids[i]);
		found += m3_dc_info(dcids[i], &ci) == -ENXIO && m3_dc_find(name) < 0;
	}
	ok(found == 2, "no racing DC is left");
	report = kmsg_report(kfd, kbuf, sizeof(kbuf));
	ok(!report, "no kernel report while the DCs raced%s%s", report ? ": " : "",
	   report ? report : "");
	return tap_done();
}
