/**
 * reuseConnections against the real API server: client-node alone opens a new TLS connection
 * for every request; with it, a KubeConfig's requests — lists, a PATCH, and a watch open at
 * the same time — share one. Connections are counted on undici's own diagnostics channel
 * (published for every connection any undici Agent opens).
 */
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { CoreV1Api, type KubeConfig, Watch } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadKubeConfig } from "../../src/kube/cluster-snapshot.js";
import { reuseConnections } from "../../src/kube/connections.js";
import { adminKubeConfig, clusterContext, createNamespace } from "./env.js";

let connected = 0;
const count = () => {
  connected++;
};

async function connectionsFor(kc: KubeConfig, work: (core: CoreV1Api) => Promise<void>): Promise<number> {
  const before = connected;
  await work(kc.makeApiClient(CoreV1Api));
  return connected - before;
}

const tenReads = async (core: CoreV1Api) => {
  for (let i = 0; i < 10; i++) await core.listNamespace({ limit: 1 });
};

describe("one connection pool per KubeConfig (real API server)", () => {
  let namespace: string;
  beforeAll(async () => {
    namespace = await createNamespace(adminKubeConfig(), "conns");
    subscribe("undici:client:connected", count);
  });
  afterAll(() => {
    unsubscribe("undici:client:connected", count);
  });

  it("client-node alone: ten requests, ten TLS connections", async () => {
    expect(await connectionsFor(adminKubeConfig(), tenReads)).toBe(10);
  });

  it("reuseConnections: ten requests over one connection", async () => {
    const kc = adminKubeConfig();
    reuseConnections(kc);
    expect(await connectionsFor(kc, tenReads)).toBe(1);
  });

  it("loadKubeConfig (what the agent, operator and CLI use) reuses: a watch, writes and reads at once", async () => {
    const kc = loadKubeConfig(clusterContext().kubeconfig);
    const seen: string[] = [];
    const n = await connectionsFor(kc, async (core) => {
      const opened = await new Watch(kc).watch(
        `/api/v1/namespaces/${namespace}/configmaps`,
        {},
        (phase, obj: { metadata?: { name?: string } }) => seen.push(`${phase} ${obj.metadata?.name}`),
        () => undefined,
      );
      try {
        for (let i = 0; i < 5; i++)
          await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: `cm-${i}` } } });
        await core.patchNamespacedConfigMap({
          namespace,
          name: "cm-0",
          body: [{ op: "add", path: "/data", value: { a: "b" } }],
        });
        await tenReads(core);
        for (let t = 0; t < 100 && seen.length < 6; t++) await new Promise((r) => setTimeout(r, 100));
      } finally {
        opened.abort();
      }
    });
    // the watch saw every write made while it was open, on the same connection
    expect(seen).toEqual([
      "ADDED cm-0",
      "ADDED cm-1",
      "ADDED cm-2",
      "ADDED cm-3",
      "ADDED cm-4",
      "MODIFIED cm-0",
    ]);
    expect(n).toBe(1);
  });
});
