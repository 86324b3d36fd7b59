// Lowercase hex for ids, info-hashes and raw tags.

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += HEX[bytes[i]];
  return s;
}

function nibble(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

/**
 * Parses a hex string (either case). With `byteLength`, the string must encode exactly that many
 * bytes. Returns null on any bad input: odd length, non-hex char, wrong length.
 */
export function fromHex(s: string, byteLength?: number): Uint8Array | null {
  if (s.length % 2 !== 0) return null;
  if (byteLength !== undefined && s.length !== byteLength * 2) return null;
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) {
    const hi = nibble(s.charCodeAt(2 * i));
    const lo = nibble(s.charCodeAt(2 * i + 1));
    if (hi < 0 || lo < 0) return null;
    out[i] = (hi << 4) | lo;
  }
  return out;
}

/** A 160-bit id (node id, info-hash, target) from exactly 40 hex chars, or null. */
export function idFromHex(s: string): Uint8Array | null {
  return fromHex(s, 20);
}
