// A real Kubernetes control plane for tests, envtest-style: etcd and kube-apiserver built
// by build-tools.sh, on free loopback ports, with a fresh temp dir for data and
// certificates. No kubelet, scheduler or controller-manager: pods are API objects only,
// nothing garbage-collects, and a deleted namespace stays Terminating.

import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { stringify } from "yaml";
import { makePki, type Pki, readBase64 } from "./pki.js";
import { freePort, ManagedProcess, tailFile, waitFor } from "./process.js";
import { requireTool } from "./tools.js";

export interface ControlPlaneOptions {
  /** Keep the temp dir (data, certs, logs) after stop(); also SOCKLENS_KEEP_CLUSTER_DIR=1. */
  keepDir?: boolean;
  /** Extra kube-apiserver flags, e.g. ["--feature-gates=..."]. */
  apiServerFlags?: string[];
  startTimeoutMs?: number;
  /** Let etcd and kube-apiserver outlive this process (scripts/cluster.ts up). */
  detached?: boolean;
}

export interface ExtraApiServer {
  server: string;
  /** Admin KubeConfig pointing at this API server. */
  kubeConfig(): KubeConfig;
  stop(): Promise<void>;
}

/** Start failed; `dir` (data, certificates, logs) is kept for a look. */
export class ControlPlaneStartError extends Error {
  override readonly name = "ControlPlaneStartError";
  constructor(
    readonly dir: string,
    cause: unknown,
  ) {
    super(`control plane failed to start (files kept in ${dir}): ${(cause as Error).message}`, { cause });
  }
}

interface AdminCredentials {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

export class ControlPlane {
  private etcd?: ManagedProcess;
  private apiServer?: ManagedProcess;
  private creds?: AdminCredentials;
  private apiServerStarts = 0;

  private constructor(
    /** Temp dir with etcd data, certificates, logs and the kubeconfig. */
    readonly dir: string,
    readonly pki: Pki,
    readonly etcdPort: number,
    readonly etcdPeerPort: number,
    readonly apiPort: number,
    private readonly opts: ControlPlaneOptions,
  ) {}

  /** Starts etcd and kube-apiserver, waits for /readyz, writes an admin kubeconfig. */
  static async start(opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
    // Resolve both binaries first: a failed tool build must fail loudly, before any work.
    requireTool("etcd");
    requireTool("kube-apiserver");
    // Free ports are picked by binding :0 and closing again, so another process can take
    // one before etcd or the API server binds it. Rare, but not worth a red CI run.
    for (let attempt = 1; ; attempt++) {
      try {
        return await ControlPlane.startOnce(opts);
      } catch (err) {
        if (attempt >= 3 || !/address already in use/.test((err as Error).message)) throw err;
        if (err instanceof ControlPlaneStartError) await rm(err.dir, { recursive: true, force: true });
        process.stderr.write(
          `[controlplane] a port was taken meanwhile; retrying (attempt ${attempt + 1})\n`,
        );
      }
    }
  }

  private static async startOnce(opts: ControlPlaneOptions): Promise<ControlPlane> {
    const dir = await mkdtemp(join(tmpdir(), "socklens-cp-"));
    let cp: ControlPlane | undefined;
    try {
      const pki = await makePki(dir);
      const [etcdPort, etcdPeerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
      cp = new ControlPlane(dir, pki, etcdPort, etcdPeerPort, apiPort, opts);
      await cp.writeKubeconfig();
      await cp.startEtcd();
      await cp.startApiServer();
      return cp;
    } catch (err) {
      // Keep the dir for post-mortem; the error already carries the log tails.
      if (cp) await cp.stopProcesses();
      throw new ControlPlaneStartError(dir, err);
    }
  }

  get server(): string {
    return `https://127.0.0.1:${this.apiPort}`;
  }

  get etcdEndpoint(): string {
    return `http://127.0.0.1:${this.etcdPort}`;
  }

  get kubeconfigPath(): string {
    return join(this.dir, "admin.kubeconfig");
  }

  get apiServerLog(): string {
    return join(this.dir, "kube-apiserver.log");
  }

  get etcdLog(): string {
    return join(this.dir, "etcd.log");
  }

  get apiServerPid(): number | undefined {
    return this.apiServer?.running ? this.apiServer.pid : undefined;
  }

  get etcdPid(): number | undefined {
    return this.etcd?.running ? this.etcd.pid : undefined;
  }

  /** A fresh client-node KubeConfig for the admin (system:masters) user. */
  kubeConfig(): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromFile(this.kubeconfigPath);
    return kc;
  }

  /** Last lines of both logs, for error messages. */
  describe(lines = 30): string {
    return (
      `--- tail of ${this.apiServerLog} ---\n${tailFile(this.apiServerLog, lines)}\n` +
      `--- tail of ${this.etcdLog} ---\n${tailFile(this.etcdLog, lines)}`
    );
  }

