package index

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/errdef"
	"oras.land/oras-go/v2/registry/remote"
)

// Source is read access to a registry's storage, what Reindex walks. Its
// method sets follow oras-go: [RemoteSource] adapts a remote registry, and
// the hub's own registry implements it over its storage driver.
type Source interface {
	// Repositories calls fn with pages of repository names after last.
	Repositories(ctx context.Context, last string, fn func(repos []string) error) error
	// Repository opens one repository for reading.
	Repository(ctx context.Context, name string) (Repository, error)
}

// Repository is read access to one repository.
type Repository interface {
	content.ReadOnlyStorage
	// Resolve turns a tag into the descriptor of its manifest.
	Resolve(ctx context.Context, reference string) (ocispec.Descriptor, error)
	// Tags calls fn with pages of the repository's tags after last.
	Tags(ctx context.Context, last string, fn func(tags []string) error) error
}

// SourceFuncs adapts two functions to a Source.
type SourceFuncs struct {
	RepositoriesFunc func(ctx context.Context, last string, fn func(repos []string) error) error
	RepositoryFunc   func(ctx context.Context, name string) (Repository, error)
}

// Repositories calls RepositoriesFunc.
func (s SourceFuncs) Repositories(ctx context.Context, last string, fn func([]string) error) error {
	return s.RepositoriesFunc(ctx, last, fn)
}

// Repository calls RepositoryFunc.
func (s SourceFuncs) Repository(ctx context.Context, name string) (Repository, error) {
	return s.RepositoryFunc(ctx, name)
}

// RemoteSource reads a registry over the OCI distribution API with oras-go.
func RemoteSource(reg *remote.Registry) Source { return remoteSource{reg} }

type remoteSource struct{ reg *remote.Registry }

func (s remoteSource) Repositories(ctx context.Context, last string, fn func([]string) error) error {
	return s.reg.Repositories(ctx, last, fn)
}

func (s remoteSource) Repository(ctx context.Context, name string) (Repository, error) {
	r, err := s.reg.Repository(ctx, name)
	if err != nil {
		return nil, err
	}
	return r.(*remote.Repository), nil
}

// splitRepo splits "namespace/name" at the first slash (the name may hold
// more: "org/team/filter" is "team/filter" in "org"). A repository without
// a slash is its own namespace, as hub/auth's access rules see it.
func splitRepo(repo string) (ns, name string) {
	if i := strings.IndexByte(repo, '/'); i > 0 {
		return repo[:i], repo[i+1:]
	}
	return repo, repo
}

// ManifestPushed indexes the manifest desc just pushed to repo under tag. A
// push by digest alone (tag "") records nothing: signatures, SBOMs and other
// referrers hang off a filter without being versions of it. A manifest that
// carries no wasm module removes the tag from the index (it no longer names
// a filter). It is safe to call again for the same push.
func (ix *Index) ManifestPushed(ctx context.Context, repo content.ReadOnlyStorage, name, tag string, desc ocispec.Descriptor) error {
	if tag == "" {
		return nil
	}
	img, err := ix.inspect(ctx, repo, desc)
	if isNoModule(err) {
		return ix.TagDeleted(ctx, name, tag)
	}
	if err != nil {
		return fmt.Errorf("index: %s:%s: %w", name, tag, err)
	}
	return ix.put(ctx, name, tag, desc, img, ix.now())
}

// put writes one version and refreshes its filter, in one transaction.
func (ix *Index) put(ctx context.Context, repo, tag string, desc ocispec.Descriptor, img *Image, pushed time.Time) error {
	created := img.Created
	if created.IsZero() {
		created = pushed
	}
	md := img.Metadata
	return ix.tx(ctx, repo, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, ix.db.Rebind(`INSERT INTO index_versions
			(repository, tag, digest, media_type, format, size, wasm_size, abi_versions, created_at, pushed_at,
			 description, readme, schema_json, categories, keywords, license, source, reader)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (repository, tag) DO UPDATE SET digest = excluded.digest, media_type = excluded.media_type,
			 format = excluded.format, size = excluded.size, wasm_size = excluded.wasm_size,
			 abi_versions = excluded.abi_versions, created_at = excluded.created_at, pushed_at = excluded.pushed_at,
			 description = excluded.description, readme = excluded.readme, schema_json = excluded.schema_json,
			 categories = excluded.categories, keywords = excluded.keywords, license = excluded.license, source = excluded.source,
			 reader = excluded.reader`),
			repo, tag, desc.Digest.String(), img.MediaType, img.Format, img.Size, img.WasmSize,
			strings.Join(img.ABIVersions, ","), millis(created), millis(pushed),
			md.Description, md.README, md.Schema, strings.Join(md.Categories, ","), strings.Join(md.Keywords, ","), md.License, md.Source, readerVersion)
		return err
	})
}

