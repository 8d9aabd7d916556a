package rie

import (
	"os"
	"syscall"
)

// processAttr puts the emulator in its own process group, so Stop ends the bootstrap with
// it, and has the kernel kill it if this process dies first (a crash, a kill -9): no
// emulator outlives its parent.
func processAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// terminateGroup signals the emulator's process group: SIGTERM, or SIGKILL when kill.
func terminateGroup(p *os.Process, kill bool) {
	sig := syscall.SIGTERM
	if kill {
		sig = syscall.SIGKILL
	}
	_ = syscall.Kill(-p.Pid, sig)
}
