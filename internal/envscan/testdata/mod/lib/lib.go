package lib

import (
	"os"

	n "example.com/app/lib/names"
)

// Config is read through a getenv parameter, a forwarder and a field.
type Config struct {
	Getenv func(string) string
}

func Load(getenv func(string) string) string {
	return getenv(n.Queue) + orDefault(getenv, "WITH_DEFAULT", "x")
}

// orDefault forwards its key to getenv: its callers' constants are reads.
func orDefault(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}

// FromField reads through a struct field named Getenv.
func FromField(c Config) string { return c.Getenv("FIELD_VAR") }

// Unreached is never called by the programs: its read does not count.
func Unreached() string { return os.Getenv("UNREACHED") }

type T struct{}

// Method counts whoever calls it: methods are reachable through interfaces.
func (T) Method() string { return os.Getenv("METHOD_VAR") }

var fromInit string

func init() { fromInit = os.Getenv("INIT_VAR") }

var fromVar = os.Getenv("VAR_INIT")
