package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/peerbridge/peerbridge/pkg/peerdomapi/peerdomtest"
)

func TestDoctorCommand(t *testing.T) {
	run := func(cfg peerdomtest.Config, env map[string]string, args ...string) (int, string, string) {
		s := peerdomtest.NewServer(cfg)
		defer s.Close()
		if env == nil {
			env = map[string]string{"PEERDOM_API_KEY": s.Config().APIKey}
		}
		var out, errOut bytes.Buffer
		code := doctorMain(context.Background(), append([]string{"--api-url", s.URL}, args...), func(k string) string { return env[k] }, &out, &errOut)
		return code, out.String(), errOut.String()
	}
	code, out, _ := run(peerdomtest.Config{}, nil)
	if code != 0 || !strings.Contains(out, "CHECK") || !strings.Contains(out, "circles path") || !strings.Contains(out, "peerbridge works against this API.") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	code, out, _ = run(peerdomtest.Config{}, nil, "--json", "--write")
	var rep struct {
		Works  bool `json:"works"`
		Write  bool `json:"write"`
		Checks []struct{ Name, Status, Found string }
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != 0 || !rep.Works || !rep.Write || len(rep.Checks) < 10 {
		t.Fatalf("--json: exit %d, %v: %s", code, err, out)
	}
	code, out, _ = run(peerdomtest.Config{NoPlan: true}, nil)
	if code != 1 || !strings.Contains(out, "paid plan") || !strings.Contains(out, "would NOT work") {
		t.Fatalf("no plan: exit %d:\n%s", code, out)
	}
	code, _, errOut := run(peerdomtest.Config{}, map[string]string{})
	if code != 2 || !strings.Contains(errOut, "PEERDOM_API_KEY") {
		t.Fatalf("no key: exit %d: %s", code, errOut)
	}
	if code, _, errOut := run(peerdomtest.Config{}, nil, "extra"); code != 2 || !strings.Contains(errOut, "unexpected argument") {
		t.Fatalf("extra argument: exit %d: %s", code, errOut)
	}
}
