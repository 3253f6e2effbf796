/**
 * Whatever `socklens learn` and `socklens baseline export` write passes `socklens validate`
 * (property tests, fast-check): sockets → Learner → YAML → validateBaselines, and a
 * status.learned the CRD accepts → baselineFromLearned → YAML → validateBaselines. Inputs go
 * past every list limit of the schema (64 listeners, 16 rules, 32 peers and 16 ports per
 * rule) and carry the strings a host or a cluster can hand us: hostile process names, label
 * values YAML would read as something else, IPv6, ports 0 and 65535.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Document } from "yaml";
import { API_VERSION } from "../../src/api/v1alpha1/common.js";
import {
  type Learned,
  type LearnedPeer,
  type Listener,
  MAX_LEARNED_PEERS,
  MAX_LISTENERS,
  NetworkBaselineStatus,
  type Peer,
} from "../../src/api/v1alpha1/networkbaseline.js";
import { formatProblem, validateBaselines } from "../../src/api/validate.js";
import { omittedLines } from "../../src/cli/export.js";
import { renderYamlDocument } from "../../src/cli/io.js";
import { exportLearned } from "../../src/core/baseline/export.js";
import { Learner } from "../../src/core/baseline/learn.js";
import { type PeerIdentity, peerFor } from "../../src/core/baseline/peer-identity.js";
import type { IdentityResolver, PeerInfo } from "../../src/core/baseline/types.js";
import type { Socket } from "../../src/core/socket.js";
import { formatAddress } from "../../src/net/address.js";
import { TCP_STATES } from "../../src/net/states.js";

/** Strings YAML would read as another type or structure, and terminal/layout breakers. */
const TRICKY = [
  "null",
  "~",
  "true",
  "yes",
  "no",
  "0",
  "0x1f",
  "1e3",
  "-",
  "- a",
  "a: b",
  "#x",
  "*a",
  "&a",
  "! x",
  "'",
  '"',
  "x\ny",
  "\u001b[31m",
  " lead",
  "trail ",
  "%TAG",
  "---",
  "...",
];
const text = (maxLength: number, minLength = 0) =>
  fc.oneof(
    fc.string({ unit: "binary", minLength, maxLength }),
    fc.constantFrom(...TRICKY.filter((t) => t.length >= minLength && t.length <= maxLength)),
  );

/** Addresses as the collector formats them (formatAddress), plus the special ones. */
const v4 = fc.uint8Array({ minLength: 4, maxLength: 4 }).map((b) => formatAddress(b));
const v6 = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => formatAddress(b));
const address = fc.oneof(
  { weight: 4, arbitrary: v4 },
  { weight: 2, arbitrary: v6 },
  { weight: 1, arbitrary: fc.constantFrom("0.0.0.0", "::", "127.0.0.1", "::1", "10.0.0.1", "fd00::1") },
);
// A narrow band gives runs of consecutive ports (what ranges are made of).
const port = fc.oneof(
  fc.integer({ min: 0, max: 65535 }),
  fc.integer({ min: 8000, max: 8063 }),
  fc.constantFrom(0, 1, 53, 443, 65535),
);

/**
 * Names and labels as the API server lets them through (so, ASCII and short), with the ones
 * YAML would read as null, a boolean or a number if written bare.
 */
const YAML_WORDS = ["null", "true", "yes", "no", "on", "0", "1e3", "0x1f", "0o7", "123"];
const dnsLabel = fc.oneof(
  fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?$/),
  fc.constantFrom(...YAML_WORDS.filter((w) => /^[a-z0-9]+$/.test(w))),
);
const labelValue = fc.oneof(
  fc.stringMatching(/^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/),
  fc.constantFrom("", ...YAML_WORDS, "True", "NULL", "1.5", "-1"),
);
const labelKey = fc.oneof(
  fc
    .tuple(
      fc.option(
        fc.tuple(dnsLabel, dnsLabel).map(([a, b]) => `${a}.${b}`),
        { nil: undefined },
      ),
      labelValue,
    )
    .filter(([, name]) => name !== "")
    .map(([prefix, name]) => (prefix ? `${prefix}/${name}` : name)),
  fc.constantFrom("app", "app.kubernetes.io/name", "null", "true"),
);
/** Mostly a few labels; sometimes more than a selector may hold (64), as a pod may carry. */
const labels = fc.oneof(
  { weight: 5, arbitrary: fc.dictionary(labelKey, labelValue, { maxKeys: 6 }) },
  { weight: 1, arbitrary: fc.dictionary(labelKey, labelValue, { minKeys: 60, maxKeys: 70 }) },
);
const smallLabels = fc.dictionary(labelKey, labelValue, { maxKeys: 6 });

