// Package raftnet is the tablets' Raft transport: it carries dragonboat's
// message batches and snapshot chunks between node hosts over TCP.
//
// It replaces dragonboat's built-in TCP transport, and speaks the same wire
// format, so a tablet running either one talks to the other (a rolling
// upgrade has both in one cluster). What it changes is how a sender treats
// a peer that went away:
//
//   - Every outgoing stream has a watcher blocked in Read. The receiver never
//     writes on a message stream, so any return from Read means the peer
//     closed it (it stopped, or restarted). The stream is then known dead
//     before anything else is written to it.
//   - A send on a dead stream, or one whose write fails, dials the peer once
//     more and sends again before it reports an error.
//
// With the built-in transport a stream to a restarted peer is found broken
// only when a write to it fails, the write after the one the kernel
// silently lost, and that failure trips dragonboat's per-peer circuit
// breaker, which then drops every message to the peer for 0.5-1 s. Here a
// send fails, and the breaker trips, only when the peer cannot be dialled,
// that is when it is really down.
package raftnet
