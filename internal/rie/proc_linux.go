package rie

import "syscall"

// processAttr puts the emulator in its own process group, so Stop ends the bootstrap with
// it, and has the kernel kill it if this process dies first (a crash, a kill -9): no
// emulator outlives its parent.
func processAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
