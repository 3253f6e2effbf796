/**
 * What the host tests create on this machine, and how they remove it: network namespaces
 * (ip netns), veth pairs, cgroup directories and workload processes, all named with a
 * test prefix. Everything is tracked and torn down in reverse order by `cleanup()`.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readlinkSync, rmdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

export const TEST_PREFIX = "sltest";
const WORKLOAD = fileURLToPath(new URL("./workload.mjs", import.meta.url));
export const REPO = fileURLToPath(new URL("../..", import.meta.url));

export interface WorkloadSocket {
  proto: "tcp" | "udp" | "unix";
  state: string;
  localAddress: string;
  localPort: number;
  remoteAddress?: string;
  remotePort?: number;
  /** Unix sockets only. */
  inode?: number;
}

export interface Workload {
  pid: number;
  netns: number;
  sockets: WorkloadSocket[];
  child: ChildProcess;
  /** Have the same process open more sockets; resolves with the new ones once they are up. */
  more(spec: Omit<WorkloadSpec, "title">): Promise<WorkloadSocket[]>;
}

/** What a workload does (test/host/workload.mjs describes each field). */
export interface WorkloadSpec {
  title: string;
  /**
   * halfOpen: a TCP server that never closes what its clients closed (they pile up in CLOSE_WAIT),
   * or with drainMs closes each that long after its client did; closeOnAccept: closes at once.
   */
  listen?: {
    proto: "tcp" | "udp";
    host: string;
    port: number;
    ipv6Only?: boolean;
    halfOpen?: boolean;
    drainMs?: number;
    closeOnAccept?: boolean;
  }[];
  /** count: that many connections; close: close each once connected (we wait in FIN_WAIT2). */
  connect?: { proto: "tcp" | "udp"; host: string; port: number; count?: number; close?: boolean }[];
  /** TCP connects that are not awaited: to a peer that never answers they stay in SYN_SENT. */
  dial?: { host: string; port: number; count?: number }[];
  /** A musl-style resolver: a new unconnected UDP socket bound to port 0 per query, forever. */
  resolver?: { host: string; port: number; everyMs?: number; holdMs?: number };
  /**
   * Short TCP connections we close first (each leaves a TIME_WAIT here): all `count` at once
   * (everyMs 0, a storm), or one every everyMs held holdMs, `count` times or forever (a beacon).
   */
  short?: { host: string; port: number; count?: number; everyMs?: number; holdMs?: number };
  timeWait?: { host: string };
  /** Written to /proc/self/comm once the sockets are up (the kernel keeps 15 bytes). */
  comm?: string;
  /** Unix sockets to listen on ("\0…" abstract); "{tcp0}" in a name is the first TCP listener's inode. */
  unix?: { name: string }[];
}

export function ip(...args: string[]): string {
  return execFileSync("ip", args, { encoding: "utf8" });
}

export function netnsInode(pid: number | "self"): number {
  const m = /net:\[(\d+)\]/.exec(readlinkSync(`/proc/${pid}/ns/net`));
  if (!m) throw new Error(`cannot read the netns of ${pid}`);
  return Number(m[1]);
}

function unavailableReason(): string | null {
  if (process.getuid?.() !== 0) return "the host tests need root (network namespaces and cgroups)";
  try {
    execFileSync("ip", ["-V"], { stdio: "ignore" });
  } catch {
    return "iproute2 (`ip`) is not installed";
  }
  return null;
}

/**
 * Is this machine able to run the host tests? Returns the reason if not, after printing it:
 * a skipped suite must say why (vitest's summary only counts skips).
 */
export function hostTestsUnavailable(file = "host tests"): string | null {
  const reason = unavailableReason();
  if (reason) console.warn(`SKIPPED ${file}: ${reason}`);
  return reason;
}

