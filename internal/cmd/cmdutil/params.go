package cmdutil

import (
	"fmt"
	"strings"
)

// ParamFlag collects repeated --param NAME=VALUE (template parameters).
type ParamFlag map[string]string

func (p ParamFlag) String() string { return "" }

func (p ParamFlag) Set(s string) error {
	name, value, ok := strings.Cut(s, "=")
	if !ok || name == "" {
		return fmt.Errorf("want NAME=VALUE, got %q", s)
	}
	p[name] = value
	return nil
}
