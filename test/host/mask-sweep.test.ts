/**
 * `--mask` (and SOCKLENS_MASK) hide an address range in every output (issue 11, item 6):
 * a workload talks to a peer in 10.239.0.0/16 and carries that address in its command line;
 * scan (every format), snapshot, diff, check, learn and watch must not print it anywhere.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hostTestsUnavailable, runCli, Sandbox } from "./sandbox.js";

const unavailable = hostTestsUnavailable("mask-sweep.test.ts");
const HIDDEN = /10\.239\.\d+\.\d+|fd00:5c:239:/;

describe.skipIf(unavailable !== null)("--mask sweeps every output", () => {
  const box = new Sandbox();
  const dir = mkdtempSync(join(tmpdir(), "socklens-mask-"));
  let app: string;

  beforeAll(async () => {
    app = box.netns("mask-app");
    const db = box.netns("mask-db");
    box.veth(app, db, ["10.239.0.1", "10.239.0.2"], ["fd00:5c:239::1", "fd00:5c:239::2"]);
    await box.workload(db, { title: "slwl-maskdb", listen: [{ proto: "tcp", host: "0.0.0.0", port: 5432 }] });
    // The command line names the hidden peer, as `psql -h 10.239.0.2` would.
    await box.workload(app, {
      title: "slwl-maskapp --db 10.239.0.2:5432",
      listen: [{ proto: "tcp", host: "10.239.0.1", port: 8080 }],
      connect: [{ proto: "tcp", host: "10.239.0.2", port: 5432 }],
    });
  });
  afterAll(async () => {
    await box.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  function clean(what: string, r: { code: number; stdout: string; stderr: string }, codes = [0, 1]) {
    expect(codes, `${what}: exit ${r.code}: ${r.stderr}`).toContain(r.code);
    expect(r.stdout + r.stderr, what).not.toMatch(HIDDEN);
    return r;
  }

  it("the address is there without a mask (so the sweep can fail)", () => {
    const r = runCli(["scan", "--netns", app, "-o", "ndjson"]);
    expect(r.stdout).toMatch(HIDDEN);
    expect(r.stdout).toContain("--db 10.239.0.2");
  });

  it("scan, snapshot and diff", () => {
    for (const o of ["table", "wide", "json", "ndjson"])
      clean(`scan -o ${o}`, runCli(["scan", "--netns", app, "-o", o, "--mask", "10.239.0.0/16,fd00::/8"]));
    clean("scan --summary", runCli(["scan", "--netns", app, "--summary", "--mask", "10.239.0.0/16"]));
    // SOCKLENS_MASK works where the flag is absent.
    clean(
      "scan with SOCKLENS_MASK",
      runCli(["scan", "--netns", app, "-o", "json"], {
        env: { ...process.env, SOCKLENS_MASK: "10.239.0.0/16,fd00::/8" },
      }),
    );
    const a = join(dir, "a.json");
    const b = join(dir, "b.json");
    clean("snapshot", runCli(["snapshot", "-o", a, "--mask", "10.239.0.0/16,fd00::/8"]));
    expect(readFileSync(a, "utf8")).not.toMatch(HIDDEN);
    // Snapshots taken without a mask: diff masks them itself.
    runCli(["snapshot", "-o", b]);
    writeFileSync(
      join(dir, "empty.json"),
      JSON.stringify({ ...JSON.parse(readFileSync(b, "utf8")), sockets: [] }),
    );
    for (const o of ["table", "json"])
      clean(
        `diff -o ${o}`,
        runCli(["diff", join(dir, "empty.json"), b, "-o", o, "--mask", "10.239.0.0/16,fd00::/8"]),
      );
  });

  it("check (findings quoting the peer and the baseline's own CIDR), learn and watch", () => {
    const baseline = join(dir, "baseline.yaml");
    writeFileSync(
      baseline,
      `apiVersion: socklens.io/v1alpha1
kind: NetworkBaseline
metadata: {name: app, namespace: default}
spec:
  podSelector: {}
  listeners: [{port: 9999}]
  egress:
    - to: [{ipBlock: {cidr: 10.239.99.0/24}}]
      ports: [{port: 5432}]
`,
    );
    for (const o of ["table", "json", "ndjson"]) {
      const r = clean(
        `check -o ${o}`,
        runCli(["check", "--baseline", baseline, "--netns", app, "-o", o, "--mask", "10.239.0.0/16"]),
        [1],
      );
      expect(r.stdout).toContain("x.x.x.x");
    }
    const learned = join(dir, "learned.yaml");
    clean(
      "learn",
      runCli([
        "learn",
        "--netns",
        app,
        "--duration",
        "1s",
        "--interval",
        "1s",
        "-o",
        learned,
        "--mask",
        "10.239.0.0/16",
      ]),
    );
    const text = readFileSync(learned, "utf8");
    expect(text).not.toMatch(/10\.239\.0\.2/);
    expect(text).toContain("cidr: 10.239.0.0/16"); // the masked range itself, as allowed peer
    expect(runCli(["validate", learned]).code).toBe(0);
    clean(
      "watch",
      runCli([
        "watch",
        "--netns",
        app,
        "--baseline",
        baseline,
        "--interval",
        "1s",
        "--duration",
        "2s",
        "-o",
        "ndjson",
        "--mask",
        "10.239.0.0/16",
      ]),
      [1],
    );
  });
});
