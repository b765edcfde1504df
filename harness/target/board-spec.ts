// Beside the target that reads it, so the target layer needs nothing of the lab; lab/board-spec.ts validates it from a lab file.

/**
 * A real machine in the lab file. The lab does not start it: it reaches it by
 * SSH, switches it with the host commands given here, and reads its serial
 * console from a command's standard output.
 */
export interface BoardSpec {
  name: string;
  ssh: { host: string; port: number; user: string; keyFile: string };
  /** Host commands that switch the board; absent: it is only rebooted through SSH. */
  power?: { on: string; off: string; cycle?: string; timeoutMs: number };
  /** A host command whose standard output is the board's serial console (socat, picocom, ...). */
  console?: string;
  /** Its address on the LAN the proxies use. */
  lanAddress: string;
  /** The M3-IPC node id it gets in a cluster; absent: its position in the lab. */
  nodeId?: number;
  /** CPUs the board must have online when it is up (checked at boot). */
  cpus?: number;
}
