/**
 * Learning: turn repeated observations of a scope into a NetworkBaseline that allows exactly
 * what was seen: listeners with their bind addresses, each egress peer as a /32 or /128
 * ipBlock with its ports, each ingress client likewise, and thresholds from the observed
 * maxima with headroom. Pure: the CLI does the observing and writing.
 */
import { API_VERSION } from "../../api/v1alpha1/common.js";
import type {
  EgressRule,
  IngressRule,
  Listener,
  NetworkBaselineInput,
} from "../../api/v1alpha1/networkbaseline.js";
import { TCP_STATE_NAMES } from "../../api/v1alpha1/networkbaseline.js";
import type { Socket } from "../socket.js";
import { baselinePeers, classifyTraffic } from "../traffic.js";

export class Learner {
  readonly #listeners = new Map<string, Listener>();
  // peer address → "port/PROTO" set
  readonly #egress = new Map<string, Set<string>>();
  readonly #ingress = new Map<string, Set<string>>();
  readonly #maxStates = new Map<string, number>();
  #maxListeners = 0;
  observations = 0;

  observe(sockets: readonly Socket[]): void {
    this.observations++;
    const traffic = classifyTraffic(sockets);
    for (const use of traffic.listeners) {
      const l: Listener = { port: use.port, protocol: use.protocol, address: use.address };
      if (use.process) l.process = use.process;
      this.#listeners.set(`${use.protocol}|${use.address}|${use.port}|${use.process ?? ""}`, l);
    }
    for (const use of baselinePeers(traffic)) {
      const map = use.direction === "egress" ? this.#egress : this.#ingress;
      let ports = map.get(use.address);
      if (!ports) {
        ports = new Set();
        map.set(use.address, ports);
      }
      ports.add(`${use.port}/${use.transport}`);
    }
    for (const [state, n] of Object.entries(traffic.tcpStates))
      this.#maxStates.set(state, Math.max(this.#maxStates.get(state) ?? 0, n));
    this.#maxListeners = Math.max(this.#maxListeners, traffic.listening);
  }

  /** The baseline that allows exactly what was observed. */
  baseline(meta: {
    name: string;
    namespace: string;
    podSelector?: Record<string, string>;
  }): NetworkBaselineInput {
    const tcpStates: Record<string, number> = {};
    for (const [state, n] of [...this.#maxStates].sort()) {
      // LISTEN and ESTABLISHED have their own thresholds; states the API does not name
      // (NEW_SYN_RECV, unknown codes) cannot be written into a valid baseline.
      if (
        state === "LISTEN" ||
        state === "ESTABLISHED" ||
        !(TCP_STATE_NAMES as readonly string[]).includes(state)
      )
        continue;
      tcpStates[state] = headroom(n);
    }
    return {
      apiVersion: API_VERSION,
      kind: "NetworkBaseline",
      metadata: { name: meta.name, namespace: meta.namespace },
      spec: {
        podSelector: meta.podSelector ? { matchLabels: meta.podSelector } : {},
        mode: "Alert",
        listeners: [...this.#listeners.values()].sort(
          (a, b) => Number(a.port) - Number(b.port) || String(a.address).localeCompare(String(b.address)),
        ),
        egress: peerRules(this.#egress, "to") as EgressRule[],
        ingress: peerRules(this.#ingress, "from") as IngressRule[],
        thresholds: {
          ...(Object.keys(tcpStates).length ? { tcpStates } : {}),
          established: headroom(this.#maxStates.get("ESTABLISHED") ?? 0),
          listeners: headroom(this.#maxListeners),
        },
      },
    };
  }
}

/**
 * One rule per peer address (a /32 or /128 ipBlock) with the ports seen for it: exactly what
 * was observed, easy to review line by line. `peers` maps an address to "port/PROTO" strings.
 */
export function peerRules(peers: Map<string, Set<string>>, key: "to" | "from"): (EgressRule | IngressRule)[] {
  return [...peers.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([address, ports]) => ({
      [key]: [{ ipBlock: { cidr: `${address}/${address.includes(":") ? 128 : 32}` } }],
      ports: [...ports].sort(comparePorts).map((p) => {
        const [port, protocol] = p.split("/");
        return { port: Number(port), protocol: protocol as "TCP" | "UDP" };
      }),
    }));
}

function comparePorts(a: string, b: string): number {
  return Number.parseInt(a, 10) - Number.parseInt(b, 10) || a.localeCompare(b);
}

/** Room above the observed maximum so normal variation is not a violation: 1.5×, at least +10. */
export function headroom(max: number): number {
  return Math.max(max + 10, Math.ceil(max * 1.5));
}
