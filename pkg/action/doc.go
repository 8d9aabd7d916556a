// Package action runs automations on peerbridge events: given a typed Event, it skips
// events authored by the automation's own identity, resolves the entity an event is
// about through the Peerdom API, logs one JSON line per event, and returns errors so
// that EventBridge retries and then dead-letters the event.
//
// Three actions ship with peerbridge: OnboardPeer, RoleDefaults and Enrich. Each checks
// whether the desired state already holds before it writes, so an event delivered twice,
// or the webhook that its own write makes Peerdom send, changes nothing further.
//
// The package knows nothing of AWS nor of Lambda; pkg/action/awsaction converts
// EventBridge's events for a Runner in a Lambda function and reads the Peerdom API key
// from an SSM SecureString parameter.
package action
