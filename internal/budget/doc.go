// Package budget holds the tests that measure what a deployed stack's functions write to
// CloudWatch per webhook, which the stack's monthly bill is made of (issue 22): the
// custom metrics their embedded-metric-format lines create at the default Metrics
// level, and the bytes of their log output at the default LOG_LEVEL. The tests run the
// functions' real handlers (ingest, the worker, the three actions behind their runner)
// over the sample webhooks against a sandbox Peerdom, and count their output.
package budget
