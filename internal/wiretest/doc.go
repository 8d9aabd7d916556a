// Package wiretest holds the pipeline's end-to-end wire test: ingest and worker wired
// as functions/ingest and functions/worker wire them (internal/queue/sqsqueue, internal/bus/eventbridgebus,
// internal/secrets), driving the real aws-sdk-go-v2 clients against moto, for every case of
// the shared corpus; and the worker behind a queue with a redrive policy, polled as the
// SQS event source mapping does (queue.Poll), until a bad message is dead-lettered. It
// has no code of its own.
package wiretest
