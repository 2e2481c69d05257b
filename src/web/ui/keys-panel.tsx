import { useState } from 'preact/hooks'
import { keyApi } from './key-api.js'
import { when } from './format.js'
import { Problem } from './problem.js'
import { useResource } from './use-resource.js'

/**
 * Keys and devices, on the Settings page: the passphrases that open the repository (add one, change
 * yours, remove another, rotate the data keys) and the owner's second devices (a one-time link code,
 * revoke). Every key change asks for a passphrase that opens the repository now; the daemon checks a new
 * key before an old one goes. The recovery kits follow a change by themselves (the hosts keep the current keys for them).
 */
export function KeysPanel () {
  const [tick, setTick] = useState(0)
  const keys = useResource(async signal => await keyApi.list(signal), [tick], 0)
  const devices = useResource(async signal => await keyApi.devices(signal), [tick], 10_000)
  const refresh = (): void => setTick(t => t + 1)
  return (
    <>
      <div class='card' data-testid='keys'>
        <h2 id='keys-title'>Keys</h2>
        <p>Each key is a passphrase that opens this repository. Every recovery kit opens with the passphrases listed here, as they are now: the hosts keep the current keys for the kits.</p>
        {keys.data == null
          ? <Problem resource={keys} what='the keys' />
          : (
            <div class='scroll'><table data-testid='key-list'>
              <thead><tr><th scope='col'>Label</th><th scope='col'>ID</th><th scope='col'>Created</th><th scope='col'><span class='sr-only'>Actions</span></th></tr></thead>
              <tbody>{keys.data.keys.map(k => <tr key={k.id} data-label={k.label}><td>{k.label}</td><td class='mono'>{k.id}</td><td>{k.created !== '' ? when(k.created) : '-'}</td><td><RemoveKey id={k.id} label={k.label} onDone={refresh} /></td></tr>)}</tbody>
            </table></div>
            )}
        <KeyForm kind='add' onDone={refresh} />
        <KeyForm kind='passwd' onDone={refresh} />
        <KeyForm kind='rotate' onDone={refresh} />
      </div>
      <div class='card' data-testid='devices'>
        <h2>Your other devices</h2>
        <p>A laptop of yours reads your backups from your peers: link it here, then run <code>holdfast device join CODE --home DIR</code> there. It can list, browse and restore, never change anything.</p>
        {devices.data == null
          ? <Problem resource={devices} what='the devices' />
          : devices.data.length === 0
            ? <p>No device linked.</p>
            : <ul data-testid='device-list'>{devices.data.map(d => <li key={d.peerId}>{d.name} ({d.role}) {d.revoked ? <span class='badge badge-failed'>revoked</span> : <><span class={`badge ${d.online ? 'badge-ok' : 'badge-partial'}`}>{d.online ? 'online' : 'offline'}</span> {d.hostsTold} host(s) told <button type='button' class='danger small' onClick={() => { void keyApi.revokeDevice(d.peerId).then(refresh) }}>Revoke</button></>}</li>)}</ul>}
        <LinkDevice onDone={refresh} />
      </div>
    </>
  )
}

const TITLES = { add: 'Add a key', passwd: 'Change your passphrase', rotate: 'Rotate the data keys' } as const

