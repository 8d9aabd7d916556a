// Package uuid forwards to peerdom.NewDeliveryID, peerbridge's one random id maker.
// Only pkg/action still imports it: once pkg/action calls peerdom.NewDeliveryID (pkg/
// must not import internal/), this package goes.
package uuid

import "github.com/peerbridge/peerbridge/pkg/peerdom"

// New returns a random version 4 UUID, lower-case, 8-4-4-4-12.
func New() string { return peerdom.NewDeliveryID() }
