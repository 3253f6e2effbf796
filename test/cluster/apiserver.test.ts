// Smoke tests that prove the control plane is a real, strict Kubernetes API server:
// CRDs with schema validation and /status, watches, RBAC for ServiceAccounts, Events.
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  AuthorizationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  EventsV1Api,
  type KubeConfig,
  type KubernetesObject,
  RbacAuthorizationV1Api,
  V1MicroTime,
  VersionApi,
  Watch,
} from "@kubernetes/client-node";
import { beforeAll, describe, expect, it } from "vitest";
import { serviceAccountKubeConfig } from "./controlplane.js";
import { adminKubeConfig, clusterContext, createNamespace, skipBecause } from "./env.js";
import { applyCrds, expectApiError, parseManifests, repoCrds } from "./kube.js";
import { pinnedVersions } from "./tools.js";

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = join(here, "..", "..");
const widget = { group: "test.socklens.io", version: "v1alpha1", plural: "widgets" } as const;

interface Widget extends KubernetesObject {
  spec: { size: number; color?: string };
  status?: { phase?: string; observedGeneration?: number };
}

interface CrdSpec {
  group: string;
  names: { plural: string; kind: string };
  versions: { name: string; served: boolean }[];
}

let kc: KubeConfig;
let ns: string;

beforeAll(async () => {
  kc = adminKubeConfig();
  ns = await createNamespace(kc, "smoke");
  await applyCrds(kc, parseManifests(await readFile(join(here, "fixtures", "widgets-crd.yaml"), "utf8")));
});

