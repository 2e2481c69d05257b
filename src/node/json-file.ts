import { readFile } from 'node:fs/promises'
import { ConfigError } from '../errors.js'
import { writeFileAtomic } from '../util/write-file-atomic.js'

/**
 * A JSON document in the home, replaced atomically on every write (writeFileAtomic, mode 0600).
 * Writes are chained, so two never interleave on the temp file and the last one wins.
 */
export class JsonFile {
  readonly path: string
  private writing: Promise<void> = Promise.resolve()

  constructor (path: string) {
    this.path = path
  }

  /** The parsed document, or undefined when the file does not exist; ConfigError if it is not JSON. */
  async read (): Promise<unknown> {
    let text: string
    try {
      text = await readFile(this.path, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw err
    }
    try { return JSON.parse(text) } catch (err) { throw new ConfigError(`${this.path} is not valid JSON`, { cause: err }) }
  }

  /** Serialises `value` now and writes it after any write already queued. */
  async write (value: unknown): Promise<void> {
    const text = JSON.stringify(value, null, 2) + '\n'
    const next = this.writing.catch(() => {}).then(async () => { await writeFileAtomic(this.path, text) })
    this.writing = next
    await next
  }

  /** Resolves once every write queued so far has finished. */
  async flush (): Promise<void> {
    await this.writing.catch(() => {})
  }
}