/** Cluster knowledge as the agent has it: pods (with their workload selector), Services, nodes. */
const cluster = fc.record({
  pods: fc.array(
    fc.record({
      address,
      namespace: dnsLabel,
      selector: labels,
      workload: fc.option(fc.record({ kind: fc.constantFrom("Deployment", "StatefulSet"), name: dnsLabel }), {
        nil: undefined,
      }),
    }),
    { maxLength: 40, size: "max" },
  ),
  services: fc.array(fc.record({ address, namespace: dnsLabel, name: dnsLabel }), {
    maxLength: 20,
    size: "max",
  }),
  nodes: fc.array(address, { maxLength: 5 }),
  host: fc.array(address, { maxLength: 3 }),
  apiServer: fc.option(address, { nil: undefined }),
});

function makeResolver(c: {
  pods: {
    address: string;
    namespace: string;
    selector: Record<string, string>;
    workload?: { kind: string; name: string } | undefined;
  }[];
  services: { address: string; namespace: string; name: string }[];
  nodes: string[];
  host: string[];
  apiServer: string | undefined;
}): IdentityResolver {
  const peers = new Map<string, PeerInfo>();
  for (const p of c.pods)
    peers.set(p.address, {
      kind: "pod",
      namespace: p.namespace,
      name: "p",
      labels: p.selector,
      selector: p.selector,
      ...(p.workload ? { workload: p.workload } : {}),
    });
  for (const s of c.services) peers.set(s.address, { kind: "service", namespace: s.namespace, name: s.name });
  for (const n of c.nodes) peers.set(n, { kind: "node", name: "n" });
  return {
    isHost: (a) => c.host.includes(a),
    isApiServer: (a) => a === c.apiServer,
    isCluster: (a) => peers.has(a),
    peer: (a) => peers.get(a),
  };
}

/** With `listening`, most TCP sockets listen: more listeners than a baseline holds. */
const socket = (pool: string[], listening: boolean) =>
  fc.record({
    protocol: fc.constantFrom("tcp" as const, "udp" as const, "raw" as const, "unix" as const),
    local: fc.oneof(fc.constantFrom(...pool), address),
    localPort: port,
    remote: fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...pool) }, { weight: 1, arbitrary: address }),
    remotePort: port,
    state: fc.oneof(
      { weight: 1, arbitrary: fc.constantFrom(...TCP_STATES) },
      { weight: listening ? 6 : 0, arbitrary: fc.constant("LISTEN") },
    ),
    process: fc.option(text(15), { nil: undefined }),
  });

function toSocket(
  x: {
    protocol: Socket["protocol"];
    local: string;
    localPort: number;
    remote: string;
    remotePort: number;
    state: string;
    process: string | undefined;
  },
  i: number,
): Socket {
  const s: Socket = {
    protocol: x.protocol,
    family: x.protocol === "unix" ? "unix" : x.local.includes(":") ? "inet6" : "inet",
    localAddress: x.local,
    localPort: x.localPort,
    remoteAddress: x.remote,
    remotePort: x.remotePort,
    state: (x.protocol === "udp" ? (i % 3 === 0 ? "UNCONN" : "ESTABLISHED") : x.state) as Socket["state"],
    inode: 1000 + i,
    netns: 4026532100,
  };
  if (x.process !== undefined) {
    s.process = x.process;
    s.pid = 100 + i;
  }
  return s;
}

/** A small pool concentrates many ports on few peers; a large one gives many peers. */
const scans = fc
  .tuple(cluster, fc.array(address, { minLength: 1, maxLength: 60, size: "max" }))
  .chain(([c, extra]) => {
    const pool = [...extra, ...c.pods.map((p) => p.address), ...c.services.map((s) => s.address), ...c.nodes];
    return fc.boolean().chain((listening) =>
      fc.record({
        cluster: fc.constant(c),
        online: fc.boolean(),
        observations: fc.array(
          // size "max": fast-check's default size keeps arrays near 10, far below the limits.
          fc.array(socket(pool, listening), { maxLength: 300, size: "max" }).map((xs) => xs.map(toSocket)),
          { minLength: 1, maxLength: 3 },
        ),
      }),
    );
  });

const meta = fc.record({
  name: fc.oneof(
    dnsLabel,
    fc.tuple(dnsLabel, dnsLabel).map(([a, b]) => `${a}.${b}`),
  ),
  namespace: dnsLabel,
  podSelector: fc.option(labels, { nil: undefined }),
});

/**
 * 60 runs take a few seconds. Shrinking hundreds of sockets can take minutes: the time limit
 * stops it and reports the failure with the smallest counterexample found so far.
 */
const LIMITS = { numRuns: 60, interruptAfterTimeLimit: 40_000 };

/** The YAML text the CLI writes, through validate: no problem, one baseline. */
function expectValid(doc: unknown, header: string[]): void {
  const yaml = renderYamlDocument(new Document(doc), header);
  const r = validateBaselines(yaml, "learned.yaml");
  if (r.problems.length)
    throw new Error(`${r.problems.map(formatProblem).join("\n")}\n--- the written YAML:\n${yaml}`);
  expect(r.baselines).toHaveLength(1);
}

