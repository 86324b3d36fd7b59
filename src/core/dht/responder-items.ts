// The responder's BEP 44 side: answers `get` from the item store (with a write token bound to
// the target) and stores `put`s after a token check. Limits, signature, cas and seq rules live
// in ItemStore; this module only maps queries onto it and its errors onto KRPC error replies.
import { decode } from '../wire/bencode.js';
import { KRPC_ERRORS, type BValue } from '../wire/types.js';
import { immutableTarget, mutableTarget } from './item-rules.js';
import type { ItemStorage } from './item-store.js';
import type { MethodContext, MethodHandler, MethodRegistry } from './responder.js';

export interface ItemHandlerStats {
  gets: number;
  /** get replies that carried an item (v, or seq only when the requester was up to date). */
  getsWithItem: number;
  puts: number;
  /** Puts that stored new content. */
  stored: number;
  /** Puts that only renewed an item we already held. */
  refreshed: number;
  /** Rejected puts by KRPC error code (203 includes bad tokens). */
  rejected: Record<number, number>;
}

export function newItemHandlerStats(): ItemHandlerStats {
  return { gets: 0, getsWithItem: 0, puts: 0, stored: 0, refreshed: 0, rejected: {} };
}

/** Registers `get` and `put` on the responder; returns live counters. */
export function registerItemHandlers(responder: MethodRegistry, store: ItemStorage): ItemHandlerStats {
  const stats = newItemHandlerStats();
  responder.registerMethod('get', itemGetHandler(store, stats));
  responder.registerMethod('put', itemPutHandler(store, stats));
  return stats;
}

/**
 * A value is stored as its exact bencoded bytes. The reply encoder takes decoded values, and
 * the store only holds canonical bencode, so decoding here and re-encoding there gives back
 * the very same bytes (the signature and the hash stay valid).
 */
function storedValue(vRaw: Uint8Array): BValue | undefined {
  const decoded = decode(vRaw);
  return decoded.ok ? decoded.value : undefined;
}

export function itemGetHandler(store: ItemStorage, stats: ItemHandlerStats = newItemHandlerStats()): MethodHandler {
  return (q, _from, ctx) => {
    stats.gets++;
    const target = q.a.target;
    if (!(target instanceof Uint8Array) || target.length !== 20) {
      ctx.error(KRPC_ERRORS.PROTOCOL, "missing or invalid 'target'");
      return;
    }
    const body: Record<string, unknown> = { token: ctx.issueToken(target), ...ctx.closestNodes(target, q.a.want) };
    const item = store.get(target, q.a.seq);
    if (item?.kind === 'immutable') {
      const v = storedValue(item.vRaw);
      if (v !== undefined) {
        body.v = v;
        stats.getsWithItem++;
      }
    } else if (item?.kind === 'mutable') {
      // seq always goes out, so a requester that already holds this seq learns it is current.
      body.seq = item.seq;
      stats.getsWithItem++;
      const v = item.vRaw ? storedValue(item.vRaw) : undefined;
      if (v !== undefined && item.k && item.sig) {
        body.v = v;
        body.k = item.k;
        body.sig = item.sig;
      }
    }
    ctx.reply(body);
  };
}

export function itemPutHandler(store: ItemStorage, stats: ItemHandlerStats = newItemHandlerStats()): MethodHandler {
  const reject = (ctx: MethodContext, code: number, message: string): void => {
    stats.rejected[code] = (stats.rejected[code] ?? 0) + 1;
    ctx.error(code, message);
  };
  return (q, _from, ctx) => {
    stats.puts++;
    const a = q.a;
    const vRaw = a.v_raw;
    if (!(vRaw instanceof Uint8Array)) return reject(ctx, KRPC_ERRORS.PROTOCOL, "missing 'v'");
    const token = a.token;
    if (!(token instanceof Uint8Array)) return reject(ctx, KRPC_ERRORS.PROTOCOL, "missing 'token'");
    const mutable = a.k !== undefined;
    if (mutable && (a.k!.length !== 32 || a.sig === undefined || a.seq === undefined)) {
      return reject(ctx, KRPC_ERRORS.PROTOCOL, 'mutable put needs k (32 bytes), sig and seq');
    }
    // The token was issued for the target, so the target is derived the same way a get names it.
    const target = mutable ? mutableTarget(a.k!, a.salt) : immutableTarget(vRaw);
    if (!ctx.checkToken(token, target)) return reject(ctx, KRPC_ERRORS.PROTOCOL, 'invalid token');
    const outcome = mutable
      ? store.putMutable({
          k: a.k!,
          sig: a.sig!,
          seq: a.seq!,
          vRaw,
          ...(a.salt && a.salt.length > 0 ? { salt: a.salt } : {}),
          ...(a.cas !== undefined ? { cas: a.cas } : {}),
        })
      : store.putImmutable(target, vRaw);
    if (!outcome.ok) return reject(ctx, outcome.error.code, outcome.error.message);
    if (outcome.value === 'stored') stats.stored++;
    else stats.refreshed++;
    ctx.reply({});
  };
}
