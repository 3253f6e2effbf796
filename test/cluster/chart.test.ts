/**
 * The socklens Helm chart with the real helm binary against a private control plane (it
 * installs the CRDs, which the shared one already has from other suites): lint and schema
 * errors, the DaemonSet's least-privilege security context, install, RBAC that lets the
 * agent do its job and nothing else (proved with the chart's own ServiceAccount token and a
 * real `socklens agent --once`), and uninstall keeping the CRDs.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import {
  AdmissionregistrationV1Api,
  ApiextensionsV1Api,
  AppsV1Api,
  AuthorizationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
} from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { runCli } from "../host/sandbox.js";
import { ControlPlane, serviceAccountKubeConfig } from "./controlplane.js";
import { clusterContext, skipBecause } from "./env.js";
import { apiError } from "./kube.js";
import { waitFor } from "./process.js";
import { requireTool } from "./tools.js";

const run = promisify(execFile);
const chart = fileURLToPath(new URL("../../charts/socklens", import.meta.url));
const RELEASE = "sl";
const NS = "socklens-system";

let cp: ControlPlane | undefined;
let kc: KubeConfig;
let home: string;

async function helm(
  args: string[],
  opts: { kubeconfig?: boolean } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: home,
    HELM_CACHE_HOME: join(home, "c"),
    HELM_CONFIG_HOME: join(home, "f"),
    HELM_DATA_HOME: join(home, "d"),
  };
  const full = opts.kubeconfig && cp ? [...args, "--kubeconfig", cp.kubeconfigPath] : args;
  try {
    const r = await run(requireTool("helm"), full, { env, timeout: 60_000 });
    return { code: 0, ...r };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === "number" ? e.code : 1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), "socklens-chart-"));
  if (clusterContext().existing) return;
  cp = await ControlPlane.start();
  kc = cp.kubeConfig();
});

afterAll(async () => {
  await cp?.stop();
  await rm(home, { recursive: true, force: true });
});

describe("charts/socklens", () => {
  it("lints, and its values schema rejects bad settings with a clear message", async () => {
    const ok = await helm(["lint", chart]);
    expect(ok.code, ok.stderr + ok.stdout).toBe(0);
    const bad = await helm(["lint", chart, "--set", "agent.interval=soon"]);
    expect(bad.code).not.toBe(0);
    expect(bad.stdout + bad.stderr).toContain("at '/agent/interval': 'soon' does not match pattern");
    const unknown = await helm(["lint", chart, "--set", "agent.intervall=15s"]);
    expect(unknown.stdout + unknown.stderr).toMatch(/additional properties? .*intervall/i);
  });

  it("renders an agent with least privilege: two capabilities, read-only host mounts, no host network", async () => {
    const r = await helm([
      "template",
      RELEASE,
      chart,
      "--namespace",
      NS,
      "--set",
      "agent.otlpEndpoint=http://otel:4318",
    ]);
    expect(r.code, r.stderr).toBe(0);
    const docs = parseAllDocuments(r.stdout).map(
      (d) =>
        d.toJS() as {
          kind: string;
          spec?: Record<string, unknown>;
          metadata?: { annotations?: Record<string, string> };
        },
    );
    const ds = docs.find((d) => d.kind === "DaemonSet") as unknown as {
      spec: {
        template: {
          spec: {
            hostPID: boolean;
            hostNetwork?: boolean;
            containers: {
              securityContext: Record<string, unknown>;
              volumeMounts: { readOnly: boolean; mountPath: string }[];
              env: { name: string; value?: string }[];
            }[];
          };
        };
      };
    };
    const pod = ds.spec.template.spec;
    expect(pod.hostPID).toBe(true);
    expect(pod.hostNetwork).toBeUndefined();
    const [c] = pod.containers;
    expect(c?.securityContext).toMatchObject({
      privileged: false,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"], add: ["SYS_PTRACE", "DAC_READ_SEARCH"] },
    });
    expect(c?.volumeMounts.every((m) => m.readOnly)).toBe(true);
    expect(c?.env).toContainEqual({ name: "OTEL_EXPORTER_OTLP_ENDPOINT", value: "http://otel:4318" });
    const operator = docs.find((d) => d.kind === "Deployment") as unknown as {
      spec: {
        template: {
          spec: {
            securityContext: Record<string, unknown>;
            containers: { securityContext: Record<string, unknown> }[];
          };
        };
      };
    };
    expect(operator.spec.template.spec.securityContext).toMatchObject({ runAsNonRoot: true });
    expect(operator.spec.template.spec.containers[0]?.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
    });
    const crds = docs.filter((d) => d.kind === "CustomResourceDefinition");
    expect(crds).toHaveLength(2);
    for (const crd of crds) expect(crd.metadata?.annotations?.["helm.sh/resource-policy"]).toBe("keep");
    // learning.autoPromote needs the operator to update specs: granted only when enabled.
    const promote = await helm(["template", RELEASE, chart, "--set", "operator.autoPromote=true"]);
    expect(promote.stdout).toContain("- --auto-promote");
    expect(promote.stdout).toMatch(/resources: \[networkbaselines\]\n\s+verbs: \[update, patch\]/);
    expect(r.stdout).not.toMatch(/resources: \[networkbaselines\]\n\s+verbs: \[update, patch\]/);
    const noCrds = await helm(["template", RELEASE, chart, "--set", "crds.install=false"]);
    expect(noCrds.stdout).not.toContain("kind: CustomResourceDefinition");
  });

  it("renders host mounts that must exist, tokens only where asked for, and the agent's admission policy", async () => {
    const r = await helm(["template", RELEASE, chart, "--namespace", NS]);
    expect(r.code, r.stderr).toBe(0);
    type Doc = {
      kind: string;
      metadata: { name: string };
      automountServiceAccountToken?: boolean;
      spec?: {
        template?: {
          spec: {
            automountServiceAccountToken?: boolean;
            volumes?: { name: string; hostPath?: { path: string; type: string } }[];
          };
        };
        policyName?: string;
        validationActions?: string[];
        failurePolicy?: string;
        matchConditions?: { expression: string }[];
      };
    };
    const docs = parseAllDocuments(r.stdout).map((d) => d.toJS() as Doc);
    const ds = docs.find((d) => d.kind === "DaemonSet");
    // Nothing is created on the host: /run/netns is the runtime's, read only if it is there.
    expect(ds?.spec?.template?.spec.volumes?.map((v) => v.hostPath)).toEqual([
      { path: "/proc", type: "Directory" },
      { path: "/run/netns", type: "Directory" },
      { path: "/etc/passwd", type: "File" },
    ]);
    // Both pods talk to the API server and ask for their token; the accounts do not hand
    // one to any other pod that names them.
    expect(ds?.spec?.template?.spec.automountServiceAccountToken).toBe(true);
    expect(docs.find((d) => d.kind === "Deployment")?.spec?.template?.spec.automountServiceAccountToken).toBe(
      true,
    );
    const accounts = docs.filter((d) => d.kind === "ServiceAccount");
    expect(accounts.map((a) => [a.metadata.name, a.automountServiceAccountToken]).sort()).toEqual([
      [`${RELEASE}-socklens`, false],
      [`${RELEASE}-socklens-operator`, false],
    ]);
    const vap = docs.find((d) => d.kind === "ValidatingAdmissionPolicy");
    expect(vap?.metadata.name).toBe(`${RELEASE}-socklens-agent-node-scope`);
    expect(vap?.spec?.failurePolicy).toBe("Fail");
    expect(vap?.spec?.matchConditions?.map((c) => c.expression)).toEqual([
      `request.userInfo.username == 'system:serviceaccount:${NS}:${RELEASE}-socklens'`,
    ]);
    expect(docs.find((d) => d.kind === "ValidatingAdmissionPolicyBinding")?.spec).toEqual({
      policyName: `${RELEASE}-socklens-agent-node-scope`,
      validationActions: ["Deny"],
    });
    // Its own ServiceAccount name follows serviceAccount.name.
    const named = await helm([
      "template",
      RELEASE,
      chart,
      "--namespace",
      NS,
      "--set",
      "serviceAccount.name=probe",
    ]);
    expect(named.stdout).toContain(`request.userInfo.username == 'system:serviceaccount:${NS}:probe'`);
    const off = await helm(["template", RELEASE, chart, "--set", "admissionPolicy.enabled=false"]);
    expect(off.code, off.stderr).toBe(0);
    expect(off.stdout).not.toContain("ValidatingAdmissionPolicy");
  });

  it("installs into a real API server; its ServiceAccount may read the cluster view and write Events, nothing more", async (ctx) => {
    if (!cp)
      return skipBecause(
        ctx,
        "SOCKLENS_USE_EXISTING_CLUSTER=1: the chart test installs CRDs on a private control plane",
      );
    const install = await helm(
      ["install", RELEASE, chart, "--namespace", NS, "--create-namespace", "--wait=false"],
      { kubeconfig: true },
    );
    expect(install.code, install.stderr).toBe(0);
    const ds = await kc
      .makeApiClient(AppsV1Api)
      .readNamespacedDaemonSet({ name: `${RELEASE}-socklens-agent`, namespace: NS });
    expect(ds.spec?.template.spec?.serviceAccountName).toBe(`${RELEASE}-socklens`);
    const crds = await kc.makeApiClient(ApiextensionsV1Api).listCustomResourceDefinition();
    expect(crds.items.map((c) => c.metadata?.name).sort()).toEqual([
      "networkbaselines.socklens.io",
      "networkobservations.socklens.io",
    ]);
    // The API server accepted the admission policy (its CEL compiles) and its binding.
    const admission = kc.makeApiClient(AdmissionregistrationV1Api);
    const vap = await admission.readValidatingAdmissionPolicy({
      name: `${RELEASE}-socklens-agent-node-scope`,
    });
    expect(vap.spec?.validations).toHaveLength(6);
    await admission.readValidatingAdmissionPolicyBinding({ name: `${RELEASE}-socklens-agent-node-scope` });

    const saFile = join(home, "agent.kubeconfig");
    const sa = await serviceAccountKubeConfig(kc, NS, `${RELEASE}-socklens`, { writeTo: saFile });
    const can = async (verb: string, group: string, resource: string, namespace?: string) => {
      const r = await sa.makeApiClient(AuthorizationV1Api).createSelfSubjectAccessReview({
        body: {
          spec: { resourceAttributes: { verb, group, resource, ...(namespace ? { namespace } : {}) } },
        },
      });
      return r.status?.allowed ?? false;
    };
    // Its node's liveness Lease, in the release namespace only, by name (no list).
    for (const verb of ["get", "create", "update"])
      expect(await can(verb, "coordination.k8s.io", "leases", NS), `${verb} leases in ${NS}`).toBe(true);
    expect(await can("update", "coordination.k8s.io", "leases", "default")).toBe(false);
    expect(await can("list", "coordination.k8s.io", "leases", NS)).toBe(false);
    expect(await can("delete", "coordination.k8s.io", "leases", NS)).toBe(false);
    for (const [verb, group, resource] of [
      ["list", "", "pods"],
      ["watch", "", "services"],
      ["list", "", "nodes"],
      ["list", "discovery.k8s.io", "endpointslices"],
      ["watch", "socklens.io", "networkbaselines"],
      ["create", "socklens.io", "networkobservations"],
      ["patch", "socklens.io", "networkobservations"],
      ["create", "events.k8s.io", "events"],
      ["patch", "events.k8s.io", "events"],
    ] as const) {
      expect(await can(verb, group, resource), `${verb} ${group}/${resource}`).toBe(true);
    }
    for (const [verb, group, resource] of [
      ["get", "", "secrets"],
      ["list", "", "configmaps"],
      ["delete", "", "pods"],
      ["create", "", "pods"],
      ["update", "socklens.io", "networkbaselines"],
      ["delete", "events.k8s.io", "events"],
      ["create", "", "pods/exec"],
    ] as const) {
      expect(await can(verb, group, resource), `${verb} ${group}/${resource}`).toBe(false);
    }
    const denied = await sa
      .makeApiClient(CoreV1Api)
      .listSecretForAllNamespaces()
      .catch((e: unknown) => apiError(e));
    expect(denied).toMatchObject({ code: 403 });

    // The operator's ServiceAccount: status of baselines and its Lease, nothing else.
    const op = await serviceAccountKubeConfig(kc, NS, `${RELEASE}-socklens-operator`);
    const opCan = async (
      verb: string,
      group: string,
      resource: string,
      subresource?: string,
      namespace?: string,
    ) => {
      const r = await op.makeApiClient(AuthorizationV1Api).createSelfSubjectAccessReview({
        body: {
          spec: {
            resourceAttributes: {
              verb,
              group,
              resource,
              ...(subresource ? { subresource } : {}),
              ...(namespace ? { namespace } : {}),
            },
          },
        },
      });
      return r.status?.allowed ?? false;
    };
    expect(await opCan("patch", "socklens.io", "networkbaselines", "status")).toBe(true);
    expect(await opCan("watch", "socklens.io", "networkobservations")).toBe(true);
    expect(await opCan("update", "coordination.k8s.io", "leases", undefined, NS)).toBe(true);
    expect(await opCan("update", "coordination.k8s.io", "leases", undefined, "default")).toBe(false);
    // The agents' node Leases: read and watched in the release namespace only.
    expect(await opCan("watch", "coordination.k8s.io", "leases", undefined, NS)).toBe(true);
    expect(await opCan("list", "coordination.k8s.io", "leases", undefined, "default")).toBe(false);
    expect(await opCan("update", "socklens.io", "networkbaselines")).toBe(false);
    expect(await opCan("get", "", "secrets")).toBe(false);
    expect(await opCan("create", "events.k8s.io", "events")).toBe(true);
    expect(await opCan("delete", "events.k8s.io", "events")).toBe(false);

    // A new CRD answers 429 until its storage is ready; the agent would retry, but this test
    // asserts that no watch ever fails, so start it once the resource is listable.
    await waitFor(
      "networkbaselines listable",
      async () => {
        await kc
          .makeApiClient(CustomObjectsApi)
          .listClusterCustomObject({ group: "socklens.io", version: "v1alpha1", plural: "networkbaselines" });
        return true;
      },
      { timeoutMs: 30_000 },
    );
    // The real agent, with exactly the chart's permissions: every watch syncs, nothing is refused.
    const agent = runCli(["agent", "--once", "--kubeconfig", saFile, "--node", "chart-node"]);
    expect(agent.code, agent.stderr).toBe(0);
    expect(agent.stderr).not.toContain("watch failed");
    expect(JSON.parse(agent.stdout)).toMatchObject({ findings: 0, events: { failed: 0 } });
  });

  it("uninstalls the agent and keeps the CRDs", async (ctx) => {
    if (!cp) return skipBecause(ctx, "SOCKLENS_USE_EXISTING_CLUSTER=1");
    const r = await helm(["uninstall", RELEASE, "--namespace", NS], { kubeconfig: true });
    expect(r.code, r.stderr).toBe(0);
    const gone = await kc
      .makeApiClient(AppsV1Api)
      .readNamespacedDaemonSet({ name: `${RELEASE}-socklens-agent`, namespace: NS })
      .catch((e: unknown) => apiError(e));
    expect(gone).toMatchObject({ code: 404 });
    const policyGone = await kc
      .makeApiClient(AdmissionregistrationV1Api)
      .readValidatingAdmissionPolicy({ name: `${RELEASE}-socklens-agent-node-scope` })
      .catch((e: unknown) => apiError(e));
    expect(policyGone).toMatchObject({ code: 404 });
    const crds = await kc.makeApiClient(ApiextensionsV1Api).listCustomResourceDefinition();
    expect(crds.items).toHaveLength(2);
  });
});
