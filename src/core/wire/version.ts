// Client version tag `v` (BEP 20 style): two letters naming the client, then two bytes of
// version. libtorrent packs them as major, (minor << 4 | tiny); the others read them as one
// big-endian number.
import { toHex } from './hex.js';

/** Client codes seen in DHT `v` tags and in BEP 20 peer ids. */
const CLIENT_NAMES: Record<string, string> = {
  LT: 'libtorrent (Rasterbar)',
  lt: 'libTorrent (rakshasa)',
  UT: 'µTorrent',
  UM: 'µTorrent Mac',
  UW: 'µTorrent Web',
  ml: 'mldht',
  GR: 'GetRight',
  MP: 'MooPolice',
  TR: 'Transmission',
  AZ: 'Vuze (Azureus)',
  BC: 'BitComet',
  BT: 'BitTorrent',
  BW: 'BitWombat',
  DE: 'Deluge',
  KT: 'KTorrent',
  qB: 'qBittorrent',
  WW: 'WebTorrent',
  WD: 'WebTorrent Desktop',
  XL: 'Xunlei',
  SD: 'Thunder (Xunlei)',
  FD: 'Free Download Manager',
  TX: 'Tixati',
  TL: 'Tribler',
  BF: 'Bitflu',
  AG: 'Ares',
  MO: 'MonoTorrent',
  HL: 'Halite',
  FW: 'FrostWire',
  LW: 'LimeWire',
  PI: 'PicoTorrent',
  QD: 'QQDownload',
  VG: 'Vagaa',
  BN: 'Baidu Netdisk',
};

export interface ClientVersion {
  /** Human form, e.g. "LT 2.0.8", "ml 12", "XY 0a1b"; null when there is no usable tag. */
  client: string | null;
  /** The client's name when its code is known (e.g. "libtorrent (Rasterbar)"). */
  name: string | null;
  /** The raw tag as lowercase hex ('' when absent). */
  hex: string;
}

function isLetter(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

/** Decodes a `v` tag. Never throws; unknown or odd tags fall back to letters + hex. */
export function decodeVersion(v: Uint8Array | undefined | null): ClientVersion {
  if (v === undefined || v === null || v.length === 0) return { client: null, name: null, hex: '' };
  const hex = toHex(v);
  if (v.length < 2 || !isLetter(v[0]) || !isLetter(v[1])) return { client: null, name: null, hex };
  const code = String.fromCharCode(v[0], v[1]);
  const name = Object.hasOwn(CLIENT_NAMES, code) ? CLIENT_NAMES[code] : null;
  if (v.length === 4 && name !== null) {
    if (code === 'LT') return { client: `LT ${v[2]}.${v[3] >> 4}.${v[3] & 0x0f}`, name, hex };
    return { client: `${code} ${(v[2] << 8) | v[3]}`, name, hex };
  }
  const rest = toHex(v.subarray(2));
  return { client: rest === '' ? code : `${code} ${rest}`, name, hex };
}
