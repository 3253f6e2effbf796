import { describe, expect, it } from "vitest";
import { parseCidr } from "../net/cidr.js";
import type { Finding } from "./baseline/types.js";
import { MASKED_V4, maskAddress, maskFinding } from "./mask.js";

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
