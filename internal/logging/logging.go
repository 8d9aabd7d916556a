// Package logging builds the JSON slog logger every peerbridge Lambda and command uses:
// one JSON object per line, at the level named by LOG_LEVEL.
package logging

import (
	"io"
	"log/slog"
	"strings"
)

// DefaultLevel is used when the level is empty or not one of debug, info, warn, error.
const DefaultLevel = slog.LevelInfo

// ParseLevel reads a level name (debug, info, warn or warning, error; any case, spaces
// trimmed). ok is false for an empty or unknown name, and the level is then DefaultLevel.
func ParseLevel(name string) (level slog.Level, ok bool) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "debug":
		return slog.LevelDebug, true
	case "info":
		return slog.LevelInfo, true
	case "warn", "warning":
		return slog.LevelWarn, true
	case "error":
		return slog.LevelError, true
	}
	return DefaultLevel, false
}

// New returns a logger writing JSON lines to w at the named level (see ParseLevel).
// An unknown, non-empty level is not fatal: the logger uses DefaultLevel and says so in
// its first line, so a typo in LOG_LEVEL shows up in the logs instead of silencing them.
func New(w io.Writer, level string) *slog.Logger {
	lvl, ok := ParseLevel(level)
	logger := slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: lvl}))
	if !ok && strings.TrimSpace(level) != "" {
		logger.Warn("unknown log level; using info", "logLevel", level, "known", "debug, info, warn, error")
	}
	return logger
}

// Lambda is New without the "time" member: CloudWatch Logs stamps every line it
// receives from a function (to the millisecond), so the 41 bytes of each line's own
// time would be billed twice over for nothing (issue 22: about 130 bytes a webhook).
// The functions' bootstraps use it; commands and serve, whose lines have no such stamp,
// use New.
func Lambda(w io.Writer, level string) *slog.Logger {
	lvl, ok := ParseLevel(level)
	logger := slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: lvl, ReplaceAttr: dropTime}))
	if !ok && strings.TrimSpace(level) != "" {
		logger.Warn("unknown log level; using info", "logLevel", level, "known", "debug, info, warn, error")
	}
	return logger
}

func dropTime(groups []string, a slog.Attr) slog.Attr {
	if len(groups) == 0 && a.Key == slog.TimeKey && a.Value.Kind() == slog.KindTime {
		return slog.Attr{}
	}
	return a
}

// Discard is a logger that writes nothing, for handlers built without one.
func Discard() *slog.Logger { return slog.New(slog.DiscardHandler) }
