// PORT (BEP 5, id 9): the sender's DHT node port, two bytes big-endian.
import { encodeMessage, MessageId } from './message-reader.ts';

/** A framed PORT message (7 bytes). */
export function buildPortMessage(port: number): Buffer {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RangeError(`bad port ${port}`);
  const payload = Buffer.allocUnsafe(2);
  payload.writeUInt16BE(port, 0);
  return encodeMessage(MessageId.port, payload);
}

/** The port of a PORT payload, or null when the payload is malformed or the port is 0. */
export function parsePortPayload(payload: Uint8Array): number | null {
  if (payload.length !== 2) return null;
  const port = (payload[0] << 8) | payload[1];
  return port === 0 ? null : port;
}
