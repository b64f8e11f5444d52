export { sendJson } from '@keel/telemetry/adapter';
