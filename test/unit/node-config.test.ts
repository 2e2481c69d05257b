import assert from 'node:assert/strict'
import { readFile, rm, writeFile } from 'node:fs/promises'
import { DEFAULT_NODE_CONFIG, DEFAULT_PORT, loadNodeConfig, nodeConfigPath, parseNodeConfig, peerIdOfRef } from '../../src/config/index.js'
import { tempHome } from './holdfast-node-helpers.js'
import { healthSettings } from '../../src/daemon/maintenance-scheduler.js'

const PEER = '12D3KooWHs313QQiuqKCQFPJ3oDDbkK51BqTCzZU5DV29mYbDzpH'
const PEER2 = '12D3KooWDJxhWxcY11hnoTcPKYTwQJJZnuPmUJLbZMpiVSRA5bzD'
const repoFile = (name: string): URL => new URL(`../../../${name}`, import.meta.url)

function rejectsWith (overrides: unknown, pattern: RegExp): void {
  assert.throws(() => parseNodeConfig(overrides), (err: Error) => {
    assert.equal(err.name, 'ConfigError')
    assert.match(err.message, pattern)
    return true
  })
}

describe('config/node config', () => {
  it('defaults: documented port, API on a random port, mDNS on, UPnP off', () => {
    const cfg = parseNodeConfig(undefined)
    assert.deepEqual(cfg.listen, [`/ip4/0.0.0.0/tcp/${DEFAULT_PORT}`])
    assert.equal(DEFAULT_PORT, 4801)
    assert.equal(cfg.apiPort, 0)
    assert.equal(cfg.mdns, true)
    assert.equal(cfg.upnp, false)
    assert.equal(cfg.inviteExpirySeconds, 86400)
    assert.equal(cfg.transfers, 8)
    assert.deepEqual(parseNodeConfig({}), cfg)
  })

  it('config/default.json equals the built-in defaults, and config/README.md documents every key', async () => {
    const json = JSON.parse(await readFile(repoFile('config/default.json'), 'utf8'))
    assert.deepEqual(json, { ...DEFAULT_NODE_CONFIG })
    assert.deepEqual(parseNodeConfig(json), parseNodeConfig(undefined))
    const readme = await readFile(repoFile('config/README.md'), 'utf8')
    // every leaf key, at any depth (backup.notify.smtp.host)
    const leaves = (prefix: string, obj: object): string[] => Object.entries(obj).flatMap(([k, v]) =>
      typeof v === 'object' && v !== null && !Array.isArray(v) ? leaves(`${prefix}${k}.`, v) : [`${prefix}${k}`])
    const keys = leaves('', DEFAULT_NODE_CONFIG)
    for (const k of keys) assert.ok(readme.includes(`\`${k}\``), `README documents ${k}`)
  })

  it('merges overrides over the defaults, nested objects key by key', () => {
    const cfg = parseNodeConfig({ relay: { server: true }, reconnect: { maxMs: 5000 }, mdns: false })
    assert.deepEqual(cfg.relay, { server: true, client: DEFAULT_NODE_CONFIG.relay.client, reserve: [] })
    assert.deepEqual(cfg.reconnect, { minMs: DEFAULT_NODE_CONFIG.reconnect.minMs, maxMs: 5000 })
    assert.equal(cfg.mdns, false)
    // the defaults themselves are untouched
    assert.equal(DEFAULT_NODE_CONFIG.relay.server, false)
    assert.equal(parseNodeConfig(undefined).mdns, true)
  })

  it('normalises valid multiaddrs and accepts bootstrap addresses with a peer id', () => {
    const cfg = parseNodeConfig({ listen: ['/ip4/127.0.0.1/tcp/0', '/ip6/::/tcp/4801'], bootstrap: [`/ip4/10.0.0.2/tcp/4801/p2p/${PEER}`] })
    assert.deepEqual(cfg.listen, ['/ip4/127.0.0.1/tcp/0', '/ip6/::/tcp/4801'])
    assert.equal(cfg.bootstrap.length, 1)
  })

  it('relay.reserve: peer ids or multiaddrs ending in /p2p/<peer id>, each peer once; needs relay.client', () => {
    assert.deepEqual(parseNodeConfig(undefined).relay.reserve, [])
    const cfg = parseNodeConfig({ relay: { reserve: [PEER, `/ip4/10.0.0.2/tcp/4801/p2p/${PEER2}`] } })
    assert.deepEqual(cfg.relay.reserve, [PEER, `/ip4/10.0.0.2/tcp/4801/p2p/${PEER2}`])
    assert.deepEqual(cfg.relay.reserve.map(peerIdOfRef), [PEER, PEER2])
    rejectsWith({ relay: { reserve: PEER } }, /relay\.reserve must be an array/)
    rejectsWith({ relay: { reserve: [1] } }, /relay\.reserve\[0\] must be a peer id or a multiaddr string/)
    rejectsWith({ relay: { reserve: ['nonsense'] } }, /relay\.reserve\[0\] names no valid peer id/)
    rejectsWith({ relay: { reserve: ['/ip4/10.0.0.2/tcp/4801'] } }, /relay\.reserve\[0\] must end in \/p2p\/<peer id>/)
    rejectsWith({ relay: { reserve: [`/p2p/${PEER}/p2p-circuit`] } }, /relay\.reserve\[0\] must end in \/p2p\/<peer id>/)
    rejectsWith({ relay: { reserve: [PEER, `/ip4/10.0.0.2/tcp/4801/p2p/${PEER}`] } }, /relay\.reserve\[1\] names peer \S+ a second time/)
    rejectsWith({ relay: { client: false, reserve: [PEER] } }, /relay\.reserve needs relay\.client/)
  })

  it('rejects unknown keys, naming them', () => {
    rejectsWith({ lisen: [] }, /unknown key "lisen"/)
    rejectsWith({ relay: { sever: true } }, /relay\.sever is not a known key/)
    rejectsWith({ reconnect: { min: 1 } }, /reconnect\.min is not a known key/)
  })

  it('rejects bad types and out-of-range values, naming the key', () => {
    rejectsWith([], /must be a JSON object/)
    rejectsWith(null, /must be a JSON object/)
    rejectsWith({ mdns: 'yes' }, /mdns must be true or false/)
    rejectsWith({ listen: '/ip4/0.0.0.0/tcp/1' }, /listen must be an array/)
    rejectsWith({ listen: ['not an address'] }, /listen\[0\] is not a valid multiaddr/)
    rejectsWith({ announce: [42] }, /announce\[0\] must be a multiaddr string/)
    rejectsWith({ bootstrap: ['/ip4/10.0.0.2/tcp/4801'] }, /bootstrap\[0\] must end in \/p2p\/<peer id>/)
    rejectsWith({ apiPort: 70000 }, /apiPort must be an integer from 0 to 65535/)
    rejectsWith({ apiPort: 1.5 }, /apiPort must be an integer/)
    rejectsWith({ transfers: 0 }, /transfers must be an integer from 1 to 10/)
    rejectsWith({ transfers: 11 }, /transfers must be an integer from 1 to 10/)
    rejectsWith({ inviteExpirySeconds: -1 }, /inviteExpirySeconds must be an integer/)
    rejectsWith({ relay: true }, /relay must be an object/)
    rejectsWith({ relay: { client: 1 } }, /relay\.client must be true or false/)
    rejectsWith({ reconnect: { minMs: 'fast' } }, /reconnect\.minMs must be an integer/)
    rejectsWith({ reconnect: { minMs: 5000, maxMs: 1000 } }, /reconnect\.maxMs \(1000\) must not be less than reconnect\.minMs \(5000\)/)
    rejectsWith({ maintenance: { repairThreshold: 256 } }, /maintenance\.repairThreshold must be an integer from 0 to 255/)
    rejectsWith({ maintenance: { repairThreshold: 4.5 } }, /maintenance\.repairThreshold must be an integer/)
  })

  it('maintenance: health rules for the daemon (threshold 0 means k+m, the audit period doubled as the freshness window)', () => {
    const cfg = parseNodeConfig({ maintenance: { repairThreshold: 5, graceSeconds: 60, auditPeriodSeconds: 3600 } })
    assert.equal(cfg.maintenance.repairThreshold, 5)
    assert.deepEqual(healthSettings(cfg.maintenance), { graceMs: 60_000, verifiedWithinMs: 7_200_000, repairThreshold: 5, urgentGraceMs: 86_400_000, overdueSlackMs: 7_200_000 })
    // the urgent grace and the overdue rule: 0 turns each off
    assert.equal(healthSettings(parseNodeConfig({ maintenance: { urgentGraceSeconds: 0 } }).maintenance).urgentGraceMs, Infinity)
    assert.throws(() => parseNodeConfig({ maintenance: { urgentGraceSeconds: -1 } }), { name: 'ConfigError' })
    assert.equal(healthSettings(parseNodeConfig({ maintenance: { overdueSlackSeconds: 0 } }).maintenance).overdueSlackMs, Infinity)
    assert.equal(healthSettings(parseNodeConfig({ maintenance: { overdueSlackSeconds: 600 } }).maintenance).overdueSlackMs, 600_000)
    assert.throws(() => parseNodeConfig({ maintenance: { overdueSlackSeconds: 1.5 } }), { name: 'ConfigError' })
    assert.equal(healthSettings(parseNodeConfig(undefined).maintenance).repairThreshold, undefined)
  })

  it('loadNodeConfig: no node.json means defaults; a node.json is validated, errors name the file', async () => {
    const home = await tempHome()
    try {
      assert.deepEqual(await loadNodeConfig(home), parseNodeConfig(undefined))
      await writeFile(nodeConfigPath(home), JSON.stringify({ apiPort: 8080, upnp: true }))
      const cfg = await loadNodeConfig(home)
      assert.equal(cfg.apiPort, 8080)
      assert.equal(cfg.upnp, true)
      await writeFile(nodeConfigPath(home), '{ "apiPort": ')
      await assert.rejects(loadNodeConfig(home), { name: 'ConfigError', message: /node\.json is not valid JSON/ })
      await writeFile(nodeConfigPath(home), JSON.stringify({ upnp: 'no' }))
      await assert.rejects(loadNodeConfig(home), { name: 'ConfigError', message: /node\.json: upnp must be true or false/ })
    } finally {
      await rm(home, { recursive: true, force: true })
    }
  })
})

