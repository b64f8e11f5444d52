import { invalidOption } from '@keel/resilience/adapter';
import { MalformedMessageError } from '@keel/telemetry/adapter';
import type { ConsumeMessage, Options } from 'amqplib';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The body of a message as its content type says: `application/json` parsed, `text/*` as a string,
 * anything else the raw Buffer. A body that does not decode is a {@link MalformedMessageError}.
 */
export function decodeContent(message: ConsumeMessage): unknown {
  const type = message.properties.contentType;
  if (typeof type !== 'string') return message.content;
  const bare = type.split(';', 1)[0]?.trim().toLowerCase() ?? '';
  if (bare !== 'application/json' && !bare.startsWith('text/')) return message.content;
  let text: string;
  try {
    text = utf8.decode(message.content);
  } catch {
    throw new MalformedMessageError(`message body is not UTF-8 (${bare})`);
  }
  if (bare !== 'application/json') return text;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new MalformedMessageError('message body is not JSON');
  }
}

/** A payload as a body and its content type: a Buffer as is, a string as text, anything else as JSON. */
export function encodeContent(payload: unknown): { content: Buffer; contentType: string } {
  if (Buffer.isBuffer(payload)) return { content: payload, contentType: 'application/octet-stream' };
  if (typeof payload === 'string')
    return { content: Buffer.from(payload), contentType: 'text/plain; charset=utf-8' };
  const json = JSON.stringify(payload);
  if (json === undefined)
    invalidOption('publish', 'argument payload', 'a Buffer, a string or a JSON value', payload);
  return { content: Buffer.from(json), contentType: 'application/json' };
}

/** Publish properties with `headers` made a fresh table the caller's object is not shared with. */
export function withHeaders(
  options: Options.Publish | undefined,
): Options.Publish & { headers: Record<string, unknown> } {
  return { ...options, headers: { ...(options?.headers as Record<string, unknown> | undefined) } };
}
