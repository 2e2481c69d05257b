/** Running a node's daemon as a service: the systemd unit and its installation. */
export * from './systemd-unit.js'
