/**
 * The agent's and the operator's HTTP endpoint, as Kubernetes components serve it:
 * `/metrics` (Prometheus text, from the same OTel instruments as OTLP), `/healthz` (the
 * process answers: liveness) and `/readyz` (200 once the informers have listed, else 503
 * with the reason: readiness). Nothing else; no request body is read.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface HealthServerOptions {
  port: number;
  host?: string;
  /** undefined: ready; a string: why not (e.g. "waiting for the first list of pods"). */
  notReady: () => string | undefined;
  metrics?: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
}

export class HealthServer {
  private constructor(readonly server: Server) {}

  static async start(o: HealthServerOptions): Promise<HealthServer> {
    const server = createServer((req, res) => {
      const path = (req.url ?? "/").split("?")[0];
      if (req.method !== "GET" && req.method !== "HEAD") return text(res, 405, "method not allowed\n");
      if (path === "/healthz" || path === "/livez") return text(res, 200, "ok\n");
      if (path === "/readyz") {
        const why = o.notReady();
        return why === undefined ? text(res, 200, "ok\n") : text(res, 503, `not ready: ${why}\n`);
      }
      if (path === "/metrics" && o.metrics) return o.metrics(req, res);
      text(res, 404, "not found: /metrics, /healthz, /readyz\n");
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(o.port, o.host ?? "0.0.0.0", () => {
        server.off("error", reject);
        resolve();
      });
    });
    return new HealthServer(server);
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}

function text(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { "content-type": "text/plain; charset=utf-8" }).end(body);
}
