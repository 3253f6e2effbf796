/**
 * The chart's values are documented once and the same everywhere: every value has a `# --`
 * comment in values.yaml (helm-docs renders the chart README from them), every node of
 * values.schema.json has a description, and a value's schema description is its comment.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

const chart = fileURLToPath(new URL("../../charts/socklens/", import.meta.url));
const valuesText = readFileSync(`${chart}values.yaml`, "utf8");
const schema = JSON.parse(readFileSync(`${chart}values.schema.json`, "utf8")) as Node;

type Node = { description?: string; properties?: Record<string, Node>; [k: string]: unknown };

/**
 * `# -- text` comments by the dotted key they document, as helm-docs reads them: the comment
 * block right above a key (continued by `#` lines), at any depth.
 */
function valueComments(text: string): Map<string, string> {
  const out = new Map<string, string>();
  const path: string[] = [];
  let pending: string[] | undefined;
  for (const line of text.split("\n")) {
    const comment = /^\s*# -- (.*)$/.exec(line);
    if (comment) {
      pending = [comment[1] as string];
      continue;
    }
    const more = /^\s*# ?(.*)$/.exec(line);
    if (more && pending) {
      pending.push(more[1] as string);
      continue;
    }
    const key = /^(\s*)([A-Za-z0-9_]+):/.exec(line);
    if (key) {
      path.splice((key[1] as string).length / 2);
      path.push(key[2] as string);
      if (pending) out.set(path.join("."), pending.join(" "));
    }
    pending = undefined;
  }
  return out;
}

function schemaNodes(node: Node, at: string, out: Map<string, Node>): void {
  for (const [k, v] of Object.entries(node.properties ?? {})) {
    const path = at ? `${at}.${k}` : k;
    out.set(path, v);
    schemaNodes(v, path, out);
  }
}

/** Leaf values (not maps of further values) by dotted path. */
function leaves(value: unknown, at: string, out: string[]): void {
  if (value && typeof value === "object" && !Array.isArray(value) && Object.keys(value).length > 0) {
    for (const [k, v] of Object.entries(value)) leaves(v, at ? `${at}.${k}` : k, out);
  } else out.push(at);
}

const comments = valueComments(valuesText);
const nodes = new Map<string, Node>();
schemaNodes(schema, "", nodes);

describe("charts/socklens values", () => {
  it("the comment reader finds comments at every depth, and only `# --` ones", () => {
    const found = valueComments("# -- top\na: 1\n# plain\nb:\n  # -- deep\n  # more\n  c: 2\n  d: 3\n");
    expect([...found]).toEqual([
      ["a", "top"],
      ["b.c", "deep more"],
    ]);
  });

  it("documents every value with a `# --` comment (on it or on the object it is part of)", () => {
    const all: string[] = [];
    leaves(parse(valuesText), "", all);
    const undocumented = all.filter((path) => {
      const parts = path.split(".");
      return !parts.some((_, i) => comments.has(parts.slice(0, i + 1).join(".")));
    });
    expect(undocumented).toEqual([]);
    expect(all.length).toBeGreaterThan(40);
  });

  it("describes the values object and every property of values.schema.json", () => {
    expect(schema.description).toBeTruthy();
    const bare = [...nodes].filter(([, n]) => !n.description?.trim()).map(([p]) => p);
    expect(bare).toEqual([]);
  });

  it("gives each documented value the same description in the schema as in values.yaml", () => {
    const differ = [...comments]
      .filter(([path, text]) => nodes.get(path)?.description !== text)
      .map(([path, text]) => ({ path, comment: text, schema: nodes.get(path)?.description }));
    expect(differ).toEqual([]);
  });
});
