// SPDX-License-Identifier: GPL-2.0
/*
 * m3lab-ident: the part of a restored node's new identity that busybox cannot
 * set. Every node restored from one snapshot wakes with the same kernel random
 * state, so the host's seed is mixed in and credited (RNDADDENTROPY) and the
 * CRNG reseeded from it at once (RNDRESEEDCRNG): without the reseed, reads
 * would stay identical across the clones until the kernel's next periodic
 * reseed. The clock is stepped to the host's, which it lost while the
 * snapshot lay on disk.
 *
 * m3lab-ident --zero-free, run by the template just before it is saved,
 * faults in (and so has the kernel zero) nearly all free memory and lets it
 * go: free pages that still held old data (the unpacked initramfs image, boot
 * allocations) then read as zeros, which QEMU's migration does not write, so
 * the snapshot holds about what the guest uses.
 *
 * Usage: m3lab-ident SEED_HEX EPOCH_MS | m3lab-ident --zero-free
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/random.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define SEED_MAX 64

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Free memory (kB) from /proc/meminfo, 0 when it cannot be read. */
static unsigned long mem_free_kb(void)
{
	char line[128];
	unsigned long kb = 0;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemFree: %lu kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static int zero_free(void)
{
	/* Leave the kernel room: the OOM killer must have nothing to do. */
	const unsigned long margin_kb = 48 * 1024;
	unsigned long kb = mem_free_kb();
	size_t len;
	void *p;

	if (kb <= margin_kb)
		return 0;
	len = (size_t)(kb - margin_kb) * 1024;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_POPULATE, -1, 0);
	if (p == MAP_FAILED) {
		fprintf(stderr, "m3lab-ident: zeroing free memory: %s\n", strerror(errno));
		return 1;
	}
	munmap(p, len);
	return 0;
}

int main(int argc, char **argv)
{
	struct {
		struct rand_pool_info info;
		unsigned char buf[SEED_MAX];
	} seed;
	struct timespec ts;
	unsigned long long ms;
	size_t len, i;
	int fd, rc = 0;

	if (argc == 2 && !strcmp(argv[1], "--zero-free"))
		return zero_free();
	if (argc != 3) {
		fprintf(stderr, "usage: m3lab-ident SEED_HEX EPOCH_MS | m3lab-ident --zero-free\n");
		return 2;
	}
	len = strlen(argv[1]) / 2;
	if (len == 0 || len > SEED_MAX || strlen(argv[1]) % 2) {
		fprintf(stderr, "m3lab-ident: seed must be 1..%d bytes of hex\n", SEED_MAX);
		return 2;
	}
	for (i = 0; i < len; i++) {
		int hi = hexval(argv[1][2 * i]), lo = hexval(argv[1][2 * i + 1]);

		if (hi < 0 || lo < 0) {
			fprintf(stderr, "m3lab-ident: seed is not lower-case hex\n");
			return 2;
		}
		seed.buf[i] = (unsigned char)(hi << 4 | lo);
	}
	seed.info.entropy_count = (int)(len * 8);
	seed.info.buf_size = (int)len;

	fd = open("/dev/urandom", O_RDWR);
	if (fd < 0 || ioctl(fd, RNDADDENTROPY, &seed) < 0 ||
	    ioctl(fd, RNDRESEEDCRNG) < 0) {
		fprintf(stderr, "m3lab-ident: reseeding the kernel's random pool: %s\n", strerror(errno));
		rc = 1;
	}
	if (fd >= 0)
		close(fd);

	ms = strtoull(argv[2], NULL, 10);
	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	if (ms == 0 || clock_settime(CLOCK_REALTIME, &ts) < 0) {
		fprintf(stderr, "m3lab-ident: setting the clock: %s\n", ms ? strerror(errno) : "no time given");
		rc = 1;
	}
	return rc;
}
