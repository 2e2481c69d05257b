import type { ComponentChildren } from 'preact'
import { useEffect, useState } from 'preact/hooks'
import { api, authEvents } from './api.js'
import { LoginPage } from './login-page.js'

/** What the signed-in page knows of its session. */
export interface SignedIn {
  /** whether a GUI password guards the dashboard (then the page offers to sign out) */
  passwordSet: boolean
  signOut: () => Promise<void>
}

type GateState = { kind: 'checking' } | { kind: 'in', passwordSet: boolean } | { kind: 'out', why?: string } | { kind: 'error', message: string }

/**
 * Shows the dashboard once the daemon takes this browser's session (at once on this machine when no GUI
 * password is set); until then the sign-in form. Any call refused later for want of a session (signed
 * out elsewhere, a new password) brings the form back.
 */
export function SignInGate ({ children }: { children: (session: SignedIn) => ComponentChildren }) {
  const [state, setState] = useState<GateState>({ kind: 'checking' })
  const check = async (): Promise<void> => {
    try {
      const s = await api.session()
      // no password and not signed in: the daemon listens beyond this machine without one, and says so
      setState(s.authenticated ? { kind: 'in', passwordSet: s.passwordSet } : { kind: 'out', why: s.passwordSet ? undefined : s.reason })
    } catch (err) {
      setState({ kind: 'error', message: (err as Error).message })
    }
  }
  useEffect(() => {
    void check()
    const onSignedOut = (): void => { void check() }
    authEvents.addEventListener('signed-out', onSignedOut)
    return () => authEvents.removeEventListener('signed-out', onSignedOut)
  }, [])
  if (state.kind === 'checking') return <main id='main'><p aria-busy='true'>Connecting to the daemon...</p></main>
  if (state.kind === 'error') return <main id='main'><p class='error' role='alert'>Could not reach the daemon: {state.message}</p></main>
  if (state.kind === 'out') return <LoginPage why={state.why} onSignedIn={() => { void check() }} />
  const signOut = async (): Promise<void> => {
    try { await api.logout() } catch {}
    setState({ kind: 'out' })
  }
  return <>{children({ passwordSet: state.passwordSet, signOut })}</>
}