describe("kube-apiserver", () => {
  it("reports the pinned Kubernetes version on /version", async (ctx) => {
    if (clusterContext().existing) {
      skipBecause(ctx, "an existing cluster runs whatever version it runs");
    }
    const v = await kc.makeApiClient(VersionApi).getCode();
    expect(v.gitVersion).toBe(pinnedVersions()["kube-apiserver"]);
    expect(`v${v.major}.${v.minor}`).toBe(pinnedVersions()["kube-apiserver"].replace(/\.\d+$/, ""));
  });

  it("created the test namespace", async () => {
    const got = await kc.makeApiClient(CoreV1Api).readNamespace({ name: ns });
    expect(got.status?.phase).toBe("Active");
    expect(got.metadata?.labels?.["socklens.io/test"]).toBe("true");
  });

  it("accepts and serves every CRD in crds/", async (ctx) => {
    const crds = await repoCrds(repoRoot);
    if (crds.length === 0) {
      skipBecause(ctx, "no crds/*.yaml in the repository yet");
      return;
    }
    // Applied here rather than in beforeAll: a CRD the server rejects (its message says
    // why, e.g. a CEL rule over the cost budget) fails this test, not every test in the file.
    await applyCrds(kc, crds);
    const api = kc.makeApiClient(CustomObjectsApi);
    for (const crd of crds) {
      const { group, names, versions } = (crd as unknown as { spec: CrdSpec }).spec;
      for (const v of versions.filter((x) => x.served)) {
        const list = (await api.listClusterCustomObject({
          group,
          version: v.name,
          plural: names.plural,
        })) as {
          kind: string;
        };
        expect(list.kind).toBe(`${names.kind}List`);
      }
    }
  });

  it("creates, gets, lists and watches a custom resource", async () => {
    const api = kc.makeApiClient(CustomObjectsApi);
    const events: { type: string; name: string; size: number }[] = [];
    const watch = new Watch(kc);
    const done = new Promise<void>((resolve) => {
      void watch
        .watch(
          `/apis/${widget.group}/${widget.version}/namespaces/${ns}/widgets`,
          {},
          (type, obj: Widget) => {
            events.push({ type, name: obj.metadata?.name ?? "", size: obj.spec.size });
            if (events.length >= 2) resolve();
          },
          () => resolve(),
        )
        .then((ctrl) => done.finally(() => ctrl.abort()));
    });
    // Give the watch a moment to be established before the writes it must see.
    await new Promise((r) => setTimeout(r, 500));

    const created = (await api.createNamespacedCustomObject({
      ...widget,
      namespace: ns,
      body: {
        apiVersion: `${widget.group}/${widget.version}`,
        kind: "Widget",
        metadata: { name: "w1" },
        spec: { size: 3, color: "red" },
      },
    })) as Widget;
    expect(created.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.metadata?.generation).toBe(1);

    const got = (await api.getNamespacedCustomObject({ ...widget, namespace: ns, name: "w1" })) as Widget;
    expect(got.spec).toEqual({ size: 3, color: "red" });

    got.spec.size = 4;
    await api.replaceNamespacedCustomObject({ ...widget, namespace: ns, name: "w1", body: got });

    const list = (await api.listNamespacedCustomObject({ ...widget, namespace: ns })) as { items: Widget[] };
    expect(list.items.map((w) => [w.metadata?.name, w.spec.size])).toEqual([["w1", 4]]);

    await Promise.race([
      done,
      new Promise((_, rej) => setTimeout(() => rej(new Error("watch saw nothing")), 10_000)),
    ]);
    expect(events.slice(0, 2)).toEqual([
      { type: "ADDED", name: "w1", size: 3 },
      { type: "MODIFIED", name: "w1", size: 4 },
    ]);
  });

  it("writes status only through the /status subresource", async () => {
    const api = kc.makeApiClient(CustomObjectsApi);
    await api.createNamespacedCustomObject({
      ...widget,
      namespace: ns,
      body: {
        apiVersion: "test.socklens.io/v1alpha1",
        kind: "Widget",
        metadata: { name: "w2" },
        spec: { size: 1 },
      },
    });
    // A status change sent to the main resource is silently dropped by the server...
    const cur = (await api.getNamespacedCustomObject({ ...widget, namespace: ns, name: "w2" })) as Widget;
    const viaMain = (await api.replaceNamespacedCustomObject({
      ...widget,
      namespace: ns,
      name: "w2",
      body: { ...cur, status: { phase: "Ignored" } },
    })) as Widget;
    expect(viaMain.status?.phase).toBeUndefined();
    // ...and accepted through /status, without bumping the generation.
    const fresh = (await api.getNamespacedCustomObject({ ...widget, namespace: ns, name: "w2" })) as Widget;
    const viaStatus = (await api.replaceNamespacedCustomObjectStatus({
      ...widget,
      namespace: ns,
      name: "w2",
      body: { ...fresh, status: { phase: "Ready", observedGeneration: fresh.metadata?.generation } },
    })) as Widget;
    expect(viaStatus.status).toEqual({ phase: "Ready", observedGeneration: 1 });
    expect(viaStatus.metadata?.generation).toBe(1);
  });

  it("rejects an object that violates the CRD schema, with the server's own message", async () => {
    const api = kc.makeApiClient(CustomObjectsApi);
    const create = (name: string, spec: Record<string, unknown>) =>
      expectApiError(() =>
        api.createNamespacedCustomObject({
          ...widget,
          namespace: ns,
          body: { apiVersion: "test.socklens.io/v1alpha1", kind: "Widget", metadata: { name }, spec },
        }),
      );
    const tooBig = await create("too-big", { size: 99 });
    expect(tooBig).toMatchObject({ code: 422, reason: "Invalid" });
    expect(tooBig.message).toBe(
      'Widget.test.socklens.io "too-big" is invalid: spec.size: Invalid value: 99: ' +
        "spec.size in body should be less than or equal to 10",
    );
    const badColor = await create("bad-color", { size: 2, color: "purple" });
    expect(badColor.code).toBe(422);
    expect(badColor.message).toContain(
      'spec.color: Unsupported value: "purple": supported values: "red", "green", "blue"',
    );
    const noSize = await create("no-size", { color: "red" });
    expect(noSize.code).toBe(422);
    expect(noSize.message).toContain("spec.size: Required value");
    // None of them was stored.
    const list = (await api.listNamespacedCustomObject({ ...widget, namespace: ns })) as { items: Widget[] };
    expect(list.items.map((w) => w.metadata?.name)).not.toContain("too-big");
  });

  it("enforces RBAC for a ServiceAccount: 403 without a RoleBinding, allowed with one", async () => {
    const core = kc.makeApiClient(CoreV1Api);
    const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
    await core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: "reader" } } });
    const saKc = await serviceAccountKubeConfig(kc, ns, "reader");
    const saCore = saKc.makeApiClient(CoreV1Api);

    const denied = await expectApiError(() => saCore.listNamespacedConfigMap({ namespace: ns }));
    expect(denied.code).toBe(403);
    expect(denied.message).toContain(
      `User "system:serviceaccount:${ns}:reader" cannot list resource "configmaps"`,
    );

    await rbac.createNamespacedRole({
      namespace: ns,
      body: {
        metadata: { name: "configmap-reader" },
        rules: [{ apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list", "watch"] }],
      },
    });
    await rbac.createNamespacedRoleBinding({
      namespace: ns,
      body: {
        metadata: { name: "reader-reads-configmaps" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "configmap-reader" },
        subjects: [{ kind: "ServiceAccount", name: "reader", namespace: ns }],
      },
    });
    // RBAC's authorizer cache follows a watch: allow a moment for the binding to land.
    let list: Awaited<ReturnType<CoreV1Api["listNamespacedConfigMap"]>> | undefined;
    for (let i = 0; i < 50 && !list; i++) {
      list = await saCore.listNamespacedConfigMap({ namespace: ns }).catch(() => undefined);
      if (!list) await new Promise((r) => setTimeout(r, 100));
    }
    expect(list?.items).toBeDefined();

    // Still only what the Role grants: writing is forbidden, and the server says so itself.
    const review = await saKc.makeApiClient(AuthorizationV1Api).createSelfSubjectAccessReview({
      body: { spec: { resourceAttributes: { namespace: ns, verb: "create", resource: "configmaps" } } },
    });
    expect(review.status?.allowed).toBe(false);
    const write = await expectApiError(() =>
      saCore.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: "nope" } } }),
    );
    expect(write.code).toBe(403);
  });

  it("lists back an Event created through events.k8s.io/v1", async () => {
    const events = kc.makeApiClient(EventsV1Api);
    // events.k8s.io wants MicroTime (6 fractional digits); a plain Date serializes with 3
    // and the server answers 400. client-node's V1MicroTime serializes correctly.
    const now = new V1MicroTime();
    await events.createNamespacedEvent({
      namespace: ns,
      body: {
        metadata: { name: "w1.smoke" },
        eventTime: now,
        reportingController: "socklens.io/tests",
        reportingInstance: "smoke-test",
        action: "Observe",
        reason: "UnexpectedListener",
        type: "Warning",
        note: "Widget w1 opened a listener on TCP 9090 that its baseline does not allow.",
        regarding: { apiVersion: "test.socklens.io/v1alpha1", kind: "Widget", namespace: ns, name: "w1" },
      },
    });
    const list = await events.listNamespacedEvent({ namespace: ns });
    const got = list.items.find((e) => e.metadata?.name === "w1.smoke");
    expect(got).toMatchObject({
      reason: "UnexpectedListener",
      type: "Warning",
      reportingController: "socklens.io/tests",
      regarding: { kind: "Widget", name: "w1" },
    });
    // The same Event through the core/v1 view, as `kubectl get events` shows it.
    const core = await kc.makeApiClient(CoreV1Api).listNamespacedEvent({ namespace: ns });
    expect(core.items.find((e) => e.metadata?.name === "w1.smoke")?.message).toContain("TCP 9090");
  });
});
