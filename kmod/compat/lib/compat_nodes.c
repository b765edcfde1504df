// SPDX-License-Identifier: LGPL-2.1
/*
 * compat_nodes.c - mnx_getnodeinfo: the original's node table entry,
 * assembled from what the module shows: the DCs' node bitmaps (DC_INFO)
 * and a node's state and frame counters (/proc/m3ipc/nodes, proxies, the
 * module's documented tables; no ioctl returns them).
 */
#include <stdio.h>
#include <string.h>

#include "compat_internal.h"

/* the line of /proc/m3ipc/<table> for @nodeid (first column), or 0 */
static int proc_line(const char *table, int nodeid, char *line, size_t len)
{
	char path[64];
	FILE *f;
	int id, found = 0;

	snprintf(path, sizeof(path), "/proc/m3ipc/%s", table);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (!found && fgets(line, (int)len, f))
		found = sscanf(line, "%d", &id) == 1 && id == nodeid;
	fclose(f);
	return found;
}

long mnx_getnodeinfo(int nodeid, node_usr_t *node)
{
	struct m3_dvs_info di;
	struct m3_dc_info ci;
	unsigned long long out, in;
	char line[512], state[16];
	int dcid, local, ret;

	if (!node || nodeid < 0 || nodeid >= NR_NODES)
		return EMOLINVAL;
	ret = m3_dvs_info(&di);
	if (ret < 0)
		return ret;
	if (!di.initialized)
		return EMOLDVSINIT;
	memset(node, 0, sizeof(*node));
	node->n_nodeid = nodeid;
	node->n_proxies = nodeid;
	snprintf(node->n_name, sizeof(node->n_name), "node%d", nodeid);
	for (dcid = 0; dcid < M3_MAX_DCS; dcid++)
		if (m3_dc_info(dcid, &ci) == 0 && (ci.spec.nodes >> nodeid) & 1)
			node->n_dcs |= 1UL << dcid;
	/* "node_id state local": listed = known here */
	if (proc_line("nodes", nodeid, line, sizeof(line)) &&
	    sscanf(line, "%*d %15s %d", state, &local) == 2) {
		node->n_flags = NODE_ATTACHED;
		if (!local && !strcmp(state, "up"))
			node->n_flags |= NODE_SCONNECTED | NODE_RCONNECTED;
	}
	/* "node_id sender_pid receiver_pid max_payload frames_out bytes_out
	 * frames_in ..." */
	if (proc_line("proxies", nodeid, line, sizeof(line)) &&
	    sscanf(line, "%*d %*d %*d %*u %llu %*u %llu", &out, &in) == 2) {
		node->n_pxsent = out;
		node->n_pxrcvd = in;
	}
	return OK;
}
