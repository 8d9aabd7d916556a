// Package serve is `peerbridge serve`: the whole pipeline on one machine (the webhook
// endpoint, the queue, the worker, the bus, the template's rules and the actions, in
// process or under the Lambda emulator), against an in-memory sandbox Peerdom or a real
// one, with a local AWS endpoint for `invoke --local` and an admin endpoint for `status
// --local` and `dlq --local`.
//
// Start builds and serves from Options (cmd/peerbridge turns the flags into them); Run
// serves until its context ends and shuts down; a Stack's methods in api.go are what a
// console in the same process reads and does. Everything the pipeline does is recorded
// in a typed stream (Stack.Records, internal/observe) that the terminal display, the
// admin endpoint's counts and the console read.
package serve
