import { continueAsNew, getExternalWorkflowHandle, log, proxyActivities, setCurrentDetails, sleep, workflowInfo } from '@temporalio/workflow';
import type { ModelActivities } from '../activities';
import type { ObservationReport, ObservePolicy } from '../activities/observeCluster';
import { healthNoticeSignal } from './messages';
import { workflowIdFor } from './searchAttributes';

// A pass is one read of the database and one of Ray; a dashboard that does not answer is a
// report (reachable: false), not a failure, so retries here are for Postgres and lost workers.
const { observeCluster, repairCluster } = proxyActivities<ModelActivities>({
  startToCloseTimeout: '1 minute',
  heartbeatTimeout: '20 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds' },
});

export interface ClusterReconcilerInput {
  clusterId: string;
  /** Pause between two passes. */
  intervalS: number;
  policy: ObservePolicy;
  /** Passes per run before continuing as new (default 200), keeping the history short. */
  passesPerRun?: number;
}

/** One reconciler per cluster; the worker starts it on start-up and joins the one already running. */
export const clusterReconcilerWorkflowId = (clusterId: string) => `reconciler-${clusterId}`;

/** Notices go out in batches: after a Ray restart every model is told at once. */
const NOTICE_BATCH = 200;

/**
 * Keeps what Ray serves equal to what the models' workflows hold. Each pass reads the cluster's
 * whole Serve status once (one read per interval however many models: the cost does not grow with
 * a poll per model), and:
 * - tells each model's own workflow what changed (app missing, unhealthy, short of replicas,
 *   healthy again), so every repair is in that model's history with its reason;
 * - repairs what belongs to no model itself: orphan apps, an ingress that routes wrongly.
 */
export async function clusterReconcilerWorkflow(input: ClusterReconcilerInput): Promise<void> {
  const passes = input.passesPerRun ?? 200;
  for (let pass = 1; pass <= passes && !workflowInfo().continueAsNewSuggested; pass++) {
    const report = await observeCluster.executeWithOptions({ summary: 'compare the cluster with the desired set' }, [input.policy]);
    await tellModels(report);
    let repaired = '';
    if (report.orphans.length > 0 || report.ingressDrift !== null) {
      const what = [
        ...(report.orphans.length > 0 ? [`remove orphan app(s) ${report.orphans.join(', ')}`] : []),
        ...(report.ingressDrift !== null ? [`re-send the ingress's model set: ${report.ingressDrift}`] : []),
      ].join('; ');
      const repair = await repairCluster.executeWithOptions({ summary: what }, []);
      repaired = repair.skipped === null ? `\n\nlast repair: ${what}` : `\n\nrepair not needed: ${repair.skipped}`;
    }
    setCurrentDetails(describe(report) + repaired);
    await sleep(input.intervalS * 1000);
  }
  await continueAsNew<typeof clusterReconcilerWorkflow>(input);
}

async function tellModels(report: ObservationReport): Promise<void> {
  for (let i = 0; i < report.notices.length; i += NOTICE_BATCH) {
    await Promise.all(
      report.notices.slice(i, i + NOTICE_BATCH).map(({ modelKey, notice }) =>
        getExternalWorkflowHandle(workflowIdFor(modelKey))
          .signal(healthNoticeSignal, notice)
          // A model deleted meanwhile has no workflow to tell; the next pass no longer judges it.
          .catch((err: Error) => log.info('a model could not be told what the reconciler saw', { modelKey, error: err.message })),
      ),
    );
  }
}

function describe(report: ObservationReport): string {
  if (!report.reachable) return `**cluster unreachable**: ${report.message}\n\nmodels keep their state until Ray answers`;
  const { judged, healthy, degraded, missing } = report.counts;
  const told = report.notices.length > 0 ? `; told ${report.notices.length} model(s) what changed` : '';
  return `**watching** ${judged} model(s): ${healthy} healthy, ${degraded} degraded, ${missing} missing${told}`;
}
