import assert from 'node:assert/strict'
import { LoginLimiter, type LoginAttempt } from '../../src/web/login-limiter.js'

describe('web/LoginLimiter', () => {
  let now = 0
  const clock = (): number => now
  const fail = (a: LoginAttempt): void => { assert.ok(a.allowed); a.done(false) }
  beforeEach(() => { now = 1_000_000 })

  it('takes 5 failures a minute from one address, then refuses every attempt (a right password too) until the oldest is a minute old', () => {
    const limiter = new LoginLimiter({ now: clock })
    for (let i = 0; i < 5; i++) { fail(limiter.attempt('10.0.0.1')); now += 1000 }
    const sixth = limiter.attempt('10.0.0.1')
    assert.equal(sixth.allowed, false)
    assert.equal(!sixth.allowed && sixth.retryAfterMs, 55_000)
    assert.equal(limiter.attempt('10.0.0.2').allowed, true, 'another address is not held back')
    now += 54_999
    assert.equal(limiter.attempt('10.0.0.1').allowed, false)
    now += 1
    const later = limiter.attempt('10.0.0.1')
    assert.ok(later.allowed, 'the oldest failure is a minute old')
    later.done(true)
    for (let i = 0; i < 5; i++) fail(limiter.attempt('10.0.0.1'))
    assert.equal(limiter.attempt('10.0.0.1').allowed, false, 'a success forgot the failures before it; five new ones count again')
  })

  it('counts attempts under way, so that guesses sent at once cannot slip past', () => {
    const limiter = new LoginLimiter({ now: clock, maxFailures: 3 })
    const a = [limiter.attempt('c'), limiter.attempt('c'), limiter.attempt('c')]
    assert.ok(a.every(x => x.allowed))
    assert.equal(limiter.attempt('c').allowed, false)
    for (const x of a) if (x.allowed) { x.done(true); x.done(false) }
    assert.equal(limiter.attempt('c').allowed, true, 'done twice counts once')
  })

  it('remembers at most maxClients addresses', () => {
    const limiter = new LoginLimiter({ now: clock, maxFailures: 1, maxClients: 2 })
    fail(limiter.attempt('a'))
    fail(limiter.attempt('b'))
    fail(limiter.attempt('c'))
    assert.equal(limiter.attempt('a').allowed, true, 'the oldest was forgotten')
    assert.equal(limiter.attempt('c').allowed, false)
  })
})
