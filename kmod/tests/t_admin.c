// SPDX-License-Identifier: GPL-2.0
/*
 * t_admin - DVS/DC/bind administration, limits validation, /proc/m3ipc,
 * CPU affinity, m3ctl.
 */
#include <sched.h>
#include <sys/ioctl.h>

#include "tap.h"

static int fn_idle(void *arg)
{
	for (;;)
		pause();
	return 0;
}

static int dc_spec(const char *name, int dcid, unsigned int tasks,
		   unsigned int procs, unsigned int flags, unsigned long long cpus)
{
	struct m3_dc_spec s;

	memset(&s, 0, sizeof(s));
	memcpy(s.name, name, strnlen(name, sizeof(s.name)));
	s.dcid = dcid;
	s.nr_tasks = tasks;
	s.nr_procs = procs;
	s.flags = flags;
	s.cpumask = cpus;
	return m3_dc_init(&s);
}

static int dvs_lim(int node, unsigned int dcs, unsigned int tasks,
		   unsigned int procs, unsigned int flags)
{
	struct m3_dvs_limits l = { dcs, tasks, procs, flags };

	return m3_dvs_init(node, &l);
}

/* first line of a file, and the number of lines */
static int read_lines(const char *path, char *first, size_t len, char *all,
		      size_t alen)
{
	FILE *f = fopen(path, "r");
	char line[512];
	int n = 0;

	if (!f)
		return -errno;
	if (all)
		all[0] = 0;
	while (fgets(line, sizeof(line), f)) {
		if (!n && first)
			snprintf(first, len, "%s", line);
		if (all && strlen(all) + strlen(line) < alen)
			strcat(all, line);
		n++;
	}
	fclose(f);
	return n;
}

static int run(const char *cmd, char *out, size_t len)
{
	FILE *p = popen(cmd, "r");
	size_t n;

	if (!p)
		return -1;
	n = fread(out, 1, len - 1, p);
	out[n] = 0;
	return pclose(p);
}

