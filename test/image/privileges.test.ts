/**
 * The image with exactly the chart's privileges, under a real OCI runtime (podman + runc):
 * the agent DaemonSet is rendered by the real `helm template`, its container's
 * securityContext, volumes and env become podman flags (./chart.ts), and the image scans
 * while real workload containers (their own network namespaces, made by the runtime, as an
 * unprivileged user) hold sockets. Then each added capability is dropped in turn, and the
 * user is made non-root, to measure what each privilege is for. The measured table must
 * equal the one in docs/image.md (SOCKLENS_UPDATE_DOCS=1 rewrites it from this run).
 */
import { lstatSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Socket } from "../../src/core/socket.js";
import { agentDaemonSet, helmTemplate, podmanForAgent } from "./chart.js";
import { IMAGE, imageUnavailable, Podman, startWorkload } from "./podman.js";

const unavailable = imageUnavailable();
if (unavailable) process.stderr.write(`[image] SKIPPED privileges.test.ts: ${unavailable}\n`);
const DOC = fileURLToPath(new URL("../../docs/image.md", import.meta.url));
const BEGIN = "<!-- capability-table:begin (test/image/privileges.test.ts) -->";
const END = "<!-- capability-table:end -->";

interface Outcome {
  code: number;
  /** /proc entries the scan was denied (its permission hint), and the examples it names. */
  denied: number;
  examples: string[];
  sockets: Socket[];
  stderr: string;
}

