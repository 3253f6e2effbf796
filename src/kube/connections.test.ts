// reuseConnections on a real KubeConfig and client-node's own createDispatcher (an undici
// Agent connects lazily, so nothing here touches the network). The cluster test
// test/cluster/connections.test.ts counts the TLS connections against a real API server.
import { KubeConfig } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { reuseConnections } from "./connections.js";

const b64 = (s: string) => Buffer.from(s).toString("base64");

function kubeConfig(cert = "cert-1"): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "c", server: "https://127.0.0.1:6443", caData: b64("ca"), skipTLSVerify: false }],
    users: [{ name: "u", certData: b64(cert), keyData: b64("key") }],
    contexts: [{ name: "x", cluster: "c", user: "u" }],
    currentContext: "x",
  });
  return kc;
}

/** The dispatcher client-node attaches to a request, as its generated APIs do. */
async function dispatcherOf(kc: KubeConfig): Promise<unknown> {
  let d: unknown;
  await kc.applySecurityAuthentication({
    setHeaderParam: () => undefined,
    setDispatcher: (x: unknown) => {
      d = x;
    },
  } as never);
  return d;
}

describe("reuseConnections", () => {
  it("client-node alone builds a new dispatcher for every request (why this exists)", async () => {
    const kc = kubeConfig();
    const a = await dispatcherOf(kc);
    expect(a).toBeDefined();
    expect(await dispatcherOf(kc)).not.toBe(a);
  });

  it("hands out one dispatcher while the connection settings stay the same", async () => {
    const kc = kubeConfig();
    expect(reuseConnections(kc)).toBe(true);
    const a = await dispatcherOf(kc);
    expect(a).toBeDefined();
    for (let i = 0; i < 5; i++) expect(await dispatcherOf(kc)).toBe(a);
    // twice on the same KubeConfig changes nothing
    expect(reuseConnections(kc)).toBe(true);
    expect(await dispatcherOf(kc)).toBe(a);
  });

  it("a rotated client certificate gets a new dispatcher and the old one is closed", async () => {
    const kc = kubeConfig("cert-1");
    reuseConnections(kc);
    const a = (await dispatcherOf(kc)) as { closed?: boolean; close(): Promise<void> };
    const user = kc.getCurrentUser() as { certData?: string };
    user.certData = b64("cert-2");
    const b = await dispatcherOf(kc);
    expect(b).not.toBe(a);
    expect(await dispatcherOf(kc)).toBe(b);
    // undici marks an Agent closed at once; its requests in flight may still finish
    expect(a.closed).toBe(true);
  });

  it("a KubeConfig without createDispatcher is left alone", () => {
    const kc = kubeConfig();
    (kc as unknown as { createDispatcher?: unknown }).createDispatcher = undefined;
    expect(reuseConnections(kc)).toBe(false);
  });
});
