// Package wiretest holds the pipeline's end-to-end wire test: ingest and worker wired
// as functions/ingest and functions/worker wire them (internal/queue/sqsqueue, internal/bus/eventbridgebus,
// internal/secrets), driving the real aws-sdk-go-v2 clients against moto, for every case of
// the shared corpus. It has no code of its own.
package wiretest
