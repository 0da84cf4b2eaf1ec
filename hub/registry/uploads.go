package registry

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
)

func newUploadID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func uploadLocation(name, id string) string { return "/v2/" + name + "/blobs/uploads/" + id }

func blobLocation(name string, d digest.Digest) string { return "/v2/" + name + "/blobs/" + d.String() }

// errTooLarge reports a blob beyond Config.MaxUploadSize.
var errTooLarge = errors.New("blob too large")

func (r *Registry) tooLarge(w http.ResponseWriter) {
	writeError(w, http.StatusRequestEntityTooLarge, codeSizeInvalid,
		fmt.Sprintf("blob exceeds this hub's upload limit of %d bytes", r.cfg.MaxUploadSize), nil)
}

// createUpload starts an upload session and returns its id.
func (r *Registry) createUpload(ctx context.Context, name string) (string, error) {
	id := newUploadID()
	dir := uploadDir(name, id)
	if err := r.d.PutContent(ctx, path.Join(dir, "startedat"), []byte(time.Now().UTC().Format(time.RFC3339))); err != nil {
		return "", err
	}
	fw, err := r.d.Writer(ctx, path.Join(dir, "data"), false)
	if err != nil {
		return "", err
	}
	if err := fw.Commit(ctx); err != nil {
		fw.Close()
		return "", err
	}
	return id, fw.Close()
}

// uploadSize returns the bytes received so far by upload id, or a
// not-found error.
func (r *Registry) uploadSize(ctx context.Context, name, id string) (int64, error) {
	if !uploadIDRE.MatchString(id) {
		return 0, errNoUpload
	}
	dir := uploadDir(name, id)
	if _, err := r.d.Stat(ctx, path.Join(dir, "startedat")); err != nil {
		if isNotFound(err) {
			return 0, errNoUpload
		}
		return 0, err
	}
	fi, err := r.d.Stat(ctx, path.Join(dir, "data"))
	if isNotFound(err) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

var errNoUpload = errors.New("upload unknown")

// hashState is the saved sha256 state of an upload's first Offset bytes,
// so that finishing an upload need not read it back (sha256 is what nearly
// every client uses; other algorithms re-read the data).
type hashState struct {
	Offset int64  `json:"offset"`
	State  []byte `json:"state"`
}

func hashStatePath(name, id string) string { return path.Join(uploadDir(name, id), "sha256state") }

// loadHash returns a sha256 hash resumed at offset size, or nil when no
// matching state was saved.
func (r *Registry) loadHash(ctx context.Context, name, id string, size int64) hash.Hash {
	h := sha256.New()
	if size == 0 {
		return h
	}
	b, err := r.d.GetContent(ctx, hashStatePath(name, id))
	if err != nil {
		return nil
	}
	var st hashState
	if json.Unmarshal(b, &st) != nil || st.Offset != size {
		return nil
	}
	if h.(encoding.BinaryUnmarshaler).UnmarshalBinary(st.State) != nil {
		return nil
	}
	return h
}

func (r *Registry) saveHash(ctx context.Context, name, id string, size int64, h hash.Hash) {
	if h == nil {
		r.d.Delete(ctx, hashStatePath(name, id))
		return
	}
	state, err := h.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		return
	}
	b, _ := json.Marshal(hashState{Offset: size, State: state})
	r.d.PutContent(ctx, hashStatePath(name, id), b)
}

