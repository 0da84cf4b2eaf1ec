package registry

import (
	"context"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

var specsVersioned = specs.Versioned{SchemaVersion: 2}

// Action is what happened to a manifest.
type Action string

const (
	// ActionPush: a manifest was stored; Tag names the tag it was pushed
	// under ("" for a push by digest). A push with several tags (the "tag"
	// query parameters) gives one event per tag.
	ActionPush Action = "push"
	// ActionDelete: a manifest was deleted by digest; Tags lists the tags
	// that pointed to it and are gone with it.
	ActionDelete Action = "delete"
	// ActionUntag: tag Tag was deleted; the manifest (Descriptor.Digest)
	// stays.
	ActionUntag Action = "untag"
)

// Event describes a change to a repository's manifests. It is delivered
// after the change is stored and before the client gets its answer, so a
// listener that indexes synchronously is never behind the client.
type Event struct {
	Action     Action
	Repository string
	// Tag is the tag pushed or deleted ("" for digest-only operations).
	Tag string
	// Tags lists the tags removed with a deleted manifest.
	Tags []string
	// Descriptor is the manifest's descriptor (media type, digest, size,
	// artifact type, annotations). For ActionUntag only Digest is set.
	Descriptor ocispec.Descriptor
	// Subject is the digest of the manifest this one refers to (signatures,
	// SBOMs, attached READMEs), or "".
	Subject digest.Digest
	// Manifest holds the manifest bytes for ActionPush.
	Manifest []byte
}

// Listener hears about manifest changes. OnEvent must not block for long:
// the client waits for it. Errors are the listener's to log; the change is
// already stored.
type Listener interface {
	OnEvent(ctx context.Context, ev Event)
}

// ListenerFunc adapts a function to a [Listener].
type ListenerFunc func(ctx context.Context, ev Event)

// OnEvent calls f.
func (f ListenerFunc) OnEvent(ctx context.Context, ev Event) { f(ctx, ev) }

// Listeners fans an event out to several listeners, in order.
type Listeners []Listener

// OnEvent calls each listener.
func (ls Listeners) OnEvent(ctx context.Context, ev Event) {
	for _, l := range ls {
		if l != nil {
			l.OnEvent(ctx, ev)
		}
	}
}

func (r *Registry) emit(ctx context.Context, ev Event) {
	if r.cfg.Listener != nil {
		// The change is stored: finish the listener's work even if the
		// client hangs up now.
		r.cfg.Listener.OnEvent(context.WithoutCancel(ctx), ev)
	}
}
