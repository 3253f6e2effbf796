/**
 * Bad input files through the real CLI (bin/socklens.js): YAML built to exhaust the parser,
 * files too big or endless, malformed snapshots. Each must exit 2 with the file, where known
 * line:column, and the limit or field at fault; never a stack trace, never exit 1 (which
 * means "findings"). Needs dist/ (npm run build), not root.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { aliasBombUnderTheAliasLimit, billionLaughs, fourMegabyteAliasBomb } from "../unit/hostile-yaml.js";
import { runCli } from "./sandbox.js";

const dir = mkdtempSync(join(tmpdir(), "socklens-hostile-input-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const BASELINE =
  "apiVersion: socklens.io/v1alpha1\nkind: NetworkBaseline\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  podSelector: {}\n  listeners:\n    - port: 8080\n";

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** Runs the CLI and checks the common contract: exit 2, no stack trace, the file named. */
function expectInputError(args: string[], named: string, env: NodeJS.ProcessEnv = {}) {
  const started = performance.now();
  const r = runCli(args, { env });
  const ms = performance.now() - started;
  expect(r.code, r.stderr).toBe(2);
  expect(r.stderr).not.toMatch(/^\s+at /m);
  expect(r.stderr).not.toMatch(/Error:|TypeError|RangeError|ReferenceError/);
  expect(r.stderr).toContain(named);
  return { ...r, ms };
}

describe("validate and check refuse YAML that would exhaust them", () => {
  const nodes = "aliases expand the document to more than 100000 nodes; the limit is 100000";
  const depth = "nested more than 64 levels deep; the limit is 64";
  it.each([
    ["a billion laughs", "laughs.yaml", billionLaughs(), `6:11: (yaml): ${nodes}`],
    [
      "an alias bomb under yaml's alias limit",
      "under.yaml",
      aliasBombUnderTheAliasLimit(),
      `2:302: (yaml): ${nodes}`,
    ],
    // Stopped before parsing: the text alone holds too many nodes.
    [
      "4 MB of aliases within yaml's alias limit",
      "bomb4m.yaml",
      fourMegabyteAliasBomb(),
      "181:1467: (yaml): more than 100000 YAML nodes in the file; the limit is 100000",
    ],
    ["4 MB of open brackets", "brackets.yaml", `a: ${"[".repeat(4_000_000)}`, `1:66: (yaml): ${depth}`],
    [
      "2 MB of nested compact sequences",
      "dashes.yaml",
      `${"- ".repeat(1_000_000)}x\n`,
      `1:127: (yaml): ${depth}`,
    ],
    [
      "a recursive alias",
      "recursive.yaml",
      `${BASELINE}    - &a [1, *a]\n`,
      "10:14: (yaml): alias *a refers to a node that contains it (a recursive alias)",
    ],
  ])(
    "%s: validate and check exit 2 with one line naming the limit, quickly",
    (_name, name, text, expected) => {
      const path = file(name, text);
      const v = expectInputError(["validate", path], path);
      expect(v.stderr).toBe(`${path}:${expected}\n`);
      // Before the limits: 118 s and 2 GB for the brackets, 18.6 s and 2 GB for the 4 MB bomb.
      // Now well under a second each; the bound is generous for a shared machine.
      expect(v.ms).toBeLessThan(15_000);
      const c = expectInputError(["check", "--baseline", path], path);
      expect(c.stderr).toBe(`${path}:${expected}\n`);
    },
  );

  it("a file over 4 MiB is refused unread; SOCKLENS_MAX_YAML_BYTES raises the limit", () => {
    const text = `${"# padding\n".repeat(500_000)}${BASELINE}`;
    const path = file("big.yaml", text);
    const r = expectInputError(["validate", path], path);
    expect(r.stderr).toBe(
      `${path}: (file): the file is ${text.length} bytes; the limit is 4194304 bytes (SOCKLENS_MAX_YAML_BYTES sets another)\n`,
    );
    const raised = runCli(["validate", path], { env: { SOCKLENS_MAX_YAML_BYTES: "8000000" } });
    expect(raised.code, raised.stderr).toBe(0);
    expect(raised.stdout).toBe(`${path}: shop/web: valid\n`);
    expectInputError(["validate", path], "SOCKLENS_MAX_YAML_BYTES", { SOCKLENS_MAX_YAML_BYTES: "4M" });
  });

  it.each([
    [
      "an endless device",
      "/dev/zero",
      "(file): the file is longer than the limit of 4194304 bytes (SOCKLENS_MAX_YAML_BYTES sets another)",
    ],
    ["a directory", "DIR", "(file): cannot read: EISDIR"],
    ["a missing file", join(dir, "missing.yaml"), "(file): cannot read: ENOENT"],
  ])("%s: exit 2", (_name, input, expected) => {
    const path = input === "DIR" ? join(dir, "a-dir") : input;
    if (input === "DIR") mkdirSync(path, { recursive: true });
    const r = expectInputError(["validate", path], `${path}: ${expected}`);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
  });
});

describe("diff refuses malformed snapshots with the field at fault", () => {
  // A real snapshot of this host, to break one field at a time.
  const real = runCli(["snapshot", "-o", "-"]);
  const snapshot = JSON.parse(real.stdout) as Record<string, unknown> & {
    sockets: Record<string, unknown>[];
  };
  const socket = snapshot.sockets[0] as Record<string, unknown>;
  const good = file("good.json", JSON.stringify(snapshot));
  const { remoteAddress: _, ...noRemote } = socket;

  it("starts from a real snapshot with sockets", () => {
    expect(real.code, real.stderr).toBe(0);
    expect(snapshot.sockets.length).toBeGreaterThan(0);
  });

  it("a well-formed snapshot diffs clean against itself", () => {
    const r = runCli(["diff", good, good]);
    expect(r.code, r.stderr).toBe(0);
  });

  it.each([
    [
      "without metadata",
      { ...snapshot, metadata: undefined },
      "not a socklens snapshot: metadata: missing; expected object",
    ],
    [
      "with a container that is not an object",
      { ...snapshot, sockets: [{ ...socket, container: "c0ffee" }] },
      'not a socklens snapshot: sockets[0].container: got "c0ffee"; expected object',
    ],
    [
      "without remoteAddress",
      { ...snapshot, sockets: [noRemote] },
      "not a socklens snapshot: sockets[0].remoteAddress: missing; expected string",
    ],
    [
      "with a port out of range",
      { ...snapshot, sockets: [{ ...socket, localPort: 70000 }] },
      "not a socklens snapshot: sockets[0].localPort: got 70000;",
    ],
    [
      "with 100,000 bad sockets",
      { ...snapshot, sockets: Array(100_000).fill(1) },
      "not a socklens snapshot: sockets[0]: got 1; expected object (and 99999 more problem(s))",
    ],
  ])("%s: exit 2 naming the field, whichever side it is on", (_name, value, expected) => {
    const bad = file("bad.json", JSON.stringify(value));
    expectInputError(["diff", good, bad], `${bad}: ${expected}`);
    expectInputError(["diff", bad, good], `${bad}: ${expected}`);
  });

  it("a JSON syntax error names line and column", () => {
    const bad = file("syntax.json", '{\n  "kind": "SocklensSnapshot",\n  oops\n}');
    expectInputError(["diff", good, bad], `${bad}:3:3: not valid JSON: `);
  });

  it("an endless device is refused after the limit", () => {
    expectInputError(
      ["diff", good, "/dev/zero"],
      "/dev/zero: the file is longer than the limit of 524288000 bytes",
    );
  });
});
