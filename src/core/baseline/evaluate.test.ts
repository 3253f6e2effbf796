import { describe, expect, it } from "vitest";
import { NetworkBaseline, type NetworkBaselineInput } from "../../api/v1alpha1/networkbaseline.js";
import type { Socket } from "../socket.js";
import { compileBaseline } from "./compile.js";
import { evaluate } from "./evaluate.js";
import { offlineResolver } from "./resolver.js";
import type { IdentityResolver, PeerInfo } from "./types.js";

const NS = 4026532100;
const POD_IP = "10.244.1.5";

function sock(p: Partial<Socket>): Socket {
  return {
    protocol: "tcp",
    family: "inet",
    localAddress: POD_IP,
    localPort: 0,
    remoteAddress: "0.0.0.0",
    remotePort: 0,
    state: "ESTABLISHED",
    inode: 1,
    netns: NS,
    pid: 812,
    process: "web",
    ...p,
  };
}
const listen = (port: number, address = "0.0.0.0", process = "web") =>
  sock({ localAddress: address, localPort: port, state: "LISTEN", process });
const egress = (ip: string, port: number, state = "ESTABLISHED") =>
  sock({ localPort: 40000 + port, remoteAddress: ip, remotePort: port, state: state as Socket["state"] });
const ingress = (ip: string, port: number) => sock({ localPort: port, remoteAddress: ip, remotePort: 51515 });

function baseline(spec: Partial<NetworkBaselineInput["spec"]>): ReturnType<typeof compileBaseline> {
  const input: NetworkBaselineInput = {
    apiVersion: "socklens.io/v1alpha1",
    kind: "NetworkBaseline",
    metadata: { name: "web", namespace: "shop" },
    spec: { podSelector: {}, ...spec },
  };
  return compileBaseline(NetworkBaseline.parse(input));
}

const offline = offlineResolver(["192.0.2.2"]);
const SCOPE = {
  scope: "pod shop/web-7d9",
  pod: {
    namespace: "shop",
    name: "web-7d9",
    labels: { app: "web" },
    ports: [{ name: "http", port: 8080, protocol: "TCP" as const }],
  },
};

/** A resolver with cluster knowledge: a db pod, an edge pod, a service, an API server. */
const PEERS: Record<string, PeerInfo> = {
  "10.244.2.7": {
    kind: "pod",
    namespace: "shop",
    name: "db-0",
    labels: { app: "db" },
    ports: [{ name: "pg", port: 5432, protocol: "TCP" }],
  },
  "10.244.3.9": {
    kind: "pod",
    namespace: "ingress",
    name: "edge-1",
    labels: { app: "edge" },
    namespaceLabels: { team: "edge" },
  },
  "10.96.0.10": { kind: "service", namespace: "kube-system", name: "kube-dns" },
};
const cluster: IdentityResolver = {
  isHost: (a) => a === "192.0.2.2" || a.startsWith("127."),
  isCluster: (a) => a.startsWith("10."),
  isApiServer: (a, p) => a === "10.96.0.1" && p === 443,
  peer: (a) => PEERS[a],
  serviceBackends: (ns, name) =>
    ns === "kube-system" && name === "kube-dns" ? { addresses: ["10.244.0.3"] } : undefined,
};

function rules(
  spec: Partial<NetworkBaselineInput["spec"]>,
  sockets: Socket[],
  resolver: IdentityResolver = offline,
  now = new Date("2026-11-23T00:00:00Z"),
) {
  return evaluate(baseline(spec), { ...SCOPE, sockets }, resolver, now);
}

