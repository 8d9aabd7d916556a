//go:build !linux

package rie

import "syscall"

// processAttr puts the emulator in its own process group, so Stop ends the bootstrap
// with it. (Only Linux can tie the emulator's life to this process's.)
func processAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
