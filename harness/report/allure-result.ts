import { z } from 'zod';
import { readJsonWith } from '../config/schema.ts';

/**
 * One `*-result.json` of an allure-results folder, as far as m3lab reads it
 * (verdict counts, the night's tests and failures, the shard merge). Written
 * by allure-vitest or by the nightly's own steps; checked, so a result file
 * damaged by a killed writer is named instead of counted as something else.
 * Everything else in it passes through (the merge copies it whole).
 */
export const AllureResultFile = z.looseObject({
  uuid: z.string().optional(),
  name: z.string(),
  fullName: z.string().optional(),
  historyId: z.string().optional(),
  status: z.string().optional(),
  statusDetails: z.looseObject({ message: z.string().optional(), trace: z.string().optional() }).optional(),
  labels: z.array(z.looseObject({ name: z.string(), value: z.string() })).optional(),
});

export type AllureResult = z.output<typeof AllureResultFile>;

export const readAllureResult = (file: string): AllureResult => readJsonWith(file, AllureResultFile);
