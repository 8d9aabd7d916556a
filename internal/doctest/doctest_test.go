package doctest

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/peerbridge/peerbridge/internal/repo"
)

// blockTimeout bounds one block's run (and serve's start and drain).
const blockTimeout = 90 * time.Second

// docFiles are README.md and docs/*.md, relative to the repository's root.
func docFiles(t *testing.T, root string) []string {
	t.Helper()
	files := []string{"README.md"}
	more, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range more {
		rel, _ := filepath.Rel(root, f)
		files = append(files, rel)
	}
	return files
}

// built is cmd/peerbridge, built once for the package's tests (TestMain removes it).
var built struct {
	once sync.Once
	dir  string
	err  error
}

// buildPeerbridge builds cmd/peerbridge once into a temporary directory and returns it.
func buildPeerbridge(t *testing.T, root string) string {
	t.Helper()
	built.once.Do(func() {
		if built.dir, built.err = os.MkdirTemp("", "doctest-peerbridge-"); built.err != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", filepath.Join(built.dir, "peerbridge"), "./cmd/peerbridge")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			built.err = fmt.Errorf("go build ./cmd/peerbridge: %v\n%s", err, out)
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.dir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// sandbox is a block's own home for what peerbridge keeps per user (serve's admin file,
// its store, a redrive's journal), so that nothing of the developer's is read or written.
type sandbox struct{ cache, state, config string }

func newSandbox(t *testing.T) sandbox {
	d := t.TempDir()
	return sandbox{filepath.Join(d, "cache"), filepath.Join(d, "state"), filepath.Join(d, "config")}
}

// toDoc are the replacements that turn the sandbox's paths into those the docs show.
func (s sandbox) toDoc() []string {
	return []string{s.cache, "~/.cache", s.state, "~/.local/state", s.config, "~/.config"}
}

var goCache = func() string {
	out, err := exec.Command("go", "env", "GOCACHE").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}()

// env is the environment a block runs in: peerbridge first on PATH, the sandbox's
// directories (Go's build cache kept: a go command in a block must not rebuild the
// world), no Peerdom key, webhook token or AWS endpoint of the developer's.
func env(binDir string, sb sandbox, extra ...string) []string {
	var out []string
	for _, kv := range os.Environ() {
		switch k, _, _ := strings.Cut(kv, "="); k {
		case "PATH", "XDG_CACHE_HOME", "XDG_STATE_HOME", "XDG_CONFIG_HOME", "GOCACHE", "PEERDOM_API_KEY", "PEERDOM_API_URL",
			"PEERBRIDGE_WEBHOOK_TOKEN", "PEERBRIDGE_ADMIN_FILE", "AWS_ENDPOINT_URL":
			continue
		}
		out = append(out, kv)
	}
	out = append(out, "PATH="+binDir+string(os.PathListSeparator)+os.Getenv("PATH"),
		"XDG_CACHE_HOME="+sb.cache, "XDG_STATE_HOME="+sb.state, "XDG_CONFIG_HOME="+sb.config)
	if goCache != "" {
		out = append(out, "GOCACHE="+goCache)
	}
	return append(out, extra...)
}

// runScript runs a block's script with bash -euo pipefail from the repository's root and
// returns its output, stdout and stderr as a terminal shows them.
func runScript(t *testing.T, root string, environ []string, script string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), blockTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", script)
	cmd.Dir = root
	cmd.Env = environ
	cmd.WaitDelay = 5 * time.Second
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ctx.Err() != nil {
		err = fmt.Errorf("timed out after %s: %w", blockTimeout, err)
	}
	return out.String(), err
}

// following returns the first block after blocks[i] if it is a ```text block without tags.
func following(blocks []Block, i int) (Block, bool) {
	if i+1 < len(blocks) && blocks[i+1].Lang == "text" && len(blocks[i+1].Tags) == 0 {
		return blocks[i+1], true
	}
	return Block{}, false
}

// serveGoldens are the ```text serve blocks of a file that belong to its sh serve block
// at index i: each belongs to the next sh serve block after it, or, past the last one,
// to the last one.
func serveGoldens(blocks []Block, i int) []Block {
	var serveIdx []int
	for j, b := range blocks {
		if b.Lang == "sh" && b.Has("serve") {
			serveIdx = append(serveIdx, j)
		}
	}
	var out []Block
	for j, b := range blocks {
		if b.Lang != "text" || !b.Has("serve") {
			continue
		}
		owner := -1
		for _, s := range serveIdx {
			if s > j {
				owner = s
				break
			}
		}
		if owner < 0 && len(serveIdx) > 0 {
			owner = serveIdx[len(serveIdx)-1]
		}
		if owner == i {
			out = append(out, b)
		}
	}
	return out
}

var update = flag.Bool("update", false, "rewrite the docs' sample outputs (```text blocks after ```sh blocks) from real runs")

// edit replaces the body of a block.
type edit struct {
	block Block
	body  string
}

func TestDocs(t *testing.T) {
	t.Parallel() // its blocks run in sandboxes of their own
	root, err := repo.Root()
	if err != nil {
		t.Fatal(err)
	}
	bin := buildPeerbridge(t, root)
	ran := 0
	for _, file := range docFiles(t, root) {
		blocks, err := Blocks(filepath.Join(root, file))
		if err != nil {
			t.Fatal(err)
		}
		var edits []edit
		for i, b := range blocks {
			if b.Lang != "sh" || b.Has("aws") {
				continue
			}
			ran++
			t.Run(fmt.Sprintf("%s:%d", file, b.Line), func(t *testing.T) {
				sb := newSandbox(t)
				replace := sb.toDoc()
				var got string
				var run serveRun
				var err error
				if b.Has("serve") {
					var docToken string
					for _, g := range serveGoldens(blocks, i) {
						if m := endpointRE.FindStringSubmatch(g.Body); m != nil {
							docToken = m[2]
						}
					}
					run, err = runWithServe(t, root, bin, sb, docToken, b.Body)
					got = run.script
					replace = append(replace, run.toDoc...)
				} else {
					got, err = runScript(t, root, env(bin, sb), b.Body)
				}
				if err != nil {
					t.Fatalf("%s:%d: %v\n--- script\n%s--- output\n%s", file, b.Line, err, b.Body, got)
				}
				raw := func(s string) string { // the run's output as the doc shows it, times and ids kept
					lines := strings.Split(strings.NewReplacer(replace...).Replace(s), "\n")
					for i, l := range lines {
						if tryLineRE.MatchString(l) {
							lines[i] = strings.Replace(l, " --url http://127.0.0.1:3000", "", 1)
						}
					}
					return strings.Join(lines, "\n")
				}
				if golden, ok := following(blocks, i); ok {
					if want, have := Normalise(golden.Body, replace...), Normalise(got, replace...); want != have {
						if *update {
							edits = append(edits, edit{golden, raw(got)})
						} else {
							t.Errorf("%s:%d: the output of the block at line %d differs from the real one (normalised; go test ./internal/doctest -run TestDocs -update rewrites it):\n--- doc\n%s\n--- real\n%s\n--- real, as it printed\n%s",
								file, golden.Line, b.Line, want, have, got)
						}
					}
				}
				if !b.Has("serve") {
					return
				}
				goldens := serveGoldens(blocks, i)
				if len(goldens) == 0 {
					return // the doc does not show what serve printed
				}
				var want strings.Builder
				for _, g := range goldens {
					want.WriteString(g.Body)
				}
				serveOut := strings.Join(run.serve, "\n")
				missing, extra := lineDiff(Normalise(want.String(), replace...), Normalise(serveOut, replace...))
				if len(missing)+len(extra) == 0 {
					return
				}
				if *update {
					// The blocks before the sh serve block get what serve printed before the
					// script ran, the first after it the rest (any other after it, nothing).
					before := raw(strings.Join(run.serve[:run.split], "\n"))
					after := raw(strings.Join(run.serve[run.split:], "\n"))
					placed := false
					for _, g := range goldens {
						switch {
						case g.Line < b.Line:
							edits = append(edits, edit{g, before})
							before = ""
						case !placed:
							edits = append(edits, edit{g, before + "\n" + after})
							placed = true
						default:
							edits = append(edits, edit{g, ""})
						}
					}
					return
				}
				t.Errorf("%s:%d: serve's output (the ```text serve blocks at lines %v) differs from the real one, compared line by line in any order (-update rewrites it):\n--- in the doc, not printed\n%s\n--- printed, not in the doc\n%s\n--- serve printed\n%s",
					file, b.Line, lines(goldens), strings.Join(missing, "\n"), strings.Join(extra, "\n"), serveOut)
			})
		}
		if len(edits) > 0 {
			if err := applyEdits(filepath.Join(root, file), edits); err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: rewrote %d sample outputs from real runs", file, len(edits))
		}
	}
	if ran == 0 {
		t.Fatal("no ```sh block found in README.md or docs/")
	}
}

// applyEdits replaces the bodies of the edited blocks of a file, each line indented as its
// fence is.
func applyEdits(path string, edits []edit) error {
	src, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	lines := strings.Split(string(src), "\n")
	sort.Slice(edits, func(i, j int) bool { return edits[i].block.Line > edits[j].block.Line }) // bottom up
	for _, e := range edits {
		open := e.block.Line - 1
		end := open + 1
		for end < len(lines) && strings.TrimSpace(lines[end]) != "```" {
			end++
		}
		if end == len(lines) {
			return fmt.Errorf("%s:%d: block not closed", path, e.block.Line)
		}
		var body []string
		if strings.Trim(e.body, "\n") != "" {
			for _, l := range strings.Split(strings.Trim(e.body, "\n"), "\n") {
				if l != "" {
					l = e.block.Indent + l
				}
				body = append(body, strings.TrimRight(l, " \t\r"))
			}
		}
		rest := append([]string{}, lines[end:]...)
		lines = append(append(lines[:open+1], body...), rest...)
	}
	return os.WriteFile(path, []byte(strings.Join(lines, "\n")), 0o644)
}

func lines(bs []Block) []int {
	var out []int
	for _, b := range bs {
		out = append(out, b.Line)
	}
	return out
}

// lineDiff compares two texts as multisets of their non-blank lines.
func lineDiff(want, got string) (missing, extra []string) {
	count := map[string]int{}
	for _, l := range strings.Split(want, "\n") {
		if strings.TrimSpace(l) != "" {
			count[l]++
		}
	}
	for _, l := range strings.Split(got, "\n") {
		if strings.TrimSpace(l) == "" {
			continue
		}
		if count[l] > 0 {
			count[l]--
		} else {
			extra = append(extra, l)
		}
	}
	for l, n := range count {
		for ; n > 0; n-- {
			missing = append(missing, l)
		}
	}
	sort.Strings(missing)
	return missing, extra
}

// serve is a running `peerbridge serve` and the lines it printed.
type serve struct {
	cmd   *exec.Cmd
	mu    sync.Mutex
	lines []string
	more  chan struct{} // signalled on each line
	done  chan struct{} // closed when its output ended
}

func (s *serve) output() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.lines)
}

