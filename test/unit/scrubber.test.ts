import assert from 'node:assert/strict'
import { OBJECT_KINDS, type ObjectKind } from '../../src/store/shard-store.js'
import { Scrubber, type ScrubPass } from '../../src/host/scrubber.js'

/** An in-memory stand-in for the host store's three scrub calls: objects of a given size, some damaged. */
function fakeStore (objects: Array<{ owner: string, kind: ObjectKind, name: string, bytes: number, damaged?: boolean }>): { store: ConstructorParameters<typeof Scrubber>[0]['store'], scrubbed: string[] } {
  const scrubbed: string[] = []
  return {
    scrubbed,
    store: {
      owners: () => [...new Set(objects.map(o => o.owner))],
      async * list (owner: string, kind: ObjectKind) {
        for (const o of objects) if (o.owner === owner && o.kind === kind) yield o.name
      },
      async scrubObject (owner: string, kind: ObjectKind, name: string) {
        const o = objects.find(x => x.owner === owner && x.kind === kind && x.name === name)
        if (o == null) return { state: 'absent' as const, bytes: 0 }
        scrubbed.push(`${owner}/${kind}/${name}`)
        return { state: o.damaged === true ? 'damaged' as const : 'good' as const, bytes: o.bytes }
      }
    }
  }
}

describe('host/scrubber', () => {
  const kind = OBJECT_KINDS[0]

  it('a pass re-hashes every owner\'s objects and reports the damaged ones', async () => {
    const { store, scrubbed } = fakeStore([
      { owner: 'a', kind, name: 'x', bytes: 10 },
      { owner: 'a', kind, name: 'y', bytes: 20, damaged: true },
      { owner: 'b', kind, name: 'z', bytes: 30 }
    ])
    const pass = await new Scrubber({ store, periodMs: 60_000, bytesPerSecond: 1e9 }).pass()
    assert.equal(pass.objects, 3)
    assert.equal(pass.bytes, 60)
    assert.deepEqual(pass.damaged, [{ owner: 'a', kind, name: 'y' }])
    assert.deepEqual(scrubbed.sort(), ['a/' + kind + '/x', 'a/' + kind + '/y', 'b/' + kind + '/z'])
  })

  it('never reads faster than bytesPerSecond: 5 x 100 kB at 1 MB/s takes at least 0.45 s', async () => {
    const { store } = fakeStore(Array.from({ length: 5 }, (_, i) => ({ owner: 'a', kind, name: `o${i}`, bytes: 100_000 })))
    const started = Date.now()
    const pass = await new Scrubber({ store, periodMs: 60_000, bytesPerSecond: 1_000_000 }).pass()
    assert.equal(pass.bytes, 500_000)
    assert.ok(Date.now() - started >= 450, `took ${Date.now() - started} ms`)
  })

  it('runs a pass every period once started; stop() aborts a pass under way and no pass follows', async () => {
    const { store, scrubbed } = fakeStore(Array.from({ length: 100 }, (_, i) => ({ owner: 'a', kind, name: `o${i}`, bytes: 100_000 })))
    const passes: ScrubPass[] = []
    const errors: Error[] = []
    // 1 MB/s: a whole pass would take 10 s
    const s = new Scrubber({ store, periodMs: 20, bytesPerSecond: 1_000_000, onPass: p => passes.push(p), onError: e => errors.push(e) })
    s.start()
    s.start() // harmless
    await new Promise(resolve => setTimeout(resolve, 300))
    assert.ok(scrubbed.length > 0, 'the first pass started')
    const stopped = Date.now()
    await s.stop()
    assert.ok(Date.now() - stopped < 1000, 'stop did not wait for the pass to finish')
    const seen = scrubbed.length
    assert.ok(seen < 100)
    await new Promise(resolve => setTimeout(resolve, 200))
    assert.equal(scrubbed.length, seen, 'nothing scrubbed after stop')
    assert.deepEqual(passes, [], 'an aborted pass is not reported as a pass')
    assert.deepEqual(errors, [], 'nor as an error')
    await s.stop() // twice is harmless
  })

  it('stop before start is harmless; a finished pass is reported through onPass', async () => {
    await new Scrubber({ store: fakeStore([]).store, periodMs: 10, bytesPerSecond: 1 }).stop()
    const { store } = fakeStore([{ owner: 'a', kind, name: 'x', bytes: 1, damaged: true }])
    const done = new Promise<ScrubPass>(resolve => {
      const s = new Scrubber({ store, periodMs: 10, bytesPerSecond: 1e9, onPass: p => { void s.stop(); resolve(p) } })
      s.start()
    })
    const pass = await done
    assert.equal(pass.damaged.length, 1)
  })
})
