import { useEffect, useRef, useState } from 'preact/hooks'
import { api, ApiError } from './api.js'

/** The sign-in form shown while the dashboard's GUI password guards it: one field, its error said aloud. */
export function LoginPage ({ onSignedIn, why }: { onSignedIn: () => void, why?: string }) {
  const [password, setPassword] = useState('')
  const [error, setError] = useState<string | undefined>(why)
  const [busy, setBusy] = useState(false)
  const field = useRef<HTMLInputElement>(null)
  useEffect(() => { document.title = 'Sign in - Holdfast'; field.current?.focus() }, [])
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault()
    setBusy(true)
    setError(undefined)
    try {
      await api.login(password)
      setPassword('')
      onSignedIn()
    } catch (err) {
      const status = err instanceof ApiError ? err.status : 0
      setError(status === 401 ? 'Wrong password. Try again.' : (err as Error).message)
      field.current?.select()
    } finally {
      setBusy(false)
    }
  }
  return (
    <>
      <header><span class='brand'>Holdfast</span></header>
      <main id='main'>
        <form class='card login' onSubmit={e => { void submit(e) }} aria-labelledby='login-title' noValidate>
          <h1 id='login-title'>Sign in</h1>
          <p>A GUI password guards this dashboard (set with <code>holdfast gui password</code>).</p>
          <label for='login-password'>Password</label>
          <input
            id='login-password' ref={field} type='password' autocomplete='current-password' required value={password}
            aria-invalid={error != null ? 'true' : undefined} aria-describedby={error != null ? 'login-error' : undefined}
            onInput={e => setPassword((e.target as HTMLInputElement).value)}
          />
          <button type='submit' disabled={busy || password === ''}>{busy ? 'Signing in...' : 'Sign in'}</button>
          {error != null ? <p id='login-error' class='error' role='alert'>{error}</p> : null}
        </form>
      </main>
    </>
  )
}
