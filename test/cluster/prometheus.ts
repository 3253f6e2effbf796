// A real Prometheus server (built by build-tools.sh from its Go module), scraping fixed
// targets every second, with its HTTP API on a free loopback port for the test to query.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { freePort, ManagedProcess, waitFor } from "./process.js";
import { requireTool } from "./tools.js";

export interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

export class Prometheus {
  private constructor(
    readonly dir: string,
    readonly port: number,
    private readonly proc: ManagedProcess,
  ) {}

  /** Starts Prometheus scraping `targets` (host:port) every second, and waits until it is ready. */
  static async start(targets: string[], job = "socklens"): Promise<Prometheus> {
    const bin = requireTool("prometheus");
    const dir = await mkdtemp(join(tmpdir(), "socklens-prometheus-"));
    const port = await freePort();
    const config = {
      global: { scrape_interval: "1s", evaluation_interval: "1s" },
      scrape_configs: [{ job_name: job, static_configs: [{ targets }] }],
    };
    await writeFile(join(dir, "prometheus.yml"), stringify(config));
    const proc = new ManagedProcess(
      "prometheus",
      bin,
      [
        `--config.file=${join(dir, "prometheus.yml")}`,
        `--storage.tsdb.path=${join(dir, "data")}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      join(dir, "prometheus.log"),
    );
    const p = new Prometheus(dir, port, proc);
    await waitFor(
      "prometheus /-/ready",
      async () => (await fetch(`${p.url}/-/ready`).catch(() => undefined))?.ok === true,
      { timeoutMs: 60_000, procs: [proc], describe: () => `--- tail of ${proc.logFile} ---\n${proc.tail()}` },
    );
    return p;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  log(lines = 40): string {
    return this.proc.tail(lines);
  }

  /** An instant PromQL query; throws with Prometheus's own error for a bad one. */
  async query(expr: string): Promise<Sample[]> {
    const res = await fetch(`${this.url}/api/v1/query?${new URLSearchParams({ query: expr })}`);
    const body = (await res.json()) as {
      status: string;
      error?: string;
      data?: { resultType: string; result: Sample[] | [number, string] };
    };
    if (body.status !== "success") throw new Error(`PromQL ${expr}: ${body.error ?? res.status}`);
    const r = body.data?.result;
    if (body.data?.resultType === "scalar" || body.data?.resultType === "string")
      return [{ metric: {}, value: r as [number, string] }];
    return (r as Sample[]) ?? [];
  }

  /** The scrape targets and their health, as /api/v1/targets reports them. */
  async targets(): Promise<{ scrapeUrl: string; health: string; lastError: string }[]> {
    const res = await fetch(`${this.url}/api/v1/targets`);
    const body = (await res.json()) as {
      data: { activeTargets: { scrapeUrl: string; health: string; lastError: string }[] };
    };
    return body.data.activeTargets;
  }

  async stop(): Promise<void> {
    await this.proc.stop();
    if (process.env.SOCKLENS_KEEP_CLUSTER_DIR === "1") return;
    await rm(this.dir, { recursive: true, force: true });
  }
}
