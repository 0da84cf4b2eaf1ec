package config

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
)

// WatchDebounce is how long Watch waits after the last file event before
// reading the file, so an editor's write-then-rename is read once, whole.
var WatchDebounce = 25 * time.Millisecond

// Watch calls onChange with the parsed file each time its content changes,
// until ctx ends. It watches the file's directory, so editors that replace
// the file (write a temporary file, rename it over the old one) and
// Kubernetes ConfigMap symlink swaps are seen. An invalid file is passed to
// onChange as an error (an Errors value with file, line and field), and the
// next valid version is delivered normally. The content present when Watch
// starts is not delivered: load it with Load first.
func Watch(ctx context.Context, path string, onChange func(*Config, error)) error {
	data, _ := os.ReadFile(path)
	return WatchSince(ctx, path, data, onChange)
}

// WatchSince is Watch for a caller that already read the file: data is the
// content it loaded, so a change made after that read (even before the watch
// starts) is delivered.
func WatchSince(ctx context.Context, path string, data []byte, onChange func(*Config, error)) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("cannot watch %s: %w", path, err)
	}
	dir := filepath.Dir(path)
	if err := w.Add(dir); err != nil {
		w.Close()
		return fmt.Errorf("cannot watch %s: %w", dir, err)
	}
	last := sha256.Sum256(data)
	go func() {
		defer w.Close()
		var timer *time.Timer
		var fire <-chan time.Time
		// A change between the caller's read and the start of the watch is
		// delivered at once.
		if cur, err := os.ReadFile(path); err == nil && sha256.Sum256(cur) != last {
			timer = time.NewTimer(0)
			fire = timer.C
		}
		for {
			select {
			case <-ctx.Done():
				return
			case _, ok := <-w.Events:
				if !ok {
					return
				}
				// Any event in the directory may change what path resolves to.
				if timer == nil {
					timer = time.NewTimer(WatchDebounce)
				} else {
					timer.Reset(WatchDebounce)
				}
				fire = timer.C
			case err, ok := <-w.Errors:
				if !ok {
					return
				}
				onChange(nil, fmt.Errorf("watching %s: %w", path, err))
			case <-fire:
				fire = nil
				data, err := os.ReadFile(path)
				if err != nil {
					if os.IsNotExist(err) {
						continue // mid-replace; the rename event follows
					}
					onChange(nil, fmt.Errorf("cannot read the proxy config: %w", err))
					continue
				}
				h := sha256.Sum256(data)
				if h == last {
					continue
				}
				last = h
				cfg, err := Parse(path, data)
				onChange(cfg, err)
			}
		}
	}()
	return nil
}
