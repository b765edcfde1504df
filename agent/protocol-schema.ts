/**
 * The agent protocol's lines and every method's parameters, as zod schemas:
 * the agent checks each request before a handler sees it (a wrong field is an
 * EINVAL answer naming it, never a handler running on `undefined`), and the
 * harness checks each answer's envelope and the hello. zod/mini, because this
 * file is bundled into the agent that every node starts: it adds ~35 KB where
 * full zod adds ~750 KB to parse on a TCG guest.
 */
import * as z from 'zod/mini';

const int = () => z.number().check(z.int());
const encoding = z.optional(z.enum(['utf8', 'base64']));
const none = z.object({});

export const ExecParams = z.object({
  cmd: z.string(),
  args: z.optional(z.array(z.string())),
  timeoutMs: z.optional(int()),
  stdin: z.optional(z.string()),
  cwd: z.optional(z.string()),
  env: z.optional(z.record(z.string(), z.string())),
});

export const SpawnParams = z.object({
  cmd: z.string(),
  args: z.optional(z.array(z.string())),
  cwd: z.optional(z.string()),
  env: z.optional(z.record(z.string(), z.string())),
});

/** Each method's parameters; the types in protocol.ts are inferred from these. */
export const MethodParams = {
  hello: z.object({ nonce: z.string() }),
  exec: ExecParams,
  dmesgMark: none,
  dmesg: z.object({ since: int() }),
  perfStat: z.extend(ExecParams, { events: z.array(z.string()) }),
  spawn: SpawnParams,
  wait: z.object({ id: int(), timeoutMs: z.optional(int()) }),
  kill: z.object({ id: int(), signal: z.optional(z.string()) }),
  procs: none,
  cancel: none,
  bye: none,
  cpus: none,
  cpuOnline: z.object({ cpu: int(), online: z.boolean() }),
  readFile: z.object({ path: z.string(), encoding }),
  writeFile: z.object({ path: z.string(), data: z.string(), encoding, mode: z.optional(int()) }),
  echoStart: z.object({ port: int(), host: z.optional(z.string()) }),
  echoStop: z.object({ port: int() }),
  tcpSend: z.object({ host: z.string(), port: int(), data: z.string(), waitMs: z.optional(int()) }),
  tcpRoundTrips: z.object({ host: z.string(), port: int(), count: int(), bytes: z.optional(int()), timeoutMs: z.optional(int()) }),
};

export type MethodName = keyof typeof MethodParams;

/** One request line. Parameters are checked by the method's own schema. */
export const RequestLine = z.object({ id: int(), method: z.string(), params: z.optional(z.record(z.string(), z.unknown())) });

/** One answer line. */
export const ResponseLine = z.union([
  z.object({ id: int(), ok: z.literal(true), result: z.unknown() }),
  z.object({ id: int(), ok: z.literal(false), error: z.object({ code: z.string(), message: z.string() }) }),
]);

/** What the harness relies on in a hello: the nonce it sent, and the node's CPUs and kernel. */
export const HelloLine = z.looseObject({
  nonce: z.string(),
  agentVersion: z.string(),
  node: z.string(),
  kernelRelease: z.string(),
  cpusOnline: z.array(int()),
  cpusPossible: z.array(int()),
  uptimeSeconds: z.number(),
  pid: int(),
});

/** `field: problem` for the first issue, the way every project error names a field. */
export function firstIssue(err: z.core.$ZodError, prefix = ''): string {
  const issue = err.issues[0]!;
  const field = issue.path.reduce<string>((f, k) => (typeof k === 'number' ? `${f}[${k}]` : f ? `${f}.${String(k)}` : String(k)), prefix);
  // zod/mini carries no message texts (no locale bundled): say what was expected from the issue itself.
  const said =
    issue.code === 'invalid_type'
      ? `expected ${issue.expected}`
      : issue.code === 'invalid_value'
        ? `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`
        : issue.code === 'invalid_union'
          ? 'matches none of its forms'
          : issue.message;
  return `${field || '(the line)'}: ${said}`;
}
