// Package index keeps the hub's searchable index of wasm filters: one row per
// repository (namespace/name) with the metadata of its newest version, one row
// per tag with digest, size, date and ABI versions, full-text search over name,
// description, categories and keywords (SQLite FTS5, or a PostgreSQL tsvector with a GIN
// index), categories, pull counts and visibility.
//
// The index is derived data. The registry tells it about every manifest push
// and delete ([Index.ManifestPushed], [Index.ManifestDeleted],
// [Index.TagDeleted]); [Index.Reindex] rebuilds it from storage at any time,
// which is what `wasmctl hub reindex` runs. Every change to one repository is
// one database transaction, so a failed or killed push never leaves a
// half-indexed filter behind.
package index

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/wasmctl/wasmctl/hub/db"
)

// ErrNotFound is returned by Get and Versions for a repository that is not in
// the index or that the viewer may not see.
var ErrNotFound = errors.New("filter not found")

// Filter is one repository of the index, described by its newest version.
type Filter struct {
	Repository  string    `json:"repository"` // "namespace/name"
	Namespace   string    `json:"namespace"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Categories  []string  `json:"categories"`
	Keywords    []string  `json:"keywords"`
	License     string    `json:"license,omitempty"`
	Source      string    `json:"source,omitempty"`
	ABIVersions []string  `json:"abi_versions"`
	LatestTag   string    `json:"latest_tag"`
	Digest      string    `json:"digest"`
	Tags        int       `json:"tags"`
	Private     bool      `json:"private"`
	Pulls       int64     `json:"pulls"`
	Created     time.Time `json:"created"`
	Updated     time.Time `json:"updated"`
}

// Detail is a filter with its README, configuration schema and versions.
type Detail struct {
	Filter
	README   string    `json:"readme"`
	Schema   string    `json:"schema,omitempty"`
	Versions []Version `json:"versions"`
}

// Version is one tag of a filter.
type Version struct {
	Tag         string    `json:"tag"`
	Digest      string    `json:"digest"`
	MediaType   string    `json:"media_type"`
	Format      string    `json:"format"`
	Size        int64     `json:"size"`
	WasmSize    int64     `json:"wasm_size"`
	ABIVersions []string  `json:"abi_versions"`
	Created     time.Time `json:"created"`
	Pushed      time.Time `json:"pushed"`
}

// Sort orders search results.
type Sort string

// The orders Search understands.
const (
	SortRelevance Sort = "relevance" // best text match first; recent without text
	SortRecent    Sort = "recent"    // newest push first
	SortPopular   Sort = "popular"   // most pulls first
	SortName      Sort = "name"      // alphabetical by repository
)

// ParseSort maps a user-supplied sort name to a Sort, defaulting to relevance.
func ParseSort(s string) Sort {
	switch Sort(s) {
	case SortRecent, SortPopular, SortName:
		return Sort(s)
	}
	return SortRelevance
}

// Query selects filters.
type Query struct {
	// Text is matched, word by word as prefixes, against the name,
	// description, categories and keywords.
	Text string
	// Category keeps only filters with this category.
	Category string
	// Namespace keeps only filters of this namespace.
	Namespace string
	// Sort orders the results.
	Sort Sort
	// Page counts from 1; PerPage is capped at MaxPerPage (default 20).
	Page, PerPage int
	// Viewer lists the namespaces whose private filters the caller may see
	// (a user's own name and organisations). Public filters are always seen.
	Viewer []string
}

// MaxPerPage caps Query.PerPage.
const MaxPerPage = 100

// Results is one page of search results.
type Results struct {
	Filters []Filter `json:"filters"`
	Total   int      `json:"total"`
	Page    int      `json:"page"`
	PerPage int      `json:"per_page"`
}

// Pages is the number of pages of results.
func (r *Results) Pages() int {
	if r.PerPage == 0 {
		return 0
	}
	return (r.Total + r.PerPage - 1) / r.PerPage
}

// Category is a category and how many visible filters carry it.
type Category struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
}

// Index is the filter index over a hub database. It is safe for concurrent use.
type Index struct {
	db      *db.DB
	inspect Inspector
	private func(ctx context.Context, repo string) bool
	now     func() time.Time

	// gen counts writes; the anonymous category list is cached until the
	// next write in this process (or categoryTTL, for writes by other
	// replicas sharing the database).
	gen      atomic.Uint64
	catMu    sync.Mutex
	catGen   uint64
	catAt    time.Time
	catCache []Category
}

// categoryTTL bounds how stale the cached anonymous category list can be
// when another hub replica writes to the same database.
const categoryTTL = 30 * time.Second

// Options tune an Index.
type Options struct {
	// Inspect reads an image; nil means ReadImage.
	Inspect Inspector
	// Private reports whether a repository is private, asked whenever a
	// repository is (re)indexed; nil keeps the stored flag (see SetPrivate).
	Private func(ctx context.Context, repo string) bool
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Open migrates the index tables in d and returns the index.
func Open(ctx context.Context, d *db.DB, opts Options) (*Index, error) {
	if err := d.Migrate(ctx, "index", migrations); err != nil {
		return nil, fmt.Errorf("index: %w", err)
	}
	ix := &Index{db: d, inspect: opts.Inspect, private: opts.Private, now: opts.Now}
	if ix.inspect == nil {
		ix.inspect = ReadImage
	}
	if ix.now == nil {
		ix.now = time.Now
	}
	return ix, nil
}

// filterColumns are index_filters' columns after its id, on both engines.
const filterColumns = `
	repository TEXT NOT NULL UNIQUE,
	namespace TEXT NOT NULL,
	name TEXT NOT NULL,
	description TEXT NOT NULL DEFAULT '',
	categories TEXT NOT NULL DEFAULT '',
	license TEXT NOT NULL DEFAULT '',
	source TEXT NOT NULL DEFAULT '',
	abi_versions TEXT NOT NULL DEFAULT '',
	latest_tag TEXT NOT NULL DEFAULT '',
	latest_digest TEXT NOT NULL DEFAULT '',
	tag_count INTEGER NOT NULL DEFAULT 0,
	private INTEGER NOT NULL DEFAULT 0,
	pulls BIGINT NOT NULL DEFAULT 0,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL`

// versionTables are the tables of versions and categories, the same on both
// engines.
const versionTables = `
CREATE TABLE index_versions (
	repository TEXT NOT NULL,
	tag TEXT NOT NULL,
	digest TEXT NOT NULL,
	media_type TEXT NOT NULL DEFAULT '',
	format TEXT NOT NULL DEFAULT '',
	size BIGINT NOT NULL DEFAULT 0,
	wasm_size BIGINT NOT NULL DEFAULT 0,
	abi_versions TEXT NOT NULL DEFAULT '',
	created_at BIGINT NOT NULL,
	pushed_at BIGINT NOT NULL,
	description TEXT NOT NULL DEFAULT '',
	readme TEXT NOT NULL DEFAULT '',
	schema_json TEXT NOT NULL DEFAULT '',
	categories TEXT NOT NULL DEFAULT '',
	license TEXT NOT NULL DEFAULT '',
	source TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (repository, tag)
);
CREATE INDEX index_versions_digest ON index_versions(repository, digest);
CREATE TABLE index_categories (
	filter_id BIGINT NOT NULL,
	category TEXT NOT NULL,
	PRIMARY KEY (filter_id, category)
);
CREATE INDEX index_categories_category ON index_categories(category, filter_id);
`

// migrations of the index. Step 1 is released: its SQL must stay exactly as
// it is (the shared constants above included); change the schema by
// appending steps.
var migrations = []db.Migration{{
	Version: 1,
	SQL: `
CREATE TABLE index_filters (
	id INTEGER PRIMARY KEY AUTOINCREMENT,` + filterColumns + `
);
CREATE INDEX index_filters_updated ON index_filters(updated_at);
CREATE INDEX index_filters_pulls ON index_filters(pulls, updated_at);
CREATE INDEX index_filters_namespace ON index_filters(namespace);` + versionTables +
		"CREATE VIRTUAL TABLE index_fts USING fts5(name, description, categories);\n",
	Postgres: `
CREATE TABLE index_filters (
	id BIGSERIAL PRIMARY KEY,` + filterColumns + `,
	search tsvector NOT NULL DEFAULT ''::tsvector
);
CREATE INDEX index_filters_updated ON index_filters(updated_at, id);
CREATE INDEX index_filters_pulls ON index_filters(pulls, updated_at, id);
CREATE INDEX index_filters_namespace ON index_filters(namespace);
CREATE INDEX index_filters_search ON index_filters USING GIN (search);` + versionTables,
}, {
	// Keywords: search terms that are not categories (no facet, no sidebar).
	Version: 2,
	SQL: `
ALTER TABLE index_filters ADD COLUMN keywords TEXT NOT NULL DEFAULT '';
ALTER TABLE index_versions ADD COLUMN keywords TEXT NOT NULL DEFAULT '';
`,
}, {
	// reader: the readerVersion that indexed a version row; Reindex reads
	// older rows again (rows from before this step count as 0).
	Version: 3,
	SQL:     `ALTER TABLE index_versions ADD COLUMN reader INTEGER NOT NULL DEFAULT 0;`,
}}

// readerVersion numbers what ReadImage extracts from a manifest. Raise it
// when it starts recording something new, so that `wasmctl hub reindex`
// reads existing versions again instead of skipping them as unchanged.
// 1: keywords.
const readerVersion = 1

func (ix *Index) pg() bool { return ix.db.Dialect == db.Postgres }

const filterCols = `f.repository, f.namespace, f.name, f.description, f.categories, f.keywords, f.license, f.source,
	f.abi_versions, f.latest_tag, f.latest_digest, f.tag_count, f.private, f.pulls, f.created_at, f.updated_at`

type scanner interface{ Scan(...any) error }

func scanFilter(s scanner) (Filter, error) {
	var f Filter
	var cats, keywords, abis string
	var private int
	var created, updated int64
	err := s.Scan(&f.Repository, &f.Namespace, &f.Name, &f.Description, &cats, &keywords, &f.License, &f.Source,
		&abis, &f.LatestTag, &f.Digest, &f.Tags, &private, &f.Pulls, &created, &updated)
	f.Categories = splitList(cats)
	f.Keywords = splitList(keywords)
	f.ABIVersions = splitList(abis)
	f.Private = private != 0
	f.Created = fromMillis(created)
	f.Updated = fromMillis(updated)
	if f.Categories == nil {
		f.Categories = []string{}
	}
	if f.Keywords == nil {
		f.Keywords = []string{}
	}
	if f.ABIVersions == nil {
		f.ABIVersions = []string{}
	}
	return f, err
}

func millis(t time.Time) int64      { return t.UnixMilli() }
func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// searchTerms splits user text into at most 8 lower-case words of letters and
// digits, which are safe to place in an FTS5 or tsquery expression.
func searchTerms(text string) []string {
	words := strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
	if len(words) > 8 {
		words = words[:8]
	}
	for i, w := range words {
		if len(w) > 64 {
			words[i] = w[:64]
		}
	}
	return words
}

// clean drops NUL bytes and invalid UTF-8 from user input that is compared
// with stored text (PostgreSQL refuses both in text parameters).
func clean(s string) string {
	return strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", ""), "")
}

// visibility returns the SQL condition (and its arguments) that keeps the
// filters a viewer may see.
func visibility(viewer []string) (string, []any) {
	if len(viewer) == 0 {
		return "f.private = 0", nil
	}
	args := make([]any, len(viewer))
	for i, v := range viewer {
		args[i] = v
	}
	return "(f.private = 0 OR f.namespace IN (" + strings.TrimSuffix(strings.Repeat("?,", len(viewer)), ",") + "))", args
}

// Search returns one page of the filters matching q.
func (ix *Index) Search(ctx context.Context, q Query) (*Results, error) {
	if q.PerPage <= 0 {
		q.PerPage = 20
	}
	q.PerPage = min(q.PerPage, MaxPerPage)
	q.Page = max(q.Page, 1)
	q.Category, q.Namespace = clean(q.Category), clean(q.Namespace)
	terms := searchTerms(q.Text)

	var from, rank string
	var where []string
	var args []any
	if len(terms) > 0 {
		if ix.pg() {
			tsq := strings.Join(terms, ":* & ") + ":*"
			from = "index_filters f"
			where = append(where, "f.search @@ to_tsquery('simple', ?)")
			args = append(args, tsq)
			rank = "ts_rank(f.search, to_tsquery('simple', ?)) DESC"
		} else {
			quoted := make([]string, len(terms))
			for i, t := range terms {
				quoted[i] = `"` + t + `"*`
			}
			from = "index_fts JOIN index_filters f ON f.id = index_fts.rowid"
			where = append(where, "index_fts MATCH ?")
			args = append(args, strings.Join(quoted, " AND "))
			rank = "bm25(index_fts, 10.0, 2.0, 4.0)"
		}
	} else {
		from = "index_filters f"
	}
	vis, vargs := visibility(q.Viewer)
	where = append(where, vis)
	args = append(args, vargs...)
	if q.Category != "" {
		where = append(where, "f.id IN (SELECT filter_id FROM index_categories WHERE category = ?)")
		args = append(args, strings.ToLower(q.Category))
	}
	if q.Namespace != "" {
		where = append(where, "f.namespace = ?")
		args = append(args, q.Namespace)
	}
	cond := " WHERE " + strings.Join(where, " AND ")

	var total int
	if err := ix.db.QueryRowContext(ctx, ix.db.Rebind("SELECT COUNT(*) FROM "+from+cond), args...).Scan(&total); err != nil {
		return nil, fmt.Errorf("index: search: %w", err)
	}

	var order string
	orderArgs := []any{}
	switch q.Sort {
	case SortRecent:
		order = "f.updated_at DESC, f.id DESC"
	case SortPopular:
		order = "f.pulls DESC, f.updated_at DESC, f.id DESC"
	case SortName:
		order = "f.repository"
	default:
		if rank == "" {
			order = "f.updated_at DESC, f.id DESC"
		} else {
			order = rank + ", f.pulls DESC, f.repository"
			if ix.pg() {
				orderArgs = append(orderArgs, args[0])
			}
		}
	}
	query := "SELECT " + filterCols + " FROM " + from + cond + " ORDER BY " + order + " LIMIT ? OFFSET ?"
	all := append(append(append([]any{}, args...), orderArgs...), q.PerPage, (q.Page-1)*q.PerPage)
	rows, err := ix.db.QueryContext(ctx, ix.db.Rebind(query), all...)
	if err != nil {
		return nil, fmt.Errorf("index: search: %w", err)
	}
	defer rows.Close()
	res := &Results{Filters: []Filter{}, Total: total, Page: q.Page, PerPage: q.PerPage}
	for rows.Next() {
		f, err := scanFilter(rows)
		if err != nil {
			return nil, fmt.Errorf("index: search: %w", err)
		}
		res.Filters = append(res.Filters, f)
	}
	return res, rows.Err()
}

// Categories returns the categories of the filters the viewer may see, most
// used first.
func (ix *Index) Categories(ctx context.Context, viewer []string) ([]Category, error) {
	if len(viewer) == 0 {
		gen := ix.gen.Load()
		ix.catMu.Lock()
		if ix.catCache != nil && ix.catGen == gen && time.Since(ix.catAt) < categoryTTL {
			out := slices.Clone(ix.catCache)
			ix.catMu.Unlock()
			return out, nil
		}
		ix.catMu.Unlock()
		out, err := ix.categories(ctx, nil)
		if err != nil {
			return nil, err
		}
		ix.catMu.Lock()
		ix.catCache, ix.catGen, ix.catAt = slices.Clone(out), gen, time.Now()
		ix.catMu.Unlock()
		return out, nil
	}
	return ix.categories(ctx, viewer)
}

func (ix *Index) categories(ctx context.Context, viewer []string) ([]Category, error) {
	vis, args := visibility(viewer)
	rows, err := ix.db.QueryContext(ctx, ix.db.Rebind(`SELECT c.category, COUNT(*) FROM index_categories c
		JOIN index_filters f ON f.id = c.filter_id WHERE `+vis+` GROUP BY c.category ORDER BY COUNT(*) DESC, c.category LIMIT 200`), args...)
	if err != nil {
		return nil, fmt.Errorf("index: categories: %w", err)
	}
	defer rows.Close()
	out := []Category{}
	for rows.Next() {
		var c Category
		if err := rows.Scan(&c.Name, &c.Count); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// Get returns a filter with its README, schema and versions (newest first),
// or ErrNotFound if it does not exist or the viewer may not see it.
func (ix *Index) Get(ctx context.Context, repo string, viewer []string) (*Detail, error) {
	if repo != clean(repo) {
		return nil, fmt.Errorf("%w: %q", ErrNotFound, repo)
	}
	vis, vargs := visibility(viewer)
	row := ix.db.QueryRowContext(ctx, ix.db.Rebind("SELECT "+filterCols+" FROM index_filters f WHERE f.repository = ? AND "+vis),
		append([]any{repo}, vargs...)...)
	f, err := scanFilter(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, repo)
	}
	if err != nil {
		return nil, fmt.Errorf("index: get %s: %w", repo, err)
	}
	d := &Detail{Filter: f}
	if err := ix.db.QueryRowContext(ctx, ix.db.Rebind(`SELECT readme, schema_json FROM index_versions WHERE repository = ? AND tag = ?`),
		repo, f.LatestTag).Scan(&d.README, &d.Schema); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("index: get %s: %w", repo, err)
	}
	if d.Versions, err = ix.versions(ctx, ix.db.DB, repo); err != nil {
		return nil, err
	}
	return d, nil
}

// Versions returns the tags of a filter, newest first, or ErrNotFound.
func (ix *Index) Versions(ctx context.Context, repo string, viewer []string) ([]Version, error) {
	d, err := ix.Get(ctx, repo, viewer)
	if err != nil {
		return nil, err
	}
	return d.Versions, nil
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func (ix *Index) versions(ctx context.Context, q querier, repo string) ([]Version, error) {
	rows, err := q.QueryContext(ctx, ix.db.Rebind(`SELECT tag, digest, media_type, format, size, wasm_size, abi_versions, created_at, pushed_at
		FROM index_versions WHERE repository = ? ORDER BY pushed_at DESC, tag`), repo)
	if err != nil {
		return nil, fmt.Errorf("index: versions of %s: %w", repo, err)
	}
	defer rows.Close()
	out := []Version{}
	for rows.Next() {
		var v Version
		var abis string
		var created, pushed int64
		if err := rows.Scan(&v.Tag, &v.Digest, &v.MediaType, &v.Format, &v.Size, &v.WasmSize, &abis, &created, &pushed); err != nil {
			return nil, err
		}
		v.ABIVersions = splitList(abis)
		if v.ABIVersions == nil {
			v.ABIVersions = []string{}
		}
		v.Created, v.Pushed = fromMillis(created), fromMillis(pushed)
		out = append(out, v)
	}
	return out, rows.Err()
}

// RecordPull counts one pull of repo. Unknown repositories are ignored.
func (ix *Index) RecordPull(ctx context.Context, repo string) error {
	if repo != clean(repo) {
		return nil
	}
	_, err := ix.db.ExecContext(ctx, ix.db.Rebind(`UPDATE index_filters SET pulls = pulls + 1 WHERE repository = ?`), repo)
	if err != nil {
		return fmt.Errorf("index: record pull of %s: %w", repo, err)
	}
	return nil
}

// SetPrivate records whether repo is private (visible only to its
// namespace). Unknown repositories are ignored.
func (ix *Index) SetPrivate(ctx context.Context, repo string, private bool) error {
	_, err := ix.db.ExecContext(ctx, ix.db.Rebind(`UPDATE index_filters SET private = ? WHERE repository = ?`), boolInt(private), repo)
	ix.gen.Add(1)
	if err != nil {
		return fmt.Errorf("index: set visibility of %s: %w", repo, err)
	}
	return nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
