package author

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"

	"oras.land/oras-go/v2/errdef"
	"oras.land/oras-go/v2/registry"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/credentials"
	"oras.land/oras-go/v2/registry/remote/errcode"
	"oras.land/oras-go/v2/registry/remote/retry"
)

// RemoteOptions says how to reach registries.
type RemoteOptions struct {
	// PlainHTTP talks HTTP instead of HTTPS. Loopback hosts (localhost,
	// 127.0.0.1, ::1) always use plain HTTP, as Docker allows.
	PlainHTTP bool
	// Username and Password override the stored credentials.
	Username, Password string
	// Client is the HTTP client; default retry.DefaultClient.
	Client *http.Client
	// UserAgent is sent to registries.
	UserAgent string
}

// CredentialStore opens the Docker config file's credential store
// ($DOCKER_CONFIG/config.json or ~/.docker/config.json), so `docker login`,
// `oras login` and `wasmctl login` share credentials. Credential helpers
// configured there are used.
func CredentialStore() (credentials.Store, error) {
	s, err := credentials.NewStoreFromDocker(credentials.StoreOptions{AllowPlaintextPut: true, DetectDefaultNativeStore: true})
	if err != nil {
		return nil, fmt.Errorf("open the Docker credential store: %w", err)
	}
	return s, nil
}

func isLoopback(host string) bool {
	h := host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		h = hh
	}
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(strings.Trim(h, "[]"))
	return ip != nil && ip.IsLoopback()
}

func (o RemoteOptions) client(host string) (*auth.Client, error) {
	base := o.Client
	if base == nil {
		base = retry.DefaultClient
	}
	c := &auth.Client{Client: base, Cache: auth.NewCache()}
	if o.UserAgent != "" {
		c.SetUserAgent(o.UserAgent)
	}
	if o.Username != "" || o.Password != "" {
		c.Credential = auth.StaticCredential(host, auth.Credential{Username: o.Username, Password: o.Password})
		return c, nil
	}
	store, err := CredentialStore()
	if err != nil {
		return nil, err
	}
	c.Credential = credentials.Credential(store)
	return c, nil
}

// Repository opens the repository named by ref ("host/repo[:tag|@digest]").
func (o RemoteOptions) Repository(ref string) (*remote.Repository, registry.Reference, error) {
	r, err := ParseReference(ref)
	if err != nil {
		return nil, registry.Reference{}, err
	}
	repo, err := remote.NewRepository(r.Registry + "/" + r.Repository)
	if err != nil {
		return nil, registry.Reference{}, err
	}
	repo.PlainHTTP = o.PlainHTTP || isLoopback(r.Registry)
	if repo.Client, err = o.client(r.Registry); err != nil {
		return nil, registry.Reference{}, err
	}
	return repo, r, nil
}

// Registry opens a registry by host name.
func (o RemoteOptions) Registry(host string) (*remote.Registry, error) {
	reg, err := remote.NewRegistry(host)
	if err != nil {
		return nil, fmt.Errorf("%q is not a registry host name: %w", host, err)
	}
	reg.PlainHTTP = o.PlainHTTP || isLoopback(host)
	if reg.Client, err = o.client(host); err != nil {
		return nil, err
	}
	return reg, nil
}

// ParseReference parses "host/repo[:tag|@digest]" (an optional "oci://"
// prefix is dropped, as in Istio's WasmPlugin url).
func ParseReference(ref string) (registry.Reference, error) {
	ref = strings.TrimPrefix(ref, "oci://")
	r, err := registry.ParseReference(ref)
	if err != nil {
		return registry.Reference{}, fmt.Errorf("%q is not an image reference: %w; write it as HOST/REPOSITORY[:TAG|@DIGEST], e.g. localhost:5000/filters/myfilter:0.1.0", ref, err)
	}
	return r, nil
}

// explainRemote turns registry errors into advice.
func explainRemote(err error, ref string) error {
	if err == nil {
		return nil
	}
	var ec *errcode.ErrorResponse
	if errors.As(err, &ec) {
		switch ec.StatusCode {
		case http.StatusUnauthorized:
			return fmt.Errorf("%s: the registry requires credentials (%w); run `wasmctl login %s`", ref, err, hostOf(ref))
		case http.StatusForbidden:
			return fmt.Errorf("%s: the registry refused access (%w); check that your account may push/pull this repository", ref, err)
		case http.StatusNotFound:
			return fmt.Errorf("%s: not found (%w); check the repository and tag with `wasmctl ls %s`", ref, err, hostOf(ref))
		case http.StatusMethodNotAllowed:
			return fmt.Errorf("%s: the registry does not allow this operation (%w); it may be read-only or reject these media types", ref, err)
		}
		if ec.StatusCode >= 400 && ec.StatusCode < 500 {
			return fmt.Errorf("%s: the registry refused the request (%w)", ref, err)
		}
	}
	if errors.Is(err, auth.ErrBasicCredentialNotFound) {
		return fmt.Errorf("%s: the registry requires credentials and none are stored for %s (%w); run `wasmctl login %s`", ref, hostOf(ref), err, hostOf(ref))
	}
	if errors.Is(err, errdef.ErrNotFound) {
		return fmt.Errorf("%s: not found (%w); check the name with `wasmctl ls`", ref, err)
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		return fmt.Errorf("%s: cannot reach the registry (%w); is it running, and does it need --plain-http?", ref, err)
	}
	if strings.Contains(err.Error(), "server gave HTTP response to HTTPS client") {
		return fmt.Errorf("%s: the registry speaks plain HTTP (%w); add --plain-http", ref, err)
	}
	return fmt.Errorf("%s: %w", ref, err)
}

func hostOf(ref string) string {
	ref = strings.TrimPrefix(ref, "oci://")
	if i := strings.IndexByte(ref, '/'); i > 0 {
		return ref[:i]
	}
	return ref
}
