// What a cluster test file needs from the run's control plane.
import { randomBytes } from "node:crypto";
import { CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { inject } from "vitest";
import type { ClusterContext } from "./global-setup.js";

export function clusterContext(): ClusterContext {
  const ctx = inject("cluster");
  if (!ctx?.kubeconfig) {
    throw new Error(
      "no cluster provided: run through the vitest 'cluster' project (test/cluster/global-setup.ts)",
    );
  }
  return ctx;
}

/** Admin KubeConfig of the cluster under test. */
export function adminKubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(clusterContext().kubeconfig);
  return kc;
}

/** `prefix-<random>`: namespaces are never reused (without a controller-manager they never finish deleting). */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString("hex")}`;
}

export async function createNamespace(kc: KubeConfig, prefix: string): Promise<string> {
  const name = uniqueName(prefix);
  await kc
    .makeApiClient(CoreV1Api)
    .createNamespace({ body: { metadata: { name, labels: { "socklens.io/test": "true" } } } });
  return name;
}

/**
 * Skips the running test and says why on stderr, so a skip is never silent in CI logs
 * (vitest's default reporter does not print skip notes).
 */
export function skipBecause(
  ctx: { skip: (note?: string) => never; task: { name: string } },
  reason: string,
): never {
  process.stderr.write(`[cluster] SKIPPED "${ctx.task.name}": ${reason}\n`);
  return ctx.skip(reason);
}
