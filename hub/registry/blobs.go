package registry

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/opencontainers/go-digest"
)

// blobSize returns the size of blob d if repository name holds it.
func (r *Registry) blobSize(ctx context.Context, name string, d digest.Digest) (int64, error) {
	if _, err := r.d.Stat(ctx, blobLinkPath(name, d)); err != nil {
		return 0, err
	}
	fi, err := r.d.Stat(ctx, blobDataPath(d))
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

func (r *Registry) serveBlob(ctx context.Context, w http.ResponseWriter, req *http.Request, rt route) {
	d, ok := parseDigest(rt.ref)
	if !ok {
		writeError(w, http.StatusBadRequest, codeDigestInvalid, "invalid digest", rt.ref)
		return
	}
	size, err := r.blobSize(ctx, rt.name, d)
	if isNotFound(err) {
		writeError(w, http.StatusNotFound, codeBlobUnknown, "blob unknown to registry", d)
		return
	}
	if err != nil {
		r.internalError(w, "stat blob", err)
		return
	}
	h := w.Header()
	h.Set("Docker-Content-Digest", d.String())
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Accept-Ranges", "bytes")
	h.Set("ETag", `"`+d.String()+`"`)
	h.Set("Cache-Control", "max-age=31536000")
	start, end, status := int64(0), size-1, http.StatusOK
	if rg := req.Header.Get("Range"); rg != "" && size > 0 {
		var ok bool
		start, end, ok = parseByteRange(rg, size)
		if !ok {
			h.Set("Content-Range", fmt.Sprintf("bytes */%d", size))
			writeError(w, http.StatusRequestedRangeNotSatisfiable, codeBlobUnknown, "requested range not satisfiable", rg)
			return
		}
		status = http.StatusPartialContent
		h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, end, size))
	}
	n := end - start + 1
	h.Set("Content-Length", strconv.FormatInt(n, 10))
	if req.Method == http.MethodHead || n <= 0 {
		w.WriteHeader(status)
		return
	}
	rc, err := r.d.Reader(ctx, blobDataPath(d), start)
	if err != nil {
		r.internalError(w, "read blob", err)
		return
	}
	defer rc.Close()
	w.WriteHeader(status)
	io.CopyN(w, rc, n)
}

// parseByteRange parses a single "bytes=a-b", "bytes=a-" or "bytes=-n" range.
func parseByteRange(h string, size int64) (start, end int64, ok bool) {
	spec, found := strings.CutPrefix(strings.TrimSpace(h), "bytes=")
	if !found || strings.Contains(spec, ",") {
		return 0, 0, false
	}
	a, b, found := strings.Cut(spec, "-")
	if !found {
		return 0, 0, false
	}
	var err error
	switch {
	case a == "":
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil || n <= 0 {
			return 0, 0, false
		}
		if n > size {
			n = size
		}
		return size - n, size - 1, true
	default:
		if start, err = strconv.ParseInt(a, 10, 64); err != nil || start < 0 || start >= size {
			return 0, 0, false
		}
		end = size - 1
		if b != "" {
			if end, err = strconv.ParseInt(b, 10, 64); err != nil || end < start {
				return 0, 0, false
			}
			if end > size-1 {
				end = size - 1
			}
		}
		return start, end, true
	}
}

func (r *Registry) deleteBlob(ctx context.Context, w http.ResponseWriter, rt route) {
	d, ok := parseDigest(rt.ref)
	if !ok {
		writeError(w, http.StatusBadRequest, codeDigestInvalid, "invalid digest", rt.ref)
		return
	}
	link := blobLinkPath(rt.name, d)
	if _, err := r.d.Stat(ctx, link); isNotFound(err) {
		writeError(w, http.StatusNotFound, codeBlobUnknown, "blob unknown to registry", d)
		return
	}
	if err := r.d.Delete(ctx, link); err != nil && !isNotFound(err) {
		r.internalError(w, "delete blob link", err)
		return
	}
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusAccepted)
}

// linkBlob makes blob d (already in the shared store) part of repository
// name.
func (r *Registry) linkBlob(ctx context.Context, name string, d digest.Digest) error {
	return r.d.PutContent(ctx, blobLinkPath(name, d), []byte(d.String()))
}

// blobExists reports whether the shared store holds blob d.
func (r *Registry) blobExists(ctx context.Context, d digest.Digest) (int64, bool) {
	fi, err := r.d.Stat(ctx, blobDataPath(d))
	if err != nil {
		return 0, false
	}
	return fi.Size(), true
}
