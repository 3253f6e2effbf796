import { describe, expect, it } from "vitest";
import { parseCidr } from "../net/cidr.js";
import { maskLearned } from "./baseline/mask-learned.js";
import type { Finding } from "./baseline/types.js";
import { MASKED_V4, maskAddress, maskFinding, maskText } from "./mask.js";

const masks = [parseCidr("10.20.0.0/16"), parseCidr("fd00::/8")];

describe("masking", () => {
  it.each([
    ["10.20.3.4", MASKED_V4],
    ["10.21.3.4", "10.21.3.4"],
    ["fd00::1", "x:x:x:x"],
    ["2001:db8::1", "2001:db8::1"],
    ["", ""],
  ])("%s → %s", (a, want) => expect(maskAddress(a, masks)).toBe(want));

  it("masks a finding's peer, socket and the same addresses in its explanation", () => {
    const f: Finding = {
      rule: "UnexpectedEgress",
      severity: "medium",
      message:
        "pod shop/web-0 connected to 10.20.3.4:5432/TCP (process web, pid 1), ESTABLISHED; baseline shop/web allows egress nothing only",
      baseline: "shop/web",
      scope: "pod shop/web-0",
      peer: { direction: "egress", address: "10.20.3.4", port: 5432, protocol: "TCP" },
      socket: {
        protocol: "tcp",
        localAddress: "10.244.0.5",
        localPort: 40000,
        remoteAddress: "10.20.3.4",
        remotePort: 5432,
        state: "ESTABLISHED",
        netns: 1,
      },
      count: 1,
    };
    const m = maskFinding(f, masks);
    expect(JSON.stringify(m)).not.toContain("10.20.3.4");
    expect(m.message).toContain("connected to x.x.x.x:5432/TCP");
    expect(m.socket?.localAddress).toBe("10.244.0.5");
    expect(maskFinding(f, [])).toBe(f);
  });
});

describe("maskText: addresses inside free text", () => {
  const wide = [parseCidr("10.0.0.0/8"), parseCidr("fd00::/8")];
  it.each([
    [
      "curl http://10.1.2.3:8080/x --resolve a:443:10.9.9.9",
      "curl http://x.x.x.x:8080/x --resolve a:443:x.x.x.x",
    ],
    ["connected to [fd00::7]:5432/TCP", "connected to [x:x:x:x]:5432/TCP"],
    ["allows egress to 10.0.0.0/8 on 5432/TCP only", "allows egress to x.x.x.x/8 on 5432/TCP only"],
    ["from 10.0.3.4 (52), 192.0.2.9 (29)", "from x.x.x.x (52), 192.0.2.9 (29)"],
    [
      "::ffff:10.0.0.1 and ::1 and 1.2.3.4.5 and v1.10.0.3",
      "::ffff:x.x.x.x and ::1 and 1.2.3.4.5 and v1.10.0.3",
    ],
  ])("%s", (text, expected) => {
    expect(maskText(text, wide)).toBe(expected);
  });
});

describe("maskLearned", () => {
  it("learns a peer in a masked range as that range, merging ports, and drops a masked bind address", () => {
    const b = maskLearned(
      {
        apiVersion: "socklens.io/v1alpha1",
        kind: "NetworkBaseline",
        metadata: { name: "x", namespace: "default" },
        spec: {
          podSelector: {},
          listeners: [{ port: 8080, protocol: "TCP", address: "10.20.1.1" }],
          egress: [
            { to: [{ ipBlock: { cidr: "10.20.3.4/32" } }], ports: [{ port: 5432, protocol: "TCP" }] },
            { to: [{ ipBlock: { cidr: "10.20.9.9/32" } }], ports: [{ port: 6379, protocol: "TCP" }] },
            { to: [{ ipBlock: { cidr: "192.0.2.1/32" } }], ports: [{ port: 443, protocol: "TCP" }] },
          ],
        },
      },
      [parseCidr("10.20.7.7/16")],
    );
    expect(b.spec.listeners).toEqual([{ port: 8080, protocol: "TCP" }]);
    expect(b.spec.egress).toEqual([
      {
        to: [{ ipBlock: { cidr: "10.20.0.0/16" } }],
        ports: [
          { port: 5432, protocol: "TCP" },
          { port: 6379, protocol: "TCP" },
        ],
      },
      { to: [{ ipBlock: { cidr: "192.0.2.1/32" } }], ports: [{ port: 443, protocol: "TCP" }] },
    ]);
    expect(JSON.stringify(b)).not.toMatch(/10\.20\.(3|9|1)\./);
  });
});
