/**
 * The Holdfast node: its home directory (configuration, key, local register, lock). The libp2p daemon
 * that makes the node a peer joins this folder with the network issue.
 */
export * from './home.js'
