import { invalidOption } from '@keel/resilience/adapter';
import type { Channel, ConfirmChannel, Options } from 'amqplib';

/**
 * The shape of an `amqp-connection-manager` ChannelWrapper that Keel uses: a channel that comes back after
 * the connection does, running its setups again on each new channel.
 */
export interface RecoveringChannel {
  addSetup(setup: (channel: ConfirmChannel) => Promise<void>): Promise<void>;
  removeSetup(
    setup: (channel: ConfirmChannel) => Promise<void>,
    teardown?: (channel: ConfirmChannel) => Promise<void>,
  ): Promise<void>;
  publish(
    exchange: string,
    routingKey: string,
    content: Buffer,
    options?: Options.Publish & { timeout?: number },
  ): Promise<boolean>;
}

/** What `consume`, `publish` and `send` take: a confirm channel of amqplib, or a recovering channel. */
export type AmqpChannel = ConfirmChannel | RecoveringChannel;

export function isRecovering(channel: AmqpChannel): channel is RecoveringChannel {
  return typeof (channel as RecoveringChannel).addSetup === 'function';
}

/** Validates the channel argument: retries and dead letters are lost without publisher confirms. */
export function checkChannel(owner: string, channel: unknown): AmqpChannel {
  if (typeof channel === 'object' && channel !== null) {
    if (typeof (channel as RecoveringChannel).addSetup === 'function') return channel as RecoveringChannel;
    if (
      typeof (channel as ConfirmChannel).waitForConfirms === 'function' &&
      typeof (channel as Channel).consume === 'function'
    )
      return channel as ConfirmChannel;
  }
  return invalidOption(
    owner,
    'argument channel',
    'a ConfirmChannel (connection.createConfirmChannel()) or an amqp-connection-manager ChannelWrapper',
    channel,
  );
}
