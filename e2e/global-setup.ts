/**
 * e2e: real containers driven by testcontainers.
 *
 * The engine: DOCKER_HOST when it is set (Docker, or a podman service someone runs);
 * otherwise, where rootful podman is installed (scripts/image.sh installs it), this setup
 * starts `podman system service` on a socket of its own for the run, with runc and explicit
 * ulimits (this machine kind's needs, docs/image.md) and Ryuk disabled (its image cannot be
 * pulled here; every test removes its own containers instead).
 *
 * What runs on it:
 *  - agent-image.test.ts: the locally built agent image (npm run image) and workload
 *    containers, against the API server of the cluster harness (test/cluster), which this
 *    project also starts;
 *  - k3s.test.ts: k3s, where its image (pinned below) is present or can be pulled.
 * Each skips, printing why, when what it needs is missing; nothing is faked.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";

export const K3S_IMAGE = "rancher/k3s:v1.31.4-k3s1";
export const AGENT_IMAGE = process.env.SOCKLENS_IMAGE ?? "localhost/socklens:dev";

declare module "vitest" {
  export interface ProvidedContext {
    e2e: { engine?: string; skip?: string; k3sKubeconfig?: string; k3sSkip?: string; agentSkip?: string };
  }
}

/** Starts a podman API service for this run; returns its DOCKER_HOST and a stop function. */
async function startPodmanService(dir: string): Promise<{ host: string; stop: () => Promise<void> }> {
  const sock = join(dir, "podman.sock");
  const conf = join(dir, "containers.conf");
  writeFileSync(
    conf,
    '[containers]\ndefault_ulimits = ["nofile=16384:16384", "nproc=4096:4096"]\n[engine]\nruntime = "runc"\n',
  );
  const child: ChildProcess = spawn(
    "podman",
    ["--runtime", "runc", "system", "service", "--time=0", `unix://${sock}`],
    {
      env: { ...process.env, CONTAINERS_CONF: conf },
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const deadline = Date.now() + 30_000;
  while (!existsSync(sock)) {
    if (child.exitCode !== null) throw new Error(`podman system service exited: ${stderr}`);
    if (Date.now() > deadline) throw new Error(`podman system service did not create ${sock}: ${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    host: `unix://${sock}`,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null) child.kill("SIGKILL");
    },
  };
}

function hasImage(image: string): boolean {
  return spawnSync("podman", ["image", "exists", image]).status === 0;
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dir = mkdtempSync(join(tmpdir(), "socklens-e2e-"));
  const cleanups: (() => Promise<void>)[] = [async () => rmSync(dir, { recursive: true, force: true })];
  const teardown = async () => {
    for (const c of cleanups.reverse()) await c();
  };
  const podman = spawnSync("podman", ["--version"]).status === 0 && process.getuid?.() === 0;
  let engine = process.env.DOCKER_HOST ? `DOCKER_HOST=${process.env.DOCKER_HOST}` : undefined;
  if (!process.env.DOCKER_HOST && podman) {
    const svc = await startPodmanService(dir);
    cleanups.push(svc.stop);
    // testcontainers reads these from the environment of this process (the tests run in it
    // or in workers that inherit it).
    process.env.DOCKER_HOST = svc.host;
    process.env.TESTCONTAINERS_RYUK_DISABLED = "true";
    engine = `podman system service (${svc.host})`;
  }
  const { getContainerRuntimeClient } = await import("testcontainers");
  try {
    await getContainerRuntimeClient();
  } catch (err) {
    const reason = `no container engine reachable (${(err as Error).message}); e2e needs Docker, or rootful podman (npm run image installs it)`;
    process.stderr.write(`[e2e] SKIPPED: ${reason}\n`);
    project.provide("e2e", { skip: reason });
    await teardown();
    return async () => {};
  }
  process.stderr.write(`[e2e] container engine: ${engine ?? "testcontainers' default"}\n`);

  const context: { engine?: string; k3sKubeconfig?: string; k3sSkip?: string; agentSkip?: string } = {};
  if (engine) context.engine = engine;
  if (process.env.SOCKLENS_IMAGE_SKIP) context.agentSkip = process.env.SOCKLENS_IMAGE_SKIP;
  else if (podman && !hasImage(AGENT_IMAGE))
    context.agentSkip = `the image ${AGENT_IMAGE} is not built: run npm run image (scripts/test.sh does)`;

  // k3s: only where its image is present (no registry is reachable on our machines, and a
  // pull there would only time out). With Docker and no podman, testcontainers pulls it.
  if (podman && !hasImage(K3S_IMAGE) && !hasImage(`docker.io/${K3S_IMAGE}`)) {
    context.k3sSkip = `the k3s image ${K3S_IMAGE} is not present and no registry is reachable to pull it`;
  } else {
    try {
      const { K3sContainer } = await import("@testcontainers/k3s");
      const k3s = await new K3sContainer(K3S_IMAGE).start();
      cleanups.push(async () => void (await k3s.stop()));
      const kubeconfig = join(dir, "kubeconfig");
      writeFileSync(kubeconfig, k3s.getKubeConfig(), { mode: 0o600 });
      context.k3sKubeconfig = kubeconfig;
    } catch (err) {
      context.k3sSkip = `k3s did not start: ${(err as Error).message}`;
    }
  }
  for (const [what, why] of [
    ["k3s.test.ts", context.k3sSkip],
    ["agent-image.test.ts", context.agentSkip],
  ] as const)
    if (why) process.stderr.write(`[e2e] SKIPPED ${what}: ${why}\n`);
  project.provide("e2e", context);
  return teardown;
}
