/**
 * What a search matches a file name against: a glob when the query has `*`, `?` or `[...]` (the whole
 * name must match), else a substring; case-insensitive either way. Pure.
 */
export function nameMatcher (query: string): (name: string) => boolean {
  const q = query.toLowerCase()
  if (!/[*?[]/.test(q)) return name => name.toLowerCase().includes(q)
  const re = new RegExp(`^${globToRegExp(q)}$`, 's')
  return name => re.test(name.toLowerCase())
}

function globToRegExp (glob: string): string {
  let out = ''
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]
    if (c === '*') out += '.*'
    else if (c === '?') out += '.'
    else if (c === '[') {
      const end = glob.indexOf(']', i + 2)
      if (end < 0) { out += '\\['; continue }
      let body = glob.slice(i + 1, end)
      const negate = body.startsWith('!') || body.startsWith('^')
      if (negate) body = body.slice(1)
      out += `[${negate ? '^' : ''}${body.replace(/[\\\]^]/g, '\\$&')}]`
      i = end
    } else out += c.replace(/[.+^${}()|\\\]]/g, '\\$&')
  }
  return out
}
