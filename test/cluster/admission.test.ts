/**
 * The chart's ValidatingAdmissionPolicy on the real API server: the agent's ServiceAccount
 * may write only NetworkObservations of the node its pod-bound token names, and only Events
 * regarding Pods. Two Node objects, one agent pod on each (no kubelet: pods are API
 * objects, their status set by hand), a token bound to each pod through the TokenRequest
 * API as the kubelet would ask for it, and the writes each token may and may not make.
 *
 * The chart is rendered by the real helm; its ServiceAccount, RBAC and the policy with its
 * binding are applied (not the DaemonSet and Deployment: their pods could run on a real
 * cluster under SOCKLENS_USE_EXISTING_CLUSTER). Every allow/deny is printed.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import {
  AdmissionregistrationV1Api,
  AuthenticationV1Api,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  EventsV1Api,
  type KubeConfig,
  type KubernetesObject,
  KubernetesObjectApi,
  PatchStrategy,
  RbacAuthorizationV1Api,
  V1MicroTime,
  type V1Pod,
} from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { API_VERSION, GROUP, VERSION } from "../../src/api/v1alpha1/common.js";
import { buildObservation, observationName } from "../../src/core/baseline/observation.js";
import { NodeLease } from "../../src/kube/node-lease.js";
import { ObservationWriter } from "../../src/kube/observations.js";
import { serviceAccountKubeConfig } from "./controlplane.js";
import { adminKubeConfig, createNamespace, uniqueName } from "./env.js";
import { apiError, apply, applyCrds, parseManifests, repoCrds, runningPod } from "./kube.js";
import { waitFor } from "./process.js";
import { requireTool } from "./tools.js";

const run = promisify(execFile);
const root = fileURLToPath(new URL("../..", import.meta.url));
const chart = join(root, "charts", "socklens");
const PLURAL = "networkobservations";
const POLICY_KINDS = new Set([
  "ServiceAccount",
  "ClusterRole",
  "ClusterRoleBinding",
  "Role",
  "RoleBinding",
  "ValidatingAdmissionPolicy",
  "ValidatingAdmissionPolicyBinding",
]);

let home: string;
let admin: KubeConfig;
let ns: string;
let release: string;
let sa: string;
let policy: string;
let applied: KubernetesObject[] = [];
const nodes: string[] = [];
/** The agent pod on each node, and a KubeConfig with a token bound to it. */
const agents: { node: string; pod: V1Pod; kc: KubeConfig }[] = [];
/** A token of the same ServiceAccount, bound to nothing. */
let plain: KubeConfig;
const results: string[] = [];

type Outcome = { allowed: true } | { allowed: false; code: number; message: string };

async function attempt(fn: () => Promise<unknown>): Promise<Outcome> {
  try {
    await fn();
    return { allowed: true };
  } catch (err) {
    const e = apiError(err);
    return { allowed: false, code: e.code, message: e.message };
  }
}

/** Runs a write, prints and keeps its outcome for the summary. */
async function record(who: string, what: string, fn: () => Promise<unknown>): Promise<Outcome> {
  const o = await attempt(fn);
  const line = `${who} | ${what} | ${o.allowed ? "ALLOWED" : `DENIED (HTTP ${o.code}): ${o.message}`}`;
  results.push(line);
  console.log(`[admission] ${line}`);
  return o;
}

/**
 * A denial by the policy, as the API server words it:
 * `<resource> "<name>" is forbidden: ValidatingAdmissionPolicy '…' with binding '…' denied request: <message>`.
 */
function deniedBy(message: string) {
  const tail = `is forbidden: ValidatingAdmissionPolicy '${policy}' with binding '${policy}' denied request: ${message}`;
  const escaped = tail.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return {
    allowed: false,
    code: 403,
    message: expect.stringMatching(new RegExp(`^\\S+ "[^"]+" ${escaped}$`)),
  };
}

