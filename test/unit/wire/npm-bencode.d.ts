// Types for the `bencode` npm package (dev dependency, no bundled types), used as an independent
// encoder in the wire tests and as the baseline in bench/codec.ts.
declare module 'bencode' {
  const bencode: {
    encode(value: unknown): Uint8Array;
    decode(data: Uint8Array, start?: number, end?: number, encoding?: string): unknown;
    byteLength(value: unknown): number;
  };
  export default bencode;
}