describe("listeners", () => {
  it.each([
    ["allowed port", [{ port: 8080 }], listen(8080), []],
    ["named port resolved from the pod", [{ port: "http" }], listen(8080), []],
    ["port range", [{ port: 9000, endPort: 9010 }], listen(9005), []],
    ["unexpected port", [{ port: 8080 }], listen(4444, "0.0.0.0", "nc"), ["UnexpectedListener"]],
    [
      "wrong bind address",
      [{ port: 8080, address: "127.0.0.1" }],
      listen(8080, "0.0.0.0"),
      ["ListenerBindChanged"],
    ],
    ["dual-stack :: counts as 0.0.0.0", [{ port: 8080, address: "0.0.0.0" }], listen(8080, "::"), []],
    [
      "wrong process on an allowed port",
      [{ port: 8080, process: "web" }],
      listen(8080, "0.0.0.0", "nc"),
      ["UnexpectedListener"],
    ],
    [
      "UDP is not TCP",
      [{ port: 53 }],
      sock({ protocol: "udp", localPort: 53, state: "UNCONN" }),
      ["UnexpectedListener"],
    ],
    ["empty list allows nothing", [], listen(8080), ["UnexpectedListener"]],
  ] as const)("%s", (_n, listeners, socket, expected) => {
    expect(rules({ listeners: listeners as never }, [socket]).findings.map((f) => f.rule)).toEqual(expected);
  });

  it("explains an unexpected listener in one sentence", () => {
    const [f] = rules({ listeners: [{ port: 8080, protocol: "TCP" }] }, [
      listen(4444, "0.0.0.0", "nc"),
    ]).findings;
    expect(f?.message).toBe(
      "pod shop/web-7d9 opened an unexpected listener on 0.0.0.0:4444/TCP (process nc, pid 812); baseline shop/web allows 8080/TCP only",
    );
    expect(f?.severity).toBe("high");
  });

  it("absent listeners are not checked", () => {
    expect(rules({}, [listen(4444)]).findings).toEqual([]);
  });

  it("a named port without the pod's spec cannot be evaluated offline", () => {
    const r = evaluate(
      baseline({ listeners: [{ port: "http" }] }),
      { scope: "netns x", sockets: [listen(8080)] },
      offline,
    );
    expect(r.findings.map((f) => f.rule)).toEqual(["CannotEvaluateOffline"]);
  });
});

