import { MESSAGE_HEADER_MAX_LENGTH } from '@keel/telemetry/adapter';
import type { MsgHdrs } from '@nats-io/transport-node';
import type { TextMapGetter, TextMapSetter } from '@opentelemetry/api';

// The only NATS-specific propagation code: how to read and write a header of a NATS message. Parsing,
// limits and the deadline rule are the core's.

/** Reads NATS headers: a missing header is `''` in the client, absent here; over-long values are absent. */
export const natsHeaderGetter: TextMapGetter<MsgHdrs | undefined> = {
  get(carrier, key) {
    const value = carrier?.get(key);
    return value === undefined || value === '' || value.length > MESSAGE_HEADER_MAX_LENGTH
      ? undefined
      : value;
  },
  keys: (carrier) => carrier?.keys() ?? [],
};

/** Writes NATS headers. */
export const natsHeaderSetter: TextMapSetter<MsgHdrs> = {
  set(carrier, key, value) {
    carrier.set(key, value);
  },
};
