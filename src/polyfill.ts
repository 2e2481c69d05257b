/**
 * Runtime polyfills, imported first by every entry point (CLI, scripts, test setup).
 *
 * libp2p 3 calls `Promise.withResolvers`, which Node 20 lacks (Node >= 22 has it).
 */
interface Resolvers<T> {
  promise: Promise<T>
  resolve: (value: T | PromiseLike<T>) => void
  reject: (reason?: unknown) => void
}

const P = Promise as unknown as { withResolvers?: <T>() => Resolvers<T> }
if (typeof P.withResolvers !== 'function') {
  P.withResolvers = function withResolvers<T> (): Resolvers<T> {
    let resolve!: Resolvers<T>['resolve']
    let reject!: Resolvers<T>['reject']
    const promise = new Promise<T>((res, rej) => { resolve = res; reject = rej })
    return { promise, resolve, reject }
  }
}

export {}

// Shard and file I/O, erasure coding and scrypt all run in libuv's pool; its default of 4 threads is
// too few to keep both cores and the disks busy. Only effective before the pool's first use.
process.env.UV_THREADPOOL_SIZE ??= '16'
