package rie

import (
	"os"
	"syscall"
)

// The emulator is a Linux program: on Windows, Start fails at exec. These keep the
// package (and the peerbridge command that imports it) building there.
func processAttr() *syscall.SysProcAttr { return nil }

func terminateGroup(p *os.Process, _ bool) { _ = p.Kill() }
