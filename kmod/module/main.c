// SPDX-License-Identifier: GPL-2.0
/*
 * main.c - M3-IPC: misc device /dev/m3ipc, ioctl dispatch, module init/exit.
 */
#include <linux/capability.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/uaccess.h>

#include "m3ipc_internal.h"

DEFINE_MUTEX(m3_admin_mutex);
struct m3_dvs m3_dvs;
struct workqueue_struct *m3_wq;
atomic_t m3_nr_bound = ATOMIC_INIT(0);

#define M3_F_ADMIN	0x1	/* needs CAP_SYS_ADMIN */
#define M3_F_ALWAYS_OUT	0x4	/* copy back even on error */

union m3_ioc_arg {
	struct m3_ipc ipc;
	struct m3_reply_rcv rr;
	struct m3_vcopy vc;
	struct m3_getep ge;
	struct m3_wait4bind w4b;
	struct m3_dvs_init di;
	struct m3_dvs_info dinfo;
	struct m3_dc_spec spec;
	struct m3_dc_ref ref;
	struct m3_dc_info dcinfo;
	struct m3_bind bind;
	struct m3_unbind unbind;
	struct m3_setpriv sp;
	struct m3_proc_info pinfo;
	struct m3_proxy_bind pb;
	struct m3_node_ref nref;
	struct m3_dc_node dn;
	struct m3_rmtbind rb;
	struct m3_get2rmt g2r;
	struct m3_put2lcl p2l;
	struct m3_link_set ls;
	struct m3_link_hello lh;
};

static int m3_ioc_dvs_init(union m3_ioc_arg *a)
{
	return m3_dvs_init(&a->di);
}

static int m3_ioc_dvs_end(union m3_ioc_arg *a)
{
	if (a->ref.dcid || a->ref.pad)
		return -EINVAL;
	return m3_dvs_end();
}

static int m3_ioc_dvs_info(union m3_ioc_arg *a)
{
	m3_dvs_get_info(&a->dinfo);
	return 0;
}

static int m3_ioc_dc_init(union m3_ioc_arg *a)
{
	return m3_dc_init(&a->spec);
}

static int m3_ioc_dc_end(union m3_ioc_arg *a)
{
	if (a->ref.pad)
		return -EINVAL;
	return m3_dc_end(a->ref.dcid);
}

static int m3_ioc_dc_info(union m3_ioc_arg *a)
{
	return m3_dc_get_info(&a->dcinfo);
}

static int m3_ioc_bind(union m3_ioc_arg *a)
{
	return m3_bind(&a->bind);
}

static int m3_ioc_unbind(union m3_ioc_arg *a)
{
	return m3_unbind(&a->unbind);
}

static int m3_ioc_setpriv(union m3_ioc_arg *a)
{
	return m3_setpriv(&a->sp);
}

static int m3_ioc_proc_info(union m3_ioc_arg *a)
{
	return m3_proc_info(&a->pinfo);
}

static int m3_ioc_proxy_bind(union m3_ioc_arg *a)
{
	return m3_proxy_bind(&a->pb);
}

static int m3_ioc_proxy_unbind(union m3_ioc_arg *a)
{
	return m3_proxy_unbind(&a->nref);
}

static int m3_ioc_add_node(union m3_ioc_arg *a)
{
	return m3_add_node(&a->dn);
}

static int m3_ioc_del_node(union m3_ioc_arg *a)
{
	return m3_del_node(&a->dn);
}

static int m3_ioc_rmtbind(union m3_ioc_arg *a)
{
	return m3_rmtbind(&a->rb);
}

static int m3_ioc_node_down(union m3_ioc_arg *a)
{
	return m3_node_down(&a->nref);
}

static int m3_ioc_node_up(union m3_ioc_arg *a)
{
	return m3_node_up(&a->nref);
}

static int m3_ioc_get2rmt(union m3_ioc_arg *a)
{
	return m3_get2rmt(&a->g2r);
}

static int m3_ioc_put2lcl(union m3_ioc_arg *a)
{
	return m3_put2lcl(&a->p2l);
}

static int m3_ioc_link_set(union m3_ioc_arg *a)
{
	int ret = m3_link_set(&a->ls);

	/* the keys stay in the module only */
	memzero_explicit(&a->ls, sizeof(a->ls));
	return ret;
}

