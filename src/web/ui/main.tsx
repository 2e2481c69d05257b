import { render } from 'preact'
import { useEffect, useState } from 'preact/hooks'
import { api } from './api.js'
import { useResource } from './use-resource.js'
import { OverviewPage } from './overview-page.js'
import { SessionsPage } from './sessions-page.js'
import { PeersPage } from './peers-page.js'
import { RestorePage } from './restore-page.js'
import { SignInGate, type SignedIn } from './sign-in-gate.js'
import { BackupPage } from './backup-page.js'
import { SettingsPage } from './settings-page.js'
import { FleetPage } from './fleet-page.js'

const PAGES = [
  { path: 'overview', title: 'Overview', view: OverviewPage },
  { path: 'sessions', title: 'Sessions', view: SessionsPage },
  { path: 'backup', title: 'Backup', view: BackupPage },
  { path: 'restore', title: 'Restore', view: RestorePage },
  { path: 'peers', title: 'Peers', view: PeersPage },
  { path: 'fleet', title: 'Fleet', view: FleetPage },
  { path: 'settings', title: 'Settings', view: SettingsPage }
] as const

function currentPath (): string {
  return location.hash.replace(/^#\/?/, '') || 'overview'
}

function App ({ session }: { session: SignedIn }) {
  const [path, setPath] = useState(currentPath())
  useEffect(() => {
    const onHash = (): void => setPath(currentPath())
    addEventListener('hashchange', onHash)
    return () => removeEventListener('hashchange', onHash)
  }, [])
  const status = useResource(async signal => await api.status(signal), [], 30_000)
  const page = PAGES.find(p => p.path === path) ?? PAGES[0]
  useEffect(() => { document.title = `${page.title} - Holdfast${status.data != null ? ` (${status.data.name})` : ''}` }, [page, status.data])
  const View = page.view
  return (
    <>
      <header>
        <span class='brand'>Holdfast{status.data != null ? <small> {status.data.name}</small> : null}</span>
        <nav aria-label='Pages'>
          {PAGES.map(p => <a key={p.path} href={`#/${p.path}`} aria-current={p.path === page.path ? 'page' : undefined}>{p.title}</a>)}
        </nav>
        {session.passwordSet ? <button type='button' class='signout' onClick={() => { void session.signOut() }}>Sign out</button> : null}
      </header>
      <main id='main'><View /></main>
    </>
  )
}

render(<SignInGate>{session => <App session={session} />}</SignInGate>, document.getElementById('app')!)
