package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// manifestLink is what a repository's manifest link file holds: the
// manifest's descriptor plus its subject, enough to answer HEAD requests
// and to maintain the referrers index without reading the manifest.
type manifestLink struct {
	ocispec.Descriptor
	Subject digest.Digest `json:"subject,omitempty"`
}

// manifestDoc is the union of the OCI and Docker manifest and index fields
// the registry looks at.
type manifestDoc struct {
	SchemaVersion int                  `json:"schemaVersion"`
	MediaType     string               `json:"mediaType,omitempty"`
	ArtifactType  string               `json:"artifactType,omitempty"`
	Config        *ocispec.Descriptor  `json:"config,omitempty"`
	Layers        []ocispec.Descriptor `json:"layers,omitempty"`
	Manifests     []ocispec.Descriptor `json:"manifests,omitempty"`
	Subject       *ocispec.Descriptor  `json:"subject,omitempty"`
	Annotations   map[string]string    `json:"annotations,omitempty"`
}

// Media types of manifests the registry accepts.
var manifestTypes = map[string]bool{
	ocispec.MediaTypeImageManifest:                              true,
	ocispec.MediaTypeImageIndex:                                 true,
	"application/vnd.docker.distribution.manifest.v2+json":      true,
	"application/vnd.docker.distribution.manifest.list.v2+json": true,
}

func isIndex(mt string) bool {
	return mt == ocispec.MediaTypeImageIndex || mt == "application/vnd.docker.distribution.manifest.list.v2+json"
}

// resolve turns a tag or digest into the manifest's link.
func (r *Registry) resolve(ctx context.Context, name, ref string) (manifestLink, error) {
	var d digest.Digest
	if strings.Contains(ref, ":") {
		var ok bool
		if d, ok = parseDigest(ref); !ok {
			return manifestLink{}, errBadReference
		}
	} else {
		if !tagRE.MatchString(ref) {
			return manifestLink{}, errBadReference
		}
		b, err := r.d.GetContent(ctx, tagPath(name, ref))
		if err != nil {
			return manifestLink{}, err
		}
		var ok bool
		if d, ok = parseDigest(string(b)); !ok {
			return manifestLink{}, fmt.Errorf("registry: corrupt tag link %s:%s", name, ref)
		}
	}
	b, err := r.d.GetContent(ctx, manifestLinkPath(name, d))
	if err != nil {
		return manifestLink{}, err
	}
	var l manifestLink
	if err := json.Unmarshal(b, &l); err != nil {
		return manifestLink{}, fmt.Errorf("registry: corrupt manifest link %s@%s: %w", name, d, err)
	}
	return l, nil
}

var errBadReference = fmt.Errorf("invalid reference")

// resolveOrAnswer resolves rt's reference; when it cannot, it answers the
// request (400 with badRef, 404 MANIFEST_UNKNOWN, or 500) and returns false.
func (r *Registry) resolveOrAnswer(ctx context.Context, w http.ResponseWriter, rt route, badRef string) (manifestLink, bool) {
	l, err := r.resolve(ctx, rt.name, rt.ref)
	switch {
	case err == errBadReference:
		writeError(w, http.StatusBadRequest, codeDigestInvalid, badRef, rt.ref)
	case isNotFound(err):
		writeError(w, http.StatusNotFound, codeManifestUnknown, "manifest unknown", rt.ref)
	case err != nil:
		r.internalError(w, "resolve manifest", err)
	default:
		return l, true
	}
	return l, false
}

func (r *Registry) serveManifest(ctx context.Context, w http.ResponseWriter, req *http.Request, rt route) {
	l, ok := r.resolveOrAnswer(ctx, w, rt, "invalid tag or digest")
	if !ok {
		return
	}
	h := w.Header()
	h.Set("Content-Type", l.MediaType)
	h.Set("Docker-Content-Digest", l.Digest.String())
	h.Set("ETag", `"`+l.Digest.String()+`"`)
	h.Set("Content-Length", strconv.FormatInt(l.Size, 10))
	if req.Method == http.MethodHead {
		w.WriteHeader(http.StatusOK)
		return
	}
	b, err := r.d.GetContent(ctx, blobDataPath(l.Digest))
	if err != nil {
		r.internalError(w, "read manifest", err)
		return
	}
	w.WriteHeader(http.StatusOK)
	w.Write(b)
}

