// Package peerdomapi is a client for Peerdom's REST API (PEERDOM_API.md): typed peers,
// roles, groups, holders and maps; paginated lists as iterators; assignment of a peer to
// a role; retries with backoff that never repeat a write that may already have happened.
//
// Every request shape lives in this package (paths in client.go's resources, bodies in
// types.go), so a detail of the real API that turns out different is a one-line fix.
// It imports only the standard library.
package peerdomapi
