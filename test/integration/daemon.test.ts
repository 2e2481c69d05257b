import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { AddressInfo, connect, createServer, Server } from 'node:net'
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { startDaemon, RunningDaemon } from '../../scripts/lib/daemon-runner.js'
import { ApiClient } from '../../src/api/index.js'
import { compareTrees } from '../../scripts/lib/tree-compare.js'
import { expectCode, hf, makeTempDir, parseJson, PASSPHRASE, removeDir, writeRandom } from './helpers.js'

/**
 * Real daemons in separate processes on 127.0.0.1 (ports chosen by the OS): an owner and six hosts,
 * paired through the CLI, a backup at 4+2 over the hosts, a restore with two hosts stopped.
 */
const restoredPath = (target: string, source: string): string => join(target, source)

interface PeerRow { peerId: string, name: string, site: string, online: boolean, storesForMe: number, quotaGranted: number, quotaReceived: number }

describe('daemons on 127.0.0.1: pairing, backup to peers, restore with 2 hosts stopped', function () {
  this.timeout(180_000)
  let dir: string
  let owner: RunningDaemon
  const hosts: RunningDaemon[] = []
  const all = (): RunningDaemon[] => [owner, ...hosts].filter(d => d != null)
  let src: string

  before(async function () {
    dir = await makeTempDir('daemons')
    const names = ['owner', ...Array.from({ length: 6 }, (_, i) => `host${i + 1}`)]
    for (const [i, name] of names.entries()) {
      const args = ['init', '--home', join(dir, name), '--name', name, '--site', i === 0 ? 'home' : `site${1 + (i % 3)}`]
      if (i === 0) args.push('--pack-size', '256KiB')
      expectCode(await hf(join(dir, name), args), 0, `init ${name}`)
    }
    const started = await Promise.all(names.map(async name => await startDaemon(join(dir, name))))
    owner = started[0]
    hosts.push(...started.slice(1))
    src = join(dir, 'src')
    await mkdir(join(src, 'sub'), { recursive: true })
    await writeRandom(join(src, 'big.bin'), 3 * 1024 * 1024)
    for (let i = 0; i < 20; i++) await writeFile(join(src, 'sub', `f${i}.txt`), `file ${i}\n`.repeat(50 + i))
  })

  after(async function () {
    await Promise.all(all().map(async d => await d.stop()))
    await removeDir(dir)
  })

  it('pairs the owner with six hosts by invite codes; both sides list each other with name, site and quota', async function () {
    for (const h of hosts) {
      const inv = await hf(h.home, ['peers', 'invite', '--quota', '100MiB', '--name', 'owner'])
      expectCode(inv, 0, 'invite')
      const code = inv.stdout.trim()
      assert.match(code, /^hf1-/)
      expectCode(await hf(owner.home, ['peers', 'accept', code, '--quota', '50MiB']), 0, 'accept')
    }
    const mine = parseJson<PeerRow[]>(await hf(owner.home, ['peers', 'list', '--json']), 'owner list')
    assert.deepEqual(mine.map(p => p.peerId).sort(), hosts.map(h => h.peerId).sort())
    for (const p of mine) {
      assert.match(p.name, /^host\d$/)
      assert.match(p.site, /^site\d$/)
      assert.equal(p.quotaReceived, 100 * 1024 * 1024)
      assert.equal(p.quotaGranted, 50 * 1024 * 1024)
    }
    const theirs = parseJson<PeerRow[]>(await hf(hosts[0].home, ['peers', 'list', '--json']), 'host list')
    assert.deepEqual(theirs.map(p => [p.peerId, p.name, p.site, p.quotaGranted]), [[owner.peerId, 'owner', 'home', 100 * 1024 * 1024]])
  })

  it('an invite code works once: a second accept is refused and adds nobody', async function () {
    const inv = await hf(hosts[0].home, ['peers', 'invite'])
    expectCode(inv, 0, 'invite')
    const code = inv.stdout.trim()
    expectCode(await hf(hosts[1].home, ['peers', 'accept', code]), 0, 'first accept')
    const again = await hf(hosts[2].home, ['peers', 'accept', code])
    assert.notEqual(again.code, 0)
    assert.match(again.stderr, /invite|used|pair/i)
    const list = parseJson<PeerRow[]>(await hf(hosts[2].home, ['peers', 'list', '--json']), 'list')
    assert.ok(!list.some(p => p.peerId === hosts[0].peerId), 'the second acceptor was not added')
  })

  it('backs up through the owner daemon onto the hosts; each host keeps a share and reports it', async function () {
    const r = await hf(owner.home, ['backup', '--json', src])
    expectCode(r, 0, 'backup')
    const list = parseJson<PeerRow[]>(await hf(owner.home, ['peers', 'list', '--json']), 'list')
    const holding = list.filter(p => p.storesForMe > 0)
    assert.ok(holding.length >= 6, `every host holds shards: ${JSON.stringify(list.map(p => p.storesForMe))}`)
  })

  it('restores byte-identical with two hosts stopped', async function () {
    assert.equal(await hosts[0].stop(), 0, 'a daemon stops with exit 0 on SIGTERM')
    await assert.rejects(stat(join(hosts[0].home, 'daemon.json')), 'daemon.json is removed on stop')
    await hosts[3].stop()
    const target = join(dir, 'restore')
    expectCode(await hf(owner.home, ['restore', 'latest', '--target', target]), 0, 'restore')
    assert.deepEqual(await compareTrees(src, restoredPath(target, src)), [])
  })

  it('garbage on a host port and on the API does not stop a daemon', async function () {
    const host = hosts[1]
    const port = Number(/\/tcp\/(\d+)/.exec(host.addresses[0])?.[1])
    await new Promise<void>((resolve) => {
      const s = connect(port, '127.0.0.1', () => { s.write(Buffer.alloc(70_000, 0xff)); s.end() })
      // the daemon may keep a half-closed connection open: what matters is that it still answers after
      s.setTimeout(5000, () => s.destroy())
      s.on('error', () => resolve())
      s.on('close', () => resolve())
    })
    await new Promise<void>((resolve) => {
      const s = connect({ path: host.api }, () => { s.write(Buffer.alloc(70_000, 0xff)); s.end() })
      s.setTimeout(5000, () => s.destroy())
      s.on('error', () => resolve())
      s.on('close', () => resolve())
    })
    await assert.rejects(new ApiClient(host.api, 'wrong').call('/peers/list', {}), (err: Error) => err.name === 'UnauthorizedError', 'a wrong token is refused')
    expectCode(await hf(host.home, ['peers', 'list', '--json']), 0, 'the daemon still answers')
    const target = join(dir, 'restore-2')
    expectCode(await hf(owner.home, ['restore', 'latest', '--target', target]), 0, 'restore after the garbage')
    assert.deepEqual(await compareTrees(src, restoredPath(target, src)), [])
  })

  it('the daemon checks the passphrase of every command: a wrong one is refused (exit 12) after the right one opened the repository', async function () {
    expectCode(await hf(owner.home, ['snapshots']), 0, 'snapshots')
    const wrong = await hf(owner.home, ['snapshots'], { HOLDFAST_PASSPHRASE: 'not the passphrase' })
    expectCode(wrong, 12, 'snapshots with a wrong passphrase')
    assert.match(wrong.stderr, /passphrase/)
    const again = await hf(owner.home, ['snapshots', '--json'])
    expectCode(again, 0, 'snapshots with the right one again')
    assert.equal(parseJson<unknown[]>(again, 'snapshots').length, 1)
  })

  it('without its daemon, a peers repository says how to start it (exit 13)', async function () {
    await owner.stop()
    const r = await hf(owner.home, ['snapshots'])
    expectCode(r, 13, 'snapshots without daemon')
    assert.match(r.stderr, /holdfast daemon --home/)
  })

  it('a stale daemon.json naming a port or a socket where something else listens gets neither the token nor the passphrase', async function () {
    // the owner's daemon is stopped (previous test); its api.token is still in the home
    const token = (await readFile(join(owner.home, 'api.token'), 'utf8')).trim()
    const heard: string[] = []
    let connections = 0
    const listen = async (where: { port: number, host: string } | { path: string }): Promise<Server> => {
      const server = createServer(sock => { connections++; sock.on('data', d => heard.push(String(d))); sock.on('error', () => {}) })
      await new Promise<void>(resolve => server.listen(where, resolve))
      return server
    }
    const tcp = await listen({ port: 0, host: '127.0.0.1' })
    const sockPath = join(dir, 'fake.sock')
    const unix = await listen({ path: sockPath })
    // a process that listened at HOME/api.sock and died without cleaning up leaves a socket file behind
    const apiSock = join(owner.home, 'api.sock')
    const dead = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(apiSock)}, () => console.log('up'))`], { stdio: ['ignore', 'pipe', 'ignore'] })
    await new Promise<void>(resolve => dead.stdout.once('data', () => resolve()))
    dead.kill('SIGKILL')
    await new Promise(resolve => dead.once('exit', resolve))
    try {
      assert.ok((await stat(apiSock)).isSocket(), 'a stale socket file is left')
      for (const api of [`http://127.0.0.1:${(tcp.address() as AddressInfo).port}`, sockPath]) {
        // a live pid (this process) makes daemon.json look current
        await writeFile(join(owner.home, 'daemon.json'), JSON.stringify({ pid: process.pid, peerId: owner.peerId, addresses: [], api, started: new Date().toISOString() }))
        const r = await hf(owner.home, ['snapshots'])
        expectCode(r, 13, `snapshots with daemon.json naming ${api}`)
        assert.match(r.stderr, /no daemon runs for .*nothing listens at .*api\.sock/)
        const p = await hf(owner.home, ['peers', 'list'])
        expectCode(p, 13, 'peers list')
      }
      assert.equal(connections, 0, 'the CLI never connected to the address in daemon.json')
      assert.ok(!heard.some(h => h.includes(token) || h.includes(PASSPHRASE)), 'nothing secret was heard')

      // something live at HOME/api.sock is not taken over: the daemon refuses to start
      await rm(apiSock)
      const squatter = await listen({ path: apiSock })
      try {
        await assert.rejects(startDaemon(owner.home), /another daemon answers at .*api\.sock/)
      } finally {
        await new Promise(resolve => squatter.close(resolve))
      }
      assert.ok(!heard.some(h => h.includes(token) || h.includes(PASSPHRASE)), 'nothing secret was heard')

      // a stale socket file (nothing listens) is cleared by the next daemon, which then answers there
      const again = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(apiSock)}, () => console.log('up'))`], { stdio: ['ignore', 'pipe', 'ignore'] })
      await new Promise<void>(resolve => again.stdout.once('data', () => resolve()))
      again.kill('SIGKILL')
      await new Promise(resolve => again.once('exit', resolve))
      owner = await startDaemon(owner.home)
      assert.equal(owner.api, apiSock, 'daemon.json names the socket')
      assert.equal((await stat(apiSock)).mode & 0o777, 0o600, 'the socket is for its owner only')
      expectCode(await hf(owner.home, ['peers', 'list', '--json']), 0, 'peers list through the new socket')
      await owner.stop()
      await assert.rejects(stat(apiSock), 'the socket is removed on stop')
    } finally {
      await new Promise(resolve => tcp.close(resolve))
      await new Promise(resolve => unix.close(resolve))
    }
  })
})
