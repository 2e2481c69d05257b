import { chmod, mkdir, readFile, symlink, utimes, writeFile } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'

/**
 * The demos' sample tree: text that compresses and deduplicates, random "photos" (one copied), an
 * empty file and directory, a non-ASCII name, modes 0600 and 0755, a symlink and an old mtime.
 */
export async function makeSample (dir: string): Promise<void> {
  await mkdir(join(dir, 'documents', 'letters'), { recursive: true })
  await mkdir(join(dir, 'photos', '2026'), { recursive: true })
  await mkdir(join(dir, 'empty-dir'))
  for (let i = 0; i < 40; i++) await writeFile(join(dir, 'documents', `note-${i}.txt`), `Note ${i}\n${'All work and no play. '.repeat(50 + i * 10)}\n`)
  await writeFile(join(dir, 'documents', 'letters', 'Grüße aus Köln — 東京.txt'), 'Liebe Grüße! こんにちは\n')
  for (let i = 0; i < 3; i++) await writeFile(join(dir, 'photos', '2026', `IMG_${1000 + i}.raw`), randomBytes(3 * 1024 * 1024 + i * 4099))
  await writeFile(join(dir, 'photos', 'copy-of-IMG_1000.raw'), await readFile(join(dir, 'photos', '2026', 'IMG_1000.raw')))
  await writeFile(join(dir, 'empty.txt'), '')
  await writeFile(join(dir, 'secret.key'), randomBytes(64))
  await chmod(join(dir, 'secret.key'), 0o600)
  await writeFile(join(dir, 'run.sh'), '#!/bin/sh\necho hello\n')
  await chmod(join(dir, 'run.sh'), 0o755)
  await symlink('documents/note-1.txt', join(dir, 'latest-note'))
  await utimes(join(dir, 'documents', 'note-0.txt'), new Date('2001-02-03T04:05:06Z'), new Date('2001-02-03T04:05:06Z'))
}
