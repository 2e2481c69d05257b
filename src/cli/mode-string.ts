/** As ls -l: setuid and setgid show as s (S without x) in the owner's and group's x, sticky as t (T). */
export function modeString (mode: number): string {
  const r = (b: number, c: string): string => (mode & b) !== 0 ? c : '-'
  const x = (b: number, special: number, c: string): string => (mode & special) !== 0 ? ((mode & b) !== 0 ? c : c.toUpperCase()) : r(b, 'x')
  return r(0o400, 'r') + r(0o200, 'w') + x(0o100, 0o4000, 's') + r(0o40, 'r') + r(0o20, 'w') + x(0o10, 0o2000, 's') + r(0o4, 'r') + r(0o2, 'w') + x(0o1, 0o1000, 't')
}