  private async startEtcd(): Promise<void> {
    const peer = `http://127.0.0.1:${this.etcdPeerPort}`;
    this.etcd = new ManagedProcess(
      "etcd",
      requireTool("etcd"),
      [
        "--name=socklens-test",
        `--data-dir=${join(this.dir, "etcd-data")}`,
        `--listen-client-urls=${this.etcdEndpoint}`,
        `--advertise-client-urls=${this.etcdEndpoint}`,
        `--listen-peer-urls=${peer}`,
        `--initial-advertise-peer-urls=${peer}`,
        `--initial-cluster=socklens-test=${peer}`,
        // Throwaway data: durability buys nothing here and fsync dominates on slow disks.
        "--unsafe-no-fsync=true",
        "--log-level=warn",
      ],
      this.etcdLog,
      this.opts.detached,
    );
    await waitFor(
      "etcd /health",
      async () => {
        const res = await fetch(`${this.etcdEndpoint}/health`);
        return res.ok && ((await res.json()) as { health?: string }).health === "true";
      },
      { timeoutMs: 30_000, procs: [this.etcd], describe: () => this.describe() },
    );
  }

  /** Starts kube-apiserver against the running etcd and waits until /readyz says ok. */
  async startApiServer(): Promise<void> {
    if (this.apiServer?.running)
      throw new Error(`kube-apiserver already running (pid ${this.apiServer.pid})`);
    if (!this.etcd?.running) throw new Error("etcd is not running");
    this.apiServerStarts++;
    await writeFile(this.apiServerLog, `===== kube-apiserver start #${this.apiServerStarts} =====\n`, {
      flag: "a",
    });
    this.apiServer = new ManagedProcess(
      "kube-apiserver",
      requireTool("kube-apiserver"),
      this.apiServerArgs(this.apiPort),
      this.apiServerLog,
      this.opts.detached,
    );
    await waitFor("kube-apiserver /readyz", () => this.readyz(), {
      timeoutMs: this.opts.startTimeoutMs ?? 120_000,
      intervalMs: 250,
      procs: [this.apiServer, this.etcd],
      describe: () => this.describe(),
    });
  }

  private apiServerArgs(port: number): string[] {
    const p = this.pki;
    return [
      `--etcd-servers=${this.etcdEndpoint}`,
      "--bind-address=127.0.0.1",
      "--advertise-address=127.0.0.1",
      `--secure-port=${port}`,
      `--cert-dir=${join(this.dir, `apiserver-certs-${port}`)}`,
      `--tls-cert-file=${p.serverCert}`,
      `--tls-private-key-file=${p.serverKey}`,
      `--client-ca-file=${p.caCert}`,
      `--service-account-key-file=${p.saPub}`,
      `--service-account-signing-key-file=${p.saKey}`,
      "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
      "--service-cluster-ip-range=10.0.0.0/24",
      // RBAC must really be enforced: tests prove what a ServiceAccount may not do.
      "--authorization-mode=Node,RBAC",
      // No controller-manager runs, so nothing creates each namespace's "default"
      // ServiceAccount; this admission plugin would reject every pod without one.
      "--disable-admission-plugins=ServiceAccount",
      // The bootstrap controller would try to publish 127.0.0.1 as the endpoints of the
      // "kubernetes" Service, which the API rejects (loopback); there is nothing to route to.
      "--endpoint-reconciler-type=none",
      "--allow-privileged=true",
      "--v=1",
      ...(this.opts.apiServerFlags ?? []),
    ];
  }

  /**
   * A second kube-apiserver on the same etcd (another port), as in an HA control plane.
   * Tests use it to change objects while the main one is down.
   */
  async startExtraApiServer(): Promise<ExtraApiServer> {
    if (!this.etcd?.running) throw new Error("etcd is not running");
    const port = await freePort();
    const log = join(this.dir, `kube-apiserver-${port}.log`);
    const proc = new ManagedProcess(
      "kube-apiserver",
      requireTool("kube-apiserver"),
      this.apiServerArgs(port),
      log,
    );
    await waitFor(`extra kube-apiserver :${port} /readyz`, () => this.readyz(port), {
      timeoutMs: this.opts.startTimeoutMs ?? 120_000,
      intervalMs: 250,
      procs: [proc, this.etcd],
      describe: () => `--- tail of ${log} ---\n${tailFile(log, 30)}\n${this.describe()}`,
    });
    const main = this.kubeConfig();
    return {
      server: `https://127.0.0.1:${port}`,
      kubeConfig: () => {
        const kc = new KubeConfig();
        kc.loadFromString(main.exportConfig().replaceAll(this.server, `https://127.0.0.1:${port}`));
        return kc;
      },
      stop: () => proc.stop(),
    };
  }

