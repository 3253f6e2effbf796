/**
 * Cluster knowledge for the CLI, opt-in: `--kubeconfig FILE` or `--cluster` (KUBECONFIG or
 * ~/.kube/config). Without either, socklens never talks to a cluster. The Kubernetes client
 * is imported only then: it costs ~0.35 s of start-up that a plain scan should not pay.
 */
import { networkInterfaces } from "node:os";
import type { ClusterIndex } from "../core/cluster-index.js";
import { InputError, UsageError } from "./errors.js";
import type { CliIO } from "./io.js";

export const CLUSTER_OPTIONS = {
  kubeconfig: { type: "string" },
  context: { type: "string" },
  cluster: { type: "boolean" },
} as const;

export const CLUSTER_HELP = `Cluster knowledge (optional; pod names, workloads, peers by pod/service):
      --kubeconfig FILE  read the cluster through this kubeconfig
      --cluster          use KUBECONFIG or ~/.kube/config
      --context NAME     kubeconfig context
`;

export function localAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flat()
    .map((i) => i?.address)
    .filter((a): a is string => typeof a === "string");
}

/** The kubeconfig the flags name (or the default loading rules), or an input error saying which. */
export async function kubeConfigFrom(values: {
  kubeconfig?: string;
  context?: string;
}): Promise<import("@kubernetes/client-node").KubeConfig> {
  const { loadKubeConfig } = await import("../kube/cluster-snapshot.js");
  try {
    return loadKubeConfig(values.kubeconfig, values.context);
  } catch (err) {
    throw new InputError(
      `--kubeconfig: cannot load ${values.kubeconfig ?? "the default kubeconfig"}: ${(err as Error).message}`,
      { cause: err },
    );
  }
}

export async function loadCluster(
  values: { kubeconfig?: string; context?: string; cluster?: boolean },
  io: CliIO,
): Promise<ClusterIndex | undefined> {
  if (!values.kubeconfig && !values.cluster) {
    if (values.context) throw new UsageError("--context needs --kubeconfig FILE or --cluster");
    return undefined;
  }
  const { fetchClusterSnapshot } = await import("../kube/cluster-snapshot.js");
  const { ClusterIndex } = await import("../core/cluster-index.js");
  const kc = await kubeConfigFrom(values);
  const server = kc.getCurrentCluster()?.server ?? "(no current cluster)";
  try {
    const { snapshot, missing } = await fetchClusterSnapshot(kc);
    if (missing.length)
      io.err(
        `socklens: could not list ${missing.join(", ")} from ${server}; rules that need them are not evaluated\n`,
      );
    return new ClusterIndex(snapshot, localAddresses());
  } catch (err) {
    const e = err as { code?: number; message?: string; body?: unknown };
    throw new InputError(
      `cannot read the cluster at ${server}: ${e.code ? `HTTP ${e.code}: ` : ""}${(e.message ?? String(err)).split("\n")[0]}`,
      { cause: err },
    );
  }
}