func (r *Registry) putManifest(ctx context.Context, w http.ResponseWriter, req *http.Request, rt route) {
	body, err := io.ReadAll(io.LimitReader(req.Body, r.cfg.MaxManifestSize+1))
	if err != nil {
		writeError(w, http.StatusBadRequest, codeManifestInvalid, "cannot read manifest", err.Error())
		return
	}
	if int64(len(body)) > r.cfg.MaxManifestSize {
		writeError(w, http.StatusRequestEntityTooLarge, codeSizeInvalid, fmt.Sprintf("manifest larger than %d bytes", r.cfg.MaxManifestSize), nil)
		return
	}
	var tags []string
	var d digest.Digest
	if strings.Contains(rt.ref, ":") {
		var ok bool
		if d, ok = parseDigest(rt.ref); !ok {
			writeError(w, http.StatusBadRequest, codeDigestInvalid, "invalid digest", rt.ref)
			return
		}
		h := newHash(d.Algorithm().String())
		h.Write(body)
		if got := digest.NewDigestFromEncoded(d.Algorithm(), fmt.Sprintf("%x", h.Sum(nil))); got != d {
			writeError(w, http.StatusBadRequest, codeDigestInvalid, "provided digest did not match uploaded content", map[string]string{"expected": d.String(), "computed": got.String()})
			return
		}
	} else {
		if !tagRE.MatchString(rt.ref) {
			writeError(w, http.StatusBadRequest, "TAG_INVALID", "invalid tag", rt.ref)
			return
		}
		d = digest.SHA256.FromBytes(body)
		tags = append(tags, rt.ref)
	}
	for _, t := range req.URL.Query()["tag"] {
		if !tagRE.MatchString(t) {
			writeError(w, http.StatusBadRequest, "TAG_INVALID", "invalid tag parameter", t)
			return
		}
		tags = append(tags, t)
	}
	var doc manifestDoc
	if err := json.Unmarshal(body, &doc); err != nil {
		writeError(w, http.StatusBadRequest, codeManifestInvalid, "manifest is not valid JSON", err.Error())
		return
	}
	mt := req.Header.Get("Content-Type")
	if i := strings.IndexByte(mt, ';'); i >= 0 {
		mt = strings.TrimSpace(mt[:i])
	}
	if !manifestTypes[mt] {
		mt = doc.MediaType
	}
	if mt == "" {
		mt = ocispec.MediaTypeImageManifest
		if doc.Manifests != nil {
			mt = ocispec.MediaTypeImageIndex
		}
	}
	if !manifestTypes[mt] {
		writeError(w, http.StatusBadRequest, codeManifestInvalid, "unsupported manifest media type", mt)
		return
	}
	if doc.MediaType != "" && doc.MediaType != mt {
		writeError(w, http.StatusBadRequest, codeManifestInvalid, "manifest mediaType does not match Content-Type", map[string]string{"mediaType": doc.MediaType, "contentType": mt})
		return
	}
	if doc.SchemaVersion != 2 {
		writeError(w, http.StatusBadRequest, codeManifestInvalid, "schemaVersion must be 2", doc.SchemaVersion)
		return
	}
	if missing, err := r.missingReferences(ctx, rt.name, mt, &doc); err != nil {
		r.internalError(w, "check manifest references", err)
		return
	} else if missing != "" {
		writeError(w, http.StatusBadRequest, codeManifestBlobUnknown, "manifest references content not in this repository: push it first", missing)
		return
	}

	desc := ocispec.Descriptor{MediaType: mt, Digest: d, Size: int64(len(body)), ArtifactType: doc.ArtifactType, Annotations: doc.Annotations}
	if desc.ArtifactType == "" && doc.Config != nil && !isIndex(mt) && doc.Config.MediaType != ocispec.MediaTypeEmptyJSON {
		desc.ArtifactType = doc.Config.MediaType
	}
	link := manifestLink{Descriptor: desc}
	if doc.Subject != nil {
		link.Subject = doc.Subject.Digest
	}
	if err := r.storeManifest(ctx, rt.name, body, link, tags); err != nil {
		r.internalError(w, "store manifest", err)
		return
	}
	h := w.Header()
	h.Set("Location", "/v2/"+rt.name+"/manifests/"+d.String())
	h.Set("Docker-Content-Digest", d.String())
	if link.Subject != "" {
		h.Set("OCI-Subject", link.Subject.String())
	}
	for _, t := range tags {
		h.Add("OCI-Tag", t)
	}
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusCreated)
}

