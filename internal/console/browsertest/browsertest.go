// Package browsertest drives the console in a real browser for tests: headless Chromium
// (Debian's chromium package, which `make browser` installs) through chromedp. Only tests
// import it.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// Chromium finds a Chromium to drive: $PEERBRIDGE_CHROMIUM, else chromium on PATH. Without
// one the test is skipped, saying so (or fails, with PEERBRIDGE_REQUIRE_BROWSER set).
func Chromium(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("PEERBRIDGE_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("PEERBRIDGE_REQUIRE_BROWSER") != "" {
		t.Fatal("no chromium on PATH and PEERBRIDGE_REQUIRE_BROWSER is set: `make browser` installs Debian's chromium")
	}
	t.Skip("browser test skipped: no chromium on PATH (`make browser` installs Debian's chromium package; PEERBRIDGE_CHROMIUM names another)")
	return ""
}

// New starts a headless Chromium for the test (as root it needs --no-sandbox) at
// 1280×800 and returns a tab's context; the browser ends with the test.
func New(t testing.TB) context.Context {
	t.Helper()
	path := Chromium(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.Flag("disable-gpu", true),
		chromedp.WindowSize(1280, 800))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 800)); err != nil {
		t.Fatalf("starting %s: %v", path, err)
	}
	return ctx
}

// Timeout bounds each Step.
const Timeout = 20 * time.Second

// Step runs actions within Timeout; on failure the test stops with the page's body.
func Step(t testing.TB, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	if err := chromedp.Do(c, actions...); err != nil {
		html, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("body")))
		t.Fatalf("%s: %v\npage:\n%s", what, err, html)
	}
}

// Text is the text of the first element sel matches (waiting for it).
func Text(t testing.TB, ctx context.Context, sel string) string {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	s, err := chromedp.Run(c, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

// Eval evaluates a JavaScript expression in the page (through DevTools, which the page's
// Content-Security-Policy does not restrict).
func Eval[T any](t testing.TB, ctx context.Context, expr string) T {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	v, err := chromedp.Run(c, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	return v
}

// ColorScheme makes the page see prefers-color-scheme as scheme ("dark", "light").
func ColorScheme(scheme string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}})
		return err
	})
}

// ScreenshotDir is where screenshots go: $PEERBRIDGE_ARTIFACTS/console, else
// .artifacts/console at the repository's root (git-ignored).
func ScreenshotDir(t testing.TB) string {
	dir := os.Getenv("PEERBRIDGE_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(RepoRoot(t), ".artifacts")
	}
	dir = filepath.Join(dir, "console")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// RepoRoot is the directory of go.mod above the test's.
func RepoRoot(t testing.TB) string {
	wd, _ := os.Getwd()
	for d := wd; d != filepath.Dir(d); d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
	}
	t.Fatal("no go.mod above " + wd)
	return ""
}

// Screenshot saves the whole page as ScreenshotDir/name.png and returns the PNG.
func Screenshot(t testing.TB, ctx context.Context, name string) []byte {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	png, err := chromedp.Run(c, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(ScreenshotDir(t), name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
	return png
}