// appendUpload appends body to upload id, which holds size bytes, and
// returns the new size. It enforces MaxUploadSize and keeps the running
// sha256 state.
func (r *Registry) appendUpload(ctx context.Context, name, id string, size int64, body io.Reader, contentLength int64) (int64, error) {
	limit := int64(-1)
	if r.cfg.MaxUploadSize > 0 {
		limit = r.cfg.MaxUploadSize - size
		if contentLength > limit {
			return size, errTooLarge
		}
	}
	fw, err := r.d.Writer(ctx, path.Join(uploadDir(name, id), "data"), true)
	if err != nil {
		return size, err
	}
	src := body
	if limit >= 0 {
		src = io.LimitReader(body, limit+1)
	}
	h := r.loadHash(ctx, name, id, size)
	var dst io.Writer = fw
	if h != nil {
		dst = io.MultiWriter(fw, h)
	}
	n, copyErr := io.Copy(dst, src)
	if limit >= 0 && n > limit {
		fw.Cancel(ctx)
		fw.Close()
		r.d.Delete(ctx, uploadDir(name, id))
		return size, errTooLarge
	}
	// Keep what arrived even when the client went away, so that the
	// upload's status tells it where to resume.
	if err := fw.Commit(ctx); err != nil {
		fw.Close()
		return size, err
	}
	fw.Close()
	if n > 0 || size == 0 {
		r.saveHash(ctx, name, id, size+n, h)
	}
	if copyErr != nil {
		return size + n, copyErr
	}
	return size + n, nil
}

// commitUpload verifies that upload id has digest d, moves it into the
// shared store and links it into repository name.
func (r *Registry) commitUpload(ctx context.Context, name, id string, d digest.Digest) (int64, error) {
	dir := uploadDir(name, id)
	data := path.Join(dir, "data")
	fi, err := r.d.Stat(ctx, data)
	if err != nil {
		return 0, err
	}
	n := fi.Size()
	var h hash.Hash
	if d.Algorithm() == digest.SHA256 {
		h = r.loadHash(ctx, name, id, n)
	}
	if h == nil {
		h = newHash(d.Algorithm().String())
		rc, err := r.d.Reader(ctx, data, 0)
		if err != nil {
			return 0, err
		}
		m, err := io.Copy(h, rc)
		rc.Close()
		if err != nil {
			return 0, err
		}
		n = m
	}
	if got := digest.NewDigestFromEncoded(d.Algorithm(), hex.EncodeToString(h.Sum(nil))); got != d {
		r.d.Delete(ctx, dir)
		return 0, errDigestMismatch
	}
	if _, exists := r.blobExists(ctx, d); exists {
		r.d.Delete(ctx, dir)
	} else {
		if err := r.d.Move(ctx, data, blobDataPath(d)); err != nil {
			return 0, err
		}
		r.d.Delete(ctx, dir)
	}
	if err := r.linkBlob(ctx, name, d); err != nil {
		return 0, err
	}
	return n, nil
}

var errDigestMismatch = errors.New("digest mismatch")

func (r *Registry) startUpload(ctx context.Context, w http.ResponseWriter, req *http.Request, rt route) {
	q := req.URL.Query()
	if mount := q.Get("mount"); mount != "" {
		if d, ok := parseDigest(mount); ok && r.tryMount(ctx, rt.name, q.Get("from"), d) {
			w.Header().Set("Location", blobLocation(rt.name, d))
			w.Header().Set("Docker-Content-Digest", d.String())
			w.Header().Set("Content-Length", "0")
			w.WriteHeader(http.StatusCreated)
			return
		}
		// Not mountable: fall back to a plain upload session (202).
	}
	var want digest.Digest
	if ds := q.Get("digest"); ds != "" {
		d, ok := parseDigest(ds)
		if !ok {
			writeError(w, http.StatusBadRequest, codeDigestInvalid, "invalid digest", ds)
			return
		}
		want = d
	}
	if r.cfg.MaxUploadSize > 0 && req.ContentLength > r.cfg.MaxUploadSize {
		r.tooLarge(w)
		return
	}
	id, err := r.createUpload(ctx, rt.name)
	if err != nil {
		r.internalError(w, "create upload", err)
		return
	}
	if want != "" {
		// Monolithic upload: the whole blob is the POST body.
		if _, err := r.appendUpload(ctx, rt.name, id, 0, req.Body, req.ContentLength); err != nil {
			r.failUpload(ctx, w, rt.name, id, err)
			return
		}
		r.finish(ctx, w, rt.name, id, want)
		return
	}
	h := w.Header()
	h.Set("Location", uploadLocation(rt.name, id))
	h.Set("Docker-Upload-UUID", id)
	h.Set("Range", "0-0")
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusAccepted)
}

