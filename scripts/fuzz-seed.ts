/**
 * Captures test/fixtures/fuzz-seed/: the fixture /proc tree the fuzz test
 * (test/unit/fuzz-proc.test.ts) mutates. Run once, as root, on a Linux machine:
 *
 *   npx tsx scripts/fuzz-seed.ts [OUT_DIR]      (default test/fixtures/fuzz-seed)
 *
 * It starts its own processes in two fresh network namespaces (`unshare -n`, so nothing of
 * the host's sockets is copied), gives them real sockets of every kind the collector reads
 * (TCP and UDP, IPv4 and IPv6, a listener shared by two processes, ESTABLISHED, SYN_SENT and
 * TIME_WAIT connections, named and abstract unix sockets), copies what the collector reads of
 * their /proc entries, and stops them. Pids are renumbered (100, 101, 102 in namespace A, 200
 * in B) so crashers in test/fixtures/fuzz-crashers/ can name paths that stay valid when the
 * seed is captured again. The cgroup of pid 200 is replaced by a kubelet's (systemd driver),
 * so the container and pod code paths are fuzzed as well; everything else is as read.
 */
import { type ChildProcess, spawn } from "node:child_process";
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";

const out = resolve(process.argv[2] ?? "test/fixtures/fuzz-seed");
const work = mkdtempSync(join(tmpdir(), "socklens-fuzz-seed-"));

const NET_FILES = [
  "tcp",
  "tcp6",
  "udp",
  "udp6",
  "raw",
  "raw6",
  "unix",
  "dev",
  "route",
  "ipv6_route",
  "snmp",
  "netstat",
  "sockstat",
  "sockstat6",
];
const PID_FILES = ["comm", "cmdline", "status", "cgroup", "limits"];
const POD = "7d3c2b1a-0f9e-4d8c-b7a6-5e4d3c2b1a09";
const CID = "c0ffee00d15ea5e0123456789abcdef0123456789abcdef0123456789abcdef0";

// Namespace A: a web server (listener on 8080 shared with a forked worker, an accepted
// connection, a TIME_WAIT, a SYN_SENT to an address behind a veth with nothing on the other end, UDP, unix sockets).
const WEB = `
import net from "node:net";
import dgram from "node:dgram";
import { fork, spawn } from "node:child_process";
const dir = process.argv[2];
if (process.argv[3] === "worker") {
  process.on("message", (m, server) => { if (m === "server") process.send("ready"); });
} else {
  const server = net.createServer((c) => c.on("end", () => c.end()));
  await new Promise((r) => server.listen(8080, "0.0.0.0", r));
  const v6 = net.createServer(() => {});
  await new Promise((r) => v6.listen(8443, "::", r));
  const keep = net.connect(8080, "127.0.0.1");
  await new Promise((r) => keep.on("connect", r));
  // Closed by the client first: the client side goes to TIME_WAIT.
  const brief = net.connect(8080, "127.0.0.1");
  await new Promise((r) => brief.on("connect", r));
  brief.end();
  await new Promise((r) => brief.on("close", r));
  // Nobody answers on the other end of the veth: SYN_SENT for a while.
  const pending = net.connect(443, "10.23.0.1");
  pending.on("error", () => {});
  const udp = dgram.createSocket("udp4");
  await new Promise((r) => udp.bind(5353, "0.0.0.0", r));
  const udp6 = dgram.createSocket({ type: "udp6", ipv6Only: true });
  await new Promise((r) => udp6.bind(5353, "::", r));
  const resolver = dgram.createSocket("udp4");
  await new Promise((r) => resolver.connect(53, "10.23.0.1", r));
  const unix = net.createServer(() => {});
  await new Promise((r) => unix.listen(dir + "/web.sock", r));
  const abstract = net.createServer(() => {});
  await new Promise((r) => abstract.listen("\\0socklens-seed", r));
  const uc = net.connect(dir + "/web.sock");
  await new Promise((r) => uc.on("connect", r));
  const worker = fork(process.argv[1], [dir, "worker"], { stdio: "ignore" });
  worker.send("server", server);
  await new Promise((r) => worker.on("message", r));
  const idle = spawn("sleep", ["600"], { stdio: "ignore" });
  console.log(JSON.stringify({ web: process.pid, worker: worker.pid, idle: idle.pid }));
  process.on("SIGTERM", () => { worker.kill(); idle.kill(); process.exit(0); });
}
`;

