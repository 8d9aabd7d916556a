//go:build saminvoke

package serve

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/peerbridge/peerbridge/internal/metrics"
	"github.com/peerbridge/peerbridge/internal/webhooksamples"
)

// readmeBlock is the first ```lang block of docs/actions.md's "Write your own action".
func readmeBlock(t *testing.T, lang string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "actions.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n## Write your own action\n")
	section, _, _ = strings.Cut(section, "\n## ")
	_, code, ok2 := strings.Cut(section, "```"+lang+"\n")
	code, _, ok3 := strings.Cut(code, "```\n")
	if !ok || !ok2 || !ok3 {
		t.Fatalf("docs/actions.md's \"Write your own action\" has no ```%s block", lang)
	}
	return code
}

// TestEmulatedServeRunsTheREADMEAction adds docs/actions.md's tag-circle action as that page
// says — main.go, a function with its rule in template.yaml, a Makefile target — to a
// scratch copy of the project (inside the module, under testdata so that ./... skips
// it), runs serve on it, and sends a Role Created webhook: serve builds the function with
// its target, runs it under the emulator, and its write reaches the sandbox.
func TestEmulatedServeRunsTheREADMEAction(t *testing.T) {
	if err := os.MkdirAll("testdata", 0o755); err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("testdata", "tagcircle-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	write := func(name, content string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join("..", "..", name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	template, makefile := read("template.yaml"), read("Makefile")
	before, after, ok := strings.Cut(template, "\nOutputs:\n")
	if !ok {
		t.Fatal("template.yaml has no Outputs section to insert the function before")
	}
	write("template.yaml", before+"\n"+readmeBlock(t, "yaml")+"\nOutputs:\n"+after)
	write("Makefile", makefile+"\n"+readmeBlock(t, "make"))
	write("functions/actions/tag-circle/main.go", readmeBlock(t, "go"))
	// The template with the docs' function is a valid one (make sam-test installs cfn-lint).
	lint := exec.Command(filepath.Join("..", "..", ".venv", "bin", "cfn-lint"), filepath.Join(dir, "template.yaml"))
	if out, err := lint.CombinedOutput(); err != nil {
		t.Errorf("cfn-lint on template.yaml with the docs' function: %v\n%s", err, out)
	}

	display, logs := &syncBuffer{}, &syncBuffer{}
	s, err := Start(context.Background(), Options{Addr: "127.0.0.1:0", SandboxAddr: "127.0.0.1:0", AWSAddr: "127.0.0.1:0",
		Token: "t", Template: filepath.Join(dir, "template.yaml"), LogLevel: "info", Watch: true,
		Params: map[string]string{"RoleDefaults": ""}}, display, logs) // role-defaults off: tag-circle alone writes the role
	if err != nil {
		t.Fatalf("%v\n%s", err, logs.String())
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			s.Shutdown(context.Background())
		}
	})
	if !strings.Contains(display.String(), "TagCircleFunction.RoleCreated") {
		t.Errorf("serve shows no route to TagCircleFunction:\n%s", display.String())
	}
	body, _ := webhooksamples.Body("role-created")
	resp, err := http.Post(s.webhookURL, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("webhook answered %d", resp.StatusCode)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.pipeline.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	role, _ := s.sandbox.Role(webhooksamples.RoleID)
	var circle []string
	for _, f := range role.CustomFields {
		if f.Name == "Circle" {
			circle = f.Values
		}
	}
	if !slices.Equal(circle, []string{"Research"}) {
		t.Errorf("the role's Circle is %v, want [Research] (written by tag-circle)\n%s\n%s", circle, display.String(), logs.String())
	}
	out := display.String()
	// Every action the display shows done is counted, the emulated one too (status --local
	// said ActionsDone 3 where 4 ✓ were shown).
	if shown, counted := strings.Count(out, "          ✓ "), s.localStatus(time.Now()).LastHour[metrics.ActionsDone]; shown == 0 || float64(shown) != counted {
		t.Errorf("the display shows %d actions done, status --local counts %v:\n%s", shown, counted, out)
	}
	for _, want := range []string{"↳ TagCircleFunction PUT /v1/roles/" + webhooksamples.RoleID, "✓ TagCircleFunction on Role Created"} {
		if !strings.Contains(out, want) {
			t.Errorf("serve's display lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(logs.String(), `"action":"tag-circle"`) {
		t.Errorf("the function's log lines did not reach stderr:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), "(rapid)") {
		t.Error("the emulator's own lines reached stderr")
	}

	// --watch: a change to the code is rebuilt, and the next event runs the new build.
	code := strings.ReplaceAll(readmeBlock(t, "go"), `"Circle"`, `"Kreis"`)
	time.Sleep(10 * time.Millisecond) // a later modification time than the first build's files
	write("functions/actions/tag-circle/main.go", code)
	for deadline := time.Now().Add(time.Minute); !strings.Contains(display.String(), "TagCircleFunction rebuilt"); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no rebuild after the code changed:\n%s\n%s", display.String(), logs.String())
		}
	}
	resp, err = http.Post(s.webhookURL, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if err := s.pipeline.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	role, _ = s.sandbox.Role(webhooksamples.RoleID)
	var kreis []string
	for _, f := range role.CustomFields {
		if f.Name == "Kreis" {
			kreis = f.Values
		}
	}
	if !slices.Equal(kreis, []string{"Research"}) {
		t.Errorf("after the rebuild the role's Kreis is %v, want [Research] (written by the new build)\n%s", kreis, display.String())
	}

	stopped = true
	if err := s.Shutdown(ctx); err != nil {
		t.Error(err)
	}
}