// missingReferences returns the first descriptor of doc that the
// repository lacks ("" if none). Non-distributable layers (foreign URLs)
// and subjects are exempt, as the specification requires.
func (r *Registry) missingReferences(ctx context.Context, name, mt string, doc *manifestDoc) (string, error) {
	if isIndex(mt) {
		for _, m := range doc.Manifests {
			if _, ok := parseDigest(m.Digest.String()); !ok {
				return m.Digest.String(), nil
			}
			if _, err := r.d.Stat(ctx, manifestLinkPath(name, m.Digest)); err != nil {
				if isNotFound(err) {
					return m.Digest.String(), nil
				}
				return "", err
			}
		}
		return "", nil
	}
	var descs []ocispec.Descriptor
	if doc.Config != nil {
		descs = append(descs, *doc.Config)
	}
	for _, l := range doc.Layers {
		if len(l.URLs) > 0 || strings.Contains(l.MediaType, "nondistributable") || strings.Contains(l.MediaType, "foreign") {
			continue
		}
		descs = append(descs, l)
	}
	for _, desc := range descs {
		if _, ok := parseDigest(desc.Digest.String()); !ok {
			return desc.Digest.String(), nil
		}
		if _, err := r.blobSize(ctx, name, desc.Digest); err != nil {
			if isNotFound(err) {
				return desc.Digest.String(), nil
			}
			return "", err
		}
	}
	return "", nil
}

// storeManifest writes a manifest so that it becomes visible in one step:
// content first, then the repository's link (visible by digest), the
// referrers entry, and the tags last.
func (r *Registry) storeManifest(ctx context.Context, name string, body []byte, link manifestLink, tags []string) error {
	d := link.Digest
	if _, exists := r.blobExists(ctx, d); !exists {
		tmp := path.Join(root, "uploads", newUploadID())
		if err := r.d.PutContent(ctx, tmp, body); err != nil {
			return err
		}
		if err := r.d.Move(ctx, tmp, blobDataPath(d)); err != nil {
			r.d.Delete(ctx, tmp)
			return err
		}
	}
	if err := r.linkBlob(ctx, name, d); err != nil {
		return err
	}
	lb, _ := json.Marshal(link)
	if err := r.d.PutContent(ctx, manifestLinkPath(name, d), lb); err != nil {
		return err
	}
	if link.Subject != "" {
		if _, ok := parseDigest(link.Subject.String()); ok {
			rb, _ := json.Marshal(link.Descriptor)
			if err := r.d.PutContent(ctx, referrerPath(name, link.Subject, d), rb); err != nil {
				return err
			}
		}
	}
	ev := Event{Action: ActionPush, Repository: name, Descriptor: link.Descriptor, Manifest: body}
	if link.Subject != "" {
		ev.Subject = link.Subject
	}
	for _, t := range tags {
		if err := r.d.PutContent(ctx, tagPath(name, t), []byte(d.String())); err != nil {
			return err
		}
	}
	if len(tags) == 0 {
		r.emit(ctx, ev)
	}
	for _, t := range tags {
		ev.Tag = t
		r.emit(ctx, ev)
	}
	return nil
}

