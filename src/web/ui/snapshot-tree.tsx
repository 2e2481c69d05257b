import { useEffect, useRef } from 'preact/hooks'
import { childPath, snapshotApi, type SnapshotEntry } from './snapshot-api.js'
import { useResource } from './use-resource.js'
import { Problem } from './problem.js'
import { bytes, when } from './format.js'

export interface TreeProps {
  snapshot: string
  path: string
  selected: string[]
  onOpen: (path: string) => void
  onSelect: (paths: string[]) => void
  onVersions: (path: string) => void
  onRestore: (paths: string[]) => void
}

/**
 * One folder of a snapshot: breadcrumbs up to the root, its entries (folders open, files download),
 * checkboxes to choose what to restore. Every action is a link or a button: usable from the keyboard.
 */
export function SnapshotTree (props: TreeProps) {
  const { snapshot, path } = props
  const r = useResource(async signal => await snapshotApi.tree(snapshot, path, signal), [snapshot, path], 0)
  const heading = useRef<HTMLHeadingElement>(null)
  // after opening a folder, the focus goes to its heading (a screen reader says where it is)
  useEffect(() => { if (r.data != null && document.activeElement?.closest('.tree') != null) heading.current?.focus() }, [r.data])
  const parts = path.split('/').filter(Boolean)
  const entries = sorted(r.data?.entries ?? [])
  const toggle = (p: string, on: boolean): void => props.onSelect(on ? [...props.selected, p] : props.selected.filter(x => x !== p))
  return (
    <div class='tree'>
      <nav aria-label='Folder path' class='crumbs'>
        <ol>
          <li><button type='button' class='link' onClick={() => props.onOpen('/')} aria-current={parts.length === 0 ? 'location' : undefined}>/</button></li>
          {parts.map((name, i) => {
            const p = `/${parts.slice(0, i + 1).join('/')}`
            return <li key={p}><button type='button' class='link' onClick={() => props.onOpen(p)} aria-current={i === parts.length - 1 ? 'location' : undefined}>{name}</button></li>
          })}
        </ol>
      </nav>
      <div class='tree-head'>
        <h3 tabIndex={-1} ref={heading}>{parts.length === 0 ? 'Top folder' : parts[parts.length - 1]}</h3>
        <div class='actions'>
          <a class='button secondary' href={snapshotApi.archiveUrl(snapshot, path)} download>Download as .zip</a>
          <button type='button' onClick={() => props.onRestore(props.selected.length > 0 ? props.selected : [path])}>{props.selected.length > 0 ? `Restore ${props.selected.length} selected` : 'Restore this folder'}</button>
        </div>
      </div>
      {r.data == null
        ? <Problem resource={r} what='the folder' />
        : entries.length === 0
          ? <p>This folder is empty.</p>
          : (
            <div class='scroll'>
              <table data-testid='snapshot-tree'>
                <thead><tr><th scope='col'><span class='sr-only'>Select</span></th><th scope='col'>Name</th><th scope='col'>Size</th><th scope='col' class='col-mtime'>Modified</th><th scope='col'><span class='sr-only'>Actions</span></th></tr></thead>
                <tbody>
                  {entries.map(e => {
                    const p = childPath(path, e.name)
                    return (
                      <tr key={e.name}>
                        <td><input type='checkbox' aria-label={`Select ${e.name}`} checked={props.selected.includes(p)} onChange={ev => toggle(p, (ev.target as HTMLInputElement).checked)} /></td>
                        <th scope='row' class='name'>
                          {e.type === 'dir'
                            ? <button type='button' class='link' onClick={() => props.onOpen(p)}>{e.name}<span aria-hidden='true'>/</span><span class='sr-only'> (folder)</span></button>
                            : e.type === 'file'
                              ? <a href={snapshotApi.fileUrl(snapshot, p)} download={e.name}>{e.name}</a>
                              : <span>{e.name} <small>(link to {e.target})</small></span>}
                        </th>
                        <td>{e.type === 'file' ? bytes(e.size) : ''}</td>
                        <td class='col-mtime'>{when(e.mtime)}</td>
                        <td class='row-actions'>
                          {e.type === 'file' && <button type='button' class='link' onClick={() => props.onVersions(p)} aria-label={`Versions of ${e.name}`}>Versions</button>}
                          {e.type === 'dir' && <a href={snapshotApi.archiveUrl(snapshot, p)} download aria-label={`Download ${e.name} as .zip`}>.zip</a>}
                          <button type='button' class='link' onClick={() => props.onRestore([p])} aria-label={`Restore ${e.name}`}>Restore</button>
                        </td>
                      </tr>
                    )
                  })}
                </tbody>
              </table>
            </div>
          )}
    </div>
  )
}

function sorted (entries: SnapshotEntry[]): SnapshotEntry[] {
  return [...entries].sort((a, b) => Number(b.type === 'dir') - Number(a.type === 'dir') || a.name.localeCompare(b.name))
}

/** A file's versions across snapshots, each downloadable, and whether its content changed. */
export function VersionsPanel ({ path, onClose, onOpen }: { path: string, onClose: () => void, onOpen: (snapshot: string) => void }) {
  const r = useResource(async signal => await snapshotApi.versions(path, signal), [path], 0)
  const name = path.slice(path.lastIndexOf('/') + 1)
  return (
    <section class='card' aria-labelledby='versions-title' data-testid='versions'>
      <div class='tree-head'>
        <h2 id='versions-title'>Versions of <code>{path}</code></h2>
        <button type='button' class='secondary' onClick={onClose}>Close</button>
      </div>
      {r.data == null
        ? <Problem resource={r} what='the versions' />
        : r.data.length === 0
          ? <p>No snapshot has this file.</p>
          : (
            <div class='scroll'>
              <table>
                <thead><tr><th scope='col'>Snapshot</th><th scope='col'>Size</th><th scope='col'>Modified</th><th scope='col'>Content</th><th scope='col'><span class='sr-only'>Actions</span></th></tr></thead>
                <tbody>
                  {r.data.map((v, i) => (
                    <tr key={v.snapshot}>
                      <th scope='row'><button type='button' class='link' onClick={() => onOpen(v.snapshot)}>{when(v.time)}</button></th>
                      <td>{bytes(v.size)}</td>
                      <td>{when(v.mtime)}</td>
                      <td>{i === r.data!.length - 1 ? 'oldest kept' : v.changed ? 'changed' : 'same as before'}</td>
                      <td><a href={snapshotApi.fileUrl(v.snapshot, path)} download={name}>Download</a></td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
    </section>
  )
}
