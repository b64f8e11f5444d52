// The OTEL_* variables of the trace SDK that its TracerProvider does not read itself, read the way
// @opentelemetry/sdk-node reads them, so building the provider directly changes no configuration.
import { DiagConsoleLogger, diag } from '@opentelemetry/api';
import {
  diagLogLevelFromString,
  getBooleanFromEnv,
  getNumberFromEnv,
  getStringFromEnv,
} from '@opentelemetry/core';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  ParentBasedSampler,
  type Sampler,
  type SpanLimits,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace';

/** `OTEL_SDK_DISABLED`: nothing is registered, spans are the API's no-ops. */
export function sdkDisabled(): boolean {
  return getBooleanFromEnv('OTEL_SDK_DISABLED');
}

/** `OTEL_LOG_LEVEL`: the SDK's own diagnostics go to the console at that level. */
export function diagLoggerFromEnv(): void {
  const logLevel = diagLogLevelFromString(getStringFromEnv('OTEL_LOG_LEVEL'));
  if (logLevel !== undefined) diag.setLogger(new DiagConsoleLogger(), { logLevel });
}

function ratioFromEnv(): number {
  const ratio = getNumberFromEnv('OTEL_TRACES_SAMPLER_ARG');
  if (ratio !== undefined && ratio >= 0 && ratio <= 1) return ratio;
  diag.error(`OTEL_TRACES_SAMPLER_ARG=${String(ratio)} is not a ratio from 0 to 1; sampling everything`);
  return 1;
}

/** `OTEL_TRACES_SAMPLER(_ARG)`; `undefined` leaves the provider's default, parent-based always-on. */
export function samplerFromEnv(): Sampler | undefined {
  const name = getStringFromEnv('OTEL_TRACES_SAMPLER');
  switch (name) {
    case undefined:
      return undefined;
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'traceidratio':
      return new TraceIdRatioBasedSampler(ratioFromEnv());
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratioFromEnv()) });
    default:
      diag.error(`unknown OTEL_TRACES_SAMPLER value "${name}", using the default sampler`);
      return undefined;
  }
}

/** The `OTEL_SPAN_*` and `OTEL_ATTRIBUTE_*` limits that are set. */
export function spanLimitsFromEnv(): SpanLimits {
  const limits: SpanLimits = {};
  const set = (key: keyof SpanLimits, ...names: string[]) => {
    for (const name of names) {
      const value = getNumberFromEnv(name);
      if (value !== undefined) {
        limits[key] = value;
        return;
      }
    }
  };
  set('attributeCountLimit', 'OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT', 'OTEL_ATTRIBUTE_COUNT_LIMIT');
  set(
    'attributeValueLengthLimit',
    'OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT',
    'OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT',
  );
  set('eventCountLimit', 'OTEL_SPAN_EVENT_COUNT_LIMIT');
  set('linkCountLimit', 'OTEL_SPAN_LINK_COUNT_LIMIT');
  set(
    'attributePerEventCountLimit',
    'OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT',
    'OTEL_SPAN_ATTRIBUTE_PER_EVENT_COUNT_LIMIT',
  );
  set(
    'attributePerLinkCountLimit',
    'OTEL_LINK_ATTRIBUTE_COUNT_LIMIT',
    'OTEL_SPAN_ATTRIBUTE_PER_LINK_COUNT_LIMIT',
  );
  return limits;
}
