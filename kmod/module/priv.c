// SPDX-License-Identifier: GPL-2.0
/*
 * priv.c - the M3-IPC privilege rules (lower number = more privileged).
 * Every rule returns 0 or -EACCES. Callers hold dc->lock.
 */
#include <linux/errno.h>

#include "m3ipc_internal.h"

/*
 * NOTIFY: src in {HARDWARE, KERNEL}, dst in {KERNEL, TASK}, src < dst.
 * In a compat DC the M3-IPC 1.6 rule instead: a system process notifies.
 */
int m3_priv_notify(struct m3_proc *src, struct m3_proc *dst)
{
	struct m3_dc *dc = src->dc;

	if (dc->flags & M3_DCF_COMPAT)
		return src->p_nr + (int)dc->nr_tasks < (int)dc->nr_sysprocs ?
			0 : -EACCES;
	if (src->priv > M3_PRIV_KERNEL)
		return -EACCES;
	if (dst->priv < M3_PRIV_KERNEL || dst->priv > M3_PRIV_TASK)
		return -EACCES;
	if (src->priv >= dst->priv)
		return -EACCES;
	return 0;
}

/* SEND: src in {KERNEL, TASK, SERVER} and src <= dst */
int m3_priv_send(struct m3_proc *src, struct m3_proc *dst)
{
	if (src->priv < M3_PRIV_KERNEL || src->priv > M3_PRIV_SERVER)
		return -EACCES;
	if (src->priv > dst->priv)
		return -EACCES;
	return 0;
}

/* SENDREC: a USER only to a level below USER; others to src >= dst */
int m3_priv_sendrec(struct m3_proc *src, struct m3_proc *dst)
{
	if (src->priv == M3_PRIV_USER)
		return dst->priv < M3_PRIV_USER ? 0 : -EACCES;
	return src->priv >= dst->priv ? 0 : -EACCES;
}

/* RECEIVE / RCVRQST: below USER */
int m3_priv_receive(struct m3_proc *caller)
{
	return caller->priv < M3_PRIV_USER ? 0 : -EACCES;
}

/* VCOPY: KERNEL only */
int m3_priv_vcopy(struct m3_proc *caller)
{
	return caller->priv == M3_PRIV_KERNEL ? 0 : -EACCES;
}