// ManifestDeleted removes every tag of repo that points at dgst.
func (ix *Index) ManifestDeleted(ctx context.Context, repo string, dgst digest.Digest) error {
	return ix.tx(ctx, repo, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, ix.db.Rebind(`DELETE FROM index_versions WHERE repository = ? AND digest = ?`), repo, dgst.String())
		return err
	})
}

// TagDeleted removes one tag of repo.
func (ix *Index) TagDeleted(ctx context.Context, repo, tag string) error {
	return ix.tx(ctx, repo, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, ix.db.Rebind(`DELETE FROM index_versions WHERE repository = ? AND tag = ?`), repo, tag)
		return err
	})
}

// RepositoryDeleted removes a whole repository.
func (ix *Index) RepositoryDeleted(ctx context.Context, repo string) error {
	return ix.tx(ctx, repo, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, ix.db.Rebind(`DELETE FROM index_versions WHERE repository = ?`), repo)
		return err
	})
}

// tx runs change and then refreshes repo's filter row, all in one
// transaction.
func (ix *Index) tx(ctx context.Context, repo string, change func(*sql.Tx) error) error {
	tx, err := ix.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("index: %s: %w", repo, err)
	}
	defer tx.Rollback()
	if err := change(tx); err != nil {
		return fmt.Errorf("index: %s: %w", repo, err)
	}
	if err := ix.refresh(ctx, tx, repo); err != nil {
		return fmt.Errorf("index: %s: %w", repo, err)
	}
	err = tx.Commit()
	ix.gen.Add(1)
	if err != nil {
		return fmt.Errorf("index: %s: commit: %w", repo, err)
	}
	return nil
}

