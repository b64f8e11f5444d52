import { randomUUID } from 'node:crypto';
import { diag } from '@opentelemetry/api';
import { getStringListFromEnv } from '@opentelemetry/core';
import {
  defaultResource,
  detectResources,
  envDetector,
  hostDetector,
  osDetector,
  processDetector,
  type Resource,
  type ResourceDetector,
  resourceAttributesEnvDetector,
  resourceFromAttributes,
  serviceInstanceIdDetector,
  serviceNameEnvDetector,
} from '@opentelemetry/resources';
import {
  ATTR_SERVICE_INSTANCE_ID,
  ATTR_SERVICE_NAME,
  ATTR_SERVICE_VERSION,
} from '@opentelemetry/semantic-conventions';
import type { TracingOptions } from './tracing-options.js';

/** The resource the options describe, before detection: SDK defaults, then service name, version and instance. */
export function baseResource(options: TracingOptions): Resource {
  return defaultResource().merge(
    resourceFromAttributes({
      [ATTR_SERVICE_NAME]: options.serviceName,
      [ATTR_SERVICE_INSTANCE_ID]: options.serviceInstanceId ?? randomUUID(),
      ...(options.serviceVersion === undefined ? {} : { [ATTR_SERVICE_VERSION]: options.serviceVersion }),
    }),
  );
}

// The names OTEL_NODE_RESOURCE_DETECTORS takes, as @opentelemetry/sdk-node reads them.
const NAMED: ReadonlyMap<string, ResourceDetector> = new Map([
  ['host', hostDetector],
  ['os', osDetector],
  ['serviceinstance', serviceInstanceIdDetector],
  ['process', processDetector],
  ['env', envDetector],
]);

function detectorsFromEnv(names: readonly string[]): ResourceDetector[] {
  if (names.includes('all')) return [...NAMED.values()];
  if (names.includes('none')) return [];
  return names.flatMap((name) => {
    const detector = NAMED.get(name);
    if (detector === undefined)
      diag.warn(`unknown resource detector "${name}" in OTEL_NODE_RESOURCE_DETECTORS; skipped`);
    return detector ?? [];
  });
}

/**
 * NodeSDK's default detectors minus its random `service.instance.id`, which would overwrite the option; the
 * environment detectors come last so `OTEL_RESOURCE_ATTRIBUTES`, then `OTEL_SERVICE_NAME`, win as the spec says.
 * `OTEL_NODE_RESOURCE_DETECTORS`, when set, chooses the detectors the way NodeSDK does.
 */
export function resourceDetectors(): ResourceDetector[] {
  const names = getStringListFromEnv('OTEL_NODE_RESOURCE_DETECTORS');
  if (names !== undefined && names.length > 0) return detectorsFromEnv(names);
  return [processDetector, hostDetector, osDetector, resourceAttributesEnvDetector, serviceNameEnvDetector];
}

/** The service's resource: the options, then what the detectors find. */
export function serviceResource(options: TracingOptions): Resource {
  return baseResource(options).merge(detectResources({ detectors: resourceDetectors() }));
}
