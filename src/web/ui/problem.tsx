import type { Resource } from './use-resource.js'

/** What a page shows while its data loads, or when it could not be loaded. */
export function Problem ({ resource, what }: { resource: Resource<unknown>, what: string }) {
  if (resource.error != null) return <p class='error' role='alert'>Could not load {what}: {resource.error.message}</p>
  return <p aria-busy='true'>Loading {what}...</p>
}
