import { useEffect, useRef, useState } from 'preact/hooks'
import { renderSVG } from 'uqr'
import { when } from './format.js'
import { peerApi, type Invite, type Peer } from './peer-api.js'

const EXPIRY = [
  { seconds: 3600, label: '1 hour' },
  { seconds: 86400, label: '1 day' },
  { seconds: 7 * 86400, label: '7 days' }
]

/** The invite code as a QR code: an SVG in an <img> (the page's CSP allows data: images, no inline styles). */
function QrCode ({ text }: { text: string }) {
  // an SVG image needs its own size to have one in an <img>: the viewBox's
  const svg = renderSVG(text, { ecc: 'L', pixelSize: 4 }).replace(/^<svg ([^>]*)viewBox="0 0 (\d+) (\d+)"/, '<svg $1width="$2" height="$3" viewBox="0 0 $2 $3"')
  return <img class='qr' data-testid='invite-qr' alt='QR code of the invite code' src={`data:image/svg+xml;base64,${btoa(svg)}`} />
}

/** "Invite a peer": quota, name, expiry; then the code to hand over, with a Copy button and its QR code. */
export function InviteForm () {
  const [quota, setQuota] = useState('10GiB')
  const [name, setName] = useState('')
  const [expiry, setExpiry] = useState(86400)
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string>()
  const [invite, setInvite] = useState<Invite>()
  const [copied, setCopied] = useState(false)
  const codeRef = useRef<HTMLTextAreaElement>(null)
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault()
    setBusy(true)
    setError(undefined)
    setInvite(undefined)
    setCopied(false)
    try {
      setInvite(await peerApi.invite({ quota, ...(name.trim() !== '' ? { name: name.trim() } : {}), expirySeconds: expiry }))
    } catch (err) {
      setError((err as Error).message)
    } finally {
      setBusy(false)
    }
  }
  const copy = async (): Promise<void> => {
    if (invite == null) return
    try {
      await navigator.clipboard.writeText(invite.code)
    } catch {
      // no clipboard API (a page not in a secure context): select the text for the user to copy
      codeRef.current?.select()
      document.execCommand('copy')
    }
    setCopied(true)
  }
  return (
    <details class='card action'>
      <summary>Invite a peer</summary>
      <form onSubmit={e => { void submit(e) }} aria-label='Invite a peer'>
        <div class='fields'>
          <div class='field'>
            <label for='invite-quota'>Room you grant them</label>
            <input id='invite-quota' value={quota} onInput={e => setQuota((e.target as HTMLInputElement).value)} required aria-describedby='invite-quota-hint' />
            <small id='invite-quota-hint'>a size such as 10GiB</small>
          </div>
          <div class='field'>
            <label for='invite-name'>Their name here (optional)</label>
            <input id='invite-name' value={name} onInput={e => setName((e.target as HTMLInputElement).value)} />
          </div>
          <div class='field'>
            <label for='invite-expiry'>Code valid for</label>
            <select id='invite-expiry' value={String(expiry)} onChange={e => setExpiry(Number((e.target as HTMLSelectElement).value))}>
              {EXPIRY.map(x => <option key={x.seconds} value={String(x.seconds)}>{x.label}</option>)}
            </select>
          </div>
        </div>
        <div class='actions'><button type='submit' disabled={busy}>{busy ? 'Creating...' : 'Create invite code'}</button></div>
        {error != null ? <p class='error' role='alert'>{error}</p> : null}
      </form>
      {invite != null
        ? (
          <div class='invite' aria-live='polite'>
            <label for='invite-code'>Invite code (hand it over privately; valid until {when(invite.expires)})</label>
            <textarea id='invite-code' data-testid='invite-code' ref={codeRef} readOnly rows={4} value={invite.code} />
            <div class='actions'>
              <button type='button' onClick={() => { void copy() }}>Copy</button>
              {copied ? <span role='status' class='ok'>Copied</span> : null}
            </div>
            <QrCode text={invite.code} />
          </div>
          )
        : null}
    </details>
  )
}

