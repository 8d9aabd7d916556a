package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/peerbridge/peerbridge/internal/localaws"
)

// LocalTwins (serve's side of invoke --local) finds a running serve's local AWS endpoint,
// or starts the pipeline in this process for the invocation (its display on stderr), and
// returns what the function needs to reach it; stop ends what was started, once its work
// is done.
func LocalTwins(ctx context.Context, template, localEndpoint string, stderr io.Writer) (LocalDescription, func(), error) {
	awsOf := func(i AdminInfo) string { return i.AWSEndpoint }
	_, serves, err := RunningServes()
	if err != nil {
		return LocalDescription{}, nil, fmt.Errorf("--local: %w", err)
	}
	if localEndpoint != "" || slices.ContainsFunc(serves, func(r RunningServe) bool { return r.Info.AWSEndpoint != "" }) {
		r, err := PickServe(localEndpoint, "--local-endpoint", awsOf)
		if err != nil {
			return LocalDescription{}, nil, fmt.Errorf("--local: %w", err)
		}
		d, err := FetchLocalDescription(ctx, r.Info)
		if err != nil {
			return d, nil, fmt.Errorf("--local: the serve %s: %w", r, err)
		}
		fmt.Fprintf(stderr, "peerbridge invoke: --local: posting to the running serve %s\n", r)
		return d, func() {}, nil
	}
	fmt.Fprintln(stderr, "peerbridge invoke: --local: no serve running (make run starts one); starting the twins and the sandbox for this invocation")
	s, err := Start(ctx, Options{Addr: "127.0.0.1:0", SandboxAddr: "127.0.0.1:0", AWSAddr: "127.0.0.1:0",
		Template: template, Params: map[string]string{}, LogLevel: "warn", NoAdminFile: true}, stderr, stderr)
	if err != nil {
		return LocalDescription{}, nil, fmt.Errorf("--local: starting the twins: %w", err)
	}
	stop := func() {
		res, err := s.Stop(30 * time.Second)
		if err == nil && res.Spilled+res.Lost > 0 {
			err = errors.New("work was left undone")
		}
		if err != nil {
			fmt.Fprintf(stderr, "peerbridge invoke: --local: %v\n", err)
		}
	}
	return s.Local(), stop, nil
}

// FetchLocalDescription asks a serve's local AWS endpoint what a function needs, signed
// with the credentials of its admin file.
func FetchLocalDescription(ctx context.Context, info AdminInfo) (LocalDescription, error) {
	var d LocalDescription
	if info.AWS == nil {
		return d, errors.New("its admin file holds no credentials for the local AWS endpoint: restart that serve")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(info.AWSEndpoint, "/")+LocalDescriptionPath, nil)
	if err != nil {
		return d, err
	}
	if err := localaws.Sign(ctx, req, *info.AWS, nil); err != nil {
		return d, err
	}
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		return d, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return d, fmt.Errorf("%s answered %s: %s", info.AWSEndpoint, resp.Status, bytes.TrimSpace(msg))
	}
	if err := json.NewDecoder(resp.Body).Decode(&d); err != nil {
		return d, err
	}
	d.Creds = *info.AWS
	return d, nil
}
