// Preloaded (`node --require`, through NODE_OPTIONS) into a CLI run whose datagrams are checked
// at the socket: records the time (performance.now(), ms) and destination of every UDP send, and
// at exit writes them as JSON to the file named by BITSCRAPE_DATAGRAM_LOG.
'use strict';
const dgram = require('node:dgram');
const { writeFileSync } = require('node:fs');

const file = process.env.BITSCRAPE_DATAGRAM_LOG;
if (file) {
  /** [ms, "host:port"] per datagram, in send order. */
  const sends = [];
  const send = dgram.Socket.prototype.send;
  dgram.Socket.prototype.send = function (msg, ...rest) {
    // send(msg, port, address, cb) or send(msg, offset, length, port, address, cb)
    const withOffset = typeof rest[1] === 'number';
    const port = withOffset ? rest[2] : rest[0];
    const address = withOffset ? rest[3] : rest[1];
    sends.push([performance.now(), `${address}:${port}`]);
    return send.call(this, msg, ...rest);
  };
  process.on('exit', () => writeFileSync(file, JSON.stringify(sends)));
}
