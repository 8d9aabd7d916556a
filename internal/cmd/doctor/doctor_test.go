package doctor

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/peerbridge/peerbridge/internal/cmd/cmdutil"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi/peerdomtest"
)

func TestDoctorCommand(t *testing.T) {
	run := func(cfg peerdomtest.Config, env map[string]string, opts Options) (int, string, string) {
		s := peerdomtest.NewServer(cfg)
		defer s.Close()
		if env == nil {
			env = map[string]string{"PEERDOM_API_KEY": s.Config().APIKey}
		}
		var out, errOut bytes.Buffer
		opts.IO = cmdutil.IOStreams{Out: &out, ErrOut: &errOut}
		opts.Getenv = func(k string) string { return env[k] }
		opts.API.URL = s.URL
		code := Run(context.Background(), &opts)
		return code, out.String(), errOut.String()
	}
	code, out, _ := run(peerdomtest.Config{}, nil, Options{})
	if code != 0 || !strings.Contains(out, "CHECK") || !strings.Contains(out, "circles path") || !strings.Contains(out, "peerbridge works against this API.") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	code, out, _ = run(peerdomtest.Config{}, nil, Options{JSON: true, Write: true})
	var rep struct {
		Works  bool `json:"works"`
		Write  bool `json:"write"`
		Checks []struct{ Name, Status, Found string }
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != 0 || !rep.Works || !rep.Write || len(rep.Checks) < 10 {
		t.Fatalf("--json: exit %d, %v: %s", code, err, out)
	}
	code, out, _ = run(peerdomtest.Config{NoPlan: true}, nil, Options{})
	if code != 1 || !strings.Contains(out, "paid plan") || !strings.Contains(out, "would NOT work") {
		t.Fatalf("no plan: exit %d:\n%s", code, out)
	}
	code, _, errOut := run(peerdomtest.Config{}, map[string]string{}, Options{})
	if code != 2 || !strings.Contains(errOut, "PEERDOM_API_KEY") {
		t.Fatalf("no key: exit %d: %s", code, errOut)
	}
	var parseErr bytes.Buffer
	if _, err := Parse(cmdutil.IOStreams{Out: &bytes.Buffer{}, ErrOut: &parseErr}, nil, []string{"extra"}); cmdutil.Status(err) != 2 || !strings.Contains(parseErr.String(), "unexpected argument") {
		t.Fatalf("extra argument: status %d: %s", cmdutil.Status(err), parseErr.String())
	}
}
