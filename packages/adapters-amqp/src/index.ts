import '@keel/resilience/node-check';

export { isMalformedMessageError, MalformedMessageError } from '@keel/telemetry/adapter';
export type { AmqpChannel, RecoveringChannel } from './channel-source.js';
export { decodeContent, encodeContent } from './codec.js';
export {
  type AmqpHandler,
  type AmqpMessageScope,
  type ConsumeOptions,
  type Consumer,
  consume,
} from './consume.js';
export { type PublishOptions, publish, send } from './publish.js';
export type { ConsumerTopology } from './topology.js';