func (r *Registry) deleteManifest(ctx context.Context, w http.ResponseWriter, rt route) {
	if !strings.Contains(rt.ref, ":") {
		r.deleteTag(ctx, w, rt)
		return
	}
	l, ok := r.resolveOrAnswer(ctx, w, rt, "invalid digest")
	if !ok {
		return
	}
	removed, err := r.removeManifest(ctx, rt.name, l)
	if err != nil {
		r.internalError(w, "delete manifest", err)
		return
	}
	r.emit(ctx, Event{Action: ActionDelete, Repository: rt.name, Descriptor: l.Descriptor, Subject: l.Subject, Tags: removed})
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusAccepted)
}

// removeManifest deletes manifest l from repository name: its tags first
// (so nothing visible points to a missing manifest), then its referrers
// entry and link. It returns the tags it removed.
func (r *Registry) removeManifest(ctx context.Context, name string, l manifestLink) ([]string, error) {
	tags, err := r.tags(ctx, name)
	if err != nil && !isNotFound(err) {
		return nil, err
	}
	var removed []string
	for _, t := range tags {
		b, err := r.d.GetContent(ctx, tagPath(name, t))
		if err == nil && string(b) == l.Digest.String() {
			if err := r.d.Delete(ctx, tagPath(name, t)); err != nil && !isNotFound(err) {
				return removed, err
			}
			removed = append(removed, t)
		}
	}
	if l.Subject != "" {
		if _, ok := parseDigest(l.Subject.String()); ok {
			if err := r.d.Delete(ctx, referrerPath(name, l.Subject, l.Digest)); err != nil && !isNotFound(err) {
				return removed, err
			}
		}
	}
	if err := r.d.Delete(ctx, manifestLinkPath(name, l.Digest)); err != nil && !isNotFound(err) {
		return removed, err
	}
	if err := r.d.Delete(ctx, blobLinkPath(name, l.Digest)); err != nil && !isNotFound(err) {
		return removed, err
	}
	return removed, nil
}

func (r *Registry) deleteTag(ctx context.Context, w http.ResponseWriter, rt route) {
	if !tagRE.MatchString(rt.ref) {
		writeError(w, http.StatusBadRequest, "TAG_INVALID", "invalid tag", rt.ref)
		return
	}
	b, err := r.d.GetContent(ctx, tagPath(rt.name, rt.ref))
	if isNotFound(err) {
		writeError(w, http.StatusNotFound, codeManifestUnknown, "tag unknown", rt.ref)
		return
	}
	if err != nil {
		r.internalError(w, "read tag", err)
		return
	}
	if err := r.d.Delete(ctx, tagPath(rt.name, rt.ref)); err != nil && !isNotFound(err) {
		r.internalError(w, "delete tag", err)
		return
	}
	r.emit(ctx, Event{Action: ActionUntag, Repository: rt.name, Tag: rt.ref, Descriptor: ocispec.Descriptor{Digest: digest.Digest(b)}})
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusAccepted)
}

// tags returns the sorted tags of repository name.
func (r *Registry) tags(ctx context.Context, name string) ([]string, error) {
	paths, err := r.d.List(ctx, repoPath(name, "_tags"))
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(paths))
	for _, p := range paths {
		t := path.Base(p)
		if tagRE.MatchString(t) && !tempRE.MatchString(t) {
			out = append(out, t)
		}
	}
	sort.Strings(out)
	return out, nil
}

// exists reports whether repository name has ever received content.
func (r *Registry) exists(ctx context.Context, name string) bool {
	for _, sub := range []string{"_manifests", "_blobs", "_uploads"} {
		if _, err := r.d.Stat(ctx, repoPath(name, sub)); err == nil {
			return true
		}
	}
	return false
}

