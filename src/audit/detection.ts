/**
 * How many segments an audit must challenge to catch a host that lost part of a shard.
 *
 * A shard of L segments; the host lost a fraction f of them (any lost byte makes its whole segment
 * unprovable, so a host that lost a fraction f of the bytes has at least ceil(f L) bad segments: that is
 * the count used here, `lostSegments`). A challenge asks for s distinct segments chosen uniformly
 * (src/audit/challenge.ts). The host escapes only if none of them is lost:
 *
 *   P(miss) = C(L - fL, s) / C(L, s) = prod_{i<s} (L - fL - i) / (L - i)    (without replacement)
 *
 * Each factor is at most (L - fL) / L = 1 - f, so P(miss) <= (1 - f)^s, which is exactly the miss
 * probability of s draws with replacement. To catch the host with probability at least p it is enough
 * that (1 - f)^s <= 1 - p, that is
 *
 *   s >= ln(1 - p) / ln(1 - f)
 *
 * whatever L is. With L known the exact (hypergeometric) count can only be smaller, by a little for large
 * shards; for p = 99% on a 4 MiB shard with 1 KiB segments (L = 4096):
 *
 *   lost f   lost segments   with replacement (bound)   without replacement (exact)
 *     1%          41                  459                          434
 *     5%         205                   90                           89
 *    10%         410                   44                           44
 *    25%        1024                   17                           16
 *    50%        2048                    7                            7
 *
 * The count does not grow with the shard: 459 segments catch a 1% loss with 99% probability in a shard of
 * any size. Audits repeat, so a host that escapes one is caught by the next with the same odds: r audits of
 * s segments miss with probability at most (1 - f)^(r s).
 */
import { ConfigError } from '../errors.js'

function checkFraction (value: number, what: string, { zero, one }: { zero: boolean, one: boolean }): void {
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0 || value > 1 ||
    (!zero && value === 0) || (!one && value === 1)) {
    throw new ConfigError(`${what} must be in ${zero ? '[' : '('}0, 1${one ? ']' : ')'}, got ${String(value)}`)
  }
}

function checkLeaves (leaves: number): void {
  if (!Number.isSafeInteger(leaves) || leaves < 1) throw new ConfigError(`invalid segment count ${String(leaves)}`)
}

/** Segments a host that lost a fraction f of a shard of `leaves` segments cannot prove: ceil(f * leaves), at least 1 when f > 0. */
export function lostSegments (f: number, leaves: number): number {
  checkFraction(f, 'the lost fraction', { zero: true, one: true })
  checkLeaves(leaves)
  if (f === 0) return 0
  // The small tolerance keeps a product like 0.07 * 100 = 7.000000000000001 at 7.
  return Math.min(leaves, Math.max(1, Math.ceil(f * leaves - 1e-9)))
}

/**
 * Probability that a challenge of `s` distinct segments catches a host that lost a fraction `f` of the
 * shard: exact (hypergeometric) when the shard's segment count `leaves` is given (s is then capped at
 * leaves), else 1 - (1 - f)^s, the with-replacement value and a lower bound for any shard.
 */
export function detectionProbability (f: number, s: number, leaves?: number): number {
  checkFraction(f, 'the lost fraction', { zero: true, one: true })
  if (!Number.isSafeInteger(s) || s < 0) throw new ConfigError(`invalid segment count ${String(s)}`)
  if (leaves === undefined) return 1 - Math.pow(1 - f, s)
  const lost = lostSegments(f, leaves)
  let miss = 1
  for (let i = 0; i < Math.min(s, leaves) && miss > 0; i++) miss *= Math.max(0, leaves - lost - i) / (leaves - i)
  return 1 - miss
}

/**
 * The fewest challenged segments that catch a host that lost a fraction `f` (0 < f <= 1) with probability
 * at least `p` (0 <= p < 1): the exact hypergeometric count when `leaves` is given (never more than
 * leaves - lost + 1), else ceil(ln(1 - p) / ln(1 - f)), which suffices for a shard of any size.
 */
export function segmentsNeeded (f: number, p: number, leaves?: number): number {
  checkFraction(f, 'the lost fraction', { zero: false, one: true })
  checkFraction(p, 'the detection probability', { zero: true, one: false })
  if (p === 0) return 0
  if (leaves !== undefined) {
    const lost = lostSegments(f, leaves)
    let miss = 1
    let s = 0
    while (1 - miss < p) {
      miss *= Math.max(0, leaves - lost - s) / (leaves - s)
      s++
    }
    return s
  }
  if (f === 1) return 1
  let s = Math.ceil(Math.log(1 - p) / Math.log(1 - f))
  // Rounding in the logarithms can land one off where the quotient is an integer.
  while (s > 1 && detectionProbability(f, s - 1) >= p) s--
  while (detectionProbability(f, s) < p) s++
  return s
}