export class Sandbox {
  readonly id = `${TEST_PREFIX}${process.pid.toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  readonly #undo: (() => void)[] = [];
  readonly #children: ChildProcess[] = [];
  #veths = 0;

  /** A named network namespace with loopback up. */
  netns(suffix: string): string {
    const name = `${this.id}-${suffix}`;
    ip("netns", "add", name);
    this.#undo.push(() => ip("netns", "del", name));
    ip("-n", name, "link", "set", "lo", "up");
    return name;
  }

  nsInode(name: string): number {
    return statSync(`/run/netns/${name}`).ino;
  }

  /**
   * A veth pair between two namespaces with IPv4 and IPv6 addresses (no DAD, so v6 is usable
   * at once). Returns the interface names in `a` and in `b`.
   */
  veth(a: string, b: string, v4: [string, string], v6: [string, string]): [string, string] {
    const n = this.#veths++;
    const ifA = `${this.id.slice(-6)}${n || ""}a`;
    const ifB = `${this.id.slice(-6)}${n || ""}b`;
    ip("link", "add", ifA, "netns", a, "type", "veth", "peer", "name", ifB, "netns", b);
    this.#undo.push(() => {
      try {
        ip("-n", a, "link", "del", ifA);
      } catch {
        // Deleting the namespace removes it too.
      }
    });
    ip("-n", a, "addr", "add", `${v4[0]}/24`, "dev", ifA);
    ip("-n", b, "addr", "add", `${v4[1]}/24`, "dev", ifB);
    ip("-n", a, "addr", "add", `${v6[0]}/64`, "dev", ifA, "nodad");
    ip("-n", b, "addr", "add", `${v6[1]}/64`, "dev", ifB, "nodad");
    ip("-n", a, "link", "set", ifA, "up");
    ip("-n", b, "link", "set", ifB, "up");
    return [ifA, ifB];
  }

  /** Start a workload in a namespace (or the host's) and wait until its sockets are up. */
  async workload(netns: string | null, spec: WorkloadSpec): Promise<Workload> {
    const args = [process.execPath, WORKLOAD, JSON.stringify(spec)];
    const child = netns
      ? spawn("ip", ["netns", "exec", netns, ...args], { stdio: ["pipe", "pipe", "pipe"] })
      : spawn(args[0] as string, args.slice(1), { stdio: ["pipe", "pipe", "pipe"] });
    this.#children.push(child);
    let stderr = "";
    child.stderr?.on("data", (d) => {
      stderr += d;
    });
    const exited = new Promise<never>((_, reject) =>
      child.once("exit", (code) =>
        reject(new Error(`workload ${spec.title} exited with ${code}: ${stderr}`)),
      ),
    );
    exited.catch(() => {}); // only an error for whoever is waiting for a report
    // One JSON report line per spec: the first for argv, one more per `more()`.
    const lines: string[] = [];
    const waiting: ((line: string) => void)[] = [];
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", (line) => {
      const w = waiting.shift();
      if (w) w(line);
      else lines.push(line);
    });
    const report = async () => {
      const line =
        lines.shift() ?? (await Promise.race([new Promise<string>((r) => waiting.push(r)), exited]));
      return JSON.parse(line) as { pid: number; sockets: WorkloadSocket[] };
    };
    const first = await report();
    return {
      pid: first.pid,
      netns: netnsInode(first.pid),
      sockets: first.sockets,
      child,
      more: async (more) => {
        child.stdin?.write(`${JSON.stringify(more)}\n`);
        return (await report()).sockets;
      },
    };
  }

  /**
   * A cgroup directory shaped like a kubelet's pod path, in the given hierarchy mount, with
   * `pid` moved into it. Returns the path relative to the hierarchy root.
   */
  cgroup(mount: string, relative: string, pid: number): string {
    const full = join(mount, relative);
    const parts = relative.split("/").filter(Boolean);
    const created: string[] = [];
    for (let i = 1; i <= parts.length; i++) {
      const dir = join(mount, ...parts.slice(0, i));
      if (!existsSync(dir)) {
        mkdirSync(dir);
        created.push(dir);
      }
    }
    this.#undo.push(() => {
      for (const dir of created.reverse()) {
        try {
          rmdirSync(dir);
        } catch {
          // A process may still be exiting; one retry after a short pause.
          execFileSync("sleep", ["0.2"]);
          rmdirSync(dir);
        }
      }
    });
    writeFileSync(join(full, "cgroup.procs"), String(pid));
    return relative;
  }

  /**
   * Put `pid` in a systemd-driver kubepods cgroup (v1 pids hierarchy) that carries `podUid`,
   * as a kubelet would; repeat with the same uid to add more processes to the same "container".
   */
  podCgroup(podUid: string, pid: number, containerId = "c".repeat(64)): void {
    this.cgroup(
      "/sys/fs/cgroup/pids",
      `${this.id}.slice/kubepods.slice/kubepods-pod${podUid.replaceAll("-", "_")}.slice/cri-containerd-${containerId}.scope`,
      pid,
    );
  }

  async cleanup(): Promise<void> {
    for (const child of this.#children) {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        await Promise.race([exited, new Promise((r) => setTimeout(r, 2000))]);
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      }
    }
    const errors: unknown[] = [];
    for (const undo of this.#undo.reverse()) {
      try {
        undo();
      } catch (err) {
        errors.push(err);
      }
    }
    if (errors.length) throw new AggregateError(errors, "sandbox cleanup failed");
  }
}

/** Run the built CLI (bin/socklens.js) and capture its output. */
export function runCli(
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): { code: number; stdout: string; stderr: string } {
  if (!existsSync(join(REPO, "dist", "cli", "main.js"))) {
    throw new Error("dist/ is missing: run `npm run build` before the host tests (scripts/test.sh does)");
  }
  const r = spawnSync(process.execPath, [join(REPO, "bin", "socklens.js"), ...args], {
    encoding: "utf8",
    cwd: options.cwd ?? REPO,
    env: { ...process.env, ...options.env },
    maxBuffer: 512 * 1024 * 1024,
  });
  if (r.error) throw r.error;
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
