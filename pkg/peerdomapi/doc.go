// Package peerdomapi is a client for Peerdom's REST API (docs/peerdom-api.md): typed peers,
// roles, circles (Group) and maps; paginated lists as iterators; assigning a peer to a
// role and removing it; retries with backoff that never repeat a write that may already
// have happened.
//
// Reads and writes have their own shapes, as in the API: a Role is what the API answers
// (custom fields as an array of {name, values}, unknown keys kept in Extra), a RoleInput
// is what a create or update sends (custom fields as an object keyed by field name).
// Where the API's behaviour is unverified (docs/peerdom-api.md), the client is right
// either way: a list reads each item once whether an endpoint honours limit and offset
// or not; circles are read at /circles or /groups, whichever answers; a redirect is
// followed only between Peerdom's own hosts; 401, 403 and 404 each say what they mean
// (Error.Hint).
// Every request shape lives in this package (paths in client.go, bodies in types.go),
// so a detail of the real API that turns out different is a one-line fix.
// It imports only the standard library.
package peerdomapi