// waitFor waits until a line serve printed matches re, or its output ends, or the timeout.
func (s *serve) waitFor(t *testing.T, re *regexp.Regexp) []string {
	t.Helper()
	deadline := time.After(blockTimeout)
	for {
		out := s.output()
		for _, l := range out {
			if m := re.FindStringSubmatch(l); m != nil {
				return m
			}
		}
		select {
		case <-s.more:
		case <-s.done:
			for _, l := range s.output() {
				if m := re.FindStringSubmatch(l); m != nil {
					return m
				}
			}
			t.Fatalf("serve ended without printing a line matching %s:\n%s", re, strings.Join(s.output(), "\n"))
		case <-deadline:
			t.Fatalf("serve printed no line matching %s within %s:\n%s", re, blockTimeout, strings.Join(s.output(), "\n"))
		}
	}
}

var (
	endpointRE  = regexp.MustCompile(`POST (http://127\.0\.0\.1:\d+)/webhooks/(\S+)`)
	sandboxRE   = regexp.MustCompile(`sandbox Peerdom\s+http://(127\.0\.0\.1:\d+)`)
	localAWSRE  = regexp.MustCompile(`local AWS\s+http://(127\.0\.0\.1:\d+)`)
	adminRE     = regexp.MustCompile(`admin\s+http://(127\.0\.0\.1:\d+)`)
	tryRE       = regexp.MustCompile(`^\s+try\s`)
	reconcileRE = regexp.MustCompile(`(?m)^\s+reconcile\s+every`)
	baselineRE  = regexp.MustCompile(`⟳ reconcile: baseline`)
)

