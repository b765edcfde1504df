// SPDX-License-Identifier: LGPL-2.1
/*
 * compat_errors.c - the one table from module errnos to the original's
 * error codes (documented in kmod/docs/compat.md, "Error codes"): every
 * libm3ipc call of the library returns through mnx_err(), so a program
 * sees the original's values. The build also checks the constants the
 * header spells out by hand against the module's ABI.
 */
#include "compat_internal.h"
#include "../m3ipc_dvk.h"

_Static_assert(ANY == M3_ANY && NONE == M3_NONE && SELF == M3_SELF,
	       "special endpoints agree with the module");
_Static_assert(TIMEOUT_FOREVER == M3_TIMEOUT_FOREVER &&
	       TIMEOUT_NOWAIT == M3_TIMEOUT_NOWAIT, "timeouts agree");
_Static_assert(NOTIFY_MESSAGE != M3_MTYPE_NOTIFY,
	       "compat_ipc.c turns M3_MTYPE_NOTIFY into NOTIFY_MESSAGE");
_Static_assert(_ENDPOINT_P(_ENDPOINT(3, -5)) == -5 &&
	       _ENDPOINT_G(_ENDPOINT(3, -5)) == 3 &&
	       _ENDPOINT_P(_ENDPOINT(0, NR_PROCS - 1)) == NR_PROCS - 1 &&
	       _ENDPOINT(0, 7) == 7,
	       "the original's endpoint numbering");
_Static_assert(_ENDPOINT(_ENDPOINT_MAX_GENERATION, NR_PROCS) < 0x7fffffff &&
	       _ENDPOINT_MAX_GENERATION + 1 == M3_GEN_MAX,
	       "every module generation has an endpoint of the original");
_Static_assert(ANY < _ENDPOINT_GENERATION_SIZE - NR_TASKS &&
	       SELF < _ENDPOINT_GENERATION_SIZE - NR_TASKS &&
	       NR_PROCS < NONE,
	       "ANY, NONE, SELF are no endpoint of a slot");
_Static_assert(USER_PRIV == 0 && SERVER_PRIV == 1 && TASK_PRIV == 2 &&
	       SYSTEM_PRIV == 3 && KERNEL_PRIV == 4 && PROXY_PRIV == 5 &&
	       HARDWARE_PRIV == 6 && M3_PRIV_HARDWARE < M3_PRIV_USER,
	       "the original's levels rise with privilege, the module's fall");
_Static_assert(DC_NAME_LEN == M3_DC_NAME_LEN, "DC names");
_Static_assert(MNX_DVS_IOCTL == DVK_IOCTL && MNX_DVS_USERMODE == DVK_USERMODE &&
	       MNX_DVS_INITIALIZED == DVK_INITIALIZED, "the DVK's DVS flags");
_Static_assert(NR_DCS <= M3_MAX_DCS && NR_NODES <= M3_MAX_NODES &&
	       NR_TASKS <= M3_MAX_TASKS && NR_PROCS <= M3_MAX_PROCS,
	       "a DC of the original's sizes fits the module's limits");
_Static_assert(MAXCOPYBUF == M3_RMT_MAX_PAYLOAD && MAXDCNAME == DC_NAME_LEN,
	       "buffer limits agree with the module");

/*
 * Each errno the module returns and its one name (the original's meaning;
 * tests/unit/compat-errors.test.ts checks the module's sources against this
 * table).
 */
static const struct {
	int errnum;
	long code;
} mnx_errnos[] = {
	{ EPIPE, EMOLDSTDIED },
	{ ECONNRESET, EMOLSRCDIED },
	{ ENOTCONN, EMOLNOTBIND },
	{ ESTALE, EMOLENDPOINT },
	{ EDEADLK, EMOLLOCKED },
	{ ENOLINK, EMOLNOPROXY },
	{ EHOSTDOWN, EMOLNOTCONN },
	{ ENONET, EMOLNODCNODE },
	{ EREMOTE, EMOLRMTPROC },
	{ EPROTO, EMOLBADREQUEST },
	{ EMSGSIZE, EMOLMSGSIZE },
	{ ENOBUFS, EMOLOUTOFBUFS },
	{ ETIMEDOUT, EMOLTIMEDOUT },
	{ EAGAIN, EMOLAGAIN },
	{ EACCES, EMOLACCES },
	{ EPERM, EMOLPERM },
	{ ENXIO, EMOLBADDCID },
	{ ENODEV, EMOLDVSINIT },
	{ EBADSLT, EMOLBADPROC },
	{ EBUSY, EMOLBUSY },
	{ EBADE, EMOLNOTREADY },
	{ ESRCH, EMOLBADPID },
	{ EINVAL, EMOLINVAL },
	{ EFAULT, EMOLFAULT },
	{ ENOTTY, EMOLBADCALL },
	{ EINTR, EMOLINTR },
	{ ENOMEM, EMOLNOMEM },
	{ ENOSYS, EMOLNOSYS },
};