/** Can this test process (root, every capability, on the host) read that /proc link? */
function rootCanRead(hostProcPath: string): boolean {
  const path = hostProcPath.replace(/^\/host\/proc\//, "/proc/");
  try {
    if (lstatSync(path).isSymbolicLink()) readlinkSync(path);
    else if (lstatSync(path).isDirectory()) readdirSync(path);
    else readFileSync(path);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "ENOENT"; // gone since: not a denial
  }
}

describe.skipIf(unavailable !== null)("the image with the chart's privileges", () => {
  const podman = new Podman();
  let ds: ReturnType<typeof agentDaemonSet>;
  let workloads: { name: string; id: string; pid: number }[];
  const netnsOf = (pid: number) => Number(/\[(\d+)\]/.exec(readlinkSync(`/proc/${pid}/ns/net`))?.[1]);

  beforeAll(async () => {
    ds = agentDaemonSet(await helmTemplate("sl", "socklens-system"));
    workloads = [
      await startWorkload(podman, "wl-a", { listen: [18080] }),
      await startWorkload(podman, "wl-b", { listen: [18081] }),
    ];
  });

  afterAll(() => podman.cleanup());

  /** `socklens scan -o json` in the agent's container, with these capabilities (and user). */
  async function scan(opts: { capabilities?: string[]; user?: string } = {}): Promise<Outcome> {
    const agent = podmanForAgent(
      ds,
      "image-node",
      opts.capabilities ? { capabilities: opts.capabilities } : {},
    );
    const flags = [...agent.flags];
    if (opts.user) flags.push("--user", opts.user);
    const r = await podman.runOnce([
      ...flags,
      "--network=none",
      IMAGE,
      "scan",
      "-o",
      "json",
      "--proto",
      "tcp",
      "--port",
      "18080,18081",
    ]);
    let sockets: Socket[] = [];
    try {
      sockets = (JSON.parse(r.stdout) as { sockets: Socket[] }).sockets;
    } catch {
      // No JSON: the outcome says so through code and stderr.
    }
    const hint =
      /(?:permission denied on|root could not read) (\d+) \/proc (?:entries|entry)(?: of pids? [^(]*)? \(e\.g\. (.*?)\): /.exec(
        r.stderr,
      );
    return {
      code: r.code,
      denied: Number(hint?.[1] ?? 0),
      examples: hint?.[2]?.split(", ") ?? [],
      sockets,
      stderr: r.stderr,
    };
  }

  function workloadSockets(o: Outcome) {
    const mine = new Set(workloads.map((w) => netnsOf(w.pid)));
    return o.sockets.filter((s) => mine.has(s.netns));
  }

  it("reads the sockets of containers in other network namespaces, with pid and container", async () => {
    const agent = podmanForAgent(ds, "image-node");
    // What the chart asks for, as this test reads it: if the chart changes, this says so first.
    expect(agent.flags).toEqual(expect.arrayContaining(["--pid=host", "--read-only", "--cap-drop"]));
    expect(agent.capabilities).toEqual(["SYS_PTRACE", "DAC_READ_SEARCH"]);
    const o = await scan();
    expect(o.code, o.stderr).toBe(0);
    // Whatever the chart's privileges are denied, root with every capability is denied too
    // (on our VMs: pid 1, the VM's init, whose /proc links nobody may read).
    for (const path of o.examples) expect(rootCanRead(path), `${path}: ${o.stderr}`).toBe(false);
    for (const w of workloads) {
      const held = o.sockets.filter((s) => s.netns === netnsOf(w.pid));
      // A listener and both ends of the loopback connection.
      expect(held.map((s) => s.state).sort(), JSON.stringify(o.sockets)).toEqual([
        "ESTABLISHED",
        "ESTABLISHED",
        "LISTEN",
      ]);
      for (const s of held) {
        expect(s.pid).toBe(w.pid);
        expect(s.container).toEqual({ id: w.id, runtime: "podman" });
        expect(s.uid).toBe(65532);
      }
    }
    // The agent's own netns is none of theirs: these were read across namespaces.
    expect(new Set(workloadSockets(o).map((s) => s.netns)).size).toBe(2);
  });

  it("measures what each privilege is for (the capability table in docs/image.md)", async () => {
    const chartCaps = podmanForAgent(ds, "image-node").capabilities;
    const rows: { caps: string; user: string; o: Outcome }[] = [];
    rows.push({ caps: chartCaps.join(", "), user: "0 (chart)", o: await scan() });
    for (const drop of chartCaps) {
      const caps = chartCaps.filter((c) => c !== drop);
      rows.push({
        caps: caps.join(", ") || "none",
        user: "0 (chart)",
        o: await scan({ capabilities: caps }),
      });
    }
    rows.push({ caps: "none", user: "0 (chart)", o: await scan({ capabilities: [] }) });
    // Non-root with the same two capabilities (the image's default user). Podman makes added
    // capabilities ambient for a non-root user, so this works here; Kubernetes does not
    // (docs/adr/0012-agent-user-and-capabilities.md).
    rows.push({
      caps: chartCaps.join(", "),
      user: "65532 (podman: ambient)",
      o: await scan({ user: "65532:65532" }),
    });

    const line = (r: (typeof rows)[number]) => {
      const mine = workloadSockets(r.o);
      const withPid = mine.filter((s) => s.pid !== undefined).length;
      const withContainer = mine.filter((s) => s.container !== undefined).length;
      // Counts of denied entries vary with what else runs on the machine; whether the scan
      // is denied more than root is does not.
      const hint =
        r.o.denied === 0
          ? "no"
          : r.o.examples.every((p) => !rootCanRead(p))
            ? "only what root is denied too"
            : "yes";
      return `| ${r.caps} | ${r.user} | ${r.o.code} | ${hint} | ${mine.length} | ${withPid} | ${withContainer} |`;
    };
    const table = [
      "| capabilities added (after drop ALL) | user | exit | permission hint | workload sockets seen | with pid | with container |",
      "| --- | --- | --- | --- | --- | --- | --- |",
      ...rows.map(line),
    ].join("\n");
    process.stderr.write(`[image] measured capability table:\n${table}\n`);

    // What must hold whatever the docs say: the chart's set attributes everything, and each
    // privilege taken away loses attribution and says why.
    const [full, ...weaker] = rows;
    expect(workloadSockets(full!.o).every((s) => s.pid !== undefined && s.container)).toBe(true);
    for (const r of weaker.slice(0, chartCaps.length + 1)) {
      expect(r.o.denied, `${r.caps}: ${r.o.stderr}`).toBeGreaterThan(full!.o.denied);
      expect(workloadSockets(r.o).some((s) => s.pid !== undefined)).toBe(false);
    }

    const doc = readFileSync(DOC, "utf8");
    const start = doc.indexOf(BEGIN);
    const end = doc.indexOf(END);
    expect(start, `docs/image.md has no ${BEGIN}`).toBeGreaterThan(-1);
    const current = doc.slice(start + BEGIN.length, end).trim();
    if (process.env.SOCKLENS_UPDATE_DOCS === "1" && current !== table) {
      writeFileSync(DOC, `${doc.slice(0, start + BEGIN.length)}\n${table}\n${doc.slice(end)}`);
      return;
    }
    expect(
      current,
      "docs/image.md's capability table differs from this measurement; rerun with SOCKLENS_UPDATE_DOCS=1",
    ).toBe(table);
  });
});
