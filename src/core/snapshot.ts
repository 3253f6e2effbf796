/** The snapshot file format (`socklens snapshot`) and its default file name. */
import type { Socket } from "./socket.js";

export const SNAPSHOT_KIND = "SocklensSnapshot";
export const SNAPSHOT_VERSION = "v1";

export interface SnapshotMetadata {
  hostname: string;
  kernel: string;
  bootId: string;
  /** UTC, ISO 8601. */
  timestamp: string;
  collectorVersion: string;
  /** Who ran it: user name (uid). */
  user: string;
  role: string;
}

export interface Snapshot {
  kind: typeof SNAPSHOT_KIND;
  version: typeof SNAPSHOT_VERSION;
  metadata: SnapshotMetadata;
  namespaces: { inode: number; name?: string; processes: number }[];
  sockets: Socket[];
}

/** `host-role-timestamp-socklens.json`, timestamp in compact UTC so names sort by time. */
export function defaultSnapshotName(meta: Pick<SnapshotMetadata, "hostname" | "role" | "timestamp">): string {
  const ts = meta.timestamp
    .replace(/\.\d+Z$/, "Z")
    .replaceAll("-", "")
    .replaceAll(":", "");
  const safe = (s: string) => s.replace(/[^A-Za-z0-9._]+/g, "_");
  return `${safe(meta.hostname)}-${safe(meta.role)}-${ts}-socklens.json`;
}

/** A structural check of a parsed snapshot; returns what is wrong or null. */
export function snapshotProblem(value: unknown): string | null {
  if (typeof value !== "object" || value === null) return "not a JSON object";
  const v = value as Partial<Snapshot>;
  if (v.kind !== SNAPSHOT_KIND) return `"kind" is ${JSON.stringify(v.kind)}, expected "${SNAPSHOT_KIND}"`;
  if (v.version !== SNAPSHOT_VERSION)
    return `"version" is ${JSON.stringify(v.version)}, expected "${SNAPSHOT_VERSION}"`;
  if (!Array.isArray(v.sockets)) return `"sockets" is not an array`;
  for (const [i, s] of v.sockets.entries()) {
    if (typeof s !== "object" || s === null) return `sockets[${i}] is not an object`;
    for (const field of ["protocol", "localAddress", "state"] as const) {
      if (typeof s[field] !== "string") return `sockets[${i}].${field} is missing or not a string`;
    }
    for (const field of ["localPort", "remotePort", "netns"] as const) {
      if (typeof s[field] !== "number") return `sockets[${i}].${field} is missing or not a number`;
    }
  }
  return null;
}