// paginate applies the n and last query parameters to a sorted list and
// sets the Link header for the next page.
func paginate(w http.ResponseWriter, req *http.Request, base string, all []string) ([]string, bool) {
	q := req.URL.Query()
	if last := q.Get("last"); last != "" {
		i := sort.SearchStrings(all, last)
		if i < len(all) && all[i] == last {
			i++
		}
		all = all[i:]
	}
	if ns := q.Get("n"); ns != "" {
		n, err := strconv.Atoi(ns)
		if err != nil || n < 0 {
			writeError(w, http.StatusBadRequest, "PAGINATION_NUMBER_INVALID", "invalid number of results requested", ns)
			return nil, false
		}
		if n < len(all) {
			all = all[:n]
			if n > 0 {
				next := base + "?n=" + strconv.Itoa(n) + "&last=" + all[len(all)-1]
				w.Header().Set("Link", `<`+next+`>; rel="next"`)
			}
		}
	}
	return all, true
}

func (r *Registry) serveTags(ctx context.Context, w http.ResponseWriter, req *http.Request, rt route) {
	tags, err := r.tags(ctx, rt.name)
	if isNotFound(err) {
		if !r.exists(ctx, rt.name) {
			writeError(w, http.StatusNotFound, codeNameUnknown, "repository name not known to registry", rt.name)
			return
		}
		err = nil
	}
	if err != nil {
		r.internalError(w, "list tags", err)
		return
	}
	page, ok := paginate(w, req, "/v2/"+rt.name+"/tags/list", tags)
	if !ok {
		return
	}
	writeJSON(w, req, "application/json", map[string]any{"name": rt.name, "tags": page})
}

func writeJSON(w http.ResponseWriter, req *http.Request, contentType string, v any) {
	var buf bytes.Buffer
	json.NewEncoder(&buf).Encode(v)
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(http.StatusOK)
	if req.Method != http.MethodHead {
		w.Write(buf.Bytes())
	}
}

// referrers lists the manifests of repository name whose subject is d,
// optionally only those of artifactType.
func (r *Registry) referrers(ctx context.Context, name string, d digest.Digest, artifactType string) ([]ocispec.Descriptor, error) {
	paths, err := r.d.List(ctx, referrersDir(name, d))
	if isNotFound(err) {
		return []ocispec.Descriptor{}, nil
	}
	if err != nil {
		return nil, err
	}
	sort.Strings(paths)
	out := []ocispec.Descriptor{}
	for _, p := range paths {
		if tempRE.MatchString(p) {
			continue
		}
		b, err := r.d.GetContent(ctx, p)
		if isNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		var desc ocispec.Descriptor
		if json.Unmarshal(b, &desc) != nil {
			continue
		}
		if artifactType != "" && desc.ArtifactType != artifactType {
			continue
		}
		out = append(out, desc)
	}
	return out, nil
}

func (r *Registry) serveReferrers(ctx context.Context, w http.ResponseWriter, req *http.Request, rt route) {
	d, ok := parseDigest(rt.ref)
	if !ok {
		writeError(w, http.StatusBadRequest, codeDigestInvalid, "invalid digest", rt.ref)
		return
	}
	at := req.URL.Query().Get("artifactType")
	descs, err := r.referrers(ctx, rt.name, d, at)
	if err != nil {
		r.internalError(w, "list referrers", err)
		return
	}
	if at != "" {
		w.Header().Set("OCI-Filters-Applied", "artifactType")
	}
	writeJSON(w, req, ocispec.MediaTypeImageIndex, ocispec.Index{
		Versioned: specsVersioned,
		MediaType: ocispec.MediaTypeImageIndex,
		Manifests: descs,
	})
}

func (r *Registry) serveCatalog(ctx context.Context, w http.ResponseWriter, req *http.Request) {
	repos, err := r.listRepositories(ctx, false)
	if err != nil {
		r.internalError(w, "list repositories", err)
		return
	}
	if r.cfg.Visible != nil {
		visible := repos[:0]
		for _, name := range repos {
			if r.cfg.Visible(ctx, name) {
				visible = append(visible, name)
			}
		}
		repos = visible
	}
	page, ok := paginate(w, req, "/v2/_catalog", repos)
	if !ok {
		return
	}
	writeJSON(w, req, "application/json", map[string]any{"repositories": page})
}
