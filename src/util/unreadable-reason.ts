/**
 * Why a file could not be read, in words for the user: a missing file, a permission the process lacks
 * (with the uid it runs as: a service or a container's user often differs from the file's owner), or the
 * system's own message.
 */
export function unreadableReason (err: unknown): string {
  const e = err as NodeJS.ErrnoException
  if (e.code === 'ENOENT') return 'no such file'
  if (e.code === 'EACCES') return `permission denied (it must be readable by the user running holdfast, uid ${process.getuid?.() ?? '?'})`
  return e.message
}
