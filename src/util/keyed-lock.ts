/**
 * Runs async sections one at a time per key (other keys run in parallel). Used by the host store to serialise the
 * read-modify-write of an owner's usage figures with the renames and deletes that change them, and by the
 * daemon to run one standby at a time per folder.
 */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<void>>()

  async run<T> (key: string, fn: () => Promise<T>): Promise<T> {
    const before = this.tails.get(key) ?? Promise.resolve()
    let release!: () => void
    const mine = new Promise<void>(resolve => { release = resolve })
    const tail = before.then(async () => await mine)
    this.tails.set(key, tail)
    await before
    try {
      return await fn()
    } finally {
      release()
      if (this.tails.get(key) === tail) this.tails.delete(key)
    }
  }
}
