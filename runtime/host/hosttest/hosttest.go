// Package hosttest has helpers for tests that run proxy-wasm modules in the
// host: a log recorder and a process-wide shared Runtime that compiles each
// module once.
package hosttest

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// Logs records log records; it is a slog.Handler.
type Logs struct {
	mu      sync.Mutex
	records []Record
	attrs   []slog.Attr
	parent  *Logs
}

// Record is one captured log line.
type Record struct {
	Level   slog.Level
	Message string
	Plugin  string
}

func (l *Logs) root() *Logs {
	if l.parent != nil {
		return l.parent.root()
	}
	return l
}

// Enabled implements slog.Handler.
func (l *Logs) Enabled(context.Context, slog.Level) bool { return true }

// Handle implements slog.Handler.
func (l *Logs) Handle(_ context.Context, r slog.Record) error {
	rec := Record{Level: r.Level, Message: r.Message}
	for _, a := range l.attrs {
		if a.Key == "plugin" {
			rec.Plugin = a.Value.String()
		}
	}
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "plugin" {
			rec.Plugin = a.Value.String()
		}
		return true
	})
	root := l.root()
	root.mu.Lock()
	root.records = append(root.records, rec)
	root.mu.Unlock()
	if os.Getenv("HOSTTEST_VERBOSE") != "" {
		os.Stderr.WriteString(rec.Plugin + ": " + r.Level.String() + " " + rec.Message + "\n")
	}
	return nil
}

// WithAttrs implements slog.Handler.
func (l *Logs) WithAttrs(as []slog.Attr) slog.Handler {
	return &Logs{parent: l.root(), attrs: append(append([]slog.Attr(nil), l.attrs...), as...)}
}

// WithGroup implements slog.Handler.
func (l *Logs) WithGroup(string) slog.Handler { return l }

// Lines returns the messages logged by plugin (all plugins when "").
func (l *Logs) Lines(plugin string) []string {
	root := l.root()
	root.mu.Lock()
	defer root.mu.Unlock()
	var out []string
	for _, r := range root.records {
		if plugin == "" || r.Plugin == plugin {
			out = append(out, r.Message)
		}
	}
	return out
}

// Find reports whether plugin logged a line containing substr.
func (l *Logs) Find(plugin, substr string) bool {
	for _, m := range l.Lines(plugin) {
		if strings.Contains(m, substr) {
			return true
		}
	}
	return false
}

// WaitFor polls until plugin logged a line containing substr or the timeout.
func (l *Logs) WaitFor(tb testing.TB, plugin, substr string, timeout time.Duration) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if l.Find(plugin, substr) {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	tb.Fatalf("plugin %q never logged %q; its lines:\n%s", plugin, substr, strings.Join(l.Lines(plugin), "\n"))
}
