/**
 * Threshold formulas (docs/api.md, "Thresholds"). Counts that matter are about exhaustion
 * and persistence, not about 1.5× what a short window happened to see:
 *
 * - CLOSE_WAIT and SYN_SENT have defaults even when learning never saw them: a CLOSE_WAIT
 *   pile-up is a leak (the application does not close what its peers closed), a SYN_SENT
 *   pile-up is peers not answering. `0` in a baseline disables a state's check.
 * - TIME_WAIT is judged per destination (address, port) against the namespace's ephemeral
 *   port range, the real limit: one 4-tuple per local port, so a destination runs out when
 *   its TIME_WAIT sockets fill the range. Half the range is the finding; a burst of a few
 *   hundred is not.
 * - ESTABLISHED is learned with generous room: max(4 × the maximum seen, maximum + 100), so a
 *   pool that grows from 5 to 40 connections to a known peer is not a finding.
 */

export const DEFAULT_STATE_LIMITS: Readonly<Record<string, number>> = { CLOSE_WAIT: 20, SYN_SENT: 20 };

/** Linux's default net.ipv4.ip_local_port_range, which every new network namespace starts with. */
export const DEFAULT_EPHEMERAL_RANGE: readonly [number, number] = [32768, 60999];

/** A destination is judged exhausted-at-risk when its TIME_WAIT sockets fill this share of the range. */
export const TIME_WAIT_SHARE = 0.5;

export function timeWaitLimit(range: readonly [number, number] = DEFAULT_EPHEMERAL_RANGE): number {
  return Math.floor((range[1] - range[0] + 1) * TIME_WAIT_SHARE);
}

/** A learned ceiling for ESTABLISHED: room for pools that grow, still a ceiling for leaks. */
export function establishedCeiling(max: number): number {
  return Math.max(4 * max, max + 100);
}

/** Room above the observed maximum for counts that vary little (listening sockets): 1.5×, at least +10. */
export function headroom(max: number): number {
  return Math.max(max + 10, Math.ceil(max * 1.5));
}

/** The limit that applies to a TCP state: the baseline's, else the default; undefined = not checked. */
export function stateLimit(
  state: string,
  configured: Readonly<Record<string, number | undefined>> | undefined,
): number | undefined {
  const explicit = configured?.[state];
  const limit = explicit ?? DEFAULT_STATE_LIMITS[state];
  return limit === 0 ? undefined : limit;
}
