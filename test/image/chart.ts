/**
 * The agent DaemonSet as `helm template` renders it, turned into the podman flags that give
 * a container the same privileges a kubelet would: host pid namespace, the same hostPath
 * mounts read-only, the same capabilities, read-only root filesystem, no privilege
 * escalation, the same user and env. Anything in the pod spec this does not know how to
 * translate is an error, so a new chart setting cannot silently go untested.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { V1DaemonSet } from "@kubernetes/client-node";
import { parseAllDocuments } from "yaml";
import { requireTool } from "../cluster/tools.js";

const run = promisify(execFile);
export const CHART = fileURLToPath(new URL("../../charts/socklens", import.meta.url));

/** `helm template` with the real helm binary and a throwaway HOME. */
export async function helmTemplate(release: string, namespace: string, set: string[] = []): Promise<string> {
  const home = await mkdtemp(join(tmpdir(), "socklens-img-helm-"));
  try {
    const args = ["template", release, CHART, "--namespace", namespace, ...set.flatMap((s) => ["--set", s])];
    const r = await run(requireTool("helm"), args, {
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home, HELM_CACHE_HOME: join(home, "c") },
      encoding: "utf8",
    });
    return r.stdout;
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}

export function agentDaemonSet(rendered: string): V1DaemonSet {
  const docs = parseAllDocuments(rendered).map((d) => d.toJS() as { kind?: string } | null);
  const ds = docs.filter((d): d is V1DaemonSet => d?.kind === "DaemonSet");
  if (ds.length !== 1) throw new Error(`expected one DaemonSet in the chart, found ${ds.length}`);
  return ds[0] as V1DaemonSet;
}

/** The agent container's runtime settings, engine-neutral (podman flags or Docker API). */
export interface AgentSpec {
  hostPID: boolean;
  readOnlyRootfs: boolean;
  noNewPrivileges: boolean;
  user?: string;
  capDrop: string[];
  /** Capabilities added after the drops (the chart's, or the override). */
  capAdd: string[];
  /** host path, container path, read-only, rslave propagation */
  mounts: { host: string; container: string; readOnly: boolean; rslave: boolean }[];
  env: Record<string, string>;
  args: string[];
  /** What the chart itself adds (whatever the override). */
  capabilities: string[];
}

/**
 * The DaemonSet's agent container on node `nodeName`, as runtime settings.
 * `overrides.capabilities` replaces the chart's added capabilities (the drop-one test).
 * Anything it does not know how to translate throws.
 */
export function agentSpec(
  ds: V1DaemonSet,
  nodeName: string,
  overrides: { capabilities?: string[] } = {},
): AgentSpec {
  const pod = ds.spec?.template.spec;
  if (!pod) throw new Error("the DaemonSet has no pod template");
  const container = pod.containers.find((c) => c.name === "agent");
  if (!container) throw new Error("the DaemonSet has no container named agent");
  if (pod.hostNetwork || pod.hostIPC) throw new Error("hostNetwork/hostIPC are not translated");
  const sc = container.securityContext ?? {};
  if (sc.privileged) throw new Error("a privileged agent is not translated (and must not happen)");
  const user = sc.runAsUser ?? pod.securityContext?.runAsUser;
  const group = sc.runAsGroup ?? pod.securityContext?.runAsGroup;
  const seccomp = sc.seccompProfile?.type ?? pod.securityContext?.seccompProfile?.type;
  // RuntimeDefault is the runtime's own profile: the engine's default, nothing to pass.
  if (seccomp && seccomp !== "RuntimeDefault")
    throw new Error(`seccomp profile ${seccomp} is not translated`);
  const capabilities = sc.capabilities?.add ?? [];

  const volumes = new Map((pod.volumes ?? []).map((v) => [v.name, v]));
  const mounts: AgentSpec["mounts"] = [];
  for (const m of container.volumeMounts ?? []) {
    const v = volumes.get(m.name);
    if (!v?.hostPath) throw new Error(`volume ${m.name} is not a hostPath; not translated`);
    if (m.mountPropagation && !["None", "HostToContainer"].includes(m.mountPropagation))
      throw new Error(`mountPropagation ${m.mountPropagation} is not translated`);
    mounts.push({
      host: v.hostPath.path,
      container: m.mountPath,
      readOnly: m.readOnly === true,
      rslave: m.mountPropagation === "HostToContainer",
    });
  }
  const env: Record<string, string> = {};
  for (const e of container.env ?? []) {
    if (e.value !== undefined) env[e.name] = e.value;
    else if (e.valueFrom?.fieldRef?.fieldPath === "spec.nodeName") env[e.name] = nodeName;
    // The downward API's pod name and namespace (the agent's own OTel resource, the seasonal
    // model's ConfigMap): what a kubelet would give a DaemonSet pod on this node.
    else if (e.valueFrom?.fieldRef?.fieldPath === "metadata.name")
      env[e.name] = `${ds.metadata?.name}-${nodeName}`;
    else if (e.valueFrom?.fieldRef?.fieldPath === "metadata.namespace")
      env[e.name] = ds.metadata?.namespace ?? "default";
    else throw new Error(`env ${e.name} is not translated`);
  }
  return {
    hostPID: pod.hostPID === true,
    readOnlyRootfs: sc.readOnlyRootFilesystem === true,
    noNewPrivileges: sc.allowPrivilegeEscalation === false,
    ...(user !== undefined ? { user: group !== undefined ? `${user}:${group}` : `${user}` } : {}),
    capDrop: sc.capabilities?.drop ?? [],
    capAdd: overrides.capabilities ?? capabilities,
    mounts,
    env,
    args: container.args ?? [],
    capabilities,
  };
}

/** The same as podman run flags (before the image). */
export function podmanFlags(spec: AgentSpec): string[] {
  const flags: string[] = [];
  if (spec.hostPID) flags.push("--pid=host");
  // Kubernetes does not put a tmpfs on /tmp of a read-only root; podman would by default.
  if (spec.readOnlyRootfs) flags.push("--read-only", "--read-only-tmpfs=false");
  if (spec.noNewPrivileges) flags.push("--security-opt", "no-new-privileges");
  if (spec.user) flags.push("--user", spec.user);
  for (const cap of spec.capDrop) flags.push("--cap-drop", cap);
  for (const cap of spec.capAdd) flags.push("--cap-add", cap);
  for (const m of spec.mounts)
    flags.push(
      "-v",
      `${m.host}:${m.container}:${[m.readOnly ? "ro" : "rw", ...(m.rslave ? ["rslave"] : [])].join(",")}`,
    );
  for (const [k, v] of Object.entries(spec.env)) flags.push("-e", `${k}=${v}`);
  return flags;
}

/** Shorthand: the podman flags, args and chart capabilities of the agent on `nodeName`. */
export function podmanForAgent(
  ds: V1DaemonSet,
  nodeName: string,
  overrides: { capabilities?: string[] } = {},
): { flags: string[]; args: string[]; capabilities: string[] } {
  const spec = agentSpec(ds, nodeName, overrides);
  return { flags: podmanFlags(spec), args: spec.args, capabilities: spec.capabilities };
}
