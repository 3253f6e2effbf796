// Child processes the harness owns: started with their output in a log file, stopped by
// the pid we started (never by name), and killed if the test process exits without
// cleaning up, so a crashed run does not leave an API server behind.
import { type ChildProcess, spawn } from "node:child_process";
import { openSync, readFileSync } from "node:fs";
import { createServer } from "node:net";

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const child of live) child.kill("SIGKILL");
  });
}

export class ManagedProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  private exitCode: number | null | undefined;

  constructor(
    readonly name: string,
    readonly command: string,
    readonly args: string[],
    readonly logFile: string,
    /** Outlive this Node process (scripts/cluster.ts up); stop it later by pid. */
    detached = false,
  ) {
    const fd = openSync(logFile, "a");
    this.child = spawn(command, args, { stdio: ["ignore", fd, fd], detached });
    if (detached) {
      this.child.unref();
    } else {
      installExitHook();
      live.add(this.child);
    }
    this.exited = new Promise((resolve) => {
      this.child.on("error", (err) => {
        this.exitCode = -1;
        live.delete(this.child);
        resolve(-1);
        // ENOENT and friends: make them visible in the log tail as well.
        process.stderr.write(`[${name}] failed to start ${command}: ${err.message}\n`);
      });
      this.child.on("exit", (code, signal) => {
        this.exitCode = code ?? (signal ? 128 : null);
        live.delete(this.child);
        resolve(this.exitCode);
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.exitCode === undefined;
  }

  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
  async stop(graceMs = 10_000): Promise<void> {
    if (!this.running) return;
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  tail(lines = 40): string {
    return tailFile(this.logFile, lines);
  }
}

export function tailFile(path: string, lines = 40): string {
  try {
    const all = readFileSync(path, "utf8").trimEnd().split("\n");
    return all.slice(-lines).join("\n");
  } catch (err) {
    return `(no log at ${path}: ${(err as Error).message})`;
  }
}

/** A port that was free on 127.0.0.1 a moment ago (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => {
        if (addr && typeof addr === "object") resolve(addr.port);
        else reject(new Error("could not read the port the OS assigned"));
      });
    });
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Polls `probe` until it returns true. Fails early when `proc` exits, and on timeout,
 * with `describe()` (log tails) in the message.
 */
export async function waitFor(
  what: string,
  probe: () => Promise<boolean>,
  opts: { timeoutMs: number; intervalMs?: number; procs?: ManagedProcess[]; describe?: () => string },
): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  let lastError = "";
  for (;;) {
    for (const p of opts.procs ?? []) {
      if (!p.running) {
        throw new Error(`${p.name} exited while waiting for ${what}\n${opts.describe?.() ?? p.tail()}`);
      }
    }
    try {
      if (await probe()) return;
    } catch (err) {
      lastError = (err as Error).message;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${opts.timeoutMs} ms waiting for ${what}` +
          (lastError ? ` (last error: ${lastError})` : "") +
          `\n${opts.describe?.() ?? ""}`,
      );
    }
    await sleep(opts.intervalMs ?? 200);
  }
}

/** Stops a process by pid (from an earlier run): SIGTERM, then SIGKILL after `graceMs`. */
export async function stopPid(pid: number, graceMs = 10_000): Promise<void> {
  const alive = (): boolean => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  if (!alive()) return;
  process.kill(pid, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (alive() && Date.now() < deadline) await sleep(100);
  if (alive()) process.kill(pid, "SIGKILL");
}
