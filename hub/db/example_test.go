package db_test

import (
	"context"
	"fmt"
	"os"

	"github.com/wasmctl/wasmctl/hub/db"
)

// Open the default SQLite database under a data directory, migrate a
// package's table and query it with a dialect-neutral placeholder.
func ExampleOpen() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "hubdb")
	defer os.RemoveAll(dir)
	d, err := db.Open(ctx, "", dir)
	if err != nil {
		panic(err)
	}
	defer d.Close()
	err = d.Migrate(ctx, "notes", []db.Migration{
		{Version: 1, SQL: `CREATE TABLE notes (id ` + d.Dialect.AutoID() + `, body TEXT NOT NULL)`},
	})
	if err != nil {
		panic(err)
	}
	d.ExecContext(ctx, d.Rebind(`INSERT INTO notes (body) VALUES (?)`), "hello")
	var body string
	d.QueryRowContext(ctx, d.Rebind(`SELECT body FROM notes WHERE id = ?`), 1).Scan(&body)
	fmt.Println(d.Dialect, body)
	// Output: sqlite hello
}