describe("what learn writes passes validate (property)", () => {
  it("sockets → Learner.baseline → YAML → validateBaselines: no problem", () => {
    fc.assert(
      fc.property(scans, meta, ({ cluster: c, online, observations }, m) => {
        const learner = new Learner();
        const resolver = online ? makeResolver(c) : undefined;
        for (const sockets of observations)
          learner.observe(sockets, resolver, { ephemeralPorts: [32768, 60999] });
        const { baseline, omitted } = learner.learned({
          name: m.name,
          namespace: m.namespace,
          ...(m.podSelector ? { podSelector: m.podSelector } : {}),
        });
        expectValid(baseline, [" Learned by a property test", ...omittedLines(omitted)]);
      }),
      LIMITS,
    );
  }, 60_000);
});

/** Peers as agents write them into observations, hence into status.learned. */
const identity: fc.Arbitrary<PeerIdentity> = fc.oneof(
  fc
    .record({ kind: fc.constant("workload" as const), namespace: dnsLabel, selector: smallLabels })
    .filter((w) => Object.keys(w.selector).length > 0),
  fc.record({ kind: fc.constant("service" as const), namespace: dnsLabel, name: dnsLabel }),
  fc.record({
    kind: fc.constant("entity" as const),
    entity: fc.constantFrom("host" as const, "remote-node" as const, "kube-apiserver" as const),
  }),
  fc.record({ kind: fc.constant("address" as const), address }),
);
const learnedPeer: fc.Arbitrary<LearnedPeer> = fc.record(
  {
    // Masked addresses (--mask) are what an agent writes for a sensitive peer.
    address: fc.oneof(address, fc.constantFrom("x.x.x.x", "x:x:x:x")),
    peer: fc.tuple(identity, fc.constantFrom("shop", "infra")).map(([id, ns]): Peer => peerFor(id, ns)),
    identity: text(40),
    // The schema bounds nothing here: an int.
    port: fc.oneof(port, fc.integer({ min: -10, max: 70000 })),
    protocol: fc.constantFrom("TCP" as const, "UDP" as const),
    firstSeen: fc.constant("2026-11-23T12:00:00Z"),
  },
  { requiredKeys: ["address", "port", "protocol"] },
);
const learnedListener: fc.Arbitrary<Listener> = fc
  .record(
    {
      port: fc.oneof(fc.integer({ min: 1, max: 65535 }), fc.constantFrom("http", "metrics")),
      endPort: fc.integer({ min: 1, max: 65535 }),
      protocol: fc.constantFrom("TCP" as const, "UDP" as const),
      // What the status schema lets through: IPs, and text its pattern allows that is none.
      address: fc.oneof(address, fc.constantFrom("1.2.3", ":::", "1.2.3.4.5")),
      process: text(30, 1),
    },
    { requiredKeys: ["port"] },
  )
  .map((l) =>
    l.endPort !== undefined && (typeof l.port !== "number" || l.endPort < l.port)
      ? (({ endPort: _e, ...rest }) => rest)(l)
      : l,
  );
const learned = fc
  .record(
    {
      listeners: fc.array(learnedListener, { maxLength: MAX_LISTENERS, size: "max" }),
      egress: fc.array(learnedPeer, { maxLength: MAX_LEARNED_PEERS, size: "max" }),
      ingress: fc.array(learnedPeer, { maxLength: MAX_LEARNED_PEERS, size: "max" }),
    },
    { requiredKeys: [] },
  )
  // Only what the CRD (and so the status schema) accepts can be in status.learned.
  .filter((l) => NetworkBaselineStatus.safeParse({ learned: l }).success) as fc.Arbitrary<Learned>;

describe("what baseline export writes passes validate (property)", () => {
  it("status.learned → baselineFromLearned → YAML → validateBaselines: no problem", () => {
    fc.assert(
      fc.property(learned, meta, fc.boolean(), (l, m, withExtras) => {
        const source = {
          apiVersion: API_VERSION,
          kind: "NetworkBaseline",
          metadata: { name: m.name, namespace: m.namespace },
          spec: {
            podSelector: { matchLabels: { app: "web" } },
            mode: "Learn" as const,
            learning: { duration: "24h", autoPromote: true },
            ...(withExtras
              ? {
                  thresholds: { tcpStates: { CLOSE_WAIT: 50 }, established: 100 },
                  exceptions: [
                    {
                      rule: "UnexpectedEgress" as const,
                      address: "203.0.113.0/24",
                      reason: "payment provider",
                      expires: "2027-03-31T00:00:00Z",
                    },
                  ],
                }
              : {}),
          },
        };
        const { baseline, omitted } = exportLearned(source, l);
        expectValid(baseline, [" Exported by a property test", ...omittedLines(omitted)]);
      }),
      LIMITS,
    );
  }, 60_000);
});