function observation(name: string, nodeName: string, baseline = "web") {
  const now = new Date();
  return {
    apiVersion: API_VERSION,
    kind: "NetworkObservation",
    metadata: { name, namespace: ns },
    spec: buildObservation(baseline, nodeName, [], [], new Date(now.getTime() - 30_000), now, {
      baselineNamespace: ns,
    }),
  };
}

function createObservation(kc: KubeConfig, nodeName: string, opts: { dryRun?: boolean; name?: string } = {}) {
  return kc.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    plural: PLURAL,
    namespace: ns,
    body: observation(opts.name ?? uniqueName(`obs-${nodeName}`), nodeName),
    ...(opts.dryRun ? { dryRun: "All" } : {}),
  });
}

/** Server-side apply, as the agent's ObservationWriter does (field manager socklens-agent, force). */
function applyObservation(kc: KubeConfig, name: string, nodeName: string) {
  return KubernetesObjectApi.makeApiClient(kc).patch(
    observation(name, nodeName) as never,
    undefined,
    undefined,
    "socklens-agent",
    true,
    PatchStrategy.ServerSideApply,
  );
}

function event(regarding: { apiVersion: string; kind: string; name: string; uid?: string }, node: string) {
  return {
    metadata: { name: `${regarding.name.toLowerCase()}.${Date.now().toString(16)}${uniqueName("")}` },
    eventTime: new V1MicroTime(Date.now()),
    reportingController: "socklens.io/agent",
    reportingInstance: `socklens-agent-${node}`,
    action: "Scan",
    reason: "UnexpectedListener",
    type: "Warning",
    note: "test finding",
    regarding: { ...regarding, namespace: ns },
  };
}

async function helm(args: string[]): Promise<string> {
  const { stdout } = await run(requireTool("helm"), args, {
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: home,
      HELM_CACHE_HOME: join(home, "c"),
      HELM_CONFIG_HOME: join(home, "f"),
      HELM_DATA_HOME: join(home, "d"),
    },
    timeout: 60_000,
  });
  return stdout;
}

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), "socklens-admission-"));
  admin = adminKubeConfig();
  ns = await createNamespace(admin, "admission");
  release = uniqueName("adm");
  sa = `${release}-socklens`;
  policy = `${release}-socklens-agent-node-scope`;
  await applyCrds(admin, await repoCrds(root));
  // The roles aggregated into view/edit are kube-fit.test.ts's business, not this policy's.
  const rendered = await helm([
    "template",
    release,
    chart,
    "--namespace",
    ns,
    "--set",
    "rbac.aggregateToDefaultRoles=false",
  ]);
  applied = parseManifests(rendered).filter((o) => POLICY_KINDS.has(o.kind ?? ""));
  expect(applied.map((o) => o.kind).sort()).toEqual([
    "ClusterRole",
    "ClusterRole",
    "ClusterRoleBinding",
    "ClusterRoleBinding",
    "Role",
    "Role",
    "Role",
    "RoleBinding",
    "RoleBinding",
    "RoleBinding",
    "ServiceAccount",
    "ServiceAccount",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
  ]);
  await apply(admin, applied);

  const core = admin.makeApiClient(CoreV1Api);
  for (const n of ["n1", "n2"]) {
    const node = uniqueName(`adm-${n}`);
    await core.createNode({ body: { metadata: { name: node, labels: { "socklens.io/test": "true" } } } });
    nodes.push(node);
    const pod = await runningPod(
      core,
      ns,
      {
        metadata: { name: `agent-${n}`, labels: { "app.kubernetes.io/component": "agent" } },
        spec: {
          nodeName: node,
          serviceAccountName: sa,
          automountServiceAccountToken: false,
          containers: [{ name: "agent", image: "example.invalid/socklens" }],
        },
      },
      n === "n1" ? "10.77.0.1" : "10.77.0.2",
    );
    const kc = await serviceAccountKubeConfig(admin, ns, sa, {
      boundObjectRef: {
        kind: "Pod",
        apiVersion: "v1",
        name: pod.metadata?.name ?? "",
        uid: pod.metadata?.uid ?? "",
      },
    });
    agents.push({ node, pod, kc });
  }
  plain = await serviceAccountKubeConfig(admin, ns, sa);
});

