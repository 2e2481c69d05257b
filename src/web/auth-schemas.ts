import Type, { type Static } from 'typebox'

/** The bodies of the sign-in routes (GET /session, POST /login, POST /logout), as JSON Schema (TypeBox). */

export const SessionState = Type.Object({
  authenticated: Type.Boolean({ description: 'whether this browser (or the API key) may call the API' }),
  passwordSet: Type.Boolean({ description: 'whether a GUI password guards the dashboard (holdfast gui password)' }),
  csrf: Type.Optional(Type.String({ description: 'the session\'s CSRF token: send it as x-csrf-token with every call that changes something' }))
}, { $id: 'SessionState' })
export type SessionState = Static<typeof SessionState>

export const LoginBody = Type.Object({ password: Type.String({ minLength: 1, maxLength: 1024 }) })
export type LoginBody = Static<typeof LoginBody>
