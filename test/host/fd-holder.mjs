// A process that holds TCP listeners as told over its IPC channel (test/host/fd-cache.test.ts):
//   {op: "listen"}            → one more listener; answers {inode}
//   {op: "swap", inode}       → closes that listener and opens another in the same step, so
//                               its fd count is unchanged (and the fd number usually reused)
//   {op: "give", inode}       → sends that listener to the parent over IPC, then closes its own copy
// Every answer is {inode} of the socket the step opened (or gave away).
import { readlinkSync } from "node:fs";
import net from "node:net";

const servers = new Map();
const inodeOf = (server) =>
  Number(/socket:\[(\d+)\]/.exec(readlinkSync(`/proc/self/fd/${server._handle.fd}`))[1]);
const listen = () =>
  new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject).listen({ host: "127.0.0.1", port: 0 }, () => {
      const inode = inodeOf(s);
      servers.set(inode, s);
      resolve(inode);
    });
  });

process.on("message", async (m) => {
  if (m.op === "listen") process.send({ inode: await listen() });
  else if (m.op === "swap") {
    const old = servers.get(m.inode);
    servers.delete(m.inode);
    // Close synchronously at the handle so the new socket can take the same fd number.
    old._handle.close();
    process.send({ inode: await listen() });
  } else if (m.op === "give") {
    const s = servers.get(m.inode);
    process.send({ inode: m.inode }, s, () => {
      servers.delete(m.inode);
      s.close();
    });
  }
});
process.send({ ready: true });
