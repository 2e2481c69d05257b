import assert from 'node:assert/strict'
import { commandSource } from '../../src/backup/command-source.js'

async function readAll (input: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = []
  for await (const b of input) parts.push(Buffer.from(b))
  return Buffer.concat(parts)
}

describe('backup/commandSource', () => {
  it('keeps the output of a command that exits before it is read', async () => {
    const s = commandSource(['sh', '-c', 'seq 1 20000'], { name: 'n' })
    await new Promise(resolve => setTimeout(resolve, 300))
    const out = await readAll(s.input)
    await s.ended!()
    assert.equal(out.toString(), Array.from({ length: 20000 }, (_, i) => `${i + 1}\n`).join(''))
  })

  it('a non-zero exit, a kill and a program that cannot start are SourceCommandFailedError; stderr lines are passed on', async () => {
    const lines: string[] = []
    const failing = commandSource(['sh', '-c', 'echo out; echo one >&2; echo two >&2; exit 4'], { name: 'f', onStderr: l => lines.push(l) })
    assert.equal((await readAll(failing.input)).toString(), 'out\n')
    await assert.rejects(failing.ended!(), (err: Error) => err.name === 'SourceCommandFailedError' && /exited with status 4 \(two\)/.test(err.message))
    assert.deepEqual(lines, ['one', 'two'])
    const killed = commandSource(['sh', '-c', 'kill -TERM $$'], { name: 'k' })
    await readAll(killed.input)
    await assert.rejects(killed.ended!(), /killed by SIGTERM/)
    const missing = commandSource(['/nonexistent/program'], { name: 'm' })
    await readAll(missing.input)
    await assert.rejects(missing.ended!(), (err: Error) => err.name === 'SourceCommandFailedError' && /could not be started/.test(err.message))
  })

  it('close() stops a command whose output is not read to its end', async () => {
    const s = commandSource(['sh', '-c', 'yes'], { name: 'y' })
    const it = s.input[Symbol.asyncIterator]()
    await it.next()
    s.close!()
    await assert.rejects(s.ended!(), /killed by SIGTERM/)
  })
})
