// SPDX-License-Identifier: LGPL-2.1
/*
 * compat_errors.c - the one table from module errnos to the original's
 * error names (documented in kmod/docs/compat.md, "Error codes"). A code is
 * the negative errno itself, so there is nothing to translate on the
 * call path; this table names them and the build checks the constants
 * the header spells out by hand against the module's ABI.
 */
#include "compat_internal.h"

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
_Static_assert(HARDWARE_PRIV == M3_PRIV_HARDWARE &&
	       KERNEL_PRIV == M3_PRIV_KERNEL && TASK_PRIV == M3_PRIV_TASK &&
	       SERVER_PRIV == M3_PRIV_SERVER && USER_PRIV == M3_PRIV_USER,
	       "privilege levels agree");
_Static_assert(DC_NAME_LEN == M3_DC_NAME_LEN, "DC names");
_Static_assert(NR_DCS <= M3_MAX_DCS && NR_NODES <= M3_MAX_NODES &&
	       NR_TASKS <= M3_MAX_TASKS && NR_PROCS <= M3_MAX_PROCS,
	       "a DC of the original's sizes fits the module's limits");
_Static_assert(MAXCOPYBUF == M3_RMT_MAX_PAYLOAD && MAXDCNAME == DC_NAME_LEN,
	       "buffer limits agree with the module");

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
	{ EMOLNOBUFS, "EMOLNOBUFS" },
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
