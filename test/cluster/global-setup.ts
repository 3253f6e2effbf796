// Vitest globalSetup for the "cluster" project: one control plane per test run.
// Tests get its kubeconfig through inject("cluster") (see ./env.ts).
//
// SOCKLENS_USE_EXISTING_CLUSTER=1 with KUBECONFIG=<file> runs the same suites against an
// existing cluster (kind, k3s, a real one) instead; nothing is started or stopped then.
import { existsSync } from "node:fs";
import type { TestProject } from "vitest/node";
import { ControlPlane } from "./controlplane.js";

export interface ClusterContext {
  kubeconfig: string;
  /** True when the suites run against a cluster this run did not start (no restarts then). */
  existing: boolean;
}

declare module "vitest" {
  export interface ProvidedContext {
    cluster: ClusterContext;
  }
}

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  if (process.env.SOCKLENS_USE_EXISTING_CLUSTER === "1") {
    const kubeconfig = process.env.KUBECONFIG;
    if (!kubeconfig || kubeconfig.includes(":") || !existsSync(kubeconfig)) {
      throw new Error(
        "SOCKLENS_USE_EXISTING_CLUSTER=1 needs KUBECONFIG set to one existing kubeconfig file " +
          `(got ${JSON.stringify(kubeconfig ?? null)})`,
      );
    }
    process.stderr.write(`[cluster] using the existing cluster from KUBECONFIG=${kubeconfig}\n`);
    project.provide("cluster", { kubeconfig, existing: true });
    return undefined;
  }
  const started = Date.now();
  const cp = await ControlPlane.start();
  process.stderr.write(
    `[cluster] kube-apiserver ${cp.server} (pid ${cp.apiServerPid}) ready in ${Date.now() - started} ms; ` +
      `kubeconfig ${cp.kubeconfigPath}\n`,
  );
  project.provide("cluster", { kubeconfig: cp.kubeconfigPath, existing: false });
  return async () => {
    await cp.stop();
  };
}