// refresh recomputes the filter row of repo from its versions: the newest
// push describes the filter; no version left removes it.
func (ix *Index) refresh(ctx context.Context, tx *sql.Tx, repo string) error {
	var id int64
	err := tx.QueryRowContext(ctx, ix.db.Rebind(`SELECT id FROM index_filters WHERE repository = ?`), repo).Scan(&id)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	exists := err == nil

	var tag, dgst, abis, descr, cats, keywords, license, source string
	var count int
	var first, last int64
	err = tx.QueryRowContext(ctx, ix.db.Rebind(`SELECT tag, digest, abi_versions, description, categories, keywords, license, source
		FROM index_versions WHERE repository = ? ORDER BY pushed_at DESC, tag LIMIT 1`), repo).
		Scan(&tag, &dgst, &abis, &descr, &cats, &keywords, &license, &source)
	if errors.Is(err, sql.ErrNoRows) {
		if !exists {
			return nil
		}
		for _, q := range []string{`DELETE FROM index_categories WHERE filter_id = ?`, `DELETE FROM index_filters WHERE id = ?`} {
			if _, err := tx.ExecContext(ctx, ix.db.Rebind(q), id); err != nil {
				return err
			}
		}
		if !ix.pg() {
			if _, err := tx.ExecContext(ctx, `DELETE FROM index_fts WHERE rowid = ?`, id); err != nil {
				return err
			}
		}
		return nil
	}
	if err != nil {
		return err
	}
	if err := tx.QueryRowContext(ctx, ix.db.Rebind(`SELECT COUNT(*), MIN(pushed_at), MAX(pushed_at) FROM index_versions WHERE repository = ?`), repo).
		Scan(&count, &first, &last); err != nil {
		return err
	}
	ns, name := splitRepo(repo)
	private := -1
	if ix.private != nil {
		private = boolInt(ix.private(ctx, repo))
	}
	if exists {
		q := `UPDATE index_filters SET description = ?, categories = ?, keywords = ?, license = ?, source = ?, abi_versions = ?,
			latest_tag = ?, latest_digest = ?, tag_count = ?, created_at = ?, updated_at = ?`
		args := []any{descr, cats, keywords, license, source, abis, tag, dgst, count, first, last}
		if private >= 0 {
			q += `, private = ?`
			args = append(args, private)
		}
		if _, err := tx.ExecContext(ctx, ix.db.Rebind(q+` WHERE id = ?`), append(args, id)...); err != nil {
			return err
		}
	} else {
		q := `INSERT INTO index_filters (repository, namespace, name, description, categories, keywords, license, source,
			abi_versions, latest_tag, latest_digest, tag_count, private, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`
		if err := tx.QueryRowContext(ctx, ix.db.Rebind(q), repo, ns, name, descr, cats, keywords, license, source, abis, tag, dgst,
			count, max(private, 0), first, last).Scan(&id); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, ix.db.Rebind(`DELETE FROM index_categories WHERE filter_id = ?`), id); err != nil {
		return err
	}
	for _, c := range splitList(cats) {
		if _, err := tx.ExecContext(ctx, ix.db.Rebind(`INSERT INTO index_categories (filter_id, category) VALUES (?, ?)`), id, c); err != nil {
			return err
		}
	}
	words := strings.NewReplacer("/", " ", "-", " ", "_", " ", ".", " ").Replace(repo)
	// Categories and keywords share the second-weighted search column.
	catText := strings.TrimSpace(strings.ReplaceAll(cats+","+keywords, ",", " "))
	if ix.pg() {
		_, err = tx.ExecContext(ctx, `UPDATE index_filters SET search =
			setweight(to_tsvector('simple', $1), 'A') || setweight(to_tsvector('simple', $2), 'B') || setweight(to_tsvector('simple', $3), 'C')
			WHERE id = $4`, words, catText, descr, id)
		return err
	}
	if exists {
		if _, err := tx.ExecContext(ctx, `DELETE FROM index_fts WHERE rowid = ?`, id); err != nil {
			return err
		}
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO index_fts (rowid, name, description, categories) VALUES (?, ?, ?, ?)`, id, words, descr, catText)
	return err
}

// ReindexStats counts what Reindex did.
type ReindexStats struct {
	Repositories int // repositories walked
	Indexed      int // tags (re)read from storage
	Unchanged    int // tags whose digest was already indexed
	Skipped      int // tags that name no wasm filter (or could not be read)
	Removed      int // index entries no longer in storage
}

// Reindex rebuilds the index from storage: it walks every repository and tag
// of src, reads the manifests it has not indexed at that digest yet, and
// removes index entries whose tag is gone. Pull counts and push dates of
// unchanged tags are kept. Errors reading one tag are reported through
// report (if not nil) and skip that tag; Reindex returns an error only when
// the walk itself or the database fails.
func (ix *Index) Reindex(ctx context.Context, src Source, report func(repo, tag string, err error)) (ReindexStats, error) {
	var st ReindexStats
	type knownVersion struct {
		digest string
		reader int
		pushed int64
	}
	known := map[string]knownVersion{} // by "repo\x00tag"
	rows, err := ix.db.QueryContext(ctx, `SELECT repository, tag, digest, reader, pushed_at FROM index_versions`)
	if err != nil {
		return st, fmt.Errorf("index: reindex: %w", err)
	}
	for rows.Next() {
		var r, t string
		var k knownVersion
		if err := rows.Scan(&r, &t, &k.digest, &k.reader, &k.pushed); err != nil {
			rows.Close()
			return st, err
		}
		known[r+"\x00"+t] = k
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return st, err
	}
	seen := map[string]bool{}
	err = src.Repositories(ctx, "", func(repos []string) error {
		for _, name := range repos {
			st.Repositories++
			repo, err := src.Repository(ctx, name)
			if err != nil {
				return fmt.Errorf("open %s: %w", name, err)
			}
			err = repo.Tags(ctx, "", func(tags []string) error {
				for _, tag := range tags {
					key := name + "\x00" + tag
					desc, err := repo.Resolve(ctx, tag)
					if err != nil {
						// Keep what the index knows: a tag that is listed
						// but cannot be read now is not proof it is gone.
						seen[key] = true
						st.Skipped++
						if report != nil {
							report(name, tag, err)
						}
						continue
					}
					k, isKnown := known[key]
					same := isKnown && k.digest == desc.Digest.String()
					if same && k.reader >= readerVersion {
						seen[key] = true
						st.Unchanged++
						continue
					}
					img, err := ix.inspect(ctx, repo, desc)
					if err != nil {
						st.Skipped++
						if !isNoModule(err) {
							seen[key] = true
							if report != nil {
								report(name, tag, err)
							}
						}
						continue
					}
					pushed := img.Created
					switch {
					case same: // read again by a newer reader: keep its push date
						pushed = fromMillis(k.pushed)
					case pushed.IsZero():
						pushed = ix.now()
					}
					if err := ix.put(ctx, name, tag, desc, img, pushed); err != nil {
						return err
					}
					seen[key] = true
					st.Indexed++
				}
				return nil
			})
			if err != nil && !isNotFound(err) {
				return fmt.Errorf("tags of %s: %w", name, err)
			}
		}
		return nil
	})
	if err != nil {
		return st, fmt.Errorf("index: reindex: %w", err)
	}
	for key := range known {
		if seen[key] {
			continue
		}
		repo, tag, _ := strings.Cut(key, "\x00")
		if err := ix.TagDeleted(ctx, repo, tag); err != nil {
			return st, err
		}
		st.Removed++
	}
	return st, nil
}

func isNotFound(err error) bool {
	return err != nil && (errors.Is(err, errdef.ErrNotFound) || strings.Contains(err.Error(), "NAME_UNKNOWN") || strings.Contains(err.Error(), "not found"))
}
