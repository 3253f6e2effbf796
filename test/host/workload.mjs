// A test workload: listens and connects as told, then reports its sockets on stdout as one
// JSON line and stays alive until stdin closes. Run inside a namespace with `ip netns exec`.
// argv[2]: {"title": "...", "listen": [{"proto":"tcp|udp","host":"...","port":N}], "connect": [...]}
// Every further line on stdin is a spec without a title (listen, connect, dial): the same
// process opens more sockets and answers with one more report line.
//
// - listen[].halfOpen: a TCP server that never closes what its clients closed (CLOSE_WAIT leak).
//   With drainMs it does close each one, drainMs after its client did (a burst that drains).
// - listen[].closeOnAccept: a TCP server that closes every connection as soon as it accepts it.
// - connect[].count: that many connections; connect[].close: close each once connected (our
//   side then waits in FIN_WAIT2, a half-open server's in CLOSE_WAIT).
// - dial: [{host, port, count}]: TCP connects that are started and not awaited; to a peer that
//   does not answer they stay in SYN_SENT.
// - resolver: {host, port, everyMs, holdMs}: a musl-style resolver. Every everyMs, a NEW
//   unconnected UDP socket bound to port 0 (so the kernel picks an ephemeral port) sends one
//   query to host:port and stays open holdMs; forever.
// - short: {host, port, count, everyMs, holdMs}: short TCP connections that we close first, so
//   each leaves a TIME_WAIT socket here. everyMs 0 (default): count connections at once, reported
//   once all are closed (a TIME_WAIT storm). everyMs > 0: one every everyMs, each held open holdMs
//   (default 0), count times (default: forever), reported once the first is closed (a beacon).
// "comm": a process name to write to /proc/self/comm after the title (any bytes, 15 at most);
// "unix": [{"name": "\u0000…"}] unix sockets to bind and listen on, where "{tcp0}" in a name
// stands for the inode of the first TCP listener (to forge a record that borrows it).
import dgram from "node:dgram";
import { readlinkSync, writeFileSync } from "node:fs";
import net from "node:net";
import { createInterface } from "node:readline";

const spec = JSON.parse(process.argv[2] ?? "{}");
if (spec.title) process.title = spec.title;
const keep = [];

const inodeOf = (handle) =>
  Number(/socket:\[(\d+)\]/.exec(readlinkSync(`/proc/self/fd/${handle._handle.fd}`))[1]);

const udpType = (host) => (host.includes(":") ? "udp6" : "udp4");

async function apply(spec) {
  const report = [];
  for (const l of spec.listen ?? []) {
    if (l.proto === "tcp") {
      const server = net.createServer({ allowHalfOpen: l.halfOpen ?? false }, (sock) => {
        sock.on("error", () => {});
        if (l.closeOnAccept) return void sock.destroy();
        keep.push(sock);
        if (l.halfOpen && l.drainMs !== undefined)
          sock.once("end", () => setTimeout(() => sock.destroy(), l.drainMs));
      });
      await new Promise((resolve, reject) =>
        server
          .once("error", reject)
          .listen({ host: l.host, port: l.port, ipv6Only: l.ipv6Only ?? false }, resolve),
      );
      keep.push(server);
      const a = server.address();
      report.push({ proto: "tcp", state: "LISTEN", localAddress: a.address, localPort: a.port });
    } else {
      const sock = dgram.createSocket({ type: udpType(l.host), ipv6Only: l.ipv6Only ?? false });
      await new Promise((resolve, reject) => sock.once("error", reject).bind(l.port, l.host, resolve));
      keep.push(sock);
      const a = sock.address();
      report.push({ proto: "udp", state: "UNCONN", localAddress: a.address, localPort: a.port });
    }
  }

  for (const c of spec.connect ?? []) {
    for (let i = 0; i < (c.count ?? 1); i++) {
      if (c.proto === "tcp") {
        const sock = net.connect({ host: c.host, port: c.port });
        await new Promise((resolve, reject) => sock.once("error", reject).once("connect", resolve));
        keep.push(sock);
        report.push({
          proto: "tcp",
          state: c.close ? "FIN_WAIT2" : "ESTABLISHED",
          localAddress: sock.localAddress,
          localPort: sock.localPort,
          remoteAddress: sock.remoteAddress,
          remotePort: sock.remotePort,
        });
        if (c.close) {
          sock.on("error", () => {});
          sock.end(); // FIN; the socket stays referenced, half-closed, until the peer closes too
        }
      } else {
        const sock = dgram.createSocket(udpType(c.host));
        await new Promise((resolve, reject) => sock.once("error", reject).connect(c.port, c.host, resolve));
        keep.push(sock);
        const a = sock.address();
        const r = sock.remoteAddress();
        report.push({
          proto: "udp",
          state: "ESTABLISHED",
          localAddress: a.address,
          localPort: a.port,
          remoteAddress: r.address,
          remotePort: r.port,
        });
      }
    }
  }

  const dialing = [];
  for (const d of spec.dial ?? []) {
    for (let i = 0; i < (d.count ?? 1); i++) {
      const sock = net.connect({ host: d.host, port: d.port });
      sock.on("error", () => {}); // a peer that never answers times out after minutes
      keep.push(sock);
      dialing.push(sock);
    }
  }
  if (dialing.length) {
    await new Promise((resolve) => setImmediate(resolve)); // connect(2) has been called
    for (const sock of dialing)
      report.push({
        proto: "tcp",
        state: "SYN_SENT",
        localAddress: sock.localAddress ?? "",
        localPort: sock.localPort ?? 0,
        remoteAddress: sock.remoteAddress ?? "",
        remotePort: sock.remotePort ?? 0,
      });
  }

  if (spec.resolver) report.push(await startResolver(spec.resolver));
  if (spec.short) report.push(...(await startShort(spec.short)));

  for (const u of spec.unix ?? []) {
    const tcp0 = keep.find((k) => k instanceof net.Server);
    const inode = String(inodeOf(tcp0));
    // Keep the name's length: the padding before ".sock" gives back what a longer inode takes
    // (an abstract name longer than 108 bytes is EINVAL; inode numbers grow with uptime).
    const grow = u.name.includes("{tcp0}") ? inode.length - "{tcp0}".length : 0;
    const name = u.name
      .replace("{tcp0}", () => inode)
      .replace(/_+\.sock$/, (m) => `${"_".repeat(Math.max(1, m.length - 5 - grow))}.sock`);
    const server = net.createServer((sock) => keep.push(sock));
    await new Promise((resolve, reject) => server.once("error", reject).listen(name, resolve));
    keep.push(server);
    report.push({ proto: "unix", state: "LISTEN", localAddress: name, localPort: 0, inode: inodeOf(server) });
  }

  if (spec.comm !== undefined) writeFileSync("/proc/self/comm", spec.comm);

  // timeWait: {host}: leave exactly one TIME_WAIT socket and nothing else open (a namespace
  // whose only socket is in TIME_WAIT: its sockstat "inuse" counts are all zero).
  if (spec.timeWait) {
    const server = net.createServer((sock) => sock.resume());
    await new Promise((resolve) => server.listen({ host: spec.timeWait.host, port: 0 }, resolve));
    const client = net.connect({ host: spec.timeWait.host, port: server.address().port });
    await new Promise((resolve) => client.once("connect", resolve));
    const { localAddress, localPort } = client;
    client.end(); // we close first, so our end waits in TIME_WAIT
    await new Promise((resolve) => client.once("close", resolve));
    await new Promise((resolve) => server.close(resolve));
    report.push({ proto: "tcp", state: "TIME_WAIT", localAddress, localPort });
  }
  return report;
}

