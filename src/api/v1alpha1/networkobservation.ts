/**
 * NetworkObservation: what one node saw for one baseline in the last window. Written by the
 * agent (one per baseline × node), aggregated by the operator. Bounded: at most
 * MAX_PEERS entries per list, so a noisy workload cannot grow an object past etcd's limits.
 */
import { z } from "zod";
import { API_VERSION, ObjectMeta, Protocol } from "./common.js";
import { Listener, Peer } from "./networkbaseline.js";

export const KIND = "NetworkObservation";
export const PLURAL = "networkobservations";
/** Bounds per list, so a noisy workload cannot grow the object. */
export const MAX_PEERS = 256;
export const MAX_OBSERVED_LISTENERS = 64;

export const ObservedPeer = z.object({
  address: z.string().describe("Peer IP (or masked form)."),
  port: z.number().int().min(0).max(65535).describe("Egress: the remote port; ingress: our port."),
  protocol: Protocol,
  identity: z
    .string()
    .max(256)
    .optional()
    .describe('For people: what the peer is, e.g. "deployment shop/db", "service shop/db".'),
  peer: Peer.optional().describe(
    "Who the peer is, as a baseline names it (a workload's podSelector, a Service, an entity); absent when only the address is known. Peers are merged by it.",
  ),
  firstSeen: z.string().describe("RFC 3339 time the peer was first seen in the window."),
  lastSeen: z.string().describe("RFC 3339 time the peer was last seen in the window."),
  count: z.number().int().min(1).describe("Scans in which the peer was seen."),
});

/**
 * Counts keyed by name for one window, replaced whole by every write. Atomic for server-side
 * apply: a CRD map is otherwise granular, its keys owned one by one, and an apply of `{}`
 * after `{UnexpectedEgress: 2}` removes the no longer applied key and leaves the map `null`
 * (structured-merge-diff's RemoveItems), which the non-nullable `type: object` rejects with
 * HTTP 422. The agent is the map's only writer, so the whole map is one field.
 */
const WindowCounts = z
  .record(z.string(), z.number().int().min(0))
  .meta({ "x-kubernetes-map-type": "atomic" });

export const NetworkObservationSpec = z.object({
  baseline: z.string().min(1).describe("Name of the NetworkBaseline in this namespace."),
  nodeName: z.string().min(1).describe("The node whose agent wrote this observation."),
  windowStart: z.string().describe("RFC 3339 start of the window the observation covers."),
  windowEnd: z.string().describe("RFC 3339 end of the window the observation covers."),
  pods: z.array(z.string()).max(MAX_PEERS).describe("Pods (name) observed on this node."),
  listeners: z
    .array(Listener)
    .max(MAX_OBSERVED_LISTENERS)
    .describe("Sockets the pods listened on in the window."),
  egress: z.array(ObservedPeer).max(MAX_PEERS).describe("Peers the pods called in the window."),
  ingress: z.array(ObservedPeer).max(MAX_PEERS).describe("Peers that called the pods in the window."),
  truncated: z.boolean().optional().describe("True when a list hit its bound and entries were dropped."),
  tcpStates: WindowCounts.describe("Highest per-pod count of each TCP state in the window."),
  violations: WindowCounts.describe("Violations by rule id in the window."),
});

export const NetworkObservation = z
  .object({
    apiVersion: z.literal(API_VERSION),
    kind: z.literal(KIND),
    metadata: ObjectMeta,
    spec: NetworkObservationSpec.describe("What one node saw of the baseline's pods in one window."),
  })
  .describe(
    "NetworkObservation is what one node's socklens agent saw of one NetworkBaseline's pods in the last window: pods, listeners, peers, TCP state counts and violations. The agent writes it; the operator aggregates them into the baseline's status. It is owned by its NetworkBaseline and goes away with it.",
  );

export type NetworkObservation = z.infer<typeof NetworkObservation>;
export type NetworkObservationSpec = z.infer<typeof NetworkObservationSpec>;
export type ObservedPeer = z.infer<typeof ObservedPeer>;