// serveRun is what a sh serve block's run printed.
type serveRun struct {
	script string   // the script's output
	serve  []string // serve's lines
	split  int      // how many of serve's lines it printed before the script ran
	toDoc  []string // replacements from this run's addresses and token to those the doc shows
}

// runWithServe starts `peerbridge serve` as `make run` does but on free ports, waits
// until it has printed its addresses (and its first reconciliation, which records the
// baseline), runs the script with `peerbridge send` and the default addresses pointed at
// it, the generated token in PEERBRIDGE_WEBHOOK_TOKEN and in place of the token the doc
// shows serve printing (docToken), then stops serve with SIGINT as Ctrl-C does.
func runWithServe(t *testing.T, root, bin string, sb sandbox, docToken, script string) (serveRun, error) {
	t.Helper()
	var run serveRun
	cmd := exec.Command(filepath.Join(bin, "peerbridge"), "serve",
		"--addr", "127.0.0.1:0", "--sandbox-addr", "127.0.0.1:0", "--aws-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0")
	cmd.Dir = root
	cmd.Env = env(bin, sb)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	s := &serve{cmd: cmd, more: make(chan struct{}, 1), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			s.mu.Lock()
			s.lines = append(s.lines, sc.Text())
			s.mu.Unlock()
			select {
			case s.more <- struct{}{}:
			default:
			}
		}
		io.Copy(io.Discard, pr)
	}()
	stopped := false
	stop := func() error {
		if stopped {
			return nil
		}
		stopped = true
		cmd.Process.Signal(syscall.SIGINT)
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		select {
		case err := <-exited:
			<-s.done
			return err
		case <-time.After(blockTimeout):
			cmd.Process.Kill()
			<-exited
			return fmt.Errorf("serve did not stop within %s of SIGINT", blockTimeout)
		}
	}
	t.Cleanup(func() { stop() })

	s.waitFor(t, tryRE)
	head := strings.Join(s.output(), "\n")
	if reconcileRE.MatchString(head) {
		s.waitFor(t, baselineRE)
	}
	ep := endpointRE.FindStringSubmatch(head)
	if ep == nil {
		t.Fatalf("serve printed no webhook endpoint:\n%s", head)
	}
	addr := strings.TrimPrefix(ep[1], "http://")
	toScript := []string{"127.0.0.1:3000", addr}
	run.toDoc = []string{addr, "127.0.0.1:3000"}
	if docToken != "" {
		toScript = append(toScript, docToken, ep[2])
		run.toDoc = append(run.toDoc, ep[2], docToken)
	}
	for _, x := range []struct {
		re  *regexp.Regexp
		def string
	}{{sandboxRE, "127.0.0.1:3001"}, {localAWSRE, "127.0.0.1:3002"}, {adminRE, "127.0.0.1:3003"}} {
		if m := x.re.FindStringSubmatch(head); m != nil {
			toScript = append(toScript, x.def, m[1])
			run.toDoc = append(run.toDoc, m[1], x.def)
		}
	}
	prelude := fmt.Sprintf(`peerbridge() { if [ "${1-}" = send ]; then shift; command peerbridge send --url %s "$@"; else command peerbridge "$@"; fi; }
`, ep[1])
	run.split = len(s.output())
	out, runErr := runScript(t, root, env(bin, sb, "PEERBRIDGE_WEBHOOK_TOKEN="+ep[2]), prelude+strings.NewReplacer(toScript...).Replace(script))
	run.script = out
	err = stop()
	run.serve = s.output()
	if err != nil {
		return run, fmt.Errorf("serve: %v (the script: %v)", err, runErr)
	}
	return run, runErr
}

