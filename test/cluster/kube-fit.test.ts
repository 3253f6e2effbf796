/**
 * socklens as Kubernetes users expect it (issue 14, "Kubernetes and Helm"), against a private
 * control plane with a real kube-controller-manager running only the garbage collector and
 * ClusterRole aggregation, and OwnerReferencesPermissionEnforcement admission on:
 * - `kubectl explain` and `kubectl get nbl -o wide` read the generated CRDs' descriptions and columns;
 * - `kubectl apply -f config/samples/` works on the fresh cluster;
 * - the chart README is what the pinned helm-docs generates; the chart renders by the book;
 * - Pod Security: the agent is refused under `baseline` and admitted under `privileged`
 *   (the namespace the chart can create), the operator under `restricted`;
 * - aggregated ClusterRoles: tokens of ServiceAccounts bound to the built-in view/edit roles;
 * - NetworkObservations owned by their NetworkBaseline, written with the agent's own token,
 *   and garbage-collected when the baseline is deleted.
 */
import { execFile } from "node:child_process";
import { accessSync, constants, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesObject,
  RbacAuthorizationV1Api,
  type V1DaemonSet,
  type V1Deployment,
  type V1PodSpec,
  type V1PodTemplateSpec,
} from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { ObservationWriter } from "../../src/kube/observations.js";
import { startControllerManager } from "./controller-manager.js";
import { ControlPlane, serviceAccountKubeConfig } from "./controlplane.js";
import { clusterContext, skipBecause } from "./env.js";
import { apiError } from "./kube.js";
import type { ManagedProcess } from "./process.js";
import { waitFor } from "./process.js";
import { pinnedVersions, requireTool, toolsCacheDir } from "./tools.js";

const run = promisify(execFile);
const root = fileURLToPath(new URL("../..", import.meta.url));
const chart = join(root, "charts", "socklens");
const NS = "socklens-system";
const RELEASE = "fit";

let cp: ControlPlane | undefined;
let kc: KubeConfig;
let kcm: ManagedProcess | undefined;
let home: string;

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

async function exec(cmd: string, args: string[], env: Record<string, string> = {}): Promise<Ran> {
  try {
    const r = await run(cmd, args, {
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home, ...env },
      timeout: 90_000,
      maxBuffer: 32 * 1024 * 1024,
    });
    return { code: 0, ...r };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === "number" ? e.code : 1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

const helm = (args: string[]) =>
  exec(requireTool("helm"), cp ? [...args, "--kubeconfig", cp.kubeconfigPath] : args, {
    HELM_CACHE_HOME: join(home, "c"),
    HELM_CONFIG_HOME: join(home, "f"),
    HELM_DATA_HOME: join(home, "d"),
  });

/** build-tools.sh builds kubectl only when the machine has none; prefer the pinned one. */
function kubectlBin(): string {
  const built = join(toolsCacheDir(), `kubectl-${pinnedVersions()["kube-apiserver"]}`, "kubectl");
  try {
    accessSync(built, constants.X_OK);
    return built;
  } catch {
    return "kubectl";
  }
}
const kubectl = (args: string[]) => exec(kubectlBin(), ["--kubeconfig", cp?.kubeconfigPath ?? "", ...args]);

function docs(text: string): KubernetesObject[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as KubernetesObject | null)
    .filter((d): d is KubernetesObject => d !== null);
}
const find = <T extends KubernetesObject>(all: KubernetesObject[], kind: string, suffix = "") =>
  all.find((o) => o.kind === kind && (o.metadata?.name ?? "").endsWith(suffix)) as T | undefined;

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), "socklens-fit-"));
  if (clusterContext().existing) return;
  cp = await ControlPlane.start({
    // What hardened clusters (OpenShift among them) enable: setting blockOwnerDeletion needs
    // `update` on the owner's finalizers. The agent's owner references must pass it.
    apiServerFlags: ["--enable-admission-plugins=OwnerReferencesPermissionEnforcement"],
  });
  kc = cp.kubeConfig();
  kcm = startControllerManager(cp, ["garbage-collector-controller", "clusterrole-aggregation-controller"]);
}, 180_000);

afterAll(async () => {
  await kcm?.stop();
  await cp?.stop();
  await rm(home, { recursive: true, force: true });
});

