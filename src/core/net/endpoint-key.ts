// The text key of a UDP endpoint, for maps and sets keyed by where a node answers.

/** `host|port`: '|' never occurs in an IPv4 or IPv6 address text, so keys cannot collide. */
export function endpointKey(host: string, port: number): string {
  return `${host}|${port}`;
}
