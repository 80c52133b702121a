import { Client } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import * as activities from '../temporalFloor/activities';
import { median, percentile, round } from './stats';

/**
 * What the Temporal dev server on this machine costs a workflow that runs `activityCount`
 * sequential activities doing nothing, started and awaited by a client: the floor under any
 * rollout driven by that many activities. Measured with regular and with local activities.
 */
export async function measureTemporalFloor(client: Client, address: string, activityCount: number, samples: number): Promise<Record<string, number>> {
  const taskQueue = `floor-${randomBytes(3).toString('hex')}`;
  const connection = await NativeConnection.connect({ address });
  const worker = await Worker.create({ connection, taskQueue, workflowsPath: require.resolve('../temporalFloor/workflows'), activities });
  const running = worker.run();
  try {
    const time = async (workflow: 'sequentialActivities' | 'sequentialLocalActivities') => {
      const ms: number[] = [];
      for (let i = 0; i < samples + 2; i++) {
        const started = performance.now();
        await client.workflow.execute(workflow, { taskQueue, workflowId: `${taskQueue}-${workflow}-${i}`, args: [activityCount] });
        if (i >= 2) ms.push(performance.now() - started); // two warm-up executions
      }
      return ms;
    };
    const regular = await time('sequentialActivities');
    const local = await time('sequentialLocalActivities');
    return {
      activities: activityCount,
      regular_p50_ms: round(median(regular)),
      regular_p99_ms: round(percentile(regular, 99)),
      local_p50_ms: round(median(local)),
      local_p99_ms: round(percentile(local, 99)),
    };
  } finally {
    worker.shutdown();
    await running;
    await connection.close();
  }
}

/**
 * Seconds for `workflows` executions of `activityCount` sequential no-op activities started at
 * once: the floor under a storm of that many rollouts on this Temporal server and machine.
 */
export async function measureTemporalStormFloor(client: Client, address: string, workflows: number, activityCount: number): Promise<Record<string, number>> {
  const taskQueue = `storm-floor-${randomBytes(3).toString('hex')}`;
  const connection = await NativeConnection.connect({ address });
  const worker = await Worker.create({ connection, taskQueue, workflowsPath: require.resolve('../temporalFloor/workflows'), activities });
  const running = worker.run();
  try {
    await client.workflow.execute('sequentialActivities', { taskQueue, workflowId: `${taskQueue}-warmup`, args: [activityCount] });
    const time = async (workflow: 'sequentialActivities' | 'sequentialLocalActivities') => {
      const started = performance.now();
      await Promise.all(
        Array.from({ length: workflows }, (_, i) => client.workflow.execute(workflow, { taskQueue, workflowId: `${taskQueue}-${workflow}-${i}`, args: [activityCount] })),
      );
      return round((performance.now() - started) / 1000, 2);
    };
    return { workflows, activities: activityCount, regular_s: await time('sequentialActivities'), local_s: await time('sequentialLocalActivities') };
  } finally {
    worker.shutdown();
    await running;
    await connection.close();
  }
}