describe("egress peers", () => {
  it.each([
    [
      "ipBlock allows",
      [{ to: [{ ipBlock: { cidr: "10.0.0.0/8" } }] }],
      egress("10.1.2.3", 5432),
      offline,
      [],
    ],
    [
      "ipBlock except",
      [{ to: [{ ipBlock: { cidr: "10.0.0.0/8", except: ["10.1.0.0/16"] } }] }],
      egress("10.1.2.3", 5432),
      offline,
      ["UnexpectedEgress"],
    ],
    [
      "ipBlock IPv6",
      [{ to: [{ ipBlock: { cidr: "fd00::/8" } }] }],
      { ...egress("fd00::5", 443), family: "inet6" as const },
      offline,
      [],
    ],
    [
      "port must match",
      [{ to: [{ ipBlock: { cidr: "10.0.0.0/8" } }], ports: [{ port: 5432 }] }],
      egress("10.1.2.3", 6379),
      offline,
      ["UnexpectedEgress"],
    ],
    [
      "ports only, any peer",
      [{ ports: [{ port: 53, protocol: "UDP" }] }],
      { ...egress("8.8.8.8", 53), protocol: "udp" as const },
      offline,
      [],
    ],
    ["empty egress allows nothing", [], egress("10.1.2.3", 5432), offline, ["UnexpectedEgress"]],
    [
      "TIME_WAIT still proves a peer",
      [],
      egress("10.1.2.3", 5432, "TIME_WAIT"),
      offline,
      ["UnexpectedEgress"],
    ],
    ["entity host", [{ to: [{ entity: "host" }] }], egress("192.0.2.2", 10250), offline, []],
    [
      "podSelector offline",
      [{ to: [{ podSelector: { matchLabels: { app: "db" } } }] }],
      egress("10.244.2.7", 5432),
      offline,
      ["CannotEvaluateOffline"],
    ],
    [
      "podSelector with cluster knowledge",
      [{ to: [{ podSelector: { matchLabels: { app: "db" } } }] }],
      egress("10.244.2.7", 5432),
      cluster,
      [],
    ],
    [
      "podSelector wrong labels",
      [{ to: [{ podSelector: { matchLabels: { app: "cache" } } }] }],
      egress("10.244.2.7", 5432),
      cluster,
      ["UnexpectedEgress"],
    ],
    [
      "namespaceSelector",
      [{ to: [{ namespaceSelector: { matchLabels: { team: "edge" } } }] }],
      egress("10.244.3.9", 80),
      cluster,
      [],
    ],
    [
      "podSelector is namespace-local",
      [{ to: [{ podSelector: { matchLabels: { app: "edge" } } }] }],
      egress("10.244.3.9", 80),
      cluster,
      ["UnexpectedEgress"],
    ],
    [
      "service by ClusterIP",
      [{ to: [{ service: { name: "kube-dns", namespace: "kube-system" } }] }],
      { ...egress("10.96.0.10", 53), protocol: "udp" as const },
      cluster,
      [],
    ],
    [
      "service by backend pod",
      [{ to: [{ service: { name: "kube-dns", namespace: "kube-system" } }] }],
      egress("10.244.0.3", 53),
      cluster,
      [],
    ],
    [
      "service offline",
      [{ to: [{ service: { name: "kube-dns", namespace: "kube-system" } }] }],
      egress("10.96.0.10", 53),
      offline,
      ["CannotEvaluateOffline"],
    ],
    [
      "entity kube-apiserver",
      [{ to: [{ entity: "kube-apiserver" }] }],
      egress("10.96.0.1", 443),
      cluster,
      [],
    ],
    ["entity cluster", [{ to: [{ entity: "cluster" }] }], egress("10.7.7.7", 80), cluster, []],
    [
      "entity world excludes the cluster",
      [{ to: [{ entity: "world" }] }],
      egress("10.7.7.7", 80),
      cluster,
      ["UnexpectedEgress"],
    ],
    ["entity world", [{ to: [{ entity: "world" }] }], egress("203.0.113.9", 443), cluster, []],
    [
      "entity world offline",
      [{ to: [{ entity: "world" }] }],
      egress("203.0.113.9", 443),
      offline,
      ["CannotEvaluateOffline"],
    ],
    [
      "an allowing ipBlock wins over an unknown peer kind",
      [{ to: [{ podSelector: {} }, { ipBlock: { cidr: "203.0.113.0/24" } }] }],
      egress("203.0.113.9", 443),
      offline,
      [],
    ],
    [
      "named port of the destination pod",
      [{ to: [{ podSelector: { matchLabels: { app: "db" } } }], ports: [{ port: "pg" }] }],
      egress("10.244.2.7", 5432),
      cluster,
      [],
    ],
    ["loopback is inside the pod, not a peer", [], egress("127.0.0.1", 9000), offline, []],
  ] as const)("%s", (_n, egressRules, socket, resolver, expected) => {
    expect(
      rules({ egress: egressRules as never }, [socket as Socket], resolver as IdentityResolver).findings.map(
        (f) => f.rule,
      ),
    ).toEqual(expected);
  });

  it("groups a peer seen on many sockets into one finding and explains it", () => {
    const r = rules({ egress: [{ to: [{ ipBlock: { cidr: "10.0.0.0/8" } }], ports: [{ port: 5432 }] }] }, [
      egress("203.0.113.9", 4444),
      { ...egress("203.0.113.9", 4444), localPort: 40001 },
    ]);
    expect(r.findings).toHaveLength(1);
    expect(r.findings[0]).toMatchObject({
      rule: "UnexpectedEgress",
      count: 2,
      peer: { direction: "egress", address: "203.0.113.9", port: 4444, protocol: "TCP" },
      mitre: { id: "T1571" },
    });
    expect(r.findings[0]?.message).toBe(
      "pod shop/web-7d9 connected to 203.0.113.9:4444/TCP (process web, pid 812), 2 sockets, e.g. ESTABLISHED; baseline shop/web allows egress to 10.0.0.0/8 on 5432/TCP only",
    );
  });

  it("no MITRE technique for a well-known port", () => {
    expect(rules({ egress: [] }, [egress("203.0.113.9", 443)]).findings[0]?.mitre).toBeUndefined();
  });

  it("says what cluster knowledge it would need", () => {
    const [f] = rules({ egress: [{ to: [{ podSelector: { matchLabels: { app: "db" } } }] }] }, [
      egress("10.244.2.7", 5432),
    ]).findings;
    expect(f?.message).toBe(
      "cannot evaluate offline: pod shop/web-7d9 connected to 10.244.2.7:5432/TCP (process web, pid 812) and baseline shop/web's egress rules need cluster knowledge (podSelector) to decide",
    );
  });
});

