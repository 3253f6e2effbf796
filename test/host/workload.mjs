// A test workload: listens and connects as told, then reports its sockets on stdout as one
// JSON line and stays alive until stdin closes. Run inside a namespace with `ip netns exec`.
// argv[2]: {"title": "...", "listen": [{"proto":"tcp|udp","host":"...","port":N}], "connect": [...]}
// "comm": a process name to write to /proc/self/comm after the title (any bytes, 15 at most);
// "unix": [{"name": "\u0000…"}] unix sockets to bind and listen on, where "{tcp0}" in a name
// stands for the inode of the first TCP listener (to forge a record that borrows it).
import dgram from "node:dgram";
import { readlinkSync, writeFileSync } from "node:fs";
import net from "node:net";

const spec = JSON.parse(process.argv[2] ?? "{}");
if (spec.title) process.title = spec.title;
const keep = [];
const report = [];

const udpType = (host) => (host.includes(":") ? "udp6" : "udp4");

for (const l of spec.listen ?? []) {
  if (l.proto === "tcp") {
    const server = net.createServer((sock) => keep.push(sock));
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
  if (c.proto === "tcp") {
    const sock = net.connect({ host: c.host, port: c.port });
    await new Promise((resolve, reject) => sock.once("error", reject).once("connect", resolve));
    keep.push(sock);
    report.push({
      proto: "tcp",
      state: "ESTABLISHED",
      localAddress: sock.localAddress,
      localPort: sock.localPort,
      remoteAddress: sock.remoteAddress,
      remotePort: sock.remotePort,
    });
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

const inodeOf = (handle) =>
  Number(/socket:\[(\d+)\]/.exec(readlinkSync(`/proc/self/fd/${handle._handle.fd}`))[1]);
for (const u of spec.unix ?? []) {
  const tcp0 = keep.find((k) => k instanceof net.Server);
  const name = u.name.replace("{tcp0}", () => String(inodeOf(tcp0)));
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

process.stdout.write(`${JSON.stringify({ pid: process.pid, sockets: report })}\n`);
process.stdin.resume();
process.stdin.on("end", () => process.exit(0));
process.on("SIGTERM", () => process.exit(0));
