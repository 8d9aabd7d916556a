package rie

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// initReport is the emulator's line at the end of the function's init phase. Its REPORT
// line's "Init Duration" is a constant ~0.02 ms whatever the function does; this
// durationMs is the real time from the bootstrap's start to its first /invocation/next.
var initReport = regexp.MustCompile(`INIT REPORT\(durationMs: ([0-9.]+)\)`)

// InitDuration waits up to timeout for the emulator's INIT REPORT line and returns its
// durationMs. The init phase runs on the first invocation, so invoke first.
func (e *Emulator) InitDuration(timeout time.Duration) (time.Duration, error) {
	deadline := time.Now().Add(timeout)
	for {
		if m := initReport.FindStringSubmatch(e.Logs()); m != nil {
			ms, err := strconv.ParseFloat(m[1], 64)
			if err != nil {
				return 0, fmt.Errorf("rie: INIT REPORT %q: %w", m[0], err)
			}
			return time.Duration(ms * float64(time.Millisecond)), nil
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("rie: no INIT REPORT line within %s:\n%s", timeout, e.Logs())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// RuntimePeakRSS is the peak resident memory (VmHWM) of the function's process so far,
// read from /proc (Linux only). The emulator's "Max Memory Used" only repeats the
// configured memory size, so this is the figure to read.
func (e *Emulator) RuntimePeakRSS() (bytes int64, err error) {
	pid, err := e.runtimePID()
	if err != nil {
		return 0, err
	}
	status, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return 0, fmt.Errorf("rie: function process: %w", err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("rie: VmHWM %q: %w", rest, err)
			}
			return kb * 1024, nil
		}
	}
	return 0, fmt.Errorf("rie: no VmHWM for process %d", pid)
}

// runtimePID finds the function's process: the emulator's child, in its process group.
func (e *Emulator) runtimePID() (int, error) {
	emulator := e.cmd.Process.Pid
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	for _, d := range entries {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", d.Name(), "stat"))
		if err != nil {
			continue
		}
		// stat is "pid (comm) state ppid ...": comm may hold spaces, so split after ')'.
		i := strings.LastIndexByte(string(stat), ')')
		if i < 0 {
			continue
		}
		fields := strings.Fields(string(stat[i+1:]))
		if len(fields) > 1 && fields[1] == strconv.Itoa(emulator) {
			return pid, nil
		}
	}
	return 0, fmt.Errorf("rie: no function process under emulator %d", emulator)
}
