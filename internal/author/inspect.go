package author

import (
	"context"
	"encoding/json"
	"os"
	"strings"

	"github.com/wasmctl/wasmctl/internal/wasmimage"
)

// LayerInfo describes one layer of an image.
type LayerInfo struct {
	MediaType string `json:"mediaType"`
	Size      int64  `json:"size"`
	Digest    string `json:"digest"`
	Title     string `json:"title,omitempty"`
}

// InspectResult is what `wasmctl inspect` shows.
type InspectResult struct {
	Ref          string                `json:"ref"`
	Source       string                `json:"source"` // store, file, project or remote
	Digest       string                `json:"digest,omitempty"`
	Variant      string                `json:"variant,omitempty"`
	Annotations  map[string]string     `json:"annotations,omitempty"`
	Layers       []LayerInfo           `json:"layers,omitempty"`
	ModuleDigest string                `json:"moduleDigest"`
	Module       *wasmimage.ModuleInfo `json:"module"`
	Metadata     *wasmimage.Metadata   `json:"metadata,omitempty"`
	Schema       json.RawMessage       `json:"schema,omitempty"`
	HasReadme    bool                  `json:"hasReadme"`
}

// Inspect describes a .wasm file, a store image or a registry image.
func (e *Env) Inspect(ctx context.Context, ref string) (*InspectResult, error) {
	if st, err := os.Stat(ref); err == nil && !st.IsDir() && strings.HasSuffix(ref, ".wasm") {
		b, err := os.ReadFile(ref)
		if err != nil {
			return nil, err
		}
		info, err := wasmimage.ParseModule(b)
		if err != nil {
			return nil, err
		}
		return &InspectResult{Ref: ref, Source: "file", ModuleDigest: digestOf(b), Module: info}, nil
	}
	s, err := e.ResolveSource(ctx, ref)
	if err != nil {
		return nil, err
	}
	img, err := wasmimage.Read(ctx, s.Target, s.Desc, wasmimage.ReadOptions{})
	if err != nil {
		return nil, explainRemote(err, ref)
	}
	info, err := wasmimage.ParseModule(img.Module)
	if err != nil {
		return nil, err
	}
	res := &InspectResult{
		Ref: ref, Source: s.Kind, Digest: img.Root.Digest.String(), Variant: string(img.Variant),
		Annotations: img.Annotations, ModuleDigest: img.ModuleDigest().String(), Module: info,
		Metadata: img.Metadata, HasReadme: img.Readme != nil,
	}
	if json.Valid(img.Schema) {
		res.Schema = img.Schema
	}
	for _, l := range img.Manifest.Layers {
		res.Layers = append(res.Layers, LayerInfo{MediaType: l.MediaType, Size: l.Size, Digest: l.Digest.String(), Title: l.Annotations["org.opencontainers.image.title"]})
	}
	return res, nil
}