describe("ingress peers", () => {
  const server = listen(8080);
  it.each([
    [
      "from an allowed namespace",
      [{ from: [{ namespaceSelector: { matchLabels: { team: "edge" } } }] }],
      cluster,
      [],
    ],
    [
      "from an ipBlock",
      [{ from: [{ ipBlock: { cidr: "10.244.0.0/16" } }], ports: [{ port: "http" }] }],
      offline,
      [],
    ],
    ["on a port not allowed", [{ ports: [{ port: 9090 }] }], offline, ["UnexpectedIngress"]],
    ["from nowhere allowed", [], offline, ["UnexpectedIngress"]],
    [
      "offline namespaceSelector",
      [{ from: [{ namespaceSelector: { matchLabels: { team: "edge" } } }] }],
      offline,
      ["CannotEvaluateOffline"],
    ],
  ] as const)("%s", (_n, ingressRules, resolver, expected) => {
    const r = rules(
      { ingress: ingressRules as never },
      [server, ingress("10.244.3.9", 8080)],
      resolver as IdentityResolver,
    );
    expect(r.findings.map((f) => f.rule)).toEqual(expected);
  });

  it("explains an unexpected client", () => {
    const [f] = rules({ ingress: [] }, [server, ingress("198.51.100.7", 8080)]).findings;
    expect(f?.message).toBe(
      "pod shop/web-7d9 accepted a connection from 198.51.100.7 on port 8080/TCP (process web, pid 812), ESTABLISHED; baseline shop/web allows ingress nothing only",
    );
  });
});

describe("thresholds", () => {
  const closeWait = (n: number) =>
    Array.from({ length: n }, (_, i) => ({
      ...egress("10.1.1.1", 5432, "CLOSE_WAIT"),
      localPort: 30000 + i,
    }));
  it("counts a state per scope", () => {
    const r = rules({ thresholds: { tcpStates: { CLOSE_WAIT: 3 } } }, closeWait(4));
    expect(r.findings).toHaveLength(1);
    expect(r.findings[0]).toMatchObject({
      rule: "TcpStateThreshold",
      count: 4,
      limit: 3,
      state: "CLOSE_WAIT",
    });
    expect(r.findings[0]?.message).toBe(
      "pod shop/web-7d9 has 4 TCP sockets in CLOSE_WAIT (process web, pid 812), to 10.1.1.1:5432 (4); baseline shop/web allows at most 3 — the application is not closing connections its peers closed",
    );
    expect(rules({ thresholds: { tcpStates: { CLOSE_WAIT: 4 } } }, closeWait(4)).findings).toEqual([]);
  });
  it("established and listeners", () => {
    const socks = [
      listen(1),
      listen(2),
      egress("10.0.0.1", 80),
      egress("10.0.0.2", 80),
      egress("10.0.0.3", 80, "TIME_WAIT"),
    ];
    const r = rules({ thresholds: { established: 1, listeners: 1 } }, socks);
    expect(r.findings.map((f) => [f.rule, f.count, f.limit])).toEqual([
      ["EstablishedThreshold", 2, 1],
      ["ListenerThreshold", 2, 1],
    ]);
  });
});

