/**
 * e2e: the cluster-facing suites against a real k3s in a container (testcontainers), for
 * machines with a container engine. Where none runs (our CI machines), the suites skip and
 * say so; nothing is faked. The k3s version is pinned here.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";

export const K3S_IMAGE = "rancher/k3s:v1.31.4-k3s1";

declare module "vitest" {
  export interface ProvidedContext {
    e2e: { kubeconfig?: string; skip?: string };
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const { getContainerRuntimeClient } = await import("testcontainers");
  try {
    await getContainerRuntimeClient();
  } catch (err) {
    const reason = `no container engine reachable (${(err as Error).message}); e2e needs Docker or Podman to run k3s`;
    process.stderr.write(`[e2e] SKIPPED: ${reason}\n`);
    project.provide("e2e", { skip: reason });
    return async () => {};
  }
  const { K3sContainer } = await import("@testcontainers/k3s");
  const k3s = await new K3sContainer(K3S_IMAGE).start();
  const dir = mkdtempSync(join(tmpdir(), "socklens-e2e-"));
  const kubeconfig = join(dir, "kubeconfig");
  writeFileSync(kubeconfig, k3s.getKubeConfig(), { mode: 0o600 });
  project.provide("e2e", { kubeconfig });
  return async () => {
    await k3s.stop();
    rmSync(dir, { recursive: true, force: true });
  };
}
