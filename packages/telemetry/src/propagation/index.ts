export { BAGGAGE_HEADER, parseBaggage, serializeBaggage } from './baggage.js';
export {
  getCorrelationId,
  isValidCorrelationId,
  newCorrelationId,
  runWithCorrelationId,
  setCorrelationId,
} from './correlation.js';
export {
  DEADLINE_HEADER,
  formatDeadlineHeader,
  formatGrpcTimeout,
  GRPC_TIMEOUT_HEADER,
  parseDeadlineHeader,
  parseGrpcTimeout,
} from './deadline-header.js';
export {
  type EdgeExtraction,
  KeelPropagator,
  type KeelPropagatorOptions,
  keelPropagator,
} from './propagator.js';
export { formatTraceparent, parseTraceparent, TRACE_FLAG_RANDOM, TRACEPARENT_HEADER } from './traceparent.js';
export { parseTracestate, TRACESTATE_HEADER } from './tracestate.js';
