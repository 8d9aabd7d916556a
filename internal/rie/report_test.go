package rie

import (
	"context"
	"testing"
	"time"
)

func TestInitDurationAndPeakRSSOfAStartedFunction(t *testing.T) {
	e := startEcho(t, Function{Bootstrap: echoBootstrap(t)})
	if _, err := e.Invoke(context.Background(), []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	d, err := e.InitDuration(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	// The REPORT line's Init Duration is always ~0.02 ms; a real process start is more.
	if d < 100*time.Microsecond || d > 10*time.Second {
		t.Errorf("init duration %s, want the INIT REPORT's durationMs", d)
	}
	rss, err := e.RuntimePeakRSS()
	if err != nil {
		t.Fatal(err)
	}
	if rss < 512<<10 || rss > 1<<30 {
		t.Errorf("peak RSS %d bytes: not the echo process's", rss)
	}
}

func TestInitDurationFailsWithoutAnInit(t *testing.T) {
	e := startEcho(t, Function{Bootstrap: echoBootstrap(t)})
	if d, err := e.InitDuration(200 * time.Millisecond); err == nil {
		t.Errorf("no invocation yet, got init duration %s", d)
	}
}
