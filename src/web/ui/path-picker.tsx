import { useState } from 'preact/hooks'
import { backupApi } from './backup-api.js'
import { useResource } from './use-resource.js'

function parentOf (path: string): string {
  const cut = path.replace(/\/+$/, '').lastIndexOf('/')
  return cut <= 0 ? '/' : path.slice(0, cut)
}

function join (dir: string, name: string): string {
  return dir.endsWith('/') ? `${dir}${name}` : `${dir}/${name}`
}

/**
 * The local disk as a tree to pick paths from: open a folder, go up, add the folder shown or a file in it.
 * Symlinks are shown, not followed (the daemon lists them as links).
 */
export function PathPicker ({ start, onPick, onClose }: { start: string, onPick: (path: string) => void, onClose: () => void }) {
  const [dir, setDir] = useState(start)
  const r = useResource(async signal => await backupApi.listDir(dir, signal), [dir], 0)
  return (
    <div class='picker' role='group' aria-label='Choose paths on this computer' data-testid='picker'>
      <div class='picker-head'>
        <button type='button' onClick={() => setDir(parentOf(dir))} disabled={dir === '/'} aria-label='Up one folder'>Up</button>
        <code class='picker-path' aria-live='polite'>{dir}</code>
        <button type='button' onClick={() => onPick(dir)}>Add this folder</button>
        <button type='button' onClick={onClose}>Done</button>
      </div>
      {r.error != null && <p class='error' role='alert'>{r.error.message}</p>}
      {r.data == null && r.error == null && <p aria-busy='true'>Reading {dir}...</p>}
      {r.data != null && (
        <ul class='picker-list'>
          {r.data.entries.length === 0 && <li><small>(empty)</small></li>}
          {r.data.entries.map(e => (
            <li key={e.name}>
              {e.type === 'dir'
                ? <button type='button' class='link' onClick={() => setDir(join(r.data!.path, e.name))} aria-label={`Open folder ${e.name}`}>{e.name}/</button>
                : <span>{e.name}{e.type === 'link' ? <small> (link, not followed)</small> : null}</span>}
              <button type='button' class='small' onClick={() => onPick(join(r.data!.path, e.name))} aria-label={`Add ${e.name}`}>Add</button>
            </li>
          ))}
          {r.data.truncated && <li><small>Only the first {r.data.entries.length} entries are shown.</small></li>}
        </ul>
      )}
    </div>
  )
}
