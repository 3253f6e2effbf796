// A process that opens and closes TCP sockets as told over its IPC channel
// (test/host/table-cache.test.ts). Every answer is {localPort} (or {} for a close).
//   {op: "listen", host, port, halfOpen} → a listener; halfOpen: it never closes what it
//                                          accepted, so a peer's close leaves CLOSE_WAIT here
//   {op: "connect", host, port}          → a client connection, kept open
//   {op: "close", localPort}             → closes that client connection (its FIN)
import net from "node:net";

const clients = new Map();
const accepted = [];

process.on("message", (m) => {
  if (m.op === "listen") {
    const s = net.createServer({ allowHalfOpen: m.halfOpen === true }, (c) => {
      c.on("error", () => {});
      accepted.push(c);
    });
    s.listen({ host: m.host, port: m.port }, () => process.send({ localPort: s.address().port }));
  } else if (m.op === "connect") {
    const c = net.connect({ host: m.host, port: m.port }, () => {
      clients.set(c.localPort, c);
      process.send({ localPort: c.localPort });
    });
    c.on("error", () => {});
  } else if (m.op === "close") {
    clients.get(m.localPort)?.end();
    clients.delete(m.localPort);
    process.send({});
  }
});
process.send({ ready: true });
