// Package samapp tests the SAM application: template.yaml, events/ and the built Lambdas.
//
// Its plain tests check the template against the code (every environment variable a
// function reads is set, every CodeUri builds, policies name their resources, queue and
// rule settings) and keep events/ in step with the webhook samples and the contract
// (`go test ./internal/samapp -run TestEventFiles -update` rewrites events/).
//
// With -tags saminvoke (`make sam-test`, after `sam build`), it runs every built
// bootstrap under the Lambda Runtime Interface Emulator — what `sam local invoke` runs in
// its container — on each file in events/, with moto standing in for SQS, EventBridge and
// Secrets Manager and peerdomtest for the Peerdom API.
package samapp
