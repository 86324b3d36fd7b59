// The text key of a UDP endpoint, for maps and sets keyed by where a node answers.

/** `host|port`: '|' never occurs in an IPv4 or IPv6 address text, so keys cannot collide. */
export function endpointKey(host: string, port: number): string {
  return `${host}|${port}`;
}

/** The same key, from anything that has a host and a port (a contact, a peer, a table entry). */
export function endpointKeyOf(e: { host: string; port: number }): string {
  return endpointKey(e.host, e.port);
}
