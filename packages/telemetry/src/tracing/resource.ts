import { randomUUID } from 'node:crypto';
import { getStringFromEnv } from '@opentelemetry/core';
import {
  defaultResource,
  hostDetector,
  osDetector,
  processDetector,
  type Resource,
  type ResourceDetector,
  resourceAttributesEnvDetector,
  resourceFromAttributes,
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

/**
 * NodeSDK's default detectors minus its random `service.instance.id`, which would overwrite the option; the
 * environment detectors come last so `OTEL_RESOURCE_ATTRIBUTES`, then `OTEL_SERVICE_NAME`, win as the spec says.
 * When `OTEL_NODE_RESOURCE_DETECTORS` is set, the SDK's own reading of it is left to apply.
 */
export function resourceDetectors(): { resourceDetectors?: ResourceDetector[] } {
  if (getStringFromEnv('OTEL_NODE_RESOURCE_DETECTORS') !== undefined) return {};
  return {
    resourceDetectors: [
      processDetector,
      hostDetector,
      osDetector,
      resourceAttributesEnvDetector,
      serviceNameEnvDetector,
    ],
  };
}