static int m3_ioc_link_hello(union m3_ioc_arg *a)
{
	return m3_link_hello(&a->lh);
}

static int m3_ioc_send(union m3_ioc_arg *a)
{
	return m3_ipc_send(&a->ipc);
}

static int m3_ioc_receive(union m3_ioc_arg *a)
{
	return m3_ipc_receive(&a->ipc, false);
}

static int m3_ioc_sendrec(union m3_ioc_arg *a)
{
	return m3_ipc_sendrec(&a->ipc);
}

static int m3_ioc_notify(union m3_ioc_arg *a)
{
	return m3_ipc_notify(&a->ipc);
}

static int m3_ioc_rcvrqst(union m3_ioc_arg *a)
{
	return m3_ipc_receive(&a->ipc, true);
}

static int m3_ioc_reply(union m3_ioc_arg *a)
{
	return m3_ipc_reply(&a->ipc);
}

static int m3_ioc_reply_rcv(union m3_ioc_arg *a)
{
	return m3_ipc_reply_rcv(&a->rr);
}

static int m3_ioc_vcopy(union m3_ioc_arg *a)
{
	int ret = m3_vcopy(&a->vc);

	/* an endpoint names a remote process: chunks through the proxies */
	if (ret == -EREMOTE)
		ret = m3_rvcopy(&a->vc);
	return ret;
}

static int m3_ioc_getep(union m3_ioc_arg *a)
{
	return m3_getep(&a->ge);
}

static int m3_ioc_wait4bind(union m3_ioc_arg *a)
{
	return m3_wait4bind(&a->w4b);
}

struct m3_ioc_desc {
	unsigned int cmd;
	unsigned int flags;
	int (*fn)(union m3_ioc_arg *a);
};

static const struct m3_ioc_desc m3_ioc_table[] = {
	{ M3_IOC_DVS_INIT,   M3_F_ADMIN,		m3_ioc_dvs_init },
	{ M3_IOC_DVS_END,    M3_F_ADMIN,		m3_ioc_dvs_end },
	{ M3_IOC_DVS_INFO,   0,				m3_ioc_dvs_info },
	{ M3_IOC_DC_INIT,    M3_F_ADMIN,		m3_ioc_dc_init },
	{ M3_IOC_DC_END,     M3_F_ADMIN,		m3_ioc_dc_end },
	{ M3_IOC_DC_INFO,    0,				m3_ioc_dc_info },
	{ M3_IOC_BIND,       0,				m3_ioc_bind },
	{ M3_IOC_UNBIND,     0,				m3_ioc_unbind },
	{ M3_IOC_SETPRIV,    0,				m3_ioc_setpriv },
	{ M3_IOC_PROC_INFO,  0,				m3_ioc_proc_info },
	{ M3_IOC_PROXY_BIND, M3_F_ADMIN,		m3_ioc_proxy_bind },
	{ M3_IOC_PROXY_UNBIND, M3_F_ADMIN, m3_ioc_proxy_unbind },
	{ M3_IOC_ADD_NODE,   M3_F_ADMIN,		m3_ioc_add_node },
	{ M3_IOC_DEL_NODE,   M3_F_ADMIN,		m3_ioc_del_node },
	{ M3_IOC_RMTBIND,    M3_F_ADMIN,		m3_ioc_rmtbind },
	{ M3_IOC_NODE_DOWN,  M3_F_ADMIN,		m3_ioc_node_down },
	{ M3_IOC_NODE_UP,    M3_F_ADMIN,		m3_ioc_node_up },
	{ M3_IOC_GET2RMT,    M3_F_ADMIN,		m3_ioc_get2rmt },
	{ M3_IOC_PUT2LCL,    M3_F_ADMIN,		m3_ioc_put2lcl },
	{ M3_IOC_LINK_SET,   M3_F_ADMIN,		m3_ioc_link_set },
	{ M3_IOC_LINK_HELLO, M3_F_ADMIN,		m3_ioc_link_hello },
	{ M3_IOC_SEND,       0,				m3_ioc_send },
	{ M3_IOC_RECEIVE,    0,				m3_ioc_receive },
	{ M3_IOC_SENDREC,    0,				m3_ioc_sendrec },
	{ M3_IOC_NOTIFY,     0,				m3_ioc_notify },
	{ M3_IOC_RCVRQST,    0,				m3_ioc_rcvrqst },
	{ M3_IOC_REPLY,      0,				m3_ioc_reply },
	{ M3_IOC_REPLY_RCV,  M3_F_ALWAYS_OUT,		m3_ioc_reply_rcv },
	{ M3_IOC_VCOPY,      M3_F_ALWAYS_OUT,		m3_ioc_vcopy },
	{ M3_IOC_GETEP,      0,				m3_ioc_getep },
	{ M3_IOC_WAIT4BIND,  0,				m3_ioc_wait4bind },
};

