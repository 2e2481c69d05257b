import type { Repository } from '../repository/repository.js'
import type { PackDescriptor } from '../format/format.js'
import type { SealedBlob } from '../format/pack.js'

/**
 * Collects sealed blobs into packs of about the repository's pack size and uploads each as it fills,
 * with at most `maxUploads` packs in flight: `add` waits when the uploads fall behind, which is the
 * backpressure that bounds a session's memory. An upload failure is raised by the next add or flush.
 */
export class Packer {
  private blobs: SealedBlob[] = []
  private size = 0
  private readonly uploads = new Set<Promise<void>>()
  private failure?: Error

  constructor (
    private readonly repo: Repository,
    private readonly onStored: (desc: PackDescriptor) => Promise<void>,
    private readonly signal?: AbortSignal,
    private readonly maxUploads = 2
  ) {}

  async add (blob: SealedBlob): Promise<void> {
    if (this.failure != null) throw this.failure
    this.blobs.push(blob)
    this.size += blob.sealed.length
    if (this.size >= this.repo.config.packSize) await this.cut()
  }

  private async cut (): Promise<void> {
    const blobs = this.blobs
    this.blobs = []
    this.size = 0
    while (this.uploads.size >= this.maxUploads) await Promise.race(this.uploads)
    if (this.failure != null) throw this.failure
    const upload = (async () => {
      const desc = await this.repo.storePack(blobs, { signal: this.signal })
      await this.onStored(desc)
    })()
    const tracked = upload.catch(err => { this.failure ??= err }).finally(() => this.uploads.delete(tracked))
    this.uploads.add(tracked)
  }

  /** Uploads what is left and waits for every upload; throws the first failure. */
  async flush (): Promise<void> {
    if (this.blobs.length > 0 && this.failure == null) await this.cut()
    while (this.uploads.size > 0) await Promise.race(this.uploads)
    if (this.failure != null) throw this.failure
  }

  /** Waits for uploads already started, ignoring their outcome (used when a session fails). */
  async settle (): Promise<void> {
    this.blobs = []
    await Promise.allSettled([...this.uploads])
  }
}
