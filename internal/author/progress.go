package author

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"
)

// progressTarget wraps a source so that every blob read draws a progress
// bar on w (a line per blob, redrawn at most every 100ms).
func progressTarget(t oras.ReadOnlyTarget, w io.Writer) oras.ReadOnlyTarget {
	if w == nil {
		return t
	}
	return &progressSource{ReadOnlyTarget: t, w: w}
}

type progressSource struct {
	oras.ReadOnlyTarget
	w  io.Writer
	mu sync.Mutex
}

func (p *progressSource) Fetch(ctx context.Context, d ocispec.Descriptor) (io.ReadCloser, error) {
	rc, err := p.ReadOnlyTarget.Fetch(ctx, d)
	if err != nil || d.Size < 64<<10 {
		return rc, err
	}
	return &progressReader{ReadCloser: rc, src: p, d: d}, nil
}

type progressReader struct {
	io.ReadCloser
	src  *progressSource
	d    ocispec.Descriptor
	n    int64
	last time.Time
}

func (r *progressReader) Read(b []byte) (int, error) {
	n, err := r.ReadCloser.Read(b)
	r.n += int64(n)
	if now := time.Now(); now.Sub(r.last) > 100*time.Millisecond || err == io.EOF {
		r.last = now
		const width = 30
		done := int(float64(width) * float64(r.n) / float64(max(r.d.Size, 1)))
		bar := make([]byte, width)
		for i := range bar {
			bar[i] = ' '
			if i < done {
				bar[i] = '#'
			}
		}
		r.src.mu.Lock()
		fmt.Fprintf(r.src.w, "\r\033[K  %-14s [%s] %s / %s", label(r.d), bar, humanSize(r.n), humanSize(r.d.Size))
		r.src.mu.Unlock()
	}
	return n, err
}
