/**
 * One connection pool per API server, as client-go keeps one transport per rest config.
 * `@kubernetes/client-node` (2.x) builds a new undici Agent for every request it sends
 * (`KubeConfig.createDispatcher`, called from `applySecurityAuthentication`), so every list,
 * watch, status PATCH and Event opens its own TCP connection, loads the CA, certificate and
 * key into a new TLS context and does a full handshake. A CPU profile of the operator's
 * restart (bench/README.md, "Cluster scale") put most of its CPU there, not in its own code;
 * the API server pays for each handshake too.
 *
 * `reuseConnections` makes a KubeConfig hand out the same dispatcher while the connection
 * settings stay the same. The settings are read again on every request (client-node re-reads
 * the certificate files each time), so a rotated client certificate or CA gets a new
 * dispatcher, and the old one is closed once its requests are done. Bearer tokens travel in
 * headers, not in the dispatcher, and are unaffected.
 */
import type { KubeConfig } from "@kubernetes/client-node";

type Dispatcher = { close(): Promise<void> } | undefined;
type CreateDispatcher = (cluster: unknown, agentOptions: Record<string, unknown>) => Dispatcher;

/** The connection settings client-node passes on (config.js createDispatcherOptions), compared by value. */
const SETTINGS = ["ca", "cert", "key", "pfx", "passphrase", "rejectUnauthorized", "servername"] as const;

function sameValue(a: unknown, b: unknown): boolean {
  if (Buffer.isBuffer(a) && Buffer.isBuffer(b)) return a.equals(b);
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((x, i) => sameValue(x, b[i]));
  return a === b;
}

interface Entry {
  server: unknown;
  proxyUrl: unknown;
  options: Record<string, unknown>;
  dispatcher: Dispatcher;
}

const patched = new WeakSet<KubeConfig>();

/**
 * Reuse one dispatcher (and so its keep-alive or HTTP/2 connections) for every request this
 * KubeConfig sends. Returns whether it could: a client-node without `createDispatcher` (a
 * future release that fixed this itself, or changed it) is left alone and works as before.
 */
export function reuseConnections(kc: KubeConfig): boolean {
  const target = kc as unknown as { createDispatcher?: CreateDispatcher };
  const create = target.createDispatcher;
  if (typeof create !== "function") return false;
  if (patched.has(kc)) return true;
  patched.add(kc);
  let last: Entry | undefined;
  target.createDispatcher = function (cluster, agentOptions) {
    const c = (cluster ?? {}) as { server?: unknown; proxyUrl?: unknown };
    if (
      last &&
      last.server === c.server &&
      last.proxyUrl === c.proxyUrl &&
      SETTINGS.every((k) => sameValue(last?.options[k], agentOptions[k]))
    )
      return last.dispatcher;
    const dispatcher = create.call(this, cluster, agentOptions);
    // close() lets requests in flight (an open watch included) finish; nothing new goes there.
    void last?.dispatcher?.close().catch(() => undefined);
    last = { server: c.server, proxyUrl: c.proxyUrl, options: { ...agentOptions }, dispatcher };
    return dispatcher;
  };
  return true;
}