// Namespace B: a DNS-like server (UDP and TCP 53) with an IPv6 loopback connection.
const DNS = `
import net from "node:net";
import dgram from "node:dgram";
const udp = dgram.createSocket("udp4");
await new Promise((r) => udp.bind(53, "0.0.0.0", r));
const tcp = net.createServer(() => {});
await new Promise((r) => tcp.listen(53, "::", r));
const c = net.connect(53, "::1");
await new Promise((r) => c.on("connect", r));
console.log(JSON.stringify({ dns: process.pid }));
process.on("SIGTERM", () => process.exit(0));
`;

const NETNS_SETUP = [
  "ip link set lo up",
  "ip link add eth0 type veth peer name peer0",
  "ip addr add 10.23.0.2/24 dev eth0",
  "ip -6 addr add fd00:23::2/64 dev eth0 nodad",
  "ip link set peer0 up",
  "ip link set eth0 up",
  "ip route add default via 10.23.0.1",
].join(" && ");

const children: ChildProcess[] = [];

async function start(name: string, source: string): Promise<Record<string, number>> {
  const script = join(work, `${name}.mjs`);
  writeFileSync(script, source);
  const child = spawn(
    "unshare",
    ["-n", "sh", "-c", `${NETNS_SETUP} && exec "$0" "$@"`, process.execPath, script, work],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  children.push(child);
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  for await (const line of lines) return JSON.parse(line) as Record<string, number>;
  throw new Error(`${name}: exited before it was ready`);
}

function tryRead(file: string): Buffer | null {
  try {
    return readFileSync(file);
  } catch {
    return null;
  }
}

function put(path: string, data: string | Buffer): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, data);
}

function link(path: string, target: string): void {
  mkdirSync(dirname(path), { recursive: true });
  symlinkSync(target, path);
}

try {
  const a = await start("web", WEB);
  const b = await start("dns", DNS);
  // Let the SYN_SENT retransmit once and the TIME_WAIT settle in the tables.
  await new Promise((r) => setTimeout(r, 1500));
  const renumber = new Map<number, number>([
    [a.web as number, 100],
    [a.worker as number, 101],
    [a.idle as number, 102],
    [b.dns as number, 200],
  ]);
  rmSync(out, { recursive: true, force: true });
  const proc = join(out, "proc");
  for (const [real, fake] of renumber) {
    const from = `/proc/${real}`;
    const to = join(proc, String(fake));
    for (const f of PID_FILES) {
      let data = tryRead(join(from, f));
      if (data === null) continue;
      if (f === "status") {
        // The pid lines name the renumbered pids (a parent outside the seed keeps its number).
        data = Buffer.from(
          data
            .toString("utf8")
            .replace(
              /^(Tgid|Pid|PPid|NStgid|NSpid):\t(\d+)$/gm,
              (_m, k: string, v: string) => `${k}:\t${renumber.get(Number(v)) ?? v}`,
            ),
        );
      }
      if (f === "cgroup" && fake === 200) {
        data = Buffer.from(
          `0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${POD.replaceAll("-", "_")}.slice/cri-containerd-${CID}.scope\n`,
        );
      }
      put(join(to, f), data);
    }
    link(join(to, "ns", "net"), readlinkSync(join(from, "ns", "net")));
    for (const fd of readdirSync(join(from, "fd"))) {
      try {
        link(join(to, "fd", fd), readlinkSync(join(from, "fd", fd)));
      } catch {
        // closed meanwhile
      }
    }
    for (const f of NET_FILES) {
      const data = tryRead(join(from, "net", f));
      if (data !== null) put(join(to, "net", f), data);
    }
  }
  link(join(proc, "self"), "100");
  // What snapshot and check read besides the pids (snapshot metadata, the ephemeral range).
  for (const f of ["sys/kernel/osrelease", "sys/kernel/random/boot_id", "sys/net/ipv4/ip_local_port_range"])
    put(join(proc, f), readFileSync(`/proc/${f}`));
  put(join(proc, "sys/kernel/hostname"), "fuzz-seed\n");
  put(
    join(out, "passwd"),
    "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
  );
  console.log(`captured ${renumber.size} processes into ${out}`);
} finally {
  for (const c of children) if (c.pid !== undefined) process.kill(c.pid, "SIGTERM");
  rmSync(work, { recursive: true, force: true });
}
