/**
 * The pure parts of settings and reload: which changed keys apply live and which wait for a restart,
 * the configuration a reload runs with, the dashboard's patch merged into node.json, the PUT body's
 * check, and the rate limiter's new limits in place.
 */
import assert from 'node:assert/strict'
import { parseNodeConfig } from '../../src/config/parse-node-config.js'
import { configChanges, reloadedConfig } from '../../src/daemon/config-changes.js'
import { applySettingsPatch } from '../../src/daemon/settings-patch.js'
import { settingsOf } from '../../src/daemon/settings-view.js'
import { settingsPatch } from '../../src/web/settings-routes.js'
import { parseWindow, RateLimiter } from '../../src/bandwidth/index.js'

describe('settings and reload', () => {
  it('configChanges: live keys (backup by part) apart from the keys read only at start', () => {
    const a = parseNodeConfig({})
    const b = parseNodeConfig({ mdns: false, gui: { listen: '127.0.0.1:9000' }, bandwidth: { upload: 1000 }, retention: { daily: 3 }, backup: { sets: [{ name: 's', paths: ['/x'] }] } })
    assert.deepEqual(configChanges(a, b), { live: ['backup.sets', 'bandwidth', 'retention'], restart: ['mdns', 'gui'] })
    assert.deepEqual(configChanges(a, parseNodeConfig({})), { live: [], restart: [] })
  })

  it('reloadedConfig keeps the start-only keys as started and takes the rest', () => {
    const started = parseNodeConfig({ listen: ['/ip4/127.0.0.1/tcp/1'] })
    const next = parseNodeConfig({ listen: ['/ip4/127.0.0.1/tcp/2'], dht: false, vault: '/v' })
    const c = reloadedConfig(started, next)
    assert.deepEqual(c.listen, ['/ip4/127.0.0.1/tcp/1'])
    assert.equal(c.dht, true)
    assert.equal(c.vault, '/v')
  })

  it('applySettingsPatch merges key by key, notifications into backup.notify, and leaves the rest of node.json', () => {
    const raw = { listen: ['/ip4/127.0.0.1/tcp/0'], retention: { daily: 3, prune: false }, backup: { sets: [{ name: 's', paths: ['/x'] }], notify: { when: 'always', smtp: { host: 'mail', from: 'a@b.c', to: ['d@e.f'] } } } }
    const out = applySettingsPatch(raw, { retention: { weekly: 2 }, notifications: { when: 'failure', smtp: { port: 2525 } }, vault: '/v' })
    assert.deepEqual(out, {
      listen: ['/ip4/127.0.0.1/tcp/0'],
      retention: { daily: 3, prune: false, weekly: 2 },
      backup: { sets: [{ name: 's', paths: ['/x'] }], notify: { when: 'failure', smtp: { host: 'mail', from: 'a@b.c', to: ['d@e.f'], port: 2525 } } },
      vault: '/v'
    })
    assert.deepEqual(raw.retention, { daily: 3, prune: false }, 'the input is not changed')
    assert.deepEqual(applySettingsPatch({}, { notifications: { smtp: { host: 'mail' } } }), { backup: { notify: { smtp: { host: 'mail' } } } })
    // an empty section leaves the file as it was
    assert.deepEqual(applySettingsPatch({ vault: '/v' }, { retention: {}, notifications: { smtp: {} } }), { vault: '/v' })
    // a section that is not an object is written as it is: the file's check names it
    assert.throws(() => parseNodeConfig(applySettingsPatch({}, { retention: 5 as never })), /retention must be an object, got 5/)
  })

  it('settingsPatch takes known sections only', () => {
    assert.deepEqual(settingsPatch({ vault: '' }), { vault: '' })
    assert.throws(() => settingsPatch({ listen: [] }), { name: 'UsageError', message: /unknown settings section "listen"/ })
    assert.throws(() => settingsPatch([]), { name: 'UsageError' })
  })

  it('settingsOf sends no webhook path (it may hold a token)', () => {
    const s = settingsOf(parseNodeConfig({ backup: { notify: { webhook: 'https://h.example/t0ken' } } }), { upload: 0, download: 0 }, [])
    assert.deepEqual(s.notifications.webhook, { set: true, origin: 'https://h.example' })
    assert.doesNotMatch(JSON.stringify(s), /t0ken/)
  })

  it('RateLimiter.setLimits: the same limiter, new limits and windows', () => {
    const now = Date.parse('2026-01-05T10:00:00') // a Monday
    const limiter = new RateLimiter({ upload: 0, download: 0, now: () => now })
    assert.equal(limiter.limited, false)
    limiter.setLimits({ upload: 1000, download: 0, windows: [parseWindow('Mon-Fri 09:00-17:00 down=2000')] })
    assert.equal(limiter.limited, true)
    assert.deepEqual(limiter.current(), { upload: 1000, download: 2000 })
    limiter.setLimits({ upload: 0, download: 0, windows: [] })
    assert.deepEqual(limiter.current(), { upload: 0, download: 0 })
    assert.equal(limiter.limited, false)
  })
})
