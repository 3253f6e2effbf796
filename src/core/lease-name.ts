/**
 * The agent's node Lease is named `socklens-agent-<node>` (src/kube/node-lease.ts renews it,
 * src/operator/liveness.ts reads it, the chart's admission policy checks it). Here, pure, so
 * both sides and their tests share the one spelling without loading the Kubernetes client.
 */
export const NODE_LEASE_PREFIX = "socklens-agent-";

export function nodeLeaseName(nodeName: string): string {
  // A Lease name is a DNS subdomain (≤ 253); a node name already is one. A longer name is
  // cut, which the chart's admission policy then refuses (docs/agent.md).
  return `${NODE_LEASE_PREFIX}${nodeName}`.slice(0, 253);
}
