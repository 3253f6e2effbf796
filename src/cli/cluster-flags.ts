/**
 * Cluster knowledge for the CLI, opt-in: `--kubeconfig FILE` or `--cluster` (KUBECONFIG or
 * ~/.kube/config). Without either, socklens never talks to a cluster. The Kubernetes client
 * is imported only then: it costs ~0.35 s of start-up that a plain scan should not pay.
 */
import { existsSync } from "node:fs";
import { networkInterfaces } from "node:os";
import { join } from "node:path";
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

export const SERVICE_ACCOUNT_TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token";

/**
 * Where the default loading rules look (KUBECONFIG, ~/.kube/config, the in-cluster service
 * account), and whether any of them is there. The client falls back to http://localhost:8080
 * when none is, and then fails with "HTTP protocol is not allowed", which says nothing about
 * the real problem; we say it instead (issue 14).
 */
export function defaultKubeconfigSearch(
  env: NodeJS.ProcessEnv,
  exists: (path: string) => boolean = existsSync,
): { found: boolean; looked: string[] } {
  if (env.KUBECONFIG) return { found: true, looked: [`KUBECONFIG=${env.KUBECONFIG}`] };
  const looked = ["KUBECONFIG (not set)"];
  const home = env.HOME;
  if (home) {
    const file = join(home, ".kube", "config");
    if (exists(file)) return { found: true, looked: [file] };
    looked.push(`${file} (no such file)`);
  } else looked.push("~/.kube/config (HOME is not set)");
  if (exists(SERVICE_ACCOUNT_TOKEN)) return { found: true, looked: [SERVICE_ACCOUNT_TOKEN] };
  looked.push(`the in-cluster service account (${SERVICE_ACCOUNT_TOKEN}: none)`);
  return { found: false, looked };
}

/** The kubeconfig the flags name (or the default loading rules), or an input error saying which. */
export async function kubeConfigFrom(
  values: {
    kubeconfig?: string;
    context?: string;
  },
  env: NodeJS.ProcessEnv = process.env,
): Promise<import("@kubernetes/client-node").KubeConfig> {
  if (!values.kubeconfig) {
    const search = defaultKubeconfigSearch(env);
    if (!search.found)
      throw new InputError(
        `no kubeconfig found: looked at ${search.looked.join(", ")}; pass --kubeconfig FILE or set KUBECONFIG`,
      );
  }
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
  const kc = await kubeConfigFrom(values, io.env);
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