long mnx_err(long ret)
{
	unsigned int i;

	if (ret >= 0)
		return ret;
	for (i = 0; i < sizeof(mnx_errnos) / sizeof(mnx_errnos[0]); i++)
		if (-ret == mnx_errnos[i].errnum)
			return mnx_errnos[i].code;
	/* 1..40 number the same conditions in Linux and the original
	 * (EMOLNOENT is -ENOENT, ...); anything else has no name here */
	return -ret <= 40 ? ret : EMOLGENERIC;
}

static const struct {
	long code;
	const char *name;
} mnx_errors[] = {
	{ EMOLDSTDIED, "EMOLDSTDIED" },
	{ EMOLSRCDIED, "EMOLSRCDIED" },
	{ EMOLNOTBIND, "EMOLNOTBIND" },
	{ EMOLENDPOINT, "EMOLENDPOINT" },
	{ EMOLLOCKED, "EMOLLOCKED" },
	{ EMOLNOPROXY, "EMOLNOPROXY" },
	{ EMOLNOTCONN, "EMOLNOTCONN" },
	{ EMOLNODCNODE, "EMOLNODCNODE" },
	{ EMOLRMTPROC, "EMOLRMTPROC" },
	{ EMOLBADREQUEST, "EMOLBADREQUEST" },
	{ EMOLMSGSIZE, "EMOLMSGSIZE" },
	{ EMOLOUTOFBUFS, "EMOLOUTOFBUFS" },
	{ EMOLGENERIC, "EMOLGENERIC" },
	{ EMOLTIMEDOUT, "EMOLTIMEDOUT" },
	{ EMOLAGAIN, "EMOLAGAIN" },
	{ EMOLACCES, "EMOLACCES" },
	{ EMOLPERM, "EMOLPERM" },
	{ EMOLBADDCID, "EMOLBADDCID" },
	{ EMOLDVSINIT, "EMOLDVSINIT" },
	{ EMOLBADPROC, "EMOLBADPROC" },
	{ EMOLBUSY, "EMOLBUSY" },
	{ EMOLNOTREADY, "EMOLNOTREADY" },
	{ EMOLBADPID, "EMOLBADPID" },
	{ EMOLINVAL, "EMOLINVAL" },
	{ EMOLFAULT, "EMOLFAULT" },
	{ EMOLBADCALL, "EMOLBADCALL" },
	{ EMOLINTR, "EMOLINTR" },
	{ EMOLNOMEM, "EMOLNOMEM" },
	{ EMOLNOSYS, "EMOLNOSYS" },
	{ EMOLDEADSRCDST, "EMOLDEADSRCDST" },
	{ EMOLRANGE, "EMOLRANGE" },
	{ EMOLDCNOTRUN, "EMOLDCNOTRUN" },
	{ EMOLBADNODEID, "EMOLBADNODEID" },
	{ EMOLMIGRATE, "EMOLMIGRATE" },
	{ EMOLPROCSTS, "EMOLPROCSTS" },
	{ EMOLWOKENUP, "EMOLWOKENUP" },
	{ EMOLLCLPROC, "EMOLLCLPROC" },
	{ EMOLONCOPY, "EMOLONCOPY" },
	{ EMOLENQUEUED, "EMOLENQUEUED" },
	{ EMOLCALLDENIED, "EMOLCALLDENIED" },
};

const char *mnx_errname(long rcode)
{
	unsigned int i;

	if (rcode >= 0)
		return "OK";
	for (i = 0; i < sizeof(mnx_errors) / sizeof(mnx_errors[0]); i++)
		if (mnx_errors[i].code == rcode)
			return mnx_errors[i].name;
	return "unknown";
}