/** "Accept an invite": paste the code, grant a quota; the daemon pairs with the inviter. */
export function AcceptForm ({ onPaired }: { onPaired: (peer: Peer) => void }) {
  const [code, setCode] = useState('')
  const [quota, setQuota] = useState('10GiB')
  const [name, setName] = useState('')
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string>()
  const [paired, setPaired] = useState<Peer>()
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault()
    setBusy(true)
    setError(undefined)
    setPaired(undefined)
    try {
      const peer = await peerApi.accept({ code: code.trim(), quota, ...(name.trim() !== '' ? { name: name.trim() } : {}) })
      setPaired(peer)
      setCode('')
      onPaired(peer)
    } catch (err) {
      setError((err as Error).message)
    } finally {
      setBusy(false)
    }
  }
  return (
    <details class='card action'>
      <summary>Accept an invite</summary>
      <form onSubmit={e => { void submit(e) }} aria-label='Accept an invite'>
        <div class='fields'>
          <div class='field wide'>
            <label for='accept-code'>Invite code</label>
            <textarea id='accept-code' rows={3} value={code} onInput={e => setCode((e.target as HTMLTextAreaElement).value)} required />
          </div>
          <div class='field'>
            <label for='accept-quota'>Room you grant them</label>
            <input id='accept-quota' value={quota} onInput={e => setQuota((e.target as HTMLInputElement).value)} required />
          </div>
          <div class='field'>
            <label for='accept-name'>Their name here (optional)</label>
            <input id='accept-name' value={name} onInput={e => setName((e.target as HTMLInputElement).value)} />
          </div>
        </div>
        <div class='actions'><button type='submit' disabled={busy || code.trim() === ''}>{busy ? 'Pairing...' : 'Pair'}</button></div>
        <div aria-live='polite'>
          {error != null ? <p class='error' role='alert'>{error}</p> : null}
          {paired != null ? <p class='ok' role='status'>Paired with {paired.name} ({paired.site}).</p> : null}
        </div>
      </form>
    </details>
  )
}

/**
 * The confirmation before a revoke: a modal <dialog> (focus moves into it, Escape cancels, focus goes
 * back to the button that opened it).
 */
export function RevokeDialog ({ peer, onClose, onRevoked }: { peer: Peer | undefined, onClose: () => void, onRevoked: () => void }) {
  const ref = useRef<HTMLDialogElement>(null)
  const cancelRef = useRef<HTMLButtonElement>(null)
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string>()
  useEffect(() => {
    const d = ref.current
    if (d == null) return
    if (peer != null && !d.open) {
      setError(undefined)
      const opener = document.activeElement as HTMLElement | null
      d.showModal()
      cancelRef.current?.focus()
      const back = (): void => { opener?.focus() }
      d.addEventListener('close', back, { once: true })
    } else if (peer == null && d.open) d.close()
  }, [peer])
  const revoke = async (): Promise<void> => {
    if (peer == null) return
    setBusy(true)
    setError(undefined)
    try {
      await peerApi.revoke(peer.peerId)
      ref.current?.close()
      onRevoked()
    } catch (err) {
      setError((err as Error).message)
    } finally {
      setBusy(false)
    }
  }
  return (
    <dialog ref={ref} class='confirm' aria-labelledby='revoke-title' aria-describedby='revoke-text' onClose={onClose}>
      <h2 id='revoke-title'>Revoke {peer?.name}?</h2>
      <p id='revoke-text'>{peer?.name} will be refused from now on: it can no longer connect to this node, and your backups stop using it. Pairing again needs a new invite.</p>
      {error != null ? <p class='error' role='alert'>{error}</p> : null}
      <div class='actions'>
        <button type='button' class='danger' disabled={busy} onClick={() => { void revoke() }}>{busy ? 'Revoking...' : 'Revoke'}</button>
        <button type='button' ref={cancelRef} onClick={() => ref.current?.close()}>Cancel</button>
      </div>
    </dialog>
  )
}
