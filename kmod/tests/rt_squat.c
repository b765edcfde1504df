// SPDX-License-Identifier: GPL-2.0
/*
 * rt_squat - try to take a proxy's TCP port first (issue 20, point 1).
 *
 *   rt_squat PORT HOLD_MS nobody|root
 *
 * Binds 0.0.0.0:PORT (SO_REUSEADDR, as a squatter would) and listens, as
 * uid/gid 65534 ("nobody": an ordinary local user, no capabilities) or as
 * the caller. Prints "uid=U bind=0" or "uid=U bind=-ERRNO(n)"; once bound,
 * "holding", then holds the port HOLD_MS and prints "released". Exit 0
 * whatever the result (the result is the output), 2 on bad usage.
 */
#include <errno.h>
#include <grp.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct timespec ts;
	int fd, one = 1, port, hold;

	if (argc != 4 || (strcmp(argv[3], "nobody") && strcmp(argv[3], "root")))
		return 2;
	port = atoi(argv[1]);
	hold = atoi(argv[2]);
	if (port <= 0 || port > 65535 || hold < 0)
		return 2;
	if (!strcmp(argv[3], "nobody") &&
	    (setgroups(0, NULL) || setgid(65534) || setuid(65534))) {
		printf("setuid: %s\n", strerror(errno));
		return 1;
	}
	sa.sin_addr.s_addr = htonl(INADDR_ANY);
	sa.sin_port = htons(port);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, 4) < 0) {
		int e = errno;

		printf("uid=%d bind=-%s(%d)\n", (int)getuid(),
		       strerrorname_np(e) ?: "?", -e);
		return 0;
	}
	printf("uid=%d bind=0\nholding\n", (int)getuid());
	fflush(stdout);
	ts.tv_sec = hold / 1000;
	ts.tv_nsec = (hold % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
	close(fd);
	printf("released\n");
	return 0;
}
