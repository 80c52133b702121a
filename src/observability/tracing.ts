import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { Resource } from '@opentelemetry/resources';
import { BatchSpanProcessor, SimpleSpanProcessor, type SpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import type { NextFunction, Request, Response } from 'express';
import { routeTemplateMatcher } from './routeTemplates';

/** A process's tracing: what the worker hands Temporal's workflow span exporter too. */
export interface Tracing {
  processor: SpanProcessor;
  resource: Resource;
  shutdown(): Promise<void>;
}

let active: Tracing | null = null;

/**
 * Turns tracing on for this process when OTEL_EXPORTER_OTLP_ENDPOINT is set (spans go there over
 * OTLP/HTTP, batched), or when a test passes its own exporter; otherwise it stays off and costs
 * nothing. The provider is registered globally, so Temporal's interceptors and the HTTP spans
 * below share it.
 */
export function startTracing(serviceName: string, exporter?: SpanExporter, env: NodeJS.ProcessEnv = process.env): Tracing | null {
  if (!exporter && !env.OTEL_EXPORTER_OTLP_ENDPOINT) return null;
  const resource = new Resource({ 'service.name': serviceName });
  const processor = exporter ? new SimpleSpanProcessor(exporter) : new BatchSpanProcessor(new OTLPTraceExporter());
  const provider = new NodeTracerProvider({ resource, spanProcessors: [processor] });
  provider.register();
  active = { processor, resource, shutdown: () => provider.shutdown() };
  return active;
}

/** The tracing started in this process, if any. */
export const activeTracing = (): Tracing | null => active;

/**
 * One server span per API request, named by its route template, made the active context so the
 * Temporal client's interceptor carries it into the workflow it starts or updates.
 */
export function httpSpans(templates: readonly string[]) {
  const routeOf = routeTemplateMatcher(templates);
  const tracer = trace.getTracer('argus-api');
  return (req: Request, res: Response, next: NextFunction): void => {
    if (!active) return next();
    const route = routeOf(req.originalUrl.split('?')[0] ?? '');
    const span = tracer.startSpan(`${req.method} ${route}`, { kind: SpanKind.SERVER, attributes: { 'http.request.method': req.method, 'http.route': route } });
    res.on('finish', () => {
      span.setAttribute('http.response.status_code', res.statusCode);
      if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    });
    context.with(trace.setSpan(context.active(), span), next);
  };
}
