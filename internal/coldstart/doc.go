// Package coldstart holds the cold start benchmark of the five Lambda bootstraps
// (coldstart_bench_test.go): each function's init under the pinned Lambda emulator
// (internal/rie) beside an aws-lambda-go hello world (testdata/hello) built the same way,
// started alternately, each start in a fresh emulator process. `make bench` judges the
// ratio; the package has no code of its own.
package coldstart
