/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel reports in /dev/kmsg, stopping the fuzzing processes, and the
 * kernel stacks of one that will not die: shared by m3fuzz and the
 * reproducers `m3lab fuzz minimize` writes
 * (harness/fuzz/repro.ts pastes this file into each, so that a reproducer
 * stays one standalone C file).
 */
#ifndef M3FUZZ_KMSG_H
#define M3FUZZ_KMSG_H

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <signal.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *const kmsg_report_words[] = {
	"BUG:", "WARNING:", "KASAN", "KFENCE", "UBSAN", "Oops", "general protection fault",
	"possible circular locking", "possible recursive locking", "INFO: task", "INFO: rcu",
	"refcount_t:", "list_add corruption", "list_del corruption", "soft lockup",
	"inconsistent lock state", "sleeping function called from invalid context",
};

/* the first kernel report line in /dev/kmsg since it was opened, or NULL */
static const char *kmsg_report(int kfd, char *buf, size_t len)
{
	ssize_t n;
	size_t i;

	if (kfd < 0)
		return NULL;
	for (int guard = 0; guard < 100000; guard++) {
		n = read(kfd, buf, len - 1);
		if (n < 0 && errno == EPIPE)
			continue;	/* overwritten records */
		if (n <= 0)
			return NULL;
		buf[n] = 0;
		for (i = 0; i < sizeof(kmsg_report_words) / sizeof(kmsg_report_words[0]); i++)
			if (strstr(buf, kmsg_report_words[i])) {
				char *semi = strchr(buf, ';');
				char *nl = strchr(buf, '\n');

				if (nl)
					*nl = 0;
				return semi ? semi + 1 : buf;
			}
	}
	return NULL;
}

/*
 * Reap the processes of pids (0: gone) every 50 ms: SIGKILL what is left at
 * kill_round, give up at rounds. Those still there are stuck in the kernel;
 * they stay in pids, and their number is returned.
 */
static int stop_children(pid_t *pids, int n, int kill_round, int rounds)
{
	int i, alive = 0;

	for (int round = 0; round < rounds; round++) {
		for (alive = 0, i = 0; i < n; i++) {
			if (pids[i] > 0 && waitpid(pids[i], NULL, WNOHANG) == pids[i])
				pids[i] = 0;
			alive += pids[i] > 0;
		}
		if (!alive)
			break;
		if (round == kill_round)
			for (i = 0; i < n; i++)
				if (pids[i] > 0)
					kill(pids[i], SIGKILL);
		usleep(50000);
	}
	return alive;
}

/* where a process is stuck: its threads' kernel stacks, each line after prefix */
static void print_stacks(pid_t pid, const char *prefix)
{
	char path[384], line[256];
	struct dirent *d;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	dir = opendir(path);
	while (dir && (d = readdir(dir))) {
		FILE *f;

		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/stack", pid, d->d_name);
		f = fopen(path, "r");
		printf("%spid %d thread %s:\n", prefix, pid, d->d_name);
		while (f && fgets(line, sizeof(line), f))
			printf("%s  %s", prefix, line);
		if (f)
			fclose(f);
	}
	if (dir)
		closedir(dir);
}

#endif
