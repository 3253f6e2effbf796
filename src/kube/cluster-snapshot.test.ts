import type { V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { toClusterPod } from "./cluster-snapshot.js";

const pod = (extra: Partial<V1Pod> = {}): V1Pod => ({
  metadata: {
    uid: "u1",
    name: "web-0",
    namespace: "shop",
    creationTimestamp: new Date("2026-11-23T10:00:00Z"),
  },
  spec: { containers: [] },
  status: { podIP: "10.244.1.5", phase: "Running" },
  ...extra,
});

describe("toClusterPod", () => {
  it("keeps the pod's own ephemeral port range (a safe sysctl) and its creation time", () => {
    const p = toClusterPod(
      pod({
        spec: {
          containers: [],
          securityContext: { sysctls: [{ name: "net.ipv4.ip_local_port_range", value: "20000 29999" }] },
        },
      }),
    );
    expect(p?.ephemeralPorts).toEqual([20000, 29999]);
    expect(p?.createdAt).toBe("2026-11-23T10:00:00.000Z");
    expect(p?.gone).toBeUndefined();
  });

  it.each([["1024"], ["30000 20000"], ["0 100"], ["1 70000"], ["a b"]])(
    "ignores a malformed range %j",
    (value) => {
      const p = toClusterPod(
        pod({
          spec: {
            containers: [],
            securityContext: { sysctls: [{ name: "net.ipv4.ip_local_port_range", value }] },
          },
        }),
      );
      expect(p?.ephemeralPorts).toBeUndefined();
    },
  );

  it.each([["Succeeded"], ["Failed"]])("a %s pod is gone: its IP may be someone else's", (phase) => {
    expect(toClusterPod(pod({ status: { podIP: "10.244.1.5", phase } }))?.gone).toBe(true);
  });
});
