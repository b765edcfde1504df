// SPDX-License-Identifier: GPL-2.0
/*
 * t_badinput - bad pointers, unknown ioctls and sizes, unbound callers,
 * bad endpoints, DC ids, timeouts and flags, and unprivileged callers
 * (a forked child that switched to uid nobody).
 */
#include <grp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "tap.h"

static const struct { unsigned long cmd; const char *name; } cmds[] = {
	{ M3_IOC_DVS_INIT, "DVS_INIT" }, { M3_IOC_DVS_END, "DVS_END" },
	{ M3_IOC_DVS_INFO, "DVS_INFO" }, { M3_IOC_DC_INIT, "DC_INIT" },
	{ M3_IOC_DC_END, "DC_END" }, { M3_IOC_DC_INFO, "DC_INFO" },
	{ M3_IOC_BIND, "BIND" }, { M3_IOC_UNBIND, "UNBIND" },
	{ M3_IOC_SETPRIV, "SETPRIV" }, { M3_IOC_PROC_INFO, "PROC_INFO" },
	{ M3_IOC_PROXY_BIND, "PROXY_BIND" }, { M3_IOC_SEND, "SEND" },
	{ M3_IOC_RECEIVE, "RECEIVE" }, { M3_IOC_SENDREC, "SENDREC" },
	{ M3_IOC_NOTIFY, "NOTIFY" }, { M3_IOC_RCVRQST, "RCVRQST" },
	{ M3_IOC_REPLY, "REPLY" }, { M3_IOC_REPLY_RCV, "REPLY_RCV" },
	{ M3_IOC_VCOPY, "VCOPY" }, { M3_IOC_GETEP, "GETEP" },
	{ M3_IOC_PROXY_UNBIND, "PROXY_UNBIND" }, { M3_IOC_ADD_NODE, "ADD_NODE" },
	{ M3_IOC_DEL_NODE, "DEL_NODE" }, { M3_IOC_RMTBIND, "RMTBIND" },
	{ M3_IOC_NODE_DOWN, "NODE_DOWN" }, { M3_IOC_NODE_UP, "NODE_UP" },
	{ M3_IOC_GET2RMT, "GET2RMT" }, { M3_IOC_PUT2LCL, "PUT2LCL" },
	{ M3_IOC_WAIT4BIND, "WAIT4BIND" },
};
#define NCMDS ((int)(sizeof(cmds) / sizeof(cmds[0])))

static int fd;

static long rawio(unsigned long cmd, void *arg)
{
	long r = ioctl(fd, cmd, arg);

	return r < 0 ? -errno : r;
}

static int ipc_args(unsigned long cmd, int ep, int tmo, unsigned int flags,
		    unsigned int pad)
{
	struct m3_ipc a;

	memset(&a, 0, sizeof(a));
	a.ep = ep;
	a.timeout_ms = tmo;
	a.flags = flags;
	a.pad = pad;
	return rawio(cmd, &a);
}

#define NUNPRIV 17
static const char *const unpriv_names[NUNPRIV] = {
	"unprivileged dvs_init: -EPERM",
	"unprivileged dvs_end: -EPERM",
	"unprivileged dc_init: -EPERM",
	"unprivileged dc_end: -EPERM",
	"unprivileged bind of another pid: -EPERM",
	"unprivileged unbind of another endpoint: -EPERM",
	"unprivileged setpriv of another endpoint: -EPERM",
	"unprivileged proxy_bind: -EPERM",
	"unprivileged dvs_info is allowed",
	"lowering one's own privilege TASK -> SERVER is allowed",
	"raising it back to TASK: -EPERM",
	"unbind SELF is allowed",
	"self-bind in a DC without the SELF_BIND flag: -EPERM",
	"self-bind in a SELF_BIND DC gives an endpoint",
	"getep after self-bind",
	"getep of a process in another DC: -EACCES",
	"self-bound process can do IPC (receive as USER: -EACCES)",
};

static int dc, dcsb, me;

