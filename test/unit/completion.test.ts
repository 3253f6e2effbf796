/**
 * `socklens completion bash|zsh|fish`: each script is loaded by the real shell and asked to
 * complete, where the shell is installed (bash always is; zsh and fish skip saying so).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";

async function script(shell: string): Promise<string> {
  let out = "";
  const code = await main(["completion", shell], { out: (t) => (out += t), err: () => {}, env: {} });
  expect(code).toBe(0);
  return out;
}

const dir = mkdtempSync(join(tmpdir(), "socklens-completion-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function has(shell: string): boolean {
  const ok = spawnSync(shell, ["-c", "true"]).status === 0;
  if (!ok) console.warn(`SKIPPED ${shell} completion: ${shell} is not installed`);
  return ok;
}

describe("socklens completion", () => {
  it("refuses a shell it does not know, exit 2", async () => {
    let err = "";
    expect(await main(["completion", "tcsh"], { out: () => {}, err: (t) => (err += t), env: {} })).toBe(2);
    expect(err).toMatch(/completion needs one shell: bash, zsh, fish/);
  });

  it.skipIf(!has("bash"))(
    "bash completes commands, flags and flag values",
    async () => {
      const file = join(dir, "socklens.bash");
      writeFileSync(file, await script("bash"));
      const complete = (words: string[]) => {
        const r = spawnSync(
          "bash",
          [
            "-c",
            `source ${file}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${words.length - 1}; _socklens; printf '%s\\n' "\${COMPREPLY[@]}"`,
          ],
          { encoding: "utf8" },
        );
        expect(r.stderr).toBe("");
        return r.stdout.split("\n").filter(Boolean);
      };
      expect(complete(["socklens", "sc"])).toEqual(["scan"]);
      expect(complete(["socklens", "com"])).toEqual(["completion"]);
      expect(complete(["socklens", "scan", "--pro"]).sort()).toEqual(["--processes", "--proto"]);
      expect(complete(["socklens", "scan", "-o", "y"])).toEqual(["yaml"]);
      expect(complete(["socklens", "scan", "--proto", "u"]).sort()).toEqual(["udp", "unix"]);
      expect(complete(["socklens", "operator", "--no-le"])).toEqual(["--no-leader-elect"]);
      expect(complete(["socklens", "completion", "f"])).toEqual(["fish"]);
      expect(complete(["socklens", "baseline", "ex"])).toEqual(["export"]);
    },
    60_000,
  );

  it.skipIf(!has("zsh"))(
    "zsh loads the script and registers it for socklens",
    async () => {
      const file = join(dir, "_socklens");
      writeFileSync(file, await script("zsh"));
      const r = spawnSync(
        "zsh",
        [
          "-f",
          "-c",
          `autoload -U compinit && compinit -u -d ${dir}/zcompdump && source ${file} && print -r -- $_comps[socklens]`,
        ],
        { encoding: "utf8" },
      );
      expect(r.stderr).toBe("");
      expect(r.stdout.trim()).toBe("_socklens");
      // compinit scans every completion function on the machine: seconds when it is busy.
    },
    60_000,
  );

  it.skipIf(!has("fish"))(
    "fish completes commands, flags and values",
    async () => {
      const file = join(dir, "socklens.fish");
      writeFileSync(file, await script("fish"));
      const complete = (line: string) => {
        const r = spawnSync("fish", ["--no-config", "-c", `source ${file}; complete -C '${line}'`], {
          encoding: "utf8",
          env: { ...process.env, HOME: dir, XDG_CONFIG_HOME: dir, XDG_DATA_HOME: dir },
        });
        expect(r.stderr).toBe("");
        return r.stdout
          .split("\n")
          .filter(Boolean)
          .map((l) => l.split("\t")[0]);
      };
      expect(complete("socklens sc")).toContain("scan");
      expect(complete("socklens scan --pro").sort()).toEqual(["--processes", "--proto"]);
      expect(complete("socklens scan --output ").sort()).toEqual(["json", "ndjson", "table", "wide", "yaml"]);
      expect(complete("socklens operator --no-le")).toEqual(["--no-leader-elect"]);
    },
    60_000,
  );
});
