// A datagram transport: UDP sockets in real runs, SimNetwork in simulations.
import type { Family } from '../wire/types.js';

export interface LocalEndpoint {
  host: string;
  port: number;
  family: Family;
}

export type MessageHandler = (data: Uint8Array, host: string, port: number) => void;

export interface Transport {
  /** Sends one datagram. Never throws: an unsendable datagram is counted and dropped. */
  send(data: Uint8Array, host: string, port: number): void;
  /** The one message handler (the Krpc engine). A throwing handler is caught and counted. */
  onMessage(handler: MessageHandler): void;
  /** Bound endpoints (one per family). */
  readonly endpoints: readonly LocalEndpoint[];
  close(): Promise<void>;
}