describe("the chart README", () => {
  it("is what the pinned helm-docs generates from values.yaml and README.md.gotmpl", async () => {
    const r = await exec(requireTool("helm-docs"), [
      "--dry-run",
      "--log-level=warning",
      `--chart-search-root=${chart}`,
      "--sort-values-order=file",
      "--skip-version-footer",
    ]);
    expect(r.code, r.stderr).toBe(0);
    const hint =
      "charts/socklens/README.md is stale: run helm-docs as the comment at its top says, and commit";
    expect(readFileSync(join(chart, "README.md"), "utf8"), hint).toBe(r.stdout);
    // Every value documented in values.yaml is a row of the table (not silently left out).
    expect(r.stdout).toContain("| agent.updateStrategy | object |");
    expect(r.stdout).toContain("| podSecurity.manageNamespace | bool | `false` | Make the release namespace");
    // helm-docs drops a description it cannot parse (one with " --" in it) and leaves the cell empty.
    const rows = r.stdout.split("\n").filter((l) => /^\| [a-zA-Z]/.test(l) && !l.startsWith("| Key"));
    expect(rows.filter((l) => /\|\s*\|$/.test(l))).toEqual([]);
    expect(rows.length).toBeGreaterThan(30);
  });
});

describe("the chart, rendered", () => {
  it("by default: system-node-critical agents, maxUnavailable 1, app.kubernetes.io labels on pod templates, no PDB for one operator", async () => {
    const r = await helm(["template", RELEASE, chart, "--namespace", NS]);
    expect(r.code, r.stderr).toBe(0);
    const all = docs(r.stdout);
    const ds = find<V1DaemonSet>(all, "DaemonSet") as V1DaemonSet;
    expect(ds.spec?.template.spec?.priorityClassName).toBe("system-node-critical");
    expect(ds.spec?.updateStrategy).toEqual({ type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1 } });
    const dep = find<V1Deployment>(all, "Deployment") as V1Deployment;
    for (const [labels, component] of [
      [ds.spec?.template.metadata?.labels, "agent"],
      [dep.spec?.template.metadata?.labels, "operator"],
    ] as const) {
      expect(labels).toMatchObject({
        "app.kubernetes.io/name": "socklens",
        "app.kubernetes.io/instance": RELEASE,
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/managed-by": "Helm",
        "app.kubernetes.io/version": expect.any(String),
      });
    }
    // Selectors stay the stable three: a version label there would orphan pods on upgrade.
    expect(Object.keys(ds.spec?.selector.matchLabels ?? {}).sort()).toEqual([
      "app.kubernetes.io/component",
      "app.kubernetes.io/instance",
      "app.kubernetes.io/name",
    ]);
    expect(find(all, "PodDisruptionBudget")).toBeUndefined();
    expect(find(all, "Namespace")).toBeUndefined();
    const view = find(all, "ClusterRole", "-view");
    expect(view?.metadata?.labels).toMatchObject({ "rbac.authorization.k8s.io/aggregate-to-view": "true" });
    const edit = find(all, "ClusterRole", "-edit");
    expect(edit?.metadata?.labels).toMatchObject({
      "rbac.authorization.k8s.io/aggregate-to-edit": "true",
      "rbac.authorization.k8s.io/aggregate-to-admin": "true",
    });
  });

  it("takes podLabels, affinity, extraEnv, tolerations, maxUnavailable and a PDB for replicas > 1", async () => {
    const affinity = {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [{ matchExpressions: [{ key: "pool", operator: "In", values: ["app"] }] }],
        },
      },
    };
    const values = join(home, "values.json");
    await writeFile(
      values,
      JSON.stringify({
        agent: {
          podLabels: { team: "sre" },
          affinity,
          extraEnv: [{ name: "SOCKLENS_EXTRA", value: "1" }],
          priorityClassName: "",
          updateStrategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: "25%" } },
        },
        operator: {
          replicas: 2,
          podLabels: { team: "sre" },
          affinity,
          tolerations: [{ key: "dedicated", operator: "Equal", value: "infra", effect: "NoSchedule" }],
          nodeSelector: { pool: "infra" },
          extraEnv: [{ name: "SOCKLENS_EXTRA", value: "2" }],
        },
      }),
    );
    const r = await helm(["template", RELEASE, chart, "--namespace", NS, "-f", values]);
    expect(r.code, r.stderr).toBe(0);
    const all = docs(r.stdout);
    const ds = find<V1DaemonSet>(all, "DaemonSet") as V1DaemonSet;
    const agent = ds.spec?.template.spec as V1PodSpec;
    expect(ds.spec?.template.metadata?.labels).toMatchObject({ team: "sre" });
    expect(agent.affinity).toEqual(affinity);
    expect(agent.priorityClassName).toBeUndefined();
    expect(agent.containers[0]?.env).toContainEqual({ name: "SOCKLENS_EXTRA", value: "1" });
    expect(ds.spec?.updateStrategy?.rollingUpdate?.maxUnavailable).toBe("25%");
    const dep = find<V1Deployment>(all, "Deployment") as V1Deployment;
    const op = dep.spec?.template.spec as V1PodSpec;
    expect(dep.spec?.template.metadata?.labels).toMatchObject({ team: "sre" });
    expect(op.tolerations).toEqual([
      { key: "dedicated", operator: "Equal", value: "infra", effect: "NoSchedule" },
    ]);
    expect(op.nodeSelector).toEqual({ pool: "infra" });
    expect(op.affinity).toEqual(affinity);
    expect(op.containers[0]?.env).toContainEqual({ name: "SOCKLENS_EXTRA", value: "2" });
    const pdb = find(all, "PodDisruptionBudget") as KubernetesObject & { spec: unknown };
    expect(pdb.spec).toEqual({
      maxUnavailable: 1,
      selector: { matchLabels: dep.spec?.selector.matchLabels },
    });
    const off = await helm([
      "template",
      RELEASE,
      chart,
      "--set",
      "operator.replicas=2",
      "--set",
      "operator.podDisruptionBudget.enabled=false",
    ]);
    expect(find(docs(off.stdout), "PodDisruptionBudget")).toBeUndefined();
  });

  it("refuses settings the schema does not know or cannot take, naming them", async () => {
    const typo = await helm(["template", RELEASE, chart, "--set", "operator.tolerationz[0].key=a"]);
    expect(typo.code).not.toBe(0);
    expect(typo.stderr).toContain("tolerationz");
    const bad = await helm([
      "template",
      RELEASE,
      chart,
      "--set",
      "agent.updateStrategy.rollingUpdate.maxUnavailable=half",
    ]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("maxUnavailable");
    const env = await helm(["template", RELEASE, chart, "--set", "agent.extraEnv[0].value=x"]);
    expect(env.code).not.toBe(0);
    expect(env.stderr).toContain("name");
  });

  it("NOTES.txt says what was created and how to see whether agents run, not that they do", async () => {
    const r = await helm(["install", RELEASE, chart, "--namespace", NS, "--dry-run=client"]);
    expect(r.code, r.stderr).toBe(0);
    const notes = r.stdout.slice(r.stdout.indexOf("NOTES:"));
    expect(notes).toContain(`DaemonSet ${RELEASE}-socklens-agent`);
    expect(notes).toContain(`rollout status daemonset/${RELEASE}-socklens-agent`);
    expect(notes).toContain("pod-security.kubernetes.io/enforce=privileged");
    expect(notes).not.toMatch(/running on every node/i);
  });
});