// TestDocsAWSBlocks: a ```sh aws block is valid shell, and each peerbridge command and
// flag it names exists (as the command's -h lists it).
func TestDocsAWSBlocks(t *testing.T) {
	t.Parallel() // reads the docs, runs only -h
	root, err := repo.Root()
	if err != nil {
		t.Fatal(err)
	}
	bin := buildPeerbridge(t, root)
	helps := map[string]map[string]bool{}
	help := func(args ...string) map[string]bool {
		key := strings.Join(args, " ")
		if f, ok := helps[key]; ok {
			return f
		}
		cmd := exec.Command(filepath.Join(bin, "peerbridge"), append(args, "-h")...)
		cmd.Dir = root
		out, _ := cmd.CombinedOutput() // -h's status is not the question; its text is
		f := HelpFlags(string(out))
		if !strings.Contains(string(out), "usage: peerbridge "+args[0]) {
			f = nil
		}
		helps[key] = f
		return f
	}
	checked := 0
	for _, file := range docFiles(t, root) {
		blocks, err := Blocks(filepath.Join(root, file))
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range blocks {
			if b.Lang != "sh" {
				continue
			}
			checked++
			cmd := exec.Command("bash", "-n")
			cmd.Stdin = strings.NewReader(b.Body)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("%s:%d: bash -n: %v\n%s", file, b.Line, err, out)
			}
			for _, inv := range Invocations(b.Body) {
				if len(inv.Args) > 0 && inv.Args[0] == "help" {
					inv.Args, inv.Flags = inv.Args[1:], nil // peerbridge help [CMD]: CMD must exist
				}
				if len(inv.Args) == 0 || strings.HasPrefix(inv.Args[0], "-") {
					continue // peerbridge alone, or --version
				}
				flags := help(inv.Args[0])
				if flags == nil {
					t.Errorf("%s:%d: peerbridge %s: no such command", file, b.Line, inv.Args[0])
					continue
				}
				if len(inv.Args) > 1 && regexp.MustCompile(`^[a-z]+$`).MatchString(inv.Args[1]) {
					if sub := help(inv.Args[0], inv.Args[1]); sub != nil {
						flags = union(flags, sub)
					}
				}
				for _, f := range inv.Flags {
					if f == "h" || f == "help" {
						continue
					}
					if !flags[f] {
						t.Errorf("%s:%d: peerbridge %s has no flag --%s", file, b.Line, inv.Args[0], f)
					}
				}
			}
		}
	}
	if checked == 0 {
		t.Fatal("no ```sh block found")
	}
}

func union(a, b map[string]bool) map[string]bool {
	out := map[string]bool{}
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}
