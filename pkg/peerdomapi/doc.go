// Package peerdomapi is a client for Peerdom's REST API (PEERDOM_API.md): typed peers,
// roles, circles (Group) and maps; paginated lists as iterators; assigning a peer to a
// role and removing it; retries with backoff that never repeat a write that may already
// have happened.
//
// Reads and writes have their own shapes, as in the API: a Role is what the API answers
// (custom fields as an array of {name, values}, unknown keys kept in Extra), a RoleInput
// is what a create or update sends (custom fields as an object keyed by field name).
// Every request shape lives in this package (paths in client.go, bodies in types.go),
// so a detail of the real API that turns out different is a one-line fix.
// It imports only the standard library.
package peerdomapi
