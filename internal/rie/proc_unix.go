//go:build unix && !linux

package rie

import (
	"os"
	"syscall"
)

// processAttr puts the emulator in its own process group, so Stop ends the bootstrap
// with it. (Only Linux can tie the emulator's life to this process's.)
func processAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

// terminateGroup signals the emulator's process group: SIGTERM, or SIGKILL when kill.
func terminateGroup(p *os.Process, kill bool) {
	sig := syscall.SIGTERM
	if kill {
		sig = syscall.SIGKILL
	}
	_ = syscall.Kill(-p.Pid, sig)
}
