package broker

import (
	"context"
	"log/slog"
)

// mochiLog tones down mochi's logging: its listeners log the end of every
// client connection that did not end with DISCONNECT (a lost device, a
// refused password, every client at shutdown) as a warning with an empty
// message; those become debug records with a message.
type mochiLog struct{ slog.Handler }

// Handle rewrites the empty-message warnings and passes the rest on.
func (h mochiLog) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == "" {
		if !h.Handler.Enabled(ctx, slog.LevelDebug) {
			return nil
		}
		nr := slog.NewRecord(r.Time, slog.LevelDebug, "broker: client connection ended", r.PC)
		r.Attrs(func(a slog.Attr) bool { nr.AddAttrs(a); return true })
		r = nr
	}
	return h.Handler.Handle(ctx, r)
}

// WithAttrs keeps the wrapper on derived handlers.
func (h mochiLog) WithAttrs(as []slog.Attr) slog.Handler {
	return mochiLog{h.Handler.WithAttrs(as)}
}

// WithGroup keeps the wrapper on derived handlers.
func (h mochiLog) WithGroup(name string) slog.Handler {
	return mochiLog{h.Handler.WithGroup(name)}
}