afterAll(async () => {
  if (results.length > 0) console.log(`[admission] summary (policy ${policy}):\n  ${results.join("\n  ")}`);
  if (admin) {
    const core = admin.makeApiClient(CoreV1Api);
    for (const a of agents)
      await core
        .deleteNamespacedPod({ namespace: ns, name: a.pod.metadata?.name ?? "", gracePeriodSeconds: 0 })
        .catch(() => {});
    for (const node of nodes) await core.deleteNode({ name: node }).catch(() => {});
    const client = KubernetesObjectApi.makeApiClient(admin);
    for (const o of [...applied].reverse()) await client.delete(o).catch(() => {});
  }
  if (home) await rm(home, { recursive: true, force: true });
});

describe("the agent's ValidatingAdmissionPolicy", () => {
  it("the API server puts the pod's node into a pod-bound token (no feature gate), and none into a plain one", async () => {
    const whoami = async (kc: KubeConfig) =>
      (await kc.makeApiClient(AuthenticationV1Api).createSelfSubjectReview({ body: {} })).status?.userInfo;
    for (const a of agents) {
      const user = await whoami(a.kc);
      console.log(`[admission] token bound to pod ${a.pod.metadata?.name}: ${JSON.stringify(user)}`);
      expect(user?.username).toBe(`system:serviceaccount:${ns}:${sa}`);
      expect(user?.extra?.["authentication.kubernetes.io/node-name"]).toEqual([a.node]);
      expect(user?.extra?.["authentication.kubernetes.io/pod-name"]).toEqual([a.pod.metadata?.name]);
    }
    const p = await whoami(plain);
    console.log(`[admission] plain token: ${JSON.stringify(p)}`);
    expect(p?.extra?.["authentication.kubernetes.io/node-name"]).toBeUndefined();
    // The rendered policy arrived whole (typed models drop fields they do not know).
    const vap = await admin
      .makeApiClient(AdmissionregistrationV1Api)
      .readValidatingAdmissionPolicy({ name: policy });
    expect(vap.spec?.validations).toHaveLength(6);
    expect(vap.spec?.matchConditions?.[0]?.expression).toBe(
      `request.userInfo.username == 'system:serviceaccount:${ns}:${sa}'`,
    );
  });

  it("an agent writes its own node's NetworkObservations, and is denied another node's with a clear message", async () => {
    const [a1, a2] = agents as [(typeof agents)[0], (typeof agents)[0]];
    const expected = deniedBy(
      `socklens agent on node ${a1.node} may only write NetworkObservations of node ${a1.node}, not ${a2.node}`,
    );
    // A new policy takes a moment to be loaded: poll with a dry run until it denies.
    await waitFor(
      "the policy to be in force",
      async () => {
        const o = await attempt(() => createObservation(a1.kc, a2.node, { dryRun: true }));
        return !o.allowed && o.message.includes("denied request");
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );

    const own = await record(`n1 agent (${a1.node})`, `create NetworkObservation nodeName=${a1.node}`, () =>
      createObservation(a1.kc, a1.node),
    );
    expect(own).toEqual({ allowed: true });
    const other = await record(`n1 agent (${a1.node})`, `create NetworkObservation nodeName=${a2.node}`, () =>
      createObservation(a1.kc, a2.node),
    );
    expect(other).toEqual(expected);

    // Server-side apply, the way the agent writes: the real ObservationWriter.
    const writer = new ObservationWriter(a1.kc);
    const spec = (node: string) => observation("x", node).spec;
    await writer.write(ns, spec(a1.node));
    results.push(
      `n1 agent (${a1.node}) | apply (ObservationWriter) nodeName=${a1.node} | ${JSON.stringify(writer.stats)}`,
    );
    console.log(`[admission] ${results.at(-1)}`);
    expect(writer.stats).toMatchObject({ written: 1, failed: 0 });
    await writer.write(ns, spec(a2.node));
    results.push(
      `n1 agent (${a1.node}) | apply (ObservationWriter) nodeName=${a2.node} | ${JSON.stringify(writer.stats)}`,
    );
    console.log(`[admission] ${results.at(-1)}`);
    expect(writer.stats).toMatchObject({ written: 1, failed: 1 });
    // What the agent then logs: the policy's own words.
    expect(writer.stats.lastError).toBe(
      `HTTP 403: networkobservations.socklens.io "${observationName("web", a2.node)}" is forbidden: ValidatingAdmissionPolicy '${policy}' with binding '${policy}' denied request: socklens agent on node ${a1.node} may only write NetworkObservations of node ${a1.node}, not ${a2.node}`,
    );

    // The other way round, and an apply that would take over n2's object with n1's name in it.
    const n2name = observationName("web", a2.node);
    expect(
      await record(`n2 agent (${a2.node})`, `apply NetworkObservation ${n2name} nodeName=${a2.node}`, () =>
        applyObservation(a2.kc, n2name, a2.node),
      ),
    ).toEqual({ allowed: true });
    expect(
      await record(`n2 agent (${a2.node})`, `create NetworkObservation nodeName=${a1.node}`, () =>
        createObservation(a2.kc, a1.node),
      ),
    ).toMatchObject({
      allowed: false,
      code: 403,
      message: expect.stringContaining(
        `socklens agent on node ${a2.node} may only write NetworkObservations of node ${a2.node}, not ${a1.node}`,
      ),
    });
    const takeover = await record(
      `n1 agent (${a1.node})`,
      `apply NetworkObservation ${n2name} (node ${a2.node}'s) with nodeName=${a1.node}`,
      () => applyObservation(a1.kc, n2name, a1.node),
    );
    expect(takeover).toEqual(
      deniedBy(
        `socklens agent on node ${a1.node} may only write NetworkObservations of node ${a1.node}, not ${a2.node} (it tried to take over NetworkObservation ${n2name} of node ${a2.node})`,
      ),
    );
    const kept = (await admin.makeApiClient(CustomObjectsApi).getNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      plural: PLURAL,
      namespace: ns,
      name: n2name,
    })) as {
      spec: { nodeName: string };
    };
    expect(kept.spec.nodeName).toBe(a2.node);
  });

  it("a token that names no node may not write NetworkObservations; other identities are not matched", async () => {
    const [a1] = agents as [(typeof agents)[0]];
    const o = await record(
      "plain SA token (no node claim)",
      `create NetworkObservation nodeName=${a1.node}`,
      () => createObservation(plain, a1.node),
    );
    expect(o).toEqual(
      deniedBy(
        `socklens agent token has no node claim (authentication.kubernetes.io/node-name: it is not bound to a pod on a node), so it may not write NetworkObservations (this one is of node ${a1.node})`,
      ),
    );
    // A token bound to a Secret carries no node either.
    const core = admin.makeApiClient(CoreV1Api);
    const secret = await core.createNamespacedSecret({
      namespace: ns,
      body: { metadata: { name: uniqueName("bound") }, type: "Opaque", data: {} },
    });
    const secretBound = await serviceAccountKubeConfig(admin, ns, sa, {
      boundObjectRef: {
        kind: "Secret",
        apiVersion: "v1",
        name: secret.metadata?.name ?? "",
        uid: secret.metadata?.uid ?? "",
      },
    });
    expect(
      await record("Secret-bound SA token", `create NetworkObservation nodeName=${a1.node}`, () =>
        createObservation(secretBound, a1.node),
      ),
    ).toMatchObject({ allowed: false, code: 403, message: expect.stringContaining("has no node claim") });
    // The policy matches the agent's ServiceAccount only: an admin is not scoped to a node.
    expect(
      await record("cluster admin", "create NetworkObservation nodeName=any-node", () =>
        createObservation(admin, "any-node"),
      ),
    ).toEqual({ allowed: true });
  });

  it("an agent writes Events regarding Pods, and is denied Events about anything else", async () => {
    const [a1] = agents as [(typeof agents)[0]];
    const events = a1.kc.makeApiClient(EventsV1Api);
    const podRef = {
      apiVersion: "v1",
      kind: "Pod",
      name: a1.pod.metadata?.name ?? "",
      uid: a1.pod.metadata?.uid ?? "",
    };
    let created = "";
    expect(
      await record(`n1 agent (${a1.node})`, "create events.k8s.io/v1 Event regarding Pod", async () => {
        created = (await events.createNamespacedEvent({ namespace: ns, body: event(podRef, a1.node) }))
          .metadata?.name as string;
      }),
    ).toEqual({ allowed: true });
    // The agent adds to an Event's series with a JSON patch (an UPDATE in admission).
    expect(
      await record(`n1 agent (${a1.node})`, "patch series of that Event", () =>
        events.patchNamespacedEvent({
          name: created,
          namespace: ns,
          body: [
            {
              op: "add",
              path: "/series",
              value: { count: 2, lastObservedTime: new V1MicroTime(Date.now()) },
            },
          ],
        }),
      ),
    ).toEqual({ allowed: true });
    const onBaseline = await record(
      `n1 agent (${a1.node})`,
      "create events.k8s.io/v1 Event regarding NetworkBaseline",
      () =>
        events.createNamespacedEvent({
          namespace: ns,
          body: event({ apiVersion: API_VERSION, kind: "NetworkBaseline", name: "web" }, a1.node),
        }),
    );
    expect(onBaseline).toEqual(
      deniedBy(
        `socklens agent may only write Events regarding Pods or its own Node, not NetworkBaseline (${API_VERSION})`,
      ),
    );
    expect(
      await record(`n1 agent (${a1.node})`, "create events.k8s.io/v1 Event regarding Secret", () =>
        events.createNamespacedEvent({
          namespace: ns,
          body: event({ apiVersion: "v1", kind: "Secret", name: "db-password" }, a1.node),
        }),
      ),
    ).toMatchObject({ allowed: false, code: 403, message: expect.stringContaining("not Secret (v1)") });
    // Events regard pods on any node: the policy cannot see where a regarded pod runs.
    expect(
      await record("plain SA token (no node claim)", "create events.k8s.io/v1 Event regarding Pod", () =>
        plain
          .makeApiClient(EventsV1Api)
          .createNamespacedEvent({ namespace: ns, body: event(podRef, "none") }),
      ),
    ).toEqual({ allowed: true });
  });

  it("an agent writes Events regarding its own Node (a node-wide burst), not another's", async () => {
    const [a1, a2] = agents as [(typeof agents)[0], (typeof agents)[0]];
    const events = a1.kc.makeApiClient(EventsV1Api);
    const nodeRef = (name: string) => ({ apiVersion: "v1", kind: "Node", name });
    expect(
      await record(`n1 agent (${a1.node})`, "create Event regarding its own Node", () =>
        events.createNamespacedEvent({ namespace: ns, body: event(nodeRef(a1.node), a1.node) }),
      ),
    ).toEqual({ allowed: true });
    expect(
      await record(`n1 agent (${a1.node})`, "create Event regarding the other Node", () =>
        events.createNamespacedEvent({ namespace: ns, body: event(nodeRef(a2.node), a1.node) }),
      ),
    ).toEqual(
      deniedBy(
        `socklens agent may only write Events regarding Pods or its own Node, not Node (v1) ${a2.node}`,
      ),
    );
  });

  it("an agent writes only its own node's seasonal-model ConfigMap", async () => {
    const [a1, a2] = agents as [(typeof agents)[0], (typeof agents)[0]];
    const core = a1.kc.makeApiClient(CoreV1Api);
    const cm = (name: string) => ({ metadata: { name }, data: { model: "{}" } });
    expect(
      await record(`n1 agent (${a1.node})`, "create ConfigMap of its own node", () =>
        core.createNamespacedConfigMap({ namespace: ns, body: cm(`socklens-seasonal-${a1.node}`) }),
      ),
    ).toEqual({ allowed: true });
    expect(
      await record(`n1 agent (${a1.node})`, "create ConfigMap of the other node", () =>
        core.createNamespacedConfigMap({ namespace: ns, body: cm(`socklens-seasonal-${a2.node}`) }),
      ),
    ).toEqual(
      deniedBy(
        `socklens agent may only write the ConfigMap of its own node, socklens-seasonal-${a1.node}, not socklens-seasonal-${a2.node}`,
      ),
    );
    expect(
      await record("plain SA token (no node claim)", "create ConfigMap of a node", () =>
        plain
          .makeApiClient(CoreV1Api)
          .createNamespacedConfigMap({ namespace: ns, body: cm(`socklens-seasonal-${a2.node}`) }),
      ),
    ).toMatchObject({
      allowed: false,
      code: 403,
      message: expect.stringContaining("its token has no node claim"),
    });
  });

  it("an agent writes only its own node's Lease, held by its own node", async () => {
    const [a1, a2] = agents as [(typeof agents)[0], (typeof agents)[0]];
    // The real NodeLease, as the agent runs it: creates, then renews by replace.
    const own = new NodeLease(a1.kc, { namespace: ns, nodeName: a1.node });
    expect(await own.renew()).toBe(true);
    expect(await own.renew()).toBe(true);
    results.push(
      `n1 agent (${a1.node}) | NodeLease create + renew ${own.name} | ${JSON.stringify(own.stats)}`,
    );
    console.log(`[admission] ${results.at(-1)}`);
    expect(own.stats).toMatchObject({ renewed: 2, failed: 0 });

    const coordination = a1.kc.makeApiClient(CoordinationV1Api);
    const leaseBody = (name: string, holder: string) => ({
      metadata: { name },
      spec: { holderIdentity: holder, leaseDurationSeconds: 900, renewTime: new V1MicroTime(Date.now()) },
    });
    expect(
      await record(`n1 agent (${a1.node})`, `create Lease socklens-agent-${a2.node} held by ${a2.node}`, () =>
        coordination.createNamespacedLease({
          namespace: ns,
          body: leaseBody(`socklens-agent-${a2.node}`, a2.node),
        }),
      ),
    ).toEqual(
      deniedBy(
        `socklens agent may only write the Lease of its own node, socklens-agent-${a1.node} held by ${a1.node}, not socklens-agent-${a2.node} held by ${a2.node}`,
      ),
    );
    // A name of its own making, held by the other node.
    expect(
      await record(
        `n1 agent (${a1.node})`,
        `create Lease socklens-agent-${a1.node}-x held by ${a2.node}`,
        () =>
          coordination.createNamespacedLease({
            namespace: ns,
            body: leaseBody(`socklens-agent-${a1.node}-x`, a2.node),
          }),
      ),
    ).toMatchObject({ allowed: false, code: 403, message: expect.stringContaining(`held by ${a2.node}`) });
    // Renewing the other node's Lease (keeping a dead node alive): n2 creates its own first.
    const theirs = new NodeLease(a2.kc, { namespace: ns, nodeName: a2.node });
    expect(await theirs.renew()).toBe(true);
    const existing = await coordination.readNamespacedLease({ name: theirs.name, namespace: ns });
    expect(
      await record(`n1 agent (${a1.node})`, `update Lease ${theirs.name} (renew the other node's)`, () =>
        coordination.replaceNamespacedLease({
          name: theirs.name,
          namespace: ns,
          body: { ...existing, spec: { ...existing.spec, renewTime: new V1MicroTime(Date.now()) } },
        }),
      ),
    ).toEqual(
      deniedBy(
        `socklens agent may only write the Lease of its own node, socklens-agent-${a1.node} held by ${a1.node}, not ${theirs.name} held by ${a2.node}`,
      ),
    );
    expect(
      await record("plain SA token (no node claim)", `create Lease socklens-agent-${a1.node}`, () =>
        plain
          .makeApiClient(CoordinationV1Api)
          .createNamespacedLease({ namespace: ns, body: leaseBody(`socklens-agent-${a1.node}`, a1.node) }),
      ),
    ).toMatchObject({
      allowed: false,
      code: 403,
      message: expect.stringContaining("(its token has no node claim)"),
    });
  });

  it("covers core v1 Events too (which the chart's RBAC does not grant the agent at all)", async () => {
    const [a1] = agents as [(typeof agents)[0]];
    const core = a1.kc.makeApiClient(CoreV1Api);
    const coreEvent = (kind: string, apiVersion: string, name: string) => ({
      metadata: { name: uniqueName(`${name}.core`) },
      involvedObject: { apiVersion, kind, name, namespace: ns },
      reason: "UnexpectedListener",
      message: "test finding",
      type: "Warning",
      source: { component: "socklens.io/agent", host: a1.node },
      firstTimestamp: new Date(),
      lastTimestamp: new Date(),
      count: 1,
    });
    const rbacOnly = await record(
      `n1 agent (${a1.node})`,
      "create core v1 Event regarding Pod (chart RBAC)",
      () =>
        core.createNamespacedEvent({
          namespace: ns,
          body: coreEvent("Pod", "v1", a1.pod.metadata?.name ?? ""),
        }),
    );
    expect(rbacOnly).toMatchObject({
      allowed: false,
      code: 403,
      message: expect.stringContaining("cannot create resource"),
    });

    // Grant it here, in the test's namespace only, to see the policy decide.
    const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
    await rbac.createNamespacedRole({
      namespace: ns,
      body: {
        metadata: { name: "core-events" },
        rules: [{ apiGroups: [""], resources: ["events"], verbs: ["create"] }],
      },
    });
    await rbac.createNamespacedRoleBinding({
      namespace: ns,
      body: {
        metadata: { name: "core-events" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "core-events" },
        subjects: [{ kind: "ServiceAccount", name: sa, namespace: ns }],
      },
    });
    await waitFor(
      "the Role to be in force",
      async () =>
        (
          await attempt(() =>
            core.createNamespacedEvent({
              namespace: ns,
              body: coreEvent("Pod", "v1", a1.pod.metadata?.name ?? ""),
            }),
          )
        ).allowed,
      { timeoutMs: 10_000 },
    );
    expect(
      await record(`n1 agent (${a1.node}), + test Role`, "create core v1 Event involvedObject Pod", () =>
        core.createNamespacedEvent({
          namespace: ns,
          body: coreEvent("Pod", "v1", a1.pod.metadata?.name ?? ""),
        }),
      ),
    ).toEqual({ allowed: true });
    expect(
      await record(
        `n1 agent (${a1.node}), + test Role`,
        "create core v1 Event involvedObject NetworkBaseline",
        () =>
          core.createNamespacedEvent({
            namespace: ns,
            body: coreEvent("NetworkBaseline", API_VERSION, "web"),
          }),
      ),
    ).toEqual(
      deniedBy(
        `socklens agent may only write Events regarding Pods or its own Node, not NetworkBaseline (${API_VERSION})`,
      ),
    );
  });
});
