/** Property tests of the matcher and the learner (fast-check). */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { NetworkBaseline } from "../../api/v1alpha1/networkbaseline.js";
import { semanticProblems } from "../../api/validate.js";
import { TCP_STATES } from "../../net/states.js";
import type { Socket } from "../socket.js";
import { compileBaseline } from "./compile.js";
import { evaluate } from "./evaluate.js";
import { Learner } from "./learn.js";
import { offlineResolver } from "./resolver.js";
import type { IdentityResolver } from "./types.js";

const LOCAL = ["10.244.1.5", "0.0.0.0", "127.0.0.1", "::", "fd00::5", "::1"];
const REMOTE = [
  "10.244.2.7",
  "10.96.0.10",
  "203.0.113.9",
  "198.51.100.7",
  "127.0.0.1",
  "fd00::9",
  "2001:db8::1",
  "::1",
];
const NS = 4026532100;

const connected = fc.record({
  protocol: fc.constantFrom("tcp" as const, "udp" as const),
  localAddress: fc.constantFrom(...LOCAL.filter((a) => a !== "0.0.0.0" && a !== "::")),
  localPort: fc.integer({ min: 1, max: 65535 }),
  remoteAddress: fc.constantFrom(...REMOTE),
  remotePort: fc.integer({ min: 1, max: 65535 }),
  state: fc.constantFrom(...TCP_STATES.slice(1).filter((s) => s !== "LISTEN" && s !== "CLOSE")),
  process: fc.option(fc.constantFrom("web", "nc", "curl"), { nil: undefined }),
});
const listening = fc.record({
  protocol: fc.constantFrom("tcp" as const, "udp" as const),
  localAddress: fc.constantFrom(...LOCAL),
  localPort: fc.integer({ min: 1, max: 65535 }),
  process: fc.option(fc.constantFrom("web", "nc"), { nil: undefined }),
});

function toSocket(
  x: {
    protocol: "tcp" | "udp";
    localAddress: string;
    localPort: number;
    remoteAddress?: string;
    remotePort?: number;
    state?: string;
    process?: string | undefined;
  },
  i: number,
): Socket {
  const family = x.localAddress.includes(":") || (x.remoteAddress ?? "").includes(":") ? "inet6" : "inet";
  const s: Socket = {
    protocol: x.protocol,
    family,
    localAddress: x.localAddress,
    localPort: x.localPort,
    remoteAddress: x.remoteAddress ?? (family === "inet6" ? "::" : "0.0.0.0"),
    remotePort: x.remotePort ?? 0,
    // UDP has no TCP states: connected UDP is ESTABLISHED, bound UDP is UNCONN.
    state: (x.protocol === "udp"
      ? x.remoteAddress
        ? "ESTABLISHED"
        : "UNCONN"
      : (x.state ?? "LISTEN")) as Socket["state"],
    inode: 1000 + i,
    netns: NS,
  };
  if (x.process) {
    s.process = x.process;
    s.pid = 100;
  }
  return s;
}

const observation = fc
  .tuple(fc.array(listening, { maxLength: 5 }), fc.array(connected, { maxLength: 25 }))
  .map(([ls, cs]) => [...ls, ...cs].map(toSocket));

const resolver = offlineResolver(["192.0.2.2"]);
const learnedFrom = (observations: Socket[][]) => {
  const learner = new Learner();
  for (const o of observations) learner.observe(o);
  const parsed = NetworkBaseline.safeParse(learner.baseline({ name: "learned", namespace: "default" }));
  if (!parsed.success) throw new Error(`learned baseline is not schema-valid: ${parsed.error.message}`);
  expect(semanticProblems(parsed.data)).toEqual([]);
  return compileBaseline(parsed.data);
};

