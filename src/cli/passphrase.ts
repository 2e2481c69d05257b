import { readFile } from 'node:fs/promises'
import { newKdfParams } from '../crypto/kdf.js'
import { UsageError } from '../errors.js'
import { parseSize } from '../util/format.js'
import { unreadableReason } from '../util/unreadable-reason.js'

/**
 * Where the passphrase comes from, in order: HOLDFAST_PASSPHRASE, --passphrase-file, a prompt on a
 * terminal (not echoed). Without any of them the command stops with a usage error rather than hang.
 */
export async function getPassphrase (opts: { file?: string, confirm?: boolean, env?: NodeJS.ProcessEnv }): Promise<string> {
  const env = opts.env ?? process.env
  if (env.HOLDFAST_PASSPHRASE != null && env.HOLDFAST_PASSPHRASE !== '') return env.HOLDFAST_PASSPHRASE
  if (opts.file != null) return await readPassphraseFile(opts.file)
  if (process.stdin.isTTY !== true) throw new UsageError('no passphrase: set HOLDFAST_PASSPHRASE, pass --passphrase-file FILE, or run on a terminal')
  const first = await prompt('Passphrase: ')
  if (opts.confirm === true) {
    const second = await prompt('Passphrase again: ')
    if (first !== second) throw new UsageError('the passphrases do not match')
  }
  if (first === '') throw new UsageError('the passphrase must not be empty')
  return first
}

/**
 * The new passphrase of `key add` and `key passwd`: HOLDFAST_NEW_PASSPHRASE, --new-passphrase-file, or
 * asked twice on a terminal.
 */
export async function getNewPassphrase (opts: { file?: string, env?: NodeJS.ProcessEnv }): Promise<string> {
  const env = opts.env ?? process.env
  if (env.HOLDFAST_NEW_PASSPHRASE != null && env.HOLDFAST_NEW_PASSPHRASE !== '') return env.HOLDFAST_NEW_PASSPHRASE
  if (opts.file != null) return await readPassphraseFile(opts.file)
  if (process.stdin.isTTY !== true) throw new UsageError('no new passphrase: set HOLDFAST_NEW_PASSPHRASE, pass --new-passphrase-file FILE, or run on a terminal')
  const first = await prompt('New passphrase: ')
  if (await prompt('New passphrase again: ') !== first) throw new UsageError('the passphrases do not match')
  if (first === '') throw new UsageError('the passphrase must not be empty')
  return first
}

/** --kdf-memory SIZE (or HOLDFAST_KDF_MEMORY): the memory of a new passphrase's key derivation, checked; undefined for the default. */
export function kdfMemoryOption (ctx: { values: Record<string, unknown> }): number | undefined {
  const text = (ctx.values['kdf-memory'] as string | undefined) ?? process.env.HOLDFAST_KDF_MEMORY
  if (text == null || text === '') return undefined
  try {
    const memory = parseSize(text)
    newKdfParams(memory)
    return memory
  } catch (err) { throw new UsageError(`--kdf-memory: ${(err as Error).message}`) }
}

/** A passphrase file's first line (its line end dropped); an empty one is refused. */
async function readPassphraseFile (file: string): Promise<string> {
  let text: string
  try {
    text = (await readFile(file, 'utf8')).replace(/\r?\n$/, '')
  } catch (err) {
    throw new UsageError(`passphrase file ${file} cannot be read: ${unreadableReason(err)}`, { cause: err })
  }
  if (text === '') throw new UsageError(`passphrase file ${file} is empty`)
  return text
}

/** Asks on the terminal (stderr) and reads one line from it without echo. */
export async function prompt (question: string): Promise<string> {
  process.stderr.write(question)
  const stdin = process.stdin
  stdin.setRawMode(true)
  stdin.resume()
  return await new Promise((resolve, reject) => {
    let text = ''
    const onData = (buf: Buffer): void => {
      for (const ch of buf.toString('utf8')) {
        if (ch === '\r' || ch === '\n') { done(); resolve(text); return }
        if (ch === '\u0003') { done(); reject(new UsageError('cancelled')); return }
        if (ch === '\u007f' || ch === '\b') text = text.slice(0, -1)
        else text += ch
      }
    }
    const done = (): void => {
      stdin.off('data', onData)
      stdin.setRawMode(false)
      stdin.pause()
      process.stderr.write('\n')
    }
    stdin.on('data', onData)
  })
}