// tryMount links blob d into name from repository from, or, when from is
// empty ("anonymous" mount, by digest alone), from any repository that
// holds it and that the caller may pull ([Config.CanPull]; everything when
// that is nil). The caller has already checked that it may pull from.
func (r *Registry) tryMount(ctx context.Context, name, from string, d digest.Digest) bool {
	switch {
	case from != "":
		if !ValidRepository(from) {
			return false
		}
		if _, err := r.blobSize(ctx, from, d); err != nil {
			return false
		}
	case r.cfg.CanPull == nil:
		if _, ok := r.blobExists(ctx, d); !ok {
			return false
		}
	default:
		if _, ok := r.blobExists(ctx, d); !ok || !r.readableSomewhere(ctx, d) {
			return false
		}
	}
	return r.linkBlob(ctx, name, d) == nil
}

// maxMountScan bounds the repositories an anonymous mount looks through;
// past it the client simply uploads the blob.
const maxMountScan = 2000

// readableSomewhere reports whether a repository the caller may pull holds
// blob d.
func (r *Registry) readableSomewhere(ctx context.Context, d digest.Digest) bool {
	repos, err := r.listRepositories(ctx, true)
	if err != nil || len(repos) > maxMountScan {
		return false
	}
	for _, repo := range repos {
		if _, err := r.d.Stat(ctx, blobLinkPath(repo, d)); err == nil && r.cfg.CanPull(ctx, repo) {
			return true
		}
	}
	return false
}

func (r *Registry) failUpload(ctx context.Context, w http.ResponseWriter, name, id string, err error) {
	switch {
	case errors.Is(err, errTooLarge):
		r.d.Delete(ctx, uploadDir(name, id))
		r.tooLarge(w)
	case errors.Is(err, errNoUpload):
		writeError(w, http.StatusNotFound, codeBlobUploadUnknown, "blob upload unknown to registry", id)
	case errors.Is(err, errDigestMismatch):
		writeError(w, http.StatusBadRequest, codeDigestInvalid, "provided digest did not match uploaded content", nil)
	default:
		r.internalError(w, "upload", err)
	}
}

func (r *Registry) finish(ctx context.Context, w http.ResponseWriter, name, id string, d digest.Digest) {
	if _, err := r.commitUpload(ctx, name, id, d); err != nil {
		r.failUpload(ctx, w, name, id, err)
		return
	}
	h := w.Header()
	h.Set("Location", blobLocation(name, d))
	h.Set("Docker-Content-Digest", d.String())
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusCreated)
}

func setUploadHeaders(w http.ResponseWriter, name, id string, size int64) {
	h := w.Header()
	h.Set("Location", uploadLocation(name, id))
	h.Set("Docker-Upload-UUID", id)
	end := size - 1
	if end < 0 {
		end = 0
	}
	h.Set("Range", fmt.Sprintf("0-%d", end))
	h.Set("Content-Length", "0")
}

func (r *Registry) uploadStatus(ctx context.Context, w http.ResponseWriter, rt route) {
	size, err := r.uploadSize(ctx, rt.name, rt.ref)
	if err != nil {
		r.failUpload(ctx, w, rt.name, rt.ref, err)
		return
	}
	setUploadHeaders(w, rt.name, rt.ref, size)
	w.WriteHeader(http.StatusNoContent)
}

