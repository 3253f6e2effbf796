/**
 * One Node.js version for the whole project: .node-version holds it (scripts/node.sh installs
 * it); package.json, @types/node, the launcher's check and the Dockerfile must agree with it.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const REPO = join(import.meta.dirname, "..", "..");
const read = (path: string) => readFileSync(join(REPO, path), "utf8");

const pinned = read(".node-version").trim();
const major = Number(pinned.split(".")[0]);
const pkg = JSON.parse(read("package.json")) as {
  engines: { node: string };
  devDependencies: Record<string, string>;
};

describe("the pinned Node.js runtime", () => {
  it(".node-version holds one exact version", () => {
    expect(pinned).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it("package.json engines and @types/node name its major", () => {
    expect(pkg.engines.node).toBe(`>=${major}`);
    expect(pkg.devDependencies["@types/node"]).toMatch(new RegExp(`^\\^${major}\\.`));
  });

  it("bin/socklens.js refuses the majors below it", () => {
    expect(read("bin/socklens.js")).toContain(`const MIN_NODE_MAJOR = ${major};`);
  });

  it("the Dockerfile builds and runs on exactly that version", () => {
    const dockerfile = read("Dockerfile");
    expect(dockerfile).toContain(`ARG NODE_VERSION=${pinned}\n`);
    // The base is a build argument (scripts/image.sh passes a local stand-in), whose default
    // is the official image of the pinned version; every stage is that base or scratch.
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:\$\{NODE_VERSION\}-bookworm-slim$/m);
    const froms = dockerfile.split("\n").filter((line) => line.startsWith("FROM "));
    expect(froms.length).toBeGreaterThan(0);
    for (const from of froms) expect(from).toMatch(/^FROM (\$\{NODE_IMAGE\}|scratch)( AS [a-z-]+)?$/);
    expect(froms.filter((f) => /^FROM \$\{NODE_IMAGE\}/.test(f)).length).toBeGreaterThan(0);
  });

  it("the tests themselves run on it (scripts/test.sh puts it first on PATH)", () => {
    expect(Number(process.versions.node.split(".")[0])).toBeGreaterThanOrEqual(major);
  });
});