int main(void)
{
	struct m3_dvs_info di;
	struct m3_dc_info ci;
	struct m3_proc_info pi;
	char first[512], all[4096], path[128], out[8192];
	struct kid k;
	int dc, dc2, ep, ep2, ret, n, node;

	node = m3t_node_id();
	is(m3_dvs_info(&di), 0, "dvs_info");
	ok(di.abi_version == M3_ABI_VERSION && di.initialized && di.node_id == node,
	   "dvs_info: ABI %u, initialized, node %d", di.abi_version, node);
	ok(di.limits.max_dcs == M3_MAX_DCS && di.limits.max_procs == M3_MAX_PROCS,
	   "default limits");
	is(m3_dvs_init(node, NULL), -EBUSY, "dvs_init twice: -EBUSY");
	is(dvs_lim(-1, 0, 0, 0, 0), -EINVAL, "dvs_init node -1: -EINVAL");
	is(dvs_lim(64, 0, 0, 0, 0), -EINVAL, "dvs_init node 64: -EINVAL");
	is(dvs_lim(0, M3_MAX_DCS + 1, 0, 0, 0), -EINVAL, "max_dcs too big: -EINVAL");
	is(dvs_lim(0, 0, M3_MAX_TASKS + 1, 0, 0), -EINVAL, "max_tasks too big: -EINVAL");
	is(dvs_lim(0, 0, 0, M3_MAX_PROCS + 1, 0), -EINVAL, "max_procs too big: -EINVAL");
	is(dvs_lim(0, 0, 0, 0, 1), -EINVAL, "limits flags: -EINVAL");

	/* dvs_end + dvs_init with small limits, and limits enforced */
	{
		/* a process waiting forever to be bound wakes when the DVS ends */
		pid_t w = fork();
		int st = -1, i;

		if (w == 0)
			_exit(m3_wait4bind(M3_TIMEOUT_FOREVER, NULL) == -ENODEV ? 0 : 1);
		usleep(200 * 1000);
		is(m3_dvs_end(), 0, "dvs_end");
		for (i = 0; i < 500 && waitpid(w, &st, WNOHANG) == 0; i++)
			usleep(10 * 1000);
		if (i == 500) {
			kill(w, SIGKILL);
			waitpid(w, &st, 0);
		}
		ok(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		   "wait4bind(forever) ends with -ENODEV when the DVS ends");
	}
	is(m3_dvs_end(), -ENODEV, "dvs_end twice: -ENODEV");
	is(dc_spec("x", -1, 0, 1, 0, 0), -ENODEV, "dc_init without DVS: -ENODEV");
	is(m3_bind(0, 0, M3_ANY_SLOT), -ENODEV, "bind without DVS: -ENODEV");
	is(dvs_lim(5, 2, 4, 8, 0), 0, "dvs_init node 5, 2 DCs, 4 tasks, 8 procs");
	m3_dvs_info(&di);
	ok(di.node_id == 5 && di.nodes == (1ULL << 5) && di.limits.max_dcs == 2,
	   "dvs_info reflects it");
	is(dc_spec("big", -1, 5, 8, 0, 0), -EINVAL, "nr_tasks above the DVS limit: -EINVAL");
	is(dc_spec("big", -1, 4, 9, 0, 0), -EINVAL, "nr_procs above the DVS limit: -EINVAL");
	is(dc_spec("a", -1, 4, 8, 0, 0), 0, "first DC gets dcid 0");
	is(dc_spec("b", -1, 0, 1, 0, 0), 1, "second DC gets dcid 1");
	is(dc_spec("c", -1, 0, 1, 0, 0), -EBUSY, "no free dcid: -EBUSY");
	is(dc_spec("c", 2, 0, 1, 0, 0), -ENXIO, "dcid beyond max_dcs: -ENXIO");
	m3_dvs_end();
	is(m3_dvs_init(node, NULL), 0, "dvs_init again with defaults");

	/* dc_init validation */
	is(dc_spec("", -1, 0, 4, 0, 0), -EINVAL, "empty DC name: -EINVAL");
	is(dc_spec("a/b", -1, 0, 4, 0, 0), -EINVAL, "DC name with '/': -EINVAL");
	is(dc_spec("..", -1, 0, 4, 0, 0), -EINVAL, "DC name '..': -EINVAL");
	is(dc_spec("a b", -1, 0, 4, 0, 0), -EINVAL, "DC name with a space: -EINVAL");
	is(dc_spec("0123456789abcdef", -1, 0, 4, 0, 0), -EINVAL,
	   "DC name without NUL: -EINVAL");
	is(dc_spec("t_admin", -1, 0, 0, 0, 0), -EINVAL, "nr_procs 0: -EINVAL");
	is(dc_spec("t_admin", -1, 0, M3_MAX_PROCS + 1, 0, 0), -EINVAL,
	   "nr_procs too big: -EINVAL");
	is(dc_spec("t_admin", -1, M3_MAX_TASKS + 1, 4, 0, 0), -EINVAL,
	   "nr_tasks too big: -EINVAL");
	is(dc_spec("t_admin", -1, 0, 4, 0x100, 0), -EINVAL, "unknown DC flag: -EINVAL");
	is(dc_spec("t_admin", -1, 0, 4, 0, 1ULL << 63), -EINVAL,
	   "CPU mask without an online CPU: -EINVAL");
	is(dc_spec("t_admin", M3_MAX_DCS, 0, 4, 0, 0), -ENXIO, "dcid out of range: -ENXIO");
	is(dc_spec("t_admin", -2, 0, 4, 0, 0), -ENXIO, "dcid -2: -ENXIO");
	dc = dc_spec("t_admin", 7, 2, 4, 0, 1);
	is(dc, 7, "dc_init with a chosen dcid and CPU mask 0x1");
	is(dc_spec("t_admin", -1, 0, 4, 0, 0), -EBUSY, "DC name in use: -EBUSY");
	is(dc_spec("other", 7, 0, 4, 0, 0), -EBUSY, "dcid in use: -EBUSY");
	is(m3_dc_info(dc, &ci), 0, "dc_info");
	ok(!strcmp(ci.spec.name, "t_admin") && ci.spec.nr_tasks == 2 &&
	   ci.spec.nr_procs == 4 && ci.spec.cpumask == 1 && ci.nr_bound == 0 &&
	   ci.spec.nodes == 1ULL << node, "dc_info fields");
	is(m3_dc_info(8, &ci), -ENXIO, "dc_info of a free dcid: -ENXIO");
	is(m3_dc_info(-1, &ci), -ENXIO, "dc_info of dcid -1: -ENXIO");
	is(m3_dc_end(8), -ENXIO, "dc_end of a free dcid: -ENXIO");
	is(m3_dc_find("t_admin"), dc, "find the DC by name");

	/* bind */
	kid_dc = dc;
	kid_start(&k, M3_PRIV_USER, fn_idle, NULL);
	kid_go(&k);
	ok(k.ep > 0 && M3_EP_SLOT(k.ep) == 0 && M3_EP_GEN(k.ep) == 1,
	   "bind ANY_SLOT: slot 0, generation 1 (ep %d)", k.ep);
	{
		cpu_set_t set;

		CPU_ZERO(&set);
		sched_getaffinity(k.pid, sizeof(set), &set);
		ok(CPU_COUNT(&set) == 1 && CPU_ISSET(0, &set),
		   "bound process runs on the DC's CPU mask");
	}
	is(m3_bind(99, 0, M3_ANY_SLOT), -ENXIO, "bind into dcid 99: -ENXIO");
	is(m3_bind(dc, 0, 4), -EBADSLT, "bind slot nr_procs: -EBADSLT");
	is(m3_bind(dc, 0, -3), -EBADSLT, "bind slot -nr_tasks-1: -EBADSLT");
	is(m3_bind(dc, 0, 0), -EBUSY, "bind an occupied slot: -EBUSY");
	is(m3_bind(dc, 999999, 1), -ESRCH, "bind a pid that does not exist: -ESRCH");
	is(m3_bind(dc, -1, 1), -EINVAL, "bind pid -1: -EINVAL");
	is(m3_bind(dc, 2, 1), -EINVAL, "bind a kernel thread (kthreadd): -EINVAL");
	is(m3_bind(dc, k.pid, 1), -EBUSY, "bind an already bound pid: -EBUSY");
	ep = m3_bind(dc, 0, -2);
	ok(ep > 0 && M3_EP_SLOT(ep) == -2, "bind self into task slot -2");
	is(m3_getep(0), ep, "getep(0)");
	is(m3_getep(k.pid), k.ep, "getep(pid of another process)");
	is(m3_getep(999999), -ESRCH, "getep of a missing pid: -ESRCH");
	is(m3_getep(1), -ENOTCONN, "getep of an unbound pid: -ENOTCONN");
	is(m3_proc_info(dc, 0, &pi), 0, "proc_info");
	ok(pi.endpoint == k.ep && pi.pid == k.pid && pi.priv == M3_PRIV_USER &&
	   pi.state == 0 && pi.send_to == M3_NONE, "proc_info fields");
	is(m3_proc_info(dc, 4, &pi), -EBADSLT, "proc_info slot out of range: -EBADSLT");

	/* /proc */
	n = read_lines("/proc/m3ipc/info", first, sizeof(first), all, sizeof(all));
	ok(n == 2 && !strncmp(first, "abi initialized node_id", 23),
	   "/proc/m3ipc/info: header + 1 record");
	n = read_lines("/proc/m3ipc/nodes", first, sizeof(first), all, sizeof(all));
	snprintf(path, sizeof(path), "\n%d up 1\n", node);
	ok(n == 2 && !strncmp(first, "node_id ", 8) && strstr(all, path),
	   "/proc/m3ipc/nodes: local node %d up", node);
	n = read_lines("/proc/m3ipc/proxies", first, sizeof(first), NULL, 0);
	ok(n == 1 && !strncmp(first, "node_id sender_pid", 18),
	   "/proc/m3ipc/proxies: header only");
	n = read_lines("/proc/m3ipc/dc/t_admin/info", first, sizeof(first), all,
		       sizeof(all));
	ok(n == 2 && !strncmp(first, "dcid name", 9) && strstr(all, "\n7 t_admin 2 4 "),
	   "/proc/m3ipc/dc/t_admin/info");
	n = read_lines("/proc/m3ipc/dc/t_admin/procs", first, sizeof(first), all,
		       sizeof(all));
	snprintf(path, sizeof(path), "\n0 %d 1 %d %d 4 idle ", k.ep, k.pid, node);
	ok(n == 3 && !strncmp(first, "p_nr endpoint gen pid", 21) &&
	   strstr(all, path), "/proc/m3ipc/dc/t_admin/procs: 2 bound processes");

	/* unbind / setpriv on free and stale slots */
	is(m3_unbind(dc, k.ep), 0, "admin unbind");
	is(m3_unbind(dc, k.ep), -ENOTCONN, "unbind again: -ENOTCONN");
	is(m3_setpriv(dc, k.ep, 2), -ENOTCONN, "setpriv of a free slot: -ENOTCONN");
	is(m3_unbind(dc, M3_ANY), -EBADSLT, "unbind ANY: -EBADSLT");
	is(m3_unbind(99, k.ep), -ENXIO, "unbind in dcid 99: -ENXIO");
	ep2 = m3_bind(dc, k.pid, M3_ANY_SLOT);
	ok(ep2 > 0 && M3_EP_SLOT(ep2) == 0 && M3_EP_GEN(ep2) == 2,
	   "re-bind: same slot, generation 2");
	is(m3_setpriv(dc, k.ep, 2), -ESTALE, "setpriv with the old endpoint: -ESTALE");
	is(m3_setpriv(dc, M3_SELF, M3_PRIV_SERVER), 0, "setpriv SELF as admin");
	is(m3_getep_info(&(struct m3_getep){ 0 }), 0, "getep info");
	kid_kill(&k, SIGKILL);

	/* full DC: 4 proc slots */
	{
		struct kid f[4];
		int i;

		for (i = 0; i < 4; i++) {
			kid_start(&f[i], M3_PRIV_USER, fn_idle, NULL);
			kid_go(&f[i]);
		}
		is(m3_bind(dc, 1, M3_ANY_SLOT), -EBUSY, "no free slot: -EBUSY");
		m3_dc_info(dc, &ci);
		is(ci.nr_bound, 5, "nr_bound counts 4 procs + 1 task slot");
		for (i = 0; i < 4; i++)
			kid_kill(&f[i], SIGKILL);
		for (i = 0; i < 4; i++)
			wait_unbound(dc, f[i].ep);
		m3_dc_info(dc, &ci);
		is(ci.nr_bound, 1, "dead kids are unbound (nr_bound 1)");
	}
	/* proxy_bind argument checks (remote IPC is tested by rt_*) */
	{
		struct m3_proxy_bind pb = { 1, 1, 1, 1024 };

		ret = ioctl(m3_open(), M3_IOC_PROXY_BIND, &pb);
		is(ret < 0 ? -errno : ret, -EINVAL,
		   "proxy_bind: max_payload below the minimum: -EINVAL");
		is(m3_proxy_bind(node, getpid(), getpid(), 16384), -EINVAL,
		   "proxy_bind for the local node: -EINVAL");
		is(m3_proxy_unbind((node + 1) % 64), -ENOLINK,
		   "proxy_unbind without a proxy: -ENOLINK");
		is(m3_rmtbind(dc, M3_ENDPOINT(1, 0), (node + 1) % 64, "x"),
		   -ENONET, "rmtbind of a node outside the DC: -ENONET");
	}

	is(m3_dc_end(dc), 0, "dc_end");
	is(m3_getep(0), -ENOTCONN, "dc_end unbinds");
	ok(access("/proc/m3ipc/dc/t_admin", F_OK) < 0, "dc_end removes /proc/m3ipc/dc/t_admin");

	/* a second DC with the same name works after dc_end */
	dc2 = dc_spec("t_admin", -1, 0, 2, M3_DCF_SELF_BIND, 0);
	ok(dc2 >= 0, "DC name reusable after dc_end");
	m3_dc_end(dc2);

	/* m3ctl */
	if (system("m3ctl dump >/dev/null 2>&1") != 0) {
		printf("ok %d - m3ctl # SKIP m3ctl not in PATH\n", ++tap_n);
	} else {
		ret = run("m3ctl dc-init ctl --tasks 2 --procs 8", out, sizeof(out));
		dc = atoi(out);
		ok(!ret && dc >= 0, "m3ctl dc-init prints the dcid (%d)", dc);
		snprintf(path, sizeof(path), "m3ctl bind ctl %d 3", getpid());
		ret = run(path, out, sizeof(out));
		ep = atoi(out);
		ok(!ret && M3_EP_SLOT(ep) == 3 && m3_getep(0) == ep,
		   "m3ctl bind prints the endpoint");
		snprintf(path, sizeof(path), "m3ctl setpriv ctl %d server", ep);
		ok(!run(path, out, sizeof(out)), "m3ctl setpriv");
		ret = run("m3ctl dump", out, sizeof(out));
		snprintf(path, sizeof(path), "\"endpoint\":%d,\"pid\":%d,\"priv\":3",
			 ep, getpid());
		ok(!ret && out[0] == '{' && strstr(out, "\"name\":\"ctl\"") &&
		   strstr(out, path), "m3ctl dump: JSON with the DC and the process");
		snprintf(path, sizeof(path), "m3ctl unbind ctl %d", ep);
		ok(!run(path, out, sizeof(out)) && m3_getep(0) == -ENOTCONN,
		   "m3ctl unbind");
		ret = run("m3ctl dc-end nosuchdc 2>&1", out, sizeof(out));
		ok(WEXITSTATUS(ret) == 1 && strstr(out, "No such device or address"),
		   "m3ctl dc-end of a missing DC fails with a message");
		ok(!run("m3ctl dc-end ctl", out, sizeof(out)) &&
		   m3_dc_find("ctl") == -ENXIO, "m3ctl dc-end by name");
		ret = run("m3ctl frobnicate 2>&1", out, sizeof(out));
		ok(WEXITSTATUS(ret) == 2, "m3ctl: unknown command is a usage error");
	}
	return tap_done();
}
