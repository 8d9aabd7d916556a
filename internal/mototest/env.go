package mototest

import (
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"
)

// SetEnv points the AWS SDK's environment configuration at the moto server for the rest
// of the test, so code that calls config.LoadDefaultConfig (a Lambda's main) talks to
// moto with static credentials and never reads a profile or instance metadata.
func SetEnv(t *testing.T) {
	t.Helper()
	ep := Endpoint(t)
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL":            ep,
		"AWS_REGION":                  Region,
		"AWS_ACCESS_KEY_ID":           "testing",
		"AWS_SECRET_ACCESS_KEY":       "testing",
		"AWS_SESSION_TOKEN":           "",
		"AWS_PROFILE":                 "",
		"AWS_CONFIG_FILE":             "/nonexistent/mototest/config",
		"AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/mototest/credentials",
		"AWS_EC2_METADATA_DISABLED":   "true",
	} {
		t.Setenv(k, v)
	}
}

// Getenv is a function's getenv for a test: vars over the process environment (whose
// AWS_* variables SetEnv points at moto), so a main's newHandler reads its own settings
// from vars and reaches moto.
func Getenv(vars map[string]string) func(string) string {
	return func(k string) string {
		if v, ok := vars[k]; ok {
			return v
		}
		return os.Getenv(k)
	}
}

var nameSeq atomic.Int64

// Name is base with a suffix no other call in any test process makes: moto lives as long
// as the test process (and across -count runs), so a fixed resource name would exist
// already when a test runs again.
func Name(base string) string {
	return fmt.Sprintf("%s-%d-%d", base, time.Now().UnixNano()%1e9, nameSeq.Add(1))
}
