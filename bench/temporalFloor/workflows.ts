/**
 * Workflows for the Temporal floor measurement (bench/lib/temporalFloor.ts): the same number of
 * sequential activity round trips a first deploy makes, doing no work, as regular activities and
 * as local activities.
 */
import { proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type * as activities from './activities';

const regular = proxyActivities<typeof activities>({ startToCloseTimeout: '15 seconds' });
const local = proxyLocalActivities<typeof activities>({ startToCloseTimeout: '15 seconds' });

export async function sequentialActivities(count: number): Promise<void> {
  for (let i = 0; i < count; i++) await regular.nothing();
}

export async function sequentialLocalActivities(count: number): Promise<void> {
  for (let i = 0; i < count; i++) await local.nothing();
}
