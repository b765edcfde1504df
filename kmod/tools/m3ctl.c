// SPDX-License-Identifier: GPL-2.0
/*
 * m3ctl - M3-IPC administration.
 *
 *   m3ctl dvs-init NODE [--dcs N] [--tasks N] [--procs N]
 *   m3ctl dvs-end
 *   m3ctl dc-init NAME [--tasks N] [--procs N] [--cpus MASK] [--id N]
 *                      [--self-bind] [--wake-affine] [--compat [--sysprocs N]]
 *                                               (prints the dcid; --compat:
 *                                               M3-IPC 1.6 rules, see m3ipc.h)
 *   m3ctl dc-end NAME|ID
 *   m3ctl bind DC PID [SLOT]                    (prints the endpoint)
 *   m3ctl unbind DC EP
 *   m3ctl setpriv DC EP LEVEL       LEVEL: 0..4 or hardware|kernel|task|server|user
 *                                   (also the level of a remote descriptor on
 *                                   this node: frames never carry privilege)
 *   m3ctl getep PID
 *   m3ctl dump                                  (JSON on stdout)
 *   m3ctl add-node DC NODE | del-node DC NODE   (the DC's node bitmap)
 *   m3ctl rmtbind DC EP NODE [NAME] [--priv LEVEL]
 *                                   (remote process descriptor, level USER
 *                                   unless --priv: rmtbind, then setpriv)
 *   m3ctl proxy-unbind NODE | node-down NODE | node-up NODE
 *
 * DC is a name or a dcid. Exit status 0 on success, 1 on an M3 error
 * (message on stderr), 2 on a usage error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/libm3ipc.h"

static const char *prog = "m3ctl";

static void usage(void)
{
	fprintf(stderr,
		"usage: m3ctl dvs-init NODE [--dcs N] [--tasks N] [--procs N]\n"
		"       m3ctl dvs-end\n"
		"       m3ctl dc-init NAME [--tasks N] [--procs N] [--cpus MASK] [--id N] [--self-bind]\n"
		"                         [--wake-affine] [--compat [--sysprocs N]]\n"
		"       m3ctl dc-end NAME|ID\n"
		"       m3ctl bind DC PID [SLOT]\n"
		"       m3ctl unbind DC EP\n"
		"       m3ctl setpriv DC EP LEVEL\n"
		"       m3ctl getep PID\n"
		"       m3ctl dump\n"
		"       m3ctl add-node DC NODE | del-node DC NODE\n"
		"       m3ctl rmtbind DC EP NODE [NAME] [--priv LEVEL]\n"
		"       m3ctl proxy-unbind NODE | node-down NODE | node-up NODE\n");
	exit(2);
}

static long num(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 0);
	if (errno || !*s || *end) {
		fprintf(stderr, "%s: not a number: %s\n", prog, s);
		exit(2);
	}
	return v;
}

static int fail(const char *what, int err)
{
	fprintf(stderr, "%s: %s: %s\n", prog, what, strerror(-err));
	return 1;
}

static int dc_arg(const char *s)
{
	char *end;
	long v = strtol(s, &end, 0);
	int ret;

	if (*s && !*end)
		return (int)v;
	ret = m3_dc_find(s);
	if (ret < 0) {
		fail(s, ret);
		exit(1);
	}
	return ret;
}

static int priv_arg(const char *s)
{
	static const char *const names[] = {
		"hardware", "kernel", "task", "server", "user"
	};
	int i;

	for (i = 0; i < 5; i++)
		if (!strcasecmp(s, names[i]))
			return i;
	return (int)num(s);
}

static void json_str(const char *s, size_t max)
{
	size_t i;

	putchar('"');
	for (i = 0; i < max && s[i]; i++) {
		unsigned char c = s[i];

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static int dump(void)
{
	struct m3_dvs_info di;
	struct m3_dc_info ci;
	struct m3_proc_info pi;
	int ret, i, p, first_dc = 1, first_p;

	ret = m3_dvs_info(&di);
	if (ret < 0)
		return fail("dvs-info", ret);
	printf("{\"abi\":%u,\"initialized\":%s,\"node_id\":%d,"
	       "\"limits\":{\"max_dcs\":%u,\"max_tasks\":%u,\"max_procs\":%u},"
	       "\"nodes\":\"0x%llx\",\"nr_dcs\":%u,\"nr_bound\":%llu,\"dcs\":[",
	       di.abi_version, di.initialized ? "true" : "false", di.node_id,
	       di.limits.max_dcs, di.limits.max_tasks, di.limits.max_procs,
	       (unsigned long long)di.nodes, di.nr_dcs,
	       (unsigned long long)di.nr_bound);
	for (i = 0; di.initialized && i < (int)di.limits.max_dcs; i++) {
		if (m3_dc_info(i, &ci) < 0)
			continue;
		printf("%s{\"dcid\":%d,\"name\":", first_dc ? "" : ",", i);
		first_dc = 0;
		json_str(ci.spec.name, sizeof(ci.spec.name));
		printf(",\"nr_tasks\":%u,\"nr_procs\":%u,\"flags\":%u,"
		       "\"nr_sysprocs\":%u,"
		       "\"cpumask\":\"0x%llx\",\"nodes\":\"0x%llx\","
		       "\"nr_bound\":%u,\"procs\":[",
		       ci.spec.nr_tasks, ci.spec.nr_procs, ci.spec.flags,
		       ci.spec.nr_sysprocs,
		       (unsigned long long)ci.spec.cpumask,
		       (unsigned long long)ci.spec.nodes, ci.nr_bound);
		first_p = 1;
		for (p = -(int)ci.spec.nr_tasks; p < (int)ci.spec.nr_procs; p++) {
			if (m3_proc_info(i, p, &pi) < 0 || pi.endpoint == M3_NONE)
				continue;
			printf("%s{\"p_nr\":%d,\"endpoint\":%d,\"pid\":%d,"
			       "\"priv\":%d,\"node\":%d,\"state\":%u,"
			       "\"send_to\":%d,\"getfrom\":%d,"
			       "\"notify_pending\":%u,\"msgs_sent\":%llu,"
			       "\"msgs_rcvd\":%llu,\"comm\":",
			       first_p ? "" : ",", p, pi.endpoint, pi.pid,
			       pi.priv, pi.node, pi.state, pi.send_to,
			       pi.getfrom, pi.notify_pending,
			       (unsigned long long)pi.msgs_sent,
			       (unsigned long long)pi.msgs_rcvd);
			first_p = 0;
			json_str(pi.comm, sizeof(pi.comm));
			putchar('}');
		}
		printf("]}");
	}
	printf("]}\n");
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd;
	int ret, i;

	if (argc < 2)
		usage();
	cmd = argv[1];
	ret = m3_open();
	if (ret < 0)
		return fail(M3_DEVICE, ret);

	if (!strcmp(cmd, "dvs-init")) {
		struct m3_dvs_limits lim = { 0 };

		if (argc < 3)
			usage();
		for (i = 3; i + 1 < argc; i += 2) {
			if (!strcmp(argv[i], "--dcs"))
				lim.max_dcs = num(argv[i + 1]);
			else if (!strcmp(argv[i], "--tasks"))
				lim.max_tasks = num(argv[i + 1]);
			else if (!strcmp(argv[i], "--procs"))
				lim.max_procs = num(argv[i + 1]);
			else
				usage();
		}
		if (i != argc)
			usage();
		ret = m3_dvs_init(num(argv[2]), &lim);
		return ret < 0 ? fail(cmd, ret) : 0;
	}
	if (!strcmp(cmd, "dvs-end")) {
		ret = m3_dvs_end();
		return ret < 0 ? fail(cmd, ret) : 0;
	}
	if (!strcmp(cmd, "dc-init")) {
		struct m3_dc_spec spec;

		if (argc < 3 || strlen(argv[2]) >= M3_DC_NAME_LEN)
			usage();
		memset(&spec, 0, sizeof(spec));
		strcpy(spec.name, argv[2]);
		spec.dcid = -1;
		spec.nr_tasks = 16;
		spec.nr_procs = 64;
		for (i = 3; i < argc; i++) {
			if (!strcmp(argv[i], "--self-bind")) {
				spec.flags |= M3_DCF_SELF_BIND;
				continue;
			}
			if (!strcmp(argv[i], "--compat")) {
				spec.flags |= M3_DCF_COMPAT;
				continue;
			}
			if (!strcmp(argv[i], "--wake-affine")) {
				spec.flags |= M3_DCF_WAKE_AFFINE;
				continue;
			}
			if (i + 1 >= argc)
				usage();
			if (!strcmp(argv[i], "--tasks"))
				spec.nr_tasks = num(argv[++i]);
			else if (!strcmp(argv[i], "--procs"))
				spec.nr_procs = num(argv[++i]);
			else if (!strcmp(argv[i], "--cpus"))
				spec.cpumask = strtoull(argv[++i], NULL, 0);
			else if (!strcmp(argv[i], "--id"))
				spec.dcid = num(argv[++i]);
			else if (!strcmp(argv[i], "--sysprocs"))
				spec.nr_sysprocs = num(argv[++i]);
			else
				usage();
		}
		ret = m3_dc_init(&spec);
		if (ret < 0)
			return fail(cmd, ret);
		printf("%d\n", ret);
		return 0;
	}
	if (!strcmp(cmd, "dc-end")) {
		if (argc != 3)
			usage();
		ret = m3_dc_end(dc_arg(argv[2]));
		return ret < 0 ? fail(cmd, ret) : 0;
	}
	if (!strcmp(cmd, "bind")) {
		if (argc != 4 && argc != 5)
			usage();
		ret = m3_bind(dc_arg(argv[2]), num(argv[3]),
			      argc == 5 ? num(argv[4]) : M3_ANY_SLOT);
		if (ret < 0)
			return fail(cmd, ret);
		printf("%d\n", ret);
		return 0;
	}
	if (!strcmp(cmd, "unbind")) {
		if (argc != 4)
			usage();
		ret = m3_unbind(dc_arg(argv[2]), num(argv[3]));
		return ret < 0 ? fail(cmd, ret) : 0;
	}
	if (!strcmp(cmd, "setpriv")) {
		if (argc != 5)
			usage();
		ret = m3_setpriv(dc_arg(argv[2]), num(argv[3]),
				 priv_arg(argv[4]));
		return ret < 0 ? fail(cmd, ret) : 0;
	}
	if (!strcmp(cmd, "getep")) {
		if (argc != 3)
			usage();
		ret = m3_getep(num(argv[2]));
		if (ret < 0)
			return fail(cmd, ret);
		printf("%d\n", ret);
		return 0;
	}
	if (!strcmp(cmd, "dump"))
		return dump();
	if (!strcmp(cmd, "add-node") || !strcmp(cmd, "del-node")) {
		if (argc != 4)
			usage();
		ret = (cmd[0] == 'a' ? m3_add_node : m3_del_node)
			(dc_arg(argv[2]), num(argv[3]));
		return ret < 0 ? fail(cmd, ret) : 0;
	}
	if (!strcmp(cmd, "rmtbind")) {
		int level = -1, dc;

		if (argc >= 7 && !strcmp(argv[argc - 2], "--priv")) {
			level = priv_arg(argv[argc - 1]);
			argc -= 2;
		}
		if (argc != 5 && argc != 6)
			usage();
		dc = dc_arg(argv[2]);
		ret = m3_rmtbind(dc, num(argv[3]), num(argv[4]),
				 argc == 6 ? argv[5] : NULL);
		if (ret >= 0 && level >= 0)
			ret = m3_setpriv(dc, num(argv[3]), level);
		return ret < 0 ? fail(cmd, ret) : 0;
	}
	if (!strcmp(cmd, "proxy-unbind") || !strcmp(cmd, "node-down") ||
	    !strcmp(cmd, "node-up")) {
		if (argc != 3)
			usage();
		ret = (cmd[0] == 'p' ? m3_proxy_unbind : cmd[5] == 'd' ?
		       m3_node_down : m3_node_up)(num(argv[2]));
		return ret < 0 ? fail(cmd, ret) : 0;
	}
	usage();
	return 2;
}
