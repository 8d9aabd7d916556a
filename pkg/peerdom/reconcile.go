package peerdom

// OriginReconcile is Detail.Origin on an event found by reconciliation (docs/contract.md);
// events from webhooks have no origin.
const OriginReconcile = "reconcile"