static long m3_ioctl(struct file *file, unsigned int cmd, unsigned long uarg)
{
	void __user *up = (void __user *)uarg;
	const struct m3_ioc_desc *d = NULL;
	union m3_ioc_arg a;
	unsigned int size;
	size_t i;
	int ret;

	for (i = 0; i < ARRAY_SIZE(m3_ioc_table); i++) {
		if (m3_ioc_table[i].cmd == cmd) {
			d = &m3_ioc_table[i];
			break;
		}
	}
	if (!d)
		return -ENOTTY;

	size = _IOC_SIZE(cmd);
	if (WARN_ON_ONCE(size > sizeof(a)))
		return -ENOTTY;
	if ((d->flags & M3_F_ADMIN) && !capable(CAP_SYS_ADMIN))
		return -EPERM;
	/* the number's direction says what is read and what is written */
	if (_IOC_DIR(cmd) & _IOC_WRITE) {
		if (copy_from_user(&a, up, size))
			return -EFAULT;
	} else {
		memset(&a, 0, size);
	}

	ret = d->fn(&a);
	/* frames this call queued for a node with a kernel link leave now */
	m3_links_flush();

	if (!(_IOC_DIR(cmd) & _IOC_READ))
		return ret;
	if (ret < 0 && !(d->flags & M3_F_ALWAYS_OUT))
		return ret;
	if (copy_to_user(up, &a, size))
		return -EFAULT;
	return ret;
}

static const struct file_operations m3_fops = {
	.owner		= THIS_MODULE,
	.unlocked_ioctl	= m3_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.llseek		= noop_llseek,
};

static struct miscdevice m3_miscdev = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= M3_NAME,
	.fops	= &m3_fops,
	.mode	= 0666,
};

static int __init m3_init(void)
{
	int ret;

	m3_rmt_init();
	m3_wq = alloc_workqueue("m3ipc", 0, 0);
	if (!m3_wq)
		return -ENOMEM;
	ret = m3_link_init();
	if (ret)
		goto err_wq;

	ret = m3_procfs_init();
	if (ret)
		goto err_link;

	ret = m3_exit_hook_init();
	if (ret)
		goto err_procfs;

	ret = m3_affinity_init();
	if (ret)
		goto err_hook;

	ret = misc_register(&m3_miscdev);
	if (ret)
		goto err_affinity;

	pr_info("m3ipc: loaded, ABI %d\n", M3_ABI_VERSION);
	return 0;

err_affinity:
	m3_affinity_exit();
err_hook:
	m3_exit_hook_exit();
err_procfs:
	m3_procfs_exit();
err_link:
	m3_link_exit();
err_wq:
	destroy_workqueue(m3_wq);
	return ret;
}

static void __exit m3_exit(void)
{
	/* no file is open (fops.owner pins the module), so no ioctl runs */
	misc_deregister(&m3_miscdev);
	/* after this no exit probe runs any more */
	m3_exit_hook_exit();

	m3_dvs_end();	/* -ENODEV when not initialized: nothing to do */
	m3_affinity_exit();	/* the restores it queued run in m3_wq */

	m3_procfs_exit();
	m3_rmt_stop();
	/* frees the DCs whose last reference was dropped */
	destroy_workqueue(m3_wq);
	m3_rmt_exit();		/* proxies of a DVS never ended, if any */
	m3_link_exit();		/* after the nodes let go of their links */
	WARN_ON(atomic_read(&m3_nr_bound));
	pr_info("m3ipc: unloaded\n");
}

module_init(m3_init);
module_exit(m3_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("m3lab");
MODULE_DESCRIPTION("M3-IPC: MINIX-style message passing between Linux processes");
