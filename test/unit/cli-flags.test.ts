/**
 * One flag behaviour everywhere (issue 14): every boolean of every command takes --flag,
 * --no-flag, --flag=true and --flag=false; netstat's short flags combine; -o yaml exists
 * wherever -o json does; scan --cluster without a kubeconfig says where it looked.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { SERVICE_ACCOUNT_TOKEN } from "../../src/cli/cluster-flags.js";
import { commandSpecs } from "../../src/cli/completion.js";
import { normalizeBooleans, parseFlags } from "../../src/cli/flags.js";
import { main } from "../../src/cli/main.js";
import { SCAN_OPTIONS, scanProtocols } from "../../src/cli/scan.js";

function capture(env: NodeJS.ProcessEnv = {}) {
  const io = { out: "", err: "" };
  return {
    io,
    cli: {
      out: (t: string) => {
        io.out += t;
      },
      err: (t: string) => {
        io.err += t;
      },
      env: { HOST_RUN_NETNS: "/nonexistent-socklens", ...env },
    },
  };
}

const COMMANDS = [
  "scan",
  "interfaces",
  "routes",
  "stats",
  "snapshot",
  "diff",
  "validate",
  "check",
  "learn",
  "watch",
  "agent",
  "operator",
  "baseline",
  "report",
  "ack",
];

describe("booleans, the same in every command", async () => {
  const specs = await commandSpecs(COMMANDS, "");
  const cases = specs.flatMap((c) =>
    Object.entries(c.options)
      .filter(([, s]) => s?.type === "boolean")
      .map(([flag]) => [c.name, flag] as const),
  );

  it("every command that has booleans is covered (the table is not empty)", () => {
    const commands = new Set(cases.map(([c]) => c));
    for (const c of [
      "scan",
      "check",
      "learn",
      "watch",
      "agent",
      "operator",
      "snapshot",
      "diff",
      "baseline",
      "report",
      "ack",
    ])
      expect(commands, c).toContain(c);
    expect(cases).toContainEqual(["operator", "leader-elect"]);
  });

  it.each(cases)("%s --%s: --flag, --no-flag, --flag=true, --flag=false", (command, flag) => {
    const options = specs.find((c) => c.name === command)?.options ?? {};
    const value = (args: string[]) => (parseFlags(args, options).values as Record<string, unknown>)[flag];
    expect(value([`--${flag}`])).toBe(true);
    expect(value([`--no-${flag}`])).toBe(false);
    expect(value([`--${flag}=true`])).toBe(true);
    expect(value([`--${flag}=false`])).toBe(false);
    expect(value([`--${flag}=FALSE`])).toBe(false);
    // The last one wins, as in kubectl and most CLIs.
    expect(value([`--${flag}`, `--no-${flag}`])).toBe(false);
    expect(() => parseFlags([`--${flag}=maybe`], options)).toThrow(
      new RegExp(`--${flag}: "maybe" is not true or false`),
    );
  });

  it("leaves string values and everything after -- alone", () => {
    expect(
      normalizeBooleans(["--output=false", "--", "--debug=false"], { output: { type: "string" } }),
    ).toEqual(["--output=false", "--", "--debug=false"]);
    expect(normalizeBooleans(["--debug=false", "-o", "json"], { debug: { type: "boolean" } })).toEqual([
      "--no-debug",
      "-o",
      "json",
    ]);
  });

  it("operator --leader-elect=false gets past the flags (it used to fail: does not take an argument)", async () => {
    const { io, cli } = capture();
    expect(await main(["operator", "--leader-elect=false", "--kubeconfig", "/nonexistent/kc"], cli)).toBe(2);
    expect(io.err).not.toMatch(/does not take an argument/);
    expect(io.err).toMatch(/--kubeconfig: cannot load \/nonexistent\/kc/);
    // Loading the operator's modules (the Kubernetes client) takes seconds on a busy machine.
  }, 60_000);

  it.each([
    [["scan", "--debug=maybe"], /--debug: "maybe" is not true or false/],
    [["scan", "--no-bogus"], /Unknown option '--no-bogus'/],
    [["operator", "--leader-elect=nope"], /--leader-elect: "nope" is not true or false/],
  ])("%j exits 2 naming the flag", async (argv, message) => {
    const { io, cli } = capture();
    expect(await main(argv, cli)).toBe(2);
    expect(io.err).toMatch(message);
  });
});

describe("netstat's short flags", () => {
  it.each([
    [[], ["raw", "tcp", "udp"]],
    [["-a"], ["raw", "tcp", "udp", "unix"]],
    [["-t"], ["tcp"]],
    [["-ta"], ["tcp"]],
    [["-tu"], ["tcp", "udp"]],
    [["-x"], ["unix"]],
    [["-w"], ["raw"]],
    [
      ["--proto", "unix", "-t"],
      ["tcp", "unix"],
    ],
  ])("scan %j reads %j", (args, protocols) => {
    expect([...scanProtocols(parseFlags(args, SCAN_OPTIONS).values)].sort()).toEqual(protocols);
  });

  it("-tlnp -e combine into one group of booleans", () => {
    const { values } = parseFlags(["-tlnpe"], SCAN_OPTIONS);
    expect(values).toMatchObject({
      tcp: true,
      listening: true,
      numeric: true,
      processes: true,
      extended: true,
    });
  });

  it("-o yaml is accepted wherever -o json is, and still refuses what is neither", async () => {
    const { io, cli } = capture();
    expect(await main(["scan", "-o", "xml"], cli)).toBe(2);
    expect(io.err).toMatch(/-o\/--output: "xml" is not one of table, wide, json, yaml, ndjson/);
    for (const argv of [
      ["diff", "a", "b", "-o", "xml"],
      ["check", "--baseline", "x", "-o", "xml"],
    ]) {
      const c = capture();
      expect(await main(argv, c.cli)).toBe(2);
      expect(c.io.err).toMatch(/json, yaml/);
    }
  });
});

describe("scan --cluster without a kubeconfig", () => {
  const home = mkdtempSync(join(tmpdir(), "socklens-home-"));
  afterAll(() => rmSync(home, { recursive: true, force: true }));
  const inCluster = existsSync(SERVICE_ACCOUNT_TOKEN);
  if (inCluster)
    console.warn(`SKIPPED the no-kubeconfig case: ${SERVICE_ACCOUNT_TOKEN} exists on this machine`);

  it.skipIf(inCluster)("says that none was found and where it looked", async () => {
    const { io, cli } = capture({ HOME: home });
    expect(await main(["scan", "--cluster"], cli)).toBe(2);
    expect(io.err).toContain("no kubeconfig found");
    expect(io.err).toContain("KUBECONFIG (not set)");
    expect(io.err).toContain(`${join(home, ".kube", "config")} (no such file)`);
    expect(io.err).toContain(SERVICE_ACCOUNT_TOKEN);
    expect(io.err).not.toMatch(/localhost:8080|HTTP protocol/);
  });
});