describe('config/node config: backup sessions', () => {
  it('parses backup sets with their defaults, and merges hooks and notify key by key', () => {
    const cfg = parseNodeConfig({
      backup: {
        exclude: ['*.tmp'],
        hooks: { pre: 'true' },
        notify: { when: 'always', webhook: 'http://127.0.0.1:9/hook', smtp: { host: 'mail', from: 'a@b', to: ['c@d'] } },
        sets: [{ name: 'docs', paths: ['/home/u/docs'], schedule: '*/5 * * * *' }]
      }
    })
    assert.deepEqual(cfg.backup.exclude, ['*.tmp'])
    assert.deepEqual(cfg.backup.hooks, { ...DEFAULT_NODE_CONFIG.backup.hooks, pre: 'true' })
    assert.equal(cfg.backup.notify.smtp.port, 587)
    assert.deepEqual(cfg.backup.sets, [{ name: 'docs', paths: ['/home/u/docs'], exclude: [], schedule: '*/5 * * * *', watch: false, minAgeSeconds: 60, rescanSeconds: 3600, ping: '' }])
    assert.deepEqual(DEFAULT_NODE_CONFIG.backup.sets, [])
  })

  it('a set may be a command\'s output instead of paths', () => {
    const cfg = parseNodeConfig({ backup: { sets: [{ name: 'db', command: ['pg_dump', '--format=custom', 'shop'], schedule: '0 3 * * *' }] } })
    assert.deepEqual(cfg.backup.sets[0].command, ['pg_dump', '--format=custom', 'shop'])
    assert.deepEqual(cfg.backup.sets[0].paths, [])
  })

  it('refuses bad sets and values, naming the key', () => {
    const bad: Array<[unknown, RegExp]> = [
      [{ sets: [{ name: 'a b', paths: ['/x'] }] }, /backup\.sets\[0\]\.name/],
      [{ sets: [{ name: 'a', paths: ['rel'] }] }, /backup\.sets\[0\]\.paths\[0\] must be an absolute path/],
      [{ sets: [{ name: 'a' }] }, /backup\.sets\[0\]\.paths needs/],
      [{ sets: [{ name: 'a', paths: ['/x'] }, { name: 'a', paths: ['/y'] }] }, /second set named "a"/],
      [{ sets: [{ name: 'a', paths: ['/x'], colour: 1 }] }, /backup\.sets\[0\]\.colour is not a known key/],
      [{ notify: { when: 'sometimes' } }, /backup\.notify\.when/],
      [{ notify: { webhook: 'ftp://x' } }, /backup\.notify\.webhook must be an http\(s\) URL/],
      [{ notify: { smtp: { host: 'mail' } } }, /backup\.notify\.smtp needs from and to/],
      [{ ignoreFile: 'a/b' }, /backup\.ignoreFile must be a file name/],
      [{ hooks: { timeoutSeconds: 0 } }, /backup\.hooks\.timeoutSeconds/],
      [{ sets: [{ name: 'a', paths: ['/x'], ping: 'ftp://hc/x' }] }, /backup\.sets\[0\]\.ping must be an http\(s\) URL, got the string "ftp:\/\/hc\/x"/],
      [{ sets: [{ name: 'a', paths: ['/x'], ping: 'not a url' }] }, /backup\.sets\[0\]\.ping must be an http\(s\) URL/],
      [{ sets: [{ name: 'db', paths: ['/x'], command: ['pg_dump'] }] }, /backup\.sets\[0\]: give \.paths or \.command, not both/],
      [{ sets: [{ name: 'db', command: [] }] }, /backup\.sets\[0\]\.command needs the program to run/],
      [{ sets: [{ name: 'db', command: 'pg_dump db' }] }, /backup\.sets\[0\]\.command must be an array of strings/],
      [{ sets: [{ name: 'db', command: ['pg_dump'], watch: true }] }, /backup\.sets\[0\]\.watch: a command's output cannot be watched/],
      [{ sets: [{ name: '..', command: ['pg_dump'] }] }, /cannot be "\." or "\.\."/],
      [{ sets: [{ name: 'a', paths: ['/x'], standby: 'rel' }] }, /backup\.sets\[0\]\.standby must be an absolute path/],
      [{ sets: [{ name: 'a', paths: ['/x'], standby: '/x/mirror' }] }, /standby folder cannot be inside what the set backs up/]
    ]
    for (const [backup, re] of bad) assert.throws(() => parseNodeConfig({ backup }), re, JSON.stringify(backup))
  })

  it('refuses SMTP settings that could inject a header or a command: line breaks, address lists, display names', () => {
    const smtp = { host: 'mail.example.org', from: 'node@example.org', to: ['me@example.org'] }
    const bad: Array<[object, RegExp]> = [
      [{ from: 'node@example.org\r\nBcc: evil@example.org' }, /backup\.notify\.smtp\.from: .* contains a line break/],
      [{ from: 'Node <node@example.org>' }, /backup\.notify\.smtp\.from: .* is not one e-mail address/],
      [{ to: ['me@example.org', 'you@example.org\n'] }, /backup\.notify\.smtp\.to\[1\]: .* contains a line break/],
      [{ to: ['me@example.org,evil@example.org'] }, /backup\.notify\.smtp\.to\[0\]: .* is not one e-mail address/],
      [{ to: ['no-at-sign'] }, /backup\.notify\.smtp\.to\[0\]: .* is not one e-mail address/],
      [{ user: 'me\rRSET' }, /backup\.notify\.smtp\.user: .* contains a line break/],
      [{ host: 'mail\n' }, /backup\.notify\.smtp\.host: .* contains a line break/]
    ]
    for (const [change, re] of bad) {
      assert.throws(() => parseNodeConfig({ backup: { notify: { smtp: { ...smtp, ...change } } } }), (err: Error) => err.name === 'ConfigError' && re.test(err.message), JSON.stringify(change))
    }
    const ok = parseNodeConfig({ backup: { notify: { smtp: { ...smtp, to: ['me@example.org', 'ops+backup@mail.example.org'] } } } })
    assert.deepEqual(ok.backup.notify.smtp.to, ['me@example.org', 'ops+backup@mail.example.org'])
  })
})
