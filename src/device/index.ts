/**
 * Second devices of an owner: the protocol by which a device gets what it needs to read its owner's
 * repository, and by which an owner tells its hosts that a device may read its objects.
 */
export * from './device-messages.js'
export * from './device-service.js'
