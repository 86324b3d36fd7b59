// magnet-uri ships no types; only what bitscrape reads from it.
declare module 'magnet-uri' {
  interface MagnetUri {
    /** Lowercase hex of the v1 infohash (xt=urn:btih:, 40 hex or 32 base32 chars); unchecked. */
    infoHash?: string;
    infoHashV2?: string;
    name?: string | string[];
    announce?: string[];
    [key: string]: unknown;
  }
  function magnet(uri: string): MagnetUri;
  namespace magnet {
    function decode(uri: string): MagnetUri;
  }
  export default magnet;
}
