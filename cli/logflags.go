package cli

import (
	"io"
	"log/slog"
	"strings"

	"github.com/spf13/pflag"
)

// logFlags are the --log-level and --log-format flags of the long-running
// commands (run, proxy).
type logFlags struct{ level, format string }

// add registers the flags on fs.
func (l *logFlags) add(fs *pflag.FlagSet) {
	fs.StringVar(&l.level, "log-level", "info", "log level: debug, info, warn or error")
	fs.StringVar(&l.format, "log-format", "text", "log format: text or json")
}

// logger builds the slog.Logger the flags ask for, writing to w. A bad value
// is a usage error that lists the accepted ones.
func (l *logFlags) logger(w io.Writer) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(l.level)); err != nil {
		return nil, UsageErrorf("bad --log-level %q: use debug, info, warn or error", l.level)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch strings.ToLower(l.format) {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, UsageErrorf("bad --log-format %q: use text or json", l.format)
}