  /** Stops kube-apiserver only (etcd and its data stay). */
  async stopApiServer(): Promise<void> {
    await this.apiServer?.stop();
  }

  /** Stops and starts kube-apiserver on the same port and the same etcd. */
  async restartApiServer(): Promise<void> {
    await this.stopApiServer();
    await this.startApiServer();
  }

  /** GET /readyz with the admin credentials; true on HTTP 200 "ok". */
  async readyz(port = this.apiPort): Promise<boolean> {
    const { status, body } = await this.adminGet("/readyz", port);
    return status === 200 && body.trim() === "ok";
  }

  /** A raw GET as the admin user, for endpoints the typed client does not cover (/version, /readyz). */
  async adminGet(path: string, port = this.apiPort): Promise<{ status: number; body: string }> {
    const creds = await this.adminCredentials();
    return new Promise((resolve, reject) => {
      const req = request(
        { host: "127.0.0.1", port, path, method: "GET", ...creds, timeout: 5_000 },
        (res) => {
          let body = "";
          res.setEncoding("utf8");
          res.on("data", (c: string) => {
            body += c;
          });
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on("timeout", () => req.destroy(new Error(`GET ${path} timed out`)));
      req.on("error", reject);
      req.end();
    });
  }

  /** Stops both processes (by the pids we started) and removes the temp dir. */
  async stop(): Promise<void> {
    await this.stopProcesses();
    if (this.opts.keepDir || process.env.SOCKLENS_KEEP_CLUSTER_DIR === "1") {
      process.stderr.write(`[controlplane] kept ${this.dir}\n`);
      return;
    }
    await rm(this.dir, { recursive: true, force: true });
  }

  private async stopProcesses(): Promise<void> {
    await this.apiServer?.stop();
    await this.etcd?.stop();
  }

  private async adminCredentials(): Promise<AdminCredentials> {
    this.creds ??= {
      ca: await readFile(this.pki.caCert),
      cert: await readFile(this.pki.adminCert),
      key: await readFile(this.pki.adminKey),
    };
    return this.creds;
  }

  private async writeKubeconfig(): Promise<void> {
    const kubeconfig = {
      apiVersion: "v1",
      kind: "Config",
      clusters: [
        {
          name: "socklens-test",
          cluster: { server: this.server, "certificate-authority-data": await readBase64(this.pki.caCert) },
        },
      ],
      users: [
        {
          name: "socklens-test-admin",
          user: {
            "client-certificate-data": await readBase64(this.pki.adminCert),
            "client-key-data": await readBase64(this.pki.adminKey),
          },
        },
      ],
      contexts: [
        { name: "socklens-test", context: { cluster: "socklens-test", user: "socklens-test-admin" } },
      ],
      "current-context": "socklens-test",
    };
    await writeFile(this.kubeconfigPath, stringify(kubeconfig), { mode: 0o600 });
  }
}

/**
 * A KubeConfig that authenticates as ServiceAccount `namespace/name` with a short-lived
 * token from the TokenRequest API, against the same cluster as `admin`. What it may do is
 * exactly what RBAC grants that ServiceAccount. Pass `writeTo` to also get a file, and
 * `boundObjectRef` for a token bound to an object, as the kubelet asks for a pod's token: one
 * bound to a pod on a node carries that node's name
 * (`authentication.kubernetes.io/node-name` in the user's extra) and is valid only while
 * the pod exists.
 */
export async function serviceAccountKubeConfig(
  admin: KubeConfig,
  namespace: string,
  name: string,
  opts: {
    expirationSeconds?: number;
    writeTo?: string;
    boundObjectRef?: { kind: "Pod" | "Secret" | "Node"; apiVersion: "v1"; name: string; uid: string };
  } = {},
): Promise<KubeConfig> {
  const core = admin.makeApiClient(CoreV1Api);
  const tr = await core.createNamespacedServiceAccountToken({
    name,
    namespace,
    body: {
      spec: {
        audiences: [],
        expirationSeconds: opts.expirationSeconds ?? 3600,
        ...(opts.boundObjectRef ? { boundObjectRef: opts.boundObjectRef } : {}),
      },
    },
  });
  const token = tr.status?.token;
  if (!token) throw new Error(`TokenRequest for ServiceAccount ${namespace}/${name} returned no token`);
  const cluster = admin.getCurrentCluster();
  if (!cluster) throw new Error("admin kubeconfig has no current cluster");
  const user = `system:serviceaccount:${namespace}:${name}`;
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [cluster],
    users: [{ name: user, token }],
    contexts: [{ name: user, cluster: cluster.name, user, namespace }],
    currentContext: user,
  });
  if (opts.writeTo) await writeFile(opts.writeTo, kc.exportConfig(), { mode: 0o600 });
  return kc;
}
