/**
 * The benchmark's load: N network namespaces, each with a Go load generator holding C
 * established connections plus listeners, CLOSE_WAIT, TIME_WAIT and UDP sockets.
 * Run directly to hold a load for profiling: `tsx bench/load.ts 50x400 [--churn K]` (Ctrl-C
 * tears down; `tsx bench/load.ts clean` removes what an interrupted run left). `--churn K`: in
 * the first K namespaces a connection opens and closes every second (a TIME_WAIT each), so
 * their counters move between scans as a busy pod's do.
 */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const REPO = fileURLToPath(new URL("..", import.meta.url));
export const PREFIX = "slbench";

function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: "utf8" });
}

export function buildLoadgen(): string {
  const out = join(homedir(), ".cache", "socklens-bench", "loadgen");
  mkdirSync(join(homedir(), ".cache", "socklens-bench"), { recursive: true });
  execFileSync("go", ["build", "-o", out, "."], { cwd: join(REPO, "bench", "loadgen"), stdio: "inherit" });
  return out;
}

export async function startLoad(
  n: number,
  c: number,
  loadgen: string,
  churn = 0,
): Promise<{ names: string[]; stop: () => Promise<void> }> {
  const names: string[] = [];
  const children: ReturnType<typeof spawn>[] = [];
  for (let i = 0; i < n; i++) {
    const name = `${PREFIX}-${i}`;
    sh("ip", ["netns", "add", name]);
    names.push(name);
    sh("ip", ["-n", name, "link", "set", "lo", "up"]);
  }
  const stop = async () => {
    for (const ch of children) ch.kill("SIGTERM");
    await Promise.all(
      children.map((ch) => (ch.exitCode === null ? new Promise((r) => ch.once("exit", r)) : null)),
    );
    for (const name of names) sh("ip", ["netns", "del", name]);
  };
  try {
    // Start in batches of 20 so two cores are not asked to open 40k connections at once.
    // Go raises its soft fd limit to the hard one (20000 here); above ~9000 connections the
    // client ends go to a second process so neither holds more than that.
    const split = c > 9000;
    const start = (name: string, args: string[]) => {
      const ch = spawn("ip", ["netns", "exec", name, loadgen, ...args], {
        stdio: ["ignore", "pipe", "inherit"],
      });
      children.push(ch);
      return new Promise<void>((resolve, reject) => {
        createInterface({ input: ch.stdout as NodeJS.ReadableStream }).once("line", () => resolve());
        ch.once("exit", (code) => reject(new Error(`loadgen in ${name} exited with ${code}`)));
      });
    };
    for (let i = 0; i < n; i += 20) {
      await Promise.all(
        names.slice(i, i + 20).map(async (name, j) => {
          const churning = i + j < churn ? ["-churn", "1s"] : [];
          if (!split) return start(name, ["-c", String(c), ...churning]);
          await start(name, ["-c", "0", ...churning]);
          await start(name, ["-serve=false", "-c", String(c), "-close-wait", "0", "-time-wait", "0"]);
        }),
      );
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { names, stop };
}

/** Remove what an interrupted run left: slbench-* namespaces and their load generators. */
export function cleanLeftovers(): void {
  spawnSync("pkill", ["-f", join(".cache", "socklens-bench", "loadgen")]);
  for (const line of sh("ip", ["netns", "list"]).split("\n")) {
    const name = line.split(" ")[0] ?? "";
    if (name.startsWith(`${PREFIX}-`)) sh("ip", ["netns", "del", name]);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1] && process.argv[2] === "clean") {
  cleanLeftovers();
} else if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [n, c] = (process.argv[2] ?? "50x400").split("x").map(Number) as [number, number];
  const at = process.argv.indexOf("--churn");
  const churn = at > 0 ? Number(process.argv[at + 1]) : 0;
  const load = await startLoad(n, c, buildLoadgen(), churn);
  console.error(`holding ${n} namespaces × ${c} connections (${churn} churning); Ctrl-C to stop`);
  const stop = () => void load.stop().then(() => process.exit(0));
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}