describe("learn then check (property)", () => {
  it("a baseline learned from observations reports no violation on them", () => {
    fc.assert(
      fc.property(fc.array(observation, { minLength: 1, maxLength: 4 }), (observations) => {
        const b = learnedFrom(observations);
        for (const sockets of observations) {
          const r = evaluate(b, { scope: "scope", sockets }, resolver);
          expect(r.findings).toEqual([]);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("one new egress peer gives exactly one UnexpectedEgress naming it", () => {
    fc.assert(
      fc.property(observation, fc.integer({ min: 1, max: 65535 }), (sockets, port) => {
        const b = learnedFrom([sockets]);
        const usedPorts = new Set(sockets.map((s) => s.localPort));
        let localPort = 20000;
        while (usedPorts.has(localPort)) localPort++;
        const fresh: Socket = {
          protocol: "tcp",
          family: "inet",
          localAddress: "10.244.1.5",
          localPort,
          remoteAddress: "192.0.2.77",
          remotePort: port,
          state: "ESTABLISHED",
          inode: 99,
          netns: NS,
        };
        const r = evaluate(b, { scope: "scope", sockets: [...sockets, fresh] }, resolver);
        expect(r.findings).toHaveLength(1);
        expect(r.findings[0]).toMatchObject({
          rule: "UnexpectedEgress",
          peer: { address: "192.0.2.77", port },
        });
        expect(r.findings[0]?.message).toContain(`192.0.2.77:${port}`);
      }),
      { numRuns: 300 },
    );
  });
});

// Schema-valid baselines, generated from the schema's shape; the few that fail semantic
// checks (an except outside its cidr) are filtered out, as `validate` would reject them.
const cidr = fc.oneof(
  fc
    .tuple(
      fc.constantFrom("10.0.0.0", "203.0.113.0", "0.0.0.0", "198.51.100.0"),
      fc.integer({ min: 0, max: 32 }),
    )
    .map(([a, p]) => `${a}/${p}`),
  fc
    .tuple(fc.constantFrom("fd00::", "2001:db8::", "::"), fc.integer({ min: 0, max: 128 }))
    .map(([a, p]) => `${a}/${p}`),
);
const selector = fc.record(
  {
    matchLabels: fc.option(
      fc.dictionary(fc.constantFrom("app", "team"), fc.constantFrom("web", "db", "edge")),
      { nil: undefined },
    ),
  },
  { requiredKeys: [] },
);
const peer = fc.oneof(
  fc.record({ ipBlock: fc.record({ cidr }, { requiredKeys: ["cidr"] }) }),
  fc.record({ podSelector: selector }),
  fc.record({ namespaceSelector: selector }),
  fc.record({ service: fc.record({ name: fc.constantFrom("db", "kube-dns") }) }),
  fc.record({ entity: fc.constantFrom("world", "cluster", "host", "kube-apiserver") }),
);
const portValue = fc.oneof(fc.integer({ min: 1, max: 65535 }), fc.constantFrom("http", "pg"));
const ports = fc.array(
  fc.record({ port: portValue, protocol: fc.constantFrom("TCP", "UDP") }, { requiredKeys: [] }),
  { maxLength: 3 },
);
const spec = fc.record(
  {
    podSelector: selector,
    mode: fc.constantFrom("Learn", "Alert"),
    listeners: fc.array(
      fc.record(
        {
          port: portValue,
          protocol: fc.constantFrom("TCP", "UDP"),
          address: fc.constantFrom("0.0.0.0", "127.0.0.1", "::"),
          process: fc.constantFrom("web", "nc"),
        },
        { requiredKeys: ["port"] },
      ),
      { maxLength: 3 },
    ),
    egress: fc.array(fc.record({ to: fc.array(peer, { maxLength: 3 }), ports }, { requiredKeys: [] }), {
      maxLength: 3,
    }),
    ingress: fc.array(fc.record({ from: fc.array(peer, { maxLength: 3 }), ports }, { requiredKeys: [] }), {
      maxLength: 3,
    }),
    thresholds: fc.record(
      {
        tcpStates: fc.record({ CLOSE_WAIT: fc.nat(5), TIME_WAIT: fc.nat(5) }, { requiredKeys: [] }),
        established: fc.nat(5),
        listeners: fc.nat(3),
      },
      { requiredKeys: [] },
    ),
    exceptions: fc.array(
      fc.record({
        rule: fc.constantFrom("UnexpectedEgress", "UnexpectedListener", "TcpStateThreshold"),
        address: fc.option(cidr, { nil: undefined }),
        port: fc.option(fc.nat(65535), { nil: undefined }),
        reason: fc.constant("accepted"),
        expires: fc.option(fc.constantFrom("2020-01-01T00:00:00Z", "2099-01-01T00:00:00Z"), {
          nil: undefined,
        }),
      }),
      { maxLength: 2 },
    ),
  },
  { requiredKeys: ["podSelector"] },
);

const clusterResolver: IdentityResolver = {
  isHost: (a) => a === "127.0.0.1",
  isCluster: (a) => a.startsWith("10."),
  isApiServer: (a) => a === "10.96.0.1",
  peer: (a) =>
    a === "10.244.2.7" ? { kind: "pod", namespace: "default", name: "db", labels: { app: "db" } } : undefined,
  serviceBackends: () => ({ addresses: ["10.244.2.7"] }),
};

describe("the matcher never throws on a schema-valid baseline (property)", () => {
  it("with either resolver and any sockets", () => {
    fc.assert(
      fc.property(spec, observation, fc.boolean(), (s, sockets, online) => {
        const parsed = NetworkBaseline.safeParse({
          apiVersion: "socklens.io/v1alpha1",
          kind: "NetworkBaseline",
          metadata: { name: "b", namespace: "default" },
          spec: s,
        });
        fc.pre(parsed.success && semanticProblems(parsed.data).length === 0);
        if (!parsed.success) return;
        const r = evaluate(
          compileBaseline(parsed.data),
          { scope: "scope", sockets },
          online ? clusterResolver : resolver,
        );
        for (const f of r.findings) expect(f.message.length).toBeGreaterThan(10);
      }),
      { numRuns: 500 },
    );
  });
});
