import { MockActivityEnvironment } from '@temporalio/testing';
import { livenessHeartbeats } from '../../src/worker/livenessHeartbeats';

/**
 * The worker heartbeats for activities that report no progress of their own, so a killed
 * worker's activity is retried at its heartbeat timeout; activities that heartbeat their own
 * progress are left alone so the UI keeps showing that progress.
 */
const environment = (activityType: string, heartbeatTimeoutMs?: number) => {
  const env = new MockActivityEnvironment({ activityType, heartbeatTimeoutMs }, { interceptors: [livenessHeartbeats] });
  const beats: unknown[] = [];
  env.on('heartbeat', (details: unknown) => beats.push(details));
  return { env, beats };
};

/** Long enough for several heartbeats at the shortest interval (100 ms) had any been sent. */
const QUIET_MS = 350;

/** An activity body that returns once `count` heartbeats were sent while it ran. */
const untilBeats = (beats: unknown[], count: number) => () =>
  new Promise<string>((resolve) => {
    const check = setInterval(() => {
      if (beats.length >= count) {
        clearInterval(check);
        resolve('done');
      }
    }, 5);
  });

describe('liveness heartbeats', () => {
  it('heartbeats while an activity without progress reports runs, and stops when it ends', async () => {
    const { env, beats } = environment('applyModelToCluster', 30);
    await expect(env.run(untilBeats(beats, 3))).resolves.toBe('done');
    const afterRun = beats.length;
    await new Promise((r) => setTimeout(r, QUIET_MS));
    expect(beats.length).toBe(afterRun);
  });

  it('leaves an activity that heartbeats its own progress alone', async () => {
    const { env, beats } = environment('watchReadiness', 30);
    const result = await env.run(async () => {
      await new Promise((r) => setTimeout(r, QUIET_MS));
      return beats.length;
    });
    expect(result).toBe(0);
  });

  it('sends nothing when the activity has no heartbeat timeout', async () => {
    const { env, beats } = environment('recordModelEvent', undefined);
    const result = await env.run(async () => {
      await new Promise((r) => setTimeout(r, QUIET_MS));
      return beats.length;
    });
    expect(result).toBe(0);
  });

  it('passes failures through', async () => {
    const { env } = environment('recordModelEvent', 30);
    await expect(env.run(async () => Promise.reject(new Error('postgres down')))).rejects.toThrow('postgres down');
  });
});