describe("on a fresh cluster", () => {
  const needOwnCluster = (ctx: Parameters<typeof skipBecause>[0]) => {
    if (!cp)
      skipBecause(
        ctx,
        "SOCKLENS_USE_EXISTING_CLUSTER=1: this suite needs a private control plane with its own garbage collector",
      );
  };

  it("installs the chart with podSecurity.manageNamespace: the namespace is labelled privileged", async (ctx) => {
    needOwnCluster(ctx);
    // Helm keeps the release in the namespace, so it must exist first; the release adopts it
    // (with --create-namespace helm would create it twice: "already exists").
    await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: NS } } });
    const r = await helm([
      "install",
      RELEASE,
      chart,
      "--namespace",
      NS,
      "--take-ownership",
      "--set",
      "podSecurity.manageNamespace=true",
      // The node-scope policy needs tokens bound to pods on nodes (admission.test.ts covers
      // it); here the agent's plain token writes observations.
      "--set",
      "admissionPolicy.enabled=false",
      "--wait=false",
    ]);
    expect(r.code, r.stderr).toBe(0);
    // A new CRD answers 429 "storage is (re)initializing" for a moment after it is Established.
    await waitFor(
      "networkbaselines listable",
      async () => {
        await kc
          .makeApiClient(CustomObjectsApi)
          .listClusterCustomObject({ group: "socklens.io", version: "v1alpha1", plural: "networkbaselines" });
        await kc.makeApiClient(CustomObjectsApi).listClusterCustomObject({
          group: "socklens.io",
          version: "v1alpha1",
          plural: "networkobservations",
        });
        return true;
      },
      { timeoutMs: 30_000 },
    );
    const ns = await kc.makeApiClient(CoreV1Api).readNamespace({ name: NS });
    expect(ns.metadata?.labels).toMatchObject({
      "pod-security.kubernetes.io/enforce": "privileged",
      "pod-security.kubernetes.io/audit": "privileged",
      "pod-security.kubernetes.io/warn": "privileged",
      "app.kubernetes.io/managed-by": "Helm",
    });
  });

  it("Pod Security: the agent is refused under baseline and admitted under privileged; the operator passes restricted", async (ctx) => {
    needOwnCluster(ctx);
    const core = kc.makeApiClient(CoreV1Api);
    const apps = kc.makeApiClient(AppsV1Api);
    const ds = await apps.readNamespacedDaemonSet({ name: `${RELEASE}-socklens-agent`, namespace: NS });
    const dep = await apps.readNamespacedDeployment({ name: `${RELEASE}-socklens-operator`, namespace: NS });
    for (const level of ["baseline", "restricted"])
      await core.createNamespace({
        body: { metadata: { name: `psa-${level}`, labels: { "pod-security.kubernetes.io/enforce": level } } },
      });
    // The pods their controllers would create (there is no DaemonSet controller here), in a
    // dry run: admission (Pod Security, Priority) runs, nothing is stored.
    const podOf = (t: { template: V1PodTemplateSpec } | undefined, namespace: string, name: string) =>
      core
        .createNamespacedPod({
          namespace,
          dryRun: "All",
          body: {
            metadata: { name, labels: t?.template.metadata?.labels ?? {} },
            spec: { ...(t?.template.spec as V1PodSpec), nodeName: "node-1" },
          },
        })
        .then(
          (pod) => ({ ok: true as const, pod }),
          (e: unknown) => ({ ok: false as const, error: apiError(e) }),
        );
    const refused = await podOf(ds.spec, "psa-baseline", "agent");
    expect(refused.ok).toBe(false);
    if (!refused.ok) {
      expect(refused.error.code).toBe(403);
      expect(refused.error.message).toContain('violates PodSecurity "baseline:latest"');
      expect(refused.error.message).toContain("hostPID");
      expect(refused.error.message).toContain("hostPath");
      expect(refused.error.message).toContain("SYS_PTRACE");
    }
    const admitted = await podOf(ds.spec, NS, "agent");
    expect(admitted.ok, admitted.ok ? "" : admitted.error.message).toBe(true);
    // system-node-critical outside kube-system: the Priority admission resolves it.
    if (admitted.ok) expect(admitted.pod.spec?.priority).toBe(2000001000);
    const operator = await podOf(dep.spec, "psa-restricted", "operator");
    expect(operator.ok, operator.ok ? "" : operator.error.message).toBe(true);
  });

  it("aggregated ClusterRoles: a view-bound token reads NetworkBaselines, an edit-bound one writes them, neither writes observations", async (ctx) => {
    needOwnCluster(ctx);
    const core = kc.makeApiClient(CoreV1Api);
    const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
    const ns = "team-a";
    await core.createNamespace({ body: { metadata: { name: ns } } });
    for (const [role, sa] of [
      ["view", "viewer"],
      ["edit", "editor"],
    ] as const) {
      await core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: sa } } });
      await rbac.createNamespacedRoleBinding({
        namespace: ns,
        body: {
          metadata: { name: sa },
          roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: role },
          subjects: [{ kind: "ServiceAccount", name: sa, namespace: ns }],
        },
      });
    }
    // The built-in roles exist (the API server's RBAC bootstrap); the controller manager's
    // aggregation controller copies the chart's rules into them.
    await waitFor(
      "the chart's rules aggregated into view and edit",
      async () => {
        const has = async (name: string, verb: string) =>
          ((await rbac.readClusterRole({ name })).rules ?? []).some(
            (r) => r.apiGroups?.includes("socklens.io") && r.verbs.includes(verb),
          );
        return (await has("view", "list")) && (await has("edit", "create")) && (await has("admin", "delete"));
      },
      { timeoutMs: 30_000, procs: kcm ? [kcm] : [] },
    );
    const group = { group: "socklens.io", version: "v1alpha1", namespace: ns };
    const baseline = (name: string) => ({
      apiVersion: "socklens.io/v1alpha1",
      kind: "NetworkBaseline",
      metadata: { name },
      spec: { podSelector: { matchLabels: { app: name } } },
    });
    const viewer = (await serviceAccountKubeConfig(kc, ns, "viewer")).makeApiClient(CustomObjectsApi);
    const editor = (await serviceAccountKubeConfig(kc, ns, "editor")).makeApiClient(CustomObjectsApi);

    const created = await editor.createNamespacedCustomObject({
      ...group,
      plural: "networkbaselines",
      body: baseline("web"),
    });
    expect(created).toMatchObject({ metadata: { name: "web" } });
    const listed = (await viewer.listNamespacedCustomObject({ ...group, plural: "networkbaselines" })) as {
      items: KubernetesObject[];
    };
    expect(listed.items.map((i) => i.metadata?.name)).toEqual(["web"]);
    await viewer.listNamespacedCustomObject({ ...group, plural: "networkobservations" });
    const viewWrite = await viewer
      .createNamespacedCustomObject({ ...group, plural: "networkbaselines", body: baseline("db") })
      .catch((e: unknown) => apiError(e));
    expect(viewWrite).toMatchObject({ code: 403 });
    const forged = await editor
      .createNamespacedCustomObject({
        ...group,
        plural: "networkobservations",
        body: { apiVersion: "socklens.io/v1alpha1", kind: "NetworkObservation", metadata: { name: "x" } },
      })
      .catch((e: unknown) => apiError(e));
    expect(forged).toMatchObject({ code: 403 });
    await editor.deleteNamespacedCustomObject({ ...group, plural: "networkbaselines", name: "web" });
  });

  it("NetworkObservations written with the agent's token are owned by their baseline and garbage-collected with it", async (ctx) => {
    needOwnCluster(ctx);
    const ns = "shop";
    await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: ns } } });
    const custom = kc.makeApiClient(CustomObjectsApi);
    const group = { group: "socklens.io", version: "v1alpha1", namespace: ns };
    const owners: Record<string, { name: string; uid: string }> = {};
    for (const name of ["web", "db"]) {
      const b = (await custom.createNamespacedCustomObject({
        ...group,
        plural: "networkbaselines",
        body: {
          apiVersion: "socklens.io/v1alpha1",
          kind: "NetworkBaseline",
          metadata: { name },
          spec: { podSelector: { matchLabels: { app: name } } },
        },
      })) as KubernetesObject;
      owners[name] = { name, uid: b.metadata?.uid as string };
    }
    // The agent's own ServiceAccount token, with the chart's RBAC (no networkbaselines/finalizers).
    const agentKc = await serviceAccountKubeConfig(kc, NS, `${RELEASE}-socklens`);
    const logs: string[] = [];
    const writer = new ObservationWriter(agentKc, { log: (m, f) => logs.push(`${m} ${JSON.stringify(f)}`) });
    const spec = (baseline: string) => ({
      baseline,
      nodeName: "node-1",
      windowStart: "2026-01-01T00:00:00.000Z",
      windowEnd: "2026-01-01T00:00:30.000Z",
      pods: [`${baseline}-0`],
      listeners: [],
      egress: [],
      ingress: [],
      tcpStates: {},
      violations: {},
    });
    for (const name of ["web", "db"])
      expect(await writer.write(ns, spec(name), owners[name]), logs.join("\n")).toBe(true);
    const read = (name: string) =>
      custom.getNamespacedCustomObject({
        ...group,
        plural: "networkobservations",
        name,
      }) as Promise<KubernetesObject>;
    const web = await read("web.node-1");
    expect(web.metadata?.ownerReferences).toEqual([
      {
        apiVersion: "socklens.io/v1alpha1",
        kind: "NetworkBaseline",
        name: "web",
        uid: owners.web?.uid,
        controller: true,
      },
    ]);
    // Why there is no blockOwnerDeletion: with it, this admission plugin wants `update` on
    // networkbaselines/finalizers, which the agent does not (and should not) hold.
    const agentApi = agentKc.makeApiClient(CustomObjectsApi);
    const blocking = await agentApi
      .createNamespacedCustomObject({
        ...group,
        plural: "networkobservations",
        body: {
          apiVersion: "socklens.io/v1alpha1",
          kind: "NetworkObservation",
          metadata: {
            name: "db.node-2",
            ownerReferences: [
              { ...web.metadata?.ownerReferences?.[0], ...owners.db, blockOwnerDeletion: true },
            ],
          },
          spec: { ...spec("db"), nodeName: "node-2" },
        },
      })
      .catch((e: unknown) => apiError(e));
    expect(blocking).toMatchObject({ code: 403 });
    expect((blocking as { message: string }).message).toContain("cannot set blockOwnerDeletion");
    // The plugin's other rule: changing an existing object's owner references takes `delete`
    // on it, which the agent lacks too. A baseline deleted and created again under its name
    // gets a fresh observation once the garbage collector removed the old one (ADR 0015).
    const retarget = await agentApi
      .patchNamespacedCustomObject({
        ...group,
        plural: "networkobservations",
        name: "web.node-1",
        body: [{ op: "replace", path: "/metadata/ownerReferences/0/uid", value: owners.db?.uid }],
      })
      .catch((e: unknown) => apiError(e));
    expect(retarget).toMatchObject({ code: 403 });
    expect((retarget as { message: string }).message).toContain(
      "cannot set an ownerRef on a resource you can't delete",
    );

    await custom.deleteNamespacedCustomObject({ ...group, plural: "networkbaselines", name: "web" });
    await waitFor(
      "the garbage collector to delete web's observation",
      async () =>
        read("web.node-1").then(
          () => false,
          (e: unknown) => apiError(e).code === 404,
        ),
      { timeoutMs: 60_000, procs: kcm ? [kcm] : [] },
    );
    // The other baseline's observation is untouched.
    expect((await read("db.node-1")).metadata?.ownerReferences?.[0]?.uid).toBe(owners.db?.uid);
  });

  it("kubectl explain describes the kinds and their fields; kubectl get nbl -o wide shows the wide columns", async (ctx) => {
    needOwnCluster(ctx);
    const kind = await kubectl(["explain", "networkbaseline"]);
    expect(kind.code, kind.stderr).toBe(0);
    expect(kind.stdout).toMatch(/DESCRIPTION:\s+NetworkBaseline says what is normal/);
    expect(kind.stdout).not.toContain("<empty>");
    for (const field of ["status", "spec.exceptions", "spec.learning", "status.violations.byRule"]) {
      const r = await kubectl(["explain", `networkbaseline.${field}`]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout, field).not.toContain("<empty>");
      expect(r.stdout, field).toMatch(/DESCRIPTION:\s+\S/);
    }
    const nob = await kubectl(["explain", "networkobservation.spec"]);
    expect(nob.stdout).toContain("What one node saw of the baseline's pods in one window.");
  });

  it("kubectl apply -f config/samples/ works as-is, then get -o wide shows them", async (ctx) => {
    needOwnCluster(ctx);
    // The samples name no namespace: they land in the context's ("default" on a fresh cluster).
    const r = await kubectl(["apply", "-f", join(root, "config", "samples")]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("networkbaseline.socklens.io/web created");
    const wide = await kubectl(["get", "nbl", "-o", "wide", "-n", "default"]);
    expect(wide.code, wide.stderr).toBe(0);
    const header = (wide.stdout.split("\n")[0] ?? "").split(/\s+/);
    expect(header).toEqual([
      "NAME",
      "MODE",
      "PODS",
      "VIOLATIONS",
      "LAST-VIOLATION",
      "READY",
      "AGE",
      "LEARNING",
      "VIOLATING",
      "GENERATION",
      "OBSERVED-GENERATION",
    ]);
    const narrow = await kubectl(["get", "nbl", "-n", "default"]);
    expect(narrow.stdout.split("\n")[0]).not.toContain("LEARNING");
  });
});
