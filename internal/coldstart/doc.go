// Package coldstart holds the cold start benchmark of the five Lambda bootstraps
// (coldstart_bench_test.go): each function's init under the pinned Lambda emulator
// (internal/rie) beside two baselines built the same way: an aws-lambda-go hello world
// (testdata/hello), and the function's SDK baseline (testdata/sdk), hello world building
// the same AWS SDK clients as the function and nothing else. The three are started in
// turn, each start in a fresh emulator process. `make bench` judges the function's init
// against its SDK baseline's (what our code adds) and prints it against hello world's;
// the package has no code of its own.
package coldstart