function KeyForm ({ kind, onDone }: { kind: 'add' | 'passwd' | 'rotate', onDone: () => void }) {
  const [open, setOpen] = useState(false)
  const [label, setLabel] = useState('')
  const [current, setCurrent] = useState('')
  const [next, setNext] = useState('')
  const [again, setAgain] = useState('')
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string>()
  const [done, setDone] = useState<string>()
  const id = `key-${kind}`
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault()
    setError(undefined)
    setDone(undefined)
    if (kind !== 'rotate' && next !== again) { setError('The new passphrases do not match'); return }
    setBusy(true)
    try {
      const r = kind === 'add' ? await keyApi.add(current, next, label) : kind === 'passwd' ? await keyApi.passwd(current, next) : await keyApi.rotate(current)
      setDone(kind === 'add' ? `Key "${r.added?.label ?? ''}" added.` : kind === 'passwd' ? 'Passphrase changed: the new key was checked before the old one went.' : `New data keys (epoch ${r.epochs}): what is written from now on uses them.`)
      setCurrent(''); setNext(''); setAgain(''); setLabel('')
      onDone()
    } catch (err) {
      setError((err as Error).message)
    } finally {
      setBusy(false)
    }
  }
  if (!open) return <button type='button' class='secondary' onClick={() => setOpen(true)}>{TITLES[kind]}</button>
  return (
    <form class='key-form' aria-labelledby={`${id}-title`} data-testid={id} onSubmit={e => { void submit(e) }}>
      <h3 id={`${id}-title`}>{TITLES[kind]}</h3>
      {kind === 'add' ? <Secret id={`${id}-label`} label='Label' value={label} onInput={setLabel} plain /> : null}
      <Secret id={`${id}-current`} label='Your passphrase' value={current} onInput={setCurrent} />
      {kind !== 'rotate'
        ? <><Secret id={`${id}-new`} label='New passphrase' value={next} onInput={setNext} /><Secret id={`${id}-again`} label='New passphrase again' value={again} onInput={setAgain} /></>
        : <p><small>Refused while other keys exist: remove them first, add them again after. New data no longer deduplicates against older data.</small></p>}
      <div class='actions'><button type='submit' disabled={busy}>{busy ? 'Working...' : TITLES[kind]}</button> <button type='button' class='secondary' onClick={() => setOpen(false)}>Close</button></div>
      <div aria-live='polite'>
        {error != null ? <p class='error' role='alert'>{error}</p> : null}
        {done != null ? <p class='ok' data-testid={`${id}-done`}>{done}</p> : null}
      </div>
    </form>
  )
}

function RemoveKey ({ id, label, onDone }: { id: string, label: string, onDone: () => void }) {
  const [asking, setAsking] = useState(false)
  const [passphrase, setPassphrase] = useState('')
  const [error, setError] = useState<string>()
  if (!asking) return <button type='button' class='danger small' aria-label={`Remove key ${label}`} onClick={() => setAsking(true)}>Remove</button>
  const remove = async (e: Event): Promise<void> => {
    e.preventDefault()
    try { await keyApi.remove(id, passphrase); onDone() } catch (err) { setError((err as Error).message) }
  }
  return (
    <form class='inline' onSubmit={e => { void remove(e) }}>
      <Secret id={`remove-${id}`} label={`Another key's passphrase, to remove "${label}"`} value={passphrase} onInput={setPassphrase} />
      <button type='submit' class='danger small'>Remove key {label}</button>
      {error != null ? <p class='error' role='alert'>{error}</p> : null}
    </form>
  )
}

function LinkDevice ({ onDone }: { onDone: () => void }) {
  const [name, setName] = useState('')
  const [code, setCode] = useState<string>()
  const [error, setError] = useState<string>()
  const link = async (e: Event): Promise<void> => {
    e.preventDefault()
    setError(undefined)
    try { setCode((await keyApi.link(name)).code); onDone() } catch (err) { setError((err as Error).message) }
  }
  return (
    <form class='key-form' onSubmit={e => { void link(e) }} data-testid='device-link'>
      <Secret id='device-name' label='Device name (optional)' value={name} onInput={setName} plain />
      <button type='submit'>Link a device</button>
      {code != null ? <><label for='device-code'>One-time code (works once; carries no key)</label><textarea id='device-code' readOnly data-testid='device-code' value={code} rows={3} /></> : null}
      {error != null ? <p class='error' role='alert'>{error}</p> : null}
    </form>
  )
}

function Secret ({ id, label, value, onInput, plain }: { id: string, label: string, value: string, onInput: (v: string) => void, plain?: boolean }) {
  return (
    <div class='field'>
      <label for={id}>{label}</label>
      {plain === true
        ? <input id={id} type='text' autoComplete='off' value={value} onInput={e => onInput((e.target as HTMLInputElement).value)} />
        : <input id={id} type='password' autoComplete='current-password' value={value} onInput={e => onInput((e.target as HTMLInputElement).value)} />}
    </div>
  )
}
