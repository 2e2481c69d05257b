/**
 * HOLDFAST_NATIVE=0 in the environment: the process loads none of Holdfast's native addons (the erasure
 * kernel, the Merkle kernel) and runs their JavaScript counterparts, which give the same bytes. zstd is not
 * affected: it runs on node:zlib where Node has zstd, and needs the zstd-napi addon only where it has not.
 */
export const NATIVE_ENV = 'HOLDFAST_NATIVE'

/** Whether HOLDFAST_NATIVE=0 is set (the loaders read it once, when they load). */
export function nativeDisabled (): boolean {
  return process.env[NATIVE_ENV] === '0'
}
