// Temporal's OpenTelemetry workflow interceptors, bundled with the workflows only when tracing is
// on (src/worker/createWorker.ts): spans of each workflow continue the trace of the request that
// started or updated it.
export { interceptors } from '@temporalio/interceptors-opentelemetry/lib/workflow-interceptors';
