package serve

import (
	"context"
	"debug/elf"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/peerbridge/peerbridge/internal/samtemplate"
)

// BuildFunction builds fn as `sam build` does, but for this machine's architecture (the
// emulator runs it natively), into .aws-sam/local-<arch>/<LogicalId>/, and returns its
// bootstrap. BuildMethod makefile runs the Makefile's build-<LogicalId> target with
// ARTIFACTS_DIR set, as sam does, and LAMBDA_GOARCH (this project's Makefile's variable
// for the architecture); go1.x runs go build on CodeUri.
func BuildFunction(ctx context.Context, root string, fn samtemplate.Function, stderr io.Writer) (string, error) {
	out, err := filepath.Abs(filepath.Join(root, ".aws-sam", "local-"+runtime.GOARCH, fn.LogicalID))
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return "", err
	}
	var cmd *exec.Cmd
	switch fn.BuildMethod {
	case "makefile":
		cmd = exec.CommandContext(ctx, "make", "--no-print-directory", "build-"+fn.LogicalID, "ARTIFACTS_DIR="+out, "LAMBDA_GOARCH="+runtime.GOARCH)
	case "go1.x":
		cmd = exec.CommandContext(ctx, "go", "build", "-tags", "lambda.norpc", "-o", filepath.Join(out, "bootstrap"), "./"+strings.TrimPrefix(fn.CodeURI, "./"))
		cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+runtime.GOARCH, "CGO_ENABLED=0")
	default:
		return "", fmt.Errorf("%s: Metadata BuildMethod %q: peerbridge builds makefile (a build-%s target writing $(ARTIFACTS_DIR)/bootstrap) and go1.x functions; add one of those", fn.LogicalID, fn.BuildMethod, fn.LogicalID)
	}
	cmd.Dir = root
	cmd.Stdout, cmd.Stderr = stderr, stderr
	if err := cmd.Run(); err != nil {
		if fn.BuildMethod == "makefile" {
			return "", fmt.Errorf("building %s: make build-%s: %w (the Makefile needs a build-%s target writing $(ARTIFACTS_DIR)/bootstrap, as README's \"Write your own action\" shows)", fn.LogicalID, fn.LogicalID, err, fn.LogicalID)
		}
		return "", fmt.Errorf("building %s: %w", fn.LogicalID, err)
	}
	bootstrap := filepath.Join(out, "bootstrap")
	if _, err := os.Stat(bootstrap); err != nil {
		return "", fmt.Errorf("building %s wrote no %s: a build target must write $(ARTIFACTS_DIR)/bootstrap", fn.LogicalID, bootstrap)
	}
	if err := checkArch(bootstrap); err != nil {
		return "", fmt.Errorf("%s: %w", fn.LogicalID, err)
	}
	return bootstrap, nil
}

// checkArch refuses an executable built for another architecture, which would fail only
// at invoke time with "exec format error". A script (any runtime) is not checked.
func checkArch(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return nil // not ELF
	}
	defer f.Close()
	want := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}[runtime.GOARCH]
	if want != 0 && f.Machine != want {
		return fmt.Errorf("the bootstrap is built for %v, this machine runs %s: have the build target honour LAMBDA_GOARCH (GOARCH=$(LAMBDA_GOARCH))", f.Machine, runtime.GOARCH)
	}
	return nil
}