/* runs as uid nobody; reports each result through the pipe */
static int fn_unpriv(void *arg)
{
	int r[NUNPRIV], wfd = kid_args[0], i = 0;
	struct m3_dc_spec s = { .name = "nope", .dcid = -1, .nr_procs = 1 };
	struct m3_proxy_bind pb = { 1, 1, 1, 1 };
	struct m3_dvs_info di;
	struct m3_msg m;

	if (setgroups(0, NULL) || setgid(65534) || setuid(65534))
		return -6000;
	r[i++] = m3_dvs_init(0, NULL);
	r[i++] = m3_dvs_end();
	r[i++] = m3_dc_init(&s);
	r[i++] = m3_dc_end(dc);
	r[i++] = m3_bind(dc, getppid(), M3_ANY_SLOT);
	r[i++] = m3_unbind(dc, me);
	r[i++] = m3_setpriv(dc, me, M3_PRIV_USER);
	r[i++] = rawio(M3_IOC_PROXY_BIND, &pb);
	r[i++] = m3_dvs_info(&di);
	r[i++] = m3_setpriv(dc, M3_SELF, M3_PRIV_SERVER);
	r[i++] = m3_setpriv(dc, M3_SELF, M3_PRIV_TASK);
	r[i++] = m3_unbind(dc, M3_SELF);
	r[i++] = m3_bind(dc, 0, M3_ANY_SLOT);
	r[i++] = m3_bind(dcsb, 0, M3_ANY_SLOT) > 0 ? 0 : -1;
	r[i++] = m3_getep(0) > 0 ? 0 : -1;
	r[i++] = m3_getep(getppid()) == -EACCES ? -EACCES : 1;
	r[i++] = m3_receive(M3_ANY, &m, 0);
	if (write(wfd, r, sizeof(r)) != sizeof(r))
		return -6001;
	return 0;
}

