// Package p names internal types in every place the check looks.
package p

import (
	"context"
	"time"

	"example.com/m/internal/x"
)

func Result() *x.T { return nil }

func Param(ctx context.Context, in []x.I) error { return nil }

type Alias = x.T

type S struct {
	Field   map[string]x.T
	OK      time.Duration
	private x.T
}

type Iface interface {
	Method(func(x.I)) error
}

type N int

func (N) Exported() chan x.T { return nil }

func (N) unexported() x.T { return x.T{} }

var V x.I

// Fine uses only the standard library.
func Fine(ctx context.Context) (time.Time, error) { return time.Time{}, nil }
