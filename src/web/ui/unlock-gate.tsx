import type { ComponentChildren } from 'preact'
import { useState } from 'preact/hooks'
import { api } from './api.js'
import { useResource } from './use-resource.js'

/**
 * Shows `children` once the daemon holds the repository's passphrase (its own, or one given here);
 * until then a form asks for it. The passphrase goes to the daemon, which keeps it a while in memory;
 * the page keeps nothing.
 */
export function UnlockGate ({ children, why }: { children: ComponentChildren, why: string }) {
  const [tick, setTick] = useState(0)
  const access = useResource(async signal => await api.access(signal), [tick], 30_000)
  const [passphrase, setPassphrase] = useState('')
  const [error, setError] = useState<string>()
  const [busy, setBusy] = useState(false)
  if (access.data == null) return <p aria-busy='true'>Checking the repository's lock...</p>
  if (access.data.state !== 'locked') return <>{children}</>
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault()
    setBusy(true)
    setError(undefined)
    try {
      await api.unlock(passphrase)
      setPassphrase('')
      setTick(t => t + 1)
    } catch (err) {
      setError((err as Error).message)
    } finally {
      setBusy(false)
    }
  }
  return (
    <form class='card unlock' onSubmit={e => { void submit(e) }} aria-labelledby='unlock-title'>
      <h2 id='unlock-title'>Unlock the repository</h2>
      <p>{why} needs the repository's passphrase. The daemon keeps it in memory for 10 minutes after its last use.</p>
      <label for='unlock-passphrase'>Passphrase</label>
      <input id='unlock-passphrase' type='password' autocomplete='current-password' value={passphrase} onInput={e => setPassphrase((e.target as HTMLInputElement).value)} required />
      <button type='submit' disabled={busy || passphrase === ''}>{busy ? 'Unlocking...' : 'Unlock'}</button>
      {error != null ? <p class='error' role='alert'>{error}</p> : null}
    </form>
  )
}