int main(void)
{
	static const int unpriv_exp[NUNPRIV] = {
		-EPERM, -EPERM, -EPERM, -EPERM, -EPERM, -EPERM, -EPERM, -EPERM,
		0, 0, -EPERM, 0, -EPERM, 0, 0, -EACCES, -EACCES,
	};
	void *ro;
	struct m3_msg m;
	struct kid k;
	int i, p[2], r[NUNPRIV];

	fd = m3_open();
	if (fd < 0)
		bail("open", fd);
	m3t_node_id();

	/* unknown commands and sizes */
	is(rawio(_IOWR('M', 0x7f, struct m3_ipc), &m), -ENOTTY, "unknown ioctl number: -ENOTTY");
	is(rawio(_IOWR('M', 0x20, char[8]), &m), -ENOTTY, "SEND with a wrong size: -ENOTTY");
	is(rawio(_IOWR('M', 0x01, char[200]), &m), -ENOTTY, "DVS_INIT with a wrong size: -ENOTTY");
	is(rawio(_IOR('M', 0x20, struct m3_ipc), &m), -ENOTTY, "SEND with a wrong direction: -ENOTTY");
	is(rawio(_IOWR('X', 0x20, struct m3_ipc), &m), -ENOTTY, "wrong ioctl type: -ENOTTY");
	is(rawio(_IO('M', 0), NULL), -ENOTTY, "ioctl 0: -ENOTTY");
	is(rawio(0x5401 /* TCGETS */, &m), -ENOTTY, "a tty ioctl: -ENOTTY");

	/* bad pointers (DVS_END/DC_END with garbage would be harmful, so
	 * only NULL / unmapped / read-only memory is used) */
	ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	for (i = 0; i < NCMDS; i++)
		is(rawio(cmds[i].cmd, NULL), -EFAULT, "%s(NULL): -EFAULT", cmds[i].name);
	for (i = 0; i < NCMDS; i++)
		is(rawio(cmds[i].cmd, (void *)0xdead0000UL), -EFAULT,
		   "%s(unmapped): -EFAULT", cmds[i].name);
	is(rawio(M3_IOC_DVS_INFO, ro), -EFAULT, "DVS_INFO into read-only memory: -EFAULT");
	is(rawio(M3_IOC_GETEP, (char *)ro + 4090), -EFAULT,
	   "GETEP straddling the end of a mapping: -EFAULT");

	/* not bound */
	msg_fill(&m, 1, "x");
	is(m3_send(12345678, &m, 0), -ENOTCONN, "send while not bound: -ENOTCONN");
	is(m3_receive(M3_ANY, &m, 0), -ENOTCONN, "receive while not bound: -ENOTCONN");
	is(m3_sendrec(12345678, &m, 0), -ENOTCONN, "sendrec while not bound: -ENOTCONN");
	is(m3_notify(12345678), -ENOTCONN, "notify while not bound: -ENOTCONN");
	is(m3_rcvrqst(M3_ANY, &m, 0), -ENOTCONN, "rcvrqst while not bound: -ENOTCONN");
	is(m3_reply(12345678, &m), -ENOTCONN, "reply while not bound: -ENOTCONN");
	is(m3_vcopy(M3_SELF, &m, M3_SELF, &m, 1), -ENOTCONN, "vcopy while not bound: -ENOTCONN");
	is(m3_getep(0), -ENOTCONN, "getep while not bound: -ENOTCONN");

	dc = setup_dc("t_bad", 2, 4, 0);
	dcsb = setup_dc("t_bad_sb", 0, 4, M3_DCF_SELF_BIND);
	kid_dc = dc;
	me = bind_self(dc, M3_PRIV_TASK);

	/* bad endpoints */
	is(m3_send(0, &m, 0), -EBADSLT, "send to endpoint 0: -EBADSLT");
	is(m3_send(-5, &m, 0), -EBADSLT, "send to endpoint -5: -EBADSLT");
	is(m3_send(M3_NONE, &m, 0), -EBADSLT, "send to NONE: -EBADSLT");
	is(m3_send(M3_ANY, &m, 0), -EBADSLT, "send to ANY: -EBADSLT");
	is(m3_send(M3_ENDPOINT(0, 1), &m, 0), -EBADSLT, "send to generation 0: -EBADSLT");
	is(m3_send(M3_ENDPOINT(1, 4), &m, 0), -EBADSLT, "send to slot nr_procs: -EBADSLT");
	is(m3_send(M3_ENDPOINT(1, -3), &m, 0), -EBADSLT, "send to slot -nr_tasks-1: -EBADSLT");
	is(m3_send(M3_ENDPOINT(1, 3), &m, 0), -ESTALE, "send to a never-bound slot: -ESTALE");
	is(m3_receive(M3_NONE, &m, 0), -EBADSLT, "receive from NONE: -EBADSLT");
	is(m3_notify(M3_ANY), -EBADSLT, "notify ANY: -EBADSLT");
	is(m3_reply(0x7fffffff, &m), -EBADSLT, "reply to 0x7fffffff: -EBADSLT");

	/* bad timeouts / flags / padding */
	is(ipc_args(M3_IOC_RECEIVE, M3_ANY, -2, 0, 0), -EINVAL, "timeout -2: -EINVAL");
	{
		struct m3_wait4bind w = { .timeout_ms = -2 };

		is(rawio(M3_IOC_WAIT4BIND, &w), -EINVAL, "wait4bind timeout -2: -EINVAL");
	}
	is(ipc_args(M3_IOC_SEND, me, -1000, 0, 0), -EINVAL, "timeout -1000: -EINVAL");
	is(ipc_args(M3_IOC_RECEIVE, M3_ANY, 0, 1, 0), -EINVAL, "flags != 0: -EINVAL");
	is(ipc_args(M3_IOC_SEND, me, 0, 0, 7), -EINVAL, "pad != 0: -EINVAL");
	is(m3_reply_receive(M3_NONE, NULL, M3_ANY, &m, 0, 0x80, NULL), -EINVAL,
	   "reply_receive unknown flag: -EINVAL");
	is(m3_reply_receive(M3_NONE, NULL, M3_ANY, &m, -7, 0, NULL), -EINVAL,
	   "reply_receive timeout -7: -EINVAL");
	{
		struct m3_dc_ref d = { .dcid = 1, .pad = 0 };

		is(rawio(M3_IOC_DVS_END, &d), -EINVAL, "dvs_end with garbage: -EINVAL");
		d.dcid = dc;
		d.pad = 1;
		is(rawio(M3_IOC_DC_END, &d), -EINVAL, "dc_end with pad != 0: -EINVAL");
	}
	{
		struct m3_setpriv sp = { dc, me, 2, 1 };

		is(rawio(M3_IOC_SETPRIV, &sp), -EINVAL, "setpriv with pad != 0: -EINVAL");
	}

	/* bad DC ids */
	is(m3_bind(-1, 0, M3_ANY_SLOT), -ENXIO, "bind dcid -1: -ENXIO");
	is(m3_bind(M3_MAX_DCS, 0, M3_ANY_SLOT), -ENXIO, "bind dcid 32: -ENXIO");
	is(m3_dc_end(1000), -ENXIO, "dc_end 1000: -ENXIO");
	is(m3_setpriv(-7, me, 2), -ENXIO, "setpriv dcid -7: -ENXIO");
	is(m3_unbind(M3_MAX_DCS - 1, me), -ENXIO, "unbind in a free dcid: -ENXIO");
	is(m3_proc_info(1234, 0, &(struct m3_proc_info){ 0 }), -ENXIO,
	   "proc_info dcid 1234: -ENXIO");

	/* unprivileged caller */
	if (pipe(p))
		bail("pipe", -errno);
	kid_start(&k, M3_PRIV_TASK, fn_unpriv, NULL);
	kid_go1(&k, p[1]);
	is(kid_result(&k), 0, "unprivileged child ran");
	if (read(p[0], r, sizeof(r)) != sizeof(r))
		memset(r, 0x7f, sizeof(r));
	for (i = 0; i < NUNPRIV; i++)
		is(r[i], unpriv_exp[i], "%s", unpriv_names[i]);
	is(m3_getep(0), me, "we are still bound after all that");
	{
		struct m3_dvs_info di;

		m3_dvs_info(&di);
		ok(di.initialized, "DVS still up after all that");
	}
	m3_dc_end(dcsb);
	m3_dc_end(dc);
	return tap_done();
}
