// Package peerdom knows Peerdom's webhooks and the events peerbridge makes of them:
// the webhook body, the Delivery envelope queued by ingest, the Markdown parser and the
// event JSON of the contract (docs/contract.md). It imports only the standard library and
// knows nothing of AWS.
package peerdom