describe("thresholds with meaning (limits.ts)", () => {
  const synSent = (n: number) =>
    Array.from({ length: n }, (_, i) => ({
      ...egress("203.0.113.9", 5432, "SYN_SENT"),
      localPort: 33000 + i,
    }));
  const closeWaitIn = (n: number) =>
    Array.from({ length: n }, (_, i) =>
      sock({
        localPort: 7070,
        remoteAddress: i % 3 === 0 ? "10.0.3.9" : "10.0.3.4",
        remotePort: 50000 + i,
        state: "CLOSE_WAIT",
        pid: 812,
        process: "app",
      }),
    );

  it("the failure states have defaults when the baseline sets none, naming process, port and peers", () => {
    const r = rules({}, [listen(7070, "0.0.0.0", "app"), ...closeWaitIn(30)]);
    expect(r.findings.map((f) => [f.rule, f.state, f.count, f.limit])).toEqual([
      ["TcpStateThreshold", "CLOSE_WAIT", 30, 20],
    ]);
    expect(r.findings[0]?.message).toBe(
      "pod shop/web-7d9 has 30 TCP sockets in CLOSE_WAIT on :7070 (process app, pid 812), from 10.0.3.4 (20), 10.0.3.9 (10); the default limit is 20 (set thresholds.tcpStates.CLOSE_WAIT in baseline shop/web to change it, 0 to turn it off) — the application is not closing connections its peers closed",
    );
    expect(rules({}, synSent(21)).findings.map((f) => f.state)).toEqual(["SYN_SENT"]);
    expect(rules({}, synSent(20)).findings).toEqual([]);
  });

  it("0 turns a state's check off; an explicit limit replaces the default", () => {
    expect(rules({ thresholds: { tcpStates: { CLOSE_WAIT: 0 } } }, closeWaitIn(30)).findings).toEqual([]);
    expect(rules({ thresholds: { tcpStates: { SYN_SENT: 50 } } }, synSent(30)).findings).toEqual([]);
  });

  it("TIME_WAIT is judged per destination against the ephemeral range, not a burst", () => {
    const tw = (n: number, ip: string) =>
      Array.from({ length: n }, (_, i) => ({
        ...egress(ip, 443, "TIME_WAIT"),
        localPort: 33000 + i,
        pid: undefined,
      }));
    // 600 TIME_WAIT sockets spread over destinations: ordinary churn.
    expect(rules({}, [...tw(300, "10.0.0.1"), ...tw(300, "10.0.0.2")]).findings).toEqual([]);
    // A 100-port range (a tuned namespace) gives a limit of 50 per destination.
    const r = evaluate(
      baseline({}),
      { ...SCOPE, sockets: tw(60, "10.0.0.1"), ephemeralPorts: [40000, 40099] },
      offline,
    );
    expect(r.findings.map((f) => [f.state, f.count, f.limit])).toEqual([["TIME_WAIT", 60, 50]]);
    expect(r.findings[0]?.message).toContain(
      "has 60 TCP sockets in TIME_WAIT to 10.0.0.1:443 (no process holds them); the ephemeral port range",
    );
  });
});

describe("what listens: UDP client sockets are not listeners", () => {
  const udp = (port: number) =>
    sock({ protocol: "udp", localAddress: "0.0.0.0", localPort: port, state: "UNCONN" });
  it("an unconnected UDP socket on an ephemeral port is a client, on a fixed port a listener", () => {
    expect(rules({ listeners: [{ port: 53, protocol: "UDP" }] }, [udp(48829), udp(53)]).findings).toEqual([]);
    expect(rules({ listeners: [] }, [udp(5353)]).findings.map((f) => f.rule)).toEqual(["UnexpectedListener"]);
  });
});

describe("exceptions", () => {
  const spec = (expires?: string) => ({
    egress: [],
    exceptions: [
      {
        rule: "UnexpectedEgress" as const,
        address: "203.0.113.0/24",
        port: 443,
        reason: "payment provider",
        ...(expires ? { expires } : {}),
      },
    ],
  });
  it("suppress matching findings, visibly", () => {
    const r = rules(spec(), [egress("203.0.113.10", 443), egress("198.51.100.1", 443)]);
    expect(r.findings.map((f) => f.peer?.address)).toEqual(["198.51.100.1"]);
    expect(r.suppressed).toHaveLength(1);
    expect(r.suppressed[0]).toMatchObject({
      reason: "payment provider",
      finding: { rule: "UnexpectedEgress", peer: { address: "203.0.113.10" } },
    });
  });
  it("stop applying when they expire", () => {
    const before = rules(
      spec("2026-12-01T00:00:00Z"),
      [egress("203.0.113.10", 443)],
      offline,
      new Date("2026-11-30T23:59:59Z"),
    );
    expect(before.findings).toEqual([]);
    expect(before.suppressed).toHaveLength(1);
    const after = rules(
      spec("2026-12-01T00:00:00Z"),
      [egress("203.0.113.10", 443)],
      offline,
      new Date("2026-12-01T00:00:00Z"),
    );
    expect(after.findings).toHaveLength(1);
    expect(after.suppressed).toEqual([]);
  });
  it("match only their rule and port", () => {
    expect(rules(spec(), [egress("203.0.113.10", 8443)]).findings).toHaveLength(1);
    expect(
      rules({ listeners: [], exceptions: spec().exceptions }, [listen(443, "203.0.113.10")]).findings,
    ).toHaveLength(1);
  });
});
