import { z } from 'zod';
import { parseJsonWith } from '../config/schema.ts';

/**
 * The figure a guest bench program (ipcbench, rbench, tcpbench, compatbench)
 * prints as its last stdout line. Checked, so a program that printed something
 * else is named with its field, never read as a figure of undefined.
 */
export const ProgramLine = z.looseObject({
  value: z.number(),
  unit: z.string().optional(),
  rttP50Ns: z.number().optional(),
  rttP99Ns: z.number().optional(),
});

/** ipcbench and compatbench always say their unit: the table and the plots show it. */
export const IpcbenchLine = ProgramLine.extend({ unit: z.string() });

/** WHERE names the program run in the error ("node1: ipcbench -n 100 sendrec"). */
export function programLine<S extends z.ZodType = typeof ProgramLine>(where: string, stdout: string, schema?: S): z.output<S> {
  return parseJsonWith(`${where}: its JSON line`, schema ?? ProgramLine, stdout.trim().split('\n').pop() ?? '') as z.output<S>;
}
