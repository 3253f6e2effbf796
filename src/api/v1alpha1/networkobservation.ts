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
  firstSeen: z.string(),
  lastSeen: z.string(),
  count: z.number().int().min(1).describe("Scans in which the peer was seen."),
});

export const NetworkObservationSpec = z.object({
  baseline: z.string().min(1).describe("Name of the NetworkBaseline in this namespace."),
  nodeName: z.string().min(1),
  windowStart: z.string(),
  windowEnd: z.string(),
  pods: z.array(z.string()).max(MAX_PEERS).describe("Pods (name) observed on this node."),
  listeners: z.array(Listener).max(MAX_OBSERVED_LISTENERS),
  egress: z.array(ObservedPeer).max(MAX_PEERS),
  ingress: z.array(ObservedPeer).max(MAX_PEERS),
  truncated: z.boolean().optional().describe("True when a list hit its bound and entries were dropped."),
  tcpStates: z
    .record(z.string(), z.number().int().min(0))
    .describe("Highest per-pod count of each TCP state in the window."),
  violations: z.record(z.string(), z.number().int().min(0)).describe("Violations by rule id in the window."),
});

export const NetworkObservation = z.object({
  apiVersion: z.literal(API_VERSION),
  kind: z.literal(KIND),
  metadata: ObjectMeta,
  spec: NetworkObservationSpec,
});

export type NetworkObservation = z.infer<typeof NetworkObservation>;
export type NetworkObservationSpec = z.infer<typeof NetworkObservationSpec>;
export type ObservedPeer = z.infer<typeof ObservedPeer>;
