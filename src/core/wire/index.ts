// The wire layer: strict bencode, IP text/bytes, compact encodings, typed KRPC messages. Pure.
export * from './types.js';
export { decode, encode, scan, Tape, buildValue, latin1, readInt, DICT, INT, LIST, STR, type ScanOptions } from './bencode.js';
export * from './compact.js';
export * from './ip.js';
export * from './hex.js';
export * from './version.js';
export { F, W, KrpcView, scanKrpc, errorParts, warningTexts, DATAGRAM_SCAN, MAX_T_LENGTH, MAX_TOKEN_LENGTH, MAX_SALT_LENGTH, MAX_V_LENGTH, MAX_SEQ, BLOOM_LENGTH } from './krpc-view.js';
export { decodeMessage, messageFromView, encodeQuery, encodeResponse, encodeError, type ArgsDict, type QueryEnvelope, type ResponseEnvelope } from './krpc-codec.js';