// checkContentRange validates a chunk's Content-Range against the bytes
// received so far; ok is false when the chunk is out of order.
func checkContentRange(h string, size, contentLength int64) bool {
	if h == "" {
		return true
	}
	h = strings.TrimPrefix(strings.TrimSpace(h), "bytes ")
	a, b, found := strings.Cut(h, "-")
	if !found {
		return false
	}
	if i := strings.IndexByte(b, '/'); i >= 0 {
		b = b[:i]
	}
	start, err1 := strconv.ParseInt(a, 10, 64)
	end, err2 := strconv.ParseInt(b, 10, 64)
	if err1 != nil || err2 != nil || start != size || end < start {
		return false
	}
	return contentLength < 0 || end-start+1 == contentLength
}

func (r *Registry) patchUpload(ctx context.Context, w http.ResponseWriter, req *http.Request, rt route) {
	size, err := r.uploadSize(ctx, rt.name, rt.ref)
	if err != nil {
		r.failUpload(ctx, w, rt.name, rt.ref, err)
		return
	}
	if !checkContentRange(req.Header.Get("Content-Range"), size, req.ContentLength) {
		setUploadHeaders(w, rt.name, rt.ref, size)
		h := w.Header()
		h.Del("Content-Length")
		writeError(w, http.StatusRequestedRangeNotSatisfiable, codeBlobUploadInvalid, "chunk out of order: resume at the offset in the Range header", nil)
		return
	}
	size, err = r.appendUpload(ctx, rt.name, rt.ref, size, req.Body, req.ContentLength)
	if err != nil {
		r.failUpload(ctx, w, rt.name, rt.ref, err)
		return
	}
	setUploadHeaders(w, rt.name, rt.ref, size)
	w.WriteHeader(http.StatusAccepted)
}

func (r *Registry) finishUpload(ctx context.Context, w http.ResponseWriter, req *http.Request, rt route) {
	ds := req.URL.Query().Get("digest")
	d, ok := parseDigest(ds)
	if !ok {
		writeError(w, http.StatusBadRequest, codeDigestInvalid, "missing or invalid digest parameter", ds)
		return
	}
	size, err := r.uploadSize(ctx, rt.name, rt.ref)
	if err != nil {
		r.failUpload(ctx, w, rt.name, rt.ref, err)
		return
	}
	if req.ContentLength != 0 {
		if !checkContentRange(req.Header.Get("Content-Range"), size, req.ContentLength) {
			setUploadHeaders(w, rt.name, rt.ref, size)
			w.Header().Del("Content-Length")
			writeError(w, http.StatusRequestedRangeNotSatisfiable, codeBlobUploadInvalid, "chunk out of order: resume at the offset in the Range header", nil)
			return
		}
		if _, err := r.appendUpload(ctx, rt.name, rt.ref, size, req.Body, req.ContentLength); err != nil {
			r.failUpload(ctx, w, rt.name, rt.ref, err)
			return
		}
	}
	r.finish(ctx, w, rt.name, rt.ref, d)
}

func (r *Registry) cancelUpload(ctx context.Context, w http.ResponseWriter, rt route) {
	if _, err := r.uploadSize(ctx, rt.name, rt.ref); err != nil {
		r.failUpload(ctx, w, rt.name, rt.ref, err)
		return
	}
	if err := r.d.Delete(ctx, uploadDir(rt.name, rt.ref)); err != nil && !isNotFound(err) {
		r.internalError(w, "cancel upload", err)
		return
	}
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusNoContent)
}

// PurgeUploads deletes upload sessions older than the configured UploadTTL
// and returns how many it removed.
func (r *Registry) PurgeUploads(ctx context.Context) (int, error) {
	repos, err := r.listRepositories(ctx, true)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, name := range repos {
		ids, err := r.d.List(ctx, repoPath(name, "_uploads"))
		if err != nil {
			continue
		}
		for _, p := range ids {
			b, err := r.d.GetContent(ctx, path.Join(p, "startedat"))
			started, perr := time.Parse(time.RFC3339, string(b))
			if err != nil || perr != nil || time.Since(started) > r.cfg.UploadTTL {
				if r.d.Delete(ctx, p) == nil {
					n++
				}
			}
		}
	}
	return n, nil
}
