import { LoginBody, SessionState } from './auth-schemas.js'
import type { ApiOperation } from './api-spec.js'

/** The sign-in routes, served by web-auth.ts itself (AUTH_ROUTES; a test keeps the two equal). */
export const AUTH_SPEC: ApiOperation[] = [
  { method: 'get', path: '/session', tag: 'auth', summary: 'This browser\'s session and its CSRF token. Without a GUI password on a loopback listen it is made at once (a cookie: HttpOnly, SameSite=Strict); with one, 401 until POST /login', response: SessionState },
  { method: 'post', path: '/login', tag: 'auth', summary: 'Signs in with the GUI password: sets the session cookie (HttpOnly, SameSite=Strict, Secure over HTTPS) and answers the CSRF token. Wrong password: 401; 5 failures a minute from one address: 429 with Retry-After', body: LoginBody, response: SessionState },
  { method: 'post', path: '/logout', tag: 'auth', summary: 'Ends this browser\'s session (with its CSRF token) and clears its cookie', response: SessionState }
]