/** One short connection: connect, hold, close first (our end waits in TIME_WAIT); resolves when closed. */
function shortConnection(host, port, holdMs) {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host, port });
    sock.once("error", reject);
    sock.once("connect", () => {
      const socket = {
        proto: "tcp",
        state: "TIME_WAIT",
        localAddress: sock.localAddress,
        localPort: sock.localPort,
        remoteAddress: sock.remoteAddress,
        remotePort: sock.remotePort,
      };
      sock.resume();
      setTimeout(() => sock.end(), holdMs);
      sock.once("close", () => resolve(socket));
    });
  });
}

/** Short connections (see `short` above). */
async function startShort({ host, port, count, everyMs = 0, holdMs = 0 }) {
  if (!everyMs)
    return Promise.all(Array.from({ length: count ?? 1 }, () => shortConnection(host, port, holdMs)));
  let left = (count ?? Number.POSITIVE_INFINITY) - 1;
  const timer = setInterval(() => {
    if (left-- <= 0) return clearInterval(timer);
    shortConnection(host, port, holdMs).catch(() => {});
  }, everyMs);
  return [await shortConnection(host, port, holdMs)];
}

/** One DNS query for example.com/A with a random id, as a resolver sends it. */
function dnsQuery() {
  const name = Buffer.from("\x07example\x03com\x00", "latin1");
  const header = Buffer.from([0, 0, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
  header.writeUInt16BE(Math.floor(Math.random() * 0x10000), 0);
  return Buffer.concat([header, name, Buffer.from([0, 1, 0, 1])]);
}

/** Resolves with the first query's socket once it is bound; keeps querying until exit. */
function startResolver({ host, port, everyMs = 25, holdMs = 250 }) {
  return new Promise((resolve, reject) => {
    let first = true;
    const query = () => {
      const sock = dgram.createSocket(udpType(host));
      sock.on("error", (err) => {
        if (first) reject(err);
      });
      sock.bind(0, () => {
        const a = sock.address();
        sock.send(dnsQuery(), port, host, () => setTimeout(() => sock.close(), holdMs));
        if (first) {
          first = false;
          resolve({ proto: "udp", state: "UNCONN", localAddress: a.address, localPort: a.port });
        }
      });
    };
    query();
    setInterval(query, everyMs);
  });
}

process.stdout.write(`${JSON.stringify({ pid: process.pid, sockets: await apply(spec) })}\n`);
const commands = createInterface({ input: process.stdin });
commands.on("line", async (line) => {
  if (!line.trim()) return;
  process.stdout.write(`${JSON.stringify({ pid: process.pid, sockets: await apply(JSON.parse(line)) })}\n`);
});
commands.on("close", () => process.exit(0));
process.on("SIGTERM", () => process.exit(0));
