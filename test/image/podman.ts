/**
 * Real containers for the image tests, through rootful podman with the flags this machine
 * kind needs: `--runtime runc` (crun refuses the hybrid cgroup layout) and explicit ulimits
 * (podman's defaults exceed the VM's hard limits). Every container is named with the test
 * prefix and the test process's pid, tracked, and removed by `cleanup()`; nothing else on
 * the host is touched.
 */
import { execFile, execFileSync, spawnSync } from "node:child_process";
import { existsSync, readdirSync, rmdirSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export const IMAGE = process.env.SOCKLENS_IMAGE ?? "localhost/socklens:dev";
export const PREFIX = `sltest-img-${process.pid}`;
/** What every podman run here needs on this machine kind (docs/image.md). */
export const BASE_FLAGS = [
  "--runtime",
  "runc",
  "--ulimit",
  "nofile=16384:16384",
  "--ulimit",
  "nproc=4096:4096",
];

/** Why the image tests cannot run here, or null. */
export function imageUnavailable(): string | null {
  if (process.env.SOCKLENS_IMAGE_SKIP) return process.env.SOCKLENS_IMAGE_SKIP;
  if (process.getuid?.() !== 0) return "the image tests run rootful podman and need root";
  const podman = spawnSync("podman", ["--version"], { encoding: "utf8" });
  if (podman.status !== 0)
    return "podman is not installed (scripts/image.sh installs it with buildah and runc)";
  const exists = spawnSync("podman", ["image", "exists", IMAGE]);
  if (exists.status !== 0) return `the image ${IMAGE} is not built: run npm run image (scripts/test.sh does)`;
  return null;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export class Podman {
  #names: string[] = [];
  #n = 0;

  /** A unique container name with the test prefix. */
  name(what: string): string {
    return `${PREFIX}-${what}-${++this.#n}`;
  }

  /** `podman run --rm` in the foreground; returns its output whatever the exit code. */
  async runOnce(args: string[], timeoutMs = 120_000): Promise<RunResult> {
    const name = this.name("once");
    this.#names.push(name);
    try {
      const r = await run("podman", ["run", "--rm", "--name", name, ...BASE_FLAGS, ...args], {
        encoding: "utf8",
        timeout: timeoutMs,
        maxBuffer: 64 << 20,
      });
      return { code: 0, stdout: r.stdout, stderr: r.stderr };
    } catch (err) {
      const e = err as { code?: number | string; stdout?: string; stderr?: string; message: string };
      return {
        code: typeof e.code === "number" ? e.code : -1,
        stdout: e.stdout ?? "",
        stderr: e.stderr || e.message,
      };
    }
  }

  /** `podman run -d`; returns the container's full id. */
  async start(what: string, args: string[]): Promise<{ name: string; id: string }> {
    const name = this.name(what);
    this.#names.push(name);
    const r = await run("podman", ["run", "-d", "--name", name, ...BASE_FLAGS, ...args], {
      encoding: "utf8",
    });
    return { name, id: r.stdout.trim() };
  }

  async inspect<T = Record<string, unknown>>(name: string): Promise<T> {
    const r = await run("podman", ["inspect", name], { encoding: "utf8" });
    return (JSON.parse(r.stdout) as T[])[0] as T;
  }

  async logs(name: string): Promise<string> {
    try {
      const r = await run("podman", ["logs", name], { encoding: "utf8" });
      return r.stdout + r.stderr;
    } catch (err) {
      return (err as Error).message;
    }
  }

  /**
   * A kubelet-shaped cgroup parent for a pod (the cgroupfs driver's
   * /kubepods/besteffort/pod<uid>), under a root named with the test prefix, as a nested
   * kubelet's (kind, k3s in Docker) is under its container's: podman creates it and leaves
   * it behind, `cleanup()` removes it.
   */
  podCgroupParent(podUid: string): string {
    return `/${PREFIX}/kubepods/besteffort/pod${podUid}`;
  }

  /** Removes every container this instance created (and only those), then the cgroups. */
  cleanup(): void {
    for (const name of this.#names.reverse()) {
      spawnSync("podman", ["rm", "--force", "--time", "2", "--ignore", name], { stdio: "ignore" });
    }
    this.#names = [];
    removeCgroupTree(PREFIX);
  }
}

/** The image's size in bytes as podman reports it. */
export function imageSize(image = IMAGE): number {
  return Number(
    execFileSync("podman", ["image", "inspect", "--format", "{{.Size}}", image], { encoding: "utf8" }),
  );
}

/**
 * A workload container: node from the socklens image (so no other image is needed) as the
 * image's unprivileged user, in a network namespace of its own made by the runtime, listening
 * on each port in `listen` and holding one loopback connection to the first. Resolves once
 * its sockets are up, with the container's id and its main process's host pid.
 */
export async function startWorkload(
  podman: Podman,
  what: string,
  opts: { listen: number[]; cgroupParent?: string; network?: string },
): Promise<{ name: string; id: string; pid: number }> {
  const script = `
    const net = require("node:net");
    const ports = ${JSON.stringify(opts.listen)};
    let up = 0;
    for (const p of ports) net.createServer((s) => s.on("error", () => {})).listen(p, "0.0.0.0", () => {
      if (++up === ports.length) {
        const c = net.connect(ports[0], "127.0.0.1", () => console.log("ready"));
        c.on("error", (e) => { console.error(e.message); process.exit(1); });
      }
    });
    setInterval(() => {}, 1 << 30);`;
  const args = [
    `--network=${opts.network ?? "none"}`,
    ...(opts.cgroupParent ? ["--cgroup-parent", opts.cgroupParent] : []),
    "--entrypoint",
    "node",
    IMAGE,
    "-e",
    script,
  ];
  const { name, id } = await podman.start(what, args);
  const deadline = Date.now() + 60_000;
  while (!(await podman.logs(name)).includes("ready")) {
    if (Date.now() > deadline)
      throw new Error(`workload ${name} did not come up:\n${await podman.logs(name)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const info = await podman.inspect<{ State: { Pid: number } }>(name);
  return { name, id, pid: info.State.Pid };
}

/** rmdir /<name> and everything below it in every cgroup hierarchy (v1 and v2). */
export function removeCgroupTree(name: string): void {
  const rm = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) rm(join(dir, e.name));
    try {
      rmdirSync(dir);
    } catch {
      // a process is still inside (its container is going away): nothing else to do
    }
  };
  let hierarchies: string[];
  try {
    hierarchies = readdirSync("/sys/fs/cgroup");
  } catch {
    return;
  }
  const roots = [join("/sys/fs/cgroup", name), ...hierarchies.map((h) => join("/sys/fs/cgroup", h, name))];
  // conmon leaves its cgroup a moment after `podman rm` returns: retry for up to 10 s.
  for (let i = 0; i < 50; i++) {
    const left = roots.filter((r) => existsSync(r));
    if (left.length === 0) return;
    for (const root of left) rm(root);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
  }
  process.stderr.write(`[image] could not remove the cgroups /${name}: a process is still inside\n`);
}
