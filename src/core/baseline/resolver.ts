/**
 * The resolver the CLI uses: it knows this host's addresses and nothing about a cluster, so
 * every rule that needs cluster knowledge evaluates to "unknown" (CannotEvaluateOffline).
 */
import { isLoopback } from "../traffic.js";
import type { IdentityResolver } from "./types.js";

export function offlineResolver(hostAddresses: Iterable<string> = []): IdentityResolver {
  const host = new Set(hostAddresses);
  return { isHost: (a) => isLoopback(a) || host.has(a) };
}
