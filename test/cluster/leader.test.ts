/**
 * Leader election as client-go does it, on the real API server (issue 11, item 8): a
 * candidate whose clock is an hour ahead or behind never takes a Lease that is being
 * renewed, and a leader cut off from the API server gives up before anyone else may take
 * over — at no moment do two candidates lead.
 */
import { connect, createServer, type Server, type Socket } from "node:net";
import { KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LeaderElector } from "../../src/kube/leader.js";
import { adminKubeConfig, createNamespace } from "./env.js";
import { waitFor } from "./process.js";

/** A TCP relay to the API server that the test can cut, as a network partition would. */
class Partition {
  #server: Server | undefined;
  readonly #open = new Set<Socket>();
  cut = false;

  async start(target: URL): Promise<number> {
    const server = createServer((client) => {
      if (this.cut) return client.destroy();
      const upstream = connect(Number(target.port), target.hostname);
      for (const s of [client, upstream]) {
        this.#open.add(s);
        s.on("close", () => this.#open.delete(s));
        s.on("error", () => undefined);
      }
      client.pipe(upstream).pipe(client);
    });
    this.#server = server;
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    return (server.address() as { port: number }).port;
  }

  sever(): void {
    this.cut = true;
    for (const s of this.#open) s.destroy();
  }

  async stop(): Promise<void> {
    this.sever();
    await new Promise((r) => this.#server?.close(r));
  }
}

function viaPort(kc: KubeConfig, port: number): KubeConfig {
  const config = JSON.parse(kc.exportConfig()) as { clusters: { cluster: { server: string } }[] };
  for (const c of config.clusters) c.cluster.server = `https://127.0.0.1:${port}`;
  const out = new KubeConfig();
  out.loadFromString(JSON.stringify(config));
  return out;
}

describe("leader election", () => {
  let kc: KubeConfig;
  let ns: string;
  const partition = new Partition();
  const electors: LeaderElector[] = [];

  beforeAll(async () => {
    kc = adminKubeConfig();
    ns = await createNamespace(kc, "sl-leader");
  });
  afterAll(async () => {
    await Promise.all(electors.map((e) => e.stop()));
    await partition.stop();
  });

  const timing = { leaseDurationMs: 3000, renewDeadlineMs: 2000, retryMs: 250 };
  function candidate(
    config: KubeConfig,
    lease: string,
    identity: string,
    events: string[],
    skewMs = 0,
  ): LeaderElector {
    const e = new LeaderElector(config, {
      namespace: ns,
      name: lease,
      identity,
      ...timing,
      now: () => Date.now() + skewMs,
      onStart: () => events.push(`${identity} leads`),
      onStop: () => events.push(`${identity} stopped`),
    });
    electors.push(e);
    return e;
  }

  /** Watch two electors until `done`, failing if both ever lead at once. */
  async function neverBoth(a: LeaderElector, b: LeaderElector, done: () => boolean, timeoutMs: number) {
    const deadline = Date.now() + timeoutMs;
    let both = 0;
    while (!done() && Date.now() < deadline) {
      if (a.leading && b.leading) both++;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(both, "samples in which both led").toBe(0);
    expect(done(), "the awaited state").toBe(true);
  }

  it.each([
    ["an hour ahead", 3_600_000],
    ["an hour behind", -3_600_000],
  ])("a candidate whose clock is %s does not take a Lease that is being renewed", async (_, skew) => {
    const events: string[] = [];
    const lease = `skew-${skew > 0 ? "ahead" : "behind"}`;
    const a = candidate(kc, lease, "a", events);
    a.start();
    await waitFor("a leads", async () => a.leading, { timeoutMs: 10_000 });
    const b = candidate(kc, lease, "b", events, skew);
    b.start();
    // Three lease durations: with the old renewTime comparison, "ahead" took over at once.
    const until = Date.now() + 3 * timing.leaseDurationMs;
    await neverBoth(a, b, () => Date.now() >= until, 4 * timing.leaseDurationMs);
    expect(events).toEqual(["a leads"]);
    await a.stop();
    await waitFor("b takes the released Lease", async () => b.leading, { timeoutMs: 10_000 });
    await b.stop();
  });

  it("a leader cut off from the API server steps down before another takes over", async () => {
    const events: string[] = [];
    const server = new URL(kc.getCurrentCluster()?.server as string);
    const port = await partition.start(server);
    const a = candidate(viaPort(kc, port), "partition", "a", events);
    a.start();
    await waitFor("a leads", async () => a.leading, { timeoutMs: 10_000 });
    const b = candidate(kc, "partition", "b", events);
    b.start();
    await new Promise((r) => setTimeout(r, 1000));
    partition.sever();
    await neverBoth(a, b, () => b.leading, 15_000);
    // a gave up (renew deadline) strictly before b could take over (lease duration observed).
    expect(events).toEqual(["a leads", "a stopped", "b leads"]);
  });
});
