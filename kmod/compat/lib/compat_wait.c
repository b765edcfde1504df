// SPDX-License-Identifier: LGPL-2.1
/*
 * compat_wait.c - mnx_wait4bindep / mnx_wait4unbind: wait for another
 * process's binding to appear or go. The module only lets a process wait
 * for its own binding (M3_IOC_WAIT4BIND), so these poll the process table
 * (M3_IOC_PROC_INFO, open to any caller) every 10 ms: the outcome is the
 * original's, the latency up to one period more.
 */
#include <string.h>
#include <time.h>

#include "compat_internal.h"

#define WAIT_POLL_MS	10

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/*
 * The original's first endpoint of a slot is the slot number, and its
 * programs pass slot numbers here meaning the slot, whoever binds it: a
 * first-generation endpoint waits for any binding of its slot; a later one
 * for that binding. In an ordinary DC (the module's numbering) a value
 * below 1 << 16 (no generation) is a slot.
 */
static long mnx_wait4ep(int endpoint, long timeout_ms, int want_bound)
{
	const struct timespec tick = { 0, WAIT_POLL_MS * 1000000L };
	struct m3_proc_info pi;
	struct m3_getep self;
	long start, ret;
	int bound, orig, is_slot, p_nr;

	if (timeout_ms < -1)
		return EMOLINVAL;
	if (endpoint == SELF && want_bound)
		return mnx_wait4bind_T(timeout_ms);
	memset(&self, 0, sizeof(self));
	ret = m3_getep_info(&self);	/* the caller's DC */
	if (ret < 0)
		return ret;
	orig = mnx_dc_numbering(self.dcid);
	is_slot = orig ? _ENDPOINT_G(endpoint) == 0 :
		endpoint > -0x10000 && endpoint < 0x10000;
	p_nr = is_slot && !orig ? endpoint : mnx_ep_slot(orig, endpoint);
	start = now_ms();
	for (;;) {
		ret = m3_proc_info(self.dcid, p_nr, &pi);
		if (ret < 0)
			return ret;
		bound = pi.endpoint != M3_NONE &&
			(is_slot || mnx_ep_out(orig, pi.endpoint) == endpoint);
		if (want_bound && bound)
			return mnx_ep_out(orig, pi.endpoint);
		if (!want_bound && !bound)
			return OK;
		if (timeout_ms == TIMEOUT_NOWAIT)
			return EMOLAGAIN;
		if (timeout_ms > 0 && now_ms() - start >= timeout_ms)
			return EMOLTIMEDOUT;
		nanosleep(&tick, NULL);
	}
}

long mnx_wait4bindep_T(int endpoint, long timeout_ms)
{
	return mnx_wait4ep(endpoint, timeout_ms, 1);
}

long mnx_wait4bindep(int endpoint)
{
	return mnx_wait4ep(endpoint, TIMEOUT_FOREVER, 1);
}

long mnx_wait4unbind_T(int endpoint, long timeout_ms)
{
	return mnx_wait4ep(endpoint, timeout_ms, 0);
}

long mnx_wait4unbind(int endpoint)
{
	return mnx_wait4ep(endpoint, TIMEOUT_FOREVER, 0);
}
